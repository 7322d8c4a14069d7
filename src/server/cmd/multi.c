/*
 * multi: MULTI / EXEC / DISCARD / WATCH / UNWATCH (see multi.h).
 *
 * Owns: a client's queued commands and watched keys (struct multi_state,
 * allocated on the first MULTI or WATCH and freed when both are empty), the
 * lock set of an EXEC (built with keyset.h), and the command table of the
 * family.
 * Invariants: CLIENT_MULTI <=> c->mstate && the client is between MULTI and
 * EXEC/DISCARD; every watched key is registered exactly once in the engine
 * (ks_watch_add) and removed when the client unwatches, runs EXEC or
 * DISCARD, resets or closes.
 * Called by: dispatch (queueing, rejections), cmd_conn (RESET), client
 * (close, free), the command table.
 */
#include "server/acl.h"
#include "server/cmd/multi.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/cmd/keyset.h"
#include "server/log.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"

typedef struct queued_cmd {
    const command *cmd;
    int argc;
    resp_arg *argv; /* one block: the array, then the argument bytes */
} queued_cmd;

typedef struct watched_key {
    int db;
    uint64_t since; /* ks_watch_add's version moment */
    int live;       /* the key existed (unexpired) at WATCH */
    size_t klen;
    char *key;
} watched_key;

typedef struct multi_state {
    queued_cmd *cmds;
    int count, cap;
    size_t bytes;  /* queued argument bytes + overhead */
    int dirty;     /* a command failed to queue: EXEC aborts */
    watched_key *watched;
    int nwatched, capwatched;
} multi_state;

static multi_state *mstate_get(client *c) {
    if (!c->mstate) c->mstate = lt_xcalloc(1, sizeof(multi_state));
    return c->mstate;
}

static void publish_count(client *c) {
    multi_state *ms = c->mstate;
    __atomic_store_n(&c->pub.multi, ms ? ms->count : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.multi_mem, ms ? ms->bytes : 0, __ATOMIC_RELAXED);
}

/* Frees the state once nothing is queued or watched. */
static void mstate_release_if_empty(client *c) {
    multi_state *ms = c->mstate;
    if (!ms || (c->flags & CLIENT_MULTI) || ms->nwatched) return;
    free(ms->cmds);
    free(ms->watched);
    free(ms);
    c->mstate = NULL;
}

/* Ends the MULTI state: the queue is dropped (watched keys stay). */
static void discard_queue(client *c) {
    multi_state *ms = c->mstate;
    if (ms) {
        for (int i = 0; i < ms->count; i++) free(ms->cmds[i].argv);
        free(ms->cmds);
        ms->cmds = NULL;
        ms->count = ms->cap = 0;
        ms->bytes = 0;
        ms->dirty = 0;
    }
    c->flags &= ~CLIENT_MULTI;
    publish_count(c);
    mstate_release_if_empty(c);
    ASSERT(!c->mstate || c->mstate->nwatched > 0);
}

/* ---- WATCH ----------------------------------------------------------------- */

static int is_watched(const multi_state *ms, int db, const resp_arg *key) {
    for (int i = 0; i < ms->nwatched; i++)
        if (ms->watched[i].db == db && ms->watched[i].klen == key->len &&
            memcmp(ms->watched[i].key, key->ptr, key->len) == 0)
            return 1;
    return 0;
}

static void watch_key(client *c, const resp_arg *key) {
    ASSERT(!(c->flags & CLIENT_MULTI));
    multi_state *ms = mstate_get(c);
    if (is_watched(ms, c->db, key)) return; /* the first WATCH's version */
    if (ms->nwatched == ms->capwatched) {
        ms->capwatched = ms->capwatched ? ms->capwatched * 2 : 4;
        ms->watched = lt_xrealloc(ms->watched, (size_t)ms->capwatched * sizeof(*ms->watched));
    }
    watched_key *w = &ms->watched[ms->nwatched++];
    w->db = c->db;
    w->klen = key->len;
    w->key = lt_xmalloc(key->len ? key->len : 1);
    memcpy(w->key, key->ptr, key->len);
    ks_key k = {.dbid = (unsigned)w->db, .key = w->key, .klen = w->klen};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, &k, 1);
    w->since = ks_watch_add(&txn, k.dbid, w->key, w->klen, &w->live);
    ks_txn_commit(&txn);
}

