/*
 * state.c — the cluster bus protocol as a state machine (see state.h for
 * its contract and invariants). The rules are Redis 7.0's, for masters:
 *
 *  - Handshake: CLUSTER MEET adds a node in HANDSHAKE with a random name and
 *    MEET pending; cron connects and sends MEET; the peer adds us (it
 *    learns the name from the header) and answers PONG; the PONG renames
 *    the handshake node to its real name. A handshake not finished within
 *    node_timeout (at least 1 s) is dropped. Nodes gossiped by known nodes
 *    are met the same way, with PING instead of MEET.
 *  - Liveness: every node with a link is pinged when its last PONG is older
 *    than node_timeout/2, and once a second the oldest-ponged of five random
 *    nodes. No PONG and no data for node_timeout: PFAIL. A master that sees
 *    PFAIL (its own view) plus reports from a majority of the masters
 *    serving slots (reports younger than 2 x node_timeout) marks the node
 *    FAIL and broadcasts FAIL; a FAIL master with slots is cleared only
 *    after 2 x node_timeout of reachability.
 *  - Slots: a master's PING/PONG carries its slot bitmap and config epoch;
 *    a claim for a slot whose owner has a smaller config epoch wins (keys
 *    we held in a slot we lose are deleted); a claim with a smaller epoch
 *    than the owner's gets an UPDATE back. Two masters with the same config
 *    epoch: the one with the greater name keeps it, the smaller takes
 *    current_epoch + 1 (collision handling), so epochs become unique.
 *  - Cluster state: ok when every slot is served by a non-FAIL master
 *    (cluster-require-full-coverage) and a majority of slot-serving masters
 *    is reachable; a master that was in the minority waits a rejoin delay.
 */
#include "cluster/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cluster/failover.h"
#include "common/assert.h"
#include "common/xalloc.h"

static const char null_name[CBUS_NAMELEN];

int cl_node_is_master(const cl_node *n) { return (n->flags & CNODE_MASTER) != 0; }

void cl_routing_changed(cl_state *st) {
    if (st->io.routing_changed) st->io.routing_changed(st->io.ctx);
}

void cl_random_name(cl_state *st, char out[CBUS_NAMELEN]) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < CBUS_NAMELEN; i += 16) {
        uint64_t r = st->io.random(st->io.ctx);
        for (int j = 0; j < 16 && i + j < CBUS_NAMELEN; j++) out[i + j] = hex[(r >> (4 * j)) & 15];
    }
}

/* ---- Links ----------------------------------------------------------------- */

static cl_link *link_new(cl_state *st, cl_node *n, int inbound) {
    cl_link *l = lt_xcalloc(1, sizeof(*l));
    l->ctime = st->now;
    l->node = n;
    l->inbound = inbound;
    l->next_all = st->links;
    st->links = l;
    return l;
}

/* Unlinks l from everything and frees it; closes its connection unless the
 * transport reported it closed. */
static void link_free(cl_state *st, cl_link *l, int close_io) {
    if (close_io && l->io) st->io.close(st->io.ctx, l);
    if (l->node) {
        if (l->node->link == l) l->node->link = NULL;
        if (l->node->inbound_link == l) l->node->inbound_link = NULL;
    }
    for (cl_link **p = &st->links; *p; p = &(*p)->next_all)
        if (*p == l) {
            *p = l->next_all;
            break;
        }
    free(l);
}

cl_link *cl_link_accepted(cl_state *st, void *io, const char *peer_ip) {
    st->now = st->io.now_ms(st->io.ctx);
    cl_link *l = link_new(st, NULL, 1);
    l->io = io;
    snprintf(l->peer_ip, sizeof(l->peer_ip), "%s", peer_ip ? peer_ip : "");
    return l;
}

static void send_ping(cl_state *st, cl_link *l, int type);

void cl_link_connected(cl_state *st, cl_link *l) {
    st->now = st->io.now_ms(st->io.ctx);
    l->connected = 1;
    cl_node *n = l->node;
    if (!n) return;
    /* Redis: the first message on a new link is a PING (or MEET), and the
     * ping_sent of a node already waiting is kept so PFAIL still fires. */
    int64_t old_ping = n->ping_sent;
    send_ping(st, l, (n->flags & CNODE_MEET) ? CBUS_MEET : CBUS_PING);
    if (old_ping) n->ping_sent = old_ping;
    n->flags &= ~CNODE_MEET;
}

void cl_link_closed(cl_state *st, cl_link *l) {
    st->now = st->io.now_ms(st->io.ctx);
    l->io = NULL;
    link_free(st, l, 0);
}

/* ---- Nodes ------------------------------------------------------------------ */

cl_node *cl_node_new(cl_state *st, const char *name, int flags) {
    cl_node *n = lt_xcalloc(1, sizeof(*n));
    if (name) memcpy(n->name, name, CBUS_NAMELEN);
    else cl_random_name(st, n->name);
    n->ctime = st->now;
    n->flags = flags;
    n->last_in_gossip = -1;
    return n;
}

void cl_node_add(cl_state *st, cl_node *n) {
    st->nodes = lt_xrealloc(st->nodes, (size_t)(st->nnodes + 1) * sizeof(*st->nodes));
    st->nodes[st->nnodes++] = n;
}

cl_node *cl_lookup(cl_state *st, const char *name, size_t len) {
    if (len != CBUS_NAMELEN) return NULL;
    for (int i = 0; i < st->nnodes; i++)
        if (!memcmp(st->nodes[i]->name, name, CBUS_NAMELEN)) return st->nodes[i];
    return NULL;
}

