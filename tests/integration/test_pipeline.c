/*
 * Pipelines run in batches (client.c parses up to 16 complete commands
 * ahead and prefetches their keys) with exactly the semantics of running
 * them one by one: each test sends a whole pipeline in one write and
 * compares every reply with a real redis-server fed the same bytes, and
 * with explicit expected replies where they are short. Covered: a long mix
 * of reads, writes and errors; SELECT in the middle (keys prefetched in
 * the right database); MULTI/EXEC/DISCARD; CLIENT REPLY OFF/ON/SKIP; a
 * protocol error in the middle (nothing after it runs); a blocking BLPOP
 * and a CLIENT PAUSE that stop the pipeline until they are released; QUIT;
 * RESET making the client unauthenticated (the parser's limits change
 * mid-pipeline); inline commands between multibulk ones; input split at
 * every kind of boundary; MGET/EXISTS/TOUCH over many keys; backpressure;
 * the command and keyspace statistics of a batched pipeline.
 */
#include "../harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define READ_MS 5000

/* ---- Building requests ------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_raw(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Appends the multibulk of the space-separated words of a printf line. */
static void sb_cmd(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_cmd(sbuf *b, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    const char *w[600];
    size_t wl[600];
    int n = 0;
    for (char *s = line; *s && n < 600;) {
        while (*s == ' ') s++;
        if (!*s) break;
        w[n] = s;
        while (*s && *s != ' ') s++;
        wl[n] = (size_t)(s - w[n]);
        n++;
    }
    char hdr[32];
    snprintf(hdr, sizeof(hdr), "*%d\r\n", n);
    sb_raw(b, hdr);
    for (int i = 0; i < n; i++) {
        snprintf(hdr, sizeof(hdr), "$%zu\r\n", wl[i]);
        sb_raw(b, hdr);
        sb_add(b, w[i], wl[i]);
        sb_raw(b, "\r\n");
    }
}

/* ---- Running them ----------------------------------------------------------- */

/* Reads n replies from fd; returns their renderings, one per line
 * (malloc'd). A missing reply shows as "(none)". */
static char *read_replies(int fd, int n) {
    sbuf out = {0};
    sb_raw(&out, "");
    for (int i = 0; i < n; i++) {
        raw_buf b;
        if (!raw_read_reply(fd, READ_MS, &b)) {
            sb_raw(&out, "(none)\n");
            raw_buf_free(&b);
            break;
        }
        char *r = resp_render(b.data, b.len);
        sb_raw(&out, r);
        sb_raw(&out, "\n");
        free(r);
        raw_buf_free(&b);
    }
    return out.p;
}

/* Sends req in one write on a new connection to s, reads n replies. */
static char *run_pipeline(harness_server *s, const sbuf *req, int n) {
    int fd = raw_connect(s->port);
    if (fd < 0) return strdup("(no connection)");
    raw_send(fd, req->p, req->len);
    char *r = read_replies(fd, n);
    raw_close(fd);
    return r;
}

/* Runs req on Lightning and (when installed) Redis; CHECKs the replies are
 * the same. Returns Lightning's (malloc'd). */
static char *compare_pipeline(const char *file, int line, harness_server *l,
                              harness_server *r, const sbuf *req, int n) {
    char *a = run_pipeline(l, req, n);
    if (r) {
        char *b = run_pipeline(r, req, n);
        if (strcmp(a, b) != 0) {
            char *ea, *eb;
            size_t off = harness_diff_excerpt(a, b, &ea, &eb);
            testlib_fail(file, line, "pipeline replies differ at %zu: lightning %s redis %s",
                         off, ea, eb);
            free(ea);
            free(eb);
        }
        free(b);
    }
    return a;
}
#define COMPARE_PIPELINE(l, r, req, n) compare_pipeline(__FILE__, __LINE__, (l), (r), (req), (n))

/* Runs one command on both servers (setup and checks). */
static const char *both(redisContext *cl, redisContext *cr, const char *const *argv) {
    if (cr) cmd_argv(cr, argv);
    return cmd_argv(cl, argv);
}
#define BOTH(cl, cr, ...) both((cl), (cr), (const char *const[]){__VA_ARGS__, NULL})

/* ---- Tests --------------------------------------------------------------------- */

TEST(mixed_pipeline_matches_redis) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    int n = 0;
    for (int i = 0; i < 60; i++) {
        sb_cmd(&q, "SET k%d v%d", i % 23, i);
        sb_cmd(&q, "GET k%d", (i * 7) % 29);
        sb_cmd(&q, "INCR n%d", i % 5);
        sb_cmd(&q, "EXISTS k%d k%d nokey", i % 23, (i + 1) % 31);
        sb_cmd(&q, "MGET k%d n%d k%d nokey", i % 29, i % 5, (i + 3) % 23);
        n += 5;
        if (i % 7 == 0) {
            sb_cmd(&q, "DEL k%d", (i * 3) % 23);
            sb_cmd(&q, "GETDEL k%d", (i * 5) % 23);
            sb_cmd(&q, "APPEND k%d x", i % 23);
            sb_cmd(&q, "TYPE n%d", i % 5);
            sb_cmd(&q, "GET");                /* wrong arity */
            sb_cmd(&q, "NOSUCHCMD k%d", i);   /* unknown command */
            sb_cmd(&q, "LPUSH k%d x", i % 23); /* WRONGTYPE when a string */
            sb_cmd(&q, "PING");
            sb_cmd(&q, "ECHO e%d", i);
            n += 9;
        }
    }
    sb_cmd(&q, "MGET k0 k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11 k12 k13 k14 k15 k16 k17 "
               "k18 k19 k20 k21 k22 n0 n1 n2 n3 n4");
    n++;
    char *got = COMPARE_PIPELINE(l, r, &q, n);
    CHECK(strstr(got, "(none)") == NULL);
    free(got);
    free(q.p);
}

