/*
 * Client-side caching: CLIENT TRACKING in its modes (default, OPTIN,
 * OPTOUT, BCAST with prefixes, NOLOOP, REDIRECT to a RESP2 subscriber or a
 * RESP3 connection), CLIENT CACHING / GETREDIR / TRACKINGINFO, and the
 * invalidations writes, expiry and FLUSHALL cause — compared byte for byte
 * with a real redis-server over raw sockets. The servers run several I/O
 * threads, so the tracking client and the writer are usually served by
 * different threads. A load test checks every tracked key is invalidated
 * exactly once for every client across threads, and tracking-table-max-keys
 * bounds the table.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../difftest.h"
#include "../harness.h"
#include "../testlib.h"

static char ring[32][4096];
static int ring_pos;

/* One reply from fl and one from fr (fr < 0: none), CHECKed equal;
 * returns Lightning's rendering (valid for 32 calls). */
static const char *pair_read(const char *file, int line, int fl, int fr) {
    char *slot = ring[ring_pos++ % 32];
    raw_buf bl = {0}, br = {0};
    if (!raw_read_reply(fl, 5000, &bl)) {
        snprintf(slot, 4096, "(no reply)");
        testlib_fail(file, line, "no reply from Lightning");
        raw_buf_free(&bl);
        return slot;
    }
    char *tl = resp_render(bl.data, bl.len);
    snprintf(slot, 4096, "%s", tl);
    if (fr >= 0) {
        if (!raw_read_reply(fr, 5000, &br)) {
            testlib_fail(file, line, "no reply from Redis");
        } else {
            char *tr = resp_render(br.data, br.len);
            if (strcmp(tl, tr) != 0) {
                char msg[1024];
                snprintf(msg, sizeof(msg), "Lightning %.480s, Redis %.480s", tl, tr);
                testlib_fail(file, line, msg);
            }
            free(tr);
        }
    }
    free(tl);
    raw_buf_free(&bl);
    raw_buf_free(&br);
    return slot;
}
#define READ2(fl, fr) pair_read(__FILE__, __LINE__, (fl), (fr))

static void pair_send(int fl, int fr, const char *const *argv) {
    CHECK(raw_send_argv(fl, argv) == 0);
    if (fr >= 0) CHECK(raw_send_argv(fr, argv) == 0);
}
#define SEND2(fl, fr, ...) pair_send((fl), (fr), (const char *const[]){__VA_ARGS__, NULL})
#define CMD2(fl, fr, ...) (SEND2(fl, fr, __VA_ARGS__), READ2(fl, fr))

/* The connection's client id (each server numbers its own). */
static long long client_id(int fd) {
    const char *r = RAW_CMD(fd, "CLIENT", "ID");
    long long id = -1;
    if (sscanf(r, "int:%lld", &id) != 1) return -1;
    return id;
}

#define INV(k) "push[bulk:\"invalidate\",array[bulk:\"" k "\"]]"

