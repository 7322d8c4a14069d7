/*
 * Keyspace notifications: `notify-keyspace-events` parsing and CONFIG GET
 * form, and the events every command family emits, compared with a real
 * redis-server (strings, keys, hashes, lists, sets, zsets, bitmaps, streams,
 * expiry). A subscriber (PSUBSCRIBE __key*__:*) collects the events of
 * each command; after the command the same connection PUBLISHes a marker,
 * which arrives after all of that command's events (one publisher's
 * messages keep their order), so the events between two markers are
 * exactly the command's, compared as a sequence with Redis's.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../difftest.h"
#include "../harness.h"
#include "../testlib.h"

/* The events one command caused on a server: "event key|event key|...". */
static void collect(int sub, char *out, size_t outlen) {
    size_t len = 0;
    out[0] = '\0';
    for (;;) {
        raw_buf b = {0};
        if (!raw_read_reply(sub, 5000, &b)) {
            snprintf(out + len, outlen - len, "(no marker)");
            raw_buf_free(&b);
            return;
        }
        char *t = resp_render(b.data, b.len);
        raw_buf_free(&b);
        if (strstr(t, "bulk:\"marker\"")) {
            free(t);
            return;
        }
        int n = snprintf(out + len, outlen - len, "%s%s", len ? "|" : "", t);
        free(t);
        if (n > 0 && (size_t)n < outlen - len) len += (size_t)n;
    }
}

static int sl, sr;

/* Runs a command on both servers, then compares the events it caused. */
static const char *events_argv(const char *file, int line, const char *const *argv) {
    static char el[8192], er[8192];
    harness_compare(file, line, L, R, 0, argv);
    cmd(L, "PUBLISH marker m");
    collect(sl, el, sizeof(el));
    if (R) {
        cmd(R, "PUBLISH marker m");
        collect(sr, er, sizeof(er));
        if (strcmp(el, er) != 0) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s: Lightning %.400s, Redis %.400s", argv[0], el, er);
            testlib_fail(file, line, msg);
        }
    }
    return el;
}
#define EV(...) events_argv(__FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

static int start(const char *flags) {
    if (!difftest_start("notify-keyspace-events", flags, "enable-debug-command", "yes", NULL))
        return 0;
    if (!difftest_raw_connect(2, &sl, &sr)) return 0;
    const char *const ps[] = {"PSUBSCRIBE", "__key*__:*", NULL};
    raw_send_argv(sl, ps);
    if (sr >= 0) raw_send_argv(sr, ps);
    const char *const sm[] = {"SUBSCRIBE", "marker", NULL};
    raw_send_argv(sl, sm);
    if (sr >= 0) raw_send_argv(sr, sm);
    for (int i = 0; i < 2; i++) {
        raw_buf b = {0};
        if (!raw_read_reply(sl, 5000, &b)) return 0;
        raw_buf_free(&b);
        if (sr >= 0 && raw_read_reply(sr, 5000, &b)) raw_buf_free(&b);
    }
    return 1;
}

TEST(config_forms) {
    REQUIRE(difftest_start(NULL));
    static const char *vals[] = {"KEA", "", "A", "Ex", "KA", "gK", "E$lshzxetmdn",
                                 "KEg$lshzxetmdn", "Kn", "Ed", "Kt", "Q", "KEAQ"};
    for (size_t i = 0; i < NELEM(vals); i++) {
        C("CONFIG", "SET", "notify-keyspace-events", vals[i]);
        C("CONFIG", "GET", "notify-keyspace-events");
    }
}

