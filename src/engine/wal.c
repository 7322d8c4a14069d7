/*
 * wal.c — write-ahead log: on-disk format, recovery scan, append buffer and
 * the writer thread (API and threading in wal.h).
 *
 * ON-DISK FORMAT (version 1)
 *
 *   <dir>/NNNNNNNNNNNNNNNNNNNN.log   segment files; the name is the
 *                                    20-digit decimal LSN of the segment's
 *                                    first byte. Segments are contiguous:
 *                                    segment k+1 starts at the end LSN of
 *                                    the last record of segment k.
 *   A segment is a sequence of records with no file header and no padding.
 *   A record never spans two segments; the writer starts a new segment
 *   when the current one is non-empty and the next record would make it
 *   larger than wal-segment-size (a single record may exceed that size).
 *
 *   Record (all integers little-endian):
 *     off size field
 *       0   4  magic       0x314C574C (bytes "LWL1")
 *       4   4  crc         CRC32C (common/crc32c.h) of the payload followed
 *                          by header bytes 8..39, i.e.
 *                          crc32c(crc32c(0, payload, len), hdr + 8, 32)
 *       8   8  lsn         LSN of this record (its position in the log)
 *      16   8  commit_ts   engine commit timestamp
 *      24   8  time_ms     wall clock (Unix ms) at commit, signed
 *      32   4  len         payload length, <= 0x7fffffff
 *      36   2  type        1 or 2 = RESP commands (the server's format;
 *                          wal.h says how they differ)
 *      38   2  reserved    0
 *      40 len  payload
 *
 *   VALIDITY (wal_record_check, used by recovery and lightning-check): a
 *   record at LSN L is valid iff magic matches, reserved == 0, type is
 *   known, len <= 0x7fffffff, lsn == L, all 40 + len bytes are present in
 *   the file, and crc matches. The log is the longest prefix of valid
 *   records: recovery stops at the first invalid one, reports the file,
 *   the offset and why, truncates the file there, and renames any later
 *   segment to <name>.broken. Appends continue at the truncation point.
 *
 *   Durability: a new segment is created (O_EXCL), and its directory is
 *   fsynced before any LSN in it is reported durable. The durable LSN is
 *   published only after fsync of the segment holding it (and of every
 *   earlier segment: the writer fsyncs a segment before leaving it).
 *
 * BUFFERS: two buffers of buffer_bytes — `active` takes appends under
 * `lock`, `flushing` belongs to the writer while it writes. A record larger
 * than buffer_bytes waits until `active` is empty, which then grows to fit
 * it, and the writer shrinks it back after writing: memory stays bounded by
 * 2 x max(buffer_bytes, largest record).
 */
#include "engine/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/promhist.h"

#define WAL_MAGIC 0x314C574Cu
#define READ_CHUNK (1u << 20)
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define CLOSE_RETRY_MS 3000
#define KEEP_SOFT_MIN (64u << 20) /* keep: fsync once this much is unsynced */

_Static_assert(WAL_HEADER_SIZE == 40, "record header is 40 bytes");

/* ---- Little-endian helpers ------------------------------------------------ */
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

void wal_segment_name(uint64_t lsn, char *out) {
    snprintf(out, 25, "%020" PRIu64 ".log", lsn);
}

/* Parses a segment file name; 1 and *lsn on success. */
static int parse_segment_name(const char *name, uint64_t *lsn) {
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *lsn = v;
    return 1;
}

/* ---- Record check --------------------------------------------------------- */

int wal_record_check(const void *buf, size_t len, uint64_t expect_lsn,
                     wal_record *out, size_t *need, const char **why) {
    const unsigned char *p = buf;
    *why = NULL;
    if (len < WAL_HEADER_SIZE) {
        *need = WAL_HEADER_SIZE;
        return 0;
    }
    if (get32(p) != WAL_MAGIC) {
        *why = "bad magic";
        return -1;
    }
    uint32_t plen = get32(p + 32);
    uint16_t type = get16(p + 36);
    if (get16(p + 38) != 0 || (type != WAL_REC_COMMANDS && type != WAL_REC_COMMANDS_DB0)) {
        *why = "unknown record type";
        return -1;
    }
    if (plen > WAL_MAX_PAYLOAD) {
        *why = "payload length out of range";
        return -1;
    }
    if (get64(p + 8) != expect_lsn) {
        *why = "record LSN does not match its position";
        return -1;
    }
    size_t total = WAL_HEADER_SIZE + (size_t)plen;
    if (len < total) {
        *need = total;
        return 0;
    }
    uint32_t crc = crc32c(crc32c(0, p + WAL_HEADER_SIZE, plen), p + 8, WAL_HEADER_SIZE - 8);
    if (crc != get32(p + 4)) {
        *why = "checksum mismatch";
        return -1;
    }
    out->lsn = expect_lsn;
    out->end_lsn = expect_lsn + total;
    out->commit_ts = get64(p + 16);
    out->time_ms = (int64_t)get64(p + 24);
    out->type = type;
    out->payload = p + WAL_HEADER_SIZE;
    out->len = plen;
    return 1;
}

/* Builds a header for a payload whose crc32c (from 0) is pcrc. */
static void header_build(unsigned char *h, uint64_t lsn, uint64_t ts, int64_t time_ms,
                         uint32_t type, uint32_t len, uint32_t pcrc) {
    put32(h, WAL_MAGIC);
    put64(h + 8, lsn);
    put64(h + 16, ts);
    put64(h + 24, (uint64_t)time_ms);
    put32(h + 32, len);
    h[36] = (unsigned char)type;
    h[37] = (unsigned char)(type >> 8);
    h[38] = h[39] = 0;
    put32(h + 4, crc32c(pcrc, h + 8, WAL_HEADER_SIZE - 8));
}

/* ---- Scanning -------------------------------------------------------------- */

typedef struct seg_reader {
    int fd;
    uint64_t size;
    unsigned char *buf;
    size_t cap;
    uint64_t base; /* file offset of buf[0] */
    size_t len;
} seg_reader;

/* Bytes [off, off+n) of the file, or NULL if the file ends earlier (or a
 * read fails: *err). Reads at most max(n, READ_CHUNK) at a time. */