TEST(select_mid_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    /* Long runs of reads around each SELECT, so SELECT falls inside what
     * would otherwise be one batch. */
    sb_cmd(&q, "SET k zero");
    for (int i = 0; i < 20; i++) sb_cmd(&q, "GET k");
    sb_cmd(&q, "SELECT 1");
    for (int i = 0; i < 20; i++) sb_cmd(&q, "GET k");
    sb_cmd(&q, "SET k one");
    sb_cmd(&q, "GET k");
    sb_cmd(&q, "MGET k k");
    sb_cmd(&q, "SELECT 0");
    sb_cmd(&q, "GET k");
    sb_cmd(&q, "EXISTS k");
    sb_cmd(&q, "SELECT 1");
    sb_cmd(&q, "GET k");
    int n = 1 + 20 + 1 + 20 + 4 + 2 + 2;
    char *got = COMPARE_PIPELINE(l, r, &q, n);
    sbuf want = {0};
    sb_raw(&want, "status:\"OK\"\n");
    for (int i = 0; i < 20; i++) sb_raw(&want, "bulk:\"zero\"\n");
    sb_raw(&want, "status:\"OK\"\n");
    for (int i = 0; i < 20; i++) sb_raw(&want, "nil\n");
    sb_raw(&want, "status:\"OK\"\nbulk:\"one\"\narray[bulk:\"one\",bulk:\"one\"]\n"
                  "status:\"OK\"\nbulk:\"zero\"\nint:1\nstatus:\"OK\"\nbulk:\"one\"\n");
    CHECK_EQ_STR(got, want.p);
    free(got);
    free(want.p);
    free(q.p);
}

TEST(multi_exec_mid_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "MULTI");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "INCR a");
    sb_cmd(&q, "SET b x");
    sb_cmd(&q, "MGET a b");
    sb_cmd(&q, "EXEC");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "GET b");
    sb_cmd(&q, "MULTI");
    sb_cmd(&q, "INCR a");
    sb_cmd(&q, "DISCARD");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "MULTI");
    sb_cmd(&q, "SELECT 2");
    sb_cmd(&q, "SET a in2");
    sb_cmd(&q, "EXEC");
    sb_cmd(&q, "GET a"); /* db 2 now, as in Redis */
    sb_cmd(&q, "MULTI");
    sb_cmd(&q, "GET"); /* arity error: the EXEC is aborted */
    sb_cmd(&q, "INCR a");
    sb_cmd(&q, "EXEC");
    sb_cmd(&q, "GET a");
    char *got = COMPARE_PIPELINE(l, r, &q, 24);
    CHECK_EQ_STR(got,
                 "status:\"OK\"\nbulk:\"1\"\nstatus:\"OK\"\nstatus:\"QUEUED\"\n"
                 "status:\"QUEUED\"\nstatus:\"QUEUED\"\nstatus:\"QUEUED\"\n"
                 "array[bulk:\"1\",int:2,status:\"OK\",array[bulk:\"2\",bulk:\"x\"]]\n"
                 "bulk:\"2\"\nbulk:\"x\"\nstatus:\"OK\"\nstatus:\"QUEUED\"\nstatus:\"OK\"\n"
                 "bulk:\"2\"\nstatus:\"OK\"\nstatus:\"QUEUED\"\nstatus:\"QUEUED\"\n"
                 "array[status:\"OK\",status:\"OK\"]\nbulk:\"in2\"\nstatus:\"OK\"\n"
                 "err:\"ERR wrong number of arguments for 'get' command\"\n"
                 "status:\"QUEUED\"\n"
                 "err:\"EXECABORT Transaction discarded because of previous errors.\"\n"
                 "bulk:\"in2\"\n");
    free(got);
    free(q.p);
}

