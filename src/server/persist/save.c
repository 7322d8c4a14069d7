/*
 * save: see save.h for the contract.
 *
 * State machine (under S.lock): idle -> running (SAVE on a worker, or the
 * BGSAVE thread) -> idle, with `done_cond` broadcast at the end so that
 * shutdown can wait. `scheduled` requests (BGSAVE SCHEDULE, BGREWRITEAOF
 * while a BGSAVE runs) are started by the cron once idle. A failed
 * rule-triggered save is retried after SAVE_RETRY_DELAY_S, as Redis does.
 */
#include "server/persist/save.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"
#include "engine/snapshot.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"

#define SAVE_RETRY_DELAY_S 5     /* Redis's CONFIG_BGSAVE_RETRY_DELAY */
#define SAVE_MAX_RULES 64        /* pairs kept from a `save` value */
#define LOAD_MAX_THREADS 8

/* jemalloc's control interface and the sanitizers' allocator statistics
 * (as in cmd_server.c's INFO memory). */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t allocated_bytes(void) {
    if (mallctl) {
        uint64_t epoch = 1;
        size_t sz = sizeof(epoch), v = 0;
        mallctl("epoch", &epoch, &sz, &epoch, sz);
        sz = sizeof(v);
        mallctl("stats.allocated", &v, &sz, NULL, 0);
        return v;
    }
    if (__sanitizer_get_current_allocated_bytes) return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

typedef struct save_rule {
    long long seconds, changes;
} save_rule;

static const char *const codec_names[] = {"none", "lz4", "zstd"};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int running;           /* a snapshot is being written */
    int bg;                /* ... by the background thread */
    int bg_running;        /* atomic mirror of running && bg (save_in_background) */
    int bgsave_failing;    /* atomic: rules exist and the last bgsave failed */
    int rewrite;           /* ... as a checkpoint (BGREWRITEAOF) */
    int abort;             /* atomic: stop the running snapshot */
    int bgsave_scheduled, rewrite_scheduled;
    int64_t start_ms;
    uint64_t changes_at_start;
    uint64_t changes_base;     /* persist changes at the last good save's start */
    int64_t lastsave_s;        /* last successful save (LASTSAVE) */
    int64_t last_try_s;        /* last background save attempt */
    int last_bgsave_ok, last_rewrite_ok;
    int64_t last_bgsave_time_sec, last_rewrite_time_sec;
    uint64_t saves, rewrites;
    /* Published snapshots (manifest). */
    snap_manifest man;
    uint64_t cur_lsn, prev_lsn;
    /* Figures of the last snapshot. */
    snap_info last;
    int64_t last_duration_ms;
    size_t mem_base, mem_peak, last_extra_peak;
    ks_view view;          /* of the running snapshot */
    uint64_t view_lsn;
    int64_t view_t0_us;
    int last_codec;
    uint64_t load_keys;
    int64_t load_ms;
    save_rule rules[SAVE_MAX_RULES];
    int nrules;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cond = PTHREAD_COND_INITIALIZER,
       .last_bgsave_ok = 1, .last_rewrite_ok = 1, .last_bgsave_time_sec = -1,
       .last_rewrite_time_sec = -1};

static uint64_t changes_now(void) {
    persist_info pi;
    persist_get_info(&pi);
    return pi.changes;
}

/* ---- Rules ------------------------------------------------------------------- */

/* Tokens are separated by exactly one space, as Redis splits them (so
 * "3600  1" is invalid there too). */
char *save_rules_normalize(const char *s, size_t len) {
    size_t cap = len * 2 + 2, olen = 0, pos = 0;
    char *out = lt_xmalloc(cap);
    int n = 0;
    while (pos < len) {
        if (n) pos++; /* the separator */
        size_t st = pos;
        while (pos < len && s[pos] != ' ') pos++;
        long long v;
        if (!lt_string2ll(s + st, pos - st, &v) || ((n & 1) == 0 && v < 1) ||
            ((n & 1) == 1 && v < 0)) {
            free(out);
            return NULL;
        }
        char num[LT_LLSTR_SIZE];
        size_t k = (size_t)lt_ll2string(num, sizeof(num), v);
        if (olen + k + 2 > cap) {
            cap = (olen + k + 2) * 2;
            out = lt_xrealloc(out, cap);
        }
        if (n) out[olen++] = ' ';
        memcpy(out + olen, num, k);
        olen += k;
        n++;
    }
    if (n & 1) {
        free(out);
        return NULL;
    }
    out[olen] = '\0';
    return out;
}

