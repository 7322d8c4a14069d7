/*
 * streamobj.h — the stream value: entries (an ID and field/value pairs)
 * ordered by ID, and the consumer groups with their pending entries lists.
 * OBJECT ENCODING reports "stream", TYPE "stream" (KS_TYPE_STREAM).
 *
 * IDs are (ms, seq) pairs of unsigned 64-bit integers ordered by ms, then
 * seq. 0-0 is never an entry's ID.
 *
 * ENTRIES. An ordered array of nodes (a two-level index: binary search on
 * the nodes' master IDs, then a scan inside one node). A node is one packed
 * byte array of entries in ascending ID order, all of them >= its master
 * ID (the ID of the first entry ever added to it) and < the next node's
 * master ID. A node takes new entries only at the tail of the stream and
 * is closed, as Redis's listpack nodes are, when its bytes plus the new
 * entry's would reach node_max_bytes (0 or more than 1 GiB: 1 GiB) or its
 * entries (deleted ones included) reach node_max_entries (0: no limit):
 * the stream-node-max-bytes / -entries directives, passed by the caller of
 * stream_append. Entry layout inside a node:
 *
 *   u8 flags (bit 0: deleted) | varint ms - master.ms | varint seq |
 *   varint nfields | nfields x { varint flen | field | varint vlen | value } |
 *   u32 back (little-endian: bytes of the whole entry, back included)
 *
 * varints are LEB128 (7 bits a byte, low first). `back` lets reverse
 * iteration step from an entry's end to its start. XDEL and exact trimming
 * set the deleted flag; a node all of whose entries are deleted is freed,
 * and approximate trimming frees whole nodes only (Redis's rules).
 *
 * Stream metadata, as Redis 7.0 keeps it: length (live entries), last_id
 * (the greatest ID ever added or set by XSETID, never decreases except by
 * XSETID within its rules), first_id (of the first live entry, 0-0 when
 * empty), max_deleted_id (greatest ID removed by XDEL), entries_added
 * (entries ever added). Invariants: every entry ID <= last_id; length ==
 * live entries; entries_added >= length.
 *
 * CONSUMER GROUPS, sorted by name (memcmp, a prefix first, as Redis's rax
 * lists them). A group has last_id (last delivered ID), entries_read (-1:
 * unknown, STREAM_ENTRIES_READ_INVALID), its pending entries list (PEL:
 * nacks sorted by ID) and its consumers sorted by name. Every nack of the
 * group PEL is owned by exactly one consumer and is in that consumer's
 * PEL (sorted by ID too); the group PEL owns the nack memory. PELs are
 * sorted arrays: O(log n) lookup, O(1) append of a new highest ID, O(n)
 * removal from the middle (XACK of an old entry moves the tail down).
 *
 * Snapshot encoding (stream_encode / stream_decode), little-endian:
 *   u8 version (1) | id last_id | id max_deleted_id | u64 entries_added |
 *   u64 count | count x { id | u32 nfields (>= 1) |
 *                         nfields x { u32 flen | field | u32 vlen | value } } |
 *   u32 groups | groups x { u32 nlen | name | id last_id | i64 entries_read |
 *       u64 npel | npel x { id | i64 delivery_ms | u64 delivery_count } |
 *       u32 consumers | consumers x { u32 nlen | name | i64 seen_ms |
 *                                     u64 npel | npel x { id } } }
 * where id = u64 ms | u64 seq. decode rejects: short or trailing bytes,
 * another version, entries not strictly ascending or above last_id, an
 * entry without fields, strings over 512 MiB, groups or consumers not
 * strictly ascending by name, a group PEL not strictly ascending, a
 * consumer PEL id absent from the group PEL or owned twice, and a group
 * PEL entry owned by no consumer. Nodes are rebuilt with Redis's default
 * limits (4096 bytes, 100 entries); the node layout is not part of the
 * format.
 *
 * Not thread-safe: called under the owning key's shard lock. Pointers into
 * a stream (entry fields, groups, consumers, nacks) are valid until the
 * next change of the stream. Struct fields below are read-only outside
 * streamobj.c: change them through the functions.
 *
 * Used by: src/server/cmd/t_stream.c, the keyspace (stream_type_ops),
 * tests/unit/test_streamobj.c.
 */
#ifndef LT_ENGINE_STREAMOBJ_H
#define LT_ENGINE_STREAMOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"

typedef struct stream_id {
    uint64_t ms, seq;
} stream_id;

#define STREAM_ENTRIES_READ_INVALID (-1LL)
#define STREAM_NODE_MAX_BYTES_DEFAULT 4096
#define STREAM_NODE_MAX_ENTRIES_DEFAULT 100

typedef struct stream_node stream_node; /* private to streamobj.c */
struct stream_consumer;

/* One pending entry: delivered to consumer, not yet acknowledged. */
typedef struct stream_nack {
    stream_id id;
    int64_t delivery_ms;
    uint64_t delivery_count;
    struct stream_consumer *consumer;
} stream_nack;

/* A PEL: nack pointers sorted by id. */
typedef struct stream_pel {
    stream_nack **v;
    size_t n, cap;
} stream_pel;

