/*
 * propagate.c — what a write logs: the engine's commit and expiry hooks
 * build each record (argv as RESP, or what the handler rewrote it to,
 * preceded by SELECT for a database other than 0; an EXEC as one record)
 * and append it to the WAL; the rewrite and EXEC calls of persist.h; the
 * command bracket (persist_command_begin/end). Per-command state is
 * thread-local (`cur`).
 *
 * Record payload (WAL type WAL_REC_COMMANDS_DB0): one or more RESP
 * multibulk commands, run in order on replay starting in database 0 (a
 * record for another database starts with SELECT), so a replay may begin
 * at any record and appends need no lock of ours besides the WAL's. Logs
 * written before 0.2 hold WAL_REC_COMMANDS records, which continue in the
 * database the previous record left selected; replay handles both. A
 * record's time_ms is the committing transaction's clock:
 * replay runs each record with that clock (ks_txn_set_thread_clock), so
 * expiry decisions come out as they did originally (Redis does not expire
 * keys while loading for the same reason).
 */
#include "server/persist/persist_int.h"

#include <dirent.h>
#include <limits.h>
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
#include "server/cmd/notify.h"
#include "server/cmd/dispatch.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/resp.h"
#include "server/persist/save.h"
#include "server/server.h"
#include "server/net/worker.h"

void bytes_reserve(bytes *b, size_t more) {
    if (b->cap - b->len >= more) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
}

