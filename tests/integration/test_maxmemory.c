/*
 * Cache mode (issue #15): maxmemory, maxmemory-policy and the eviction
 * directives with Redis's syntax and errors, deny-oom commands refused
 * with Redis's exact OOM error while reads and deletes go on, eviction
 * keeping memory near the limit under every policy (volatile-* only ever
 * evicting keys with a TTL), evicted keys logged as DELs in the WAL,
 * OBJECT FREQ / IDLETIME by policy, INFO fields. Compared with a real
 * redis-server where the behaviour is observable the same way.
 *
 * No timing assertions: waits are bounded polls.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM "err:\"OOM command not allowed when used memory > 'maxmemory'.\""

/* Used memory that counts against maxmemory (INFO used_memory minus
 * mem_not_counted_for_evict). */
static long long counted(redisContext *c) {
    long long used = harness_info_num(c, "memory", "used_memory");
    long long out = harness_info_num(c, "memory", "mem_not_counted_for_evict");
    return used - (out > 0 ? out : 0);
}

/* SETs prefix<i> (i in [first, first+n)) to a value of vlen bytes, with a
 * TTL when ttl > 0, pipelined in batches (a batch's replies are read
 * before the next is sent: the server stops reading a client that does
 * not read). Returns how many were refused with OOM, -1 on a connection
 * error. */
static int fill(redisContext *c, const char *prefix, int first, int n, int vlen, int ttl) {
    enum { BATCH = 2000 };
    char *val = malloc((size_t)vlen + 1);
    memset(val, 'v', (size_t)vlen);
    val[vlen] = 0;
    int oom = 0;
    for (int b = first; b < first + n; b += BATCH) {
        int k = first + n - b < BATCH ? first + n - b : BATCH;
        for (int i = b; i < b + k; i++) {
            if (ttl > 0) redisAppendCommand(c, "SET %s%d %s EX %d", prefix, i, val, ttl);
            else redisAppendCommand(c, "SET %s%d %s", prefix, i, val);
        }
        for (int i = 0; i < k; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                free(val);
                return -1;
            }
            if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "OOM", 3)) oom++;
            freeReplyObject(r);
        }
    }
    free(val);
    return oom;
}

/* GETs prefix0..prefix<n-1> (an access: LRU/LFU see it); how many exist. */
static long long read_count(redisContext *c, const char *prefix, int n) {
    long long found = 0;
    for (int i = 0; i < n; i++) redisAppendCommand(c, "GET %s%d", prefix, i);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return -1;
        found += r->type == REDIS_REPLY_STRING;
        freeReplyObject(r);
    }
    return found;
}

static long long exists_count(redisContext *c, const char *prefix, int n) {
    long long found = 0;
    for (int i = 0; i < n; i++) redisAppendCommand(c, "EXISTS %s%d", prefix, i);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return -1;
        found += r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
    }
    return found;
}

TEST(directives_are_redis_s) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"maxmemory\",bulk:\"0\"]", "CONFIG", "GET", "maxmemory");
    EXPECT("array[bulk:\"maxmemory-policy\",bulk:\"noeviction\"]", "CONFIG", "GET",
           "maxmemory-policy");
    EXPECT("array[bulk:\"maxmemory-samples\",bulk:\"5\"]", "CONFIG", "GET", "maxmemory-samples");
    EXPECT("array[bulk:\"maxmemory-eviction-tenacity\",bulk:\"10\"]", "CONFIG", "GET",
           "maxmemory-eviction-tenacity");
    EXPECT("array[bulk:\"lfu-log-factor\",bulk:\"10\"]", "CONFIG", "GET", "lfu-log-factor");
    EXPECT("array[bulk:\"lfu-decay-time\",bulk:\"1\"]", "CONFIG", "GET", "lfu-decay-time");
    const char *policies[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                              "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction"};
    for (size_t i = 0; i < NELEM(policies); i++) {
        EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-policy", policies[i]);
        C("CONFIG", "GET", "maxmemory-policy");
    }
    C("CONFIG", "SET", "maxmemory-policy", "lru");
    C("CONFIG", "SET", "maxmemory", "-1");
    C("CONFIG", "SET", "maxmemory", "64mb");
    C("CONFIG", "GET", "maxmemory");
    C("CONFIG", "SET", "maxmemory-samples", "0");
    C("CONFIG", "SET", "maxmemory-samples", "x");
    C("CONFIG", "SET", "maxmemory-samples", "64");
    C("CONFIG", "SET", "maxmemory-eviction-tenacity", "101");
    C("CONFIG", "SET", "maxmemory-eviction-tenacity", "100");
    C("CONFIG", "SET", "lfu-log-factor", "-1");
    C("CONFIG", "SET", "lfu-decay-time", "-1");
    C("CONFIG", "SET", "lfu-decay-time", "0");
    CU("CONFIG", "GET", "maxmemory*");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
}

