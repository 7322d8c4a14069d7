/*
 * multi: transactions — MULTI / EXEC / DISCARD / WATCH / UNWATCH — with
 * Redis 7.0's replies, run as ONE engine transaction per EXEC.
 *
 * Queueing: between MULTI and EXEC, dispatch hands every command that
 * passed its checks (lookup, arity, auth, no-multi) to multi_queue(),
 * which copies its arguments and replies +QUEUED; EXEC, DISCARD, MULTI,
 * WATCH, QUIT and RESET run at once. A command rejected while queueing
 * marks the transaction (multi_flag_error) and EXEC then answers
 * EXECABORT. Queued bytes count against client-query-buffer-limit (with
 * the query buffer): a client over it is closed, as Redis closes one whose
 * query buffer grew too large.
 *
 * Atomicity and isolation: EXEC builds one lock set (keyset.h) from the
 * command table and the arguments of every queued command — its keys in
 * the database it will run in (following SELECTs inside the transaction),
 * whole databases for table scope DB/ALL (FLUSHDB, KEYS, SCAN, RANDOMKEY,
 * DBSIZE / FLUSHALL), the databases MOVE, COPY ... DB and SWAPDB name —
 * plus the WATCHed keys, and begins one ks_txn over it. No command name is
 * tested. The WATCH check runs under those locks, then each queued
 * command is checked against the transaction (keyset_covered: a command
 * outside it gets an error reply, never touches an unlocked shard) and
 * its handler runs unchanged inside the transaction (txn.h "Nesting": its
 * own begin/commit borrow the outer locks); one commit ends it: no other
 * client, on any thread, sees a part of it or writes in between.
 * CLIENT_IN_EXEC is set meanwhile (blocking commands do not block).
 *
 * WAL: what each queued command logs (its argv or its persist_rewrite) is
 * collected by persist.c and the one commit appends it as one record,
 * wrapped in MULTI ... EXEC when it holds more than one command (as
 * Redis's AOF and replication stream do): recovery replays it all or none.
 *
 * WATCH: keyspace.h "WATCH versions" — each watched key keeps the version
 * moment ks_watch_add returned; EXEC aborts (null array) when
 * ks_watch_changed says a commit since then wrote or deleted it.
 *
 * Threading: all state is the owning client's (its worker thread only);
 * the counts other threads read for CLIENT LIST are in c->pub.
 */
#ifndef LIGHTNING_MULTI_H
#define LIGHTNING_MULTI_H

#include "server/net/client.h"

struct command;

/* dispatch: if c is inside MULTI and cmd is one that queues, queues it
 * (replies +QUEUED, or closes c over the memory limit) and returns 1.
 * Returns 0 when cmd must run now. */
int multi_queue(client *c, const struct command *cmd);
/* dispatch: a command of c was rejected; inside MULTI, EXEC will abort. */
void multi_flag_error(client *c);
/* dispatch: when cmd, rejected with err, is EXEC, discards the transaction
 * (and watches) and replies Redis's "EXECABORT Transaction discarded
 * because of: <err>"; returns 1. Returns 0 (nothing done) otherwise. */
int multi_exec_rejected(client *c, const struct command *cmd, const char *err);
/* Whether cmd is EXEC. */
int multi_is_exec(const struct command *cmd);

/* maxmemory: 1 if cmd is EXEC and a command c queued is deny-oom (EXEC
 * is then refused like one, as in Redis), or if c is inside MULTI and cmd
 * would be queued (queueing takes memory: every command but EXEC,
 * DISCARD, QUIT and RESET is refused under OOM). */
int multi_exec_denyoom(client *c, const struct command *cmd);

/* Cluster routing of EXEC: the i-th queued command of c's transaction and
 * its arguments (valid until the transaction ends); 0 when i is past the
 * last. */
int multi_queued_at(client *c, int i, const struct command **cmd, int *argc,
                    const resp_arg **argv);

/* RESET: discards the transaction and the watched keys. */
void multi_reset(client *c);
/* client_close: the same, for a connection going away (engine still open). */
void multi_client_close(client *c);
/* Does c WATCH keys? (Unwatching them locks their shards: a busy script's
 * nested poll defers it, see client_close and script_reject_busy.) */
int multi_watching(const client *c);
/* Frees what is left of c's state without touching the engine (the
 * client's memory is being freed; at exit the engine frees its side). */
void multi_client_free(client *c);

#endif
