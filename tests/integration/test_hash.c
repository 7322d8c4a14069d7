/*
 * Hash commands (t_hash.c), differential against a real redis-server 7.0:
 * every reply of Lightning is compared with Redis's (COMPARE) and the
 * expected value asserted too. Small hashes ("listpack") keep insertion
 * order in both servers, so their HGETALL/HKEYS/HVALS compare in order;
 * large ones ("hashtable") compare unordered. Random replies (HRANDFIELD)
 * are checked for shape and membership instead. The randomized test uses a
 * fixed seed; TEST_SEED=N runs another sequence.
 */
#include "../difftest.h"

#include <stdlib.h>

/* n copies of ch (n < 200), in a static buffer per slot. */
static const char *rep(int slot, char ch, int n) {
    static char buf[4][200];
    memset(buf[slot], ch, (size_t)n);
    buf[slot][n] = '\0';
    return buf[slot];
}

TEST(set_get_basic) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "HGET", "h", "a");
    EXPECT("int:0", "HLEN", "h");
    EXPECT("int:0", "HEXISTS", "h", "a");
    EXPECT("int:0", "HSTRLEN", "h", "a");
    EXPECT("array[nil,nil]", "HMGET", "h", "a", "b");
    EXPECT("array[]", "HKEYS", "h");
    EXPECT("array[]", "HVALS", "h");
    EXPECT("array[]", "HGETALL", "h");
    EXPECT("int:3", "HSET", "h", "a", "1", "b", "hello", "c", "");
    EXPECT("int:1", "HSET", "h", "a", "2", "d", "-7");
    EXPECT("int:0", "HSET", "h", "a", "3", "a", "4");
    EXPECT("bulk:\"4\"", "HGET", "h", "a");
    EXPECT("bulk:\"\"", "HGET", "h", "c");
    EXPECT("bulk:\"-7\"", "HGET", "h", "d");
    EXPECT("nil", "HGET", "h", "zz");
    EXPECT("array[bulk:\"4\",nil,bulk:\"hello\"]", "HMGET", "h", "a", "zz", "b");
    EXPECT("int:4", "HLEN", "h");
    EXPECT("int:1", "HEXISTS", "h", "b");
    EXPECT("int:5", "HSTRLEN", "h", "b");
    EXPECT("int:2", "HSTRLEN", "h", "d");
    EXPECT("int:0", "HSTRLEN", "h", "c");
    EXPECT("array[bulk:\"a\",bulk:\"b\",bulk:\"c\",bulk:\"d\"]", "HKEYS", "h");
    EXPECT("array[bulk:\"4\",bulk:\"hello\",bulk:\"\",bulk:\"-7\"]", "HVALS", "h");
    EXPECT("array[bulk:\"a\",bulk:\"4\",bulk:\"b\",bulk:\"hello\",bulk:\"c\",bulk:\"\","
           "bulk:\"d\",bulk:\"-7\"]",
           "HGETALL", "h");
    /* Integers and their look-alikes stay distinct fields. */
    EXPECT("int:4", "HSET", "n", "1", "int", "01", "str", "-0", "neg0", "1.0", "flt");
    EXPECT("bulk:\"int\"", "HGET", "n", "1");
    EXPECT("bulk:\"str\"", "HGET", "n", "01");
    EXPECT("nil", "HGET", "n", "0");
    EXPECT("int:4", "HSET", "n", "9223372036854775807", "max", "-9223372036854775808", "min",
           "9223372036854775808", "over", "", "empty");
    EXPECT("bulk:\"max\"", "HGET", "n", "9223372036854775807");
    EXPECT("bulk:\"min\"", "HGET", "n", "-9223372036854775808");
    EXPECT("bulk:\"empty\"", "HGET", "n", "");
    EXPECT("int:0", "HSET", "n", "1", "x\xff\x00y");
    C("HGETALL", "n");
    /* HMSET replies OK. */
    EXPECT("status:\"OK\"", "HMSET", "m", "a", "1", "b", "2");
    EXPECT("status:\"OK\"", "HMSET", "m", "a", "x");
    EXPECT("array[bulk:\"x\",bulk:\"2\"]", "HMGET", "m", "a", "b");
    /* Arity. */
    EXPECT("err:\"ERR wrong number of arguments for 'hset' command\"", "HSET", "h", "a");
    EXPECT("err:\"ERR wrong number of arguments for 'hset' command\"", "HSET", "h", "a", "1",
           "b");
    EXPECT("err:\"ERR wrong number of arguments for 'hmset' command\"", "HMSET", "h", "a", "1",
           "b");
    EXPECT("err:\"ERR wrong number of arguments for 'hget' command\"", "HGET", "h");
    EXPECT("err:\"ERR wrong number of arguments for 'hmget' command\"", "HMGET", "h");
    EXPECT("err:\"ERR wrong number of arguments for 'hdel' command\"", "HDEL", "h");
    EXPECT("err:\"ERR wrong number of arguments for 'hlen' command\"", "HLEN", "h", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'hsetnx' command\"", "HSETNX", "h", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'hgetall' command\"", "HGETALL");
    EXPECT("err:\"ERR wrong number of arguments for 'hscan' command\"", "HSCAN", "h");
    EXPECT("err:\"ERR wrong number of arguments for 'hrandfield' command\"", "HRANDFIELD");
}