TEST(info_fields_follow_the_configuration) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "64mb", "maxmemory-policy",
           "allkeys-lfu");
    redisContext *cs[2] = {L, R};
    char lv[3][64], rv[3][64];
    const char *fields[3] = {"maxmemory", "maxmemory_human", "maxmemory_policy"};
    for (int f = 0; f < 3; f++) {
        CHECK(harness_info(cs[0], "memory", fields[f], lv[f], sizeof(lv[f])));
        if (R) {
            CHECK(harness_info(cs[1], "memory", fields[f], rv[f], sizeof(rv[f])));
            CHECK_EQ_STR(lv[f], rv[f]);
        }
    }
    CHECK_EQ_STR(lv[0], "67108864");
    CHECK_EQ_STR(lv[2], "allkeys-lfu");
    CHECK(harness_info_num(L, "memory", "mem_not_counted_for_evict") >= 0);
    CHECK_EQ_INT(harness_info_num(L, "stats", "evicted_keys"), 0);
}

/* noeviction (and any policy with nothing to evict): deny-oom commands get
 * Redis's exact error, in MULTI too; reads, deletes and other commands
 * without deny-oom go on. */
TEST(oom_refuses_deny_oom_commands_only) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("int:1", "RPUSH", "l", "a");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "1");
    EXPECT(OOM, "SET", "k2", "v");
    EXPECT(OOM, "RPUSH", "l", "b");
    EXPECT(OOM, "APPEND", "k", "x");
    EXPECT("bulk:\"v\"", "GET", "k");
    EXPECT("int:1", "EXISTS", "k");
    EXPECT("bulk:\"a\"", "LPOP", "l"); /* a write without deny-oom */
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT(OOM, "SET", "k3", "v");
    EXPECT(OOM, "GET", "k"); /* queueing takes memory too */
    EXPECT("err:\"EXECABORT Transaction discarded because of previous errors.\"", "EXEC");
    EXPECT("int:1", "DEL", "k");
    EXPECT("int:0", "DBSIZE");
    /* Every policy refuses when nothing can be evicted. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    EXPECT(OOM, "SET", "k", "v");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
    EXPECT("status:\"OK\"", "SET", "k", "v");
    CHECK(harness_info_num(L, "stats", "total_error_replies") >= 5);
}

/* A cache over its limit: allkeys-lru keeps the used memory near maxmemory
 * while writes go on, evicts the keys idle longest (not the ones read
 * meanwhile), and logs every eviction as a DEL in the WAL (after a crash
 * the same keys are there). The LRU clock counts seconds (as Redis's): the
 * old keys are left idle 2 s before the cache fills. */
TEST(allkeys_lru_holds_the_limit_and_the_hot_keys) {
    harness_server *s = harness_start("save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    long long base = counted(c);
    REQUIRE(base > 0);
    CHECK_EQ_INT(fill(c, "old:", 0, 40000, 200, 0), 0);
    CHECK_EQ_INT(fill(c, "hot:", 0, 1000, 100, 0), 0);
    long long limit = base + 16 * 1024 * 1024;
    REQUIRE(counted(c) < limit);
    char arg[32];
    snprintf(arg, sizeof(arg), "%lld", limit);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory %s maxmemory-policy allkeys-lru", arg),
                 "status:\"OK\"");
    harness_sleep_ms(2100);
    long long max_seen = 0;
    for (int round = 0; round < 10; round++) {
        /* Read the hot keys (they become the most recent): nearly all
         * there — the LRU clock counts seconds, so a hot key read in the
         * second new keys are written is as idle as they are, and sampling
         * may take it, as in Redis. (EXISTS would not do: like Redis, it
         * does not touch.) */
        CHECK(read_count(c, "hot:", 1000) >= 980);
        CHECK_EQ_INT(fill(c, "new:", round * 5000, 5000, 200, 0), 0);
        long long m = counted(c);
        if (m > max_seen) max_seen = m;
    }
    /* No limit from here: the ticks stop evicting, counts hold still. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 0"), "status:\"OK\"");
    long long evicted = harness_info_num(c, "stats", "evicted_keys");
    CHECK(evicted > 20000);
    CHECK(max_seen <= limit + limit / 20);
    /* Approximated LRU (sampled, as Redis's): nearly all evictions are of
     * the old keys; the hot keys stay (a few read in the same second as
     * new keys were written may go, as in Redis). */
    long long hot_left = exists_count(c, "hot:", 1000);
    long long old_left = exists_count(c, "old:", 40000);
    long long new_left = exists_count(c, "new:", 50000);
    CHECK(hot_left >= 980);
    CHECK_EQ_INT(old_left + new_left + hot_left, 91000 - evicted);
    CHECK(40000 - old_left >= evicted * 95 / 100);
    redisReply *r = redisCommand(c, "DBSIZE");
    REQUIRE(r && r->type == REDIS_REPLY_INTEGER);
    long long dbsize = r->integer;
    freeReplyObject(r);
    CHECK_EQ_INT(dbsize, 91000 - evicted);
    /* The WAL has the evictions: after a crash, the same keys. */
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    char want[32];
    snprintf(want, sizeof(want), "int:%lld", dbsize);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), want);
}

