/*
 * evict.c — maxmemory victims: sampling, the candidate pool, deletion (see
 * evict.h for the contract).
 *
 * Owns: lt_db.evpool, KS_EVPOOL_SIZE candidates ordered by score ascending
 * (the best, to evict first, last), each with a copy of its key; under
 * pool->lock. Scores: idle seconds (LRU), 255 - decayed counter (LFU),
 * UINT64_MAX - expiry ms (TTL), adaptive.c's score (adaptive). A candidate
 * may be stale (key gone, rewritten, TTL removed): deletion re-checks the
 * key and skips it. Also owned: the adaptive policy's state (made on the
 * first adaptive eviction, published in lt_db.adapt_live while the policy
 * is adaptive) and a hint of which databases hold keys (refreshed every
 * COUNT_REFRESH_CALLS calls, and at once when a call finds nothing).
 * Sampling takes `samples` entries from consecutive buckets of one random
 * shard per database (Redis's dictGetSomeKeys, with its jump to a new
 * random bucket after a run of empty ones), not one random probe per key:
 * the probes were most of an evicting write's cost.
 *
 * Lock order: the pool lock is never held while a shard lock is taken for
 * a deletion (sampling takes a shard lock, then the pool lock, as writers
 * of candidates; deletion pops a candidate, drops the pool lock, then runs
 * its own one-key transaction).
 * Called by: the server (src/server/evict.c), from any worker thread.
 */
#include "engine/evict.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "engine/adaptive.h"
#include "engine/dict.h"
#include "engine/entry_int.h"
#include "engine/keyspace_int.h"
#include "engine/txn.h"

typedef struct evcand {
    uint64_t score;
    unsigned dbid;
    unsigned lfu; /* counter when sampled (the adaptive policy's ghost) */
    const ks_entry *ent; /* the version sampled: identity only, never read */
    size_t klen, cap;
    char *key; /* malloc'd, cap bytes */
} evcand;

typedef struct ks_evpool {
    pthread_mutex_t lock;
    int n;
    evcand c[KS_EVPOOL_SIZE];
    unsigned next_db; /* random policies: databases in turn */
    ks_adapt *adapt;  /* adaptive policies: made on first use, kept */
    /* Which databases have keys (with a TTL) — summing every shard's count
     * for every database on every call cost more than the sampling — as
     * of the last refresh; refreshed every COUNT_REFRESH_CALLS calls and
     * whenever a call found nothing with them. */
    unsigned calls;
    uint8_t *has_keys, *has_ttl; /* ndb each, malloc'd */
} ks_evpool;

#define COUNT_REFRESH_CALLS 1024

static pthread_mutex_t pool_create_lock = PTHREAD_MUTEX_INITIALIZER;

