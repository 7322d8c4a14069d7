/* Ordered engines (LT_DB_ORDERED): range cursors compared with a sorted
 * reference under seeded random puts and deletes, with snapshots taken in
 * between and checked after later commits (forward, backward, seeks and
 * mixed next/prev walks); the index after a durable reopen. The seed is
 * printed; LT_TEST_SEED=<n> replays one. */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "engine/keyspace_int.h"
#include "engine/oindex.h"
#include "lightning.h"

/* Reference: a sorted array of keys (each with its value). */
typedef struct rkv {
    char k[8];
    size_t kl;
    char v[16];
    size_t vl;
} rkv;

typedef struct ref {
    rkv *a;
    size_t n, cap;
} ref;

static int keycmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    return c ? c : (al < bl ? -1 : al > bl);
}

/* Index of the first key >= k. */
static size_t ref_lower(const ref *r, const char *k, size_t kl) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keycmp(r->a[mid].k, r->a[mid].kl, k, kl) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void ref_put(ref *r, const char *k, size_t kl, const char *v, size_t vl) {
    size_t i = ref_lower(r, k, kl);
    if (i == r->n || keycmp(r->a[i].k, r->a[i].kl, k, kl) != 0) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->a = realloc(r->a, r->cap * sizeof(*r->a));
        }
        memmove(&r->a[i + 1], &r->a[i], (r->n - i) * sizeof(*r->a));
        r->n++;
        memcpy(r->a[i].k, k, kl);
        r->a[i].kl = kl;
    }
    memcpy(r->a[i].v, v, vl);
    r->a[i].vl = vl;
}

static void ref_del(ref *r, const char *k, size_t kl) {
    size_t i = ref_lower(r, k, kl);
    if (i < r->n && keycmp(r->a[i].k, r->a[i].kl, k, kl) == 0) {
        memmove(&r->a[i], &r->a[i + 1], (r->n - i - 1) * sizeof(*r->a));
        r->n--;
    }
}

static ref ref_copy(const ref *r) {
    ref c = {malloc((r->n ? r->n : 1) * sizeof(*r->a)), r->n, r->n};
    if (r->n) memcpy(c.a, r->a, r->n * sizeof(*r->a));
    return c;
}

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Keys over a 3-letter alphabet, length 0..4: many shared prefixes and
 * the empty key. */
static size_t rand_key(char *k) {
    size_t n = rnd() % 5;
    for (size_t i = 0; i < n; i++) k[i] = "ab\xff"[rnd() % 3];
    return n;
}

static int eq_entry(const rkv *e, const void *k, size_t kl, const void *v, size_t vl) {
    return keycmp(e->k, e->kl, k, kl) == 0 && e->vl == vl && memcmp(e->v, v, vl) == 0;
}

/* Checks the cursors of txn against the reference snapshot s. Returns the
 * number of mismatches. */
static int check_cursors(lt_txn *txn, const ref *s) {
    int bad = 0;
    lt_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    if (lt_cursor_open(txn, 0, &c) != LT_OK) return 1;
    size_t i = 0;
    while (lt_cursor_next(c, &k, &kl, &v, &vl) == LT_OK) {
        if (i >= s->n || !eq_entry(&s->a[i], k, kl, v, vl)) bad++;
        i++;
    }
    if (i != s->n) bad++;
    /* Backward from the end. */
    lt_cursor_seek_end(c);
    i = s->n;
    while (lt_cursor_prev(c, &k, &kl, &v, &vl) == LT_OK) {
        if (i == 0 || !eq_entry(&s->a[i - 1], k, kl, v, vl)) bad++;
        i--;
    }
    if (i != 0) bad++;
    /* Seeks and random walks: the gap model (next then prev returns the
     * same key). */
    for (int round = 0; round < 20; round++) {
        char sk[8];
        size_t skl = rand_key(sk);
        lt_cursor_seek(c, sk, skl);
        size_t gap = ref_lower(s, sk, skl); /* keys [0, gap) are before */
        for (int step = 0; step < 12; step++) {
            int fwd = rnd() % 2;
            int rc = fwd ? lt_cursor_next(c, &k, &kl, &v, &vl) : lt_cursor_prev(c, &k, &kl, &v, &vl);
            if (fwd) {
                if (gap == s->n) {
                    if (rc != LT_NOTFOUND) bad++;
                } else if (rc != LT_OK || !eq_entry(&s->a[gap], k, kl, v, vl)) {
                    bad++;
                } else {
                    gap++;
                }
            } else {
                if (gap == 0) {
                    if (rc != LT_NOTFOUND) bad++;
                } else if (rc != LT_OK || !eq_entry(&s->a[gap - 1], k, kl, v, vl)) {
                    bad++;
                } else {
                    gap--;
                }
            }
        }
    }
    lt_cursor_close(c);
    return bad;
}

