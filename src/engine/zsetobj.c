/*
 * zsetobj.c — the sorted-set value of zsetobj.h: the listpack encoding,
 * the skiplist encoding (btree.h order + the member hash defined here),
 * conversion between them, and zset_type_ops for the keyspace.
 *
 * Member hash invariants: table sizes are powers of two (>= ZH_MIN_EXP);
 * while rehashing (rehashidx >= 0) buckets of table 0 below rehashidx are
 * empty and new members go to table 1; every member of the tree is in
 * exactly one chain. Each insert/remove moves at most one bucket (visiting
 * at most ZH_EMPTY_VISITS empty ones), so no write pays for a whole resize.
 */
#include "engine/zsetobj.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "common/xalloc.h"
#include "engine/objlimits.h"

/* Listpack member headers: below ZLP_STR32 a string of that many bytes,
 * ZLP_STR32 a u32 length then the string, then the integer widths. */
#define ZLP_STR32 0xF0
#define ZLP_INT8 0xF1
#define ZLP_INT16 0xF2
#define ZLP_INT32 0xF3
#define ZLP_INT64 0xF4
/* Entries up to this size are built on the stack. */
#define ZLP_STACK_ENTRY 256

#define ZH_MIN_EXP 2
#define ZH_EMPTY_VISITS 10

typedef struct zhash {
    zelem **table[2];
    uint64_t used[2];
    int8_t exp[2]; /* log2 of sizes; -1: no table */
    int64_t rehashidx;
} zhash;

struct zset {
    uint8_t enc;
    union {
        struct {
            unsigned char *buf;
            uint32_t bytes;
            uint32_t count;
        } lp;
        struct {
            bt_tree tree;
            zhash hash;
            size_t elem_bytes; /* sum of ZELEM_SIZE of the members */
        } sl;
    } u;
};

static uint8_t hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;
static void hash_key_init(void) { lt_random_bytes(hash_key, sizeof hash_key); }

/* ---- Member hash ---------------------------------------------------------- */

static uint64_t zh_hashof(const char *m, size_t len) { return lt_siphash13(m, len, hash_key); }

static uint64_t zh_size(const zhash *h, int t) {
    return h->exp[t] < 0 ? 0 : (uint64_t)1 << h->exp[t];
}

static int8_t zh_exp_for(uint64_t n) {
    int8_t e = ZH_MIN_EXP;
    while (((uint64_t)1 << e) < n && e < 62) e++;
    return e;
}

static void zh_init(zhash *h, uint64_t expect) {
    memset(h, 0, sizeof(*h));
    h->exp[0] = zh_exp_for(expect);
    h->exp[1] = -1;
    h->rehashidx = -1;
    h->table[0] = lt_xcalloc(zh_size(h, 0), sizeof(zelem *));
}

static void zh_free(zhash *h) {
    free(h->table[0]);
    free(h->table[1]);
}

static zelem *zh_find(const zhash *h, const char *m, size_t len) {
    uint64_t hv = zh_hashof(m, len);
    for (int t = 0; t < 2; t++) {
        if (h->exp[t] < 0) continue;
        for (zelem *e = h->table[t][hv & (zh_size(h, t) - 1)]; e; e = e->hnext)
            if (e->len == len && memcmp(e->member, m, len) == 0) return e;
    }
    return NULL;
}

static void zh_start_resize(zhash *h, int8_t exp) {
    if (h->rehashidx >= 0 || exp == h->exp[0]) return;
    h->exp[1] = exp;
    h->table[1] = lt_xcalloc(zh_size(h, 1), sizeof(zelem *));
    h->rehashidx = 0;
}

