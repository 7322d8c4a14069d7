/*
 * hll: Redis's HyperLogLog representation and estimator on byte buffers
 * (format and invariants in hll.h). Written from the format Redis
 * documents; byte-level results match Redis 7.0 for the same operations.
 *
 * Corrupt input: a sparse body is corrupt when its opcodes do not cover
 * exactly 16384 registers; any opcode that would run past register 16383
 * stops the walk (the rule of Redis 7.0.15 as shipped with the
 * CVE-2025-32023 fix, which the reference redis-server has). Redis reads
 * one byte past a value (the sds terminator, always 0) when a value ends
 * inside an XZERO opcode; hll_byte_at() gives the same 0 instead of
 * reading past the buffer.
 */
#include "common/hll.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define HLL_SPARSE_XZERO_BIT 0x40
#define HLL_SPARSE_VAL_BIT 0x80
#define HLL_SPARSE_VAL_MAX_LEN 4
#define HLL_SPARSE_ZERO_MAX_LEN 64
#define HLL_SPARSE_XZERO_MAX_LEN 16384
#define HLL_ALPHA_INF 0.721347520444481703680 /* 0.5 / ln(2) */
#define HLL_SEED 0xadc83b19u

static int op_is_zero(uint8_t b) { return (b & 0xc0) == 0; }
static int op_is_xzero(uint8_t b) { return (b & 0xc0) == HLL_SPARSE_XZERO_BIT; }
static int op_is_val(uint8_t b) { return (b & HLL_SPARSE_VAL_BIT) != 0; }
static long op_zero_len(uint8_t b) { return (b & 0x3f) + 1; }
static long op_xzero_len(uint8_t b0, uint8_t b1) { return (((long)(b0 & 0x3f) << 8) | b1) + 1; }
static int op_val_value(uint8_t b) { return ((b >> 2) & 0x1f) + 1; }
static long op_val_len(uint8_t b) { return (b & 0x3) + 1; }
static uint8_t op_val(int val, long len) {
    return (uint8_t)(((val - 1) << 2 | (len - 1)) | HLL_SPARSE_VAL_BIT);
}
static uint8_t op_zero(long len) { return (uint8_t)(len - 1); }
static void op_xzero(uint8_t *p, long len) {
    long l = len - 1;
    p[0] = (uint8_t)((l >> 8) | HLL_SPARSE_XZERO_BIT);
    p[1] = (uint8_t)(l & 0xff);
}

/* Byte i of a body of len bytes, 0 past its end (see the file comment). */
static uint8_t hll_byte_at(const uint8_t *p, size_t len, size_t i) { return i < len ? p[i] : 0; }

/* Registers covered by the opcode at body[i] (i < blen). */
static long hll_op_span(const uint8_t *body, size_t blen, size_t i) {
    uint8_t op = body[i];
    if (op_is_zero(op)) return op_zero_len(op);
    if (op_is_xzero(op)) return op_xzero_len(op, hll_byte_at(body, blen, i + 1));
    return op_val_len(op);
}

