/*
 * strbuf.c — the growable byte string (see strbuf.h).
 *
 * Invariant: cap == 0 exactly when p == NULL; otherwise len < cap and
 * p[len] == '\0'.
 */
#include "common/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

void lt_strbuf_reserve(lt_strbuf *b, size_t n) {
    if (b->len + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = lt_xrealloc(b->p, cap);
    b->cap = cap;
}

void lt_strbuf_append(lt_strbuf *b, const void *s, size_t n) {
    lt_strbuf_reserve(b, n);
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lt_strbuf_appends(lt_strbuf *b, const char *s) { lt_strbuf_append(b, s, strlen(s)); }

void lt_strbuf_vprintf(lt_strbuf *b, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    size_t room = b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        lt_strbuf_reserve(b, (size_t)n);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
    }
    va_end(again);
    if (n > 0) b->len += (size_t)n;
}

void lt_strbuf_printf(lt_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lt_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void lt_strbuf_free(lt_strbuf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
