/*
 * rdb.c — Redis's RDB format: value codec, DUMP payloads, file loading and
 * file writing from an MVCC view (API in rdb.h).
 *
 * FORMAT (Redis 7.0, RDB version 10; what this file reads and writes)
 *
 *   File:   "REDIS" + 4 ASCII digits (the version, 0001..0010 accepted),
 *           then opcodes / key records until EOF (0xFF), then (version >= 5)
 *           the CRC64 (crc64.h, Jones) of every byte before it, 8 bytes
 *           little-endian; a stored CRC of 0 means "checksum disabled".
 *           Bytes after the CRC are ignored (as Redis does).
 *   Opcodes (one byte each, then their operands):
 *     0xFF EOF
 *     0xFE SELECTDB      length: database index (< databases)
 *     0xFD EXPIRETIME    4 bytes LE: absolute Unix seconds of the next key
 *     0xFC EXPIRETIME_MS 8 bytes LE: absolute Unix ms of the next key
 *     0xFB RESIZEDB      length, length: key / expire counts (hints)
 *     0xFA AUX           string, string: metadata (redis-ver, ctime, ...)
 *     0xF9 FREQ          1 byte: LFU counter of the next key
 *     0xF8 IDLE          length: LRU idle seconds of the next key
 *     0xF7 MODULE_AUX    module data: refused (Lightning has no modules)
 *     0xF6 FUNCTION      pre-GA function format: refused, as Redis 7.0
 *     0xF5 FUNCTION2     string: one function library's code
 *     0..19              a key record: type byte, key string, value
 *   Length encoding (first byte's top two bits):
 *     00xxxxxx           6-bit length
 *     01xxxxxx yyyyyyyy  14-bit length, big-endian
 *     10000000 + 4 bytes 32-bit length, big-endian
 *     10000001 + 8 bytes 64-bit length, big-endian
 *     11xxxxxx           a special string encoding xxxxxx (below)
 *   String: a length then that many bytes, or a special encoding:
 *     0 int8, 1 int16 LE, 2 int32 LE (the decimal text of the integer),
 *     3 LZF (lzf.h): length clen, length ulen, clen compressed bytes that
 *       must decompress to exactly ulen bytes.
 *   Doubles: binary (8 bytes LE IEEE 754), or (RDB_TYPE_ZSET only) a
 *     length byte then that many ASCII bytes; 253 = NaN, 254 = +inf,
 *     255 = -inf.
 *   Values by type byte (element counts are lengths):
 *     0  STRING            string
 *     1  LIST              count, count strings
 *     2  SET               count, count strings (distinct)
 *     3  ZSET              count, count (member string, string double)
 *     4  HASH              count, count (field string, value string)
 *     5  ZSET_2            count, count (member string, binary double)
 *     6, 7 MODULE          refused with the module's name
 *     9  HASH_ZIPMAP       string holding a zipmap
 *     10 LIST_ZIPLIST      string holding a ziplist
 *     11 SET_INTSET        string holding an intset
 *     12 ZSET_ZIPLIST      string holding a ziplist of member, score
 *     13 HASH_ZIPLIST      string holding a ziplist of field, value
 *     14 LIST_QUICKLIST    count, count strings each holding a ziplist
 *     15 STREAM_LISTPACKS  stream (stream codec, rdb.h)
 *     16 HASH_LISTPACK     string holding a listpack of field, value
 *     17 ZSET_LISTPACK     string holding a listpack of member, score
 *     18 LIST_QUICKLIST_2  count, count (container length: 1 plain then a
 *                          string element, 2 packed then a listpack string)
 *     19 STREAM_LISTPACKS_2 stream (stream codec)
 *   Blobs: ziplist = u32 zlbytes (== blob size), u32 tail offset, u16
 *     count, entries (prevlen 1 byte < 254 or 0xFE + 4 bytes; encoding:
 *     00 6-bit, 01 14-bit BE, 0x80 + 32-bit BE string lengths; 0xC0 int16,
 *     0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8, 0xF1..0xFD immediate
 *     0..12), 0xFF. listpack = u32 total bytes (== blob size), u16 count,
 *     entries (0xxxxxxx uint7, 10xxxxxx 6-bit string, 110xxxxx 13-bit int,
 *     1110xxxx 12-bit string, 0xF0 32-bit string, 0xF1 int16, 0xF2 int24,
 *     0xF3 int32, 0xF4 int64, each followed by its backlen of 1..5 bytes),
 *     0xFF. intset = u32 width (2, 4, 8), u32 count, count LE integers
 *     ascending. zipmap = 1 byte count, entries (length 1 byte < 254 or 254
 *     + 4 bytes LE, key, length, 1 free byte, value, free bytes), 0xFF.
 *   DUMP payload: type byte + value, then RDB version (2 bytes LE), then
 *     CRC64 of all previous bytes (8 bytes LE).
 *
 * VALIDITY: every length is checked against the bytes left before it is
 * used; counts never allocate ahead (elements are added one by one);
 * blobs must end exactly at their declared size with their terminator; a
 * collection with a duplicate member / field or a NaN score, a SELECTDB
 * past `databases`, an unknown type or opcode, a version outside 1..10 or
 * a CRC mismatch are errors. A collection that decodes empty is skipped
 * when loading a file (Redis does so) and an error in a DUMP payload.
 *
 * LOADING: the CRC64 is checked first when the file ends in one (else the
 * whole file is verified by decoding it once without inserting), so a
 * damaged file inserts nothing. Then one pass inserts, on the calling
 * thread or (threads > 1) with the calling thread skimming record
 * boundaries and workers decoding and inserting batches of records (see
 * "Parallel loading" below). A key present twice in one database is an
 * error, as Redis refuses it.
 *
 * WRITING: strings as Redis's rdbSaveRawString (integer encoding for
 * strings of <= 11 bytes that round-trip, LZF above 20 bytes when it
 * saves at least 4 bytes); collections in the plain forms (LIST, SET,
 * ZSET_2, HASH), which every Redis version loads and re-encodes by its own
 * thresholds, as it does with every RDB it reads.
 */
#include "engine/rdb.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/crc64.h"
#include "common/lzf.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/entry_int.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/zsetobj.h"

#define RDB_MAX_STR ((uint64_t)512 * 1024 * 1024)
#define RDB_LZF_MAX_RATIO 88 /* one 3-byte reference expands to 264 bytes */
#define RDB_WRITE_BUDGET 128 /* keys per shard-lock hold while writing */
#define RDB_WRITE_FLUSH (64 * 1024)
#define RDB_PROGRESS_KEYS 65536

enum { RD_OK = 0, RD_EMPTY = 1, RD_ERR = -1 };

static const rdb_stream_codec *stream_codec;

void rdb_set_stream_codec(const rdb_stream_codec *codec) { stream_codec = codec; }

/* ---- Buffers ------------------------------------------------------------------ */

