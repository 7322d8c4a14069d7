/*
 * lightning-backup — online backups of a running lightning-server, and
 * point-in-time restore (design, protocol and examples in docs/BACKUP.md).
 *
 *   lightning-backup create --host H --port P --to DIR [--full]
 *                           [--max-rate BYTES/s] [-a PASS] [--user U]
 *   lightning-backup list DIR
 *   lightning-backup verify DIR
 *   lightning-backup restore DIR --into DATADIR [--time RFC3339 | --latest]
 *                            [--force]
 *
 * It drives the server's BACKUP command (src/server/persist/backup.h):
 * a full backup is a forkless snapshot plus the WAL records from the
 * snapshot's LSN (or from the previous backup's end, when the server still
 * has that WAL: then the moments between the two stay restorable) to the
 * end the server reported (BACKUP SYNC); an
 * incremental one is the WAL records since the previous backup's end (from
 * the live log or the server's wal-archive-dir). Bytes come over the
 * protocol, so the tool may run on another machine; a full backup copies
 * the snapshot and the WAL in parallel on two connections, --max-rate
 * bounding both together.
 *
 * BACKUP SET (DIR). One directory per backup, NNNNNN-full or NNNNNN-incr
 * (NNNNNN = sequence number from 1), holding:
 *   MANIFEST       text, one "key value" per line (format below)
 *   snapshot.lbz   (full only) the snapshot file, in the container below
 *   wal.lbz        the WAL records [wal_from, wal_to), byte for byte as
 *                  in the server's segments, in the container below
 * A backup is built in NNNNNN-kind.partial/: files written and fsynced,
 * MANIFEST last (temp, fsync, rename), then the directory renamed to its
 * final name and DIR fsynced. A directory ending in .partial is an
 * interrupted backup: list and verify name it INCOMPLETE, restore never
 * reads it, the next create deletes it. A backup continues the previous
 * one when its wal_from is the previous wal_to and its `prev` names the
 * previous backup and the CRC of its manifest: every increment does, a full
 * backup does when its WAL starts before its snapshot (prev CRC 0 and
 * wal_from = snapshot_lsn: a base that continues nothing). A chain is a
 * full backup and the backups that continue it, one after the other. All
 * backups of a DIR share one random set id. A create takes a new base
 * (instead of an increment) with --full, when the WAL since the previous
 * backup is gone from the server, or when the WAL to replay from the
 * current base would exceed the base's data (snapshot_data_bytes).
 *
 * MANIFEST (version 1): lines in this order, the last one the CRC32C of all
 * bytes before it:
 *   lightning-backup-manifest 1
 *   set <32 hex digits>
 *   seq <n>
 *   kind full|incr
 *   base <seq of the chain's full backup>
 *   prev <seq> <8 hex: CRC of its manifest>      ("prev 0 00000000" if none)
 *   server <host:port>
 *   started_ms <Unix ms>   duration_ms <ms>   max_rate <bytes/s, 0 = none>
 *   snapshot_lsn <lsn>  snapshot_ts <ts>  snapshot_time_ms <ms>  snapshot_keys <n>
 *   snapshot_data_bytes <uncompressed record bytes>
 *                        (full only; each on its own line)
 *   wal_from <lsn>   wal_to <lsn>   wal_records <n>
 *   to_time_ms <server time when wal_to was taken>
 *   last_record <lsn> <8 hex: its CRC field>     ("last_record - -" if none)
 *   file <role> <name> <stored bytes> <8 hex CRC32C of the file> <raw bytes>
 *   crc <8 hex>
 *
 * CONTAINER (.lbz, all integers little-endian):
 *   header 48:  0 magic "LTBKFIL1" | 8 kind u32 (1 snapshot, 2 wal) |
 *               12 seq u32 | 16 set id 16 bytes | 32 zero 12 | 44 CRC32C of 0..43
 *   chunks:     0 magic "LBC1" | 4 raw_len u32 | 8 stored_len u32 |
 *               12 CRC32C of the stored bytes | 16 CRC32C of the raw bytes |
 *               20 stored bytes (one zstd frame of raw_len bytes)
 *   trailer 32: 0 magic "LBE1" | 4 zero | 8 chunks u64 | 16 raw bytes u64 |
 *               24 CRC32C of every byte before the trailer | 28 CRC32C of 0..27
 *   Valid iff every field checks and the trailer ends the file; the
 *   manifest's size and CRC of the whole file are checked first, so any
 *   changed byte is found, and then located (the chunk's offset).
 *
 * RESTORE to a moment T: the chain of the newest base whose snapshot was
 * taken at or before T and whose WAL reaches T; writes DATADIR/snapshot-<lsn>.snap,
 * snapshot.manifest and appendonlydir/<lsn>.log holding the chain's records
 * from the snapshot's LSN on, in log order, while their running maximum of commit times (time_ms of the
 * record and every record before it) is <= T. The log is cut between two
 * whole records, so a MULTI/EXEC or a script (one record) is all or
 * nothing, and the cut is a prefix of the log: a state the server really
 * went through. A record's running maximum is when it was certainly
 * committed (a commit's clock is read before its record is appended).
 *
 * Exit status: 0 success, 1 damage or refusal (the message names the file,
 * the offset and why), 2 usage, connection or I/O error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/crc32c.h"
#include "engine/hashobj.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/streamobj.h"
#include "engine/wal.h"
#include "engine/zsetobj.h"

#define CHUNK_RAW (1u << 20)
#define FETCH_BYTES (256u << 10) /* per READ: bounds the server I/O thread's stall */
#define MAX_BACKUPS 4096
#define MAX_LINE 512
#define KIND_SNAPSHOT 1
#define KIND_WAL 2
#define HDR_SIZE 48
#define CHUNK_HDR 20
#define TRAILER_SIZE 32
#define ZLEVEL 3
#define SNAPSHOT_WAIT_MS (3600 * 1000)

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

static int64_t now_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fmt_time(int64_t ms, char *out, size_t cap) {
    if (ms < 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[32];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", b, (int)(ms % 1000));
}

/* RFC 3339 with optional fraction (up to ms: more digits must be zero...
 * no: more digits are truncated toward the past) and Z or +hh:mm. */
static int parse_time(const char *s, int64_t *ms) {
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + n;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (!digits) return 0;
        for (; digits < 3; digits++) frac *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return 0;
        off = (hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return 0;
    }
    if (*p) return 0;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - off) * 1000 + frac;
    return 1;
}

/* ---- Errors ---------------------------------------------------------------- */

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lightning-backup: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}

/* snprintf for paths: a path that does not fit is an error, never cut. */
static void pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) die(2, "path too long: %s...", out);
}

/* ---- A small blocking RESP client --------------------------------------- */

typedef struct reply {
    int type; /* '+', '-', ':', '$', '*', 0 = nil */
    long long integer;
    char *str;
    size_t len;
    struct reply **elem;
    size_t nelem;
} reply;

typedef struct conn {
    int fd;
    char *buf;
    size_t len, pos, cap;
    const char *where;
} conn;

static void reply_free(reply *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nelem; i++) reply_free(r->elem[i]);
    free(r->elem);
    free(r->str);
    free(r);
}

static int conn_fill(conn *c) {
    if (c->pos > 0 && c->pos == c->len) c->pos = c->len = 0;
    if (c->len == c->cap) {
        if (c->pos > 0) {
            memmove(c->buf, c->buf + c->pos, c->len - c->pos);
            c->len -= c->pos;
            c->pos = 0;
        } else {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->buf = realloc(c->buf, c->cap);
            if (!c->buf) die(2, "out of memory");
        }
    }
    ssize_t r;
    do r = read(c->fd, c->buf + c->len, c->cap - c->len);
    while (r < 0 && errno == EINTR);
    if (r <= 0) return -1;
    c->len += (size_t)r;
    return 0;
}

/* A line ending in \r\n (without it) into out. */
static void conn_line(conn *c, char *out, size_t cap) {
    for (;;) {
        char *nl = c->buf ? memchr(c->buf + c->pos, '\n', c->len - c->pos) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            if (n && nl[-1] == '\r') n--;
            if (n >= cap) die(2, "%s: protocol error (line too long)", c->where);
            memcpy(out, c->buf + c->pos, n);
            out[n] = 0;
            c->pos = (size_t)(nl - c->buf) + 1;
            return;
        }
        if (conn_fill(c) < 0) die(2, "%s: connection lost", c->where);
    }
}

