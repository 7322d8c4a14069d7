/*
 * worker: I/O threads (see worker.h). Each thread creates its own event loop
 * (io_uring rings are single-issuer: the thread that runs the ring must be
 * the one that made it), then runs it until shutdown.
 */
#include "server/net/worker.h"
#include "server/net/tls.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl/repl.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "server/cron.h"
#include "server/cmd/dispatch.h"
#include "server/cmd/pubsub.h"
#include "server/cmd/tracking.h"
#include "server/net/listen.h"
#include "server/log.h"
#include "server/monitor.h"
#include "server/persist/persist.h"
#include "server/persist/save.h"
#include "server/server.h"


static __thread worker *current_worker;
/* Shutdown: every loop has stopped before any is destroyed, so no thread
 * can still wake (or reach clients of) a loop that is gone. */
static pthread_barrier_t stopped_barrier;

worker *worker_current(void) { return current_worker; }

static void on_accept(ev_loop *loop, int fd);
static void on_wakeup(ev_loop *loop);
static void on_tick(ev_loop *loop);
static void before_wait(ev_loop *loop);
static void after_nested(ev_loop *loop);

static const ev_callbacks worker_callbacks = {
    .on_accept = on_accept,
    .on_recv = client_on_recv,
    .on_sent = client_on_sent,
    .on_closed = client_on_closed,
    .on_wakeup = on_wakeup,
    .on_tick = on_tick,
    .before_wait = before_wait,
    .after_nested = after_nested,
};

/* Redis accepts the connection, says why it cannot serve it, and closes. */
static void reject_maxclients(int fd) {
    static const char msg[] = "-ERR max number of clients reached\r\n";
    if (write(fd, msg, sizeof(msg) - 1) < 0) { /* best effort */ }
    close(fd);
    __atomic_add_fetch(&server.stat_rejected_conn, 1, __ATOMIC_RELAXED);
}

static void handoff(worker *target, struct accepted a) {
    pthread_mutex_lock(&target->inbox_lock);
    if (target->inbox_len == target->inbox_cap) {
        int cap = target->inbox_cap ? target->inbox_cap * 2 : 64;
        struct accepted *n = realloc(target->inbox, sizeof(*n) * (size_t)cap);
        if (!n) {
            pthread_mutex_unlock(&target->inbox_lock);
            close(a.fd);
            free(a.pending);
            tls_conn_free(a.tls);
            __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
            return;
        }
        target->inbox = n;
        target->inbox_cap = cap;
    }
    target->inbox[target->inbox_len++] = a;
    pthread_mutex_unlock(&target->inbox_lock);
    ev_loop_wakeup(target->loop);
}

static void on_accept(ev_loop *loop, int fd) {
    worker *w = ev_loop_udata(loop);
    int n = __atomic_add_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
    if (n > server.maxclients) {
        __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
        reject_maxclients(fd);
        return;
    }
    __atomic_add_fetch(&server.stat_numconnections, 1, __ATOMIC_RELAXED);
    struct accepted a = {fd, __atomic_add_fetch(&server.next_client_id, 1, __ATOMIC_RELAXED)};
    worker *target = server.workers[w->next_target++ % (unsigned)server.nworkers];
    if (target == w) client_create(w, a.fd, a.id);
    else handoff(target, a);
}

static void process_kills(worker *w) {
    if (!__atomic_exchange_n(&w->kill_pending, 0, __ATOMIC_ACQ_REL)) return;
    client *c = w->clients;
    while (c) {
        client *next = c->wl_next;
        if (__atomic_load_n(&c->user_kill_flag, __ATOMIC_ACQUIRE)) client_close(c);
        else if (__atomic_exchange_n(&c->acl_recheck_flag, 0, __ATOMIC_ACQ_REL) &&
                 !pubsub_client_permitted(c))
            client_close(c); /* Redis's ACLKillPubsubClientsIfNeeded */
        c = next;
    }
}

/* Clients held by CLIENT PAUSE run again once the pause is over. */
static void process_unpause(worker *w) {
    if (!w->paused) return;
    client *list = w->paused;
    w->paused = NULL;
    while (list) {
        client *c = list;
        list = c->pnext;
        c->pnext = NULL;
        if (c->cmd && dispatch_pause_applies(c, c->cmd, c->waiting_argv, c->waiting_argc)) {
            c->pnext = w->paused;
            w->paused = c;
            continue;
        }
        c->flags &= ~CLIENT_BLOCKED_PAUSE;
        __atomic_sub_fetch(&w->npaused, 1, __ATOMIC_RELAXED);
        client_resume(c);
    }
}

