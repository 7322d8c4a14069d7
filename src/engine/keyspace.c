/*
 * keyspace.c — the lt_db instance and every keyspace operation: lookups with
 * lazy expiry, writes (create/replace/delete/expire/in-place), rename/move,
 * flush and swap of databases, SCAN, random key, counts.
 *
 * Owns: shard contents (through dict.c / expire.c) and the version rules of
 * mvcc.c applied on every write. Invariants, per shard, under its lock:
 *   - each key appears at most once in the table (current version, maybe a
 *     tombstone); nkeys counts the non-tombstones;
 *   - the expiry index holds exactly the live current entries with expiry;
 *   - nversions counts chained old versions plus tombstones;
 *   - a version an open view may read is never modified or freed (writers
 *     install a new entry and chain the old one, see ks_keep_old).
 * Called by: the server's commands (via keyspace.h inside ks_txn), expire.c
 * (ks_expire_entry), embedded.c.
 */
#include "engine/keyspace.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "engine/adaptive.h"
#include "engine/evict.h"
#include "engine/expire_int.h"
#include "engine/keyspace_int.h"
#include "engine/lazyfree.h"
#include "engine/mvcc_int.h"

/* ---- Instance ------------------------------------------------------------ */

int ks_db_create(const lt_config *cfg, lt_db **out) {
    *out = NULL;
    unsigned ns = cfg->shards_per_db;
    if (cfg->databases == 0 || cfg->databases > 1u << 16 || ns == 0 ||
        ns > 4096 || (ns & (ns - 1)) != 0)
        return LT_INVAL;
    lt_db *db = calloc(1, sizeof(*db));
    if (!db) return LT_NOMEM;
    db->ndb = cfg->databases;
    db->nshards = ns;
    db->shard_bits = (unsigned)__builtin_ctz(ns);
    size_t total = (size_t)db->ndb * ns;
    if (posix_memalign((void **)&db->shards, 64, total * sizeof(ks_shard)) != 0 ||
        !(db->dbstats = calloc(db->ndb, sizeof(ks_dbstat)))) {
        free(db->shards);
        free(db);
        return LT_NOMEM;
    }
    lt_random_bytes(db->hash_key, sizeof(db->hash_key));
    for (size_t g = 0; g < total; g++) {
        ks_shard *sh = &db->shards[g];
        memset(sh, 0, sizeof(*sh));
        pthread_mutex_init(&sh->lock, NULL);
        atomic_init(&sh->nkeys, 0);
        atomic_init(&sh->nexpires, 0);
        dict_init(&sh->data.d, db->hash_key);
    }
    for (unsigned d = 0; d < db->ndb; d++) atomic_init(&db->dbstats[d].avg_ttl_ms, 0);
    mvcc_init(&db->mvcc);
    ks_mvcc_set_max_pinned(db, cfg->max_pinned_versions);
    *out = db;
    return LT_OK;
}

/* ---- WATCH registry (see keyspace.h, "WATCH versions") --------------------
 * Per shard, a hash index of the watched keys of that shard: open
 * addressing with linear probing on the key hash's low bits (the shard is
 * chosen by its high bits), at most half full, removal by backward shift
 * (no tombstones), shrunk when under an eighth full. A lookup — every
 * DEL/RENAME/MOVE of a key in a shard with watched keys, and WATCH, EXEC's
 * check, UNWATCH — examines a few slots whatever the number of watched
 * keys; a shard with none pays one NULL test. FLUSHDB/SWAPDB walk every
 * slot (they touch every key anyway). */
#define WATCH_REG_MIN 8 /* slots; a power of two */

typedef struct ks_watch_key {
    uint64_t hash;
    uint64_t del_ts; /* commit ts of the last deletion of the key, 0 none */
    uint32_t refs;
    size_t klen;
    char *key;       /* NULL: empty slot */
} ks_watch_key;

typedef struct ks_watch_reg {
    uint32_t n, mask; /* keys held; slots - 1 */
    ks_watch_key v[];
} ks_watch_reg;

static __thread uint64_t watch_probes;

uint64_t ks_watch_thread_probes(void) { return watch_probes; }

static void watch_reg_free(ks_shard *sh) {
    ks_watch_reg *r = sh->watch;
    if (!r) return;
    for (uint32_t i = 0; i <= r->mask; i++) free(r->v[i].key);
    free(r);
    sh->watch = NULL;
}

static ks_watch_reg *watch_reg_new(uint32_t slots) {
    ASSERT(slots >= WATCH_REG_MIN && (slots & (slots - 1)) == 0);
    ks_watch_reg *r = lt_xcalloc(1, sizeof(*r) + (size_t)slots * sizeof(r->v[0]));
    r->mask = slots - 1;
    return r;
}

/* The slot holding (h, key), or the empty slot ending its probe run. */
static ks_watch_key *watch_slot(ks_watch_reg *r, uint64_t h, const char *key, size_t klen) {
    for (uint32_t i = (uint32_t)h & r->mask;; i = (i + 1) & r->mask) {
        ks_watch_key *w = &r->v[i];
        watch_probes++;
        if (!w->key || (w->hash == h && w->klen == klen && memcmp(w->key, key, klen) == 0))
            return w;
    }
}

/* Moves every key of sh's registry into a new one of slots slots. */
static void watch_reg_resize(ks_shard *sh, uint32_t slots) {
    ks_watch_reg *old = sh->watch, *r = watch_reg_new(slots);
    for (uint32_t i = 0; i <= old->mask; i++) {
        if (!old->v[i].key) continue;
        uint32_t j = (uint32_t)old->v[i].hash & r->mask;
        while (r->v[j].key) j = (j + 1) & r->mask;
        r->v[j] = old->v[i];
    }
    r->n = old->n;
    free(old);
    sh->watch = r;
}

static ks_watch_key *watch_find(ks_shard *sh, uint64_t h, const char *key,
                                size_t klen) {
    ks_watch_reg *r = sh->watch;
    if (!r) return NULL;
    ks_watch_key *w = watch_slot(r, h, key, klen);
    return w->key ? w : NULL;
}

/* Empties slot w of r, shifting back the keys after it whose probe run
 * passes through it (so no lookup stops early at the hole). */
