/*
 * Streams in RDB, against a real redis-server 7.0 (engine/rdb_stream.c
 * through rdb.c, t_dump.c, persist/rdb_import.c, cmd_sync.c):
 *   - DUMP in Redis -> RESTORE in Lightning and the other way (and back),
 *     for streams with consumer groups, consumers, pending entries,
 *     deleted entries, many nodes, integer-looking and binary fields,
 *     values at the listpack encoding boundaries, XSETID metadata, empty
 *     streams: XINFO STREAM FULL COUNT 0 equal on both servers (all its
 *     times are absolute and travel in the payload; only radix-tree-nodes,
 *     a detail of Redis's rax, is masked), then the same commands on both
 *     keep giving the same replies;
 *   - a Redis dump.rdb with streams imported at Lightning's start-up, then
 *     `redis-cli --rdb` from Lightning loaded by a real Redis;
 *   - corrupt stream payloads: Redis's "ERR Bad data format" on both
 *     servers (Redis with sanitize-dump-payload yes), and every single-byte
 *     corruption of a payload either refused or restored to a usable key.
 * Needs redis-server (and redis-cli for --rdb); skipped without.
 */
#include "../difftest.h"

#include "common/crc64.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAD_FORMAT "err:\"ERR Bad data format\""

/* ---- Data ------------------------------------------------------------------------- */

static void ok(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    CHECK(r && r->type != REDIS_REPLY_ERROR);
    if (r && r->type == REDIS_REPLY_ERROR) fprintf(stderr, "# %s -> %s\n", fmt, r->str);
    if (r) freeReplyObject(r);
}

static char *filled(size_t n, char ch) {
    char *s = malloc(n + 1);
    memset(s, ch, n);
    s[n] = 0;
    return s;
}

