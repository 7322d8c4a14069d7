/*
 * Unit tests of engine/hashobj.c: both encodings and the conversion
 * between them, the hashtable's resizes under inserts and deletes, the
 * HSCAN cursor guarantee across resizes, the random samplers, deep copies
 * (MVCC), and the snapshot encoding: round trips in both encodings and
 * rejection of every truncation, flipped bytes and duplicate fields.
 */
#include "../testlib.h"

#include <stdlib.h>

#include "common/util.h"
#include "engine/hashobj.h"
#include "engine/objlimits.h"

/* The built-in limits (objlimits.h defaults) these tests run under. */
#define HASHOBJ_PACK_MAX_ENTRIES 512
#define HASHOBJ_PACK_MAX_VALUE 64

/* Text of s (integers formatted) in a rotating static buffer. */
static const char *str(const hashobj_str *s, size_t *len) {
    static char buf[8][LT_LLSTR_SIZE];
    static int slot;
    if (s->ptr) {
        *len = s->len;
        return s->ptr;
    }
    char *b = buf[slot++ % 8];
    *len = lt_ll2string(b, LT_LLSTR_SIZE, s->ll);
    return b;
}

/* 1 if field f holds exactly value v. */
static int has(const hashobj *h, const char *f, const char *v) {
    hashobj_str s;
    if (!hashobj_get(h, f, strlen(f), &s)) return 0;
    size_t len;
    const char *p = str(&s, &len);
    return len == strlen(v) && memcmp(p, v, len) == 0;
}

static int set(hashobj *h, const char *f, const char *v) {
    return hashobj_set(h, f, strlen(f), v, strlen(v));
}

static int del(hashobj *h, const char *f) { return hashobj_delete(h, f, strlen(f)); }

TEST(listpack_basics) {
    hashobj *h = hashobj_new();
    CHECK_EQ_STR(hashobj_encoding(h), "listpack");
    CHECK_EQ_INT(hashobj_len(h), 0);
    CHECK_EQ_INT(set(h, "a", "1"), 1);
    CHECK_EQ_INT(set(h, "b", "hello"), 1);
    CHECK_EQ_INT(set(h, "", ""), 1);
    CHECK_EQ_INT(set(h, "-9223372036854775808", "9223372036854775807"), 1);
    CHECK_EQ_INT(set(h, "01", "-0"), 1);
    CHECK_EQ_INT(set(h, "1", "300"), 1);
    CHECK_EQ_INT(set(h, "70000", "-70000"), 1);
    CHECK_EQ_INT(set(h, "a", "a much longer value than before"), 0);
    CHECK_EQ_INT(hashobj_len(h), 7);
    CHECK(has(h, "a", "a much longer value than before"));
    CHECK(has(h, "b", "hello"));
    CHECK(has(h, "", ""));
    CHECK(has(h, "-9223372036854775808", "9223372036854775807"));
    CHECK(has(h, "01", "-0"));
    CHECK(has(h, "1", "300"));
    CHECK(has(h, "70000", "-70000"));
    hashobj_str s;
    CHECK(!hashobj_get(h, "001", 3, &s));
    /* Integers are stored as integers. */
    CHECK(hashobj_get(h, "1", 1, &s) && s.ptr == NULL && s.ll == 300);
    CHECK(hashobj_get(h, "01", 2, &s) && s.ptr != NULL);
    /* Insertion order, updates in place, deletes close the gap. */
    CHECK_EQ_INT(del(h, "b"), 1);
    CHECK_EQ_INT(del(h, "b"), 0);
    const char *order[] = {"a", "", "-9223372036854775808", "01", "1", "70000"};
    hashobj_iter it;
    hashobj_str f, v;
    hashobj_iter_init(&it, h);
    int n = 0;
    while (hashobj_iter_next(&it, &f, &v)) {
        size_t len;
        const char *p = str(&f, &len);
        CHECK(n < 6 && len == strlen(order[n]) && memcmp(p, order[n], len) == 0);
        n++;
    }
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_STR(hashobj_encoding(h), "listpack");
    hashobj_free(h);
}