void bytes_add(bytes *b, const void *p, size_t n) {
    bytes_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void bytes_trim(bytes *b) {
    b->len = 0;
    if (b->cap > (1u << 20)) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

/* Writes "<c><n>\r\n" at p (room for 24 bytes); returns its length.
 * Hand-rolled: this runs for every write command. */
static size_t len_line(char *p, char c, size_t n) {
    char tmp[24];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    size_t len = 0;
    p[len++] = c;
    while (k) p[len++] = tmp[--k];
    p[len++] = '\r';
    p[len++] = '\n';
    return len;
}

void bytes_add_multibulk(bytes *b, int argc, const resp_arg *argv) {
    size_t need = 24;
    for (int i = 0; i < argc; i++) need += 26 + argv[i].len;
    bytes_reserve(b, need);
    char *p = b->p + b->len;
    p += len_line(p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        p += len_line(p, '$', argv[i].len);
        memcpy(p, argv[i].ptr, argv[i].len);
        p += argv[i].len;
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->p);
}

/* Per-thread state of the command being run. */
typedef struct persist_cmd {
    int registered; /* buffers freed at thread exit (thread_key) */
    client *c;
    int rewritten; /* payload holds the rewritten commands */
    int logged;    /* a record was appended for this command */
    uint64_t lsn;  /* ... ending at this LSN (0 if it was not appended) */
    bytes payload;
    bytes aux;     /* expiry DELs (may happen inside a command) */
    /* EXEC: commands collected for its one record. */
    int exec;          /* inside persist_exec_begin/end */
    int exec_db0;      /* database the record starts in (its first write's) */
    int exec_db;       /* database after the commands collected so far */
    int exec_cmd_done; /* the queued command logged its parts (a script) */
    uint32_t exec_ncmds;
    bytes exec_payload;
} persist_cmd;

static __thread persist_cmd cur;
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_free(void *p) {
    persist_cmd *pc = p;
    free(pc->payload.p);
    free(pc->aux.p);
    free(pc->exec_payload.p);
    pc->payload = pc->aux = pc->exec_payload = (bytes){0};
}

static void thread_key_make(void) { pthread_key_create(&thread_key, thread_free); }

/* The scratch buffers of this thread are freed when it exits. */
static void thread_register(void) {
    if (cur.registered) return;
    pthread_once(&thread_key_once, thread_key_make);
    pthread_setspecific(thread_key, &cur);
    cur.registered = 1;
}

struct persist_state P = {.wake_lock = PTHREAD_MUTEX_INITIALIZER};

/* Appends payload (commands for database db) as one record. Returns its
 * end LSN, 0 if not logged. */
/* persist_set_record_suffix: bytes appended to this thread's records. */
static __thread const char *suffix_p;
static __thread size_t suffix_n;

void persist_set_record_suffix(const char *p, size_t n) {
    suffix_p = p;
    suffix_n = n;
}

static uint64_t log_commands(int db, int end_db, const bytes *payload, uint64_t ts,
                             int64_t time_ms, int nowait) {
    char sel[64];
    struct iovec iov[3];
    int n = 0;
    uint64_t end = 0;
    if (db != 0) {
        char num[24];
        int nl = snprintf(num, sizeof(num), "%d", db);
        int sl = snprintf(sel, sizeof(sel), "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", nl, num);
        iov[n].iov_base = sel;
        iov[n++].iov_len = (size_t)sl;
    }
    iov[n].iov_base = payload->p;
    iov[n++].iov_len = payload->len;
    if (suffix_n && !nowait && P.wal) {
        iov[n].iov_base = (void *)suffix_p;
        iov[n++].iov_len = suffix_n;
    }
    persist_stream_record_end_db(end_db == db ? INT_MIN : end_db);
    if (!P.wal) {
        /* appendonly no: only the stream's consumers read it. */
        persist_stream_emit_nowal(iov, n);
        persist_stream_record_end_db(INT_MIN);
        return 0;
    }
    int rc = nowait ? wal_append_nowait(P.wal, ts, time_ms, WAL_REC_COMMANDS_DB0, iov, n, &end)
                    : wal_append(P.wal, ts, time_ms, WAL_REC_COMMANDS_DB0, iov, n, &end);
    persist_stream_record_end_db(INT_MIN);
    if (rc != LT_OK) end = 0; /* no room (nowait), or over 2 GiB */
    return end;
}

/* Notes that this thread appended up to end: the worker writes it (or has
 * the writer write it) before this turn's replies go out; under always the
 * client's output also waits for its fsync. */
static void note_appended(client *c, uint64_t end) {
    if (!end) return;
    worker *w = worker_current();
    if (w) {
        if (end > w->wal_turn_max) w->wal_turn_max = end;
    } else {
        wal_request_write(P.wal, end);
    }
    if (c && end > c->wal_lsn) c->wal_lsn = end;
}

/* Appends "SELECT db" to b. */
static void bytes_add_select(bytes *b, int db) {
    char num[24];
    int nl = snprintf(num, sizeof(num), "%d", db);
    resp_arg argv[2] = {{(char *)"SELECT", 6}, {num, (size_t)nl}};
    bytes_add_multibulk(b, 2, argv);
}

/* The record of an EXEC (see persist_exec_begin): the collected commands
 * (with a SELECT where the database changed, as Redis's stream has them),
 * wrapped in MULTI/EXEC when more than one besides those SELECTs. The
 * record ends in the database the last command ran in (replay starts each
 * record in database 0; the stream knows the end: log_commands). Returns
 * its end LSN, 0 if nothing was logged. */
static uint64_t log_exec(ks_txn *txn) {
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
    if (cur.exec_ncmds == 0) return 0;
    bytes rec = {0};
    if (cur.exec_ncmds > 1) bytes_add(&rec, multi, sizeof(multi) - 1);
    bytes_add(&rec, cur.exec_payload.p, cur.exec_payload.len);
    if (cur.exec_ncmds > 1) bytes_add(&rec, exec, sizeof(exec) - 1);
    uint64_t end =
        log_commands(cur.exec_db0, cur.exec_db, &rec, ks_txn_ts(txn), txn->now_ms, 0);
    free(rec.p);
    return end;
}

/* ---- Engine hooks ---------------------------------------------------------- */

/* persist_internal_begin/end: this thread's commits are the server's own
 * (logged by persist_log_del), not a command's. */
static __thread int internal_writes;

void persist_internal_begin(void) { internal_writes++; }
void persist_internal_end(void) { internal_writes--; }

/* persist_set_unlogged: commits are not logged (any thread). */
static int unlogged;

void persist_set_unlogged(int on) { __atomic_store_n(&unlogged, on, __ATOMIC_RELEASE); }

static void hook_commit(void *ctx, ks_txn *txn) {
    (void)ctx;
    if (P.replaying || __atomic_load_n(&unlogged, __ATOMIC_ACQUIRE)) return;
    __atomic_add_fetch(&P.changes, txn->nwrites, __ATOMIC_RELAXED);
    /* appendonly no: changes are counted for the save rules; the record is
     * built only for the stream's consumers, if any. */
    if (!P.wal && !persist_stream_active()) return;
    if (internal_writes) return; /* logged by persist_log_del */
    client *c = cur.c;
    if (c && cur.logged) {
        /* A later commit of a command that logged at its first: its shards
         * hold data of that record too. */
        if (cur.lsn) ks_txn_stamp(txn, cur.lsn);
        return;
    }
    if (!c) {
        if (!c) {
            static int warned;
            if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
                serverLog(LL_WARNING, "WAL: a write outside any command was not logged");
        }
        return;
    }
    thread_register();
    if (cur.exec) {
        cur.logged = 1;
        cur.lsn = log_exec(txn);
        if (cur.lsn) ks_txn_stamp(txn, cur.lsn);
        note_appended(c, cur.lsn);
        return;
    }
    if (!cur.rewritten) {
        cur.payload.len = 0;
        bytes_add_multibulk(&cur.payload, c->argc, c->argv);
    }
    cur.logged = 1;
    uint64_t end = log_commands(c->db, c->db, &cur.payload, ks_txn_ts(txn), txn->now_ms, 0);
    /* Readers of these shards learn the LSN their reply depends on. */
    if (end) ks_txn_stamp(txn, end);
    cur.lsn = end;
    note_appended(c, end);
}

/* The DEL record of a key the server removed (expiry, eviction, a flushed
 * slot). Never waits for WAL space: this runs under the key's shard lock,
 * on any thread, also while the disk is full. Returns the record's end
 * LSN, 0 when nothing was appended (nothing logs: the change is counted;
 * or the WAL buffer had no room). */
static uint64_t log_del(unsigned dbid, const char *key, size_t klen, uint64_t ts) {
    if (P.replaying) return 0;
    if (!P.wal && !persist_stream_active()) {
        __atomic_add_fetch(&P.changes, 1, __ATOMIC_RELAXED);
        return 0;
    }
    resp_arg argv[2] = {{(char *)"DEL", 3}, {(char *)key, klen}};
    thread_register();
    cur.aux.len = 0;
    bytes_add_multibulk(&cur.aux, 2, argv);
    uint64_t end = log_commands((int)dbid, (int)dbid, &cur.aux, ts, lt_mstime(), 1);
    bytes_trim(&cur.aux);
    if (!end && P.wal) return 0; /* no room: the caller decides */
    __atomic_add_fetch(&P.changes, 1, __ATOMIC_RELAXED);
    /* A server's DEL needs no reply held. */
    note_appended(NULL, end);
    return end ? end : 1;
}

void persist_log_del(unsigned dbid, const char *key, size_t klen, uint64_t ts) {
    /* With no room the DEL of an expired key is dropped: replay runs every
     * record with its original clock, so the key is expired there all the
     * same (counted, logged once per episode). */
    if (!log_del(dbid, key, klen, ts) && P.wal && !P.replaying &&
        __atomic_fetch_add(&P.expiry_dels_unlogged, 1, __ATOMIC_RELAXED) == 0)
        serverLog(LL_WARNING, "WAL buffer full: the DEL of an expired key was not logged "
                              "(replay expires it by its time all the same)");
}

/* An expired key: notified (keyspace notifications and tracking
 * invalidation; one relaxed load when neither is on), logged as a DEL. */
static void hook_expired(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts) {
    (void)ctx;
    if (P.replaying) return;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);
    notify_event(NOTIFY_EXPIRED, "expired", key, klen, (int)dbid);
    persist_log_del(dbid, key, klen, ts);
}

/* A key eviction is about to delete: logged as a DEL first. Unlike an
 * expiry, a replay has no way to know the key went, so a DEL the WAL has
 * no room for refuses the eviction (the key stays; evict.c stops and
 * tries again later) instead of being dropped. Notified once logged. */
static int hook_evicted(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts) {
    (void)ctx;
    if (P.replaying) return 0;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);
    if (!log_del(dbid, key, klen, ts) && P.wal) {
        if (__atomic_fetch_add(&P.eviction_dels_refused, 1, __ATOMIC_RELAXED) == 0)
            serverLog(LL_WARNING, "WAL buffer full: eviction waits until the WAL can log "
                                  "its DELs");
        return -1;
    }
    if (__atomic_load_n(&P.eviction_dels_refused, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&P.eviction_dels_refused, 0, __ATOMIC_RELAXED))
        serverLog(LL_NOTICE, "The WAL logs eviction DELs again: eviction resumed");
    notify_event(NOTIFY_EVICTED, "evicted", key, klen, (int)dbid);
    return 0;
}