/* Streams covering the RDB stream format: see the file comment. */
static void populate_streams(redisContext *c) {
    ok(c, "XADD s:simple 1-1 name alice age 30");
    ok(c, "XADD s:simple 1-2 name bob age 25");
    ok(c, "XADD s:simple 5-10 other field");
    ok(c, "XADD s:simple 6-0 name carol age -4096"); /* seq below the master's */
    ok(c, "PEXPIRE s:simple 50000000");
    ok(c, "XADD s:ints 1000-0 1 -5 12345678901234 9223372036854775807 -9223372036854775808 x "
          "4095 -4096 127 128 -32768 32767 8388607 -8388608 2147483647 -2147483648 2147483648 "
          "00 007 -0 +1 01");
    ok(c, "XADD s:bin 1-1 %b %b e %s", "a\0b", (size_t)3, "\xff\x00", (size_t)2, "");
    /* Many nodes (100 entries each), some fields different, deletions
     * inside nodes, a whole node deleted, exact trimming. */
    for (int i = 1; i <= 1500; i++) {
        if (i % 10 == 0) ok(c, "XADD s:big %d-0 g x%d", i, i);
        else ok(c, "XADD s:big %d-0 f1 v%d f2 %d", i, i, i * 7);
    }
    for (int i = 201; i <= 300; i++) ok(c, "XDEL s:big %d-0", i);
    ok(c, "XDEL s:big 5-0 17-0 450-0 1500-0");
    ok(c, "XTRIM s:big MINID 50-0");
    /* Consumer groups. */
    for (int i = 1; i <= 20; i++) ok(c, "XADD s:grp %d-0 k %d", i, i);
    ok(c, "XGROUP CREATE s:grp g1 0");
    ok(c, "XGROUP CREATE s:grp g2 $");
    ok(c, "XGROUP CREATE s:grp g3 0");
    ok(c, "XGROUP CREATE s:grp 1234 0"); /* an integer-looking group name */
    ok(c, "XREADGROUP GROUP g1 alice COUNT 5 STREAMS s:grp >");
    ok(c, "XREADGROUP GROUP g1 bob COUNT 3 STREAMS s:grp >");
    ok(c, "XACK s:grp g1 2-0");
    ok(c, "XCLAIM s:grp g1 carol 0 3-0 4-0");
    ok(c, "XGROUP CREATECONSUMER s:grp g1 dave");
    ok(c, "XDEL s:grp 1-0"); /* still pending in g1 */
    ok(c, "XREADGROUP GROUP g3 zed COUNT 2 STREAMS s:grp >");
    ok(c, "XGROUP SETID s:grp g3 7-0");
    ok(c, "XREADGROUP GROUP 1234 42 COUNT 1 STREAMS s:grp >");
    ok(c, "XGROUP CREATE s:emptyg g $ MKSTREAM");
    ok(c, "XADD s:alldel 1-1 a b");
    ok(c, "XADD s:alldel 2-2 c d");
    ok(c, "XDEL s:alldel 1-1 2-2");
    ok(c, "XADD s:setid 10-1 a 1");
    ok(c, "XSETID s:setid 999-0 ENTRIESADDED 50 MAXDELETEDID 20-0");
    /* Values at the listpack string boundaries: 63/64 (6/12-bit length),
     * 4095/4096 (12/32-bit), an element of 16383 bytes (3-byte backlen). */
    char *v63 = filled(63, 'a'), *v64 = filled(64, 'b'), *v4095 = filled(4095, 'c'),
         *v4096 = filled(4096, 'd'), *v16378 = filled(16378, 'e'), *v20000 = filled(20000, 'f');
    ok(c, "XADD s:huge 1-1 a %s b %s", v63, v64);
    ok(c, "XADD s:huge 1-2 c %s d %s", v4095, v4096);
    ok(c, "XADD s:huge 1-3 e %s", v16378);
    ok(c, "XADD s:huge 1-4 f %s e %s", v20000, v16378);
    free(v63);
    free(v64);
    free(v4095);
    free(v4096);
    free(v16378);
    free(v20000);
    ok(c, "XADD s:bigms 1700000000000-0 a 1");
    ok(c, "XADD s:bigms 18446744073709551614-5 a 2");
    ok(c, "XADD s:bigms 18446744073709551615-18446744073709551615 a 3");
    /* Small nodes. */
    ok(c, "CONFIG SET stream-node-max-entries 7");
    for (int i = 1; i <= 60; i++) ok(c, "XADD s:nodes %d-%d f %d", i / 3, i, i);
    ok(c, "CONFIG SET stream-node-max-entries 100");
    ok(c, "XDEL s:nodes 0-1 0-2"); /* the first node's first entries */
    ok(c, "SELECT 3");
    ok(c, "XADD s:db3 1-1 a b");
    ok(c, "XGROUP CREATE s:db3 g 0");
    ok(c, "XREADGROUP GROUP g c STREAMS s:db3 >");
    ok(c, "SELECT 0");
}

/* ---- Comparing ----------------------------------------------------------------- */

static char **keys_of(redisContext *c, size_t *n) {
    redisReply *r = redisCommand(c, "KEYS *");
    *n = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return NULL;
    }
    char **v = calloc(r->elements + 1, sizeof(char *));
    for (size_t i = 0; i < r->elements; i++) v[i] = strdup(r->element[i]->str);
    *n = r->elements;
    freeReplyObject(r);
    return v;
}

static void free_keys(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* XINFO STREAM key FULL COUNT 0 rendered, radix-tree-nodes set to 0. */
static char *xinfo_full(redisContext *c, const char *key) {
    redisReply *r = redisCommand(c, "XINFO STREAM %s FULL COUNT 0", key);
    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                !strcmp(r->element[i]->str, "radix-tree-nodes"))
                r->element[i + 1]->integer = 0;
    char *s = reply_to_string(r);
    if (r) freeReplyObject(r);
    return s;
}

static void compare_xinfo(const char *key) {
    char *a = xinfo_full(L, key), *b = xinfo_full(R, key);
    CHECK(!strncmp(a, "array[", 6));
    if (strcmp(a, b)) {
        char *ea, *eb;
        size_t at = harness_diff_excerpt(a, b, &ea, &eb);
        fprintf(stderr, "# XINFO STREAM %s FULL differs at %zu:\n#  L: %s\n#  R: %s\n", key, at,
                ea, eb);
        free(ea);
        free(eb);
        CHECK(!"XINFO STREAM FULL equal");
    }
    free(a);
    free(b);
}

