/*
 * script: Lua scripts as transactions (see script.h).
 *
 * Owns: the script cache (sha -> body, flags, "exclusive"), each thread's
 * interpreters and fake client, the run of one script (its lock set, undo
 * log, busy/kill state), redis.call / redis.pcall, and the EVAL / SCRIPT
 * command family.
 * Invariants: a thread runs at most one script at a time (cur_run); cache
 * entries are touched only under cache.lock (a run copies what it needs);
 * while a run's transaction is open every command it executes is covered
 * by it (keyset_covered) or the run is aborted before the command runs.
 * Called by: the command table, function.c (FCALL), dispatch (busy gate).
 */
#include "script/script.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "common/assert.h"
#include "common/clock.h"
#include "common/sha1.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/entry.h"
#include "engine/keyspace.h"
#include "engine/txn.h"
#include "script/luaconv.h"
#include "script/function.h"
#include "script/luavm.h"
#include "repl/repl.h"
#include "server/acl.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/cmd/keyset.h"
#include "server/cmd/multi.h"
#include "server/log.h"
#include "server/monitor.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/persist/persist.h"
#include "server/evict.h"
#include "server/server.h"

/* Lua heap of one interpreter. */
#define SCRIPT_LUA_HEAP_MAX (512ull << 20)
/* Instructions between two checks of the clock and kill flags. */
#define SCRIPT_HOOK_COUNT 100000
/* Worker slots for per-thread figures (INFO). */
#define SCRIPT_SLOTS 256

/* ---- The script cache ------------------------------------------------------------ */

typedef struct script_entry {
    struct script_entry *next;
    char sha[LT_SHA1_HEX_SIZE];
    uint64_t flags;
    int exclusive;
    size_t len;
    char body[];
} script_entry;

static struct {
    pthread_mutex_t lock;
    script_entry **buckets;
    size_t nbuckets, count, bytes;
    uint64_t gen; /* atomic: bumped by SCRIPT FLUSH */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t sha_bucket(const char *sha, size_t n) {
    size_t h = 0;
    for (int i = 0; i < 16; i++) h = h * 16 + (size_t)(isdigit((unsigned char)sha[i]) ? sha[i] - '0' : sha[i] - 'a' + 10);
    return h & (n - 1);
}

/* Under cache.lock. */
static script_entry *cache_find(const char *sha) {
    if (!cache.nbuckets) return NULL;
    for (script_entry *e = cache.buckets[sha_bucket(sha, cache.nbuckets)]; e; e = e->next)
        if (memcmp(e->sha, sha, 40) == 0) return e;
    return NULL;
}

/* A 40-character sha argument as the cache's key (lower case). */
static void sha_of_arg(const resp_arg *a, char sha[LT_SHA1_HEX_SIZE]) {
    for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)a->ptr[i]);
    sha[40] = '\0';
}

/* Under cache.lock: adds body unless present. */
static void cache_add(const char *sha, const char *body, size_t len, uint64_t flags) {
    if (cache_find(sha)) return;
    if (cache.count >= cache.nbuckets) {
        size_t n = cache.nbuckets ? cache.nbuckets * 2 : 64;
        script_entry **b = lt_xcalloc(n, sizeof(*b));
        for (size_t i = 0; i < cache.nbuckets; i++)
            for (script_entry *e = cache.buckets[i], *next; e; e = next) {
                next = e->next;
                size_t k = sha_bucket(e->sha, n);
                e->next = b[k];
                b[k] = e;
            }
        free(cache.buckets);
        cache.buckets = b;
        cache.nbuckets = n;
    }
    script_entry *e = lt_xmalloc(sizeof(*e) + len + 1);
    memcpy(e->sha, sha, LT_SHA1_HEX_SIZE);
    e->flags = flags;
    e->exclusive = 0;
    e->len = len;
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    size_t k = sha_bucket(sha, cache.nbuckets);
    e->next = cache.buckets[k];
    cache.buckets[k] = e;
    cache.count++;
    cache.bytes += sizeof(*e) + len + 1;
}

static void cache_flush(void) {
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < cache.nbuckets; i++)
        for (script_entry *e = cache.buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(cache.buckets);
    cache.buckets = NULL;
    cache.nbuckets = cache.count = cache.bytes = 0;
    __atomic_add_fetch(&cache.gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&cache.lock);
}

size_t script_cache_bytes(void) {
    pthread_mutex_lock(&cache.lock);
    size_t b = cache.bytes + cache.nbuckets * sizeof(void *);
    pthread_mutex_unlock(&cache.lock);
    return b;
}

size_t script_cache_count(void) {
    pthread_mutex_lock(&cache.lock);
    size_t n = cache.count;
    pthread_mutex_unlock(&cache.lock);
    return n;
}

/* ---- Shebang -------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint64_t flag;
} shebang_flags[] = {
    {"no-writes", SCRIPT_FLAG_NO_WRITES},
    {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SCRIPT_FLAG_ALLOW_STALE},
    {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_FLAG_CROSS_SLOT},
    {NULL, 0},
};

int script_parse_shebang(const char *body, size_t len, uint64_t *flags, size_t *shebang_len,
                         char *err, size_t errlen) {
    *flags = SCRIPT_FLAG_EVAL_COMPAT;
    *shebang_len = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!') return 0;
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, errlen, "Invalid script shebang");
        return -1;
    }
    size_t slen = (size_t)(nl - body);
    char *line = lt_xmalloc(slen + 1);
    memcpy(line, body, slen);
    line[slen] = '\0';
    resp_arg *parts = NULL;
    int cap = 0;
    int n = resp_split_inline(line, slen, &parts, &cap);
    int rc = 0;
    if (n <= 0) {
        snprintf(err, errlen, "Invalid engine in script shebang");
        rc = -1;
        goto out;
    }
    if (parts[0].len != 5 || memcmp(parts[0].ptr, "#!lua", 5) != 0) {
        snprintf(err, errlen, "Unexpected engine in script shebang: %.*s",
                 (int)(parts[0].len < 200 ? parts[0].len : 200), parts[0].ptr);
        rc = -1;
        goto out;
    }
    uint64_t f = 0;
    for (int j = 1; j < n && rc == 0; j++) {
        if (parts[j].len >= 6 && memcmp(parts[j].ptr, "flags=", 6) == 0) {
            const char *p = parts[j].ptr + 6, *end = parts[j].ptr + parts[j].len;
            /* sdssplitlen: "" gives no flags; "a,,b" has an empty one. */
            while (p < end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *fe = comma ? comma : end;
                int k;
                for (k = 0; shebang_flags[k].name; k++)
                    if (strlen(shebang_flags[k].name) == (size_t)(fe - p) &&
                        memcmp(shebang_flags[k].name, p, (size_t)(fe - p)) == 0)
                        break;
                if (!shebang_flags[k].name) {
                    snprintf(err, errlen, "Unexpected flag in script shebang: %.*s",
                             (int)((fe - p) < 200 ? (fe - p) : 200), p);
                    rc = -1;
                    break;
                }
                f |= shebang_flags[k].flag;
                if (!comma) break;
                p = comma + 1;
                if (p == end) { /* trailing comma: an empty flag */
                    snprintf(err, errlen, "Unexpected flag in script shebang: ");
                    rc = -1;
                    break;
                }
            }
        } else {
            snprintf(err, errlen, "Unknown lua shebang option: %.*s",
                     (int)(parts[j].len < 200 ? parts[j].len : 200), parts[j].ptr);
            rc = -1;
        }
    }
    if (rc == 0) {
        *flags = f;
        *shebang_len = slen;
    }
