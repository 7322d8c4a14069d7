/* Unit tests of the engine keyspace: hash table growth/shrink and the SCAN
 * guarantee under rehash, string encodings and metadata, writes, lazy and
 * active expiry, MVCC views and reclamation, flush/swap/rename/move, random
 * key, hooks, collection-type plug-in with copy-on-write. */
#include "../testlib.h"

#include <stdlib.h>

#include "common/clock.h"
#include "engine/expire.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"

#if defined(__SANITIZE_THREAD__)
/* Whole-database transactions hold hundreds of shard mutexes at once, more
 * than TSan's lock-order detector can track (64 per thread). This file is
 * single-threaded; lock order under contention is checked by
 * test_engine_concurrency with the detector on. */
const char *__tsan_default_options(void) { return "detect_deadlocks=0"; }
#endif

static lt_db *open_db(unsigned ndb, unsigned nshards) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = ndb;
    cfg.shards_per_db = nshards;
    lt_db *db = NULL;
    if (lt_db_open(&cfg, &db) != LT_OK) return NULL;
    return db;
}

static void kname(char *buf, const char *prefix, int i) {
    sprintf(buf, "%s:%d", prefix, i);
}

/* Runs one write in its own transaction. */
static void put(lt_db *db, unsigned dbid, const char *k, const char *v,
                int64_t expire_ms) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_set_str(&t, dbid, k, strlen(k), v, strlen(v), expire_ms, 0);
    ks_txn_commit(&t);
}

static int del(lt_db *db, unsigned dbid, const char *k) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    int rc = ks_delete(&t, dbid, k, strlen(k));
    ks_txn_commit(&t);
    return rc;
}

/* Current value of k into out (NUL-terminated), 1 if found. */
static int get(lt_db *db, unsigned dbid, const char *k, char *out, size_t cap) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_entry *e = ks_lookup(&t, dbid, k, strlen(k), 0);
    int found = e != NULL;
    if (e) {
        char buf[LT_LLSTR_SIZE];
        size_t n;
        const char *p = ks_entry_str(e, buf, &n);
        if (n >= cap) n = cap - 1;
        memcpy(out, p, n);
        out[n] = 0;
    }
    ks_txn_commit(&t);
    return found;
}

static const char *encoding_of(lt_db *db, const char *k, char *out) {
    ks_key key = {0, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_entry *e = ks_lookup(&t, 0, k, strlen(k), KS_LOOKUP_NOTOUCH);
    strcpy(out, e ? ks_entry_encoding_name(e) : "(none)");
    ks_txn_commit(&t);
    return out;
}

static uint64_t versions(lt_db *db) {
    ks_mvcc_stats st;
    ks_mvcc_get_stats(db, &st);
    return st.versions;
}

static void gc_all(lt_db *db) {
    for (int i = 0; i < 1000 && versions(db) > 0; i++) ks_gc_cycle(db, 0, 1, 100000);
}

TEST(open_config) {
    lt_config cfg;
    lt_config_init(&cfg);
    CHECK_EQ_INT(cfg.databases, 16);
    CHECK_EQ_INT(cfg.shards_per_db, 64);
    lt_db *db = NULL;
    cfg.shards_per_db = 3;
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_INVAL);
    cfg.shards_per_db = 8;
    cfg.databases = 0;
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_INVAL);
    CHECK_EQ_INT(lt_db_open(NULL, &db), LT_OK);
    CHECK_EQ_INT(ks_databases(db), 16);
    CHECK_EQ_INT(ks_shards_per_db(db), 64);
    lt_db_close(db);
}

