/*
 * Bitmap commands (t_bitops.c), differential against a real redis-server
 * 7.0: replies compared (COMPARE) and expected values asserted. WRONGTYPE
 * checks run when Lightning has LPUSH; OBJECT ENCODING ones when it has
 * OBJECT. The randomized test uses a fixed seed (TEST_SEED=N for another).
 */
#include "../difftest.h"

#include <stdlib.h>

#define BADOFF "err:\"ERR bit offset is not an integer or out of range\""
#define BADTYPE                                                                           \
    "err:\"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not " \
    "supported but i64 is.\""

TEST(setbit_getbit) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "GETBIT", "b", "0");
    EXPECT("int:0", "SETBIT", "b", "7", "1");
    EXPECT("bulk:\"\\x01\"", "GET", "b");
    EXPECT("int:1", "SETBIT", "b", "7", "1");
    EXPECT("int:1", "GETBIT", "b", "7");
    EXPECT("int:0", "GETBIT", "b", "6");
    EXPECT("int:0", "GETBIT", "b", "100000");
    EXPECT("int:0", "SETBIT", "b", "17", "1");
    EXPECT("bulk:\"\\x01\\x00@\"", "GET", "b");
    EXPECT("int:1", "SETBIT", "b", "7", "0");
    EXPECT("int:0", "SETBIT", "b", "7", "0");
    EXPECT("bulk:\"\\x00\\x00@\"", "GET", "b");
    EXPECT("int:0", "SETBIT", "z", "23", "0");
    EXPECT("bulk:\"\\x00\\x00\\x00\"", "GET", "z");
    /* Offset limits: below proto-max-bulk-len bytes (512 MiB = 2^32 bits). */
    EXPECT(BADOFF, "SETBIT", "b", "4294967296", "1");
    EXPECT(BADOFF, "GETBIT", "b", "4294967296");
    EXPECT(BADOFF, "SETBIT", "b", "-1", "1");
    EXPECT(BADOFF, "GETBIT", "b", "-1");
    EXPECT(BADOFF, "SETBIT", "b", "abc", "1");
    EXPECT(BADOFF, "GETBIT", "b", "1.0");
    EXPECT(BADOFF, "SETBIT", "b", "#1", "1");
    EXPECT("int:0", "GETBIT", "b", "4294967295");
    const char *badbit = "err:\"ERR bit is not an integer or out of range\"";
    EXPECT(badbit, "SETBIT", "b", "1", "2");
    EXPECT(badbit, "SETBIT", "b", "1", "-1");
    EXPECT(badbit, "SETBIT", "b", "1", "x");
    EXPECT(BADOFF, "SETBIT", "b", "x", "x");
    /* Integer values are read as their decimal text. */
    EXPECT("status:\"OK\"", "SET", "n", "1");
    EXPECT("int:1", "GETBIT", "n", "7");
    EXPECT("int:1", "GETBIT", "n", "2");
    EXPECT("int:0", "GETBIT", "n", "8");
    EXPECT("int:1", "SETBIT", "n", "7", "0");
    EXPECT("bulk:\"0\"", "GET", "n");
    EXPECT("int:0", "SETBIT", "n", "6", "1");
    EXPECT("bulk:\"2\"", "GET", "n");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "SETBIT", "wt", "0", "1");
        EXPECT(WRONGTYPE, "GETBIT", "wt", "0");
        EXPECT(BADOFF, "GETBIT", "wt", "-1");
    }
}

/* A SETBIT that changes nothing is no write: a WATCH of the key holds,
 * the change counter does not move (Redis's bitops unit "SETBIT/BITFIELD
 * only increase dirty when the value changed"). */