static void on_wakeup(ev_loop *loop) {
    worker *w = ev_loop_udata(loop);
    w->now_ms = mstime();
    /* Worker 0 starts accepting once every worker's loop exists, so no
     * connection is ever dealt to a loop that is not there yet. */
    if (__atomic_exchange_n(&w->listen_requested, 0, __ATOMIC_ACQ_REL)) {
        int err = listen_attach(loop);
        if (err) {
            serverLog(LL_WARNING, "Cannot accept connections: %s", strerror(-err));
            server_request_shutdown(1);
        }
    }
    /* Take the whole inbox at once, then serve it in accept order. A
     * nested poll leaves a master link's adoption (its stream writes) to
     * the normal turn, and the rest of this function. */
    pthread_mutex_lock(&w->inbox_lock);
    if (w->nested) {
        w->nested_wakeup = 1;
        for (int i = 0; i < w->inbox_len; i++)
            if (w->inbox[i].master) {
                pthread_mutex_unlock(&w->inbox_lock);
                return;
            }
    }
    struct accepted *list = w->inbox;
    int n = w->inbox_len;
    w->inbox = NULL;
    w->inbox_len = w->inbox_cap = 0;
    pthread_mutex_unlock(&w->inbox_lock);
    for (int i = 0; i < n; i++) {
        if (list[i].master) {
            client *c = client_create_master(w, list[i].fd, list[i].id, list[i].tls);
            if (c) repl_master_client_created(c, list[i].pending, list[i].npending);
            free(list[i].pending);
            continue;
        }
        client_create(w, list[i].fd, list[i].id);
    }
    free(list);
    if (w->nested) return;
    process_kills(w);
    process_unpause(w);
    if (__atomic_exchange_n(&w->producer_kick, 0, __ATOMIC_ACQ_REL)) {
        for (client *c = w->clients, *next; c; c = next) {
            next = c->wl_next;
            if (c->producer) client_producer_kick(c);
        }
    }
    persist_on_wakeup(w);
    monitor_worker_drain(w);
}

/* io-spin-us applies when a core is left over for everything else: a
 * spinning thread must not take the CPU its clients, the WAL writer or a
 * background snapshot need (so not while one is written). spin_allowed is
 * set by workers_start before any worker runs. */
static int spin_allowed;

static int spin_us_setting(void) {
    return spin_allowed && !save_in_background() ? server.io_spin_us : 0;
}

static void on_tick(ev_loop *loop) {
    worker *w = ev_loop_udata(loop);
    w->now_ms = mstime();
    if (w->nested) { /* cron, kills, expiry...: after the script */
        w->nested_tick = 1;
        return;
    }
    /* CONFIG SET hz (and dynamic-hz) take effect from the next tick. */
    ev_loop_set_tick_ms(loop, 1000 / cron_hz());
    process_kills(w);
    process_unpause(w);
    persist_on_wakeup(w); /* safety net; the WAL writer wakes us anyway */
    blocking_worker_tick(w);
    cron_worker_tick(w);
}

static void before_wait(ev_loop *loop) {
    worker *w = ev_loop_udata(loop);
    /* What nested polls (a busy script's hook) left for the normal turn. */
    if (w->nested_tick) {
        w->nested_tick = 0;
        on_tick(loop);
    }
    if (w->nested_wakeup) {
        w->nested_wakeup = 0;
        on_wakeup(loop);
    }
    if (w->nested_waiters) {
        w->nested_waiters = 0;
        process_unpause(w);
    }
    if (w->deferred) client_replay_deferred(w);
    /* Blocked clients whose keys became ready (or that CLIENT UNBLOCK
     * released) are answered in this turn's writes and WAL group. */
    blocking_worker_process(w);
    /* Messages other threads published to this thread's subscribers. */
    pubsub_worker_process(w);
    /* BCAST invalidations collected this turn (CLIENT TRACKING). */
    tracking_worker_process(w);
    monitor_worker_drain(w);
    persist_before_wait(w);
    client_evict_if_needed();
    client_flush_writes(w);
    w->now_ms = mstime();
    /* Spin or not from this wait on (CONFIG SET, a BGSAVE starting). */
    ev_loop_set_spin_us(loop, spin_us_setting());
    /* A script run above (a replayed EVAL) left nested work: no sleep. */
    if (w->deferred || w->nested_tick || w->nested_wakeup || w->nested_waiters)
        ev_loop_wakeup(loop);
}

static void after_nested(ev_loop *loop) {
    worker *w = ev_loop_udata(loop);
    client_flush_writes_nested(w);
}

