/* Differential tests of the sorted-set commands against real Redis
 * 7.0.15: every command with its options and errors (infinities, exclusive
 * and lex ranges, negative ranks, LIMIT, WRONGTYPE, deletion of emptied
 * sets), both encodings (listpack and the large "skiplist" one), RESP3
 * reply shapes, and a random command sequence that uses a fixed seed;
 * TEST_SEED=N runs another sequence. */
#include "../difftest.h"

/* Scripted commands, arguments separated by '|'; each runs on both
 * servers and the rendered replies must be equal. */
static const char *script[] = {
    "zadd|z|1|a|2|b|3|c",
    "zadd|z|nx|xx|1|a",
    "zadd|z|gt|lt|1|a",
    "zadd|z|incr|1|a|2|b",
    "zadd|z|1",
    "zadd|z|nan|a",
    "zadd|z|incr|5|a",
    "zadd|z|ch|10|a|20|z1",
    "zadd|z|xx|ch|gt|5|a",
    "zadd|z|lt|ch|5|a",
    "zrange|z|0|-1|withscores",
    "zrange|z|0|-1|rev|withscores",
    "zrange|z|(1|+inf|byscore|withscores",
    "zrange|z|+inf|(1|byscore|rev|limit|1|2|withscores",
    "zrange|z|0|1|limit|0|1",
    "zrangebyscore|z|-inf|+inf|withscores|limit|1|-1",
    "zrangebyscore|z|-inf|+inf|limit|-1|2",
    "zrevrangebyscore|z|100|0|withscores",
    "zrangebyscore|z|a|b",
    "zscore|z|a",
    "zscore|z|nope",
    "zmscore|z|a|nope|b",
    "zincrby|z|2.5|b",
    "zincrby|z|abc|b",
    "zcard|z",
    "zcount|z|-inf|+inf",
    "zcount|z|(2|3",
    "zrank|z|c",
    "zrevrank|z|c",
    "zrank|z|nope",
    "zadd|l|0|a|0|b|0|c|0|d|0|e",
    "zrangebylex|l|-|+",
    "zrangebylex|l|[b|(d",
    "zrevrangebylex|l|+|-|limit|1|2",
    "zrangebylex|l|b|d",
    "zlexcount|l|[b|+",
    "zrange|l|[b|[d|bylex|rev",
    "zrange|l|(d|[b|bylex|rev",
    "zremrangebylex|l|[a|[b",
    "zrange|l|0|-1",
    "zremrangebyrank|l|0|0",
    "zremrangebyscore|l|-inf|+inf",
    "exists|l",
    "zpopmin|z",
    "zpopmax|z|2",
    "zpopmin|z|0",
    "zpopmin|z|-1",
    "zpopmin|nokey",
    "zmpop|1|z|min|count|10",
    "zmpop|2|nokey|z|max",
    "zadd|a|1|x|2|y|3|z",
    "zadd|b|10|y|20|z|30|w",
    "sadd|s|x|w|q",
    "zunion|2|a|b|withscores",
    "zunion|3|a|b|s|withscores|aggregate|max",
    "zinter|2|a|b|withscores|weights|2|3",
    "zinter|3|a|b|s|withscores",
    "zintercard|2|a|b",
    "zintercard|2|a|b|limit|1",
    "zdiff|2|a|b|withscores",
    "zunionstore|d|2|a|b",
    "zrange|d|0|-1|withscores",
    "zinterstore|d|2|a|nokey",
    "exists|d",
    "zdiffstore|d|1|a",
    "object|encoding|d",
    "zrangestore|d|a|0|-1|rev",
    "zrange|d|0|-1|withscores",
    "zrangestore|d|a|5|10",
    "exists|d",
    "set|str|x",
    "zadd|str|1|a",
    "zrange|str|0|1",
    "zunion|2|a|str",
    "zscan|a|0",
    "zscan|a|0|match|x*",
    "zscan|nokey|0|count|0",
    "zadd|inf|inf|a|-inf|b|0|c",
    "zrange|inf|0|-1|withscores",
    "zadd|inf|incr|-inf|a",
    "zrangebyscore|inf|-inf|-inf|withscores",
    "zrandmember|nokey",
    "zrandmember|a|0",
    "FLUSHALL",
    "zadd|z|1|a|2|b|3|c|4|d|5|e",
    "zrandmember|z|-9223372036854775808",
    "zrandmember|z|9223372036854775807|withscores",
    "zrandmember|z|abc",
    "zpopmin|z|abc",
    "zmpop|0|z|min",
    "zmpop|abc|z|min",
    "zmpop|1|z|min|count|0",
    "zmpop|1|z|min|count|1|count|1",
    "zmpop|1|z",
    "zmpop|5|z|min",
    "zintercard|1|z|limit|-1",
    "zintercard|0|z",
    "zinter|0|z",
    "zunionstore|d|0|z",
    "zunion|1|z|weights|a",
    "zunion|1|z|weights|1|2",
    "zunion|1|z|aggregate|foo",
    "zdiff|1|z|weights|1",
    "zinterstore|d|1|z|withscores",
    "zrange|z||",
    "zcount|z||",
    "zcount|z| 1|(3",
    "zcount|z|1e400|inf",
    "zcount|z|(|+inf",
    "zcount|z|0x1|10",
    "zscan|z|0|type|zset",
    "zscan|z|0|count|0",
    "zscan|z|abc",
    "zscan|z|0|count|1|match|a*",
    "zrange|z|0|1|rev|rev",
    "zrevrange|z|0|1|rev",
    "zrange|z|0|1|byscore|bylex",
    "zrange|z|0|1|withscores|limit|0|1|byscore",
    "zrangestore|d|z|0|-1|withscores",
    "zrangebylex|z|-|+|withscores",
    "zrangebylex|z|-a|+",
    "zrangebylex|z|a|+",
    "zrangebylex|z|[|(",
    "zincrby|z|1",
    "zincrby|z|nx|m",
    "zadd|z|xx",
    "zadd|z|ch",
    "zadd|z|1|a|2",
    "zadd|z|1.5e1|f|0x10|g| 1|h",
    "zadd|z|1 |h",
    "zadd|z|inf|i|-inf|j",
    "zrange|z|0|-1|withscores",
    "zscore|z|g",
    "zadd|z|1.1|k|0.1|l|1e-300|m|123456789012345678|n|-0|o|3.14159265358979|p",
    "zrange|z|0|-1|withscores",
    "zscan|z|0",
    "zpopmax|nokey|3",
    "zmpop|1|nokey|min",
    "zremrangebyrank|z|100|200",
    "zremrangebyrank|z|-2|-1",
    "zremrangebyrank|z|abc|1",
    "zremrangebyscore|z|a|1",
    "zremrangebylex|z|a|1",
    "zremrangebyscore|z|(1|(2",
    "zrevrangebyscore|z|+inf|-inf|withscores|limit|2|3",
    "zrevrangebylex|z|+|-|limit|0|2",
    "FLUSHALL",
    "zadd|zz|-0|a",
    "zscore|zz|a",
    "zincrby|zz|-0|b",
    "zunion|1|zz|weights|-1|withscores",
    "zunionstore|d2|1|zz|weights|-1",
    "zrange|d2|0|-1|withscores",
    "object|encoding|d2",
    "zadd|ss|1|a",
    "zadd|ss|2|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "object|encoding|ss",
    "zunionstore|d3|1|ss",
    "object|encoding|d3",
    "zrangestore|d4|ss|0|0",
    "object|encoding|d4",
    "zadd|ss|xx|5|a",
    "zrem|ss|a|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "exists|ss",
    "type|zz",
};

