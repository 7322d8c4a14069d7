/*
 * prefetch.h — overlapping the cache misses of a batch of key lookups.
 *
 * Looking a key up is a chain of dependent loads: the bucket slot of its
 * shard's hash table, then the entry the slot points to (header and key
 * bytes), then the value. In a large keyspace each is a cache miss, and
 * lookups done one after the other (MGET's keys, a pipeline's GETs) pay
 * them one after the other. These functions take a batch of keys and
 * start every key's loads before any of them is needed: the bucket slots
 * of all keys first, then, as they arrive, the entries they point to
 * (the line holding the header and key, and the next one, where a short
 * value ends), then the second entry of chains whose first is another key.
 * The lookups that follow find their lines in cache or on the way, so a
 * batch costs a few miss times instead of two or three per key.
 *
 * Hints only: nothing observable depends on them. A key that is absent,
 * deeper in its chain, or changed before its lookup simply misses as it
 * would have. Table memory is read only with the shard locked (prefetch
 * instructions of addresses that may go stale are harmless; loads are
 * not).
 *
 * Called by: the server's multi-key reads (MGET, EXISTS) inside their
 * transaction, and its pipeline runner for the keys of the commands it
 * has parsed ahead (client.c); the embedded API's lt_get_many and the
 * validation and writes of a multi-key lt_txn_commit (embedded.c).
 */
#ifndef LT_ENGINE_PREFETCH_H
#define LT_ENGINE_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/mvcc.h"
#include "engine/txn.h"
#include "lightning.h"

/* Keys one call prefetches at most: enough to cover the latency of a miss
 * with independent work, few enough that the lines are still in cache
 * when their lookups come. */
#define KS_PREFETCH_MAX 16
/* Keys ks_view_get_batch looks up at most per call: it keeps no hash
 * cache, so its batch is bound only by the misses worth having in flight
 * at once (more than 16 when the lookups follow at once). */
#define KS_VIEW_BATCH_MAX 64

/* Inside txn, which holds the shard of every key (the lookups that
 * follow ASSERT it): prefetches
 * keys[0..n), n <= KS_PREFETCH_MAX, and makes them txn's hash cache (a key
 * already cached is not hashed again; lookups of the same key bytes that
 * follow do not hash). Keys cached before and not in keys[] are forgotten
 * (looking them up stays correct, it hashes again). keys is read during
 * the call only; the key bytes must not change until txn commits. */
void ks_txn_prefetch(ks_txn *txn, const ks_key *keys, size_t n);
/* ks_txn_prefetch with hashes[i] the keyspace hash of keys[i] (as
 * ks_prefetch or ks_hash gave it), so no key is hashed here. */
void ks_txn_prefetch_hashed(ks_txn *txn, const ks_key *keys, const uint64_t *hashes,
                            size_t n);

/* Outside any transaction (not inside ks_txn_nest_enter): hashes
 * keys[0..n), n <= KS_PREFETCH_MAX, into hashes[0..n) and prefetches them,
 * locking their shards (ascending, as transactions do) for the duration of
 * the call only. hashes[i] is what ks_txn_begin_hashed expects for the same
 * key bytes. Blocks while other transactions hold those shards. */
void ks_prefetch(lt_db *db, const ks_key *keys, size_t n, uint64_t *hashes);

/* ks_prefetch, then, still under the same shard locks, the lookups
 * themselves: out[i] is ks_view_get(v, keys[i]...)'s answer (NULL: not
 * visible), hashes[i] the key's hash. One lock of each distinct shard per
 * batch instead of two per key, and no key hashed twice. The entries stay
 * valid until v is closed (mvcc.h). n <= KS_VIEW_BATCH_MAX; outside any
 * transaction, as ks_prefetch. */
void ks_view_get_batch(ks_view *v, const ks_key *keys, size_t n, uint64_t *hashes,
                       const ks_entry **out);

#endif
