/*
 * mvcc.c — multi-version concurrency control: commit clock, view registry,
 * version chains and their reclamation (see mvcc.h for the contract).
 *
 * Versions: the hash table holds the current version of each key; an entry's
 * `old` link chains older versions, newest first, each stamped with the
 * commit ts that wrote it. A deleted key whose old version a view may need
 * stays in the table as a tombstone. A view at ts V reads, per key, the
 * first version in the chain with ts <= V (absent if none or a tombstone).
 *
 * Rules (writers, in keyspace.c): a version with ts t may be read by an open
 * view iff some view has V >= t, so a writer replacing it keeps it iff
 * view_max >= t (mvcc_view_may_need). A kept version is never modified or
 * freed while such a view is open: in-place writers copy first, so
 * pointers handed to views stay valid until the view closes.
 * Reclamation: every view has V >= view_min, so in a chain everything older
 * than the first version with ts <= view_min is unreachable and freed; a
 * tombstone with ts <= view_min and no chain is dropped from the table.
 * Pruning runs when a writer touches a chain and in ks_gc_cycle().
 *
 * Called by: keyspace.c (write paths), server (views for snapshots, KEYS,
 * full sync), embedded.c (snapshot transactions).
 */
#include "engine/mvcc.h"

#include <stdlib.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/random.h"
#include "engine/mvcc_int.h"

void mvcc_init(ks_mvcc *m) {
    /* Starts at 1 so every view has ts >= 1 and view_max == 0 means "no
     * view"; the first commit gets ts 2. */
    atomic_init(&m->ts, 1);
    pthread_mutex_init(&m->views_lock, NULL);
    m->head = m->tail = NULL;
    atomic_init(&m->view_max, 0);
    atomic_init(&m->view_min, UINT64_MAX);
    atomic_init(&m->nviews, 0);
}

void mvcc_destroy(ks_mvcc *m) {
    ASSERT(m->head == NULL);
    pthread_mutex_destroy(&m->views_lock);
}

uint64_t mvcc_next_ts(ks_mvcc *m) { return atomic_fetch_add(&m->ts, 1) + 1; }

void ks_mvcc_advance(lt_db *db, uint64_t ts) {
    uint64_t cur = atomic_load(&db->mvcc.ts);
    while (cur < ts && !atomic_compare_exchange_weak(&db->mvcc.ts, &cur, ts)) {
    }
}

int mvcc_view_may_need(ks_mvcc *m, uint64_t version_ts) {
    return atomic_load(&m->view_max) >= version_ts;
}

static void publish_bounds(ks_mvcc *m) {
    if (m->head) {
        atomic_store(&m->view_min, m->head->ts);
        atomic_store(&m->view_max, m->tail->ts);
    } else {
        atomic_store(&m->view_min, UINT64_MAX);
        atomic_store(&m->view_max, 0);
    }
}

void ks_view_open(lt_db *db, ks_view *v) {
    ks_mvcc *m = &db->mvcc;
    pthread_mutex_lock(&m->views_lock);
    /* Conservative bounds first, then read the clock (see keyspace_int.h). */
    atomic_store(&m->view_max, UINT64_MAX);
    if (m->head == NULL) atomic_store(&m->view_min, 0);
    /* Counted before the clock is read: a writer whose commit this view
     * misses sees it in nviews (ks_keep_old compares nviews with the
     * shard's views_done). */
    atomic_fetch_add(&m->nviews, 1);
    v->db = db;
    v->ts = atomic_load(&m->ts);
    v->sequential = 0;
    v->passed = 0;
    v->now_ms = lt_mstime();
    v->next = NULL;
    v->prev = m->tail;
    if (m->tail) m->tail->next = v;
    else m->head = v;
    m->tail = v;
    publish_bounds(m);
    pthread_mutex_unlock(&m->views_lock);
}

