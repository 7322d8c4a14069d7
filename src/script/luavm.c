/*
 * luavm: a sandboxed Lua 5.1 interpreter as Redis 7.0 builds it (see
 * luavm.h).
 *
 * Owns: the counting allocator and its luavm_state (the allocator's ud),
 * the protected global table and library proxies, the server-free part of
 * the `redis` library, Redis's rand48 math.random, the error handler.
 * Invariant: no script can reach a real (writable) global or library
 * table: every table it is handed is a proxy whose metatable is hidden.
 * Called by: script.c (EVAL, SCRIPT) and function.c (FUNCTION, FCALL).
 */
#include "script/luavm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "common/sha1.h"
#include "common/util.h"
#include "server/log.h"
#include "server/server.h"

int luaopen_cjson(lua_State *L); /* Debian's lua-cjson */
int luaopen_bit(lua_State *L);   /* Debian's lua-bitop */
int luaopen_cmsgpack(lua_State *L); /* lua_cmsgpack.c */
int luaopen_struct(lua_State *L);   /* lua_struct.c */

/* ---- Allocator ----------------------------------------------------------- */

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    luavm_state *st = ud;
    if (nsize == 0) {
        free(ptr);
        st->used -= osize;
        return NULL;
    }
    /* Only growth may fail: Lua 5.1 assumes a shrink always succeeds. */
    if (st->limit && nsize > osize && st->used - osize + nsize > st->limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) st->used = st->used - osize + nsize;
    return p;
}

luavm_state *luavm_get(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

void luavm_set_limit(lua_State *L, size_t limit) { luavm_get(L)->limit = limit; }

/* ---- Errors ------------------------------------------------------------------ */

void luavm_push_error(lua_State *L, const char *msg, size_t len) {
    while (len && (msg[len - 1] == '\r' || msg[len - 1] == '\n')) len--;
    luaL_Buffer b;
    lua_newtable(L);
    lua_pushliteral(L, "err");
    luaL_buffinit(L, &b);
    if (len && msg[0] == '-') {
        const char *sp = memchr(msg, ' ', len);
        if (!sp) {
            luaL_addstring(&b, "ERR ");
            luaL_addlstring(&b, msg + 1, len - 1);
        } else {
            luaL_addlstring(&b, msg + 1, (size_t)(sp - msg - 1));
            luaL_addchar(&b, ' ');
            luaL_addlstring(&b, sp + 1, len - (size_t)(sp - msg) - 1);
        }
    } else {
        luaL_addstring(&b, "ERR ");
        luaL_addlstring(&b, msg, len);
    }
    luaL_pushresult(&b);
    lua_rawset(L, -3);
}

/* __redis__err__handler: see luavm.h. */
static int err_handler(lua_State *L) {
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar);
    if (have && strcmp(ar.what, "C") == 0)
        have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
    lua_settop(L, 1);
    if (!lua_istable(L, 1)) {
        /* 'ERR ' .. tostring(err) */
        lua_getglobal(L, "tostring");
        if (lua_isfunction(L, -1)) {
            lua_pushvalue(L, 1);
            lua_call(L, 1, 1);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, lua_isstring(L, 1) ? lua_tostring(L, 1) : "nil");
        }
        lua_pushliteral(L, "ERR ");
        lua_insert(L, -2);
        lua_concat(L, 2);
        lua_newtable(L);
        lua_pushliteral(L, "err");
        lua_pushvalue(L, -3);
        lua_rawset(L, -3);
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (have) {
        lua_pushliteral(L, "source");
        lua_pushstring(L, ar.source);
        lua_rawset(L, 1);
        lua_pushliteral(L, "line");
        lua_pushinteger(L, ar.currentline);
        lua_rawset(L, 1);
    }
    return 1;
}

void luavm_push_handler(lua_State *L) { lua_pushcfunction(L, err_handler); }

int luavm_readonly_error(lua_State *L) {
    return luaL_error(L, "Attempt to modify a readonly table");
}

/* __index of the global environment: the protected table (upvalue 1) —
 * or, while a function library loads, only the load globals (field
 * "load" of upvalue 2) — or Redis's error for a name it does not have. */
static int global_index(lua_State *L) {
    /* _G is the environment itself, never a raw field: assigning it goes
     * through __newindex and fails as Redis's read-only globals do. */
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "_G") == 0) {
        lua_pushvalue(L, 1);
        return 1;
    }
    lua_pushliteral(L, "load");
    lua_rawget(L, lua_upvalueindex(2));
    int t = lua_istable(L, -1) ? lua_gettop(L) : lua_upvalueindex(1);
    lua_pushvalue(L, 2);
    lua_rawget(L, t);
    if (!lua_isnil(L, -1)) return 1;
    const char *name = lua_isstring(L, 2) ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

