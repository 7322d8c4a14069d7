/*
 * RDB interoperability with a real redis-server 7.0 (engine/rdb.c,
 * t_dump.c, cmd_sync.c, persist/rdb_import.c):
 *   - DUMP in Redis -> RESTORE in Lightning and the other way, for every
 *     type and encoding, contents, encodings and expiry times compared key
 *     by key on both servers;
 *   - RESTORE's options and errors, byte for byte against Redis;
 *   - a dump.rdb written by Redis (SAVE) loaded by Lightning at start-up
 *     (expired keys skipped, TTLs kept, several databases), a corrupt one
 *     refused with its offset;
 *   - `redis-cli --rdb` from Lightning loaded by a real Redis;
 *   - RESTORE surviving a restart through the WAL.
 * Needs redis-server (and redis-cli for --rdb); skipped without.
 */
#include "../difftest.h"

#include "common/crc64.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Data covering every type and encoding -------------------------------- */

static void populate(redisContext *c) {
    char big[600], el[64];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *cmds[] = {
        "SET str:int 12345", "SET str:neg -77", "SET str:i64 9223372036854775807",
        "SET str:i11 12345678901", "SET str:raw hello", "SET str:empty \"\"",
        "RPUSH list:small a 1 -2 300000 x", "SADD set:int 1 2 3 -5 100000",
        "SADD set:str a b c 1", "ZADD zset:small 1 a 2.5 b -3 c inf d -inf e 0 f",
        "HSET hash:small f1 v1 f2 2 3 three", "SET ttl:str v PX 50000000",
        "RPUSH ttl:list a b", "PEXPIRE ttl:list 40000000",
    };
    for (size_t i = 0; i < NELEM(cmds); i++) {
        /* Split on spaces; "" is an empty argument. */
        char line[128], *argv[16], *save = NULL;
        snprintf(line, sizeof(line), "%s", cmds[i]);
        int argc = 0;
        for (char *w = strtok_r(line, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
            argv[argc++] = strcmp(w, "\"\"") == 0 ? "" : w;
        redisReply *rr = redisCommandArgv(c, argc, (const char **)argv, NULL);
        CHECK(rr && rr->type != REDIS_REPLY_ERROR);
        if (rr) freeReplyObject(rr);
    }
    redisReply *r = redisCommand(c, "SET str:lzf %s", big);
    if (r) freeReplyObject(r);
    r = redisCommand(c, "SET str:bin %b", "a\0b\xff", (size_t)4);
    if (r) freeReplyObject(r);
    for (int i = 0; i < 2000; i++) {
        if (i % 3) snprintf(el, sizeof(el), "elem-%d", i);
        else snprintf(el, sizeof(el), "%d", i * 7919 - 5000);
        cmd(c, "RPUSH list:big %s", el);
    }
    r = redisCommand(c, "RPUSH list:hugeel small %s small2", big);
    if (r) freeReplyObject(r);
    for (int i = 0; i < 600; i++) cmd(c, "SADD set:bigint %d", i * 3 - 100);
    for (int i = 0; i < 700; i++) cmd(c, "SADD set:bigstr m%d", i);
    for (int i = 0; i < 200; i++) cmd(c, "ZADD zset:big %d.5 m%d", i - 50, i);
    r = redisCommand(c, "ZADD zset:longmember 1 %s 2 x", big);
    if (r) freeReplyObject(r);
    for (int i = 0; i < 600; i++) cmd(c, "HSET hash:big f%d %d", i, i * 11);
    r = redisCommand(c, "HSET hash:longval f %s g 1", big);
    if (r) freeReplyObject(r);
    cmd(c, "SELECT 5");
    cmd(c, "SET db5:key v5");
    cmd(c, "SADD db5:set x y");
    cmd(c, "SELECT 0");
}

/* Sorted keys of the current database of c (KEYS *): malloc'd array of
 * malloc'd strings, *n entries. */
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
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v;
}

static void free_keys(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Compares database db on L and R key by key: the key sets, each key's
 * type, encoding, absolute expiry (exact, or within slack_ms when the keys
 * travelled with a relative TTL) and contents. */
static void compare_db_slack(int db, int encodings, long long slack_ms) {
    char dbs[8];
    snprintf(dbs, sizeof(dbs), "%d", db);
    C("SELECT", dbs);
    C("DBSIZE");
    size_t n;
    char **keys = keys_of(R, &n);
    CHECK(n > 0 || db != 0);
    CU("KEYS", "*");
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[i];
        char t[64];
        snprintf(t, sizeof(t), "%s", C("TYPE", k));
        if (!slack_ms) {
            C("PEXPIRETIME", k);
        } else {
            redisReply *a = redisCommand(L, "PEXPIRETIME %s", k), *b = redisCommand(R, "PEXPIRETIME %s", k);
            CHECK(a && b && a->type == REDIS_REPLY_INTEGER && b->type == REDIS_REPLY_INTEGER &&
                  llabs(a->integer - b->integer) <= slack_ms && (a->integer < 0) == (b->integer < 0));
            if (a) freeReplyObject(a);
            if (b) freeReplyObject(b);
        }
        if (encodings) C("OBJECT", "ENCODING", k);
        if (!strcmp(t, "status:\"string\"")) {
            C("GET", k);
        } else if (!strcmp(t, "status:\"list\"")) {
            C("LRANGE", k, "0", "-1");
        } else if (!strcmp(t, "status:\"set\"")) {
            C("SCARD", k);
            CU("SMEMBERS", k);
        } else if (!strcmp(t, "status:\"zset\"")) {
            C("ZRANGE", k, "0", "-1", "WITHSCORES");
        } else if (!strcmp(t, "status:\"hash\"")) {
            C("HLEN", k);
            size_t nf;
            redisReply *r = redisCommand(R, "HKEYS %s", k);
            nf = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
            for (size_t j = 0; j < nf; j++) C("HGET", k, r->element[j]->str);
            if (r) freeReplyObject(r);
        } else {
            CHECK(!"unexpected type");
        }
    }
    free_keys(keys, n);
    C("SELECT", "0");
}

static void compare_db(int db, int encodings) { compare_db_slack(db, encodings, 0); }

/* DUMPs every key of database db on `from` and RESTOREs it on `to` with
 * its absolute expiry (ABSTTL). */
static void move_db(redisContext *from, redisContext *to, int db) {
    redisReply *r;
    r = redisCommand(from, "SELECT %d", db);
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

TEST(dump_redis_to_lightning) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate(R);
    move_db(R, L, 0);
    move_db(R, L, 5);
    compare_db(0, 1);
    compare_db(5, 1);
}

TEST(dump_lightning_to_redis) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate(L);
    move_db(L, R, 0);
    move_db(L, R, 5);
    compare_db(0, 1);
    compare_db(5, 1);
    /* And back: a payload Lightning made of a value Redis restored. */
    CHECK_EQ_STR(cmd(L, "FLUSHALL"), "status:\"OK\"");
    move_db(R, L, 0);
    compare_db(0, 1);
}

