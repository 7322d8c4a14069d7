/*
 * Expiry against a real redis-server 7.0: EXPIRE PEXPIRE EXPIREAT
 * PEXPIREAT with NX XX GT LT and their errors, past times deleting the key,
 * TTL PTTL EXPIRETIME PEXPIRETIME PERSIST, lazy expiry on access, the
 * active expiry cycle (keys nobody touches go away), and what INFO reports
 * about it (keyspace keys= expires=, stats expired_keys). Time-dependent
 * replies are checked within a tolerance instead of compared.
 */
#include "../harness.h"

#include <stdlib.h>
#include <sys/time.h>

typedef struct pair {
    redisContext *l, *r;
} pair;

static pair start_pair(void) {
    pair p = {NULL, NULL};
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    if (!l) return p;
    p.l = harness_connect(l);
    p.r = harness_connect(r);
    return p;
}

#define EXPECT(p, want, ...) CHECK_EQ_STR(COMPARE((p).l, (p).r, __VA_ARGS__), want)

static long long now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Integer reply of a command on c; -999999 if it is not an integer. */
static long long int_reply(redisContext *c, const char *fmt, const char *key) {
    long long v;
    if (sscanf(cmd(c, fmt, key), "int:%lld", &v) != 1) return -999999;
    return v;
}

/* Checks lo <= reply <= hi on both servers. */
static void expect_range(pair p, const char *fmt, const char *key, long long lo,
                         long long hi, int line) {
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        long long v = int_reply(cs[i], fmt, key);
        if (v < lo || v > hi)
            testlib_fail(__FILE__, line, "%s: %s %s = %lld, not in [%lld, %lld]",
                         i ? "redis" : "lightning", fmt, key, v, lo, hi);
    }
}
#define EXPECT_RANGE(p, fmt, key, lo, hi) expect_range((p), (fmt), (key), (lo), (hi), __LINE__)

/* Sends n commands "SET <prefix><i> v", pipelined. */
static void fill(redisContext *c, const char *prefix, int n) {
    for (int i = 0; i < n; i++) redisAppendCommand(c, "SET %s%d v", prefix, i);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            testlib_fail(__FILE__, __LINE__, "pipeline failed");
            return;
        }
        freeReplyObject(r);
    }
}

static void info_field(redisContext *c, const char *section, const char *field,
                       char *out, size_t outlen) {
    out[0] = '\0';
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (r && r->type == REDIS_REPLY_STRING) harness_info_field(r->str, field, out, outlen);
    if (r) freeReplyObject(r);
}

TEST(option_errors) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "k", "v");
    const char *nx = "err:\"ERR NX and XX, GT or LT options at the same time are not compatible\"";
    const char *gtlt = "err:\"ERR GT and LT options at the same time are not compatible\"";
    EXPECT(p, nx, "EXPIRE", "k", "100", "NX", "XX");
    EXPECT(p, nx, "PEXPIRE", "k", "100", "nx", "gt");
    EXPECT(p, nx, "EXPIREAT", "k", "100", "LT", "NX");
    EXPECT(p, gtlt, "PEXPIREAT", "k", "100", "GT", "LT");
    EXPECT(p, nx, "EXPIRE", "k", "100", "NX", "GT", "LT");
    EXPECT(p, "err:\"ERR Unsupported option foo\"", "EXPIRE", "k", "100", "foo");
    EXPECT(p, "err:\"ERR Unsupported option bar\"", "EXPIRE", "k", "100", "NX", "bar", "XX");
    /* Options are checked before the time. */
    EXPECT(p, nx, "EXPIRE", "k", "abc", "NX", "XX");
    EXPECT(p, "err:\"ERR Unsupported option foo\"", "EXPIRE", "k", "abc", "foo");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "EXPIRE", "k", "abc");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "EXPIRE", "k", "1.5");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "EXPIRE", "k", " 1");
    EXPECT(p, "err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "k", "9223372036854775807");
    EXPECT(p, "err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "k", "-9223372036854775808");
    EXPECT(p, "err:\"ERR invalid expire time in 'pexpire' command\"",
           "PEXPIRE", "k", "9223372036854775807");
    EXPECT(p, "err:\"ERR invalid expire time in 'expireat' command\"",
           "EXPIREAT", "k", "9223372036854776");
    /* The time is checked before the key. */
    EXPECT(p, "err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "nokey", "9223372036854775807");
    EXPECT(p, "int:0", "EXPIRE", "nokey", "100");
    EXPECT(p, "int:-1", "TTL", "k");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'expire' command\"", "EXPIRE", "k");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'ttl' command\"", "TTL", "k", "x");
}

