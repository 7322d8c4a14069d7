/*
 * histogram: an HDR-style (log-linear) histogram of latencies in whole
 * microseconds, with bounded memory and a single writer.
 *
 * Owns: the bucket layout and the arithmetic over it. Values 0..63 have a
 * bucket each; above, every power of two [2^e, 2^(e+1)) is cut into 32
 * equal buckets, so a bucket's width is at most 1/32 of its values (~3%
 * relative precision) — what an HDR histogram with 32 sub-buckets gives.
 * Values at or above HIST_MAX_US (about 19 hours) are counted in the last
 * bucket. A histogram is HIST_BUCKETS counters (8 KiB) whatever it counts.
 *
 * Threading: one thread records (hist_record: relaxed load + store, no
 * locked instruction); any thread may read the counters at any time (relaxed
 * loads) and sees each counter's old or new value. Readers merge several
 * histograms (one per I/O thread) into a hist_view and ask it percentiles
 * or cumulative counts.
 *
 * Used by: server/latency.c (latency-tracking: per command and I/O thread).
 * Pure: no allocation, no global state.
 */
#ifndef LT_COMMON_HISTOGRAM_H
#define LT_COMMON_HISTOGRAM_H

#include <stdint.h>

#define HIST_LINEAR 64      /* values below this: one bucket each */
#define HIST_SUB 32         /* buckets per power of two above */
#define HIST_MAX_SHIFT 30   /* largest power-of-two step: values < 2^36 */
#define HIST_MAX_US ((1ull << 36) - 1)
#define HIST_BUCKETS (HIST_LINEAR + HIST_MAX_SHIFT * HIST_SUB)

typedef struct hist {
    uint64_t count[HIST_BUCKETS];
} hist;

/* A merged, read-only copy (caller's memory: it is as big as a hist). */
typedef struct hist_view {
    uint64_t count[HIST_BUCKETS];
    uint64_t total;
} hist_view;

/* The bucket a value falls in, 0 <= result < HIST_BUCKETS. */
static inline int hist_bucket(uint64_t us) {
    if (us < HIST_LINEAR) return (int)us;
    if (us > HIST_MAX_US) us = HIST_MAX_US;
    int e = 63 - __builtin_clzll(us);       /* 6.. 35 */
    int shift = e - 5;                       /* us >> shift in [32, 64) */
    return HIST_LINEAR + (shift - 1) * HIST_SUB + (int)((us >> shift) - HIST_SUB);
}

/* Counts one value. Only the histogram's own writer thread calls it. */
static inline void hist_record(hist *h, uint64_t us) {
    uint64_t *p = &h->count[hist_bucket(us)];
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Smallest and largest value of a bucket. */
uint64_t hist_bucket_low(int b);
uint64_t hist_bucket_high(int b);

/* Zeroes v, then adds h (may be NULL) with hist_view_add. */
void hist_view_init(hist_view *v);
void hist_view_add(hist_view *v, const hist *h);
/* The value below or at which p percent (0..100) of the values lie: the
 * highest value of the bucket holding the ceil(p% of total)-th value (at
 * least the first). 0 when empty. */
uint64_t hist_view_percentile(const hist_view *v, double p);
/* How many values are <= us (buckets that straddle us are counted when
 * their low end is <= us). */
uint64_t hist_view_count_le(const hist_view *v, uint64_t us);

#endif
