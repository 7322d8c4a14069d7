/*
 * entry.h — read access to one key's entry (key, typed value, metadata), and
 * the registry through which collection types plug their values in.
 *
 * A ks_entry is what the keyspace stores per key version: key bytes, a typed
 * value and the metadata Redis exposes (expiry, LRU/LFU, memory usage).
 * Entries are obtained from keyspace.h lookups; their lifetime is stated
 * there (in short: until the next write to the same shard in the same
 * transaction, or its end; for view reads until the view closes).
 *
 * Types use Redis's numbering. Strings are built in: encoding "int" (value
 * stored as int64, when the bytes round-trip through lt_string2ll exactly)
 * or inline bytes ("embstr" when <= 44 bytes and never modified in place,
 * else "raw"). Other types store an object pointer handled by the
 * ks_type_ops registered for the type.
 */
#ifndef LT_ENGINE_ENTRY_H
#define LT_ENGINE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

typedef struct ks_entry ks_entry;

enum {
    KS_TYPE_STRING = 0,
    KS_TYPE_LIST = 1,
    KS_TYPE_SET = 2,
    KS_TYPE_ZSET = 3,
    KS_TYPE_HASH = 4,
    KS_TYPE_STREAM = 6,
    KS_TYPE_MAX = 8
};

/* Storage encodings (entry level). KS_ENC_OBJ values name their finer
 * encoding through ks_type_ops.encoding. */
enum { KS_ENC_RAW = 0, KS_ENC_INT = 1, KS_ENC_OBJ = 2 };

/* Longest string Redis still reports as "embstr". */
#define KS_EMBSTR_MAX 44

/* Per-type behaviour for KS_ENC_OBJ values. All functions are called with
 * the owning shard locked (so they need no locking of their own) except
 * free, which may run after the lock is released (flush). */
/* Receives bytes of an encoding (ks_type_ops.encode); returns 0, or -1 to
 * stop (the writer failed). */
typedef int ks_emit_fn(void *ctx, const void *p, size_t n);

typedef struct ks_type_ops {
    const char *name;                      /* TYPE reply, e.g. "hash" */
    void (*free)(void *obj);               /* release obj entirely */
    void *(*dup)(const void *obj);         /* deep copy (MVCC copy-on-write) */
    size_t (*mem_usage)(const void *obj);  /* approximate bytes owned by obj */
    const char *(*encoding)(const void *obj); /* OBJECT ENCODING reply */
    /* Writes a self-contained, portable encoding of obj (snapshots,
     * full sync) through emit, in as many calls as it likes. Returns 0,
     * or -1 if emit failed. */
    int (*encode)(const void *obj, ks_emit_fn *emit, void *ctx);
    /* Rebuilds an object from exactly the bytes encode produced. Never
     * trusts them: returns NULL for any malformed input (a corrupt file). */
    void *(*decode)(const void *buf, size_t len);
    /* Optional: allocations freeing obj takes (Redis's free effort: list
     * nodes, hashtable members; 1 for a packed value). NULL: 1. The
     * lazy-free thread takes values above LAZYFREE_THRESHOLD (lazyfree.h). */
    size_t (*free_effort)(const void *obj);
} ks_type_ops;

/* The ops registered for type, or NULL. */
const ks_type_ops *ks_type_get(int type);

/* Registers ops for type (KS_TYPE_LIST..KS_TYPE_STREAM). Call once at
 * startup, before any engine use; ops must outlive the process. */
void ks_type_register(int type, const ks_type_ops *ops);

/* KS_TYPE_* of the entry. */
int ks_entry_type(const ks_entry *e);
/* KS_ENC_* of the entry. */
int ks_entry_encoding(const ks_entry *e);
/* TYPE reply name: "string", "list", ... Static storage. */
const char *ks_entry_type_name(const ks_entry *e);
/* OBJECT ENCODING reply: "int", "embstr", "raw" or the type's own name. */
const char *ks_entry_encoding_name(const ks_entry *e);

/* Key bytes (not NUL-terminated), length in *len. */
const char *ks_entry_key(const ks_entry *e, size_t *len);

/* String value bytes (type must be string). For int-encoded values the
 * decimal form is written into buf and buf is returned; otherwise the
 * inline bytes are returned (valid as long as the entry). */
const char *ks_entry_str(const ks_entry *e, char buf[LT_LLSTR_SIZE],
                         size_t *len);
/* Length of the string value (decimal length for int encoding). */
size_t ks_entry_strlen(const ks_entry *e);
/* For a string: 1 and *v if the value is an integer by lt_string2ll's rules
 * (int encoding, or raw bytes that parse), else 0. */
int ks_entry_get_int(const ks_entry *e, long long *v);
/* Object pointer of a KS_ENC_OBJ value (owned by the entry). */
void *ks_entry_obj(const ks_entry *e);
/* A deep copy of the entry's collection object (COPY), owned by the
 * caller until handed to ks_set_obj. */
void *ks_entry_obj_dup(const ks_entry *e);

/* Absolute expiry in Unix ms, or -1 if the key has none. */
int64_t ks_entry_expire_ms(const ks_entry *e);
/* Commit timestamp that wrote this version (WATCH compares these). */
uint64_t ks_entry_ts(const ks_entry *e);
/* OBJECT IDLETIME: seconds since last access. */
uint64_t ks_entry_idle_s(const ks_entry *e, int64_t now_ms);
/* OBJECT FREQ: logarithmic access counter (0..255) after time decay. */
unsigned ks_entry_lfu(const ks_entry *e, int64_t now_ms);
/* RESTORE / RDB loading: sets the access stats of an entry the caller has
 * just created in its transaction (not yet visible to anyone else): LRU
 * idle time idle_s seconds (IDLETIME, the RDB IDLE opcode) and LFU counter
 * lfu 0..255 (FREQ); a negative value keeps that part. */
void ks_entry_restore_access(ks_entry *e, int64_t now_ms, int64_t idle_s, int lfu);
/* MEMORY USAGE: allocation sizes of the entry (+ object, + its share of
 * the hash and expiry indexes). */
size_t ks_entry_memory_usage(const ks_entry *e);

#endif