static void watch_slot_clear(ks_watch_reg *r, ks_watch_key *w) {
    uint32_t hole = (uint32_t)(w - r->v);
    free(w->key);
    for (uint32_t j = (hole + 1) & r->mask; r->v[j].key; j = (j + 1) & r->mask) {
        uint32_t home = (uint32_t)r->v[j].hash & r->mask;
        /* Keep j where it is when its home lies cyclically in (hole, j]. */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        r->v[hole] = r->v[j];
        hole = j;
    }
    memset(&r->v[hole], 0, sizeof(r->v[hole]));
    r->n--;
}

/* Records that the key was deleted by the commit ts (no-op if unwatched). */
static void watch_note_delete(ks_shard *sh, uint64_t h, const char *key,
                              size_t klen, uint64_t ts) {
    ks_watch_key *w = watch_find(sh, h, key, klen);
    if (w) w->del_ts = ts;
}

/* Frees a detached entry this txn dropped, on the lazy-free thread when
 * the txn's mode (or the policy it follows) says so and it is big. */
static void entry_release(ks_txn *txn, ks_entry *e) {
    int lazy = txn->lazyfree == KS_LAZYFREE_ALWAYS
                   ? 1
                   : txn->lazyfree == KS_LAZYFREE_EXPIRE ? lazyfree_policy_expire()
                   : txn->lazyfree == KS_LAZYFREE_EVICT  ? lazyfree_policy_evict()
                                                         : lazyfree_policy_server_del();
    if (lazy && e->enc == KS_ENC_OBJ && lazyfree_entry(e)) return;
    entry_free(e);
}

static void free_chain(void *ctx, ks_entry *e) {
    (void)ctx;
    while (e) {
        ks_entry *old = e->old;
        entry_free(e);
        e = old;
    }
}

void ks_db_destroy(lt_db *db) {
    size_t total = (size_t)db->ndb * db->nshards;
    for (size_t g = 0; g < total; g++) {
        ks_shard *sh = &db->shards[g];
        dict_clear(&sh->data.d, free_chain, NULL);
        expire_index_free(&sh->data);
        watch_reg_free(sh);
        pthread_mutex_destroy(&sh->lock);
    }
    mvcc_destroy(&db->mvcc);
    ks_evpool_free(db);
    free(db->shards);
    free(db->dbstats);
    free((void *)db->slot_keys);
    free(db);
}

void ks_set_hooks(lt_db *db, const ks_hooks *hooks) { db->hooks = *hooks; }
void ks_set_install_hook(lt_db *db, ks_install_hook *fn, void *ctx) {
    db->install_hook = fn;
    db->install_ctx = ctx;
}
unsigned ks_databases(const lt_db *db) { return db->ndb; }
unsigned ks_shards_per_db(const lt_db *db) { return db->nshards; }

/* ---- Counters -------------------------------------------------------------- */

/* Adds d to the live-key count of e's shard (and, in slot mode, of e's
 * slot). Under the shard lock: a slot belongs to one shard, so its counter
 * has one writer at a time. */
static inline void nkeys_add(const lt_db *db, ks_shard *sh, const ks_entry *e, int64_t d) {
    uint64_t v = atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
    atomic_store_explicit(&sh->nkeys, v + (uint64_t)d, memory_order_relaxed);
    /* e NULL: a live key replaced by a live version of itself (its slot's
     * count is unchanged; no slot computed). */
    if (__builtin_expect(db->slot_keys != NULL, 0) && e) {
        size_t dbid = (size_t)(sh - db->shards) / db->nshards;
        _Atomic uint32_t *n =
            &db->slot_keys[dbid * KS_SLOTS + db->slot_fn(entry_keyp(e), e->klen)];
        atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + (uint32_t)d,
                              memory_order_relaxed);
    }
}

int ks_set_slot_fn(lt_db *db, ks_slot_fn *fn) {
    if (!fn || db->slot_fn || db->shard_bits > KS_SLOT_BITS) return LT_INVAL;
    _Atomic uint32_t *counts = calloc((size_t)db->ndb * KS_SLOTS, sizeof(*counts));
    if (!counts) return LT_NOMEM;
    ASSERT(ks_db_size(db, 0) == 0);
    db->slot_keys = counts;
    db->slot_fn = fn;
    return LT_OK;
}

uint64_t ks_slot_count(lt_db *db, unsigned dbid, unsigned slot) {
    if (!db->slot_keys || dbid >= db->ndb || slot >= KS_SLOTS) return 0;
    return atomic_load_explicit(&db->slot_keys[(size_t)dbid * KS_SLOTS + slot],
                                memory_order_relaxed);
}

/* The slots of shard s are [s << w, (s + 1) << w) with w = 14 - shard_bits. */
static void slot_counts_zero_shard(lt_db *db, ks_shard *sh) {
    if (!db->slot_keys) return;
    size_t g = (size_t)(sh - db->shards), dbid = g / db->nshards, s = g % db->nshards;
    unsigned w = KS_SLOT_BITS - db->shard_bits;
    for (size_t i = s << w; i < (s + 1) << w; i++)
        atomic_store_explicit(&db->slot_keys[dbid * KS_SLOTS + i], 0, memory_order_relaxed);
}

typedef struct slot_keys_ctx {
    lt_db *db;
    unsigned slot;
    size_t max, seen;
    int64_t now_ms;
    ks_entry_fn *fn;
    void *ctx;
} slot_keys_ctx;

static inline int entry_expired(const ks_entry *e, int64_t now_ms);
static int shard_lock_unless_nested(lt_db *db, unsigned dbid, ks_shard *sh);

static void slot_keys_bucket(void *ctx, dict *d, int table, ks_entry **head) {
    slot_keys_ctx *c = ctx;
    (void)d;
    (void)table;
    for (ks_entry *e = *head; e && c->seen < c->max; e = e->next) {
        if (entry_is_tomb(e) || entry_expired(e, c->now_ms)) continue;
        if (c->db->slot_fn(entry_keyp(e), e->klen) != c->slot) continue;
        c->fn(c->ctx, e);
        c->seen++;
    }
}

