/*
 * keyspace.h — the server-facing data API of the engine: key lookup and
 * writes inside a ks_txn (txn.h), whole-database operations, SCAN, random
 * key, counts, hooks.
 *
 * Keys are byte strings (any bytes, up to 512 MiB) in database dbid
 * (0 <= dbid < databases). Every function taking a ks_txn requires the
 * key's shard (or the whole database) to be locked by that txn (ASSERT).
 *
 * Entry lifetime: a ks_entry* returned by a function here is valid until the
 * next write call on the same shard within the txn, or ks_txn_commit().
 * Read-only callers may read it freely; writers use the functions below
 * (never write through the pointer).
 *
 * Expiry arguments: absolute Unix ms; KS_EXPIRE_NONE for no expiry,
 * KS_EXPIRE_KEEP to keep the key's current one (SET KEEPTTL, INCR, ...).
 * A key is expired when txn->now_ms > its expiry (Redis's rule).
 */
#ifndef LT_ENGINE_KEYSPACE_H
#define LT_ENGINE_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"
#include "engine/txn.h"
#include "lightning.h"

#define KS_EXPIRE_NONE ((int64_t)-1)
#define KS_EXPIRE_KEEP ((int64_t)-2)

/* ---- Hooks (set once, before use) ----------------------------------------- */
typedef struct ks_hooks {
    void *ctx;
    /* Called by ks_txn_commit for a txn that wrote, with its locks still
     * held and ks_txn_ts() assigned: where the WAL record of the commit is
     * produced, so WAL order equals commit-ts order per key. */
    void (*commit)(void *ctx, ks_txn *txn);
    /* Called under the shard lock when a key is deleted because it expired
     * (lazily in a lookup, or by the active cycle), before it is freed; the
     * deletion carries ts (the surrounding txn's ts). For propagating DEL. */
    void (*expired)(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts);
    /* The same for a key about to be deleted by eviction (evict.h), but
     * the hook may refuse: 0 = recorded (the key is deleted), nonzero =
     * it could not be recorded (the server's WAL buffer is full: a replay
     * would bring the key back), the key is left as it is and eviction
     * stops for this call (ks_evict_one returns -1). */
    int (*evicted)(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts);
} ks_hooks;

/* Installs hooks (copied). Call before other threads use db. */
void ks_set_hooks(lt_db *db, const ks_hooks *hooks);

/* Called under the shard lock (so it must not call into the engine) each
 * time a live value is installed under a key — created, replaced, renamed
 * or moved there, copied, or re-versioned — with the value's type; with
 * type KS_HOOK_STREAM_GONE when a live stream is removed (deleted, expired,
 * evicted, renamed away) or replaced by a value of another type; and with
 * key NULL (type -1) for a database whose whole contents changed (SWAPDB,
 * FLUSHDB/FLUSHALL). The server's blocked clients wait on it (XREADGROUP
 * waiters are unblocked when their stream is gone, as in Redis). Set once,
 * before other threads use db; separate from ks_hooks so either can be set
 * alone. */
#define KS_HOOK_STREAM_GONE (-2)
typedef void ks_install_hook(void *ctx, unsigned dbid, const char *key, size_t klen,
                             int type);
void ks_set_install_hook(lt_db *db, ks_install_hook *fn, void *ctx);

/* Called with the shard locked: must not call into the engine. */
typedef void ks_entry_fn(void *ctx, const ks_entry *e);

/* ---- Slot mode (Redis Cluster) ---------------------------------------------
 * With a slot function set, a key's shard is a function of its slot (one
 * slot's keys live in one shard), and live keys are counted per slot. */
#define KS_SLOTS 16384
#define KS_SLOT_BITS 14
/* Maps a key to its slot, < KS_SLOTS (Redis's CRC16 with hash tags). Pure
 * and thread-safe: called by every thread hashing a key. */
typedef unsigned ks_slot_fn(const char *key, size_t klen);
/* Enters slot mode. Call once, right after lt_db_open and before any key is
 * written or any other thread uses db. LT_OK, LT_INVAL (shards_per_db above
 * 2^14, or already set), LT_NOMEM. */
int ks_set_slot_fn(lt_db *db, ks_slot_fn *fn);
/* In slot mode, the slot of the key a hash from ks_prefetch (or any of
 * the engine's key hashes) was computed for: its top KS_SLOT_BITS bits. */
static inline unsigned ks_hash_slot(uint64_t hash) {
    return (unsigned)(hash >> (64 - KS_SLOT_BITS));
}
/* Live keys of slot in dbid (COUNTKEYSINSLOT): O(1), lock-free, exact when
 * no commit runs concurrently. 0 outside slot mode. */
