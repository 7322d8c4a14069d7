/*
 * Expiry against a real redis-server 7.0: EXPIRE PEXPIRE EXPIREAT
 * PEXPIREAT with NX XX GT LT and their errors, past times deleting the key,
 * TTL PTTL EXPIRETIME PEXPIRETIME PERSIST, lazy expiry on access, the
 * active expiry cycle (keys nobody touches go away), and what INFO reports
 * about it (keyspace keys= expires=, stats expired_keys). Time-dependent
 * replies are checked within a tolerance instead of compared.
 */
#include "../difftest.h"

#include <stdlib.h>
#include <sys/time.h>

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
static void expect_range(const char *fmt, const char *key, long long lo, long long hi,
                         int line) {
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        long long v = int_reply(cs[i], fmt, key);
        if (v < lo || v > hi)
            testlib_fail(__FILE__, line, "%s: %s %s = %lld, not in [%lld, %lld]",
                         i ? "redis" : "lightning", fmt, key, v, lo, hi);
    }
}
#define EXPECT_RANGE(fmt, key, lo, hi) expect_range((fmt), (key), (lo), (hi), __LINE__)

TEST(option_errors) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v");
    const char *nx = "err:\"ERR NX and XX, GT or LT options at the same time are not compatible\"";
    const char *gtlt = "err:\"ERR GT and LT options at the same time are not compatible\"";
    EXPECT(nx, "EXPIRE", "k", "100", "NX", "XX");
    EXPECT(nx, "PEXPIRE", "k", "100", "nx", "gt");
    EXPECT(nx, "EXPIREAT", "k", "100", "LT", "NX");
    EXPECT(gtlt, "PEXPIREAT", "k", "100", "GT", "LT");
    EXPECT(nx, "EXPIRE", "k", "100", "NX", "GT", "LT");
    EXPECT("err:\"ERR Unsupported option foo\"", "EXPIRE", "k", "100", "foo");
    EXPECT("err:\"ERR Unsupported option bar\"", "EXPIRE", "k", "100", "NX", "bar", "XX");
    /* Options are checked before the time. */
    EXPECT(nx, "EXPIRE", "k", "abc", "NX", "XX");
    EXPECT("err:\"ERR Unsupported option foo\"", "EXPIRE", "k", "abc", "foo");
    EXPECT(NOTINT, "EXPIRE", "k", "abc");
    EXPECT(NOTINT, "EXPIRE", "k", "1.5");
    EXPECT(NOTINT, "EXPIRE", "k", " 1");
    EXPECT("err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "k", "9223372036854775807");
    EXPECT("err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "k", "-9223372036854775808");
    EXPECT("err:\"ERR invalid expire time in 'pexpire' command\"",
           "PEXPIRE", "k", "9223372036854775807");
    EXPECT("err:\"ERR invalid expire time in 'expireat' command\"",
           "EXPIREAT", "k", "9223372036854776");
    /* The time is checked before the key. */
    EXPECT("err:\"ERR invalid expire time in 'expire' command\"",
           "EXPIRE", "nokey", "9223372036854775807");
    EXPECT("int:0", "EXPIRE", "nokey", "100");
    EXPECT("int:-1", "TTL", "k");
    EXPECT("err:\"ERR wrong number of arguments for 'expire' command\"", "EXPIRE", "k");
    EXPECT("err:\"ERR wrong number of arguments for 'ttl' command\"", "TTL", "k", "x");
}

TEST(nx_xx_gt_lt) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("int:0", "EXPIRE", "k", "100", "XX"); /* no TTL yet */
    EXPECT("int:0", "EXPIRE", "k", "100", "GT"); /* no TTL = infinite */
    EXPECT("int:-1", "TTL", "k");
    EXPECT("int:1", "EXPIRE", "k", "100", "LT");
    EXPECT("int:100", "TTL", "k");
    EXPECT("int:0", "EXPIRE", "k", "200", "NX");
    EXPECT("int:0", "EXPIRE", "k", "200", "LT");
    EXPECT("int:0", "EXPIRE", "k", "50", "GT");
    EXPECT("int:1", "EXPIRE", "k", "50", "LT");
    EXPECT("int:50", "TTL", "k");
    EXPECT("int:1", "EXPIRE", "k", "60", "gt", "xx");
    EXPECT("int:60", "TTL", "k");
    EXPECT("int:1", "EXPIRE", "k", "70", "XX");
    EXPECT("int:70", "TTL", "k");
    EXPECT("int:1", "PERSIST", "k");
    EXPECT("int:0", "PERSIST", "k");
    EXPECT("int:0", "PERSIST", "nokey");
    EXPECT("int:1", "EXPIRE", "k", "100", "NX", "nx");
    EXPECT("int:0", "EXPIRE", "nokey", "100", "NX");
    /* LT with a past time deletes. */
    EXPECT("int:1", "EXPIRE", "k", "-1", "LT");
    EXPECT("int:0", "EXISTS", "k");
}