TEST(hsetnx_hdel_empty_key) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:1", "HSETNX", "h", "a", "1");
    EXPECT("int:0", "HSETNX", "h", "a", "2");
    EXPECT("bulk:\"1\"", "HGET", "h", "a");
    EXPECT("int:1", "HSETNX", "h", "b", "2");
    EXPECT("int:0", "HDEL", "h", "zz", "yy");
    EXPECT("int:0", "HDEL", "nokey", "a");
    EXPECT("int:1", "HDEL", "h", "a", "a", "zz");
    EXPECT("int:1", "EXISTS", "h");
    EXPECT("int:1", "HDEL", "h", "b", "c");
    EXPECT("int:0", "EXISTS", "h");
    EXPECT("nil", "HGET", "h", "b");
    /* A big hash emptied by one HDEL goes too. */
    static const char *argv[2 + 2 * 600 + 1];
    static char names[600][16];
    argv[0] = "HSET";
    argv[1] = "big";
    for (int i = 0; i < 600; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        argv[2 + 2 * i] = names[i];
        argv[3 + 2 * i] = names[i];
    }
    argv[2 + 2 * 600] = NULL;
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "int:600");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "big");
    argv[0] = "HDEL";
    for (int i = 0; i < 600; i++) argv[2 + i] = names[i];
    argv[2 + 600] = NULL;
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "int:600");
    EXPECT("int:0", "EXISTS", "big");
    EXPECT("int:0", "DBSIZE");
}

TEST(wrongtype) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "s", "v");
    EXPECT(WRONGTYPE, "HSET", "s", "a", "1");
    EXPECT(WRONGTYPE, "HMSET", "s", "a", "1");
    EXPECT(WRONGTYPE, "HSETNX", "s", "a", "1");
    EXPECT(WRONGTYPE, "HGET", "s", "a");
    EXPECT(WRONGTYPE, "HMGET", "s", "a");
    EXPECT(WRONGTYPE, "HDEL", "s", "a");
    EXPECT(WRONGTYPE, "HEXISTS", "s", "a");
    EXPECT(WRONGTYPE, "HLEN", "s");
    EXPECT(WRONGTYPE, "HSTRLEN", "s", "a");
    EXPECT(WRONGTYPE, "HKEYS", "s");
    EXPECT(WRONGTYPE, "HVALS", "s");
    EXPECT(WRONGTYPE, "HGETALL", "s");
    EXPECT(WRONGTYPE, "HINCRBY", "s", "a", "1");
    EXPECT(WRONGTYPE, "HINCRBYFLOAT", "s", "a", "1");
    EXPECT(WRONGTYPE, "HRANDFIELD", "s");
    EXPECT(WRONGTYPE, "HRANDFIELD", "s", "2");
    EXPECT(WRONGTYPE, "HSCAN", "s", "0");
    /* Argument errors come first. */
    EXPECT(NOTINT, "HINCRBY", "s", "a", "x");
    EXPECT("err:\"ERR invalid cursor\"", "HSCAN", "s", "x");
    EXPECT(SYNTAX, "HRANDFIELD", "s", "1", "foo");
    /* The other way round. */
    EXPECT("int:1", "HSET", "h", "a", "1");
    EXPECT(WRONGTYPE, "GET", "h");
    EXPECT(WRONGTYPE, "APPEND", "h", "x");
    EXPECT(WRONGTYPE, "INCR", "h");
    EXPECT("status:\"hash\"", "TYPE", "h");
    EXPECT("status:\"OK\"", "SET", "h", "x");
    EXPECT("bulk:\"x\"", "GET", "h");
}

