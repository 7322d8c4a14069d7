/* Unit tests of the embedded API (include/lightning.h): CRUD, snapshot
 * isolation, optimistic conflicts, cursors, errors. */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightning.h"

static lt_db *open_default(void) {
    lt_db *db = NULL;
    return lt_db_open(NULL, &db) == LT_OK ? db : NULL;
}

static int getstr(lt_txn *t, unsigned dbid, const char *k, char *out) {
    const void *v;
    size_t n;
    int rc = lt_get(t, dbid, k, strlen(k), &v, &n);
    if (rc == LT_OK) {
        memcpy(out, v, n);
        out[n] = 0;
    }
    return rc;
}

static int putstr(lt_txn *t, unsigned dbid, const char *k, const char *v) {
    return lt_put(t, dbid, k, strlen(k), v, strlen(v));
}

TEST(put_get_del) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *t;
    char out[64];
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    CHECK_EQ_INT(putstr(t, 0, "a", "1"), LT_OK);
    CHECK_EQ_INT(putstr(t, 0, "b", "hello"), LT_OK);
    CHECK_EQ_INT(putstr(t, 3, "a", "db3"), LT_OK);
    CHECK_EQ_INT(getstr(t, 0, "a", out), LT_OK); /* own writes */
    CHECK_EQ_STR(out, "1");
    CHECK_EQ_INT(lt_put(t, 0, "e", 1, "", 0), LT_OK); /* empty value */
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), 3);

    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    CHECK_EQ_INT(getstr(t, 0, "a", out), LT_OK);
    CHECK_EQ_STR(out, "1"); /* stored raw, returned as bytes */
    CHECK_EQ_INT(getstr(t, 3, "a", out), LT_OK);
    CHECK_EQ_STR(out, "db3");
    CHECK_EQ_INT(getstr(t, 0, "e", out), LT_OK);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(getstr(t, 0, "zz", out), LT_NOTFOUND);
    CHECK_EQ_INT(putstr(t, 0, "x", "y"), LT_RDONLY);
    CHECK_EQ_INT(lt_del(t, 0, "a", 1), LT_RDONLY);
    CHECK_EQ_INT(getstr(t, 16, "a", out), LT_INVAL);
    lt_txn_abort(t);

    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    CHECK_EQ_INT(lt_del(t, 0, "a", 1), LT_OK);
    CHECK_EQ_INT(lt_del(t, 0, "nope", 4), LT_NOTFOUND);
    CHECK_EQ_INT(getstr(t, 0, "a", out), LT_NOTFOUND);
    CHECK_EQ_INT(putstr(t, 0, "b", "v2"), LT_OK);
    CHECK_EQ_INT(putstr(t, 0, "b", "v3"), LT_OK); /* last write wins */
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);

    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    CHECK_EQ_INT(getstr(t, 0, "a", out), LT_NOTFOUND);
    CHECK_EQ_INT(getstr(t, 0, "b", out), LT_OK);
    CHECK_EQ_STR(out, "v3");
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), 2);
    lt_db_close(db);
}

TEST(abort_discards) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *t;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    putstr(t, 0, "k", "v");
    lt_txn_abort(t);
    CHECK_EQ_INT(lt_db_count(db, 0), 0);
    lt_txn_abort(NULL);
    lt_db_close(db);
}

TEST(snapshot_isolation) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *w, *r;
    char out[32];
    REQUIRE(lt_txn_begin(db, 0, &w) == LT_OK);
    putstr(w, 0, "k", "old");
    REQUIRE(lt_txn_commit(w) == LT_OK);

    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &r) == LT_OK);
    const void *pinned;
    size_t pn;
    REQUIRE(lt_get(r, 0, "k", 1, &pinned, &pn) == LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &w) == LT_OK);
    putstr(w, 0, "k", "new");
    putstr(w, 0, "k2", "x");
    REQUIRE(lt_txn_commit(w) == LT_OK);
    CHECK(lt_txn_snapshot_ts(r) > 0);
    CHECK_EQ_INT(getstr(r, 0, "k", out), LT_OK);
    CHECK_EQ_STR(out, "old");
    CHECK(pn == 3 && memcmp(pinned, "old", 3) == 0); /* still valid */
    CHECK_EQ_INT(getstr(r, 0, "k2", out), LT_NOTFOUND);
    lt_txn_abort(r);

    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &r) == LT_OK);
    CHECK_EQ_INT(getstr(r, 0, "k", out), LT_OK);
    CHECK_EQ_STR(out, "new");
    lt_txn_abort(r);
    lt_db_close(db);
}