static reply *conn_read(conn *c, int depth) {
    if (depth > 8) die(2, "%s: protocol error (nesting)", c->where);
    char line[1024];
    conn_line(c, line, sizeof(line));
    reply *r = calloc(1, sizeof(*r));
    if (!r) die(2, "out of memory");
    r->type = line[0];
    switch (line[0]) {
    case '+':
    case '-':
        r->str = strdup(line + 1);
        r->len = strlen(line + 1);
        break;
    case ':':
        r->integer = strtoll(line + 1, NULL, 10);
        break;
    case '$': {
        long long n = strtoll(line + 1, NULL, 10);
        if (n < 0) {
            r->type = 0;
            break;
        }
        r->len = (size_t)n;
        r->str = malloc(r->len + 1);
        if (!r->str) die(2, "out of memory");
        size_t got = 0;
        while (got < r->len + 2) {
            if (c->pos == c->len && conn_fill(c) < 0) die(2, "%s: connection lost", c->where);
            size_t take = c->len - c->pos;
            if (take > r->len + 2 - got) take = r->len + 2 - got;
            for (size_t i = 0; i < take; i++) {
                if (got + i < r->len) r->str[got + i] = c->buf[c->pos + i];
            }
            c->pos += take;
            got += take;
        }
        r->str[r->len] = 0;
        break;
    }
    case '*':
    case '%': {
        long long n = strtoll(line + 1, NULL, 10);
        if (n < 0) {
            r->type = 0;
            break;
        }
        if (line[0] == '%') n *= 2;
        r->type = '*';
        r->nelem = (size_t)n;
        r->elem = calloc(r->nelem ? r->nelem : 1, sizeof(reply *));
        for (size_t i = 0; i < r->nelem; i++) r->elem[i] = conn_read(c, depth + 1);
        break;
    }
    case '_':
        r->type = 0;
        break;
    default:
        die(2, "%s: protocol error (reply type '%c')", c->where, line[0]);
    }
    return r;
}

static reply *cmd(conn *c, int argc, const char **argv) {
    size_t cap = 64;
    for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 32;
    char *out = malloc(cap);
    size_t n = (size_t)snprintf(out, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(c->fd, out + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die(2, "%s: write: %s", c->where, strerror(errno));
        off += (size_t)w;
    }
    free(out);
    return conn_read(c, 0);
}

#define CMD(c, ...) cmd((c), sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), \
                        (const char *[]){__VA_ARGS__})

static reply *cmd_ok(conn *c, reply *r, const char *what) {
    if (r->type == '-') die(2, "%s: %s: %s", c->where, what, r->str);
    return r;
}

static void conn_open(conn *c, const char *host, const char *port, const char *user,
                      const char *pass) {
    static char where[300];
    snprintf(where, sizeof(where), "%s:%s", host, port);
    memset(c, 0, sizeof(*c));
    c->where = where;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e) die(2, "%s: %s", where, gai_strerror(e));
    c->fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (c->fd < 0) continue;
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(c->fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    if (c->fd < 0) die(2, "%s: cannot connect: %s", where, strerror(errno));
    if (pass) {
        reply *r = user ? CMD(c, "AUTH", user, pass) : CMD(c, "AUTH", pass);
        cmd_ok(c, r, "AUTH");
        reply_free(r);
    }
}

/* ---- Throttle --------------------------------------------------------------- */

static long long max_rate;     /* bytes/s, 0 = none */
static int64_t throttle_t0;
static uint64_t throttle_bytes;

static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;

/* Shared by the parallel transfers: together they stay under max_rate. */
static void throttle(size_t n) {
    pthread_mutex_lock(&throttle_lock);
    throttle_bytes += n;
    uint64_t total = throttle_bytes;
    pthread_mutex_unlock(&throttle_lock);
    if (!max_rate) return;
    int64_t due = throttle_t0 + (int64_t)(total * 1000000.0 / (double)max_rate);
    int64_t now = mono_us();
    if (due > now) usleep((useconds_t)(due - now));
}

/* ---- Files -------------------------------------------------------------------- */

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) die(2, "fsync %s: %s", dir, strerror(errno));
    close(fd);
}

static void write_all(int fd, const void *p, size_t n, const char *path) {
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, (const char *)p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die(2, "write %s: %s", path, strerror(errno));
        off += (size_t)w;
    }
}

static unsigned char *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return NULL;
    }
    unsigned char *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (b && got < (size_t)st.st_size) {
        ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!b) return NULL;
    b[got] = 0;
    *len = got;
    return b;
}

/* ---- Container writer ------------------------------------------------------- */

typedef struct lbz_writer {
    int fd;
    char path[PATH_MAX];
    unsigned char *raw, *comp;
    size_t raw_len, comp_cap;
    uint32_t file_crc;
    uint64_t chunks, raw_total, stored;
} lbz_writer;

static void lbz_emit(lbz_writer *w, const void *p, size_t n) {
    write_all(w->fd, p, n, w->path);
    w->file_crc = crc32c(w->file_crc, p, n);
    w->stored += n;
}

static void lbz_create(lbz_writer *w, const char *path, uint32_t kind, uint32_t seq,
                       const unsigned char set[16]) {
    memset(w, 0, sizeof(*w));
    snprintf(w->path, sizeof(w->path), "%s", path);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) die(2, "create %s: %s", path, strerror(errno));
    w->raw = malloc(CHUNK_RAW);
    w->comp_cap = ZSTD_compressBound(CHUNK_RAW);
    w->comp = malloc(w->comp_cap);
    if (!w->raw || !w->comp) die(2, "out of memory");
    unsigned char h[HDR_SIZE] = {0};
    memcpy(h, "LTBKFIL1", 8);
    put32(h + 8, kind);
    put32(h + 12, seq);
    memcpy(h + 16, set, 16);
    put32(h + 44, crc32c(0, h, 44));
    lbz_emit(w, h, sizeof(h));
}

static void lbz_flush(lbz_writer *w) {
    if (!w->raw_len) return;
    size_t n = ZSTD_compress(w->comp, w->comp_cap, w->raw, w->raw_len, ZLEVEL);
    if (ZSTD_isError(n)) die(2, "zstd: %s", ZSTD_getErrorName(n));
    unsigned char h[CHUNK_HDR];
    memcpy(h, "LBC1", 4);
    put32(h + 4, (uint32_t)w->raw_len);
    put32(h + 8, (uint32_t)n);
    put32(h + 12, crc32c(0, w->comp, n));
    put32(h + 16, crc32c(0, w->raw, w->raw_len));
    lbz_emit(w, h, sizeof(h));
    lbz_emit(w, w->comp, n);
    w->chunks++;
    w->raw_total += w->raw_len;
    w->raw_len = 0;
}

static void lbz_put(lbz_writer *w, const void *p, size_t n) {
    const unsigned char *s = p;
    while (n) {
        size_t take = CHUNK_RAW - w->raw_len;
        if (take > n) take = n;
        memcpy(w->raw + w->raw_len, s, take);
        w->raw_len += take;
        s += take;
        n -= take;
        if (w->raw_len == CHUNK_RAW) lbz_flush(w);
    }
}

/* Finishes and fsyncs the file; its stored size and CRC into the outs. */
static void lbz_finish(lbz_writer *w, uint64_t *stored, uint32_t *crc, uint64_t *raw) {
    lbz_flush(w);
    unsigned char t[TRAILER_SIZE] = {0};
    memcpy(t, "LBE1", 4);
    put64(t + 8, w->chunks);
    put64(t + 16, w->raw_total);
    put32(t + 24, w->file_crc);
    put32(t + 28, crc32c(0, t, 28));
    lbz_emit(w, t, sizeof(t));
    if (fsync(w->fd) < 0 || close(w->fd) < 0) die(2, "fsync %s: %s", w->path, strerror(errno));
    *stored = w->stored;
    *crc = w->file_crc;
    *raw = w->raw_total;
    free(w->raw);
    free(w->comp);
}

/* ---- Container reader ------------------------------------------------------- */

typedef struct problem {
    char file[PATH_MAX];
    uint64_t offset;
    char why[256];
} problem;

static int fail(problem *pb, const char *file, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(problem *pb, const char *file, uint64_t off, const char *fmt, ...) {
    snprintf(pb->file, sizeof(pb->file), "%s", file);
    pb->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pb->why, sizeof(pb->why), fmt, ap);
    va_end(ap);
    return -1;
}

