/*
 * oindex.c — ordered key index (contract and invariants in oindex.h).
 *
 * Items are btree.c's zelem with score 0, so the tree order is the key
 * bytes' order; each item is embedded in an oentry that carries its
 * deletion ts (0 = live). Deletions queue a copy of the key (FIFO, so
 * deletion timestamps ascend along it) for oindex_purge.
 */
#include "engine/oindex.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/btree.h"
#include "lightning.h"

typedef struct oentry {
    uint64_t del_ts; /* 0: live */
    zelem z;         /* last: its member bytes follow */
} oentry;

typedef struct oqnode {
    struct oqnode *next;
    uint64_t ts;
    size_t klen;
    char key[];
} oqnode;

struct oindex {
    pthread_rwlock_t lock;
    bt_tree tree;
    uint64_t mods; /* items added or removed (write lock): resume check */
    oqnode *qhead, *qtail;
};

#define OENTRY(e) ((oentry *)((char *)(e) - offsetof(oentry, z)))

oindex *oindex_new(void) {
    oindex *x = calloc(1, sizeof(*x));
    if (!x) return NULL;
    pthread_rwlock_init(&x->lock, NULL);
    bt_init(&x->tree);
    return x;
}

static void free_item(zelem *e) { free(OENTRY(e)); }

void oindex_free(oindex *x) {
    if (!x) return;
    bt_clear(&x->tree, free_item);
    while (x->qhead) {
        oqnode *n = x->qhead->next;
        free(x->qhead);
        x->qhead = n;
    }
    pthread_rwlock_destroy(&x->lock);
    free(x);
}

typedef struct bound {
    const char *k;
    size_t klen;
    int inclusive; /* items <= k count as before */
} bound;

static int before(const zelem *e, void *ctx) {
    const bound *b = ctx;
    int c = zelem_cmp_key(e, 0, b->k, b->klen);
    return b->inclusive ? c <= 0 : c < 0;
}

/* Rank of the first item >= k (inclusive 0) or > k (inclusive 1). */
static uint64_t rank_of(const oindex *x, const char *k, size_t klen, int inclusive) {
    bound b = {k, klen, inclusive};
    return bt_count_before(&x->tree, before, &b);
}

/* The item equal to k, or NULL. Lock held. */
static oentry *find(oindex *x, const char *k, size_t klen) {
    uint64_t r = rank_of(x, k, klen, 0);
    bt_pos pos;
    if (!bt_seek(&x->tree, r, &pos)) return NULL;
    zelem *e = bt_item(&pos);
    return zelem_cmp_key(e, 0, k, klen) == 0 ? OENTRY(e) : NULL;
}

int oindex_put(oindex *x, const char *key, size_t klen) {
    pthread_rwlock_wrlock(&x->lock);
    oentry *o = find(x, key, klen);
    int rc = LT_OK;
    if (o) {
        o->del_ts = 0;
    } else if (!(o = malloc(offsetof(oentry, z) + ZELEM_SIZE(klen)))) {
        rc = LT_NOMEM;
    } else {
        o->del_ts = 0;
        o->z.hnext = NULL;
        o->z.score = 0;
        o->z.len = (uint32_t)klen;
        if (klen) memcpy(o->z.member, key, klen);
        bt_insert(&x->tree, &o->z);
        x->mods++;
    }
    pthread_rwlock_unlock(&x->lock);
    return rc;
}

int oindex_del(oindex *x, const char *key, size_t klen, uint64_t ts) {
    oqnode *q = malloc(sizeof(*q) + klen);
    pthread_rwlock_wrlock(&x->lock);
    oentry *o = find(x, key, klen);
    int rc = LT_OK;
    if (o && !q) {
        rc = LT_NOMEM; /* stays live-marked: a superset is still correct */
    } else if (o) {
        o->del_ts = ts;
        q->next = NULL;
        q->ts = ts;
        q->klen = klen;
        if (klen) memcpy(q->key, key, klen);
        if (x->qtail) x->qtail->next = q;
        else __atomic_store_n(&x->qhead, q, __ATOMIC_RELAXED);
        x->qtail = q;
        q = NULL;
    }
    pthread_rwlock_unlock(&x->lock);
    free(q);
    return rc;
}

void oindex_purge(oindex *x, uint64_t horizon, size_t budget) {
    /* Lock-free peek (qhead is stored atomically under the lock): most
     * commits find nothing to purge and take no lock. */
    if (!__atomic_load_n(&x->qhead, __ATOMIC_RELAXED)) return;
    pthread_rwlock_wrlock(&x->lock);
    while (budget-- && x->qhead && x->qhead->ts <= horizon) {
        oqnode *q = x->qhead;
        __atomic_store_n(&x->qhead, q->next, __ATOMIC_RELAXED);
        if (!x->qhead) x->qtail = NULL;
        oentry *o = find(x, q->key, q->klen);
        /* Live again, or deleted again later (its own node comes later). */
        if (o && o->del_ts && o->del_ts <= horizon) {
            zelem *e = bt_remove(&x->tree, 0, q->key, q->klen);
            free(OENTRY(e));
            x->mods++;
        }
        free(q);
    }
    pthread_rwlock_unlock(&x->lock);
}

size_t oindex_collect(oindex *x, int mode, const char *k, size_t klen, size_t max,
                      oindex_key_fn *fn, void *ctx, oindex_resume *resume) {
    size_t n = 0;
    pthread_rwlock_rdlock(&x->lock);
    uint64_t count = x->tree.count, r;
    int fwd = mode == OINDEX_FIRST || mode == OINDEX_FWD_GE || mode == OINDEX_FWD_GT;
    bt_pos pos;
    if (resume && resume->valid && resume->mods == x->mods &&
        (mode == OINDEX_FWD_GT || mode == OINDEX_BACK_LT)) {
        /* The tree kept its shape: pos is still the item of key k. */
        pos = resume->pos;
        resume->valid = 0;
        if (max == 0 || !(fwd ? bt_next(&pos) : bt_prev(&pos))) goto out;
    } else {
        if (resume) resume->valid = 0;
        switch (mode) {
        case OINDEX_FIRST: r = 0; break;
        case OINDEX_LAST: r = count; break; /* one past: stepped back below */
        case OINDEX_FWD_GE: r = rank_of(x, k, klen, 0); break;
        case OINDEX_FWD_GT: r = rank_of(x, k, klen, 1); break;
        case OINDEX_BACK_LE: r = rank_of(x, k, klen, 1); break;
        default: r = rank_of(x, k, klen, 0); break; /* OINDEX_BACK_LT */
        }
        if (!fwd) {
            if (r == 0) goto out;
            r--;
        }
        if (max == 0 || !bt_seek(&x->tree, r, &pos)) goto out;
    }
    for (;;) {
        zelem *e = bt_item(&pos);
        n++;
        if (resume) {
            resume->pos = pos;
            resume->mods = x->mods;
            resume->valid = 1;
        }
        if (fn(ctx, e->member, e->len) || n == max) break;
        if (!(fwd ? bt_next(&pos) : bt_prev(&pos))) break;
    }
out:
    pthread_rwlock_unlock(&x->lock);
    return n;
}

uint64_t oindex_count(oindex *x) {
    pthread_rwlock_rdlock(&x->lock);
    uint64_t n = x->tree.count;
    pthread_rwlock_unlock(&x->lock);
    return n;
}