/* Redis 7.0's encoding thresholds lowered: small values in their big
 * encodings (quicklist of several nodes, hashtable, skiplist). */
TEST(dump_small_thresholds) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    cmd(R, "CONFIG SET list-max-listpack-size 4");
    cmd(R, "CONFIG SET hash-max-listpack-entries 2");
    cmd(R, "CONFIG SET zset-max-listpack-entries 2");
    cmd(R, "CONFIG SET set-max-intset-entries 2");
    cmd(R, "RPUSH l 1 2 3 4 5 6 7 8 9 a b c");
    cmd(R, "HSET h a 1 b 2 c 3");
    cmd(R, "ZADD z 1 a 2 b 3 c");
    cmd(R, "SADD s 1 2 3");
    CHECK_EQ_STR(cmd(R, "OBJECT ENCODING h"), "bulk:\"hashtable\"");
    CHECK_EQ_STR(cmd(R, "OBJECT ENCODING z"), "bulk:\"skiplist\"");
    CHECK_EQ_STR(cmd(R, "OBJECT ENCODING s"), "bulk:\"hashtable\"");
    move_db(R, L, 0);
    compare_db(0, 0);
}

/* RESTORE key ttl payload opts... on both servers (payload binary), the
 * rendered replies compared; returns Lightning's (static buffer). */
