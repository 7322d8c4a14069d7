/*
 * Set commands (t_set.c), differential against a real redis-server 7.0:
 * replies are compared with Redis's (unordered replies as multisets) and
 * asserted against explicit values, so a test also fails when both agree on
 * something wrong. Random commands (SPOP, SRANDMEMBER, SSCAN) are checked
 * by their properties. The randomized sequence uses a fixed seed;
 * TEST_SEED=N runs another one.
 */
#include "../difftest.h"

#include <stdlib.h>

/* Runs a command with a random reply on both servers, uncompared. */
static void both(const char *const *argv) {
    cmd_argv(L, argv);
    if (R) cmd_argv(R, argv);
}
#define BOTH(...) both((const char *const[]){__VA_ARGS__, NULL})

TEST(sadd_srem_basics) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:3", "SADD", "s", "a", "b", "c");
    EXPECT("int:1", "SADD", "s", "a", "d", "a");
    EXPECT("int:0", "SADD", "s", "a", "b");
    EXPECT("int:4", "SCARD", "s");
    EXPECT("int:0", "SCARD", "nokey");
    EXPECT("int:1", "SISMEMBER", "s", "a");
    EXPECT("int:0", "SISMEMBER", "s", "z");
    EXPECT("int:0", "SISMEMBER", "nokey", "a");
    EXPECT("array[int:1,int:0,int:1]", "SMISMEMBER", "s", "a", "z", "d");
    EXPECT("array[int:0,int:0]", "SMISMEMBER", "nokey", "a", "b");
    EXPECT_UNORDERED("array[bulk:\"a\",bulk:\"b\",bulk:\"c\",bulk:\"d\"]", "SMEMBERS", "s");
    EXPECT("array[]", "SMEMBERS", "nokey");
    EXPECT("int:2", "SREM", "s", "a", "b", "zz", "a");
    EXPECT("int:0", "SREM", "s", "zz");
    EXPECT("int:0", "SREM", "nokey", "a");
    /* The last member removed deletes the key. */
    EXPECT("int:2", "SREM", "s", "c", "d", "e");
    EXPECT("int:0", "EXISTS", "s");
    /* Binary and empty members. */
    EXPECT("int:3", "SADD", "b", "", "a\x01" "b", "\xff");
    EXPECT("int:1", "SISMEMBER", "b", "");
    EXPECT_UNORDERED("array[bulk:\"\",bulk:\"\\xff\",bulk:\"a\\x01b\"]", "SMEMBERS", "b");
    /* Arity. */
    EXPECT("err:\"ERR wrong number of arguments for 'sadd' command\"", "SADD", "s");
    EXPECT("err:\"ERR wrong number of arguments for 'srem' command\"", "SREM", "s");
    EXPECT("err:\"ERR wrong number of arguments for 'sismember' command\"", "SISMEMBER", "s");
    EXPECT("err:\"ERR wrong number of arguments for 'smismember' command\"", "SMISMEMBER", "s");
    EXPECT("err:\"ERR wrong number of arguments for 'scard' command\"", "SCARD", "s", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'smove' command\"", "SMOVE", "a", "b");
}

