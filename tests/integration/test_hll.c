/*
 * HyperLogLog commands (t_hll.c, common/hll.c), differential against a real
 * redis-server 7.0: replies and the stored bytes (GET) compared after every
 * step, HLL values copied both ways with GET/SET counting the same, corrupt
 * and foreign values rejected with Redis's errors, RESP3, and the value
 * surviving a restart through the WAL. The randomized test uses a fixed
 * seed (TEST_SEED=N for another).
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTHLL "err:\"WRONGTYPE Key is not a valid HyperLogLog string value.\""
#define INVALID "err:\"INVALIDOBJ Corrupted HLL object detected\""

/* Stores v[0..len) under key on a hiredis connection. */
static void set_raw(redisContext *c, const char *key, const void *v, size_t len) {
    redisReply *r = redisCommand(c, "SET %s %b", key, v, len);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r) freeReplyObject(r);
}

/* GET key as bytes: malloc'd, *len set; NULL when absent. */
static char *get_raw(redisContext *c, const char *key, size_t *len) {
    redisReply *r = redisCommand(c, "GET %s", key);
    char *out = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        out = malloc(r->len + 1);
        memcpy(out, r->str, r->len);
        *len = r->len;
    }
    if (r) freeReplyObject(r);
    return out;
}

TEST(basics) {
    REQUIRE(difftest_start(NULL));
    EXPECT("int:0", "PFCOUNT", "h");
    EXPECT("int:1", "PFADD", "h", "a", "b", "c");
    EXPECT("int:0", "PFADD", "h", "a", "b");
    EXPECT("int:0", "PFADD", "h");
    EXPECT("int:1", "PFADD", "empty");
    EXPECT("int:0", "PFADD", "empty");
    EXPECT("int:0", "PFCOUNT", "empty");
    EXPECT("int:3", "PFCOUNT", "h");
    C("GET", "h"); /* the cached cardinality is in the header */
    EXPECT("int:3", "PFCOUNT", "h");
    EXPECT("int:1", "PFADD", "h", "d");
    C("GET", "h");
    EXPECT("int:4", "PFCOUNT", "h");
    EXPECT("int:1", "PFADD", "h2", "d", "e", "f");
    EXPECT("int:6", "PFCOUNT", "h", "h2");
    EXPECT("int:6", "PFCOUNT", "h", "h2", "nokey");
    EXPECT("status:\"OK\"", "PFMERGE", "m", "h", "h2");
    C("GET", "m");
    EXPECT("int:6", "PFCOUNT", "m");
    EXPECT("status:\"OK\"", "PFMERGE", "m");
    EXPECT("status:\"OK\"", "PFMERGE", "m2");
    EXPECT("int:0", "PFCOUNT", "m2");
    C("GET", "m2");
    EXPECT("status:\"sparse\"", "PFDEBUG", "ENCODING", "h");
    C("PFDEBUG", "DECODE", "h");
    C("PFDEBUG", "GETREG", "h2");
    EXPECT("status:\"dense\"", "PFDEBUG", "ENCODING", "h2");
    EXPECT("err:\"ERR HLL encoding is not sparse\"", "PFDEBUG", "DECODE", "h2");
    C("GET", "h2");
    EXPECT("int:1", "PFDEBUG", "TODENSE", "h");
    EXPECT("int:0", "PFDEBUG", "TODENSE", "h");
    C("GET", "h");
    EXPECT("int:4", "PFCOUNT", "h");
    EXPECT("err:\"ERR The specified key does not exist\"", "PFDEBUG", "ENCODING", "nokey");
    EXPECT("err:\"ERR Unknown PFDEBUG subcommand 'Foo'\"", "PFDEBUG", "Foo", "h");
    EXPECT("err:\"ERR The specified key does not exist\"", "PFDEBUG", "Foo", "nokey");
    /* Merging a dense source makes the destination dense. */
    EXPECT("status:\"OK\"", "PFMERGE", "m3", "h");
    EXPECT("status:\"dense\"", "PFDEBUG", "ENCODING", "m3");
    C("GET", "m3");
    EXPECT("err:\"ERR wrong number of arguments for 'pfadd' command\"", "PFADD");
    EXPECT("err:\"ERR wrong number of arguments for 'pfcount' command\"", "PFCOUNT");
    EXPECT("err:\"ERR wrong number of arguments for 'pfmerge' command\"", "PFMERGE");
    EXPECT("err:\"ERR wrong number of arguments for 'pfdebug' command\"", "PFDEBUG", "GETREG");
    EXPECT("err:\"ERR wrong number of arguments for 'pfselftest' command\"", "PFSELFTEST", "x");
}

