/*
 * Pub/Sub: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE and their UNSUBSCRIBEs,
 * PUBLISH / SPUBLISH, PUBSUB ..., RESP2 subscribed mode and RESP3 pushes,
 * compared byte for byte with a real redis-server over raw sockets; CLIENT
 * LIST's sub/psub/ssub counts; pushes that CLIENT REPLY OFF/SKIP do not
 * silence; delivery across I/O threads (many
 * subscribers, several publishers: every message arrives once and in each
 * publisher's order); a subscriber that never reads is cut off at the
 * output limit while another keeps receiving everything.
 */
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../difftest.h"
#include "../harness.h"
#include "../testlib.h"

/* ---- Raw pair helpers --------------------------------------------------------------- */

static char ring[32][4096];
static int ring_pos;

/* Reads one reply from fl and one from fr (fr < 0: none), CHECKs their
 * renderings are equal and returns Lightning's (valid for 32 calls). */
static const char *pair_read(const char *file, int line, int fl, int fr) {
    char *slot = ring[ring_pos++ % 32];
    raw_buf bl = {0}, br = {0};
    if (!raw_read_reply(fl, 5000, &bl)) {
        snprintf(slot, 4096, "(no reply%s)", bl.closed ? ": closed" : "");
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
                snprintf(msg, sizeof(msg), "Lightning %s, Redis %s", tl, tr);
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
/* A command and its one reply, compared. */
#define CMD2(fl, fr, ...) (SEND2(fl, fr, __VA_ARGS__), READ2(fl, fr))

/* ---- Protocol and reply shapes ----------------------------------------------------------- */

static void subscribed_mode(int resp) {
    /* Several I/O threads: the subscriber and the publisher are served by
     * different threads, so messages take the cross-thread path. */
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    int sl, sr, pl, pr;
    REQUIRE(difftest_raw_connect(resp, &sl, &sr));
    REQUIRE(difftest_raw_connect(2, &pl, &pr));
    const char *sub = resp == 3 ? "push" : "array";
    char want[256];

    SEND2(sl, sr, "SUBSCRIBE", "a", "b", "a");
    snprintf(want, sizeof(want), "%s[bulk:\"subscribe\",bulk:\"a\",int:1]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    snprintf(want, sizeof(want), "%s[bulk:\"subscribe\",bulk:\"b\",int:2]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    snprintf(want, sizeof(want), "%s[bulk:\"subscribe\",bulk:\"a\",int:2]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    if (resp == 2) {
        CHECK_EQ_STR(CMD2(sl, sr, "GET", "x"),
                     "err:\"ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                     "PING / QUIT / RESET are allowed in this context\"");
        CMD2(sl, sr, "CLIENT", "LIST");
        CMD2(sl, sr, "HELLO", "3");
        CHECK_EQ_STR(CMD2(sl, sr, "PING"), "array[bulk:\"pong\",bulk:\"\"]");
        CHECK_EQ_STR(CMD2(sl, sr, "PING", "hi"), "array[bulk:\"pong\",bulk:\"hi\"]");
    } else {
        CHECK_EQ_STR(CMD2(sl, sr, "GET", "x"), "null");
        CHECK_EQ_STR(CMD2(sl, sr, "PING"), "status:\"PONG\"");
    }
    CMD2(sl, sr, "PING", "a", "b");
    CMD2(sl, sr, "SUBSCRIBE");
    SEND2(sl, sr, "PSUBSCRIBE", "p*", "a*");
    READ2(sl, sr);
    snprintf(want, sizeof(want), "%s[bulk:\"psubscribe\",bulk:\"a*\",int:4]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);

    /* One delivery per matching subscription: the channel and a pattern. */
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "a", "m1"), "int:2");
    snprintf(want, sizeof(want), "%s[bulk:\"message\",bulk:\"a\",bulk:\"m1\"]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    snprintf(want, sizeof(want), "%s[bulk:\"pmessage\",bulk:\"a*\",bulk:\"a\",bulk:\"m1\"]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "pq", "m2"), "int:1");
    READ2(sl, sr);
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "zz", "m3"), "int:0");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "b", ""), "int:1");
    READ2(sl, sr);
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "NUMSUB", "a", "b", "c"),
                 "array[bulk:\"a\",int:1,bulk:\"b\",int:1,bulk:\"c\",int:0]");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "NUMSUB"), "array[]");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "NUMPAT"), "int:2");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "CHANNELS", "a"), "array[bulk:\"a\"]");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "CHANNELS", "x*"), "array[]");
    CMD2(pl, pr, "PUBSUB", "CHANNELS", "a", "b");
    CMD2(pl, pr, "PUBSUB", "NUMPAT", "x");
    CMD2(pl, pr, "PUBSUB");
    CMD2(pl, pr, "PUBSUB", "nope");
    CMD2(pl, pr, "PUBLISH", "a");

    /* Shard channels: counted apart, reached only by SPUBLISH. */
    snprintf(want, sizeof(want), "%s[bulk:\"ssubscribe\",bulk:\"s1\",int:1]", sub);
    CHECK_EQ_STR(CMD2(sl, sr, "SSUBSCRIBE", "s1"), want);
    CHECK_EQ_STR(CMD2(pl, pr, "SPUBLISH", "s1", "sm"), "int:1");
    snprintf(want, sizeof(want), "%s[bulk:\"smessage\",bulk:\"s1\",bulk:\"sm\"]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "s1", "x"), "int:0");
    CHECK_EQ_STR(CMD2(pl, pr, "SPUBLISH", "a", "x"), "int:0");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "SHARDCHANNELS"), "array[bulk:\"s1\"]");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "SHARDNUMSUB", "s1", "a"),
                 "array[bulk:\"s1\",int:1,bulk:\"a\",int:0]");

    /* Leaving, one by one and all at once. */
    CMD2(sl, sr, "UNSUBSCRIBE", "b");
    CMD2(sl, sr, "UNSUBSCRIBE", "nope");
    CMD2(sl, sr, "UNSUBSCRIBE");
    snprintf(want, sizeof(want), "%s[bulk:\"unsubscribe\",%s,int:2]", sub,
             resp == 3 ? "null" : "nil");
    CHECK_EQ_STR(CMD2(sl, sr, "UNSUBSCRIBE"), want);
    CMD2(sl, sr, "PUNSUBSCRIBE", "p*");
    CMD2(sl, sr, "PUNSUBSCRIBE");
    CMD2(sl, sr, "PUNSUBSCRIBE");
    /* Still subscribed to a shard channel: still in subscribed mode. */
    CMD2(sl, sr, "GET", "x");
    snprintf(want, sizeof(want), "%s[bulk:\"sunsubscribe\",bulk:\"s1\",int:0]", sub);
    CHECK_EQ_STR(CMD2(sl, sr, "SUNSUBSCRIBE"), want);
    CMD2(sl, sr, "SUNSUBSCRIBE");
    CHECK_EQ_STR(CMD2(sl, sr, "PING"), "status:\"PONG\"");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "NUMPAT"), "int:0");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "CHANNELS"), "array[]");

    /* SUBSCRIBE inside MULTI runs at EXEC and leaves the client subscribed. */
    CMD2(sl, sr, "MULTI");
    CMD2(sl, sr, "SUBSCRIBE", "m");
    CMD2(sl, sr, "EXEC");
    CMD2(sl, sr, "GET", "x");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "m", "hi"), "int:1");
    READ2(sl, sr);

    /* RESET leaves every subscription (and RESP3). */
    CHECK_EQ_STR(CMD2(sl, sr, "RESET"), "status:\"RESET\"");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBSUB", "NUMSUB", "m"), "array[bulk:\"m\",int:0]");
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "m", "hi"), "int:0");
    CHECK_EQ_STR(CMD2(sl, sr, "GET", "x"), "nil");
}

