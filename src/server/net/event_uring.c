/*
 * event_uring: the io_uring backend of event.h.
 *
 * One ring per loop (per I/O thread), created SINGLE_ISSUER|DEFER_TASKRUN
 * when the kernel allows, so completions are only processed when this thread
 * waits. Listeners use multishot accept; connections use multishot recv that
 * picks buffers from one provided-buffer ring per loop (RECV_BUFS buffers of
 * RECV_BUF_SIZE bytes, each returned to the ring right after on_recv); sends
 * are sendmsg from the caller's buffers. An eventfd under multishot poll is
 * the wakeup channel and a re-armed timeout is the tick.
 *
 * user_data of every SQE is a pointer with a 3-bit tag (pointers are 8-byte
 * aligned). Invariant: conn->inflight counts the SQEs that reference conn and
 * whose final CQE has not arrived; a closing conn is handed back to the
 * caller (on_closed) only when it reaches zero, so no CQE can name freed
 * memory. Cancel requests carry a NULL pointer and are not counted.
 */
#include "server/net/event_int.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/clock.h"

#define RING_ENTRIES 1024
#define CQ_ENTRIES 8192
#define RECV_BUFS 256 /* power of two */
#define RECV_BUF_SIZE (16 * 1024)
#define BUF_GROUP 0
#define MAX_LISTENERS 16
#define NESTED_CQES_MAX 1024 /* completions one nested poll handles at most */

enum {
    TAG_ACCEPT = 1,
    TAG_RECV = 2,
    TAG_SEND = 3,
    TAG_WAKE = 4,
    TAG_TICK = 5,
    TAG_IGNORE = 6,
};

typedef struct listener {
    int fd;
    int armed;
} listener;

typedef struct uring_loop {
    ev_loop base;
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    int efd;
    uint64_t efd_val;
    struct __kernel_timespec tick_ts;
    listener listeners[MAX_LISTENERS];
    int nlisteners;
    int accept_retry; /* a listener's multishot ended: re-arm on tick */
} uring_loop;

static inline uint64_t make_ud(void *p, int tag) {
    return (uint64_t)(uintptr_t)p | (uint64_t)tag;
}

static struct io_uring_sqe *get_sqe(uring_loop *l) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    /* After a submit the SQ has room: entries are consumed at submit. */
    return sqe;
}

static void arm_accept(uring_loop *l, listener *ls) {
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_multishot_accept(sqe, ls->fd, NULL, NULL,
                                   SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, make_ud(ls, TAG_ACCEPT));
    ls->armed = 1;
}

static void arm_recv(uring_loop *l, ev_conn *c) {
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, make_ud(c, TAG_RECV));
    c->state |= EVC_RECV_ARMED;
    c->inflight++;
}

static void cancel_op(uring_loop *l, void *p, int tag) {
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_cancel64(sqe, make_ud(p, tag), 0);
    io_uring_sqe_set_data64(sqe, make_ud(NULL, TAG_IGNORE));
}

static void arm_wake(uring_loop *l) {
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_poll_multishot(sqe, l->efd, POLLIN);
    io_uring_sqe_set_data64(sqe, make_ud(l, TAG_WAKE));
}

static void arm_tick(uring_loop *l) {
    struct io_uring_sqe *sqe = get_sqe(l);
    l->tick_ts.tv_sec = l->base.tick_ms / 1000;
    l->tick_ts.tv_nsec = (long long)(l->base.tick_ms % 1000) * 1000000LL;
    io_uring_prep_timeout(sqe, &l->tick_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, make_ud(l, TAG_TICK));
}

static void return_buf(uring_loop *l, unsigned bid) {
    io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * RECV_BUF_SIZE,
                          RECV_BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(RECV_BUFS), 0);
    io_uring_buf_ring_advance(l->br, 1);
}

static void conn_op_done(uring_loop *l, ev_conn *c) {
    c->inflight--;
    if ((c->state & EVC_CLOSING) && c->inflight == 0)
        ev_conn_close_ready(&l->base, c);
}

