/*
 * persist.c — the WAL's life in the server (see persist.h): close at
 * shutdown, CONFIG SET, the MISCONF gate, snapshot points and checkpoints,
 * INFO persistence. Propagation is in propagate.c, held replies in hold.c,
 * recovery in replay.c.
 */
#include "server/persist/persist_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/util.h"
#include "engine/keyspace.h"
#include "engine/mvcc.h"
#include "engine/prefetch.h"
#include "engine/wal.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/resp.h"
#include "server/persist/save.h"
#include "server/persist/archive.h"
#include "server/server.h"
#include "server/net/worker.h"

int persist_reject_writes(client *c) {
    wal *wl = __atomic_load_n(&P.wal, __ATOMIC_ACQUIRE); /* see persist_before_wait */
    if (!wl) return 0;
    int err = wal_error(wl);
    if (!err) return 0;
    addReplyErrorFormat(c, "MISCONF Errors writing to the AOF file: %s", strerror(err));
    return 1;
}

int persist_reject(client *c, const command *cmd) {
    if (!(cmd->flags & CMD_WRITE) && strcmp(cmd->name, "ping") != 0) return 0;
    /* Redis's order: a failed bgsave first, then the AOF. */
    if (server.stop_writes_on_bgsave_err && save_bgsave_failing()) {
        addReplyError(c, "MISCONF Redis is configured to save RDB snapshots, but it's currently "
                         "unable to persist to disk. Commands that may modify the data set are "
                         "disabled, because this instance is configured to report errors during "
                         "writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
                         "Please check the Redis logs for details about the RDB error.");
        return 1;
    }
    wal *wl = __atomic_load_n(&P.wal, __ATOMIC_ACQUIRE); /* see persist_before_wait */
    if (!wl) return 0;
    int err = wal_error(wl);
    if (!err) return 0;
    addReplyErrorFormat(c, "MISCONF Errors writing to the AOF file: %s", strerror(err));
    return 1;
}

uint64_t persist_snapshot_point(void) {
    return P.wal ? wal_appended_lsn(P.wal) : 0;
}

int persist_sync(uint64_t lsn) {
    if (!P.wal) return 0;
    return wal_sync(P.wal, lsn) == LT_OK ? 0 : -1;
}

int persist_checkpoint(uint64_t lsn, int *dropped) {
    *dropped = 0;
    if (!P.wal) return 0;
    /* wal-archive-dir: the segments go to the archive first, or stay. */
    if (archive_before_drop(lsn) < 0) return -1;
    return wal_drop_before(P.wal, lsn, dropped) == LT_OK ? 0 : -1;
}

void persist_workers_started(void) {
    pthread_mutex_lock(&P.wake_lock);
    P.wakeups = 1;
    pthread_mutex_unlock(&P.wake_lock);
}

void persist_workers_stopping(void) {
    pthread_mutex_lock(&P.wake_lock);
    P.wakeups = 0;
    pthread_mutex_unlock(&P.wake_lock);
}

int persist_shutdown_check(void) {
    if (!P.wal) return 0;
    uint64_t appended = wal_appended_lsn(P.wal);
    if (wal_sync(P.wal, appended) == LT_OK) return 0;
    int err = wal_error(P.wal);
    serverLog(LL_WARNING,
              "The WAL cannot be made durable (%s): writes between WAL offsets %llu and %llu "
              "are only in memory, can't exit. SHUTDOWN NOSAVE or SHUTDOWN FORCE exits anyway "
              "and loses them.",
              strerror(err ? err : EIO), (unsigned long long)wal_durable_lsn(P.wal),
              (unsigned long long)appended);
    serverLog(LL_WARNING,
              "Errors trying to shut down the server. Check the logs for more information.");
    return -1;
}

void persist_close(void) {
    if (!P.wal) return;
    uint64_t appended = wal_appended_lsn(P.wal), durable = wal_durable_lsn(P.wal);
    if (wal_close(P.wal) != LT_OK)
        serverLog(LL_WARNING,
                  "Could not make the end of the WAL durable at shutdown (%s): writes "
                  "between WAL offsets %llu and %llu may be lost",
                  strerror(errno), (unsigned long long)durable, (unsigned long long)appended);
    P.wal = NULL;
}

void persist_apply_config(void) {
    if (!P.wal) return;
    wal_set_fsync_policy(P.wal, server.appendfsync);
    wal_set_segment_bytes(P.wal, (uint64_t)server.wal_segment_size);
    wal_set_fault(P.wal, server.debug_wal_fail);
}

void persist_get_info(persist_info *out) {
    memset(out, 0, sizeof(*out));
    out->enabled = server.appendonly;
    out->last_write_ok = 1;
    out->changes = __atomic_load_n(&P.changes, __ATOMIC_RELAXED);
    if (!P.wal) return;
    out->last_errno = wal_error(P.wal);
    out->last_write_ok = out->last_errno == 0;
    out->durable = wal_durable_lsn(P.wal);
    out->written = wal_written_lsn(P.wal);
    out->appended = wal_appended_lsn(P.wal);
    wal_stats st;
    wal_get_stats(P.wal, &st);
    out->current_size = out->written - st.start_lsn;
    out->fsyncs = st.fsyncs;
    out->records_per_fsync = st.fsyncs ? (double)st.synced_records / (double)st.fsyncs : 0.0;
}

size_t persist_buffer_bytes(void) { return P.wal ? wal_buffer_bytes(P.wal) : 0; }

int persist_wal_fsync_hist(promhist *out) {
    if (!P.wal) return -1;
    wal_fsync_hist(P.wal, out);
    return 0;
}
