/*
 * master.c — this node's replicas: PSYNC/SYNC (full sync or continuation),
 * the stream each replica's producer reads from the backlog, REPLCONF on
 * either side, ACKs, WAIT, the pings and the timeouts.
 *
 * A replica is an ordinary client of some worker that sent PSYNC. From then
 * on its output comes from a producer (client_set_producer): first the RDB
 * payload (cmd_sync.h) when it needed a full sync, then the backlog from
 * its cursor, 64 KiB at a time while its pending output leaves room. When
 * the cursor reaches the end the producer marks itself idle and the next
 * append to the backlog kicks its worker (one wakeup per idle period, not
 * per write). Its REPLCONF ACKs are still read and run meanwhile
 * (CLIENT_REPLICA), with no reply.
 *
 * Full sync point. The payload must hold exactly the commits before the
 * cursor's offset. As a master: with every shard locked (ks_txn_begin_all,
 * so no commit is between taking its timestamp and appending its record)
 * the cursor is placed at the backlog's end and the view opened. As a
 * replica: under R.apply_lock, which the master client holds around each
 * command it applies and the backlog append that follows.
 *
 * After a payload in the EOF-marked form the stream starts at the
 * replica's first REPLCONF ACK (Redis 7 does the same: a replica looks for
 * the mark at the end of what one read returned).
 *
 * Writes during a full sync stay in the backlog behind the replica's
 * cursor; the backlog keeps them up to repl-backlog-size + 256 MiB (Redis's
 * replica output buffer hard limit), beyond which the replica is dropped
 * and resyncs (backlog.h).
 *
 * Bytes the master itself puts in the stream (PING every
 * repl-ping-replica-period, REPLCONF GETACK * when WAIT blocks) go into the
 * backlog only, and R.delta grows by their length, so the offset stays a
 * byte count of what replicas receive.
 */
#include "repl/repl_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/util.h"
#include "engine/txn.h"
#include "server/cmd/args.h"
#include "server/cmd/cmd_sync.h"
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"

pthread_mutex_t repl_apply_lock = PTHREAD_MUTEX_INITIALIZER;

void repl_link_unset(void);

#define REPL_SEND_CHUNK (64 * 1024)

static repl_replica *replica_of(client *c) {
    if (!c->repl) {
        c->repl = calloc(1, sizeof(repl_replica));
        if (!c->repl) return NULL;
        c->repl->c = c;
        c->repl->w = c->owner;
        c->repl->slot = -1;
    }
    return c->repl;
}

/* Appends bytes the master itself adds to the stream. R.lock held. */
static void inject_locked(const char *p, size_t n) {
    if (R.is_replica || !R.has_backlog) return;
    if (backlog_append(&R.bl, p, n) < 0) return;
    if (R.delta_pending) R.reploff += n; /* just promoted: see repl_int.h */
    else R.delta += (int64_t)n;
    repl_kick_replicas_locked();
}

static void register_locked(repl_replica *r) {
    for (int i = 0; i < R.nreplicas; i++)
        if (R.replicas[i] == r) return;
    R.replicas[R.nreplicas++] = r;
}

static void unregister_locked(repl_replica *r) {
    for (int i = 0; i < R.nreplicas; i++) {
        if (R.replicas[i] != r) continue;
        memmove(&R.replicas[i], &R.replicas[i + 1],
                sizeof(R.replicas[0]) * (size_t)(R.nreplicas - i - 1));
        R.nreplicas--;
        break;
    }
    if (r->slot >= 0 && R.has_backlog) backlog_cursor_del(&R.bl, r->slot);
    r->slot = -1;
}

void repl_client_closed(client *c) {
    if (c->flags & CLIENT_MASTER) repl_link_master_closed(c);
    repl_replica *r = c->repl;
    if (!r) return;
    pthread_mutex_lock(&R.lock);
    unregister_locked(r);
    pthread_mutex_unlock(&R.lock);
    if (r->job) sync_job_release(r->job);
    if (r->state != RS_NONE)
        serverLog(LL_NOTICE, "Connection with replica %s lost.", c->addr);
    free(r);
    c->repl = NULL;
}

