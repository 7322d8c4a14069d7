/*
 * Encoding thresholds (hash-max-listpack-*, set-max-intset-entries,
 * zset-max-listpack-*, list-max-listpack-size and their *-ziplist-*
 * aliases), differential against a real redis-server 7.0: the same CONFIG
 * SET and writes on both servers, OBJECT ENCODING compared after each step,
 * including limits lowered or raised under existing keys (a key converts on
 * its next write, never back, as Redis does). Then Lightning alone: values
 * written under raised limits survive a restart (WAL replay) and a
 * snapshot under other limits with the right contents and the encoding the
 * limits in force at load time give.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>

/* n copies of ch (n < 4096), in a static buffer per slot. */
static const char *rep(int slot, char ch, int n) {
    static char buf[4][4096];
    memset(buf[slot], ch, (size_t)n);
    buf[slot][n] = '\0';
    return buf[slot];
}

static const char *num(int slot, long long v) {
    static char buf[8][32];
    snprintf(buf[slot], sizeof buf[slot], "%lld", v);
    return buf[slot];
}

#define ENC(want, key) EXPECT("bulk:\"" want "\"", "OBJECT", "ENCODING", key)

TEST(config_names_aliases_and_errors) {
    REQUIRE(difftest_start(NULL));
    /* Globs list names and aliases (Redis's order is its dict's). */
    CU("CONFIG", "GET", "*max*list*");
    C("CONFIG", "GET", "hash-max-ziplist-entries");
    CU("CONFIG", "GET", "list-*");
    CU("CONFIG", "GET", "set-max-intset-entries", "*-ziplist-*");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-entries", "5");
    C("CONFIG", "GET", "hash-max-listpack-entries");
    /* A name and its alias are no duplicates: the last one wins. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-listpack-value", "10",
           "zset-max-ziplist-value", "20");
    CU("CONFIG", "GET", "zset-max-*-value");
    C("CONFIG", "SET", "zset-max-ziplist-value", "1", "zset-max-ziplist-value", "2");
    C("CONFIG", "SET", "hash-max-ziplist-value", "-1");
    C("CONFIG", "SET", "hash-max-ziplist-value", "1kb");
    C("CONFIG", "GET", "hash-max-listpack-value");
    C("CONFIG", "SET", "hash-max-listpack-entries", "1k");
    C("CONFIG", "SET", "set-max-intset-entries", "-1");
    C("CONFIG", "SET", "set-max-intset-entries", "99999999999999999999");
    C("CONFIG", "SET", "set-max-intset-entries", "999999999999");
    C("CONFIG", "GET", "set-max-intset-entries");
    C("CONFIG", "SET", "list-max-ziplist-size", "99999999999");
    C("CONFIG", "SET", "list-max-ziplist-size", "-7");
    C("CONFIG", "SET", "list-compress-depth", "-1");
    C("CONFIG", "SET", "hash-max-zipmap-entries", "5"); /* unknown in 7.0 */
}