static const unsigned char *rd_get(seg_reader *r, uint64_t off, size_t n, int *err) {
    if (off >= r->base && off + n <= r->base + r->len) return r->buf + (off - r->base);
    if (off + n > r->size) return NULL;
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (want > r->size - off) want = (size_t)(r->size - off);
    if (want > r->cap) {
        unsigned char *nb = realloc(r->buf, want);
        if (!nb) {
            *err = ENOMEM;
            return NULL;
        }
        r->buf = nb;
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            *err = errno;
            return NULL;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    r->base = off;
    r->len = got;
    return got >= n ? r->buf : NULL;
}

static int all_zero(seg_reader *r, uint64_t off) {
    int err = 0;
    while (off < r->size) {
        size_t n = r->size - off > 4096 ? 4096 : (size_t)(r->size - off);
        const unsigned char *p = rd_get(r, off, n, &err);
        if (!p) return 0;
        for (size_t i = 0; i < n; i++)
            if (p[i]) return 0;
        off += n;
    }
    return 1;
}

static void set_problem(wal_scan_result *res, const char *path, uint64_t off, uint64_t lsn,
                        const char *fmt, const char *why) {
    res->problem.found = 1;
    snprintf(res->problem.file, sizeof(res->problem.file), "%s", path);
    res->problem.offset = off;
    res->problem.lsn = lsn;
    snprintf(res->problem.why, sizeof(res->problem.why), fmt, why);
}

/* Scans one segment starting at LSN start. Returns LT_OK (problem in res),
 * fn's value, or LT_IOERR. */
static int scan_segment(const char *path, uint64_t start, uint64_t from_lsn,
                        wal_record_fn *fn, void *ctx, wal_scan_result *res) {
    seg_reader r = {.fd = open(path, O_RDONLY | O_CLOEXEC)};
    if (r.fd < 0) {
        res->sys_errno = errno;
        return LT_IOERR;
    }
    struct stat st;
    if (fstat(r.fd, &st) < 0) {
        res->sys_errno = errno;
        close(r.fd);
        return LT_IOERR;
    }
    r.size = (uint64_t)st.st_size;
    res->segments++;
    snprintf(res->last_file, sizeof(res->last_file), "%s", path);
    uint64_t off = 0;
    int rc = LT_OK;
    while (off < r.size) {
        int err = 0;
        size_t hn = r.size - off < WAL_HEADER_SIZE ? (size_t)(r.size - off) : WAL_HEADER_SIZE;
        const unsigned char *p = rd_get(&r, off, hn, &err);
        if (!p) {
            res->sys_errno = err ? err : EIO;
            rc = LT_IOERR;
            break;
        }
        wal_record rec;
        size_t need = 0;
        const char *why;
        int v = wal_record_check(p, hn, start + off, &rec, &need, &why);
        if (v == 0 && need > WAL_HEADER_SIZE) {
            if (off + need > r.size) {
                set_problem(res, path, off, start + off, "%s",
                            "torn record: the file ends inside its payload");
                res->problem.tail = 1;
                break;
            }
            p = rd_get(&r, off, need, &err);
            if (!p) {
                res->sys_errno = err ? err : EIO;
                rc = LT_IOERR;
                break;
            }
            v = wal_record_check(p, need, start + off, &rec, &need, &why);
        }
        if (v == 0) {
            set_problem(res, path, off, start + off, "%s",
                        "torn record: the file ends inside its header");
            res->problem.tail = 1;
            break;
        }
        if (v < 0) {
            if (all_zero(&r, off)) {
                set_problem(res, path, off, start + off, "%s", "zero-filled tail");
                res->problem.tail = 1;
            } else {
                set_problem(res, path, off, start + off, "invalid record: %s", why);
                /* The last record of the file, cut short by a crash in the
                 * middle of its write: its header is whole and says it
                 * ends exactly at the end of the file. */
                res->problem.tail = hn == WAL_HEADER_SIZE && get32(p) == WAL_MAGIC &&
                                    off + WAL_HEADER_SIZE + get32(p + 32) == r.size;
            }
            break;
        }
        res->records++;
        res->bytes += rec.end_lsn - rec.lsn;
        res->end_lsn = rec.end_lsn;
        off += rec.end_lsn - rec.lsn;
        if (fn && rec.lsn >= from_lsn) {
            res->replayed++;
            rc = fn(ctx, &rec);
            if (rc) break;
        }
    }
    free(r.buf);
    close(r.fd);
    return rc;
}

typedef struct seg_list {
    uint64_t *lsn;
    int n;
} seg_list;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment start LSNs of dir, ascending. 0 or -errno (missing dir: empty). */
static int list_segments(const char *dir, seg_list *out) {
    out->lsn = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -errno;
    int cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t lsn;
        if (!parse_segment_name(de->d_name, &lsn)) continue;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *n = realloc(out->lsn, sizeof(*n) * (size_t)cap);
            if (!n) {
                closedir(d);
                return -ENOMEM;
            }
            out->lsn = n;
        }
        out->lsn[out->n++] = lsn;
    }
    closedir(d);
    if (out->n > 1) qsort(out->lsn, (size_t)out->n, sizeof(uint64_t), cmp_u64);
    return 0;
}

/* out must hold at least 26 bytes; a longer dir is cut (wal_open refuses
 * such dirs, so only tools could meet it). */
static void seg_path(char *out, size_t outlen, const char *dir, uint64_t lsn) {
    size_t dl = strnlen(dir, outlen - 26);
    memcpy(out, dir, dl);
    out[dl] = '/';
    wal_segment_name(lsn, out + dl + 1);
}

int wal_scan(const char *waldir, uint64_t from_lsn, wal_record_fn *fn, void *ctx,
             wal_scan_result *res) {
    memset(res, 0, sizeof(*res));
    seg_list sl;
    int e = list_segments(waldir, &sl);
    if (e < 0) {
        res->sys_errno = -e;
        return LT_IOERR;
    }
    int rc = LT_OK;
    if (sl.n) res->start_lsn = res->end_lsn = sl.lsn[0];
    for (int i = 0; i < sl.n; i++) {
        char path[PATH_MAX];
        seg_path(path, sizeof(path), waldir, sl.lsn[i]);
        if (sl.lsn[i] != res->end_lsn) {
            char why[160];
            snprintf(why, sizeof(why), "gap: segment starts at %" PRIu64 ", expected %" PRIu64,
                     sl.lsn[i], res->end_lsn);
            set_problem(res, path, 0, res->end_lsn, "%s", why);
            res->problem.later_segments = sl.n - i - 1;
            /* The gapped segment itself is dropped by the repair too. */
            res->problem.later_segments++;
            res->problem.offset = UINT64_MAX;
            break;
        }
        rc = scan_segment(path, sl.lsn[i], from_lsn, fn, ctx, res);
        if (rc != LT_OK) break;
        if (res->problem.found) {
            res->problem.later_segments = sl.n - i - 1;
            if (res->problem.later_segments) res->problem.tail = 0;
            break;
        }
    }
    free(sl.lsn);
    return rc;
}

