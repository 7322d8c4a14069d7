/*
 * Concurrency: clients on several I/O threads at once must never see a
 * multi-key write half done, and concurrent increments must never be lost.
 * Runs under ThreadSanitizer too (make test-tsan picks files named
 * *concurrency*). Loads are bounded by count; no timing assertions.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../testlib.h"

#define WRITERS 3
#define READERS 3
#define ROUNDS 2000
#define KEYS 8

static harness_server *srv;
static int torn_reads, reader_errors, writer_errors;
static pthread_mutex_t result_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each writer sets all KEYS keys to the same value with one MSET. */
static void *writer(void *arg) {
    long id = (long)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    const char *argv[1 + 2 * KEYS];
    size_t lens[1 + 2 * KEYS];
    char keys[KEYS][8], val[32];
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(val, sizeof(val), "w%ld-%d", id, r);
        argv[0] = "MSET";
        lens[0] = 4;
        for (int k = 0; k < KEYS; k++) {
            snprintf(keys[k], sizeof(keys[k]), "k%d", k);
            argv[1 + 2 * k] = keys[k];
            lens[1 + 2 * k] = strlen(keys[k]);
            argv[2 + 2 * k] = val;
            lens[2 + 2 * k] = strlen(val);
        }
        redisReply *rep = redisCommandArgv(c, 1 + 2 * KEYS, argv, lens);
        if (!rep || rep->type != REDIS_REPLY_STATUS) __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
        if (rep) freeReplyObject(rep);
    }
    harness_disconnect(c);
    return NULL;
}

/* Each reader checks that one MGET sees the same value in every key. */
static void *reader(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&reader_errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        redisReply *rep = redisCommand(c, "MGET k0 k1 k2 k3 k4 k5 k6 k7");
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != KEYS) {
            __atomic_add_fetch(&reader_errors, 1, __ATOMIC_RELAXED);
        } else if (rep->element[0]->type == REDIS_REPLY_STRING) {
            for (size_t k = 1; k < KEYS; k++) {
                if (rep->element[k]->type != REDIS_REPLY_STRING ||
                    strcmp(rep->element[k]->str, rep->element[0]->str) != 0) {
                    pthread_mutex_lock(&result_lock);
                    if (torn_reads++ == 0)
                        fprintf(stderr, "  torn read: k0=%s k%zu=%s\n", rep->element[0]->str, k,
                                rep->element[k]->type == REDIS_REPLY_STRING ? rep->element[k]->str
                                                                            : "(nil)");
                    pthread_mutex_unlock(&result_lock);
                    break;
                }
            }
        }
        if (rep) freeReplyObject(rep);
    }
    harness_disconnect(c);
    return NULL;
}

TEST(mset_never_torn) {
    srv = harness_start("io-threads", "2", NULL);
    REQUIRE(srv);
    pthread_t t[WRITERS + READERS];
    for (long i = 0; i < WRITERS; i++) pthread_create(&t[i], NULL, writer, (void *)i);
    for (long i = 0; i < READERS; i++) pthread_create(&t[WRITERS + i], NULL, reader, NULL);
    for (int i = 0; i < WRITERS + READERS; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(writer_errors, 0);
    CHECK_EQ_INT(reader_errors, 0);
    CHECK_EQ_INT(torn_reads, 0);
    /* The final state is one writer's last round in every key. */
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    redisReply *rep = redisCommand(c, "MGET k0 k7");
    REQUIRE(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2);
    CHECK(rep->element[0]->type == REDIS_REPLY_STRING && strstr(rep->element[0]->str, "-1999"));
    CHECK(rep->element[1]->type == REDIS_REPLY_STRING && rep->element[0]->type == REDIS_REPLY_STRING &&
          !strcmp(rep->element[0]->str, rep->element[1]->str));
    freeReplyObject(rep);
    harness_disconnect(c);
    harness_stop(srv);
}

static void *incrementer(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) return NULL;
    /* Pipelined in batches: many increments per round trip. */
    for (int r = 0; r < ROUNDS / 100; r++) {
        for (int i = 0; i < 100; i++) redisAppendCommand(c, "INCR counter");
        for (int i = 0; i < 100; i++) {
            redisReply *rep = NULL;
            if (redisGetReply(c, (void **)&rep) != REDIS_OK || !rep || rep->type != REDIS_REPLY_INTEGER)
                __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
            if (rep) freeReplyObject(rep);
        }
    }
    harness_disconnect(c);
    return NULL;
}

TEST(incr_never_loses_updates) {
    writer_errors = 0;
    srv = harness_start("io-threads", "2", NULL);
    REQUIRE(srv);
    pthread_t t[6];
    for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, incrementer, NULL);
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(writer_errors, 0);
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET counter"), "bulk:\"12000\"");
    harness_disconnect(c);
    harness_stop(srv);
}

int main(void) {
    RUN(mset_never_torn);
    RUN(incr_never_loses_updates);
    return testlib_finish();
}