/* One bounded rehash step. */
static void zh_step(zhash *h) {
    if (h->rehashidx < 0) return;
    uint64_t size0 = zh_size(h, 0), mask1 = zh_size(h, 1) - 1;
    int empty = ZH_EMPTY_VISITS;
    while ((uint64_t)h->rehashidx < size0 && !h->table[0][h->rehashidx]) {
        h->rehashidx++;
        if (--empty == 0) return;
    }
    if ((uint64_t)h->rehashidx < size0) {
        zelem *e = h->table[0][h->rehashidx];
        while (e) {
            zelem *next = e->hnext;
            uint64_t b = zh_hashof(e->member, e->len) & mask1;
            e->hnext = h->table[1][b];
            h->table[1][b] = e;
            h->used[0]--;
            h->used[1]++;
            e = next;
        }
        h->table[0][h->rehashidx++] = NULL;
    }
    if (h->used[0] == 0) {
        free(h->table[0]);
        h->table[0] = h->table[1];
        h->used[0] = h->used[1];
        h->exp[0] = h->exp[1];
        h->table[1] = NULL;
        h->used[1] = 0;
        h->exp[1] = -1;
        h->rehashidx = -1;
    }
}

/* Adds e (its member must be absent). */
static void zh_add(zhash *h, zelem *e) {
    zh_step(h);
    if (h->rehashidx < 0 && h->used[0] >= zh_size(h, 0)) zh_start_resize(h, (int8_t)(h->exp[0] + 1));
    int t = h->rehashidx >= 0 ? 1 : 0;
    uint64_t b = zh_hashof(e->member, e->len) & (zh_size(h, t) - 1);
    e->hnext = h->table[t][b];
    h->table[t][b] = e;
    h->used[t]++;
}

/* Unlinks and returns the member's element, or NULL. */
static zelem *zh_remove(zhash *h, const char *m, size_t len) {
    zh_step(h);
    uint64_t hv = zh_hashof(m, len);
    for (int t = 0; t < 2; t++) {
        if (h->exp[t] < 0) continue;
        zelem **link = &h->table[t][hv & (zh_size(h, t) - 1)];
        for (; *link; link = &(*link)->hnext) {
            zelem *e = *link;
            if (e->len == len && memcmp(e->member, m, len) == 0) {
                *link = e->hnext;
                h->used[t]--;
                uint64_t total = h->used[0] + h->used[1];
                if (h->rehashidx < 0 && h->exp[0] > ZH_MIN_EXP && total * 8 < zh_size(h, 0))
                    zh_start_resize(h, zh_exp_for(total));
                return e;
            }
        }
    }
    return NULL;
}

static uint64_t rev64(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
}

static void zh_emit_bucket(zelem *e, zset_scan_fn *fn, void *ctx) {
    for (; e; e = e->hnext) fn(ctx, e->member, e->len, e->score);
}

/* Redis's dictScan over the one or two tables. */
static uint64_t zh_scan(const zhash *h, uint64_t v, zset_scan_fn *fn, void *ctx) {
    if (h->rehashidx < 0) {
        uint64_t m0 = zh_size(h, 0) - 1;
        zh_emit_bucket(h->table[0][v & m0], fn, ctx);
        v |= ~m0;
        v = rev64(v);
        v++;
        return rev64(v);
    }
    int s = zh_size(h, 0) <= zh_size(h, 1) ? 0 : 1, l = 1 - s;
    uint64_t m0 = zh_size(h, s) - 1, m1 = zh_size(h, l) - 1;
    zh_emit_bucket(h->table[s][v & m0], fn, ctx);
    do {
        zh_emit_bucket(h->table[l][v & m1], fn, ctx);
        v |= ~m1;
        v = rev64(v);
        v++;
        v = rev64(v);
    } while (v & (m0 ^ m1));
    return v;
}

/* ---- Listpack entries ------------------------------------------------------- */

/* The back-length closing an entry: the size of the entry before it, in
 * 7-bit groups, low group last, bit 7 set on every byte that has another
 * one before it (listpack's), so the entry is found from its end. */
static unsigned zlp_backlen_len(size_t body) {
    if (body < (1u << 7)) return 1;
    if (body < (1u << 14)) return 2;
    if (body < (1u << 21)) return 3;
    if (body < (1u << 28)) return 4;
    return 5;
}

static void zlp_backlen_write(unsigned char *p, size_t body) {
    unsigned n = zlp_backlen_len(body);
    for (unsigned k = 0; k < n; k++)
        p[n - 1 - k] = (unsigned char)(((body >> (7 * k)) & 127) | (k + 1 < n ? 128 : 0));
}

