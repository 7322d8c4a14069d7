/*
 * A busy script and the other clients of its own I/O thread: while a script
 * runs past busy-reply-threshold, its thread keeps serving its other
 * connections (worker_poll_nested, Redis's processEventsWhileBlocked):
 * -BUSY replies, SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE, new
 * connections, MULTI; while the script's own client is left alone until
 * its command ends, then runs what it pipelined, in order.
 *
 * Every scenario runs with io-threads 1 (all clients share the script's
 * thread) and io-threads 2, where the clients used are opened so that
 * round-robin puts them on the script's thread (connection k and k+N share
 * a thread). The texts are compared with real Redis 7.0 where it runs the
 * same scenario (harness_start_redis; skipped when it is not installed).
 */
#include "../harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct run_arg {
    redisContext *c;
    const char *fmt;
    const char *arg;
    char reply[1024];
} run_arg;

static void *run_thread(void *p) {
    run_arg *a = p;
    struct timeval tv = {60, 0};
    redisSetTimeout(a->c, tv);
    snprintf(a->reply, sizeof(a->reply), "%s", cmd(a->c, a->fmt, a->arg));
    return NULL;
}

/* Waits until c is answered BUSY (bounded). */
static int wait_busy(redisContext *c) {
    for (int i = 0; i < 2000; i++) {
        const char *r = cmd(c, "GET x");
        if (strncmp(r, "err:\"BUSY", 9) == 0) return 1;
        usleep(5000);
    }
    return 0;
}

/* A server (Lightning with io-threads n, or Redis when redis is set), the
 * script's client and one more on the same thread. */
typedef struct busy_srv {
    harness_server *s;
    redisContext *runner, *same;
    int threads;
} busy_srv;

/* The event backend of the Lightning servers started (io-backend). */
static const char *backend = "auto";

static int busy_start(busy_srv *b, int threads, int redis) {
    char n[8];
    snprintf(n, sizeof(n), "%d", threads);
    memset(b, 0, sizeof(*b));
    b->threads = threads;
    b->s = redis ? harness_start_redis("busy-reply-threshold", "50", NULL)
                 : harness_start("io-threads", n, "busy-reply-threshold", "50", "io-backend",
                                 backend, NULL);
    if (!b->s) return 0;
    b->runner = harness_connect(b->s);
    for (int i = 1; i < threads; i++) harness_connect(b->s); /* other threads */
    b->same = harness_connect(b->s);
    return b->runner && b->same;
}

#define NREPLIES 8

/* EVAL spins; the same thread's client and a new connection get -BUSY,
 * SCRIPT KILL from the same thread stops it. Fills out[] with the texts. */
static void kill_scenario(busy_srv *b, char out[NREPLIES][256]) {
    run_arg a = {.c = b->runner, .fmt = "EVAL %s 0", .arg = "local i = 0 while true do i = i + 1 end"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b->same));
    snprintf(out[0], 256, "%s", cmd(b->same, "GET x"));
    snprintf(out[1], 256, "%s", cmd(b->same, "PING"));
    snprintf(out[2], 256, "%s", cmd(b->same, "EVAL %s 0", "return 1"));
    /* A connection made while busy is accepted and answered. */
    redisContext *late = harness_connect(b->s);
    CHECK(late != NULL);
    snprintf(out[3], 256, "%s", late ? cmd(late, "PING") : "");
    snprintf(out[4], 256, "%s", cmd(b->same, "SCRIPT KILL"));
    pthread_join(th, NULL);
    snprintf(out[5], 256, "%.200s", a.reply);
    snprintf(out[6], 256, "%s", cmd(b->same, "PING"));
    snprintf(out[7], 256, "%s", cmd(b->runner, "PING"));
}