static void hex(const unsigned char *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

/* Decodes a whole container file: checks stored size and CRC against the
 * manifest, then every structure; calls sink for each raw chunk. 0, or -1
 * with *pb (file, offset, why). */
typedef int chunk_sink(void *ctx, const unsigned char *raw, size_t len, problem *pb);

static int lbz_read(const char *path, uint32_t kind, uint32_t seq, const unsigned char set[16],
                    uint64_t want_stored, uint32_t want_crc, uint64_t want_raw,
                    chunk_sink *sink, void *ctx, problem *pb) {
    size_t len;
    unsigned char *f = read_file(path, &len);
    if (!f) return fail(pb, path, 0, "cannot read: %s", strerror(errno));
    int rc = -1;
    uint32_t whole = crc32c(0, f, len);
    unsigned char *raw = NULL;
    if (len < HDR_SIZE + TRAILER_SIZE) {
        fail(pb, path, len, "truncated: %zu bytes, the manifest says %" PRIu64, len,
             want_stored);
        goto out;
    }
    if (memcmp(f, "LTBKFIL1", 8) != 0 || get32(f + 44) != crc32c(0, f, 44)) {
        fail(pb, path, 0, "bad file header (magic or checksum)");
        goto out;
    }
    if (get32(f + 8) != kind || get32(f + 12) != seq || memcmp(f + 16, set, 16) != 0) {
        char a[33], b[33];
        hex(f + 16, 16, a);
        hex(set, 16, b);
        fail(pb, path, 8,
             "belongs to another backup (set %s, backup %u, kind %u) than its manifest "
             "(set %s, backup %u, kind %u): files were mixed",
             a, get32(f + 12), get32(f + 8), b, seq, kind);
        goto out;
    }
    uint64_t off = HDR_SIZE, chunks = 0, raw_total = 0;
    uint32_t fcrc = crc32c(0, f, HDR_SIZE);
    raw = malloc(CHUNK_RAW);
    while (off + 4 <= len && memcmp(f + off, "LBC1", 4) == 0) {
        if (off + CHUNK_HDR > len) {
            fail(pb, path, off, "chunk header cut short");
            goto out;
        }
        uint32_t rl = get32(f + off + 4), sl = get32(f + off + 8);
        if (rl == 0 || rl > CHUNK_RAW || sl > len - off - CHUNK_HDR) {
            fail(pb, path, off, "chunk lengths out of range (raw %u, stored %u)", rl, sl);
            goto out;
        }
        if (crc32c(0, f + off + CHUNK_HDR, sl) != get32(f + off + 12)) {
            fail(pb, path, off, "chunk checksum mismatch (damaged compressed data)");
            goto out;
        }
        size_t n = ZSTD_decompress(raw, CHUNK_RAW, f + off + CHUNK_HDR, sl);
        if (ZSTD_isError(n) || n != rl || crc32c(0, raw, n) != get32(f + off + 16)) {
            fail(pb, path, off, "chunk does not decompress to its checksummed %u bytes", rl);
            goto out;
        }
        fcrc = crc32c(fcrc, f + off, CHUNK_HDR + sl);
        if (sink && sink(ctx, raw, n, pb) < 0) {
            if (!pb->file[0]) snprintf(pb->file, sizeof(pb->file), "%s", path);
            goto out;
        }
        off += CHUNK_HDR + sl;
        chunks++;
        raw_total += rl;
    }
    if (off + TRAILER_SIZE != len || memcmp(f + off, "LBE1", 4) != 0 ||
        get32(f + off + 28) != crc32c(0, f + off, 28)) {
        fail(pb, path, off, off + TRAILER_SIZE > len ? "truncated: the end record is missing"
                                                     : "bad end record (magic, checksum or "
                                                       "not at the end of the file)");
        goto out;
    }
    if (get64(f + off + 8) != chunks || get64(f + off + 16) != raw_total ||
        get32(f + off + 24) != fcrc) {
        fail(pb, path, off, "end record does not match the chunks before it");
        goto out;
    }
    if (len != want_stored || whole != want_crc || raw_total != want_raw) {
        fail(pb, path, 0,
             "does not match its manifest (size %zu, crc %08x, raw %" PRIu64
             "; manifest: %" PRIu64 ", %08x, %" PRIu64 "): edited or from another backup",
             len, whole, raw_total, want_stored, want_crc, want_raw);
        goto out;
    }
    rc = 0;
out:
    /* A whole-file mismatch with every structure valid cannot happen
     * without an edit; a structural problem is reported where it is. */
    free(raw);
    free(f);
    return rc;
}

/* ---- Manifest ------------------------------------------------------------------ */

typedef struct file_ent {
    char name[64];
    uint64_t stored, raw;
    uint32_t crc;
    int present;
} file_ent;

typedef struct manifest {
    char dirname[64];       /* NNNNNN-kind */
    unsigned char set[16];
    uint32_t seq, base, prev;
    uint32_t prev_crc;
    int full;
    char server[300];
    int64_t started_ms, duration_ms;
    long long max_rate;
    uint64_t snap_lsn, snap_ts, snap_keys, snap_raw_data;
    int64_t snap_time_ms;
    uint64_t wal_from, wal_to, wal_records;
    int64_t to_time_ms;
    int has_last;
    uint64_t last_lsn;
    uint32_t last_crc;
    file_ent snap, wal;
    uint32_t crc;           /* of the manifest itself */
} manifest;

static size_t manifest_format(const manifest *m, char *out, size_t cap) {
    char set[33];
    hex(m->set, 16, set);
    size_t n = 0;
#define P(...) n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__)
    P("lightning-backup-manifest 1\n");
    P("set %s\n", set);
    P("seq %u\n", m->seq);
    P("kind %s\n", m->full ? "full" : "incr");
    P("base %u\n", m->base);
    P("prev %u %08x\n", m->prev, m->prev_crc);
    P("server %s\n", m->server);
    P("started_ms %" PRId64 "\n", m->started_ms);
    P("duration_ms %" PRId64 "\n", m->duration_ms);
    P("max_rate %lld\n", m->max_rate);
    if (m->full) {
        P("snapshot_lsn %" PRIu64 "\n", m->snap_lsn);
        P("snapshot_ts %" PRIu64 "\n", m->snap_ts);
        P("snapshot_time_ms %" PRId64 "\n", m->snap_time_ms);
        P("snapshot_keys %" PRIu64 "\n", m->snap_keys);
        P("snapshot_data_bytes %" PRIu64 "\n", m->snap_raw_data);
    }
    P("wal_from %" PRIu64 "\n", m->wal_from);
    P("wal_to %" PRIu64 "\n", m->wal_to);
    P("wal_records %" PRIu64 "\n", m->wal_records);
    P("to_time_ms %" PRId64 "\n", m->to_time_ms);
    if (m->has_last) P("last_record %" PRIu64 " %08x\n", m->last_lsn, m->last_crc);
    else P("last_record - -\n");
    if (m->full)
        P("file snapshot %s %" PRIu64 " %08x %" PRIu64 "\n", m->snap.name, m->snap.stored,
          m->snap.crc, m->snap.raw);
    P("file wal %s %" PRIu64 " %08x %" PRIu64 "\n", m->wal.name, m->wal.stored, m->wal.crc,
      m->wal.raw);
    P("crc %08x\n", crc32c(0, out, n));
#undef P
    return n;
}

static int unhex(const char *s, unsigned char *out, size_t n) {
    if (strlen(s) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
        out[i] = (unsigned char)v;
    }
    return 1;
}

/* Parses dir/MANIFEST. 0, or -1 with *pb. */
static int manifest_read(const char *dir, const char *dirname, manifest *m, problem *pb) {
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/%s/MANIFEST", dir, dirname);
    memset(m, 0, sizeof(*m));
    if (strlen(dirname) >= sizeof(m->dirname)) return fail(pb, path, 0, "not a backup name");
    memcpy(m->dirname, dirname, strlen(dirname) + 1);
    size_t len;
    unsigned char *b = read_file(path, &len);
    if (!b) return fail(pb, path, 0, "cannot read: %s", strerror(errno));
    int rc = -1;
    /* The crc line: the last line. */
    char *text = (char *)b;
    if (len < 14 || text[len - 1] != '\n') {
        fail(pb, path, len, "truncated (no final crc line)");
        goto out;
    }
    char *last = text + len - 1;
    while (last > text && last[-1] != '\n') last--;
    unsigned crc;
    if (sscanf(last, "crc %8x\n", &crc) != 1 || strlen(last) != 13) {
        fail(pb, path, (uint64_t)(last - text), "truncated or edited (no final crc line)");
        goto out;
    }
    uint32_t have = crc32c(0, text, (size_t)(last - text));
    if (have != crc) {
        fail(pb, path, 0, "checksum mismatch (crc line %08x, contents %08x): edited or damaged",
             crc, have);
        goto out;
    }
    m->crc = crc;
    *last = 0;
    int seen_magic = 0, seen_kind = 0, seen_set = 0;
    uint64_t off = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        char k[32] = "", v1[300] = "", v2[300] = "", v3[64] = "", v4[64] = "", v5[64] = "";
        int nf = sscanf(line, "%31s %299s %299s %63s %63s %63s", k, v1, v2, v3, v4, v5);
        int ok = nf >= 2;
        if (!strcmp(k, "lightning-backup-manifest")) ok = !strcmp(v1, "1"), seen_magic = 1;
        else if (!strcmp(k, "set")) ok = unhex(v1, m->set, 16), seen_set = 1;
        else if (!strcmp(k, "seq")) m->seq = (uint32_t)strtoul(v1, NULL, 10);
        else if (!strcmp(k, "kind")) {
            ok = !strcmp(v1, "full") || !strcmp(v1, "incr");
            m->full = !strcmp(v1, "full");
            seen_kind = 1;
        } else if (!strcmp(k, "base")) m->base = (uint32_t)strtoul(v1, NULL, 10);
        else if (!strcmp(k, "prev")) {
            m->prev = (uint32_t)strtoul(v1, NULL, 10);
            ok = nf >= 3 && sscanf(v2, "%8x", &m->prev_crc) == 1;
        } else if (!strcmp(k, "server")) snprintf(m->server, sizeof(m->server), "%s", v1);
        else if (!strcmp(k, "started_ms")) m->started_ms = strtoll(v1, NULL, 10);
        else if (!strcmp(k, "duration_ms")) m->duration_ms = strtoll(v1, NULL, 10);
        else if (!strcmp(k, "max_rate")) m->max_rate = strtoll(v1, NULL, 10);
        else if (!strcmp(k, "snapshot_lsn")) m->snap_lsn = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "snapshot_ts")) m->snap_ts = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "snapshot_time_ms")) m->snap_time_ms = strtoll(v1, NULL, 10);
        else if (!strcmp(k, "snapshot_keys")) m->snap_keys = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "snapshot_data_bytes")) m->snap_raw_data = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "wal_from")) m->wal_from = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "wal_to")) m->wal_to = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "wal_records")) m->wal_records = strtoull(v1, NULL, 10);
        else if (!strcmp(k, "to_time_ms")) m->to_time_ms = strtoll(v1, NULL, 10);
        else if (!strcmp(k, "last_record")) {
            m->has_last = strcmp(v1, "-") != 0;
            if (m->has_last) {
                m->last_lsn = strtoull(v1, NULL, 10);
                ok = nf >= 3 && sscanf(v2, "%8x", &m->last_crc) == 1;
            }
        } else if (!strcmp(k, "file")) {
            file_ent *fe = !strcmp(v1, "snapshot") ? &m->snap : !strcmp(v1, "wal") ? &m->wal : NULL;
            ok = fe && nf == 6 && strlen(v2) < sizeof(fe->name) && !strchr(v2, '/');
            if (ok) {
                memcpy(fe->name, v2, strlen(v2) + 1);
                fe->stored = strtoull(v3, NULL, 10);
                ok = sscanf(v4, "%8x", &fe->crc) == 1;
                fe->raw = strtoull(v5, NULL, 10);
                fe->present = 1;
            }
        } else {
            ok = 0;
        }
        if (!ok) {
            fail(pb, path, off, "malformed line '%.80s'", line);
            goto out;
        }
        off += (uint64_t)(nl - line) + 1;
        line = nl + 1;
    }
    if (!seen_magic || !seen_kind || !seen_set || !m->seq || !m->wal.present ||
        (m->full && !m->snap.present)) {
        fail(pb, path, 0, "incomplete manifest (a required line is missing)");
        goto out;
    }
    char expect[64];
    snprintf(expect, sizeof(expect), "%06u-%s", m->seq, m->full ? "full" : "incr");
    if (strcmp(expect, dirname) != 0) {
        fail(pb, path, 0, "names backup %s but lies in %s: moved or mixed", expect, dirname);
        goto out;
    }
    if (m->wal_to < m->wal_from ||
        (m->full && (m->wal_from > m->snap_lsn || m->snap_lsn > m->wal_to)) ||
        (m->full && m->wal_from != m->snap_lsn && m->prev == 0) ||
        (m->full && m->base != m->seq) || (!m->full && (m->base == 0 || m->base >= m->seq)) ||
        (m->has_last && m->last_lsn >= m->wal_to)) {
        fail(pb, path, 0, "inconsistent ranges (wal %" PRIu64 "..%" PRIu64 ", base %u)",
             m->wal_from, m->wal_to, m->base);
        goto out;
    }
    rc = 0;