int wal_scan_file(const char *path, wal_record_fn *fn, void *ctx, wal_scan_result *res) {
    memset(res, 0, sizeof(*res));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint64_t start;
    if (!parse_segment_name(base, &start)) {
        set_problem(res, path, 0, 0, "%s", "not a WAL segment name (NNNNNNNNNNNNNNNNNNNN.log)");
        return LT_OK;
    }
    res->start_lsn = res->end_lsn = start;
    return scan_segment(path, start, 0, fn, ctx, res);
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int wal_locate(const char *waldir, uint64_t lsn, char *path, size_t pathlen,
               uint64_t *offset) {
    seg_list sl;
    int e = list_segments(waldir, &sl);
    if (e < 0) {
        errno = -e;
        return LT_IOERR;
    }
    int found = -1;
    for (int i = 0; i < sl.n && sl.lsn[i] <= lsn; i++) found = i;
    if (found >= 0 && pathlen >= 26) {
        seg_path(path, pathlen, waldir, sl.lsn[found]);
        *offset = lsn - sl.lsn[found];
    }
    free(sl.lsn);
    return found >= 0 && pathlen >= 26 ? LT_OK : LT_NOTFOUND;
}

int wal_repair(const char *waldir, const wal_scan_result *res) {
    if (!res->problem.found) return LT_OK;
    const char *base = strrchr(res->problem.file, '/');
    uint64_t pstart;
    if (!parse_segment_name(base ? base + 1 : res->problem.file, &pstart)) return LT_INVAL;
    seg_list sl;
    if (list_segments(waldir, &sl) < 0) return LT_IOERR;
    int rc = LT_OK;
    for (int i = 0; i < sl.n && rc == LT_OK; i++) {
        if (sl.lsn[i] < pstart) continue;
        char path[PATH_MAX];
        seg_path(path, sizeof(path), waldir, sl.lsn[i]);
        if (sl.lsn[i] == pstart && res->problem.offset != UINT64_MAX) {
            /* The problem's own segment: keep what precedes the record. */
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)res->problem.offset) < 0 || fsync(fd) < 0)
                rc = LT_IOERR;
            if (fd >= 0) close(fd);
        } else {
            /* After the problem (or a segment that does not follow on). */
            char to[PATH_MAX + 8];
            snprintf(to, sizeof(to), "%s.broken", path);
            if (rename(path, to) < 0) rc = LT_IOERR;
        }
    }
    free(sl.lsn);
    if (rc == LT_OK && fsync_dir(waldir) < 0) rc = LT_IOERR;
    return rc;
}

/* ---- The log ---------------------------------------------------------------- */

/* Rotated-away segments waiting for the writer's fsync and close. */
#define MAX_RETIRED 8

typedef struct wal_buf {
    unsigned char *p;
    size_t len, cap;
    size_t done;    /* flushing: bytes already written */
    uint64_t lsn;   /* LSN of p[0] */
    uint64_t nrec;  /* records in it */
} wal_buf;

/*
 * Locks: `io_lock` is held by whichever thread writes — an I/O thread in
 * wal_write(), or the writer thread — and guards `flushing` and the file
 * state; `lock` guards everything shared with appenders. Order: io_lock,
 * then lock. Fields marked "both" change only with both held, so holding
 * either one is enough to read them. fsync runs with neither held, on fds
 * no other thread closes: retired segments (closed only by the writer once
 * synced) and the writer's own dup of the current one.
 */
struct wal {
    char dir[PATH_MAX];
    pthread_mutex_t lock;
    pthread_mutex_t io_lock;
    pthread_cond_t work_cond;  /* the writer waits here */
    pthread_cond_t space_cond; /* appenders wait here */
    pthread_mutex_t cb_lock;   /* held while on_durable runs */
    void (*on_durable)(void *ctx, uint64_t durable_lsn);
    void (*on_fsync)(void *ctx, uint64_t us); /* set at open, read-only after */
    void *cb_ctx;
    wal_tap_fn *tap;           /* under lock */
    void *tap_ctx;

    /* under lock */
    wal_buf active;
    size_t buf_bytes;
    size_t mem_bytes;     /* capacity of both buffers and `keep` (atomic: wal_buffer_bytes) */
    uint64_t appended, write_req, durable;
    uint64_t sync_req;    /* wal_sync: fsync up to here whatever the policy */
    int policy, fault, stop, waiters;
    int64_t give_up_ms;   /* closing while in error: last retry before this */
    int writer_idle;      /* the writer sleeps with no deadline */
    int err;              /* errno of the failing write/fsync, or 0; stored
                           * atomically (wal_error reads it without the lock) */
    int64_t retry_at_ms, backoff_ms;
    uint64_t segment_bytes;
    uint64_t unsynced_records;
    wal_stats stats;
    promhist fsync_hist; /* data fsyncs (do_fsync), any thread */
    /* Rotated-away segments not yet fsynced, oldest first: I/O threads
     * append, only the writer removes (from the front). */
    int retired[MAX_RETIRED];
    int nretired;
    int dir_dirty;        /* a segment was created since the dir's fsync */

    /* both */
    uint64_t written;     /* end of what write(2) accepted */
    int pending;          /* flushing holds bytes a failed write left */

    int rewind;           /* the file may not hold [durable, written): rewrite
                           * it from `keep` before anything else (writer) */
    size_t keep_soft;     /* written - durable past this: fsync now */
    int sync_failed;      /* the error is an fsync's: only a successful
                           * fsync (after the rewind) clears it */

    /* under io_lock */
    wal_buf flushing;
    wal_buf keep;         /* copy of [durable, written) (trimmed lazily to
                           * durable): what a failed fsync makes us rewrite */
    int fd;               /* current segment, -1 before the first write */
    uint64_t seg_start;   /* LSN of the current segment */
    uint64_t seg_len;     /* its valid length */

    /* writer thread only */
    int64_t last_fsync_ms;
    pthread_t thread;
};

