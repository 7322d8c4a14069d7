/*
 * Propagation: the replication stream a SYNC client receives (what Redis's
 * own tests read with their replication-stream helper), differential
 * against a real redis-server 7.0. Each test attaches a SYNC connection to
 * both servers, runs the same commands on both, ends with a marker write
 * and compares the streams command by command, with millisecond unix times
 * (PXAT, PEXPIREAT, stream IDs) masked. As Redis's helper does, the ping
 * period is set to an hour first: no PING may come before the commands. The expected stream is asserted as
 * well, so a propagation both servers would share still fails.
 *
 * What it pins: a SELECT only where the stream's database changes (one at
 * the start of a replica's stream, none added around a transaction or a
 * script that selected another database), no-op writes left out, and the rewrites Redis applies before
 * propagating: GETDEL as DEL, GETSET as SET, LMPOP/BLMPOP as LPOP/RPOP and
 * ZMPOP/BZMPOP as ZPOPMIN/ZPOPMAX with the count actually popped.
 */
#include "../difftest.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define STREAM_MAX 4096   /* rendered stream text, bytes */
#define STREAM_BUF (1 << 20)

typedef struct attach {
    int fd;
    char *buf; /* bytes received past the payload */
    size_t len;
} attach;

/* Reads more bytes into a->buf within timeout_ms: 1, or 0 (timeout/close). */
static int fill(attach *a, int timeout_ms) {
    struct pollfd p = {.fd = a->fd, .events = POLLIN};
    if (a->len >= STREAM_BUF || poll(&p, 1, timeout_ms) <= 0) return 0;
    ssize_t n = recv(a->fd, a->buf + a->len, STREAM_BUF - a->len, 0);
    if (n <= 0) return 0;
    a->len += (size_t)n;
    return 1;
}

static void consume(attach *a, size_t n) {
    memmove(a->buf, a->buf + n, a->len - n);
    a->len -= n;
}

/* SYNC on server s: skips the keepalive newlines and the RDB payload.
 * Returns 1 with a->fd open. */
static int attach_stream(harness_server *s, attach *a) {
    a->fd = raw_connect_server(s);
    a->buf = malloc(STREAM_BUF);
    a->len = 0;
    if (a->fd < 0 || !a->buf || raw_sendstr(a->fd, "SYNC\r\n") < 0) return 0;
    for (;;) {
        while (a->len > 0 && a->buf[0] == '\n') consume(a, 1);
        char *nl = a->len ? memchr(a->buf, '\n', a->len) : NULL;
        if (nl) break;
        if (!fill(a, 5000)) return 0;
    }
    if (a->buf[0] != '$') return 0;
    size_t hdr = (size_t)((char *)memchr(a->buf, '\n', a->len) - a->buf) + 1;
    long long plen = atoll(a->buf + 1);
    while (a->len < hdr + (size_t)plen)
        if (!fill(a, 5000)) return 0;
    consume(a, hdr + (size_t)plen);
    return 1;
}

/* The rendered commands of the stream up to the marker write (excluded),
 * PINGs dropped, runs of 13 or more digits (unix ms times) masked as T,
 * one command per line. Returns malloc'd text ("(timeout)" appended when
 * the marker never came). */
static char *read_stream(attach *a) {
    char *out = calloc(1, STREAM_MAX);
    size_t used = 0;
    for (;;) {
        long fl = resp_frame_len(a->buf, a->len);
        if (fl == 0) {
            if (!fill(a, 5000)) {
                snprintf(out + used, STREAM_MAX - used, "(timeout)");
                return out;
            }
            continue;
        }
        if (fl < 0) {
            snprintf(out + used, STREAM_MAX - used, "(malformed)");
            return out;
        }
        char *r = resp_render(a->buf, (size_t)fl);
        consume(a, (size_t)fl);
        int end = strstr(r, "\"__marker__\"") != NULL;
        if (!end) {
            for (const char *p = r; *p && used + 2 < STREAM_MAX;) {
                size_t d = 0;
                while (isdigit((unsigned char)p[d])) d++;
                if (d >= 13) {
                    out[used++] = 'T';
                    p += d;
                } else if (d) {
                    size_t k = d < STREAM_MAX - used - 2 ? d : STREAM_MAX - used - 2;
                    memcpy(out + used, p, k);
                    used += k;
                    p += d;
                } else {
                    out[used++] = *p++;
                }
            }
            if (used + 1 < STREAM_MAX) out[used++] = '\n';
        }
        free(r);
        if (end) return out;
    }
}

