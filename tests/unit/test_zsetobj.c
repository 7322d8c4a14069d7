/* Unit tests of the sorted-set object (src/engine/zsetobj.c): listpack to
 * skiplist conversion at Redis's limits, ZADD semantics, ranks and ranges in
 * both encodings, the member hash through growth/shrink and scan, and the
 * snapshot encoding: round trips and rejection of corrupt input. */
#include "../testlib.h"

#include <math.h>
#include <stdlib.h>

#include "engine/objlimits.h"
#include "engine/zsetobj.h"

static int add(zset *z, double score, const char *m) {
    int out;
    zset_add(z, score, m, strlen(m), 0, &out, NULL);
    return out;
}

typedef struct outbuf {
    unsigned char *p;
    size_t len, cap;
} outbuf;

static int emit(void *ctx, const void *p, size_t n) {
    outbuf *b = ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* Same members, scores and order. */
static int same(const zset *a, const zset *b) {
    if (zset_len(a) != zset_len(b)) return 0;
    zset_iter ia, ib;
    if (!zset_iter_seek(&ia, a, 0)) return zset_len(b) == 0;
    zset_iter_seek(&ib, b, 0);
    do {
        const char *ma, *mb;
        size_t la, lb;
        double sa, sb;
        zset_iter_get(&ia, &ma, &la, &sa);
        zset_iter_get(&ib, &mb, &lb, &sb);
        if (la != lb || memcmp(ma, mb, la) || sa != sb) return 0;
        zset_iter_next(&ib);
    } while (zset_iter_next(&ia));
    return 1;
}

static void roundtrip(const zset *z) {
    outbuf b = {0};
    CHECK_EQ_INT(zset_encode(z, emit, &b), 0);
    zset *d = zset_decode(b.p, b.len);
    REQUIRE(d);
    CHECK(same(z, d));
    /* decode chooses by content (members here are short) */
    CHECK_EQ_INT(zset_encoding(d), zset_len(z) <= 128 ? ZSET_ENC_LISTPACK : ZSET_ENC_SKIPLIST);
    zset_free(d);
    free(b.p);
}

static void roundtrip_enc(const zset *z, int enc) {
    outbuf b = {0};
    CHECK_EQ_INT(zset_encode(z, emit, &b), 0);
    zset *d = zset_decode(b.p, b.len);
    REQUIRE(d);
    CHECK(same(z, d));
    CHECK_EQ_INT(zset_encoding(d), enc);
    zset_free(d);
    free(b.p);
}

TEST(conversion_limits) {
    zset *z = zset_create();
    char buf[32];
    for (int i = 0; i < 128; i++) {
        snprintf(buf, sizeof buf, "%d", i * 1000); /* integer members */
        CHECK_EQ_INT(add(z, i, buf), ZADD_OUT_ADDED);
    }
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK);
    roundtrip(z);
    add(z, 0.5, "x");
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_SKIPLIST);
    CHECK_EQ_INT(zset_len(z), 129);
    roundtrip(z);
    zset_free(z);

    z = zset_create();
    char big[66];
    memset(big, 'a', 65);
    big[64] = '\0';
    add(z, 1, big); /* 64 bytes: still listpack */
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK);
    big[64] = 'a';
    big[65] = '\0';
    add(z, 1, big);
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_SKIPLIST);
    zset_del(z, big, 65);
    zset_shrink_if_small(z);
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK);
    CHECK_EQ_INT(zset_len(z), 1);
    zset_free(z);
}

/* Raised limits: members past the one-byte header and entries past the
 * one-byte back-length stay in the listpack, read forwards and backwards,
 * survive an update of their score, and decode back to a listpack; lowered
 * limits convert on the next add and pick the skiplist at decode. */
