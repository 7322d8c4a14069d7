/*
 * memory: used-memory figure with a short cache (see memory.h).
 */
#include "server/memory.h"

#include <stdint.h>

#include "server/server.h"

/* jemalloc when linked (the server build); the sanitizers' own figure in
 * sanitizer builds; neither: no figure (0). */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t cached;
static int64_t cached_at_us;

int mem_have_stats(void) { return mallctl || __sanitizer_get_current_allocated_bytes; }

size_t mem_used_now(void) {
    size_t v = 0;
    if (mallctl) {
        uint64_t epoch = 1;
        size_t sz = sizeof(epoch);
        mallctl("epoch", &epoch, &sz, &epoch, sz);
        sz = sizeof(v);
        mallctl("stats.allocated", &v, &sz, NULL, 0);
    } else if (__sanitizer_get_current_allocated_bytes) {
        v = __sanitizer_get_current_allocated_bytes();
    }
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    return v;
}

void mem_used_freed(size_t bytes) {
    int64_t now = monotonic_us();
    int64_t at = __atomic_load_n(&cached_at_us, __ATOMIC_RELAXED);
    if (now - at >= MEM_FREED_REFRESH_US &&
        __atomic_compare_exchange_n(&cached_at_us, &at, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
        mem_used_now();
        return;
    }
    size_t cur = __atomic_load_n(&cached, __ATOMIC_RELAXED), next;
    do next = cur > bytes ? cur - bytes : 0;
    while (!__atomic_compare_exchange_n(&cached, &cur, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

size_t mem_used(void) {
    int64_t now = monotonic_us();
    int64_t at = __atomic_load_n(&cached_at_us, __ATOMIC_RELAXED);
    /* One thread refreshes; the others use the cached value meanwhile. */
    if (now - at >= MEM_REFRESH_US &&
        __atomic_compare_exchange_n(&cached_at_us, &at, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        return mem_used_now();
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}
