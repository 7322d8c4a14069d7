/*
 * event: backend selection and the dispatch of the public ev_* calls to the
 * running backend (see event.h for the contract both honour).
 */
#include "server/net/event_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

int ev_loop_create(ev_backend backend, const ev_callbacks *cb, void *udata,
                   int tick_ms, ev_loop **out, char *why, size_t whylen) {
    int err;
    if (why && whylen) why[0] = '\0';
    if (backend != EV_BACKEND_EPOLL) {
        err = ev_uring_create(cb, udata, tick_ms, out);
        if (err == 0 || backend == EV_BACKEND_URING) return err;
        if (why)
            snprintf(why, whylen, "io_uring unavailable (%s)", strerror(-err));
    }
    return ev_epoll_create(cb, udata, tick_ms, out);
}

void ev_loop_destroy(ev_loop *loop) {
    ev_loop_finish_closed(loop);
    /* Conns still closing wait for kernel operations that end with the
     * loop: once it is gone nothing refers to them, so they are closed. */
    ev_conn *c = loop->closing;
    void (*on_closed)(ev_conn *) = loop->cb.on_closed;
    loop->ops->destroy(loop);
    while (c) {
        ev_conn *next = c->closing_next;
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
        on_closed(c);
        c = next;
    }
}
const char *ev_loop_backend_name(const ev_loop *loop) { return loop->name; }
void *ev_loop_udata(const ev_loop *loop) { return loop->udata; }
int ev_loop_tick_ms(const ev_loop *loop) { return loop->tick_ms; }
void ev_loop_set_tick_ms(ev_loop *loop, int tick_ms) { loop->tick_ms = tick_ms > 0 ? tick_ms : 1; }
void ev_loop_set_spin_us(ev_loop *loop, int spin_us) {
    __atomic_store_n(&loop->spin_us, spin_us > 0 ? spin_us : 0, __ATOMIC_RELAXED);
}

void ev_spin_init(ev_spin *s) {
    s->gap_avg = UINT64_MAX / 2;
    s->t0 = 0;
    s->spin_us = 0;
}

int ev_spin_begin(ev_loop *loop, ev_spin *s) {
    s->spin_us = __atomic_load_n(&loop->spin_us, __ATOMIC_RELAXED);
    if (s->spin_us <= 0) return 0;
    s->t0 = lt_monotonic_us();
    return s->gap_avg < (uint64_t)s->spin_us ? s->spin_us : 0;
}

void ev_spin_end(ev_spin *s) {
    if (s->spin_us <= 0) return;
    uint64_t gap = lt_monotonic_us() - s->t0, cap = 4 * (uint64_t)s->spin_us;
    if (gap > cap) gap = cap;
    s->gap_avg = s->gap_avg > cap ? cap : (7 * s->gap_avg + gap) / 8;
}
int ev_loop_run(ev_loop *loop) { return loop->ops->run(loop); }

void ev_loop_stop(ev_loop *loop) {
    __atomic_store_n(&loop->stop, 1, __ATOMIC_RELEASE);
    ev_loop_wakeup(loop);
}

void ev_loop_wakeup(ev_loop *loop) { loop->ops->wakeup(loop); }

int ev_loop_poll_nested(ev_loop *loop) {
    if (loop->nested) return 0;
    loop->nested = 1;
    int n = loop->ops->poll_nested(loop);
    loop->nested = 0;
    return n;
}
int ev_listen_add(ev_loop *loop, int fd) { return loop->ops->listen_add(loop, fd); }

int ev_conn_add(ev_loop *loop, ev_conn *conn, int fd, void *udata) {
    memset(conn, 0, sizeof(*conn));
    conn->fd = fd;
    conn->udata = udata;
    return loop->ops->conn_add(loop, conn);
}

void ev_conn_pause_recv(ev_loop *loop, ev_conn *conn) {
    if (conn->state & (EVC_RECV_PAUSED | EVC_CLOSING)) return;
    conn->state |= EVC_RECV_PAUSED;
    loop->ops->pause_recv(loop, conn);
}

void ev_conn_resume_recv(ev_loop *loop, ev_conn *conn) {
    if (!(conn->state & EVC_RECV_PAUSED) || (conn->state & EVC_CLOSING)) return;
    conn->state &= ~EVC_RECV_PAUSED;
    loop->ops->resume_recv(loop, conn);
}

int ev_conn_send(ev_loop *loop, ev_conn *conn, const struct iovec *iov,
                 int iovcnt) {
    if (conn->state & (EVC_SENDING | EVC_CLOSING)) return -EBUSY;
    if (iovcnt <= 0 || iovcnt > EV_MAX_IOV) return -EINVAL;
    memcpy(conn->iov, iov, sizeof(*iov) * (size_t)iovcnt);
    conn->iovcnt = iovcnt;
    conn->state |= EVC_SENDING;
    return loop->ops->send(loop, conn);
}

int ev_conn_sending(const ev_conn *conn) {
    return (conn->state & EVC_SENDING) != 0;
}

void ev_conn_close(ev_loop *loop, ev_conn *conn) {
    if (conn->state & EVC_CLOSING) return;
    conn->state |= EVC_CLOSING;
    conn->closing_prev = NULL;
    conn->closing_next = loop->closing;
    if (loop->closing) loop->closing->closing_prev = conn;
    loop->closing = conn;
    loop->ops->close(loop, conn);
}

void ev_conn_close_ready(ev_loop *loop, ev_conn *conn) {
    if (conn->state & EVC_CLOSE_QUEUED) return;
    conn->state |= EVC_CLOSE_QUEUED;
    if (conn->state & EVC_CLOSING) {
        if (conn->closing_prev) conn->closing_prev->closing_next = conn->closing_next;
        else loop->closing = conn->closing_next;
        if (conn->closing_next) conn->closing_next->closing_prev = conn->closing_prev;
    }
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    conn->next_ready = loop->closed_ready;
    loop->closed_ready = conn;
}

void ev_loop_finish_closed(ev_loop *loop) {
    while (loop->closed_ready) {
        ev_conn *c = loop->closed_ready;
        loop->closed_ready = c->next_ready;
        loop->cb.on_closed(c);
    }
}
