/*
 * script: EVAL / EVALSHA / EVAL_RO / EVALSHA_RO / SCRIPT — Lua scripts run
 * as one transaction each, on the I/O thread of the calling client — and
 * the run machinery FUNCTION / FCALL share (function.c).
 *
 * INTERPRETERS. Every I/O thread has its own Lua interpreter (luavm.h),
 * created on the first script it runs; a script's compiled function is
 * kept in the interpreter of each thread that ran it. The script cache
 * (sha1 -> body and shebang flags) is shared by all threads under one
 * mutex; SCRIPT FLUSH empties it and bumps a generation, and each thread
 * drops its interpreter when it sees a new generation.
 *
 * ATOMICITY. A script runs inside one engine transaction (txn.h, begun with
 * keyset.h) and its commands run nested inside it, exactly like EXEC's
 * queued commands: no other client on any thread sees part of it or writes
 * in between. Which locks:
 *   - by default the shards of the declared keys (KEYS) in the caller's
 *     database — scripts on disjoint keys run in parallel on different
 *     threads;
 *   - before each redis.call, keyset_covered() checks that the transaction
 *     holds what the command touches. When it does not (a key that was not
 *     declared, another database, KEYS/FLUSHDB...), the run is ABORTED:
 *     nothing more executes (the abort is re-raised at every instruction,
 *     so a pcall in the script cannot swallow it), the writes it did are
 *     undone from the pre-images taken before each write (see below), its
 *     WAL record is dropped, and the script is run again from the start
 *     holding every database (exclusively). The script's sha is then
 *     remembered as "exclusive" and later runs lock everything at once.
 *     A script that declares no keys but calls key commands takes this
 *     path once; one that calls none (pure computation, TIME, PING) never
 *     locks anything.
 *   - Pre-images (the undo log) are taken only while running on declared
 *     keys, once per key per run, right before the first command that may
 *     write it: the key's value copy (strings copied, collections deep
 *     copied) and expiry, or its absence. Restoring writes them back under
 *     the same locks, so the aborted attempt is never visible. A writer
 *     that waited on a WATCH of such a key sees it as modified.
 * Scripts never abort the process and never leave a partial effect of an
 * attempt; a script that fails with an error keeps the writes it did
 * before the error, as in Redis.
 *
 * EFFECTS REPLICATION. The WAL receives the commands the script executed
 * (their rewritten deterministic form) as ONE record, wrapped in MULTI /
 * EXEC when more than one — persist.c's EXEC path — never EVAL itself, so
 * replay is deterministic whatever the script computed.
 *
 * LONG SCRIPTS. A count hook (every 100000 Lua instructions) checks the
 * time: past busy-reply-threshold ms the script is "busy" — it is logged,
 * and every client, on every thread, gets Redis's -BUSY error for any
 * command without the allow-busy flag until it ends (Redis's model: a busy
 * script blocks the whole server; Lightning keeps it so clients that
 * retry on BUSY behave the same). SCRIPT KILL / FUNCTION KILL stop running
 * scripts (busy or not) that did not write (-UNKILLABLE otherwise);
 * SHUTDOWN NOSAVE
 * stops any script (its WAL record is dropped). Once busy, every hook call
 * also serves the other clients of the script's own I/O thread
 * (worker_poll_nested, Redis's processEventsWhileBlocked), so a kill may
 * come from any connection; the script's caller is left alone until its
 * command ends (docs/SCRIPTING.md "Which clients are blocked").
 */
#ifndef LIGHTNING_SCRIPT_H
#define LIGHTNING_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "server/net/client.h"
#include "server/net/resp.h"

struct lua_State;

/* Shebang / function flags (Redis's values). */
#define SCRIPT_FLAG_NO_WRITES 0x1
#define SCRIPT_FLAG_ALLOW_OOM 0x2
#define SCRIPT_FLAG_ALLOW_STALE 0x4
#define SCRIPT_FLAG_NO_CLUSTER 0x8
#define SCRIPT_FLAG_EVAL_COMPAT 0x10 /* no shebang: EVAL as before 7.0 */
#define SCRIPT_FLAG_CROSS_SLOT 0x20


/* Runs the function at the top of L's stack (an EVAL body or a FUNCTION)
 * as one transaction for c (see ATOMICITY above) and replies its result
 * or error. name: the sha or function name for error texts; is_function:
 * FCALL (FUNCTION KILL stops it, error texts name it); exclusive: in/out
 * per-script memory of "touches undeclared keys" (may be NULL). Pops the
 * function. */