TEST(not_an_hll) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "s", "hello");
    EXPECT(NOTHLL, "PFADD", "s", "a");
    EXPECT(NOTHLL, "PFCOUNT", "s");
    EXPECT(NOTHLL, "PFCOUNT", "nokey", "s");
    EXPECT(NOTHLL, "PFMERGE", "d", "s");
    EXPECT(NOTHLL, "PFMERGE", "s", "d");
    EXPECT("int:0", "EXISTS", "d");
    EXPECT(NOTHLL, "PFDEBUG", "GETREG", "s");
    EXPECT("status:\"OK\"", "SET", "i", "12345678901234567");
    EXPECT(NOTHLL, "PFADD", "i", "a");
    EXPECT("status:\"OK\"", "SET", "hdr", "HYLL");
    EXPECT(NOTHLL, "PFCOUNT", "hdr");
    /* Unknown encoding byte, and a dense value of the wrong size. */
    set_raw(L, "enc", "HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18);
    if (R) set_raw(R, "enc", "HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18);
    EXPECT(NOTHLL, "PFCOUNT", "enc");
    set_raw(L, "dn", "HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18);
    if (R) set_raw(R, "dn", "HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18);
    EXPECT(NOTHLL, "PFADD", "dn", "x");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "PFADD", "wt", "a");
        EXPECT(WRONGTYPE, "PFCOUNT", "wt");
        EXPECT(WRONGTYPE, "PFCOUNT", "h", "wt");
        EXPECT(WRONGTYPE, "PFMERGE", "wt", "h");
        EXPECT(WRONGTYPE, "PFDEBUG", "ENCODING", "wt");
    }
}

/* Sparse bodies that do not cover exactly 16384 registers. */
TEST(corrupt) {
    REQUIRE(difftest_start(NULL));
    struct {
        const char *body;
        size_t len;
    } bodies[] = {
        {"\x7f\xfe", 2},          /* XZERO of 16383 */
        {"\x7f\xff\x80", 3},      /* one register too many */
        {"\x7f", 1},              /* truncated XZERO */
        {"\x7f\xfe\x80\x80", 4},  /* VAL overflowing */
        {"", 0},                  /* no registers */
        {"\x3f\x7f\xbe", 3},      /* z:64 + XZERO 16319 + ... wrong */
    };
    for (size_t i = 0; i < NELEM(bodies); i++) {
        char v[64] = "HYLL\x01";
        v[15] = (char)0x80; /* cache invalid */
        memcpy(v + 16, bodies[i].body, bodies[i].len);
        set_raw(L, "c", v, 16 + bodies[i].len);
        if (R) set_raw(R, "c", v, 16 + bodies[i].len);
        C("PFCOUNT", "c");
        C("PFCOUNT", "c", "nokey");
        C("PFADD", "c", "a", "b", "c", "d");
        C("GET", "c");
        C("PFMERGE", "d", "c");
        C("PFDEBUG", "GETREG", "c");
        C("PFDEBUG", "DECODE", "c");
    }
    char v[32] = "HYLL\x01";
    v[15] = (char)0x80;
    memcpy(v + 16, "\x7f\xfe", 2);
    set_raw(L, "c", v, 18);
    if (R) set_raw(R, "c", v, 18);
    EXPECT(INVALID, "PFCOUNT", "c");
    EXPECT(INVALID, "PFCOUNT", "c", "c");
    EXPECT(INVALID, "PFMERGE", "d", "c");
    EXPECT(INVALID, "PFDEBUG", "TODENSE", "c");
    /* A valid cached cardinality is returned without looking at the body. */
    memcpy(v + 8, "\x05\0\0\0\0\0\0\0", 8);
    set_raw(L, "c", v, 18);
    if (R) set_raw(R, "c", v, 18);
    EXPECT("int:5", "PFCOUNT", "c");
}

/* Sparse growth, VAL merges, and promotion at hll-sparse-max-bytes. */
TEST(sparse_to_dense) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"hll-sparse-max-bytes\",bulk:\"3000\"]", "CONFIG", "GET",
           "hll-sparse-max-bytes");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hll-sparse-max-bytes", "200");
    char e[32];
    for (int i = 0; i < 400; i++) {
        snprintf(e, sizeof(e), "e%d", i);
        C("PFADD", "h", e);
        C("GET", "h");
        if (i % 37 == 0) C("PFCOUNT", "h");
    }
    EXPECT("status:\"dense\"", "PFDEBUG", "ENCODING", "h");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "hll-sparse-max-bytes", "3000");
    for (int i = 0; i < 3000; i += 7) {
        char e2[32];
        snprintf(e, sizeof(e), "x%d", i);
        snprintf(e2, sizeof(e2), "y%d", i * 3);
        C("PFADD", "s", e, e2);
        if (i % 70 == 0) C("GET", "s");
    }
    C("GET", "s");
    C("PFDEBUG", "ENCODING", "s");
    C("PFCOUNT", "s");
    C("PFCOUNT", "s", "h");
    EXPECT("status:\"OK\"", "PFMERGE", "m", "s");
    C("GET", "m");
}

/* HLLs built on one server, copied with GET/SET, count the same on the
 * other, and keep growing to the same bytes. */
