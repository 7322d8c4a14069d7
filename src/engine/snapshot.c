/*
 * snapshot.c — snapshot files: format, writer, verifier, parallel loader,
 * manifest (API and file naming in snapshot.h).
 *
 * ON-DISK FORMAT (version 1; all integers little-endian)
 *
 *   File header, 48 bytes:
 *     off size field
 *       0   8  magic       "LTNGSNAP"
 *       8   4  version     1
 *      12   4  codec       configured SNAP_CODEC_* (informational)
 *      16   8  lsn         WAL LSN covered: recovery replays records >= it
 *      24   8  commit_ts   MVCC timestamp of the view: every commit with
 *                          ts <= it is in the file, none with ts > it
 *      32   8  time_ms     wall clock (Unix ms) when the view was opened
 *      40   4  databases   databases of the writer
 *      44   4  crc         CRC32C of bytes 0..43
 *
 *   Then blocks, each:
 *       0   4  magic       "LSB1"
 *       4   1  codec       0 none, 1 LZ4 (block format), 2 zstd (one frame)
 *       5   3  zero
 *       8   4  raw_len     uncompressed payload bytes (> 0)
 *      12   4  stored_len  bytes that follow (== raw_len for codec 0)
 *      16   4  nrecords    records in the payload (> 0)
 *      20   4  crc         crc32c(crc32c(0, stored, stored_len), hdr, 20)
 *      24   .  stored bytes
 *   The uncompressed payload is nrecords records, back to back, none
 *   spanning blocks:
 *       0   1  type        KS_TYPE_* (0 string, 1 list, 2 set, 3 zset, 4 hash,
 *                          6 stream: Redis's numbering, 5 is unused)
 *       1   1  enc         0 raw string bytes, 1 int string (vlen 8, int64),
 *                          2 collection: ks_type_ops.encode of the type
 *       2   2  db          database index
 *       4   8  expire_ms   absolute Unix ms, -1 for none
 *      12   4  klen        key bytes
 *      16   8  vlen        value bytes
 *      24   .  key, then value
 *
 *   End record, 48 bytes, ending the file exactly:
 *       0   4  magic       "LSE1"
 *       4   4  zero
 *       8   8  blocks      number of blocks
 *      16   8  keys        number of records
 *      24   8  raw_bytes   sum of raw_len
 *      32   8  lsn         == the header's
 *      40   4  file_crc    CRC32C of every byte before the end record
 *      44   4  crc         CRC32C of bytes 0..43
 *
 *   VALIDITY (snap_verify, recovery, lightning-check): the header's magic,
 *   version and crc match; every block has its magic, a known codec, zero
 *   padding, 0 < raw_len, stored_len within the file, a matching crc,
 *   decompresses to exactly raw_len bytes and holds exactly nrecords well
 *   formed records (type and enc agree, db < databases, klen and string
 *   values <= 512 MiB, expire_ms >= -1, a collection decodes); after the
 *   last block comes the end record, whose crc, counts, lsn and file_crc
 *   match and which ends the file. Anything else makes the whole file
 *   invalid (a snapshot is all or nothing): recovery then falls back to the
 *   previous snapshot. The first problem is reported with the file's byte
 *   offset (of the block; for a bad record, the block's offset and the
 *   record's offset inside the uncompressed payload).
 *
 * WRITER: iterates the view database by database, shard by shard (the view
 * is sequential: writers stop copying for shards it has passed), encoding
 * records into a raw block buffer of about block_bytes under the shard
 * lock (ks_view_iter_next's budget bounds each lock hold to
 * ITER_BUDGET keys), and compresses and writes a block whenever it is full.
 * A record larger than the block target gets a block of its own; a block
 * whose compressed form is not smaller is stored uncompressed.
 *
 * LOADER: one pass on the calling thread checks the structure and every CRC
 * (mmap of the file), collecting block offsets; then nthreads threads take
 * blocks in turn, decompress, decode and insert each record in its own
 * one-key transaction (shard locks keep them apart).
 */
#include "engine/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/assert.h"
#include "common/crc32c.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "engine/entry.h"
#include "engine/keyspace.h"

#define SNAP_MAGIC "LTNGSNAP"
#define SNAP_VERSION 1
#define SNAP_HEADER_SIZE 48
#define BLOCK_MAGIC 0x3142534Cu /* "LSB1" */
#define BLOCK_HEADER_SIZE 24
#define END_MAGIC 0x3145534Cu   /* "LSE1" */
#define END_SIZE 48
#define REC_HEADER_SIZE 24
#define MAX_STR ((uint64_t)512 * 1024 * 1024)
#define MAX_BLOCK_RAW ((uint64_t)UINT32_MAX)
#define ZSTD_LEVEL 3
#define ITER_BUDGET 128 /* keys per shard-lock hold while writing */
#define MAX_LOAD_THREADS 16

enum { ENC_RAW = 0, ENC_INT = 1, ENC_OBJ = 2 };

