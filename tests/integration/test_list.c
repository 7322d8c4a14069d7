/*
 * List commands (t_list.c), differential against a real redis-server 7.0:
 * every reply of Lightning is compared with Redis's (COMPARE), and the
 * expected value is asserted as well, so a test also fails when both agree
 * on something wrong. Covers every command, option and error, negative and
 * out-of-range indexes, WRONGTYPE, deletion of emptied lists, RESP3 null
 * shapes, big lists spanning many nodes, and a fixed-seed random sequence
 * (TEST_SEED=N runs another).
 */
#include "../difftest.h"

#include <stdlib.h>

#define POSITIVE "err:\"ERR value is out of range, must be positive\""

TEST(push_pop_len) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "LLEN", "l");
    EXPECT("int:0", "LPUSHX", "l", "a");
    EXPECT("int:0", "RPUSHX", "l", "a", "b");
    EXPECT("int:0", "EXISTS", "l");
    EXPECT("int:3", "LPUSH", "l", "a", "b", "c");
    EXPECT("int:5", "RPUSH", "l", "1", "-2");
    EXPECT("int:6", "LPUSHX", "l", "x");
    EXPECT("int:8", "RPUSHX", "l", "y", "");
    EXPECT("array[bulk:\"x\",bulk:\"c\",bulk:\"b\",bulk:\"a\",bulk:\"1\",bulk:\"-2\",bulk:\"y\",bulk:\"\"]", "LRANGE", "l", "0", "-1");
    EXPECT("int:8", "LLEN", "l");
    EXPECT("bulk:\"x\"", "LPOP", "l");
    EXPECT("bulk:\"\"", "RPOP", "l");
    EXPECT("array[bulk:\"c\",bulk:\"b\"]", "LPOP", "l", "2");
    EXPECT("array[bulk:\"y\",bulk:\"-2\",bulk:\"1\"]", "RPOP", "l", "3");
    EXPECT("array[]", "LPOP", "l", "0");
    EXPECT("array[bulk:\"a\"]", "RPOP", "l", "100");
    EXPECT("int:0", "EXISTS", "l");
    EXPECT("nil", "LPOP", "l");
    EXPECT("nil", "RPOP", "l");
    EXPECT("nil", "LPOP", "l", "1");
    EXPECT("nil", "RPOP", "l", "0");
    EXPECT(POSITIVE, "LPOP", "l", "-1");
    EXPECT(POSITIVE, "RPOP", "l", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'lpop' command\"", "LPOP", "l", "1", "2");
    EXPECT("err:\"ERR wrong number of arguments for 'lpush' command\"", "LPUSH", "l");
    EXPECT("err:\"ERR wrong number of arguments for 'rpushx' command\"", "RPUSHX", "l");
    EXPECT("int:2", "RPUSH", "l", "a", "b");
    EXPECT("array[bulk:\"a\",bulk:\"b\"]", "LPOP", "l", "9223372036854775807");
}