TEST(hash_thresholds) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-entries", "4");
    EXPECT("int:4", "HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4");
    ENC("listpack", "h");
    EXPECT("int:0", "HSET", "h", "a", "9");
    ENC("listpack", "h");
    EXPECT("int:1", "HSET", "h", "e", "5");
    ENC("hashtable", "h");
    EXPECT("int:1", "HDEL", "h", "e");
    ENC("hashtable", "h"); /* never back */
    /* Lowered under an existing key: converts at its next add. */
    EXPECT("int:3", "HSET", "g", "a", "1", "b", "2", "c", "3");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-listpack-entries", "2");
    ENC("listpack", "g");
    C("HSET", "g", "a", "changed");
    C("OBJECT", "ENCODING", "g");
    C("HSET", "g", "z", "new");
    C("OBJECT", "ENCODING", "g");
    CU("HGETALL", "g");
    /* Value length, both ways around the limit, field and value. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-listpack-entries", "512",
           "hash-max-ziplist-value", "300");
    EXPECT("int:1", "HSET", "v", "f", rep(0, 'x', 300));
    ENC("listpack", "v");
    EXPECT("int:1", "HSET", "v", rep(0, 'y', 200), "short");
    ENC("listpack", "v");
    C("HGETALL", "v");
    EXPECT("int:0", "HSET", "v", "f", rep(0, 'x', 301));
    ENC("hashtable", "v");
    EXPECT("int:1", "HSET", "w", "f", rep(0, 'x', 3000));
    ENC("hashtable", "w");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-value", "0");
    EXPECT("int:1", "HSET", "e", "", "");
    C("OBJECT", "ENCODING", "e");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-value", "64",
           "hash-max-ziplist-entries", "0");
    C("HSET", "zero", "a", "1");
    C("OBJECT", "ENCODING", "zero");
    C("HINCRBY", "inc", "a", "1");
    C("OBJECT", "ENCODING", "inc");
    /* Raised far above the default. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-entries", "2000");
    for (int i = 0; i < 1500; i++) {
        const char *f = num(0, i);
        C("HSET", "big", f, num(1, i * 7));
    }
    ENC("listpack", "big");
    C("HLEN", "big");
    C("HGET", "big", "1499");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hash-max-ziplist-entries", "512");
    ENC("listpack", "big");
    C("HSET", "big", "x", "y");
    ENC("hashtable", "big");
}

TEST(set_thresholds) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "3");
    EXPECT("int:3", "SADD", "s", "1", "2", "3");
    ENC("intset", "s");
    EXPECT("int:0", "SADD", "s", "2");
    ENC("intset", "s");
    EXPECT("int:1", "SADD", "s", "4");
    ENC("hashtable", "s");
    EXPECT("int:2", "SREM", "s", "4", "3");
    ENC("hashtable", "s");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "0");
    C("SADD", "z", "7");
    C("OBJECT", "ENCODING", "z");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "2000");
    for (int i = 0; i < 1000; i++) C("SADD", "big", num(0, i * 3 - 500));
    ENC("intset", "big");
    C("SADD", "big", "x");
    ENC("hashtable", "big");
    /* Results of the store commands and SPOP's rebuild follow the limit. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "4");
    C("SADD", "a", "1", "2", "3", "4", "5", "6");
    C("SADD", "b", "1", "2", "3");
    C("SINTERSTORE", "d1", "a", "b");
    C("OBJECT", "ENCODING", "d1");
    C("SUNIONSTORE", "d2", "a", "b");
    C("OBJECT", "ENCODING", "d2");
    C("SDIFFSTORE", "d3", "a", "b");
    C("OBJECT", "ENCODING", "d3");
    C("SMOVE", "a", "n", "1");
    C("OBJECT", "ENCODING", "n");
    /* Lowered under an existing intset: a duplicate does not convert, a
     * new member does. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "512");
    C("SADD", "low", "1", "2", "3");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "set-max-intset-entries", "2");
    C("SADD", "low", "1");
    C("OBJECT", "ENCODING", "low");
    C("SADD", "low", "9");
    C("OBJECT", "ENCODING", "low");
}

TEST(zset_thresholds) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-ziplist-entries", "3",
           "zset-max-ziplist-value", "10");
    EXPECT("int:3", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    ENC("listpack", "z");
    EXPECT("int:1", "ZADD", "z", "4", "d");
    ENC("skiplist", "z");
    EXPECT("int:1", "ZADD", "v", "1", rep(0, 'm', 10));
    ENC("listpack", "v");
    EXPECT("int:1", "ZADD", "v", "1", rep(0, 'm', 11));
    ENC("skiplist", "v");
    C("ZINCRBY", "i", "1", rep(0, 'q', 11));
    C("OBJECT", "ENCODING", "i");
    /* Lowered under an existing key: updates, then an add. */
    C("ZADD", "low", "1", "a", "2", "b", "3", "c");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-ziplist-entries", "2");
    C("ZADD", "low", "5", "a");
    C("OBJECT", "ENCODING", "low");
    C("ZINCRBY", "low", "5", "b");
    C("OBJECT", "ENCODING", "low");
    C("ZADD", "low", "5", "d");
    C("OBJECT", "ENCODING", "low");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-ziplist-entries", "3");
    /* Store commands shrink their result under the limits. */
    C("ZADD", "s1", "1", "a", "2", "b");
    C("ZADD", "s2", "1", "c", "2", "d");
    C("ZUNIONSTORE", "u", "2", "s1", "s2");
    C("OBJECT", "ENCODING", "u");
    C("ZUNIONSTORE", "u2", "1", "s1");
    C("OBJECT", "ENCODING", "u2");
    C("ZRANGESTORE", "r", "z", "0", "1");
    C("OBJECT", "ENCODING", "r");
    C("ZRANGESTORE", "r2", "z", "0", "-1");
    C("OBJECT", "ENCODING", "r2");
    /* Long members in the listpack when the limit allows them. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-listpack-value", "5000",
           "zset-max-listpack-entries", "300");
    for (int i = 0; i < 260; i++) C("ZADD", "long", num(0, i), rep(1, (char)('a' + i % 26), i * 11));
    ENC("listpack", "long");
    C("ZRANGE", "long", "250", "-1", "WITHSCORES");
    C("ZREVRANGE", "long", "0", "3");
    C("ZRANK", "long", rep(1, 'a' + 255 % 26, 255 * 11));
    C("ZINCRBY", "long", "-1000", rep(1, 'a' + 200 % 26, 200 * 11));
    C("ZRANGE", "long", "0", "1", "WITHSCORES");
    C("ZREM", "long", rep(1, 'a' + 100 % 26, 100 * 11));
    C("ZCARD", "long");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "zset-max-listpack-value", "0",
           "zset-max-listpack-entries", "0");
    C("ZADD", "zero", "1", "a");
    C("OBJECT", "ENCODING", "zero");
    ENC("listpack", "long"); /* untouched keys keep theirs */
}

/* The quicklist figures of DEBUG OBJECT (" ql_nodes:..." to the end). */
static void compare_ql(const char *key) {
    char lq[256] = "", rq[256] = "";
    const char *lr = cmd(L, "DEBUG OBJECT %s", key), *p = strstr(lr, " ql_nodes:");
    if (p) snprintf(lq, sizeof lq, "%s", p);
    if (R) {
        const char *rr = cmd(R, "DEBUG OBJECT %s", key), *q = strstr(rr, " ql_nodes:");
        if (q) snprintf(rq, sizeof rq, "%s", q);
        CHECK_EQ_STR(lq, rq);
    }
    CHECK(lq[0] != '\0');
}