TEST(setbit_unchanged_is_no_write) {
    REQUIRE(difftest_start(NULL));
    C("SETBIT", "k", "7", "1");
    redisContext *other_l = harness_connect(LS), *other_r = RS ? harness_connect(RS) : NULL;
    REQUIRE(other_l);
    C("WATCH", "k");
    freeReplyObject(redisCommand(other_l, "SETBIT k 7 1"));
    freeReplyObject(redisCommand(other_l, "SETBIT k 3 0"));
    if (other_r) {
        freeReplyObject(redisCommand(other_r, "SETBIT k 7 1"));
        freeReplyObject(redisCommand(other_r, "SETBIT k 3 0"));
    }
    C("MULTI");
    C("GET", "k");
    EXPECT("array[bulk:\"\\x01\"]", "EXEC");
    harness_disconnect(other_l);
    if (other_r) harness_disconnect(other_r);
}

TEST(bit_offset_limit_config) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "proto-max-bulk-len", "1mb");
    EXPECT("int:0", "SETBIT", "b", "8388607", "1");
    EXPECT("int:1048576", "STRLEN", "b");
    EXPECT(BADOFF, "SETBIT", "b", "8388608", "1");
    EXPECT("int:1", "BITCOUNT", "b");
    EXPECT("int:8388607", "BITPOS", "b", "1");
    EXPECT("int:0", "BITPOS", "b", "0");
    EXPECT("int:-1", "BITPOS", "b", "0", "-1", "-1", "BIT");
    EXPECT("int:8388606", "BITPOS", "b", "0", "-2", "-1", "BIT");
    EXPECT("array[int:1]", "BITFIELD", "b", "GET", "u1", "8388607");
    EXPECT(BADOFF, "BITFIELD", "b", "GET", "u1", "8388608");
    EXPECT(BADOFF, "BITFIELD", "b", "GET", "u8", "#1048576");
    EXPECT("array[int:1]", "BITFIELD", "b", "GET", "u8", "#1048575");
    /* A write near the limit may end just past it (Redis checks the offset only). */
    EXPECT("array[int:72057594037927936]", "BITFIELD", "b", "SET", "i64", "8388600", "1");
    EXPECT("int:1048583", "STRLEN", "b");
}

/* A BITFIELD write may end up to 8 bytes past proto-max-bulk-len; Redis
 * grows the value that far, the engine stores at most 512 MiB and Lightning
 * refuses instead (it must never crash). Lightning only: Redis would
 * allocate 512 MiB here. */
TEST(bitfield_past_engine_limit) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "BITFIELD k SET i64 4294967295 1"),
                 "err:\"ERR string exceeds maximum allowed size (proto-max-bulk-len)\"");
    CHECK_EQ_STR(cmd(c, "BITFIELD k GET i64 4294967295"), "array[int:0]");
    CHECK_EQ_STR(cmd(c, "EXISTS k"), "int:0");
}

TEST(bitcount) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "BITCOUNT", "none");
    EXPECT("int:0", "BITCOUNT", "none", "a", "b");
    EXPECT("int:0", "BITCOUNT", "none", "0");
    EXPECT("status:\"OK\"", "SET", "s", "foobar");
    EXPECT("int:26", "BITCOUNT", "s");
    EXPECT("int:4", "BITCOUNT", "s", "0", "0");
    EXPECT("int:6", "BITCOUNT", "s", "1", "1");
    EXPECT("int:6", "BITCOUNT", "s", "1", "1", "BYTE");
    EXPECT("int:17", "BITCOUNT", "s", "5", "30", "BIT");
    EXPECT("int:26", "BITCOUNT", "s", "0", "-1", "bit");
    EXPECT("int:0", "BITCOUNT", "s", "-1", "-2");
    EXPECT("int:0", "BITCOUNT", "s", "-1", "-2", "BIT");
    EXPECT("int:26", "BITCOUNT", "s", "-100", "100");
    EXPECT("int:0", "BITCOUNT", "s", "4", "2");
    EXPECT("int:26", "BITCOUNT", "s", "-9223372036854775808", "9223372036854775807");
    EXPECT(SYNTAX, "BITCOUNT", "s", "0");
    EXPECT(SYNTAX, "BITCOUNT", "s", "0", "1", "NIBBLE");
    EXPECT(SYNTAX, "BITCOUNT", "s", "0", "1", "BIT", "x");
    EXPECT(NOTINT, "BITCOUNT", "s", "a", "1");
    EXPECT(NOTINT, "BITCOUNT", "s", "0", "1.5");
    EXPECT("status:\"OK\"", "SET", "n", "12345");
    EXPECT("int:17", "BITCOUNT", "n");
    EXPECT("status:\"OK\"", "SET", "e", "");
    EXPECT("int:0", "BITCOUNT", "e");
    EXPECT("int:0", "BITCOUNT", "e", "0", "-1", "BIT");
    /* Every small range, both units. */
    for (int s = -10; s <= 10; s++) {
        for (int e = -10; e <= 10; e++) {
            char a[16], b[16];
            snprintf(a, sizeof a, "%d", s);
            snprintf(b, sizeof b, "%d", e);
            C("BITCOUNT", "s", a, b);
            C("BITCOUNT", "s", a, b, "BIT");
        }
    }
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "BITCOUNT", "wt");
        EXPECT(WRONGTYPE, "BITCOUNT", "wt", "x", "y");
    }
}