TEST(wrongtype) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "str", "x");
    EXPECT("int:1", "SADD", "s", "a");
    EXPECT(WRONGTYPE, "SADD", "str", "a");
    EXPECT(WRONGTYPE, "SREM", "str", "a");
    EXPECT(WRONGTYPE, "SISMEMBER", "str", "a");
    EXPECT(WRONGTYPE, "SMISMEMBER", "str", "a");
    EXPECT(WRONGTYPE, "SMEMBERS", "str");
    EXPECT(WRONGTYPE, "SCARD", "str");
    EXPECT(WRONGTYPE, "SPOP", "str");
    EXPECT(WRONGTYPE, "SPOP", "str", "0");
    EXPECT(WRONGTYPE, "SRANDMEMBER", "str");
    EXPECT(WRONGTYPE, "SRANDMEMBER", "str", "0");
    EXPECT(WRONGTYPE, "SSCAN", "str", "0");
    EXPECT(WRONGTYPE, "SSCAN", "str", "0", "bad");
    /* Absent keys before a wrong one do not hide it. */
    EXPECT(WRONGTYPE, "SINTER", "nokey", "str");
    EXPECT(WRONGTYPE, "SINTER", "s", "str");
    EXPECT(WRONGTYPE, "SINTERCARD", "2", "nokey", "str");
    EXPECT(WRONGTYPE, "SINTERSTORE", "d", "nokey", "str");
    EXPECT(WRONGTYPE, "SUNION", "nokey", "str");
    EXPECT(WRONGTYPE, "SUNIONSTORE", "d", "s", "str");
    EXPECT(WRONGTYPE, "SDIFF", "nokey", "str");
    EXPECT(WRONGTYPE, "SDIFFSTORE", "d", "s", "str");
    EXPECT("int:0", "EXISTS", "d");
    /* SMOVE: an absent source wins over a wrong destination. */
    EXPECT("int:0", "SMOVE", "nokey", "str", "a");
    EXPECT(WRONGTYPE, "SMOVE", "s", "str", "a");
    EXPECT(WRONGTYPE, "SMOVE", "str", "s", "a");
    EXPECT(WRONGTYPE, "SMOVE", "s", "str", "notamember");
    /* *STORE overwrites a destination of another type. */
    EXPECT("int:1", "SUNIONSTORE", "str", "s");
    EXPECT("status:\"set\"", "TYPE", "str");
}

TEST(encodings) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:3", "SADD", "i", "1", "-2", "300000");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "i");
    EXPECT("array[bulk:\"-2\",bulk:\"1\",bulk:\"300000\"]", "SMEMBERS", "i"); /* intsets are sorted */
    EXPECT("int:1", "SADD", "i", "9223372036854775807");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "i");
    /* Non-canonical integers are strings. */
    EXPECT("int:1", "SADD", "i", "01");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "i");
    EXPECT("int:1", "SADD", "h", "a");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "h");
    EXPECT("int:1", "SADD", "m", "+1");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "m");
    /* 512 integers stay an intset, the 513th converts. */
    const char *argv[520];
    char nums[520][16];
    argv[0] = "SADD";
    argv[1] = "big";
    for (int i = 0; i < 512; i++) {
        snprintf(nums[i], sizeof nums[i], "%d", i * 3);
        argv[2 + i] = nums[i];
    }
    argv[514] = NULL;
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "int:512");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "big");
    EXPECT("int:0", "SADD", "big", "0");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "big");
    EXPECT("int:1", "SADD", "big", "1");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "big");
    EXPECT("int:513", "SCARD", "big");
    /* Results are built from their contents. */
    EXPECT("int:513", "SUNIONSTORE", "u", "big");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "u");
    EXPECT("int:1", "SINTERSTORE", "u2", "big", "i");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "u2");
    EXPECT("int:1", "SMOVE", "h", "dst", "a");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "dst");
    EXPECT("int:1", "SMOVE", "i", "dst2", "1");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "dst2");
    /* A large SPOP rebuilds the survivors: an intset again. */
    EXPECT("int:513", "SCARD", "big");
    BOTH("SPOP", "big", "450");
    EXPECT("int:63", "SCARD", "big");
    EXPECT("bulk:\"intset\"", "OBJECT", "ENCODING", "big");
    /* A small one does not. */
    EXPECT("int:513", "SUNIONSTORE", "big2", "u");
    BOTH("SPOP", "big2", "50");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "big2");
}

