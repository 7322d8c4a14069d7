/*
 * setobj.c — the set value (see setobj.h for the encodings, invariants and
 * the snapshot format).
 *
 * Owns: the intset array, the open-addressing member table and its slot
 * forms, member blobs, sampling, scan, encode/decode, set_type_ops.
 * Invariants: enc == SETOBJ_INTSET => values sorted strictly ascending,
 * count <= set-max-intset-entries when it last grew, data holds count * width bytes;
 * enc == SETOBJ_HT => 2^exp slots, count * 4 <= slots * 3, every member in
 * the probe run starting at its home bucket (hash & mask), blob_bytes is
 * the usable size of every member blob.
 * Called by: server/t_set.c, the keyspace (type ops), tests.
 */
#include "engine/setobj.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "common/xalloc.h"
#include "engine/objlimits.h"

enum { SETOBJ_INTSET = 0, SETOBJ_HT = 1 };

/* set-max-intset-entries, capped at 2^30 as Redis caps it (intset
 * internals). */
static uint64_t intset_max_entries(void) {
    size_t m = objlimits_set_intset_entries();
    return m >= ((size_t)1 << 30) ? (uint64_t)1 << 30 : m;
}

struct setobj {
    uint8_t enc;
    uint8_t width;   /* intset: bytes per value (2, 4, 8) */
    uint8_t exp;     /* hashtable: log2 of the slot count */
    uint64_t count;
    size_t blob_bytes; /* hashtable: usable bytes of member blobs */
    void *data;      /* intset values, or uint64_t slots */
};

#define HT_MIN_EXP 2
/* Random slot probes before falling back to a walk (bounded sampling). */
#define HT_RANDOM_PROBES 64
/* SPOP moves to the rebuild strategy when count * this > size (Redis's
 * SPOP_MOVE_STRATEGY_MUL); SRANDMEMBER gathers every member when
 * count * this > size (SRANDMEMBER_SUB_STRATEGY_MUL). */
#define POP_REBUILD_MUL 5
#define RANDOM_GATHER_MUL 3

/* ---- Hashing ------------------------------------------------------------- */

static uint8_t hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;
static void hash_key_init(void) { lt_random_bytes(hash_key, sizeof hash_key); }

static uint64_t hash_int(int64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    return lt_siphash13(b, 8, hash_key);
}

static uint64_t hash_bytes(const char *p, size_t len) {
    return lt_siphash13(p, len, hash_key);
}

/* ---- Slot forms ---------------------------------------------------------- */

#define INL_INT_MIN (-((int64_t)1 << 61))
#define INL_INT_MAX (((int64_t)1 << 61) - 1)
#define INL_STR_MAX 7
#define PTR_MASK 0x0000FFFFFFFFFFFFull

static inline int slot_is_int(uint64_t x) { return (x & 3) == 3; }
static inline int slot_is_str(uint64_t x) { return (x & 3) == 1; }
static inline int64_t slot_int(uint64_t x) { return (int64_t)x >> 2; }
static inline const unsigned char *slot_blob(uint64_t x) {
    return (const unsigned char *)(uintptr_t)(x & PTR_MASK);
}

