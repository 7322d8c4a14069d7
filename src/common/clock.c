/*
 * clock.c — see clock.h. Thin wrappers over clock_gettime(); vDSO makes them
 * cheap enough for per-command use.
 */
#include "common/clock.h"

#include <time.h>

int64_t lt_ustime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lt_mstime(void) { return lt_ustime() / 1000; }

uint64_t lt_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
