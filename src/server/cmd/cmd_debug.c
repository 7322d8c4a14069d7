/*
 * cmd_debug: the DEBUG command (Redis 7.0's debug.c, the subcommands tools
 * and test suites use), refused by dispatch unless enable-debug-command
 * allows the client (CMD_PROTECTED).
 *
 * Subcommands and how they differ from Redis's, where they do:
 *  OBJECT key           Redis's line. serializedlength is the length of the
 *                       value in Lightning's snapshot encoding (strings: as
 *                       an RDB string without LZF), not Redis's RDB length.
 *  SLEEP seconds        sleeps the calling I/O thread only: clients of the
 *                       other threads are still served.
 *  RELOAD [MERGE]       SAVE (a real snapshot, the same path as SAVE), then
 *                       every value goes through its snapshot encoding and
 *                       back (a key at a time, under its shard lock), so it
 *                       is rebuilt in the encoding its content gets at load,
 *                       as after Redis's RDB reload; forkless, and writes of
 *                       other clients meanwhile are never lost. Not logged
 *                       in the WAL (contents are unchanged). NOSAVE and
 *                       NOFLUSH (loading another file's contents over the
 *                       live data) are refused.
 *  POPULATE count [prefix] [size]  as Redis (not logged, as Redis does not
 *                       propagate it); size at most proto-max-bulk-len.
 *  DIGEST, DIGEST-VALUE Redis's algorithm (digest.h): equal digests for
 *                       equal data in Lightning and Redis.
 *  SET-ACTIVE-EXPIRE    stops / restarts the active expiry of every worker.
 *  SET-DISABLE-DENY-SCRIPTS  1: scripts may call noscript commands (as
 *                       Redis, for tests that run DEBUG inside a script).
 *  QUICKLIST-PACKED-THRESHOLD  elements above it get a list node of their
 *                       own (engine/objlimits.h).
 *  LISTPACK, QUICKLIST  print the value's layout on stdout.
 *  OBJECT on a list     ql_listpack_max / ql_compressed are the fill and
 *                       compress depth the list was created with.
 *  CHANGE-REPL-ID, CONFIG-REWRITE-FORCE-ALL, LOG, PROTOCOL, ERROR,
 *  STRINGMATCH-TEST     as Redis.
 *  SEGFAULT             only with enable-debug-command yes (not "local").
 *  WAL-FAIL none|write|fsync|slow-fsync   Lightning's own, for tests: the
 *                       WAL writer's write(2) / fsync(2) fail with ENOSPC,
 *                       or every fsync takes 20 ms longer (slow-fsync).
 *  HELP
 * Anything else gets Redis's "unknown subcommand" error.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/random.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/objlimits.h"
#include "engine/txn.h"
#include "engine/wal.h"
#include "engine/zsetobj.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/digest.h"
#include "server/config.h"
#include "server/engine_glue.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/persist/save.h"
#include "server/server.h"

/* Redis shares the integers 0..9999 and reports INT_MAX as their refcount. */
#define SHARED_INTEGERS 10000
#define LRU_CLOCK_MAX ((1 << 24) - 1)
/* DEBUG RELOAD re-encodes this many keys per shard-lock round. */
#define RELOAD_BATCH 256
/* Redis's stringmatchlen_fuzz_test runs 10M cycles (seconds of a blocked
 * thread); a tenth of that covers the same random shapes. */
#define STRINGMATCH_CYCLES 1000000

/* A NUL-terminated copy of a (truncated to cap - 1 bytes). */
static const char *arg_cstr(const resp_arg *a, char *buf, size_t cap) {
    size_t n = a->len < cap - 1 ? a->len : cap - 1;
    memcpy(buf, a->ptr, n);
    buf[n] = '\0';
    return buf;
}

static void reply_subcommand_error(client *c) {
    addReplyErrorFormat(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                        "Try DEBUG HELP.",
                        arg_cstr(&c->argv[1], (char[129]){0}, 129));
}

/* ---- DEBUG OBJECT ------------------------------------------------------------ */

static int emit_count(void *ctx, const void *p, size_t n) {
    (void)p;
    *(size_t *)ctx += n;
    return 0;
}

/* RDB's length prefix for a string of n bytes. */
static size_t rdb_len_size(size_t n) {
    return n < 64 ? 1 : n < 16384 ? 2 : n <= UINT32_MAX ? 5 : 9;
}