TEST(encoding_and_types) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:1", "RPUSH", "small", "a");
    EXPECT("bulk:\"quicklist\"", "OBJECT", "ENCODING", "small");
    EXPECT("status:\"list\"", "TYPE", "small");
    EXPECT("int:3", "RPUSH", "ints", "0", "-9223372036854775808", "9223372036854775807");
    EXPECT("array[bulk:\"0\",bulk:\"-9223372036854775808\",bulk:\"9223372036854775807\"]", "LRANGE", "ints",
           "0", "-1");
    EXPECT("int:4", "RPUSH", "ints", "007");
    EXPECT("bulk:\"007\"", "LINDEX", "ints", "-1");
    EXPECT("status:\"OK\"", "SET", "s", "v");
    EXPECT(WRONGTYPE, "LPUSH", "s", "a");
    EXPECT(WRONGTYPE, "RPUSHX", "s", "a");
    EXPECT(WRONGTYPE, "LPOP", "s");
    EXPECT(WRONGTYPE, "RPOP", "s", "0");
    EXPECT(WRONGTYPE, "LLEN", "s");
    EXPECT(WRONGTYPE, "LRANGE", "s", "0", "1");
    EXPECT(NOTINT, "LRANGE", "s", "x", "1");
    EXPECT(WRONGTYPE, "LINDEX", "s", "0");
    EXPECT(WRONGTYPE, "LINDEX", "s", "x");
    EXPECT(WRONGTYPE, "LSET", "s", "0", "x");
    EXPECT(WRONGTYPE, "LINSERT", "s", "BEFORE", "a", "b");
    EXPECT(SYNTAX, "LINSERT", "s", "MIDDLE", "a", "b");
    EXPECT(WRONGTYPE, "LREM", "s", "0", "a");
    EXPECT(NOTINT, "LREM", "s", "x", "a");
    EXPECT(WRONGTYPE, "LTRIM", "s", "0", "1");
    EXPECT(WRONGTYPE, "LPOS", "s", "a");
    EXPECT(WRONGTYPE, "LMOVE", "s", "small", "LEFT", "RIGHT");
    EXPECT(WRONGTYPE, "LMOVE", "small", "s", "LEFT", "RIGHT");
    EXPECT(WRONGTYPE, "RPOPLPUSH", "small", "s");
    EXPECT("nil", "RPOPLPUSH", "none", "s"); /* source checked first */
    EXPECT(WRONGTYPE, "LMPOP", "2", "s", "small", "LEFT");
    EXPECT("array[bulk:\"small\",array[bulk:\"a\"]]", "LMPOP", "2", "none", "small", "LEFT");
    EXPECT(WRONGTYPE, "LMPOP", "2", "none", "s", "LEFT");
    EXPECT("array[]", "LRANGE", "small", "0", "-1");
}

TEST(lrange_lindex) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[]", "LRANGE", "l", "0", "-1");
    EXPECT(NOTINT, "LRANGE", "l", "0", "x");
    EXPECT("nil", "LINDEX", "l", "x"); /* absent key before the index */
    EXPECT("int:5", "RPUSH", "l", "a", "b", "c", "d", "e");
    const char *r[][3] = {
        {"0", "-1", "array[bulk:\"a\",bulk:\"b\",bulk:\"c\",bulk:\"d\",bulk:\"e\"]"}, {"-2", "-1", "array[bulk:\"d\",bulk:\"e\"]"},
        {"-100", "1", "array[bulk:\"a\",bulk:\"b\"]"}, {"3", "100", "array[bulk:\"d\",bulk:\"e\"]"},
        {"5", "10", "array[]"}, {"2", "1", "array[]"}, {"-1", "-2", "array[]"},
        {"-9223372036854775808", "9223372036854775807", "array[bulk:\"a\",bulk:\"b\",bulk:\"c\",bulk:\"d\",bulk:\"e\"]"},
        {"1", "-6", "array[]"}, {"0", "0", "array[bulk:\"a\"]"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) EXPECT(r[i][2], "LRANGE", "l", r[i][0], r[i][1]);
    EXPECT("bulk:\"a\"", "LINDEX", "l", "0");
    EXPECT("bulk:\"e\"", "LINDEX", "l", "-1");
    EXPECT("bulk:\"a\"", "LINDEX", "l", "-5");
    EXPECT("nil", "LINDEX", "l", "-6");
    EXPECT("nil", "LINDEX", "l", "5");
    EXPECT(NOTINT, "LINDEX", "l", "1.5");
    EXPECT("nil", "LINDEX", "l", "-9223372036854775808");
}

