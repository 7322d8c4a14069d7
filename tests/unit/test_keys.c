/*
 * Unit tests of the pure parsers of t_keys.c: the SCAN cursor (Redis 7.0
 * parses it with strtoul, so signs, "" and embedded NULs have exact
 * meanings) and the NX/XX/GT/LT options of the EXPIRE family.
 */
#include "../testlib.h"

#include <stdint.h>

#include "server/net/resp.h"

#include "server/cmd/args.h"
int keys_parse_expire_opts(const resp_arg *argv, int argc, int first, int *flags, int *bad);

static int cursor_of(const char *s, size_t len, uint64_t *out) {
    *out = 12345;
    return keys_parse_cursor(s, len, out);
}

TEST(cursor_valid) {
    uint64_t v;
    CHECK(cursor_of("0", 1, &v) && v == 0);
    CHECK(cursor_of("", 0, &v) && v == 0);
    CHECK(cursor_of("42", 2, &v) && v == 42);
    CHECK(cursor_of("+7", 2, &v) && v == 7);
    CHECK(cursor_of("-1", 2, &v) && v == UINT64_MAX);
    CHECK(cursor_of("-0", 2, &v) && v == 0);
    CHECK(cursor_of("0007", 4, &v) && v == 7);
    CHECK(cursor_of("18446744073709551615", 20, &v) && v == UINT64_MAX);
    /* The C string ends at a NUL byte. */
    CHECK(cursor_of("5\0abc", 5, &v) && v == 5);
    CHECK(cursor_of("\0", 1, &v) && v == 0);
    /* Only len bytes are read. */
    CHECK(cursor_of("123", 2, &v) && v == 12);
}

TEST(cursor_invalid) {
    uint64_t v;
    const char *bad[] = {" 1", "\t1", "1 ", "x", "-", "+", "+-1", "0x10", "1.0",
                         "18446744073709551616", "-18446744073709551616",
                         "99999999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        if (cursor_of(bad[i], strlen(bad[i]), &v))
            testlib_fail(__FILE__, __LINE__, "cursor \"%s\" accepted", bad[i]);
        CHECK_EQ_INT(v, 12345); /* untouched */
    }
}

static int opts(int *flags, int *bad, const char *a, const char *b, const char *c) {
    resp_arg argv[6] = {{"EXPIRE", 6}, {"k", 1}, {"10", 2}};
    const char *words[3] = {a, b, c};
    int argc = 3;
    for (int i = 0; i < 3 && words[i]; i++) {
        argv[argc].ptr = (char *)words[i];
        argv[argc].len = strlen(words[i]);
        argc++;
    }
    *flags = -1;
    *bad = -1;
    return keys_parse_expire_opts(argv, argc, 3, flags, bad);
}

TEST(expire_options) {
    int f, bad;
    CHECK_EQ_INT(opts(&f, &bad, NULL, NULL, NULL), 0);
    CHECK_EQ_INT(f, 0);
    CHECK_EQ_INT(opts(&f, &bad, "nx", NULL, NULL), 0);
    CHECK_EQ_INT(f, 1);
    CHECK_EQ_INT(opts(&f, &bad, "XX", "gT", NULL), 0);
    CHECK_EQ_INT(f, 2 | 4);
    CHECK_EQ_INT(opts(&f, &bad, "lt", "LT", "xx"), 0);
    CHECK_EQ_INT(f, 8 | 2);
    CHECK_EQ_INT(opts(&f, &bad, "NX", "NX", NULL), 0);
    CHECK_EQ_INT(f, 1);
    /* Errors: unknown words first, then NX conflicts, then GT with LT. */
    CHECK_EQ_INT(opts(&f, &bad, "nx", "xx", "foo"), -1);
    CHECK_EQ_INT(bad, 5);
    CHECK_EQ_INT(opts(&f, &bad, "nxx", NULL, NULL), -1);
    CHECK_EQ_INT(bad, 3);
    CHECK_EQ_INT(opts(&f, &bad, "nx", "xx", NULL), -2);
    CHECK_EQ_INT(opts(&f, &bad, "gt", "nx", NULL), -2);
    CHECK_EQ_INT(opts(&f, &bad, "nx", "gt", "lt"), -2);
    CHECK_EQ_INT(opts(&f, &bad, "gt", "lt", NULL), -3);
    CHECK_EQ_INT(f, -1); /* untouched on error */
}

int main(void) {
    RUN(cursor_valid);
    RUN(cursor_invalid);
    RUN(expire_options);
    return testlib_finish();
}
