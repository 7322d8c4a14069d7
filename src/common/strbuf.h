/*
 * strbuf.h — a growable byte string for building replies and texts.
 *
 * Owns: lt_strbuf and its append/printf helpers. The buffer doubles as it
 * grows (lt_xrealloc: running out of memory aborts, as everywhere the
 * server builds a reply) and is always NUL-terminated once anything has
 * been appended, so p can be used as a C string when no NUL bytes were
 * added. A zeroed lt_strbuf is empty and valid; lt_strbuf_free() returns
 * it to that state. Bounds are the callers': each one builds a text whose
 * size it knows to be bounded (INFO, CLIENT LIST, ACL lists, ...).
 * Used by: server, repl, cluster (not the engine).
 */
#ifndef LT_COMMON_STRBUF_H
#define LT_COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct lt_strbuf {
    char *p;          /* NULL until the first append */
    size_t len, cap;  /* bytes used (excluding the NUL), bytes allocated */
} lt_strbuf;

/* Makes room for at least n more bytes (plus the NUL). */
void lt_strbuf_reserve(lt_strbuf *b, size_t n);
void lt_strbuf_append(lt_strbuf *b, const void *s, size_t n);
void lt_strbuf_appends(lt_strbuf *b, const char *s);
void lt_strbuf_printf(lt_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lt_strbuf_vprintf(lt_strbuf *b, const char *fmt, va_list ap);
/* Frees the bytes; b is empty (and reusable) afterwards. */
void lt_strbuf_free(lt_strbuf *b);

#endif
