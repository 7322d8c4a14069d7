/* Deterministic, seeded simulation of the cluster bus logic (src/cluster/
 * state.c, with the real wire codec): N masters on a simulated network
 * with latency, connections that reset, partitions that silently drop
 * traffic, node crashes and restarts from their last saved nodes.conf, and
 * slot moves made by "admins" during the faults. One thread, one clock, one
 * xorshift generator seeded per schedule: a failing seed replays exactly
 * (CLUSTER_SIM_SEED=<n> runs just that one; CLUSTER_SIM_SEEDS=<n> runs n
 * schedules, default 40). The seed is printed on every failure.
 *
 * Checked:
 *  - during the run, on every node: current_epoch never decreases, and the
 *    config epoch of a slot's owner (as that node sees it) never decreases
 *    except through an admin's move on that node;
 *  - a crashed master with slots is marked FAIL by the others while the
 *    majority is connected, and the flag clears after it comes back;
 *  - after the faults stop (partitions healed, every node up): the cluster
 *    converges within a bounded simulated time to one view — every node
 *    knows every node, no handshake/PFAIL/FAIL left, the same owner and
 *    config epoch for every slot everywhere (no split brain), config epochs
 *    of masters unique, every slot covered, state ok everywhere;
 *  - slot moves made once the cluster agrees are won by the last mover.
 * Slot moves are made only while the cluster agrees, as redis-cli makes
 * them: a config epoch bumped without consensus inside a partition can
 * leave a stale owner in some views, in Redis Cluster as here (the epoch
 * is per node, not per slot; docs/CLUSTER.md).
 *
 * Failover schedules (seeded_failover_schedules; CLUSTER_SIM_FAILOVER_SEED
 * replays one, CLUSTER_SIM_SEEDS / CLUSTER_SIM_FIRST_SEED pick a range):
 * masters with replicas, replication modelled as offsets (failover.h's
 * callbacks), message loss. Checked besides the above: a killed master's
 * slots end up with one of its replicas in every view and the master
 * comes back as a replica; a manual failover completes and the old master
 * resumes writes; roles agree after convergence; and at every moment no
 * (slot, config epoch) is seen owned by two different masters. A slot may
 * be unassigned for a moment when its master turns replica (Redis too),
 * so the owner-epoch check skips unassigned slots.
 */
#include "../testlib.h"

#include <stdarg.h>
#include <stdlib.h>

#include "cluster/bus.h"
#include "cluster/failover.h"
#include "cluster/nodesconf.h"
#include "cluster/state.h"

#define MAXN 10
#define TIMEOUT_MS 2000
#define MAX_EVENTS 200000

enum { EV_DELIVER, EV_CONNECTED, EV_CONNFAIL, EV_CLOSED };

typedef struct sim_conn {
    int a, b;          /* a connected to b (a's link outbound) */
    cl_link *la, *lb;  /* NULL once that side let go */
    int64_t last[2];   /* last delivery time per direction (FIFO) */
    int established;
} sim_conn;

typedef struct sim_event {
    int64_t t;
    uint64_t seq;
    int kind, side; /* side: 0 = to a, 1 = to b */
    sim_conn *conn;
    unsigned char *bytes;
    size_t len;
} sim_event;

typedef struct sim_node {
    int id, up;
    cl_state *st;
    char *conf;        /* last saved nodes.conf */
    int64_t next_cron;
} sim_node;

typedef struct sim {
    uint64_t seed, rng;
    int64_t now;
    int n;
    sim_node nodes[MAXN];
    int group[MAXN];   /* partition: nodes talk only within their group */
    sim_event *ev;
    int nev;
    uint64_t seq;
    sim_conn **conns;
    int nconns, capconns;
    int failed;
    char why[512];
    /* baselines for monotonicity */
    uint64_t cur_epoch[MAXN];
    uint64_t owner_epoch[MAXN][CLUSTER_SLOTS];
    int last_mover[CLUSTER_SLOTS]; /* -1: none checked */
    /* Failover schedules: replication as offsets (a master's grows while
     * it takes writes, a replica copies its master's while they can talk),
     * message loss, and every (slot, config epoch) -> owner ever seen. */
    int repl;
    int loss_per_mille;
    uint64_t off[MAXN];
    int64_t last_sync[MAXN], pause_until[MAXN];
    struct claim {
        uint64_t epoch;
        int owner;
    } claims[CLUSTER_SLOTS][4];
} sim;

static sim *S;

