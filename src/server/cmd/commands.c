/*
 * commands: the command table and its lookup (see commands.h).
 *
 * Each entry's arity, flags, key positions, ACL categories and tips are
 * Redis 7.0's (utils/gen-command-entry.py prints a starting entry from a
 * running Redis; tests/integration/test_command_info.c compares them all).
 * Summaries are ours. Lookup is a small open-addressing hash built once at
 * start-up over lower-cased names; the table is read-only afterwards.
 */
#include "server/cmd/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"

#define CONN_SUB (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define CONN_ADMIN_SUB (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_CONN_SLOW (ACL_SLOW | ACL_CONNECTION)
#define ACL_CONN_ADMIN (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION)
#define CONFIG_SUB (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_CONFIG (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static command client_subcommands[] = {
    {.name = "id", .proc = clientIdCommand, .arity = 2, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "5.0.0",
     .complexity = "O(1)", .summary = "Returns the connection's unique id."},
    {.name = "setname", .proc = clientSetnameCommand, .arity = 3, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "2.6.9",
     .complexity = "O(1)", .summary = "Names the current connection."},
    {.name = "getname", .proc = clientGetnameCommand, .arity = 2, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "2.6.9",
     .complexity = "O(1)", .summary = "Returns the current connection's name."},
    {.name = "list", .proc = clientListCommand, .arity = -2, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "2.4.0",
     .complexity = "O(N)", .tips = "nondeterministic_output",
     .summary = "Lists open connections."},
    {.name = "info", .proc = clientInfoCommand, .arity = 2, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "6.2.0",
     .complexity = "O(1)", .tips = "nondeterministic_output",
     .summary = "Describes the current connection."},
    {.name = "kill", .proc = clientKillCommand, .arity = -3, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "2.4.0",
     .complexity = "O(N)", .summary = "Closes connections chosen by filters."},
    {.name = "setinfo", .proc = clientSetinfoCommand, .arity = 4, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "7.2.0",
     .complexity = "O(1)", .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Records the client library's name or version."},
    {.name = "reply", .proc = clientReplyCommand, .arity = 3, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "3.2.0",
     .complexity = "O(1)", .summary = "Turns replies to this connection on, off, or off for one command."},
    {.name = "no-evict", .proc = clientNoEvictCommand, .arity = 3, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "7.0.0",
     .complexity = "O(1)", .summary = "Sets whether this connection may be evicted."},
    {.name = "pause", .proc = clientPauseCommand, .arity = -3, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "2.9.50",
     .complexity = "O(1)", .summary = "Holds client commands (all, or writes) for a time."},
    {.name = "unpause", .proc = clientUnpauseCommand, .arity = 2, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "6.2.0",
     .complexity = "O(N)", .summary = "Ends a CLIENT PAUSE."},
    {.name = "unblock", .proc = clientUnblockCommand, .arity = -3, .flags = CONN_ADMIN_SUB,
     .acl = ACL_CONN_ADMIN, .group = "connection", .since = "5.0.0",
     .complexity = "O(log N) where N is the number of client connections",
     .summary = "Unblocks a client blocked by a blocking command from another connection."},
    /* client-side caching (tracking.c) */
    {.name = "tracking", .proc = clientTrackingCommand, .arity = -3, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "6.0.0",
     .complexity = "O(1). Some options may introduce additional complexity.",
     .summary = "Turns key tracking for client-side caching on or off."},
    {.name = "caching", .proc = clientCachingCommand, .arity = 3, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "6.0.0",
     .complexity = "O(1)",
     .summary = "Says whether the next command's keys are tracked (OPTIN / OPTOUT)."},
    {.name = "getredir", .proc = clientGetredirCommand, .arity = 2, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "6.0.0",
     .complexity = "O(1)",
     .summary = "Returns the id of the client tracking invalidations are redirected to."},
    {.name = "trackinginfo", .proc = clientTrackinginfoCommand, .arity = 2, .flags = CONN_SUB,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "6.2.0",
     .complexity = "O(1)", .summary = "Describes the connection's key tracking."},
    {.name = "help", .proc = clientHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "connection", .since = "5.0.0",
     .complexity = "O(1)", .summary = "Lists the CLIENT subcommands."},
    {0},
};

