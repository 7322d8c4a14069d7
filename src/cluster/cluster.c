/*
 * cluster.c — the server's cluster mode: start-up, the lock-free routing
 * table, redirections (Redis 7.0's getNodeByQuery and clusterRedirectClient),
 * and the keyspace callbacks of the state machine. See cluster.h.
 */
#include "cluster/cluster.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/busio.h"
#include "cluster/failover.h"
#include "cluster/nodesconf.h"
#include "cluster/replica.h"
#include "common/assert.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/txn.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "server/cmd/multi.h"
#include "server/cmd/pubsub.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

_Atomic uint8_t cluster_route[CLUSTER_SLOTS];
_Atomic int cluster_route_ok;

static pthread_mutex_t cl_mutex = PTHREAD_MUTEX_INITIALIZER;
static cl_state *cl_st;
static busio *cl_bus;
static char *cl_conf_path;

unsigned cluster_engine_slot(const char *key, size_t klen) {
    return cluster_key_slot(key, klen);
}

/* ---- Routing table --------------------------------------------------------- */

/* Also, when a slot stopped being served here (neither owned nor
 * importing) or the cluster left state ok, has the blocked clients checked
 * (cluster_redirect_blocked): Redis redirects them. */
static void routing_rebuild(void *ctx) {
    (void)ctx;
    cl_state *st = cl_st;
    if (!st) return;
    const uint8_t served = CLUSTER_ROUTE_MINE | CLUSTER_ROUTE_IMPORTING;
    int lost = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        uint8_t v = 0;
        if (st->slots[s] == st->myself) v |= CLUSTER_ROUTE_MINE;
        if (st->migrating_to[s]) v |= CLUSTER_ROUTE_MIGRATING;
        if (st->importing_from[s]) v |= CLUSTER_ROUTE_IMPORTING;
        /* Only the holder of the cluster lock writes the table: a plain
         * load, and a store only where it changes (an exchange per slot
         * made every SETSLOT of a reshard cost 16384 locked instructions). */
        uint8_t old = atomic_load_explicit(&cluster_route[s], memory_order_relaxed);
        if (old == v) continue;
        atomic_store_explicit(&cluster_route[s], v, memory_order_relaxed);
        if ((old & served) && !(v & served)) lost = 1;
    }
    int was_ok = atomic_exchange_explicit(&cluster_route_ok, st->state == CL_OK, memory_order_release);
    if (lost || (was_ok && st->state != CL_OK)) blocking_recheck_routes();
}

/* ---- Keyspace callbacks --------------------------------------------------------- */

static uint64_t count_slot_keys(void *ctx, unsigned slot) {
    (void)ctx;
    return ks_slot_count(server.db, 0, slot);
}

typedef struct key_batch {
    char **keys;
    size_t *lens;
    size_t n, cap;
} key_batch;

static void collect_key(void *ctx, const ks_entry *e) {
    key_batch *b = ctx;
    if (b->n == b->cap) return;
    size_t klen;
    const char *k = ks_entry_key(e, &klen);
    b->keys[b->n] = lt_xmalloc(klen ? klen : 1);
    memcpy(b->keys[b->n], k, klen);
    b->lens[b->n++] = klen;
}

/* Slots whose keys must go (a newer config epoch gave them to another
 * master): marked under the mutex by the state, deleted by
 * cluster_delete_lost_keys without it (shard locks never nest inside the
 * cluster mutex). */
static unsigned char lost_slots[CLUSTER_SLOTS];
static int nlost;

static void mark_lost_slot(void *ctx, unsigned slot) {
    (void)ctx;
    if (!lost_slots[slot]) nlost++;
    lost_slots[slot] = 1;
}