static size_t serialized_length(const ks_entry *e) {
    if (ks_entry_type(e) == KS_TYPE_STRING) {
        long long v;
        if (ks_entry_encoding(e) == KS_ENC_INT && ks_entry_get_int(e, &v)) {
            if (v >= INT8_MIN && v <= INT8_MAX) return 2;
            if (v >= INT16_MIN && v <= INT16_MAX) return 3;
            if (v >= INT32_MIN && v <= INT32_MAX) return 5;
        }
        size_t n = ks_entry_strlen(e);
        return rdb_len_size(n) + n;
    }
    const ks_type_ops *ops = ks_type_get(ks_entry_type(e));
    size_t n = 0;
    if (ops && ops->encode) ops->encode(ks_entry_obj(e), emit_count, &n);
    return n;
}

typedef struct ql_stats {
    unsigned long nodes, bytes, count;
} ql_stats;

/* A quicklist node's listpack: 6-byte header, entries, end byte. */
#define LISTPACK_OVERHEAD 7

static void on_node(void *ctx, uint32_t count, uint32_t bytes, uint32_t zlen) {
    (void)zlen;
    ql_stats *s = ctx;
    s->nodes++;
    s->count += count;
    s->bytes += bytes + LISTPACK_OVERHEAD;
}

static void debugObject(client *c) {
    ks_txn txn;
    ks_key k = {.dbid = (unsigned)c->db, .key = c->argv[2].ptr, .klen = c->argv[2].len};
    ks_txn_begin(&txn, server.db, &k, 1);
    /* Redis's dictFind: an expired key not yet deleted is shown, and kept. */
    ks_entry *e = ks_lookup(&txn, k.dbid, k.key, k.klen, KS_LOOKUP_NOTOUCH | KS_LOOKUP_EXPIRED);
    if (!e) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR no such key");
        return;
    }
    char extra[160] = "";
    if (ks_entry_type(e) == KS_TYPE_LIST) {
        ql_stats st = {0};
        listobj *l = ks_entry_obj(e);
        listobj_visit_nodes(l, on_node, &st);
        snprintf(extra, sizeof extra,
                 " ql_nodes:%lu ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d"
                 " ql_uncompressed_size:%lu",
                 st.nodes, st.nodes ? (double)st.count / (double)st.nodes : 0.0,
                 listobj_fill(l), listobj_compress_depth(l) != 0, st.bytes);
    }
    long long v;
    int refcount = ks_entry_encoding(e) == KS_ENC_INT && ks_entry_get_int(e, &v) && v >= 0 &&
                           v < SHARED_INTEGERS
                       ? INT_MAX
                       : 1;
    uint64_t idle = ks_entry_idle_s(e, txn.now_ms);
    unsigned lru = (unsigned)(((uint64_t)(txn.now_ms / 1000) - idle) & LRU_CLOCK_MAX);
    char line[512];
    snprintf(line, sizeof line,
             "Value at:%p refcount:%d encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%" PRIu64 "%s",
             (void *)e, refcount, ks_entry_encoding_name(e), serialized_length(e), lru, idle,
             extra);
    ks_txn_commit(&txn);
    addReplyStatus(c, line);
}

/* ---- DEBUG LISTPACK / QUICKLIST ------------------------------------------------ */

static void print_str(const char *p, size_t len, long long ll) {
    if (p) printf("  \"%.*s\"\n", (int)(len > 80 ? 80 : len), p);
    else printf("  %lld\n", ll);
}

