/*
 * Generic key commands against a real redis-server 7.0: DEL UNLINK EXISTS
 * TOUCH TYPE, RENAME RENAMENX COPY MOVE SWAPDB, KEYS RANDOMKEY, OBJECT and
 * MEMORY. Every command runs on both servers and the rendered replies must
 * be equal; the expected value is asserted too, so a behaviour both servers
 * got wrong (or a missing Redis) still fails. Replies that depend on time
 * or allocation sizes are checked for their shape only.
 */
#include "../harness.h"

#include <stdlib.h>

typedef struct pair {
    redisContext *l, *r;
} pair;

/* Both servers started and connected; p.l is NULL when Lightning failed. */
static pair start_pair(void) {
    pair p = {NULL, NULL};
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    if (!l) return p;
    p.l = harness_connect(l);
    p.r = harness_connect(r);
    return p;
}

#define EXPECT(p, want, ...) CHECK_EQ_STR(COMPARE((p).l, (p).r, __VA_ARGS__), want)
#define EXPECT_UNORDERED(p, want, ...)                                        \
    CHECK_EQ_STR(COMPARE_UNORDERED((p).l, (p).r, __VA_ARGS__), want)

/* Runs a command on both servers, checking only that each reply starts
 * with prefix (for values that depend on time or allocators). */
static void expect_prefix(pair p, const char *prefix, const char *const *argv) {
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        const char *got = cmd_argv(cs[i], argv);
        if (strncmp(got, prefix, strlen(prefix)) != 0)
            testlib_fail(__FILE__, __LINE__, "%s %s: \"%s\" does not start with \"%s\"",
                         i ? "redis" : "lightning", argv[0], got, prefix);
    }
}
#define EXPECT_PREFIX(p, prefix, ...)                                         \
    expect_prefix((p), (prefix), (const char *const[]){__VA_ARGS__, NULL})

TEST(del_exists_touch_type) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "a", "1");
    EXPECT(p, "status:\"OK\"", "SET", "b", "2");
    EXPECT(p, "int:3", "EXISTS", "a", "a", "b", "nokey");
    EXPECT(p, "int:2", "TOUCH", "a", "b", "nokey");
    EXPECT(p, "status:\"string\"", "TYPE", "a");
    EXPECT(p, "status:\"none\"", "TYPE", "nokey");
    EXPECT(p, "int:1", "DEL", "a", "a", "nokey");
    EXPECT(p, "int:0", "EXISTS", "a");
    EXPECT(p, "int:1", "UNLINK", "b", "nokey");
    EXPECT(p, "int:0", "DEL", "nokey");
    EXPECT(p, "int:0", "DBSIZE");
    /* Binary-safe key names. */
    EXPECT(p, "status:\"OK\"", "SET", "bin\r\nkey", "v");
    EXPECT(p, "int:1", "EXISTS", "bin\r\nkey");
    EXPECT(p, "int:1", "DEL", "bin\r\nkey");
    /* Many keys: more than one transaction can lock shard by shard. */
    const char *argv[130] = {"DEL"};
    char names[128][8];
    for (int i = 0; i < 128; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        argv[i + 1] = names[i];
        EXPECT(p, "status:\"OK\"", "SET", names[i], "x");
    }
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, p.l, p.r, 0, argv), "int:128");
    EXPECT(p, "int:0", "DBSIZE");
    /* Arity. */
    EXPECT(p, "err:\"ERR wrong number of arguments for 'del' command\"", "DEL");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'exists' command\"", "EXISTS");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'type' command\"", "TYPE", "a", "b");
}

