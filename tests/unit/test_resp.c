/*
 * Unit tests of the request parser (src/server/net/resp.c): complete and split
 * commands, inline quoting, every protocol error, limits.
 */
#include <stdlib.h>
#include <string.h>

#include "../testlib.h"
#include "server/net/resp.h"

static resp_parser p;

static void reset(void) {
    resp_parser_free(&p);
    resp_parser_init(&p, 512LL * 1024 * 1024);
}

/* Parses all of s in one call; returns the parser result. */
static int parse_all(const char *s, size_t *consumed, char **keep) {
    size_t len = strlen(s);
    char *buf = malloc(len + 1);
    memcpy(buf, s, len + 1);
    *keep = buf;
    return resp_parse(&p, buf, len, consumed);
}

static int arg_eq(int i, const char *s) {
    return i < p.argc && p.argv[i].len == strlen(s) && memcmp(p.argv[i].ptr, s, p.argv[i].len) == 0;
}

TEST(multibulk_complete) {
    reset();
    char *buf;
    size_t used = 0;
    CHECK_EQ_INT(parse_all("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &used, &buf), RESP_COMMAND);
    CHECK_EQ_INT(used, 20);
    CHECK_EQ_INT(p.argc, 2);
    CHECK(arg_eq(0, "GET"));
    CHECK(arg_eq(1, "k"));
    free(buf);
}

TEST(multibulk_byte_by_byte) {
    reset();
    const char *cmd = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    size_t len = strlen(cmd);
    char buf[64];
    size_t used = 0;
    int r = RESP_INCOMPLETE;
    for (size_t n = 1; n <= len; n++) {
        memcpy(buf, cmd, n);
        r = resp_parse(&p, buf, n, &used);
        if (n < len) CHECK_EQ_INT(r, RESP_INCOMPLETE);
    }
    CHECK_EQ_INT(r, RESP_COMMAND);
    CHECK_EQ_INT(used, len);
    CHECK(arg_eq(0, "SET"));
    CHECK(arg_eq(2, "value"));
}

TEST(pipeline_two_commands) {
    reset();
    char buf[] = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
    size_t used = 0, pos = 0;
    CHECK_EQ_INT(resp_parse(&p, buf, strlen(buf), &used), RESP_COMMAND);
    CHECK(arg_eq(0, "PING"));
    pos += used;
    resp_parser_reset(&p);
    CHECK_EQ_INT(resp_parse(&p, buf + pos, strlen(buf) - pos, &used), RESP_COMMAND);
    CHECK(arg_eq(1, "hi"));
    CHECK_EQ_INT(pos + used, strlen(buf));
}

TEST(empty_multibulk_and_binary) {
    reset();
    char *buf;
    size_t used;
    CHECK_EQ_INT(parse_all("*0\r\n", &used, &buf), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 0);
    free(buf);
    reset();
    char bin[] = "*1\r\n$3\r\na\0b\r\n";
    CHECK_EQ_INT(resp_parse(&p, bin, sizeof(bin) - 1, &used), RESP_COMMAND);
    CHECK_EQ_INT(p.argv[0].len, 3);
    CHECK(p.argv[0].ptr[1] == '\0');
}

TEST(inline_commands) {
    reset();
    char *buf;
    size_t used;
    CHECK_EQ_INT(parse_all("PING\r\n", &used, &buf), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 1);
    CHECK(arg_eq(0, "PING"));
    free(buf);
    reset();
    CHECK_EQ_INT(parse_all("set k \"a b\\n\" 'c\\'d' \"\\x41\"\n", &used, &buf), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 5);
    CHECK(arg_eq(2, "a b\n"));
    CHECK(arg_eq(3, "c'd"));
    CHECK(arg_eq(4, "A"));
    free(buf);
    reset();
    CHECK_EQ_INT(parse_all("   \r\n", &used, &buf), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 0);
    free(buf);
    reset();
    CHECK_EQ_INT(parse_all("PING", &used, &buf), RESP_INCOMPLETE);
    free(buf);
    /* Regression (fuzzer): a NUL byte ends an inline line, as in Redis;
     * it once looped forever growing argv. */
    reset();
    char nul[] = "SET k \0\0 more\n";
    CHECK_EQ_INT(resp_parse(&p, nul, sizeof(nul) - 1, &used), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 2);
    CHECK_EQ_INT(used, sizeof(nul) - 1);
}

static void expect_error(const char *input, const char *msg) {
    reset();
    char *buf;
    size_t used;
    int r = parse_all(input, &used, &buf);
    CHECK_EQ_INT(r, RESP_ERROR);
    if (r == RESP_ERROR) CHECK_EQ_STR(p.error, msg);
    free(buf);
}

TEST(protocol_errors) {
    expect_error("*x\r\n", "Protocol error: invalid multibulk length");
    expect_error("*3000000000\r\n", "Protocol error: invalid multibulk length");
    expect_error("*1\r\n$x\r\n", "Protocol error: invalid bulk length");
    expect_error("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
    expect_error("*1\r\n+foo\r\n", "Protocol error: expected '$', got '+'");
    expect_error("set k \"abc\n", "Protocol error: unbalanced quotes in request");
    expect_error("set k \"abc\"x\n", "Protocol error: unbalanced quotes in request");
}

TEST(limits) {
    reset();
    size_t big = PROTO_INLINE_MAX_SIZE + 10;
    char *buf = malloc(big);
    memset(buf, 'a', big);
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, buf, big, &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: too big inline request");
    reset();
    buf[0] = '*';
    CHECK_EQ_INT(resp_parse(&p, buf, big, &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: too big mbulk count string");
    reset();
    memcpy(buf, "*1\r\n$", 5);
    CHECK_EQ_INT(resp_parse(&p, buf, big, &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: too big bulk count string");
    free(buf);

    resp_parser_free(&p);
    resp_parser_init(&p, 10);
    char b2[] = "*1\r\n$11\r\n";
    CHECK_EQ_INT(resp_parse(&p, b2, strlen(b2), &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: invalid bulk length");

    reset();
    p.unauthenticated = 1;
    char b3[] = "*11\r\n";
    CHECK_EQ_INT(resp_parse(&p, b3, strlen(b3), &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: unauthenticated multibulk length");
    reset();
    p.unauthenticated = 1;
    char b4[] = "*1\r\n$16385\r\n";
    CHECK_EQ_INT(resp_parse(&p, b4, strlen(b4), &used), RESP_ERROR);
    CHECK_EQ_STR(p.error, "Protocol error: unauthenticated bulk length");
}

TEST(bytes_wanted_for_large_bulk) {
    reset();
    char hdr[] = "*1\r\n$100000\r\n";
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, hdr, strlen(hdr), &used), RESP_INCOMPLETE);
    CHECK_EQ_INT(resp_bytes_wanted(&p), strlen(hdr) + 100000 + 2);
}

TEST(many_arguments_grow_argv) {
    reset();
    size_t cap = 5000 * 8 + 32, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf, cap, "*2000\r\n");
    for (int i = 0; i < 2000; i++) len += (size_t)snprintf(buf + len, cap - len, "$1\r\nx\r\n");
    size_t used;
    CHECK_EQ_INT(resp_parse(&p, buf, len, &used), RESP_COMMAND);
    CHECK_EQ_INT(p.argc, 2000);
    CHECK_EQ_INT(used, len);
    free(buf);
}

int main(void) {
    RUN(multibulk_complete);
    RUN(multibulk_byte_by_byte);
    RUN(pipeline_two_commands);
    RUN(empty_multibulk_and_binary);
    RUN(inline_commands);
    RUN(protocol_errors);
    RUN(limits);
    RUN(bytes_wanted_for_large_bulk);
    RUN(many_arguments_grow_argv);
    resp_parser_free(&p);
    return testlib_finish();
}
