/*
 * entry_int.h — layout of ks_entry and the constructors the engine uses.
 * Only engine modules include this; the server uses entry.h.
 *
 * Layout (one malloc per version, key and small values inline):
 *
 *   offset 0   next    bucket chain (dict.c)
 *          8   old     next older version still needed by a view (mvcc.c)
 *         16   ts      commit timestamp of this version
 *         24   klen, vlen (raw string bytes), access (lru<<8 | lfu)
 *         36   type, enc, flags, spare
 *         40   data[]: [expiry block, 16 bytes, iff KS_EF_EXPIRE]
 *                      [8-byte word: int64 or object pointer, iff enc != RAW]
 *                      [key bytes][raw value bytes, iff enc == RAW]
 *
 * Invariants: header is 40 bytes, data 8-aligned; a tombstone (KS_EF_TOMB)
 * is a RAW entry with vlen 0 and never has an expiry; ts != 0 once the entry
 * is in a table; an entry reachable from a view is never modified except
 * for next/old links and the expiry block's index (all under the shard
 * lock).
 */
#ifndef LT_ENGINE_ENTRY_INT_H
#define LT_ENGINE_ENTRY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/entry.h"

#define KS_EF_EXPIRE 0x01 /* data starts with an expiry block */
#define KS_EF_TOMB 0x02   /* deletion marker kept for views */
#define KS_EF_MUTATED 0x04 /* string changed in place: reported as "raw" */

struct ks_entry {
    ks_entry *next;
    ks_entry *old;
    uint64_t ts;
    uint32_t klen;
    uint32_t vlen;
    uint32_t access;
    uint8_t type;
    uint8_t enc;
    uint8_t flags;
    uint8_t spare;
    char data[];
};
_Static_assert(sizeof(struct ks_entry) == 40, "ks_entry header is 40 bytes");

typedef struct ks_expblock {
    int64_t when_ms;
    uint32_t idx; /* position in the shard's expiry index (expire.c) */
    uint32_t pad;
} ks_expblock;
_Static_assert(sizeof(ks_expblock) == 16, "expiry block is 16 bytes");

/* LFU counter of a new key (Redis's LFU_INIT_VAL). */
#define KS_LFU_INIT_VAL 5

/* Largest key or string value accepted (Redis's proto-max-bulk-len max). */
#define KS_MAX_LEN ((size_t)512 * 1024 * 1024)

static inline size_t entry_word_off(const ks_entry *e) {
    return (e->flags & KS_EF_EXPIRE) ? sizeof(ks_expblock) : 0;
}
static inline char *entry_keyp(const ks_entry *e) {
    return (char *)e->data + entry_word_off(e) + (e->enc != KS_ENC_RAW ? 8 : 0);
}
static inline char *entry_rawp(const ks_entry *e) {
    return entry_keyp(e) + e->klen;
}
static inline ks_expblock *entry_expblock(const ks_entry *e) {
    return (e->flags & KS_EF_EXPIRE) ? (ks_expblock *)(void *)e->data : NULL;
}
static inline int64_t *entry_intp(const ks_entry *e) {
    return (int64_t *)(void *)((char *)e->data + entry_word_off(e));
}
static inline void **entry_objp(const ks_entry *e) {
    return (void **)(void *)((char *)e->data + entry_word_off(e));
}
static inline int entry_is_tomb(const ks_entry *e) {
    return (e->flags & KS_EF_TOMB) != 0;
}
static inline int entry_key_eq(const ks_entry *e, const char *key,
                               size_t klen) {
    return e->klen == klen && memcmp(entry_keyp(e), key, klen) == 0;
}

/* Constructors: allocate a new entry (aborts on OOM), ts 0, next/old NULL,
 * access 0 (callers storing a new key call entry_init_access). expire_ms -1
 * means none. */
ks_entry *entry_new_raw(const char *key, size_t klen, const void *val,
                        size_t vlen, int64_t expire_ms);
/* Like entry_new_raw but int-encodes val when lt_string2ll accepts it. */
ks_entry *entry_new_str(const char *key, size_t klen, const void *val,
                        size_t vlen, int64_t expire_ms);
ks_entry *entry_new_int(const char *key, size_t klen, int64_t v,
                        int64_t expire_ms);
/* Takes ownership of obj. */
ks_entry *entry_new_obj(const char *key, size_t klen, int type, void *obj,
                        int64_t expire_ms);
ks_entry *entry_new_tomb(const char *key, size_t klen);

/* New entry with src's value and access stats, under key (NULL: src's key)
 * and the given expiry. dup_obj: deep-copy an object value (src stays
 * valid); otherwise the object moves to the new entry and src must then be
 * released with entry_free_shallow(). */
ks_entry *entry_rebuild(const ks_entry *src, const char *key, size_t klen,
                        int64_t expire_ms, int dup_obj);

/* Turns e into a RAW string of exactly newlen bytes (int values are first
 * rendered to decimal), keeping the leading min(old, new) bytes; new bytes
 * are uninitialised. Reallocates with slack for growth, so e may move (all
 * header fields and the expiry block, index included, move with it): the
 * caller relinks the returned pointer in its bucket and expiry index. e must
 * not be reachable by views. */
ks_entry *entry_make_raw(ks_entry *e, size_t newlen);

/* Frees e and its object (if any). */
void entry_free(ks_entry *e);
/* Frees e but not its object (moved elsewhere by entry_rebuild). */
void entry_free_shallow(ks_entry *e);

/* Sets the access stats of a new key: LRU now, LFU initial value. */
void entry_init_access(ks_entry *e, int64_t now_ms);
/* Records an access: LRU clock now, LFU log-increment after decay. */
void entry_touch(ks_entry *e, int64_t now_ms);

#endif