static void report_del(cl_node *n, cl_node *reporter) {
    for (int i = 0; i < n->nreports; i++)
        if (n->reports[i].node == reporter) {
            n->reports[i] = n->reports[--n->nreports];
            return;
        }
}

/* Removes n from every table and frees it (myself never). */
static void node_del(cl_state *st, cl_node *n) {
    ASSERT(n != st->myself);
    if (st->fo.mf_replica == n) cl_manual_failover_reset(st); /* no dangling pointer */
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        if (st->importing_from[s] == n) st->importing_from[s] = NULL;
        if (st->migrating_to[s] == n) st->migrating_to[s] = NULL;
        if (st->slots[s] == n) cl_del_slot(st, (unsigned)s);
    }
    for (int i = 0; i < st->nnodes; i++) report_del(st->nodes[i], n);
    if (n->link) link_free(st, n->link, 1);
    if (n->inbound_link) link_free(st, n->inbound_link, 1);
    /* Inbound links not yet bound to a node never point at n; other links
     * that still do (a handshake node's) are dropped here too. */
    for (cl_link *l = st->links, *next; l; l = next) {
        next = l->next_all;
        if (l->node == n) link_free(st, l, 1);
    }
    for (int i = 0; i < st->nnodes; i++)
        if (st->nodes[i] == n) {
            st->nodes[i] = st->nodes[--st->nnodes];
            break;
        }
    free(n->reports);
    free(n);
    st->todo_save = 1;
    st->state_dirty = 1;
}

static int blacklist_has(cl_state *st, const char *name) {
    int64_t now_s = st->now / 1000;
    for (int i = 0; i < st->nblacklist;) {
        if (st->blacklist[i].expire_s < now_s) {
            st->blacklist[i] = st->blacklist[--st->nblacklist];
            continue;
        }
        if (!memcmp(st->blacklist[i].name, name, CBUS_NAMELEN)) return 1;
        i++;
    }
    return 0;
}

static void blacklist_add(cl_state *st, const char *name, int64_t ttl_s) {
    int64_t exp = st->now / 1000 + ttl_s;
    for (int i = 0; i < st->nblacklist; i++)
        if (!memcmp(st->blacklist[i].name, name, CBUS_NAMELEN)) {
            st->blacklist[i].expire_s = exp;
            return;
        }
    if (st->nblacklist == CL_MAX_BLACKLIST) {
        /* Full: the entry closest to expiring makes room (bounded memory). */
        int m = 0;
        for (int i = 1; i < st->nblacklist; i++)
            if (st->blacklist[i].expire_s < st->blacklist[m].expire_s) m = i;
        st->blacklist[m] = st->blacklist[--st->nblacklist];
    }
    memcpy(st->blacklist[st->nblacklist].name, name, CBUS_NAMELEN);
    st->blacklist[st->nblacklist++].expire_s = exp;
}

void cl_forget(cl_state *st, cl_node *n) {
    blacklist_add(st, n->name, CL_BLACKLIST_TTL_S);
    node_del(st, n);
    cl_routing_changed(st);
}

/* ---- Slots ------------------------------------------------------------------- */

void cl_add_slot(cl_state *st, cl_node *n, unsigned slot) {
    ASSERT(slot < CLUSTER_SLOTS && st->slots[slot] == NULL);
    st->slots[slot] = n;
    slot_bitmap_set(n->slots, slot);
    n->numslots++;
    st->todo_save = 1;
    st->state_dirty = 1;
}

void cl_del_slot(cl_state *st, unsigned slot) {
    cl_node *n = st->slots[slot];
    if (!n) return;
    slot_bitmap_clear(n->slots, slot);
    n->numslots--;
    st->slots[slot] = NULL;
    st->todo_save = 1;
    st->state_dirty = 1;
}

/* ---- Failure reports ----------------------------------------------------------- */

int cl_fail_reports(cl_state *st, cl_node *n) {
    int64_t maxtime = st->set.node_timeout_ms * CL_FAIL_REPORT_VALIDITY_MULT;
    for (int i = 0; i < n->nreports;) {
        if (st->now - n->reports[i].time > maxtime) n->reports[i] = n->reports[--n->nreports];
        else i++;
    }
    return n->nreports;
}

static void report_add(cl_state *st, cl_node *n, cl_node *reporter) {
    for (int i = 0; i < n->nreports; i++)
        if (n->reports[i].node == reporter) {
            n->reports[i].time = st->now;
            return;
        }
    if (n->nreports == n->capreports) {
        n->capreports = n->capreports ? n->capreports * 2 : 4;
        n->reports = lt_xrealloc(n->reports, (size_t)n->capreports * sizeof(*n->reports));
    }
    n->reports[n->nreports].node = reporter;
    n->reports[n->nreports++].time = st->now;
}

/* ---- Sending ---------------------------------------------------------------------- */

static unsigned char *scratch(cl_state *st, size_t len) {
    if (st->sendcap < len) {
        st->sendbuf = lt_xrealloc(st->sendbuf, len);
        st->sendcap = len;
    }
    return st->sendbuf;
}

