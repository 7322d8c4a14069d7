/*
 * failover.c — replicas and failover in the cluster state machine (see
 * failover.h). The rules are Redis 7.0.15's (cluster.c):
 *
 *  - Election (clusterHandleSlaveFailover): a replica whose master is FAIL
 *    (or that runs a manual failover) and whose data is not too old
 *    (cluster-replica-validity-factor) schedules its election at
 *    now + 500 ms + random(0..500) + rank * 1000 ms, rank = how many other
 *    replicas of the master announce a greater replication offset (the
 *    rank is re-evaluated, only upwards, until the request is sent). At
 *    that time it bumps currentEpoch and broadcasts FAILOVER_AUTH_REQUEST
 *    (FORCEACK in a manual failover). An election lives 2 x node_timeout
 *    (at least 2 s); the next may start after twice that.
 *  - Votes (clusterSendFailoverAuthIfNeeded): only a master serving slots
 *    votes, at most once per currentEpoch (lastVoteEpoch, saved before the
 *    ACK leaves), only for a replica whose master is FAIL (or FORCEACK),
 *    only once per 2 x node_timeout per failed master, and only when no
 *    slot the replica claims has an owner with a greater config epoch than
 *    the one in the request.
 *  - Winning: ACKs from a majority of the slot-serving masters (from the
 *    election's epoch on) — the replica takes the election epoch as its
 *    config epoch, becomes master, takes its old master's slots and
 *    broadcasts PONG; nodes adopt the claim since its epoch is greater,
 *    and the old master, its other replicas, and later the old master
 *    when it returns, follow the new one (state.c's update_slots_with).
 *  - Manual failover: the replica sends MFSTART; its master pauses writes
 *    (2 x 5 s at most), pings the replica every cron with PAUSED set and its
 *    offset; once the replica's offset reaches it the election runs with
 *    FORCEACK. FORCE skips the catch-up, TAKEOVER the election (the epoch
 *    is bumped without consensus). 5 s without a result: given up.
 *  - Replica migration (clusterHandleSlaveMigration): when a master that had
 *    replicas has none left working, a replica of the master with the most
 *    working replicas (more than cluster-migration-barrier), the one with
 *    the smallest name, moves to it after 5 s.
 */
#include "cluster/failover.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/assert.h"

static const char null_name[CBUS_NAMELEN];

enum {
    CANT_NONE = 0,
    CANT_DATA_AGE,
    CANT_WAITING_DELAY,
    CANT_EXPIRED,
    CANT_WAITING_VOTES,
};

static void fo_log(cl_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fo_log(cl_state *st, const char *fmt, ...) {
    if (!st->io.log) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    st->io.log(st->io.ctx, buf);
}

cl_node *cl_master_of(cl_state *st, const cl_node *n) {
    if (!(n->flags & CNODE_SLAVE) || !memcmp(n->slaveof, null_name, CBUS_NAMELEN)) return NULL;
    cl_node *m = cl_lookup(st, n->slaveof, CBUS_NAMELEN);
    return m == n ? NULL : m;
}

static int is_replica_of(const cl_node *r, const cl_node *m) {
    return (r->flags & CNODE_SLAVE) && !memcmp(r->slaveof, m->name, CBUS_NAMELEN);
}

int cl_count_replicas(cl_state *st, const cl_node *master, int ok_only) {
    int n = 0;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *r = st->nodes[i];
        if (!is_replica_of(r, master)) continue;
        if (ok_only && (r->flags & CNODE_FAIL)) continue;
        n++;
    }
    return n;
}

static uint64_t my_offset(cl_state *st) {
    return st->io.repl_offset ? st->io.repl_offset(st->io.ctx) : st->myself->repl_offset;
}

void cl_manual_failover_reset(cl_state *st) {
    /* A master that paused writes for a replica resumes, whatever the
     * outcome. */
    if (st->fo.mf_replica && st->io.pause_writes) st->io.pause_writes(st->io.ctx, 0);
    st->fo.mf_end = 0;
    st->fo.mf_can_start = 0;
    st->fo.mf_replica = NULL;
    st->fo.mf_master_offset = -1;
}

