/*
 * bench-embedded: the embedded API (include/lightning.h) against LMDB and
 * RocksDB on the same machine, for utils/bench.sh (make bench).
 *
 *   bench-embedded DIR N_PUTS N_SYNCED N_GETS
 *
 * Each engine, one after the other, in a fresh directory under DIR (which
 * must exist; this program deletes nothing outside it and leaves it to the
 * caller to remove):
 *   put_txn     N_PUTS random puts, one per transaction (LMDB MDB_NOSYNC,
 *               RocksDB WAL written but not synced: no engine waits for
 *               the disk here)
 *   put_batch   N_PUTS random puts in transactions / write batches of 1000
 *   put_sync    N_SYNCED puts, one per transaction, durable: LMDB's
 *               default synced commit, RocksDB WriteOptions.sync,
 *               Lightning a directory engine with LT_SYNC_ALWAYS (each
 *               commit returns after the fsync of its log record)
 *   put_sync_8t N_SYNCED synced puts again, from 8 threads at once (each
 *               commit still returns only once it is durable: engines that
 *               group-commit share fsyncs between the threads)
 *   get_1t      N_GETS random gets of existing keys on 1 thread
 *   get_2t      the same N_GETS split over 2 threads
 *   scan        every key in key order with a cursor, values read (keys/s):
 *               LMDB's cursor and RocksDB's iterator over the batch-loaded
 *               store; Lightning over an engine opened LT_DB_ORDERED and
 *               loaded the same way (loading not timed)
 *   get_many_1t Lightning only: N_GETS gets on 1 thread with lt_get_many,
 *               1000 keys per call (their cache misses overlapped)
 * Gets run in read-only transactions of 1000 gets each (LMDB: MDB_RDONLY
 * txn; Lightning: LT_TXN_RDONLY; RocksDB: plain reads, it has no read
 * transaction to amortise), and every get checks the value's length.
 * Keys are 16 bytes (the hex of a 64-bit bijective mix of the index, so
 * distinct and in random order), values 100 bytes.
 *
 * Lightning's tables are sized for the keys first (lt_db_reserve) unless
 * BENCH_EMB_NORESERVE=1.
 * BENCH_EMB_ENGINES (environment, optional): the engines to run, a
 * comma-separated subset of lightning,lmdb,rocksdb (default all), e.g. to
 * profile one engine alone under perf.
 *
 * Prints one line per measurement: "<test> <engine> <ops_per_second>";
 * the one-thread tests also as "<test>_cpu <engine> <ops per CPU second
 * of the process>", and Lightning's 8-thread synced run its group-commit
 * factor as "put_sync_8t_group lightning <commits per fsync>".
 * Exit status 0, or 1 with a message when an engine call fails.
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lightning.h"

#define KEY_BYTES 16
#define VAL_BYTES 100
#define BATCH 1000
#define GET_THREADS_MAX 2
#define LMDB_MAP_BYTES (4ull << 30) /* address space only: the file grows as used */

typedef struct engine engine;

/* One engine under test: the same four operations for each. */
struct engine {
    const char *name;
    int (*open)(engine *e, const char *dir, int synced);
    void (*close)(engine *e);
    /* Puts keys [from, to) in one transaction / batch. */
    void (*put_range)(engine *e, uint64_t from, uint64_t to);
    /* Gets n random existing keys (of nkeys) from a thread's rng state. */
    void (*get_many)(engine *e, uint64_t nkeys, long n, uint64_t *rng);
    /* Walks all nkeys keys in order; returns keys per second. */
    double (*scan)(engine *e, uint64_t nkeys);
    lt_db *lt;
    MDB_env *env;
    MDB_dbi dbi;
    rocksdb_t *rdb;
    rocksdb_options_t *ropt;
    rocksdb_writeoptions_t *rwopt;
    rocksdb_readoptions_t *rropt;
};

static const char value[VAL_BYTES] = "lightning-bench-value";
/* Keys per CPU second of the last scan (set by each engine's scan). */
static double scan_cpu_rate;

