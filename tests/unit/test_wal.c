/* Unit tests of src/engine/wal: append / reopen / replay, segment
 * rotation, torn tails cut at every byte of the last record, bit flips
 * reported with file and offset, zero-filled tails, garbage headers, and
 * the bounded buffer making appenders wait for a stalled writer. */
#include "../testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/wal.h"

static char tmpdir[256];

static void make_dir(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt-test-wal-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
}

static void remove_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) { /* best effort */ }
}

static wal *open_wal(uint64_t segsize, size_t bufsize, int policy, wal_record_fn *fn,
                     void *ctx, wal_scan_result *res) {
    wal_config cfg = {.dir = tmpdir, .segment_bytes = segsize, .buffer_bytes = bufsize,
                      .load_truncated = 1,
                      .fsync_policy = policy};
    wal *w = NULL;
    int rc = wal_open(&cfg, fn, ctx, res, &w);
    if (rc != LT_OK) printf("# wal_open: %s (%s)\n", lt_strerror(rc), strerror(res->sys_errno));
    return w;
}

static uint64_t append_str(wal *w, const char *s, uint64_t ts) {
    struct iovec iov = {(void *)s, strlen(s)};
    uint64_t end = 0;
    if (wal_append(w, ts, 1000 + (int64_t)ts, WAL_REC_COMMANDS, &iov, 1, &end) != LT_OK) abort();
    return end;
}

typedef struct collected {
    int n;
    char *payload[4096];
    uint64_t ts[4096];
} collected;

static int collect(void *ctx, const wal_record *r) {
    collected *c = ctx;
    if (c->n < 4096) {
        c->payload[c->n] = strndup(r->payload, r->len);
        c->ts[c->n] = r->commit_ts;
        c->n++;
    }
    return 0;
}

static void collected_free(collected *c) {
    for (int i = 0; i < c->n; i++) free(c->payload[i]);
    c->n = 0;
}

static int count_files(const char *suffix) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) n++;
    }
    if (d) closedir(d);
    return n;
}

/* Path of the last segment (highest name). */
static void last_segment(char *out, size_t outlen) {
    DIR *d = opendir(tmpdir);
    char best[256] = "";
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".log") == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    if (d) closedir(d);
    snprintf(out, outlen, "%s/%s", tmpdir, best);
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

TEST(append_reopen_replay) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(0, 0, WAL_FSYNC_ALWAYS, NULL, NULL, &res);
    REQUIRE(w);
    CHECK_EQ_INT(res.end_lsn, 0);
    uint64_t end = 0;
    char buf[64];
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "record-%d", i);
        end = append_str(w, buf, (uint64_t)i + 1);
    }
    wal_request_write(w, end);
    wal_close(w);

    collected c = {0};
    w = open_wal(0, 0, WAL_FSYNC_ALWAYS, collect, &c, &res);
    REQUIRE(w);
    CHECK(!res.problem.found);
    CHECK_EQ_INT(res.records, 100);
    CHECK_EQ_INT(res.end_lsn, end);
    CHECK_EQ_INT(c.n, 100);
    CHECK_EQ_STR(c.payload[0], "record-0");
    CHECK_EQ_STR(c.payload[99], "record-99");
    CHECK_EQ_INT(c.ts[99], 100);
    /* Appends continue after the last record. */
    uint64_t end2 = append_str(w, "after", 101);
    CHECK_EQ_INT(end2, end + WAL_HEADER_SIZE + 5);
    wal_request_write(w, end2);
    wal_close(w);
    collected_free(&c);

    /* replay_from skips earlier records but still verifies them. */
    wal_config cfg = {.dir = tmpdir, .replay_from = end};
    REQUIRE(wal_open(&cfg, collect, &c, &res, &w) == LT_OK);
    CHECK_EQ_INT(c.n, 1);
    if (c.n) CHECK_EQ_STR(c.payload[0], "after");
    CHECK_EQ_INT(res.records, 101);
    wal_close(w);
    collected_free(&c);
    remove_dir();
}