void cl_set_master(cl_state *st, cl_node *n) {
    cl_node *me = st->myself;
    ASSERT(n != me);
    if (cl_node_is_master(me)) {
        me->flags &= ~(CNODE_MASTER | CNODE_MIGRATE_TO);
        me->flags |= CNODE_SLAVE;
        for (int s = 0; s < CLUSTER_SLOTS; s++) st->migrating_to[s] = st->importing_from[s] = NULL;
    }
    if (memcmp(me->slaveof, n->name, CBUS_NAMELEN)) {
        fo_log(st, "Configuration change detected. Reconfiguring myself as a replica of %.40s",
               n->name);
        memcpy(me->slaveof, n->name, CBUS_NAMELEN);
    }
    /* Replication (the owner) follows; a master that gets its first
     * replica is a target of replica migration. */
    n->flags |= CNODE_MIGRATE_TO;
    cl_manual_failover_reset(st);
    st->todo_save = 1;
    st->state_dirty = 1;
    cl_routing_changed(st);
}

void cl_set_node_as_master(cl_state *st, cl_node *n) {
    if (cl_node_is_master(n)) return;
    if (memcmp(n->slaveof, null_name, CBUS_NAMELEN) && n != st->myself) n->flags |= CNODE_MIGRATE_TO;
    n->flags &= ~CNODE_SLAVE;
    n->flags |= CNODE_MASTER;
    memset(n->slaveof, 0, CBUS_NAMELEN);
    st->todo_save = 1;
    st->state_dirty = 1;
}

/* ---- Election ---------------------------------------------------------------- */

/* How many other replicas of our master announce a greater offset (those
 * that cannot fail over do not count). */
static int replica_rank(cl_state *st) {
    cl_node *master = cl_master_of(st, st->myself);
    if (!master) return 0;
    uint64_t mine = my_offset(st);
    int rank = 0;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *r = st->nodes[i];
        if (r == st->myself || !is_replica_of(r, master) || (r->flags & CNODE_NOFAILOVER)) continue;
        if (r->repl_offset > mine) rank++;
    }
    return rank;
}

static void cant_failover(cl_state *st, int reason) {
    /* Logged when the reason changes, or every 10 s (Redis's rule, minus
     * its "master failed recently" exception). */
    if (reason == st->fo.cant_reason && st->now - st->fo.cant_log_time < 10000) return;
    st->fo.cant_reason = reason;
    st->fo.cant_log_time = st->now;
    static const char *const why[] = {
        "", "Disconnected from master for longer than allowed. Please check the "
            "'cluster-replica-validity-factor' configuration option.",
        "Waiting the delay before I can start a new failover.",
        "Failover attempt expired.", "Waiting for votes, but majority still not reached.",
    };
    fo_log(st, "Currently unable to failover: %s", why[reason]);
}

/* The replica's side after winning (or TAKEOVER): master of the old
 * master's slots, announced to everyone. */
static void replace_my_master(cl_state *st) {
    cl_node *me = st->myself;
    cl_node *old = cl_master_of(st, me);
    if (cl_node_is_master(me) || !old) return;
    cl_set_node_as_master(st, me);
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (st->slots[s] != old) continue;
        cl_del_slot(st, s);
        cl_add_slot(st, me, s);
    }
    fo_log(st, "Failover election won: I'm the new master (config epoch %llu)",
           (unsigned long long)me->config_epoch);
    cl_update_state(st);
    st->todo_save = 1;
    cl_routing_changed(st);
    cl_broadcast_pong(st);
    cl_manual_failover_reset(st);
}

static void request_votes(cl_state *st) {
    cbus_msg m;
    cl_build_header(st, &m, CBUS_AUTH_REQUEST);
    /* In a manual failover the masters vote even though ours is alive. */
    if (st->fo.mf_end) m.mflags[0] |= CBUS_MFLAG0_FORCEACK;
    cl_broadcast_msg(st, &m);
}

