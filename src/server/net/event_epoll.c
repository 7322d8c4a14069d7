/*
 * event_epoll: the fallback backend of event.h, for kernels or sandboxes
 * where io_uring cannot be set up. Same semantics as event_uring.c:
 *  - receives read into one loop-owned buffer and hand it to on_recv;
 *  - ev_conn_send() only queues the conn; sends are written with writev at
 *    the end of the turn (after before_wait), and on_sent is delivered from
 *    the loop, never from inside ev_conn_send(); EAGAIN arms EPOLLOUT;
 *  - a closing conn is handed back through the closed-ready list.
 * Level-triggered epoll; epoll_data.u64 is a pointer with a 2-bit tag.
 */
#include "server/net/event_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define RECV_BUF_SIZE (64 * 1024)
#define MAX_EVENTS 256
#define ACCEPTS_PER_EVENT 64
#define MAX_LISTENERS 16

enum { TAG_CONN = 0, TAG_LISTEN = 1, TAG_WAKE = 2 };

typedef struct epoll_loop {
    ev_loop base;
    int epfd;
    int efd;
    char *buf;
    char *nbuf; /* nested polls read here: buf may be the outer on_recv's */
    int listeners[MAX_LISTENERS];
    int nlisteners;
    ev_conn **sendq; /* conns with a queued send, in order */
    size_t sendq_len, sendq_cap;
    struct timespec next_tick;
} epoll_loop;

static uint64_t make_ud(void *p, int tag) { return (uint64_t)(uintptr_t)p | (uint64_t)tag; }

static void update_interest(epoll_loop *l, ev_conn *c) {
    struct epoll_event ev = {0};
    if (!(c->state & (EVC_RECV_PAUSED | EVC_EOF))) ev.events |= EPOLLIN;
    if (c->state & EVC_WANT_OUT) ev.events |= EPOLLOUT;
    ev.data.u64 = make_ud(c, TAG_CONN);
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Tries the queued send of c. Returns 1 when the send finished (on_sent
 * delivered), 0 when it must wait for EPOLLOUT. */
static int try_send(epoll_loop *l, ev_conn *c) {
    ssize_t n = writev(c->fd, c->iov, c->iovcnt);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!(c->state & EVC_WANT_OUT)) {
            c->state |= EVC_WANT_OUT;
            update_interest(l, c);
        }
        return 0;
    }
    if (c->state & EVC_WANT_OUT) {
        c->state &= ~EVC_WANT_OUT;
        update_interest(l, c);
    }
    c->state &= ~EVC_SENDING;
    c->inflight--;
    if (c->state & EVC_CLOSING) {
        if (c->inflight == 0) ev_conn_close_ready(&l->base, c);
        return 1;
    }
    l->base.cb.on_sent(c, n < 0 ? -errno : n);
    return 1;
}

static void flush_sendq(epoll_loop *l) {
    /* on_sent may queue a new send for the same conn: loop until the queue
     * stays empty. Each pass writes or parks every queued conn. */
    while (l->sendq_len) {
        size_t n = l->sendq_len;
        ev_conn **q = l->sendq;
        l->sendq = NULL;
        l->sendq_len = l->sendq_cap = 0;
        for (size_t i = 0; i < n; i++) {
            ev_conn *c = q[i];
            if (c->state & EVC_CLOSING) {
                c->state &= ~EVC_SENDING;
                if (--c->inflight == 0) ev_conn_close_ready(&l->base, c);
                continue;
            }
            try_send(l, c);
        }
        if (!l->sendq) {
            l->sendq = q;
            l->sendq_cap = n;
        } else {
            free(q);
        }
    }
}

static void handle_conn(epoll_loop *l, ev_conn *c, uint32_t events, char *buf) {
    if (c->state & EVC_CLOSING) return;
    if ((events & EPOLLOUT) && (c->state & EVC_WANT_OUT)) try_send(l, c);
    if (c->state & EVC_CLOSING) return;
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
        !(c->state & (EVC_RECV_PAUSED | EVC_EOF))) {
        ssize_t n = read(c->fd, buf, RECV_BUF_SIZE);
        if (n > 0) {
            l->base.cb.on_recv(c, buf, n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            c->state |= EVC_EOF;
            update_interest(l, c);
            l->base.cb.on_recv(c, NULL, n == 0 ? 0 : -errno);
        }
    }
}

static void handle_listen(epoll_loop *l, int fd) {
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return; /* EAGAIN, or out of fds: level-triggered retry */
        l->base.cb.on_accept(&l->base, cfd);
    }
}

static int ms_until(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (t->tv_sec - now.tv_sec) * 1000LL +
                   (t->tv_nsec - now.tv_nsec) / 1000000LL;
    return ms < 0 ? 0 : (int)ms;
}

static void schedule_tick(epoll_loop *l) {
    clock_gettime(CLOCK_MONOTONIC, &l->next_tick);
    l->next_tick.tv_nsec += (long)l->base.tick_ms * 1000000L;
    l->next_tick.tv_sec += l->next_tick.tv_nsec / 1000000000L;
    l->next_tick.tv_nsec %= 1000000000L;
}

/* Level-triggered: an event the outer turn still holds in its array but
 * a nested poll already served finds nothing to read (EAGAIN), and one for
 * a conn closed meanwhile is skipped (EVC_CLOSING; freed only at the end
 * of the outer turn). */
static void handle_events(epoll_loop *l, struct epoll_event *evs, int n, char *buf) {
    for (int i = 0; i < n; i++) {
        uint64_t ud = evs[i].data.u64;
        int tag = (int)(ud & 3);
        void *p = (void *)(uintptr_t)(ud & ~(uint64_t)3);
        if (tag == TAG_CONN) {
            handle_conn(l, p, evs[i].events, buf);
        } else if (tag == TAG_LISTEN) {
            handle_listen(l, (int)(ud >> 2));
        } else {
            uint64_t v;
            if (read(l->efd, &v, sizeof(v)) < 0) { /* already drained */ }
            l->base.cb.on_wakeup(&l->base);
        }
    }
}