typedef struct stream_consumer {
    char *name;
    size_t nlen;
    int64_t seen_ms;
    stream_pel pel; /* the group's nacks this consumer owns */
} stream_consumer;

typedef struct stream_cg {
    char *name;
    size_t nlen;
    stream_id last_id;
    long long entries_read;
    stream_pel pel; /* owns the nacks */
    stream_consumer **consumers;
    size_t nconsumers, ccap;
} stream_cg;

typedef struct stream {
    stream_node **nodes;
    size_t nnodes, ncap;
    uint64_t length;
    stream_id last_id, first_id, max_deleted_id;
    uint64_t entries_added;
    stream_cg **groups;
    size_t ngroups, gcap;
} stream;

extern const ks_type_ops stream_type_ops;

int stream_id_cmp(const stream_id *a, const stream_id *b);

/* A new empty stream, owned by the caller until handed to ks_set_obj. */
stream *stream_new(void);
void stream_free(stream *s);
stream *stream_dup(const stream *s);
size_t stream_mem_usage(const stream *s);

/* Appends an entry of nfields (>= 1) field/value pairs (f[i], fl[i],
 * v[i], vl[i]) with id, which the caller checked is > last_id; updates
 * length, last_id, first_id and entries_added. Node limits as above. */
void stream_append(stream *s, const stream_id *id, size_t nfields, const char *const *f,
                   const size_t *fl, const char *const *v, const size_t *vl,
                   uint64_t node_max_bytes, uint64_t node_max_entries);

/* Marks the live entry id deleted (XDEL: also raises max_deleted_id).
 * 1 if it was there, else 0. */
int stream_delete(stream *s, const stream_id *id);

/* Trimming (Redis's streamTrim): MAXLEN keeps at most maxlen entries,
 * MINID removes entries below minid. approx: whole nodes only, stopping
 * at the first node it cannot remove whole. limit (0: none) caps the
 * entries removed, counted by whole nodes. Returns entries removed. */
enum { STREAM_TRIM_MAXLEN = 1, STREAM_TRIM_MINID = 2 };
uint64_t stream_trim(stream *s, int strategy, uint64_t maxlen, const stream_id *minid,
                     int approx, uint64_t limit);

/* One entry, as an iterator returns it. Fields are read in order with
 * stream_entry_field; pointers valid until the stream changes. */
typedef struct stream_entry {
    stream_id id;
    uint64_t nfields;
    const unsigned char *cur; /* next field */
} stream_entry;
/* Reads the next field/value pair of e (nfields of them). */
void stream_entry_field(stream_entry *e, const char **f, size_t *fl, const char **v,
                        size_t *vl);

/* Iterates live entries with start <= id <= end (NULL: unbounded),
 * ascending or (rev) descending. No allocation; valid until the stream
 * changes. */
typedef struct stream_iter {
    const stream *s;
    stream_id start, end;
    int rev, done;
    size_t node;
    uint32_t off;
} stream_iter;
void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start,
                      const stream_id *end, int rev);
int stream_iter_next(stream_iter *it, stream_entry *e);

/* 1 and *e when the live entry id exists. */
int stream_lookup(const stream *s, const stream_id *id, stream_entry *e);

/* Redis 7.0's logical read counter helpers (consumer group lag). */
int stream_range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end);
long long stream_estimate_distance(const stream *s, const stream_id *id);

/* ---- Consumer groups ------------------------------------------------------ */
stream_cg *stream_cg_find(const stream *s, const char *name, size_t nlen);
/* NULL when a group of that name exists. */
stream_cg *stream_cg_create(stream *s, const char *name, size_t nlen, const stream_id *last_id,
                            long long entries_read);
/* 1 if the group existed (it is freed). */
int stream_cg_destroy(stream *s, const char *name, size_t nlen);

stream_consumer *stream_consumer_find(const stream_cg *cg, const char *name, size_t nlen);
/* NULL when it exists. */
stream_consumer *stream_consumer_create(stream_cg *cg, const char *name, size_t nlen,
                                        int64_t seen_ms);
/* Deletes the consumer and its pending entries; returns how many it had. */
uint64_t stream_consumer_delete(stream_cg *cg, stream_consumer *c);

/* Index of the first nack with id >= *id in pel (pel->n if none); *found
 * set when equal. */
size_t stream_pel_lower_bound(const stream_pel *pel, const stream_id *id, int *found);
stream_nack *stream_cg_nack(const stream_cg *cg, const stream_id *id);
/* A new nack for id (absent from the group PEL) owned by c. */
stream_nack *stream_cg_add_nack(stream_cg *cg, stream_consumer *c, const stream_id *id,
                                int64_t delivery_ms, uint64_t delivery_count);
/* Gives nack to another consumer. */
void stream_nack_move(stream_nack *nack, stream_consumer *to);
/* Removes id from the group PEL and its owner's; 1 if it was pending. */
int stream_cg_ack(stream_cg *cg, const stream_id *id);

/* Snapshot format (above). */
int stream_encode(const stream *s, ks_emit_fn *emit, void *ctx);
stream *stream_decode(const void *buf, size_t len);

/* Checks every invariant above; NULL or a description (tests). */
const char *stream_check(const stream *s);

#endif