uint64_t ks_slot_count(lt_db *db, unsigned dbid, unsigned slot);
/* Calls fn (with the slot's shard locked: fn must not call into the engine)
 * for up to max live, unexpired keys of slot in dbid (GETKEYSINSLOT); visits
 * only the slot's shard. Returns how many keys fn saw. 0 outside slot mode. */
size_t ks_slot_keys(lt_db *db, unsigned dbid, unsigned slot, size_t max,
                    ks_entry_fn *fn, void *ctx);

/* Number of logical databases / shards per database of db. */
unsigned ks_databases(const lt_db *db);
unsigned ks_shards_per_db(const lt_db *db);

/* ---- Reads ------------------------------------------------------------------ */
#define KS_LOOKUP_NOTOUCH 0x1  /* do not update LRU/LFU (OBJECT, TTL, ...) */
#define KS_LOOKUP_NOEXPIRE 0x2 /* report an expired key as absent but keep
                                  it (replicas; the master sends the DEL) */
#define KS_LOOKUP_EXPIRED 0x4  /* return a key even if expired, and keep it
                                  (DEBUG OBJECT looks at what is stored) */

/* Counts of ks_lookup() calls on the calling thread that found / did not
 * find a live key. The server adds the counts its read commands caused to
 * INFO's keyspace_hits / keyspace_misses. Valid for the thread's lifetime. */
typedef struct ks_lookup_stats {
    uint64_t hits, misses;
} ks_lookup_stats;
const ks_lookup_stats *ks_thread_lookup_stats(void);

/* The live entry of key, or NULL if absent or expired (an expired key is
 * deleted unless KS_LOOKUP_NOEXPIRE, counted in expired_keys and reported
 * to the expired hook). */
ks_entry *ks_lookup(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                    int flags);

/* Until until_ms (wall clock; 0 ends it at once), ks_lookup() reports
 * expired keys as absent without deleting them, as with
 * KS_LOOKUP_NOEXPIRE (the server's CLIENT PAUSE: Redis deletes no expired
 * key while clients are paused). Writes still delete what they meet. */
void ks_hold_expiry(lt_db *db, int64_t until_ms);

/* Commit ts of the key's current version, a deletion included (0 if the key
 * is not in the table). Changes whenever the key is written, deleted or
 * expired, so comparing it with an earlier value (or a view's ts) detects
 * modification (WATCH, optimistic commits). No side effects. */
uint64_t ks_key_ts(ks_txn *txn, unsigned dbid, const char *key, size_t klen);

/* ---- WATCH versions ------------------------------------------------------------
 * Whether a key changed since a moment, for present and absent keys alike,
 * with commit timestamps and no global lock. A live key's version is its
 * entry's ts; what an entry cannot show — that the key was deleted (DEL,
 * RENAME/MOVE away, FLUSHDB/FLUSHALL of a live key, SWAPDB) — is kept per
 * watched key in its shard's registry (del_ts), so only keys someone
 * watches pay for it and an unrelated key never aborts a WATCH. Expiry as
 * in Redis 7.0: a key live at WATCH that has expired since (deleted or
 * not) changed; one already expired at WATCH did not change by being
 * deleted (lazily, actively or by FLUSHDB), only by being recreated.
 *
 * ks_watch_add registers (db, key) (reference-counted, the key copied),
 * sets *live (the key exists unexpired at txn's clock) and returns the
 * version moment: every commit that touched the key so far has ts <= it,
 * every later one > it. ks_watch_changed(since, live) tells whether the
 * key was written or deleted by a commit after since, or expired since
 * (live: what ks_watch_add said); ks_watch_remove drops one reference. All three need the key's shard locked by txn; a
 * registered key must be removed as often as added (lt_db_close frees
 * what is left). */
uint64_t ks_watch_add(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                      int *live);
int ks_watch_changed(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     uint64_t since, int live);
void ks_watch_remove(ks_txn *txn, unsigned dbid, const char *key, size_t klen);
/* Registry slots this thread has examined so far (every lookup: WATCH,
 * EXEC's check, UNWATCH, and each DEL/RENAME/MOVE of a key in a shard with
 * watched keys). Lets tests count the work a lookup costs. */
uint64_t ks_watch_thread_probes(void);

/* ---- Writes ------------------------------------------------------------------- */
#define KS_SET_NOINT 0x1 /* store the bytes as given, never int-encode */