TEST(rename_renamenx) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "err:\"ERR no such key\"", "RENAME", "nokey", "x");
    EXPECT(p, "err:\"ERR no such key\"", "RENAME", "nokey", "nokey");
    EXPECT(p, "err:\"ERR no such key\"", "RENAMENX", "nokey", "x");
    EXPECT(p, "status:\"OK\"", "SET", "k", "v");
    EXPECT(p, "status:\"OK\"", "RENAME", "k", "k");
    EXPECT(p, "int:0", "RENAMENX", "k", "k");
    EXPECT(p, "status:\"OK\"", "RENAME", "k", "k2");
    EXPECT(p, "int:0", "EXISTS", "k");
    EXPECT(p, "bulk:\"v\"", "GET", "k2");
    EXPECT(p, "status:\"OK\"", "SET", "k3", "other");
    EXPECT(p, "int:0", "RENAMENX", "k2", "k3");
    EXPECT(p, "bulk:\"other\"", "GET", "k3");
    EXPECT(p, "status:\"OK\"", "RENAME", "k2", "k3");
    EXPECT(p, "bulk:\"v\"", "GET", "k3");
    EXPECT(p, "int:1", "RENAMENX", "k3", "k4");
    EXPECT(p, "int:1", "DBSIZE");
    /* The TTL moves with the value. */
    EXPECT(p, "int:1", "EXPIRE", "k4", "100");
    EXPECT(p, "status:\"OK\"", "RENAME", "k4", "k5");
    EXPECT(p, "int:100", "TTL", "k5");
    /* Renaming over a key with a TTL drops that TTL with its value. */
    EXPECT(p, "status:\"OK\"", "SET", "plain", "x");
    EXPECT(p, "status:\"OK\"", "RENAME", "plain", "k5");
    EXPECT(p, "int:-1", "TTL", "k5");
}

TEST(copy) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "src", "123");
    EXPECT(p, "status:\"OK\"", "SET", "str", "hello");
    EXPECT(p, "err:\"ERR source and destination objects are the same\"", "COPY", "src", "src");
    EXPECT(p, "err:\"ERR source and destination objects are the same\"",
           "COPY", "src", "src", "DB", "0");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "COPY", "src", "d", "DB", "16");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "COPY", "src", "d", "DB", "-1");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "COPY", "src", "d", "DB", "x");
    EXPECT(p, "err:\"ERR value is out of range, value must between -2147483648 and 2147483647\"",
           "COPY", "src", "d", "DB", "2147483648");
    EXPECT(p, "err:\"ERR syntax error\"", "COPY", "src", "d", "DB");
    EXPECT(p, "err:\"ERR syntax error\"", "COPY", "src", "d", "foo");
    EXPECT(p, "int:0", "COPY", "nokey", "d");
    EXPECT(p, "int:1", "COPY", "src", "d");
    EXPECT(p, "bulk:\"123\"", "GET", "d");
    EXPECT(p, "bulk:\"int\"", "OBJECT", "ENCODING", "d");
    EXPECT(p, "int:0", "COPY", "str", "d");
    EXPECT(p, "int:1", "COPY", "str", "d", "REPLACE");
    EXPECT(p, "bulk:\"hello\"", "GET", "d");
    EXPECT(p, "bulk:\"embstr\"", "OBJECT", "ENCODING", "d");
    /* Encodings are kept: a short string grown in place stays raw. */
    EXPECT(p, "int:3", "APPEND", "grown", "abc");
    EXPECT(p, "int:6", "APPEND", "grown", "def");
    EXPECT(p, "bulk:\"raw\"", "OBJECT", "ENCODING", "grown");
    EXPECT(p, "int:1", "COPY", "grown", "grown2");
    EXPECT(p, "bulk:\"raw\"", "OBJECT", "ENCODING", "grown2");
    EXPECT(p, "bulk:\"abcdef\"", "GET", "grown2");
    /* An expired source is gone; an expired destination does not block. */
    EXPECT(p, "status:\"OK\"", "SET", "gone", "v", "PX", "1");
    EXPECT(p, "status:\"OK\"", "SET", "stale", "old", "PX", "1");
    harness_sleep_ms(20);
    EXPECT(p, "int:0", "COPY", "gone", "d2");
    EXPECT(p, "int:1", "COPY", "str", "stale");
    EXPECT(p, "bulk:\"hello\"", "GET", "stale");
    EXPECT(p, "int:-1", "TTL", "stale");
    /* To another database, with the TTL. */
    EXPECT(p, "int:1", "EXPIRE", "str", "100");
    EXPECT(p, "int:1", "COPY", "str", "str", "DB", "1");
    EXPECT(p, "int:0", "COPY", "str", "str", "db", "1");
    EXPECT(p, "int:1", "COPY", "str", "str", "replace", "DB", "1", "REPLACE");
    EXPECT(p, "status:\"OK\"", "SELECT", "1");
    EXPECT(p, "bulk:\"hello\"", "GET", "str");
    EXPECT(p, "int:100", "TTL", "str");
    EXPECT(p, "int:1", "DBSIZE");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'copy' command\"", "COPY", "a");
}

