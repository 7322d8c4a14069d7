/*
 * mvcc_int.h — MVCC internals shared by the engine's write paths: the commit
 * clock, "may a view still read this version", version-chain pruning and
 * visibility. See mvcc.c for the rules.
 */
#ifndef LT_ENGINE_MVCC_INT_H
#define LT_ENGINE_MVCC_INT_H

#include <stdint.h>

#include "engine/keyspace_int.h"
#include "engine/txn.h"

void mvcc_init(ks_mvcc *m);
void mvcc_destroy(ks_mvcc *m);
/* Assigns the next commit timestamp (> every earlier one). */
uint64_t mvcc_next_ts(ks_mvcc *m);
/* Whether some open (or opening) view may read a version written at ts. */
int mvcc_view_may_need(ks_mvcc *m, uint64_t version_ts);
/* Frees the versions behind *link that no open view needs and drops the
 * entry itself if it is a tombstone nobody needs. Returns the entry now at
 * the key's position, NULL if removed. Shard locked. */
ks_entry *mvcc_prune(ks_mvcc *m, ks_shard *sh, ks_entry **link, int table);
/* Adds d to sh's nversions and to the db-wide count; past the bound
 * (ks_mvcc_set_max_pinned) the oldest view that is not sequential is
 * doomed. Shard locked. */
void mvcc_versions_add(ks_mvcc *m, ks_shard *sh, int64_t d);
/* Before a key-set transaction locks: waits until the snapshot wrote out
 * every big collection among keys it would otherwise make a writer copy
 * (mvcc.h, "Big collections written first"). hashes may be NULL. No lock
 * held by the caller. */
void mvcc_wait_big_keys(lt_db *db, const ks_key *keys, const uint64_t *hashes, size_t n);
/* Whether e was written first by the only open view, which then no
 * longer needs its old version. Shard locked. */
int mvcc_early_written(ks_mvcc *m, const ks_entry *e);
/* The version of cur's key visible at ts/now_ms, NULL if none. */
const ks_entry *mvcc_visible(const ks_entry *cur, uint64_t ts, int64_t now_ms);

#endif