TEST(durable_lsn_and_policies) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(0, 0, WAL_FSYNC_ALWAYS, NULL, NULL, &res);
    REQUIRE(w);
    uint64_t end = append_str(w, "x", 1);
    CHECK_EQ_INT(wal_appended_lsn(w), end);
    wal_request_write(w, end);
    for (int i = 0; i < 5000 && wal_durable_lsn(w) < end; i++) usleep(1000);
    CHECK_EQ_INT(wal_durable_lsn(w), end);
    wal_stats st;
    wal_get_stats(w, &st);
    CHECK(st.fsyncs >= 1);
    /* Under `no` a request writes but never fsyncs. */
    wal_set_fsync_policy(w, WAL_FSYNC_NO);
    uint64_t end2 = append_str(w, "y", 2);
    wal_request_write(w, end2);
    for (int i = 0; i < 5000 && wal_written_lsn(w) < end2; i++) usleep(1000);
    CHECK_EQ_INT(wal_written_lsn(w), end2);
    CHECK_EQ_INT(wal_durable_lsn(w), end);
    wal_close(w);
    remove_dir();
}

TEST(rotation) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(4096, 8192, WAL_FSYNC_EVERYSEC, NULL, NULL, &res);
    REQUIRE(w);
    char val[300];
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    uint64_t end = 0;
    for (int i = 0; i < 200; i++) end = append_str(w, val, (uint64_t)i + 1);
    /* One record larger than both the segment and the buffer. */
    size_t big = 20000;
    char *bigv = malloc(big + 1);
    memset(bigv, 'b', big);
    bigv[big] = '\0';
    end = append_str(w, bigv, 201);
    end = append_str(w, "tail", 202);
    wal_request_write(w, end);
    wal_close(w);
    int segs = count_files(".log");
    CHECK(segs >= 15);

    collected c = {0};
    w = open_wal(4096, 8192, WAL_FSYNC_EVERYSEC, collect, &c, &res);
    REQUIRE(w);
    CHECK(!res.problem.found);
    CHECK_EQ_INT(res.segments, segs);
    CHECK_EQ_INT(c.n, 202);
    CHECK_EQ_INT(res.end_lsn, end);
    if (c.n == 202) {
        CHECK_EQ_INT(strlen(c.payload[200]), big);
        CHECK_EQ_STR(c.payload[201], "tail");
    }
    wal_close(w);
    collected_free(&c);
    free(bigv);
    remove_dir();
}

/* Writes n records, closes; returns the LSN where the last one starts. */
static uint64_t write_records(int n, uint64_t *end_out) {
    wal_scan_result res;
    wal *w = open_wal(0, 0, WAL_FSYNC_NO, NULL, NULL, &res);
    if (!w) abort();
    uint64_t end = 0, last_start = 0;
    char buf[64];
    for (int i = 0; i < n; i++) {
        last_start = end;
        snprintf(buf, sizeof(buf), "payload number %d", i);
        end = append_str(w, buf, (uint64_t)i + 1);
    }
    wal_request_write(w, end);
    wal_close(w);
    *end_out = end;
    return last_start;
}

TEST(torn_tail_every_offset) {
    make_dir();
    uint64_t end;
    uint64_t last = write_records(5, &end);
    char seg[512];
    last_segment(seg, sizeof(seg));
    char *orig = malloc(end);
    int fd = open(seg, O_RDONLY);
    REQUIRE(fd >= 0 && read(fd, orig, end) == (ssize_t)end);
    close(fd);
    for (uint64_t cut = last; cut < end; cut++) {
        fd = open(seg, O_WRONLY | O_TRUNC);
        REQUIRE(fd >= 0 && write(fd, orig, cut) == (ssize_t)cut);
        close(fd);
        wal_scan_result res;
        collected c = {0};
        wal *w = open_wal(0, 0, WAL_FSYNC_NO, collect, &c, &res);
        REQUIRE(w);
        CHECK_EQ_INT(c.n, 4);
        CHECK_EQ_INT(res.end_lsn, last);
        if (cut > last) {
            CHECK(res.problem.found);
            CHECK_EQ_INT(res.problem.offset, last);
            CHECK(strstr(res.problem.why, "torn") != NULL);
            CHECK_EQ_STR(res.problem.file, seg);
        }
        CHECK_EQ_INT(file_size(seg), (off_t)last);
        /* Appends continue exactly at the cut. */
        uint64_t e2 = append_str(w, "again", 9);
        CHECK_EQ_INT(e2, last + WAL_HEADER_SIZE + 5);
        wal_request_write(w, e2);
        wal_close(w);
        collected_free(&c);
        w = open_wal(0, 0, WAL_FSYNC_NO, collect, &c, &res);
        REQUIRE(w);
        CHECK(!res.problem.found);
        CHECK_EQ_INT(c.n, 5);
        if (c.n == 5) CHECK_EQ_STR(c.payload[4], "again");
        wal_close(w);
        collected_free(&c);
    }
    free(orig);
    remove_dir();
}