static uint64_t seed_from_env(void) {
    const char *e = getenv("LT_TEST_SEED");
    return e ? strtoull(e, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
}

TEST(differential_against_sorted_reference) {
    uint64_t seed = seed_from_env();
    fprintf(stderr, "# seed %llu\n", (unsigned long long)seed);
    rng_state = seed | 1;
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    cfg.shards_per_db = 4;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    ref cur = {0};
    enum { SNAPS = 4 };
    lt_txn *snap[SNAPS] = {0};
    ref snapref[SNAPS];
    int bad = 0;
    for (int round = 0; round < 300 && !bad; round++) {
        /* A write transaction of 1..8 puts/deletes. */
        lt_txn *t;
        REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
        ref next = ref_copy(&cur);
        int nops = 1 + (int)(rnd() % 8);
        for (int i = 0; i < nops; i++) {
            char k[8], v[16];
            size_t kl = rand_key(k);
            if (rnd() % 3 == 0) {
                lt_del(t, 0, k, kl);
                ref_del(&next, k, kl);
            } else {
                int vl = snprintf(v, sizeof(v), "v%d.%d", round, i);
                lt_put(t, 0, k, kl, v, (size_t)vl);
                ref_put(&next, k, kl, v, (size_t)vl);
            }
        }
        REQUIRE(lt_txn_commit(t) == LT_OK);
        free(cur.a);
        cur = next;
        /* Replace a random snapshot: check it (it saw older commits) and
         * take a new one. */
        int si = (int)(rnd() % SNAPS);
        if (snap[si]) {
            bad += check_cursors(snap[si], &snapref[si]);
            lt_txn_abort(snap[si]);
            free(snapref[si].a);
        }
        REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &snap[si]) == LT_OK);
        snapref[si] = ref_copy(&cur);
        if (bad) fprintf(stderr, "# mismatch at round %d\n", round);
    }
    for (int i = 0; i < SNAPS; i++) {
        if (!snap[i]) continue;
        bad += check_cursors(snap[i], &snapref[i]);
        lt_txn_abort(snap[i]);
        free(snapref[i].a);
    }
    CHECK_EQ_INT(bad, 0);
    free(cur.a);
    lt_db_close(db);
}

