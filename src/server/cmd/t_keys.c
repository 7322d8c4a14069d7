/*
 * t_keys: the generic key commands — existence and deletion (DEL, UNLINK,
 * EXISTS, TOUCH, TYPE), moving values between keys and databases (RENAME,
 * RENAMENX, COPY, MOVE, SWAPDB), iteration (KEYS, SCAN, RANDOMKEY), expiry
 * (EXPIRE family, TTL family, PERSIST) and introspection (OBJECT; MEMORY
 * is cmd_memory.c).
 *
 * Every handler replies exactly as Redis 7.0.15 does, including the order
 * in which arguments are validated (which error wins when several apply).
 * Each command runs as one engine transaction over its keys: begun after
 * the arguments that need no key were parsed, committed on every path.
 * Iteration never holds a whole database: KEYS reads an MVCC view (each key
 * exactly once, the database at one moment), SCAN and RANDOMKEY the
 * engine's lock-one-shard-at-a-time scan (Redis's SCAN guarantees). Inside
 * EXEC all three run under the transaction's whole-database lock (table
 * scope DB, keyset.h). COPY, MOVE and SWAPDB name their lock sets for EXEC
 * with keyset callbacks next to their handlers.
 *
 * Called by: dispatch (through keys_commands[]); the two pure parsers below
 * are also exercised by tests/unit/test_keys.c.
 */
#include "server/cmd/notify.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/keyset.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/evict.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"
#include "engine/txn.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"

/* ---- Pure parsers (unit-tested) ------------------------------------------ */

#define EXPIRE_NX 0x1
#define EXPIRE_XX 0x2
#define EXPIRE_GT 0x4
#define EXPIRE_LT 0x8

enum {
    EXPIRE_OPTS_OK = 0,
    EXPIRE_OPTS_UNSUPPORTED = -1, /* argv[*bad] is not an option */
    EXPIRE_OPTS_NX_CONFLICT = -2, /* NX with XX, GT or LT */
    EXPIRE_OPTS_GT_LT = -3,       /* GT with LT */
};

/* Parses the NX/XX/GT/LT options of EXPIRE and friends, argv[first..argc),
 * as Redis 7.0's parseExtendedExpireArgumentsOrReply: every word is checked
 * first, the combinations after. Returns EXPIRE_OPTS_OK with *flags, or an
 * EXPIRE_OPTS_* error (*bad = index of an unsupported word). */
int keys_parse_expire_opts(const resp_arg *argv, int argc, int first,
                           int *flags, int *bad) {
    int f = 0;
    for (int j = first; j < argc; j++) {
        if (arg_is(&argv[j], "nx")) f |= EXPIRE_NX;
        else if (arg_is(&argv[j], "xx")) f |= EXPIRE_XX;
        else if (arg_is(&argv[j], "gt")) f |= EXPIRE_GT;
        else if (arg_is(&argv[j], "lt")) f |= EXPIRE_LT;
        else {
            *bad = j;
            return EXPIRE_OPTS_UNSUPPORTED;
        }
    }
    if ((f & EXPIRE_NX) && (f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)))
        return EXPIRE_OPTS_NX_CONFLICT;
    if ((f & EXPIRE_GT) && (f & EXPIRE_LT)) return EXPIRE_OPTS_GT_LT;
    *flags = f;
    return EXPIRE_OPTS_OK;
}

/* ---- Argument helpers (reply on error, return -1) ---------------------- */

/* A database index argument as MOVE and COPY ... DB take it. */
static int arg_dbid_or_reply(client *c, const resp_arg *a, unsigned *dbid) {
    int id;
    if (arg_int_or_reply(c, a, &id, NULL) < 0) return -1;
    if (id < 0 || id >= server.databases) {
        addReplyError(c, "ERR DB index is out of range");
        return -1;
    }
    *dbid = (unsigned)id;
    return 0;
}

/* ---- DEL UNLINK EXISTS TOUCH TYPE ----------------------------------------- */

/* DEL and UNLINK: UNLINK (and DEL under lazyfree-lazy-user-del) hands
 * big values to the engine's lazy-free thread instead of freeing them
 * under the shard lock (engine/lazyfree.h). */