static uint64_t rnd(void) {
    uint64_t x = S->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    S->rng = x;
    return x;
}
static int rnd_below(int n) { return (int)(rnd() % (uint64_t)n); }

static void sim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sim_fail(const char *fmt, ...) {
    if (S->failed) return;
    S->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S->why, sizeof(S->why), fmt, ap);
    va_end(ap);
}

static int node_of(void *ctx) { return (int)(intptr_t)ctx; }
static int reachable(int a, int b) {
    return S->nodes[a].up && S->nodes[b].up && S->group[a] == S->group[b];
}
static int64_t latency(void) { return 1 + rnd_below(30); }

static void push(int64_t t, int kind, sim_conn *c, int side, const unsigned char *b, size_t len) {
    if (S->nev == MAX_EVENTS) {
        sim_fail("event queue full");
        return;
    }
    sim_event *e = &S->ev[S->nev++];
    e->t = t;
    e->seq = S->seq++;
    e->kind = kind;
    e->conn = c;
    e->side = side;
    e->bytes = NULL;
    e->len = len;
    if (b) {
        e->bytes = malloc(len);
        memcpy(e->bytes, b, len);
    }
}

/* ---- cl_io ------------------------------------------------------------------------ */

static int64_t io_now(void *ctx) {
    (void)ctx;
    return S->now;
}
static uint64_t io_random(void *ctx) {
    (void)ctx;
    return rnd();
}
static uint64_t io_count_keys(void *ctx, unsigned slot) {
    (void)ctx;
    (void)slot;
    return 0;
}
static void io_delete_keys(void *ctx, unsigned slot) {
    (void)ctx;
    (void)slot;
}
static void io_local_ip(void *ctx, cl_link *l, char *out, size_t cap) {
    (void)l;
    snprintf(out, cap, "10.0.0.%d", node_of(ctx) + 1);
}

static int io_connect(void *ctx, cl_link *l, const char *ip, int cport) {
    int a = node_of(ctx);
    int b = cport - 20000;
    (void)ip;
    sim_conn *c = calloc(1, sizeof(*c));
    c->a = a;
    c->b = b;
    c->la = l;
    snprintf(l->peer_ip, sizeof(l->peer_ip), "10.0.0.%d", b + 1);
    l->io = c;
    if (S->nconns == S->capconns) {
        S->capconns = S->capconns ? S->capconns * 2 : 64;
        S->conns = realloc(S->conns, (size_t)S->capconns * sizeof(*S->conns));
    }
    S->conns[S->nconns++] = c;
    if (b < 0 || b >= S->n || !reachable(a, b))
        push(S->now + (b >= 0 && b < S->n && S->nodes[b].up ? TIMEOUT_MS / 2 : latency()),
             EV_CONNFAIL, c, 0, NULL, 0);
    else
        push(S->now + latency(), EV_CONNECTED, c, 0, NULL, 0);
    return 0;
}

static void io_send(void *ctx, cl_link *l, const unsigned char *buf, size_t len) {
    sim_conn *c = l->io;
    int from = node_of(ctx);
    if (!c || !c->established) return;
    int to_side = (from == c->a && l == c->la) ? 1 : 0;
    int to = to_side ? c->b : c->a;
    if (!reachable(from, to)) return; /* a partition drops it silently */
    if (S->loss_per_mille && rnd_below(1000) < S->loss_per_mille) return; /* lost */
    int64_t t = S->now + latency();
    if (t < c->last[to_side]) t = c->last[to_side]; /* TCP keeps order */
    c->last[to_side] = t;
    push(t, EV_DELIVER, c, to_side, buf, len);
}

static void io_close(void *ctx, cl_link *l) {
    sim_conn *c = l->io;
    (void)ctx;
    l->io = NULL;
    if (!c) return;
    int side = (l == c->la) ? 0 : 1;
    if (side == 0) c->la = NULL;
    else c->lb = NULL;
    cl_link *other = side == 0 ? c->lb : c->la;
    if (other) push(S->now + latency(), EV_CLOSED, c, 1 - side, NULL, 0);
}

static uint64_t io_repl_offset(void *ctx) { return S->off[node_of(ctx)]; }
static int64_t io_data_age(void *ctx) { return S->now - S->last_sync[node_of(ctx)]; }
static void io_pause(void *ctx, int64_t until_ms) { S->pause_until[node_of(ctx)] = until_ms; }

