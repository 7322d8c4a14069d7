/*
 * DEBUG and MODULE, differential against a real redis-server 7.0 where the
 * replies are deterministic: the enable-debug-command / enable-module-command
 * refusals, DEBUG DIGEST and DIGEST-VALUE (the same digests for the same
 * data: every type and encoding, TTLs, several databases, a random
 * dataset), DEBUG PROTOCOL in RESP2 and RESP3, DEBUG RELOAD's re-chosen
 * encodings, QUICKLIST-PACKED-THRESHOLD's plain nodes, LISTPACK/QUICKLIST,
 * ERROR, the errors of bad subcommands; then Lightning alone where the
 * effect is internal (SET-ACTIVE-EXPIRE, CHANGE-REPL-ID, LOG, SEGFAULT,
 * RELOAD's options, DEBUG OBJECT's fields).
 */
#include "../difftest.h"

#include <fnmatch.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>

#define DENIED                                                                               \
    "err:\"ERR DEBUG command not allowed. If the enable-debug-command option is set to "      \
    "\\\"local\\\", you can run it from a local connection, otherwise you need to set this " \
    "option in the configuration file, and then restart the server.\""

static const char *num(int slot, long long v) {
    static char buf[8][32];
    snprintf(buf[slot], sizeof buf[slot], "%lld", v);
    return buf[slot];
}

/* The "name:value" field of a DEBUG OBJECT reply, as "name:value". */
static const char *field_of(const char *reply, const char *name, char *out, size_t cap) {
    const char *p = strstr(reply, name);
    size_t n = 0;
    if (p)
        while (p[n] && p[n] != ' ' && p[n] != '"' && n + 1 < cap) n++;
    if (p) memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

TEST(refused_by_default) {
    REQUIRE(difftest_start(NULL));
    EXPECT(DENIED, "DEBUG", "HELP");
    EXPECT(DENIED, "DEBUG", "DIGEST");
    EXPECT(DENIED, "debug", "nosuch");
    EXPECT("err:\"ERR wrong number of arguments for 'debug' command\"", "DEBUG");
    C("MULTI");
    C("DEBUG", "DIGEST");
    C("EXEC");
    /* MODULE: LIST and HELP are always allowed; loading is protected. */
    EXPECT("array[]", "MODULE", "LIST");
    C("MODULE", "LOAD", "/tmp/nonexistent-module.so");
    C("MODULE", "LOADEX", "/tmp/nonexistent-module.so", "CONFIG", "a", "b");
    C("MODULE", "UNLOAD", "foo");
    C("MODULE", "nosuch");
    C("MODULE");
    C("MODULE", "LIST", "extra");
    CHECK_HELP(L, "MODULE");
    C("CONFIG", "GET", "enable-debug-command");
    C("CONFIG", "SET", "enable-debug-command", "yes");
}

TEST(local_allows_loopback) {
    REQUIRE(difftest_start("enable-debug-command", "local", "enable-module-command", "local",
                           NULL));
    EXPECT("status:\"0000000000000000000000000000000000000000\"", "DEBUG", "DIGEST");
    C("MODULE", "UNLOAD", "foo");
    CU("CONFIG", "GET", "enable-*-command");
    /* SEGFAULT needs "yes": Lightning refuses it here, and stays up. */
    CHECK_EQ_STR(cmd(L, "DEBUG SEGFAULT"),
                 "err:\"ERR DEBUG SEGFAULT needs enable-debug-command yes\"");
    CHECK_EQ_STR(cmd(L, "PING"), "status:\"PONG\"");
}

/* The same dataset on both servers gives the same digests. */
TEST(digest_matches_redis) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    EXPECT("status:\"0000000000000000000000000000000000000000\"", "DEBUG", "DIGEST");
    C("SET", "s", "hello");
    C("SET", "i", "12345");
    C("SET", "neg", "-7");
    C("SET", "big", "123456789012345678901234567890");
    C("SET", "ttl", "v", "EX", "1000");
    C("RPUSH", "l", "a", "1", "-2", "bb", "99999999999");
    C("SADD", "si", "1", "2", "3", "-100");
    C("SADD", "ss", "a", "b", "1");
    C("HSET", "h", "f", "v", "1", "2", "x", "-0");
    C("ZADD", "z", "1.5", "a", "2", "b", "0.1", "c", "-3e-5", "d", "1e300", "e", "inf", "f",
      "-inf", "g", "3", "12");
    C("PEXPIRE", "z", "100000");
    for (int i = 0; i < 600; i++) {
        C("HSET", "hbig", num(0, i), num(1, i * 3));
        C("SADD", "sbig", num(0, i * 7));
        C("ZADD", "zbig", num(0, i % 17), num(1, i));
    }
    C("OBJECT", "ENCODING", "hbig");
    C("SELECT", "5");
    C("SET", "s", "in db 5");
    C("RPUSH", "l5", "x");
    C("SELECT", "0");
    C("DEBUG", "DIGEST");
    C("DEBUG", "DIGEST-VALUE", "s", "i", "neg", "big", "ttl", "l", "si", "ss", "h", "z", "hbig",
      "sbig", "zbig", "missing");
    C("DEBUG", "DIGEST-VALUE");
    /* Same data in another order, another encoding history: same digest. */
    C("DEL", "h");
    C("HSET", "h", "x", "-0", "1", "2", "f", "v");
    C("DEBUG", "DIGEST");
    C("PERSIST", "ttl");
    C("DEBUG", "DIGEST-VALUE", "ttl");
    C("DEBUG", "DIGEST");
    C("MULTI");
    C("DEBUG", "DIGEST-VALUE", "l");
    C("EXEC");
    C("FLUSHALL");
    C("DEBUG", "DIGEST");
}