TEST(client_reply_mid_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    sb_cmd(&q, "CLIENT REPLY OFF");
    for (int i = 0; i < 20; i++) sb_cmd(&q, "INCR a");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "CLIENT REPLY ON");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "CLIENT REPLY SKIP");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "GET a");
    for (int i = 0; i < 3; i++) sb_cmd(&q, "INCR a");
    sb_cmd(&q, "PING");
    char *got = COMPARE_PIPELINE(l, r, &q, 7);
    CHECK_EQ_STR(got, "status:\"OK\"\nstatus:\"OK\"\nbulk:\"21\"\nbulk:\"21\"\n"
                      "int:22\nint:23\nint:24\n");
    free(got);
    /* Nothing more came before the PONG. */
    int fd = raw_connect(l->port);
    REQUIRE(fd >= 0);
    raw_send(fd, q.p, q.len);
    char *all = read_replies(fd, 8);
    CHECK(strstr(all, "status:\"PONG\"\n") != NULL);
    free(all);
    free(q.p);
}

TEST(protocol_error_mid_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    for (int i = 0; i < 5; i++) sb_cmd(&q, "INCR n");
    sb_cmd(&q, "GET a");
    sb_raw(&q, "*2\r\n$3\r\nGET\r\n$x\r\n"); /* invalid bulk length */
    sb_cmd(&q, "SET after 1");
    sb_cmd(&q, "INCR n");
    harness_server *srv[2] = {l, r};
    const char *want = "+OK\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n$1\r\n1\r\n"
                       "-ERR Protocol error: invalid bulk length\r\n";
    for (int s = 0; s < 2 && srv[s]; s++) {
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        raw_send(fd, q.p, q.len);
        raw_buf b = raw_read_until(fd, READ_MS);
        CHECK(b.closed);
        CHECK_EQ_STR(b.data, want);
        raw_buf_free(&b);
        redisContext *c = harness_connect(srv[s]);
        REQUIRE(c);
        CHECK_EQ_STR(cmd(c, "EXISTS after"), "int:0");
        CHECK_EQ_STR(cmd(c, "GET n"), "bulk:\"5\"");
    }
    free(q.p);
}

TEST(blocking_command_stops_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "BLPOP q 0");
    sb_cmd(&q, "SET after 1");
    for (int i = 0; i < 20; i++) sb_cmd(&q, "INCR after");
    sb_cmd(&q, "GET after");
    harness_server *srv[2] = {l, r};
    char *out[2] = {NULL, NULL};
    for (int s = 0; s < 2 && srv[s]; s++) {
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        raw_send(fd, q.p, q.len);
        /* The replies before BLPOP come with everything the server read
         * processed: the rest waits behind the blocked BLPOP. */
        char *first = read_replies(fd, 2);
        CHECK_EQ_STR(first, "status:\"OK\"\nbulk:\"1\"\n");
        free(first);
        redisContext *c = harness_connect(srv[s]);
        REQUIRE(c);
        CHECK_EQ_STR(cmd(c, "EXISTS after"), "int:0");
        CHECK_EQ_STR(cmd(c, "RPUSH q x"), "int:1");
        out[s] = read_replies(fd, 23);
        CHECK_EQ_STR(cmd(c, "GET after"), "bulk:\"21\"");
        raw_close(fd);
    }
    const char *head = "array[bulk:\"q\",bulk:\"x\"]\nstatus:\"OK\"\nint:2\n";
    CHECK(strncmp(out[0], head, strlen(head)) == 0);
    CHECK(strstr(out[0], "int:21\nbulk:\"21\"\n") != NULL);
    if (out[1]) CHECK_EQ_STR(out[0], out[1]);
    free(out[0]);
    free(out[1]);
    free(q.p);
}

