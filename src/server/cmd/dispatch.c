/*
 * dispatch: the path of one command from parsed arguments to reply.
 *
 * Order of checks is Redis's (processCommand): unknown command, unknown
 * subcommand, arity, protected commands (DEBUG, MODULE LOAD: enable-*-command),
 * authentication, ACL permissions (one flag test for an unrestricted user),
 * cluster redirection (cluster.h), then pause; a command rejected by
 * any of them counts as rejected_calls, one that replied an error while
 * running as failed_calls.
 */
#include "server/cmd/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "common/assert.h"
#include "engine/keyspace.h"
#include "engine/txn.h"
#include "server/acl.h"
#include "cluster/cluster.h"
#include "server/cmd/args.h"
#include "server/cmd/blocking.h"
#include "server/config.h"
#include "server/cmd/commands.h"
#include "server/cmd/multi.h"
#include "server/latency.h"
#include "server/memory.h"
#include "server/monitor.h"
#include "server/slowlog.h"
#include "script/function.h"
#include "script/script.h"
#include "server/log.h"
#include "server/loading.h"
#include "server/cmd/pubsub.h"
#include "server/cmd/tracking.h"
#include "server/persist/persist.h"
#include "server/evict.h"
#include "repl/repl.h"
#include "server/net/reply.h"
#include "server/server.h"
#include "server/net/worker.h"

/* Redis: "unknown command 'x', with args beginning with: 'a' 'b' ". */
static void reply_unknown_command(client *c) {
    char args[256];
    size_t len = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && len < 128; i++) {
        int room = 128 - (int)len;
        int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ",
                         (int)(c->argv[i].len < (size_t)room ? c->argv[i].len : (size_t)room),
                         c->argv[i].ptr);
        if (n < 0) break;
        len += (size_t)n;
        if (len >= sizeof(args)) len = sizeof(args) - 1;
    }
    addReplyErrorFormat(c, "ERR unknown command '%.*s', with args beginning with: %s",
                        (int)(c->argv[0].len < 128 ? c->argv[0].len : 128),
                        c->argv[0].ptr, args);
}

static void reply_unknown_subcommand(client *c, const command *parent) {
    char upper[48];
    size_t i;
    for (i = 0; parent->name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)(parent->name[i] >= 'a' && parent->name[i] <= 'z'
                              ? parent->name[i] - 32 : parent->name[i]);
    upper[i] = '\0';
    addReplyErrorFormat(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                        (int)(c->argv[1].len < 128 ? c->argv[1].len : 128),
                        c->argv[1].ptr, upper);
}

/* CMD_PROTECTED: DEBUG follows enable-debug-command, the MODULE
 * subcommands that load code enable-module-command (Redis's rule). */
static int protected_allowed(const client *c, const command *cmd) {
    int debug = !strcmp(cmd->parent ? cmd->parent->name : cmd->name, "debug");
    return config_protected_action_allowed(debug ? server.enable_debug_cmd
                                                 : server.enable_module_cmd,
                                           c);
}

int dispatch_pause_in_force(void) {
    return __atomic_load_n(&server.pause_type, __ATOMIC_ACQUIRE) != PAUSE_OFF &&
           mstime() < __atomic_load_n(&server.pause_end_ms, __ATOMIC_ACQUIRE);
}

static int pause_applies(const command *cmd, const resp_arg *argv, int argc);

int dispatch_pause_applies(client *c, const command *cmd, const resp_arg *argv, int argc) {
    if (!dispatch_pause_in_force()) return 0;
    /* EXEC is held when a command it would run is (Redis: the flags of a
     * transaction are those of its commands). */
    if (multi_is_exec(cmd) && (c->flags & CLIENT_MULTI)) {
        const command *q;
        int qargc;
        const resp_arg *qargv;
        for (int i = 0; multi_queued_at(c, i, &q, &qargc, &qargv); i++)
            if (pause_applies(q, qargv, qargc)) return 1;
        return 0;
    }
    return pause_applies(cmd, argv, argc);
}

static int pause_applies(const command *cmd, const resp_arg *argv, int argc) {
    if (__atomic_load_n(&server.pause_type, __ATOMIC_ACQUIRE) == PAUSE_ALL) return 1;
    if (!(cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE))) return 0;
    /* A script or function that declares no-writes is a read (Redis
     * takes EVAL's and FCALL's flags from the script). */
    return (script_command_flags(cmd, argv, argc) & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0;
}