/* Creates or replaces key with a string value (int-encoded when it
 * round-trips, unless KS_SET_NOINT). Returns the new entry. */
ks_entry *ks_set_str(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_ms,
                     int flags);
/* Creates or replaces key with an int-encoded string (in place when the key
 * already holds one: INCR's path). */
ks_entry *ks_set_int(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     int64_t v, int64_t expire_ms);
/* Creates or replaces key with a collection object of type (registered with
 * ks_type_register); takes ownership of obj. */
ks_entry *ks_set_obj(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     int type, void *obj, int64_t expire_ms);
/* Deletes key. LT_OK, or LT_NOTFOUND if it does not exist (or expired). */
int ks_delete(ks_txn *txn, unsigned dbid, const char *key, size_t klen);
/* Sets (when_ms >= 0) or removes (KS_EXPIRE_NONE) key's expiry. A time in
 * the past is stored as is (the caller deletes instead, as Redis does).
 * LT_OK, or LT_NOTFOUND. */
int ks_set_expire(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                  int64_t when_ms);
/* Makes key's string value exactly newlen bytes long and returns it for
 * in-place writing (APPEND, SETRANGE, SETBIT): old bytes kept, new bytes
 * uninitialised; int values become raw. The key must exist as a string.
 * Valid like an entry pointer. Marks the key written. */
char *ks_str_resize(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                    size_t newlen);
/* Returns key's collection object for in-place modification (copied first
 * when an open view still reads the current version). The key must exist
 * with an object value. Marks the key written. */
void *ks_obj_mutable(ks_txn *txn, unsigned dbid, const char *key,
                     size_t klen);
/* Moves the value and expiry of (sdb, skey) to (ddb, dkey), replacing any
 * destination value (RENAME, MOVE: the caller checks NX semantics first).
 * Same key in the same db is a no-op. LT_OK, or LT_NOTFOUND if the source
 * does not exist. */
int ks_rename(ks_txn *txn, unsigned sdb, const char *skey, size_t sklen,
              unsigned ddb, const char *dkey, size_t dklen);

/* ---- Whole databases (txn must lock the databases involved) ---------------- */
/* Removes every key of dbid. Tables are detached in O(1) and freed after the
 * locks are released (unless views are open: then per key). */
void ks_flush_db(ks_txn *txn, unsigned dbid);
/* Swaps the contents of databases a and b (SWAPDB), atomically for other
 * transactions. O(shards), or O(keys) while views are open (views keep
 * seeing the pre-swap contents). */
void ks_swap_db(ks_txn *txn, unsigned a, unsigned b);

/* ---- Iteration without a txn (locks one shard at a time) ------------------- */

/* One SCAN step over dbid from cursor (0 to start; any value is accepted).
 * Calls fn for each live, unexpired key; visits about count keys (a work
 * hint, >= 1). Returns the next cursor, 0 when the iteration is complete.
 * Guarantee (Redis's): a key present during the whole iteration is
 * returned at least once, across rehashing; duplicates are possible. */
uint64_t ks_scan(lt_db *db, unsigned dbid, uint64_t cursor, size_t count,
                 ks_entry_fn *fn, void *ctx);

/* Calls fn once on a random live, unexpired key of dbid (RANDOMKEY).
 * LT_OK, or LT_NOTFOUND if the database is (or looks) empty. */
int ks_random_key(lt_db *db, unsigned dbid, ks_entry_fn *fn, void *ctx);

/* Live keys in dbid (DBSIZE), and keys of them with a TTL. Lock-free sums;
 * exact when no commit runs concurrently. */
uint64_t ks_db_size(lt_db *db, unsigned dbid);
uint64_t ks_db_expires(lt_db *db, unsigned dbid);

/* MEMORY STATS' per-database overhead: *main = the bytes of dbid's hash
 * table bucket arrays plus one entry header per entry in them (current
 * and tombstones; old versions hang off them), *expires = the bytes of the
 * expiry index arrays. Takes each shard's lock in turn, never waiting
 * (a shard locked meanwhile, by anyone, is estimated from its counters),
 * so it may be called with shard locks held. */
void ks_db_overhead(lt_db *db, unsigned dbid, uint64_t *main, uint64_t *expires);
/* Sizes every shard table of dbid for nkeys keys in the database (with
 * slack for the uneven spread of keys over shards), so loading that many
 * never rehashes (dict_reserve). Locks each shard in turn. LT_OK, or
 * LT_NOMEM (the shards sized so far stay sized). */
int ks_db_reserve(lt_db *db, unsigned dbid, uint64_t nkeys);

#endif
