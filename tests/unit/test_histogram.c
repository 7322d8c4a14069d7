/* Unit tests of the latency histogram (src/common/histogram.c): the bucket
 * layout covers every value once and in order, a value's bucket contains
 * it, precision is within 1/32, and percentiles / cumulative counts agree
 * with a sorted-array oracle within a bucket's width. */
#include "../testlib.h"

#include <stdlib.h>

#include "common/histogram.h"

TEST(layout_contiguous) {
    CHECK_EQ_INT(hist_bucket_low(0), 0);
    for (int b = 1; b < HIST_BUCKETS; b++) {
        if (hist_bucket_low(b) != hist_bucket_high(b - 1) + 1)
            testlib_fail(__FILE__, __LINE__, "bucket %d starts at %llu after %llu", b,
                         (unsigned long long)hist_bucket_low(b),
                         (unsigned long long)hist_bucket_high(b - 1));
        /* width at most 1/32 of the values (above the linear range) */
        uint64_t w = hist_bucket_high(b) - hist_bucket_low(b) + 1;
        if (b >= HIST_LINEAR) CHECK(w * HIST_SUB <= hist_bucket_low(b) * 2);
    }
    CHECK_EQ_INT(hist_bucket_high(HIST_BUCKETS - 1), HIST_MAX_US);
    CHECK_EQ_INT(hist_bucket(HIST_MAX_US), HIST_BUCKETS - 1);
    CHECK_EQ_INT(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1); /* clamped */
}

TEST(value_in_its_bucket) {
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t v = s >> (28 + (s & 31)); /* spread over many magnitudes */
        int b = hist_bucket(v);
        if (v > HIST_MAX_US) v = HIST_MAX_US;
        if (!(hist_bucket_low(b) <= v && v <= hist_bucket_high(b))) {
            testlib_fail(__FILE__, __LINE__, "value %llu not in bucket %d", (unsigned long long)v, b);
            return;
        }
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(percentiles_match_oracle) {
    enum { N = 5000 };
    static uint64_t vals[N];
    static hist h;
    static hist_view v;
    uint64_t s = 2463534242ull;
    for (int i = 0; i < N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        vals[i] = (s % 100000) < 90000 ? s % 50 : s % 200000; /* fast mostly, a slow tail */
        hist_record(&h, vals[i]);
    }
    hist_view_init(&v);
    hist_view_add(&v, &h);
    hist_view_add(&v, NULL);
    CHECK_EQ_INT(v.total, N);
    qsort(vals, N, sizeof(vals[0]), cmp_u64);
    const double ps[] = {0, 1, 50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t got = hist_view_percentile(&v, ps[i]);
        size_t rank = (size_t)((ps[i] / 100.0) * N + 0.999999);
        if (rank == 0) rank = 1;
        uint64_t want = vals[rank - 1];
        int b = hist_bucket(want);
        CHECK_EQ_INT(got, hist_bucket_high(b)); /* the oracle value's bucket */
    }
    /* cumulative counts at bucket edges are exact */
    for (int b = 0; b < HIST_BUCKETS; b += 37) {
        uint64_t edge = hist_bucket_high(b), n = 0;
        for (int i = 0; i < N; i++) n += vals[i] <= edge;
        CHECK_EQ_INT(hist_view_count_le(&v, edge), n);
    }
    hist_view_init(&v);
    CHECK_EQ_INT(hist_view_percentile(&v, 50), 0);
}

int main(void) {
    RUN(layout_contiguous);
    RUN(value_in_its_bucket);
    RUN(percentiles_match_oracle);
    return testlib_finish();
}