TEST(copy_between_servers) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    int sizes[] = {10, 300, 20000};
    for (size_t s = 0; s < NELEM(sizes); s++) {
        char key[16], e[32];
        snprintf(key, sizeof(key), "r%zu", s);
        for (int i = 0; i < sizes[s]; i++) {
            snprintf(e, sizeof(e), "el:%d", i);
            redisReply *r = redisCommand(R, "PFADD %s %s", key, e);
            if (r) freeReplyObject(r);
            r = redisCommand(L, "PFADD l%s %s", key, e);
            if (r) freeReplyObject(r);
        }
        size_t len, llen;
        char *v = get_raw(R, key, &len);
        REQUIRE(v != NULL);
        char lkey[20];
        snprintf(lkey, sizeof(lkey), "l%s", key);
        char *lv = get_raw(L, lkey, &llen);
        REQUIRE(lv != NULL);
        CHECK(len == llen && memcmp(v, lv, len) == 0); /* same bytes built */
        set_raw(L, key, v, len);          /* Redis -> Lightning */
        set_raw(R, lkey, lv, llen);       /* Lightning -> Redis */
        C("PFCOUNT", key);
        C("PFCOUNT", lkey);
        C("PFCOUNT", key, lkey);
        C("PFADD", key, "one more", "and another");
        C("GET", key);
        C("PFCOUNT", key);
        free(v);
        free(lv);
    }
}

TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20261207);
    const char *keys[] = {"h0", "h1", "h2"};
    const char *limits[] = {"50", "300", "3000"};
    char elems[8][24];
    for (int i = 0; i < 1500; i++) {
        const char *k = PICK(keys);
        int n = 1 + rand() % 8, spread = rand() % 3 == 0 ? 50 : 100000;
        for (int j = 0; j < n; j++) snprintf(elems[j], sizeof(elems[j]), "%d", rand() % spread);
        switch (rand() % 12) {
        case 0: C("PFCOUNT", k); break;
        case 1: C("PFCOUNT", PICK(keys), PICK(keys)); break;
        case 2: C("PFMERGE", k, PICK(keys), PICK(keys)); break;
        case 3: C("PFDEBUG", "ENCODING", k); break;
        case 4:
            if (rand() % 10 == 0) C("CONFIG", "SET", "hll-sparse-max-bytes", PICK(limits));
            else C("PFDEBUG", "DECODE", k);
            break;
        case 5:
            if (rand() % 20 == 0) C("DEL", k);
            else C("PFADD", k, elems[0]);
            break;
        default:
            C("PFADD", k, elems[0], n > 1 ? elems[1] : "a", n > 2 ? elems[2] : "b",
              n > 3 ? elems[3] : "c");
        }
        C("GET", k);
        if (difftest_failed_at(i, seed, "GET %s", keys, NELEM(keys))) return;
    }
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFADD", "h", "a", "b"), "int:1");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFCOUNT", "h"), "int:2");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFDEBUG", "ENCODING", "h"), "status:\"sparse\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFDEBUG", "DECODE", "h"), "bulk:\"Z:12711 v:2,1 Z:3068 v:1,1 Z:603\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFMERGE", "m", "h"), "status:\"OK\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PFCOUNT", "nokey"), "int:0");
}

TEST(selftest) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "PFSELFTEST");
}

/* The TTL survives updates, and the value (cache included) a kill -9 and
 * WAL replay (PFADD, PFMERGE and the cache-writing PFCOUNT replayed). */
TEST(ttl_and_restart) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(cmd(L, "CONFIG SET appendfsync always"), "status:\"OK\"");
    EXPECT("int:1", "PFADD", "h", "a", "b", "c");
    EXPECT("int:1", "EXPIRE", "h", "1000");
    EXPECT("int:1", "PFADD", "h", "d");
    EXPECT("int:4", "PFCOUNT", "h");
    EXPECT("status:\"OK\"", "PFMERGE", "h", "h");
    CHECK(strcmp(C("TTL", "h"), "int:1000") <= 0);
    CHECK(strcmp(cmd(L, "TTL h"), "int:-1") != 0);
    char e[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(e, sizeof(e), "x%d", i);
        C("PFADD", "d", e);
    }
    C("PFCOUNT", "d");
    size_t len1, len2, len3, len4;
    char *before = get_raw(L, "d", &len1), *hb = get_raw(L, "h", &len3);
    REQUIRE(before && hb);
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    char *after = get_raw(L, "d", &len2), *ha = get_raw(L, "h", &len4);
    CHECK(after && len1 == len2 && memcmp(before, after, len1) == 0);
    CHECK(ha && len3 == len4 && memcmp(hb, ha, len3) == 0);
    CHECK_EQ_STR(cmd(L, "PFCOUNT h"), "int:4");
    free(before);
    free(after);
    free(hb);
    free(ha);
}

int main(void) {
    RUN(basics);
    RUN(not_an_hll);
    RUN(corrupt);
    RUN(sparse_to_dense);
    RUN(copy_between_servers);
    RUN(random_differential);
    RUN(resp3);
    RUN(selftest);
    RUN(ttl_and_restart);
    return testlib_finish();
}