TEST(digest_random_dataset) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    unsigned seed = difftest_seed(4242);
    for (int step = 0; step < 3000; step++) {
        char key[16], m[32];
        snprintf(key, sizeof key, "k%d", rand() % 40);
        if (rand() % 3) snprintf(m, sizeof m, "%d", rand() % 1000 - 500);
        else snprintf(m, sizeof m, "m%d", rand() % 100);
        const char *r = NULL;
        switch (rand() % 8) {
        case 0: r = C("SET", key, m); break;
        case 1: r = C("RPUSH", key, m); break;
        case 2: r = C("SADD", key, m); break;
        case 3: r = C("HSET", key, m, key); break;
        case 4: r = C("ZADD", key, num(0, rand() % 50), m); break;
        case 5: r = C("ZINCRBY", key, "0.25", m); break;
        case 6: r = C("DEL", key); break;
        default: r = C("EXPIRE", key, "1000"); break;
        }
        (void)r;
        if (step % 500 == 0) C("DEBUG", "DIGEST");
        if (difftest_failed_at(step, seed, NULL, NULL, 0)) break;
    }
    C("DEBUG", "DIGEST");
}

TEST(protocol_resp2_and_resp3) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    static const char *types[] = {"string", "integer", "double", "bignum", "null",
                                  "array",  "set",     "map",    "attrib", "push",
                                  "verbatim", "true",  "false",  "nosuch"};
    for (int i = 0; i < 14; i++) C("DEBUG", "PROTOCOL", types[i]);
    int fl, fr;
    REQUIRE(difftest_raw_connect(3, &fl, &fr));
    for (int i = 0; i < 14; i++) RAW_COMPARE(fl, fr, "DEBUG", "PROTOCOL", types[i]);
    RAW_COMPARE(fl, fr, "PING"); /* the push did not leave a reply behind */
}

TEST(subcommand_errors_and_simple_replies) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    C("DEBUG", "nosuch");
    C("DEBUG", "jmap");
    C("DEBUG", "stringmatch-len");
    C("DEBUG", "OBJECT");
    C("DEBUG", "OBJECT", "a", "b");
    C("DEBUG", "DIGEST", "extra");
    C("DEBUG", "OBJECT", "missing");
    C("DEBUG", "SLEEP", "0");
    C("DEBUG", "SLEEP", "0.05");
    C("DEBUG", "SLEEP", "-1");
    C("DEBUG", "LOG", "hello from the test");
    C("DEBUG", "ERROR", "MYERR something\r\nbad");
    C("DEBUG", "ERROR", "plain");
    C("DEBUG", "SET-ACTIVE-EXPIRE", "1");
    C("DEBUG", "CHANGE-REPL-ID");
    C("DEBUG", "RELOAD", "BADOPT");
    C("SET", "str", "x");
    C("HSET", "h", "a", "1");
    C("RPUSH", "l", "a");
    C("DEBUG", "LISTPACK", "h");
    C("DEBUG", "LISTPACK", "str");
    C("DEBUG", "LISTPACK", "l");
    C("DEBUG", "LISTPACK", "missing");
    C("DEBUG", "QUICKLIST", "l");
    C("DEBUG", "QUICKLIST", "l", "1");
    C("DEBUG", "QUICKLIST", "h");
    C("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb");
    C("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1");
    C("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "abc");
    C("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0");
}