/* Deletes every key of slot, 256 at a time, each deletion logged as DEL. */
static uint64_t delete_slot_keys(unsigned slot) {
    enum { BATCH = 256 };
    char *keys[BATCH];
    size_t lens[BATCH];
    uint64_t deleted = 0;
    for (;;) {
        key_batch b = {.keys = keys, .lens = lens, .cap = BATCH};
        ks_slot_keys(server.db, 0, slot, BATCH, collect_key, &b);
        if (b.n == 0) break;
        persist_internal_begin();
        for (size_t i = 0; i < b.n; i++) {
            ks_key k = {0, keys[i], lens[i]};
            ks_txn txn;
            ks_txn_begin(&txn, server.db, &k, 1);
            if (ks_delete(&txn, 0, keys[i], lens[i]) == LT_OK) {
                persist_log_del(0, keys[i], lens[i], ks_txn_ts(&txn));
                deleted++;
            }
            ks_txn_commit(&txn);
            free(keys[i]);
        }
        persist_internal_end();
    }
    return deleted;
}

/* After each bus round, without the mutex: the keys of the slots lost
 * meanwhile, unless the slot came back to this node since. */
static void delete_lost_keys(void) {
    unsigned slots[CLUSTER_SLOTS];
    int n = 0;
    pthread_mutex_lock(&cl_mutex);
    if (nlost) {
        for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
            if (!lost_slots[s]) continue;
            lost_slots[s] = 0;
            if (cl_st->slots[s] != cl_st->myself) slots[n++] = s;
        }
        nlost = 0;
    }
    pthread_mutex_unlock(&cl_mutex);
    for (int i = 0; i < n; i++) {
        uint64_t deleted = delete_slot_keys(slots[i]);
        if (deleted)
            serverLog(LL_NOTICE, "Deleted %llu keys of slot %u, now served by another node",
                      (unsigned long long)deleted, slots[i]);
    }
}

/* After each bus round, without the mutex: lost keys, and replication
 * following the role. */
static void after_bus_round(void) {
    delete_lost_keys();
    cluster_replica_follow();
}

/* ---- Pub/sub over the bus -------------------------------------------------------------- */

/* A PUBLISH / PUBLISHSHARD from another node (bus thread, mutex held: the
 * registry lock comes after the cluster mutex, and nothing takes them in
 * the other order). */
static void bus_publish(void *ctx, int shard, const unsigned char *ch, size_t clen,
                        const unsigned char *msg, size_t mlen) {
    (void)ctx;
    pubsub_publish(shard, (const char *)ch, clen, (const char *)msg, mlen);
}

void cluster_propagate_publish(int shard, const char *channel, size_t clen, const char *msg,
                               size_t mlen) {
    if (!cl_st) return;
    pthread_mutex_lock(&cl_mutex);
    int rc = cl_send_publish(cl_st, shard, channel, clen, msg, mlen);
    pthread_mutex_unlock(&cl_mutex);
    if (rc != 0)
        serverLog(LL_WARNING, "Message of %zu bytes not propagated over the cluster bus (larger "
                              "than a bus message may be)", clen + mlen);
    busio_wake(cl_bus);
}

/* ---- Settings ---------------------------------------------------------------------- */

static void settings_fill(cl_settings *set) {
    memset(set, 0, sizeof(*set));
    set->node_timeout_ms = server.cluster_node_timeout;
    set->require_full_coverage = server.cluster_require_full_coverage;
    if (server.cluster_announce_ip)
        snprintf(set->announce_ip, sizeof(set->announce_ip), "%s", server.cluster_announce_ip);
    if (server.cluster_announce_hostname)
        snprintf(set->hostname, sizeof(set->hostname), "%s", server.cluster_announce_hostname);
    /* Redis's deriveAnnouncedPorts: with tls-cluster the node's port is
     * its TLS port and pport the plain one. */
    int port = server.tls_cluster ? server.tls_port : server.port;
    set->port = port;
    set->pport = server.tls_cluster ? server.port : 0;
    if (server.tls_cluster && server.cluster_announce_tls_port) {
        set->port = server.cluster_announce_tls_port;
        set->pport = server.cluster_announce_port;
    } else if (server.cluster_announce_port) {
        set->port = server.cluster_announce_port;
    }
    int cport = server.cluster_port ? server.cluster_port : port + 10000;
    set->cport = server.cluster_announce_bus_port ? server.cluster_announce_bus_port : cport;
    set->replica_validity_factor = server.cluster_replica_validity_factor;
    set->replica_no_failover = server.cluster_replica_no_failover;
    set->migration_barrier = server.cluster_migration_barrier;
    set->allow_replica_migration = server.cluster_allow_replica_migration;
    set->repl_ping_period_ms = (int64_t)server.repl_ping_replica_period * 1000;
}