TEST(runtime_limits) {
    objlimits saved, l;
    objlimits_get(&saved);
    l = saved;
    l.zset_max_listpack_entries = 1000;
    l.zset_max_listpack_value = 100000;
    objlimits_set(&l);
    zset *z = zset_create();
    static char m[70000];
    size_t lens[] = {0, 1, 239, 240, 241, 300, 20000, 70000};
    int n = (int)(sizeof(lens) / sizeof(lens[0]));
    int out;
    for (int i = 0; i < n; i++) {
        memset(m, 'a' + i, lens[i]);
        CHECK(zset_add(z, i, m, lens[i], 0, &out, NULL) && out == ZADD_OUT_ADDED);
    }
    for (int i = 0; i < 600; i++) {
        char b[16];
        snprintf(b, sizeof b, "%d", -i);
        add(z, 100 + i, b);
    }
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK);
    /* backwards from the last rank reaches every entry with the right size */
    zset_iter it;
    REQUIRE(zset_iter_seek(&it, z, zset_len(z) - 1));
    size_t seen = 1;
    while (zset_iter_prev(&it)) seen++;
    CHECK_EQ_INT(seen, zset_len(z));
    for (int i = 0; i < n; i++) {
        const char *em;
        size_t elen;
        double sc;
        REQUIRE(zset_iter_seek(&it, z, (uint64_t)i));
        zset_iter_get(&it, &em, &elen, &sc);
        CHECK_EQ_INT(elen, lens[i]);
        CHECK(sc == i);
    }
    memset(m, 'a' + 7, 70000);
    CHECK(zset_add(z, 5000, m, 70000, 0, &out, NULL) && out == ZADD_OUT_UPDATED);
    double sc;
    CHECK(zset_score(z, m, 70000, &sc) && sc == 5000);
    roundtrip_enc(z, ZSET_ENC_LISTPACK);
    l.zset_max_listpack_value = 64;
    objlimits_set(&l);
    roundtrip_enc(z, ZSET_ENC_SKIPLIST);
    add(z, -1, "short");
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK); /* only a long add converts */
    CHECK(zset_add(z, -2, m, 70000, 0, &out, NULL) && out == ZADD_OUT_UPDATED);
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_LISTPACK); /* already present: an update */
    memset(m, 'z', 65);
    CHECK(zset_add(z, -3, m, 65, 0, &out, NULL) && out == ZADD_OUT_ADDED);
    CHECK_EQ_INT(zset_encoding(z), ZSET_ENC_SKIPLIST);
    zset_free(z);
    objlimits_set(&saved);
}

TEST(add_semantics_both_encodings) {
    for (int enc = 0; enc < 2; enc++) {
        zset *z = enc ? zset_create_skiplist(0) : zset_create();
        int out;
        double ns;
        CHECK(zset_add(z, 1, "a", 1, 0, &out, &ns) && out == ZADD_OUT_ADDED);
        CHECK(zset_add(z, 5, "a", 1, ZADD_IN_NX, &out, &ns) && out == ZADD_OUT_NOP);
        CHECK(zset_add(z, 5, "b", 1, ZADD_IN_XX, &out, &ns) && out == ZADD_OUT_NOP);
        CHECK(zset_add(z, 0, "a", 1, ZADD_IN_GT, &out, &ns) && out == ZADD_OUT_NOP);
        CHECK(zset_add(z, 2, "a", 1, ZADD_IN_INCR, &out, &ns) && out == ZADD_OUT_UPDATED);
        CHECK(ns == 3);
        CHECK(!zset_add(z, NAN, "a", 1, 0, &out, &ns) && out == ZADD_OUT_NAN);
        CHECK(zset_add(z, INFINITY, "a", 1, 0, &out, &ns));
        CHECK(!zset_add(z, -INFINITY, "a", 1, ZADD_IN_INCR, &out, &ns) && out == ZADD_OUT_NAN);
        add(z, 2, "b");
        add(z, 2, "c");
        uint64_t r;
        double sc;
        CHECK(zset_rank(z, "a", 1, 0, &r, &sc) && r == 2 && isinf(sc));
        CHECK(zset_rank(z, "b", 1, 1, &r, &sc) && r == 2);
        CHECK(!zset_rank(z, "zz", 2, 0, &r, &sc));
        zset_delete_range(z, 0, 1);
        CHECK_EQ_INT(zset_len(z), 1);
        CHECK(zset_score(z, "a", 1, &sc) && isinf(sc));
        CHECK(zset_del(z, "a", 1) && zset_len(z) == 0);
        zset_free(z);
    }
}