/* Compares database db key by key: types, expiry, and every stream's
 * contents and metadata. */
static void compare_db(int db) {
    char dbs[8];
    snprintf(dbs, sizeof(dbs), "%d", db);
    C("SELECT", dbs);
    C("DBSIZE");
    CU("KEYS", "*");
    size_t n;
    char **keys = keys_of(R, &n);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        C("TYPE", k);
        C("OBJECT", "ENCODING", k);
        C("PEXPIRETIME", k);
        C("XLEN", k);
        C("XRANGE", k, "-", "+");
        C("XINFO", "GROUPS", k);
        compare_xinfo(k);
        redisReply *g = redisCommand(R, "XINFO GROUPS %s", k);
        for (size_t j = 0; g && g->type == REDIS_REPLY_ARRAY && j < g->elements; j++)
            C("XPENDING", k, g->element[j]->element[1]->str);
        if (g) freeReplyObject(g);
    }
    free_keys(keys, n);
    C("SELECT", "0");
}

/* After a move: the same commands on both keep the same replies. */
static void use_both(void) {
    C("XADD", "s:grp", "100-0", "new", "1");
    C("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "100", "STREAMS", "s:grp", ">");
    C("XACK", "s:grp", "g1", "3-0", "5-0", "100-0");
    C("XPENDING", "s:grp", "g1");
    C("XINFO", "GROUPS", "s:grp");
    C("XADD", "s:big", "2000-0", "f1", "a", "f2", "b");
    C("XTRIM", "s:big", "MAXLEN", "~", "1000");
    C("XRANGE", "s:big", "-", "+", "COUNT", "5");
    C("XLEN", "s:big");
    C("XADD", "s:emptyg", "1-1", "x", "y");
    C("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s:emptyg", ">");
    C("XINFO", "GROUPS", "s:emptyg");
    C("XADD", "s:setid", "5-0", "a", "1");
    C("XADD", "s:setid", "1000-0", "a", "1");
    C("XINFO", "GROUPS", "s:setid");
    C("XREVRANGE", "s:huge", "+", "-", "COUNT", "1");
    C("XADD", "s:nodes", "21-0", "f", "x");
    C("XDEL", "s:nodes", "0-3", "1-4");
    C("XRANGE", "s:nodes", "-", "+");
    C("XADD", "s:alldel", "3-0", "a", "b");
    C("XRANGE", "s:alldel", "-", "+");
}

/* DUMPs every key of database db on `from` and RESTOREs it on `to` with its
 * absolute expiry. */
static void move_db(redisContext *from, redisContext *to, int db) {
    redisReply *r = redisCommand(from, "SELECT %d", db);
    if (r) freeReplyObject(r);
    r = redisCommand(to, "SELECT %d", db);
    if (r) freeReplyObject(r);
    size_t n;
    char **keys = keys_of(from, &n);
    for (size_t i = 0; i < n; i++) {
        redisReply *d = redisCommand(from, "DUMP %s", keys[i]);
        REQUIRE(d && d->type == REDIS_REPLY_STRING);
        redisReply *t = redisCommand(from, "PEXPIRETIME %s", keys[i]);
        REQUIRE(t && t->type == REDIS_REPLY_INTEGER);
        long long ttl = t->integer > 0 ? t->integer : 0;
        redisReply *o = redisCommand(to, "RESTORE %s %lld %b ABSTTL", keys[i], ttl, d->str,
                                     (size_t)d->len);
        CHECK(o && o->type == REDIS_REPLY_STATUS);
        if (!(o && o->type == REDIS_REPLY_STATUS))
            fprintf(stderr, "# RESTORE %s failed: %s\n", keys[i], o ? o->str : "(null)");
        if (o) freeReplyObject(o);
        freeReplyObject(d);
        freeReplyObject(t);
    }
    free_keys(keys, n);
    r = redisCommand(from, "SELECT 0");
    if (r) freeReplyObject(r);
    r = redisCommand(to, "SELECT 0");
    if (r) freeReplyObject(r);
}

TEST(stream_dump_redis_to_lightning) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate_streams(R);
    move_db(R, L, 0);
    move_db(R, L, 3);
    compare_db(0);
    compare_db(3);
    use_both();
}