void save_apply_config(void) {
    save_rule r[SAVE_MAX_RULES];
    int n = 0;
    const char *p = server.save_params ? server.save_params : "";
    long long a, b;
    int used;
    while (n < SAVE_MAX_RULES && sscanf(p, "%lld %lld%n", &a, &b, &used) == 2) {
        r[n].seconds = a;
        r[n].changes = b;
        n++;
        p += used;
    }
    pthread_mutex_lock(&S.lock);
    memcpy(S.rules, r, sizeof(r[0]) * (size_t)n);
    S.nrules = n;
    __atomic_store_n(&S.bgsave_failing, n > 0 && !S.last_bgsave_ok, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&S.lock);
}

/* ---- Writing a snapshot ---------------------------------------------------------- */

static void on_progress(void *ctx, uint64_t keys, uint64_t bytes) {
    (void)ctx;
    (void)keys;
    (void)bytes;
    size_t now = allocated_bytes();
    pthread_mutex_lock(&S.lock);
    if (now > S.mem_peak) S.mem_peak = now;
    pthread_mutex_unlock(&S.lock);
}

/* Deletes snapshot files the manifest no longer names. */
static void remove_old_snapshots(void) {
    uint64_t *lsns;
    int n;
    if (snap_list(".", &lsns, &n) != LT_OK) return;
    for (int i = 0; i < n; i++) {
        char name[SNAP_NAME_SIZE];
        snap_file_name(lsns[i], name);
        if (!strcmp(name, S.man.current) || !strcmp(name, S.man.previous)) continue;
        if (unlink(name) == 0) serverLog(LL_VERBOSE, "Removed old snapshot %s", name);
    }
    free(lsns);
}

/* The point in time of the next snapshot: its WAL LSN and view, taken on
 * the thread that asked for it (so that a write acknowledged after the
 * command's reply is not in it). S.lock held. */
static void snapshot_open_locked(void) {
    S.view_t0_us = monotonic_us();
    S.view_lsn = persist_snapshot_point();
    ks_view_open(server.db, &S.view);
    S.view.sequential = 1;
    /* From now on, not only once the thread starts writing: a write right
     * after BGSAVE's reply must not copy a big collection either. */
    ks_view_early_enable(&S.view);
    S.mem_base = S.mem_peak = allocated_bytes();
}

/* Durations of the snapshots written (SAVE, BGSAVE, automatic), µs
 * bounds 10 ms .. 10 min (metrics: lightning_snapshot_write_duration_seconds). */
static const uint64_t snap_bounds_us[] = {10000,    50000,    100000,   250000,   500000,
                                          1000000,  2500000,  5000000,  10000000, 30000000,
                                          60000000, 120000000, 300000000, 600000000};
static promhist snap_hist = {.bounds_us = snap_bounds_us,
                             .nbounds = (int)(sizeof(snap_bounds_us) / sizeof(snap_bounds_us[0]))};

/* Writes the snapshot of S.view (opened by snapshot_open_locked; the
 * caller set S.running) and closes the view. Returns 0 or -1 (logged). */
