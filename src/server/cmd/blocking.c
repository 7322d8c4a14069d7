/*
 * blocking: see blocking.h for the model, fairness and locking.
 *
 * Structures (all under B.lock unless noted):
 *  - bkey: one (db, key) somebody waits on, in a chained hash table; its
 *    FIFO of bwait links (one per blocked client on it), the client holding
 *    its baton (NULL if none) and `again` (a write came while the holder
 *    was re-running: hand it once more).
 *  - bstate (client.bstate): one blocked client — its argv copy, deadline,
 *    one bwait per distinct key, its place on its worker's ready list
 *    (queued/rnext) and a CLIENT UNBLOCK request. heap_idx and the re-run
 *    fields belong to the owner thread.
 *  - bworker: per worker, the ready list (FIFO, B.lock) and the timeout
 *    min-heap ordered by deadline (owner only).
 *  - pending (thread-local): keys installed by the running command, noted
 *    by the engine hook under the shard lock, handed out after commit.
 *
 * Invariants: a bstate is linked into the FIFO of every key it waits on
 * from blocking_block() until finish(); a key's baton holder is one of its
 * waiters; a bkey with an empty FIFO is freed at once.
 */
#include "server/cmd/blocking.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "engine/keyspace.h"
#include "cluster/cluster.h"
#include "server/cmd/commands.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"
#include "server/slowlog.h"
#include "server/net/worker.h"

/* Clients re-run per worker per call before the rest waits for the next
 * loop turn (a chain of BLMOVEs keeps handing work to the same worker). */
#define BLOCKING_RERUNS_PER_TURN 1024
/* Redis's MAX_LONG_DOUBLE_CHARS: longer timeouts are not a float. */
#define BLOCKING_TIMEOUT_MAX_CHARS (5 * 1024)

typedef struct bstate bstate;
typedef struct bkey bkey;

typedef struct bwait {
    bkey *key;
    bstate *bs;
    struct bwait *prev, *next; /* key's FIFO */
} bwait;

struct bkey {
    bkey *hnext;
    uint64_t hash;
    unsigned db;
    bwait *head, *tail;
    bstate *holder;
    int again;
    size_t klen;
    char key[];
};

struct bstate {
    client *c;
    const command *cmd;
    int argc;
    resp_arg *argv;       /* one allocation with the argument bytes */
    int64_t deadline_ms;  /* 0: forever */
    size_t heap_idx;      /* owner; SIZE_MAX when not in the heap */
    int queued;           /* on the worker's ready list */
    int unblock;          /* CLIENT UNBLOCK: 0 none, 1 timeout, 2 error; 3 cluster
                           * routing changed: check (blocking_recheck_routes) */
    bstate *rnext;
    int rerun, reblocked; /* owner: re-running; the re-run blocked again */
    int broadcast;        /* a re-run that finds nothing passes the key on */
    int nwaits;
    int64_t duration_us;  /* owner: time spent running it (first run, re-runs) */
    bwait waits[];
};

typedef struct bworker {
    bstate *ready_head, *ready_tail; /* B.lock */
    bstate **heap;                   /* owner */
    size_t heap_len, heap_cap;
} bworker;

static struct {
    pthread_mutex_t lock;
    bkey **buckets;
    size_t nbuckets, nkeys;
    uint64_t nkeys_atomic;  /* mirror of nkeys for the lock-free pre-check */
    uint64_t nblocked;      /* atomic */
    uint64_t ntimeout;      /* atomic: of them, in a timeout heap */
    uint8_t seed[16];
    bworker *workers;       /* server.nworkers */
} B = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- Registry (B.lock held) -------------------------------------------------- */

static uint64_t key_hash(unsigned db, const char *key, size_t klen) {
    return lt_siphash13(key, klen, B.seed) ^ ((uint64_t)db * 0x9e3779b97f4a7c15ull);
}

static bkey *key_find(unsigned db, const char *key, size_t klen, uint64_t h) {
    if (!B.nbuckets) return NULL;
    for (bkey *k = B.buckets[h & (B.nbuckets - 1)]; k; k = k->hnext)
        if (k->hash == h && k->db == db && k->klen == klen && memcmp(k->key, key, klen) == 0)
            return k;
    return NULL;
}

