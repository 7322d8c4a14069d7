/*
 * wal.h — the write-ahead log: an append-only sequence of checksummed
 * records in segment files, one writer thread that writes and fsyncs what
 * every thread queued (group commit), and the recovery scan.
 *
 * Positions: an LSN is a byte offset in the whole log (all segments laid
 * end to end); a record's LSN is the offset of its first header byte and
 * its end LSN the offset just past its payload. (The server's replication
 * offset counts the bytes of its logical stream, not LSNs.) A snapshot
 * names "the WAL position it covers" as an end LSN; recovery replays the
 * records whose LSN is >= it (wal_config.replay_from). The on-disk format
 * is specified in wal.c.
 *
 * Payloads are opaque bytes (the server puts RESP commands in them).
 *
 * Threads: wal_append() and the other calls may come from any thread;
 * appends are serialized by one mutex and copied into a bounded buffer
 * (appenders wait on a condition variable while it is full; see Errors). Bytes reach
 * the file either from the caller's own thread (wal_write: an I/O thread
 * writes its loop turn's records before it sends the replies) or from the
 * writer thread, which writes when asked (wal_request_write), when the
 * buffer is half full or when an appender waits. Only the writer thread
 * fsyncs — per policy, and every segment it rotates away from — and it
 * then calls on_durable (never with a WAL lock held); no polling anywhere.
 *
 * Errors: LT_* codes (lightning.h). When a write or fsync fails the WAL is
 * in an error state (wal_error() returns the errno) and the writer retries
 * with bounded backoff (10 ms doubling to 1 s) on its own thread. A failed
 * fsync may have lost what write(2) had accepted (Linux can drop the dirty
 * pages), so the WAL keeps a copy of every byte between the durable and
 * the written LSN and, after any error, the writer first cuts the files
 * back to the durable LSN and rewrites that copy, then the rest; the
 * durable LSN only moves after an fsync that followed the rewrite. The
 * copy is bounded: once it reaches 64 MiB (or 8 x buffer_bytes) the writer
 * fsyncs whatever the policy, and wal_write waits at twice that. In the
 * error state the append buffer may grow to twice its size before an
 * appender waits (the server refuses write commands meanwhile, so only the
 * few already running arrive and none waits for the disk). The state
 * clears at the first successful write after the rewrite.
 */
#ifndef LT_ENGINE_WAL_H
#define LT_ENGINE_WAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/promhist.h"
#include "lightning.h"

typedef struct wal wal;

/* appendfsync, in the order Redis names them (config enum index). */
enum { WAL_FSYNC_ALWAYS = 0, WAL_FSYNC_EVERYSEC = 1, WAL_FSYNC_NO = 2 };
/* Test-only fault injection (DEBUG WAL-FAIL): the writer's write(2) or
 * fsync(2) fails with ENOSPC until cleared; SLOW_FSYNC makes every data
 * fsync take WAL_FAULT_SLOW_MS longer (a slow disk, for latency events). */
enum { WAL_FAULT_NONE = 0, WAL_FAULT_WRITE = 1, WAL_FAULT_FSYNC = 2, WAL_FAULT_SLOW_FSYNC = 3 };
#define WAL_FAULT_SLOW_MS 20

#define WAL_HEADER_SIZE 40
#define WAL_MAX_PAYLOAD 0x7fffffffu      /* larger appends: LT_INVAL */
/* Payload types: RESP commands. Type 1 (written before 0.2) runs in the
 * database the previous record left selected; type 2 is self-contained:
 * it runs from database 0 (and starts with SELECT for another one). */
#define WAL_REC_COMMANDS 1
#define WAL_REC_COMMANDS_DB0 2
#define WAL_DEFAULT_SEGMENT_BYTES (64ULL * 1024 * 1024)
#define WAL_DEFAULT_BUFFER_BYTES (8u * 1024 * 1024)
#define WAL_MIN_SEGMENT_BYTES 4096

/* One record as read back. payload points into the reader's buffer: valid
 * only during the callback it is passed to. */
typedef struct wal_record {
    uint64_t lsn, end_lsn;
    uint64_t commit_ts;   /* engine commit timestamp */
    int64_t time_ms;      /* wall clock at commit (replay's clock) */
    uint32_t type;        /* WAL_REC_* */
    const void *payload;
    size_t len;
} wal_record;

/* Replay/scan callback: return 0 to continue, non-zero to stop the scan
 * (the scan then returns that value). */
typedef int wal_record_fn(void *ctx, const wal_record *r);