TEST(bitpos) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:-1", "BITPOS", "none", "1");
    EXPECT("int:0", "BITPOS", "none", "0");
    EXPECT("int:0", "BITPOS", "none", "0", "junk", "more", "args", "here");
    EXPECT("err:\"ERR The bit argument must be 1 or 0.\"", "BITPOS", "none", "2");
    EXPECT(NOTINT, "BITPOS", "none", "x");
    EXPECT("status:\"OK\"", "SET", "s", "\xff\xf0");
    EXPECT("int:12", "BITPOS", "s", "0");
    EXPECT("int:0", "BITPOS", "s", "1");
    EXPECT("int:12", "BITPOS", "s", "0", "0");
    EXPECT("int:12", "BITPOS", "s", "0", "1");
    EXPECT("int:-1", "BITPOS", "s", "0", "0", "0");
    EXPECT("int:12", "BITPOS", "s", "0", "0", "-1");
    EXPECT("int:8", "BITPOS", "s", "1", "1");
    EXPECT("int:12", "BITPOS", "s", "0", "2", "-1", "BIT");
    EXPECT("int:-1", "BITPOS", "s", "0", "2", "11", "BIT");
    EXPECT("int:5", "BITPOS", "s", "1", "5", "20", "BIT");
    EXPECT("int:5", "BITPOS", "s", "1", "5", "-1", "BIT");
    EXPECT("int:-1", "BITPOS", "s", "1", "12", "-1", "BIT");
    EXPECT("status:\"OK\"", "SET", "ones", "\xff\xff\xff");
    EXPECT("int:24", "BITPOS", "ones", "0");
    EXPECT("int:-1", "BITPOS", "ones", "0", "0", "-1");
    EXPECT("int:24", "BITPOS", "ones", "0", "1");
    EXPECT("int:-1", "BITPOS", "ones", "0", "3");
    EXPECT("status:\"OK\"", "SET", "zeros", "\x01");
    EXPECT("int:7", "BITPOS", "zeros", "1");
    EXPECT("int:-1", "BITPOS", "zeros", "1", "1");
    EXPECT(SYNTAX, "BITPOS", "s", "1", "0", "1", "NIBBLE");
    EXPECT(SYNTAX, "BITPOS", "s", "1", "0", "1", "BIT", "x");
    EXPECT(NOTINT, "BITPOS", "s", "1", "x");
    EXPECT(NOTINT, "BITPOS", "s", "1", "0", "x");
    EXPECT("status:\"OK\"", "SET", "n", "12");
    EXPECT("int:2", "BITPOS", "n", "1");
    EXPECT("status:\"OK\"", "SET", "e", "");
    EXPECT("int:-1", "BITPOS", "e", "1");
    EXPECT("int:-1", "BITPOS", "e", "0");
    EXPECT("int:-1", "BITPOS", "e", "0", "0", "-1", "BIT");
    /* The last value is "\x00\x00\x00\x01" (NUL bytes cannot be argv here). */
    const char *vals[] = {"\x80\x7f\x0f\xf0", "\xff\xff\x10\xff", "\x80\x01\x02\x01", "\xfe",
                          NULL};
    for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
        if (vals[v]) {
            EXPECT("status:\"OK\"", "SET", "v", vals[v]);
        } else {
            C("GETDEL", "v");
            EXPECT("int:0", "SETBIT", "v", "31", "1");
        }
        for (int s = -9; s <= 9; s++) {
            char a[16];
            snprintf(a, sizeof a, "%d", s * 3);
            C("BITPOS", "v", "0", a);
            C("BITPOS", "v", "1", a);
            for (int e = -9; e <= 9; e++) {
                char b[16];
                snprintf(b, sizeof b, "%d", e * 3);
                C("BITPOS", "v", "0", a, b, "BIT");
                C("BITPOS", "v", "1", a, b, "BIT");
                C("BITPOS", "v", "0", a, b);
                C("BITPOS", "v", "1", a, b, "BYTE");
            }
        }
    }
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "BITPOS", "wt", "1");
        EXPECT("err:\"ERR The bit argument must be 1 or 0.\"", "BITPOS", "wt", "3");
    }
}

