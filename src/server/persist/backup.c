/*
 * backup.c — the BACKUP command family and the backup INFO fields (contract
 * in backup.h, protocol in docs/BACKUP.md).
 *
 * State under B.lock: the session (active, kind, throttle the tool
 * declared, start time, bytes served, last use) and its snapshot (wanted,
 * ready with the pinned file's name and what it holds, or failed), and the
 * figures of the last finished backup. The snapshot's end reaches us
 * through save.c's done hook (called under the save lock: we only take
 * B.lock there, never the other way round).
 *
 * Invariant: while a session has a ready snapshot, <dir>/backup-pin holds a
 * hard link to it (the same inode as the published file, so a later
 * snapshot's retention can delete the published name only).
 */
#include "server/persist/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "engine/snapshot.h"
#include "engine/wal.h"
#include "engine/wal_archive.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/persist/archive.h"
#include "server/persist/persist_int.h"
#include "server/persist/save.h"
#include "server/server.h"

enum { SNAP_NONE = 0, SNAP_WAITING, SNAP_READY, SNAP_FAILED };
static const char *const snap_state_names[] = {"none", "waiting", "ready", "failed"};

static struct {
    pthread_mutex_t lock;
    int active, full;
    uint64_t owner;       /* client id of the session */
    long long max_rate;
    int64_t start_ms, used_ms;
    uint64_t bytes;
    int snap_state;
    char pin[PATH_MAX];   /* the pinned file (relative to dir) */
    snap_info snap;
    /* Last finished backup. */
    int last_status;      /* -1 none, 0 err, 1 ok */
    int last_full;
    int64_t last_time_s, last_duration_ms;
    uint64_t last_bytes;
    long long last_max_rate;
    uint64_t ok_count, failed_count;
} B = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_status = -1};

static void unpin_locked(void) {
    if (B.pin[0]) unlink(B.pin);
    B.pin[0] = 0;
}

/* save.c's done hook (save lock held). */
static void on_snapshot_done(int ok, const char *name, const struct snap_info *info) {
    pthread_mutex_lock(&B.lock);
    if (B.active && B.snap_state == SNAP_WAITING) {
        if (ok) {
            char pin[PATH_MAX];
            snprintf(pin, sizeof(pin), "%s/%s", BACKUP_PIN_DIR, name);
            unlink(pin);
            if ((mkdir(BACKUP_PIN_DIR, 0755) == 0 || errno == EEXIST) && link(name, pin) == 0) {
                snprintf(B.pin, sizeof(B.pin), "%s", pin);
                B.snap = *info;
                B.snap_state = SNAP_READY;
            } else {
                serverLog(LL_WARNING, "BACKUP: cannot pin snapshot %s as %s: %s", name, pin,
                          strerror(errno));
                B.snap_state = SNAP_FAILED;
            }
        } else {
            B.snap_state = SNAP_FAILED;
        }
    }
    pthread_mutex_unlock(&B.lock);
}

/* Removes every file of the pin directory (a session of a previous run). */
static void clear_pin_dir(void) {
    uint64_t *lsns;
    int n;
    if (snap_list(BACKUP_PIN_DIR, &lsns, &n) != LT_OK) return;
    for (int i = 0; i < n; i++) {
        char name[SNAP_NAME_SIZE], path[PATH_MAX];
        snap_file_name(lsns[i], name);
        snprintf(path, sizeof(path), "%s/%s", BACKUP_PIN_DIR, name);
        unlink(path);
    }
    free(lsns);
}

int backup_init(void) {
    save_set_done_hook(on_snapshot_done);
    clear_pin_dir();
    archive_apply_config();
    return 0;
}

static int argeq(const resp_arg *a, const char *s) {
    return a->len == strlen(s) && !strncasecmp(a->ptr, s, a->len);
}

/* Replies an error and returns 1 when the WAL is off. */
static int need_wal(client *c) {
    if (P.wal) return 0;
    addReplyError(c, "ERR BACKUP needs the WAL (appendonly yes)");
    return 1;
}