/* The first invalid record found by a scan (torn, corrupt, misplaced). */
typedef struct wal_problem {
    int found;
    char file[PATH_MAX];  /* the segment file */
    uint64_t offset;      /* byte offset in that file */
    uint64_t lsn;         /* LSN the record would have had */
    char why[160];
    int later_segments;   /* segment files after it (dropped by a repair) */
    int tail;             /* a torn tail: the last record of the last
                           * segment, cut short (file ends inside it, or a
                           * whole header whose payload ends exactly at the
                           * end of the file but fails its check), or a
                           * zero-filled end of the last segment */
} wal_problem;

typedef struct wal_scan_result {
    uint64_t start_lsn;   /* first segment's start */
    uint64_t end_lsn;     /* end of the last valid record */
    uint64_t records, bytes, replayed;
    int segments;
    char last_file[PATH_MAX]; /* segment holding end_lsn ("" if none) */
    wal_problem problem;
    int sys_errno;        /* with LT_IOERR: what failed */
} wal_scan_result;

/* ---- Record check (pure; fuzzed) ---------------------------------------- */
/* Validates the record at buf[0..len), expected at LSN expect_lsn.
 * Returns 1 and fills *out (payload points into buf) when valid; 0 when
 * more bytes are needed to decide (*need = total record size, or the
 * header size); -1 when invalid (*why names the rule broken). Never reads
 * outside buf, for any input. */
int wal_record_check(const void *buf, size_t len, uint64_t expect_lsn,
                     wal_record *out, size_t *need, const char **why);

/* ---- Scanning and repair (no writer; tools, tests, recovery) ---------- */
/* Reads every segment of waldir in LSN order, verifying each record, and
 * calls fn (may be NULL) for records with lsn >= from_lsn. Stops at the
 * first invalid record and describes it in res->problem. Returns LT_OK
 * (even with a problem), fn's non-zero value, or LT_IOERR (res->sys_errno)
 * when a directory or file cannot be read. A missing waldir is an empty
 * log. */
int wal_scan(const char *waldir, uint64_t from_lsn, wal_record_fn *fn,
             void *ctx, wal_scan_result *res);
/* The same for one segment file (its start LSN comes from its name). */
int wal_scan_file(const char *path, wal_record_fn *fn, void *ctx,
                  wal_scan_result *res);
/* The segment file holding lsn and lsn's offset in it: LT_OK, LT_NOTFOUND
 * (no segment starts at or before lsn), LT_IOERR (errno set). path must
 * hold the directory plus 26 bytes. */
int wal_locate(const char *waldir, uint64_t lsn, char *path, size_t pathlen,
               uint64_t *offset);
/* Repairs what a scan reported: truncates the problem file at the problem
 * offset (fsynced) and renames later segments to <name>.broken (kept for
 * inspection, never read again). LT_OK (nothing to do included), LT_IOERR
 * (errno set). */
int wal_repair(const char *waldir, const wal_scan_result *res);

/* ---- The log -------------------------------------------------------------- */
typedef struct wal_config {
    const char *dir;            /* WAL directory (created if missing) */
    uint64_t segment_bytes;     /* rotation size, >= WAL_MIN_SEGMENT_BYTES */
    size_t buffer_bytes;        /* append buffer (x2 with the one in flight) */
    int fsync_policy;           /* WAL_FSYNC_* */
    uint64_t replay_from;       /* replay records with lsn >= this */
    int load_truncated;         /* cut a torn tail (problem.tail) and go on;
                                 * any other problem, or a torn tail when 0,
                                 * makes wal_open fail (aof-load-truncated) */
    int repair;                 /* cut at the first invalid record, whatever
                                 * it is (the embedded API's LT_DB_REPAIR) */
    /* Called from the writer thread whenever the durable LSN advances
     * (never under a WAL lock; may call wal_durable_lsn etc.). */
    void (*on_durable)(void *ctx, uint64_t durable_lsn);
    /* Called after each successful data fsync with its duration in µs, by
     * the thread that ran it (the writer, or an appender that holds the
     * WAL's I/O lock while it syncs a segment itself): it must be quick and
     * must not call into the WAL. May be NULL. For latency events (the
     * server's aof-fsync-always). */
    void (*on_fsync)(void *ctx, uint64_t us);
    void *cb_ctx;
} wal_config;

/* Recovers and opens the log: scans cfg->dir, calls replay (may be NULL)
 * for each valid record from cfg->replay_from on, cuts a torn tail when
 * cfg->load_truncated (the scan result in *res says where and why;
 * everything before it is kept), opens the last segment for appending
 * after the last good record and starts the writer. On LT_OK *out is owned
 * by the caller until wal_close(). Errors: LT_IOERR (res->sys_errno),
 * LT_NOMEM, LT_INVAL (a bad config, or res->problem.found: an invalid
 * record that may not be cut — not a torn tail, or load_truncated is 0;
 * nothing was changed on disk), or replay's non-zero value. */
