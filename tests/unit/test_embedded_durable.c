/* Unit tests of the durable embedded API (lt_config.dir): reopen and
 * recover, checkpoints, synced and async commits from many threads, a
 * writer process killed with -9 under LT_SYNC_ALWAYS, and bad directories
 * (locked, corrupt, torn, written by another version, unsupported log
 * commands, seeded random damage to any file) getting their LT_* error. */
#include "../testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "engine/wal.h"
#include "lightning.h"

static char g_dir[128];

static void make_dir(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/lt-durable-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
}

static void remove_dir(void) {
    char cmdline[300];
    snprintf(cmdline, sizeof(cmdline), "rm -rf '%s'", g_dir);
    if (system(cmdline) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
}

static char g_err[512];

static int open_dir(unsigned flags, int sync, lt_db **db) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = g_dir;
    cfg.flags = flags;
    cfg.sync = sync;
    cfg.errbuf = g_err;
    cfg.errbuf_size = sizeof(g_err);
    g_err[0] = 0;
    *db = NULL;
    return lt_db_open(&cfg, db);
}

static int put1(lt_db *db, unsigned dbid, const char *k, const char *v) {
    lt_txn *t;
    int rc = lt_txn_begin(db, 0, &t);
    if (rc != LT_OK) return rc;
    rc = lt_put(t, dbid, k, strlen(k), v, strlen(v));
    if (rc != LT_OK) {
        lt_txn_abort(t);
        return rc;
    }
    return lt_txn_commit(t);
}

static int del1(lt_db *db, unsigned dbid, const char *k) {
    lt_txn *t;
    int rc = lt_txn_begin(db, 0, &t);
    if (rc != LT_OK) return rc;
    lt_del(t, dbid, k, strlen(k));
    return lt_txn_commit(t);
}

/* Value of k as a C string in out ("" with LT_NOTFOUND). */
static int get1(lt_db *db, unsigned dbid, const char *k, char *out, size_t cap) {
    lt_txn *t;
    out[0] = 0;
    int rc = lt_txn_begin(db, LT_TXN_RDONLY, &t);
    if (rc != LT_OK) return rc;
    const void *v;
    size_t n;
    rc = lt_get(t, dbid, k, strlen(k), &v, &n);
    if (rc == LT_OK) {
        if (n >= cap) n = cap - 1;
        memcpy(out, v, n);
        out[n] = 0;
    }
    lt_txn_abort(t);
    return rc;
}

/* Path of the (only / last) WAL segment. */
static int last_segment(char *out, size_t cap) {
    char wd[300];
    snprintf(wd, sizeof(wd), "%s/appendonlydir", g_dir);
    DIR *d = opendir(wd);
    if (!d) return -1;
    struct dirent *de;
    char best[25] = "";
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 24 && strcmp(de->d_name, best) > 0)
            memcpy(best, de->d_name, 25);
    closedir(d);
    if (!best[0]) return -1;
    snprintf(out, cap, "%s/%s", wd, best);
    return 0;
}

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void patch_byte(const char *path, off_t off, unsigned char b) {
    int fd = open(path, O_WRONLY);
    if (fd < 0 || pwrite(fd, &b, 1, off) != 1) abort();
    close(fd);
}