static void table_grow(void) {
    size_t n = B.nbuckets ? B.nbuckets * 2 : 64;
    bkey **nb = calloc(n, sizeof(*nb));
    if (!nb) {
        if (!B.buckets) abort();
        return; /* keep the smaller table: chains get longer */
    }
    for (size_t i = 0; i < B.nbuckets; i++) {
        bkey *k = B.buckets[i];
        while (k) {
            bkey *next = k->hnext;
            k->hnext = nb[k->hash & (n - 1)];
            nb[k->hash & (n - 1)] = k;
            k = next;
        }
    }
    free(B.buckets);
    B.buckets = nb;
    B.nbuckets = n;
}

static bkey *key_get(unsigned db, const char *key, size_t klen) {
    uint64_t h = key_hash(db, key, klen);
    bkey *k = key_find(db, key, klen, h);
    if (k) return k;
    if (B.nkeys >= B.nbuckets) table_grow();
    k = calloc(1, sizeof(*k) + klen);
    if (!k) abort();
    k->hash = h;
    k->db = db;
    k->klen = klen;
    memcpy(k->key, key, klen);
    k->hnext = B.buckets[h & (B.nbuckets - 1)];
    B.buckets[h & (B.nbuckets - 1)] = k;
    B.nkeys++;
    __atomic_store_n(&B.nkeys_atomic, B.nkeys, __ATOMIC_RELEASE);
    return k;
}

static void key_free(bkey *k) {
    bkey **pp = &B.buckets[k->hash & (B.nbuckets - 1)];
    while (*pp != k) pp = &(*pp)->hnext;
    *pp = k->hnext;
    B.nkeys--;
    __atomic_store_n(&B.nkeys_atomic, B.nkeys, __ATOMIC_RELEASE);
    free(k);
}

/* Puts bs on its worker's ready list; returns the worker to wake (NULL when
 * already queued or when it is the calling thread's, which processes its
 * list before it waits). */
static worker *ready_push(bstate *bs) {
    if (bs->queued) return NULL;
    worker *w = bs->c->owner;
    bworker *bw = &B.workers[w->id];
    bs->queued = 1;
    bs->rnext = NULL;
    if (bw->ready_tail) bw->ready_tail->rnext = bs;
    else bw->ready_head = bs;
    bw->ready_tail = bs;
    return w == worker_current() ? NULL : w;
}

static void ready_remove(bstate *bs) {
    if (!bs->queued) return;
    bworker *bw = &B.workers[bs->c->owner->id];
    bstate *prev = NULL;
    for (bstate *p = bw->ready_head; p; prev = p, p = p->rnext) {
        if (p != bs) continue;
        if (prev) prev->rnext = p->rnext;
        else bw->ready_head = p->rnext;
        if (bw->ready_tail == p) bw->ready_tail = prev;
        break;
    }
    bs->queued = 0;
    bs->rnext = NULL;
}

/* Workers to wake once B.lock is released (each at most once). */
typedef struct wake_set {
    worker *w[64];
    int n;
    int all; /* more distinct workers than fit: wake every one */
} wake_set;

static void wake_add(wake_set *ws, worker *w) {
    if (!w || ws->all) return;
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i] == w) return;
    if (ws->n == (int)(sizeof(ws->w) / sizeof(ws->w[0]))) ws->all = 1;
    else ws->w[ws->n++] = w;
}

static void wake_run(const wake_set *ws) {
    if (ws->all) {
        worker_notify_all();
        return;
    }
    for (int i = 0; i < ws->n; i++) ev_loop_wakeup(ws->w[i]->loop);
}

/* The key may have data: its first waiter re-runs, unless a holder is
 * re-running already (then it re-runs once more when it is done). */
static void key_signal(bkey *k, wake_set *ws) {
    if (k->holder) {
        k->again = 1;
        return;
    }
    if (!k->head) return;
    k->holder = k->head->bs;
    k->again = 0;
    wake_add(ws, ready_push(k->holder));
}

/* bs's re-run found nothing: it gives back the batons it holds, and only a
 * write that came during the re-run hands a key again. */
static void batons_release(bstate *bs, wake_set *ws) {
    for (int i = 0; i < bs->nwaits; i++) {
        bkey *k = bs->waits[i].key;
        if (k->holder != bs) continue;
        int again = k->again;
        k->holder = NULL;
        k->again = 0;
        if (again) {
            key_signal(k, ws);
        } else if (bs->broadcast && bs->waits[i].next) {
            /* Stream readers: the data may be for the next in line. */
            k->holder = bs->waits[i].next->bs;
            wake_add(ws, ready_push(k->holder));
        }
    }
}

