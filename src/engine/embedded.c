/*
 * embedded.c — the public embedded API of include/lightning.h: opening and
 * closing an engine (in memory, or durable through store.h, optionally
 * ordered through oindex.h), optimistic snapshot transactions and cursors
 * on top of the engine's views (mvcc.h) and locking transactions (txn.h),
 * i.e. the same code paths the server uses.
 *
 * Owns: lt_txn (a view + buffered writes + read set) and lt_cursor.
 * Invariants: an lt_txn holds an open view from begin to end, so every
 * pointer it returned stays valid until then; write and read sets only
 * grow; key/value bytes they reference live in the txn's arena. Commit
 * locks the shards of all read and written keys in ascending order (via
 * ks_txn_begin), checks that no key's current version is newer than the
 * snapshot, then — under those locks — adds the keys it creates to the
 * ordered index (before they can be seen), applies the writes, marks the
 * deleted keys in the index and appends the commit's log record; after
 * unlocking it waits for the fsync when the engine syncs always.
 * An ordered cursor is a gap between keys (gmode + a copy of the key it
 * borders): it reads keys from the index in batches and keeps each one its
 * view can see.
 * Called by: applications linking liblightning, tests, tools, and the
 * server (lt_db_open / lt_db_close only).
 */
#include "lightning.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "engine/entry_int.h"
#include "engine/keyspace.h"
#include "engine/keyspace_int.h"
#include "engine/mvcc.h"
#include "engine/oindex.h"
#include "engine/prefetch.h"
#include "engine/store.h"

const char *lt_strerror(int err) {
    switch (err) {
    case LT_OK: return "success";
    case LT_NOTFOUND: return "key not found";
    case LT_CONFLICT: return "transaction conflict: retry";
    case LT_INVAL: return "invalid argument";
    case LT_NOMEM: return "out of memory";
    case LT_RDONLY: return "write in a read-only transaction";
    case LT_WRONGTYPE: return "value is not a string";
    case LT_BADTXN: return "transaction failed earlier";
    case LT_IOERR: return "I/O error";
    case LT_TXN_TOO_OLD:
        return "transaction too old: its snapshot kept more old versions alive than "
               "max_pinned_versions allows; abort and retry it";
    case LT_CORRUPT: return "a file of the data directory is corrupt";
    case LT_VERSION: return "the data directory was written by an incompatible version";
    case LT_LOCKED: return "the data directory is locked by another process or handle";
    case LT_UNSUPPORTED: return "the log holds a command the library cannot replay";
    default: return "unknown error";
    }
}

/* ---- Engine ---------------------------------------------------------------- */

void lt_config_init(lt_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->databases = 16;
    cfg->shards_per_db = 64;
    cfg->sync = LT_SYNC_ALWAYS;
}

static void oindex_free_all(lt_db *db) {
    if (!db->oidx) return;
    for (unsigned d = 0; d < db->ndb; d++) oindex_free(db->oidx[d]);
    free(db->oidx);
    db->oidx = NULL;
}

typedef struct build_ctx {
    oindex *x;
    int rc;
} build_ctx;

static void build_one(void *ctx, const ks_entry *e) {
    build_ctx *b = ctx;
    if (b->rc == LT_OK) b->rc = oindex_put(b->x, entry_keyp(e), e->klen);
}

/* The ordered index of every database, from the keys recovered. */
static int oindex_build(lt_db *db) {
    if (!(db->oidx = calloc(db->ndb, sizeof(*db->oidx)))) return LT_NOMEM;
    for (unsigned d = 0; d < db->ndb; d++)
        if (!(db->oidx[d] = oindex_new())) return LT_NOMEM;
    ks_view v;
    ks_view_open(db, &v);
    int rc = LT_OK;
    for (unsigned d = 0; d < db->ndb && rc == LT_OK; d++) {
        ks_view_iter it;
        build_ctx b = {db->oidx[d], LT_OK};
        ks_view_iter_init(&it, &v, d);
        while (ks_view_iter_next(&it, 1024, build_one, &b) && b.rc == LT_OK) {
        }
        ks_view_iter_close(&it);
        rc = b.rc;
    }
    ks_view_close(&v);
    return rc;
}