static cl_io make_io(int id) {
    cl_io io = {
        .ctx = (void *)(intptr_t)id,
        .connect = io_connect,
        .send = io_send,
        .close = io_close,
        .local_ip = io_local_ip,
        .now_ms = io_now,
        .random = io_random,
        .count_slot_keys = io_count_keys,
        .delete_slot_keys = io_delete_keys,
    };
    if (S->repl) {
        io.repl_offset = io_repl_offset;
        io.repl_data_age_ms = io_data_age;
        io.pause_writes = io_pause;
    }
    return io;
}

static cl_settings make_settings(int id) {
    cl_settings set = {.node_timeout_ms = TIMEOUT_MS, .require_full_coverage = 1,
                       .port = 10000 + id, .cport = 20000 + id,
                       .replica_validity_factor = 10, .migration_barrier = 1,
                       .allow_replica_migration = 1, .repl_ping_period_ms = 10000};
    snprintf(set.announce_ip, sizeof(set.announce_ip), "10.0.0.%d", id + 1);
    return set;
}

static void myself_addr(cl_state *st) {
    snprintf(st->myself->ip, sizeof(st->myself->ip), "%s", st->set.announce_ip);
    st->myself->port = st->set.port;
    st->myself->cport = st->set.cport;
}

static void save_if_needed(sim_node *nd) {
    if (!nd->up || !nd->st->todo_save) return;
    lt_strbuf t = {0};
    cl_describe_all(nd->st, &t, 1);
    free(nd->conf);
    nd->conf = t.p;
    nd->st->todo_save = 0;
}

/* ---- Faults ---------------------------------------------------------------------- */

static void baseline_node(int i) {
    sim_node *nd = &S->nodes[i];
    S->cur_epoch[i] = nd->st->current_epoch;
    for (int s = 0; s < CLUSTER_SLOTS; s++)
        S->owner_epoch[i][s] = nd->st->slots[s] ? nd->st->slots[s]->config_epoch : 0;
}

static void crash(int i) {
    sim_node *nd = &S->nodes[i];
    if (!nd->up) return;
    save_if_needed(nd);
    cl_state_free(nd->st); /* closes its links: peers see resets */
    nd->st = NULL;
    nd->up = 0;
}

static void restart(int i) {
    sim_node *nd = &S->nodes[i];
    if (nd->up) return;
    cl_io io = make_io(i);
    cl_settings set = make_settings(i);
    nd->st = cl_state_new(&io, &set);
    char err[256];
    if (nd->conf && cl_conf_parse(nd->st, nd->conf, strlen(nd->conf), err, sizeof(err)) != 0)
        sim_fail("node %d cannot reload its nodes.conf: %s", i, err);
    myself_addr(nd->st);
    nd->up = 1;
    nd->next_cron = S->now + rnd_below(100);
    baseline_node(i);
}

static void reset_random_conn(void) {
    if (!S->nconns) return;
    sim_conn *c = S->conns[rnd_below(S->nconns)];
    if (c->la) push(S->now + latency(), EV_CLOSED, c, 0, NULL, 0);
    if (c->lb) push(S->now + latency(), EV_CLOSED, c, 1, NULL, 0);
}

/* Moves k random slots to node t the way an admin's SETSLOT NODE after an
 * import does: t takes them and bumps its config epoch. */
static void move_slots(int t, int k) {
    cl_state *st = S->nodes[t].st;
    for (int j = 0; j < k; j++) {
        int s = rnd_below(CLUSTER_SLOTS);
        if (st->slots[s] != st->myself) {
            cl_del_slot(st, (unsigned)s);
            cl_add_slot(st, st->myself, (unsigned)s);
        }
        S->last_mover[s] = t;
    }
    cl_bump_epoch(st);
    cl_routing_changed(st);
    cl_broadcast_pong(st);
    baseline_node(t);
}

/* ---- The loop -------------------------------------------------------------------- */

