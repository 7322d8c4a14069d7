/*
 * random.h — fast non-cryptographic per-thread random numbers.
 *
 * Owns: lt_random_u64(), a xoshiro256** generator in thread-local state,
 * seeded on first use per thread from getrandom() (falling back to time and
 * thread address). For sampling (random keys, expiry sampling, LFU
 * increments), never for secrets.
 * Used by: engine, server.
 */
#ifndef LT_COMMON_RANDOM_H
#define LT_COMMON_RANDOM_H

#include <stdint.h>

uint64_t lt_random_u64(void);
/* Uniform in [0, n); n > 0. */
uint64_t lt_random_below(uint64_t n);
/* Fills buf with n bytes from the kernel CSPRNG (getrandom), falling back
 * to lt_random_u64() if unavailable. For hash seeds. */
void lt_random_bytes(void *buf, unsigned n);

#endif