uint64_t hll_murmur64a(const void *key, size_t len, uint32_t seed) {
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    /* Redis computes seed ^ (len * m) with an int len. */
    uint64_t h = seed ^ ((uint64_t)(int)len * m);
    const uint8_t *data = key;
    const uint8_t *end = data + (len - (len & 7));
    while (data != end) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--) k = (k << 8) | data[i];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
        data += 8;
    }
    switch (len & 7) {
    case 7: h ^= (uint64_t)data[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)data[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)data[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)data[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)data[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)data[1] << 8;  /* fall through */
    case 1:
        h ^= (uint64_t)data[0];
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pat_len(const void *ele, size_t len, long *index) {
    uint64_t hash = hll_murmur64a(ele, len, HLL_SEED);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q; /* the run ends by Q+1 at the latest */
    int count = 1;
    for (uint64_t bit = 1; (hash & bit) == 0; bit <<= 1) count++;
    return count;
}

int hll_header_ok(const uint8_t *p, size_t len) {
    if (len < HLL_HDR_SIZE) return 0;
    if (memcmp(p, "HYLL", 4) != 0) return 0;
    if (p[4] > HLL_MAX_ENCODING) return 0;
    if (p[4] == HLL_DENSE && len != HLL_DENSE_SIZE) return 0;
    return 1;
}

int hll_encoding(const uint8_t *p) { return p[4]; }

int hll_cache_get(const uint8_t *p, uint64_t *card) {
    if (p[15] & 0x80) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[8 + i];
    *card = v;
    return 1;
}

void hll_cache_set(uint8_t *p, uint64_t card) {
    for (int i = 0; i < 8; i++) p[8 + i] = (uint8_t)(card >> (8 * i));
}

void hll_cache_invalidate(uint8_t *p) { p[15] |= 0x80; }

static void buf_reserve(hll_buf *b, size_t need) {
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 32;
    while (cap < need) cap *= 2;
    b->p = lt_xrealloc(b->p, cap);
    b->cap = cap;
}

void hll_buf_init_empty(hll_buf *b) {
    b->p = NULL;
    b->len = b->cap = 0;
    size_t len = HLL_HDR_SIZE +
                 (size_t)((HLL_REGISTERS + HLL_SPARSE_XZERO_MAX_LEN - 1) / HLL_SPARSE_XZERO_MAX_LEN) * 2;
    buf_reserve(b, len + 3);
    memset(b->p, 0, len);
    memcpy(b->p, "HYLL", 4);
    b->p[4] = HLL_SPARSE;
    uint8_t *q = b->p + HLL_HDR_SIZE;
    for (long left = HLL_REGISTERS; left > 0; q += 2) {
        long n = left < HLL_SPARSE_XZERO_MAX_LEN ? left : HLL_SPARSE_XZERO_MAX_LEN;
        op_xzero(q, n);
        left -= n;
    }
    b->len = len;
}

void hll_buf_init_copy(hll_buf *b, const void *p, size_t len) {
    b->p = NULL;
    b->len = b->cap = 0;
    buf_reserve(b, len + 3);
    memcpy(b->p, p, len);
    b->len = len;
}

void hll_buf_free(hll_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

unsigned hll_dense_get(const uint8_t *regs, long index) {
    size_t byte = (size_t)index * HLL_BITS / 8;
    unsigned fb = (unsigned)(index * HLL_BITS) & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & HLL_REGISTER_MAX;
}

void hll_dense_set(uint8_t *regs, long index, unsigned val) {
    size_t byte = (size_t)index * HLL_BITS / 8;
    unsigned fb = (unsigned)(index * HLL_BITS) & 7;
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | (val << fb));
    if (fb > 8 - HLL_BITS) {
        unsigned fb8 = 8 - fb;
        regs[byte + 1] =
            (uint8_t)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8));
    }
}

int hll_sparse_to_dense(hll_buf *b) {
    if (b->p[4] == HLL_DENSE) return 0;
    uint8_t *dense = lt_xcalloc(1, HLL_DENSE_SIZE + 3);
    memcpy(dense, b->p, HLL_HDR_SIZE); /* magic and cached cardinality */
    dense[4] = HLL_DENSE;
    const uint8_t *body = b->p + HLL_HDR_SIZE;
    size_t blen = b->len - HLL_HDR_SIZE, i = 0;
    long idx = 0;
    while (i < blen) {
        uint8_t op = body[i];
        long runlen = hll_op_span(body, blen, i);
        if (runlen + idx > HLL_REGISTERS) break; /* overflow: corrupt */
        if (op_is_val(op)) {
            int val = op_val_value(op);
            while (runlen--) hll_dense_set(dense + HLL_HDR_SIZE, idx++, (unsigned)val);
        } else {
            idx += runlen;
        }
        i += op_is_xzero(op) ? 2 : 1;
    }
    if (i < blen || idx != HLL_REGISTERS) {
        free(dense);
        return -1;
    }
    free(b->p);
    b->p = dense;
    b->len = HLL_DENSE_SIZE;
    b->cap = HLL_DENSE_SIZE + 3;
    return 0;
}

static int hll_dense_set_if_larger(uint8_t *regs, long index, unsigned count) {
    if (count <= hll_dense_get(regs, index)) return 0;
    hll_dense_set(regs, index, count);
    return 1;
}

static int hll_promote_and_set(hll_buf *b, long index, unsigned count) {
    if (hll_sparse_to_dense(b) < 0) return -1;
    return hll_dense_set_if_larger(b->p + HLL_HDR_SIZE, index, count);
}