int wal_open(const wal_config *cfg, wal_record_fn *replay, void *ctx,
             wal_scan_result *res, wal **out);
/* Writes and fsyncs everything appended (retrying while in error, for at
 * most a few seconds), stops the writer, closes files, frees w. LT_OK when
 * everything appended is durable, LT_IOERR when the disk kept failing and
 * the tail was given up (errno set to the last error). No append may run
 * concurrently or after. NULL is a no-op (LT_OK). */
int wal_close(wal *w);

/* Appends one record (payload = the iov bytes in order) and returns its
 * end LSN in *end_lsn. Waits while the buffer is full. LT_OK, or LT_INVAL
 * if the payload exceeds WAL_MAX_PAYLOAD. The iov bytes are copied. */
int wal_append(wal *w, uint64_t commit_ts, int64_t time_ms, uint32_t type,
               const struct iovec *iov, int iovcnt, uint64_t *end_lsn);
/* The same, but never waits: when the buffer has no room it returns
 * LT_IOERR with errno EAGAIN and appends nothing. For records that may be
 * dropped (an expired key's DEL) by a caller holding locks. */
int wal_append_nowait(wal *w, uint64_t commit_ts, int64_t time_ms, uint32_t type,
                      const struct iovec *iov, int iovcnt, uint64_t *end_lsn);
/* Asks the writer to write everything up to lsn, and under `always` to
 * fsync it; on_durable reports progress. Cheap; call once per batch. */
void wal_request_write(wal *w, uint64_t lsn);
/* Writes everything appended up to at least lsn with write(2) on the
 * calling thread (no fsync: the writer syncs it per policy), so that a
 * process crash cannot lose it. LT_OK, or LT_IOERR when the log is in its
 * error state (the writer keeps retrying; nothing is lost from memory).
 * Waits only for another thread's write in progress. */
int wal_write(wal *w, uint64_t lsn);

/* Writes and fsyncs everything up to lsn (at most the appended LSN)
 * whatever the fsync policy, and waits until it is durable. LT_OK, or
 * LT_IOERR when the WAL is in its error state (or closing) first. For
 * snapshots, which must not name an LSN the log could lose. */
int wal_sync(wal *w, uint64_t lsn);
/* Deletes the segment files that lie entirely before lsn (a snapshot
 * covers them); never the last segment. *dropped = files deleted. LT_OK,
 * or LT_IOERR (errno set). Safe while the writer runs: it only touches
 * the last segment. */
int wal_drop_before(wal *w, uint64_t lsn, int *dropped);

uint64_t wal_appended_lsn(wal *w); /* end of the last appended record */
/* Memory of the log's two record buffers (maxmemory leaves it out, as
 * Redis does its AOF buffer). Lock-free. */
size_t wal_buffer_bytes(wal *w);
uint64_t wal_written_lsn(wal *w);  /* handed to write(2) successfully */
uint64_t wal_durable_lsn(wal *w);  /* fsynced (and the segment's dir entry) */
/* 0, or the errno of the failing write/fsync while in the error state. */
int wal_error(wal *w);

/* Tap: fn is called for every record appended from now on, in LSN order,
 * under the log's lock, with the record's LSN, type and payload pieces
 * (valid during the call only). It must not block nor call into the log.
 * NULL removes it. The consumers of the server's logical stream hang on it. */
typedef void wal_tap_fn(void *ctx, uint64_t lsn, uint32_t type, const struct iovec *iov,
                        int iovcnt);
void wal_set_tap(wal *w, wal_tap_fn *fn, void *ctx);
/* Runs fn(ctx) under the log's lock: no append runs meanwhile, so what fn
 * changes takes effect between two records (tap consumers join there). */
void wal_locked(wal *w, void (*fn)(void *ctx), void *ctx);

void wal_set_fsync_policy(wal *w, int policy);
void wal_set_segment_bytes(wal *w, uint64_t bytes);
void wal_set_fault(wal *w, int fault);

typedef struct wal_stats {
    uint64_t start_lsn;     /* first byte still on disk */
    uint64_t fsyncs;
    uint64_t records;       /* appended since open */
    uint64_t synced_records;/* records covered by fsyncs since open */
    uint64_t write_errors;
    uint64_t segments_created;
    uint64_t rewinds;       /* rewrites of [durable, written) after errors */
} wal_stats;
void wal_get_stats(wal *w, wal_stats *st);
/* The latency of the WAL's data fsyncs (successful ones) since open, as a
 * Prometheus histogram (bounds 100 µs .. 10 s), copied into out. */
void wal_fsync_hist(wal *w, promhist *out);

/* "00000000000000001234.log" for an LSN; out must hold 25 bytes. */
void wal_segment_name(uint64_t lsn, char *out);

#endif
