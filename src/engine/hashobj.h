/*
 * hashobj.h — the value of a hash key: a map from field bytes to value
 * bytes, in one of Redis's two encodings, plus the type ops that plug it
 * into the keyspace (hash_type_ops, KS_TYPE_HASH).
 *
 * Encodings (OBJECT ENCODING names are Redis's):
 *  - "listpack": one packed byte array of field, value, field, value ...
 *    entries in insertion order (updates in place, deletions close the
 *    gap), so small hashes list their fields in Redis's order. An entry is
 *    a tag byte then its payload: tag 0..127 is a string of that many bytes;
 *    tag 0xC0 a u32 little-endian length then a string of that many bytes;
 *    tag 0x80|n (n = 1, 2, 4, 8) an n-byte little-endian signed integer,
 *    used for every string that lt_string2ll() round-trips (as Redis's
 *    listpack stores integers). Lookup is a linear walk.
 *  - "hashtable": a power-of-two open-addressing table (linear probing,
 *    backward-shift deletion, no tombstones) of pointers to nodes; a node
 *    is one allocation [varint flen][varint vlen][field][value]. Lookup is
 *    O(1) expected; the table grows at 3/4 load and shrinks below 1/8
 *    by rebuilding it (O(n) once per doubling or halving, so amortised
 *    O(1); the one pause is bounded by the hash's size).
 * Limits: hash-max-listpack-entries / -value, read at run time from
 * objlimits.h. A set (add or update) that leaves the listpack holding more
 * pairs than the entries limit, or brings a field or value longer than the value limit, or would
 * grow the listpack past OBJLIMITS_LISTPACK_MAX_BYTES, converts it to the
 * hashtable form, which never converts back (Redis's rule; decode picks the
 * listpack form again when the content fits the limits current then, as
 * Redis's RDB loading does). Lowering a limit acts on a hash's next set. Fields are unique. A hash object is never
 * left empty by the server (the key is deleted instead), but empty objects
 * are valid.
 *
 * Snapshot encoding (hash_type_ops.encode / decode), version 1, portable:
 *   u8  version            = 1
 *   u64 count              little-endian number of field/value pairs
 *   count times:
 *     u32 flen, flen bytes of field, u32 vlen, vlen bytes of value
 *                          (lengths little-endian, each <= 512 MiB)
 * Decode accepts exactly that: right version, every length within the
 * buffer and the limit, no bytes left over, no duplicate field. Anything
 * else yields NULL.
 *
 * Thread-safety: none; the owning key's shard lock is held for every call.
 * Values returned as hashobj_str point into the object and stay valid
 * until the next modifying call on it.
 * Used by: src/server/cmd/t_hash.c, the keyspace (through hash_type_ops).
 */
#ifndef LT_ENGINE_HASHOBJ_H
#define LT_ENGINE_HASHOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"


typedef struct hashobj hashobj;

extern const ks_type_ops hash_type_ops;

/* A field or value read from the object: bytes ptr[0..len), or, when ptr
 * is NULL, the integer ll (listpack entries stored as integers). */
typedef struct hashobj_str {
    const char *ptr;
    size_t len;
    long long ll;
} hashobj_str;

/* A new empty hash in the listpack form. Caller owns it (hashobj_free, or
 * ks_set_obj takes it over). */
hashobj *hashobj_new(void);
void hashobj_free(hashobj *h);

/* Number of fields. */
size_t hashobj_len(const hashobj *h);
/* OBJECT ENCODING name: "listpack" or "hashtable". */
const char *hashobj_encoding(const hashobj *h);
/* 1 when in the listpack form. */
int hashobj_is_packed(const hashobj *h);

/* Finds field: 1 and *val (valid until the next modification), or 0. */
int hashobj_get(const hashobj *h, const char *f, size_t flen, hashobj_str *val);
/* Sets field to value. Returns 1 if the field was added, 0 if updated.
 * Converts to the hashtable form when the field or value is too long for
 * the listpack, or when the add makes it hold too many fields. */
int hashobj_set(hashobj *h, const char *f, size_t flen, const char *v, size_t vlen);
/* Removes field; 1 if it was there, 0 otherwise. */
int hashobj_delete(hashobj *h, const char *f, size_t flen);

/* Iteration in storage order. The object must not be modified while an
 * iterator is in use. Init, then call next until it returns 0. */
typedef struct hashobj_iter {
    const hashobj *h;
    size_t pos;
} hashobj_iter;
void hashobj_iter_init(hashobj_iter *it, const hashobj *h);
int hashobj_iter_next(hashobj_iter *it, hashobj_str *field, hashobj_str *val);

/* Called per visited pair by scan and the samplers. */
typedef void hashobj_pair_fn(void *ctx, const hashobj_str *field, const hashobj_str *val);

/* One HSCAN step from cursor: a listpack visits everything and returns 0;
 * a hashtable visits one bucket (Redis's reverse-binary cursor over home
 * slots) and returns the next cursor, 0 when done. Guarantee (Redis's): a
 * field present from the first to the last call is visited at least once,
 * whatever the table resizes in between; duplicates are possible. */
uint64_t hashobj_scan(const hashobj *h, uint64_t cursor, hashobj_pair_fn *fn, void *ctx);

/* Calls fn count times with a uniformly random pair each (repeats
 * possible). h must not be empty. O(count) (+ O(128) for a listpack). */
void hashobj_random_pairs(const hashobj *h, size_t count, hashobj_pair_fn *fn, void *ctx);
/* Calls fn for count distinct pairs picked uniformly at random
 * (count < hashobj_len(h)), in storage order when count is a large share
 * of the hash (O(len)), else in random order (O(count) expected, with a
 * temporary index set of O(count) bytes). */
void hashobj_random_unique(const hashobj *h, size_t count, hashobj_pair_fn *fn, void *ctx);

#endif