TEST(bitop) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "MSET", "a", "\xff\x0f\x01", "b", "\x0f\xf0", "c", "abc");
    EXPECT("int:3", "BITOP", "AND", "d", "a", "b");
    EXPECT("bulk:\"\\x0f\\x00\\x00\"", "GET", "d");
    EXPECT("int:3", "BITOP", "or", "d", "a", "b");
    EXPECT("bulk:\"\\xff\\xff\\x01\"", "GET", "d");
    EXPECT("int:3", "BITOP", "XoR", "d", "a", "b", "c");
    EXPECT("bulk:\"\\x91\\x9db\"", "GET", "d");
    EXPECT("int:3", "BITOP", "NOT", "d", "a");
    EXPECT("bulk:\"\\x00\\xf0\\xfe\"", "GET", "d");
    EXPECT("int:3", "BITOP", "AND", "a", "a", "missing");
    EXPECT("bulk:\"\\x00\\x00\\x00\"", "GET", "a");
    EXPECT("int:2", "BITOP", "OR", "b", "b", "b");
    EXPECT("bulk:\"\\x0f\\xf0\"", "GET", "b");
    /* Empty result deletes the destination. */
    EXPECT("int:0", "BITOP", "OR", "d", "missing", "missing2");
    EXPECT("nil", "GET", "d");
    EXPECT("status:\"OK\"", "SET", "empty", "");
    EXPECT("status:\"OK\"", "SET", "d", "x");
    EXPECT("int:0", "BITOP", "NOT", "d", "empty");
    EXPECT("nil", "GET", "d");
    EXPECT("status:\"OK\"", "SET", "n", "12");
    EXPECT("int:2", "BITOP", "NOT", "d", "n");
    EXPECT("bulk:\"\\xce\\xcd\"", "GET", "d");
    EXPECT(SYNTAX, "BITOP", "NAND", "d", "a");
    EXPECT(SYNTAX, "BITOP", "ANDX", "d", "a");
    EXPECT("err:\"ERR BITOP NOT must be called with a single source key.\"", "BITOP", "NOT",
           "d", "a", "b");
    EXPECT("err:\"ERR wrong number of arguments for 'bitop' command\"", "BITOP", "AND", "d");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "BITOP", "AND", "d", "a", "wt");
        EXPECT("int:3", "BITOP", "AND", "wt", "a");
        EXPECT("bulk:\"\\x00\\x00\\x00\"", "GET", "wt");
    }
}