static ks_evpool *pool_of(lt_db *db) {
    ks_evpool *p = __atomic_load_n(&db->evpool, __ATOMIC_ACQUIRE);
    if (p) return p;
    pthread_mutex_lock(&pool_create_lock);
    p = db->evpool;
    if (!p) {
        p = lt_xcalloc(1, sizeof(*p));
        pthread_mutex_init(&p->lock, NULL);
        __atomic_store_n(&db->evpool, p, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&pool_create_lock);
    return p;
}

void ks_evpool_free(lt_db *db) {
    ks_evpool *p = db->evpool;
    if (!p) return;
    for (int i = 0; i < KS_EVPOOL_SIZE; i++) free(p->c[i].key);
    free(p->has_keys);
    free(p->has_ttl);
    atomic_store(&db->adapt_live, NULL);
    if (p->adapt) ks_adapt_free(p->adapt);
    pthread_mutex_destroy(&p->lock);
    free(p);
    db->evpool = NULL;
}

int ks_evict_policy_is_lfu(int policy) {
    return policy == KS_EVICT_VOLATILE_LFU || policy == KS_EVICT_ALLKEYS_LFU;
}

static int policy_volatile(int policy) {
    return policy <= KS_EVICT_VOLATILE_TTL || policy == KS_EVICT_VOLATILE_ADAPTIVE;
}

static int policy_adaptive(int policy) {
    return policy == KS_EVICT_VOLATILE_ADAPTIVE || policy == KS_EVICT_ALLKEYS_ADAPTIVE;
}

uint64_t ks_evicted_keys(lt_db *db) {
    return atomic_load_explicit(&db->stat_evicted_keys, memory_order_relaxed);
}

void ks_evicted_keys_reset(lt_db *db) {
    atomic_store_explicit(&db->stat_evicted_keys, 0, memory_order_relaxed);
}

static uint64_t score_of(const ks_evpool *p, const ks_entry *e, int policy, int64_t now_ms) {
    switch (policy) {
    case KS_EVICT_VOLATILE_ADAPTIVE:
    case KS_EVICT_ALLKEYS_ADAPTIVE:
        return ks_adapt_score(p->adapt, e, now_ms);
    case KS_EVICT_VOLATILE_TTL:
        return UINT64_MAX - (uint64_t)entry_expblock(e)->when_ms;
    case KS_EVICT_VOLATILE_LFU:
    case KS_EVICT_ALLKEYS_LFU:
        return 255 - ks_entry_lfu(e, now_ms);
    default:
        return ks_entry_idle_s(e, now_ms);
    }
}

/* Redis's evictionPoolPopulate for one candidate: insert in score order;
 * when full, the worst is dropped (or the candidate, if worse than all).
 * Pool locked. */
static void pool_insert(ks_evpool *p, unsigned dbid, const ks_entry *e, uint64_t score,
                        unsigned lfu) {
    const char *key = entry_keyp(e);
    /* Already a candidate: the same version (compared by address, not by
     * key — that memcmp was a tenth of an evicting SET's time; a reused
     * address or a rewritten key can at worst skip or double a candidate,
     * and a deletion re-checks the key). */
    for (int i = 0; i < p->n; i++)
        if (p->c[i].ent == e) return;
    int k = 0;
    while (k < p->n && p->c[k].score < score) k++;
    if (k == 0 && p->n == KS_EVPOOL_SIZE) return; /* worse than every one */
    evcand spare;
    if (p->n < KS_EVPOOL_SIZE) {
        spare = p->c[p->n]; /* an unused slot (keeps its buffer) */
        memmove(&p->c[k + 1], &p->c[k], sizeof(evcand) * (size_t)(p->n - k));
        p->n++;
    } else {
        /* Full: drop the worst (index 0), shift left up to k. */
        spare = p->c[0];
        k--;
        memmove(&p->c[0], &p->c[1], sizeof(evcand) * (size_t)k);
    }
    if (spare.cap < e->klen) {
        free(spare.key);
        spare.cap = e->klen < 64 ? 64 : e->klen;
        spare.key = lt_xmalloc(spare.cap);
    }
    memcpy(spare.key, key, e->klen);
    spare.klen = e->klen;
    spare.dbid = dbid;
    spare.ent = e;
    spare.lfu = lfu;
    spare.score = score;
    p->c[k] = spare;
}

/* Draws per sample: while a snapshot runs, deleted keys stay in the table
 * as tombstones for it, and may be most of what a draw finds. */
#define SAMPLE_TRIES 16

/* A random live entry of shard sh (volatile: one with a TTL), or NULL.
 * Shard locked. */
static ks_entry *sample_one(ks_shard *sh, int vol) {
    if (vol) {
        if (!sh->data.nexp) return NULL;
        return sh->data.exp[lt_random_below(sh->data.nexp)];
    }
    for (int i = 0; i < SAMPLE_TRIES; i++) {
        int table;
        ks_entry **link = dict_random(&sh->data.d, &table);
        if (!link) return NULL;
        if (!entry_is_tomb(*link)) return *link;
    }
    /* Mostly tombstones: the first live entry from a random bucket (the
     * shard has live keys: the caller saw nkeys > 0). Bounded by the
     * shard's table. */
    dict *d = &sh->data.d;
    for (int t = 0; t < 2; t++) {
        uint64_t n = dict_buckets(d, t);
        if (!n) continue;
        uint64_t start = lt_random_below(n);
        for (uint64_t i = 0; i < n; i++)
            for (ks_entry *e = d->table[t][(start + i) & (n - 1)]; e; e = e->next)
                if (!entry_is_tomb(e)) return e;
    }
    return NULL;
}

/* A random non-empty shard of database dbid (bounded tries), or NULL. */
static ks_shard *random_shard(lt_db *db, unsigned dbid, int vol) {
    for (int tries = 0; tries < 16; tries++) {
        ks_shard *sh = ks_shard_at(db, dbid, (unsigned)lt_random_below(db->nshards));
        uint64_t n = vol ? atomic_load_explicit(&sh->nexpires, memory_order_relaxed)
                         : atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
        if (n) return sh;
    }
    /* Sparse database: the first non-empty shard from a random start. */
    unsigned start = (unsigned)lt_random_below(db->nshards);
    for (unsigned i = 0; i < db->nshards; i++) {
        ks_shard *sh = ks_shard_at(db, dbid, (start + i) % db->nshards);
        uint64_t n = vol ? atomic_load_explicit(&sh->nexpires, memory_order_relaxed)
                         : atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
        if (n) return sh;
    }
    return NULL;
}

/* Up to n live entries of shard sh (volatile: with a TTL) into out[], as
 * Redis's dictGetSomeKeys: from a random bucket on, consecutive buckets
 * (one random memory access, then sequential ones), at most 8n + 32
 * buckets visited; a run of more than max(n, 4) buckets with no live entry
 * jumps to another random bucket, as Redis's does. Without the jump,
 * sampling is biased toward the keys just after empty runs: it evicts
 * them, the runs grow, and after a large eviction (CONFIG SET maxmemory
 * lower) a shard with a few hundred keys in thousands of buckets gave whole
 * windows of nothing: -OOM with keys to evict, and the slow refresh path on
 * every evicting write. If all that finds nothing in a non-empty table,
 * the first live entry from a random bucket (bounded by the table), so a
 * shard with keys always gives one. A volatile shard gives n consecutive
 * entries of its expiry index from a random position. Shard locked.
 * Returns how many. */
static int sample_some(ks_shard *sh, int vol, ks_entry **out, int n) {
    if (vol) {
        uint32_t nexp = sh->data.nexp;
        if (!nexp) return 0;
        uint32_t start = (uint32_t)lt_random_below(nexp);
        int k = 0;
        for (uint32_t i = 0; i < nexp && k < n; i++) out[k++] = sh->data.exp[(start + i) % nexp];
        return k;
    }
    dict *d = &sh->data.d;
    if (dict_size(d) == 0) return 0;
    int k = 0;
    unsigned maxempty = n > 4 ? (unsigned)n : 4;
    for (int t = 0; t < 2 && k < n; t++) {
        uint64_t nb = dict_buckets(d, t);
        if (!nb) continue;
        uint64_t lo = (t == 0 && dict_is_rehashing(d)) ? (uint64_t)d->rehashidx : 0;
        if (lo >= nb) continue;
        uint64_t i = lo + lt_random_below(nb - lo);
        unsigned empty = 0;
        for (uint64_t steps = 0; steps < 8 * (uint64_t)n + 32 && k < n; steps++) {
            int before = k;
            for (ks_entry *e = d->table[t][i]; e && k < n; e = e->next)
                if (!entry_is_tomb(e)) out[k++] = e;
            if (k > before) {
                empty = 0;
            } else if (++empty > maxempty) {
                i = lo + lt_random_below(nb - lo);
                empty = 0;
                continue;
            }
            if (++i == nb) i = lo;
        }
    }
    if (k == 0) {
        for (int t = 0; t < 2; t++) {
            uint64_t nb = dict_buckets(d, t);
            uint64_t lo = (t == 0 && dict_is_rehashing(d)) ? (uint64_t)d->rehashidx : 0;
            if (!nb || lo >= nb) continue;
            uint64_t start = lo + lt_random_below(nb - lo);
            for (uint64_t j = 0; j < nb - lo; j++) {
                uint64_t b = lo + (start - lo + j) % (nb - lo);
                for (ks_entry *e = d->table[t][b]; e; e = e->next)
                    if (!entry_is_tomb(e)) {
                        out[0] = e;
                        return 1;
                    }
            }
        }
    }
    return k;
}

static uint64_t db_count(lt_db *db, unsigned dbid, int vol) {
    uint64_t n = 0;
    for (unsigned s = 0; s < db->nshards; s++) {
        ks_shard *sh = ks_shard_at(db, dbid, s);
        n += vol ? atomic_load_explicit(&sh->nexpires, memory_order_relaxed)
                 : atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
    }
    return n;
}

/* Recomputes which databases have keys (and keys with a TTL). Pool locked. */
static void counts_refresh(lt_db *db, ks_evpool *p) {
    if (!p->has_keys) {
        p->has_keys = lt_xcalloc(db->ndb, 1);
        p->has_ttl = lt_xcalloc(db->ndb, 1);
    }
    for (unsigned dbid = 0; dbid < db->ndb; dbid++) {
        __atomic_store_n(&p->has_keys[dbid], db_count(db, dbid, 0) != 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p->has_ttl[dbid], db_count(db, dbid, 1) != 0, __ATOMIC_RELAXED);
    }
    p->calls = 0;
}

/* Deletes dbid/key in a one-key transaction; returns freed bytes, 0 (the
 * key is gone or changed) or KS_EVICT_REFUSED (the hook could not record
 * the deletion: the key stays). */
static size_t evict_key(lt_db *db, unsigned dbid, const char *key, size_t klen, int vol) {
    ks_key k = {.dbid = dbid, .key = key, .klen = klen};
    ks_txn txn;
    ks_txn_begin(&txn, db, &k, 1);
    size_t freed = ks_evict_key(&txn, dbid, key, klen, vol);
    ks_txn_commit(&txn);
    return freed;
}

static int evict_random(lt_db *db, ks_evpool *p, int vol, size_t *freed) {
    /* The databases in turn from where the last call started (a shared
     * counter, taken once: stepping it per database would let threads
     * interleave so that one never meets the database holding the keys);
     * a few passes, since a key another thread evicted first is no reason
     * to give up. */
    pthread_mutex_lock(&p->lock);
    unsigned start = p->next_db++;
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < 4 * db->ndb; i++) {
        unsigned dbid = (start + i) % db->ndb;
        if (!db_count(db, dbid, vol)) continue;
        ks_shard *sh = random_shard(db, dbid, vol);
        if (!sh) continue;
        char stack[128], *key = stack;
        size_t klen = 0;
        pthread_mutex_lock(&sh->lock);
        ks_entry *e = sample_one(sh, vol);
        if (e) {
            klen = e->klen;
            if (klen > sizeof(stack)) key = lt_xmalloc(klen);
            memcpy(key, entry_keyp(e), klen);
        }
        pthread_mutex_unlock(&sh->lock);
        size_t f = e ? evict_key(db, dbid, key, klen, vol) : 0;
        if (key != stack) free(key);
        if (f == KS_EVICT_REFUSED) return -1;
        if (f) {
            *freed = f;
            return 1;
        }
    }
    return 0;
}

