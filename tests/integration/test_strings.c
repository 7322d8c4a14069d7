/*
 * String commands (t_string.c), differential against a real redis-server
 * 7.0: every reply of Lightning is compared with Redis's (COMPARE), and the
 * expected value is asserted as well, so a test also fails when both agree
 * on something wrong. Commands other families provide (PTTL, OBJECT, LPUSH
 * for WRONGTYPE) are used only when Lightning has them. The randomized test
 * uses a fixed seed; TEST_SEED=N runs another sequence.
 */
#include "../difftest.h"

#include <stdlib.h>
#include <time.h>

TEST(get_set_basic) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("bulk:\"v\"", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "k", "");
    EXPECT("bulk:\"\"", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "n", "-12345");
    EXPECT("bulk:\"-12345\"", "GET", "n");
    EXPECT("status:\"OK\"", "SET", "bin", "a\xff\x01z");
    EXPECT("bulk:\"a\\xff\\x01z\"", "GET", "bin");
    EXPECT("err:\"ERR wrong number of arguments for 'get' command\"", "GET");
    EXPECT("err:\"ERR wrong number of arguments for 'set' command\"", "SET", "k");
    EXPECT("err:\"ERR wrong number of arguments for 'get' command\"", "GET", "a", "b");
}

TEST(set_options) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "SET", "k", "v", "XX");
    EXPECT("nil", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "k", "v", "NX");
    EXPECT("nil", "SET", "k", "w", "nx");
    EXPECT("bulk:\"v\"", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "k", "w", "XX");
    EXPECT("bulk:\"w\"", "GET", "k");
    EXPECT("bulk:\"w\"", "SET", "k", "x", "GET");
    EXPECT("nil", "SET", "new", "x", "GET");
    EXPECT("bulk:\"x\"", "GET", "new");
    /* NX + GET (allowed since 7.0): the old value, nothing set. */
    EXPECT("bulk:\"x\"", "SET", "k", "y", "NX", "GET");
    EXPECT("bulk:\"x\"", "GET", "k");
    EXPECT("nil", "SET", "none", "y", "XX", "GET");
    EXPECT("nil", "GET", "none");
    EXPECT("nil", "SET", "none2", "y", "NX", "GET");
    EXPECT("bulk:\"y\"", "GET", "none2");
    /* Repeats of the same option are fine. */
    EXPECT("nil", "SET", "k", "v", "NX", "NX");
    EXPECT("status:\"OK\"", "SET", "k", "v", "EX", "10", "EX", "20");
    EXPECT("status:\"OK\"", "SET", "k", "v", "KEEPTTL", "KEEPTTL");
    EXPECT("status:\"OK\"", "SET", "k", "v", "pxat", "99999999999999");
    EXPECT("status:\"OK\"", "SET", "k", "v", "exat", "99999999999");
    /* Syntax errors. */
    EXPECT(SYNTAX, "SET", "k", "v", "NX", "XX");
    EXPECT(SYNTAX, "SET", "k", "v", "XX", "NX");
    EXPECT(SYNTAX, "SET", "k", "v", "EX", "10", "PX", "100");
    EXPECT(SYNTAX, "SET", "k", "v", "PX", "10", "EX", "100");
    EXPECT(SYNTAX, "SET", "k", "v", "EXAT", "10", "PXAT", "100");
    EXPECT(SYNTAX, "SET", "k", "v", "EX", "10", "KEEPTTL");
    EXPECT(SYNTAX, "SET", "k", "v", "KEEPTTL", "PX", "10");
    EXPECT(SYNTAX, "SET", "k", "v", "EX");
    EXPECT(SYNTAX, "SET", "k", "v", "PERSIST");
    EXPECT(SYNTAX, "SET", "k", "v", "foo");
    EXPECT(SYNTAX, "SET", "k", "v", "NXX");
    /* Expire values. */
    const char *bad_set = "err:\"ERR invalid expire time in 'set' command\"";
    EXPECT(bad_set, "SET", "k", "v", "EX", "0");
    EXPECT(bad_set, "SET", "k", "v", "PX", "-1");
    EXPECT(bad_set, "SET", "k", "v", "EXAT", "0");
    EXPECT(bad_set, "SET", "k", "v", "PXAT", "-5");
    EXPECT(bad_set, "SET", "k", "v", "EX", "9223372036854775");
    EXPECT(bad_set, "SET", "k", "v", "EX", "9223372036854775807");
    EXPECT(bad_set, "SET", "k", "v", "PX", "9223372036854775807");
    EXPECT(bad_set, "SET", "k", "v", "EXAT", "9223372036854776");
    EXPECT(NOTINT, "SET", "k", "v", "EX", "abc");
    EXPECT(NOTINT, "SET", "k", "v", "EX", "1.5");
    EXPECT(NOTINT, "SET", "k", "v", "EX", " 1");
    /* Syntax is checked before the expire value; both before the key. */
    EXPECT(SYNTAX, "SET", "k", "v", "EX", "abc", "foo");
    /* An absolute time in the past: set, then gone. */
    EXPECT("status:\"OK\"", "SET", "past", "v", "EXAT", "1");
    EXPECT("nil", "GET", "past");
    EXPECT("nil", "SET", "past", "v", "PXAT", "1", "GET");
    EXPECT("nil", "GET", "past");
    EXPECT("bulk:\"v\"", "GET", "k");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "GET", "wt");
        EXPECT(WRONGTYPE, "SET", "wt", "v", "GET");
        EXPECT(bad_set, "SET", "wt", "v", "EX", "0", "GET");
        EXPECT("status:\"OK\"", "SET", "wt", "v");
        EXPECT("bulk:\"v\"", "GET", "wt");
    }
}