TEST(client_pause_stops_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    for (int i = 0; i < 5; i++) sb_cmd(&q, "GET a");
    sb_cmd(&q, "SET a 2"); /* a write: waits for CLIENT UNPAUSE */
    for (int i = 0; i < 10; i++) sb_cmd(&q, "GET a");
    sb_cmd(&q, "PING");
    harness_server *srv[2] = {l, r};
    char *out[2] = {NULL, NULL};
    for (int s = 0; s < 2 && srv[s]; s++) {
        redisContext *c = harness_connect(srv[s]);
        REQUIRE(c);
        CHECK_EQ_STR(cmd(c, "SET a 1"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "CLIENT PAUSE 100000 WRITE"), "status:\"OK\"");
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        raw_send(fd, q.p, q.len);
        char *first = read_replies(fd, 5);
        CHECK_EQ_STR(first, "bulk:\"1\"\nbulk:\"1\"\nbulk:\"1\"\nbulk:\"1\"\nbulk:\"1\"\n");
        free(first);
        CHECK_EQ_STR(cmd(c, "GET a"), "bulk:\"1\"");
        CHECK_EQ_STR(cmd(c, "CLIENT UNPAUSE"), "status:\"OK\"");
        out[s] = read_replies(fd, 12);
        raw_close(fd);
    }
    sbuf want = {0};
    sb_raw(&want, "status:\"OK\"\n");
    for (int i = 0; i < 10; i++) sb_raw(&want, "bulk:\"2\"\n");
    sb_raw(&want, "status:\"PONG\"\n");
    CHECK_EQ_STR(out[0], want.p);
    if (out[1]) CHECK_EQ_STR(out[0], out[1]);
    free(want.p);
    free(out[0]);
    free(out[1]);
    free(q.p);
}

TEST(quit_mid_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    sb_cmd(&q, "GET a");
    sb_cmd(&q, "QUIT");
    sb_cmd(&q, "SET after 1");
    sb_cmd(&q, "GET a");
    harness_server *srv[2] = {l, r};
    for (int s = 0; s < 2 && srv[s]; s++) {
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        raw_send(fd, q.p, q.len);
        raw_buf b = raw_read_until(fd, READ_MS);
        CHECK(b.closed);
        CHECK_EQ_STR(b.data, "+OK\r\n$1\r\n1\r\n+OK\r\n");
        raw_buf_free(&b);
        redisContext *c = harness_connect(srv[s]);
        REQUIRE(c);
        CHECK_EQ_STR(cmd(c, "EXISTS after"), "int:0");
    }
    free(q.p);
}

TEST(reset_makes_the_rest_unauthenticated) {
    harness_server *l = harness_start("requirepass", "pw", NULL);
    harness_server *r = harness_start_redis("requirepass", "pw", NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "AUTH pw");
    /* 11 arguments, parsed only once AUTH ran: fine. */
    sb_cmd(&q, "MSET a 1 b 2 c 3 d 4 e 5");
    sb_cmd(&q, "SET k v");
    sb_cmd(&q, "GET k");
    sb_cmd(&q, "RESET");
    sb_cmd(&q, "GET k"); /* NOAUTH now */
    /* 11 arguments: over the unauthenticated limit, a protocol error. */
    sb_cmd(&q, "MSET a 1 b 2 c 3 d 4 e 5");
    sb_cmd(&q, "GET k");
    harness_server *srv[2] = {l, r};
    for (int s = 0; s < 2 && srv[s]; s++) {
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        raw_send(fd, q.p, q.len);
        raw_buf b = raw_read_until(fd, READ_MS);
        CHECK(b.closed);
        CHECK_EQ_STR(b.data, "+OK\r\n+OK\r\n+OK\r\n$1\r\nv\r\n+RESET\r\n"
                             "-NOAUTH Authentication required.\r\n"
                             "-ERR Protocol error: unauthenticated multibulk length\r\n");
        raw_buf_free(&b);
    }
    free(q.p);
}

