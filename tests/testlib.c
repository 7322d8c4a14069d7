/* testlib: see testlib.h. Counts and prints results for tests/run.sh. */
#include "testlib.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

int testlib_current_failed;
static int passed, failed;
static const char *current_name;
void (*testlib_after_each)(void);

const char *testlib_current_name(void) { return current_name; }

void testlib_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "  FAIL %s (%s:%d): ", current_name ? current_name : "?",
            file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    testlib_current_failed = 1;
}

void testlib_run(const char *name, void (*fn)(void)) {
    const char *only = getenv("TEST_ONLY");
    if (only && *only && !strstr(name, only)) return;
    struct timespec a, b;
    current_name = name;
    testlib_current_failed = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    fn();
    if (testlib_after_each) testlib_after_each();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    if (testlib_current_failed) failed++;
    else passed++;
    printf("%s %s (%.0f ms)\n", testlib_current_failed ? "not ok" : "ok", name,
           ms);
    fflush(stdout);
}

int testlib_finish(void) {
    printf("# %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
