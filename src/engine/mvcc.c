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
 * Bound: every shard's nversions is mirrored in one db-wide count; past
 * ks_mvcc_set_max_pinned's bound the oldest view that is not sequential is
 * doomed (its owner sees ks_view_doomed() and closes it; nothing it holds
 * is freed before that). Big collections a snapshot has yet to write are
 * written first when a writer needs them instead of being copied under the
 * shard lock (mvcc.h, "Big collections written first").
 *
 * Called by: keyspace.c (write paths), server (views for snapshots, KEYS,
 * full sync), embedded.c (snapshot transactions).
 */
#include "engine/mvcc.h"

#include <stdlib.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "engine/dict.h"
#include "engine/entry_int.h"
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
    atomic_init(&m->versions, 0);
    atomic_init(&m->max_versions, 0);
    atomic_init(&m->ndoomed_open, 0);
    atomic_init(&m->ndoomed_total, 0);
    pthread_mutex_init(&m->early_lock, NULL);
    pthread_cond_init(&m->early_cond, NULL);
    m->early_view = NULL;
    atomic_init(&m->early_on, 0);
    atomic_init(&m->early_ndone, 0);
    atomic_init(&m->early_writes, 0);
    atomic_init(&m->cow_bytes, 0);
}

void ks_mvcc_set_max_pinned(lt_db *db, uint64_t max_versions) {
    atomic_store(&db->mvcc.max_versions, max_versions);
}

int ks_view_doomed(const ks_view *v) { return __atomic_load_n(&v->doomed, __ATOMIC_ACQUIRE); }

/* Dooms the oldest open view that is not sequential, unless one doomed
 * view is still open (it pins what made the count pass the bound: dooming
 * more would not free anything sooner). */
static void doom_oldest_view(ks_mvcc *m) {
    if (atomic_load(&m->ndoomed_open)) return;
    pthread_mutex_lock(&m->views_lock);
    if (atomic_load(&m->ndoomed_open) == 0)
        for (ks_view *v = m->head; v; v = v->next)
            if (!v->sequential && !v->doomed) {
                __atomic_store_n(&v->doomed, 1, __ATOMIC_RELEASE);
                atomic_fetch_add(&m->ndoomed_open, 1);
                atomic_fetch_add(&m->ndoomed_total, 1);
                break;
            }
    pthread_mutex_unlock(&m->views_lock);
}

void mvcc_versions_add(ks_mvcc *m, ks_shard *sh, int64_t d) {
    ASSERT(d >= 0 || sh->data.nversions >= (uint64_t)-d);
    sh->data.nversions += (uint64_t)d;
    uint64_t now = atomic_fetch_add(&m->versions, (uint64_t)d) + (uint64_t)d;
    uint64_t max = atomic_load_explicit(&m->max_versions, memory_order_relaxed);
    if (d > 0 && max && now > max) doom_oldest_view(m);
}

void mvcc_destroy(ks_mvcc *m) {
    ASSERT(m->head == NULL && m->early_view == NULL);
    pthread_mutex_destroy(&m->views_lock);
    pthread_mutex_destroy(&m->early_lock);
    pthread_cond_destroy(&m->early_cond);
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
    v->doomed = 0;
    v->early = NULL;
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
    if (v->early) ks_view_early_disable(v); /* wakes writers still waiting */
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
    if (v->doomed) atomic_fetch_sub(&m->ndoomed_open, 1);
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
            mvcc_versions_add(m, sh, -1);
            x = next;
        }
    }
    if (entry_is_tomb(cur) && cur->old == NULL && cur->ts <= oldest) {
        dict_unlink(&sh->data.d, table, link);
        entry_free(cur);
        mvcc_versions_add(m, sh, -1);
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
            /* Read by writers under other shard locks (early_needed). */
            __atomic_store_n(&it->view->passed, gid + 1, __ATOMIC_RELEASE);
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

/* ---- Big collections written first (mvcc.h) ----------------------------------
 * Lock order: a shard lock, then early_lock (never the reverse). Writers
 * wait on early_cond with early_lock only. A request lives on the waiting
 * writer's stack until its done flag is set under early_lock. */

typedef struct early_req {
    struct early_req *next;
    unsigned dbid;
    const char *key;
    size_t klen;
    uint64_t hash;
    int done;
} early_req;

typedef struct ks_early {
    early_req *queue;     /* waiting writers' requests */
    const ks_entry **set; /* entries written (or passed), open addressing */
    size_t cap, n;        /* cap: power of two or 0 */
} ks_early;

static size_t early_slot(const ks_early *x, const ks_entry *e) {
    uint64_t h = (uint64_t)(uintptr_t)e * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (x->cap - 1);
}

static int early_set_has(const ks_early *x, const ks_entry *e) {
    if (!x->n) return 0;
    for (size_t i = early_slot(x, e);; i = (i + 1) & (x->cap - 1)) {
        if (x->set[i] == e) return 1;
        if (!x->set[i]) return 0;
    }
}

static void early_set_add(ks_mvcc *m, ks_early *x, const ks_entry *e) {
    if (early_set_has(x, e)) return;
    if ((x->n + 1) * 2 > x->cap) {
        ks_early old = *x;
        x->cap = x->cap ? x->cap * 2 : 64;
        x->set = lt_xcalloc(x->cap, sizeof(*x->set));
        x->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.set[i]) {
                size_t j = early_slot(x, old.set[i]);
                while (x->set[j]) j = (j + 1) & (x->cap - 1);
                x->set[j] = old.set[i];
                x->n++;
            }
        free(old.set);
    }
    size_t j = early_slot(x, e);
    while (x->set[j]) j = (j + 1) & (x->cap - 1);
    x->set[j] = e;
    x->n++;
    atomic_store(&m->early_ndone, x->n);
}

