/*
 * entry.c — construction, encoding and metadata of key entries (see
 * entry_int.h for the layout and entry.h for the server-facing accessors).
 *
 * Owns: the string encodings (int / embstr / raw), the collection type
 * registry, LRU/LFU bookkeeping and memory accounting of one entry.
 * Invariants: every entry is one malloc'd block; malloc_usable_size() of it
 * is its exact memory cost and, for RAW strings, gives the in-place growth
 * capacity without storing it.
 * Called by: keyspace.c, mvcc.c, expire.c (constructors), server (accessors).
 */
#include "engine/entry_int.h"

#include <malloc.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/util.h"
#include "common/xalloc.h"

/* LFU as in Redis: log factor 10, decay one step per idle minute, new keys
 * start at 5 so they are not evicted right away. */
#define LFU_INIT_VAL KS_LFU_INIT_VAL
#define LFU_LOG_FACTOR 10
#define LRU_CLOCK_MASK 0xFFFFFFu /* 24-bit seconds clock */

static const ks_type_ops *type_ops[KS_TYPE_MAX];

void ks_type_register(int type, const ks_type_ops *ops) {
    ASSERT(type > KS_TYPE_STRING && type < KS_TYPE_MAX);
    ASSERT(ops && ops->free && ops->dup && ops->mem_usage && ops->name);
    type_ops[type] = ops;
}

static const ks_type_ops *ops_of(int type) {
    const ks_type_ops *ops = type_ops[type];
    ASSERT(ops != NULL);
    return ops;
}

static inline uint32_t lru_clock(int64_t now_ms) {
    return (uint32_t)(now_ms / 1000) & LRU_CLOCK_MASK;
}

static ks_entry *entry_alloc(int has_exp, int enc, size_t klen, size_t vlen,
                             size_t cap) {
    ASSERT(klen <= KS_MAX_LEN && vlen <= KS_MAX_LEN);
    size_t need = sizeof(ks_entry) + (has_exp ? sizeof(ks_expblock) : 0) +
                  (enc != KS_ENC_RAW ? 8 : 0) + klen +
                  (enc == KS_ENC_RAW ? (cap > vlen ? cap : vlen) : 0);
    ks_entry *e = lt_xmalloc(need);
    e->next = NULL;
    e->old = NULL;
    e->ts = 0;
    e->klen = (uint32_t)klen;
    e->vlen = enc == KS_ENC_RAW ? (uint32_t)vlen : 0;
    e->access = 0;
    e->type = KS_TYPE_STRING;
    e->enc = (uint8_t)enc;
    e->flags = has_exp ? KS_EF_EXPIRE : 0;
    e->spare = 0;
    return e;
}

static void entry_init_meta(ks_entry *e, const char *key, int64_t expire_ms,
                            uint32_t access) {
    memcpy(entry_keyp(e), key, e->klen);
    ks_expblock *xb = entry_expblock(e);
    if (xb) {
        xb->when_ms = expire_ms;
        xb->idx = UINT32_MAX;
        xb->pad = 0;
    }
    e->access = access;
}

ks_entry *entry_new_raw(const char *key, size_t klen, const void *val,
                        size_t vlen, int64_t expire_ms) {
    ks_entry *e = entry_alloc(expire_ms >= 0, KS_ENC_RAW, klen, vlen, 0);
    entry_init_meta(e, key, expire_ms, 0);
    if (vlen) memcpy(entry_rawp(e), val, vlen);
    return e;
}

ks_entry *entry_new_int(const char *key, size_t klen, int64_t v,
                        int64_t expire_ms) {
    ks_entry *e = entry_alloc(expire_ms >= 0, KS_ENC_INT, klen, 0, 0);
    entry_init_meta(e, key, expire_ms, 0);
    *entry_intp(e) = v;
    return e;
}

ks_entry *entry_new_str(const char *key, size_t klen, const void *val,
                        size_t vlen, int64_t expire_ms) {
    long long v;
    if (vlen < LT_LLSTR_SIZE && lt_string2ll(val, vlen, &v))
        return entry_new_int(key, klen, v, expire_ms);
    return entry_new_raw(key, klen, val, vlen, expire_ms);
}

ks_entry *entry_new_obj(const char *key, size_t klen, int type, void *obj,
                        int64_t expire_ms) {
    ASSERT(type > KS_TYPE_STRING && type < KS_TYPE_MAX && obj);
    ks_entry *e = entry_alloc(expire_ms >= 0, KS_ENC_OBJ, klen, 0, 0);
    e->type = (uint8_t)type;
    entry_init_meta(e, key, expire_ms, 0);
    *entry_objp(e) = obj;
    return e;
}