TEST(default_mode_resp3) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int tl, tr, wl, wr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "TRACKING", "on"), "status:\"OK\"");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "GETREDIR"), "int:0");
    CHECK_EQ_STR(CMD2(tl, tr, "GET", "k"), "null");
    /* Another connection writes: one invalidation, then none (the key
     * left the table until read again). */
    CHECK_EQ_STR(CMD2(wl, wr, "SET", "k", "1"), "status:\"OK\"");
    CHECK_EQ_STR(READ2(tl, tr), INV("k"));
    CMD2(wl, wr, "SET", "k", "2");
    CMD2(tl, tr, "MGET", "k", "a", "b");
    CMD2(wl, wr, "MSET", "a", "1", "b", "2");
    CHECK_EQ_STR(READ2(tl, tr), INV("a"));
    CHECK_EQ_STR(READ2(tl, tr), INV("b"));
    /* Its own write: the invalidation follows the reply. */
    CMD2(tl, tr, "GET", "k");
    SEND2(tl, tr, "INCR", "k");
    CHECK_EQ_STR(READ2(tl, tr), "int:3");
    CHECK_EQ_STR(READ2(tl, tr), INV("k"));
    /* ... and EXEC's reply. */
    CMD2(tl, tr, "GET", "k");
    CMD2(tl, tr, "MULTI");
    CMD2(tl, tr, "GET", "k");
    CMD2(tl, tr, "SET", "k", "x");
    CHECK_EQ_STR(CMD2(tl, tr, "EXEC"), "array[bulk:\"3\",status:\"OK\"]");
    CHECK_EQ_STR(READ2(tl, tr), INV("k"));
    /* Collections and deletions. */
    CMD2(tl, tr, "LRANGE", "l", "0", "-1");
    CMD2(tl, tr, "HGET", "h", "f");
    CMD2(wl, wr, "RPUSH", "l", "x");
    CHECK_EQ_STR(READ2(tl, tr), INV("l"));
    CMD2(wl, wr, "HSET", "h", "f", "v");
    CHECK_EQ_STR(READ2(tl, tr), INV("h"));
    CMD2(tl, tr, "HGET", "h", "f");
    CMD2(wl, wr, "DEL", "h");
    CHECK_EQ_STR(READ2(tl, tr), INV("h"));
    /* FLUSHALL: a null invalidation for every tracking client. */
    CMD2(tl, tr, "GET", "k");
    CMD2(wl, wr, "FLUSHALL");
    CHECK_EQ_STR(READ2(tl, tr), "push[bulk:\"invalidate\",null]");
    SEND2(tl, tr, "FLUSHALL");
    CHECK_EQ_STR(READ2(tl, tr), "status:\"OK\"");
    CHECK_EQ_STR(READ2(tl, tr), "push[bulk:\"invalidate\",null]");
    /* Off: nothing more. */
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "TRACKING", "off"), "status:\"OK\"");
    CMD2(tl, tr, "GET", "k");
    CMD2(wl, wr, "SET", "k", "1");
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "GETREDIR"), "int:-1");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
}

/* Scripts: the keys a script command declares are tracked when (and only
 * when) the script runs a read-only command; EVAL_RO/FCALL_RO are not
 * tracked by themselves. A script's own write invalidates its caller. */
TEST(scripts_track_declared_keys) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int tl, tr, wl, wr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "TRACKING", "on"), "status:\"OK\"");
    CMD2(tl, tr, "EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2");
    CMD2(wl, wr, "MSET", "k2", "1", "k1", "1");
    CMD2(tl, tr, "EVAL", "redis.call('get', 'k3')", "2", "k1", "k2");
    CMD2(wl, wr, "MSET", "k2", "2", "k1", "2");
    CHECK_EQ_STR(READ2(tl, tr), INV("k2"));
    CHECK_EQ_STR(READ2(tl, tr), INV("k1"));
    CMD2(tl, tr, "EVAL_RO", "redis.call('ping')", "2", "k1", "k2");
    CMD2(wl, wr, "MSET", "k2", "3", "k1", "3");
    CMD2(tl, tr, "EVAL_RO", "redis.call('get', 'k1')", "2", "k1", "k2");
    CMD2(wl, wr, "MSET", "k2", "4", "k1", "4");
    CHECK_EQ_STR(READ2(tl, tr), INV("k2"));
    CHECK_EQ_STR(READ2(tl, tr), INV("k1"));
    /* The script reads a declared key, then writes it: the caller's own
     * invalidation follows the reply. */
    SEND2(tl, tr, "EVAL", "redis.call('get', KEYS[1]) return redis.call('incr', KEYS[1])", "1",
          "k1");
    CHECK_EQ_STR(READ2(tl, tr), "int:5");
    CHECK_EQ_STR(READ2(tl, tr), INV("k1"));
    CHECK_EQ_STR(CMD2(tl, tr, "PING"), "status:\"PONG\"");
}