static void handle_recv(uring_loop *l, ev_conn *c, struct io_uring_cqe *cqe) {
    int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (!(c->state & EVC_CLOSING) && cqe->res > 0)
            l->base.cb.on_recv(c, l->bufs + (size_t)bid * RECV_BUF_SIZE,
                               cqe->res);
        return_buf(l, bid);
    } else if (!(c->state & EVC_CLOSING)) {
        if (cqe->res == 0) {
            c->state |= EVC_EOF;
            l->base.cb.on_recv(c, NULL, 0);
        } else if (cqe->res < 0 && cqe->res != -ENOBUFS &&
                   cqe->res != -ECANCELED) {
            c->state |= EVC_EOF;
            l->base.cb.on_recv(c, NULL, cqe->res);
        }
    }
    if (more) return;
    c->state &= ~EVC_RECV_ARMED;
    /* The multishot ended (buffers ran out, a cancel for a pause, EOF):
     * keep reading unless the caller paused or the peer is gone. */
    if (!(c->state & (EVC_CLOSING | EVC_RECV_PAUSED | EVC_EOF))) arm_recv(l, c);
    conn_op_done(l, c);
}

static void handle_send(uring_loop *l, ev_conn *c, struct io_uring_cqe *cqe) {
    c->state &= ~EVC_SENDING;
    if (!(c->state & EVC_CLOSING)) l->base.cb.on_sent(c, cqe->res);
    conn_op_done(l, c);
}

static void handle_accept(uring_loop *l, listener *ls,
                          struct io_uring_cqe *cqe) {
    if (cqe->res >= 0) l->base.cb.on_accept(&l->base, cqe->res);
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        ls->armed = 0;
        /* Out of fds or memory: retry on the next tick, not in a hot loop. */
        if (cqe->res < 0) l->accept_retry = 1;
        else arm_accept(l, ls);
    }
}

static void handle_cqe(uring_loop *l, struct io_uring_cqe *cqe) {
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int tag = (int)(ud & 7);
    void *p = (void *)(uintptr_t)(ud & ~(uint64_t)7);
    switch (tag) {
    case TAG_RECV: handle_recv(l, p, cqe); break;
    case TAG_SEND: handle_send(l, p, cqe); break;
    case TAG_ACCEPT: handle_accept(l, p, cqe); break;
    case TAG_WAKE: {
        uint64_t v;
        if (read(l->efd, &v, sizeof(v)) < 0) { /* spurious: nothing to do */ }
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_wake(l);
        l->base.cb.on_wakeup(&l->base);
        break;
    }
    case TAG_TICK:
        arm_tick(l);
        if (l->accept_retry) {
            l->accept_retry = 0;
            for (int i = 0; i < l->nlisteners; i++)
                if (!l->listeners[i].armed) arm_accept(l, &l->listeners[i]);
        }
        l->base.cb.on_tick(&l->base);
        break;
    default: break;
    }
}

/* Busy-polls for completions for up to spin_us after submitting what the
 * turn queued (the replies). Returns once a completion is ready or the
 * time is up. */
static void spin_for_events(uring_loop *l, int spin_us, uint64_t start) {
    io_uring_submit(&l->ring);
    uint64_t deadline = start + (uint64_t)spin_us;
    for (unsigned i = 0;; i++) {
        if (io_uring_cq_ready(&l->ring)) return;
        /* DEFER_TASKRUN: completions are posted only when we ask. */
        io_uring_get_events(&l->ring);
        if (io_uring_cq_ready(&l->ring)) return;
        if ((i & 7) == 7 && lt_monotonic_us() >= deadline) return;
    }
}

/* The oldest unconsumed completion, NULL when none is posted. The head
 * is read again each time: a nested poll may have consumed some. */
static inline struct io_uring_cqe *next_cqe(struct io_uring *r) {
    unsigned head = *r->cq.khead;
    if (head == io_uring_smp_load_acquire(r->cq.ktail)) return NULL;
    return &r->cq.cqes[io_uring_cqe_index(r, head, r->cq.ring_mask)];
}