void ks_view_close(ks_view *v) {
    ks_mvcc *m = &v->db->mvcc;
    /* Un-pass shards before leaving nviews, so that views_done never
     * counts a view nviews no longer does. */
    for (uint64_t g = 0; g < v->passed; g++) {
        ks_shard *sh = &v->db->shards[g];
        pthread_mutex_lock(&sh->lock);
        ASSERT(sh->views_done > 0);
        sh->views_done--;
        pthread_mutex_unlock(&sh->lock);
    }
    v->passed = 0;
    pthread_mutex_lock(&m->views_lock);
    if (v->prev) v->prev->next = v->next;
    else m->head = v->next;
    if (v->next) v->next->prev = v->prev;
    else m->tail = v->prev;
    v->prev = v->next = NULL;
    atomic_fetch_sub(&m->nviews, 1);
    publish_bounds(m);
    pthread_mutex_unlock(&m->views_lock);
}

const ks_entry *mvcc_visible(const ks_entry *cur, uint64_t ts, int64_t now_ms) {
    for (const ks_entry *e = cur; e; e = e->old) {
        if (e->ts > ts) continue;
        if (entry_is_tomb(e)) return NULL;
        const ks_expblock *xb = entry_expblock(e);
        if (xb && now_ms > xb->when_ms) return NULL;
        return e;
    }
    return NULL;
}

ks_entry *mvcc_prune(ks_mvcc *m, ks_shard *sh, ks_entry **link, int table) {
    ks_entry *cur = *link;
    uint64_t oldest = atomic_load(&m->view_min);
    ks_entry *keep = cur;
    while (keep && keep->ts > oldest) keep = keep->old;
    if (keep) {
        ks_entry *x = keep->old;
        keep->old = NULL;
        while (x) {
            ks_entry *next = x->old;
            entry_free(x);
            ASSERT(sh->data.nversions > 0);
            sh->data.nversions--;
            x = next;
        }
    }
    if (entry_is_tomb(cur) && cur->old == NULL && cur->ts <= oldest) {
        dict_unlink(&sh->data.d, table, link);
        entry_free(cur);
        ASSERT(sh->data.nversions > 0);
        sh->data.nversions--;
        return NULL;
    }
    return cur;
}

const ks_entry *ks_view_get(ks_view *v, unsigned dbid, const char *key,
                            size_t klen) {
    return ks_view_get_hashed(v, dbid, key, klen, ks_hash(v->db, key, klen));
}

const ks_entry *ks_view_get_hashed(ks_view *v, unsigned dbid, const char *key,
                                   size_t klen, uint64_t h) {
    lt_db *db = v->db;
    ASSERT(dbid < db->ndb);
    ks_shard *sh = ks_shard_at(db, dbid, ks_shard_of_hash(db, h));
    int table;
    pthread_mutex_lock(&sh->lock);
    ks_entry **link = dict_find(&sh->data.d, h, key, klen, &table);
    const ks_entry *e = link ? mvcc_visible(*link, v->ts, v->now_ms) : NULL;
    pthread_mutex_unlock(&sh->lock);
    return e;
}

void ks_view_iter_init(ks_view_iter *it, ks_view *v, unsigned dbid) {
    ASSERT(dbid < v->db->ndb);
    it->view = v;
    it->dbid = dbid;
    it->shard = 0;
    it->table = 0;
    it->bucket = 0;
    it->paused = 0;
}

