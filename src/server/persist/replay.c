/*
 * replay.c — recovery at start-up: the snapshot (save_recover), then the
 * WAL records after it, run through the command table by a private client
 * with each record's original clock, in batches whose first keys are
 * prefetched together; persist_open() opens the WAL and installs the hooks.
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
#include "engine/snapshot.h"
#include "engine/wal.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/resp.h"
#include "server/persist/rdb_import.h"
#include "server/persist/save.h"
#include "server/server.h"
#include "server/net/worker.h"

/* ---- Recovery -------------------------------------------------------------- */

/* Records are replayed in batches: the first key of every record in a
 * batch is prefetched together (engine/prefetch.h), so a replay of many
 * small writes does not wait for one cache miss after another; then the
 * records run one at a time, in order, each with its own clock. */
#define REPLAY_BATCH KS_PREFETCH_MAX

typedef struct replay_rec {
    size_t off, len;   /* payload in replay_state.buf */
    uint64_t lsn;
    int64_t time_ms;
    uint32_t type;
    int in_snapshot;
} replay_rec;

typedef struct replay_state {
    client *c;
    worker *w;
    bytes buf;         /* the batch's payloads (the parser works in place) */
    replay_rec rec[REPLAY_BATCH];
    int n;
    uint64_t commands;
    /* The first record that failed (replay stops there). */
    int failed;
    uint64_t fail_lsn;
    char fail_why[200];
} replay_state;

/* Notes why the record at lsn failed; the replay stops. */
static void replay_fail(replay_state *st, uint64_t lsn, const char *fmt, const char *arg,
                        size_t arglen) {
    st->failed = 1;
    st->fail_lsn = lsn;
    snprintf(st->fail_why, sizeof(st->fail_why), fmt, (int)(arglen < 64 ? arglen : 64), arg);
}

/* Runs one record's commands; the first one's key was prefetched with
 * hash `hash` when key is not NULL. Strict: a payload that does not parse
 * as RESP commands, or a command that replies an error (counted in the
 * error stats, also inside EXEC), fails the record: 0 or -1. */
static int replay_one(replay_state *st, const replay_rec *r, const char *key, uint64_t hash) {
    client *c = st->c;
    char *payload = st->buf.p + r->off;
    /* An old-format record committed before the snapshot's view is in it
     * already: only its SELECTs still matter (later records rely on the
     * database they leave selected). */
    if (r->type == WAL_REC_COMMANDS_DB0) c->db = 0;
    ks_txn_set_thread_clock(r->time_ms > 0 ? r->time_ms : 1);
    c->prehash_key = key;
    c->prehash = hash;
    size_t pos = 0;
    while (pos < r->len) {
        size_t used = 0;
        int rc = resp_parse(&c->parser, payload + pos, r->len - pos, &used);
        if (rc != RESP_COMMAND) {
            resp_parser_reset(&c->parser);
            replay_fail(st, r->lsn, "%.*sthe payload is not a sequence of RESP commands", "",
                        0);
            break;
        }
        pos += used;
        if (c->parser.argc > 0 &&
            (!r->in_snapshot ||
             (c->parser.argv[0].len == 6 && !strncasecmp(c->parser.argv[0].ptr, "select", 6)))) {
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            /* The replay client's own errors: other clients get -LOADING
             * meanwhile (loading.h), so the server's total is no guide. */
            uint64_t errs = c->errors_replied;
            dispatch_command(c);
            st->commands++;
            if (c->errors_replied != errs)
                replay_fail(st, r->lsn, "command '%.*s' replied an error", c->argv[0].ptr,
                            c->argv[0].len);
            c->argc = 0;
            c->argv = NULL;
        }
        c->prehash_key = NULL;
        resp_parser_reset(&c->parser);
        if (st->failed) break;
    }
    c->prehash_key = NULL;
    ks_txn_set_thread_clock(0);
    return st->failed ? -1 : 0;
}

/* The key the first command of a self-contained record names at a fixed
 * position (SET k, INCR k, HSET k ...), or NULL. Parsing a multibulk
 * command leaves its bytes as they were, so replay_one parses them again. */