TEST(options_and_errors) {
    REQUIRE(difftest_start_servers(NULL));
    int tl, tr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "REDIRECT", "99999");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "REDIRECT", "0");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "REDIRECT", "x");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "PREFIX", "a");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "OPTIN");
    CMD2(tl, tr, "CLIENT", "TRACKING", "maybe");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "FOO");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "PREFIX");
    CMD2(tl, tr, "CLIENT", "TRACKING");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab");
    /* Redis 7.0 replies the overlap error and then enables tracking (and
     * replies OK) when the overlap is not with the first prefix. */
    CHECK_EQ_STR(CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "a",
                      "PREFIX", "ab"),
                 "err:\"ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a "
                 "single client must not overlap.\"");
    CHECK_EQ_STR(READ2(tl, tr), "status:\"OK\"");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c", "NOLOOP");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CMD2(tl, tr, "CLIENT", "CACHING", "yes");
    CMD2(tl, tr, "CLIENT", "TRACKING", "off");
    CMD2(tl, tr, "CLIENT", "CACHING", "yes");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTIN");
    CMD2(tl, tr, "CLIENT", "CACHING", "no");
    CMD2(tl, tr, "CLIENT", "CACHING", "yes");
    CMD2(tl, tr, "CLIENT", "CACHING", "maybe");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CMD2(tl, tr, "PING");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTOUT");
    CMD2(tl, tr, "CLIENT", "TRACKING", "off");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTOUT");
    CMD2(tl, tr, "CLIENT", "CACHING", "no");
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    /* HELLO's reply names the client id: not compared. */
    SEND2(tl, tr, "HELLO", "2");
    READ2(tl, -1);
    if (tr >= 0) READ2(tr, -1);
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    CMD2(tl, tr, "CONFIG", "GET", "tracking-table-max-keys");
    CMD2(tl, tr, "CONFIG", "SET", "tracking-table-max-keys", "-1");
    CMD2(tl, tr, "CONFIG", "SET", "tracking-table-max-keys", "abc");
    CMD2(tl, tr, "CONFIG", "SET", "tracking-table-max-keys", "5");
    CMD2(tl, tr, "CONFIG", "GET", "tracking-table-max-keys");
}

TEST(optin_optout) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int tl, tr, wl, wr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTIN");
    CMD2(tl, tr, "GET", "a");
    CMD2(tl, tr, "CLIENT", "CACHING", "yes");
    CMD2(tl, tr, "GET", "b");
    CMD2(tl, tr, "GET", "c");
    CMD2(wl, wr, "MSET", "a", "1", "b", "1", "c", "1");
    /* Only b was remembered: a's would have come first. */
    CHECK_EQ_STR(READ2(tl, tr), INV("b"));
    CMD2(tl, tr, "CLIENT", "TRACKING", "off");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "OPTOUT");
    CMD2(tl, tr, "CLIENT", "CACHING", "no");
    CMD2(tl, tr, "GET", "a");
    CMD2(tl, tr, "GET", "b");
    CMD2(wl, wr, "MSET", "a", "2", "b", "2");
    CHECK_EQ_STR(READ2(tl, tr), INV("b"));
}

TEST(bcast_prefixes_noloop) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int tl, tr, wl, wr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "obj:",
         "NOLOOP");
    /* Its own writes: nothing (NOLOOP). */
    CMD2(tl, tr, "SET", "user:1", "x");
    /* One message per prefix for a batch, keys sorted. */
    CMD2(wl, wr, "MSET", "user:3", "a", "user:2", "b", "other", "c");
    CHECK_EQ_STR(READ2(tl, tr),
                 "push[bulk:\"invalidate\",array[bulk:\"user:2\",bulk:\"user:3\"]]");
    CMD2(wl, wr, "DEL", "user:1");
    CHECK_EQ_STR(READ2(tl, tr), INV("user:1"));
    CMD2(wl, wr, "HSET", "obj:9", "f", "v");
    CHECK_EQ_STR(READ2(tl, tr), INV("obj:9"));
    CMD2(tl, tr, "CLIENT", "TRACKINGINFO");
    /* BCAST without prefixes: every key. */
    CMD2(tl, tr, "CLIENT", "TRACKING", "off");
    CMD2(tl, tr, "CLIENT", "TRACKING", "on", "BCAST");
    CMD2(wl, wr, "SET", "zzz", "1");
    CHECK_EQ_STR(READ2(tl, tr), INV("zzz"));
    SEND2(tl, tr, "SET", "mine", "1");
    CHECK_EQ_STR(READ2(tl, tr), "status:\"OK\"");
    CHECK_EQ_STR(READ2(tl, tr), INV("mine"));
}

/* RESP2: invalidations go to a connection subscribed to
 * __redis__:invalidate, as messages whose payload is the array of keys. */