TEST(algebra) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:4", "SADD", "a", "1", "2", "3", "x");
    EXPECT("int:4", "SADD", "b", "2", "3", "4", "x");
    EXPECT("int:3", "SADD", "c", "3", "x", "y");
    EXPECT_UNORDERED("array[bulk:\"3\",bulk:\"x\"]", "SINTER", "a", "b", "c");
    EXPECT_UNORDERED("array[bulk:\"2\",bulk:\"3\",bulk:\"x\"]", "SINTER", "a", "b");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\",bulk:\"x\"]", "SINTER", "a", "a");
    EXPECT("array[]", "SINTER", "a", "nokey");
    EXPECT("array[]", "SINTER", "nokey");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\",bulk:\"4\",bulk:\"x\",bulk:\"y\"]",
                     "SUNION", "a", "nokey", "b", "c");
    EXPECT("array[]", "SUNION", "nokey");
    EXPECT_UNORDERED("array[bulk:\"1\"]", "SDIFF", "a", "b", "c");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\",bulk:\"x\"]", "SDIFF", "a", "nokey");
    EXPECT("array[]", "SDIFF", "a", "a");
    EXPECT("array[]", "SDIFF", "nokey", "a");
    /* SINTERCARD */
    EXPECT("int:2", "SINTERCARD", "3", "a", "b", "c");
    EXPECT("int:1", "SINTERCARD", "3", "a", "b", "c", "LIMIT", "1");
    EXPECT("int:2", "SINTERCARD", "3", "a", "b", "c", "limit", "0");
    EXPECT("int:2", "SINTERCARD", "3", "a", "b", "c", "LIMIT", "5", "LIMIT", "0");
    EXPECT("int:0", "SINTERCARD", "2", "a", "nokey");
    EXPECT("int:4", "SINTERCARD", "1", "a");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "SINTERCARD", "0", "a");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "SINTERCARD", "-1", "a");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "SINTERCARD", "x", "a");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "SINTERCARD", "2abc", "a", "b");
    EXPECT("err:\"ERR Number of keys can't be greater than number of args\"", "SINTERCARD", "3", "a", "b");
    EXPECT("err:\"ERR LIMIT can't be negative\"", "SINTERCARD", "1", "a", "LIMIT", "-1");
    EXPECT("err:\"ERR LIMIT can't be negative\"", "SINTERCARD", "1", "a", "LIMIT", "x");
    EXPECT(SYNTAX, "SINTERCARD", "1", "a", "LIMIT");
    EXPECT(SYNTAX, "SINTERCARD", "1", "a", "b");
    EXPECT("err:\"ERR wrong number of arguments for 'sintercard' command\"", "SINTERCARD", "1");
    EXPECT("array[bulk:\"a\",bulk:\"b\"]", "COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1");
    EXPECT("array[bulk:\"a\",bulk:\"b\"]", "COMMAND", "GETKEYS", "SINTERCARD", "2abc", "a", "b");
    EXPECT("err:\"ERR Invalid arguments specified for command\"", "COMMAND", "GETKEYS",
           "SINTERCARD", "0", "a");
    /* *STORE: the count, the stored set, deletion when empty, TTL cleared. */
    EXPECT("int:2", "SINTERSTORE", "d", "a", "b", "c");
    EXPECT_UNORDERED("array[bulk:\"3\",bulk:\"x\"]", "SMEMBERS", "d");
    EXPECT("int:1", "EXPIRE", "d", "100");
    EXPECT("int:6", "SUNIONSTORE", "d", "a", "b", "c");
    EXPECT("int:-1", "TTL", "d");
    EXPECT("int:1", "SDIFFSTORE", "d", "a", "b", "c");
    EXPECT("array[bulk:\"1\"]", "SMEMBERS", "d");
    EXPECT("int:0", "SINTERSTORE", "d", "a", "nokey");
    EXPECT("int:0", "EXISTS", "d");
    EXPECT("int:1", "SDIFFSTORE", "d", "a", "b", "c");
    EXPECT("int:0", "SDIFFSTORE", "d", "a", "a");
    EXPECT("int:0", "EXISTS", "d");
    EXPECT("int:1", "SDIFFSTORE", "d", "a", "b", "c");
    EXPECT("int:0", "SUNIONSTORE", "d", "nokey");
    EXPECT("int:0", "EXISTS", "d");
    /* The destination may be a source. */
    EXPECT("int:6", "SUNIONSTORE", "a", "a", "b", "c");
    EXPECT("int:2", "SINTERSTORE", "a", "a", "c", "b");
    EXPECT_UNORDERED("array[bulk:\"3\",bulk:\"x\"]", "SMEMBERS", "a");
    EXPECT("err:\"ERR wrong number of arguments for 'sinterstore' command\"", "SINTERSTORE", "d");
    EXPECT("err:\"ERR wrong number of arguments for 'sunion' command\"", "SUNION");
}