static int ev_cmp(const void *x, const void *y) {
    const sim_event *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static void run_event(sim_event *e) {
    sim_conn *c = e->conn;
    int to = e->side ? c->b : c->a;
    cl_link *l = e->side ? c->lb : c->la;
    sim_node *nd = &S->nodes[to];
    switch (e->kind) {
    case EV_CONNFAIL:
        if (c->la && S->nodes[c->a].up) {
            cl_link *la = c->la;
            c->la = NULL;
            la->io = NULL;
            cl_link_closed(S->nodes[c->a].st, la);
        }
        break;
    case EV_CONNECTED:
        if (!c->la || !S->nodes[c->a].up) break;
        if (!reachable(c->a, c->b)) {
            push(S->now + TIMEOUT_MS / 2, EV_CONNFAIL, c, 0, NULL, 0);
            break;
        }
        c->established = 1;
        c->lb = cl_link_accepted(S->nodes[c->b].st, c, "10.0.0.x");
        snprintf(c->lb->peer_ip, sizeof(c->lb->peer_ip), "10.0.0.%d", c->a + 1);
        cl_link_connected(S->nodes[c->a].st, c->la);
        break;
    case EV_CLOSED:
        if (l && nd->up) {
            if (e->side) c->lb = NULL;
            else c->la = NULL;
            l->io = NULL;
            cl_link_closed(nd->st, l);
        }
        break;
    case EV_DELIVER:
        if (l && nd->up) cl_process(nd->st, l, e->bytes, e->len);
        break;
    }
    free(e->bytes);
}

/* The sim index of a node as some state sees it (by its bus port). */
static int sim_index(const cl_node *n) {
    int i = n->cport - 20000;
    return i >= 0 && i < S->n ? i : -1;
}

static void check_monotonic(void) {
    for (int i = 0; i < S->n; i++) {
        sim_node *nd = &S->nodes[i];
        if (!nd->up) continue;
        if (nd->st->current_epoch < S->cur_epoch[i])
            sim_fail("node %d: current_epoch went back from %llu to %llu", i,
                     (unsigned long long)S->cur_epoch[i],
                     (unsigned long long)nd->st->current_epoch);
        S->cur_epoch[i] = nd->st->current_epoch;
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            /* A master that turned replica loses its slots at once: they
             * are unassigned until the new owner's claim arrives (Redis
             * too). The next owner must not be older. */
            if (!nd->st->slots[s]) continue;
            uint64_t e = nd->st->slots[s]->config_epoch;
            if (e < S->owner_epoch[i][s])
                sim_fail("node %d: slot %d owner epoch went back from %llu to %llu (owner: "
                         "node %d) at %lld ms", i, s, (unsigned long long)S->owner_epoch[i][s],
                         (unsigned long long)e, sim_index(nd->st->slots[s]),
                         (long long)(S->now - 1000000));
            S->owner_epoch[i][s] = e;
        }
    }
}


/* Replication, 10 ms of it: masters take writes unless a manual failover
 * paused them; a replica that can reach its master is caught up (full or
 * partial sync alike), now and then a step late. */
static void replicate_step(void) {
    for (int i = 0; i < S->n; i++) {
        sim_node *nd = &S->nodes[i];
        if (!nd->up) continue;
        cl_state *st = nd->st;
        if (cl_node_is_master(st->myself)) {
            if (S->now >= S->pause_until[i]) S->off[i] += (uint64_t)rnd_below(50);
            continue;
        }
        cl_node *m = cl_master_of(st, st->myself);
        int mi = m ? sim_index(m) : -1;
        if (mi >= 0 && mi != i && reachable(i, mi) && rnd_below(10) < 8) {
            S->off[i] = S->off[mi];
            S->last_sync[i] = S->now;
        }
    }
}

/* No two masters ever own a slot with the same config epoch, in any
 * node's view at any time (each epoch has one election winner). */
static void check_claims(void) {
    for (int i = 0; i < S->n; i++) {
        if (!S->nodes[i].up) continue;
        cl_state *st = S->nodes[i].st;
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            cl_node *o = st->slots[s];
            if (!o) continue;
            int oi = sim_index(o);
            struct claim *c = S->claims[s];
            int k;
            for (k = 0; k < 4; k++)
                if (c[k].owner && c[k].epoch == o->config_epoch) break;
            if (k < 4) {
                if (c[k].owner != oi + 1)
                    sim_fail("split brain: slot %d is claimed in config epoch %llu by node %d "
                             "and by node %d (seen by node %d)", s,
                             (unsigned long long)o->config_epoch, c[k].owner - 1, oi, i);
                continue;
            }
            /* New (slot, epoch): replaces the oldest epoch remembered. */
            for (k = 0; k < 4; k++)
                if (!c[k].owner) break;
            if (k == 4) {
                k = 0;
                for (int j = 1; j < 4; j++)
                    if (c[j].epoch < c[k].epoch) k = j;
                if (c[k].epoch > o->config_epoch) continue; /* older than all kept */
            }
            c[k].epoch = o->config_epoch;
            c[k].owner = oi + 1;
        }
    }
}