void rdb_buf_append(rdb_buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = lt_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_u8(rdb_buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    rdb_buf_append(b, &c, 1);
}

static void put_le(unsigned char *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* ---- Writing primitives ------------------------------------------------------- */

void rdb_put_len(rdb_buf *b, uint64_t len) {
    unsigned char h[9];
    if (len < (1u << 6)) {
        buf_u8(b, (unsigned)len);
    } else if (len < (1u << 14)) {
        h[0] = (unsigned char)(0x40 | (len >> 8));
        h[1] = (unsigned char)len;
        rdb_buf_append(b, h, 2);
    } else if (len <= UINT32_MAX) {
        h[0] = 0x80;
        for (int i = 0; i < 4; i++) h[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        rdb_buf_append(b, h, 5);
    } else {
        h[0] = 0x81;
        for (int i = 0; i < 8; i++) h[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        rdb_buf_append(b, h, 9);
    }
}

/* Redis's rdbEncodeInteger: the special encodings of int8/16/32. Returns
 * the bytes written to enc (0 when v does not fit 32 bits). */
static size_t encode_int(long long v, unsigned char enc[5]) {
    if (v >= INT8_MIN && v <= INT8_MAX) {
        enc[0] = 0xC0;
        enc[1] = (unsigned char)(v & 0xFF);
        return 2;
    }
    if (v >= INT16_MIN && v <= INT16_MAX) {
        enc[0] = 0xC1;
        put_le(enc + 1, (uint64_t)v, 2);
        return 3;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        enc[0] = 0xC2;
        put_le(enc + 1, (uint64_t)v, 4);
        return 5;
    }
    return 0;
}

void rdb_put_string(rdb_buf *b, const void *p, size_t len) {
    long long v;
    unsigned char enc[5];
    size_t n;
    if (len <= 11 && lt_string2ll(p, len, &v) && (n = encode_int(v, enc)) > 0) {
        rdb_buf_append(b, enc, n);
        return;
    }
    if (len > 20) {
        size_t cap = len - 4;
        unsigned char *out = lt_xmalloc(cap);
        size_t clen = lzf_compress(p, len, out, cap);
        if (clen > 0) {
            buf_u8(b, 0xC3);
            rdb_put_len(b, clen);
            rdb_put_len(b, len);
            rdb_buf_append(b, out, clen);
            free(out);
            return;
        }
        free(out);
    }
    rdb_put_len(b, len);
    rdb_buf_append(b, p, len);
}

static void put_double_bin(rdb_buf *b, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    unsigned char h[8];
    put_le(h, u, 8);
    rdb_buf_append(b, h, 8);
}

/* ---- Encoding values ------------------------------------------------------------ */

static void put_list(rdb_buf *b, listobj *l) {
    rdb_put_len(b, listobj_len(l));
    list_iter it;
    list_value v;
    char ibuf[LT_LLSTR_SIZE];
    for (listobj_iter_init(&it, l, 0, 1); listobj_iter_get(&it, &v); listobj_iter_next(&it)) {
        if (v.str) {
            rdb_put_string(b, v.str, v.len);
        } else {
            size_t n = lt_ll2string(ibuf, sizeof(ibuf), v.ll);
            rdb_put_string(b, ibuf, n);
        }
    }
}

static void put_set(rdb_buf *b, const setobj *s) {
    rdb_put_len(b, setobj_size(s));
    setobj_iter it;
    setobj_elem e;
    for (setobj_iter_init(&it, s); setobj_iter_next(&it, &e);) rdb_put_string(b, e.ptr, e.len);
}

static void put_hstr(rdb_buf *b, const hashobj_str *s) {
    if (s->ptr) {
        rdb_put_string(b, s->ptr, s->len);
    } else {
        char ibuf[LT_LLSTR_SIZE];
        size_t n = lt_ll2string(ibuf, sizeof(ibuf), s->ll);
        rdb_put_string(b, ibuf, n);
    }
}

static void put_hash(rdb_buf *b, const hashobj *h) {
    rdb_put_len(b, hashobj_len(h));
    hashobj_iter it;
    hashobj_str f, v;
    for (hashobj_iter_init(&it, h); hashobj_iter_next(&it, &f, &v);) {
        put_hstr(b, &f);
        put_hstr(b, &v);
    }
}

static void put_zset(rdb_buf *b, const zset *z) {
    size_t n = zset_len(z);
    rdb_put_len(b, n);
    if (n == 0) return;
    zset_iter it;
    for (int ok = zset_iter_seek(&it, z, 0); ok; ok = zset_iter_next(&it)) {
        const char *m;
        size_t len;
        double score;
        zset_iter_get(&it, &m, &len, &score);
        rdb_put_string(b, m, len);
        put_double_bin(b, score);
    }
}

/* Appends e's value without its type byte; returns the RDB type byte, or
 * -1 for a type without an RDB form. */
static int encode_value_body(rdb_buf *out, const ks_entry *e) {
    switch (ks_entry_type(e)) {
    case KS_TYPE_STRING: {
        char ibuf[LT_LLSTR_SIZE];
        size_t len;
        const char *p = ks_entry_str(e, ibuf, &len);
        rdb_put_string(out, p, len);
        return RDB_TYPE_STRING;
    }
    case KS_TYPE_LIST:
        put_list(out, ks_entry_obj(e));
        return RDB_TYPE_LIST;
    case KS_TYPE_SET:
        put_set(out, ks_entry_obj(e));
        return RDB_TYPE_SET;
    case KS_TYPE_ZSET:
        put_zset(out, ks_entry_obj(e));
        return RDB_TYPE_ZSET_2;
    case KS_TYPE_HASH:
        put_hash(out, ks_entry_obj(e));
        return RDB_TYPE_HASH;
    case KS_TYPE_STREAM:
        if (!stream_codec) return -1;
        return stream_codec->encode(out, ks_entry_obj(e));
    default:
        return -1;
    }
}

int rdb_encode_value(rdb_buf *out, const ks_entry *e) {
    size_t at = out->len;
    buf_u8(out, 0);
    int t = encode_value_body(out, e);
    if (t < 0) {
        out->len = at;
        return LT_INVAL;
    }
    out->p[at] = (unsigned char)t;
    return LT_OK;
}

int rdb_dump_payload(rdb_buf *out, const ks_entry *e) {
    size_t start = out->len;
    int rc = rdb_encode_value(out, e);
    if (rc != LT_OK) return rc;
    unsigned char f[10];
    put_le(f, RDB_VERSION, 2);
    rdb_buf_append(out, f, 2);
    uint64_t crc = crc64_jones(0, out->p + start, out->len - start);
    put_le(f, crc, 8);
    rdb_buf_append(out, f, 8);
    return LT_OK;
}

/* ---- Reading primitives ----------------------------------------------------------- */

typedef struct rd {
    const unsigned char *p;
    size_t len, pos;
    rdb_problem *pb;
    uint64_t base; /* offset of p[0] in what the problem reports */
} rd;

static int rd_fail_at(rd *r, size_t at, const char *fmt, ...) {
    if (r->pb) {
        r->pb->offset = r->base + at;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->pb->why, sizeof(r->pb->why), fmt, ap);
        va_end(ap);
    }
    return RD_ERR;
}
#define rd_fail(r, ...) rd_fail_at((r), (r)->pos, __VA_ARGS__)

static int rd_need(rd *r, size_t n) {
    if (r->len - r->pos < n) return rd_fail(r, "unexpected end of data (%zu bytes needed)", n);
    return RD_OK;
}

static int rd_u8(rd *r, unsigned *v) {
    if (rd_need(r, 1) < 0) return RD_ERR;
    *v = r->p[r->pos++];
    return RD_OK;
}

/* A length; *encoded (may be NULL: then a special encoding is an error)
 * is set when the byte announced a special string encoding instead. */
static int rd_len(rd *r, uint64_t *len, int *encoded) {
    unsigned b;
    size_t at = r->pos;
    if (rd_u8(r, &b) < 0) return RD_ERR;
    if (encoded) *encoded = 0;
    switch (b >> 6) {
    case 0:
        *len = b & 0x3F;
        return RD_OK;
    case 1: {
        unsigned b2;
        if (rd_u8(r, &b2) < 0) return RD_ERR;
        *len = ((uint64_t)(b & 0x3F) << 8) | b2;
        return RD_OK;
    }
    case 2:
        if (b == 0x80) {
            if (rd_need(r, 4) < 0) return RD_ERR;
            *len = get_be(r->p + r->pos, 4);
            r->pos += 4;
            return RD_OK;
        }
        if (b == 0x81) {
            if (rd_need(r, 8) < 0) return RD_ERR;
            *len = get_be(r->p + r->pos, 8);
            r->pos += 8;
            return RD_OK;
        }
        return rd_fail_at(r, at, "unknown length encoding 0x%02x", b);
    default:
        if (!encoded) return rd_fail_at(r, at, "string encoding where a length was expected");
        *encoded = 1;
        *len = b & 0x3F;
        return RD_OK;
    }
}

/* A string as read: bytes p[0..len), pointing into the input, into ibuf
 * (integer encodings) or into own (LZF; freed by rstr_free). */
typedef struct rstr {
    const char *p;
    size_t len;
    char *own;
    char ibuf[LT_LLSTR_SIZE];
} rstr;

static void rstr_free(rstr *s) {
    free(s->own);
    s->own = NULL;
}

static int rd_string(rd *r, rstr *s) {
    uint64_t len;
    int enc;
    size_t at = r->pos;
    s->own = NULL;
    if (rd_len(r, &len, &enc) < 0) return RD_ERR;
    if (!enc) {
        if (rd_need(r, len) < 0) return RD_ERR;
        s->p = (const char *)r->p + r->pos;
        s->len = (size_t)len;
        r->pos += (size_t)len;
        return RD_OK;
    }
    long long v;
    switch (len) {
    case 0:
        if (rd_need(r, 1) < 0) return RD_ERR;
        v = (int8_t)r->p[r->pos];
        r->pos += 1;
        break;
    case 1:
        if (rd_need(r, 2) < 0) return RD_ERR;
        v = (int16_t)get_le(r->p + r->pos, 2);
        r->pos += 2;
        break;
    case 2:
        if (rd_need(r, 4) < 0) return RD_ERR;
        v = (int32_t)get_le(r->p + r->pos, 4);
        r->pos += 4;
        break;
    case 3: {
        uint64_t clen, ulen;
        if (rd_len(r, &clen, NULL) < 0 || rd_len(r, &ulen, NULL) < 0) return RD_ERR;
        if (rd_need(r, clen) < 0) return RD_ERR;
        if (ulen == 0 || ulen > RDB_MAX_STR || ulen > clen * RDB_LZF_MAX_RATIO)
            return rd_fail_at(r, at, "LZF string of %llu bytes from %llu compressed bytes",
                              (unsigned long long)ulen, (unsigned long long)clen);
        char *out = malloc((size_t)ulen);
        if (!out) return rd_fail_at(r, at, "out of memory for a %llu byte string",
                                    (unsigned long long)ulen);
        if (lzf_decompress(r->p + r->pos, (size_t)clen, out, (size_t)ulen) != ulen) {
            free(out);
            return rd_fail_at(r, at, "invalid LZF compressed string");
        }
        r->pos += (size_t)clen;
        s->own = out;
        s->p = out;
        s->len = (size_t)ulen;
        return RD_OK;
    }
    default:
        return rd_fail_at(r, at, "unknown string encoding %u", (unsigned)len);
    }
    s->len = lt_ll2string(s->ibuf, sizeof(s->ibuf), v);
    s->p = s->ibuf;
    return RD_OK;
}

static int rd_double_bin(rd *r, double *d) {
    if (rd_need(r, 8) < 0) return RD_ERR;
    uint64_t u = get_le(r->p + r->pos, 8);
    memcpy(d, &u, 8);
    r->pos += 8;
    return RD_OK;
}

static int rd_double_str(rd *r, double *d) {
    unsigned n;
    if (rd_u8(r, &n) < 0) return RD_ERR;
    if (n == 253) { *d = NAN; return RD_OK; }
    if (n == 254) { *d = INFINITY; return RD_OK; }
    if (n == 255) { *d = -INFINITY; return RD_OK; }
    if (rd_need(r, n) < 0) return RD_ERR;
    char buf[256];
    memcpy(buf, r->p + r->pos, n);
    buf[n] = 0;
    char *end;
    errno = 0;
    *d = strtod(buf, &end);
    if (n == 0 || end == buf) return rd_fail(r, "invalid double");
    r->pos += n;
    return RD_OK;
}

int rdb_get_len(const unsigned char *p, size_t len, size_t *pos, uint64_t *out) {
    rd r = {.p = p, .len = len, .pos = *pos};
    if (*pos > len || rd_len(&r, out, NULL) < 0) return -1;
    *pos = r.pos;
    return 0;
}

char *rdb_get_string(const unsigned char *p, size_t len, size_t *pos, size_t *slen) {
    rd r = {.p = p, .len = len, .pos = *pos};
    rstr s;
    if (*pos > len || rd_string(&r, &s) < 0) return NULL;
    char *out = s.own;
    if (!out) {
        out = lt_xmalloc(s.len + 1);
        memcpy(out, s.p, s.len);
    }
    *slen = s.len;
    *pos = r.pos;
    return out;
}

/* ---- Blob iterators (ziplist, listpack) ---------------------------------------- */

typedef struct blob_it {
    const unsigned char *p;
    size_t len, pos;
} blob_it;

/* One element: bytes s[0..len) or, when s is NULL, the integer ll. */
typedef struct blob_elem {
    const char *s;
    size_t len;
    long long ll;
} blob_elem;

static int ziplist_open(blob_it *it, const rstr *b) {
    const unsigned char *p = (const unsigned char *)b->p;
    if (b->len < 11 || get_le(p, 4) != b->len || get_le(p + 4, 4) >= b->len ||
        p[b->len - 1] != 0xFF)
        return -1;
    it->p = p;
    it->len = b->len;
    it->pos = 10;
    return 0;
}

/* 1 and *e, 0 at the terminator (which must be the last byte), -1 if
 * malformed. */
static int ziplist_next(blob_it *it, blob_elem *e) {
    const unsigned char *p = it->p;
    size_t end = it->len - 1, pos = it->pos;
    if (p[pos] == 0xFF) return pos == end ? 0 : -1;
    pos += p[pos] < 254 ? 1 : 5; /* prevlen */
    if (pos >= end) return -1;
    unsigned b = p[pos];
    size_t hdr, dlen = 0;
    e->s = NULL;
    switch (b >> 6) {
    case 0: hdr = 1; dlen = b & 0x3F; break;
    case 1:
        if (pos + 2 > end) return -1;
        hdr = 2;
        dlen = ((size_t)(b & 0x3F) << 8) | p[pos + 1];
        break;
    case 2:
        if (b != 0x80 || pos + 5 > end) return -1;
        hdr = 5;
        dlen = (size_t)get_be(p + pos + 1, 4);
        break;
    default:
        hdr = 1;
        switch (b) {
        case 0xC0: dlen = 2; break;
        case 0xD0: dlen = 4; break;
        case 0xE0: dlen = 8; break;
        case 0xF0: dlen = 3; break;
        case 0xFE: dlen = 1; break;
        default:
            if (b >= 0xF1 && b <= 0xFD) {
                e->ll = (long long)(b & 0x0F) - 1;
                it->pos = pos + 1;
                return 1;
            }
            return -1;
        }
        if (dlen > end - pos - hdr) return -1;
        const unsigned char *d = p + pos + hdr;
        if (b == 0xC0) e->ll = (int16_t)get_le(d, 2);
        else if (b == 0xD0) e->ll = (int32_t)get_le(d, 4);
        else if (b == 0xE0) e->ll = (int64_t)get_le(d, 8);
        else if (b == 0xF0) e->ll = ((int32_t)(get_le(d, 3) << 8)) >> 8;
        else e->ll = (int8_t)d[0];
        it->pos = pos + hdr + dlen;
        return 1;
    }
    if (dlen > end - pos - hdr) return -1;
    e->s = (const char *)p + pos + hdr;
    e->len = dlen;
    it->pos = pos + hdr + dlen;
    return 1;
}

static int listpack_open(blob_it *it, const rstr *b) {
    const unsigned char *p = (const unsigned char *)b->p;
    if (b->len < 7 || get_le(p, 4) != b->len || p[b->len - 1] != 0xFF) return -1;
    it->p = p;
    it->len = b->len;
    it->pos = 6;
    return 0;
}

static int listpack_next(blob_it *it, blob_elem *e) {
    const unsigned char *p = it->p;
    size_t end = it->len - 1, pos = it->pos;
    unsigned b = p[pos];
    if (b == 0xFF) return pos == end ? 0 : -1;
    size_t hdr, dlen = 0;
    int is_str = 0;
    if ((b & 0x80) == 0) {
        hdr = 1;
        e->ll = b;
    } else if ((b & 0xC0) == 0x80) {
        hdr = 1;
        dlen = b & 0x3F;
        is_str = 1;
    } else if ((b & 0xE0) == 0xC0) {
        if (pos + 2 > end) return -1;
        hdr = 2;
        int v = ((b & 0x1F) << 8) | p[pos + 1];
        e->ll = v >= 4096 ? v - 8192 : v;
    } else if ((b & 0xF0) == 0xE0) {
        if (pos + 2 > end) return -1;
        hdr = 2;
        dlen = ((size_t)(b & 0x0F) << 8) | p[pos + 1];
        is_str = 1;
    } else if (b == 0xF0) {
        if (pos + 5 > end) return -1;
        hdr = 5;
        dlen = (size_t)get_le(p + pos + 1, 4);
        is_str = 1;
    } else {
        hdr = 1;
        int n = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : b == 0xF4 ? 8 : 0;
        if (!n || (size_t)n > end - pos - 1) return -1;
        uint64_t u = get_le(p + pos + 1, n);
        if (n < 8) {
            int sh = 64 - 8 * n;
            e->ll = (long long)((int64_t)(u << sh) >> sh);
        } else {
            e->ll = (long long)u;
        }
        dlen = (size_t)n;
    }
    if (dlen > end - pos - hdr) return -1;
    size_t elen = hdr + dlen;
    size_t bl = elen < 128 ? 1 : elen < 16384 ? 2 : elen < 2097152 ? 3 : elen < 268435456 ? 4 : 5;
    if (bl > end - pos - elen) return -1;
    if (is_str) {
        e->s = (const char *)p + pos + hdr;
        e->len = dlen;
    } else {
        e->s = NULL;
    }
    it->pos = pos + elen + bl;
    return 1;
}

typedef int blob_next_fn(blob_it *it, blob_elem *e);

/* Element text: e->s or the decimal form of e->ll in ibuf. */
static const char *elem_str(const blob_elem *e, char ibuf[LT_LLSTR_SIZE], size_t *len) {
    if (e->s) {
        *len = e->len;
        return e->s;
    }
    *len = lt_ll2string(ibuf, LT_LLSTR_SIZE, e->ll);
    return ibuf;
}

/* ---- Decoding values ------------------------------------------------------------ */

void rdb_value_free(rdb_value *v) {
    if (v->obj) {
        const ks_type_ops *ops = ks_type_get(v->type);
        ASSERT(ops != NULL);
        ops->free(v->obj);
    }
    free(v->str);
    memset(v, 0, sizeof(*v));
}

ks_entry *rdb_value_install(ks_txn *txn, unsigned dbid, const char *key, size_t klen,
                            rdb_value *v, int64_t expire_ms) {
    ks_entry *e;
    if (v->type == KS_TYPE_STRING) {
        e = ks_set_str(txn, dbid, key, klen, v->str ? v->str : "", v->slen, expire_ms, 0);
        free(v->str);
    } else {
        e = ks_set_obj(txn, dbid, key, klen, v->type, v->obj, expire_ms);
    }
    memset(v, 0, sizeof(*v));
    return e;
}

static int decode_list_elems(rd *r, listobj *l, const rstr *blob, int ziplist, size_t at) {
    blob_it it;
    blob_elem e;
    if ((ziplist ? ziplist_open(&it, blob) : listpack_open(&it, blob)) < 0)
        return rd_fail_at(r, at, "%s integrity check failed", ziplist ? "ziplist" : "listpack");
    blob_next_fn *next = ziplist ? ziplist_next : listpack_next;
    int rc;
    char ibuf[LT_LLSTR_SIZE];
    while ((rc = next(&it, &e)) == 1) {
        size_t n;
        const char *s = elem_str(&e, ibuf, &n);
        listobj_push(l, LIST_TAIL, s, n);
    }
    if (rc < 0)
        return rd_fail_at(r, at, "%s integrity check failed", ziplist ? "ziplist" : "listpack");
    return RD_OK;
}

static int decode_list(rd *r, int rdbtype, rdb_value *out) {
    listobj *l = listobj_new();
    out->type = KS_TYPE_LIST;
    out->obj = l;
    uint64_t n;
    rstr s;
    size_t at = r->pos;
    if (rdbtype == RDB_TYPE_LIST) {
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        while (n--) {
            if (rd_string(r, &s) < 0) return RD_ERR;
            listobj_push(l, LIST_TAIL, s.p, s.len);
            rstr_free(&s);
        }
    } else if (rdbtype == RDB_TYPE_LIST_ZIPLIST) {
        if (rd_string(r, &s) < 0) return RD_ERR;
        int rc = decode_list_elems(r, l, &s, 1, at);
        rstr_free(&s);
        if (rc < 0) return RD_ERR;
    } else {
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        while (n--) {
            uint64_t container = 2;
            at = r->pos;
            if (rdbtype == RDB_TYPE_LIST_QUICKLIST_2) {
                if (rd_len(r, &container, NULL) < 0) return RD_ERR;
                if (container != 1 && container != 2)
                    return rd_fail_at(r, at, "quicklist node container %llu",
                                      (unsigned long long)container);
                at = r->pos;
            }
            if (rd_string(r, &s) < 0) return RD_ERR;
            int rc = RD_OK;
            if (container == 1) listobj_push(l, LIST_TAIL, s.p, s.len);
            else rc = decode_list_elems(r, l, &s, rdbtype == RDB_TYPE_LIST_QUICKLIST, at);
            rstr_free(&s);
            if (rc < 0) return RD_ERR;
        }
    }
    return listobj_len(l) ? RD_OK : RD_EMPTY;
}

static int set_add_checked(rd *r, setobj *s, const char *p, size_t n, size_t at) {
    if (!setobj_add(s, p, n)) return rd_fail_at(r, at, "duplicate set member");
    return RD_OK;
}

static int decode_set(rd *r, int rdbtype, rdb_value *out) {
    setobj *set = setobj_new();
    out->type = KS_TYPE_SET;
    out->obj = set;
    size_t at = r->pos;
    rstr s;
    if (rdbtype == RDB_TYPE_SET) {
        uint64_t n;
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        while (n--) {
            at = r->pos;
            if (rd_string(r, &s) < 0) return RD_ERR;
            int rc = set_add_checked(r, set, s.p, s.len, at);
            rstr_free(&s);
            if (rc < 0) return RD_ERR;
        }
        return setobj_size(set) ? RD_OK : RD_EMPTY;
    }
    /* RDB_TYPE_SET_INTSET */
    if (rd_string(r, &s) < 0) return RD_ERR;
    const unsigned char *p = (const unsigned char *)s.p;
    int rc = RD_OK;
    uint64_t w = s.len >= 8 ? get_le(p, 4) : 0, n = s.len >= 8 ? get_le(p + 4, 4) : 0;
    if (s.len < 8 || (w != 2 && w != 4 && w != 8) || s.len != 8 + w * n) {
        rc = rd_fail_at(r, at, "intset integrity check failed");
    } else {
        char ibuf[LT_LLSTR_SIZE];
        int sh = 64 - 8 * (int)w;
        long long prev = 0;
        for (uint64_t i = 0; i < n && rc == RD_OK; i++) {
            uint64_t u = get_le(p + 8 + i * w, (int)w);
            long long v = sh ? (long long)((int64_t)(u << sh) >> sh) : (long long)u;
            if (i > 0 && v <= prev) {
                rc = rd_fail_at(r, at, "intset integrity check failed");
                break;
            }
            prev = v;
            size_t len = lt_ll2string(ibuf, sizeof(ibuf), v);
            setobj_add(set, ibuf, len);
        }
    }
    rstr_free(&s);
    if (rc < 0) return RD_ERR;
    return setobj_size(set) ? RD_OK : RD_EMPTY;
}

static int hash_set_checked(rd *r, hashobj *h, const char *f, size_t flen, const char *v,
                            size_t vlen, size_t at) {
    if (!hashobj_set(h, f, flen, v, vlen)) return rd_fail_at(r, at, "duplicate hash field");
    return RD_OK;
}

static int decode_hash_blob(rd *r, hashobj *h, const rstr *blob, int ziplist, size_t at) {
    blob_it it;
    blob_elem f, v;
    if ((ziplist ? ziplist_open(&it, blob) : listpack_open(&it, blob)) < 0)
        return rd_fail_at(r, at, "%s integrity check failed", ziplist ? "ziplist" : "listpack");
    blob_next_fn *next = ziplist ? ziplist_next : listpack_next;
    int rc;
    char fb[LT_LLSTR_SIZE], vb[LT_LLSTR_SIZE];
    while ((rc = next(&it, &f)) == 1) {
        if (next(&it, &v) != 1) {
            rc = -1;
            break;
        }
        size_t fl, vl;
        const char *fs = elem_str(&f, fb, &fl), *vs = elem_str(&v, vb, &vl);
        if (hash_set_checked(r, h, fs, fl, vs, vl, at) < 0) return RD_ERR;
    }
    if (rc < 0)
        return rd_fail_at(r, at, "%s integrity check failed", ziplist ? "ziplist" : "listpack");
    return RD_OK;
}

static int decode_zipmap(rd *r, hashobj *h, const rstr *blob, size_t at) {
    const unsigned char *p = (const unsigned char *)blob->p;
    size_t len = blob->len, pos = 1;
    if (len < 2 || p[len - 1] != 0xFF) return rd_fail_at(r, at, "zipmap integrity check failed");
    for (;;) {
        if (pos >= len) return rd_fail_at(r, at, "zipmap integrity check failed");
        if (p[pos] == 0xFF) {
            if (pos != len - 1) return rd_fail_at(r, at, "zipmap integrity check failed");
            return RD_OK;
        }
        const unsigned char *s[2];
        size_t sl[2];
        for (int k = 0; k < 2; k++) {
            if (pos >= len - 1) return rd_fail_at(r, at, "zipmap integrity check failed");
            size_t l = p[pos];
            if (l == 255) return rd_fail_at(r, at, "zipmap integrity check failed");
            if (l == 254) {
                if (pos + 5 > len - 1) return rd_fail_at(r, at, "zipmap integrity check failed");
                l = (size_t)get_le(p + pos + 1, 4);
                pos += 5;
            } else {
                pos += 1;
            }
            size_t free_bytes = 0;
            if (k == 1) {
                if (pos >= len - 1) return rd_fail_at(r, at, "zipmap integrity check failed");
                free_bytes = p[pos++];
            }
            if (l > len - 1 - pos || free_bytes > len - 1 - pos - l)
                return rd_fail_at(r, at, "zipmap integrity check failed");
            s[k] = p + pos;
            sl[k] = l;
            pos += l + free_bytes;
        }
        if (hash_set_checked(r, h, (const char *)s[0], sl[0], (const char *)s[1], sl[1], at) < 0)
            return RD_ERR;
    }
}

static int decode_hash(rd *r, int rdbtype, rdb_value *out) {
    hashobj *h = hashobj_new();
    out->type = KS_TYPE_HASH;
    out->obj = h;
    size_t at = r->pos;
    rstr s, v;
    if (rdbtype == RDB_TYPE_HASH) {
        uint64_t n;
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        while (n--) {
            at = r->pos;
            if (rd_string(r, &s) < 0) return RD_ERR;
            if (rd_string(r, &v) < 0) {
                rstr_free(&s);
                return RD_ERR;
            }
            int rc = hash_set_checked(r, h, s.p, s.len, v.p, v.len, at);
            rstr_free(&s);
            rstr_free(&v);
            if (rc < 0) return RD_ERR;
        }
    } else {
        if (rd_string(r, &s) < 0) return RD_ERR;
        int rc = rdbtype == RDB_TYPE_HASH_ZIPMAP ? decode_zipmap(r, h, &s, at)
                 : decode_hash_blob(r, h, &s, rdbtype == RDB_TYPE_HASH_ZIPLIST, at);
        rstr_free(&s);
        if (rc < 0) return RD_ERR;
    }
    return hashobj_len(h) ? RD_OK : RD_EMPTY;
}

static int zset_add_checked(rd *r, zset *z, double score, const char *m, size_t len, size_t at) {
    if (isnan(score)) return rd_fail_at(r, at, "zset with NaN score");
    int flags = 0;
    zset_add(z, score, m, len, 0, &flags, NULL);
    if (!(flags & ZADD_OUT_ADDED)) return rd_fail_at(r, at, "duplicate zset member");
    return RD_OK;
}

static int decode_zset(rd *r, int rdbtype, rdb_value *out) {
    zset *z = zset_create();
    out->type = KS_TYPE_ZSET;
    out->obj = z;
    size_t at = r->pos;
    rstr s;
    if (rdbtype == RDB_TYPE_ZSET || rdbtype == RDB_TYPE_ZSET_2) {
        uint64_t n;
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        while (n--) {
            at = r->pos;
            double d;
            if (rd_string(r, &s) < 0) return RD_ERR;
            int rc = rdbtype == RDB_TYPE_ZSET ? rd_double_str(r, &d) : rd_double_bin(r, &d);
            if (rc == RD_OK) rc = zset_add_checked(r, z, d, s.p, s.len, at);
            rstr_free(&s);
            if (rc < 0) return RD_ERR;
        }
        return zset_len(z) ? RD_OK : RD_EMPTY;
    }
    int ziplist = rdbtype == RDB_TYPE_ZSET_ZIPLIST;
    if (rd_string(r, &s) < 0) return RD_ERR;
    blob_it it;
    blob_elem m, sc;
    int rc = (ziplist ? ziplist_open(&it, &s) : listpack_open(&it, &s)) < 0 ? -1 : 1;
    blob_next_fn *next = ziplist ? ziplist_next : listpack_next;
    char mb[LT_LLSTR_SIZE];
    while (rc == 1 && (rc = next(&it, &m)) == 1) {
        if (next(&it, &sc) != 1) {
            rc = -1;
            break;
        }
        double d;
        if (sc.s) {
            char tmp[130];
            if (sc.len == 0 || sc.len >= sizeof(tmp)) { rc = -1; break; }
            memcpy(tmp, sc.s, sc.len);
            tmp[sc.len] = 0;
            char *end;
            d = strtod(tmp, &end);
            if (end == tmp) { rc = -1; break; }
        } else {
            d = (double)sc.ll;
        }
        size_t ml;
        const char *ms = elem_str(&m, mb, &ml);
        if (zset_add_checked(r, z, d, ms, ml, at) < 0) {
            rstr_free(&s);
            return RD_ERR;
        }
    }
    rstr_free(&s);
    if (rc < 0)
        return rd_fail_at(r, at, "%s integrity check failed", ziplist ? "ziplist" : "listpack");
    return zset_len(z) ? RD_OK : RD_EMPTY;
}

/* Redis's module type id: 9 characters of 6 bits from this charset, then a
 * 10-bit encoding version. */
static void module_name(uint64_t id, char out[10]) {
    static const char cs[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 9; i++) out[i] = cs[(id >> (10 + 6 * (8 - i))) & 63];
    out[9] = 0;
}

static int decode_value(rd *r, int rdbtype, rdb_value *out) {
    memset(out, 0, sizeof(*out));
    switch (rdbtype) {
    case RDB_TYPE_STRING: {
        rstr s;
        if (rd_string(r, &s) < 0) return RD_ERR;
        out->type = KS_TYPE_STRING;
        if (s.own) {
            out->str = s.own;
        } else if (s.len) {
            out->str = lt_xmalloc(s.len);
            memcpy(out->str, s.p, s.len);
        }
        out->slen = s.len;
        return RD_OK;
    }
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2:
        return decode_list(r, rdbtype, out);
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
        return decode_set(r, rdbtype, out);
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
        return decode_zset(r, rdbtype, out);
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
        return decode_hash(r, rdbtype, out);
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2: {
        if (!stream_codec || !ks_type_get(KS_TYPE_STREAM))
            return rd_fail(r, "stream values (RDB type %d) are not supported yet", rdbtype);
        char why[120] = "malformed stream";
        size_t at = r->pos;
        void *obj = stream_codec->decode(r->p, r->len, &r->pos, rdbtype, why, sizeof(why));
        if (!obj) return rd_fail_at(r, at, "%s", why);
        out->type = KS_TYPE_STREAM;
        out->obj = obj;
        return RD_OK;
    }
    case RDB_TYPE_MODULE_PRE_GA:
    case RDB_TYPE_MODULE_2: {
        uint64_t id;
        size_t at = r->pos;
        if (rd_len(r, &id, NULL) < 0) return RD_ERR;
        char name[10];
        module_name(id, name);
        return rd_fail_at(r, at, "module value of type '%s' (module values are not supported)",
                          name);
    }
    default:
        return rd_fail(r, "unknown RDB value type %d", rdbtype);
    }
}

/* ---- DUMP payloads ---------------------------------------------------------------- */

int rdb_payload_verify(const void *p, size_t len) {
    const unsigned char *b = p;
    if (len < 10) return 0;
    const unsigned char *footer = b + len - 10;
    unsigned ver = footer[0] | (unsigned)footer[1] << 8;
    if (ver > RDB_VERSION) return 0;
    return crc64_jones(0, b, len - 8) == get_le(footer + 2, 8);
}

int rdb_payload_decode(const void *p, size_t len, rdb_value *v, rdb_problem *pb) {
    memset(v, 0, sizeof(*v));
    if (len < 11) {
        if (pb) {
            pb->offset = 0;
            snprintf(pb->why, sizeof(pb->why), "payload too short");
        }
        return LT_INVAL;
    }
    rd r = {.p = p, .len = len - 10, .pos = 0, .pb = pb};
    unsigned type;
    rd_u8(&r, &type);
    int rc = decode_value(&r, (int)type, v);
    /* Bytes between the value and the footer are ignored, as Redis's
     * RESTORE does. */
    if (rc == RD_EMPTY) rc = rd_fail(&r, "empty collection");
    if (rc != RD_OK) {
        rdb_value_free(v);
        return LT_INVAL;
    }
    return LT_OK;
}

/* ---- Whole files: loading ------------------------------------------------------------ */

static int is_value_type(unsigned t) {
    return t <= RDB_TYPE_STREAM_LISTPACKS_2 && t != 8;
}

/* ---- Parallel loading -------------------------------------------------------------
 * The calling thread skims the file: it parses opcodes and steps over each
 * value reading only lengths (no decompression, no allocation), and hands
 * batches of record offsets to worker threads, which decode and insert
 * them (one-key transactions: shard locks keep them apart). Values that
 * cannot be skimmed (streams, through their codec) are decoded by the
 * skimming thread itself. The queue holds at most LOAD_QUEUE batches, so
 * memory stays bounded whatever the file. */

#define LOAD_BATCH 1024
#define LOAD_QUEUE 8
#define LOAD_MAX_THREADS 16

static int rd_skip_string(rd *r) {
    uint64_t len, clen, ulen;
    int enc;
    size_t at = r->pos;
    if (rd_len(r, &len, &enc) < 0) return RD_ERR;
    if (enc) {
        switch (len) {
        case 0: len = 1; break;
        case 1: len = 2; break;
        case 2: len = 4; break;
        case 3:
            if (rd_len(r, &clen, NULL) < 0 || rd_len(r, &ulen, NULL) < 0) return RD_ERR;
            len = clen;
            break;
        default:
            return rd_fail_at(r, at, "unknown string encoding %u", (unsigned)len);
        }
    }
    if (rd_need(r, len) < 0) return RD_ERR;
    r->pos += (size_t)len;
    return RD_OK;
}

/* RD_OK past the value, RD_ERR, or RD_EMPTY when the type cannot be
 * skimmed (the caller decodes it instead; r->pos unchanged). */
static int skip_value(rd *r, int type) {
    uint64_t n;
    size_t start = r->pos;
    switch (type) {
    case RDB_TYPE_STRING:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_ZSET_LISTPACK:
        return rd_skip_string(r);
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_HASH:
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_LIST_QUICKLIST_2:
        if (rd_len(r, &n, NULL) < 0) return RD_ERR;
        /* Each iteration consumes at least one byte or fails. */
        while (n--) {
            if (type == RDB_TYPE_LIST_QUICKLIST_2) {
                uint64_t container;
                if (rd_len(r, &container, NULL) < 0) return RD_ERR;
            }
            if (rd_skip_string(r) < 0) return RD_ERR;
            if (type == RDB_TYPE_HASH && rd_skip_string(r) < 0) return RD_ERR;
            if (type == RDB_TYPE_ZSET_2) {
                if (rd_need(r, 8) < 0) return RD_ERR;
                r->pos += 8;
            } else if (type == RDB_TYPE_ZSET) {
                unsigned dl;
                if (rd_u8(r, &dl) < 0) return RD_ERR;
                if (dl < 253) {
                    if (rd_need(r, dl) < 0) return RD_ERR;
                    r->pos += dl;
                }
            }
        }
        return RD_OK;
    default:
        r->pos = start;
        return RD_EMPTY;
    }
}

typedef struct load_rec {
    size_t off;      /* of the type byte */
    int64_t expire, idle;
    unsigned dbid;
    int freq;
} load_rec;

typedef struct load_batch {
    size_t n;
    load_rec r[LOAD_BATCH];
} load_batch;

typedef struct loader {
    lt_db *db;
    const unsigned char *buf;
    size_t len;
    int64_t now;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    load_batch *q[LOAD_QUEUE];
    int qhead, qn, done, stop;
    uint64_t keys, expired; /* atomics */
    int failed;
    rdb_problem pb;         /* first problem a worker found (under mu) */
    load_batch *cur;        /* being filled by the skimming thread */
} loader;

/* Decodes the record at rec->off and inserts it into db (db NULL: decode
 * and free only), or counts it expired, or skips it when it decoded empty.
 * *end: the offset after the record. RD_OK, or RD_ERR with *pb (a
 * malformed value, or a key already loaded: Redis refuses duplicates). */
static int load_one(lt_db *db, const unsigned char *buf, size_t len, int64_t now,
                    const load_rec *rec, rdb_problem *pb, uint64_t *keys, uint64_t *expired,
                    size_t *end) {
    rd r = {.p = buf, .len = len, .pos = rec->off + 1, .pb = pb};
    int type = buf[rec->off];
    rstr key;
    if (rd_string(&r, &key) < 0) return RD_ERR;
    rdb_value v;
    int rc = decode_value(&r, type, &v);
    if (rc == RD_ERR) {
        rdb_value_free(&v);
        rstr_free(&key);
        return RD_ERR;
    }
    *end = r.pos;
    if (rc == RD_EMPTY || (rec->expire >= 0 && rec->expire < now)) {
        if (rc != RD_EMPTY) (*expired)++;
        rdb_value_free(&v);
    } else if (!db) {
        rdb_value_free(&v);
        (*keys)++;
    } else {
        ks_key k = {rec->dbid, key.p, key.len};
        ks_txn txn;
        ks_txn_begin(&txn, db, &k, 1);
        if (ks_lookup(&txn, rec->dbid, key.p, key.len, KS_LOOKUP_NOTOUCH | KS_LOOKUP_NOEXPIRE)) {
            ks_txn_commit(&txn);
            rdb_value_free(&v);
            rstr_free(&key);
            return rd_fail_at(&r, rec->off, "duplicated key in database %u", rec->dbid);
        }
        ks_entry *e = rdb_value_install(&txn, rec->dbid, key.p, key.len, &v,
                                        rec->expire >= 0 ? rec->expire : KS_EXPIRE_NONE);
        if (rec->idle >= 0 || rec->freq >= 0)
            ks_entry_restore_access(e, txn.now_ms, rec->idle, rec->freq);
        ks_txn_commit(&txn);
        (*keys)++;
    }
    rstr_free(&key);
    return RD_OK;
}

static void *load_worker(void *arg) {
    loader *ld = arg;
    for (;;) {
        pthread_mutex_lock(&ld->mu);
        while (ld->qn == 0 && !ld->done && !ld->stop) pthread_cond_wait(&ld->can_get, &ld->mu);
        if (ld->qn == 0 || ld->stop) {
            pthread_mutex_unlock(&ld->mu);
            return NULL;
        }
        load_batch *b = ld->q[ld->qhead];
        ld->qhead = (ld->qhead + 1) % LOAD_QUEUE;
        ld->qn--;
        pthread_cond_signal(&ld->can_put);
        pthread_mutex_unlock(&ld->mu);
        uint64_t keys = 0, expired = 0;
        rdb_problem pb;
        for (size_t i = 0; i < b->n; i++) {
            size_t end;
            if (load_one(ld->db, ld->buf, ld->len, ld->now, &b->r[i], &pb, &keys, &expired,
                         &end) < 0) {
                pthread_mutex_lock(&ld->mu);
                if (!ld->failed) {
                    ld->failed = 1;
                    ld->pb = pb;
                }
                ld->stop = 1;
                pthread_cond_broadcast(&ld->can_put);
                pthread_cond_broadcast(&ld->can_get);
                pthread_mutex_unlock(&ld->mu);
                break;
            }
        }
        __atomic_add_fetch(&ld->keys, keys, __ATOMIC_RELAXED);
        __atomic_add_fetch(&ld->expired, expired, __ATOMIC_RELAXED);
        free(b);
    }
}

/* Queues the batch being filled. -1 when a worker failed (stop). */
static int loader_flush(loader *ld) {
    load_batch *b = ld->cur;
    ld->cur = NULL;
    if (!b || b->n == 0) {
        free(b);
        return ld->stop ? -1 : 0;
    }
    pthread_mutex_lock(&ld->mu);
    while (ld->qn == LOAD_QUEUE && !ld->stop) pthread_cond_wait(&ld->can_put, &ld->mu);
    if (ld->stop) {
        pthread_mutex_unlock(&ld->mu);
        free(b);
        return -1;
    }
    ld->q[(ld->qhead + ld->qn) % LOAD_QUEUE] = b;
    ld->qn++;
    pthread_cond_signal(&ld->can_get);
    pthread_mutex_unlock(&ld->mu);
    return 0;
}

static int loader_add(loader *ld, const load_rec *rec) {
    if (!ld->cur) {
        ld->cur = lt_xmalloc(sizeof(load_batch));
        ld->cur->n = 0;
    }
    ld->cur->r[ld->cur->n++] = *rec;
    if (ld->cur->n == LOAD_BATCH) return loader_flush(ld);
    return 0;
}

/* One pass over a file image: db NULL verifies only. */
static int rdb_scan(lt_db *db, const unsigned char *buf, size_t len, const rdb_load_opts *o,
                    rdb_load_info *info, rdb_problem *pb, loader *ld) {
    memset(info, 0, sizeof(*info));
    rd r = {.p = buf, .len = len, .pos = 0, .pb = pb};
    if (len < 9 || memcmp(buf, "REDIS", 5) != 0) return rd_fail_at(&r, 0, "wrong signature trying to load DB from file"), LT_INVAL;
    int ver = 0;
    for (int i = 5; i < 9; i++) {
        if (buf[i] < '0' || buf[i] > '9') return rd_fail_at(&r, 5, "malformed RDB version"), LT_INVAL;
        ver = ver * 10 + (buf[i] - '0');
    }
    if (ver < 1 || ver > RDB_VERSION)
        return rd_fail_at(&r, 5, "can't handle RDB format version %d", ver), LT_INVAL;
    info->version = ver;
    r.pos = 9;
    int64_t now = o->now_ms ? o->now_ms : lt_mstime();
    int64_t expire = -1;
    int64_t idle = -1;
    int freq = -1;
    unsigned dbid = 0;
    unsigned ndb = o->databases ? o->databases : 16;
    for (;;) {
        unsigned op;
        size_t at = r.pos;
        if (rd_u8(&r, &op) < 0) return LT_INVAL;
        if (op == RDB_OPCODE_EOF) break;
        switch (op) {
        case RDB_OPCODE_EXPIRETIME:
            if (rd_need(&r, 4) < 0) return LT_INVAL;
            expire = (int64_t)(int32_t)get_le(r.p + r.pos, 4) * 1000;
            r.pos += 4;
            continue;
        case RDB_OPCODE_EXPIRETIME_MS:
            if (rd_need(&r, 8) < 0) return LT_INVAL;
            expire = (int64_t)get_le(r.p + r.pos, 8);
            r.pos += 8;
            continue;
        case RDB_OPCODE_FREQ: {
            unsigned f;
            if (rd_u8(&r, &f) < 0) return LT_INVAL;
            freq = (int)f;
            continue;
        }
        case RDB_OPCODE_IDLE: {
            uint64_t v;
            if (rd_len(&r, &v, NULL) < 0) return LT_INVAL;
            idle = v > INT64_MAX ? INT64_MAX : (int64_t)v;
            continue;
        }
        case RDB_OPCODE_SELECTDB: {
            uint64_t v;
            if (rd_len(&r, &v, NULL) < 0) return LT_INVAL;
            if (v >= ndb)
                return rd_fail_at(&r, at, "the file selects database %llu, this server has %u "
                                  "databases", (unsigned long long)v, ndb), LT_INVAL;
            dbid = (unsigned)v;
            continue;
        }
        case RDB_OPCODE_RESIZEDB: {
            uint64_t a, b;
            if (rd_len(&r, &a, NULL) < 0 || rd_len(&r, &b, NULL) < 0) return LT_INVAL;
            continue;
        }
        case RDB_OPCODE_AUX: {
            rstr k, v;
            if (rd_string(&r, &k) < 0) return LT_INVAL;
            if (rd_string(&r, &v) < 0) {
                rstr_free(&k);
                return LT_INVAL;
            }
            info->aux++;
            if (db && o->on_aux) o->on_aux(o->ctx, k.p, k.len, v.p, v.len);
            rstr_free(&k);
            rstr_free(&v);
            continue;
        }
        case RDB_OPCODE_MODULE_AUX:
            return rd_fail_at(&r, at, "module auxiliary data (module data is not supported)"),
                   LT_INVAL;
        case RDB_OPCODE_FUNCTION_PRE_GA:
            return rd_fail_at(&r, at, "pre-release function format not supported"), LT_INVAL;
        case RDB_OPCODE_FUNCTION2: {
            rstr code;
            if (rd_string(&r, &code) < 0) return LT_INVAL;
            int rc = 0;
            if (db && o->on_function) rc = o->on_function(o->ctx, code.p, code.len);
            rstr_free(&code);
            if (rc < 0) return rd_fail_at(&r, at, "function library refused"), LT_INVAL;
            info->functions++;
            continue;
        }
        default:
            break;
        }
        if (!is_value_type(op)) return rd_fail_at(&r, at, "unknown RDB opcode or type %u", op), LT_INVAL;
        load_rec rec = {.off = at, .expire = expire, .idle = idle, .dbid = dbid, .freq = freq};
        expire = -1;
        idle = -1;
        freq = -1;
        if (ld) {
            /* Parallel: step over the record, a worker decodes it. */
            int sk = rd_skip_string(&r);
            if (sk == RD_OK) sk = skip_value(&r, (int)op);
            if (sk == RD_ERR) return LT_INVAL;
            if (sk == RD_OK) {
                if (loader_add(ld, &rec) < 0) return LT_INVAL;
                if (o->progress && ++info->keys % RDB_PROGRESS_KEYS == 0)
                    o->progress(o->ctx, info->keys, r.pos);
                continue;
            }
            /* Not skimmable (a stream): decoded here. */
            uint64_t k = 0, x = 0;
            size_t end;
            if (load_one(db, buf, len, now, &rec, pb, &k, &x, &end) < 0) return LT_INVAL;
            __atomic_add_fetch(&ld->keys, k, __ATOMIC_RELAXED);
            __atomic_add_fetch(&ld->expired, x, __ATOMIC_RELAXED);
            r.pos = end;
            continue;
        }
        size_t end;
        if (load_one(db, buf, len, now, &rec, pb, &info->keys, &info->expired, &end) < 0)
            return LT_INVAL;
        r.pos = end;
        if (o->progress && (info->keys + info->expired) % RDB_PROGRESS_KEYS == 0)
            o->progress(o->ctx, info->keys, r.pos);
    }
    if (ver >= 5) {
        size_t at = r.pos;
        if (rd_need(&r, 8) < 0) return LT_INVAL;
        uint64_t want = get_le(r.p + r.pos, 8);
        if (want != 0) {
            if (crc64_jones(0, buf, at) != want)
                return rd_fail_at(&r, at, "wrong RDB checksum"), LT_INVAL;
            info->checksum_checked = 1;
        }
    }
    return LT_OK;
}

int rdb_verify_buf(const void *buf, size_t len, const rdb_load_opts *o, rdb_load_info *info,
                   rdb_problem *pb) {
    return rdb_scan(NULL, buf, len, o, info, pb, NULL);
}

static int load_parallel(lt_db *db, const unsigned char *b, size_t len, const rdb_load_opts *o,
                         rdb_load_info *info, rdb_problem *pb, int nthreads) {
    loader ld = {.db = db, .buf = b, .len = len, .now = o->now_ms ? o->now_ms : lt_mstime()};
    pthread_mutex_init(&ld.mu, NULL);
    pthread_cond_init(&ld.can_put, NULL);
    pthread_cond_init(&ld.can_get, NULL);
    pthread_t th[LOAD_MAX_THREADS];
    int started = 0;
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, load_worker, &ld) == 0) started++;
    rdb_load_opts o2 = *o;
    o2.now_ms = ld.now;
    int rc = started ? rdb_scan(db, b, len, &o2, info, pb, &ld) : LT_INVAL;
    if (rc == LT_OK && loader_flush(&ld) < 0) rc = LT_INVAL;
    free(ld.cur);
    pthread_mutex_lock(&ld.mu);
    ld.done = 1;
    if (rc != LT_OK) ld.stop = 1;
    pthread_cond_broadcast(&ld.can_get);
    pthread_cond_broadcast(&ld.can_put);
    pthread_mutex_unlock(&ld.mu);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < ld.qn; i++) free(ld.q[(ld.qhead + i) % LOAD_QUEUE]);
    if (!started) {
        pb->offset = 0;
        snprintf(pb->why, sizeof(pb->why), "cannot start loader threads");
    }
    if (ld.failed) {
        *pb = ld.pb;
        rc = LT_INVAL;
    }
    info->keys = ld.keys;
    info->expired = ld.expired;
    pthread_mutex_destroy(&ld.mu);
    pthread_cond_destroy(&ld.can_put);
    pthread_cond_destroy(&ld.can_get);
    return rc;
}

