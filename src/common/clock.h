/*
 * clock.h — wall-clock and monotonic time helpers.
 *
 * Owns: lt_mstime()/lt_ustime() (Unix epoch, what absolute key expiry and
 * Redis's TIME use) and lt_monotonic_us() (for measuring durations and time
 * budgets; never goes backwards).
 * Used by: engine (expiry, LRU clock), server (TIME, timers).
 */
#ifndef LT_COMMON_CLOCK_H
#define LT_COMMON_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lt_ustime(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lt_mstime(void);
/* Microseconds from an arbitrary fixed origin (CLOCK_MONOTONIC). */
uint64_t lt_monotonic_us(void);

#endif