TEST(inline_between_multibulk) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    sb_cmd(&q, "SET a 1");
    sb_raw(&q, "SET b \"x y\\x41\"\r\n");
    sb_cmd(&q, "GET b");
    sb_raw(&q, "GET b\r\n");
    sb_cmd(&q, "GET a");
    sb_raw(&q, "\r\n");
    sb_raw(&q, "*0\r\n");
    sb_cmd(&q, "MGET a b");
    sb_raw(&q, "ECHO 'q \"z'\r\n");
    sb_cmd(&q, "GET a");
    char *got = COMPARE_PIPELINE(l, r, &q, 8);
    CHECK_EQ_STR(got, "status:\"OK\"\nstatus:\"OK\"\nbulk:\"x yA\"\nbulk:\"x yA\"\n"
                      "bulk:\"1\"\narray[bulk:\"1\",bulk:\"x yA\"]\nbulk:\"q \\\"z\"\n"
                      "bulk:\"1\"\n");
    free(got);
    free(q.p);
}

TEST(pipeline_split_at_every_boundary) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    sbuf q = {0};
    int n = 0;
    for (int i = 0; i < 40; i++) {
        sb_cmd(&q, "SET key:%d value-%d", i % 13, i);
        sb_cmd(&q, "GET key:%d", (i * 5) % 13);
        sb_cmd(&q, "MGET key:%d key:%d", i % 13, (i + 1) % 13);
        n += 3;
    }
    /* Pieces of 1 to 37 bytes, each its own write: commands end and start
     * anywhere in the reads. */
    harness_server *srv[2] = {l, r};
    char *out[2] = {NULL, NULL};
    for (int s = 0; s < 2 && srv[s]; s++) {
        int fd = raw_connect(srv[s]->port);
        REQUIRE(fd >= 0);
        size_t off = 0, step = 1;
        while (off < q.len) {
            size_t k = step < q.len - off ? step : q.len - off;
            raw_send(fd, q.p + off, k);
            off += k;
            step = step % 37 + 1;
            if (step % 5 == 0) harness_sleep_ms(1);
        }
        out[s] = read_replies(fd, n);
        raw_close(fd);
    }
    CHECK(strstr(out[0], "(none)") == NULL);
    if (out[1]) CHECK_EQ_STR(out[0], out[1]);
    free(out[0]);
    free(out[1]);
    free(q.p);
}

TEST(multi_key_reads_many_keys) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    redisContext *cl = harness_connect(l), *cr = r ? harness_connect(r) : NULL;
    REQUIRE(cl);
    for (int i = 0; i < 50; i += 2) {
        char k[16], v[16];
        snprintf(k, sizeof k, "m%d", i);
        snprintf(v, sizeof v, "val%d", i);
        BOTH(cl, cr, "SET", k, v);
    }
    BOTH(cl, cr, "RPUSH", "m10", "x");  /* m10 is a string: WRONGTYPE */
    BOTH(cl, cr, "RPUSH", "list", "x"); /* MGET answers nil for a list */
    BOTH(cl, cr, "SET", "gone", "x", "PX", "1");
    harness_sleep_ms(5);
    /* 60 keys: windows of 16 and a partial one; repeats and a list. */
    const char *argv[64];
    char names[64][16];
    argv[0] = "MGET";
    for (int i = 1; i <= 60; i++) {
        snprintf(names[i], 16, "m%d", (i * 7) % 53);
        argv[i] = names[i];
    }
    argv[13] = "list";
    argv[27] = "gone";
    argv[61] = NULL;
    const char *got = harness_compare(__FILE__, __LINE__, cl, cr, 0, argv);
    CHECK(strstr(got, "bulk:\"val14\"") != NULL);
    argv[0] = "EXISTS";
    harness_compare(__FILE__, __LINE__, cl, cr, 0, argv);
    argv[0] = "TOUCH";
    harness_compare(__FILE__, __LINE__, cl, cr, 0, argv);
    CHECK_EQ_STR(COMPARE(cl, cr, "MGET", "m0", "nokey", "m2"),
                 "array[bulk:\"val0\",nil,bulk:\"val2\"]");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXISTS", "m0", "m0", "nokey", "list"), "int:3");
}

