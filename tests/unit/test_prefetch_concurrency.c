/*
 * Concurrency test of batch prefetching (run under ThreadSanitizer by
 * `make test-tsan`): readers prefetch batches of keys outside any
 * transaction (ks_prefetch, as the pipeline runner does) and inside
 * multi-key transactions (ks_txn_prefetch, as MGET does), then look them
 * up, while writers create and delete keys in the same shards so tables
 * grow, shrink and rehash under them. Every value read matches its key
 * (prefetching never changes a result), no deadlock with the writers'
 * multi-key transactions, and TSan sees no racy access (table memory is
 * only read with the shard locked).
 */
#include "../testlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/random.h"
#include "engine/keyspace.h"
#include "engine/prefetch.h"

enum { KEYS = 2000, READERS = 2, WRITERS = 2, BATCHES = 1500, WRITES = 20000 };

static lt_db *db;
static char names[KEYS][16];
static atomic_long bad_values, found;

/* A key's value is its own name: any other value read is an error. */
static void check(const ks_entry *e, const char *key) {
    if (!e) return;
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const char *s = ks_entry_str(e, buf, &len);
    if (len != strlen(key) || memcmp(s, key, len) != 0) atomic_fetch_add(&bad_values, 1);
    else atomic_fetch_add(&found, 1);
}

static void random_batch(ks_key *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int k = (int)lt_random_below(KEYS);
        keys[i] = (ks_key){(unsigned)(k % 2), names[k], strlen(names[k])};
    }
}

static void *reader(void *arg) {
    long id = (long)arg;
    for (int b = 0; b < BATCHES; b++) {
        ks_key keys[KS_PREFETCH_MAX];
        random_batch(keys, KS_PREFETCH_MAX);
        if ((b + id) % 2 == 0) {
            /* Pipeline style: prefetch, then one transaction per key. */
            uint64_t hashes[KS_PREFETCH_MAX];
            ks_prefetch(db, keys, KS_PREFETCH_MAX, hashes);
            for (int i = 0; i < KS_PREFETCH_MAX; i++) {
                ks_txn t;
                ks_txn_begin_hashed(&t, db, &keys[i], &hashes[i], 1);
                check(ks_lookup(&t, keys[i].dbid, keys[i].key, keys[i].klen, 0), keys[i].key);
                ks_txn_commit(&t);
            }
        } else {
            /* MGET style: one transaction, prefetched inside. */
            ks_txn t;
            ks_txn_begin(&t, db, keys, KS_PREFETCH_MAX);
            ks_txn_prefetch(&t, keys, KS_PREFETCH_MAX);
            for (int i = 0; i < KS_PREFETCH_MAX; i++)
                check(ks_lookup(&t, keys[i].dbid, keys[i].key, keys[i].klen, 0), keys[i].key);
            ks_txn_commit(&t);
        }
    }
    return NULL;
}

static void *writer(void *arg) {
    (void)arg;
    for (int w = 0; w < WRITES; w++) {
        /* Two keys per transaction (shards locked in order, as a reader's
         * batch is), mostly creating early on and deleting later, so the
         * tables grow and then shrink. */
        ks_key keys[2];
        random_batch(keys, 2);
        ks_txn t;
        ks_txn_begin(&t, db, keys, 2);
        for (int i = 0; i < 2; i++) {
            int create = lt_random_below(WRITES) > (uint64_t)w;
            if (create)
                ks_set_str(&t, keys[i].dbid, keys[i].key, keys[i].klen, keys[i].key,
                           keys[i].klen, KS_EXPIRE_NONE, KS_SET_NOINT);
            else
                ks_delete(&t, keys[i].dbid, keys[i].key, keys[i].klen);
        }
        ks_txn_commit(&t);
    }
    return NULL;
}

TEST(prefetch_with_concurrent_writers) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 2;
    cfg.shards_per_db = 4;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    for (int i = 0; i < KEYS; i++) snprintf(names[i], sizeof(names[i]), "key:%d", i);
    pthread_t th[READERS + WRITERS];
    for (long i = 0; i < WRITERS; i++) pthread_create(&th[i], NULL, writer, (void *)i);
    for (long i = 0; i < READERS; i++) pthread_create(&th[WRITERS + i], NULL, reader, (void *)i);
    for (int i = 0; i < READERS + WRITERS; i++) pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&bad_values), 0);
    CHECK(atomic_load(&found) > 0);
    lt_db_close(db);
}

int main(void) {
    RUN(prefetch_with_concurrent_writers);
    return testlib_finish();
}