void ks_view_early_enable(ks_view *v) {
    ks_mvcc *m = &v->db->mvcc;
    ASSERT(v->sequential && v->passed == 0);
    ks_early *x = lt_xcalloc(1, sizeof(*x));
    pthread_mutex_lock(&m->early_lock);
    if (m->early_view == NULL) { /* one snapshot at a time takes requests */
        v->early = x;
        x = NULL;
        m->early_view = v;
        atomic_store(&m->early_on, 1);
    }
    pthread_mutex_unlock(&m->early_lock);
    free(x);
}

void ks_view_early_disable(ks_view *v) {
    ks_mvcc *m = &v->db->mvcc;
    pthread_mutex_lock(&m->early_lock);
    ks_early *x = v->early;
    if (x) {
        for (early_req *r = x->queue; r; r = r->next) r->done = 1;
        m->early_view = NULL;
        atomic_store(&m->early_on, 0);
        atomic_store(&m->early_ndone, 0);
        v->early = NULL;
        pthread_cond_broadcast(&m->early_cond);
    }
    pthread_mutex_unlock(&m->early_lock);
    if (x) free(x->set);
    free(x);
}

uint64_t ks_early_writes(lt_db *db) { return atomic_load(&db->mvcc.early_writes); }

uint64_t ks_cow_bytes(lt_db *db) { return atomic_load(&db->mvcc.cow_bytes); }

int ks_view_early_written(ks_view *v, const ks_entry *e) {
    ks_mvcc *m = &v->db->mvcc;
    if (!v->early || !atomic_load_explicit(&m->early_ndone, memory_order_relaxed)) return 0;
    pthread_mutex_lock(&m->early_lock);
    int has = v->early && early_set_has(v->early, e);
    pthread_mutex_unlock(&m->early_lock);
    return has;
}

int mvcc_early_written(ks_mvcc *m, const ks_entry *e) {
    if (e->enc != KS_ENC_OBJ) return 0;
    pthread_mutex_lock(&m->early_lock);
    ks_view *v = m->early_view;
    int has = v && atomic_load(&m->nviews) == 1 && early_set_has(v->early, e);
    pthread_mutex_unlock(&m->early_lock);
    return has;
}

/* Would a write to this key make a writer copy a big collection the
 * snapshot has yet to write? */
static int early_needed(lt_db *db, unsigned dbid, uint64_t h, const char *key, size_t klen) {
    ks_mvcc *m = &db->mvcc;
    unsigned s = ks_shard_of_hash(db, h);
    ks_shard *sh = ks_shard_at(db, dbid, s);
    uint64_t gid = (uint64_t)dbid * db->nshards + s;
    int need = 0;
    pthread_mutex_lock(&sh->lock);
    pthread_mutex_lock(&m->early_lock);
    ks_view *v = m->early_view;
    if (v && gid >= __atomic_load_n(&v->passed, __ATOMIC_ACQUIRE)) {
        int table;
        ks_entry **link = dict_find(&sh->data.d, h, key, klen, &table);
        ks_entry *e = link ? *link : NULL;
        if (e && e->enc == KS_ENC_OBJ && mvcc_visible(e, v->ts, v->now_ms) == e &&
            !early_set_has(v->early, e)) {
            const ks_type_ops *ops = ks_type_get(e->type);
            need = ops && ops->mem_usage &&
                   ops->mem_usage(ks_entry_obj(e)) >= KS_EARLY_MIN_BYTES;
        }
    }
    pthread_mutex_unlock(&m->early_lock);
    pthread_mutex_unlock(&sh->lock);
    return need;
}

