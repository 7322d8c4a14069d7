/*
 * lightning.h — the embedded C API of the Lightning engine.
 *
 * The same in-memory MVCC keyspace the Lightning server runs on, usable as a
 * library (link liblightning.a or -llightning). Style after LMDB: opaque
 * handles, out-parameter constructors, int error codes (LT_OK or a negative
 * LT_* code, lt_strerror() names them), every data operation inside a
 * transaction.
 *
 * Model
 *   An lt_db holds `databases` logical databases numbered 0..databases-1,
 *   each a map of byte-string keys to byte-string values.
 *   A transaction reads a consistent snapshot taken at lt_txn_begin() and
 *   never blocks writers. Writes are buffered in the transaction and applied
 *   atomically at lt_txn_commit(), which locks the touched shards in
 *   ascending order and validates that no key the transaction read or wrote
 *   was changed by another commit after its snapshot; otherwise it returns
 *   LT_CONFLICT and applies nothing (optimistic concurrency: retry).
 *
 * Durability: with lt_config.dir set, the engine keeps its data in that
 *   directory with the Lightning server's own write-ahead log and snapshot
 *   files (one implementation: src/engine/wal.c, snapshot.c), so a
 *   directory written by the library opens with `lightning-server --dir`
 *   and the other way round. Every commit appends one log record before
 *   its locks are released; under LT_SYNC_ALWAYS lt_txn_commit returns
 *   once that record is fsynced (commits of many threads share one fsync:
 *   group commit). lt_db_open recovers: newest snapshot + the log after it.
 *
 * Order: with LT_DB_ORDERED every database keeps its keys in byte order
 *   too, and cursors can seek and walk forward and backward (lt_cursor_*).
 *
 * Threads: an lt_db may be shared by any number of threads. An lt_txn and
 * its cursors belong to one thread at a time.
 *
 * See docs/EMBEDDED.md for a walk-through and docs/examples/.
 */
#ifndef LIGHTNING_H
#define LIGHTNING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Error codes --------------------------------------------------------- */
#define LT_OK 0
#define LT_NOTFOUND (-1)  /* key does not exist (or cursor at end) */
#define LT_CONFLICT (-2)  /* commit lost a race with another commit: retry */
#define LT_INVAL (-3)     /* invalid argument (db index, flags, sizes) */
#define LT_NOMEM (-4)     /* allocation failed */
#define LT_RDONLY (-5)    /* write attempted in a read-only transaction */
#define LT_WRONGTYPE (-6) /* key holds a non-string value (set by the server) */
#define LT_BADTXN (-7)    /* transaction already failed/ended */
#define LT_IOERR (-8)     /* a file operation failed (WAL); errno says why */
#define LT_TXN_TOO_OLD (-9) /* the txn's snapshot pinned more old versions than
                               lt_config.max_pinned_versions: abort, retry */
#define LT_CORRUPT (-10)  /* a file of the directory is damaged (not a torn tail) */
#define LT_VERSION (-11)  /* the directory was written by an incompatible version */
#define LT_LOCKED (-12)   /* another process (or lt_db) holds the directory open */
#define LT_UNSUPPORTED (-13) /* the log holds a command the library cannot replay */

/* Static English text for an LT_* code; never NULL, never freed. */
const char *lt_strerror(int err);

/* ---- Engine instance ------------------------------------------------------ */
typedef struct lt_db lt_db;

/* lt_config.sync: when a commit is durable (Redis's appendfsync). */
enum {
    LT_SYNC_ALWAYS = 0,   /* commit returns after its record is fsynced */
    LT_SYNC_EVERYSEC = 1, /* log written at once, fsynced once a second */
    LT_SYNC_NO = 2        /* written at once, fsynced by lt_db_sync/close */
};
/* lt_config.flags */
#define LT_DB_ORDERED 0x1u /* keep keys in byte order: range cursors */
#define LT_DB_REPAIR 0x2u  /* open a damaged log anyway: keep every record
                              before the damage, drop the rest */