static void debugListpack(client *c) {
    ks_txn txn;
    ks_key k = {.dbid = (unsigned)c->db, .key = c->argv[2].ptr, .klen = c->argv[2].len};
    ks_txn_begin(&txn, server.db, &k, 1);
    ks_entry *e = ks_lookup(&txn, k.dbid, k.key, k.klen, KS_LOOKUP_NOTOUCH);
    if (!e) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR no such key");
        return;
    }
    const char *enc = ks_entry_encoding_name(e);
    if (strcmp(enc, "listpack") != 0) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR Not a listpack encoded object.");
        return;
    }
    if (ks_entry_type(e) == KS_TYPE_HASH) {
        hashobj *h = ks_entry_obj(e);
        printf("{listpack} {hash} {pairs %zu}\n", hashobj_len(h));
        hashobj_iter it;
        hashobj_str f, v;
        hashobj_iter_init(&it, h);
        while (hashobj_iter_next(&it, &f, &v)) {
            print_str(f.ptr, f.len, f.ll);
            print_str(v.ptr, v.len, v.ll);
        }
    } else {
        const zset *z = ks_entry_obj(e);
        printf("{listpack} {zset} {members %zu}\n", zset_len(z));
        zset_iter it;
        if (zset_iter_seek(&it, z, 0)) {
            do {
                const char *m;
                size_t len;
                double sc;
                zset_iter_get(&it, &m, &len, &sc);
                print_str(m, len, 0);
                printf("  %.17g\n", sc);
            } while (zset_iter_next(&it));
        }
    }
    fflush(stdout);
    ks_txn_commit(&txn);
    addReplyStatus(c, "Listpack structure printed on stdout");
}

typedef struct ql_print {
    int full;
    unsigned long i;
} ql_print;

static void print_node(void *ctx, uint32_t count, uint32_t bytes, uint32_t zlen) {
    ql_print *p = ctx;
    printf("{node %lu} {count %u} {sz %u} {encoding %s} {compressed %d} {zlen %u}\n", p->i++,
           count, bytes + LISTPACK_OVERHEAD,
           count == 1 && bytes > objlimits_list_packed_threshold() ? "plain" : "packed",
           zlen != 0, zlen);
}

static void debugQuicklist(client *c) {
    ks_txn txn;
    ks_key k = {.dbid = (unsigned)c->db, .key = c->argv[2].ptr, .klen = c->argv[2].len};
    ks_txn_begin(&txn, server.db, &k, 1);
    ks_entry *e = ks_lookup(&txn, k.dbid, k.key, k.klen, KS_LOOKUP_NOTOUCH);
    if (!e) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR no such key");
        return;
    }
    if (ks_entry_type(e) != KS_TYPE_LIST) {
        ks_txn_commit(&txn);
        addReplyError(c, "ERR Not a quicklist encoded object.");
        return;
    }
    listobj *l = ks_entry_obj(e);
    ql_print p = {.full = c->argc == 4 && c->argv[3].len == 1 && c->argv[3].ptr[0] == '1'};
    printf("{quicklist} {count %zu} {len %zu} {fill %d} {compress %d}\n", listobj_len(l),
           listobj_nodes(l), listobj_fill(l), listobj_compress_depth(l));
    listobj_visit_nodes(l, print_node, &p);
    if (p.full) {
        list_iter it;
        list_value v;
        listobj_iter_init(&it, l, 0, 1);
        while (listobj_iter_get(&it, &v)) {
            print_str(v.str, v.len, v.ll);
            listobj_iter_next(&it);
        }
    }
    fflush(stdout);
    ks_txn_commit(&txn);
    addReplyStatus(c, "Quicklist structure printed on stdout");
}

/* ---- DEBUG DIGEST / DIGEST-VALUE ------------------------------------------------ */

static void debugDigest(client *c) {
    unsigned char d[LT_SHA1_LEN];
    char hex[2 * LT_SHA1_LEN + 1];
    digest_dataset(server.db, d);
    digest_hex(d, hex);
    addReplyStatus(c, hex);
}

static void debugDigestValue(client *c) {
    addReplyArrayLen(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[LT_SHA1_LEN] = {0};
        char hex[2 * LT_SHA1_LEN + 1];
        ks_txn txn;
        ks_key k = {.dbid = (unsigned)c->db, .key = c->argv[j].ptr, .klen = c->argv[j].len};
        ks_txn_begin(&txn, server.db, &k, 1);
        ks_entry *e = ks_lookup(&txn, k.dbid, k.key, k.klen, KS_LOOKUP_NOTOUCH);
        if (e) digest_value(e, d);
        ks_txn_commit(&txn);
        digest_hex(d, hex);
        addReplyStatus(c, hex);
    }
}

/* ---- DEBUG RELOAD ---------------------------------------------------------------- */

typedef struct key_batch {
    char *keys[RELOAD_BATCH];
    size_t lens[RELOAD_BATCH];
    int n;
} key_batch;

