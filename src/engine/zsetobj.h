/*
 * zsetobj.h — the sorted-set value: members (byte strings) with double
 * scores, ordered by (score, member), in one of two encodings that OBJECT
 * ENCODING names as Redis does:
 *
 *  - "listpack": one packed byte array of entries in order, for sets of at
 *    most zset-max-listpack-entries members of at most
 *    zset-max-listpack-value bytes (objlimits.h, read at run time), and at
 *    most OBJLIMITS_LISTPACK_MAX_BYTES in all. Entry: header byte h
 *    (h < 0xF0: a string member of h bytes follows; 0xF0: a u32 length then
 *    the string; ZLP_INT8/16/32/64: an integer member that
 *    round-trips through lt_string2ll, little-endian, of 1/2/4/8 bytes),
 *    the score (8-byte IEEE double, little-endian; -0 stored as 0, as
 *    Redis's listpack does), then the back-length: the size of what
 *    precedes it in 1..5 bytes of 7 bits, read from the end (listpack's),
 *    for stepping backwards.
 *  - "skiplist" (the name tools expect; the structure is a B+tree,
 *    btree.h): one zelem allocation per member, linked into the tree (order,
 *    ranks) and into a chained member hash (hnext; incremental rehash as in
 *    Redis's dict, a bounded step per write) for O(1) score lookup.
 *
 * A set starts as listpack and converts to skiplist when an insert would
 * break a listpack limit, never back (as Redis), except through
 * zset_shrink_if_small and zset_decode, which choose by content. Scores are never NaN;
 * -0.0 is stored as given. A zset is never empty in the keyspace: callers
 * delete the key when zset_len() drops to 0.
 *
 * Snapshot encoding (zset_encode / zset_decode), all little-endian:
 *   u8 version (1) | u64 count |
 *   count x { u32 member length | member bytes | f64 score }
 * in ascending (score, member) order (the encoding is not recorded: it
 * follows from the contents, as when Redis loads an RDB). decode rejects:
 * short or trailing bytes, another version, count 0 or more than the bytes
 * could hold, NaN scores, a member longer than 512 MiB, an entry not
 * strictly after the previous one, and a member present twice.
 *
 * Not thread-safe: called under the owning key's shard lock. Lifetime of
 * member pointers handed out: until the next change of the set (or, for
 * iterator-produced integer members, until the iterator moves).
 */
#ifndef LT_ENGINE_ZSETOBJ_H
#define LT_ENGINE_ZSETOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "engine/btree.h"
#include "engine/entry.h"


enum { ZSET_ENC_LISTPACK = 0, ZSET_ENC_SKIPLIST = 1 };

typedef struct zset zset;

extern const ks_type_ops zset_type_ops;

/* A new empty (listpack) set, owned by the caller until handed to
 * ks_set_obj. */
zset *zset_create(void);
void zset_free(zset *z);
zset *zset_dup(const zset *z);
size_t zset_len(const zset *z);
int zset_encoding(const zset *z); /* ZSET_ENC_* */
size_t zset_mem_usage(const zset *z);

/* A new empty set in the skiplist encoding, its member hash sized for
 * expect members (result sets of ZUNION and family, built like Redis's
 * before zset_shrink_if_small decides their final encoding). */
zset *zset_create_skiplist(uint64_t expect);
/* Converts a skiplist set within the listpack limits to a listpack
 * (Redis's zsetConvertToListpackIfNeeded, for the *STORE commands). */
void zset_shrink_if_small(zset *z);

/* 1 and *score if member is present, else 0. */
int zset_score(const zset *z, const char *m, size_t len, double *score);

/* zset_add flags, as Redis's zsetAdd. */
#define ZADD_IN_INCR (1 << 0)
#define ZADD_IN_NX (1 << 1)
#define ZADD_IN_XX (1 << 2)
#define ZADD_IN_GT (1 << 3)
#define ZADD_IN_LT (1 << 4)
#define ZADD_OUT_NOP (1 << 0)
#define ZADD_OUT_NAN (1 << 1)
#define ZADD_OUT_ADDED (1 << 2)
#define ZADD_OUT_UPDATED (1 << 3)
/* Adds or updates member with Redis's zsetAdd semantics: *out gets
 * ZADD_OUT_* flags, *newscore (may be NULL) the resulting score when the
 * member was added or updated (or left equal). Returns 0 only for a NaN
 * (given, or produced by INCR), when nothing changed. */
int zset_add(zset *z, double score, const char *m, size_t len, int in,
             int *out, double *newscore);
/* Removes member; 1 if it was present. */
int zset_del(zset *z, const char *m, size_t len);

/* 0-based rank of member (from the highest score when reverse), and its
 * score; 0 if absent. */
int zset_rank(const zset *z, const char *m, size_t len, int reverse,
              uint64_t *rank, double *score);

/* True for (score, member) pairs strictly before some bound; monotone over
 * the set's order (a prefix of the set). */
typedef int zset_before_fn(double score, const char *m, size_t len, void *ctx);
/* Number of leading members for which before() holds. O(log n) in a
 * skiplist set, O(n) in a listpack. */
uint64_t zset_count_before(const zset *z, zset_before_fn *before, void *ctx);

/* Removes the members of ranks start..end (inclusive, start <= end <
 * len). */
void zset_delete_range(zset *z, uint64_t start, uint64_t end);

/* A position in a set; no allocation. Valid until the set changes. */
typedef struct zset_iter {
    const zset *z;
    bt_pos pos;     /* skiplist */
    size_t off;     /* listpack: byte offset of the entry */
    char ibuf[LT_LLSTR_SIZE]; /* text of an integer member */
} zset_iter;

/* Positions it at rank (0-based, ascending); 0 if rank >= len. */
int zset_iter_seek(zset_iter *it, const zset *z, uint64_t rank);
/* Moves to the next / previous member; 0 at the end. */
int zset_iter_next(zset_iter *it);
int zset_iter_prev(zset_iter *it);
/* The member at it (pointer valid until the set changes or it moves). */
void zset_iter_get(zset_iter *it, const char **m, size_t *len, double *score);

/* Redis-style reverse-binary cursor scan over a skiplist set's member
 * hash: calls fn on the members of the buckets of cursor, returns the next
 * cursor (0: done). A member present throughout a full scan is reported at
 * least once. Listpack sets are not scanned this way (callers reply all). */
typedef void zset_scan_fn(void *ctx, const char *m, size_t len, double score);
uint64_t zset_scan(const zset *z, uint64_t cursor, zset_scan_fn *fn, void *ctx);

/* Snapshot format (above). */
int zset_encode(const zset *z, ks_emit_fn *emit, void *ctx);
zset *zset_decode(const void *buf, size_t len);

#endif
