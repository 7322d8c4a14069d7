/*
 * failover.c — FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: a
 * coordinated switch of roles with one of this master's replicas, as
 * Redis 6.2+ does it.
 *
 * States (INFO master_failover_state): no-failover; waiting-for-sync —
 * writes are paused (as CLIENT PAUSE WRITE) until the target (or, without
 * TO, any replica) has acknowledged the master's whole offset; then
 * failover-in-progress — this node becomes a replica of the target, whose
 * PSYNC carries FAILOVER: the target promotes itself (its id becomes its
 * replid2, so this node's history continues) and answers +CONTINUE. The
 * pause ends when that PSYNC succeeded; when it is refused, or the timeout
 * passes without FORCE, the failover is aborted (this node is a master
 * again, writes resume). Worker 0's cron drives it.
 */
#include "repl/repl_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/util.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"

void repl_link_unset(void);

static const char *state_name(int st) {
    return st == FO_WAIT_FOR_SYNC ? "waiting-for-sync"
           : st == FO_IN_PROGRESS ? "failover-in-progress"
                                  : "no-failover";
}

const char *repl_failover_state_name(void) {
    pthread_mutex_lock(&R.lock);
    const char *n = state_name(R.failover_state);
    pthread_mutex_unlock(&R.lock);
    return n;
}

int repl_failover_in_progress(void) {
    pthread_mutex_lock(&R.lock);
    int st = R.failover_state;
    pthread_mutex_unlock(&R.lock);
    return st != FO_NONE;
}

static void pause_writes(int on) {
    __atomic_store_n(&server.pause_end_ms, on ? INT64_MAX : 0, __ATOMIC_RELEASE);
    __atomic_store_n(&server.pause_type, on ? PAUSE_WRITE : PAUSE_OFF, __ATOMIC_RELEASE);
    if (!on) worker_notify_all(); /* paused clients run again */
}

/* Back to no-failover; R.lock held. */
static void clear_locked(void) {
    R.failover_state = FO_NONE;
    R.failover_host[0] = '\0';
    R.failover_port = 0;
    R.failover_end_ms = 0;
    R.failover_force = 0;
}

static void abort_failover(const char *why) {
    pthread_mutex_lock(&R.lock);
    int st = R.failover_state;
    clear_locked();
    pthread_mutex_unlock(&R.lock);
    if (st == FO_NONE) return;
    serverLog(LL_NOTICE, "FAILOVER aborted: %s", why);
    if (st == FO_IN_PROGRESS) {
        repl_link_unset();
        repl_set_replicaof_config(NULL, 0);
    }
    pause_writes(0);
}

void repl_failover_psync_result(int ok) {
    pthread_mutex_lock(&R.lock);
    int st = R.failover_state;
    if (st == FO_IN_PROGRESS && ok) clear_locked();
    pthread_mutex_unlock(&R.lock);
    if (st != FO_IN_PROGRESS) return;
    if (!ok) {
        abort_failover("Failover target rejected psync request");
        return;
    }
    serverLog(LL_NOTICE, "Failover target accepted the PSYNC: this node is a replica now");
    pause_writes(0);
}

/* The replica's address as FAILOVER TO names it. R.lock held. */
static void replica_addr(const repl_replica *r, char *ip, size_t cap) {
    if (r->announced_ip[0]) {
        snprintf(ip, cap, "%s", r->announced_ip);
        return;
    }
    const char *colon = strrchr(r->c->addr, ':');
    size_t k = colon ? (size_t)(colon - r->c->addr) : strlen(r->c->addr);
    if (k >= cap) k = cap - 1;
    memcpy(ip, r->c->addr, k);
    ip[k] = '\0';
}

static repl_replica *find_locked(const char *host, int port) {
    char ip[64];
    for (int i = 0; i < R.nreplicas; i++) {
        replica_addr(R.replicas[i], ip, sizeof(ip));
        if (R.replicas[i]->listening_port == port && strcasecmp(ip, host) == 0)
            return R.replicas[i];
    }
    return NULL;
}