/* Elements above the packed threshold get a node of their own. */
TEST(packed_threshold_plain_nodes) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    EXPECT("status:\"OK\"", "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100");
    static char big[301];
    memset(big, 'x', 300);
    C("RPUSH", "l", "a", "b", big, "c", big, big, "d");
    C("LINSERT", "l", "BEFORE", "c", big);
    C("LRANGE", "l", "0", "-1");
    char fl[64], fr[64];
    const char *lr = cmd(L, "DEBUG OBJECT l");
    field_of(lr, "ql_nodes:", fl, sizeof fl);
    if (R) {
        field_of(cmd(R, "DEBUG OBJECT l"), "ql_nodes:", fr, sizeof fr);
        CHECK_EQ_STR(fl, fr);
    }
    CHECK_EQ_STR(fl, "ql_nodes:7");
    EXPECT("status:\"OK\"", "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0");
    C("RPUSH", "m", "a", big, "b");
    field_of(cmd(L, "DEBUG OBJECT m"), "ql_nodes:", fl, sizeof fl);
    CHECK_EQ_STR(fl, "ql_nodes:1");
}

/* DEBUG RELOAD rebuilds values in the encoding their content gets at
 * load, as Redis's RDB reload does, and changes no data. */
TEST(reload_rechooses_encodings) {
    REQUIRE(difftest_start("enable-debug-command", "yes", "save", "", NULL));
    for (int i = 0; i < 600; i++) {
        C("HSET", "h", num(0, i), "v");
        C("ZADD", "z", num(0, i), num(1, i));
    }
    C("SADD", "s", "1", "2", "x");
    C("SREM", "s", "x");
    C("HSET", "hv", "f", "a-value-longer-than-sixty-four-bytes-.................................");
    C("HSET", "hv", "f", "short");
    C("RPUSH", "l", "a", "b");
    C("SET", "ttl", "v", "EX", "1000");
    C("ZREMRANGEBYRANK", "z", "0", "-5");
    for (int i = 3; i < 600; i++) C("HDEL", "h", num(0, i));
    static const char *keys[] = {"h", "z", "s", "hv", "l"};
    for (int k = 0; k < 5; k++) C("OBJECT", "ENCODING", keys[k]);
    const char *before = C("DEBUG", "DIGEST");
    char saved[128];
    snprintf(saved, sizeof saved, "%s", before);
    EXPECT("status:\"OK\"", "DEBUG", "RELOAD");
    for (int k = 0; k < 5; k++) C("OBJECT", "ENCODING", keys[k]);
    CHECK_EQ_STR(C("DEBUG", "DIGEST"), saved);
    C("TTL", "ttl");
    CU("HGETALL", "h"); /* Redis's order is its dict's */
    EXPECT("status:\"OK\"", "DEBUG", "RELOAD", "MERGE");
    C("ZRANGE", "z", "0", "-1", "WITHSCORES");
    /* Lowered limits act at the reload, as in Redis. */
    C("CONFIG", "SET", "hash-max-listpack-entries", "2");
    EXPECT("status:\"OK\"", "DEBUG", "RELOAD");
    C("OBJECT", "ENCODING", "h");
    /* The reload itself is not logged: a restart replays the data. */
    CHECK_EQ_STR(cmd(L, "DEBUG RELOAD NOSAVE"),
                 "err:\"ERR DEBUG RELOAD NOFLUSH and NOSAVE are not supported by Lightning "
                 "(only a reload of the data just saved)\"");
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    redisContext *l2 = harness_connect(LS);
    REQUIRE(l2);
    CHECK_EQ_STR(cmd(l2, "DEBUG DIGEST"), saved);
}