static void fail(const char *engine_name, const char *what, const char *why) {
    fprintf(stderr, "bench-embedded: %s: %s: %s\n", engine_name, what, why);
    exit(1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (every thread, the engines' own
 * background threads included): on a machine shared with other loads the
 * wall-clock rate of a one-thread test measures the scheduler as much as
 * the engine; ops per CPU second does not. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser: a bijection */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The 16 hex digits of mix64(i), by hand: snprintf cost ~60 ns per key,
 * a third of a 5M/s get budget, paid alike by every engine. */
static void key_of(uint64_t i, char out[KEY_BYTES + 1]) {
    static const char hex[] = "0123456789abcdef";
    uint64_t x = mix64(i);
    for (int d = KEY_BYTES - 1; d >= 0; d--, x >>= 4) out[d] = hex[x & 15];
    out[KEY_BYTES] = 0;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* ---- Lightning ---------------------------------------------------------- */

/* In memory, or (synced) durable in dir with LT_SYNC_ALWAYS: every commit
 * returns after its log record is fsynced. The tables are sized for the
 * keys to load with lt_db_reserve, as an application that knows its size
 * would (LMDB is given its map size too); docs/BENCHMARKS.md has the
 * rates without it. BENCH_EMB_NORESERVE=1 leaves it out. */
static uint64_t lt_reserve_keys;

static int lt_e_open(engine *e, const char *dir, int synced) {
    lt_config cfg;
    lt_config_init(&cfg);
    if (synced) {
        cfg.dir = dir;
        cfg.sync = LT_SYNC_ALWAYS;
    }
    if (lt_db_open(&cfg, &e->lt) != LT_OK) return -1;
    if (lt_reserve_keys && lt_db_reserve(e->lt, 0, lt_reserve_keys) != LT_OK) return -1;
    return 0;
}

static void lt_e_close(engine *e) {
    lt_db_close(e->lt);
    e->lt = NULL;
}

static void lt_e_put_range(engine *e, uint64_t from, uint64_t to) {
    lt_txn *t;
    char k[KEY_BYTES + 1];
    if (lt_txn_begin(e->lt, 0, &t) != LT_OK) fail(e->name, "txn_begin", "failed");
    for (uint64_t i = from; i < to; i++) {
        key_of(i, k);
        int rc = lt_put(t, 0, k, KEY_BYTES, value, VAL_BYTES);
        if (rc != LT_OK) fail(e->name, "put", lt_strerror(rc));
    }
    int rc = lt_txn_commit(t);
    if (rc != LT_OK) fail(e->name, "commit", lt_strerror(rc));
}

static void lt_e_get_many(engine *e, uint64_t nkeys, long n, uint64_t *rng) {
    char k[KEY_BYTES + 1];
    for (long done = 0; done < n; done += BATCH) {
        lt_txn *t;
        if (lt_txn_begin(e->lt, LT_TXN_RDONLY, &t) != LT_OK) fail(e->name, "txn_begin", "failed");
        for (long j = done; j < n && j < done + BATCH; j++) {
            const void *v;
            size_t vlen;
            key_of(rng_next(rng) % nkeys, k);
            int rc = lt_get(t, 0, k, KEY_BYTES, &v, &vlen);
            if (rc != LT_OK || vlen != VAL_BYTES) fail(e->name, "get", lt_strerror(rc));
        }
        lt_txn_abort(t);
    }
}

static double lt_get_many_run(engine *e, uint64_t nkeys, long n) {
    static char kb[BATCH][KEY_BYTES + 1];
    const void *kp[BATCH], *vp[BATCH];
    size_t kl[BATCH], vl[BATCH];
    int rc[BATCH];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    double t0 = now_s();
    for (long done = 0; done < n; done += BATCH) {
        lt_txn *t;
        size_t m = n - done < BATCH ? (size_t)(n - done) : BATCH;
        for (size_t j = 0; j < m; j++) {
            key_of(rng_next(&rng) % nkeys, kb[j]);
            kp[j] = kb[j];
            kl[j] = KEY_BYTES;
        }
        if (lt_txn_begin(e->lt, LT_TXN_RDONLY, &t) != LT_OK) fail(e->name, "txn_begin", "failed");
        if (lt_get_many(t, 0, m, kp, kl, vp, vl, rc) != LT_OK) fail(e->name, "get_many", "failed");
        for (size_t j = 0; j < m; j++)
            if (rc[j] != LT_OK || vl[j] != VAL_BYTES) fail(e->name, "get_many", lt_strerror(rc[j]));
        lt_txn_abort(t);
    }
    return (double)n / (now_s() - t0);
}

static double lt_e_scan(engine *e, uint64_t nkeys) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.flags = LT_DB_ORDERED;
    engine o = *e;
    if (lt_db_open(&cfg, &o.lt) != LT_OK) fail(e->name, "open", "ordered");
    if (lt_reserve_keys && lt_db_reserve(o.lt, 0, nkeys) != LT_OK) fail(e->name, "reserve", "ordered");
    for (uint64_t i = 0; i < nkeys; i += BATCH) lt_e_put_range(&o, i, i + BATCH < nkeys ? i + BATCH : nkeys);
    double t0 = now_s(), c0 = cpu_s();
    lt_txn *t;
    lt_cursor *c;
    if (lt_txn_begin(o.lt, LT_TXN_RDONLY, &t) != LT_OK || lt_cursor_open(t, 0, &c) != LT_OK)
        fail(e->name, "cursor", "open");
    const void *k, *v;
    size_t kl, vl;
    uint64_t n = 0;
    while (lt_cursor_next(c, &k, &kl, &v, &vl) == LT_OK) {
        if (vl != VAL_BYTES) fail(e->name, "scan", "value");
        n++;
    }
    lt_cursor_close(c);
    lt_txn_abort(t);
    double rate = (double)n / (now_s() - t0);
    scan_cpu_rate = (double)n / (cpu_s() - c0);
    lt_db_close(o.lt);
    if (n != nkeys) fail(e->name, "scan", "key count");
    return rate;
}

/* ---- LMDB ----------------------------------------------------------------- */

static int mdb_e_open(engine *e, const char *dir, int synced) {
    MDB_txn *t;
    if (mdb_env_create(&e->env) || mdb_env_set_mapsize(e->env, LMDB_MAP_BYTES) ||
        mdb_env_open(e->env, dir, synced ? 0 : MDB_NOSYNC, 0644) ||
        mdb_txn_begin(e->env, NULL, 0, &t) || mdb_dbi_open(t, NULL, 0, &e->dbi) ||
        mdb_txn_commit(t))
        return -1;
    return 0;
}

static void mdb_e_close(engine *e) {
    mdb_env_close(e->env);
    e->env = NULL;
}

static void mdb_e_put_range(engine *e, uint64_t from, uint64_t to) {
    MDB_txn *t;
    char k[KEY_BYTES + 1];
    int rc = mdb_txn_begin(e->env, NULL, 0, &t);
    if (rc) fail(e->name, "txn_begin", mdb_strerror(rc));
    for (uint64_t i = from; i < to; i++) {
        key_of(i, k);
        MDB_val mk = {KEY_BYTES, k}, mv = {VAL_BYTES, (void *)value};
        rc = mdb_put(t, e->dbi, &mk, &mv, 0);
        if (rc) fail(e->name, "put", mdb_strerror(rc));
    }
    rc = mdb_txn_commit(t);
    if (rc) fail(e->name, "commit", mdb_strerror(rc));
}

static void mdb_e_get_many(engine *e, uint64_t nkeys, long n, uint64_t *rng) {
    char k[KEY_BYTES + 1];
    for (long done = 0; done < n; done += BATCH) {
        MDB_txn *t;
        int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t);
        if (rc) fail(e->name, "txn_begin", mdb_strerror(rc));
        for (long j = done; j < n && j < done + BATCH; j++) {
            key_of(rng_next(rng) % nkeys, k);
            MDB_val mk = {KEY_BYTES, k}, mv;
            rc = mdb_get(t, e->dbi, &mk, &mv);
            if (rc || mv.mv_size != VAL_BYTES) fail(e->name, "get", mdb_strerror(rc));
        }
        mdb_txn_abort(t);
    }
}

static double mdb_e_scan(engine *e, uint64_t nkeys) {
    MDB_txn *t;
    MDB_cursor *c;
    double t0 = now_s(), c0 = cpu_s();
    if (mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t) || mdb_cursor_open(t, e->dbi, &c))
        fail(e->name, "cursor", "open");
    MDB_val k, v;
    uint64_t n = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (v.mv_size != VAL_BYTES) fail(e->name, "scan", "value");
        n++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    mdb_txn_abort(t);
    if (n != nkeys) fail(e->name, "scan", "key count");
    scan_cpu_rate = (double)n / (cpu_s() - c0);
    return (double)n / (now_s() - t0);
}

