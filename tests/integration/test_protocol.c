/*
 * RESP protocol black-box tests (issue #2): PING/ECHO, pipelining from many
 * clients, inline commands, every protocol error text (compared byte for
 * byte with a real redis-server, connection closed afterwards, other clients
 * unaffected), proto-max-bulk-len, unknown-command and arity errors, empty
 * multibulk, commands split into 1-byte writes.
 */
#include "../difftest.h"

#include <stdlib.h>

#define READ_MS 5000

/* What PING gets on a fresh connection to the servers start_pair() started
 * for the running test. */
static const char *pong;

/* Starts the pair, without connections, with one directive (or none) for
 * both servers. Returns 1 when Lightning answered. */
static int start_pair(const char *d1, const char *v1) {
    pong = d1 && !strcmp(d1, "requirepass")
               ? "-NOAUTH Authentication required.\r\n"
               : "+PONG\r\n";
    return difftest_start_servers(d1, v1, NULL);
}

/* Sends `req` on a fresh connection and returns everything the server sent
 * until it closed the connection (or READ_MS passed). */
static raw_buf send_and_drain(harness_server *s, const char *req, size_t len) {
    raw_buf b = {0};
    int fd = raw_connect(s->port);
    if (fd < 0) return b;
    raw_send(fd, req, len);
    b = raw_read_until(fd, READ_MS);
    raw_close(fd);
    return b;
}

/* Sends `req` on a fresh connection, reads one reply. */
static raw_buf send_one(harness_server *s, const char *req, size_t len) {
    raw_buf b = {0};
    int fd = raw_connect(s->port);
    if (fd < 0) return b;
    raw_send(fd, req, len);
    raw_read_reply(fd, READ_MS, &b);
    raw_close(fd);
    return b;
}

/* The protocol error case: lightning must send exactly `expected`, the same
 * bytes as redis, then close; a client connected before is unaffected. On
 * the servers of start_pair(), which knows what their PING answers. */
static void check_proto_error(const char *file, int line, const char *req,
                              size_t len, const char *expected) {
    int other = raw_connect(LS->port);
    raw_buf lb = send_and_drain(LS, req, len);
    if (!lb.data || strcmp(lb.data, expected) != 0)
        testlib_fail(file, line, "lightning sent %s, expected %s",
                     lb.data ? harness_escape(lb.data, lb.len) : "(nothing)",
                     harness_escape(expected, strlen(expected)));
    if (!lb.closed)
        testlib_fail(file, line, "lightning did not close the connection "
                                 "after %s", harness_escape(expected,
                                                            strlen(expected)));
    if (RS) {
        raw_buf rb = send_and_drain(RS, req, len);
        if (rb.len != lb.len || memcmp(rb.data, lb.data, lb.len) != 0)
            testlib_fail(file, line, "differs from redis: lightning %s, "
                                     "redis %s",
                         harness_escape(lb.data ? lb.data : "", lb.len),
                         harness_escape(rb.data ? rb.data : "", rb.len));
        if (!rb.closed)
            testlib_fail(file, line, "(test bug?) redis did not close");
        raw_buf_free(&rb);
    }
    raw_buf_free(&lb);
    if (other >= 0) {
        raw_buf ob = {0};
        raw_sendstr(other, "*1\r\n$4\r\nPING\r\n");
        raw_read_reply(other, READ_MS, &ob);
        if (!ob.data || strcmp(ob.data, pong) != 0)
            testlib_fail(file, line, "other client got %s after the error",
                         ob.data ? harness_escape(ob.data, ob.len) : "nothing");
        raw_buf_free(&ob);
        raw_close(other);
    }
    /* The server must still accept new clients. */
    raw_buf nb = send_one(LS, "PING\r\n", 6);
    if (!nb.data || strcmp(nb.data, pong) != 0)
        testlib_fail(file, line, "new client after the error got %s",
                     nb.data ? harness_escape(nb.data, nb.len) : "nothing");
    raw_buf_free(&nb);
}
#define CHECK_PROTO_ERROR(req, len, expected)                                 \
    check_proto_error(__FILE__, __LINE__, (req), (len), (expected))