TEST(reopen_recovers_every_commit) {
    make_dir();
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    CHECK_EQ_INT(put1(db, 0, "a", "1"), LT_OK);
    CHECK_EQ_INT(put1(db, 3, "a", "three"), LT_OK);
    CHECK_EQ_INT(put1(db, 0, "gone", "x"), LT_OK);
    CHECK_EQ_INT(del1(db, 0, "gone"), LT_OK);
    /* One transaction over several databases: one MULTI/EXEC record. */
    lt_txn *t;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    lt_put(t, 0, "m1", 2, "x\r\ny", 4); /* CRLF inside a value */
    lt_put(t, 5, "m2", 2, "", 0);
    lt_put(t, 0, "bin\0key", 7, "\0\1\2", 3);
    lt_del(t, 0, "a", 1);
    uint64_t lsn = 0;
    CHECK_EQ_INT(lt_txn_commit_lsn(t, &lsn), LT_OK);
    CHECK(lsn > 0);
    CHECK(lt_db_durable_lsn(db) >= lsn);
    lt_db_close(db);

    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    char out[64];
    CHECK_EQ_INT(get1(db, 0, "a", out, sizeof(out)), LT_NOTFOUND);
    CHECK_EQ_INT(get1(db, 3, "a", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "three");
    CHECK_EQ_INT(get1(db, 0, "gone", out, sizeof(out)), LT_NOTFOUND);
    CHECK_EQ_INT(get1(db, 0, "m1", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "x\r\ny");
    CHECK_EQ_INT(get1(db, 5, "m2", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "");
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    const void *v;
    size_t n;
    CHECK_EQ_INT(lt_get(t, 0, "bin\0key", 7, &v, &n), LT_OK);
    CHECK(n == 3 && memcmp(v, "\0\1\2", 3) == 0);
    lt_txn_abort(t);
    CHECK_EQ_INT(lt_db_count(db, 0), 2);
    /* A value larger than the single-write stack record, alone and in a
     * transaction with another write. */
    size_t big = 200000;
    char *bv = malloc(big);
    for (size_t i = 0; i < big; i++) bv[i] = (char)(i * 7);
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    lt_put(t, 1, "big", 3, bv, big);
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    lt_put(t, 1, "big2", 4, bv, big - 1);
    lt_put(t, 2, "small", 5, "s", 1);
    CHECK_EQ_INT(lt_txn_commit(t), LT_OK);
    lt_db_close(db);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    REQUIRE(lt_txn_begin(db, LT_TXN_RDONLY, &t) == LT_OK);
    CHECK_EQ_INT(lt_get(t, 1, "big", 3, &v, &n), LT_OK);
    CHECK(n == big && memcmp(v, bv, big) == 0);
    CHECK_EQ_INT(lt_get(t, 1, "big2", 4, &v, &n), LT_OK);
    CHECK(n == big - 1 && memcmp(v, bv, big - 1) == 0);
    CHECK_EQ_INT(lt_get(t, 2, "small", 5, &v, &n), LT_OK);
    lt_txn_abort(t);
    free(bv);
    /* New commits continue after the recovered ones. */
    CHECK_EQ_INT(put1(db, 0, "after", "reopen"), LT_OK);
    lt_db_close(db);
    REQUIRE(open_dir(0, LT_SYNC_NO, &db) == LT_OK);
    CHECK_EQ_INT(get1(db, 0, "after", out, sizeof(out)), LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), 3);
    lt_db_close(db);
    remove_dir();
}

TEST(checkpoint_then_log) {
    make_dir();
    lt_db *db;
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = g_dir;
    cfg.wal_segment_bytes = 4096; /* several segments to drop */
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    char k[32], v[32], out[64];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        REQUIRE(put1(db, (unsigned)(i % 3), k, v) == LT_OK);
    }
    CHECK_EQ_INT(lt_db_checkpoint(db), LT_OK);
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "w%d", i);
        REQUIRE(put1(db, (unsigned)(i % 3), k, v) == LT_OK);
    }
    CHECK_EQ_INT(lt_db_checkpoint(db), LT_OK);
    CHECK_EQ_INT(del1(db, 0, "k0"), LT_OK);
    lt_db_close(db);
    char man[300];
    snprintf(man, sizeof(man), "%s/snapshot.manifest", g_dir);
    CHECK(file_size(man) > 0);
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        int rc = get1(db, (unsigned)(i % 3), k, out, sizeof(out));
        if (i == 0) {
            CHECK_EQ_INT(rc, LT_NOTFOUND);
            continue;
        }
        CHECK_EQ_INT(rc, LT_OK);
        snprintf(v, sizeof(v), "%c%d", i < 100 ? 'w' : 'v', i);
        CHECK_EQ_STR(out, v);
    }
    lt_db_close(db);
    remove_dir();
}

