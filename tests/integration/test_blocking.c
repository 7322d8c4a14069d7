/*
 * Blocking commands (blocking.c with t_list.c / t_zset.c): BLPOP, BRPOP,
 * BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, CLIENT UNBLOCK,
 * CLIENT LIST flags=b and INFO blocked_clients.
 *
 * Differential against a real redis-server 7.0 wherever the outcome is
 * deterministic (immediate serve, errors, timeout reply shapes in RESP2 and
 * RESP3, MULTI, who is served in which order once a waiter is known to be
 * blocked), with the expected text asserted as well. Blocked clients are
 * raw sockets: a command is sent, INFO blocked_clients confirms the block,
 * and the reply is read with a bounded timeout. No timing assertion beyond
 * "did not return before its timeout, and did return". Lightning runs with
 * the harness's two I/O threads, so a waiter and the client serving it may
 * sit on different threads.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define NOTFLOAT "err:\"ERR timeout is not a float or out of range\""
#define NEGATIVE "err:\"ERR timeout is negative\""
#define READ_MS 5000

/* Sends a command on a raw connection without reading its reply. */
#define SEND(fd, ...) CHECK(raw_send_argv((fd), (const char *const[]){__VA_ARGS__, NULL}) == 0)

/* Reads one reply (within READ_MS) as resp_render() text (up to 1 KiB),
 * valid until 8 more calls. */
static const char *read_reply(int fd) {
    raw_buf b = {0};
    if (!raw_read_reply(fd, READ_MS, &b)) {
        raw_buf_free(&b);
        return b.closed ? "(closed)" : "(timeout)";
    }
    static char ring[8][1024];
    static int next;
    char *t = resp_render(b.data, b.len);
    char *out = ring[next++ % 8];
    snprintf(out, sizeof(ring[0]), "%s", t);
    free(t);
    raw_buf_free(&b);
    return out;
}

/* Nothing to read within ms: the client is still blocked. */
static int still_blocked(int fd, int ms) {
    raw_buf b = {0};
    int got = raw_read_reply(fd, ms, &b);
    raw_buf_free(&b);
    return !got && !b.closed;
}

static long long blocked_clients(redisContext *c) {
    return harness_info_num(c, "clients", "blocked_clients");
}

/* Waits (bounded) until c's server reports n blocked clients. */
static int wait_blocked(redisContext *c, long long n) {
    if (!c) return 1;
    for (int i = 0; i < 1000; i++) {
        if (blocked_clients(c) == n) return 1;
        harness_sleep_ms(5);
    }
    return 0;
}

/* The same scenario on both servers: each step's text must agree. */
#define BOTH(fdl, fdr, stmt)                                                  \
    do {                                                                      \
        int fd_ = (fdl);                                                      \
        redisContext *ctx_ = L;                                               \
        (void)ctx_;                                                           \
        stmt;                                                                 \
        if ((fdr) >= 0) {                                                     \
            fd_ = (fdr);                                                      \
            ctx_ = R;                                                         \
            stmt;                                                             \
        }                                                                     \
    } while (0)

