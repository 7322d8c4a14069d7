/*
 * embedded_example.c — using the Lightning engine as a library.
 *
 * Build (from the repository root, after `make build/liblightning.a`):
 *   cc -Iinclude docs/examples/embedded_example.c build/liblightning.a \
 *      -pthread -o embedded_example
 *
 * Shows: open, a write transaction, a read-only snapshot, an optimistic
 * read-modify-write with retry on LT_CONFLICT, and a cursor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightning.h"

static void die(const char *what, int rc) {
    fprintf(stderr, "%s: %s\n", what, lt_strerror(rc));
    exit(1);
}

/* Adds delta to the decimal counter at key, retrying on conflicts. */
static void counter_add(lt_db *db, const char *key, long delta) {
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
        int len = snprintf(out, sizeof(out), "%ld", n + delta);
        if ((rc = lt_put(txn, 0, key, strlen(key), out, (size_t)len)) != LT_OK)
            die("put", rc);
        rc = lt_txn_commit(txn); /* frees txn whatever the result */
        if (rc == LT_OK) return;
        if (rc != LT_CONFLICT) die("commit", rc);
    }
}

int main(void) {
    lt_db *db;
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 4;
    int rc = lt_db_open(&cfg, &db);
    if (rc != LT_OK) die("open", rc);

    lt_txn *txn;
    if ((rc = lt_txn_begin(db, 0, &txn)) != LT_OK) die("begin", rc);
    lt_put(txn, 0, "greeting", 8, "hello", 5);
    lt_put(txn, 0, "planet", 6, "world", 5);
    if ((rc = lt_txn_commit(txn)) != LT_OK) die("commit", rc);

    counter_add(db, "visits", 1);
    counter_add(db, "visits", 41);

    /* A read-only snapshot: unaffected by later commits. */
    lt_txn *snap;
    if ((rc = lt_txn_begin(db, LT_TXN_RDONLY, &snap)) != LT_OK) die("begin", rc);
    counter_add(db, "visits", 1000);
    const void *val;
    size_t vlen;
    if ((rc = lt_get(snap, 0, "visits", 6, &val, &vlen)) != LT_OK) die("get", rc);
    printf("visits in snapshot: %.*s\n", (int)vlen, (const char *)val);

    lt_cursor *cur;
    if ((rc = lt_cursor_open(snap, 0, &cur)) != LT_OK) die("cursor", rc);
    const void *k;
    size_t klen;
    while ((rc = lt_cursor_next(cur, &k, &klen, &val, &vlen)) == LT_OK)
        printf("  %.*s = %.*s\n", (int)klen, (const char *)k, (int)vlen,
               (const char *)val);
    if (rc != LT_NOTFOUND) die("cursor_next", rc);
    lt_cursor_close(cur);
    lt_txn_abort(snap); /* read-only: abort and commit are equivalent */

    printf("keys in db 0: %llu\n", (unsigned long long)lt_db_count(db, 0));
    lt_db_close(db);
    return 0;
}