typedef struct scan_seen {
    int *seen;
} scan_seen;
static void on_scan(void *ctx, const char *m, size_t len, double score) {
    scan_seen *s = ctx;
    s->seen[(int)score]++;
}

TEST(skiplist_hash_growth_shrink_scan) {
    zset *z = zset_create();
    char buf[32];
    int n = 20000;
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "m%d", i);
        add(z, i, buf);
    }
    /* scan while deleting half: every member present throughout is seen */
    int *seen = calloc((size_t)n, sizeof(int));
    scan_seen s = {seen};
    uint64_t cur = 0;
    int del = 0;
    do {
        cur = zset_scan(z, cur, on_scan, &s);
        if (del < n / 2) {
            snprintf(buf, sizeof buf, "m%d", del * 2 + 1);
            zset_del(z, buf, strlen(buf));
            del++;
        }
    } while (cur);
    for (int i = 0; i < n; i += 2) CHECK(seen[i] >= 1);
    /* shrink the hash through deletions, then check lookups still work */
    for (int i = 0; i < n; i += 2) {
        if (i % 1000 == 0) continue;
        snprintf(buf, sizeof buf, "m%d", i);
        CHECK(zset_del(z, buf, strlen(buf)));
    }
    CHECK_EQ_INT(zset_len(z), (n - n / 2) - (n / 2 - 20) + (n / 2 - del));
    double sc;
    CHECK(zset_score(z, "m1000", 5, &sc) && sc == 1000);
    roundtrip(z);
    zset *d = zset_dup(z);
    CHECK(same(z, d));
    zset_free(d);
    free(seen);
    zset_free(z);
}

TEST(decode_rejects_corrupt_input) {
    zset *z = zset_create();
    add(z, 1, "a");
    add(z, 2, "b");
    add(z, 3, "-17");
    outbuf b = {0};
    REQUIRE(zset_encode(z, emit, &b) == 0);
    /* every truncation fails, the full buffer succeeds */
    for (size_t i = 0; i < b.len; i++) CHECK(zset_decode(b.p, i) == NULL);
    zset *ok = zset_decode(b.p, b.len);
    CHECK(ok && same(z, ok));
    zset_free(ok);
    unsigned char *c = malloc(b.len + 1);
    /* trailing byte */
    memcpy(c, b.p, b.len);
    c[b.len] = 0;
    CHECK(zset_decode(c, b.len + 1) == NULL);
    /* bad version, zero and huge counts */
    memcpy(c, b.p, b.len);
    c[0] = 9;
    CHECK(zset_decode(c, b.len) == NULL);
    memcpy(c, b.p, b.len);
    memset(c + 1, 0, 8);
    CHECK(zset_decode(c, b.len) == NULL);
    memset(c + 1, 0xff, 8);
    CHECK(zset_decode(c, b.len) == NULL);
    /* out of order: swap the scores of the first two entries (a=1, b=2) */
    memcpy(c, b.p, b.len);
    double two = 2, one = 1;
    memcpy(c + 9 + 4 + 1, &two, 8);
    memcpy(c + 9 + 13 + 4 + 1, &one, 8);
    CHECK(zset_decode(c, b.len) == NULL);
    /* NaN score */
    memcpy(c, b.p, b.len);
    double nan = NAN;
    memcpy(c + 9 + 4 + 1, &nan, 8);
    CHECK(zset_decode(c, b.len) == NULL);
    /* the same member twice with different scores */
    memcpy(c, b.p, b.len);
    c[9 + 13 + 4] = 'a';
    CHECK(zset_decode(c, b.len) == NULL);
    /* random byte flips never crash (and mostly fail) */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        memcpy(c, b.p, b.len);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c[x % b.len] ^= (unsigned char)(1 + (x >> 32) % 255);
        zset_free(zset_decode(c, b.len));
    }
    free(c);
    free(b.p);
    zset_free(z);
}

int main(void) {
    RUN(conversion_limits);
    RUN(runtime_limits);
    RUN(add_semantics_both_encodings);
    RUN(skiplist_hash_growth_shrink_scan);
    RUN(decode_rejects_corrupt_input);
    return testlib_finish();
}