TEST(hincrby) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:5", "HINCRBY", "h", "n", "5");
    EXPECT("int:-5", "HINCRBY", "h", "n", "-10");
    EXPECT("int:-5", "HINCRBY", "h", "n", "0");
    EXPECT("bulk:\"-5\"", "HGET", "h", "n");
    EXPECT(NOTINT, "HINCRBY", "h", "n", "1.5");
    EXPECT(NOTINT, "HINCRBY", "h", "n", "");
    EXPECT(NOTINT, "HINCRBY", "h", "n", "9223372036854775808");
    EXPECT("int:1", "HSET", "h", "s", "abc");
    EXPECT("err:\"ERR hash value is not an integer\"", "HINCRBY", "h", "s", "1");
    EXPECT("int:1", "HSET", "h", "sp", " 1");
    EXPECT("err:\"ERR hash value is not an integer\"", "HINCRBY", "h", "sp", "1");
    EXPECT("int:1", "HSET", "h", "big", "9223372036854775807");
    EXPECT("err:\"ERR increment or decrement would overflow\"", "HINCRBY", "h", "big", "1");
    EXPECT("int:9223372036854775806", "HINCRBY", "h", "big", "-1");
    EXPECT("int:1", "HSET", "h", "small", "-9223372036854775808");
    EXPECT("err:\"ERR increment or decrement would overflow\"", "HINCRBY", "h", "small", "-1");
    EXPECT("int:1", "HINCRBY", "new", "f", "1");
    /* In a hashtable too. */
    EXPECT("int:1", "HSET", "h", "long", rep(0, 'x', 70));
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "h");
    EXPECT("int:-3", "HINCRBY", "h", "n", "2");
    EXPECT("err:\"ERR hash value is not an integer\"", "HINCRBY", "h", "long", "1");
    EXPECT("int:7", "HINCRBY", "h", "fresh", "7");
    /* A long field converts. */
    EXPECT("int:1", "HINCRBY", "lf", rep(1, 'f', 65), "1");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "lf");
}

TEST(hincrbyfloat) {
    REQUIRE(difftest_start(NULL));
    EXPECT("bulk:\"10.5\"", "HINCRBYFLOAT", "h", "f", "10.5");
    EXPECT("bulk:\"10.6\"", "HINCRBYFLOAT", "h", "f", "0.1");
    EXPECT("bulk:\"5010.60000000000000009\"", "HINCRBYFLOAT", "h", "f", "5.0e3");
    EXPECT("bulk:\"5010.60000000000000009\"", "HGET", "h", "f");
    EXPECT("int:1", "HSET", "h", "i", "3");
    EXPECT("bulk:\"4.5\"", "HINCRBYFLOAT", "h", "i", "1.5");
    EXPECT("bulk:\"-1\"", "HINCRBYFLOAT", "h", "z", "-1");
    EXPECT("err:\"ERR value is not a valid float\"", "HINCRBYFLOAT", "h", "f", "abc");
    EXPECT("err:\"ERR value is not a valid float\"", "HINCRBYFLOAT", "h", "f", "");
    EXPECT("err:\"ERR value is not a valid float\"", "HINCRBYFLOAT", "h", "f", "nan");
    EXPECT("err:\"ERR value is NaN or Infinity\"", "HINCRBYFLOAT", "h", "f", "inf");
    EXPECT("err:\"ERR value is NaN or Infinity\"", "HINCRBYFLOAT", "h", "f", "-inf");
    EXPECT("int:1", "HSET", "h", "s", "abc");
    EXPECT("err:\"ERR hash value is not a float\"", "HINCRBYFLOAT", "h", "s", "1");
    EXPECT("int:1", "HSET", "h", "huge", "1.5e4932");
    EXPECT("err:\"ERR hash value is not a float\"", "HINCRBYFLOAT", "h", "huge", "1");
    EXPECT("int:1", "HSET", "h", "max", "1e4932");
    EXPECT("err:\"ERR increment would produce NaN or Infinity\"", "HINCRBYFLOAT", "h", "max",
           "1e4932");
    EXPECT("int:1", "EXISTS", "h");
    EXPECT("err:\"ERR wrong number of arguments for 'hincrbyfloat' command\"", "HINCRBYFLOAT",
           "h", "f");
    /* A result longer than 64 bytes converts; a 51-byte one does not. */
    EXPECT("int:1", "HSET", "a", "x", "1");
    C("HINCRBYFLOAT", "a", "x", "1e50");
    EXPECT("bulk:\"listpack\"", "OBJECT", "ENCODING", "a");
    C("HINCRBYFLOAT", "a", "x", "1e70");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "a");
}