_Static_assert(SNAP_NAME_SIZE >= sizeof("snapshot-00000000000000000000.snap"), "name size");

/* ---- Little-endian helpers ------------------------------------------------ */
static void put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void snap_file_name(uint64_t lsn, char *out) {
    snprintf(out, SNAP_NAME_SIZE, "snapshot-%020" PRIu64 ".snap", lsn);
}

int snap_parse_name(const char *name, uint64_t *lsn) {
    if (strlen(name) != 34 || strncmp(name, "snapshot-", 9) != 0 ||
        strcmp(name + 29, ".snap") != 0)
        return 0;
    uint64_t v = 0;
    for (int i = 9; i < 29; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *lsn = v;
    return 1;
}

static void problem(snap_problem *pb, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(snap_problem *pb, uint64_t off, const char *fmt, ...) {
    if (pb->found) return;
    pb->found = 1;
    pb->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pb->why, sizeof(pb->why), fmt, ap);
    va_end(ap);
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* ---- Growable buffer --------------------------------------------------------- */
typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t more) {
    if (b->cap - b->len >= more) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more) cap *= 2;
    b->p = lt_xrealloc(b->p, cap);
    b->cap = cap;
}

static int buf_emit(void *ctx, const void *p, size_t n) {
    buf *b = ctx;
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* ---- Writer ---------------------------------------------------------------- */
typedef struct block {
    buf raw;       /* records */
    uint32_t nrec;
} block;

typedef struct writer {
    const snap_write_opts *o;
    size_t block_bytes;
    unsigned db;         /* database being iterated */
    int fd;
    uint64_t off;        /* file bytes written */
    uint32_t file_crc;
    block cur;           /* block being filled */
    block *sealed;       /* full blocks waiting to be written (filled under
                            a shard lock, written after it is released) */
    int nsealed, capsealed;
    buf out;             /* compression output */
    ZSTD_CCtx *zc;
    uint64_t keys, blocks, raw_total;
    int err;             /* errno of a failed write */
    int too_large;       /* a record over MAX_BLOCK_RAW */
    ks_view *view;
} writer;

static int write_all(writer *w, const void *p, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(w->fd, (const char *)p + done, n - done);
        if (k < 0) {
            if (errno == EINTR) continue;
            w->err = errno;
            return -1;
        }
        done += (size_t)k;
    }
    w->file_crc = crc32c(w->file_crc, p, n);
    w->off += n;
    return 0;
}

/* Compresses and writes b's records as one block; empties b. */
static int write_block(writer *w, block *b) {
    if (b->nrec == 0) return 0;
    size_t raw_len = b->raw.len;
    ASSERT(raw_len <= MAX_BLOCK_RAW);
    int codec = w->o->codec;
    const unsigned char *stored = b->raw.p;
    size_t stored_len = raw_len;
    if (codec == SNAP_CODEC_LZ4 && raw_len <= LZ4_MAX_INPUT_SIZE) {
        size_t cap = (size_t)LZ4_compressBound((int)raw_len);
        w->out.len = 0;
        buf_reserve(&w->out, cap);
        int n = LZ4_compress_default((const char *)b->raw.p, (char *)w->out.p, (int)raw_len,
                                     (int)cap);
        if (n > 0 && (size_t)n < raw_len) {
            stored = w->out.p;
            stored_len = (size_t)n;
        } else {
            codec = SNAP_CODEC_NONE;
        }
    } else if (codec == SNAP_CODEC_ZSTD) {
        size_t cap = ZSTD_compressBound(raw_len);
        w->out.len = 0;
        buf_reserve(&w->out, cap);
        if (!w->zc) w->zc = ZSTD_createCCtx();
        size_t n = w->zc ? ZSTD_compressCCtx(w->zc, w->out.p, cap, b->raw.p, raw_len, ZSTD_LEVEL)
                         : 0;
        if (w->zc && !ZSTD_isError(n) && n > 0 && n < raw_len) {
            stored = w->out.p;
            stored_len = n;
        } else {
            codec = SNAP_CODEC_NONE;
        }
    } else {
        codec = SNAP_CODEC_NONE;
    }
    unsigned char h[BLOCK_HEADER_SIZE] = {0};
    put32(h, BLOCK_MAGIC);
    h[4] = (unsigned char)codec;
    put32(h + 8, (uint32_t)raw_len);
    put32(h + 12, (uint32_t)stored_len);
    put32(h + 16, b->nrec);
    put32(h + 20, crc32c(crc32c(0, stored, stored_len), h, 20));
    if (write_all(w, h, sizeof(h)) < 0 || write_all(w, stored, stored_len) < 0) return -1;
    w->blocks++;
    w->raw_total += raw_len;
    b->raw.len = 0;
    b->nrec = 0;
    if (b->raw.cap > 4 * w->block_bytes) {
        /* Shrink after an oversized record. */
        free(b->raw.p);
        b->raw = (buf){0};
    }
    if (w->out.cap > 8 * w->block_bytes) {
        free(w->out.p);
        w->out = (buf){0};
    }
    return 0;
}