TEST(past_times_delete) {
    REQUIRE(difftest_start(NULL));
    const char *forms[][3] = {{"EXPIRE", "0", NULL},     {"EXPIRE", "-10", NULL},
                              {"PEXPIRE", "0", NULL},    {"PEXPIREAT", "1", NULL},
                              {"EXPIREAT", "100", NULL}, {"PEXPIREAT", "-5", NULL}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        EXPECT("status:\"OK\"", "SET", "k", "v");
        EXPECT("int:1", forms[i][0], "k", forms[i][1]);
        EXPECT("int:0", "EXISTS", "k");
        EXPECT("int:-2", "TTL", "k");
    }
    /* That is a deletion, not an expiry. */
    char l[32], r[32];
    harness_info(L, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "0");
    if (R) {
        harness_info(R, "stats", "expired_keys", r, sizeof r);
        CHECK_EQ_STR(r, "0");
    }
}

TEST(ttl_family) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:-2", "TTL", "nokey");
    EXPECT("int:-2", "PTTL", "nokey");
    EXPECT("int:-2", "EXPIRETIME", "nokey");
    EXPECT("int:-2", "PEXPIRETIME", "nokey");
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("int:-1", "TTL", "k");
    EXPECT("int:-1", "PTTL", "k");
    EXPECT("int:-1", "EXPIRETIME", "k");
    EXPECT("int:-1", "PEXPIRETIME", "k");
    EXPECT("int:1", "PEXPIRE", "k", "100000");
    EXPECT("int:100", "TTL", "k");
    EXPECT_RANGE("PTTL %s", "k", 99000, 100000);
    long long t0 = now_ms();
    EXPECT_RANGE("PEXPIRETIME %s", "k", t0 + 99000, t0 + 100000);
    EXPECT_RANGE("EXPIRETIME %s", "k", (t0 + 99000) / 1000, (t0 + 101000) / 1000);
    /* Absolute forms round-trip exactly. */
    EXPECT("int:1", "PEXPIREAT", "k", "33177600000123");
    EXPECT("int:33177600000123", "PEXPIRETIME", "k");
    EXPECT("int:33177600000", "EXPIRETIME", "k");
    EXPECT("int:1", "EXPIREAT", "k", "33177600001");
    EXPECT("int:33177600001000", "PEXPIRETIME", "k");
    EXPECT("int:33177600001", "EXPIRETIME", "k");
    /* Seconds are rounded to the nearest. */
    EXPECT("int:1", "PEXPIREAT", "k", "33177600000500");
    EXPECT("int:33177600001", "EXPIRETIME", "k");
    EXPECT("int:1", "PEXPIREAT", "k", "33177600000499");
    EXPECT("int:33177600000", "EXPIRETIME", "k");
    /* Near the end of time. */
    EXPECT("int:1", "PEXPIREAT", "k", "9223372036854775807");
    EXPECT("int:9223372036854775807", "PEXPIRETIME", "k");
    EXPECT("int:9223372036854776", "EXPIRETIME", "k");
    EXPECT("int:1", "EXPIREAT", "k", "9223372036854775");
    EXPECT("int:9223372036854775000", "PEXPIRETIME", "k");
    EXPECT("int:1", "PERSIST", "k");
    EXPECT("int:-1", "PEXPIRETIME", "k");
}

