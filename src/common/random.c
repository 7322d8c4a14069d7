/*
 * random.c — see random.h. xoshiro256** (Blackman & Vigna), one state per
 * thread so no locking and no sharing of cache lines.
 */
#include "common/random.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static __thread uint64_t st[4];
static __thread int seeded;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void seed(void) {
    uint64_t s;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
            (uint64_t)(uintptr_t)&seeded;
    }
    for (int i = 0; i < 4; i++) st[i] = splitmix(&s);
    seeded = 1;
}

uint64_t lt_random_u64(void) {
    if (__builtin_expect(!seeded, 0)) seed();
    uint64_t r = rotl(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}

uint64_t lt_random_below(uint64_t n) {
    /* Multiply-shift: bias is < n / 2^64, irrelevant for sampling. */
    return (uint64_t)(((unsigned __int128)lt_random_u64() * n) >> 64);
}

void lt_random_bytes(void *buf, unsigned n) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) break;
        p += r;
        n -= (unsigned)r;
    }
    while (n) {
        uint64_t v = lt_random_u64();
        unsigned k = n < 8 ? n : 8;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}