static command config_subcommands[] = {
    {.name = "get", .proc = configGetCommand, .arity = -3, .flags = CONFIG_SUB,
     .acl = ACL_CONFIG, .group = "server", .since = "2.0.0",
     .complexity = "O(N)", .summary = "Returns configuration parameters matching patterns."},
    {.name = "set", .proc = configSetCommand, .arity = -4, .flags = CONFIG_SUB,
     .acl = ACL_CONFIG, .group = "server", .since = "2.0.0",
     .complexity = "O(N)", .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Sets configuration parameters, all or none."},
    {.name = "resetstat", .proc = configResetStatCommand, .arity = 2, .flags = CONFIG_SUB,
     .acl = ACL_CONFIG, .group = "server", .since = "2.0.0",
     .complexity = "O(1)", .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Zeroes the statistics INFO reports."},
    {.name = "rewrite", .proc = configRewriteCommand, .arity = 2, .flags = CONFIG_SUB,
     .acl = ACL_CONFIG, .group = "server", .since = "2.8.0",
     .complexity = "O(1)", .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Writes the running configuration back to its file."},
    {.name = "help", .proc = configHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "5.0.0",
     .complexity = "O(1)", .summary = "Lists the CONFIG subcommands."},
    {0},
};

static command command_subcommands[] = {
    {.name = "count", .proc = commandCountCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "2.8.13",
     .complexity = "O(1)", .summary = "Returns how many commands there are."},
    {.name = "docs", .proc = commandDocsCommand, .arity = -2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "7.0.0",
     .complexity = "O(N)", .tips = "nondeterministic_output_order",
     .summary = "Returns documentation about commands."},
    {.name = "getkeys", .proc = commandGetKeysCommand, .arity = -4, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "2.8.13",
     .complexity = "O(N)", .summary = "Extracts the key names from a full command."},
    {.name = "getkeysandflags", .proc = commandGetKeysAndFlagsCommand, .arity = -4,
     .flags = CMD_LOADING | CMD_STALE, .acl = ACL_CONN_SLOW, .group = "server",
     .since = "7.0.0", .complexity = "O(N)",
     .summary = "Extracts the key names and their access flags from a full command."},
    {.name = "info", .proc = commandInfoCommand, .arity = -2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "2.8.13",
     .complexity = "O(N)", .tips = "nondeterministic_output_order",
     .summary = "Describes commands."},
    {.name = "list", .proc = commandListCommand, .arity = -2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "7.0.0",
     .complexity = "O(N)", .tips = "nondeterministic_output_order",
     .summary = "Lists command names, optionally filtered."},
    {.name = "help", .proc = commandHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "5.0.0",
     .complexity = "O(1)", .summary = "Lists the COMMAND subcommands."},
    {0},
};

/* Observability (slowlog.c, latency.c, monitor.c). */
#define OBS_ADMIN (CMD_ADMIN | CMD_LOADING | CMD_STALE)
#define OBS_ADMIN_NS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_OBS_ADMIN (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static command slowlog_subcommands[] = {
    {.name = "get", .proc = slowlogGetCommand, .arity = -2, .flags = OBS_ADMIN,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.2.12",
     .complexity = "O(N) where N is the number of entries returned",
     .tips = "request_policy:all_nodes nondeterministic_output",
     .summary = "Returns the slow log's entries."},
    {.name = "len", .proc = slowlogLenCommand, .arity = 2, .flags = OBS_ADMIN,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.2.12", .complexity = "O(1)",
     .tips = "request_policy:all_nodes response_policy:agg_sum nondeterministic_output",
     .summary = "Returns the number of entries in the slow log."},
    {.name = "reset", .proc = slowlogResetCommand, .arity = 2, .flags = OBS_ADMIN,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.2.12",
     .complexity = "O(N) where N is the number of entries in the slowlog",
     .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Clears all entries from the slow log."},
    {.name = "help", .proc = slowlogHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "6.2.0", .complexity = "O(1)",
     .summary = "Lists the SLOWLOG subcommands."},
    {0},
};

/* BACKUP (persist/backup.c; Lightning's own, docs/BACKUP.md). */
#define BACKUP_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING)
#define ACL_BACKUP (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)
static command backup_subcommands[] = {
    {.name = "begin", .proc = backupBeginCommand, .arity = -3, .flags = BACKUP_FLAGS,
     .acl = ACL_BACKUP, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Opens a backup session (FULL starts a pinned background snapshot)."},
    {.name = "status", .proc = backupStatusCommand, .arity = 2, .flags = BACKUP_FLAGS,
     .acl = ACL_BACKUP, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the backup session, its snapshot and the WAL range available."},
    {.name = "sync", .proc = backupSyncCommand, .arity = 2, .flags = BACKUP_FLAGS,
     .acl = ACL_BACKUP, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Makes the WAL durable to its end and returns that LSN and the time."},
    {.name = "read", .proc = backupReadCommand, .arity = 5, .flags = BACKUP_FLAGS,
     .acl = ACL_BACKUP, .group = "server", .since = "7.0.0",
     .complexity = "O(N) where N is the number of bytes returned",
     .tips = "nondeterministic_output",
     .summary = "Returns bytes of the pinned snapshot or whole WAL records."},
    {.name = "end", .proc = backupEndCommand, .arity = 3, .flags = BACKUP_FLAGS,
     .acl = ACL_BACKUP, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Closes the backup session and records it in INFO."},
    {.name = "help", .proc = backupHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Lists the BACKUP subcommands."},
    {0},
};

static command latency_subcommands[] = {
    {.name = "latest", .proc = latencyLatestCommand, .arity = 2, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_nodes response_policy:special",
     .summary = "Returns the latest latency samples for all events."},
    {.name = "history", .proc = latencyHistoryCommand, .arity = 3, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_nodes response_policy:special",
     .summary = "Returns timestamp-latency samples for an event."},
    {.name = "reset", .proc = latencyResetCommand, .arity = -2, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .tips = "request_policy:all_nodes response_policy:all_succeeded",
     .summary = "Resets the latency data of one or more events."},
    {.name = "graph", .proc = latencyGraphCommand, .arity = 3, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_nodes response_policy:special",
     .summary = "Returns a latency graph for an event."},
    {.name = "doctor", .proc = latencyDoctorCommand, .arity = 2, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_nodes response_policy:special",
     .summary = "Returns a human-readable latency analysis report."},
    {.name = "histogram", .proc = latencyHistogramCommand, .arity = -2, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "7.0.0",
     .complexity = "O(N) where N is the number of commands with latency information being "
                   "retrieved.",
     .tips = "nondeterministic_output request_policy:all_nodes response_policy:special",
     .summary = "Returns the cumulative distribution of latencies of commands."},
    {.name = "help", .proc = latencyHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "2.8.13", .complexity = "O(1)",
     .summary = "Lists the LATENCY subcommands."},
    {0},
};

#define CONN_FAST (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY)

command core_commands[] = {
    /* connection */
    {.name = "ping", .proc = pingCommand, .arity = -1, .flags = CMD_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "1.0.0",
     .complexity = "O(1)", .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Replies PONG, or echoes its argument."},
    {.name = "echo", .proc = echoCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "1.0.0",
     .complexity = "O(1)", .summary = "Replies with its argument."},
    {.name = "quit", .proc = quitCommand, .arity = -1, .flags = CONN_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "1.0.0",
     .complexity = "O(1)", .summary = "Closes the connection after replying OK."},
    {.name = "reset", .proc = resetCommand, .arity = 1, .flags = CONN_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "6.2.0",
     .complexity = "O(1)", .summary = "Returns the connection to its initial state."},
    {.name = "hello", .proc = helloCommand, .arity = -1, .flags = CONN_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "6.0.0",
     .complexity = "O(1)", .summary = "Chooses the protocol version, authenticates, names the connection."},
    {.name = "auth", .proc = authCommand, .arity = -2, .flags = CONN_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "1.0.0",
     .complexity = "O(N)", .summary = "Authenticates the connection."},
    {.name = "select", .proc = selectCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "connection", .since = "1.0.0",
     .complexity = "O(1)", .summary = "Switches the connection to another logical database.",
     .keyset = selectKeyset},
    {.name = "client", .arity = -2, .acl = ACL_SLOW, .group = "connection",
     .since = "2.4.0", .complexity = "Depends on subcommand.",
     .summary = "Connection management.", .subcommands = client_subcommands},

    /* server */
    {.name = "info", .proc = infoCommand, .arity = -1, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_shards response_policy:special",
     .summary = "Returns information and statistics about the server."},
    {.name = "config", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "2.0.0",
     .complexity = "Depends on subcommand.", .summary = "Configuration management.",
     .subcommands = config_subcommands},
    {.name = "command", .proc = commandCommand, .arity = -1, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_CONN_SLOW, .group = "server", .since = "2.8.13", .complexity = "O(N)",
     .tips = "nondeterministic_output_order",
     .summary = "Describes every command.", .subcommands = command_subcommands},
    {.name = "dbsize", .proc = dbsizeCommand, .arity = 1, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_KEYSPACE | ACL_READ | ACL_FAST, .group = "server", .since = "1.0.0",
     .complexity = "O(1)", .tips = "request_policy:all_shards response_policy:agg_sum",
     .summary = "Returns the number of keys in the selected database.", .scope = CMD_SCOPE_DB},
    {.name = "flushdb", .proc = flushdbCommand, .arity = -1, .flags = CMD_WRITE,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, .group = "server",
     .since = "1.0.0", .complexity = "O(N)",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Removes every key of the selected database.", .scope = CMD_SCOPE_DB},
    {.name = "flushall", .proc = flushallCommand, .arity = -1, .flags = CMD_WRITE,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, .group = "server",
     .since = "1.0.0", .complexity = "O(N)",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Removes every key of every database.", .scope = CMD_SCOPE_ALL},
    {.name = "time", .proc = timeCommand, .arity = 1, .flags = CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_FAST, .group = "server", .since = "2.6.0", .complexity = "O(1)",
     .tips = "nondeterministic_output", .summary = "Returns the server's time."},
    {.name = "shutdown", .proc = shutdownCommand, .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "O(N)", .summary = "Stops the server."},
    /* snapshots (save.c) */
    {.name = "save", .proc = saveCommand, .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "O(N) where N is the total number of keys in all databases",
     .summary = "Synchronously saves the database(s) to disk."},
    {.name = "bgsave", .proc = bgsaveCommand, .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "O(1)", .summary = "Asynchronously saves the database(s) to disk."},
    {.name = "lastsave", .proc = lastsaveCommand, .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST, .acl = ACL_ADMIN | ACL_FAST | ACL_DANGEROUS,
     .group = "server", .since = "1.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Returns the Unix timestamp of the last successful save to disk."},
    {.name = "bgrewriteaof", .proc = bgrewriteaofCommand, .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .complexity = "O(1)",
     .summary = "Asynchronously rewrites the append-only file to disk."},
    /* observability (slowlog.c, latency.c, monitor.c) */
    {.name = "slowlog", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "2.2.12",
     .complexity = "Depends on subcommand.", .summary = "The slow log.",
     .subcommands = slowlog_subcommands},
    {.name = "latency", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "2.8.13",
     .complexity = "Depends on subcommand.", .summary = "Latency monitoring and histograms.",
     .subcommands = latency_subcommands},
    {.name = "backup", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "7.0.0",
     .complexity = "Depends on subcommand.", .summary = "Online backups (docs/BACKUP.md).",
     .subcommands = backup_subcommands},
    {.name = "monitor", .proc = monitorCommand, .arity = 1, .flags = OBS_ADMIN_NS,
     .acl = ACL_OBS_ADMIN, .group = "server", .since = "1.0.0",
     .summary = "Streams every command the server runs."},
    {0},
};

/* --- lookup index ------------------------------------------------------- */

#define INDEX_SIZE 1024 /* power of two, > 2x the commands */

/* Every family's table, in the order COMMAND lists them. */
static command *const families[] = {
    core_commands,
    string_commands,
    bitops_commands,
    keys_commands,
    hash_commands,
    list_commands,
    set_commands,
    zset_commands,
    stream_commands,
    multi_commands,
    hll_commands,
    geo_commands,
    sort_commands,
    debug_commands,
    module_commands,
    pubsub_commands,
    dump_commands,
    sync_commands,
    migrate_commands,
    script_commands, /* src/script/script.c */
    function_commands, /* src/script/function.c */
    acl_commands,
    cluster_commands,
    repl_commands,
    memory_commands,
    lolwut_commands,
    NULL,
};

static command *index_slots[INDEX_SIZE];
static command **by_id;
static command **top;
static int ntop, ntotal;

static unsigned hash_name(const char *s, size_t len) {
    unsigned h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
        h = (h ^ ch) * 16777619u;
    }
    return h;
}

static int name_eq(const char *name, const char *s, size_t len) {
    return strncasecmp(name, s, len) == 0 && name[len] == '\0';
}

static void index_add(command *cmd) {
    unsigned i = hash_name(cmd->name, strlen(cmd->name)) & (INDEX_SIZE - 1);
    while (index_slots[i]) i = (i + 1) & (INDEX_SIZE - 1);
    index_slots[i] = cmd;
}

void commands_init(void) {
    if (by_id) return;
    ntop = ntotal = 0;
    for (int f = 0; families[f]; f++)
        for (command *c = families[f]; c->name; c++) {
            ntop++;
            ntotal++;
            for (command *s = c->subcommands; s && s->name; s++) ntotal++;
        }
    ASSERT(ntop * 2 < INDEX_SIZE);
    by_id = calloc((size_t)ntotal, sizeof(*by_id));
    top = calloc((size_t)ntop, sizeof(*top));
    ASSERT(by_id && top);
    int id = 0, t = 0;
    for (int f = 0; families[f]; f++)
    for (command *c = families[f]; c->name; c++) {
        ASSERT(c->proc || c->subcommands);
        ASSERT(c->key_first <= 0 || c->key_step > 0);
        snprintf(c->fullname, sizeof(c->fullname), "%s", c->name);
        c->id = id;
        by_id[id++] = c;
        top[t++] = c;
        index_add(c);
        for (command *s = c->subcommands; s && s->name; s++) {
            ASSERT(s->proc);
            ASSERT(s->key_first <= 0 || s->key_step > 0);
            s->parent = c;
            snprintf(s->fullname, sizeof(s->fullname), "%s|%s", c->name, s->name);
            s->id = id;
            by_id[id++] = s;
        }
    }
}

int commands_count(void) { return ntop; }
int commands_total(void) { return ntotal; }
const command *command_top(int i) { return i >= 0 && i < ntop ? top[i] : NULL; }
const command *command_by_id(int id) { return id >= 0 && id < ntotal ? by_id[id] : NULL; }

const command *command_lookup(const char *name, size_t len) {
    unsigned i = hash_name(name, len) & (INDEX_SIZE - 1);
    while (index_slots[i]) {
        if (name_eq(index_slots[i]->name, name, len)) return index_slots[i];
        i = (i + 1) & (INDEX_SIZE - 1);
    }
    return NULL;
}

const command *command_lookup_sub(const command *parent, const char *name, size_t len) {
    for (const command *s = parent->subcommands; s && s->name; s++)
        if (name_eq(s->name, name, len)) return s;
    return NULL;
}

const command *command_lookup_fullname(const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar) return command_lookup(name, len);
    const command *parent = command_lookup(name, (size_t)(bar - name));
    if (!parent) return NULL;
    return command_lookup_sub(parent, bar + 1, len - (size_t)(bar - name) - 1);
}

int command_arity_ok(const command *cmd, int argc) {
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

int command_get_keys(const command *cmd, const resp_arg *argv, int argc, int *keys, int max) {
    if (cmd->getkeys) return cmd->getkeys(argv, argc, keys, max);
    if (cmd->key_first <= 0) return 0;
    int last = cmd->key_last < 0 ? argc + cmd->key_last : cmd->key_last;
    int n = 0;
    for (int i = cmd->key_first; i <= last && i < argc && n < max; i += cmd->key_step) keys[n++] = i;
    return n;
}
