/*
 * mvcc.h — consistent read views over the keyspace (snapshots without fork,
 * consistent full sync, KEYS, the embedded API's snapshot transactions).
 *
 * A view reads the keyspace as of the commit timestamp current when it was
 * opened. Writers never wait for views: a writer about to replace, delete
 * or modify a version that an open view may still read keeps that version
 * (chained behind the new one) instead of freeing it; with no view open
 * nothing is copied or chained. Old versions are reclaimed by ks_gc_cycle()
 * and opportunistically by writers, once no open view needs them.
 *
 * A ks_view is caller-allocated (stack is fine) and must be closed on the
 * thread-agnostic ks_view_close(); while open it pins memory, so keep views
 * short or iterate them steadily. Entries returned by view functions stay
 * valid (unchanged) until the view is closed.
 */
#ifndef LT_ENGINE_MVCC_H
#define LT_ENGINE_MVCC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"
#include "lightning.h"

typedef struct ks_view {
    lt_db *db;
    uint64_t ts;     /* sees every commit with ts <= this */
    int64_t now_ms;  /* keys expired at this time are not visible */
    /* Set to 1 by a caller that promises to iterate databases 0, 1, ...
     * in order, each to the end, and to read a shard it left never again
     * (snapshots): writers then stop keeping old versions in the shards it
     * has passed, so its extra memory is at most one old version per key
     * it has not written out yet. 0 after ks_view_open. */
    int sequential;
    uint64_t passed; /* sequential: global shard ids below this are done */
    struct ks_view *prev, *next; /* registry links (mvcc.c) */
} ks_view;

/* Opens a view of db at the current commit timestamp. Never fails. */
void ks_view_open(lt_db *db, ks_view *v);
/* Closes v; entries obtained through it are invalid afterwards. */
void ks_view_close(ks_view *v);

/* The version of key visible to v, or NULL (absent, deleted or expired as of
 * the view). Locks the key's shard briefly. */
const ks_entry *ks_view_get(ks_view *v, unsigned dbid, const char *key,
                            size_t klen);

/* ks_view_get with hash = the key's keyspace hash (as ks_prefetch
 * returned it), so the key is not hashed again. */
const ks_entry *ks_view_get_hashed(ks_view *v, unsigned dbid, const char *key,
                                   size_t klen, uint64_t hash);
/* Iterates every key of one database as of the view, each exactly once
 * (rehash of the shard being iterated is paused meanwhile). Caller-allocated;
 * ks_view_iter_close() it (also mid-way) before closing the view. */
typedef struct ks_view_iter {
    ks_view *view;
    unsigned dbid;
    unsigned shard;  /* current shard; == nshards at the end */
    int table;       /* 0/1 inside the shard's dict */
    uint64_t bucket; /* next bucket to visit */
    int paused;      /* holds a rehash pause on the current shard */
} ks_view_iter;

typedef void ks_view_fn(void *ctx, const ks_entry *e);

void ks_view_iter_init(ks_view_iter *it, ks_view *v, unsigned dbid);
/* Calls fn(ctx, e) for visible keys, whole buckets at a time, until at
 * least budget keys were passed or the end. fn runs with a shard lock held
 * and must not call into the engine. Returns 1 if keys remain, 0 at the end. */
int ks_view_iter_next(ks_view_iter *it, size_t budget, ks_view_fn *fn,
                      void *ctx);
void ks_view_iter_close(ks_view_iter *it);

/* Makes every later commit timestamp greater than ts (recovery: commit
 * timestamps keep increasing across restarts, so a snapshot's timestamp
 * can be compared with those of WAL records written after it). */
void ks_mvcc_advance(lt_db *db, uint64_t ts);

/* Reclaims old versions and tombstones no open view needs, in the shards
 * this thread owns (global shard id % nthreads == thread_index), for about
 * budget_us. Returns the number of versions freed. */
uint64_t ks_gc_cycle(lt_db *db, unsigned thread_index, unsigned nthreads,
                     uint64_t budget_us);

typedef struct ks_mvcc_stats {
    uint64_t last_ts;   /* last assigned commit timestamp */
    uint64_t views;     /* open views */
    uint64_t versions;  /* old versions + tombstones held in all shards */
} ks_mvcc_stats;

/* Snapshot of MVCC counters (locks each shard briefly). */
void ks_mvcc_get_stats(lt_db *db, ks_mvcc_stats *st);

#endif