void luavm_strict_proxy_top(lua_State *L) {
    lua_newtable(L);                 /* real proxy */
    lua_newtable(L);                 /* real proxy mt */
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, -4);
    lua_newtable(L);                 /* an empty load state: never loading */
    lua_pushcclosure(L, global_index, 2);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, luavm_readonly_error);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, -2);
    lua_replace(L, -2);
}

/* Replaces the table at the top with a read-only proxy of it. */
void luavm_protect_top(lua_State *L) {
    lua_newtable(L);                 /* real proxy */
    lua_newtable(L);                 /* real proxy mt */
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, -4);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, luavm_readonly_error);
    lua_rawset(L, -3);
    lua_pushliteral(L, "__metatable");
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, -2);
    lua_replace(L, -2);
}

/* ---- redis.* functions that need no server ---------------------------------- */

static int fail(lua_State *L, const char *msg) {
    luavm_push_error(L, msg, strlen(msg));
    return lua_error(L);
}

static int r_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) return fail(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[LT_SHA1_HEX_SIZE];
    lt_sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int single_field(lua_State *L, const char *field) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        luavm_push_error(L, "wrong number or type of arguments", 33);
        return 1;
    }
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    return 1;
}

static int r_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        luavm_push_error(L, "wrong number or type of arguments", 33);
        return 1;
    }
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (len && s[0] == '-') {
        luavm_push_error(L, s, len);
    } else {
        lua_pushliteral(L, "-");
        lua_pushvalue(L, 1);
        lua_concat(L, 2);
        s = lua_tolstring(L, -1, &len);
        luavm_push_error(L, s, len);
    }
    return 1;
}

static int r_status_reply(lua_State *L) { return single_field(L, "ok"); }

static int r_log(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc < 2) return fail(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return fail(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LL_DEBUG || level > LL_WARNING) return fail(L, "Invalid debug level.");
    if (level < server.loglevel) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int first = 1;
    for (int j = 2; j <= argc; j++) {
        size_t len;
        const char *s = lua_tolstring(L, j, &len);
        if (!s) continue;
        if (!first) luaL_addchar(&b, ' ');
        /* lua_tolstring may have converted a number in place: fine. */
        luaL_addlstring(&b, s, len);
        first = 0;
    }
    luaL_pushresult(&b);
    serverLog(level, "%s", lua_tostring(L, -1));
    return 0;
}

static int r_setresp(lua_State *L) {
    if (lua_gettop(L) != 1) return fail(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, 1);
    if (resp != 2 && resp != 3) return fail(L, "RESP version must be 2 or 3.");
    luavm_get(L)->resp = resp;
    return 0;
}

static int r_set_repl(lua_State *L) {
    if (lua_gettop(L) != 1) return fail(L, "redis.set_repl() requires two arguments.");
    int flags = (int)lua_tonumber(L, 1);
    if ((flags & ~LUAVM_REPL_ALL) != 0)
        return fail(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    luavm_get(L)->repl = flags;
    return 0;
}

/* Effects replication is the only mode (as in Redis 7.0): true. */
static int r_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

/* Outside the Lua debugger (which Lightning does not have) these do
 * nothing, as in Redis. */
static int r_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);
    return 1;
}

static int r_debug(lua_State *L) { return 0; }

/* ---- math.random: Redis's rand48 --------------------------------------------- */

#define LRAND48_MAX 2147483647

/* One generator for the process, as Redis has one: it starts from
 * rand48's default state and is never reseeded between scripts (Redis 7.0
 * replicates effects, so scripts need not be deterministic); a script's
 * math.randomseed(n) reseeds it for everyone, as in Redis. Threads share
 * it through a compare-and-swap. */
static uint64_t rand48_state = 0x1234ABCD330EULL;