/* Non-closing request: compares one reply's bytes with redis, checks it. */
static void check_raw_reply(const char *file, int line, const char *req,
                            size_t len, const char *expected, size_t explen) {
    raw_buf lb = send_one(LS, req, len);
    if (!lb.data || lb.len != explen || memcmp(lb.data, expected, explen))
        testlib_fail(file, line, "for %s lightning sent %s, expected %s",
                     harness_escape(req, len),
                     lb.data ? harness_escape(lb.data, lb.len) : "(nothing)",
                     harness_escape(expected, explen));
    if (RS) {
        raw_buf rb = send_one(RS, req, len);
        if (!rb.data || rb.len != lb.len ||
            memcmp(rb.data, lb.data ? lb.data : "", lb.len))
            testlib_fail(file, line, "for %s: lightning %s, redis %s",
                         harness_escape(req, len),
                         harness_escape(lb.data ? lb.data : "", lb.len),
                         harness_escape(rb.data ? rb.data : "", rb.len));
        raw_buf_free(&rb);
    }
    raw_buf_free(&lb);
}
#define CHECK_RAW(req, expected)                                              \
    check_raw_reply(__FILE__, __LINE__, (req), strlen(req), (expected),       \
                    strlen(expected))

static char *repeat(char ch, size_t n, const char *prefix) {
    size_t pl = strlen(prefix);
    char *s = malloc(pl + n + 1);
    memcpy(s, prefix, pl);
    memset(s + pl, ch, n);
    s[pl + n] = '\0';
    return s;
}

TEST(ping_echo) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("PING"), "status:\"PONG\"");
    CHECK_EQ_STR(C("PING", "hello"), "bulk:\"hello\"");
    CHECK_EQ_STR(C("ping"), "status:\"PONG\"");
    CHECK_EQ_STR(C("ECHO", "x y"), "bulk:\"x y\"");
    CHECK_EQ_STR(C("ECHO", ""), "bulk:\"\"");
    CHECK_EQ_STR(C("PING", "a", "b"),
                 "err:\"ERR wrong number of arguments for 'ping' command\"");
    CHECK_EQ_STR(C("ECHO"),
                 "err:\"ERR wrong number of arguments for 'echo' command\"");
    /* Binary-safe: NUL and CRLF inside a bulk. */
    static const char req[] = "*2\r\n$4\r\nECHO\r\n$5\r\na\0\r\nb\r\n";
    static const char rep[] = "$5\r\na\0\r\nb\r\n";
    check_raw_reply(__FILE__, __LINE__, req, sizeof req - 1, rep,
                    sizeof rep - 1);
}

TEST(pipelined_clients_in_order) {
    enum { CLIENTS = 20, PER = 300 };
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = harness_connect(l);
        REQUIRE(c[i]);
        for (int j = 0; j < PER; j++) {
            if (j % 3 == 0) redisAppendCommand(c[i], "PING");
            else redisAppendCommand(c[i], "ECHO c%d-%d", i, j);
        }
    }
    /* Send every client's whole pipeline before reading any reply. */
    for (int i = 0; i < CLIENTS; i++) {
        int done = 0;
        while (!done)
            if (redisBufferWrite(c[i], &done) != REDIS_OK) break;
        CHECK(done);
    }
    int bad = 0;
    for (int i = 0; i < CLIENTS && !bad; i++) {
        for (int j = 0; j < PER; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c[i], (void **)&r) != REDIS_OK || !r) {
                testlib_fail(__FILE__, __LINE__, "client %d reply %d: %s", i,
                             j, c[i]->errstr);
                bad = 1;
                break;
            }
            char want[64];
            if (j % 3 == 0) snprintf(want, sizeof want, "status:\"PONG\"");
            else snprintf(want, sizeof want, "bulk:\"c%d-%d\"", i, j);
            char *got = reply_to_string(r);
            freeReplyObject(r);
            if (strcmp(got, want) != 0) {
                testlib_fail(__FILE__, __LINE__,
                             "client %d reply %d: got %s want %s", i, j, got,
                             want);
                bad = 1;
            }
            free(got);
            if (bad) break;
        }
    }
}

