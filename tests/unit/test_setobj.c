/*
 * Unit tests of engine/setobj.c: both encodings and the conversion between
 * them, every hashtable slot form, sampling, the SSCAN guarantee across
 * resizes, dup, and the snapshot encoding (round trips and corrupt input).
 */
#include "../testlib.h"

#include <stdlib.h>

#include "common/util.h"
#include "engine/setobj.h"
#include "engine/objlimits.h"

/* The built-in set-max-intset-entries these tests run under. */
#define SETOBJ_MAX_INTSET_ENTRIES 512

/* Member i of a mixed population: small and large integers, non-canonical
 * integers, short and long strings, binary bytes. */
static size_t member(uint64_t i, char *buf, size_t cap) {
    switch (i % 6) {
    case 0: return (size_t)snprintf(buf, cap, "%llu", (unsigned long long)i);
    case 1: return (size_t)snprintf(buf, cap, "-%llu", (unsigned long long)i * 1000003ull);
    case 2: return (size_t)snprintf(buf, cap, "%llu", 4000000000000000000ull + i);
    case 3: return (size_t)snprintf(buf, cap, "s%llu", (unsigned long long)i % 100000);
    case 4: return (size_t)snprintf(buf, cap, "member:%llu:long", (unsigned long long)i);
    default: {
        size_t n = (size_t)snprintf(buf, cap, "0%llu", (unsigned long long)i);
        buf[n] = '\0';
        buf[n + 1] = (char)0xff;
        return n + 2; /* "0..." with a NUL and 0xff: never an integer */
    }
    }
}

static int has(const setobj *s, const char *m) { return setobj_contains(s, m, strlen(m)); }
static int add(setobj *s, const char *m) { return setobj_add(s, m, strlen(m)); }

TEST(intset_basics) {
    setobj *s = setobj_new();
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    CHECK_EQ_INT(add(s, "5"), 1);
    CHECK_EQ_INT(add(s, "5"), 0);
    CHECK_EQ_INT(add(s, "-3"), 1);
    CHECK_EQ_INT(add(s, "70000"), 1);             /* widens to 32 bits */
    CHECK_EQ_INT(add(s, "-9223372036854775808"), 1); /* and to 64 */
    CHECK_EQ_INT(add(s, "9223372036854775807"), 1);
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    CHECK_EQ_INT(setobj_size(s), 5);
    CHECK(has(s, "70000") && has(s, "-3") && !has(s, "4") && !has(s, "05") && !has(s, "x"));
    const char *want[] = {"-9223372036854775808", "-3", "5", "70000", "9223372036854775807"};
    setobj_iter it;
    setobj_elem e;
    setobj_iter_init(&it, s);
    for (int i = 0; i < 5; i++) {
        REQUIRE(setobj_iter_next(&it, &e));
        CHECK(e.len == strlen(want[i]) && memcmp(e.ptr, want[i], e.len) == 0);
    }
    CHECK(!setobj_iter_next(&it, &e));
    CHECK_EQ_INT(setobj_remove(s, "5", 1), 1);
    CHECK_EQ_INT(setobj_remove(s, "5", 1), 0);
    CHECK_EQ_INT(setobj_remove(s, "abc", 3), 0);
    CHECK_EQ_INT(setobj_size(s), 4);
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    setobj_free(s);
}