TEST(lset_linsert) {
    REQUIRE(difftest_start(NULL));
    EXPECT("err:\"ERR no such key\"", "LSET", "l", "0", "x");
    EXPECT("err:\"ERR no such key\"", "LSET", "l", "x", "x");
    EXPECT("int:3", "RPUSH", "l", "a", "b", "c");
    EXPECT("status:\"OK\"", "LSET", "l", "0", "A");
    EXPECT("status:\"OK\"", "LSET", "l", "-1", "12345");
    EXPECT("err:\"ERR index out of range\"", "LSET", "l", "3", "x");
    EXPECT("err:\"ERR index out of range\"", "LSET", "l", "-4", "x");
    EXPECT(NOTINT, "LSET", "l", "x", "x");
    EXPECT("array[bulk:\"A\",bulk:\"b\",bulk:\"12345\"]", "LRANGE", "l", "0", "-1");
    EXPECT("int:4", "LINSERT", "l", "BEFORE", "b", "x");
    EXPECT("int:5", "LINSERT", "l", "after", "12345", "y");
    EXPECT("int:6", "LINSERT", "l", "AFTER", "A", "z");
    EXPECT("int:-1", "LINSERT", "l", "BEFORE", "nope", "q");
    EXPECT("int:0", "LINSERT", "none", "BEFORE", "a", "q");
    EXPECT(SYNTAX, "LINSERT", "l", "AROUND", "a", "q");
    EXPECT("array[bulk:\"A\",bulk:\"z\",bulk:\"x\",bulk:\"b\",bulk:\"12345\",bulk:\"y\"]", "LRANGE", "l", "0", "-1");
    EXPECT("int:0", "EXISTS", "none");
}

TEST(lrem_ltrim) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "LREM", "l", "0", "a");
    EXPECT("status:\"OK\"", "LTRIM", "l", "0", "1");
    EXPECT(NOTINT, "LTRIM", "l", "x", "1");
    EXPECT("int:8", "RPUSH", "l", "a", "b", "a", "1", "a", "c", "1", "a");
    EXPECT("int:2", "LREM", "l", "2", "a");
    EXPECT("array[bulk:\"b\",bulk:\"1\",bulk:\"a\",bulk:\"c\",bulk:\"1\",bulk:\"a\"]", "LRANGE", "l", "0", "-1");
    EXPECT("int:1", "LREM", "l", "-1", "a");
    EXPECT("int:2", "LREM", "l", "0", "1");
    EXPECT("int:0", "LREM", "l", "0", "01");
    EXPECT("array[bulk:\"b\",bulk:\"a\",bulk:\"c\"]", "LRANGE", "l", "0", "-1");
    EXPECT("int:1", "LREM", "l", "-9223372036854775808", "a");
    EXPECT("int:1", "LREM", "l", "0", "b");
    EXPECT("int:1", "LREM", "l", "1", "c");
    EXPECT("int:0", "EXISTS", "l");
    EXPECT("int:6", "RPUSH", "l", "a", "b", "c", "d", "e", "f");
    EXPECT("status:\"OK\"", "LTRIM", "l", "1", "-2");
    EXPECT("array[bulk:\"b\",bulk:\"c\",bulk:\"d\",bulk:\"e\"]", "LRANGE", "l", "0", "-1");
    EXPECT("status:\"OK\"", "LTRIM", "l", "-100", "100");
    EXPECT("array[bulk:\"b\",bulk:\"c\",bulk:\"d\",bulk:\"e\"]", "LRANGE", "l", "0", "-1");
    EXPECT("status:\"OK\"", "LTRIM", "l", "-1", "-1");
    EXPECT("array[bulk:\"e\"]", "LRANGE", "l", "0", "-1");
    EXPECT("status:\"OK\"", "LTRIM", "l", "1", "0");
    EXPECT("int:0", "EXISTS", "l");
    EXPECT("int:2", "RPUSH", "l", "a", "b");
    EXPECT("status:\"OK\"", "LTRIM", "l", "5", "10");
    EXPECT("int:0", "EXISTS", "l");
}

