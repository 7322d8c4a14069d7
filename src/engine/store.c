/*
 * store.c — the data directory of an embedded engine (contract, layout and
 * recovery rules in store.h). Owns the lock file descriptor, the WAL
 * handle, the replay interpreter for the RESP records and the checkpoint
 * state (current / previous snapshot LSN, under ckpt_lock).
 *
 * Invariants: every commit of a durable engine appends exactly one record
 * while its shard locks are held (store_log), so for every key the log
 * order is the commit order; a snapshot is named in the manifest only
 * after the log is fsynced up to the LSN it covers.
 */
#include "engine/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/util.h"
#include "engine/entry_int.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/keyspace_int.h"
#include "engine/listobj.h"
#include "engine/mvcc.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/streamobj.h"
#include "engine/wal.h"
#include "engine/zsetobj.h"

struct store {
    char dir[PATH_MAX];
    char waldir[PATH_MAX];
    int lock_fd;
    int sync; /* LT_SYNC_* */
    wal *wal;
    pthread_mutex_t ckpt_lock;
    uint64_t cur_lsn, prev_lsn; /* snapshots in the manifest */
    int have_cur, have_prev;
};

static void seterr(const lt_config *cfg, const char *fmt, ...) {
    if (!cfg->errbuf || cfg->errbuf_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->errbuf, cfg->errbuf_size, fmt, ap);
    va_end(ap);
}

/* ---- Lock ------------------------------------------------------------------- */

int store_lock_dir(const char *dir, int *fd) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, STORE_LOCK_NAME);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) return LT_IOERR;
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(*fd);
        *fd = -1;
        errno = e;
        return e == EWOULDBLOCK ? LT_LOCKED : LT_IOERR;
    }
    return LT_OK;
}

static int lock_dir(store *s, const lt_config *cfg) {
    if (mkdir(s->dir, 0755) < 0 && errno != EEXIST) {
        seterr(cfg, "cannot create %s: %s", s->dir, strerror(errno));
        return LT_IOERR;
    }
    int rc = store_lock_dir(s->dir, &s->lock_fd);
    if (rc == LT_LOCKED)
        seterr(cfg, "%s/%s is locked: the directory is open elsewhere", s->dir, STORE_LOCK_NAME);
    else if (rc != LT_OK)
        seterr(cfg, "cannot lock %s/%s: %s", s->dir, STORE_LOCK_NAME, strerror(errno));
    return rc;
}

/* ---- Replay: the RESP commands of a record ------------------------------------ */

typedef struct rarg {
    const char *p;
    size_t n;
} rarg;

typedef struct replay {
    lt_db *db;
    const lt_config *cfg;
    unsigned dbid;     /* database selected in the stream */
    uint64_t snap_ts;  /* records with ts <= this are in the snapshot */
    uint64_t max_ts;
    int64_t now_ms;    /* the record's clock */
    rarg *argv;
    size_t cap;
    uint64_t commands;
} replay;

/* Parses "<digits>\r\n" at p[*pos..len); 0 or -1. */
static int parse_len(const char *p, size_t len, size_t *pos, size_t *out) {
    size_t v = 0, i = *pos, start = i;
    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (v > (SIZE_MAX - 9) / 10) return -1;
        v = v * 10 + (size_t)(p[i] - '0');
        i++;
    }
    if (i == start || i + 1 >= len || p[i] != '\r' || p[i + 1] != '\n') return -1;
    *pos = i + 2;
    *out = v;
    return 0;
}

/* One multibulk command at p[*pos..len) into r->argv. Returns argc (>= 1),
 * or -1 when malformed or LT_NOMEM. */