/* Unregisters every watched key. txn: a transaction holding their shards
 * (EXEC's), or NULL to lock each in turn. */
static void unwatch_all(client *c, ks_txn *txn) {
    multi_state *ms = c->mstate;
    if (!ms) return;
    for (int i = 0; i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        if (txn) {
            ks_watch_remove(txn, (unsigned)w->db, w->key, w->klen);
        } else {
            ks_key k = {.dbid = (unsigned)w->db, .key = w->key, .klen = w->klen};
            ks_txn t;
            ks_txn_begin(&t, server.db, &k, 1);
            ks_watch_remove(&t, k.dbid, w->key, w->klen);
            ks_txn_commit(&t);
        }
        free(w->key);
    }
    ms->nwatched = 0;
    mstate_release_if_empty(c);
}

/* ---- Queueing -------------------------------------------------------------- */

static int runs_inside_multi(const command *cmd);

int multi_queue(client *c, const command *cmd) {
    if (!(c->flags & CLIENT_MULTI) || runs_inside_multi(cmd)) return 0;
    multi_state *ms = c->mstate;
    ASSERT(ms != NULL && ms->count <= ms->cap); /* CLIENT_MULTI => mstate */
    size_t bytes = sizeof(resp_arg) * (size_t)c->argc;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    if (ms->bytes + bytes + sizeof(queued_cmd) + c->qlen >
        (size_t)server.client_query_buffer_limit) {
        serverLog(LL_WARNING,
                  "Closing client that reached max query buffer length: id=%llu addr=%s "
                  "qbuf=%zu multi-mem=%zu",
                  (unsigned long long)c->id, c->addr, c->qlen, ms->bytes);
        client_close(c);
        return 1;
    }
    if (ms->count == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 8;
        ms->cmds = lt_xrealloc(ms->cmds, (size_t)ms->cap * sizeof(*ms->cmds));
    }
    queued_cmd *q = &ms->cmds[ms->count++];
    q->cmd = cmd;
    q->argc = c->argc;
    q->argv = lt_xmalloc(bytes ? bytes : 1);
    char *p = (char *)(q->argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        q->argv[i].ptr = p;
        q->argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    ms->bytes += bytes + sizeof(queued_cmd);
    publish_count(c);
    addReplyStatus(c, "QUEUED");
    return 1;
}

void multi_flag_error(client *c) {
    if (c->flags & CLIENT_MULTI) c->mstate->dirty = 1;
}

void multi_reset(client *c) {
    discard_queue(c);
    unwatch_all(c, NULL);
}

void multi_client_close(client *c) { multi_reset(c); }

int multi_watching(const client *c) { return c->mstate && c->mstate->nwatched > 0; }

void multi_client_free(client *c) {
    multi_state *ms = c->mstate;
    if (!ms) return;
    for (int i = 0; i < ms->count; i++) free(ms->cmds[i].argv);
    for (int i = 0; i < ms->nwatched; i++) free(ms->watched[i].key);
    free(ms->cmds);
    free(ms->watched);
    free(ms);
    c->mstate = NULL;
}

/* ---- EXEC's lock set --------------------------------------------------------- */

/* Begins txn over everything the queued commands and watched keys need:
 * keyset.h's union, following the SELECTs inside the transaction. The
 * keyset borrows the watched and queued key bytes, which outlive txn. */
static void exec_begin(client *c, ks_txn *txn) {
    multi_state *ms = c->mstate;
    cmd_keyset ks;
    keyset_init(&ks);
    for (int i = 0; i < ms->nwatched; i++)
        keyset_add_key(&ks, (unsigned)ms->watched[i].db, ms->watched[i].key,
                       ms->watched[i].klen);
    int db = c->db;
    for (int i = 0; i < ms->count && !ks.all; i++)
        db = keyset_add_command(&ks, ms->cmds[i].cmd, ms->cmds[i].argv, ms->cmds[i].argc, db);
    keyset_begin(&ks, txn);
    keyset_free(&ks);
}

/* Whether the queued command q, about to run in c's current database, is
 * inside txn's lock set (always, when exec_begin and the table agree; the
 * check makes a disagreement an error reply instead of touching a shard
 * nobody locked). */
static int exec_covers(client *c, const queued_cmd *q, ks_txn *txn) {
    cmd_keyset ks;
    keyset_init(&ks);
    keyset_add_command(&ks, q->cmd, q->argv, q->argc, c->db);
    int ok = keyset_covered(&ks, txn);
    keyset_free(&ks);
    return ok;
}

/* ---- Commands ---------------------------------------------------------------- */

static void multiCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        addReplyError(c, "ERR MULTI calls can not be nested");
        return;
    }
    mstate_get(c);
    c->flags |= CLIENT_MULTI;
    publish_count(c);
    addReplyOK(c);
}

