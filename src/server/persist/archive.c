/*
 * archive.c — continuous WAL archiving (contract in archive.h).
 *
 * State under A.lock: the directory and retention last applied, counters
 * for INFO, `pending` (the cron saw a new segment). The archiver thread
 * waits on A.cond (no polling: the cron signals it when the WAL's count of
 * created segments changed or a prune is due) and copies with A.lock
 * released, holding A.copy_lock, which a checkpoint's copy also takes, so
 * two copies never write the same temp file.
 */
#include "server/persist/archive.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include "engine/wal.h"
#include "engine/wal_archive.h"
#include "server/log.h"
#include "server/persist/persist_int.h"
#include "server/server.h"

static struct {
    pthread_mutex_t lock, copy_lock;
    pthread_cond_t cond;
    char dir[PATH_MAX];
    long long retention_s;
    int thread_started;
    int pending;
    uint64_t seen_segments;
    int64_t last_prune_s;
    /* INFO */
    uint64_t copied, bytes, errors, pruned;
    int last_ok;
} A = {.lock = PTHREAD_MUTEX_INITIALIZER, .copy_lock = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER, .last_ok = 1};

void archive_dir(char *out, size_t cap) {
    pthread_mutex_lock(&A.lock);
    snprintf(out, cap, "%s", A.dir);
    pthread_mutex_unlock(&A.lock);
}

/* Copies completed segments before upto and prunes. copy_lock held. */
static int archive_run(const char *dir, long long retention_s, uint64_t upto) {
    int copied = 0, removed = 0;
    uint64_t bytes = 0;
    int rc = wal_archive_copy(PERSIST_WAL_DIR, dir, upto, &copied, &bytes);
    int e = errno;
    if (rc == LT_OK && retention_s > 0)
        wal_archive_prune(dir, retention_s, mstime() / 1000, &removed);
    pthread_mutex_lock(&A.lock);
    A.copied += (uint64_t)copied;
    A.bytes += bytes;
    A.pruned += (uint64_t)removed;
    A.last_ok = rc == LT_OK;
    if (rc != LT_OK) A.errors++;
    pthread_mutex_unlock(&A.lock);
    if (rc != LT_OK)
        serverLog(LL_WARNING, "WAL archiving to %s failed: %s", dir, strerror(e));
    else if (copied)
        serverLog(LL_VERBOSE, "Archived %d WAL segment(s) (%" PRIu64 " bytes) to %s", copied,
                  bytes, dir);
    if (removed) serverLog(LL_VERBOSE, "Pruned %d archived WAL segment(s)", removed);
    return rc == LT_OK ? 0 : -1;
}

static void *archiver_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&A.lock);
    for (;;) {
        while (!A.pending) pthread_cond_wait(&A.cond, &A.lock);
        A.pending = 0;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", A.dir);
        long long ret = A.retention_s;
        pthread_mutex_unlock(&A.lock);
        if (dir[0] && P.wal) {
            pthread_mutex_lock(&A.copy_lock);
            archive_run(dir, ret, UINT64_MAX);
            pthread_mutex_unlock(&A.copy_lock);
        }
        pthread_mutex_lock(&A.lock);
    }
    return NULL;
}

void archive_apply_config(void) {
    pthread_mutex_lock(&A.lock);
    snprintf(A.dir, sizeof(A.dir), "%s", server.wal_archive_dir ? server.wal_archive_dir : "");
    A.retention_s = server.wal_archive_retention;
    if (A.dir[0] && !A.thread_started) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t th;
        if (pthread_create(&th, &attr, archiver_main, NULL) == 0) A.thread_started = 1;
        else serverLog(LL_WARNING, "Can't start the WAL archiver thread");
        pthread_attr_destroy(&attr);
    }
    if (A.dir[0]) {
        A.pending = 1; /* archive what completed before this */
        pthread_cond_signal(&A.cond);
    }
    pthread_mutex_unlock(&A.lock);
}

void archive_cron(void) {
    if (!P.wal) return;
    wal_stats st;
    wal_get_stats(P.wal, &st);
    int64_t now_s = mstime() / 1000;
    pthread_mutex_lock(&A.lock);
    if (A.dir[0] && A.thread_started &&
        (st.segments_created != A.seen_segments ||
         (A.retention_s > 0 && now_s != A.last_prune_s))) {
        A.seen_segments = st.segments_created;
        A.last_prune_s = now_s;
        A.pending = 1;
        pthread_cond_signal(&A.cond);
    }
    pthread_mutex_unlock(&A.lock);
}

int archive_before_drop(uint64_t lsn) {
    char dir[PATH_MAX];
    pthread_mutex_lock(&A.lock);
    snprintf(dir, sizeof(dir), "%s", A.dir);
    long long ret = A.retention_s;
    pthread_mutex_unlock(&A.lock);
    if (!dir[0]) return 0;
    pthread_mutex_lock(&A.copy_lock);
    int rc = archive_run(dir, ret, lsn);
    pthread_mutex_unlock(&A.copy_lock);
    return rc;
}

size_t archive_info(char *out, size_t cap) {
    pthread_mutex_lock(&A.lock);
    int n = snprintf(out, cap,
                     "wal_archive_enabled:%d\r\n"
                     "wal_archived_segments:%" PRIu64 "\r\n"
                     "wal_archived_bytes:%" PRIu64 "\r\n"
                     "wal_archive_pruned_segments:%" PRIu64 "\r\n"
                     "wal_archive_errors:%" PRIu64 "\r\n"
                     "wal_archive_last_status:%s\r\n",
                     A.dir[0] != 0, A.copied, A.bytes, A.pruned, A.errors,
                     A.last_ok ? "ok" : "err");
    pthread_mutex_unlock(&A.lock);
    if (n < 0) n = 0;
    if ((size_t)n >= cap) n = cap ? (int)cap - 1 : 0;
    return (size_t)n;
}
