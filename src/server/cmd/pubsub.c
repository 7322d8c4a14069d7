/*
 * pubsub: the registry, cross-thread delivery and the pub/sub commands (see
 * pubsub.h for the model, bounds and lock order).
 *
 * Structures:
 *  - ps_table: a chained hash table of ps_node by name. The registry has
 *    three (channels, patterns, shard channels) whose nodes carry the array
 *    of subscribers (ps_sub *); each subscriber has three more, its own
 *    sets of names (no subscriber arrays), for its counts and for leaving
 *    everything (UNSUBSCRIBE without arguments, RESET, close).
 *  - ps_sub: one subscribing client's state. `c`, `w` and the name sets are
 *    the owner thread's (the sets change only under the registry's write
 *    lock, so publishers holding the read lock may rely on the registry's
 *    arrays); `q`, `queued`, `dead`, `over` are under `mu`.
 *  - ps_worker: per I/O thread, the list of its subscribers with queued
 *    messages (ready list), under its own mutex.
 *
 * Lifetime of a ps_sub: created at the client's first subscription, kept
 * until the client closes. Closing removes it from the registry under the
 * write lock (after which no publisher can reach it), then marks it dead:
 * it is freed there unless it sits on its worker's ready list, in which case
 * that worker (the same thread) frees it when it takes it off the list.
 */
#include "server/acl.h"
#include "server/cmd/pubsub.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "cluster/cluster.h"
#include "common/util.h"
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"

/* ---- Limits ------------------------------------------------------------------ */

/* The pubsub class of client-output-buffer-limit (Redis's default 32mb
 * 8mb 60); 0 means no limit, as in Redis. */
void pubsub_output_limits(size_t *hard, size_t *soft, int *soft_seconds) {
    const client_obuf_limit *l = &server.client_obuf_limits[CLIENT_CLASS_PUBSUB];
    long long h = __atomic_load_n(&l->hard_bytes, __ATOMIC_RELAXED);
    long long s = __atomic_load_n(&l->soft_bytes, __ATOMIC_RELAXED);
    *hard = h > 0 ? (size_t)h : 0;
    *soft = s > 0 ? (size_t)s : 0;
    *soft_seconds = (int)__atomic_load_n(&l->soft_seconds, __ATOMIC_RELAXED);
}

/* A queue buffer larger than this is freed, not kept, once drained. */
#define PS_QUEUE_KEEP (64 * 1024)

/* ---- Name tables --------------------------------------------------------------- */

typedef struct ps_sub ps_sub;

typedef struct ps_node {
    struct ps_node *next;
    uint64_t hash;
    ps_sub **subs; /* registry nodes: the subscribers, in subscription order */
    int nsubs, cap;
    size_t len;
    char name[];
} ps_node;

typedef struct ps_table {
    ps_node **b;
    size_t nb; /* power of two, or 0 */
    size_t n;
} ps_table;

static uint8_t hash_key[16];

static uint64_t name_hash(const char *s, size_t len) { return lt_siphash13(s, len, hash_key); }