TEST(setnx_setex_psetex_getset_getdel) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:1", "SETNX", "k", "a");
    EXPECT("int:0", "SETNX", "k", "b");
    EXPECT("bulk:\"a\"", "GET", "k");
    EXPECT("status:\"OK\"", "SETEX", "e", "100", "v");
    EXPECT("bulk:\"v\"", "GET", "e");
    EXPECT("err:\"ERR invalid expire time in 'setex' command\"", "SETEX", "e", "0", "v");
    EXPECT("err:\"ERR invalid expire time in 'setex' command\"", "SETEX", "e", "-10", "v");
    EXPECT(NOTINT, "SETEX", "e", "x", "v");
    EXPECT("status:\"OK\"", "PSETEX", "p", "100000", "v");
    EXPECT("err:\"ERR invalid expire time in 'psetex' command\"", "PSETEX", "p", "0", "v");
    EXPECT("err:\"ERR wrong number of arguments for 'setex' command\"", "SETEX", "e", "10");
    EXPECT("nil", "GETSET", "g", "1");
    EXPECT("bulk:\"1\"", "GETSET", "g", "2");
    EXPECT("bulk:\"2\"", "GET", "g");
    EXPECT("bulk:\"2\"", "GETDEL", "g");
    EXPECT("nil", "GETDEL", "g");
    EXPECT("nil", "GET", "g");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "GETSET", "wt", "v");
        EXPECT(WRONGTYPE, "GETDEL", "wt");
        EXPECT("int:0", "SETNX", "wt", "v");
        EXPECT("status:\"OK\"", "SETEX", "wt", "10", "v");
    }
}

TEST(getex) {
    REQUIRE(difftest_start(NULL));
    EXPECT("nil", "GETEX", "missing");
    EXPECT("nil", "GETEX", "missing", "EX", "-1");
    EXPECT("nil", "GETEX", "missing", "EX", "abc");
    EXPECT(SYNTAX, "GETEX", "missing", "EX");
    EXPECT(SYNTAX, "GETEX", "missing", "KEEPTTL");
    EXPECT(SYNTAX, "GETEX", "missing", "NX");
    EXPECT(SYNTAX, "GETEX", "missing", "GET");
    EXPECT(SYNTAX, "GETEX", "missing", "EX", "10", "PERSIST");
    EXPECT(SYNTAX, "GETEX", "missing", "PERSIST", "PX", "10");
    EXPECT(SYNTAX, "GETEX", "missing", "EX", "10", "PX", "10");
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("bulk:\"v\"", "GETEX", "k");
    EXPECT("bulk:\"v\"", "GETEX", "k", "EX", "100");
    EXPECT("bulk:\"v\"", "GETEX", "k", "PX", "100000");
    EXPECT("bulk:\"v\"", "GETEX", "k", "EXAT", "99999999999");
    EXPECT("bulk:\"v\"", "GETEX", "k", "PXAT", "99999999999999");
    EXPECT("bulk:\"v\"", "GETEX", "k", "PERSIST");
    EXPECT("bulk:\"v\"", "GETEX", "k", "PERSIST", "PERSIST");
    EXPECT("err:\"ERR invalid expire time in 'getex' command\"", "GETEX", "k", "EX", "0");
    EXPECT("err:\"ERR invalid expire time in 'getex' command\"", "GETEX", "k", "PX", "-1");
    EXPECT("err:\"ERR invalid expire time in 'getex' command\"", "GETEX", "k", "EX",
           "9223372036854775807");
    EXPECT(NOTINT, "GETEX", "k", "EX", "1x");
    /* An absolute time already past deletes the key after replying it. */
    EXPECT("bulk:\"v\"", "GETEX", "k", "EXAT", "1");
    EXPECT("nil", "GET", "k");
    EXPECT("status:\"OK\"", "SET", "k", "7");
    EXPECT("bulk:\"7\"", "GETEX", "k", "PXAT", "1");
    EXPECT("nil", "GETEX", "k");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "GETEX", "wt");
        EXPECT(WRONGTYPE, "GETEX", "wt", "EX", "0");
    }
}

