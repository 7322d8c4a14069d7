/*
 * histogram: bucket arithmetic and merged views (see histogram.h).
 */
#include "common/histogram.h"

#include <math.h>
#include <string.h>


uint64_t hist_bucket_low(int b) {
    if (b < HIST_LINEAR) return (uint64_t)b;
    int shift = (b - HIST_LINEAR) / HIST_SUB + 1;
    uint64_t m = (uint64_t)((b - HIST_LINEAR) % HIST_SUB + HIST_SUB);
    return m << shift;
}

uint64_t hist_bucket_high(int b) {
    if (b < HIST_LINEAR) return (uint64_t)b;
    int shift = (b - HIST_LINEAR) / HIST_SUB + 1;
    uint64_t m = (uint64_t)((b - HIST_LINEAR) % HIST_SUB + HIST_SUB);
    return ((m + 1) << shift) - 1;
}

void hist_view_init(hist_view *v) { memset(v, 0, sizeof(*v)); }

void hist_view_add(hist_view *v, const hist *h) {
    if (!h) return;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        uint64_t n = __atomic_load_n(&h->count[b], __ATOMIC_RELAXED);
        v->count[b] += n;
        v->total += n;
    }
}

uint64_t hist_view_percentile(const hist_view *v, double p) {
    if (v->total == 0) return 0;
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)v->total);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        seen += v->count[b];
        if (seen >= want) return hist_bucket_high(b);
    }
    return hist_bucket_high(HIST_BUCKETS - 1);
}

uint64_t hist_view_count_le(const hist_view *v, uint64_t us) {
    uint64_t n = 0;
    for (int b = 0; b < HIST_BUCKETS && hist_bucket_low(b) <= us; b++) n += v->count[b];
    return n;
}