static int snapshot_write(int rewrite) {
    pthread_mutex_lock(&S.lock);
    int64_t t0 = S.view_t0_us;
    uint64_t lsn = S.view_lsn;
    ks_view *vp = &S.view; /* only this thread touches it until closed */
    pthread_mutex_unlock(&S.lock);
    if (persist_sync(lsn) < 0) {
        ks_view_close(vp);
        serverLog(LL_WARNING, "Snapshot not written: the WAL cannot be made durable up to %" PRIu64,
                  lsn);
        return -1;
    }
    /* rdbcompression no: uncompressed, whatever snapshot-compression says. */
    int codec = server.rdbcompression ? server.snapshot_compression : SNAP_CODEC_NONE;
    snap_write_opts o = {.dir = ".", .lsn = lsn, .codec = codec, .progress = on_progress,
                         .key_delay_us = &server.rdb_key_save_delay,
                         .abort_flag = &S.abort};
    snap_write_result res;
    int rc = snap_write(server.db, vp, &o, &res);
    ks_view_close(vp);
    int64_t dt_us = monotonic_us() - t0;
    int64_t dt_ms = dt_us / 1000;
    promhist_record(&snap_hist, dt_us > 0 ? (uint64_t)dt_us : 0);
    if (rc != LT_OK) {
        if (__atomic_load_n(&S.abort, __ATOMIC_RELAXED))
            serverLog(LL_WARNING, "Snapshot aborted");
        else
            serverLog(LL_WARNING, "Failed writing the snapshot %s: %s%s%s", res.name,
                      lt_strerror(rc), rc == LT_IOERR ? ": " : "",
                      rc == LT_IOERR ? strerror(res.sys_errno) : "");
        return -1;
    }
    pthread_mutex_lock(&S.lock);
    snap_manifest m = S.man;
    uint64_t prev_lsn = S.prev_lsn;
    if (strcmp(m.current, res.name) != 0) {
        memcpy(m.previous, m.current, sizeof(m.previous));
        prev_lsn = S.cur_lsn;
        memcpy(m.current, res.name, sizeof(m.current));
    }
    pthread_mutex_unlock(&S.lock);
    if (snap_manifest_write(".", &m) != LT_OK) {
        serverLog(LL_WARNING, "Failed writing %s: %s", SNAP_MANIFEST_NAME, strerror(errno));
        return -1;
    }
    size_t extra;
    pthread_mutex_lock(&S.lock);
    S.man = m;
    S.cur_lsn = lsn;
    S.prev_lsn = prev_lsn;
    S.last = res.info;
    S.last_duration_ms = dt_ms;
    S.last_codec = codec;
    extra = S.mem_peak > S.mem_base ? S.mem_peak - S.mem_base : 0;
    S.last_extra_peak = extra;
    pthread_mutex_unlock(&S.lock);
    remove_old_snapshots();
    serverLog(LL_NOTICE,
              "Snapshot %s written: %" PRIu64 " keys, %" PRIu64 " bytes (%s, %" PRIu64
              " raw) in %.3f seconds, extra memory peak %zu bytes",
              res.name, res.info.keys, res.info.file_bytes, codec_names[codec],
              res.info.raw_bytes, (double)dt_ms / 1000, extra);
    if (rewrite && m.previous[0]) {
        int dropped = 0;
        if (persist_checkpoint(prev_lsn, &dropped) < 0)
            serverLog(LL_WARNING, "Checkpoint: deleting WAL segments failed: %s", strerror(errno));
        else if (dropped)
            serverLog(LL_NOTICE, "Checkpoint: deleted %d WAL segment(s) before LSN %" PRIu64,
                      dropped, prev_lsn);
    }
    return 0;
}

/* Told of every finished snapshot (backup.c pins it), under S.lock. */
static save_done_fn *done_hook;

void save_set_done_hook(save_done_fn *fn) {
    pthread_mutex_lock(&S.lock);
    done_hook = fn;
    pthread_mutex_unlock(&S.lock);
}

/* Records the end of a snapshot (under S.lock) and wakes waiters. */
static void finish_locked(int ok, int64_t started_ms) {
    int64_t secs = (mstime() - started_ms) / 1000;
    /* On success the file just written is the manifest's current one. */
    if (done_hook) done_hook(ok, ok ? S.man.current : NULL, ok ? &S.last : NULL);
    __atomic_store_n(&S.bg_running, 0, __ATOMIC_RELAXED);
    if (ok) {
        S.lastsave_s = mstime() / 1000;
        S.changes_base = S.changes_at_start;
        S.saves++;
    }
    if (S.bg) {
        if (S.rewrite) {
            S.last_rewrite_ok = ok;
            S.last_rewrite_time_sec = secs;
            S.rewrites++;
        } else {
            S.last_bgsave_ok = ok;
            S.last_bgsave_time_sec = secs;
            __atomic_store_n(&S.bgsave_failing, S.nrules > 0 && !ok, __ATOMIC_RELAXED);
        }
    }
    S.running = S.bg = S.rewrite = 0;
    pthread_cond_broadcast(&S.done_cond);
}

