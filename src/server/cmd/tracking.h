/*
 * tracking: client-side caching (Redis 6+'s CLIENT TRACKING) — which
 * clients may hold which keys in their local cache, and the invalidation
 * messages they get when those keys change.
 *
 * Modes, as Redis 7.0:
 *  - default: the keys a tracking client reads (commands flagged readonly)
 *    go into the tracking table, key -> ids of the clients that read it;
 *    the first write to the key invalidates it for each of them and drops
 *    the key from the table. OPTIN (remember only after CLIENT CACHING yes)
 *    and OPTOUT (unless CLIENT CACHING no) filter what is remembered.
 *  - BCAST: nothing is remembered; every written key that starts with one
 *    of the client's prefixes is invalidated for it, batched per prefix and
 *    sent at the end of the writing thread's loop turn.
 *  - NOLOOP: no invalidation for keys the client wrote itself.
 *  - REDIRECT id: messages go to another connection — as RESP3 pushes, or
 *    in RESP2 as messages of channel __redis__:invalidate when that
 *    connection is subscribed.
 *  Invalidations for the client that runs the write go out after that
 *    command's reply (after EXEC's for a transaction), as in Redis 7.0.
 *  Writes are seen through the keyspace-notification points (notify.h), so
 *    every command family, expiry (lazy and active) and FLUSHDB/FLUSHALL
 *    invalidate.
 *
 * Bounds: the table holds at most `tracking-table-max-keys` keys (0: no
 * limit); past it, keys are invalidated (for the clients that had them)
 * and dropped, as Redis does. Messages travel like published messages
 * (pubsub_send_raw): bounded per client by the pubsub output limit.
 *
 * Threading: the table and the prefixes are under one mutex (never held
 * while sending); a client's tracking flags and redirect id are atomics
 * read by other threads under server.clients_lock; its prefix list is its
 * owner's. Lock order: shard locks, the tracking mutex, clients_lock.
 */
#ifndef LIGHTNING_TRACKING_H
#define LIGHTNING_TRACKING_H

#include <stddef.h>

#include "server/net/client.h"

struct worker;
struct command;

/* client.tracking.flags */
#define TRK_ON      (1u << 0)
#define TRK_BCAST   (1u << 1)
#define TRK_OPTIN   (1u << 2)
#define TRK_OPTOUT  (1u << 3)
#define TRK_NOLOOP  (1u << 4)
#define TRK_CACHING (1u << 5) /* CLIENT CACHING given for the next command */
#define TRK_BROKEN  (1u << 6) /* the redirect client is gone */

/* Clients with tracking on (0: every hook returns at once). */
extern int tracking_clients;

/* dispatch: around each command's handler (EXEC's queued commands have
 * in_exec set: their own invalidations wait for EXEC's end). */
void tracking_command_begin(client *c);
void tracking_command_end(client *c, const struct command *cmd, int in_exec);
/* A key was modified (notify.c, for every write event). */
void tracking_invalidate_key(const char *key, size_t klen);
/* FLUSHDB / FLUSHALL: every tracking client gets a null invalidation. */
void tracking_invalidate_all(void);
/* before_wait: sends the BCAST invalidations collected so far. */
void tracking_worker_process(struct worker *w);
/* Owner thread: c is closing. */
void tracking_client_closed(client *c);
/* INFO: keys in the table, client ids over them, BCAST prefixes. */
void tracking_stats(long long *keys, long long *items, long long *prefixes);
/* CLIENT LIST's redir= value (-1: tracking off). */
long long tracking_redirect_of(const client *c);

#endif