static long parse_cmd(replay *r, const char *p, size_t len, size_t *pos) {
    size_t argc, i = *pos;
    if (i >= len || p[i] != '*') return -1;
    i++;
    if (parse_len(p, len, &i, &argc) < 0 || argc == 0 || argc > (len - i) / 4) return -1;
    if (argc > r->cap) {
        rarg *a = realloc(r->argv, argc * sizeof(*a));
        if (!a) return LT_NOMEM;
        r->argv = a;
        r->cap = argc;
    }
    for (size_t k = 0; k < argc; k++) {
        size_t n;
        if (i >= len || p[i] != '$') return -1;
        i++;
        if (parse_len(p, len, &i, &n) < 0 || n > len - i || len - i - n < 2) return -1;
        r->argv[k] = (rarg){p + i, n};
        i += n;
        if (p[i] != '\r' || p[i + 1] != '\n') return -1;
        i += 2;
    }
    *pos = i;
    return (long)argc;
}

static int is(const rarg *a, const char *name) {
    return a->n == strlen(name) && strncasecmp(a->p, name, a->n) == 0;
}

static int arg_ll(const rarg *a, long long *v) { return lt_string2ll(a->p, a->n, v); }

/* The string value of a live key as bytes (int encodings into buf), or
 * NULL when absent or not a string (*wrongtype set). */
static const char *cur_str(ks_txn *k, unsigned dbid, const rarg *key, char *buf, size_t *n,
                           int *exists, int *wrongtype) {
    ks_entry *e = ks_lookup(k, dbid, key->p, key->n, KS_LOOKUP_NOTOUCH);
    *exists = e != NULL;
    *wrongtype = e && e->type != KS_TYPE_STRING;
    if (!e || *wrongtype) return NULL;
    return ks_entry_str(e, buf, n);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]. */
static void cmd_set(replay *r, ks_txn *k, const rarg *a, long argc) {
    int nx = 0, xx = 0;
    int64_t exp = KS_EXPIRE_NONE;
    for (long i = 3; i < argc; i++) {
        long long v = 0;
        if (is(&a[i], "NX")) nx = 1;
        else if (is(&a[i], "XX")) xx = 1;
        else if (is(&a[i], "KEEPTTL")) exp = KS_EXPIRE_KEEP;
        else if (is(&a[i], "GET")) continue;
        else if (i + 1 < argc && arg_ll(&a[i + 1], &v)) {
            if (is(&a[i], "EX")) exp = r->now_ms + v * 1000;
            else if (is(&a[i], "PX")) exp = r->now_ms + v;
            else if (is(&a[i], "EXAT")) exp = v * 1000;
            else if (is(&a[i], "PXAT")) exp = v;
            i++;
        }
    }
    if (nx || xx) {
        int exists = ks_lookup(k, r->dbid, a[1].p, a[1].n, KS_LOOKUP_NOTOUCH) != NULL;
        if ((nx && exists) || (xx && !exists)) return;
    }
    ks_set_str(k, r->dbid, a[1].p, a[1].n, a[2].p, a[2].n, exp, 0);
}

/* Runs one command (already parsed into r->argv). LT_OK, or
 * LT_UNSUPPORTED / LT_CORRUPT with the message set. */