static void abs_deadline(struct timespec *ts, int64_t at_ms) {
    /* work_cond uses CLOCK_MONOTONIC (see wal_open). */
    ts->tv_sec = at_ms / 1000;
    ts->tv_nsec = (at_ms % 1000) * 1000000;
}

static int64_t mono_ms(void) { return (int64_t)(lt_monotonic_us() / 1000); }

/* Syscall layer: -errno. Fault injection applies here. */
static int do_pwrite(wal *w, int fd, const void *p, size_t n, uint64_t off) {
    if (__atomic_load_n(&w->fault, __ATOMIC_RELAXED) == WAL_FAULT_WRITE) return -ENOSPC;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(fd, (const char *)p + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        done += (size_t)k;
    }
    return 0;
}

/* Upper bounds of the fsync latency histogram (wal_fsync_hist), µs. */
static const uint64_t fsync_bounds_us[] = {100,   250,    500,    1000,   2500,    5000,
                                           10000, 25000,  50000,  100000, 250000,  500000,
                                           1000000, 2500000, 5000000, 10000000};

static int do_fsync(wal *w, int fd) {
    int fault = __atomic_load_n(&w->fault, __ATOMIC_RELAXED);
    if (fault == WAL_FAULT_FSYNC) return -ENOSPC;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fault == WAL_FAULT_SLOW_FSYNC) {
        struct timespec d = {0, WAL_FAULT_SLOW_MS * 1000000L};
        nanosleep(&d, NULL);
    }
    int r = fdatasync(fd) < 0 ? -errno : 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
    if (r == 0) {
        uint64_t u = us > 0 ? (uint64_t)us : 0;
        promhist_record(&w->fsync_hist, u);
        if (w->on_fsync) w->on_fsync(w->cb_ctx, u);
    }
    return r;
}

void wal_fsync_hist(wal *w, promhist *out) { promhist_copy(out, &w->fsync_hist); }

/* Creates the segment starting at lsn (io_lock held). Its directory entry
 * is fsynced by the next sync, before any LSN in it is reported durable. */
static int segment_create(wal *w, uint64_t lsn) {
    char path[PATH_MAX];
    seg_path(path, sizeof(path), w->dir, lsn);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a failed earlier attempt at the same LSN: empty it. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    }
    if (fd < 0) return -errno;
    w->fd = fd;
    w->seg_start = lsn;
    w->seg_len = 0;
    pthread_mutex_lock(&w->lock);
    w->dir_dirty = 1;
    w->stats.segments_created++;
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* Leaves the full current segment for the writer to fsync and close
 * (io_lock held). 0 or -errno. */
static int segment_retire(wal *w) {
    pthread_mutex_lock(&w->lock);
    if (w->nretired < MAX_RETIRED) {
        w->retired[w->nretired++] = w->fd;
        pthread_cond_signal(&w->work_cond);
        pthread_mutex_unlock(&w->lock);
        w->fd = -1;
        return 0;
    }
    pthread_mutex_unlock(&w->lock);
    /* The writer is far behind (a very slow disk): sync this one here
     * rather than hold an unbounded number of files open. */
    int r = do_fsync(w, w->fd);
    if (r < 0) return r;
    close(w->fd);
    w->fd = -1;
    return 0;
}

/* Writes b[done..len) (flushing or keep), rotating segments at record boundaries
 * (io_lock held). 0 or -errno (done says how far it got; a retry continues
 * from there). */
static int write_buf(wal *w, wal_buf *b, uint64_t segment_bytes) {
    while (b->done < b->len) {
        uint64_t lsn = b->lsn + b->done;
        if (w->fd < 0) {
            int r = segment_create(w, lsn);
            if (r < 0) return r;
        }
        ASSERT(w->seg_start + w->seg_len == lsn);
        /* Take whole records while they fit in the segment (at least one). */
        size_t run = 0;
        while (b->done + run < b->len) {
            const unsigned char *h = b->p + b->done + run;
            size_t rl = WAL_HEADER_SIZE + get32(h + 32);
            ASSERT(get32(h) == WAL_MAGIC && b->done + run + rl <= b->len);
            if ((w->seg_len + run > 0) && w->seg_len + run + rl > segment_bytes) break;
            run += rl;
        }
        if (run == 0) {
            int r = segment_retire(w);
            if (r < 0) return r;
            continue;
        }
        int r = do_pwrite(w, w->fd, b->p + b->done, run, w->seg_len);
        if (r < 0) {
            /* Drop any partial bytes so the retry rewrites from a record
             * boundary (best effort: recovery would cut them anyway). */
            if (ftruncate(w->fd, (off_t)w->seg_len) < 0) { /* retried later */ }
            return r;
        }
        w->seg_len += run;
        b->done += run;
    }
    return 0;
}

static void release_flushing(wal *w) {
    wal_buf *b = &w->flushing;
    b->len = b->done = 0;
    b->nrec = 0;
    if (b->cap > w->buf_bytes) {
        /* Shrink after an oversized record. */
        unsigned char *p = realloc(b->p, w->buf_bytes);
        if (p) {
            b->p = p;
            __atomic_sub_fetch(&w->mem_bytes, b->cap - w->buf_bytes, __ATOMIC_RELAXED);
            b->cap = w->buf_bytes;
        }
    }
}

/* Enters the error state after a failed write or fsync (lock held). */
static void set_error(wal *w, int r) {
    if (!w->err) w->backoff_ms = BACKOFF_MIN_MS;
    else if ((w->backoff_ms *= 2) > BACKOFF_MAX_MS) w->backoff_ms = BACKOFF_MAX_MS;
    __atomic_store_n(&w->err, -r, __ATOMIC_RELEASE);
    w->stats.write_errors++;
    w->retry_at_ms = mono_ms() + w->backoff_ms;
    /* Whatever failed, the file may not hold what write(2) accepted since
     * the last fsync (after a failed fsync Linux may have dropped those
     * pages): the writer rewrites it from `keep` before going on. */
    w->rewind = 1;
    pthread_cond_broadcast(&w->space_cond); /* wal_sync / wal_write waiters */
}

/* Drops from `keep` what is durable (io_lock held). */
static void keep_trim(wal *w, uint64_t durable) {
    wal_buf *k = &w->keep;
    if (durable <= k->lsn || k->len == 0) return;
    size_t drop = durable - k->lsn >= k->len ? k->len : (size_t)(durable - k->lsn);
    memmove(k->p, k->p + drop, k->len - drop);
    k->len -= drop;
    k->lsn += drop;
    if (k->len == 0 && k->cap > w->buf_bytes) {
        __atomic_sub_fetch(&w->mem_bytes, k->cap, __ATOMIC_RELAXED);
        free(k->p);
        k->p = NULL;
        k->cap = 0;
    }
}

