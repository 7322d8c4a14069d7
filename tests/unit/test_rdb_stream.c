/* Unit tests of the RDB stream codec (src/engine/rdb_stream.c): random
 * streams (entries with varied fields and integer-looking values, deletes,
 * trims, small nodes, groups, consumers, PELs) encoded and decoded again
 * equal to the original (same snapshot bytes, same first_id and node
 * grouping); every truncation of an encoding refused; a hand-built
 * RDB_TYPE_STREAM_LISTPACKS (15) value read with Redis 7.0's defaults for
 * the metadata that type lacks; DUMP / RESTORE of a stream through rdb.c
 * once the codec is registered. Fixed seed, TEST_SEED=N for others. */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/keyspace.h"
#include "engine/rdb.h"
#include "engine/rdb_stream.h"
#include "engine/streamobj.h"
#include "lightning.h"

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void seed(void) {
    const char *e = getenv("TEST_SEED");
    rng_state = e ? strtoull(e, NULL, 10) | 1 : 0x9E3779B97F4A7C15ULL;
}

typedef struct sbuf {
    unsigned char *p;
    size_t len, cap;
} sbuf;
static int sbuf_emit(void *ctx, const void *p, size_t n) {
    sbuf *b = ctx;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* The snapshot encoding: entries, metadata, groups, PELs, times. */
static sbuf snap(const stream *s) {
    sbuf b = {0};
    stream_encode(s, sbuf_emit, &b);
    return b;
}

/* Number of nodes, as XINFO's radix-tree-keys reads it. */
static size_t nodes(const stream *s) { return s->nnodes; }

static const char *vals[] = {"0", "-1", "127", "128", "-4096", "4095", "4096", "-32769",
                             "8388608", "2147483648", "-9223372036854775808", "007", "",
                             "abc", "a longer value that is not an integer at all"};

static stream *random_stream(void) {
    stream *s = stream_new();
    uint64_t me = 1 + rnd() % 20, mb = 200 + rnd() % 2000;
    stream_id id = {rnd() % 3 ? 1 + rnd() % 1000 : UINT64_MAX - 1000, 0};
    size_t n = rnd() % 400;
    for (size_t i = 0; i < n; i++) {
        if (rnd() % 3) id.seq += 1 + rnd() % 3;
        else id = (stream_id){id.ms + 1 + rnd() % 5, rnd() % 4};
        size_t nf = 1 + rnd() % 4;
        const char *f[4], *v[4];
        size_t fl[4], vl[4];
        const char *names[] = {"a", "b", "12", "field"};
        int same = rnd() % 4 != 0;
        for (size_t j = 0; j < nf; j++) {
            f[j] = same ? names[j] : vals[rnd() % (sizeof(vals) / sizeof(*vals))];
            v[j] = vals[rnd() % (sizeof(vals) / sizeof(*vals))];
            fl[j] = strlen(f[j]);
            vl[j] = strlen(v[j]);
        }
        stream_append(s, &id, nf, f, fl, v, vl, mb, me);
    }
    /* Deletes (some nodes emptied whole), then sometimes a trim. */
    size_t ndel = n ? rnd() % (n / 2 + 1) : 0;
    for (size_t i = 0; i < ndel && s->length; i++) {
        stream_iter it;
        stream_entry e;
        stream_iter_init(&it, s, NULL, NULL, rnd() & 1);
        size_t skip = rnd() % s->length;
        while (stream_iter_next(&it, &e) && skip--) {
        }
        stream_delete(s, &e.id);
    }
    if (rnd() % 3 == 0) stream_trim(s, STREAM_TRIM_MAXLEN, s->length / 2, NULL, rnd() & 1, 0);
    /* Groups. */
    size_t ng = rnd() % 4;
    for (size_t g = 0; g < ng; g++) {
        char gname[16];
        snprintf(gname, sizeof(gname), g == 1 ? "%zu" : "grp%zu", g);
        stream_id gl = {rnd() % 2000, rnd() % 3};
        stream_cg *cg = stream_cg_create(s, gname, strlen(gname), &gl,
                                         rnd() % 3 ? (long long)(rnd() % 500) : -1);
        if (!cg) continue;
        size_t nc = rnd() % 4;
        for (size_t c = 0; c < nc; c++) {
            char cname[16];
            snprintf(cname, sizeof(cname), "c%zu", c);
            stream_consumer *con =
                stream_consumer_create(cg, cname, strlen(cname), (int64_t)(rnd() % 10000000));
            size_t np = rnd() % 30;
            for (size_t k = 0; k < np; k++) {
                stream_id pid = {rnd() % 1500, rnd() % 4};
                if (stream_cg_nack(cg, &pid)) continue;
                stream_cg_add_nack(cg, con, &pid, (int64_t)(rnd() % 100000000) - 50,
                                   1 + rnd() % 5);
            }
        }
    }
    return s;
}

TEST(random_round_trip) {
    seed();
    for (int round = 0; round < 300; round++) {
        stream *s = random_stream();
        REQUIRE(stream_check(s) == NULL);
        rdb_buf b = {0};
        CHECK_EQ_INT(rdb_stream_encode(&b, s), RDB_TYPE_STREAM_LISTPACKS_2);
        char why[160] = "";
        size_t pos = 0;
        stream *t = rdb_stream_decode(b.p, b.len, &pos, RDB_TYPE_STREAM_LISTPACKS_2, why,
                                      sizeof(why));
        if (!t) fprintf(stderr, "# round %d: %s\n", round, why);
        REQUIRE(t != NULL);
        CHECK_EQ_INT(pos, b.len);
        CHECK(stream_check(t) == NULL);
        sbuf a = snap(s), c = snap(t);
        CHECK(a.len == c.len && memcmp(a.p, c.p, a.len) == 0);
        CHECK(stream_id_cmp(&s->first_id, &t->first_id) == 0);
        CHECK_EQ_INT(nodes(s), nodes(t));
        /* Every truncation is refused (a few positions per round). */
        for (int k = 0; k < 8 && b.len; k++) {
            size_t cut = rnd() % b.len;
            pos = 0;
            stream *u = rdb_stream_decode(b.p, cut, &pos, RDB_TYPE_STREAM_LISTPACKS_2, why,
                                          sizeof(why));
            CHECK(u == NULL);
            if (u) stream_free(u);
        }
        free(a.p);
        free(c.p);
        free(b.p);
        stream_free(s);
        stream_free(t);
    }
}

TEST(every_truncation_refused) {
    seed();
    stream *s = NULL;
    while (!s || s->ngroups == 0 || s->length < 5) {
        if (s) stream_free(s);
        s = random_stream();
    }
    rdb_buf b = {0};
    CHECK_EQ_INT(rdb_stream_encode(&b, s), RDB_TYPE_STREAM_LISTPACKS_2);
    for (size_t cut = 0; cut < b.len; cut++) {
        size_t pos = 0;
        char why[160] = "";
        stream *u = rdb_stream_decode(b.p, cut, &pos, RDB_TYPE_STREAM_LISTPACKS_2, why,
                                      sizeof(why));
        CHECK(u == NULL && why[0] != 0);
        if (u) stream_free(u);
    }
    free(b.p);
    stream_free(s);
}

/* ---- Type 15 by hand ------------------------------------------------------------ */

static void u8(rdb_buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    rdb_buf_append(b, &c, 1);
}
static void id16(rdb_buf *b, uint64_t ms, uint64_t seq) {
    for (int i = 0; i < 8; i++) u8(b, (unsigned)(ms >> (56 - 8 * i)) & 0xFF);
    for (int i = 0; i < 8; i++) u8(b, (unsigned)(seq >> (56 - 8 * i)) & 0xFF);
}
static void lp_uint(rdb_buf *b, unsigned v) { /* < 128 */
    u8(b, v);
    u8(b, 1);
}
static void lp_s(rdb_buf *b, const char *s) { /* < 64 bytes */
    size_t n = strlen(s);
    u8(b, 0x80 | (unsigned)n);
    rdb_buf_append(b, s, n);
    u8(b, (unsigned)n + 1);
}

/* A type-15 stream: entries 10-1 (deleted) and 10-2 under master 10-1
 * (nentries of them live: 0 or 1), last ID 10-2, one group at 10-1 with
 * no PEL. */
static void build_type15(rdb_buf *b, int live) {
    rdb_buf lp = {0};
    for (int i = 0; i < 6; i++) u8(&lp, 0);
    lp_uint(&lp, (unsigned)live);
    lp_uint(&lp, 2 - (unsigned)live);
    lp_uint(&lp, 1);
    lp_s(&lp, "f");
    lp_uint(&lp, 0);
    lp_uint(&lp, 1 | 2); /* 10-1 deleted, same fields */
    lp_uint(&lp, 0);
    lp_uint(&lp, 0);
    lp_s(&lp, "v");
    lp_uint(&lp, 4);
    lp_uint(&lp, live ? 2 : 3); /* 10-2 */
    lp_uint(&lp, 0);
    lp_uint(&lp, 1);
    lp_s(&lp, "w");
    lp_uint(&lp, 4);
    u8(&lp, 0xFF);
    for (int i = 0; i < 4; i++) lp.p[i] = (unsigned char)(lp.len >> (8 * i));
    lp.p[4] = 15;
    lp.p[5] = 0;
    rdb_put_len(b, 1);
    u8(b, 16);
    id16(b, 10, 1);
    rdb_put_string(b, lp.p, lp.len);
    rdb_put_len(b, (uint64_t)live);
    rdb_put_len(b, 10);
    rdb_put_len(b, 2);
    rdb_put_len(b, 1);
    rdb_put_string(b, "g", 1);
    rdb_put_len(b, 10);
    rdb_put_len(b, 1);
    rdb_put_len(b, 0); /* PEL */
    rdb_put_len(b, 0); /* consumers */
    free(lp.p);
}

TEST(type15_metadata_defaults) {
    for (int live = 0; live <= 1; live++) {
        rdb_buf b = {0};
        build_type15(&b, live);
        size_t pos = 0;
        char why[160] = "";
        stream *s = rdb_stream_decode(b.p, b.len, &pos, RDB_TYPE_STREAM_LISTPACKS, why,
                                      sizeof(why));
        if (!s) fprintf(stderr, "# %s\n", why);
        REQUIRE(s != NULL);
        CHECK_EQ_INT(pos, b.len);
        CHECK_EQ_INT(s->length, (uint64_t)live);
        CHECK_EQ_INT(s->entries_added, (uint64_t)live);
        CHECK(s->max_deleted_id.ms == 0 && s->max_deleted_id.seq == 0);
        CHECK(s->last_id.ms == 10 && s->last_id.seq == 2);
        if (live) CHECK(s->first_id.ms == 10 && s->first_id.seq == 2);
        else CHECK(s->first_id.ms == UINT64_MAX && s->first_id.seq == UINT64_MAX);
        REQUIRE(s->ngroups == 1);
        /* Redis's streamEstimateDistanceFromFirstEverEntry for 10-1. */
        CHECK_EQ_INT(s->groups[0]->entries_read, stream_estimate_distance(s, &(stream_id){10, 1}));
        /* Read as type 19, the same bytes do not make the same value: the
         * group is read as metadata. */
        pos = 0;
        stream *t = rdb_stream_decode(b.p, b.len, &pos, RDB_TYPE_STREAM_LISTPACKS_2, why,
                                      sizeof(why));
        CHECK(t == NULL || pos != b.len || t->ngroups == 0);
        if (t) stream_free(t);
        stream_free(s);
        free(b.p);
    }
}

/* ---- Through rdb.c ----------------------------------------------------------------- */

TEST(dump_restore_through_rdb) {
    lt_db *db;
    REQUIRE(lt_db_open(NULL, &db) == LT_OK);
    ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
    rdb_stream_register();
    seed();
    stream *s = random_stream();
    sbuf want = snap(s);
    ks_txn txn;
    ks_key k = {0, "st", 2};
    ks_txn_begin(&txn, db, &k, 1);
    ks_entry *e = ks_set_obj(&txn, 0, "st", 2, KS_TYPE_STREAM, s, KS_EXPIRE_NONE);
    rdb_buf p = {0};
    CHECK_EQ_INT(rdb_dump_payload(&p, e), LT_OK);
    ks_txn_commit(&txn);
    CHECK(p.len > 11 && p.p[0] == RDB_TYPE_STREAM_LISTPACKS_2);
    CHECK(rdb_payload_verify(p.p, p.len));
    rdb_value v;
    rdb_problem pb;
    CHECK_EQ_INT(rdb_payload_decode(p.p, p.len, &v, &pb), LT_OK);
    CHECK_EQ_INT(v.type, KS_TYPE_STREAM);
    sbuf got = snap(v.obj);
    CHECK(got.len == want.len && memcmp(got.p, want.p, got.len) == 0);
    rdb_value_free(&v);
    free(got.p);
    free(want.p);
    free(p.p);
    lt_db_close(db);
}

int main(void) {
    RUN(random_round_trip);
    RUN(every_truncation_refused);
    RUN(type15_metadata_defaults);
    RUN(dump_restore_through_rdb);
    return testlib_finish();
}