/* Size of the whole entry that ends just before end. */
static size_t zlp_entry_before(const unsigned char *end) {
    size_t v = 0;
    unsigned k = 0;
    unsigned char b;
    do {
        b = end[-1 - (int)k];
        v |= (size_t)(b & 127) << (7 * k);
        k++;
    } while (b & 128);
    return v + k;
}

/* Decodes the entry at p: member (integers as text into ibuf), score, and
 * returns the entry size. The buffer is trusted (built by this file). */
static size_t lp_entry(const unsigned char *p, char ibuf[LT_LLSTR_SIZE], const char **m,
                       size_t *len, double *score) {
    unsigned h = p[0];
    size_t payload, hlen = 1;
    if (h < ZLP_STR32) {
        payload = h;
        if (m) {
            *m = (const char *)p + 1;
            *len = h;
        }
    } else if (h == ZLP_STR32) {
        uint32_t l32;
        memcpy(&l32, p + 1, 4);
        payload = l32;
        hlen = 5;
        if (m) {
            *m = (const char *)p + 5;
            *len = l32;
        }
    } else {
        payload = h == ZLP_INT8 ? 1 : h == ZLP_INT16 ? 2 : h == ZLP_INT32 ? 4 : 8;
        if (m) {
            uint64_t u = 0;
            memcpy(&u, p + 1, payload); /* little-endian hosts (asserted below) */
            int64_t v = payload == 1   ? (int8_t)u
                        : payload == 2 ? (int16_t)u
                        : payload == 4 ? (int32_t)u
                                       : (int64_t)u;
            *len = lt_ll2string(ibuf, LT_LLSTR_SIZE, v);
            *m = ibuf;
        }
    }
    if (score) memcpy(score, p + hlen + payload, 8);
    size_t body = hlen + payload + 8;
    return body + zlp_backlen_len(body);
}
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "listpack and snapshot code assume LE");

/* Bytes lp_build writes for member m. */
static size_t lp_build_size(const char *m, size_t len) {
    long long v;
    size_t body;
    if (len <= 20 && lt_string2ll(m, len, &v))
        body = 1 + (v >= INT8_MIN && v <= INT8_MAX     ? 1
                    : v >= INT16_MIN && v <= INT16_MAX ? 2
                    : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                       : 8) + 8;
    else
        body = (len < ZLP_STR32 ? 1 : 5) + len + 8;
    return body + zlp_backlen_len(body);
}

/* Builds the entry for (m, score) into out (lp_build_size bytes); returns
 * its size. */
static size_t lp_build(unsigned char *out, const char *m, size_t len, double score) {
    long long v;
    size_t payload, hlen = 1;
    if (len <= 20 && lt_string2ll(m, len, &v)) {
        if (v >= INT8_MIN && v <= INT8_MAX) out[0] = ZLP_INT8, payload = 1;
        else if (v >= INT16_MIN && v <= INT16_MAX) out[0] = ZLP_INT16, payload = 2;
        else if (v >= INT32_MIN && v <= INT32_MAX) out[0] = ZLP_INT32, payload = 4;
        else out[0] = ZLP_INT64, payload = 8;
        memcpy(out + 1, &v, payload);
    } else if (len < ZLP_STR32) {
        out[0] = (unsigned char)len;
        payload = len;
        memcpy(out + 1, m, len);
    } else {
        ASSERT(len < OBJLIMITS_LISTPACK_MAX_BYTES);
        uint32_t l32 = (uint32_t)len;
        out[0] = ZLP_STR32;
        memcpy(out + 1, &l32, 4);
        hlen = 5;
        payload = len;
        memcpy(out + 5, m, len);
    }
    if (score == 0) score = 0.0; /* Redis's listpack keeps no -0 (its text form reads back 0) */
    memcpy(out + hlen + payload, &score, 8);
    size_t body = hlen + payload + 8;
    zlp_backlen_write(out + body, body);
    return body + zlp_backlen_len(body);
}

/* Appends (m, score) at the end of the listpack (callers keep the order). */
static void lp_append(zset *z, const char *m, size_t len, double score) {
    size_t n = lp_build_size(m, len);
    z->u.lp.buf = lt_xrealloc(z->u.lp.buf, z->u.lp.bytes + n);
    lp_build(z->u.lp.buf + z->u.lp.bytes, m, len, score);
    z->u.lp.bytes += (uint32_t)n;
    z->u.lp.count++;
}