/* Copies what was just written from `flushing` to `keep` (io_lock held). */
static void keep_add(wal *w, const wal_buf *b) {
    wal_buf *k = &w->keep;
    if (k->len == 0) k->lsn = b->lsn;
    ASSERT(k->lsn + k->len == b->lsn);
    if (k->cap - k->len < b->len) {
        size_t cap = k->cap ? k->cap : w->buf_bytes;
        while (cap - k->len < b->len) cap *= 2;
        unsigned char *p = realloc(k->p, cap);
        if (!p) abort(); /* cannot keep the promise without memory */
        __atomic_add_fetch(&w->mem_bytes, cap - k->cap, __ATOMIC_RELAXED);
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, b->p, b->len);
    k->len += b->len;
}

/* After an error: puts the files back to the durable LSN — the segment
 * holding it is truncated there, later segments are deleted, unsynced
 * retired descriptors are closed — and rewrites `keep` ([durable,
 * written)) from memory (writer thread, io_lock held). 0 or -errno. */
static int rewind_to_durable(wal *w, uint64_t durable, uint64_t segment_bytes) {
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->nretired; i++) close(w->retired[i]);
    w->nretired = 0;
    w->dir_dirty = 1;
    pthread_mutex_unlock(&w->lock);
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    seg_list sl;
    int e = list_segments(w->dir, &sl);
    if (e < 0) return e;
    int r = 0;
    for (int i = sl.n - 1; i >= 0 && r == 0; i--) {
        char path[PATH_MAX];
        seg_path(path, sizeof(path), w->dir, sl.lsn[i]);
        if (sl.lsn[i] > durable) {
            if (unlink(path) < 0 && errno != ENOENT) r = -errno;
            continue;
        }
        /* The segment holding the durable LSN: cut it there. */
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)(durable - sl.lsn[i])) < 0) {
            r = -errno;
            if (fd >= 0) close(fd);
            break;
        }
        w->fd = fd;
        w->seg_start = sl.lsn[i];
        w->seg_len = durable - sl.lsn[i];
        break;
    }
    free(sl.lsn);
    if (r < 0) return r;
    /* No segment at or before durable (the log starts there): the first
     * write creates it. */
    ASSERT(w->keep.len == 0 || w->keep.lsn == durable);
    w->keep.done = 0;
    r = write_buf(w, &w->keep, segment_bytes);
    w->keep.done = 0;
    if (r == 0) w->flushing.done = 0; /* its written part was cut too */
    return r;
}

/* Writes everything appended so far (io_lock held, lock not). 0 or -errno. */
static int flush_appended(wal *w) {
    pthread_mutex_lock(&w->lock);
    int rewind = w->rewind;
    uint64_t durable = w->durable;
    if (rewind && !pthread_equal(pthread_self(), w->thread)) {
        /* Only the writer rewinds (it never fsyncs meanwhile). */
        pthread_mutex_unlock(&w->lock);
        return -EAGAIN;
    }
    if (!rewind && w->flushing.done == w->flushing.len && w->active.len > 0) {
        wal_buf t = w->flushing;
        w->flushing = w->active;
        w->active = t;
        w->active.len = w->active.done = 0;
        w->active.nrec = 0;
        w->active.lsn = w->appended;
        pthread_cond_broadcast(&w->space_cond);
    }
    uint64_t segment_bytes = w->segment_bytes;
    pthread_mutex_unlock(&w->lock);

    keep_trim(w, durable);
    int r = 0;
    uint64_t written_to = 0, nrec = 0;
    if (rewind) {
        r = rewind_to_durable(w, durable, segment_bytes);
        pthread_mutex_lock(&w->lock);
        w->written = r == 0 ? w->keep.lsn + w->keep.len : durable;
        if (w->keep.len == 0) w->written = durable;
        if (r == 0) {
            w->rewind = 0;
            w->stats.rewinds++;
        }
        pthread_mutex_unlock(&w->lock);
    }
    if (r == 0 && w->flushing.len > w->flushing.done) {
        r = write_buf(w, &w->flushing, segment_bytes);
        if (r == 0) {
            written_to = w->flushing.lsn + w->flushing.len;
            nrec = w->flushing.nrec;
            keep_add(w, &w->flushing);
            release_flushing(w);
        }
    }
    pthread_mutex_lock(&w->lock);
    if (r < 0) {
        set_error(w, r);
        w->pending = w->flushing.len > 0;
    } else {
        if (written_to) {
            w->written = written_to;
            w->unsynced_records += nrec;
        }
        w->pending = 0;
        if (!w->rewind && !w->sync_failed) __atomic_store_n(&w->err, 0, __ATOMIC_RELEASE);
        /* A writer asleep with no deadline must learn there is something
         * to fsync (at most one wake-up per idle period). */
        if (written_to && w->writer_idle &&
            (w->policy != WAL_FSYNC_NO || w->sync_req > w->durable ||
             w->written - w->durable >= w->keep_soft)) {
            w->writer_idle = 0;
            pthread_cond_signal(&w->work_cond);
        }
    }
    pthread_cond_broadcast(&w->space_cond);
    pthread_mutex_unlock(&w->lock);
    return r;
}

/* Injected fsync failure: behave like a kernel that dropped the dirty
 * pages after a writeback error — every segment loses what it held past
 * the durable LSN (cut to length, not deleted: descriptors stay valid).
 * Only a rewrite from memory brings those bytes back. */
static void fault_drop_unsynced(wal *w, uint64_t durable) {
    seg_list sl;
    if (list_segments(w->dir, &sl) < 0) return;
    for (int i = 0; i < sl.n; i++) {
        uint64_t end = i + 1 < sl.n ? sl.lsn[i + 1] : UINT64_MAX;
        if (end <= durable) continue;
        char path[PATH_MAX];
        seg_path(path, sizeof(path), w->dir, sl.lsn[i]);
        if (truncate(path, (off_t)(durable > sl.lsn[i] ? durable - sl.lsn[i] : 0)) < 0) {
            /* simulation only: the rewind rewrites it either way */
        }
    }
    free(sl.lsn);
}

/* Makes retired segments durable and closes them; with `full`, also the
 * current segment up to what was written, and publishes the durable LSN
 * (writer thread; lock held on entry and on return, dropped meanwhile). */