TEST(mget_mset_msetnx) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "MSET", "a", "1", "b", "2", "a", "3");
    EXPECT("array[bulk:\"3\",bulk:\"2\",nil]", "MGET", "a", "b", "c");
    EXPECT("err:\"ERR wrong number of arguments for 'mset' command\"", "MSET", "a", "1", "b");
    EXPECT("err:\"ERR wrong number of arguments for 'mset' command\"", "MSET", "a");
    EXPECT("err:\"ERR wrong number of arguments for 'msetnx' command\"", "MSETNX", "a", "1",
           "b");
    EXPECT("int:0", "MSETNX", "c", "1", "a", "9");
    EXPECT("nil", "GET", "c");
    EXPECT("int:1", "MSETNX", "c", "1", "d", "2");
    EXPECT("array[bulk:\"1\",bulk:\"2\"]", "MGET", "c", "d");
    EXPECT("int:1", "MSETNX", "x", "1", "x", "2");
    EXPECT("bulk:\"2\"", "GET", "x");
    /* Many keys (more than a txn locks shard by shard). */
    const char *argv[2 + 2 * 100];
    char names[100][16];
    argv[0] = "MSET";
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        argv[1 + 2 * i] = names[i];
        argv[2 + 2 * i] = names[i];
    }
    argv[201] = NULL;
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "status:\"OK\"");
    argv[0] = "MGET";
    for (int i = 0; i < 100; i++) argv[1 + i] = names[i];
    argv[101] = NULL;
    const char *all = harness_compare(__FILE__, __LINE__, L, R, 0, argv);
    CHECK(strncmp(all, "array[bulk:\"m0\",bulk:\"m1\",", 26) == 0);
    if (difftest_make_wrongtype()) {
        EXPECT("array[nil,bulk:\"3\"]", "MGET", "wt", "a");
        EXPECT("int:0", "MSETNX", "wt", "1", "zz", "2");
        EXPECT("status:\"OK\"", "MSET", "wt", "1");
    }
}

TEST(append_strlen) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "STRLEN", "k");
    EXPECT("int:3", "APPEND", "k", "foo");
    EXPECT("int:6", "APPEND", "k", "bar");
    EXPECT("int:6", "APPEND", "k", "");
    EXPECT("bulk:\"foobar\"", "GET", "k");
    EXPECT("int:6", "STRLEN", "k");
    EXPECT("int:0", "APPEND", "e", "");
    EXPECT("bulk:\"\"", "GET", "e");
    EXPECT("status:\"OK\"", "SET", "n", "-100");
    EXPECT("int:4", "STRLEN", "n");
    EXPECT("int:5", "APPEND", "n", "7");
    EXPECT("bulk:\"-1007\"", "GET", "n");
    EXPECT("int:-1006", "INCR", "n");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "APPEND", "wt", "x");
        EXPECT(WRONGTYPE, "STRLEN", "wt");
    }
}