out:
    free(b);
    return rc;
}

static void manifest_write(const char *bdir, manifest *m) {
    char text[8192], tmp[PATH_MAX], path[PATH_MAX];
    size_t n = manifest_format(m, text, sizeof(text));
    sscanf(text + n - 9, "%8x", &m->crc);
    pathf(tmp, sizeof(tmp), "%s/MANIFEST.tmp", bdir);
    pathf(path, sizeof(path), "%s/MANIFEST", bdir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die(2, "create %s: %s", tmp, strerror(errno));
    write_all(fd, text, n, tmp);
    if (fsync(fd) < 0 || close(fd) < 0) die(2, "fsync %s: %s", tmp, strerror(errno));
    if (rename(tmp, path) < 0) die(2, "rename %s: %s", tmp, strerror(errno));
    fsync_dir(bdir);
}

/* ---- The set ------------------------------------------------------------------- */

typedef struct bset {
    manifest *m;
    int n;
    char partial[64][64];
    int npartial;
    int bad;               /* manifests that failed */
} bset;

static int cmp_seq(const void *a, const void *b) {
    const manifest *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads every manifest of dir (quiet: do not print problems). */
static void set_load(const char *dir, bset *s, int report) {
    memset(s, 0, sizeof(*s));
    s->m = calloc(MAX_BACKUPS, sizeof(manifest));
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return;
        die(2, "%s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        unsigned seq;
        char kind[16];
        int used = 0;
        if (sscanf(nm, "%6u-%15[a-z]%n", &seq, kind, &used) != 2 || strlen(nm) < 11) continue;
        if (strstr(nm, ".partial")) {
            if (s->npartial < 64 && strlen(nm) < 64) memcpy(s->partial[s->npartial++], nm, strlen(nm) + 1);
            continue;
        }
        if (s->n >= MAX_BACKUPS) break;
        problem pb = {0};
        if (manifest_read(dir, nm, &s->m[s->n], &pb) < 0) {
            s->bad++;
            if (report)
                printf("DAMAGED %s: offset %" PRIu64 ": %s\n", pb.file, pb.offset, pb.why);
            continue;
        }
        s->n++;
    }
    closedir(d);
    qsort(s->m, (size_t)s->n, sizeof(manifest), cmp_seq);
}

/* Checks the links between the manifests of s: one set id, increasing
 * unique seqs, every incremental continuing the backup before it. Prints
 * problems; returns their count. */
static int set_check_chain(const char *dir, const bset *s) {
    int bad = 0;
    for (int i = 0; i < s->n; i++) {
        const manifest *m = &s->m[i];
        if (i && memcmp(m->set, s->m[0].set, 16) != 0) {
            printf("DAMAGED %s/%s/MANIFEST: belongs to another backup set than %s (mixed "
                   "directories)\n", dir, m->dirname, s->m[0].dirname);
            bad++;
            continue;
        }
        if (i && m->seq == s->m[i - 1].seq) {
            printf("DAMAGED %s/%s: backup number %u appears twice\n", dir, m->dirname, m->seq);
            bad++;
            continue;
        }
        /* A full backup whose WAL starts before its snapshot continues the
         * backup before it, like an increment. */
        if (m->full && m->wal_from == m->snap_lsn) continue;
        const manifest *p = i ? &s->m[i - 1] : NULL;
        if (!p || p->seq != m->prev) {
            printf("BROKEN CHAIN %s/%s/MANIFEST: continues backup %u, which is missing\n", dir,
                   m->dirname, m->prev);
            bad++;
        } else if (p->crc != m->prev_crc || p->wal_to != m->wal_from ||
                   (!m->full && p->base != m->base)) {
            printf("BROKEN CHAIN %s/%s/MANIFEST: does not continue %s (manifest crc %08x vs "
                   "%08x, WAL %" PRIu64 " vs %" PRIu64 ")\n",
                   dir, m->dirname, p->dirname, m->prev_crc, p->crc, m->wal_from, p->wal_to);
            bad++;
        }
    }
    return bad;
}

/* ---- WAL content checks ------------------------------------------------------ */

typedef struct wal_walk {
    uint64_t pos;            /* next expected LSN */
    uint64_t records;
    unsigned char *carry;    /* partial record across chunks */
    size_t carry_len, carry_cap;
    uint64_t raw_off;        /* raw offset of carry[0] in the file */
    /* restore */
    int out_fd;
    const char *out_path;
    int64_t cut_ms;          /* INT64_MAX: everything */
    uint64_t out_from;       /* write records with lsn >= this */
    int64_t run_max;
    int stopped;
    uint64_t written, last_written_lsn_end;
    int64_t last_time_ms;
    /* last record (create) */
    int has_last;
    uint64_t last_lsn;
    uint32_t last_crc;
} wal_walk;

static int walk_records(wal_walk *w, problem *pb) {
    size_t off = 0;
    while (w->carry_len - off >= WAL_HEADER_SIZE) {
        wal_record r;
        size_t need;
        const char *why;
        int c = wal_record_check(w->carry + off, w->carry_len - off, w->pos, &r, &need, &why);
        if (c == 0) break;
        if (c < 0)
            return fail(pb, "", w->raw_off + off, "WAL record at LSN %" PRIu64 " invalid: %s",
                        w->pos, why);
        size_t total = (size_t)(r.end_lsn - r.lsn);
        if (w->out_fd >= 0 && !w->stopped && r.lsn >= w->out_from) {
            int64_t t = r.time_ms > w->run_max ? r.time_ms : w->run_max;
            if (t > w->cut_ms) {
                w->stopped = 1;
            } else {
                w->run_max = t;
                write_all(w->out_fd, w->carry + off, total, w->out_path);
                w->written++;
                w->last_written_lsn_end = r.end_lsn;
                w->last_time_ms = r.time_ms;
            }
        }
        w->has_last = 1;
        w->last_lsn = r.lsn;
        w->last_crc = get32(w->carry + off + 4);
        w->records++;
        w->pos = r.end_lsn;
        off += total;
    }
    memmove(w->carry, w->carry + off, w->carry_len - off);
    w->carry_len -= off;
    w->raw_off += off;
    return 0;
}

static int wal_sink(void *ctx, const unsigned char *raw, size_t len, problem *pb) {
    wal_walk *w = ctx;
    if (w->carry_len + len > w->carry_cap) {
        size_t cap = w->carry_cap ? w->carry_cap : CHUNK_RAW * 2;
        while (cap < w->carry_len + len) cap *= 2;
        w->carry = realloc(w->carry, cap);
        if (!w->carry) die(2, "out of memory");
        w->carry_cap = cap;
    }
    memcpy(w->carry + w->carry_len, raw, len);
    w->carry_len += len;
    return walk_records(w, pb);
}

static void walk_init(wal_walk *w, uint64_t from) {
    memset(w, 0, sizeof(*w));
    w->pos = from;
    w->out_fd = -1;
    w->cut_ms = INT64_MAX;
    w->run_max = INT64_MIN;
}

/* Checks one backup's WAL file against its manifest (and, with out_fd,
 * writes its records up to the cut). 0 or -1 with *pb. */
static int check_wal(const char *dir, const manifest *m, wal_walk *w, problem *pb) {
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/%s/%s", dir, m->dirname, m->wal.name);
    w->raw_off = 0;
    if (lbz_read(path, KIND_WAL, m->seq, m->set, m->wal.stored, m->wal.crc, m->wal.raw,
                 wal_sink, w, pb) < 0) {
        if (!pb->file[0] || !strcmp(pb->file, "")) snprintf(pb->file, sizeof(pb->file), "%s", path);
        if (strstr(pb->why, "WAL record"))
            snprintf(pb->why + strlen(pb->why), sizeof(pb->why) - strlen(pb->why),
                     " (raw offset in the WAL data)");
        return -1;
    }
    if (w->carry_len)
        return fail(pb, path, w->raw_off, "WAL data ends inside a record (%zu bytes left)",
                    w->carry_len);
    if (w->pos != m->wal_to)
        return fail(pb, path, 0, "WAL ends at LSN %" PRIu64 ", the manifest says %" PRIu64,
                    w->pos, m->wal_to);
    return 0;
}

/* Decompresses the snapshot of m into out_path (fsynced). 0 or -1. */
typedef struct snap_out {
    int fd;
    const char *path;
} snap_out;

static int snap_sink(void *ctx, const unsigned char *raw, size_t len, problem *pb) {
    (void)pb;
    snap_out *o = ctx;
    write_all(o->fd, raw, len, o->path);
    return 0;
}

static int extract_snapshot(const char *dir, const manifest *m, const char *out_path,
                            problem *pb) {
    char path[PATH_MAX];
    pathf(path, sizeof(path), "%s/%s/%s", dir, m->dirname, m->snap.name);
    snap_out o = {.fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                  .path = out_path};
    if (o.fd < 0) die(2, "create %s: %s", out_path, strerror(errno));
    int rc = lbz_read(path, KIND_SNAPSHOT, m->seq, m->set, m->snap.stored, m->snap.crc,
                      m->snap.raw, snap_sink, &o, pb);
    if (fsync(o.fd) < 0 || close(o.fd) < 0) die(2, "fsync %s: %s", out_path, strerror(errno));
    if (rc < 0) return -1;
    snap_info info;
    snap_problem sp;
    int err = 0;
    int vrc = snap_verify(out_path, 0, &info, &sp, &err);
    if (vrc != LT_OK)
        return fail(pb, path, sp.offset, "the snapshot inside is invalid at its offset %" PRIu64
                    ": %s", sp.offset, vrc == LT_IOERR ? strerror(err) : sp.why);
    if (info.lsn != m->snap_lsn || info.commit_ts != m->snap_ts || info.keys != m->snap_keys)
        return fail(pb, path, 0, "the snapshot inside (LSN %" PRIu64 ", %" PRIu64
                    " keys) is not the one the manifest names (LSN %" PRIu64 ", %" PRIu64
                    " keys)", info.lsn, info.keys, m->snap_lsn, m->snap_keys);
    return 0;
}

/* Full check of one backup; prints and returns 0/-1. */
static int verify_backup(const char *dir, const manifest *m) {
    problem pb = {0};
    if (m->full) {
        char tmp[PATH_MAX];
        pathf(tmp, sizeof(tmp), "%s/.verify-%d.snap", dir, (int)getpid());
        int rc = extract_snapshot(dir, m, tmp, &pb);
        unlink(tmp);
        if (rc < 0) {
            printf("DAMAGED %s: offset %" PRIu64 ": %s\n", pb.file, pb.offset, pb.why);
            return -1;
        }
    }
    wal_walk w;
    walk_init(&w, m->wal_from);
    int rc = check_wal(dir, m, &w, &pb);
    free(w.carry);
    if (rc == 0 && w.records != m->wal_records) {
        snprintf(pb.file, sizeof(pb.file), "%s/%s/%s", dir, m->dirname, m->wal.name);
        snprintf(pb.why, sizeof(pb.why), "%" PRIu64 " records, the manifest says %" PRIu64,
                 w.records, m->wal_records);
        rc = -1;
    }
    /* The manifest's last record is the WAL's, or, when the WAL has no
     * record, one inherited from the previous backup (before wal_from). */
    int inherited = !w.has_last && m->has_last && m->last_lsn < m->wal_from;
    if (rc == 0 && !inherited &&
        (w.has_last != m->has_last ||
         (w.has_last && (w.last_lsn != m->last_lsn || w.last_crc != m->last_crc)))) {
        snprintf(pb.file, sizeof(pb.file), "%s/%s/%s", dir, m->dirname, m->wal.name);
        snprintf(pb.why, sizeof(pb.why), "its last record is not the manifest's");
        rc = -1;
    }
    if (rc < 0) {
        printf("DAMAGED %s: offset %" PRIu64 ": %s\n", pb.file, pb.offset, pb.why);
        return -1;
    }
    printf("ok %s\n", m->dirname);
    return 0;
}

/* ---- Chains -------------------------------------------------------------------------- */

/* Chains: [first, last] index ranges of s->m starting at a full backup and
 * continuing with valid incrementals. */
typedef struct chain {
    int first, last;
    int64_t from_ms, to_ms;
} chain;

static int continues(const manifest *p, const manifest *m) {
    return p->seq == m->prev && p->crc == m->prev_crc && p->wal_to == m->wal_from &&
           !memcmp(p->set, m->set, 16);
}

/* One chain per full backup: it and the backups after it while each one's
 * WAL continues the one before (an increment, or a full backup that also
 * holds the WAL since the previous backup). Chains of successive bases
 * overlap; restore prefers the newest base. */
static int set_chains(const bset *s, chain *out, int cap) {
    int n = 0;
    for (int i = 0; i < s->n && n < cap; i++) {
        if (!s->m[i].full) continue;
        int last = i;
        while (last + 1 < s->n && continues(&s->m[last], &s->m[last + 1])) last++;
        out[n].first = i;
        out[n].last = last;
        out[n].from_ms = s->m[i].snap_time_ms;
        out[n].to_ms = s->m[last].to_time_ms;
        n++;
    }
    return n;
}

/* ---- create ---------------------------------------------------------------------------- */

static const char *map_get(const reply *r, const char *k) {
    for (size_t i = 0; i + 1 < r->nelem; i += 2)
        if (r->elem[i]->str && !strcmp(r->elem[i]->str, k))
            return r->elem[i + 1]->type == ':' ? NULL : r->elem[i + 1]->str;
    return NULL;
}
static long long map_int(const reply *r, const char *k) {
    for (size_t i = 0; i + 1 < r->nelem; i += 2)
        if (r->elem[i]->str && !strcmp(r->elem[i]->str, k)) return r->elem[i + 1]->integer;
    return -1;
}

static void rm_rf_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX];
        pathf(p, sizeof(p), "%s/%s", path, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(path);
}

/* Fetches WAL [from, to) into w (a container) checking every record. */
static void fetch_wal(conn *c, uint64_t from, uint64_t to, lbz_writer *lw, wal_walk *walk) {
    char pos[32], cnt[32];
    snprintf(cnt, sizeof(cnt), "%u", FETCH_BYTES);
    while (walk->pos < to) {
        snprintf(pos, sizeof(pos), "%" PRIu64, walk->pos);
        reply *r = cmd_ok(c, CMD(c, "BACKUP", "READ", "WAL", pos, cnt), "BACKUP READ WAL");
        if (r->type != '$' || r->len == 0)
            die(2, "%s: BACKUP READ WAL %s returned nothing before LSN %" PRIu64, c->where, pos,
                to);
        throttle(r->len);
        problem pb = {0};
        uint64_t before = walk->pos;
        if (wal_sink(walk, (unsigned char *)r->str, r->len, &pb) < 0)
            die(1, "%s: the server sent an invalid WAL record at LSN %" PRIu64 ": %s",
                c->where, before, pb.why);
        if (walk->carry_len) die(1, "%s: the server sent a partial WAL record", c->where);
        if (walk->pos > to)
            die(1, "%s: WAL records pass the end LSN %" PRIu64, c->where, to);
        lbz_put(lw, r->str, r->len);
        reply_free(r);
    }
    (void)from;
}

/* The WAL part of a backup: BACKUP SYNC for its end, then the records
 * [from, end) into bdir/wal.lbz. Runs on the main connection (increments)
 * or on a thread with its own connection beside the snapshot transfer
 * (full backups). */
typedef struct wal_job {
    conn *c;                       /* NULL: open one from the fields below */
    const char *host, *port, *user, *pass;
    const char *bdir;
    uint64_t from;
    manifest *m;                   /* fills wal_*, to_time_ms, wal, last_* */
} wal_job;

static void *wal_job_run(void *arg) {
    wal_job *j = arg;
    conn own, *c = j->c;
    if (!c) {
        conn_open(&own, j->host, j->port, j->user, j->pass);
        c = &own;
    }
    manifest *m = j->m;
    reply *r = cmd_ok(c, CMD(c, "BACKUP", "SYNC"), "BACKUP SYNC");
    uint64_t end = (uint64_t)r->elem[0]->integer;
    m->to_time_ms = r->elem[1]->integer;
    reply_free(r);
    if (end < j->from)
        die(1, "%s: the WAL ends at %" PRIu64 ", before %" PRIu64, c->where, end, j->from);
    m->wal_from = j->from;
    m->wal_to = end;
    char path[PATH_MAX];
    snprintf(m->wal.name, sizeof(m->wal.name), "wal.lbz");
    pathf(path, sizeof(path), "%s/%s", j->bdir, m->wal.name);
    lbz_writer lw;
    lbz_create(&lw, path, KIND_WAL, m->seq, m->set);
    wal_walk walk;
    walk_init(&walk, j->from);
    fetch_wal(c, j->from, end, &lw, &walk);
    lbz_finish(&lw, &m->wal.stored, &m->wal.crc, &m->wal.raw);
    m->wal.present = 1;
    m->wal_records = walk.records;
    m->has_last = walk.has_last;
    m->last_lsn = walk.last_lsn;
    m->last_crc = walk.last_crc;
    free(walk.carry);
    if (c == &own) {
        close(own.fd);
        free(own.buf);
    }
    return NULL;
}

static unsigned char *random_id(unsigned char out[16]) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, out, 16) != 16) die(2, "/dev/urandom: %s", strerror(errno));
    close(fd);
    return out;
}