/* ---- RocksDB -------------------------------------------------------------- */

static int rdb_e_open(engine *e, const char *dir, int synced) {
    char *err = NULL;
    e->ropt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(e->ropt, 1);
    e->rdb = rocksdb_open(e->ropt, dir, &err);
    if (err) {
        fprintf(stderr, "bench-embedded: rocksdb: open: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    e->rwopt = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(e->rwopt, (unsigned char)synced);
    e->rropt = rocksdb_readoptions_create();
    return 0;
}

static void rdb_e_close(engine *e) {
    rocksdb_close(e->rdb);
    rocksdb_writeoptions_destroy(e->rwopt);
    rocksdb_readoptions_destroy(e->rropt);
    rocksdb_options_destroy(e->ropt);
    e->rdb = NULL;
}

static void rdb_e_put_range(engine *e, uint64_t from, uint64_t to) {
    char *err = NULL;
    char k[KEY_BYTES + 1];
    if (to - from == 1) {
        key_of(from, k);
        rocksdb_put(e->rdb, e->rwopt, k, KEY_BYTES, value, VAL_BYTES, &err);
    } else {
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        for (uint64_t i = from; i < to; i++) {
            key_of(i, k);
            rocksdb_writebatch_put(b, k, KEY_BYTES, value, VAL_BYTES);
        }
        rocksdb_write(e->rdb, e->rwopt, b, &err);
        rocksdb_writebatch_destroy(b);
    }
    if (err) fail(e->name, "put", err);
}

static void rdb_e_get_many(engine *e, uint64_t nkeys, long n, uint64_t *rng) {
    char k[KEY_BYTES + 1];
    for (long j = 0; j < n; j++) {
        char *err = NULL;
        size_t vlen = 0;
        key_of(rng_next(rng) % nkeys, k);
        char *v = rocksdb_get(e->rdb, e->rropt, k, KEY_BYTES, &vlen, &err);
        if (err || !v || vlen != VAL_BYTES) fail(e->name, "get", err ? err : "missing key");
        rocksdb_free(v);
    }
}

static double rdb_e_scan(engine *e, uint64_t nkeys) {
    double t0 = now_s(), c0 = cpu_s();
    rocksdb_iterator_t *it = rocksdb_create_iterator(e->rdb, e->rropt);
    uint64_t n = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t vl;
        rocksdb_iter_value(it, &vl);
        if (vl != VAL_BYTES) fail(e->name, "scan", "value");
        n++;
    }
    rocksdb_iter_destroy(it);
    if (n != nkeys) fail(e->name, "scan", "key count");
    scan_cpu_rate = (double)n / (cpu_s() - c0);
    return (double)n / (now_s() - t0);
}

/* ---- Driver ---------------------------------------------------------------- */

typedef struct get_job {
    engine *e;
    uint64_t nkeys;
    long n;
    uint64_t rng;
} get_job;

static void *get_thread(void *arg) {
    get_job *j = arg;
    j->e->get_many(j->e, j->nkeys, j->n, &j->rng);
    return NULL;
}

static double run_gets(engine *e, uint64_t nkeys, long n, int threads) {
    pthread_t tid[GET_THREADS_MAX];
    get_job jobs[GET_THREADS_MAX];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (get_job){e, nkeys, n / threads, 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)};
        if (pthread_create(&tid[i], NULL, get_thread, &jobs[i])) fail(e->name, "thread", "create");
    }
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    return (double)(n / threads * threads) / (now_s() - t0);
}

