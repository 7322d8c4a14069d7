/* Unit tests of src/common: integer parsing/formatting with Redis's rules,
 * glob matching, siphash vectors, random helpers. */
#include "../testlib.h"

#include "common/random.h"
#include "common/sha1.h"
#include "common/sha256.h"
#include "common/siphash.h"
#include "common/util.h"

static int s2ll(const char *s, long long *v) {
    return lt_string2ll(s, strlen(s), v);
}

TEST(string2ll_accepts) {
    long long v = 7;
    CHECK(s2ll("0", &v) && v == 0);
    CHECK(s2ll("1", &v) && v == 1);
    CHECK(s2ll("-1", &v) && v == -1);
    CHECK(s2ll("9223372036854775807", &v) && v == 9223372036854775807LL);
    CHECK(s2ll("-9223372036854775808", &v) && v == (-9223372036854775807LL - 1));
    CHECK(s2ll("1234567890", &v) && v == 1234567890);
}

TEST(string2ll_rejects) {
    long long v = 42;
    const char *bad[] = {"", "-", "+1", " 1", "1 ", "01", "-0", "00", "1a",
                         "9223372036854775808", "-9223372036854775809",
                         "18446744073709551616", "123456789012345678901", "0x1",
                         "1.0", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (s2ll(bad[i], &v)) testlib_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
    }
    CHECK_EQ_INT(v, 42);
    CHECK(!lt_string2ll("12", 0, &v));
    CHECK(lt_string2ll("123", 2, &v) && v == 12); /* length-bounded */
}

TEST(ll2string_roundtrip) {
    char buf[LT_LLSTR_SIZE];
    long long vals[] = {0, 1, -1, 10, -10, 9223372036854775807LL,
                        -9223372036854775807LL - 1, 123456789};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = lt_ll2string(buf, sizeof(buf), vals[i]);
        long long back;
        CHECK(n == strlen(buf));
        CHECK(lt_string2ll(buf, n, &back) && back == vals[i]);
    }
    CHECK_EQ_STR((lt_ll2string(buf, sizeof(buf), -9223372036854775807LL - 1), buf),
                 "-9223372036854775808");
    char small[3];
    CHECK_EQ_INT(lt_ll2string(small, sizeof(small), 123), 0);
    CHECK_EQ_INT(lt_ll2string(small, sizeof(small), 12), 2);
}

static int m(const char *p, const char *s) {
    return lt_stringmatchlen(p, strlen(p), s, strlen(s), 0);
}

TEST(glob_match) {
    CHECK(m("*", ""));
    CHECK(m("*", "anything"));
    CHECK(m("h?llo", "hello"));
    CHECK(!m("h?llo", "hllo"));
    CHECK(m("h*llo", "hllo"));
    CHECK(m("h*llo", "heeeello"));
    CHECK(m("h[ae]llo", "hallo"));
    CHECK(!m("h[ae]llo", "hillo"));
    CHECK(m("h[^e]llo", "hallo"));
    CHECK(!m("h[^e]llo", "hello"));
    CHECK(m("h[a-b]llo", "hbllo"));
    CHECK(m("h[b-a]llo", "hallo")); /* reversed range */
    CHECK(!m("h[a-b]llo", "hcllo"));
    CHECK(m("h\\*llo", "h*llo"));
    CHECK(!m("h\\*llo", "hello"));
    CHECK(m("a*b*c", "aXXbYYc"));
    CHECK(!m("a*b*c", "aXXbYY"));
    CHECK(m("*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    CHECK(!m("*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    CHECK(m("user:[0-9]*", "user:1234"));
    CHECK(m("[abc", "a"));  /* unterminated set ends at pattern end */
    CHECK(m("[]]", "]") == 0);
    CHECK(m("\\", "\\"));
    CHECK(m("[\\]]", "]"));
    CHECK(lt_stringmatchlen("HELLO", 5, "hello", 5, 1));
    CHECK(!lt_stringmatchlen("HELLO", 5, "hello", 5, 0));
    CHECK(m("a**?", "ab"));
    CHECK(!m("?", ""));
}

TEST(siphash_vectors) {
    uint8_t key[16];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    CHECK(lt_siphash("", 0, key) == 0x726fdb47dd0e0e31ULL);
    uint8_t one = 0;
    CHECK(lt_siphash(&one, 1, key) == 0x74f839c593dc67fdULL);
    /* 1-3 differs from 2-4 and is deterministic. */
    CHECK(lt_siphash13("abc", 3, key) == lt_siphash13("abc", 3, key));
    CHECK(lt_siphash13("abc", 3, key) != lt_siphash("abc", 3, key));
}

static const char *sha1_hex(const void *p, size_t n) {
    static char out[41];
    unsigned char d[LT_SHA1_LEN];
    lt_sha1(p, n, d);
    for (int i = 0; i < LT_SHA1_LEN; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
    return out;
}

/* FIPS 180 test vectors, and streaming in odd pieces. */
TEST(sha1_vectors) {
    CHECK_EQ_STR(sha1_hex("", 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK_EQ_STR(sha1_hex("abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK_EQ_STR(sha1_hex(two, strlen(two)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    static char mil[1000000];
    memset(mil, 'a', sizeof mil);
    CHECK_EQ_STR(sha1_hex(mil, sizeof mil), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    lt_sha1_ctx c;
    lt_sha1_init(&c);
    for (size_t off = 0, step = 1; off < sizeof mil; off += step, step = step * 3 % 1000 + 1)
        lt_sha1_update(&c, mil + off, off + step > sizeof mil ? sizeof mil - off : step);
    unsigned char d[LT_SHA1_LEN];
    lt_sha1_final(&c, d);
    CHECK(memcmp(d, (unsigned char[]){0x34, 0xaa, 0x97, 0x3c}, 4) == 0);
}

/* FIPS 180 test vectors, streaming in odd pieces, and the hex form ACL
 * password hashes use. */
TEST(sha256_vectors) {
    char hex[2 * LT_SHA256_LEN + 1];
    lt_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    lt_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    lt_sha256_hex(two, strlen(two), hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    static char mil[1000000];
    memset(mil, 'a', sizeof mil);
    lt_sha256_hex(mil, sizeof mil, hex);
    CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    lt_sha256_ctx c;
    lt_sha256_init(&c);
    for (size_t off = 0, step = 1; off < sizeof mil; off += step, step = step * 3 % 1000 + 1)
        lt_sha256_update(&c, mil + off, off + step > sizeof mil ? sizeof mil - off : step);
    unsigned char d[LT_SHA256_LEN];
    lt_sha256_final(&c, d);
    CHECK(memcmp(d, (unsigned char[]){0xcd, 0xc7, 0x6e, 0x5c}, 4) == 0);
}

TEST(random_below) {
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint64_t r = lt_random_below(10);
        REQUIRE(r < 10);
        seen[r]++;
    }
    for (int i = 0; i < 10; i++) CHECK(seen[i] > 800);
}

int main(void) {
    RUN(string2ll_accepts);
    RUN(string2ll_rejects);
    RUN(ll2string_roundtrip);
    RUN(glob_match);
    RUN(siphash_vectors);
    RUN(sha1_vectors);
    RUN(sha256_vectors);
    RUN(random_below);
    return testlib_finish();
}