size_t ks_slot_keys(lt_db *db, unsigned dbid, unsigned slot, size_t max,
                    ks_entry_fn *fn, void *ctx) {
    if (!db->slot_fn || dbid >= db->ndb || slot >= KS_SLOTS || max == 0) return 0;
    if (ks_slot_count(db, dbid, slot) == 0) return 0;
    ks_shard *sh = ks_shard_at(db, dbid, slot >> (KS_SLOT_BITS - db->shard_bits));
    slot_keys_ctx c = {.db = db, .slot = slot, .max = max, .now_ms = lt_mstime(),
                       .fn = fn, .ctx = ctx};
    int locked = shard_lock_unless_nested(db, dbid, sh);
    uint64_t v = 0;
    /* Bounded by the shard's size: one pass of its cursor, stopping at max. */
    do {
        v = dict_scan(&sh->data.d, v, slot_keys_bucket, &c);
    } while (v != 0 && c.seen < max);
    if (locked) pthread_mutex_unlock(&sh->lock);
    return c.seen;
}

uint64_t ks_db_size(lt_db *db, unsigned dbid) {
    if (dbid >= db->ndb) return 0;
    uint64_t n = 0;
    for (unsigned s = 0; s < db->nshards; s++)
        n += atomic_load_explicit(&ks_shard_at(db, dbid, s)->nkeys,
                                  memory_order_relaxed);
    return n;
}

uint64_t ks_db_expires(lt_db *db, unsigned dbid) {
    if (dbid >= db->ndb) return 0;
    uint64_t n = 0;
    for (unsigned s = 0; s < db->nshards; s++)
        n += atomic_load_explicit(&ks_shard_at(db, dbid, s)->nexpires,
                                  memory_order_relaxed);
    return n;
}

void ks_db_overhead(lt_db *db, unsigned dbid, uint64_t *main, uint64_t *expires) {
    *main = *expires = 0;
    if (dbid >= db->ndb) return;
    for (unsigned s = 0; s < db->nshards; s++) {
        ks_shard *sh = ks_shard_at(db, dbid, s);
        /* Never waits: the caller may hold shard locks (INFO or MEMORY
         * STATS inside EXEC or a script). A busy shard is estimated from
         * its published counters (a bucket and a header per key). */
        if (pthread_mutex_trylock(&sh->lock) != 0) {
            uint64_t n = atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
            *main += n * (sizeof(ks_entry *) + sizeof(ks_entry));
            *expires += atomic_load_explicit(&sh->nexpires, memory_order_relaxed) *
                        sizeof(ks_entry *);
            continue;
        }
        const dict *d = &sh->data.d;
        for (int t = 0; t < 2; t++)
            *main += dict_buckets(d, t) * sizeof(ks_entry *) + d->used[t] * sizeof(ks_entry);
        *expires += (uint64_t)sh->data.capexp * sizeof(ks_entry *);
        pthread_mutex_unlock(&sh->lock);
    }
}

uint64_t lt_db_count(lt_db *db, unsigned dbid) { return ks_db_size(db, dbid); }

int ks_db_reserve(lt_db *db, unsigned dbid, uint64_t nkeys) {
    ASSERT(dbid < db->ndb);
    /* Keys spread binomially over the shards: mean + 1/8 + 16 covers more
     * than 3 standard deviations from a few thousand keys per shard up. */
    uint64_t per = nkeys / db->nshards;
    per += per / 8 + 16;
    for (unsigned s = 0; s < db->nshards; s++) {
        ks_shard *sh = ks_shard_at(db, dbid, s);
        pthread_mutex_lock(&sh->lock);
        int rc = dict_reserve(&sh->data.d, per);
        pthread_mutex_unlock(&sh->lock);
        if (rc != 0) return LT_NOMEM;
    }
    return LT_OK;
}

/* ---- Write primitives -------------------------------------------------------- */

int ks_keep_old(ks_txn *txn, const ks_shard *sh, const ks_entry *e) {
    uint64_t ts = ks_txn_ts(txn);
    if (e->ts == ts || !mvcc_view_may_need(&txn->db->mvcc, e->ts)) return 0;
    /* A big collection the snapshot already wrote out (mvcc.h). */
    if (atomic_load_explicit(&txn->db->mvcc.early_ndone, memory_order_relaxed) &&
        mvcc_early_written(&txn->db->mvcc, e))
        return 0;
    /* Not when every open view has already read this shard for good (a
     * snapshot that passed it, see ks_view.sequential): that is what bounds
     * a snapshot's extra memory to one copy per key it has yet to write. */
    return sh->views_done == 0 || atomic_load(&txn->db->mvcc.nviews) != sh->views_done;
}

static inline int is_indexed(const ks_entry *e) {
    const ks_expblock *xb = entry_expblock(e);
    return xb && xb->idx != UINT32_MAX;
}

void ks_install(ks_txn *txn, ks_shard *sh, ks_entry **link, int table,
                uint64_t hash, ks_entry *newe, int keep_old, int shallow) {
    ks_shard_data *sd = &sh->data;
    int replaced_live = 0;
    int stream_gone = 0; /* a live stream removed or replaced by another type */
    newe->ts = ks_txn_ts(txn);
    if (!link) {
        ASSERT(!entry_is_tomb(newe));
        newe->old = NULL;
        dict_add(&sd->d, hash, newe);
    } else {
        ks_entry *cur = *link;
        if (!entry_is_tomb(cur)) {
            replaced_live = !entry_is_tomb(newe);
            stream_gone = cur->type == KS_TYPE_STREAM &&
                          (!replaced_live || newe->type != KS_TYPE_STREAM);
            nkeys_add(txn->db, sh, replaced_live ? NULL : cur, -1);
            if (is_indexed(cur)) expire_index_remove(sh, cur);
        }
        dict_replace(link, newe);
        if (keep_old) {
            newe->old = cur;
            if (!entry_is_tomb(cur)) mvcc_versions_add(&txn->db->mvcc, sh, 1);
        } else {
            newe->old = cur->old;
            if (entry_is_tomb(cur)) mvcc_versions_add(&txn->db->mvcc, sh, -1);
            if (shallow) entry_free_shallow(cur);
            else entry_release(txn, cur);
        }
    }
    if (stream_gone && txn->db->install_hook)
        txn->db->install_hook(txn->db->install_ctx,
                              (unsigned)((size_t)(sh - txn->db->shards) / txn->db->nshards),
                              entry_keyp(newe), newe->klen, KS_HOOK_STREAM_GONE);
    if (entry_is_tomb(newe)) {
        mvcc_versions_add(&txn->db->mvcc, sh, 1);
    } else {
        nkeys_add(txn->db, sh, replaced_live ? NULL : newe, 1);
        if (entry_expblock(newe)) expire_index_add(sh, newe);
        lt_db *db = txn->db;
        if (db->install_hook)
            db->install_hook(db->install_ctx, (unsigned)((size_t)(sh - db->shards) / db->nshards),
                             entry_keyp(newe), newe->klen, newe->type);
    }
    if (link && (newe->old || entry_is_tomb(newe)))
        mvcc_prune(&txn->db->mvcc, sh, link, table);
}