/* volatile-* evict only keys with a TTL; with none left, writes get OOM. */
TEST(volatile_policies_spare_keys_without_ttl) {
    const char *policies[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"};
    for (size_t p = 0; p < NELEM(policies); p++) {
        harness_server *s = harness_start("save", "", "appendonly", "no", NULL);
        REQUIRE(s);
        redisContext *c = harness_connect(s);
        REQUIRE(c);
        long long limit = counted(c) + 16 * 1024 * 1024;
        char arg[32];
        snprintf(arg, sizeof(arg), "%lld", limit);
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory %s maxmemory-policy %s", arg, policies[p]),
                     "status:\"OK\"");
        CHECK_EQ_INT(fill(c, "keep:", 0, 2000, 100, 0), 0);
        int oom = fill(c, "ttl:", 0, 60000, 200, 1000 + (int)p);
        if (oom != 0)
            testlib_fail(__FILE__, __LINE__, "%s: %d writes refused with keys to evict",
                         policies[p], oom);
        CHECK(harness_info_num(c, "stats", "evicted_keys") > 0);
        CHECK_EQ_INT(exists_count(c, "keep:", 2000), 2000);
        /* Only keys without a TTL: nothing evictable once over. */
        oom = fill(c, "more:", 0, 200000, 200, 0);
        CHECK(oom > 0);
        CHECK_EQ_INT(exists_count(c, "keep:", 2000), 2000);
        CHECK_EQ_STR(cmd(c, "GET keep:1"), "bulk:\"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
                                           "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\"");
        harness_stop(s);
    }
}

/* CONFIG SET maxmemory below the memory in use: eviction brings it down
 * on its own (the ticks), in bounded steps, while the server answers. */
TEST(shrinking_maxmemory_evicts_down) {
    harness_server *s = harness_start("save", "", "appendonly", "no", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    long long base = counted(c);
    CHECK_EQ_INT(fill(c, "k:", 0, 100000, 200, 0), 0);
    long long limit = base + 4 * 1024 * 1024;
    char arg[32];
    snprintf(arg, sizeof(arg), "%lld", limit);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-policy allkeys-random"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory %s", arg), "status:\"OK\"");
    int under = 0;
    for (int i = 0; i < 2000 && !under; i++) { /* hang detection only */
        CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
        under = counted(c) <= limit + limit / 20;
        if (!under) harness_sleep_ms(10);
    }
    CHECK(under);
    CHECK(harness_info_num(c, "stats", "evicted_keys") > 50000);
    CHECK(harness_info_num(c, "stats", "evicted_keys") < 100000);
}

/* OBJECT FREQ answers under LFU policies (and IDLETIME does not), like
 * Redis: a new key starts at 5, one read makes it 6. */
TEST(object_freq_and_idletime_by_policy) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("int:0", "OBJECT", "IDLETIME", "k");
    C("OBJECT", "FREQ", "k");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
    EXPECT("status:\"OK\"", "SET", "f", "v");
    EXPECT("int:5", "OBJECT", "FREQ", "f");
    EXPECT("bulk:\"v\"", "GET", "f");
    EXPECT("int:6", "OBJECT", "FREQ", "f");
    C("OBJECT", "IDLETIME", "f");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-policy", "volatile-lfu");
    EXPECT("int:6", "OBJECT", "FREQ", "f");
    EXPECT("nil", "OBJECT", "FREQ", "nokey");
}

