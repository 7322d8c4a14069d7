/* Unit tests of src/common/hll: dense register packing, sparse updates
 * agreeing with dense ones (same registers, same estimate) through
 * promotion, the estimator's error bounds, and corrupt sparse bodies. */
#include "../testlib.h"

#include <stdlib.h>
#include <string.h>

#include "common/hll.h"

TEST(dense_registers) {
    uint8_t *regs = calloc(1, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    for (long i = 0; i < HLL_REGISTERS; i++) hll_dense_set(regs, i, (unsigned)(i * 7) & 63);
    for (long i = 0; i < HLL_REGISTERS; i++) CHECK_EQ_INT(hll_dense_get(regs, i), (i * 7) & 63);
    hll_dense_set(regs, 5, 0);
    CHECK_EQ_INT(hll_dense_get(regs, 4), 28);
    CHECK_EQ_INT(hll_dense_get(regs, 5), 0);
    CHECK_EQ_INT(hll_dense_get(regs, 6), 42);
    free(regs);
}

TEST(sparse_matches_dense) {
    hll_buf s, d;
    hll_buf_init_empty(&s);
    CHECK_EQ_INT(s.len, 18);
    CHECK(hll_header_ok(s.p, s.len));
    CHECK_EQ_INT(hll_count(s.p, s.len, NULL), 0);
    hll_buf_init_empty(&d);
    CHECK_EQ_INT(hll_sparse_to_dense(&d), 0);
    CHECK_EQ_INT(d.len, HLL_DENSE_SIZE);
    int promoted_at = -1;
    for (int i = 0; i < 20000; i++) {
        char e[16];
        int n = snprintf(e, sizeof(e), "%d", i);
        int rs = hll_add(&s, e, (size_t)n, 3000);
        int rd = hll_add(&d, e, (size_t)n, 3000);
        CHECK_EQ_INT(rs, rd);
        if (promoted_at < 0 && hll_encoding(s.p) == HLL_DENSE) promoted_at = i;
        if (hll_encoding(s.p) == HLL_SPARSE) CHECK(s.len <= 3000);
    }
    CHECK(promoted_at > 100);
    CHECK(s.len == d.len && memcmp(s.p + HLL_HDR_SIZE, d.p + HLL_HDR_SIZE, s.len - 16) == 0);
    uint64_t c = hll_count(d.p, d.len, NULL);
    CHECK(c > 19000 && c < 21000);
    uint8_t *max = calloc(1, HLL_REGISTERS);
    CHECK_EQ_INT(hll_merge(max, d.p, d.len), 0);
    CHECK_EQ_INT(hll_count_raw(max), c);
    free(max);
    hll_buf_free(&s);
    hll_buf_free(&d);
}

TEST(corrupt_sparse) {
    static const uint8_t bodies[][4] = {{0x7f, 0xfe}, {0x7f, 0xff, 0x80}, {0x7f}};
    static const size_t lens[] = {2, 3, 1};
    uint8_t *max = calloc(1, HLL_REGISTERS);
    for (size_t i = 0; i < 3; i++) {
        uint8_t v[32] = "HYLL\x01";
        memcpy(v + 16, bodies[i], lens[i]);
        int invalid = 0;
        hll_count(v, 16 + lens[i], &invalid);
        CHECK_EQ_INT(invalid, 1);
        CHECK_EQ_INT(hll_merge(max, v, 16 + lens[i]), -1);
        hll_buf b;
        hll_buf_init_copy(&b, v, 16 + lens[i]);
        CHECK_EQ_INT(hll_sparse_to_dense(&b), -1);
        hll_buf_free(&b);
    }
    free(max);
}

TEST(murmur) {
    /* Same register and run length as Redis for a few elements (values
     * read from a real Redis with PFADD + PFDEBUG GETREG). */
    long idx;
    CHECK_EQ_INT(hll_pat_len("a", 1, &idx), 2);
    CHECK_EQ_INT(idx, 12711);
    CHECK_EQ_INT(hll_pat_len("b", 1, &idx), 1);
    CHECK_EQ_INT(idx, 15780);
}

int main(void) {
    RUN(dense_registers);
    RUN(sparse_matches_dense);
    RUN(corrupt_sparse);
    RUN(murmur);
    return testlib_finish();
}