TEST(lpos) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "LPOS", "l", "a");
    EXPECT("array[]", "LPOS", "l", "a", "COUNT", "0");
    EXPECT("int:8", "RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c");
    EXPECT("int:2", "LPOS", "l", "c");
    EXPECT("int:3", "LPOS", "l", "1");
    EXPECT("int:6", "LPOS", "l", "c", "RANK", "2");
    EXPECT("int:7", "LPOS", "l", "c", "RANK", "-1");
    EXPECT("int:2", "LPOS", "l", "c", "RANK", "-3");
    EXPECT("nil", "LPOS", "l", "c", "RANK", "4");
    EXPECT("array[int:2,int:6]", "LPOS", "l", "c", "COUNT", "2");
    EXPECT("array[int:2,int:6,int:7]", "LPOS", "l", "c", "COUNT", "0");
    EXPECT("array[int:7,int:6]", "LPOS", "l", "c", "RANK", "-1", "COUNT", "2");
    EXPECT("array[int:6,int:7]", "LPOS", "l", "c", "RANK", "2", "COUNT", "0");
    EXPECT("nil", "LPOS", "l", "c", "MAXLEN", "2");
    EXPECT("int:2", "LPOS", "l", "c", "MAXLEN", "3");
    EXPECT("array[int:7,int:6]", "LPOS", "l", "c", "RANK", "-1", "COUNT", "0", "MAXLEN", "2");
    EXPECT("array[]", "LPOS", "l", "zz", "COUNT", "1");
    EXPECT("int:7", "LPOS", "l", "c", "RANK", "-9223372036854775808");
    C("LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1");
    C("LPOS", "l", "c", "RANK", "9223372036854775807", "COUNT", "0");
    EXPECT("err:\"ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
           "second ... or use negative to start from the end of the list\"",
           "LPOS", "l", "c", "RANK", "0");
    EXPECT(NOTINT, "LPOS", "l", "c", "RANK", "x");
    EXPECT("err:\"ERR COUNT can't be negative\"", "LPOS", "l", "c", "COUNT", "-1");
    EXPECT("err:\"ERR COUNT can't be negative\"", "LPOS", "l", "c", "COUNT", "x");
    EXPECT("err:\"ERR MAXLEN can't be negative\"", "LPOS", "l", "c", "MAXLEN", "-1");
    EXPECT(SYNTAX, "LPOS", "l", "c", "RANK");
    EXPECT(SYNTAX, "LPOS", "l", "c", "FOO", "1");
    EXPECT(SYNTAX, "LPOS", "none", "c", "COUNT", "1", "BAR");
    EXPECT("err:\"ERR COUNT can't be negative\"", "LPOS", "none", "c", "COUNT", "-1");
}

TEST(lmove_rpoplpush) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "LMOVE", "a", "b", "LEFT", "RIGHT");
    EXPECT(SYNTAX, "LMOVE", "a", "b", "UP", "RIGHT");
    EXPECT(SYNTAX, "LMOVE", "a", "b", "LEFT", "DOWN");
    EXPECT("int:0", "EXISTS", "b");
    EXPECT("int:3", "RPUSH", "a", "1", "2", "3");
    EXPECT("bulk:\"1\"", "LMOVE", "a", "b", "LEFT", "RIGHT");
    EXPECT("bulk:\"3\"", "LMOVE", "a", "b", "right", "left");
    EXPECT("array[bulk:\"3\",bulk:\"1\"]", "LRANGE", "b", "0", "-1");
    EXPECT("bulk:\"2\"", "RPOPLPUSH", "a", "b");
    EXPECT("int:0", "EXISTS", "a");
    EXPECT("array[bulk:\"2\",bulk:\"3\",bulk:\"1\"]", "LRANGE", "b", "0", "-1");
    /* The same key rotates. */
    EXPECT("bulk:\"1\"", "RPOPLPUSH", "b", "b");
    EXPECT("bulk:\"1\"", "LMOVE", "b", "b", "LEFT", "RIGHT");
    EXPECT("bulk:\"2\"", "LMOVE", "b", "b", "LEFT", "LEFT");
    EXPECT("array[bulk:\"2\",bulk:\"3\",bulk:\"1\"]", "LRANGE", "b", "0", "-1");
    EXPECT("int:1", "RPUSH", "one", "x");
    EXPECT("bulk:\"x\"", "LMOVE", "one", "one", "RIGHT", "LEFT");
    EXPECT("int:1", "LLEN", "one");
    EXPECT("nil", "RPOPLPUSH", "none", "none");
}