static const char *restore_both(const char *key, const char *ttl, const char *p, size_t plen,
                                const char *o1, const char *o2, const char *o3) {
    static char out[512];
    const char *argv[8] = {"RESTORE", key, ttl, p, o1, o2, o3};
    size_t lens[8] = {7, strlen(key), strlen(ttl), plen};
    int argc = 4;
    for (int i = 4; i < 7 && argv[i]; i++, argc++) lens[i] = strlen(argv[i]);
    redisReply *a = redisCommandArgv(L, argc, argv, lens);
    char *sa = reply_to_string(a);
    if (R) {
        redisReply *b = redisCommandArgv(R, argc, argv, lens);
        char *sb = reply_to_string(b);
        CHECK_EQ_STR(sa, sb);
        free(sb);
        if (b) freeReplyObject(b);
    }
    snprintf(out, sizeof(out), "%s", sa);
    free(sa);
    if (a) freeReplyObject(a);
    return out;
}

TEST(restore_options_and_errors) {
    REQUIRE(difftest_start(NULL));
    C("RPUSH", "src", "a", "b", "c");
    redisReply *d = redisCommand(L, "DUMP src");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    char *p = malloc(d->len);
    size_t plen = d->len;
    memcpy(p, d->str, plen);
    freeReplyObject(d);
    EXPECT("nil", "DUMP", "nokey");
    CHECK_EQ_STR(restore_both("k", "0", p, plen, NULL, NULL, NULL), "status:\"OK\"");
    C("LRANGE", "k", "0", "-1");
    CHECK_EQ_STR(restore_both("k", "0", p, plen, NULL, NULL, NULL),
                 "err:\"BUSYKEY Target key name already exists.\"");
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "REPLACE", NULL, NULL), "status:\"OK\"");
    CHECK_EQ_STR(restore_both("k", "-1", p, plen, "REPLACE", NULL, NULL),
                 "err:\"ERR Invalid TTL value, must be >= 0\"");
    CHECK_EQ_STR(restore_both("k", "abc", p, plen, "REPLACE", NULL, NULL), NOTINT);
    /* BUSYKEY is checked before the TTL. */
    CHECK_EQ_STR(restore_both("k", "abc", p, plen, NULL, NULL, NULL),
                 "err:\"BUSYKEY Target key name already exists.\"");
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "FOO", NULL, NULL), SYNTAX);
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "IDLETIME", NULL, NULL), SYNTAX);
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "IDLETIME", "-1", NULL),
                 "err:\"ERR Invalid IDLETIME value, must be >= 0\"");
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "IDLETIME", "x", NULL), NOTINT);
    CHECK_EQ_STR(restore_both("k", "0", p, plen, "FREQ", "256", NULL),
                 "err:\"ERR Invalid FREQ value, must be >= 0 and <= 255\"");
    CHECK_EQ_STR(restore_both("k2", "0", p, plen, "FREQ", "5", "IDLETIME"), SYNTAX);
    CHECK_EQ_STR(restore_both("k2", "0", p, plen, "IDLETIME", "1000", NULL), "status:\"OK\"");
    const char *idle = cmd(L, "OBJECT IDLETIME k2");
    CHECK(strncmp(idle, "int:100", 7) == 0);
    /* A bad checksum, a bad version, a short payload, garbage with a valid
     * footer. */
    char *bad = malloc(plen);
    memcpy(bad, p, plen);
    bad[1] ^= 0x55;
    CHECK_EQ_STR(restore_both("k3", "0", bad, plen, NULL, NULL, NULL),
                 "err:\"ERR DUMP payload version or checksum are wrong\"");
    memcpy(bad, p, plen);
    bad[plen - 10] = 11; /* RDB version 11 */
    CHECK_EQ_STR(restore_both("k3", "0", bad, plen, NULL, NULL, NULL),
                 "err:\"ERR DUMP payload version or checksum are wrong\"");
    CHECK_EQ_STR(restore_both("k3", "0", "abc", 3, NULL, NULL, NULL),
                 "err:\"ERR DUMP payload version or checksum are wrong\"");
    /* Footers that are valid around values that are not: a string
     * claiming 50 bytes with 2, an unknown type, a list missing its second
     * element. */
    static const unsigned char bodies[][4] = {{0, 50, 'a', 'b'}, {200, 1, 'a', 0},
                                             {1, 2, 1, 'a'}};
    for (size_t i = 0; i < NELEM(bodies); i++) {
        unsigned char pay[14];
        size_t blen = i == 1 ? 3 : 4;
        memcpy(pay, bodies[i], blen);
        pay[blen] = 10;
        pay[blen + 1] = 0;
        uint64_t crc = crc64_jones(0, pay, blen + 2);
        for (int k = 0; k < 8; k++) pay[blen + 2 + k] = (unsigned char)(crc >> (8 * k));
        CHECK_EQ_STR(restore_both("k3", "0", (const char *)pay, blen + 10, NULL, NULL, NULL),
                     "err:\"ERR Bad data format\"");
    }
    {
        /* Bytes after the value are ignored (Redis does not check). */
        unsigned char pay[14] = {0, 1, 'a', 'x', 10, 0};
        uint64_t crc = crc64_jones(0, pay, 6);
        for (int k = 0; k < 8; k++) pay[6 + k] = (unsigned char)(crc >> (8 * k));
        CHECK_EQ_STR(restore_both("k6", "0", (const char *)pay, 14, NULL, NULL, NULL),
                     "status:\"OK\"");
        EXPECT("bulk:\"a\"", "GET", "k6");
    }
    /* ABSTTL in the past: OK and no key (both). */
    CHECK_EQ_STR(restore_both("k4", "1000", p, plen, "ABSTTL", NULL, NULL), "status:\"OK\"");
    EXPECT("int:0", "EXISTS", "k4");
    /* REPLACE with a past ABSTTL deletes the old key. */
    CHECK_EQ_STR(restore_both("k", "1000", p, plen, "ABSTTL", "REPLACE", NULL), "status:\"OK\"");
    EXPECT("int:0", "EXISTS", "k");
    /* A relative TTL. */
    CHECK_EQ_STR(restore_both("k5", "100000", p, plen, NULL, NULL, NULL), "status:\"OK\"");
    const char *pt = cmd(L, "PTTL k5");
    CHECK(strncmp(pt, "int:", 4) == 0 && atoll(pt + 4) > 90000 && atoll(pt + 4) <= 100000);
    EXPECT("err:\"ERR wrong number of arguments for 'restore' command\"", "RESTORE", "k", "0");
    EXPECT("err:\"ERR wrong number of arguments for 'dump' command\"", "DUMP");
    free(bad);
    free(p);
}

