/*
 * client: one connection's state — its query buffer and parser, its reply
 * buffers, its flags — and the lifecycle around it: accept, read, execute,
 * reply, backpressure, close.
 *
 * Threading: a client belongs to the worker (I/O thread) that accepted it
 * and only that thread touches its buffers. Fields other threads read for
 * CLIENT LIST / CLIENT KILL / INFO are marked "shared": they are written
 * with relaxed atomics (numbers) or under server.clients_lock (strings), and
 * a kill request is a flag plus a wakeup of the owner.
 *
 * Replies: bytes go to the fixed buf first and spill into a list of chunks;
 * a send is in flight from the oldest bytes while new replies are appended
 * behind it (appending never moves bytes already queued). When the pending
 * output passes client-output-backpressure the client stops reading and
 * stops executing its pipeline until the output drains: a client that never
 * reads costs the server a bounded amount of memory. What backpressure
 * cannot stop — one command's huge reply, messages pushed to a subscriber
 * — is bounded by client-output-buffer-limit (per class: the client is
 * closed past it) and, over all clients, by maxmemory-clients (the client
 * using the most memory is evicted).
 *
 * TLS (tls.h): a client accepted on tls-port has a tls_conn; received
 * bytes are decrypted before parsing, and at send time its replies are
 * encrypted and released at once, the ciphertext being what is in flight.
 */
#ifndef LIGHTNING_CLIENT_H
#define LIGHTNING_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "server/net/event.h"
#include "server/net/resp.h"

struct worker;
struct command;
struct acl_user;
struct tls_conn;

#define CLIENT_REPLY_BUF (16 * 1024)
#define CLIENT_NAME_MAX 128

/* client.flags (owner thread only unless noted) */
#define CLIENT_CLOSE_AFTER_REPLY (1u << 0) /* QUIT, protocol error */
#define CLIENT_CLOSE_ASAP        (1u << 1) /* close now, drop output */
#define CLIENT_AUTHENTICATED     (1u << 2)
#define CLIENT_REPLY_OFF         (1u << 3)
#define CLIENT_REPLY_SKIP_NEXT   (1u << 4)
#define CLIENT_REPLY_SKIP        (1u << 5) /* skip this command's reply */
#define CLIENT_NO_EVICT          (1u << 6)
#define CLIENT_READ_PAUSED       (1u << 7) /* backpressure: not reading */
#define CLIENT_PENDING_WRITE     (1u << 8) /* on the worker's write list */
#define CLIENT_BLOCKED_PAUSE     (1u << 9) /* waiting for CLIENT UNPAUSE */
#define CLIENT_CLOSED            (1u << 10)
#define CLIENT_PROTOCOL_ERROR    (1u << 11)
#define CLIENT_NO_TOUCH          (1u << 12)
#define CLIENT_IN_LIST           (1u << 13) /* registered in server list */
#define CLIENT_WAL_HOLD          (1u << 14) /* output held until WAL durable */
#define CLIENT_MONITOR           (1u << 15) /* streams commands (monitor.h) */
#define CLIENT_METRICS_ONLY      (1u << 16) /* accepted on metrics-port (metrics.h) */
#define CLIENT_ASKING            (1u << 17) /* cluster: ASKING for the next command */
#define CLIENT_READONLY          (1u << 18) /* cluster: READONLY (replica reads) */
#define CLIENT_SCRIPT            (1u << 19) /* a script's fake client (script.c) */
#define CLIENT_LOADER            (1u << 20) /* the WAL replay's client: runs while loading */
/* Writing a push (pub/sub message or confirmation, tracking invalidation):
 * CLIENT REPLY OFF / SKIP do not silence it, as in Redis (reply.c). */
#define CLIENT_PUSHING           (1u << 22)
/* Has events held back during a busy script's nested poll (on the
 * worker's deferred list; client_replay_deferred runs them). */