TEST(conflicts) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *a, *b;
    char out[32];
    REQUIRE(lt_txn_begin(db, 0, &a) == LT_OK);
    putstr(a, 0, "x", "0");
    REQUIRE(lt_txn_commit(a) == LT_OK);

    /* Read-modify-write race: the second committer loses. */
    REQUIRE(lt_txn_begin(db, 0, &a) == LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &b) == LT_OK);
    CHECK_EQ_INT(getstr(a, 0, "x", out), LT_OK);
    CHECK_EQ_INT(getstr(b, 0, "x", out), LT_OK);
    putstr(a, 0, "x", "1");
    putstr(b, 0, "x", "2");
    CHECK_EQ_INT(lt_txn_commit(a), LT_OK);
    CHECK_EQ_INT(lt_txn_commit(b), LT_CONFLICT);

    /* Read set only: b read y, a wrote y, b writes z -> conflict. */
    REQUIRE(lt_txn_begin(db, 0, &a) == LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &b) == LT_OK);
    CHECK_EQ_INT(getstr(b, 0, "y", out), LT_NOTFOUND);
    putstr(a, 0, "y", "1");
    putstr(b, 0, "z", "1");
    CHECK_EQ_INT(lt_txn_commit(a), LT_OK);
    CHECK_EQ_INT(lt_txn_commit(b), LT_CONFLICT);

    /* Disjoint keys: both commit. */
    REQUIRE(lt_txn_begin(db, 0, &a) == LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &b) == LT_OK);
    putstr(a, 0, "p", "1");
    putstr(b, 0, "q", "1");
    CHECK_EQ_INT(lt_txn_commit(a), LT_OK);
    CHECK_EQ_INT(lt_txn_commit(b), LT_OK);

    /* Read-only transactions never conflict. */
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &a) == LT_OK);
    CHECK_EQ_INT(getstr(a, 0, "x", out), LT_OK);
    CHECK_EQ_STR(out, "1");
    REQUIRE(lt_txn_begin(db, 0, &b) == LT_OK);
    putstr(b, 0, "x", "3");
    CHECK_EQ_INT(lt_txn_commit(b), LT_OK);
    CHECK_EQ_INT(lt_txn_commit(a), LT_OK);
    lt_db_close(db);
}

TEST(cursor_snapshot) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *t;
    enum { N = 5000 };
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    char k[32], v[32];
    for (int i = 0; i < N; i++) {
        sprintf(k, "key%d", i);
        sprintf(v, "%d", i); /* numeric-looking values stay bytes */
        REQUIRE(putstr(t, 2, k, v) == LT_OK);
    }
    REQUIRE(lt_txn_commit(t) == LT_OK);

    lt_txn *r;
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &r) == LT_OK);
    lt_cursor *c;
    REQUIRE(lt_cursor_open(r, 2, &c) == LT_OK);
    /* Writers run while the cursor walks: it keeps its snapshot. */
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 0; i < 100; i++) {
        sprintf(k, "extra%d", i);
        putstr(t, 2, k, "x");
        sprintf(k, "key%d", i);
        lt_del(t, 2, k, strlen(k));
    }
    REQUIRE(lt_txn_commit(t) == LT_OK);
    char *seen = calloc(N, 1);
    int count = 0, bad = 0;
    const void *kp, *vp;
    size_t kn, vn;
    int rc;
    while ((rc = lt_cursor_next(c, &kp, &kn, &vp, &vn)) == LT_OK) {
        count++;
        if (kn < 4 || memcmp(kp, "key", 3) != 0) { bad++; continue; }
        char tmp[32];
        memcpy(tmp, (const char *)kp + 3, kn - 3);
        tmp[kn - 3] = 0;
        int i = atoi(tmp);
        char expect[32];
        sprintf(expect, "%d", i);
        if (seen[i] || vn != strlen(expect) || memcmp(vp, expect, vn)) bad++;
        seen[i] = 1;
    }
    CHECK_EQ_INT(rc, LT_NOTFOUND);
    CHECK_EQ_INT(count, N);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(lt_cursor_next(c, NULL, NULL, NULL, NULL), LT_NOTFOUND);
    lt_cursor_close(c);
    /* Cursor closed mid-way is fine too. */
    REQUIRE(lt_cursor_open(r, 2, &c) == LT_OK);
    CHECK_EQ_INT(lt_cursor_next(c, &kp, &kn, NULL, NULL), LT_OK);
    lt_cursor_close(c);
    lt_txn_abort(r);
    free(seen);
    CHECK_EQ_INT(lt_db_count(db, 2), N);
    lt_db_close(db);
}