/* A RESTOREd key (relative TTL) comes back after kill -9 through the WAL
 * with the same absolute expiry and the same DUMP bytes. */
TEST(restore_survives_restart) {
    REQUIRE(difftest_start("appendonly", "yes", NULL));
    populate(L);
    C("RPUSH", "tmp", "x");
    redisReply *d = redisCommand(L, "DUMP list:big");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    redisReply *o = redisCommand(L, "RESTORE copy 5000000 %b", d->str, (size_t)d->len);
    CHECK(o && o->type == REDIS_REPLY_STATUS);
    if (o) freeReplyObject(o);
    char before[64];
    snprintf(before, sizeof(before), "%s", cmd(L, "PEXPIRETIME copy"));
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    CHECK_EQ_STR(cmd(L, "PEXPIRETIME copy"), before);
    redisReply *d2 = redisCommand(L, "DUMP copy");
    CHECK(d2 && d2->type == REDIS_REPLY_STRING && d2->len == d->len &&
          memcmp(d2->str, d->str, d->len) == 0);
    if (d2) freeReplyObject(d2);
    freeReplyObject(d);
}

/* ---- Files ------------------------------------------------------------------ */

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

/* Removes Lightning's own data files from dir (WAL segments, snapshots). */
static void wipe_lightning_data(const char *dir) {
    char c[600];
    snprintf(c, sizeof(c), "rm -rf '%s/wal' '%s'/snapshot-* '%s/snapshot.manifest'", dir, dir,
             dir);
    CHECK(system(c) == 0);
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

TEST(load_redis_dump_at_startup) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    cmd(R, "CONFIG SET list-max-listpack-size 4");
    populate(R);
    cmd(R, "SET gone v PX 300"); /* expired by the time Lightning loads */
    redisReply *fr = redisCommand(R, "FUNCTION LOAD %s",
                                  "#!lua name=lib1\nredis.register_function('f', function() "
                                  "return 1 end)");
    CHECK(fr && fr->type == REDIS_REPLY_STRING);
    if (fr) freeReplyObject(fr);
    CHECK_EQ_STR(cmd(R, "SAVE"), "status:\"OK\"");
    harness_sleep_ms(400);
    char src[400], dst[400];
    snprintf(src, sizeof(src), "%s/dump.rdb", RS->dir);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", LS->dir);
    harness_kill9(LS);
    wipe_lightning_data(LS->dir);
    REQUIRE(copy_file(src, dst) == 0);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    CHECK(log_contains(LS, "DB loaded from dump.rdb (RDB version 10)"));
    CHECK(log_contains(LS, "1 already expired, skipped"));
    CHECK(log_contains(LS, "1 function library"));
    cmd(R, "DEL gone"); /* Redis may not have expired it yet */
    compare_db(0, 0);
    compare_db(5, 0);
    /* Once Lightning has data of its own, the dump is not loaded again. */
    cmd(L, "SET onlylightning 1");
    cmd(L, "SAVE");
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    CHECK_EQ_STR(cmd(L, "GET onlylightning"), "bulk:\"1\"");
    CHECK(log_contains(LS, "dump.rdb ignored"));
}