TEST(incr_decr) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:1", "INCR", "n");
    EXPECT("int:0", "DECR", "n");
    EXPECT("int:-1", "DECR", "n");
    EXPECT("int:9", "INCRBY", "n", "10");
    EXPECT("int:-91", "DECRBY", "n", "100");
    EXPECT("int:-91", "INCRBY", "n", "0");
    EXPECT("bulk:\"-91\"", "GET", "n");
    EXPECT("status:\"OK\"", "SET", "n", "9223372036854775806");
    EXPECT("int:9223372036854775807", "INCR", "n");
    EXPECT("err:\"ERR increment or decrement would overflow\"", "INCR", "n");
    EXPECT("err:\"ERR increment or decrement would overflow\"", "INCRBY", "n", "1");
    EXPECT("int:-1", "INCRBY", "n", "-9223372036854775808");
    EXPECT("status:\"OK\"", "SET", "n", "-9223372036854775808");
    EXPECT("err:\"ERR increment or decrement would overflow\"", "DECR", "n");
    EXPECT("err:\"ERR decrement would overflow\"", "DECRBY", "n", "-9223372036854775808");
    EXPECT("err:\"ERR decrement would overflow\"", "DECRBY", "missing", "-9223372036854775808");
    EXPECT("int:9223372036854775807", "DECRBY", "z", "-9223372036854775807");
    EXPECT(NOTINT, "INCRBY", "n", "1.5");
    EXPECT(NOTINT, "INCRBY", "n", "9223372036854775808");
    EXPECT(NOTINT, "INCRBY", "n", "+1");
    EXPECT(NOTINT, "INCRBY", "n", "01");
    EXPECT(NOTINT, "DECRBY", "n", "");
    const char *bad[] = {"abc", "", " 1", "1 ", "01", "-0", "1.0", "12345678901234567890",
                         "0x10", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT("status:\"OK\"", "SET", "s", bad[i]);
        EXPECT(NOTINT, "INCR", "s");
    }
    EXPECT("status:\"OK\"", "SET", "s", "0");
    EXPECT("int:1", "INCR", "s");
    /* A raw value that parses is an integer too. */
    EXPECT("int:2", "APPEND", "r", "12");
    EXPECT("int:13", "INCR", "r");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "INCR", "wt");
        EXPECT(WRONGTYPE, "DECRBY", "wt", "1");
        EXPECT(NOTINT, "INCRBY", "wt", "x");
    }
}

TEST(incrbyfloat) {
    REQUIRE(difftest_start(NULL));
    EXPECT("bulk:\"10.5\"", "INCRBYFLOAT", "f", "10.5");
    EXPECT("bulk:\"10.6\"", "INCRBYFLOAT", "f", "0.1");
    EXPECT("bulk:\"5.6\"", "INCRBYFLOAT", "f", "-5");
    EXPECT("bulk:\"5.6\"", "GET", "f");
    EXPECT("bulk:\"0.1\"", "INCRBYFLOAT", "g", "0.1");
    EXPECT("bulk:\"0.3\"", "INCRBYFLOAT", "g", "0.2");
    EXPECT("bulk:\"100000000000000000000\"", "INCRBYFLOAT", "h", "1e20");
    EXPECT("bulk:\"0\"", "INCRBYFLOAT", "tiny", "1.5e-20");
    EXPECT("bulk:\"0\"", "INCRBYFLOAT", "z", "-0");
    EXPECT("bulk:\"3\"", "INCRBYFLOAT", "i", "3.0");
    EXPECT("bulk:\"5\"", "INCRBYFLOAT", "i", "2");
    EXPECT("bulk:\"16\"", "INCRBYFLOAT", "hex", "0x10");
    EXPECT("status:\"OK\"", "SET", "n", "17");
    EXPECT("bulk:\"17.25\"", "INCRBYFLOAT", "n", ".25");
    EXPECT("bulk:\"-0.75\"", "INCRBYFLOAT", "n", "-18");
    C("INCRBYFLOAT", "big", "1.7976931348623157e308");
    C("INCRBYFLOAT", "big", "1e308");
    C("INCRBYFLOAT", "pi", "3.14159265358979323846264338327950288");
    C("INCRBYFLOAT", "third", "0.333333333333333333333333");
    C("INCRBYFLOAT", "neg", "-123456789.987654321");
    C("INCRBYFLOAT", "small", "0.00000000000000001");
    C("INCRBYFLOAT", "small", "0.000000000000000001");
    const char *nf = "err:\"ERR value is not a valid float\"";
    EXPECT(nf, "INCRBYFLOAT", "f", "abc");
    EXPECT(nf, "INCRBYFLOAT", "f", "");
    EXPECT(nf, "INCRBYFLOAT", "f", " 1");
    EXPECT(nf, "INCRBYFLOAT", "f", "1 ");
    EXPECT(nf, "INCRBYFLOAT", "f", "nan");
    EXPECT(nf, "INCRBYFLOAT", "f", "1e5000");
    EXPECT(nf, "INCRBYFLOAT", "f", "1e-5000");
    const char *inf = "err:\"ERR increment would produce NaN or Infinity\"";
    EXPECT(inf, "INCRBYFLOAT", "f", "inf");
    EXPECT(inf, "INCRBYFLOAT", "f", "-inf");
    EXPECT("bulk:\"5.6\"", "GET", "f");
    EXPECT("status:\"OK\"", "SET", "s", "hello");
    EXPECT(nf, "INCRBYFLOAT", "s", "1");
    EXPECT(nf, "INCRBYFLOAT", "s", "x");
    EXPECT("status:\"OK\"", "SET", "s", "1.5e3");
    EXPECT("bulk:\"1501\"", "INCRBYFLOAT", "s", "1");
    /* An INCRBYFLOAT result is text: INCR on "1501" works, on "1.5" not. */
    EXPECT("int:1502", "INCR", "s");
    EXPECT("status:\"OK\"", "SET", "s", "1.5");
    EXPECT(NOTINT, "INCR", "s");
    if (difftest_make_wrongtype()) EXPECT(WRONGTYPE, "INCRBYFLOAT", "wt", "1");
}