static void build_header(cl_state *st, cbus_msg *m, int type) {
    memset(m, 0, sizeof(*m));
    cl_node *me = st->myself;
    /* A replica announces its master's slots and config epoch (Redis). */
    cl_node *master = cl_master_of(st, me);
    if (!master) master = me;
    m->type = (uint16_t)type;
    memcpy(m->sender, me->name, CBUS_NAMELEN);
    memcpy(m->myslots, master->slots, sizeof(m->myslots));
    memcpy(m->slaveof, me->slaveof, CBUS_NAMELEN);
    snprintf(m->myip, sizeof(m->myip), "%s", st->set.announce_ip);
    m->port = (uint16_t)st->set.port;
    m->cport = (uint16_t)st->set.cport;
    m->pport = (uint16_t)st->set.pport;
    m->flags = (uint16_t)me->flags;
    m->state = (uint8_t)st->state;
    m->current_epoch = st->current_epoch;
    m->config_epoch = master->config_epoch;
    if (st->io.repl_offset) me->repl_offset = st->io.repl_offset(st->io.ctx);
    m->offset = me->repl_offset;
    if (cl_node_is_master(me) && st->fo.mf_end) m->mflags[0] |= CBUS_MFLAG0_PAUSED;
}

static void send_msg(cl_state *st, cl_link *l, const cbus_msg *m) {
    if (!l || !l->io) return;
    size_t len = cbus_encoded_len(m);
    unsigned char *buf = scratch(st, len);
    size_t n = cbus_encode(m, buf, len);
    ASSERT(n == len);
    st->io.send(st->io.ctx, l, buf, n);
    if (m->type < CBUS_TYPE_COUNT) st->stats_sent[m->type]++;
}

static void gossip_fill(cl_state *st, cl_node *n, cbus_gossip *g) {
    memset(g, 0, sizeof(*g));
    memcpy(g->name, n->name, CBUS_NAMELEN);
    g->ping_sent = (uint32_t)(n->ping_sent / 1000);
    g->pong_received = (uint32_t)(n->pong_received / 1000);
    snprintf(g->ip, sizeof(g->ip), "%s", n->ip);
    g->port = (uint16_t)n->port;
    g->cport = (uint16_t)n->cport;
    g->pport = (uint16_t)n->pport;
    g->flags = (uint16_t)n->flags;
}

/* PING, PONG or MEET with a gossip section (Redis's clusterSendPing): about a
 * tenth of the nodes (at least 3) chosen at random, plus every node in
 * PFAIL, plus our hostname as an extension. */
static void send_ping(cl_state *st, cl_link *l, int type) {
    if (!l || !l->io) return;
    int freshnodes = st->nnodes - 2;
    int wanted = st->nnodes / 10;
    if (wanted < 3) wanted = 3;
    if (wanted > freshnodes) wanted = freshnodes;
    int cap = (wanted > 0 ? wanted : 0) + (int)st->stats_pfail_nodes + 1;
    if (st->gossip_cap < cap) {
        st->gossip_cap = cap;
        st->gossip_scratch = lt_xrealloc(st->gossip_scratch, (size_t)cap * sizeof(cbus_gossip));
    }
    int count = 0;
    st->ping_serial++;
    if (l->node && type == CBUS_PING) l->node->ping_sent = st->now;
    int maxiter = wanted * 3;
    while (freshnodes > 0 && count < wanted && maxiter-- > 0) {
        cl_node *n = st->nodes[st->io.random(st->io.ctx) % (uint64_t)st->nnodes];
        if (n == st->myself) continue;
        if (n->flags & CNODE_PFAIL) continue; /* added below */
        if (n->flags & (CNODE_HANDSHAKE | CNODE_NOADDR) || (!n->link && n->numslots == 0)) {
            freshnodes--;
            continue;
        }
        if (n->last_in_gossip == st->ping_serial) continue;
        n->last_in_gossip = st->ping_serial;
        gossip_fill(st, n, &st->gossip_scratch[count++]);
        freshnodes--;
    }
    for (int i = 0; i < st->nnodes && count < cap; i++) {
        cl_node *n = st->nodes[i];
        if (!(n->flags & CNODE_PFAIL) || (n->flags & (CNODE_HANDSHAKE | CNODE_NOADDR))) continue;
        gossip_fill(st, n, &st->gossip_scratch[count++]);
    }
    cbus_msg m;
    build_header(st, &m, type);
    m.count = (uint16_t)count;
    m.gossip_in = st->gossip_scratch;
    m.hostname = st->set.hostname[0] ? st->set.hostname : NULL;
    /* Forgotten nodes are not announced: Redis 7.0.15 does not know that
     * extension (7.2's type 2) and logs a warning for every message that
     * carries one; as in 7.0, `redis-cli --cluster del-node` sends CLUSTER
     * FORGET to every node. Received ones are honoured (7.2 peers). */
    send_msg(st, l, &m);
}

static void broadcast(cl_state *st, const cbus_msg *m) {
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n->flags & (CNODE_MYSELF | CNODE_HANDSHAKE)) continue;
        send_msg(st, n->link, m);
    }
}

/* For failover.c (state_int.h). */
void cl_build_header(cl_state *st, cbus_msg *m, int type) { build_header(st, m, type); }
void cl_send_msg(cl_state *st, cl_link *l, const cbus_msg *m) { send_msg(st, l, m); }
void cl_broadcast_msg(cl_state *st, const cbus_msg *m) { broadcast(st, m); }
void cl_send_ping(cl_state *st, cl_link *l, int type) { send_ping(st, l, type); }