/* A rejected command also fails the transaction being queued, if any. */
static void count_rejected(client *c, const command *cmd) {
    if (cmd) __atomic_add_fetch(&c->owner->cmdstats[cmd->id].rejected, 1, __ATOMIC_RELAXED);
    multi_flag_error(c);
}

/* Batches (dispatch_batch_begin): while on, the end time of the
 * last command is the start time of the next, and the statistics of a run
 * of calls of one command are added to the worker's shared counters once
 * (the atomic adds are what counting costs) — when another command comes,
 * before a command without keys runs (INFO or CONFIG RESETSTAT of the same
 * client see every command before them; they have no keys), after a call
 * that failed, and when the batch ends: other clients' INFO may see a
 * batch's calls a few commands late, never twice. Thread-local: a worker
 * runs one client's batch at a time. */
static __thread int batch_on;
static __thread int64_t batch_end_us;
static __thread struct {
    worker *w;
    const command *cmd; /* NULL: nothing pending */
    uint64_t calls, usec, hits, misses;
} pend;

static void stats_flush(void) {
    if (!pend.cmd) return;
    worker *w = pend.w;
    cmd_stat *st = &w->cmdstats[pend.cmd->id];
    __atomic_add_fetch(&st->calls, pend.calls, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->usec, pend.usec, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->stat_commands, pend.calls, __ATOMIC_RELAXED);
    if (pend.hits) __atomic_add_fetch(&w->stat_keyspace_hits, pend.hits, __ATOMIC_RELAXED);
    if (pend.misses)
        __atomic_add_fetch(&w->stat_keyspace_misses, pend.misses, __ATOMIC_RELAXED);
    pend.cmd = NULL;
}

/* DEBUG subcommands that change or reload data wait for the load. */
static int loading_denies_debug(client *c, const command *cmd) {
    const command *top = cmd->parent ? cmd->parent : cmd;
    if (strcmp(top->name, "debug") != 0 || c->argc < 2) return 0;
    static const char *const ok[] = {"help", "sleep", "log", "set-active-expire", NULL};
    for (int i = 0; ok[i]; i++)
        if (strlen(ok[i]) == c->argv[1].len && !strncasecmp(ok[i], c->argv[1].ptr, c->argv[1].len))
            return 0;
    return 1;
}

void dispatch_batch_begin(void) {
    batch_on = 1;
    batch_end_us = 0;
}

void dispatch_batch_end(void) {
    stats_flush();
    batch_on = 0;
}

/* A command run from a busy script's nested poll (script_reject_busy let
 * only SCRIPT/FUNCTION KILL, FUNCTION STATS, SHUTDOWN, MULTI, DISCARD and
 * UNWATCH through, none of which reads the keyspace): the thread is in
 * the middle of the script's command, whose per-command state (WAL
 * record, tracking, command clock, batch statistics) must not be
 * disturbed, so only the handler, MONITOR and the command's statistics. */
static void dispatch_call_nested(client *c, const command *cmd) {
    worker *w = c->owner;
    __atomic_store_n(&c->lastcmd, cmd, __ATOMIC_RELAXED);
    int64_t start = ustime();
    cmd->proc(c);
    int64_t end = ustime();
    uint64_t dur = end > start ? (uint64_t)(end - start) : 0;
    if (monitor_active() && !(c->flags & CLIENT_CLOSED)) monitor_feed(c, cmd, c->argv, c->argc);
    cmd_stat *st = &w->cmdstats[cmd->id];
    __atomic_add_fetch(&st->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->usec, dur, __ATOMIC_RELAXED);
    if (c->error_in_reply) __atomic_add_fetch(&st->failed, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->stat_commands, 1, __ATOMIC_RELAXED);
}