int rdb_load_buf(lt_db *db, const void *buf, size_t len, const rdb_load_opts *o,
                 rdb_load_info *info, rdb_problem *pb) {
    /* Fast path: a file ending in its CRC (no trailing bytes) proves it is
     * intact with one checksum pass; otherwise verify everything first. */
    const unsigned char *b = buf;
    int intact = len >= 18 && b[len - 9] == RDB_OPCODE_EOF && get_le(b + len - 8, 8) != 0 &&
                 memcmp(b, "REDIS", 5) == 0 && crc64_jones(0, b, len - 8) == get_le(b + len - 8, 8);
    if (!intact) {
        int rc = rdb_scan(NULL, b, len, o, info, pb, NULL);
        if (rc != LT_OK) return rc;
    }
    int nthreads = o->threads > LOAD_MAX_THREADS ? LOAD_MAX_THREADS : o->threads;
    if (nthreads > 1) return load_parallel(db, b, len, o, info, pb, nthreads);
    return rdb_scan(db, b, len, o, info, pb, NULL);
}

int rdb_load_file(lt_db *db, const char *path, const rdb_load_opts *o, rdb_load_info *info,
                  rdb_problem *pb, int *sys_errno) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *sys_errno = errno;
        return LT_IOERR;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *sys_errno = errno;
        close(fd);
        return LT_IOERR;
    }
    size_t len = (size_t)st.st_size;
    if (len == 0) {
        close(fd);
        memset(info, 0, sizeof(*info));
        pb->offset = 0;
        snprintf(pb->why, sizeof(pb->why), "empty file");
        return LT_INVAL;
    }
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED) {
        *sys_errno = err;
        return LT_IOERR;
    }
    madvise(m, len, MADV_SEQUENTIAL);
    int rc = rdb_load_buf(db, m, len, o, info, pb);
    munmap(m, len);
    return rc;
}