/* ---- Many threads ------------------------------------------------------------ */

#define GC_THREADS 8
#define GC_COMMITS 150

typedef struct gc_arg {
    lt_db *db;
    int id, async, bad;
    uint64_t max_lsn;
} gc_arg;

static void *gc_thread(void *p) {
    gc_arg *a = p;
    for (int i = 0; i < GC_COMMITS; i++) {
        lt_txn *t;
        char k[32];
        int n = snprintf(k, sizeof(k), "t%d-%d", a->id, i);
        if (lt_txn_begin(a->db, a->async ? LT_TXN_NOSYNC : 0, &t) != LT_OK) {
            a->bad++;
            continue;
        }
        lt_put(t, 0, k, (size_t)n, k, (size_t)n);
        uint64_t lsn;
        if (lt_txn_commit_lsn(t, &lsn) != LT_OK || lsn == 0) a->bad++;
        /* A synced commit is durable when it returns. */
        if (!a->async && lt_db_durable_lsn(a->db) < lsn) a->bad++;
        if (lsn > a->max_lsn) a->max_lsn = lsn;
    }
    return NULL;
}

static void run_threads(int async) {
    make_dir();
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    pthread_t th[GC_THREADS];
    gc_arg args[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        args[i] = (gc_arg){.db = db, .id = i, .async = async};
        pthread_create(&th[i], NULL, gc_thread, &args[i]);
    }
    uint64_t max = 0;
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].bad, 0);
        if (args[i].max_lsn > max) max = args[i].max_lsn;
    }
    if (async) {
        CHECK_EQ_INT(lt_db_sync(db, max), LT_OK);
        CHECK(lt_db_durable_lsn(db) >= max);
    }
    lt_stat st;
    lt_db_stat(db, &st);
    CHECK_EQ_INT(st.log_records, GC_THREADS * GC_COMMITS);
    CHECK(st.durable_lsn == st.appended_lsn);
    fprintf(stderr, "# %s: %llu records, %llu fsyncs\n", async ? "async" : "synced",
            (unsigned long long)st.log_records, (unsigned long long)st.log_fsyncs);
    lt_db_close(db);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), GC_THREADS * GC_COMMITS);
    lt_db_close(db);
    remove_dir();
}

TEST(group_commit_threads) { run_threads(0); }
TEST(async_commit_threads) { run_threads(1); }

/* ---- kill -9 --------------------------------------------------------------------- */

/* The child commits key i = value i under LT_SYNC_ALWAYS (every third
 * commit a two-key transaction) and reports each acknowledged i on the
 * pipe; the parent kills it after `acks` acknowledgements, without
 * waiting, so the kill lands mid-commit. */
