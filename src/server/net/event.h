/*
 * event: the narrow I/O interface between the server and the kernel.
 *
 * One ev_loop per I/O thread. It owns the thread's listening sockets (if
 * any), its connections' socket I/O, one wakeup channel other threads may
 * poke, and one periodic tick. Two backends implement it with the same
 * semantics: io_uring (multishot accept and recv over a provided-buffer ring,
 * sends from caller-owned buffers) and epoll (the fallback when io_uring
 * cannot be set up). Nothing above this header knows which one runs.
 *
 * Contract for callers:
 *  - Everything except ev_loop_wakeup() is called from the loop's own thread.
 *  - on_recv's data is valid (and writable) only during the callback; copy
 *    what you keep.
 *    It may be called after ev_conn_pause_recv() for bytes already in flight.
 *  - At most one send is in flight per connection. The iovec array is copied;
 *    the bytes it points at must stay unchanged until on_sent() reports how
 *    many were written (res > 0) or the error (res < 0).
 *  - ev_conn_close() starts closing; on_closed() fires exactly once, after
 *    which the backend never touches the ev_conn again and the caller may
 *    free it. No other callback fires for a conn after ev_conn_close().
 *  - Callbacks may call any ev_* function for any conn, including closing
 *    the conn being reported.
 *  - ev_loop_poll_nested() may be called from inside a callback (a busy
 *    script's hook): it handles the events ready now and returns without
 *    waiting. Every event is reported once, whichever level handles it;
 *    conns closed meanwhile get on_closed only at the end of the outer
 *    turn (never while a callback of the outer turn is on the stack), and
 *    the data of the outer on_recv stays valid and unchanged.
 */
#ifndef LIGHTNING_EVENT_H
#define LIGHTNING_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct ev_loop ev_loop;
typedef struct ev_conn ev_conn;

#define EV_MAX_IOV 32

struct ev_conn {
    int fd;
    uint32_t state;       /* backend-private flags */
    int inflight;         /* backend-private: operations the kernel holds */
    struct iovec iov[EV_MAX_IOV]; /* backend-private: the send in flight */
    int iovcnt;
    struct msghdr msg;    /* backend-private */
    ev_conn *next_ready;  /* backend-private: closed-conn list */
    ev_conn *closing_prev, *closing_next; /* private: closing, ops in flight */
    void *udata;          /* the caller's object (the client) */
};

typedef struct ev_callbacks {
    /* A new connection was accepted on a listener of this loop. */
    void (*on_accept)(ev_loop *loop, int fd);
    /* len > 0: bytes arrived; len == 0: peer closed; len < 0: -errno. */
    void (*on_recv)(ev_conn *conn, char *data, ssize_t len);
    /* res > 0: bytes written; res < 0: -errno. */
    void (*on_sent)(ev_conn *conn, ssize_t res);
    void (*on_closed)(ev_conn *conn);
    /* Another thread called ev_loop_wakeup(). */
    void (*on_wakeup)(ev_loop *loop);
    /* Every tick_ms milliseconds (see ev_loop_set_tick_ms). */
    void (*on_tick)(ev_loop *loop);
    /* Once per loop turn, after completions were handled and before the
     * loop waits: where the caller flushes replies and batches work. */
    void (*before_wait)(ev_loop *loop);
    /* At the end of ev_loop_poll_nested(), after its events: where the
     * caller queues the replies they produced; the backend hands them to
     * the kernel before returning. May be NULL. */
    void (*after_nested)(ev_loop *loop);
} ev_callbacks;

typedef enum { EV_BACKEND_AUTO, EV_BACKEND_URING, EV_BACKEND_EPOLL } ev_backend;

/* Creates a loop. With EV_BACKEND_AUTO it tries io_uring and falls back to
 * epoll, writing the reason into why (if non-NULL). Returns 0 or -errno. */
int ev_loop_create(ev_backend backend, const ev_callbacks *cb, void *udata,
                   int tick_ms, ev_loop **out, char *why, size_t whylen);
void ev_loop_destroy(ev_loop *loop);
const char *ev_loop_backend_name(const ev_loop *loop);
void *ev_loop_udata(const ev_loop *loop);
/* After a turn that had events, poll for new ones for up to spin_us
 * microseconds before sleeping (0: never). Trades CPU for the wake-up
 * latency of an idle thread. Callable from any thread. */
void ev_loop_set_spin_us(ev_loop *loop, int spin_us);
int ev_loop_tick_ms(const ev_loop *loop);
/* Changes the tick period from the next tick on (loop thread only). */
void ev_loop_set_tick_ms(ev_loop *loop, int tick_ms);

/* Runs until ev_loop_stop(). Returns 0, or -errno on a fatal error. */
int ev_loop_run(ev_loop *loop);
void ev_loop_stop(ev_loop *loop);
/* From a callback of the running loop (loop thread only): hands the queued
 * operations to the kernel, handles the events that are ready now (a
 * bounded batch, no waiting), calls after_nested and submits again.
 * Returns how many events were handled; 0 when called from inside another
 * ev_loop_poll_nested (nested polls do not stack). The caller decides in
 * its callbacks what may run nested (see worker.c). */
int ev_loop_poll_nested(ev_loop *loop);
/* Thread-safe: makes the loop call on_wakeup() soon. */
void ev_loop_wakeup(ev_loop *loop);

/* Starts accepting on a listening socket (non-blocking). */
int ev_listen_add(ev_loop *loop, int fd);

/* Adopts a connected non-blocking socket and starts receiving. */
int ev_conn_add(ev_loop *loop, ev_conn *conn, int fd, void *udata);
void ev_conn_pause_recv(ev_loop *loop, ev_conn *conn);
void ev_conn_resume_recv(ev_loop *loop, ev_conn *conn);
int ev_conn_send(ev_loop *loop, ev_conn *conn, const struct iovec *iov,
                 int iovcnt);
int ev_conn_sending(const ev_conn *conn);
void ev_conn_close(ev_loop *loop, ev_conn *conn);

/* Backend constructors, used by ev_loop_create. */
int ev_uring_create(const ev_callbacks *cb, void *udata, int tick_ms,
                    ev_loop **out);
int ev_epoll_create(const ev_callbacks *cb, void *udata, int tick_ms,
                    ev_loop **out);

#endif
