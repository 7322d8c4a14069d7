/*
 * expire.c — the per-shard expiry index and the active expiry cycle (see
 * expire.h; lazy expiry is in keyspace.c's ks_lookup).
 *
 * Owns: ks_shard_data.exp[] (entries with a TTL; each entry's expiry block
 * stores its index so removal is O(1) swap-with-last), expiry statistics.
 * Invariant: exp[i]->expblock.idx == i for i < nexp, and exp[] holds exactly
 * the current live versions with an expiry block (maintained by keyspace.c
 * via expire_index_add/remove on every install/remove).
 * Called by: keyspace.c (index), server timer (ks_expire_cycle), INFO.
 */
#include "engine/expire.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "engine/expire_int.h"
#include "engine/keyspace.h"

void expire_index_add(ks_shard *sh, ks_entry *e) {
    ks_shard_data *sd = &sh->data;
    ks_expblock *xb = entry_expblock(e);
    ASSERT(xb && xb->idx == UINT32_MAX);
    if (sd->nexp == sd->capexp) {
        ASSERT(sd->capexp < UINT32_MAX / 2);
        sd->capexp = sd->capexp ? sd->capexp * 2 : 8;
        sd->exp = lt_xrealloc(sd->exp, sd->capexp * sizeof(ks_entry *));
    }
    xb->idx = sd->nexp;
    sd->exp[sd->nexp++] = e;
    atomic_store_explicit(&sh->nexpires, sd->nexp, memory_order_relaxed);
}

void expire_index_remove(ks_shard *sh, ks_entry *e) {
    ks_shard_data *sd = &sh->data;
    ks_expblock *xb = entry_expblock(e);
    ASSERT(xb && xb->idx < sd->nexp && sd->exp[xb->idx] == e);
    ks_entry *last = sd->exp[--sd->nexp];
    if (last != e) {
        sd->exp[xb->idx] = last;
        entry_expblock(last)->idx = xb->idx;
    }
    xb->idx = UINT32_MAX;
    /* Give memory back when the index is mostly empty. */
    if (sd->capexp > 64 && sd->nexp < sd->capexp / 4) {
        sd->capexp /= 2;
        sd->exp = lt_xrealloc(sd->exp, sd->capexp * sizeof(ks_entry *));
    }
    atomic_store_explicit(&sh->nexpires, sd->nexp, memory_order_relaxed);
}

void expire_index_free(ks_shard_data *sd) {
    free(sd->exp);
    sd->exp = NULL;
    sd->nexp = sd->capexp = 0;
}

/* Sampling state of one shard visit. */
typedef struct sample_result {
    unsigned sampled, expired;
    int64_t ttl_sum_ms;
    unsigned ttl_n;
} sample_result;

/* One round on a locked shard: sample up to KS_EXPIRE_SAMPLE TTL keys and
 * delete the expired ones. */
static void expire_round(ks_txn *txn, ks_shard *sh, unsigned dbid,
                         sample_result *r) {
    ks_shard_data *sd = &sh->data;
    unsigned n = sd->nexp < KS_EXPIRE_SAMPLE ? sd->nexp : KS_EXPIRE_SAMPLE;
    for (unsigned i = 0; i < n && sd->nexp > 0; i++) {
        ks_entry *e = sd->exp[lt_random_below(sd->nexp)];
        int64_t when = entry_expblock(e)->when_ms;
        r->sampled++;
        if (txn->now_ms > when) {
            size_t klen;
            const char *key = ks_entry_key(e, &klen);
            int table;
            uint64_t h = ks_hash(txn->db, key, klen);
            ks_entry **link = dict_find(&sd->d, h, key, klen, &table);
            ASSERT(link && *link == e);
            ks_expire_entry(txn, sh, dbid, link, table);
            r->expired++;
        } else {
            r->ttl_sum_ms += when - txn->now_ms;
            r->ttl_n++;
        }
    }
}

static void stats_update(lt_db *db, unsigned dbid, const sample_result *r) {
    if (r->ttl_n) {
        /* Running average as Redis computes avg_ttl. */
        int64_t sample_avg = r->ttl_sum_ms / r->ttl_n;
        int64_t old = atomic_load_explicit(&db->dbstats[dbid].avg_ttl_ms,
                                           memory_order_relaxed);
        int64_t nv = old ? (old / 50) * 49 + sample_avg / 50 : sample_avg;
        atomic_store_explicit(&db->dbstats[dbid].avg_ttl_ms, nv,
                              memory_order_relaxed);
    }
    if (r->sampled) {
        uint64_t cur = (uint64_t)r->expired * 1000 / r->sampled;
        uint64_t old = atomic_load_explicit(&db->stat_expired_stale_permille,
                                            memory_order_relaxed);
        atomic_store_explicit(&db->stat_expired_stale_permille,
                              (cur * 5 + old * 95) / 100, memory_order_relaxed);
    }
}

uint64_t ks_expire_cycle(lt_db *db, unsigned thread_index, unsigned nthreads,
                         uint64_t budget_us) {
    ASSERT(nthreads > 0 && thread_index < nthreads);
    uint64_t start = lt_monotonic_us(), expired = 0;
    unsigned total = db->ndb * db->nshards;
    unsigned owned = (total - thread_index + nthreads - 1) / nthreads;
    if (owned == 0) return 0;
    unsigned first = (unsigned)lt_random_below(owned);
    for (unsigned k = 0; k < owned; k++) {
        unsigned gid = thread_index + ((first + k) % owned) * nthreads;
        ks_shard *sh = &db->shards[gid];
        if (atomic_load_explicit(&sh->nexpires, memory_order_relaxed) == 0)
            continue;
        unsigned dbid = gid / db->nshards;
        ks_txn txn;
        ks_txn_begin_shard(&txn, db, gid);
        sample_result r = {0};
        for (int round = 0; round < KS_EXPIRE_MAX_ROUNDS; round++) {
            sample_result rr = {0};
            expire_round(&txn, sh, dbid, &rr);
            r.sampled += rr.sampled;
            r.expired += rr.expired;
            r.ttl_sum_ms += rr.ttl_sum_ms;
            r.ttl_n += rr.ttl_n;
            if (rr.sampled == 0 ||
                rr.expired * 100 <= rr.sampled * KS_EXPIRE_REPEAT_PERCENT)
                break;
            if (lt_monotonic_us() - start >= budget_us) break;
        }
        dict_shrink_if_needed(&sh->data.d);
        ks_txn_commit(&txn);
        stats_update(db, dbid, &r);
        expired += r.expired;
        if (lt_monotonic_us() - start >= budget_us) break;
    }
    atomic_fetch_add_explicit(&db->stat_expire_cycle_us,
                              lt_monotonic_us() - start, memory_order_relaxed);
    return expired;
}

void ks_expire_get_stats(lt_db *db, ks_expire_stats *st) {
    st->expired_keys = atomic_load(&db->stat_expired_keys);
    st->expired_stale_perc =
        (double)atomic_load(&db->stat_expired_stale_permille) / 10.0;
    st->expire_cycle_time_us = atomic_load(&db->stat_expire_cycle_us);
}

int64_t ks_db_avg_ttl(lt_db *db, unsigned dbid) {
    if (dbid >= db->ndb) return 0;
    return atomic_load_explicit(&db->dbstats[dbid].avg_ttl_ms,
                                memory_order_relaxed);
}