/* aof-load-truncated no: even a torn tail stops wal_open, untouched. */
TEST(torn_tail_refused_when_not_allowed) {
    make_dir();
    uint64_t end;
    uint64_t last = write_records(3, &end);
    char seg[512];
    last_segment(seg, sizeof(seg));
    REQUIRE(truncate(seg, (off_t)(end - 2)) == 0);
    wal_config cfg = {.dir = tmpdir, .load_truncated = 0};
    wal_scan_result res;
    wal *w = NULL;
    CHECK_EQ_INT(wal_open(&cfg, NULL, NULL, &res, &w), LT_INVAL);
    CHECK(w == NULL);
    CHECK(res.problem.found && res.problem.tail);
    CHECK_EQ_INT(res.problem.offset, last);
    CHECK_EQ_INT(file_size(seg), (off_t)(end - 2));
    char path[600];
    uint64_t off = 0;
    CHECK_EQ_INT(wal_locate(tmpdir, last, path, sizeof(path), &off), LT_OK);
    CHECK_EQ_STR(path, seg);
    CHECK_EQ_INT(off, last);
    cfg.load_truncated = 1;
    REQUIRE(wal_open(&cfg, NULL, NULL, &res, &w) == LT_OK);
    CHECK_EQ_INT(res.end_lsn, last);
    CHECK_EQ_INT(file_size(seg), (off_t)last);
    wal_close(w);
    remove_dir();
}

TEST(bit_flips_detected) {
    make_dir();
    uint64_t end;
    write_records(3, &end);
    char seg[512];
    last_segment(seg, sizeof(seg));
    unsigned char *orig = malloc(end);
    int fd = open(seg, O_RDONLY);
    REQUIRE(fd >= 0 && read(fd, orig, end) == (ssize_t)end);
    close(fd);
    uint64_t rec_len = end / 3; /* all three payloads have the same size */
    for (uint64_t pos = 0; pos < end; pos++) {
        for (int bit = 0; bit < 8; bit += 3) {
            unsigned char *b = malloc(end);
            memcpy(b, orig, end);
            b[pos] ^= (unsigned char)(1u << bit);
            fd = open(seg, O_WRONLY | O_TRUNC);
            REQUIRE(fd >= 0 && write(fd, b, end) == (ssize_t)end);
            close(fd);
            free(b);
            wal_scan_result res;
            REQUIRE(wal_scan(tmpdir, 0, NULL, NULL, &res) == LT_OK);
            uint64_t rec_start = pos / rec_len * rec_len;
            if (!res.problem.found || res.problem.offset != rec_start) {
                testlib_fail(__FILE__, __LINE__, "flip at %" PRIu64 " bit %d: found=%d offset=%"
                             PRIu64, pos, bit, res.problem.found, res.problem.offset);
                free(orig);
                return;
            }
            CHECK_EQ_STR(res.problem.file, seg);
            CHECK_EQ_INT(res.records, rec_start / rec_len);
            /* Only damage to the last record can be a torn tail (a bad
             * magic there is not: it cannot say where it ends). A length
             * field made to point past the end of the file looks torn
             * wherever it is, as a truncated command does to Redis. */
            int in_len = pos >= rec_start + 32 && pos < rec_start + 36;
            if (rec_start + rec_len < end && !in_len) CHECK(!res.problem.tail);
            if (rec_start + rec_len == end && pos >= rec_start + 4 && !in_len)
                CHECK(res.problem.tail);
        }
    }
    /* lightning-check --fix's path: repair truncates at the bad record. */
    unsigned char *b = malloc(end);
    memcpy(b, orig, end);
    b[rec_len + 45] ^= 1;
    fd = open(seg, O_WRONLY | O_TRUNC);
    REQUIRE(fd >= 0 && write(fd, b, end) == (ssize_t)end);
    close(fd);
    free(b);
    wal_scan_result res;
    REQUIRE(wal_scan(tmpdir, 0, NULL, NULL, &res) == LT_OK);
    CHECK(strstr(res.problem.why, "checksum") != NULL);
    CHECK(wal_repair(tmpdir, &res) == LT_OK);
    CHECK_EQ_INT(file_size(seg), (off_t)rec_len);
    REQUIRE(wal_scan(tmpdir, 0, NULL, NULL, &res) == LT_OK);
    CHECK(!res.problem.found);
    CHECK_EQ_INT(res.records, 1);
    free(orig);
    remove_dir();
}