TEST(corrupt_dump_refused) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate(R);
    CHECK_EQ_STR(cmd(R, "SAVE"), "status:\"OK\"");
    char src[400], dst[400];
    snprintf(src, sizeof(src), "%s/dump.rdb", RS->dir);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", LS->dir);
    harness_kill9(LS);
    LS->expect_exit = 1;
    wipe_lightning_data(LS->dir);
    REQUIRE(copy_file(src, dst) == 0);
    /* Flip one byte in the middle: the CRC64 no longer matches. */
    FILE *f = fopen(dst, "r+b");
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(ch ^ 0x20, f);
    fclose(f);
    const char *dirs[] = {"dir", LS->dir, NULL};
    harness_opts o = {.kind = HARNESS_LIGHTNING, .directives = dirs, .no_wait = 1};
    harness_server *s = harness_start_opts(&o);
    REQUIRE(s != NULL);
    int st = harness_wait_exit(s, 10000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
    CHECK(log_contains(s, "is not a valid RDB file: offset"));
}

TEST(redis_cli_rdb_from_lightning) {
    REQUIRE(difftest_start(NULL));
    if (!R || system("redis-cli --version >/dev/null 2>&1") != 0) return;
    populate(L);
    /* The same data on Redis, for comparing after it loads the file. */
    populate(R);
    char path[400], c[800];
    snprintf(path, sizeof(path), "%s/dump.rdb", RS->dir);
    snprintf(c, sizeof(c), "redis-cli -p %d --rdb '%s/fromlt.rdb' >/dev/null 2>&1", LS->port,
             LS->dir);
    REQUIRE(system(c) == 0);
    char from[400];
    snprintf(from, sizeof(from), "%s/fromlt.rdb", LS->dir);
    CHECK_EQ_STR(cmd(R, "FLUSHALL"), "status:\"OK\"");
    harness_kill9(RS);
    REQUIRE(copy_file(from, path) == 0);
    REQUIRE(harness_restart(RS) == 0);
    harness_disconnect(R);
    R = harness_connect(RS);
    REQUIRE(R != NULL);
    CHECK(strcmp(cmd(R, "DBSIZE"), "int:0") != 0);
    compare_db(0, 1);
    compare_db(5, 1);
    /* PSYNC answers a full resync first. */
    int fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "PSYNC ? -1\r\n");
    raw_buf b = raw_read_until(fd, 2000);
    CHECK(b.len > 12 && strncmp(b.data, "+FULLRESYNC ", 12) == 0);
    CHECK(b.data && strstr(b.data, "\r\n$") != NULL && strstr(b.data, "REDIS0010") != NULL);
    raw_buf_free(&b);
    raw_close(fd);
    /* Pipelined behind another reply: Redis's error. */
    fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "PING\r\nSYNC\r\n");
    b = raw_read_until(fd, 1000);
    CHECK_EQ_STR(b.data, "+PONG\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n");
    raw_buf_free(&b);
    raw_close(fd);
    /* The connection that synced is a replica: as with Redis, its PING
     * gets no reply, the replication stream follows the payload. */
    fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "SYNC\r\nPING\r\n");
    b = raw_read_until(fd, 2000);
    CHECK(b.len > 6 && b.data[0] == '$' && strstr(b.data, "REDIS0010") != NULL);
    CHECK(b.len > 7 && memmem(b.data, b.len, "+PONG\r\n", 7) == NULL);
    raw_buf_free(&b);
    raw_close(fd);
}