TEST(move_swapdb) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "k", "v");
    EXPECT(p, "err:\"ERR source and destination objects are the same\"", "MOVE", "k", "0");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "MOVE", "k", "16");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "MOVE", "k", "-1");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "MOVE", "k", "x");
    EXPECT(p, "err:\"ERR value is out of range, value must between -2147483648 and 2147483647\"",
           "MOVE", "k", "2147483648");
    EXPECT(p, "int:0", "MOVE", "nokey", "1");
    EXPECT(p, "int:1", "EXPIRE", "k", "100");
    EXPECT(p, "int:1", "MOVE", "k", "1");
    EXPECT(p, "int:0", "EXISTS", "k");
    EXPECT(p, "status:\"OK\"", "SET", "k", "v0");
    EXPECT(p, "int:0", "MOVE", "k", "1"); /* exists in db 1 */
    EXPECT(p, "bulk:\"v0\"", "GET", "k");
    EXPECT(p, "status:\"OK\"", "SELECT", "1");
    EXPECT(p, "bulk:\"v\"", "GET", "k");
    EXPECT(p, "int:100", "TTL", "k");
    EXPECT(p, "status:\"OK\"", "SET", "only1", "x");

    EXPECT(p, "err:\"ERR invalid first DB index\"", "SWAPDB", "x", "0");
    EXPECT(p, "err:\"ERR invalid second DB index\"", "SWAPDB", "0", "x");
    EXPECT(p, "err:\"ERR invalid first DB index\"", "SWAPDB", "2147483648", "0");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "SWAPDB", "0", "16");
    EXPECT(p, "err:\"ERR DB index is out of range\"", "SWAPDB", "-1", "0");
    EXPECT(p, "status:\"OK\"", "SWAPDB", "1", "1");
    EXPECT(p, "int:2", "DBSIZE");
    EXPECT(p, "status:\"OK\"", "SWAPDB", "0", "1");
    /* This connection stays on db 1, which now holds db 0's keys. */
    EXPECT(p, "int:1", "DBSIZE");
    EXPECT(p, "bulk:\"v0\"", "GET", "k");
    EXPECT(p, "int:-1", "TTL", "k");
    EXPECT(p, "status:\"OK\"", "SELECT", "0");
    EXPECT(p, "int:2", "DBSIZE");
    EXPECT(p, "bulk:\"x\"", "GET", "only1");
    EXPECT(p, "int:100", "TTL", "k");
}

TEST(keys_randomkey) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "array[]", "KEYS", "*");
    EXPECT(p, "nil", "RANDOMKEY");
    const char *names[] = {"foo", "foobar", "fox", "bar", "f[o]o", "Foo", "a\\b", NULL};
    for (int i = 0; names[i]; i++) EXPECT(p, "status:\"OK\"", "SET", names[i], "v");
    EXPECT_UNORDERED(p, "array[bulk:\"Foo\",bulk:\"a\\\\b\",bulk:\"bar\",bulk:\"f[o]o\",bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]",
                     "KEYS", "*");
    EXPECT_UNORDERED(p, "array[bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]", "KEYS", "fo*");
    EXPECT_UNORDERED(p, "array[bulk:\"foo\",bulk:\"fox\"]", "KEYS", "fo?");
    EXPECT_UNORDERED(p, "array[bulk:\"foo\"]", "KEYS", "f[o]o");
    EXPECT_UNORDERED(p, "array[bulk:\"f[o]o\"]", "KEYS", "f\\[o\\]o");
    EXPECT_UNORDERED(p, "array[bulk:\"a\\\\b\",bulk:\"bar\",bulk:\"f[o]o\",bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]",
                     "KEYS", "[a-z]*[^[]");
    EXPECT_UNORDERED(p, "array[]", "KEYS", "nomatch*");
    /* Expired keys are not listed. */
    EXPECT(p, "int:1", "PEXPIRE", "bar", "1");
    harness_sleep_ms(20);
    EXPECT_UNORDERED(p, "array[bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]", "KEYS", "fo*");
    EXPECT_UNORDERED(p, "array[]", "KEYS", "b*");
    EXPECT(p, "int:6", "DEL", "foo", "foobar", "fox", "f[o]o", "Foo", "a\\b");
    EXPECT(p, "status:\"OK\"", "SET", "only", "v");
    EXPECT(p, "bulk:\"only\"", "RANDOMKEY");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'randomkey' command\"", "RANDOMKEY", "x");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'keys' command\"", "KEYS");
}