TEST(smove) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:2", "SADD", "src", "a", "b");
    EXPECT("int:1", "SADD", "dst", "b");
    EXPECT("int:1", "SMOVE", "src", "dst", "a");
    EXPECT("int:0", "SMOVE", "src", "dst", "a");
    EXPECT_UNORDERED("array[bulk:\"a\",bulk:\"b\"]", "SMEMBERS", "dst");
    /* Already in the destination: still 1, removed from the source,
     * whose last member deletes it. */
    EXPECT("int:1", "SMOVE", "src", "dst", "b");
    EXPECT("int:0", "EXISTS", "src");
    EXPECT("int:1", "SMOVE", "dst", "new", "a");
    EXPECT("array[bulk:\"a\"]", "SMEMBERS", "new");
    /* Same key: 1 when a member, nothing changes. */
    EXPECT("int:1", "SMOVE", "dst", "dst", "b");
    EXPECT("int:0", "SMOVE", "dst", "dst", "zz");
    EXPECT("array[bulk:\"b\"]", "SMEMBERS", "dst");
    EXPECT("int:0", "SMOVE", "nokey", "dst", "b");
}

/* SMOVE of a member the destination already holds changes only the
 * source: a WATCH on the destination still holds (EXEC runs). */
TEST(smove_watch_unchanged_destination) {
    REQUIRE(difftest_start(NULL));
    redisContext *l2 = harness_connect(LS), *r2 = RS ? harness_connect(RS) : NULL;
    REQUIRE(l2);
    EXPECT("int:2", "SADD", "srcset{t}", "a", "b");
    EXPECT("int:1", "SADD", "dstset{t}", "a");
    EXPECT("status:\"OK\"", "WATCH", "dstset{t}");
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "SADD", "dstset{t}", "c");
    CHECK_EQ_STR(COMPARE(l2, r2, "SMOVE", "srcset{t}", "dstset{t}", "a"), "int:1");
    EXPECT("array[int:1]", "EXEC");
    EXPECT("int:2", "SCARD", "dstset{t}");
    EXPECT("array[bulk:\"b\"]", "SMEMBERS", "srcset{t}");
    /* A member it did not hold: the WATCH fails. */
    EXPECT("status:\"OK\"", "WATCH", "dstset{t}");
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "SADD", "dstset{t}", "d");
    CHECK_EQ_STR(COMPARE(l2, r2, "SMOVE", "srcset{t}", "dstset{t}", "b"), "int:1");
    EXPECT("nil", "EXEC");
    EXPECT("int:3", "SCARD", "dstset{t}");
}

