/*
 * tracking: the tracking table, BCAST prefixes, invalidation messages and
 * the CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO commands (see
 * tracking.h for the modes, bounds and threading).
 *
 * Structures (under T.lock):
 *  - keys: chained hash table, key -> array of client ids that may cache
 *    it; `items` counts the ids over all keys.
 *  - prefixes: array of BCAST prefixes, each with its clients' ids and the
 *    keys written since the last flush (with the id of the client that
 *    wrote each, for NOLOOP).
 * A client's own list of prefixes (client.tracking.prefixes) is its
 * owner's: sorted, for CLIENT TRACKINGINFO and for leaving the prefixes.
 *
 * Sending: ids are looked up in the server's client list under
 * clients_lock (a closed client is gone from it), messages are encoded for
 * the receiving connection and handed to pubsub_send_raw().
 */
#include "server/cmd/tracking.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/pubsub.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"

int tracking_clients;

/* ---- Structures ------------------------------------------------------------------ */

typedef struct tkey {
    struct tkey *next;
    uint64_t hash;
    uint64_t *ids;
    int nids, cap;
    size_t len;
    char key[];
} tkey;

typedef struct pending_key {
    char *key;
    size_t len;
    uint64_t origin; /* client that wrote it, 0: none (expiry) */
} pending_key;

typedef struct tprefix {
    char *prefix;
    size_t len;
    uint64_t *ids;
    int nids, cap;
    pending_key *pend;
    int npend, pcap;
} tprefix;

/* A client's prefixes (owner thread). */
typedef struct trk_prefixes {
    int n;
    struct {
        char *p;
        size_t len;
    } *v;
} trk_prefixes;