TEST(getrange_substr) {
    REQUIRE(difftest_start(NULL));
    EXPECT("bulk:\"\"", "GETRANGE", "missing", "0", "-1");
    EXPECT(NOTINT, "GETRANGE", "missing", "a", "-1");
    EXPECT("status:\"OK\"", "SET", "k", "Hello World");
    EXPECT("bulk:\"Hell\"", "GETRANGE", "k", "0", "3");
    EXPECT("bulk:\"rld\"", "GETRANGE", "k", "-3", "-1");
    EXPECT("bulk:\"Hello World\"", "GETRANGE", "k", "0", "-1");
    EXPECT("bulk:\"ld\"", "GETRANGE", "k", "9", "100");
    EXPECT("bulk:\"\"", "GETRANGE", "k", "5", "3");
    EXPECT("bulk:\"\"", "GETRANGE", "k", "-1", "-2");
    EXPECT("bulk:\"H\"", "GETRANGE", "k", "-100", "-11");
    EXPECT("bulk:\"H\"", "GETRANGE", "k", "-100", "0");
    EXPECT("bulk:\"\"", "GETRANGE", "k", "11", "20");
    EXPECT("bulk:\"Hello World\"", "GETRANGE", "k", "-9223372036854775808",
           "9223372036854775807");
    EXPECT("bulk:\"Hello\"", "SUBSTR", "k", "0", "4");
    EXPECT(NOTINT, "GETRANGE", "k", "0", "x");
    EXPECT("status:\"OK\"", "SET", "n", "12345");
    EXPECT("bulk:\"234\"", "GETRANGE", "n", "1", "3");
    EXPECT("status:\"OK\"", "SET", "e", "");
    EXPECT("bulk:\"\"", "GETRANGE", "e", "0", "-1");
    EXPECT("bulk:\"\"", "GETRANGE", "e", "-1", "0");
    /* Every small range of a small string. */
    for (int s = -7; s <= 7; s++) {
        for (int e = -7; e <= 7; e++) {
            char a[16], b[16];
            snprintf(a, sizeof a, "%d", s);
            snprintf(b, sizeof b, "%d", e);
            C("GETRANGE", "n", a, b);
        }
    }
    if (difftest_make_wrongtype()) EXPECT(WRONGTYPE, "GETRANGE", "wt", "0", "1");
}

TEST(setrange) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "SETRANGE", "k", "5", "");
    EXPECT("nil", "GET", "k");
    EXPECT("int:8", "SETRANGE", "k", "5", "abc");
    EXPECT("bulk:\"\\x00\\x00\\x00\\x00\\x00abc\"", "GET", "k");
    EXPECT("int:8", "SETRANGE", "k", "0", "XY");
    EXPECT("bulk:\"XY\\x00\\x00\\x00abc\"", "GET", "k");
    EXPECT("int:8", "SETRANGE", "k", "100", "");
    EXPECT("int:10", "SETRANGE", "k", "7", "def");
    EXPECT("bulk:\"XY\\x00\\x00\\x00abdef\"", "GET", "k");
    EXPECT("err:\"ERR offset is out of range\"", "SETRANGE", "k", "-1", "x");
    EXPECT(NOTINT, "SETRANGE", "k", "x", "x");
    EXPECT("err:\"ERR string exceeds maximum allowed size (proto-max-bulk-len)\"", "SETRANGE",
           "k", "536870911", "ab");
    EXPECT("err:\"ERR string exceeds maximum allowed size (proto-max-bulk-len)\"", "SETRANGE",
           "k", "9223372036854775807", "ab");
    EXPECT("status:\"OK\"", "SET", "n", "12345");
    EXPECT("int:5", "SETRANGE", "n", "1", "9");
    EXPECT("bulk:\"19345\"", "GET", "n");
    EXPECT("int:5", "SETRANGE", "n", "1", "");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "SETRANGE", "wt", "0", "x");
        EXPECT(WRONGTYPE, "SETRANGE", "wt", "0", "");
        EXPECT("err:\"ERR offset is out of range\"", "SETRANGE", "wt", "-1", "x");
    }
}