TEST(lazy_expiry) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v", "PX", "100");
    EXPECT("int:1", "EXISTS", "k");
    harness_sleep_ms(200);
    EXPECT("int:0", "EXISTS", "k");
    EXPECT("int:-2", "TTL", "k");
    EXPECT("nil", "GET", "k");
    EXPECT("int:0", "DBSIZE");
    EXPECT("status:\"OK\"", "SET", "a", "v", "PX", "50");
    EXPECT("status:\"OK\"", "SET", "b", "v");
    harness_sleep_ms(100);
    EXPECT("err:\"ERR no such key\"", "RENAME", "a", "c");
    EXPECT("int:0", "DEL", "a");
    EXPECT("int:0", "PERSIST", "a");
    EXPECT("int:0", "EXPIRE", "a", "100");
    EXPECT("status:\"none\"", "TYPE", "a");
    EXPECT("bulk:\"b\"", "RANDOMKEY");
}

TEST(active_expiry_and_info) {
    REQUIRE(difftest_start(NULL));
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        CHECK(harness_fill(cs[i], "e", 0, 1000) == 0);
        for (int j = 0; j < 1000; j++) redisAppendCommand(cs[i], "PEXPIRE e%d 50", j);
        for (int j = 0; j < 1000; j++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(cs[i], (void **)&r) == REDIS_OK);
            freeReplyObject(r);
        }
        CHECK(harness_fill(cs[i], "keep", 0, 10) == 0);
    }
    EXPECT("int:1", "EXPIRE", "keep0", "1000");
    char l[128], r[128];
    harness_info(L, "keyspace", "db0", l, sizeof l);
    CHECK(strncmp(l, "keys=1010,expires=1001,", 23) == 0);
    if (R) {
        harness_info(R, "keyspace", "db0", r, sizeof r);
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
    harness_info(L, "keyspace", "db0", l, sizeof l);
    CHECK(strncmp(l, "keys=10,expires=1,", 18) == 0);
    harness_info(L, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "1000");
    if (R) {
        harness_info(R, "keyspace", "db0", r, sizeof r);
        CHECK(strncmp(r, "keys=10,expires=1,", 18) == 0);
        harness_info(R, "stats", "expired_keys", r, sizeof r);
        CHECK_EQ_STR(r, "1000");
    }
    /* Lazy expiry counts too. */
    EXPECT("int:1", "PEXPIRE", "keep1", "1");
    harness_sleep_ms(10);
    EXPECT("int:0", "EXISTS", "keep1");
    harness_info(L, "stats", "expired_keys", l, sizeof l);
    CHECK_EQ_STR(l, "1001");
    /* A db with no keys is not listed. */
    EXPECT("status:\"OK\"", "SELECT", "3");
    EXPECT("status:\"OK\"", "SET", "x", "v", "PX", "30");
    harness_info(L, "keyspace", "db3", l, sizeof l);
    CHECK(strncmp(l, "keys=1,expires=1,", 17) == 0);
    harness_sleep_ms(1000);
    harness_info(L, "keyspace", "db3", l, sizeof l);
    CHECK_EQ_STR(l, "");
}

TEST(expire_survives_rename_move_persist) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v", "EX", "100");
    EXPECT("status:\"OK\"", "RENAME", "k", "k2");
    EXPECT("int:100", "TTL", "k2");
    EXPECT("int:1", "MOVE", "k2", "2");
    EXPECT("status:\"OK\"", "SELECT", "2");
    EXPECT("int:100", "TTL", "k2");
    EXPECT("int:1", "PERSIST", "k2");
    EXPECT("int:-1", "TTL", "k2");
    EXPECT("bulk:\"v\"", "GET", "k2");
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
