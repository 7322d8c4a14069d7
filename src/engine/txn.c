/*
 * txn.c — locking transactions (see txn.h).
 *
 * Owns: shard lock acquisition order and release, the lazily assigned
 * commit timestamp, the commit hook call and deferred freeing of flushed
 * tables. Invariant: every lock set is acquired in ascending global shard
 * id (dbid * nshards + shard), so any two transactions are ordered and
 * none waits on another in a cycle.
 * Called by: the server's command execution, keyspace.c (active cycles),
 * embedded.c (commit).
 */
#include "engine/txn.h"

#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "engine/keyspace_int.h"
#include "engine/mvcc_int.h"

static __thread int64_t thread_clock_ms;
static __thread int64_t command_clock_ms;
static __thread ks_txn *nest_outer; /* EXEC's transaction while nesting */

void ks_txn_set_thread_clock(int64_t now_ms) { thread_clock_ms = now_ms; }

static __thread uint64_t thread_stamp;

uint64_t ks_thread_stamp_take(void) {
    uint64_t s = thread_stamp;
    thread_stamp = 0;
    return s;
}

void ks_txn_stamp(ks_txn *txn, uint64_t stamp) {
    while (txn->mode == KS_LOCK_NESTED) txn = txn->outer;
    lt_db *db = txn->db;
    if (txn->mode == KS_LOCK_SHARDS) {
        for (uint16_t i = 0; i < txn->nlocked; i++) {
            ks_shard *sh = &db->shards[txn->locked[i]];
            if (stamp > sh->stamp) sh->stamp = stamp;
        }
        return;
    }
    uint64_t cur = atomic_load_explicit(&db->stamp_wide, memory_order_relaxed);
    while (stamp > cur && !atomic_compare_exchange_weak_explicit(
                              &db->stamp_wide, &cur, stamp, memory_order_release,
                              memory_order_relaxed)) {
    }
}

/* Adds what txn read to the thread's stamp (locks held). */
static void stamp_collect(ks_txn *txn) {
    lt_db *db = txn->db;
    uint64_t s = thread_stamp;
    if (txn->mode == KS_LOCK_SHARDS) {
        for (uint16_t i = 0; i < txn->nlocked; i++) {
            uint64_t st = db->shards[txn->locked[i]].stamp;
            if (st > s) s = st;
        }
        uint64_t w = atomic_load_explicit(&db->stamp_wide, memory_order_acquire);
        if (w > s) s = w;
    } else {
        s = KS_STAMP_ALL;
    }
    thread_stamp = s;
}
void ks_txn_set_command_clock(int64_t now_ms) { command_clock_ms = now_ms; }

void ks_txn_nest_enter(ks_txn *outer) {
    ASSERT(nest_outer == NULL);
    ASSERT(outer->mode != KS_LOCK_NONE && outer->mode != KS_LOCK_NESTED);
    nest_outer = outer;
}

void ks_txn_nest_leave(ks_txn *outer) {
    ASSERT(nest_outer == outer);
    nest_outer = NULL;
}

ks_txn *ks_txn_nest_outer(void) { return nest_outer; }

static void txn_init(ks_txn *txn, lt_db *db, int mode) {
    txn->db = db;
    txn->ts = 0;
    txn->now_ms = thread_clock_ms    ? thread_clock_ms
                  : command_clock_ms ? command_clock_ms
                                     : lt_mstime();
    txn->nwrites = 0;
    txn->mode = (uint8_t)mode;
    txn->lazyfree = KS_LAZYFREE_POLICY;
    txn->nlocked = 0;
    txn->db_lo = txn->db_hi = 0;
    txn->garbage = NULL;
    txn->outer = NULL;
    txn->nhcache = 0;
    txn->hhint = 0;
}

/* Starts txn as a borrower of the thread's outer transaction (the caller
 * ASSERTs the outer one holds what txn will touch). */
static void txn_init_nested(ks_txn *txn, lt_db *db) {
    ks_txn *outer = nest_outer;
    ASSERT(outer->db == db);
    txn_init(txn, db, KS_LOCK_NESTED);
    txn->outer = outer;
    txn->ts = outer->ts;
    txn->now_ms = outer->now_ms; /* one clock for the whole EXEC, as Redis */
}

/* Whether txn (not nested) holds every shard of database dbid. */
static int holds_whole_db(const ks_txn *txn, unsigned dbid) {
    return txn->mode == KS_LOCK_ALL ||
           (txn->mode == KS_LOCK_DBS && (dbid == txn->db_lo || dbid == txn->db_hi));
}

static void lock_range(lt_db *db, unsigned dbid) {
    for (unsigned s = 0; s < db->nshards; s++)
        pthread_mutex_lock(&ks_shard_at(db, dbid, s)->lock);
}