int cl_send_publish(cl_state *st, int shard, const void *channel, size_t clen,
                    const void *message, size_t mlen) {
    st->now = st->io.now_ms(st->io.ctx);
    if ((uint64_t)CBUS_HDR_LEN + 8 + clen + mlen > CBUS_MAX_MSG) return -1;
    cbus_msg m;
    build_header(st, &m, shard ? CBUS_PUBLISHSHARD : CBUS_PUBLISH);
    m.channel = channel;
    m.channel_len = (uint32_t)clen;
    m.message = message;
    m.message_len = (uint32_t)mlen;
    if (!shard) {
        broadcast(st, &m);
        return 0;
    }
    /* The shard: its master and the master's replicas, myself excluded. */
    cl_node *master = st->myself;
    if (!cl_node_is_master(master)) {
        master = cl_lookup(st, st->myself->slaveof, CBUS_NAMELEN);
        if (!master) return 0;
    }
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n->flags & (CNODE_MYSELF | CNODE_HANDSHAKE)) continue;
        if (n == master || !memcmp(n->slaveof, master->name, CBUS_NAMELEN)) send_msg(st, n->link, &m);
    }
    return 0;
}

static void broadcast_fail(cl_state *st, cl_node *n) {
    cbus_msg m;
    build_header(st, &m, CBUS_FAIL);
    memcpy(m.about, n->name, CBUS_NAMELEN);
    broadcast(st, &m);
}

static void send_update(cl_state *st, cl_link *l, cl_node *n) {
    if (!l) return;
    cbus_msg m;
    build_header(st, &m, CBUS_UPDATE);
    m.update_epoch = n->config_epoch;
    memcpy(m.update_name, n->name, CBUS_NAMELEN);
    memcpy(m.update_slots, n->slots, sizeof(m.update_slots));
    send_msg(st, l, &m);
}

/* ---- State -------------------------------------------------------------------------- */

void cl_update_state(cl_state *st) {
    st->state_dirty = 0;
    if (st->first_call_time == 0) st->first_call_time = st->now;
    /* A master starting up waits a little before accepting writes, so it
     * learns the cluster's configuration first (CLUSTER_WRITABLE_DELAY). */
    if (st->state == CL_FAIL && st->now - st->first_call_time < CL_WRITABLE_DELAY_MS) return;
    int new_state = CL_OK;
    if (st->set.require_full_coverage) {
        for (int s = 0; s < CLUSTER_SLOTS; s++)
            if (!st->slots[s] || (st->slots[s]->flags & CNODE_FAIL)) {
                new_state = CL_FAIL;
                break;
            }
    }
    int size = 0, reachable = 0;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (cl_node_is_master(n) && n->numslots) {
            size++;
            if (!(n->flags & (CNODE_FAIL | CNODE_PFAIL))) reachable++;
        }
    }
    st->size = size;
    int quorum = size / 2 + 1;
    if (reachable < quorum) {
        new_state = CL_FAIL;
        st->among_minority_time = st->now;
    }
    if (new_state != st->state) {
        int64_t rejoin = st->set.node_timeout_ms;
        if (rejoin > 5000) rejoin = 5000;
        if (rejoin < 500) rejoin = 500;
        if (new_state == CL_OK && st->now - st->among_minority_time < rejoin) return;
        st->state = new_state;
        cl_routing_changed(st);
    }
}

static void mark_failing_if_needed(cl_state *st, cl_node *n) {
    int quorum = st->size / 2 + 1;
    if (!(n->flags & CNODE_PFAIL) || (n->flags & CNODE_FAIL)) return;
    int failures = cl_fail_reports(st, n);
    if (cl_node_is_master(st->myself)) failures++;
    if (failures < quorum) return;
    n->flags &= ~CNODE_PFAIL;
    n->flags |= CNODE_FAIL;
    n->fail_time = st->now;
    /* Also from a replica: the reports came from masters (Redis 7.0). */
    broadcast_fail(st, n);
    st->state_dirty = 1;
    st->todo_save = 1;
}

static void clear_failure_if_needed(cl_state *st, cl_node *n) {
    ASSERT(n->flags & CNODE_FAIL);
    /* A replica, or a master without slots, is back at once; a master with
     * slots only once it stayed reachable long enough (no failover took
     * them meanwhile). */
    if (!cl_node_is_master(n) || n->numslots == 0 ||
        st->now - n->fail_time > st->set.node_timeout_ms * CL_FAIL_UNDO_TIME_MULT) {
        n->flags &= ~CNODE_FAIL;
        st->todo_save = 1;
        st->state_dirty = 1;
    }
}

/* ---- Receiving ------------------------------------------------------------------------- */

/* Adopts a slot claim of sender at senderEpoch (Redis's
 * clusterUpdateSlotsConfigWith), for the slots of bitmap. */