/* Writes the sealed blocks (no lock held). */
static int write_sealed(writer *w) {
    int rc = 0;
    for (int i = 0; i < w->nsealed; i++) {
        if (rc == 0) rc = write_block(w, &w->sealed[i]);
        free(w->sealed[i].raw.p);
    }
    w->nsealed = 0;
    return rc;
}

/* Moves the current block to the sealed list. */
static void seal(writer *w) {
    if (w->nsealed == w->capsealed) {
        w->capsealed = w->capsealed ? w->capsealed * 2 : 8;
        w->sealed = lt_xrealloc(w->sealed, (size_t)w->capsealed * sizeof(*w->sealed));
    }
    w->sealed[w->nsealed++] = w->cur;
    w->cur = (block){0};
}

/* View callback (shard lock held, no engine calls): appends one record. */
static void write_record(writer *w, const ks_entry *e);

/* rdb-key-save-delay for n keys (Redis's debugDelay per key). */
static void key_delay(int us, uint64_t n) {
    uint64_t total = 0;
    if (us > 0) total = (uint64_t)us * n;
    else if (us < 0)
        for (uint64_t i = 0; i < n; i++) total += (lt_random_below((uint64_t)-(int64_t)us) == 0);
    while (total) { /* in slices, so one huge value cannot overflow usleep */
        unsigned slice = total > 100000 ? 100000 : (unsigned)total;
        usleep(slice);
        total -= slice;
    }
}

/* The iteration's callback: every visible key but those written first. */
static void write_entry(void *ctx, const ks_entry *e) {
    writer *w = ctx;
    if (ks_entry_encoding(e) == KS_ENC_OBJ && ks_view_early_written(w->view, e)) return;
    write_record(w, e);
}

/* A big collection a writer waits for (mvcc.h), in any database. */
static void write_early(void *ctx, unsigned dbid, const ks_entry *e) {
    writer *w = ctx;
    unsigned cur = w->db;
    w->db = dbid;
    write_record(w, e);
    w->db = cur;
}

static void write_record(writer *w, const ks_entry *e) {
    if (w->too_large) return;
    if (w->cur.raw.len >= w->block_bytes) seal(w);
    buf *r = &w->cur.raw;
    size_t start = r->len;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);
    int type = ks_entry_type(e), enc;
    buf_reserve(r, REC_HEADER_SIZE + klen);
    r->len += REC_HEADER_SIZE;
    memcpy(r->p + r->len, key, klen);
    r->len += klen;
    if (type == KS_TYPE_STRING && ks_entry_encoding(e) == KS_ENC_INT) {
        long long v = 0;
        ks_entry_get_int(e, &v);
        unsigned char b[8];
        put64(b, (uint64_t)v);
        buf_emit(r, b, 8);
        enc = ENC_INT;
    } else if (type == KS_TYPE_STRING) {
        size_t vlen;
        const char *val = ks_entry_str(e, NULL, &vlen);
        buf_emit(r, val, vlen);
        enc = ENC_RAW;
    } else {
        const ks_type_ops *ops = ks_type_get(type);
        ASSERT(ops && ops->encode);
        ops->encode(ks_entry_obj(e), buf_emit, r);
        enc = ENC_OBJ;
    }
    size_t vlen = r->len - start - REC_HEADER_SIZE - klen;
    if (r->len > MAX_BLOCK_RAW) {
        /* Only when this one record is that large: a block holding others
         * was sealed above first (block_bytes is far below the limit). */
        w->too_large = 1;
        r->len = start;
        return;
    }
    unsigned char *h = r->p + start;
    h[0] = (unsigned char)type;
    h[1] = (unsigned char)enc;
    put16(h + 2, (uint16_t)w->db);
    put64(h + 4, (uint64_t)ks_entry_expire_ms(e));
    put32(h + 12, (uint32_t)klen);
    put64(h + 16, (uint64_t)vlen);
    w->cur.nrec++;
    w->keys++;
}

static void writer_free(writer *w) {
    for (int i = 0; i < w->nsealed; i++) free(w->sealed[i].raw.p);
    free(w->sealed);
    free(w->cur.raw.p);
    free(w->out.p);
    if (w->zc) ZSTD_freeCCtx(w->zc);
}