/* ---- Whole files: writing -------------------------------------------------------------- */

typedef struct wctx {
    rdb_buf buf;
    uint64_t crc;
    uint64_t keys;
    int failed;   /* a value had no codec */
    int io_failed;
    const rdb_write_opts *o;
} wctx;

static void w_flush(wctx *w) {
    if (w->buf.len == 0 || w->io_failed) {
        w->buf.len = 0;
        return;
    }
    w->crc = crc64_jones(w->crc, w->buf.p, w->buf.len);
    if (w->o->emit(w->o->ctx, w->buf.p, w->buf.len) != 0) w->io_failed = 1;
    w->buf.len = 0;
}

static void w_entry(void *ctx, const ks_entry *e) {
    wctx *w = ctx;
    size_t at = w->buf.len;
    int64_t exp = ks_entry_expire_ms(e);
    if (exp >= 0) {
        unsigned char h[9];
        h[0] = RDB_OPCODE_EXPIRETIME_MS;
        put_le(h + 1, (uint64_t)exp, 8);
        rdb_buf_append(&w->buf, h, 9);
    }
    /* Type byte (known once the value is encoded), key, value. */
    size_t type_at = w->buf.len;
    buf_u8(&w->buf, 0);
    size_t klen;
    const char *k = ks_entry_key(e, &klen);
    rdb_put_string(&w->buf, k, klen);
    int t = encode_value_body(&w->buf, e);
    if (t < 0) {
        w->buf.len = at;
        w->failed = 1;
        return;
    }
    w->buf.p[type_at] = (unsigned char)t;
    w->keys++;
}

