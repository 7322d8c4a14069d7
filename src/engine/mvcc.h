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
    /* Set (atomically, under views_lock) when the versions open views pin
     * pass the bound (ks_mvcc_set_max_pinned) and this is the oldest view
     * that is not sequential; read with ks_view_doomed(). */
    int doomed;
    struct ks_view *prev, *next; /* registry links (mvcc.c) */
    struct ks_early *early; /* ks_view_early_enable: big keys written first */
} ks_view;

/* Opens a view of db at the current commit timestamp. Never fails. */
void ks_view_open(lt_db *db, ks_view *v);
/* Closes v; entries obtained through it are invalid afterwards. */
void ks_view_close(ks_view *v);
/* 1 once v was doomed for pinning too many old versions: its owner should
 * stop reading and close it (entries it already got stay valid until
 * then; reads still work but keep the versions pinned). */
int ks_view_doomed(const ks_view *v);

/* The bound on old versions and tombstones kept for open views (0 = none,
 * the default): when writers keep more, the oldest open view that is not
 * sequential is doomed (one at a time: the next only after it closed).
 * Sequential views (snapshots) are never doomed: their extra memory is
 * already bounded by one version per key they have yet to write. */
void ks_mvcc_set_max_pinned(lt_db *db, uint64_t max_versions);

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

/* ---- Big collections written first ---------------------------------------
 * A writer about to modify in place a collection a snapshot has not written
 * yet would copy it whole under its shard lock (copy-before-write). For a
 * collection of KS_EARLY_MIN_BYTES or more that is replaced by waiting
 * instead: ks_txn_begin (before it locks anything) asks the snapshot to
 * write that key out now and waits on a condition variable until it has;
 * the snapshot thread, between two steps of its iteration, writes the
 * requested keys (each under its shard lock, like any key it writes) and
 * remembers them, so its iteration skips them and writers no longer keep
 * their old version. Applies while the snapshot's view is the only open
 * view and only to key-set transactions (one whose lock set is whole
 * databases copies as before). */
#define KS_EARLY_MIN_BYTES ((size_t)1 << 20)

typedef void ks_early_write_fn(void *ctx, unsigned dbid, const ks_entry *e);

/* Starts taking requests for v (sequential, not iterated yet); writers
 * wait from then on until the view serves them (snap_write does) or is
 * closed. Idempotent. */
void ks_view_early_enable(ks_view *v);
/* Writes the keys requested since the last call with fn(ctx, dbid, e) (shard
 * lock held, as ks_view_iter_next's callback), except those it has already
 * passed, and wakes their writers. it: the iteration in progress (NULL
 * between databases: dbid is the next database to iterate). */
void ks_view_early_serve(ks_view *v, const ks_view_iter *it, unsigned dbid,
                         ks_early_write_fn *fn, void *ctx);
/* 1 if e was written by ks_view_early_serve (the iteration skips it).
 * Shard lock held. */
int ks_view_early_written(ks_view *v, const ks_entry *e);
/* Stops taking requests, wakes every waiting writer, frees the state
 * (ks_view_close does it too). */
void ks_view_early_disable(ks_view *v);
/* Keys written first so far by the snapshots of db (for tests and INFO). */
uint64_t ks_early_writes(lt_db *db);
/* ks_mvcc_stats.cow_bytes without locking any shard. */
uint64_t ks_cow_bytes(lt_db *db);

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
    uint64_t doomed;    /* views doomed so far (ks_mvcc_set_max_pinned) */
    uint64_t cow_bytes; /* bytes copied so that views keep a version a
                           writer modifies in place (copy-before-write) */
    uint64_t early_writes; /* big collections snapshots wrote first */
} ks_mvcc_stats;

/* Snapshot of MVCC counters (locks each shard briefly). */
void ks_mvcc_get_stats(lt_db *db, ks_mvcc_stats *st);

#endif
