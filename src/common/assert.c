/*
 * assert.c — failure path of ASSERT() (see assert.h). Writes with one
 * fprintf so the message is not interleaved with other threads' output, then
 * aborts so a core dump / sanitizer report shows the stack.
 */
#include "common/assert.h"

#include <stdio.h>
#include <stdlib.h>

void lt_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "ASSERT failed: %s at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}