TEST(proto_max_bulk_len_limits) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "proto-max-bulk-len", "1mb");
    const char *big = "err:\"ERR string exceeds maximum allowed size (proto-max-bulk-len)\"";
    EXPECT("int:1048576", "SETRANGE", "k", "1048575", "x");
    EXPECT(big, "SETRANGE", "k", "1048576", "x");
    EXPECT(big, "SETRANGE", "k2", "1048575", "xy");
    EXPECT(big, "APPEND", "k", "y");
    EXPECT("int:1048576", "APPEND", "k", "");
    EXPECT("int:1048576", "STRLEN", "k");
    /* LCS needs (n+1)*(m+1)*4 bytes of table: 601*601*4 > 1mb. */
    char a[601];
    memset(a, 'a', 600);
    a[600] = '\0';
    EXPECT("status:\"OK\"", "MSET", "a", a, "b", a);
    EXPECT("err:\"ERR Insufficient memory, transient memory for LCS exceeds "
           "proto-max-bulk-len\"",
           "LCS", "a", "b", "LEN");
    a[400] = '\0';
    EXPECT("status:\"OK\"", "SET", "b", a);
    EXPECT("int:400", "LCS", "a", "b", "LEN");
}

TEST(lcs) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT("bulk:\"mytext\"", "LCS", "key1", "key2");
    EXPECT("int:6", "LCS", "key1", "key2", "LEN");
    EXPECT("array[bulk:\"matches\",array[array[array[int:4,int:7],array[int:5,int:8]],array[array[int:2,int:3],"
           "array[int:0,int:1]]],bulk:\"len\",int:6]",
           "LCS", "key1", "key2", "IDX");
    EXPECT("array[bulk:\"matches\",array[array[array[int:4,int:7],array[int:5,int:8]]],bulk:\"len\",int:6]",
           "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4");
    EXPECT("array[bulk:\"matches\",array[array[array[int:4,int:7],array[int:5,int:8],int:4],array[array[int:2,int:3],"
           "array[int:0,int:1],int:2]],bulk:\"len\",int:6]",
           "LCS", "key1", "key2", "IDX", "WITHMATCHLEN");
    C("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-5", "WITHMATCHLEN");
    C("LCS", "key1", "key2", "WITHMATCHLEN");
    C("LCS", "key1", "key2", "LEN", "WITHMATCHLEN", "MINMATCHLEN", "3");
    EXPECT("err:\"ERR If you want both the length and indexes, please just use IDX.\"", "LCS",
           "key1", "key2", "LEN", "IDX");
    EXPECT(SYNTAX, "LCS", "key1", "key2", "foo");
    EXPECT(SYNTAX, "LCS", "key1", "key2", "MINMATCHLEN");
    EXPECT(NOTINT, "LCS", "key1", "key2", "MINMATCHLEN", "x");
    EXPECT("bulk:\"\"", "LCS", "none1", "none2");
    EXPECT("int:0", "LCS", "none1", "key2", "LEN");
    EXPECT("array[bulk:\"matches\",array[],bulk:\"len\",int:0]", "LCS", "none1", "key2", "IDX");
    EXPECT("status:\"OK\"", "MSET", "n1", "1234567", "n2", "-3456");
    EXPECT("bulk:\"3456\"", "LCS", "n1", "n2");
    EXPECT("bulk:\"ohmytext\"", "LCS", "key1", "key1");
    C("LCS", "key1", "key1", "IDX", "WITHMATCHLEN");
    EXPECT("status:\"OK\"", "MSET", "x", "abcXdefYghiZ", "y", "ZabcdefghiYX");
    C("LCS", "x", "y", "IDX", "WITHMATCHLEN");
    C("LCS", "y", "x", "IDX", "MINMATCHLEN", "2");
    if (difftest_make_wrongtype()) {
        const char *e = "err:\"ERR The specified keys must contain string values\"";
        EXPECT(e, "LCS", "wt", "key1");
        EXPECT(e, "LCS", "key1", "wt", "LEN", "IDX");
    }
}