TEST(stream_dump_lightning_to_redis) {
    /* Redis checks Lightning's payloads deeply (as redis-check-rdb does). */
    REQUIRE(difftest_start("sanitize-dump-payload", "yes", NULL));
    if (!R) return;
    populate_streams(L);
    move_db(L, R, 0);
    move_db(L, R, 3);
    compare_db(0);
    compare_db(3);
    /* And back: a payload Lightning made, restored by Redis, dumped by it. */
    CHECK_EQ_STR(cmd(L, "FLUSHALL"), "status:\"OK\"");
    move_db(R, L, 0);
    compare_db(0);
    use_both();
}

/* RESTOREd streams are in the WAL (RESTORE is logged with its payload):
 * after kill -9 Lightning still equals Redis. */
TEST(stream_restore_survives_restart) {
    REQUIRE(difftest_start("appendonly", "yes", NULL));
    if (!R) return;
    populate_streams(R);
    move_db(R, L, 0);
    move_db(R, L, 3);
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    compare_db(0);
    compare_db(3);
}

/* MIGRATE ... COPY KEYS <every key of db> from `from` to port. */
static void migrate_db(redisContext *from, int port, int db) {
    redisReply *r = redisCommand(from, "SELECT %d", db);
    if (r) freeReplyObject(r);
    size_t n;
    char **keys = keys_of(from, &n);
    const char **argv = calloc(n + 10, sizeof(char *));
    char ports[16], dbs[16];
    snprintf(ports, sizeof(ports), "%d", port);
    snprintf(dbs, sizeof(dbs), "%d", db);
    int argc = 0;
    const char *head[] = {"MIGRATE", "127.0.0.1", ports, "", dbs, "5000", "COPY", "KEYS"};
    for (size_t i = 0; i < NELEM(head); i++) argv[argc++] = head[i];
    for (size_t i = 0; i < n; i++) argv[argc++] = keys[i];
    r = redisCommandArgv(from, argc, argv, NULL);
    char *out = reply_to_string(r);
    CHECK_EQ_STR(out, "status:\"OK\"");
    free(out);
    if (r) freeReplyObject(r);
    free(argv);
    free_keys(keys, n);
    r = redisCommand(from, "SELECT 0");
    if (r) freeReplyObject(r);
}

TEST(stream_migrate_both_ways) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate_streams(L);
    ok(L, "PERSIST s:simple"); /* MIGRATE sends a relative TTL */
    migrate_db(L, RS->port, 0);
    migrate_db(L, RS->port, 3);
    compare_db(0);
    compare_db(3);
    CHECK_EQ_STR(cmd(L, "FLUSHALL"), "status:\"OK\"");
    migrate_db(R, LS->port, 0);
    compare_db(0);
    use_both();
}

/* ---- Files --------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb");
    if (!a) return -1;
    FILE *b = fopen(to, "wb");
    if (!b) {
        fclose(a);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
        if (fwrite(buf, 1, n, b) != n) rc = -1;
    fclose(a);
    if (fclose(b) != 0) rc = -1;
    return rc;
}

static int log_contains(const harness_server *s, const char *needle) {
    FILE *f = fopen(s->logfile, "r");
    if (!f) return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Redis SAVEs streams, Lightning imports the dump at start-up; then
 * `redis-cli --rdb` from Lightning is what a restarted Redis loads. */