TEST(strings_and_keys) {
    REQUIRE(start("KEA"));
    CHECK_EQ_STR(EV("SET", "k", "v"),
                 "array[bulk:\"pmessage\",bulk:\"__key*__:*\",bulk:\"__keyspace@0__:k\","
                 "bulk:\"set\"]|array[bulk:\"pmessage\",bulk:\"__key*__:*\","
                 "bulk:\"__keyevent@0__:set\",bulk:\"k\"]");
    EV("SET", "k", "v", "EX", "100");
    EV("SET", "k", "v", "NX");
    EV("SET", "k", "v", "XX", "GET");
    EV("SETNX", "k2", "v");
    EV("SETEX", "k3", "100", "v");
    EV("PSETEX", "k3", "100000", "v");
    EV("GETSET", "k", "w");
    EV("MSET", "a", "1", "b", "2");
    EV("MSETNX", "a", "1", "c", "2");
    EV("MSETNX", "d", "1", "e", "2");
    EV("APPEND", "a", "x");
    EV("APPEND", "new", "x");
    EV("SETRANGE", "a", "1", "yy");
    EV("SETRANGE", "sr", "3", "");
    EV("SETRANGE", "sr", "3", "z");
    EV("INCR", "n");
    EV("INCRBY", "n", "5");
    EV("DECR", "n");
    EV("DECRBY", "n", "2");
    EV("INCRBYFLOAT", "n", "1.5");
    EV("INCR", "k");
    EV("GETEX", "k", "EX", "100");
    EV("GETEX", "k", "PERSIST");
    EV("GETEX", "k", "PERSIST");
    EV("GETEX", "k", "PXAT", "1");
    EV("GETDEL", "a");
    EV("GETDEL", "a");
    EV("DEL", "b", "c", "nope");
    EV("UNLINK", "d");
    EV("SET", "r", "1");
    EV("EXPIRE", "r", "100");
    EV("PEXPIRE", "r", "100000", "NX");
    EV("PERSIST", "r");
    EV("PERSIST", "r");
    EV("EXPIREAT", "r", "1");
    EV("SET", "r", "1");
    EV("RENAME", "r", "r2");
    EV("SET", "r", "1");
    EV("RENAME", "r", "r2");
    EV("RENAMENX", "r2", "e");
    EV("RENAME", "nope", "x");
    EV("MOVE", "r2", "1");
    EV("COPY", "e", "e2");
    EV("COPY", "e", "e2", "REPLACE");
    EV("COPY", "e", "e2", "DB", "2");
    EV("GET", "e");
    EV("FLUSHALL");
}

TEST(new_class_only) {
    REQUIRE(start("Kn"));
    EV("SET", "k", "v");
    EV("SET", "k", "v");
    EV("INCR", "n");
    EV("HSET", "h", "f", "v");
    EV("HSET", "h", "g", "v");
    EV("LPUSH", "l", "a");
    EV("SADD", "s", "a");
    EV("ZADD", "z", "1", "a");
}

TEST(expired_lazy) {
    REQUIRE(start("KEA"));
    /* Only the GET may expire k (active expiry could beat it, on either
     * server, while SET's events are collected). */
    C("DEBUG", "SET-ACTIVE-EXPIRE", "0");
    EV("SET", "k", "v", "PX", "1");
    usleep(20000);
    EV("GET", "k");
}

TEST(hashes) {
    REQUIRE(start("KEA"));
    EV("HSET", "h", "a", "1", "b", "2");
    EV("HSET", "h", "a", "1");
    EV("HMSET", "h", "c", "3");
    EV("HSETNX", "h", "c", "3");
    EV("HSETNX", "h", "d", "4");
    EV("HINCRBY", "h", "n", "2");
    EV("HINCRBYFLOAT", "h", "f", "1.5");
    EV("HINCRBY", "h", "a", "x");
    EV("HDEL", "h", "a", "zz");
    EV("HDEL", "h", "zz");
    EV("HDEL", "h", "b", "c", "d", "n", "f");
    EV("HDEL", "h", "a");
}

/* Streams: entries, trimming, IDs, groups and consumers (created by
 * XGROUP CREATECONSUMER, XREADGROUP and XCLAIM/XAUTOCLAIM alike). */
