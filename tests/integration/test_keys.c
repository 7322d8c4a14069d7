/*
 * Generic key commands against a real redis-server 7.0: DEL UNLINK EXISTS
 * TOUCH TYPE, RENAME RENAMENX COPY MOVE SWAPDB, KEYS RANDOMKEY, OBJECT and
 * MEMORY. Every command runs on both servers and the rendered replies must
 * be equal; the expected value is asserted too, so a behaviour both servers
 * got wrong (or a missing Redis) still fails. Replies that depend on time
 * or allocation sizes are checked for their shape only.
 */
#include "../difftest.h"

#include <stdlib.h>

/* Runs a command on both servers, checking only that each reply starts
 * with prefix (for values that depend on time or allocators). */
static void expect_prefix(const char *prefix, const char *const *argv) {
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        const char *got = cmd_argv(cs[i], argv);
        if (strncmp(got, prefix, strlen(prefix)) != 0)
            testlib_fail(__FILE__, __LINE__, "%s %s: \"%s\" does not start with \"%s\"",
                         i ? "redis" : "lightning", argv[0], got, prefix);
    }
}
#define EXPECT_PREFIX(prefix, ...)                                            \
    expect_prefix((prefix), (const char *const[]){__VA_ARGS__, NULL})

TEST(del_exists_touch_type) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "a", "1");
    EXPECT("status:\"OK\"", "SET", "b", "2");
    EXPECT("int:3", "EXISTS", "a", "a", "b", "nokey");
    EXPECT("int:2", "TOUCH", "a", "b", "nokey");
    EXPECT("status:\"string\"", "TYPE", "a");
    EXPECT("status:\"none\"", "TYPE", "nokey");
    EXPECT("int:1", "DEL", "a", "a", "nokey");
    EXPECT("int:0", "EXISTS", "a");
    EXPECT("int:1", "UNLINK", "b", "nokey");
    EXPECT("int:0", "DEL", "nokey");
    EXPECT("int:0", "DBSIZE");
    /* Binary-safe key names. */
    EXPECT("status:\"OK\"", "SET", "bin\r\nkey", "v");
    EXPECT("int:1", "EXISTS", "bin\r\nkey");
    EXPECT("int:1", "DEL", "bin\r\nkey");
    /* Many keys: more than one transaction can lock shard by shard. */
    const char *argv[130] = {"DEL"};
    char names[128][16];
    for (int i = 0; i < 128; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        argv[i + 1] = names[i];
        EXPECT("status:\"OK\"", "SET", names[i], "x");
    }
    CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "int:128");
    EXPECT("int:0", "DBSIZE");
    /* Arity. */
    EXPECT("err:\"ERR wrong number of arguments for 'del' command\"", "DEL");
    EXPECT("err:\"ERR wrong number of arguments for 'exists' command\"", "EXISTS");
    EXPECT("err:\"ERR wrong number of arguments for 'type' command\"", "TYPE", "a", "b");
}

TEST(rename_renamenx) {
    REQUIRE(difftest_start(NULL));
    EXPECT("err:\"ERR no such key\"", "RENAME", "nokey", "x");
    EXPECT("err:\"ERR no such key\"", "RENAME", "nokey", "nokey");
    EXPECT("err:\"ERR no such key\"", "RENAMENX", "nokey", "x");
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("status:\"OK\"", "RENAME", "k", "k");
    EXPECT("int:0", "RENAMENX", "k", "k");
    EXPECT("status:\"OK\"", "RENAME", "k", "k2");
    EXPECT("int:0", "EXISTS", "k");
    EXPECT("bulk:\"v\"", "GET", "k2");
    EXPECT("status:\"OK\"", "SET", "k3", "other");
    EXPECT("int:0", "RENAMENX", "k2", "k3");
    EXPECT("bulk:\"other\"", "GET", "k3");
    EXPECT("status:\"OK\"", "RENAME", "k2", "k3");
    EXPECT("bulk:\"v\"", "GET", "k3");
    EXPECT("int:1", "RENAMENX", "k3", "k4");
    EXPECT("int:1", "DBSIZE");
    /* The TTL moves with the value. */
    EXPECT("int:1", "EXPIRE", "k4", "100");
    EXPECT("status:\"OK\"", "RENAME", "k4", "k5");
    EXPECT("int:100", "TTL", "k5");
    /* Renaming over a key with a TTL drops that TTL with its value. */
    EXPECT("status:\"OK\"", "SET", "plain", "x");
    EXPECT("status:\"OK\"", "RENAME", "plain", "k5");
    EXPECT("int:-1", "TTL", "k5");
}