void worker_poll_nested(worker *w) {
    if (w->nested || !w->loop) return;
    w->nested = 1;
    w->now_ms = mstime();
    ev_loop_poll_nested(w->loop);
    w->nested = 0;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    current_worker = w;
    ev_backend backend = EV_BACKEND_AUTO;
    if (server.io_backend && strcmp(server.io_backend, "epoll") == 0)
        backend = EV_BACKEND_EPOLL;
    else if (server.io_backend && strcmp(server.io_backend, "io_uring") == 0)
        backend = EV_BACKEND_URING;
    int err = ev_loop_create(backend, &worker_callbacks, w, 1000 / server.hz, &w->loop,
                             w->backend_note, sizeof(w->backend_note));
    pthread_mutex_lock(&w->ready_lock);
    w->ready = err == 0 ? 1 : -1;
    pthread_cond_signal(&w->ready_cond);
    pthread_mutex_unlock(&w->ready_lock);
    if (err) {
        serverLog(LL_WARNING, "I/O thread %d could not start: %s", w->id, strerror(-err));
        return NULL;
    }
    ev_loop_set_spin_us(w->loop, spin_us_setting());
    w->now_ms = mstime();
    err = ev_loop_run(w->loop);
    if (err) serverLog(LL_WARNING, "I/O thread %d stopped: %s", w->id, strerror(-err));
    pthread_barrier_wait(&stopped_barrier);
    /* The loop goes first, so no kernel operation still refers to a client
     * when the clients are freed. */
    ev_loop_destroy(w->loop);
    w->loop = NULL;
    while (w->clients) client_free_at_exit(w->clients);
    return NULL;
}

int workers_start(void) {
    int n = server.nworkers;
    server.workers = calloc((size_t)n, sizeof(worker *));
    if (!server.workers) return -1;
    for (int i = 0; i < n; i++) {
        worker *w = calloc(1, sizeof(*w));
        if (!w) return -1;
        w->id = i;
        w->cmdstats = calloc((size_t)commands_total(), sizeof(cmd_stat));
        if (!w->cmdstats) return -1;
        w->lathist = calloc((size_t)commands_total(), sizeof(*w->lathist));
        if (!w->lathist) return -1;
        pthread_mutex_init(&w->inbox_lock, NULL);
        pthread_mutex_init(&w->ready_lock, NULL);
        pthread_cond_init(&w->ready_cond, NULL);
        server.workers[i] = w;
    }
    spin_allowed = n < sysconf(_SC_NPROCESSORS_ONLN);
    /* The workers and the thread that stops them (workers_stop_and_join). */
    pthread_barrier_init(&stopped_barrier, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        worker *w = server.workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            serverLog(LL_WARNING, "Cannot create I/O thread %d", i);
            return -1;
        }
        pthread_mutex_lock(&w->ready_lock);
        while (w->ready == 0) pthread_cond_wait(&w->ready_cond, &w->ready_lock);
        pthread_mutex_unlock(&w->ready_lock);
        if (w->ready < 0) return -1;
        if (w->backend_note[0])
            serverLog(LL_WARNING, "I/O thread %d: %s; using epoll", i, w->backend_note);
    }
    __atomic_store_n(&server.workers[0]->listen_requested, 1, __ATOMIC_RELEASE);
    ev_loop_wakeup(server.workers[0]->loop);
    return 0;
}

void workers_stop_and_join(void) {
    for (int i = 0; i < server.nworkers; i++) {
        worker *w = server.workers[i];
        if (w && w->ready == 1) ev_loop_stop(w->loop);
    }
    /* No loop is destroyed before the last ev_loop_stop() above returned
     * (it writes to the loop's eventfd). */
    pthread_barrier_wait(&stopped_barrier);
    for (int i = 0; i < server.nworkers; i++) {
        worker *w = server.workers[i];
        if (w && w->ready == 1) pthread_join(w->thread, NULL);
    }
}

void worker_notify(worker *w) {
    __atomic_store_n(&w->kill_pending, 1, __ATOMIC_RELEASE);
    ev_loop_wakeup(w->loop);
}

void worker_adopt_master(worker *w, int fd, tls_conn *tls, char *pending, size_t npending) {
    __atomic_add_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
    struct accepted a = {fd, __atomic_add_fetch(&server.next_client_id, 1, __ATOMIC_RELAXED), 1,
                         tls, pending, npending};
    handoff(w, a);
}

void worker_kick_producers(worker *w) {
    __atomic_store_n(&w->producer_kick, 1, __ATOMIC_RELEASE);
    ev_loop_wakeup(w->loop);
}

void worker_notify_all(void) {
    for (int i = 0; i < server.nworkers; i++) ev_loop_wakeup(server.workers[i]->loop);
}

void workers_sum_cmdstat(int id, cmd_stat *out) {
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < server.nworkers; i++) {
        cmd_stat *s = &server.workers[i]->cmdstats[id];
        out->calls += __atomic_load_n(&s->calls, __ATOMIC_RELAXED);
        out->usec += __atomic_load_n(&s->usec, __ATOMIC_RELAXED);
        out->rejected += __atomic_load_n(&s->rejected, __ATOMIC_RELAXED);
        out->failed += __atomic_load_n(&s->failed, __ATOMIC_RELAXED);
    }
}

uint64_t workers_sum_u64(size_t field_offset) {
    uint64_t sum = 0;
    for (int i = 0; i < server.nworkers; i++) {
        uint64_t *p = (uint64_t *)((char *)server.workers[i] + field_offset);
        sum += __atomic_load_n(p, __ATOMIC_RELAXED);
    }
    return sum;
}