/* RESP3 shapes: nil as `_`, LCS IDX as a map. */
TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GET", "nokey"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "MSET", "a", "ohmytext", "b", "mynewtext"),
                 "status:\"OK\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "MGET", "a", "nokey"), "array[bulk:\"ohmytext\",null]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "LCS", "a", "b", "IDX", "MINMATCHLEN", "3"),
                 "map{bulk:\"matches\"=>array[array[array[int:4,int:7],array[int:5,int:8]]],"
                 "bulk:\"len\"=>int:6}");
    RAW_COMPARE(fl, fr, "SET", "a", "x", "XX", "GET");
    RAW_COMPARE(fl, fr, "SET", "nokey", "x", "XX");
    RAW_COMPARE(fl, fr, "INCRBYFLOAT", "f", "1.5");
    RAW_COMPARE(fl, fr, "GETEX", "nokey2");
}

/* TTLs: which commands keep, set or drop a key's expiry. Expiry waits are
 * generous (1 s TTLs, 2 s sleep). */
TEST(ttl_interplay) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "keep", "v", "PX", "1000");
    EXPECT("status:\"OK\"", "SET", "keep", "w", "KEEPTTL");
    EXPECT("status:\"OK\"", "SET", "drop", "v", "PX", "1000");
    EXPECT("status:\"OK\"", "SET", "drop", "w");
    EXPECT("status:\"OK\"", "SET", "incr", "1", "PX", "1000");
    EXPECT("int:2", "INCR", "incr");
    EXPECT("status:\"OK\"", "SET", "float", "1", "PX", "1000");
    EXPECT("bulk:\"1.5\"", "INCRBYFLOAT", "float", "0.5");
    EXPECT("status:\"OK\"", "SET", "app", "a", "PX", "1000");
    EXPECT("int:2", "APPEND", "app", "b");
    EXPECT("status:\"OK\"", "SET", "rng", "a", "PX", "1000");
    EXPECT("int:3", "SETRANGE", "rng", "2", "c");
    EXPECT("status:\"OK\"", "SET", "gs", "a", "PX", "1000");
    EXPECT("bulk:\"a\"", "GETSET", "gs", "b");
    EXPECT("status:\"OK\"", "SET", "ms", "a", "PX", "1000");
    EXPECT("status:\"OK\"", "MSET", "ms", "b");
    EXPECT("status:\"OK\"", "SET", "pers", "a", "PX", "1000");
    EXPECT("bulk:\"a\"", "GETEX", "pers", "PERSIST");
    EXPECT("status:\"OK\"", "SET", "gex", "a");
    EXPECT("bulk:\"a\"", "GETEX", "gex", "PX", "1000");
    EXPECT("status:\"OK\"", "PSETEX", "pse", "1000", "a");
    EXPECT("status:\"OK\"", "SET", "nx", "a", "PX", "1000");
    EXPECT("nil", "SET", "nx", "b", "NX");
    if (difftest_have("pttl")) {
        const char *p = cmd(L, "PTTL keep");
        long long ms = strncmp(p, "int:", 4) == 0 ? atoll(p + 4) : -100;
        CHECK(ms > 0 && ms <= 1000);
        CHECK_EQ_STR(cmd(L, "PTTL drop"), "int:-1");
        CHECK_EQ_STR(cmd(L, "PTTL pers"), "int:-1");
        CHECK_EQ_STR(cmd(L, "PTTL nokey"), "int:-2");
        EXPECT("status:\"OK\"", "SET", "ex", "v", "EX", "100");
        p = cmd(L, "PTTL ex");
        ms = strncmp(p, "int:", 4) == 0 ? atoll(p + 4) : -100;
        CHECK(ms > 99000 && ms <= 100000);
        EXPECT("status:\"OK\"", "SET", "exat", "v", "EXAT", "4102444800");
        p = cmd(L, "PTTL exat");
        ms = strncmp(p, "int:", 4) == 0 ? atoll(p + 4) : -100;
        CHECK(ms > 0 && 4102444800000LL - ms > (long long)time(NULL) * 1000 - 5000);
    } else {
        testlib_skip("PTTL checks need PTTL");
    }
    harness_sleep_ms(2000);
    EXPECT("nil", "GET", "keep");
    EXPECT("bulk:\"w\"", "GET", "drop");
    EXPECT("nil", "GET", "incr");
    EXPECT("nil", "GET", "float");
    EXPECT("nil", "GET", "app");
    EXPECT("nil", "GET", "rng");
    EXPECT("bulk:\"b\"", "GET", "gs");
    EXPECT("bulk:\"b\"", "GET", "ms");
    EXPECT("bulk:\"a\"", "GET", "pers");
    EXPECT("nil", "GET", "gex");
    EXPECT("nil", "GET", "pse");
    EXPECT("nil", "GET", "nx");
    /* Expired keys count as missing for NX / XX / INCR / APPEND. */
    EXPECT("status:\"OK\"", "SET", "nx", "c", "NX");
    EXPECT("nil", "SET", "keep", "c", "XX");
    EXPECT("int:1", "INCR", "incr");
    EXPECT("int:1", "APPEND", "app", "z");
}