static int apply_cmd(replay *r, long argc, const char *lsn_txt) {
    const rarg *a = r->argv;
    lt_db *db = r->db;
    if (is(&a[0], "MULTI") || is(&a[0], "EXEC")) return LT_OK;
    if (is(&a[0], "SELECT")) {
        long long d;
        if (argc != 2 || !arg_ll(&a[1], &d) || d < 0) goto corrupt;
        if ((unsigned long long)d >= db->ndb) {
            seterr(r->cfg, "log record at %s selects database %lld but the engine has %u", lsn_txt,
                   d, db->ndb);
            return LT_INVAL;
        }
        r->dbid = (unsigned)d;
        return LT_OK;
    }
    ks_txn k;
    if (is(&a[0], "FLUSHALL") || is(&a[0], "FLUSHDB")) {
        int all = is(&a[0], "FLUSHALL");
        if (all) ks_txn_begin_all(&k, db);
        else ks_txn_begin_db(&k, db, r->dbid);
        for (unsigned d = 0; d < db->ndb; d++)
            if (all || d == r->dbid) ks_flush_db(&k, d);
        ks_txn_commit(&k);
        return LT_OK;
    }
    /* Commands on keys: which arguments are keys. */
    long first = 1, step = 1, last = 1;
    int known = 1;
    if (is(&a[0], "SET") || is(&a[0], "SETNX") || is(&a[0], "GETSET") || is(&a[0], "APPEND") ||
        is(&a[0], "INCRBY") || is(&a[0], "DECRBY") || is(&a[0], "PEXPIREAT")) {
        if (argc < 3) goto corrupt;
    } else if (is(&a[0], "GETDEL") || is(&a[0], "INCR") || is(&a[0], "DECR") ||
               is(&a[0], "PERSIST")) {
        if (argc != 2) goto corrupt;
    } else if (is(&a[0], "DEL") || is(&a[0], "UNLINK")) {
        if (argc < 2) goto corrupt;
        last = argc - 1;
    } else if (is(&a[0], "MSET")) {
        if (argc < 3 || argc % 2 == 0) goto corrupt;
        step = 2;
        last = argc - 2;
    } else {
        known = 0;
    }
    if (!known) {
        seterr(r->cfg,
               "log record at %s holds '%.*s', which the embedded library cannot replay "
               "(open this directory with lightning-server)",
               lsn_txt, (int)(a[0].n < 32 ? a[0].n : 32), a[0].p);
        return LT_UNSUPPORTED;
    }
    size_t nkeys = (size_t)((last - first) / step + 1);
    ks_key stackkeys[16], *keys = stackkeys;
    if (nkeys > 16 && !(keys = malloc(nkeys * sizeof(*keys)))) return LT_NOMEM;
    for (size_t i = 0; i < nkeys; i++)
        keys[i] = (ks_key){r->dbid, a[first + (long)i * step].p, a[first + (long)i * step].n};
    ks_txn_begin(&k, db, keys, nkeys);
    char buf[LT_LLSTR_SIZE];
    size_t n;
    int exists, wrongtype;
    long long v, d;
    if (is(&a[0], "SET")) {
        cmd_set(r, &k, a, argc);
    } else if (is(&a[0], "SETNX")) {
        if (!ks_lookup(&k, r->dbid, a[1].p, a[1].n, KS_LOOKUP_NOTOUCH))
            ks_set_str(&k, r->dbid, a[1].p, a[1].n, a[2].p, a[2].n, KS_EXPIRE_NONE, 0);
    } else if (is(&a[0], "GETSET")) {
        ks_set_str(&k, r->dbid, a[1].p, a[1].n, a[2].p, a[2].n, KS_EXPIRE_NONE, 0);
    } else if (is(&a[0], "MSET")) {
        for (long i = 1; i + 1 < argc; i += 2)
            ks_set_str(&k, r->dbid, a[i].p, a[i].n, a[i + 1].p, a[i + 1].n, KS_EXPIRE_NONE, 0);
    } else if (is(&a[0], "DEL") || is(&a[0], "UNLINK") || is(&a[0], "GETDEL")) {
        for (long i = 1; i < argc; i++) ks_delete(&k, r->dbid, a[i].p, a[i].n);
    } else if (is(&a[0], "APPEND")) {
        const char *old = cur_str(&k, r->dbid, &a[1], buf, &n, &exists, &wrongtype);
        if (!wrongtype) {
            size_t tot = (old ? n : 0) + a[2].n;
            char *nv = malloc(tot ? tot : 1);
            if (!nv) {
                ks_txn_commit(&k);
                if (keys != stackkeys) free(keys);
                return LT_NOMEM;
            }
            if (old) memcpy(nv, old, n);
            memcpy(nv + (old ? n : 0), a[2].p, a[2].n);
            ks_set_str(&k, r->dbid, a[1].p, a[1].n, nv, tot, KS_EXPIRE_KEEP, 0);
            free(nv);
        }
    } else if (is(&a[0], "INCR") || is(&a[0], "DECR") || is(&a[0], "INCRBY") ||
               is(&a[0], "DECRBY")) {
        d = is(&a[0], "INCR") ? 1 : is(&a[0], "DECR") ? -1 : 0;
        int ok = 1;
        if (argc == 3) {
            ok = arg_ll(&a[2], &d);
            if (is(&a[0], "DECRBY")) d = -d;
        }
        const char *old = cur_str(&k, r->dbid, &a[1], buf, &n, &exists, &wrongtype);
        v = 0;
        if (old && !lt_string2ll(old, n, &v)) ok = 0;
        /* A command that failed (overflow, not an integer) was not logged
         * by a server; skip one that would fail here too. */
        if (ok && !wrongtype && !__builtin_add_overflow(v, d, &v))
            ks_set_int(&k, r->dbid, a[1].p, a[1].n, (int64_t)v, KS_EXPIRE_KEEP);
    } else if (is(&a[0], "PEXPIREAT")) {
        if (arg_ll(&a[2], &v)) ks_set_expire(&k, r->dbid, a[1].p, a[1].n, (int64_t)v);
    } else if (is(&a[0], "PERSIST")) {
        ks_set_expire(&k, r->dbid, a[1].p, a[1].n, KS_EXPIRE_NONE);
    }
    ks_txn_commit(&k);
    if (keys != stackkeys) free(keys);
    r->commands++;
    return LT_OK;
corrupt:
    seterr(r->cfg, "log record at %s: malformed '%.*s' command", lsn_txt,
           (int)(a[0].n < 32 ? a[0].n : 32), a[0].p);
    return LT_CORRUPT;
}

