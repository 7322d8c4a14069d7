/*
 * Unit tests of batch prefetching (engine/prefetch.h): prefetching changes
 * no result — present, absent, expired and repeated keys, keys in several
 * databases and shards, a table in the middle of a rehash — inside a
 * transaction (ks_txn_prefetch, which also makes the keys the
 * transaction's hash cache) and outside one (ks_prefetch, whose hashes
 * ks_txn_begin_hashed takes and whose shard locks are all released), and
 * inside EXEC's nested transactions. Also the transaction hash cache
 * itself (ks_txn_hash finds cached keys in any order).
 */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "engine/keyspace.h"
#include "engine/keyspace_int.h"
#include "engine/prefetch.h"

static lt_db *open_db(unsigned dbs, unsigned shards) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = dbs;
    cfg.shards_per_db = shards;
    lt_db *db = NULL;
    if (lt_db_open(&cfg, &db) != LT_OK) return NULL;
    return db;
}

static void put(lt_db *db, unsigned dbid, const char *k, const char *v, int64_t exp) {
    ks_key key = {dbid, k, strlen(k)};
    ks_txn t;
    ks_txn_begin(&t, db, &key, 1);
    ks_set_str(&t, dbid, k, strlen(k), v, strlen(v), exp, KS_SET_NOINT);
    ks_txn_commit(&t);
}

/* The value of an entry as a string ("" for none), in a static buffer. */
static const char *val(const ks_entry *e) {
    static char out[64];
    if (!e) return "";
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const char *s = ks_entry_str(e, buf, &len);
    snprintf(out, sizeof(out), "%.*s", (int)len, s);
    return out;
}

/* Expected value of key number i in db d: present for i % 3 != 0. */
static void fill(lt_db *db, unsigned d, int n, char names[][16]) {
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 16, "k%d", i);
        if (i % 3 == 0) continue;
        char v[16];
        snprintf(v, sizeof(v), "v%u:%d", d, i);
        put(db, d, names[i], v, i % 7 == 0 ? 1 : KS_EXPIRE_NONE); /* 1: expired */
    }
}

static const char *expect(unsigned d, int i) {
    static char out[16];
    if (i % 3 == 0 || i % 7 == 0) return "";
    snprintf(out, sizeof(out), "v%u:%d", d, i);
    return out;
}

/* Whether every shard lock of db is free (a prefetch left none held). */
static int all_unlocked(lt_db *db) {
    for (unsigned g = 0; g < db->ndb * db->nshards; g++) {
        if (pthread_mutex_trylock(&db->shards[g].lock) != 0) return 0;
        pthread_mutex_unlock(&db->shards[g].lock);
    }
    return 1;
}

TEST(txn_prefetch_changes_no_result) {
    lt_db *db = open_db(2, 8);
    REQUIRE(db);
    char names[40][16];
    fill(db, 1, 40, names);
    /* 40 keys, one repeated: three windows of at most KS_PREFETCH_MAX. */
    ks_key keys[41];
    for (int i = 0; i < 40; i++) keys[i] = (ks_key){1, names[i], strlen(names[i])};
    keys[40] = keys[5];
    ks_txn t;
    ks_txn_begin(&t, db, keys, 41);
    for (int j = 0; j < 41; j += KS_PREFETCH_MAX) {
        int n = 41 - j < KS_PREFETCH_MAX ? 41 - j : KS_PREFETCH_MAX;
        ks_txn_prefetch(&t, keys + j, (size_t)n);
        /* The window is the hash cache now, with the keyspace's hashes. */
        CHECK_EQ_INT(t.nhcache, n);
        for (int k = 0; k < n; k++) {
            char copy[16];
            memcpy(copy, keys[j + k].key, keys[j + k].klen);
            CHECK(t.hcache[k].key == keys[j + k].key);
            CHECK(t.hcache[k].hash == ks_txn_hash(&t, copy, keys[j + k].klen));
        }
        for (int k = j; k < j + n; k++) {
            int i = k == 40 ? 5 : k;
            ks_entry *e = ks_lookup(&t, 1, keys[k].key, keys[k].klen, 0);
            CHECK_EQ_STR(val(e), expect(1, i));
        }
    }
    /* Keys of db 0 do not exist. */
    ks_txn_commit(&t);
    ks_key k0 = {0, names[1], strlen(names[1])};
    ks_txn_begin(&t, db, &k0, 1);
    ks_txn_prefetch(&t, &k0, 1);
    CHECK(ks_lookup(&t, 0, names[1], strlen(names[1]), 0) == NULL);
    ks_txn_commit(&t);
    lt_db_close(db);
}