int ks_view_iter_next(ks_view_iter *it, size_t budget, ks_view_fn *fn,
                      void *ctx) {
    lt_db *db = it->view->db;
    uint64_t ts = it->view->ts;
    int64_t now = it->view->now_ms;
    size_t passed = 0, buckets = 0;
    if (budget == 0) budget = 1;

    while (it->shard < db->nshards) {
        ks_shard *sh = ks_shard_at(db, it->dbid, it->shard);
        pthread_mutex_lock(&sh->lock);
        dict *d = &sh->data.d;
        if (!it->paused) {
            /* Entering the shard: freeze entry movement between tables so
             * every key is met exactly once. */
            d->pause++;
            it->paused = 1;
            it->table = 0;
            it->bucket = 0;
        }
        while (it->table < 2) {
            uint64_t n = dict_buckets(d, it->table);
            while (it->bucket < n) {
                for (ks_entry *e = d->table[it->table][it->bucket]; e;
                     e = e->next) {
                    const ks_entry *vis = mvcc_visible(e, ts, now);
                    if (vis) {
                        fn(ctx, vis);
                        passed++;
                    }
                }
                it->bucket++;
                if (passed >= budget || ++buckets >= budget * 10) {
                    pthread_mutex_unlock(&sh->lock);
                    return 1;
                }
            }
            it->table++;
            it->bucket = 0;
        }
        d->pause--;
        it->paused = 0;
        if (it->view->sequential) {
            uint64_t gid = (uint64_t)it->dbid * db->nshards + it->shard;
            ASSERT(gid == it->view->passed);
            sh->views_done++;
            it->view->passed = gid + 1;
        }
        pthread_mutex_unlock(&sh->lock);
        it->shard++;
        it->table = 0;
        if (passed >= budget) return it->shard < db->nshards;
    }
    return 0;
}

void ks_view_iter_close(ks_view_iter *it) {
    if (!it->paused) return;
    ks_shard *sh = ks_shard_at(it->view->db, it->dbid, it->shard);
    pthread_mutex_lock(&sh->lock);
    ASSERT(sh->data.d.pause > 0);
    sh->data.d.pause--;
    pthread_mutex_unlock(&sh->lock);
    it->paused = 0;
}

typedef struct gc_ctx {
    ks_mvcc *m;
    ks_shard *sh;
} gc_ctx;

static void gc_bucket(void *ctx, dict *d, int table, ks_entry **head) {
    gc_ctx *g = ctx;
    (void)d;
    ks_entry **link = head;
    while (*link) {
        ks_entry *e = *link;
        if ((e->old || entry_is_tomb(e)) &&
            mvcc_prune(g->m, g->sh, link, table) == NULL)
            continue; /* *link now holds the next entry */
        link = &(*link)->next;
    }
}

/* Buckets examined per shard lock hold, so writers wait at most that long. */
#define GC_BUCKETS_PER_LOCK 256

uint64_t ks_gc_cycle(lt_db *db, unsigned thread_index, unsigned nthreads,
                     uint64_t budget_us) {
    ASSERT(nthreads > 0 && thread_index < nthreads);
    uint64_t start = lt_monotonic_us(), freed = 0;
    unsigned total = db->ndb * db->nshards;
    unsigned owned = (total - thread_index + nthreads - 1) / nthreads;
    if (owned == 0) return 0;
    unsigned first = (unsigned)lt_random_below(owned);
    gc_ctx g = {.m = &db->mvcc};
    for (unsigned k = 0; k < owned; k++) {
        unsigned gid = thread_index + ((first + k) % owned) * nthreads;
        ks_shard *sh = &db->shards[gid];
        g.sh = sh;
        pthread_mutex_lock(&sh->lock);
        /* A few lock holds per shard, then move on (time-checked). */
        for (int round = 0; round < 4 && sh->data.nversions > 0; round++) {
            uint64_t before = sh->data.nversions;
            for (int b = 0; b < GC_BUCKETS_PER_LOCK; b++) {
                sh->data.gc_cursor =
                    dict_scan(&sh->data.d, sh->data.gc_cursor, gc_bucket, &g);
                if (sh->data.gc_cursor == 0) break;
            }
            freed += before - sh->data.nversions;
            if (sh->data.gc_cursor == 0) break;
        }
        pthread_mutex_unlock(&sh->lock);
        if (lt_monotonic_us() - start >= budget_us) break;
    }
    return freed;
}

void ks_mvcc_get_stats(lt_db *db, ks_mvcc_stats *st) {
    st->last_ts = atomic_load(&db->mvcc.ts);
    st->views = atomic_load(&db->mvcc.nviews);
    st->versions = 0;
    unsigned total = db->ndb * db->nshards;
    for (unsigned g = 0; g < total; g++) {
        pthread_mutex_lock(&db->shards[g].lock);
        st->versions += db->shards[g].data.nversions;
        pthread_mutex_unlock(&db->shards[g].lock);
    }
}
