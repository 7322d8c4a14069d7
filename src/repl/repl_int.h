/*
 * repl_int.h — state shared by repl.c, master.c, link.c and cmd_repl.c.
 *
 * Locking: R.lock guards the backlog, the replica table, the ids and the
 * role fields. Order: engine shard locks, then the stream's lock (the WAL's),
 * then R.lock; nothing else is taken under R.lock except a worker's wakeup
 * (an eventfd write). The link thread's fields (link.c) have their own
 * mutex, L.lock, never held with R.lock.
 */
#ifndef LIGHTNING_REPL_INT_H
#define LIGHTNING_REPL_INT_H

#include <pthread.h>
#include <stdint.h>

#include "repl/backlog.h"
#include "repl/repl.h"
#include "server/persist/persist.h"

struct sync_job;

/* A replica connected to this node (its client's c->repl). */
enum { RS_NONE = 0, RS_WAIT_BGSAVE, RS_SEND_BULK, RS_ONLINE };

typedef struct repl_replica {
    client *c;
    struct worker *w;
    int state;             /* RS_*, under R.lock */
    int slot;              /* backlog cursor slot, -1 none */
    int idle;              /* producer found nothing: kick on new data (R.lock) */
    int listening_port;
    char announced_ip[64];
    int capa_eof, capa_psync2;
    /* After an EOF-marked payload the stream waits for the replica's first
     * ACK (as Redis 7: the replica finds the mark at the end of a read). */
    int hold_until_ack;    /* under R.lock */
    int rdb_only;          /* REPLCONF rdb-only 1: closed after the payload */
    uint64_t ack_off;      /* last REPLCONF ACK offset, under R.lock */
    int64_t ack_ms;        /* when */
    struct sync_job *job;  /* full sync payload, owner thread */
} repl_replica;

typedef struct repl_waiter {
    struct repl_waiter *next;
    struct worker *w;
} repl_waiter;

typedef struct repl_state {
    pthread_mutex_t lock;
    backlog bl;
    int has_backlog;
    int subscribed;
    persist_consumer consumer;
    /* Master role: repl offset = persist_stream_offset() + delta. */
    int64_t delta;
    /* Just promoted: the offset is R.reploff until the next local record,
     * whose stream offset then fixes delta (on_stream). */
    int delta_pending;
    int is_replica;        /* atomic reads */
    char replid2[41];
    int64_t second_off;    /* -1 none */
    repl_replica *replicas[BACKLOG_MAX_CURSORS];
    int nreplicas;
    int64_t no_replicas_since_ms;
    /* Replica role: offset of the master's stream processed. */
    uint64_t reploff;
    /* WAIT clients to wake on ACKs (their workers). */
    int waiters;
    uint64_t stat_sync_full, stat_partial_ok, stat_partial_err;
    /* FAILOVER (failover.c): FO_*, the target (port 0: any caught-up
     * replica), the deadline (0 none), FORCE. */
    int failover_state;
    char failover_host[64];
    int failover_port;
    int64_t failover_end_ms;
    int failover_force;
    /* The master's stream's database (kept across reconnections: a
     * partial resync does not repeat SELECT). */
    int master_db;
    /* Start-up: the offset the recovered data corresponds to, from the
     * WAL's offset marks (REPLCONF LT-OFFSET, replayed) or the state file
     * written after a full sync. */
    int restored;
    char restored_id[41];
    uint64_t restored_off;
    int restored_db;
} repl_state;

extern repl_state R;

enum { FO_NONE = 0, FO_WAIT_FOR_SYNC, FO_IN_PROGRESS };

/* cmd_repl.c: keeps `replicaof` (CONFIG GET / REWRITE) in step. */
void repl_set_replicaof_config(const char *host, int port);

/* failover.c */
void repl_failover_cron(void);
/* The link's PSYNC after a FAILOVER: +CONTINUE/+FULLRESYNC (ok) or not. */
void repl_failover_psync_result(int ok);
int repl_failover_in_progress(void);

/* repl.c */
uint64_t repl_offset_locked(void);
/* Creates the backlog (subscribes to the stream) if absent. R.lock NOT held. */
void repl_backlog_ensure(void);
/* Kicks the idle replicas' producers (new data). R.lock held. */
void repl_kick_replicas_locked(void);
/* Sets server.replid (under config_lock too). */
void repl_set_replid(const char *id);
void repl_get_replid(char out[41]);
void repl_random_id(char out[41]);
/* Disconnects every replica (role change). */
void repl_disconnect_replicas(void);

/* master.c */
void repl_master_cron(void);
void repl_wake_waiters_locked(void);

/* link.c */
/* The state file (replication.state in dir): the master's replid and
 * offset of the data set loaded by the last full sync, and the LSN of the
 * snapshot written right after it. */
#define REPL_STATE_FILE "replication.state"
int repl_state_read(char id[41], uint64_t *off, uint64_t *snap_lsn);
int repl_link_start(const char *host, int port);
void repl_link_stop(void);
int repl_link_up(void);
char *repl_link_info(void);
void repl_link_role(client *c);
void repl_link_cron(struct worker *w);
int repl_link_configured(void);
void repl_link_master_closed(client *c);

#endif