TEST(errors) {
    CHECK_EQ_STR(lt_strerror(LT_OK), "success");
    CHECK_EQ_STR(lt_strerror(LT_CONFLICT), "transaction conflict: retry");
    CHECK_EQ_STR(lt_strerror(12345), "unknown error");
    lt_db *db = NULL;
    CHECK_EQ_INT(lt_db_open(NULL, NULL), LT_INVAL);
    db = open_default();
    REQUIRE(db);
    lt_txn *t;
    CHECK_EQ_INT(lt_txn_begin(db, 0x80, &t), LT_INVAL);
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    CHECK_EQ_INT(lt_put(t, 99, "k", 1, "v", 1), LT_INVAL);
    CHECK_EQ_INT(lt_put(t, 0, NULL, 1, "v", 1), LT_INVAL);
    lt_cursor *c;
    CHECK_EQ_INT(lt_cursor_open(t, 99, &c), LT_INVAL);
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);
    lt_db_close(db);
}

/* Writes n keys k0..k(n-1) = val, one commit. */
static void put_n(lt_db *db, int n, const char *val) {
    lt_txn *w;
    REQUIRE(lt_txn_begin(db, 0, &w) == LT_OK);
    char k[32];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        putstr(w, 0, k, val);
    }
    REQUIRE(lt_txn_commit(w) == LT_OK);
}

/* A transaction whose snapshot pins more old versions than
 * max_pinned_versions is doomed: LT_TXN_TOO_OLD from its next read, cursor
 * step or commit, with lt_strerror's text; pointers it got stay valid;
 * newer transactions are untouched; without a bound nothing is doomed. */
TEST(txn_too_old) {
    lt_config cfg;
    lt_config_init(&cfg);
    CHECK_EQ_INT((long long)cfg.max_pinned_versions, 0);
    cfg.max_pinned_versions = 100;
    cfg.shards_per_db = 4;
    lt_db *db = NULL;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    put_n(db, 300, "v1");

    lt_txn *old, *ro, *young;
    char out[32];
    REQUIRE(lt_txn_begin(db, 0, &old) == LT_OK);
    const void *pinned;
    size_t pn;
    REQUIRE(lt_get(old, 0, "k0", 2, &pinned, &pn) == LT_OK);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &ro) == LT_OK);
    lt_cursor *cur;
    REQUIRE(lt_cursor_open(ro, 0, &cur) == LT_OK);
    /* 50 rewrites keep 50 old versions: under the bound. */
    put_n(db, 50, "v2");
    CHECK_EQ_INT(getstr(old, 0, "k1", out), LT_OK);
    CHECK_EQ_STR(out, "v1");
    /* 250 more: past it. The oldest (old) is doomed, ro is not yet. */
    put_n(db, 300, "v3");
    CHECK_EQ_INT(getstr(old, 0, "k1", out), LT_TXN_TOO_OLD);
    CHECK_EQ_INT(lt_del(old, 0, "k1", 2), LT_TXN_TOO_OLD);
    CHECK(pn == 2 && memcmp(pinned, "v1", 2) == 0); /* still valid */
    CHECK(strstr(lt_strerror(LT_TXN_TOO_OLD), "too old") != NULL);
    CHECK_EQ_INT(getstr(ro, 0, "k1", out), LT_OK);
    CHECK_EQ_STR(out, "v1");
    REQUIRE(lt_txn_begin(db, 0, &young) == LT_OK);
    CHECK_EQ_INT(lt_txn_commit(old), LT_TXN_TOO_OLD);
    /* old ended: still over the bound (ro pins the same versions), so
     * the next write dooms ro, the oldest left; its cursor stops. */
    put_n(db, 1, "v4");
    CHECK_EQ_INT(getstr(ro, 0, "k1", out), LT_TXN_TOO_OLD);
    const void *k;
    size_t kl;
    int rc;
    int steps = 0;
    while ((rc = lt_cursor_next(cur, &k, &kl, NULL, NULL)) == LT_OK) steps++;
    CHECK_EQ_INT(rc, LT_TXN_TOO_OLD);
    CHECK(steps < 300);
    lt_cursor_close(cur);
    lt_txn_abort(ro);
    /* young opened after the writes: it reads on and commits. */
    CHECK_EQ_INT(getstr(young, 0, "k1", out), LT_OK);
    CHECK_EQ_STR(out, "v3");
    putstr(young, 0, "k1", "v5");
    CHECK_EQ_INT(lt_txn_commit(young), LT_OK);
    lt_db_close(db);

    /* No bound: the same writes doom nobody. */
    lt_config_init(&cfg);
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    put_n(db, 300, "v1");
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &old) == LT_OK);
    put_n(db, 300, "v2");
    put_n(db, 300, "v3");
    CHECK_EQ_INT(getstr(old, 0, "k1", out), LT_OK);
    CHECK_EQ_STR(out, "v1");
    CHECK_EQ_INT(lt_txn_commit(old), LT_OK);
    lt_db_close(db);
}