static int key_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2) {
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    size_t min = l1 < l2 ? l1 : l2;
    int c = min ? memcmp(m1, m2, min) : 0;
    if (c) return c;
    return l1 < l2 ? -1 : l1 > l2 ? 1 : 0;
}

/* Offset of member's entry, or -1. */
static long lp_find(const zset *z, const char *m, size_t len, double *score) {
    char ibuf[LT_LLSTR_SIZE];
    for (size_t off = 0; off < z->u.lp.bytes;) {
        const char *em;
        size_t elen;
        double sc;
        size_t sz = lp_entry(z->u.lp.buf + off, ibuf, &em, &elen, &sc);
        if (elen == len && memcmp(em, m, len) == 0) {
            if (score) *score = sc;
            return (long)off;
        }
        off += sz;
    }
    return -1;
}

static void lp_delete_bytes(zset *z, size_t off, size_t n, uint32_t entries) {
    memmove(z->u.lp.buf + off, z->u.lp.buf + off + n, z->u.lp.bytes - off - n);
    z->u.lp.bytes -= (uint32_t)n;
    z->u.lp.count -= entries;
}

/* Inserts (m, score), absent, at its place in order. */
static void lp_insert(zset *z, const char *m, size_t len, double score) {
    char ibuf[LT_LLSTR_SIZE];
    size_t off = 0;
    while (off < z->u.lp.bytes) {
        const char *em;
        size_t elen;
        double sc;
        size_t sz = lp_entry(z->u.lp.buf + off, ibuf, &em, &elen, &sc);
        if (key_cmp(sc, em, elen, score, m, len) > 0) break;
        off += sz;
    }
    size_t n = lp_build_size(m, len);
    z->u.lp.buf = lt_xrealloc(z->u.lp.buf, z->u.lp.bytes + n);
    memmove(z->u.lp.buf + off + n, z->u.lp.buf + off, z->u.lp.bytes - off);
    lp_build(z->u.lp.buf + off, m, len, score);
    z->u.lp.bytes += (uint32_t)n;
    z->u.lp.count++;
}

/* ---- Skiplist encoding -------------------------------------------------------- */

static zelem *elem_new(const char *m, size_t len, double score) {
    zelem *e = lt_xmalloc(ZELEM_SIZE(len));
    e->hnext = NULL;
    e->score = score;
    e->len = (uint32_t)len;
    memcpy(e->member, m, len);
    return e;
}

static void elem_free(zelem *e) { free(e); }

static void sl_init(zset *z, uint64_t expect) {
    z->enc = ZSET_ENC_SKIPLIST;
    bt_init(&z->u.sl.tree);
    zh_init(&z->u.sl.hash, expect);
    z->u.sl.elem_bytes = 0;
}

static void sl_insert_new(zset *z, const char *m, size_t len, double score) {
    zelem *e = elem_new(m, len, score);
    bt_insert(&z->u.sl.tree, e);
    zh_add(&z->u.sl.hash, e);
    z->u.sl.elem_bytes += ZELEM_SIZE(len);
}

static void sl_remove_elem(zset *z, zelem *e) {
    zelem *h = zh_remove(&z->u.sl.hash, e->member, e->len);
    ASSERT(h == e);
    zelem *t = bt_remove(&z->u.sl.tree, e->score, e->member, e->len);
    ASSERT(t == e);
    z->u.sl.elem_bytes -= ZELEM_SIZE(e->len);
    elem_free(e);
}

/* Listpack -> skiplist. */
static void zset_to_skiplist(zset *z) {
    ASSERT(z->enc == ZSET_ENC_LISTPACK);
    unsigned char *buf = z->u.lp.buf;
    uint32_t bytes = z->u.lp.bytes, count = z->u.lp.count;
    sl_init(z, count + 1);
    char ibuf[LT_LLSTR_SIZE];
    for (size_t off = 0; off < bytes;) {
        const char *m;
        size_t len;
        double sc;
        off += lp_entry(buf + off, ibuf, &m, &len, &sc);
        sl_insert_new(z, m, len, sc);
    }
    free(buf);
}