TEST(intset_to_hashtable) {
    char buf[32];
    setobj *s = setobj_new();
    for (int i = 0; i < SETOBJ_MAX_INTSET_ENTRIES; i++) {
        snprintf(buf, sizeof buf, "%d", i * 7 - 1000);
        CHECK_EQ_INT(add(s, buf), 1);
    }
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    CHECK_EQ_INT(add(s, "-1000"), 0); /* an existing member does not convert */
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    CHECK_EQ_INT(add(s, "123456789"), 1); /* member 513 */
    CHECK_EQ_STR(setobj_encoding(s), "hashtable");
    CHECK_EQ_INT(setobj_size(s), SETOBJ_MAX_INTSET_ENTRIES + 1);
    for (int i = 0; i < SETOBJ_MAX_INTSET_ENTRIES; i++) {
        snprintf(buf, sizeof buf, "%d", i * 7 - 1000);
        CHECK(has(s, buf));
    }
    /* Never converts back. */
    for (int i = 0; i < 500; i++) {
        snprintf(buf, sizeof buf, "%d", i * 7 - 1000);
        CHECK_EQ_INT(setobj_remove(s, buf, strlen(buf)), 1);
    }
    CHECK_EQ_STR(setobj_encoding(s), "hashtable");
    setobj_free(s);

    s = setobj_new();
    add(s, "1");
    add(s, "2");
    CHECK_EQ_INT(add(s, "a"), 1);
    CHECK_EQ_STR(setobj_encoding(s), "hashtable");
    CHECK(has(s, "1") && has(s, "2") && has(s, "a"));
    setobj_free(s);
}

TEST(hashtable_members) {
    enum { N = 30000 };
    char buf[64];
    setobj *s = setobj_new();
    for (uint64_t i = 0; i < N; i++) {
        size_t n = member(i, buf, sizeof buf - 2);
        CHECK_EQ_INT(setobj_add(s, buf, n), 1);
    }
    CHECK_EQ_INT(setobj_add(s, "", 0), 1);
    CHECK_EQ_INT(setobj_add(s, "", 0), 0);
    CHECK_EQ_INT(setobj_size(s), N + 1);
    for (uint64_t i = 0; i < N; i++) {
        size_t n = member(i, buf, sizeof buf - 2);
        CHECK_EQ_INT(setobj_add(s, buf, n), 0);
        CHECK(setobj_contains(s, buf, n));
    }
    CHECK(!has(s, "-0") && !has(s, "01") && !has(s, "member:") && !has(s, "s1000000"));
    /* Every member comes back exactly once from iteration. */
    setobj_iter it;
    setobj_elem e;
    uint64_t seen = 0;
    setobj_iter_init(&it, s);
    while (setobj_iter_next(&it, &e)) {
        CHECK(setobj_contains(s, e.ptr, e.len));
        seen++;
    }
    CHECK_EQ_INT(seen, N + 1);
    /* Remove the even ones: the odd ones stay findable (backward shift). */
    for (uint64_t i = 0; i < N; i += 2) {
        size_t n = member(i, buf, sizeof buf - 2);
        CHECK_EQ_INT(setobj_remove(s, buf, n), 1);
    }
    for (uint64_t i = 0; i < N; i++) {
        size_t n = member(i, buf, sizeof buf - 2);
        CHECK_EQ_INT(setobj_contains(s, buf, n), (int)(i & 1));
    }
    size_t before = setobj_mem_usage(s);
    for (uint64_t i = 1; i < N; i += 2) {
        size_t n = member(i, buf, sizeof buf - 2);
        CHECK_EQ_INT(setobj_remove(s, buf, n), 1);
    }
    CHECK_EQ_INT(setobj_size(s), 1);
    CHECK(setobj_mem_usage(s) < before / 10); /* shrank */
    CHECK(setobj_contains(s, "", 0));
    setobj_free(s);
}

TEST(dup_is_deep) {
    char buf[64];
    setobj *s = setobj_new();
    for (uint64_t i = 0; i < 2000; i++) setobj_add(s, buf, member(i, buf, sizeof buf - 2));
    setobj *d = setobj_dup(s);
    CHECK_EQ_INT(setobj_mem_usage(d), setobj_mem_usage(s));
    for (uint64_t i = 0; i < 2000; i++) setobj_remove(s, buf, member(i, buf, sizeof buf - 2));
    CHECK_EQ_INT(setobj_size(s), 0);
    CHECK_EQ_INT(setobj_size(d), 2000);
    for (uint64_t i = 0; i < 2000; i++) CHECK(setobj_contains(d, buf, member(i, buf, sizeof buf - 2)));
    setobj_free(s);
    setobj_free(d);
    s = setobj_new();
    add(s, "7");
    d = setobj_dup(s);
    add(s, "8");
    CHECK(has(d, "7") && !has(d, "8"));
    setobj_free(s);
    setobj_free(d);
}

