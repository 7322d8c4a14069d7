/*
 * sha1.h — SHA-1 (FIPS 180-4), for Redis-compatible digests (DEBUG DIGEST,
 * DEBUG DIGEST-VALUE) and later the script cache's SHA1 names. Not for
 * security: SHA-1 is broken for collision resistance.
 *
 * Use: lt_sha1_init, lt_sha1_update any number of times, lt_sha1_final
 * (20 bytes out); or lt_sha1 for one buffer. Contexts are plain values,
 * no allocation; thread-safe as long as a context is not shared.
 */
#ifndef LT_COMMON_SHA1_H
#define LT_COMMON_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define LT_SHA1_LEN 20

typedef struct lt_sha1_ctx {
    uint32_t h[5];
    uint64_t bytes;          /* total bytes fed */
    unsigned char block[64]; /* pending partial block */
    size_t fill;             /* bytes in block */
} lt_sha1_ctx;

void lt_sha1_init(lt_sha1_ctx *c);
void lt_sha1_update(lt_sha1_ctx *c, const void *data, size_t len);
void lt_sha1_final(lt_sha1_ctx *c, unsigned char out[LT_SHA1_LEN]);
void lt_sha1(const void *data, size_t len, unsigned char out[LT_SHA1_LEN]);
/* 40 lower-case hex digits and a NUL. */
#define LT_SHA1_HEX_SIZE 41
/* The digest of data as 40 lower-case hex digits, NUL-terminated (script
 * names: EVALSHA, SCRIPT LOAD, redis.sha1hex). */
void lt_sha1_hex(const void *data, size_t len, char out[LT_SHA1_HEX_SIZE]);

#endif