/* ev_loop_poll_nested: submit (DEFER_TASKRUN: and have the kernel post
 * what is complete), handle what is posted now, bounded, without waiting.
 * The outer turn's CQE being handled was consumed already, and its recv
 * buffer is returned only after its callback, so the ring never hands it
 * out meanwhile. */
static int uring_poll_nested(ev_loop *base) {
    uring_loop *l = (uring_loop *)base;
    io_uring_submit_and_get_events(&l->ring);
    unsigned n = io_uring_cq_ready(&l->ring), done = 0;
    if (n > NESTED_CQES_MAX) n = NESTED_CQES_MAX;
    struct io_uring_cqe *cqe;
    while (done < n && (cqe = next_cqe(&l->ring)) != NULL) {
        struct io_uring_cqe copy = *cqe;
        io_uring_cq_advance(&l->ring, 1);
        handle_cqe(l, &copy);
        done++;
    }
    if (base->cb.after_nested) base->cb.after_nested(base);
    io_uring_submit(&l->ring);
    return (int)done;
}

static int uring_run(ev_loop *base) {
    uring_loop *l = (uring_loop *)base;
    arm_wake(l);
    arm_tick(l);
    ev_spin sp;
    ev_spin_init(&sp);
    while (!__atomic_load_n(&base->stop, __ATOMIC_ACQUIRE)) {
        base->cb.before_wait(base);
        ev_loop_finish_closed(base);
        int spin_us = ev_spin_begin(base, &sp);
        if (spin_us) spin_for_events(l, spin_us, sp.t0);
        int ret = io_uring_cq_ready(&l->ring) ? io_uring_submit(&l->ring)
                                               : io_uring_submit_and_wait(&l->ring, 1);
        ev_spin_end(&sp);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY &&
            ret != -ETIME)
            return ret;
        struct io_uring_cqe *cqe;
        /* At most what was posted when the turn began (completions posted
         * meanwhile wait for the next turn, after before_wait). */
        unsigned budget = io_uring_cq_ready(&l->ring);
        while (budget-- > 0 && (cqe = next_cqe(&l->ring)) != NULL) {
            /* Consumed before it is handled: a nested poll from inside the
             * callback (ev_loop_poll_nested) must not see it again. */
            struct io_uring_cqe copy = *cqe;
            io_uring_cq_advance(&l->ring, 1);
            handle_cqe(l, &copy);
        }
        ev_loop_finish_closed(base);
    }
    return 0;
}

static void uring_wakeup(ev_loop *base) {
    uring_loop *l = (uring_loop *)base;
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof(one)) < 0) { /* counter full: already set */ }
}

static int uring_listen_add(ev_loop *base, int fd) {
    uring_loop *l = (uring_loop *)base;
    if (l->nlisteners == MAX_LISTENERS) return -ENOSPC;
    listener *ls = &l->listeners[l->nlisteners++];
    ls->fd = fd;
    arm_accept(l, ls);
    return 0;
}

static int uring_conn_add(ev_loop *base, ev_conn *c) {
    arm_recv((uring_loop *)base, c);
    return 0;
}

static void uring_pause_recv(ev_loop *base, ev_conn *c) {
    if (c->state & EVC_RECV_ARMED) cancel_op((uring_loop *)base, c, TAG_RECV);
}

static void uring_resume_recv(ev_loop *base, ev_conn *c) {
    /* If the cancelled recv has not completed yet, handle_recv re-arms it. */
    if (!(c->state & (EVC_RECV_ARMED | EVC_EOF))) arm_recv((uring_loop *)base, c);
}

static int uring_send(ev_loop *base, ev_conn *c) {
    uring_loop *l = (uring_loop *)base;
    struct io_uring_sqe *sqe = get_sqe(l);
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg.msg_iov = c->iov;
    c->msg.msg_iovlen = (size_t)c->iovcnt;
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, make_ud(c, TAG_SEND));
    c->inflight++;
    return 0;
}