TEST(lmpop) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "LMPOP", "2", "a", "b", "LEFT");
    EXPECT("int:3", "RPUSH", "b", "1", "2", "3");
    EXPECT("array[bulk:\"b\",array[bulk:\"1\"]]", "LMPOP", "2", "a", "b", "LEFT");
    EXPECT("array[bulk:\"b\",array[bulk:\"3\",bulk:\"2\"]]", "LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10");
    EXPECT("int:0", "EXISTS", "b");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "LMPOP", "0", "a", "LEFT");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "LMPOP", "-1", "a", "LEFT");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "LMPOP", "x", "a", "LEFT");
    EXPECT(SYNTAX, "LMPOP", "2", "a", "LEFT");
    EXPECT(SYNTAX, "LMPOP", "9223372036854775807", "a", "LEFT");
    EXPECT(SYNTAX, "LMPOP", "1", "a", "UP");
    EXPECT(SYNTAX, "LMPOP", "1", "a", "LEFT", "COUNT");
    EXPECT(SYNTAX, "LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1");
    EXPECT(SYNTAX, "LMPOP", "1", "a", "LEFT", "FOO", "1");
    EXPECT("err:\"ERR count should be greater than 0\"", "LMPOP", "1", "a", "LEFT", "COUNT", "0");
    EXPECT("err:\"ERR count should be greater than 0\"", "LMPOP", "1", "a", "LEFT", "COUNT", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'lmpop' command\"", "LMPOP", "1", "a");
    EXPECT("array[bulk:\"a\",bulk:\"b\"]", "COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT");
    EXPECT("err:\"ERR Invalid arguments specified for command\"", "COMMAND", "GETKEYS", "LMPOP",
           "5", "a", "b", "LEFT");
    EXPECT("array[array[bulk:\"a\",array[status:\"RW\",status:\"access\",status:\"delete\"]]]", "COMMAND",
           "GETKEYSANDFLAGS", "LMPOP", "1", "a", "LEFT");
}

/* RESP3 null shapes: `_` for both the bulk and the array nulls. */
TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOP", "none"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOP", "none", "1"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LMPOP", "1", "none", "LEFT"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LINDEX", "none", "0"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOS", "none", "x"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LMOVE", "none", "x", "LEFT", "LEFT"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "RPUSH", "k", "a", "b"), "int:2");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOP", "k", "0"), "array[]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOS", "k", "zz"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LPOS", "k", "a", "COUNT", "0"), "array[int:0]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LMPOP", "1", "k", "RIGHT", "COUNT", "5"),
                 "array[bulk:\"k\",array[bulk:\"b\",bulk:\"a\"]]");
}

/* A list over many nodes: big pushes, index and range walks from both
 * ends, inserts that split nodes, removals, trims. */