ks_entry *entry_new_tomb(const char *key, size_t klen) {
    ks_entry *e = entry_alloc(0, KS_ENC_RAW, klen, 0, 0);
    entry_init_meta(e, key, -1, 0);
    e->flags |= KS_EF_TOMB;
    return e;
}

ks_entry *entry_rebuild(const ks_entry *src, const char *key, size_t klen,
                        int64_t expire_ms, int dup_obj) {
    ASSERT(!entry_is_tomb(src));
    if (!key) {
        key = entry_keyp(src);
        klen = src->klen;
    }
    ks_entry *e = entry_alloc(expire_ms >= 0, src->enc, klen, src->vlen, 0);
    e->type = src->type;
    e->flags |= src->flags & KS_EF_MUTATED;
    entry_init_meta(e, key, expire_ms, src->access);
    switch (src->enc) {
    case KS_ENC_RAW:
        if (src->vlen) memcpy(entry_rawp(e), entry_rawp(src), src->vlen);
        break;
    case KS_ENC_INT:
        *entry_intp(e) = *entry_intp(src);
        break;
    case KS_ENC_OBJ:
        *entry_objp(e) = dup_obj ? ops_of(src->type)->dup(*entry_objp(src))
                                 : *entry_objp(src);
        break;
    default:
        ASSERT_NOT_REACHED();
    }
    return e;
}

static size_t raw_capacity(const ks_entry *e) {
    return malloc_usable_size((void *)e) - (size_t)(entry_rawp(e) - (char *)e);
}

ks_entry *entry_make_raw(ks_entry *e, size_t newlen) {
    ASSERT(e->type == KS_TYPE_STRING && !entry_is_tomb(e));
    ASSERT(newlen <= KS_MAX_LEN);
    if (e->enc == KS_ENC_INT) {
        char buf[LT_LLSTR_SIZE];
        size_t n = lt_ll2string(buf, sizeof(buf), *entry_intp(e));
        int64_t when = entry_expblock(e) ? entry_expblock(e)->when_ms : -1;
        ks_entry *r = entry_alloc(when >= 0, KS_ENC_RAW, e->klen, newlen, 0);
        entry_init_meta(r, entry_keyp(e), when, e->access);
        if (when >= 0) entry_expblock(r)->idx = entry_expblock(e)->idx;
        memcpy(entry_rawp(r), buf, n < newlen ? n : newlen);
        r->next = e->next;
        r->old = e->old;
        r->ts = e->ts;
        r->flags |= KS_EF_MUTATED;
        entry_free_shallow(e);
        return r;
    }
    ASSERT(e->enc == KS_ENC_RAW);
    if (newlen > raw_capacity(e)) {
        /* Greedy growth like sds: double up to 1 MiB, then +1 MiB. */
        size_t want = newlen < (1u << 20) ? newlen * 2 : newlen + (1u << 20);
        if (want > KS_MAX_LEN) want = newlen;
        size_t head = (size_t)(entry_rawp(e) - (char *)e);
        e = lt_xrealloc(e, head + want);
    }
    e->vlen = (uint32_t)newlen;
    e->flags |= KS_EF_MUTATED;
    return e;
}

void entry_free_shallow(ks_entry *e) { free(e); }

void entry_free(ks_entry *e) {
    if (e->enc == KS_ENC_OBJ) ops_of(e->type)->free(*entry_objp(e));
    free(e);
}

/* lfu-log-factor and lfu-decay-time (ks_lfu_configure): process-wide. */
static unsigned lfu_log_factor = LFU_LOG_FACTOR;
static unsigned lfu_decay_min = 1;

void ks_lfu_configure(unsigned log_factor, unsigned decay_time_min) {
    __atomic_store_n(&lfu_log_factor, log_factor, __ATOMIC_RELAXED);
    __atomic_store_n(&lfu_decay_min, decay_time_min, __ATOMIC_RELAXED);
}

/* Redis's LFUDecrAndReturn: one step down per lfu-decay-time minutes idle
 * (never with 0). */
static unsigned lfu_decayed(const ks_entry *e, int64_t now_ms) {
    unsigned counter = e->access & 0xFF;
    uint32_t last = e->access >> 8;
    uint32_t idle_s = (lru_clock(now_ms) - last) & LRU_CLOCK_MASK;
    unsigned decay = __atomic_load_n(&lfu_decay_min, __ATOMIC_RELAXED);
    uint32_t periods = decay ? idle_s / 60 / decay : 0;
    return periods > counter ? 0 : counter - periods;
}

void entry_init_access(ks_entry *e, int64_t now_ms) {
    e->access = (lru_clock(now_ms) << 8) | LFU_INIT_VAL;
}