TEST(encodings) {
    REQUIRE(difftest_start(NULL));
    if (!difftest_have("object")) {
        testlib_skip("needs OBJECT");
        return;
    }
    char big[50];
    memset(big, 'x', 45);
    big[45] = '\0';
    EXPECT("status:\"OK\"", "MSET", "i", "123", "e", "abc", "r", big, "neg", "-5");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "i");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "neg");
    EXPECT("bulk:\"embstr\"", "OBJECT", "ENCODING", "e");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "r");
    EXPECT("int:4", "APPEND", "i", "4");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "i");
    EXPECT("int:1235", "INCR", "i");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "i");
    EXPECT("bulk:\"1\"", "INCRBYFLOAT", "f", "1");
    EXPECT("bulk:\"embstr\"", "OBJECT", "ENCODING", "f");
    EXPECT("int:3", "SETRANGE", "sr", "0", "abc");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "sr");
    EXPECT("int:3", "SETRANGE", "e", "0", "x");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "e");
    EXPECT("int:3", "APPEND", "new", "789");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "new");
    EXPECT("nil", "GETSET", "gs", "123");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "gs");
}

/* Random sequences of string commands on a few keys, every reply compared. */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20260101);
    const char *keys[] = {"k0", "k1", "k2"};
    const char *vals[] = {"", "0", "-1", "42", "9223372036854775807", "abc", "hello world",
                          "\xff\x80", "1.5", "007", "xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz"};
    const char *nums[] = {"0", "1", "-1", "3", "-3", "7", "-7", "100", "-100", "x",
                          "9223372036854775807", "-9223372036854775808"};
    for (int i = 0; i < 3000; i++) {
        const char *k = PICK(keys), *k2 = PICK(keys), *v = PICK(vals);
        const char *a = PICK(nums), *b = PICK(nums);
        switch (rand() % 13) {
        case 0: C("SET", k, v); break;
        case 1: C("GET", k); break;
        case 2: C("APPEND", k, v); break;
        case 3: C("INCRBY", k, a); break;
        case 4: C("GETRANGE", k, a, b); break;
        case 5: C("SETRANGE", k, a, v); break;
        case 6: C("STRLEN", k); break;
        case 7: C("INCRBYFLOAT", k, a); break;
        case 8: C("LCS", k, k2, "IDX", "WITHMATCHLEN", "MINMATCHLEN", a); break;
        case 9: C("LCS", k, k2); break;
        case 10: C("MSETNX", k, v, k2, v); break;
        case 11: C("GETDEL", k); break;
        default: C("DECRBY", k, a); break;
        }
        if (difftest_failed_at(i, seed, "GET %s", keys, NELEM(keys))) return;
    }
}

int main(void) {
    RUN(get_set_basic);
    RUN(set_options);
    RUN(setnx_setex_psetex_getset_getdel);
    RUN(getex);
    RUN(mget_mset_msetnx);
    RUN(append_strlen);
    RUN(incr_decr);
    RUN(incrbyfloat);
    RUN(getrange_substr);
    RUN(setrange);
    RUN(proto_max_bulk_len_limits);
    RUN(lcs);
    RUN(resp3);
    RUN(ttl_interplay);
    RUN(encodings);
    RUN(random_differential);
    return testlib_finish();
}