TEST(copy) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "src", "123");
    EXPECT("status:\"OK\"", "SET", "str", "hello");
    EXPECT("err:\"ERR source and destination objects are the same\"", "COPY", "src", "src");
    EXPECT("err:\"ERR source and destination objects are the same\"",
           "COPY", "src", "src", "DB", "0");
    EXPECT("err:\"ERR DB index is out of range\"", "COPY", "src", "d", "DB", "16");
    EXPECT("err:\"ERR DB index is out of range\"", "COPY", "src", "d", "DB", "-1");
    EXPECT(NOTINT, "COPY", "src", "d", "DB", "x");
    EXPECT("err:\"ERR value is out of range, value must between -2147483648 and 2147483647\"",
           "COPY", "src", "d", "DB", "2147483648");
    EXPECT(SYNTAX, "COPY", "src", "d", "DB");
    EXPECT(SYNTAX, "COPY", "src", "d", "foo");
    EXPECT("int:0", "COPY", "nokey", "d");
    EXPECT("int:1", "COPY", "src", "d");
    EXPECT("bulk:\"123\"", "GET", "d");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "d");
    EXPECT("int:0", "COPY", "str", "d");
    EXPECT("int:1", "COPY", "str", "d", "REPLACE");
    EXPECT("bulk:\"hello\"", "GET", "d");
    EXPECT("bulk:\"embstr\"", "OBJECT", "ENCODING", "d");
    /* Encodings are kept: a short string grown in place stays raw. */
    EXPECT("int:3", "APPEND", "grown", "abc");
    EXPECT("int:6", "APPEND", "grown", "def");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "grown");
    EXPECT("int:1", "COPY", "grown", "grown2");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "grown2");
    EXPECT("bulk:\"abcdef\"", "GET", "grown2");
    /* An expired source is gone; an expired destination does not block. */
    EXPECT("status:\"OK\"", "SET", "gone", "v", "PX", "1");
    EXPECT("status:\"OK\"", "SET", "stale", "old", "PX", "1");
    harness_sleep_ms(20);
    EXPECT("int:0", "COPY", "gone", "d2");
    EXPECT("int:1", "COPY", "str", "stale");
    EXPECT("bulk:\"hello\"", "GET", "stale");
    EXPECT("int:-1", "TTL", "stale");
    /* To another database, with the TTL. */
    EXPECT("int:1", "EXPIRE", "str", "100");
    EXPECT("int:1", "COPY", "str", "str", "DB", "1");
    EXPECT("int:0", "COPY", "str", "str", "db", "1");
    EXPECT("int:1", "COPY", "str", "str", "replace", "DB", "1", "REPLACE");
    EXPECT("status:\"OK\"", "SELECT", "1");
    EXPECT("bulk:\"hello\"", "GET", "str");
    EXPECT("int:100", "TTL", "str");
    EXPECT("int:1", "DBSIZE");
    EXPECT("err:\"ERR wrong number of arguments for 'copy' command\"", "COPY", "a");
}

