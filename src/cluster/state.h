/*
 * state.h — one node's view of the cluster and the bus logic that changes
 * it: nodes, slot ownership, epochs, failure detection, handshakes. This is
 * Redis Cluster's protocol (cluster.c of Redis 7.0) as a state machine:
 *
 *   cl_process(st, link, bytes)   a message arrived on a link
 *   cl_cron(st)                   ten times a second: handshakes, pings,
 *                                 PFAIL detection, reconnects, state
 *   cl_link_connected / closed    the transport's news about a link
 *
 * and every effect leaves through the cl_io callbacks (connect, send, close,
 * the clock, randomness, the keyspace's per-slot keys). There are no
 * sockets, threads or files here except nodes.conf (nodesconf.c), so the same
 * code runs in the server (busio.c moves the bytes, one thread) and in the
 * seeded simulation (tests/unit/test_cluster_sim.c) under injected faults.
 *
 * Concurrency: a cl_state is not thread-safe; its owner serialises every
 * call (the server holds cluster.c's mutex). Invariants, between calls:
 *   - myself is in nodes[], flagged CNODE_MYSELF, a master or (CNODE_SLAVE
 *     with slaveof set) a replica; replicas and failover are failover.c's;
 *   - slots[s] == n iff bit s of n->slots is set; n->numslots counts them;
 *   - a node's link (outbound) and inbound_link point back to it;
 *   - a node's fail reports name live nodes, each at most once;
 *   - current_epoch >= every config_epoch this node has adopted.
 */
#ifndef LT_CLUSTER_STATE_H
#define LT_CLUSTER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/bus.h"
#include "cluster/slot.h"

#define CL_OK 0
#define CL_FAIL 1

#define CL_MAX_NODES 1024    /* nodes known at once; more are not added */
#define CL_MAX_BLACKLIST 256 /* forgotten nodes remembered at once */
#define CL_BLACKLIST_TTL_S 60
#define CL_FAIL_REPORT_VALIDITY_MULT 2
#define CL_FAIL_UNDO_TIME_MULT 2
#define CL_WRITABLE_DELAY_MS 2000

typedef struct cl_node cl_node;
typedef struct cl_state cl_state;

typedef struct cl_link {
    int64_t ctime;
    cl_node *node;  /* NULL: inbound link whose sender is not known yet */
    int inbound;
    int connected;  /* outbound: the connection is established */
    void *io;       /* the transport's handle */
    char peer_ip[CBUS_IPLEN + 1]; /* the peer's address (set by the transport) */
    /* Transport statistics for CLUSTER LINKS (busio.c fills them). */
    uint64_t send_buffer_allocated, send_buffer_used;
    struct cl_link *next_all; /* st->links */
} cl_link;

typedef struct cl_fail_report {
    cl_node *node; /* the reporter */
    int64_t time;
} cl_fail_report;

struct cl_node {
    int64_t ctime;
    char name[CBUS_NAMELEN];
    int flags;
    uint64_t config_epoch;
    unsigned char slots[CLUSTER_SLOTS / 8];
    int numslots;
    char slaveof[CBUS_NAMELEN]; /* all zero: none */
    int64_t ping_sent, pong_received, data_received, fail_time;
    uint64_t repl_offset;
    char ip[CBUS_IPLEN + 1];
    int port, pport, cport;
    char hostname[CBUS_HOSTNAME_MAX + 1];
    cl_link *link, *inbound_link;
    cl_fail_report *reports;
    int nreports, capreports;
    int last_in_gossip; /* ping serial that already gossiped this node */
    int64_t voted_time;       /* a master: when we last voted for one of its replicas */
    int64_t repl_offset_time; /* when repl_offset was last heard */
    int64_t orphaned_time;    /* replica migration: a master without replicas since */
};

typedef struct cl_blacklisted {
    char name[CBUS_NAMELEN];
    int64_t expire_s;
} cl_blacklisted;