static int create_main(const char *dir, const char *host, const char *port, int force_full,
                       const char *user, const char *pass) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) die(2, "mkdir %s: %s", dir, strerror(errno));
    bset s;
    set_load(dir, &s, 0);
    if (s.bad) die(1, "%s holds damaged manifests: run 'lightning-backup verify %s'", dir, dir);
    for (int i = 0; i < s.npartial; i++) {
        char p[PATH_MAX];
        pathf(p, sizeof(p), "%s/%s", dir, s.partial[i]);
        fprintf(stderr, "removing the incomplete backup %s\n", p);
        rm_rf_dir(p);
    }
    const manifest *prev = s.n ? &s.m[s.n - 1] : NULL;
    manifest m = {0};
    if (prev) memcpy(m.set, prev->set, 16);
    else random_id(m.set);
    m.seq = prev ? prev->seq + 1 : 1;
    m.started_ms = now_ms();
    m.max_rate = max_rate;
    snprintf(m.server, sizeof(m.server), "%s:%s", host, port);
    int64_t t0 = mono_us();
    throttle_t0 = t0;

    conn c;
    conn_open(&c, host, port, user, pass);
    char rate[32];
    snprintf(rate, sizeof(rate), "%lld", max_rate);

    int full = force_full || !prev;
    int continuous = 0; /* the WAL since prev is on the server: no gap */
    reply *r;
    uint64_t end = 0;
    if (prev) {
        r = cmd_ok(&c, CMD(&c, "BACKUP", "SYNC"), "BACKUP SYNC");
        end = (uint64_t)r->elem[0]->integer;
        reply_free(r);
        /* The same log? The previous backup's last record must be the
         * server's record at that LSN. */
        const char *differs = NULL, *gone = NULL;
        char why[600] = "";
        if (end < prev->wal_to) {
            snprintf(why, sizeof(why), "its log ends at LSN %" PRIu64 ", before the previous "
                     "backup's end %" PRIu64, end, prev->wal_to);
            differs = why;
        } else if (prev->has_last) {
            char pos[32];
            snprintf(pos, sizeof(pos), "%" PRIu64, prev->last_lsn);
            r = CMD(&c, "BACKUP", "READ", "WAL", pos, "1");
            if (r->type == '-' && strstr(r->str, "not available")) {
                snprintf(why, sizeof(why), "%s", r->str);
                gone = why;
            } else if (r->type != '$' || r->len < WAL_HEADER_SIZE ||
                       get32((unsigned char *)r->str + 4) != prev->last_crc) {
                snprintf(why, sizeof(why), "its log differs from the backup set's at LSN %" PRIu64
                         " (%s)", prev->last_lsn, r->type == '-' ? r->str : "another record");
                differs = why;
            }
            reply_free(r);
        }
        if (differs && !force_full)
            die(1, "%s: %s: another server, or its data was replaced; use --full", c.where,
                differs);
        if (gone)
            fprintf(stderr, "the WAL since backup %u is gone from the server (%s): taking a "
                    "full backup; moments between backup %u and it cannot be restored\n",
                    prev->seq, gone, prev->seq);
        continuous = !differs && !gone;
        full = full || !continuous;
        /* A new base once the WAL to replay from the current base would
         * exceed the base's data. */
        const manifest *base = NULL;
        uint64_t since_base = end - prev->wal_to;
        for (int i = s.n - 1; i >= 0 && !base; i--) {
            if (s.m[i].full) base = &s.m[i];
            else since_base += s.m[i].wal.raw;
        }
        if (!full && base && since_base > base->snap_raw_data) {
            fprintf(stderr, "%" PRIu64 " bytes of WAL since the base %s are more than its data "
                    "(%" PRIu64 " bytes): taking a full backup\n", since_base, base->dirname,
                    base->snap_raw_data);
            full = 1;
        }
    }
    if (!full) {
        cmd_ok(&c, r = CMD(&c, "BACKUP", "BEGIN", "INCR", "MAXRATE", rate), "BACKUP BEGIN");
        reply_free(r);
    }
    m.full = full;
    char bdir[PATH_MAX], final[PATH_MAX];
    snprintf(m.dirname, sizeof(m.dirname), "%06u-%s", m.seq, full ? "full" : "incr");
    pathf(final, sizeof(final), "%s/%s", dir, m.dirname);
    pathf(bdir, sizeof(bdir), "%s.partial", final);
    if (mkdir(bdir, 0755) < 0) die(2, "mkdir %s: %s", bdir, strerror(errno));
    fsync_dir(dir);
    m.prev = prev ? prev->seq : 0;
    m.prev_crc = prev && continuous ? prev->crc : 0; /* 0: this full base does not continue it */
    m.base = full ? m.seq : prev->base;

    lbz_writer lw;
    char path[PATH_MAX];
    pthread_t wal_thread;
    wal_job wal_job_main = {.host = host, .port = port, .user = user, .pass = pass,
                            .bdir = bdir, .m = &m};
    if (full) {
        cmd_ok(&c, r = CMD(&c, "BACKUP", "BEGIN", "FULL", "MAXRATE", rate), "BACKUP BEGIN");
        reply_free(r);
        int64_t waited = 0;
        for (;;) {
            r = cmd_ok(&c, CMD(&c, "BACKUP", "STATUS"), "BACKUP STATUS");
            const char *st = map_get(r, "snapshot");
            if (st && !strcmp(st, "ready")) break;
            if (!st || strcmp(st, "waiting") != 0 || waited > SNAPSHOT_WAIT_MS)
                die(2, "%s: the backup snapshot failed (%s): see the server log", c.where,
                    st ? st : "?");
            reply_free(r);
            usleep(5000);
            waited += 5;
        }
        m.snap_lsn = (uint64_t)map_int(r, "snapshot_lsn");
        m.snap_ts = (uint64_t)map_int(r, "snapshot_commit_ts");
        m.snap_time_ms = map_int(r, "snapshot_time_ms");
        m.snap_keys = (uint64_t)map_int(r, "snapshot_keys");
        m.snap_raw_data = (uint64_t)map_int(r, "snapshot_raw_bytes");
        uint64_t snap_bytes = (uint64_t)map_int(r, "snapshot_bytes");
        reply_free(r);
        /* The WAL (from the previous backup's end when this base continues
         * it, so the moments between stay restorable; else from the
         * snapshot) on a second connection while the snapshot transfers. */
        wal_job_main.from = continuous && prev->wal_to <= m.snap_lsn ? prev->wal_to : m.snap_lsn;
        if ((errno = pthread_create(&wal_thread, NULL, wal_job_run, &wal_job_main)) != 0)
            die(2, "pthread_create: %s", strerror(errno));
        snprintf(m.snap.name, sizeof(m.snap.name), "snapshot.lbz");
        pathf(path, sizeof(path), "%s/%s", bdir, m.snap.name);
        lbz_create(&lw, path, KIND_SNAPSHOT, m.seq, m.set);
        char off[32], cnt[32];
        snprintf(cnt, sizeof(cnt), "%u", FETCH_BYTES);
        for (uint64_t o = 0; o < snap_bytes;) {
            snprintf(off, sizeof(off), "%" PRIu64, o);
            r = cmd_ok(&c, CMD(&c, "BACKUP", "READ", "SNAPSHOT", off, cnt), "BACKUP READ");
            if (r->type != '$' || r->len == 0)
                die(2, "%s: the snapshot ended at %" PRIu64 " of %" PRIu64 " bytes", c.where, o,
                    snap_bytes);
            throttle(r->len);
            lbz_put(&lw, r->str, r->len);
            o += r->len;
            reply_free(r);
        }
        lbz_finish(&lw, &m.snap.stored, &m.snap.crc, &m.snap.raw);
        m.snap.present = 1;
        if ((errno = pthread_join(wal_thread, NULL)) != 0)
            die(2, "pthread_join: %s", strerror(errno));
    } else {
        wal_job_main.c = &c;
        wal_job_main.from = prev->wal_to;
        wal_job_run(&wal_job_main);
    }
    if (!m.has_last && prev && continuous) {
        /* No record since the previous backup: its last record still
         * anchors the next increment's same-server check. */
        m.has_last = prev->has_last;
        m.last_lsn = prev->last_lsn;
        m.last_crc = prev->last_crc;
    }
    fsync_dir(bdir);
    m.duration_ms = (mono_us() - t0) / 1000;
    manifest_write(bdir, &m);
    if (rename(bdir, final) < 0) die(2, "rename %s: %s", bdir, strerror(errno));
    fsync_dir(dir);
    reply_free(cmd_ok(&c, CMD(&c, "BACKUP", "END", "OK"), "BACKUP END"));
    close(c.fd);
    free(c.buf);
    char a[40], b[40];
    fmt_time(full ? m.snap_time_ms : m.to_time_ms, a, sizeof(a));
    fmt_time(m.to_time_ms, b, sizeof(b));
    printf("%s: %s backup %u, WAL %" PRIu64 "..%" PRIu64 " (%" PRIu64 " records), %" PRIu64
           " bytes stored in %.3f s%s%s\n",
           final, full ? "full" : "incremental", m.seq, m.wal_from, m.wal_to, m.wal_records,
           m.wal.stored + m.snap.stored, (double)m.duration_ms / 1000,
           full ? ", snapshot at " : "", full ? a : "");
    (void)b;
    free(s.m);
    return 0;
}