static int replay_record(void *ctx, const wal_record *rec) {
    replay *r = ctx;
    if (rec->commit_ts > r->max_ts) r->max_ts = rec->commit_ts;
    int in_snapshot = rec->commit_ts <= r->snap_ts;
    if (rec->type == WAL_REC_COMMANDS_DB0) {
        if (in_snapshot) return 0;
        r->dbid = 0;
    }
    char lsn_txt[32];
    snprintf(lsn_txt, sizeof(lsn_txt), "LSN %" PRIu64, rec->lsn);
    r->now_ms = rec->time_ms > 0 ? rec->time_ms : 1;
    ks_txn_set_thread_clock(r->now_ms);
    const char *p = rec->payload;
    size_t pos = 0;
    int rc = LT_OK;
    while (pos < rec->len && rc == LT_OK) {
        long argc = parse_cmd(r, p, rec->len, &pos);
        if (argc == LT_NOMEM) {
            rc = LT_NOMEM;
        } else if (argc < 0) {
            seterr(r->cfg, "log record at %s: payload is not RESP commands", lsn_txt);
            rc = LT_CORRUPT;
        } else if (!in_snapshot || is(&r->argv[0], "SELECT")) {
            /* An old-format record in the snapshot: only its SELECTs
             * matter (later records continue in its database). */
            rc = apply_cmd(r, argc, lsn_txt);
        }
    }
    ks_txn_set_thread_clock(0);
    return rc;
}

/* ---- Recovery ------------------------------------------------------------------ */