TEST(stream_rdb_files) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate_streams(R);
    CHECK_EQ_STR(cmd(R, "SAVE"), "status:\"OK\"");
    char src[400], dst[400], c[1200];
    snprintf(src, sizeof(src), "%s/dump.rdb", RS->dir);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", LS->dir);
    harness_kill9(LS);
    snprintf(c, sizeof(c), "rm -rf '%s/wal' '%s'/snapshot-* '%s/snapshot.manifest'", LS->dir,
             LS->dir, LS->dir);
    CHECK(system(c) == 0);
    REQUIRE(copy_file(src, dst) == 0);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    CHECK(log_contains(LS, "DB loaded from dump.rdb (RDB version 10)"));
    compare_db(0);
    compare_db(3);
    if (system("redis-cli --version >/dev/null 2>&1") != 0) return;
    snprintf(c, sizeof(c), "redis-cli -p %d --rdb '%s/fromlt.rdb' >/dev/null 2>&1", LS->port,
             LS->dir);
    REQUIRE(system(c) == 0);
    snprintf(src, sizeof(src), "%s/fromlt.rdb", LS->dir);
    /* Redis's own checker, which validates stream listpacks deeply. */
    if (system("redis-check-rdb --version >/dev/null 2>&1") == 0) {
        snprintf(c, sizeof(c), "redis-check-rdb '%s' >/dev/null 2>&1", src);
        CHECK(system(c) == 0);
    }
    snprintf(dst, sizeof(dst), "%s/dump.rdb", RS->dir);
    CHECK_EQ_STR(cmd(R, "FLUSHALL"), "status:\"OK\"");
    harness_kill9(RS);
    REQUIRE(copy_file(src, dst) == 0);
    REQUIRE(harness_restart(RS) == 0);
    harness_disconnect(R);
    R = harness_connect(RS);
    REQUIRE(R != NULL);
    compare_db(0);
    compare_db(3);
    use_both();
}

/* ---- Corrupt payloads ------------------------------------------------------------ */

/* A hand-built RDB_TYPE_STREAM_LISTPACKS_2 payload (rdb_stream.c's FORMAT)
 * with one defect chosen by `bad`; lengths and elements kept small. */
enum {
    OK_PAYLOAD,
    BAD_KEY_SIZE,        /* node key of 15 bytes */
    BAD_LP_SIZE,         /* listpack header size != blob size */
    BAD_MASTER_COUNT,    /* master entry says 3 live entries, there are 2 */
    BAD_LP_COUNT,        /* an entry's lp-count wrong */
    BAD_NOT_TERMINATED,  /* master fields not followed by 0 */
    BAD_PEL_UNKNOWN,     /* a consumer owns an ID absent from the group PEL */
    BAD_PEL_ORPHAN,      /* a group PEL entry without consumer */
    BAD_DUP_GROUP,       /* the same group twice */
    BAD_DUP_CONSUMER,    /* the same consumer twice */
    BAD_DUP_PEL,         /* the same ID twice in the group PEL */
    BAD_EMPTY_LP,        /* a listpack without elements */
    BAD_TRUNCATED,       /* the value stops inside the consumer */
    BAD_NKINDS
};

typedef struct pbuf {
    unsigned char b[512];
    size_t n;
} pbuf;

static void pb_u8(pbuf *p, unsigned v) { p->b[p->n++] = (unsigned char)v; }
static void pb_raw(pbuf *p, const void *d, size_t n) {
    memcpy(p->b + p->n, d, n);
    p->n += n;
}
static void pb_str(pbuf *p, const char *s) { /* < 64 bytes */
    pb_u8(p, (unsigned)strlen(s));
    pb_raw(p, s, strlen(s));
}
static void pb_id16(pbuf *p, unsigned ms, unsigned seq) {
    for (int i = 0; i < 8; i++) pb_u8(p, i == 7 ? ms : 0);
    for (int i = 0; i < 8; i++) pb_u8(p, i == 7 ? seq : 0);
}
static void pb_ms8(pbuf *p, uint64_t t) {
    for (int i = 0; i < 8; i++) pb_u8(p, (unsigned)(t >> (8 * i)) & 0xFF);
}
/* Listpack elements: a 7-bit unsigned integer, a short string. */
static void lp_uint(pbuf *p, unsigned v) {
    pb_u8(p, v);
    pb_u8(p, 1);
}
static void lp_s(pbuf *p, const char *s) {
    size_t n = strlen(s);
    pb_u8(p, 0x80 | (unsigned)n);
    pb_raw(p, s, n);
    pb_u8(p, (unsigned)(n + 1));
}