/* Merges equal adjacent VAL opcodes, scanning up to 5 opcodes from off. */
static void hll_sparse_merge_window(hll_buf *b, size_t off) {
    uint8_t *body = b->p + HLL_HDR_SIZE;
    size_t end = b->len - HLL_HDR_SIZE, i = off;
    int scan = 5;
    while (i < end && scan--) {
        if (op_is_xzero(body[i])) {
            i += 2;
            continue;
        }
        if (op_is_zero(body[i])) {
            i++;
            continue;
        }
        if (i + 1 < end && op_is_val(body[i + 1])) {
            int v1 = op_val_value(body[i]), v2 = op_val_value(body[i + 1]);
            long len = op_val_len(body[i]) + op_val_len(body[i + 1]);
            if (v1 == v2 && len <= HLL_SPARSE_VAL_MAX_LEN) {
                body[i + 1] = op_val(v1, len);
                memmove(body + i, body + i + 1, end - i - 1);
                end--;
                b->len--;
                continue; /* try to merge the result with its right */
            }
        }
        i++;
    }
}

static int hll_sparse_set(hll_buf *b, long index, unsigned count, size_t max_bytes) {
    if (count > HLL_SPARSE_VAL_MAX_VALUE) return hll_promote_and_set(b, index, count);
    buf_reserve(b, b->len + 3); /* XZERO -> XZERO VAL XZERO grows by 3 */
    uint8_t *body = b->p + HLL_HDR_SIZE;
    size_t end = b->len - HLL_HDR_SIZE, i = 0, prev = 0;
    int has_prev = 0;
    long first = 0, span = 0;
    /* Step 1: the opcode covering index. */
    while (i < end) {
        size_t oplen = 1;
        uint8_t op = body[i];
        if (op_is_zero(op)) span = op_zero_len(op);
        else if (op_is_val(op)) span = op_val_len(op);
        else {
            span = op_xzero_len(op, hll_byte_at(body, end, i + 1));
            oplen = 2;
        }
        if (index <= first + span - 1) break;
        prev = i;
        has_prev = 1;
        i += oplen;
        first += span;
    }
    if (span == 0 || i >= end) return -1;
    uint8_t op = body[i];
    size_t next = op_is_xzero(op) ? i + 2 : i + 1;
    int has_next = next < end;
    long runlen;
    int is_zero = 0, is_xzero = 0, is_val = 0;
    if (op_is_zero(op)) {
        is_zero = 1;
        runlen = op_zero_len(op);
    } else if (op_is_xzero(op)) {
        is_xzero = 1;
        runlen = op_xzero_len(op, hll_byte_at(body, end, i + 1));
    } else {
        is_val = 1;
        runlen = op_val_len(op);
    }
    /* Step 2: trivial in-place updates. */
    if (is_val) {
        if ((unsigned)op_val_value(op) >= count) return 0;
        if (runlen == 1) {
            body[i] = op_val((int)count, 1);
            goto updated;
        }
    }
    if (is_zero && runlen == 1) {
        body[i] = op_val((int)count, 1);
        goto updated;
    }
    /* General case: split the opcode into at most 3 (5 bytes). */
    uint8_t seq[5];
    size_t n = 0;
    long last = first + span - 1;
    if (is_zero || is_xzero) {
        if (index != first) {
            long len = index - first;
            if (len > HLL_SPARSE_ZERO_MAX_LEN) {
                op_xzero(seq + n, len);
                n += 2;
            } else {
                seq[n++] = op_zero(len);
            }
        }
        seq[n++] = op_val((int)count, 1);
        if (index != last) {
            long len = last - index;
            if (len > HLL_SPARSE_ZERO_MAX_LEN) {
                op_xzero(seq + n, len);
                n += 2;
            } else {
                seq[n++] = op_zero(len);
            }
        }
    } else {
        int cur = op_val_value(op);
        if (index != first) seq[n++] = op_val(cur, index - first);
        seq[n++] = op_val((int)count, 1);
        if (index != last) seq[n++] = op_val(cur, last - index);
    }
    /* Step 3: substitute the sequence for the old opcode. */
    long oldlen = is_xzero ? 2 : 1;
    long delta = (long)n - oldlen;
    if (delta > 0 && b->len + (size_t)delta > max_bytes) return hll_promote_and_set(b, index, count);
    if (delta && has_next) memmove(body + next + delta, body + next, end - next);
    b->len = (size_t)((long)b->len + delta);
    memcpy(body + i, seq, n);
updated:
    /* Step 4: merge adjacent equal VAL opcodes near the change. */
    hll_sparse_merge_window(b, has_prev ? prev : 0);
    hll_cache_invalidate(b->p);
    return 1;
}