int snap_write(lt_db *db, ks_view *v, const snap_write_opts *o, snap_write_result *res) {
    memset(res, 0, sizeof(*res));
    ASSERT(v->sequential && v->passed == 0);
    unsigned ndb = ks_databases(db);
    ASSERT(ndb <= 65536);
    char tmp[PATH_MAX], path[PATH_MAX];
    snap_file_name(o->lsn, res->name);
    snprintf(path, sizeof(path), "%s/%s", o->dir, res->name);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", o->dir, res->name);
    writer w = {.o = o, .block_bytes = o->block_bytes ? o->block_bytes : SNAP_DEFAULT_BLOCK_BYTES,
                .view = v};
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd < 0) {
        res->sys_errno = errno;
        return LT_IOERR;
    }
    unsigned char h[SNAP_HEADER_SIZE] = {0};
    memcpy(h, SNAP_MAGIC, 8);
    put32(h + 8, SNAP_VERSION);
    put32(h + 12, (uint32_t)o->codec);
    put64(h + 16, o->lsn);
    put64(h + 24, v->ts);
    put64(h + 32, (uint64_t)v->now_ms);
    put32(h + 40, ndb);
    put32(h + 44, crc32c(0, h, 44));
    int rc = write_all(&w, h, sizeof(h)) == 0 ? LT_OK : LT_IOERR;
    int aborted = 0;
    ks_view_early_enable(v);
    for (unsigned d = 0; d < ndb && rc == LT_OK && !aborted; d++) {
        ks_view_iter it;
        ks_view_iter_init(&it, v, d);
        w.db = d;
        int more = 1;
        while (more && rc == LT_OK) {
            /* Writers waiting for a big collection first (mvcc.h). */
            ks_view_early_serve(v, &it, d, write_early, &w);
            uint64_t before = w.keys;
            more = ks_view_iter_next(&it, ITER_BUDGET, write_entry, &w);
            if (o->key_delay_us)
                key_delay(__atomic_load_n(o->key_delay_us, __ATOMIC_RELAXED), w.keys - before);
            if (w.too_large) rc = LT_INVAL;
            else if (write_sealed(&w) < 0) rc = LT_IOERR;
            else if (!more && d + 1 == ndb && write_block(&w, &w.cur) < 0) rc = LT_IOERR;
            if (o->abort_flag && __atomic_load_n(o->abort_flag, __ATOMIC_RELAXED)) {
                aborted = 1;
                break;
            }
            if (o->progress && rc == LT_OK) o->progress(o->ctx, w.keys, w.off);
        }
        ks_view_iter_close(&it);
    }
    ks_view_early_disable(v);
    if (w.too_large) rc = LT_INVAL;
    else if (rc == LT_OK && write_sealed(&w) < 0) rc = LT_IOERR;
    if (aborted && rc == LT_OK) rc = LT_INVAL;
    if (rc == LT_OK) {
        unsigned char end[END_SIZE] = {0};
        put32(end, END_MAGIC);
        put64(end + 8, w.blocks);
        put64(end + 16, w.keys);
        put64(end + 24, w.raw_total);
        put64(end + 32, o->lsn);
        put32(end + 40, w.file_crc);
        put32(end + 44, crc32c(0, end, 44));
        if (write_all(&w, end, sizeof(end)) < 0 || fsync(w.fd) < 0) {
            if (!w.err) w.err = errno;
            rc = LT_IOERR;
        }
    }
    if (close(w.fd) < 0 && rc == LT_OK) {
        w.err = errno;
        rc = LT_IOERR;
    }
    if (rc == LT_OK && rename(tmp, path) < 0) {
        w.err = errno;
        rc = LT_IOERR;
    }
    if (rc == LT_OK && fsync_dir(o->dir) < 0) {
        w.err = errno;
        rc = LT_IOERR;
    }
    if (rc != LT_OK) unlink(tmp);
    res->sys_errno = w.err;
    res->info = (snap_info){.lsn = o->lsn, .commit_ts = v->ts, .time_ms = v->now_ms,
                            .codec = (uint32_t)o->codec, .databases = ndb, .keys = w.keys,
                            .blocks = w.blocks, .raw_bytes = w.raw_total, .file_bytes = w.off};
    writer_free(&w);
    return rc;
}

/* ---- Reader ------------------------------------------------------------------- */
/* One decoded record; key/val point into the block payload. */
typedef struct snap_rec {
    unsigned db;
    int type, enc;
    int64_t expire_ms;
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    void *obj;     /* ENC_OBJ: decoded object, owned by the callback */
} snap_rec;

/* Returns 0 to continue, -1 to stop (the callback failed). */
typedef int rec_fn(void *ctx, snap_rec *r);

/* Parses a block's uncompressed payload: exactly nrec records. Pure. On a
 * malformed record returns -1 with *bad_off (offset in the payload) and
 * *why. fn may be NULL (check only: objects are decoded and freed). */
