/*
 * Hostile clients (issue #9): garbage on the socket, huge declared lengths,
 * a client that trickles bytes, a client that pipelines large replies and
 * never reads, connections up to and past maxclients, and clients that
 * vanish in the middle of a pipeline. In every case the server must keep
 * serving a well-behaved client correctly and keep its memory bounded.
 * No timing assertions: timeouts only detect hangs.
 */
#include "../harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

/* A well-behaved client must still get right answers. */
static void check_healthy(harness_server *s) {
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET healthy yes"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET healthy"), "bulk:\"yes\"");
    harness_disconnect(c);
}

static void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

TEST(random_bytes) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    unsigned seed = 12345;
    for (int round = 0; round < 50; round++) {
        int fd = raw_connect(s->port);
        REQUIRE(fd >= 0);
        char junk[4096];
        size_t n = 1 + (size_t)(rand_r(&seed) % sizeof junk);
        for (size_t i = 0; i < n; i++) junk[i] = (char)rand_r(&seed);
        /* Half the rounds start like a multibulk to get past the inline path. */
        if (round % 2) junk[0] = '*';
        raw_send(fd, junk, n);
        raw_buf b = raw_read_until(fd, 200);
        raw_buf_free(&b);
        raw_close(fd);
    }
    check_healthy(s);
    CHECK(harness_alive(s));
}

TEST(huge_declared_lengths) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    long rss0 = harness_rss_kb(s->pid);
    /* Bulk longer than proto-max-bulk-len: error, connection closed. */
    int fd = raw_connect(s->port);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "*1\r\n$999999999999\r\n");
    raw_buf b = raw_read_until(fd, 2000);
    CHECK(strstr(b.data, "-ERR Protocol error: invalid bulk length") != NULL);
    CHECK(b.closed);
    raw_buf_free(&b);
    raw_close(fd);
    /* A huge multibulk count with almost nothing behind it costs nothing. */
    int fds[50];
    for (int i = 0; i < 50; i++) {
        fds[i] = raw_connect(s->port);
        REQUIRE(fds[i] >= 0);
        raw_sendstr(fds[i], "*2147483647\r\n$3\r\nSET\r\n");
    }
    /* A declared 500 MB bulk of which only a little arrives. */
    int big = raw_connect(s->port);
    REQUIRE(big >= 0);
    raw_sendstr(big, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\nabc");
    harness_sleep_ms(300);
    check_healthy(s);
    long rss1 = harness_rss_kb(s->pid);
    printf("# RSS %ld KB -> %ld KB with 51 half-sent huge requests\n", rss0, rss1);
    CHECK(rss1 - rss0 < 32 * 1024);
    for (int i = 0; i < 50; i++) raw_close(fds[i]);
    raw_close(big);
    check_healthy(s);
}

TEST(trickling_client) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    int fd = raw_connect(s->port);
    REQUIRE(fd >= 0);
    const char *req = "*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n";
    /* One byte at a time with pauses; others are served meanwhile. */
    for (size_t i = 0; req[i]; i++) {
        raw_send(fd, req + i, 1);
        if (i % 8 == 0) {
            harness_sleep_ms(20);
            check_healthy(s);
        }
    }
    raw_buf r;
    CHECK(raw_read_reply(fd, 2000, &r));
    CHECK(r.data && strcmp(r.data, "+OK\r\n") == 0);
    raw_buf_free(&r);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET slow"), "bulk:\"value\"");
}

/* One client pipelines GETs of a 10 KB value and never reads: without
 * backpressure the server would hold every reply (200 MB here). */
#define GETS 20000
#define VALUE_LEN 10240