TEST(grow_shrink_lookup) {
    lt_db *db = open_db(1, 1); /* one shard: one table grows a lot */
    REQUIRE(db);
    char k[32], v[32];
    for (int i = 0; i < 20000; i++) {
        kname(k, "key", i);
        sprintf(v, "v%d", i);
        put(db, 0, k, v, KS_EXPIRE_NONE);
    }
    CHECK_EQ_INT(ks_db_size(db, 0), 20000);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        char out[32];
        kname(k, "key", i);
        sprintf(v, "v%d", i);
        if (!get(db, 0, k, out, sizeof(out)) || strcmp(out, v) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 20000; i += 2) {
        kname(k, "key", i);
        CHECK_EQ_INT(del(db, 0, k), LT_OK);
    }
    CHECK_EQ_INT(del(db, 0, "key:0"), LT_NOTFOUND);
    CHECK_EQ_INT(ks_db_size(db, 0), 10000);
    for (int i = 1; i < 20000; i += 2) {
        kname(k, "key", i);
        CHECK_EQ_INT(del(db, 0, k), LT_OK);
    }
    CHECK_EQ_INT(ks_db_size(db, 0), 0);
    CHECK_EQ_INT(versions(db), 0);
    lt_db_close(db);
}

typedef struct seen_set {
    char *seen; /* per stable key index */
    int emitted;
} seen_set;

static void scan_cb(void *ctx, const ks_entry *e) {
    seen_set *s = ctx;
    size_t n;
    const char *k = ks_entry_key(e, &n);
    s->emitted++;
    if (n > 7 && memcmp(k, "stable:", 7) == 0) s->seen[atoi(k + 7)] = 1;
}

TEST(scan_guarantee_under_rehash) {
    lt_db *db = open_db(1, 4);
    REQUIRE(db);
    enum { STABLE = 2000, CHURN = 30000 };
    char k[32];
    for (int i = 0; i < STABLE; i++) {
        kname(k, "stable", i);
        put(db, 0, k, "x", KS_EXPIRE_NONE);
    }
    seen_set s = {calloc(STABLE, 1), 0};
    uint64_t cursor = 0;
    int calls = 0, churn_next = 0, phase = 0;
    do {
        cursor = ks_scan(db, 0, cursor, 10, scan_cb, &s);
        calls++;
        /* Between calls: grow the tables a lot, then shrink them again. */
        for (int j = 0; j < 300; j++) {
            if (phase == 0) {
                kname(k, "churn", churn_next++);
                put(db, 0, k, "y", KS_EXPIRE_NONE);
                if (churn_next == CHURN) phase = 1;
            } else if (phase == 1 && churn_next > 0) {
                kname(k, "churn", --churn_next);
                del(db, 0, k);
            }
        }
    } while (cursor != 0 && calls < 1000000);
    CHECK(cursor == 0);
    int missing = 0;
    for (int i = 0; i < STABLE; i++) missing += !s.seen[i];
    CHECK_EQ_INT(missing, 0);
    CHECK(calls > 10);
    /* A full scan with no concurrent change visits each key exactly once
     * (no rehash in between: tables are stable). */
    memset(s.seen, 0, STABLE);
    s.emitted = 0;
    cursor = 0;
    do cursor = ks_scan(db, 0, cursor, 100, scan_cb, &s); while (cursor);
    CHECK_EQ_INT(s.emitted, (int)ks_db_size(db, 0));
    /* Garbage cursors are accepted. */
    ks_scan(db, 0, 0xdeadbeefcafebabeULL, 10, scan_cb, &s);
    free(s.seen);
    lt_db_close(db);
}

