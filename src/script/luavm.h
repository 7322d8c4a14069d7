/*
 * luavm: one sandboxed Lua 5.1 interpreter as Redis 7.0 sets it up for
 * scripts, and the pieces of the `redis` library that need no server
 * (sha1hex, error_reply, status_reply, log, setresp, set_repl,
 * replicate_commands, breakpoint, debug, the LOG_* / REPL_* constants,
 * REDIS_VERSION / REDIS_VERSION_NUM), plus cjson and bit (Debian's
 * modules) and cmsgpack and struct (lua_cmsgpack.c, lua_struct.c).
 *
 * Sandbox (Redis 7.0's): the globals a script sees are exactly Redis's
 * (no os, io, debug, print, loadfile, dofile, require, module, getfenv,
 * setfenv, newproxy). The global table and the library tables are
 * read-only: a script runs with a fresh environment table per call whose
 * metatable reads through to the protected globals, refuses new globals
 * ("Attempt to modify a readonly table") and reports unknown ones
 * ("Script attempted to access nonexistent global variable 'x'");
 * library tables are read-only proxies of the real ones (so `pairs(redis)`
 * sees nothing, a documented difference). Metatables are hidden
 * (__metatable), so a script cannot reach a real table and leak state into
 * the next script run on the same interpreter.
 *
 * math.random / math.randomseed are Redis's: one rand48 generator for the
 * process, starting from rand48's default state and not reseeded between
 * scripts (as in Redis 7.0, which replicates effects, not scripts).
 *
 * Memory: the interpreter allocates through a counting allocator; past
 * limit bytes an allocation fails and Lua raises "not enough memory"
 * (LUA_ERRMEM), which the caller turns into an error reply. The limit is a
 * setting of the interpreter (luavm_set_limit).
 *
 * The error handler `__redis__err__handler` (a C function, also stored as
 * a global as in Redis) turns any error into a table {err=, source=,
 * line=}: a string error becomes "ERR <message>", and source/line name the
 * Lua function that raised it (skipping a C function such as error() or
 * redis.call()).
 *
 * Threading: an interpreter belongs to one thread at a time.
 */
#ifndef LIGHTNING_LUAVM_H
#define LIGHTNING_LUAVM_H

#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

/* Replication flags of redis.set_repl (Redis's values). */
#define LUAVM_REPL_NONE 0
#define LUAVM_REPL_AOF 1
#define LUAVM_REPL_REPLICA 2
#define LUAVM_REPL_ALL 3

/* Per-interpreter state the redis library functions read and write; the
 * owner (script.c) resets it before each run. */
typedef struct luavm_state {
    size_t used, limit;  /* bytes allocated by Lua; 0 limit: none */
    int resp;            /* redis.setresp: 2 or 3 */
    int repl;            /* redis.set_repl flags */
    void *owner;         /* for the caller's C functions */
} luavm_state;

/* A new interpreter with the sandbox above. call/pcall become redis.call /
 * redis.pcall; extra (may be NULL) is called with the `redis` table on the
 * stack top to add more functions (FUNCTION's register_function). Returns
 * NULL when out of memory. *st is owned by the interpreter (luavm_get). */
lua_State *luavm_new(lua_CFunction call, lua_CFunction pcall, lua_CFunction acl_check,
                     size_t limit);
void luavm_close(lua_State *L);
luavm_state *luavm_get(lua_State *L);
void luavm_set_limit(lua_State *L, size_t limit);

/* Before a script runs: RESP 2, replication ALL. */
void luavm_reset_run(lua_State *L);

/* Pushes a fresh environment table for one run (see above), with KEYS and
 * ARGV set from the given arrays, and sets it as the environment of the
 * function at index fidx. */
void luavm_push_env(lua_State *L, int fidx, const char *const *keys, const size_t *klens,
                    int nkeys, const char *const *args, const size_t *alens, int nargs);

/* Like luavm_protect_top, and reading a name the table does not have is
 * Redis's "Script attempted to access nonexistent global variable" error
 * (the library API's `redis` table at FUNCTION LOAD). */
void luavm_strict_proxy_top(lua_State *L);

/* FUNCTION LOAD: while set (idx of a table), global names resolve only
 * in that table (Redis's library API: `redis` with register_function,
 * log, the constants); 0 restores the normal globals. */
void luavm_set_load_globals(lua_State *L, int idx);

/* Pushes the error table Redis's luaPushError / luaPushErrorBuff build:
 * "-CODE msg" keeps CODE, anything else gets "ERR " in front; a trailing
 * CR/LF is trimmed. */
void luavm_push_error(lua_State *L, const char *msg, size_t len);

/* Pushes the error handler (for lua_pcall's errfunc). */
void luavm_push_handler(lua_State *L);

/* Formats a Lua number as Redis 7.0 passes it to a command ("%.17g").
 * Returns the length written (< 32). */
int luavm_fmt_number(double d, char buf[32]);

/* The readonly-table error, for other modules' proxies. */
int luavm_readonly_error(lua_State *L);

/* Makes the table at the top of the stack read-only: replaces it with a
 * proxy reading through to it. */
void luavm_protect_top(lua_State *L);

#endif