TEST(streams) {
    REQUIRE(start("KEA"));
    EV("XADD", "s", "1-1", "a", "1");
    EV("XADD", "s", "MAXLEN", "1", "2-1", "a", "2");
    EV("XADD", "s", "MAXLEN", "5", "3-1", "a", "3");
    EV("XADD", "s", "4-1", "a", "4");
    EV("XTRIM", "s", "MAXLEN", "10");
    EV("XTRIM", "s", "MAXLEN", "2");
    EV("XDEL", "s", "9-9");
    EV("XDEL", "s", "3-1", "9-9");
    EV("XSETID", "s", "10-1");
    EV("XGROUP", "CREATE", "s", "g", "0");
    EV("XGROUP", "CREATE", "s", "g", "0");
    EV("XGROUP", "CREATE", "s2", "g", "$", "MKSTREAM");
    EV("XGROUP", "CREATECONSUMER", "s", "g", "Bob");
    EV("XGROUP", "CREATECONSUMER", "s", "g", "Bob");
    EV("XREADGROUP", "GROUP", "g", "Alice", "STREAMS", "s", ">");
    EV("XREADGROUP", "GROUP", "g", "Alice", "STREAMS", "s", ">");
    EV("XCLAIM", "s", "g", "Mike", "0", "4-1");
    EV("XAUTOCLAIM", "s", "g", "Bob", "0", "0");
    EV("XAUTOCLAIM", "s", "g", "Zed", "0", "0");
    EV("XGROUP", "DELCONSUMER", "s", "g", "Lee");
    EV("XGROUP", "DELCONSUMER", "s", "g", "Bob");
    EV("XGROUP", "SETID", "s", "g", "0");
    EV("XGROUP", "DESTROY", "s", "nope");
    EV("XGROUP", "DESTROY", "s", "g");
}

TEST(lists) {
    REQUIRE(start("KEA"));
    EV("LPUSH", "l", "a", "b", "c");
    EV("RPUSH", "l", "d");
    EV("LPUSHX", "nope", "a");
    EV("RPUSHX", "l", "e");
    EV("LINSERT", "l", "BEFORE", "a", "x");
    EV("LINSERT", "l", "BEFORE", "zz", "x");
    EV("LSET", "l", "0", "y");
    EV("LREM", "l", "0", "zz");
    EV("LREM", "l", "1", "x");
    EV("LPOP", "l");
    EV("RPOP", "l", "2");
    EV("LMOVE", "l", "l2", "LEFT", "RIGHT");
    EV("RPOPLPUSH", "l2", "l2");
    EV("LMOVE", "l", "l", "LEFT", "RIGHT");
    EV("LMPOP", "2", "nope", "l", "LEFT", "COUNT", "5");
    EV("RPUSH", "t", "1", "2", "3");
    EV("LTRIM", "t", "0", "1");
    EV("LTRIM", "t", "5", "10");
    EV("RPUSH", "b", "1");
    EV("BLPOP", "b", "0");
    EV("BRPOP", "nope", "0.01");
    EV("RPUSH", "b", "1", "2");
    EV("BLMOVE", "b", "b2", "RIGHT", "LEFT", "0");
    EV("BLMPOP", "0", "1", "b", "RIGHT");
    EV("LPOP", "l2");
}

TEST(sets) {
    REQUIRE(start("KEA"));
    EV("SADD", "s", "a", "b", "c");
    EV("SADD", "s", "a");
    EV("SREM", "s", "zz");
    EV("SREM", "s", "a");
    EV("SMOVE", "s", "s2", "b");
    EV("SMOVE", "s", "s2", "zz");
    EV("SADD", "s2", "c");
    EV("SMOVE", "s", "s2", "c");
    /* SPOP's choice is random: sets where it is not. */
    EV("SADD", "p", "1");
    EV("SPOP", "p");
    EV("SADD", "p", "1", "2");
    EV("SPOP", "p", "0");
    EV("SADD", "q", "7");
    EV("SPOP", "q", "1");
    EV("SADD", "q", "7");
    EV("SPOP", "q", "5");
    EV("SADD", "x", "1", "2");
    EV("SADD", "y", "2", "3");
    EV("SINTERSTORE", "d", "x", "y");
    EV("SUNIONSTORE", "d", "x", "y");
    EV("SDIFFSTORE", "d", "x", "x");
    EV("SDIFFSTORE", "d", "x", "x");
    EV("SINTERSTORE", "d2", "x", "nope");
    EV("SADD", "d2", "1");
    EV("SINTERSTORE", "d2", "x", "nope");
    EV("SREM", "x", "1", "2");
}