static void update_slots_with(cl_state *st, cl_node *sender, uint64_t epoch,
                              const unsigned char *bitmap) {
    if (sender == st->myself) return;
    unsigned dirty[CLUSTER_SLOTS];
    int ndirty = 0;
    /* The master whose slots this node serves (itself or its master). */
    cl_node *curmaster = cl_node_is_master(st->myself) ? st->myself : cl_master_of(st, st->myself);
    cl_node *newmaster = NULL;
    int sender_slots = 0, migrated_our_slots = 0;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (!slot_bitmap_test(bitmap, s)) continue;
        sender_slots++;
        if (st->slots[s] == sender) continue;
        /* While importing a slot we own it only when we say so (SETSLOT
         * NODE): redis-cli fixes the rest. */
        if (st->importing_from[s]) continue;
        if (st->slots[s] == NULL || st->slots[s]->config_epoch < epoch) {
            if (st->slots[s] == st->myself && st->io.count_slot_keys(st->io.ctx, s))
                dirty[ndirty++] = s;
            if (curmaster && st->slots[s] == curmaster) {
                newmaster = sender;
                migrated_our_slots++;
            }
            cl_del_slot(st, s);
            cl_add_slot(st, sender, s);
            if (st->migrating_to[s]) st->migrating_to[s] = NULL;
        }
    }
    /* Our master (or we) lost its last slot to sender: follow sender, as
     * a replica (its full sync replaces our keys). Otherwise the keys of
     * slots another master took with a newer epoch are no longer ours to
     * serve (Redis deletes them too). */
    cl_node *grand = cl_master_of(st, st->myself);
    if (newmaster && curmaster->numslots == 0 &&
        (st->set.allow_replica_migration || sender_slots == migrated_our_slots)) {
        cl_set_master(st, sender);
    } else if (grand && (grand = cl_master_of(st, grand)) != NULL && grand != st->myself) {
        cl_set_master(st, grand); /* no chained replicas in a cluster */
    } else {
        for (int i = 0; i < ndirty; i++) st->io.delete_slot_keys(st->io.ctx, dirty[i]);
    }
    cl_routing_changed(st);
}

static void handle_epoch_collision(cl_state *st, cl_node *sender) {
    if (sender->config_epoch != st->myself->config_epoch || !cl_node_is_master(sender) ||
        !cl_node_is_master(st->myself))
        return;
    /* The smaller name keeps the epoch. */
    if (memcmp(sender->name, st->myself->name, CBUS_NAMELEN) <= 0) return;
    st->current_epoch++;
    st->myself->config_epoch = st->current_epoch;
    st->todo_save = 1;
}

static void update_address(cl_state *st, cl_node *n, cl_link *l, const cbus_msg *m) {
    char ip[CBUS_IPLEN + 1];
    if (m->myip[0]) snprintf(ip, sizeof(ip), "%s", m->myip);
    else snprintf(ip, sizeof(ip), "%s", l->peer_ip);
    if (!ip[0] || n == st->myself) return;
    if (!strcmp(n->ip, ip) && n->port == m->port && n->cport == m->cport && n->pport == m->pport)
        return;
    snprintf(n->ip, sizeof(n->ip), "%s", ip);
    n->port = m->port;
    n->cport = m->cport;
    n->pport = m->pport;
    if (n->link) link_free(st, n->link, 1);
    n->flags &= ~CNODE_NOADDR;
    st->todo_save = 1;
}

static void process_gossip(cl_state *st, cl_node *sender, const cbus_msg *m) {
    for (unsigned i = 0; i < m->count; i++) {
        cbus_gossip g;
        cbus_gossip_at(m, i, &g);
        cl_node *n = cl_lookup(st, g.name, CBUS_NAMELEN);
        if (n) {
            if (sender && cl_node_is_master(sender) && n != st->myself) {
                if (g.flags & (CNODE_FAIL | CNODE_PFAIL)) {
                    report_add(st, n, sender);
                    mark_failing_if_needed(st, n);
                } else {
                    report_del(n, sender);
                }
            }
            /* A healthy node's PONG time seen by others counts as ours
             * while we have no ping pending (fewer pings on big clusters). */
            if (!(g.flags & (CNODE_FAIL | CNODE_PFAIL)) && n->ping_sent == 0 &&
                n->nreports == 0) {
                int64_t pong = (int64_t)g.pong_received * 1000;
                if (pong <= st->now + 500 && pong > n->pong_received) n->pong_received = pong;
            }
            /* A failed node seen at another address: reconnect there. */
            if ((n->flags & (CNODE_FAIL | CNODE_PFAIL)) && !(g.flags & CNODE_NOADDR) &&
                n->link == NULL && g.ip[0] &&
                (strcmp(n->ip, g.ip) || n->port != g.port || n->cport != g.cport)) {
                snprintf(n->ip, sizeof(n->ip), "%s", g.ip);
                n->port = g.port;
                n->cport = g.cport;
                n->pport = g.pport;
                n->flags &= ~CNODE_NOADDR;
            }
        } else if (sender && !(g.flags & CNODE_NOADDR) && !blacklist_has(st, g.name) &&
                   g.ip[0]) {
            /* Unknown node: meet it (a PING handshake). */
            int saved = errno;
            if (cl_start_handshake(st, g.ip, g.port, g.cport) == 0) st->todo_save = 1;
            errno = saved;
        }
    }
}