TEST(zero_filled_tail_and_later_segments) {
    make_dir();
    uint64_t end;
    write_records(3, &end);
    char seg[512];
    last_segment(seg, sizeof(seg));
    /* As after a crash on a file system that extended the file first. */
    {
        int fd = open(seg, O_WRONLY);
        REQUIRE(fd >= 0);
        char zeros[1000] = {0};
        REQUIRE(pwrite(fd, zeros, sizeof(zeros), (off_t)end) == (ssize_t)sizeof(zeros));
        close(fd);
    }
    /* And a later segment that can no longer follow on. */
    char later[600];
    snprintf(later, sizeof(later), "%s/%020" PRIu64 ".log", tmpdir, end + 1000);
    int fd = open(later, O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    close(fd);
    wal_scan_result res;
    REQUIRE(wal_scan(tmpdir, 0, NULL, NULL, &res) == LT_OK);
    CHECK(res.problem.found);
    CHECK_EQ_INT(res.problem.offset, end);
    CHECK_EQ_STR(res.problem.why, "zero-filled tail");
    CHECK_EQ_INT(res.problem.later_segments, 1);
    CHECK(!res.problem.tail); /* a segment follows: not a tail */
    /* Strict: wal_open refuses and changes nothing; the repair (what
     * lightning-check --fix runs) cuts it, then the log opens. */
    collected c = {0};
    wal *w = open_wal(0, 0, WAL_FSYNC_NO, collect, &c, &res);
    CHECK(w == NULL);
    CHECK(res.problem.found);
    CHECK_EQ_INT(count_files(".broken"), 0);
    collected_free(&c);
    REQUIRE(wal_scan(tmpdir, 0, NULL, NULL, &res) == LT_OK);
    REQUIRE(wal_repair(tmpdir, &res) == LT_OK);
    w = open_wal(0, 0, WAL_FSYNC_NO, collect, &c, &res);
    REQUIRE(w);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_INT(file_size(seg), (off_t)end);
    CHECK_EQ_INT(count_files(".broken"), 1);
    wal_close(w);
    collected_free(&c);
    remove_dir();
}

TEST(garbage_headers_never_crash) {
    unsigned char buf[256];
    srand(7);
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rand();
        if (iter & 1 && len >= 4) { buf[0] = 'L'; buf[1] = 'W'; buf[2] = 'L'; buf[3] = '1'; }
        wal_record r;
        size_t need = 0;
        const char *why;
        int v = wal_record_check(buf, len, 0, &r, &need, &why);
        CHECK(v == -1 || v == 0);
        if (v == 0) CHECK(need > len);
        if (v == -1) CHECK(why != NULL);
    }
}

typedef struct appender_arg {
    wal *w;
    int n;
    int done;
} appender_arg;

static void *appender(void *p) {
    appender_arg *a = p;
    char val[1000];
    memset(val, 'a', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    for (int i = 0; i < a->n; i++) append_str(a->w, val, (uint64_t)i + 1);
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

TEST(bounded_buffer_backpressure) {
    make_dir();
    wal_scan_result res;
    /* 8 KiB buffers; the writer is stalled by an injected write error. */
    wal *w = open_wal(0, 8192, WAL_FSYNC_ALWAYS, NULL, NULL, &res);
    REQUIRE(w);
    wal_set_fault(w, WAL_FAULT_WRITE);
    appender_arg a = {w, 100, 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, appender, &a) == 0);
    /* The appender fills both buffers and the error-state overflow (one
     * more buffer: about 24 records in all) and must wait. */
    wal_stats st;
    for (int i = 0; i < 200; i++) {
        wal_get_stats(w, &st);
        if (st.write_errors > 0 && st.records >= 8) break;
        usleep(5000);
    }
    usleep(50000);
    wal_get_stats(w, &st);
    CHECK(!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE));
    CHECK(st.records < 30);
    CHECK_EQ_INT(wal_error(w), ENOSPC);
    /* The disk recovers: the writer retries, the appender completes. */
    wal_set_fault(w, WAL_FAULT_NONE);
    pthread_join(t, NULL);
    uint64_t end = wal_appended_lsn(w);
    wal_request_write(w, end);
    for (int i = 0; i < 5000 && wal_durable_lsn(w) < end; i++) usleep(1000);
    CHECK_EQ_INT(wal_durable_lsn(w), end);
    CHECK_EQ_INT(wal_error(w), 0);
    wal_close(w);
    collected c = {0};
    w = open_wal(0, 8192, WAL_FSYNC_ALWAYS, collect, &c, &res);
    REQUIRE(w);
    CHECK_EQ_INT(c.n, 100);
    CHECK(!res.problem.found);
    wal_close(w);
    collected_free(&c);
    remove_dir();
}