#define SYNC_THREADS 8

typedef struct put_job {
    engine *e;
    uint64_t from, to;
} put_job;

static void *put_thread(void *arg) {
    put_job *j = arg;
    for (uint64_t i = j->from; i < j->to; i++) j->e->put_range(j->e, i, i + 1);
    return NULL;
}

/* n single-put transactions split over SYNC_THREADS threads. */
static double run_puts_threads(engine *e, uint64_t base, uint64_t n) {
    pthread_t tid[SYNC_THREADS];
    put_job jobs[SYNC_THREADS];
    double t0 = now_s();
    for (int i = 0; i < SYNC_THREADS; i++) {
        jobs[i] = (put_job){e, base + n * (uint64_t)i / SYNC_THREADS,
                            base + n * (uint64_t)(i + 1) / SYNC_THREADS};
        if (pthread_create(&tid[i], NULL, put_thread, &jobs[i])) fail(e->name, "thread", "create");
    }
    for (int i = 0; i < SYNC_THREADS; i++) pthread_join(tid[i], NULL);
    return (double)n / (now_s() - t0);
}

static void subdir(char *out, size_t cap, const char *dir, const char *engine_name,
                   const char *what) {
    snprintf(out, cap, "%s/%s-%s", dir, engine_name, what);
    if (mkdir(out, 0755) < 0 && errno != EEXIST) fail(engine_name, out, strerror(errno));
}