TEST(encoding_conversion) {
    REQUIRE(difftest_start(NULL));
    char f[16], v[16];
    for (int i = 0; i < 512; i++) {
        snprintf(f, sizeof f, "f%d", i);
        snprintf(v, sizeof v, "%d", i * 7);
        EXPECT("int:1", "HSET", "h", f, v);
    }
    EXPECT("bulk:\"listpack\"", "OBJECT", "ENCODING", "h");
    C("HGETALL", "h");
    C("HKEYS", "h");
    EXPECT("int:0", "HSET", "h", "f5", "x");
    EXPECT("bulk:\"listpack\"", "OBJECT", "ENCODING", "h");
    EXPECT("int:1", "HSET", "h", "f512", "last");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "h");
    EXPECT("int:513", "HLEN", "h");
    CU("HGETALL", "h");
    CU("HKEYS", "h");
    CU("HVALS", "h");
    EXPECT("bulk:\"x\"", "HGET", "h", "f5");
    /* Never converts back. */
    EXPECT("int:100", "HDEL", "h", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
           "f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21",
           "f22", "f23", "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "f32", "f33",
           "f34", "f35", "f36", "f37", "f38", "f39", "f40", "f41", "f42", "f43", "f44", "f45",
           "f46", "f47", "f48", "f49", "f50", "f51", "f52", "f53", "f54", "f55", "f56", "f57",
           "f58", "f59", "f60", "f61", "f62", "f63", "f64", "f65", "f66", "f67", "f68", "f69",
           "f70", "f71", "f72", "f73", "f74", "f75", "f76", "f77", "f78", "f79", "f80", "f81",
           "f82", "f83", "f84", "f85", "f86", "f87", "f88", "f89", "f90", "f91", "f92", "f93",
           "f94", "f95", "f96", "f97", "f98", "f99");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "h");
    EXPECT("int:413", "HLEN", "h");
    CU("HGETALL", "h");
    /* 64-byte values and fields fit, 65 do not. */
    EXPECT("int:1", "HSET", "v", "a", rep(0, 'v', 64));
    EXPECT("int:1", "HSET", "v", rep(1, 'k', 64), "b");
    EXPECT("bulk:\"listpack\"", "OBJECT", "ENCODING", "v");
    EXPECT("int:0", "HSET", "v", "a", rep(0, 'v', 65));
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "v");
    EXPECT("int:1", "HSET", "k", rep(1, 'k', 65), "b");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "k");
    EXPECT("int:1", "HSETNX", "n", "a", rep(0, 'v', 65));
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "n");
    /* HSETNX of an existing field does not look at the value. */
    EXPECT("int:1", "HSETNX", "x", "a", "1");
    EXPECT("int:0", "HSETNX", "x", "a", rep(0, 'v', 65));
    EXPECT("bulk:\"listpack\"", "OBJECT", "ENCODING", "x");
    /* A long value anywhere in one HSET converts. */
    EXPECT("int:2", "HSET", "y", "a", "1", "b", rep(0, 'v', 100));
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "y");
    EXPECT("int:0", "HSET", "y", "b", "short");
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "y");
}

/* Elements of a rendered array "array[a,b,...]" (bulk strings without
 * commas in them), into out; returns how many. */