void ks_remove(ks_txn *txn, ks_shard *sh, ks_entry **link, int table,
               int keep_old, int shallow) {
    ks_entry *cur = *link;
    ASSERT(!entry_is_tomb(cur));
    if (keep_old || cur->old) {
        ks_entry *tomb = entry_new_tomb(entry_keyp(cur), cur->klen);
        ks_install(txn, sh, link, table, 0, tomb, keep_old, shallow);
        return;
    }
    nkeys_add(txn->db, sh, cur, -1);
    if (is_indexed(cur)) expire_index_remove(sh, cur);
    if (cur->type == KS_TYPE_STREAM && txn->db->install_hook)
        txn->db->install_hook(txn->db->install_ctx,
                              (unsigned)((size_t)(sh - txn->db->shards) / txn->db->nshards),
                              entry_keyp(cur), cur->klen, KS_HOOK_STREAM_GONE);
    dict_unlink(&sh->data.d, table, link);
    if (shallow) entry_free_shallow(cur);
    else entry_release(txn, cur);
}

void ks_expire_entry(ks_txn *txn, ks_shard *sh, unsigned dbid,
                     ks_entry **link, int table) {
    lt_db *db = txn->db;
    ks_entry *cur = *link;
    int keep = ks_keep_old(txn, sh, cur);
    atomic_fetch_add_explicit(&db->stat_expired_keys, 1, memory_order_relaxed);
    /* The DEL is logged with this deletion's commit ts (assigned now: a
     * ts of 0 would read as "in the snapshot" to a replay). */
    if (db->hooks.expired) db->hooks.expired(db->hooks.ctx, dbid, cur, ks_txn_ts(txn));
    uint8_t mode = txn->lazyfree;
    if (mode == KS_LAZYFREE_POLICY) txn->lazyfree = KS_LAZYFREE_EXPIRE;
    ks_remove(txn, sh, link, table, keep, 0);
    txn->lazyfree = mode;
}

static ks_shard *txn_shard(ks_txn *txn, unsigned dbid, uint64_t h);
static ks_entry **key_slot(ks_txn *txn, ks_shard *sh, unsigned dbid, uint64_t h,
                           const char *key, size_t klen, int *table, int noexpire);

size_t ks_evict_key(ks_txn *txn, unsigned dbid, const char *key, size_t klen, int need_ttl) {
    lt_db *db = txn->db;
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    /* An expired key is evicted as it is (no expiry DEL first). */
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, 1);
    ks_entry *cur = link && !entry_is_tomb(*link) ? *link : NULL;
    if (!cur || (need_ttl && !entry_expblock(cur))) return 0;
    if (db->hooks.evicted && db->hooks.evicted(db->hooks.ctx, dbid, cur, ks_txn_ts(txn)))
        return KS_EVICT_REFUSED; /* not recorded: the key stays */
    /* Redis "touches" an evicted key: a WATCH on it fails EXEC. */
    watch_note_delete(sh, h, key, klen, txn->ts);
    int keep = ks_keep_old(txn, sh, cur);
    /* A version an open view (a BGSAVE) still reads is kept for it: it
     * stays in the used memory until the view has passed it, so it frees
     * nothing now (1: deleted, for the caller to evict others meanwhile). */
    size_t freed = keep ? 1 : ks_entry_memory_usage(cur);
    atomic_fetch_add_explicit(&db->stat_evicted_keys, 1, memory_order_relaxed);
    /* lazyfree-lazy-eviction: a big value goes to the lazy-free thread. */
    uint8_t mode = txn->lazyfree;
    if (mode == KS_LAZYFREE_POLICY) txn->lazyfree = KS_LAZYFREE_EVICT;
    ks_remove(txn, sh, link, table, keep, 0);
    txn->lazyfree = mode;
    return freed;
}

static ks_shard *txn_shard(ks_txn *txn, unsigned dbid, uint64_t h) {
    lt_db *db = txn->db;
    ASSERT(dbid < db->ndb);
    ASSERT(ks_txn_holds(txn, dbid, h));
    return ks_shard_at(db, dbid, ks_shard_of_hash(db, h));
}

static inline int entry_expired(const ks_entry *e, int64_t now_ms) {
    const ks_expblock *xb = entry_expblock(e);
    return xb && now_ms > xb->when_ms;
}

/* key_slot's noexpire: delete an expired entry (0), keep it (1), keep it
 * while ks_hold_expiry holds (reads). */
#define SLOT_KEEP_IF_HELD 2

/* The key's slot: NULL if absent, else a link to its current entry, which
 * is live or a tombstone. A live entry found expired is deleted first
 * (unless noexpire says to keep it, then it is returned as is). */
static ks_entry **key_slot(ks_txn *txn, ks_shard *sh, unsigned dbid,
                           uint64_t h, const char *key, size_t klen,
                           int *table, int noexpire) {
    ks_mvcc *m = &txn->db->mvcc;
    ks_entry **link = dict_find(&sh->data.d, h, key, klen, table);
    if (!link) return NULL;
    if (((*link)->old || entry_is_tomb(*link)) &&
        mvcc_prune(m, sh, link, *table) == NULL)
        return NULL;
    if (noexpire != 1 && !entry_is_tomb(*link) && entry_expired(*link, txn->now_ms) &&
        /* Read only for an expired key: the line is shared with counters. */
        !(noexpire == SLOT_KEEP_IF_HELD &&
          txn->now_ms < atomic_load_explicit(&txn->db->expire_hold_until_ms,
                                             memory_order_relaxed))) {
        ks_expire_entry(txn, sh, dbid, link, *table);
        link = dict_find(&sh->data.d, h, key, klen, table);
    }
    return link;
}