TEST(string_encodings) {
    lt_db *db = open_db(1, 2);
    REQUIRE(db);
    char enc[32], out[64];
    put(db, 0, "i", "12345", KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "i", enc), "int");
    CHECK(get(db, 0, "i", out, sizeof(out)));
    CHECK_EQ_STR(out, "12345");
    put(db, 0, "neg", "-9223372036854775808", KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "neg", enc), "int");
    put(db, 0, "lead0", "0123", KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "lead0", enc), "embstr");
    put(db, 0, "s", "hello", KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "s", enc), "embstr");
    char big[46];
    memset(big, 'a', 45);
    big[45] = 0;
    put(db, 0, "b45", big, KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "b45", enc), "raw");
    big[44] = 0;
    put(db, 0, "b44", big, KS_EXPIRE_NONE);
    CHECK_EQ_STR(encoding_of(db, "b44", enc), "embstr");

    /* In-place append turns int and embstr into raw (Redis does too). */
    ks_key keys[2] = {{0, "i", 1}, {0, "s", 1}};
    ks_txn t;
    ks_txn_begin(&t, db, keys, 2);
    char *p = ks_str_resize(&t, 0, "i", 1, 7);
    memcpy(p + 5, "ab", 2);
    p = ks_str_resize(&t, 0, "s", 1, 5000);
    memset(p + 5, 'z', 4995);
    ks_entry *e = ks_lookup(&t, 0, "s", 1, 0);
    CHECK_EQ_INT(ks_entry_strlen(e), 5000);
    CHECK_EQ_STR(ks_entry_type_name(e), "string");
    CHECK(ks_entry_memory_usage(e) >= 5000);
    ks_txn_commit(&t);
    CHECK(get(db, 0, "i", out, sizeof(out)));
    CHECK_EQ_STR(out, "12345ab");
    CHECK_EQ_STR(encoding_of(db, "i", enc), "raw");
    CHECK_EQ_STR(encoding_of(db, "s", enc), "raw");

    /* INCR-style in-place int update keeps the TTL. */
    int64_t when = lt_mstime() + 100000;
    ks_key kc = {0, "ctr", 3};
    ks_txn_begin(&t, db, &kc, 1);
    ks_set_int(&t, 0, "ctr", 3, 1, when);
    ks_txn_commit(&t);
    for (int i = 0; i < 10; i++) {
        ks_txn_begin(&t, db, &kc, 1);
        e = ks_lookup(&t, 0, "ctr", 3, 0);
        long long v;
        REQUIRE(e && ks_entry_get_int(e, &v));
        ks_set_int(&t, 0, "ctr", 3, v + 1, KS_EXPIRE_KEEP);
        ks_txn_commit(&t);
    }
    CHECK(get(db, 0, "ctr", out, sizeof(out)));
    CHECK_EQ_STR(out, "11");
    ks_txn_begin(&t, db, &kc, 1);
    e = ks_lookup(&t, 0, "ctr", 3, 0);
    CHECK(ks_entry_expire_ms(e) == when);
    CHECK(ks_entry_lfu(e, t.now_ms) >= 5);
    CHECK(ks_entry_idle_s(e, t.now_ms + 5000) >= 4);
    ks_txn_commit(&t);
    lt_db_close(db);
}

static void count_cb(void *ctx, const ks_entry *e) {
    (void)e;
    (*(int *)ctx)++;
}

TEST(expire_lazy) {
    lt_db *db = open_db(2, 4);
    REQUIRE(db);
    int64_t now = lt_mstime();
    put(db, 0, "old", "v", now - 1000);
    put(db, 0, "new", "v", now + 100000);
    CHECK_EQ_INT(ks_db_size(db, 0), 2);
    CHECK_EQ_INT(ks_db_expires(db, 0), 2);
    /* SCAN skips expired keys without deleting them. */
    int n = 0;
    uint64_t c = 0;
    do c = ks_scan(db, 0, c, 100, count_cb, &n); while (c);
    CHECK_EQ_INT(n, 1);
    /* NOEXPIRE lookups (replica reads) report absent but keep the key. */
    ks_key k = {0, "old", 3};
    ks_txn t;
    ks_txn_begin(&t, db, &k, 1);
    CHECK(ks_lookup(&t, 0, "old", 3, KS_LOOKUP_NOEXPIRE) == NULL);
    ks_txn_commit(&t);
    CHECK_EQ_INT(ks_db_size(db, 0), 2);
    char out[8];
    CHECK(!get(db, 0, "old", out, sizeof(out)));
    CHECK(get(db, 0, "new", out, sizeof(out)));
    CHECK_EQ_INT(ks_db_size(db, 0), 1);
    CHECK_EQ_INT(ks_db_expires(db, 0), 1);
    ks_expire_stats st;
    ks_expire_get_stats(db, &st);
    CHECK_EQ_INT(st.expired_keys, 1);
    /* PERSIST, then an expiry set later. */
    ks_key two[2] = {{0, "new", 3}, {0, "nokey", 5}};
    ks_txn_begin(&t, db, two, 2);
    CHECK_EQ_INT(ks_set_expire(&t, 0, "new", 3, KS_EXPIRE_NONE), LT_OK);
    CHECK_EQ_INT(ks_set_expire(&t, 0, "nokey", 5, 5), LT_NOTFOUND);
    ks_txn_commit(&t);
    k = two[0];
    CHECK_EQ_INT(ks_db_expires(db, 0), 0);
    ks_txn_begin(&t, db, &k, 1);
    CHECK_EQ_INT(ks_set_expire(&t, 0, "new", 3, now - 1), LT_OK);
    ks_txn_commit(&t);
    CHECK_EQ_INT(ks_db_expires(db, 0), 1);
    CHECK(!get(db, 0, "new", out, sizeof(out)));
    CHECK_EQ_INT(ks_db_size(db, 0), 0);
    lt_db_close(db);
}

