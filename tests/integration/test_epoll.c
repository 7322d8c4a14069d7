/*
 * The epoll backend (io-backend epoll, and the fallback when io_uring
 * cannot be set up) behaves like the io_uring one: same replies, partial
 * writes of large replies, pipelines, protocol errors, kills from another
 * thread, backpressure. Every other integration test runs on io_uring.
 */
#include "../harness.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static harness_server *start_epoll(void) {
    return harness_start("io-backend", "epoll", "io-threads", "2", NULL);
}

TEST(reports_epoll) {
    harness_server *s = start_epoll();
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    redisReply *r = redisCommand(c, "INFO server");
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    CHECK(strstr(r->str, "multiplexing_api:epoll") != NULL);
    freeReplyObject(r);
}

TEST(pipelines_and_large_values) {
    harness_server *s = start_epoll();
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* A 4 MB value: written and read back in many partial socket writes. */
    size_t n = 4 * 1024 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    redisReply *r = redisCommand(c, "SET big %b", big, n);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r) freeReplyObject(r);
    r = redisCommand(c, "GET big");
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == n && memcmp(r->str, big, n) == 0);
    if (r) freeReplyObject(r);
    free(big);
    /* 5,000 pipelined commands from each of 4 clients, answered in order. */
    redisContext *cs[4];
    for (int k = 0; k < 4; k++) {
        cs[k] = harness_connect(s);
        REQUIRE(cs[k]);
        for (int i = 0; i < 5000; i++) redisAppendCommand(cs[k], "ECHO c%d-%d", k, i);
    }
    for (int k = 0; k < 4; k++) {
        int in_order = 1;
        for (int i = 0; i < 5000; i++) {
            redisReply *e = NULL;
            char want[32];
            snprintf(want, sizeof want, "c%d-%d", k, i);
            if (redisGetReply(cs[k], (void **)&e) != REDIS_OK || !e ||
                e->type != REDIS_REPLY_STRING || strcmp(e->str, want) != 0)
                in_order = 0;
            if (e) freeReplyObject(e);
            if (!in_order) break;
        }
        CHECK(in_order);
    }
}

TEST(protocol_error_and_kill) {
    harness_server *s = start_epoll();
    REQUIRE(s);
    int fd = raw_connect(s->port);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "*1\r\n$x\r\n");
    raw_buf b = raw_read_until(fd, 2000);
    CHECK(strstr(b.data, "-ERR Protocol error: invalid bulk length") != NULL);
    CHECK(b.closed);
    raw_buf_free(&b);
    /* A client killed from another connection (likely another thread). */
    redisContext *victim = harness_connect(s), *killer = harness_connect(s);
    REQUIRE(victim && killer);
    long long id = 0;
    redisReply *r = redisCommand(victim, "CLIENT ID");
    if (r && r->type == REDIS_REPLY_INTEGER) id = r->integer;
    if (r) freeReplyObject(r);
    CHECK_EQ_STR(cmd(killer, "CLIENT KILL ID %lld", id), "int:1");
    r = redisCommand(victim, "PING");
    CHECK(r == NULL || r->type == REDIS_REPLY_ERROR);
    if (r) freeReplyObject(r);
    CHECK_EQ_STR(cmd(killer, "PING"), "status:\"PONG\"");
}

/* A client that pipelines 10 KB replies and never reads stays bounded. */
TEST(backpressure) {
    harness_server *s = start_epoll();
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    char *value = calloc(1, 10241);
    memset(value, 'v', 10240);
    CHECK_EQ_STR(cmd(c, "SET big %s", value), "status:\"OK\"");
    free(value);
    long rss0 = harness_rss_kb(s->pid);
    int fd = raw_connect(s->port);
    REQUIRE(fd >= 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    int stalls = 0;
    long sent = 0;
    while (sent < 20000 && stalls < 20) {
        if (write(fd, get, sizeof get - 1) == (ssize_t)(sizeof get - 1)) {
            sent++;
            stalls = 0;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, 100) == 0) stalls++;
        }
    }
    long rss1 = harness_rss_kb(s->pid);
    printf("# %ld GETs sent unread; RSS %ld KB -> %ld KB\n", sent, rss0, rss1);
    CHECK(rss1 - rss0 < 64 * 1024);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

int main(void) {
    RUN(reports_epoll);
    RUN(pipelines_and_large_values);
    RUN(protocol_error_and_kill);
    RUN(backpressure);
    return testlib_finish();
}