TEST(randomkey_covers_keys) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    for (int i = 0; i < 5; i++) CHECK_EQ_STR(cmd(c, "SET r%d v", i), "status:\"OK\"");
    int seen[5] = {0};
    for (int i = 0; i < 500; i++) {
        const char *k = cmd(c, "RANDOMKEY");
        int n;
        if (sscanf(k, "bulk:\"r%d\"", &n) == 1 && n >= 0 && n < 5) seen[n] = 1;
        else testlib_fail(__FILE__, __LINE__, "RANDOMKEY gave %s", k);
    }
    for (int i = 0; i < 5; i++) CHECK(seen[i]);
}

TEST(object) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "i", "123");
    EXPECT(p, "status:\"OK\"", "SET", "big", "12345");
    EXPECT(p, "status:\"OK\"", "SET", "neg", "-5");
    EXPECT(p, "status:\"OK\"", "SET", "s", "hello");
    EXPECT(p, "status:\"OK\"", "SET", "s44", "12345678901234567890123456789012345678901234");
    EXPECT(p, "status:\"OK\"", "SET", "s45", "123456789012345678901234567890123456789012345");
    EXPECT(p, "bulk:\"int\"", "OBJECT", "ENCODING", "i");
    EXPECT(p, "bulk:\"embstr\"", "OBJECT", "ENCODING", "s");
    EXPECT(p, "bulk:\"embstr\"", "OBJECT", "ENCODING", "s44");
    EXPECT(p, "bulk:\"raw\"", "OBJECT", "ENCODING", "s45");
    EXPECT(p, "nil", "OBJECT", "ENCODING", "nokey");
    EXPECT(p, "int:2147483647", "OBJECT", "REFCOUNT", "i");
    EXPECT(p, "int:1", "OBJECT", "REFCOUNT", "big");
    EXPECT(p, "int:1", "OBJECT", "REFCOUNT", "neg");
    EXPECT(p, "int:1", "OBJECT", "REFCOUNT", "s");
    EXPECT(p, "nil", "OBJECT", "REFCOUNT", "nokey");
    /* Redis keeps one LRU clock for shared integers: use a plain string. */
    EXPECT(p, "int:0", "OBJECT", "IDLETIME", "s");
    EXPECT(p, "nil", "OBJECT", "IDLETIME", "nokey");
    EXPECT(p, "err:\"ERR An LFU maxmemory policy is not selected, access frequency not "
              "tracked. Please note that when switching between policies at runtime LRU "
              "and LFU data will take some time to adjust.\"",
           "OBJECT", "FREQ", "s");
    EXPECT(p, "nil", "OBJECT", "FREQ", "nokey");
    EXPECT(p, "err:\"ERR unknown subcommand 'foo'. Try OBJECT HELP.\"", "OBJECT", "foo");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'object' command\"", "OBJECT");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'object|encoding' command\"",
           "OBJECT", "ENCODING");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'object|help' command\"",
           "OBJECT", "HELP", "x");
    const char *help = COMPARE(p.l, p.r, "OBJECT", "HELP");
    CHECK(strstr(help, "array[status:\"OBJECT <subcommand> [<arg> [value] [opt] ...]. "
                       "Subcommands are:\",status:\"ENCODING <key>\"") == help);
}