TEST(conversion_by_count_and_length) {
    hashobj *h = hashobj_new();
    char f[32], v[32];
    for (int i = 0; i < HASHOBJ_PACK_MAX_ENTRIES; i++) {
        snprintf(f, sizeof f, "field:%d", i);
        snprintf(v, sizeof v, "%d", i);
        CHECK_EQ_INT(set(h, f, v), 1);
    }
    CHECK_EQ_STR(hashobj_encoding(h), "listpack");
    CHECK_EQ_INT(set(h, "one more", "x"), 1);
    CHECK_EQ_STR(hashobj_encoding(h), "hashtable");
    CHECK_EQ_INT(hashobj_len(h), HASHOBJ_PACK_MAX_ENTRIES + 1);
    for (int i = 0; i < HASHOBJ_PACK_MAX_ENTRIES; i++) {
        snprintf(f, sizeof f, "field:%d", i);
        snprintf(v, sizeof v, "%d", i);
        CHECK(has(h, f, v));
    }
    CHECK(has(h, "one more", "x"));
    hashobj_free(h);

    char big[HASHOBJ_PACK_MAX_VALUE + 2];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    h = hashobj_new();
    big[HASHOBJ_PACK_MAX_VALUE] = '\0';
    set(h, "a", big);
    set(h, big, "b");
    CHECK_EQ_STR(hashobj_encoding(h), "listpack");
    big[HASHOBJ_PACK_MAX_VALUE] = 'v';
    CHECK_EQ_INT(set(h, "a", big), 0);
    CHECK_EQ_STR(hashobj_encoding(h), "hashtable");
    CHECK(has(h, "a", big));
    big[HASHOBJ_PACK_MAX_VALUE] = '\0';
    CHECK(has(h, big, "b"));
    hashobj_free(h);
}

/* Inserting and deleting many fields resizes the table up and down; every
 * remaining field stays reachable. */