TEST(expire_active) {
    lt_db *db = open_db(2, 8);
    REQUIRE(db);
    int64_t now = lt_mstime();
    char k[32];
    for (int i = 0; i < 5000; i++) {
        kname(k, "dead", i);
        put(db, 1, k, "v", now - 10);
    }
    for (int i = 0; i < 300; i++) {
        kname(k, "live", i);
        put(db, 1, k, "v", now + 3600 * 1000);
    }
    for (int i = 0; i < 100; i++) {
        kname(k, "forever", i);
        put(db, 1, k, "v", KS_EXPIRE_NONE);
    }
    CHECK_EQ_INT(ks_db_expires(db, 1), 5300);
    uint64_t total = 0;
    for (int i = 0; i < 2000 && ks_db_expires(db, 1) > 300; i++) {
        /* Two "threads" each owning half of the shards. */
        total += ks_expire_cycle(db, 0, 2, 1000);
        total += ks_expire_cycle(db, 1, 2, 1000);
    }
    CHECK_EQ_INT(total, 5000);
    CHECK_EQ_INT(ks_db_size(db, 1), 400);
    CHECK_EQ_INT(ks_db_expires(db, 1), 300);
    int64_t avg = ks_db_avg_ttl(db, 1);
    CHECK(avg > 0 && avg <= 3600 * 1000);
    ks_expire_stats st;
    ks_expire_get_stats(db, &st);
    CHECK_EQ_INT(st.expired_keys, 5000);
    CHECK(st.expired_stale_perc >= 0 && st.expired_stale_perc <= 100);
    lt_db_close(db);
}

TEST(mvcc_view_and_reclaim) {
    lt_db *db = open_db(1, 4);
    REQUIRE(db);
    char k[32], out[32];
    for (int i = 0; i < 100; i++) {
        kname(k, "k", i);
        put(db, 0, k, "v1", KS_EXPIRE_NONE);
    }
    CHECK_EQ_INT(versions(db), 0);
    ks_view v;
    ks_view_open(db, &v);
    const ks_entry *pinned = ks_view_get(&v, 0, "k:0", 3);
    REQUIRE(pinned);
    /* Writers after the view: replace, delete, create, modify in place. */
    for (int i = 0; i < 50; i++) {
        kname(k, "k", i);
        put(db, 0, k, "v2", KS_EXPIRE_NONE);
    }
    for (int i = 50; i < 60; i++) {
        kname(k, "k", i);
        del(db, 0, k);
    }
    put(db, 0, "fresh", "new", KS_EXPIRE_NONE);
    ks_key key = {0, "k:70", 4};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    char *p = ks_str_resize(&t, 0, "k:70", 4, 3);
    p[2] = '!';
    ks_txn_commit(&t);
    CHECK(versions(db) >= 61);

    /* The view sees the old state, current readers the new one. */
    size_t n;
    char buf[LT_LLSTR_SIZE];
    const char *s = ks_entry_str(pinned, buf, &n);
    CHECK(n == 2 && memcmp(s, "v1", 2) == 0);
    const ks_entry *e = ks_view_get(&v, 0, "k:55", 4);
    CHECK(e != NULL);
    CHECK(ks_view_get(&v, 0, "fresh", 5) == NULL);
    e = ks_view_get(&v, 0, "k:70", 4);
    REQUIRE(e);
    s = ks_entry_str(e, buf, &n);
    CHECK(n == 2 && memcmp(s, "v1", 2) == 0);
    CHECK(get(db, 0, "k:70", out, sizeof(out)));
    CHECK_EQ_STR(out, "v1!");
    CHECK(!get(db, 0, "k:55", out, sizeof(out)));
    CHECK(get(db, 0, "k:0", out, sizeof(out)));
    CHECK_EQ_STR(out, "v2");
    CHECK_EQ_INT(ks_db_size(db, 0), 91);

    /* Iteration as of the view: 100 keys, all "v1", each once. */
    ks_view_iter it;
    ks_view_iter_init(&it, &v, 0);
    int count = 0;
    while (ks_view_iter_next(&it, 7, count_cb, &count)) {
        put(db, 0, "during-iter", "x", KS_EXPIRE_NONE); /* writers go on */
        del(db, 0, "during-iter");
    }
    ks_view_iter_close(&it);
    CHECK_EQ_INT(count, 100);

    /* GC keeps what the open view needs. */
    gc_all(db);
    CHECK(versions(db) >= 61);
    ks_view_close(&v);
    gc_all(db);
    CHECK_EQ_INT(versions(db), 0);
    CHECK_EQ_INT(ks_db_size(db, 0), 91);
    CHECK(get(db, 0, "k:0", out, sizeof(out)));
    CHECK_EQ_STR(out, "v2");
    lt_db_close(db);
}