static void collect_key(void *ctx, const ks_entry *e) {
    key_batch *b = ctx;
    if (b->n == RELOAD_BATCH) return; /* ks_scan's count bounds this; never reached */
    size_t len;
    const char *k = ks_entry_key(e, &len);
    b->keys[b->n] = lt_xmalloc(len ? len : 1);
    memcpy(b->keys[b->n], k, len);
    b->lens[b->n++] = len;
}

static int emit_buf(void *ctx, const void *p, size_t n) {
    lt_strbuf_append(ctx, p, n);
    return 0;
}

/* Rebuilds key's value from its snapshot encoding (what loading it does).
 * Returns 0, or -1 when the encoding does not decode (a bug: logged). */
static int reencode_key(client *c, unsigned dbid, const char *key, size_t klen, lt_strbuf *buf) {
    ks_txn txn;
    ks_key k = {.dbid = dbid, .key = key, .klen = klen};
    ks_txn_begin(&txn, server.db, &k, 1);
    int rc = 0;
    ks_entry *e = ks_lookup(&txn, dbid, key, klen, KS_LOOKUP_NOTOUCH);
    if (e && ks_entry_encoding(e) == KS_ENC_OBJ) {
        int type = ks_entry_type(e);
        const ks_type_ops *ops = ks_type_get(type);
        buf->len = 0;
        void *obj = NULL;
        if (ops->encode(ks_entry_obj(e), emit_buf, buf) == 0)
            obj = ops->decode(buf->p, buf->len);
        if (obj) {
            ks_set_obj(&txn, dbid, key, klen, type, obj, ks_entry_expire_ms(e));
        } else {
            serverLog(LL_WARNING, "DEBUG RELOAD: a %s value does not decode from its encoding",
                      ops->name);
            rc = -1;
        }
    }
    persist_skip_log(c);
    ks_txn_commit(&txn);
    return rc;
}

/* DEBUG POPULATE count [prefix] [size], as Redis's debug.c: keys
 * prefix:0 .. prefix:count-1 (prefix up to its first NUL, the name cut at
 * 127 bytes) that do not exist yet get the string "value:j" — with a size,
 * exactly that many bytes: the text, cut or padded with zeros. Like Redis
 * it is not propagated (not logged); a value over proto-max-bulk-len is
 * refused. */
static void debugPopulate(client *c) {
    static const char range[] = "ERR value is out of range, must be positive";
    long long keys, valsize = 0;
    if (arg_ll_or_reply(c, &c->argv[2], &keys, range) < 0) return;
    if (keys < 0) {
        addReplyError(c, range);
        return;
    }
    if (c->argc == 5) {
        if (arg_ll_or_reply(c, &c->argv[4], &valsize, range) < 0) return;
        if (valsize < 0) {
            addReplyError(c, range);
            return;
        }
        if ((unsigned long long)valsize > (unsigned long long)server.proto_max_bulk_len) {
            addReplyError(c, "ERR DEBUG POPULATE value size is over proto-max-bulk-len");
            return;
        }
    }
    if (ks_txn_nest_outer()) {
        addReplyError(c, "ERR DEBUG POPULATE is not supported inside MULTI by Lightning");
        return;
    }
    const char *prefix = "key";
    int plen = 3;
    if (c->argc >= 4) {
        const char *p = c->argv[3].ptr, *nul = memchr(p, '\0', c->argv[3].len);
        prefix = p;
        plen = (int)(nul ? (size_t)(nul - p) : c->argv[3].len);
        if (plen > 127) plen = 127;
    }
    char *val = valsize ? lt_xcalloc(1, (size_t)valsize) : NULL;
    for (long long j = 0; j < keys; j++) {
        char key[128], text[48];
        int klen = snprintf(key, sizeof key, "%.*s:%lld", plen, prefix, j);
        if (klen >= (int)sizeof key) klen = (int)sizeof key - 1;
        int tlen = snprintf(text, sizeof text, "value:%lld", j);
        const char *v = text;
        size_t vlen = (size_t)tlen;
        if (valsize) {
            size_t n = (size_t)tlen < (size_t)valsize ? (size_t)tlen : (size_t)valsize;
            memcpy(val, text, n);
            if (n < (size_t)valsize) memset(val + n, 0, (size_t)valsize - n);
            v = val;
            vlen = (size_t)valsize;
        }
        ks_txn txn;
        ks_key k = {.dbid = (unsigned)c->db, .key = key, .klen = (size_t)klen};
        ks_txn_begin(&txn, server.db, &k, 1);
        if (!ks_lookup(&txn, k.dbid, key, (size_t)klen, KS_LOOKUP_NOTOUCH))
            ks_set_str(&txn, k.dbid, key, (size_t)klen, v, vlen, KS_EXPIRE_NONE, KS_SET_NOINT);
        persist_skip_log(c);
        ks_txn_commit(&txn);
    }
    free(val);
    addReplyOK(c);
}

