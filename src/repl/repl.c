/*
 * repl.c — replication's shared state (repl_int.h): the role, the
 * replication ids, the backlog and how the stream feeds it, the gates
 * dispatch applies, INFO replication, the cron.
 *
 * OFFSETS. The replication offset is a byte count of the replication
 * stream. As a master it is persist_stream_offset() + R.delta (delta is 0
 * from start-up until this node was a replica and got promoted: then it
 * continues the offset it had reached as a replica, as PSYNC2 requires).
 * As a replica it is R.reploff, the bytes of the master's stream processed.
 *
 * FEEDING. As a master, the backlog is a consumer of the logical stream
 * (persist_stream_subscribe), registered when the first replica asks for
 * it and kept until repl-backlog-ttl passes without replicas. As a
 * replica, local commits are not replicated (as in Redis: a writable
 * replica's writes stay local); the backlog receives the master's bytes
 * exactly as they arrive (repl_master_cmd_end), so this node's own
 * replicas get the master's stream with the master's offsets.
 */
#include "repl/repl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/random.h"
#include "common/strbuf.h"
#include "engine/txn.h"
#include "script/script.h"
#include "server/cmd/commands.h"
#include "server/cmd/multi.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"

repl_state R = {.lock = PTHREAD_MUTEX_INITIALIZER, .second_off = -1};

/* Bytes the backlog may hold beyond repl-backlog-size for a replica still
 * receiving its full sync or lagging (Redis's client-output-buffer-limit
 * replica class hard limit default, 256 MiB). */
#define REPL_LAGGING_LIMIT (256ull * 1024 * 1024)

int repl_is_replica(void) { return __atomic_load_n(&R.is_replica, __ATOMIC_ACQUIRE); }

const char *repl_role_name(void) { return repl_is_replica() ? "slave" : "master"; }

uint64_t repl_offset_locked(void) {
    if (R.is_replica || R.delta_pending) return R.reploff;
    return (uint64_t)((int64_t)persist_stream_offset() + R.delta);
}

uint64_t repl_offset(void) {
    pthread_mutex_lock(&R.lock);
    uint64_t off = repl_offset_locked();
    pthread_mutex_unlock(&R.lock);
    return off;
}

void repl_get_replid(char out[41]) {
    pthread_mutex_lock(&server.config_lock);
    memcpy(out, server.replid, 41);
    pthread_mutex_unlock(&server.config_lock);
}

void repl_set_replid(const char *id) {
    pthread_mutex_lock(&server.config_lock);
    memcpy(server.replid, id, 40);
    server.replid[40] = '\0';
    pthread_mutex_unlock(&server.config_lock);
}

void repl_random_id(char out[41]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[20];
    lt_random_bytes(raw, sizeof(raw));
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[40] = '\0';
}

void repl_kick_replicas_locked(void) {
    for (int i = 0; i < R.nreplicas; i++) {
        repl_replica *r = R.replicas[i];
        if (r->idle) {
            r->idle = 0;
            worker_kick_producers(r->w);
        }
    }
}

/* The stream consumer: runs under the stream's lock on the committing
 * thread (persist.h). */
static void on_stream(void *ctx, uint64_t offset, const struct iovec *iov, int iovcnt) {
    (void)ctx;
    pthread_mutex_lock(&R.lock);
    if (!R.is_replica) {
        if (R.delta_pending) {
            /* First record after a promotion: it continues the offset. */
            R.delta = (int64_t)R.reploff - (int64_t)offset;
            R.delta_pending = 0;
        }
        uint64_t at = (uint64_t)((int64_t)offset + R.delta);
        if (!R.has_backlog) {
            backlog_init(&R.bl, at, (uint64_t)server.repl_backlog_size, REPL_LAGGING_LIMIT);
            R.has_backlog = 1;
        }
        int failed = 0;
        for (int i = 0; i < iovcnt && !failed; i++)
            failed = backlog_append(&R.bl, iov[i].iov_base, iov[i].iov_len) < 0;
        if (failed) {
            /* Out of memory: every replica must resync from what comes next. */
            serverLog(LL_WARNING, "Replication backlog: out of memory, replicas will resync");
            size_t len = 0;
            for (int i = 0; i < iovcnt; i++) len += iov[i].iov_len;
            backlog_reset(&R.bl, at + len);
        }
        repl_kick_replicas_locked();
    }
    pthread_mutex_unlock(&R.lock);
}

void repl_backlog_ensure(void) {
    pthread_mutex_lock(&R.lock);
    int sub = R.subscribed;
    pthread_mutex_unlock(&R.lock);
    if (sub) return;
    R.consumer.on_data = on_stream;
    R.consumer.ctx = NULL;
    uint64_t start = 0;
    if (persist_stream_subscribe(&R.consumer, &start) < 0) {
        serverLog(LL_WARNING, "Replication: no stream consumer slot left");
        return;
    }
    pthread_mutex_lock(&R.lock);
    R.subscribed = 1;
    if (!R.has_backlog) {
        uint64_t at = R.is_replica || R.delta_pending ? R.reploff
                                                      : (uint64_t)((int64_t)start + R.delta);
        backlog_init(&R.bl, at, (uint64_t)server.repl_backlog_size, REPL_LAGGING_LIMIT);
        R.has_backlog = 1;
    }
    pthread_mutex_unlock(&R.lock);
}