/* ---- MIGRATE ---------------------------------------------------------------- */

/* MIGRATE every key of database db on `from` to port (same db there), in
 * one KEYS call with extra options; returns the reply rendered. */
static char *migrate_all(redisContext *from, int port, int db, const char *o1, const char *o2) {
    redisReply *r = redisCommand(from, "SELECT %d", db);
    if (r) freeReplyObject(r);
    size_t n;
    char **keys = keys_of(from, &n);
    const char **argv = calloc(n + 12, sizeof(char *));
    char ports[16], dbs[16];
    snprintf(ports, sizeof(ports), "%d", port);
    snprintf(dbs, sizeof(dbs), "%d", db);
    int argc = 0;
    argv[argc++] = "MIGRATE";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = ports;
    argv[argc++] = "";
    argv[argc++] = dbs;
    argv[argc++] = "5000";
    if (o1) argv[argc++] = o1;
    if (o2) argv[argc++] = o2;
    argv[argc++] = "KEYS";
    for (size_t i = 0; i < n; i++) argv[argc++] = keys[i];
    r = redisCommandArgv(from, argc, argv, NULL);
    char *out = reply_to_string(r);
    if (r) freeReplyObject(r);
    free(argv);
    free_keys(keys, n);
    r = redisCommand(from, "SELECT 0");
    if (r) freeReplyObject(r);
    return out;
}

static void check_migrate(redisContext *from, int port, int db, const char *o1, const char *o2) {
    char *s = migrate_all(from, port, db, o1, o2);
    CHECK_EQ_STR(s, "status:\"OK\"");
    free(s);
}

TEST(migrate_lightning_to_redis) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate(L);
    check_migrate(L, RS->port, 0, "COPY", NULL);
    check_migrate(L, RS->port, 5, "COPY", NULL);
    compare_db_slack(0, 1, 1000);
    compare_db_slack(5, 1, 1000);
    /* Without COPY the keys leave Lightning; REPLACE overwrites. */
    check_migrate(L, RS->port, 0, "REPLACE", NULL);
    CHECK_EQ_STR(cmd(L, "DBSIZE"), "int:0");
    CHECK(strcmp(cmd(R, "DBSIZE"), "int:0") != 0);
}

TEST(migrate_redis_to_lightning) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    populate(R);
    check_migrate(R, LS->port, 0, "COPY", NULL);
    check_migrate(R, LS->port, 5, "COPY", NULL);
    compare_db_slack(0, 1, 1000);
    compare_db_slack(5, 1, 1000);
}

TEST(migrate_lightning_to_lightning) {
    REQUIRE(difftest_start_servers(NULL));
    harness_server *l2 = harness_start("requirepass", "pw", NULL);
    REQUIRE(l2 != NULL);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    populate(L);
    /* A target asking for a password: the error, then AUTH / AUTH2. */
    char *s = migrate_all(L, l2->port, 0, "COPY", NULL);
    CHECK_EQ_STR(s, "err:\"ERR Target instance replied with error: NOAUTH Authentication "
                    "required.\"");
    free(s);
    char *s2 = migrate_all(L, l2->port, 0, "AUTH", "pw");
    CHECK_EQ_STR(s2, "status:\"OK\"");
    free(s2);
    CHECK_EQ_STR(cmd(L, "DBSIZE"), "int:0");
    redisContext *c2 = harness_connect(l2);
    REQUIRE(c2 != NULL);
    CHECK_EQ_STR(cmd(c2, "AUTH pw"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c2, "LLEN list:big"), "int:2000");
    CHECK_EQ_STR(cmd(c2, "HGET hash:big f599"), "bulk:\"6589\"");
    const char *pt = cmd(c2, "PTTL ttl:str");
    CHECK(strncmp(pt, "int:", 4) == 0 && atoll(pt + 4) > 49000000);
    if (strncmp(pt, "int:", 4) != 0 || atoll(pt + 4) <= 49000000) fprintf(stderr, "# pttl %s dbsize %s keys %s\n", pt, cmd(L, "DBSIZE"), cmd(c2, "KEYS *"));
    /* And back with AUTH2 (default user) into Lightning. */
    redisReply *r = redisCommand(c2, "MIGRATE 127.0.0.1 %d list:big 0 5000 AUTH2 default x",
                                 LS->port);
    char *rs = reply_to_string(r);
    CHECK_EQ_STR(rs, "status:\"OK\"");
    free(rs);
    if (r) freeReplyObject(r);
    CHECK_EQ_STR(cmd(L, "LLEN list:big"), "int:2000");
    harness_disconnect(c2);
}