static void myself_from_settings(cl_state *st) {
    cl_node *me = st->myself;
    me->port = st->set.port;
    me->cport = st->set.cport;
    me->pport = st->set.pport;
    snprintf(me->hostname, sizeof(me->hostname), "%s", st->set.hostname);
    if (st->set.announce_ip[0]) snprintf(me->ip, sizeof(me->ip), "%s", st->set.announce_ip);
}

void cluster_apply_config(void) {
    if (!cl_st) return;
    pthread_mutex_lock(&cl_mutex);
    settings_fill(&cl_st->set);
    myself_from_settings(cl_st);
    busio_set_sendbuf_limit(cl_bus, (uint64_t)server.cluster_link_sendbuf_limit);
    cl_st->state_dirty = 1;
    cl_update_state(cl_st);
    routing_rebuild(NULL);
    cl_st->todo_save = 1;
    pthread_mutex_unlock(&cl_mutex);
    busio_wake(cl_bus);
}

/* ---- Start and stop ------------------------------------------------------------------ */

int cluster_init(void) {
    int port = server.tls_cluster ? server.tls_port : server.port;
    int cport = server.cluster_port ? server.cluster_port : port + 10000;
    if (cport > 65535) {
        serverLog(LL_WARNING, "Redis port number too high. Cluster communication port is 10,000 "
                              "port numbers higher than your Redis port. Your Redis port number "
                              "must be 55535 or less.");
        return -1;
    }
    if (server.databases > 1 && ks_databases(server.db) > 1) {
        /* Redis keeps the databases but refuses SELECT != 0: so do we. */
    }
    cl_bus = busio_open(server.bind, server.bind_count, cport, &cl_mutex);
    if (!cl_bus) return -1;
    cl_io io;
    busio_fill_io(cl_bus, &io);
    io.count_slot_keys = count_slot_keys;
    io.delete_slot_keys = mark_lost_slot;
    io.routing_changed = routing_rebuild;
    cluster_replica_fill_io(&io);
    io.publish = bus_publish;
    cl_settings set;
    settings_fill(&set);
    pthread_mutex_lock(&cl_mutex);
    cl_st = cl_state_new(&io, &set);
    cl_conf_path = strdup(server.cluster_config_file);
    char err[512];
    int rc = cl_conf_load(cl_st, cl_conf_path, err, sizeof(err));
    if (rc < 0) {
        pthread_mutex_unlock(&cl_mutex);
        serverLog(LL_WARNING, "Unrecoverable error: corrupted cluster config file \"%s\": %s",
                  cl_conf_path, err);
        return -1;
    }
    if (rc == 1) {
        serverLog(LL_NOTICE, "No cluster configuration found, I'm %.40s", cl_st->myself->name);
    } else {
        serverLog(LL_NOTICE, "Node configuration loaded, I'm %.40s", cl_st->myself->name);
    }
    myself_from_settings(cl_st);
    /* Keys in slots nodes.conf does not give this node are reported, as
     * Redis's verifyClusterConfigWithData does (it takes unassigned ones). */
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (ks_slot_count(server.db, 0, s) == 0 || cl_st->slots[s] == cl_st->myself) continue;
        if (cl_st->importing_from[s]) continue;
        if (!cl_st->slots[s]) {
            serverLog(LL_NOTICE, "I have keys for unassigned slot %u. Taking responsibility for it.", s);
            cl_add_slot(cl_st, cl_st->myself, s);
        } else {
            serverLog(LL_WARNING, "I have keys for slot %u, but the slot is assigned to another "
                                  "node. Setting it to importing state.", s);
            cl_st->importing_from[s] = cl_st->slots[s];
        }
    }
    cl_st->todo_save = 1;
    if (cl_conf_save(cl_st, cl_conf_path) != 0) {
        pthread_mutex_unlock(&cl_mutex);
        serverLog(LL_WARNING, "Could not save the cluster configuration to %s: %s", cl_conf_path,
                  strerror(errno));
        return -1;
    }
    cl_st->todo_save = 0;
    busio_set_sendbuf_limit(cl_bus, (uint64_t)server.cluster_link_sendbuf_limit);
    cl_update_state(cl_st);
    routing_rebuild(NULL);
    pthread_mutex_unlock(&cl_mutex);
    busio_set_after_round(cl_bus, after_bus_round);
    if (busio_start(cl_bus, cl_st, cl_conf_path) != 0) {
        serverLog(LL_WARNING, "Could not start the cluster bus thread");
        return -1;
    }
    serverLog(LL_NOTICE, "Cluster bus listening on port %d", cport);
    return 0;
}

