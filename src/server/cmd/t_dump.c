/*
 * t_dump: moving single values in Redis's serialized form — DUMP, RESTORE,
 * RESTORE-ASKING (and MIGRATE, in migrate.c, which uses both).
 *
 * The payload is the RDB encoding of the value followed by the RDB version
 * and a CRC64 (src/engine/rdb.h), byte-compatible with Redis 7.0: a payload
 * DUMPed by Redis RESTOREs here and the other way round. Replies and the
 * order in which RESTORE checks its arguments are Redis 7.0.15's
 * restoreCommand: options, then BUSYKEY, then the TTL, then the payload's
 * footer ("DUMP payload version or checksum are wrong"), then its contents
 * ("Bad data format").
 *
 * Logging: RESTORE with a relative TTL logs its arguments with the TTL
 * made absolute and ABSTTL appended (as Redis propagates it), so a replay
 * restores the same expiry; a RESTORE whose TTL has already passed logs
 * the DEL of the key it replaced (or nothing).
 *
 * Called by: dispatch (through dump_commands[]).
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/rdb.h"
#include "server/cmd/t_dump.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

/* ---- DUMP ------------------------------------------------------------------- */

int dump_key_payload(ks_txn *txn, unsigned dbid, const char *key, size_t klen, int flags,
                     rdb_buf *out, int64_t *expire_ms) {
    const ks_entry *e = ks_lookup(txn, dbid, key, klen, flags);
    if (!e) return LT_NOTFOUND;
    if (expire_ms) *expire_ms = ks_entry_expire_ms(e);
    return rdb_dump_payload(out, e);
}

static void dumpCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_key k = {(unsigned)c->db, key->ptr, key->len};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, &k, 1);
    rdb_buf b = {0};
    int rc = dump_key_payload(&txn, (unsigned)c->db, key->ptr, key->len, 0, &b, NULL);
    ks_txn_commit(&txn);
    if (rc == LT_NOTFOUND) addReplyNull(c);
    else if (rc != LT_OK) addReplyError(c, "ERR this value type cannot be serialized yet");
    else addReplyBulk(c, (const char *)b.p, b.len);
    free(b.p);
}

/* ---- RESTORE ------------------------------------------------------------------- */

static void restoreGenericCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    int replace = 0, absttl = 0;
    long long ttl, lru_idle = -1, lfu_freq = -1;
    for (int j = 4; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(&c->argv[j], "absttl")) {
            absttl = 1;
        } else if (arg_is(&c->argv[j], "idletime") && additional >= 1 && lfu_freq == -1) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &lru_idle, NULL) < 0) return;
            if (lru_idle < 0) {
                addReplyError(c, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(&c->argv[j], "freq") && additional >= 1 && lru_idle == -1) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &lfu_freq, NULL) < 0) return;
            if (lfu_freq < 0 || lfu_freq > 255) {
                addReplyError(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    unsigned db = (unsigned)c->db;
    ks_key k = {db, key->ptr, key->len};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, &k, 1);
    if (!replace && ks_lookup(&txn, db, key->ptr, key->len, KS_LOOKUP_NOTOUCH)) {
        ks_txn_commit(&txn);
        addReplyError(c, "BUSYKEY Target key name already exists.");
        return;
    }
    if (arg_ll_or_reply(c, &c->argv[2], &ttl, NULL) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    if (ttl < 0) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const resp_arg *payload = &c->argv[3];
    if (!rdb_payload_verify(payload->ptr, payload->len)) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    rdb_value v;
    rdb_problem pb;
    if (rdb_payload_decode(payload->ptr, payload->len, &v, &pb) != LT_OK) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR Bad data format");
        return;
    }
    int deleted = replace && ks_delete(&txn, db, key->ptr, key->len) == LT_OK;
    if (ttl && !absttl) ttl += txn.now_ms;
    if (ttl && ttl <= txn.now_ms) {
        /* Already expired: nothing is created (the old key, if replaced, is
         * gone: that is what gets logged). */
        rdb_value_free(&v);
        if (deleted) {
            resp_arg argv[2] = {{"DEL", 3}, *key};
            persist_rewrite(c, 2, argv);
        }
        ks_txn_commit(&txn);
        addReplyOK(c);
        return;
    }
    ks_entry *e = rdb_value_install(&txn, db, key->ptr, key->len, &v, ttl ? ttl : KS_EXPIRE_NONE);
    if (lru_idle >= 0 || lfu_freq >= 0) ks_entry_restore_access(e, txn.now_ms, lru_idle, (int)lfu_freq);
    /* A relative TTL is logged absolute, as Redis propagates it: the same
     * arguments with the TTL replaced and ABSTTL appended. */
    if (ttl && !absttl) {
        char ttlbuf[LT_LLSTR_SIZE];
        resp_arg *argv = lt_xmalloc(sizeof(*argv) * (size_t)(c->argc + 1));
        memcpy(argv, c->argv, sizeof(*argv) * (size_t)c->argc);
        argv[2] = (resp_arg){ttlbuf, (size_t)lt_ll2string(ttlbuf, sizeof(ttlbuf), ttl)};
        argv[c->argc] = (resp_arg){"ABSTTL", 6};
        persist_rewrite(c, c->argc + 1, argv);
        free(argv);
    }
    ks_txn_commit(&txn);
    addReplyOK(c);
}

static void restoreCommand(client *c) { restoreGenericCommand(c); }
/* RESTORE-ASKING: what MIGRATE sends to a cluster node importing a slot;
 * without cluster mode it is RESTORE. */
static void restoreAskingCommand(client *c) { restoreGenericCommand(c); }

#define RESTORE_COMPLEXITY                                                                    \
    "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, " \
    "where N is the number of Redis objects composing the value and M their average size. "  \
    "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "   \
    "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "     \
    "inserting values into sorted sets is O(log(N))."

command dump_commands[] = {
    {.name = "dump", .proc = dumpCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_KEYSPACE | ACL_READ | ACL_SLOW, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RO access", .group = "generic", .since = "2.6.0",
     .complexity = "O(1) to access the key and additional O(N*M) to serialize it, where N is "
                   "the number of Redis objects composing the value and M their average size. "
                   "For small string values the time complexity is thus O(1)+O(1*M) where M is "
                   "small, so simply O(1).",
     .tips = "nondeterministic_output",
     .summary = "Returns a serialized (RDB) form of a key's value."},
    {.name = "restore", .proc = restoreCommand, .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, .key_first = 1, .key_last = 1,
     .key_step = 1, .key_flags = "OW update", .group = "generic", .since = "2.6.0",
     .complexity = RESTORE_COMPLEXITY,
     .summary = "Creates a key from the serialized form DUMP produced."},
    {.name = "restore-asking", .proc = restoreAskingCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_ASKING,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, .key_first = 1, .key_last = 1,
     .key_step = 1, .key_flags = "OW update", .group = "server", .since = "3.0.0",
     .complexity = RESTORE_COMPLEXITY,
     .summary = "RESTORE as MIGRATE sends it to a node importing the key's slot."},
    {0},
};
