/*
 * promhist: a Prometheus-style histogram — a few fixed upper bounds in
 * microseconds, a count per bound (values above the last one counted
 * apart, the +Inf bucket), the sum and the count — for durations that are
 * rare and slow (a WAL fsync, a snapshot), where the exposition wants
 * _bucket/_sum/_count and a dashboard wants histogram_quantile().
 *
 * Threading: any thread may record (two relaxed atomic adds: the events
 * are milliseconds apart, a locked add is noise next to them) and read
 * (relaxed loads; a reader may see a count before its sum, never a torn
 * value).
 * Bounds are the caller's static array, ascending, at most PROMHIST_MAX.
 * Pure: no allocation.
 */
#ifndef LT_COMMON_PROMHIST_H
#define LT_COMMON_PROMHIST_H

#include <stdint.h>

#define PROMHIST_MAX 24

typedef struct promhist {
    const uint64_t *bounds_us; /* ascending upper bounds (le) */
    int nbounds;               /* <= PROMHIST_MAX */
    uint64_t count[PROMHIST_MAX + 1]; /* [i]: in (bounds[i-1], bounds[i]]; [nbounds]: above */
    uint64_t sum_us;                  /* the count is the buckets' sum */
} promhist;

static inline void promhist_init(promhist *h, const uint64_t *bounds_us, int nbounds) {
    *h = (promhist){.bounds_us = bounds_us, .nbounds = nbounds > PROMHIST_MAX ? PROMHIST_MAX : nbounds};
}

static inline void promhist_record(promhist *h, uint64_t us) {
    int i = 0;
    while (i < h->nbounds && us > h->bounds_us[i]) i++;
    __atomic_add_fetch(&h->count[i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&h->sum_us, us, __ATOMIC_RELAXED);
}

/* A consistent-enough copy for a reader (per-field relaxed loads). */
static inline void promhist_copy(promhist *out, const promhist *h) {
    out->bounds_us = h->bounds_us;
    out->nbounds = h->nbounds;
    for (int i = 0; i <= h->nbounds; i++) out->count[i] = __atomic_load_n(&h->count[i], __ATOMIC_RELAXED);
    out->sum_us = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
}

#endif