static void process_extensions(cl_state *st, cl_node *sender, const cbus_msg *m) {
    size_t off = 0;
    unsigned type;
    const unsigned char *d;
    size_t dl;
    int saw_hostname = 0;
    while (cbus_ext_next(m, &off, &type, &d, &dl)) {
        if (type == CBUS_EXT_HOSTNAME && m->hostname) {
            saw_hostname = 1;
            if (strcmp(sender->hostname, m->hostname)) {
                snprintf(sender->hostname, sizeof(sender->hostname), "%s", m->hostname);
                st->todo_save = 1;
            }
        } else if (type == CBUS_EXT_FORGOTTEN && dl >= CBUS_NAMELEN + 8) {
            cl_node *n = cl_lookup(st, (const char *)d, CBUS_NAMELEN);
            if (n && n != st->myself && n != sender && n != cl_master_of(st, st->myself)) {
                uint64_t ttl = 0;
                for (int k = 0; k < 8; k++) ttl = (ttl << 8) | d[CBUS_NAMELEN + k];
                if (ttl > CL_BLACKLIST_TTL_S) ttl = CL_BLACKLIST_TTL_S;
                blacklist_add(st, n->name, (int64_t)ttl);
                node_del(st, n);
                cl_routing_changed(st);
            }
        }
    }
    /* A node that stopped announcing a hostname has none. */
    if (!saw_hostname && sender->hostname[0]) {
        sender->hostname[0] = '\0';
        st->todo_save = 1;
    }
}

int cl_process(cl_state *st, cl_link *l, const unsigned char *buf, size_t len) {
    st->now = st->io.now_ms(st->io.ctx);
    cbus_msg mbuf, *m = &mbuf;
    int rc = cbus_decode(buf, len, m);
    if (rc == CBUS_DECODE_BAD) {
        link_free(st, l, 1);
        return -1;
    }
    if (rc == CBUS_DECODE_IGNORE) return 0;
    int type = m->type;
    st->stats_received[type]++;
    cl_node *sender = cl_lookup(st, m->sender, CBUS_NAMELEN);
    if (sender && (sender->flags & CNODE_HANDSHAKE)) sender = NULL;
    if (sender == st->myself) sender = NULL; /* our own name from elsewhere */
    if (sender && l->inbound && !sender->inbound_link) {
        sender->inbound_link = l;
        l->node = sender;
    }
    if (sender) sender->data_received = st->now;
    if (sender) {
        /* Every message type carries the epochs (a vote request too). */
        if (m->current_epoch > st->current_epoch) {
            st->current_epoch = m->current_epoch;
            st->todo_save = 1;
        }
        /* A replica's header carries its master's config epoch: not
         * taken for a node we still see as a master (its stale slots
         * would look claimed in the new owner's epoch until its role
         * change is processed, and the new owner's claim would not win
         * over them). */
        int as_replica = memcmp(m->slaveof, null_name, CBUS_NAMELEN) != 0;
        if (m->config_epoch > sender->config_epoch && !(as_replica && cl_node_is_master(sender))) {
            sender->config_epoch = m->config_epoch;
            st->todo_save = 1;
        }
        sender->repl_offset = m->offset;
        sender->repl_offset_time = st->now;
    }

    if (type == CBUS_PING || type == CBUS_MEET) {
        /* Learn our own address from the connection the peer reached. */
        if ((type == CBUS_MEET || !st->myself->ip[0]) && !st->set.announce_ip[0]) {
            char ip[CBUS_IPLEN + 1] = "";
            st->io.local_ip(st->io.ctx, l, ip, sizeof(ip));
            if (ip[0] && strcmp(ip, st->myself->ip)) {
                snprintf(st->myself->ip, sizeof(st->myself->ip), "%s", ip);
                st->todo_save = 1;
            }
        }
        if (!sender && type == CBUS_MEET && st->nnodes < CL_MAX_NODES) {
            cl_node *n = cl_node_new(st, NULL, CNODE_HANDSHAKE);
            const char *ip = m->myip[0] ? m->myip : l->peer_ip;
            size_t il = strnlen(ip, CBUS_IPLEN);
            memcpy(n->ip, ip, il);
            n->ip[il] = '\0';
            n->port = m->port;
            n->cport = m->cport;
            n->pport = m->pport;
            cl_node_add(st, n);
            st->todo_save = 1;
        }
        if (!sender && type == CBUS_MEET) process_gossip(st, NULL, m);
        send_ping(st, l, CBUS_PONG);
    }

    if (type == CBUS_PING || type == CBUS_PONG || type == CBUS_MEET) {
        if (!l->inbound) {
            cl_node *ln = l->node;
            if (ln && (ln->flags & CNODE_HANDSHAKE)) {
                if (sender) {
                    /* Already known under its name: drop the handshake
                     * node, update the address of the real one. */
                    update_address(st, sender, l, m);
                    node_del(st, ln); /* frees l too */
                    cl_routing_changed(st);
                    return -1;
                }
                /* First PONG of a handshake: the node's real name. */
                if (blacklist_has(st, m->sender) ||
                    !memcmp(m->sender, st->myself->name, CBUS_NAMELEN)) {
                    node_del(st, ln);
                    return -1;
                }
                memcpy(ln->name, m->sender, CBUS_NAMELEN);
                ln->flags &= ~CNODE_HANDSHAKE;
                ln->flags |= (m->flags & (CNODE_MASTER | CNODE_SLAVE));
                if (!(ln->flags & (CNODE_MASTER | CNODE_SLAVE))) ln->flags |= CNODE_MASTER;
                st->todo_save = 1;
            } else if (ln && memcmp(ln->name, m->sender, CBUS_NAMELEN)) {
                /* Another node answers at this address now. */
                ln->flags |= CNODE_NOADDR;
                ln->ip[0] = '\0';
                ln->port = ln->cport = ln->pport = 0;
                link_free(st, l, 1);
                st->todo_save = 1;
                return -1;
            }
        }
        if (sender && type == CBUS_PING && !(sender->flags & CNODE_HANDSHAKE))
            update_address(st, sender, l, m);
        if (!l->inbound && type == CBUS_PONG && l->node) {
            cl_node *ln = l->node;
            ln->pong_received = st->now;
            ln->ping_sent = 0;
            if (ln->flags & CNODE_PFAIL) {
                ln->flags &= ~CNODE_PFAIL;
                st->state_dirty = 1;
            } else if (ln->flags & CNODE_FAIL) {
                clear_failure_if_needed(st, ln);
            }
        }
        if (sender) {
            /* Role as the sender states it. */
            int was_master = cl_node_is_master(sender);
            if (!memcmp(m->slaveof, null_name, CBUS_NAMELEN)) {
                if (!was_master || !(sender->flags & CNODE_MASTER)) {
                    sender->flags = (sender->flags & ~CNODE_SLAVE) | CNODE_MASTER;
                    memset(sender->slaveof, 0, CBUS_NAMELEN);
                    st->todo_save = 1;
                }
            } else {
                if (was_master) {
                    for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
                        if (st->slots[s] == sender) cl_del_slot(st, s);
                    sender->flags = (sender->flags & ~CNODE_MASTER) | CNODE_SLAVE;
                    cl_routing_changed(st);
                }
                if (memcmp(sender->slaveof, m->slaveof, CBUS_NAMELEN)) {
                    memcpy(sender->slaveof, m->slaveof, CBUS_NAMELEN);
                    st->todo_save = 1;
                }
            }
            /* Slot claims of a master. */
            if (cl_node_is_master(sender) && memcmp(sender->slots, m->myslots, 2048))
                update_slots_with(st, sender, m->config_epoch, m->myslots);
            /* A claim older than the owner's: tell the sender (UPDATE); a
             * replica announces its master's claim. */
            cl_node *sm = cl_node_is_master(sender) ? sender : cl_master_of(st, sender);
            if (cl_node_is_master(sender) || (sm && memcmp(sm->slots, m->myslots, 2048))) {
                for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
                    if (!slot_bitmap_test(m->myslots, s)) continue;
                    cl_node *owner = st->slots[s];
                    if (owner == sender || owner == NULL) continue;
                    if (owner->config_epoch > m->config_epoch) {
                        send_update(st, sender->link ? sender->link : l, owner);
                        break;
                    }
                }
            }
            handle_epoch_collision(st, sender);
            process_gossip(st, sender, m);
            process_extensions(st, sender, m);
        }
    } else if (type == CBUS_FAIL) {
        if (sender) {
            cl_node *f = cl_lookup(st, m->about, CBUS_NAMELEN);
            if (f && !(f->flags & (CNODE_FAIL | CNODE_MYSELF))) {
                f->flags |= CNODE_FAIL;
                f->fail_time = st->now;
                f->flags &= ~CNODE_PFAIL;
                st->todo_save = 1;
                st->state_dirty = 1;
            }
        }
    } else if (type == CBUS_UPDATE) {
        if (sender) {
            cl_node *n = cl_lookup(st, m->update_name, CBUS_NAMELEN);
            if (n && n != st->myself && n->config_epoch < m->update_epoch) {
                if (!cl_node_is_master(n)) {
                    n->flags = (n->flags & ~CNODE_SLAVE) | CNODE_MASTER;
                    memset(n->slaveof, 0, CBUS_NAMELEN);
                }
                n->config_epoch = m->update_epoch;
                st->todo_save = 1;
                update_slots_with(st, n, m->update_epoch, m->update_slots);
            }
        }
    } else if (type == CBUS_PUBLISH || type == CBUS_PUBLISHSHARD) {
        /* From a node we know only, as Redis (decode checked the lengths). */
        if (sender && st->io.publish)
            st->io.publish(st->io.ctx, type == CBUS_PUBLISHSHARD, m->channel, m->channel_len,
                           m->message, m->message_len);
    }
    /* Votes, manual failover, the paused master's offset: failover.c. */
    if (sender) cl_failover_process(st, sender, l, m);
    /* MODULE messages are counted and not acted on (docs/CLUSTER.md). */
    if (st->state_dirty) cl_update_state(st);
    return 0;
}