/* Varint length prefix of blobs: 7 bits per byte, low groups first. */
static size_t varint_put(unsigned char *p, size_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static const char *blob_member(const unsigned char *b, size_t *len) {
    size_t v = 0;
    unsigned shift = 0;
    while (*b & 0x80) {
        v |= (size_t)(*b++ & 0x7f) << shift;
        shift += 7;
    }
    *len = v | (size_t)*b << shift;
    return (const char *)b + 1;
}

/* The slot form of a member being looked up or inserted. */
typedef struct probe {
    uint64_t hash;
    uint64_t slot;  /* exact slot value for inline forms, else tag << 48 */
    int is_inline;
    const char *m;
    size_t len;
} probe;

static void probe_make(probe *p, const char *m, size_t len) {
    long long v;
    p->m = m;
    p->len = len;
    if (len < LT_LLSTR_SIZE && lt_string2ll(m, len, &v) && v >= INL_INT_MIN &&
        v <= INL_INT_MAX) {
        p->hash = hash_int(v);
        p->slot = ((uint64_t)v << 2) | 3;
        p->is_inline = 1;
        return;
    }
    p->hash = hash_bytes(m, len);
    if (len <= INL_STR_MAX) {
        uint64_t x = 1 | (uint64_t)len << 2;
        for (size_t i = 0; i < len; i++) x |= (uint64_t)(unsigned char)m[i] << (8 * (i + 1));
        p->slot = x;
        p->is_inline = 1;
        return;
    }
    p->slot = p->hash & ~PTR_MASK;
    p->is_inline = 0;
}

/* Renders slot x as a member (into e->buf for inline forms). */
static void slot_elem(uint64_t x, setobj_elem *e) {
    if (slot_is_int(x)) {
        e->len = lt_ll2string(e->buf, sizeof e->buf, slot_int(x));
        e->ptr = e->buf;
    } else if (slot_is_str(x)) {
        e->len = (x >> 2) & 7;
        for (size_t i = 0; i < e->len; i++) e->buf[i] = (char)(x >> (8 * (i + 1)));
        e->ptr = e->buf;
    } else {
        e->ptr = blob_member(slot_blob(x), &e->len);
    }
}

static uint64_t slot_hash(uint64_t x) {
    if (slot_is_int(x)) return hash_int(slot_int(x));
    setobj_elem e;
    slot_elem(x, &e);
    return hash_bytes(e.ptr, e.len);
}

static int slot_matches(uint64_t x, const probe *p) {
    if (p->is_inline) return x == p->slot;
    if ((x & 3) || (x & ~PTR_MASK) != p->slot) return 0;
    size_t len;
    const char *m = blob_member(slot_blob(x), &len);
    return len == p->len && memcmp(m, p->m, len) == 0;
}

/* ---- Hashtable ----------------------------------------------------------- */

static inline uint64_t *ht_slots(const setobj *s) { return s->data; }
static inline uint64_t ht_mask(const setobj *s) { return ((uint64_t)1 << s->exp) - 1; }

static int64_t ht_find(const setobj *s, const probe *p) {
    const uint64_t *t = ht_slots(s);
    uint64_t mask = ht_mask(s), i = p->hash & mask, x;
    while ((x = t[i]) != 0) {
        if (slot_matches(x, p)) return (int64_t)i;
        i = (i + 1) & mask;
    }
    return -1;
}

/* Stores slot x (hash h) in its probe run; the member must be absent and
 * a free slot must exist. */
static void ht_place(uint64_t *t, uint64_t mask, uint64_t h, uint64_t x) {
    uint64_t i = h & mask;
    while (t[i]) i = (i + 1) & mask;
    t[i] = x;
}

static void ht_resize(setobj *s, unsigned exp) {
    ASSERT(((uint64_t)1 << exp) * 3 >= s->count * 4);
    uint64_t *old = ht_slots(s), n_old = (uint64_t)1 << s->exp;
    uint64_t *t = lt_xcalloc((size_t)1 << exp, sizeof(uint64_t));
    uint64_t mask = ((uint64_t)1 << exp) - 1;
    for (uint64_t i = 0; i < n_old; i++)
        if (old[i]) ht_place(t, mask, slot_hash(old[i]), old[i]);
    free(old);
    s->data = t;
    s->exp = (uint8_t)exp;
}

/* Smallest exponent whose table holds n members at load <= 1/2. */
static unsigned ht_exp_for(uint64_t n) {
    unsigned exp = HT_MIN_EXP;
    while (((uint64_t)1 << exp) < n * 2) exp++;
    return exp;
}

static void ht_init(setobj *s, uint64_t n) {
    pthread_once(&hash_key_once, hash_key_init);
    s->enc = SETOBJ_HT;
    s->exp = (uint8_t)ht_exp_for(n);
    s->data = lt_xcalloc((size_t)1 << s->exp, sizeof(uint64_t));
    s->count = 0;
    s->blob_bytes = 0;
}

static void ht_insert_new(setobj *s, const probe *p) {
    if ((s->count + 1) * 4 > ((uint64_t)3 << s->exp)) ht_resize(s, s->exp + 1u);
    uint64_t x = p->slot;
    if (!p->is_inline) {
        unsigned char hdr[10];
        size_t hl = varint_put(hdr, p->len);
        unsigned char *b = lt_xmalloc(hl + p->len);
        memcpy(b, hdr, hl);
        memcpy(b + hl, p->m, p->len);
        uintptr_t u = (uintptr_t)b;
        ASSERT((u & 3) == 0 && (u & ~PTR_MASK) == 0);
        s->blob_bytes += malloc_usable_size(b);
        x |= u;
    }
    ht_place(ht_slots(s), ht_mask(s), p->hash, x);
    s->count++;
}

static void slot_release(setobj *s, uint64_t x) {
    if (x & 3) return;
    void *b = (void *)(uintptr_t)(x & PTR_MASK);
    s->blob_bytes -= malloc_usable_size(b);
    free(b);
}

/* Empties slot i (after its member was released) and closes the gap by
 * shifting later members of the run back (no tombstones). */
static void ht_delete_at(setobj *s, uint64_t i) {
    uint64_t *t = ht_slots(s), mask = ht_mask(s), j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t x = t[j];
        if (!x) break;
        uint64_t k = slot_hash(x) & mask;
        /* x stays if its home k lies cyclically in (i, j]. */
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            t[i] = x;
            i = j;
        }
    }
    t[i] = 0;
    s->count--;
}