/* The background snapshot thread's nice value: on a busy machine the I/O
 * threads serving clients get the CPU first and the snapshot takes the
 * rest (on an idle one it runs at full speed all the same). */
#define BG_SAVE_NICE 10

static void *bg_main(void *arg) {
    (void)arg;
    /* Linux: a thread id names just this thread. Best effort. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BG_SAVE_NICE) < 0) { /* keep 0 */ }
    pthread_mutex_lock(&S.lock);
    int rewrite = S.rewrite;
    int64_t started = S.start_ms;
    pthread_mutex_unlock(&S.lock);
    int ok = snapshot_write(rewrite) == 0;
    pthread_mutex_lock(&S.lock);
    finish_locked(ok, started);
    pthread_mutex_unlock(&S.lock);
    return NULL;
}

/* Claims the snapshot slot (S.lock held). */
static void begin_locked(int bg, int rewrite) {
    S.running = 1;
    S.bg = bg;
    __atomic_store_n(&S.bg_running, bg, __ATOMIC_RELAXED);
    S.rewrite = rewrite;
    S.start_ms = mstime();
    S.changes_at_start = changes_now();
    __atomic_store_n(&S.abort, 0, __ATOMIC_RELAXED);
    if (bg) S.last_try_s = S.start_ms / 1000;
    snapshot_open_locked();
}

/* Starts a background snapshot (S.lock held, not running). 0 or -1. */
static int start_bg_locked(int rewrite) {
    begin_locked(1, rewrite);
    if (rewrite) S.rewrite_scheduled = 0;
    else S.bgsave_scheduled = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int e = pthread_create(&th, &attr, bg_main, NULL);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        serverLog(LL_WARNING, "Can't start the snapshot thread: %s", strerror(e));
        ks_view_close(&S.view);
        finish_locked(0, S.start_ms);
        return -1;
    }
    serverLog(LL_NOTICE, "%s started", rewrite ? "Background checkpoint" : "Background saving");
    return 0;
}

/* A snapshot on the calling thread. 0 or -1; -2 when one is running. */
static int save_sync(void) {
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        pthread_mutex_unlock(&S.lock);
        return -2;
    }
    begin_locked(0, 0);
    int64_t started = S.start_ms;
    pthread_mutex_unlock(&S.lock);
    int ok = snapshot_write(0) == 0;
    pthread_mutex_lock(&S.lock);
    finish_locked(ok, started);
    pthread_mutex_unlock(&S.lock);
    return ok ? 0 : -1;
}

/* ---- Commands ------------------------------------------------------------------ */

int save_bgsave_failing(void) { return __atomic_load_n(&S.bgsave_failing, __ATOMIC_RELAXED); }

int save_in_background(void) { return __atomic_load_n(&S.bg_running, __ATOMIC_RELAXED); }

int save_now(void) { return save_sync(); }

int save_request_background(void) {
    pthread_mutex_lock(&S.lock);
    int rc = S.running ? 0 : start_bg_locked(0);
    pthread_mutex_unlock(&S.lock);
    return rc;
}

void saveCommand(client *c) {
    int rc = save_sync();
    if (rc == -2) addReplyError(c, "ERR Background save already in progress");
    else if (rc < 0) addReplyError(c, "ERR");
    else addReplyOK(c);
}