/* ---- Rewrites ---------------------------------------------------------------- */

/* Whether this command's writes are logged at all: to the WAL, or (with
 * appendonly no) to the stream's consumers (replicas, SYNC clients). The
 * rewrites and the EXEC record apply to both: a replica of a master without
 * a WAL must get PEXPIREAT, SREM, MULTI/EXEC as Redis sends them. */
static int logging(void) { return P.wal || persist_stream_active(); }


void persist_rewrite(client *c, int argc, const resp_arg *argv) {
    if (!logging() || P.replaying || cur.c != c) return;
    thread_register();
    cur.payload.len = 0;
    cur.rewritten = 1;
    bytes_add_multibulk(&cur.payload, argc, argv);
}

void persist_skip_log(client *c) {
    if (!logging() || P.replaying || cur.c != c) return;
    cur.logged = 1;
}

void persist_rewrite_add(client *c, int argc, const resp_arg *argv) {
    if (!logging() || P.replaying || cur.c != c) return;
    thread_register();
    if (!cur.rewritten) {
        cur.payload.len = 0;
        bytes_add_multibulk(&cur.payload, c->argc, c->argv);
        cur.rewritten = 1;
    }
    bytes_add_multibulk(&cur.payload, argc, argv);
}

void persist_rewrite_strs(client *c, int argc, const char *const *argv) {
    resp_arg a[16];
    ASSERT(argc <= 16);
    for (int i = 0; i < argc; i++) {
        a[i].ptr = (char *)argv[i];
        a[i].len = strlen(argv[i]);
    }
    persist_rewrite(c, argc, a);
}