void repl_failover_cron(void) {
    pthread_mutex_lock(&R.lock);
    if (R.failover_state != FO_WAIT_FOR_SYNC) {
        pthread_mutex_unlock(&R.lock);
        return;
    }
    int64_t now = mstime();
    char host[64];
    int port = 0, go = 0;
    const char *abort_why = NULL;
    uint64_t off = repl_offset_locked();
    if (R.failover_end_ms && R.failover_end_ms <= now) {
        if (R.failover_force) {
            snprintf(host, sizeof(host), "%s", R.failover_host);
            port = R.failover_port;
            go = 1;
            serverLog(LL_NOTICE, "FAILOVER to %s:%d time out exceeded, failing over.", host, port);
        } else {
            abort_why = "Replica never caught up before timeout";
        }
    } else {
        repl_replica *t = NULL;
        if (R.failover_port) {
            t = find_locked(R.failover_host, R.failover_port);
        } else {
            for (int i = 0; i < R.nreplicas && !t; i++)
                if (R.replicas[i]->state == RS_ONLINE && R.replicas[i]->ack_off == off)
                    t = R.replicas[i];
        }
        if (t && t->state == RS_ONLINE && t->ack_off == off) {
            replica_addr(t, host, sizeof(host));
            port = t->listening_port;
            go = 1;
            serverLog(LL_NOTICE, "Failover target %s:%d is synced, failing over.", host, port);
        }
    }
    if (go) {
        R.failover_state = FO_IN_PROGRESS;
        snprintf(R.failover_host, sizeof(R.failover_host), "%s", host);
        R.failover_port = port;
    }
    pthread_mutex_unlock(&R.lock);
    if (abort_why) abort_failover(abort_why);
    if (go) {
        if (repl_link_start(host, port) < 0) abort_failover("cannot start the link");
        else repl_set_replicaof_config(host, port);
    }
}

void failoverCommand(client *c) {
    if (server.cluster_enabled) {
        addReplyError(c, "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.");
        return;
    }
    if (c->argc == 2 && arg_is(&c->argv[1], "abort")) {
        if (!repl_failover_in_progress()) {
            addReplyError(c, "ERR No failover in progress.");
            return;
        }
        abort_failover("Failover manually aborted");
        addReplyOK(c);
        return;
    }
    long long timeout = 0, port = 0;
    int force = 0;
    const resp_arg *host = NULL;
    for (int j = 1; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "timeout") && j + 1 < c->argc && timeout == 0) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &timeout, NULL) < 0) return;
            if (timeout <= 0) {
                addReplyError(c, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            j++;
        } else if (arg_is(&c->argv[j], "to") && j + 2 < c->argc && !host) {
            if (arg_ll_or_reply(c, &c->argv[j + 2], &port, NULL) < 0) return;
            host = &c->argv[j + 1];
            j += 2;
        } else if (arg_is(&c->argv[j], "force") && !force) {
            force = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (repl_failover_in_progress()) {
        addReplyError(c, "ERR FAILOVER already in progress.");
        return;
    }
    if (repl_is_replica() || repl_link_configured()) {
        addReplyError(c, "ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    pthread_mutex_lock(&R.lock);
    if (R.nreplicas == 0) {
        pthread_mutex_unlock(&R.lock);
        addReplyError(c, "ERR FAILOVER requires connected replicas.");
        return;
    }
    if (force && (!timeout || !host)) {
        pthread_mutex_unlock(&R.lock);
        addReplyError(c, "ERR FAILOVER with force option requires both a timeout and target "
                         "HOST and IP.");
        return;
    }
    char h[64] = "";
    if (host) {
        size_t n = host->len < sizeof(h) - 1 ? host->len : sizeof(h) - 1;
        memcpy(h, host->ptr, n);
        h[n] = '\0';
        repl_replica *t = find_locked(h, (int)port);
        if (!t) {
            pthread_mutex_unlock(&R.lock);
            addReplyError(c, "ERR FAILOVER target HOST and PORT is not a replica.");
            return;
        }
        if (t->state != RS_ONLINE) {
            pthread_mutex_unlock(&R.lock);
            addReplyError(c, "ERR FAILOVER target replica is not online.");
            return;
        }
        serverLog(LL_NOTICE, "FAILOVER requested to %s:%lld.", h, port);
    } else {
        serverLog(LL_NOTICE, "FAILOVER requested to any replica.");
    }
    snprintf(R.failover_host, sizeof(R.failover_host), "%s", h);
    R.failover_port = host ? (int)port : 0;
    R.failover_end_ms = timeout ? mstime() + timeout : 0;
    R.failover_force = force;
    R.failover_state = FO_WAIT_FOR_SYNC;
    pthread_mutex_unlock(&R.lock);
    pause_writes(1);
    addReplyOK(c);
}