/* ---- Sampling ----------------------------------------------------------- */

typedef struct collect {
    setobj *got;   /* members received */
    uint64_t n, dups;
} collect;

static void on_member(void *ctx, const char *p, size_t len) {
    collect *c = ctx;
    c->n++;
    if (!setobj_add(c->got, p, len)) c->dups++;
}

static void check_sampling(setobj *s, uint64_t size) {
    collect c = {setobj_new(), 0, 0};
    for (uint64_t count = 1; count < size; count = count * 2 + 1) {
        setobj_random_distinct(s, count, on_member, &c);
        CHECK_EQ_INT(c.n, count);
        CHECK_EQ_INT(c.dups, 0);
        setobj_iter it;
        setobj_elem e;
        setobj_iter_init(&it, c.got);
        while (setobj_iter_next(&it, &e)) CHECK(setobj_contains(s, e.ptr, e.len));
        setobj_free(c.got);
        c = (collect){setobj_new(), 0, 0};
    }
    setobj_free(c.got);
}

TEST(random_distinct) {
    char buf[64];
    setobj *s = setobj_new();
    for (int i = 0; i < 300; i++) setobj_add(s, buf, (size_t)snprintf(buf, sizeof buf, "%d", i));
    check_sampling(s, 300);
    for (uint64_t i = 0; i < 5000; i++) setobj_add(s, buf, member(i, buf, sizeof buf - 2));
    check_sampling(s, setobj_size(s));
    setobj_free(s);
}

TEST(random_is_roughly_uniform) {
    char buf[32];
    setobj *s = setobj_new();
    for (int i = 0; i < 10; i++) add(s, (snprintf(buf, sizeof buf, "m%d", i), buf));
    int hits[10] = {0};
    for (int k = 0; k < 20000; k++) {
        setobj_elem e;
        setobj_random(s, &e);
        REQUIRE(e.len == 2 && e.ptr[0] == 'm');
        hits[e.ptr[1] - '0']++;
    }
    for (int i = 0; i < 10; i++) CHECK(hits[i] > 1600 && hits[i] < 2400);
    setobj_free(s);
}

TEST(pop) {
    char buf[64];
    for (int pass = 0; pass < 2; pass++) {
        setobj *s = setobj_new();
        uint64_t size = pass ? 3000 : 400;
        for (uint64_t i = 0; i < size; i++)
            setobj_add(s, buf, pass ? member(i, buf, sizeof buf - 2)
                                    : (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)i));
        /* Small counts pop one at a time, large ones rebuild. */
        uint64_t counts[] = {1, size / 10, size / 2};
        for (int k = 0; k < 3; k++) {
            collect c = {setobj_new(), 0, 0};
            uint64_t had = setobj_size(s);
            setobj_pop(s, counts[k], on_member, &c);
            CHECK_EQ_INT(c.n, counts[k]);
            CHECK_EQ_INT(c.dups, 0);
            CHECK_EQ_INT(setobj_size(s), had - counts[k]);
            setobj_iter it;
            setobj_elem e;
            setobj_iter_init(&it, c.got);
            while (setobj_iter_next(&it, &e)) CHECK(!setobj_contains(s, e.ptr, e.len));
            setobj_free(c.got);
        }
        collect c = {setobj_new(), 0, 0};
        setobj_pop_one(s, on_member, &c);
        CHECK_EQ_INT(c.n, 1);
        setobj_free(c.got);
        setobj_free(s);
    }
    /* Redis 7.0: a hashtable of integers rebuilt by a large SPOP is an
     * intset again when at most 512 survive; single pops never rebuild. */
    setobj *s = setobj_new();
    for (int i = 0; i < 600; i++) setobj_add(s, buf, (size_t)snprintf(buf, sizeof buf, "%d", i));
    CHECK_EQ_STR(setobj_encoding(s), "hashtable");
    collect c = {setobj_new(), 0, 0};
    setobj_pop(s, 100, on_member, &c); /* 100 * 5 <= 600: one at a time */
    CHECK_EQ_STR(setobj_encoding(s), "hashtable");
    setobj_pop(s, 400, on_member, &c);
    CHECK_EQ_STR(setobj_encoding(s), "intset");
    CHECK_EQ_INT(setobj_size(s), 100);
    setobj_free(c.got);
    setobj_free(s);
}