/* What the transport and the keyspace do for the state. */
typedef struct cl_io {
    void *ctx;
    /* Starts connecting outbound link l (l->node set) to ip:cport; later
     * the transport calls cl_link_connected(st, l), or cl_link_closed(st,
     * l) on failure. Returns 0, or -1 when it failed at once (the state
     * then frees l itself). */
    int (*connect)(void *ctx, cl_link *l, const char *ip, int cport);
    /* Queues len bytes to send on l (copied). */
    void (*send)(void *ctx, cl_link *l, const unsigned char *buf, size_t len);
    /* Closes l's connection; the transport forgets l (the state frees it). */
    void (*close)(void *ctx, cl_link *l);
    /* Writes the local address of l's connection (our own IP as the peer
     * sees us) into out, or "" when unknown. */
    void (*local_ip)(void *ctx, cl_link *l, char *out, size_t cap);
    /* Milliseconds (wall clock) and 64 random bits. */
    int64_t (*now_ms)(void *ctx);
    uint64_t (*random)(void *ctx);
    /* Keys this node holds in slot (lock-free), and the news that they
     * must go (a slot taken over by a node with a newer config epoch): the
     * owner deletes them after releasing the state's lock (lock order). */
    uint64_t (*count_slot_keys)(void *ctx, unsigned slot);
    void (*delete_slot_keys)(void *ctx, unsigned slot);
    /* Called after any change of slot ownership, migrating/importing
     * state or cluster state (the server refreshes its lock-free routing
     * table); may be NULL. */
    void (*routing_changed)(void *ctx);
    /* Replication (failover.c); each may be NULL (no replication: offset
     * 0, data age 0, no pause). This node's replication offset (a master's
     * master_repl_offset, a replica's processed offset); ms since a
     * replica last heard from its master; a master's manual failover
     * pauses writes until until_ms (0: resume). The role itself is read
     * by the owner from myself->flags/slaveof after each call. */
    uint64_t (*repl_offset)(void *ctx);
    int64_t (*repl_data_age_ms)(void *ctx);
    void (*pause_writes)(void *ctx, int64_t until_ms);
    /* A notice for the server log (elections, role changes); may be NULL. */
    void (*log)(void *ctx, const char *msg);
    /* A PUBLISH (shard 0) or PUBLISHSHARD (shard 1) message from a known
     * node: deliver it to this node's subscribers; may be NULL. The bytes
     * are valid during the call only. */
    void (*publish)(void *ctx, int shard, const unsigned char *channel, size_t clen,
                    const unsigned char *message, size_t mlen);
} cl_io;

/* Settings (the cluster-* directives), copied in by the owner. */
typedef struct cl_settings {
    int64_t node_timeout_ms;
    int require_full_coverage;
    char announce_ip[CBUS_IPLEN + 1];   /* "" none */
    char hostname[CBUS_HOSTNAME_MAX + 1]; /* cluster-announce-hostname, "" none */
    int port, cport, pport;             /* what we announce */
    /* Replicas and failover (failover.c). */
    int replica_validity_factor, replica_no_failover;
    int migration_barrier, allow_replica_migration;
    int64_t repl_ping_period_ms;
} cl_settings;

/* A replica's election and a manual failover (failover.c; Redis's
 * failover_auth_* and mf_* fields of clusterState). */
typedef struct cl_failover {
    int64_t auth_time;      /* when the election starts / started (0 never) */
    int auth_count, auth_sent, auth_rank;
    uint64_t auth_epoch;
    int64_t mf_end;         /* manual failover deadline, 0 none */
    cl_node *mf_replica;    /* master: the replica that asked (MFSTART) */
    int64_t mf_master_offset; /* replica: the paused master's offset, -1 unknown */
    int mf_can_start;       /* replica: caught up, the election may start */
    int cant_reason;        /* CL_CANT_* last logged, to log each once */
    int64_t cant_log_time;
} cl_failover;

struct cl_state {
    cl_io io;
    cl_settings set;
    int64_t now;          /* the clock of the current call */
    cl_node *myself;
    uint64_t current_epoch, last_vote_epoch;
    int state;            /* CL_OK / CL_FAIL */
    int size;             /* masters serving at least one slot */
    cl_node **nodes;
    int nnodes;
    cl_blacklisted blacklist[CL_MAX_BLACKLIST];
    int nblacklist;
    cl_node *slots[CLUSTER_SLOTS];
    cl_node *migrating_to[CLUSTER_SLOTS];
    cl_node *importing_from[CLUSTER_SLOTS];
    cl_link *links;       /* every link, for CLUSTER LINKS and cleanup */
    uint64_t stats_sent[CBUS_TYPE_COUNT], stats_received[CBUS_TYPE_COUNT];
    int64_t stats_pfail_nodes;
    int64_t first_call_time, among_minority_time;
    uint64_t cron_iter;
    int ping_serial;
    int todo_save;        /* nodes.conf must be written (the owner does) */
    int state_dirty;      /* cl_update_state at the end of the call */
    unsigned char *sendbuf; /* scratch for encoding, CBUS size grows */
    size_t sendcap;
    cbus_gossip *gossip_scratch;
    int gossip_cap;
    cl_failover fo;
    /* The epochs nodes.conf last held when it was fsync'd (nodesconf.c):
     * a save fsyncs only when they changed, as Redis fsyncs its config only
     * after epoch changes (slot moves are re-learnt from the cluster). */
    uint64_t synced_current_epoch, synced_last_vote_epoch, synced_config_epoch;
    int synced_once;
};