TEST(fsync_fault_holds_durable) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(0, 0, WAL_FSYNC_ALWAYS, NULL, NULL, &res);
    REQUIRE(w);
    uint64_t e1 = append_str(w, "one", 1);
    wal_request_write(w, e1);
    for (int i = 0; i < 5000 && wal_durable_lsn(w) < e1; i++) usleep(1000);
    wal_set_fault(w, WAL_FAULT_FSYNC);
    uint64_t e2 = append_str(w, "two", 2);
    wal_request_write(w, e2);
    for (int i = 0; i < 5000 && wal_error(w) == 0; i++) usleep(1000);
    CHECK_EQ_INT(wal_error(w), ENOSPC);
    CHECK_EQ_INT(wal_durable_lsn(w), e1);
    wal_set_fault(w, WAL_FAULT_NONE);
    for (int i = 0; i < 5000 && wal_durable_lsn(w) < e2; i++) usleep(1000);
    CHECK_EQ_INT(wal_durable_lsn(w), e2);
    CHECK_EQ_INT(wal_error(w), 0);
    wal_close(w);
    remove_dir();
}

/* A failed fsync may lose what write(2) accepted (the injected fault cuts
 * the file back to the durable LSN, as a kernel dropping the dirty pages
 * would): once the disk recovers the WAL rewrites those bytes from memory
 * before it reports them durable, so every record comes back on reopen —
 * also when they span rotated segments and under everysec. */
TEST(fsync_fault_rewrites_lost_bytes) {
    int policies[] = {WAL_FSYNC_ALWAYS, WAL_FSYNC_EVERYSEC};
    for (int p = 0; p < 2; p++) {
        make_dir();
        wal_scan_result res;
        wal *w = open_wal(4096, 0, policies[p], NULL, NULL, &res);
        REQUIRE(w);
        uint64_t e1 = append_str(w, "first", 1);
        REQUIRE(wal_sync(w, e1) == LT_OK);
        wal_set_fault(w, WAL_FAULT_FSYNC);
        char val[300];
        memset(val, 'v', sizeof(val) - 1);
        val[sizeof(val) - 1] = '\0';
        uint64_t end = 0;
        for (int i = 0; i < 40; i++) { /* ~13 KiB: several 4 KiB segments */
            end = append_str(w, val, (uint64_t)i + 2);
            wal_write(w, end); /* fails once an fsync failed */
        }
        wal_request_write(w, end);
        REQUIRE(wal_sync(w, end) == LT_IOERR); /* the fsync fails */
        CHECK_EQ_INT(wal_error(w), ENOSPC);
        CHECK(wal_durable_lsn(w) < end);
        wal_set_fault(w, WAL_FAULT_NONE);
        for (int i = 0; i < 5000 && wal_durable_lsn(w) < end; i++) usleep(1000);
        CHECK_EQ_INT(wal_durable_lsn(w), end);
        wal_stats st;
        wal_get_stats(w, &st);
        CHECK(st.rewinds >= 1);
        CHECK_EQ_INT(wal_close(w), LT_OK);
        collected c = {0};
        w = open_wal(4096, 0, policies[p], collect, &c, &res);
        REQUIRE(w);
        CHECK_EQ_INT(c.n, 41);
        CHECK(!res.problem.found);
        CHECK_EQ_INT(res.end_lsn, end);
        wal_close(w);
        collected_free(&c);
        remove_dir();
    }
}

/* wal_write: the caller's own write(2), segment rotation included; the
 * writer thread still fsyncs every rotated-away segment (and closes it),
 * and under everysec brings the durable LSN up to date by itself. */