static int split_array(const char *r, char out[][64], int max) {
    if (strncmp(r, "array[", 6) != 0) return -1;
    int n = 0;
    const char *p = r + 6;
    while (*p && *p != ']' && n < max) {
        const char *e = p;
        while (*e && *e != ',' && *e != ']') e++;
        size_t len = (size_t)(e - p) < 63 ? (size_t)(e - p) : 63;
        memcpy(out[n], p, len);
        out[n++][len] = '\0';
        p = *e == ',' ? e + 1 : e;
    }
    return n;
}

/* Checks one HRANDFIELD reply on server c for hash "h" whose fields are
 * "f0".."f<size-1>" with value "v<i>": element count and membership, and
 * distinctness when unique. */
static void check_randfield(redisContext *c, const char *count, int withvalues, int want,
                            int unique, int size) {
    const char *r = withvalues ? cmd(c, "HRANDFIELD h %s WITHVALUES", count)
                               : cmd(c, "HRANDFIELD h %s", count);
    static char el[1500][64];
    int n = split_array(r, el, 1500);
    CHECK_EQ_INT(n, withvalues ? want * 2 : want);
    int seen[1000] = {0};
    for (int i = 0; i < n; i += withvalues ? 2 : 1) {
        int idx = -1;
        if (sscanf(el[i], "bulk:\"f%d\"", &idx) != 1 || idx < 0 || idx >= size) {
            testlib_fail(__FILE__, __LINE__, "bad field %s in %s", el[i], r);
            return;
        }
        if (withvalues) {
            char wantv[64];
            snprintf(wantv, sizeof wantv, "bulk:\"v%d\"", idx);
            CHECK_EQ_STR(el[i + 1], wantv);
        }
        if (unique && seen[idx]) testlib_fail(__FILE__, __LINE__, "repeated f%d in %s", idx, r);
        seen[idx] = 1;
    }
}

static void fill_hash(int size) {
    cmd(L, "DEL h");
    if (R) cmd(R, "DEL h");
    for (int i = 0; i < size; i++) {
        cmd(L, "HSET h f%d v%d", i, i);
        if (R) cmd(R, "HSET h f%d v%d", i, i);
    }
}

TEST(hrandfield) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "HRANDFIELD", "h");
    EXPECT("array[]", "HRANDFIELD", "h", "5");
    EXPECT("array[]", "HRANDFIELD", "h", "-5", "WITHVALUES");
    EXPECT(SYNTAX, "HRANDFIELD", "h", "5", "foo");
    EXPECT(SYNTAX, "HRANDFIELD", "h", "5", "WITHVALUES", "x");
    EXPECT(NOTINT, "HRANDFIELD", "h", "x");
    EXPECT(NOTINT, "HRANDFIELD", "h", "x", "foo");
    EXPECT("err:\"ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\"",
           "HRANDFIELD", "h", "-9223372036854775808");
    EXPECT("err:\"ERR value is out of range\"", "HRANDFIELD", "h", "4611686018427387904",
           "WITHVALUES");
    EXPECT("err:\"ERR value is out of range\"", "HRANDFIELD", "h", "-4611686018427387904",
           "WITHVALUES");
    EXPECT("int:1", "HSET", "one", "a", "b");
    EXPECT("bulk:\"a\"", "HRANDFIELD", "one");
    EXPECT("array[bulk:\"a\",bulk:\"b\"]", "HRANDFIELD", "one", "1", "withvalues");
    EXPECT("array[bulk:\"a\",bulk:\"a\",bulk:\"a\"]", "HRANDFIELD", "one", "-3");
    EXPECT("array[]", "HRANDFIELD", "one", "0", "WITHVALUES");
    int sizes[] = {10, 200, 700};
    for (int s = 0; s < 3; s++) {
        int size = sizes[s];
        fill_hash(size);
        redisContext *both[2] = {L, R};
        for (int k = 0; k < 2 && both[k]; k++) {
            redisContext *c = both[k];
            for (int wv = 0; wv < 2; wv++) {
                check_randfield(c, "1", wv, 1, 1, size);
                check_randfield(c, "3", wv, 3, 1, size);
                check_randfield(c, "-3", wv, 3, 0, size);
                check_randfield(c, "-50", wv, 50, 0, size);
                check_randfield(c, "9", wv, 9, 1, size);
                check_randfield(c, "100", wv, size < 100 ? size : 100, 1, size);
                check_randfield(c, "1000", wv, size, 1, size);
            }
        }
    }
}