/* ---- Public API --------------------------------------------------------------- */

zset *zset_create(void) {
    pthread_once(&hash_key_once, hash_key_init);
    zset *z = lt_xcalloc(1, sizeof(*z));
    z->enc = ZSET_ENC_LISTPACK;
    return z;
}

void zset_free(zset *z) {
    if (!z) return;
    if (z->enc == ZSET_ENC_LISTPACK) {
        free(z->u.lp.buf);
    } else {
        bt_clear(&z->u.sl.tree, elem_free);
        zh_free(&z->u.sl.hash);
    }
    free(z);
}

size_t zset_len(const zset *z) {
    return z->enc == ZSET_ENC_LISTPACK ? z->u.lp.count : (size_t)z->u.sl.tree.count;
}

int zset_encoding(const zset *z) { return z->enc; }

zset *zset_dup(const zset *z) {
    zset *d = zset_create();
    if (z->enc == ZSET_ENC_LISTPACK) {
        d->u.lp = z->u.lp;
        d->u.lp.buf = z->u.lp.bytes ? lt_xmalloc(z->u.lp.bytes) : NULL;
        if (z->u.lp.bytes) memcpy(d->u.lp.buf, z->u.lp.buf, z->u.lp.bytes);
        return d;
    }
    sl_init(d, z->u.sl.tree.count);
    bt_pos pos;
    if (bt_seek(&z->u.sl.tree, 0, &pos)) {
        do {
            zelem *e = bt_item(&pos);
            sl_insert_new(d, e->member, e->len, e->score);
        } while (bt_next(&pos));
    }
    return d;
}

size_t zset_mem_usage(const zset *z) {
    size_t n = sizeof(*z);
    if (z->enc == ZSET_ENC_LISTPACK) return n + z->u.lp.bytes;
    const zhash *h = &z->u.sl.hash;
    return n + bt_mem_usage(&z->u.sl.tree) + z->u.sl.elem_bytes +
           (zh_size(h, 0) + zh_size(h, 1)) * sizeof(zelem *);
}

zset *zset_create_skiplist(uint64_t expect) {
    zset *z = zset_create();
    sl_init(z, expect);
    return z;
}

void zset_shrink_if_small(zset *z) {
    if (z->enc != ZSET_ENC_SKIPLIST || z->u.sl.tree.count > objlimits_zset_entries()) return;
    size_t maxv = objlimits_zset_value(), cap = 0;
    bt_pos pos;
    if (bt_seek(&z->u.sl.tree, 0, &pos)) {
        do {
            const zelem *e = bt_item(&pos);
            if (e->len > maxv) return;
            cap += lp_build_size(e->member, e->len);
        } while (bt_next(&pos));
    }
    if (cap > OBJLIMITS_LISTPACK_MAX_BYTES) return;
    zset tmp = {.enc = ZSET_ENC_LISTPACK};
    tmp.u.lp.buf = cap ? lt_xmalloc(cap) : NULL;
    if (bt_seek(&z->u.sl.tree, 0, &pos)) {
        do {
            zelem *e = bt_item(&pos);
            tmp.u.lp.bytes += (uint32_t)lp_build(tmp.u.lp.buf + tmp.u.lp.bytes, e->member, e->len, e->score);
            tmp.u.lp.count++;
        } while (bt_next(&pos));
    }
    if (tmp.u.lp.bytes) tmp.u.lp.buf = lt_xrealloc(tmp.u.lp.buf, tmp.u.lp.bytes);
    bt_clear(&z->u.sl.tree, elem_free);
    zh_free(&z->u.sl.hash);
    *z = tmp;
}

int zset_score(const zset *z, const char *m, size_t len, double *score) {
    if (z->enc == ZSET_ENC_LISTPACK) return lp_find(z, m, len, score) >= 0;
    const zelem *e = zh_find(&z->u.sl.hash, m, len);
    if (!e) return 0;
    *score = e->score;
    return 1;
}