/* ---- list / verify ---------------------------------------------------------------- */

static int list_main(const char *dir) {
    bset s;
    set_load(dir, &s, 1);
    for (int i = 0; i < s.n; i++) {
        const manifest *m = &s.m[i];
        char a[40], b[40];
        fmt_time(m->full ? m->snap_time_ms : m->started_ms, a, sizeof(a));
        fmt_time(m->to_time_ms, b, sizeof(b));
        printf("%s  %-4s  taken %s  covers to %s  WAL %" PRIu64 "..%" PRIu64 "  %" PRIu64
               " records  %" PRIu64 " bytes\n",
               m->dirname, m->full ? "full" : "incr", a, b, m->wal_from, m->wal_to,
               m->wal_records, m->wal.stored + m->snap.stored);
    }
    for (int i = 0; i < s.npartial; i++)
        printf("%s  INCOMPLETE (interrupted; never used by restore)\n", s.partial[i]);
    chain ch[MAX_BACKUPS];
    int nc = set_chains(&s, ch, MAX_BACKUPS);
    for (int i = 0; i < nc; i++) {
        char a[40], b[40];
        fmt_time(ch[i].from_ms, a, sizeof(a));
        fmt_time(ch[i].to_ms, b, sizeof(b));
        printf("restorable: %s .. %s  (backups %s .. %s)\n", a, b, s.m[ch[i].first].dirname,
               s.m[ch[i].last].dirname);
    }
    if (!s.n && !s.npartial && !s.bad) printf("no backups in %s\n", dir);
    free(s.m);
    return s.bad ? 1 : 0;
}