static const char *first_key(client *c, const replay_rec *r, char *payload, size_t *klen) {
    const char *key = NULL;
    size_t used = 0;
    if (r->type != WAL_REC_COMMANDS_DB0 || r->len == 0 || payload[0] != '*') return NULL;
    if (resp_parse(&c->parser, payload, r->len, &used) == RESP_COMMAND && c->parser.argc > 1) {
        const command *cmd = command_lookup(c->parser.argv[0].ptr, c->parser.argv[0].len);
        int k = command_first_key(cmd, c->parser.argc);
        if (k) {
            key = c->parser.argv[k].ptr;
            *klen = c->parser.argv[k].len;
        }
    }
    resp_parser_reset(&c->parser);
    return key;
}

/* Runs the batch; -1 when a record failed (st->fail_*). */
static int replay_flush(replay_state *st) {
    ks_key keys[REPLAY_BATCH];
    uint64_t hashes[REPLAY_BATCH];
    int key_of[REPLAY_BATCH], nkeys = 0;
    for (int i = 0; i < st->n; i++) {
        size_t klen = 0;
        const char *k = first_key(st->c, &st->rec[i], st->buf.p + st->rec[i].off, &klen);
        key_of[i] = k ? nkeys : -1;
        if (k) keys[nkeys++] = (ks_key){.dbid = 0, .key = k, .klen = klen};
    }
    if (nkeys > 1) ks_prefetch(server.db, keys, (size_t)nkeys, hashes);
    int rc = 0;
    for (int i = 0; i < st->n && rc == 0; i++) {
        int k = nkeys > 1 ? key_of[i] : -1;
        rc = replay_one(st, &st->rec[i], k >= 0 ? keys[k].key : NULL, k >= 0 ? hashes[k] : 0);
    }
    st->n = 0;
    st->buf.len = 0;
    return rc;
}

static int replay_record(void *ctx, const wal_record *r) {
    replay_state *st = ctx;
    loading_progress(r->end_lsn - r->lsn, 1);
    if (r->commit_ts > P.max_ts) P.max_ts = r->commit_ts;
    /* Committed before the snapshot's view: already in it. */
    int in_snapshot = r->commit_ts <= P.snap_ts;
    if (r->type == WAL_REC_COMMANDS_DB0 && in_snapshot) return 0;
    if (st->n == REPLAY_BATCH && replay_flush(st) < 0) return 1; /* stops the scan */
    st->rec[st->n++] = (replay_rec){.off = st->buf.len, .len = r->len, .lsn = r->lsn,
                                    .time_ms = r->time_ms, .type = r->type,
                                    .in_snapshot = in_snapshot};
    bytes_add(&st->buf, r->payload, r->len);
    return 0;
}

static int replay_client_init(replay_state *st) {
    st->w = calloc(1, sizeof(worker));
    st->c = calloc(1, sizeof(client));
    if (!st->w || !st->c) return -1;
    st->w->cmdstats = calloc((size_t)commands_total(), sizeof(cmd_stat));
    if (!st->w->cmdstats) return -1;
    st->w->now_ms = mstime();
    st->c->owner = st->w;
    st->c->flags = CLIENT_AUTHENTICATED | CLIENT_REPLY_OFF | CLIENT_LOADER;
    st->c->resp = 2;
    st->c->conn.fd = -1;
    resp_parser_init(&st->c->parser, server.proto_max_bulk_len);
    return 0;
}

static void replay_client_free(replay_state *st) {
    if (st->c) resp_parser_free(&st->c->parser);
    if (st->w) free(st->w->cmdstats);
    free(st->c);
    free(st->w);
    free(st->buf.p);
}

/* LSN of the first WAL segment on disk, UINT64_MAX if none. */
static uint64_t wal_first_lsn(void) {
    uint64_t first = UINT64_MAX;
    DIR *d = opendir(PERSIST_WAL_DIR);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *n = de->d_name;
        if (strlen(n) != 24 || strcmp(n + 20, ".log") != 0 || strspn(n, "0123456789") != 20)
            continue;
        uint64_t lsn = strtoull(n, NULL, 10);
        if (lsn < first) first = lsn;
    }
    if (d) closedir(d);
    return first;
}

/* The log ends before the snapshot's LSN (damaged before it: the snapshot
 * covers what was cut): sets every segment aside as *.broken and restarts
 * the log empty at the snapshot's LSN, so new records come after it. */
