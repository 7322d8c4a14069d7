/*
 * Unit tests of the engine pieces EXEC stands on: nested transactions
 * (txn.h "Nesting": inner begin/commit borrow the outer locks, share its
 * ts and clock, hand it their writes so the commit hook runs once; SCAN
 * and RANDOMKEY inside an outer whole-db lock) and WATCH versions
 * (keyspace.h: writes, deletes of present and absent keys, expiry,
 * flush/swap, rename/move, no false abort from unrelated keys, the
 * registry's reference counts).
 */
#include "../testlib.h"

#include <stdlib.h>

#include "common/clock.h"
#include "engine/keyspace.h"

#if defined(__SANITIZE_THREAD__)
/* Whole-database transactions hold more mutexes than TSan's lock-order
 * detector tracks; this file is single-threaded. */
const char *__tsan_default_options(void) { return "detect_deadlocks=0"; }
#endif

static lt_db *open_db(void) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 4;
    cfg.shards_per_db = 16;
    lt_db *db = NULL;
    if (lt_db_open(&cfg, &db) != LT_OK) return NULL;
    return db;
}

static int commits;
static void count_commit(void *ctx, ks_txn *txn) {
    (void)ctx;
    (void)txn;
    commits++;
}

static void put(lt_db *db, unsigned dbid, const char *k, const char *v, int64_t exp) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_set_str(&t, dbid, k, strlen(k), v, strlen(v), exp, 0);
    ks_txn_commit(&t);
}

static void del(lt_db *db, unsigned dbid, const char *k) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_delete(&t, dbid, k, strlen(k));
    ks_txn_commit(&t);
}

typedef struct watch {
    unsigned dbid;
    const char *key;
    uint64_t since;
    int live;
} watch;

static watch watch_add(lt_db *db, unsigned dbid, const char *k) {
    watch w = {dbid, k, 0, 0};
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    w.since = ks_watch_add(&t, dbid, k, strlen(k), &w.live);
    ks_txn_commit(&t);
    return w;
}

/* Whether w's key changed; unregisters it. */
static int watch_end(lt_db *db, watch *w) {
    ks_key key = {w->dbid, w->key, strlen(w->key)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    int changed = ks_watch_changed(&t, w->dbid, w->key, strlen(w->key), w->since, w->live);
    ks_watch_remove(&t, w->dbid, w->key, strlen(w->key));
    ks_txn_commit(&t);
    return changed;
}

TEST(nested_commands_commit_once) {
    lt_db *db = open_db();
    REQUIRE(db);
    ks_hooks hooks = {.commit = count_commit};
    ks_set_hooks(db, &hooks);
    commits = 0;
    ks_key keys[2] = {{0, "a", 1}, {0, "b", 1}};
    ks_txn outer;
    ks_txn_begin(&outer, db, keys, 2);
    ks_txn_nest_enter(&outer);
    CHECK(ks_txn_nest_outer() == &outer);
    for (int i = 0; i < 2; i++) {
        ks_txn inner;
        ks_txn_begin(&inner, db, &keys[i], 1);
        CHECK_EQ_INT(inner.mode, KS_LOCK_NESTED);
        CHECK_EQ_INT(inner.now_ms, outer.now_ms);
        ks_set_str(&inner, 0, keys[i].key, 1, "v", 1, KS_EXPIRE_NONE, 0);
        uint64_t ts = ks_txn_commit(&inner);
        CHECK(ts != 0 && ts == outer.ts); /* one commit ts for all */
    }
    /* A read-only nested transaction over a key the outer one holds. */
    ks_txn ro;
    ks_txn_begin(&ro, db, &keys[0], 1);
    CHECK(ks_lookup(&ro, 0, "a", 1, 0) != NULL);
    CHECK_EQ_INT(ks_txn_commit(&ro), 0);
    ks_txn_nest_leave(&outer);
    CHECK(ks_txn_nest_outer() == NULL);
    CHECK_EQ_INT(commits, 0);
    CHECK_EQ_INT(outer.nwrites, 2);
    uint64_t ts = ks_txn_commit(&outer);
    CHECK_EQ_INT(commits, 1);
    CHECK(ts != 0);
    /* The locks were released: a plain transaction gets them. */
    ks_txn t;
    ks_txn_begin(&t, db, keys, 2);
    CHECK(ks_key_ts(&t, 0, "a", 1) == ts && ks_key_ts(&t, 0, "b", 1) == ts);
    ks_txn_commit(&t);
    lt_db_close(db);
}

static void count_key(void *ctx, const ks_entry *e) {
    (void)e;
    (*(int *)ctx)++;
}

TEST(nested_whole_db_operations) {
    lt_db *db = open_db();
    REQUIRE(db);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        put(db, 1, k, "v", KS_EXPIRE_NONE);
    }
    ks_txn outer;
    ks_txn_begin_all(&outer, db);
    ks_txn_nest_enter(&outer);
    /* SCAN / RANDOMKEY do not lock again (they would deadlock). */
    int n = 0;
    uint64_t cur = 0;
    do cur = ks_scan(db, 1, cur, 10, count_key, &n);
    while (cur);
    CHECK_EQ_INT(n, 50);
    int r = 0;
    CHECK_EQ_INT(ks_random_key(db, 1, count_key, &r), LT_OK);
    CHECK_EQ_INT(r, 1);
    ks_txn inner;
    ks_txn_begin_dbs(&inner, db, 1, 2);
    ks_swap_db(&inner, 1, 2);
    ks_txn_commit(&inner);
    ks_txn_begin_db(&inner, db, 2);
    ks_flush_db(&inner, 2); /* the detached tables go to the outer txn */
    ks_txn_commit(&inner);
    CHECK(outer.garbage != NULL);
    ks_txn_nest_leave(&outer);
    ks_txn_commit(&outer);
    CHECK_EQ_INT(ks_db_size(db, 1), 0);
    CHECK_EQ_INT(ks_db_size(db, 2), 0);
    lt_db_close(db);
}

