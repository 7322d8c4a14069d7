/*
 * rdb.h — Redis's RDB format, the interchange format of Lightning: whole
 * files (loading a Redis dump.rdb, writing the payload of SYNC / PSYNC full
 * sync and of the converter), and single values (DUMP / RESTORE / MIGRATE).
 * The format itself is specified in rdb.c's header comment.
 *
 * Lightning's own SAVE / BGSAVE files stay in the snapshot format
 * (snapshot.h); RDB is what Lightning reads from and writes for Redis.
 *
 * Reading accepts everything Redis 7.0.15 loads (RDB versions 1..10, every
 * type and encoding of those versions); writing produces RDB version 10 that
 * Redis 7.0 loads. Decoders never trust their input: any malformed byte
 * sequence gives an error with the byte offset where it was found, never a
 * crash or a read outside the buffer, and every allocation is bounded by
 * the input's size (a compressed string by what its compressed bytes can
 * expand to).
 *
 * Errors: LT_OK; LT_INVAL (malformed input: the rdb_problem says where and
 * why); LT_IOERR (file functions: *sys_errno says why).
 *
 * Threads: the functions are reentrant. rdb_write_view iterates an MVCC
 * view (no fork, writers go on); rdb_load_* inserts through one-key engine
 * transactions. Collection types must be registered (ks_type_register).
 *
 * Streams: the stream type is being built separately. Its RDB codec plugs in
 * through rdb_set_stream_codec (below): until a codec is registered, stream
 * values (RDB_TYPE_STREAM_LISTPACKS, _2, _3 and KS_TYPE_STREAM entries) are
 * refused with an error naming the type.
 */
#ifndef LT_ENGINE_RDB_H
#define LT_ENGINE_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"
#include "engine/mvcc.h"
#include "engine/txn.h"
#include "lightning.h"

/* The version written, and the newest one read (Redis 7.0's RDB_VERSION). */
#define RDB_VERSION 10

