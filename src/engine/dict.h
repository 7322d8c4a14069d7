/*
 * dict.h — one shard's hash table of ks_entry, with incremental rehash and a
 * rehash-proof scan cursor (the design of Redis's dict.c, specialised to
 * intrusive entries: the chain link is ks_entry.next, so no per-key node).
 *
 * Not thread-safe: the owning shard's lock is held for every call.
 * Bucket index = low bits of the key hash (the shard is chosen by the high
 * bits, see keyspace.c), hashes are recomputed when entries move (rehash),
 * so entries do not store them.
 * Used by: keyspace.c, mvcc.c, expire.c (all engine-internal).
 */
#ifndef LT_ENGINE_DICT_H
#define LT_ENGINE_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry_int.h"

typedef struct dict {
    ks_entry **table[2];
    uint64_t used[2];
    int64_t rehashidx;     /* next t0 bucket to move; -1 when not rehashing */
    uint32_t pause;        /* > 0: no rehash steps (a view iterator is in it) */
    int8_t exp[2];         /* log2 of table sizes; -1 for no table */
    const uint8_t *hash_key; /* 16-byte siphash key owned by the lt_db */
} dict;

/* Rehash work per operation: buckets moved, and empty buckets visited at
 * most (times 10) as in Redis. */
#define DICT_REHASH_STEPS_PER_OP 1
#define DICT_MIN_EXP 2 /* 4 buckets */

/* Called per bucket by dict_scan; head is the bucket's chain head and may be
 * modified (entries unlinked with dict_unlink(d, table, link)). */
typedef void dict_bucket_fn(void *ctx, dict *d, int table, ks_entry **head);

static inline uint64_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }
static inline int dict_is_rehashing(const dict *d) { return d->rehashidx != -1; }

void dict_init(dict *d, const uint8_t *hash_key);
/* Frees the tables; entries are passed to free_fn(ctx, e) first (may be
 * NULL when the dict is empty). Leaves d empty and usable. */
void dict_clear(dict *d, void (*free_fn)(void *ctx, ks_entry *e), void *ctx);

/* Hash of a key as used by the whole keyspace. */
uint64_t dict_hash(const uint8_t *hash_key, const void *key, size_t len);

/* Finds key; returns the link (pointer to the chain slot holding the entry)
 * and its table in *table, or NULL. Performs a bounded rehash step first.
 * The link is valid until the next dict call that may move entries (find,
 * add, rehash). */
ks_entry **dict_find(dict *d, uint64_t hash, const char *key, size_t klen,
                     int *table);
/* Adds e (its key must not be present). May start a resize and step it. */
void dict_add(dict *d, uint64_t hash, ks_entry *e);
/* Removes *link from table; frees nothing, never resizes. */
void dict_unlink(dict *d, int table, ks_entry **link);
/* Replaces the entry at *link by e (same key); frees nothing. */
static inline void dict_replace(ks_entry **link, ks_entry *e) {
    e->next = (*link)->next;
    *link = e;
}
/* Sizes the table for n entries (a hint: loading them then never grows
 * it). Only grows: a first table is allocated at once; a table holding
 * entries starts an incremental rehash to the new size. No-op while
 * rehashing or when already large enough. Returns 0, or -1 when the
 * allocation fails (d unchanged). */
int dict_reserve(dict *d, uint64_t n);
/* Starts a shrink when the table is mostly empty (after deletions). */
void dict_shrink_if_needed(dict *d);
/* Moves up to n buckets to the new table (skipping at most 10*n empty
 * ones). Returns 1 if rehashing is still in progress. No-op when paused. */
int dict_rehash(dict *d, unsigned n);

/* Visits the buckets for cursor v (Redis's reverse-binary cursor; both
 * tables while rehashing) and returns the next cursor, 0 when done. Every
 * entry present from the first to the last call is visited at least once. */
uint64_t dict_scan(dict *d, uint64_t v, dict_bucket_fn *fn, void *ctx);

/* Calls fn for every non-empty bucket of both tables, in table order. The
 * callback may unlink entries of its bucket but must not add entries.
 * Unbounded by design: used only by whole-database operations (flush,
 * swap) that own every lock of the database. */
void dict_foreach_bucket(dict *d, dict_bucket_fn *fn, void *ctx);

/* A uniformly random entry's link (random non-empty bucket, then random
 * position in its chain), or NULL if empty. Bounded: at most 64 random
 * probes, then a linear walk from a random bucket. */
ks_entry **dict_random(dict *d, int *table);

/* Number of buckets of table t (0 if none). */
static inline uint64_t dict_buckets(const dict *d, int t) {
    return d->exp[t] < 0 ? 0 : (uint64_t)1 << d->exp[t];
}

/* The slot where the chain of hash starts in table t, or NULL when table t
 * holds none for it (no table, or a table-0 bucket the rehash already
 * moved). Reads d only, not the slot: prefetch.c uses it to prefetch. */
static inline ks_entry **dict_slot(const dict *d, int t, uint64_t hash) {
    if (d->exp[t] < 0) return NULL;
    uint64_t idx = hash & (dict_buckets(d, t) - 1);
    if (t == 0 && dict_is_rehashing(d) && (int64_t)idx < d->rehashidx) return NULL;
    return &d->table[t][idx];
}

#endif
