/*
 * replica.c — the server side of a cluster replica (see replica.h).
 *
 * The cluster state is the authority on the role (Redis: clusterSetMaster
 * calls replicationSetMaster, and clusterCron re-applies it when the
 * master's address becomes known); here that is one idempotent step,
 * cluster_replica_follow, run after every bus round: it reads the wanted
 * role under the cluster mutex and changes replication after releasing it
 * (replication's locks are never taken inside the cluster mutex).
 */
#include "cluster/replica.h"

#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/failover.h"
#include "repl/repl.h"
#include "server/log.h"
#include "server/net/worker.h"
#include "server/server.h"

static uint64_t io_repl_offset(void *ctx) {
    (void)ctx;
    return repl_offset();
}

static int64_t io_data_age(void *ctx) {
    (void)ctx;
    return repl_link_data_age_ms();
}

/* A manual failover's pause: writes wait (as CLIENT PAUSE WRITE) until
 * until_ms, or resume now (0). A longer pause already in force is kept.
 * Atomics only: this runs under the cluster mutex, and CONFIG SET holds
 * config_lock while it takes the cluster mutex (cluster_apply_config). */
static void io_pause_writes(void *ctx, int64_t until_ms) {
    (void)ctx;
    if (until_ms) {
        int64_t cur_end = __atomic_load_n(&server.pause_end_ms, __ATOMIC_ACQUIRE);
        int cur = __atomic_load_n(&server.pause_type, __ATOMIC_ACQUIRE);
        if (cur == PAUSE_OFF || cur_end < until_ms) {
            __atomic_store_n(&server.pause_end_ms, until_ms, __ATOMIC_RELEASE);
            if (cur == PAUSE_OFF) __atomic_store_n(&server.pause_type, PAUSE_WRITE, __ATOMIC_RELEASE);
        }
        return;
    }
    __atomic_store_n(&server.pause_type, PAUSE_OFF, __ATOMIC_RELEASE);
    __atomic_store_n(&server.pause_end_ms, 0, __ATOMIC_RELEASE);
    worker_notify_all(); /* paused clients run again */
}

static void io_log(void *ctx, const char *msg) {
    (void)ctx;
    serverLog(LL_NOTICE, "%s", msg);
}

void cluster_replica_fill_io(cl_io *io) {
    io->repl_offset = io_repl_offset;
    io->repl_data_age_ms = io_data_age;
    io->pause_writes = io_pause_writes;
    io->log = io_log;
}

void cluster_replica_follow(void) {
    char host[CBUS_IPLEN + 1] = "";
    int port = 0;
    cl_state *st = cluster_lock();
    int replica = (st->myself->flags & CNODE_SLAVE) != 0;
    cl_node *m = cl_master_of(st, st->myself);
    if (m && m->ip[0] && m->port > 0 && !(m->flags & (CNODE_NOADDR | CNODE_HANDSHAKE))) {
        snprintf(host, sizeof(host), "%s", m->ip);
        port = m->port;
    }
    cluster_unlock();
    if (replica) {
        if (host[0] && !repl_link_same(host, port)) {
            serverLog(LL_NOTICE, "Cluster: replicating %s:%d", host, port);
            if (repl_link_start(host, port) < 0)
                serverLog(LL_WARNING, "Cluster: could not start replicating %s:%d", host, port);
        }
    } else if (repl_is_replica() || repl_link_configured()) {
        serverLog(LL_NOTICE, "Cluster: this node is a master now, replication stopped");
        repl_link_unset();
    }
}