static int verify_main(const char *dir) {
    bset s;
    set_load(dir, &s, 1);
    int bad = s.bad;
    bad += set_check_chain(dir, &s);
    for (int i = 0; i < s.n; i++)
        if (verify_backup(dir, &s.m[i]) < 0) bad++;
    for (int i = 0; i < s.npartial; i++)
        printf("INCOMPLETE %s/%s: an interrupted backup (ignored; the next create removes it)\n",
               dir, s.partial[i]);
    printf("%d backup(s) checked, %d problem(s)\n", s.n + s.bad, bad);
    free(s.m);
    return bad ? 1 : 0;
}

/* ---- restore ---------------------------------------------------------------------------- */

static int dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 1;
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

static void clear_datadir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[PATH_MAX];
        pathf(p, sizeof(p), "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_rf_dir(p);
        else unlink(p);
    }
    closedir(d);
}

static int restore_main(const char *dir, const char *into, int latest, int64_t at_ms,
                        int force) {
    bset s;
    set_load(dir, &s, 1);
    if (s.bad) die(1, "%s holds damaged manifests (above); run verify", dir);
    if (set_check_chain(dir, &s)) die(1, "the backup chain in %s is broken (above)", dir);
    chain ch[MAX_BACKUPS];
    int nc = set_chains(&s, ch, MAX_BACKUPS);
    if (!nc) die(1, "no complete backup in %s", dir);
    int pick = -1;
    if (latest) {
        pick = nc - 1;
        at_ms = INT64_MAX;
    } else {
        for (int i = nc - 1; i >= 0 && pick < 0; i--)
            if (ch[i].from_ms <= at_ms && at_ms <= ch[i].to_ms) pick = i;
        if (pick < 0) {
            char t[40];
            fmt_time(at_ms, t, sizeof(t));
            fprintf(stderr, "lightning-backup: no backup chain covers %s; restorable ranges:\n",
                    t);
            for (int i = 0; i < nc; i++) {
                char a[40], b[40];
                fmt_time(ch[i].from_ms, a, sizeof(a));
                fmt_time(ch[i].to_ms, b, sizeof(b));
                fprintf(stderr, "  %s .. %s\n", a, b);
            }
            exit(1);
        }
    }
    struct stat st;
    if (stat(into, &st) == 0 && !dir_is_empty(into)) {
        if (!force)
            die(1, "%s is not empty: refusing to write into it (use --force to replace its "
                "contents)", into);
        clear_datadir(into);
    }
    if (mkdir(into, 0755) < 0 && errno != EEXIST) die(2, "mkdir %s: %s", into, strerror(errno));
    const manifest *base = &s.m[ch[pick].first];
    problem pb = {0};
    char name[SNAP_NAME_SIZE], tmp[PATH_MAX], path[PATH_MAX];
    snap_file_name(base->snap_lsn, name);
    pathf(tmp, sizeof(tmp), "%s/%s.tmp", into, name);
    pathf(path, sizeof(path), "%s/%s", into, name);
    if (extract_snapshot(dir, base, tmp, &pb) < 0) {
        unlink(tmp);
        die(1, "%s: offset %" PRIu64 ": %s", pb.file, pb.offset, pb.why);
    }
    /* The WAL of the chain up to the cut. */
    char waldir[PATH_MAX], seg[25], segtmp[PATH_MAX], segpath[PATH_MAX];
    pathf(waldir, sizeof(waldir), "%s/appendonlydir", into);
    if (mkdir(waldir, 0755) < 0 && errno != EEXIST) die(2, "mkdir %s: %s", waldir,
                                                        strerror(errno));
    wal_segment_name(base->snap_lsn, seg);
    pathf(segtmp, sizeof(segtmp), "%s/%s.tmp", waldir, seg);
    pathf(segpath, sizeof(segpath), "%s/%s", waldir, seg);
    wal_walk w;
    walk_init(&w, base->wal_from);
    w.out_fd = open(segtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    w.out_path = segtmp;
    w.cut_ms = at_ms;
    w.out_from = base->snap_lsn; /* the base's WAL may start before its snapshot */
    if (w.out_fd < 0) die(2, "create %s: %s", segtmp, strerror(errno));
    for (int i = ch[pick].first; i <= ch[pick].last && !w.stopped; i++) {
        if (check_wal(dir, &s.m[i], &w, &pb) < 0) {
            unlink(segtmp);
            unlink(tmp);
            die(1, "%s: offset %" PRIu64 ": %s", pb.file, pb.offset, pb.why);
        }
    }
    if (fsync(w.out_fd) < 0 || close(w.out_fd) < 0) die(2, "fsync %s: %s", segtmp,
                                                        strerror(errno));
    free(w.carry);
    if (rename(tmp, path) < 0 || rename(segtmp, segpath) < 0)
        die(2, "rename into %s: %s", into, strerror(errno));
    fsync_dir(waldir);
    snap_manifest sm = {0};
    snprintf(sm.current, sizeof(sm.current), "%s", name);
    if (snap_manifest_write(into, &sm) != LT_OK)
        die(2, "%s/%s: %s", into, SNAP_MANIFEST_NAME, strerror(errno));
    fsync_dir(into);
    char a[40], b[40];
    fmt_time(base->snap_time_ms, a, sizeof(a));
    fmt_time(w.written ? w.last_time_ms : base->snap_time_ms, b, sizeof(b));
    printf("restored into %s: snapshot of %s (%s) + %" PRIu64 " WAL records, last commit at %s\n",
           into, a, base->dirname, w.written, b);
    free(s.m);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: lightning-backup create --host H --port P --to DIR [--full] "
            "[--max-rate BYTES/s] [-a PASS] [--user U]\n"
            "       lightning-backup list DIR\n"
            "       lightning-backup verify DIR\n"
            "       lightning-backup restore DIR --into DATADIR [--time RFC3339 | --latest] "
            "[--force]\n");
    exit(2);
}