TEST(spop_srandmember_errors) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:3", "SADD", "s", "1", "2", "3");
    const char *pos = "err:\"ERR value is out of range, must be positive\"";
    EXPECT(pos, "SPOP", "s", "-1");
    EXPECT(pos, "SPOP", "s", "x");
    EXPECT(pos, "SPOP", "nokey", "-1");
    EXPECT(SYNTAX, "SPOP", "s", "1", "2");
    EXPECT(NOTINT, "SRANDMEMBER", "s", "x");
    EXPECT(NOTINT, "SRANDMEMBER", "nokey", "1.5");
    EXPECT("err:\"ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\"", "SRANDMEMBER", "s", "-9223372036854775808");
    EXPECT(SYNTAX, "SRANDMEMBER", "s", "1", "2");
    EXPECT("nil", "SPOP", "nokey");
    EXPECT("array[]", "SPOP", "nokey", "3");
    EXPECT("array[]", "SPOP", "s", "0");
    EXPECT("nil", "SRANDMEMBER", "nokey");
    EXPECT("array[]", "SRANDMEMBER", "nokey", "3");
    EXPECT("array[]", "SRANDMEMBER", "nokey", "-3");
    EXPECT("array[]", "SRANDMEMBER", "s", "0");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]", "SRANDMEMBER", "s", "3");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]", "SRANDMEMBER", "s", "100");
    EXPECT_UNORDERED("array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]", "SPOP", "s", "3");
    EXPECT("int:0", "EXISTS", "s");
    EXPECT("int:1", "SADD", "s", "only");
    EXPECT("bulk:\"only\"", "SRANDMEMBER", "s");
    EXPECT("array[bulk:\"only\",bulk:\"only\"]", "SRANDMEMBER", "s", "-2");
    EXPECT("bulk:\"only\"", "SPOP", "s");
    EXPECT("int:0", "EXISTS", "s");
    EXPECT("err:\"ERR wrong number of arguments for 'spop' command\"", "SPOP");
}

/* Members of a set reply (array of bulks) on Lightning, as text lines. */
static int reply_members(redisReply *r, char out[][32], int max) {
    if (!r || r->type != REDIS_REPLY_ARRAY) return -1;
    int n = 0;
    for (size_t i = 0; i < r->elements && n < max; i++) {
        snprintf(out[n++], 32, "%.*s", (int)r->element[i]->len, r->element[i]->str);
    }
    return n;
}

static int count_of(char m[][32], int n, const char *s) {
    int c = 0;
    for (int i = 0; i < n; i++) c += strcmp(m[i], s) == 0;
    return c;
}

/* SPOP/SRANDMEMBER on Lightning alone, checked by their properties, on an
 * intset and on a hashtable. */
TEST(random_members_properties) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    static char m[2000][32];
    for (int enc = 0; enc < 2; enc++) {
        const char *fmt = enc ? "m%d" : "%d";
        for (int i = 0; i < 1000; i++) {
            char v[32];
            snprintf(v, sizeof v, fmt, i);
            redisReply *r = redisCommand(c, "SADD s %s", v);
            freeReplyObject(r);
        }
        CHECK_EQ_STR(cmd(c, "OBJECT ENCODING s"), "bulk:\"hashtable\"");
        /* Positive count: distinct members. */
        long long counts[] = {1, 5, 100, 400, 999};
        for (int k = 0; k < 5; k++) {
            redisReply *r = redisCommand(c, "SRANDMEMBER s %lld", counts[k]);
            int n = reply_members(r, m, 2000);
            CHECK_EQ_INT(n, counts[k]);
            for (int i = 0; i < n; i++) CHECK_EQ_INT(count_of(m, n, m[i]), 1);
            freeReplyObject(r);
        }
        /* Negative count: that many, repeats allowed (and seen). */
        redisReply *r = redisCommand(c, "SRANDMEMBER s -2000");
        int n = reply_members(r, m, 2000), repeats = 0;
        CHECK_EQ_INT(n, 2000);
        for (int i = 0; i < n; i++) repeats += count_of(m, n, m[i]) > 1;
        CHECK(repeats > 0);
        freeReplyObject(r);
        /* SPOP count: distinct members that are gone afterwards. */
        long long left = 1000;
        long long pops[] = {1, 10, 150, 600};
        for (int k = 0; k < 4; k++) {
            r = redisCommand(c, "SPOP s %lld", pops[k]);
            n = reply_members(r, m, 2000);
            CHECK_EQ_INT(n, pops[k]);
            for (int i = 0; i < n; i++) {
                CHECK_EQ_INT(count_of(m, n, m[i]), 1);
                redisReply *x = redisCommand(c, "SISMEMBER s %s", m[i]);
                CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer == 0);
                freeReplyObject(x);
            }
            freeReplyObject(r);
            left -= pops[k];
            r = redisCommand(c, "SCARD s");
            CHECK(r && r->integer == left);
            freeReplyObject(r);
        }
        /* Single SPOP until empty: the key goes away. */
        for (long long i = 0; i < left; i++) {
            r = redisCommand(c, "SPOP s");
            CHECK(r && r->type == REDIS_REPLY_STRING);
            freeReplyObject(r);
        }
        CHECK_EQ_STR(cmd(c, "EXISTS s"), "int:0");
    }
}