TEST(nx_xx_gt_lt) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "k", "v");
    EXPECT(p, "int:0", "EXPIRE", "k", "100", "XX"); /* no TTL yet */
    EXPECT(p, "int:0", "EXPIRE", "k", "100", "GT"); /* no TTL = infinite */
    EXPECT(p, "int:-1", "TTL", "k");
    EXPECT(p, "int:1", "EXPIRE", "k", "100", "LT");
    EXPECT(p, "int:100", "TTL", "k");
    EXPECT(p, "int:0", "EXPIRE", "k", "200", "NX");
    EXPECT(p, "int:0", "EXPIRE", "k", "200", "LT");
    EXPECT(p, "int:0", "EXPIRE", "k", "50", "GT");
    EXPECT(p, "int:1", "EXPIRE", "k", "50", "LT");
    EXPECT(p, "int:50", "TTL", "k");
    EXPECT(p, "int:1", "EXPIRE", "k", "60", "gt", "xx");
    EXPECT(p, "int:60", "TTL", "k");
    EXPECT(p, "int:1", "EXPIRE", "k", "70", "XX");
    EXPECT(p, "int:70", "TTL", "k");
    EXPECT(p, "int:1", "PERSIST", "k");
    EXPECT(p, "int:0", "PERSIST", "k");
    EXPECT(p, "int:0", "PERSIST", "nokey");
    EXPECT(p, "int:1", "EXPIRE", "k", "100", "NX", "nx");
    EXPECT(p, "int:0", "EXPIRE", "nokey", "100", "NX");
    /* LT with a past time deletes. */
    EXPECT(p, "int:1", "EXPIRE", "k", "-1", "LT");
    EXPECT(p, "int:0", "EXISTS", "k");
}

TEST(past_times_delete) {
    pair p = start_pair();
    REQUIRE(p.l);
    const char *forms[][3] = {{"EXPIRE", "0", NULL},     {"EXPIRE", "-10", NULL},
                              {"PEXPIRE", "0", NULL},    {"PEXPIREAT", "1", NULL},
                              {"EXPIREAT", "100", NULL}, {"PEXPIREAT", "-5", NULL}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        EXPECT(p, "status:\"OK\"", "SET", "k", "v");
        EXPECT(p, "int:1", forms[i][0], "k", forms[i][1]);
        EXPECT(p, "int:0", "EXISTS", "k");
        EXPECT(p, "int:-2", "TTL", "k");
    }
    /* That is a deletion, not an expiry. */
    char l[32], r[32];
    info_field(p.l, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "0");
    if (p.r) {
        info_field(p.r, "stats", "expired_keys", r, sizeof r);
        CHECK_EQ_STR(r, "0");
    }
}

TEST(ttl_family) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "int:-2", "TTL", "nokey");
    EXPECT(p, "int:-2", "PTTL", "nokey");
    EXPECT(p, "int:-2", "EXPIRETIME", "nokey");
    EXPECT(p, "int:-2", "PEXPIRETIME", "nokey");
    EXPECT(p, "status:\"OK\"", "SET", "k", "v");
    EXPECT(p, "int:-1", "TTL", "k");
    EXPECT(p, "int:-1", "PTTL", "k");
    EXPECT(p, "int:-1", "EXPIRETIME", "k");
    EXPECT(p, "int:-1", "PEXPIRETIME", "k");
    EXPECT(p, "int:1", "PEXPIRE", "k", "100000");
    EXPECT(p, "int:100", "TTL", "k");
    EXPECT_RANGE(p, "PTTL %s", "k", 99000, 100000);
    long long t0 = now_ms();
    EXPECT_RANGE(p, "PEXPIRETIME %s", "k", t0 + 99000, t0 + 100000);
    EXPECT_RANGE(p, "EXPIRETIME %s", "k", (t0 + 99000) / 1000, (t0 + 101000) / 1000);
    /* Absolute forms round-trip exactly. */
    EXPECT(p, "int:1", "PEXPIREAT", "k", "33177600000123");
    EXPECT(p, "int:33177600000123", "PEXPIRETIME", "k");
    EXPECT(p, "int:33177600000", "EXPIRETIME", "k");
    EXPECT(p, "int:1", "EXPIREAT", "k", "33177600001");
    EXPECT(p, "int:33177600001000", "PEXPIRETIME", "k");
    EXPECT(p, "int:33177600001", "EXPIRETIME", "k");
    /* Seconds are rounded to the nearest. */
    EXPECT(p, "int:1", "PEXPIREAT", "k", "33177600000500");
    EXPECT(p, "int:33177600001", "EXPIRETIME", "k");
    EXPECT(p, "int:1", "PEXPIREAT", "k", "33177600000499");
    EXPECT(p, "int:33177600000", "EXPIRETIME", "k");
    /* Near the end of time. */
    EXPECT(p, "int:1", "PEXPIREAT", "k", "9223372036854775807");
    EXPECT(p, "int:9223372036854775807", "PEXPIRETIME", "k");
    EXPECT(p, "int:9223372036854776", "EXPIRETIME", "k");
    EXPECT(p, "int:1", "EXPIREAT", "k", "9223372036854775");
    EXPECT(p, "int:9223372036854775000", "PEXPIRETIME", "k");
    EXPECT(p, "int:1", "PERSIST", "k");
    EXPECT(p, "int:-1", "PEXPIRETIME", "k");
}