TEST(mvcc_no_view_no_versions) {
    lt_db *db = open_db(1, 2);
    REQUIRE(db);
    for (int r = 0; r < 3; r++) {
        put(db, 0, "a", "1", KS_EXPIRE_NONE);
        put(db, 0, "a", "2", lt_mstime() + 10000);
        del(db, 0, "a");
        CHECK_EQ_INT(versions(db), 0);
    }
    /* Views opened and closed: writers afterwards reclaim as they go. */
    put(db, 0, "a", "1", KS_EXPIRE_NONE);
    ks_view v1, v2;
    ks_view_open(db, &v1);
    put(db, 0, "a", "2", KS_EXPIRE_NONE);
    ks_view_open(db, &v2);
    put(db, 0, "a", "3", KS_EXPIRE_NONE);
    char buf[LT_LLSTR_SIZE];
    size_t n;
    CHECK_EQ_STR((ks_entry_str(ks_view_get(&v1, 0, "a", 1), buf, &n), buf), "1");
    CHECK_EQ_STR((ks_entry_str(ks_view_get(&v2, 0, "a", 1), buf, &n), buf), "2");
    CHECK_EQ_INT(versions(db), 2);
    ks_view_close(&v1);
    put(db, 0, "a", "4", KS_EXPIRE_NONE); /* prunes "1" (and "3") */
    CHECK_EQ_INT(versions(db), 1);
    CHECK_EQ_STR((ks_entry_str(ks_view_get(&v2, 0, "a", 1), buf, &n), buf), "2");
    ks_view_close(&v2);
    put(db, 0, "a", "5", KS_EXPIRE_NONE);
    CHECK_EQ_INT(versions(db), 0);
    lt_db_close(db);
}