static void delGenericCommand(client *c, int lazy) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (lazy) ks_txn_set_lazyfree(&txn, KS_LAZYFREE_ALWAYS);
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++)
        if (ks_delete(&txn, (unsigned)c->db, c->argv[j].ptr, c->argv[j].len) == LT_OK) {
            notify_key(NOTIFY_GENERIC, "del", &c->argv[j], c->db);
            deleted++;
        }
    ks_txn_commit(&txn);
    addReplyLongLong(c, deleted);
}

static void delCommand(client *c) {
    delGenericCommand(c, __atomic_load_n(&server.lazyfree_lazy_user_del, __ATOMIC_RELAXED));
}
static void unlinkCommand(client *c) { delGenericCommand(c, 1); }

/* EXISTS (no LRU update) and TOUCH (LRU update): live keys among the
 * arguments, a repeated key counted each time. */
static void countExistingGenericCommand(client *c, int lookup_flags) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    long long count = 0;
    for (int j = 1; j < c->argc; j += KS_PREFETCH_MAX) {
        int end = c->argc - j > KS_PREFETCH_MAX ? j + KS_PREFETCH_MAX : c->argc;
        engine_prefetch_args(c, &txn, j, end - j); /* misses overlap */
        for (int k = j; k < end; k++)
            if (ks_lookup(&txn, (unsigned)c->db, c->argv[k].ptr, c->argv[k].len, lookup_flags))
                count++;
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, count);
}

static void existsCommand(client *c) { countExistingGenericCommand(c, KS_LOOKUP_NOTOUCH); }
static void touchCommand(client *c) { countExistingGenericCommand(c, 0); }

static void typeCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[1].ptr, c->argv[1].len,
                            KS_LOOKUP_NOTOUCH);
    addReplyStatus(c, e ? ks_entry_type_name(e) : "none");
    ks_txn_commit(&txn);
}

/* ---- RENAME RENAMENX COPY MOVE SWAPDB ------------------------------------- */

static void renameGenericCommand(client *c, int nx) {
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (!ks_lookup(&txn, db, src->ptr, src->len, 0)) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR no such key");
        return;
    }
    if (arg_eq(src, dst)) {
        ks_txn_commit(&txn);
        if (nx) addReplyLongLong(c, 0);
        else addReplyOK(c);
        return;
    }
    if (nx && ks_lookup(&txn, db, dst->ptr, dst->len, 0)) {
        ks_txn_commit(&txn);
        addReplyLongLong(c, 0);
        return;
    }
    ks_rename(&txn, db, src->ptr, src->len, db, dst->ptr, dst->len);
    notify_key(NOTIFY_NEW, "new", dst, c->db);
    notify_key(NOTIFY_GENERIC, "rename_from", src, c->db);
    notify_key(NOTIFY_GENERIC, "rename_to", dst, c->db);
    ks_txn_commit(&txn);
    if (nx) addReplyLongLong(c, 1);
    else addReplyOK(c);
}

static void renameCommand(client *c) { renameGenericCommand(c, 0); }
static void renamenxCommand(client *c) { renameGenericCommand(c, 1); }

/* Writes a copy of string entry e at (db, key) with the given expiry,
 * keeping its encoding as Redis's dupStringObject does: an int stays an
 * int, embstr stays embstr, raw stays raw (even when short). */
static void copy_string(ks_txn *txn, const ks_entry *e, unsigned db,
                        const resp_arg *key, int64_t expire_ms) {
    long long v;
    if (ks_entry_encoding(e) == KS_ENC_INT && ks_entry_get_int(e, &v)) {
        ks_set_int(txn, db, key->ptr, key->len, v, expire_ms);
        return;
    }
    int raw = strcmp(ks_entry_encoding_name(e), "raw") == 0;
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const char *p = ks_entry_str(e, buf, &len);
    ks_set_str(txn, db, key->ptr, key->len, p, len, expire_ms, KS_SET_NOINT);
    /* A short new string is embstr; resizing in place marks it raw. */
    if (raw && len <= KS_EMBSTR_MAX) ks_str_resize(txn, db, key->ptr, key->len, len);
}

/* Lock sets (keyset.h) of the commands naming another database: what the
 * handler below would touch for these arguments. */
static int copyKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    int dstdb = db;
    for (int j = 3; j + 1 < argc; j++)
        if (arg_is(&argv[j], "db") && keyset_parse_db(&argv[j + 1], &dstdb)) j++;
    keyset_add_key(ks, (unsigned)db, argv[1].ptr, argv[1].len);
    keyset_add_key(ks, (unsigned)dstdb, argv[2].ptr, argv[2].len);
    return db;
}