/* MIGRATE's replies for the same situations from Lightning and from Redis
 * towards a third server. */
TEST(migrate_replies) {
    REQUIRE(difftest_start(NULL));
    harness_server *t = harness_start_redis(NULL);
    if (!t) t = harness_start(NULL);
    REQUIRE(t != NULL);
    redisContext *tc = harness_connect(t);
    REQUIRE(tc != NULL);
    char port[16];
    snprintf(port, sizeof(port), "%d", t->port);
    C("SET", "k", "v");
    C("SET", "k2", "v2");
    EXPECT("status:\"NOKEY\"", "MIGRATE", "127.0.0.1", port, "nokey", "0", "1000");
    EXPECT(SYNTAX, "MIGRATE", "127.0.0.1", port, "k", "0", "1000", "FOO");
    EXPECT(SYNTAX, "MIGRATE", "127.0.0.1", port, "k", "0", "1000", "AUTH");
    EXPECT(SYNTAX, "MIGRATE", "127.0.0.1", port, "k", "0", "1000", "AUTH2", "u");
    EXPECT("err:\"ERR When using MIGRATE KEYS option, the key argument must be set to the "
           "empty string\"", "MIGRATE", "127.0.0.1", port, "k", "0", "1000", "KEYS", "k");
    EXPECT(NOTINT, "MIGRATE", "127.0.0.1", port, "k", "0", "x");
    EXPECT(NOTINT, "MIGRATE", "127.0.0.1", port, "k", "x", "1000");
    /* A refused connection fails on the first write, as in Redis. */
    EXPECT("err:\"IOERR error or timeout writing to target instance\"", "MIGRATE", "127.0.0.1",
           "1", "k", "0", "1000");
    CHECK_EQ_STR(cmd(tc, "SET k there"), "status:\"OK\"");
    EXPECT("err:\"ERR Target instance replied with error: BUSYKEY Target key name already "
           "exists.\"", "MIGRATE", "127.0.0.1", port, "k", "0", "1000");
    EXPECT("int:1", "EXISTS", "k");
    EXPECT("status:\"OK\"", "MIGRATE", "127.0.0.1", port, "", "0", "1000", "REPLACE", "KEYS",
           "k", "k2", "nokey");
    EXPECT("int:0", "EXISTS", "k", "k2");
    CHECK_EQ_STR(cmd(tc, "MGET k k2"), "array[bulk:\"v\",bulk:\"v2\"]");
    harness_disconnect(tc);
}

/* utils/lt-rdb: Redis's dump.rdb -> a snapshot Lightning starts from, and
 * Lightning's snapshot -> an RDB file Redis starts from. */