void cluster_shutdown(void) {
    if (!cl_bus) return;
    busio_stop(cl_bus);
    cl_bus = NULL;
    pthread_mutex_lock(&cl_mutex);
    if (cl_st->todo_save && cl_conf_save(cl_st, cl_conf_path) != 0)
        serverLog(LL_WARNING, "Could not save the cluster configuration: %s", strerror(errno));
    pthread_mutex_unlock(&cl_mutex);
    /* The state is left allocated: I/O threads are gone, the process ends. */
}

cl_state *cluster_lock(void) {
    pthread_mutex_lock(&cl_mutex);
    cl_st->now = cl_st->io.now_ms(cl_st->io.ctx);
    return cl_st;
}

void cluster_unlock(void) { pthread_mutex_unlock(&cl_mutex); }

int cluster_commit_change(void) {
    cl_state *st = cl_st;
    if (st->state_dirty) cl_update_state(st);
    routing_rebuild(NULL);
    int rc = 0;
    if (st->todo_save) {
        if (cl_conf_save(st, cl_conf_path) == 0) st->todo_save = 0;
        else rc = -1;
    }
    busio_wake(cl_bus);
    return rc;
}

unsigned long cluster_connections_count(void) {
    if (!cl_st) return 0;
    pthread_mutex_lock(&cl_mutex);
    unsigned long n = (unsigned long)(cl_st->nnodes - 1) * 2;
    pthread_mutex_unlock(&cl_mutex);
    return n;
}

uint64_t cluster_links_limit_exceeded(void) { return busio_buffer_limit_exceeded(cl_bus); }

size_t cluster_links_memory(void) {
    if (!cl_st) return 0;
    size_t sum = 0;
    pthread_mutex_lock(&cl_mutex);
    for (int i = 0; i < cl_st->nnodes; i++) {
        const cl_link *ls[2] = {cl_st->nodes[i]->link, cl_st->nodes[i]->inbound_link};
        for (int k = 0; k < 2; k++)
            if (ls[k]) sum += sizeof(cl_link) + (size_t)ls[k]->send_buffer_allocated;
    }
    pthread_mutex_unlock(&cl_mutex);
    return sum;
}

const char *cluster_endpoint(const cl_node *n) {
    switch (server.cluster_preferred_endpoint_type) {
    case 1: return n->hostname[0] ? n->hostname : "?";
    case 2: return "?";
    default: return n->ip;
    }
}

/* ---- Redirections --------------------------------------------------------------------- */

enum {
    REDIR_NONE = 0,
    REDIR_CROSS_SLOT,
    REDIR_UNSTABLE,
    REDIR_ASK,
    REDIR_MOVED,
    REDIR_DOWN_STATE,
    REDIR_DOWN_UNBOUND,
    REDIR_DOWN_RO_STATE,
};

