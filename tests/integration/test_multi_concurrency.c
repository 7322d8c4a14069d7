/*
 * Transactions under concurrency (every I/O thread runs commands at once):
 * MULTI/EXEC transfers between keys keep the total constant for readers
 * that MGET every key inside their own MULTI/EXEC (no partial transaction
 * is ever seen), and WATCH-based increments (GET, MULTI, SET, EXEC, retry
 * on nil) from several threads never lose an update. Bounded loops, no
 * timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>

#define NACCOUNTS 8
#define START_BALANCE 1000
#define TRANSFER_THREADS 3
#define TRANSFERS 1500
#define READER_THREADS 2
#define READS 1500
#define INCR_THREADS 4
#define INCRS 300

typedef struct worker_arg {
    int port;
    int seed;
    int errors;   /* unexpected replies */
    int bad_sums; /* reader saw a total other than the invariant */
    int retries;
} worker_arg;

static redisContext *connect_to(int port) {
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) return NULL;
    struct timeval tv = {10, 0};
    redisSetTimeout(c, tv);
    return c;
}

static void *transfer_run(void *p) {
    worker_arg *a = p;
    redisContext *c = connect_to(a->port);
    if (!c) {
        a->errors++;
        return NULL;
    }
    unsigned seed = (unsigned)a->seed;
    for (int i = 0; i < TRANSFERS; i++) {
        int from = (int)(rand_r(&seed) % NACCOUNTS), to = (int)(rand_r(&seed) % NACCOUNTS);
        int amount = (int)(rand_r(&seed) % 50);
        redisAppendCommand(c, "MULTI");
        redisAppendCommand(c, "DECRBY acct:%d %d", from, amount);
        redisAppendCommand(c, "INCRBY acct:%d %d", to, amount);
        redisAppendCommand(c, "EXEC");
        for (int k = 0; k < 4; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                a->errors++;
                redisFree(c);
                return NULL;
            }
            if (k == 3 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2)) a->errors++;
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return NULL;
}

static void *reader_run(void *p) {
    worker_arg *a = p;
    redisContext *c = connect_to(a->port);
    if (!c) {
        a->errors++;
        return NULL;
    }
    char mget[NACCOUNTS * 16 + 8] = "MGET";
    for (int k = 0; k < NACCOUNTS; k++) {
        size_t l = strlen(mget);
        snprintf(mget + l, sizeof(mget) - l, " acct:%d", k);
    }
    for (int i = 0; i < READS; i++) {
        /* Alternate a plain MGET and one inside MULTI/EXEC. */
        redisReply *r;
        if (i % 2) {
            redisAppendCommand(c, "MULTI");
            redisAppendCommand(c, mget);
            redisAppendCommand(c, "EXEC");
            redisReply *q = NULL;
            for (int k = 0; k < 2; k++) {
                if (redisGetReply(c, (void **)&q) != REDIS_OK) break;
                freeReplyObject(q);
            }
            if (redisGetReply(c, (void **)&r) != REDIS_OK) r = NULL;
            if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != 1)) {
                a->errors++;
                freeReplyObject(r);
                continue;
            }
        } else {
            r = redisCommand(c, mget);
        }
        if (!r) {
            a->errors++;
            break;
        }
        redisReply *vals = (i % 2) ? r->element[0] : r;
        long long sum = 0;
        if (vals->type != REDIS_REPLY_ARRAY || vals->elements != NACCOUNTS) a->errors++;
        else
            for (size_t k = 0; k < vals->elements; k++)
                sum += vals->element[k]->str ? atoll(vals->element[k]->str) : 0;
        if (sum != (long long)NACCOUNTS * START_BALANCE) a->bad_sums++;
        freeReplyObject(r);
    }
    redisFree(c);
    return NULL;
}

TEST(transfers_keep_the_sum) {
    harness_server *s = harness_start("io-threads", "4", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int k = 0; k < NACCOUNTS; k++) cmd(c, "SET acct:%d %d", k, START_BALANCE);
    pthread_t th[TRANSFER_THREADS + READER_THREADS];
    worker_arg args[TRANSFER_THREADS + READER_THREADS];
    for (int i = 0; i < TRANSFER_THREADS + READER_THREADS; i++) {
        args[i] = (worker_arg){.port = s->port, .seed = i + 1};
        pthread_create(&th[i], NULL, i < TRANSFER_THREADS ? transfer_run : reader_run, &args[i]);
    }
    for (int i = 0; i < TRANSFER_THREADS + READER_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].errors, 0);
        CHECK_EQ_INT(args[i].bad_sums, 0);
    }
    long long sum = 0;
    for (int k = 0; k < NACCOUNTS; k++) {
        long long v = 0;
        sscanf(cmd(c, "GET acct:%d", k), "bulk:\"%lld\"", &v);
        sum += v;
    }
    CHECK_EQ_INT(sum, (long long)NACCOUNTS * START_BALANCE);
}

/* Optimistic increments: WATCH, GET, MULTI, SET v+1, EXEC, retry on nil. */
static void *incr_run(void *p) {
    worker_arg *a = p;
    redisContext *c = connect_to(a->port);
    if (!c) {
        a->errors++;
        return NULL;
    }
    for (int i = 0; i < INCRS; i++) {
        for (int attempt = 0; attempt < 100000; attempt++) {
            redisReply *r = redisCommand(c, "WATCH counter");
            if (!r) goto fail;
            freeReplyObject(r);
            r = redisCommand(c, "GET counter");
            if (!r) goto fail;
            long long v = r->str ? atoll(r->str) : 0;
            freeReplyObject(r);
            redisAppendCommand(c, "MULTI");
            redisAppendCommand(c, "SET counter %lld", v + 1);
            redisAppendCommand(c, "EXEC");
            for (int k = 0; k < 2; k++) {
                if (redisGetReply(c, (void **)&r) != REDIS_OK) goto fail;
                freeReplyObject(r);
            }
            if (redisGetReply(c, (void **)&r) != REDIS_OK) goto fail;
            int done = r->type == REDIS_REPLY_ARRAY;
            if (!done && r->type != REDIS_REPLY_NIL) a->errors++;
            freeReplyObject(r);
            if (done) break;
            a->retries++;
        }
    }
    redisFree(c);
    return NULL;
fail:
    a->errors++;
    redisFree(c);
    return NULL;
}

TEST(watch_increments_are_never_lost) {
    harness_server *s = harness_start("io-threads", "4", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    pthread_t th[INCR_THREADS];
    worker_arg args[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++) {
        args[i] = (worker_arg){.port = s->port, .seed = i + 1};
        pthread_create(&th[i], NULL, incr_run, &args[i]);
    }
    int retries = 0;
    for (int i = 0; i < INCR_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].errors, 0);
        retries += args[i].retries;
    }
    char want[32];
    snprintf(want, sizeof(want), "bulk:\"%d\"", INCR_THREADS * INCRS);
    CHECK_EQ_STR(cmd(c, "GET counter"), want);
    printf("# %d WATCH retries\n", retries);
}

int main(void) {
    RUN(transfers_keep_the_sum);
    RUN(watch_increments_are_never_lost);
    return testlib_finish();
}