/* ---- Timeout heap (owner thread) --------------------------------------------------- */

static int heap_less(const bstate *a, const bstate *b) { return a->deadline_ms < b->deadline_ms; }

static void heap_set(bworker *bw, size_t i, bstate *bs) {
    bw->heap[i] = bs;
    bs->heap_idx = i;
}

static void heap_sift(bworker *bw, size_t i) {
    bstate *bs = bw->heap[i];
    while (i > 0 && heap_less(bs, bw->heap[(i - 1) / 2])) {
        heap_set(bw, i, bw->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const bstate *best = bs;
        if (l < bw->heap_len && heap_less(bw->heap[l], best)) {
            m = l;
            best = bw->heap[l];
        }
        if (l + 1 < bw->heap_len && heap_less(bw->heap[l + 1], best)) m = l + 1;
        if (m == i) break;
        heap_set(bw, i, bw->heap[m]);
        i = m;
    }
    heap_set(bw, i, bs);
}

static void heap_add(bworker *bw, bstate *bs) {
    if (bw->heap_len == bw->heap_cap) {
        size_t cap = bw->heap_cap ? bw->heap_cap * 2 : 64;
        bstate **h = realloc(bw->heap, cap * sizeof(*h));
        if (!h) abort();
        bw->heap = h;
        bw->heap_cap = cap;
    }
    heap_set(bw, bw->heap_len++, bs);
    heap_sift(bw, bs->heap_idx);
    __atomic_add_fetch(&B.ntimeout, 1, __ATOMIC_RELAXED);
}

static void heap_remove(bworker *bw, bstate *bs) {
    size_t i = bs->heap_idx;
    if (i == SIZE_MAX) return;
    bs->heap_idx = SIZE_MAX;
    __atomic_sub_fetch(&B.ntimeout, 1, __ATOMIC_RELAXED);
    bstate *last = bw->heap[--bw->heap_len];
    if (last == bs) return;
    heap_set(bw, i, last);
    heap_sift(bw, i);
}

/* ---- Engine hook and the pending list (thread-local) ----------------------- */

typedef struct pending_key {
    unsigned db;
    int whole_db;  /* SWAPDB: every waited key of db */
    size_t off, klen;
} pending_key;

typedef struct pending_list {
    pending_key *v;
    size_t n, cap;
    char *bytes;
    size_t blen, bcap;
    int registered; /* freed at thread exit (pending_thread_key) */
} pending_list;

static __thread pending_list pending;
static pthread_key_t pending_thread_key;
static pthread_once_t pending_key_once = PTHREAD_ONCE_INIT;

static void pending_free(void *p) {
    pending_list *pl = p;
    free(pl->v);
    free(pl->bytes);
    *pl = (pending_list){0};
}

static void pending_key_make(void) { pthread_key_create(&pending_thread_key, pending_free); }

static void pending_add(unsigned db, const char *key, size_t klen) {
    if (!pending.registered) {
        pthread_once(&pending_key_once, pending_key_make);
        pthread_setspecific(pending_thread_key, &pending);
        pending.registered = 1;
    }
    if (pending.n == pending.cap) {
        size_t cap = pending.cap ? pending.cap * 2 : 16;
        pending_key *v = realloc(pending.v, cap * sizeof(*v));
        if (!v) abort();
        pending.v = v;
        pending.cap = cap;
    }
    if (pending.blen + klen > pending.bcap) {
        size_t cap = pending.bcap ? pending.bcap : 256;
        while (cap < pending.blen + klen) cap *= 2;
        char *b = realloc(pending.bytes, cap);
        if (!b) abort();
        pending.bytes = b;
        pending.bcap = cap;
    }
    if (klen) memcpy(pending.bytes + pending.blen, key, klen);
    pending.v[pending.n++] = (pending_key){db, key == NULL, pending.blen, klen};
    pending.blen += klen;
}

/* Engine install hook (shard lock held): notes keys somebody waits on. */
static void on_installed(void *ctx, unsigned dbid, const char *key, size_t klen, int type) {
    (void)ctx;
    if (key && type != KS_TYPE_LIST && type != KS_TYPE_ZSET && type != KS_TYPE_STREAM &&
        type != KS_HOOK_STREAM_GONE)
        return;
    if (!__atomic_load_n(&B.nkeys_atomic, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&B.lock);
    int wanted = !key || key_find(dbid, key, klen, key_hash(dbid, key, klen)) != NULL;
    pthread_mutex_unlock(&B.lock);
    if (wanted) pending_add(dbid, key, klen);
}

void blocking_signal_key(unsigned db, const char *key, size_t klen) {
    on_installed(NULL, db, key, klen, KS_TYPE_STREAM);
}

void blocking_signal_flush(void) {
    if (!pending.n) return;
    wake_set ws = {.n = 0};
    pthread_mutex_lock(&B.lock);
    for (size_t i = 0; i < pending.n; i++) {
        const pending_key *p = &pending.v[i];
        if (p->whole_db) {
            for (size_t b = 0; b < B.nbuckets; b++)
                for (bkey *k = B.buckets[b]; k; k = k->hnext)
                    if (k->db == p->db) key_signal(k, &ws);
            continue;
        }
        const char *key = pending.bytes + p->off;
        bkey *k = key_find(p->db, key, p->klen, key_hash(p->db, key, p->klen));
        if (k) key_signal(k, &ws);
    }
    pthread_mutex_unlock(&B.lock);
    pending.n = 0;
    pending.blen = 0;
    if (pending.cap > 1024 || pending.bcap > (1u << 20)) {
        free(pending.v);
        free(pending.bytes);
        pending.v = NULL;
        pending.bytes = NULL;
        pending.cap = pending.bcap = 0;
    }
    wake_run(&ws);
}

/* ---- Life cycle ------------------------------------------------------------------ */

int blocking_init(void) {
    B.workers = calloc((size_t)server.nworkers, sizeof(*B.workers));
    if (!B.workers) return -1;
    lt_random_bytes(B.seed, sizeof(B.seed));
    ks_set_install_hook(server.db, on_installed, NULL);
    return 0;
}

void blocking_close(void) {
    ASSERT(B.nkeys == 0);
    for (int i = 0; B.workers && i < server.nworkers; i++) free(B.workers[i].heap);
    free(B.workers);
    free(B.buckets);
    B.workers = NULL;
    B.buckets = NULL;
    B.nbuckets = 0;
}

uint64_t blocking_clients(void) { return __atomic_load_n(&B.nblocked, __ATOMIC_RELAXED); }

uint64_t blocking_clients_with_timeout(void) {
    return __atomic_load_n(&B.ntimeout, __ATOMIC_RELAXED);
}

/* ---- Handlers ---------------------------------------------------------------------- */

int blocking_timeout_or_reply(client *c, const resp_arg *a, int64_t *deadline_ms) {
    char buf[BLOCKING_TIMEOUT_MAX_CHARS];
    long double v = 0;
    int ok = a->len > 0 && a->len < sizeof(buf);
    if (ok) {
        memcpy(buf, a->ptr, a->len);
        buf[a->len] = '\0';
        char *end;
        errno = 0;
        v = strtold(buf, &end);
        ok = !(buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) && *end == '\0' &&
             !(errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) && !isnan(v);
    }
    if (!ok) {
        addReplyError(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    /* Redis rounds up to whole ms (ceill: 0.001 is 1 ms, not 0 = forever,
     * whatever the binary value of 0.001 * 1000) and converts with a C
     * cast: what does not fit a long long (inf, huge values) comes out as
     * LLONG_MIN on its platforms. */
    long double ms = ceill(v * 1000.0L);
    long long tval = ms >= -9.2e18L && ms <= 9.2e18L ? (long long)ms : LLONG_MIN;
    if (tval < 0) {
        addReplyError(c, "ERR timeout is negative");
        return -1;
    }
    int64_t now = mstime();
    if (tval > 0 && tval > LLONG_MAX - now) {
        addReplyError(c, "ERR timeout is out of range");
        return -1;
    }
    *deadline_ms = tval > 0 ? now + tval : 0;
    return 0;
}

int blocking_allowed(const client *c) {
    return !(c->flags & CLIENT_IN_EXEC) && worker_current() != NULL && c->owner == worker_current();
}

int blocking_rerun(const client *c) { return c->bstate && c->bstate->rerun; }

static void block_generic(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms,
                          int broadcast) {
    if (c->bstate) {
        ASSERT(c->bstate->rerun);
        c->bstate->reblocked = 1;
        return;
    }
    ASSERT(blocking_allowed(c) && nkeys > 0);
    ASSERT(!(c->flags & (CLIENT_BLOCKED | CLIENT_MULTI | CLIENT_CLOSED)));
    size_t bytes = 0;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    bstate *bs = calloc(1, sizeof(*bs) + (size_t)nkeys * sizeof(bwait));
    resp_arg *argv = malloc(sizeof(*argv) * (size_t)c->argc + bytes);
    if (!bs || !argv) abort();
    char *p = (char *)(argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        argv[i].ptr = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    bs->c = c;
    bs->cmd = c->cmd;
    bs->argc = c->argc;
    bs->argv = argv;
    bs->deadline_ms = deadline_ms;
    bs->heap_idx = SIZE_MAX;
    bs->broadcast = broadcast;

    pthread_mutex_lock(&B.lock);
    for (int i = 0; i < nkeys; i++) {
        bkey *k = key_get((unsigned)c->db, keys[i].ptr, keys[i].len);
        int dup = 0;
        for (int j = 0; j < bs->nwaits && !dup; j++) dup = bs->waits[j].key == k;
        if (dup) continue; /* BLPOP k k 0 waits once */
        bwait *wt = &bs->waits[bs->nwaits++];
        wt->key = k;
        wt->bs = bs;
        wt->next = NULL;
        wt->prev = k->tail;
        if (k->tail) k->tail->next = wt;
        else k->head = wt;
        k->tail = wt;
    }
    c->bstate = bs;
    pthread_mutex_unlock(&B.lock);

    if (deadline_ms) heap_add(&B.workers[c->owner->id], bs);
    c->flags |= CLIENT_BLOCKED;
    __atomic_add_fetch(&B.nblocked, 1, __ATOMIC_RELAXED);
}

void blocking_block(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms) {
    block_generic(c, keys, nkeys, deadline_ms, 0);
}

void blocking_block_broadcast(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms) {
    block_generic(c, keys, nkeys, deadline_ms, 1);
}

/* ---- Unblocking -------------------------------------------------------------------- */

/* Removes c's blocked state: its waits (passing on its batons), its ready
 * list entry and its deadline. Owner thread. */
static void finish(client *c) {
    bstate *bs = c->bstate;
    ASSERT(bs != NULL && bs->c == c && (c->flags & CLIENT_BLOCKED));
    wake_set ws = {.n = 0};
    pthread_mutex_lock(&B.lock);
    for (int i = 0; i < bs->nwaits; i++) {
        bwait *wt = &bs->waits[i];
        bkey *k = wt->key;
        if (wt->prev) wt->prev->next = wt->next;
        else k->head = wt->next;
        if (wt->next) wt->next->prev = wt->prev;
        else k->tail = wt->prev;
        if (!k->head) {
            key_free(k);
        } else if (k->holder == bs) {
            /* The key may still have data: the next in line looks. */
            k->holder = NULL;
            k->again = 0;
            key_signal(k, &ws);
        }
    }
    ready_remove(bs);
    c->bstate = NULL;
    pthread_mutex_unlock(&B.lock);
    /* At shutdown (clients freed after the loops are gone) nobody is woken. */
    if (c->owner->loop) wake_run(&ws);
    heap_remove(&B.workers[c->owner->id], bs);
    free(bs->argv);
    free(bs);
    c->flags &= ~CLIENT_BLOCKED;
    __atomic_store_n(&c->pub.argv_mem, 0, __ATOMIC_RELAXED); /* its argv is gone */
    __atomic_sub_fetch(&B.nblocked, 1, __ATOMIC_RELAXED);
}

void blocking_add_duration(client *c, int64_t us) {
    if (c->bstate) c->bstate->duration_us += us;
}

/* c was answered while blocked: its output goes out, its pipeline goes on.
 * The slow log gets the command now, with the time it ran (not the time
 * it waited), as Redis's updateStatsOnUnblock. */
static void finish_and_resume(client *c) {
    bstate *bs = c->bstate;
    long long slower = __atomic_load_n(&server.slowlog_log_slower_than, __ATOMIC_RELAXED);
    if (slower >= 0 && bs->duration_us >= slower)
        slowlog_push_if_needed(c, bs->cmd, bs->argv, bs->argc, bs->duration_us);
    finish(c);
    client_queue_write(c);
    client_publish(c);
    client_resume(c);
}

void blocking_client_closed(client *c) {
    if (c->bstate) finish(c);
}

int blocking_request_unblock(client *target, int error) {
    int was = 0;
    worker *w = NULL;
    pthread_mutex_lock(&B.lock);
    bstate *bs = target->bstate;
    if (bs) {
        was = 1;
        if (!bs->unblock) bs->unblock = error ? 2 : 1;
        w = ready_push(bs);
    }
    pthread_mutex_unlock(&B.lock);
    if (w) ev_loop_wakeup(w->loop);
    return was;
}

/* A blocked command that ends with an error (its re-run failed, CLIENT
 * UNBLOCK ... ERROR) counts as a failed call of it, as Redis's
 * updateStatsOnUnblock does; its call was counted when it blocked. */
static void count_failed(worker *w, const command *cmd) {
    __atomic_add_fetch(&w->cmdstats[cmd->id].failed, 1, __ATOMIC_RELAXED);
}

void blocking_recheck_routes(void) {
    if (!B.workers || !__atomic_load_n(&B.nblocked, __ATOMIC_RELAXED)) return;
    wake_set ws = {.n = 0};
    pthread_mutex_lock(&B.lock);
    for (size_t i = 0; i < B.nbuckets; i++)
        for (bkey *k = B.buckets[i]; k; k = k->hnext)
            for (bwait *wt = k->head; wt; wt = wt->next) {
                if (!wt->bs->unblock) wt->bs->unblock = 3;
                wake_add(&ws, ready_push(wt->bs));
            }
    pthread_mutex_unlock(&B.lock);
    wake_run(&ws);
}

static void rerun(worker *w, client *c);

/* Routing changed (unblock 3): a client whose keys are no longer served
 * here gets the redirection and is unblocked; the others re-run (the
 * entry may also have been queued for a ready key). */
static void recheck(worker *w, client *c) {
    bstate *bs = c->bstate;
    if (server.cluster_enabled && cluster_redirect_blocked(c, bs->cmd, bs->argc, bs->argv)) {
        finish_and_resume(c);
        return;
    }
    rerun(w, c);
}

/* Re-runs bs's command: served (or failed) unblocks, otherwise c stays. */
static void rerun(worker *w, client *c) {
    bstate *bs = c->bstate;
    c->argc = bs->argc;
    c->argv = bs->argv;
    c->cmd = bs->cmd;
    c->error_in_reply = 0;
    bs->rerun = 1;
    bs->reblocked = 0;
    int64_t start = ustime();
    persist_command_begin(c);
    bs->cmd->proc(c);
    persist_command_end(c);
    int64_t end = ustime();
    if (end > start) bs->duration_us += end - start;
    bs->rerun = 0;
    c->argc = 0;
    c->argv = NULL;
    blocking_signal_flush(); /* keys the re-run created (BLMOVE) */
    if (!bs->reblocked) {
        if (c->error_in_reply) count_failed(w, bs->cmd);
        finish_and_resume(c);
        return;
    }
    wake_set ws = {.n = 0};
    pthread_mutex_lock(&B.lock);
    batons_release(bs, &ws);
    pthread_mutex_unlock(&B.lock);
    wake_run(&ws);
}

void blocking_worker_process(worker *w) {
    if (!B.workers) return;
    bworker *bw = &B.workers[w->id];
    for (int n = 0; n < BLOCKING_RERUNS_PER_TURN; n++) {
        pthread_mutex_lock(&B.lock);
        bstate *bs = bw->ready_head;
        int unblock = 0;
        if (bs) {
            bw->ready_head = bs->rnext;
            if (!bw->ready_head) bw->ready_tail = NULL;
            bs->queued = 0;
            bs->rnext = NULL;
            unblock = bs->unblock;
            if (unblock == 3) bs->unblock = 0;
        }
        pthread_mutex_unlock(&B.lock);
        if (!bs) return;
        client *c = bs->c;
        if (unblock == 2) {
            count_failed(w, bs->cmd);
            addReplyError(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
            finish_and_resume(c);
        } else if (unblock == 1) {
            addReplyNullArray(c);
            finish_and_resume(c);
        } else if (unblock == 3) {
            recheck(w, c);
        } else {
            rerun(w, c);
        }
    }
    /* More than a turn's share: the rest runs after this turn's I/O. */
    ev_loop_wakeup(w->loop);
}

void blocking_worker_tick(worker *w) {
    if (!B.workers) return;
    bworker *bw = &B.workers[w->id];
    int64_t now = mstime();
    while (bw->heap_len && bw->heap[0]->deadline_ms <= now) {
        client *c = bw->heap[0]->c;
        addReplyNullArray(c);
        finish_and_resume(c);
    }
}