int lt_db_open(const lt_config *cfg, lt_db **out) {
    lt_config def;
    if (!out) return LT_INVAL;
    *out = NULL;
    if (!cfg) {
        lt_config_init(&def);
        cfg = &def;
    }
    if (cfg->flags & ~(LT_DB_ORDERED | LT_DB_REPAIR)) return LT_INVAL;
    lt_db *db;
    int rc = ks_db_create(cfg, &db);
    if (rc != LT_OK) return rc;
    if (cfg->dir) rc = store_open(db, cfg);
    if (rc == LT_OK && (cfg->flags & LT_DB_ORDERED)) rc = oindex_build(db);
    if (rc != LT_OK) {
        lt_db_close(db);
        return rc;
    }
    *out = db;
    return LT_OK;
}

void lt_db_close(lt_db *db) {
    if (!db) return;
    store_close(db);
    oindex_free_all(db);
    ks_db_destroy(db);
}

uint64_t lt_db_durable_lsn(lt_db *db) {
    return db && db->store ? store_durable_lsn(db->store) : 0;
}

int lt_db_sync(lt_db *db, uint64_t lsn) {
    if (!db) return LT_INVAL;
    return db->store ? store_sync(db->store, lsn) : LT_OK;
}

void lt_db_stat(lt_db *db, lt_stat *st) {
    memset(st, 0, sizeof(*st));
    if (db && db->store) store_stat(db->store, st);
}

int lt_db_reserve(lt_db *db, unsigned dbid, uint64_t nkeys) {
    if (!db || dbid >= db->ndb || nkeys > ((uint64_t)1 << 40)) return LT_INVAL;
    return ks_db_reserve(db, dbid, nkeys);
}

int lt_db_checkpoint(lt_db *db) {
    if (!db || !db->store) return LT_INVAL;
    return store_checkpoint(db);
}

/* ---- Arena: bump allocation for key/value copies, freed with the txn ---- */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

/* Chunks double from ARENA_FIRST to ARENA_CHUNK: a one-put transaction
 * allocates a small chunk, not 64 KiB of fresh pages. */
#define ARENA_FIRST 512
#define ARENA_CHUNK 65536