TEST(immediate_serve) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:4", "RPUSH", "l", "a", "b", "c", "d");
    EXPECT("array[bulk:\"l\",bulk:\"a\"]", "BLPOP", "nokey", "l", "0");
    EXPECT("array[bulk:\"l\",bulk:\"d\"]", "BRPOP", "l", "nokey", "1");
    EXPECT("array[bulk:\"l\",bulk:\"b\"]", "BLPOP", "l", "l", "0");
    EXPECT("bulk:\"c\"", "BLMOVE", "l", "m", "LEFT", "RIGHT", "0");
    EXPECT("int:0", "EXISTS", "l");
    EXPECT("bulk:\"c\"", "BRPOPLPUSH", "m", "m", "0");
    EXPECT("int:3", "RPUSH", "m", "x", "y");
    EXPECT("array[bulk:\"m\",array[bulk:\"c\",bulk:\"x\"]]", "BLMPOP", "0", "2", "nokey", "m", "LEFT", "COUNT", "2");
    EXPECT("array[bulk:\"m\",array[bulk:\"y\"]]", "BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "5");
    EXPECT("int:0", "EXISTS", "m");
    EXPECT("int:3", "ZADD", "z", "1", "a", "2.5", "b", "3", "c");
    EXPECT("array[bulk:\"z\",bulk:\"a\",bulk:\"1\"]", "BZPOPMIN", "nokey", "z", "0");
    EXPECT("array[bulk:\"z\",bulk:\"c\",bulk:\"3\"]", "BZPOPMAX", "z", "0");
    EXPECT("array[bulk:\"z\",array[array[bulk:\"b\",bulk:\"2.5\"]]]", "BZMPOP", "0", "1", "z", "MIN", "COUNT", "9");
    EXPECT("int:0", "EXISTS", "z");
    /* WRONGTYPE only for a key met before one with data. */
    EXPECT("status:\"OK\"", "SET", "s", "v");
    EXPECT("int:1", "RPUSH", "l", "a");
    EXPECT("array[bulk:\"l\",bulk:\"a\"]", "BLPOP", "l", "s", "0");
    EXPECT(WRONGTYPE, "BLPOP", "nokey", "s", "0");
    EXPECT(WRONGTYPE, "BLMOVE", "s", "l", "LEFT", "LEFT", "0");
    EXPECT("int:1", "RPUSH", "l", "a");
    EXPECT(WRONGTYPE, "BLMOVE", "l", "s", "LEFT", "LEFT", "0");
    EXPECT(WRONGTYPE, "BZPOPMIN", "s", "0");
    EXPECT(WRONGTYPE, "BZMPOP", "0", "1", "l", "MAX");
    EXPECT(WRONGTYPE, "BLMPOP", "0", "1", "s", "LEFT");
}

TEST(argument_errors) {
    REQUIRE(difftest_start(NULL));
    EXPECT(NOTFLOAT, "BLPOP", "k", "x");
    EXPECT(NOTFLOAT, "BLPOP", "k", "nan");
    EXPECT(NOTFLOAT, "BLPOP", "k", " 1");
    EXPECT(NOTFLOAT, "BLPOP", "k", "");
    EXPECT(NEGATIVE, "BRPOP", "k", "-1");
    EXPECT(NEGATIVE, "BLPOP", "k", "inf");
    EXPECT(NEGATIVE, "BZPOPMIN", "k", "1e400");
    EXPECT(NOTFLOAT, "BLMOVE", "a", "b", "LEFT", "RIGHT", "x");
    EXPECT(SYNTAX, "BLMOVE", "a", "b", "UP", "RIGHT", "x");
    EXPECT(NOTFLOAT, "BRPOPLPUSH", "a", "b", "1x");
    EXPECT(NOTFLOAT, "BLMPOP", "x", "1", "k", "LEFT");
    EXPECT(SYNTAX, "BLMPOP", "x", "1", "k", "MIDDLE");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "BLMPOP", "0", "0", "k", "LEFT");
    EXPECT(SYNTAX, "BLMPOP", "0", "2", "k", "LEFT");
    EXPECT("err:\"ERR count should be greater than 0\"", "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0");
    EXPECT(SYNTAX, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1");
    EXPECT(NEGATIVE, "BZMPOP", "-1", "1", "k", "MIN");
    EXPECT(SYNTAX, "BZMPOP", "0", "1", "k", "LOW");
    EXPECT("err:\"ERR numkeys should be greater than 0\"", "BZMPOP", "0", "x", "k", "MIN");
    EXPECT("err:\"ERR wrong number of arguments for 'blpop' command\"", "BLPOP", "k");
    EXPECT("err:\"ERR wrong number of arguments for 'blmove' command\"", "BLMOVE", "a", "b", "LEFT", "LEFT");
    EXPECT("err:\"ERR wrong number of arguments for 'bzmpop' command\"", "BZMPOP", "0", "1", "k");
    EXPECT("err:\"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\"", "CLIENT", "UNBLOCK", "x", "maybe");
    EXPECT(NOTINT, "CLIENT", "UNBLOCK", "x");
    EXPECT("int:0", "CLIENT", "UNBLOCK", "999999", "ERROR");
    EXPECT("array[bulk:\"k\",bulk:\"m\"]", "COMMAND", "GETKEYS", "BLMPOP", "0", "2", "k", "m", "LEFT");
    EXPECT("array[bulk:\"k\"]", "COMMAND", "GETKEYS", "BZMPOP", "0", "1", "k", "MIN");
}

