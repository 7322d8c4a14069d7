/* Concurrency tests of the engine (run under ThreadSanitizer by
 * `make test-tsan`): threads move units between accounts with multi-key
 * locking transactions and optimistic embedded transactions, while readers
 * check through MVCC views that the total never changes, and maintenance
 * threads run GC and active expiry. No deadlock, no lost update. */
#include "../testlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/random.h"
#include "engine/expire.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"

enum { ACCOUNTS = 64, START = 1000, WORKERS = 3, OPS = 6000, EMB_OPS = 1500 };

static lt_db *db;
static char names[ACCOUNTS][16];
static atomic_int stop;
static atomic_long snapshots_checked, conflicts, bad_sums;

static unsigned acct_db(int i) { return (unsigned)(i % 2); }

static long entry_int(const ks_entry *e) {
    long long v = 0;
    if (!e || !ks_entry_get_int(e, &v)) return -1000000;
    return (long)v;
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (int op = 0; op < OPS; op++) {
        int a = (int)lt_random_below(ACCOUNTS), b = (int)lt_random_below(ACCOUNTS);
        if (a == b) continue;
        ks_key keys[2] = {{acct_db(a), names[a], strlen(names[a])},
                          {acct_db(b), names[b], strlen(names[b])}};
        ks_txn t;
        if (op % 500 == 0) ks_txn_begin_dbs(&t, db, 0, 1); /* coarse mode */
        else ks_txn_begin(&t, db, keys, 2);
        ks_entry *ea = ks_lookup(&t, acct_db(a), names[a], strlen(names[a]), 0);
        ks_entry *eb = ks_lookup(&t, acct_db(b), names[b], strlen(names[b]), 0);
        long va = entry_int(ea), vb = entry_int(eb);
        if (va > 0) {
            ks_set_int(&t, acct_db(a), names[a], strlen(names[a]), va - 1, KS_EXPIRE_KEEP);
            ks_set_int(&t, acct_db(b), names[b], strlen(names[b]), vb + 1, KS_EXPIRE_KEEP);
        }
        ks_txn_commit(&t);
        if (op % 1000 == (int)id) {
            /* Occasionally rewrite a value as raw bytes (in-place path). */
            ks_key k = keys[0];
            ks_txn_begin(&t, db, &k, 1);
            ks_entry *e = ks_lookup(&t, k.dbid, k.key, k.klen, 0);
            char buf[LT_LLSTR_SIZE];
            size_t n;
            const char *s = ks_entry_str(e, buf, &n);
            char tmp[LT_LLSTR_SIZE];
            memcpy(tmp, s, n);
            char *p = ks_str_resize(&t, k.dbid, k.key, k.klen, n);
            memcpy(p, tmp, n);
            ks_txn_commit(&t);
        }
    }
    return NULL;
}

static void *embedded_worker(void *arg) {
    (void)arg;
    for (int op = 0; op < EMB_OPS; op++) {
        int a = (int)lt_random_below(ACCOUNTS), b = (int)lt_random_below(ACCOUNTS);
        if (a == b) continue;
        for (;;) {
            lt_txn *t;
            if (lt_txn_begin(db, 0, &t) != LT_OK) abort();
            const void *pa, *pb;
            size_t na, nb;
            if (lt_get(t, acct_db(a), names[a], strlen(names[a]), &pa, &na) != LT_OK ||
                lt_get(t, acct_db(b), names[b], strlen(names[b]), &pb, &nb) != LT_OK) {
                atomic_fetch_add(&bad_sums, 1);
                lt_txn_abort(t);
                break;
            }
            char sa[32], sb[32];
            memcpy(sa, pa, na);
            sa[na] = 0;
            memcpy(sb, pb, nb);
            sb[nb] = 0;
            long va = atol(sa), vb = atol(sb);
            if (va <= 0) {
                lt_txn_abort(t);
                break;
            }
            sprintf(sa, "%ld", va - 1);
            sprintf(sb, "%ld", vb + 1);
            lt_put(t, acct_db(a), names[a], strlen(names[a]), sa, strlen(sa));
            lt_put(t, acct_db(b), names[b], strlen(names[b]), sb, strlen(sb));
            int rc = lt_txn_commit(t);
            if (rc == LT_OK) break;
            if (rc != LT_CONFLICT) abort();
            atomic_fetch_add(&conflicts, 1);
        }
    }
    return NULL;
}

