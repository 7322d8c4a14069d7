/*
 * event_int: what the two event backends share. Only event*.c include it.
 * struct ev_loop is the common head every backend's loop starts with; the
 * public ev_* functions dispatch through its ops table.
 */
#ifndef LIGHTNING_EVENT_INT_H
#define LIGHTNING_EVENT_INT_H

#include "server/net/event.h"

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
    int (*poll_nested)(ev_loop *loop);
} ev_ops;

struct ev_loop {
    const ev_ops *ops;
    const char *name;
    ev_callbacks cb;
    void *udata;
    int tick_ms;
    int spin_us;           /* busy-poll this long for new events before sleeping */
    volatile int stop;
    int nested;            /* inside ev_loop_poll_nested */
    ev_conn *closed_ready; /* closing conns with nothing in flight */
    ev_conn *closing;      /* closing conns the kernel still holds ops of */
};

/* The busy-poll decision both backends share (ev_loop_set_spin_us). A loop
 * spins only while events have tended to come sooner than spin_us, so
 * sparse traffic never burns CPU; samples are capped so one long idle
 * period is forgotten within a few turns. */
typedef struct ev_spin {
    uint64_t gap_avg; /* average wait for the next event, µs */
    uint64_t t0;      /* when the current wait began */
    int spin_us;      /* setting at the start of the current wait */
} ev_spin;
void ev_spin_init(ev_spin *s);
/* Before waiting: how long to poll without sleeping (0: sleep at once). */
int ev_spin_begin(ev_loop *loop, ev_spin *s);
/* After the wait returned (events or not). */
void ev_spin_end(ev_spin *s);

/* Queues a closing conn whose kernel operations are all done; the loop
 * calls on_closed for it at the end of the turn (never re-entrantly). */
void ev_conn_close_ready(ev_loop *loop, ev_conn *conn);
/* Delivers on_closed for every queued conn. */
void ev_loop_finish_closed(ev_loop *loop);

#endif
