/*
 * worker: one I/O thread — its event loop, the clients it owns, the
 * per-command statistics it counts, and the inbox through which other
 * threads hand it accepted sockets and requests (kill, unpause, stop).
 *
 * Worker 0 owns the listening sockets and deals accepted connections to all
 * workers round-robin. A worker's lists are touched only by its own thread;
 * the inbox is under inbox_lock, and every cross-thread request ends with
 * ev_loop_wakeup() so no thread ever polls for work.
 */
#ifndef LIGHTNING_WORKER_H
#define LIGHTNING_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "server/net/client.h"
#include "server/net/event.h"

/* An accepted socket and the client id given to it at accept time (ids
 * grow in accept order, whichever worker serves the client). */
struct accepted {
    int fd;
    uint64_t id;
    /* Replication: the socket to this replica's master (worker_adopt_master),
     * with the stream bytes already read from it (malloc'd, may be NULL). */
    int master;
    struct tls_conn *tls; /* the link's TLS session (tls-replication) or NULL */
    char *pending;
    size_t npending;
};

typedef struct cmd_stat {
    uint64_t calls, usec, rejected, failed;
} cmd_stat;

typedef struct worker {
    int id;
    pthread_t thread;
    ev_loop *loop;
    char backend_note[128];     /* why the fallback backend runs, if it does */

    client *clients;            /* owned clients (wl_prev/wl_next links) */
    client *pending_writes;     /* clients with output to send (wnext) */
    client *paused;             /* clients waiting on CLIENT PAUSE (pnext) */
    uint64_t npaused;           /* atomic: length of paused (INFO blocked_clients) */
    client *wal_held;           /* output held until WAL durable (hnext) */
    uint64_t wal_turn_max;      /* highest WAL LSN appended by this thread */
    uint64_t wal_requested;     /* highest LSN asked of the WAL writer */
    uint64_t wal_wait_min;      /* atomic: least LSN a held client awaits */
    int64_t now_ms;             /* cached wall clock, refreshed per turn */

    pthread_mutex_t inbox_lock;
    struct accepted *inbox;     /* accepted sockets handed to this worker */
    int inbox_len, inbox_cap;
    int kill_pending;           /* atomic: some owned client has a kill flag */
    int producer_kick;          /* atomic: run the clients' output producers */

    /* Nested polls (worker_poll_nested: a busy script's hook serves the
     * thread's other clients). While nested is set, what is not safe in
     * the middle of a command is deferred to the next before_wait: input
     * of protected clients (client.c), the rest of on_wakeup / on_tick
     * (flags below), commands that must wait for the script (paused). */
    int nested;
    int nested_wakeup;          /* an on_wakeup's deferred part is due */
    int nested_tick;            /* an on_tick is due */
    int nested_waiters;         /* commands wait on the paused list */
    client *deferred;           /* clients with held events (dnext) */

    unsigned next_target;       /* worker 0: round-robin position */
    int listen_requested;       /* atomic: worker 0 should start accepting */

    /* statistics, written by this thread, read by INFO (relaxed atomics) */
    cmd_stat *cmdstats;         /* commands_total() entries */
    struct hist **lathist;      /* latency-tracking, per command id (latency.h) */
    uint64_t stat_commands;
    uint64_t stat_net_input_bytes;
    uint64_t stat_net_output_bytes;
    uint64_t stat_reads, stat_writes; /* recv / send completions */
    uint64_t stat_keyspace_hits;
    uint64_t stat_keyspace_misses;

    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    int ready;                  /* 1 running, -1 failed to start */
} worker;

/* Starts server.nworkers threads; worker 0 listens. Returns 0 or -1 with a
 * message logged. */
int workers_start(void);
void workers_stop_and_join(void);
worker *worker_current(void);   /* the calling thread's worker, or NULL */
/* Wakes a worker so it processes its kill and pause requests. */
void worker_notify(worker *w);
/* From any thread: w runs its clients' output producers again soon
 * (client_producer_kick), e.g. when a SYNC payload became ready. */
void worker_kick_producers(worker *w);
/* Replication (src/repl/link.c): w takes fd, a connected master that has
 * finished the handshake, as a client (repl_master_client_created); pending
 * (malloc'd, owned by w from now) holds stream bytes already read, in
 * plaintext; tls (owned by w from now) is the link's TLS session or NULL. */
void worker_adopt_master(worker *w, int fd, struct tls_conn *tls, char *pending,
                         size_t npending);
void worker_notify_all(void);
/* From a busy script's hook on w's thread (script.c): serves the events
 * of w's loop that are ready now — accepts, new clients, other clients'
 * commands (answered -BUSY unless allowed, see script_reject_busy),
 * their replies — without waiting (ev_loop_poll_nested). The client
 * running the script is left untouched until its command ends. Returns
 * at once when already nested. */
void worker_poll_nested(worker *w);
/* Sums a command's statistics over all workers. */
void workers_sum_cmdstat(int id, cmd_stat *out);
uint64_t workers_sum_u64(size_t field_offset);
#define WORKERS_SUM(field) workers_sum_u64(offsetof(worker, field))

#endif
