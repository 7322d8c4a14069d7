/*
 * save: the server's snapshots — SAVE, BGSAVE [SCHEDULE], LASTSAVE,
 * BGREWRITEAOF (a checkpoint: snapshot, then delete the WAL segments the
 * snapshots cover), the `save <seconds> <changes>` rules and the
 * wal-checkpoint-size trigger (checked by worker 0's cron), SHUTDOWN's
 * save, recovery from the newest valid snapshot at start-up, and the INFO
 * persistence figures. File format and writer: src/engine/snapshot.c.
 *
 * One snapshot at a time: a BGSAVE runs on its own (detached) thread, a
 * SAVE on the calling worker; both write from an MVCC view opened at one
 * commit timestamp while writers go on (no fork). The view is sequential:
 * writers copy a key's old version only while the snapshot has not yet
 * written that key's shard, so extra memory is at most one copy of each
 * key modified ahead of the writer (measured: snapshot_extra_memory_peak).
 *
 * WAL position: the snapshot names the WAL end LSN read (with the stream's
 * SELECT reset, persist_snapshot_point) just before the view opened, and
 * is published only once the WAL is durable up to it. Recovery replays the
 * records at or after that LSN whose commit timestamp is newer than the
 * view's (commit timestamps continue across restarts: ks_mvcc_advance).
 *
 * Retention: the manifest names the current and the previous snapshot;
 * older snapshot files are deleted once a new one is published. A
 * checkpoint deletes the WAL segments lying entirely before the previous
 * snapshot's LSN, so either kept snapshot plus the WAL recovers everything.
 *
 * Threads: commands on any worker; state under one mutex; the snapshot
 * thread signals completion through a condition variable.
 */
#ifndef LIGHTNING_SAVE_H
#define LIGHTNING_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/promhist.h"

#include "server/net/client.h"

/* Start-up, before the WAL replay: loads the newest valid snapshot into
 * server.db (falling back to the previous one when it is corrupt). Sets
 * *replay_from (WAL LSN to replay from) and *snap_ts (records with a
 * commit ts <= it are already in the snapshot). wal_start: LSN of the
 * first WAL segment on disk (UINT64_MAX when there is none or the WAL is
 * off). Returns 0, or -1 after logging why the server must not start and
 * what to do. */
int save_recover(uint64_t wal_start, uint64_t *replay_from, uint64_t *snap_ts);

/* Worker 0's cron: save rules, scheduled saves, the WAL size trigger. */
void save_cron(void);

/* Start-up, after an RDB import with the WAL on (rdb_import.h): writes a
 * snapshot on the calling thread so the imported keys are in Lightning's
 * own files. 0, or -1 (logged). */
int save_after_import(void);

/* Main thread, after the workers stopped: stops a running BGSAVE; then,
 * when save_now is set and save rules exist, writes a snapshot. */
void save_shutdown(int save_now);

/* SHUTDOWN's save (on the calling worker). mode: 1 SAVE, 0 default (saves
 * when save rules exist). Returns 0, or -1 when the save failed (logged). */
int save_for_shutdown(int mode);

/* Config: validates and normalises a `save` value ("3600 1 300 100";
 * whitespace-separated pairs, seconds >= 1, changes >= 0; "" = no rules).
 * Returns a malloc'd normalised string, or NULL when invalid. */
char *save_rules_normalize(const char *s, size_t len);
/* CONFIG SET save: re-reads server.save_params (config_lock held). */
void save_apply_config(void);

/* SAVE on the calling thread (DEBUG RELOAD): 0, -1 when it failed
 * (logged), -2 when another snapshot is being written. */
int save_now(void);

/* A background snapshot for a backup (BACKUP BEGIN FULL): starts one,
 * or, when one is being written, lets that one serve. 0, or -1 when the
 * thread could not start (logged). The done hook reports its end. */
int save_request_background(void);
/* Called (under the save lock; it must not call back into save.c) at the
 * end of every snapshot: ok, and on success the file name (in dir) and
 * what it holds; the file is the current snapshot and is not deleted
 * before the next snapshot ends. */
struct snap_info;
typedef void save_done_fn(int ok, const char *name, const struct snap_info *info);
void save_set_done_hook(save_done_fn *fn);

/* Is the background snapshot thread writing a snapshot now? (Lock-free.) */
int save_in_background(void);
/* 1 while save rules exist and the last background save failed (what
 * stop-writes-on-bgsave-error refuses writes on). Lock-free. */
int save_bgsave_failing(void);

/* INFO persistence. */
typedef struct save_info {
    uint64_t changes_since_save;
    int bgsave_in_progress, rewrite_in_progress;
    int bgsave_scheduled, rewrite_scheduled;
    int64_t lastsave_s;
    int last_bgsave_ok, last_rewrite_ok;
    int64_t last_bgsave_time_sec, current_bgsave_time_sec;
    int64_t last_rewrite_time_sec, current_rewrite_time_sec;
    uint64_t saves, rewrites;
    /* Lightning's own figures about the last snapshot written. */
    uint64_t snap_keys, snap_file_bytes, snap_raw_bytes;
    uint64_t snap_lsn;
    int64_t snap_duration_ms;
    size_t snap_extra_memory_peak;
    const char *snap_codec;
    uint64_t load_keys;
    int64_t load_ms;
} save_info;
void save_get_info(save_info *out);
/* Durations of the snapshots written since start (a Prometheus histogram). */
void save_duration_hist(promhist *out);

/* SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF handlers: declared in commands.h. */

#endif