TEST(watch_versions) {
    lt_db *db = open_db();
    REQUIRE(db);
    put(db, 0, "x", "1", KS_EXPIRE_NONE);
    /* Reads and unrelated writes/deletes do not count. */
    watch w = watch_add(db, 0, "x");
    CHECK_EQ_INT(w.live, 1);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof(k), "other%d", i);
        put(db, 0, k, "v", KS_EXPIRE_NONE);
        del(db, 0, k);
    }
    put(db, 1, "x", "other db", KS_EXPIRE_NONE);
    CHECK_EQ_INT(watch_end(db, &w), 0);
    /* Write, delete. */
    w = watch_add(db, 0, "x");
    put(db, 0, "x", "2", KS_EXPIRE_NONE);
    CHECK_EQ_INT(watch_end(db, &w), 1);
    w = watch_add(db, 0, "x");
    del(db, 0, "x");
    CHECK_EQ_INT(watch_end(db, &w), 1);
    /* Absent key: unchanged, created, created and deleted again. */
    w = watch_add(db, 0, "x");
    CHECK_EQ_INT(w.live, 0);
    del(db, 0, "x");
    CHECK_EQ_INT(watch_end(db, &w), 0);
    w = watch_add(db, 0, "x");
    put(db, 0, "x", "3", KS_EXPIRE_NONE);
    del(db, 0, "x");
    CHECK_EQ_INT(watch_end(db, &w), 1);
    /* Two watchers of one key: reference-counted registry. */
    put(db, 0, "x", "4", KS_EXPIRE_NONE);
    watch w1 = watch_add(db, 0, "x"), w2 = watch_add(db, 0, "x");
    CHECK_EQ_INT(watch_end(db, &w1), 0);
    del(db, 0, "x");
    CHECK_EQ_INT(watch_end(db, &w2), 1);
    /* Rename onto / away, flush, swap. */
    put(db, 0, "z", "1", KS_EXPIRE_NONE);
    w = watch_add(db, 0, "x");
    {
        ks_key keys[2] = {{0, "z", 1}, {0, "x", 1}};
        ks_txn t;
        ks_txn_begin(&t, db, keys, 2);
        ks_rename(&t, 0, "z", 1, 0, "x", 1);
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 1);
    w = watch_add(db, 0, "x");
    {
        ks_key keys[2] = {{0, "x", 1}, {1, "x", 1}};
        ks_txn t;
        ks_txn_begin(&t, db, keys, 2);
        ks_delete(&t, 1, "x", 1);
        ks_rename(&t, 0, "x", 1, 1, "x", 1); /* MOVE */
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 1);
    w = watch_add(db, 0, "x"); /* absent: a flush does not touch it */
    put(db, 0, "y", "1", KS_EXPIRE_NONE);
    {
        ks_txn t;
        ks_txn_begin_db(&t, db, 0);
        ks_flush_db(&t, 0);
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 0);
    put(db, 0, "x", "1", KS_EXPIRE_NONE);
    w = watch_add(db, 0, "x"); /* present: it does */
    {
        ks_txn t;
        ks_txn_begin_db(&t, db, 0);
        ks_flush_db(&t, 0);
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 1);
    put(db, 2, "x", "1", KS_EXPIRE_NONE);
    w = watch_add(db, 0, "x"); /* absent here, present in the swapped db */
    {
        ks_txn t;
        ks_txn_begin_dbs(&t, db, 0, 2);
        ks_swap_db(&t, 0, 2);
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 1);
    lt_db_close(db);
}