TEST(resp2_subscribed_mode) { subscribed_mode(2); }
TEST(resp3_pushes_between_replies) { subscribed_mode(3); }

/* RESP3: a client publishing to itself sees the push before PUBLISH's
 * reply; replies and pushes interleave in order. */
TEST(resp3_publish_to_self) {
    REQUIRE(difftest_start_servers(NULL));
    int sl, sr;
    REQUIRE(difftest_raw_connect(3, &sl, &sr));
    CMD2(sl, sr, "SUBSCRIBE", "q");
    CMD2(sl, sr, "PSUBSCRIBE", "q*");
    SEND2(sl, sr, "PUBLISH", "q", "hello");
    CHECK_EQ_STR(READ2(sl, sr), "push[bulk:\"message\",bulk:\"q\",bulk:\"hello\"]");
    CHECK_EQ_STR(READ2(sl, sr), "push[bulk:\"pmessage\",bulk:\"q*\",bulk:\"q\",bulk:\"hello\"]");
    CHECK_EQ_STR(READ2(sl, sr), "int:2");
    CHECK_EQ_STR(CMD2(sl, sr, "SET", "k", "v"), "status:\"OK\"");
    CHECK_EQ_STR(CMD2(sl, sr, "GET", "k"), "bulk:\"v\"");
    /* HELLO 2 while subscribed: RESP2 subscribed mode from then on (the
     * reply names the client id: not compared). */
    SEND2(sl, sr, "HELLO", "2");
    READ2(sl, -1);
    if (sr >= 0) READ2(sr, -1);
    CMD2(sl, sr, "GET", "k");
    CMD2(sl, sr, "PING");
}