/* A PONG to the other replicas of our master: they learn our offset
 * (their ranks) before they schedule their own elections. */
static void pong_local_replicas(cl_state *st) {
    cl_node *master = cl_master_of(st, st->myself);
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (n == st->myself || !master || !is_replica_of(n, master)) continue;
        if (n->link && n->link->connected) cl_send_ping(st, n->link, CBUS_PONG);
    }
}

static void handle_replica_failover(cl_state *st) {
    cl_node *me = st->myself;
    cl_node *master = cl_master_of(st, me);
    int64_t now = st->now;
    int64_t auth_age = now - st->fo.auth_time;
    int needed = st->size / 2 + 1;
    int manual = st->fo.mf_end != 0 && st->fo.mf_can_start;
    int64_t auth_timeout = st->set.node_timeout_ms * 2;
    if (auth_timeout < 2000) auth_timeout = 2000;
    int64_t auth_retry = auth_timeout * 2;

    if (cl_node_is_master(me) || !master || (!(master->flags & CNODE_FAIL) && !manual) ||
        (st->set.replica_no_failover && !manual) || master->numslots == 0) {
        st->fo.cant_reason = CANT_NONE;
        return;
    }
    int64_t data_age = st->io.repl_data_age_ms ? st->io.repl_data_age_ms(st->io.ctx) : 0;
    if (data_age > st->set.node_timeout_ms) data_age -= st->set.node_timeout_ms;
    if (st->set.replica_validity_factor &&
        data_age > st->set.repl_ping_period_ms +
                       st->set.node_timeout_ms * st->set.replica_validity_factor &&
        !manual) {
        cant_failover(st, CANT_DATA_AGE);
        return;
    }
    if (auth_age > auth_retry) {
        /* Schedule the next election: let the FAIL propagate, then the
         * best replica (rank 0) first. */
        st->fo.auth_time = now + 500 + (int64_t)(st->io.random(st->io.ctx) % 500);
        st->fo.auth_count = 0;
        st->fo.auth_sent = 0;
        st->fo.auth_rank = replica_rank(st);
        st->fo.auth_time += (int64_t)st->fo.auth_rank * 1000;
        if (st->fo.mf_end) {
            st->fo.auth_time = now;
            st->fo.auth_rank = 0;
        }
        fo_log(st, "Start of election delayed for %lld milliseconds (rank #%d, offset %llu).",
               (long long)(st->fo.auth_time - now), st->fo.auth_rank,
               (unsigned long long)my_offset(st));
        pong_local_replicas(st);
        return;
    }
    if (!st->fo.auth_sent && !st->fo.mf_end) {
        int rank = replica_rank(st);
        if (rank > st->fo.auth_rank) {
            st->fo.auth_time += (int64_t)(rank - st->fo.auth_rank) * 1000;
            st->fo.auth_rank = rank;
        }
    }
    if (now < st->fo.auth_time) {
        cant_failover(st, CANT_WAITING_DELAY);
        return;
    }
    if (auth_age > auth_timeout) {
        cant_failover(st, CANT_EXPIRED);
        return;
    }
    if (!st->fo.auth_sent) {
        st->current_epoch++;
        st->fo.auth_epoch = st->current_epoch;
        fo_log(st, "Starting a failover election for epoch %llu.",
               (unsigned long long)st->current_epoch);
        request_votes(st);
        st->fo.auth_sent = 1;
        st->todo_save = 1;
        return;
    }
    if (st->fo.auth_count >= needed) {
        fo_log(st, "Failover election won (%d votes).", st->fo.auth_count);
        if (me->config_epoch < st->fo.auth_epoch) me->config_epoch = st->fo.auth_epoch;
        replace_my_master(st);
    } else {
        cant_failover(st, CANT_WAITING_VOTES);
    }
}

/* A master's vote for the replica node (Redis's
 * clusterSendFailoverAuthIfNeeded). */