static void unlock_range(lt_db *db, unsigned dbid) {
    for (unsigned s = db->nshards; s-- > 0;)
        pthread_mutex_unlock(&ks_shard_at(db, dbid, s)->lock);
}

void ks_txn_begin_dbs(ks_txn *txn, lt_db *db, unsigned a, unsigned b) {
    ASSERT(a < db->ndb && b < db->ndb);
    if (nest_outer) {
        ASSERT(holds_whole_db(nest_outer, a) && holds_whole_db(nest_outer, b));
        txn_init_nested(txn, db);
        return;
    }
    txn_init(txn, db, KS_LOCK_DBS);
    txn->db_lo = a < b ? a : b;
    txn->db_hi = a < b ? b : a;
    lock_range(db, txn->db_lo);
    if (txn->db_hi != txn->db_lo) lock_range(db, txn->db_hi);
}

void ks_txn_begin_db(ks_txn *txn, lt_db *db, unsigned dbid) {
    ks_txn_begin_dbs(txn, db, dbid, dbid);
}

void ks_txn_begin_all(ks_txn *txn, lt_db *db) {
    if (nest_outer) {
        ASSERT(nest_outer->mode == KS_LOCK_ALL);
        txn_init_nested(txn, db);
        return;
    }
    txn_init(txn, db, KS_LOCK_ALL);
    for (unsigned d = 0; d < db->ndb; d++) lock_range(db, d);
}

void ks_txn_begin(ks_txn *txn, lt_db *db, const ks_key *keys, size_t nkeys) {
    ks_txn_begin_hashed(txn, db, keys, NULL, nkeys);
}

void ks_txn_begin_hashed(ks_txn *txn, lt_db *db, const ks_key *keys,
                         const uint64_t *hashes, size_t nkeys) {
    if (nest_outer) {
        txn_init_nested(txn, db);
        for (size_t i = 0; i < nkeys; i++) {
            ASSERT(keys[i].dbid < db->ndb);
            uint64_t h = hashes ? hashes[i] : ks_hash(db, keys[i].key, keys[i].klen);
            ASSERT(ks_txn_holds(nest_outer, keys[i].dbid, h));
            if (txn->nhcache < KS_TXN_HASH_CACHE) {
                txn->hcache[txn->nhcache].key = keys[i].key;
                txn->hcache[txn->nhcache].klen = keys[i].klen;
                txn->hcache[txn->nhcache].hash = h;
                txn->nhcache++;
            }
        }
        return;
    }
    txn_init(txn, db, KS_LOCK_SHARDS);
    /* A running snapshot writes big collections first rather than have
     * them copied under the lock below (nothing locked yet). */
    if (atomic_load_explicit(&db->mvcc.early_on, memory_order_relaxed))
        mvcc_wait_big_keys(db, keys, hashes, nkeys);
    unsigned dbs[2] = {0, 0};
    int ndbs = 0, overflow = 0, many_dbs = 0;
    for (size_t i = 0; i < nkeys; i++) {
        const ks_key *k = &keys[i];
        ASSERT(k->dbid < db->ndb);
        uint64_t h = hashes ? hashes[i] : ks_hash(db, k->key, k->klen);
        if (txn->nhcache < KS_TXN_HASH_CACHE) {
            txn->hcache[txn->nhcache].key = k->key;
            txn->hcache[txn->nhcache].klen = k->klen;
            txn->hcache[txn->nhcache].hash = h;
            txn->nhcache++;
        }
        if (!(ndbs > 0 && dbs[0] == k->dbid) &&
            !(ndbs > 1 && dbs[1] == k->dbid)) {
            if (ndbs < 2) dbs[ndbs++] = k->dbid;
            else many_dbs = 1;
        }
        if (overflow) continue;
        uint32_t g = k->dbid * db->nshards + ks_shard_of_hash(db, h);
        /* Insertion into the sorted, deduplicated set. */
        uint16_t n = txn->nlocked, pos = n;
        while (pos > 0 && txn->locked[pos - 1] > g) pos--;
        if (pos > 0 && txn->locked[pos - 1] == g) continue;
        if (n == KS_TXN_MAX_SHARDS) {
            overflow = 1;
            continue;
        }
        for (uint16_t j = n; j > pos; j--) txn->locked[j] = txn->locked[j - 1];
        txn->locked[pos] = g;
        txn->nlocked = (uint16_t)(n + 1);
    }
    if (overflow) {
        /* Too many shards to list: lock the whole databases instead. */
        struct ks_txn saved_cache = *txn; /* keep the hash cache */
        if (many_dbs) {
            ks_txn_begin_all(txn, db);
        } else {
            ks_txn_begin_dbs(txn, db, dbs[0], ndbs > 1 ? dbs[1] : dbs[0]);
        }
        memcpy(txn->hcache, saved_cache.hcache, sizeof(txn->hcache));
        txn->nhcache = saved_cache.nhcache;
        return;
    }
    for (uint16_t i = 0; i < txn->nlocked; i++)
        pthread_mutex_lock(&db->shards[txn->locked[i]].lock);
}

