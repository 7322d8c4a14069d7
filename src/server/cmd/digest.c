/*
 * digest: Redis's DEBUG DIGEST algorithm over Lightning's values (see
 * digest.h for the algorithm and its guarantees).
 */
#include "server/cmd/digest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/zsetobj.h"

static void xor_digest(unsigned char *d, const void *p, size_t len) {
    unsigned char h[LT_SHA1_LEN];
    lt_sha1(p, len, h);
    for (int i = 0; i < LT_SHA1_LEN; i++) d[i] ^= h[i];
}

static void mix_digest(unsigned char *d, const void *p, size_t len) {
    xor_digest(d, p, len);
    lt_sha1(d, LT_SHA1_LEN, d);
}

static void mix_u32(unsigned char *d, uint32_t v) {
    unsigned char be[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v};
    mix_digest(d, be, sizeof be);
}

static void mix_ll(unsigned char *d, long long v) {
    char buf[LT_LLSTR_SIZE];
    mix_digest(d, buf, lt_ll2string(buf, sizeof buf, v));
}

/* Redis's hashTypeCurrentObjectNewSds / the string it hashes. */
static void mix_hash_str(unsigned char *d, const hashobj_str *s) {
    if (s->ptr) mix_digest(d, s->ptr, s->len);
    else mix_ll(d, s->ll);
}

static void value_into(const ks_entry *e, unsigned char *d) {
    int type = ks_entry_type(e);
    mix_u32(d, (uint32_t)type);
    switch (type) {
    case KS_TYPE_STRING: {
        char buf[LT_LLSTR_SIZE];
        size_t len;
        const char *p = ks_entry_str(e, buf, &len);
        mix_digest(d, p, len);
        break;
    }
    case KS_TYPE_LIST: {
        listobj *l = ks_entry_obj(e);
        list_iter it;
        list_value v;
        listobj_iter_init(&it, l, 0, 1);
        while (listobj_iter_get(&it, &v)) {
            if (v.str) mix_digest(d, v.str, v.len);
            else mix_ll(d, v.ll);
            listobj_iter_next(&it);
        }
        break;
    }
    case KS_TYPE_SET: {
        setobj_iter it;
        setobj_elem m;
        setobj_iter_init(&it, ks_entry_obj(e));
        while (setobj_iter_next(&it, &m)) xor_digest(d, m.ptr, m.len);
        break;
    }
    case KS_TYPE_HASH: {
        hashobj_iter it;
        hashobj_str f, v;
        hashobj_iter_init(&it, ks_entry_obj(e));
        while (hashobj_iter_next(&it, &f, &v)) {
            unsigned char ed[LT_SHA1_LEN] = {0};
            mix_hash_str(ed, &f);
            mix_hash_str(ed, &v);
            xor_digest(d, ed, LT_SHA1_LEN);
        }
        break;
    }
    case KS_TYPE_ZSET: {
        const zset *z = ks_entry_obj(e);
        zset_iter it;
        if (!zset_iter_seek(&it, z, 0)) break;
        do {
            const char *m;
            size_t len;
            double score;
            char buf[128];
            zset_iter_get(&it, &m, &len, &score);
            unsigned char ed[LT_SHA1_LEN] = {0};
            mix_digest(ed, m, len);
            int n = snprintf(buf, sizeof buf, "%.17g", score);
            mix_digest(ed, buf, (size_t)n);
            xor_digest(d, ed, LT_SHA1_LEN);
        } while (zset_iter_next(&it));
        break;
    }
    default:
        break; /* streams: not yet a Lightning type */
    }
    if (ks_entry_expire_ms(e) != -1) xor_digest(d, "!!expire!!", 10);
}

void digest_value(const ks_entry *e, unsigned char out[LT_SHA1_LEN]) {
    memset(out, 0, LT_SHA1_LEN);
    value_into(e, out);
}

typedef struct dataset_ctx {
    unsigned char *final;
} dataset_ctx;

static void on_key(void *ctx, const ks_entry *e) {
    dataset_ctx *c = ctx;
    unsigned char d[LT_SHA1_LEN] = {0};
    size_t klen;
    const char *k = ks_entry_key(e, &klen);
    mix_digest(d, k, klen);
    value_into(e, d);
    xor_digest(c->final, d, LT_SHA1_LEN);
}

void digest_dataset(struct lt_db *db, unsigned char out[LT_SHA1_LEN]) {
    memset(out, 0, LT_SHA1_LEN);
    dataset_ctx c = {.final = out};
    for (unsigned j = 0; j < ks_databases(db); j++) {
        if (ks_db_size(db, j) == 0) continue;
        mix_u32(out, j);
        /* One call covers the database: each shard is scanned whole under
         * its lock, so no key is seen twice (XOR would cancel it). The
         * count is a work bound, far above any database. */
        uint64_t cursor = 0;
        do cursor = ks_scan(db, j, cursor, SIZE_MAX / 16, on_key, &c);
        while (cursor != 0);
    }
}

void digest_hex(const unsigned char d[LT_SHA1_LEN], char out[2 * LT_SHA1_LEN + 1]) {
    for (int i = 0; i < LT_SHA1_LEN; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}