static int parse_records(const unsigned char *p, size_t len, uint32_t nrec, unsigned ndb,
                         rec_fn *fn, void *ctx, uint64_t *bad_off, const char **why) {
    size_t pos = 0;
    for (uint32_t i = 0; i < nrec; i++) {
        *bad_off = pos;
        if (len - pos < REC_HEADER_SIZE) {
            *why = "record header past the end of the block";
            return -1;
        }
        const unsigned char *h = p + pos;
        snap_rec r = {.type = h[0], .enc = h[1], .db = get16(h + 2),
                      .expire_ms = (int64_t)get64(h + 4)};
        uint64_t klen = get32(h + 12), vlen = get64(h + 16);
        if (r.type == KS_TYPE_STRING ? (r.enc != ENC_RAW && r.enc != ENC_INT)
                                     : (r.enc != ENC_OBJ ||
                                        (r.type > KS_TYPE_HASH && r.type != KS_TYPE_STREAM) ||
                                        !ks_type_get(r.type) || !ks_type_get(r.type)->decode)) {
            *why = "unknown type or encoding";
            return -1;
        }
        if (ndb && r.db >= ndb) {
            *why = "database index out of range";
            return -1;
        }
        if (r.expire_ms < -1) {
            *why = "negative expiry";
            return -1;
        }
        size_t left = len - pos - REC_HEADER_SIZE;
        if (klen > MAX_STR || klen > left || vlen > left - klen) {
            *why = "key or value length past the end of the block";
            return -1;
        }
        if ((r.enc == ENC_INT && vlen != 8) || (r.enc == ENC_RAW && vlen > MAX_STR)) {
            *why = "bad string value length";
            return -1;
        }
        r.key = (const char *)h + REC_HEADER_SIZE;
        r.klen = (size_t)klen;
        r.val = r.key + klen;
        r.vlen = (size_t)vlen;
        if (r.enc == ENC_OBJ) {
            r.obj = ks_type_get(r.type)->decode(r.val, r.vlen);
            if (!r.obj) {
                *why = "collection value does not decode";
                return -1;
            }
        }
        if (fn) {
            if (fn(ctx, &r) < 0) {
                *why = "record rejected";
                return -1;
            }
        } else if (r.obj) {
            ks_type_get(r.type)->free(r.obj);
        }
        pos += REC_HEADER_SIZE + klen + vlen;
    }
    if (pos != len) {
        *bad_off = pos;
        *why = "bytes after the last record of the block";
        return -1;
    }
    return 0;
}

/* A block located by the structure pass. */
typedef struct block_ref {
    uint64_t off;  /* of the block header in the file */
    int codec;
    uint32_t raw_len, stored_len, nrec;
} block_ref;

typedef struct scan_out {
    snap_info info;
    block_ref *blocks; /* when collect */
    uint64_t nblocks;
} scan_out;

/* Decompresses a block into out (raw_len bytes, allocated by the caller).
 * 0, or -1 with *why. */
static int block_inflate(const unsigned char *stored, const block_ref *b, unsigned char *out,
                         const char **why) {
    switch (b->codec) {
    case SNAP_CODEC_NONE:
        if (b->stored_len != b->raw_len) {
            *why = "uncompressed block with stored length != raw length";
            return -1;
        }
        memcpy(out, stored, b->raw_len);
        return 0;
    case SNAP_CODEC_LZ4: {
        if (b->stored_len > LZ4_MAX_INPUT_SIZE || b->raw_len > INT32_MAX) {
            *why = "LZ4 block too large";
            return -1;
        }
        int n = LZ4_decompress_safe((const char *)stored, (char *)out, (int)b->stored_len,
                                    (int)b->raw_len);
        if (n < 0 || (uint32_t)n != b->raw_len) {
            *why = "LZ4 block does not decompress to its raw length";
            return -1;
        }
        return 0;
    }
    case SNAP_CODEC_ZSTD: {
        size_t n = ZSTD_decompress(out, b->raw_len, stored, b->stored_len);
        if (ZSTD_isError(n) || n != b->raw_len) {
            *why = "zstd block does not decompress to its raw length";
            return -1;
        }
        return 0;
    }
    default:
        *why = "unknown codec";
        return -1;
    }
}

/* Structure pass over a file image: header, blocks (CRC), end record.
 * deep: also decompress and parse every block (records checked, objects
 * decoded and freed). collect: keep the block list in out->blocks. */
