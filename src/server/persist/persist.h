/*
 * persist: what the server writes to the WAL and how it uses it — the
 * bytes each write produces (propagation), recovery at start-up, the
 * autobatcher that holds replies under `appendfsync always`, the
 * MISCONF gate on disk errors, and INFO persistence.
 *
 * PROPAGATION (what a write logs). A command runs in engine transactions;
 * when one that wrote commits, the engine's commit hook (under the shard
 * locks, so WAL order is commit order per key) appends one WAL record for
 * the command: by default its argv as a RESP multibulk, preceded by
 * `SELECT <db>` when the client's db differs from the stream's current db
 * (as Redis's AOF does). A key deleted because it expired logs `DEL key`.
 * A command that commits several writing transactions logs once (at the
 * first); don't do that for a command whose argv does not redo all of it.
 *
 * REWRITES (for handlers). A command whose argv would not give the same
 * result when replayed later (relative times, random choices, results of
 * floating point) replaces what it logs BEFORE it commits:
 *
 *     persist_rewrite(c, argc, argv)      log these args instead of c->argv
 *     persist_rewrite_add(c, argc, argv)  log one more command after them
 *                                         (same record, same atomicity)
 *     persist_rewrite_strs(c, argc, s[])  the same with C strings
 *
 * The args are copied at once (callers may pass stack buffers). Calls
 * outside a command, during recovery or when nothing is logged (appendonly
 * no and no stream consumer) are no-ops; with appendonly no and a replica
 * attached they apply to what the replica gets.
 * Rules already applied: SET/SETEX/PSETEX/GETEX with a relative or
 * absolute expiry -> `SET k v PXAT ms` / `PEXPIREAT k ms`, EXPIRE family ->
 * PEXPIREAT (a time already past -> DEL), INCRBYFLOAT -> `SET k result
 * KEEPTTL`. Rules for the collection types (to apply in their handlers):
 * SPOP -> SREM key <popped members> (or DEL when the set is emptied), 
 * SRANDMEMBER/HRANDFIELD/ZRANDMEMBER are reads (nothing logged),
 * HINCRBYFLOAT -> HSET key field <result>, ZINCRBY is deterministic (as
 * is), blocking pops -> their non-blocking form (BLPOP -> LPOP key, BLMOVE
 * -> LMOVE), LMPOP/ZMPOP -> LPOP/ZPOPMIN key count of the key served.
 * Streams (t_stream.c): XADD with a generated ID or `~` trimming -> XADD
 * with the ID and the exact trim, XTRIM `~` -> XTRIM ... = exact, XGROUP
 * CREATE `$` -> the ID; XREADGROUP / XCLAIM / XAUTOCLAIM -> XGROUP
 * CREATECONSUMER, one `XCLAIM ... TIME RETRYCOUNT FORCE JUSTID LASTID` per
 * entry delivered or claimed, XGROUP SETID ... ENTRIESREAD (as Redis
 * propagates them).
 *
 * HOLDING (`appendfsync always`). A client whose command appended a record
 * has its whole output held (later replies queue behind it, order kept)
 * until the WAL's durable LSN passes the client's last LSN. Each worker,
 * before it waits, asks the WAL writer to sync up to the highest LSN its
 * clients appended in that loop turn (so a pipeline, and all clients served
 * in one turn, make one group commit); the writer's durable callback wakes
 * the workers with held clients, which release them. Readers are held
 * the same way when the command read a shard whose last commit (its
 * stamp, ks_txn_stamp) is not durable yet (persist_command_end). Under
 * everysec/no replies are never held.
 *
 * Threads: the hooks run on whatever thread commits; per-command state is
 * thread-local; stream db and append order are under one mutex.
 */
#ifndef LIGHTNING_PERSIST_H
#define LIGHTNING_PERSIST_H

#include <stdint.h>
#include <sys/uio.h>

#include "common/promhist.h"
#include "server/net/client.h"

struct worker;

/* Start-up, after engine_open() and before the workers: when appendonly,
 * opens <dir>/<appenddirname> (an older Lightning's <dir>/wal is renamed
 * to it first), replays it through the command table, installs the engine
 * hooks. Returns 0, or -1 with a message logged. */