static void debugReload(client *c) {
    for (int j = 2; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "merge")) continue;
        if (arg_is(&c->argv[j], "noflush") || arg_is(&c->argv[j], "nosave")) {
            addReplyError(c, "ERR DEBUG RELOAD NOFLUSH and NOSAVE are not supported by "
                             "Lightning (only a reload of the data just saved)");
            return;
        }
        addReplyError(c, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        return;
    }
    if (ks_txn_nest_outer()) {
        addReplyError(c, "ERR DEBUG RELOAD is not supported inside MULTI by Lightning");
        return;
    }
    int rc = save_now();
    if (rc == -2) {
        addReplyError(c, "ERR Background save already in progress");
        return;
    }
    if (rc < 0) {
        addReplyError(c, "ERR");
        return;
    }
    lt_strbuf buf = {0};
    int failed = 0;
    for (unsigned db = 0; db < ks_databases(server.db); db++) {
        uint64_t cursor = 0;
        do {
            key_batch b = {.n = 0};
            cursor = ks_scan(server.db, db, cursor, RELOAD_BATCH / 2, collect_key, &b);
            for (int i = 0; i < b.n; i++) {
                if (!failed && reencode_key(c, db, b.keys[i], b.lens[i], &buf) < 0) failed = 1;
                free(b.keys[i]);
            }
        } while (cursor != 0);
    }
    free(buf.p);
    if (failed) {
        addReplyError(c, "ERR Error trying to load the RDB dump, check server logs.");
        return;
    }
    serverLog(LL_NOTICE, "DB reloaded by DEBUG RELOAD");
    addReplyOK(c);
}

/* ---- DEBUG PROTOCOL ------------------------------------------------------------- */

