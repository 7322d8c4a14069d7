/* Concurrency of src/engine/wal (also run under ThreadSanitizer by
 * `make test-tsan`): several threads append and write their own records
 * with wal_write while the writer thread fsyncs under everysec and
 * segments rotate every few records. Nothing is lost, duplicated or
 * reordered within a thread, and every LSN a wal_write returned for is
 * written. */
#include "../testlib.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/wal.h"

#define THREADS 4
#define PER_THREAD 2000

static char tmpdir[256];
static wal *W;

static void *appender(void *arg) {
    int id = (int)(intptr_t)arg;
    char buf[128];
    for (int i = 0; i < PER_THREAD; i++) {
        int n = snprintf(buf, sizeof(buf), "%d:%d:%0*d", id, i, 40 + (i % 50), 0);
        struct iovec iov = {buf, (size_t)n};
        uint64_t end = 0;
        if (wal_append(W, (uint64_t)i + 1, 0, WAL_REC_COMMANDS, &iov, 1, &end) != LT_OK) abort();
        /* Every few records, write them from this thread, as a worker does
         * before sending its replies; otherwise leave them to the writer. */
        if (i % 3 == 0) {
            if (wal_write(W, end) != LT_OK) abort();
            if (wal_written_lsn(W) < end) abort();
        } else if (i % 3 == 1) {
            wal_request_write(W, end);
        }
    }
    return NULL;
}

typedef struct seen {
    int next[THREADS];
    int bad;
} seen;

static int check_record(void *ctx, const wal_record *r) {
    seen *s = ctx;
    int id = -1, i = -1;
    char copy[128];
    size_t n = r->len < sizeof(copy) - 1 ? r->len : sizeof(copy) - 1;
    memcpy(copy, r->payload, n);
    copy[n] = '\0';
    if (sscanf(copy, "%d:%d:", &id, &i) != 2 || id < 0 || id >= THREADS || i != s->next[id])
        s->bad++;
    else
        s->next[id]++;
    return 0;
}

TEST(threads_write_while_writer_syncs) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt-test-walc-XXXXXX");
    REQUIRE(mkdtemp(tmpdir));
    wal_config cfg = {.dir = tmpdir, .segment_bytes = 8192, .buffer_bytes = 16384,
                      .fsync_policy = WAL_FSYNC_EVERYSEC};
    wal_scan_result res;
    REQUIRE(wal_open(&cfg, NULL, NULL, &res, &W) == LT_OK);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, appender, (void *)(intptr_t)i) == 0);
    /* Snapshots ask for an fsync whatever the policy, meanwhile. */
    for (int k = 0; k < 20; k++) {
        CHECK_EQ_INT(wal_sync(W, wal_appended_lsn(W)), LT_OK);
        usleep(2000);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    uint64_t end = wal_appended_lsn(W);
    CHECK_EQ_INT(wal_sync(W, end), LT_OK);
    CHECK_EQ_INT(wal_durable_lsn(W), end);
    wal_close(W);

    seen s = {{0}, 0};
    CHECK_EQ_INT(wal_scan(tmpdir, 0, check_record, &s, &res), LT_OK);
    CHECK(!res.problem.found);
    CHECK_EQ_INT(res.end_lsn, end);
    CHECK_EQ_INT(s.bad, 0);
    for (int i = 0; i < THREADS; i++) CHECK_EQ_INT(s.next[i], PER_THREAD);
    CHECK(res.segments > 50);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) { /* best effort */ }
}

int main(void) {
    RUN(threads_write_while_writer_syncs);
    return testlib_finish();
}