TEST(seek_semantics) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    lt_txn *t;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    const char *keys[] = {"apple", "banana", "cherry", "date"};
    for (int i = 0; i < 4; i++) lt_put(t, 1, keys[i], strlen(keys[i]), "x", 1);
    REQUIRE(lt_txn_commit(t) == LT_OK);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    lt_cursor *c;
    const void *k;
    size_t kl;
    REQUIRE(lt_cursor_open(t, 1, &c) == LT_OK);
    CHECK_EQ_INT(lt_cursor_seek(c, "b", 1), LT_OK);
    CHECK_EQ_INT(lt_cursor_next(c, &k, &kl, NULL, NULL), LT_OK);
    CHECK(kl == 6 && !memcmp(k, "banana", 6));
    CHECK_EQ_INT(lt_cursor_prev(c, &k, &kl, NULL, NULL), LT_OK); /* same key */
    CHECK(kl == 6 && !memcmp(k, "banana", 6));
    CHECK_EQ_INT(lt_cursor_prev(c, &k, &kl, NULL, NULL), LT_OK);
    CHECK(kl == 5 && !memcmp(k, "apple", 5));
    CHECK_EQ_INT(lt_cursor_prev(c, &k, &kl, NULL, NULL), LT_NOTFOUND);
    CHECK_EQ_INT(lt_cursor_seek(c, "cherry", 6), LT_OK); /* exact: before it */
    CHECK_EQ_INT(lt_cursor_next(c, &k, &kl, NULL, NULL), LT_OK);
    CHECK(kl == 6 && !memcmp(k, "cherry", 6));
    CHECK_EQ_INT(lt_cursor_seek(c, "zzz", 3), LT_OK);
    CHECK_EQ_INT(lt_cursor_next(c, &k, &kl, NULL, NULL), LT_NOTFOUND);
    CHECK_EQ_INT(lt_cursor_prev(c, &k, &kl, NULL, NULL), LT_OK);
    CHECK(kl == 4 && !memcmp(k, "date", 4));
    lt_cursor_close(c);
    /* Not ordered: seek and prev are refused. */
    lt_txn_abort(t);
    lt_db_close(db);
    REQUIRE(lt_db_open(NULL, &db) == LT_OK);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    REQUIRE(lt_cursor_open(t, 0, &c) == LT_OK);
    CHECK_EQ_INT(lt_cursor_seek(c, "a", 1), LT_INVAL);
    CHECK_EQ_INT(lt_cursor_prev(c, &k, &kl, NULL, NULL), LT_INVAL);
    CHECK_EQ_INT(lt_cursor_seek_end(c), LT_INVAL);
    lt_cursor_close(c);
    lt_txn_abort(t);
    lt_db_close(db);
}

TEST(deleted_keys_purged_after_views) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    char k[16];
    lt_txn *t;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 0; i < 1000; i++) lt_put(t, 0, k, (size_t)snprintf(k, sizeof(k), "k%04d", i), "v", 1);
    REQUIRE(lt_txn_commit(t) == LT_OK);
    lt_txn *old;
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &old) == LT_OK);
    for (int i = 0; i < 1000; i++) {
        REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
        lt_del(t, 0, k, (size_t)snprintf(k, sizeof(k), "k%04d", i));
        REQUIRE(lt_txn_commit(t) == LT_OK);
    }
    /* The old snapshot still walks all 1000 keys. */
    lt_cursor *c;
    REQUIRE(lt_cursor_open(old, 0, &c) == LT_OK);
    int n = 0;
    while (lt_cursor_next(c, NULL, NULL, NULL, NULL) == LT_OK) n++;
    CHECK_EQ_INT(n, 1000);
    lt_cursor_close(c);
    lt_txn_abort(old);
    /* A new snapshot sees none; writes after the view closed purge. */
    for (int i = 0; i < 600; i++) {
        REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
        lt_del(t, 0, "nothing", 7);
        lt_put(t, 0, "p", 1, "q", 1);
        REQUIRE(lt_txn_commit(t) == LT_OK);
    }
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    REQUIRE(lt_cursor_open(t, 0, &c) == LT_OK);
    n = 0;
    while (lt_cursor_next(c, NULL, NULL, NULL, NULL) == LT_OK) n++;
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(oindex_count(db->oidx[0]), 1); /* the 1000 were purged */
    lt_cursor_close(c);
    lt_txn_abort(t);
    lt_db_close(db);
}