TEST(hashtable_resize) {
    hashobj *h = hashobj_new();
    char f[32], v[32];
    const int N = 20000;
    for (int i = 0; i < N; i++) {
        snprintf(f, sizeof f, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        CHECK_EQ_INT(set(h, f, v), 1);
    }
    CHECK_EQ_INT(hashobj_len(h), N);
    for (int i = 0; i < N; i += 2) {
        snprintf(f, sizeof f, "k%d", i);
        CHECK_EQ_INT(del(h, f), 1);
    }
    for (int i = 0; i < N; i++) {
        snprintf(f, sizeof f, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        if (i % 2) CHECK(has(h, f, v));
        else CHECK(!has(h, f, v));
    }
    for (int i = 1; i < N - 10; i += 2) {
        snprintf(f, sizeof f, "k%d", i);
        CHECK_EQ_INT(del(h, f), 1);
    }
    CHECK_EQ_INT(hashobj_len(h), 5);
    hashobj_iter it;
    hashobj_str a, b;
    hashobj_iter_init(&it, h);
    int n = 0;
    while (hashobj_iter_next(&it, &a, &b)) n++;
    CHECK_EQ_INT(n, 5);
    CHECK(has(h, "k19999", "v19999"));
    CHECK(!has(h, "k19998", "v19998"));
    hashobj_free(h);
}

typedef struct seen_ctx {
    unsigned char *seen;
    int n;
} seen_ctx;

static void mark(void *ctx, const hashobj_str *f, const hashobj_str *v) {
    seen_ctx *s = ctx;
    size_t len;
    const char *p = str(f, &len);
    int idx;
    char tmp[32];
    if (len < sizeof tmp) {
        memcpy(tmp, p, len);
        tmp[len] = '\0';
        if (sscanf(tmp, "k%d", &idx) == 1 && idx >= 0 && idx < s->n) s->seen[idx]++;
    }
    (void)v;
}

/* Redis's SCAN guarantee: fields present for the whole iteration are
 * returned, while other fields are added (the table grows) or removed (it
 * shrinks) between steps. */
TEST(scan_guarantee_across_resizes) {
    for (int grow = 0; grow < 2; grow++) {
        hashobj *h = hashobj_new();
        char f[32];
        const int STABLE = 1000, EXTRA = 30000;
        for (int i = 0; i < STABLE; i++) {
            snprintf(f, sizeof f, "k%d", i);
            set(h, f, "x");
        }
        if (!grow)
            for (int i = 0; i < EXTRA; i++) {
                snprintf(f, sizeof f, "e%d", i);
                set(h, f, "y");
            }
        unsigned char *seen = calloc((size_t)STABLE, 1);
        seen_ctx ctx = {seen, STABLE};
        uint64_t cursor = 0;
        int steps = 0, extra = 0;
        do {
            cursor = hashobj_scan(h, cursor, mark, &ctx);
            /* Between steps: add (grow) or remove (shrink) a batch. */
            for (int j = 0; j < 200 && extra < EXTRA; j++, extra++) {
                snprintf(f, sizeof f, "e%d", extra);
                if (grow) set(h, f, "y");
                else del(h, f);
            }
            steps++;
        } while (cursor != 0 && steps < 10000000);
        for (int i = 0; i < STABLE; i++) CHECK(seen[i] > 0);
        CHECK_EQ_STR(hashobj_encoding(h), "hashtable");
        free(seen);
        hashobj_free(h);
    }
}

TEST(scan_listpack_returns_all) {
    hashobj *h = hashobj_new();
    set(h, "k0", "a");
    set(h, "k1", "b");
    unsigned char seen[2] = {0};
    seen_ctx ctx = {seen, 2};
    CHECK_EQ_INT(hashobj_scan(h, 12345, mark, &ctx), 0);
    CHECK(seen[0] == 1 && seen[1] == 1);
    hashobj_free(h);
}

static void count_pair(void *ctx, const hashobj_str *f, const hashobj_str *v) {
    mark(ctx, f, v);
}

TEST(random_sampling) {
    int sizes[] = {10, 300, 5000};
    for (int s = 0; s < 3; s++) {
        int n = sizes[s];
        hashobj *h = hashobj_new();
        char f[32];
        for (int i = 0; i < n; i++) {
            snprintf(f, sizeof f, "k%d", i);
            set(h, f, "v");
        }
        unsigned char *seen = calloc((size_t)n, 1);
        seen_ctx ctx = {seen, n};
        /* With repeats: every field comes up in 40 draws per field. */
        for (int i = 0; i < 40; i++) hashobj_random_pairs(h, (size_t)n, count_pair, &ctx);
        for (int i = 0; i < n; i++) CHECK(seen[i] > 0);
        /* Unique: distinct fields, exactly count of them, for a small and
         * a large share of the hash. */
        size_t counts[] = {1, (size_t)n / 10 + 1, (size_t)n / 2, (size_t)n - 1};
        for (int c = 0; c < 4; c++) {
            memset(seen, 0, (size_t)n);
            hashobj_random_unique(h, counts[c], count_pair, &ctx);
            size_t total = 0;
            for (int i = 0; i < n; i++) {
                CHECK(seen[i] <= 1);
                total += seen[i];
            }
            CHECK_EQ_INT(total, counts[c]);
        }
        free(seen);
        hashobj_free(h);
    }
}

/* ---- Snapshot encoding -------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static int emit(void *ctx, const void *p, size_t n) {
    buf *b = ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static buf encode(const hashobj *h) {
    buf b = {0};
    CHECK_EQ_INT(hash_type_ops.encode(h, emit, &b), 0);
    return b;
}

/* Same fields and values (in any order). */
static int same(const hashobj *a, const hashobj *b) {
    if (hashobj_len(a) != hashobj_len(b)) return 0;
    hashobj_iter it;
    hashobj_str f, v, w;
    hashobj_iter_init(&it, a);
    while (hashobj_iter_next(&it, &f, &v)) {
        size_t fl, vl, wl;
        const char *fp = str(&f, &fl), *vp = str(&v, &vl);
        char *fcopy = malloc(fl + 1); /* str()'s buffers rotate */
        memcpy(fcopy, fp, fl);
        int found = hashobj_get(b, fcopy, fl, &w);
        free(fcopy);
        if (!found) return 0;
        const char *wp = str(&w, &wl);
        if (wl != vl || memcmp(wp, vp, vl) != 0) return 0;
    }
    return 1;
}

static hashobj *make(int n, int longval) {
    hashobj *h = hashobj_new();
    char f[32], v[128];
    for (int i = 0; i < n; i++) {
        snprintf(f, sizeof f, i % 2 ? "f%d" : "%d", i);
        snprintf(v, sizeof v, i % 3 ? "val-%d" : "%d", i * 1000003);
        set(h, f, v);
    }
    if (longval) {
        memset(v, 'L', 100);
        v[100] = '\0';
        set(h, "long", v);
    }
    return h;
}

TEST(encode_decode_round_trip) {
    struct { int n, longval; const char *enc; } cases[] = {
        {0, 0, "listpack"}, {5, 0, "listpack"}, {HASHOBJ_PACK_MAX_ENTRIES, 0, "listpack"},
        {5, 1, "hashtable"}, {2000, 0, "hashtable"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hashobj *h = make(cases[c].n, cases[c].longval);
        buf b = encode(h);
        hashobj *d = hash_type_ops.decode(b.p, b.len);
        REQUIRE(d != NULL);
        CHECK(same(h, d) && same(d, h));
        CHECK_EQ_STR(hashobj_encoding(d), cases[c].enc);
        /* Deep copy too. */
        hashobj *cp = hash_type_ops.dup(h);
        CHECK(same(h, cp));
        set(cp, "only-in-copy", "1");
        CHECK(!has(h, "only-in-copy", "1"));
        CHECK(hash_type_ops.mem_usage(h) > 0);
        hashobj_free(cp);
        hashobj_free(d);
        hashobj_free(h);
        free(b.p);
    }
    /* A hashtable that shrank to a few fields decodes as a listpack. */
    hashobj *h = make(1000, 0);
    char f[32];
    for (int i = 3; i < 1000; i++) {
        snprintf(f, sizeof f, i % 2 ? "f%d" : "%d", i);
        CHECK_EQ_INT(del(h, f), 1);
    }
    CHECK_EQ_STR(hashobj_encoding(h), "hashtable");
    buf b = encode(h);
    hashobj *d = hash_type_ops.decode(b.p, b.len);
    REQUIRE(d);
    CHECK_EQ_STR(hashobj_encoding(d), "listpack");
    CHECK(same(h, d));
    hashobj_free(d);
    hashobj_free(h);
    free(b.p);
}

static void count_calls(void *ctx, const hashobj_str *f, const hashobj_str *v) {
    (void)f;
    (void)v;
    ++*(int *)ctx;
}

/* Raised limits keep long fields and values (1-byte and 4-byte length
 * tags) and more than 512 pairs in the listpack, sampled and decoded as a
 * listpack; lowered limits convert on the next set and at decode. */
TEST(runtime_limits) {
    objlimits saved, l;
    objlimits_get(&saved);
    l = saved;
    l.hash_max_listpack_entries = 2000;
    l.hash_max_listpack_value = 100000;
    objlimits_set(&l);
    hashobj *h = hashobj_new();
    static char big[70001];
    size_t lens[] = {0, 127, 128, 200, 70000};
    char f[32];
    for (int i = 0; i < 5; i++) {
        memset(big, 'a' + i, lens[i]);
        big[lens[i]] = '\0';
        snprintf(f, sizeof f, "long%d", i);
        CHECK_EQ_INT(set(h, f, big), 1);
        CHECK_EQ_INT(set(h, big, f), 1);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(f, sizeof f, "f%d", i);
        CHECK_EQ_INT(set(h, f, "12345"), 1);
    }
    CHECK_EQ_STR(hashobj_encoding(h), "listpack");
    for (int i = 0; i < 5; i++) {
        memset(big, 'a' + i, lens[i]);
        big[lens[i]] = '\0';
        snprintf(f, sizeof f, "long%d", i);
        CHECK(has(h, f, big));
        CHECK(has(h, big, f));
    }
    int sampled = 0;
    hashobj_random_pairs(h, 50, count_calls, &sampled);
    CHECK_EQ_INT(sampled, 50);
    buf b = encode(h);
    hashobj *d = hash_type_ops.decode(b.p, b.len);
    REQUIRE(d);
    CHECK_EQ_STR(hashobj_encoding(d), "listpack");
    CHECK(same(h, d));
    hashobj_free(d);
    l.hash_max_listpack_entries = 512;
    objlimits_set(&l);
    d = hash_type_ops.decode(b.p, b.len);
    REQUIRE(d);
    CHECK_EQ_STR(hashobj_encoding(d), "hashtable");
    CHECK(same(h, d));
    hashobj_free(d);
    free(b.p);
    CHECK_EQ_STR(hashobj_encoding(h), "listpack"); /* untouched */
    CHECK_EQ_INT(set(h, "f1", "updated"), 0);
    CHECK_EQ_STR(hashobj_encoding(h), "hashtable"); /* Redis checks on updates too */
    CHECK(has(h, "f1", "updated"));
    hashobj_free(h);
    objlimits_set(&saved);
}

TEST(decode_rejects_corrupt_input) {
    hashobj *h = make(20, 0);
    buf b = encode(h);
    hashobj_free(h);
    /* Every truncation and every extension. */
    for (size_t len = 0; len < b.len; len++) {
        hashobj *d = hash_type_ops.decode(b.p, len);
        if (d) testlib_fail(__FILE__, __LINE__, "truncated to %zu decoded", len);
        hashobj_free(d);
    }
    unsigned char *longer = malloc(b.len + 1);
    memcpy(longer, b.p, b.len);
    longer[b.len] = 0;
    CHECK(hash_type_ops.decode(longer, b.len + 1) == NULL);
    free(longer);
    /* Version, and counts that do not match the pairs. */
    unsigned char *c = malloc(b.len);
    memcpy(c, b.p, b.len);
    c[0] = 2;
    CHECK(hash_type_ops.decode(c, b.len) == NULL);
    memcpy(c, b.p, b.len);
    c[1]++;
    CHECK(hash_type_ops.decode(c, b.len) == NULL);
    memcpy(c, b.p, b.len);
    c[8] = 0x7f; /* count near 2^63 */
    CHECK(hash_type_ops.decode(c, b.len) == NULL);
    memcpy(c, b.p, b.len);
    c[9 + 3] = 0x80; /* first field length 2^31+ */
    CHECK(hash_type_ops.decode(c, b.len) == NULL);
    /* Random byte flips never crash; what decodes is self-consistent. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        memcpy(c, b.p, b.len);
        int flips = 1 + rand() % 3;
        for (int k = 0; k < flips; k++) c[rand() % b.len] = (unsigned char)rand();
        hashobj *d = hash_type_ops.decode(c, b.len);
        if (d) {
            buf again = encode(d);
            CHECK(again.len == b.len);
            hashobj_free(d);
            free(again.p);
        }
    }
    free(c);
    free(b.p);
    /* Duplicate fields, in both target encodings. */
    for (int big = 0; big < 2; big++) {
        hashobj *x = make(big ? 600 : 3, 0);
        buf e = encode(x);
        hashobj_free(x);
        /* Append a pair repeating the first field and bump the count. */
        unsigned char *dup = malloc(e.len + 64);
        memcpy(dup, e.p, e.len);
        size_t flen = (size_t)e.p[9] | (size_t)e.p[10] << 8;
        memcpy(dup + e.len, e.p + 9, 4 + flen);
        size_t pos = e.len + 4 + flen;
        memset(dup + pos, 0, 4);
        pos += 4;
        uint64_t cnt = 0;
        for (int k = 0; k < 8; k++) cnt |= (uint64_t)e.p[1 + k] << (8 * k);
        cnt++;
        for (int k = 0; k < 8; k++) dup[1 + k] = (unsigned char)(cnt >> (8 * k));
        CHECK(hash_type_ops.decode(dup, pos) == NULL);
        free(dup);
        free(e.p);
    }
}

int main(void) {
    RUN(listpack_basics);
    RUN(conversion_by_count_and_length);
    RUN(hashtable_resize);
    RUN(scan_guarantee_across_resizes);
    RUN(scan_listpack_returns_all);
    RUN(random_sampling);
    RUN(encode_decode_round_trip);
    RUN(runtime_limits);
    RUN(decode_rejects_corrupt_input);
    return testlib_finish();
}
