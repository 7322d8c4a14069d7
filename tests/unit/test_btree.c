/* Unit tests of the sorted-set B+tree (src/engine/btree.c): random inserts
 * and removes against a sorted-array oracle with a fixed seed (TEST_SEED=N
 * for others), checking every invariant, ranks, select-by-rank, counting
 * before a bound and iteration in both directions. */
#include "../testlib.h"

#include <stdlib.h>

#include "engine/btree.h"

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static zelem *mk(double score, const char *m) {
    size_t len = strlen(m);
    zelem *e = malloc(ZELEM_SIZE(len));
    e->hnext = NULL;
    e->score = score;
    e->len = (uint32_t)len;
    memcpy(e->member, m, len);
    return e;
}

static int cmp_ptr(const void *a, const void *b) {
    const zelem *x = *(zelem *const *)a, *y = *(zelem *const *)b;
    return zelem_cmp_key(x, y->score, y->member, y->len);
}

typedef struct {
    double score;
} score_bound;
static int before_score(const zelem *e, void *ctx) {
    return e->score < ((score_bound *)ctx)->score;
}

static void free_item(zelem *e) { free(e); }

/* Oracle: a sorted array of the items in the tree. */
static void check_against(bt_tree *t, zelem **arr, size_t n) {
    const char *err = bt_check(t);
    if (err) testlib_fail(__FILE__, __LINE__, "bt_check: %s", err);
    CHECK_EQ_INT(t->count, n);
    bt_pos pos;
    if (n == 0) {
        CHECK(!bt_seek(t, 0, &pos));
        return;
    }
    /* forward and backward full iterations */
    REQUIRE(bt_seek(t, 0, &pos));
    size_t i = 0;
    do {
        if (i >= n || bt_item(&pos) != arr[i]) {
            testlib_fail(__FILE__, __LINE__, "forward item %zu", i);
            return;
        }
        i++;
    } while (bt_next(&pos));
    CHECK_EQ_INT(i, n);
    REQUIRE(bt_seek(t, n - 1, &pos));
    i = n;
    do {
        i--;
        if (bt_item(&pos) != arr[i]) {
            testlib_fail(__FILE__, __LINE__, "backward item %zu", i);
            return;
        }
    } while (bt_prev(&pos));
    CHECK_EQ_INT(i, 0);
    CHECK(!bt_seek(t, n, &pos));
    /* a few random ranks and bounds */
    for (int k = 0; k < 20; k++) {
        size_t r = rnd() % n;
        REQUIRE(bt_seek(t, r, &pos));
        CHECK(bt_item(&pos) == arr[r]);
        score_bound b = {(double)(rnd() % 1200) - 100};
        size_t expect = 0;
        while (expect < n && arr[expect]->score < b.score) expect++;
        CHECK_EQ_INT(bt_count_before(t, before_score, &b), expect);
    }
}

TEST(random_against_oracle) {
    const char *s = getenv("TEST_SEED");
    rng_state = s ? strtoull(s, NULL, 10) : 12345;
    if (!rng_state) rng_state = 1;
    bt_tree t;
    bt_init(&t);
    size_t cap = 20000, n = 0;
    zelem **arr = malloc(cap * sizeof(*arr));
    char buf[32];
    for (int round = 0; round < 40; round++) {
        /* grow phases insert more than they remove, then shrink phases */
        int grow = (round % 8) < 5;
        for (int op = 0; op < 2000; op++) {
            int insert = grow ? (rnd() % 10) < 7 : (rnd() % 10) < 3;
            if (insert && n < cap) {
                /* few distinct scores so many ties sort by member */
                double score = (double)(rnd() % 1000);
                snprintf(buf, sizeof buf, "m%llu", (unsigned long long)(rnd() % 100000));
                zelem *probe = mk(score, buf);
                zelem **hit = bsearch(&probe, arr, n, sizeof(*arr), cmp_ptr);
                if (hit) {
                    free(probe);
                    continue;
                }
                bt_insert(&t, probe);
                size_t at = 0;
                while (at < n && cmp_ptr(&arr[at], &probe) < 0) at++;
                memmove(&arr[at + 1], &arr[at], (n - at) * sizeof(*arr));
                arr[at] = probe;
                n++;
            } else if (n > 0) {
                size_t r = rnd() % n;
                zelem *e = arr[r];
                zelem *got = bt_remove(&t, e->score, e->member, e->len);
                CHECK(got == e);
                memmove(&arr[r], &arr[r + 1], (n - r - 1) * sizeof(*arr));
                n--;
                free(got);
                /* removing an absent item is a no-op */
                CHECK(bt_remove(&t, 5000.0, "x", 1) == NULL);
            }
        }
        check_against(&t, arr, n);
        if (testlib_current_failed) break;
    }
    /* drain completely */
    while (n > 0) {
        zelem *e = arr[--n];
        zelem *got = bt_remove(&t, e->score, e->member, e->len);
        CHECK(got == e);
        free(got);
        if (n % 997 == 0) check_against(&t, arr, n);
    }
    check_against(&t, arr, 0);
    CHECK_EQ_INT(t.height, 0);
    CHECK_EQ_INT(bt_mem_usage(&t), 0);
    free(arr);
}

TEST(ascending_appends_fill_nodes) {
    bt_tree t;
    bt_init(&t);
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        bt_insert(&t, mk((double)i, buf));
    }
    CHECK(bt_check(&t) == NULL);
    /* nearly full leaves: well under 10 bytes of node memory per item */
    CHECK(bt_mem_usage(&t) < 100000 * 10);
    /* descending inserts (left edge) still keep the invariants */
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof buf, "n%d", i);
        bt_insert(&t, mk(-(double)i, buf));
    }
    CHECK(bt_check(&t) == NULL);
    CHECK_EQ_INT(t.count, 105000);
    bt_pos pos;
    REQUIRE(bt_seek(&t, 0, &pos));
    CHECK(bt_item(&pos)->score == -4999.0);
    REQUIRE(bt_seek(&t, 104999, &pos));
    CHECK(bt_item(&pos)->score == 99999.0);
    bt_clear(&t, free_item);
    CHECK_EQ_INT(t.count, 0);
    CHECK(bt_check(&t) == NULL);
}

TEST(member_order_within_score) {
    bt_tree t;
    bt_init(&t);
    const char *ms[] = {"b", "a", "ab", "", "aa", "\xff", "a\x00"};
    for (size_t i = 0; i < 7; i++) {
        size_t len = i == 6 ? 2 : strlen(ms[i]);
        zelem *e = malloc(ZELEM_SIZE(len));
        e->score = 1;
        e->len = (uint32_t)len;
        memcpy(e->member, ms[i], len);
        bt_insert(&t, e);
    }
    const char *want[] = {"", "a", "a\x00", "aa", "ab", "b", "\xff"};
    size_t wlen[] = {0, 1, 2, 2, 2, 1, 1};
    bt_pos pos;
    REQUIRE(bt_seek(&t, 0, &pos));
    for (int i = 0; i < 7; i++) {
        zelem *e = bt_item(&pos);
        CHECK(e->len == wlen[i] && memcmp(e->member, want[i], wlen[i]) == 0);
        if (i < 6) CHECK(bt_next(&pos));
    }
    CHECK(!bt_next(&pos));
    bt_clear(&t, free_item);
}

int main(void) {
    RUN(random_against_oracle);
    RUN(ascending_appends_fill_nodes);
    RUN(member_order_within_score);
    return testlib_finish();
}
