/*
 * engine_glue: the server's one engine instance — opened from the
 * configuration at start-up, closed at shutdown — and the small helpers
 * command handlers share to run a command as one engine transaction over
 * its keys.
 */
#ifndef LIGHTNING_ENGINE_GLUE_H
#define LIGHTNING_ENGINE_GLUE_H

#include "engine/keyspace.h"
#include "server/client.h"

int engine_open(void);
void engine_close(void);

/* Begins a transaction locking the shards of c's keys (from the command
 * table's key positions) in the client's database. */
void engine_begin_cmd(client *c, ks_txn *txn);

#endif
