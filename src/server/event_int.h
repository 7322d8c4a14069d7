/*
 * event_int: what the two event backends share. Only event*.c include it.
 * struct ev_loop is the common head every backend's loop starts with; the
 * public ev_* functions dispatch through its ops table.
 */
#ifndef LIGHTNING_EVENT_INT_H
#define LIGHTNING_EVENT_INT_H

#include "server/event.h"

/* ev_conn.state bits, shared by both backends. */
#define EVC_RECV_ARMED   (1u << 0) /* a (multishot) recv is in the kernel */
#define EVC_RECV_PAUSED  (1u << 1) /* the caller asked us not to read */
#define EVC_SENDING      (1u << 2) /* a send is in flight */
#define EVC_CLOSING      (1u << 3) /* ev_conn_close() was called */
#define EVC_EOF          (1u << 4) /* recv reported EOF or an error */
#define EVC_WANT_OUT     (1u << 5) /* epoll: waiting for EPOLLOUT */
#define EVC_CLOSE_QUEUED (1u << 6) /* on the closed-ready list */

typedef struct ev_ops {
    int (*run)(ev_loop *loop);
    void (*destroy)(ev_loop *loop);
    void (*wakeup)(ev_loop *loop);
    int (*listen_add)(ev_loop *loop, int fd);
    int (*conn_add)(ev_loop *loop, ev_conn *conn);
    void (*pause_recv)(ev_loop *loop, ev_conn *conn);
    void (*resume_recv)(ev_loop *loop, ev_conn *conn);
    int (*send)(ev_loop *loop, ev_conn *conn);
    void (*close)(ev_loop *loop, ev_conn *conn);
} ev_ops;

struct ev_loop {
    const ev_ops *ops;
    const char *name;
    ev_callbacks cb;
    void *udata;
    int tick_ms;
    volatile int stop;
    ev_conn *closed_ready; /* closing conns with nothing in flight */
    ev_conn *closing;      /* closing conns the kernel still holds ops of */
};

/* Queues a closing conn whose kernel operations are all done; the loop
 * calls on_closed for it at the end of the turn (never re-entrantly). */
void ev_conn_close_ready(ev_loop *loop, ev_conn *conn);
/* Delivers on_closed for every queued conn. */
void ev_loop_finish_closed(ev_loop *loop);

#endif