TEST(crash_kill9_always) {
    make_dir();
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        lt_db *db;
        if (open_dir(0, LT_SYNC_ALWAYS, &db) != LT_OK) _exit(2);
        for (uint32_t i = 0;; i++) {
            char k[32], v[32];
            lt_txn *t;
            if (lt_txn_begin(db, 0, &t) != LT_OK) _exit(3);
            int kn = snprintf(k, sizeof(k), "key%u", i), vn = snprintf(v, sizeof(v), "val%u", i);
            lt_put(t, 0, k, (size_t)kn, v, (size_t)vn);
            if (i % 3 == 0) lt_put(t, 1, k, (size_t)kn, v, (size_t)vn);
            if (lt_txn_commit(t) != LT_OK) _exit(4);
            if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(5);
        }
    }
    close(fds[1]);
    uint32_t last = 0, got;
    int n = 0;
    while (n < 1500 && read(fds[0], &got, sizeof(got)) == sizeof(got)) {
        last = got;
        n++;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    REQUIRE(n == 1500);
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    int missing = 0;
    for (uint32_t i = 0; i <= last; i++) {
        char k[32], v[32], out[64];
        snprintf(k, sizeof(k), "key%u", i);
        snprintf(v, sizeof(v), "val%u", i);
        if (get1(db, 0, k, out, sizeof(out)) != LT_OK || strcmp(out, v) != 0) missing++;
        if (i % 3 == 0 && (get1(db, 1, k, out, sizeof(out)) != LT_OK || strcmp(out, v) != 0))
            missing++;
    }
    CHECK_EQ_INT(missing, 0);
    /* Nothing beyond what was committed, in order: keys 0..count-1. */
    uint64_t count = lt_db_count(db, 0);
    CHECK(count >= (uint64_t)last + 1);
    char k[32], out[64];
    snprintf(k, sizeof(k), "key%llu", (unsigned long long)count - 1);
    CHECK_EQ_INT(get1(db, 0, k, out, sizeof(out)), LT_OK);
    lt_db_close(db);
    remove_dir();
}

/* ---- Bad directories ------------------------------------------------------------- */

TEST(locked_directory) {
    make_dir();
    lt_db *a, *b;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &a) == LT_OK);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &b), LT_LOCKED);
    CHECK(b == NULL);
    CHECK(strstr(g_err, "lightning.lock") != NULL);
    /* Another process too. */
    pid_t pid = fork();
    if (pid == 0) {
        lt_db *c;
        _exit(open_dir(0, LT_SYNC_ALWAYS, &c) == LT_LOCKED ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lt_db_close(a);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &b) == LT_OK); /* released */
    lt_db_close(b);
    remove_dir();
}

static void write_keys(int n) {
    lt_db *db;
    if (open_dir(0, LT_SYNC_ALWAYS, &db) != LT_OK) abort();
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%d", i);
        put1(db, 0, k, "value");
    }
    lt_db_close(db);
}

TEST(torn_tail_is_cut) {
    make_dir();
    write_keys(10);
    char seg[400];
    REQUIRE(last_segment(seg, sizeof(seg)) == 0);
    off_t sz = file_size(seg);
    REQUIRE(truncate(seg, sz - 5) == 0); /* inside the last record */
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), 9);
    CHECK_EQ_INT(put1(db, 0, "k9", "again"), LT_OK);
    lt_db_close(db);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    CHECK_EQ_INT(lt_db_count(db, 0), 10);
    lt_db_close(db);
    remove_dir();
}

TEST(corrupt_log_refused) {
    make_dir();
    write_keys(10);
    char seg[400];
    REQUIRE(last_segment(seg, sizeof(seg)) == 0);
    patch_byte(seg, 100, 0xEE); /* inside the 2nd or 3rd record's bytes */
    lt_db *db;
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_CORRUPT);
    CHECK(db == NULL);
    CHECK(strstr(g_err, "corrupt") != NULL);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_CORRUPT); /* nothing changed */
    /* LT_DB_REPAIR keeps the records before the damage. */
    REQUIRE(open_dir(LT_DB_REPAIR, LT_SYNC_ALWAYS, &db) == LT_OK);
    CHECK(lt_db_count(db, 0) >= 1 && lt_db_count(db, 0) < 10);
    lt_db_close(db);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK); /* repaired */
    lt_db_close(db);
    remove_dir();
}

TEST(newer_log_version_refused) {
    make_dir();
    write_keys(3);
    char seg[400];
    REQUIRE(last_segment(seg, sizeof(seg)) == 0);
    patch_byte(seg, 3, '2'); /* magic "LWL1" -> "LWL2" */
    lt_db *db;
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_VERSION);
    CHECK(strstr(g_err, "incompatible version") != NULL);
    remove_dir();
}