static int moveKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    (void)argc;
    int dstdb;
    keyset_add_key(ks, (unsigned)db, argv[1].ptr, argv[1].len);
    if (keyset_parse_db(&argv[2], &dstdb)) keyset_add_key(ks, (unsigned)dstdb, argv[1].ptr, argv[1].len);
    return db;
}

static int swapdbKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    (void)argc;
    int a, b;
    if (keyset_parse_db(&argv[1], &a) && keyset_parse_db(&argv[2], &b) && a != b) {
        keyset_add_db(ks, (unsigned)a);
        keyset_add_db(ks, (unsigned)b);
    }
    return db;
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void copyCommand(client *c) {
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    unsigned srcdb = (unsigned)c->db, dstdb = srcdb;
    int replace = 0;
    for (int j = 3; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(&c->argv[j], "db") && additional >= 1) {
            if (arg_dbid_or_reply(c, &c->argv[j + 1], &dstdb) < 0) return;
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (server.cluster_enabled && (srcdb != 0 || dstdb != 0)) {
        addReplyError(c, "ERR Copying to another database is not allowed in cluster mode");
        return;
    }
    if (srcdb == dstdb && arg_eq(src, dst)) {
        addReplyError(c, "ERR source and destination objects are the same");
        return;
    }
    ks_key keys[2] = {{srcdb, src->ptr, src->len}, {dstdb, dst->ptr, dst->len}};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, keys, 2);
    const ks_entry *e = ks_lookup(&txn, srcdb, src->ptr, src->len, 0);
    if (!e) {
        ks_txn_commit(&txn);
        addReplyLongLong(c, 0);
        return;
    }
    /* The destination lookup may delete an expired key in the source's
     * shard: look the source up again after it. */
    int exists = ks_lookup(&txn, dstdb, dst->ptr, dst->len, 0) != NULL;
    if (exists && !replace) {
        ks_txn_commit(&txn);
        addReplyLongLong(c, 0);
        return;
    }
    e = ks_lookup(&txn, srcdb, src->ptr, src->len, KS_LOOKUP_NOTOUCH);
    int64_t expire_ms = ks_entry_expire_ms(e);
    if (expire_ms < 0) expire_ms = KS_EXPIRE_NONE;
    if (ks_entry_type(e) == KS_TYPE_STRING)
        copy_string(&txn, e, dstdb, dst, expire_ms);
    else
        ks_set_obj(&txn, dstdb, dst->ptr, dst->len, ks_entry_type(e), ks_entry_obj_dup(e),
                   expire_ms);
    notify_key(NOTIFY_NEW, "new", dst, (int)dstdb);
    notify_key(NOTIFY_GENERIC, "copy_to", dst, (int)dstdb);
    ks_txn_commit(&txn);
    addReplyLongLong(c, 1);
}

/* MOVE key db */
static void moveCommand(client *c) {
    if (server.cluster_enabled) {
        addReplyError(c, "ERR MOVE is not allowed in cluster mode");
        return;
    }
    const resp_arg *key = &c->argv[1];
    unsigned srcdb = (unsigned)c->db, dstdb;
    if (arg_dbid_or_reply(c, &c->argv[2], &dstdb) < 0) return;
    if (srcdb == dstdb) {
        addReplyError(c, "ERR source and destination objects are the same");
        return;
    }
    ks_key keys[2] = {{srcdb, key->ptr, key->len}, {dstdb, key->ptr, key->len}};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, keys, 2);
    int moved = ks_lookup(&txn, srcdb, key->ptr, key->len, 0) != NULL &&
                ks_lookup(&txn, dstdb, key->ptr, key->len, 0) == NULL &&
                ks_rename(&txn, srcdb, key->ptr, key->len, dstdb, key->ptr,
                          key->len) == LT_OK;
    if (moved) {
        notify_key(NOTIFY_NEW, "new", key, (int)dstdb);
        notify_key(NOTIFY_GENERIC, "move_from", key, (int)srcdb);
        notify_key(NOTIFY_GENERIC, "move_to", key, (int)dstdb);
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, moved);
}