TEST(inline_commands) {
    REQUIRE(start_pair(NULL, NULL));
    CHECK_RAW("PING\r\n", "+PONG\r\n");
    CHECK_RAW("PING\n", "+PONG\r\n");
    CHECK_RAW("  PING   \r\n", "+PONG\r\n");
    CHECK_RAW("\r\n\r\nPING\r\n", "+PONG\r\n");
    CHECK_RAW("ECHO \"a b\"\r\n", "$3\r\na b\r\n");
    CHECK_RAW("ECHO 'a \"b'\r\n", "$4\r\na \"b\r\n");
    CHECK_RAW("ECHO \"\\x41\\n\\t\"\r\n", "$3\r\nA\n\t\r\n");
    CHECK_RAW("ECHO \"\"\r\n", "$0\r\n\r\n");
    CHECK_RAW("echo hello\r\n", "$5\r\nhello\r\n");
    CHECK_RAW("PING a b\r\n",
              "-ERR wrong number of arguments for 'ping' command\r\n");
    CHECK_RAW("NOSUCH x\r\n",
              "-ERR unknown command 'NOSUCH', with args beginning with: "
              "'x' \r\n");
    /* Pipelined inline commands, answered in order. */
    int fd = raw_connect(LS->port);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "PING\r\nECHO one\r\nECHO two\r\n");
    const char *want[] = {"+PONG\r\n", "$3\r\none\r\n", "$3\r\ntwo\r\n"};
    for (int i = 0; i < 3; i++) {
        raw_buf b;
        raw_read_reply(fd, READ_MS, &b);
        CHECK_EQ_STR(b.data, want[i]);
        raw_buf_free(&b);
    }
    CHECK_PROTO_ERROR("ECHO \"a b\r\n", 11,
                      "-ERR Protocol error: unbalanced quotes in request\r\n");
    CHECK_PROTO_ERROR("ECHO 'a\r\n", 9,
                      "-ERR Protocol error: unbalanced quotes in request\r\n");
    CHECK_PROTO_ERROR("ECHO \"a\"b\r\n", 11,
                      "-ERR Protocol error: unbalanced quotes in request\r\n");
}

TEST(protocol_errors) {
    REQUIRE(start_pair(NULL, NULL));
    const char *mb = "-ERR Protocol error: invalid multibulk length\r\n";
    const char *bl = "-ERR Protocol error: invalid bulk length\r\n";
    CHECK_PROTO_ERROR("*abc\r\n", 6, mb);
    CHECK_PROTO_ERROR("*3000000000\r\n", 13, mb);
    CHECK_PROTO_ERROR("*1\r\n$abc\r\n", 10, bl);
    CHECK_PROTO_ERROR("*1\r\n$-1\r\n", 9, bl);
    CHECK_PROTO_ERROR("*1\r\n$536870913\r\n", 16, bl);
    CHECK_PROTO_ERROR("*1\r\nPING\r\n", 10,
                      "-ERR Protocol error: expected '$', got 'P'\r\n");
    CHECK_PROTO_ERROR("*2\r\n$4\r\nECHO\r\n:1\r\n", 19,
                      "-ERR Protocol error: expected '$', got ':'\r\n");
    char *big = repeat('a', 70000, "");
    CHECK_PROTO_ERROR(big, strlen(big),
                      "-ERR Protocol error: too big inline request\r\n");
    free(big);
    big = repeat('1', 70000, "*");
    CHECK_PROTO_ERROR(big, strlen(big),
                      "-ERR Protocol error: too big mbulk count string\r\n");
    free(big);
    big = repeat('1', 70000, "*1\r\n$");
    CHECK_PROTO_ERROR(big, strlen(big),
                      "-ERR Protocol error: too big bulk count string\r\n");
    free(big);
    /* Replies to the commands before the bad one are still sent. */
    CHECK_PROTO_ERROR("*1\r\n$4\r\nPING\r\n*x\r\n", 19,
                      "+PONG\r\n-ERR Protocol error: invalid multibulk "
                      "length\r\n");
}

TEST(unauthenticated_limits) {
    REQUIRE(start_pair("requirepass", "s3cret"));
    CHECK_PROTO_ERROR("*11\r\n", 5,
                      "-ERR Protocol error: unauthenticated multibulk "
                      "length\r\n");
    CHECK_PROTO_ERROR("*1\r\n$16385\r\n", 12,
                      "-ERR Protocol error: unauthenticated bulk length\r\n");
    /* At the limits it is a normal command, refused with NOAUTH. */
    CHECK_RAW("*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
              "-NOAUTH Authentication required.\r\n");
    char *req = malloc(40000);
    char *arg = repeat('z', 16384, "");
    snprintf(req, 40000, "*2\r\n$4\r\nECHO\r\n$16384\r\n%s\r\n", arg);
    CHECK_RAW(req, "-NOAUTH Authentication required.\r\n");
    /* Authenticated clients have no such limit. */
    int fd = raw_connect(LS->port);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n");
    snprintf(req, 40000, "*2\r\n$4\r\nECHO\r\n$16385\r\n%sz\r\n", arg);
    raw_sendstr(fd, req);
    raw_buf b;
    raw_read_reply(fd, READ_MS, &b);
    CHECK_EQ_STR(b.data, "+OK\r\n");
    raw_buf_free(&b);
    raw_read_reply(fd, READ_MS, &b);
    CHECK_EQ_INT(b.len, 16385 + 10);
    CHECK(b.data && !strncmp(b.data, "$16385\r\nzz", 10));
    raw_buf_free(&b);
    free(req);
    free(arg);
}