/* Creates a state with a fresh random name for myself (a master with no
 * slots, epoch 0). io and set are copied. */
cl_state *cl_state_new(const cl_io *io, const cl_settings *set);
/* Frees st, closing every link through io->close. */
void cl_state_free(cl_state *st);

/* ---- The protocol ---------------------------------------------------------- */
/* One message arrived on l (a whole frame, cbus_frame_len checked). Returns
 * 0, or -1 when l must be closed (malformed message or a node that changed
 * its name): the state has already freed l then. */
int cl_process(cl_state *st, cl_link *l, const unsigned char *buf, size_t len);
/* Ten times a second. */
void cl_cron(cl_state *st);
/* The transport's news: a new inbound connection (returns the link the
 * transport should report bytes for), an outbound link is established, a
 * link's connection is gone (l is freed). */
cl_link *cl_link_accepted(cl_state *st, void *io, const char *peer_ip);
void cl_link_connected(cl_state *st, cl_link *l);
void cl_link_closed(cl_state *st, cl_link *l);

/* ---- Nodes and slots (CLUSTER commands, nodes.conf) -------------------------- */
cl_node *cl_lookup(cl_state *st, const char *name, size_t len);
/* Adds a node in handshake with a random name, to be met at ip:port/cport.
 * Returns 0, or -1 with errno EINVAL (bad address/port). */
int cl_start_handshake(cl_state *st, const char *ip, int port, int cport);
/* Forgets n (not myself): removed from every table, blacklisted for
 * CL_BLACKLIST_TTL_S so gossip does not bring it back. */
void cl_forget(cl_state *st, cl_node *n);
void cl_add_slot(cl_state *st, cl_node *n, unsigned slot);
void cl_del_slot(cl_state *st, unsigned slot);
/* Redis's clusterBumpConfigEpochWithoutConsensus (BUMPEPOCH, SETSLOT NODE
 * after an import): myself takes current_epoch + 1 unless its config epoch
 * is already non-zero and the greatest known (current_epoch included).
 * Returns 1 when bumped. */
int cl_bump_epoch(cl_state *st);
/* CLUSTER RESET: forgets every other node and every slot; hard also gives
 * myself a new name and zeroes the epochs. */
void cl_reset(cl_state *st, int hard);
/* Sends a PONG to every connected node (after a slot changed hands here,
 * so the cluster learns it at once). */
void cl_broadcast_pong(cl_state *st);
/* Pub/sub over the bus (Redis's clusterPropagatePublish): shard 0 sends a
 * PUBLISH message to every node with a link; shard 1 a PUBLISHSHARD to the
 * other nodes of myself's shard (its master and replicas). A message whose
 * frame would pass CBUS_MAX_MSG is not sent (returns -1, else 0). */
int cl_send_publish(cl_state *st, int shard, const void *channel, size_t clen,
                    const void *message, size_t mlen);
/* Recomputes state (ok/fail) and size. */
void cl_update_state(cl_state *st);
/* Valid failure reports about n (expired ones dropped first). */
int cl_fail_reports(cl_state *st, cl_node *n);
/* cl_node helpers */
cl_node *cl_node_new(cl_state *st, const char *name, int flags);
void cl_node_add(cl_state *st, cl_node *n);
int cl_node_is_master(const cl_node *n);
/* Called by the owner after changes made outside cl_* calls. */
void cl_routing_changed(cl_state *st);
/* Random 40-hex node name. */
void cl_random_name(cl_state *st, char out[CBUS_NAMELEN]);

#endif
