/*
 * keyset: what a command will touch — keys with their database, whole
 * databases, or everything — computed from the command table and the
 * command's arguments, never from its name. The one path every caller that
 * must lock before it runs takes: EXEC builds the union over its queued
 * commands (multi.c) and checks each command against the transaction
 * before running it; scripts will do the same with their keys.
 *
 * From the table (commands.h): key_first/key_last/key_step or getkeys give
 * the keys in the client's database; scope widens to the whole database
 * (CMD_SCOPE_DB: FLUSHDB, KEYS, SCAN, RANDOMKEY, DBSIZE) or every database
 * (CMD_SCOPE_ALL: FLUSHALL); a command whose arguments name another
 * database or change it (MOVE, COPY ... DB, SWAPDB, SELECT) has a keyset
 * callback that adds what this call touches and returns the database the
 * next command runs in. Arguments a handler would reject add nothing (the
 * handler replies its error without touching the keyspace).
 *
 * Invariant: for any argv, the handler's own ks_txn_begin* asks for a
 * subset of keyset_add_command's set (KEYSET_CMD_KEYS_MAX is the bound
 * engine_begin_cmd uses too), so a transaction begun over a keyset covers
 * every command in it; keyset_covered() checks it before a command runs
 * inside one.
 *
 * Ownership: a keyset borrows the key bytes (argv) it is given: they must
 * outlive it. Stack-allocated; keyset_free() releases spilled key arrays.
 */
#ifndef LIGHTNING_KEYSET_H
#define LIGHTNING_KEYSET_H

#include <stddef.h>

#include "engine/txn.h"
#include "server/net/resp.h"

struct command;

/* A command naming more keys than this locks its whole database (the
 * shards of that many keys are most of them anyway). engine_begin_cmd
 * uses the same bound, so both sides agree. */
#define KEYSET_CMD_KEYS_MAX 64
/* Keys held without a heap allocation. */
#define KEYSET_INLINE 16

typedef struct cmd_keyset {
    ks_key *keys;          /* inl, or a heap array once more are added */
    size_t n, cap;
    unsigned dbs[2];       /* databases locked whole */
    int ndbs;
    int all;               /* every database: a third whole database, FLUSHALL */
    ks_key inl[KEYSET_INLINE];
} cmd_keyset;

void keyset_init(cmd_keyset *ks);
void keyset_free(cmd_keyset *ks);

void keyset_add_key(cmd_keyset *ks, unsigned db, const char *key, size_t klen);
/* A whole database; a third distinct one makes the set "all". */
void keyset_add_db(cmd_keyset *ks, unsigned db);
void keyset_add_all(cmd_keyset *ks);

/* Adds what cmd (a resolved subcommand for containers) with argv[0..argc)
 * touches when run in database db; returns the database the following
 * command of a transaction runs in (db, unless cmd is SELECT). */
int keyset_add_command(cmd_keyset *ks, const struct command *cmd, const resp_arg *argv,
                       int argc, int db);

/* Begins txn (on the server's engine) locking everything in ks: whole
 * databases when any are, with the keys' databases added to them. */
void keyset_begin(cmd_keyset *ks, ks_txn *txn);

/* 1 if txn (begun, not nested) holds every key and database of ks. */
int keyset_covered(const cmd_keyset *ks, ks_txn *txn);

/* A database index argument as SELECT / MOVE / COPY ... DB / SWAPDB accept
 * it (an integer in [0, databases)), without replying: 1 and *db, or 0. */
int keyset_parse_db(const resp_arg *a, int *db);

#endif
