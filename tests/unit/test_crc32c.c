/* Unit tests of src/common/crc32c: RFC 3720 / iSCSI vectors, chaining, and
 * the hardware and table implementations agreeing on random buffers at
 * every alignment. */
#include "../testlib.h"

#include <stdlib.h>

#include "common/crc32c.h"

TEST(known_vectors) {
    unsigned char buf[48];
    CHECK_EQ_INT(crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_INT(crc32c(0, "", 0), 0);
    CHECK_EQ_INT(crc32c(0, "a", 1), 0xC1D04330u);
    memset(buf, 0, 32);
    CHECK_EQ_INT(crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    CHECK_EQ_INT(crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)i;
    CHECK_EQ_INT(crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (unsigned char)(31 - i);
    CHECK_EQ_INT(crc32c(0, buf, 32), 0x113FDB5Cu);
    CHECK_EQ_INT(crc32c_sw(0, "123456789", 9), 0xE3069283u);
}

TEST(chaining) {
    const char *s = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);
    uint32_t whole = crc32c(0, s, n);
    CHECK_EQ_INT(whole, 0x22620404u);
    for (size_t cut = 0; cut <= n; cut++)
        CHECK_EQ_INT(crc32c(crc32c(0, s, cut), s + cut, n - cut), whole);
}

TEST(hw_matches_table) {
    if (!crc32c_hw_available()) {
        testlib_skip("no SSE4.2 on this CPU");
        return;
    }
    unsigned char buf[4096 + 16];
    srand(42);
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (unsigned char)rand();
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 300; len += 7)
            CHECK_EQ_INT(crc32c_hw(0, buf + off, len), crc32c_sw(0, buf + off, len));
    CHECK_EQ_INT(crc32c_hw(0, buf, 4096), crc32c_sw(0, buf, 4096));
}

int main(void) {
    RUN(known_vectors);
    RUN(chaining);
    RUN(hw_matches_table);
    return testlib_finish();
}