/* SWAPDB index1 index2 */
static void swapdbCommand(client *c) {
    int a, b;
    if (server.cluster_enabled) {
        addReplyError(c, "ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    if (arg_int_or_reply(c, &c->argv[1], &a, "ERR invalid first DB index") < 0) return;
    if (arg_int_or_reply(c, &c->argv[2], &b, "ERR invalid second DB index") < 0) return;
    if (a < 0 || a >= server.databases || b < 0 || b >= server.databases) {
        addReplyError(c, "ERR DB index is out of range");
        return;
    }
    if (a != b) {
        ks_txn txn;
        ks_txn_begin_dbs(&txn, server.db, (unsigned)a, (unsigned)b);
        ks_swap_db(&txn, (unsigned)a, (unsigned)b);
        ks_txn_commit(&txn);
    }
    addReplyOK(c);
}

/* ---- KEYS SCAN RANDOMKEY ---------------------------------------------------- */

/* Keys visited per engine scan step of KEYS (each step locks one shard). */
#define KEYS_SCAN_STEP 1024

typedef struct keys_ctx {
    client *c;
    const char *pat;
    size_t patlen;
    int allkeys;
    long long n;
} keys_ctx;

/* Replies each matching key right away: the reply code is not the engine,
 * so calling it under the shard lock is allowed. */
static void keys_on_entry(void *ctx, const ks_entry *e) {
    keys_ctx *k = ctx;
    size_t len;
    const char *key = ks_entry_key(e, &len);
    if (!k->allkeys && !lt_stringmatchlen(k->pat, k->patlen, key, len, 0)) return;
    addReplyBulk(k->c, key, len);
    k->n++;
}

/* KEYS pattern. Unbounded by design (Redis's KEYS walks the whole
 * database). The reply is the database at one moment, each key exactly
 * once: it reads an MVCC view (mvcc.h), so writers on other threads go on
 * (one shard is locked at a time, KEYS_SCAN_STEP keys per lock) and a key
 * a writer moves between shards meanwhile is seen where it was when the
 * view opened. Inside EXEC the transaction already holds the whole
 * database (multi.c): the walk runs under those locks and sees the
 * transaction's own writes. */
static void keysCommand(client *c) {
    keys_ctx k = {.c = c, .pat = c->argv[1].ptr, .patlen = c->argv[1].len};
    k.allkeys = k.patlen == 1 && k.pat[0] == '*';
    void *len = addReplyDeferredLen(c);
    if (ks_txn_nest_outer()) {
        uint64_t cursor = 0;
        do {
            cursor = ks_scan(server.db, (unsigned)c->db, cursor, KEYS_SCAN_STEP,
                             keys_on_entry, &k);
        } while (cursor != 0);
    } else {
        ks_view view;
        ks_view_iter it;
        ks_view_open(server.db, &view);
        ks_view_iter_init(&it, &view, (unsigned)c->db);
        while (ks_view_iter_next(&it, KEYS_SCAN_STEP, keys_on_entry, &k)) {
        }
        ks_view_iter_close(&it);
        ks_view_close(&view);
    }
    setDeferredArrayLen(c, len, k.n);
}

/* Keys of one SCAN call, packed as [size_t len][bytes] in one buffer. */
typedef struct scan_ctx {
    const char *pat;
    size_t patlen;
    int use_pattern;
    const resp_arg *type; /* NULL: any type */
    size_t visited;       /* keys the engine handed us, filtered or not */
    char *buf;
    size_t used, cap;
    long long n;
} scan_ctx;

static void scan_keep(scan_ctx *s, const char *key, size_t len) {
    size_t need = s->used + sizeof(size_t) + len;
    if (need > s->cap) {
        s->cap = need > s->cap * 2 ? need : s->cap * 2;
        s->buf = lt_xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->used, &len, sizeof(size_t));
    memcpy(s->buf + s->used + sizeof(size_t), key, len);
    s->used = need;
    s->n++;
}

static void scan_on_entry(void *ctx, const ks_entry *e) {
    scan_ctx *s = ctx;
    s->visited++;
    size_t len;
    const char *key = ks_entry_key(e, &len);
    if (s->use_pattern && !lt_stringmatchlen(s->pat, s->patlen, key, len, 0)) return;
    if (s->type) {
        const char *name = ks_entry_type_name(e);
        if (strlen(name) != s->type->len || strncasecmp(name, s->type->ptr, s->type->len))
            return;
    }
    scan_keep(s, key, len);
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void scanCommand(client *c) {
    uint64_t cursor;
    if (!keys_parse_cursor(c->argv[1].ptr, c->argv[1].len, &cursor)) {
        addReplyError(c, "ERR invalid cursor");
        return;
    }
    scan_ctx s = {0};
    long long count = 10;
    for (int i = 2; i < c->argc; i += 2) {
        int left = c->argc - i;
        if (arg_is(&c->argv[i], "count") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &count, NULL) < 0) return;
            if (count < 1) {
                addReplyErrorSyntax(c);
                return;
            }
        } else if (arg_is(&c->argv[i], "match") && left >= 2) {
            s.pat = c->argv[i + 1].ptr;
            s.patlen = c->argv[i + 1].len;
            s.use_pattern = !(s.patlen == 1 && s.pat[0] == '*');
        } else if (arg_is(&c->argv[i], "type") && left >= 2) {
            s.type = &c->argv[i + 1];
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    /* Like Redis: stop after count keys, at the end, or after a bounded
     * amount of work. An engine step stops after about 10 * count buckets
     * (so the hint must not overflow when multiplied) but counts every
     * shard it crosses, so an empty database would look unfinished after
     * one step: allow one step per shard at most. */
    size_t hint = (unsigned long long)count > SIZE_MAX / 10 ? SIZE_MAX / 10 : (size_t)count;
    unsigned steps = ks_shards_per_db(server.db);
    do {
        cursor = ks_scan(server.db, (unsigned)c->db, cursor, hint, scan_on_entry, &s);
    } while (cursor != 0 && s.visited < hint && --steps > 0);

    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, (long long)cursor);
    addReplyArrayLen(c, s.n);
    for (size_t off = 0; off < s.used;) {
        size_t len;
        memcpy(&len, s.buf + off, sizeof(size_t));
        addReplyBulk(c, s.buf + off + sizeof(size_t), len);
        off += sizeof(size_t) + len;
    }
    free(s.buf);
}

typedef struct random_ctx {
    char *key;
    size_t len;
} random_ctx;

static void random_on_entry(void *ctx, const ks_entry *e) {
    random_ctx *r = ctx;
    const char *key = ks_entry_key(e, &r->len);
    r->key = lt_xmalloc(r->len ? r->len : 1);
    memcpy(r->key, key, r->len);
}

static void randomkeyCommand(client *c) {
    random_ctx r = {0};
    if (ks_random_key(server.db, (unsigned)c->db, random_on_entry, &r) != LT_OK) {
        addReplyNull(c);
        return;
    }
    addReplyBulk(c, r.key, r.len);
    free(r.key);
}

/* ---- EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST -------------------------- */

/* relative: the time is added to now (the transaction's clock), else it
 * is a Unix time. unit_ms: 1000 for seconds, 1 for milliseconds. */
static void expireGenericCommand(client *c, int relative, long long unit_ms) {
    const resp_arg *key = &c->argv[1];
    int flags = 0, bad = 0;
    switch (keys_parse_expire_opts(c->argv, c->argc, 3, &flags, &bad)) {
    case EXPIRE_OPTS_UNSUPPORTED: {
        const char *opt = c->argv[bad].ptr;
        const char *nul = memchr(opt, '\0', c->argv[bad].len);
        size_t optlen = nul ? (size_t)(nul - opt) : c->argv[bad].len;
        addReplyErrorFormat(c, "ERR Unsupported option %.*s", (int)optlen, opt);
        return;
    }
    case EXPIRE_OPTS_NX_CONFLICT:
        addReplyError(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    case EXPIRE_OPTS_GT_LT:
        addReplyError(c, "ERR GT and LT options at the same time are not compatible");
        return;
    default: break;
    }
    long long when;
    if (arg_ll_or_reply(c, &c->argv[2], &when, NULL) < 0) return;

    ks_txn txn;
    engine_begin_cmd(c, &txn);
    long long basetime = relative ? (long long)txn.now_ms : 0;
    /* Negative times are allowed; only overflow is an error. */
    if (when > LLONG_MAX / unit_ms || when < LLONG_MIN / unit_ms ||
        when * unit_ms > LLONG_MAX - basetime) {
        ks_txn_commit(&txn);
        addReplyErrorFormat(c, "ERR invalid expire time in '%s' command", c->cmd->fullname);
        return;
    }
    when = when * unit_ms + basetime;

    unsigned db = (unsigned)c->db;
    ks_entry *e = ks_lookup(&txn, db, key->ptr, key->len, 0);
    int apply = e != NULL;
    if (apply && flags) {
        int64_t cur = ks_entry_expire_ms(e); /* -1: no expiry = infinite */
        if ((flags & EXPIRE_NX) && cur != -1) apply = 0;
        if ((flags & EXPIRE_XX) && cur == -1) apply = 0;
        if ((flags & EXPIRE_GT) && (cur == -1 || when <= cur)) apply = 0;
        if ((flags & EXPIRE_LT) && cur != -1 && when >= cur) apply = 0;
    }
    if (apply) {
        /* A time already past deletes the key (as a DEL, not an expiry). */
        if (when <= txn.now_ms) {
            ks_delete(&txn, db, key->ptr, key->len);
            notify_key(NOTIFY_GENERIC, "del", key, c->db);
            resp_arg argv[2] = {{(char *)"DEL", 3}, *key};
            persist_rewrite(c, 2, argv);
        } else {
            ks_set_expire(&txn, db, key->ptr, key->len, when);
            notify_key(NOTIFY_GENERIC, "expire", key, c->db);
            /* Logged as an absolute time, whatever form it came in; a
             * PEXPIREAT as sent (options included), as Redis does. */
            if (relative || unit_ms != 1) {
                char num[LT_LLSTR_SIZE];
                int n = snprintf(num, sizeof(num), "%lld", when);
                resp_arg argv[3] = {{(char *)"PEXPIREAT", 9}, *key, {num, (size_t)n}};
                persist_rewrite(c, 3, argv);
            }
        }
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, apply);
}

static void expireCommand(client *c) { expireGenericCommand(c, 1, 1000); }
static void pexpireCommand(client *c) { expireGenericCommand(c, 1, 1); }
static void expireatCommand(client *c) { expireGenericCommand(c, 0, 1000); }
static void pexpireatCommand(client *c) { expireGenericCommand(c, 0, 1); }

static void persistCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e = ks_lookup(&txn, (unsigned)c->db, key->ptr, key->len, 0);
    int removed = e && ks_entry_expire_ms(e) != -1;
    if (removed) {
        ks_set_expire(&txn, (unsigned)c->db, key->ptr, key->len, KS_EXPIRE_NONE);
        notify_key(NOTIFY_GENERIC, "persist", key, c->db);
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, removed);
}

/* ---- TTL PTTL EXPIRETIME PEXPIRETIME --------------------------------------- */

/* -2 no key, -1 no expiry; else the remaining (or absolute, when absolute)
 * time, never negative, in ms or rounded to the nearest second. */
static void ttlGenericCommand(client *c, int in_ms, int absolute) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[1].ptr, c->argv[1].len,
                            KS_LOOKUP_NOTOUCH);
    int64_t expire = e ? ks_entry_expire_ms(e) : -1;
    int64_t now = txn.now_ms;
    ks_txn_commit(&txn);
    if (!e) {
        addReplyLongLong(c, -2);
        return;
    }
    if (expire == -1) {
        addReplyLongLong(c, -1);
        return;
    }
    long long t = absolute ? expire : expire - now;
    if (t < 0) t = 0;
    /* Unsigned rounding: Redis's (t + 500) / 1000 near LLONG_MAX. */
    addReplyLongLong(c, in_ms ? t : (long long)(((unsigned long long)t + 500) / 1000));
}

