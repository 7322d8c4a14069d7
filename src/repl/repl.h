/*
 * repl.h — replication as the rest of the server sees it: start-up and
 * shutdown, the cron, the gates dispatch applies (-READONLY, -MASTERDOWN,
 * -NOREPLICAS), the hooks the network layer calls for the master's
 * connection on a replica, INFO replication / stats, and the commands
 * (REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, WAIT, ROLE, FAILOVER).
 *
 * The protocol is Redis's (see docs/REPLICATION.md): a replica connects,
 * PINGs, AUTHs, REPLCONFs, PSYNCs; the master answers +FULLRESYNC and an
 * RDB payload written from an MVCC view, or +CONTINUE from its backlog,
 * then streams the logical log (persist_stream_subscribe) in RESP; offsets
 * are byte counts of that stream.
 *
 * Files: repl.c (roles, ids, backlog feeding, INFO), master.c (replica
 * clients: PSYNC, the stream producer, ACKs, WAIT), link.c (the replica's
 * link to its master: handshake and payload on a thread, then the master
 * as a client of a worker), failover.c (FAILOVER), cmd_repl.c (command
 * table rows), backlog.c (the backlog and the PSYNC decision).
 */
#ifndef LIGHTNING_REPL_H
#define LIGHTNING_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "server/net/client.h"

struct command;
struct worker;

/* Start-up after persist_open (WAL replayed: the replica's saved replid and
 * offset are known) and before the workers; starts the link when
 * `replicaof` is set. 0 or -1 (logged). */
int repl_init(void);
/* After the workers started. */
void repl_workers_started(void);
/* Before the workers stop: stops the link thread. */
void repl_shutdown(void);
/* Every worker's cron tick (worker 0 does the shared work). */
void repl_cron(struct worker *w);

/* dispatch: replies Redis's error and returns 1 when cmd may not run now
 * (-READONLY on a read-only replica, -MASTERDOWN while the link is down with
 * replica-serve-stale-data no, -NOREPLICAS under min-replicas-to-write). */
int repl_reject(client *c, const struct command *cmd);
/* A replica whose link is down with replica-serve-stale-data no. */
int repl_running_stale(void);

/* client.c: c closes (replica or master client). */
void repl_client_closed(client *c);
/* client.c, for a CLIENT_MASTER client: around each command of the
 * master's stream; raw/n are the command's bytes (counted in the offset,
 * kept in the backlog for this node's own replicas). */
void repl_master_cmd_begin(client *c, size_t n);
void repl_master_cmd_end(client *c, const char *raw, size_t n);
/* client.c, after a read of the master client was processed. */
void repl_master_read_done(client *c);
/* worker.c: a socket handed over by the link (worker_adopt_master). */
void repl_master_client_created(client *c, const char *pending, size_t n);

/* Cluster mode (src/cluster/replica.c) drives the role: start or move
 * the link to host:port, promote (REPLICAOF NO ONE), whether the link is
 * already to host:port, ms since the master was last heard (0: no link). */
int repl_link_start(const char *host, int port);
void repl_link_unset(void);
int repl_link_same(const char *host, int port);
int repl_link_configured(void);
int64_t repl_link_data_age_ms(void);

/* Is this node a replica (REPLICAOF host port)? Lock-free. */
int repl_is_replica(void);

/* SYNC / PSYNC handlers (rows in server/cmd/cmd_sync.c). */
void repl_sync_command(client *c);
void repl_psync_command(client *c);

/* INFO replication's section text, malloc'd (caller frees), or NULL. */
char *repl_info_string(void);
void repl_info_stats(uint64_t *sync_full, uint64_t *sync_partial_ok, uint64_t *sync_partial_err);
/* INFO / HELLO / CLIENT LIST. */
const char *repl_role_name(void); /* "master" or "slave" */
/* The replication offset (master_repl_offset). */
uint64_t repl_offset(void);
/* Bytes the replication backlog holds (MEMORY STATS replication.backlog). */
size_t repl_backlog_memory(void);

#endif
