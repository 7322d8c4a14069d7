/*
 * listobj.h — the list value type: a doubly linked list of packed nodes
 * (Redis's quicklist of listpacks), and its ks_type_ops (list_type_ops).
 *
 * Owns: the elements of one list key, their in-memory packing, and the
 * snapshot encoding of a list.
 *
 * Layout: each node is a small header and a buffer holding its entries
 * back to back, filled as list-max-listpack-size said when the list was
 * created (objlimits.h; Redis's quicklist keeps its fill per list too):
 * -1..-5 at most 4..64 KiB per node's listpack (entries + 7 bytes; default
 * -2: LIST_NODE_MAX_ALLOC, 8 KiB), a positive n at most n entries (and
 * 8 KiB). An element larger than a node, or than the packed threshold
 * (objlimits.h, default 1 GiB), gets a node of its own. With a
 * list-compress-depth d > 0 (also fixed at creation), nodes more than d
 * from either end are kept LZ4-compressed once an operation has touched
 * them, as Redis keeps its interior nodes LZF-compressed. An entry is
 * listpack's: an encoding header, the payload, and a
 * back-length (1..5 bytes) so a node is walked in both directions. Elements
 * whose bytes are a canonical 64-bit decimal (lt_string2ll) are stored as
 * integers in 1, 2, 3, 4, 5 or 9 bytes, as Redis does; they read back as the
 * same bytes. OBJECT ENCODING is "quicklist" for every list, as Redis 7.0
 * reports (7.2 reports "listpack" for small ones).
 *
 * Invariants: no node is empty; l->count is the sum of node counts; the
 * nodes' entries are well formed (checked by listobj_check in tests).
 * A list stored in the keyspace is never empty (commands delete the key).
 *
 * Costs: push and pop at either end O(node size) = O(1); index lookups walk
 * node counts from the nearer end, then entries within one node from its
 * nearer end.
 *
 * Pointers: a list_value's str points into the list and is valid until the
 * next call on that list (a read may recompress the node an earlier read
 * decompressed). Iterators are invalidated by any call on the list not
 * made through the iterator itself.
 *
 * Snapshot encoding (list_type_ops.encode / decode), all integers
 * little-endian:
 *   u8  version = 1
 *   u64 element count N (N >= 1)
 *   N elements, head to tail, each:
 *     u8 kind 0: string, then u32 length L and L bytes
 *     u8 kind 1: integer, then i64 value
 *   nothing after the last element.
 * decode accepts exactly this and returns NULL on anything else (unknown
 * version or kind, N == 0, N larger than the bytes could hold, truncation,
 * trailing bytes).
 *
 * Threading: none of its own; callers hold the key's shard lock.
 * Used by: src/server/cmd/t_list.c, the keyspace (via list_type_ops), tests.
 */
#ifndef LT_ENGINE_LISTOBJ_H
#define LT_ENGINE_LISTOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"

/* Largest node allocation, header included, at the default fill (-2) and
 * for a positive fill. */
#define LIST_NODE_MAX_ALLOC 8192

enum { LIST_HEAD = 0, LIST_TAIL = 1 };

typedef struct listobj listobj;
typedef struct list_node list_node;

/* One element as read from the list: bytes (str != NULL), or an integer
 * (str == NULL, value in ll) whose decimal form is the element. */
typedef struct list_value {
    const char *str;
    size_t len;
    long long ll;
} list_value;

/* A position in a list, moving toward the tail (dir 1) or the head (-1).
 * node == NULL: past the end in dir. */
typedef struct list_iter {
    listobj *l;
    list_node *node;
    uint32_t off; /* byte offset of the current entry in the node */
    int dir;
} list_iter;

extern const ks_type_ops list_type_ops;

/* A new empty list; owned by the caller (ks_set_obj takes it over). */
listobj *listobj_new(void);
void listobj_free(listobj *l);
/* Deep copy. */
listobj *listobj_dup(const listobj *l);
size_t listobj_len(const listobj *l);
/* Bytes allocated for l (nodes and header), kept up to date in O(1). */
size_t listobj_mem_usage(const listobj *l);
/* Number of nodes (tests, MEMORY DOCTOR-style introspection). */
size_t listobj_nodes(const listobj *l);
/* Calls fn for each node, head to tail, with its element count, its entry
 * bytes and its compressed size (0: raw) (DEBUG OBJECT / DEBUG QUICKLIST). */
typedef void listobj_node_fn(void *ctx, uint32_t count, uint32_t bytes, uint32_t zlen);
void listobj_visit_nodes(const listobj *l, listobj_node_fn *fn, void *ctx);
/* The fill (list-max-listpack-size) and compress depth the list was
 * created with (clamped to -5..32767 and 0..65536, as Redis's quicklist). */
int listobj_fill(const listobj *l);
int listobj_compress_depth(const listobj *l);

/* Adds s[0..len) at the head or the tail (LIST_HEAD / LIST_TAIL). */
void listobj_push(listobj *l, int where, const char *s, size_t len);
/* Reads element idx (0 <= idx < len) into *v. */
void listobj_index(const listobj *l, size_t idx, list_value *v);
/* Replaces element idx (0 <= idx < len) with s[0..len). */
void listobj_replace(listobj *l, size_t idx, const char *s, size_t len);
/* Deletes n elements from index start (start + n <= len). */
void listobj_del_range(listobj *l, size_t start, size_t n);
/* Moves the element at src's `from` end to dst's `to` end (LMOVE). src may
 * be dst (rotation). src must not be empty; it may become empty. */
void listobj_move(listobj *src, int from, listobj *dst, int to);

/* Whether v equals s[0..len) as bytes (an integer element compares by its
 * decimal form). */
int listobj_value_eq(const list_value *v, const char *s, size_t len);

/* Positions it on element idx (0 <= idx < len, or it ends at once when the
 * list is empty) moving in dir (1 toward the tail, -1 toward the head). */
void listobj_iter_init(list_iter *it, listobj *l, size_t idx, int dir);
/* Reads the current element; 0 when the iterator is past the end. */
int listobj_iter_get(const list_iter *it, list_value *v);
/* Moves to the next element in the iterator's direction. */
void listobj_iter_next(list_iter *it);
/* Deletes the current element and moves to the next one in dir. */
void listobj_iter_delete(list_iter *it);
/* Inserts s[0..len) before or after (after != 0, in head-to-tail order) the
 * current element. The iterator is invalid afterwards. */
void listobj_iter_insert(list_iter *it, int after, const char *s, size_t len);

/* Checks every invariant (node sizes, entry framing, counts, links);
 * returns 0 when all hold, else a negative code naming the first broken one.
 * O(size of the list): for tests. */
int listobj_check(const listobj *l);

#endif