out:
    free(parts);
    free(line);
    return rc;
}

/* ---- Per-thread interpreters ------------------------------------------------------- */

static __thread struct {
    lua_State *L[2];  /* [0] scripts, [1] functions */
    uint64_t gen;     /* cache generation of L[0] */
    client *fake;     /* runs the commands of this thread's scripts */
    int slot;
} tls;

static size_t vm_bytes[2][SCRIPT_SLOTS]; /* atomic: per thread's interpreters */

/* A thread's interpreters, fake client and scratch buffers are freed when
 * it exits (workers at shutdown). */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread resp_arg *call_argv;
static __thread int call_cap;
static __thread char *gather;
static __thread size_t gather_cap;

static void tls_free(void *unused) {
    (void)unused;
    for (int i = 0; i < 2; i++)
        if (tls.L[i]) {
            luavm_close(tls.L[i]);
            tls.L[i] = NULL;
        }
    free(tls.fake);
    tls.fake = NULL;
    free(call_argv);
    call_argv = NULL;
    free(gather);
    gather = NULL;
    gather_cap = 0;
    call_cap = 0;
}

static void tls_key_make(void) { pthread_key_create(&tls_key, tls_free); }

static void tls_register(void) {
    pthread_once(&tls_once, tls_key_make);
    if (!pthread_getspecific(tls_key)) pthread_setspecific(tls_key, (void *)1);
}

static int thread_slot(void) {
    worker *w = worker_current();
    return w && w->id < SCRIPT_SLOTS - 1 ? w->id : SCRIPT_SLOTS - 1;
}

static void publish_vm_bytes(int which) {
    lua_State *L = tls.L[which];
    size_t used = L ? luavm_get(L)->used : 0;
    __atomic_store_n(&vm_bytes[which][tls.slot], used, __ATOMIC_RELAXED);
}

size_t script_vm_bytes(int for_functions) {
    size_t sum = 0;
    for (int i = 0; i < SCRIPT_SLOTS; i++)
        sum += __atomic_load_n(&vm_bytes[for_functions ? 1 : 0][i], __ATOMIC_RELAXED);
    return sum;
}

void script_thread_vm_reset(int for_functions) {
    int w = for_functions ? 1 : 0;
    if (tls.L[w]) luavm_close(tls.L[w]);
    tls.L[w] = NULL;
    publish_vm_bytes(w);
}

lua_State *script_thread_vm(int for_functions) {
    int w = for_functions ? 1 : 0;
    tls.slot = thread_slot();
    if (!w) {
        uint64_t gen = __atomic_load_n(&cache.gen, __ATOMIC_ACQUIRE);
        if (tls.L[0] && tls.gen != gen) script_thread_vm_reset(0);
        tls.gen = gen;
    }
    tls_register();
    if (!tls.L[w])
        tls.L[w] = luavm_new(script_lua_call, script_lua_pcall, script_lua_acl_check,
                             SCRIPT_LUA_HEAP_MAX);
    return tls.L[w];
}

static client *thread_fake(client *caller) {
    if (!tls.fake) tls.fake = lt_xcalloc(1, sizeof(client));
    client *f = tls.fake;
    f->owner = caller->owner;
    f->flags = CLIENT_AUTHENTICATED | CLIENT_PENDING_WRITE | CLIENT_IN_EXEC | CLIENT_SCRIPT;
    f->db = caller->db;
    f->resp = 2;
    f->id = caller->id;
    f->user = caller->user; /* the script's commands run as its caller */
    memcpy(f->addr, caller->addr, sizeof(f->addr));
    return f;
}

/* The fake client's output as one buffer (its buf, or a thread buffer the
 * chunks are gathered into); the output is dropped by fake_reset. */
static const char *fake_output(client *f, size_t *len) {
    if (!f->reply_head) {
        *len = f->bufpos;
        return f->buf;
    }
    size_t total = f->bufpos;
    for (reply_chunk *ch = f->reply_head; ch; ch = ch->next) total += ch->used;
    if (total > gather_cap) {
        free(gather);
        gather_cap = total;
        gather = lt_xmalloc(gather_cap);
    }
    memcpy(gather, f->buf, f->bufpos);
    size_t off = f->bufpos;
    for (reply_chunk *ch = f->reply_head; ch; ch = ch->next) {
        memcpy(gather + off, ch->buf, ch->used);
        off += ch->used;
    }
    *len = total;
    return gather;
}