/* SSCAN: a full iteration returns every member; options and errors. */
TEST(sscan) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"0\",array[]]", "SSCAN", "nokey", "0");
    EXPECT("array[bulk:\"0\",array[]]", "SSCAN", "nokey", "0", "bad");
    EXPECT("int:3", "SADD", "i", "1", "2", "3");
    EXPECT("array[bulk:\"0\",array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]]", "SSCAN", "i", "0", "COUNT", "1");
    EXPECT("array[bulk:\"0\",array[bulk:\"2\"]]", "SSCAN", "i", "7", "MATCH", "2");
    EXPECT("err:\"ERR invalid cursor\"", "SSCAN", "i", "x");
    EXPECT("err:\"ERR invalid cursor\"", "SSCAN", "str", "x");
    EXPECT(SYNTAX, "SSCAN", "i", "0", "COUNT", "0");
    EXPECT(NOTINT, "SSCAN", "i", "0", "COUNT", "x");
    EXPECT(SYNTAX, "SSCAN", "i", "0", "TYPE", "set");
    EXPECT(SYNTAX, "SSCAN", "i", "0", "MATCH");
    EXPECT(SYNTAX, "SSCAN", "i", "0", "foo", "bar");
    /* Full iteration over a hashtable on Lightning. */
    for (int i = 0; i < 500; i++) {
        redisReply *r = redisCommand(L, "SADD h m%d", i);
        freeReplyObject(r);
    }
    static char seen[500];
    memset(seen, 0, sizeof seen);
    unsigned long long cursor = 0;
    int calls = 0, matched_other = 0;
    do {
        redisReply *r = redisCommand(L, "SSCAN h %llu COUNT 20 MATCH m1*", cursor);
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t j = 0; j < r->element[1]->elements; j++) {
            const char *s = r->element[1]->element[j]->str;
            if (s[0] != 'm' || s[1] != '1') matched_other++;
            else seen[atoi(s + 1)] = 1;
        }
        freeReplyObject(r);
        /* Growth during the iteration does not hide members. */
        if (calls == 3)
            for (int i = 0; i < 2000; i++) freeReplyObject(redisCommand(L, "SADD h x%d", i));
        calls++;
    } while (cursor != 0 && calls < 10000);
    CHECK_EQ_INT(cursor, 0);
    CHECK_EQ_INT(matched_other, 0);
    for (int i = 0; i < 500; i++)
        if (i == 1 || (i >= 10 && i < 20) || (i >= 100 && i < 200)) CHECK(seen[i]);
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
#define RC(...) RAW_COMPARE(fl, fr, __VA_ARGS__)
    RC("SADD", "s", "1", "2", "3");
    CHECK_EQ_STR(RC("SMEMBERS", "s"), "set{bulk:\"1\",bulk:\"2\",bulk:\"3\"}");
    CHECK_EQ_STR(RC("SMEMBERS", "nokey"), "set{}");
    CHECK_EQ_STR(RC("SINTER", "s", "nokey"), "set{}");
    CHECK_EQ_STR(RC("SUNION", "nokey"), "set{}");
    CHECK_EQ_STR(RC("SDIFF", "s"), "set{bulk:\"1\",bulk:\"2\",bulk:\"3\"}");
    CHECK_EQ_STR(RC("SPOP", "s", "0"), "set{}");
    CHECK_EQ_STR(RC("SPOP", "nokey", "1"), "set{}");
    CHECK_EQ_STR(RC("SPOP", "nokey"), "null");
    CHECK_EQ_STR(RC("SRANDMEMBER", "nokey"), "null");
    CHECK_EQ_STR(RC("SRANDMEMBER", "nokey", "2"), "array[]");
    CHECK_EQ_STR(RC("SRANDMEMBER", "s", "0"), "array[]");
    CHECK_EQ_STR(RC("SRANDMEMBER", "s", "10"), "array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]");
    CHECK_EQ_STR(RC("SMISMEMBER", "s", "1", "9"), "array[int:1,int:0]");
    CHECK_EQ_STR(RC("SSCAN", "s", "0"), "array[bulk:\"0\",array[bulk:\"1\",bulk:\"2\",bulk:\"3\"]]");
    CHECK_EQ_STR(RC("SPOP", "s", "5"), "set{bulk:\"1\",bulk:\"2\",bulk:\"3\"}");