static void ht_shrink_if_sparse(setobj *s) {
    if (s->exp > HT_MIN_EXP && s->count * 8 < ((uint64_t)1 << s->exp))
        ht_resize(s, ht_exp_for(s->count));
}

/* Index of a uniformly random occupied slot (s non-empty). Load is kept
 * above 1/8, so random probes almost always succeed; the bounded fallback
 * walks from a random slot. */
static uint64_t ht_random_index(const setobj *s) {
    const uint64_t *t = ht_slots(s);
    uint64_t mask = ht_mask(s), i = 0;
    for (int tries = 0; tries < HT_RANDOM_PROBES; tries++) {
        i = lt_random_u64() & mask;
        if (t[i]) return i;
    }
    while (!t[i]) i = (i + 1) & mask;
    return i;
}

/* ---- Intset -------------------------------------------------------------- */

static inline int64_t is_get(const setobj *s, uint64_t i) {
    switch (s->width) {
    case 2: return ((const int16_t *)s->data)[i];
    case 4: return ((const int32_t *)s->data)[i];
    default: return ((const int64_t *)s->data)[i];
    }
}

static inline void is_set(setobj *s, uint64_t i, int64_t v) {
    switch (s->width) {
    case 2: ((int16_t *)s->data)[i] = (int16_t)v; break;
    case 4: ((int32_t *)s->data)[i] = (int32_t)v; break;
    default: ((int64_t *)s->data)[i] = v; break;
    }
}

