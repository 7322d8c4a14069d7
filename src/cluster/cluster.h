/*
 * cluster.h — Redis Cluster mode of the server (cluster-enabled yes): the
 * one cl_state of this process behind a mutex, its bus thread (busio.h),
 * nodes.conf, the routing checks dispatch runs before a command with keys
 * (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN), and the CLUSTER, ASKING,
 * READONLY and READWRITE commands (cmd_cluster.c).
 *
 * Routing fast path: cluster_route[] holds, per slot, whether this node
 * serves it and whether it is migrating or importing, and cluster_route_ok
 * whether the cluster state is ok; both are rebuilt under the mutex
 * whenever ownership or state changes and read lock-free by every I/O
 * thread. A command whose keys all hash to one slot this node serves, with
 * nothing migrating or importing and the state ok, runs without touching
 * the mutex; anything else takes it and follows Redis's getNodeByQuery.
 *
 * Lock order: no shard lock is ever taken while the cluster mutex is held
 * (the slow path looks keys up after releasing it; the keys of a lost slot
 * are deleted after the bus round released it), so a command holding
 * shard locks (inside EXEC) may take the mutex.
 */
#ifndef LT_CLUSTER_CLUSTER_H
#define LT_CLUSTER_CLUSTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cluster/slot.h"
#include "cluster/state.h"
#include "server/net/client.h"

struct command;

#define CLUSTER_ROUTE_MINE 1
#define CLUSTER_ROUTE_MIGRATING 2
#define CLUSTER_ROUTE_IMPORTING 4

extern _Atomic uint8_t cluster_route[CLUSTER_SLOTS];
extern _Atomic int cluster_route_ok;

/* Start-up when cluster-enabled: after persist_open (keys are loaded) and
 * before the listeners: loads or creates nodes.conf, opens the bus port and
 * starts the bus thread. 0, or -1 with a message logged (the server exits,
 * as Redis does on a bad nodes.conf). */
int cluster_init(void);
/* Shutdown: stops the bus thread and saves nodes.conf. */
void cluster_shutdown(void);

/* The engine's slot function (ks_set_slot_fn). */
unsigned cluster_engine_slot(const char *key, size_t klen);

/* dispatch: for a command with keys (or EXEC) in cluster mode, checks that
 * this node may run it now; if not, replies the redirection or error
 * (EXEC: discards the transaction) and returns 1. Before cluster_init (the
 * log replayed at start-up) every command runs. */
int cluster_redirect(client *c, const struct command *cmd);
/* A blocked client's worker, after blocking_recheck_routes(): whether its
 * command (argv) may keep waiting here; if not, replies Redis's -MOVED or
 * -CLUSTERDOWN and returns 1 (the caller unblocks it). */
int cluster_redirect_blocked(client *c, const struct command *cmd, int argc,
                             const resp_arg *argv);

/* Whether cmd is ASKING (dispatch keeps CLIENT_ASKING across it;
 * cmd_cluster.c). */
int cluster_is_asking_command(const struct command *cmd);
/* The state, locked (every CLUSTER command runs between these). */
cl_state *cluster_lock(void);
void cluster_unlock(void);
/* With the lock held: after a change, rebuild the routing table, save
 * nodes.conf now if the change needs it (0, or -1 with errno), and wake
 * the bus thread. */
int cluster_commit_change(void);
/* INFO clients' cluster_connections: Redis's count, two links for every
 * other known node (0 outside cluster mode). */
unsigned long cluster_connections_count(void);
/* INFO / CLUSTER INFO helpers. */
uint64_t cluster_links_limit_exceeded(void);
/* Memory of the bus links: the links and their send buffers (MEMORY STATS
 * cluster.links, INFO mem_cluster_links; 0 outside cluster mode). */
size_t cluster_links_memory(void);
/* CONFIG SET of a cluster-* directive: copies the settings in. */
void cluster_apply_config(void);
/* PUBLISH (shard 0) / SPUBLISH (shard 1) in cluster mode: the message goes
 * over the bus to every other node (PUBLISH) or to the other nodes of this
 * node's shard (SPUBLISH), whose subscribers get it. Any thread. */
void cluster_propagate_publish(int shard, const char *channel, size_t clen, const char *msg,
                               size_t mlen);
/* What a MOVED/ASK names for node n: ip, hostname or "?" per
 * cluster-preferred-endpoint-type. */
const char *cluster_endpoint(const cl_node *n);

#endif
