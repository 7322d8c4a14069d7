/*
 * embedded_durable.c — a durable, ordered Lightning engine in a program.
 *
 * Build against an installed library (make install):
 *   cc embedded_durable.c $(pkg-config --cflags --libs lightning) -pthread \
 *      -o embedded_durable
 * or from the repository root:
 *   cc -Iinclude docs/examples/embedded_durable.c build/liblightning.a \
 *      -lzstd -llz4 -lm -pthread -o embedded_durable
 *
 * Run: ./embedded_durable DIR   (run it again: it continues where it was)
 *
 * Shows: opening a directory with LT_SYNC_ALWAYS and LT_DB_ORDERED, a
 * read-modify-write retried on LT_CONFLICT, synced commits from several
 * threads (group-committed: they share fsyncs), an async commit and
 * waiting for its durable point, a range scan with a cursor, a checkpoint.
 * tests/unit/test_embedded_example.c builds and runs it twice.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightning.h"

#define THREADS 4
#define EVENTS_PER_THREAD 25

static void die(const char *what, int rc) {
    fprintf(stderr, "%s: %s\n", what, lt_strerror(rc));
    exit(1);
}

/* Increments the decimal counter at key; returns the new value. */
static long counter_incr(lt_db *db, const char *key) {
    for (;;) {
        lt_txn *txn;
        int rc = lt_txn_begin(db, 0, &txn);
        if (rc != LT_OK) die("begin", rc);
        const void *val;
        size_t vlen;
        long n = 0;
        rc = lt_get(txn, 0, key, strlen(key), &val, &vlen);
        if (rc == LT_OK) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%.*s", (int)vlen, (const char *)val);
            n = atol(buf);
        } else if (rc != LT_NOTFOUND) {
            die("get", rc);
        }
        char out[32];
        int len = snprintf(out, sizeof(out), "%ld", n + 1);
        if ((rc = lt_put(txn, 0, key, strlen(key), out, (size_t)len)) != LT_OK) die("put", rc);
        rc = lt_txn_commit(txn); /* durable when it returns LT_OK */
        if (rc == LT_OK) return n + 1;
        if (rc != LT_CONFLICT) die("commit", rc);
    }
}

typedef struct worker {
    lt_db *db;
    long run;
    int id;
} worker;

/* Each event is its own synced transaction; the commits of all threads
 * are fsynced together. */
static void *log_events(void *p) {
    worker *w = p;
    for (int i = 0; i < EVENTS_PER_THREAD; i++) {
        char key[64], val[64];
        int kl = snprintf(key, sizeof(key), "event:%04ld:%d:%02d", w->run, w->id, i);
        int vl = snprintf(val, sizeof(val), "thread %d event %d", w->id, i);
        lt_txn *txn;
        int rc = lt_txn_begin(w->db, 0, &txn);
        if (rc != LT_OK) die("begin", rc);
        if ((rc = lt_put(txn, 0, key, (size_t)kl, val, (size_t)vl)) != LT_OK) die("put", rc);
        if ((rc = lt_txn_commit(txn)) != LT_OK) die("commit", rc);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char err[512] = "";
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = argv[1];
    cfg.sync = LT_SYNC_ALWAYS;
    cfg.flags = LT_DB_ORDERED;
    cfg.errbuf = err;
    cfg.errbuf_size = sizeof(err);
    lt_db *db;
    int rc = lt_db_open(&cfg, &db);
    if (rc != LT_OK) {
        fprintf(stderr, "open %s: %s (%s)\n", argv[1], lt_strerror(rc), err);
        return 1;
    }

    long run = counter_incr(db, "runs");

    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){db, run, i};
        pthread_create(&th[i], NULL, log_events, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

    /* An async commit: returns before the fsync, with its log position. */
    lt_txn *txn;
    if ((rc = lt_txn_begin(db, LT_TXN_NOSYNC, &txn)) != LT_OK) die("begin", rc);
    lt_put(txn, 0, "last-run", 8, argv[0], strlen(argv[0]));
    uint64_t lsn;
    if ((rc = lt_txn_commit_lsn(txn, &lsn)) != LT_OK) die("commit", rc);
    if ((rc = lt_db_sync(db, lsn)) != LT_OK) die("sync", rc); /* now durable */

    /* Range scan: every "event:" key, in key order. */
    if ((rc = lt_txn_begin(db, LT_TXN_RDONLY, &txn)) != LT_OK) die("begin", rc);
    lt_cursor *cur;
    if ((rc = lt_cursor_open(txn, 0, &cur)) != LT_OK) die("cursor", rc);
    lt_cursor_seek(cur, "event:", 6);
    const void *k;
    size_t klen;
    long events = 0;
    char first[64] = "", last[64] = "";
    while (lt_cursor_next(cur, &k, &klen, NULL, NULL) == LT_OK) {
        if (klen < 6 || memcmp(k, "event:", 6) != 0) break; /* past the range */
        if (!events) snprintf(first, sizeof(first), "%.*s", (int)klen, (const char *)k);
        snprintf(last, sizeof(last), "%.*s", (int)klen, (const char *)k);
        events++;
    }
    lt_cursor_close(cur);
    lt_txn_abort(txn);

    lt_stat st;
    lt_db_stat(db, &st);
    printf("run %ld: %ld events (%s .. %s)\n", run, events, first, last);
    printf("this run: %llu log records, %llu fsyncs\n", (unsigned long long)st.log_records,
           (unsigned long long)st.log_fsyncs);

    /* Every other run, a checkpoint: a snapshot, then the old log goes. */
    if (run % 2 == 0 && (rc = lt_db_checkpoint(db)) != LT_OK) die("checkpoint", rc);
    lt_db_close(db);
    return 0;
}