/* ---- EXEC ---------------------------------------------------------------------- */

void persist_exec_begin(client *c) {
    if (!logging() || P.replaying || cur.c != c) return;
    thread_register();
    cur.exec = 1;
    cur.exec_db0 = cur.exec_db = c->db;
    cur.exec_ncmds = 0;
    cur.exec_payload.len = 0;
}

void persist_exec_cmd_begin(client *c) {
    if (!cur.exec || cur.c != c) return;
    cur.rewritten = 0;
    cur.exec_cmd_done = 0;
}

void persist_exec_cmd_end(client *c, int wrote) {
    if (!cur.exec || cur.c != c) return;
    if (cur.exec_cmd_done) {
        cur.exec_cmd_done = 0;
        wrote = 0;
    }
    if (wrote) {
        /* The record starts in the database of its first write (Redis
         * propagates MULTI with the first command's database). */
        if (cur.exec_ncmds == 0) cur.exec_db0 = cur.exec_db = c->db;
        if (c->db != cur.exec_db) {
            bytes_add_select(&cur.exec_payload, c->db);
            cur.exec_db = c->db;
        }
        if (cur.rewritten) bytes_add(&cur.exec_payload, cur.payload.p, cur.payload.len);
        else bytes_add_multibulk(&cur.exec_payload, c->argc, c->argv);
        cur.exec_ncmds++;
    }
    if (cur.rewritten) bytes_trim(&cur.payload);
    cur.rewritten = 0;
}