TEST(hrandfield_distribution) {
    REQUIRE(difftest_start(NULL));
    /* Every field comes up in 20000 draws (uniform sampling), in both
     * encodings. */
    int sizes[] = {200, 700};
    for (int s = 0; s < 2; s++) {
        fill_hash(sizes[s]);
        static int seen[700];
        memset(seen, 0, sizeof seen);
        for (int round = 0; round < 20; round++) {
            redisReply *r = redisCommand(L, "HRANDFIELD h -1000");
            REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1000);
            for (size_t i = 0; i < r->elements; i++) {
                int idx;
                if (sscanf(r->element[i]->str, "f%d", &idx) == 1 && idx >= 0 && idx < sizes[s])
                    seen[idx]++;
            }
            freeReplyObject(r);
        }
        for (int i = 0; i < sizes[s]; i++) CHECK(seen[i] > 0);
    }
}

TEST(hscan) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"0\",array[]]", "HSCAN", "nokey", "0");
    EXPECT("array[bulk:\"0\",array[]]", "HSCAN", "nokey", "0", "foo");
    EXPECT("err:\"ERR invalid cursor\"", "HSCAN", "nokey", "abc");
    EXPECT("err:\"ERR invalid cursor\"", "HSCAN", "nokey", " 1");
    EXPECT("int:3", "HSET", "h", "a", "1", "b", "2", "ab", "3");
    EXPECT("array[bulk:\"0\",array[bulk:\"a\",bulk:\"1\",bulk:\"b\",bulk:\"2\",bulk:\"ab\","
           "bulk:\"3\"]]",
           "HSCAN", "h", "0");
    /* A small hash ignores the cursor and returns everything. */
    EXPECT("array[bulk:\"0\",array[bulk:\"a\",bulk:\"1\",bulk:\"b\",bulk:\"2\",bulk:\"ab\","
           "bulk:\"3\"]]",
           "HSCAN", "h", "12345", "COUNT", "1");
    EXPECT("array[bulk:\"0\",array[bulk:\"a\",bulk:\"1\",bulk:\"ab\",bulk:\"3\"]]", "HSCAN", "h",
           "0", "MATCH", "a*");
    EXPECT("array[bulk:\"0\",array[]]", "HSCAN", "h", "0", "MATCH", "zz*", "COUNT", "100");
    EXPECT(SYNTAX, "HSCAN", "h", "0", "COUNT", "0");
    EXPECT(SYNTAX, "HSCAN", "h", "0", "COUNT", "-1");
    EXPECT(NOTINT, "HSCAN", "h", "0", "COUNT", "x");
    EXPECT(SYNTAX, "HSCAN", "h", "0", "TYPE", "string");
    EXPECT(SYNTAX, "HSCAN", "h", "0", "MATCH");
    EXPECT(SYNTAX, "HSCAN", "h", "0", "foo", "bar");
    EXPECT("int:1", "HSET", "i", "12", "34");
    EXPECT("array[bulk:\"0\",array[bulk:\"12\",bulk:\"34\"]]", "HSCAN", "i", "0", "MATCH", "1*");
    /* A big hash: a full iteration returns every field with its value. */
    fill_hash(700);
    redisContext *both[2] = {L, R};
    for (int k = 0; k < 2 && both[k]; k++) {
        int seen[700] = {0};
        unsigned long long cursor = 0;
        int calls = 0;
        do {
            redisReply *r = redisCommand(both[k], "HSCAN h %llu COUNT 7", cursor);
            REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
            cursor = strtoull(r->element[0]->str, NULL, 10);
            redisReply *els = r->element[1];
            CHECK(els->elements % 2 == 0);
            for (size_t i = 0; i + 1 < els->elements; i += 2) {
                int idx, vi;
                if (sscanf(els->element[i]->str, "f%d", &idx) == 1 &&
                    sscanf(els->element[i + 1]->str, "v%d", &vi) == 1 && idx == vi && idx >= 0 &&
                    idx < 700)
                    seen[idx] = 1;
                else
                    testlib_fail(__FILE__, __LINE__, "bad pair %s", els->element[i]->str);
            }
            freeReplyObject(r);
            calls++;
        } while (cursor != 0 && calls < 10000);
        CHECK(calls > 1);
        for (int i = 0; i < 700; i++) CHECK(seen[i]);
    }
    /* MATCH on a big hash: every match, nothing else. */
    for (int k = 0; k < 2 && both[k]; k++) {
        int got = 0;
        unsigned long long cursor = 0;
        do {
            redisReply *r = redisCommand(both[k], "HSCAN h %llu MATCH f1?? COUNT 50", cursor);
            REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
            cursor = strtoull(r->element[0]->str, NULL, 10);
            got += (int)r->element[1]->elements / 2;
            freeReplyObject(r);
        } while (cursor != 0);
        CHECK_EQ_INT(got, 100); /* f100..f199 */
    }
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HGETALL", "nokey"), "map{}");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HGET", "nokey", "a"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HRANDFIELD", "nokey"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HMGET", "nokey", "a"), "array[null]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HSET", "h", "a", "1", "b", "x"), "int:2");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HGETALL", "h"),
                 "map{bulk:\"a\"=>bulk:\"1\",bulk:\"b\"=>bulk:\"x\"}");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HKEYS", "h"), "array[bulk:\"a\",bulk:\"b\"]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HSCAN", "h", "0"),
                 "array[bulk:\"0\",array[bulk:\"a\",bulk:\"1\",bulk:\"b\",bulk:\"x\"]]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HRANDFIELD", "h", "5", "WITHVALUES"),
                 "array[array[bulk:\"a\",bulk:\"1\"],array[bulk:\"b\",bulk:\"x\"]]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HDEL", "h", "b"), "int:1");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HRANDFIELD", "h", "-2", "WITHVALUES"),
                 "array[array[bulk:\"a\",bulk:\"1\"],array[bulk:\"a\",bulk:\"1\"]]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HRANDFIELD", "h", "-2"), "array[bulk:\"a\",bulk:\"a\"]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "HINCRBYFLOAT", "h", "a", "0.5"), "bulk:\"1.5\"");
}