int persist_open(void);
/* Before persist_open (dir is the working directory): the bytes it will
 * load, about — the newest snapshot and the WAL after it (INFO
 * loading_total_bytes; an imported dump.rdb adds its size itself). */
uint64_t persist_load_bytes(void);
/* The WAL's fsync latencies (engine/wal.h wal_fsync_hist) into out: 0, or
 * -1 without a WAL (appendonly no). Any thread. */
int persist_wal_fsync_hist(promhist *out);
/* After workers_start(): lets the WAL writer wake workers. */
void persist_workers_started(void);
/* Before the workers stop: no more wakeups (returns after any running
 * one finished). */
void persist_workers_stopping(void);
/* SHUTDOWN and SIGTERM/SIGINT, before anything stops: makes everything
 * logged so far durable (an fsync whatever appendfsync says). 0, or -1
 * when the WAL is failing — then it logs why, as Redis does when it
 * cannot persist at shutdown, and the caller keeps the server running
 * (unless SHUTDOWN NOSAVE|FORCE). */
int persist_shutdown_check(void);
/* After the workers joined: writes and fsyncs the rest, closes the WAL. */
void persist_close(void);
/* CONFIG SET appendfsync / wal-segment-size, DEBUG WAL-FAIL. */
void persist_apply_config(void);

/* Handlers: replace / extend what the running command logs. */
void persist_rewrite(client *c, int argc, const resp_arg *argv);
void persist_rewrite_add(client *c, int argc, const resp_arg *argv);
void persist_rewrite_strs(client *c, int argc, const char *const *argv);

/* dispatch: around each command's handler. persist_reject() replies
 * Redis's MISCONF error and returns 1 when the WAL is in its error state
 * and cmd may not run (writes, and PING as in Redis). */
int persist_reject(client *c, const struct command *cmd);
/* The commits of c's current command are not logged: for commands that
 * rewrite values without changing what they hold (DEBUG RELOAD), whose
 * own text must never be replayed. */
void persist_skip_log(client *c);
/* Replication (src/repl/link.c), around loading a full-sync payload (on
 * its own thread and the loader's): commits are not logged (a snapshot
 * written right after covers them). */
void persist_set_unlogged(int on);
/* Replication (src/repl/link.c), around each command of the master's
 * stream: the WAL records this thread appends (not expiry DELs) end with
 * these RESP bytes (its offset mark, replayed at start-up); p must stay
 * valid until reset with (NULL, 0). */
void persist_set_record_suffix(const char *p, size_t n);
/* After persist_open: the LSN of the snapshot recovery started from (0
 * when none). */
uint64_t persist_recovered_snapshot_lsn(void);
void persist_command_begin(client *c);
void persist_command_end(client *c);

/* EXEC (multi.c), inside its own persist_command_begin/end: the queued
 * commands run in one engine transaction; what each of them that wrote
 * logs (argv or rewrite, with SELECT when its db changed) is collected,
 * and the commit hook of that transaction appends it as ONE record —
 * `MULTI <commands> EXEC` when more than one, ending in the database it
 * started in. begin/end bracket the whole EXEC; cmd_begin/cmd_end each
 * queued command (wrote: the command wrote to the engine). */
void persist_exec_begin(client *c);
void persist_exec_cmd_begin(client *c);
void persist_exec_cmd_end(client *c, int wrote);
void persist_exec_end(client *c);

/* Scripts (src/script/script.c) use the EXEC path for their one record:
 * the commands a script runs are executed by a fake client, so
 * persist_exec_handoff(caller, fake) makes the fake client the one whose
 * rewrites and queued commands are collected, and (fake, caller) gives the
 * record back to the caller before its commit (whose reply is held).
 * persist_exec_discard(c) forgets what was collected (a script attempt
 * that is undone and run again; SHUTDOWN killing a script) and that a
 * record was logged for this command, so the next commit logs afresh.
 * persist_exec_cmd_done(c): the EXEC-queued command now running (EVAL,
 * FCALL) logged its effects itself; its own argv is not logged. */