void dispatch_call(client *c, const command *cmd) {
    /* A resolved command with a handler, on an open connection; inside
     * EXEC, within EXEC's transaction. */
    ASSERT(cmd && cmd->proc);
    ASSERT(!(c->flags & CLIENT_CLOSED));
    worker *w = c->owner;
    if (w->nested) {
        dispatch_call_nested(c, cmd);
        return;
    }
    /* Inside EXEC, persist.c collects the WAL record and blocked clients
     * are signalled after the one commit (multi.c); EXEC's own call set
     * the clock its transaction (and so every queued command) uses. */
    int in_exec = (c->flags & CLIENT_IN_EXEC) != 0;
    ASSERT(in_exec == (ks_txn_nest_outer() != NULL));
    /* CLIENT LIST shows the command being run as the client's last. */
    __atomic_store_n(&c->lastcmd, cmd, __ATOMIC_RELAXED);
    const ks_lookup_stats *ls = ks_thread_lookup_stats();
    uint64_t hits0 = ls->hits, misses0 = ls->misses;
    /* One wall-clock read per command: it times the command (INFO
     * commandstats) and is the clock of its transactions' expiry decisions
     * and WAL record (ks_txn_set_command_clock), as Redis caches one time
     * per command. In a batch the previous command's end is this
     * one's start. A wall clock stepped back yields 0, not a negative
     * duration. */
    int64_t start = !in_exec && batch_on && batch_end_us ? batch_end_us : ustime();
    if (pend.cmd && (pend.cmd != cmd || pend.w != w || (!cmd->key_first && !cmd->getkeys)))
        stats_flush();
    if (!in_exec) {
        ks_txn_set_command_clock(start / 1000);
        persist_command_begin(c);
    }
    tracking_command_begin(c);
    cmd->proc(c);
    /* Client-side caching: keys read, invalidations for c itself. */
    tracking_command_end(c, cmd, in_exec);
    if (!in_exec) {
        persist_command_end(c);
        /* Committed: the keys it made ready go to their blocked clients. */
        blocking_signal_flush();
        ks_txn_set_command_clock(0);
        /* Redis records the peak after each command (memory.h: a
         * cached figure, read from the allocator at most every 10 ms). */
        if (cmd->flags & CMD_WRITE) mem_peak_sample();
    }
    int64_t end = ustime();
    if (!in_exec && batch_on) batch_end_us = end;
    int64_t dur = end > start ? end - start : 0;
    /* Observability, from the same duration (slowlog.h, latency.h,
     * monitor.h): each costs one relaxed load and a compare unless on. A
     * command that blocked is logged when it is answered (blocking.c). */
    if (c->flags & CLIENT_BLOCKED)
        blocking_add_duration(c, dur);
    else if (dur >= __atomic_load_n(&server.slowlog_log_slower_than, __ATOMIC_RELAXED) &&
             __atomic_load_n(&server.slowlog_log_slower_than, __ATOMIC_RELAXED) >= 0)
        slowlog_push_if_needed(c, cmd, c->argv, c->argc, dur);
    if (__atomic_load_n(&server.latency_monitor_threshold, __ATOMIC_RELAXED))
        latency_add_sample_if_needed((cmd->flags & CMD_FAST) ? "fast-command" : "command",
                                     dur / 1000);
    /* (The WAL replay's worker has no histograms: start-up is not traffic.) */
    if (__atomic_load_n(&server.latency_tracking, __ATOMIC_RELAXED) && w->lathist)
        latency_track(w->lathist, w, cmd->id, (uint64_t)dur);
    if (monitor_active() && !(c->flags & CLIENT_CLOSED)) monitor_feed(c, cmd, c->argv, c->argc);
    /* Like Redis, only the lookups of read commands count as hits/misses. */
    uint64_t hits = 0, misses = 0;
    if (cmd->flags & CMD_READONLY) {
        hits = ls->hits - hits0;
        misses = ls->misses - misses0;
    }
    if (!in_exec && batch_on && !c->error_in_reply) {
        if (!pend.cmd) {
            pend.w = w;
            pend.cmd = cmd;
            pend.calls = pend.usec = pend.hits = pend.misses = 0;
        }
        pend.calls++;
        pend.usec += (uint64_t)dur;
        pend.hits += hits;
        pend.misses += misses;
        return;
    }
    stats_flush();
    if (hits) __atomic_add_fetch(&w->stat_keyspace_hits, hits, __ATOMIC_RELAXED);
    if (misses) __atomic_add_fetch(&w->stat_keyspace_misses, misses, __ATOMIC_RELAXED);
    cmd_stat *st = &w->cmdstats[cmd->id];
    __atomic_add_fetch(&st->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->usec, (uint64_t)dur, __ATOMIC_RELAXED);
    if (c->error_in_reply) __atomic_add_fetch(&st->failed, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->stat_commands, 1, __ATOMIC_RELAXED);
}