/* Advances the simulation by ms of time (10 ms steps). faults: inject. */
static void advance(int64_t ms, int faults) {
    int64_t end = S->now + ms;
    while (S->now < end && !S->failed) {
        S->now += 10;
        qsort(S->ev, (size_t)S->nev, sizeof(sim_event), ev_cmp);
        int done = 0;
        while (done < S->nev && S->ev[done].t <= S->now) {
            run_event(&S->ev[done]);
            int to = S->ev[done].side ? S->ev[done].conn->b : S->ev[done].conn->a;
            save_if_needed(&S->nodes[to]);
            done++;
        }
        memmove(S->ev, S->ev + done, (size_t)(S->nev - done) * sizeof(sim_event));
        S->nev -= done;
        for (int i = 0; i < S->n; i++) {
            sim_node *nd = &S->nodes[i];
            if (!nd->up || S->now < nd->next_cron) continue;
            cl_cron(nd->st);
            save_if_needed(nd);
            nd->next_cron += 100;
        }
        if (S->repl) replicate_step();
        if (S->now % 100 == 0) {
            check_monotonic();
            if (S->repl) check_claims();
        }
        if (!faults) continue;
        int r = rnd_below(1000);
        if (r < 3) {
            /* A partition: a random minority or a random split. */
            for (int i = 0; i < S->n; i++) S->group[i] = rnd_below(2);
        } else if (r < 8) {
            for (int i = 0; i < S->n; i++) S->group[i] = 0;
        } else if (r < 10) {
            crash(rnd_below(S->n));
        } else if (r < 16) {
            restart(rnd_below(S->n));
        } else if (r < 24) {
            reset_random_conn();
        }
    }
}

static int agreed(char *why, size_t cap) {
    sim_node *ref = &S->nodes[0];
    for (int i = 0; i < S->n; i++) {
        cl_state *st = S->nodes[i].st;
        if (st->nnodes != S->n) {
            snprintf(why, cap, "node %d knows %d nodes", i, st->nnodes);
            return 0;
        }
        if (st->state != CL_OK) {
            snprintf(why, cap, "node %d: cluster state fail", i);
            return 0;
        }
        for (int j = 0; j < st->nnodes; j++) {
            cl_node *n = st->nodes[j];
            if (n->flags & (CNODE_HANDSHAKE | CNODE_PFAIL | CNODE_FAIL | CNODE_NOADDR)) {
                snprintf(why, cap, "node %d sees %.8s with flags %d", i, n->name, n->flags);
                return 0;
            }
            for (int k = j + 1; k < st->nnodes; k++)
                if (cl_node_is_master(n) && cl_node_is_master(st->nodes[k]) &&
                    n->config_epoch == st->nodes[k]->config_epoch) {
                    snprintf(why, cap, "node %d: two masters with config epoch %llu", i,
                             (unsigned long long)n->config_epoch);
                    return 0;
                }
            cl_node *rn = cl_lookup(ref->st, n->name, CBUS_NAMELEN);
            if (!rn || (cl_node_is_master(n) && rn->config_epoch != n->config_epoch)) {
                snprintf(why, cap, "node %d and node 0 disagree on %.8s's epoch", i, n->name);
                return 0;
            }
            if ((n->flags & (CNODE_MASTER | CNODE_SLAVE)) != (rn->flags & (CNODE_MASTER | CNODE_SLAVE)) ||
                memcmp(n->slaveof, rn->slaveof, CBUS_NAMELEN)) {
                snprintf(why, cap, "node %d and node 0 disagree on %.8s's role", i, n->name);
                return 0;
            }
        }
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (!st->slots[s]) {
                snprintf(why, cap, "node %d: slot %d unassigned", i, s);
                return 0;
            }
            if (memcmp(st->slots[s]->name, ref->st->slots[s]->name, CBUS_NAMELEN)) {
                snprintf(why, cap, "split brain: slot %d is %.8s's for node %d, %.8s's for node 0",
                         s, st->slots[s]->name, i, ref->st->slots[s]->name);
                return 0;
            }
        }
    }
    return 1;
}

/* Runs until every node agrees (checked each simulated second), at most
 * limit_ms. */
static int converge(int64_t limit_ms, char *why, size_t cap) {
    for (int64_t t = 0; t < limit_ms && !S->failed; t += 1000) {
        advance(1000, 0);
        if (agreed(why, cap)) return 1;
    }
    return 0;
}