typedef struct lt_config {
    unsigned databases;     /* logical databases, >= 1; default 16 */
    unsigned shards_per_db; /* power of two in [1, 4096]; default 64 */
    /* Bound on the old versions open transactions keep alive (writers keep
     * the version a snapshot may still read). When more are kept, the
     * oldest open transaction is doomed: its next lt_get, lt_del,
     * lt_cursor_next or lt_txn_commit returns LT_TXN_TOO_OLD, and the
     * versions it pinned are released once it ends. One transaction is
     * doomed at a time (the next only after it ended). 0 = no bound
     * (default). */
    uint64_t max_pinned_versions;
    /* Data directory (created if missing), or NULL for a purely in-memory
     * engine. Read during lt_db_open only. */
    const char *dir;
    int sync;               /* LT_SYNC_*; default LT_SYNC_ALWAYS */
    unsigned flags;         /* LT_DB_*; default 0 */
    uint64_t wal_segment_bytes; /* log segment size; 0: 64 MiB */
    /* Optional: when lt_db_open fails, a one-line English description of
     * why (which file, which offset) is written here (NUL-terminated). */
    char *errbuf;
    size_t errbuf_size;
} lt_config;

/* Fills *cfg with the defaults. */
void lt_config_init(lt_config *cfg);

/* Opens an engine. cfg may be NULL for defaults; it is copied, not
 * retained. Without cfg->dir the engine is empty and in memory. With it,
 * the directory is locked (flock on <dir>/lightning.lock) and recovered:
 * the newest snapshot named by <dir>/snapshot.manifest, then every log
 * record in <dir>/appendonlydir after it. A torn or zero-filled tail of
 * the last log segment (a crash while writing) is cut off; any other
 * damage fails the open unless LT_DB_REPAIR. On LT_OK *out owns the
 * engine: release it with lt_db_close(). Errors: LT_INVAL (bad config),
 * LT_NOMEM, LT_IOERR (errno says why), LT_LOCKED (the directory is open
 * in another process or lt_db), LT_CORRUPT (a snapshot, the manifest or
 * the log is damaged), LT_VERSION (written by an incompatible version),
 * LT_UNSUPPORTED (the log holds a command this library cannot replay:
 * it replays the string commands a server logs, SET, DEL, INCR, ...;
 * a snapshot may hold any type). */
int lt_db_open(const lt_config *cfg, lt_db **out);

/* Closes the log (writes and fsyncs what was committed), unlocks the
 * directory, frees the engine and every key. No transaction, cursor or
 * view may be open on it, and no other thread may use it. NULL is a
 * no-op. */
void lt_db_close(lt_db *db);

/* Durable engines: log position (end LSN) up to which every committed
 * record is fsynced. 0 for an in-memory engine. */
uint64_t lt_db_durable_lsn(lt_db *db);

/* Waits until the log is fsynced up to lsn (0: everything committed so
 * far), whatever the sync mode. LT_OK (also in memory), LT_IOERR when the
 * disk fails (the log keeps retrying; nothing is lost from memory). */
int lt_db_sync(lt_db *db, uint64_t lsn);

/* Log figures of a durable engine (all 0 in memory). */
typedef struct lt_stat {
    uint64_t appended_lsn;   /* end of the last record appended */
    uint64_t durable_lsn;    /* fsynced up to here */
    uint64_t log_records;    /* records appended since open */
    uint64_t log_fsyncs;     /* fsyncs since open: records / fsyncs is the
                                group-commit factor */
} lt_stat;
void lt_db_stat(lt_db *db, lt_stat *st);

/* Writes a snapshot of the whole engine (no fork: commits go on), makes it
 * current in the manifest, then deletes the log segments and the older
 * snapshot files no longer needed for recovery. Runs on the calling
 * thread. LT_OK, LT_INVAL (in-memory engine), LT_IOERR, LT_NOMEM. */
