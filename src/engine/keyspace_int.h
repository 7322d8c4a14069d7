/*
 * keyspace_int.h — the structures behind lt_db: shards, the MVCC clock and
 * view registry, statistics. Engine-internal; the server uses keyspace.h,
 * txn.h, mvcc.h and expire.h.
 *
 * Shard addressing: a key's 64-bit siphash picks its shard with the top
 * shard_bits bits (buckets inside the shard use the low bits, so the two
 * choices are independent); global shard id = dbid * nshards + shard. Locks
 * are always taken in ascending global id order, which is what makes
 * multi-key transactions deadlock-free.
 * Slot mode (Redis Cluster, ks_set_slot_fn): the top 14 bits of the hash
 * are the key's slot, so shard = slot >> (14 - shard_bits) and a slot's
 * keys live in one shard.
 */
#ifndef LT_ENGINE_KEYSPACE_INT_H
#define LT_ENGINE_KEYSPACE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/dict.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"

/* What SWAPDB exchanges between two databases' shards: everything but the
 * lock (which belongs to the slot, keeping lock order stable). */
typedef struct ks_shard_data {
    dict d;
    ks_entry **exp;      /* expiry index: current versions with a TTL */
    uint32_t nexp;
    uint32_t capexp;
    uint64_t nversions;  /* old versions in chains + tombstones (GC work) */
    uint64_t gc_cursor;  /* dict_scan cursor of the GC cycle */
} ks_shard_data;

/* Shard data detached by ks_flush_db, freed after the commit unlocks. */
typedef struct ks_garbage {
    ks_shard_data data;
    struct ks_garbage *next;
    uint64_t keys; /* live keys it held */
    int lazy;      /* free on the lazy-free thread (lazyfree.h) */
} ks_garbage;

typedef struct ks_shard {
    pthread_mutex_t lock;
    /* Published counters: written under the lock, read lock-free by
     * DBSIZE / INFO (relaxed, may lag a running commit). */
    _Atomic uint64_t nkeys;    /* live keys (not tombstones) */
    _Atomic uint64_t nexpires; /* == data.nexp */
    /* Open sequential views (snapshots) that have passed this shard and
     * will not read it again; under the lock (mvcc.c). */
    uint32_t views_done;
    /* WATCHed keys of this shard (keyspace.c, "WATCH versions"), NULL when
     * none; belongs to the slot like the lock (SWAPDB does not move it). */
    struct ks_watch_reg *watch;
    /* Highest stamp of a commit on this shard (ks_txn_stamp), under the
     * lock. */
    uint64_t stamp;
    ks_shard_data data;
} __attribute__((aligned(64))) ks_shard;

typedef struct ks_mvcc {
    _Atomic uint64_t ts;        /* last assigned commit timestamp */
    pthread_mutex_t views_lock; /* guards the view list */
    ks_view *head, *tail;       /* open views, oldest ts first */
    /* Newest / oldest open view ts, read lock-free by writers and GC.
     * Opening a view first stores the conservative values (max = UINT64_MAX
     * "copy everything", min = 0 "keep everything" if it is the only one),
     * then reads the clock: a writer whose commit ts the view could miss is
     * ordered before that store and has its version visible to the view
     * (sequentially consistent store/load pairs, as in Dekker's
     * algorithm). No view: max = 0, min = UINT64_MAX. */
    _Atomic uint64_t view_max;
    _Atomic uint64_t view_min;
    _Atomic uint64_t nviews;
    /* Sum of every shard's nversions (mvcc_versions_add), the bound on it
     * (0 = none), open views doomed and not closed yet, views doomed ever. */
    _Atomic uint64_t versions;
    _Atomic uint64_t max_versions;
    _Atomic uint64_t ndoomed_open;
    _Atomic uint64_t ndoomed_total;
    /* Big collections written first (mvcc.h): the view taking requests
     * (NULL: none), its lock and the condition writers wait on. */
    pthread_mutex_t early_lock;
    pthread_cond_t early_cond;
    struct ks_view *early_view;   /* under early_lock */
    _Atomic int early_on;         /* early_view != NULL, read lock-free */
    _Atomic uint64_t early_ndone; /* entries in the view's written set */
    _Atomic uint64_t early_writes;
    _Atomic uint64_t cow_bytes;   /* copied before in-place writes for views */
} ks_mvcc;

typedef struct ks_dbstat {
    _Atomic int64_t avg_ttl_ms; /* running estimate from expiry sampling */
} ks_dbstat;

