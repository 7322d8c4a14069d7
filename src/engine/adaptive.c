/*
 * adaptive.c — the allkeys-adaptive / volatile-adaptive policies (see
 * adaptive.h for the interface).
 *
 * The policy ranks sampled candidates like the other sampled policies
 * (evict.c's pool, maxmemory-samples per database), with no per-key state
 * beyond the entry header every key already has: the 24-bit LRU clock
 * (seconds) and the 8-bit logarithmic LFU counter. What it adds is global
 * and bounded:
 *
 *   score = (255 - effective) << 24 | idle_s      (higher evicts first)
 *   effective = counter - idle_s / period         (floored at 0)
 *
 * 1. Frequency with history (TinyLFU's idea, in ARC's ghost lists): when a
 *    key is evicted, a 4-byte ghost slot chosen by its hash keeps a 24-bit
 *    fingerprint and its counter. A key created again while its ghost is
 *    there gets its counter back (at least one step above a new key's), so
 *    a key that keeps coming back is not judged a newcomer each time — the
 *    weakness of plain LFU when the cache holds a small part of the keys.
 * 2. Scan resistance: a key read once enters with the new-key counter and
 *    no history; it ranks below every key seen twice, and of equal counters
 *    the idler goes first. A pass over cold keys therefore evicts its own
 *    keys (and other once-seen ones), not the hot set; its keys never come
 *    back, so the ghosts they leave change nothing.
 * 3. Recency vs frequency, tuned by ARC's rule: ghosts are of two kinds —
 *    B1, keys evicted with the new-key counter (seen once: ARC's recency
 *    list), and B2, keys evicted with a higher one (ARC's frequency list).
 *    A key returning from B1 says recency was undervalued: the aging period
 *    shrinks, so idle keys lose their counts faster (toward LRU). A key
 *    returning from B2 says frequency was undervalued: the period grows
 *    (toward LFU with history). As in ARC the step is weighted by the other
 *    list's relative size (|B2|/|B1| for a B1 hit, |B1|/|B2| for a B2 hit,
 *    the returning ghost no longer counted; at most 64 steps per hit),
 *    so the period settles where both kinds of ghosts return at the same
 *    rate per ghost. The period is 2^lp seconds, lp in [0, 12] moved by
 *    0.05 per (weighted) hit; it starts at 12 (about an hour: LFU with
 *    history, the right choice for skewed popularity).
 *
 * Measured with a simulator of the sampled pool and then on the server
 * (docs/BENCHMARKS.md, utils/lt-load cache): on Zipf(0.99) over 1M keys
 * with room for ~5% of them, the hit ratio is LFU's plus ~0.5 point; with
 * popularity that moves (the hot set shifted every 200K requests) LFU
 * falls 4 points below LRU and this policy lands within 0.5 point of LRU,
 * its period having shrunk to ~1 s; with a 300K-key scan it keeps the hot
 * set (see the benchmark rows).
 *
 * Ghost slots: _Atomic uint32_t, fingerprint << 8 | counter, 0 = empty;
 * the fingerprint has its top bit set, so a used slot is never 0. Counts of
 * used B1/B2 slots (nb1, nb2) are kept with the slot they describe: a slot
 * changes only by exchange (record) or compare-and-swap to 0 (consume),
 * and whoever changed it adjusts the counts, so they stay exact.
 * Invariants: 0 <= lp_q10 <= LP_MAX_Q10; nb1 + nb2 <= KS_ADAPT_GHOST_SLOTS.
 * Called by: evict.c (score, evicted), keyspace.c (admit).
 */
#include "engine/adaptive.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "engine/entry_int.h"

#define LP_MAX_Q10 (12 * 1024) /* period 4096 s */
#define LP_STEP_Q10 51         /* 0.05 in log2 units */
#define LP_WEIGHT_MAX 64       /* bound on one hit's weighted step */

struct ks_adapt {
    _Atomic int32_t lp_q10; /* log2(period in seconds) * 1024 */
    _Atomic int64_t nb1, nb2;
    _Atomic uint64_t hits_b1, hits_b2;
    _Atomic uint32_t slot[KS_ADAPT_GHOST_SLOTS];
};

ks_adapt *ks_adapt_new(void) {
    ks_adapt *a = lt_xcalloc(1, sizeof(*a));
    atomic_store(&a->lp_q10, LP_MAX_Q10);
    return a;
}

void ks_adapt_free(ks_adapt *a) { free(a); }