TEST(proto_max_bulk_len) {
    REQUIRE(start_pair("proto-max-bulk-len", "1048576"));
    CHECK_PROTO_ERROR("*2\r\n$4\r\nECHO\r\n$1048577\r\n", 24,
                      "-ERR Protocol error: invalid bulk length\r\n");
    REQUIRE(difftest_connect());
    CHECK_EQ_STR(C("CONFIG", "GET", "proto-max-bulk-len"),
                 "array[bulk:\"proto-max-bulk-len\",bulk:\"1048576\"]");
    char *arg = repeat('q', 1048576, "");
    redisReply *r = redisCommand(L, "ECHO %s", arg);
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == 1048576 &&
          memcmp(r->str, arg, r->len) == 0);
    if (r) freeReplyObject(r);
    free(arg);
    /* Raising it at runtime takes effect for new requests. */
    CHECK_EQ_STR(C("CONFIG", "SET", "proto-max-bulk-len", "2097152"),
                 "status:\"OK\"");
    arg = repeat('w', 1048577, "");
    r = redisCommand(L, "ECHO %s", arg);
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == 1048577);
    if (r) freeReplyObject(r);
    free(arg);
    /* Lightning's range is 1mb..512mb (512mb is its largest string);
     * Redis's upper bound is LLONG_MAX, so the texts differ there. */
    CHECK_EQ_STR(cmd(L, "CONFIG SET proto-max-bulk-len 100"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument "
                 "'proto-max-bulk-len') - argument must be between 1048576 and "
                 "536870912 inclusive\"");
}

TEST(unknown_command) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("NOSUCHCMD"),
                 "err:\"ERR unknown command 'NOSUCHCMD', with args beginning "
                 "with: \"");
    CHECK_EQ_STR(C("foo", "a", "b c"),
                 "err:\"ERR unknown command 'foo', with args beginning with: "
                 "'a' 'b c' \"");
    char *longarg = repeat('x', 300, "");
    C("foo", longarg, "second", "third");
    C("foo", "a\nb");
    free(longarg);
    C("CLIENT", "NOSUCH");
    C("CONFIG", "NOSUCH");
    CHECK_EQ_STR(C("PING"), "status:\"PONG\"");
}

TEST(wrong_arity) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("GET"),
                 "err:\"ERR wrong number of arguments for 'get' command\"");
    CHECK_EQ_STR(C("get", "a", "b"),
                 "err:\"ERR wrong number of arguments for 'get' command\"");
    C("SET", "a");
    C("SELECT");
    C("DBSIZE", "x");
    CHECK_EQ_STR(C("CONFIG"),
                 "err:\"ERR wrong number of arguments for 'config' command\"");
    CHECK_EQ_STR(C("CONFIG", "GET"),
                 "err:\"ERR wrong number of arguments for 'config|get' "
                 "command\"");
    C("CLIENT", "SETNAME");
    C("CLIENT", "ID", "x");
    C("COMMAND", "COUNT", "x");
    C("HELLO", "3", "AUTH", "x");
    C("AUTH");
}

TEST(empty_and_null_multibulk) {
    REQUIRE(start_pair(NULL, NULL));
    /* *0 and *-1 are skipped without a reply. */
    CHECK_RAW("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
    int fd = raw_connect(LS->port);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "*0\r\n");
    raw_buf b = raw_read_until(fd, 300);
    CHECK_EQ_INT(b.len, 0);
    CHECK(!b.closed);
    raw_buf_free(&b);
    raw_sendstr(fd, "PING\r\n");
    raw_read_reply(fd, READ_MS, &b);
    CHECK_EQ_STR(b.data, "+PONG\r\n");
    raw_buf_free(&b);
}