TEST(pipeline_without_reading) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    char *value = malloc(VALUE_LEN + 1);
    memset(value, 'v', VALUE_LEN);
    value[VALUE_LEN] = '\0';
    CHECK_EQ_STR(cmd(c, "SET big %s", value), "status:\"OK\"");
    long rss0 = harness_rss_kb(s->pid);

    int fd = raw_connect(s->port);
    REQUIRE(fd >= 0);
    set_nonblocking(fd);
    static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    size_t total = (sizeof get - 1) * GETS, sent = 0;
    char *reqs = malloc(total);
    for (int i = 0; i < GETS; i++) memcpy(reqs + i * (sizeof get - 1), get, sizeof get - 1);
    /* Write until the server stops reading (or everything is sent). */
    int stalls = 0;
    while (sent < total && stalls < 20) {
        ssize_t n = write(fd, reqs + sent, total - sent);
        if (n > 0) {
            sent += (size_t)n;
            stalls = 0;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, 100) == 0) stalls++;
        }
    }
    long rss1 = harness_rss_kb(s->pid);
    printf("# sent %zu of %zu request bytes; RSS %ld KB -> %ld KB\n", sent, total, rss0, rss1);
    CHECK(rss1 - rss0 < 64 * 1024);
    /* Another client is served normally meanwhile. */
    CHECK_EQ_STR(cmd(c, "GET healthy"), "nil");
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
    /* Then the first client reads: every reply arrives. */
    /* "$10240\r\n" + value + "\r\n" per reply. */
    size_t expect = (size_t)GETS * (VALUE_LEN + 10), got = 0;
    char *buf = malloc(1 << 20);
    int idle = 0;
    while (got < expect && idle < 100) {
        if (sent < total) {
            ssize_t w = write(fd, reqs + sent, total - sent);
            if (w > 0) sent += (size_t)w;
        }
        ssize_t n = read(fd, buf, 1 << 20);
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
        } else if (n == 0) {
            break;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
            if (poll(&p, 1, 100) == 0) idle++;
        }
    }
    CHECK_EQ_INT(got, expect);
    free(buf);
    free(reqs);
    free(value);
}

TEST(maxclients_limit) {
    harness_server *s = harness_start("maxclients", "200", NULL);
    REQUIRE(s);
    int fds[210];
    int refused = 0, served = 0;
    for (int i = 0; i < 210; i++) {
        fds[i] = raw_connect(s->port);
        REQUIRE(fds[i] >= 0);
    }
    for (int i = 0; i < 210; i++) {
        raw_sendstr(fds[i], "PING\r\n");
        raw_buf r;
        int ok = raw_read_reply(fds[i], 3000, &r);
        if (ok && strcmp(r.data, "+PONG\r\n") == 0) served++;
        else if (r.data && strstr(r.data, "-ERR max number of clients reached")) refused++;
        raw_buf_free(&r);
    }
    printf("# served %d, refused %d\n", served, refused);
    CHECK_EQ_INT(served, 200);
    CHECK_EQ_INT(refused, 10);
    /* Closing some makes room again. */
    for (int i = 0; i < 20; i++) raw_close(fds[i]);
    harness_sleep_ms(200);
    check_healthy(s);
    for (int i = 20; i < 210; i++) raw_close(fds[i]);
}

TEST(disconnect_mid_pipeline) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    for (int round = 0; round < 20; round++) {
        int fd = raw_connect(s->port);
        REQUIRE(fd >= 0);
        char req[64 * 1024];
        size_t len = 0;
        while (len + 64 < sizeof req) {
            int n = snprintf(req + len, sizeof req - len,
                             "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n");
            len += (size_t)n;
        }
        /* Cut the last command in half, then vanish. */
        raw_send(fd, req, len - 7);
        raw_close(fd);
    }
    check_healthy(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* Every complete INCR ran at most once; the counter is an integer. */
    const char *v = cmd(c, "GET counter");
    CHECK(strncmp(v, "bulk:\"", 6) == 0);
}

int main(void) {
    RUN(random_bytes);
    RUN(huge_declared_lengths);
    RUN(trickling_client);
    RUN(pipeline_without_reading);
    RUN(maxclients_limit);
    RUN(disconnect_mid_pipeline);
    return testlib_finish();
}