static void uring_close(ev_loop *base, ev_conn *c) {
    uring_loop *l = (uring_loop *)base;
    if (c->state & EVC_RECV_ARMED) cancel_op(l, c, TAG_RECV);
    if (c->state & EVC_SENDING) cancel_op(l, c, TAG_SEND);
    /* Unblock anything the kernel still holds for this socket. */
    shutdown(c->fd, SHUT_RDWR);
    if (c->inflight == 0) ev_conn_close_ready(base, c);
}

static void uring_destroy(ev_loop *base) {
    uring_loop *l = (uring_loop *)base;
    io_uring_queue_exit(&l->ring);
    if (l->br) munmap(l->br, RECV_BUFS * sizeof(struct io_uring_buf));
    free(l->bufs);
    if (l->efd >= 0) close(l->efd);
    free(l);
}

static const ev_ops uring_ops = {
    .run = uring_run,
    .destroy = uring_destroy,
    .wakeup = uring_wakeup,
    .listen_add = uring_listen_add,
    .conn_add = uring_conn_add,
    .pause_recv = uring_pause_recv,
    .resume_recv = uring_resume_recv,
    .send = uring_send,
    .close = uring_close,
    .poll_nested = uring_poll_nested,
};

static int setup_ring(struct io_uring *ring) {
    struct io_uring_params p;
    unsigned extra[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int err = -EINVAL;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_CQSIZE | extra[i];
        p.cq_entries = CQ_ENTRIES;
        err = io_uring_queue_init_params(RING_ENTRIES, ring, &p);
        if (err == 0) break;
        if (err != -EINVAL) return err;
    }
    if (err) return err;
    /* Everything this backend relies on must be there, or we fall back. */
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    int ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECV) &&
             io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
             io_uring_opcode_supported(probe, IORING_OP_ACCEPT) &&
             io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) &&
             io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) &&
             io_uring_opcode_supported(probe, IORING_OP_TIMEOUT);
    if (probe) io_uring_free_probe(probe);
    if (!ok || !(p.features & IORING_FEAT_FAST_POLL)) {
        io_uring_queue_exit(ring);
        return -EOPNOTSUPP;
    }
    return 0;
}

int ev_uring_create(const ev_callbacks *cb, void *udata, int tick_ms,
                    ev_loop **out) {
    uring_loop *l = calloc(1, sizeof(*l));
    if (!l) return -ENOMEM;
    l->efd = -1;
    int err = setup_ring(&l->ring);
    if (err) {
        free(l);
        return err;
    }
    size_t brsize = RECV_BUFS * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, brsize, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED) {
        err = -errno;
        goto fail;
    }
    l->br = br;
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)br,
        .ring_entries = RECV_BUFS,
        .bgid = BUF_GROUP,
    };
    /* The multishot recv probe is this registration: kernels without
     * provided-buffer rings (< 5.19) refuse it and we fall back to epoll. */
    err = io_uring_register_buf_ring(&l->ring, &reg, 0);
    if (err) goto fail;
    io_uring_buf_ring_init(l->br);
    l->bufs = malloc((size_t)RECV_BUFS * RECV_BUF_SIZE);
    if (!l->bufs) {
        err = -ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < RECV_BUFS; i++)
        io_uring_buf_ring_add(l->br, l->bufs + (size_t)i * RECV_BUF_SIZE,
                              RECV_BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(RECV_BUFS), (int)i);
    io_uring_buf_ring_advance(l->br, RECV_BUFS);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0) {
        err = -errno;
        goto fail;
    }
    l->base.ops = &uring_ops;
    l->base.name = "io_uring";
    l->base.cb = *cb;
    l->base.udata = udata;
    l->base.tick_ms = tick_ms;
    *out = &l->base;
    return 0;
fail:
    io_uring_queue_exit(&l->ring);
    if (l->br) munmap(l->br, brsize);
    free(l->bufs);
    free(l);
    return err;
}