#define CLIENT_DEFERRED          (1u << 23)
#define CLIENT_BLOCKED           (1u << 24) /* in a blocking command (blocking.h) */
/* Running the commands queued by MULTI: blocking commands do not block
 * (set and cleared by EXEC). */
#define CLIENT_IN_EXEC           (1u << 25)
/* Between MULTI and EXEC/DISCARD: commands are queued (multi.c). */
#define CLIENT_MULTI             (1u << 26)
/* Subscribed to something (pubsub.c): RESP2 allows only the pub/sub
 * commands, PING, QUIT and RESET. */
#define CLIENT_PUBSUB            (1u << 21)
/* Replication (src/repl): a replica streaming from this node (its producer
 * runs while its REPLCONF ACKs are read), and this replica's master. */
#define CLIENT_REPLICA           (1u << 27)
#define CLIENT_MASTER            (1u << 28)

/* Redis's client classes, as client-output-buffer-limit names them (index
 * order = server.client_obuf_limits[]). A client is normal until pub/sub
 * (subscribed to something) or replication makes it otherwise: those set
 * it with client_set_class(). */
enum { CLIENT_CLASS_NORMAL = 0, CLIENT_CLASS_REPLICA, CLIENT_CLASS_PUBSUB, CLIENT_CLASS_COUNT };

/* One class's limits: 0 = no limit. */
typedef struct client_obuf_limit {
    long long hard_bytes;
    long long soft_bytes;
    long long soft_seconds;
} client_obuf_limit;

typedef struct reply_chunk {
    struct reply_chunk *next;
    size_t size;
    size_t used;
    char buf[];
} reply_chunk;

struct client;
/* An output producer (SYNC's RDB payload, cmd_sync.c): appends the next
 * part of a long reply (addReplyProto) and returns 1 once it has appended
 * the last byte, 0 when more is to come (appending nothing: not ready yet,
 * call client_producer_kick when it is). Runs on the owner thread. */
typedef int client_produce_fn(struct client *c, void *ctx);