static unsigned width_for(int64_t v) {
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

/* 1 and *pos if found, else 0 and *pos the insertion point. */
static int is_search(const setobj *s, int64_t v, uint64_t *pos) {
    uint64_t lo = 0, hi = s->count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int64_t x = is_get(s, mid);
        if (x == v) {
            *pos = mid;
            return 1;
        }
        if (x < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

static void is_resize(setobj *s, uint64_t n) {
    if (n) {
        s->data = lt_xrealloc(s->data, (size_t)n * s->width);
    } else {
        free(s->data);
        s->data = NULL;
    }
}

static void is_widen(setobj *s, unsigned width) {
    setobj old = *s;
    s->width = (uint8_t)width;
    s->data = lt_xmalloc((size_t)(s->count ? s->count : 1) * width);
    for (uint64_t i = 0; i < s->count; i++) is_set(s, i, is_get(&old, i));
    free(old.data);
}

static void is_insert_at(setobj *s, uint64_t pos, int64_t v) {
    is_resize(s, s->count + 1);
    char *d = s->data;
    memmove(d + (pos + 1) * s->width, d + pos * s->width, (size_t)(s->count - pos) * s->width);
    s->count++;
    is_set(s, pos, v);
}

static void is_delete_at(setobj *s, uint64_t pos) {
    char *d = s->data;
    memmove(d + pos * s->width, d + (pos + 1) * s->width, (size_t)(s->count - pos - 1) * s->width);
    s->count--;
    is_resize(s, s->count);
}

static void is_elem(const setobj *s, uint64_t i, setobj_elem *e) {
    e->len = lt_ll2string(e->buf, sizeof e->buf, is_get(s, i));
    e->ptr = e->buf;
}

/* Converts an intset to a hashtable sized for extra more members. */
static void is_to_ht(setobj *s, uint64_t extra) {
    setobj old = *s;
    ht_init(s, old.count + extra);
    for (uint64_t i = 0; i < old.count; i++) {
        char buf[LT_LLSTR_SIZE];
        size_t n = lt_ll2string(buf, sizeof buf, is_get(&old, i));
        probe p;
        probe_make(&p, buf, n);
        ht_insert_new(s, &p);
    }
    free(old.data);
}

/* ---- Public API ---------------------------------------------------------- */

setobj *setobj_new(void) {
    setobj *s = lt_xcalloc(1, sizeof *s);
    s->enc = SETOBJ_INTSET;
    s->width = 2;
    return s;
}

void setobj_free(setobj *s) {
    if (!s) return;
    if (s->enc == SETOBJ_HT) {
        uint64_t *t = ht_slots(s), n = (uint64_t)1 << s->exp;
        for (uint64_t i = 0; i < n; i++)
            if (t[i]) slot_release(s, t[i]);
    }
    free(s->data);
    free(s);
}

setobj *setobj_dup(const setobj *s) {
    setobj *d = lt_xmalloc(sizeof *d);
    *d = *s;
    if (s->enc == SETOBJ_INTSET) {
        d->data = s->count ? lt_xmalloc((size_t)s->count * s->width) : NULL;
        if (s->count) memcpy(d->data, s->data, (size_t)s->count * s->width);
        return d;
    }
    uint64_t n = (uint64_t)1 << s->exp;
    uint64_t *t = lt_xmalloc((size_t)n * sizeof(uint64_t));
    const uint64_t *src = ht_slots(s);
    d->blob_bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = src[i];
        if (x && !(x & 3)) {
            const unsigned char *b = slot_blob(x);
            size_t len;
            const char *m = blob_member(b, &len);
            size_t sz = (size_t)(m - (const char *)b) + len;
            unsigned char *nb = lt_xmalloc(sz);
            memcpy(nb, b, sz);
            d->blob_bytes += malloc_usable_size(nb);
            x = (x & ~PTR_MASK) | (uintptr_t)nb;
        }
        t[i] = x;
    }
    d->data = t;
    return d;
}

uint64_t setobj_size(const setobj *s) { return s->count; }

const char *setobj_encoding(const setobj *s) {
    return s->enc == SETOBJ_INTSET ? "intset" : "hashtable";
}

size_t setobj_mem_usage(const setobj *s) {
    size_t n = malloc_usable_size((void *)s) + s->blob_bytes;
    if (s->data) n += malloc_usable_size(s->data);
    return n;
}

int setobj_add(setobj *s, const char *m, size_t len) {
    if (s->enc == SETOBJ_INTSET) {
        long long v;
        if (len < LT_LLSTR_SIZE && lt_string2ll(m, len, &v)) {
            uint64_t pos;
            if (is_search(s, v, &pos)) return 0;
            if (s->count < intset_max_entries()) {
                unsigned w = width_for(v);
                if (w > s->width) is_widen(s, w);
                is_insert_at(s, pos, v);
                return 1;
            }
        }
        is_to_ht(s, 1);
    }
    probe p;
    probe_make(&p, m, len);
    if (ht_find(s, &p) >= 0) return 0;
    ht_insert_new(s, &p);
    return 1;
}

int setobj_remove(setobj *s, const char *m, size_t len) {
    if (s->enc == SETOBJ_INTSET) {
        long long v;
        uint64_t pos;
        if (len >= LT_LLSTR_SIZE || !lt_string2ll(m, len, &v) || !is_search(s, v, &pos))
            return 0;
        is_delete_at(s, pos);
        return 1;
    }
    probe p;
    probe_make(&p, m, len);
    int64_t i = ht_find(s, &p);
    if (i < 0) return 0;
    slot_release(s, ht_slots(s)[i]);
    ht_delete_at(s, (uint64_t)i);
    ht_shrink_if_sparse(s);
    return 1;
}

int setobj_contains(const setobj *s, const char *m, size_t len) {
    if (s->enc == SETOBJ_INTSET) {
        long long v;
        uint64_t pos;
        return len < LT_LLSTR_SIZE && lt_string2ll(m, len, &v) && is_search(s, v, &pos);
    }
    probe p;
    probe_make(&p, m, len);
    return ht_find(s, &p) >= 0;
}

void setobj_iter_init(setobj_iter *it, const setobj *s) {
    it->s = s;
    it->pos = 0;
}

int setobj_iter_next(setobj_iter *it, setobj_elem *e) {
    const setobj *s = it->s;
    if (s->enc == SETOBJ_INTSET) {
        if (it->pos >= s->count) return 0;
        is_elem(s, it->pos++, e);
        return 1;
    }
    const uint64_t *t = ht_slots(s);
    uint64_t n = (uint64_t)1 << s->exp;
    while (it->pos < n) {
        uint64_t x = t[it->pos++];
        if (x) {
            slot_elem(x, e);
            return 1;
        }
    }
    return 0;
}

void setobj_random(const setobj *s, setobj_elem *e) {
    ASSERT(s->count > 0);
    if (s->enc == SETOBJ_INTSET) is_elem(s, lt_random_below(s->count), e);
    else slot_elem(ht_slots(s)[ht_random_index(s)], e);
}

/* Positions (intset indexes or occupied slot indexes) of every member. */
static uint64_t *gather_positions(const setobj *s) {
    uint64_t *pos = lt_xmalloc((size_t)s->count * sizeof(uint64_t));
    if (s->enc == SETOBJ_INTSET) {
        for (uint64_t i = 0; i < s->count; i++) pos[i] = i;
        return pos;
    }
    const uint64_t *t = ht_slots(s);
    uint64_t n = (uint64_t)1 << s->exp, k = 0;
    for (uint64_t i = 0; i < n; i++)
        if (t[i]) pos[k++] = i;
    ASSERT(k == s->count);
    return pos;
}

/* Moves count uniformly chosen positions to the front (partial
 * Fisher-Yates). */
static void shuffle_front(uint64_t *pos, uint64_t n, uint64_t count) {
    for (uint64_t i = 0; i < count; i++) {
        uint64_t j = i + lt_random_below(n - i);
        uint64_t t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
    }
}

static void emit_position(const setobj *s, uint64_t p, setobj_member_fn *fn, void *ctx) {
    setobj_elem e;
    if (s->enc == SETOBJ_INTSET) is_elem(s, p, &e);
    else slot_elem(ht_slots(s)[p], &e);
    fn(ctx, e.ptr, e.len);
}

void setobj_random_distinct(const setobj *s, uint64_t count, setobj_member_fn *fn,
                            void *ctx) {
    ASSERT(count > 0 && count < s->count);
    if (s->enc == SETOBJ_INTSET || count * RANDOM_GATHER_MUL > s->count) {
        uint64_t *pos = gather_positions(s);
        shuffle_front(pos, s->count, count);
        for (uint64_t i = 0; i < count; i++) emit_position(s, pos[i], fn, ctx);
        free(pos);
        return;
    }
    /* Few members of many: draw slots, remembering the ones taken in a
     * small open-addressing set of slot indexes (+1, 0 = free). */
    unsigned exp = ht_exp_for(count);
    uint64_t mask = ((uint64_t)1 << exp) - 1, got = 0;
    uint64_t *taken = lt_xcalloc((size_t)mask + 1, sizeof(uint64_t));
    while (got < count) {
        uint64_t idx = ht_random_index(s);
        uint64_t i = (idx * 0x9E3779B97F4A7C15ull) >> (64 - exp);
        while (taken[i] && taken[i] != idx + 1) i = (i + 1) & mask;
        if (taken[i]) continue;
        taken[i] = idx + 1;
        got++;
        emit_position(s, idx, fn, ctx);
    }
    free(taken);
}

/* SPOP of many: pops a uniform choice of count members, then rebuilds
 * the survivors as a new set the way Redis 7.0 does (setTypeCreate on the
 * first survivor, then adds), so the encoding follows the survivors. */
static void pop_rebuild(setobj *s, uint64_t count, setobj_member_fn *fn, void *ctx) {
    uint64_t *pos = gather_positions(s);
    shuffle_front(pos, s->count, count);
    for (uint64_t i = 0; i < count; i++) emit_position(s, pos[i], fn, ctx);
    setobj *n = setobj_new();
    for (uint64_t i = count; i < s->count; i++) {
        setobj_elem e;
        if (s->enc == SETOBJ_INTSET) is_elem(s, pos[i], &e);
        else slot_elem(ht_slots(s)[pos[i]], &e);
        setobj_add(n, e.ptr, e.len);
    }
    free(pos);
    /* Swap contents so the caller's pointer stays valid. */
    setobj tmp = *s;
    *s = *n;
    *n = tmp;
    setobj_free(n);
}

/* Removes one uniformly random member, passing it to fn first. */
static void pop_one(setobj *s, setobj_member_fn *fn, void *ctx) {
    setobj_elem e;
    if (s->enc == SETOBJ_INTSET) {
        uint64_t i = lt_random_below(s->count);
        is_elem(s, i, &e);
        fn(ctx, e.ptr, e.len);
        is_delete_at(s, i);
    } else {
        uint64_t i = ht_random_index(s), x = ht_slots(s)[i];
        slot_elem(x, &e);
        fn(ctx, e.ptr, e.len);
        slot_release(s, x);
        ht_delete_at(s, i);
    }
}

void setobj_pop_one(setobj *s, setobj_member_fn *fn, void *ctx) {
    ASSERT(s->count > 0);
    pop_one(s, fn, ctx);
    if (s->enc == SETOBJ_HT) ht_shrink_if_sparse(s);
}

void setobj_pop(setobj *s, uint64_t count, setobj_member_fn *fn, void *ctx) {
    ASSERT(count > 0 && count < s->count);
    if (count * POP_REBUILD_MUL > s->count) {
        pop_rebuild(s, count, fn, ctx);
        return;
    }
    for (uint64_t k = 0; k < count; k++) pop_one(s, fn, ctx);
    if (s->enc == SETOBJ_HT) ht_shrink_if_sparse(s);
}

static uint64_t rev64(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
    return __builtin_bswap64(v);
}

uint64_t setobj_scan(const setobj *s, uint64_t cursor, setobj_member_fn *fn, void *ctx) {
    setobj_elem e;
    if (s->enc == SETOBJ_INTSET) {
        for (uint64_t i = 0; i < s->count; i++) {
            is_elem(s, i, &e);
            fn(ctx, e.ptr, e.len);
        }
        return 0;
    }
    /* The cursor names a home bucket: emit the members whose home it is
     * (they sit in the run of occupied slots starting there). Homes only
     * change with the table size, which the reverse-binary increment
     * tolerates exactly as in Redis's dictScan. */
    const uint64_t *t = ht_slots(s);
    uint64_t mask = ht_mask(s), b = cursor & mask;
    for (uint64_t i = b; t[i]; i = (i + 1) & mask) {
        if ((slot_hash(t[i]) & mask) != b) continue;
        slot_elem(t[i], &e);
        fn(ctx, e.ptr, e.len);
    }
    cursor |= ~mask;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

/* ---- Encode / decode ----------------------------------------------------- */

enum { KIND_INTS = 0, KIND_STRINGS = 1 };

static void put_le(unsigned char *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int setobj_encode(const setobj *s, ks_emit_fn *emit, void *ctx) {
    unsigned char hdr[10];
    hdr[0] = SETOBJ_ENCODING_VERSION;
    hdr[1] = s->enc == SETOBJ_INTSET ? KIND_INTS : KIND_STRINGS;
    put_le(hdr + 2, s->count, 8);
    if (emit(ctx, hdr, sizeof hdr) < 0) return -1;
    if (s->enc == SETOBJ_INTSET) {
        for (uint64_t i = 0; i < s->count; i++) {
            unsigned char b[8];
            put_le(b, (uint64_t)is_get(s, i), 8);
            if (emit(ctx, b, 8) < 0) return -1;
        }
        return 0;
    }
    setobj_iter it;
    setobj_elem e;
    setobj_iter_init(&it, s);
    while (setobj_iter_next(&it, &e)) {
        unsigned char b[4];
        put_le(b, e.len, 4);
        if (emit(ctx, b, 4) < 0 || emit(ctx, e.ptr, e.len) < 0) return -1;
    }
    return 0;
}

setobj *setobj_decode(const void *buf, size_t len) {
    const unsigned char *p = buf, *end = p + len;
    if (len < 10 || p[0] != SETOBJ_ENCODING_VERSION || p[1] > KIND_STRINGS) return NULL;
    int kind = p[1];
    uint64_t count = get_le(p + 2, 8);
    p += 10;
    size_t min_each = kind == KIND_INTS ? 8 : 4;
    if (count == 0 || count > (size_t)(end - p) / min_each) return NULL;
    setobj *s = setobj_new();
    if (kind == KIND_INTS) {
        if ((size_t)(end - p) != count * 8) goto bad;
        int64_t prev = 0;
        for (uint64_t i = 0; i < count; i++, p += 8) {
            int64_t v = (int64_t)get_le(p, 8);
            if (i > 0 && v <= prev) goto bad;
            prev = v;
        }
        p -= count * 8;
        if (count > intset_max_entries()) ht_init(s, count);
    }
    for (uint64_t i = 0; i < count; i++) {
        char nb[LT_LLSTR_SIZE];
        const char *m;
        size_t mlen;
        if (kind == KIND_INTS) {
            mlen = lt_ll2string(nb, sizeof nb, (int64_t)get_le(p, 8));
            m = nb;
            p += 8;
        } else {
            if (end - p < 4) goto bad;
            mlen = (size_t)get_le(p, 4);
            p += 4;
            if ((size_t)(end - p) < mlen) goto bad;
            m = (const char *)p;
            p += mlen;
        }
        if (!setobj_add(s, m, mlen)) goto bad; /* duplicate member */
    }
    if (p != end) goto bad;
    return s;
bad:
    setobj_free(s);
    return NULL;
}

/* ---- Type ops ------------------------------------------------------------ */

static void ops_free(void *obj) { setobj_free(obj); }
static void *ops_dup(const void *obj) { return setobj_dup(obj); }
static size_t ops_mem_usage(const void *obj) { return setobj_mem_usage(obj); }
static const char *ops_encoding(const void *obj) { return setobj_encoding(obj); }
static int ops_encode(const void *obj, ks_emit_fn *emit, void *ctx) {
    return setobj_encode(obj, emit, ctx);
}
static void *ops_decode(const void *buf, size_t len) { return setobj_decode(buf, len); }

/* Redis's free effort: one per member of a hashtable, 1 for an intset. */
static size_t ops_free_effort(const void *obj) {
    const setobj *s = obj;
    return s->enc == SETOBJ_INTSET ? 1 : (size_t)s->count;
}

const ks_type_ops set_type_ops = {
    .free_effort = ops_free_effort,
    .name = "set",
    .free = ops_free,
    .dup = ops_dup,
    .mem_usage = ops_mem_usage,
    .encoding = ops_encoding,
    .encode = ops_encode,
    .decode = ops_decode,
};