static int set_aside_wal(const wal_config *cfg, wal_scan_result *res) {
    serverLog(LL_WARNING, "WAL ends at LSN %llu, before the snapshot's LSN %llu: setting its "
                          "segments aside (*.broken) and restarting the log there",
              (unsigned long long)res->end_lsn, (unsigned long long)cfg->replay_from);
    wal_close(P.wal);
    P.wal = NULL;
    DIR *d = opendir(PERSIST_WAL_DIR);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0) continue;
        char from[PATH_MAX], to[PATH_MAX + 8];
        snprintf(from, sizeof(from), "%s/%s", PERSIST_WAL_DIR, de->d_name);
        snprintf(to, sizeof(to), "%s.broken", from);
        if (rename(from, to) < 0) serverLog(LL_WARNING, "rename %s: %s", from, strerror(errno));
    }
    if (d) closedir(d);
    if (wal_open(cfg, NULL, NULL, res, &P.wal) != LT_OK) {
        serverLog(LL_WARNING, "Cannot reopen the WAL: %s", strerror(res->sys_errno));
        return -1;
    }
    return 0;
}

/* A data dir of an older Lightning keeps its log in "wal": move it to
 * appenddirname when that does not exist yet. 0, or -1 (logged). */
static int adopt_legacy_wal_dir(void) {
    struct stat st;
    if (!strcmp(PERSIST_WAL_DIR, PERSIST_LEGACY_WAL_DIR) || stat(PERSIST_WAL_DIR, &st) == 0 ||
        errno != ENOENT || stat(PERSIST_LEGACY_WAL_DIR, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    if (rename(PERSIST_LEGACY_WAL_DIR, PERSIST_WAL_DIR) < 0) {
        serverLog(LL_WARNING, "Cannot rename the WAL directory %s/%s to %s (appenddirname): %s",
                  server.dir, PERSIST_LEGACY_WAL_DIR, PERSIST_WAL_DIR, strerror(errno));
        return -1;
    }
    serverLog(LL_NOTICE, "Renamed the WAL directory %s/%s to %s (appenddirname)", server.dir,
              PERSIST_LEGACY_WAL_DIR, PERSIST_WAL_DIR);
    return 0;
}

static uint64_t recovered_snapshot_lsn;

uint64_t persist_recovered_snapshot_lsn(void) { return recovered_snapshot_lsn; }

uint64_t persist_load_bytes(void) {
    uint64_t *snaps = NULL, from = 0, end = 0, snap_bytes = 0;
    int nsnaps = 0;
    snap_list(".", &snaps, &nsnaps);
    for (int i = 0; i < nsnaps; i++)
        if (snaps[i] >= from) {
            from = snaps[i];
            char name[SNAP_NAME_SIZE];
            struct stat sst;
            snap_file_name(from, name);
            snap_bytes = stat(name, &sst) == 0 ? (uint64_t)sst.st_size : 0;
        }
    free(snaps);
    if (!server.appendonly) return snap_bytes;
    DIR *d = opendir(PERSIST_WAL_DIR);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        const char *n = de->d_name;
        if (strlen(n) != 24 || strcmp(n + 20, ".log") != 0 || strspn(n, "0123456789") != 20)
            continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", PERSIST_WAL_DIR, n);
        if (stat(path, &st) == 0 && st.st_size > WAL_HEADER_SIZE) {
            uint64_t e = strtoull(n, NULL, 10) + (uint64_t)st.st_size - WAL_HEADER_SIZE;
            if (e > end) end = e;
        }
    }
    if (d) closedir(d);
    return snap_bytes + (end > from ? end - from : 0);
}

int persist_open(void) {
    uint64_t replay_from = 0;
    if (adopt_legacy_wal_dir() < 0) return -1;
    uint64_t wal_first = server.appendonly ? wal_first_lsn() : UINT64_MAX;
    if (save_recover(wal_first, &replay_from, &P.snap_ts) < 0)
        return -1;
    recovered_snapshot_lsn = replay_from;
    ks_mvcc_advance(server.db, P.snap_ts);
    /* A Redis dump.rdb is imported only where Lightning has no data. */
    uint64_t *snaps = NULL;
    int nsnaps = 0;
    snap_list(".", &snaps, &nsnaps);
    free(snaps);
    int imported = rdb_import_at_startup(nsnaps > 0 || wal_first_lsn() != UINT64_MAX);
    if (imported < 0) return -1;
    if (!server.appendonly) {
        ks_set_hooks(server.db, &persist_hooks); /* counts changes for the save rules */
        return 0;
    }
    replay_state st = {0};
    if (replay_client_init(&st) < 0) {
        replay_client_free(&st);
        serverLog(LL_WARNING, "Out of memory starting the WAL replay");
        return -1;
    }
    wal_config cfg = {
        .dir = PERSIST_WAL_DIR,
        .segment_bytes = (uint64_t)server.wal_segment_size,
        .buffer_bytes = WAL_DEFAULT_BUFFER_BYTES,
        .fsync_policy = server.appendfsync,
        .replay_from = replay_from,
        .load_truncated = server.aof_load_truncated,
        .on_durable = persist_on_durable,
        .on_fsync = persist_on_fsync,
    };
    wal_scan_result res;
    P.replaying = 1;
    int64_t t0 = monotonic_us();
    /* Published whole (workers already serve clients during the load). */
    wal *opened = NULL;
    int rc = wal_open(&cfg, replay_record, &st, &res, &opened);
    __atomic_store_n(&P.wal, opened, __ATOMIC_RELEASE);
    if (rc == LT_OK && replay_flush(&st) < 0) rc = 1; /* the last batch */
    int64_t dt = monotonic_us() - t0;
    P.replaying = 0;
    replay_client_free(&st);
    if (st.failed) {
        /* Strict replay: a record that does not apply stops start-up. */
        char path[PATH_MAX];
        uint64_t off = 0;
        if (wal_locate(PERSIST_WAL_DIR, st.fail_lsn, path, sizeof(path), &off) != LT_OK)
            snprintf(path, sizeof(path), "%s", PERSIST_WAL_DIR);
        serverLog(LL_WARNING,
                  "Bad WAL record in %s/%s at offset %llu (LSN %llu): %s. Start-up refused: "
                  "make a backup of %s/%s, then remove the record (lightning-check shows the "
                  "log; everything before the record is intact).",
                  server.dir, path, (unsigned long long)off, (unsigned long long)st.fail_lsn,
                  st.fail_why, server.dir, PERSIST_WAL_DIR);
        __atomic_store_n(&P.wal, NULL, __ATOMIC_RELEASE);
        if (opened) wal_close(opened);
        return -1;
    }
    if (rc == LT_INVAL && res.problem.found) {
        serverLog(LL_WARNING,
                  "Bad WAL record in %s/%s at offset %llu (LSN %llu): %s. Start-up refused: make "
                  "a backup of %s/%s, then run lightning-check --fix %s (it cuts the log at "
                  "this record; later records are lost)%s",
                  server.dir, res.problem.file,
                  (unsigned long long)(res.problem.offset == UINT64_MAX ? 0 : res.problem.offset),
                  (unsigned long long)res.problem.lsn, res.problem.why, server.dir,
                  PERSIST_WAL_DIR, server.dir,
                  res.problem.tail ? ", or set aof-load-truncated yes and restart (it cuts a "
                                     "torn tail and goes on)."
                                   : ".");
        return -1;
    }
    if (rc != LT_OK) {
        serverLog(LL_WARNING, "Cannot open the WAL in %s/%s: %s%s%s", server.dir, PERSIST_WAL_DIR,
                  lt_strerror(rc), rc == LT_IOERR ? ": " : "",
                  rc == LT_IOERR ? strerror(res.sys_errno) : "");
        return -1;
    }
    if (res.problem.found) {
        serverLog(LL_WARNING,
                  "WAL: torn tail in %s at offset %llu (LSN %llu): %s. Kept everything before "
                  "it; truncated the file there%s (aof-load-truncated yes).",
                  res.problem.file,
                  (unsigned long long)(res.problem.offset == UINT64_MAX ? 0 : res.problem.offset),
                  (unsigned long long)res.problem.lsn, res.problem.why,
                  res.problem.later_segments ? " and renamed later segments to *.broken" : "");
    }
    if (res.end_lsn < replay_from && set_aside_wal(&cfg, &res) < 0) return -1;
    serverLog(LL_NOTICE,
              "WAL loaded: %llu records (%llu commands, %llu bytes) from %d segment(s) in %.3f "
              "seconds; appending at offset %llu",
              (unsigned long long)res.replayed, (unsigned long long)st.commands,
              (unsigned long long)res.bytes, res.segments, (double)dt / 1e6,
              (unsigned long long)res.end_lsn);
    __atomic_store_n(&P.durable, res.end_lsn, __ATOMIC_SEQ_CST);
    wal_set_tap(P.wal, persist_stream_tap, NULL); /* the logical stream */
    /* Later commits get timestamps above every logged one. */
    ks_mvcc_advance(server.db, P.max_ts);
    ks_set_hooks(server.db, &persist_hooks);
    /* Imported keys are not in the WAL: a snapshot covers them. */
    if (imported && save_after_import() < 0) return -1;
    return 0;
}
