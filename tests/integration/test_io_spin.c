/*
 * io-spin-us: after a busy turn an I/O thread polls for new events before
 * it sleeps. Replies are the same with it on (one-at-a-time clients,
 * pipelines, many clients), it can be changed at run time, and an idle
 * server does not keep spinning: its CPU time stays low once the traffic
 * stops (the bound is loose — a broken spin burns a whole CPU).
 */
#include "../harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void replies_unchanged(const char *backend) {
    /* One I/O thread: spinning needs a core left over (2-core machines). */
    harness_server *s =
        harness_start("io-spin-us", "200", "io-backend", backend, "io-threads", "1", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET io-spin-us"), "array[bulk:\"io-spin-us\",bulk:\"200\"]");
    /* One request at a time: the pattern the spin is for. */
    int ok = 1;
    for (int i = 0; i < 2000 && ok; i++) {
        char want[32];
        snprintf(want, sizeof(want), "int:%d", i + 1);
        ok = strcmp(cmd(c, "INCR n"), want) == 0;
    }
    CHECK(ok);
    /* Pipelines from several clients. */
    redisContext *cs[4];
    for (int k = 0; k < 4; k++) {
        cs[k] = harness_connect(s);
        REQUIRE(cs[k]);
        for (int i = 0; i < 1000; i++) redisAppendCommand(cs[k], "RPUSH l%d %d", k, i);
    }
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 1000; i++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(cs[k], (void **)&r) == REDIS_OK && r);
            CHECK(r->type == REDIS_REPLY_INTEGER && r->integer == i + 1);
            freeReplyObject(r);
        }
    CHECK_EQ_STR(cmd(c, "CONFIG SET io-spin-us 0"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCR n"), "int:2001");
    CHECK_EQ_STR(cmd(c, "CONFIG SET io-spin-us -1"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'io-spin-us') - "
                 "argument must be between 0 and 1000000 inclusive\"");
}

TEST(replies_unchanged_io_uring) { replies_unchanged("io_uring"); }
TEST(replies_unchanged_epoll) { replies_unchanged("epoll"); }

TEST(idle_server_stops_spinning) {
    harness_server *s = harness_start("io-spin-us", "1000", "io-threads", "1", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 3000; i++) cmd(c, "PING");
    harness_sleep_ms(200); /* the spin window is long over */
    long long t0 = harness_cpu_ticks(s->pid);
    harness_sleep_ms(1000);
    long long t1 = harness_cpu_ticks(s->pid);
    REQUIRE(t0 >= 0 && t1 >= 0);
    long hz = sysconf(_SC_CLK_TCK);
    printf("# idle CPU: %lld ticks of %ld per second\n", t1 - t0, hz);
    CHECK(t1 - t0 < hz / 2);
}

int main(void) {
    RUN(replies_unchanged_io_uring);
    RUN(replies_unchanged_epoll);
    RUN(idle_server_stops_spinning);
    return testlib_finish();
}