/* Node fill and compress depth: same contents, and the same node counts
 * and sizes as Redis's quicklist (DEBUG OBJECT); each list keeps the fill
 * and depth it was created with. */
TEST(list_fill_and_compress) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    static const char *fills[] = {"1", "4", "0", "-1", "-5", "-9", "100000", "-2"};
    static const char *depths[] = {"0", "1", "2", "0", "3", "1", "0", "1"};
    char key[16];
    for (int f = 0; f < 8; f++) {
        EXPECT("status:\"OK\"", "CONFIG", "SET", "list-max-ziplist-size", fills[f],
               "list-compress-depth", depths[f]);
        snprintf(key, sizeof key, "l%d", f);
        for (int i = 0; i < 300; i++) C("RPUSH", key, rep(0, (char)('a' + i % 26), i % 50 * 7));
        for (int i = 0; i < 50; i++) C("LPUSH", key, num(0, i * 1000));
        compare_ql(key);
        C("LINSERT", key, "BEFORE", rep(0, 'c', 2 * 7), "inserted");
        C("LSET", key, "7", rep(0, 'z', 900));
        C("LSET", key, "150", "mid");
        C("LINDEX", key, "200");
        C("LREM", key, "0", rep(0, 'd', 3 * 7));
        C("LRANGE", key, "100", "130");
        C("LPOS", key, rep(0, 'q', 16 * 7), "COUNT", "0");
        /* (Node splits and merges after inserts differ in detail from
         * Redis's: only the contents are compared from here on.) */
        C("LTRIM", key, "3", "-3");
        C("LRANGE", key, "0", "-1");
        ENC("quicklist", key);
    }
    /* Lists created before keep their fill and depth. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "list-max-ziplist-size", "-2",
           "list-compress-depth", "0");
    C("RPUSH", "l5", "more");
    CHECK(strstr(cmd(L, "DEBUG OBJECT l5"), "ql_listpack_max:-9") == NULL);
    CHECK(strstr(cmd(L, "DEBUG OBJECT l5"), "ql_listpack_max:-5 ql_compressed:1") != NULL);
    CU("CONFIG", "GET", "list-*");
    /* A reload keeps the contents (Redis also keeps its node boundaries,
     * which Lightning's snapshot does not record: not compared). */
    C("DEBUG", "DIGEST");
    EXPECT("status:\"OK\"", "DEBUG", "RELOAD");
    C("DEBUG", "DIGEST");
    C("LRANGE", "l1", "0", "-1");
}

/* Lightning alone: contents and encodings across a restart that replays
 * the WAL, and across a snapshot, under limits other than the writer's. */
TEST(persistence_across_limit_changes) {
    harness_server *s = harness_start("save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG SET hash-max-listpack-value 500 zset-max-listpack-value 500"),
                 "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "HSET h f %s", rep(0, 'x', 400)), "int:1");
    CHECK_EQ_STR(cmd(c, "ZADD z 1 %s", rep(0, 'y', 400)), "int:1");
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING h"), "bulk:\"listpack\"");
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING z"), "bulk:\"listpack\"");
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    /* Restarted with the default limits (64): the replayed writes break them. */
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING h"), "bulk:\"hashtable\"");
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING z"), "bulk:\"skiplist\"");
    CHECK_EQ_INT(strlen(cmd(c, "HGET h f")), strlen("bulk:\"\"") + 400);
    CHECK_EQ_STR(cmd(c, "ZSCORE z %s", rep(0, 'y', 400)), "bulk:\"1\"");
    harness_stop(s);

    /* A snapshot written and loaded under raised limits keeps long
     * members in the listpack. */
    s = harness_start("save", "", "hash-max-listpack-value", "500", "zset-max-ziplist-value",
                      "500", NULL);
    REQUIRE(s);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "HSET h f %s", rep(0, 'x', 400)), "int:1");
    CHECK_EQ_STR(cmd(c, "ZADD z 1 %s 2 b", rep(0, 'y', 400)), "int:2");
    CHECK_EQ_STR(cmd(c, "SAVE"), "status:\"OK\"");
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING h"), "bulk:\"listpack\"");
    CHECK_EQ_STR(cmd(c, "OBJECT ENCODING z"), "bulk:\"listpack\"");
    CHECK_EQ_INT(strlen(cmd(c, "HGET h f")), strlen("bulk:\"\"") + 400);
    CHECK_EQ_STR(cmd(c, "ZRANGE z 1 1 WITHSCORES"), "array[bulk:\"b\",bulk:\"2\"]");
}

int main(void) {
    RUN(config_names_aliases_and_errors);
    RUN(hash_thresholds);
    RUN(set_thresholds);
    RUN(zset_thresholds);
    RUN(list_fill_and_compress);
    RUN(persistence_across_limit_changes);
    return testlib_finish();
}