static struct {
    pthread_mutex_t lock;
    tkey **b;
    size_t nb, n;
    uint64_t items;
    size_t evict_cursor;
    tprefix *prefixes;
    int nprefixes, pcap;
    int pending; /* some prefix has pending keys (relaxed reads) */
    uint8_t hash_key[16];
    int hash_ready;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The client running a command on this thread, and the invalidations for
 * it that wait for the end of that command. */
static __thread client *cur;
static __thread struct {
    char **keys;
    size_t *lens;
    int n, cap;
    int flush; /* a FLUSH's null invalidation */
} self_pending;

static uint64_t key_hash(const char *k, size_t len) {
    return lt_siphash13(k, len, T.hash_key);
}

static void ids_add(uint64_t **ids, int *n, int *cap, uint64_t id) {
    for (int i = 0; i < *n; i++)
        if ((*ids)[i] == id) return;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        uint64_t *a = realloc(*ids, sizeof(*a) * (size_t)nc);
        if (!a) abort();
        *ids = a;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
}

static void ids_remove(uint64_t *ids, int *n, uint64_t id) {
    for (int i = 0; i < *n; i++)
        if (ids[i] == id) {
            ids[i] = ids[--*n];
            return;
        }
}

static void table_resize(size_t nb) {
    tkey **b = calloc(nb, sizeof(*b));
    if (!b) abort();
    for (size_t i = 0; i < T.nb; i++)
        for (tkey *k = T.b[i], *next; k; k = next) {
            next = k->next;
            k->next = b[k->hash & (nb - 1)];
            b[k->hash & (nb - 1)] = k;
        }
    free(T.b);
    T.b = b;
    T.nb = nb;
}

/* Unlinks and returns key's entry (T.lock held), NULL if absent. */
static tkey *table_take(const char *key, size_t len) {
    if (!T.nb) return NULL;
    uint64_t h = key_hash(key, len);
    for (tkey **pp = &T.b[h & (T.nb - 1)]; *pp; pp = &(*pp)->next) {
        tkey *k = *pp;
        if (k->hash == h && k->len == len && memcmp(k->key, key, len) == 0) {
            *pp = k->next;
            T.n--;
            T.items -= (uint64_t)k->nids;
            return k;
        }
    }
    return NULL;
}

static void table_remember(const char *key, size_t len, uint64_t id) {
    if (!T.hash_ready) {
        lt_random_bytes(T.hash_key, sizeof(T.hash_key));
        T.hash_ready = 1;
    }
    uint64_t h = key_hash(key, len);
    tkey *k = NULL;
    if (T.nb)
        for (k = T.b[h & (T.nb - 1)]; k; k = k->next)
            if (k->hash == h && k->len == len && memcmp(k->key, key, len) == 0) break;
    if (!k) {
        if (T.n + 1 > T.nb) table_resize(T.nb ? T.nb * 2 : 64);
        k = calloc(1, sizeof(*k) + len);
        if (!k) abort();
        k->hash = h;
        k->len = len;
        memcpy(k->key, key, len);
        k->next = T.b[h & (T.nb - 1)];
        T.b[h & (T.nb - 1)] = k;
        T.n++;
    }
    int before = k->nids;
    ids_add(&k->ids, &k->nids, &k->cap, id);
    T.items += (uint64_t)(k->nids - before);
}

/* ---- Encoding and sending ------------------------------------------------------------ */

static void ob_len(lt_strbuf *b, char type, long long n) {
    char tmp[32];
    tmp[0] = type;
    size_t l = lt_ll2string(tmp + 1, sizeof(tmp) - 1, n);
    tmp[l + 1] = '\r';
    tmp[l + 2] = '\n';
    lt_strbuf_append(b, tmp, l + 3);
}

static void ob_bulk(lt_strbuf *b, const char *s, size_t n) {
    ob_len(b, '$', (long long)n);
    lt_strbuf_append(b, s, n);
    lt_strbuf_append(b, "\r\n", 2);
}

/* Finds a live client by id (clients_lock held). */
static client *client_by_id(uint64_t id) {
    for (client *c = server.clients; c; c = c->next)
        if (c->id == id && !(__atomic_load_n(&c->pub.flags, __ATOMIC_RELAXED) & CLIENT_CLOSED))
            return c;
    return NULL;
}

static int subscribed(const client *c) {
    return __atomic_load_n(&c->pub.sub, __ATOMIC_RELAXED) +
               __atomic_load_n(&c->pub.psub, __ATOMIC_RELAXED) +
               __atomic_load_n(&c->pub.ssub, __ATOMIC_RELAXED) >
           0;
}

/* Redis's sendTrackingMessage: payload is the encoded value part (an
 * array of keys, or a null); sent to tc or to its redirect client
 * (clients_lock held). */
static void send_tracking(client *tc, const char *payload, size_t plen) {
    uint64_t redir = __atomic_load_n(&tc->tracking.redirect, __ATOMIC_RELAXED);
    client *target = tc;
    if (redir) {
        target = client_by_id(redir);
        if (!target) {
            uint32_t old = __atomic_fetch_or(&tc->tracking.flags, TRK_BROKEN, __ATOMIC_RELAXED);
            if (!(old & TRK_BROKEN) && __atomic_load_n(&tc->resp, __ATOMIC_RELAXED) == 3) {
                lt_strbuf b = {0};
                ob_len(&b, '>', 2);
                ob_bulk(&b, "tracking-redir-broken", 21);
                ob_len(&b, ':', (long long)redir);
                pubsub_send_raw(tc, b.p, b.len);
                free(b.p);
            }
            return;
        }
    }
    lt_strbuf b = {0};
    if (__atomic_load_n(&target->resp, __ATOMIC_RELAXED) == 3) {
        ob_len(&b, '>', 2);
        ob_bulk(&b, "invalidate", 10);
    } else if (redir && subscribed(target)) {
        ob_len(&b, '*', 3);
        ob_bulk(&b, "message", 7);
        ob_bulk(&b, "__redis__:invalidate", 20);
    } else {
        return; /* RESP2 without a subscribed redirect: dropped, as Redis */
    }
    lt_strbuf_append(&b, payload, plen);
    pubsub_send_raw(target, b.p, b.len);
    free(b.p);
}

static void send_key_to_id(uint64_t id, const char *key, size_t klen) {
    lt_strbuf p = {0};
    ob_len(&p, '*', 1);
    ob_bulk(&p, key, klen);
    pthread_mutex_lock(&server.clients_lock);
    client *tc = client_by_id(id);
    uint32_t f = tc ? __atomic_load_n(&tc->tracking.flags, __ATOMIC_RELAXED) : 0;
    if (tc && (f & TRK_ON) && !(f & TRK_BCAST)) send_tracking(tc, p.p, p.len);
    pthread_mutex_unlock(&server.clients_lock);
    free(p.p);
}

/* ---- Remembering and invalidating ------------------------------------------------------- */

static void self_pending_add(const char *key, size_t klen) {
    if (self_pending.n == self_pending.cap) {
        int cap = self_pending.cap ? self_pending.cap * 2 : 8;
        char **k = realloc(self_pending.keys, sizeof(*k) * (size_t)cap);
        size_t *l = realloc(self_pending.lens, sizeof(*l) * (size_t)cap);
        if (!k || !l) abort();
        self_pending.keys = k;
        self_pending.lens = l;
        self_pending.cap = cap;
    }
    char *copy = malloc(klen ? klen : 1);
    if (!copy) abort();
    memcpy(copy, key, klen);
    self_pending.keys[self_pending.n] = copy;
    self_pending.lens[self_pending.n++] = klen;
}

void tracking_invalidate_key(const char *key, size_t klen) {
    if (!__atomic_load_n(&tracking_clients, __ATOMIC_RELAXED)) return;
    uint64_t origin = cur ? cur->id : 0;
    pthread_mutex_lock(&T.lock);
    for (int i = 0; i < T.nprefixes; i++) {
        tprefix *p = &T.prefixes[i];
        if (p->len > klen || memcmp(p->prefix, key, p->len) != 0) continue;
        if (p->npend == p->pcap) {
            int cap = p->pcap ? p->pcap * 2 : 16;
            pending_key *a = realloc(p->pend, sizeof(*a) * (size_t)cap);
            if (!a) abort();
            p->pend = a;
            p->pcap = cap;
        }
        char *copy = malloc(klen ? klen : 1);
        if (!copy) abort();
        memcpy(copy, key, klen);
        p->pend[p->npend++] = (pending_key){copy, klen, origin};
        __atomic_store_n(&T.pending, 1, __ATOMIC_RELAXED);
    }
    tkey *k = table_take(key, klen);
    pthread_mutex_unlock(&T.lock);
    if (!k) return;
    for (int i = 0; i < k->nids; i++) {
        uint64_t id = k->ids[i];
        if (cur && id == cur->id) {
            uint32_t f = __atomic_load_n(&cur->tracking.flags, __ATOMIC_RELAXED);
            if (!(f & TRK_ON) || (f & TRK_BCAST) || (f & TRK_NOLOOP)) continue;
            self_pending_add(key, klen); /* after the command's reply */
            continue;
        }
        send_key_to_id(id, key, klen);
    }
    free(k->ids);
    free(k);
}

/* Redis's trackingLimitUsedSlots: keys past tracking-table-max-keys are
 * invalidated for their clients and dropped. */
static void enforce_limit(void) {
    long long max = __atomic_load_n(&server.tracking_table_max_keys, __ATOMIC_RELAXED);
    for (;;) {
        pthread_mutex_lock(&T.lock);
        if (max <= 0 || T.n <= (size_t)max) {
            pthread_mutex_unlock(&T.lock);
            return;
        }
        tkey *k = NULL;
        while (!k) {
            T.evict_cursor = (T.evict_cursor + 1) & (T.nb - 1);
            tkey *first = T.b[T.evict_cursor];
            if (first) k = table_take(first->key, first->len);
        }
        pthread_mutex_unlock(&T.lock);
        for (int i = 0; i < k->nids; i++) send_key_to_id(k->ids[i], k->key, k->len);
        free(k->ids);
        free(k);
    }
}

void tracking_invalidate_all(void) {
    if (!__atomic_load_n(&tracking_clients, __ATOMIC_RELAXED)) return;
    pthread_mutex_lock(&T.lock);
    for (size_t i = 0; i < T.nb; i++)
        for (tkey *k = T.b[i], *next; k; k = next) {
            next = k->next;
            free(k->ids);
            free(k);
        }
    free(T.b);
    T.b = NULL;
    T.nb = T.n = 0;
    T.items = 0;
    pthread_mutex_unlock(&T.lock);
    pthread_mutex_lock(&server.clients_lock);
    for (client *c = server.clients; c; c = c->next) {
        uint32_t f = __atomic_load_n(&c->tracking.flags, __ATOMIC_RELAXED);
        if (!(f & TRK_ON)) continue;
        if (c == cur) {
            self_pending.flush = 1;
            continue;
        }
        int resp = __atomic_load_n(&c->resp, __ATOMIC_RELAXED);
        send_tracking(c, resp == 3 ? "_\r\n" : "$-1\r\n", resp == 3 ? 3 : 5);
    }
    pthread_mutex_unlock(&server.clients_lock);
}

void tracking_command_begin(client *c) {
    int on = __atomic_load_n(&tracking_clients, __ATOMIC_RELAXED) != 0;
    /* A command run by a script (or EXEC) keeps the outer client as cur:
     * it is the one that tracks and gets self-invalidations. An outer
     * command always sets cur, so it never names a finished command's
     * client. */
    if (c->flags & CLIENT_IN_EXEC) {
        if (on && !cur) cur = c;
        return;
    }
    cur = on ? c : NULL;
}

/* EVAL_RO / EVALSHA_RO / FCALL_RO: not tracked themselves (their keys are,
 * when the script runs a read-only command), as in Redis. */
static int ro_script_command(const command *cmd) {
    return !strcmp(cmd->name, "eval_ro") || !strcmp(cmd->name, "evalsha_ro") ||
           !strcmp(cmd->name, "fcall_ro");
}

/* Redis's trackingRememberKeys. */
static void remember_keys(client *c, const command *cmd) {
    uint32_t f = c->tracking.flags;
    int caching = (f & TRK_CACHING) != 0;
    if (((f & TRK_OPTIN) && !caching) || ((f & TRK_OPTOUT) && caching)) return;
    if (cmd->flags & CMD_PUBSUB) return;
    int stack[16];
    int *keys = c->argc <= 16 ? stack : malloc(sizeof(int) * (size_t)c->argc);
    if (!keys) abort();
    int n = command_get_keys(cmd, c->argv, c->argc, keys, c->argc);
    pthread_mutex_lock(&T.lock);
    for (int j = 0; j < n; j++) table_remember(c->argv[keys[j]].ptr, c->argv[keys[j]].len, c->id);
    pthread_mutex_unlock(&T.lock);
    if (keys != stack) free(keys);
    enforce_limit();
}

void tracking_command_end(client *c, const command *cmd, int in_exec) {
    uint32_t f = c->tracking.flags;
    if ((cmd->flags & CMD_READONLY) && !ro_script_command(cmd)) {
        if (in_exec && cur && cur != c && cur->id == c->id && cur->cmd) {
            /* A script's read-only command: the caller remembers the keys
             * its script command declared (Redis's script_caller). */
            uint32_t cf = cur->tracking.flags;
            if ((cf & TRK_ON) && !(cf & TRK_BCAST)) remember_keys(cur, cur->cmd);
        } else if ((f & TRK_ON) && !(f & TRK_BCAST)) {
            remember_keys(c, cmd);
        }
    }
    if (in_exec) return;
    /* CLIENT CACHING holds for the next command only (not CLIENT's, not
     * the ones queued by MULTI). */
    const command *top = cmd->parent ? cmd->parent : cmd;
    if ((f & TRK_CACHING) && !(c->flags & CLIENT_MULTI) && strcmp(top->name, "client") != 0)
        __atomic_fetch_and(&c->tracking.flags, ~TRK_CACHING, __ATOMIC_RELAXED);
    if (cur != c) return;
    cur = NULL;
    if (!self_pending.n && !self_pending.flush) return;
    pthread_mutex_lock(&server.clients_lock);
    for (int i = 0; i < self_pending.n; i++) {
        lt_strbuf p = {0};
        ob_len(&p, '*', 1);
        ob_bulk(&p, self_pending.keys[i], self_pending.lens[i]);
        send_tracking(c, p.p, p.len);
        free(p.p);
        free(self_pending.keys[i]);
    }
    if (self_pending.flush)
        send_tracking(c, c->resp == 3 ? "_\r\n" : "$-1\r\n", c->resp == 3 ? 3 : 5);
    pthread_mutex_unlock(&server.clients_lock);
    /* Freed each time (rare: a tracking client writing keys it read), so
     * nothing stays with the thread when it exits. */
    free(self_pending.keys);
    free(self_pending.lens);
    self_pending.keys = NULL;
    self_pending.lens = NULL;
    self_pending.n = self_pending.cap = 0;
    self_pending.flush = 0;
}

static int cmp_pending(const void *a, const void *b) {
    const pending_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->key, y->key, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* The keys of p (sorted, unique) as an array, without those written by
 * noloop_id (0: all). Returns the number of keys put. */
static int bcast_payload(lt_strbuf *b, const pending_key *keys, int n, uint64_t noloop_id) {
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (i && cmp_pending(&keys[i - 1], &keys[i]) == 0) continue;
        if (noloop_id && keys[i].origin == noloop_id) continue;
        count++;
    }
    if (!count) return 0;
    ob_len(b, '*', count);
    for (int i = 0; i < n; i++) {
        if (i && cmp_pending(&keys[i - 1], &keys[i]) == 0) continue;
        if (noloop_id && keys[i].origin == noloop_id) continue;
        ob_bulk(b, keys[i].key, keys[i].len);
    }
    return count;
}

void tracking_worker_process(struct worker *w) {
    (void)w;
    if (!__atomic_load_n(&T.pending, __ATOMIC_RELAXED)) return;
    /* Take every prefix's pending keys and its clients under the lock,
     * send without it. */
    pthread_mutex_lock(&T.lock);
    __atomic_store_n(&T.pending, 0, __ATOMIC_RELAXED);
    int n = T.nprefixes;
    struct batch {
        pending_key *keys;
        int nkeys;
        uint64_t *ids;
        int nids;
    } *batches = calloc((size_t)(n ? n : 1), sizeof(*batches));
    if (!batches) abort();
    for (int i = 0; i < n; i++) {
        tprefix *p = &T.prefixes[i];
        if (!p->npend) continue;
        batches[i].keys = p->pend;
        batches[i].nkeys = p->npend;
        p->pend = NULL;
        p->npend = p->pcap = 0;
        batches[i].ids = malloc(sizeof(uint64_t) * (size_t)(p->nids ? p->nids : 1));
        if (!batches[i].ids) abort();
        memcpy(batches[i].ids, p->ids, sizeof(uint64_t) * (size_t)p->nids);
        batches[i].nids = p->nids;
    }
    pthread_mutex_unlock(&T.lock);
    for (int i = 0; i < n; i++) {
        struct batch *bt = &batches[i];
        if (!bt->nkeys) continue;
        qsort(bt->keys, (size_t)bt->nkeys, sizeof(*bt->keys), cmp_pending);
        lt_strbuf common = {0};
        bcast_payload(&common, bt->keys, bt->nkeys, 0);
        pthread_mutex_lock(&server.clients_lock);
        for (int j = 0; j < bt->nids; j++) {
            client *tc = client_by_id(bt->ids[j]);
            if (!tc) continue;
            uint32_t f = __atomic_load_n(&tc->tracking.flags, __ATOMIC_RELAXED);
            if (!(f & TRK_ON) || !(f & TRK_BCAST)) continue;
            if (f & TRK_NOLOOP) {
                lt_strbuf own = {0};
                if (bcast_payload(&own, bt->keys, bt->nkeys, tc->id)) send_tracking(tc, own.p, own.len);
                free(own.p);
            } else {
                send_tracking(tc, common.p, common.len);
            }
        }
        pthread_mutex_unlock(&server.clients_lock);
        free(common.p);
        for (int k = 0; k < bt->nkeys; k++) free(bt->keys[k].key);
        free(bt->keys);
        free(bt->ids);
    }
    free(batches);
}

/* ---- Enabling and disabling ---------------------------------------------------------- */

static void prefix_join(const char *p, size_t len, uint64_t id) {
    pthread_mutex_lock(&T.lock);
    tprefix *tp = NULL;
    for (int i = 0; i < T.nprefixes && !tp; i++)
        if (T.prefixes[i].len == len && memcmp(T.prefixes[i].prefix, p, len) == 0)
            tp = &T.prefixes[i];
    if (!tp) {
        if (T.nprefixes == T.pcap) {
            int cap = T.pcap ? T.pcap * 2 : 8;
            tprefix *a = realloc(T.prefixes, sizeof(*a) * (size_t)cap);
            if (!a) abort();
            T.prefixes = a;
            T.pcap = cap;
        }
        tp = &T.prefixes[T.nprefixes++];
        memset(tp, 0, sizeof(*tp));
        tp->prefix = malloc(len ? len : 1);
        if (!tp->prefix) abort();
        memcpy(tp->prefix, p, len);
        tp->len = len;
    }
    ids_add(&tp->ids, &tp->nids, &tp->cap, id);
    pthread_mutex_unlock(&T.lock);
}

static void prefix_leave(const char *p, size_t len, uint64_t id) {
    pthread_mutex_lock(&T.lock);
    for (int i = 0; i < T.nprefixes; i++) {
        tprefix *tp = &T.prefixes[i];
        if (tp->len != len || memcmp(tp->prefix, p, len) != 0) continue;
        ids_remove(tp->ids, &tp->nids, id);
        if (tp->nids == 0) {
            for (int k = 0; k < tp->npend; k++) free(tp->pend[k].key);
            free(tp->pend);
            free(tp->ids);
            free(tp->prefix);
            T.prefixes[i] = T.prefixes[--T.nprefixes];
        }
        break;
    }
    pthread_mutex_unlock(&T.lock);
}

static int prefix_cmp(const void *a, const void *b) {
    const struct {
        char *p;
        size_t len;
    } *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->p, y->p, n);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

static void client_add_prefix(client *c, const char *p, size_t len) {
    trk_prefixes *tp = c->tracking.prefixes;
    if (!tp) {
        tp = calloc(1, sizeof(*tp));
        if (!tp) abort();
        c->tracking.prefixes = tp;
    }
    for (int i = 0; i < tp->n; i++)
        if (tp->v[i].len == len && memcmp(tp->v[i].p, p, len) == 0) return;
    void *v = realloc(tp->v, sizeof(*tp->v) * (size_t)(tp->n + 1));
    if (!v) abort();
    tp->v = v;
    tp->v[tp->n].p = malloc(len ? len : 1);
    if (!tp->v[tp->n].p) abort();
    memcpy(tp->v[tp->n].p, p, len);
    tp->v[tp->n].len = len;
    tp->n++;
    qsort(tp->v, (size_t)tp->n, sizeof(*tp->v), prefix_cmp);
    prefix_join(p, len, c->id);
}

static void disable_tracking(client *c) {
    uint32_t f = c->tracking.flags;
    if (!(f & TRK_ON)) return;
    trk_prefixes *tp = c->tracking.prefixes;
    if (tp) {
        for (int i = 0; i < tp->n; i++) {
            prefix_leave(tp->v[i].p, tp->v[i].len, c->id);
            free(tp->v[i].p);
        }
        free(tp->v);
        free(tp);
        c->tracking.prefixes = NULL;
    }
    __atomic_store_n(&c->tracking.flags, 0, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&tracking_clients, 1, __ATOMIC_RELAXED);
}

void tracking_client_closed(client *c) { disable_tracking(c); }

void tracking_stats(long long *keys, long long *items, long long *prefixes) {
    pthread_mutex_lock(&T.lock);
    *keys = (long long)T.n;
    *items = (long long)T.items;
    *prefixes = T.nprefixes;
    pthread_mutex_unlock(&T.lock);
}

long long tracking_redirect_of(const client *c) {
    if (!(__atomic_load_n(&c->tracking.flags, __ATOMIC_RELAXED) & TRK_ON)) return -1;
    return (long long)__atomic_load_n(&c->tracking.redirect, __ATOMIC_RELAXED);
}

/* Redis's stringCheckPrefix: is one a prefix of the other? */
static int prefixes_overlap(const char *a, size_t al, const char *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    return memcmp(a, b, n) == 0;
}

/* Redis's checkPrefixCollisionsOrReply, including its return value: a
 * collision among the given prefixes found while checking the i-th
 * (i > 0) is replied but not treated as an error. */
static int check_prefixes_or_reply(client *c, const resp_arg **pfx, int n) {
    trk_prefixes *own = c->tracking.prefixes;
    for (int i = 0; i < n; i++) {
        for (int k = 0; own && k < own->n; k++)
            if (prefixes_overlap(own->v[k].p, own->v[k].len, pfx[i]->ptr, pfx[i]->len)) {
                addReplyErrorFormat(c,
                                    "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                                    "Prefixes for a single client must not overlap.",
                                    (int)pfx[i]->len, pfx[i]->ptr, (int)own->v[k].len,
                                    own->v[k].p);
                return 0;
            }
        for (int j = i + 1; j < n; j++)
            if (prefixes_overlap(pfx[i]->ptr, pfx[i]->len, pfx[j]->ptr, pfx[j]->len)) {
                addReplyErrorFormat(c,
                                    "ERR Prefix '%.*s' overlaps with another provided prefix "
                                    "'%.*s'. Prefixes for a single client must not overlap.",
                                    (int)pfx[i]->len, pfx[i]->ptr, (int)pfx[j]->len,
                                    pfx[j]->ptr);
                return i;
            }
    }
    return 1;
}

static int client_exists(uint64_t id) {
    pthread_mutex_lock(&server.clients_lock);
    int found = client_by_id(id) != NULL;
    pthread_mutex_unlock(&server.clients_lock);
    return found;
}

/* CLIENT TRACKING on|off [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP] — Redis 7.0's checks in its order. */
void clientTrackingCommand(client *c) {
    long long redir = 0;
    uint32_t options = 0;
    int nprefix = 0;
    const resp_arg **prefix = malloc(sizeof(*prefix) * (size_t)c->argc);
    if (!prefix) abort();
    for (int j = 3; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "redirect") && moreargs) {
            j++;
            if (redir != 0) {
                addReplyError(c, "ERR A client can only redirect to a single other client");
                goto out;
            }
            if (!lt_string2ll(c->argv[j].ptr, c->argv[j].len, &redir)) {
                addReplyErrorNotInteger(c);
                goto out;
            }
            if (redir <= 0 || !client_exists((uint64_t)redir)) {
                addReplyError(c, "ERR The client ID you want redirect to does not exist");
                goto out;
            }
        } else if (arg_is(&c->argv[j], "bcast")) {
            options |= TRK_BCAST;
        } else if (arg_is(&c->argv[j], "optin")) {
            options |= TRK_OPTIN;
        } else if (arg_is(&c->argv[j], "optout")) {
            options |= TRK_OPTOUT;
        } else if (arg_is(&c->argv[j], "noloop")) {
            options |= TRK_NOLOOP;
        } else if (arg_is(&c->argv[j], "prefix") && moreargs) {
            j++;
            prefix[nprefix++] = &c->argv[j];
        } else {
            addReplyErrorSyntax(c);
            goto out;
        }
    }
    uint32_t f = c->tracking.flags;
    if (arg_is(&c->argv[2], "on")) {
        if (!(options & TRK_BCAST) && nprefix) {
            addReplyError(c, "ERR PREFIX option requires BCAST mode to be enabled");
            goto out;
        }
        if ((f & TRK_ON) && !!(f & TRK_BCAST) != !!(options & TRK_BCAST)) {
            addReplyError(c, "ERR You can't switch BCAST mode on/off before disabling tracking "
                             "for this client, and then re-enabling it with a different mode.");
            goto out;
        }
        if ((options & TRK_BCAST) && (options & (TRK_OPTIN | TRK_OPTOUT))) {
            addReplyError(c, "ERR OPTIN and OPTOUT are not compatible with BCAST");
            goto out;
        }
        if ((options & TRK_OPTIN) && (options & TRK_OPTOUT)) {
            addReplyError(c, "ERR You can't specify both OPTIN mode and OPTOUT mode");
            goto out;
        }
        if (((options & TRK_OPTIN) && (f & TRK_OPTOUT)) ||
            ((options & TRK_OPTOUT) && (f & TRK_OPTIN))) {
            addReplyError(c, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                             "for this client, and then re-enabling it with a different mode.");
            goto out;
        }
        if ((options & TRK_BCAST) && !check_prefixes_or_reply(c, prefix, nprefix)) goto out;
        /* Redis's enableTracking. */
        if (!(f & TRK_ON)) __atomic_add_fetch(&tracking_clients, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&c->tracking.redirect, (uint64_t)redir, __ATOMIC_RELAXED);
        uint32_t nf = TRK_ON | (f & TRK_CACHING) |
                      (options & (TRK_BCAST | TRK_OPTIN | TRK_OPTOUT | TRK_NOLOOP));
        __atomic_store_n(&c->tracking.flags, nf, __ATOMIC_RELAXED);
        if (options & TRK_BCAST) {
            if (nprefix == 0) client_add_prefix(c, "", 0);
            for (int i = 0; i < nprefix; i++) client_add_prefix(c, prefix[i]->ptr, prefix[i]->len);
        }
    } else if (arg_is(&c->argv[2], "off")) {
        disable_tracking(c);
    } else {
        addReplyErrorSyntax(c);
        goto out;
    }
    addReplyOK(c);