/* Lightning alone: effects that are internal. */
TEST(lightning_internal_effects) {
    harness_server *s = harness_start("enable-debug-command", "yes", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* SET-ACTIVE-EXPIRE 0 stops the active expiry; 1 restarts it. */
    CHECK_EQ_STR(cmd(c, "DEBUG SET-ACTIVE-EXPIRE 0"), "status:\"OK\"");
    for (int i = 0; i < 50; i++) cmd(c, "SET e%d v PX 1", i);
    harness_sleep_ms(300);
    CHECK_EQ_INT(harness_info_num(c, "stats", "expired_keys"), 0);
    CHECK_EQ_STR(cmd(c, "DEBUG SET-ACTIVE-EXPIRE 1"), "status:\"OK\"");
    long long expired = 0;
    for (int i = 0; i < 200 && expired < 50; i++) {
        expired = harness_info_num(c, "stats", "expired_keys");
        harness_sleep_ms(20);
    }
    CHECK_EQ_INT(expired, 50);
    /* STRINGMATCH-TEST runs its fuzz loop and survives (Redis's reply; too
     * slow on Redis, 10M cycles, to compare here). */
    CHECK_EQ_STR(cmd(c, "DEBUG STRINGMATCH-TEST"),
                 "status:\"Apparently Redis did not crash: test passed\"");
    /* CHANGE-REPL-ID changes master_replid. */
    char a[64], b[64];
    REQUIRE(harness_info(c, "replication", "master_replid", a, sizeof a));
    CHECK_EQ_STR(cmd(c, "DEBUG CHANGE-REPL-ID"), "status:\"OK\"");
    REQUIRE(harness_info(c, "replication", "master_replid", b, sizeof b));
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_INT(strlen(b), 40);
    /* OBJECT's fields. */
    cmd(c, "RPUSH l a b c");
    const char *o = cmd(c, "DEBUG OBJECT l");
    CHECK(fnmatch("status:\"Value at:0x* refcount:1 encoding:quicklist serializedlength:* "
                  "lru:* lru_seconds_idle:* ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 "
                  "ql_compressed:0 ql_uncompressed_size:16\"",
                  o, 0) == 0);
    cmd(c, "SET n 100");
    CHECK(fnmatch("status:\"Value at:* refcount:2147483647 encoding:int serializedlength:2 *", cmd(c, "DEBUG OBJECT n"), 0) == 0);
    /* SEGFAULT under "yes" crashes the server. */
    redisAppendCommand(c, "DEBUG SEGFAULT");
    redisBufferWrite(c, &(int){0});
    int st = harness_wait_exit(s, 5000);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
}

/* SET-DISABLE-DENY-SCRIPTS: noscript commands (DEBUG) from scripts, with
 * the script's frozen clock (a key set with PX 1 still exists after a
 * DEBUG SLEEP inside the same script), then denied again. */
TEST(disable_deny_scripts) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    const char *deny = C("EVAL", "return redis.call('debug', 'protocol', 'bignum')", "0");
    CHECK(strstr(deny, "not allowed from script") != NULL);
    EXPECT("status:\"OK\"", "DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1");
    EXPECT("bulk:\"1234567999999999999999999999999999999\"", "EVAL",
           "return redis.call('debug', 'protocol', 'bignum')", "0");
    EXPECT("int:1", "EVAL",
           "redis.call('set', KEYS[1], 'v', 'PX', '1'); redis.call('debug', 'sleep', '0.01');"
           " return redis.call('exists', KEYS[1])",
           "1", "k");
    EXPECT("status:\"OK\"", "DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0");
    deny = C("EVAL", "return redis.call('debug', 'protocol', 'bignum')", "0");
    CHECK(strstr(deny, "not allowed from script") != NULL);
}

/* POPULATE: names, values (padded / cut to a size), existing keys kept,
 * argument errors, the data set's digest equal to Redis's. */
/* DEBUG OBJECT shows an expired key still stored (Redis reads its dict
 * directly) and keeps it; the next real access expires it (scripting
 * unit "Script delete the expired key"). */
TEST(object_of_expired_key) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    EXPECT("status:\"OK\"", "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    EXPECT("status:\"OK\"", "SET", "key", "value", "PX", "1");
    harness_sleep_ms(20);
    redisReply *r = redisCommand(L, "DEBUG OBJECT key");
    CHECK(r && r->type == REDIS_REPLY_STATUS && !strncmp(r->str, "Value at:", 9));
    freeReplyObject(r);
    EXPECT("int:0", "EVAL", "return redis.call('EXISTS', 'key')", "0");
    EXPECT("int:0", "EXISTS", "key");
    EXPECT("err:\"ERR no such key\"", "DEBUG", "OBJECT", "key");
}

TEST(populate) {
    REQUIRE(difftest_start("enable-debug-command", "yes", NULL));
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "10");
    EXPECT("int:10", "DBSIZE");
    EXPECT("bulk:\"value:3\"", "GET", "key:3");
    C("SET", "key:11", "mine");
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "12");
    EXPECT("bulk:\"mine\"", "GET", "key:11");
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "3", "p", "3");
    EXPECT("bulk:\"val\"", "GET", "p:2");
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "2", "z", "10");
    EXPECT("bulk:\"value:1\\x00\\x00\\x00\"", "GET", "z:1");
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "0");
    C("DEBUG", "POPULATE", "-1");
    C("DEBUG", "POPULATE", "x");
    C("DEBUG", "POPULATE", "1", "k", "-5");
    C("DEBUG", "POPULATE", "1", "k", "1", "extra");
    C("SELECT", "2");
    EXPECT("status:\"OK\"", "DEBUG", "POPULATE", "500", "db2");
    C("SELECT", "0");
    C("DBSIZE");
    C("DEBUG", "DIGEST");
}

int main(void) {
    RUN(refused_by_default);
    RUN(local_allows_loopback);
    RUN(digest_matches_redis);
    RUN(digest_random_dataset);
    RUN(protocol_resp2_and_resp3);
    RUN(subcommand_errors_and_simple_replies);
    RUN(packed_threshold_plain_nodes);
    RUN(reload_rechooses_encodings);
    RUN(lightning_internal_effects);
    RUN(disable_deny_scripts);
    RUN(object_of_expired_key);
    RUN(populate);
    return testlib_finish();
}
