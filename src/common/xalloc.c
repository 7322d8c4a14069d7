/*
 * xalloc.c — see xalloc.h. Aborts with the requested size on failure.
 */
#include "common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noreturn, cold)) oom(size_t size) {
    fprintf(stderr, "Out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *lt_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    return p;
}

void *lt_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *lt_xrealloc(void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) oom(size);
    return q;
}