static int scan_image(const unsigned char *p, size_t len, unsigned ndb, size_t max_raw,
                      int deep, int collect, scan_out *out, snap_problem *pb) {
    memset(out, 0, sizeof(*out));
    if (len < SNAP_HEADER_SIZE || memcmp(p, SNAP_MAGIC, 8) != 0) {
        int zero = 1;
        for (size_t i = 0; i < len && i < SNAP_HEADER_SIZE; i++) zero &= p[i] == 0;
        problem(pb, 0, "%s", len < SNAP_HEADER_SIZE ? "file shorter than the header"
                             : zero                 ? "zero-filled header"
                                                    : "bad magic: not a snapshot file");
        return LT_INVAL;
    }
    if (get32(p + 44) != crc32c(0, p, 44)) {
        problem(pb, 0, "header checksum mismatch");
        return LT_INVAL;
    }
    if (get32(p + 8) != SNAP_VERSION) {
        problem(pb, 8, "unsupported version %u", get32(p + 8));
        return LT_INVAL;
    }
    snap_info *in = &out->info;
    in->codec = get32(p + 12);
    in->lsn = get64(p + 16);
    in->commit_ts = get64(p + 24);
    in->time_ms = (int64_t)get64(p + 32);
    in->databases = get32(p + 40);
    if (max_raw == 0 || max_raw > MAX_BLOCK_RAW) max_raw = MAX_BLOCK_RAW;
    uint32_t file_crc = crc32c(0, p, SNAP_HEADER_SIZE);
    uint64_t pos = SNAP_HEADER_SIZE, cap = 0;
    unsigned char *tmp = NULL;
    size_t tmpcap = 0;
    int rc = LT_OK;
    for (;;) {
        if (len - pos < 4) {
            problem(pb, pos, "file ends without an end record (truncated)");
            rc = LT_INVAL;
            break;
        }
        uint32_t magic = get32(p + pos);
        if (magic == END_MAGIC) break;
        if (magic != BLOCK_MAGIC) {
            int zero = 1;
            for (uint64_t i = pos; i < len && i < pos + 64; i++) zero &= p[i] == 0;
            problem(pb, pos, "%s", zero ? "zero-filled bytes where a block should start"
                                        : "bad block magic");
            rc = LT_INVAL;
            break;
        }
        if (len - pos < BLOCK_HEADER_SIZE) {
            problem(pb, pos, "block header cut short (truncated)");
            rc = LT_INVAL;
            break;
        }
        const unsigned char *h = p + pos;
        block_ref b = {.off = pos, .codec = h[4], .raw_len = get32(h + 8),
                       .stored_len = get32(h + 12), .nrec = get32(h + 16)};
        if (h[5] || h[6] || h[7] || b.codec > SNAP_CODEC_ZSTD || b.raw_len == 0 ||
            b.nrec == 0 || b.raw_len > max_raw) {
            problem(pb, pos, "bad block header (codec %d, raw %u bytes, %u records)", b.codec,
                    b.raw_len, b.nrec);
            rc = LT_INVAL;
            break;
        }
        if (b.stored_len > len - pos - BLOCK_HEADER_SIZE) {
            problem(pb, pos, "block of %u bytes cut short at end of file (truncated)",
                    b.stored_len);
            rc = LT_INVAL;
            break;
        }
        const unsigned char *stored = h + BLOCK_HEADER_SIZE;
        if (get32(h + 20) != crc32c(crc32c(0, stored, b.stored_len), h, 20)) {
            problem(pb, pos, "block checksum mismatch");
            rc = LT_INVAL;
            break;
        }
        if (deep) {
            if (tmpcap < b.raw_len) {
                free(tmp);
                tmp = malloc(b.raw_len);
                tmpcap = tmp ? b.raw_len : 0;
                if (!tmp) {
                    rc = LT_NOMEM;
                    break;
                }
            }
            const char *why = NULL;
            uint64_t boff = 0;
            if (block_inflate(stored, &b, tmp, &why) < 0) {
                problem(pb, pos, "%s", why);
                rc = LT_INVAL;
                break;
            }
            if (parse_records(tmp, b.raw_len, b.nrec, ndb, NULL, NULL, &boff, &why) < 0) {
                problem(pb, pos, "block record at payload offset %" PRIu64 ": %s", boff, why);
                rc = LT_INVAL;
                break;
            }
        }
        if (collect) {
            if (out->nblocks == cap) {
                cap = cap ? cap * 2 : 64;
                block_ref *nb = realloc(out->blocks, cap * sizeof(*nb));
                if (!nb) {
                    rc = LT_NOMEM;
                    break;
                }
                out->blocks = nb;
            }
            out->blocks[out->nblocks] = b;
        }
        out->nblocks++;
        in->keys += b.nrec;
        in->raw_bytes += b.raw_len;
        file_crc = crc32c(file_crc, h, BLOCK_HEADER_SIZE + b.stored_len);
        pos += BLOCK_HEADER_SIZE + b.stored_len;
    }
    free(tmp);
    if (rc != LT_OK) return rc;
    const unsigned char *e = p + pos;
    if (len - pos < END_SIZE) {
        problem(pb, pos, "end record cut short (truncated)");
        return LT_INVAL;
    }
    if (get32(e + 44) != crc32c(0, e, 44) || get32(e + 4) != 0) {
        problem(pb, pos, "end record checksum mismatch");
        return LT_INVAL;
    }
    if (get64(e + 8) != out->nblocks || get64(e + 16) != in->keys ||
        get64(e + 24) != in->raw_bytes || get64(e + 32) != in->lsn) {
        problem(pb, pos, "end record counts do not match the blocks");
        return LT_INVAL;
    }
    if (get32(e + 40) != file_crc) {
        problem(pb, pos, "whole-file checksum mismatch");
        return LT_INVAL;
    }
    if (len - pos != END_SIZE) {
        problem(pb, pos + END_SIZE, "bytes after the end record");
        return LT_INVAL;
    }
    in->blocks = out->nblocks;
    in->file_bytes = len;
    return LT_OK;
}