TEST(flush_and_swap) {
    lt_db *db = open_db(3, 4);
    REQUIRE(db);
    char k[32], out[32];
    for (int i = 0; i < 1000; i++) {
        kname(k, "a", i);
        put(db, 0, k, "A", i % 2 ? lt_mstime() + 100000 : KS_EXPIRE_NONE);
    }
    for (int i = 0; i < 10; i++) {
        kname(k, "b", i);
        put(db, 1, k, "B", KS_EXPIRE_NONE);
    }
    put(db, 0, "both", "A", KS_EXPIRE_NONE);
    put(db, 1, "both", "B", KS_EXPIRE_NONE);
    ks_txn t;
    ks_txn_begin_dbs(&t, db, 1, 0);
    ks_swap_db(&t, 0, 1);
    ks_txn_commit(&t);
    CHECK_EQ_INT(ks_db_size(db, 0), 11);
    CHECK_EQ_INT(ks_db_size(db, 1), 1001);
    CHECK_EQ_INT(ks_db_expires(db, 1), 500);
    CHECK(get(db, 0, "both", out, sizeof(out)) && strcmp(out, "B") == 0);
    CHECK(get(db, 1, "both", out, sizeof(out)) && strcmp(out, "A") == 0);

    /* Swap while a view is open: the view keeps the pre-swap contents. */
    ks_view v;
    ks_view_open(db, &v);
    ks_txn_begin_all(&t, db);
    ks_swap_db(&t, 0, 1);
    ks_txn_commit(&t);
    CHECK_EQ_INT(ks_db_size(db, 0), 1001);
    CHECK_EQ_INT(ks_db_size(db, 1), 11);
    CHECK_EQ_INT(ks_db_expires(db, 0), 500);
    CHECK(get(db, 0, "both", out, sizeof(out)) && strcmp(out, "A") == 0);
    CHECK(get(db, 0, "a:5", out, sizeof(out)));
    CHECK(!get(db, 0, "b:5", out, sizeof(out)));
    CHECK(get(db, 1, "b:5", out, sizeof(out)));
    CHECK(ks_view_get(&v, 0, "b:5", 3) != NULL);
    CHECK(ks_view_get(&v, 0, "a:5", 3) == NULL);

    /* Flush while the view is open: per key, view still sees the data. */
    ks_txn_begin_db(&t, db, 0);
    ks_flush_db(&t, 0);
    ks_txn_commit(&t);
    CHECK_EQ_INT(ks_db_size(db, 0), 0);
    CHECK_EQ_INT(ks_db_expires(db, 0), 0);
    CHECK(ks_view_get(&v, 0, "b:5", 3) != NULL);
    CHECK(ks_view_get(&v, 1, "a:7", 3) != NULL);
    ks_view_close(&v);
    gc_all(db);
    CHECK_EQ_INT(versions(db), 0);

    /* Flush without views: tables detached and freed after unlock. */
    ks_txn_begin_all(&t, db);
    for (unsigned d = 0; d < 3; d++) ks_flush_db(&t, d);
    ks_txn_commit(&t);
    for (unsigned d = 0; d < 3; d++) CHECK_EQ_INT(ks_db_size(db, d), 0);
    put(db, 1, "again", "x", KS_EXPIRE_NONE);
    CHECK(get(db, 1, "again", out, sizeof(out)));
    lt_db_close(db);
}

TEST(rename_move) {
    lt_db *db = open_db(2, 8);
    REQUIRE(db);
    char out[32];
    int64_t when = lt_mstime() + 50000;
    put(db, 0, "src", "val", when);
    put(db, 0, "dst", "old", KS_EXPIRE_NONE);
    ks_key keys[2] = {{0, "src", 3}, {0, "dst", 3}};
    ks_txn t;
    ks_txn_begin(&t, db, keys, 2);
    CHECK_EQ_INT(ks_rename(&t, 0, "src", 3, 0, "dst", 3), LT_OK);
    CHECK_EQ_INT(ks_rename(&t, 0, "src", 3, 0, "dst", 3), LT_NOTFOUND);
    ks_entry *e = ks_lookup(&t, 0, "dst", 3, 0);
    CHECK(e && ks_entry_expire_ms(e) == when);
    CHECK_EQ_INT(ks_rename(&t, 0, "dst", 3, 0, "dst", 3), LT_OK);
    ks_txn_commit(&t);
    CHECK(!get(db, 0, "src", out, sizeof(out)));
    CHECK(get(db, 0, "dst", out, sizeof(out)) && strcmp(out, "val") == 0);
    CHECK_EQ_INT(ks_db_expires(db, 0), 1);
    /* MOVE to db 1, with a view open (old version kept). */
    ks_view v;
    ks_view_open(db, &v);
    ks_key mk[2] = {{0, "dst", 3}, {1, "dst", 3}};
    ks_txn_begin(&t, db, mk, 2);
    CHECK_EQ_INT(ks_rename(&t, 0, "dst", 3, 1, "dst", 3), LT_OK);
    ks_txn_commit(&t);
    CHECK(!get(db, 0, "dst", out, sizeof(out)));
    CHECK(get(db, 1, "dst", out, sizeof(out)) && strcmp(out, "val") == 0);
    CHECK(ks_view_get(&v, 0, "dst", 3) != NULL);
    CHECK(ks_view_get(&v, 1, "dst", 3) == NULL);
    CHECK_EQ_INT(ks_db_expires(db, 0), 0);
    CHECK_EQ_INT(ks_db_expires(db, 1), 1);
    ks_view_close(&v);
    gc_all(db);
    CHECK_EQ_INT(versions(db), 0);
    lt_db_close(db);
}

