/* testlib: see testlib.h. Counts and prints results for tests/run.sh. */
#include "testlib.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

int testlib_current_failed;
static int passed, failed, skipped;
static char skip_why[256]; /* "" unless the running test skipped */
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

void testlib_skip(const char *fmt, ...) {
    char why[sizeof skip_why];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!current_name) {
        printf("skip %s\n", why);
        fflush(stdout);
        skipped++;
        return;
    }
    if (!skip_why[0]) snprintf(skip_why, sizeof skip_why, "%s", why[0] ? why : "skipped");
}

int testlib_current_skipped(void) { return skip_why[0] != '\0'; }

void testlib_run(const char *name, void (*fn)(void)) {
    const char *only = getenv("TEST_ONLY");
    if (only && *only && !strstr(name, only)) return;
    struct timespec a, b;
    current_name = name;
    testlib_current_failed = 0;
    skip_why[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &a);
    fn();
    if (testlib_after_each) testlib_after_each();
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    if (testlib_current_failed) {
        failed++;
        printf("not ok %s (%.0f ms)\n", name, ms);
    } else if (skip_why[0]) {
        skipped++;
        printf("skip %s: %s (%.0f ms)\n", name, skip_why, ms);
    } else {
        passed++;
        printf("ok %s (%.0f ms)\n", name, ms);
    }
    skip_why[0] = '\0';
    current_name = NULL;
    fflush(stdout);
}

int testlib_finish(void) {
    if (skipped) printf("# %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("# %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
