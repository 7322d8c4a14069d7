/* Embedded engine under concurrency (also run by `make test-tsan`): an
 * ordered, durable engine with writer threads creating, updating and
 * deleting keys while reader threads walk snapshots forward and backward.
 * Every walk must be sorted, forward and backward must agree, and each
 * key's value must equal what lt_get returns in the same snapshot; after
 * the threads join, a reopen recovers exactly the final state. */
#include "../testlib.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lightning.h"

#define WRITERS 2
#define READERS 2
#define WRITES 1500
#define KEYSPACE 300

typedef struct shared {
    lt_db *db;
    int stop;
    int bad;
} shared;

static int keycmp(const void *a, size_t al, const void *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    return c ? c : (al < bl ? -1 : al > bl);
}

typedef struct wargs {
    shared *sh;
    int id;
} wargs;

static void *writer(void *p) {
    wargs *a = p;
    uint64_t r = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);
    for (int i = 0; i < WRITES; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        char k[16], v[32];
        int kl = snprintf(k, sizeof(k), "k%03u", (unsigned)(r % KEYSPACE));
        int vl = snprintf(v, sizeof(v), "w%d-%d", a->id, i);
        lt_txn *t;
        if (lt_txn_begin(a->sh->db, i % 2 ? LT_TXN_NOSYNC : 0, &t) != LT_OK) {
            __atomic_add_fetch(&a->sh->bad, 1, __ATOMIC_RELAXED);
            continue;
        }
        if ((r >> 20) % 4 == 0) lt_del(t, 0, k, (size_t)kl);
        else lt_put(t, 0, k, (size_t)kl, v, (size_t)vl);
        int rc = lt_txn_commit(t);
        if (rc != LT_OK && rc != LT_CONFLICT) __atomic_add_fetch(&a->sh->bad, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* One walk each way over a snapshot; returns the number of problems. */
static int check_snapshot(lt_db *db) {
    lt_txn *t;
    if (lt_txn_begin(db, LT_TXN_RDONLY, &t) != LT_OK) return 1;
    lt_cursor *c;
    if (lt_cursor_open(t, 0, &c) != LT_OK) {
        lt_txn_abort(t);
        return 1;
    }
    int bad = 0;
    const void *k, *v, *prevk = NULL;
    size_t kl, vl, prevkl = 0;
    char seen[KEYSPACE] = {0};
    int nf = 0, nb = 0;
    while (lt_cursor_next(c, &k, &kl, &v, &vl) == LT_OK) {
        if (prevk && keycmp(prevk, prevkl, k, kl) >= 0) bad++;
        const void *gv;
        size_t gvl;
        if (lt_get(t, 0, k, kl, &gv, &gvl) != LT_OK || gvl != vl || memcmp(gv, v, vl)) bad++;
        if (kl == 4) seen[atoi((const char *)k + 1) % KEYSPACE] = 1;
        prevk = k;
        prevkl = kl;
        nf++;
    }
    prevk = NULL;
    while (lt_cursor_prev(c, &k, &kl, NULL, NULL) == LT_OK) {
        if (prevk && keycmp(prevk, prevkl, k, kl) <= 0) bad++;
        if (kl != 4 || !seen[atoi((const char *)k + 1) % KEYSPACE]) bad++;
        prevk = k;
        prevkl = kl;
        nb++;
    }
    if (nf != nb) bad++;
    lt_cursor_close(c);
    lt_txn_abort(t);
    return bad;
}

static void *reader(void *p) {
    shared *sh = p;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        int b = check_snapshot(sh->db);
        if (b) __atomic_add_fetch(&sh->bad, b, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Final state as "key=value;" in key order. */
static char *dump(lt_db *db) {
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    lt_txn *t;
    lt_cursor *c;
    if (lt_txn_begin(db, LT_TXN_RDONLY, &t) != LT_OK || lt_cursor_open(t, 0, &c) != LT_OK) abort();
    const void *k, *v;
    size_t kl, vl;
    while (lt_cursor_next(c, &k, &kl, &v, &vl) == LT_OK)
        len += (size_t)snprintf(out + len, cap - len, "%.*s=%.*s;", (int)kl, (const char *)k,
                                (int)vl, (const char *)v);
    lt_cursor_close(c);
    lt_txn_abort(t);
    return out;
}

TEST(ordered_durable_writers_and_readers) {
    char dir[] = "/tmp/lt-emb-conc-XXXXXX";
    REQUIRE(mkdtemp(dir));
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = dir;
    cfg.flags = LT_DB_ORDERED;
    cfg.sync = LT_SYNC_ALWAYS;
    shared sh = {0};
    REQUIRE(lt_db_open(&cfg, &sh.db) == LT_OK);
    pthread_t w[WRITERS], r[READERS];
    wargs wa[WRITERS];
    for (int i = 0; i < READERS; i++) pthread_create(&r[i], NULL, reader, &sh);
    for (int i = 0; i < WRITERS; i++) {
        wa[i] = (wargs){&sh, i};
        pthread_create(&w[i], NULL, writer, &wa[i]);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);
    CHECK_EQ_INT(sh.bad, 0);
    CHECK_EQ_INT(check_snapshot(sh.db), 0);
    char *before = dump(sh.db);
    lt_db_close(sh.db);
    REQUIRE(lt_db_open(&cfg, &sh.db) == LT_OK);
    char *after = dump(sh.db);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
    lt_db_close(sh.db);
    char rm[100];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    CHECK(system(rm) == 0);
}

int main(void) {
    RUN(ordered_durable_writers_and_readers);
    return testlib_finish();
}