static void debugProtocol(client *c) {
    static const char *const bignum = "1234567999999999999999999999999999999";
    const resp_arg *t = &c->argv[2];
    if (arg_is(t, "string")) {
        addReplyBulkCString(c, "Hello World");
    } else if (arg_is(t, "integer")) {
        addReplyLongLong(c, 12345);
    } else if (arg_is(t, "double")) {
        addReplyDouble(c, 3.141);
    } else if (arg_is(t, "bignum")) {
        if (c->resp == 2) {
            addReplyBulkCString(c, bignum);
        } else {
            char line[64];
            int n = snprintf(line, sizeof line, "(%s\r\n", bignum);
            addReplyProto(c, line, (size_t)n);
        }
    } else if (arg_is(t, "null")) {
        addReplyNull(c);
    } else if (arg_is(t, "array")) {
        addReplyArrayLen(c, 3);
        for (int j = 0; j < 3; j++) addReplyLongLong(c, j);
    } else if (arg_is(t, "set")) {
        addReplySetLen(c, 3);
        for (int j = 0; j < 3; j++) addReplyLongLong(c, j);
    } else if (arg_is(t, "map")) {
        addReplyMapLen(c, 3);
        for (int j = 0; j < 3; j++) {
            addReplyLongLong(c, j);
            addReplyBool(c, j == 1);
        }
    } else if (arg_is(t, "attrib")) {
        if (c->resp >= 3) {
            static const char attr[] = "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n";
            addReplyProto(c, attr, sizeof attr - 1);
        }
        addReplyBulkCString(c, "Some real reply following the attribute");
    } else if (arg_is(t, "push")) {
        if (c->resp < 3) {
            addReplyError(c, "ERR RESP2 is not supported by this command");
            return;
        }
        addReplyPushLen(c, 2);
        addReplyBulkCString(c, "server-cpu-usage");
        addReplyLongLong(c, 42);
        addReplyBulkCString(c, "Some real reply following the push reply");
    } else if (arg_is(t, "true")) {
        addReplyBool(c, 1);
    } else if (arg_is(t, "false")) {
        addReplyBool(c, 0);
    } else if (arg_is(t, "verbatim")) {
        static const char v[] = "This is a verbatim\nstring";
        addReplyVerbatim(c, v, sizeof v - 1, "txt");
    } else {
        addReplyError(c, "ERR Wrong protocol type name. Please use one of the following: "
                         "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                         "true|false");
    }
}

/* ---- The others ------------------------------------------------------------------ */

static void debugSleep(client *c) {
    char buf[64];
    double secs = strtod(arg_cstr(&c->argv[2], buf, sizeof buf), NULL);
    if (!(secs > 0) || !isfinite(secs)) {
        addReplyOK(c); /* Redis: nanosleep refuses a negative time */
        return;
    }
    long long us = secs * 1e6 > (double)LLONG_MAX ? LLONG_MAX : (long long)(secs * 1e6);
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
    addReplyOK(c);
}

/* DEBUG CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE writing every directive,
 * defaults included, as Redis's. */
static void debugConfigRewriteForceAll(client *c) {
    if (!server.configfile) {
        addReplyError(c, "ERR The server is running without a config file");
        return;
    }
    pthread_mutex_lock(&server.config_lock);
    int rc = config_rewrite_opts(server.configfile, 1);
    int saved = errno;
    pthread_mutex_unlock(&server.config_lock);
    if (rc == -1) addReplyErrorFormat(c, "ERR CONFIG-REWRITE-FORCE-ALL failed: %s", strerror(saved));
    else addReplyOK(c);
}

static void debugChangeReplId(client *c) {
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[20];
    lt_random_bytes(raw, sizeof raw);
    serverLog(LL_WARNING, "Changing replication IDs after receiving DEBUG change-repl-id");
    pthread_mutex_lock(&server.config_lock);
    for (int i = 0; i < 20; i++) {
        server.replid[2 * i] = hex[raw[i] >> 4];
        server.replid[2 * i + 1] = hex[raw[i] & 15];
    }
    server.replid[40] = '\0';
    pthread_mutex_unlock(&server.config_lock);
    addReplyOK(c);
}

static void debugQuicklistPackedThreshold(client *c) {
    long long v;
    if (config_parse_memory(c->argv[2].ptr, c->argv[2].len, &v) < 0 ||
        objlimits_set_packed_threshold((size_t)v) < 0) {
        addReplyError(c, "ERR argument must be a memory value bigger than 1 and smaller than 4gb");
        return;
    }
    addReplyOK(c);
}

static void debugError(client *c) {
    size_t n = c->argv[2].len;
    char *line = lt_xmalloc(n + 3);
    line[0] = '-';
    for (size_t i = 0; i < n; i++) {
        char ch = c->argv[2].ptr[i];
        line[1 + i] = ch == '\r' || ch == '\n' ? ' ' : ch;
    }
    memcpy(line + 1 + n, "\r\n", 2);
    addReplyProto(c, line, n + 3);
    free(line);
    c->error_in_reply = 1;
}

static void debugStringmatchTest(client *c) {
    char str[32], pat[32];
    long matches = 0;
    for (int cycle = 0; cycle < STRINGMATCH_CYCLES; cycle++) {
        size_t slen = (size_t)(lt_random_u64() % sizeof str);
        size_t plen = (size_t)(lt_random_u64() % sizeof pat);
        for (size_t j = 0; j < slen; j++) str[j] = (char)(lt_random_u64() % 128);
        for (size_t j = 0; j < plen; j++) pat[j] = (char)(lt_random_u64() % 128);
        matches += lt_stringmatchlen(pat, plen, str, slen, 0);
    }
    serverLog(LL_VERBOSE, "DEBUG STRINGMATCH-TEST: %ld matches", matches);
    addReplyStatus(c, "Apparently Redis did not crash: test passed");
}

static void debugWalFail(client *c) {
    static const char *const modes[] = {"none", "write", "fsync", "slow-fsync"};
    for (int i = 0; i < 4; i++) {
        if (arg_is(&c->argv[2], modes[i])) {
            pthread_mutex_lock(&server.config_lock);
            server.debug_wal_fail = i; /* WAL_FAULT_* order */
            persist_apply_config();
            pthread_mutex_unlock(&server.config_lock);
            addReplyOK(c);
            return;
        }
    }
    addReplyError(c, "ERR DEBUG WAL-FAIL mode must be none, write, fsync or slow-fsync");
}

static void debugHelp(client *c) {
    static const char *help[] = {
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [MERGE]",
        "    Save a snapshot and rebuild every value from its saved form (Lightning",
        "    does not support NOFLUSH and NOSAVE).",
        "SEGFAULT",
        "    Crash the server with sigsegv (needs enable-debug-command yes).",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SET-DISABLE-DENY-SCRIPTS <0|1>",
        "    Setting it to 1 allows commands flagged noscript (DEBUG itself among them)",
        "    to be called from scripts. Setting it to 0 denies them again (the default).",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed. (Lightning: the calling",
        "    I/O thread only.)",
        "STRINGMATCH-TEST",
        "    Run a fuzz tester against the stringmatchlen() function.",
        "LISTPACK <key>",
        "    Show low level info about the listpack encoding of <key>.",
        "QUICKLIST <key> [<0|1>]",
        "    Show low level info about the quicklist encoding of <key>.",
        "    The optional argument (0 by default) sets the level of detail",
        "WAL-FAIL <none|write|fsync|slow-fsync>",
        "    Lightning, for tests: make the WAL writer's write or fsync fail (ENOSPC),",
        "    or every fsync 20 ms slower (slow-fsync).",
        NULL,
    };
    addReplyHelp(c, help);
}

static void debugCommand(client *c) {
    const resp_arg *sub = &c->argv[1];
    int argc = c->argc;
    if (argc == 2 && arg_is(sub, "help")) debugHelp(c);
    else if (argc == 3 && arg_is(sub, "object")) debugObject(c);
    else if (argc == 3 && arg_is(sub, "sleep")) debugSleep(c);
    else if (argc >= 2 && arg_is(sub, "reload")) debugReload(c);
    else if (argc >= 3 && argc <= 5 && arg_is(sub, "populate")) debugPopulate(c);
    else if (argc == 2 && arg_is(sub, "digest")) debugDigest(c);
    else if (argc >= 2 && arg_is(sub, "digest-value")) debugDigestValue(c);
    else if (argc == 3 && arg_is(sub, "protocol")) debugProtocol(c);
    else if (argc == 3 && arg_is(sub, "set-active-expire")) {
        char buf[32];
        __atomic_store_n(&server.active_expire_enabled, atoi(arg_cstr(&c->argv[2], buf, sizeof buf)),
                         __ATOMIC_RELAXED);
        addReplyOK(c);
    } else if (argc == 3 && arg_is(sub, "set-disable-deny-scripts")) {
        char buf[32];
        __atomic_store_n(&server.script_disable_deny_script,
                         atoi(arg_cstr(&c->argv[2], buf, sizeof buf)), __ATOMIC_RELAXED);
        addReplyOK(c);
    } else if (argc == 3 && arg_is(sub, "quicklist-packed-threshold")) {
        debugQuicklistPackedThreshold(c);
    } else if (argc == 3 && arg_is(sub, "listpack")) debugListpack(c);
    else if ((argc == 3 || argc == 4) && arg_is(sub, "quicklist")) debugQuicklist(c);
    else if (argc == 2 && arg_is(sub, "change-repl-id")) debugChangeReplId(c);
    else if (argc == 2 && arg_is(sub, "config-rewrite-force-all")) debugConfigRewriteForceAll(c);
    else if (argc == 3 && arg_is(sub, "log")) {
        serverLog(LL_WARNING, "DEBUG LOG: %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        addReplyOK(c);
    } else if (argc == 3 && arg_is(sub, "error")) debugError(c);
    else if (argc == 2 && arg_is(sub, "stringmatch-test")) debugStringmatchTest(c);
    else if (argc == 3 && arg_is(sub, "wal-fail")) debugWalFail(c);
    else if (argc == 2 && arg_is(sub, "segfault")) {
        if (server.enable_debug_cmd != PROTECTED_ACTION_YES) {
            addReplyError(c, "ERR DEBUG SEGFAULT needs enable-debug-command yes");
            return;
        }
        serverLog(LL_WARNING, "DEBUG SEGFAULT: crashing the server on request");
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    } else {
        reply_subcommand_error(c);
    }
}

command debug_commands[] = {
    {.name = "debug", .proc = debugCommand, .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_PROTECTED,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "Depends on subcommand.",
     .summary = "Debugging and testing hooks (needs enable-debug-command).",
     .scope = CMD_SCOPE_ALL},
    {0},
};
