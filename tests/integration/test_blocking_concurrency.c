/*
 * Blocking pops under concurrency: producers push on several connections
 * while consumers on others block in BLPOP / BRPOP / BLMOVE / BZPOPMIN
 * (the server spreads connections over its I/O threads). Every element
 * pushed must be popped exactly once: none lost to a missed wake-up, none
 * served twice. Runs under ThreadSanitizer too (make test-tsan picks files
 * named *concurrency*). Loads are bounded by count; consumers stop when
 * everything was popped, or at a deadline that fails the test.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness.h"
#include "../testlib.h"

#define PRODUCERS 3
#define PER_PRODUCER 1500
#define LIST_CONSUMERS 3
#define MOVERS 2
#define ZSET_CONSUMERS 2
#define TOTAL (PRODUCERS * PER_PRODUCER)
#define DEADLINE_S 60

static harness_server *srv;
/* seen[p][i]: times element i of producer p was popped (list, zset). */
static int seen_list[PRODUCERS][PER_PRODUCER], seen_zset[PRODUCERS][PER_PRODUCER];
static int popped_list, popped_zset, errors;
static time_t deadline;

static void note(int (*seen)[PER_PRODUCER], int *popped, const char *elem) {
    int p, i;
    if (sscanf(elem, "p%d-%d", &p, &i) != 2 || p < 0 || p >= PRODUCERS || i < 0 ||
        i >= PER_PRODUCER) {
        __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&seen[p][i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(popped, 1, __ATOMIC_RELAXED);
}

static int done(const int *popped) {
    return __atomic_load_n(popped, __ATOMIC_RELAXED) >= TOTAL || time(NULL) > deadline;
}

/* Pushes its elements to lists l0..l2 (alternating ends) and to zset z. */
static void *producer(void *arg) {
    long id = (long)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (int i = 0; i < PER_PRODUCER; i++) {
        char elem[32];
        snprintf(elem, sizeof(elem), "p%ld-%d", id, i);
        redisReply *r = redisCommand(c, "%s l%d %s", i % 2 ? "RPUSH" : "LPUSH", i % 3, elem);
        if (!r || r->type != REDIS_REPLY_INTEGER) __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        if (r) freeReplyObject(r);
        r = redisCommand(c, "ZADD z %d %s", i, elem);
        if (!r || r->type != REDIS_REPLY_INTEGER) __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        if (r) freeReplyObject(r);
    }
    harness_disconnect(c);
    return NULL;
}

/* Pops from l0, l1, l2 and from "mid" (fed by the movers). */
static void *list_consumer(void *arg) {
    long id = (long)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    while (!done(&popped_list)) {
        redisReply *r = redisCommand(c, "%s mid l0 l1 l2 0.2", id % 2 ? "BRPOP" : "BLPOP");
        if (!r || (r->type != REDIS_REPLY_NIL && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))) {
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        } else if (r->type == REDIS_REPLY_ARRAY) {
            note(seen_list, &popped_list, r->element[1]->str);
        }
        if (r) freeReplyObject(r);
        if (!r) break;
    }
    harness_disconnect(c);
    return NULL;
}

/* Moves elements from l2 to "mid" (BLMOVE), where the consumers get them. */
static void *mover(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    while (!done(&popped_list)) {
        redisReply *r = redisCommand(c, "BLMOVE l2 mid RIGHT LEFT 0.2");
        if (!r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING))
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        if (r) freeReplyObject(r);
        if (!r) break;
    }
    harness_disconnect(c);
    return NULL;
}

static void *zset_consumer(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    while (!done(&popped_zset)) {
        redisReply *r = redisCommand(c, "BZPOPMIN z 0.2");
        if (!r || (r->type != REDIS_REPLY_NIL && (r->type != REDIS_REPLY_ARRAY || r->elements != 3))) {
            __atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
        } else if (r->type == REDIS_REPLY_ARRAY) {
            note(seen_zset, &popped_zset, r->element[1]->str);
        }
        if (r) freeReplyObject(r);
        if (!r) break;
    }
    harness_disconnect(c);
    return NULL;
}