static void sync_files(wal *w, int full) {
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_lock(&w->io_lock);
    pthread_mutex_lock(&w->lock);
    int retired[MAX_RETIRED];
    int nretired = w->nretired;
    memcpy(retired, w->retired, sizeof(int) * (size_t)nretired);
    int dir_dirty = w->dir_dirty;
    uint64_t target = w->written;
    uint64_t nrec = w->unsynced_records;
    /* Our own descriptor of the current segment: a writing thread may
     * retire it meanwhile, and close it if the writer falls far behind. */
    int fd = -1, r = 0;
    if (full && target > w->durable && w->fd >= 0 && (fd = dup(w->fd)) < 0) r = -errno;
    uint64_t durable = w->durable;
    w->dir_dirty = 0;
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_unlock(&w->io_lock);

    int closed = 0;
    while (r == 0 && closed < nretired) {
        r = do_fsync(w, retired[closed]);
        if (r < 0) break;
        close(retired[closed++]);
    }
    if (r == 0 && dir_dirty) r = fsync_dir(w->dir) < 0 ? -errno : 0;
    if (r == 0 && fd >= 0) r = do_fsync(w, fd);
    if (fd >= 0) close(fd);
    if (r < 0 && __atomic_load_n(&w->fault, __ATOMIC_RELAXED) == WAL_FAULT_FSYNC)
        fault_drop_unsynced(w, durable);

    pthread_mutex_lock(&w->lock);
    /* Only this thread removes retired segments: ours are still first. */
    w->nretired -= closed;
    memmove(w->retired, w->retired + closed, sizeof(int) * (size_t)w->nretired);
    if (r < 0) {
        if (dir_dirty) w->dir_dirty = 1;
        set_error(w, r);
        w->sync_failed = 1;
        return;
    }
    if (w->sync_failed && !w->rewind && (!full || target == w->written)) {
        /* Everything rewritten since the failure is durable now. */
        w->sync_failed = 0;
        if (!w->pending) __atomic_store_n(&w->err, 0, __ATOMIC_RELEASE);
    }
    if (!full) return;
    w->last_fsync_ms = mono_ms();
    if (!w->pending && !w->rewind && !w->sync_failed)
        __atomic_store_n(&w->err, 0, __ATOMIC_RELEASE);
    if (target > w->durable) {
        w->stats.fsyncs++;
        w->stats.synced_records += nrec;
        w->unsynced_records -= nrec;
        w->durable = target;
        pthread_cond_broadcast(&w->space_cond);
        if (w->on_durable) {
            pthread_mutex_unlock(&w->lock);
            pthread_mutex_lock(&w->cb_lock);
            if (w->on_durable) w->on_durable(w->cb_ctx, target);
            pthread_mutex_unlock(&w->cb_lock);
            pthread_mutex_lock(&w->lock);
        }
    }
}