/* Timeouts reply a null array, in RESP2 and RESP3, for every command. */
TEST(timeout_reply_shapes) {
    REQUIRE(difftest_start(NULL));
    for (int resp = 2; resp <= 3; resp++) {
        int fl, fr;
        REQUIRE(difftest_raw_connect(resp, &fl, &fr));
        const char *want = resp == 2 ? "nil" : "null";
        const char *cmds[][9] = {
            {"BLPOP", "a", "b", "0.05"},
            {"BRPOP", "a", "0.01"},
            {"BLMOVE", "a", "b", "LEFT", "RIGHT", "0.05"},
            {"BRPOPLPUSH", "a", "b", "0.05"},
            {"BLMPOP", "0.05", "1", "a", "LEFT", "COUNT", "3"},
            {"BZPOPMIN", "a", "0.05"},
            {"BZPOPMAX", "a", "b", "0.05"},
            {"BZMPOP", "0.05", "2", "a", "b", "MAX"},
            /* Rounded up to whole ms: 1 ms, not 0 (forever). */
            {"BLPOP", "a", "0.001"},
            {"BRPOP", "a", "0.0001"},
        };
        for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
            CHECK_EQ_STR(RAW_COMPARE(fl, fr, cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3],
                                     cmds[i][4], cmds[i][5], cmds[i][6], cmds[i][7]),
                         want);
        }
        /* RESP2 tells the null array from a null bulk by its bytes. */
        if (resp == 2) {
            SEND(fl, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0.01");
            raw_buf b = {0};
            CHECK(raw_read_reply(fl, READ_MS, &b));
            CHECK_EQ_STR(b.data ? b.data : "", "*-1\r\n");
            raw_buf_free(&b);
        }
        /* Served replies in RESP3: scores are doubles. */
        if (resp == 3) {
            RAW_COMPARE(fl, fr, "ZADD", "z", "1.5", "m");
            CHECK_EQ_STR(RAW_COMPARE(fl, fr, "BZPOPMIN", "z", "0"),
                         "array[bulk:\"z\",bulk:\"m\",double:1.5]");
        }
    }
}

/* Inside MULTI a blocking command acts as its non-blocking form. */
TEST(inside_multi) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "MULTI");
    EXPECT("status:\"QUEUED\"", "BLPOP", "nokey", "0");
    EXPECT("status:\"QUEUED\"", "BLMOVE", "nokey", "x", "LEFT", "LEFT", "0");
    EXPECT("status:\"QUEUED\"", "BZPOPMIN", "nokey", "0");
    EXPECT("status:\"QUEUED\"", "BLMPOP", "0", "1", "nokey", "LEFT");
    EXPECT("status:\"QUEUED\"", "RPUSH", "nokey", "v");
    EXPECT("status:\"QUEUED\"", "BRPOP", "nokey", "0");
    EXPECT("array[nil,nil,nil,nil,int:1,array[bulk:\"nokey\",bulk:\"v\"]]", "EXEC");
    CHECK_EQ_INT(blocked_clients(L), 0);
}

/* A client blocked on several keys is served by a push on another
 * connection (another I/O thread), with the key that was pushed; CLIENT
 * LIST shows it with flags=b meanwhile. */
TEST(served_by_push) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    BOTH(fl, fr, SEND(fd_, "BLPOP", "k1", "k2", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    CHECK(still_blocked(fl, 50));
    const char *list = cmd(L, "CLIENT LIST");
    CHECK(strstr(list, "flags=b") != NULL && strstr(list, "cmd=blpop") != NULL);
    EXPECT("int:2", "RPUSH", "k2", "a", "b");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"k2\",bulk:\"a\"]"));
    EXPECT("array[bulk:\"b\"]", "LRANGE", "k2", "0", "-1");
    CHECK_EQ_INT(blocked_clients(L), 0);
    /* The pipeline after the blocking command runs once it is served. */
    static const char pipeline[] = "*3\r\n$5\r\nBRPOP\r\n$2\r\nk3\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n";
    BOTH(fl, fr, CHECK(raw_send(fd_, pipeline, sizeof(pipeline) - 1) == 0));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "LPUSH", "k3", "z");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"k3\",bulk:\"z\"]"));
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "status:\"PONG\""));
}