static void run_line(const char *line) {
    char buf[512];
    const char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    char *p = buf;
    argv[argc++] = p;
    for (; *p; p++)
        if (*p == '|') {
            *p = '\0';
            argv[argc++] = p + 1;
        }
    argv[argc] = NULL;
    harness_compare(__FILE__, __LINE__, L, R, 0, argv);
}

TEST(scripted_differential) {
    REQUIRE(difftest_start(NULL));
    for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) run_line(script[i]);
}

TEST(explicit_values) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("ZADD", "z", "1", "a", "2.5", "b", "inf", "c"), "int:3");
    CHECK_EQ_STR(C("ZRANGE", "z", "0", "-1", "WITHSCORES"),
                 "array[bulk:\"a\",bulk:\"1\",bulk:\"b\",bulk:\"2.5\",bulk:\"c\",bulk:\"inf\"]");
    CHECK_EQ_STR(C("ZINCRBY", "z", "0.1", "a"), "bulk:\"1.1000000000000001\"");
    CHECK_EQ_STR(C("ZRANGEBYSCORE", "z", "(1.1", "+inf"), "array[bulk:\"b\",bulk:\"c\"]");
    CHECK_EQ_STR(C("ZREVRANK", "z", "c"), "int:0");
    CHECK_EQ_STR(C("OBJECT", "ENCODING", "z"), "bulk:\"listpack\"");
    CHECK_EQ_STR(C("ZADD", "z", "xx", "1", "nope"), "int:0");
    CHECK_EQ_STR(C("ZADD", "z", "incr", "nx", "1", "a"), "nil");
    CHECK_EQ_STR(C("ZREM", "z", "a", "b", "c", "d"), "int:3");
    CHECK_EQ_STR(C("EXISTS", "z"), "int:0");
    CHECK_EQ_STR(C("SET", "s", "x"), "status:\"OK\"");
    CHECK_EQ_STR(C("ZCARD", "s"), WRONGTYPE);
}

