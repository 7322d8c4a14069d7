/*
 * KEYS under concurrent writers (issue #14): KEYS reads one MVCC view, so
 * each reply is the keyspace at one moment — every key present exactly
 * once, even while other threads write and the tables rehash. A key that a
 * writer keeps RENAMEing (token:N -> token:N+1) must appear exactly once
 * in every reply; a walk shard by shard without a view sees it zero or two
 * times when the rename moves it between shards mid-walk. Runs under TSan
 * too (*concurrency*). Bounded by counts; no timing assertions.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../testlib.h"

#define STABLE 3000
#define ROUNDS 40

static harness_server *srv;
static int stop_writers, writer_errors;

/* Moves the one token key along: token:0 -> token:1 -> ... */
static void *renamer(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (long i = 0; !__atomic_load_n(&stop_writers, __ATOMIC_ACQUIRE); i++) {
        redisReply *r = redisCommand(c, "RENAME token:%ld token:%ld", i, i + 1);
        if (!r || r->type != REDIS_REPLY_STATUS) __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
        if (r) freeReplyObject(r);
    }
    harness_disconnect(c);
    return NULL;
}

/* Adds and deletes keys so the tables grow, shrink and rehash. */
static void *churner(void *arg) {
    (void)arg;
    redisContext *c = harness_connect(srv);
    if (!c) {
        __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    for (long i = 0; !__atomic_load_n(&stop_writers, __ATOMIC_ACQUIRE); i++) {
        for (int k = 0; k < 64; k++)
            redisAppendCommand(c, (i & 1) ? "DEL churn:%d" : "SET churn:%d x", k + (int)(i % 50) * 64);
        for (int k = 0; k < 64; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                __atomic_add_fetch(&writer_errors, 1, __ATOMIC_RELAXED);
                harness_disconnect(c);
                return NULL;
            }
            freeReplyObject(r);
        }
    }
    harness_disconnect(c);
    return NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(keys_is_one_view) {
    srv = harness_start(NULL);
    REQUIRE(srv);
    redisContext *c = harness_connect(srv);
    REQUIRE(c);
    for (int i = 0; i < STABLE; i += 100) {
        for (int k = i; k < i + 100; k++) redisAppendCommand(c, "SET stable:%d v", k);
        for (int k = i; k < i + 100; k++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK);
            freeReplyObject(r);
        }
    }
    CHECK_EQ_STR(cmd(c, "SET token:0 t"), "status:\"OK\"");
    stop_writers = 0;
    pthread_t w[2];
    pthread_create(&w[0], NULL, renamer, NULL);
    pthread_create(&w[1], NULL, churner, NULL);
    int bad_token = 0, dups = 0, missing = 0;
    for (int round = 0; round < ROUNDS; round++) {
        redisReply *r = redisCommand(c, "KEYS *");
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
        char **names = malloc((r->elements ? r->elements : 1) * sizeof(char *));
        int tokens = 0, stable = 0;
        for (size_t i = 0; i < r->elements; i++) {
            names[i] = r->element[i]->str;
            if (!strncmp(names[i], "token:", 6)) tokens++;
            if (!strncmp(names[i], "stable:", 7)) stable++;
        }
        qsort(names, r->elements, sizeof(char *), cmp_str);
        for (size_t i = 1; i < r->elements; i++)
            if (!strcmp(names[i - 1], names[i])) dups++;
        if (tokens != 1) bad_token++;
        if (stable != STABLE) missing++;
        free(names);
        freeReplyObject(r);
        /* KEYS with a pattern reads a view too. */
        r = redisCommand(c, "KEYS token:*");
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
        if (r->elements != 1) bad_token++;
        freeReplyObject(r);
    }
    __atomic_store_n(&stop_writers, 1, __ATOMIC_RELEASE);
    pthread_join(w[0], NULL);
    pthread_join(w[1], NULL);
    CHECK_EQ_INT(dups, 0);
    CHECK_EQ_INT(bad_token, 0);
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(writer_errors, 0);
}

int main(void) {
    RUN(keys_is_one_view);
    return testlib_finish();
}