int main(int argc, char **argv) {
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
    if (argc < 2) usage();
    const char *sub = argv[1];
    const char *host = "127.0.0.1", *port = "6379", *to = NULL, *user = NULL, *pass = NULL;
    const char *into = NULL, *dir = NULL, *time_s = NULL;
    int full = 0, latest = 0, force = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--host") && more) host = argv[++i];
        else if ((!strcmp(a, "--port") || !strcmp(a, "-p")) && more) port = argv[++i];
        else if (!strcmp(a, "-h") && more) host = argv[++i];
        else if (!strcmp(a, "--to") && more) to = argv[++i];
        else if (!strcmp(a, "--full")) full = 1;
        else if (!strcmp(a, "--max-rate") && more) {
            char *end;
            max_rate = strtoll(argv[++i], &end, 10);
            if (*end || max_rate < 0) die(2, "--max-rate: not a number of bytes per second");
        } else if ((!strcmp(a, "-a") || !strcmp(a, "--pass")) && more) pass = argv[++i];
        else if (!strcmp(a, "--user") && more) user = argv[++i];
        else if (!strcmp(a, "--into") && more) into = argv[++i];
        else if (!strcmp(a, "--time") && more) time_s = argv[++i];
        else if (!strcmp(a, "--latest")) latest = 1;
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-' && !dir) dir = a;
        else usage();
    }
    if (!pass) pass = getenv("REDISCLI_AUTH");
    if (!strcmp(sub, "create")) {
        if (!to) usage();
        return create_main(to, host, port, full, user, pass);
    }
    if (!strcmp(sub, "list") && dir) return list_main(dir);
    if (!strcmp(sub, "verify") && dir) return verify_main(dir);
    if (!strcmp(sub, "restore") && dir && into) {
        int64_t at = 0;
        if (!!time_s == !!latest) die(2, "restore needs exactly one of --time and --latest");
        if (time_s && !parse_time(time_s, &at))
            die(2, "--time %s: not an RFC 3339 time (2026-12-07T04:45:25.123Z)", time_s);
        return restore_main(dir, into, latest, at, force);
    }
    usage();
}