void persist_exec_handoff(client *from, client *to) {
    if (cur.c == from) cur.c = to;
}

void persist_exec_cmd_done(client *c) {
    if (cur.exec && cur.c == c) cur.exec_cmd_done = 1;
}

void persist_exec_discard(client *c) {
    if (cur.c != c) return;
    cur.exec_ncmds = 0;
    cur.exec_payload.len = 0;
    cur.exec_db = cur.exec_db0;
    cur.logged = 0;
    cur.rewritten = 0;
}

void persist_exec_end(client *c) {
    if (!cur.exec || cur.c != c) return;
    cur.exec = 0;
    cur.exec_ncmds = 0;
    bytes_trim(&cur.exec_payload);
}

/* ---- Around commands ------------------------------------------------------- */

void persist_log_command(client *c) {
    if (P.replaying) return;
    __atomic_add_fetch(&P.changes, 1, __ATOMIC_RELAXED);
    if ((!P.wal && !persist_stream_active()) || cur.c != c || cur.logged || cur.exec) return;
    thread_register();
    ks_txn t;
    ks_txn_begin(&t, server.db, NULL, 0);
    uint64_t ts = ks_txn_ts(&t);
    cur.payload.len = 0;
    bytes_add_multibulk(&cur.payload, c->argc, c->argv);
    uint64_t end = log_commands(c->db, c->db, &cur.payload, ts, t.now_ms, 0);
    ks_txn_commit(&t);
    cur.logged = 1;
    cur.lsn = end;
    note_appended(c, end);
}

int persist_replaying(void) { return __atomic_load_n(&P.replaying, __ATOMIC_RELAXED); }

void persist_command_begin(client *c) {
    cur.c = c;
    cur.rewritten = 0;
    cur.logged = 0;
    cur.lsn = 0;
    ks_thread_stamp_take(); /* what earlier work on this thread read */
}

/* Under `always` no reply may depend on a write that is not durable yet
 * (Redis sends a loop turn's replies after its fsync): the client's output
 * is held until the WAL is durable past the highest LSN among its own
 * record and the stamps of every shard the command's transactions held —
 * a reader of another thread's fresh write, an EXEC whose WATCH saw it,
 * an EXISTS that found the key. Commands that held whole databases
 * (FLUSHALL, big MGETs) and keyless reads of the keyspace (KEYS, SCAN,
 * DBSIZE, RANDOMKEY) wait for everything appended so far. */
void persist_command_end(client *c) {
    cur.c = NULL;
    if (cur.rewritten || cur.payload.cap > (1u << 20)) bytes_trim(&cur.payload);
    cur.rewritten = 0;
    int logged = cur.logged;
    cur.logged = 0;
    uint64_t seen = ks_thread_stamp_take();
    if (!P.wal || P.replaying || server.appendfsync != WAL_FSYNC_ALWAYS) return;
    uint64_t need = logged ? c->wal_lsn : 0;
    /* Keyless reads of the keyspace (KEYS, SCAN, DBSIZE, RANDOMKEY) may
     * read without a locking transaction: they wait for everything. */
    const command *cmd = c->cmd;
    if (cmd && (cmd->flags & CMD_READONLY) && !cmd->key_first && !cmd->getkeys)
        seen = KS_STAMP_ALL;
    if (seen == KS_STAMP_ALL) seen = wal_appended_lsn(P.wal);
    if (seen > need) need = seen;
    if (!need || need <= __atomic_load_n(&P.durable, __ATOMIC_ACQUIRE)) return;
    if (need > c->wal_lsn) c->wal_lsn = need;
    worker *w = worker_current();
    if (w && need > w->wal_turn_max) w->wal_turn_max = need; /* ask for its fsync */
    if (!(c->flags & CLIENT_WAL_HOLD)) persist_hold(c);
}

const ks_hooks persist_hooks = {.commit = hook_commit, .expired = hook_expired,
                                 .evicted = hook_evicted};