/* The first client blocked on a key is served first. */
TEST(fifo_fairness) {
    REQUIRE(difftest_start(NULL));
    int fl[3], fr[3];
    for (int i = 0; i < 3; i++) {
        fl[i] = raw_connect_server(LS);
        fr[i] = raw_connect_server(RS);
        BOTH(fl[i], fr[i], SEND(fd_, "BLPOP", "q", "0"));
        REQUIRE(wait_blocked(L, i + 1) && wait_blocked(R, i + 1));
    }
    EXPECT("int:3", "RPUSH", "q", "x1", "x2", "x3");
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof(want), "array[bulk:\"q\",bulk:\"x%d\"]", i + 1);
        BOTH(fl[i], fr[i], CHECK_EQ_STR(read_reply(fd_), want));
    }
    /* One element at a time: still first come, first served. */
    for (int i = 0; i < 3; i++) {
        BOTH(fl[i], fr[i], SEND(fd_, "BRPOP", "q", "0"));
        REQUIRE(wait_blocked(L, i + 1) && wait_blocked(R, i + 1));
    }
    for (int i = 0; i < 3; i++) {
        char want[64], v[16];
        snprintf(v, sizeof(v), "y%d", i);
        snprintf(want, sizeof(want), "array[bulk:\"q\",bulk:\"%s\"]", v);
        EXPECT("int:1", "RPUSH", "q", v);
        BOTH(fl[i], fr[i], CHECK_EQ_STR(read_reply(fd_), want));
    }
    EXPECT("int:0", "EXISTS", "q");
}

/* BLMOVE chains: a -> b -> c, and a BLPOP at the end. */
TEST(blmove_chain) {
    REQUIRE(difftest_start(NULL));
    int f1l = raw_connect_server(LS), f1r = raw_connect_server(RS);
    int f2l = raw_connect_server(LS), f2r = raw_connect_server(RS);
    int f3l = raw_connect_server(LS), f3r = raw_connect_server(RS);
    BOTH(f1l, f1r, SEND(fd_, "BLMOVE", "a", "b", "RIGHT", "LEFT", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    BOTH(f2l, f2r, SEND(fd_, "BRPOPLPUSH", "b", "c", "0"));
    REQUIRE(wait_blocked(L, 2) && wait_blocked(R, 2));
    BOTH(f3l, f3r, SEND(fd_, "BLPOP", "c", "0"));
    REQUIRE(wait_blocked(L, 3) && wait_blocked(R, 3));
    EXPECT("int:1", "RPUSH", "a", "v");
    BOTH(f1l, f1r, CHECK_EQ_STR(read_reply(fd_), "bulk:\"v\""));
    BOTH(f2l, f2r, CHECK_EQ_STR(read_reply(fd_), "bulk:\"v\""));
    BOTH(f3l, f3r, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"c\",bulk:\"v\"]"));
    CHECK(wait_blocked(L, 0));
    EXPECT("int:0", "EXISTS", "a", "b", "c");
}

/* Sorted sets: the score comes with the member; a key of the other type
 * does not serve (Redis 7.0), its deletion and re-creation does. */
TEST(bzpop_and_types) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    BOTH(fl, fr, SEND(fd_, "BZPOPMIN", "z", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:2", "ZADD", "z", "2.5", "m", "7", "n");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"z\",bulk:\"m\",bulk:\"2.5\"]"));
    BOTH(fl, fr, SEND(fd_, "BZMPOP", "0", "2", "y", "z2", "MAX", "COUNT", "2"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:3", "ZADD", "z2", "1", "a", "2", "b", "3", "c");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_),
                              "array[bulk:\"z2\",array[array[bulk:\"c\",bulk:\"3\"],array[bulk:\"b\",bulk:\"2\"]]]"));
    /* A list waiter ignores a sorted set created under its key. */
    BOTH(fl, fr, SEND(fd_, "BLPOP", "t", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "ZADD", "t", "1", "a");
    CHECK(still_blocked(fl, 100));
    CHECK_EQ_INT(blocked_clients(L), 1);
    EXPECT("int:1", "DEL", "t");
    EXPECT("int:1", "RPUSH", "t", "v");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"t\",bulk:\"v\"]"));
}

