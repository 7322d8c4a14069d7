/*
 * cmd_sync: full-sync RDB payloads (cmd_sync.h) — the whole keyspace as an
 * RDB payload (what a Redis replica loads and `redis-cli --rdb FILE`
 * saves), for SYNC and PSYNC (src/repl/master.c answers them).
 *
 * Form: `$<length>\r\n` and the RDB bytes (version 10, engine/rdb.h) with
 * no trailing CRLF, as Redis does for a disk-backed sync; or, for replicas
 * that announced `capa eof`, `$EOF:<40 random chars>\r\n`, the bytes, and
 * the same 40 chars (Redis's disk-less form). AUX repl-id / repl-offset
 * name the replication id and offset the payload covers.
 *
 * How: the caller opens an MVCC view (no fork: writers go on, and the view
 * costs at most one old version per key they change ahead of it) and a
 * background thread writes the payload from it into a temporary file in
 * `dir`, unlinked at once. Meanwhile the client's output producer has
 * nothing to send; the I/O thread serves its other clients. When the file
 * is complete the thread wakes the client's worker (worker_kick_producers)
 * and the producer streams the header and the file 64 KiB at a time, so
 * memory stays bounded by client-output-backpressure whatever the
 * dataset's size. A client that disconnects stops its writer at the next
 * 64 KiB; shutdown stops and waits for every writer (sync_shutdown).
 */
#include "server/cmd/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/mvcc.h"
#include "engine/rdb.h"
#include "server/log.h"
#include "server/cmd/cmd_sync.h"
#include "common/random.h"
#include "repl/repl.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/persist/persist.h"
#include "server/persist/rdb_import.h"
#include "server/server.h"

#define SYNC_CHUNK (64 * 1024)

/* Shared by the client's producer and the writer thread; freed by whichever
 * lets go last (refs). */
typedef struct sync_job {
    int refs;          /* atomic */
    int state;         /* atomic: 0 writing, 1 file ready, -1 failed */
    int abort;         /* atomic: the client is gone, or shutdown */
    int psync;
    worker *w;         /* the client's worker */
    ks_view view;      /* opened by the handler, closed by the thread */
    FILE *f;
    int fd;            /* the finished file */
    uint64_t size, off, offset, keys;
    int header_sent;
    int eof_form;      /* $EOF:<mark> ... <mark> instead of $<length> */
    char mark[41];
    char replid[41];
} sync_job;

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static int jobs_running;
static int jobs_shutdown;

static void job_unref(sync_job *j) {
    if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    if (j->fd >= 0) close(j->fd);
    if (j->f) fclose(j->f);
    free(j);
}

/* Producer ctx release: the client is done or gone. */
static void job_client_release(void *ctx) {
    sync_job *j = ctx;
    __atomic_store_n(&j->abort, 1, __ATOMIC_RELEASE);
    job_unref(j);
}

static int sink_emit(void *ctx, const void *p, size_t n) {
    sync_job *j = ctx;
    if (__atomic_load_n(&j->abort, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&jobs_shutdown, __ATOMIC_ACQUIRE))
        return -1;
    return fwrite(p, 1, n, j->f) == n ? 0 : -1;
}

static void *sync_writer(void *arg) {
    sync_job *j = arg;
    char ctime_s[24], off_s[24], bits[8];
    snprintf(ctime_s, sizeof(ctime_s), "%lld", (long long)(time(NULL)));
    snprintf(off_s, sizeof(off_s), "%" PRIu64, j->offset);
    snprintf(bits, sizeof(bits), "%d", (int)(sizeof(void *) * 8));
    rdb_aux aux[] = {
        {"redis-ver", "7.0.15"}, {"redis-bits", bits},      {"ctime", ctime_s},
        {"used-mem", "0"},       {"repl-stream-db", "0"},   {"repl-id", j->replid},
        {"repl-offset", off_s},  {"aof-base", "0"},
    };
    rdb_write_opts o = {.emit = sink_emit,
                        .ctx = j,
                        .aux = aux,
                        .naux = sizeof(aux) / sizeof(aux[0]),
                        .functions = rdb_functions_code(),
                        .function_lens = rdb_functions_lens(),
                        .nfunctions = rdb_functions_count()};
    int64_t t0 = mstime();
    int rc = rdb_write_view(server.db, &j->view, &o, &j->keys);
    ks_view_close(&j->view);
    int ok = rc == LT_OK && fflush(j->f) == 0;
    long end = ok ? ftell(j->f) : -1;
    if (ok && end >= 0 && (j->fd = dup(fileno(j->f))) >= 0) {
        j->size = (uint64_t)end;
        serverLog(LL_NOTICE, "%s: RDB payload of %" PRIu64 " keys, %" PRIu64 " bytes written "
                             "in %lld ms", j->psync ? "Full resync (PSYNC)" : "SYNC", j->keys,
                  j->size, (long long)(mstime() - t0));
        __atomic_store_n(&j->state, 1, __ATOMIC_RELEASE);
    } else {
        if (!__atomic_load_n(&j->abort, __ATOMIC_ACQUIRE))
            serverLog(LL_WARNING, "SYNC: writing the payload failed: %s",
                      rc == LT_INVAL ? "a value has no RDB form yet" : strerror(errno));
        __atomic_store_n(&j->state, -1, __ATOMIC_RELEASE);
    }
    fclose(j->f);
    j->f = NULL;
    if (!__atomic_load_n(&j->abort, __ATOMIC_ACQUIRE)) worker_kick_producers(j->w);
    job_unref(j);
    pthread_mutex_lock(&jobs_lock);
    jobs_running--;
    pthread_cond_broadcast(&jobs_cond);
    pthread_mutex_unlock(&jobs_lock);
    return NULL;
}