void mvcc_wait_big_keys(lt_db *db, const ks_key *keys, const uint64_t *hashes, size_t n) {
    ks_mvcc *m = &db->mvcc;
    for (size_t i = 0; i < n; i++) {
        /* Another view (which would need the copy anyway) or none. */
        if (atomic_load(&m->nviews) != 1 || !atomic_load(&m->early_on)) return;
        uint64_t h = hashes ? hashes[i] : ks_hash(db, keys[i].key, keys[i].klen);
        if (!early_needed(db, keys[i].dbid, h, keys[i].key, keys[i].klen)) continue;
        early_req r = {.dbid = keys[i].dbid, .key = keys[i].key, .klen = keys[i].klen,
                       .hash = h};
        pthread_mutex_lock(&m->early_lock);
        ks_view *v = m->early_view;
        if (v) {
            r.next = v->early->queue;
            v->early->queue = &r;
            /* Bounded by the snapshot writing one key; disable ends it. */
            while (!r.done) pthread_cond_wait(&m->early_cond, &m->early_lock);
        }
        pthread_mutex_unlock(&m->early_lock);
    }
}

/* Has the iteration it (of database it_db) already met the key at shard s,
 * table t, bucket b of database dbid? */
static int early_passed(const ks_view *v, const ks_view_iter *it, unsigned it_db,
                        unsigned dbid, unsigned s, int t, uint64_t b) {
    uint64_t gid = (uint64_t)dbid * v->db->nshards + s;
    if (gid < v->passed) return 1;
    if (!it || dbid != it_db) return dbid < it_db;
    if (s != it->shard) return s < it->shard;
    if (!it->paused) return 0;
    return t < it->table || (t == it->table && b < it->bucket);
}

void ks_view_early_serve(ks_view *v, const ks_view_iter *it, unsigned dbid,
                         ks_early_write_fn *fn, void *ctx) {
    ks_mvcc *m = &v->db->mvcc;
    ks_early *x = v->early;
    if (!x) return;
    pthread_mutex_lock(&m->early_lock);
    early_req *q = x->queue;
    x->queue = NULL;
    pthread_mutex_unlock(&m->early_lock);
    if (!q) return;
    lt_db *db = v->db;
    for (early_req *r = q; r; r = r->next) { /* done is set below, at the end */
        unsigned s = ks_shard_of_hash(db, r->hash);
        ks_shard *sh = ks_shard_at(db, r->dbid, s);
        pthread_mutex_lock(&sh->lock);
        int table;
        ks_entry **link = dict_find(&sh->data.d, r->hash, r->key, r->klen, &table);
        ks_entry *e = link ? *link : NULL;
        if (e && mvcc_visible(e, v->ts, v->now_ms) == e) {
            uint64_t b = r->hash & (dict_buckets(&sh->data.d, table) - 1);
            if (!early_passed(v, it, dbid, r->dbid, s, table, b) &&
                !ks_view_early_written(v, e)) {
                fn(ctx, r->dbid, e);
                atomic_fetch_add(&m->early_writes, 1);
            }
            pthread_mutex_lock(&m->early_lock);
            early_set_add(m, x, e);
            pthread_mutex_unlock(&m->early_lock);
        }
        pthread_mutex_unlock(&sh->lock);
    }
    pthread_mutex_lock(&m->early_lock);
    for (early_req *r = q, *next; r; r = next) {
        next = r->next;
        r->done = 1;
    }
    pthread_cond_broadcast(&m->early_cond);
    pthread_mutex_unlock(&m->early_lock);
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
    st->doomed = atomic_load(&db->mvcc.ndoomed_total);
    st->cow_bytes = atomic_load(&db->mvcc.cow_bytes);
    st->early_writes = atomic_load(&db->mvcc.early_writes);
    unsigned total = db->ndb * db->nshards;
    for (unsigned g = 0; g < total; g++) {
        pthread_mutex_lock(&db->shards[g].lock);
        st->versions += db->shards[g].data.nversions;
        pthread_mutex_unlock(&db->shards[g].lock);
    }
}