static void discardCommand(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        addReplyError(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_reset(c);
    addReplyOK(c);
}

static void watchCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        addReplyError(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) watch_key(c, &c->argv[i]);
    addReplyOK(c);
}

static void unwatchCommand(client *c) {
    unwatch_all(c, NULL);
    addReplyOK(c);
}

static int watched_changed(client *c, ks_txn *txn) {
    multi_state *ms = c->mstate;
    for (int i = 0; i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        if (ks_watch_changed(txn, (unsigned)w->db, w->key, w->klen, w->since, w->live))
            return 1;
    }
    return 0;
}

static void execCommand(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        addReplyError(c, "ERR EXEC without MULTI");
        return;
    }
    multi_state *ms = c->mstate;
    ASSERT(ms != NULL && !(c->flags & CLIENT_IN_EXEC) && ks_txn_nest_outer() == NULL);
    if (ms->dirty) {
        addReplyError(c, "EXECABORT Transaction discarded because of previous errors.");
        multi_reset(c);
        return;
    }
    ks_txn txn;
    exec_begin(c, &txn);
    if (watched_changed(c, &txn)) {
        unwatch_all(c, &txn);
        ks_txn_commit(&txn);
        discard_queue(c);
        addReplyNullArray(c);
        return;
    }
    unwatch_all(c, &txn);
    ms = c->mstate; /* still there: CLIENT_MULTI keeps it */
    ASSERT(ms != NULL && ms->nwatched == 0);
    const command *exec_cmd = c->cmd;
    int argc = c->argc;
    resp_arg *argv = c->argv;
    c->flags |= CLIENT_IN_EXEC;
    ks_txn_nest_enter(&txn);
    persist_exec_begin(c);
    addReplyArrayLen(c, ms->count);
    for (int i = 0; i < ms->count; i++) {
        queued_cmd *q = &ms->cmds[i];
        c->argc = q->argc;
        c->argv = q->argv;
        c->cmd = q->cmd;
        c->error_in_reply = 0;
        uint32_t nwrites = txn.nwrites;
        persist_exec_cmd_begin(c);
        /* Permissions are checked again: ACL rules may have changed since
         * the command was queued (Redis's execCommand). */
        int acl_pos, acl_r = acl_check_command(c, q->cmd, q->argv, q->argc, &acl_pos);
        if (acl_r != ACL_OK) {
            /* The log's client-info names EXEC, as Redis's. */
            __atomic_store_n(&c->lastcmd, exec_cmd, __ATOMIC_RELAXED);
            acl_log_denied(c, acl_r, ACL_LOG_CTX_MULTI, acl_pos, NULL, 0);
            addReplyErrorFormat(c,
                                "NOPERM ACLs rules changed between the moment the transaction "
                                "was accumulated and the EXEC call. This command is no longer "
                                "allowed for the following reason: %s",
                                acl_exec_denied_reason(acl_r));
        } else if (exec_covers(c, q, &txn)) {
            dispatch_call(c, q->cmd);
        } else {
            serverLog(LL_WARNING, "EXEC: '%s' would touch keys outside the transaction's lock set",
                      q->cmd->fullname);
            addReplyErrorFormat(c, "ERR '%s' would touch keys outside the transaction's lock set",
                                q->cmd->fullname);
        }
        persist_exec_cmd_end(c, txn.nwrites != nwrites);
    }
    ASSERT(c->mstate == ms && (c->flags & CLIENT_MULTI)); /* no queued command ends MULTI */
    ks_txn_nest_leave(&txn);
    ks_txn_commit(&txn); /* one WAL record for all of it */
    persist_exec_end(c);
    c->flags &= ~CLIENT_IN_EXEC;
    c->argc = argc;
    c->argv = argv;
    c->cmd = exec_cmd;
    c->error_in_reply = 0;
    __atomic_store_n(&c->lastcmd, exec_cmd, __ATOMIC_RELAXED);
    discard_queue(c);
}

