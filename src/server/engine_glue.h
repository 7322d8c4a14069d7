/*
 * engine_glue: the server's one engine instance — opened from the
 * configuration at start-up, closed at shutdown — and the small helpers
 * command handlers share to run a command as one engine transaction over
 * its keys.
 */
#ifndef LIGHTNING_ENGINE_GLUE_H
#define LIGHTNING_ENGINE_GLUE_H

#include "engine/keyspace.h"
#include "engine/prefetch.h"
#include "server/net/client.h"

/* Takes the data directory's lock (<dir>/lightning.lock, the one the
 * embedded library takes: engine/store.h), then opens the engine. -1
 * (logged) when another process holds the directory or the engine cannot
 * open. */
int engine_open(void);
void engine_close(void);

/* Begins a transaction locking the shards of c's keys (from the command
 * table's key positions) in the client's database. */
void engine_begin_cmd(client *c, ks_txn *txn);

/* Prefetches (engine/prefetch.h) the keys c->argv[first .. first + n) of
 * c's database, n <= KS_PREFETCH_MAX, inside txn (begun over them): what a
 * multi-key read calls for each window of keys before looking them up. */
void engine_prefetch_args(client *c, ks_txn *txn, int first, int n);

#endif