/* lt_get_many answers exactly what lt_get answers, key by key: present
 * and absent keys, more than one prefetch group, a read-only snapshot and
 * a write transaction's own writes. */
TEST(get_many_matches_get) {
    lt_db *db = open_default();
    REQUIRE(db);
    lt_txn *t;
    char keys[100][16];
    const void *kp[100];
    size_t kl[100];
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 0; i < 100; i++) {
        kl[i] = (size_t)snprintf(keys[i], sizeof(keys[i]), "key%d", i);
        kp[i] = keys[i];
        if (i % 3) lt_put(t, 1, keys[i], kl[i], keys[i], kl[i] / 2);
    }
    REQUIRE(lt_txn_commit(t) == LT_OK);
    for (int pass = 0; pass < 2; pass++) {
        REQUIRE(lt_txn_begin(db, pass ? 0 : LT_TXN_RDONLY, &t) == LT_OK);
        if (pass) {
            lt_put(t, 1, "key0", 4, "own", 3); /* own writes are seen */
            lt_del(t, 1, "key1", 4);
        }
        const void *vals[100];
        size_t vlens[100];
        int rcs[100];
        CHECK_EQ_INT(lt_get_many(t, 1, 100, kp, kl, vals, vlens, rcs), LT_OK);
        int bad = 0;
        for (int i = 0; i < 100; i++) {
            const void *v;
            size_t vl;
            int rc = lt_get(t, 1, kp[i], kl[i], &v, &vl);
            if (rc != rcs[i] || (rc == LT_OK && (vl != vlens[i] || memcmp(v, vals[i], vl))))
                bad++;
            int want = pass && i == 0 ? LT_OK : pass && i == 1 ? LT_NOTFOUND
                                               : i % 3          ? LT_OK
                                                                : LT_NOTFOUND;
            if (rcs[i] != want) bad++;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(lt_get_many(t, 16, 1, kp, kl, vals, vlens, rcs), LT_INVAL);
        CHECK_EQ_INT(lt_get_many(t, 1, 1, kp, kl, NULL, NULL, NULL), LT_INVAL);
        CHECK_EQ_INT(lt_get_many(t, 1, 0, NULL, NULL, NULL, NULL, NULL), LT_OK);
        lt_txn_abort(t);
    }
    lt_db_close(db);
}

/* Commits of more keys than one prefetch window (16): a conflict on any
 * key of any window, written or only read, refuses the whole commit and
 * applies nothing; without one every write lands. */
