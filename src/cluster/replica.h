/*
 * replica.h — the server side of a cluster replica: replication (src/repl)
 * follows the role the cluster state gives this node (failover.h), and the
 * state's replication callbacks (offset, data age, the write pause of a
 * manual failover, log lines) are answered from src/repl and the server.
 */
#ifndef LT_CLUSTER_REPLICA_H
#define LT_CLUSTER_REPLICA_H

#include "cluster/state.h"

/* Fills the replication callbacks of io. */
void cluster_replica_fill_io(cl_io *io);
/* Makes replication match the state's role: REPLICAOF <master> when this
 * node is a replica whose master has an address, REPLICAOF NO ONE when it
 * is a master. Called WITHOUT the cluster mutex (it takes it, then the
 * replication locks after releasing it): after each bus round and after
 * the CLUSTER commands that change the role. */
void cluster_replica_follow(void);

#endif