int lt_db_checkpoint(lt_db *db);

/* ---- Transactions ---------------------------------------------------------- */
typedef struct lt_txn lt_txn;

#define LT_TXN_RDONLY 0x1u /* read-only: no read-set tracking, cheapest gets */
#define LT_TXN_NOSYNC 0x2u /* commit returns before its record is fsynced
                              (lt_txn_commit_lsn says where it is) */

/* Starts a transaction reading the snapshot of the latest commit. flags: 0,
 * LT_TXN_RDONLY, LT_TXN_NOSYNC. On LT_OK *out is owned by the caller until
 * lt_txn_commit() or lt_txn_abort(), which free it. While open, it keeps the
 * versions of its snapshot alive (memory grows with concurrent writes, up
 * to lt_config.max_pinned_versions, past which the oldest transaction
 * fails with LT_TXN_TOO_OLD): keep transactions short. Pointers it already
 * returned stay valid until it ends, also after LT_TXN_TOO_OLD.
 * Errors: LT_INVAL, LT_NOMEM. */
int lt_txn_begin(lt_db *db, unsigned flags, lt_txn **out);

/* Applies the buffered writes atomically, then frees txn (always, even on
 * error). Errors: LT_CONFLICT (a key this txn read or wrote was committed by
 * someone else after its snapshot; nothing applied), LT_TXN_TOO_OLD (see
 * lt_config.max_pinned_versions; nothing applied), LT_NOMEM, LT_BADTXN
 * (an earlier put/del failed with LT_NOMEM). A read-only or write-free
 * transaction commits with LT_OK unless it was doomed (LT_TXN_TOO_OLD). */
int lt_txn_commit(lt_txn *txn);

/* Durable engines: the commit above also appends one log record (before
 * its shard locks are released, so the log order is the commit order of
 * every key). Under LT_SYNC_ALWAYS, unless the transaction was begun with
 * LT_TXN_NOSYNC, it returns once that record is fsynced; LT_IOERR then
 * means the commit IS applied and logged but could not be made durable
 * (disk error; the log retries, lt_db_sync tells when it succeeds). */

/* lt_txn_commit that also reports the log position of the commit: *lsn is
 * the end LSN of its record (durable once lt_db_durable_lsn(db) >= it;
 * lt_db_sync(db, *lsn) waits for that), 0 when nothing was logged (no
 * write, in-memory engine, or an error). lsn may be NULL. */
int lt_txn_commit_lsn(lt_txn *txn, uint64_t *lsn);

/* Discards buffered writes and frees txn. NULL is a no-op. */
void lt_txn_abort(lt_txn *txn);

/* Commit timestamp of the snapshot this transaction reads (monotonic). */
uint64_t lt_txn_snapshot_ts(const lt_txn *txn);

/* Looks up key in database dbid: the transaction's own writes first, then
 * its snapshot. On LT_OK *val / *vlen describe the value; the bytes are
 * read-only and stay valid until the transaction ends (zero copy). Keys whose
 * expiry (set by a server) had passed at the snapshot are not found.
 * Errors: LT_NOTFOUND, LT_WRONGTYPE, LT_INVAL (dbid out of range),
 * LT_NOMEM (write transactions record the read for validation),
 * LT_TXN_TOO_OLD (doomed: only lt_txn_abort/commit remain useful). */
int lt_get(lt_txn *txn, unsigned dbid, const void *key, size_t klen,
           const void **val, size_t *vlen);

/* Looks up n keys of database dbid at once: rcs[i] is what lt_get would
 * return for keys[i] (LT_OK with vals[i]/vlens[i] set, LT_NOTFOUND,
 * LT_WRONGTYPE); pointers live as lt_get's do. In a read-only transaction
 * the cache misses of up to 16 lookups are overlapped (each key's bucket
 * and entry are prefetched before any is read), which is what makes a
 * batch faster than n calls to lt_get on a keyspace larger than the CPU
 * caches. Returns LT_OK once every key has its rcs[i]; LT_INVAL (bad
 * arguments: nothing looked up), LT_NOMEM as lt_get. vals / vlens may be
 * NULL. */