TEST(snapshot_damage_refused) {
    make_dir();
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    for (int i = 0; i < 50; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%d", i);
        put1(db, 0, k, "some value bytes");
    }
    REQUIRE(lt_db_checkpoint(db) == LT_OK);
    lt_db_close(db);
    DIR *d = opendir(g_dir);
    char snap[400] = "";
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "snapshot-", 9))
            snprintf(snap, sizeof(snap), "%s/%s", g_dir, de->d_name);
    closedir(d);
    REQUIRE(snap[0]);
    off_t sz = file_size(snap);
    patch_byte(snap, sz / 2, 0x5A);
    patch_byte(snap, sz / 2 + 1, 0xA5);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_CORRUPT);
    CHECK(strstr(g_err, "snapshot-") != NULL);
    /* A newer format version. */
    patch_byte(snap, sz / 2, 0);
    remove(snap);
    remove_dir();

    make_dir();
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    put1(db, 0, "k", "v");
    REQUIRE(lt_db_checkpoint(db) == LT_OK);
    lt_db_close(db);
    d = opendir(g_dir);
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "snapshot-", 9))
            snprintf(snap, sizeof(snap), "%s/%s", g_dir, de->d_name);
    closedir(d);
    /* Version 1 -> 9, with a valid header checksum. */
    unsigned char hdr[48];
    int fd = open(snap, O_RDWR);
    REQUIRE(fd >= 0 && pread(fd, hdr, 48, 0) == 48);
    hdr[8] = 9;
    uint32_t crc = crc32c(0, hdr, 44);
    for (int i = 0; i < 4; i++) hdr[44 + i] = (unsigned char)(crc >> (8 * i));
    REQUIRE(pwrite(fd, hdr, 48, 0) == 48);
    close(fd);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_VERSION);
    /* A manifest that does not parse. */
    snprintf(snap, sizeof(snap), "%s/snapshot.manifest", g_dir);
    FILE *f = fopen(snap, "w");
    fputs("garbage\n", f);
    fclose(f);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_CORRUPT);
    remove_dir();
}

/* A manifest of a newer format: LT_VERSION, even with LT_DB_REPAIR (which
 * must not guess at a format it does not know), and nothing changed. */
TEST(newer_manifest_version_refused) {
    make_dir();
    lt_db *db;
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    put1(db, 0, "k", "v");
    REQUIRE(lt_db_checkpoint(db) == LT_OK);
    lt_db_close(db);
    char path[400], orig[512];
    snprintf(path, sizeof(path), "%s/snapshot.manifest", g_dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    size_t n = fread(orig, 1, sizeof(orig) - 1, f);
    fclose(f);
    orig[n] = 0;
    REQUIRE(strncmp(orig, "lightning-snapshot-manifest 1\n", 30) == 0);
    f = fopen(path, "w");
    fputs("lightning-snapshot-manifest 2\nsomething new\n", f);
    fclose(f);
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_VERSION);
    CHECK(db == NULL);
    CHECK(strstr(g_err, "snapshot.manifest") != NULL);
    CHECK(strstr(g_err, "incompatible version") != NULL);
    CHECK_EQ_INT(open_dir(LT_DB_REPAIR, LT_SYNC_ALWAYS, &db), LT_VERSION);
    f = fopen(path, "w");
    fputs(orig, f);
    fclose(f);
    REQUIRE(open_dir(0, LT_SYNC_ALWAYS, &db) == LT_OK);
    char out[16];
    CHECK_EQ_INT(get1(db, 0, "k", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "v");
    lt_db_close(db);
    remove_dir();
}

/* ---- Random damage ----------------------------------------------------------------- */

static uint64_t g_rng;

static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

#define DAMAGE_KEYS 60

static void damage_value(int i, char *out, size_t cap) {
    snprintf(out, cap, "value-%d-%0*d", i, 10 + i % 40, i);
}

/* Every file of the directory (log segments, snapshot, manifest), *n of
 * them, full paths. */
static int list_files(char paths[][600], int cap) {
    int n = 0;
    const char *subs[2] = {"", "/appendonlydir"};
    for (int s = 0; s < 2; s++) {
        char d[300];
        snprintf(d, sizeof(d), "%s%s", g_dir, subs[s]);
        DIR *dir = opendir(d);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir)) && n < cap) {
            char p[600];
            snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
            struct stat st;
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && strcmp(de->d_name, "lightning.lock"))
                memcpy(paths[n++], p, sizeof(p));
        }
        closedir(dir);
    }
    return n;
}