void persist_exec_handoff(client *from, client *to);
void persist_exec_discard(client *c);
void persist_exec_cmd_done(client *c);
/* Logs c's argv as one record for a command that changed state outside
 * the keyspace (FUNCTION LOAD / DELETE / FLUSH / RESTORE): replayed
 * through the command table like any record. Held like a write under
 * `always`. No-op during replay, without a WAL, inside EXEC. */
void persist_log_command(client *c);
/* 1 while the WAL is being replayed at start-up. */
int persist_replaying(void);
/* Replies MISCONF and returns 1 when the WAL cannot take writes (a script
 * with the write flag may not start). */
int persist_reject_writes(client *c);

/* Writes the server makes by itself, outside any command (the cluster
 * deleting the keys of a slot another master took): between begin and end
 * this thread's commits are not logged by the commit hook; the caller logs
 * each deletion with persist_log_del (`DEL key` in dbid, one record, as an
 * expired key's), with the locks of the deleting transaction held. */
void persist_internal_begin(void);
void persist_internal_end(void);
void persist_log_del(unsigned dbid, const char *key, size_t klen, uint64_t ts);
/* worker: once per loop turn before waiting, and on wakeup. */
void persist_before_wait(struct worker *w);
void persist_on_wakeup(struct worker *w);

/* Snapshots (save.c). The WAL LSN a snapshot about to open its view
 * covers (0 without a WAL); the next record starts with SELECT so replay
 * may begin there. */
uint64_t persist_snapshot_point(void);
/* Makes the WAL durable up to lsn whatever appendfsync says. 0, or -1 when
 * the WAL is failing. No-op without a WAL. */
int persist_sync(uint64_t lsn);
/* Deletes WAL segments lying entirely before lsn. 0 or -1 (errno). */
int persist_checkpoint(uint64_t lsn, int *dropped);

/* ---- The logical stream (stream.c) ----------------------------------------
 * Every commit as RESP commands, each record starting with SELECT <db>,
 * in commit order — the bytes a Redis replica would be sent; its offset is
 * the Redis replication offset (bytes since start-up). Produced with
 * appendonly yes always, with appendonly no while a consumer is
 * registered. Replication (src/repl) consumes it; backups will. */
#define PERSIST_STREAM_MAX_CONSUMERS 16
typedef struct persist_consumer {
    /* Called for every record after subscription, in stream order, with
     * the stream offset of its first byte and its bytes (iov, valid during
     * the call only). Runs under the stream's lock on the committing
     * thread, maybe with shard locks held: copy into a bounded buffer and
     * return; never block, never call persist. */
    void (*on_data)(void *ctx, uint64_t offset, const struct iovec *iov, int iovcnt);
    void *ctx;
} persist_consumer;
/* After persist_open(). Adds c (owned by the caller, valid until
 * unsubscribed); *start_offset = offset of the first byte c will get.
 * 0, or -1 when PERSIST_STREAM_MAX_CONSUMERS are registered. */
int persist_stream_subscribe(persist_consumer *c, uint64_t *start_offset);
/* Removes c: no on_data call runs or follows once it returns. 0, or -1
 * when c was not registered. */
int persist_stream_unsubscribe(persist_consumer *c);
/* Stream bytes produced since start-up (master_repl_offset). */
uint64_t persist_stream_offset(void);
/* The next record starts with a SELECT of its database (a replica's full
 * sync starts here: Redis re-selects when a replica attaches). */
void persist_stream_reselect(void);

/* INFO persistence. */
typedef struct persist_info {
    int enabled;
    int last_write_ok;
    int last_errno;
    uint64_t current_size;   /* bytes of the log on disk */
    uint64_t changes;        /* writes since start (rdb_changes_since_last_save) */
    uint64_t durable, written, appended;
    uint64_t fsyncs;
    double records_per_fsync;
} persist_info;
void persist_get_info(persist_info *out);

/* Memory of the WAL's record buffers: what maxmemory leaves out (INFO
 * mem_not_counted_for_evict), as Redis leaves out its AOF buffer. */
size_t persist_buffer_bytes(void);

#endif