/* Keys that appear by RENAME, MOVE, COPY, SWAPDB serve their waiters. */
TEST(woken_by_key_moves) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    BOTH(fl, fr, SEND(fd_, "BLPOP", "dst", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "RPUSH", "src", "r");
    EXPECT("status:\"OK\"", "RENAME", "src", "dst");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"dst\",bulk:\"r\"]"));

    BOTH(fl, fr, SEND(fd_, "BLPOP", "cp", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "RPUSH", "orig", "c");
    EXPECT("int:1", "COPY", "orig", "cp");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"cp\",bulk:\"c\"]"));

    BOTH(fl, fr, SEND(fd_, "BLPOP", "mv", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("status:\"OK\"", "SELECT", "1");
    EXPECT("int:1", "RPUSH", "mv", "m");
    EXPECT("int:1", "MOVE", "mv", "0");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"mv\",bulk:\"m\"]"));

    BOTH(fl, fr, SEND(fd_, "BZPOPMAX", "sw", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "ZADD", "sw", "4", "s");
    EXPECT("status:\"OK\"", "SWAPDB", "0", "1");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"sw\",bulk:\"s\",bulk:\"4\"]"));
}

/* A stream deleted, overwritten, renamed away or flushed under blocked
 * XREADGROUP clients unblocks them with an error (their group is gone);
 * an XREAD waiter on the same key keeps waiting for a stream. */
TEST(xreadgroup_stream_gone) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    int xl = raw_connect_server(LS), xr = raw_connect_server(RS);
    const char *gone = "err:\"UNBLOCKED the stream key no longer exists\"";
    const char *how[][3] = {{"DEL", "s", NULL}, {"SET", "s", "v"}, {"RENAME", "s", "s2"},
                            {"FLUSHALL", NULL, NULL}};
    for (int i = 0; i < 4; i++) {
        C("DEL", "s", "s2");
        EXPECT("bulk:\"1-1\"", "XADD", "s", "1-1", "f", "v");
        EXPECT("status:\"OK\"", "XGROUP", "CREATE", "s", "g", "$");
        BOTH(fl, fr, SEND(fd_, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"));
        BOTH(xl, xr, SEND(fd_, "XREAD", "BLOCK", "0", "STREAMS", "s", "$"));
        REQUIRE(wait_blocked(L, 2) && wait_blocked(R, 2));
        if (how[i][1] && how[i][2]) C(how[i][0], how[i][1], how[i][2]);
        else if (how[i][1]) C(how[i][0], how[i][1]);
        else C(how[i][0]);
        BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), gone));
        CHECK(still_blocked(xl, 100));
        REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
        C("DEL", "s");
        EXPECT("bulk:\"2-1\"", "XADD", "s", "2-1", "f", "w");
        BOTH(xl, xr, CHECK_EQ_STR(read_reply(fd_),
                                  "array[array[bulk:\"s\",array[array[bulk:\"2-1\","
                                  "array[bulk:\"f\",bulk:\"w\"]]]]]"));
    }
    /* The group gone but the stream kept: NOGROUP, as before. */
    C("DEL", "s");
    EXPECT("bulk:\"1-1\"", "XADD", "s", "1-1", "f", "v");
    EXPECT("status:\"OK\"", "XGROUP", "CREATE", "s", "g", "$");
    BOTH(fl, fr, SEND(fd_, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "XGROUP", "DESTROY", "s", "g");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "err:\"NOGROUP the consumer group this client "
                                               "was blocked on no longer exists\""));
}

/* "calls=N,...,failed_calls=M" of cmdstat_<name> reduced to "calls=N
 * failed=M" (usec varies), from INFO commandstats of c. */
static const char *cmdstat(redisContext *c, const char *name) {
    static char out[2][64];
    static int next;
    char *o = out[next++ % 2];
    snprintf(o, sizeof(out[0]), "(none)");
    redisReply *r = redisCommand(c, "INFO commandstats");
    if (!r || r->type != REDIS_REPLY_STRING) {
        if (r) freeReplyObject(r);
        return o;
    }
    char key[64];
    snprintf(key, sizeof(key), "cmdstat_%s:calls=", name);
    const char *p = strstr(r->str, key);
    const char *f = p ? strstr(p, "failed_calls=") : NULL;
    if (p && f)
        snprintf(o, sizeof(out[0]), "calls=%lld failed=%lld", atoll(p + strlen(key)),
                 atoll(f + strlen("failed_calls=")));
    freeReplyObject(r);
    return o;
}

/* A blocked command that ends with an error counts one failed call (its
 * call was counted when it blocked): unblocked by its stream's deletion or
 * by CLIENT UNBLOCK ... ERROR. */