static void kill_same_thread(int threads) {
    busy_srv b, r;
    REQUIRE(busy_start(&b, threads, 0));
    char got[NREPLIES][256], want[NREPLIES][256];
    kill_scenario(&b, got);
    static const char busy[] = "err:\"BUSY Redis is busy running a script. You can only call "
                               "SCRIPT KILL or SHUTDOWN NOSAVE.\"";
    CHECK_EQ_STR(got[0], busy);
    CHECK_EQ_STR(got[1], busy);
    CHECK_EQ_STR(got[2], busy);
    CHECK_EQ_STR(got[3], busy);
    CHECK_EQ_STR(got[4], "status:\"OK\"");
    CHECK(strstr(got[5], "err:\"ERR Script killed by user with SCRIPT KILL... script: ") == got[5]);
    CHECK_EQ_STR(got[6], "status:\"PONG\"");
    CHECK_EQ_STR(got[7], "status:\"PONG\"");
    if (!busy_start(&r, 1, 1)) return; /* no redis-server: skipped */
    kill_scenario(&r, want);
    for (int i = 0; i < NREPLIES; i++) CHECK_EQ_STR(got[i], want[i]);
}

TEST(kill_same_thread_1) { kill_same_thread(1); }
TEST(kill_same_thread_2) { kill_same_thread(2); }

/* FUNCTION KILL from the script's thread stops a busy function. */
static void function_kill(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    CHECK_EQ_STR(cmd(b.same, "FUNCTION LOAD %s",
                     "#!lua name=spin\nredis.register_function('spin', function() "
                     "local i = 0 while true do i = i + 1 end end)"),
                 "bulk:\"spin\"");
    run_arg a = {.c = b.runner, .fmt = "FCALL %s 0", .arg = "spin"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b.same));
    CHECK_EQ_STR(cmd(b.same, "GET x"), "err:\"BUSY Redis is busy running a script. You can only "
                                       "call FUNCTION KILL or SHUTDOWN NOSAVE.\"");
    CHECK(strstr(cmd(b.same, "FUNCTION STATS"), "bulk:\"spin\"") != NULL);
    CHECK_EQ_STR(cmd(b.same, "SCRIPT KILL"), "err:\"BUSY Redis is busy running a script. You can "
                                             "only call FUNCTION KILL or SHUTDOWN NOSAVE.\"");
    CHECK_EQ_STR(cmd(b.same, "FUNCTION KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    CHECK_EQ_STR(a.reply, "err:\"ERR Script killed by user with SCRIPT KILL... script: spin, on "
                          "@user_function:2.\"");
}

TEST(function_kill_1) { function_kill(1); }
TEST(function_kill_2) { function_kill(2); }

/* The script's own client pipelined commands behind the EVAL: none runs
 * while the script does (another client still reads the old value), all
 * run after it, in order. */
static void pipeline_after(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    int fd = -1;
    /* A raw socket in the runner's place: connect it, then as many as
     * the threads so that b.same's successor shares its thread. */
    fd = raw_connect(b.s->port);
    REQUIRE(fd >= 0);
    redisContext *same = NULL;
    for (int i = 0; i < threads; i++) same = harness_connect(b.s);
    REQUIRE(same);
    CHECK_EQ_STR(cmd(same, "SET p 0"), "status:\"OK\"");
    const char *script = "local i = 0 while true do i = i + 1 end";
    char req[512];
    snprintf(req, sizeof(req),
             "*3\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n0\r\n"
             "*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n"
             "*2\r\n$4\r\nINCR\r\n$1\r\np\r\n",
             strlen(script), script);
    CHECK_EQ_INT(raw_sendstr(fd, req), 0);
    CHECK(wait_busy(same));
    /* More input from the script's client while it runs: held too. */
    CHECK_EQ_INT(raw_sendstr(fd, "*2\r\n$3\r\nGET\r\n$1\r\np\r\n"), 0);
    usleep(100000);
    CHECK(strncmp(cmd(same, "GET p"), "err:\"BUSY", 9) == 0);
    CHECK_EQ_STR(cmd(same, "SCRIPT KILL"), "status:\"OK\"");
    char all[2048] = "";
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        raw_buf r;
        if (!raw_read_reply(fd, 10000, &r)) {
            raw_buf_free(&r);
            break;
        }
        if (n + r.len < sizeof(all)) {
            memcpy(all + n, r.data, r.len);
            n += r.len;
            all[n] = '\0';
        }
        raw_buf_free(&r);
    }
    CHECK(strncmp(all, "-ERR Script killed by user with SCRIPT KILL...", 46) == 0);
    const char *rest = strstr(all, "\r\n");
    CHECK(rest != NULL);
    CHECK_EQ_STR(rest ? rest + 2 : "", "+OK\r\n:2\r\n$1\r\n2\r\n");
    CHECK_EQ_STR(cmd(same, "GET p"), "bulk:\"2\"");
}