int snap_verify_buf(const void *b, size_t len, unsigned ndb, size_t max_block_raw,
                    snap_info *info, snap_problem *pb) {
    memset(pb, 0, sizeof(*pb));
    scan_out out;
    int rc = scan_image(b, len, ndb, max_block_raw, 1, 0, &out, pb);
    if (rc == LT_OK) *info = out.info;
    return rc;
}

/* Maps path read-only. *len 0 maps nothing (an empty file). */
static int map_file(const char *path, const unsigned char **p, size_t *len, int *sys_errno) {
    *p = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *sys_errno = errno;
        return LT_IOERR;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *sys_errno = errno;
        close(fd);
        return LT_IOERR;
    }
    if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            *sys_errno = errno;
            close(fd);
            return LT_IOERR;
        }
        madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
        *p = m;
        *len = (size_t)st.st_size;
    }
    close(fd);
    return LT_OK;
}

static const unsigned char empty_image[1];

int snap_verify(const char *path, unsigned ndb, snap_info *info, snap_problem *pb,
                int *sys_errno) {
    memset(pb, 0, sizeof(*pb));
    snprintf(pb->file, sizeof(pb->file), "%s", path);
    const unsigned char *p;
    size_t len;
    int rc = map_file(path, &p, &len, sys_errno);
    if (rc != LT_OK) return rc;
    scan_out out;
    rc = scan_image(len ? p : empty_image, len, ndb, 0, 1, 0, &out, pb);
    if (rc == LT_OK) *info = out.info;
    if (len) munmap((void *)p, len);
    return rc;
}

/* ---- Loader ---------------------------------------------------------------------- */
typedef struct loader {
    lt_db *db;
    const unsigned char *image;
    const block_ref *blocks;
    uint64_t nblocks;
    unsigned ndb;
    uint64_t next;          /* atomic: next block to take */
    pthread_mutex_t lock;   /* the first failure */
    snap_problem *pb;
    int failed;             /* atomic */
    int nomem;
    snap_progress_fn progress;
    void *progress_ctx;
} loader;

static int insert_record(void *ctx, snap_rec *r) {
    lt_db *db = ctx;
    ks_key k = {.dbid = r->db, .key = r->key, .klen = r->klen};
    ks_txn txn;
    ks_txn_begin(&txn, db, &k, 1);
    int64_t exp = r->expire_ms >= 0 ? r->expire_ms : KS_EXPIRE_NONE;
    if (r->enc == ENC_INT) {
        ks_set_int(&txn, r->db, r->key, r->klen, (int64_t)get64((const unsigned char *)r->val),
                   exp);
    } else if (r->enc == ENC_RAW) {
        ks_set_str(&txn, r->db, r->key, r->klen, r->val, r->vlen, exp, KS_SET_NOINT);
    } else {
        ks_set_obj(&txn, r->db, r->key, r->klen, r->type, r->obj, exp);
        r->obj = NULL;
    }
    ks_txn_commit(&txn);
    return 0;
}

static void *loader_main(void *arg) {
    loader *L = arg;
    unsigned char *tmp = NULL;
    size_t tmpcap = 0;
    for (;;) {
        if (__atomic_load_n(&L->failed, __ATOMIC_RELAXED)) break;
        uint64_t i = __atomic_fetch_add(&L->next, 1, __ATOMIC_RELAXED);
        if (i >= L->nblocks) break;
        const block_ref *b = &L->blocks[i];
        if (tmpcap < b->raw_len) {
            free(tmp);
            tmp = malloc(b->raw_len);
            tmpcap = tmp ? b->raw_len : 0;
        }
        const char *why = NULL;
        uint64_t boff = 0;
        int bad = !tmp;
        if (!bad) bad = block_inflate(L->image + b->off + BLOCK_HEADER_SIZE, b, tmp, &why) < 0;
        if (!bad && parse_records(tmp, b->raw_len, b->nrec, L->ndb, insert_record, L->db,
                                  &boff, &why) < 0)
            bad = 1;
        if (bad) {
            pthread_mutex_lock(&L->lock);
            if (!tmp) L->nomem = 1;
            else if (why) problem(L->pb, b->off, "block record at payload offset %" PRIu64 ": %s",
                                  boff, why);
            pthread_mutex_unlock(&L->lock);
            __atomic_store_n(&L->failed, 1, __ATOMIC_RELAXED);
            break;
        }
        if (L->progress) L->progress(L->progress_ctx, BLOCK_HEADER_SIZE + b->stored_len, b->nrec);
    }
    free(tmp);
    return NULL;
}

int snap_load(lt_db *db, const char *path, int nthreads, snap_info *info, snap_problem *pb,
              int *sys_errno) {
    return snap_load_progress(db, path, nthreads, NULL, NULL, info, pb, sys_errno);
}