int rdb_write_view(lt_db *db, ks_view *v, const rdb_write_opts *o, uint64_t *keys) {
    wctx w = {.o = o};
    char hdr[16];
    snprintf(hdr, sizeof(hdr), "REDIS%04d", RDB_VERSION);
    rdb_buf_append(&w.buf, hdr, 9);
    for (size_t i = 0; i < o->naux; i++) {
        buf_u8(&w.buf, RDB_OPCODE_AUX);
        rdb_put_string(&w.buf, o->aux[i].key, strlen(o->aux[i].key));
        rdb_put_string(&w.buf, o->aux[i].val, strlen(o->aux[i].val));
    }
    for (size_t i = 0; i < o->nfunctions; i++) {
        buf_u8(&w.buf, RDB_OPCODE_FUNCTION2);
        rdb_put_string(&w.buf, o->functions[i], o->function_lens[i]);
    }
    unsigned ndb = ks_databases(db);
    for (unsigned d = 0; d < ndb && !w.failed && !w.io_failed; d++) {
        uint64_t before = w.keys;
        size_t mark = w.buf.len;
        buf_u8(&w.buf, RDB_OPCODE_SELECTDB);
        rdb_put_len(&w.buf, d);
        buf_u8(&w.buf, RDB_OPCODE_RESIZEDB);
        rdb_put_len(&w.buf, ks_db_size(db, d));
        rdb_put_len(&w.buf, ks_db_expires(db, d));
        size_t header_end = w.buf.len;
        int flushed_any = 0;
        ks_view_iter it;
        ks_view_iter_init(&it, v, d);
        int more = 1;
        while (more && !w.failed && !w.io_failed) {
            more = ks_view_iter_next(&it, RDB_WRITE_BUDGET, w_entry, &w);
            if (w.buf.len >= RDB_WRITE_FLUSH && w.keys > before) {
                w_flush(&w);
                flushed_any = 1;
            }
        }
        ks_view_iter_close(&it);
        /* No key in this database: drop its SELECTDB / RESIZEDB. */
        if (w.keys == before && !flushed_any && w.buf.len == header_end) w.buf.len = mark;
    }
    if (w.failed || w.io_failed) {
        free(w.buf.p);
        return w.failed ? LT_INVAL : LT_IOERR;
    }
    buf_u8(&w.buf, RDB_OPCODE_EOF);
    w_flush(&w);
    unsigned char c[8];
    put_le(c, w.crc, 8);
    if (!w.io_failed && o->emit(o->ctx, c, 8) != 0) w.io_failed = 1;
    free(w.buf.p);
    if (keys) *keys = w.keys;
    return w.io_failed ? LT_IOERR : LT_OK;
}