/* The keys an opened damaged directory holds must be those of a prefix of
 * the commits (k0..k[m-1]), each with its own value: damage may cost
 * commits (a cut tail, a repair), never change one. Returns the number of
 * violations. */
static int check_prefix(lt_db *db) {
    int bad = 0, m = 0;
    while (m < DAMAGE_KEYS) {
        char k[32], out[128];
        snprintf(k, sizeof(k), "k%d", m);
        if (get1(db, 0, k, out, sizeof(out)) != LT_OK) break;
        char v[128];
        damage_value(m, v, sizeof(v));
        if (strcmp(out, v) != 0) bad++;
        m++;
    }
    if (lt_db_count(db, 0) != (uint64_t)m) bad++;
    return bad;
}

/* Seeded random damage (a flipped byte, a zeroed run, a cut, appended
 * garbage) to one file of a directory holding a snapshot and log records
 * after it: lt_db_open, plain and with LT_DB_REPAIR, returns LT_OK with a
 * prefix of the commits or LT_CORRUPT / LT_VERSION with a message — never
 * a crash, a hang or another state. LT_TEST_SEED repeats a run. */
TEST(random_damage) {
    const char *e = getenv("LT_TEST_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    fprintf(stderr, "# seed %llu\n", (unsigned long long)seed);
    g_rng = seed | 1;
    int opened = 0, refused = 0, bad = 0;
    for (int round = 0; round < 40; round++) {
        make_dir();
        lt_db *db;
        REQUIRE(open_dir(0, LT_SYNC_NO, &db) == LT_OK); /* lt_db_close writes it all */
        for (int i = 0; i < DAMAGE_KEYS; i++) {
            char k[32], v[128];
            snprintf(k, sizeof(k), "k%d", i);
            damage_value(i, v, sizeof(v));
            REQUIRE(put1(db, 0, k, v) == LT_OK);
            if (i == DAMAGE_KEYS / 2) REQUIRE(lt_db_checkpoint(db) == LT_OK);
        }
        lt_db_close(db);
        char files[16][600];
        int nf = list_files(files, 16);
        REQUIRE(nf >= 3);
        const char *victim = files[rnd() % (uint64_t)nf];
        off_t sz = file_size(victim);
        REQUIRE(sz > 0);
        off_t at = (off_t)(rnd() % (uint64_t)sz);
        int kind = (int)(rnd() % 4);
        if (kind == 0) {
            int fd = open(victim, O_RDWR);
            unsigned char b;
            REQUIRE(fd >= 0 && pread(fd, &b, 1, at) == 1);
            b ^= (unsigned char)(1 + rnd() % 255);
            REQUIRE(pwrite(fd, &b, 1, at) == 1);
            close(fd);
        } else if (kind == 1) {
            for (int j = 0; j < 16 && at + j < sz; j++) patch_byte(victim, at + j, 0);
        } else if (kind == 2) {
            REQUIRE(truncate(victim, at) == 0);
        } else {
            int fd = open(victim, O_WRONLY | O_APPEND);
            REQUIRE(fd >= 0);
            for (int j = 0; j < 24; j++) {
                unsigned char b = (unsigned char)rnd();
                REQUIRE(write(fd, &b, 1) == 1);
            }
            close(fd);
        }
        for (int repair = 0; repair < 2; repair++) {
            int rc = open_dir(repair ? LT_DB_REPAIR : 0, LT_SYNC_ALWAYS, &db);
            if (rc == LT_OK) {
                opened++;
                int b = check_prefix(db);
                if (b)
                    fprintf(stderr, "# round %d: %s kind %d at %lld (of %lld), repair %d: "
                                    "opened with other contents\n",
                            round, victim, kind, (long long)at, (long long)sz, repair);
                bad += b;
                lt_db_close(db);
            } else if (rc == LT_CORRUPT || rc == LT_VERSION) {
                refused++;
                if (!g_err[0] || db != NULL) bad++;
            } else {
                fprintf(stderr, "# round %d: %s kind %d at %lld: %s (%s)\n", round, victim,
                        kind, (long long)at, lt_strerror(rc), g_err);
                bad++;
            }
        }
        remove_dir();
    }
    fprintf(stderr, "# %d opens, %d refused\n", opened, refused);
    CHECK_EQ_INT(bad, 0);
}

TEST(unsupported_log_command) {
    make_dir();
    char wd[300];
    snprintf(wd, sizeof(wd), "%s/appendonlydir", g_dir);
    wal_config wc = {.dir = wd, .segment_bytes = WAL_DEFAULT_SEGMENT_BYTES,
                     .buffer_bytes = 1 << 16, .fsync_policy = WAL_FSYNC_ALWAYS};
    wal_scan_result res;
    wal *w;
    REQUIRE(wal_open(&wc, NULL, NULL, &res, &w) == LT_OK);
    const char *set = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    const char *hset = "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n";
    struct iovec iov = {(void *)set, strlen(set)};
    uint64_t end;
    wal_append(w, 1, 1000, WAL_REC_COMMANDS_DB0, &iov, 1, &end);
    iov = (struct iovec){(void *)hset, strlen(hset)};
    wal_append(w, 2, 1000, WAL_REC_COMMANDS_DB0, &iov, 1, &end);
    REQUIRE(wal_close(w) == LT_OK);
    lt_db *db;
    CHECK_EQ_INT(open_dir(0, LT_SYNC_ALWAYS, &db), LT_UNSUPPORTED);
    CHECK(strstr(g_err, "HSET") != NULL);
    remove_dir();
}

TEST(errors) {
    lt_config cfg;
    lt_config_init(&cfg);
    lt_db *db;
    cfg.dir = "/tmp";
    cfg.sync = 7;
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_INVAL);
    cfg.sync = LT_SYNC_ALWAYS;
    cfg.flags = 0x80;
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_INVAL);
    cfg.flags = 0;
    cfg.dir = "/proc/no/such/dir";
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_IOERR);
    CHECK_EQ_INT(lt_db_checkpoint(NULL), LT_INVAL);
    REQUIRE(lt_db_open(NULL, &db) == LT_OK);
    CHECK_EQ_INT(lt_db_checkpoint(db), LT_INVAL); /* in memory */
    CHECK_EQ_INT(lt_db_sync(db, 0), LT_OK);
    CHECK(lt_db_durable_lsn(db) == 0);
    lt_db_close(db);
    for (int e = LT_UNSUPPORTED; e <= LT_OK; e++) CHECK(strcmp(lt_strerror(e), "unknown error") != 0);
}

int main(void) {
    RUN(reopen_recovers_every_commit);
    RUN(checkpoint_then_log);
    RUN(group_commit_threads);
    RUN(async_commit_threads);
    RUN(crash_kill9_always);
    RUN(locked_directory);
    RUN(torn_tail_is_cut);
    RUN(corrupt_log_refused);
    RUN(newer_log_version_refused);
    RUN(snapshot_damage_refused);
    RUN(newer_manifest_version_refused);
    RUN(random_damage);
    RUN(unsupported_log_command);
    RUN(errors);
    return testlib_finish();
}