static void run_schedule(uint64_t seed) {
    S = calloc(1, sizeof(*S));
    S->seed = seed;
    S->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    S->n = 3 + (int)(seed % 5);
    S->ev = malloc(MAX_EVENTS * sizeof(sim_event));
    for (int s = 0; s < CLUSTER_SLOTS; s++) S->last_mover[s] = -1;
    S->now = 1000000;
    for (int i = 0; i < S->n; i++) {
        S->nodes[i].id = i;
        restart(i);
    }
    /* redis-cli --cluster create: distinct epochs, slots, then MEET. */
    /* Even seeds: every node starts at config epoch 0 (nodes joined with
     * CLUSTER MEET and ADDSLOTS only), so collision handling must make the
     * epochs unique; odd seeds: redis-cli's distinct epochs. */
    int equal_epochs = seed % 2 == 0;
    for (int i = 0; i < S->n; i++) {
        cl_state *st = S->nodes[i].st;
        st->myself->config_epoch = equal_epochs ? 0 : (uint64_t)i + 1;
        st->current_epoch = st->myself->config_epoch;
        int a = CLUSTER_SLOTS * i / S->n, b = CLUSTER_SLOTS * (i + 1) / S->n;
        for (int s = a; s < b; s++) cl_add_slot(st, st->myself, (unsigned)s);
        baseline_node(i);
    }
    for (int i = 1; i < S->n; i++)
        cl_start_handshake(S->nodes[0].st, "10.0.0.1", 10000 + i, 20000 + i);
    char why[256] = "";
    if (!converge(60000, why, sizeof(why))) sim_fail("initial join did not converge: %s", why);

    /* Failure detection: a crashed master is FAILed by the majority. */
    if (!S->failed && S->n >= 3) {
        int victim = rnd_below(S->n);
        crash(victim);
        advance(TIMEOUT_MS * 4, 0);
        for (int i = 0; i < S->n && !S->failed; i++) {
            if (i == victim) continue;
            cl_node *v = NULL;
            for (int j = 0; j < S->nodes[i].st->nnodes; j++)
                if (S->nodes[i].st->nodes[j]->cport == 20000 + victim) v = S->nodes[i].st->nodes[j];
            if (!v || !(v->flags & CNODE_FAIL))
                sim_fail("node %d did not mark crashed node %d FAIL", i, victim);
        }
        restart(victim);
        if (!S->failed && !converge(60000, why, sizeof(why)))
            sim_fail("no recovery after the crash of node %d: %s", victim, why);
    }

    /* Faults: partitions, resets, crashes, restarts, slot moves. */
    advance(40000, 1);
    for (int i = 0; i < S->n; i++) S->group[i] = 0;
    for (int i = 0; i < S->n; i++) restart(i);
    if (!S->failed && !converge(120000, why, sizeof(why)))
        sim_fail("no convergence after the faults: %s", why);

    /* Moves in an agreeing cluster: the last mover wins every slot. */
    for (int round = 0; round < 3 && !S->failed; round++) {
        move_slots(rnd_below(S->n), 1 + rnd_below(200));
        if (!converge(60000, why, sizeof(why))) sim_fail("no convergence after a move: %s", why);
    }
    for (int s = 0; s < CLUSTER_SLOTS && !S->failed; s++) {
        if (S->last_mover[s] < 0) continue;
        cl_state *st = S->nodes[0].st;
        if (st->slots[s]->cport != 20000 + S->last_mover[s])
            sim_fail("slot %d: moved to node %d last, owned by cport %d", s, S->last_mover[s],
                     st->slots[s]->cport);
    }

    if (S->failed)
        testlib_fail(__FILE__, __LINE__, "seed %llu (%d nodes): %s", (unsigned long long)seed,
                     S->n, S->why);
    for (int i = 0; i < S->n; i++) {
        if (S->nodes[i].up) cl_state_free(S->nodes[i].st);
        free(S->nodes[i].conf);
    }
    for (int i = 0; i < S->nev; i++) free(S->ev[i].bytes);
    for (int i = 0; i < S->nconns; i++) free(S->conns[i]);
    free(S->conns);
    free(S->ev);
    free(S);
    S = NULL;
}

/* ---- Replicas and failover ---------------------------------------------------------- */

static void sim_free(void) {
    for (int i = 0; i < S->n; i++) {
        if (S->nodes[i].up) cl_state_free(S->nodes[i].st);
        free(S->nodes[i].conf);
    }
    for (int i = 0; i < S->nev; i++) free(S->ev[i].bytes);
    for (int i = 0; i < S->nconns; i++) free(S->conns[i]);
    free(S->conns);
    free(S->ev);
    free(S);
    S = NULL;
}