static int32_t rand48_next(void) {
    uint64_t old = __atomic_load_n(&rand48_state, __ATOMIC_RELAXED), next;
    do {
        next = (old * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    } while (!__atomic_compare_exchange_n(&rand48_state, &old, next, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return (int32_t)(next >> 17);
}

static void rand48_seed(int32_t seed) {
    uint64_t s = (((uint64_t)(uint32_t)seed & 0xffffffffULL) << 16) | 0x330E;
    __atomic_store_n(&rand48_state, s, __ATOMIC_RELAXED);
}

static int m_random(lua_State *L) {
    lua_Number r = (lua_Number)(rand48_next() % LRAND48_MAX) / (lua_Number)LRAND48_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int m_randomseed(lua_State *L) {
    rand48_seed(luaL_checkint(L, 1));
    return 0;
}

void luavm_reset_run(lua_State *L) {
    luavm_state *st = luavm_get(L);
    st->resp = 2;
    st->repl = LUAVM_REPL_ALL;
}

/* ---- Numbers as command arguments -------------------------------------------- */

int luavm_fmt_number(double d, char buf[32]) {
    /* Redis 7.0's luaArgsToRedisArgv: "%.17g" — for an integer below 1e15
     * that is its decimal digits, written without printf. */
    if (d == (double)(long long)d && d > -1e15 && d < 1e15 && !(d == 0 && signbit(d)))
        return (int)lt_ll2string(buf, 32, (long long)d);
    int n = snprintf(buf, 32, "%.17g", d);
    return n < 32 ? n : 31;
}

/* ---- Construction ---------------------------------------------------------------- */

/* Opens a library; a module that only returns its table (cjson) is
 * made the global `name`. */
static void open_lib(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (*name && lua_istable(L, -1)) lua_setglobal(L, name);
    else lua_pop(L, 1);
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn) {
    lua_pushstring(L, name);
    lua_pushcfunction(L, fn);
    lua_rawset(L, -3);
}

static void set_num(lua_State *L, const char *name, lua_Number v) {
    lua_pushstring(L, name);
    lua_pushnumber(L, v);
    lua_rawset(L, -3);
}

/* Lua 5.1's setmetatable, except that a table whose metatable is one of
 * our read-only proxies' (__newindex is luavm_readonly_error) gets Redis's
 * read-only error (raised without a position, as Redis's Lua raises it
 * inside setmetatable), not "cannot change a protected metatable". */
static int guarded_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (lua_getmetatable(L, 1)) {
        lua_pushliteral(L, "__newindex");
        lua_rawget(L, -2);
        int ours = lua_tocfunction(L, -1) == luavm_readonly_error;
        lua_pop(L, 2);
        if (ours) {
            lua_pushliteral(L, "Attempt to modify a readonly table");
            return lua_error(L);
        }
    }
    if (luaL_getmetafield(L, 1, "__metatable")) return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* loadstring over Lua's (upvalue 1) that refuses precompiled chunks, as
 * Redis 7.0.15's Lua does: returns nil and the reason. */
static int text_loadstring(lua_State *L) {
    size_t len;
    const char *code = luaL_checklstring(L, 1, &len);
    if (len && code[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(L);
        lua_pushliteral(L, "binary chunks are not allowed");
        return 2;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Redis 7.0's globals (everything else the libraries define is dropped). */
static const char *const allowed_globals[] = {
    "assert", "collectgarbage", "coroutine", "error", "gcinfo", "getmetatable", "ipairs",
    "load", "loadstring", "math", "next", "pairs", "pcall", "rawequal", "rawget", "rawset",
    "select", "setmetatable", "string", "table", "tonumber", "tostring", "type", "unpack",
    "xpcall", "_VERSION", "bit", "cjson", "cmsgpack", "struct", NULL,
};

/* Built inside a protected call: any allocation failure unwinds to
 * luavm_new. */
static int build(lua_State *L) {
    lua_CFunction call = (lua_CFunction)lua_touserdata(L, 1);
    lua_CFunction pcall = (lua_CFunction)lua_touserdata(L, 2);
    lua_CFunction acl = (lua_CFunction)lua_touserdata(L, 3);
    lua_settop(L, 0);
    open_lib(L, "", luaopen_base);
    lua_pushcfunction(L, guarded_setmetatable);
    lua_setglobal(L, "setmetatable");
    lua_getglobal(L, "loadstring");
    lua_pushcclosure(L, text_loadstring, 1);
    lua_setglobal(L, "loadstring");
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    open_lib(L, "bit", luaopen_bit);
    open_lib(L, "cmsgpack", luaopen_cmsgpack);
    open_lib(L, "struct", luaopen_struct);
    lua_settop(L, 0);

    /* math.random / randomseed: Redis's. */
    lua_getglobal(L, "math");
    set_fn(L, "random", m_random);
    set_fn(L, "randomseed", m_randomseed);
    lua_pop(L, 1);

    /* The redis table. */
    lua_newtable(L);
    set_fn(L, "call", call);
    set_fn(L, "pcall", pcall);
    set_fn(L, "sha1hex", r_sha1hex);
    set_fn(L, "error_reply", r_error_reply);
    set_fn(L, "status_reply", r_status_reply);
    set_fn(L, "log", r_log);
    set_fn(L, "setresp", r_setresp);
    set_fn(L, "set_repl", r_set_repl);
    set_fn(L, "replicate_commands", r_replicate_commands);
    set_fn(L, "breakpoint", r_breakpoint);
    set_fn(L, "debug", r_debug);
    set_fn(L, "acl_check_cmd", acl);
    set_num(L, "LOG_DEBUG", LL_DEBUG);
    set_num(L, "LOG_VERBOSE", LL_VERBOSE);
    set_num(L, "LOG_NOTICE", LL_NOTICE);
    set_num(L, "LOG_WARNING", LL_WARNING);
    set_num(L, "REPL_NONE", LUAVM_REPL_NONE);
    set_num(L, "REPL_AOF", LUAVM_REPL_AOF);
    set_num(L, "REPL_SLAVE", LUAVM_REPL_REPLICA);
    set_num(L, "REPL_REPLICA", LUAVM_REPL_REPLICA);
    set_num(L, "REPL_ALL", LUAVM_REPL_ALL);
    lua_pushliteral(L, "REDIS_VERSION");
    lua_pushliteral(L, REDIS_VERSION);
    lua_rawset(L, -3);
    {
        int maj = 0, min = 0, pat = 0;
        sscanf(REDIS_VERSION, "%d.%d.%d", &maj, &min, &pat);
        set_num(L, "REDIS_VERSION_NUM", (maj << 16) | (min << 8) | pat);
    }
    lua_setglobal(L, "redis");

    /* The protected table G: allowed globals, library tables as proxies. */
    lua_newtable(L); /* G at 1 */
    for (int i = 0; allowed_globals[i]; i++) {
        lua_pushstring(L, allowed_globals[i]);
        lua_getglobal(L, allowed_globals[i]);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
            continue;
        }
        if (lua_istable(L, -1)) luavm_protect_top(L);
        lua_rawset(L, 1);
    }
    lua_pushliteral(L, "redis");
    lua_getglobal(L, "redis");
    luavm_protect_top(L);
    lua_rawset(L, 1);
    lua_pushliteral(L, "__redis__err__handler");
    lua_pushcfunction(L, err_handler);
    lua_rawset(L, 1);

    /* Strings' metatable: what getmetatable('') shows is a read-only
     * table whose __index is the protected string table (the real one
     * stays out of reach). */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushliteral(L, "__metatable");
        lua_newtable(L);
        lua_pushliteral(L, "__index");
        lua_pushliteral(L, "string");
        lua_rawget(L, 1);
        lua_rawset(L, -3);
        luavm_protect_top(L);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    /* The thread's global table becomes a protected proxy of G (what
     * loadstring'ed chunks see); the environment metatable for runs is
     * kept in the registry. */
    lua_newtable(L); /* env metatable at 2 */
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, 1);
    lua_newtable(L); /* load state (luavm_set_load_globals) */
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "lightning_load_state");
    lua_pushcclosure(L, global_index, 2);
    lua_rawset(L, 2);
    lua_pushliteral(L, "__newindex");
    lua_pushcfunction(L, luavm_readonly_error);
    lua_rawset(L, 2);
    lua_pushliteral(L, "__metatable");
    lua_newtable(L); /* what getmetatable(_G) shows: an empty read-only table */
    luavm_protect_top(L);
    lua_rawset(L, 2);
    lua_pushvalue(L, 2);
    lua_setfield(L, LUA_REGISTRYINDEX, "lightning_env_mt");
    lua_newtable(L); /* new globals (_G comes from global_index) */
    lua_pushvalue(L, 2);
    lua_setmetatable(L, -2);
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_settop(L, 0);
    return 0;
}

lua_State *luavm_new(lua_CFunction call, lua_CFunction pcall, lua_CFunction acl_check,
                     size_t limit) {
    luavm_state *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    lua_State *L = lua_newstate(vm_alloc, st);
    if (!L) {
        free(st);
        return NULL;
    }
    lua_pushcfunction(L, build);
    lua_pushlightuserdata(L, (void *)call);
    lua_pushlightuserdata(L, (void *)pcall);
    lua_pushlightuserdata(L, (void *)acl_check);
    if (lua_pcall(L, 3, 0, 0) != 0) {
        luavm_close(L);
        return NULL;
    }
    luavm_reset_run(L);
    st->limit = limit; /* after construction: the libraries always fit */
    return L;
}

void luavm_close(lua_State *L) {
    if (!L) return;
    luavm_state *st = luavm_get(L);
    lua_close(L);
    free(st);
}

void luavm_set_load_globals(lua_State *L, int idx) {
    if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_load_state");
    lua_pushliteral(L, "load");
    if (idx) lua_pushvalue(L, idx);
    else lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void luavm_push_env(lua_State *L, int fidx, const char *const *keys, const size_t *klens,
                    int nkeys, const char *const *args, const size_t *alens, int nargs) {
    if (fidx < 0) fidx = lua_gettop(L) + fidx + 1;
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "KEYS");
    lua_createtable(L, nkeys, 0);
    for (int i = 0; i < nkeys; i++) {
        lua_pushlstring(L, keys[i], klens[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_rawset(L, -3);
    lua_pushliteral(L, "ARGV");
    lua_createtable(L, nargs, 0);
    for (int i = 0; i < nargs; i++) {
        lua_pushlstring(L, args[i], alens[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_rawset(L, -3);
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_env_mt");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfenv(L, fidx);
}
