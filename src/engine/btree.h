/*
 * btree.h — the order of a large sorted set: a B+tree of zelem pointers
 * ordered by (score, member), with per-child subtree counts.
 *
 * Owns: the tree nodes (never the zelem items: the caller allocates them,
 * inserts them, gets them back from bt_remove and frees them).
 *
 * Shape and invariants (checked by bt_check):
 *  - every leaf is at depth height-1; leaves hold BT_LEAF_MIN..BT_LEAF_CAP
 *    items, inner nodes BT_INNER_MIN..BT_INNER_CAP children, except the
 *    root (at least 1 item / 2 children) and the last node of each level
 *    (at least 1), which appends at the right edge fill from empty so that
 *    ascending inserts leave full nodes behind; items ascend strictly within
 *    and across leaves, which are doubly linked in that order;
 *  - an inner node keeps, per child, the child's subtree item count and its
 *    smallest item (the separator), so rank, select-by-rank and counting
 *    the items before any monotone bound are O(log n);
 *  - no recursion: descents keep a fixed-depth path (BT_MAX_DEPTH levels,
 *    more than 2^64 items would need), and iteration steps along the leaf
 *    links without allocating.
 *
 * Ordering: score ascending (no NaN), then member bytes as memcmp with the
 * shorter prefix first (Redis's sdscmp), so equal-score items are in lex
 * order, which ZRANGEBYLEX relies on.
 *
 * Not thread-safe: the owner (a zset object under its shard lock) serialises
 * every call. Used by zsetobj.c and tests/unit/test_btree.c.
 */
#ifndef LT_ENGINE_BTREE_H
#define LT_ENGINE_BTREE_H

#include <stddef.h>
#include <stdint.h>

/* One sorted-set element: one allocation of offsetof(zelem, member) + len
 * bytes. hnext is not the tree's: the owner's member index chains through
 * it (zsetobj.c). score and member must not change while in a tree. */
typedef struct zelem {
    struct zelem *hnext;
    double score;
    uint32_t len;
    char member[];
} zelem;

#define ZELEM_SIZE(len) (offsetof(zelem, member) + (size_t)(len))

/* Three-way comparison of (score, member) pairs as described above. */
int zelem_cmp_key(const zelem *a, double score, const char *m, size_t len);

#define BT_LEAF_CAP 61  /* leaf: 512 bytes */
#define BT_INNER_CAP 42 /* inner: 1016 bytes */
#define BT_LEAF_MIN (BT_LEAF_CAP / 3)
#define BT_INNER_MIN (BT_INNER_CAP / 3)
#define BT_MAX_DEPTH 16

typedef struct bt_tree {
    void *root;      /* leaf when height == 1, NULL when height == 0 */
    uint64_t count;  /* items */
    uint32_t height;
    size_t node_bytes; /* allocated node memory */
} bt_tree;

/* A position in the leaf chain. Valid until the next insert or remove. */
typedef struct bt_pos {
    void *leaf;
    unsigned idx;
} bt_pos;

/* True for items strictly before some bound; must be monotone over the
 * order (true on a prefix of the items, false after). */
typedef int bt_before_fn(const zelem *e, void *ctx);

void bt_init(bt_tree *t);
/* Frees every node; passes each item to free_item first when non-NULL.
 * Leaves t empty. O(n). */
void bt_clear(bt_tree *t, void (*free_item)(zelem *e));
/* Inserts e; an item with the same (score, member) must not be present. */
void bt_insert(bt_tree *t, zelem *e);
/* Unlinks the item equal to (score, member) and returns it (the caller
 * frees it), or NULL if absent. */
zelem *bt_remove(bt_tree *t, double score, const char *m, size_t len);
/* Number of leading items for which before() is true. O(log n). */
uint64_t bt_count_before(const bt_tree *t, bt_before_fn *before, void *ctx);
/* Positions *pos at the item of 0-based rank; 0 if rank >= count. */
int bt_seek(const bt_tree *t, uint64_t rank, bt_pos *pos);
/* The item at pos (pos from bt_seek / bt_next / bt_prev, still valid). */
zelem *bt_item(const bt_pos *pos);
/* Steps to the following / preceding item; 0 (pos unchanged) at the end. */
int bt_next(bt_pos *pos);
int bt_prev(bt_pos *pos);
/* Bytes of node memory (items not included). */
size_t bt_mem_usage(const bt_tree *t);
/* Verifies every invariant above; returns NULL, or a static description
 * of the first violation (tests). O(n). */
const char *bt_check(const bt_tree *t);

#endif