int zset_add(zset *z, double score, const char *m, size_t len, int in, int *out,
             double *newscore) {
    *out = 0;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return 0;
    }
    double cur;
    int exists;
    long off = -1;
    zelem *e = NULL;
    if (z->enc == ZSET_ENC_LISTPACK) {
        off = lp_find(z, m, len, &cur);
        exists = off >= 0;
    } else {
        e = zh_find(&z->u.sl.hash, m, len);
        exists = e != NULL;
        if (e) cur = e->score;
    }
    if (exists) {
        if (in & ZADD_IN_NX) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (in & ZADD_IN_INCR) {
            score += cur;
            if (isnan(score)) {
                *out |= ZADD_OUT_NAN;
                return 0;
            }
        }
        if (((in & ZADD_IN_LT) && score >= cur) || ((in & ZADD_IN_GT) && score <= cur)) {
            *out |= ZADD_OUT_NOP;
            return 1;
        }
        if (newscore) *newscore = score;
        if (score != cur) {
            if (z->enc == ZSET_ENC_LISTPACK) {
                char stack[ZLP_STACK_ENTRY];
                char *mcopy = len <= sizeof(stack) ? stack : lt_xmalloc(len);
                memcpy(mcopy, m, len); /* m may point into the buffer */
                size_t sz = lp_entry(z->u.lp.buf + off, NULL, NULL, NULL, NULL);
                lp_delete_bytes(z, (size_t)off, sz, 1);
                lp_insert(z, mcopy, len, score);
                if (mcopy != stack) free(mcopy);
            } else {
                zelem *t = bt_remove(&z->u.sl.tree, e->score, e->member, e->len);
                ASSERT(t == e);
                e->score = score;
                bt_insert(&z->u.sl.tree, e);
            }
            *out |= ZADD_OUT_UPDATED;
        }
        return 1;
    }
    if (in & ZADD_IN_XX) {
        *out |= ZADD_OUT_NOP;
        return 1;
    }
    if (z->enc == ZSET_ENC_LISTPACK &&
        (z->u.lp.count + 1 > objlimits_zset_entries() || len > objlimits_zset_value() ||
         z->u.lp.bytes + len + 32 > OBJLIMITS_LISTPACK_MAX_BYTES))
        zset_to_skiplist(z);
    if (z->enc == ZSET_ENC_LISTPACK) lp_insert(z, m, len, score);
    else sl_insert_new(z, m, len, score);
    *out |= ZADD_OUT_ADDED;
    if (newscore) *newscore = score;
    return 1;
}

int zset_del(zset *z, const char *m, size_t len) {
    if (z->enc == ZSET_ENC_LISTPACK) {
        long off = lp_find(z, m, len, NULL);
        if (off < 0) return 0;
        size_t sz = lp_entry(z->u.lp.buf + off, NULL, NULL, NULL, NULL);
        lp_delete_bytes(z, (size_t)off, sz, 1);
        return 1;
    }
    zelem *e = zh_find(&z->u.sl.hash, m, len);
    if (!e) return 0;
    sl_remove_elem(z, e);
    return 1;
}

typedef struct key_bound {
    double score;
    const char *m;
    size_t len;
} key_bound;

static int before_key(double score, const char *m, size_t len, void *ctx) {
    key_bound *b = ctx;
    return key_cmp(score, m, len, b->score, b->m, b->len) < 0;
}

int zset_rank(const zset *z, const char *m, size_t len, int reverse, uint64_t *rank,
              double *score) {
    double sc;
    if (!zset_score(z, m, len, &sc)) return 0;
    key_bound b = {sc, m, len};
    uint64_t r = zset_count_before(z, before_key, &b);
    *rank = reverse ? zset_len(z) - 1 - r : r;
    if (score) *score = sc;
    return 1;
}

typedef struct bt_before_ctx {
    zset_before_fn *fn;
    void *ctx;
} bt_before_ctx;

static int bt_before_adapter(const zelem *e, void *ctx) {
    bt_before_ctx *a = ctx;
    return a->fn(e->score, e->member, e->len, a->ctx);
}

uint64_t zset_count_before(const zset *z, zset_before_fn *before, void *ctx) {
    if (z->enc == ZSET_ENC_SKIPLIST) {
        bt_before_ctx a = {before, ctx};
        return bt_count_before(&z->u.sl.tree, bt_before_adapter, &a);
    }
    char ibuf[LT_LLSTR_SIZE];
    uint64_t n = 0;
    for (size_t off = 0; off < z->u.lp.bytes; n++) {
        const char *m;
        size_t len;
        double sc;
        off += lp_entry(z->u.lp.buf + off, ibuf, &m, &len, &sc);
        if (!before(sc, m, len, ctx)) break;
    }
    return n;
}