/* ---- Gates ------------------------------------------------------------------ */

static int good_replicas_locked(int64_t now_ms) {
    int good = 0;
    for (int i = 0; i < R.nreplicas; i++) {
        repl_replica *r = R.replicas[i];
        if (r->state == RS_ONLINE && now_ms - r->ack_ms <= (int64_t)server.min_replicas_max_lag * 1000)
            good++;
    }
    return good;
}

static int reject_with(client *c, const struct command *cmd, const char *err) {
    if (!multi_exec_rejected(c, cmd, err)) addReplyError(c, err);
    return 1;
}

int repl_running_stale(void) {
    return repl_is_replica() && !server.repl_serve_stale_data && !repl_link_up();
}

int repl_reject(client *c, const struct command *cmd) {
    if (c->flags & CLIENT_MASTER) return 0;
    int gated = repl_is_replica() ||
                (server.min_replicas_to_write > 0 && server.min_replicas_max_lag > 0);
    if (!gated) return 0;
    /* A script that declares its flags is a write unless no-writes, and
     * stale-safe only with allow-stale (script_command_flags). */
    uint64_t flags = c->argv ? script_command_flags(cmd, c->argv, c->argc) : cmd->flags;
    int is_write = (flags & CMD_WRITE) != 0;
    int deny_stale = !(flags & CMD_STALE);
    /* EXEC is a write when a queued command is, and refused on a stale
     * replica when a queued command would be (Redis's processCommand: the
     * state may have changed since they were queued). */
    if (multi_is_exec(cmd) && (c->flags & CLIENT_MULTI)) {
        const struct command *q;
        int qargc;
        const resp_arg *qargv;
        deny_stale = 0;
        for (int i = 0; multi_queued_at(c, i, &q, &qargc, &qargv); i++) {
            uint64_t qf = script_command_flags(q, qargv, qargc);
            if (qf & CMD_WRITE) is_write = 1;
            if (!(qf & CMD_STALE)) deny_stale = 1;
        }
    }
    if (!repl_is_replica()) {
        if (is_write && server.min_replicas_to_write > 0 && server.min_replicas_max_lag > 0) {
            pthread_mutex_lock(&R.lock);
            int good = good_replicas_locked(mstime());
            pthread_mutex_unlock(&R.lock);
            if (good < server.min_replicas_to_write)
                return reject_with(c, cmd, "NOREPLICAS Not enough good replicas to write.");
        }
        return 0;
    }
    if (is_write && server.repl_slave_ro)
        return reject_with(c, cmd, "READONLY You can't write against a read only replica.");
    if (!server.repl_serve_stale_data && !repl_link_up() && deny_stale)
        return reject_with(c, cmd,
                           "MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
                           "is set to 'no'.");
    return 0;
}

/* ---- Role changes ------------------------------------------------------------ */

void repl_disconnect_replicas(void) {
    pthread_mutex_lock(&R.lock);
    for (int i = 0; i < R.nreplicas; i++) {
        client *rc = R.replicas[i]->c;
        __atomic_store_n(&rc->user_kill_flag, 1, __ATOMIC_RELEASE);
        worker_notify(R.replicas[i]->w);
    }
    pthread_mutex_unlock(&R.lock);
}

/* ---- INFO ------------------------------------------------------------------ */

/* "ip:port" of a client address -> ip. */
static void addr_ip(const char *addr, char *out, size_t cap) {
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
    if (n >= cap) n = cap - 1;
    memcpy(out, addr, n);
    out[n] = '\0';
}

static const char *state_name(int st) {
    switch (st) {
    case RS_WAIT_BGSAVE: return "wait_bgsave";
    case RS_SEND_BULK: return "send_bulk";
    case RS_ONLINE: return "online";
    default: return "none";
    }
}

