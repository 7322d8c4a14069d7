/*
 * siphash.h — SipHash keyed hash (Aumasson & Bernstein).
 *
 * Owns: lt_siphash() (SipHash-2-4, the reference variant, for anything that
 * hashes attacker-chosen input where strength matters most) and
 * lt_siphash13() (SipHash-1-3, faster, what the keyspace uses for its hash
 * tables, like Redis uses a reduced-round variant).
 * Both take a 16-byte secret key; with a random key, clients cannot build
 * colliding keys to degrade hash tables (hash flooding).
 * Used by: engine (shard and bucket selection), server (any keyed table).
 */
#ifndef LT_COMMON_SIPHASH_H
#define LT_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t lt_siphash(const void *data, size_t len, const uint8_t key[16]);
uint64_t lt_siphash13(const void *data, size_t len, const uint8_t key[16]);

#endif