#define ROUTE_KEYS_STACK 64

/* Keys of one call, by argv index (heap when more than the stack holds). */
static int call_keys(const command *cmd, const resp_arg *argv, int argc, int *stack, int **out) {
    int n = command_get_keys(cmd, argv, argc, stack, ROUTE_KEYS_STACK);
    *out = stack;
    if (n < ROUTE_KEYS_STACK) return n;
    int *heap = lt_xmalloc((size_t)argc * sizeof(int));
    n = command_get_keys(cmd, argv, argc, heap, argc);
    *out = heap;
    return n;
}

/* Whether key exists (unexpired) in db 0, without side effects. */
static int key_exists(const resp_arg *k) {
    ks_key key = {0, k->ptr, k->len};
    ks_txn txn;
    ks_txn_begin(&txn, server.db, &key, 1);
    int found = ks_lookup(&txn, 0, k->ptr, k->len, KS_LOOKUP_NOTOUCH | KS_LOOKUP_NOEXPIRE) != NULL;
    ks_txn_commit(&txn);
    return found;
}

/* Lock-free: 1 when every key of this call is in one slot this node serves
 * with nothing in flight and the cluster ok (the call may run), 0 when the
 * slow path must decide. */
static int route_fast(const client *c, const command *cmd, const resp_arg *argv, int argc) {
    if (!atomic_load_explicit(&cluster_route_ok, memory_order_acquire)) return 0;
    int stack[ROUTE_KEYS_STACK], *keys;
    int n = call_keys(cmd, argv, argc, stack, &keys);
    int ok = 1;
    unsigned slot = 0;
    for (int i = 0; i < n && ok; i++) {
        /* A key its pipeline batch prefetched was hashed with its slot. */
        unsigned s = c->prehash_key == argv[keys[i]].ptr
                         ? ks_hash_slot(c->prehash)
                         : cluster_key_slot(argv[keys[i]].ptr, argv[keys[i]].len);
        if (i == 0) slot = s;
        else if (s != slot) ok = 0;
    }
    if (ok && n > 0 &&
        atomic_load_explicit(&cluster_route[slot], memory_order_relaxed) != CLUSTER_ROUTE_MINE)
        ok = 0;
    if (keys != stack) free(keys);
    return ok;
}

/* Redis 7.0's getNodeByQuery in three steps: what the cluster state says
 * (under the mutex), which keys exist (after releasing it: shard locks are
 * never taken inside the mutex), the decision. */
typedef struct route_plan {
    int err;                 /* REDIR_* known from the state alone */
    int any_key, slot, mine, my_master;
    int migrating, importing, multiple_keys;
    uint64_t flags;          /* the command's, or the queued ones' (EXEC) */
    int state_ok;
    char owner[CBUS_IPLEN + CBUS_HOSTNAME_MAX + 16];     /* endpoint:port */
    char migrating_to[CBUS_IPLEN + CBUS_HOSTNAME_MAX + 16];
} route_plan;

/* Calls fn on every key of the call (EXEC: of every queued command) until
 * it returns nonzero; returns that value or 0. */
typedef int key_fn(void *ctx, const resp_arg *k);
static int for_each_key(client *c, const command *cmd, int is_exec, key_fn *fn, void *ctx) {
    for (int i = 0;; i++) {
        const command *mcmd = cmd;
        int margc = c->argc;
        const resp_arg *margv = c->argv;
        if (is_exec) {
            if (!multi_queued_at(c, i, &mcmd, &margc, &margv)) return 0;
        } else if (i > 0) {
            return 0;
        }
        int stack[ROUTE_KEYS_STACK], *keys;
        int nk = call_keys(mcmd, margv, margc, stack, &keys);
        int rc = 0;
        for (int j = 0; j < nk && !rc; j++) rc = fn(ctx, &margv[keys[j]]);
        if (keys != stack) free(keys);
        if (rc) return rc;
    }
}

typedef struct plan_ctx {
    cl_state *st;
    route_plan *p;
    const resp_arg *firstkey;
    cl_node *n;
} plan_ctx;