static void key_cb(void *ctx, const ks_entry *e) {
    size_t n;
    const char *k = ks_entry_key(e, &n);
    memcpy(ctx, k, n);
    ((char *)ctx)[n] = 0;
}

TEST(random_key) {
    lt_db *db = open_db(1, 16);
    REQUIRE(db);
    char buf[64];
    CHECK_EQ_INT(ks_random_key(db, 0, key_cb, buf), LT_NOTFOUND);
    put(db, 0, "only", "x", KS_EXPIRE_NONE);
    CHECK_EQ_INT(ks_random_key(db, 0, key_cb, buf), LT_OK);
    CHECK_EQ_STR(buf, "only");
    char k[32];
    for (int i = 0; i < 200; i++) {
        kname(k, "r", i);
        put(db, 0, k, "x", KS_EXPIRE_NONE);
    }
    int others = 0;
    for (int i = 0; i < 100; i++) {
        REQUIRE(ks_random_key(db, 0, key_cb, buf) == LT_OK);
        others += strcmp(buf, "only") != 0;
    }
    CHECK(others > 80);
    lt_db_close(db);
}

TEST(txn_many_keys_and_ts) {
    lt_db *db = open_db(4, 64);
    REQUIRE(db);
    enum { N = 300 };
    char names[N][16];
    ks_key keys[N];
    for (int i = 0; i < N; i++) {
        sprintf(names[i], "m%d", i);
        keys[i] = (ks_key){(unsigned)(i % 2), names[i], strlen(names[i])};
    }
    ks_txn t;
    ks_txn_begin(&t, db, keys, N); /* > KS_TXN_MAX_SHARDS: whole dbs */
    CHECK_EQ_INT(t.mode, KS_LOCK_DBS);
    for (int i = 0; i < N; i++)
        ks_set_str(&t, keys[i].dbid, names[i], strlen(names[i]), "v", 1,
                   KS_EXPIRE_NONE, 0);
    uint64_t ts = ks_txn_commit(&t);
    CHECK(ts > 0);
    CHECK_EQ_INT(ks_db_size(db, 0) + ks_db_size(db, 1), N);
    keys[2].dbid = 3; /* a third database: everything */
    ks_txn_begin(&t, db, keys, N);
    CHECK_EQ_INT(t.mode, KS_LOCK_ALL);
    CHECK(ks_key_ts(&t, 0, "m0", 2) == ts);
    CHECK(ks_key_ts(&t, 0, "absent", 6) == 0);
    CHECK_EQ_INT(ks_txn_commit(&t), 0); /* no writes */
    /* Small sets: sorted, deduplicated shard ids. */
    ks_key few[4] = {{0, "a", 1}, {0, "a", 1}, {1, "a", 1}, {0, "b", 1}};
    ks_txn_begin(&t, db, few, 4);
    CHECK_EQ_INT(t.mode, KS_LOCK_SHARDS);
    CHECK(t.nlocked >= 2 && t.nlocked <= 3);
    for (int i = 1; i < t.nlocked; i++) CHECK(t.locked[i - 1] < t.locked[i]);
    ks_set_str(&t, 0, "a", 1, "1", 1, KS_EXPIRE_NONE, 0);
    uint64_t ts2 = ks_txn_commit(&t);
    CHECK(ts2 > ts);
    lt_db_close(db);
}

/* A toy collection type: a heap counter, to test the type plug-in and
 * copy-on-write of objects under views. */