static size_t make_payload(int bad, unsigned char *out) {
    pbuf lp = {.n = 6};
    unsigned elems = 0;
    if (bad != BAD_EMPTY_LP) {
        /* master: count, deleted, 2 fields, 0 */
        lp_uint(&lp, bad == BAD_MASTER_COUNT ? 3 : 2);
        lp_uint(&lp, 0);
        lp_uint(&lp, 2);
        lp_s(&lp, "f");
        lp_s(&lp, "g");
        if (bad != BAD_NOT_TERMINATED) lp_uint(&lp, 0);
        /* 5-1: same fields */
        lp_uint(&lp, 2);
        lp_uint(&lp, 0);
        lp_uint(&lp, 0);
        lp_s(&lp, "v1");
        lp_s(&lp, "w1");
        lp_uint(&lp, bad == BAD_LP_COUNT ? 4 : 5);
        /* 6-0: other fields; seq - master.seq = -1, a 13-bit integer. */
        lp_uint(&lp, 0);
        lp_uint(&lp, 1);
        pb_u8(&lp, 0xDF);
        pb_u8(&lp, 0xFF);
        pb_u8(&lp, 2);
        lp_uint(&lp, 1);
        lp_s(&lp, "h");
        lp_s(&lp, "x");
        lp_uint(&lp, 6);
        elems = bad == BAD_NOT_TERMINATED ? 18 : 19;
    }
    pb_u8(&lp, 0xFF);
    size_t total = lp.n + (bad == BAD_LP_SIZE ? 1 : 0);
    for (int i = 0; i < 4; i++) lp.b[i] = (unsigned char)(total >> (8 * i));
    lp.b[4] = (unsigned char)elems;
    lp.b[5] = 0;

    pbuf p = {.n = 0};
    pb_u8(&p, 19);
    pb_u8(&p, 1); /* one node */
    pb_u8(&p, bad == BAD_KEY_SIZE ? 15 : 16);
    pb_id16(&p, 5, 1);
    if (bad == BAD_KEY_SIZE) p.n--;
    pb_u8(&p, (unsigned)lp.n);
    pb_raw(&p, lp.b, lp.n);
    pb_u8(&p, bad == BAD_EMPTY_LP ? 0 : 2); /* length */
    pb_u8(&p, 6);                           /* last id 6-0 */
    pb_u8(&p, 0);
    pb_u8(&p, 5); /* first id 5-1 */
    pb_u8(&p, 1);
    pb_u8(&p, 0); /* max deleted 0-0 */
    pb_u8(&p, 0);
    pb_u8(&p, 2); /* entries added */
    int groups = bad == BAD_DUP_GROUP ? 2 : 1;
    pb_u8(&p, (unsigned)groups);
    for (int g = 0; g < groups; g++) {
        pb_str(&p, "grp");
        pb_u8(&p, 6); /* last id 6-0, entries read 2 */
        pb_u8(&p, 0);
        pb_u8(&p, 2);
        int npel = bad == BAD_DUP_PEL ? 3 : 2;
        pb_u8(&p, (unsigned)npel);
        pb_id16(&p, 5, 1);
        pb_ms8(&p, 1700000000000ULL);
        pb_u8(&p, 1);
        pb_id16(&p, 6, 0);
        pb_ms8(&p, 1700000000500ULL);
        pb_u8(&p, 3);
        if (bad == BAD_DUP_PEL) {
            pb_id16(&p, 6, 0);
            pb_ms8(&p, 1700000000500ULL);
            pb_u8(&p, 3);
        }
        int nc = bad == BAD_DUP_CONSUMER ? 2 : 1;
        pb_u8(&p, (unsigned)nc);
        for (int c = 0; c < nc; c++) {
            pb_str(&p, "alice");
            pb_ms8(&p, 1700000000600ULL);
            int owned = bad == BAD_PEL_ORPHAN || c > 0 ? 1 : 2;
            pb_u8(&p, (unsigned)owned);
            pb_id16(&p, 5, 1);
            if (owned == 2) {
                if (bad == BAD_PEL_UNKNOWN) pb_id16(&p, 7, 0);
                else pb_id16(&p, 6, 0);
            }
        }
    }
    if (bad == BAD_TRUNCATED) p.n -= 10;
    memcpy(out, p.b, p.n);
    size_t n = p.n;
    out[n++] = 10;
    out[n++] = 0;
    uint64_t crc = crc64_jones(0, out, n);
    for (int i = 0; i < 8; i++) out[n++] = (unsigned char)(crc >> (8 * i));
    return n;
}