/* Byte offset of the entry of rank r (r <= count: count gives the end). */
static size_t lp_offset_of(const zset *z, uint64_t r) {
    size_t off = 0;
    for (uint64_t i = 0; i < r; i++) off += lp_entry(z->u.lp.buf + off, NULL, NULL, NULL, NULL);
    return off;
}

void zset_delete_range(zset *z, uint64_t start, uint64_t end) {
    ASSERT(start <= end && end < zset_len(z));
    if (z->enc == ZSET_ENC_LISTPACK) {
        size_t a = lp_offset_of(z, start), b = a;
        for (uint64_t i = start; i <= end; i++)
            b += lp_entry(z->u.lp.buf + b, NULL, NULL, NULL, NULL);
        lp_delete_bytes(z, a, b - a, (uint32_t)(end - start + 1));
        return;
    }
    for (uint64_t i = start; i <= end; i++) {
        bt_pos pos;
        int ok = bt_seek(&z->u.sl.tree, start, &pos);
        ASSERT(ok);
        sl_remove_elem(z, bt_item(&pos));
    }
}

int zset_iter_seek(zset_iter *it, const zset *z, uint64_t rank) {
    it->z = z;
    if (rank >= zset_len(z)) return 0;
    if (z->enc == ZSET_ENC_SKIPLIST) return bt_seek(&z->u.sl.tree, rank, &it->pos);
    it->off = lp_offset_of(z, rank);
    return 1;
}

int zset_iter_next(zset_iter *it) {
    const zset *z = it->z;
    if (z->enc == ZSET_ENC_SKIPLIST) return bt_next(&it->pos);
    size_t next = it->off + lp_entry(z->u.lp.buf + it->off, NULL, NULL, NULL, NULL);
    if (next >= z->u.lp.bytes) return 0;
    it->off = next;
    return 1;
}

int zset_iter_prev(zset_iter *it) {
    const zset *z = it->z;
    if (z->enc == ZSET_ENC_SKIPLIST) return bt_prev(&it->pos);
    if (it->off == 0) return 0;
    it->off -= zlp_entry_before(z->u.lp.buf + it->off);
    return 1;
}

void zset_iter_get(zset_iter *it, const char **m, size_t *len, double *score) {
    const zset *z = it->z;
    if (z->enc == ZSET_ENC_SKIPLIST) {
        const zelem *e = bt_item(&it->pos);
        *m = e->member;
        *len = e->len;
        *score = e->score;
        return;
    }
    lp_entry(z->u.lp.buf + it->off, it->ibuf, m, len, score);
}

uint64_t zset_scan(const zset *z, uint64_t cursor, zset_scan_fn *fn, void *ctx) {
    ASSERT(z->enc == ZSET_ENC_SKIPLIST);
    return zh_scan(&z->u.sl.hash, cursor, fn, ctx);
}

/* ---- Snapshot encoding --------------------------------------------------------- */

#define ZSET_CODEC_VERSION 1
#define ZSET_CODEC_MAX_MEMBER ((size_t)512 * 1024 * 1024)
#define ZSET_CODEC_CHUNK 4096

typedef struct emit_buf {
    ks_emit_fn *emit;
    void *ctx;
    size_t used;
    unsigned char buf[ZSET_CODEC_CHUNK];
} emit_buf;

static int eb_put(emit_buf *b, const void *p, size_t n) {
    if (b->used + n > sizeof(b->buf)) {
        if (b->used && b->emit(b->ctx, b->buf, b->used) < 0) return -1;
        b->used = 0;
        if (n > sizeof(b->buf)) return b->emit(b->ctx, p, n);
    }
    memcpy(b->buf + b->used, p, n);
    b->used += n;
    return 0;
}