/* Redis's guard against cross-protocol scripting (securityWarningCommand):
 * a browser tricked into posting to the port sends "POST ..." and
 * "Host: ..." lines, which the inline parser reads as commands. Such a
 * client is closed at once — what it pipelined before gets no reply — and
 * the attempt is logged at most once a minute. Checked before the lookup,
 * so before authentication and MULTI queueing, as Redis does. */
static int is_http_request(const client *c) {
    const resp_arg *a = &c->argv[0];
    return arg_is(a, "post") || arg_is(a, "host:");
}

static void close_http_client(client *c) {
    static int64_t logged_ms; /* any thread: a lost update logs twice at most */
    int64_t now = mstime(), last = __atomic_load_n(&logged_ms, __ATOMIC_RELAXED);
    if (last == 0 || now - last > 60000) {
        __atomic_store_n(&logged_ms, now, __ATOMIC_RELAXED);
        serverLog(LL_WARNING,
                  "Possible SECURITY ATTACK detected. It looks like somebody is sending "
                  "POST or Host: commands to Redis. This is likely due to an attacker "
                  "attempting to use Cross Protocol Scripting to compromise your Redis "
                  "instance. Connection aborted.");
    }
    client_close(c);
}

int dispatch_command(client *c) {
    return dispatch_command_resolved(c, command_lookup(c->argv[0].ptr, c->argv[0].len));
}

static int dispatch_resolved(client *c, const command *cmd);

int dispatch_command_resolved(client *c, const command *cmd) {
    int rc = dispatch_resolved(c, cmd);
    /* ASKING lasts one command (Redis's resetClient), outside MULTI. */
    if ((c->flags & CLIENT_ASKING) && !(c->flags & CLIENT_MULTI) &&
        !(c->cmd && cluster_is_asking_command(c->cmd)))
        c->flags &= ~CLIENT_ASKING;
    return rc;
}

/* c's command waits for the end of the busy script that polls nested on
 * its thread: it runs again through the paused list (worker.c runs it at
 * the next before_wait, when no script runs). */
static int dispatch_wait_script(client *c) {
    worker *w = c->owner;
    c->flags |= CLIENT_BLOCKED_PAUSE;
    c->pnext = w->paused;
    w->paused = c;
    __atomic_add_fetch(&w->npaused, 1, __ATOMIC_RELAXED); /* one list, one count */
    w->nested_waiters = 1;
    return 1;
}

