/*
 * evict.h — choosing and deleting keys to free memory (maxmemory): Redis's
 * approximated policies over sampled keys. The server decides when and how
 * much (src/server/evict.c); this module decides which key and deletes it.
 *
 * Policies (index order = the names of maxmemory-policy, as Redis lists
 * them): *-lru evicts the key idle longest, *-lfu the least frequently used
 * (the 8-bit logarithmic counter of the entry header, decayed), *-random
 * any, volatile-ttl the one expiring soonest; volatile-* consider only keys
 * with a TTL. *-adaptive (not in Redis) ranks by a counter that idle time
 * wears down at a self-tuned rate, with a bounded history of evicted keys
 * (adaptive.c). Per call, `samples` keys of every non-empty database (one
 * random shard each) enter a pool of the KS_EVPOOL_SIZE best candidates,
 * kept across calls and shared by all threads (one mutex), and the best
 * one still present is deleted — Redis's evictionPoolPopulate, so the
 * quality of the approximation is Redis's. Random policies delete the
 * first sampled key of a database taken in turn.
 *
 * A deleted key is counted (ks_evicted_keys), reported to the hooks'
 * `evicted` first (the server logs a DEL; when it cannot, the key stays
 * and the call returns -1), marked deleted for WATCH (EXEC of a
 * transaction watching it fails, as Redis's touched key), freed — on the
 * lazy-free thread under lazyfree-lazy-eviction when big — or, when an
 * open MVCC view (a BGSAVE) may still read it, kept for that view like
 * any deletion: such a key frees nothing until the view has passed it, so
 * it counts as 1 byte freed and the caller goes on evicting others (the
 * used memory, which includes kept versions, stays under the limit).
 *
 * Thread-safety: any thread, no lock held (each deletion is its own
 * one-key transaction).
 */
#ifndef LT_ENGINE_EVICT_H
#define LT_ENGINE_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "lightning.h"

enum {
    KS_EVICT_VOLATILE_LRU = 0,
    KS_EVICT_VOLATILE_LFU,
    KS_EVICT_VOLATILE_RANDOM,
    KS_EVICT_VOLATILE_TTL,
    KS_EVICT_ALLKEYS_LRU,
    KS_EVICT_ALLKEYS_LFU,
    KS_EVICT_ALLKEYS_RANDOM,
    KS_EVICT_NOEVICTION,
    KS_EVICT_VOLATILE_ADAPTIVE, /* ours: adaptive.c */
    KS_EVICT_ALLKEYS_ADAPTIVE,
};

#define KS_EVPOOL_SIZE 16
/* ks_evict_key's answer when the `evicted` hook refused (keyspace_int.h). */
#define KS_EVICT_REFUSED SIZE_MAX

/* 1 for the policies that rank by access frequency (OBJECT FREQ works). */
int ks_evict_policy_is_lfu(int policy);

/* Deletes one key chosen by policy among samples (>= 1) sampled keys per
 * database. Returns 1 with *freed set to the key's approximate memory
 * (MEMORY USAGE), 0 when no key can be evicted (noeviction, or no
 * candidate: an empty keyspace, no key with a TTL for volatile-*), or -1
 * when the hooks' `evicted` refused the deletion (it could not be logged:
 * the key stays, and evicting must wait). */
int ks_evict_one(lt_db *db, int policy, int samples, size_t *freed);

/* Keys evicted since db was opened or the count was last reset (INFO
 * evicted_keys; CONFIG RESETSTAT resets it, as Redis's). */
uint64_t ks_evicted_keys(lt_db *db);
void ks_evicted_keys_reset(lt_db *db);

#endif