TEST(zsets) {
    REQUIRE(start("KEA"));
    EV("ZADD", "z", "1", "a", "2", "b", "3", "c");
    EV("ZADD", "z", "1", "a");
    EV("ZADD", "z", "XX", "5", "nope");
    EV("ZADD", "nz", "XX", "5", "a");
    EV("ZADD", "z", "INCR", "2", "a");
    EV("ZINCRBY", "z", "1", "d");
    EV("ZREM", "z", "zz");
    EV("ZREM", "z", "d");
    EV("ZREMRANGEBYRANK", "z", "5", "6");
    EV("ZREMRANGEBYRANK", "z", "0", "0");
    EV("ZREMRANGEBYSCORE", "z", "0", "2");
    EV("ZADD", "lex", "0", "m", "0", "n", "0", "o");
    EV("ZREMRANGEBYLEX", "lex", "[m", "[m");
    EV("ZREMRANGEBYLEX", "lex", "[x", "[y");
    EV("ZREMRANGEBYLEX", "lex", "-", "+");
    EV("ZADD", "z", "0", "m", "0", "n", "0", "o");
    EV("ZPOPMIN", "z");
    EV("ZPOPMAX", "z", "2");
    EV("ZMPOP", "1", "z", "MIN", "COUNT", "10");
    EV("ZADD", "x", "1", "a", "2", "b");
    EV("ZADD", "y", "1", "b");
    EV("ZUNIONSTORE", "d", "2", "x", "y");
    EV("ZINTERSTORE", "d", "2", "x", "y");
    EV("ZDIFFSTORE", "d", "2", "x", "x");
    EV("ZRANGESTORE", "d", "x", "0", "0");
    EV("ZRANGESTORE", "d", "x", "5", "6");
    EV("ZRANGESTORE", "d", "x", "5", "6");
    EV("BZPOPMIN", "x", "0");
    EV("BZMPOP", "0", "1", "x", "MAX");
    EV("BZPOPMAX", "nope", "0.01");
}

TEST(bitmaps) {
    REQUIRE(start("KEA"));
    EV("SETBIT", "b", "7", "1");
    EV("SETBIT", "b", "7", "1");
    EV("BITFIELD", "b", "SET", "u8", "0", "255");
    EV("BITFIELD", "b", "GET", "u8", "0");
    EV("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "10");
    EV("BITFIELD", "bf", "INCRBY", "u8", "0", "10");
    EV("BITOP", "OR", "d", "b", "bf");
    EV("BITOP", "OR", "d", "nope");
    EV("BITOP", "OR", "d", "nope");
}

/* Active expiry reports "expired" too (from the worker that owns the
 * key's shards); only the event's arrival is checked, not when. */
TEST(expired_active) {
    REQUIRE(start("KEx"));
    EV("SET", "k", "v", "PX", "1");
    raw_buf b = {0};
    CHECK(raw_read_reply(sl, 5000, &b));
    CHECK(b.data && strstr(b.data, "expired") != NULL);
    raw_buf_free(&b);
    CHECK(raw_read_reply(sl, 5000, &b));
    CHECK(b.data && strstr(b.data, "__keyevent@0__:expired") != NULL);
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(L, "EXISTS k"), "int:0");
}

int main(void) {
    RUN(config_forms);
    RUN(strings_and_keys);
    RUN(new_class_only);
    RUN(expired_lazy);
    RUN(hashes);
    RUN(lists);
    RUN(sets);
    RUN(zsets);
    RUN(streams);
    RUN(bitmaps);
    RUN(expired_active);
    return testlib_finish();
}