TEST(prefetch_outside_txn) {
    lt_db *db = open_db(3, 4);
    REQUIRE(db);
    char names[30][16];
    fill(db, 0, 30, names);
    fill(db, 2, 30, names);
    /* Keys of two databases, repeats, several per shard (4 shards). */
    ks_key keys[KS_PREFETCH_MAX];
    int idx[KS_PREFETCH_MAX];
    for (int i = 0; i < KS_PREFETCH_MAX; i++) {
        idx[i] = (i * 7) % 30;
        unsigned d = i % 2 ? 2 : 0;
        keys[i] = (ks_key){d, names[idx[i]], strlen(names[idx[i]])};
    }
    keys[KS_PREFETCH_MAX - 1] = keys[0];
    idx[KS_PREFETCH_MAX - 1] = idx[0];
    uint64_t hashes[KS_PREFETCH_MAX];
    ks_prefetch(db, keys, KS_PREFETCH_MAX, hashes);
    CHECK(all_unlocked(db));
    for (int i = 0; i < KS_PREFETCH_MAX; i++) {
        ks_txn t;
        ks_txn_begin_hashed(&t, db, &keys[i], &hashes[i], 1);
        char copy[16];
        memcpy(copy, keys[i].key, keys[i].klen);
        CHECK(hashes[i] == ks_txn_hash(&t, copy, keys[i].klen));
        ks_entry *e = ks_lookup(&t, keys[i].dbid, keys[i].key, keys[i].klen, 0);
        CHECK_EQ_STR(val(e), expect(keys[i].dbid, idx[i]));
        ks_txn_commit(&t);
    }
    /* All of them in one transaction begun with their hashes. */
    ks_txn t;
    ks_txn_begin_hashed(&t, db, keys, hashes, KS_PREFETCH_MAX);
    for (int i = 0; i < KS_PREFETCH_MAX; i++) {
        ks_entry *e = ks_lookup(&t, keys[i].dbid, keys[i].key, keys[i].klen, 0);
        CHECK_EQ_STR(val(e), expect(keys[i].dbid, idx[i]));
    }
    ks_txn_commit(&t);
    /* An empty database and an empty batch. */
    ks_key none = {1, "x", 1};
    ks_prefetch(db, &none, 1, hashes);
    ks_prefetch(db, keys, 0, hashes);
    CHECK(all_unlocked(db));
    lt_db_close(db);
}

TEST(prefetch_during_rehash) {
    lt_db *db = open_db(1, 1);
    REQUIRE(db);
    /* One shard: the 1025th key grows 1024 buckets to 2048, and the
     * rehash moves one bucket per operation, so it is still going on. */
    enum { N = 1025 };
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 16, "r%d", i);
        put(db, 0, names[i], names[i], KS_EXPIRE_NONE);
    }
    REQUIRE(dict_is_rehashing(&db->shards[0].data.d));
    for (int round = 0; round < 8; round++) {
        ks_key keys[KS_PREFETCH_MAX];
        for (int i = 0; i < KS_PREFETCH_MAX; i++) {
            int k = (round * 131 + i * 67) % N;
            keys[i] = (ks_key){0, names[k], strlen(names[k])};
        }
        uint64_t hashes[KS_PREFETCH_MAX];
        ks_prefetch(db, keys, KS_PREFETCH_MAX, hashes);
        ks_txn t;
        ks_txn_begin_hashed(&t, db, keys, hashes, KS_PREFETCH_MAX);
        ks_txn_prefetch(&t, keys, KS_PREFETCH_MAX);
        for (int i = 0; i < KS_PREFETCH_MAX; i++) {
            ks_entry *e = ks_lookup(&t, 0, keys[i].key, keys[i].klen, 0);
            CHECK_EQ_STR(val(e), keys[i].key);
        }
        ks_txn_commit(&t);
    }
    CHECK(dict_is_rehashing(&db->shards[0].data.d)); /* it was exercised */
    CHECK(all_unlocked(db));
    lt_db_close(db);
}

TEST(prefetch_in_nested_txn) {
    lt_db *db = open_db(1, 4);
    REQUIRE(db);
    char names[20][16];
    fill(db, 0, 20, names);
    ks_txn outer;
    ks_txn_begin_db(&outer, db, 0);
    ks_txn_nest_enter(&outer);
    ks_key keys[4];
    for (int i = 0; i < 4; i++) keys[i] = (ks_key){0, names[i + 1], strlen(names[i + 1])};
    ks_txn t;
    ks_txn_begin(&t, db, keys, 4);
    ks_txn_prefetch(&t, keys, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_STR(val(ks_lookup(&t, 0, keys[i].key, keys[i].klen, 0)), expect(0, i + 1));
    ks_txn_commit(&t);
    ks_txn_nest_leave(&outer);
    ks_txn_commit(&outer);
    CHECK(all_unlocked(db));
    lt_db_close(db);
}

TEST(hash_cache_any_order) {
    lt_db *db = open_db(1, 4);
    REQUIRE(db);
    char names[KS_TXN_HASH_CACHE][16];
    ks_key keys[KS_TXN_HASH_CACHE];
    for (int i = 0; i < KS_TXN_HASH_CACHE; i++) {
        snprintf(names[i], 16, "h%d", i);
        keys[i] = (ks_key){0, names[i], strlen(names[i])};
    }
    ks_txn t;
    ks_txn_begin(&t, db, keys, KS_TXN_HASH_CACHE);
    CHECK_EQ_INT(t.nhcache, KS_TXN_HASH_CACHE);
    /* Backwards, then every other one: each found, and equal to a fresh
     * hash of the same bytes at another address. */
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < KS_TXN_HASH_CACHE; j++) {
            int i = pass == 0 ? KS_TXN_HASH_CACHE - 1 - j : (j * 2) % KS_TXN_HASH_CACHE;
            char copy[16];
            memcpy(copy, names[i], keys[i].klen);
            CHECK(ks_txn_hash(&t, names[i], keys[i].klen) ==
                  ks_txn_hash(&t, copy, keys[i].klen));
        }
    }
    ks_txn_commit(&t);
    lt_db_close(db);
}

int main(void) {
    RUN(txn_prefetch_changes_no_result);
    RUN(prefetch_outside_txn);
    RUN(prefetch_during_rehash);
    RUN(prefetch_in_nested_txn);
    RUN(hash_cache_any_order);
    return testlib_finish();
}
