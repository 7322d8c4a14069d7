/*
 * ACL under concurrency: clients of a restricted user on every I/O thread
 * run commands while another connection keeps changing that user's rules
 * (SETUSER swaps the permission body under the write lock). Every reply is
 * one a whole rule set gives — the value, or one of the two -NOPERM texts —
 * never anything else, and the server survives. Then DELUSER closes every
 * connection of the user while they are busy, and AUTH as the deleted user
 * fails. Bounded loops, no timing assertions.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_THREADS 4
#define ROUNDS 1500
#define MAX_FLIPS 200000

static const char KEY_DENIED[] =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
static const char CMD_DENIED[] = "NOPERM this user has no permissions to run the 'get' command";

typedef struct client_arg {
    int port;
    int errors;   /* replies no rule set can give */
    int allowed, denied;
    int *done; /* threads finished (atomic) */
} client_arg;

static redisContext *connect_to(int port) {
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) return NULL;
    struct timeval tv = {10, 0};
    redisSetTimeout(c, tv);
    return c;
}

static void *client_run(void *p) {
    client_arg *a = p;
    redisContext *c = connect_to(a->port);
    if (!c) {
        a->errors++;
        return NULL;
    }
    redisReply *r = redisCommand(c, "AUTH cu pw");
    if (!r || r->type != REDIS_REPLY_STATUS) a->errors++;
    if (r) freeReplyObject(r);
    for (int i = 0; i < ROUNDS; i++) {
        /* A small pipeline: each reply is judged on its own. */
        for (int k = 0; k < 4; k++) redisAppendCommand(c, "GET k%d", k);
        for (int k = 0; k < 4; k++) {
            r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                a->errors++;
                redisFree(c);
                return NULL;
            }
            if (r->type == REDIS_REPLY_STRING && !strcmp(r->str, "v")) a->allowed++;
            else if (r->type == REDIS_REPLY_ERROR &&
                     (!strcmp(r->str, KEY_DENIED) || !strcmp(r->str, CMD_DENIED)))
                a->denied++;
            else a->errors++;
            freeReplyObject(r);
        }
    }
    redisFree(c);
    __atomic_add_fetch(a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

TEST(rules_change_under_load) {
    harness_server *s = harness_start("io-threads", "2", NULL);
    REQUIRE(s);
    redisContext *admin = harness_connect(s);
    REQUIRE(admin);
    for (int k = 0; k < 4; k++) CHECK_EQ_STR(cmd(admin, "SET k%d v", k), "status:\"OK\"");
    CHECK_EQ_STR(cmd(admin, "ACL SETUSER cu on >pw ~k* +get"), "status:\"OK\"");
    int done = 0;
    pthread_t th[CLIENT_THREADS];
    client_arg args[CLIENT_THREADS];
    for (int i = 0; i < CLIENT_THREADS; i++) {
        args[i] = (client_arg){.port = s->port, .done = &done};
        pthread_create(&th[i], NULL, client_run, &args[i]);
    }
    static const char *const flips[] = {
        "ACL SETUSER cu resetkeys ~z*",  "ACL SETUSER cu resetkeys ~k*",
        "ACL SETUSER cu -get",           "ACL SETUSER cu +get",
        "ACL SETUSER cu (~k0 +get)",     "ACL SETUSER cu clearselectors",
        "ACL SETUSER cu resetkeys %%R~k*", "ACL SETUSER cu resetkeys %%W~k*",
    };
    /* Flip until every client is through (bounded). */
    int flipped = 0;
    for (; flipped < MAX_FLIPS && __atomic_load_n(&done, __ATOMIC_ACQUIRE) < CLIENT_THREADS;
         flipped++)
        CHECK_EQ_STR(cmd(admin, flips[flipped % 8]), "status:\"OK\"");
    CHECK(flipped > 0);
    for (int i = 0; i < CLIENT_THREADS; i++) pthread_join(th[i], NULL);
    int allowed = 0, denied = 0;
    for (int i = 0; i < CLIENT_THREADS; i++) {
        CHECK_EQ_INT(args[i].errors, 0);
        allowed += args[i].allowed;
        denied += args[i].denied;
    }
    CHECK_EQ_INT(allowed + denied, CLIENT_THREADS * ROUNDS * 4);
    /* Settled rules give settled answers. */
    cmd(admin, "ACL SETUSER cu clearselectors resetkeys ~k1 +get");
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "AUTH cu pw"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET k1"), "bulk:\"v\"");
    CHECK(strstr(cmd(c, "GET k2"), "NOPERM"));
    CHECK(harness_alive(s));
}

static void *busy_run(void *p) {
    client_arg *a = p;
    redisContext *c = connect_to(a->port);
    if (!c) return NULL;
    redisReply *r = redisCommand(c, "AUTH du pw");
    if (!r || r->type != REDIS_REPLY_STATUS) a->errors++;
    if (r) freeReplyObject(r);
    a->allowed = 0;
    /* Until the connection is closed by DELUSER (bounded: the main thread
     * deletes the user once every client has been served). */
    for (int i = 0; i < 100000; i++) {
        r = redisCommand(c, "GET k0");
        if (!r) break; /* closed */
        a->allowed++;
        freeReplyObject(r);
    }
    a->denied = c->err != 0; /* closed by the server */
    redisFree(c);
    return NULL;
}

TEST(deluser_closes_busy_clients) {
    harness_server *s = harness_start("io-threads", "2", NULL);
    REQUIRE(s);
    redisContext *admin = harness_connect(s);
    REQUIRE(admin);
    cmd(admin, "SET k0 v");
    CHECK_EQ_STR(cmd(admin, "ACL SETUSER du on >pw ~* +get"), "status:\"OK\"");
    pthread_t th[CLIENT_THREADS];
    client_arg args[CLIENT_THREADS];
    for (int i = 0; i < CLIENT_THREADS; i++) {
        args[i] = (client_arg){.port = s->port, .done = NULL};
        pthread_create(&th[i], NULL, busy_run, &args[i]);
    }
    /* Wait (bounded) until every client shows up as du in CLIENT LIST. */
    for (int tries = 0; tries < 2000; tries++) {
        const char *list = cmd(admin, "CLIENT LIST");
        int n = 0;
        for (const char *p = list; (p = strstr(p, "user=du ")); p++) n++;
        if (n == CLIENT_THREADS) break;
    }
    CHECK_EQ_STR(cmd(admin, "ACL DELUSER du"), "int:1");
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].errors, 0);
        CHECK_EQ_INT(args[i].denied, 1);
    }
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "AUTH du pw"),
                 "err:\"WRONGPASS invalid username-password pair or user is disabled.\"");
    CHECK(!strstr(cmd(admin, "CLIENT LIST"), "user=du "));
    CHECK(harness_alive(s));
}

int main(void) {
    RUN(rules_change_under_load);
    RUN(deluser_closes_busy_clients);
    return testlib_finish();
}
