/*
 * store.h — the data directory of an embedded engine: the lock, recovery
 * (snapshot + write-ahead log), one log record per commit, durability
 * waits and checkpoints. Built only from the engine's own WAL (wal.h) and
 * snapshot (snapshot.h) code, in the server's directory layout, so that a
 * directory moves between the library and `lightning-server --dir`:
 *
 *   <dir>/lightning.lock        flock(LOCK_EX) while open (empty file);
 *                               the server takes it too (engine_glue.c)
 *   <dir>/snapshot.manifest     names the current snapshot (snapshot.h)
 *   <dir>/snapshot-<lsn>.snap   snapshots (snapshot.c's format)
 *   <dir>/appendonlydir/        WAL segments (wal.c's format); records are
 *                               WAL_REC_COMMANDS_DB0: RESP commands run
 *                               from database 0, as the server logs them
 *
 * What the library logs: `SET key value` for a put and `DEL key` for a
 * delete, `SELECT n` before the commands of database n != the current
 * one, and `MULTI ... EXEC` around a commit of several writes — commands
 * the server replays as it replays its own log. What the library replays:
 * SELECT, MULTI/EXEC and the string and key commands a server logs (SET
 * with its options, SETNX, MSET, GETSET, GETDEL, INCR/DECR/INCRBY/DECRBY,
 * APPEND, DEL/UNLINK, PEXPIREAT, PERSIST, FLUSHDB, FLUSHALL); any other
 * command fails the open with LT_UNSUPPORTED (the error names it).
 *
 * Recovery rules (the server's, save.c / persist.c): the manifest's
 * current snapshot, else the newest snapshot file; then the log records
 * at or after the snapshot's LSN whose commit ts is newer than the
 * snapshot's; commit timestamps continue after the highest one seen. The
 * library is stricter than the server about damage: only a torn or
 * zero-filled tail of the last segment is cut off silently; a damaged
 * snapshot or any other invalid record fails the open with LT_CORRUPT /
 * LT_VERSION unless LT_DB_REPAIR (then the server's fallbacks apply); a
 * manifest of another format version is LT_VERSION even then.
 *
 * Threads: store_log runs under the committing transaction's shard locks
 * on any thread; store_wait and the rest on any thread; open/close alone.
 */
#ifndef LT_ENGINE_STORE_H
#define LT_ENGINE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/txn.h"
#include "lightning.h"

#define STORE_LOCK_NAME "lightning.lock"
#define STORE_WAL_DIR "appendonlydir"

typedef struct store store;

/* Takes the directory lock: flock(LOCK_EX | LOCK_NB) on <dir>/lightning.lock
 * (created if missing). The library and the server both take it, so no
 * two of them run on one directory. On LT_OK *fd holds the lock until it
 * is closed (also released when the process dies). LT_LOCKED when someone
 * else holds it, LT_IOERR (errno) when the file cannot be opened. */
int store_lock_dir(const char *dir, int *fd);

/* Locks and recovers cfg->dir into db (empty, created by ks_db_create).
 * On LT_OK db->store is set. Errors as lt_db_open documents; a message
 * goes to cfg->errbuf when given. */
int store_open(lt_db *db, const lt_config *cfg);
/* Writes and fsyncs what was logged, closes the log, unlocks the
 * directory, frees the store (db->store = NULL). */
void store_close(lt_db *db);

/* One write of a commit being logged. */
typedef struct store_op {
    unsigned dbid;
    int del;
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
} store_op;

/* Appends the record of a commit of ops[0..n) (n >= 1) with txn's commit
 * ts. Call with txn's locks held. Returns the record's end LSN. */
uint64_t store_log(store *s, ks_txn *txn, const store_op *ops, size_t n);
/* After the locks are released: under LT_SYNC_ALWAYS (and sync set)
 * waits until lsn is fsynced; otherwise asks the writer to write it.
 * LT_OK or LT_IOERR. */
int store_commit_wait(store *s, uint64_t lsn, int sync);

uint64_t store_durable_lsn(store *s);
/* Waits until lsn (0: everything appended) is fsynced. LT_OK, LT_IOERR. */
int store_sync(store *s, uint64_t lsn);
void store_stat(store *s, lt_stat *st);
/* lt_db_checkpoint. */
int store_checkpoint(lt_db *db);

#endif