/* The replica's producer. */
static int replica_fill(client *c, void *ctx) {
    repl_replica *r = ctx;
    if (r->job) {
        if (!sync_job_fill(c, r->job)) return 0;
        if (sync_job_failed(r->job)) {
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            return 1;
        }
        sync_job_release(r->job);
        r->job = NULL;
        if (r->rdb_only) {
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            return 1;
        }
        pthread_mutex_lock(&R.lock);
        r->state = RS_ONLINE;
        r->ack_ms = mstime();
        r->hold_until_ack = r->capa_eof;
        pthread_mutex_unlock(&R.lock);
        serverLog(LL_NOTICE, "Synchronization with replica %s succeeded", c->addr);
    }
    static __thread char buf[REPL_SEND_CHUNK];
    pthread_mutex_lock(&R.lock);
    uint64_t at = r->slot >= 0 && R.has_backlog ? R.bl.cursor[r->slot] : BACKLOG_DROPPED;
    if (at == BACKLOG_DROPPED) {
        pthread_mutex_unlock(&R.lock);
        serverLog(LL_WARNING,
                  "Client %s scheduled to be closed ASAP for overcoming of output buffer limits "
                  "(replica fell behind the replication backlog)", c->addr);
        c->flags |= CLIENT_CLOSE_ASAP;
        client_close(c);
        return 1;
    }
    size_t n = r->hold_until_ack ? 0 : backlog_read(&R.bl, at, buf, sizeof(buf));
    if (n == 0) {
        r->idle = 1;
        pthread_mutex_unlock(&R.lock);
        return 0;
    }
    R.bl.cursor[r->slot] = at + n;
    pthread_mutex_unlock(&R.lock);
    addReplyProto(c, buf, n);
    return 0;
}

/* ---- PSYNC / SYNC ------------------------------------------------------------ */

/* Becomes a replica of this node: c streams from the backlog at `from`.
 * R.lock held. Returns 0, or -1 when no cursor slot is left. */
static int attach_locked(repl_replica *r, uint64_t from, int state) {
    r->slot = backlog_cursor_add(&R.bl, from);
    if (r->slot < 0) return -1;
    r->state = state;
    r->ack_ms = mstime();
    r->ack_off = 0;
    register_locked(r);
    return 0;
}

