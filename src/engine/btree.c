/*
 * btree.c — the B+tree of btree.h. Node layouts are private to this file:
 *
 *   bt_leaf:  n, prev/next leaf links, item[BT_LEAF_CAP]      (512 bytes)
 *   bt_inner: n, child[], cnt[] (subtree items), key[] (smallest item of
 *             the child's subtree)                            (1016 bytes)
 *
 * A node's kind follows from its depth (height - 1 is the leaf level).
 * Updates descend once recording a path of (inner node, child index), change
 * the leaf, then walk the path upwards fixing counts, separators, splits
 * (insert) and underflows (remove: merge with a sibling when both fit in one
 * node, else even out the two). Appends at the right edge split unevenly so
 * ascending inserts leave full nodes behind.
 */
#include "engine/btree.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/xalloc.h"

typedef struct bt_leaf {
    uint32_t n;
    struct bt_leaf *prev, *next;
    zelem *item[BT_LEAF_CAP];
} bt_leaf;

typedef struct bt_inner {
    uint32_t n;
    void *child[BT_INNER_CAP];
    uint64_t cnt[BT_INNER_CAP];
    zelem *key[BT_INNER_CAP];
} bt_inner;

_Static_assert(sizeof(bt_leaf) <= 512, "leaf fits a 512-byte size class");
_Static_assert(sizeof(bt_inner) <= 1024, "inner node fits 1 KiB");
_Static_assert(BT_LEAF_MIN >= 2 && BT_INNER_MIN >= 2, "minimum fill");

typedef struct bt_path {
    bt_inner *node[BT_MAX_DEPTH];
    unsigned idx[BT_MAX_DEPTH];
    unsigned depth; /* inner levels recorded */
} bt_path;

int zelem_cmp_key(const zelem *a, double score, const char *m, size_t len) {
    if (a->score < score) return -1;
    if (a->score > score) return 1;
    size_t min = a->len < len ? a->len : len;
    int c = min ? memcmp(a->member, m, min) : 0;
    if (c) return c;
    return a->len < len ? -1 : a->len > len ? 1 : 0;
}

static int cmp_items(const zelem *a, const zelem *b) {
    return zelem_cmp_key(a, b->score, b->member, b->len);
}

void bt_init(bt_tree *t) { memset(t, 0, sizeof(*t)); }

/* Smallest item of a node's subtree (node non-empty). */
static zelem *node_min(void *node, int leaf) {
    return leaf ? ((bt_leaf *)node)->item[0] : ((bt_inner *)node)->key[0];
}

/* Index of the child of in whose subtree (score, m) belongs: the last
 * child whose separator is <= the key, 0 if none. */
