/*
 * sha1.c — SHA-1 as FIPS 180-4 specifies it (see sha1.h). Big-endian
 * message schedule over 64-byte blocks; the 80-word schedule is computed in
 * a 16-word ring.
 */
#include "common/sha1.h"

#include <string.h>

static uint32_t rol(uint32_t v, unsigned n) { return (v << n) | (v >> (32 - n)); }

static void sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        if (i >= 16) {
            uint32_t x = w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ w[i & 15];
            w[i & 15] = rol(x, 1);
        }
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rol(a, 5) + f + e + k + w[i & 15];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void lt_sha1_init(lt_sha1_ctx *c) {
    c->h[0] = 0x67452301;
    c->h[1] = 0xEFCDAB89;
    c->h[2] = 0x98BADCFE;
    c->h[3] = 0x10325476;
    c->h[4] = 0xC3D2E1F0;
    c->bytes = 0;
    c->fill = 0;
}

void lt_sha1_update(lt_sha1_ctx *c, const void *data, size_t len) {
    const unsigned char *p = data;
    c->bytes += len;
    if (c->fill) {
        size_t take = 64 - c->fill < len ? 64 - c->fill : len;
        memcpy(c->block + c->fill, p, take);
        c->fill += take;
        p += take;
        len -= take;
        if (c->fill < 64) return;
        sha1_block(c->h, c->block);
        c->fill = 0;
    }
    for (; len >= 64; p += 64, len -= 64) sha1_block(c->h, p);
    memcpy(c->block, p, len);
    c->fill = len;
}

void lt_sha1_final(lt_sha1_ctx *c, unsigned char out[LT_SHA1_LEN]) {
    uint64_t bits = c->bytes * 8;
    unsigned char pad[72] = {0x80};
    size_t padlen = (c->fill < 56 ? 56 : 120) - c->fill;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(bits >> (56 - 8 * i));
    lt_sha1_update(c, pad, padlen);
    lt_sha1_update(c, len, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void lt_sha1(const void *data, size_t len, unsigned char out[LT_SHA1_LEN]) {
    lt_sha1_ctx c;
    lt_sha1_init(&c);
    lt_sha1_update(&c, data, len);
    lt_sha1_final(&c, out);
}

void lt_sha1_hex(const void *data, size_t len, char out[LT_SHA1_HEX_SIZE]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char d[LT_SHA1_LEN];
    lt_sha1(data, len, d);
    for (int i = 0; i < LT_SHA1_LEN; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[40] = '\0';
}
