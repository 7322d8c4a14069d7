/*
 * adaptive.h — the state of the allkeys-adaptive / volatile-adaptive
 * eviction policies: a bounded ghost history of evicted keys and the
 * self-tuned aging period that balances recency against frequency.
 * Engine-internal: evict.c ranks candidates with ks_adapt_score and reports
 * evictions; keyspace.c reports new keys (ks_adapt_admit). The algorithm
 * and its measurements are described in adaptive.c and docs/ARCHITECTURE.md
 * ("Eviction: the adaptive policy").
 *
 * Thread-safety: every function may be called from any thread without a
 * lock (slots and counters are atomics; a lost race only loses history).
 */
#ifndef LT_ENGINE_ADAPTIVE_H
#define LT_ENGINE_ADAPTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"

/* Ghost slots: a fixed power of two, 4 bytes each (256 KiB, allocated with
 * the engine's allocator, so counted in used_memory). */
#define KS_ADAPT_GHOST_SLOTS (1u << 16)

typedef struct ks_adapt ks_adapt;

/* Allocates the state (aborts on OOM); freed with ks_adapt_free. */
ks_adapt *ks_adapt_new(void);
void ks_adapt_free(ks_adapt *a);

/* Eviction rank of e: higher evicts first. */
uint64_t ks_adapt_score(const ks_adapt *a, const ks_entry *e, int64_t now_ms);

/* Key hash (of database dbid) was evicted with LFU counter lfu: remembered
 * in its ghost slot (replacing whatever was there). */
void ks_adapt_evicted(ks_adapt *a, unsigned dbid, uint64_t hash, unsigned lfu);

/* e, a key just created under hash, enters the cache. If its ghost is found
 * (it was evicted recently) the ghost is consumed, e's LFU counter restored
 * (at least one above a new key's) and the aging period adapted. */
void ks_adapt_admit(ks_adapt *a, unsigned dbid, uint64_t hash, ks_entry *e, int64_t now_ms);

/* Figures for INFO: log2 of the aging period in 1/1024 units, ghost hits
 * on keys evicted once-seen (b1) and frequent (b2). */
typedef struct ks_adapt_stats {
    int32_t period_log2_q10;
    uint64_t ghost_hits_b1, ghost_hits_b2;
} ks_adapt_stats;
void ks_adapt_get_stats(const ks_adapt *a, ks_adapt_stats *out);

#endif