TEST(resp2_redirect) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int tl, tr, rl, rr, wl, wr;
    REQUIRE(difftest_raw_connect(2, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &rl, &rr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    char idl[24], idr[24];
    snprintf(idl, sizeof(idl), "%lld", client_id(rl));
    snprintf(idr, sizeof(idr), "%lld", rr >= 0 ? client_id(rr) : 0);
    CMD2(rl, rr, "SUBSCRIBE", "__redis__:invalidate");
    CHECK_EQ_STR(RAW_CMD(tl, "CLIENT", "TRACKING", "on", "REDIRECT", idl), "status:\"OK\"");
    if (tr >= 0) CHECK_EQ_STR(RAW_CMD(tr, "CLIENT", "TRACKING", "on", "REDIRECT", idr), "status:\"OK\"");
    const char *redir = RAW_CMD(tl, "CLIENT", "GETREDIR");
    char want[64];
    snprintf(want, sizeof(want), "int:%s", idl);
    CHECK_EQ_STR(redir, want);
    CMD2(tl, tr, "GET", "k");
    CMD2(wl, wr, "SET", "k", "v");
    CHECK_EQ_STR(READ2(rl, rr),
                 "array[bulk:\"message\",bulk:\"__redis__:invalidate\",array[bulk:\"k\"]]");
    CMD2(tl, tr, "GET", "k");
    CMD2(wl, wr, "FLUSHALL");
    CHECK_EQ_STR(READ2(rl, rr), "array[bulk:\"message\",bulk:\"__redis__:invalidate\",nil]");
    /* The redirect target goes away: a RESP3 tracking client is told once. */
    SEND2(tl, tr, "HELLO", "3");
    READ2(tl, -1);
    if (tr >= 0) READ2(tr, -1);
    CMD2(tl, tr, "GET", "k");
    raw_close(rl);
    if (rr >= 0) raw_close(rr);
    usleep(100000); /* the close is noticed by the servers' own threads */
    CMD2(wl, wr, "SET", "k", "v");
    const char *b = READ2(tl, -1);
    snprintf(want, sizeof(want), "push[bulk:\"tracking-redir-broken\",int:%s]", idl);
    CHECK_EQ_STR(b, want);
    if (tr >= 0) READ2(tr, -1);
    snprintf(want, sizeof(want), "bulk:\"redirect\"=>int:%s", idl);
    const char *info = READ2((raw_send_argv(tl, (const char *const[]){"CLIENT", "TRACKINGINFO", NULL}), tl), -1);
    CHECK(strstr(info, "set{bulk:\"on\",bulk:\"broken_redirect\"}") != NULL);
    CHECK(strstr(info, want) != NULL);
}

/* Expired keys are invalidated too (lazily here: the reader's GET). */
TEST(expiry_invalidates) {
    REQUIRE(difftest_start_servers(NULL));
    int tl, tr, wl, wr;
    REQUIRE(difftest_raw_connect(3, &tl, &tr));
    REQUIRE(difftest_raw_connect(2, &wl, &wr));
    CMD2(tl, tr, "CLIENT", "TRACKING", "on");
    CMD2(wl, wr, "SET", "k", "v", "PX", "50");
    CMD2(tl, tr, "GET", "k");
    usleep(100000);
    /* Whichever comes first (active expiry or this lookup) deletes it and
     * invalidates k; the lookup reads nothing then. */
    raw_buf b = {0};
    CHECK(raw_send_argv(tl, (const char *const[]){"GET", "k", NULL}) == 0);
    int got_inv = 0, got_null = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(raw_read_reply(tl, 5000, &b));
        char *t = resp_render(b.data, b.len);
        if (!strcmp(t, INV("k"))) got_inv++;
        if (!strcmp(t, "null")) got_null++;
        free(t);
        raw_buf_free(&b);
    }
    CHECK_EQ_INT(got_inv, 1);
    CHECK_EQ_INT(got_null, 1);
}

/* Many tracking clients spread over the I/O threads; a writer changes
 * every key: each client gets exactly one invalidation per key it read. */
#define TRK_CLIENTS 24
#define TRK_KEYS 200

