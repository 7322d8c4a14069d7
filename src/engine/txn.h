/*
 * txn.h — the engine's locking transaction, what every server command runs
 * in. Stack-allocated (no heap allocation per command).
 *
 * A ks_txn is begun over a declared key set (or whole databases): the
 * engine maps keys to shards, sorts and dedups the global shard ids and
 * locks them in ascending order (so transactions never deadlock), holds the
 * locks until ks_txn_commit(). Inside, keyspace.h operations act on keys
 * whose shard is locked (checked by ASSERT). Writes apply immediately (no
 * rollback: commands validate before writing, as in Redis); the commit
 * timestamp is taken from the global clock at the first write, and is what
 * MVCC views and WATCH compare.
 *
 * Thread-safety: a ks_txn belongs to one thread; any number of transactions
 * on disjoint shards run in parallel.
 */
#ifndef LT_ENGINE_TXN_H
#define LT_ENGINE_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "lightning.h"

/* Distinct shards a key-set transaction locks individually; more keys than
 * that lock whole databases instead (same ordering rule). */
#define KS_TXN_MAX_SHARDS 64
/* Key hashes remembered from begin (or ks_txn_prefetch) so lookups of the
 * same key bytes (same pointer and length, e.g. the command's argv) do not
 * hash again. 16 covers the multi-key reads clients batch (MGET of 10). */
#define KS_TXN_HASH_CACHE 16

typedef struct ks_key {
    unsigned dbid;
    const char *key;
    size_t klen;
} ks_key;

/* KS_LOCK_NESTED: begun inside an outer transaction (see "Nesting"): it
 * holds no lock of its own and borrows the outer one's. */
enum { KS_LOCK_NONE = 0, KS_LOCK_SHARDS, KS_LOCK_DBS, KS_LOCK_ALL, KS_LOCK_NESTED };

struct ks_garbage;

typedef struct ks_txn {
    lt_db *db;
    uint64_t ts;       /* commit ts; 0 until the first write */
    int64_t now_ms;    /* clock for expiry decisions, fixed at begin */
    uint32_t nwrites;  /* logical writes so far (commit hook if > 0) */
    uint8_t mode;      /* KS_LOCK_* */
    uint8_t lazyfree;  /* KS_LAZYFREE_*: how values this txn drops are freed */
    uint16_t nlocked;  /* KS_LOCK_SHARDS: entries used in locked[] */
    unsigned db_lo, db_hi; /* KS_LOCK_DBS: the (at most two) databases */
    struct ks_garbage *garbage; /* detached tables, freed after unlock */
    struct ks_txn *outer; /* KS_LOCK_NESTED: the transaction lending locks */
    struct {
        const char *key;
        size_t klen;
        uint64_t hash;
    } hcache[KS_TXN_HASH_CACHE];
    uint32_t nhcache;
    uint32_t hhint; /* where the next hcache search starts (lookups tend to
                       come in the order the keys were cached) */
    uint32_t locked[KS_TXN_MAX_SHARDS]; /* global shard ids, ascending */
} ks_txn;

/* Locks the shards of keys[0..nkeys) (dbid < databases; nkeys may be 0 for a
 * transaction that touches nothing). The keys array is read during the call
 * only; the hashes of the first KS_TXN_HASH_CACHE keys are remembered by
 * pointer, so those key bytes must not change until commit. Never fails;
 * blocks while other transactions hold the shards. */
void ks_txn_begin(ks_txn *txn, lt_db *db, const ks_key *keys, size_t nkeys);
/* ks_txn_begin with hashes[i] the keyspace hash of keys[i] as ks_prefetch
 * (prefetch.h) returned it, so no key is hashed again. hashes is read
 * during the call only. */
void ks_txn_begin_hashed(ks_txn *txn, lt_db *db, const ks_key *keys,
                         const uint64_t *hashes, size_t nkeys);
/* Locks every shard of database dbid (FLUSHDB, KEYS over a lock, ...). */
void ks_txn_begin_db(ks_txn *txn, lt_db *db, unsigned dbid);
/* Locks every shard of databases a and b (SWAPDB; a may equal b). */
void ks_txn_begin_dbs(ks_txn *txn, lt_db *db, unsigned a, unsigned b);
/* Locks every shard of every database (FLUSHALL). */
void ks_txn_begin_all(ks_txn *txn, lt_db *db);