void bgsaveCommand(client *c) {
    int schedule = 0;
    if (c->argc > 1) {
        if (c->argc == 2 && c->argv[1].len == 8 && !strncasecmp(c->argv[1].ptr, "schedule", 8)) {
            schedule = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    pthread_mutex_lock(&S.lock);
    if (S.running && !S.rewrite) {
        addReplyError(c, "ERR Background save already in progress");
    } else if (S.running) {
        if (schedule) {
            S.bgsave_scheduled = 1;
            addReplyStatus(c, "Background saving scheduled");
        } else {
            addReplyError(c, "ERR Another child process is active (AOF?): can't BGSAVE right now. "
                             "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
                             "possible.");
        }
    } else if (start_bg_locked(0) == 0) {
        addReplyStatus(c, "Background saving started");
    } else {
        addReplyError(c, "ERR");
    }
    pthread_mutex_unlock(&S.lock);
}

void bgrewriteaofCommand(client *c) {
    pthread_mutex_lock(&S.lock);
    if (S.running && S.rewrite) {
        addReplyError(c, "ERR Background append only file rewriting already in progress");
    } else if (S.running) {
        S.rewrite_scheduled = 1;
        addReplyStatus(c, "Background append only file rewriting scheduled");
    } else if (start_bg_locked(1) == 0) {
        addReplyStatus(c, "Background append only file rewriting started");
    } else {
        addReplyError(c, "ERR Can't execute an AOF background rewriting. Please check the server "
                         "logs for more information.");
    }
    pthread_mutex_unlock(&S.lock);
}

void lastsaveCommand(client *c) {
    pthread_mutex_lock(&S.lock);
    long long t = S.lastsave_s;
    pthread_mutex_unlock(&S.lock);
    addReplyLongLong(c, t);
}

/* ---- Cron and shutdown ------------------------------------------------------------ */

void save_cron(void) {
    int64_t now_s = mstime() / 1000;
    uint64_t changes = changes_now();
    persist_info pi;
    persist_get_info(&pi);
    pthread_mutex_lock(&S.lock);
    if (S.running) {
        pthread_mutex_unlock(&S.lock);
        return;
    }
    if (S.rewrite_scheduled) {
        start_bg_locked(1);
    } else if (S.bgsave_scheduled) {
        start_bg_locked(0);
    } else {
        uint64_t dirty = changes - S.changes_base;
        for (int i = 0; i < S.nrules; i++) {
            const save_rule *r = &S.rules[i];
            if (dirty >= (uint64_t)r->changes && now_s - S.lastsave_s > r->seconds &&
                (now_s - S.last_try_s > SAVE_RETRY_DELAY_S || S.last_bgsave_ok)) {
                serverLog(LL_NOTICE, "%lld changes in %lld seconds. Saving...", r->changes,
                          r->seconds);
                start_bg_locked(0);
                break;
            }
        }
        if (!S.running && pi.enabled && server.wal_checkpoint_size > 0 &&
            pi.appended > S.cur_lsn &&
            pi.appended - S.cur_lsn > (uint64_t)server.wal_checkpoint_size &&
            (now_s - S.last_try_s > SAVE_RETRY_DELAY_S || S.last_rewrite_ok)) {
            serverLog(LL_NOTICE, "WAL grew %" PRIu64 " bytes past the last snapshot: checkpoint",
                      pi.appended - S.cur_lsn);
            start_bg_locked(1);
        }
    }
    pthread_mutex_unlock(&S.lock);
}

static void stop_running(void) {
    pthread_mutex_lock(&S.lock);
    S.bgsave_scheduled = S.rewrite_scheduled = 0;
    if (S.running) {
        __atomic_store_n(&S.abort, 1, __ATOMIC_RELAXED);
        serverLog(LL_WARNING, "There is a snapshot being written: stopping it");
        while (S.running) pthread_cond_wait(&S.done_cond, &S.lock);
    }
    pthread_mutex_unlock(&S.lock);
}

int save_after_import(void) {
    serverLog(LL_NOTICE, "Writing a snapshot of the imported RDB data");
    return save_sync() == 0 ? 0 : -1;
}

int save_for_shutdown(int mode) {
    pthread_mutex_lock(&S.lock);
    int want = mode == 1 || S.nrules > 0;
    pthread_mutex_unlock(&S.lock);
    if (!want) return 0;
    stop_running();
    serverLog(LL_NOTICE, "Saving the final snapshot before exiting.");
    if (save_sync() != 0) {
        serverLog(LL_WARNING, "Error trying to save the DB, can't exit.");
        return -1;
    }
    return 0;
}

void save_shutdown(int save_now) {
    stop_running();
    pthread_mutex_lock(&S.lock);
    int want = save_now && S.nrules > 0;
    pthread_mutex_unlock(&S.lock);
    if (!want) return;
    serverLog(LL_NOTICE, "Saving the final snapshot before exiting.");
    if (save_sync() != 0)
        serverLog(LL_WARNING, "Error trying to save the DB before exiting; the WAL keeps what "
                              "was logged.");
}

/* ---- Recovery ---------------------------------------------------------------------- */

static int list_has(const uint64_t *v, int n, uint64_t x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

/* Empties every database after a failed load (start-up: no other thread
 * runs, so one database at a time is as good as all at once). */
static void flush_all(void) {
    for (int db = 0; db < server.databases; db++) {
        ks_txn txn;
        ks_txn_begin_db(&txn, server.db, (unsigned)db);
        ks_flush_db(&txn, (unsigned)db);
        ks_txn_commit(&txn);
    }
}

/* Snapshot loader threads: INFO loading_* and the progress log. */
static void snap_load_progress_cb(void *ctx, uint64_t bytes, uint64_t keys) {
    (void)ctx;
    loading_progress(bytes, keys);
}

int save_recover(uint64_t wal_start, uint64_t *replay_from, uint64_t *snap_ts) {
    *replay_from = 0;
    *snap_ts = 0;
    save_apply_config();
    S.lastsave_s = mstime() / 1000;
    /* Candidates: the manifest's current and previous, then any other
     * snapshot file, newest first. */
    uint64_t *files = NULL, order[64];
    int nfiles = 0, n = 0;
    snap_list(".", &files, &nfiles);
    snap_manifest m;
    int mrc = snap_manifest_read(".", &m);
    uint64_t lsn;
    if (mrc == LT_OK) {
        if (snap_parse_name(m.current, &lsn) && list_has(files, nfiles, lsn)) order[n++] = lsn;
        if (m.previous[0] && snap_parse_name(m.previous, &lsn) && list_has(files, nfiles, lsn) &&
            !list_has(order, n, lsn))
            order[n++] = lsn;
    } else if (mrc == LT_INVAL || mrc == LT_VERSION) {
        serverLog(LL_WARNING, "%s is %s: ignoring it, trying the snapshot files newest "
                              "first", SNAP_MANIFEST_NAME,
                  mrc == LT_VERSION ? "of an incompatible version" : "malformed");
    }
    for (int i = 0; i < nfiles && n < 64; i++)
        if (!list_has(order, n, files[i])) order[n++] = files[i];
    free(files);

    int nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads > LOAD_MAX_THREADS) nthreads = LOAD_MAX_THREADS;
    if (nthreads < 1) nthreads = 1;
    snap_problem first_bad = {0};
    int loaded = -1;
    for (int i = 0; i < n && loaded < 0; i++) {
        char name[SNAP_NAME_SIZE];
        snap_file_name(order[i], name);
        if (wal_start != UINT64_MAX && order[i] < wal_start) {
            serverLog(LL_WARNING, "Snapshot %s covers LSN %" PRIu64 " but the WAL starts at %" PRIu64
                                  ": cannot use it", name, order[i], wal_start);
            continue;
        }
        snap_info info;
        snap_problem pb;
        int err = 0;
        int64_t t0 = monotonic_us();
        int rc = snap_load_progress(server.db, name, nthreads, snap_load_progress_cb, NULL, &info,
                                    &pb, &err);
        int64_t dt = monotonic_us() - t0;
        if (rc == LT_OK) {
            loaded = i;
            *replay_from = info.lsn;
            *snap_ts = info.commit_ts;
            S.load_keys = info.keys;
            S.load_ms = dt / 1000;
            S.cur_lsn = info.lsn;
            S.last = info;
            memcpy(S.man.current, name, sizeof(name));
            if (i + 1 < n) snap_file_name(order[i + 1], S.man.previous);
            S.prev_lsn = i + 1 < n ? order[i + 1] : 0;
            serverLog(LL_NOTICE,
                      "Snapshot %s loaded: %" PRIu64 " keys in %.3f seconds (%d threads); WAL "
                      "replay from LSN %" PRIu64,
                      name, info.keys, (double)dt / 1e6, nthreads, info.lsn);
            break;
        }
        flush_all();
        if (rc == LT_IOERR)
            serverLog(LL_WARNING, "Cannot read snapshot %s: %s", name, strerror(err));
        else if (rc == LT_NOMEM)
            serverLog(LL_WARNING, "Out of memory loading snapshot %s", name);
        else
            serverLog(LL_WARNING, "Snapshot %s is corrupt at offset %" PRIu64 ": %s", name,
                      pb.offset, pb.why);
        if (!first_bad.found) {
            first_bad = pb;
            first_bad.found = 1;
            snprintf(first_bad.file, sizeof(first_bad.file), "%s/%s", server.dir, name);
            if (rc != LT_INVAL) snprintf(first_bad.why, sizeof(first_bad.why), "unreadable");
        }
    }
    if (loaded > 0)
        serverLog(LL_WARNING, "Started from an older snapshot (%s): the newer one is unusable",
                  S.man.current);
    if (loaded >= 0) return 0;
    /* No usable snapshot: the WAL alone must hold everything from LSN 0. */
    if (wal_start == 0 || (wal_start == UINT64_MAX && !first_bad.found)) {
        if (first_bad.found)
            serverLog(LL_WARNING, "No valid snapshot; the WAL holds every write since LSN 0: "
                                  "recovering from the WAL alone");
        return 0;
    }
    if (first_bad.found)
        serverLog(LL_WARNING,
                  "Refusing to start: snapshot %s is corrupt at offset %" PRIu64
                  " (%s) and no older snapshot with the WAL after it can replace it. "
                  "Restore the file from a backup, or run 'lightning-check %s' to see every "
                  "problem and 'lightning-check --fix %s' to set the corrupt snapshot aside "
                  "(renamed *.broken; the keys only it held are then lost).",
                  first_bad.file, first_bad.offset, first_bad.why, server.dir, server.dir);
    else
        serverLog(LL_WARNING,
                  "Refusing to start: the WAL in %s/%s starts at LSN %" PRIu64
                  " (older segments were checkpointed) but no snapshot covers it. Restore the "
                  "snapshot files from a backup, or move %s/%s aside to start empty.",
                  server.dir, server.appenddirname, wal_start, server.dir,
                  server.appenddirname);
    return -1;
}

/* ---- INFO ------------------------------------------------------------------------- */

void save_duration_hist(promhist *out) { promhist_copy(out, &snap_hist); }

void save_get_info(save_info *o) {
    uint64_t changes = changes_now();
    int64_t now_ms = mstime();
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&S.lock);
    o->changes_since_save = changes - S.changes_base;
    o->bgsave_in_progress = S.running && S.bg && !S.rewrite;
    o->rewrite_in_progress = S.running && S.bg && S.rewrite;
    o->bgsave_scheduled = S.bgsave_scheduled;
    o->rewrite_scheduled = S.rewrite_scheduled;
    o->lastsave_s = S.lastsave_s;
    o->last_bgsave_ok = S.last_bgsave_ok;
    o->last_rewrite_ok = S.last_rewrite_ok;
    o->last_bgsave_time_sec = S.last_bgsave_time_sec;
    o->last_rewrite_time_sec = S.last_rewrite_time_sec;
    o->current_bgsave_time_sec = o->bgsave_in_progress ? (now_ms - S.start_ms) / 1000 : -1;
    o->current_rewrite_time_sec = o->rewrite_in_progress ? (now_ms - S.start_ms) / 1000 : -1;
    o->saves = S.saves;
    o->rewrites = S.rewrites;
    o->snap_keys = S.last.keys;
    o->snap_file_bytes = S.last.file_bytes;
    o->snap_raw_bytes = S.last.raw_bytes;
    o->snap_lsn = S.cur_lsn;
    o->snap_duration_ms = S.last_duration_ms;
    o->snap_extra_memory_peak = S.running && S.mem_peak > S.mem_base
                                    ? S.mem_peak - S.mem_base
                                    : S.last_extra_peak;
    o->snap_codec = codec_names[S.last_codec];
    o->load_keys = S.load_keys;
    o->load_ms = S.load_ms;
    pthread_mutex_unlock(&S.lock);
}
