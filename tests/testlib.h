/*
 * testlib: the smallest test framework that does the job.
 *
 * A test file defines TEST(name) functions and calls RUN(name) for each from
 * main(), which returns testlib_finish(). Each RUN prints one line,
 * "ok <name>", "not ok <name>" or "skip <name>: <why>", that tests/run.sh
 * counts. A test that cannot run because something it needs is missing (a
 * redis-server to compare with, redis-cli, a CPU feature) calls
 * testlib_skip() and is reported skipped, never passed; a failed check
 * still fails it;
 * failed checks print file:line and the values compared. A failing CHECK
 * does not stop the test (so one run shows every broken check); use REQUIRE
 * when later steps make no sense after a failure.
 */
#ifndef LIGHTNING_TESTLIB_H
#define LIGHTNING_TESTLIB_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>

extern int testlib_current_failed;

#define TEST(name) static void test_##name(void)
#define RUN(name) testlib_run(#name, test_##name)

void testlib_run(const char *name, void (*fn)(void));
/* Called after each test function returns (even after a REQUIRE), before the
 * result is printed; the harness uses it to stop servers and close
 * connections the test left behind. A failure reported from it fails the
 * test. */
extern void (*testlib_after_each)(void);
/* Name of the running test, NULL outside one. */
const char *testlib_current_name(void);
/* Prints "# N passed, M failed" (", K skipped" when K > 0); returns the
 * exit status: 1 if a test failed. */
int testlib_finish(void);
/* Marks the running test skipped, with why (printed on its result line).
 * The test may go on (e.g. differential checks on Lightning alone); it is
 * reported "skip" unless a check failed. Outside a test: prints a "skip"
 * line for the whole binary (e.g. a program with nothing to compare). */
void testlib_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 once the running test called testlib_skip(). */
int testlib_current_skipped(void);
void testlib_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs only tests whose name contains $TEST_ONLY when set. */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) testlib_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);    \
    } while (0)

#define REQUIRE(cond)                                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            testlib_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);           \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                    \
    do {                                                                      \
        long long _a = (long long)(a), _b = (long long)(b);                   \
        if (_a != _b)                                                         \
            testlib_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a,    \
                         #b, _a, _b);                                         \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                    \
    do {                                                                      \
        const char *_a = (a), *_b = (b);                                      \
        if (!_a || !_b || strcmp(_a, _b) != 0)                                \
            testlib_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"",    \
                         #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");     \
    } while (0)

#endif