/* How a transaction frees the values it deletes, replaces or flushes
 * (lazyfree.h): KS_LAZYFREE_POLICY (the default: lazyfree-lazy-server-del,
 * or lazyfree-lazy-expire for expired keys) or KS_LAZYFREE_ALWAYS (UNLINK,
 * FLUSH ASYNC, DEL under lazyfree-lazy-user-del). KS_LAZYFREE_EXPIRE and
 * KS_LAZYFREE_EVICT are internal (expiry, eviction: their own directives).
 * Set right after begin. */
enum { KS_LAZYFREE_POLICY = 0, KS_LAZYFREE_ALWAYS = 1, KS_LAZYFREE_EXPIRE = 2, KS_LAZYFREE_EVICT = 3 };
void ks_txn_set_lazyfree(ks_txn *txn, int mode);

/* Nesting (EXEC). Between ks_txn_nest_enter(outer) and
 * ks_txn_nest_leave(outer) on a thread, every ks_txn_begin* on that thread
 * (and ks_scan / ks_random_key) runs inside outer: it takes no lock but
 * ASSERTs that outer holds every shard it asks for, shares outer's commit
 * ts and clock, and its ks_txn_commit only hands its writes and garbage to
 * outer (no commit hook, no unlock). So a command handler runs unchanged
 * inside a transaction that spans several commands, whose single
 * ks_txn_commit calls the hook once. outer must be begun (not nested) and
 * stays owned by the caller; nests do not stack. */
void ks_txn_nest_enter(ks_txn *outer);
void ks_txn_nest_leave(ks_txn *outer);
/* The thread's outer transaction while nesting, else NULL. */
ks_txn *ks_txn_nest_outer(void);

/* Replay clock: while set (non-zero) on a thread, transactions begun on it
 * take now_ms from it instead of the wall clock, so a replayed WAL record
 * makes the expiry decisions its original commit made. 0 restores the wall
 * clock. Thread-local; used by recovery only. */
void ks_txn_set_thread_clock(int64_t now_ms);
/* Command clock: while set (non-zero) on a thread, and no replay clock is,
 * transactions begun on it take now_ms from it instead of reading the wall
 * clock. The server sets it to the time its running command started (Redis
 * too decides every expiry of one command at one cached time), so the one
 * clock read that times the command also dates its transactions; 0 after
 * the command. Thread-local. */
void ks_txn_set_command_clock(int64_t now_ms);

/* Commit timestamp, taken now if the transaction has not written yet
 * (callers that must log a ts for a write-free command use this). */
uint64_t ks_txn_ts(ks_txn *txn);

/* Ends the transaction: if it wrote, calls the commit hook (keyspace.h,
 * under the locks: the future WAL append point), then unlocks in reverse
 * order and frees detached data (flushed tables) outside the locks.
 * Returns the commit ts, 0 if nothing was written. txn is finished after. */
uint64_t ks_txn_commit(ks_txn *txn);

/* Stamps (durability of what a reply depends on). A stamp is an opaque
 * increasing number the caller attaches to a commit (the server: the end
 * LSN of its WAL record). ks_txn_stamp, called from the commit hook with
 * the locks held, records it on every shard txn holds (on the outer
 * transaction's shards when nested; a whole-database transaction records
 * it for all shards). Every non-nested ks_txn_commit on a thread — reads
 * included — adds the highest stamp of the shards it held to the thread's
 * running maximum, or KS_STAMP_ALL when it held whole databases; a reader
 * that saw a write therefore sees its stamp. ks_thread_stamp_take returns
 * that maximum and resets it (0: nothing stamped was read). Cost: one load
 * per locked shard at commit. */
#define KS_STAMP_ALL UINT64_MAX
void ks_txn_stamp(ks_txn *txn, uint64_t stamp);
uint64_t ks_thread_stamp_take(void);

/* Whether the shard of (dbid, hash) is locked by txn (for ASSERTs). */
int ks_txn_holds(const ks_txn *txn, unsigned dbid, uint64_t hash);
/* Whether txn holds every shard of database dbid / of every database
 * (nested: the outer transaction's locks). */
int ks_txn_holds_db(const ks_txn *txn, unsigned dbid);
int ks_txn_holds_all(const ks_txn *txn);
/* Hash of key as the keyspace computes it, from the txn cache if present. */
uint64_t ks_txn_hash(ks_txn *txn, const char *key, size_t klen);

#endif