static ps_node **table_link(ps_table *t, const char *s, size_t len, uint64_t h) {
    if (!t->nb) return NULL;
    ps_node **pp = &t->b[h & (t->nb - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->len == len && memcmp((*pp)->name, s, len) == 0) return pp;
    return NULL;
}

static ps_node *table_find(ps_table *t, const char *s, size_t len) {
    ps_node **pp = table_link(t, s, len, name_hash(s, len));
    return pp ? *pp : NULL;
}

static void table_resize(ps_table *t, size_t nb) {
    ps_node **b = calloc(nb, sizeof(*b));
    if (!b) abort();
    for (size_t i = 0; i < t->nb; i++) {
        ps_node *n = t->b[i];
        while (n) {
            ps_node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

/* Finds or adds name; *added tells which. */
static ps_node *table_add(ps_table *t, const char *s, size_t len, int *added) {
    uint64_t h = name_hash(s, len);
    ps_node **pp = table_link(t, s, len, h);
    *added = 0;
    if (pp) return *pp;
    if (t->n + 1 > t->nb) table_resize(t, t->nb ? t->nb * 2 : 8);
    ps_node *n = calloc(1, sizeof(*n) + len + 1);
    if (!n) abort();
    n->hash = h;
    n->len = len;
    memcpy(n->name, s, len);
    n->next = t->b[h & (t->nb - 1)];
    t->b[h & (t->nb - 1)] = n;
    t->n++;
    *added = 1;
    return n;
}

static void table_remove(ps_table *t, ps_node *n) {
    ps_node **pp = &t->b[n->hash & (t->nb - 1)];
    while (*pp != n) pp = &(*pp)->next;
    *pp = n->next;
    t->n--;
    free(n->subs);
    free(n);
    if (t->n == 0) {
        free(t->b);
        t->b = NULL;
        t->nb = 0;
    } else if (t->nb > 8 && t->n * 8 < t->nb) {
        table_resize(t, t->nb / 2);
    }
}

static void table_free(ps_table *t) {
    for (size_t i = 0; i < t->nb; i++) {
        ps_node *n = t->b[i];
        while (n) {
            ps_node *next = n->next;
            free(n->subs);
            free(n);
            n = next;
        }
    }
    free(t->b);
    memset(t, 0, sizeof(*t));
}

/* ---- Registry and subscribers ----------------------------------------------- */

enum { PS_CHANNEL = 0, PS_PATTERN = 1, PS_SHARD = 2 };

struct ps_sub {
    client *c;
    worker *w;
    ps_table names[3]; /* owner thread; changed under the registry write lock */
    /* under mu */
    pthread_mutex_t mu;
    char *q;
    size_t qlen, qcap;
    int queued; /* on w's ready list */
    int dead;   /* client gone: free when taken off the ready list */
    int over;   /* passed the output limit: close, queue nothing more */
    ps_sub *rnext;
    /* owner thread: since when the soft limit has been exceeded (ms), 0 */
    int64_t soft_since_ms;
};

typedef struct ps_worker {
    pthread_mutex_t mu;
    ps_sub *head, *tail;
    char pad[64];
} ps_worker;

static struct {
    pthread_rwlock_t lock;
    ps_table t[3];
    ps_worker *workers;
    int nworkers;
} P = {.lock = PTHREAD_RWLOCK_INITIALIZER};

int pubsub_init(void) {
    lt_random_bytes(hash_key, sizeof(hash_key));
    P.nworkers = server.nworkers;
    P.workers = calloc((size_t)P.nworkers, sizeof(*P.workers));
    if (!P.workers) return -1;
    for (int i = 0; i < P.nworkers; i++) pthread_mutex_init(&P.workers[i].mu, NULL);
    return 0;
}

static void sub_free(ps_sub *s) {
    for (int k = 0; k < 3; k++) table_free(&s->names[k]);
    pthread_mutex_destroy(&s->mu);
    free(s->q);
    free(s);
}

void pubsub_close(void) {
    for (int i = 0; P.workers && i < P.nworkers; i++) {
        ps_sub *s = P.workers[i].head;
        while (s) {
            ps_sub *next = s->rnext;
            if (s->dead) sub_free(s);
            s = next;
        }
        pthread_mutex_destroy(&P.workers[i].mu);
    }
    free(P.workers);
    P.workers = NULL;
    for (int k = 0; k < 3; k++) table_free(&P.t[k]);
}

/* c->pubsub once the client closed: no state may be created any more. */
#define PS_CLOSED ((ps_sub *)1)

/* c's state, created when missing: by its owner (subscribing) or by
 * another thread holding server.clients_lock (pubsub_send_raw). NULL once
 * c is closing. */
static ps_sub *sub_get(client *c) {
    ps_sub *s = __atomic_load_n(&c->pubsub, __ATOMIC_ACQUIRE);
    if (s == PS_CLOSED) return NULL;
    if (s) return s;
    ps_sub *n = calloc(1, sizeof(*n));
    if (!n) abort();
    n->c = c;
    n->w = c->owner;
    pthread_mutex_init(&n->mu, NULL);
    if (__atomic_compare_exchange_n(&c->pubsub, &s, n, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return n;
    pthread_mutex_destroy(&n->mu);
    free(n);
    return s == PS_CLOSED ? NULL : s;
}

/* c's state if any (owner thread, c not closed). */
static ps_sub *sub_of(const client *c) {
    ps_sub *s = __atomic_load_n(&c->pubsub, __ATOMIC_ACQUIRE);
    return s == PS_CLOSED ? NULL : s;
}

static void publish_counts(client *c) {
    ps_sub *s = sub_of(c);
    __atomic_store_n(&c->pub.sub, s ? (int)s->names[PS_CHANNEL].n : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.psub, s ? (int)s->names[PS_PATTERN].n : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.ssub, s ? (int)s->names[PS_SHARD].n : 0, __ATOMIC_RELAXED);
}

/* Subscriptions counted in (un)subscribe replies: channels and patterns
 * together, shard channels apart (Redis 7.0). */
static long sub_count(const client *c, int kind) {
    const ps_sub *s = sub_of(c);
    if (!s) return 0;
    if (kind == PS_SHARD) return (long)s->names[PS_SHARD].n;
    return (long)(s->names[PS_CHANNEL].n + s->names[PS_PATTERN].n);
}

static long total_count(const client *c) {
    const ps_sub *s = sub_of(c);
    return s ? (long)(s->names[0].n + s->names[1].n + s->names[2].n) : 0;
}

/* Adds s to the registry under name (kind); registry write lock held.
 * Returns 1 if it was not subscribed. */
static int registry_add(ps_sub *s, int kind, const char *name, size_t len) {
    int added;
    table_add(&s->names[kind], name, len, &added);
    if (!added) return 0;
    ps_node *n = table_add(&P.t[kind], name, len, &added);
    if (n->nsubs == n->cap) {
        int cap = n->cap ? n->cap * 2 : 4;
        ps_sub **a = realloc(n->subs, sizeof(*a) * (size_t)cap);
        if (!a) abort();
        n->subs = a;
        n->cap = cap;
    }
    n->subs[n->nsubs++] = s;
    return 1;
}

/* Removes s's subscription to name (kind); registry write lock held.
 * name may be s's own node's name: that node is freed last. Returns 1 if
 * it was subscribed. */
static int registry_remove(ps_sub *s, int kind, const char *name, size_t len) {
    ps_node *own = table_find(&s->names[kind], name, len);
    if (!own) return 0;
    ps_node *n = table_find(&P.t[kind], name, len);
    ASSERT(n);
    for (int i = 0; i < n->nsubs; i++)
        if (n->subs[i] == s) {
            /* Keep subscription order: PUBLISH delivers in it. */
            memmove(&n->subs[i], &n->subs[i + 1], sizeof(*n->subs) * (size_t)(n->nsubs - i - 1));
            n->nsubs--;
            break;
        }
    if (n->nsubs == 0) table_remove(&P.t[kind], n);
    table_remove(&s->names[kind], own);
    return 1;
}

/* ---- Encoding --------------------------------------------------------------------- */

static const struct {
    const char *word;
    size_t len;
} kind_message[3] = {{"message", 7}, {"pmessage", 8}, {"smessage", 8}};

/* Bytes of "$<len>\r\n<bytes>\r\n". */
static size_t bulk_size(size_t len) {
    char tmp[LT_LLSTR_SIZE];
    return 1 + lt_ll2string(tmp, sizeof(tmp), (long long)len) + 2 + len + 2;
}

static char *put_bulk(char *p, const char *s, size_t len) {
    *p++ = '$';
    p += lt_ll2string(p, LT_LLSTR_SIZE, (long long)len);
    *p++ = '\r';
    *p++ = '\n';
    memcpy(p, s, len);
    p += len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

typedef struct ps_msg {
    int kind;
    const char *pat;
    size_t plen;
    const char *ch, *msg;
    size_t clen, mlen;
} ps_msg;

static size_t msg_size(const ps_msg *m) {
    size_t n = 4 + bulk_size(kind_message[m->kind].len) + bulk_size(m->clen) + bulk_size(m->mlen);
    if (m->kind == PS_PATTERN) n += bulk_size(m->plen);
    return n;
}

/* Encodes m for a client speaking resp into dst (msg_size bytes). */
static void msg_write(char *dst, const ps_msg *m, int resp) {
    char *p = dst;
    *p++ = resp == 3 ? '>' : '*';
    *p++ = m->kind == PS_PATTERN ? '4' : '3';
    *p++ = '\r';
    *p++ = '\n';
    p = put_bulk(p, kind_message[m->kind].word, kind_message[m->kind].len);
    if (m->kind == PS_PATTERN) p = put_bulk(p, m->pat, m->plen);
    p = put_bulk(p, m->ch, m->clen);
    p = put_bulk(p, m->msg, m->mlen);
    ASSERT((size_t)(p - dst) == msg_size(m));
}

/* ---- Delivery ----------------------------------------------------------------------- */

/* Puts s on its worker's ready list (s->mu held, s not queued). */
static void ready_push(ps_sub *s) {
    ps_worker *pw = &P.workers[s->w->id];
    s->queued = 1;
    s->rnext = NULL;
    pthread_mutex_lock(&pw->mu);
    int was_empty = pw->head == NULL;
    if (pw->tail) pw->tail->rnext = s;
    else __atomic_store_n(&pw->head, s, __ATOMIC_RELEASE); /* read unlocked */
    pw->tail = s;
    pthread_mutex_unlock(&pw->mu);
    if (was_empty && s->w != worker_current()) ev_loop_wakeup(s->w->loop);
}

/* Bytes the subscriber's owner has not sent yet, as last published. */
static size_t published_output(const client *c) {
    return __atomic_load_n(&c->pub.omem, __ATOMIC_RELAXED) +
           __atomic_load_n(&c->pub.obl, __ATOMIC_RELAXED);
}

/* Owner thread: appends an encoded push (message, invalidation) to c's
 * replies; CLIENT REPLY OFF/SKIP do not silence pushes (CLIENT_PUSHING). */
static void push_proto(client *c, const char *p, size_t len) {
    uint32_t was = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING;
    addReplyProto(c, p, len);
    if (!was) c->flags &= ~CLIENT_PUSHING;
}

/* Delivers m to s (registry read lock held). */
static void deliver(ps_sub *s, const ps_msg *m, worker *self) {
    client *c = s->c;
    int resp = __atomic_load_n(&c->resp, __ATOMIC_RELAXED);
    size_t need = msg_size(m);
    size_t hard, soft;
    int soft_secs;
    pubsub_output_limits(&hard, &soft, &soft_secs);
    if (s->w == self) {
        /* Same thread: straight into its replies, in this command. */
        if (__atomic_load_n(&s->over, __ATOMIC_RELAXED) || (c->flags & CLIENT_CLOSED)) return;
        char stack[512];
        char *buf = need <= sizeof(stack) ? stack : malloc(need);
        if (!buf) abort();
        msg_write(buf, m, resp);
        push_proto(c, buf, need);
        if (buf != stack) free(buf);
        if (hard && client_output_bytes(c) > hard) {
            pthread_mutex_lock(&s->mu);
            __atomic_store_n(&s->over, 1, __ATOMIC_RELAXED);
            if (!s->queued) ready_push(s);
            pthread_mutex_unlock(&s->mu);
        }
        return;
    }
    pthread_mutex_lock(&s->mu);
    if (s->over || s->dead) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (hard && s->qlen + need + published_output(c) > hard) {
        /* Over the limit: the owner closes it; nothing more is queued. */
        s->over = 1;
        free(s->q);
        s->q = NULL;
        s->qlen = s->qcap = 0;
    } else {
        if (s->qlen + need > s->qcap) {
            size_t cap = s->qcap ? s->qcap : 1024;
            while (cap < s->qlen + need) cap *= 2;
            char *q = realloc(s->q, cap);
            if (!q) abort();
            s->q = q;
            s->qcap = cap;
        }
        msg_write(s->q + s->qlen, m, resp);
        s->qlen += need;
    }
    if (!s->queued) ready_push(s);
    pthread_mutex_unlock(&s->mu);
}

void pubsub_send_raw(client *c, const char *p, size_t len) {
    if (c->owner == worker_current()) {
        if (!(c->flags & CLIENT_CLOSED)) push_proto(c, p, len);
        return;
    }
    ps_sub *s = sub_get(c);
    if (!s) return;
    size_t hard, soft;
    int soft_secs;
    pubsub_output_limits(&hard, &soft, &soft_secs);
    pthread_mutex_lock(&s->mu);
    if (s->over || s->dead) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (hard && s->qlen + len + published_output(c) > hard) {
        s->over = 1;
        free(s->q);
        s->q = NULL;
        s->qlen = s->qcap = 0;
    } else {
        if (s->qlen + len > s->qcap) {
            size_t cap = s->qcap ? s->qcap : 1024;
            while (cap < s->qlen + len) cap *= 2;
            char *q = realloc(s->q, cap);
            if (!q) abort();
            s->q = q;
            s->qcap = cap;
        }
        memcpy(s->q + s->qlen, p, len);
        s->qlen += len;
    }
    if (!s->queued) ready_push(s);
    pthread_mutex_unlock(&s->mu);
}

void pubsub_counts(long long *channels, long long *patterns, long long *shard) {
    pthread_rwlock_rdlock(&P.lock);
    *channels = (long long)P.t[PS_CHANNEL].n;
    *patterns = (long long)P.t[PS_PATTERN].n;
    *shard = (long long)P.t[PS_SHARD].n;
    pthread_rwlock_unlock(&P.lock);
}

long pubsub_publish(int shard, const char *channel, size_t clen, const char *msg, size_t mlen) {
    worker *self = worker_current();
    long receivers = 0;
    ps_msg m = {.kind = shard ? PS_SHARD : PS_CHANNEL, .ch = channel, .clen = clen,
                .msg = msg, .mlen = mlen};
    pthread_rwlock_rdlock(&P.lock);
    ps_node *n = table_find(&P.t[m.kind], channel, clen);
    if (n) {
        for (int i = 0; i < n->nsubs; i++) deliver(n->subs[i], &m, self);
        receivers += n->nsubs;
    }
    if (!shard && P.t[PS_PATTERN].n) {
        ps_table *pt = &P.t[PS_PATTERN];
        m.kind = PS_PATTERN;
        /* Every pattern is tried, as in Redis: O(patterns) per message. */
        for (size_t b = 0; b < pt->nb; b++)
            for (ps_node *p = pt->b[b]; p; p = p->next) {
                if (!lt_stringmatchlen(p->name, p->len, channel, clen, 0)) continue;
                m.pat = p->name;
                m.plen = p->len;
                for (int i = 0; i < p->nsubs; i++) deliver(p->subs[i], &m, self);
                receivers += p->nsubs;
            }
    }
    pthread_rwlock_unlock(&P.lock);
    return receivers;
}

/* Owner thread: moves s's queue into its client's replies. Returns 1 when
 * the client must be closed (over the limit). */
static int sub_drain(ps_sub *s) {
    client *c = s->c;
    pthread_mutex_lock(&s->mu);
    int over = s->over;
    if (!over && s->qlen) {
        push_proto(c, s->q, s->qlen);
        s->qlen = 0;
        if (s->qcap > PS_QUEUE_KEEP) {
            free(s->q);
            s->q = NULL;
            s->qcap = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (over) return 1;
    size_t hard, soft;
    int soft_secs;
    pubsub_output_limits(&hard, &soft, &soft_secs);
    size_t out = client_output_bytes(c);
    if (hard && out > hard) return 1;
    if (soft && out > soft) {
        int64_t now = c->owner->now_ms;
        if (!s->soft_since_ms) s->soft_since_ms = now;
        else if (now - s->soft_since_ms > (int64_t)soft_secs * 1000) return 1;
    } else {
        s->soft_since_ms = 0;
    }
    client_publish(c);
    return 0;
}

static void close_over_limit(client *c) {
    serverLog(LL_WARNING,
              "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output "
              "buffer limits.",
              (unsigned long long)c->id, c->addr);
    client_close(c);
}

void pubsub_worker_process(worker *w) {
    ps_worker *pw = &P.workers[w->id];
    if (!__atomic_load_n(&pw->head, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&pw->mu);
    ps_sub *list = pw->head;
    __atomic_store_n(&pw->head, NULL, __ATOMIC_RELAXED);
    pw->tail = NULL;
    pthread_mutex_unlock(&pw->mu);
    while (list) {
        ps_sub *s = list;
        list = s->rnext;
        pthread_mutex_lock(&s->mu);
        s->queued = 0;
        s->rnext = NULL;
        int dead = s->dead;
        pthread_mutex_unlock(&s->mu);
        if (dead) {
            sub_free(s);
            continue;
        }
        if (sub_drain(s)) close_over_limit(s->c);
    }
}

/* Messages queued for c before one of its own pub/sub commands go out
 * before that command's reply: they were published while it was still
 * subscribed. */
static void drain_own(client *c) {
    ps_sub *s = sub_of(c);
    if (s && sub_drain(s)) {
        /* Over the limit: closed by its worker's next before_wait. */
        pthread_mutex_lock(&s->mu);
        s->over = 1;
        if (!s->queued) ready_push(s);
        pthread_mutex_unlock(&s->mu);
    }
}

int pubsub_client_permitted(client *c) {
    ps_sub *s = __atomic_load_n(&c->pubsub, __ATOMIC_ACQUIRE);
    if (!s || s == PS_CLOSED) return 1;
    for (int k = 0; k < 3; k++) {
        const ps_table *t = &s->names[k];
        for (size_t b = 0; b < t->nb; b++)
            for (const ps_node *n = t->b[b]; n; n = n->next)
                if (acl_check_channel(c->user, n->name, n->len, k == PS_PATTERN) != ACL_OK)
                    return 0;
    }
    return 1;
}

void pubsub_client_closed(client *c) {
    /* Under clients_lock: a thread sending to c (pubsub_send_raw, which
     * holds it) is done with the state before it can be freed here. */
    pthread_mutex_lock(&server.clients_lock);
    ps_sub *s = __atomic_exchange_n(&c->pubsub, PS_CLOSED, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&server.clients_lock);
    if (!s || s == PS_CLOSED) return;
    pthread_rwlock_wrlock(&P.lock);
    for (int k = 0; k < 3; k++) {
        ps_table *t = &s->names[k];
        while (t->n) {
            ps_node *n = NULL;
            for (size_t b = 0; b < t->nb && !n; b++) n = t->b[b];
            registry_remove(s, k, n->name, n->len);
        }
    }
    pthread_rwlock_unlock(&P.lock);
    pthread_mutex_lock(&s->mu);
    s->dead = 1;
    s->c = NULL;
    int queued = s->queued;
    pthread_mutex_unlock(&s->mu);
    if (!queued) sub_free(s);
}

/* ---- Subscribing -------------------------------------------------------------------- */

static const struct {
    const char *sub, *unsub;
} kind_words[3] = {{"subscribe", "unsubscribe"},
                   {"psubscribe", "punsubscribe"},
                   {"ssubscribe", "sunsubscribe"}};

/* ["subscribe", name, count] as a push (RESP3) or an array (RESP2). */
static void reply_confirm(client *c, const char *word, const char *name, size_t len, long n) {
    uint32_t was = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING;
    addReplyPushLen(c, 3);
    addReplyBulkCString(c, word);
    if (name) addReplyBulk(c, name, len);
    else addReplyNull(c);
    addReplyLongLong(c, n);
    if (!was) c->flags &= ~CLIENT_PUSHING;
}

static void update_mode(client *c) {
    publish_counts(c);
    if (total_count(c) == 0 && (c->flags & CLIENT_PUBSUB)) {
        c->flags &= ~CLIENT_PUBSUB;
        client_set_class(c, CLIENT_CLASS_NORMAL);
    }
}

static void subscribe_generic(client *c, int kind) {
    drain_own(c);
    ps_sub *s = sub_get(c);
    ASSERT(s); /* c is running a command: not closed */
    for (int j = 1; j < c->argc; j++) {
        pthread_rwlock_wrlock(&P.lock);
        registry_add(s, kind, c->argv[j].ptr, c->argv[j].len);
        pthread_rwlock_unlock(&P.lock);
        reply_confirm(c, kind_words[kind].sub, c->argv[j].ptr, c->argv[j].len,
                      sub_count(c, kind));
    }
    publish_counts(c);
    if (!(c->flags & CLIENT_PUBSUB)) client_set_class(c, CLIENT_CLASS_PUBSUB);
    c->flags |= CLIENT_PUBSUB;
}

/* Leaves one subscription (name) or, name NULL, all of kind; notify: reply
 * a confirmation for each. Returns how many were left. */
static int unsubscribe_all(client *c, int kind, int notify) {
    ps_sub *s = sub_of(c);
    int count = 0;
    while (s && s->names[kind].n) {
        ps_table *t = &s->names[kind];
        ps_node *n = NULL;
        for (size_t b = 0; b < t->nb && !n; b++) n = t->b[b];
        char stack[256];
        size_t len = n->len;
        char *name = len <= sizeof(stack) ? stack : malloc(len);
        if (!name) abort();
        memcpy(name, n->name, len);
        pthread_rwlock_wrlock(&P.lock);
        registry_remove(s, kind, name, len);
        pthread_rwlock_unlock(&P.lock);
        if (notify) reply_confirm(c, kind_words[kind].unsub, name, len, sub_count(c, kind));
        if (name != stack) free(name);
        count++;
    }
    return count;
}

static void unsubscribe_generic(client *c, int kind) {
    drain_own(c);
    if (c->argc == 1) {
        if (unsubscribe_all(c, kind, 1) == 0)
            reply_confirm(c, kind_words[kind].unsub, NULL, 0, sub_count(c, kind));
    } else {
        ps_sub *s = sub_of(c);
        for (int j = 1; j < c->argc; j++) {
            if (s) {
                pthread_rwlock_wrlock(&P.lock);
                registry_remove(s, kind, c->argv[j].ptr, c->argv[j].len);
                pthread_rwlock_unlock(&P.lock);
            }
            reply_confirm(c, kind_words[kind].unsub, c->argv[j].ptr, c->argv[j].len,
                          sub_count(c, kind));
        }
    }
    update_mode(c);
}

void pubsub_client_reset(client *c) {
    drain_own(c);
    for (int k = 0; k < 3; k++) unsubscribe_all(c, k, 0);
    update_mode(c);
}

static void subscribeCommand(client *c) { subscribe_generic(c, PS_CHANNEL); }
static void psubscribeCommand(client *c) { subscribe_generic(c, PS_PATTERN); }
static void ssubscribeCommand(client *c) { subscribe_generic(c, PS_SHARD); }
static void unsubscribeCommand(client *c) { unsubscribe_generic(c, PS_CHANNEL); }
static void punsubscribeCommand(client *c) { unsubscribe_generic(c, PS_PATTERN); }
static void sunsubscribeCommand(client *c) { unsubscribe_generic(c, PS_SHARD); }

/* In cluster mode the message also goes over the cluster bus (the reply
 * counts this node's receivers only, as Redis's). */
static void publishCommand(client *c) {
    long n = pubsub_publish(0, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len);
    if (server.cluster_enabled)
        cluster_propagate_publish(0, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                                  c->argv[2].len);
    addReplyLongLong(c, n);
}

static void spublishCommand(client *c) {
    long n = pubsub_publish(1, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len);
    if (server.cluster_enabled)
        cluster_propagate_publish(1, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                                  c->argv[2].len);
    addReplyLongLong(c, n);
}

/* ---- RESP2 subscribed mode ---------------------------------------------------------- */

int pubsub_reject_command(client *c, const command *cmd) {
    if (!(c->flags & CLIENT_PUBSUB) || c->resp != 2) return 0;
    const command *top = cmd->parent ? cmd->parent : cmd;
    static const char *const allowed[] = {"ping", "subscribe", "ssubscribe", "unsubscribe",
                                          "sunsubscribe", "psubscribe", "punsubscribe",
                                          "quit", "reset", NULL};
    for (int i = 0; allowed[i]; i++)
        if (strcmp(top->name, allowed[i]) == 0) return 0;
    addReplyErrorFormat(c,
                        "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                        "PING / QUIT / RESET are allowed in this context",
                        cmd->fullname);
    return 1;
}

/* ---- PUBSUB ... ---------------------------------------------------------------------- */

/* PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active channels (with at least
 * one subscriber) matching pattern. */
static void channels_generic(client *c, int kind) {
    if (c->argc > 3) {
        addReplyErrorFormat(c,
                            "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                            "Try PUBSUB HELP.",
                            (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
        return;
    }
    const resp_arg *pat = c->argc == 3 ? &c->argv[2] : NULL;
    void *len = addReplyDeferredLen(c);
    long n = 0;
    pthread_rwlock_rdlock(&P.lock);
    ps_table *t = &P.t[kind];
    for (size_t b = 0; b < t->nb; b++)
        for (ps_node *p = t->b[b]; p; p = p->next) {
            if (pat && !lt_stringmatchlen(pat->ptr, pat->len, p->name, p->len, 0)) continue;
            addReplyBulk(c, p->name, p->len);
            n++;
        }
    pthread_rwlock_unlock(&P.lock);
    setDeferredArrayLen(c, len, n);
}

static void numsub_generic(client *c, int kind) {
    addReplyArrayLen(c, (long long)(c->argc - 2) * 2);
    pthread_rwlock_rdlock(&P.lock);
    for (int j = 2; j < c->argc; j++) {
        ps_node *n = table_find(&P.t[kind], c->argv[j].ptr, c->argv[j].len);
        addReplyBulk(c, c->argv[j].ptr, c->argv[j].len);
        addReplyLongLong(c, n ? n->nsubs : 0);
    }
    pthread_rwlock_unlock(&P.lock);
}

static void pubsubChannelsCommand(client *c) { channels_generic(c, PS_CHANNEL); }
static void pubsubShardchannelsCommand(client *c) { channels_generic(c, PS_SHARD); }
static void pubsubNumsubCommand(client *c) { numsub_generic(c, PS_CHANNEL); }
static void pubsubShardnumsubCommand(client *c) { numsub_generic(c, PS_SHARD); }

static void pubsubNumpatCommand(client *c) {
    pthread_rwlock_rdlock(&P.lock);
    long long n = (long long)P.t[PS_PATTERN].n;
    pthread_rwlock_unlock(&P.lock);
    addReplyLongLong(c, n);
}

static void pubsubHelpCommand(client *c) {
    static const char *help[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        NULL,
    };
    addReplyHelp(c, help);
}

/* ---- Command table ----------------------------------------------------------------- */

#define PS_SUB_FLAGS (CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define PS_INFO_FLAGS (CMD_PUBSUB | CMD_LOADING | CMD_STALE)

static command pubsub_subcommands[] = {
    {.name = "channels", .proc = pubsubChannelsCommand, .arity = -2, .flags = PS_INFO_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.8.0",
     .complexity = "O(N) where N is the number of active channels, and assuming constant "
                   "time pattern matching (relatively short channels and patterns)",
     .summary = "Lists the channels with subscribers, optionally matching a pattern."},
    {.name = "numsub", .proc = pubsubNumsubCommand, .arity = -2, .flags = PS_INFO_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.8.0",
     .complexity = "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
     .summary = "Returns the number of subscribers of channels."},
    {.name = "numpat", .proc = pubsubNumpatCommand, .arity = 2, .flags = PS_INFO_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.8.0",
     .complexity = "O(1)", .summary = "Returns the number of distinct subscribed patterns."},
    {.name = "shardchannels", .proc = pubsubShardchannelsCommand, .arity = -2,
     .flags = PS_INFO_FLAGS, .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "7.0.0",
     .complexity = "O(N) where N is the number of active shard channels, and assuming "
                   "constant time pattern matching (relatively short shard channels).",
     .summary = "Lists the shard channels with subscribers, optionally matching a pattern."},
    {.name = "shardnumsub", .proc = pubsubShardnumsubCommand, .arity = -2,
     .flags = PS_INFO_FLAGS, .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "7.0.0",
     .complexity = "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested "
                   "shard channels",
     .summary = "Returns the number of subscribers of shard channels."},
    {.name = "help", .proc = pubsubHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "pubsub", .since = "6.2.0", .complexity = "O(1)",
     .summary = "Lists the PUBSUB subcommands."},
    {0},
};

command pubsub_commands[] = {
    {.name = "subscribe", .proc = subscribeCommand, .arity = -2, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.0.0",
     .complexity = "O(N) where N is the number of channels to subscribe to.",
     .summary = "Listens for messages published to channels."},
    {.name = "unsubscribe", .proc = unsubscribeCommand, .arity = -1, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.0.0",
     .complexity = "O(N) where N is the number of clients already subscribed to a channel.",
     .summary = "Stops listening to channels (all of them without arguments)."},
    {.name = "psubscribe", .proc = psubscribeCommand, .arity = -2, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.0.0",
     .complexity = "O(N) where N is the number of patterns the client is already subscribed to.",
     .summary = "Listens for messages published to channels matching patterns."},
    {.name = "punsubscribe", .proc = punsubscribeCommand, .arity = -1, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .group = "pubsub", .since = "2.0.0",
     .complexity = "O(N+M) where N is the number of patterns the client is already subscribed "
                   "and M is the number of total patterns subscribed in the system (by any "
                   "client).",
     .summary = "Stops listening to patterns (all of them without arguments)."},
    {.name = "publish", .proc = publishCommand, .arity = 3,
     .flags = CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MAY_REPLICATE, .acl = ACL_PUBSUB | ACL_FAST,
     .group = "pubsub", .since = "2.0.0",
     .complexity = "O(N+M) where N is the number of clients subscribed to the receiving "
                   "channel and M is the total number of subscribed patterns (by any client).",
     .summary = "Posts a message to a channel; replies how many subscriptions received it."},
    {.name = "pubsub", .arity = -2, .acl = ACL_SLOW, .group = "pubsub", .since = "2.8.0",
     .complexity = "Depends on subcommand.", .summary = "Inspects the pub/sub state.",
     .subcommands = pubsub_subcommands},
    {.name = "ssubscribe", .proc = ssubscribeCommand, .arity = -2, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .key_first = 1, .key_last = -1, .key_step = 1,
     .key_flags = "not_key", .group = "pubsub", .since = "7.0.0",
     .complexity = "O(N) where N is the number of shard channels to subscribe to.",
     .summary = "Listens for messages published to shard channels."},
    {.name = "sunsubscribe", .proc = sunsubscribeCommand, .arity = -1, .flags = PS_SUB_FLAGS,
     .acl = ACL_PUBSUB | ACL_SLOW, .key_first = 1, .key_last = -1, .key_step = 1,
     .key_flags = "not_key", .group = "pubsub", .since = "7.0.0",
     .complexity = "O(N) where N is the number of clients already subscribed to a shard channel.",
     .summary = "Stops listening to shard channels (all of them without arguments)."},
    {.name = "spublish", .proc = spublishCommand, .arity = 3,
     .flags = CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_MAY_REPLICATE, .acl = ACL_PUBSUB | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "not_key", .group = "pubsub",
     .since = "7.0.0",
     .complexity = "O(N) where N is the number of clients subscribed to the receiving shard "
                   "channel.",
     .summary = "Posts a message to a shard channel; replies how many subscribers received it."},
    {0},
};