TEST(failed_calls_on_unblock_error) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    EXPECT("bulk:\"1-1\"", "XADD", "s", "1-1", "f", "v");
    EXPECT("status:\"OK\"", "XGROUP", "CREATE", "s", "g", "$");
    EXPECT("status:\"OK\"", "CONFIG", "RESETSTAT");
    BOTH(fl, fr, SEND(fd_, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "DEL", "s");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_),
                              "err:\"UNBLOCKED the stream key no longer exists\""));
    CHECK_EQ_STR(cmdstat(L, "xreadgroup"), "calls=1 failed=1");
    if (R) CHECK_EQ_STR(cmdstat(R, "xreadgroup"), "calls=1 failed=1");
    BOTH(fl, fr, SEND(fd_, "CLIENT", "ID"));
    long long idl = atoll(read_reply(fl) + 4), idr = fr >= 0 ? atoll(read_reply(fr) + 4) : 0;
    BOTH(fl, fr, SEND(fd_, "BLPOP", "nolist", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    char id[32];
    snprintf(id, sizeof(id), "%lld", idl);
    CHECK_EQ_STR(cmd(L, "CLIENT UNBLOCK %s ERROR", id), "int:1");
    if (R) {
        snprintf(id, sizeof(id), "%lld", idr);
        CHECK_EQ_STR(cmd(R, "CLIENT UNBLOCK %s ERROR", id), "int:1");
    }
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_),
                              "err:\"UNBLOCKED client unblocked via CLIENT UNBLOCK\""));
    CHECK_EQ_STR(cmdstat(L, "blpop"), "calls=1 failed=1");
    if (R) CHECK_EQ_STR(cmdstat(R, "blpop"), "calls=1 failed=1");
}

TEST(client_unblock) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS), fr = raw_connect_server(RS);
    char idl[32], idr[32] = "";
    BOTH(fl, fr, SEND(fd_, "CLIENT", "ID"));
    snprintf(idl, sizeof(idl), "%s", read_reply(fl) + 4);
    if (fr >= 0) snprintf(idr, sizeof(idr), "%s", read_reply(fr) + 4);
    BOTH(fl, fr, SEND(fd_, "BLPOP", "u", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    CHECK_EQ_STR(cmd(L, "CLIENT UNBLOCK %s", idl), "int:1");
    if (R) CHECK_EQ_STR(cmd(R, "CLIENT UNBLOCK %s", idr), "int:1");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "nil"));
    CHECK_EQ_STR(cmd(L, "CLIENT UNBLOCK %s", idl), "int:0");
    BOTH(fl, fr, SEND(fd_, "BLMOVE", "u", "v", "LEFT", "LEFT", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    CHECK_EQ_STR(cmd(L, "CLIENT UNBLOCK %s ERROR", idl), "int:1");
    if (R) CHECK_EQ_STR(cmd(R, "CLIENT UNBLOCK %s error", idr), "int:1");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "err:\"UNBLOCKED client unblocked via CLIENT UNBLOCK\""));
    CHECK_EQ_INT(blocked_clients(L), 0);
    /* Served later by a push as usual. */
    BOTH(fl, fr, SEND(fd_, "BLPOP", "u", "0"));
    REQUIRE(wait_blocked(L, 1) && wait_blocked(R, 1));
    EXPECT("int:1", "RPUSH", "u", "w");
    BOTH(fl, fr, CHECK_EQ_STR(read_reply(fd_), "array[bulk:\"u\",bulk:\"w\"]"));
}

/* A blocked client that disconnects is forgotten; the next one is served
 * and nothing pushed is lost. */