static void send_slowly(int fd, const char *s, size_t len, size_t chunk) {
    for (size_t i = 0; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        if (raw_send(fd, s + i, n) != 0) return;
        if (chunk == 1) harness_sleep_ms(1);
    }
}

TEST(split_writes) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    int fd = raw_connect(l->port);
    REQUIRE(fd >= 0);
    const char *req = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n"
                      "PING\r\nECHO \"x y\"\r\n*1\r\n$4\r\nPING\r\n";
    send_slowly(fd, req, strlen(req), 1);
    const char *want[] = {"$11\r\nhello world\r\n", "+PONG\r\n",
                          "$3\r\nx y\r\n", "+PONG\r\n"};
    for (int i = 0; i < 4; i++) {
        raw_buf b;
        raw_read_reply(fd, READ_MS, &b);
        CHECK_EQ_STR(b.data, want[i]);
        raw_buf_free(&b);
    }
    /* A 200 KB argument in 1000-byte pieces (spans many reads). */
    size_t n = 200000;
    char *arg = repeat('k', n, "");
    arg[0] = 'A';
    arg[n - 1] = 'Z';
    char *big = malloc(n + 64);
    int hl = snprintf(big, 64, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", n);
    memcpy(big + hl, arg, n);
    memcpy(big + hl + n, "\r\n", 2);
    send_slowly(fd, big, (size_t)hl + n + 2, 1000);
    raw_buf b;
    raw_read_reply(fd, READ_MS, &b);
    char hdr[32];
    int hn = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    CHECK_EQ_INT(b.len, (size_t)hn + n + 2);
    CHECK(b.len == (size_t)hn + n + 2 && !memcmp(b.data, hdr, (size_t)hn) &&
          !memcmp(b.data + hn, arg, n));
    raw_buf_free(&b);
    free(arg);
    free(big);
}

/* Redis's guard against cross-protocol attacks from browsers: a command
 * named POST or Host: (an HTTP request sent to the port) closes the
 * connection at once, without a reply — even to what was pipelined before
 * it — and logs "Possible SECURITY ATTACK detected". Inside MULTI too,
 * before authentication too. */
static int file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

TEST(cross_protocol_guard) {
    REQUIRE(difftest_start_servers(NULL));
    const char *inputs[] = {
        "POST / HTTP/1.1\r\nHost: x\r\n\r\nPING\r\n",
        "PING\r\nHost: foo\r\nPING\r\n",
        "PING\r\nhOsT: a b\r\nPING\r\n",
        "*1\r\n$4\r\npost\r\n*1\r\n$4\r\nPING\r\n",
        "*2\r\n$5\r\nHOST:\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n",
        "MULTI\r\npost x\r\nPING\r\n",
        /* Not the guard: GET / and a key named post are ordinary. */
        "PING\r\nGET / HTTP/1.1\r\nSET post host:\r\nGET post\r\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        int fl = raw_connect(LS->port), fr = raw_connect_server(RS);
        REQUIRE(fl >= 0);
        raw_sendstr(fl, inputs[i]);
        raw_buf bl = raw_read_until(fl, 500);
        if (fr >= 0) {
            raw_sendstr(fr, inputs[i]);
            raw_buf br = raw_read_until(fr, 500);
            CHECK_EQ_STR(bl.data, br.data);
            CHECK_EQ_INT(bl.closed, br.closed);
            raw_buf_free(&br);
        }
        CHECK_EQ_INT(bl.closed, i < 6);
        if (i < 6) CHECK_EQ_STR(bl.data, "");
        raw_buf_free(&bl);
        raw_close(fl);
        if (fr >= 0) raw_close(fr);
    }
    CHECK(file_contains(LS->logfile, "Possible SECURITY ATTACK detected"));
    /* The server goes on serving. */
    int fd = raw_connect(LS->port);
    REQUIRE(fd >= 0);
    CHECK_EQ_STR(RAW_CMD(fd, "PING"), "status:\"PONG\"");
}

int main(void) {
    RUN(ping_echo);
    RUN(pipelined_clients_in_order);
    RUN(inline_commands);
    RUN(protocol_errors);
    RUN(unauthenticated_limits);
    RUN(proto_max_bulk_len);
    RUN(unknown_command);
    RUN(wrong_arity);
    RUN(empty_and_null_multibulk);
    RUN(split_writes);
    RUN(cross_protocol_guard);
    return testlib_finish();
}
