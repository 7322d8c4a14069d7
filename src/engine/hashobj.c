/*
 * hashobj.c — the hash value (see hashobj.h for both encodings, their
 * invariants and the snapshot format).
 *
 * Owns: the packed "listpack" byte array, the open-addressing "hashtable"
 * of nodes, conversion between them, the HSCAN cursor, random sampling and
 * hash_type_ops. Called by t_hash.c and the keyspace, under the shard lock.
 */
#include "engine/hashobj.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/objlimits.h"

#define PK_INT 0x80       /* tag of an integer entry: PK_INT | byte count */
#define PK_SHORT_MAX 0x7f /* tags 0..PK_SHORT_MAX: a string of that many bytes */
#define PK_LONG 0xc0      /* tag of a longer string: u32 LE length, then its bytes */
#define HT_MIN_EXP 3      /* smallest table: 8 slots */
#define HASHOBJ_MAX_STR ((uint64_t)512 * 1024 * 1024)
#define ENCODE_VERSION 1

_Static_assert(PK_SHORT_MAX < PK_INT, "string tags must not collide with int tags");

struct hashobj {
    uint8_t packed; /* 1: listpack form (pk), 0: hashtable (slots) */
    uint8_t exp;    /* hashtable: log2 of the slot count */
    size_t count;   /* fields */
    size_t bytes;   /* listpack: bytes of pk; hashtable: usable bytes of nodes */
    union {
        uint8_t *pk;
        uint8_t **slots;
    };
};

/* ---- Field hashing ------------------------------------------------------------ */

static uint8_t hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void) { lt_random_bytes(hash_key, sizeof hash_key); }

static uint64_t field_hash(const char *f, size_t flen) {
    return lt_siphash13(f, flen, hash_key);
}

/* ---- Listpack form ------------------------------------------------------------ */

/* Integer byte width for s if lt_string2ll round-trips it (0: a string). */
static unsigned pk_int_width(const char *s, size_t len, long long *ll) {
    if (len == 0 || len >= LT_LLSTR_SIZE || !lt_string2ll(s, len, ll)) return 0;
    if (*ll >= INT8_MIN && *ll <= INT8_MAX) return 1;
    if (*ll >= INT16_MIN && *ll <= INT16_MAX) return 2;
    if (*ll >= INT32_MIN && *ll <= INT32_MAX) return 4;
    return 8;
}