/* Value type bytes (Redis's RDB_TYPE_*). */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE_PRE_GA = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* Opcodes (Redis's RDB_OPCODE_*). */
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION_PRE_GA = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* Where input stopped being valid. offset: byte offset in the buffer or
 * file (for a DUMP payload, in the payload). */
typedef struct rdb_problem {
    uint64_t offset;
    char why[160];
} rdb_problem;

/* A growable output buffer (lt_xrealloc: never fails). Zero-initialise;
 * free p when done. */
typedef struct rdb_buf {
    unsigned char *p;
    size_t len, cap;
} rdb_buf;
void rdb_buf_append(rdb_buf *b, const void *p, size_t n);

/* A decoded value, before it is installed under a key. Owns what it
 * holds: rdb_value_install consumes it, rdb_value_free releases it. */
typedef struct rdb_value {
    int type;        /* KS_TYPE_* */
    void *obj;       /* collections: the object (ks_type_ops of type) */
    char *str;       /* strings: malloc'd bytes (may be NULL when slen 0) */
    size_t slen;
} rdb_value;
void rdb_value_free(rdb_value *v);
/* Creates or replaces key with v's value and expire_ms (absolute, or
 * KS_EXPIRE_NONE); v is consumed. Returns the new entry (keyspace.h
 * lifetime). The txn must lock the key's shard. */
ks_entry *rdb_value_install(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                            rdb_value *v, int64_t expire_ms);

/* ---- Single values: DUMP / RESTORE ------------------------------------------- */
/* Appends e's value as RDB: the type byte then the value. LT_OK, or
 * LT_INVAL for a type with no RDB codec (a stream before its codec is
 * registered). */
int rdb_encode_value(rdb_buf *out, const ks_entry *e);
/* DUMP payload of e: rdb_encode_value, then the RDB version (2 bytes,
 * little-endian) and the CRC64 of everything before (8 bytes,
 * little-endian). LT_OK or LT_INVAL as rdb_encode_value. */
int rdb_dump_payload(rdb_buf *out, const ks_entry *e);
/* Redis's verifyDumpPayload: 1 when p holds at least the 10-byte footer,
 * its version is <= RDB_VERSION and its CRC64 matches, else 0. */
int rdb_payload_verify(const void *p, size_t len);
/* Decodes a verified DUMP payload (footer included in len) into *v. LT_OK,
 * or LT_INVAL with *pb (RESTORE replies "Bad data format"). Bytes left
 * between the value and the footer are ignored, as Redis does. */
int rdb_payload_decode(const void *p, size_t len, rdb_value *v, rdb_problem *pb);

/* ---- Whole files: loading -------------------------------------------------------- */
typedef struct rdb_load_opts {
    unsigned databases;   /* SELECTDB above this is an error */
    int threads;          /* rdb_load_*: decoding threads (<= 1: the calling
                             thread alone; at most 16) */
    int64_t now_ms;       /* keys expired at this time are skipped (0: the
                             wall clock) */
    /* Optional: a function library (RDB_OPCODE_FUNCTION2), its code bytes
     * valid during the call. Lightning has no scripting yet: the server
     * keeps them aside. Returns 0, or -1 to fail the load. */
    int (*on_function)(void *ctx, const char *code, size_t len);
    /* Optional: each AUX field (bytes valid during the call). */
    void (*on_aux)(void *ctx, const char *k, size_t klen, const char *v, size_t vlen);
    /* Optional: progress, about every 64K keys: keys so far and the input
     * offset. */
    void (*progress)(void *ctx, uint64_t keys, uint64_t offset);
    void *ctx;
} rdb_load_opts;

typedef struct rdb_load_info {
    int version;           /* RDB version of the file */
    uint64_t keys;         /* keys inserted */
    uint64_t expired;      /* keys skipped because already expired */
    uint64_t functions;    /* function libraries passed to on_function */
    uint64_t aux;          /* AUX fields */
    int checksum_checked;  /* 0 when the file's CRC field was 0 (disabled) */
} rdb_load_info;

/* Checks buf[0..len) completely without inserting: header, version, every
 * opcode and value (decoded and freed), EOF, CRC64. LT_OK or LT_INVAL. */
int rdb_verify_buf(const void *buf, size_t len, const rdb_load_opts *o, rdb_load_info *info,
                   rdb_problem *pb);
/* Loads an RDB image into db: first checks the header and the CRC64
 * (nothing is inserted from a file whose checksum fails), then decodes and
 * inserts key by key, replacing existing keys — with o->threads > 1, the
 * calling thread skims record boundaries and that many threads decode and
 * insert in parallel. A value that fails to
 * decode after that returns LT_INVAL with some keys inserted (the caller
 * discards db). LT_OK with *info, or LT_INVAL with *pb. */
int rdb_load_buf(lt_db *db, const void *buf, size_t len, const rdb_load_opts *o,
                 rdb_load_info *info, rdb_problem *pb);
/* rdb_load_buf over a file (mmap'd). LT_IOERR with *sys_errno too. */
int rdb_load_file(lt_db *db, const char *path, const rdb_load_opts *o, rdb_load_info *info,
                  rdb_problem *pb, int *sys_errno);

/* ---- Whole files: writing -------------------------------------------------------- */
typedef struct rdb_aux {
    const char *key, *val;
} rdb_aux;

typedef struct rdb_write_opts {
    ks_emit_fn *emit;      /* receives the file's bytes in order */
    void *ctx;
    const rdb_aux *aux;    /* AUX fields written after the header */
    size_t naux;
    /* Function libraries to write (RDB_OPCODE_FUNCTION2), code bytes. */
    const char *const *functions;
    const size_t *function_lens;
    size_t nfunctions;
} rdb_write_opts;

/* Writes every key visible to view v (all databases, in order) as an RDB
 * version 10 file through o->emit: header, AUX fields, functions, per
 * non-empty database SELECTDB + RESIZEDB + its keys (expiry, type, key,
 * value), EOF, CRC64. v must be open with v->sequential = 1 and not
 * iterated yet; it stays open. Encoding happens under shard locks in
 * bounded batches; emit is called with no lock held. LT_OK (*keys set), or
 * LT_IOERR when emit failed, LT_INVAL for a value without an RDB codec. */
int rdb_write_view(lt_db *db, ks_view *v, const rdb_write_opts *o, uint64_t *keys);

/* ---- Streams (plug-in point for the stream type) ------------------------------- */
/* encode appends the RDB form of a stream object (without the type byte)
 * and returns the RDB type byte it used (RDB_TYPE_STREAM_LISTPACKS_2 for
 * Redis 7.0), or -1 when it cannot. It runs under the key's shard lock and
 * must not call into the engine. decode reads a stream of rdbtype (15 or 19) from p[*pos..len),
 * advancing *pos, and returns the object or NULL with why filled. Both
 * are set once at start-up (stream type registration). */
typedef struct rdb_stream_codec {
    int (*encode)(rdb_buf *out, const void *obj);
    void *(*decode)(const unsigned char *p, size_t len, size_t *pos, int rdbtype,
                    char *why, size_t whylen);
} rdb_stream_codec;
void rdb_set_stream_codec(const rdb_stream_codec *codec);

/* Shared with stream codecs: RDB length and string encodings. */
void rdb_put_len(rdb_buf *b, uint64_t len);
void rdb_put_string(rdb_buf *b, const void *p, size_t len);
/* Reads a length at p[*pos..len) and advances *pos: 0, or -1 when
 * malformed (*pos unchanged). */
int rdb_get_len(const unsigned char *p, size_t len, size_t *pos, uint64_t *out);
/* Reads a string (any encoding) at p[*pos..len), advancing *pos: a
 * malloc'd copy (caller frees) of *slen bytes, or NULL when malformed. */
char *rdb_get_string(const unsigned char *p, size_t len, size_t *pos, size_t *slen);

#endif