int zset_encode(const zset *z, ks_emit_fn *emit, void *ctx) {
    emit_buf *b = lt_xmalloc(sizeof(*b)); /* 4 KiB: keep it off small stacks */
    b->emit = emit;
    b->ctx = ctx;
    b->used = 0;
    uint8_t ver = ZSET_CODEC_VERSION;
    uint64_t count = zset_len(z);
    int rc = eb_put(b, &ver, 1) | eb_put(b, &count, 8);
    zset_iter it;
    if (rc == 0 && zset_iter_seek(&it, z, 0)) {
        do {
            const char *m;
            size_t len;
            double sc;
            zset_iter_get(&it, &m, &len, &sc);
            uint32_t l32 = (uint32_t)len;
            if (eb_put(b, &l32, 4) < 0 || eb_put(b, m, len) < 0 || eb_put(b, &sc, 8) < 0) {
                rc = -1;
                break;
            }
        } while (zset_iter_next(&it));
    }
    if (rc == 0 && b->used) rc = emit(ctx, b->buf, b->used);
    free(b);
    return rc < 0 ? -1 : 0;
}

zset *zset_decode(const void *buf, size_t len) {
    const unsigned char *p = buf, *end = p + len;
    if (len < 9 || p[0] != ZSET_CODEC_VERSION) return NULL;
    uint64_t count;
    memcpy(&count, p + 1, 8);
    p += 9;
    if (count == 0 || count > (len - 9) / 12) return NULL;
    /* First pass: validate shape and order, find the longest member. */
    const unsigned char *q = p;
    size_t maxlen = 0;
    const char *pm = NULL;
    size_t plen = 0;
    double ps = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t l;
        if ((size_t)(end - q) < 4) return NULL;
        memcpy(&l, q, 4);
        q += 4;
        if (l > ZSET_CODEC_MAX_MEMBER || (size_t)(end - q) < (size_t)l + 8) return NULL;
        const char *m = (const char *)q;
        double sc;
        memcpy(&sc, q + l, 8);
        q += (size_t)l + 8;
        if (isnan(sc)) return NULL;
        if (pm && key_cmp(ps, pm, plen, sc, m, l) >= 0) return NULL;
        pm = m;
        plen = l;
        ps = sc;
        if (l > maxlen) maxlen = l;
    }
    if (q != end) return NULL;
    zset *z = zset_create();
    int small = count <= objlimits_zset_entries() && maxlen <= objlimits_zset_value() &&
                len < OBJLIMITS_LISTPACK_MAX_BYTES;
    if (!small) sl_init(z, count);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t l;
        memcpy(&l, p, 4);
        const char *m = (const char *)p + 4;
        double sc;
        memcpy(&sc, p + 4 + l, 8);
        p += 4 + (size_t)l + 8;
        if (zset_score(z, m, l, &(double){0})) { /* a member twice */
            zset_free(z);
            return NULL;
        }
        if (small) { /* ascending: append */
            lp_append(z, m, l, sc);
        } else {
            sl_insert_new(z, m, l, sc);
        }
    }
    return z;
}

/* ---- Keyspace type ops --------------------------------------------------------- */

static void ops_free(void *obj) { zset_free(obj); }
static void *ops_dup(const void *obj) { return zset_dup(obj); }
static size_t ops_mem_usage(const void *obj) { return zset_mem_usage(obj); }
static const char *ops_encoding(const void *obj) {
    return zset_encoding(obj) == ZSET_ENC_LISTPACK ? "listpack" : "skiplist";
}
static int ops_encode(const void *obj, ks_emit_fn *emit, void *ctx) {
    return zset_encode(obj, emit, ctx);
}
static void *ops_decode(const void *buf, size_t len) { return zset_decode(buf, len); }

/* Redis's free effort: one per member of a skiplist, 1 for a listpack. */
static size_t ops_free_effort(const void *obj) {
    const zset *z = obj;
    return z->enc == ZSET_ENC_LISTPACK ? 1 : (size_t)z->u.sl.tree.count;
}

const ks_type_ops zset_type_ops = {
    .free_effort = ops_free_effort,
    .name = "zset",
    .free = ops_free,
    .dup = ops_dup,
    .mem_usage = ops_mem_usage,
    .encoding = ops_encoding,
    .encode = ops_encode,
    .decode = ops_decode,
};