/* EXEC of a transaction queued before memory ran out: refused as a
 * deny-oom command would be (EXECABORT with the OOM reason), as in Redis. */
TEST(exec_refused_when_queued_writes_meet_oom) {
    REQUIRE(difftest_start(NULL));
    redisContext *l2 = harness_connect(LS), *r2 = harness_connect(RS);
    REQUIRE(l2);
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "SET", "a", "b");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "1"), "status:\"OK\"");
    EXPECT("err:\"EXECABORT Transaction discarded because of: OOM command not allowed when "
           "used memory > 'maxmemory'.\"",
           "EXEC");
    EXPECT("int:0", "EXISTS", "a");
    /* A read-only transaction still runs. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "GET", "a");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "1"), "status:\"OK\"");
    EXPECT("array[nil]", "EXEC");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
}

/* A BGSAVE while eviction runs hard finishes, and its file is the point in
 * time of the BGSAVE: every key of then (evicted or not since) with its
 * value, nothing written after. */
TEST(bgsave_during_eviction_is_consistent) {
    harness_server *s = harness_start("save", "", "appendonly", "no", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s), *w = harness_connect(s);
    REQUIRE(c && w);
    long long limit = counted(c) + 8 * 1024 * 1024;
    char arg[32];
    snprintf(arg, sizeof(arg), "%lld", limit);
    CHECK_EQ_INT(fill(c, "k:", 0, 20000, 200, 0), 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory %s maxmemory-policy allkeys-random", arg),
                 "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET rdb-key-save-delay 20"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "BGSAVE"), "status:\"Background saving started\"");
    CHECK_EQ_INT(fill(w, "k:", 20000, 60000, 200, 0), 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET rdb-key-save-delay 0"), "status:\"OK\"");
    int idle = 0;
    for (int i = 0; i < 2000 && !idle; i++) { /* hang detection only */
        idle = harness_info_num(c, "persistence", "rdb_bgsave_in_progress") == 0;
        if (!idle) harness_sleep_ms(10);
    }
    REQUIRE(idle);
    char ok[8];
    CHECK(harness_info(c, "persistence", "rdb_last_bgsave_status", ok, sizeof(ok)));
    CHECK_EQ_STR(ok, "ok");
    CHECK(harness_info_num(c, "stats", "evicted_keys") > 0);
    /* One point in time: the 20000 keys of when BGSAVE began, evicted or
     * not since. */
    long long saved = harness_info_num(c, "persistence", "snapshot_keys");
    CHECK_EQ_INT(saved, 20000);
    /* The file alone, loaded by a restart without a WAL. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 0"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    char want[32];
    snprintf(want, sizeof(want), "int:%lld", saved);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), want);
    long long good = 0;
    for (int i = 0; i < 20000; i++) redisAppendCommand(c, "STRLEN k:%d", i);
    for (int i = 0; i < 20000; i++) {
        redisReply *r = NULL;
        REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK && r);
        good += r->type == REDIS_REPLY_INTEGER && r->integer == 200;
        freeReplyObject(r);
    }
    CHECK_EQ_INT(good, saved);
}

/* A WATCHed key that eviction deletes makes EXEC fail, as Redis's evicted
 * (touched) key does. */
TEST(evicted_watched_key_fails_exec) {
    REQUIRE(difftest_start(NULL));
    redisContext *l2 = harness_connect(LS), *r2 = harness_connect(RS);
    REQUIRE(l2);
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("status:\"OK\"", "WATCH", "k");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory-policy", "allkeys-random"),
                 "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "1"), "status:\"OK\"");
    /* Lightning evicts before the next command (Redis already in CONFIG SET). */
    CHECK_EQ_STR(COMPARE(l2, r2, "GET", "other"), "nil");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "0"), "status:\"OK\"");
    EXPECT("int:0", "EXISTS", "k");
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "GET", "k");
    EXPECT("nil", "EXEC");
    /* Eviction of another key leaves a WATCH alone. */
    EXPECT("status:\"OK\"", "SET", "k", "v");
    EXPECT("status:\"OK\"", "WATCH", "k");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory-policy", "volatile-random"),
                 "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(l2, r2, "SET", "t", "1", "EX", "100"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "1"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(l2, r2, "GET", "other"), "nil");
    CHECK_EQ_STR(COMPARE(l2, r2, "CONFIG", "SET", "maxmemory", "0"), "status:\"OK\"");
    EXPECT("int:0", "EXISTS", "t");
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "GET", "k");
    EXPECT("array[bulk:\"v\"]", "EXEC");
}

