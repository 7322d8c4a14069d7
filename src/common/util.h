/*
 * util.h — string helpers with Redis's exact semantics, shared by every layer.
 *
 * Owns: integer <-> decimal string conversion with the strict rules Redis
 * applies (what counts as an integer decides OBJECT ENCODING "int", INCR's
 * "value is not an integer" error, ...), and the glob matcher used by KEYS,
 * SCAN MATCH, PSUBSCRIBE, CONFIG GET, ACL patterns.
 * Invariants: functions are pure (no global state, thread-safe), never read
 * past the given lengths, never allocate.
 * Used by: engine (integer encoding of strings), server (commands).
 */
#ifndef LT_COMMON_UTIL_H
#define LT_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest decimal form of a 64-bit signed integer plus the NUL: 21. */
#define LT_LLSTR_SIZE 21

/* Parses s[0..slen) as a signed 64-bit decimal the way Redis's string2ll
 * does: optional '-', no '+', no spaces, no leading zeros ("0" itself is
 * fine, "-0" and "007" are not), at most 20 characters, no overflow.
 * Returns 1 and stores *value on success, 0 otherwise (*value untouched). */
int lt_string2ll(const char *s, size_t slen, long long *value);

/* Writes the decimal form of v into dst (cap bytes, NUL-terminated).
 * Returns the length without the NUL, or 0 if cap is too small (dst then
 * holds an empty string when cap > 0). cap >= LT_LLSTR_SIZE always fits. */
size_t lt_ll2string(char *dst, size_t cap, long long v);

/* Redis glob match of string[0..slen) against pattern[0..plen):
 * '*' any run, '?' one byte, '[abc]' '[^a-z]' sets and ranges (a reversed
 * range is swapped), '\x' the literal x. nocase folds ASCII case.
 * Returns 1 on match, 0 otherwise. Iterative (one backtrack point per '*'),
 * so no recursion depth limit is needed; worst case O(slen * plen). */
int lt_stringmatchlen(const char *pattern, size_t plen, const char *string,
                      size_t slen, int nocase);

#endif