static void sum_cb(void *ctx, const ks_entry *e) {
    size_t n;
    const char *k = ks_entry_key(e, &n);
    if (n > 4 && memcmp(k, "acct", 4) == 0) *(long *)ctx += entry_int(e);
}

static void *reader(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        ks_view v;
        ks_view_open(db, &v);
        long sum = 0;
        for (int i = 0; i < ACCOUNTS; i++)
            sum += entry_int(ks_view_get(&v, acct_db(i), names[i], strlen(names[i])));
        long sum2 = 0;
        for (unsigned d = 0; d < 2; d++) {
            ks_view_iter it;
            ks_view_iter_init(&it, &v, d);
            while (ks_view_iter_next(&it, 16, sum_cb, &sum2)) {}
            ks_view_iter_close(&it);
        }
        ks_view_close(&v);
        if (sum != ACCOUNTS * START || sum2 != ACCOUNTS * START)
            atomic_fetch_add(&bad_sums, 1);
        atomic_fetch_add(&snapshots_checked, 1);
    }
    return NULL;
}

static void *maintenance(void *arg) {
    (void)arg;
    int i = 0;
    while (!atomic_load(&stop)) {
        char k[32];
        sprintf(k, "ttl%d", i++ % 500);
        ks_key key = {0, k, strlen(k)};
        ks_txn t;
        ks_txn_begin(&t, db, &key, 1);
        ks_set_str(&t, 0, k, strlen(k), "x", 1, lt_mstime() - 1, 0);
        ks_txn_commit(&t);
        ks_expire_cycle(db, (unsigned)(i % 2), 2, 200);
        ks_gc_cycle(db, (unsigned)(i % 2), 2, 200);
        if (i % 50 == 0) {
            long ignored = 0;
            uint64_t c = 0;
            do c = ks_scan(db, 0, c, 20, sum_cb, &ignored); while (c);
        }
    }
    return NULL;
}

TEST(transfers_keep_sum) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 2;
    cfg.shards_per_db = 8;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    for (int i = 0; i < ACCOUNTS; i++) {
        sprintf(names[i], "acct%d", i);
        ks_key k = {acct_db(i), names[i], strlen(names[i])};
        ks_txn t;
        ks_txn_begin(&t, db, &k, 1);
        ks_set_int(&t, k.dbid, k.key, k.klen, START, KS_EXPIRE_NONE);
        ks_txn_commit(&t);
    }
    pthread_t w[WORKERS], emb, rd, mt;
    for (long i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, (void *)i);
    pthread_create(&emb, NULL, embedded_worker, NULL);
    pthread_create(&rd, NULL, reader, NULL);
    pthread_create(&mt, NULL, maintenance, NULL);
    for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
    pthread_join(emb, NULL);
    atomic_store(&stop, 1);
    pthread_join(rd, NULL);
    pthread_join(mt, NULL);

    CHECK_EQ_INT(atomic_load(&bad_sums), 0);
    CHECK(atomic_load(&snapshots_checked) > 0);
    ks_view v;
    ks_view_open(db, &v);
    long sum = 0;
    for (int i = 0; i < ACCOUNTS; i++)
        sum += entry_int(ks_view_get(&v, acct_db(i), names[i], strlen(names[i])));
    ks_view_close(&v);
    CHECK_EQ_INT(sum, ACCOUNTS * START);
    ks_mvcc_stats st;
    for (int i = 0; i < 100; i++) {
        ks_gc_cycle(db, 0, 1, 100000);
        ks_mvcc_get_stats(db, &st);
        if (st.versions == 0) break;
    }
    CHECK_EQ_INT(st.versions, 0);
    CHECK_EQ_INT(st.views, 0);
    printf("# snapshots checked %ld, embedded conflicts %ld\n",
           atomic_load(&snapshots_checked), atomic_load(&conflicts));
    lt_db_close(db);
}

int main(void) {
    RUN(transfers_keep_sum);
    return testlib_finish();
}