TEST(lt_rdb_converter) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char tool[300], c[1400];
    snprintf(tool, sizeof(tool), "%s/utils/lt-rdb", build);
    if (access(tool, X_OK) != 0) {
        printf("# skip: %s not built\n", tool);
        return;
    }
    populate(R);
    CHECK_EQ_STR(cmd(R, "SAVE"), "status:\"OK\"");
    harness_kill9(LS);
    wipe_lightning_data(LS->dir);
    snprintf(c, sizeof(c), "%s --quiet to-snapshot '%s/dump.rdb' '%s' >/dev/null", tool, RS->dir,
             LS->dir);
    REQUIRE(system(c) == 0);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    compare_db(0, 0);
    compare_db(5, 0);
    /* Back: Lightning's snapshot as RDB, loaded by Redis. */
    cmd(L, "SET fromlightning yes");
    CHECK_EQ_STR(cmd(L, "SAVE"), "status:\"OK\"");
    snprintf(c, sizeof(c), "%s --quiet to-rdb '%s' '%s/conv.rdb' >/dev/null", tool, LS->dir,
             LS->dir);
    REQUIRE(system(c) == 0);
    char from[400], to[400];
    snprintf(from, sizeof(from), "%s/conv.rdb", LS->dir);
    snprintf(to, sizeof(to), "%s/dump.rdb", RS->dir);
    harness_kill9(RS);
    REQUIRE(copy_file(from, to) == 0);
    REQUIRE(harness_restart(RS) == 0);
    harness_disconnect(R);
    R = harness_connect(RS);
    REQUIRE(R != NULL);
    CHECK_EQ_STR(cmd(R, "GET fromlightning"), "bulk:\"yes\"");
    compare_db(0, 1);
    compare_db(5, 1);
    /* A corrupt RDB: the offset is printed, exit status 1. */
    FILE *f = fopen(from, "r+b");
    REQUIRE(f != NULL);
    fseek(f, 30, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 30, SEEK_SET);
    fputc(ch ^ 0x5A, f);
    fclose(f);
    snprintf(c, sizeof(c), "%s check '%s' 2>&1 | grep -q offset", tool, from);
    CHECK(system(c) == 0);
}

/* SYNC while other clients write, a client that leaves mid-payload, and a
 * shutdown with a payload writer running: the server stays up and exits
 * cleanly. */
TEST(sync_under_writes) {
    REQUIRE(difftest_start_servers(NULL));
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    for (int i = 0; i < 50000; i++) redisAppendCommand(L, "SET key:%d value-%d", i, i);
    for (int i = 0; i < 50000; i++) {
        redisReply *r;
        if (redisGetReply(L, (void **)&r) != REDIS_OK) break;
        freeReplyObject(r);
    }
    CHECK_EQ_STR(cmd(L, "DBSIZE"), "int:50000");
    int fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "SYNC\r\n");
    /* Writers go on (on every I/O thread) while the payload is produced. */
    for (int i = 0; i < 2000; i++) {
        const char *r = cmd(L, "SET key:%d changed", i);
        CHECK_EQ_STR(r, "status:\"OK\"");
        if (strcmp(r, "status:\"OK\"") != 0) break;
    }
    raw_buf b = raw_read_until(fd, 3000);
    CHECK(b.len > 1000000 && b.data[0] == '$' && strstr(b.data, "\r\nREDIS0010") != NULL);
    /* $<len>\r\n, len bytes, then the replication stream (the writes
     * after the payload's point, and the master's PINGs: RESP commands). */
    if (b.len > 0 && b.data[0] == '$') {
        long long n = atoll(b.data + 1);
        const char *body = strstr(b.data, "\r\n");
        long long got = body ? (long long)(b.len - (size_t)(body + 2 - b.data)) : -1;
        CHECK(got >= n);
        if (body && got > n) CHECK(body[2 + n] == '*');
    }
    raw_buf_free(&b);
    raw_close(fd);
    /* A client that leaves at once. */
    fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "SYNC\r\n");
    raw_close(fd);
    CHECK_EQ_STR(cmd(L, "PING"), "status:\"PONG\"");
    /* Shutdown while a payload is being written. */
    fd = raw_connect_server(LS);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "SYNC\r\n");
    harness_disconnect(L);
    L = NULL;
    int st = harness_stop(LS);
    LS = NULL;
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    raw_close(fd);
}

int main(void) {
    RUN(dump_redis_to_lightning);
    RUN(dump_lightning_to_redis);
    RUN(dump_small_thresholds);
    RUN(restore_options_and_errors);
    RUN(restore_survives_restart);
    RUN(load_redis_dump_at_startup);
    RUN(corrupt_dump_refused);
    RUN(redis_cli_rdb_from_lightning);
    RUN(migrate_lightning_to_redis);
    RUN(migrate_redis_to_lightning);
    RUN(migrate_lightning_to_lightning);
    RUN(migrate_replies);
    RUN(lt_rdb_converter);
    RUN(sync_under_writes);
    return testlib_finish();
}