static unsigned inner_find(const bt_inner *in, double score, const char *m,
                           size_t len) {
    unsigned lo = 1, hi = in->n; /* answer in [0, n) */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (zelem_cmp_key(in->key[mid], score, m, len) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return lo - 1;
}

/* First index in leaf whose item is >= (score, m). */
static unsigned leaf_lower(const bt_leaf *lf, double score, const char *m,
                           size_t len) {
    unsigned lo = 0, hi = lf->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (zelem_cmp_key(lf->item[mid], score, m, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Descends to the leaf for (score, m), recording the path. */
static bt_leaf *descend(const bt_tree *t, double score, const char *m,
                        size_t len, bt_path *p) {
    void *node = t->root;
    p->depth = 0;
    for (uint32_t h = t->height; h > 1; h--) {
        bt_inner *in = node;
        unsigned i = inner_find(in, score, m, len);
        ASSERT(p->depth < BT_MAX_DEPTH);
        p->node[p->depth] = in;
        p->idx[p->depth++] = i;
        node = in->child[i];
    }
    return node;
}

static void *node_alloc(bt_tree *t, size_t size) {
    t->node_bytes += size;
    return lt_xcalloc(1, size);
}

static void node_free(bt_tree *t, void *node, size_t size) {
    ASSERT(t->node_bytes >= size);
    t->node_bytes -= size;
    free(node);
}

/* Inserts (child, key, cnt) at index at of in, which has room. */
static void inner_put(bt_inner *in, unsigned at, void *child, zelem *key,
                      uint64_t cnt) {
    ASSERT(in->n < BT_INNER_CAP && at <= in->n);
    unsigned tail = in->n - at;
    memmove(&in->child[at + 1], &in->child[at], tail * sizeof(in->child[0]));
    memmove(&in->cnt[at + 1], &in->cnt[at], tail * sizeof(in->cnt[0]));
    memmove(&in->key[at + 1], &in->key[at], tail * sizeof(in->key[0]));
    in->child[at] = child;
    in->key[at] = key;
    in->cnt[at] = cnt;
    in->n++;
}

static void inner_del(bt_inner *in, unsigned at) {
    ASSERT(at < in->n);
    unsigned tail = in->n - at - 1;
    memmove(&in->child[at], &in->child[at + 1], tail * sizeof(in->child[0]));
    memmove(&in->cnt[at], &in->cnt[at + 1], tail * sizeof(in->cnt[0]));
    memmove(&in->key[at], &in->key[at + 1], tail * sizeof(in->key[0]));
    in->n--;
}

/* Moves entries [from, n) of src to the front of the empty dst. Returns the
 * item count moved. */
static uint64_t inner_move_tail(bt_inner *src, unsigned from, bt_inner *dst) {
    unsigned k = src->n - from;
    uint64_t moved = 0;
    memcpy(dst->child, &src->child[from], k * sizeof(src->child[0]));
    memcpy(dst->cnt, &src->cnt[from], k * sizeof(src->cnt[0]));
    memcpy(dst->key, &src->key[from], k * sizeof(src->key[0]));
    for (unsigned i = 0; i < k; i++) moved += dst->cnt[i];
    dst->n = k;
    src->n = from;
    return moved;
}

void bt_insert(bt_tree *t, zelem *e) {
    if (t->height == 0) {
        bt_leaf *lf = node_alloc(t, sizeof(bt_leaf));
        lf->item[0] = e;
        lf->n = 1;
        t->root = lf;
        t->height = 1;
        t->count = 1;
        return;
    }
    bt_path p;
    bt_leaf *lf = descend(t, e->score, e->member, e->len, &p);
    unsigned pos = leaf_lower(lf, e->score, e->member, e->len);
    ASSERT(pos == lf->n || cmp_items(lf->item[pos], e) != 0);
    int rightmost = lf->next == NULL;

    /* Split a full leaf: at the right edge the new leaf takes only e. */
    void *newchild = NULL;
    if (lf->n == BT_LEAF_CAP) {
        bt_leaf *r = node_alloc(t, sizeof(bt_leaf));
        unsigned split = (rightmost && pos == lf->n) ? lf->n : lf->n / 2;
        r->n = lf->n - split;
        memcpy(r->item, &lf->item[split], r->n * sizeof(lf->item[0]));
        lf->n = split;
        r->next = lf->next;
        r->prev = lf;
        if (lf->next) lf->next->prev = r;
        lf->next = r;
        newchild = r;
        if (pos > split) {
            pos -= split;
            lf = r;
        } else if (pos == split && split == BT_LEAF_CAP) {
            pos = 0;
            lf = r;
        }
    }
    memmove(&lf->item[pos + 1], &lf->item[pos], (lf->n - pos) * sizeof(lf->item[0]));
    lf->item[pos] = e;
    lf->n++;
    t->count++;

    /* Upwards: counts, separators, splits. */
    void *child_below = newchild ? ((bt_leaf *)newchild)->prev : lf;
    int below_is_leaf = 1;
    for (unsigned d = p.depth; d-- > 0;) {
        bt_inner *in = p.node[d];
        unsigned i = p.idx[d];
        ASSERT(in->child[i] == child_below);
        in->cnt[i]++;
        in->key[i] = node_min(child_below, below_is_leaf);
        void *split_off = NULL;
        if (newchild) {
            uint64_t ncnt = below_is_leaf ? ((bt_leaf *)newchild)->n : 0;
            if (!below_is_leaf) {
                bt_inner *nc = newchild;
                for (unsigned j = 0; j < nc->n; j++) ncnt += nc->cnt[j];
            }
            in->cnt[i] -= ncnt;
            zelem *nkey = node_min(newchild, below_is_leaf);
            if (in->n == BT_INNER_CAP) {
                bt_inner *r = node_alloc(t, sizeof(bt_inner));
                unsigned at = i + 1;
                unsigned split = (rightmost && at == in->n) ? in->n : in->n / 2;
                inner_move_tail(in, split, r);
                if (at > split || split == BT_INNER_CAP)
                    inner_put(r, at - split, newchild, nkey, ncnt);
                else
                    inner_put(in, at, newchild, nkey, ncnt);
                split_off = r;
            } else {
                inner_put(in, i + 1, newchild, nkey, ncnt);
            }
        }
        newchild = split_off;
        child_below = in;
        below_is_leaf = 0;
    }
    if (newchild) { /* the root split: grow by one level */
        bt_inner *root = node_alloc(t, sizeof(bt_inner));
        int leaf = t->height == 1;
        void *old = t->root;
        uint64_t rc = 0;
        if (leaf) {
            rc = ((bt_leaf *)newchild)->n;
        } else {
            bt_inner *nc = newchild;
            for (unsigned j = 0; j < nc->n; j++) rc += nc->cnt[j];
        }
        inner_put(root, 0, old, node_min(old, leaf), t->count - rc);
        inner_put(root, 1, newchild, node_min(newchild, leaf), rc);
        t->root = root;
        t->height++;
        ASSERT(t->height <= BT_MAX_DEPTH);
    }
}

/* Fixes an underflowing child i of parent (children are leaves when
 * leaf): merges it with a neighbour when both fit one node, else evens the
 * two out. */
static void rebalance(bt_tree *t, bt_inner *parent, unsigned i, int leaf) {
    ASSERT(parent->n >= 2);
    unsigned li = i > 0 ? i - 1 : 0, ri = li + 1;
    if (leaf) {
        bt_leaf *l = parent->child[li], *r = parent->child[ri];
        unsigned total = l->n + r->n;
        if (total <= BT_LEAF_CAP) {
            memcpy(&l->item[l->n], r->item, r->n * sizeof(r->item[0]));
            l->n = total;
            l->next = r->next;
            if (r->next) r->next->prev = l;
            parent->cnt[li] += parent->cnt[ri];
            inner_del(parent, ri);
            node_free(t, r, sizeof(bt_leaf));
        } else {
            unsigned want = total / 2;
            if (l->n > want) { /* move l's tail to r's front */
                unsigned k = l->n - want;
                memmove(&r->item[k], r->item, r->n * sizeof(r->item[0]));
                memcpy(r->item, &l->item[want], k * sizeof(r->item[0]));
                l->n = want;
                r->n += k;
            } else { /* move r's head to l's tail */
                unsigned k = want - l->n;
                memcpy(&l->item[l->n], r->item, k * sizeof(r->item[0]));
                memmove(r->item, &r->item[k], (r->n - k) * sizeof(r->item[0]));
                l->n = want;
                r->n -= k;
            }
            parent->cnt[li] = l->n;
            parent->cnt[ri] = r->n;
            parent->key[ri] = r->item[0];
        }
        parent->key[li] = l->item[0];
        return;
    }
    bt_inner *l = parent->child[li], *r = parent->child[ri];
    unsigned total = l->n + r->n;
    if (total <= BT_INNER_CAP) {
        memcpy(&l->child[l->n], r->child, r->n * sizeof(r->child[0]));
        memcpy(&l->cnt[l->n], r->cnt, r->n * sizeof(r->cnt[0]));
        memcpy(&l->key[l->n], r->key, r->n * sizeof(r->key[0]));
        l->n = total;
        parent->cnt[li] += parent->cnt[ri];
        inner_del(parent, ri);
        node_free(t, r, sizeof(bt_inner));
    } else {
        unsigned want = total / 2;
        while (l->n > want) { /* one child at a time: at most CAP/2 moves */
            unsigned j = l->n - 1;
            inner_put(r, 0, l->child[j], l->key[j], l->cnt[j]);
            parent->cnt[li] -= l->cnt[j];
            parent->cnt[ri] += l->cnt[j];
            l->n--;
        }
        while (l->n < want) {
            parent->cnt[li] += r->cnt[0];
            parent->cnt[ri] -= r->cnt[0];
            inner_put(l, l->n, r->child[0], r->key[0], r->cnt[0]);
            inner_del(r, 0);
        }
        parent->key[ri] = r->key[0];
    }
    parent->key[li] = l->key[0];
}

zelem *bt_remove(bt_tree *t, double score, const char *m, size_t len) {
    if (t->height == 0) return NULL;
    bt_path p;
    bt_leaf *lf = descend(t, score, m, len, &p);
    unsigned pos = leaf_lower(lf, score, m, len);
    if (pos == lf->n || zelem_cmp_key(lf->item[pos], score, m, len) != 0) return NULL;
    zelem *e = lf->item[pos];
    memmove(&lf->item[pos], &lf->item[pos + 1], (lf->n - pos - 1) * sizeof(lf->item[0]));
    lf->n--;
    t->count--;

    int below_is_leaf = 1;
    for (unsigned d = p.depth; d-- > 0;) {
        bt_inner *in = p.node[d];
        unsigned i = p.idx[d];
        void *child = in->child[i];
        in->cnt[i]--;
        unsigned cn = below_is_leaf ? ((bt_leaf *)child)->n : ((bt_inner *)child)->n;
        if (cn > 0) in->key[i] = node_min(child, below_is_leaf);
        if (cn < (below_is_leaf ? BT_LEAF_MIN : BT_INNER_MIN))
            rebalance(t, in, i, below_is_leaf);
        below_is_leaf = 0;
    }
    /* Shrink the root. */
    if (t->height == 1 && ((bt_leaf *)t->root)->n == 0) {
        node_free(t, t->root, sizeof(bt_leaf));
        t->root = NULL;
        t->height = 0;
    } else if (t->height > 1 && ((bt_inner *)t->root)->n == 1) {
        bt_inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        node_free(t, old, sizeof(bt_inner));
    }
    return e;
}

uint64_t bt_count_before(const bt_tree *t, bt_before_fn *before, void *ctx) {
    uint64_t acc = 0;
    void *node = t->root;
    for (uint32_t h = t->height; h > 1; h--) {
        bt_inner *in = node;
        /* Last child whose smallest item is before the bound. */
        unsigned lo = 0, hi = in->n;
        while (lo < hi) {
            unsigned mid = (lo + hi) / 2;
            if (before(in->key[mid], ctx)) lo = mid + 1;
            else hi = mid;
        }
        if (lo == 0) return acc;
        for (unsigned j = 0; j + 1 < lo; j++) acc += in->cnt[j];
        node = in->child[lo - 1];
    }
    if (!node) return 0;
    bt_leaf *lf = node;
    unsigned lo = 0, hi = lf->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (before(lf->item[mid], ctx)) lo = mid + 1;
        else hi = mid;
    }
    return acc + lo;
}

int bt_seek(const bt_tree *t, uint64_t rank, bt_pos *pos) {
    if (rank >= t->count) return 0;
    void *node = t->root;
    for (uint32_t h = t->height; h > 1; h--) {
        bt_inner *in = node;
        unsigned j = 0;
        while (rank >= in->cnt[j]) {
            rank -= in->cnt[j++];
            ASSERT(j < in->n);
        }
        node = in->child[j];
    }
    ASSERT(rank < ((bt_leaf *)node)->n);
    pos->leaf = node;
    pos->idx = (unsigned)rank;
    return 1;
}

zelem *bt_item(const bt_pos *pos) {
    const bt_leaf *lf = pos->leaf;
    ASSERT(pos->idx < lf->n);
    return lf->item[pos->idx];
}

int bt_next(bt_pos *pos) {
    bt_leaf *lf = pos->leaf;
    if (pos->idx + 1 < lf->n) {
        pos->idx++;
        return 1;
    }
    if (!lf->next) return 0;
    pos->leaf = lf->next;
    pos->idx = 0;
    return 1;
}

int bt_prev(bt_pos *pos) {
    bt_leaf *lf = pos->leaf;
    if (pos->idx > 0) {
        pos->idx--;
        return 1;
    }
    if (!lf->prev) return 0;
    pos->leaf = lf->prev;
    pos->idx = lf->prev->n - 1;
    return 1;
}

void bt_clear(bt_tree *t, void (*free_item)(zelem *e)) {
    if (t->height == 0) return;
    bt_pos pos;
    if (free_item && bt_seek(t, 0, &pos)) {
        do free_item(bt_item(&pos));
        while (bt_next(&pos));
    }
    /* Depth-first with an explicit stack of (node, next child). */
    void *stack_node[BT_MAX_DEPTH];
    unsigned stack_idx[BT_MAX_DEPTH];
    unsigned sp = 1;
    stack_node[0] = t->root;
    stack_idx[0] = 0;
    while (sp > 0) {
        unsigned level = sp - 1;
        void *node = stack_node[level];
        if (level + 1 == t->height) {
            node_free(t, node, sizeof(bt_leaf));
            sp--;
            continue;
        }
        bt_inner *in = node;
        if (stack_idx[level] < in->n) {
            stack_node[sp] = in->child[stack_idx[level]++];
            stack_idx[sp] = 0;
            sp++;
        } else {
            node_free(t, in, sizeof(bt_inner));
            sp--;
        }
    }
    ASSERT(t->node_bytes == 0);
    bt_init(t);
}

size_t bt_mem_usage(const bt_tree *t) { return t->node_bytes; }

const char *bt_check(const bt_tree *t) {
    if (t->height == 0) return t->root || t->count || t->node_bytes ? "empty tree state" : NULL;
    void *stack_node[BT_MAX_DEPTH];
    unsigned stack_idx[BT_MAX_DEPTH];
    uint64_t stack_sum[BT_MAX_DEPTH];
    uint8_t stack_right[BT_MAX_DEPTH]; /* last node of its level */
    unsigned sp = 1;
    stack_node[0] = t->root;
    stack_idx[0] = 0;
    stack_sum[0] = 0;
    stack_right[0] = 1;
    uint64_t total = 0;
    size_t bytes = 0;
    bt_leaf *prev_leaf = NULL;
    const zelem *last = NULL;
    while (sp > 0) {
        unsigned level = sp - 1;
        void *node = stack_node[level];
        uint64_t done; /* subtree items of the node that just finished */
        if (level + 1 == t->height) {
            bt_leaf *lf = node;
            bytes += sizeof(bt_leaf);
            if (lf->n == 0 || lf->n > BT_LEAF_CAP) return "leaf size";
            if (level > 0 && !stack_right[level] && lf->n < BT_LEAF_MIN) return "leaf underflow";
            if (lf->prev != prev_leaf) return "leaf prev link";
            for (unsigned i = 0; i < lf->n; i++) {
                if (last && cmp_items(last, lf->item[i]) >= 0) return "item order";
                last = lf->item[i];
            }
            total += lf->n;
            prev_leaf = lf;
            done = lf->n;
        } else {
            bt_inner *in = node;
            if (stack_idx[level] == 0) {
                bytes += sizeof(bt_inner);
                unsigned min = level == 0 ? 2u : stack_right[level] ? 1u : BT_INNER_MIN;
                if (in->n > BT_INNER_CAP || in->n < min)
                    return "inner size";
            }
            if (stack_idx[level] < in->n) {
                unsigned j = stack_idx[level]++;
                void *ch = in->child[j];
                if (in->key[j] != node_min(ch, level + 2 == t->height)) return "separator";
                if (sp >= BT_MAX_DEPTH) return "depth";
                stack_node[sp] = ch;
                stack_idx[sp] = 0;
                stack_sum[sp] = 0;
                stack_right[sp] = stack_right[level] && j + 1 == in->n;
                sp++;
                continue;
            }
            done = stack_sum[level];
        }
        sp--;
        if (sp > 0) {
            bt_inner *parent = stack_node[sp - 1];
            if (parent->cnt[stack_idx[sp - 1] - 1] != done) return "subtree count";
            stack_sum[sp - 1] += done;
        }
    }
    if (prev_leaf->next) return "last leaf next link";
    if (total != t->count) return "total count";
    if (bytes != t->node_bytes) return "node bytes";
    return NULL;
}