static void *writer_main(void *arg) {
    wal *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        int64_t now = mono_ms();
        int policy = w->policy;
        if (w->stop && w->err && now >= w->give_up_ms) break;
        int want_write = w->pending || w->rewind ||
            (w->active.len > 0 &&
             (w->write_req > w->written || w->active.len >= w->buf_bytes / 2 || w->waiters ||
              w->stop));
        int want_sync = w->written > w->durable &&
            (policy == WAL_FSYNC_ALWAYS || w->stop || w->sync_req > w->durable ||
             (policy == WAL_FSYNC_EVERYSEC && now - w->last_fsync_ms >= 1000));
        want_sync |= w->nretired > 0 || w->dir_dirty || w->written - w->durable >= w->keep_soft ||
                     (w->sync_failed && w->written > w->durable);
        if (w->err && now < w->retry_at_ms && (want_write || want_sync)) {
            struct timespec ts;
            abs_deadline(&ts, w->stop && w->give_up_ms < w->retry_at_ms ? w->give_up_ms
                                                                        : w->retry_at_ms);
            pthread_cond_timedwait(&w->work_cond, &w->lock, &ts);
            continue;
        }
        if (!want_write && !want_sync) {
            if (w->stop) break;
            if (policy == WAL_FSYNC_EVERYSEC && w->written > w->durable) {
                struct timespec ts;
                abs_deadline(&ts, w->last_fsync_ms + 1000);
                pthread_cond_timedwait(&w->work_cond, &w->lock, &ts);
            } else {
                w->writer_idle = 1;
                pthread_cond_wait(&w->work_cond, &w->lock);
                w->writer_idle = 0;
            }
            continue;
        }
        int r = 0;
        if (want_write) {
            pthread_mutex_unlock(&w->lock);
            pthread_mutex_lock(&w->io_lock);
            r = flush_appended(w);
            pthread_mutex_unlock(&w->io_lock);
            pthread_mutex_lock(&w->lock);
        }
        if (r == 0) {
            /* Decided again: the write may have made an fsync due. */
            now = mono_ms();
            int full = w->written > w->durable &&
                (policy == WAL_FSYNC_ALWAYS || w->stop || w->sync_req > w->durable ||
                 w->written - w->durable >= w->keep_soft || w->sync_failed ||
                 (policy == WAL_FSYNC_EVERYSEC && now - w->last_fsync_ms >= 1000));
            if (full || w->nretired > 0 || w->dir_dirty) sync_files(w, full);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static int append_record(wal *w, uint64_t commit_ts, int64_t time_ms, uint32_t type,
                         const struct iovec *iov, int iovcnt, int nowait, uint64_t *end_lsn) {
    size_t len = 0;
    uint32_t pcrc = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > WAL_MAX_PAYLOAD - len) return LT_INVAL;
        len += iov[i].iov_len;
        pcrc = crc32c(pcrc, iov[i].iov_base, iov[i].iov_len);
    }
    size_t rl = WAL_HEADER_SIZE + len;
    pthread_mutex_lock(&w->lock);
    while (w->active.cap - w->active.len < rl) {
        if (nowait && w->active.len > 0) {
            pthread_mutex_unlock(&w->lock);
            errno = EAGAIN;
            return LT_IOERR;
        }
        /* An oversized record into an empty buffer; or the disk is failing
         * and the buffer may grow to twice its size: the server refuses
         * writes then (MISCONF), so only the commands already past that
         * check still arrive — one per thread — and they must not wait
         * (holding their shard locks) for a disk that may never recover. */
        if ((rl > w->active.cap && w->active.len == 0) ||
            (w->err && w->active.len + rl <= 2 * w->buf_bytes)) {
            size_t cap = w->active.cap;
            while (cap - w->active.len < rl) cap = cap * 2 > cap + rl ? cap * 2 : cap + rl;
            unsigned char *p = realloc(w->active.p, cap);
            if (!p) abort(); /* cannot make progress without memory */
            w->active.p = p;
            __atomic_add_fetch(&w->mem_bytes, cap - w->active.cap, __ATOMIC_RELAXED);
            w->active.cap = cap;
            break;
        }
        w->waiters++;
        pthread_cond_signal(&w->work_cond);
        pthread_cond_wait(&w->space_cond, &w->lock);
        w->waiters--;
    }
    uint64_t lsn = w->appended;
    ASSERT(w->active.lsn + w->active.len == lsn);
    unsigned char *h = w->active.p + w->active.len;
    header_build(h, lsn, commit_ts, time_ms, type, (uint32_t)len, pcrc);
    size_t off = WAL_HEADER_SIZE;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(h + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    w->active.len += rl;
    w->active.nrec++;
    w->appended = lsn + rl;
    w->stats.records++;
    if (w->tap) w->tap(w->tap_ctx, lsn, type, iov, iovcnt);
    if (w->active.len >= w->buf_bytes / 2) pthread_cond_signal(&w->work_cond);
    *end_lsn = w->appended;
    pthread_mutex_unlock(&w->lock);
    return LT_OK;
}

int wal_append(wal *w, uint64_t commit_ts, int64_t time_ms, uint32_t type,
               const struct iovec *iov, int iovcnt, uint64_t *end_lsn) {
    return append_record(w, commit_ts, time_ms, type, iov, iovcnt, 0, end_lsn);
}

int wal_append_nowait(wal *w, uint64_t commit_ts, int64_t time_ms, uint32_t type,
                      const struct iovec *iov, int iovcnt, uint64_t *end_lsn) {
    return append_record(w, commit_ts, time_ms, type, iov, iovcnt, 1, end_lsn);
}

void wal_request_write(wal *w, uint64_t lsn) {
    pthread_mutex_lock(&w->lock);
    if (lsn > w->write_req) {
        w->write_req = lsn;
        pthread_cond_signal(&w->work_cond);
    }
    pthread_mutex_unlock(&w->lock);
}

int wal_write(wal *w, uint64_t lsn) {
    pthread_mutex_lock(&w->lock);
    /* `keep` is bounded: past twice its fsync threshold, wait for the
     * writer's fsync (it broadcasts space_cond after each, and on error). */
    while (w->written - w->durable >= 2 * w->keep_soft && !w->err && !w->stop) {
        if (w->sync_req < w->written) w->sync_req = w->written;
        pthread_cond_signal(&w->work_cond);
        pthread_cond_wait(&w->space_cond, &w->lock);
    }
    int skip = w->written >= lsn || w->err;
    pthread_mutex_unlock(&w->lock);
    if (skip) goto out;
    pthread_mutex_lock(&w->io_lock);
    /* Another thread may have written it while we waited for io_lock; and
     * one round may only finish what a failed write left in `flushing`. */
    for (;;) {
        pthread_mutex_lock(&w->lock);
        skip = w->written >= lsn || w->err;
        pthread_mutex_unlock(&w->lock);
        if (skip || flush_appended(w) < 0) break;
    }
    pthread_mutex_unlock(&w->io_lock);
out:
    pthread_mutex_lock(&w->lock);
    int rc = w->written >= lsn ? LT_OK : LT_IOERR;
    if (rc != LT_OK) pthread_cond_signal(&w->work_cond); /* the writer retries */
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int wal_sync(wal *w, uint64_t lsn) {
    pthread_mutex_lock(&w->lock);
    if (lsn > w->appended) lsn = w->appended;
    if (lsn > w->write_req) w->write_req = lsn;
    if (lsn > w->sync_req) w->sync_req = lsn;
    pthread_cond_signal(&w->work_cond);
    /* The writer broadcasts space_cond after every round. */
    while (w->durable < lsn && !w->err && !w->stop) pthread_cond_wait(&w->space_cond, &w->lock);
    int rc = w->durable >= lsn ? LT_OK : LT_IOERR;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int wal_drop_before(wal *w, uint64_t lsn, int *dropped) {
    *dropped = 0;
    seg_list sl;
    int e = list_segments(w->dir, &sl);
    if (e < 0) {
        errno = -e;
        return LT_IOERR;
    }
    int rc = LT_OK;
    uint64_t start = sl.n ? sl.lsn[0] : 0;
    /* Segment i holds [lsn[i], lsn[i+1]): drop it when that ends at or
     * before lsn. The last segment (the one appended to) always stays. */
    for (int i = 0; i + 1 < sl.n && sl.lsn[i + 1] <= lsn; i++) {
        char path[PATH_MAX];
        seg_path(path, sizeof(path), w->dir, sl.lsn[i]);
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = LT_IOERR;
            break;
        }
        start = sl.lsn[i + 1];
        (*dropped)++;
    }
    free(sl.lsn);
    if (*dropped) {
        pthread_mutex_lock(&w->lock);
        if (start > w->stats.start_lsn) w->stats.start_lsn = start;
        pthread_mutex_unlock(&w->lock);
        if (fsync_dir(w->dir) < 0 && rc == LT_OK) rc = LT_IOERR;
    }
    return rc;
}

#define LOCKED_GET(w, expr)                                                  \
    do {                                                                     \
        pthread_mutex_lock(&(w)->lock);                                      \
        __typeof__(expr) _v = (expr);                                        \
        pthread_mutex_unlock(&(w)->lock);                                    \
        return _v;                                                           \
    } while (0)

uint64_t wal_appended_lsn(wal *w) { LOCKED_GET(w, w->appended); }
size_t wal_buffer_bytes(wal *w) { return __atomic_load_n(&w->mem_bytes, __ATOMIC_RELAXED); }
uint64_t wal_written_lsn(wal *w) { LOCKED_GET(w, w->written); }
uint64_t wal_durable_lsn(wal *w) { LOCKED_GET(w, w->durable); }
int wal_error(wal *w) { return __atomic_load_n(&w->err, __ATOMIC_ACQUIRE); }

void wal_set_tap(wal *w, wal_tap_fn *fn, void *ctx) {
    pthread_mutex_lock(&w->lock);
    w->tap = fn;
    w->tap_ctx = ctx;
    pthread_mutex_unlock(&w->lock);
}

void wal_locked(wal *w, void (*fn)(void *ctx), void *ctx) {
    pthread_mutex_lock(&w->lock);
    fn(ctx);
    pthread_mutex_unlock(&w->lock);
}

void wal_set_fsync_policy(wal *w, int policy) {
    pthread_mutex_lock(&w->lock);
    w->policy = policy;
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
}

void wal_set_segment_bytes(wal *w, uint64_t bytes) {
    pthread_mutex_lock(&w->lock);
    w->segment_bytes = bytes < WAL_MIN_SEGMENT_BYTES ? WAL_MIN_SEGMENT_BYTES : bytes;
    pthread_mutex_unlock(&w->lock);
}

void wal_set_fault(wal *w, int fault) {
    pthread_mutex_lock(&w->lock);
    __atomic_store_n(&w->fault, fault, __ATOMIC_RELAXED);
    if (fault == WAL_FAULT_NONE) w->retry_at_ms = 0; /* retry now */
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
}

void wal_get_stats(wal *w, wal_stats *st) {
    pthread_mutex_lock(&w->lock);
    *st = w->stats;
    pthread_mutex_unlock(&w->lock);
}

static int mkdir_p(const char *dir) {
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) < 0) {
        if (errno != EEXIST) return -errno;
        return 0;
    }
    /* New directory: make its entry durable in the parent. */
    char *slash = strrchr(tmp, '/');
    if (slash && slash != tmp) {
        *slash = '\0';
        fsync_dir(tmp);
    } else if (!slash) {
        fsync_dir(".");
    }
    return 0;
}