/* Random sequences of hash commands on a few keys, every reply compared
 * (unordered where the order is the encoding's). */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20260101);
    const char *keys[] = {"h0", "h1", "s"};
    char fields[40][16];
    for (int i = 0; i < 40; i++) snprintf(fields[i], sizeof fields[i], "%s%d", i % 3 ? "f" : "", i);
    const char *vals[] = {"", "0", "-1", "42", "9223372036854775807", "abc", "1.5", "007",
                          "\xff\x80", "-0", rep(2, 'L', 80), "3e2"};
    const char *nums[] = {"0", "1", "-1", "3", "-7", "100", "x", "2.5", "-0.5", "1e3"};
    C("SET", "s", "str");
    for (int i = 0; i < 3000; i++) {
        const char *k = PICK(keys), *f = fields[rand() % 40], *f2 = fields[rand() % 40];
        const char *v = PICK(vals), *n = PICK(nums);
        switch (rand() % 14) {
        case 0: case 1: C("HSET", k, f, v, f2, v); break;
        case 2: C("HSETNX", k, f, v); break;
        case 3: C("HGET", k, f); break;
        case 4: C("HMGET", k, f, f2, "nope"); break;
        case 5: C("HDEL", k, f, f2); break;
        case 6: C("HLEN", k); break;
        case 7: C("HSTRLEN", k, f); break;
        case 8: C("HEXISTS", k, f); break;
        case 9: C("HINCRBY", k, f, n); break;
        case 10: C("HINCRBYFLOAT", k, f, n); break;
        case 11: CU("HGETALL", k); break;
        case 12: C("OBJECT", "ENCODING", k); break;
        default: C("EXISTS", k); break;
        }
        if (difftest_failed_at(i, seed, NULL, NULL, 0)) return;
    }
    for (size_t j = 0; j < 2; j++) {
        CU("HGETALL", keys[j]);
        CU("HKEYS", keys[j]);
        CU("HVALS", keys[j]);
    }
}

int main(void) {
    RUN(set_get_basic);
    RUN(hsetnx_hdel_empty_key);
    RUN(wrongtype);
    RUN(hincrby);
    RUN(hincrbyfloat);
    RUN(encoding_conversion);
    RUN(hrandfield);
    RUN(hrandfield_distribution);
    RUN(hscan);
    RUN(resp3);
    RUN(random_differential);
    return testlib_finish();
}
