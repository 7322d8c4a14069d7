/*
 * lzf.c — LZF compressor and decompressor (format in lzf.h).
 *
 * The compressor finds matches with a hash table of the last position of
 * every 3-byte sequence (one per call, on the stack, 2^8..2^14 entries by
 * input size so short strings clear little of it) and emits the greedy longest match at that position; positions
 * inside a match are hashed too so later matches find them. Any valid LZF
 * output decodes with any LZF decoder, so the exact choices need not match
 * liblzf's.
 */
#include "common/lzf.h"

#include <stdint.h>
#include <string.h>

#define LZF_HLOG 14
#define LZF_MAX_OFF (1u << 13)   /* 8192 */
#define LZF_MAX_REF (255 + 7 + 2) /* 264 bytes per reference */
#define LZF_MAX_LIT 32

static inline uint32_t lzf_hash(const unsigned char *p, unsigned hlog) {
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - hlog);
}

size_t lzf_compress(const void *in_v, size_t in_len, void *out_v, size_t out_len) {
    const unsigned char *in = in_v;
    unsigned char *out = out_v;
    if (in_len == 0 || out_len == 0) return 0;
    /* position + 1 (0 = empty); sized to the input so that compressing
     * many small strings does not clear a big table each time. */
    uint32_t htab[1u << LZF_HLOG];
    unsigned hlog = 8;
    while (hlog < LZF_HLOG && ((size_t)1 << hlog) < in_len * 2) hlog++;
    memset(htab, 0, sizeof(htab[0]) << hlog);
    if (in_len >= UINT32_MAX) return 0; /* positions are 32-bit */
    size_t ip = 0, op = 0;
    size_t ctrl = op++; /* control byte of the literal run being built */
    unsigned lit = 0;
    while (ip + 2 < in_len) {
        uint32_t h = lzf_hash(in + ip, hlog);
        size_t ref1 = htab[h];
        htab[h] = (uint32_t)(ip + 1);
        if (ref1) {
            size_t ref = ref1 - 1;
            size_t off = ip - ref - 1;
            if (off < LZF_MAX_OFF && memcmp(in + ref, in + ip, 3) == 0) {
                size_t maxlen = in_len - ip;
                if (maxlen > LZF_MAX_REF) maxlen = LZF_MAX_REF;
                size_t len = 3;
                while (len < maxlen && in[ref + len] == in[ip + len]) len++;
                /* Close the literal run (or drop its unused control byte). */
                if (lit) out[ctrl] = (unsigned char)(lit - 1);
                else op--;
                if (op + 3 + 1 > out_len) return 0;
                size_t l = len - 2;
                if (l < 7) {
                    out[op++] = (unsigned char)((l << 5) | (off >> 8));
                } else {
                    out[op++] = (unsigned char)((7 << 5) | (off >> 8));
                    out[op++] = (unsigned char)(l - 7);
                }
                out[op++] = (unsigned char)(off & 0xff);
                ip += len;
                /* Hash the positions the match covered (bounded: <= 264). */
                for (size_t k = ip - len + 1; k < ip && k + 2 < in_len; k++)
                    htab[lzf_hash(in + k, hlog)] = (uint32_t)(k + 1);
                lit = 0;
                if (op >= out_len) return 0;
                ctrl = op++;
                continue;
            }
        }
        if (op >= out_len) return 0;
        out[op++] = in[ip++];
        if (++lit == LZF_MAX_LIT) {
            out[ctrl] = LZF_MAX_LIT - 1;
            lit = 0;
            if (op >= out_len) return 0;
            ctrl = op++;
        }
    }
    while (ip < in_len) {
        if (op >= out_len) return 0;
        out[op++] = in[ip++];
        if (++lit == LZF_MAX_LIT) {
            out[ctrl] = LZF_MAX_LIT - 1;
            lit = 0;
            if (op >= out_len) return 0;
            ctrl = op++;
        }
    }
    if (lit) out[ctrl] = (unsigned char)(lit - 1);
    else op--; /* an unused control byte at the end */
    return op;
}

size_t lzf_decompress(const void *in_v, size_t in_len, void *out_v, size_t out_len) {
    const unsigned char *in = in_v;
    unsigned char *out = out_v;
    size_t ip = 0, op = 0;
    while (ip < in_len) {
        unsigned c = in[ip++];
        if (c < 32) {
            size_t n = (size_t)c + 1;
            if (ip + n > in_len || op + n > out_len) return 0;
            memcpy(out + op, in + ip, n);
            ip += n;
            op += n;
        } else {
            size_t len = c >> 5;
            if (len == 7) {
                if (ip >= in_len) return 0;
                len += in[ip++];
            }
            if (ip >= in_len) return 0;
            size_t back = ((size_t)(c & 0x1f) << 8) + in[ip++] + 1;
            len += 2;
            if (back > op || op + len > out_len) return 0;
            size_t ref = op - back;
            for (size_t k = 0; k < len; k++) out[op + k] = out[ref + k];
            op += len;
        }
    }
    return op;
}