void script_run(client *c, struct lua_State *L, const char *name, int is_function, uint64_t flags,
                int ro, const resp_arg *keys, int nkeys, const resp_arg *args, int nargs,
                int *exclusive);

/* The calling thread's interpreter for scripts or for functions (created
 * on first use; NULL only when out of memory). */
struct lua_State *script_thread_vm(int for_functions);
/* Drops the calling thread's function interpreter if the function
 * libraries changed since it was built (function.c decides). */
void script_thread_vm_reset(int for_functions);

/* The redis.call / redis.pcall / acl_check_cmd implementations, for
 * interpreters built elsewhere (function.c). */
int script_lua_call(struct lua_State *L);
int script_lua_pcall(struct lua_State *L);
int script_lua_acl_check(struct lua_State *L);

/* Parses "#!lua ..." (Redis's evalExtractShebangFlags). Returns 0 with
 * *flags and *shebang_len (0 and EVAL_COMPAT when there is none), or -1
 * with err (a message without "ERR") filled. */
int script_parse_shebang(const char *body, size_t len, uint64_t *flags, size_t *shebang_len,
                         char *err, size_t errlen);

/* dispatch: 1 when cmd may not run because a script is busy (the -BUSY
 * reply was sent). While a script runs exclusively (every database
 * locked), a command of another client waits here, not in a shard lock,
 * so it can still be answered -BUSY when the script becomes busy. */
int script_reject_busy(client *c, const struct command *cmd);
/* ... or, from a busy script's nested poll on its own thread (the script
 * is then not "running" for the other clients served), SCRIPT_BUSY_WAIT:
 * cmd is allowed while busy but not safe there (WATCH, REPLCONF...); it
 * must wait until the script is over. Allowed and safe there: SCRIPT
 * KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN, MULTI, DISCARD, UNWATCH
 * (dispatch makes EXEC / DISCARD / UNWATCH of a client that WATCHes keys
 * wait before any check: unwatching locks their shards). */
#define SCRIPT_BUSY_WAIT 2
/* cron: 1 while a script holds every database or is busy (background
 * keyspace jobs wait for the next tick instead of a shard lock). */
int script_locks_held_long(void);
/* SHUTDOWN without NOSAVE: 1 (and -BUSY replied) while a script is
 * busy. */
int script_reply_if_busy(client *c);
/* SCRIPT KILL / FUNCTION KILL: 0 killed, or replies the error. */
void script_kill(client *c, int functions);
/* FUNCTION STATS' running_script: null, or a map of the name, command and
 * duration_ms of a running function. */
void script_reply_running_function(client *c);

/* Shebang checks before a run (Redis's scriptPrepareForRun): 0, or -1
 * with the error replied. */
int script_check_flags(client *c, uint64_t flags, int ro);
/* The flags (SCRIPT_FLAG_*) the script a command of argv runs declares:
 * EVAL's shebang, EVALSHA's cached script, FCALL's function;
 * SCRIPT_FLAG_EVAL_COMPAT (no declaration) for any other command or an
 * unknown script. What Redis's evalGetCommandFlags / fcallGetCommandFlags
 * turn into command flags: without no-writes it is held by CLIENT PAUSE
 * WRITE, without no-writes or allow-oom (and declared) it is deny-oom. */
uint64_t script_declared_flags(const struct command *cmd, const resp_arg *argv, int argc);
/* cmd's flags for this call: for EVAL/EVALSHA/FCALL (and _RO) of a script
 * that declares flags, Redis's scriptFlagsToCmdFlags (write unless
 * no-writes, deny-oom unless no-writes or allow-oom, stale with
 * allow-stale, never may-replicate); cmd->flags otherwise. */
uint64_t script_command_flags(const struct command *cmd, const resp_arg *argv, int argc);

/* INFO memory / scripting figures. */
/* Command-table key callbacks shared by EVAL* and FCALL*: the keys are
 * argv[3 .. 3+numkeys); inside EXEC the run holds every database. */
struct cmd_keyset;
int script_getkeys_numkeys(const resp_arg *argv, int argc, int *keys, int max);
int script_keyset_all(struct cmd_keyset *ks, const resp_arg *argv, int argc, int db);

size_t script_cache_bytes(void);
size_t script_cache_count(void);
size_t script_vm_bytes(int for_functions);

#endif
