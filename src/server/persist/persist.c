/*
 * persist: see persist.h for the contract.
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
#include "server/persist/persist.h"

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
#include "server/server.h"
#include "server/net/worker.h"

/* The WAL directory under dir: appenddirname (Redis's name for its AOF
 * directory; default appendonlydir). Lightning before that directive used
 * "wal", which persist_open renames once. */
#define PERSIST_WAL_DIR (server.appenddirname)
#define PERSIST_LEGACY_WAL_DIR "wal"
#define REPLAY_ERRORS_LOGGED 10

/* Growable byte buffer (thread-local scratch; grows to the largest
 * command seen on the thread, shrunk back when over 1 MiB). */
typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

static void bytes_reserve(bytes *b, size_t more) {
    if (b->cap - b->len >= more) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
}

static void bytes_add(bytes *b, const void *p, size_t n) {
    bytes_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void bytes_trim(bytes *b) {
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

/* Appends "*argc\r\n" then "$len\r\narg\r\n" for each argument. */
static void bytes_add_multibulk(bytes *b, int argc, const resp_arg *argv) {
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
    bytes payload;
    bytes aux;     /* expiry DELs (may happen inside a command) */
    /* EXEC: commands collected for its one record. */
    int exec;          /* inside persist_exec_begin/end */
    int exec_db0;      /* database the record starts in */
    int exec_db;       /* database after the commands collected so far */
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

static struct {
    wal *wal;
    int replaying;
    uint64_t durable;     /* atomic mirror of the WAL's durable LSN */
    uint64_t changes;     /* atomic */
    pthread_mutex_t wake_lock;
    int wakeups;          /* workers may be woken (under wake_lock) */
    uint64_t snap_ts;     /* replay: records with ts <= this are in the snapshot */
    uint64_t max_ts;      /* replay: highest commit ts seen */
} P = {.wake_lock = PTHREAD_MUTEX_INITIALIZER};

/* Appends payload (commands for database db) as one record. Returns its
 * end LSN, 0 if not logged. */
static uint64_t log_commands(int db, const bytes *payload, uint64_t ts, int64_t time_ms) {
    char sel[64];
    struct iovec iov[2];
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
    if (wal_append(P.wal, ts, time_ms, WAL_REC_COMMANDS_DB0, iov, n, &end) != LT_OK)
        end = 0; /* larger than a record may be: cannot happen below 2 GiB */
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

/* The record of an EXEC (see persist_exec_begin): the collected commands,
 * back to the starting database, wrapped in MULTI/EXEC when more than one.
 * Returns its end LSN, 0 if nothing was logged. */
static uint64_t log_exec(ks_txn *txn) {
    static const char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
    if (cur.exec_ncmds == 0) return 0;
    if (cur.exec_db != cur.exec_db0) {
        bytes_add_select(&cur.exec_payload, cur.exec_db0);
        cur.exec_db = cur.exec_db0;
        cur.exec_ncmds++;
    }
    bytes rec = {0};
    if (cur.exec_ncmds > 1) bytes_add(&rec, multi, sizeof(multi) - 1);
    bytes_add(&rec, cur.exec_payload.p, cur.exec_payload.len);
    if (cur.exec_ncmds > 1) bytes_add(&rec, exec, sizeof(exec) - 1);
    uint64_t end = log_commands(cur.exec_db0, &rec, ks_txn_ts(txn), txn->now_ms);
    free(rec.p);
    return end;
}

/* ---- Engine hooks ---------------------------------------------------------- */

/* persist_internal_begin/end: this thread's commits are the server's own
 * (logged by persist_log_del), not a command's. */
static __thread int internal_writes;

static void hook_commit(void *ctx, ks_txn *txn) {
    (void)ctx;
    if (P.replaying) return;
    __atomic_add_fetch(&P.changes, txn->nwrites, __ATOMIC_RELAXED);
    if (!P.wal) return; /* appendonly no: changes are counted for the save rules */
    if (internal_writes) return; /* logged by persist_log_del */
    client *c = cur.c;
    if (!c || cur.logged) {
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
        note_appended(c, log_exec(txn));
        return;
    }
    if (!cur.rewritten) {
        cur.payload.len = 0;
        bytes_add_multibulk(&cur.payload, c->argc, c->argv);
    }
    cur.logged = 1;
    uint64_t end = log_commands(c->db, &cur.payload, ks_txn_ts(txn), txn->now_ms);
    note_appended(c, end);
}


void persist_internal_begin(void) { internal_writes++; }
void persist_internal_end(void) { internal_writes--; }

static void hook_expired(void *ctx, unsigned dbid, const ks_entry *e, uint64_t ts) {
    (void)ctx;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);
    persist_log_del(dbid, key, klen, ts);
}

void persist_log_del(unsigned dbid, const char *key, size_t klen, uint64_t ts) {
    if (P.replaying) return;
    if (!P.wal) {
        __atomic_add_fetch(&P.changes, 1, __ATOMIC_RELAXED);
        return;
    }
    resp_arg argv[2] = {{(char *)"DEL", 3}, {(char *)key, klen}};
    thread_register();
    cur.aux.len = 0;
    bytes_add_multibulk(&cur.aux, 2, argv);
    uint64_t end = log_commands((int)dbid, &cur.aux, ts, lt_mstime());
    __atomic_add_fetch(&P.changes, 1, __ATOMIC_RELAXED);
    /* The DEL of an expired key needs no reply held: replayed without it
     * the key is expired all the same. */
    note_appended(NULL, end);
    bytes_trim(&cur.aux);
}

/* ---- Rewrites ---------------------------------------------------------------- */

void persist_rewrite(client *c, int argc, const resp_arg *argv) {
    if (!P.wal || P.replaying || cur.c != c) return;
    thread_register();
    cur.payload.len = 0;
    cur.rewritten = 1;
    bytes_add_multibulk(&cur.payload, argc, argv);
}

void persist_skip_log(client *c) {
    if (!P.wal || P.replaying || cur.c != c) return;
    cur.logged = 1;
}

void persist_rewrite_add(client *c, int argc, const resp_arg *argv) {
    if (!P.wal || P.replaying || cur.c != c) return;
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
    if (!P.wal || P.replaying || cur.c != c) return;
    thread_register();
    cur.exec = 1;
    cur.exec_db0 = cur.exec_db = c->db;
    cur.exec_ncmds = 0;
    cur.exec_payload.len = 0;
}

void persist_exec_cmd_begin(client *c) {
    if (!cur.exec || cur.c != c) return;
    cur.rewritten = 0;
}

void persist_exec_cmd_end(client *c, int wrote) {
    if (!cur.exec || cur.c != c) return;
    if (wrote) {
        if (c->db != cur.exec_db) {
            bytes_add_select(&cur.exec_payload, c->db);
            cur.exec_db = c->db;
            cur.exec_ncmds++;
        }
        if (cur.rewritten) bytes_add(&cur.exec_payload, cur.payload.p, cur.payload.len);
        else bytes_add_multibulk(&cur.exec_payload, c->argc, c->argv);
        cur.exec_ncmds++;
    }
    if (cur.rewritten) bytes_trim(&cur.payload);
    cur.rewritten = 0;
}

void persist_exec_end(client *c) {
    if (!cur.exec || cur.c != c) return;
    cur.exec = 0;
    cur.exec_ncmds = 0;
    bytes_trim(&cur.exec_payload);
}

/* ---- Around commands ------------------------------------------------------- */

int persist_reject(client *c, const command *cmd) {
    if (!P.wal) return 0;
    if (!(cmd->flags & CMD_WRITE) && strcmp(cmd->name, "ping") != 0) return 0;
    int err = wal_error(P.wal);
    if (!err) return 0;
    addReplyErrorFormat(c, "MISCONF Errors writing to the AOF file: %s", strerror(err));
    return 1;
}

void persist_command_begin(client *c) {
    cur.c = c;
    cur.rewritten = 0;
    cur.logged = 0;
}

static void hold(client *c) {
    worker *w = c->owner;
    c->flags |= CLIENT_WAL_HOLD;
    c->hnext = w->wal_held;
    w->wal_held = c;
}

void persist_command_end(client *c) {
    cur.c = NULL;
    if (cur.rewritten || cur.payload.cap > (1u << 20)) bytes_trim(&cur.payload);
    cur.rewritten = 0;
    if (!cur.logged) return;
    cur.logged = 0;
    if (server.appendfsync != WAL_FSYNC_ALWAYS || (c->flags & CLIENT_WAL_HOLD)) return;
    if (c->wal_lsn > __atomic_load_n(&P.durable, __ATOMIC_ACQUIRE)) hold(c);
}

/* Releases held clients whose records are durable; recomputes the
 * smallest LSN still awaited (0 when none). */
static void release_held(worker *w) {
    uint64_t durable = __atomic_load_n(&P.durable, __ATOMIC_SEQ_CST);
    uint64_t min = 0;
    client **pp = &w->wal_held;
    while (*pp) {
        client *c = *pp;
        if (c->wal_lsn <= durable) {
            *pp = c->hnext;
            c->hnext = NULL;
            c->flags &= ~CLIENT_WAL_HOLD;
            client_queue_write(c);
        } else {
            if (!min || c->wal_lsn < min) min = c->wal_lsn;
            pp = &c->hnext;
        }
    }
    __atomic_store_n(&w->wal_wait_min, min, __ATOMIC_SEQ_CST);
}

void persist_before_wait(worker *w) {
    if (!P.wal) return;
    if (w->wal_turn_max > w->wal_requested) {
        w->wal_requested = w->wal_turn_max;
        /* Under always the writer writes and fsyncs while the replies wait
         * (held); otherwise write(2) here, before this turn's replies go
         * out, as Redis does: a process crash then loses no acknowledged
         * write, only a machine crash loses up to a second. On a write
         * error the writer keeps retrying and writes are refused. */
        if (server.appendfsync == WAL_FSYNC_ALWAYS) wal_request_write(P.wal, w->wal_turn_max);
        else wal_write(P.wal, w->wal_turn_max);
    }
    if (!w->wal_held) return;
    /* Publish what we wait for, then look at durable again: either we see
     * the writer's new durable LSN, or it sees our wal_wait_min and wakes
     * us (both sides are sequentially consistent). */
    release_held(w);
    if (w->wal_held) release_held(w);
}

void persist_on_wakeup(worker *w) {
    if (w->wal_held) release_held(w);
}

/* WAL writer thread: durable LSN advanced. */
static void on_durable(void *ctx, uint64_t durable) {
    (void)ctx;
    __atomic_store_n(&P.durable, durable, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&P.wake_lock);
    if (P.wakeups) {
        for (int i = 0; i < server.nworkers; i++) {
            worker *w = server.workers[i];
            uint64_t min = __atomic_load_n(&w->wal_wait_min, __ATOMIC_SEQ_CST);
            if (min && min <= durable) ev_loop_wakeup(w->loop);
        }
    }
    pthread_mutex_unlock(&P.wake_lock);
}

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
    uint64_t commands, errors;
} replay_state;

/* Runs one record's commands; the first one's key was prefetched with
 * hash `hash` when key is not NULL. */
static void replay_one(replay_state *st, const replay_rec *r, const char *key, uint64_t hash) {
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
            serverLog(LL_WARNING, "WAL record at LSN %llu: unparsable payload, skipped",
                      (unsigned long long)r->lsn);
            resp_parser_reset(&c->parser);
            st->errors++;
            break;
        }
        pos += used;
        if (c->parser.argc > 0 &&
            (!r->in_snapshot ||
             (c->parser.argv[0].len == 6 && !strncasecmp(c->parser.argv[0].ptr, "select", 6)))) {
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            dispatch_command(c);
            st->commands++;
            if (c->error_in_reply && ++st->errors <= REPLAY_ERRORS_LOGGED)
                serverLog(LL_WARNING, "WAL record at LSN %llu: command '%.*s' failed on replay",
                          (unsigned long long)r->lsn,
                          (int)(c->argv[0].len < 64 ? c->argv[0].len : 64),
                          c->argv[0].ptr);
            c->argc = 0;
            c->argv = NULL;
        }
        c->prehash_key = NULL;
        resp_parser_reset(&c->parser);
    }
    c->prehash_key = NULL;
    ks_txn_set_thread_clock(0);
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

static void replay_flush(replay_state *st) {
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
    for (int i = 0; i < st->n; i++) {
        int k = nkeys > 1 ? key_of[i] : -1;
        replay_one(st, &st->rec[i], k >= 0 ? keys[k].key : NULL, k >= 0 ? hashes[k] : 0);
    }
    st->n = 0;
    st->buf.len = 0;
}

static int replay_record(void *ctx, const wal_record *r) {
    replay_state *st = ctx;
    if (r->commit_ts > P.max_ts) P.max_ts = r->commit_ts;
    /* Committed before the snapshot's view: already in it. */
    int in_snapshot = r->commit_ts <= P.snap_ts;
    if (r->type == WAL_REC_COMMANDS_DB0 && in_snapshot) return 0;
    if (st->n == REPLAY_BATCH) replay_flush(st);
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
    st->c->flags = CLIENT_AUTHENTICATED | CLIENT_REPLY_OFF;
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

int persist_open(void) {
    static const ks_hooks hooks = {.commit = hook_commit, .expired = hook_expired};
    uint64_t replay_from = 0;
    if (adopt_legacy_wal_dir() < 0) return -1;
    if (save_recover(server.appendonly ? wal_first_lsn() : UINT64_MAX, &replay_from,
                     &P.snap_ts) < 0)
        return -1;
    ks_mvcc_advance(server.db, P.snap_ts);
    if (!server.appendonly) {
        ks_set_hooks(server.db, &hooks); /* counts changes for the save rules */
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
        .on_durable = on_durable,
    };
    wal_scan_result res;
    P.replaying = 1;
    int64_t t0 = monotonic_us();
    int rc = wal_open(&cfg, replay_record, &st, &res, &P.wal);
    if (rc == LT_OK) replay_flush(&st); /* the last batch */
    int64_t dt = monotonic_us() - t0;
    P.replaying = 0;
    replay_client_free(&st);
    if (rc != LT_OK) {
        serverLog(LL_WARNING, "Cannot open the WAL in %s/%s: %s%s%s", server.dir, PERSIST_WAL_DIR,
                  lt_strerror(rc), rc == LT_IOERR ? ": " : "",
                  rc == LT_IOERR ? strerror(res.sys_errno) : "");
        return -1;
    }
    if (res.problem.found) {
        serverLog(LL_WARNING,
                  "WAL: bad record in %s at offset %llu (LSN %llu): %s. Kept everything before "
                  "it; truncated the file there%s.",
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
    if (st.errors)
        serverLog(LL_WARNING, "WAL replay: %llu command(s) failed", (unsigned long long)st.errors);
    __atomic_store_n(&P.durable, res.end_lsn, __ATOMIC_SEQ_CST);
    /* Later commits get timestamps above every logged one. */
    ks_mvcc_advance(server.db, P.max_ts);
    ks_set_hooks(server.db, &hooks);
    return 0;
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