out:
    free(prefix);
}

void clientCachingCommand(client *c) {
    uint32_t f = c->tracking.flags;
    if (!(f & TRK_ON)) {
        addReplyError(c, "ERR CLIENT CACHING can be called only when the client is in tracking "
                         "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(&c->argv[2], "yes")) {
        if (!(f & TRK_OPTIN)) {
            addReplyError(c,
                          "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                          "OPTIN mode.");
            return;
        }
    } else if (arg_is(&c->argv[2], "no")) {
        if (!(f & TRK_OPTOUT)) {
            addReplyError(c,
                          "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                          "OPTOUT mode.");
            return;
        }
    } else {
        addReplyErrorSyntax(c);
        return;
    }
    __atomic_fetch_or(&c->tracking.flags, TRK_CACHING, __ATOMIC_RELAXED);
    addReplyOK(c);
}

void clientGetredirCommand(client *c) { addReplyLongLong(c, tracking_redirect_of(c)); }

void clientTrackinginfoCommand(client *c) {
    uint32_t f = c->tracking.flags;
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "flags");
    void *len = addReplyDeferredLen(c);
    int n = 1;
    addReplyBulkCString(c, f & TRK_ON ? "on" : "off");
    if (f & TRK_BCAST) n++, addReplyBulkCString(c, "bcast");
    if (f & TRK_OPTIN) {
        n++, addReplyBulkCString(c, "optin");
        if (f & TRK_CACHING) n++, addReplyBulkCString(c, "caching-yes");
    }
    if (f & TRK_OPTOUT) {
        n++, addReplyBulkCString(c, "optout");
        if (f & TRK_CACHING) n++, addReplyBulkCString(c, "caching-no");
    }
    if (f & TRK_NOLOOP) n++, addReplyBulkCString(c, "noloop");
    if (f & TRK_BROKEN) n++, addReplyBulkCString(c, "broken_redirect");
    setDeferredSetLen(c, len, n);
    addReplyBulkCString(c, "redirect");
    addReplyLongLong(c, tracking_redirect_of(c));
    addReplyBulkCString(c, "prefixes");
    trk_prefixes *tp = c->tracking.prefixes;
    addReplyArrayLen(c, tp ? tp->n : 0);
    for (int i = 0; tp && i < tp->n; i++) addReplyBulk(c, tp->v[i].p, tp->v[i].len);
}
