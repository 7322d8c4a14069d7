/*
 * embedded.c — the public embedded API of include/lightning.h: optimistic
 * snapshot transactions and cursors on top of the engine's views (mvcc.h)
 * and locking transactions (txn.h), i.e. the same code paths the server
 * uses.
 *
 * Owns: lt_txn (a view + buffered writes + read set) and lt_cursor.
 * Invariants: an lt_txn holds an open view from begin to end, so every
 * pointer it returned stays valid until then; write and read sets only
 * grow; key/value bytes they reference live in the txn's arena. Commit
 * locks the shards of all read and written keys in ascending order (via
 * ks_txn_begin), checks that no key's current version is newer than the
 * snapshot, then applies the writes under those locks.
 * Called by: applications linking liblightning, tests, tools.
 */
#include "lightning.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "engine/entry_int.h"
#include "engine/keyspace.h"
#include "engine/keyspace_int.h"
#include "engine/mvcc.h"

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
    default: return "unknown error";
    }
}

/* ---- Arena: bump allocation for key/value copies, freed with the txn ---- */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
} arena_chunk;

#define ARENA_CHUNK 65536

static void *arena_alloc(arena_chunk **head, size_t n) {
    arena_chunk *c = *head;
    n = (n + 7) & ~(size_t)7;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        if (cap == n && *head) {
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
    uint64_t hash;
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
};

int lt_txn_begin(lt_db *db, unsigned flags, lt_txn **out) {
    if (!db || !out || (flags & ~LT_TXN_RDONLY)) return LT_INVAL;
    lt_txn *t = calloc(1, sizeof(*t));
    if (!t) return LT_NOMEM;
    t->db = db;
    t->flags = flags;
    ks_view_open(db, &t->view);
    *out = t;
    return LT_OK;
}

static void txn_free(lt_txn *t) {
    ks_view_close(&t->view);
    arena_free(t->arena);
    free(t->ops);
    free(t->index);
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

static uint64_t op_hash(lt_db *db, unsigned dbid, const void *key, size_t klen) {
    return ks_hash(db, key, klen) ^ ((uint64_t)dbid * 0x9e3779b97f4a7c15ULL);
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
    free(t->index);
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

static int add_op(lt_txn *t, unsigned dbid, const void *key, size_t klen,
                  const void *val, size_t vlen, int del) {
    uint64_t h = op_hash(t->db, dbid, key, klen);
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
        wop *ops = realloc(t->ops, cap * sizeof(*ops));
        if (!ops) return LT_NOMEM;
        t->ops = ops;
        t->capops = cap;
    }
    char *k = arena_alloc(&t->arena, klen);
    if (!k) return LT_NOMEM;
    if (klen) memcpy(k, key, klen);
    t->ops[t->nops++] = (wop){.dbid = dbid, .del = del, .hash = h, .key = k,
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
 * after the snapshot. */
static int validate(lt_txn *t, ks_txn *k) {
    uint64_t snap = t->view.ts;
    for (size_t i = 0; i < t->nreads; i++)
        if (ks_key_ts(k, t->reads[i].dbid, t->reads[i].key, t->reads[i].klen) > snap)
            return LT_CONFLICT;
    for (size_t i = 0; i < t->nops; i++)
        if (ks_key_ts(k, t->ops[i].dbid, t->ops[i].key, t->ops[i].klen) > snap)
            return LT_CONFLICT;
    return LT_OK;
}

int lt_txn_commit(lt_txn *txn) {
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
    size_t n = txn->nreads + txn->nops;
    ks_key *keys = malloc(n * sizeof(*keys));
    if (!keys) {
        txn_free(txn);
        return LT_NOMEM;
    }
    for (size_t i = 0; i < txn->nops; i++)
        keys[i] = (ks_key){txn->ops[i].dbid, txn->ops[i].key, txn->ops[i].klen};
    for (size_t i = 0; i < txn->nreads; i++)
        keys[txn->nops + i] =
            (ks_key){txn->reads[i].dbid, txn->reads[i].key, txn->reads[i].klen};
    ks_txn k;
    ks_txn_begin(&k, txn->db, keys, n);
    free(keys);
    int rc = validate(txn, &k);
    if (rc == LT_OK) {
        for (size_t i = 0; i < txn->nops; i++) {
            const wop *o = &txn->ops[i];
            if (o->del)
                ks_delete(&k, o->dbid, o->key, o->klen);
            else
                ks_set_str(&k, o->dbid, o->key, o->klen, o->val, o->vlen,
                           KS_EXPIRE_NONE, KS_SET_NOINT);
        }
    }
    ks_txn_commit(&k);
    txn_free(txn);
    return rc;
}

/* ---- Cursors ------------------------------------------------------------------ */

struct lt_cursor {
    lt_txn *txn;
    ks_view_iter it;
    const ks_entry **buf;
    size_t n, pos, cap;
    int done;
    int oom;
};

int lt_cursor_open(lt_txn *txn, unsigned dbid, lt_cursor **out) {
    if (!txn || !out || dbid >= txn->db->ndb) return LT_INVAL;
    lt_cursor *c = calloc(1, sizeof(*c));
    if (!c) return LT_NOMEM;
    c->txn = txn;
    ks_view_iter_init(&c->it, &txn->view, dbid);
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

/* Entries handed to the cursor per shard lock hold. */
#define CURSOR_BATCH 64

int lt_cursor_next(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen) {
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

void lt_cursor_close(lt_cursor *cur) {
    if (!cur) return;
    ks_view_iter_close(&cur->it);
    free(cur->buf);
    free(cur);
}