TEST(lazy_expiry) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "k", "v", "PX", "100");
    EXPECT(p, "int:1", "EXISTS", "k");
    harness_sleep_ms(200);
    EXPECT(p, "int:0", "EXISTS", "k");
    EXPECT(p, "int:-2", "TTL", "k");
    EXPECT(p, "nil", "GET", "k");
    EXPECT(p, "int:0", "DBSIZE");
    EXPECT(p, "status:\"OK\"", "SET", "a", "v", "PX", "50");
    EXPECT(p, "status:\"OK\"", "SET", "b", "v");
    harness_sleep_ms(100);
    EXPECT(p, "err:\"ERR no such key\"", "RENAME", "a", "c");
    EXPECT(p, "int:0", "DEL", "a");
    EXPECT(p, "int:0", "PERSIST", "a");
    EXPECT(p, "int:0", "EXPIRE", "a", "100");
    EXPECT(p, "status:\"none\"", "TYPE", "a");
    EXPECT(p, "bulk:\"b\"", "RANDOMKEY");
}

TEST(active_expiry_and_info) {
    pair p = start_pair();
    REQUIRE(p.l);
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        fill(cs[i], "e", 1000);
        for (int j = 0; j < 1000; j++) redisAppendCommand(cs[i], "PEXPIRE e%d 50", j);
        for (int j = 0; j < 1000; j++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(cs[i], (void **)&r) == REDIS_OK);
            freeReplyObject(r);
        }
        fill(cs[i], "keep", 10);
    }
    EXPECT(p, "int:1", "EXPIRE", "keep0", "1000");
    char l[128], r[128];
    info_field(p.l, "keyspace", "db0", l, sizeof l);
    CHECK(strncmp(l, "keys=1010,expires=1001,", 23) == 0);
    if (p.r) {
        info_field(p.r, "keyspace", "db0", r, sizeof r);
        CHECK(strncmp(r, "keys=1010,expires=1001,", 23) == 0);
    }
    /* Nobody touches the keys: only the active cycle can remove them. */
    harness_sleep_ms(1000);
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        long long n = -1;
        for (int tries = 0; tries < 20; tries++) {
            sscanf(cmd(cs[i], "DBSIZE"), "int:%lld", &n);
            if (n == 10) break;
            harness_sleep_ms(100);
        }
        CHECK_EQ_INT(n, 10);
    }
    info_field(p.l, "keyspace", "db0", l, sizeof l);
    CHECK(strncmp(l, "keys=10,expires=1,", 18) == 0);
    info_field(p.l, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "1000");
    if (p.r) {
        info_field(p.r, "keyspace", "db0", r, sizeof r);
        CHECK(strncmp(r, "keys=10,expires=1,", 18) == 0);
        info_field(p.r, "stats", "expired_keys", r, sizeof r);
        CHECK_EQ_STR(r, "1000");
    }
    /* Lazy expiry counts too. */
    EXPECT(p, "int:1", "PEXPIRE", "keep1", "1");
    harness_sleep_ms(10);
    EXPECT(p, "int:0", "EXISTS", "keep1");
    info_field(p.l, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "1001");
    /* A db with no keys is not listed. */
    EXPECT(p, "status:\"OK\"", "SELECT", "3");
    EXPECT(p, "status:\"OK\"", "SET", "x", "v", "PX", "30");
    info_field(p.l, "keyspace", "db3", l, sizeof l);
    CHECK(strncmp(l, "keys=1,expires=1,", 17) == 0);
    harness_sleep_ms(1000);
    info_field(p.l, "keyspace", "db3", l, sizeof l);
    CHECK_EQ_STR(l, "");
}

TEST(expire_survives_rename_move_persist) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "k", "v", "EX", "100");
    EXPECT(p, "status:\"OK\"", "RENAME", "k", "k2");
    EXPECT(p, "int:100", "TTL", "k2");
    EXPECT(p, "int:1", "MOVE", "k2", "2");
    EXPECT(p, "status:\"OK\"", "SELECT", "2");
    EXPECT(p, "int:100", "TTL", "k2");
    EXPECT(p, "int:1", "PERSIST", "k2");
    EXPECT(p, "int:-1", "TTL", "k2");
    EXPECT(p, "bulk:\"v\"", "GET", "k2");
}

int main(void) {
    RUN(option_errors);
    RUN(nx_xx_gt_lt);
    RUN(past_times_delete);
    RUN(ttl_family);
    RUN(lazy_expiry);
    RUN(active_expiry_and_info);
    RUN(expire_survives_rename_move_persist);
    return testlib_finish();
}