static int sync_fill(client *c, void *ctx) {
    sync_job *j = ctx;
    int st = __atomic_load_n(&j->state, __ATOMIC_ACQUIRE);
    if (st == 0) return 0; /* still writing: kicked when done */
    if (st < 0) {
        /* The `$` header is not out yet: nothing sane can follow. */
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return 1;
    }
    if (!j->header_sent) {
        char hdr[64];
        int n = j->eof_form ? snprintf(hdr, sizeof(hdr), "$EOF:%s\r\n", j->mark)
                            : snprintf(hdr, sizeof(hdr), "$%" PRIu64 "\r\n", j->size);
        addReplyProto(c, hdr, (size_t)n);
        j->header_sent = 1;
        if (j->size == 0 && j->eof_form) addReplyProto(c, j->mark, 40);
        return j->size == 0;
    }
    char buf[SYNC_CHUNK];
    size_t want = j->size - j->off < SYNC_CHUNK ? (size_t)(j->size - j->off) : SYNC_CHUNK;
    if (want == 0) return 1;
    ssize_t n = pread(j->fd, buf, want, (off_t)j->off);
    if (n <= 0) {
        serverLog(LL_WARNING, "SYNC: reading the payload file failed: %s; closing the client",
                  n < 0 ? strerror(errno) : "short file");
        client_close(c);
        return 1;
    }
    addReplyProto(c, buf, (size_t)n);
    j->off += (uint64_t)n;
    if (j->off == j->size && j->eof_form) addReplyProto(c, j->mark, 40);
    return j->off == j->size;
}

sync_job *sync_job_new(client *c, int psync) {
    char path[64];
    static unsigned seq;
    snprintf(path, sizeof(path), "temp-sync-%d-%u.rdb", (int)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    FILE *f = fopen(path, "w+");
    if (!f) {
        serverLog(LL_WARNING, "SYNC: cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    unlink(path);
    sync_job *j = calloc(1, sizeof(*j));
    if (!j) {
        fclose(f);
        return NULL;
    }
    j->refs = 2;
    j->fd = -1;
    j->f = f;
    j->psync = psync;
    j->w = c->owner;
    return j;
}

ks_view *sync_job_view(sync_job *j) { return &j->view; }

int sync_job_start(sync_job *j, uint64_t offset, const char *replid, int eof_form) {
    j->offset = offset;
    snprintf(j->replid, sizeof(j->replid), "%s", replid);
    j->eof_form = eof_form;
    if (eof_form) {
        static const char hex[] = "0123456789abcdef";
        unsigned char raw[20];
        lt_random_bytes(raw, sizeof(raw));
        for (int i = 0; i < 20; i++) {
            j->mark[2 * i] = hex[raw[i] >> 4];
            j->mark[2 * i + 1] = hex[raw[i] & 15];
        }
        j->mark[40] = '\0';
    }
    j->view.sequential = 1;
    pthread_mutex_lock(&jobs_lock);
    jobs_running++;
    pthread_mutex_unlock(&jobs_lock);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&th, &at, sync_writer, j);
    pthread_attr_destroy(&at);
    if (err) {
        ks_view_close(&j->view);
        pthread_mutex_lock(&jobs_lock);
        jobs_running--;
        pthread_mutex_unlock(&jobs_lock);
        j->refs = 1;
        job_unref(j);
        serverLog(LL_WARNING, "SYNC: cannot start the payload writer: %s", strerror(err));
        return -1;
    }
    return 0;
}

int sync_job_fill(client *c, sync_job *j) { return sync_fill(c, j); }

int sync_job_failed(sync_job *j) { return __atomic_load_n(&j->state, __ATOMIC_ACQUIRE) < 0; }

void sync_job_release(sync_job *j) { job_client_release(j); }

void sync_shutdown(void) {
    pthread_mutex_lock(&jobs_lock);
    __atomic_store_n(&jobs_shutdown, 1, __ATOMIC_RELEASE);
    while (jobs_running > 0) pthread_cond_wait(&jobs_cond, &jobs_lock);
    pthread_mutex_unlock(&jobs_lock);
}

command sync_commands[] = {
    {.name = "sync", .proc = repl_sync_command, .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .summary = "Internal command used for replication"},
    {.name = "psync", .proc = repl_psync_command, .arity = -3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "2.8.0",
     .summary = "Internal command used for replication"},
    {0},
};