typedef struct client {
    uint64_t id;
    ev_conn conn;
    struct worker *owner;
    uint32_t flags;
    int resp;                  /* 2 or 3 (shared: read by CLIENT LIST) */
    int db;                    /* shared */

    /* input */
    resp_parser parser;
    char *qbuf;                /* unconsumed bytes, starting at a command */
    size_t qlen, qcap;
    size_t qbuf_inflight; /* bytes of the read being processed (CLIENT LIST qbuf) */
    int argc;
    resp_arg *argv;            /* the command being executed */
    /* The engine hash of one key of the command being executed, when its
     * pipeline batch prefetched it (client.c): prehash_key is that key's
     * bytes (an argv pointer; NULL: none), engine_begin_cmd reuses it. */
    const char *prehash_key;
    uint64_t prehash;
    const struct command *cmd, *lastcmd; /* shared (lastcmd) */
    /* A command that could not run yet (CLIENT PAUSE): an owned copy of its
     * arguments, run first when the client resumes. */
    int waiting_argc;
    resp_arg *waiting_argv;

    /* output */
    char buf[CLIENT_REPLY_BUF];
    size_t bufpos;             /* bytes in buf */
    size_t sentlen;            /* bytes of buf already written */
    size_t head_off;           /* bytes of the first chunk already written */
    reply_chunk *reply_head, *reply_tail;
    size_t reply_bytes;        /* bytes in chunks (shared) */
    size_t reply_mem;          /* memory of the chunks (headers + capacity) */
    size_t reply_nchunks;      /* chunks in the list */
    size_t inflight_bytes;     /* bytes handed to the kernel, not yet acked */
    reply_chunk *deferred;     /* placeholder for a length not yet known */
    int cls;                   /* CLIENT_CLASS_* (shared: CLIENT LIST/KILL TYPE) */
    /* When the output list first stood over its class's soft limit
     * (seconds), 0 when it is under it (client-output-buffer-limit). */
    int64_t obuf_soft_since_s;
    int error_in_reply;        /* the current command replied an error */
    uint64_t errors_replied;   /* error replies ever made to this client
                                * (the WAL replay's check; owner thread) */

    /* The ACL user (acl.h): a reference; changed by its owner under
     * server.clients_lock; NULL for internal clients (no restriction). */
    struct acl_user *user;
    /* TLS state (net/tls.h) when accepted on tls-port, else NULL. */
    struct tls_conn *tls;
    /* identity and timestamps (shared) */
    char addr[64], laddr[64];
    char *name;                /* under server.clients_lock */
    char *lib_name, *lib_ver;  /* under server.clients_lock */
    int64_t ctime_ms;
    int64_t last_interaction_ms;
    uint64_t user_kill_flag;   /* shared: set by another thread to kill */
    /* shared: set by ACL SETUSER when the user's channel rules changed; the
     * owner closes c if a subscription is no longer permitted. */
    uint64_t acl_recheck_flag;
    int64_t pause_start_ms;

    /* What other threads may read of the buffers (CLIENT LIST, INFO):
     * the owner publishes it with relaxed stores after each step, so
     * readers never touch the live fields. */
    struct {
        size_t qbuf, qbuf_free, obl, omem, rbp;
        size_t oll;         /* reply chunks */
        size_t tot_mem;     /* client_memory(): counted in server.clients_mem */
        uint32_t flags;
        size_t argv_mem;    /* argument bytes of the command running or
                               waiting (blocked), 0 between commands */
        int multi;          /* commands queued since MULTI (multi.c) */
        size_t multi_mem;   /* their bytes */
        int sub, psub, ssub; /* subscriptions (pubsub.c) */
    } pub;

    struct client *prev, *next;         /* server-wide list (clients_lock) */
    struct client *wl_prev, *wl_next;   /* owner worker's list */
    struct client *wnext;               /* worker's pending-write list */
    struct client *pnext;               /* worker's paused list */
    struct client *hnext;               /* worker's WAL-held list */
    uint64_t wal_lsn;  /* end LSN of the last WAL record this client wrote */
    /* Blocked by a command (blocking.c; set and cleared under its lock). */
    struct bstate *bstate;
    /* MULTI queue and WATCHed keys (multi.c, owner thread), NULL if none. */
    struct multi_state *mstate;
    /* Subscriptions and pending messages (pubsub.c), NULL if never
     * subscribed. */
    struct ps_sub *pubsub;
    /* CLIENT TRACKING (tracking.c): flags (TRK_*) and redirect id are
     * shared (relaxed atomics), prefixes the owner's. */
    struct {
        uint32_t flags;
        uint64_t redirect;
        struct trk_prefixes *prefixes;
    } tracking;
    /* Output producer (client_set_producer), NULL if none. */
    client_produce_fn *producer;
    void *producer_ctx;
    void (*producer_free)(void *ctx);
    /* Replication state of a replica's connection (src/repl), NULL if none. */
    struct repl_replica *repl;
    /* Events held while its thread served a busy script's nested poll and
     * this client was protected (client_nested_protected): received bytes
     * in order (at most client-query-buffer-limit; past it the client is
     * closed on replay), the end of its input, a completed send whose
     * follow-up (pipeline, producer) waits. Owner thread only. */
    struct {
        char *buf;
        size_t len, cap;
        int overflow;     /* bytes were dropped: close on replay */
        int end;          /* the peer closed (end_res 0) or failed (-errno) */
        ssize_t end_res;
        int sent;
    } held;
    struct client *dnext;               /* worker's deferred list */
} client;

/* Called by the worker for each accepted socket, with the id given to it
 * at accept time. */
client *client_create(struct worker *w, int fd, uint64_t id);
/* The same for the socket to this replica's master (src/repl): no
 * protected-mode check, authenticated, CLIENT_MASTER, replies off. tls is
 * the link's established TLS session (tls-replication) or NULL; the
 * client owns it from here on (freed on failure too). */
client *client_create_master(struct worker *w, int fd, uint64_t id, struct tls_conn *tls);
/* Closes now (output dropped); the memory is freed once the socket's
 * kernel operations are done. Safe to call twice. */
