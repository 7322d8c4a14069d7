/*
 * commands: the command table (data) and what is derived from it — lookup,
 * arity checks, key positions, and the shape COMMAND / COMMAND INFO / DOCS
 * report. Handlers live in the files of their family (t_string.c,
 * cmd_conn.c, ...) and are declared here.
 *
 * Invariant: every entry's flags, arity and key positions are what Redis
 * 7.0's COMMAND INFO reports for that command (tests compare them), so
 * client libraries and cluster routing read the same facts from us.
 */
#ifndef LIGHTNING_COMMANDS_H
#define LIGHTNING_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "server/net/client.h"

typedef void command_proc(client *c);

/* Command flags (the ones COMMAND INFO reports, as in Redis). */
#define CMD_WRITE        (1ull << 0)
#define CMD_READONLY     (1ull << 1)
#define CMD_DENYOOM      (1ull << 2)
#define CMD_ADMIN        (1ull << 3)
#define CMD_PUBSUB       (1ull << 4)
#define CMD_NOSCRIPT     (1ull << 5)
#define CMD_BLOCKING     (1ull << 6)
#define CMD_LOADING      (1ull << 7)
#define CMD_STALE        (1ull << 8)
#define CMD_SKIP_MONITOR (1ull << 9)
#define CMD_SKIP_SLOWLOG (1ull << 10)
#define CMD_ASKING       (1ull << 11)
#define CMD_FAST         (1ull << 12)
#define CMD_NO_AUTH      (1ull << 13)
#define CMD_MAY_REPLICATE (1ull << 14)
#define CMD_NO_MULTI     (1ull << 15)
#define CMD_MOVABLE_KEYS (1ull << 16)
#define CMD_ALLOW_BUSY   (1ull << 17)
#define CMD_NO_ASYNC_LOADING (1ull << 18)
#define CMD_SENTINEL     (1ull << 19)
#define CMD_ONLY_SENTINEL (1ull << 20)
#define CMD_NO_MANDATORY_KEYS (1ull << 21)
/* Redis's PROTECTED: refused unless enable-debug-command (DEBUG) or
 * enable-module-command (MODULE LOAD...) allows the client (dispatch.c). */
#define CMD_PROTECTED    (1ull << 22)

/* ACL categories (bit order = Redis's ACLCommandCategories order). */
#define ACL_KEYSPACE    (1ull << 0)
#define ACL_READ        (1ull << 1)
#define ACL_WRITE       (1ull << 2)
#define ACL_SET         (1ull << 3)
#define ACL_SORTEDSET   (1ull << 4)
#define ACL_LIST        (1ull << 5)
#define ACL_HASH        (1ull << 6)
#define ACL_STRING      (1ull << 7)
#define ACL_BITMAP      (1ull << 8)
#define ACL_HYPERLOGLOG (1ull << 9)
#define ACL_GEO         (1ull << 10)
#define ACL_STREAM      (1ull << 11)
#define ACL_PUBSUB      (1ull << 12)
#define ACL_ADMIN       (1ull << 13)
#define ACL_FAST        (1ull << 14)
#define ACL_SLOW        (1ull << 15)
#define ACL_BLOCKING    (1ull << 16)
#define ACL_DANGEROUS   (1ull << 17)
#define ACL_CONNECTION  (1ull << 18)
#define ACL_TRANSACTION (1ull << 19)
#define ACL_SCRIPTING   (1ull << 20)

/* How keys are found in argv (Redis's legacy range spec): first..last with
 * step; last < 0 counts from the end. first == 0: no keys. For commands
 * whose keys depend on arguments (CMD_MOVABLE_KEYS), getkeys computes them. */
typedef int command_getkeys(const resp_arg *argv, int argc, int *keys, int max);

/* What a call touches beyond its keys (keyset.h): nothing more, its whole
 * database (FLUSHDB, KEYS, SCAN, RANDOMKEY, DBSIZE), every database
 * (FLUSHALL). */
enum { CMD_SCOPE_KEYS = 0, CMD_SCOPE_DB, CMD_SCOPE_ALL };
struct cmd_keyset;
/* For a command whose arguments name another database or change it (MOVE,
 * COPY ... DB, SWAPDB, SELECT): adds what this call touches, run in db, to
 * ks and returns the database the next command runs in. */
typedef int command_keyset(struct cmd_keyset *ks, const resp_arg *argv, int argc, int db);

typedef struct command {
    const char *name;          /* lower case; subcommands: "list" */
    command_proc *proc;
    int arity;                 /* >0 exact, <0 at least -arity */
    uint64_t flags;
    uint64_t acl;
    int key_first, key_last, key_step;
    command_getkeys *getkeys;
    const char *group;         /* COMMAND DOCS group: "string", "server" ... */
    const char *since;
    const char *complexity;
    const char *summary;
    const char *tips;          /* space-separated COMMAND INFO tips */
    /* Redis's key-spec flags, one group per key spec in key order,
     * groups separated by '|' ("RW access delete|OW update" for RENAME);
     * the last group covers the remaining specs. NULL: derived from the
     * command's write/readonly flag. */
    const char *key_flags;
    /* For key specs with "variable_flags": the flags of this call's keys
     * (COMMAND GETKEYSANDFLAGS), as Redis's getkeys procs compute them. */
    const char *(*key_flags_for)(const resp_arg *argv, int argc);
    struct command *subcommands; /* NULL-name terminated */
    int scope;                 /* CMD_SCOPE_*: what EXEC locks beyond the keys */
    command_keyset *keyset;    /* NULL: the keys above in the client's db + scope */
    /* filled at start-up */
    const struct command *parent;
    char fullname[48];         /* "client|list" */
    int id;                    /* index into per-worker stats */
} command;