static uint32_t pk_long_len(const uint8_t *p) {
    return (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
}

static size_t pk_entry_size(const uint8_t *p) {
    if (*p <= PK_SHORT_MAX) return 1u + *p;
    if (*p == PK_LONG) return 5u + pk_long_len(p);
    return 1u + (*p & 0x0f);
}

static void pk_read(const uint8_t *p, hashobj_str *s) {
    if (*p <= PK_SHORT_MAX) {
        s->ptr = (const char *)p + 1;
        s->len = *p;
        s->ll = 0;
        return;
    }
    if (*p == PK_LONG) {
        s->ptr = (const char *)p + 5;
        s->len = pk_long_len(p);
        s->ll = 0;
        return;
    }
    unsigned n = *p & 0x0f;
    uint64_t u = 0;
    for (unsigned i = 0; i < n; i++) u |= (uint64_t)p[1 + i] << (8 * i);
    if (n < 8 && (u >> (8 * n - 1)) & 1) u |= ~(uint64_t)0 << (8 * n);
    s->ptr = NULL;
    s->len = 0;
    s->ll = (long long)u;
}

/* An entry about to be written: its tag and integer (if any). */
typedef struct pk_item {
    const char *s;
    size_t len;
    long long ll;
    unsigned width; /* integer bytes, 0 for a string */
} pk_item;

static void pk_item_init(pk_item *it, const char *s, size_t len) {
    it->s = s;
    it->len = len;
    it->width = pk_int_width(s, len, &it->ll);
}

static size_t pk_item_size(const pk_item *it) {
    if (it->width) return 1 + it->width;
    return (it->len <= PK_SHORT_MAX ? 1 : 5) + it->len;
}

static void pk_item_write(uint8_t *p, const pk_item *it) {
    if (it->width) {
        p[0] = (uint8_t)(PK_INT | it->width);
        uint64_t u = (uint64_t)it->ll;
        for (unsigned i = 0; i < it->width; i++) p[1 + i] = (uint8_t)(u >> (8 * i));
    } else {
        ASSERT(it->len < OBJLIMITS_LISTPACK_MAX_BYTES);
        if (it->len <= PK_SHORT_MAX) {
            p[0] = (uint8_t)it->len;
            memcpy(p + 1, it->s, it->len);
        } else {
            p[0] = PK_LONG;
            for (unsigned i = 0; i < 4; i++) p[1 + i] = (uint8_t)(it->len >> (8 * i));
            memcpy(p + 5, it->s, it->len);
        }
    }
}

static int pk_matches(const uint8_t *p, const pk_item *q) {
    hashobj_str s;
    pk_read(p, &s);
    if (s.ptr == NULL) return q->width && s.ll == q->ll;
    return !q->width && s.len == q->len && memcmp(s.ptr, q->s, q->len) == 0;
}

/* Offset of the field entry matching q, or SIZE_MAX. */
static size_t pk_find(const hashobj *h, const pk_item *q) {
    size_t off = 0;
    while (off < h->bytes) {
        if (pk_matches(h->pk + off, q)) return off;
        off += pk_entry_size(h->pk + off);
        off += pk_entry_size(h->pk + off);
    }
    return SIZE_MAX;
}

/* Replaces bytes [off, off+oldn) of pk by newn bytes (left uninitialised). */
static uint8_t *pk_splice(hashobj *h, size_t off, size_t oldn, size_t newn) {
    size_t tail = h->bytes - off - oldn, nbytes = h->bytes - oldn + newn;
    if (newn > oldn) h->pk = lt_xrealloc(h->pk, nbytes);
    memmove(h->pk + off + newn, h->pk + off + oldn, tail);
    if (newn < oldn) h->pk = lt_xrealloc(h->pk, nbytes ? nbytes : 1);
    h->bytes = nbytes;
    return h->pk + off;
}

/* ---- Hashtable form ------------------------------------------------------------- */

static size_t varint_put(uint8_t *p, size_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static const uint8_t *varint_get(const uint8_t *p, size_t *v) {
    size_t r = 0;
    unsigned shift = 0;
    while (*p & 0x80) {
        r |= (size_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    *v = r | (size_t)*p << shift;
    return p + 1;
}

static void node_read(const uint8_t *n, hashobj_str *f, hashobj_str *v) {
    size_t flen, vlen;
    n = varint_get(n, &flen);
    n = varint_get(n, &vlen);
    f->ptr = (const char *)n;
    f->len = flen;
    f->ll = 0;
    if (v) {
        v->ptr = (const char *)n + flen;
        v->len = vlen;
        v->ll = 0;
    }
}

static uint8_t *node_new(hashobj *h, const char *f, size_t flen, const char *v, size_t vlen) {
    uint8_t hdr[20];
    size_t hl = varint_put(hdr, flen);
    hl += varint_put(hdr + hl, vlen);
    uint8_t *n = lt_xmalloc(hl + flen + vlen);
    memcpy(n, hdr, hl);
    memcpy(n + hl, f, flen);
    if (vlen) memcpy(n + hl + flen, v, vlen);
    h->bytes += malloc_usable_size(n);
    return n;
}

static void node_free(hashobj *h, uint8_t *n) {
    h->bytes -= malloc_usable_size(n);
    free(n);
}

static inline size_t ht_mask(const hashobj *h) { return ((size_t)1 << h->exp) - 1; }

static size_t node_home(const uint8_t *n, size_t mask) {
    hashobj_str f;
    node_read(n, &f, NULL);
    return (size_t)field_hash(f.ptr, f.len) & mask;
}

/* Slot of field f (hash hv), or SIZE_MAX. */
static size_t ht_find(const hashobj *h, const char *f, size_t flen, uint64_t hv) {
    size_t mask = ht_mask(h);
    for (size_t i = (size_t)hv & mask; h->slots[i]; i = (i + 1) & mask) {
        hashobj_str nf;
        node_read(h->slots[i], &nf, NULL);
        if (nf.len == flen && memcmp(nf.ptr, f, flen) == 0) return i;
    }
    return SIZE_MAX;
}

static void ht_place(uint8_t **slots, size_t mask, uint8_t *n, size_t home) {
    size_t i = home;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = n;
}

/* Rebuilds the table with 2^exp slots (O(count)). */
static void ht_resize(hashobj *h, unsigned exp) {
    size_t cap = (size_t)1 << exp, mask = cap - 1;
    ASSERT(h->count * 4 <= cap * 3);
    uint8_t **slots = lt_xcalloc(cap, sizeof(*slots));
    size_t oldcap = (size_t)1 << h->exp;
    for (size_t i = 0; i < oldcap; i++)
        if (h->slots[i]) ht_place(slots, mask, h->slots[i], node_home(h->slots[i], mask));
    free(h->slots);
    h->slots = slots;
    h->exp = (uint8_t)exp;
}

/* Smallest exponent whose table holds count fields at load <= 2/3. */
static unsigned ht_exp_for(size_t count) {
    unsigned exp = HT_MIN_EXP;
    while (((size_t)2 << exp) < count * 3) exp++;
    return exp;
}

static void ht_add(hashobj *h, uint8_t *n, uint64_t hv) {
    if ((h->count + 1) * 4 > ((size_t)3 << h->exp)) ht_resize(h, h->exp + 1u);
    ht_place(h->slots, ht_mask(h), n, (size_t)hv & ht_mask(h));
    h->count++;
}

/* Converts the listpack form to a hashtable. */
static void hash_convert(hashobj *h) {
    ASSERT(h->packed);
    uint8_t *pk = h->pk;
    size_t pkbytes = h->bytes, count = h->count;
    h->packed = 0;
    h->exp = (uint8_t)ht_exp_for(count);
    h->slots = lt_xcalloc((size_t)1 << h->exp, sizeof(*h->slots));
    h->bytes = 0;
    h->count = 0;
    char fbuf[LT_LLSTR_SIZE], vbuf[LT_LLSTR_SIZE];
    for (size_t off = 0; off < pkbytes;) {
        hashobj_str f, v;
        pk_read(pk + off, &f);
        off += pk_entry_size(pk + off);
        pk_read(pk + off, &v);
        off += pk_entry_size(pk + off);
        if (!f.ptr) f.ptr = fbuf, f.len = lt_ll2string(fbuf, sizeof fbuf, f.ll);
        if (!v.ptr) v.ptr = vbuf, v.len = lt_ll2string(vbuf, sizeof vbuf, v.ll);
        uint64_t hv = field_hash(f.ptr, f.len);
        ht_add(h, node_new(h, f.ptr, f.len, v.ptr, v.len), hv);
    }
    ASSERT(h->count == count);
    free(pk);
}

/* ---- Public API ------------------------------------------------------------------ */

hashobj *hashobj_new(void) {
    pthread_once(&hash_key_once, hash_key_init);
    hashobj *h = lt_xmalloc(sizeof(*h));
    h->packed = 1;
    h->exp = 0;
    h->count = 0;
    h->bytes = 0;
    h->pk = lt_xmalloc(1);
    return h;
}

void hashobj_free(hashobj *h) {
    if (!h) return;
    if (!h->packed) {
        size_t cap = (size_t)1 << h->exp;
        for (size_t i = 0; i < cap; i++) free(h->slots[i]);
        free(h->slots);
    } else {
        free(h->pk);
    }
    free(h);
}

size_t hashobj_len(const hashobj *h) { return h->count; }
int hashobj_is_packed(const hashobj *h) { return h->packed; }
const char *hashobj_encoding(const hashobj *h) { return h->packed ? "listpack" : "hashtable"; }

int hashobj_get(const hashobj *h, const char *f, size_t flen, hashobj_str *val) {
    if (h->packed) {
        pk_item q;
        pk_item_init(&q, f, flen);
        size_t off = pk_find(h, &q);
        if (off == SIZE_MAX) return 0;
        off += pk_entry_size(h->pk + off);
        pk_read(h->pk + off, val);
        return 1;
    }
    size_t i = ht_find(h, f, flen, field_hash(f, flen));
    if (i == SIZE_MAX) return 0;
    hashobj_str nf;
    node_read(h->slots[i], &nf, val);
    return 1;
}

int hashobj_set(hashobj *h, const char *f, size_t flen, const char *v, size_t vlen) {
    if (h->packed) {
        size_t maxv = objlimits_hash_value();
        if (flen > maxv || vlen > maxv ||
            h->bytes + flen + vlen + 10 > OBJLIMITS_LISTPACK_MAX_BYTES)
            hash_convert(h);
    }
    if (h->packed) {
        pk_item qf, qv;
        pk_item_init(&qf, f, flen);
        pk_item_init(&qv, v, vlen);
        size_t off = pk_find(h, &qf);
        if (off != SIZE_MAX) {
            off += pk_entry_size(h->pk + off);
            pk_item_write(pk_splice(h, off, pk_entry_size(h->pk + off), pk_item_size(&qv)), &qv);
            /* Redis checks the count after an update too (a limit lowered
             * since the hash grew). */
            if (h->count > objlimits_hash_entries()) hash_convert(h);
            return 0;
        }
        size_t fsz = pk_item_size(&qf);
        uint8_t *p = pk_splice(h, h->bytes, 0, fsz + pk_item_size(&qv));
        pk_item_write(p, &qf);
        pk_item_write(p + fsz, &qv);
        h->count++;
        if (h->count > objlimits_hash_entries()) hash_convert(h);
        return 1;
    }
    uint64_t hv = field_hash(f, flen);
    size_t i = ht_find(h, f, flen, hv);
    uint8_t *n = node_new(h, f, flen, v, vlen);
    if (i != SIZE_MAX) {
        node_free(h, h->slots[i]);
        h->slots[i] = n;
        return 0;
    }
    ht_add(h, n, hv);
    return 1;
}

int hashobj_delete(hashobj *h, const char *f, size_t flen) {
    if (h->packed) {
        pk_item q;
        pk_item_init(&q, f, flen);
        size_t off = pk_find(h, &q);
        if (off == SIZE_MAX) return 0;
        size_t fsz = pk_entry_size(h->pk + off);
        pk_splice(h, off, fsz + pk_entry_size(h->pk + off + fsz), 0);
        h->count--;
        return 1;
    }
    size_t j = ht_find(h, f, flen, field_hash(f, flen));
    if (j == SIZE_MAX) return 0;
    node_free(h, h->slots[j]);
    h->slots[j] = NULL;
    h->count--;
    /* Backward shift: pull later members of the probe run into the gap
     * unless their home lies cyclically in (j, k]. Bounded by the run. */
    size_t mask = ht_mask(h);
    for (size_t k = (j + 1) & mask; h->slots[k]; k = (k + 1) & mask) {
        size_t home = node_home(h->slots[k], mask);
        if (((k - home) & mask) >= ((k - j) & mask)) {
            h->slots[j] = h->slots[k];
            h->slots[k] = NULL;
            j = k;
        }
    }
    if (h->exp > HT_MIN_EXP && h->count * 8 < ((size_t)1 << h->exp))
        ht_resize(h, ht_exp_for(h->count));
    return 1;
}

void hashobj_iter_init(hashobj_iter *it, const hashobj *h) {
    it->h = h;
    it->pos = 0;
}

int hashobj_iter_next(hashobj_iter *it, hashobj_str *field, hashobj_str *val) {
    const hashobj *h = it->h;
    if (h->packed) {
        if (it->pos >= h->bytes) return 0;
        pk_read(h->pk + it->pos, field);
        it->pos += pk_entry_size(h->pk + it->pos);
        pk_read(h->pk + it->pos, val);
        it->pos += pk_entry_size(h->pk + it->pos);
        return 1;
    }
    size_t cap = (size_t)1 << h->exp;
    while (it->pos < cap && !h->slots[it->pos]) it->pos++;
    if (it->pos == cap) return 0;
    node_read(h->slots[it->pos++], field, val);
    return 1;
}

static uint64_t rev64(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
    return __builtin_bswap64(v);
}

uint64_t hashobj_scan(const hashobj *h, uint64_t cursor, hashobj_pair_fn *fn, void *ctx) {
    hashobj_iter it;
    hashobj_str f, v;
    if (h->packed) {
        hashobj_iter_init(&it, h);
        while (hashobj_iter_next(&it, &f, &v)) fn(ctx, &f, &v);
        return 0;
    }
    /* The fields whose home slot is b all sit in the probe run starting at
     * b (backward-shift deletion keeps runs gap-free), so a "bucket" of the
     * reverse-binary cursor is that run filtered by home slot. */
    size_t mask = ht_mask(h), b = (size_t)cursor & mask;
    for (size_t i = b; h->slots[i]; i = (i + 1) & mask) {
        node_read(h->slots[i], &f, &v);
        if (((size_t)field_hash(f.ptr, f.len) & mask) == b) fn(ctx, &f, &v);
    }
    cursor |= ~(uint64_t)mask;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

/* Reads the pair whose field entry starts at pk offset off. */
static void pk_pair_at(const hashobj *h, size_t off, hashobj_str *f, hashobj_str *v) {
    pk_read(h->pk + off, f);
    pk_read(h->pk + off + pk_entry_size(h->pk + off), v);
}

static const uint8_t *ht_random_node(const hashobj *h, size_t *slot) {
    size_t cap = (size_t)1 << h->exp;
    /* Load is >= 1/8 (shrink rule) for a non-empty table: expected <= 8
     * draws. */
    size_t i;
    do i = (size_t)lt_random_below(cap);
    while (!h->slots[i]);
    if (slot) *slot = i;
    return h->slots[i];
}

void hashobj_random_pairs(const hashobj *h, size_t count, hashobj_pair_fn *fn, void *ctx) {
    ASSERT(h->count > 0);
    hashobj_str f, v;
    if (h->packed) {
        /* Offsets of the pairs (the stack holds Redis's default limit). */
        uint32_t stack[512], *offs = h->count <= 512 ? stack : lt_xmalloc(h->count * sizeof(*offs));
        size_t n = 0;
        for (size_t off = 0; off < h->bytes; n++) {
            offs[n] = (uint32_t)off;
            off += pk_entry_size(h->pk + off);
            off += pk_entry_size(h->pk + off);
        }
        ASSERT(n == h->count);
        while (count--) {
            pk_pair_at(h, offs[lt_random_below(n)], &f, &v);
            fn(ctx, &f, &v);
        }
        if (offs != stack) free(offs);
        return;
    }
    while (count--) {
        node_read(ht_random_node(h, NULL), &f, &v);
        fn(ctx, &f, &v);
    }
}

void hashobj_random_unique(const hashobj *h, size_t count, hashobj_pair_fn *fn, void *ctx) {
    ASSERT(count < h->count);
    hashobj_str f, v;
    if (h->packed || count * 3 > h->count) {
        /* Selection sampling (Knuth's algorithm S) in storage order. */
        hashobj_iter it;
        hashobj_iter_init(&it, h);
        size_t left = h->count;
        while (count > 0 && hashobj_iter_next(&it, &f, &v)) {
            if (lt_random_below(left--) < count) {
                fn(ctx, &f, &v);
                count--;
            }
        }
        return;
    }
    /* Few of many: random slots, deduplicated by a set of slot numbers
     * (open addressing, load <= 1/2; slot + 1 stored, 0 is empty). */
    size_t cap = 2;
    while (cap < count * 2) cap <<= 1;
    size_t *seen = lt_xcalloc(cap, sizeof(*seen));
    while (count > 0) {
        size_t slot;
        const uint8_t *n = ht_random_node(h, &slot);
        size_t i = (size_t)(slot * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (seen[i] && seen[i] != slot + 1) i = (i + 1) & (cap - 1);
        if (seen[i]) continue;
        seen[i] = slot + 1;
        node_read(n, &f, &v);
        fn(ctx, &f, &v);
        count--;
    }
    free(seen);
}

/* ---- Type ops -------------------------------------------------------------------- */

static void ops_free(void *obj) { hashobj_free(obj); }

static void *ops_dup(const void *obj) {
    const hashobj *h = obj;
    hashobj *d = lt_xmalloc(sizeof(*d));
    *d = *h;
    if (h->packed) {
        d->pk = lt_xmalloc(h->bytes ? h->bytes : 1);
        memcpy(d->pk, h->pk, h->bytes);
        return d;
    }
    size_t cap = (size_t)1 << h->exp;
    d->slots = lt_xcalloc(cap, sizeof(*d->slots));
    d->bytes = 0;
    for (size_t i = 0; i < cap; i++) {
        if (!h->slots[i]) continue;
        hashobj_str f, v;
        node_read(h->slots[i], &f, &v);
        d->slots[i] = node_new(d, f.ptr, f.len, v.ptr, v.len);
    }
    return d;
}

static size_t ops_mem_usage(const void *obj) {
    const hashobj *h = obj;
    size_t n = malloc_usable_size((void *)h);
    if (h->packed) return n + malloc_usable_size(h->pk);
    return n + malloc_usable_size(h->slots) + h->bytes;
}

static const char *ops_encoding(const void *obj) { return hashobj_encoding(obj); }

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Emits u32 length + bytes of s (integers in decimal). */
static int emit_str(ks_emit_fn *emit, void *ctx, const hashobj_str *s) {
    char buf[LT_LLSTR_SIZE];
    const char *p = s->ptr;
    size_t len = s->len;
    if (!p) p = buf, len = lt_ll2string(buf, sizeof buf, s->ll);
    uint8_t hdr[4];
    put_le(hdr, len, 4);
    if (emit(ctx, hdr, 4) < 0) return -1;
    return len ? emit(ctx, p, len) : 0;
}

static int ops_encode(const void *obj, ks_emit_fn *emit, void *ctx) {
    const hashobj *h = obj;
    uint8_t hdr[9];
    hdr[0] = ENCODE_VERSION;
    put_le(hdr + 1, h->count, 8);
    if (emit(ctx, hdr, sizeof hdr) < 0) return -1;
    hashobj_iter it;
    hashobj_str f, v;
    hashobj_iter_init(&it, h);
    while (hashobj_iter_next(&it, &f, &v))
        if (emit_str(emit, ctx, &f) < 0 || emit_str(emit, ctx, &v) < 0) return -1;
    return 0;
}

/* Reads a u32 length and its bytes at *pos; 0 if they do not fit. */
static int read_str(const uint8_t *buf, size_t len, size_t *pos, const char **s, size_t *slen) {
    if (len - *pos < 4) return 0;
    uint64_t n = get_le(buf + *pos, 4);
    *pos += 4;
    if (n > HASHOBJ_MAX_STR || n > len - *pos) return 0;
    *s = (const char *)buf + *pos;
    *slen = (size_t)n;
    *pos += (size_t)n;
    return 1;
}

static void *ops_decode(const void *data, size_t len) {
    const uint8_t *buf = data;
    if (len < 9 || buf[0] != ENCODE_VERSION) return NULL;
    uint64_t count = get_le(buf + 1, 8);
    /* Every pair takes at least 8 bytes: bounds the allocation below. */
    if (count > (len - 9) / 8) return NULL;
    hashobj *h = hashobj_new();
    if (count > objlimits_hash_entries()) {
        free(h->pk);
        h->packed = 0;
        h->exp = (uint8_t)ht_exp_for((size_t)count);
        h->slots = lt_xcalloc((size_t)1 << h->exp, sizeof(*h->slots));
    }
    size_t pos = 9;
    for (uint64_t i = 0; i < count; i++) {
        const char *f, *v;
        size_t flen, vlen;
        if (!read_str(buf, len, &pos, &f, &flen) || !read_str(buf, len, &pos, &v, &vlen) ||
            !hashobj_set(h, f, flen, v, vlen))
            goto bad;
    }
    if (pos != len) goto bad;
    return h;
bad:
    hashobj_free(h);
    return NULL;
}

/* Redis's free effort: one per field of a hashtable, 1 for a listpack. */
static size_t ops_free_effort(const void *obj) {
    const hashobj *h = obj;
    return h->packed ? 1 : h->count;
}

const ks_type_ops hash_type_ops = {
    .free_effort = ops_free_effort,
    .name = "hash",
    .free = ops_free,
    .dup = ops_dup,
    .mem_usage = ops_mem_usage,
    .encoding = ops_encoding,
    .encode = ops_encode,
    .decode = ops_decode,
};