static void vote_if_needed(cl_state *st, cl_node *node, cl_link *l, const cbus_msg *req) {
    cl_node *me = st->myself;
    cl_node *master = cl_master_of(st, node);
    int force = (req->mflags[0] & CBUS_MFLAG0_FORCEACK) != 0;
    if (!cl_node_is_master(me) || me->numslots == 0) return;
    if (req->current_epoch < st->current_epoch) return;
    if (st->last_vote_epoch == st->current_epoch) return;
    if (cl_node_is_master(node) || !master || (!(master->flags & CNODE_FAIL) && !force)) return;
    /* One vote per failed master per 2 x node_timeout: the replicas of one
     * master do not win one after the other. */
    if (st->now - master->voted_time < st->set.node_timeout_ms * 2) return;
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (!slot_bitmap_test(req->myslots, s)) continue;
        if (!st->slots[s] || st->slots[s]->config_epoch <= req->config_epoch) continue;
        return; /* a slot it claims has a newer owner: its data is stale */
    }
    st->last_vote_epoch = st->current_epoch;
    master->voted_time = st->now;
    /* The vote is saved before it leaves (the owner writes nodes.conf
     * after this call, before the transport sends: busio sends after the
     * round). */
    st->todo_save = 1;
    cbus_msg m;
    cl_build_header(st, &m, CBUS_AUTH_ACK);
    cl_send_msg(st, node->link ? node->link : l, &m);
    fo_log(st, "Failover auth granted to %.40s for epoch %llu", node->name,
           (unsigned long long)st->current_epoch);
}

/* ---- Manual failover ------------------------------------------------------------ */

void cl_manual_failover_start(cl_state *st, int force, int takeover) {
    cl_manual_failover_reset(st);
    st->fo.mf_end = st->now + CL_MF_TIMEOUT_MS;
    if (takeover) {
        fo_log(st, "Taking over the master (user request).");
        cl_bump_epoch(st);
        replace_my_master(st);
    } else if (force) {
        fo_log(st, "Forced failover user request accepted.");
        st->fo.mf_can_start = 1;
    } else {
        fo_log(st, "Manual failover user request accepted.");
        cl_node *master = cl_master_of(st, st->myself);
        cbus_msg m;
        cl_build_header(st, &m, CBUS_MFSTART);
        if (master) cl_send_msg(st, master->link, &m);
    }
}

static void handle_manual_failover(cl_state *st) {
    if (!st->fo.mf_end || st->fo.mf_can_start || st->fo.mf_master_offset < 0) return;
    if (my_offset(st) >= (uint64_t)st->fo.mf_master_offset) {
        st->fo.mf_can_start = 1;
        fo_log(st, "All master replication stream processed, manual failover can start.");
    }
}

/* ---- Messages and cron ----------------------------------------------------------- */

void cl_failover_process(cl_state *st, cl_node *sender, cl_link *l, const cbus_msg *m) {
    cl_node *me = st->myself;
    /* A replica makes its master a target of replica migration. */
    if (sender->flags & CNODE_SLAVE) {
        cl_node *sm = cl_master_of(st, sender);
        if (sm) sm->flags |= CNODE_MIGRATE_TO;
    }
    /* Our master paused for our manual failover: its offset is the one
     * to reach (the latest, writes being paused). */
    if (st->fo.mf_end && (me->flags & CNODE_SLAVE) && cl_master_of(st, me) == sender &&
        (m->mflags[0] & CBUS_MFLAG0_PAUSED)) {
        if (st->fo.mf_master_offset < 0)
            fo_log(st, "Received replication offset for paused master manual failover: %llu",
                   (unsigned long long)sender->repl_offset);
        st->fo.mf_master_offset = (int64_t)sender->repl_offset;
        handle_manual_failover(st);
    }
    switch (m->type) {
    case CBUS_AUTH_REQUEST: vote_if_needed(st, sender, l, m); break;
    case CBUS_AUTH_ACK:
        if (cl_node_is_master(sender) && sender->numslots > 0 &&
            m->current_epoch >= st->fo.auth_epoch) {
            st->fo.auth_count++;
            handle_replica_failover(st);
        }
        break;
    case CBUS_MFSTART:
        if (!is_replica_of(sender, me)) break;
        cl_manual_failover_reset(st);
        st->fo.mf_end = st->now + CL_MF_TIMEOUT_MS;
        st->fo.mf_replica = sender;
        if (st->io.pause_writes)
            st->io.pause_writes(st->io.ctx, st->now + CL_MF_TIMEOUT_MS * CL_MF_PAUSE_MULT);
        fo_log(st, "Manual failover requested by replica %.40s.", sender->name);
        cl_send_ping(st, sender->link ? sender->link : l, CBUS_PING);
        break;
    default: break;
    }
}