int hll_set(hll_buf *b, long index, unsigned count, size_t sparse_max_bytes) {
    switch (b->p[4]) {
    case HLL_DENSE: return hll_dense_set_if_larger(b->p + HLL_HDR_SIZE, index, count);
    case HLL_SPARSE: return hll_sparse_set(b, index, count, sparse_max_bytes);
    default: return -1;
    }
}

int hll_add(hll_buf *b, const void *ele, size_t len, size_t sparse_max_bytes) {
    long index;
    int count = hll_pat_len(ele, len, &index);
    return hll_set(b, index, (unsigned)count, sparse_max_bytes);
}

/* ---- Estimation -------------------------------------------------------------- */

static double hll_sigma(double x) {
    if (x == 1.) return INFINITY;
    double zprime, y = 1, z = x;
    do {
        x *= x;
        zprime = z;
        z += x * y;
        y += y;
    } while (zprime != z);
    return z;
}

static double hll_tau(double x) {
    if (x == 0. || x == 1.) return 0.;
    double zprime, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zprime = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zprime != z);
    return z / 3;
}

/* reghisto has 64 slots: every register value (6 bits) indexes safely. */
static uint64_t hll_estimate(const int reghisto[64]) {
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - reghisto[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += reghisto[j];
        z *= 0.5;
    }
    z += m * hll_sigma(reghisto[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

uint64_t hll_count(const uint8_t *p, size_t len, int *invalid) {
    int reghisto[64] = {0};
    const uint8_t *body = p + HLL_HDR_SIZE;
    if (p[4] == HLL_DENSE) {
        for (long i = 0; i < HLL_REGISTERS; i++) reghisto[hll_dense_get(body, i)]++;
    } else {
        size_t blen = len - HLL_HDR_SIZE, i = 0;
        long idx = 0;
        while (i < blen) {
            uint8_t op = body[i];
            long n = hll_op_span(body, blen, i);
            if (n + idx > HLL_REGISTERS) break; /* overflow: corrupt */
            idx += n;
            reghisto[op_is_val(op) ? op_val_value(op) : 0] += (int)n;
            i += op_is_xzero(op) ? 2 : 1;
        }
        if ((i < blen || idx != HLL_REGISTERS) && invalid) *invalid = 1;
    }
    return hll_estimate(reghisto);
}

uint64_t hll_count_raw(const uint8_t regs[HLL_REGISTERS]) {
    int reghisto[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) reghisto[regs[i] & 63]++;
    return hll_estimate(reghisto);
}

int hll_merge(uint8_t max[HLL_REGISTERS], const uint8_t *p, size_t len) {
    const uint8_t *body = p + HLL_HDR_SIZE;
    if (p[4] == HLL_DENSE) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(body, i);
            if (v > max[i]) max[i] = (uint8_t)v;
        }
        return 0;
    }
    size_t blen = len - HLL_HDR_SIZE, i = 0;
    long idx = 0;
    while (i < blen) {
        uint8_t op = body[i];
        long runlen = hll_op_span(body, blen, i);
        if (runlen + idx > HLL_REGISTERS) break; /* overflow: corrupt */
        if (op_is_val(op)) {
            int val = op_val_value(op);
            while (runlen--) {
                if (val > max[idx]) max[idx] = (uint8_t)val;
                idx++;
            }
        } else {
            idx += runlen;
        }
        i += op_is_xzero(op) ? 2 : 1;
    }
    return i >= blen && idx == HLL_REGISTERS ? 0 : -1;
}

char *hll_sparse_decode(const uint8_t *p, size_t len) {
    const uint8_t *body = p + HLL_HDR_SIZE;
    size_t blen = len - HLL_HDR_SIZE, i = 0, out = 0;
    /* Each opcode byte prints at most "v:32,4 " (7 bytes). */
    char *s = lt_xmalloc(blen * 8 + 1);
    while (i < blen) {
        uint8_t op = body[i];
        if (op_is_zero(op)) {
            out += (size_t)sprintf(s + out, "z:%ld ", op_zero_len(op));
            i++;
        } else if (op_is_xzero(op)) {
            out += (size_t)sprintf(s + out, "Z:%ld ", op_xzero_len(op, hll_byte_at(body, blen, i + 1)));
            i += 2;
        } else {
            out += (size_t)sprintf(s + out, "v:%d,%ld ", op_val_value(op), op_val_len(op));
            i++;
        }
    }
    while (out > 0 && s[out - 1] == ' ') out--;
    s[out] = '\0';
    return s;
}