static void detach(attach *a) {
    if (a->fd >= 0) raw_close(a->fd);
    free(a->buf);
}

/* Ends both streams with the marker and compares them with want. */
static void check_streams(attach *al, attach *ar, const char *want) {
    C("SET", "__marker__", "1");
    char *sl = read_stream(al);
    CHECK_EQ_STR(sl, want);
    if (ar->fd >= 0) {
        char *sr = read_stream(ar);
        CHECK_EQ_STR(sl, sr);
        free(sr);
    }
    free(sl);
}

TEST(select_only_when_the_database_changes) {
    REQUIRE(difftest_start(NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("SELECT", "9");
    C("SET", "a", "1");
    C("SET", "b", "2");
    C("SELECT", "0");
    C("SET", "c", "3");
    C("SET", "d", "4");
    C("SELECT", "9");
    C("MULTI");
    C("INCR", "a");
    C("INCR", "b");
    C("EXEC");
    C("SELECT", "0");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"9\"]\n"
                  "array[bulk:\"SET\",bulk:\"a\",bulk:\"1\"]\n"
                  "array[bulk:\"SET\",bulk:\"b\",bulk:\"2\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"SET\",bulk:\"c\",bulk:\"3\"]\n"
                  "array[bulk:\"SET\",bulk:\"d\",bulk:\"4\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"9\"]\n"
                  "array[bulk:\"MULTI\"]\n"
                  "array[bulk:\"INCR\",bulk:\"a\"]\n"
                  "array[bulk:\"INCR\",bulk:\"b\"]\n"
                  "array[bulk:\"EXEC\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n");
    detach(&al);
    detach(&ar);
    /* A second replica's stream starts with a SELECT again. */
    REQUIRE(attach_stream(LS, &al));
    ar.fd = -1;
    ar.buf = NULL;
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("SET", "e", "5");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"SET\",bulk:\"e\",bulk:\"5\"]\n");
    detach(&al);
    detach(&ar);
}