/* The table is one array per command family, each ending with {0}:
 * core_commands (connection and server, commands.c), and <family>_commands
 * in t_<family>.c for string, bitops, keys, hash, list, set, zset, stream,
 * hll, geo, sort.
 * A family's handlers are static in its file, next to its table. */
extern command core_commands[], string_commands[], bitops_commands[], keys_commands[],
    hash_commands[], list_commands[], set_commands[], zset_commands[],
    stream_commands[], /* t_stream.c */
    multi_commands[], /* multi.c */
    hll_commands[], geo_commands[], sort_commands[],
    debug_commands[], /* cmd_debug.c */
    module_commands[], /* cmd_module.c */
    pubsub_commands[], /* pubsub.c */
    dump_commands[], /* t_dump.c: DUMP, RESTORE, RESTORE-ASKING */
    sync_commands[], /* cmd_sync.c: SYNC, PSYNC */
    memory_commands[], /* cmd_memory.c: MEMORY */
    lolwut_commands[], /* cmd_lolwut.c: LOLWUT */
    migrate_commands[], /* migrate.c: MIGRATE */
    script_commands[], /* src/script/script.c */
    function_commands[], /* src/script/function.c */
    acl_commands[], /* cmd_acl.c */
    cluster_commands[], /* src/cluster/cmd_cluster.c */
    repl_commands[]; /* src/repl/cmd_repl.c: REPLICAOF, SLAVEOF, REPLCONF, WAIT, ROLE */

/* Builds the lookup index and ids; call once before any lookup. */
void commands_init(void);
int commands_count(void);      /* top-level commands (COMMAND COUNT) */
/* The i-th top-level command, 0 <= i < commands_count(), in table order. */
const command *command_top(int i);
int commands_total(void);      /* including subcommands: ids are < this */
const command *command_by_id(int id);
/* Looks up argv[0] (case-insensitive). NULL when unknown. */
const command *command_lookup(const char *name, size_t len);
/* Resolves a container command's subcommand; NULL when unknown. */
const command *command_lookup_sub(const command *parent, const char *name,
                                  size_t len);
/* Resolves "name" or "container|sub" (COMMAND INFO/DOCS arguments). */
const command *command_lookup_fullname(const char *name, size_t len);
int command_arity_ok(const command *cmd, int argc);
/* The argv index of cmd's first key when the table fixes it without
 * looking at the arguments (GET, SET, MGET's first...), else 0. For
 * prefetching: cmd may be NULL. */
static inline int command_first_key(const command *cmd, int argc) {
    return cmd && !cmd->getkeys && cmd->key_first > 0 && cmd->key_first < argc ? cmd->key_first
                                                                                : 0;
}
/* Fills keys[] with argv indexes of the keys; returns how many (<= max). */
int command_get_keys(const command *cmd, const resp_arg *argv, int argc,
                     int *keys, int max);


/* What the key at argv index pos needs, for ACL key patterns (Redis's
 * ACLSelectorCheckKey): bit 0 read (its key spec has "access"), bit 1
 * write (insert, delete or update); -1 when its key spec is "not_key" (a
 * shard channel: ACL checks it as a channel, not a key). cmd_command.c,
 * from the key specs, as COMMAND GETKEYSANDFLAGS reports them. */
int command_key_acl_perm(const command *cmd, const resp_arg *argv, int argc, int pos);

/* One command's COMMAND INFO entry / COMMAND DOCS map (cmd_command.c). */
void command_reply_info(client *c, const command *cmd);
void command_reply_docs(client *c, const command *cmd);

/* Handlers (one family per file). */
command_proc pingCommand, echoCommand, quitCommand, resetCommand,
    helloCommand, authCommand, selectCommand, clientIdCommand,
    clientSetnameCommand, clientGetnameCommand, clientListCommand,
    clientInfoCommand, clientKillCommand, clientSetinfoCommand,
    clientReplyCommand, clientNoEvictCommand, clientPauseCommand,
    clientUnpauseCommand, clientUnblockCommand, clientHelpCommand;
command_keyset selectKeyset; /* cmd_conn.c */
command_proc clientTrackingCommand, clientCachingCommand, clientGetredirCommand,
    clientTrackinginfoCommand; /* tracking.c */
command_proc infoCommand, dbsizeCommand, flushdbCommand, flushallCommand,
    timeCommand, shutdownCommand;
command_proc saveCommand, bgsaveCommand, lastsaveCommand, bgrewriteaofCommand;
command_proc backupBeginCommand, backupStatusCommand, backupSyncCommand, backupReadCommand,
    backupEndCommand, backupHelpCommand; /* persist/backup.c */
command_proc configGetCommand, configSetCommand, configResetStatCommand,
    configRewriteCommand, configHelpCommand;
command_proc slowlogGetCommand, slowlogLenCommand, slowlogResetCommand, slowlogHelpCommand,
    latencyLatestCommand, latencyHistoryCommand, latencyResetCommand, latencyGraphCommand,
    latencyDoctorCommand, latencyHistogramCommand, latencyHelpCommand,
    monitorCommand; /* slowlog.c, latency.c, monitor.c */
command_proc commandCommand, commandCountCommand, commandListCommand,
    commandInfoCommand, commandDocsCommand, commandGetKeysCommand,
    commandGetKeysAndFlagsCommand, commandHelpCommand;

#endif
