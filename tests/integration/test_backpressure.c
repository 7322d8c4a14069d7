/*
 * Backpressure (issue #2): a client that pipelines far more than it reads
 * must not make the server buffer without bound. One client writes 200k
 * ECHO/PING commands with a 1 KB argument (~210 MB) without reading; the
 * server's RSS must grow by less than RSS_BOUND_KB, other clients must still
 * be served, and once the first client reads, every reply must be there in
 * order. No timing assertions: timeouts only detect hangs.
 */
#include "../harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define N_CMDS 200000
#define ARG_LEN 1024
#define RSS_BOUND_KB (64 * 1024)
#define STALL_MS 2000  /* no write progress this long: the server pushes back */
#define HANG_MS 20000  /* no progress at all this long: the test fails */

/* Argument of command i: its number, then a letter that depends on i. */
static void make_arg(long i, char *arg) {
    memset(arg, 'a' + (int)(i % 26), ARG_LEN);
    char num[16];
    int n = snprintf(num, sizeof num, "%010ld", i);
    memcpy(arg, num, (size_t)n);
}

static size_t make_request(long i, char *buf) {
    char arg[ARG_LEN];
    make_arg(i, arg);
    const char *name = i % 4 == 3 ? "PING" : "ECHO";
    int h = sprintf(buf, "*2\r\n$4\r\n%s\r\n$%d\r\n", name, ARG_LEN);
    memcpy(buf + h, arg, ARG_LEN);
    memcpy(buf + h + ARG_LEN, "\r\n", 2);
    return (size_t)h + ARG_LEN + 2;
}

static size_t make_reply(long i, char *buf) {
    char arg[ARG_LEN];
    make_arg(i, arg);
    int h = sprintf(buf, "$%d\r\n", ARG_LEN);
    memcpy(buf + h, arg, ARG_LEN);
    memcpy(buf + h + ARG_LEN, "\r\n", 2);
    return (size_t)h + ARG_LEN + 2;
}

typedef struct writer {
    int fd;
    long next;         /* next command to queue */
    char req[ARG_LEN + 64];
    size_t req_len, req_off;
} writer;

/* Writes as much as the socket takes; returns bytes written, -1 on error. */
static long write_some(writer *w) {
    long total = 0;
    while (w->next < N_CMDS || w->req_off < w->req_len) {
        if (w->req_off == w->req_len) {
            w->req_len = make_request(w->next++, w->req);
            w->req_off = 0;
        }
        ssize_t n = write(w->fd, w->req + w->req_off, w->req_len - w->req_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return total;
            if (errno == EINTR) continue;
            return -1;
        }
        w->req_off += (size_t)n;
        total += n;
    }
    return total;
}

static int all_written(writer *w) {
    return w->next == N_CMDS && w->req_off == w->req_len;
}