static int dispatch_resolved(client *c, const command *cmd) {
    /* One command at a time per client: arguments set, not inside another
     * command's EXEC, not closed, not blocked (its pipeline waits). */
    ASSERT(c->argc > 0 && c->argv != NULL);
    ASSERT(!(c->flags & (CLIENT_CLOSED | CLIENT_IN_EXEC | CLIENT_BLOCKED)));
    ASSERT(!(c->flags & CLIENT_MULTI) || c->mstate != NULL);
    worker *w = c->owner;
    c->cmd = cmd;
    c->error_in_reply = 0;
    if (!cmd && is_http_request(c)) {
        close_http_client(c);
        return 0;
    }
    if (!cmd) {
        reply_unknown_command(c);
        count_rejected(c, NULL);
        return 0;
    }
    if (cmd->subcommands && !(c->argc == 1 && cmd->proc)) {
        /* A container with a handler of its own (COMMAND) runs it when no
         * subcommand is given. */
        if (c->argc == 1) {
            addReplyErrorArity(c);
            count_rejected(c, cmd);
            return 0;
        }
        const command *sub = command_lookup_sub(cmd, c->argv[1].ptr, c->argv[1].len);
        if (!sub) {
            reply_unknown_subcommand(c, cmd);
            count_rejected(c, cmd);
            return 0;
        }
        cmd = sub;
        c->cmd = cmd;
    }
    /* A busy script's nested poll: what would unwatch c's keys (EXEC,
     * also when refused, DISCARD, UNWATCH) locks shards the script may
     * hold, so it waits for the script's end on the paused list. */
    if (w->nested && multi_watching(c) &&
        (multi_is_exec(cmd) || !strcmp(cmd->fullname, "discard") ||
         !strcmp(cmd->fullname, "unwatch")))
        return dispatch_wait_script(c);
    if (!command_arity_ok(cmd, c->argc)) {
        count_rejected(c, cmd);
        if (!multi_exec_rejected(c, cmd, "wrong number of arguments for 'exec' command"))
            addReplyErrorArity(c);
        return 0;
    }
    if ((cmd->flags & CMD_PROTECTED) && !protected_allowed(c, cmd)) {
        count_rejected(c, cmd);
        int debug = !strcmp(cmd->parent ? cmd->parent->name : cmd->name, "debug");
        addReplyErrorFormat(c,
                            "ERR %s command not allowed. If the %s option is set to \"local\", "
                            "you can run it from a local connection, otherwise you need to set "
                            "this option in the configuration file, and then restart the server.",
                            debug ? "DEBUG" : "MODULE",
                            debug ? "enable-debug-command" : "enable-module-command");
        return 0;
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !(cmd->flags & CMD_NO_AUTH) &&
        acl_auth_required()) {
        count_rejected(c, cmd);
        if (!multi_exec_rejected(c, cmd, "NOAUTH Authentication required."))
            addReplyError(c, "NOAUTH Authentication required.");
        return 0;
    }
    if (!acl_user_unrestricted(c->user)) {
        int pos, r = acl_check_command(c, cmd, c->argv, c->argc, &pos);
        if (r != ACL_OK) {
            count_rejected(c, cmd);
            /* CLIENT LIST (and the log's client-info) show the command
             * refused, as Redis sets lastcmd at lookup. */
            __atomic_store_n(&c->lastcmd, cmd, __ATOMIC_RELAXED);
            if (cmd->proc && multi_is_exec(cmd)) {
                /* EXEC refused: the transaction is discarded (Redis's
                 * execCommandAbort). */
                char reason[128];
                snprintf(reason, sizeof(reason),
                         "NOPERM this user has no permissions to run the '%s' command",
                         cmd->fullname);
                acl_log_denied(c, r, ACL_LOG_CTX_MULTI, pos, NULL, 0);
                multi_exec_rejected(c, cmd, reason);
            } else {
                acl_reply_denied(c, r, pos);
            }
            return 0;
        }
    }
    /* Cluster mode: a command with keys (or EXEC) runs only where its slot
     * is served (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN otherwise),
     * also while queued in MULTI, as Redis checks before queueing. */
    /* A busy script's nested poll (worker_poll_nested) answers -BUSY
     * without the checks that read the keyspace, whose locks the script
     * may hold (Redis skips the OOM check while busy too). */
    if (server.cluster_enabled && !w->nested && cluster_redirect(c, cmd)) {
        count_rejected(c, cmd);
        return 0;
    }
    if (persist_reject(c, cmd)) {
        count_rejected(c, cmd);
        return 0;
    }
    if (repl_reject(c, cmd)) {
        count_rejected(c, cmd);
        return 0;
    }
    if (server_cfg(maxmemory) && !w->nested && evict_reject(c, cmd)) {
        count_rejected(c, cmd);
        return 0;
    }
    int busy = script_reject_busy(c, cmd);
    if (busy == SCRIPT_BUSY_WAIT) return dispatch_wait_script(c);
    if (busy) {
        count_rejected(c, cmd);
        return 0;
    }
    if (pubsub_reject_command(c, cmd)) {
        count_rejected(c, cmd);
        return 0;
    }
    /* The start-up load (loading.h): only `loading` commands, as Redis;
     * DEBUG only to look (SLEEP, LOG, HELP...), never to change data. */
    if (loading_active() && !(c->flags & CLIENT_LOADER) &&
        (!(cmd->flags & CMD_LOADING) || loading_denies_debug(c, cmd))) {
        count_rejected(c, cmd);
        if (!multi_exec_rejected(c, cmd, LOADING_ERR)) addReplyError(c, LOADING_ERR);
        return 0;
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        addReplyError(c, "ERR Command not allowed inside a transaction");
        count_rejected(c, cmd);
        return 0;
    }
    if (multi_queue(c, cmd)) return 0;
    if (dispatch_pause_applies(c, cmd, c->argv, c->argc) && !(c->flags & CLIENT_MASTER)) {
        c->flags |= CLIENT_BLOCKED_PAUSE;
        c->pnext = w->paused;
        w->paused = c;
        __atomic_add_fetch(&w->npaused, 1, __ATOMIC_RELAXED);
        return 1;
    }

    if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= ~CLIENT_REPLY_SKIP_NEXT;
        c->flags |= CLIENT_REPLY_SKIP;
    }
    dispatch_call(c, cmd);
    c->flags &= ~CLIENT_REPLY_SKIP;
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) client_queue_write(c);
    return 0;
}