TEST(big_txn_conflicts) {
    lt_db *db = open_default();
    REQUIRE(db);
    char k[32];
    int expect = 0;
    for (int victim = 0; victim < 3; victim++) {
        int conflict_key = victim == 0 ? 0 : victim == 1 ? 37 : 99; /* window 0, 2, 6 */
        lt_txn *big, *other;
        REQUIRE(lt_txn_begin(db, 0, &big) == LT_OK);
        REQUIRE(lt_txn_begin(db, 0, &other) == LT_OK);
        /* 60 writes then 40 reads (keys 60..99, absent: the read set). */
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof(k), "big%d-%d", victim, i);
            if (i < 60) {
                CHECK_EQ_INT(lt_put(big, 0, k, strlen(k), "v", 1), LT_OK);
            } else {
                const void *v;
                size_t vl;
                CHECK_EQ_INT(lt_get(big, 0, k, strlen(k), &v, &vl), LT_NOTFOUND);
            }
        }
        snprintf(k, sizeof(k), "big%d-%d", victim, conflict_key);
        CHECK_EQ_INT(lt_put(other, 0, k, strlen(k), "o", 1), LT_OK);
        CHECK_EQ_INT(lt_txn_commit(other), LT_OK);
        CHECK_EQ_INT(lt_txn_commit(big), LT_CONFLICT);
        expect += 1; /* other's key only */
        CHECK_EQ_INT((int)lt_db_count(db, 0), expect);
        /* Retried after the other commit: every write lands. */
        REQUIRE(lt_txn_begin(db, 0, &big) == LT_OK);
        for (int i = 0; i < 60; i++) {
            snprintf(k, sizeof(k), "big%d-%d", victim, i);
            lt_put(big, 0, k, strlen(k), "v", 1);
        }
        CHECK_EQ_INT(lt_txn_commit(big), LT_OK);
        expect += 60 - (conflict_key < 60);
        CHECK_EQ_INT((int)lt_db_count(db, 0), expect);
    }
    lt_db_close(db);
}

/* lt_db_reserve: a hint that never changes contents, on an empty database,
 * on a full one (it then grows incrementally while writes go on) and
 * smaller than what is there (no-op); bad arguments refused. */
TEST(reserve_keeps_contents) {
    lt_db *db = open_default();
    REQUIRE(db);
    CHECK_EQ_INT(lt_db_reserve(NULL, 0, 10), LT_INVAL);
    CHECK_EQ_INT(lt_db_reserve(db, 16, 10), LT_INVAL);
    CHECK_EQ_INT(lt_db_reserve(db, 0, (uint64_t)1 << 41), LT_INVAL);
    CHECK_EQ_INT(lt_db_reserve(db, 0, 0), LT_OK);
    CHECK_EQ_INT(lt_db_reserve(db, 2, 5000), LT_OK);
    char k[32], v[32];
    int bad = 0;
    for (int round = 0; round < 3; round++) {
        lt_txn *t;
        REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
        for (int i = round * 3000; i < (round + 1) * 3000; i++) {
            snprintf(k, sizeof(k), "r%d", i);
            snprintf(v, sizeof(v), "val%d", i);
            lt_put(t, 2, k, strlen(k), v, strlen(v));
        }
        REQUIRE(lt_txn_commit(t) == LT_OK);
        /* Round 0: within the reservation; 1: grows past it; 2: after a
         * bigger reservation on a full table (incremental rehash). */
        if (round == 1) CHECK_EQ_INT(lt_db_reserve(db, 2, 100000), LT_OK);
        if (round == 2) CHECK_EQ_INT(lt_db_reserve(db, 2, 10), LT_OK);
        REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
        for (int i = 0; i < (round + 1) * 3000; i++) {
            const void *p;
            size_t n;
            snprintf(k, sizeof(k), "r%d", i);
            snprintf(v, sizeof(v), "val%d", i);
            if (lt_get(t, 2, k, strlen(k), &p, &n) != LT_OK || n != strlen(v) || memcmp(p, v, n))
                bad++;
        }
        lt_txn_abort(t);
        CHECK_EQ_INT((int)lt_db_count(db, 2), (round + 1) * 3000);
    }
    CHECK_EQ_INT(bad, 0);
    lt_db_close(db);
}

int main(void) {
    RUN(put_get_del);
    RUN(abort_discards);
    RUN(snapshot_isolation);
    RUN(conflicts);
    RUN(cursor_snapshot);
    RUN(errors);
    RUN(txn_too_old);
    RUN(get_many_matches_get);
    RUN(big_txn_conflicts);
    RUN(reserve_keeps_contents);
    return testlib_finish();
}