static void syncGeneric(client *c, int psync) {
    if (c->flags & CLIENT_REPLICA) return; /* already one: ignored, as Redis */
    if (psync && c->argc > 3 && arg_is(&c->argv[3], "failover")) {
        /* Our master hands over (FAILOVER): we become the master. */
        if (!repl_is_replica()) {
            addReplyError(c, "ERR PSYNC FAILOVER can't be sent to a master.");
            return;
        }
        char id[41];
        repl_get_replid(id);
        if (c->argv[1].len != 40 || strncasecmp(c->argv[1].ptr, id, 40) != 0) {
            addReplyError(c, "ERR PSYNC FAILOVER replid must match my replid.");
            return;
        }
        repl_link_unset();
        serverLog(LL_NOTICE, "MASTER MODE enabled (failover request from '%s')", c->addr);
        repl_set_replicaof_config(NULL, 0);
    }
    if (repl_failover_in_progress()) {
        addReplyError(c, "NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    if (repl_is_replica() && !repl_link_up()) {
        addReplyError(c, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (client_output_bytes(c) > 0) {
        addReplyError(c, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    repl_replica *r = replica_of(c);
    if (!r) {
        addReplyError(c, "ERR out of memory");
        return;
    }
    repl_backlog_ensure();
    char replid[41];
    repl_get_replid(replid);
    char req_id[41] = "?";
    long long req_off = -1;
    if (psync) {
        size_t n = c->argv[1].len < 40 ? c->argv[1].len : 40;
        memcpy(req_id, c->argv[1].ptr, n);
        req_id[n] = '\0';
        if (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &req_off)) req_off = -1;
    }
    pthread_mutex_lock(&R.lock);
    if (psync && strcmp(req_id, "?") != 0) {
        const char *why = NULL;
        if (c->argv[1].len == 40 &&
            backlog_psync_may_continue(&R.bl, R.has_backlog, replid, R.replid2, R.second_off,
                                       req_id, req_off, &why) &&
            attach_locked(r, (uint64_t)(req_off - 1), RS_ONLINE) == 0) {
            R.stat_partial_ok++;
            uint64_t bl_end = R.bl.end;
            pthread_mutex_unlock(&R.lock);
            char line[96];
            int n = r->capa_psync2 ? snprintf(line, sizeof(line), "+CONTINUE %s\r\n", replid)
                                   : snprintf(line, sizeof(line), "+CONTINUE\r\n");
            addReplyProto(c, line, (size_t)n);
            c->flags |= CLIENT_REPLICA;
            serverLog(LL_NOTICE,
                      "Partial resynchronization request from %s accepted. Sending %llu bytes "
                      "of backlog starting from offset %lld.",
                      c->addr, (unsigned long long)(bl_end - (uint64_t)(req_off - 1)), req_off);
            client_set_producer(c, replica_fill, r, NULL);
            return;
        }
        R.stat_partial_err++;
        serverLog(LL_NOTICE,
                  "Partial resynchronization not accepted: %s (Replica asked for '%s', my "
                  "replication IDs are '%s' and '%s')",
                  why ? why : "no free replica slot", req_id, replid, R.replid2);
    }
    R.stat_sync_full++;
    pthread_mutex_unlock(&R.lock);
    serverLog(LL_NOTICE, "Replica %s asks for synchronization", c->addr);

    sync_job *job = sync_job_new(c, psync);
    if (!job) {
        addReplyError(c, "ERR could not produce the RDB payload (see the server log)");
        return;
    }
    /* The point of the payload: see the header comment. */
    ks_txn all;
    int replica = repl_is_replica();
    if (replica) pthread_mutex_lock(&repl_apply_lock);
    else ks_txn_begin_all(&all, server.db);
    pthread_mutex_lock(&R.lock);
    uint64_t off = R.has_backlog ? R.bl.end : repl_offset_locked();
    int rc = R.has_backlog ? attach_locked(r, off, RS_WAIT_BGSAVE) : -1;
    if (rc == 0) ks_view_open(server.db, sync_job_view(job));
    pthread_mutex_unlock(&R.lock);
    /* The replica's stream names its database first (no commit meanwhile:
     * every shard is locked). */
    if (rc == 0 && !replica) persist_stream_reselect();
    if (replica) pthread_mutex_unlock(&repl_apply_lock);
    else ks_txn_commit(&all);
    if (rc < 0) {
        sync_job_release(job);
        sync_job_release(job); /* never started: both references */
        addReplyError(c, "ERR too many replicas");
        return;
    }
    if (sync_job_start(job, off, replid, r->capa_eof) < 0) {
        pthread_mutex_lock(&R.lock);
        unregister_locked(r);
        pthread_mutex_unlock(&R.lock);
        addReplyError(c, "ERR could not produce the RDB payload (see the server log)");
        return;
    }
    r->job = job;
    c->flags |= CLIENT_REPLICA;
    serverLog(LL_NOTICE, "Starting BGSAVE for SYNC with target: replicas sockets (forkless view, "
                         "offset %" PRIu64 ")", off);
    if (psync) {
        char line[96];
        int n = snprintf(line, sizeof(line), "+FULLRESYNC %s %" PRIu64 "\r\n", replid, off);
        addReplyProto(c, line, (size_t)n);
    }
    pthread_mutex_lock(&R.lock);
    r->state = RS_SEND_BULK;
    pthread_mutex_unlock(&R.lock);
    client_set_producer(c, replica_fill, r, NULL);
}

void repl_sync_command(client *c) { syncGeneric(c, 0); }
void repl_psync_command(client *c) { syncGeneric(c, 1); }

/* ---- REPLCONF ------------------------------------------------------------------ */

/* REPLCONF LT-OFFSET <replid> <offset> <db>: the offset mark a replica's
 * WAL records end with (link.c), run by the WAL replay only (a client
 * sending it gets Redis's unknown-option error). */
static int replconf_mark(client *c) {
    if (c->argc != 5 || !arg_is(&c->argv[1], "lt-offset") || c->conn.fd >= 0 ||
        (c->flags & CLIENT_MASTER) || c->argv[2].len != 40)
        return 0;
    long long off, db;
    if (!lt_string2ll(c->argv[3].ptr, c->argv[3].len, &off) || off < 0 ||
        !lt_string2ll(c->argv[4].ptr, c->argv[4].len, &db) || db < 0)
        return 0;
    pthread_mutex_lock(&R.lock);
    R.restored = 1;
    memcpy(R.restored_id, c->argv[2].ptr, 40);
    R.restored_id[40] = '\0';
    R.restored_off = (uint64_t)off;
    R.restored_db = (int)db;
    pthread_mutex_unlock(&R.lock);
    addReplyOK(c);
    return 1;
}

void repl_replconf_command(client *c) {
    if (replconf_mark(c)) return;
    if ((c->argc % 2) == 0) {
        addReplyErrorSyntax(c);
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        const resp_arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (arg_is(opt, "listening-port")) {
            long long port;
            if (arg_ll_or_reply(c, val, &port, NULL) < 0) return;
            repl_replica *r = replica_of(c);
            if (r) r->listening_port = (int)port;
        } else if (arg_is(opt, "ip-address")) {
            repl_replica *r = replica_of(c);
            if (val->len >= sizeof(r->announced_ip)) {
                addReplyErrorFormat(c, "ERR REPLCONF ip-address provided by replica instance "
                                       "is too long: %zu bytes", val->len);
                return;
            }
            if (r) {
                memcpy(r->announced_ip, val->ptr, val->len);
                r->announced_ip[val->len] = '\0';
            }
        } else if (arg_is(opt, "capa")) {
            repl_replica *r = replica_of(c);
            if (r && arg_is(val, "eof")) r->capa_eof = 1;
            else if (r && arg_is(val, "psync2")) r->capa_psync2 = 1;
        } else if (arg_is(opt, "ack") || arg_is(opt, "fack")) {
            /* No reply to an ACK: the replica does not read one. */
            long long off;
            if (!lt_string2ll(val->ptr, val->len, &off)) return;
            if (!(c->flags & CLIENT_REPLICA) || !c->repl || !arg_is(opt, "ack")) return;
            pthread_mutex_lock(&R.lock);
            if ((uint64_t)off > c->repl->ack_off) c->repl->ack_off = (uint64_t)off;
            c->repl->ack_ms = mstime();
            if (c->repl->hold_until_ack && c->repl->state == RS_ONLINE) {
                c->repl->hold_until_ack = 0;
                c->repl->idle = 0;
                worker_kick_producers(c->repl->w);
            }
            if (R.waiters > 0) repl_wake_waiters_locked();
            pthread_mutex_unlock(&R.lock);
            return;
        } else if (arg_is(opt, "getack")) {
            /* From our master: answer with the offset processed so far. */
            if (!(c->flags & CLIENT_MASTER)) return;
            char line[96];
            char num[24];
            int nl = snprintf(num, sizeof(num), "%" PRIu64, repl_offset());
            int n = snprintf(line, sizeof(line), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n",
                             nl, num);
            uint32_t saved = c->flags & CLIENT_REPLY_OFF;
            c->flags &= ~CLIENT_REPLY_OFF;
            addReplyProto(c, line, (size_t)n);
            c->flags |= saved;
            return;
        } else if (arg_is(opt, "rdb-only")) {
            /* redis-cli --rdb: the payload only, then the connection ends. */
            long long v;
            if (arg_ll_or_reply(c, val, &v, NULL) < 0) return;
            repl_replica *r = replica_of(c);
            if (r) r->rdb_only = v == 1;
        } else if (arg_is(opt, "rdb-filter-only")) {
            /* Accepted (Redis filters functions out; Lightning has none). */
        } else {
            addReplyErrorFormat(c, "ERR Unrecognized REPLCONF option: %.*s", (int)opt->len,
                                opt->ptr);
            return;
        }
    }
    addReplyOK(c);
}

/* ---- WAIT ---------------------------------------------------------------------- */

typedef struct wait_ctx {
    uint64_t target;
    long long want;
    int64_t deadline_ms; /* 0: none */
    int counted;         /* in R.waiters */
} wait_ctx;

static int acked_locked(uint64_t target) {
    int n = 0;
    for (int i = 0; i < R.nreplicas; i++)
        if (R.replicas[i]->state == RS_ONLINE && R.replicas[i]->ack_off >= target) n++;
    return n;
}

void repl_wake_waiters_locked(void) {
    for (int i = 0; i < server.nworkers; i++) worker_kick_producers(server.workers[i]);
}

static int wait_fill(client *c, void *ctx) {
    wait_ctx *wc = ctx;
    pthread_mutex_lock(&R.lock);
    int n = acked_locked(wc->target);
    int done = n >= wc->want || (wc->deadline_ms && mstime() >= wc->deadline_ms);
    if (done && wc->counted) {
        R.waiters--;
        wc->counted = 0;
    }
    pthread_mutex_unlock(&R.lock);
    if (!done) return 0;
    addReplyLongLong(c, n);
    return 1;
}

static void wait_free(void *ctx) {
    wait_ctx *wc = ctx;
    if (wc->counted) {
        pthread_mutex_lock(&R.lock);
        R.waiters--;
        pthread_mutex_unlock(&R.lock);
    }
    free(wc);
}

void repl_wait_command(client *c) {
    if (repl_is_replica()) {
        addReplyError(c, "ERR WAIT cannot be used with replica instances. Please also note that "
                         "since Redis 4.0 if a replica is configured to be writable (which is not "
                         "the default) writes to replicas are just local and are not propagated.");
        return;
    }
    long long want, timeout;
    if (arg_ll_or_reply(c, &c->argv[1], &want, NULL) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[2], &timeout, "ERR timeout is not an integer or out of range") < 0)
        return;
    if (timeout < 0) {
        addReplyError(c, "ERR timeout is negative");
        return;
    }
    pthread_mutex_lock(&R.lock);
    uint64_t target = repl_offset_locked();
    int n = acked_locked(target);
    if (n >= want || (c->flags & CLIENT_IN_EXEC)) {
        pthread_mutex_unlock(&R.lock);
        addReplyLongLong(c, n);
        return;
    }
    wait_ctx *wc = calloc(1, sizeof(*wc));
    if (!wc) {
        pthread_mutex_unlock(&R.lock);
        addReplyError(c, "ERR out of memory");
        return;
    }
    wc->target = target;
    wc->want = want;
    wc->deadline_ms = timeout ? mstime() + timeout : 0;
    wc->counted = 1;
    R.waiters++;
    /* Ask the replicas for an ACK now (Redis's GETACK on WAIT). */
    static const char getack[] = "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
    if (R.nreplicas > 0) inject_locked(getack, sizeof(getack) - 1);
    pthread_mutex_unlock(&R.lock);
    client_set_producer(c, wait_fill, wc, wait_free);
}

/* ---- Cron ---------------------------------------------------------------------- */

void repl_master_cron(void) {
    static int64_t last_ping_ms;
    int64_t now = mstime();
    /* Pings every period from start-up, as Redis's cron counts its loops:
     * a replica attaching does not get one at once (Redis's tests read the
     * stream right after SYNC with the period set to an hour). */
    if (last_ping_ms == 0) last_ping_ms = now;
    pthread_mutex_lock(&R.lock);
    if (R.waiters > 0) repl_wake_waiters_locked(); /* WAIT timeouts */
    if (!R.is_replica && R.nreplicas > 0 && R.failover_state == FO_NONE &&
        now - last_ping_ms >= (int64_t)server.repl_ping_replica_period * 1000) {
        static const char ping[] = "*1\r\n$4\r\nPING\r\n";
        inject_locked(ping, sizeof(ping) - 1);
        last_ping_ms = now;
    }
    for (int i = 0; i < R.nreplicas; i++) {
        repl_replica *r = R.replicas[i];
        if (r->state == RS_ONLINE && now - r->ack_ms > (int64_t)server.repl_timeout * 1000 &&
            !__atomic_load_n(&r->c->user_kill_flag, __ATOMIC_RELAXED)) {
            serverLog(LL_WARNING, "Disconnecting timedout replica (streaming sync): %s",
                      r->c->addr);
            __atomic_store_n(&r->c->user_kill_flag, 1, __ATOMIC_RELEASE);
            worker_notify(r->w);
        }
    }
    pthread_mutex_unlock(&R.lock);
}