void entry_touch(ks_entry *e, int64_t now_ms) {
    unsigned counter = lfu_decayed(e, now_ms);
    if (counter < 255) {
        unsigned base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
        /* p = 1 / (base * factor + 1), drawn with integer arithmetic. */
        uint64_t f = __atomic_load_n(&lfu_log_factor, __ATOMIC_RELAXED);
        if (lt_random_below((uint64_t)base * f + 1) == 0)
            counter++;
    }
    e->access = (lru_clock(now_ms) << 8) | counter;
}

/* ---- Accessors (entry.h) ------------------------------------------------ */

int ks_entry_type(const ks_entry *e) { return e->type; }
int ks_entry_encoding(const ks_entry *e) { return e->enc; }

const char *ks_entry_type_name(const ks_entry *e) {
    if (e->type == KS_TYPE_STRING) return "string";
    return ops_of(e->type)->name;
}

const char *ks_entry_encoding_name(const ks_entry *e) {
    switch (e->enc) {
    case KS_ENC_INT: return "int";
    case KS_ENC_RAW:
        return (e->vlen <= KS_EMBSTR_MAX && !(e->flags & KS_EF_MUTATED))
                   ? "embstr"
                   : "raw";
    default: {
        const ks_type_ops *ops = ops_of(e->type);
        return ops->encoding ? ops->encoding(*entry_objp(e)) : "unknown";
    }
    }
}

const char *ks_entry_key(const ks_entry *e, size_t *len) {
    *len = e->klen;
    return entry_keyp(e);
}

const char *ks_entry_str(const ks_entry *e, char buf[LT_LLSTR_SIZE],
                         size_t *len) {
    ASSERT(e->type == KS_TYPE_STRING);
    if (e->enc == KS_ENC_INT) {
        *len = lt_ll2string(buf, LT_LLSTR_SIZE, *entry_intp(e));
        return buf;
    }
    *len = e->vlen;
    return entry_rawp(e);
}

size_t ks_entry_strlen(const ks_entry *e) {
    ASSERT(e->type == KS_TYPE_STRING);
    if (e->enc == KS_ENC_INT) {
        char buf[LT_LLSTR_SIZE];
        return lt_ll2string(buf, sizeof(buf), *entry_intp(e));
    }
    return e->vlen;
}

int ks_entry_get_int(const ks_entry *e, long long *v) {
    if (e->type != KS_TYPE_STRING) return 0;
    if (e->enc == KS_ENC_INT) {
        *v = *entry_intp(e);
        return 1;
    }
    return lt_string2ll(entry_rawp(e), e->vlen, v);
}

void *ks_entry_obj(const ks_entry *e) {
    ASSERT(e->enc == KS_ENC_OBJ);
    return *entry_objp(e);
}

void *ks_entry_obj_dup(const ks_entry *e) {
    ASSERT(e->enc == KS_ENC_OBJ && type_ops[e->type]);
    return type_ops[e->type]->dup(*entry_objp(e));
}

const ks_type_ops *ks_type_get(int type) {
    return type >= 0 && type < KS_TYPE_MAX ? type_ops[type] : NULL;
}

int64_t ks_entry_expire_ms(const ks_entry *e) {
    const ks_expblock *xb = entry_expblock(e);
    return xb ? xb->when_ms : -1;
}

uint64_t ks_entry_ts(const ks_entry *e) { return e->ts; }

uint64_t ks_entry_idle_s(const ks_entry *e, int64_t now_ms) {
    return (lru_clock(now_ms) - (e->access >> 8)) & LRU_CLOCK_MASK;
}

unsigned ks_entry_lfu(const ks_entry *e, int64_t now_ms) {
    return lfu_decayed(e, now_ms);
}

void ks_entry_restore_access(ks_entry *e, int64_t now_ms, int64_t idle_s, int lfu) {
    uint32_t lru = e->access >> 8;
    unsigned counter = e->access & 0xFF;
    if (idle_s >= 0) {
        uint64_t idle = (uint64_t)idle_s > LRU_CLOCK_MASK ? LRU_CLOCK_MASK : (uint64_t)idle_s;
        lru = (lru_clock(now_ms) - (uint32_t)idle) & LRU_CLOCK_MASK;
    }
    if (lfu >= 0) counter = lfu > 255 ? 255 : (unsigned)lfu;
    e->access = (lru << 8) | counter;
}

size_t ks_entry_memory_usage(const ks_entry *e) {
    /* One bucket pointer per key at load factor ~1, plus a slot in the
     * expiry index for keys with a TTL. */
    size_t n = malloc_usable_size((void *)e) + sizeof(void *);
    if (e->flags & KS_EF_EXPIRE) n += sizeof(void *);
    if (e->enc == KS_ENC_OBJ) n += ops_of(e->type)->mem_usage(*entry_objp(e));
    return n;
}
