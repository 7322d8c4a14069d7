/*
 * snapshot.h — point-in-time snapshot files of the whole keyspace: the
 * writer (from an MVCC view, no fork), verification, the parallel loader,
 * the manifest naming the current snapshot, and the pure block decoder the
 * fuzzer drives. The on-disk format is specified in snapshot.c.
 *
 * Files (in one directory, the server's `dir`):
 *   snapshot-NNNNNNNNNNNNNNNNNNNN.snap   a snapshot; the 20 digits are the
 *                                        WAL LSN it covers
 *   snapshot.manifest                    names the current snapshot (and
 *                                        the previous one, kept for fallback)
 * Both are written temp + fsync + rename + fsync(dir).
 *
 * Errors: LT_OK; LT_IOERR (sys_errno says why); LT_INVAL when a file is not
 * a valid snapshot (the snap_problem says which file, which byte offset and
 * why); LT_NOMEM.
 *
 * Threads: snap_write runs on the caller's thread (the server's BGSAVE
 * thread) while writers go on; snap_load starts its own loader threads and
 * returns after joining them. Collection types must be registered
 * (ks_type_register) before writing or loading.
 */
#ifndef LT_ENGINE_SNAPSHOT_H
#define LT_ENGINE_SNAPSHOT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/mvcc.h"
#include "lightning.h"

/* Block compression (snapshot-compression), in config enum order. */
enum { SNAP_CODEC_NONE = 0, SNAP_CODEC_LZ4 = 1, SNAP_CODEC_ZSTD = 2 };

#define SNAP_MANIFEST_NAME "snapshot.manifest"
#define SNAP_NAME_SIZE 40          /* "snapshot-<20 digits>.snap" + NUL fits */
#define SNAP_DEFAULT_BLOCK_BYTES (256u * 1024)

/* Where a file stopped being valid. */
typedef struct snap_problem {
    int found;
    char file[PATH_MAX];
    uint64_t offset;  /* byte offset in the file (of the block, or inside a
                         block's uncompressed payload: see why) */
    char why[200];
} snap_problem;

/* What a valid snapshot holds (from its header and end record). */
typedef struct snap_info {
    uint64_t lsn;        /* WAL position covered: replay records >= this */
    uint64_t commit_ts;  /* every commit with ts <= this is in the file */
    int64_t time_ms;     /* wall clock when the view was opened */
    uint32_t codec;      /* configured codec (blocks name their own) */
    uint32_t databases;  /* databases of the writer */
    uint64_t keys, blocks, raw_bytes, file_bytes;
} snap_info;

/* "snapshot-NNNNNNNNNNNNNNNNNNNN.snap" for lsn; out holds SNAP_NAME_SIZE. */
void snap_file_name(uint64_t lsn, char *out);
/* 1 and *lsn if name is a snapshot file name, else 0. */
int snap_parse_name(const char *name, uint64_t *lsn);

/* ---- Writing ------------------------------------------------------------- */
typedef struct snap_write_opts {
    const char *dir;        /* directory of the file */
    uint64_t lsn;           /* WAL position the view corresponds to */
    int codec;              /* SNAP_CODEC_* */
    size_t block_bytes;     /* uncompressed block target (0: default) */
    /* Optional: called after each block is written (keys and file bytes
     * so far), on the writing thread. */
    void (*progress)(void *ctx, uint64_t keys, uint64_t bytes);
    void *ctx;
    /* Optional: when it reads non-zero (set by another thread) the write
     * stops, removes its temporary file and returns LT_INVAL. */
    const int *abort_flag;
    /* Optional (tests, Redis's rdb-key-save-delay): microseconds to sleep
     * per key written, read as the write goes; slept after each batch of
     * keys, outside every lock. Negative n: 1 µs with probability 1/-n. */
    const int *key_delay_us;
} snap_write_opts;

typedef struct snap_write_result {
    char name[SNAP_NAME_SIZE];  /* file name written (in opts.dir) */
    snap_info info;
    int sys_errno;              /* with LT_IOERR */
} snap_write_result;

/* Writes every key visible to view v (all databases, in order) to
 * <dir>/snapshot-<lsn>.snap: temp file, fsync, rename, fsync(dir). v must
 * be open with v->sequential = 1 and not iterated yet; it stays open (the
 * caller closes it). An existing file of the same name is replaced. LT_OK,
 * LT_IOERR, LT_INVAL (aborted, or a value too large for a block: 4 GiB). */
int snap_write(lt_db *db, ks_view *v, const snap_write_opts *o, snap_write_result *res);

/* ---- Reading --------------------------------------------------------------- */
/* Checks path completely without loading: header, every block's CRC32C,
 * decompression, every record (collections decoded and freed), the end
 * record's counts and the whole-file checksum. ndb: databases a record may
 * name (0: any). LT_OK with *info, LT_INVAL with *pb, LT_IOERR. */
int snap_verify(const char *path, unsigned ndb, snap_info *info, snap_problem *pb,
                int *sys_errno);

/* Loads path into db (which should be empty): first checks the structure,
 * every block's CRC and the file checksum (nothing is inserted from a file
 * that fails them), then decompresses and inserts blocks on nthreads
 * threads (>= 1). A record that fails to decode after that (a writer bug
 * rather than disk damage) returns LT_INVAL with some keys inserted: the
 * caller empties db. LT_OK with *info, LT_INVAL with *pb, LT_IOERR, LT_NOMEM. */
int snap_load(lt_db *db, const char *path, int nthreads, snap_info *info, snap_problem *pb,
              int *sys_errno);
/* The same, calling progress(ctx, file bytes, keys) after each block is
 * inserted, from the loader threads (concurrently: progress must be
 * thread-safe; it may sleep, which slows the load). NULL: no reports. */
typedef void (*snap_progress_fn)(void *ctx, uint64_t bytes, uint64_t keys);
int snap_load_progress(lt_db *db, const char *path, int nthreads, snap_progress_fn progress,
                       void *ctx, snap_info *info, snap_problem *pb, int *sys_errno);

/* The same checks as snap_verify on a file image in memory (fuzzers,
 * tests). max_block_raw bounds a block's declared uncompressed size (0:
 * the format's limit). Never reads outside buf, never crashes. */
int snap_verify_buf(const void *buf, size_t len, unsigned ndb, size_t max_block_raw,
                    snap_info *info, snap_problem *pb);

/* ---- Manifest ---------------------------------------------------------------- */
/* The manifest is text:
 *     lightning-snapshot-manifest 1\n
 *     current <file name>\n
 *     previous <file name or ->\n
 *     crc <8 hex digits: CRC32C of the lines above>\n
 * Written temp + fsync + rename + fsync(dir). */
typedef struct snap_manifest {
    char current[SNAP_NAME_SIZE];
    char previous[SNAP_NAME_SIZE]; /* "" if none */
} snap_manifest;

/* LT_OK, LT_IOERR (errno). */
int snap_manifest_write(const char *dir, const snap_manifest *m);
/* LT_OK, LT_NOTFOUND (no manifest), LT_INVAL (malformed: ignored by
 * recovery, which then lists the snapshot files), LT_VERSION (a
 * well-formed first line naming another format version than 1), LT_IOERR. */
int snap_manifest_read(const char *dir, snap_manifest *m);

/* Snapshot files of dir, newest (highest LSN) first: *lsns malloc'd (the
 * caller frees), *n entries. LT_OK or LT_IOERR. */
int snap_list(const char *dir, uint64_t **lsns, int *n);

#endif