TEST(bitfield) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[]", "BITFIELD", "k");
    EXPECT("nil", "GET", "k");
    EXPECT("array[int:0]", "BITFIELD", "k", "GET", "u8", "0");
    EXPECT("nil", "GET", "k");
    EXPECT("array[int:0,int:255]", "BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0");
    EXPECT("array[int:-1,int:127]", "BITFIELD", "k", "GET", "i8", "0", "GET", "u7", "1");
    EXPECT("array[int:-1]", "BITFIELD", "k", "SET", "i8", "0", "-128");
    EXPECT("bulk:\"\\x80\"", "GET", "k");
    EXPECT("array[int:0]", "BITFIELD", "k", "SET", "u8", "#2", "200");
    EXPECT("bulk:\"\\x80\\x00\\xc8\"", "GET", "k");
    EXPECT("array[int:200,int:0]", "BITFIELD", "k", "GET", "u8", "#2", "GET", "u8", "#3");
    /* INCRBY with each overflow mode. */
    EXPECT("array[int:100]", "BITFIELD", "c", "INCRBY", "u8", "0", "100");
    EXPECT("array[int:44]", "BITFIELD", "c", "INCRBY", "u8", "0", "200");
    EXPECT("array[int:255]", "BITFIELD", "c", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1000");
    EXPECT("array[nil]", "BITFIELD", "c", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1");
    EXPECT("array[int:0]", "BITFIELD", "c", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "-1000");
    EXPECT("array[nil,int:0]", "BITFIELD", "c", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "-1",
           "GET", "u8", "0");
    EXPECT("array[int:127]", "BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "500");
    EXPECT("array[int:-128]", "BITFIELD", "s", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-500");
    EXPECT("array[int:-128]", "BITFIELD", "s", "OVERFLOW", "WRAP", "INCRBY", "i8", "8", "128");
    EXPECT("array[int:127]", "BITFIELD", "s", "INCRBY", "i8", "8", "-1");
    EXPECT("array[nil]", "BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "i8", "8", "1");
    /* SET with out-of-range values under each mode. */
    EXPECT("array[int:0,int:255]", "BITFIELD", "t", "SET", "u8", "0", "-1", "GET", "u8", "0");
    EXPECT("array[int:255,int:255]", "BITFIELD", "t", "OVERFLOW", "SAT", "SET", "u8", "0",
           "1000", "GET", "u8", "0");
    EXPECT("array[nil]", "BITFIELD", "t", "OVERFLOW", "FAIL", "SET", "u8", "0", "256");
    EXPECT("array[int:-1]", "BITFIELD", "t", "OVERFLOW", "SAT", "SET", "i8", "0", "-1000");
    EXPECT("array[int:-128]", "BITFIELD", "t", "GET", "i8", "0");
    /* Widths: i64 and u63 limits, odd sizes and unaligned offsets. */
    EXPECT("array[int:0,int:9223372036854775807]", "BITFIELD", "w", "SET", "i64", "3",
           "9223372036854775807", "GET", "i64", "3");
    EXPECT("array[int:-9223372036854775808]", "BITFIELD", "w", "INCRBY", "i64", "3", "1");
    EXPECT("array[int:-9223372036854775808]", "BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY",
           "i64", "3", "-1");
    EXPECT("array[int:-9223372036854775808]", "BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY",
           "i64", "3", "-9223372036854775808");
    EXPECT("array[int:0]", "BITFIELD", "w", "INCRBY", "i64", "3", "-9223372036854775808");
    EXPECT("array[int:0,int:9223372036854775807]", "BITFIELD", "w2", "SET", "u63", "5", "-1",
           "GET", "u63", "5");
    EXPECT("array[int:0]", "BITFIELD", "w2", "OVERFLOW", "WRAP", "INCRBY", "u63", "5", "1");
    EXPECT("array[int:0,int:-1,int:1]", "BITFIELD", "w3", "SET", "i1", "0", "1", "GET", "i1",
           "0", "GET", "u1", "0");
    C("BITFIELD", "w3", "SET", "i5", "3", "-7", "SET", "u13", "11", "5000", "GET", "i17", "2",
      "INCRBY", "u3", "#7", "5", "GET", "u9", "#1");
    C("GET", "w3");
    /* Integer values are read as their decimal text. */
    EXPECT("status:\"OK\"", "SET", "n", "12");
    EXPECT("array[int:12594]", "BITFIELD", "n", "GET", "u16", "0");
    EXPECT("array[int:49]", "BITFIELD", "n", "SET", "u8", "0", "50");
    EXPECT("bulk:\"22\"", "GET", "n");
    /* Errors. */
    EXPECT(SYNTAX, "BITFIELD", "k", "GET", "u8");
    EXPECT(SYNTAX, "BITFIELD", "k", "SET", "u8", "0");
    EXPECT(SYNTAX, "BITFIELD", "k", "INCRBY", "u8", "0");
    EXPECT(SYNTAX, "BITFIELD", "k", "FOO", "u8", "0");
    EXPECT(SYNTAX, "BITFIELD", "k", "OVERFLOW");
    EXPECT("err:\"ERR Invalid OVERFLOW type specified\"", "BITFIELD", "k", "OVERFLOW", "BOUNCE");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "u64", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "i65", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "i0", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "x8", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "u", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "u-1", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "U8", "0");
    EXPECT(BADTYPE, "BITFIELD", "k", "GET", "I8", "0");
    EXPECT(BADOFF, "BITFIELD", "k", "GET", "u8", "-1");
    EXPECT(BADOFF, "BITFIELD", "k", "GET", "u8", "#-1");
    EXPECT(BADOFF, "BITFIELD", "k", "GET", "u8", "##1");
    EXPECT(BADOFF, "BITFIELD", "k", "GET", "u8", "#");
    EXPECT(BADOFF, "BITFIELD", "k", "GET", "u8", "");
    EXPECT(NOTINT, "BITFIELD", "k", "SET", "u8", "0", "x");
    EXPECT(NOTINT, "BITFIELD", "k", "INCRBY", "u8", "0", "1.5");
    /* Errors anywhere stop the whole command before any write. */
    EXPECT(SYNTAX, "BITFIELD", "new", "SET", "u8", "0", "1", "BAD");
    EXPECT("nil", "GET", "new");
    EXPECT("array[nil]", "BITFIELD", "new", "OVERFLOW", "FAIL", "SET", "u8", "#3", "300");
    EXPECT("bulk:\"\\x00\\x00\\x00\\x00\"", "GET", "new");
    /* BITFIELD_RO */
    EXPECT("array[int:128,int:0]", "BITFIELD_RO", "k", "GET", "u8", "0", "GET", "u8", "100");
    EXPECT("array[]", "BITFIELD_RO", "k");
    EXPECT("err:\"ERR BITFIELD_RO only supports the GET subcommand\"", "BITFIELD_RO", "k",
           "GET", "u8", "0", "SET", "u8", "0", "1");
    EXPECT("err:\"ERR BITFIELD_RO only supports the GET subcommand\"", "BITFIELD_RO", "k",
           "INCRBY", "u8", "0", "1");
    EXPECT(SYNTAX, "BITFIELD_RO", "k", "INCRBY", "u8", "0");
    EXPECT(BADTYPE, "BITFIELD_RO", "k", "SET", "u99", "0", "1");
    EXPECT("array[int:0]", "BITFIELD_RO", "k", "OVERFLOW", "FAIL", "GET", "u8", "8");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "BITFIELD", "wt", "GET", "u8", "0");
        EXPECT(WRONGTYPE, "BITFIELD", "wt", "SET", "u8", "0", "1");
        EXPECT(WRONGTYPE, "BITFIELD_RO", "wt", "GET", "u8", "0");
        EXPECT(WRONGTYPE, "BITFIELD", "wt");
        EXPECT(SYNTAX, "BITFIELD", "wt", "GET");
    }
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", "0",
                             "256", "GET", "u8", "0"),
                 "array[null,int:0]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "BITFIELD_RO", "k", "GET", "i8", "0"), "array[int:0]");
}