static inline ks_entry *live_at(ks_entry **link) {
    return (link && !entry_is_tomb(*link)) ? *link : NULL;
}

static inline void mark_write(ks_txn *txn) {
    ks_txn_ts(txn);
    txn->nwrites++;
}

/* ---- Reads ----------------------------------------------------------------- */

static __thread ks_lookup_stats lookup_stats;

const ks_lookup_stats *ks_thread_lookup_stats(void) { return &lookup_stats; }

void ks_hold_expiry(lt_db *db, int64_t until_ms) {
    atomic_store_explicit(&db->expire_hold_until_ms, until_ms, memory_order_relaxed);
}

ks_entry *ks_lookup(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                    int flags) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    int keep = (flags & (KS_LOOKUP_NOEXPIRE | KS_LOOKUP_EXPIRED)) ? 1 : SLOT_KEEP_IF_HELD;
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, keep);
    ks_entry *e = live_at(link);
    if (e && !(flags & KS_LOOKUP_EXPIRED) && entry_expired(e, txn->now_ms)) e = NULL;
    if (!e) {
        lookup_stats.misses++;
        return NULL;
    }
    lookup_stats.hits++;
    if (!(flags & KS_LOOKUP_NOTOUCH)) entry_touch(e, txn->now_ms);
    return e;
}

uint64_t ks_key_ts(ks_txn *txn, unsigned dbid, const char *key, size_t klen) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    ks_entry **link = dict_find(&sh->data.d, h, key, klen, &table);
    return link ? (*link)->ts : 0;
}

/* The key's live, unexpired current entry (no side effects), or NULL. */
static const ks_entry *watch_live(ks_txn *txn, ks_shard *sh, uint64_t h,
                                  const char *key, size_t klen) {
    int table;
    ks_entry **link = dict_find(&sh->data.d, h, key, klen, &table);
    if (!link || entry_is_tomb(*link) || entry_expired(*link, txn->now_ms)) return NULL;
    return *link;
}

uint64_t ks_watch_add(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                      int *live) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    *live = watch_live(txn, sh, h, key, klen) != NULL;
    if (!sh->watch) sh->watch = watch_reg_new(WATCH_REG_MIN);
    else if ((sh->watch->n + 1) * 2 > sh->watch->mask + 1)
        watch_reg_resize(sh, (sh->watch->mask + 1) * 2);
    ks_watch_key *w = watch_slot(sh->watch, h, key, klen);
    if (w->key) {
        w->refs++;
    } else {
        w->hash = h;
        w->del_ts = 0;
        w->refs = 1;
        w->klen = klen;
        w->key = lt_xmalloc(klen ? klen : 1);
        memcpy(w->key, key, klen);
        sh->watch->n++;
    }
    /* Under the key's shard lock: every commit that touched the key is
     * done and has ts <= the clock; any later one takes a larger ts. */
    return atomic_load(&txn->db->mvcc.ts);
}

int ks_watch_changed(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     uint64_t since, int live) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    ks_watch_key *w = watch_find(sh, h, key, klen);
    ASSERT(w != NULL);
    if (w->del_ts > since) return 1;
    int table;
    ks_entry **link = dict_find(&sh->data.d, h, key, klen, &table);
    if (link && !entry_is_tomb(*link) && (*link)->ts > since) return 1;
    /* Live then, gone or expired now: it expired meanwhile. */
    return live && !watch_live(txn, sh, h, key, klen);
}

void ks_watch_remove(ks_txn *txn, unsigned dbid, const char *key, size_t klen) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    ks_watch_key *w = watch_find(sh, h, key, klen);
    ASSERT(w != NULL && w->refs > 0);
    if (--w->refs > 0) return;
    ks_watch_reg *r = sh->watch;
    watch_slot_clear(r, w);
    if (r->n == 0) watch_reg_free(sh);
    else if (r->mask + 1 > WATCH_REG_MIN && r->n * 8 < r->mask + 1)
        watch_reg_resize(sh, (r->mask + 1) / 2);
}

/* Marks deleted, by txn, the watched keys of sh that are live (and not
 * expired) in sh or in other (FLUSHDB/FLUSHALL: other == NULL; SWAPDB: the
 * shard of the other database, whose keys move into sh). */
static void watch_note_bulk(ks_txn *txn, ks_shard *sh, ks_shard *other) {
    ks_watch_reg *r = sh->watch;
    if (!r) return;
    for (uint32_t i = 0; i <= r->mask; i++) {
        ks_watch_key *w = &r->v[i];
        if (!w->key) continue;
        for (ks_shard *s = sh; s; s = (s == sh) ? other : NULL) {
            int table;
            ks_entry **link = dict_find(&s->data.d, w->hash, w->key, w->klen, &table);
            if (link && !entry_is_tomb(*link) && !entry_expired(*link, txn->now_ms)) {
                w->del_ts = txn->ts;
                break;
            }
        }
    }
}

/* ---- Writes ------------------------------------------------------------------ */

enum { BUILD_STR, BUILD_RAW, BUILD_INT, BUILD_OBJ };

typedef struct build_spec {
    int kind;
    const void *val;
    size_t vlen;
    int64_t ival;
    int type;
    void *obj;
} build_spec;