/* CLIENT REPLY OFF / SKIP silence replies but never pushes: subscribe
 * confirmations and messages arrive (RESP2 and RESP3), as in Redis. */
static void reply_off_pushes(int resp) {
    REQUIRE(difftest_start_servers(NULL));
    int sl, sr, pl, pr;
    REQUIRE(difftest_raw_connect(resp, &sl, &sr));
    REQUIRE(difftest_raw_connect(2, &pl, &pr));
    const char *sub = resp == 3 ? "push" : "array";
    char want[256];
    SEND2(sl, sr, "CLIENT", "REPLY", "OFF");
    SEND2(sl, sr, "SUBSCRIBE", "ch");
    snprintf(want, sizeof(want), "%s[bulk:\"subscribe\",bulk:\"ch\",int:1]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    SEND2(sl, sr, "PSUBSCRIBE", "c*");
    snprintf(want, sizeof(want), "%s[bulk:\"psubscribe\",bulk:\"c*\",int:2]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    CHECK_EQ_STR(CMD2(pl, pr, "PUBLISH", "ch", "hello"), "int:2");
    snprintf(want, sizeof(want), "%s[bulk:\"message\",bulk:\"ch\",bulk:\"hello\"]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    READ2(sl, sr);
    /* PING's reply stays silenced; the unsubscribe confirmations do not. */
    SEND2(sl, sr, "PING");
    SEND2(sl, sr, "UNSUBSCRIBE", "ch");
    snprintf(want, sizeof(want), "%s[bulk:\"unsubscribe\",bulk:\"ch\",int:1]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    SEND2(sl, sr, "PUNSUBSCRIBE", "c*");
    snprintf(want, sizeof(want), "%s[bulk:\"punsubscribe\",bulk:\"c*\",int:0]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
    SEND2(sl, sr, "CLIENT", "REPLY", "ON");
    CHECK_EQ_STR(READ2(sl, sr), "status:\"OK\"");
    /* SKIP: only the next command's own reply is dropped. */
    SEND2(sl, sr, "CLIENT", "REPLY", "SKIP");
    SEND2(sl, sr, "SUBSCRIBE", "x");
    snprintf(want, sizeof(want), "%s[bulk:\"subscribe\",bulk:\"x\",int:1]", sub);
    CHECK_EQ_STR(READ2(sl, sr), want);
}

TEST(resp2_reply_off_keeps_pushes) { reply_off_pushes(2); }
TEST(resp3_reply_off_keeps_pushes) { reply_off_pushes(3); }

/* Field `name=` of a CLIENT LIST line for the client named `who`. */
static void client_field(const char *list, const char *who, const char *field, char *out,
                         size_t outlen) {
    out[0] = '\0';
    char key[64];
    snprintf(key, sizeof(key), " name=%s ", who);
    const char *line = strstr(list, key);
    if (!line) return;
    char f[32];
    snprintf(f, sizeof(f), " %s=", field);
    const char *p = strstr(line, f);
    const char *nl = strchr(line, '\n');
    if (!p || (nl && p > nl)) return;
    p += strlen(f);
    size_t n = strcspn(p, " \n");
    if (n >= outlen) n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

TEST(client_list_counts) {
    REQUIRE(difftest_start_servers(NULL));
    int sl, sr;
    REQUIRE(difftest_raw_connect(2, &sl, &sr));
    REQUIRE(difftest_connect());
    CMD2(sl, sr, "CLIENT", "SETNAME", "subx");
    CMD2(sl, sr, "SUBSCRIBE", "a");
    CMD2(sl, sr, "SUBSCRIBE", "b");
    CMD2(sl, sr, "PSUBSCRIBE", "x*");
    CMD2(sl, sr, "SSUBSCRIBE", "s");
    /* INFO stats counts channels, patterns and shard channels. */
    static const char *info_fields[] = {"pubsub_channels", "pubsub_patterns",
                                        "pubsubshard_channels"};
    static const char *info_want[] = {"2", "1", "1"};
    for (size_t i = 0; i < NELEM(info_fields); i++) {
        char vl[32], vr[32];
        harness_info(L, "stats", info_fields[i], vl, sizeof(vl));
        CHECK_EQ_STR(vl, info_want[i]);
        if (R) {
            harness_info(R, "stats", info_fields[i], vr, sizeof(vr));
            CHECK_EQ_STR(vl, vr);
        }
    }
    static const char *fields[] = {"flags", "sub", "psub", "ssub"};
    static const char *want[2][4] = {{"P", "2", "1", "1"}, {"N", "0", "0", "0"}};
    for (int round = 0; round < 2; round++) {
        redisReply *rl = redisCommand(L, "CLIENT LIST");
        redisReply *rr = R ? redisCommand(R, "CLIENT LIST") : NULL;
        REQUIRE(rl && rl->type == REDIS_REPLY_STRING);
        for (size_t i = 0; i < NELEM(fields); i++) {
            char vl[64], vr[64];
            client_field(rl->str, "subx", fields[i], vl, sizeof(vl));
            CHECK_EQ_STR(vl, want[round][i]);
            if (rr) {
                client_field(rr->str, "subx", fields[i], vr, sizeof(vr));
                CHECK_EQ_STR(vl, vr);
            }
        }
        freeReplyObject(rl);
        if (rr) freeReplyObject(rr);
        /* CLIENT LIST TYPE: a subscriber is a pubsub client. */
        rl = redisCommand(L, "CLIENT LIST TYPE pubsub");
        REQUIRE(rl && rl->type == REDIS_REPLY_STRING);
        CHECK((strstr(rl->str, "name=subx ") != NULL) == !round);
        freeReplyObject(rl);
        if (!round) {
            /* RESET leaves everything (and forgets the name). */
            CHECK_EQ_STR(CMD2(sl, sr, "RESET"), "status:\"RESET\"");
            CMD2(sl, sr, "CLIENT", "SETNAME", "subx");
        }
    }
    CHECK_EQ_STR(cmd(L, "PUBSUB NUMSUB a b"), "array[bulk:\"a\",int:0,bulk:\"b\",int:0]");
    CHECK_EQ_STR(cmd(L, "PUBSUB NUMPAT"), "int:0");
    CHECK_EQ_STR(cmd(L, "PUBSUB SHARDNUMSUB s"), "array[bulk:\"s\",int:0]");
}

/* A subscriber that disconnects leaves every channel. */
TEST(closing_subscriber_leaves) {
    harness_server *s = harness_start("io-threads", "2", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 8; i++) {
        int fd = raw_connect(s->port);
        REQUIRE(fd >= 0);
        CHECK(raw_send_argv(fd, (const char *const[]){"SUBSCRIBE", "c1", "c2", NULL}) == 0);
        CHECK(raw_send_argv(fd, (const char *const[]){"PSUBSCRIBE", "c*", NULL}) == 0);
        raw_buf b = {0};
        for (int k = 0; k < 3; k++) {
            CHECK(raw_read_reply(fd, 5000, &b));
            raw_buf_free(&b);
        }
        CHECK_EQ_STR(cmd(c, "PUBLISH c1 x"), "int:2");
        raw_close(fd);
    }
    /* The closes happen on the subscribers' threads: wait for them. */
    for (int i = 0; i < 500 && strcmp(cmd(c, "PUBSUB NUMPAT"), "int:0"); i++) usleep(10000);
    CHECK_EQ_STR(cmd(c, "PUBSUB NUMPAT"), "int:0");
    CHECK_EQ_STR(cmd(c, "PUBSUB NUMSUB c1 c2"), "array[bulk:\"c1\",int:0,bulk:\"c2\",int:0]");
    CHECK_EQ_STR(cmd(c, "PUBLISH c1 x"), "int:0");
}

/* ---- Fan-out across I/O threads ------------------------------------------------------- */

#define FAN_SUBS 200
#define FAN_PUBS 4
#define FAN_PER_PUB 5000 /* 20,000 messages, each to 200 subscribers */
#define FAN_BATCH 250
#define FAN_DEADLINE_S 120

static harness_server *fan_srv;
static int fan_errors;

static void *fan_publisher(void *arg) {
    long id = (long)arg;
    redisContext *c = harness_connect(fan_srv);
    if (!c) {
        __atomic_add_fetch(&fan_errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (int i = 0; i < FAN_PER_PUB; i += FAN_BATCH) {
        for (int j = i; j < i + FAN_BATCH && j < FAN_PER_PUB; j++)
            redisAppendCommand(c, "PUBLISH fan %ld:%d", id, j);
        for (int j = i; j < i + FAN_BATCH && j < FAN_PER_PUB; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r ||
                r->type != REDIS_REPLY_INTEGER || r->integer != FAN_SUBS)
                __atomic_add_fetch(&fan_errors, 1, __ATOMIC_RELAXED);
            if (r) freeReplyObject(r);
        }
    }
    return NULL;
}

TEST(fanout_complete_and_ordered) {
    fan_srv = harness_start("io-threads", "4", NULL);
    REQUIRE(fan_srv);
    static int fds[FAN_SUBS];
    static int next[FAN_SUBS][FAN_PUBS];
    static long got[FAN_SUBS];
    static redisReader *rd[FAN_SUBS];
    memset(next, 0, sizeof(next));
    memset(got, 0, sizeof(got));
    fan_errors = 0;
    for (int i = 0; i < FAN_SUBS; i++) {
        fds[i] = raw_connect(fan_srv->port);
        REQUIRE(fds[i] >= 0);
        CHECK(raw_send_argv(fds[i], (const char *const[]){"SUBSCRIBE", "fan", NULL}) == 0);
    }
    for (int i = 0; i < FAN_SUBS; i++) {
        raw_buf b = {0};
        CHECK(raw_read_reply(fds[i], 5000, &b));
        CHECK(b.data && strstr(b.data, "subscribe") != NULL);
        raw_buf_free(&b);
        rd[i] = redisReaderCreate();
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[FAN_PUBS];
    for (long p = 0; p < FAN_PUBS; p++) pthread_create(&th[p], NULL, fan_publisher, (void *)p);
    const long want = (long)FAN_PUBS * FAN_PER_PUB;
    long done = 0, disorder = 0, bad = 0;
    time_t deadline = time(NULL) + FAN_DEADLINE_S;
    static struct pollfd pfd[FAN_SUBS];
    static char buf[65536];
    while (done < FAN_SUBS && time(NULL) <= deadline && !bad) {
        int n = 0;
        for (int i = 0; i < FAN_SUBS; i++)
            if (got[i] < want) pfd[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        if (poll(pfd, (nfds_t)n, 1000) <= 0) continue;
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int i = 0;
            while (fds[i] != pfd[k].fd) i++;
            ssize_t r = read(fds[i], buf, sizeof(buf));
            if (r <= 0) {
                bad++;
                break;
            }
            redisReaderFeed(rd[i], buf, (size_t)r);
            void *rep;
            while (redisReaderGetReply(rd[i], &rep) == REDIS_OK && rep) {
                redisReply *m = rep;
                int p, seq;
                if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
                    sscanf(m->element[2]->str, "%d:%d", &p, &seq) != 2 || p < 0 ||
                    p >= FAN_PUBS) {
                    bad++;
                } else {
                    if (seq != next[i][p]) disorder++;
                    next[i][p] = seq + 1;
                    if (++got[i] == want) done++;
                }
                freeReplyObject(m);
            }
        }
    }
    for (int p = 0; p < FAN_PUBS; p++) pthread_join(th[p], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# %d subscribers x %ld messages from %d publishers: %.2f s (%.0f deliveries/s)\n",
           FAN_SUBS, want, FAN_PUBS, secs, (double)FAN_SUBS * (double)want / secs);
    for (int i = 0; i < FAN_SUBS; i++) redisReaderFree(rd[i]);
    CHECK_EQ_INT(fan_errors, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(disorder, 0);
    CHECK_EQ_INT(done, FAN_SUBS);
}

/* ---- A subscriber that never reads ------------------------------------------------------ */

#define SLOW_MSG (64 * 1024)
#define SLOW_COUNT 1200 /* 75 MiB: past the 32 MiB hard limit and the kernel's buffers */

static harness_server *slow_srv;
static long fast_got, fast_disorder;

static void *fast_reader(void *arg) {
    redisContext *c = arg;
    for (long i = 0; i < SLOW_COUNT; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) break;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->len == SLOW_MSG) {
            long seq = strtol(r->element[2]->str, NULL, 10);
            if (seq != i) fast_disorder++;
            fast_got++;
        }
        freeReplyObject(r);
    }
    return NULL;
}

TEST(never_reading_subscriber_cut_off) {
    slow_srv = harness_start("io-threads", "2", NULL);
    REQUIRE(slow_srv);
    redisContext *pub = harness_connect(slow_srv);
    redisContext *fast = harness_connect(slow_srv);
    REQUIRE(pub && fast);
    /* The slow one reads its confirmation, then nothing more. */
    int slow = raw_connect(slow_srv->port);
    REQUIRE(slow >= 0);
    int small = 4096;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    CHECK(raw_send_argv(slow, (const char *const[]){"CLIENT", "SETNAME", "slow", NULL}) == 0);
    CHECK(raw_send_argv(slow, (const char *const[]){"SUBSCRIBE", "big", NULL}) == 0);
    raw_buf b = {0};
    CHECK(raw_read_reply(slow, 5000, &b));
    raw_buf_free(&b);
    CHECK(raw_read_reply(slow, 5000, &b));
    raw_buf_free(&b);
    redisReply *r = redisCommand(fast, "SUBSCRIBE big");
    REQUIRE(r);
    freeReplyObject(r);
    fast_got = fast_disorder = 0;
    pthread_t th;
    pthread_create(&th, NULL, fast_reader, fast);
    char *msg = malloc(SLOW_MSG);
    REQUIRE(msg);
    memset(msg, 'x', SLOW_MSG);
    for (long i = 0; i < SLOW_COUNT; i++) {
        int n = snprintf(msg, 32, "%ld", i);
        msg[n] = ':';
        r = redisCommand(pub, "PUBLISH big %b", msg, (size_t)SLOW_MSG);
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 1);
        if (r) freeReplyObject(r);
    }
    free(msg);
    pthread_join(th, NULL);
    CHECK_EQ_INT(fast_got, SLOW_COUNT);
    CHECK_EQ_INT(fast_disorder, 0);
    /* The slow subscriber was closed by its thread: gone from the channel
     * and from CLIENT LIST. */
    for (int i = 0; i < 500 && strcmp(cmd(pub, "PUBSUB NUMSUB big"), "array[bulk:\"big\",int:1]");
         i++)
        usleep(10000);
    CHECK_EQ_STR(cmd(pub, "PUBSUB NUMSUB big"), "array[bulk:\"big\",int:1]");
    r = redisCommand(pub, "CLIENT LIST");
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    CHECK(strstr(r->str, "name=slow ") == NULL);
    freeReplyObject(r);
    CHECK_EQ_STR(cmd(pub, "PUBLISH big last"), "int:1");
}

int main(void) {
    RUN(resp2_subscribed_mode);
    RUN(resp3_pushes_between_replies);
    RUN(resp3_publish_to_self);
    RUN(resp2_reply_off_keeps_pushes);
    RUN(resp3_reply_off_keeps_pushes);
    RUN(client_list_counts);
    RUN(closing_subscriber_leaves);
    RUN(fanout_complete_and_ordered);
    RUN(never_reading_subscriber_cut_off);
    return testlib_finish();
}
