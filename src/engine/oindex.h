/*
 * oindex.h — the ordered key index of one database of an engine opened
 * with LT_DB_ORDERED: every key byte-ordered (memcmp, a prefix first) in a
 * B+tree (btree.c, all scores 0), beside the hash-sharded keyspace that
 * stays the source of truth for values and visibility.
 *
 * Invariant (what makes range cursors consistent with MVCC snapshots):
 * the index holds a superset of the keys any open view can see. A key is
 * added before the commit that creates it is visible (under its shard
 * locks, before ks_txn_commit), and a deleted key stays, marked with its
 * deletion ts, until no open view is older than that deletion
 * (oindex_purge with the views' minimum ts). Cursors take the keys from
 * here and ask their view for each one (ks_view_get): invisible keys —
 * created after the snapshot, or deleted before it — are skipped.
 *
 * Threads: one rwlock per index; writers (commits) take it exclusively
 * for one insert / mark / bounded purge step, readers (cursors) shared for
 * one batch of keys. Callers may hold shard locks while calling in; no
 * index function calls into the keyspace, so the order shard -> index
 * never inverts.
 *
 * Memory: per key one tree item (40 bytes + key) plus the tree's nodes;
 * per deleted-not-yet-purged key a queue node (24 bytes + key).
 */
#ifndef LT_ENGINE_OINDEX_H
#define LT_ENGINE_OINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "engine/btree.h"

typedef struct oindex oindex;

/* NULL when out of memory. */
oindex *oindex_new(void);
void oindex_free(oindex *x);

/* Adds key as live (or marks an existing one live). LT_OK or LT_NOMEM. */
int oindex_put(oindex *x, const char *key, size_t klen);
/* Marks key deleted by the commit at ts, queued for purging (no-op when
 * absent). LT_OK or LT_NOMEM (the key then just stays). */
int oindex_del(oindex *x, const char *key, size_t klen, uint64_t ts);
/* Removes up to budget queued keys deleted at ts <= horizon and not live
 * again (horizon: the oldest open view's ts, UINT64_MAX with none). */
void oindex_purge(oindex *x, uint64_t horizon, size_t budget);

/* Where a batch starts. */
enum {
    OINDEX_FIRST,   /* forward from the first key */
    OINDEX_LAST,    /* backward from the last key */
    OINDEX_FWD_GE,  /* forward from the first key >= k */
    OINDEX_FWD_GT,  /* forward from the first key > k */
    OINDEX_BACK_LE, /* backward from the last key <= k */
    OINDEX_BACK_LT  /* backward from the last key < k */
};
/* Calls fn for up to max keys in index order from the start mode names
 * (forward modes ascending, backward descending), under the read lock;
 * fn must not call into the index or the keyspace (copy the bytes).
 * Returns the number of keys passed; fn returning non-zero stops early
 * (that key counted). */
typedef int oindex_key_fn(void *ctx, const char *key, size_t klen);
/* Where the last batch ended, so the next one in the same direction
 * starts there instead of descending the tree again (a full scan walks
 * the leaves once). Caller-owned; valid only while the tree has not
 * changed shape since (no key added or purged: a counter says so),
 * otherwise ignored. Zero it (or set valid 0) to start afresh. */
typedef struct oindex_resume {
    bt_pos pos;    /* the last key passed to fn */
    uint64_t mods; /* the tree's shape counter then */
    int valid;
} oindex_resume;
/* resume (may be NULL): with OINDEX_FWD_GT / OINDEX_BACK_LT and k the
 * last key of the previous batch (the caller's promise), the batch
 * continues from resume->pos when the tree is unchanged; on return it
 * holds where this batch ended (valid 0 when it passed no key). */
size_t oindex_collect(oindex *x, int mode, const char *k, size_t klen, size_t max,
                      oindex_key_fn *fn, void *ctx, oindex_resume *resume);

/* Keys in the index (live and deleted-not-purged). */
uint64_t oindex_count(oindex *x);

#endif
