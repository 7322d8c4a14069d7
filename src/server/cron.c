/*
 * cron: per-worker periodic jobs (see cron.h). Every worker expires keys
 * and reclaims old MVCC versions in its own share of the shards, so active expiry uses every core and no two
 * workers contend for the same shard locks.
 */
#include "server/cron.h"

#include "script/script.h"
#include "server/cmd/dispatch.h"
#include "server/evict.h"

#include "repl/repl.h"
#include "engine/expire.h"
#include "engine/mvcc.h"
#include "server/net/client.h"
#include "server/net/tls.h"
#include "server/latency.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/memory.h"
#include "server/cmd/migrate.h"
#include "server/persist/archive.h"
#include "server/persist/save.h"
#include "server/server.h"
#include "server/net/worker.h"

/* Checks every owned client: a few nanoseconds each, so even maxclients on
 * one worker costs well under a millisecond per tick. */
static void close_idle_clients(worker *w) {
    int timeout = server.timeout;
    if (timeout <= 0) return;
    int64_t limit = w->now_ms - (int64_t)timeout * 1000;
    client *c = w->clients;
    while (c) {
        client *next = c->wl_next;
        if (!(c->flags & CLIENT_BLOCKED_PAUSE) &&
            __atomic_load_n(&c->last_interaction_ms, __ATOMIC_RELAXED) < limit) {
            serverLog(LL_VERBOSE, "Closing idle client");
            client_close(c);
        }
        c = next;
    }
}

/* A TLS client whose handshake has run longer than handshake-timeout-ms
 * (a peer that stalls mid-handshake, or trickles it) is closed; the
 * others never wait for it, handshakes advance only as bytes arrive. */
static void close_stalled_tls_handshakes(worker *w) {
    int64_t limit = w->now_ms - __atomic_load_n(&server.tls_handshake_timeout_ms, __ATOMIC_RELAXED);
    client *c = w->clients;
    while (c) {
        client *next = c->wl_next;
        if (c->tls && !(c->flags & (CLIENT_CLOSED | CLIENT_MASTER)) && c->ctime_ms < limit &&
            !tls_conn_established(c->tls)) {
            serverLog(LL_VERBOSE, "Closing a client whose TLS handshake timed out");
            client_close(c);
        }
        c = next;
    }
}

/* A client over its soft output limit is closed once it has stood over it
 * for the class's seconds, also when no reply is added meanwhile (Redis
 * checks only when output is added; here a client stopped by backpressure
 * adds none). */
static void check_output_limits(worker *w) {
    for (client *c = w->clients; c; c = c->wl_next)
        if (c->obuf_soft_since_s) client_check_output_limits(c);
}

/* Share of a tick the active expiry may use, like Redis's slow cycle
 * (ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC = 25%). */
#define EXPIRE_BUDGET_PERCENT 25

int cron_hz(void) {
    int hz = server.hz;
    if (server.dynamic_hz) {
        int clients = __atomic_load_n(&server.nclients, __ATOMIC_RELAXED);
        while (hz < 500 && clients / hz > CRON_CLIENTS_PER_TICK) hz *= 2;
        if (hz > 500) hz = 500;
    }
    return hz;
}

void cron_worker_tick(worker *w) {
    mem_peak_sample(); /* as Redis's serverCron samples the peak */
    close_idle_clients(w);
    close_stalled_tls_handshakes(w);
    check_output_limits(w);
    /* A script holding every database (or running past the busy
     * threshold) would stall this thread in a shard lock, and with it the
     * clients that could SCRIPT KILL it: skip the keyspace jobs. */
    if (script_locks_held_long()) goto rest;
    /* The start-up load owns the keyspace until it ends (loading.h): no
     * expiry, eviction, saves or replication meanwhile. */
    if (loading_active()) return;
    uint64_t budget_us = (uint64_t)ev_loop_tick_ms(w->loop) * 1000 * EXPIRE_BUDGET_PERCENT / 100;
    evict_cron(budget_us);
    /* DEBUG SET-ACTIVE-EXPIRE; a replica leaves expiry to its master's DELs
     * (its reads hide expired keys meanwhile), as Redis; nothing expires
     * while CLIENT PAUSE holds clients. */
    if (__atomic_load_n(&server.active_expire_enabled, __ATOMIC_RELAXED) && !repl_is_replica() &&
        !dispatch_pause_in_force()) {
        int monitor = __atomic_load_n(&server.latency_monitor_threshold, __ATOMIC_RELAXED) != 0;
        int64_t t0 = monitor ? monotonic_us() : 0;
        ks_expire_cycle(server.db, (unsigned)w->id, (unsigned)server.nworkers, budget_us);
        if (monitor) latency_add_sample_if_needed("expire-cycle", (monotonic_us() - t0) / 1000);
    }
    /* Old versions kept for views that have closed since. */
    ks_gc_cycle(server.db, (unsigned)w->id, (unsigned)server.nworkers, budget_us / 5);
rest:
    repl_cron(w);
    if (w->id == 0) {
        stats_sampler_tick();
        save_cron();
        archive_cron();
        migrate_cron();
    }
}
