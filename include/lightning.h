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

/* Static English text for an LT_* code; never NULL, never freed. */
const char *lt_strerror(int err);

/* ---- Engine instance ------------------------------------------------------ */
typedef struct lt_db lt_db;

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
} lt_config;

/* Fills *cfg with the defaults. */
void lt_config_init(lt_config *cfg);

/* Creates an empty in-memory engine. cfg may be NULL for defaults; it is
 * copied, not retained. On LT_OK *out owns the engine: release it with
 * lt_db_close(). Errors: LT_INVAL (bad config), LT_NOMEM. */
int lt_db_open(const lt_config *cfg, lt_db **out);

/* Frees the engine and every key. No transaction, cursor or view may be
 * open on it, and no other thread may use it. NULL is a no-op. */
void lt_db_close(lt_db *db);

/* ---- Transactions ---------------------------------------------------------- */
typedef struct lt_txn lt_txn;

#define LT_TXN_RDONLY 0x1u /* read-only: no read-set tracking, cheapest gets */

/* Starts a transaction reading the snapshot of the latest commit. flags: 0 or
 * LT_TXN_RDONLY. On LT_OK *out is owned by the caller until
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
 * snapshot (hash order, each key exactly once; the txn's own uncommitted
 * writes are not included). *out is owned by the caller: lt_cursor_close()
 * it before the transaction ends. Errors: LT_INVAL, LT_NOMEM. */
int lt_cursor_open(lt_txn *txn, unsigned dbid, lt_cursor **out);

/* Moves to the next key. On LT_OK the key and value pointers (pass NULL for
 * a pair you do not want) point to bytes valid until the transaction ends.
 * Non-string values are skipped. Returns LT_NOTFOUND at the end,
 * LT_NOMEM on allocation failure, LT_TXN_TOO_OLD once the txn is doomed. */
int lt_cursor_next(lt_cursor *cur, const void **key, size_t *klen,
                   const void **val, size_t *vlen);

/* Frees the cursor. NULL is a no-op. */
void lt_cursor_close(lt_cursor *cur);

/* ---- Introspection ------------------------------------------------------------- */

/* Number of live keys in database dbid (0 if out of range). Exact when no
 * commit is running concurrently. */
uint64_t lt_db_count(lt_db *db, unsigned dbid);

#ifdef __cplusplus
}
#endif

#endif