TEST(idletime_counts) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET s hello"), "status:\"OK\"");
    harness_sleep_ms(2100);
    const char *idle = cmd(c, "OBJECT IDLETIME s");
    CHECK(!strcmp(idle, "int:2") || !strcmp(idle, "int:3"));
    CHECK_EQ_STR(cmd(c, "TYPE s"), "status:\"string\""); /* TYPE does not touch */
    CHECK(strcmp(cmd(c, "OBJECT IDLETIME s"), "int:0") != 0);
    CHECK_EQ_STR(cmd(c, "TOUCH s"), "int:1");
    CHECK_EQ_STR(cmd(c, "OBJECT IDLETIME s"), "int:0");
}

TEST(memory) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "s", "hello");
    EXPECT_PREFIX(p, "int:", "MEMORY", "USAGE", "s");
    EXPECT_PREFIX(p, "int:", "MEMORY", "USAGE", "s", "SAMPLES", "0");
    EXPECT_PREFIX(p, "int:", "MEMORY", "usage", "s", "samples", "5", "samples", "1");
    EXPECT(p, "nil", "MEMORY", "USAGE", "nokey");
    EXPECT(p, "err:\"ERR syntax error\"", "MEMORY", "USAGE", "s", "SAMPLES", "-1");
    EXPECT(p, "err:\"ERR syntax error\"", "MEMORY", "USAGE", "nokey", "SAMPLES", "-1");
    EXPECT(p, "err:\"ERR syntax error\"", "MEMORY", "USAGE", "s", "SAMPLES");
    EXPECT(p, "err:\"ERR syntax error\"", "MEMORY", "USAGE", "s", "foo", "1");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"",
           "MEMORY", "USAGE", "s", "SAMPLES", "x");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'memory|usage' command\"",
           "MEMORY", "USAGE");
    EXPECT(p, "err:\"ERR unknown subcommand 'foo'. Try MEMORY HELP.\"", "MEMORY", "foo");
    /* Lightning's MEMORY HELP lists only the subcommands it has, so it is
     * not compared with Redis's. */
    const char *help = cmd(p.l, "MEMORY HELP");
    CHECK(strncmp(help, "array[status:\"MEMORY <subcommand>", 33) == 0);
    CHECK(strstr(help, "status:\"USAGE <key> [SAMPLES <count>]\"") != NULL);
    CHECK(strstr(help, "DOCTOR") == NULL);
    /* A longer value uses more memory. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_STR(cmd(p.l, "SET big %s", big), "status:\"OK\"");
    long long small_sz = 0, big_sz = 0;
    sscanf(cmd(p.l, "MEMORY USAGE s"), "int:%lld", &small_sz);
    sscanf(cmd(p.l, "MEMORY USAGE big"), "int:%lld", &big_sz);
    CHECK(small_sz > 5);
    CHECK(big_sz >= 2000 && big_sz > small_sz);
}

TEST(resp3) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    int fl = raw_connect(l->port), fr = r ? raw_connect(r->port) : -1;
    REQUIRE(fl >= 0);
    RAW_CMD(fl, "HELLO", "3");
    if (fr >= 0) RAW_CMD(fr, "HELLO", "3");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "OBJECT", "ENCODING", "nokey"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "MEMORY", "USAGE", "nokey"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "RANDOMKEY"), "null");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "SCAN", "0"), "array[bulk:\"0\",array[]]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "KEYS", "*"), "array[]");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "SET", "k", "v"), "status:\"OK\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "TYPE", "k"), "status:\"string\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "TTL", "k"), "int:-1");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "OBJECT", "ENCODING", "k"), "bulk:\"embstr\"");
}

int main(void) {
    RUN(del_exists_touch_type);
    RUN(rename_renamenx);
    RUN(copy);
    RUN(move_swapdb);
    RUN(keys_randomkey);
    RUN(randomkey_covers_keys);
    RUN(object);
    RUN(idletime_counts);
    RUN(memory);
    RUN(resp3);
    return testlib_finish();
}
