/*
 * Unit tests of engine/adaptive.c: a returning key gets its counter back
 * from its ghost (once: the ghost is consumed), other keys are untouched,
 * ARC's rule moves the aging period (B1 returns shorten it, B2 returns
 * lengthen it, within bounds), and the score ranks a read-twice key above
 * a new one and, with a short period, an idle counter below a fresh one.
 */
#include "../testlib.h"

#include "engine/adaptive.h"
#include "engine/entry_int.h"

/* A well-spread hash for key number i (slots and fingerprints differ). */
static uint64_t H(uint64_t i) { return i * 0x9e3779b97f4a7c15ull; }

static ks_entry *new_key(int64_t now_ms) {
    ks_entry *e = entry_new_raw("k", 1, "v", 1, -1);
    entry_init_access(e, now_ms);
    return e;
}

TEST(ghost_restores_the_counter_once) {
    ks_adapt *a = ks_adapt_new();
    int64_t now = 1000000;
    ks_adapt_evicted(a, 0, 0x123456789abcull, 40);
    ks_entry *e = new_key(now);
    CHECK_EQ_INT(ks_entry_lfu(e, now), KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 1, 0x123456789abcull, e, now); /* another database */
    CHECK_EQ_INT(ks_entry_lfu(e, now), KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 0, 0x123456789abdull, e, now); /* another key */
    CHECK_EQ_INT(ks_entry_lfu(e, now), KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 0, 0x123456789abcull, e, now);
    CHECK_EQ_INT(ks_entry_lfu(e, now), 40);
    ks_entry *e2 = new_key(now);
    ks_adapt_admit(a, 0, 0x123456789abcull, e2, now); /* consumed */
    CHECK_EQ_INT(ks_entry_lfu(e2, now), KS_LFU_INIT_VAL);
    /* A key evicted as a newcomer comes back one above a newcomer. */
    ks_adapt_evicted(a, 0, 77, KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 0, 77, e2, now);
    CHECK_EQ_INT(ks_entry_lfu(e2, now), KS_LFU_INIT_VAL + 1);
    ks_adapt_stats st;
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.ghost_hits_b2, 1);
    CHECK_EQ_INT(st.ghost_hits_b1, 1);
    entry_free(e);
    entry_free(e2);
    ks_adapt_free(a);
}

TEST(arc_rule_moves_the_period_within_bounds) {
    ks_adapt *a = ks_adapt_new();
    ks_adapt_stats st;
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.period_log2_q10, 12 * 1024); /* starts as LFU */
    int64_t now = 5000000;
    ks_entry *e = new_key(now);
    /* Keys evicted as newcomers keep coming back: toward recency. */
    for (uint64_t h = 1; h <= 400; h++) {
        ks_adapt_evicted(a, 0, H(h), KS_LFU_INIT_VAL);
        ks_adapt_admit(a, 0, H(h), e, now);
    }
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.period_log2_q10, 0);
    /* Frequent keys come back: toward frequency, up to the bound. */
    for (uint64_t h = 1; h <= 400; h++) {
        ks_adapt_evicted(a, 0, H(h), 20);
        ks_adapt_admit(a, 0, H(h), e, now);
    }
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.period_log2_q10, 12 * 1024);
    /* ARC's weighting: with many B1 ghosts waiting, one B2 return moves
     * further than one step. */
    for (uint64_t h = 1; h <= 400; h++) ks_adapt_evicted(a, 0, H(h), KS_LFU_INIT_VAL);
    ks_adapt_evicted(a, 0, H(999u), KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 0, H(999u), e, now); /* B1 return: -1 step (nb2 = 0) */
    ks_adapt_get_stats(a, &st);
    int32_t lp = st.period_log2_q10;
    CHECK(lp < 12 * 1024);
    /* A B2 return while 400 B1 ghosts and 1 other B2 ghost wait: the step
     * is weighted 400 / 1, capped at 64 steps. */
    ks_adapt_evicted(a, 0, H(1000u), 30);
    ks_adapt_evicted(a, 0, H(1001u), 30);
    ks_adapt_admit(a, 0, H(1000u), e, now);
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.period_log2_q10, (lp + 64 * 51 > 12 * 1024 ? 12 * 1024 : lp + 64 * 51));
    /* With equal lists, one step. */
    int32_t lp2 = st.period_log2_q10;
    ks_adapt_evicted(a, 0, H(1002u), KS_LFU_INIT_VAL);
    ks_adapt_admit(a, 0, H(1002u), e, now); /* B1: 400 B1 vs 1 B2: one step down */
    ks_adapt_get_stats(a, &st);
    CHECK_EQ_INT(st.period_log2_q10, lp2 - 51);
    entry_free(e);
    ks_adapt_free(a);
}

TEST(score_ranks_frequency_then_idleness) {
    ks_adapt *a = ks_adapt_new();
    int64_t now = 9000000000;
    ks_entry *fresh = new_key(now), *twice = new_key(now), *old = new_key(now - 100000);
    ks_entry_restore_access(twice, now, -1, KS_LFU_INIT_VAL + 1);
    /* Read twice ranks above a newcomer (lower score: evicted later); of
     * two newcomers the idler goes first. */
    CHECK(ks_adapt_score(a, twice, now) < ks_adapt_score(a, fresh, now));
    CHECK(ks_adapt_score(a, old, now) > ks_adapt_score(a, fresh, now));
    /* With the shortest period (after B1 returns), 100 s idle wears a
     * counter of 20 down to 0: below a fresh newcomer. */
    ks_entry_restore_access(old, now, 100, 20);
    CHECK(ks_adapt_score(a, old, now) < ks_adapt_score(a, fresh, now));
    for (uint64_t h = 1; h <= 400; h++) {
        ks_adapt_evicted(a, 0, H(h), KS_LFU_INIT_VAL);
        ks_adapt_admit(a, 0, H(h), fresh, now);
    }
    ks_entry_restore_access(fresh, now, 0, KS_LFU_INIT_VAL);
    CHECK(ks_adapt_score(a, old, now) > ks_adapt_score(a, fresh, now));
    entry_free(fresh);
    entry_free(twice);
    entry_free(old);
    ks_adapt_free(a);
}

int main(void) {
    RUN(ghost_restores_the_counter_once);
    RUN(arc_rule_moves_the_period_within_bounds);
    RUN(score_ranks_frequency_then_idleness);
    return testlib_finish();
}
