/*
 * setobj.h — the value of a set key: a collection of distinct byte strings
 * with Redis 7.0's two encodings, uniform random sampling, a rehash-proof
 * scan cursor and the portable encoding snapshots store.
 *
 * Encodings (OBJECT ENCODING names):
 *  - "intset": every member is an integer by lt_string2ll's rules and there
 *    are at most set-max-intset-entries of them (objlimits.h, read when a
 *    member is added; capped at 2^30 as in Redis). A sorted array of
 *    integers of one width (2, 4 or 8 bytes, widened when a value needs it,
 *    never narrowed), searched by bisection. Iteration is ascending.
 *  - "hashtable": anything else. An open-addressing table (linear probing,
 *    backward-shift deletion, so no tombstones) of 8-byte slots, load
 *    factor kept in (1/8, 3/4]. A slot holds its member inline when it can:
 *    an integer in [-2^61, 2^61) as (v << 2) | 3, a string of <= 7 bytes as
 *    1 | len << 2 | bytes << 8; otherwise a pointer to a malloc'd blob
 *    (varint length + bytes) with the top 16 bits of the member's hash in
 *    the pointer's unused top 16 bits. Each member has exactly one slot
 *    form, so inline members compare by slot value.
 * A set converts from intset to hashtable when a non-integer member or
 * member number 513 is added, never back — except that SPOP's bulk path
 * rebuilds the survivors as Redis 7.0 does (an intset if they allow it).
 * Sets are never empty in the keyspace: callers delete the key instead.
 *
 * Resizing the hashtable is done at once (amortised O(1) per insert; not
 * incremental like Redis's dict).
 *
 * Snapshot encoding (setobj_encode / setobj_decode), version 1, all
 * integers little-endian:
 *   u8  version (1)
 *   u8  kind: 0 = integers, 1 = strings
 *   u64 count of members, >= 1
 *   kind 0: count x i64, strictly ascending
 *   kind 1: count x (u32 length, length bytes), pairwise distinct
 * The buffer must end exactly after the last member. Decoding rebuilds the
 * encoding from the content as Redis's RDB loading does: an intset when
 * every member is an integer and there are at most set-max-intset-entries,
 * else a hashtable.
 *
 * Thread-safety: none; the owning key's shard lock is held by callers.
 * Used by: server/t_set.c (commands), the keyspace through set_type_ops.
 */
#ifndef LT_ENGINE_SETOBJ_H
#define LT_ENGINE_SETOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "engine/entry.h"

#define SETOBJ_ENCODING_VERSION 1

typedef struct setobj setobj;

/* A member as the set hands it out: ptr/len are valid until the set is
 * next modified or freed. ptr may point into buf (intset members and
 * inline hashtable members are rendered there), so an elem must not be
 * copied while ptr is in use. */
typedef struct setobj_elem {
    const char *ptr;
    size_t len;
    char buf[LT_LLSTR_SIZE];
} setobj_elem;

/* Receives one member (bytes valid for the call only). */
typedef void setobj_member_fn(void *ctx, const char *p, size_t len);

/* An empty set (intset). Owned by the caller until freed or handed to
 * ks_set_obj. An empty set may exist only transiently. */
setobj *setobj_new(void);
void setobj_free(setobj *s);
setobj *setobj_dup(const setobj *s);

uint64_t setobj_size(const setobj *s);
/* "intset" or "hashtable" (static storage). */
const char *setobj_encoding(const setobj *s);
/* Bytes allocated for s (header, array or table, member blobs). O(1). */
size_t setobj_mem_usage(const setobj *s);

/* 1 if added, 0 if already a member. */
int setobj_add(setobj *s, const char *m, size_t len);
/* 1 if removed, 0 if not a member. */
int setobj_remove(setobj *s, const char *m, size_t len);
int setobj_contains(const setobj *s, const char *m, size_t len);

/* Iteration over every member once; the set must not change meanwhile.
 * Intsets iterate in ascending order. */
typedef struct setobj_iter {
    const setobj *s;
    uint64_t pos;
} setobj_iter;
void setobj_iter_init(setobj_iter *it, const setobj *s);
/* 1 and *e filled, or 0 at the end. */
int setobj_iter_next(setobj_iter *it, setobj_elem *e);

/* One uniformly random member of non-empty s. */
void setobj_random(const setobj *s, setobj_elem *e);
/* count distinct members chosen uniformly, 0 < count < size, passed to
 * fn in no particular order. Temporary memory O(min(count, size)). */
void setobj_random_distinct(const setobj *s, uint64_t count,
                            setobj_member_fn *fn, void *ctx);
/* SPOP: removes one uniformly random member of non-empty s, passing it to
 * fn before it is freed. */
void setobj_pop_one(setobj *s, setobj_member_fn *fn, void *ctx);
/* SPOP with a count: removes count uniformly chosen members, 0 < count <
 * size, passing each to fn before it is freed. When count * 5 > size the
 * survivors are rebuilt into a new set as Redis 7.0 does, so a hashtable
 * whose survivors are at most 512 integers becomes an intset. */
void setobj_pop(setobj *s, uint64_t count, setobj_member_fn *fn, void *ctx);

/* One SSCAN step from cursor: an intset emits every member and returns 0;
 * a hashtable emits the members of one bucket and returns the next cursor
 * (0 when done). Redis's guarantee: a member present for the whole
 * iteration is emitted at least once, across any resizes; duplicates are
 * possible. Any cursor value is accepted. */
uint64_t setobj_scan(const setobj *s, uint64_t cursor, setobj_member_fn *fn,
                     void *ctx);

/* Snapshot encoding (format in the header comment). */
int setobj_encode(const setobj *s, ks_emit_fn *emit, void *ctx);
/* A new set from buf, or NULL if buf is not exactly a valid encoding. */
setobj *setobj_decode(const void *buf, size_t len);

extern const ks_type_ops set_type_ops;

#endif