TEST(move_swapdb) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("err:\"ERR source and destination objects are the same\"", "MOVE", "k", "0");
    EXPECT("err:\"ERR DB index is out of range\"", "MOVE", "k", "16");
    EXPECT("err:\"ERR DB index is out of range\"", "MOVE", "k", "-1");
    EXPECT(NOTINT, "MOVE", "k", "x");
    EXPECT("err:\"ERR value is out of range, value must between -2147483648 and 2147483647\"",
           "MOVE", "k", "2147483648");
    EXPECT("int:0", "MOVE", "nokey", "1");
    EXPECT("int:1", "EXPIRE", "k", "100");
    EXPECT("int:1", "MOVE", "k", "1");
    EXPECT("int:0", "EXISTS", "k");
    EXPECT("status:\"OK\"", "SET", "k", "v0");
    EXPECT("int:0", "MOVE", "k", "1"); /* exists in db 1 */
    EXPECT("bulk:\"v0\"", "GET", "k");
    EXPECT("status:\"OK\"", "SELECT", "1");
    EXPECT("bulk:\"v\"", "GET", "k");
    EXPECT("int:100", "TTL", "k");
    EXPECT("status:\"OK\"", "SET", "only1", "x");

    EXPECT("err:\"ERR invalid first DB index\"", "SWAPDB", "x", "0");
    EXPECT("err:\"ERR invalid second DB index\"", "SWAPDB", "0", "x");
    EXPECT("err:\"ERR invalid first DB index\"", "SWAPDB", "2147483648", "0");
    EXPECT("err:\"ERR DB index is out of range\"", "SWAPDB", "0", "16");
    EXPECT("err:\"ERR DB index is out of range\"", "SWAPDB", "-1", "0");
    EXPECT("status:\"OK\"", "SWAPDB", "1", "1");
    EXPECT("int:2", "DBSIZE");
    EXPECT("status:\"OK\"", "SWAPDB", "0", "1");
    /* This connection stays on db 1, which now holds db 0's keys. */
    EXPECT("int:1", "DBSIZE");
    EXPECT("bulk:\"v0\"", "GET", "k");
    EXPECT("int:-1", "TTL", "k");
    EXPECT("status:\"OK\"", "SELECT", "0");
    EXPECT("int:2", "DBSIZE");
    EXPECT("bulk:\"x\"", "GET", "only1");
    EXPECT("int:100", "TTL", "k");
}