TEST(watch_and_expiry) {
    lt_db *db = open_db();
    REQUIRE(db);
    /* Expired before WATCH: deleting it is no change, recreating is. */
    put(db, 0, "e", "1", 1); /* long past */
    watch w = watch_add(db, 0, "e");
    CHECK_EQ_INT(w.live, 0);
    {
        ks_key key = {0, "e", 1};
        ks_txn t;
        ks_txn_begin(&t, db, &key, 1);
        CHECK(ks_lookup(&t, 0, "e", 1, 0) == NULL); /* lazily deleted */
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 0);
    put(db, 0, "e", "1", 1);
    w = watch_add(db, 0, "e");
    put(db, 0, "e", "2", KS_EXPIRE_NONE);
    CHECK_EQ_INT(watch_end(db, &w), 1);
    /* Live at WATCH, expired at the check (lazily or not): changed. */
    put(db, 0, "e", "1", lt_mstime() + 100000);
    w = watch_add(db, 0, "e");
    CHECK_EQ_INT(w.live, 1);
    {
        ks_key key = {0, "e", 1};
        ks_txn t;
        ks_txn_begin(&t, db, &key, 1);
        CHECK_EQ_INT(ks_watch_changed(&t, 0, "e", 1, w.since, w.live), 0);
        t.now_ms += 200000; /* the check runs after the expiry */
        CHECK_EQ_INT(ks_watch_changed(&t, 0, "e", 1, w.since, w.live), 1);
        CHECK(ks_lookup(&t, 0, "e", 1, 0) == NULL);
        CHECK_EQ_INT(ks_watch_changed(&t, 0, "e", 1, w.since, w.live), 1);
        ks_txn_commit(&t);
    }
    CHECK_EQ_INT(watch_end(db, &w), 1);
    lt_db_close(db);
}

/* The registry is indexed: with thousands of keys watched in one shard, a
 * DEL / RENAME of an unwatched key, and WATCH / EXEC's check / UNWATCH of a
 * watched one, examine a few registry slots each, not every watched key
 * (counted with ks_watch_thread_probes, no timing). */
TEST(watch_registry_scales) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 2;
    cfg.shards_per_db = 1; /* every key in one shard: the worst case */
    lt_db *db = NULL;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    enum { N = 4096, OPS = 2000 };
    static watch ws[N];
    static char names[N][16];
    uint64_t p0 = ks_watch_thread_probes();
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "w%d", i);
        if (i % 2) put(db, 0, names[i], "v", KS_EXPIRE_NONE);
        ws[i] = watch_add(db, 0, names[i]);
    }
    /* Growing the index moves keys without probing: a few slots a key. */
    CHECK((ks_watch_thread_probes() - p0) / N <= 8);
    p0 = ks_watch_thread_probes();
    for (int i = 0; i < OPS; i++) {
        char k[24];
        snprintf(k, sizeof k, "other%d", i);
        put(db, 0, k, "v", KS_EXPIRE_NONE);
        del(db, 0, k);
        put(db, 0, k, "v", KS_EXPIRE_NONE);
        ks_key keys[2] = {{0, k, strlen(k)}, {0, "dst", 3}};
        ks_txn t;
        ks_txn_begin(&t, db, keys, 2);
        ks_rename(&t, 0, k, strlen(k), 0, "dst", 3);
        ks_txn_commit(&t);
    }
    uint64_t per_op = (ks_watch_thread_probes() - p0) / (3 * OPS);
    CHECK(per_op <= 8);
    /* Still exact: deleting watched keys is seen, the others are not. */
    for (int i = 0; i < N; i += 4) del(db, 0, names[i + 1]);
    p0 = ks_watch_thread_probes();
    int changed = 0;
    /* Removed in a scrambled order (an odd stride is a permutation of the
     * power-of-two N), so backward shifts meet every kind of probe run. */
    for (int k = 0; k < N; k++) changed += watch_end(db, &ws[(k * 1237) & (N - 1)]);
    CHECK_EQ_INT(changed, N / 4);
    CHECK((ks_watch_thread_probes() - p0) / N <= 8);
    lt_db_close(db);
}

int main(void) {
    RUN(nested_commands_commit_once);
    RUN(nested_whole_db_operations);
    RUN(watch_versions);
    RUN(watch_registry_scales);
    RUN(watch_and_expiry);
    return testlib_finish();
}