int snap_load_progress(lt_db *db, const char *path, int nthreads, snap_progress_fn progress,
                       void *ctx, snap_info *info, snap_problem *pb, int *sys_errno) {
    memset(pb, 0, sizeof(*pb));
    snprintf(pb->file, sizeof(pb->file), "%s", path);
    const unsigned char *p;
    size_t len;
    int rc = map_file(path, &p, &len, sys_errno);
    if (rc != LT_OK) return rc;
    scan_out out;
    unsigned ndb = ks_databases(db);
    rc = scan_image(len ? p : empty_image, len, ndb, 0, 0, 1, &out, pb);
    if (rc == LT_OK) {
        if (nthreads < 1) nthreads = 1;
        if (nthreads > MAX_LOAD_THREADS) nthreads = MAX_LOAD_THREADS;
        if ((uint64_t)nthreads > out.nblocks) nthreads = out.nblocks ? (int)out.nblocks : 1;
        loader L = {.db = db, .image = p, .blocks = out.blocks, .nblocks = out.nblocks,
                    .ndb = ndb, .pb = pb, .progress = progress, .progress_ctx = ctx};
        pthread_mutex_init(&L.lock, NULL);
        pthread_t th[MAX_LOAD_THREADS];
        int started = 0;
        for (int i = 1; i < nthreads; i++)
            if (pthread_create(&th[started], NULL, loader_main, &L) == 0) started++;
        loader_main(&L);
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        pthread_mutex_destroy(&L.lock);
        if (L.nomem) rc = LT_NOMEM;
        else if (L.failed) rc = LT_INVAL;
        else *info = out.info;
    }
    free(out.blocks);
    if (len) munmap((void *)p, len);
    return rc;
}

/* ---- Manifest ------------------------------------------------------------------------ */
#define MANIFEST_VERSION 1
#define MANIFEST_HEAD "lightning-snapshot-manifest 1\n"

int snap_manifest_write(const char *dir, const snap_manifest *m) {
    char body[256], text[300], path[PATH_MAX], tmp[PATH_MAX];
    int n = snprintf(body, sizeof(body), MANIFEST_HEAD "current %s\nprevious %s\n", m->current,
                     m->previous[0] ? m->previous : "-");
    ASSERT(n > 0 && (size_t)n < sizeof(body));
    int tn = snprintf(text, sizeof(text), "%scrc %08x\n", body, crc32c(0, body, (size_t)n));
    snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MANIFEST_NAME);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, SNAP_MANIFEST_NAME);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return LT_IOERR;
    ssize_t k = write(fd, text, (size_t)tn);
    int ok = k == tn && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) < 0 || fsync_dir(dir) < 0) {
        if (ok) e = errno;
        unlink(tmp);
        errno = e ? e : EIO;
        return LT_IOERR;
    }
    return LT_OK;
}

int snap_manifest_read(const char *dir, snap_manifest *m) {
    memset(m, 0, sizeof(*m));
    char path[PATH_MAX], text[512];
    snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MANIFEST_NAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? LT_NOTFOUND : LT_IOERR;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) return LT_IOERR;
    text[n] = '\0';
    char cur[64], prev[64];
    unsigned crc;
    int body = 0;
    /* A well-formed head of another format version: a newer writer's
     * manifest, which this code must not guess at. */
    unsigned ver;
    int head = 0;
    if (sscanf(text, "lightning-snapshot-manifest %u\n%n", &ver, &head) == 1 && head > 0 &&
        ver != MANIFEST_VERSION)
        return LT_VERSION;
    if (sscanf(text, MANIFEST_HEAD "current %63s\nprevious %63s\n%n", cur, prev, &body) != 2 ||
        body <= 0 || sscanf(text + body, "crc %8x\n", &crc) != 1 ||
        crc != crc32c(0, text, (size_t)body))
        return LT_INVAL;
    uint64_t lsn;
    if (!snap_parse_name(cur, &lsn) || (strcmp(prev, "-") != 0 && !snap_parse_name(prev, &lsn)))
        return LT_INVAL;
    /* Both names passed snap_parse_name: 34 characters. */
    memcpy(m->current, cur, strlen(cur) + 1);
    if (strcmp(prev, "-") != 0) memcpy(m->previous, prev, strlen(prev) + 1);
    return LT_OK;
}

static int cmp_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

int snap_list(const char *dir, uint64_t **lsns, int *n) {
    *lsns = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return LT_IOERR;
    int cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t lsn;
        if (!snap_parse_name(de->d_name, &lsn)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *lsns = lt_xrealloc(*lsns, (size_t)cap * sizeof(**lsns));
        }
        (*lsns)[(*n)++] = lsn;
    }
    closedir(d);
    if (*n > 1) qsort(*lsns, (size_t)*n, sizeof(**lsns), cmp_desc);
    return LT_OK;
}