TEST(rewritten_commands) {
    REQUIRE(difftest_start(NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("SET", "foo", "bar");
    C("GETDEL", "foo");
    C("GETDEL", "foo"); /* nothing deleted: not propagated */
    C("SET", "cnt", "1");
    C("GETSET", "cnt", "2");
    C("RPUSH", "l", "a", "b", "c");
    C("LMPOP", "1", "l", "LEFT", "COUNT", "10");
    C("RPUSH", "l2", "x", "y");
    C("BLMPOP", "0", "2", "l", "l2", "RIGHT", "COUNT", "5");
    C("ZADD", "z", "1", "a", "2", "b", "3", "c");
    C("ZMPOP", "1", "z", "MAX", "COUNT", "2");
    C("BZMPOP", "0", "1", "z", "MIN", "COUNT", "9");
    C("RPUSH", "l", "q");
    C("BLPOP", "l", "0");
    C("CONFIG", "SET", "lazyfree-lazy-user-del", "yes");
    C("SET", "foo", "bar");
    C("GETDEL", "foo");
    C("CONFIG", "SET", "lazyfree-lazy-user-del", "no");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"SET\",bulk:\"foo\",bulk:\"bar\"]\n"
                  "array[bulk:\"DEL\",bulk:\"foo\"]\n"
                  "array[bulk:\"SET\",bulk:\"cnt\",bulk:\"1\"]\n"
                  "array[bulk:\"SET\",bulk:\"cnt\",bulk:\"2\"]\n"
                  "array[bulk:\"RPUSH\",bulk:\"l\",bulk:\"a\",bulk:\"b\",bulk:\"c\"]\n"
                  "array[bulk:\"LPOP\",bulk:\"l\",bulk:\"3\"]\n"
                  "array[bulk:\"RPUSH\",bulk:\"l2\",bulk:\"x\",bulk:\"y\"]\n"
                  "array[bulk:\"RPOP\",bulk:\"l2\",bulk:\"2\"]\n"
                  "array[bulk:\"ZADD\",bulk:\"z\",bulk:\"1\",bulk:\"a\",bulk:\"2\",bulk:\"b\",bulk:\"3\",bulk:\"c\"]\n"
                  "array[bulk:\"ZPOPMAX\",bulk:\"z\",bulk:\"2\"]\n"
                  "array[bulk:\"ZPOPMIN\",bulk:\"z\",bulk:\"1\"]\n"
                  "array[bulk:\"RPUSH\",bulk:\"l\",bulk:\"q\"]\n"
                  "array[bulk:\"LPOP\",bulk:\"l\"]\n"
                  "array[bulk:\"SET\",bulk:\"foo\",bulk:\"bar\"]\n"
                  "array[bulk:\"UNLINK\",bulk:\"foo\"]\n");
    detach(&al);
    detach(&ar);
}

/* Relative times become absolute (masked T here), SET's expiry as an
 * uppercase PXAT; a PEXPIREAT is propagated as sent (case and options
 * kept), as Redis does. */
TEST(expire_forms) {
    REQUIRE(difftest_start(NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("set", "k", "v", "ex", "100");
    C("set", "k", "v", "pxat", "4102444800000");
    C("expire", "k", "100");
    C("pexpireat", "k", "4102444800001", "gt");
    C("expireat", "k", "4102444802");
    C("expire", "k", "-1");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"SET\",bulk:\"k\",bulk:\"v\",bulk:\"PXAT\",bulk:\"T\"]\n"
                  "array[bulk:\"SET\",bulk:\"k\",bulk:\"v\",bulk:\"PXAT\",bulk:\"T\"]\n"
                  "array[bulk:\"PEXPIREAT\",bulk:\"k\",bulk:\"T\"]\n"
                  "array[bulk:\"pexpireat\",bulk:\"k\",bulk:\"T\",bulk:\"gt\"]\n"
                  "array[bulk:\"PEXPIREAT\",bulk:\"k\",bulk:\"T\"]\n"
                  "array[bulk:\"DEL\",bulk:\"k\"]\n");
    detach(&al);
    detach(&ar);
}

/* RESTORE is propagated with its own arguments, a relative TTL made
 * absolute and ABSTTL appended (Redis's expire unit "All TTL in commands
 * are propagated as absolute timestamp"). */
TEST(restore_ttl_forms) {
    REQUIRE(difftest_start(NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    EXPECT("status:\"OK\"", "SET", "k", "bar");
    redisReply *d = redisCommand(L, "DUMP k");
    REQUIRE(d && d->type == REDIS_REPLY_STRING);
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    redisContext *ctx[2] = {L, R};
    for (int i = 0; i < 2 && ctx[i]; i++) {
        freeReplyObject(redisCommand(ctx[i], "RESTORE r1 100000 %b", d->str, d->len));
        freeReplyObject(redisCommand(ctx[i], "RESTORE r2 4102444800000 %b ABSTTL", d->str, d->len));
        freeReplyObject(redisCommand(ctx[i], "RESTORE r3 0 %b", d->str, d->len));
        freeReplyObject(redisCommand(ctx[i], "RESTORE r3 100000 %b REPLACE", d->str, d->len));
    }
    freeReplyObject(d);
    C("SET", "__marker__", "1");
    char *sl = read_stream(&al);
    CHECK(strstr(sl, "bulk:\"RESTORE\",bulk:\"r1\",bulk:\"T\","));
    CHECK(strstr(sl, "bulk:\"REPLACE\",bulk:\"ABSTTL\"]"));
    if (ar.fd >= 0) {
        char *sr = read_stream(&ar);
        CHECK_EQ_STR(sl, sr);
        free(sr);
    }
    free(sl);
    detach(&al);
    detach(&ar);
}

/* appendonly no: the stream still exists for its consumers and carries the
 * same rewrites and MULTI/EXEC records as with a WAL. */
TEST(rewrites_without_wal) {
    REQUIRE(difftest_start("appendonly", "no", NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("SELECT", "1");
    C("RPUSH", "k", "hello");
    C("PEXPIRE", "k", "100000");
    C("SET", "s", "v", "EX", "100");
    C("SET", "cnt", "1");
    C("GETSET", "cnt", "2");
    C("MULTI");
    C("INCR", "cnt");
    C("EXPIRE", "cnt", "100");
    C("EXEC");
    C("SELECT", "0");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"1\"]\n"
                  "array[bulk:\"RPUSH\",bulk:\"k\",bulk:\"hello\"]\n"
                  "array[bulk:\"PEXPIREAT\",bulk:\"k\",bulk:\"T\"]\n"
                  "array[bulk:\"SET\",bulk:\"s\",bulk:\"v\",bulk:\"PXAT\",bulk:\"T\"]\n"
                  "array[bulk:\"SET\",bulk:\"cnt\",bulk:\"1\"]\n"
                  "array[bulk:\"SET\",bulk:\"cnt\",bulk:\"2\"]\n"
                  "array[bulk:\"MULTI\"]\n"
                  "array[bulk:\"INCR\",bulk:\"cnt\"]\n"
                  "array[bulk:\"PEXPIREAT\",bulk:\"cnt\",bulk:\"T\"]\n"
                  "array[bulk:\"EXEC\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n");
    detach(&al);
    detach(&ar);
}

/* SELECT inside MULTI or a script: the stream follows the database the
 * commands ran in and stays there afterwards. */
TEST(select_inside_transactions_and_scripts) {
    REQUIRE(difftest_start(NULL));
    attach al, ar = {.fd = -1};
    C("CONFIG", "SET", "repl-ping-replica-period", "3600");
    REQUIRE(attach_stream(LS, &al));
    if (RS) REQUIRE(attach_stream(RS, &ar));
    C("MULTI");
    C("SET", "a", "1");
    C("SELECT", "5");
    C("SET", "b", "2");
    C("EXEC");
    C("SET", "c", "3");         /* still database 5: no SELECT */
    C("EVAL", "redis.call('select', 3); redis.call('set', 's', 'v')", "0");
    C("SET", "d", "4");         /* the caller's database 5 again */
    C("MULTI");
    C("SELECT", "0");
    C("SET", "e", "5");         /* one write: no MULTI/EXEC around it */
    C("EXEC");
    C("SET", "f", "6");
    C("SELECT", "9");
    C("MULTI");
    C("SELECT", "0");
    C("SET", "g", "7");         /* MULTI goes in the first write's database */
    C("SELECT", "9");
    C("SET", "g", "8");
    C("EXEC");
    C("RPUSH", "l", "x");
    C("LTRIM", "l", "0", "-1"); /* removes nothing: not propagated */
    C("SELECT", "0");
    check_streams(&al, &ar,
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"MULTI\"]\n"
                  "array[bulk:\"SET\",bulk:\"a\",bulk:\"1\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"5\"]\n"
                  "array[bulk:\"SET\",bulk:\"b\",bulk:\"2\"]\n"
                  "array[bulk:\"EXEC\"]\n"
                  "array[bulk:\"SET\",bulk:\"c\",bulk:\"3\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"3\"]\n"
                  "array[bulk:\"set\",bulk:\"s\",bulk:\"v\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"5\"]\n"
                  "array[bulk:\"SET\",bulk:\"d\",bulk:\"4\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n"
                  "array[bulk:\"SET\",bulk:\"e\",bulk:\"5\"]\n"
                  "array[bulk:\"SET\",bulk:\"f\",bulk:\"6\"]\n"
                  "array[bulk:\"MULTI\"]\n"
                  "array[bulk:\"SET\",bulk:\"g\",bulk:\"7\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"9\"]\n"
                  "array[bulk:\"SET\",bulk:\"g\",bulk:\"8\"]\n"
                  "array[bulk:\"EXEC\"]\n"
                  "array[bulk:\"RPUSH\",bulk:\"l\",bulk:\"x\"]\n"
                  "array[bulk:\"SELECT\",bulk:\"0\"]\n");
    detach(&al);
    detach(&ar);
}

int main(void) {
    RUN(select_only_when_the_database_changes);
    RUN(rewritten_commands);
    RUN(select_inside_transactions_and_scripts);
    RUN(restore_ttl_forms);
    RUN(expire_forms);
    RUN(rewrites_without_wal);
    return testlib_finish();
}
