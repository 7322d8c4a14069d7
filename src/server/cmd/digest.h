/*
 * digest: Redis's dataset digest (DEBUG DIGEST, DEBUG DIGEST-VALUE), bit
 * for bit the algorithm of Redis 7.0's debug.c, so a Lightning dataset and
 * a Redis dataset holding the same keys, values and TTL flags give the same
 * 40 hex digits.
 *
 * The algorithm (SHA-1 throughout; "xor" XORs a buffer's SHA-1 into the
 * digest, "mix" does that and then replaces the digest by its own SHA-1):
 *  - per key: digest = 0; mix(key); mix(type as a big-endian u32); then by
 *    type: string: mix(bytes, integers as decimal); list: mix(each element,
 *    head to tail); set: xor(each member); hash: for each pair
 *    e = 0, mix(e, field), mix(e, value), xor(digest, e); zset: for each
 *    member e = 0, mix(e, member), mix(e, score as "%.17g"), xor(digest, e);
 *    then, if the key has a TTL, xor("!!expire!!") (the time itself is not
 *    hashed).
 *  - dataset: final = 0; for each non-empty database j: mix(final, j as a
 *    big-endian u32), then xor(final, each key's digest). All zeros for an
 *    empty dataset.
 * So the order of keys, set members and hash fields does not matter; the
 * order of list elements does.
 *
 * Threading: digest_dataset takes each shard's lock in turn (a concurrent
 * writer on another shard may or may not be seen, as with SCAN);
 * digest_value runs under the caller's transaction.
 */
#ifndef LIGHTNING_DIGEST_H
#define LIGHTNING_DIGEST_H

#include "common/sha1.h"
#include "engine/entry.h"

struct lt_db;

/* The digest of every live key of every database into out. */
void digest_dataset(struct lt_db *db, unsigned char out[LT_SHA1_LEN]);
/* The digest of one key's value and TTL flag (not its name), as DEBUG
 * DIGEST-VALUE reports it. */
void digest_value(const ks_entry *e, unsigned char out[LT_SHA1_LEN]);
/* out = 40 lower-case hex digits and a NUL. */
void digest_hex(const unsigned char d[LT_SHA1_LEN], char out[2 * LT_SHA1_LEN + 1]);

#endif