int multi_exec_denyoom(client *c, const command *cmd) {
    /* Inside MULTI, queueing takes memory: Redis refuses every command but
     * these under OOM. */
    if ((c->flags & CLIENT_MULTI) && cmd->proc != execCommand && cmd->proc != discardCommand &&
        cmd->proc != quitCommand && cmd->proc != resetCommand)
        return 1;
    if (cmd->proc != execCommand || !c->mstate) return 0;
    for (int i = 0; i < c->mstate->count; i++)
        if (c->mstate->cmds[i].cmd->flags & CMD_DENYOOM) return 1;
    return 0;
}

int multi_is_exec(const command *cmd) { return cmd->proc == execCommand; }

int multi_exec_rejected(client *c, const command *cmd, const char *err) {
    if (cmd->proc != execCommand) return 0;
    multi_reset(c);
    addReplyErrorFormat(c, "EXECABORT Transaction discarded because of: %s", err);
    return 1;
}

int multi_queued_at(client *c, int i, const command **cmd, int *argc, const resp_arg **argv) {
    multi_state *ms = c->mstate;
    if (!ms || i < 0 || i >= ms->count) return 0;
    *cmd = ms->cmds[i].cmd;
    *argc = ms->cmds[i].argc;
    *argv = ms->cmds[i].argv;
    return 1;
}

static int runs_inside_multi(const command *cmd) {
    return cmd->proc == execCommand || cmd->proc == discardCommand ||
           cmd->proc == multiCommand || cmd->proc == watchCommand ||
           cmd->proc == quitCommand || cmd->proc == resetCommand;
}

#define TXN_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

command multi_commands[] = {
    {.name = "multi", .proc = multiCommand, .arity = 1,
     .flags = TXN_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, .acl = ACL_FAST | ACL_TRANSACTION,
     .group = "transactions", .since = "1.2.0", .complexity = "O(1)",
     .summary = "Starts a transaction: the following commands are queued."},
    {.name = "exec", .proc = execCommand, .arity = 1, .flags = TXN_FLAGS | CMD_SKIP_SLOWLOG,
     .acl = ACL_SLOW | ACL_TRANSACTION, .group = "transactions", .since = "1.2.0",
     .complexity = "Depends on commands in the transaction",
     .summary = "Runs the queued commands atomically, unless a watched key changed."},
    {.name = "discard", .proc = discardCommand, .arity = 1,
     .flags = TXN_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, .acl = ACL_FAST | ACL_TRANSACTION,
     .group = "transactions", .since = "2.0.0",
     .complexity = "O(N), when N is the number of queued commands",
     .summary = "Drops the queued commands and the watched keys."},
    {.name = "watch", .proc = watchCommand, .arity = -2,
     .flags = TXN_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, .acl = ACL_FAST | ACL_TRANSACTION,
     .key_first = 1, .key_last = -1, .key_step = 1, .key_flags = "RO",
     .group = "transactions", .since = "2.2.0", .complexity = "O(1) for every key.",
     .summary = "Makes the next EXEC fail if one of these keys changes before it."},
    {.name = "unwatch", .proc = unwatchCommand, .arity = 1,
     .flags = TXN_FLAGS | CMD_FAST | CMD_ALLOW_BUSY, .acl = ACL_FAST | ACL_TRANSACTION,
     .group = "transactions", .since = "2.2.0", .complexity = "O(1)",
     .summary = "Forgets every watched key."},
    {0},
};