TEST(pipelined_writer_is_bounded) {
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    /* Under ASan freed memory sits in quarantine (256 MB by default) and
     * would count as growth; keep it small for this server. */
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=4", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    harness_server *l = harness_start(NULL);
    if (asan) setenv("ASAN_OPTIONS", asan, 1);
    else unsetenv("ASAN_OPTIONS");
    REQUIRE(l);
    redisContext *other = harness_connect(l);
    REQUIRE(other);
    CHECK_EQ_STR(cmd(other, "PING"), "status:\"PONG\"");
    long base_kb = harness_rss_kb(l->pid);
    REQUIRE(base_kb > 0);
    long max_kb = base_kb;

    writer w = {.fd = raw_connect(l->port)};
    REQUIRE(w.fd >= 0);
    fcntl(w.fd, F_SETFL, fcntl(w.fd, F_GETFL) | O_NONBLOCK);

    /* Phase 1: write without reading until the server stops taking more. */
    long long written = 0;
    int stalled = 0;
    while (!all_written(&w)) {
        struct pollfd pf = {w.fd, POLLOUT, 0};
        int r = poll(&pf, 1, STALL_MS);
        if (r == 0) {
            stalled = 1;
            break;
        }
        long n = write_some(&w);
        if (n < 0) {
            testlib_fail(__FILE__, __LINE__, "write failed after %lld bytes: "
                         "%s", written, strerror(errno));
            return;
        }
        written += n;
        long kb = harness_rss_kb(l->pid);
        if (kb > max_kb) max_kb = kb;
    }
    long kb = harness_rss_kb(l->pid);
    if (kb > max_kb) max_kb = kb;
    printf("# phase 1: wrote %lld bytes (%ld commands)%s, RSS %ld KB -> max "
           "%ld KB\n", written, w.next, stalled ? ", server pushed back" : "",
           base_kb, max_kb);
    CHECK(stalled); /* ~210 MB cannot all fit in socket buffers */
    if (max_kb - base_kb >= RSS_BOUND_KB)
        testlib_fail(__FILE__, __LINE__, "server RSS grew by %ld KB (bound "
                     "%d KB) while a client did not read its replies",
                     max_kb - base_kb, RSS_BOUND_KB);
    REQUIRE(harness_alive(l));

    /* Phase 2: another client is still served. */
    CHECK_EQ_STR(cmd(other, "PING"), "status:\"PONG\"");
    CHECK_EQ_STR(cmd(other, "ECHO still-here"), "bulk:\"still-here\"");
    CHECK_EQ_STR(cmd(other, "CLIENT SETNAME other"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(other, "CLIENT GETNAME"), "bulk:\"other\"");

    /* Phase 3: read everything back (writing the rest meanwhile) and check
     * every reply, in order. */
    long ri = 0;
    char exp[ARG_LEN + 64];
    size_t exp_len = make_reply(0, exp), exp_off = 0;
    char buf[65536];
    int bad = 0;
    while (ri < N_CMDS && !bad) {
        struct pollfd pf = {w.fd, POLLIN | (all_written(&w) ? 0 : POLLOUT), 0};
        int r = poll(&pf, 1, HANG_MS);
        if (r == 0) {
            testlib_fail(__FILE__, __LINE__, "no progress for %d ms: %ld "
                         "replies read, %ld commands sent", HANG_MS, ri,
                         w.next);
            break;
        }
        if (pf.revents & POLLOUT) {
            if (write_some(&w) < 0) {
                testlib_fail(__FILE__, __LINE__, "write failed: %s",
                             strerror(errno));
                break;
            }
        }
        if (!(pf.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(w.fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
            testlib_fail(__FILE__, __LINE__, "connection closed after %ld "
                         "replies", ri);
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (ri >= N_CMDS) {
                testlib_fail(__FILE__, __LINE__, "extra bytes after the last "
                             "reply");
                bad = 1;
                break;
            }
            if (buf[i] != exp[exp_off]) {
                testlib_fail(__FILE__, __LINE__, "reply %ld differs at byte "
                             "%zu: got %s", ri, exp_off,
                             harness_escape(buf + i, (size_t)(n - i) < 40
                                                         ? (size_t)(n - i)
                                                         : 40));
                bad = 1;
                break;
            }
            if (++exp_off == exp_len) {
                if (++ri < N_CMDS) exp_len = make_reply(ri, exp);
                exp_off = 0;
            }
        }
        if ((ri & 1023) == 0) {
            kb = harness_rss_kb(l->pid);
            if (kb > max_kb) max_kb = kb;
        }
    }
    CHECK_EQ_INT(ri, N_CMDS);
    printf("# phase 3: %ld replies read, max RSS growth %ld KB\n", ri,
           max_kb - base_kb);
    if (max_kb - base_kb >= RSS_BOUND_KB)
        testlib_fail(__FILE__, __LINE__, "server RSS grew by %ld KB (bound "
                     "%d KB)", max_kb - base_kb, RSS_BOUND_KB);
    /* Nothing more on the wire, and the connection is still usable. */
    fcntl(w.fd, F_SETFL, fcntl(w.fd, F_GETFL) & ~O_NONBLOCK);
    raw_sendstr(w.fd, "PING\r\n");
    raw_buf b;
    raw_read_reply(w.fd, 10000, &b);
    CHECK_EQ_STR(b.data, "+PONG\r\n");
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(other, "PING"), "status:\"PONG\"");
}

int main(void) {
    RUN(pipelined_writer_is_bounded);
    return testlib_finish();
}
