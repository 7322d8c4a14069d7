/*
 * hold.c — replies held under `appendfsync always` (see HOLDING in
 * persist.h): a client whose command appended a record is on its worker's
 * wal_held list until the WAL's durable LSN passes c->wal_lsn; workers ask
 * for the write/fsync of their turn before waiting (persist_before_wait)
 * and the WAL writer's durable callback wakes the workers whose smallest
 * awaited LSN became durable.
 */
#include "server/persist/persist_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/util.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"
#include "engine/prefetch.h"
#include "engine/wal.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/latency.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/resp.h"
#include "server/persist/save.h"
#include "server/server.h"
#include "server/net/worker.h"

void persist_hold(client *c) {
    worker *w = c->owner;
    c->flags |= CLIENT_WAL_HOLD;
    c->hnext = w->wal_held;
    w->wal_held = c;
}

/* Releases held clients whose records are durable; recomputes the
 * smallest LSN still awaited (0 when none). */
static void release_held(worker *w) {
    uint64_t durable = __atomic_load_n(&P.durable, __ATOMIC_SEQ_CST);
    uint64_t min = 0;
    client **pp = &w->wal_held;
    while (*pp) {
        client *c = *pp;
        if (c->wal_lsn <= durable) {
            *pp = c->hnext;
            c->hnext = NULL;
            c->flags &= ~CLIENT_WAL_HOLD;
            client_queue_write(c);
        } else {
            if (!min || c->wal_lsn < min) min = c->wal_lsn;
            pp = &c->hnext;
        }
    }
    __atomic_store_n(&w->wal_wait_min, min, __ATOMIC_SEQ_CST);
}

void persist_before_wait(worker *w) {
    /* Workers run while start-up opens the WAL (clients are accepted
     * during the load): P.wal is published with a release store. */
    wal *wl = __atomic_load_n(&P.wal, __ATOMIC_ACQUIRE);
    if (!wl) return;
    if (w->wal_turn_max > w->wal_requested) {
        w->wal_requested = w->wal_turn_max;
        /* Under always the writer writes and fsyncs while the replies wait
         * (held); otherwise write(2) here, before this turn's replies go
         * out, as Redis does: a process crash then loses no acknowledged
         * write, only a machine crash loses up to a second. On a write
         * error the writer keeps retrying and writes are refused. */
        if (server.appendfsync == WAL_FSYNC_ALWAYS) wal_request_write(wl, w->wal_turn_max);
        else if (!__atomic_load_n(&server.latency_monitor_threshold, __ATOMIC_RELAXED))
            wal_write(wl, w->wal_turn_max);
        else {
            int64_t t0 = monotonic_us();
            wal_write(wl, w->wal_turn_max);
            latency_add_sample_if_needed("aof-write", (monotonic_us() - t0) / 1000);
        }
    }
    if (!w->wal_held) return;
    /* Publish what we wait for, then look at durable again: either we see
     * the writer's new durable LSN, or it sees our wal_wait_min and wakes
     * us (both sides are sequentially consistent). */
    release_held(w);
    if (w->wal_held) release_held(w);
}

void persist_on_wakeup(worker *w) {
    if (w->wal_held) release_held(w);
}

void persist_on_fsync(void *ctx, uint64_t us) {
    (void)ctx;
    if (__atomic_load_n(&server.appendfsync, __ATOMIC_RELAXED) == WAL_FSYNC_ALWAYS)
        latency_add_sample_if_needed("aof-fsync-always", (int64_t)(us / 1000));
}

/* WAL writer thread: durable LSN advanced. */
void persist_on_durable(void *ctx, uint64_t durable) {
    (void)ctx;
    __atomic_store_n(&P.durable, durable, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&P.wake_lock);
    if (P.wakeups) {
        for (int i = 0; i < server.nworkers; i++) {
            worker *w = server.workers[i];
            uint64_t min = __atomic_load_n(&w->wal_wait_min, __ATOMIC_SEQ_CST);
            if (min && min <= durable) ev_loop_wakeup(w->loop);
        }
    }
    pthread_mutex_unlock(&P.wake_lock);
}