TEST(pipeline_after_1) { pipeline_after(1); }
TEST(pipeline_after_2) { pipeline_after(2); }

/* A script that wrote cannot be killed (-UNKILLABLE) and ends by itself;
 * MULTI from the same thread meanwhile: the refused command makes EXEC
 * abort (Redis's "MULTI-EXEC body and script timeout"); WATCH waits for
 * the script to end. */
static void unkillable(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    CHECK_EQ_STR(cmd(b.same, "SET xx 1"), "status:\"OK\"");
    run_arg a = {.c = b.runner,
                 .fmt = "EVAL %s 0",
                 .arg = "redis.call('set','w','1') local t = redis.call('time')[1] "
                        "while redis.call('time')[1] - t < 2 do end return 'done'"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b.same));
    CHECK_EQ_STR(cmd(b.same, "SCRIPT KILL"),
                 "err:\"UNKILLABLE Sorry the script already executed write commands against the "
                 "dataset. You can either wait the script termination or kill the server in a "
                 "hard way using the SHUTDOWN NOSAVE command.\"");
    CHECK_EQ_STR(cmd(b.same, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(b.same, "INCR xx"), "err:\"BUSY Redis is busy running a script. You can "
                                         "only call SCRIPT KILL or SHUTDOWN NOSAVE.\"");
    pthread_join(th, NULL);
    CHECK_EQ_STR(a.reply, "bulk:\"done\"");
    CHECK_EQ_STR(cmd(b.same, "INCR xx"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(b.same, "EXEC"),
                 "err:\"EXECABORT Transaction discarded because of previous errors.\"");
    CHECK_EQ_STR(cmd(b.same, "GET xx"), "bulk:\"1\"");
    CHECK_EQ_STR(cmd(b.same, "GET w"), "bulk:\"1\"");
}

TEST(unkillable_1) { unkillable(1); }
TEST(unkillable_2) { unkillable(2); }

/* A raw connection on the script's thread (the last of one per thread). */
static int same_thread_fd(busy_srv *b) {
    int fd = -1;
    for (int i = 0; i < b->threads; i++) fd = raw_connect(b->s->port);
    return fd;
}

/* Reads one reply from fd and compares it with want (raw RESP). */
static void expect_raw(int fd, const char *want) {
    raw_buf r;
    CHECK(raw_read_reply(fd, 10000, &r));
    CHECK_EQ_STR(r.data ? r.data : "", want);
    raw_buf_free(&r);
}

/* WATCH (allowed while busy, but it reads the keyspace the script holds)
 * from the script's thread is answered once the script is over. A client
 * that WATCHes keys is served (-BUSY), but what would unwatch them waits
 * for the script: its EXEC (which then runs: the script did not touch the
 * key; Redis would abort it with -BUSY), its disconnection. */
static void watch_waits(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    int tx = same_thread_fd(&b), gone = same_thread_fd(&b);
    REQUIRE(tx >= 0 && gone >= 0);
    CHECK_EQ_INT(raw_sendstr(tx, "*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n*1\r\n$5\r\nMULTI\r\n"
                                 "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n"), 0);
    expect_raw(tx, "+OK\r\n");
    expect_raw(tx, "+OK\r\n");
    expect_raw(tx, "+QUEUED\r\n");
    CHECK_EQ_INT(raw_sendstr(gone, "*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n"), 0);
    expect_raw(gone, "+OK\r\n");

    run_arg a = {.c = b.runner, .fmt = "EVAL %s 0", .arg = "local i = 0 while true do i = i + 1 end"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b.same));
    int fd = same_thread_fd(&b);
    REQUIRE(fd >= 0);
    CHECK_EQ_INT(raw_sendstr(fd, "*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"), 0);
    CHECK_EQ_INT(raw_sendstr(tx, "*2\r\n$4\r\nECHO\r\n$1\r\ne\r\n*1\r\n$4\r\nEXEC\r\n"), 0);
    expect_raw(tx, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
                   "SHUTDOWN NOSAVE.\r\n");
    raw_close(gone); /* unwatched once the script is over */
    raw_buf r;
    CHECK(!raw_read_reply(fd, 200, &r)); /* not yet: the script runs */
    raw_buf_free(&r);
    CHECK(!raw_read_reply(tx, 10, &r));
    raw_buf_free(&r);
    CHECK_EQ_STR(cmd(b.same, "SCRIPT KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    expect_raw(fd, "+OK\r\n");
    expect_raw(fd, "+PONG\r\n");
    /* ECHO was refused inside MULTI: the transaction is discarded. */
    expect_raw(tx, "-EXECABORT Transaction discarded because of previous errors.\r\n");
    CHECK_EQ_STR(cmd(b.same, "GET k"), "nil");
    CHECK_EQ_STR(cmd(b.same, "PING"), "status:\"PONG\"");
}

TEST(watch_waits_1) { watch_waits(1); }
TEST(watch_waits_2) { watch_waits(2); }

/* A pipeline from the script's thread while the script holds the shard
 * of its declared key: each command is answered -BUSY (no batch prefetch,
 * which would lock that shard). */
static void pipelined_busy(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    run_arg a = {.c = b.runner, .fmt = "EVAL %s 1 k", .arg = "while true do end"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b.same));
    int fd = -1;
    for (int i = 0; i < threads; i++) fd = raw_connect(b.s->port);
    REQUIRE(fd >= 0);
    const char *get = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    char req[256];
    snprintf(req, sizeof(req), "%s%s%s", get, get, get);
    CHECK_EQ_INT(raw_sendstr(fd, req), 0);
    for (int i = 0; i < 3; i++) {
        raw_buf r;
        CHECK(raw_read_reply(fd, 10000, &r));
        CHECK_EQ_STR(r.data ? r.data : "", "-BUSY Redis is busy running a script. You can only "
                                           "call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
        raw_buf_free(&r);
    }
    CHECK_EQ_STR(cmd(b.same, "SCRIPT KILL"), "status:\"OK\"");
    pthread_join(th, NULL);
    CHECK(strstr(a.reply, "Script killed by user") != NULL);
}

TEST(pipelined_busy_1) { pipelined_busy(1); }
TEST(pipelined_busy_2) { pipelined_busy(2); }

/* SHUTDOWN NOSAVE from the script's thread stops the server even while
 * an unkillable script runs. */
static void shutdown_nosave(int threads) {
    busy_srv b;
    REQUIRE(busy_start(&b, threads, 0));
    run_arg a = {.c = b.runner,
                 .fmt = "EVAL %s 0",
                 .arg = "redis.call('set','w','1') local i = 0 while true do i = i + 1 end"};
    pthread_t th;
    pthread_create(&th, NULL, run_thread, &a);
    CHECK(wait_busy(b.same));
    CHECK_EQ_STR(cmd(b.same, "SHUTDOWN"), "err:\"BUSY Redis is busy running a script. You can "
                                          "only call SCRIPT KILL or SHUTDOWN NOSAVE.\"");
    b.s->expect_exit = 1;
    cmd(b.same, "SHUTDOWN NOSAVE");
    pthread_join(th, NULL);
    CHECK(harness_wait_exit(b.s, 20000) != -1);
}

TEST(shutdown_nosave_1) { shutdown_nosave(1); }
TEST(shutdown_nosave_2) { shutdown_nosave(2); }

/* The epoll backend's nested poll (its own receive buffer). */
TEST(epoll_backend) {
    backend = "epoll";
    kill_same_thread(1);
    pipeline_after(1);
    watch_waits(2);
    backend = "auto";
}

int main(void) {
    RUN(kill_same_thread_1);
    RUN(kill_same_thread_2);
    RUN(function_kill_1);
    RUN(function_kill_2);
    RUN(pipeline_after_1);
    RUN(pipeline_after_2);
    RUN(unkillable_1);
    RUN(unkillable_2);
    RUN(watch_waits_1);
    RUN(watch_waits_2);
    RUN(pipelined_busy_1);
    RUN(pipelined_busy_2);
    RUN(shutdown_nosave_1);
    RUN(shutdown_nosave_2);
    RUN(epoll_backend);
    return testlib_finish();
}