char *repl_info_string(void) {
    lt_strbuf b = {0};
    char replid[41];
    repl_get_replid(replid);
    int replica = repl_is_replica();
    lt_strbuf_printf(&b, "# Replication\r\nrole:%s\r\n", replica ? "slave" : "master");
    if (replica) {
        char *li = repl_link_info();
        if (li) lt_strbuf_printf(&b, "%s", li);
        free(li);
        lt_strbuf_printf(&b, "slave_priority:%d\r\nslave_read_only:%d\r\nreplica_announced:%d\r\n",
                         server.replica_priority, server.repl_slave_ro, server.replica_announced);
    }
    pthread_mutex_lock(&R.lock);
    int64_t now = mstime();
    lt_strbuf_printf(&b, "connected_slaves:%d\r\n", R.nreplicas);
    if (server.min_replicas_to_write > 0 && server.min_replicas_max_lag > 0)
        lt_strbuf_printf(&b, "min_slaves_good_slaves:%d\r\n", good_replicas_locked(now));
    for (int i = 0; i < R.nreplicas; i++) {
        repl_replica *r = R.replicas[i];
        char ip[64];
        if (r->announced_ip[0]) snprintf(ip, sizeof(ip), "%s", r->announced_ip);
        else addr_ip(r->c->addr, ip, sizeof(ip));
        lt_strbuf_printf(&b, "slave%d:ip=%s,port=%d,state=%s,offset=%llu,lag=%lld\r\n", i, ip,
                         r->listening_port, state_name(r->state), (unsigned long long)r->ack_off,
                         (long long)(r->ack_ms ? (now - r->ack_ms) / 1000 : 0));
    }
    uint64_t off = repl_offset_locked();
    lt_strbuf_printf(&b,
                     "master_failover_state:%s\r\n"
                     "master_replid:%s\r\n"
                     "master_replid2:%s\r\n"
                     "master_repl_offset:%llu\r\n"
                     "second_repl_offset:%lld\r\n"
                     "repl_backlog_active:%d\r\n"
                     "repl_backlog_size:%lld\r\n"
                     "repl_backlog_first_byte_offset:%llu\r\n"
                     "repl_backlog_histlen:%llu\r\n",
                     R.failover_state == FO_WAIT_FOR_SYNC  ? "waiting-for-sync"
                     : R.failover_state == FO_IN_PROGRESS ? "failover-in-progress"
                                                          : "no-failover",
                     replid, R.replid2, (unsigned long long)off, (long long)R.second_off, R.has_backlog,
                     (long long)server.repl_backlog_size,
                     (unsigned long long)(R.has_backlog ? R.bl.start + 1 : 0),
                     (unsigned long long)(R.has_backlog ? R.bl.end - R.bl.start : 0));
    pthread_mutex_unlock(&R.lock);
    return b.p;
}

size_t repl_backlog_memory(void) {
    pthread_mutex_lock(&R.lock);
    size_t n = R.has_backlog ? (size_t)(R.bl.end - R.bl.start) : 0;
    pthread_mutex_unlock(&R.lock);
    return n;
}

void repl_info_stats(uint64_t *full, uint64_t *ok, uint64_t *err) {
    pthread_mutex_lock(&R.lock);
    *full = R.stat_sync_full;
    *ok = R.stat_partial_ok;
    *err = R.stat_partial_err;
    pthread_mutex_unlock(&R.lock);
}

/* ---- Life cycle ------------------------------------------------------------- */

int repl_init(void) {
    memset(R.replid2, '0', 40);
    R.replid2[40] = '\0';
    R.no_replicas_since_ms = mstime();
    if (!server.replicaof) return 0;
    /* A replica restarting: the offset its recovered data corresponds to,
     * so the link asks for a partial resync. The WAL's last offset mark
     * wins; else the state file of the last full sync, when recovery
     * started from the snapshot written right after it. */
    if (!R.restored && server.appendonly) {
        char id[41];
        uint64_t off, lsn;
        if (repl_state_read(id, &off, &lsn) == 0 && lsn != 0 &&
            lsn == persist_recovered_snapshot_lsn()) {
            R.restored = 1;
            memcpy(R.restored_id, id, 41);
            R.restored_off = off;
            R.restored_db = 0;
        }
    }
    if (R.restored) {
        R.is_replica = 1;
        R.reploff = R.restored_off;
        R.master_db = R.restored_db;
        repl_set_replid(R.restored_id);
        serverLog(LL_NOTICE, "Replication state recovered: master replid %s, offset %llu",
                  R.restored_id, (unsigned long long)R.restored_off);
    }
    return 0;
}

void repl_workers_started(void) {
    if (!server.replicaof) return;
    char host[256];
    int port = 0;
    if (sscanf(server.replicaof, "%255s %d", host, &port) != 2) return;
    repl_link_start(host, port);
}

void repl_shutdown(void) { repl_link_stop(); }

void repl_cron(struct worker *w) {
    repl_link_cron(w);
    if (w->id != 0) return;
    repl_failover_cron();
    repl_master_cron();
    pthread_mutex_lock(&R.lock);
    if (R.has_backlog) backlog_resize(&R.bl, (uint64_t)server.repl_backlog_size, REPL_LAGGING_LIMIT);
    int64_t now = mstime();
    if (R.nreplicas > 0) R.no_replicas_since_ms = now;
    int drop = !R.is_replica && R.has_backlog && R.nreplicas == 0 && server.repl_backlog_ttl > 0 &&
               now - R.no_replicas_since_ms > server.repl_backlog_ttl * 1000;
    pthread_mutex_unlock(&R.lock);
    if (drop) {
        /* Redis: after repl-backlog-ttl without replicas the backlog is
         * freed; a new id makes old replicas resync fully. */
        persist_stream_unsubscribe(&R.consumer);
        pthread_mutex_lock(&R.lock);
        R.subscribed = 0;
        R.has_backlog = 0;
        backlog_free(&R.bl);
        memset(R.replid2, '0', 40);
        R.second_off = -1;
        pthread_mutex_unlock(&R.lock);
        char id[41];
        repl_random_id(id);
        repl_set_replid(id);
        serverLog(LL_NOTICE, "Replication backlog freed after %lld seconds without replicas",
                  (long long)server.repl_backlog_ttl);
    }
}
