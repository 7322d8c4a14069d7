/*
 * Lazy free: UNLINK, FLUSHALL/FLUSHDB ASYNC and the lazyfree-lazy-*
 * directives, differential against a real redis-server 7.0: the replies
 * and data, and INFO's lazyfreed_objects, which counts what went to the
 * background thread — only values of more than 64 allocations (Redis's
 * rule), one per value, one per key of a flushed database — and
 * lazyfree_pending_objects, back to 0 once the thread is done (streams
 * included; CONFIG RESETSTAT zeroes the count). Counters
 * settle asynchronously: each check waits (bounded) for the expected value.
 */
#include "../difftest.h"

#include <stdio.h>

/* Waits up to ~4 s for INFO memory lazyfreed_objects == want on c. */
static long long wait_freed(redisContext *c, long long want) {
    long long v = -1;
    for (int i = 0; i < 200; i++) {
        v = harness_info_num(c, "memory", "lazyfreed_objects");
        if (v == want) break;
        harness_sleep_ms(20);
    }
    return v;
}

static void check_freed(long long want) {
    CHECK_EQ_INT(wait_freed(L, want), want);
    if (R) CHECK_EQ_INT(wait_freed(R, want), want);
    CHECK_EQ_INT(harness_info_num(L, "memory", "lazyfree_pending_objects"), 0);
}

static const char *num_key(int i) {
    static char buf[8][16];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, 16, "key:%d", i);
    return b;
}

/* A hashtable-encoded hash of n fields, on both servers. */
static void big_hash(const char *key, int n) {
    for (int i = 0; i < n; i += 100) {
        const char *argv[203] = {"HSET", key};
        char f[100][16];
        int k = 2;
        for (int j = i; j < i + 100 && j < n; j++) {
            snprintf(f[j - i], sizeof f[j - i], "f%d", j);
            argv[k++] = f[j - i];
            argv[k++] = f[j - i];
        }
        argv[k] = NULL;
        harness_compare(__FILE__, __LINE__, L, R, 0, argv);
    }
}

TEST(directives) {
    REQUIRE(difftest_start(NULL));
    CU("CONFIG", "GET", "lazyfree-*");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "lazyfree-lazy-user-del", "yes",
           "lazyfree-lazy-expire", "yes");
    CU("CONFIG", "GET", "lazyfree-*");
    C("CONFIG", "SET", "lazyfree-lazy-user-flush", "maybe");
    C("INFO", "nosuch");
}

TEST(unlink_and_del) {
    REQUIRE(difftest_start(NULL));
    big_hash("h1", 1000);
    EXPECT("bulk:\"hashtable\"", "OBJECT", "ENCODING", "h1");
    C("HSET", "small", "a", "1");
    EXPECT("int:2", "UNLINK", "h1", "small");
    EXPECT("int:0", "EXISTS", "h1");
    check_freed(1); /* the small one is freed inline */
    big_hash("h2", 1000);
    EXPECT("int:1", "DEL", "h2"); /* DEL frees inline by default */
    check_freed(1);
    EXPECT("status:\"OK\"", "CONFIG", "SET", "lazyfree-lazy-user-del", "yes");
    big_hash("h3", 1000);
    EXPECT("int:1", "DEL", "h3");
    check_freed(2);
    /* Sets and sorted sets of many members, lists of many nodes. */
    for (int i = 0; i < 300; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        C("SADD", "s", m);
        C("ZADD", "z", "1", m);
    }
    for (int i = 0; i < 700; i++) { /* about 88 nodes of 8 KiB */
        static char big[1000];
        memset(big, 'x', sizeof big - 1);
        C("RPUSH", "l", big);
    }
    EXPECT("int:3", "UNLINK", "s", "z", "l");
    check_freed(5);
    /* Overwriting follows lazyfree-lazy-server-del. */
    big_hash("h4", 1000);
    C("SET", "h4", "now a string");
    check_freed(5);
    EXPECT("status:\"OK\"", "CONFIG", "SET", "lazyfree-lazy-server-del", "yes");
    big_hash("h5", 1000);
    C("SET", "h5", "now a string");
    check_freed(6);
    C("GET", "h5");
    /* Streams: one allocation per node, per group and per pending entry of
     * the first group; CONFIG RESETSTAT starts the count again. */
    EXPECT("status:\"OK\"", "CONFIG", "RESETSTAT");
    check_freed(0);
    C("CONFIG", "SET", "stream-node-max-entries", "5");
    for (int i = 1; i <= 400; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d-1", i);
        C("XADD", "st", id, "f", "v");
        if (i <= 60) C("XADD", "st2", id, "f", "v");
        if (i <= 60) C("XADD", "st3", id, "f", "v");
    }
    C("XGROUP", "CREATE", "st2", "g", "0");
    /* st: 80 nodes; st2: 12 nodes + 1 group with 60 pending (73 > 64);
     * st3: 12 nodes, freed inline. */
    C("XREADGROUP", "GROUP", "g", "c", "COUNT", "60", "STREAMS", "st2", ">");
    EXPECT("int:3", "UNLINK", "st", "st2", "st3");
    check_freed(2);
}

TEST(flush_async) {
    REQUIRE(difftest_start(NULL));
    for (int i = 0; i < 500; i++) C("SET", num_key(i), "v");
    C("SELECT", "3");
    C("SET", "other", "v");
    C("SELECT", "0");
    EXPECT("status:\"OK\"", "FLUSHDB", "ASYNC");
    EXPECT("int:0", "DBSIZE");
    check_freed(500);
    EXPECT("status:\"OK\"", "FLUSHALL", "SYNC");
    check_freed(500);
    for (int i = 0; i < 100; i++) C("SET", num_key(i), "v");
    EXPECT("status:\"OK\"", "FLUSHALL", "ASYNC");
    check_freed(600);
    EXPECT("status:\"OK\"", "CONFIG", "SET", "lazyfree-lazy-user-flush", "yes");
    for (int i = 0; i < 50; i++) C("SET", num_key(i), "v");
    EXPECT("status:\"OK\"", "FLUSHALL");
    check_freed(650);
    for (int i = 0; i < 50; i++) C("SET", num_key(i), "v");
    EXPECT("status:\"OK\"", "FLUSHDB", "SYNC");
    check_freed(650);
    EXPECT("status:\"OK\"", "FLUSHALL", "ASYNC"); /* empty: nothing queued */
    check_freed(650);
    C("FLUSHALL", "LAZY");
    C("DBSIZE");
}

/* Lazy expire: an expired big value goes to the thread. */
TEST(lazy_expire) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "lazyfree-lazy-expire", "yes");
    big_hash("h", 1000);
    EXPECT("int:1", "PEXPIRE", "h", "1");
    harness_sleep_ms(20);
    EXPECT("int:0", "EXISTS", "h");
    check_freed(1);
}

int main(void) {
    RUN(directives);
    RUN(unlink_and_del);
    RUN(flush_async);
    RUN(lazy_expire);
    return testlib_finish();
}