static ks_entry *set_generic(ks_txn *txn, unsigned dbid, const char *key,
                             size_t klen, const build_spec *b,
                             int64_t expire_ms) {
    ASSERT(klen <= KS_MAX_LEN);
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table = 0;
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, 0);
    ks_entry *cur = live_at(link);
    int64_t when = expire_ms;
    if (expire_ms == KS_EXPIRE_KEEP) when = cur ? ks_entry_expire_ms(cur) : -1;
    mark_write(txn);

    if (b->kind == BUILD_INT && cur && cur->enc == KS_ENC_INT &&
        (when >= 0) == (entry_expblock(cur) != NULL) && !ks_keep_old(txn, sh, cur)) {
        /* In place: INCR and friends on an int-encoded value. */
        *entry_intp(cur) = b->ival;
        if (when >= 0) entry_expblock(cur)->when_ms = when;
        cur->ts = txn->ts;
        return cur;
    }
    ks_entry *e;
    switch (b->kind) {
    case BUILD_STR: e = entry_new_str(key, klen, b->val, b->vlen, when); break;
    case BUILD_RAW: e = entry_new_raw(key, klen, b->val, b->vlen, when); break;
    case BUILD_INT: e = entry_new_int(key, klen, b->ival, when); break;
    case BUILD_OBJ: e = entry_new_obj(key, klen, b->type, b->obj, when); break;
    default: ASSERT_NOT_REACHED();
    }
    entry_init_access(e, txn->now_ms);
    if (!cur) { /* a new key: the adaptive policy may remember it */
        ks_adapt *a = atomic_load_explicit(&txn->db->adapt_live, memory_order_acquire);
        if (a) ks_adapt_admit(a, dbid, h, e, txn->now_ms);
    }
    int keep = link ? ks_keep_old(txn, sh, *link) : 0;
    ks_install(txn, sh, link, table, h, e, keep, 0);
    return e;
}

ks_entry *ks_set_str(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_ms,
                     int flags) {
    build_spec b = {.kind = (flags & KS_SET_NOINT) ? BUILD_RAW : BUILD_STR,
                    .val = val, .vlen = vlen};
    return set_generic(txn, dbid, key, klen, &b, expire_ms);
}

ks_entry *ks_set_int(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     int64_t v, int64_t expire_ms) {
    build_spec b = {.kind = BUILD_INT, .ival = v};
    return set_generic(txn, dbid, key, klen, &b, expire_ms);
}

ks_entry *ks_set_obj(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                     int type, void *obj, int64_t expire_ms) {
    build_spec b = {.kind = BUILD_OBJ, .type = type, .obj = obj};
    return set_generic(txn, dbid, key, klen, &b, expire_ms);
}

int ks_delete(ks_txn *txn, unsigned dbid, const char *key, size_t klen) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, 0);
    ks_entry *cur = live_at(link);
    if (!cur) return LT_NOTFOUND;
    mark_write(txn);
    watch_note_delete(sh, h, key, klen, txn->ts);
    ks_remove(txn, sh, link, table, ks_keep_old(txn, sh, cur), 0);
    dict_shrink_if_needed(&sh->data.d);
    return LT_OK;
}

int ks_set_expire(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                  int64_t when_ms) {
    ASSERT(when_ms >= 0 || when_ms == KS_EXPIRE_NONE);
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, 0);
    ks_entry *cur = live_at(link);
    if (!cur) return LT_NOTFOUND;
    int has = entry_expblock(cur) != NULL;
    if (!has && when_ms < 0) return LT_OK; /* nothing to change */
    mark_write(txn);
    int keep = ks_keep_old(txn, sh, cur);
    if (has && when_ms >= 0 && !keep) {
        entry_expblock(cur)->when_ms = when_ms;
        cur->ts = txn->ts;
        return LT_OK;
    }
    ks_entry *e = entry_rebuild(cur, NULL, 0, when_ms, keep);
    ks_install(txn, sh, link, table, h, e, keep, !keep);
    return LT_OK;
}

/* Link of key's live entry, made private to txn (copied when a view may read
 * the current version) and stamped with txn's ts. */
static ks_entry **own_live(ks_txn *txn, unsigned dbid, const char *key,
                           size_t klen, ks_shard **shp) {
    uint64_t h = ks_txn_hash(txn, key, klen);
    ks_shard *sh = txn_shard(txn, dbid, h);
    int table;
    ks_entry **link = key_slot(txn, sh, dbid, h, key, klen, &table, 0);
    ks_entry *cur = live_at(link);
    ASSERT(cur != NULL);
    mark_write(txn);
    if (ks_keep_old(txn, sh, cur)) {
        ks_entry *copy = entry_rebuild(cur, NULL, 0, ks_entry_expire_ms(cur), 1);
        atomic_fetch_add_explicit(&txn->db->mvcc.cow_bytes, ks_entry_memory_usage(copy),
                                  memory_order_relaxed);
        ks_install(txn, sh, link, table, h, copy, 1, 0);
        ASSERT(*link == copy);
    }
    (*link)->ts = txn->ts;
    *shp = sh;
    return link;
}

char *ks_str_resize(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                    size_t newlen) {
    ks_shard *sh;
    ks_entry **link = own_live(txn, dbid, key, klen, &sh);
    ASSERT((*link)->type == KS_TYPE_STRING);
    ks_entry *e = entry_make_raw(*link, newlen);
    if (e != *link) {
        *link = e;
        if (is_indexed(e)) sh->data.exp[entry_expblock(e)->idx] = e;
    }
    return entry_rawp(e);
}

void *ks_obj_mutable(ks_txn *txn, unsigned dbid, const char *key,
                     size_t klen) {
    ks_shard *sh;
    ks_entry **link = own_live(txn, dbid, key, klen, &sh);
    ASSERT((*link)->enc == KS_ENC_OBJ);
    return *entry_objp(*link);
}

int ks_rename(ks_txn *txn, unsigned sdb, const char *skey, size_t sklen,
              unsigned ddb, const char *dkey, size_t dklen) {
    uint64_t sh_h = ks_txn_hash(txn, skey, sklen);
    ks_shard *ssh = txn_shard(txn, sdb, sh_h);
    int stable;
    ks_entry **slink = key_slot(txn, ssh, sdb, sh_h, skey, sklen, &stable, 0);
    ks_entry *cur = live_at(slink);
    if (!cur) return LT_NOTFOUND;
    if (sdb == ddb && sklen == dklen && memcmp(skey, dkey, sklen) == 0)
        return LT_OK;
    mark_write(txn);
    watch_note_delete(ssh, sh_h, skey, sklen, txn->ts);
    int keep = ks_keep_old(txn, ssh, cur);
    ks_entry *e = entry_rebuild(cur, dkey, dklen, ks_entry_expire_ms(cur), keep);
    ks_remove(txn, ssh, slink, stable, keep, !keep);

    uint64_t dh = ks_txn_hash(txn, dkey, dklen);
    ks_shard *dsh = txn_shard(txn, ddb, dh);
    int dtable = 0;
    ks_entry **dlink = key_slot(txn, dsh, ddb, dh, dkey, dklen, &dtable, 0);
    int dkeep = dlink ? ks_keep_old(txn, dsh, *dlink) : 0;
    ks_install(txn, dsh, dlink, dtable, dh, e, dkeep, 0);
    dict_shrink_if_needed(&ssh->data.d);
    return LT_OK;
}