/* node `who` as node `viewer` sees it */
static cl_node *view_of(int viewer, int who) {
    cl_state *st = S->nodes[viewer].st;
    for (int j = 0; j < st->nnodes; j++)
        if (st->nodes[j]->cport == 20000 + who) return st->nodes[j];
    return NULL;
}

/* Every live node sees every slot of `slots` owned by a master other
 * than `not_owner` (-1: any), and sees `master` (-1: skip) as a master. */
static int taken_over(const unsigned char *slots, int not_owner, int master) {
    for (int i = 0; i < S->n; i++) {
        if (!S->nodes[i].up) continue;
        cl_state *st = S->nodes[i].st;
        if (master >= 0) {
            cl_node *m = view_of(i, master);
            if (!m || !cl_node_is_master(m)) return 0;
        }
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (!slot_bitmap_test(slots, (unsigned)s)) continue;
            cl_node *o = st->slots[s];
            if (!o || sim_index(o) == not_owner || !cl_node_is_master(o) || (o->flags & CNODE_FAIL))
                return 0;
        }
    }
    return 1;
}

static int wait_for(int64_t limit_ms, const unsigned char *slots, int not_owner, int master) {
    for (int64_t t = 0; t < limit_ms && !S->failed; t += 500) {
        advance(500, 0);
        if (taken_over(slots, not_owner, master)) return 1;
    }
    return 0;
}

static int migrations_checked; /* schedules that checked a replica migration */

/* M masters (3-5), one replica each (a second one for master 0 when
 * there is room): redis-cli's create, then a master killed (one of its
 * replicas must take its slots; back, it must become a replica), a
 * manual failover, then partitions, crashes, restarts, resets and message
 * loss (2%), and convergence. check_claims runs throughout. */