static int plan_key(void *ctx, const resp_arg *k) {
    plan_ctx *pc = ctx;
    route_plan *p = pc->p;
    int ts = (int)cluster_key_slot(k->ptr, k->len);
    if (!pc->firstkey) {
        pc->firstkey = k;
        p->any_key = 1;
        p->slot = ts;
        pc->n = pc->st->slots[ts];
        if (!pc->n) return REDIR_DOWN_UNBOUND;
        if (pc->n == pc->st->myself && pc->st->migrating_to[ts]) p->migrating = 1;
        else if (pc->st->importing_from[ts]) p->importing = 1;
    } else if (k->len != pc->firstkey->len || memcmp(k->ptr, pc->firstkey->ptr, k->len)) {
        if (ts != p->slot) return REDIR_CROSS_SLOT;
        p->multiple_keys = 1;
    }
    return 0;
}

typedef struct exist_ctx {
    int missing, existing;
} exist_ctx;

static int count_existing(void *ctx, const resp_arg *k) {
    exist_ctx *e = ctx;
    if (key_exists(k)) e->existing++;
    else e->missing++;
    return 0;
}

int cluster_redirect(client *c, const command *cmd) {
    /* Start-up replays the log before the cluster starts: what it holds was
     * accepted by this node, and is replayed unrouted (Redis exempts its
     * AOF client the same way). */
    if (!cl_st) return 0;
    /* Our master's stream is applied whatever the slots (Redis's
     * mustObeyClient). */
    if (c->flags & CLIENT_MASTER) return 0;
    int is_exec = multi_is_exec(cmd);
    if (!is_exec && !cmd->getkeys && cmd->key_first <= 0) return 0;
    if (is_exec && !(c->flags & CLIENT_MULTI)) return 0;
    if (!is_exec && route_fast(c, cmd, c->argv, c->argc)) return 0;
    route_plan p;
    memset(&p, 0, sizeof(p));
    p.flags = cmd->flags;
    if (is_exec) {
        const command *qc;
        int qargc;
        const resp_arg *qargv;
        p.flags = 0;
        for (int i = 0; multi_queued_at(c, i, &qc, &qargc, &qargv); i++) p.flags |= qc->flags;
    }
    pthread_mutex_lock(&cl_mutex);
    cl_state *st = cl_st;
    plan_ctx pc = {.st = st, .p = &p};
    p.err = for_each_key(c, cmd, is_exec, plan_key, &pc);
    p.state_ok = st->state == CL_OK;
    if (pc.n) {
        p.mine = pc.n == st->myself;
        p.my_master = pc.n == cl_master_of(st, st->myself);
        snprintf(p.owner, sizeof(p.owner), "%s:%d", cluster_endpoint(pc.n), pc.n->port);
        cl_node *m = p.any_key ? st->migrating_to[p.slot] : NULL;
        if (m) snprintf(p.migrating_to, sizeof(p.migrating_to), "%s:%d", cluster_endpoint(m), m->port);
    }
    pthread_mutex_unlock(&cl_mutex);

    int err = p.err;
    const char *target = p.owner;
    /* SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH (their "keys" are shard
     * channels): a channel is served by the slot's owner until SETSLOT NODE
     * moves it, whatever keys exist (no ASK, no TRYAGAIN), and they run
     * while the cluster is down with cluster-allow-pubsubshard-when-down. */
    int pubsubshard = !is_exec && (cmd->flags & CMD_PUBSUB);
    if (err == REDIR_NONE && p.any_key) {
        exist_ctx ex = {0, 0};
        if ((p.migrating || p.importing) && !pubsubshard)
            for_each_key(c, cmd, is_exec, count_existing, &ex);
        if (!p.state_ok) {
            if (pubsubshard) {
                if (!server.cluster_allow_pubsubshard_when_down) err = REDIR_DOWN_STATE;
            } else if (!server.cluster_allow_reads_when_down) {
                err = REDIR_DOWN_STATE;
            } else if (p.flags & CMD_WRITE) {
                err = REDIR_DOWN_RO_STATE;
            }
        }
        if (err != REDIR_NONE) {
            /* down: replied below */
        } else if ((p.migrating || p.importing) && !is_exec && !strcmp(cmd->name, "migrate")) {
            return 0; /* MIGRATE works locally while the slot is open, as Redis's */
        } else if (p.migrating && ex.missing) {
            err = ex.existing ? REDIR_UNSTABLE : REDIR_ASK;
            target = p.migrating_to;
        } else if (p.importing && ((c->flags & CLIENT_ASKING) || (p.flags & CMD_ASKING))) {
            if (p.multiple_keys && ex.missing) err = REDIR_UNSTABLE;
            else return 0;
        } else if (p.my_master && (c->flags & CLIENT_READONLY) && !(p.flags & CMD_WRITE)) {
            return 0; /* a replica serves reads after READONLY */
        } else if (!p.mine) {
            err = REDIR_MOVED;
        }
    }
    if (err == REDIR_NONE) return 0;
    /* EXEC discards the transaction (Redis's discardTransaction); a
     * command being queued fails it (dispatch's count_rejected). */
    if (is_exec) multi_reset(c);
    switch (err) {
    case REDIR_CROSS_SLOT:
        addReplyError(c, "CROSSSLOT Keys in request don't hash to the same slot");
        break;
    case REDIR_UNSTABLE:
        addReplyError(c, "TRYAGAIN Multiple keys request during rehashing of slot");
        break;
    case REDIR_DOWN_STATE: addReplyError(c, "CLUSTERDOWN The cluster is down"); break;
    case REDIR_DOWN_RO_STATE:
        addReplyError(c, "CLUSTERDOWN The cluster is down and only accepts read commands");
        break;
    case REDIR_DOWN_UNBOUND: addReplyError(c, "CLUSTERDOWN Hash slot not served"); break;
    default:
        addReplyErrorFormat(c, "%s %d %s", err == REDIR_ASK ? "ASK" : "MOVED", p.slot, target);
        break;
    }
    return 1;
}

