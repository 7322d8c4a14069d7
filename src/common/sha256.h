/*
 * sha256.h — SHA-256 (FIPS 180-4), for ACL password hashes: Redis stores
 * and shows a user's passwords as the lowercase hex SHA-256 of the
 * password (ACL LIST's "#<hash>"), so ours must be the same function.
 *
 * Use: lt_sha256_init, lt_sha256_update any number of times,
 * lt_sha256_final (32 bytes out); or lt_sha256 for one buffer. Contexts are
 * plain values, no allocation; thread-safe as long as a context is not
 * shared.
 */
#ifndef LT_COMMON_SHA256_H
#define LT_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LT_SHA256_LEN 32

typedef struct lt_sha256_ctx {
    uint32_t h[8];
    uint64_t bytes;          /* total bytes fed */
    unsigned char block[64]; /* pending partial block */
    size_t fill;             /* bytes in block */
} lt_sha256_ctx;

void lt_sha256_init(lt_sha256_ctx *c);
void lt_sha256_update(lt_sha256_ctx *c, const void *data, size_t len);
void lt_sha256_final(lt_sha256_ctx *c, unsigned char out[LT_SHA256_LEN]);
void lt_sha256(const void *data, size_t len, unsigned char out[LT_SHA256_LEN]);
/* The digest as 64 lowercase hex characters and a NUL. */
void lt_sha256_hex(const void *data, size_t len, char out[2 * LT_SHA256_LEN + 1]);

#endif