static int has_lsn(const uint64_t *v, int n, uint64_t x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

/* Snapshot candidates in the order recovery tries them: the manifest's
 * current and previous, then every other file newest first. */
static int snapshot_order(store *s, const lt_config *cfg, uint64_t *order, int *n,
                          int *from_manifest) {
    uint64_t *files = NULL;
    int nfiles = 0;
    *n = 0;
    *from_manifest = 0;
    if (snap_list(s->dir, &files, &nfiles) != LT_OK) {
        seterr(cfg, "cannot list %s: %s", s->dir, strerror(errno));
        return LT_IOERR;
    }
    snap_manifest m;
    int mrc = snap_manifest_read(s->dir, &m);
    uint64_t lsn;
    int rc = LT_OK;
    if (mrc == LT_OK) {
        *from_manifest = 1;
        if (!snap_parse_name(m.current, &lsn) || !has_lsn(files, nfiles, lsn)) {
            seterr(cfg, "%s/%s names %s, which is missing", s->dir, SNAP_MANIFEST_NAME,
                   m.current);
            rc = LT_CORRUPT;
        } else {
            order[(*n)++] = lsn;
        }
        if (m.previous[0] && snap_parse_name(m.previous, &lsn) && has_lsn(files, nfiles, lsn) &&
            !has_lsn(order, *n, lsn))
            order[(*n)++] = lsn;
    } else if (mrc == LT_INVAL) {
        seterr(cfg, "%s/%s is malformed", s->dir, SNAP_MANIFEST_NAME);
        rc = LT_CORRUPT;
    } else if (mrc == LT_VERSION) {
        seterr(cfg, "%s/%s was written by an incompatible version", s->dir,
               SNAP_MANIFEST_NAME);
        rc = LT_VERSION;
    } else if (mrc == LT_IOERR) {
        seterr(cfg, "cannot read %s/%s: %s", s->dir, SNAP_MANIFEST_NAME, strerror(errno));
        rc = LT_IOERR;
    }
    for (int i = 0; i < nfiles && *n < 64; i++)
        if (!has_lsn(order, *n, files[i])) order[(*n)++] = files[i];
    free(files);
    return rc;
}

static void flush_everything(lt_db *db) {
    ks_txn k;
    ks_txn_begin_all(&k, db);
    for (unsigned d = 0; d < db->ndb; d++) ks_flush_db(&k, d);
    ks_txn_commit(&k);
}

/* Loads the snapshot recovery starts from. *replay_from / *snap_ts as
 * save_recover sets them; both 0 without a snapshot. */
static int load_snapshot(store *s, lt_db *db, const lt_config *cfg, uint64_t *replay_from,
                         uint64_t *snap_ts) {
    uint64_t order[64];
    int n, from_manifest;
    int repair = (cfg->flags & LT_DB_REPAIR) != 0;
    int rc = snapshot_order(s, cfg, order, &n, &from_manifest);
    if (rc != LT_OK && !(repair && rc == LT_CORRUPT)) return rc;
    int first_rc = LT_OK;
    for (int i = 0; i < n; i++) {
        char name[SNAP_NAME_SIZE], path[PATH_MAX + SNAP_NAME_SIZE];
        snap_file_name(order[i], name);
        snprintf(path, sizeof(path), "%s/%s", s->dir, name);
        snap_info info;
        snap_problem pb = {0};
        int err = 0;
        rc = snap_load(db, path, 1, &info, &pb, &err);
        if (rc == LT_OK) {
            *replay_from = info.lsn;
            *snap_ts = info.commit_ts;
            s->cur_lsn = order[i];
            s->have_cur = 1;
            if (i + 1 < n) {
                s->prev_lsn = order[i + 1];
                s->have_prev = 1;
            }
            return LT_OK;
        }
        flush_everything(db);
        if (first_rc == LT_OK) {
            if (rc == LT_IOERR) {
                errno = err;
                seterr(cfg, "cannot read %s: %s", path, strerror(err));
            } else if (rc == LT_INVAL) {
                int version = strstr(pb.why, "version") != NULL;
                seterr(cfg, "%s %s at offset %" PRIu64 ": %s", path,
                       version ? "was written by an incompatible version" : "is corrupt",
                       pb.offset, pb.why);
                rc = version ? LT_VERSION : LT_CORRUPT;
            } else {
                seterr(cfg, "out of memory loading %s", path);
            }
            first_rc = rc;
        }
        if (!repair || rc == LT_NOMEM) return first_rc;
    }
    return first_rc; /* LT_OK when there is no snapshot */
}

/* Whether a scan's problem is damage a crash leaves (a torn or
 * zero-filled tail of the last segment), which recovery cuts off. */
static int crash_tail(const wal_problem *p) {
    return p->later_segments == 0 &&
           (strncmp(p->why, "torn record", 11) == 0 || strcmp(p->why, "zero-filled tail") == 0);
}

/* Whether the invalid record looks like a newer log format. */
static int newer_format(const wal_problem *p) {
    if (strstr(p->why, "unknown record type")) return 1;
    unsigned char m[4] = {0};
    int fd = open(p->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = pread(fd, m, 4, (off_t)p->offset);
    close(fd);
    return got == 4 && m[0] == 'L' && m[1] == 'W' && m[2] == 'L' && m[3] != '1';
}

static int open_log(store *s, lt_db *db, const lt_config *cfg, uint64_t replay_from,
                    uint64_t snap_ts) {
    replay r = {.db = db, .cfg = cfg, .snap_ts = snap_ts, .max_ts = snap_ts};
    wal_scan_result res;
    int rc = wal_scan(s->waldir, replay_from, replay_record, &r, &res);
    free(r.argv);
    if (rc == LT_IOERR) {
        errno = res.sys_errno;
        seterr(cfg, "cannot read the log in %s: %s", s->waldir, strerror(res.sys_errno));
        return rc;
    }
    if (rc != LT_OK) return rc; /* the replay's error, message set */
    int repair = (cfg->flags & LT_DB_REPAIR) != 0;
    if (res.problem.found && !crash_tail(&res.problem) && !repair) {
        int version = newer_format(&res.problem);
        seterr(cfg, "log segment %s %s at offset %" PRIu64 " (LSN %" PRIu64 "): %s%s",
               res.problem.file,
               version ? "was written by an incompatible version" : "is corrupt",
               res.problem.offset, res.problem.lsn, res.problem.why,
               res.problem.later_segments ? " (later segments follow)" : "");
        return version ? LT_VERSION : LT_CORRUPT;
    }
    if (res.segments > 0 && (res.start_lsn > replay_from || res.end_lsn < replay_from)) {
        seterr(cfg, "the log in %s holds LSN %" PRIu64 "..%" PRIu64
                    " but the snapshot needs it from LSN %" PRIu64,
               s->waldir, res.start_lsn, res.end_lsn, replay_from);
        return LT_CORRUPT;
    }
    wal_config wc = {
        .dir = s->waldir,
        .segment_bytes = cfg->wal_segment_bytes ? cfg->wal_segment_bytes
                                                : WAL_DEFAULT_SEGMENT_BYTES,
        .buffer_bytes = WAL_DEFAULT_BUFFER_BYTES,
        .fsync_policy = cfg->sync,
        .replay_from = replay_from,
        .load_truncated = 1, /* a crash's torn tail: checked above */
        .repair = repair,
    };
    /* Replays nothing (done above); repairs an accepted tail and opens. */
    rc = wal_open(&wc, NULL, NULL, &res, &s->wal);
    if (rc != LT_OK) {
        if (rc == LT_IOERR) errno = res.sys_errno;
        seterr(cfg, "cannot open the log in %s: %s", s->waldir,
               rc == LT_IOERR ? strerror(res.sys_errno) : lt_strerror(rc));
        return rc;
    }
    ks_mvcc_advance(db, r.max_ts);
    return LT_OK;
}

int store_open(lt_db *db, const lt_config *cfg) {
    if (cfg->sync < LT_SYNC_ALWAYS || cfg->sync > LT_SYNC_NO ||
        (cfg->wal_segment_bytes && cfg->wal_segment_bytes < WAL_MIN_SEGMENT_BYTES) ||
        strlen(cfg->dir) + sizeof(STORE_WAL_DIR) + 2 > PATH_MAX) {
        seterr(cfg, "invalid directory configuration");
        return LT_INVAL;
    }
    store *s = calloc(1, sizeof(*s));
    if (!s) return LT_NOMEM;
    s->lock_fd = -1;
    s->sync = cfg->sync;
    pthread_mutex_init(&s->ckpt_lock, NULL);
    snprintf(s->dir, sizeof(s->dir), "%s", cfg->dir);
    snprintf(s->waldir, sizeof(s->waldir), "%s/%s", cfg->dir, STORE_WAL_DIR);
    /* A snapshot written by a server may hold any type. */
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
    uint64_t replay_from = 0, snap_ts = 0;
    int rc = lock_dir(s, cfg);
    if (rc == LT_OK) rc = load_snapshot(s, db, cfg, &replay_from, &snap_ts);
    if (rc == LT_OK) {
        ks_mvcc_advance(db, snap_ts);
        rc = open_log(s, db, cfg, replay_from, snap_ts);
    }
    if (rc != LT_OK) {
        int e = errno;
        if (s->lock_fd >= 0) close(s->lock_fd);
        pthread_mutex_destroy(&s->ckpt_lock);
        free(s);
        errno = e;
        return rc;
    }
    db->store = s;
    return LT_OK;
}

void store_close(lt_db *db) {
    store *s = db->store;
    if (!s) return;
    wal_close(s->wal);
    close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->ckpt_lock);
    free(s);
    db->store = NULL;
}

/* ---- Logging commits -------------------------------------------------------------- */

/* Writes "<c><n>\r\n" at p; returns its length. */
static size_t len_line(char *p, char c, size_t n) {
    char tmp[24];
    size_t k = 0, len = 0;
    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    p[len++] = c;
    while (k) p[len++] = tmp[--k];
    p[len++] = '\r';
    p[len++] = '\n';
    return len;
}

/* Bytes the command of op takes (SET/DEL), SELECT excluded. */
static size_t op_bytes(const store_op *o) {
    return 80 + o->klen + (o->del ? 0 : o->vlen);
}

static size_t put_op(char *p, const store_op *o) {
    size_t n = 0;
    if (o->del) {
        memcpy(p, "*2\r\n$3\r\nDEL\r\n", 13);
        n = 13;
    } else {
        memcpy(p, "*3\r\n$3\r\nSET\r\n", 13);
        n = 13;
    }
    n += len_line(p + n, '$', o->klen);
    memcpy(p + n, o->key, o->klen);
    n += o->klen;
    p[n++] = '\r';
    p[n++] = '\n';
    if (!o->del) {
        n += len_line(p + n, '$', o->vlen);
        memcpy(p + n, o->val, o->vlen);
        n += o->vlen;
        p[n++] = '\r';
        p[n++] = '\n';
    }
    return n;
}

static size_t put_select(char *p, unsigned dbid) {
    char num[16];
    int nl = snprintf(num, sizeof(num), "%u", dbid);
    return (size_t)sprintf(p, "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", nl, num);
}

uint64_t store_log(store *s, ks_txn *txn, const store_op *ops, size_t n) {
    ASSERT(n >= 1);
    uint64_t ts = ks_txn_ts(txn), end = 0;
    int64_t now = txn->now_ms > 0 ? txn->now_ms : lt_mstime();
    if (n == 1 && ops[0].klen + ops[0].vlen < 4096) {
        /* The common single write: on the stack, values inline. */
        char buf[4096 + 128];
        size_t len = 0;
        if (ops[0].dbid) len += put_select(buf, ops[0].dbid);
        len += put_op(buf + len, &ops[0]);
        struct iovec iov = {buf, len};
        int rc = wal_append(s->wal, ts, now, WAL_REC_COMMANDS_DB0, &iov, 1, &end);
        ASSERT(rc == LT_OK);
        return end;
    }
    size_t cap = 64;
    for (size_t i = 0; i < n; i++) cap += op_bytes(&ops[i]) + 40;
    char *buf = malloc(cap);
    if (!buf) abort(); /* as the keyspace does when storing a committed value */
    size_t len = 0;
    unsigned cur = 0;
    if (n > 1) {
        memcpy(buf, "*1\r\n$5\r\nMULTI\r\n", 15);
        len = 15;
    }
    for (size_t i = 0; i < n; i++) {
        if (ops[i].dbid != cur) {
            len += put_select(buf + len, ops[i].dbid);
            cur = ops[i].dbid;
        }
        len += put_op(buf + len, &ops[i]);
    }
    if (n > 1) {
        if (cur != 0) len += put_select(buf + len, 0);
        memcpy(buf + len, "*1\r\n$4\r\nEXEC\r\n", 14);
        len += 14;
    }
    ASSERT(len <= cap);
    struct iovec iov = {buf, len};
    int rc = wal_append(s->wal, ts, now, WAL_REC_COMMANDS_DB0, &iov, 1, &end);
    free(buf);
    /* Larger than WAL_MAX_PAYLOAD (2 GiB): the commit is in memory only. */
    return rc == LT_OK ? end : 0;
}

int store_commit_wait(store *s, uint64_t lsn, int sync) {
    if (!lsn) return LT_OK;
    if (sync && s->sync == LT_SYNC_ALWAYS) return wal_sync(s->wal, lsn);
    wal_request_write(s->wal, lsn);
    return LT_OK;
}

uint64_t store_durable_lsn(store *s) { return wal_durable_lsn(s->wal); }

int store_sync(store *s, uint64_t lsn) {
    if (!lsn) lsn = wal_appended_lsn(s->wal);
    return wal_sync(s->wal, lsn);
}

void store_stat(store *s, lt_stat *st) {
    wal_stats ws;
    wal_get_stats(s->wal, &ws);
    st->appended_lsn = wal_appended_lsn(s->wal);
    st->durable_lsn = wal_durable_lsn(s->wal);
    st->log_records = ws.records;
    st->log_fsyncs = ws.fsyncs;
}

/* ---- Checkpoints --------------------------------------------------------------------- */

int store_checkpoint(lt_db *db) {
    store *s = db->store;
    pthread_mutex_lock(&s->ckpt_lock);
    uint64_t lsn = wal_appended_lsn(s->wal);
    /* The log must reach the snapshot's LSN on disk before the snapshot
     * file exists: recovery may pick a file the manifest does not name yet
     * (a crash between the two), and refuses a log that ends before it. */
    int rc = wal_sync(s->wal, lsn);
    if (rc != LT_OK) {
        pthread_mutex_unlock(&s->ckpt_lock);
        return rc;
    }
    ks_view v;
    ks_view_open(db, &v);
    v.sequential = 1;
    snap_write_opts o = {.dir = s->dir, .lsn = lsn, .codec = SNAP_CODEC_LZ4};
    snap_write_result res;
    rc = snap_write(db, &v, &o, &res);
    ks_view_close(&v);
    if (rc == LT_IOERR) errno = res.sys_errno;
    if (rc == LT_OK && !(s->have_cur && s->cur_lsn == lsn)) {
        snap_manifest m = {{0}, {0}};
        snprintf(m.current, sizeof(m.current), "%s", res.name);
        if (s->have_cur) snap_file_name(s->cur_lsn, m.previous);
        rc = snap_manifest_write(s->dir, &m);
        if (rc == LT_OK) {
            s->prev_lsn = s->cur_lsn;
            s->have_prev = s->have_cur;
            s->cur_lsn = lsn;
            s->have_cur = 1;
        }
    }
    if (rc == LT_OK) {
        /* Keep the current and the previous snapshot, and the log either
         * of them needs. */
        uint64_t *files = NULL;
        int n = 0;
        if (snap_list(s->dir, &files, &n) == LT_OK) {
            for (int i = 0; i < n; i++) {
                if (files[i] == s->cur_lsn || (s->have_prev && files[i] == s->prev_lsn)) continue;
                char name[SNAP_NAME_SIZE], path[PATH_MAX + SNAP_NAME_SIZE];
                snap_file_name(files[i], name);
                snprintf(path, sizeof(path), "%s/%s", s->dir, name);
                unlink(path);
            }
            free(files);
        }
        int dropped;
        rc = wal_drop_before(s->wal, s->have_prev ? s->prev_lsn : s->cur_lsn, &dropped);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    return rc;
}