/* ---- Whole databases ------------------------------------------------------------ */

static int txn_holds_db(const ks_txn *txn, unsigned dbid) {
    if (txn->mode == KS_LOCK_NESTED) return txn_holds_db(txn->outer, dbid);
    return txn->mode == KS_LOCK_ALL ||
           (txn->mode == KS_LOCK_DBS &&
            (dbid == txn->db_lo || dbid == txn->db_hi));
}

void ks_garbage_release(ks_garbage *g) {
    while (g) {
        ks_garbage *next = g->next;
        g->next = NULL;
        if (!g->lazy || !lazyfree_garbage(g, g->keys)) ks_garbage_free(g);
        g = next;
    }
}

void ks_garbage_free(ks_garbage *g) {
    while (g) {
        ks_garbage *next = g->next;
        dict_clear(&g->data.d, free_chain, NULL);
        expire_index_free(&g->data);
        free(g);
        g = next;
    }
}

typedef struct bulk_ctx {
    ks_txn *txn;
    ks_shard *sh;
} bulk_ctx;

/* Removes live entries of one bucket, keeping what views need. */
static void remove_bucket(void *ctx, dict *d, int table, ks_entry **head) {
    bulk_ctx *c = ctx;
    (void)d;
    ks_entry **link = head;
    while (*link) {
        ks_entry *e = *link, *next = e->next;
        if (!entry_is_tomb(e)) {
            ks_remove(c->txn, c->sh, link, table, ks_keep_old(c->txn, c->sh, e), 0);
            if (*link == next) continue; /* unlinked */
        }
        link = &(*link)->next;
    }
}

static void reset_shard_data(lt_db *db, ks_shard *sh) {
    uint32_t pause = sh->data.d.pause;
    mvcc_versions_add(&db->mvcc, sh, -(int64_t)sh->data.nversions);
    memset(&sh->data, 0, sizeof(sh->data));
    dict_init(&sh->data.d, db->hash_key);
    sh->data.d.pause = pause;
    atomic_store_explicit(&sh->nkeys, 0, memory_order_relaxed);
    atomic_store_explicit(&sh->nexpires, 0, memory_order_relaxed);
    slot_counts_zero_shard(db, sh);
}

void ks_flush_db(ks_txn *txn, unsigned dbid) {
    lt_db *db = txn->db;
    ASSERT(dbid < db->ndb && txn_holds_db(txn, dbid));
    mark_write(txn);
    int views = atomic_load(&db->mvcc.view_max) != 0;
    for (unsigned s = 0; s < db->nshards; s++) {
        ks_shard *sh = ks_shard_at(db, dbid, s);
        if (dict_size(&sh->data.d) == 0) continue;
        watch_note_bulk(txn, sh, NULL);
        if (views) {
            bulk_ctx c = {.txn = txn, .sh = sh};
            dict_foreach_bucket(&sh->data.d, remove_bucket, &c);
            dict_shrink_if_needed(&sh->data.d);
            continue;
        }
        ASSERT(sh->data.d.pause == 0);
        ks_garbage *g = lt_xmalloc(sizeof(*g));
        g->data = sh->data;
        g->keys = atomic_load_explicit(&sh->nkeys, memory_order_relaxed);
        g->lazy = txn->lazyfree == KS_LAZYFREE_ALWAYS;
        g->next = txn->garbage;
        txn->garbage = g;
        reset_shard_data(db, sh);
    }
    atomic_store_explicit(&db->dbstats[dbid].avg_ttl_ms, 0, memory_order_relaxed);
    /* Streams may be gone: waiters look again (as after SWAPDB). */
    if (db->install_hook) db->install_hook(db->install_ctx, dbid, NULL, 0, -1);
}

typedef struct collect_ctx {
    ks_entry **v;
    size_t n, cap;
} collect_ctx;

static void collect_bucket(void *ctx, dict *d, int table, ks_entry **head) {
    collect_ctx *c = ctx;
    (void)d;
    (void)table;
    for (ks_entry *e = *head; e; e = e->next) {
        if (entry_is_tomb(e)) continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->v = lt_xrealloc(c->v, c->cap * sizeof(*c->v));
        }
        c->v[c->n++] = entry_rebuild(e, NULL, 0, ks_entry_expire_ms(e), 1);
    }
}

static void install_copies(ks_txn *txn, ks_shard *sh, collect_ctx *c) {
    for (size_t i = 0; i < c->n; i++) {
        ks_entry *e = c->v[i];
        uint64_t h = ks_hash(txn->db, entry_keyp(e), e->klen);
        int table = 0;
        ks_entry **link =
            dict_find(&sh->data.d, h, entry_keyp(e), e->klen, &table);
        int keep = link ? ks_keep_old(txn, sh, *link) : 0;
        ks_install(txn, sh, link, table, h, e, keep, 0);
    }
}

/* SWAPDB while views are open: rewrite both shards key by key so views keep
 * reading the old contents. Copies are taken first, then every live key of
 * both shards is removed (kept for views), then the copies are installed. */
static void swap_shard_by_key(ks_txn *txn, ks_shard *a, ks_shard *b) {
    collect_ctx ca = {0}, cb = {0};
    dict_foreach_bucket(&a->data.d, collect_bucket, &ca);
    dict_foreach_bucket(&b->data.d, collect_bucket, &cb);
    bulk_ctx ra = {.txn = txn, .sh = a}, rb = {.txn = txn, .sh = b};
    dict_foreach_bucket(&a->data.d, remove_bucket, &ra);
    dict_foreach_bucket(&b->data.d, remove_bucket, &rb);
    install_copies(txn, a, &cb);
    install_copies(txn, b, &ca);
    free(ca.v);
    free(cb.v);
}