#undef RC
}

/* Random sequences of deterministic set commands on a few keys, every
 * reply compared (unordered where Redis's order is unspecified). */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20260101);
    const char *keys[] = {"k0", "k1", "k2", "k3"};
    const char *vals[] = {"", "0", "-1", "42", "9223372036854775807", "-9223372036854775808",
                          "abc", "hello world", "\xff\x80", "007", "1.5", "x", "y", "z",
                          "long-member-value-that-is-not-inline"};
    char n1[16], n2[16], n3[16];
    for (int i = 0; i < 4000; i++) {
        const char *k = PICK(keys), *k2 = PICK(keys), *k3 = PICK(keys), *v = PICK(vals);
        const char *w = PICK(vals);
        snprintf(n1, sizeof n1, "%d", rand() % 1200);
        snprintf(n2, sizeof n2, "%d", rand() % 1200);
        snprintf(n3, sizeof n3, "%d", rand() % 5);
        switch (rand() % 16) {
        case 0: C("SADD", k, v, w); break;
        case 1: C("SADD", k, n1, n2, n3); break;
        case 2: C("SREM", k, v, n1, n3); break;
        case 3: C("SISMEMBER", k, v); break;
        case 4: C("SMISMEMBER", k, v, n1, w); break;
        case 5: C("SCARD", k); break;
        case 6: CU("SMEMBERS", k); break;
        case 7: CU("SINTER", k, k2, k3); break;
        case 8: CU("SUNION", k, k2); break;
        case 9: CU("SDIFF", k, k2, k3); break;
        case 10: C("SINTERSTORE", k, k2, k3); break;
        case 11: C("SUNIONSTORE", k, k2, k3); break;
        case 12: C("SDIFFSTORE", k, k2, k3); break;
        case 13: C("SMOVE", k, k2, rand() % 2 ? v : n1); break;
        case 14: C("SINTERCARD", "2", k, k2, "LIMIT", n3); break;
        default: C("OBJECT", "ENCODING", k); break;
        }
        /* Bulk growth now and then, to cross the intset limit. */
        if (rand() % 200 == 0)
            for (int j = 0; j < 100; j++) {
                snprintf(n1, sizeof n1, "%d", rand() % 5000);
                C("SADD", k, n1);
            }
        if (difftest_failed_at(i, seed, NULL, NULL, 0)) return;
    }
}

int main(void) {
    RUN(sadd_srem_basics);
    RUN(wrongtype);
    RUN(encodings);
    RUN(algebra);
    RUN(smove);
    RUN(smove_watch_unchanged_destination);
    RUN(spop_srandmember_errors);
    RUN(random_members_properties);
    RUN(sscan);
    RUN(resp3);
    RUN(random_differential);
    return testlib_finish();
}
