/*
 * Unit tests of t_string.c's pure helpers: Redis's long double text form
 * (ld2string human mode, used by INCRBYFLOAT) and its strict parser
 * (string2ld). Expected strings are what Redis 7.0.15 replies.
 */
#include "../testlib.h"

#include <math.h>

#include "server/cmd/t_string.h"

static const char *fmt(long double v) {
    static char buf[5 * 1024];
    string_ld2str(buf, sizeof buf, v);
    return buf;
}

TEST(ld2str_human) {
    CHECK_EQ_STR(fmt(0), "0");
    CHECK_EQ_STR(fmt(-0.0L), "0");
    CHECK_EQ_STR(fmt(1), "1");
    CHECK_EQ_STR(fmt(-1), "-1");
    CHECK_EQ_STR(fmt(10.5L), "10.5");
    CHECK_EQ_STR(fmt(0.1L + 0.2L), "0.3");
    CHECK_EQ_STR(fmt(1e20L), "100000000000000000000");
    CHECK_EQ_STR(fmt(1.5e-20L), "0");
    CHECK_EQ_STR(fmt(-1.5e-20L), "0");
    CHECK_EQ_STR(fmt(0.00000000000000001L), "0.00000000000000001");
    CHECK_EQ_STR(fmt(123.456L), "123.456");
    CHECK_EQ_STR(fmt(100), "100");
    CHECK_EQ_STR(fmt(INFINITY), "inf");
    CHECK_EQ_STR(fmt(-INFINITY), "-inf");
}

TEST(ld2str_room) {
    char small[4];
    CHECK_EQ_INT(string_ld2str(small, sizeof small, 1234.5L), 0);
    CHECK_EQ_STR(small, "");
    CHECK_EQ_INT(string_ld2str(small, sizeof small, INFINITY), 0);
    char fit[6];
    CHECK_EQ_INT(string_ld2str(fit, sizeof fit, -INFINITY), 4);
    CHECK_EQ_STR(fit, "-inf");
    /* The largest long double still fits Redis's 5 KiB buffer. */
    static char big[5 * 1024];
    CHECK(string_ld2str(big, sizeof big, 1.18e4932L) > 4900);
}

TEST(str2ld) {
    long double v = 0;
    CHECK(string_str2ld("1.5", 3, &v) && v == 1.5L);
    CHECK(string_str2ld("-0", 2, &v) && v == 0);
    CHECK(string_str2ld("1e3", 3, &v) && v == 1000);
    CHECK(string_str2ld("0x10", 4, &v) && v == 16);
    CHECK(string_str2ld("inf", 3, &v) && isinf(v));
    CHECK(string_str2ld(".5", 2, &v) && v == 0.5L);
    CHECK(string_str2ld("1.5xyz", 3, &v) && v == 1.5L); /* length bounds it */
    CHECK(!string_str2ld("", 0, &v));
    CHECK(!string_str2ld(" 1", 2, &v));
    CHECK(!string_str2ld("1 ", 2, &v));
    CHECK(!string_str2ld("abc", 3, &v));
    CHECK(!string_str2ld("nan", 3, &v));
    CHECK(!string_str2ld("1e5000", 6, &v));
    CHECK(!string_str2ld("1e-5000", 7, &v));
    CHECK(!string_str2ld("1.5\0", 4, &v)); /* embedded NUL */
    static char longnum[5 * 1024 + 1];
    memset(longnum, '1', sizeof longnum);
    CHECK(!string_str2ld(longnum, sizeof longnum, &v));
}

int main(void) {
    RUN(ld2str_human);
    RUN(ld2str_room);
    RUN(str2ld);
    return testlib_finish();
}