void ks_txn_begin_shard(ks_txn *txn, lt_db *db, uint32_t gid) {
    ASSERT(gid < db->ndb * db->nshards);
    ASSERT(nest_outer == NULL); /* the active cycles never run inside EXEC */
    txn_init(txn, db, KS_LOCK_SHARDS);
    txn->locked[0] = gid;
    txn->nlocked = 1;
    pthread_mutex_lock(&db->shards[gid].lock);
}

uint64_t ks_txn_ts(ks_txn *txn) {
    if (txn->ts == 0)
        txn->ts = txn->outer ? ks_txn_ts(txn->outer) : mvcc_next_ts(&txn->db->mvcc);
    return txn->ts;
}

/* Ends a nested transaction: its writes and garbage become the outer's. */
static uint64_t commit_nested(ks_txn *txn) {
    ks_txn *outer = txn->outer;
    ASSERT(outer == nest_outer);
    outer->nwrites += txn->nwrites;
    while (txn->garbage) {
        struct ks_garbage *g = txn->garbage;
        txn->garbage = g->next;
        g->next = outer->garbage;
        outer->garbage = g;
    }
    txn->mode = KS_LOCK_NONE;
    txn->outer = NULL;
    return txn->nwrites ? txn->ts : 0;
}

uint64_t ks_txn_commit(ks_txn *txn) {
    lt_db *db = txn->db;
    ASSERT(txn->mode != KS_LOCK_NONE);
    if (txn->mode == KS_LOCK_NESTED) return commit_nested(txn);
    if (txn->nwrites > 0 && db->hooks.commit) {
        ks_txn_ts(txn);
        db->hooks.commit(db->hooks.ctx, txn);
    }
    stamp_collect(txn);
    switch (txn->mode) {
    case KS_LOCK_SHARDS:
        for (uint16_t i = txn->nlocked; i-- > 0;)
            pthread_mutex_unlock(&db->shards[txn->locked[i]].lock);
        break;
    case KS_LOCK_DBS:
        if (txn->db_hi != txn->db_lo) unlock_range(db, txn->db_hi);
        unlock_range(db, txn->db_lo);
        break;
    case KS_LOCK_ALL:
        for (unsigned d = db->ndb; d-- > 0;) unlock_range(db, d);
        break;
    default:
        ASSERT_NOT_REACHED();
    }
    txn->mode = KS_LOCK_NONE;
    if (txn->garbage) {
        ks_garbage_release(txn->garbage);
        txn->garbage = NULL;
    }
    return txn->nwrites ? txn->ts : 0;
}

void ks_txn_set_lazyfree(ks_txn *txn, int mode) { txn->lazyfree = (uint8_t)mode; }

int ks_txn_holds(const ks_txn *txn, unsigned dbid, uint64_t hash) {
    const lt_db *db = txn->db;
    switch (txn->mode) {
    case KS_LOCK_NESTED:
        return ks_txn_holds(txn->outer, dbid, hash);
    case KS_LOCK_ALL:
        return 1;
    case KS_LOCK_DBS:
        return dbid == txn->db_lo || dbid == txn->db_hi;
    case KS_LOCK_SHARDS: {
        /* Branch-free search (conditional moves): called per key access
         * by the ASSERTs of big transactions, where a branchy search's
         * mispredictions cost ~15% of a bulk commit. */
        uint32_t g = dbid * db->nshards + ks_shard_of_hash(db, hash);
        const uint32_t *base = txn->locked;
        uint32_t n = txn->nlocked;
        if (n == 0) return 0;
        while (n > 1) {
            uint32_t half = n / 2;
            base = base[half] <= g ? base + half : base;
            n -= half;
        }
        return *base == g;
    }
    default:
        return 0;
    }
}

int ks_txn_holds_db(const ks_txn *txn, unsigned dbid) {
    if (txn->mode == KS_LOCK_NESTED) return ks_txn_holds_db(txn->outer, dbid);
    return holds_whole_db(txn, dbid);
}

int ks_txn_holds_all(const ks_txn *txn) {
    if (txn->mode == KS_LOCK_NESTED) return ks_txn_holds_all(txn->outer);
    return txn->mode == KS_LOCK_ALL;
}

uint64_t ks_txn_hash(ks_txn *txn, const char *key, size_t klen) {
    uint32_t n = txn->nhcache, i = txn->hhint;
    for (uint32_t k = 0; k < n; k++, i = i + 1 < n ? i + 1 : 0)
        if (txn->hcache[i].key == key && txn->hcache[i].klen == klen) {
            txn->hhint = i + 1 < n ? i + 1 : 0;
            return txn->hcache[i].hash;
        }
    return ks_hash(txn->db, key, klen);
}