static int live_objs;
static void *cnt_new(long v) {
    long *p = malloc(sizeof(long));
    *p = v;
    live_objs++;
    return p;
}
static void cnt_free(void *o) {
    live_objs--;
    free(o);
}
static void *cnt_dup(const void *o) { return cnt_new(*(const long *)o); }
static size_t cnt_mem(const void *o) {
    (void)o;
    return sizeof(long);
}
static const char *cnt_enc(const void *o) {
    (void)o;
    return "counter";
}
static const ks_type_ops cnt_ops = {"list", cnt_free, cnt_dup, cnt_mem, cnt_enc};

TEST(object_type_cow) {
    ks_type_register(KS_TYPE_LIST, &cnt_ops);
    lt_db *db = open_db(1, 2);
    REQUIRE(db);
    ks_key k = {0, "obj", 3};
    ks_txn t;
    ks_txn_begin(&t, db, &k, 1);
    ks_set_obj(&t, 0, "obj", 3, KS_TYPE_LIST, cnt_new(1), KS_EXPIRE_NONE);
    ks_txn_commit(&t);
    ks_view v;
    ks_view_open(db, &v);
    ks_txn_begin(&t, db, &k, 1);
    long *p = ks_obj_mutable(&t, 0, "obj", 3);
    *p = 2;
    ks_entry *e = ks_lookup(&t, 0, "obj", 3, 0);
    CHECK_EQ_STR(ks_entry_type_name(e), "list");
    CHECK_EQ_STR(ks_entry_encoding_name(e), "counter");
    ks_txn_commit(&t);
    CHECK_EQ_INT(live_objs, 2);
    const ks_entry *old = ks_view_get(&v, 0, "obj", 3);
    REQUIRE(old);
    CHECK_EQ_INT(*(long *)ks_entry_obj(old), 1);
    ks_view_close(&v);
    gc_all(db);
    CHECK_EQ_INT(live_objs, 1);
    /* Rename moves the object without copying. */
    ks_key rk[2] = {{0, "obj", 3}, {0, "obj2", 4}};
    ks_txn_begin(&t, db, rk, 2);
    CHECK_EQ_INT(ks_rename(&t, 0, "obj", 3, 0, "obj2", 4), LT_OK);
    e = ks_lookup(&t, 0, "obj2", 4, 0);
    CHECK_EQ_INT(*(long *)ks_entry_obj(e), 2);
    ks_txn_commit(&t);
    CHECK_EQ_INT(live_objs, 1);
    lt_db_close(db);
    CHECK_EQ_INT(live_objs, 0);
}

static int commits, expirations;
static void on_commit(void *ctx, ks_txn *t) {
    (void)ctx;
    CHECK(ks_txn_ts(t) > 0);
    commits++;
}
static void on_expired(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts) {
    (void)ctx;
    size_t n;
    CHECK_EQ_INT(dbid, 0);
    CHECK(ts > 0);
    CHECK(memcmp(ks_entry_key(e, &n), "gone", 4) == 0);
    expirations++;
}

TEST(hooks) {
    lt_db *db = open_db(1, 2);
    REQUIRE(db);
    ks_hooks h = {.ctx = NULL, .commit = on_commit, .expired = on_expired};
    ks_set_hooks(db, &h);
    put(db, 0, "a", "1", KS_EXPIRE_NONE);
    put(db, 0, "gone", "1", lt_mstime() - 5);
    CHECK_EQ_INT(commits, 2);
    char out[8];
    CHECK(!get(db, 0, "gone", out, sizeof(out))); /* read-only: no commit */
    CHECK_EQ_INT(commits, 2);
    CHECK_EQ_INT(expirations, 1);
    lt_db_close(db);
}

int main(void) {
    RUN(open_config);
    RUN(grow_shrink_lookup);
    RUN(scan_guarantee_under_rehash);
    RUN(string_encodings);
    RUN(expire_lazy);
    RUN(expire_active);
    RUN(mvcc_view_and_reclaim);
    RUN(mvcc_no_view_no_versions);
    RUN(flush_and_swap);
    RUN(rename_move);
    RUN(random_key);
    RUN(txn_many_keys_and_ts);
    RUN(object_type_cow);
    RUN(hooks);
    return testlib_finish();
}