static void handle_replica_migration(cl_state *st, int max_replicas) {
    cl_node *me = st->myself;
    cl_node *mymaster = cl_master_of(st, me);
    if (st->state != CL_OK || !mymaster) return;
    if (cl_count_replicas(st, mymaster, 1) <= st->set.migration_barrier) return;
    cl_node *candidate = me, *target = NULL;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        int ok = 0, orphaned = 1;
        if ((n->flags & CNODE_SLAVE) || (n->flags & CNODE_FAIL)) orphaned = 0;
        if (!(n->flags & CNODE_MIGRATE_TO)) orphaned = 0;
        if (cl_node_is_master(n)) ok = cl_count_replicas(st, n, 1);
        if (ok > 0) orphaned = 0;
        if (orphaned) {
            if (!target && n->numslots > 0) target = n;
            if (!n->orphaned_time) n->orphaned_time = st->now;
        } else {
            n->orphaned_time = 0;
        }
        /* The candidate: the smallest name among the replicas of the
         * masters with the most working replicas. */
        if (cl_node_is_master(n) && ok == max_replicas) {
            for (int j = 0; j < st->nnodes; j++) {
                cl_node *r = st->nodes[j];
                if (is_replica_of(r, n) && memcmp(r->name, candidate->name, CBUS_NAMELEN) < 0)
                    candidate = r;
            }
        }
    }
    if (target && candidate == me && st->now - target->orphaned_time > CL_REPLICA_MIGRATION_DELAY_MS) {
        fo_log(st, "Migrating to orphaned master %.40s", target->name);
        cl_set_master(st, target);
    }
}

void cl_failover_cron(cl_state *st) {
    cl_node *me = st->myself;
    if (st->fo.mf_end && st->fo.mf_end < st->now) {
        fo_log(st, "Manual failover timed out.");
        cl_manual_failover_reset(st);
    }
    /* A replica that must not fail over says so (nofailover flag). */
    int nofo = (me->flags & CNODE_SLAVE) && st->set.replica_no_failover;
    if (nofo != ((me->flags & CNODE_NOFAILOVER) != 0)) {
        me->flags ^= CNODE_NOFAILOVER;
        st->todo_save = 1;
    }
    /* A master in a manual failover pings the replica every cron. */
    if (cl_node_is_master(me) && st->fo.mf_end && st->fo.mf_replica &&
        st->fo.mf_replica->link && st->fo.mf_replica->link->connected)
        cl_send_ping(st, st->fo.mf_replica->link, CBUS_PING);
    if (!(me->flags & CNODE_SLAVE)) return;
    handle_manual_failover(st);
    handle_replica_failover(st);
    /* Replica migration: orphaned masters and the best-served ones. */
    int orphaned = 0, max_replicas = 0, mine = 0;
    cl_node *mymaster = cl_master_of(st, me);
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (!cl_node_is_master(n) || (n->flags & CNODE_FAIL)) continue;
        int ok = cl_count_replicas(st, n, 1);
        if (ok == 0 && n->numslots > 0 && (n->flags & CNODE_MIGRATE_TO)) orphaned++;
        if (ok > max_replicas) max_replicas = ok;
        if (n == mymaster) mine = ok;
    }
    if (orphaned && max_replicas >= 2 && mine == max_replicas && st->set.allow_replica_migration)
        handle_replica_migration(st, max_replicas);
}