static void bench_engine(engine *e, const char *dir, uint64_t n_puts, uint64_t n_synced,
                         long n_gets) {
    char path[4096];
    double t0;

    double c0;
    subdir(path, sizeof(path), dir, e->name, "txn");
    if (e->open(e, path, 0)) fail(e->name, "open", path);
    t0 = now_s();
    c0 = cpu_s();
    for (uint64_t i = 0; i < n_puts; i++) e->put_range(e, i, i + 1);
    printf("put_txn %s %.0f\n", e->name, (double)n_puts / (now_s() - t0));
    printf("put_txn_cpu %s %.0f\n", e->name, (double)n_puts / (cpu_s() - c0));
    e->close(e);

    subdir(path, sizeof(path), dir, e->name, "batch");
    if (e->open(e, path, 0)) fail(e->name, "open", path);
    t0 = now_s();
    c0 = cpu_s();
    for (uint64_t i = 0; i < n_puts; i += BATCH)
        e->put_range(e, i, i + BATCH < n_puts ? i + BATCH : n_puts);
    printf("put_batch %s %.0f\n", e->name, (double)n_puts / (now_s() - t0));
    printf("put_batch_cpu %s %.0f\n", e->name, (double)n_puts / (cpu_s() - c0));
    fflush(stdout);
    /* The batch-loaded store serves the gets. */
    c0 = cpu_s();
    printf("get_1t %s %.0f\n", e->name, run_gets(e, n_puts, n_gets, 1));
    printf("get_1t_cpu %s %.0f\n", e->name, (double)n_gets / (cpu_s() - c0));
    printf("get_2t %s %.0f\n", e->name, run_gets(e, n_puts, n_gets, 2));
    printf("scan %s %.0f\n", e->name, e->scan(e, n_puts));
    printf("scan_cpu %s %.0f\n", e->name, scan_cpu_rate);
    if (e->lt) {
        c0 = cpu_s();
        printf("get_many_1t %s %.0f\n", e->name, lt_get_many_run(e, n_puts, n_gets));
        printf("get_many_1t_cpu %s %.0f\n", e->name, (double)n_gets / (cpu_s() - c0));
    }
    e->close(e);

    subdir(path, sizeof(path), dir, e->name, "sync");
    if (e->open(e, path, 1)) fail(e->name, "open", path);
    t0 = now_s();
    for (uint64_t i = 0; i < n_synced; i++) e->put_range(e, i, i + 1);
    printf("put_sync %s %.0f\n", e->name, (double)n_synced / (now_s() - t0));
    lt_stat st0, st1;
    if (e->lt) lt_db_stat(e->lt, &st0);
    printf("put_sync_8t %s %.0f\n", e->name, run_puts_threads(e, n_synced, n_synced));
    if (e->lt) {
        /* Group commit: commits per fsync in the 8-thread run (at most 8). */
        lt_db_stat(e->lt, &st1);
        uint64_t f = st1.log_fsyncs - st0.log_fsyncs;
        printf("put_sync_8t_group %s %.2f\n", e->name,
               f ? (double)(st1.log_records - st0.log_records) / (double)f : 0.0);
    }
    e->close(e);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: bench-embedded DIR N_PUTS N_SYNCED N_GETS\n");
        return 2;
    }
    const char *dir = argv[1];
    uint64_t n_puts = strtoull(argv[2], NULL, 10);
    uint64_t n_synced = strtoull(argv[3], NULL, 10);
    long n_gets = strtol(argv[4], NULL, 10);
    if (n_puts < 1 || n_synced < 1 || n_gets < GET_THREADS_MAX) {
        fprintf(stderr, "bench-embedded: counts must be positive\n");
        return 2;
    }
    engine engines[] = {
        {.name = "lightning", .open = lt_e_open, .close = lt_e_close,
         .put_range = lt_e_put_range, .get_many = lt_e_get_many, .scan = lt_e_scan},
        {.name = "lmdb", .open = mdb_e_open, .close = mdb_e_close,
         .put_range = mdb_e_put_range, .get_many = mdb_e_get_many, .scan = mdb_e_scan},
        {.name = "rocksdb", .open = rdb_e_open, .close = rdb_e_close,
         .put_range = rdb_e_put_range, .get_many = rdb_e_get_many, .scan = rdb_e_scan},
    };
    const char *noreserve = getenv("BENCH_EMB_NORESERVE");
    if (!noreserve || strcmp(noreserve, "1") != 0) lt_reserve_keys = n_puts > n_synced ? n_puts : n_synced;
    const char *only = getenv("BENCH_EMB_ENGINES");
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
        if (only && !strstr(only, engines[i].name)) continue;
        bench_engine(&engines[i], dir, n_puts, n_synced, n_gets);
    }
    return 0;
}
