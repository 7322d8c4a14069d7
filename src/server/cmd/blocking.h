/*
 * blocking: clients blocked by BLPOP / BRPOP / BLMOVE / BRPOPLPUSH / BLMPOP
 * / BZPOPMIN / BZPOPMAX / BZMPOP / XREAD / XREADGROUP — who waits on which (db, key), in what
 * order, until when, and how a write on any thread gets them served.
 *
 * Model (Redis 7's re-execution): a blocking handler that finds no data
 * calls blocking_block() inside its engine transaction (the shard locks of
 * its keys held), which registers the client on a FIFO per (db, key) and
 * keeps a copy of its argv. When a key is installed holding a collection
 * (the engine's install hook: LPUSH creating it, LMOVE's destination, ZADD,
 * RENAME, MOVE, COPY, RESTORE, SWAPDB...), the writing thread notes it and,
 * once its command (or EXEC) has committed, hands the key to the FIFO's
 * first client: that client's worker re-runs the command in its own thread.
 * A re-run that finds data replies and unblocks the client; one that finds
 * none leaves it blocked, in place.
 *
 * Fairness: one client per key holds the key's "baton" at a time; it passes
 * to the next in FIFO order when the holder is served or leaves, and is
 * handed again when a write arrives while the holder was re-running. So the
 * first client blocked on a key is served first, across threads.
 *
 * No polling: wake-ups go through the worker's ready list plus
 * ev_loop_wakeup(); timeouts sit in a per-worker min-heap checked on the
 * worker's tick. A blocked client costs no CPU. In cluster mode a change
 * of slot ownership or cluster state re-checks every blocked client
 * (blocking_recheck_routes): Redis redirects those whose slot left.
 *
 * Locking: one mutex (the registry: key FIFOs, batons, ready lists, the
 * blocked state's link to its client). Lock order: engine shard locks, then
 * server.clients_lock, then the registry; the cluster mutex, then the
 * registry (blocking_recheck_routes); nothing is locked while holding the
 * registry. The timeout heap and re-runs are the owning worker's only.
 */
#ifndef LIGHTNING_BLOCKING_H
#define LIGHTNING_BLOCKING_H

#include <stdint.h>

#include "server/net/client.h"

struct worker;

/* Start-up, after engine_open() and before the workers: per-worker state
 * and the engine's install hook. Returns 0, or -1 (out of memory). */
int blocking_init(void);
/* After the workers joined (every client freed). */
void blocking_close(void);

/* ---- Blocking handlers ----------------------------------------------------- */

/* Redis's getTimeoutFromObjectOrReply in seconds (a float, rounded up to ms):
 * *deadline_ms is absolute Unix ms, 0 for "forever". Replies Redis's error
 * and returns -1 when a is not acceptable. */
int blocking_timeout_or_reply(client *c, const resp_arg *a, int64_t *deadline_ms);

/* May c block? Not inside EXEC (the command acts as its non-blocking
 * form, as in Redis), nor outside an I/O thread (WAL replay). */
int blocking_allowed(const client *c);

/* Is c's command a re-run after one of its keys became ready? Redis 7.0
 * serves a client only from a key of the type it waits for, so a re-run
 * skips keys of another type instead of replying WRONGTYPE. */
int blocking_rerun(const client *c);

/* Called by a handler that found no data and blocking_allowed(), inside the
 * transaction that locks keys[0..nkeys) (in c's db): c blocks on them until
 * deadline_ms (0: forever); its argv is copied for the re-run. In a re-run
 * it means "still no data": c stays blocked where it was. Nothing is
 * replied. */
void blocking_block(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms);
/* The same for readers that do not consume what they read (XREAD,
 * XREADGROUP): a re-run that finds nothing hands the key to the next
 * client in line instead of stopping there, so one write reaches every
 * reader it is for. */
void blocking_block_broadcast(client *c, const resp_arg *keys, int nkeys, int64_t deadline_ms);

/* ---- Writers ------------------------------------------------------------- */

/* A write to key that did not install a new value (XADD to an existing
 * stream, XGROUP DESTROY): its waiters look again. Called inside the
 * writing transaction (shard lock held), like the engine's install hook. */
void blocking_signal_key(unsigned db, const char *key, size_t klen);

/* Hands the keys this thread's commits made ready to their first waiters.
 * Called after each command (dispatch) once its transactions committed;
 * cheap when nobody is blocked. */
void blocking_signal_flush(void);

/* ---- Workers and clients -------------------------------------------------- */

/* Owner thread: re-runs the commands of w's clients whose keys became
 * ready, and answers CLIENT UNBLOCK requests (on_wakeup, before_wait). */
void blocking_worker_process(struct worker *w);
/* Owner thread: times out w's clients whose deadline passed (on_tick). */
void blocking_worker_tick(struct worker *w);
/* Owner thread: c is closing or being freed; forgets its blocked state. */
void blocking_client_closed(client *c);
/* The command that just blocked c ran for us: counted in its slow log
 * entry, written when it is answered (Redis logs a blocked command then). */
void blocking_add_duration(client *c, int64_t us);

/* CLIENT UNBLOCK, from any thread, with server.clients_lock held (so target
 * is alive): if target is blocked by a command, makes its worker reply
 * (the timeout reply, or error when error) and unblock it. Returns 1 if
 * target was blocked, else 0. */
int blocking_request_unblock(client *target, int error);

/* Cluster mode, any thread: slot ownership or the cluster state changed;
 * every blocked client's worker checks it (cluster_redirect_blocked) and
 * answers -MOVED / -CLUSTERDOWN to those whose keys are no longer served
 * here, as Redis's clientsCron does. */
void blocking_recheck_routes(void);

/* Clients blocked by a command right now (INFO blocked_clients). */
uint64_t blocking_clients(void);
/* Of them, those with a timeout (INFO clients_in_timeout_table). */
uint64_t blocking_clients_with_timeout(void);

#endif