/* ---- Handshakes and cron ------------------------------------------------------------ */

int cl_start_handshake(cl_state *st, const char *ip, int port, int cport) {
    struct in6_addr a6;
    struct in_addr a4;
    char norm[CBUS_IPLEN + 1];
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        inet_ntop(AF_INET, &a4, norm, sizeof(norm));
    } else if (inet_pton(AF_INET6, ip, &a6) == 1) {
        inet_ntop(AF_INET6, &a6, norm, sizeof(norm));
    } else {
        errno = EINVAL;
        return -1;
    }
    if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) {
        errno = EINVAL;
        return -1;
    }
    /* Already in handshake with that address: nothing to do. */
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if ((n->flags & CNODE_HANDSHAKE) && !strcasecmp(n->ip, norm) && n->port == port &&
            n->cport == cport) {
            errno = EAGAIN;
            return -1;
        }
    }
    if (st->nnodes >= CL_MAX_NODES) {
        errno = ENOSPC;
        return -1;
    }
    cl_node *n = cl_node_new(st, NULL, CNODE_HANDSHAKE | CNODE_MEET);
    snprintf(n->ip, sizeof(n->ip), "%s", norm);
    n->port = port;
    n->cport = cport;
    cl_node_add(st, n);
    return 0;
}

void cl_cron(cl_state *st) {
    st->now = st->io.now_ms(st->io.ctx);
    int64_t now = st->now;
    int64_t timeout = st->set.node_timeout_ms;
    int64_t handshake_timeout = timeout < 1000 ? 1000 : timeout;
    st->cron_iter++;
    st->stats_pfail_nodes = 0;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n->flags & (CNODE_MYSELF | CNODE_NOADDR)) continue;
        if (n->flags & CNODE_PFAIL) st->stats_pfail_nodes++;
        if ((n->flags & CNODE_HANDSHAKE) && now - n->ctime > handshake_timeout) {
            node_del(st, n);
            i--;
            continue;
        }
        if (!n->link && n->ip[0] && n->cport) {
            cl_link *l = link_new(st, n, 0);
            n->link = l;
            if (st->io.connect(st->io.ctx, l, n->ip, n->cport) != 0) {
                link_free(st, l, 0);
                /* Not reachable: keep ping_sent so it turns PFAIL. */
                if (n->ping_sent == 0) n->ping_sent = now;
            }
        }
    }
    /* Once a second: ping the node with the oldest PONG among five random
     * ones. */
    if (st->cron_iter % 10 == 0 && st->nnodes > 1) {
        cl_node *min = NULL;
        for (int j = 0; j < 5; j++) {
            cl_node *n = st->nodes[st->io.random(st->io.ctx) % (uint64_t)st->nnodes];
            if (!n->link || !n->link->connected || n->ping_sent != 0 ||
                (n->flags & (CNODE_MYSELF | CNODE_HANDSHAKE)))
                continue;
            if (!min || min->pong_received > n->pong_received) min = n;
        }
        if (min) send_ping(st, min->link, CBUS_PING);
    }
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n->flags & (CNODE_MYSELF | CNODE_NOADDR | CNODE_HANDSHAKE)) continue;
        cl_link *l = n->link;
        /* A link that sent a ping long ago and received nothing: reconnect
         * (the peer may be alive behind a broken connection). */
        if (l && now - l->ctime > timeout && n->ping_sent && now - n->ping_sent > timeout / 2 &&
            now - n->data_received > timeout / 2) {
            link_free(st, l, 1);
            l = NULL;
        }
        if (l && n->ping_sent == 0 && now - n->pong_received > timeout / 2) {
            /* A link still connecting counts the ping as sent (Redis
             * buffers it): a node that never answers turns PFAIL. */
            if (l->connected) send_ping(st, l, CBUS_PING);
            else n->ping_sent = now;
            continue;
        }
        if (n->ping_sent == 0) continue;
        if (now - n->ping_sent > timeout && now - n->data_received > timeout &&
            !(n->flags & (CNODE_PFAIL | CNODE_FAIL))) {
            n->flags |= CNODE_PFAIL;
            st->state_dirty = 1;
        }
    }
    cl_failover_cron(st);
    cl_update_state(st);
}