TEST(durable_reopen_rebuilds_index) {
    char dir[] = "/tmp/lt-ordered-XXXXXX";
    REQUIRE(mkdtemp(dir));
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    cfg.dir = dir;
    cfg.sync = LT_SYNC_NO;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    lt_txn *t;
    char k[16];
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 99; i >= 0; i--) lt_put(t, 2, k, (size_t)snprintf(k, sizeof(k), "%03d", i), "v", 1);
    REQUIRE(lt_txn_commit(t) == LT_OK);
    lt_db_close(db);
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    lt_cursor *c;
    REQUIRE(lt_cursor_open(t, 2, &c) == LT_OK);
    lt_cursor_seek(c, "050", 3);
    const void *kp;
    size_t kl;
    int n = 0, inorder = 1;
    while (lt_cursor_next(c, &kp, &kl, NULL, NULL) == LT_OK) {
        snprintf(k, sizeof(k), "%03d", 50 + n);
        if (kl != 3 || memcmp(kp, k, 3)) inorder = 0;
        n++;
    }
    CHECK_EQ_INT(n, 50);
    CHECK(inorder);
    lt_cursor_close(c);
    lt_txn_abort(t);
    lt_db_close(db);
    char rm[100];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    CHECK(system(rm) == 0);
}

/* A cursor walks many index batches (64 keys each) while other commits
 * change the index's shape between them — keys created after its
 * snapshot, and keys deleted before it purged from the index (no older
 * view holds them any more): every step still returns exactly the
 * snapshot's next key, forward, backward and after turning around (the
 * batch resumption of oindex_collect must notice the changes). */
TEST(cursor_walk_across_index_changes) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    enum { N = 1000 };
    char k[32];
    lt_txn *t, *old, *snap;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof(k), "k%05d", i * 2);
        lt_put(t, 0, k, strlen(k), k, strlen(k));
    }
    REQUIRE(lt_txn_commit(t) == LT_OK);
    /* Every 10th key deleted while an older view keeps it in the index. */
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &old) == LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    for (int i = 0; i < N; i += 10) {
        snprintf(k, sizeof(k), "k%05d", i * 2);
        lt_del(t, 0, k, strlen(k));
    }
    REQUIRE(lt_txn_commit(t) == LT_OK);
    lt_txn_abort(old);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &snap) == LT_OK);
    lt_cursor *c;
    REQUIRE(lt_cursor_open(snap, 0, &c) == LT_OK);
    int vis[N], nvis = 0; /* the snapshot's keys, ascending */
    for (int i = 0; i < N; i++)
        if (i % 10) vis[nvis++] = i * 2;
    int bad = 0, gap = 0, steps = 0, writes = 0;
    const void *kp, *vp;
    size_t kl, vl;
    /* Forward to the end, backward to the start, forward a third of the
     * way: a commit every 7 steps inserts an odd key somewhere (and
     * purges some of the deleted keys as it goes). */
    for (int phase = 0; phase < 3 && !bad; phase++) {
        int fwd = phase != 1;
        for (;;) {
            int rc = fwd ? lt_cursor_next(c, &kp, &kl, &vp, &vl)
                         : lt_cursor_prev(c, &kp, &kl, &vp, &vl);
            if (fwd ? gap == nvis : gap == 0) {
                if (rc != LT_NOTFOUND) bad++;
                break;
            }
            if (rc != LT_OK) {
                bad++;
                break;
            }
            snprintf(k, sizeof(k), "k%05d", vis[fwd ? gap : gap - 1]);
            gap += fwd ? 1 : -1;
            if (kl != strlen(k) || memcmp(kp, k, kl) || vl != kl || memcmp(vp, k, vl)) bad++;
            if (++steps % 7 == 0) {
                REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
                snprintf(k, sizeof(k), "k%05d", (int)((steps * 7919u) % (2 * N)) | 1);
                lt_put(t, 0, k, strlen(k), "new", 3);
                REQUIRE(lt_txn_commit(t) == LT_OK);
                writes++;
            }
            if (phase == 2 && gap == nvis / 3) break;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(writes > 200);
    lt_cursor_close(c);
    lt_txn_abort(snap);
    lt_db_close(db);
}

int main(void) {
    RUN(differential_against_sorted_reference);
    RUN(seek_semantics);
    RUN(deleted_keys_purged_after_views);
    RUN(durable_reopen_rebuilds_index);
    RUN(cursor_walk_across_index_changes);
    return testlib_finish();
}