/* Finishes the session (B.lock held). */
static void end_locked(int ok) {
    int64_t now = mstime();
    B.last_status = ok;
    B.last_full = B.full;
    B.last_time_s = now / 1000;
    B.last_duration_ms = now - B.start_ms;
    B.last_bytes = B.bytes;
    B.last_max_rate = B.max_rate;
    if (ok) B.ok_count++;
    else B.failed_count++;
    unpin_locked();
    __atomic_store_n(&B.active, 0, __ATOMIC_RELAXED);
    B.snap_state = SNAP_NONE;
}

void backupBeginCommand(client *c) {
    if (need_wal(c)) return;
    int full;
    if (argeq(&c->argv[2], "full")) full = 1;
    else if (argeq(&c->argv[2], "incr")) full = 0;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    long long rate = 0;
    if (c->argc == 5 && argeq(&c->argv[3], "maxrate")) {
        if (!lt_string2ll(c->argv[4].ptr, c->argv[4].len, &rate) || rate < 0) {
            addReplyError(c, "ERR value is not an integer or out of range");
            return;
        }
    } else if (c->argc != 3) {
        addReplyErrorSyntax(c);
        return;
    }
    int64_t now = mstime();
    pthread_mutex_lock(&B.lock);
    if (B.active && now - B.used_ms < BACKUP_SESSION_IDLE_S * 1000) {
        pthread_mutex_unlock(&B.lock);
        addReplyError(c, "ERR a backup is already in progress");
        return;
    }
    if (B.active) {
        serverLog(LL_WARNING, "BACKUP: a session idle for %d seconds is abandoned",
                  BACKUP_SESSION_IDLE_S);
        end_locked(0);
    }
    __atomic_store_n(&B.active, 1, __ATOMIC_RELAXED);
    B.owner = c->id;
    B.full = full;
    B.max_rate = rate;
    B.start_ms = B.used_ms = now;
    B.bytes = 0;
    B.snap_state = full ? SNAP_WAITING : SNAP_NONE;
    pthread_mutex_unlock(&B.lock);
    if (full && save_request_background() < 0) {
        pthread_mutex_lock(&B.lock);
        B.snap_state = SNAP_FAILED;
        pthread_mutex_unlock(&B.lock);
        addReplyError(c, "ERR cannot start the backup snapshot (see the server log)");
        return;
    }
    serverLog(LL_NOTICE, "Backup (%s) started%s", full ? "full" : "incremental",
              full ? ": background snapshot" : "");
    addReplyStatus(c, "OK");
}

/* Oldest LSN readable from the live WAL or the archive. */
static uint64_t oldest_lsn(void) {
    wal_stats st;
    wal_get_stats(P.wal, &st);
    uint64_t oldest = st.start_lsn;
    char dir[PATH_MAX];
    archive_dir(dir, sizeof(dir));
    uint64_t *lsns;
    int n;
    if (dir[0] && wal_archive_list(dir, &lsns, &n) == LT_OK) {
        if (n && lsns[0] < oldest) oldest = lsns[0];
        free(lsns);
    }
    return oldest;
}

void backupStatusCommand(client *c) {
    if (need_wal(c)) return;
    uint64_t oldest = oldest_lsn();
    uint64_t durable = wal_durable_lsn(P.wal);
    pthread_mutex_lock(&B.lock);
    if (B.active) B.used_ms = mstime();
    addReplyMapLen(c, 12);
    addReplyBulkCString(c, "in_progress");
    addReplyLongLong(c, B.active);
    addReplyBulkCString(c, "kind");
    addReplyBulkCString(c, B.active ? (B.full ? "full" : "incr") : "none");
    addReplyBulkCString(c, "snapshot");
    addReplyBulkCString(c, snap_state_names[B.snap_state]);
    addReplyBulkCString(c, "snapshot_file");
    addReplyBulkCString(c, B.snap_state == SNAP_READY ? B.pin : "");
    addReplyBulkCString(c, "snapshot_lsn");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.lsn : -1);
    addReplyBulkCString(c, "snapshot_commit_ts");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.commit_ts : -1);
    addReplyBulkCString(c, "snapshot_time_ms");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.time_ms : -1);
    addReplyBulkCString(c, "snapshot_bytes");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.file_bytes : -1);
    addReplyBulkCString(c, "snapshot_raw_bytes");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.raw_bytes : -1);
    addReplyBulkCString(c, "snapshot_keys");
    addReplyLongLong(c, B.snap_state == SNAP_READY ? (long long)B.snap.keys : -1);
    addReplyBulkCString(c, "wal_oldest_lsn");
    addReplyLongLong(c, (long long)oldest);
    addReplyBulkCString(c, "wal_durable_lsn");
    addReplyLongLong(c, (long long)durable);
    pthread_mutex_unlock(&B.lock);
}