TEST(caller_writes_and_rotates) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(4096, 8192, WAL_FSYNC_NO, NULL, NULL, &res);
    REQUIRE(w);
    char val[300];
    memset(val, 'w', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    uint64_t end = 0;
    for (int i = 0; i < 100; i++) {
        end = append_str(w, val, (uint64_t)i + 1);
        /* Written when wal_write returns: no waiting on another thread. */
        CHECK_EQ_INT(wal_write(w, end), LT_OK);
        CHECK_EQ_INT(wal_written_lsn(w), end);
    }
    CHECK(count_files(".log") >= 8);
    CHECK_EQ_INT(wal_durable_lsn(w), 0); /* `no` never fsyncs the current one */
    /* Under everysec the writer catches up within about a second. */
    wal_set_fsync_policy(w, WAL_FSYNC_EVERYSEC);
    end = append_str(w, "last", 101);
    CHECK_EQ_INT(wal_write(w, end), LT_OK);
    for (int i = 0; i < 5000 && wal_durable_lsn(w) < end; i++) usleep(1000);
    CHECK_EQ_INT(wal_durable_lsn(w), end);
    /* A write error: LT_IOERR, the bytes stay in memory, the writer
     * retries once the fault clears. */
    wal_set_fault(w, WAL_FAULT_WRITE);
    uint64_t e2 = append_str(w, "after fault", 102);
    CHECK_EQ_INT(wal_write(w, e2), LT_IOERR);
    CHECK_EQ_INT(wal_error(w), ENOSPC);
    CHECK_EQ_INT(wal_write(w, e2), LT_IOERR); /* in the error state: no retry here */
    wal_set_fault(w, WAL_FAULT_NONE);
    for (int i = 0; i < 5000 && wal_written_lsn(w) < e2; i++) usleep(1000);
    CHECK_EQ_INT(wal_written_lsn(w), e2);
    CHECK_EQ_INT(wal_error(w), 0);
    wal_close(w);

    collected c = {0};
    w = open_wal(4096, 8192, WAL_FSYNC_NO, collect, &c, &res);
    REQUIRE(w);
    CHECK(!res.problem.found);
    CHECK_EQ_INT(c.n, 102);
    CHECK_EQ_INT(res.end_lsn, e2);
    if (c.n == 102) CHECK_EQ_STR(c.payload[101], "after fault");
    wal_close(w);
    collected_free(&c);
    remove_dir();
}

/* A disk that keeps failing cannot hold up shutdown: wal_close retries for
 * a few seconds, then gives up and says so. */
TEST(close_gives_up_on_a_failing_disk) {
    make_dir();
    wal_scan_result res;
    wal *w = open_wal(0, 0, WAL_FSYNC_EVERYSEC, NULL, NULL, &res);
    REQUIRE(w);
    uint64_t e1 = append_str(w, "kept", 1);
    CHECK_EQ_INT(wal_sync(w, e1), LT_OK);
    wal_set_fault(w, WAL_FAULT_WRITE);
    uint64_t e2 = append_str(w, "lost", 2);
    CHECK_EQ_INT(wal_write(w, e2), LT_IOERR);
    errno = 0;
    CHECK_EQ_INT(wal_close(w), LT_IOERR); /* returns: the test would hang otherwise */
    CHECK_EQ_INT(errno, ENOSPC);
    collected c = {0};
    w = open_wal(0, 0, WAL_FSYNC_NO, collect, &c, &res);
    REQUIRE(w);
    CHECK_EQ_INT(c.n, 1);
    CHECK_EQ_INT(res.end_lsn, e1);
    CHECK_EQ_INT(wal_close(w), LT_OK);
    collected_free(&c);
    remove_dir();
}

int main(void) {
    RUN(append_reopen_replay);
    RUN(durable_lsn_and_policies);
    RUN(rotation);
    RUN(torn_tail_every_offset);
    RUN(torn_tail_refused_when_not_allowed);
    RUN(bit_flips_detected);
    RUN(zero_filled_tail_and_later_segments);
    RUN(garbage_headers_never_crash);
    RUN(bounded_buffer_backpressure);
    RUN(fsync_fault_holds_durable);
    RUN(fsync_fault_rewrites_lost_bytes);
    RUN(caller_writes_and_rotates);
    RUN(close_gives_up_on_a_failing_disk);
    return testlib_finish();
}