static void fake_reset(client *f) {
    f->bufpos = f->sentlen = 0;
    for (reply_chunk *ch = f->reply_head, *next; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    f->reply_head = f->reply_tail = NULL;
    f->reply_bytes = 0;
    f->deferred = NULL;
    if (gather_cap > (1u << 20)) {
        free(gather);
        gather = NULL;
        gather_cap = 0;
    }
}

/* ---- Running scripts: busy and kill state ------------------------------------------ */

typedef struct undo_ent {
    unsigned db;
    char *key;
    size_t klen;
    int exists, type;
    void *obj;     /* collection copy */
    char *str;     /* string copy */
    size_t slen;
    int64_t expire_ms;
} undo_ent;

typedef struct run_ctx {
    client *caller, *fake;
    lua_State *L;
    ks_txn *txn;
    int all;          /* holds every database */
    int ro;
    int oom;          /* deny-oom commands refused until it writes (Redis) */
    int is_function;
    const char *name;
    int abort;        /* touched what it does not hold: undo, re-run */
    int wrote;
    int64_t start_ms;
    int busy;         /* counted in busy_count */
    int killed;       /* SCRIPT KILL / shutdown honoured */
    undo_ent *undo;
    int nundo, capundo;
} run_ctx;

static __thread run_ctx *cur_run;

/* Published state of each thread's running script, for SCRIPT KILL and
 * the busy gate. */
static struct {
    int running;     /* a script runs on this slot */
    int is_function;
    int wrote;
    int kill;        /* request */
    /* Functions, for FUNCTION STATS (under fn_slots_lock): */
    char name[128];
    int64_t start_ms;
    int argc;
    resp_arg *argv;  /* one block: array then bytes */
} run_slots[SCRIPT_SLOTS];
static pthread_mutex_t fn_slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void slot_publish_function(int slot, const char *name, client *c, int64_t start_ms) {
    size_t bytes = sizeof(resp_arg) * (size_t)c->argc;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    resp_arg *a = lt_xmalloc(bytes ? bytes : 1);
    char *p = (char *)(a + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        a[i].ptr = p;
        a[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    pthread_mutex_lock(&fn_slots_lock);
    snprintf(run_slots[slot].name, sizeof(run_slots[slot].name), "%s", name);
    run_slots[slot].start_ms = start_ms;
    run_slots[slot].argc = c->argc;
    run_slots[slot].argv = a;
    pthread_mutex_unlock(&fn_slots_lock);
}

static void slot_clear_function(int slot) {
    pthread_mutex_lock(&fn_slots_lock);
    free(run_slots[slot].argv);
    run_slots[slot].argv = NULL;
    run_slots[slot].argc = 0;
    pthread_mutex_unlock(&fn_slots_lock);
}

void script_reply_running_function(client *c) {
    pthread_mutex_lock(&fn_slots_lock);
    int found = -1;
    for (int i = 0; i < SCRIPT_SLOTS && found < 0; i++)
        if (run_slots[i].argv && __atomic_load_n(&run_slots[i].running, __ATOMIC_ACQUIRE))
            found = i;
    if (found < 0) {
        pthread_mutex_unlock(&fn_slots_lock);
        addReplyNull(c);
        return;
    }
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "name");
    addReplyBulkCString(c, run_slots[found].name);
    addReplyBulkCString(c, "command");
    addReplyArrayLen(c, run_slots[found].argc);
    for (int i = 0; i < run_slots[found].argc; i++)
        addReplyBulk(c, run_slots[found].argv[i].ptr, run_slots[found].argv[i].len);
    addReplyBulkCString(c, "duration_ms");
    addReplyLongLong(c, mstime() - run_slots[found].start_ms);
    pthread_mutex_unlock(&fn_slots_lock);
}
static int busy_count;    /* atomic: scripts past busy-reply-threshold */
static int busy_fn_count; /* atomic: of them, functions */
/* The gate: exclusive scripts running, and a condition other threads'
 * commands wait on until none is, or one becomes busy. */
static int gate_exclusive; /* atomic; changed under gate_lock */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;

static void gate_broadcast(void) {
    pthread_mutex_lock(&gate_lock);
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static void gate_enter(void) {
    pthread_mutex_lock(&gate_lock);
    __atomic_add_fetch(&gate_exclusive, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&gate_lock);
}

static void gate_leave(void) {
    pthread_mutex_lock(&gate_lock);
    __atomic_sub_fetch(&gate_exclusive, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

int script_locks_held_long(void) {
    return __atomic_load_n(&gate_exclusive, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&busy_count, __ATOMIC_ACQUIRE);
}

/* Redis's BUSY error while a script is busy (it names the kill command of
 * the kind of script running), NULL when none is. */
static const char *busy_error(void) {
    if (!__atomic_load_n(&busy_count, __ATOMIC_ACQUIRE)) return NULL;
    if (__atomic_load_n(&busy_fn_count, __ATOMIC_ACQUIRE) ==
        __atomic_load_n(&busy_count, __ATOMIC_ACQUIRE))
        return "BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
               "SHUTDOWN NOSAVE.";
    return "BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
           "SHUTDOWN NOSAVE.";
}

int script_reply_if_busy(client *c) {
    const char *err = busy_error();
    if (!err) return 0;
    addReplyError(c, err);
    return 1;
}

/* What a busy script's nested poll may run for the other clients of its
 * thread: commands that touch neither the keyspace nor the thread's
 * per-command state (dispatch_call_nested). */
static int nested_safe(const command *cmd) {
    static const char *const ok[] = {"script|kill", "function|kill", "function|stats",
                                     "shutdown", "multi", "discard", "unwatch", NULL};
    for (int i = 0; ok[i]; i++)
        if (!strcmp(cmd->fullname, ok[i])) return 1;
    return 0;
}

int script_reject_busy(client *c, const command *cmd) {
    if (cur_run) return 0; /* the script's own redis.call */
    if (c->owner && c->owner->nested) {
        /* Only a busy script polls nested (script_poll_nested). */
        if (cmd->flags & CMD_ALLOW_BUSY) return nested_safe(cmd) ? 0 : SCRIPT_BUSY_WAIT;
        const char *err = busy_error();
        ASSERT(err != NULL);
        if (!multi_exec_rejected(c, cmd, err)) addReplyError(c, err);
        return 1;
    }
    if (cmd->flags & CMD_ALLOW_BUSY) return 0;
    if (__atomic_load_n(&gate_exclusive, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&gate_lock);
        while (__atomic_load_n(&gate_exclusive, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&busy_count, __ATOMIC_ACQUIRE))
            pthread_cond_wait(&gate_cond, &gate_lock);
        pthread_mutex_unlock(&gate_lock);
    }
    const char *err = busy_error();
    if (!err) return 0;
    /* EXEC refused: the transaction is discarded (Redis's execCommandAbort). */
    if (!multi_exec_rejected(c, cmd, err)) addReplyError(c, err);
    return 1;
}

void script_kill(client *c, int functions) {
    int found = 0, wrote = 0, other = 0;
    for (int i = 0; i < SCRIPT_SLOTS; i++) {
        if (!__atomic_load_n(&run_slots[i].running, __ATOMIC_ACQUIRE)) continue;
        if (run_slots[i].is_function != functions) {
            other = 1;
            continue;
        }
        found = 1;
        if (__atomic_load_n(&run_slots[i].wrote, __ATOMIC_ACQUIRE)) wrote = 1;
    }
    if (!found) {
        if (other && functions)
            addReplyError(c, "NOTBUSY No scripts in execution right now.");
        else if (other)
            addReplyError(c, "BUSY Redis is busy running a script. You can only call "
                             "FUNCTION KILL or SHUTDOWN NOSAVE.");
        else
            addReplyError(c, "NOTBUSY No scripts in execution right now.");
        return;
    }
    if (wrote) {
        addReplyError(c, "UNKILLABLE Sorry the script already executed write commands against "
                         "the dataset. You can either wait the script termination or kill the "
                         "server in a hard way using the SHUTDOWN NOSAVE command.");
        return;
    }
    for (int i = 0; i < SCRIPT_SLOTS; i++)
        if (__atomic_load_n(&run_slots[i].running, __ATOMIC_ACQUIRE) &&
            run_slots[i].is_function == functions)
            __atomic_store_n(&run_slots[i].kill, 1, __ATOMIC_RELEASE);
    addReplyOK(c);
}

static int abort_hook_raise(lua_State *L, run_ctx *run) {
    if (run->killed) {
        luavm_push_error(L, "Script killed by user with SCRIPT KILL...", 41);
    } else {
        lua_pushliteral(L, "lightning: script aborted for re-run");
    }
    return lua_error(L);
}

/* Once busy, every hook call serves the other clients of the script's
 * thread (Redis's processEventsWhileBlocked): a kill, SHUTDOWN NOSAVE or
 * a -BUSY reply never waits for the script. Meanwhile the thread is not
 * "inside the script" for them (cur_run NULL: their commands are not the
 * script's redis.call); the caller's own input waits (worker.h). */
static void script_poll_nested(run_ctx *run) {
    worker *w = worker_current();
    client *c = run->caller;
    if (!w || !c || c->owner != w || (c->flags & CLIENT_SCRIPT)) return;
    cur_run = NULL;
    worker_poll_nested(w);
    cur_run = run;
}

/* Count hook: the clock, kill requests, shutdown, and aborts. */
static void run_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    run_ctx *run = cur_run;
    if (!run) return;
    if (run->abort || run->killed) {
        abort_hook_raise(L, run);
        return;
    }
    int64_t elapsed = mstime() - run->start_ms;
    if (!run->busy && server.busy_reply_threshold > 0 && elapsed >= server.busy_reply_threshold) {
        run->busy = 1;
        if (run->is_function) __atomic_add_fetch(&busy_fn_count, 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&busy_count, 1, __ATOMIC_RELEASE);
        gate_broadcast();
        serverLog(LL_WARNING,
                  "Slow script detected: still in execution after %lld milliseconds. You can "
                  "try killing the script using the %s command. Script name is: %s.",
                  (long long)elapsed, run->is_function ? "FUNCTION KILL" : "SCRIPT KILL",
                  run->name);
    }
    if (run->busy) script_poll_nested(run);
    int slot = tls.slot;
    int shutdown = __atomic_load_n(&server.shutdown_requested, __ATOMIC_ACQUIRE) != 0;
    /* A kill is honoured busy or not: on another thread a running script
     * can be asked to stop before the threshold (Redis could not hear
     * the request before). */
    if (shutdown || __atomic_load_n(&run_slots[slot].kill, __ATOMIC_ACQUIRE)) {
        if (!shutdown && run->wrote) return; /* UNKILLABLE raced a write */
        serverLog(LL_NOTICE, "Lua script killed by user with %s.",
                  shutdown ? "SHUTDOWN" : run->is_function ? "FUNCTION KILL" : "SCRIPT KILL");
        run->killed = 1;
        /* Raised at every line from now on: a pcall in the script cannot
         * keep it alive. */
        lua_sethook(L, run_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
        abort_hook_raise(L, run);
    }
}

/* ---- The undo log ---------------------------------------------------------------------- */

static int undo_has(run_ctx *run, unsigned db, const char *key, size_t klen) {
    for (int i = 0; i < run->nundo; i++)
        if (run->undo[i].db == db && run->undo[i].klen == klen &&
            memcmp(run->undo[i].key, key, klen) == 0)
            return 1;
    return 0;
}

static void undo_save(run_ctx *run, unsigned db, const char *key, size_t klen) {
    if (undo_has(run, db, key, klen)) return;
    if (run->nundo == run->capundo) {
        run->capundo = run->capundo ? run->capundo * 2 : 8;
        run->undo = lt_xrealloc(run->undo, (size_t)run->capundo * sizeof(*run->undo));
    }
    undo_ent *u = &run->undo[run->nundo++];
    memset(u, 0, sizeof(*u));
    u->db = db;
    u->klen = klen;
    u->key = lt_xmalloc(klen ? klen : 1);
    memcpy(u->key, key, klen);
    ks_entry *e = ks_lookup(run->txn, db, key, klen, KS_LOOKUP_NOTOUCH);
    if (!e) return;
    u->exists = 1;
    u->type = ks_entry_type(e);
    u->expire_ms = ks_entry_expire_ms(e);
    if (u->type == KS_TYPE_STRING) {
        char num[LT_LLSTR_SIZE];
        size_t len;
        const char *s = ks_entry_str(e, num, &len);
        u->str = lt_xmalloc(len ? len : 1);
        memcpy(u->str, s, len);
        u->slen = len;
    } else {
        u->obj = ks_entry_obj_dup(e);
    }
}

/* Puts every saved key back as it was (under the run's locks). */
static void undo_restore(run_ctx *run) {
    for (int i = run->nundo - 1; i >= 0; i--) {
        undo_ent *u = &run->undo[i];
        if (!u->exists) {
            ks_delete(run->txn, u->db, u->key, u->klen);
        } else if (u->type == KS_TYPE_STRING) {
            ks_set_str(run->txn, u->db, u->key, u->klen, u->str, u->slen, u->expire_ms, 0);
        } else {
            ks_set_obj(run->txn, u->db, u->key, u->klen, u->type, u->obj, u->expire_ms);
            u->obj = NULL; /* owned by the keyspace now */
        }
    }
}

static void undo_free(run_ctx *run) {
    for (int i = 0; i < run->nundo; i++) {
        undo_ent *u = &run->undo[i];
        free(u->key);
        free(u->str);
        if (u->obj) {
            const ks_type_ops *ops = ks_type_get(u->type);
            if (ops) ops->free(u->obj);
        }
    }
    free(run->undo);
    run->undo = NULL;
    run->nundo = run->capundo = 0;
}

/* ---- redis.call ---------------------------------------------------------------------------- */

/* Lua arguments 1..argc as command arguments in argv, numbers turned into
 * their string form in place on the stack (Redis's luaArgsToRedisArgv);
 * the bytes stay owned by the Lua stack. -1 when one is neither a string
 * nor a number. */
static int lua_args_to_argv(lua_State *L, int argc, resp_arg *argv) {
    for (int j = 1; j <= argc; j++) {
        int t = lua_type(L, j);
        if (t == LUA_TNUMBER) {
            char buf[32];
            int n = luavm_fmt_number(lua_tonumber(L, j), buf);
            lua_pushlstring(L, buf, (size_t)n);
            lua_replace(L, j);
        } else if (t != LUA_TSTRING) {
            return -1;
        }
        size_t len;
        argv[j - 1].ptr = (char *)lua_tolstring(L, j, &len);
        argv[j - 1].len = len;
    }
    return 0;
}

/* Pushes the error table for msg and returns it (pcall) or raises it. */
static int call_error(lua_State *L, const char *msg, int raise) {
    luavm_push_error(L, msg, strlen(msg));
    if (!raise) return 1;
    return lua_error(L);
}

/* A command refused before it runs (Redis's scriptCall error path): the
 * error is counted now, in errorstats and as a rejected call of cmd (if
 * known), and the Lua error says so, so that the script's own error reply
 * does not count it again. */
static int call_refused(lua_State *L, const command *cmd, const char *msg, int raise) {
    const char *code = "ERR";
    size_t codelen = 3;
    if (msg[0] == '-') {
        code = msg + 1;
        codelen = strcspn(code, " ");
    }
    server_count_error(code, codelen);
    worker *w = worker_current();
    if (cmd && w) __atomic_add_fetch(&w->cmdstats[cmd->id].rejected, 1, __ATOMIC_RELAXED);
    luavm_push_error(L, msg, strlen(msg));
    lua_pushliteral(L, "ignore_error_stats_update");
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    if (!raise) return 1;
    return lua_error(L);
}

static int call_generic(lua_State *L, int raise) {
    run_ctx *run = cur_run;
    if (!run) return call_error(L, "redis.call can only be called inside a script invocation", 1);
    if (run->abort || run->killed) return abort_hook_raise(L, run);
    int argc = lua_gettop(L);
    if (argc == 0)
        return call_error(L, "Please specify at least one argument for this redis lib call", raise);
    if (argc > call_cap) {
        int cap = argc < 16 ? 16 : argc;
        resp_arg *a = realloc(call_argv, (size_t)cap * sizeof(*a));
        if (!a) return luaL_error(L, "not enough memory");
        call_argv = a;
        call_cap = cap;
    }
    if (lua_args_to_argv(L, argc, call_argv) < 0)
        return call_error(L, "Lua redis lib command arguments must be strings or integers", raise);
    const command *cmd = command_lookup(call_argv[0].ptr, call_argv[0].len);
    if (cmd && cmd->subcommands && argc >= 2)
        cmd = command_lookup_sub(cmd, call_argv[1].ptr, call_argv[1].len);
    if (!cmd) return call_refused(L, NULL, "Unknown Redis command called from script", raise);
    if (!cmd->proc || !command_arity_ok(cmd, argc))
        return call_refused(L, cmd, "Wrong number of args calling Redis command from script", raise);
    if ((cmd->flags & CMD_NOSCRIPT) &&
        !__atomic_load_n(&server.script_disable_deny_script, __ATOMIC_RELAXED))
        return call_refused(L, cmd, "This Redis command is not allowed from script", raise);
    if (run->caller) {
        switch (acl_check_script_call(run->caller, cmd, call_argv, argc)) {
        case ACL_OK: break;
        case ACL_DENIED_CMD:
            return call_refused(L, cmd, "The user executing the script can't run this command or subcommand",
                              raise);
        case ACL_DENIED_KEY:
            return call_refused(L, cmd, "The user executing the script can't access at least one of the "
                                 "keys mentioned in the command arguments", raise);
        case ACL_DENIED_CHANNEL:
            return call_refused(L, cmd, "The user executing the script can't publish to the channel "
                                 "mentioned in the command", raise);
        default:
            return call_refused(L, cmd, "The user executing the script is lacking the permissions for "
                                 "the command", raise);
        }
    }
    if (run->ro && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE)))
        return call_refused(L, cmd, "Write commands are not allowed from read-only scripts.", raise);
    if (run->oom && !run->wrote && (cmd->flags & CMD_DENYOOM))
        return call_refused(L, cmd, "-OOM command not allowed when used memory > 'maxmemory'.", raise);
    client *f = run->fake;
    if (!run->all) {
        cmd_keyset ks;
        keyset_init(&ks);
        keyset_add_command(&ks, cmd, call_argv, argc, f->db);
        int ok = keyset_covered(&ks, run->txn);
        if (ok && (cmd->flags & CMD_WRITE))
            for (size_t i = 0; i < ks.n; i++)
                undo_save(run, ks.keys[i].dbid, ks.keys[i].key, ks.keys[i].klen);
        keyset_free(&ks);
        if (!ok) {
            run->abort = 1;
            lua_sethook(L, run_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
            return abort_hook_raise(L, run);
        }
    }
    f->resp = luavm_get(L)->resp;
    f->argc = argc;
    f->argv = call_argv;
    f->cmd = cmd;
    f->error_in_reply = 0;
    uint32_t nwrites = run->txn->nwrites;
    int wrote = 0;
    /* A write while the WAL cannot take writes (MISCONF), on a read-only
     * replica (READONLY) or without min-replicas-to-write good replicas
     * (NOREPLICAS), a command a stale replica refuses (MASTERDOWN): Redis's
     * errors, replied into the fake client like any command error. */
    /* A script of the master link or of the WAL's replay runs whatever it
     * holds (Redis's mustObeyClient). */
    int obey = run->caller && (run->caller->flags & (CLIENT_MASTER | CLIENT_LOADER));
    int refused = 1;
    if (!obey && repl_running_stale() && !(cmd->flags & CMD_STALE)) {
        addReplyError(f, "ERR Can not execute the command on a stale replica");
    } else if (!((cmd->flags & CMD_WRITE) && persist_reject(f, cmd)) &&
               (obey || !repl_reject(f, cmd))) {
        refused = 0;
        persist_exec_cmd_begin(f);
        dispatch_call(f, cmd);
        wrote = run->txn->nwrites != nwrites;
        persist_exec_cmd_end(f, wrote && (luavm_get(L)->repl & LUAVM_REPL_AOF));
    }
    if (refused) {
        worker *w = worker_current();
        if (w) __atomic_add_fetch(&w->cmdstats[cmd->id].rejected, 1, __ATOMIC_RELAXED);
    }
    if (wrote && !run->wrote) {
        run->wrote = 1;
        __atomic_store_n(&run_slots[tls.slot].wrote, 1, __ATOMIC_RELEASE);
    }
    f->argv = NULL;
    f->argc = 0;
    size_t len;
    const char *out = fake_output(f, &len);
    int is_err = len > 0 && out[0] == '-';
    size_t used = luaconv_push_reply(L, out, len);
    fake_reset(f);
    if (!used) return call_error(L, "Lightning: unreadable reply from a command", raise);
    if (raise && is_err) return lua_error(L);
    return 1;
}

int script_lua_call(lua_State *L) { return call_generic(L, 1); }
int script_lua_pcall(lua_State *L) { return call_generic(L, 0); }

/* redis.acl_check_cmd: whether the script's caller may run the command
 * with these arguments (keys and channels included), as Redis's
 * ACLCheckAllUserCommandPerm; the arity is not checked, unknown commands
 * are an error. */
int script_lua_acl_check(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc == 0) {
        luavm_push_error(L, "Please specify at least one argument for this redis lib call", 60);
        return lua_error(L);
    }
    resp_arg *argv = lt_xmalloc((size_t)argc * sizeof(*argv));
    if (lua_args_to_argv(L, argc, argv) < 0) {
        free(argv);
        const char *m = "Lua redis lib command arguments must be strings or integers";
        luavm_push_error(L, m, strlen(m));
        return lua_error(L);
    }
    const command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands && argc >= 2) cmd = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    if (!cmd) {
        free(argv);
        const char *m = "Invalid command passed to redis.acl_check_cmd()";
        luavm_push_error(L, m, strlen(m));
        return lua_error(L);
    }
    run_ctx *run = cur_run;
    acl_user *u = run && run->caller ? run->caller->user : NULL;
    int pos;
    lua_pushboolean(L, acl_check_user_command(u, cmd, argv, argc, &pos) == ACL_OK);
    free(argv);
    return 1;
}

/* Pushes the error handler and the function at fidx with its arguments
 * and calls it (count hook armed): a script gets KEYS and ARGV as globals
 * of its fresh environment, a function gets them as its two arguments.
 * Returns lua_pcall's status, with the result or error at the top above
 * the handler. */
static int call_function(lua_State *L, int fidx, int is_function, const char **kp,
                         const size_t *kl, int nkeys, int nargs) {
    luavm_push_handler(L);
    lua_pushvalue(L, fidx);
    int n = 0;
    if (is_function) {
        lua_createtable(L, nkeys, 0);
        for (int i = 0; i < nkeys; i++) {
            lua_pushlstring(L, kp[i], kl[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_createtable(L, nargs, 0);
        for (int i = 0; i < nargs; i++) {
            lua_pushlstring(L, kp[nkeys + i], kl[nkeys + i]);
            lua_rawseti(L, -2, i + 1);
        }
        n = 2;
    } else {
        luavm_push_env(L, -1, kp, kl, nkeys, kp + nkeys, kl + nkeys, nargs);
        lua_pop(L, 1);
    }
    lua_sethook(L, run_hook, LUA_MASKCOUNT, SCRIPT_HOOK_COUNT);
    int status = lua_pcall(L, n, 1, -(n + 2));
    lua_sethook(L, NULL, 0, 0);
    return status;
}

/* ---- One run ------------------------------------------------------------------------------- */

/* The error of a failed pcall, as Redis 7.0 words it. */
static void reply_run_error(client *c, lua_State *L, int status, const char *name) {
    if (status == LUA_ERRMEM) {
        addReplyErrorFormat(c,
                            "ERR Lua memory limit reached (%llu bytes) running script %s: "
                            "not enough memory",
                            (unsigned long long)SCRIPT_LUA_HEAP_MAX, name);
        return;
    }
    if (!lua_istable(L, -1)) {
        const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
        addReplyErrorFormat(c, "ERR Error running script %s, %.100s", name, msg);
        return;
    }
    lua_pushliteral(L, "err");
    lua_rawget(L, -2);
    size_t mlen = 0;
    const char *msg = lua_isstring(L, -1) ? lua_tolstring(L, -1, &mlen) : "";
    lua_pushliteral(L, "source");
    lua_rawget(L, -3);
    const char *source = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    lua_pushliteral(L, "line");
    lua_rawget(L, -4);
    const char *line = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
    lua_pushliteral(L, "ignore_error_stats_update");
    lua_rawget(L, -5);
    int no_stats = lua_toboolean(L, -1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, msg, mlen);
    if (source && line) {
        luaL_addstring(&b, " script: ");
        luaL_addstring(&b, name);
        luaL_addstring(&b, ", on ");
        luaL_addstring(&b, source);
        luaL_addstring(&b, ":");
        luaL_addstring(&b, line);
        luaL_addstring(&b, ".");
    }
    luaL_pushresult(&b);
    size_t len;
    const char *full = lua_tolstring(L, -1, &len);
    luaconv_reply_error_raw(c, full, len, no_stats);
    lua_pop(L, 5);
}

void script_run(client *c, lua_State *L, const char *name, int is_function, uint64_t flags,
                int ro, const resp_arg *keys, int nkeys, const resp_arg *args, int nargs,
                int *exclusive) {
    ASSERT(!cur_run);
    int fidx = lua_gettop(L);
    /* Arrays for luavm_push_env. */
    const char **kp = lt_xmalloc(sizeof(char *) * (size_t)(nkeys + nargs + 1));
    size_t *kl = lt_xmalloc(sizeof(size_t) * (size_t)(nkeys + nargs + 1));
    for (int i = 0; i < nkeys; i++) kp[i] = keys[i].ptr, kl[i] = keys[i].len;
    for (int i = 0; i < nargs; i++) kp[nkeys + i] = args[i].ptr, kl[nkeys + i] = args[i].len;

    run_ctx run;
    memset(&run, 0, sizeof(run));
    run.caller = c;
    run.L = L;
    run.ro = ro || (flags & SCRIPT_FLAG_NO_WRITES);
    /* The memory limit was not met when the script's command started: its
     * first write may not be a deny-oom command, unless allow-oom (a
     * master's or the WAL's script runs whatever it holds). */
    run.oom = !(flags & SCRIPT_FLAG_ALLOW_OOM) && !(c->flags & (CLIENT_MASTER | CLIENT_LOADER)) &&
              evict_oom_before_command();
    run.is_function = is_function;
    run.name = name;
    run.start_ms = mstime();
    int all = exclusive && __atomic_load_n(exclusive, __ATOMIC_RELAXED);
    if (!exclusive) all = 1;
    tls.slot = thread_slot();
    __atomic_store_n(&run_slots[tls.slot].is_function, is_function, __ATOMIC_RELAXED);
    __atomic_store_n(&run_slots[tls.slot].wrote, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&run_slots[tls.slot].kill, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&run_slots[tls.slot].running, 1, __ATOMIC_RELEASE);
    if (is_function) slot_publish_function(tls.slot, name, c, run.start_ms);

    ks_txn *exec_txn = ks_txn_nest_outer();
    if (exec_txn) {
        /* Queued in MULTI: EXEC holds every database for it (script_keyset_all)
         * and collects its WAL record; the script's commands join it. */
        run.txn = exec_txn;
        run.all = 1;
        run.fake = thread_fake(c);
        cur_run = &run;
        persist_exec_handoff(c, run.fake);
        luavm_reset_run(L);
        int status = call_function(L, fidx, is_function, kp, kl, nkeys, nargs);
        persist_exec_handoff(run.fake, c);
        persist_exec_cmd_done(c);
        cur_run = NULL;
        if (status == 0) {
            lua_remove(L, fidx); /* Redis's stack: handler, result */
            luaconv_reply(c, L, luavm_get(L)->resp);
        } else {
            reply_run_error(c, L, status, name);
            lua_pop(L, 1);
            if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
        }
        lua_settop(L, fidx);
        all = -1; /* done */
    }
    for (int attempt = 0; all >= 0; attempt++) {
        ASSERT(attempt < 2);
        cmd_keyset ks;
        keyset_init(&ks);
        if (all) gate_enter();
        if (all) keyset_add_all(&ks);
        else
            for (int i = 0; i < nkeys; i++)
                keyset_add_key(&ks, (unsigned)c->db, keys[i].ptr, keys[i].len);
        ks_txn txn;
        keyset_begin(&ks, &txn);
        keyset_free(&ks);
        ks_txn_nest_enter(&txn);
        persist_exec_begin(c);
        run.txn = &txn;
        run.all = all;
        run.abort = 0;
        run.fake = thread_fake(c);
        cur_run = &run;
        persist_exec_handoff(c, run.fake);

        luavm_reset_run(L);
        int status = call_function(L, fidx, is_function, kp, kl, nkeys, nargs);
        persist_exec_handoff(run.fake, c);
        cur_run = NULL;

        if (run.abort && !run.killed) {
            /* Touched what it does not hold: put back what it wrote, drop
             * its record, and run it again holding everything. */
            lua_settop(L, fidx);
            undo_restore(&run);
            undo_free(&run);
            persist_exec_discard(c);
            ks_txn_nest_leave(&txn);
            ks_txn_commit(&txn);
            persist_exec_discard(c);
            persist_exec_end(c);
            if (exclusive) __atomic_store_n(exclusive, 1, __ATOMIC_RELAXED);
            if (all) gate_leave();
            monitor_script_end(0); /* the re-run shows its commands */
            all = 1;
            run.wrote = 0;
            __atomic_store_n(&run_slots[tls.slot].wrote, 0, __ATOMIC_RELAXED);
            continue;
        }
        monitor_script_end(1);
        int script_resp = luavm_get(L)->resp;
        if (status == 0) {
            lua_remove(L, fidx); /* Redis's stack: handler, result */
            luaconv_reply(c, L, script_resp);
        } else {
            reply_run_error(c, L, status, name);
            lua_pop(L, 1);
            if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
        }
        lua_settop(L, fidx);
        undo_free(&run);
        if (run.killed && __atomic_load_n(&server.shutdown_requested, __ATOMIC_ACQUIRE))
            persist_exec_discard(c); /* SHUTDOWN NOSAVE: half a script is never logged */
        ks_txn_nest_leave(&txn);
        ks_txn_commit(&txn);
        persist_exec_end(c);
        if (all) gate_leave();
        break;
    }
    if (run.busy) {
        if (is_function) __atomic_sub_fetch(&busy_fn_count, 1, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&busy_count, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&run_slots[tls.slot].running, 0, __ATOMIC_RELEASE);
    if (is_function) slot_clear_function(tls.slot);
    lua_settop(L, fidx - 1);
    free(kp);
    free(kl);
    /* Garbage: like Redis, an explicit collection step of 50 every 50
     * scripts (Lua's own incremental collector runs too; the allocator
     * limit bounds the heap). */
    static __thread int gc_count;
    if (++gc_count >= 50) {
        lua_gc(L, LUA_GCSTEP, 50);
        gc_count = 0;
    }
    publish_vm_bytes(is_function ? 1 : 0);
}

/* ---- EVAL ------------------------------------------------------------------------------------ */

/* Compiles body as f_<sha> into L's registry (skipping a shebang line but
 * not its newline, so line numbers stay the user's). 0, or -1 with the
 * error replied. */
static int compile_into(client *c, lua_State *L, const char *sha, const char *body, size_t len,
                        size_t shebang_len) {
    char fname[48];
    snprintf(fname, sizeof(fname), "f_%s", sha);
    if (luaL_loadbuffer(L, body + shebang_len, len - shebang_len, "@user_script")) {
        if (c)
            addReplyErrorFormat(c, "ERR Error compiling script (new function): %s",
                                lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, fname);
    return 0;
}

/* Makes sure sha's body is cached and compiled in this thread's
 * interpreter; pushes the function. body NULL: EVALSHA (NOSCRIPT if
 * unknown). Returns 0, or -1 with the error replied. *flags: its shebang
 * flags. */
static int load_script(client *c, lua_State *L, const char *sha, const char *body, size_t len,
                       uint64_t *flags, int *exclusive) {
    char fname[48];
    snprintf(fname, sizeof(fname), "f_%s", sha);
    pthread_mutex_lock(&cache.lock);
    script_entry *e = cache_find(sha);
    if (e) *flags = e->flags;
    *exclusive = e ? e->exclusive : 0;
    pthread_mutex_unlock(&cache.lock);
    lua_getfield(L, LUA_REGISTRYINDEX, fname);
    if (!lua_isnil(L, -1) && e) return 0;
    lua_pop(L, 1);
    if (!e && !body) {
        addReplyError(c, "NOSCRIPT No matching script. Please use EVAL.");
        return -1;
    }
    char err[256];
    size_t shebang_len;
    if (e) {
        /* Cached by another thread: compile its copy here. */
        pthread_mutex_lock(&cache.lock);
        e = cache_find(sha);
        if (e) lua_pushlstring(L, e->body, e->len);
        pthread_mutex_unlock(&cache.lock);
        if (!e) {
            if (!body) {
                addReplyError(c, "NOSCRIPT No matching script. Please use EVAL.");
                return -1;
            }
        } else {
            size_t blen;
            const char *b = lua_tolstring(L, -1, &blen);
            uint64_t f;
            script_parse_shebang(b, blen, &f, &shebang_len, err, sizeof(err));
            int rc = compile_into(c, L, sha, b, blen, shebang_len);
            lua_pop(L, 1);
            if (rc < 0) return -1;
            lua_getfield(L, LUA_REGISTRYINDEX, fname);
            return 0;
        }
    }
    if (script_parse_shebang(body, len, flags, &shebang_len, err, sizeof(err)) < 0) {
        addReplyErrorFormat(c, "ERR %s", err);
        return -1;
    }
    if (compile_into(c, L, sha, body, len, shebang_len) < 0) return -1;
    pthread_mutex_lock(&cache.lock);
    cache_add(sha, body, len, *flags);
    pthread_mutex_unlock(&cache.lock);
    lua_getfield(L, LUA_REGISTRYINDEX, fname);
    return 0;
}

/* EVAL/EVALSHA's numkeys: 0 and *n, or -1 with the error replied. */
static int parse_numkeys(client *c, long long *n) {
    if (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, n)) {
        addReplyErrorNotInteger(c);
        return -1;
    }
    if (*n > c->argc - 3) {
        addReplyError(c, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    if (*n < 0) {
        addReplyError(c, "ERR Number of keys can't be negative");
        return -1;
    }
    return 0;
}

uint64_t script_command_flags(const command *cmd, const resp_arg *argv, int argc) {
    if (!(cmd->flags & CMD_NO_MANDATORY_KEYS)) return cmd->flags; /* not a script's */
    uint64_t sf = script_declared_flags(cmd, argv, argc);
    if (sf & SCRIPT_FLAG_EVAL_COMPAT) return cmd->flags;
    uint64_t f = cmd->flags & ~(uint64_t)(CMD_STALE | CMD_DENYOOM | CMD_WRITE | CMD_MAY_REPLICATE);
    if (!(sf & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))) f |= CMD_DENYOOM;
    if (!(sf & SCRIPT_FLAG_NO_WRITES)) f |= CMD_WRITE;
    if (sf & SCRIPT_FLAG_ALLOW_STALE) f |= CMD_STALE;
    return f;
}

uint64_t script_declared_flags(const command *cmd, const resp_arg *argv, int argc) {
    uint64_t flags = SCRIPT_FLAG_EVAL_COMPAT;
    if (argc < 2) return flags;
    const resp_arg *a = &argv[1];
    if (!strcmp(cmd->name, "eval") || !strcmp(cmd->name, "eval_ro")) {
        size_t shebang_len;
        char err[128];
        if (script_parse_shebang(a->ptr, a->len, &flags, &shebang_len, err, sizeof(err)) < 0)
            flags = SCRIPT_FLAG_EVAL_COMPAT;
    } else if (!strcmp(cmd->name, "evalsha") || !strcmp(cmd->name, "evalsha_ro")) {
        if (a->len != 40) return flags;
        char sha[LT_SHA1_HEX_SIZE];
        sha_of_arg(a, sha);
        pthread_mutex_lock(&cache.lock);
        script_entry *e = cache_find(sha);
        if (e) flags = e->flags;
        pthread_mutex_unlock(&cache.lock);
    } else if (!strcmp(cmd->name, "fcall") || !strcmp(cmd->name, "fcall_ro")) {
        flags = function_declared_flags(a->ptr, a->len);
    }
    return flags;
}

int script_check_flags(client *c, uint64_t flags, int ro) {
    if (flags & SCRIPT_FLAG_EVAL_COMPAT) {
        /* EVAL without a shebang runs on a stale replica only to fail. */
        if (repl_running_stale() && !(c->flags & CLIENT_MASTER)) {
            addReplyError(c, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is "
                             "set to 'no'.");
            return -1;
        }
        return 0;
    }
    if (!(flags & (SCRIPT_FLAG_NO_WRITES | SCRIPT_FLAG_ALLOW_OOM)) &&
        !(c->flags & (CLIENT_MASTER | CLIENT_LOADER)) && evict_oom_before_command()) {
        addReplyError(c, "OOM allow-oom flag is not set on the script, can not run it when used "
                         "memory > 'maxmemory'");
        return -1;
    }
    if (!(flags & SCRIPT_FLAG_NO_WRITES)) {
        if (persist_reject_writes(c)) return -1;
        if (ro) {
            addReplyError(c, "ERR Can not execute a script with write flag using *_ro command.");
            return -1;
        }
    }
    return 0;
}

static void evalGeneric(client *c, int evalsha, int ro) {
    if (monitor_active()) monitor_feed_always(c, c->lastcmd, c->argv, c->argc);
    /* Redis answers a sha of the wrong length before it reads numkeys. */
    if (evalsha && c->argv[1].len != 40) {
        addReplyError(c, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    long long numkeys;
    if (parse_numkeys(c, &numkeys) < 0) return;
    lua_State *L = script_thread_vm(0);
    if (!L) {
        addReplyError(c, "ERR out of memory creating the Lua interpreter");
        return;
    }
    char sha[LT_SHA1_HEX_SIZE];
    const resp_arg *a1 = &c->argv[1];
    if (evalsha) {
        if (a1->len != 40) {
            addReplyError(c, "NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        sha_of_arg(a1, sha);
    } else {
        lt_sha1_hex(a1->ptr, a1->len, sha);
    }
    uint64_t flags = SCRIPT_FLAG_EVAL_COMPAT;
    int exclusive = 0;
    if (load_script(c, L, sha, evalsha ? NULL : a1->ptr, a1->len, &flags, &exclusive) < 0) return;
    if (script_check_flags(c, flags, ro) < 0) {
        lua_pop(L, 1);
        return;
    }
    /* The exclusive bit lives in the cache entry; the run works on a copy
     * and stores what it learned back. */
    int learned = exclusive;
    script_run(c, L, sha, 0, flags, ro, c->argv + 3, (int)numkeys, c->argv + 3 + numkeys,
               c->argc - 3 - (int)numkeys, &learned);
    if (learned != exclusive) {
        pthread_mutex_lock(&cache.lock);
        script_entry *e = cache_find(sha);
        if (e) e->exclusive = learned;
        pthread_mutex_unlock(&cache.lock);
    }
}

static void evalCommand(client *c) { evalGeneric(c, 0, 0); }
static void evalshaCommand(client *c) { evalGeneric(c, 1, 0); }
static void evalRoCommand(client *c) { evalGeneric(c, 0, 1); }
static void evalshaRoCommand(client *c) { evalGeneric(c, 1, 1); }

/* ---- SCRIPT ---------------------------------------------------------------------------------- */

static void scriptLoadCommand(client *c) {
    lua_State *L = script_thread_vm(0);
    if (!L) {
        addReplyError(c, "ERR out of memory creating the Lua interpreter");
        return;
    }
    char sha[LT_SHA1_HEX_SIZE];
    lt_sha1_hex(c->argv[2].ptr, c->argv[2].len, sha);
    uint64_t flags;
    int exclusive;
    if (load_script(c, L, sha, c->argv[2].ptr, c->argv[2].len, &flags, &exclusive) < 0) return;
    lua_pop(L, 1);
    addReplyBulk(c, sha, 40);
}

static void scriptExistsCommand(client *c) {
    addReplyArrayLen(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        int found = 0;
        if (c->argv[i].len == 40) {
            char sha[LT_SHA1_HEX_SIZE];
            sha_of_arg(&c->argv[i], sha);
            pthread_mutex_lock(&cache.lock);
            found = cache_find(sha) != NULL;
            pthread_mutex_unlock(&cache.lock);
        }
        addReplyLongLong(c, found);
    }
}

static void scriptFlushCommand(client *c) {
    if (c->argc > 3) {
        addReplyError(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    if (c->argc == 3) {
        const resp_arg *a = &c->argv[2];
        if (!((a->len == 4 && strncasecmp(a->ptr, "sync", 4) == 0) ||
              (a->len == 5 && strncasecmp(a->ptr, "async", 5) == 0))) {
            addReplyError(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
    }
    /* Both modes free the cache now (it is small next to a keyspace);
     * every thread drops its interpreter at its next script. */
    cache_flush();
    script_thread_vm_reset(0);
    addReplyOK(c);
}

static void scriptKillCommand(client *c) { script_kill(c, 0); }

static void scriptDebugCommand(client *c) {
    const resp_arg *a = &c->argv[2];
    if (a->len == 2 && strncasecmp(a->ptr, "no", 2) == 0) {
        addReplyOK(c); /* debugging is off: it always is */
    } else if ((a->len == 3 && strncasecmp(a->ptr, "yes", 3) == 0) ||
               (a->len == 4 && strncasecmp(a->ptr, "sync", 4) == 0)) {
        addReplyError(c, "ERR Lightning has no Lua debugger (SCRIPT DEBUG YES|SYNC)");
    } else {
        addReplyError(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

static void scriptHelpCommand(client *c) {
    static const char *help[] = {
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        NULL,
    };
    addReplyHelp(c, help);
}

/* EVAL's and FCALL's keys: argv[3 .. 3+numkeys) (none when numkeys is
 * invalid: the handler replies its error without touching the keyspace). */
int script_getkeys_numkeys(const resp_arg *argv, int argc, int *keys, int max) {
    long long n;
    if (argc < 3 || !lt_string2ll(argv[2].ptr, argv[2].len, &n) || n < 0 || n > argc - 3)
        return 0;
    int k = 0;
    for (long long i = 0; i < n && k < max; i++) keys[k++] = 3 + (int)i;
    return k;
}

/* What EXEC must lock for a queued script or function: everything (it may
 * touch keys it does not declare, and inside EXEC it cannot re-run). */
int script_keyset_all(struct cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    (void)argv;
    (void)argc;
    keyset_add_all(ks);
    return db;
}

#define EVAL_FLAGS \
    (CMD_NOSCRIPT | CMD_STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)

static command script_subcommands[] = {
    {.name = "help", .proc = scriptHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "5.0.0",
     .complexity = "O(1)", .summary = "Lists the SCRIPT subcommands."},
    {.name = "exists", .proc = scriptExistsCommand, .arity = -3, .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "2.6.0",
     .complexity = "O(N) with N being the number of scripts to check (so checking a single "
                   "script is an O(1) operation).",
     .tips = "request_policy:all_shards response_policy:agg_logical_and",
     .summary = "Tells which scripts are in the script cache."},
    {.name = "debug", .proc = scriptDebugCommand, .arity = 3, .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "3.2.0",
     .complexity = "O(1)", .summary = "Sets the debug mode of scripts (only NO: no debugger)."},
    {.name = "flush", .proc = scriptFlushCommand, .arity = -2, .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "2.6.0",
     .complexity = "O(N) with N being the number of scripts in cache",
     .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Empties the script cache."},
    {.name = "kill", .proc = scriptKillCommand, .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY, .acl = ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "2.6.0", .complexity = "O(1)",
     .tips = "request_policy:all_shards response_policy:one_succeeded",
     .summary = "Stops a busy script that has not written."},
    {.name = "load", .proc = scriptLoadCommand, .arity = 3, .flags = CMD_NOSCRIPT | CMD_STALE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "2.6.0",
     .complexity = "O(N) with N being the length in bytes of the script body.",
     .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Compiles a script into the script cache without running it."},
    {0},
};

command script_commands[] = {
    {.name = "eval", .proc = evalCommand, .arity = -3, .flags = EVAL_FLAGS | CMD_MAY_REPLICATE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all,
     .key_flags = "RW access update", .group = "scripting", .since = "2.6.0",
     .complexity = "Depends on the script that is executed.",
     .summary = "Runs a Lua script atomically."},
    {.name = "evalsha", .proc = evalshaCommand, .arity = -3, .flags = EVAL_FLAGS | CMD_MAY_REPLICATE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all,
     .key_flags = "RW access update", .group = "scripting", .since = "2.6.0",
     .complexity = "Depends on the script that is executed.",
     .summary = "Runs a cached Lua script by its SHA1."},
    {.name = "eval_ro", .proc = evalRoCommand, .arity = -3, .flags = CMD_READONLY | EVAL_FLAGS,
     .acl = ACL_SLOW | ACL_SCRIPTING, .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all,
     .key_flags = "RO access", .group = "scripting", .since = "7.0.0",
     .complexity = "Depends on the script that is executed.",
     .summary = "Runs a read-only Lua script."},
    {.name = "evalsha_ro", .proc = evalshaRoCommand, .arity = -3,
     .flags = CMD_READONLY | EVAL_FLAGS, .acl = ACL_SLOW | ACL_SCRIPTING,
     .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all, .key_flags = "RO access",
     .group = "scripting", .since = "7.0.0",
     .complexity = "Depends on the script that is executed.",
     .summary = "Runs a cached read-only Lua script by its SHA1."},
    {.name = "script", .arity = -2, .flags = 0, .acl = ACL_SLOW, .group = "scripting",
     .since = "2.6.0", .complexity = "Depends on subcommand.",
     .subcommands = script_subcommands, .summary = "Manages the script cache."},
    {0},
};
