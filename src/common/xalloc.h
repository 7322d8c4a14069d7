/*
 * xalloc.h — allocation wrappers that never return NULL.
 *
 * Owns: lt_xmalloc/lt_xcalloc/lt_xrealloc. Like Redis's zmalloc, running out
 * of memory inside a data structure is not recoverable state-wise (a half
 * applied command), so these print a message and abort. Memory comes from
 * the process malloc (jemalloc in the server, libc or a sanitizer's in
 * tests). Callers that can report LT_NOMEM use plain malloc instead.
 * Used by: engine, server.
 */
#ifndef LT_COMMON_XALLOC_H
#define LT_COMMON_XALLOC_H

#include <stddef.h>

void *lt_xmalloc(size_t size);
void *lt_xcalloc(size_t n, size_t size);
void *lt_xrealloc(void *p, size_t size);

#endif