static void run_failover_schedule(uint64_t seed) {
    S = calloc(1, sizeof(*S));
    S->seed = seed;
    S->rng = seed * 0x9E3779B97F4A7C15ull + 7;
    S->repl = 1;
    int masters = 3 + (int)(seed % 3);
    S->n = masters * 2 + (masters * 2 < MAXN && (seed / 3) % 2);
    S->ev = malloc(MAX_EVENTS * sizeof(sim_event));
    for (int s = 0; s < CLUSTER_SLOTS; s++) S->last_mover[s] = -1;
    S->now = 1000000;
    for (int i = 0; i < S->n; i++) {
        S->nodes[i].id = i;
        restart(i);
    }
    for (int i = 0; i < S->n; i++) {
        cl_state *st = S->nodes[i].st;
        st->myself->config_epoch = (uint64_t)i + 1;
        st->current_epoch = st->myself->config_epoch;
        if (i < masters) {
            int a = CLUSTER_SLOTS * i / masters, b = CLUSTER_SLOTS * (i + 1) / masters;
            for (int s = a; s < b; s++) cl_add_slot(st, st->myself, (unsigned)s);
        }
        baseline_node(i);
    }
    for (int i = 1; i < S->n; i++)
        cl_start_handshake(S->nodes[0].st, "10.0.0.1", 10000 + i, 20000 + i);
    char why[256] = "";
    if (!converge(60000, why, sizeof(why))) sim_fail("initial join did not converge: %s", why);
    /* CLUSTER REPLICATE on each replica. */
    for (int i = masters; i < S->n && !S->failed; i++) {
        cl_state *st = S->nodes[i].st;
        cl_node *m = view_of(i, (i - masters) % masters);
        if (!m) {
            sim_fail("node %d does not know master %d", i, (i - masters) % masters);
            break;
        }
        cl_set_master(st, m);
        cl_broadcast_pong(st);
    }
    if (!S->failed && !converge(60000, why, sizeof(why)))
        sim_fail("replicas did not converge: %s", why);

    /* kill -9 of a master: a replica takes over, the master returns as a
     * replica. */
    if (!S->failed) {
        int victim = rnd_below(masters);
        unsigned char slots[CLUSTER_SLOTS / 8];
        memcpy(slots, view_of(0, victim)->slots, sizeof(slots));
        crash(victim);
        if (!wait_for(60000, slots, victim, -1))
            sim_fail("no failover after master %d crashed", victim);
        restart(victim);
        if (!S->failed && !converge(60000, why, sizeof(why)))
            sim_fail("no convergence after master %d came back: %s", victim, why);
        if (!S->failed && !(view_of(0, victim)->flags & CNODE_SLAVE))
            sim_fail("old master %d did not become a replica", victim);
    }

    /* CLUSTER FAILOVER on a replica. */
    if (!S->failed) {
        int r = -1;
        for (int i = 0; i < S->n && r < 0; i++)
            if (S->nodes[i].st->myself->flags & CNODE_SLAVE) r = i;
        cl_state *st = S->nodes[r].st;
        cl_node *m = cl_master_of(st, st->myself);
        unsigned char slots[CLUSTER_SLOTS / 8];
        memcpy(slots, m->slots, sizeof(slots));
        int mi = sim_index(m);
        cl_manual_failover_start(st, 0, 0);
        if (!wait_for(30000, slots, mi, r)) sim_fail("manual failover of node %d failed", r);
        if (!S->failed && !converge(60000, why, sizeof(why)))
            sim_fail("no convergence after the manual failover: %s", why);
        if (!S->failed && !(view_of(0, mi)->flags & CNODE_SLAVE))
            sim_fail("node %d did not become a replica after the manual failover", mi);
        if (!S->failed && S->pause_until[mi] != 0)
            sim_fail("node %d still pauses writes after the manual failover", mi);
    }

    /* Replica migration: the only replica of a master dies; a master
     * with two replicas gives it one (after 5 s). */
    if (!S->failed) {
        int two = -1, one = -1;
        for (int i = 0; i < S->n; i++) {
            cl_node *m = view_of(0, i);
            if (!m || !cl_node_is_master(m) || !m->numslots) continue;
            int k = cl_count_replicas(S->nodes[0].st, m, 1);
            if (k >= 2 && two < 0) two = i;
            if (k == 1 && one < 0) one = i;
        }
        if (two >= 0 && one >= 0) {
            int victim = -1;
            for (int i = 0; i < S->n; i++) {
                cl_node *r = view_of(0, i);
                if (r && cl_master_of(S->nodes[0].st, r) == view_of(0, one)) victim = i;
            }
            crash(victim);
            migrations_checked++;
            int migrated = 0;
            for (int64_t t = 0; t < 60000 && !migrated && !S->failed; t += 500) {
                advance(500, 0);
                cl_node *m = view_of(0, one);
                migrated = cl_count_replicas(S->nodes[0].st, m, 1) >= 1 &&
                           cl_count_replicas(S->nodes[0].st, view_of(0, two), 1) == 1;
            }
            if (!migrated)
                sim_fail("no replica migrated to master %d after its replica %d died", one, victim);
            restart(victim);
            if (!S->failed && !converge(60000, why, sizeof(why)))
                sim_fail("no convergence after the replica migration: %s", why);
        }
    }

    /* Faults, with message loss. */
    S->loss_per_mille = 20;
    advance(40000, 1);
    S->loss_per_mille = 0;
    for (int i = 0; i < S->n; i++) S->group[i] = 0;
    for (int i = 0; i < S->n; i++) restart(i);
    if (!S->failed && !converge(120000, why, sizeof(why)))
        sim_fail("no convergence after the faults: %s", why);

    if (S->failed)
        testlib_fail(__FILE__, __LINE__, "failover seed %llu (%d nodes): %s",
                     (unsigned long long)seed, S->n, S->why);
    sim_free();
}

TEST(seeded_failover_schedules) {
    const char *one = getenv("CLUSTER_SIM_FAILOVER_SEED");
    if (one) {
        run_failover_schedule(strtoull(one, NULL, 10));
        return;
    }
    const char *ns = getenv("CLUSTER_SIM_SEEDS"), *fs = getenv("CLUSTER_SIM_FIRST_SEED");
    int n = ns ? atoi(ns) : 40;
    uint64_t first = fs ? strtoull(fs, NULL, 10) : 1;
    for (int i = 0; i < n && !testlib_current_failed; i++) run_failover_schedule(first + (uint64_t)i);
    /* Every sixth schedule or so has a master with two replicas: some of
     * them must have checked a migration. */
    if (n >= 12 && !testlib_current_failed) CHECK(migrations_checked > 0);
    fprintf(stderr, "# %d of %d failover schedules checked a replica migration\n",
            migrations_checked, n);
}

TEST(seeded_schedules) {
    const char *one = getenv("CLUSTER_SIM_SEED");
    if (one) {
        run_schedule(strtoull(one, NULL, 10));
        return;
    }
    const char *ns = getenv("CLUSTER_SIM_SEEDS");
    int n = ns ? atoi(ns) : 40;
    for (int i = 1; i <= n && !testlib_current_failed; i++) run_schedule((uint64_t)i);
}

int main(void) {
    RUN(seeded_schedules);
    RUN(seeded_failover_schedules);
    return testlib_finish();
}