static void *arena_alloc(arena_chunk **head, size_t n) {
    arena_chunk *c = *head;
    n = (n + 7) & ~(size_t)7;
    if (!c || c->cap - c->used < n) {
        size_t grow = c ? (c->cap >= ARENA_CHUNK / 2 ? ARENA_CHUNK : c->cap * 2) : ARENA_FIRST;
        size_t cap = n > grow / 2 ? n : grow;
        c = malloc(sizeof(*c) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        if (cap == n && n > grow / 2 && *head) {
            /* Big allocation: keep filling the current chunk afterwards. */
            c->next = (*head)->next;
            (*head)->next = c;
        } else {
            c->next = *head;
            *head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(arena_chunk *c) {
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* ---- Transactions ---------------------------------------------------------- */

typedef struct wop {
    unsigned dbid;
    int del;
    uint64_t hash; /* op_hash: the txn's own index */
    uint64_t kh;   /* ks_hash: the keyspace's, for the commit */
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
} wop;

typedef struct rkey {
    unsigned dbid;
    const char *key;
    size_t klen;
} rkey;

#define TXN_INLINE_OPS 4

struct lt_txn {
    lt_db *db;
    unsigned flags;
    int failed;
    ks_view view;
    arena_chunk *arena;
    wop *ops;
    size_t nops, capops;
    uint32_t *index; /* open addressing over ops: op index + 1, 0 empty */
    size_t index_cap; /* power of two, >= 2 * nops */
    rkey *reads;
    size_t nreads, capreads;
    /* Small transactions need no allocation for these. */
    wop ops_inline[TXN_INLINE_OPS];
    uint32_t index_inline[2 * TXN_INLINE_OPS];
};

int lt_txn_begin(lt_db *db, unsigned flags, lt_txn **out) {
    if (!db || !out || (flags & ~(LT_TXN_RDONLY | LT_TXN_NOSYNC))) return LT_INVAL;
    lt_txn *t = calloc(1, sizeof(*t));
    if (!t) return LT_NOMEM;
    t->db = db;
    t->flags = flags;
    t->ops = t->ops_inline;
    t->capops = TXN_INLINE_OPS;
    t->index = t->index_inline;
    t->index_cap = 2 * TXN_INLINE_OPS;
    ks_view_open(db, &t->view);
    *out = t;
    return LT_OK;
}

static void txn_free(lt_txn *t) {
    ks_view_close(&t->view);
    arena_free(t->arena);
    if (t->ops != t->ops_inline) free(t->ops);
    if (t->index != t->index_inline) free(t->index);
    free(t->reads);
    free(t);
}

void lt_txn_abort(lt_txn *txn) {
    if (txn) txn_free(txn);
}

uint64_t lt_txn_snapshot_ts(const lt_txn *txn) { return txn->view.ts; }

static int wop_matches(const wop *o, unsigned dbid, const void *key,
                       size_t klen) {
    return o->dbid == dbid && o->klen == klen && memcmp(o->key, key, klen) == 0;
}

static uint64_t op_hash_of(uint64_t kh, unsigned dbid) {
    return kh ^ ((uint64_t)dbid * 0x9e3779b97f4a7c15ULL);
}

static uint64_t op_hash(lt_db *db, unsigned dbid, const void *key, size_t klen) {
    return op_hash_of(ks_hash(db, key, klen), dbid);
}

static wop *find_op(lt_txn *t, unsigned dbid, const void *key, size_t klen,
                    uint64_t h) {
    if (t->nops == 0) return NULL;
    size_t mask = t->index_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t slot = t->index[i];
        if (slot == 0) return NULL;
        wop *o = &t->ops[slot - 1];
        if (o->hash == h && wop_matches(o, dbid, key, klen)) return o;
    }
}

static int index_rebuild(lt_txn *t, size_t cap) {
    uint32_t *idx = calloc(cap, sizeof(*idx));
    if (!idx) return LT_NOMEM;
    for (size_t k = 0; k < t->nops; k++) {
        size_t i = t->ops[k].hash & (cap - 1);
        while (idx[i]) i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)(k + 1);
    }
    if (t->index != t->index_inline) free(t->index);
    t->index = idx;
    t->index_cap = cap;
    return LT_OK;
}

static int check_args(lt_txn *t, unsigned dbid, const void *key, size_t klen) {
    if (!t || (!key && klen) || dbid >= t->db->ndb || klen > KS_MAX_LEN)
        return LT_INVAL;
    return LT_OK;
}

static int record_read(lt_txn *t, unsigned dbid, const void *key, size_t klen) {
    if (t->flags & LT_TXN_RDONLY) return LT_OK;
    if (t->nreads == t->capreads) {
        size_t cap = t->capreads ? t->capreads * 2 : 16;
        rkey *r = realloc(t->reads, cap * sizeof(*r));
        if (!r) return LT_NOMEM;
        t->reads = r;
        t->capreads = cap;
    }
    char *k = arena_alloc(&t->arena, klen);
    if (!k) return LT_NOMEM;
    memcpy(k, key, klen);
    t->reads[t->nreads++] = (rkey){.dbid = dbid, .key = k, .klen = klen};
    return LT_OK;
}

/* Value bytes of a visible string entry; int encodings are rendered into
 * the arena so the pointer lives as long as the txn. */
static int entry_value(lt_txn *t, const ks_entry *e, const void **val,
                       size_t *vlen) {
    if (e->type != KS_TYPE_STRING) return LT_WRONGTYPE;
    char buf[LT_LLSTR_SIZE];
    size_t n;
    const char *p = ks_entry_str(e, buf, &n);
    if (p == buf) {
        char *copy = arena_alloc(&t->arena, n);
        if (!copy) return LT_NOMEM;
        memcpy(copy, buf, n);
        p = copy;
    }
    if (val) *val = p;
    if (vlen) *vlen = n;
    return LT_OK;
}

int lt_get(lt_txn *txn, unsigned dbid, const void *key, size_t klen,
           const void **val, size_t *vlen) {
    int rc = check_args(txn, dbid, key, klen);
    if (rc != LT_OK) return rc;
    if (txn->nops) {
        wop *o = find_op(txn, dbid, key, klen,
                         op_hash(txn->db, dbid, key, klen));
        if (o) {
            if (o->del) return LT_NOTFOUND;
            if (val) *val = o->val;
            if (vlen) *vlen = o->vlen;
            return LT_OK;
        }
    }
    if (ks_view_doomed(&txn->view)) return LT_TXN_TOO_OLD;
    const ks_entry *e = ks_view_get(&txn->view, dbid, key, klen);
    rc = record_read(txn, dbid, key, klen);
    if (rc != LT_OK) return rc;
    if (!e) return LT_NOTFOUND;
    return entry_value(txn, e, val, vlen);
}

/* Keys lt_get_many and an ordered cursor look up per ks_view_get_batch. */
#define LT_GET_BATCH 16
_Static_assert(LT_GET_BATCH <= KS_VIEW_BATCH_MAX, "a batch fits ks_view_get_batch");

int lt_get_many(lt_txn *txn, unsigned dbid, size_t n, const void *const *keys,
                const size_t *klens, const void **vals, size_t *vlens, int *rcs) {
    if (!txn || dbid >= txn->db->ndb || (n && (!keys || !klens || !rcs))) return LT_INVAL;
    for (size_t i = 0; i < n; i++)
        if ((!keys[i] && klens[i]) || klens[i] > KS_MAX_LEN) return LT_INVAL;
    if (!(txn->flags & LT_TXN_RDONLY) || txn->nops) {
        /* Own writes and read-set bookkeeping: one key at a time. */
        for (size_t i = 0; i < n; i++) {
            rcs[i] = lt_get(txn, dbid, keys[i], klens[i], vals ? &vals[i] : NULL,
                            vlens ? &vlens[i] : NULL);
            if (rcs[i] == LT_NOMEM) return LT_NOMEM;
        }
        return LT_OK;
    }
    for (size_t base = 0; base < n; base += LT_GET_BATCH) {
        size_t m = n - base < LT_GET_BATCH ? n - base : LT_GET_BATCH;
        ks_key kk[LT_GET_BATCH];
        uint64_t hashes[LT_GET_BATCH];
        for (size_t i = 0; i < m; i++)
            kk[i] = (ks_key){dbid, keys[base + i], klens[base + i]};
        const ks_entry *ents[LT_GET_BATCH];
        ks_view_get_batch(&txn->view, kk, m, hashes, ents);
        for (size_t i = 0; i < m; i++) {
            size_t j = base + i;
            const ks_entry *e = ents[i];
            rcs[j] = e ? entry_value(txn, e, vals ? &vals[j] : NULL, vlens ? &vlens[j] : NULL)
                       : LT_NOTFOUND;
            if (rcs[j] == LT_NOMEM) return LT_NOMEM;
        }
    }
    return LT_OK;
}

static int add_op(lt_txn *t, unsigned dbid, const void *key, size_t klen,
                  const void *val, size_t vlen, int del) {
    uint64_t kh = ks_hash(t->db, key, klen), h = op_hash_of(kh, dbid);
    wop *o = find_op(t, dbid, key, klen, h);
    char *v = NULL;
    if (!del) {
        v = arena_alloc(&t->arena, vlen);
        if (!v) return LT_NOMEM;
        if (vlen) memcpy(v, val, vlen);
    }
    if (o) { /* last write wins; the key copy is reused */
        o->del = del;
        o->val = v;
        o->vlen = del ? 0 : vlen;
        return LT_OK;
    }
    if (t->nops == t->capops) {
        size_t cap = t->capops ? t->capops * 2 : 16;
        if (cap > UINT32_MAX - 1) return LT_NOMEM;
        wop *ops = t->ops == t->ops_inline ? malloc(cap * sizeof(*ops))
                                           : realloc(t->ops, cap * sizeof(*ops));
        if (!ops) return LT_NOMEM;
        if (t->ops == t->ops_inline) memcpy(ops, t->ops_inline, sizeof(t->ops_inline));
        t->ops = ops;
        t->capops = cap;
    }
    char *k = arena_alloc(&t->arena, klen);
    if (!k) return LT_NOMEM;
    if (klen) memcpy(k, key, klen);
    t->ops[t->nops++] = (wop){.dbid = dbid, .del = del, .hash = h, .kh = kh, .key = k,
                              .klen = klen, .val = v, .vlen = del ? 0 : vlen};
    if (t->nops * 2 > t->index_cap) {
        if (index_rebuild(t, t->index_cap ? t->index_cap * 2 : 32) != LT_OK) {
            t->nops--;
            return LT_NOMEM;
        }
    } else {
        size_t mask = t->index_cap - 1, i = h & mask;
        while (t->index[i]) i = (i + 1) & mask;
        t->index[i] = (uint32_t)t->nops;
    }
    return LT_OK;
}

int lt_put(lt_txn *txn, unsigned dbid, const void *key, size_t klen,
           const void *val, size_t vlen) {
    int rc = check_args(txn, dbid, key, klen);
    if (rc != LT_OK) return rc;
    if (txn->flags & LT_TXN_RDONLY) return LT_RDONLY;
    if ((!val && vlen) || vlen > KS_MAX_LEN) return LT_INVAL;
    if (txn->failed) return LT_BADTXN;
    rc = add_op(txn, dbid, key, klen, val, vlen, 0);
    if (rc != LT_OK) txn->failed = 1;
    return rc;
}

int lt_del(lt_txn *txn, unsigned dbid, const void *key, size_t klen) {
    int rc = check_args(txn, dbid, key, klen);
    if (rc != LT_OK) return rc;
    if (txn->flags & LT_TXN_RDONLY) return LT_RDONLY;
    if (txn->failed) return LT_BADTXN;
    if (ks_view_doomed(&txn->view)) return LT_TXN_TOO_OLD;
    int exists;
    wop *o = txn->nops ? find_op(txn, dbid, key, klen,
                                 op_hash(txn->db, dbid, key, klen))
                       : NULL;
    if (o) exists = !o->del;
    else exists = ks_view_get(&txn->view, dbid, key, klen) != NULL;
    rc = add_op(txn, dbid, key, klen, NULL, 0, 1);
    if (rc != LT_OK) {
        txn->failed = 1;
        return rc;
    }
    return exists ? LT_OK : LT_NOTFOUND;
}

/* Checks, under the commit's locks, that no key read or written changed
 * after the snapshot. keys/hashes: the commit's keys (writes first, then
 * reads), looked up 16 at a time after a prefetch of the 16, so a big
 * transaction pays a few miss times per 16 keys instead of one or two
 * per key. */
static int validate(lt_txn *t, ks_txn *k, const ks_key *keys, const uint64_t *hashes,
                    size_t n) {
    uint64_t snap = t->view.ts;
    for (size_t w = 0; w < n; w += KS_PREFETCH_MAX) {
        size_t m = n - w < KS_PREFETCH_MAX ? n - w : KS_PREFETCH_MAX;
        if (n > 1) ks_txn_prefetch_hashed(k, keys + w, hashes + w, m);
        for (size_t i = w; i < w + m; i++)
            if (ks_key_ts(k, keys[i].dbid, keys[i].key, keys[i].klen) > snap) return LT_CONFLICT;
    }
    return LT_OK;
}

/* Ordered engines, under the commit's locks before its writes: every key
 * it creates enters the index before any view can see it. */
static int oindex_add_puts(lt_txn *t) {
    for (size_t i = 0; i < t->nops; i++) {
        const wop *o = &t->ops[i];
        if (!o->del && oindex_put(t->db->oidx[o->dbid], o->key, o->klen) != LT_OK)
            return LT_NOMEM;
    }
    return LT_OK;
}

int lt_txn_commit(lt_txn *txn) { return lt_txn_commit_lsn(txn, NULL); }

int lt_txn_commit_lsn(lt_txn *txn, uint64_t *lsn_out) {
    if (lsn_out) *lsn_out = 0;
    if (!txn) return LT_INVAL;
    if (txn->failed) {
        txn_free(txn);
        return LT_BADTXN;
    }
    if (ks_view_doomed(&txn->view)) {
        txn_free(txn);
        return LT_TXN_TOO_OLD;
    }
    if (txn->nops == 0) {
        txn_free(txn);
        return LT_OK;
    }
    lt_db *db = txn->db;
    size_t n = txn->nreads + txn->nops;
    ks_key stackkeys[8];
    uint64_t stackhashes[8];
    ks_key *keys = stackkeys;
    uint64_t *hashes = stackhashes;
    if (n > 8) {
        keys = malloc(n * (sizeof(*keys) + sizeof(*hashes)));
        if (!keys) {
            txn_free(txn);
            return LT_NOMEM;
        }
        hashes = (uint64_t *)(void *)(keys + n);
    }
    for (size_t i = 0; i < txn->nops; i++) {
        keys[i] = (ks_key){txn->ops[i].dbid, txn->ops[i].key, txn->ops[i].klen};
        hashes[i] = txn->ops[i].kh;
    }
    for (size_t i = 0; i < txn->nreads; i++) {
        const rkey *r = &txn->reads[i];
        keys[txn->nops + i] = (ks_key){r->dbid, r->key, r->klen};
        hashes[txn->nops + i] = ks_hash(db, r->key, r->klen);
    }
    ks_txn k;
    ks_txn_begin_hashed(&k, db, keys, hashes, n);
    int rc = validate(txn, &k, keys, hashes, n);
    if (rc == LT_OK && db->oidx) rc = oindex_add_puts(txn);
    uint64_t lsn = 0;
    size_t ndel = 0;
    if (rc == LT_OK) {
        for (size_t i = 0; i < txn->nops; i++) {
            const wop *o = &txn->ops[i];
            /* The writes' lines, fetched by validate, may have left the
             * cache in a big transaction: prefetched again 16 ahead. */
            if (i % KS_PREFETCH_MAX == 0 && n > KS_PREFETCH_MAX)
                ks_txn_prefetch_hashed(&k, keys + i, hashes + i,
                                       txn->nops - i < KS_PREFETCH_MAX ? txn->nops - i
                                                                       : KS_PREFETCH_MAX);
            if (o->del) {
                if (ks_delete(&k, o->dbid, o->key, o->klen) == LT_OK && db->oidx) {
                    oindex_del(db->oidx[o->dbid], o->key, o->klen, ks_txn_ts(&k));
                    ndel++;
                }
            } else {
                ks_set_str(&k, o->dbid, o->key, o->klen, o->val, o->vlen,
                           KS_EXPIRE_NONE, KS_SET_NOINT);
            }
        }
        if (db->store) {
            store_op one, *sops = txn->nops == 1 ? &one : malloc(txn->nops * sizeof(*sops));
            if (!sops) abort(); /* committed values are stored: must log them */
            for (size_t i = 0; i < txn->nops; i++) {
                const wop *o = &txn->ops[i];
                sops[i] = (store_op){o->dbid, o->del, o->key, o->klen, o->val, o->vlen};
            }
            lsn = store_log(db->store, &k, sops, txn->nops);
            if (sops != &one) free(sops);
        }
    }
    ks_txn_commit(&k);
    if (keys != stackkeys) free(keys);
    if (db->oidx) {
        /* Deleted keys leave the index once no view is older than their
         * deletion: a bounded step per commit, a bit more than it adds. */
        uint64_t horizon = atomic_load(&db->mvcc.view_min);
        for (unsigned d = 0; d < db->ndb; d++) oindex_purge(db->oidx[d], horizon, 2 * ndel + 4);
    }
    if (lsn) {
        int wrc = store_commit_wait(db->store, lsn, !(txn->flags & LT_TXN_NOSYNC));
        if (wrc != LT_OK) rc = wrc;
        if (lsn_out) *lsn_out = lsn;
    }
    txn_free(txn);
    return rc;
}

/* ---- Cursors ------------------------------------------------------------------
 * Unordered: batches of entries from a view iterator (hash order).
 * Ordered: the cursor is a gap between keys (gmode + a copy of the key it
 * borders); keys come from the database's oindex in batches of
 * CURSOR_BATCH copied keys, each checked against the txn's view. */

enum { GAP_START, GAP_END, GAP_BEFORE, GAP_AFTER };

struct lt_cursor {
    lt_txn *txn;
    unsigned dbid;
    ks_view_iter it;
    const ks_entry **buf;
    size_t n, pos, cap;
    int done;
    int oom;
    /* Ordered. */
    oindex *ox;
    int gmode;
    char *gkey;           /* GAP_BEFORE / GAP_AFTER: the bordering key */
    size_t gklen, gkcap;
    int bdir;             /* batch direction: 1, -1, 0 none */
    int bend;             /* the batch reached the end of the index */
    char *kbuf;           /* batch key bytes */
    size_t kused, kcap;
    size_t koff[64], klen[64];
    uint64_t khash[64];   /* keyspace hashes (from ks_view_get_batch) */
    const ks_entry *kent[64]; /* each key's version in the view, or NULL */
    oindex_resume resume; /* where the last batch ended in the index */
    size_t bn, bpos;
    int boom;
};

/* Entries handed to the cursor per shard lock hold / keys per index batch. */
#define CURSOR_BATCH 64

int lt_cursor_open(lt_txn *txn, unsigned dbid, lt_cursor **out) {
    if (!txn || !out || dbid >= txn->db->ndb) return LT_INVAL;
    lt_cursor *c = calloc(1, sizeof(*c));
    if (!c) return LT_NOMEM;
    c->txn = txn;
    c->dbid = dbid;
    if (txn->db->oidx) {
        c->ox = txn->db->oidx[dbid];
        c->gmode = GAP_START;
    } else {
        ks_view_iter_init(&c->it, &txn->view, dbid);
    }
    *out = c;
    return LT_OK;
}

static void cursor_push(void *ctx, const ks_entry *e) {
    lt_cursor *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 128;
        const ks_entry **b = realloc(c->buf, cap * sizeof(*b));
        if (!b) {
            c->oom = 1;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    c->buf[c->n++] = e;
}

static int batch_add(void *ctx, const char *key, size_t klen) {
    lt_cursor *c = ctx;
    if (c->kcap - c->kused < klen) {
        size_t cap = c->kcap ? c->kcap : 4096;
        while (cap - c->kused < klen) cap *= 2;
        char *b = realloc(c->kbuf, cap);
        if (!b) {
            c->boom = 1;
            return 1;
        }
        c->kbuf = b;
        c->kcap = cap;
    }
    if (klen) memcpy(c->kbuf + c->kused, key, klen);
    c->koff[c->bn] = c->kused;
    c->klen[c->bn++] = klen;
    c->kused += klen;
    return 0;
}

static int gap_set(lt_cursor *c, int mode, const char *key, size_t klen) {
    if (mode == GAP_BEFORE || mode == GAP_AFTER) {
        if (c->gkcap < klen) {
            char *b = realloc(c->gkey, klen);
            if (!b) return LT_NOMEM;
            c->gkey = b;
            c->gkcap = klen;
        }
        if (klen) memcpy(c->gkey, key, klen);
        c->gklen = klen;
    }
    c->gmode = mode;
    return LT_OK;
}

/* Refills the batch in direction dir from the gap. LT_OK, LT_NOTFOUND
 * (nothing that way), LT_NOMEM. */
static int batch_fill(lt_cursor *c, int dir) {
    int mode;
    /* The gap is right after the last key of a batch taken in this
     * direction and consumed whole: the index can go on from there. */
    oindex_resume *rs = c->bdir == dir && c->bn > 0 && c->bpos == c->bn ? &c->resume : NULL;
    if (!rs) c->resume.valid = 0;
    c->bn = c->bpos = c->kused = 0;
    c->bdir = dir;
    c->boom = 0;
    if (dir > 0) {
        if (c->gmode == GAP_END) return LT_NOTFOUND;
        mode = c->gmode == GAP_START    ? OINDEX_FIRST
               : c->gmode == GAP_BEFORE ? OINDEX_FWD_GE
                                        : OINDEX_FWD_GT;
    } else {
        if (c->gmode == GAP_START) return LT_NOTFOUND;
        mode = c->gmode == GAP_END     ? OINDEX_LAST
               : c->gmode == GAP_AFTER ? OINDEX_BACK_LE
                                       : OINDEX_BACK_LT;
    }
    oindex_collect(c->ox, mode, c->gkey, c->gklen, CURSOR_BATCH, batch_add, c, rs);
    if (c->boom) {
        c->bn = 0;
        c->bdir = 0;
        return LT_NOMEM;
    }
    c->bend = c->bn < CURSOR_BATCH;
    if (c->bn == 0) {
        c->bdir = 0;
        return LT_NOTFOUND;
    }
    /* The lookups miss in a large keyspace: they are made here, 16 at a
     * time after the loads of the 16 were started, each shard locked once
     * per 16 (the entries stay valid while the view is open). */
    for (size_t base = 0; base < c->bn; base += LT_GET_BATCH) {
        size_t m = c->bn - base < LT_GET_BATCH ? c->bn - base : LT_GET_BATCH;
        ks_key kk[LT_GET_BATCH];
        for (size_t i = 0; i < m; i++)
            kk[i] = (ks_key){c->dbid, c->kbuf + c->koff[base + i], c->klen[base + i]};
        ks_view_get_batch(&c->txn->view, kk, m, c->khash + base, c->kent + base);
    }
    return LT_OK;
}

/* Steps the ordered cursor in direction dir to the next visible string. */
static int ordered_step(lt_cursor *cur, int dir, const void **key, size_t *klen,
                        const void **val, size_t *vlen) {
    for (;;) {
        if (cur->bdir != dir || cur->bpos == cur->bn) {
            if (cur->bdir == dir && cur->bend) {
                gap_set(cur, dir > 0 ? GAP_END : GAP_START, NULL, 0);
                cur->bdir = 0;
                return LT_NOTFOUND;
            }
            int rc = batch_fill(cur, dir);
            if (rc == LT_NOTFOUND) gap_set(cur, dir > 0 ? GAP_END : GAP_START, NULL, 0);
            if (rc != LT_OK) return rc;
        }
        const char *k = cur->kbuf + cur->koff[cur->bpos];
        size_t kl = cur->klen[cur->bpos];
        const ks_entry *e = cur->kent[cur->bpos++];
        if (gap_set(cur, dir > 0 ? GAP_AFTER : GAP_BEFORE, k, kl) != LT_OK) {
            cur->bpos--;
            return LT_NOMEM;
        }
        if (!e || e->type != KS_TYPE_STRING) continue;
        if (val || vlen) {
            int rc = entry_value(cur->txn, e, val, vlen);
            if (rc != LT_OK) return rc;
        }
        if (key) *key = entry_keyp(e);
        if (klen) *klen = e->klen;
        return LT_OK;
    }
}

int lt_cursor_next(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen) {
    if (!cur) return LT_INVAL;
    if (cur->ox) return ordered_step(cur, 1, key, klen, val, vlen);
    for (;;) {
        while (cur->pos < cur->n) {
            const ks_entry *e = cur->buf[cur->pos++];
            if (e->type != KS_TYPE_STRING) continue;
            if (val || vlen) {
                int rc = entry_value(cur->txn, e, val, vlen);
                if (rc != LT_OK) return rc;
            }
            if (key) *key = entry_keyp(e);
            if (klen) *klen = e->klen;
            return LT_OK;
        }
        if (cur->done) return LT_NOTFOUND;
        if (ks_view_doomed(cur->it.view)) return LT_TXN_TOO_OLD;
        cur->n = cur->pos = 0;
        if (!ks_view_iter_next(&cur->it, CURSOR_BATCH, cursor_push, cur))
            cur->done = 1;
        if (cur->oom) return LT_NOMEM;
    }
}

int lt_cursor_prev(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen) {
    if (!cur || !cur->ox) return LT_INVAL;
    return ordered_step(cur, -1, key, klen, val, vlen);
}

int lt_cursor_seek(lt_cursor *cur, const void *key, size_t klen) {
    if (!cur || !cur->ox || (!key && klen) || klen > KS_MAX_LEN) return LT_INVAL;
    cur->bdir = 0;
    return gap_set(cur, GAP_BEFORE, key, klen);
}

int lt_cursor_seek_end(lt_cursor *cur) {
    if (!cur || !cur->ox) return LT_INVAL;
    cur->bdir = 0;
    return gap_set(cur, GAP_END, NULL, 0);
}

void lt_cursor_close(lt_cursor *cur) {
    if (!cur) return;
    if (!cur->ox) ks_view_iter_close(&cur->it);
    free(cur->buf);
    free(cur->gkey);
    free(cur->kbuf);
    free(cur);
}