TEST(keys_randomkey) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[]", "KEYS", "*");
    EXPECT("nil", "RANDOMKEY");
    const char *names[] = {"foo", "foobar", "fox", "bar", "f[o]o", "Foo", "a\\b", NULL};
    for (int i = 0; names[i]; i++) EXPECT("status:\"OK\"", "SET", names[i], "v");
    EXPECT_UNORDERED("array[bulk:\"Foo\",bulk:\"a\\\\b\",bulk:\"bar\",bulk:\"f[o]o\",bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]",
                     "KEYS", "*");
    EXPECT_UNORDERED("array[bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]", "KEYS", "fo*");
    EXPECT_UNORDERED("array[bulk:\"foo\",bulk:\"fox\"]", "KEYS", "fo?");
    EXPECT_UNORDERED("array[bulk:\"foo\"]", "KEYS", "f[o]o");
    EXPECT_UNORDERED("array[bulk:\"f[o]o\"]", "KEYS", "f\\[o\\]o");
    EXPECT_UNORDERED("array[bulk:\"a\\\\b\",bulk:\"bar\",bulk:\"f[o]o\",bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]",
                     "KEYS", "[a-z]*[^[]");
    EXPECT_UNORDERED("array[]", "KEYS", "nomatch*");
    /* Expired keys are not listed. */
    EXPECT("int:1", "PEXPIRE", "bar", "1");
    harness_sleep_ms(20);
    EXPECT_UNORDERED("array[bulk:\"foo\",bulk:\"foobar\",bulk:\"fox\"]", "KEYS", "fo*");
    EXPECT_UNORDERED("array[]", "KEYS", "b*");
    EXPECT("int:6", "DEL", "foo", "foobar", "fox", "f[o]o", "Foo", "a\\b");
    EXPECT("status:\"OK\"", "SET", "only", "v");
    EXPECT("bulk:\"only\"", "RANDOMKEY");
    EXPECT("err:\"ERR wrong number of arguments for 'randomkey' command\"", "RANDOMKEY", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'keys' command\"", "KEYS");
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
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "i", "123");
    EXPECT("status:\"OK\"", "SET", "big", "12345");
    EXPECT("status:\"OK\"", "SET", "neg", "-5");
    EXPECT("status:\"OK\"", "SET", "s", "hello");
    EXPECT("status:\"OK\"", "SET", "s44", "12345678901234567890123456789012345678901234");
    EXPECT("status:\"OK\"", "SET", "s45", "123456789012345678901234567890123456789012345");
    EXPECT("bulk:\"int\"", "OBJECT", "ENCODING", "i");
    EXPECT("bulk:\"embstr\"", "OBJECT", "ENCODING", "s");
    EXPECT("bulk:\"embstr\"", "OBJECT", "ENCODING", "s44");
    EXPECT("bulk:\"raw\"", "OBJECT", "ENCODING", "s45");
    EXPECT("nil", "OBJECT", "ENCODING", "nokey");
    EXPECT("int:2147483647", "OBJECT", "REFCOUNT", "i");
    EXPECT("int:1", "OBJECT", "REFCOUNT", "big");
    EXPECT("int:1", "OBJECT", "REFCOUNT", "neg");
    EXPECT("int:1", "OBJECT", "REFCOUNT", "s");
    EXPECT("nil", "OBJECT", "REFCOUNT", "nokey");
    /* Redis keeps one LRU clock for shared integers: use a plain string. */
    EXPECT("int:0", "OBJECT", "IDLETIME", "s");
    EXPECT("nil", "OBJECT", "IDLETIME", "nokey");
    EXPECT("err:\"ERR An LFU maxmemory policy is not selected, access frequency not "
           "tracked. Please note that when switching between policies at runtime LRU "
           "and LFU data will take some time to adjust.\"",
           "OBJECT", "FREQ", "s");
    EXPECT("nil", "OBJECT", "FREQ", "nokey");
    EXPECT("err:\"ERR unknown subcommand 'foo'. Try OBJECT HELP.\"", "OBJECT", "foo");
    EXPECT("err:\"ERR wrong number of arguments for 'object' command\"", "OBJECT");
    EXPECT("err:\"ERR wrong number of arguments for 'object|encoding' command\"",
           "OBJECT", "ENCODING");
    EXPECT("err:\"ERR wrong number of arguments for 'object|help' command\"",
           "OBJECT", "HELP", "x");
    const char *help = C("OBJECT", "HELP");
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
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "s", "hello");
    EXPECT_PREFIX("int:", "MEMORY", "USAGE", "s");
    EXPECT_PREFIX("int:", "MEMORY", "USAGE", "s", "SAMPLES", "0");
    EXPECT_PREFIX("int:", "MEMORY", "usage", "s", "samples", "5", "samples", "1");
    EXPECT("nil", "MEMORY", "USAGE", "nokey");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "s", "SAMPLES", "-1");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "nokey", "SAMPLES", "-1");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "s", "SAMPLES");
    EXPECT(SYNTAX, "MEMORY", "USAGE", "s", "foo", "1");
    EXPECT(NOTINT,
           "MEMORY", "USAGE", "s", "SAMPLES", "x");
    EXPECT("err:\"ERR wrong number of arguments for 'memory|usage' command\"",
           "MEMORY", "USAGE");
    EXPECT("err:\"ERR unknown subcommand 'foo'. Try MEMORY HELP.\"", "MEMORY", "foo");
    /* Lightning has every MEMORY subcommand: Redis's help, word for word. */
    const char *help = C("MEMORY", "HELP");
    CHECK(strncmp(help, "array[status:\"MEMORY <subcommand>", 33) == 0);
    CHECK(strstr(help, "status:\"USAGE <key> [SAMPLES <count>]\"") != NULL);
    CHECK(strstr(help, "status:\"DOCTOR\"") != NULL);
    /* A longer value uses more memory. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_STR(cmd(L, "SET big %s", big), "status:\"OK\"");
    long long small_sz = 0, big_sz = 0;
    sscanf(cmd(L, "MEMORY USAGE s"), "int:%lld", &small_sz);
    sscanf(cmd(L, "MEMORY USAGE big"), "int:%lld", &big_sz);
    CHECK(small_sz > 5);
    CHECK(big_sz >= 2000 && big_sz > small_sz);
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
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

/* Inside MULTI/EXEC, KEYS runs under the transaction's whole-database lock
 * and sees the transaction's own writes (outside, it reads an MVCC view:
 * test_keys_concurrency). Not in the concurrency file: ThreadSanitizer's
 * deadlock detector cannot track a thread holding a whole database's
 * shard locks. */
TEST(keys_inside_exec) {
    harness_server *srv = harness_start(NULL);
    REQUIRE(srv);
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET a 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET b 2"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(c, "KEYS b"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(c, "DEL a"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(c, "KEYS a"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(c, "EXEC"), "array[status:\"OK\",array[bulk:\"b\"],int:1,array[]]");
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
    RUN(keys_inside_exec);
    return testlib_finish();
}