/* Builds a set of n members (skiplist past 128) on both servers. */
static void fill(const char *key, int n, int step) {
    char score[32], member[32];
    for (int i = 0; i < n; i++) {
        snprintf(score, sizeof score, "%d", (i * step) % 1000);
        snprintf(member, sizeof member, "m%d", i);
        C("ZADD", key, score, member);
    }
}

TEST(skiplist_encoding) {
    REQUIRE(difftest_start(NULL));
    fill("big", 300, 7);
    fill("other", 200, 3);
    CHECK_EQ_STR(C("OBJECT", "ENCODING", "big"), "bulk:\"skiplist\"");
    C("ZRANGE", "big", "10", "40", "WITHSCORES");
    C("ZRANGE", "big", "-40", "-10", "REV");
    C("ZRANGE", "big", "(100", "500", "BYSCORE", "LIMIT", "5", "20");
    C("ZRANGE", "big", "500", "(100", "BYSCORE", "REV", "LIMIT", "5", "20", "WITHSCORES");
    C("ZCOUNT", "big", "(7", "700");
    C("ZRANK", "big", "m150");
    C("ZREVRANK", "big", "m150");
    C("ZMSCORE", "big", "m1", "m299", "nope");
    C("ZUNION", "2", "big", "other", "WITHSCORES");
    C("ZINTER", "2", "big", "other", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES");
    C("ZDIFF", "2", "big", "other");
    C("ZINTERCARD", "2", "big", "other", "LIMIT", "17");
    C("ZUNIONSTORE", "dst", "2", "big", "other");
    C("OBJECT", "ENCODING", "dst");
    C("ZRANGESTORE", "dst", "big", "0", "99");
    C("OBJECT", "ENCODING", "dst");
    C("ZREMRANGEBYSCORE", "big", "100", "(200");
    C("ZREMRANGEBYRANK", "big", "-20", "-1");
    C("ZPOPMIN", "big", "3");
    C("ZPOPMAX", "big");
    C("ZMPOP", "2", "nokey", "big", "MAX", "COUNT", "4");
    C("ZRANGE", "big", "0", "-1", "WITHSCORES");
    C("ZRANDMEMBER", "big", "1000");
    /* ZSCAN: the full iteration returns every member once with its score */
    CHECK_EQ_STR(C("ZCARD", "other"), "int:200");
    char cursor[32] = "0";
    int seen = 0;
    do {
        redisReply *rep = redisCommand(L, "ZSCAN other %s COUNT 20", cursor);
        REQUIRE(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2);
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        seen += (int)rep->element[1]->elements / 2;
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    CHECK(seen >= 200);
    C("ZREMRANGEBYLEX", "other", "-", "+");
    CHECK_EQ_STR(C("EXISTS", "other"), "int:0");
}

TEST(resp3_shapes) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    RAW_COMPARE(fl, fr, "ZADD", "z", "1", "a", "2", "b", "-inf", "c");
    RAW_COMPARE(fl, fr, "ZSCORE", "z", "a");
    RAW_COMPARE(fl, fr, "ZSCORE", "z", "c");
    RAW_COMPARE(fl, fr, "ZMSCORE", "z", "a", "x");
    RAW_COMPARE(fl, fr, "ZRANGE", "z", "0", "-1", "WITHSCORES");
    RAW_COMPARE(fl, fr, "ZUNION", "1", "z", "WITHSCORES");
    RAW_COMPARE(fl, fr, "ZPOPMIN", "z");
    RAW_COMPARE(fl, fr, "ZPOPMIN", "z", "1");
    RAW_COMPARE(fl, fr, "ZMPOP", "1", "z", "MAX");
    RAW_COMPARE(fl, fr, "ZMPOP", "1", "z", "MAX");
    RAW_COMPARE(fl, fr, "ZADD", "one", "7", "x");
    RAW_COMPARE(fl, fr, "ZRANDMEMBER", "one", "-2", "WITHSCORES");
    RAW_COMPARE(fl, fr, "ZRANDMEMBER", "one");
    RAW_COMPARE(fl, fr, "ZSCAN", "z", "0");
}

static uint64_t rng;
static unsigned rnd(unsigned n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

TEST(random_sequence) {
    unsigned seed = difftest_seed(4242);
    rng = seed ? seed : 1;
    REQUIRE(difftest_start(NULL));
    const char *keys[] = {"k1", "k2", "k3"};
    char a[32], b[32], m[32];
    for (int i = 0; i < 3000; i++) {
        const char *k = keys[rnd(3)], *k2 = keys[rnd(3)];
        snprintf(m, sizeof m, "m%u", rnd(300));
        snprintf(a, sizeof a, "%d", (int)rnd(60) - 10);
        snprintf(b, sizeof b, "%s%d", rnd(4) ? "" : "(", (int)rnd(60) - 10);
        switch (rnd(14)) {
        case 0: case 1: case 2: case 3: C("ZADD", k, a, m); break;
        case 4: C("ZINCRBY", k, a, m); break;
        case 5: C("ZREM", k, m); break;
        case 6: C("ZRANGE", k, a, b + (b[0] == '('), "WITHSCORES"); break;
        case 7: C("ZRANGEBYSCORE", k, b, "+inf", "LIMIT", "1", a); break;
        case 8: C("ZCOUNT", k, b, a); break;
        case 9: C("ZRANK", k, m); break;
        case 10: C("ZREMRANGEBYSCORE", k, b, a); break;
        case 11: C("ZPOPMIN", k, "2"); break;
        case 12: C("ZUNIONSTORE", k, "2", k, k2, "WEIGHTS", "1", "2"); break;
        case 13: C("ZINTER", "2", k, k2, "WITHSCORES"); break;
        }
        if (difftest_failed_at(i, seed, "ZRANGE %s 0 -1 WITHSCORES", keys, NELEM(keys))) return;
    }
    for (int i = 0; i < 3; i++) {
        C("ZRANGE", keys[i], "0", "-1", "WITHSCORES");
        C("OBJECT", "ENCODING", keys[i]);
    }
}

int main(void) {
    RUN(scripted_differential);
    RUN(explicit_values);
    RUN(skiplist_encoding);
    RUN(resp3_shapes);
    RUN(random_sequence);
    return testlib_finish();
}