static void ttlCommand(client *c) { ttlGenericCommand(c, 0, 0); }
static void pttlCommand(client *c) { ttlGenericCommand(c, 1, 0); }
static void expiretimeCommand(client *c) { ttlGenericCommand(c, 0, 1); }
static void pexpiretimeCommand(client *c) { ttlGenericCommand(c, 1, 1); }

/* ---- OBJECT MEMORY --------------------------------------------------------- */

/* OBJECT REFCOUNT: Lightning's values are not reference-counted — each
 * entry owns its value — so 1 is the truth for every key, as Redis reports
 * for an unshared object; except that Redis shares one object for the
 * integers 0..9999 (OBJ_SHARED_INTEGERS) and reports its refcount as
 * INT_MAX (OBJ_SHARED_REFCOUNT), which is what clients see from Redis and
 * so what we report for those values (documented in docs/ARCHITECTURE.md,
 * "Introspection"). */
#define SHARED_INTEGERS 10000

enum { OBJ_ENCODING, OBJ_REFCOUNT, OBJ_IDLETIME, OBJ_FREQ };

static void objectGenericCommand(client *c, int what) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[2].ptr, c->argv[2].len,
                            KS_LOOKUP_NOTOUCH);
    if (!e) {
        ks_txn_commit(&txn);
        addReplyNull(c);
        return;
    }
    long long v;
    switch (what) {
    case OBJ_ENCODING:
        addReplyBulkCString(c, ks_entry_encoding_name(e));
        break;
    case OBJ_REFCOUNT:
        addReplyLongLong(c, ks_entry_encoding(e) == KS_ENC_INT && ks_entry_get_int(e, &v) &&
                                    v >= 0 && v < SHARED_INTEGERS
                                ? INT_MAX
                                : 1);
        break;
    case OBJ_IDLETIME:
        /* The entry header keeps both, but Redis answers by policy. */
        if (ks_evict_policy_is_lfu(server_cfg(maxmemory_policy)))
            addReplyError(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                             "Please note that when switching between policies at runtime LRU "
                             "and LFU data will take some time to adjust.");
        else
            addReplyLongLong(c, (long long)ks_entry_idle_s(e, txn.now_ms));
        break;
    default:
        if (ks_evict_policy_is_lfu(server_cfg(maxmemory_policy)))
            addReplyLongLong(c, (long long)ks_entry_lfu(e, txn.now_ms));
        else
            addReplyError(c, "ERR An LFU maxmemory policy is not selected, access frequency "
                             "not tracked. Please note that when switching between policies "
                             "at runtime LRU and LFU data will take some time to adjust.");
        break;
    }
    ks_txn_commit(&txn);
}