void ks_swap_db(ks_txn *txn, unsigned a, unsigned b) {
    lt_db *db = txn->db;
    ASSERT(a < db->ndb && b < db->ndb);
    ASSERT(txn_holds_db(txn, a) && txn_holds_db(txn, b));
    if (a == b) return;
    mark_write(txn);
    if (db->install_hook) {
        db->install_hook(db->install_ctx, a, NULL, 0, -1);
        db->install_hook(db->install_ctx, b, NULL, 0, -1);
    }
    int views = atomic_load(&db->mvcc.view_max) != 0;
    for (unsigned s = 0; s < db->nshards; s++) {
        ks_shard *sa = ks_shard_at(db, a, s), *sb = ks_shard_at(db, b, s);
        watch_note_bulk(txn, sa, sb);
        watch_note_bulk(txn, sb, sa);
        if (views) {
            swap_shard_by_key(txn, sa, sb);
            continue;
        }
        ks_shard_data t = sa->data;
        sa->data = sb->data;
        sb->data = t;
        uint64_t ka = atomic_load_explicit(&sa->nkeys, memory_order_relaxed);
        uint64_t kb = atomic_load_explicit(&sb->nkeys, memory_order_relaxed);
        atomic_store_explicit(&sa->nkeys, kb, memory_order_relaxed);
        atomic_store_explicit(&sb->nkeys, ka, memory_order_relaxed);
        atomic_store_explicit(&sa->nexpires, sa->data.nexp, memory_order_relaxed);
        atomic_store_explicit(&sb->nexpires, sb->data.nexp, memory_order_relaxed);
    }
    if (!views && db->slot_keys) {
        /* The tables moved wholesale: so do their slot counts. */
        for (size_t i = 0; i < KS_SLOTS; i++) {
            _Atomic uint32_t *x = &db->slot_keys[(size_t)a * KS_SLOTS + i],
                             *y = &db->slot_keys[(size_t)b * KS_SLOTS + i];
            uint32_t t = atomic_load_explicit(x, memory_order_relaxed);
            atomic_store_explicit(x, atomic_load_explicit(y, memory_order_relaxed),
                                  memory_order_relaxed);
            atomic_store_explicit(y, t, memory_order_relaxed);
        }
    }
    int64_t ta = atomic_load(&db->dbstats[a].avg_ttl_ms);
    atomic_store(&db->dbstats[a].avg_ttl_ms, atomic_load(&db->dbstats[b].avg_ttl_ms));
    atomic_store(&db->dbstats[b].avg_ttl_ms, ta);
}

/* ---- SCAN and random key ---------------------------------------------------------- */

typedef struct scan_ctx {
    ks_entry_fn *fn;
    void *ctx;
    int64_t now_ms;
    size_t emitted;
} scan_ctx;

static void scan_bucket(void *ctx, dict *d, int table, ks_entry **head) {
    scan_ctx *c = ctx;
    (void)d;
    (void)table;
    for (ks_entry *e = *head; e; e = e->next) {
        if (entry_is_tomb(e) || entry_expired(e, c->now_ms)) continue;
        c->fn(c->ctx, e);
        c->emitted++;
    }
}

/* ks_scan and ks_random_key lock one shard at a time, except inside EXEC,
 * whose transaction already holds the whole database (txn.h, "Nesting"). */
static int shard_lock_unless_nested(lt_db *db, unsigned dbid, ks_shard *sh) {
    ks_txn *outer = ks_txn_nest_outer();
    if (outer) {
        ASSERT(outer->db == db && txn_holds_db(outer, dbid));
        return 0;
    }
    pthread_mutex_lock(&sh->lock);
    return 1;
}

uint64_t ks_scan(lt_db *db, unsigned dbid, uint64_t cursor, size_t count,
                 ks_entry_fn *fn, void *ctx) {
    ASSERT(dbid < db->ndb);
    if (count == 0) count = 1;
    uint64_t smask = db->nshards - 1;
    unsigned shard = (unsigned)(cursor & smask);
    uint64_t v = cursor >> db->shard_bits;
    scan_ctx c = {.fn = fn, .ctx = ctx, .now_ms = lt_mstime()};
    size_t steps = 0, max_steps = count * 10; /* empty buckets count too */

    for (;;) {
        ks_shard *sh = ks_shard_at(db, dbid, shard);
        int locked = shard_lock_unless_nested(db, dbid, sh);
        do {
            v = dict_scan(&sh->data.d, v, scan_bucket, &c);
            steps++;
        } while (v != 0 && c.emitted < count && steps < max_steps);
        if (locked) pthread_mutex_unlock(&sh->lock);
        if (v == 0) {
            if (++shard == db->nshards) return 0;
        }
        if (c.emitted >= count || steps >= max_steps)
            return (v << db->shard_bits) | shard;
        steps++; /* moving to the next shard is work too */
    }
}

int ks_random_key(lt_db *db, unsigned dbid, ks_entry_fn *fn, void *ctx) {
    ASSERT(dbid < db->ndb);
    int64_t now = lt_mstime();
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t total = ks_db_size(db, dbid);
        if (total == 0) return LT_NOTFOUND;
        /* Pick a shard with probability proportional to its key count. */
        uint64_t r = lt_random_below(total);
        unsigned s = 0;
        for (; s < db->nshards; s++) {
            uint64_t n = atomic_load_explicit(&ks_shard_at(db, dbid, s)->nkeys,
                                              memory_order_relaxed);
            if (r < n) break;
            r -= n;
        }
        if (s == db->nshards) continue; /* counts moved meanwhile */
        ks_shard *sh = ks_shard_at(db, dbid, s);
        int locked = shard_lock_unless_nested(db, dbid, sh);
        int table;
        ks_entry **link = dict_random(&sh->data.d, &table);
        ks_entry *e = link ? *link : NULL;
        if (e && !entry_is_tomb(e) && !entry_expired(e, now)) {
            fn(ctx, e);
            if (locked) pthread_mutex_unlock(&sh->lock);
            return LT_OK;
        }
        if (locked) pthread_mutex_unlock(&sh->lock);
    }
    return LT_NOTFOUND;
}