struct lt_db {
    unsigned ndb;
    unsigned nshards;    /* per database, power of two */
    unsigned shard_bits; /* log2(nshards) */
    ks_shard *shards;    /* ndb * nshards */
    ks_dbstat *dbstats;  /* ndb */
    uint8_t hash_key[16];
    ks_mvcc mvcc;
    ks_hooks hooks;
    _Atomic uint64_t stamp_wide; /* highest stamp of a whole-database commit */
    ks_install_hook *install_hook; /* ks_set_install_hook */
    /* Slot mode (ks_set_slot_fn): the key's slot replaces the top
     * KS_SLOT_BITS bits of its hash, so the shard (top shard_bits bits) is a
     * function of the slot and the slot can be read back from the hash;
     * slot_keys[dbid * KS_SLOTS + slot] counts live keys, written under the
     * slot's shard lock, read lock-free. NULL / NULL outside slot mode. */
    ks_slot_fn *slot_fn;
    _Atomic uint32_t *slot_keys;
    void *install_ctx;
    _Atomic uint64_t stat_expired_keys;
    _Atomic int64_t expire_hold_until_ms; /* ks_hold_expiry */
    _Atomic uint64_t stat_expired_stale_permille; /* est. % of stale TTL keys */
    _Atomic uint64_t stat_expire_cycle_us;        /* total active-expiry time */
    _Atomic uint64_t stat_evicted_keys;
    struct ks_evpool *evpool; /* evict.c: candidates shared by all threads */
    /* evict.c: the adaptive policy's state while the last eviction ran
     * under an adaptive policy (new keys consult its ghosts), else NULL. */
    struct ks_adapt *_Atomic adapt_live;
    /* embedded.c: the data directory (store.h) and the ordered key index
     * per database (oindex.h); NULL when not configured. */
    struct store *store;
    struct oindex **oidx;
};

/* Deletes key for eviction (evict.c) if it is live — and has a TTL when
 * need_ttl — reporting it to hooks.evicted first. Returns its MEMORY
 * USAGE (1 when an open view keeps the version: nothing is freed before
 * the view passes it), 0 if nothing was deleted, KS_EVICT_REFUSED
 * (evict.h) if the hook refused (the key is untouched). The key's shard
 * is locked by txn. */
size_t ks_evict_key(ks_txn *txn, unsigned dbid, const char *key, size_t klen, int need_ttl);
/* Frees db's eviction pool (lt_db_close). */
void ks_evpool_free(lt_db *db);

/* The in-memory engine behind lt_db_open / lt_db_close (embedded.c adds
 * the directory and the ordered index around them). cfg is complete. */
int ks_db_create(const lt_config *cfg, lt_db **out);
void ks_db_destroy(lt_db *db);

#define KS_SLOT_SHIFT (64 - KS_SLOT_BITS)
static inline uint64_t ks_hash(const lt_db *db, const char *key, size_t klen) {
    uint64_t h = dict_hash(db->hash_key, key, klen);
    /* Slot mode: buckets use the low bits (dict.h), which stay the
     * siphash's; the shard, chosen by the top bits, follows the slot. */
    if (__builtin_expect(db->slot_fn != NULL, 0))
        h = ((uint64_t)db->slot_fn(key, klen) << KS_SLOT_SHIFT) |
            (h & ((1ull << KS_SLOT_SHIFT) - 1));
    return h;
}
static inline unsigned ks_shard_of_hash(const lt_db *db, uint64_t hash) {
    return db->shard_bits ? (unsigned)(hash >> (64 - db->shard_bits)) : 0;
}
static inline ks_shard *ks_shard_at(const lt_db *db, unsigned dbid,
                                    unsigned shard) {
    return &db->shards[(size_t)dbid * db->nshards + shard];
}

/* Internal write primitives shared by keyspace.c, expire.c, mvcc.c. All run
 * with the shard locked inside txn. */

/* Makes newe the current version of its key. link/table: the slot of the
 * current entry (possibly a tombstone), or NULL when the key is absent (the
 * entry is then added under hash). keep_old: the replaced entry becomes an
 * old version for views; otherwise it is freed (shallow: its object moved
 * into newe). */
void ks_install(ks_txn *txn, ks_shard *sh, ks_entry **link, int table,
                uint64_t hash, ks_entry *newe, int keep_old, int shallow);
/* Removes the live current entry at link (a tombstone replaces it when
 * keep_old, or when older versions hang off it). keep_old (from
 * ks_keep_old, decided once by the caller) and shallow as for ks_install. */
void ks_remove(ks_txn *txn, ks_shard *sh, ks_entry **link, int table,
               int keep_old, int shallow);
/* Whether replacing/modifying e in txn must keep e for open views. Assigns
 * the txn's ts first (the order the MVCC argument relies on). */
int ks_keep_old(ks_txn *txn, const ks_shard *sh, const ks_entry *e);
/* Locks one shard by global id (active expiry, GC). */
void ks_txn_begin_shard(ks_txn *txn, lt_db *db, uint32_t gid);
/* Frees tables detached by ks_flush_db (called by ks_txn_commit after
 * unlocking). */
void ks_garbage_free(struct ks_garbage *g);
/* After unlock: frees each of the chain, or hands the lazy ones to the
 * lazy-free thread. */
void ks_garbage_release(struct ks_garbage *g);
/* Deletes an expired live entry: stats, expired hook, ks_remove. */
void ks_expire_entry(ks_txn *txn, ks_shard *sh, unsigned dbid,
                     ks_entry **link, int table);

#endif