/* The key's slot and fingerprint. Only bits below 40 are used: in cluster
 * slot mode the top bits of the hash are the slot (keyspace_int.h). */
static void ghost_pos(unsigned dbid, uint64_t hash, uint32_t *idx, uint32_t *fp) {
    uint64_t g = hash ^ (((uint64_t)dbid * 0x9e3779b97f4a7c15ull) >> 24);
    *idx = (uint32_t)(g & (KS_ADAPT_GHOST_SLOTS - 1));
    *fp = (uint32_t)((g >> 16) & 0x7fffff) | 0x800000;
}

static int slot_is_b2(uint32_t v) { return (v & 0xff) > KS_LFU_INIT_VAL; }

uint64_t ks_adapt_score(const ks_adapt *a, const ks_entry *e, int64_t now_ms) {
    uint64_t idle = ks_entry_idle_s(e, now_ms);
    unsigned c = ks_entry_lfu(e, now_ms);
    int32_t lp = atomic_load_explicit(&a->lp_q10, memory_order_relaxed);
    double steps = (double)idle / exp2((double)lp / 1024.0);
    unsigned eff = steps >= (double)c ? 0 : c - (unsigned)steps;
    return ((uint64_t)(255 - eff) << 24) | (idle > 0xffffff ? 0xffffff : idle);
}

void ks_adapt_evicted(ks_adapt *a, unsigned dbid, uint64_t hash, unsigned lfu) {
    uint32_t idx, fp;
    ghost_pos(dbid, hash, &idx, &fp);
    uint32_t v = fp << 8 | (lfu > 255 ? 255 : lfu);
    uint32_t old = atomic_exchange_explicit(&a->slot[idx], v, memory_order_relaxed);
    if (old) atomic_fetch_sub_explicit(slot_is_b2(old) ? &a->nb2 : &a->nb1, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(slot_is_b2(v) ? &a->nb2 : &a->nb1, 1, memory_order_relaxed);
}

/* Moves lp by one step (up: toward frequency) weighted by the ratio of
 * the other ghost list's size to this one's, as ARC moves its target. */
static void adapt_period(ks_adapt *a, int up) {
    int64_t nb1 = atomic_load_explicit(&a->nb1, memory_order_relaxed);
    int64_t nb2 = atomic_load_explicit(&a->nb2, memory_order_relaxed);
    int64_t mine = up ? nb2 : nb1, other = up ? nb1 : nb2;
    int64_t w = mine > 0 && other > mine ? other / mine : 1;
    if (w > LP_WEIGHT_MAX) w = LP_WEIGHT_MAX;
    int32_t cur = atomic_load_explicit(&a->lp_q10, memory_order_relaxed), next;
    do {
        next = cur + (int32_t)(up ? w : -w) * LP_STEP_Q10;
        if (next < 0) next = 0;
        if (next > LP_MAX_Q10) next = LP_MAX_Q10;
    } while (!atomic_compare_exchange_weak_explicit(&a->lp_q10, &cur, next,
                                                    memory_order_relaxed, memory_order_relaxed));
}

void ks_adapt_admit(ks_adapt *a, unsigned dbid, uint64_t hash, ks_entry *e, int64_t now_ms) {
    uint32_t idx, fp;
    ghost_pos(dbid, hash, &idx, &fp);
    uint32_t v = atomic_load_explicit(&a->slot[idx], memory_order_relaxed);
    if (!v || (v >> 8) != fp) return;
    if (!atomic_compare_exchange_strong_explicit(&a->slot[idx], &v, 0, memory_order_relaxed,
                                                 memory_order_relaxed))
        return; /* another thread took or replaced it */
    int b2 = slot_is_b2(v);
    atomic_fetch_sub_explicit(b2 ? &a->nb2 : &a->nb1, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(b2 ? &a->hits_b2 : &a->hits_b1, 1, memory_order_relaxed);
    unsigned c = v & 0xff;
    if (c <= KS_LFU_INIT_VAL) c = KS_LFU_INIT_VAL + 1;
    ks_entry_restore_access(e, now_ms, -1, (int)c);
    adapt_period(a, b2);
}

void ks_adapt_get_stats(const ks_adapt *a, ks_adapt_stats *out) {
    out->period_log2_q10 = atomic_load_explicit(&a->lp_q10, memory_order_relaxed);
    out->ghost_hits_b1 = atomic_load_explicit(&a->hits_b1, memory_order_relaxed);
    out->ghost_hits_b2 = atomic_load_explicit(&a->hits_b2, memory_order_relaxed);
}