int ks_evict_one(lt_db *db, int policy, int samples, size_t *freed) {
    *freed = 0;
    if (policy == KS_EVICT_NOEVICTION) return 0;
    int vol = policy_volatile(policy);
    ks_evpool *p = pool_of(db);
    /* The adaptive state exists from the first adaptive eviction on, and
     * is live (new keys consult it) while the policy is adaptive. */
    ks_adapt *live = NULL;
    if (policy_adaptive(policy)) {
        pthread_mutex_lock(&p->lock);
        if (!p->adapt) p->adapt = ks_adapt_new();
        live = p->adapt;
        pthread_mutex_unlock(&p->lock);
    }
    if (atomic_load_explicit(&db->adapt_live, memory_order_relaxed) != live)
        atomic_store_explicit(&db->adapt_live, live, memory_order_release);
    if (policy == KS_EVICT_ALLKEYS_RANDOM || policy == KS_EVICT_VOLATILE_RANDOM)
        return evict_random(db, p, vol, freed);
    if (samples < 1) samples = 1;
    if (samples > 64) samples = 64; /* maxmemory-samples has no upper bound */
    int64_t now = lt_mstime();
    pthread_mutex_lock(&p->lock);
    if (!p->has_keys || ++p->calls >= COUNT_REFRESH_CALLS) counts_refresh(db, p);
    pthread_mutex_unlock(&p->lock);
    /* A few rounds: a round whose best candidates were all stale (deleted
     * or rewritten by others meanwhile) samples again. */
    int refreshed = 0;
    for (int round = 0; round < 4; round++) {
        int any = 0;
        for (unsigned dbid = 0; dbid < db->ndb; dbid++) {
            /* Racy read of a hint: a stale one costs a skipped database
             * (until the refresh below) or an empty draw. */
            if (!__atomic_load_n(vol ? &p->has_ttl[dbid] : &p->has_keys[dbid], __ATOMIC_RELAXED))
                continue;
            ks_shard *sh = random_shard(db, dbid, vol);
            if (!sh) continue;
            ks_entry *got[64];
            pthread_mutex_lock(&sh->lock);
            int k = sample_some(sh, vol, got, samples);
            pthread_mutex_lock(&p->lock);
            for (int i = 0; i < k; i++)
                pool_insert(p, dbid, got[i], score_of(p, got[i], policy, now),
                            ks_entry_lfu(got[i], now));
            pthread_mutex_unlock(&p->lock);
            pthread_mutex_unlock(&sh->lock);
            any |= k > 0;
        }
        if (!any && !refreshed) { /* the hints may be stale: once more, fresh */
            pthread_mutex_lock(&p->lock);
            counts_refresh(db, p);
            pthread_mutex_unlock(&p->lock);
            refreshed = 1;
            round--;
            continue;
        }
        if (!any) return 0;
        /* The best candidates first; each popped before it is tried. */
        for (;;) {
            pthread_mutex_lock(&p->lock);
            if (p->n == 0) {
                pthread_mutex_unlock(&p->lock);
                break;
            }
            evcand c = p->c[--p->n];
            /* Its buffer goes to a fresh copy: the slot keeps one. */
            char stack[128], *key = stack;
            if (c.klen > sizeof(stack)) key = lt_xmalloc(c.klen);
            memcpy(key, c.key, c.klen);
            pthread_mutex_unlock(&p->lock);
            size_t f = evict_key(db, c.dbid, key, c.klen, vol);
            if (f && f != KS_EVICT_REFUSED && live)
                ks_adapt_evicted(live, c.dbid, ks_hash(db, key, c.klen), c.lfu);
            if (key != stack) free(key);
            if (f == KS_EVICT_REFUSED) return -1; /* sampled again later */
            if (f) {
                *freed = f;
                return 1;
            }
        }
    }
    return 0;
}