void client_close(client *c);
/* Frees c at shutdown, after its worker's event loop was destroyed. */
void client_free_at_exit(client *c);
/* Arms sending for c at the end of this loop turn. */
void client_queue_write(client *c);
/* Writes queued output of every client on the worker's list. */
void client_flush_writes(struct worker *w);
/* Re-runs the pipeline of a client that was waiting (pause, backpressure). */
void client_resume(client *c);
/* Publishes c's buffer sizes and flags for other threads (owner only). */
void client_publish(client *c);
/* Makes fn produce c's output from now on: fn is called at once and then
 * after each completed send that leaves at most half of
 * client-output-backpressure pending, so the pending output stays bounded
 * however long the reply. While a producer is set, c's later commands wait.
 * When fn returns 1, or c closes, free_fn(ctx) is called (free_fn may be
 * NULL) and the producer is removed. Owner thread only. */
void client_set_producer(client *c, client_produce_fn *fn, void *ctx, void (*free_fn)(void *));
/* Runs c's producer again (it had nothing to add before). Owner thread;
 * other threads ask for it with worker_kick_producers(). */
void client_producer_kick(client *c);
/* Sets c's class (CLIENT_CLASS_*): which client-output-buffer-limit
 * applies to it. Owner thread only. */
void client_set_class(client *c, int cls);
/* Checks c's output list (the memory of its chunks, as Redis counts its
 * reply blocks) against its class's client-output-buffer-limit
 * (Redis's checkClientOutputBufferLimits: over the hard limit, or over the
 * soft limit continuously for more than its seconds). Over: c is marked
 * CLIENT_CLOSE_ASAP (no more output is queued, its pipeline stops), the
 * warning is logged and c is closed when its worker next flushes writes —
 * never in the middle of the command that produced the output. Called by
 * reply.c whenever the list grows; returns 1 if c is (now) closing. Owner
 * thread only. */
int client_check_output_limits(client *c);
/* The memory c uses (CLIENT LIST tot-mem, maxmemory-clients): the struct
 * with its fixed reply buffer, the query buffer's capacity, the argument
 * vectors, the reply chunks and the MULTI queue. Owner thread only. */
size_t client_memory(const client *c);
/* maxmemory-clients: while the memory of all normal and pub/sub clients is
 * at or over the limit, the evictable client using the most (not CLIENT
 * NO-EVICT, not already closing) is logged ("Evicting client: ...") and
 * closed by its owner, and INFO's evicted_clients counts it. A bounded
 * number of clients per call; called by every worker once per loop turn. */
void client_evict_if_needed(void);
/* The limit maxmemory-clients sets in bytes (a percentage of maxmemory
 * resolved, at least 128 KiB like Redis), 0 for none. */
size_t client_eviction_limit(void);
/* Pending output bytes (buf + chunks, not yet acknowledged by the kernel). */
size_t client_output_bytes(const client *c);
/* One line of CLIENT LIST / CLIENT INFO for c, appended to out (malloc'd,
 * grown as needed); caller holds server.clients_lock. */
void client_info_line(client *c, char **out, size_t *len, size_t *cap);

/* Nested polls (worker_poll_nested): queues the replies of the clients
 * served, leaving the protected ones (the script's caller...) for the
 * normal turn. */
void client_flush_writes_nested(struct worker *w);
/* Runs the events held for w's deferred clients, in order, now that no
 * script runs (worker's before_wait). */
void client_replay_deferred(struct worker *w);

/* ev_callbacks hooks (wired by worker.c) */
void client_on_recv(ev_conn *conn, char *data, ssize_t len);
/* Input already in plaintext (what the replication link read past the
 * handshake, decrypted when the link is TLS). len > 0. */
void client_feed_plain(client *c, char *data, size_t len);
void client_on_sent(ev_conn *conn, ssize_t res);
void client_on_closed(ev_conn *conn);

#endif