int lt_get_many(lt_txn *txn, unsigned dbid, size_t n, const void *const *keys,
                const size_t *klens, const void **vals, size_t *vlens, int *rcs);

/* Buffers "key = val" (bytes copied; the caller keeps ownership of its
 * buffers). Replaces any value and clears any expiry at commit.
 * Errors: LT_RDONLY, LT_INVAL (dbid, or key/value longer than 512 MiB),
 * LT_NOMEM (the transaction is then unusable: commit returns LT_BADTXN). */
int lt_put(lt_txn *txn, unsigned dbid, const void *key, size_t klen,
           const void *val, size_t vlen);

/* Buffers the deletion of key. Returns LT_OK if the key exists (in the
 * snapshot or the txn's own writes), LT_NOTFOUND if not (still buffered, so
 * the commit validates that it stays absent). Errors as lt_put. */
int lt_del(lt_txn *txn, unsigned dbid, const void *key, size_t klen);

/* ---- Cursors ----------------------------------------------------------------- */
typedef struct lt_cursor lt_cursor;

/* Opens a cursor over every key of database dbid in the transaction's
 * snapshot, each exactly once; the txn's own uncommitted writes are not
 * included. Order: hash order, or with LT_DB_ORDERED byte order (memcmp,
 * a prefix first), the cursor then starting before the first key. *out is
 * owned by the caller: lt_cursor_close() it before the transaction ends.
 * Errors: LT_INVAL, LT_NOMEM. */
int lt_cursor_open(lt_txn *txn, unsigned dbid, lt_cursor **out);

/* Moves to the next key. On LT_OK the key and value pointers (pass NULL for
 * a pair you do not want) point to bytes valid until the transaction ends.
 * Non-string values are skipped. Returns LT_NOTFOUND at the end,
 * LT_NOMEM on allocation failure, LT_TXN_TOO_OLD once the txn is doomed. */
int lt_cursor_next(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen);

/* Ordered engines only. An ordered cursor sits in a gap between keys:
 * lt_cursor_next returns the key after the gap and moves past it,
 * lt_cursor_prev the key before it (so next then prev return the same
 * key). lt_cursor_seek puts the gap just before the first key >= key
 * (key may be NULL with klen 0: before the first key); lt_cursor_seek_end
 * after the last key. Errors: LT_INVAL (engine not ordered, bad key),
 * LT_NOMEM; lt_cursor_prev returns LT_NOTFOUND at the start. */
int lt_cursor_seek(lt_cursor *cur, const void *key, size_t klen);
int lt_cursor_seek_end(lt_cursor *cur);
int lt_cursor_prev(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen);

/* Frees the cursor. NULL is a no-op. */
void lt_cursor_close(lt_cursor *cur);

/* ---- Sizing ------------------------------------------------------------------ */

/* Size hint: sizes database dbid's hash tables for nkeys keys now, so that
 * loading up to that many never grows them (growing rehashes every key
 * once per doubling, which costs a cache miss per key: about a quarter of
 * a bulk load's time). Optional; may be called at any time, from any
 * thread; never shrinks (deleting most keys later may shrink the tables
 * again). Costs about 9-18 bytes per reserved key at once, reserved
 * whether used or not. Returns LT_OK, LT_INVAL (engine NULL, dbid out of
 * range, nkeys > 2^40), LT_NOMEM. */
int lt_db_reserve(lt_db *db, unsigned dbid, uint64_t nkeys);

/* ---- Introspection ------------------------------------------------------------- */

/* Number of live keys in database dbid (0 if out of range). Exact when no
 * commit is running concurrently. */
uint64_t lt_db_count(lt_db *db, unsigned dbid);

#ifdef __cplusplus
}
#endif

#endif