/* ---- Whole-state operations ------------------------------------------------------------ */

void cl_broadcast_pong(cl_state *st) {
    st->now = st->io.now_ms(st->io.ctx);
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n->flags & (CNODE_MYSELF | CNODE_HANDSHAKE) || !n->link || !n->link->connected) continue;
        send_ping(st, n->link, CBUS_PONG);
    }
}

int cl_bump_epoch(cl_state *st) {
    uint64_t maxe = st->current_epoch;
    for (int i = 0; i < st->nnodes; i++)
        if (st->nodes[i]->config_epoch > maxe) maxe = st->nodes[i]->config_epoch;
    if (st->myself->config_epoch == 0 || st->myself->config_epoch != maxe) {
        st->current_epoch++;
        st->myself->config_epoch = st->current_epoch;
        st->todo_save = 1;
        return 1;
    }
    return 0;
}

void cl_reset(cl_state *st, int hard) {
    st->now = st->io.now_ms(st->io.ctx);
    /* A replica becomes an empty master (the owner stops replicating). */
    cl_set_node_as_master(st, st->myself);
    cl_manual_failover_reset(st);
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        st->migrating_to[s] = st->importing_from[s] = NULL;
        cl_del_slot(st, s);
    }
    for (int i = st->nnodes - 1; i >= 0; i--)
        if (st->nodes[i] != st->myself) node_del(st, st->nodes[i]);
    st->nblacklist = 0;
    if (hard) {
        st->current_epoch = 0;
        st->last_vote_epoch = 0;
        st->myself->config_epoch = 0;
        cl_random_name(st, st->myself->name);
    }
    st->todo_save = 1;
    st->state_dirty = 1;
    cl_update_state(st);
    cl_routing_changed(st);
}

cl_state *cl_state_new(const cl_io *io, const cl_settings *set) {
    cl_state *st = lt_xcalloc(1, sizeof(*st));
    st->io = *io;
    st->set = *set;
    st->now = io->now_ms(io->ctx);
    st->state = CL_FAIL;
    st->fo.mf_master_offset = -1;
    st->myself = cl_node_new(st, NULL, CNODE_MYSELF | CNODE_MASTER);
    cl_node_add(st, st->myself);
    return st;
}

void cl_state_free(cl_state *st) {
    if (!st) return;
    while (st->links) link_free(st, st->links, 1);
    for (int i = 0; i < st->nnodes; i++) {
        free(st->nodes[i]->reports);
        free(st->nodes[i]);
    }
    free(st->nodes);
    free(st->sendbuf);
    free(st->gossip_scratch);
    free(st);
}