TEST(backpressure_mid_batch) {
    /* Lightning only: client-output-backpressure is its own directive. A
     * client that reads only after sending its whole pipeline is held back
     * mid-batch (when the kernel's buffers fill) and resumed as it reads:
     * every command runs once, in order. */
    harness_server *l = harness_start("client-output-backpressure", "16kb", NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    char big[4097];
    memset(big, 'b', 4096);
    big[4096] = '\0';
    CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"SET", "big", big, NULL}), "status:\"OK\"");
    enum { N = 300 };
    sbuf q = {0};
    for (int i = 0; i < N; i++) {
        sb_cmd(&q, "GET big");
        sb_cmd(&q, "INCR cnt");
    }
    int fd = raw_connect(l->port);
    REQUIRE(fd >= 0);
    raw_send(fd, q.p, q.len);
    int bad = 0;
    char want[32];
    for (int i = 0; i < N && !bad; i++) {
        raw_buf b;
        if (!raw_read_reply(fd, READ_MS, &b) || b.len != 4096 + 9) bad = 1;
        raw_buf_free(&b);
        if (!raw_read_reply(fd, READ_MS, &b)) bad = 1;
        snprintf(want, sizeof want, ":%d\r\n", i + 1);
        if (!bad && strcmp(b.data, want) != 0) bad = 1;
        raw_buf_free(&b);
        if (bad) testlib_fail(__FILE__, __LINE__, "reply pair %d wrong", i);
    }
    CHECK_EQ_STR(cmd(c, "GET cnt"), "bulk:\"300\"");
    free(q.p);
}

TEST(statistics_of_a_batched_pipeline) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    redisContext *cl = harness_connect(l), *cr = r ? harness_connect(r) : NULL;
    REQUIRE(cl);
    BOTH(cl, cr, "SET", "hit", "1");
    BOTH(cl, cr, "CONFIG", "RESETSTAT");
    sbuf q = {0};
    for (int i = 0; i < 40; i++) sb_cmd(&q, i % 4 ? "GET hit" : "GET miss");
    sb_cmd(&q, "MGET hit miss hit");
    harness_server *srv[2] = {l, r};
    for (int s = 0; s < 2 && srv[s]; s++) free(run_pipeline(srv[s], &q, 41));
    /* Counts are exact; the time is a number (not checked: no timing). */
    for (int s = 0; s < 2 && srv[s]; s++) {
        redisContext *c = s ? cr : cl;
        redisReply *rep = redisCommand(c, "INFO commandstats");
        REQUIRE(rep && rep->type == REDIS_REPLY_STRING);
        CHECK(strstr(rep->str, "cmdstat_get:calls=40,usec=") != NULL);
        CHECK(strstr(rep->str, "cmdstat_mget:calls=1,usec=") != NULL);
        freeReplyObject(rep);
        rep = redisCommand(c, "INFO stats");
        REQUIRE(rep && rep->type == REDIS_REPLY_STRING);
        char v[32];
        CHECK(harness_info_field(rep->str, "keyspace_hits", v, sizeof v));
        CHECK_EQ_STR(v, "32");
        CHECK(harness_info_field(rep->str, "keyspace_misses", v, sizeof v));
        CHECK_EQ_STR(v, "11");
        freeReplyObject(rep);
    }
    /* INFO in the same pipeline counts every command before it. */
    sbuf q2 = {0};
    sb_cmd(&q2, "CONFIG RESETSTAT");
    for (int i = 0; i < 5; i++) sb_cmd(&q2, "GET hit");
    sb_cmd(&q2, "INFO commandstats");
    for (int s = 0; s < 2 && srv[s]; s++) {
        char *got = run_pipeline(srv[s], &q2, 7);
        CHECK(strstr(got, "cmdstat_get:calls=5,usec=") != NULL);
        free(got);
    }
    free(q2.p);
    free(q.p);
}

int main(void) {
    RUN(mixed_pipeline_matches_redis);
    RUN(select_mid_pipeline);
    RUN(multi_exec_mid_pipeline);
    RUN(client_reply_mid_pipeline);
    RUN(protocol_error_mid_pipeline);
    RUN(blocking_command_stops_pipeline);
    RUN(client_pause_stops_pipeline);
    RUN(quit_mid_pipeline);
    RUN(reset_makes_the_rest_unauthenticated);
    RUN(inline_between_multibulk);
    RUN(pipeline_split_at_every_boundary);
    RUN(multi_key_reads_many_keys);
    RUN(backpressure_mid_batch);
    RUN(statistics_of_a_batched_pipeline);
    return testlib_finish();
}