/* Keys of a database from INFO keyspace (0 when it is empty). */
static long long db_keys(redisContext *c, const char *db) {
    char v[128] = "";
    if (!harness_info(c, "keyspace", db, v, sizeof(v))) return 0;
    long long n = -1;
    sscanf(v, "keys=%lld", &n);
    return n;
}

/* An eviction whose DEL the WAL cannot take (its buffer full while the
 * disk fails) does not happen: the key stays until the DEL can be logged,
 * so a replay never brings back a key that was gone. */
TEST(eviction_waits_for_wal_room) {
    harness_server *s = harness_start("appendfsync", "always", "enable-debug-command", "yes",
                                      "save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s), *a = harness_connect(s);
    REQUIRE(c && a);
    /* Long key names: 120000 DELs are ~30 MB of records, more than the
     * WAL buffer holds while nothing can be written. */
    enum { N = 120000 };
    /* The keys in db 9: under always a read of a shard whose last write
     * is not durable waits, and "during" (db 0) will not be for a while. */
    CHECK_EQ_STR(cmd(c, "SELECT 9"), "status:\"OK\"");
    char name[256];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    for (int b = 0; b < N; b += 2000) {
        for (int i = b; i < b + 2000; i++) redisAppendCommand(c, "SET %s%d 1", name, i);
        for (int i = b; i < b + 2000; i++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK && r);
            freeReplyObject(r);
        }
    }
    CHECK_EQ_STR(cmd(c, "DEBUG WAL-FAIL write"), "status:\"OK\"");
    /* A write meets the failing disk (its reply waits under always). */
    redisAppendCommand(a, "SET during 1");
    REQUIRE(redisBufferWrite(a, &(int){0}) == REDIS_OK);
    char v[16] = "";
    for (int i = 0; i < 500; i++) { /* hang detection only */
        if (harness_info(c, "persistence", "aof_last_write_status", v, sizeof(v)) &&
            !strcmp(v, "err"))
            break;
        harness_sleep_ms(10);
    }
    CHECK_EQ_STR(v, "err");
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-policy allkeys-random"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 1"), "status:\"OK\"");
    /* Eviction runs (ticks, commands) until the WAL buffer is full, then
     * stops: keys are left, and deny-oom commands get -OOM. */
    long long evicted = -1, prev = -2;
    for (int i = 0; i < 500 && evicted != prev; i++) { /* until it settles */
        prev = evicted;
        harness_sleep_ms(50);
        evicted = harness_info_num(c, "stats", "evicted_keys");
    }
    CHECK(evicted > 0);
    CHECK(evicted < N);
    /* (INFO: under always DBSIZE would wait for the DELs' durability.) */
    long long left = db_keys(c, "db9");
    CHECK_EQ_INT(left + db_keys(c, "db0") + evicted, N + 1); /* + "during" */
    CHECK_EQ_STR(cmd(c, "DEBUG WAL-FAIL none"), "status:\"OK\"");
    redisReply *r = NULL;
    REQUIRE(redisGetReply(a, (void **)&r) == REDIS_OK && r);
    freeReplyObject(r);
    /* The log has room again: eviction goes on to the end. */
    for (int i = 0; i < 1000 && left > 0; i++) { /* hang detection only */
        harness_sleep_ms(10);
        left = db_keys(c, "db9");
    }
    CHECK_EQ_INT(left, 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 0"), "status:\"OK\""); 
    /* Durable under always once its reply came: every DEL before it too. */
    CHECK_EQ_STR(cmd(c, "SET last 1"), "status:\"OK\"");
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    /* No key came back. */
    CHECK_EQ_STR(cmd(c, "SELECT 9"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:1");
    CHECK_EQ_STR(cmd(c, "EXISTS last"), "int:1");
}

/* lazyfree-lazy-eviction yes: evicted big values are freed by the
 * lazy-free thread (INFO lazyfreed_objects counts them); no: inline. */
TEST(lazyfree_lazy_eviction) {
    for (int lazy = 0; lazy < 2; lazy++) {
        harness_server *s = harness_start("lazyfree-lazy-eviction", lazy ? "yes" : "no", NULL);
        REQUIRE(s);
        redisContext *c = harness_connect(s);
        REQUIRE(c);
        for (int k = 0; k < 20; k++) {
            for (int i = 0; i < 200; i++) redisAppendCommand(c, "SADD big%d m%d", k, i);
            for (int i = 0; i < 200; i++) {
                redisReply *r = NULL;
                REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK && r);
                freeReplyObject(r);
            }
        }
        CHECK_EQ_STR(cmd(c, "CONFIG GET lazyfree-lazy-eviction"),
                     lazy ? "array[bulk:\"lazyfree-lazy-eviction\",bulk:\"yes\"]"
                          : "array[bulk:\"lazyfree-lazy-eviction\",bulk:\"no\"]");
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-policy allkeys-lru"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 1"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "GET x"), "nil");
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 0"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:0");
        CHECK_EQ_INT(harness_info_num(c, "stats", "evicted_keys"), 20);
        long long freed = -1;
        for (int i = 0; i < 400; i++) { /* hang detection only */
            freed = harness_info_num(c, "memory", "lazyfreed_objects");
            if (!lazy || freed == 20) break;
            harness_sleep_ms(10);
        }
        CHECK_EQ_INT(freed, lazy ? 20 : 0);
        harness_stop(s);
    }
}