TEST(big_list) {
    REQUIRE(difftest_start(NULL));
    char buf[64];
    for (int chunk = 0; chunk < 20; chunk++) {
        const char *argv[103];
        char vals[100][32];
        argv[0] = chunk % 2 ? "LPUSH" : "RPUSH";
        argv[1] = "big";
        for (int i = 0; i < 100; i++) {
            snprintf(vals[i], sizeof vals[i], i % 3 ? "%d" : "value-%d-padding-bytes", chunk * 100 + i);
            argv[2 + i] = vals[i];
        }
        argv[102] = NULL;
        harness_compare(__FILE__, __LINE__, L, R, 0, argv);
    }
    EXPECT("int:2000", "LLEN", "big");
    const char *idx[] = {"0", "1", "777", "999", "1000", "1500", "-1", "-2", "-1000", "-1999", "-2000", "-2001", "2000"};
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) C("LINDEX", "big", idx[i]);
    C("LRANGE", "big", "990", "1010");
    C("LRANGE", "big", "-30", "-1");
    for (int i = 0; i < 30; i++) {
        snprintf(buf, sizeof buf, "%d", i * 61);
        C("LINSERT", "big", i % 2 ? "AFTER" : "BEFORE", buf, "inserted-element-xxxxxxxxxxxxxxxxxxxxx");
        C("LSET", "big", buf, "set-value-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
    }
    C("LRANGE", "big", "0", "-1");
    C("LREM", "big", "0", "inserted-element-xxxxxxxxxxxxxxxxxxxxx");
    C("LREM", "big", "-5", "set-value-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
    C("LPOS", "big", "1234", "RANK", "-1");
    C("LPOS", "big", "set-value-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "COUNT", "0");
    C("LTRIM", "big", "100", "-100");
    C("LRANGE", "big", "0", "-1");
    C("LPOP", "big", "500");
    C("RPOP", "big", "500");
    C("LMOVE", "big", "big", "LEFT", "RIGHT");
    C("LRANGE", "big", "0", "-1");
}

/* Random sequences of list commands on a few keys, every reply compared. */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20260101);
    const char *keys[] = {"k0", "k1", "k2"};
    const char *vals[] = {"", "0", "-1", "42", "a", "b", "abc", "9223372036854775807",
                          "x-long-value-with-some-padding-to-grow-nodes-quickly-0123456789",
                          "007", "\xff\x80"};
    const char *nums[] = {"0", "1", "-1", "2", "-2", "3", "5", "-5", "10", "-10", "100", "x"};
    const char *ends[] = {"LEFT", "RIGHT"};
    for (int i = 0; i < 4000; i++) {
        const char *k = PICK(keys), *k2 = PICK(keys), *v = PICK(vals), *v2 = PICK(vals);
        const char *a = PICK(nums), *b = PICK(nums);
        switch (rand() % 18) {
        case 0: case 1: C("RPUSH", k, v, v2, PICK(vals)); break;
        case 2: C("LPUSH", k, v, v2); break;
        case 3: C("LPUSHX", k, v); break;
        case 4: C("LPOP", k); break;
        case 5: C("RPOP", k, a); break;
        case 6: C("LRANGE", k, a, b); break;
        case 7: C("LINDEX", k, a); break;
        case 8: C("LSET", k, a, v); break;
        case 9: C("LINSERT", k, rand() % 2 ? "BEFORE" : "AFTER", v, v2); break;
        case 10: C("LREM", k, a, v); break;
        case 11: C("LTRIM", k, a, b); break;
        case 12: C("LPOS", k, v, "RANK", a, "COUNT", "0", "MAXLEN", b); break;
        case 13: C("LMOVE", k, k2, PICK(ends), PICK(ends)); break;
        case 14: C("RPOPLPUSH", k, k2); break;
        case 15: C("LMPOP", "2", k, k2, PICK(ends), "COUNT", "2"); break;
        case 16: C("LLEN", k); break;
        default: C("SET", k, v); break;
        }
        if (difftest_failed_at(i, seed, "LRANGE %s 0 -1", keys, NELEM(keys))) return;
    }
}

int main(void) {
    RUN(push_pop_len);
    RUN(encoding_and_types);
    RUN(lrange_lindex);
    RUN(lset_linsert);
    RUN(lrem_ltrim);
    RUN(lpos);
    RUN(lmove_rpoplpush);
    RUN(lmpop);
    RUN(resp3);
    RUN(big_list);
    RUN(random_differential);
    return testlib_finish();
}
