/*
 * failover.h — replicas in the cluster state machine: the role of myself
 * (CLUSTER REPLICATE, following the new owner of our master's slots), the
 * replica election of Redis 7.0 (rank by replication offset, delay,
 * FAILOVER_AUTH_REQUEST / FAILOVER_AUTH_ACK with one vote per epoch per
 * master), promotion, manual failover (CLUSTER FAILOVER [FORCE|TAKEOVER],
 * MFSTART and the paused master's offset) and replica migration.
 *
 * Same contract as state.h: no sockets, threads or clocks of its own;
 * everything goes through st->io, under the owner's serialisation. The
 * role is a view: myself->flags (CNODE_SLAVE) and myself->slaveof; the
 * owner (cluster.c / replica.c in the server, the simulation in tests)
 * makes replication follow it after each call.
 */
#ifndef LT_CLUSTER_FAILOVER_H
#define LT_CLUSTER_FAILOVER_H

#include "cluster/state.h"

#define CL_MF_TIMEOUT_MS 5000          /* CLUSTER_MF_TIMEOUT */
#define CL_MF_PAUSE_MULT 2             /* CLUSTER_MF_PAUSE_MULT */
#define CL_REPLICA_MIGRATION_DELAY_MS 5000

/* The master n replicates (NULL for a master, or an unknown one). */
cl_node *cl_master_of(cl_state *st, const cl_node *n);
/* Replicas of master that are not FAIL (ok_only), or all. */
int cl_count_replicas(cl_state *st, const cl_node *master, int ok_only);
/* Makes myself a replica of n (n != myself, a master): drops migrating /
 * importing state, resets a manual failover, saves. */
void cl_set_master(cl_state *st, cl_node *n);
/* Flags n (a replica) as a master without a master (promotion). */
void cl_set_node_as_master(cl_state *st, cl_node *n);
/* CLUSTER FAILOVER on a replica whose checks passed: TAKEOVER bumps the
 * epoch and promotes now; FORCE starts the election at once; default
 * sends MFSTART and waits for the paused master's offset. */
void cl_manual_failover_start(cl_state *st, int force, int takeover);
/* Ends a manual failover (a paused master resumes writes). */
void cl_manual_failover_reset(cl_state *st);
/* state.c hooks: a message from a known sender (after the header was
 * applied), and the end of each cron. */
void cl_failover_process(cl_state *st, cl_node *sender, cl_link *l, const cbus_msg *m);
void cl_failover_cron(cl_state *st);

/* state.c's senders, for this module. */
void cl_build_header(cl_state *st, cbus_msg *m, int type);
void cl_send_msg(cl_state *st, cl_link *l, const cbus_msg *m);
void cl_broadcast_msg(cl_state *st, const cbus_msg *m);
void cl_send_ping(cl_state *st, cl_link *l, int type);

#endif