/* Redis 7.0's clusterRedirectBlockedClientIfNeeded: the cluster down, or
 * a key in a slot neither served nor being imported here, ends the wait
 * with the error (no ASK: an open slot keeps its waiters). */
int cluster_redirect_blocked(client *c, const command *cmd, int argc, const resp_arg *argv) {
    if (!cl_st) return 0;
    int stack[ROUTE_KEYS_STACK], *keys;
    int n = call_keys(cmd, argv, argc, stack, &keys);
    int err = REDIR_NONE;
    unsigned slot = 0;
    char target[CBUS_IPLEN + CBUS_HOSTNAME_MAX + 16];
    pthread_mutex_lock(&cl_mutex);
    cl_state *st = cl_st;
    if (st->state != CL_OK) err = REDIR_DOWN_STATE;
    for (int i = 0; i < n && err == REDIR_NONE; i++) {
        slot = cluster_key_slot(argv[keys[i]].ptr, argv[keys[i]].len);
        cl_node *node = st->slots[slot];
        if (node == st->myself || st->importing_from[slot]) continue;
        if (!node) {
            err = REDIR_DOWN_UNBOUND;
        } else {
            err = REDIR_MOVED;
            snprintf(target, sizeof(target), "%s:%d", cluster_endpoint(node), node->port);
        }
    }
    pthread_mutex_unlock(&cl_mutex);
    if (keys != stack) free(keys);
    switch (err) {
    case REDIR_NONE: return 0;
    case REDIR_DOWN_STATE: addReplyError(c, "CLUSTERDOWN The cluster is down"); break;
    case REDIR_DOWN_UNBOUND: addReplyError(c, "CLUSTERDOWN Hash slot not served"); break;
    default: addReplyErrorFormat(c, "MOVED %u %s", slot, target); break;
    }
    return 1;
}
