/*
 * sha1: SHA-1 (FIPS 180-4) of a byte string, as script identifiers need it
 * (EVALSHA, SCRIPT LOAD, redis.sha1hex). Not for security: SHA-1 names a
 * script body exactly as Redis names it, nothing more.
 *
 * Pure functions, no state between calls; thread-safe.
 */
#ifndef LIGHTNING_SHA1_H
#define LIGHTNING_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define LT_SHA1_LEN 20
/* 40 lower-case hex digits and a NUL. */
#define LT_SHA1_HEX_SIZE 41

void lt_sha1(const void *data, size_t len, uint8_t out[LT_SHA1_LEN]);
/* The digest of data as 40 lower-case hex digits, NUL-terminated. */
void lt_sha1_hex(const void *data, size_t len, char out[LT_SHA1_HEX_SIZE]);

#endif