/* Versions a BGSAVE still reads are in the used memory, and eviction keeps
 * that under the limit meanwhile (evicting more keys: a kept version frees
 * nothing until the snapshot has passed it). */
TEST(bgsave_pinned_versions_within_limit) {
    harness_server *s = harness_start("save", "", "appendonly", "no", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s), *w = harness_connect(s);
    REQUIRE(c && w);
    CHECK_EQ_INT(fill(c, "k:", 0, 40000, 200, 0), 0);
    long long limit = counted(c) + 4 * 1024 * 1024;
    char arg[32];
    snprintf(arg, sizeof(arg), "%lld", limit);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory %s maxmemory-policy allkeys-lru", arg),
                 "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET rdb-key-save-delay 20"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "BGSAVE"), "status:\"Background saving started\"");
    long long worst = 0;
    int during = 0;
    for (int b = 40000; b < 200000; b += 4000) {
        CHECK_EQ_INT(fill(w, "k:", b, 4000, 200, 0), 0);
        long long used = counted(c);
        if (used > worst) worst = used;
        during += harness_info_num(c, "persistence", "rdb_bgsave_in_progress") == 1;
    }
    CHECK(during > 0); /* the writes met the snapshot */
    CHECK_EQ_STR(cmd(c, "CONFIG SET rdb-key-save-delay 0"), "status:\"OK\"");
    int idle = 0;
    for (int i = 0; i < 2000 && !idle; i++) { /* hang detection only */
        idle = harness_info_num(c, "persistence", "rdb_bgsave_in_progress") == 0;
        if (!idle) harness_sleep_ms(10);
    }
    REQUIRE(idle);
    char ok[8];
    CHECK(harness_info(c, "persistence", "rdb_last_bgsave_status", ok, sizeof(ok)));
    CHECK_EQ_STR(ok, "ok");
    CHECK_EQ_INT(harness_info_num(c, "persistence", "snapshot_keys"), 40000);
    if (worst > limit + limit / 20)
        fprintf(stderr, "# used %lld over the limit %lld\n", worst, limit);
    CHECK(worst <= limit + limit / 20);
    CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 0"), "status:\"OK\"");
}

int main(void) {
    RUN(directives_are_redis_s);
    RUN(info_fields_follow_the_configuration);
    RUN(oom_refuses_deny_oom_commands_only);
    RUN(allkeys_lru_holds_the_limit_and_the_hot_keys);
    RUN(volatile_policies_spare_keys_without_ttl);
    RUN(shrinking_maxmemory_evicts_down);
    RUN(object_freq_and_idletime_by_policy);
    RUN(exec_refused_when_queued_writes_meet_oom);
    RUN(bgsave_during_eviction_is_consistent);
    RUN(evicted_watched_key_fails_exec);
    RUN(eviction_waits_for_wal_room);
    RUN(lazyfree_lazy_eviction);
    RUN(bgsave_pinned_versions_within_limit);
    return testlib_finish();
}