TEST(invalidations_across_threads) {
    harness_server *s = harness_start("io-threads", "4", NULL);
    REQUIRE(s);
    static int fds[TRK_CLIENTS];
    static int seen[TRK_CLIENTS][TRK_KEYS];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < TRK_CLIENTS; i++) {
        fds[i] = raw_connect(s->port);
        REQUIRE(fds[i] >= 0);
        CHECK(strstr(RAW_CMD(fds[i], "HELLO", "3"), "map{") != NULL);
        CHECK_EQ_STR(RAW_CMD(fds[i], "CLIENT", "TRACKING", "on"), "status:\"OK\"");
        /* Client i reads every key k with k % 3 != i % 3. */
        for (int k = 0; k < TRK_KEYS; k++) {
            if (k % 3 == i % 3) continue;
            char key[16];
            snprintf(key, sizeof(key), "k%d", k);
            RAW_CMD(fds[i], "GET", key);
        }
    }
    redisContext *w = harness_connect(s);
    REQUIRE(w);
    for (int k = 0; k < TRK_KEYS; k++) redisAppendCommand(w, "SET k%d v", k);
    for (int k = 0; k < TRK_KEYS; k++) {
        redisReply *r = NULL;
        CHECK(redisGetReply(w, (void **)&r) == REDIS_OK);
        if (r) freeReplyObject(r);
    }
    int bad = 0;
    for (int i = 0; i < TRK_CLIENTS; i++) {
        /* Then a marker: PING's reply comes after what was queued before
         * it only on the same thread, so count until all arrived. */
        int want = 0;
        for (int k = 0; k < TRK_KEYS; k++) want += k % 3 != i % 3;
        for (int got = 0; got < want;) {
            raw_buf b = {0};
            if (!raw_read_reply(fds[i], 5000, &b)) {
                bad++;
                raw_buf_free(&b);
                break;
            }
            int k;
            const char *p = strstr(b.data, "\r\n$");
            p = p ? strstr(p + 3, "\r\n$") : NULL;
            if (!p || sscanf(strstr(p, "\r\nk") + 3, "%d", &k) != 1 || k < 0 || k >= TRK_KEYS) {
                bad++;
            } else {
                seen[i][k]++;
                got++;
            }
            raw_buf_free(&b);
        }
        for (int k = 0; k < TRK_KEYS; k++)
            if (seen[i][k] != (k % 3 != i % 3)) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* Nothing more: a second round of writes invalidates nothing (the
     * keys left the table), so the next reply is PING's. */
    CHECK_EQ_STR(cmd(w, "SET k1 again"), "status:\"OK\"");
    for (int i = 0; i < TRK_CLIENTS; i++) CHECK_EQ_STR(RAW_CMD(fds[i], "PING"), "status:\"PONG\"");
}

/* tracking-table-max-keys: past the limit keys are invalidated (for the
 * clients that read them) and forgotten. */
TEST(table_bounded) {
    harness_server *s = harness_start("tracking-table-max-keys", "10", NULL);
    REQUIRE(s);
    int t = raw_connect(s->port);
    REQUIRE(t >= 0);
    RAW_CMD(t, "HELLO", "3");
    CHECK_EQ_STR(RAW_CMD(t, "CLIENT", "TRACKING", "on"), "status:\"OK\"");
    int pushes = 0;
    for (int k = 0; k < 30; k++) {
        char key[16];
        snprintf(key, sizeof(key), "key%d", k);
        CHECK(raw_send_argv(t, (const char *const[]){"GET", key, NULL}) == 0);
        /* The GET's reply, then an eviction's invalidation once past 10. */
        for (int n = 0; n < (k >= 10 ? 2 : 1); n++) {
            raw_buf b = {0};
            CHECK(raw_read_reply(t, 5000, &b));
            if (b.data && strstr(b.data, "invalidate")) pushes++;
            raw_buf_free(&b);
        }
    }
    CHECK_EQ_INT(pushes, 20);
    redisContext *w = harness_connect(s);
    REQUIRE(w);
    char v[32];
    harness_info(w, "stats", "tracking_total_keys", v, sizeof(v));
    CHECK_EQ_STR(v, "10");
    harness_info(w, "clients", "tracking_clients", v, sizeof(v));
    CHECK_EQ_STR(v, "1");
    /* Only 10 keys are still tracked: writing all 30 invalidates 10. */
    for (int k = 0; k < 30; k++) CHECK_EQ_STR(cmd(w, "SET key%d v", k), "status:\"OK\"");
    pushes = 0;
    for (int n = 0; n < 10; n++) {
        raw_buf b = {0};
        CHECK(raw_read_reply(t, 5000, &b));
        if (b.data && strstr(b.data, "invalidate")) pushes++;
        raw_buf_free(&b);
    }
    CHECK_EQ_INT(pushes, 10);
    CHECK_EQ_STR(RAW_CMD(t, "PING"), "status:\"PONG\"");
}

int main(void) {
    RUN(default_mode_resp3);
    RUN(scripts_track_declared_keys);
    RUN(options_and_errors);
    RUN(optin_optout);
    RUN(bcast_prefixes_noloop);
    RUN(resp2_redirect);
    RUN(expiry_invalidates);
    RUN(invalidations_across_threads);
    RUN(table_bounded);
    return testlib_finish();
}