TEST(disconnect_while_blocked) {
    REQUIRE(difftest_start(NULL));
    int gone = raw_connect_server(LS), stay = raw_connect_server(LS);
    SEND(gone, "BLPOP", "d", "0");
    REQUIRE(wait_blocked(L, 1));
    SEND(stay, "BLPOP", "d", "0");
    REQUIRE(wait_blocked(L, 2));
    raw_close(gone);
    REQUIRE(wait_blocked(L, 1));
    CHECK_EQ_STR(cmd(L, "RPUSH d a b"), "int:2");
    CHECK_EQ_STR(read_reply(stay), "array[bulk:\"d\",bulk:\"a\"]");
    CHECK_EQ_STR(cmd(L, "LRANGE d 0 -1"), "array[bulk:\"b\"]");
    /* Many waiters gone at once, then a push: still consistent. */
    int fds[20];
    for (int i = 0; i < 20; i++) {
        fds[i] = raw_connect_server(LS);
        SEND(fds[i], "BLPOP", "e", "f", "0");
    }
    REQUIRE(wait_blocked(L, 20));
    for (int i = 0; i < 20; i += 2) raw_close(fds[i]);
    REQUIRE(wait_blocked(L, 10));
    CHECK_EQ_STR(cmd(L, "RPUSH f 1 2 3 4 5 6 7 8 9 10 11"), "int:11");
    for (int i = 1; i < 20; i += 2) CHECK(strncmp(read_reply(fds[i]), "array[bulk:\"f\"", 14) == 0);
    CHECK_EQ_STR(cmd(L, "LLEN f"), "int:1");
    CHECK_EQ_INT(blocked_clients(L), 0);
}

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A timeout neither fires early nor never. */
TEST(timeout_precision) {
    REQUIRE(difftest_start(NULL));
    int fl = raw_connect_server(LS);
    const char *timeouts[] = {"0.3", "0.05", "1"};
    for (int i = 0; i < 3; i++) {
        int64_t t0 = now_ms();
        SEND(fl, "BRPOP", "never", timeouts[i]);
        CHECK_EQ_STR(read_reply(fl), "nil");
        int64_t waited = now_ms() - t0;
        CHECK(waited >= (int64_t)(atof(timeouts[i]) * 1000) - 1);
    }
    CHECK_EQ_INT(blocked_clients(L), 0);
}

/* 100 blocked clients (some with timeouts far away) cost no CPU. */
TEST(blocked_clients_use_no_cpu) {
    REQUIRE(difftest_start(NULL));
    for (int i = 0; i < 100; i++) {
        int fd = raw_connect_server(LS);
        char key[16];
        snprintf(key, sizeof(key), "idle%d", i % 10);
        SEND(fd, "BLPOP", key, i % 2 ? "0" : "1000");
    }
    REQUIRE(wait_blocked(L, 100));
    long long t0 = harness_cpu_ticks(LS->pid);
    harness_sleep_ms(1000);
    long long t1 = harness_cpu_ticks(LS->pid);
    REQUIRE(t0 >= 0 && t1 >= 0);
    long hz = sysconf(_SC_CLK_TCK);
    /* The ticks of two idle workers are well below a tenth of a second. */
    CHECK(t1 - t0 <= hz / 10);
    printf("# %lld clock ticks (of %ld/s) over 1 s with 100 blocked clients\n", t1 - t0, hz);
    CHECK_EQ_INT(blocked_clients(L), 100);
}

/* The served pop is logged in its non-blocking form: after a restart the
 * lists are as they were, and under appendfsync always the reply comes. */
TEST(served_pop_is_durable) {
    harness_server *s = harness_start("appendonly", "yes", "appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    int f1 = raw_connect_server(s), f2 = raw_connect_server(s);
    SEND(f1, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0");
    REQUIRE(wait_blocked(c, 1));
    SEND(f2, "BZPOPMIN", "zz", "0");
    REQUIRE(wait_blocked(c, 2));
    CHECK_EQ_STR(cmd(c, "RPUSH src a b"), "int:2");
    CHECK_EQ_STR(read_reply(f1), "bulk:\"a\"");
    CHECK_EQ_STR(cmd(c, "ZADD zz 1 x 2 y"), "int:2");
    CHECK_EQ_STR(read_reply(f2), "array[bulk:\"zz\",bulk:\"x\",bulk:\"1\"]");
    /* Killed: no final snapshot, so the WAL alone brings the state back. */
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "LRANGE src 0 -1"), "array[bulk:\"b\"]");
    CHECK_EQ_STR(cmd(c, "LRANGE dst 0 -1"), "array[bulk:\"a\"]");
    CHECK_EQ_STR(cmd(c, "ZRANGE zz 0 -1 WITHSCORES"), "array[bulk:\"y\",bulk:\"2\"]");
}

int main(void) {
    RUN(immediate_serve);
    RUN(argument_errors);
    RUN(timeout_reply_shapes);
    RUN(inside_multi);
    RUN(served_by_push);
    RUN(fifo_fairness);
    RUN(blmove_chain);
    RUN(bzpop_and_types);
    RUN(woken_by_key_moves);
    RUN(client_unblock);
    RUN(disconnect_while_blocked);
    RUN(timeout_precision);
    RUN(blocked_clients_use_no_cpu);
    RUN(served_pop_is_durable);
    RUN(xreadgroup_stream_gone);
    RUN(failed_calls_on_unblock_error);
    return testlib_finish();
}