int wal_open(const wal_config *cfg, wal_record_fn *replay, void *ctx, wal_scan_result *res,
             wal **out) {
    *out = NULL;
    memset(res, 0, sizeof(*res));
    if (!cfg->dir || strlen(cfg->dir) >= PATH_MAX - 32) return LT_INVAL;
    int e = mkdir_p(cfg->dir);
    if (e < 0) {
        res->sys_errno = -e;
        return LT_IOERR;
    }
    int rc = wal_scan(cfg->dir, cfg->replay_from, replay, ctx, res);
    if (rc != LT_OK) return rc;
    if (res->problem.found) {
        /* Strict: only a torn tail is cut, and only when allowed (or
         * anything, when the caller asked for a repair). */
        if (!cfg->repair && (!res->problem.tail || !cfg->load_truncated)) return LT_INVAL;
        wal_problem keep = res->problem;
        if (wal_repair(cfg->dir, res) != LT_OK) {
            res->sys_errno = errno;
            return LT_IOERR;
        }
        res->problem = keep;
    }
    wal *w = calloc(1, sizeof(*w));
    if (!w) return LT_NOMEM;
    snprintf(w->dir, sizeof(w->dir), "%s", cfg->dir);
    promhist_init(&w->fsync_hist, fsync_bounds_us,
                  (int)(sizeof(fsync_bounds_us) / sizeof(fsync_bounds_us[0])));
    w->buf_bytes = cfg->buffer_bytes ? cfg->buffer_bytes : WAL_DEFAULT_BUFFER_BYTES;
    if (w->buf_bytes < 4096) w->buf_bytes = 4096;
    w->active.p = malloc(w->buf_bytes);
    w->flushing.p = malloc(w->buf_bytes);
    w->mem_bytes = 2 * w->buf_bytes;
    if (!w->active.p || !w->flushing.p) {
        free(w->active.p);
        free(w->flushing.p);
        free(w);
        return LT_NOMEM;
    }
    w->active.cap = w->flushing.cap = w->buf_bytes;
    w->keep_soft = KEEP_SOFT_MIN > 8 * w->buf_bytes ? KEEP_SOFT_MIN : 8 * w->buf_bytes;
    w->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes : WAL_DEFAULT_SEGMENT_BYTES;
    if (w->segment_bytes < WAL_MIN_SEGMENT_BYTES) w->segment_bytes = WAL_MIN_SEGMENT_BYTES;
    w->policy = cfg->fsync_policy;
    w->on_durable = cfg->on_durable;
    w->on_fsync = cfg->on_fsync;
    w->cb_ctx = cfg->cb_ctx;
    /* An empty log continues where a snapshot left it (replay_from). */
    if (res->segments == 0) res->start_lsn = res->end_lsn = cfg->replay_from;
    w->appended = w->write_req = w->written = w->durable = res->end_lsn;
    w->active.lsn = w->flushing.lsn = res->end_lsn;
    w->stats.start_lsn = res->start_lsn;
    w->fd = -1;
    w->last_fsync_ms = mono_ms();
    if (res->segments > 0) {
        /* Append to the last kept segment, after its last valid record. */
        const char *path = res->last_file;
        uint64_t start;
        const char *base = strrchr(path, '/');
        if (parse_segment_name(base ? base + 1 : path, &start)) {
            w->fd = open(path, O_WRONLY | O_CLOEXEC);
            if (w->fd < 0) {
                res->sys_errno = errno;
                free(w->active.p);
                free(w->flushing.p);
                free(w);
                return LT_IOERR;
            }
            w->seg_start = start;
            w->seg_len = res->end_lsn - start;
        }
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->io_lock, NULL);
    pthread_mutex_init(&w->cb_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->space_cond, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        if (w->fd >= 0) close(w->fd);
        free(w->active.p);
        free(w->flushing.p);
        free(w);
        return LT_NOMEM;
    }
    *out = w;
    return LT_OK;
}

int wal_close(wal *w) {
    if (!w) return LT_OK;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    w->give_up_ms = mono_ms() + CLOSE_RETRY_MS;
    w->write_req = w->appended;
    pthread_cond_signal(&w->work_cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    int rc = w->durable == w->appended ? LT_OK : LT_IOERR;
    int err = w->err ? w->err : EIO;
    if (w->fd >= 0) close(w->fd);
    for (int i = 0; i < w->nretired; i++) close(w->retired[i]); /* left by errors */
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->io_lock);
    pthread_mutex_destroy(&w->cb_lock);
    pthread_cond_destroy(&w->work_cond);
    pthread_cond_destroy(&w->space_cond);
    free(w->active.p);
    free(w->flushing.p);
    free(w->keep.p);
    free(w);
    if (rc != LT_OK) errno = err;
    return rc;
}