static void objectEncodingCommand(client *c) { objectGenericCommand(c, OBJ_ENCODING); }
static void objectRefcountCommand(client *c) { objectGenericCommand(c, OBJ_REFCOUNT); }
static void objectIdletimeCommand(client *c) { objectGenericCommand(c, OBJ_IDLETIME); }
static void objectFreqCommand(client *c) { objectGenericCommand(c, OBJ_FREQ); }

static void objectHelpCommand(client *c) {
    static const char *help[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        NULL,
    };
    addReplyHelp(c, help);
}

/* ---- Command table ----------------------------------------------------------- */

#define KEY_READ_FAST (CMD_READONLY | CMD_FAST)
#define ACL_KREAD_FAST (ACL_KEYSPACE | ACL_READ | ACL_FAST)
#define ACL_KWRITE_FAST (ACL_KEYSPACE | ACL_WRITE | ACL_FAST)
#define ACL_KREAD_SLOW (ACL_KEYSPACE | ACL_READ | ACL_SLOW)
#define MULTI_SHARD_SUM "request_policy:multi_shard response_policy:agg_sum"

static command object_subcommands[] = {
    {.name = "encoding", .proc = objectEncodingCommand, .arity = 3, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "2.2.3", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the internal encoding of a key's value."},
    {.name = "freq", .proc = objectFreqCommand, .arity = 3, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "4.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the logarithmic access frequency counter of a key."},
    {.name = "idletime", .proc = objectIdletimeCommand, .arity = 3, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "2.2.3", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the seconds since a key was last accessed."},
    {.name = "refcount", .proc = objectRefcountCommand, .arity = 3, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "2.2.3", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the reference count of a key's value."},
    {.name = "help", .proc = objectHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_KEYSPACE | ACL_SLOW, .group = "generic", .since = "6.2.0",
     .complexity = "O(1)", .summary = "Lists the OBJECT subcommands."},
    {0},
};

command keys_commands[] = {
    {.name = "del", .proc = delCommand, .arity = -2, .flags = CMD_WRITE,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW, .key_first = 1, .key_last = -1, .key_step = 1, .key_flags = "RM delete",
     .group = "generic", .since = "1.0.0", .complexity = "O(N)", .tips = MULTI_SHARD_SUM,
     .summary = "Deletes keys."},
    {.name = "unlink", .proc = unlinkCommand, .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = -1, .key_step = 1, .key_flags = "RM delete",
     .group = "generic", .since = "4.0.0", .complexity = "O(1)", .tips = MULTI_SHARD_SUM,
     .summary = "Deletes keys, freeing their memory in the background."},
    {.name = "exists", .proc = existsCommand, .arity = -2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = -1, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "1.0.0", .complexity = "O(N)", .tips = MULTI_SHARD_SUM,
     .summary = "Counts how many of the given keys exist."},
    {.name = "touch", .proc = touchCommand, .arity = -2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = -1, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "3.2.1", .complexity = "O(N)", .tips = MULTI_SHARD_SUM,
     .summary = "Updates the last access time of keys; counts those that exist."},
    {.name = "type", .proc = typeCommand, .arity = 2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Returns the type of a key's value."},
    {.name = "rename", .proc = renameCommand, .arity = 3, .flags = CMD_WRITE,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW, .key_first = 1, .key_last = 2, .key_step = 1, .key_flags = "RW access delete|OW update",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Renames a key, replacing the destination."},
    {.name = "renamenx", .proc = renamenxCommand, .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 2, .key_step = 1, .key_flags = "RW access delete|OW insert",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Renames a key only if the new name does not exist."},
    {.name = "copy", .proc = copyCommand, .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW, .key_first = 1, .key_last = 2, .key_step = 1, .key_flags = "RO access|OW update",
     .group = "generic", .since = "6.2.0", .complexity = "O(N)",
     .summary = "Copies a key's value and expiry to another key, possibly in another database.",
     .keyset = copyKeyset},
    {.name = "move", .proc = moveCommand, .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW access update",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Moves a key to another database unless it exists there.",
     .keyset = moveKeyset},
    {.name = "swapdb", .proc = swapdbCommand, .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST | ACL_DANGEROUS, .group = "server", .since = "4.0.0",
     .complexity = "O(N)", .summary = "Swaps the contents of two databases.",
     .keyset = swapdbKeyset},
    {.name = "keys", .proc = keysCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW | ACL_DANGEROUS, .group = "generic", .since = "1.0.0",
     .complexity = "O(N)", .tips = "request_policy:all_shards nondeterministic_output_order",
     .summary = "Returns every key matching a pattern.", .scope = CMD_SCOPE_DB},
    {.name = "scan", .proc = scanCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .group = "generic", .since = "2.8.0",
     .complexity = "O(1) per call, O(N) per iteration",
     .tips = "nondeterministic_output request_policy:special",
     .summary = "Iterates over the keys of the database with a cursor.", .scope = CMD_SCOPE_DB},
    {.name = "randomkey", .proc = randomkeyCommand, .arity = 1, .flags = CMD_READONLY,
     .acl = ACL_KREAD_SLOW, .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .tips = "request_policy:all_shards nondeterministic_output",
     .summary = "Returns a random key of the database.", .scope = CMD_SCOPE_DB},
    {.name = "expire", .proc = expireCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Sets a key's time to live in seconds."},
    {.name = "pexpire", .proc = pexpireCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "generic", .since = "2.6.0", .complexity = "O(1)",
     .summary = "Sets a key's time to live in milliseconds."},
    {.name = "expireat", .proc = expireatCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "generic", .since = "1.2.0", .complexity = "O(1)",
     .summary = "Sets a key's expiry as a Unix time in seconds."},
    {.name = "pexpireat", .proc = pexpireatCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "generic", .since = "2.6.0", .complexity = "O(1)",
     .summary = "Sets a key's expiry as a Unix time in milliseconds."},
    {.name = "ttl", .proc = ttlCommand, .arity = 2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "generic", .since = "1.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns a key's time to live in seconds."},
    {.name = "pttl", .proc = pttlCommand, .arity = 2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "generic", .since = "2.6.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns a key's time to live in milliseconds."},
    {.name = "expiretime", .proc = expiretimeCommand, .arity = 2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "generic", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Returns a key's expiry as a Unix time in seconds."},
    {.name = "pexpiretime", .proc = pexpiretimeCommand, .arity = 2, .flags = KEY_READ_FAST,
     .acl = ACL_KREAD_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "generic", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Returns a key's expiry as a Unix time in milliseconds."},
    {.name = "persist", .proc = persistCommand, .arity = 2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_KWRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "generic", .since = "2.2.0", .complexity = "O(1)",
     .summary = "Removes a key's expiry."},
    {.name = "object", .arity = -2, .acl = ACL_SLOW, .group = "generic", .since = "2.2.3",
     .complexity = "Depends on subcommand.", .summary = "Inspects the internals of a key's value.",
     .subcommands = object_subcommands},
    {0},
};