TEST(ttl_and_encoding) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "a", "PX", "1000");
    EXPECT("int:0", "SETBIT", "k", "100", "1");
    EXPECT("status:\"OK\"", "SET", "f", "a", "PX", "1000");
    EXPECT("array[int:0]", "BITFIELD", "f", "SET", "u8", "#4", "1");
    EXPECT("status:\"OK\"", "SET", "d", "a", "PX", "1000");
    EXPECT("int:13", "BITOP", "NOT", "d", "k");
    if (difftest_have("object")) {
        EXPECT("status:\"OK\"", "MSET", "i", "123", "e", "abc");
        EXPECT("int:0", "SETBIT", "i", "0", "0");
        EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "i");
        EXPECT("int:0", "SETBIT", "e", "0", "0");
        EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "e");
        EXPECT("int:3", "BITOP", "NOT", "nd", "e");
        EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "nd");
        EXPECT("int:0", "SETBIT", "nb", "0", "0");
        EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "nb");
    }
    harness_sleep_ms(2000);
    EXPECT("nil", "GET", "k");
    EXPECT("nil", "GET", "f");
    CHECK(strncmp(C("GET", "d"), "bulk:", 5) == 0);
}

/* Random bit operations on a few keys, every reply compared with Redis. */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20260102);
    const char *keys[] = {"k0", "k1", "k2"};
    const char *vals[] = {"", "0", "-1", "42", "abc", "\xff\x80\x01", "\xff\xff\xff\xff\xfe",
                          "hello world, a longer value here", "\x01"};
    const char *offs[] = {"0", "1", "5", "7", "8", "9", "15", "16", "31", "33", "63", "64",
                          "100", "#0", "#1", "#3", "-1"};
    const char *nums[] = {"0", "1", "-1", "2", "-3", "7", "-8", "100", "-100", "1000", "x",
                          "9223372036854775807", "-9223372036854775808"};
    const char *types[] = {"u1", "i1", "u3", "i3", "u8", "i8", "u13", "i16", "u32", "i33",
                           "u63", "i64"};
    const char *ow[] = {"WRAP", "SAT", "FAIL"};
    const char *ops[] = {"AND", "OR", "XOR", "NOT"};
    const char *units[] = {"BIT", "BYTE"};
    for (int i = 0; i < 3000; i++) {
        const char *k = PICK(keys), *k2 = PICK(keys);
        const char *a = PICK(nums), *b = PICK(nums);
        switch (rand() % 10) {
        case 0: C("SET", k, PICK(vals)); break;
        case 1: C("SETBIT", k, PICK(offs), rand() % 2 ? "1" : "0"); break;
        case 2: C("GETBIT", k, PICK(offs)); break;
        case 3: C("BITCOUNT", k, a, b, PICK(units)); break;
        case 4: C("BITPOS", k, rand() % 2 ? "1" : "0", a, b, PICK(units)); break;
        case 5: C("BITPOS", k, rand() % 2 ? "1" : "0", a); break;
        case 6: {
            const char *op = PICK(ops);
            if (!strcmp(op, "NOT")) C("BITOP", op, k, k2);
            else C("BITOP", op, k, k2, PICK(keys));
            break;
        }
        case 7:
            C("BITFIELD", k, "OVERFLOW", PICK(ow), "INCRBY", PICK(types), PICK(offs), a, "GET",
              PICK(types), PICK(offs));
            break;
        case 8:
            C("BITFIELD", k, "SET", PICK(types), PICK(offs), a, "OVERFLOW", PICK(ow), "SET",
              PICK(types), PICK(offs), b);
            break;
        default: C("GET", k); break;
        }
        if (difftest_failed_at(i, seed, "GET %s", keys, NELEM(keys))) return;
    }
}

int main(void) {
    RUN(setbit_getbit);
    RUN(setbit_unchanged_is_no_write);
    RUN(bit_offset_limit_config);
    RUN(bitfield_past_engine_limit);
    RUN(bitcount);
    RUN(bitpos);
    RUN(bitop);
    RUN(bitfield);
    RUN(resp3);
    RUN(ttl_and_encoding);
    RUN(random_differential);
    return testlib_finish();
}