/* ---- Scan guarantee ----------------------------------------------------- */

static void scan_mark(void *ctx, const char *p, size_t len) {
    setobj_add(ctx, p, len);
}

TEST(scan_guarantee_across_resizes) {
    char buf[64];
    enum { BASE = 1000, EXTRA0 = 100000 };
    for (int mode = 0; mode < 3; mode++) {
        setobj *s = setobj_new();
        for (uint64_t i = 0; i < BASE; i++) setobj_add(s, buf, member(i, buf, sizeof buf - 2));
        setobj *seen = setobj_new();
        uint64_t cursor = 0, step = 0, next = EXTRA0;
        do {
            cursor = setobj_scan(s, cursor, scan_mark, seen);
            /* mode 0: the table grows (x16) during the scan; 1: it grows,
             * then shrinks back; 2: grows and shrinks again and again. */
            int grow = step < 200 || (mode == 2 && step % 100 < 50);
            int shrink = mode == 1 ? step >= 200 : mode == 2 && step % 100 == 99;
            if (grow)
                for (int k = 0; k < 50; k++, next++) setobj_add(s, buf, member(next, buf, sizeof buf - 2));
            if (shrink) {
                for (uint64_t k = EXTRA0; k < next; k++) setobj_remove(s, buf, member(k, buf, sizeof buf - 2));
                next = EXTRA0;
            }
            step++;
        } while (cursor != 0 && step < 100000);
        CHECK(cursor == 0);
        uint64_t missing = 0;
        for (uint64_t i = 0; i < BASE; i++)
            missing += !setobj_contains(seen, buf, member(i, buf, sizeof buf - 2));
        CHECK_EQ_INT(missing, 0);
        setobj_free(seen);
        setobj_free(s);
    }
    /* An intset is returned whole with cursor 0. */
    setobj *s = setobj_new(), *seen = setobj_new();
    add(s, "1");
    add(s, "2");
    CHECK_EQ_INT(setobj_scan(s, 12345, scan_mark, seen), 0);
    CHECK_EQ_INT(setobj_size(seen), 2);
    setobj_free(s);
    setobj_free(seen);
}

/* ---- Encode / decode ------------------------------------------------------ */

typedef struct outbuf {
    unsigned char *p;
    size_t len, cap;
    int fail_after; /* emit calls before failing, -1 never */
} outbuf;