static const char *restore_on(redisContext *c, const char *key, const unsigned char *p,
                              size_t n) {
    const char *argv[] = {"RESTORE", key, "0", (const char *)p};
    size_t lens[] = {7, strlen(key), 1, n};
    redisReply *r = redisCommandArgv(c, 4, argv, lens);
    static char out[2][256];
    static int turn;
    char *s = reply_to_string(r);
    turn ^= 1;
    snprintf(out[turn], sizeof(out[turn]), "%s", s);
    free(s);
    if (r) freeReplyObject(r);
    return out[turn];
}

TEST(stream_corrupt_payloads) {
    REQUIRE(difftest_start("sanitize-dump-payload", "yes", NULL));
    if (!R) return;
    unsigned char p[600];
    size_t n = make_payload(OK_PAYLOAD, p);
    CHECK_EQ_STR(restore_on(L, "good", p, n), "status:\"OK\"");
    CHECK_EQ_STR(restore_on(R, "good", p, n), "status:\"OK\"");
    compare_xinfo("good");
    C("XRANGE", "good", "-", "+");
    for (int bad = OK_PAYLOAD + 1; bad < BAD_NKINDS; bad++) {
        n = make_payload(bad, p);
        char key[32];
        snprintf(key, sizeof(key), "bad%d", bad);
        const char *l = restore_on(L, key, p, n);
        const char *r = restore_on(R, key, p, n);
        if (strcmp(l, BAD_FORMAT) || strcmp(r, BAD_FORMAT))
            fprintf(stderr, "# corruption %d: L %s, R %s\n", bad, l, r);
        CHECK_EQ_STR(l, BAD_FORMAT);
        CHECK_EQ_STR(r, BAD_FORMAT);
        C("EXISTS", key);
    }
    /* Every byte of a real Redis payload flipped (CRC recomputed): refused,
     * or restored to a key that still answers. Lightning only: Redis
     * itself does not survive all of these. */
    C("XADD", "src", "1-1", "a", "1", "b", "hello");
    C("XADD", "src", "2-5", "a", "2", "c", "3");
    C("XGROUP", "CREATE", "src", "g", "0");
    C("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "src", ">");
    redisReply *d = redisCommand(R, "DUMP src");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    size_t body = d->len - 10;
    unsigned char *q = malloc(d->len);
    int accepted = 0, refused = 0;
    for (size_t i = 1; i < body; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(q, d->str, d->len);
            q[i] ^= (unsigned char)(1u << bit);
            uint64_t crc = crc64_jones(0, q, d->len - 8);
            for (int j = 0; j < 8; j++) q[d->len - 8 + j] = (unsigned char)(crc >> (8 * j));
            const char *l = restore_on(L, "flip", q, d->len);
            if (!strcmp(l, "status:\"OK\"")) {
                accepted++;
                redisReply *x = redisCommand(L, "XINFO STREAM flip FULL");
                CHECK(x && x->type == REDIS_REPLY_ARRAY);
                if (x) freeReplyObject(x);
                CHECK_EQ_STR(cmd(L, "DEL flip"), "int:1");
            } else {
                refused++;
                CHECK_EQ_STR(l, BAD_FORMAT);
            }
        }
    }
    CHECK(refused > 0);
    fprintf(stderr, "# %d corrupted payloads refused, %d restored\n", refused, accepted);
    CHECK_EQ_STR(cmd(L, "PING"), "status:\"PONG\"");
    free(q);
    freeReplyObject(d);
}

int main(void) {
    RUN(stream_dump_redis_to_lightning);
    RUN(stream_dump_lightning_to_redis);
    RUN(stream_restore_survives_restart);
    RUN(stream_migrate_both_ways);
    RUN(stream_rdb_files);
    RUN(stream_corrupt_payloads);
    return testlib_finish();
}
