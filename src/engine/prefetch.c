/*
 * prefetch.c — batch prefetch of key lookups (see prefetch.h).
 *
 * Owns no state. Three passes over the batch, each issuing only loads that
 * do not depend on each other, so their misses overlap (one miss time per
 * pass, not per key):
 *   1. per key: find the bucket slot in its shard's table (both tables
 *      while rehashing) from the dict header, which is hot, and prefetch
 *      the slot;
 *   2. per key: read the slot (arrived, or arriving together with the other
 *      keys' slots) and prefetch the chain head's first two lines;
 *   3. per key: when the chain head (arrived by now, or arriving) is not the
 *      key, prefetch the next entry of the chain the same way. At load
 *      factor <= 1 few keys are deeper than that: they are not followed.
 * Invariant: every table or entry read (passes 2 and 3) happens with the
 * shard locked, by the caller's transaction (ks_txn_prefetch) or by
 * ks_prefetch itself.
 * Called by: the server (MGET, EXISTS, the pipeline runner in client.c).
 */
#include "engine/prefetch.h"

#include "common/assert.h"
#include "engine/keyspace_int.h"
#include "engine/mvcc_int.h"

_Static_assert(KS_PREFETCH_MAX <= KS_TXN_HASH_CACHE,
               "a prefetched batch fits the transaction's hash cache");

/* Line size the second prefetch of an entry steps by. */
#define PREFETCH_LINE 64

/* To GCC's interprocedural analysis a prefetch is no side effect, so a
 * function that only loads and prefetches is found "pure" and its calls
 * are deleted, every prefetch with them: noipa keeps it. (Clang keeps
 * prefetches as written.) */
#if defined(__GNUC__) && !defined(__clang__)
#define PREFETCH_KEEP __attribute__((noipa))
#else
#define PREFETCH_KEEP
#endif

PREFETCH_KEEP static void prefetch_batch(lt_db *db, const ks_key *keys, const uint64_t *hashes,
                                         size_t n) {
    ks_entry **slots[KS_VIEW_BATCH_MAX][2];
    for (size_t i = 0; i < n; i++) {
        unsigned shard = ks_shard_of_hash(db, hashes[i]);
        const dict *d = &ks_shard_at(db, keys[i].dbid, shard)->data.d;
        slots[i][0] = dict_slot(d, 0, hashes[i]);
        slots[i][1] = dict_is_rehashing(d) ? dict_slot(d, 1, hashes[i]) : NULL;
        for (int t = 0; t < 2; t++)
            if (slots[i][t]) __builtin_prefetch(slots[i][t]);
    }
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 2; t++) {
            const ks_entry *e = slots[i][t] ? *slots[i][t] : NULL;
            if (!e) continue;
            __builtin_prefetch(e);
            __builtin_prefetch((const char *)e + PREFETCH_LINE);
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < 2; t++) {
            const ks_entry *e = slots[i][t] ? *slots[i][t] : NULL;
            if (!e || entry_key_eq(e, keys[i].key, keys[i].klen) || !e->next) continue;
            __builtin_prefetch(e->next);
            __builtin_prefetch((const char *)e->next + PREFETCH_LINE);
        }
    }
}

void ks_txn_prefetch(ks_txn *txn, const ks_key *keys, size_t n) {
    ASSERT(n <= KS_PREFETCH_MAX);
    uint64_t hashes[KS_PREFETCH_MAX];
    for (size_t i = 0; i < n; i++) hashes[i] = ks_txn_hash(txn, keys[i].key, keys[i].klen);
    ks_txn_prefetch_hashed(txn, keys, hashes, n);
}

void ks_txn_prefetch_hashed(ks_txn *txn, const ks_key *keys, const uint64_t *hashes,
                            size_t n) {
    ASSERT(n <= KS_PREFETCH_MAX);
    /* That txn holds each key's shard is asserted by the lookups that
     * follow (txn_shard), not here too: in a bulk commit the search of
     * the locked set was a tenth of the time. */
    for (size_t i = 0; i < n; i++) ASSERT(keys[i].dbid < txn->db->ndb);
    /* The cache is rewritten only now: the caller may have hashed keys[]
     * through the old one. */
    for (size_t i = 0; i < n; i++) {
        txn->hcache[i].key = keys[i].key;
        txn->hcache[i].klen = keys[i].klen;
        txn->hcache[i].hash = hashes[i];
    }
    txn->nhcache = (uint32_t)n;
    txn->hhint = 0;
    prefetch_batch(txn->db, keys, hashes, n);
}

/* Hashes keys[0..n) into hashes and locks their distinct shards in
 * ascending global id (the transactions' lock order, so this never
 * deadlocks with them); gids receives the shards, returns their count. */
static size_t lock_batch(lt_db *db, const ks_key *keys, size_t n, uint64_t *hashes,
                         uint32_t *gids) {
    ASSERT(n <= KS_VIEW_BATCH_MAX);
    ASSERT(ks_txn_nest_outer() == NULL);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT(keys[i].dbid < db->ndb);
        hashes[i] = ks_hash(db, keys[i].key, keys[i].klen);
        uint32_t g = keys[i].dbid * db->nshards + ks_shard_of_hash(db, hashes[i]);
        size_t pos = ng;
        while (pos > 0 && gids[pos - 1] > g) pos--;
        if (pos > 0 && gids[pos - 1] == g) continue;
        for (size_t j = ng; j > pos; j--) gids[j] = gids[j - 1];
        gids[pos] = g;
        ng++;
    }
    for (size_t j = 0; j < ng; j++) pthread_mutex_lock(&db->shards[gids[j]].lock);
    return ng;
}

static void unlock_batch(lt_db *db, const uint32_t *gids, size_t ng) {
    for (size_t j = ng; j-- > 0;) pthread_mutex_unlock(&db->shards[gids[j]].lock);
}

void ks_prefetch(lt_db *db, const ks_key *keys, size_t n, uint64_t *hashes) {
    ASSERT(n <= KS_PREFETCH_MAX);
    uint32_t gids[KS_PREFETCH_MAX];
    size_t ng = lock_batch(db, keys, n, hashes, gids);
    prefetch_batch(db, keys, hashes, n);
    unlock_batch(db, gids, ng);
}

void ks_view_get_batch(ks_view *v, const ks_key *keys, size_t n, uint64_t *hashes,
                       const ks_entry **out) {
    lt_db *db = v->db;
    uint32_t gids[KS_VIEW_BATCH_MAX];
    size_t ng = lock_batch(db, keys, n, hashes, gids);
    prefetch_batch(db, keys, hashes, n);
    for (size_t i = 0; i < n; i++) {
        ks_shard *sh = ks_shard_at(db, keys[i].dbid, ks_shard_of_hash(db, hashes[i]));
        int table;
        ks_entry **link = dict_find(&sh->data.d, hashes[i], keys[i].key, keys[i].klen, &table);
        out[i] = link ? mvcc_visible(*link, v->ts, v->now_ms) : NULL;
    }
    unlock_batch(db, gids, ng);
}