static int emit(void *ctx, const void *p, size_t n) {
    outbuf *o = ctx;
    if (o->fail_after == 0) return -1;
    if (o->fail_after > 0) o->fail_after--;
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->p = realloc(o->p, o->cap);
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

static int same_members(const setobj *a, const setobj *b) {
    if (setobj_size(a) != setobj_size(b)) return 0;
    setobj_iter it;
    setobj_elem e;
    setobj_iter_init(&it, a);
    while (setobj_iter_next(&it, &e))
        if (!setobj_contains(b, e.ptr, e.len)) return 0;
    return 1;
}

static outbuf encode(const setobj *s) {
    outbuf o = {NULL, 0, 0, -1};
    CHECK_EQ_INT(setobj_encode(s, emit, &o), 0);
    return o;
}

TEST(encode_round_trip) {
    char buf[64];
    setobj *sets[4];
    sets[0] = setobj_new();
    add(sets[0], "-5");
    add(sets[0], "9223372036854775807");
    sets[1] = setobj_new();
    add(sets[1], "x");
    setobj_add(sets[1], "", 0);
    sets[2] = setobj_new();
    for (uint64_t i = 0; i < 3000; i++) setobj_add(sets[2], buf, member(i, buf, sizeof buf - 2));
    sets[3] = setobj_new(); /* a hashtable of integers: reloads as intset */
    add(sets[3], "a");
    add(sets[3], "1");
    add(sets[3], "2");
    setobj_remove(sets[3], "a", 1);
    const char *enc_after[] = {"intset", "hashtable", "hashtable", "intset"};
    for (int i = 0; i < 4; i++) {
        outbuf o = encode(sets[i]);
        setobj *d = setobj_decode(o.p, o.len);
        REQUIRE(d);
        CHECK(same_members(sets[i], d));
        CHECK_EQ_STR(setobj_encoding(d), enc_after[i]);
        setobj_free(d);
        free(o.p);
        setobj_free(sets[i]);
    }
    /* A failing writer stops the encoding. */
    setobj *s = setobj_new();
    add(s, "abc");
    outbuf o = {NULL, 0, 0, 1};
    CHECK_EQ_INT(setobj_encode(s, emit, &o), -1);
    free(o.p);
    setobj_free(s);
}

TEST(decode_rejects_corruption) {
    setobj *s = setobj_new();
    add(s, "hello");
    add(s, "world");
    add(s, "5");
    outbuf o = encode(s);
    /* Every truncation and every extension is rejected. */
    for (size_t n = 0; n < o.len; n++) CHECK(setobj_decode(o.p, n) == NULL);
    unsigned char *longer = malloc(o.len + 1);
    memcpy(longer, o.p, o.len);
    longer[o.len] = 0;
    CHECK(setobj_decode(longer, o.len + 1) == NULL);
    free(longer);
    /* Any single-byte change gives NULL or a consistent set. */
    for (size_t i = 0; i < o.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            o.p[i] ^= (unsigned char)(1 << bit);
            setobj *d = setobj_decode(o.p, o.len);
            if (d) {
                CHECK(setobj_size(d) == 3);
                setobj_free(d);
            }
            o.p[i] ^= (unsigned char)(1 << bit);
        }
    }
    free(o.p);
    setobj_free(s);

    /* Hand-made bad inputs. */
    unsigned char bad_version[] = {2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a'};
    CHECK(setobj_decode(bad_version, sizeof bad_version) == NULL);
    unsigned char bad_kind[] = {1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a'};
    CHECK(setobj_decode(bad_kind, sizeof bad_kind) == NULL);
    unsigned char empty[] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(setobj_decode(empty, sizeof empty) == NULL);
    unsigned char dup[] = {1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, 'a'};
    CHECK(setobj_decode(dup, sizeof dup) == NULL);
    unsigned char huge_count[] = {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 'a'};
    CHECK(setobj_decode(huge_count, sizeof huge_count) == NULL);
    unsigned char huge_len[] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'a'};
    CHECK(setobj_decode(huge_len, sizeof huge_len) == NULL);
    unsigned char unsorted[] = {1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0,
                                3, 0, 0, 0, 0, 0, 0, 0};
    CHECK(setobj_decode(unsorted, sizeof unsorted) == NULL);
    unsorted[10] = 1; /* 1 < 3: valid */
    setobj *d = setobj_decode(unsorted, sizeof unsorted);
    CHECK(d && setobj_size(d) == 2 && has(d, "1") && has(d, "3"));
    setobj_free(d);
    /* A large integer kind reloads as a hashtable (over 512). */
    size_t n = 600, len = 10 + n * 8;
    unsigned char *big = calloc(1, len);
    big[0] = 1;
    big[2] = (unsigned char)(n & 0xff);
    big[3] = (unsigned char)(n >> 8);
    for (size_t i = 0; i < n; i++) big[10 + i * 8] = (unsigned char)i, big[11 + i * 8] = (unsigned char)(i >> 8);
    d = setobj_decode(big, len);
    CHECK(d && setobj_size(d) == n && strcmp(setobj_encoding(d), "hashtable") == 0);
    setobj_free(d);
    free(big);
}

int main(void) {
    RUN(intset_basics);
    RUN(intset_to_hashtable);
    RUN(hashtable_members);
    RUN(dup_is_deep);
    RUN(random_distinct);
    RUN(random_is_roughly_uniform);
    RUN(pop);
    RUN(scan_guarantee_across_resizes);
    RUN(encode_round_trip);
    RUN(decode_rejects_corruption);
    return testlib_finish();
}