static int count_not_once(int (*seen)[PER_PRODUCER]) {
    int bad = 0;
    for (int p = 0; p < PRODUCERS; p++)
        for (int i = 0; i < PER_PRODUCER; i++)
            if (seen[p][i] != 1) {
                if (bad++ == 0) fprintf(stderr, "  p%d-%d popped %d times\n", p, i, seen[p][i]);
            }
    return bad;
}

TEST(every_element_popped_once) {
    srv = harness_start("io-threads", "2", NULL);
    REQUIRE(srv);
    deadline = time(NULL) + DEADLINE_S;
    pthread_t t[PRODUCERS + LIST_CONSUMERS + MOVERS + ZSET_CONSUMERS];
    int n = 0;
    /* Consumers first, so most pushes find clients blocked. */
    for (long i = 0; i < LIST_CONSUMERS; i++) pthread_create(&t[n++], NULL, list_consumer, (void *)i);
    for (long i = 0; i < MOVERS; i++) pthread_create(&t[n++], NULL, mover, (void *)i);
    for (long i = 0; i < ZSET_CONSUMERS; i++) pthread_create(&t[n++], NULL, zset_consumer, (void *)i);
    for (long i = 0; i < PRODUCERS; i++) pthread_create(&t[n++], NULL, producer, (void *)i);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(popped_list, TOTAL);
    CHECK_EQ_INT(popped_zset, TOTAL);
    CHECK_EQ_INT(count_not_once(seen_list), 0);
    CHECK_EQ_INT(count_not_once(seen_zset), 0);
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "EXISTS l0 l1 l2 mid z"), "int:0");
}

/* Many clients blocked on one key, served by single pushes from several
 * connections at once: each push serves exactly one of them. */
TEST(one_push_one_waiter) {
    srv = harness_start("io-threads", "2", NULL);
    REQUIRE(srv);
    enum { WAITERS = 40 };
    int fds[WAITERS];
    for (int i = 0; i < WAITERS; i++) {
        fds[i] = raw_connect(srv->port);
        REQUIRE(fds[i] >= 0);
        char req[64];
        int len = snprintf(req, sizeof(req), "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n");
        REQUIRE(raw_send(fds[i], req, (size_t)len) == 0);
    }
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    char v[32] = "";
    for (int i = 0; i < 1000; i++) {
        redisReply *r = redisCommand(c, "INFO clients");
        int ok = r && r->type == REDIS_REPLY_STRING &&
                 harness_info_field(r->str, "blocked_clients", v, sizeof(v)) && atoi(v) == WAITERS;
        if (r) freeReplyObject(r);
        if (ok) break;
        harness_sleep_ms(5);
    }
    REQUIRE(atoi(v) == WAITERS);
    redisContext *pushers[4];
    for (int p = 0; p < 4; p++) pushers[p] = harness_connect(srv);
    /* Pipelined pushes on 4 connections: 10 each. */
    for (int p = 0; p < 4; p++) {
        REQUIRE(pushers[p]);
        for (int i = 0; i < WAITERS / 4; i++) redisAppendCommand(pushers[p], "RPUSH k v%d-%d", p, i);
    }
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < WAITERS / 4; i++) {
            redisReply *r = NULL;
            CHECK(redisGetReply(pushers[p], (void **)&r) == REDIS_OK);
            if (r) freeReplyObject(r);
        }
    int served = 0;
    for (int i = 0; i < WAITERS; i++) {
        raw_buf b = {0};
        if (raw_read_reply(fds[i], 5000, &b) && strncmp(b.data, "*2\r\n", 4) == 0) served++;
        raw_buf_free(&b);
    }
    CHECK_EQ_INT(served, WAITERS);
    CHECK_EQ_STR(cmd(c, "EXISTS k"), "int:0");
}

int main(void) {
    RUN(every_element_popped_once);
    RUN(one_push_one_waiter);
    return testlib_finish();
}