void backupSyncCommand(client *c) {
    if (need_wal(c)) return;
    int64_t now = mstime();
    uint64_t end = wal_appended_lsn(P.wal);
    if (wal_sync(P.wal, end) != LT_OK) {
        addReplyErrorFormat(c, "ERR the WAL cannot be made durable: %s",
                            strerror(wal_error(P.wal) ? wal_error(P.wal) : EIO));
        return;
    }
    pthread_mutex_lock(&B.lock);
    if (B.active) B.used_ms = mstime();
    pthread_mutex_unlock(&B.lock);
    addReplyArrayLen(c, 2);
    addReplyLongLong(c, (long long)end);
    addReplyLongLong(c, (long long)now);
}

static int parse_u64(const resp_arg *a, uint64_t *v) {
    long long x;
    if (!lt_string2ll(a->ptr, a->len, &x) || x < 0) return 0;
    *v = (uint64_t)x;
    return 1;
}

static void read_snapshot(client *c, uint64_t off, size_t count) {
    char pin[PATH_MAX];
    pthread_mutex_lock(&B.lock);
    int ready = B.active && B.snap_state == SNAP_READY;
    snprintf(pin, sizeof(pin), "%s", B.pin);
    pthread_mutex_unlock(&B.lock);
    if (!ready) {
        addReplyError(c, "ERR no backup snapshot is ready (BACKUP BEGIN FULL, then wait for "
                         "BACKUP STATUS to say ready)");
        return;
    }
    int fd = open(pin, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        addReplyErrorFormat(c, "ERR cannot open %s: %s", pin, strerror(errno));
        return;
    }
    char *buf = malloc(count ? count : 1);
    size_t got = 0;
    int err = buf ? 0 : ENOMEM;
    while (!err && got < count) {
        ssize_t r = pread(fd, buf + got, count - got, (off_t)(off + got));
        if (r < 0) {
            if (errno != EINTR) err = errno;
            continue;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (err) {
        free(buf);
        addReplyErrorFormat(c, "ERR cannot read %s: %s", pin, strerror(err));
        return;
    }
    pthread_mutex_lock(&B.lock);
    B.bytes += got;
    B.used_ms = mstime();
    pthread_mutex_unlock(&B.lock);
    addReplyBulk(c, buf, got);
    free(buf);
}

static void read_wal(client *c, uint64_t lsn, size_t count) {
    char arch[PATH_MAX];
    archive_dir(arch, sizeof(arch));
    const char *dirs[2] = {PERSIST_WAL_DIR, arch};
    uint64_t limit = wal_durable_lsn(P.wal);
    if (lsn > limit) {
        addReplyErrorFormat(c, "ERR WAL position %" PRIu64 " is past the durable end %" PRIu64
                               " (BACKUP SYNC first)", lsn, limit);
        return;
    }
    char *buf;
    size_t len;
    const char *why;
    int rc = wal_archive_read(dirs, 2, lsn, limit, count, &buf, &len, &why);
    if (rc == LT_NOTFOUND) {
        addReplyErrorFormat(c, "ERR WAL position %" PRIu64 " is not available (the oldest is %"
                               PRIu64 "; checkpointed segments are kept only with "
                               "wal-archive-dir)", lsn, oldest_lsn());
        return;
    }
    if (rc == LT_INVAL) {
        addReplyErrorFormat(c, "ERR WAL position %" PRIu64 " is not a valid record: %s", lsn,
                            why ? why : "invalid");
        return;
    }
    if (rc != LT_OK) {
        addReplyErrorFormat(c, "ERR cannot read the WAL at %" PRIu64 ": %s", lsn,
                            strerror(errno));
        return;
    }
    pthread_mutex_lock(&B.lock);
    B.bytes += len;
    if (B.active) B.used_ms = mstime();
    pthread_mutex_unlock(&B.lock);
    addReplyBulk(c, buf, len);
    free(buf);
}

void backupReadCommand(client *c) {
    if (need_wal(c)) return;
    uint64_t pos, count;
    if (!parse_u64(&c->argv[3], &pos) || !parse_u64(&c->argv[4], &count) || count == 0) {
        addReplyError(c, "ERR value is not an integer or out of range");
        return;
    }
    if (count > BACKUP_MAX_READ) count = BACKUP_MAX_READ;
    if (argeq(&c->argv[2], "snapshot")) read_snapshot(c, pos, (size_t)count);
    else if (argeq(&c->argv[2], "wal")) read_wal(c, pos, (size_t)count);
    else addReplyErrorSyntax(c);
}

void backupEndCommand(client *c) {
    int ok;
    if (argeq(&c->argv[2], "ok")) ok = 1;
    else if (argeq(&c->argv[2], "failed")) ok = 0;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    pthread_mutex_lock(&B.lock);
    if (!B.active) {
        pthread_mutex_unlock(&B.lock);
        addReplyError(c, "ERR no backup in progress");
        return;
    }
    int full = B.full;
    end_locked(ok);
    uint64_t bytes = B.last_bytes;
    int64_t ms = B.last_duration_ms;
    pthread_mutex_unlock(&B.lock);
    serverLog(LL_NOTICE, "Backup (%s) %s: %" PRIu64 " bytes served in %.3f seconds",
              full ? "full" : "incremental", ok ? "done" : "failed", bytes, (double)ms / 1000);
    addReplyStatus(c, "OK");
}

void backup_client_closed(client *c) {
    if (!__atomic_load_n(&B.active, __ATOMIC_RELAXED)) return;
    pthread_mutex_lock(&B.lock);
    int ended = B.active && B.owner == c->id;
    if (ended) end_locked(0);
    pthread_mutex_unlock(&B.lock);
    if (ended) serverLog(LL_WARNING, "Backup failed: its client disconnected before BACKUP END");
}

void backupHelpCommand(client *c) {
    static const char *help[] = {
        "BEGIN FULL|INCR [MAXRATE <bytes/s>]",
        "    Open a backup session; FULL starts a background snapshot that stays pinned.",
        "STATUS",
        "    The session, its snapshot (waiting, ready, failed) and the WAL range available.",
        "SYNC",
        "    Make the WAL durable up to its end; return [end LSN, server time ms].",
        "READ SNAPSHOT <offset> <count>",
        "    Bytes of the pinned snapshot file (empty at its end).",
        "READ WAL <lsn> <count>",
        "    Whole WAL records from <lsn> (live log, then wal-archive-dir).",
        "END OK|FAILED",
        "    Close the session and record it in INFO persistence.",
        NULL,
    };
    addReplyHelp(c, help);
}

size_t backup_info(char *out, size_t cap) {
    pthread_mutex_lock(&B.lock);
    int n = snprintf(out, cap,
                     "backup_in_progress:%d\r\n"
                     "backups_ok:%" PRIu64 "\r\n"
                     "backups_failed:%" PRIu64 "\r\n"
                     "backup_last_status:%s\r\n"
                     "backup_last_kind:%s\r\n"
                     "backup_last_time:%lld\r\n"
                     "backup_last_duration_ms:%lld\r\n"
                     "backup_last_bytes:%" PRIu64 "\r\n"
                     "backup_last_max_rate:%lld\r\n",
                     B.active, B.ok_count, B.failed_count,
                     B.last_status < 0 ? "none" : B.last_status ? "ok" : "err",
                     B.last_status < 0 ? "none" : B.last_full ? "full" : "incr",
                     (long long)B.last_time_s, (long long)B.last_duration_ms, B.last_bytes,
                     B.last_max_rate);
    pthread_mutex_unlock(&B.lock);
    if (n < 0) n = 0;
    if ((size_t)n >= cap) n = cap ? (int)cap - 1 : 0;
    return (size_t)n;
}