/* ev_loop_poll_nested: the sends queued so far, the events ready now (no
 * ticks: those wait for the outer loop), the sends they queued. */
static int epoll_poll_nested(ev_loop *base) {
    epoll_loop *l = (epoll_loop *)base;
    struct epoll_event evs[MAX_EVENTS];
    flush_sendq(l);
    int n = epoll_wait(l->epfd, evs, MAX_EVENTS, 0);
    if (n > 0) handle_events(l, evs, n, l->nbuf);
    if (base->cb.after_nested) base->cb.after_nested(base);
    flush_sendq(l);
    return n > 0 ? n : 0;
}

static int epoll_run(ev_loop *base) {
    epoll_loop *l = (epoll_loop *)base;
    struct epoll_event evs[MAX_EVENTS];
    schedule_tick(l);
    ev_spin sp;
    ev_spin_init(&sp);
    while (!__atomic_load_n(&base->stop, __ATOMIC_ACQUIRE)) {
        base->cb.before_wait(base);
        flush_sendq(l);
        ev_loop_finish_closed(base);
        int n = 0, spin_us = ev_spin_begin(base, &sp);
        if (spin_us) {
            uint64_t deadline = sp.t0 + (uint64_t)spin_us;
            while ((n = epoll_wait(l->epfd, evs, MAX_EVENTS, 0)) == 0 &&
                   lt_monotonic_us() < deadline) {
            }
        }
        if (n == 0) n = epoll_wait(l->epfd, evs, MAX_EVENTS, ms_until(&l->next_tick));
        ev_spin_end(&sp);
        if (n < 0 && errno != EINTR) return -errno;
        handle_events(l, evs, n, l->buf);
        if (ms_until(&l->next_tick) == 0) {
            schedule_tick(l);
            base->cb.on_tick(base);
        }
        ev_loop_finish_closed(base);
    }
    return 0;
}

static void epoll_wakeup(ev_loop *base) {
    epoll_loop *l = (epoll_loop *)base;
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof(one)) < 0) { /* counter full: already set */ }
}

static int epoll_listen_add(ev_loop *base, int fd) {
    epoll_loop *l = (epoll_loop *)base;
    if (l->nlisteners == MAX_LISTENERS) return -ENOSPC;
    l->listeners[l->nlisteners++] = fd;
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = ((uint64_t)fd << 2) | TAG_LISTEN;
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int epoll_conn_add(ev_loop *base, ev_conn *c) {
    epoll_loop *l = (epoll_loop *)base;
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = make_ud(c, TAG_CONN);
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void epoll_pause_resume(ev_loop *base, ev_conn *c) {
    update_interest((epoll_loop *)base, c);
}

static int epoll_send(ev_loop *base, ev_conn *c) {
    epoll_loop *l = (epoll_loop *)base;
    if (l->sendq_len == l->sendq_cap) {
        size_t cap = l->sendq_cap ? l->sendq_cap * 2 : 64;
        ev_conn **q = realloc(l->sendq, cap * sizeof(*q));
        if (!q) {
            c->state &= ~EVC_SENDING;
            return -ENOMEM;
        }
        l->sendq = q;
        l->sendq_cap = cap;
    }
    l->sendq[l->sendq_len++] = c;
    c->inflight++;
    return 0;
}

static void epoll_close(ev_loop *base, ev_conn *c) {
    epoll_loop *l = (epoll_loop *)base;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->state & EVC_WANT_OUT) {
        /* Parked waiting for EPOLLOUT: the send is abandoned. */
        c->state &= ~(EVC_WANT_OUT | EVC_SENDING);
        c->inflight--;
    }
    /* A send still on the queue is dropped by flush_sendq. */
    if (c->inflight == 0) ev_conn_close_ready(base, c);
}

static void epoll_destroy(ev_loop *base) {
    epoll_loop *l = (epoll_loop *)base;
    close(l->epfd);
    close(l->efd);
    free(l->buf);
    free(l->nbuf);
    free(l->sendq);
    free(l);
}

static const ev_ops epoll_ops = {
    .run = epoll_run,
    .destroy = epoll_destroy,
    .wakeup = epoll_wakeup,
    .listen_add = epoll_listen_add,
    .conn_add = epoll_conn_add,
    .pause_recv = epoll_pause_resume,
    .resume_recv = epoll_pause_resume,
    .send = epoll_send,
    .close = epoll_close,
    .poll_nested = epoll_poll_nested,
};

int ev_epoll_create(const ev_callbacks *cb, void *udata, int tick_ms,
                    ev_loop **out) {
    epoll_loop *l = calloc(1, sizeof(*l));
    if (!l) return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->buf = malloc(RECV_BUF_SIZE);
    l->nbuf = malloc(RECV_BUF_SIZE);
    if (l->epfd < 0 || l->efd < 0 || !l->buf || !l->nbuf) {
        int err = errno ? -errno : -ENOMEM;
        if (l->epfd >= 0) close(l->epfd);
        if (l->efd >= 0) close(l->efd);
        free(l->buf);
        free(l->nbuf);
        free(l);
        return err;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = make_ud(l, TAG_WAKE);
    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->efd, &ev);
    l->base.ops = &epoll_ops;
    l->base.name = "epoll";
    l->base.cb = *cb;
    l->base.udata = udata;
    l->base.tick_ms = tick_ms;
    *out = &l->base;
    return 0;
}
