/*
 * function: Redis 7.0 functions — FUNCTION LOAD / DELETE / FLUSH / LIST /
 * DUMP / RESTORE / STATS / KILL / HELP, FCALL, FCALL_RO — and their
 * persistence.
 *
 * Owns: the library registry (name -> code and the functions it
 * registered, with flags and descriptions), shared by all threads under
 * one mutex with a generation number; each I/O thread's function
 * interpreter (script.h) is rebuilt from the registry's code when the
 * generation moved. A library is verified in a fresh interpreter before it
 * enters the registry, so a bad library never reaches a running thread.
 *
 * Loading (Redis's rules): the code starts with "#!lua name=<lib>"; it
 * runs once with only `redis` (register_function, log, LOG_*,
 * REDIS_VERSION, REDIS_VERSION_NUM) visible as globals; it must register
 * at least one function; names are letters, digits and underscores.
 * FCALL runs a function as one transaction exactly like EVAL (script.h
 * ATOMICITY, EFFECTS REPLICATION), with KEYS and ARGV passed as its two
 * arguments; error texts name the function ("script: <fn>, on
 * @user_function:<line>.").
 *
 * Persistence: every change is written to <dir>/functions.lib (the
 * FUNCTION DUMP payload of all libraries, written temp + fsync + rename +
 * fsync(dir) before the reply) and logged to the WAL as the command
 * itself (one logical log for replicas). At start-up the file is loaded
 * first; WAL records replayed after it are applied idempotently (LOAD
 * replaces, DELETE of a missing library and collisions are skipped), which
 * converges on the file's state. FUNCTION DUMP's payload is Redis's: a
 * sequence of RDB_OPCODE_FUNCTION2 (245) + RDB string of the code, the RDB
 * version (2 bytes LE, 10) and CRC64-Jones (8 bytes LE) of everything
 * before; RESTORE also reads LZF-compressed and integer-encoded strings, so
 * payloads of real Redis 7.0 restore here and ours there.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <lauxlib.h>

#include "common/clock.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "script/function.h"
#include "script/luaconv.h"
#include "script/luavm.h"
#include "script/script.h"
#include "server/cmd/commands.h"
#include "server/cmd/keyset.h"
#include "server/log.h"
#include "server/monitor.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

#define FUNCTIONS_FILE "functions.lib"
#define FUNCTIONS_FILE_TMP "functions.lib.tmp"
#define RDB_OPCODE_FUNCTION_PRE_GA 246
#define RDB_OPCODE_FUNCTION2 245
#define FUNCTION_RDB_VERSION 10
/* A library may run this long at FUNCTION LOAD (Redis: 500 ms). */
#define FUNCTION_LOAD_TIMEOUT_MS 500

typedef struct fn_info {
    char *name;
    char *desc; /* NULL: none */
    uint64_t flags;
} fn_info;

typedef struct fn_lib {
    char *name;
    char *code;
    size_t code_len;
    fn_info *fns;
    int nfns;
} fn_lib;

static struct {
    pthread_mutex_t lock;
    fn_lib **libs;
    int nlibs, cap;
    uint64_t gen; /* atomic */
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread uint64_t tls_gen;

/* ---- Libraries ------------------------------------------------------------------ */

static char *fn_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = lt_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void lib_free(fn_lib *l) {
    if (!l) return;
    for (int i = 0; i < l->nfns; i++) {
        free(l->fns[i].name);
        free(l->fns[i].desc);
    }
    free(l->fns);
    free(l->name);
    free(l->code);
    free(l);
}

/* Under reg.lock. */
static int reg_find_lib(const char *name) {
    for (int i = 0; i < reg.nlibs; i++)
        if (strcmp(reg.libs[i]->name, name) == 0) return i;
    return -1;
}

static fn_lib *reg_find_fn(const char *name, size_t len, fn_info **out) {
    for (int i = 0; i < reg.nlibs; i++)
        for (int j = 0; j < reg.libs[i]->nfns; j++) {
            fn_info *f = &reg.libs[i]->fns[j];
            /* Function names are case-insensitive across libraries, as in
             * Redis's functions dict (FCALL TEST finds test). */
            if (strlen(f->name) == len && strncasecmp(f->name, name, len) == 0) {
                if (out) *out = f;
                return reg.libs[i];
            }
        }
    return NULL;
}

static int valid_name(const char *s, size_t len) {
    if (!len) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

/* ---- Verifying a library in a fresh interpreter --------------------------------- */

/* The library being loaded (register_function fills it). */
static __thread fn_lib *loading;
static __thread int64_t loading_start_ms;

static const struct {
    const char *name;
    uint64_t flag;
} fn_flags[] = {
    {"no-writes", SCRIPT_FLAG_NO_WRITES},
    {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SCRIPT_FLAG_ALLOW_STALE},
    {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_FLAG_CROSS_SLOT},
    {NULL, 0},
};

static int reg_error(lua_State *L, const char *msg) {
    luavm_push_error(L, msg, strlen(msg));
    return lua_error(L);
}

/* redis.register_function(name, callback) or ({function_name=,
 * callback=, flags=, description=}). Stores the callback in the registry
 * table lightning_fns[name] of this interpreter. */
static int r_register_function(lua_State *L) {
    if (!loading) return reg_error(L, "redis.register_function can only be called on FUNCTION "
                                      "LOAD command");
    int argc = lua_gettop(L);
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0, dlen = 0;
    uint64_t flags = 0;
    int cb = 0;
    if (argc < 1 || argc > 2) return reg_error(L, "wrong number of arguments to redis.register_function");
    if (argc == 1) {
        if (!lua_istable(L, 1))
            return reg_error(L, "calling redis.register_function with a single argument is only "
                                "applicable to Lua table (representing named arguments).");
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return reg_error(L, "named argument key given to redis.register_function is not a "
                                    "string");
            const char *k = lua_tostring(L, -2);
            if (!strcasecmp(k, "function_name")) {
                if (!lua_isstring(L, -1))
                    return reg_error(L, "function_name argument given to redis.register_function "
                                        "must be a string");
                name = lua_tolstring(L, -1, &nlen);
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "lightning_reg_name"); /* keep it alive */
            } else if (!strcasecmp(k, "description")) {
                if (!lua_isstring(L, -1))
                    return reg_error(L, "description argument given to redis.register_function "
                                        "must be a string");
                desc = lua_tolstring(L, -1, &dlen);
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "lightning_reg_desc");
            } else if (!strcasecmp(k, "callback")) {
                if (!lua_isfunction(L, -1))
                    return reg_error(L, "callback argument given to redis.register_function must "
                                        "be a function");
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_REGISTRYINDEX, "lightning_reg_cb");
                cb = 1;
            } else if (!strcasecmp(k, "flags")) {
                if (!lua_istable(L, -1))
                    return reg_error(L, "flags argument to redis.register_function must be a "
                                        "table representing function flags");
                for (int j = 1;; j++) {
                    lua_rawgeti(L, -1, j);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        break;
                    }
                    if (lua_type(L, -1) != LUA_TSTRING) return reg_error(L, "unknown flag given");
                    const char *fs = lua_tostring(L, -1);
                    int m;
                    for (m = 0; fn_flags[m].name; m++)
                        if (!strcmp(fn_flags[m].name, fs)) break;
                    if (!fn_flags[m].name) return reg_error(L, "unknown flag given");
                    flags |= fn_flags[m].flag;
                    lua_pop(L, 1);
                }
            } else {
                return reg_error(L, "unknown argument given to redis.register_function");
            }
            lua_pop(L, 1);
        }
        if (!name) return reg_error(L, "redis.register_function must get a function name argument");
        if (!cb) return reg_error(L, "redis.register_function must get a callback argument");
    } else {
        if (!lua_isstring(L, 1))
            return reg_error(L, "first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2))
            return reg_error(L, "second argument to redis.register_function must be a function");
        name = lua_tolstring(L, 1, &nlen);
        lua_pushvalue(L, 2);
        lua_setfield(L, LUA_REGISTRYINDEX, "lightning_reg_cb");
    }
    if (!valid_name(name, nlen))
        /* (sic: Redis 7.0 says "Library" here too) */
        return reg_error(L, "Library names can only contain letters, numbers, or underscores(_) "
                            "and must be at least one character long");
    for (int i = 0; i < loading->nfns; i++)
        if (!strcmp(loading->fns[i].name, name))
            return reg_error(L, "Function already exists in the library");
    loading->fns = lt_xrealloc(loading->fns, sizeof(fn_info) * (size_t)(loading->nfns + 1));
    fn_info *f = &loading->fns[loading->nfns++];
    f->name = lt_xmalloc(nlen + 1);
    memcpy(f->name, name, nlen);
    f->name[nlen] = '\0';
    f->desc = NULL;
    if (desc) {
        f->desc = lt_xmalloc(dlen + 1);
        memcpy(f->desc, desc, dlen);
        f->desc[dlen] = '\0';
    }
    f->flags = flags;
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_fns");
    lua_pushstring(L, f->name);
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_reg_cb");
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 0;
}

static void load_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (mstime() - loading_start_ms > FUNCTION_LOAD_TIMEOUT_MS) {
        lua_sethook(L, load_hook, LUA_MASKLINE, 0);
        luaL_error(L, "FUNCTION LOAD timeout");
    }
}

/* Sets up the registry tables a function interpreter needs. */
static void fn_vm_prepare(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_fns");
    int have = lua_istable(L, -1);
    lua_pop(L, 1);
    if (have) return;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "lightning_fns");
    /* The load globals: only `redis`, a protected table of the library
     * API; any other name is an error. */
    lua_newtable(L); /* load globals */
    lua_pushliteral(L, "redis");
    lua_newtable(L);
    lua_pushcfunction(L, r_register_function);
    lua_setfield(L, -2, "register_function");
    lua_getglobal(L, "redis");
    static const char *const copy[] = {"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE",
                                       "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM",
                                       NULL};
    for (int i = 0; copy[i]; i++) {
        lua_getfield(L, -1, copy[i]);
        lua_setfield(L, -3, copy[i]);
    }
    lua_pop(L, 1);
    /* Unknown fields of the library's redis table: the globals' error
     * (redis.call at load time: "... nonexistent global variable 'call'"). */
    luavm_strict_proxy_top(L);
    lua_rawset(L, -3);
    lua_setfield(L, LUA_REGISTRYINDEX, "lightning_load_globals");
}

/* Runs code (after its shebang line) in L as a library; fills lib's
 * functions. 0, or -1 with *err (malloc'd) set. */
static int fn_vm_load(lua_State *L, fn_lib *lib, size_t shebang_len, char **err) {
    fn_vm_prepare(L);
    int top = lua_gettop(L);
    if (luaL_loadbuffer(L, lib->code + shebang_len, lib->code_len - shebang_len,
                        "@user_function")) {
        const char *m = lua_tostring(L, -1);
        size_t n = strlen(m ? m : "") + 64;
        *err = lt_xmalloc(n);
        snprintf(*err, n, "Error compiling function: %s", m ? m : "");
        lua_settop(L, top);
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_load_globals");
    luavm_set_load_globals(L, lua_gettop(L));
    lua_pop(L, 1);
    loading = lib;
    loading_start_ms = mstime();
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int rc = lua_pcall(L, 0, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    loading = NULL;
    luavm_set_load_globals(L, 0);
    if (rc != 0) {
        const char *m;
        size_t n;
        char *owned = NULL;
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            m = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
            n = strlen(m) + 64;
            owned = lt_xmalloc(n);
            snprintf(owned, n, "Error registering functions: %s", m);
        } else {
            m = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
            n = strlen(m) + 64;
            owned = lt_xmalloc(n);
            snprintf(owned, n, "Error registering functions: ERR %s", m);
        }
        *err = owned;
        lua_settop(L, top);
        return -1;
    }
    lua_settop(L, top);
    if (lib->nfns == 0) {
        *err = fn_strdup("No functions registered");
        return -1;
    }
    return 0;
}

/* Parses "#!lua name=<lib>" (Redis's functionExtractLibMetaData). */
static int parse_metadata(const char *code, size_t len, char **name, size_t *shebang_len,
                          char **err) {
    char buf[300];
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        *err = fn_strdup("Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        *err = fn_strdup("Invalid library metadata");
        return -1;
    }
    size_t slen = (size_t)(nl - code);
    char *line = lt_xmalloc(slen + 1);
    memcpy(line, code, slen);
    line[slen] = '\0';
    resp_arg *parts = NULL;
    int cap = 0, n = resp_split_inline(line, slen, &parts, &cap);
    int rc = -1;
    *name = NULL;
    if (n <= 0) {
        *err = fn_strdup("Invalid library metadata");
        goto out;
    }
    for (int i = 1; i < n; i++) {
        if (parts[i].len >= 5 && strncasecmp(parts[i].ptr, "name=", 5) == 0) {
            if (*name) {
                *err = fn_strdup(
                    "Invalid metadata value, name argument was given multiple times");
                goto out;
            }
            *name = lt_xmalloc(parts[i].len - 4);
            memcpy(*name, parts[i].ptr + 5, parts[i].len - 5);
            (*name)[parts[i].len - 5] = '\0';
            continue;
        }
        snprintf(buf, sizeof(buf), "Invalid metadata value given: %.*s",
                 (int)(parts[i].len < 200 ? parts[i].len : 200), parts[i].ptr);
        *err = fn_strdup(buf);
        goto out;
    }
    if (!*name) {
        *err = fn_strdup("Library name was not given");
        goto out;
    }
    if (parts[0].len != 5 || strncasecmp(parts[0].ptr, "#!lua", 5) != 0) {
        snprintf(buf, sizeof(buf), "Engine '%.*s' not found",
                 (int)(parts[0].len - 2 < 200 ? parts[0].len - 2 : 200), parts[0].ptr + 2);
        *err = fn_strdup(buf);
        goto out;
    }
    if (!valid_name(*name, strlen(*name))) {
        *err = fn_strdup("Library names can only contain letters, numbers, or underscores(_) "
                          "and must be at least one character long");
        goto out;
    }
    *shebang_len = slen;
    rc = 0;
out:
    if (rc < 0) {
        free(*name);
        *name = NULL;
    }
    free(parts);
    free(line);
    return rc;
}

/* A verified library from code, or NULL with *err. */
static fn_lib *lib_create(const char *code, size_t len, char **err) {
    char *name;
    size_t shebang_len;
    if (parse_metadata(code, len, &name, &shebang_len, err) < 0) return NULL;
    fn_lib *lib = lt_xcalloc(1, sizeof(*lib));
    lib->name = name;
    lib->code = lt_xmalloc(len + 1);
    memcpy(lib->code, code, len);
    lib->code[len] = '\0';
    lib->code_len = len;
    lua_State *L = luavm_new(script_lua_call, script_lua_pcall, script_lua_acl_check,
                             256u << 20);
    if (!L) {
        *err = fn_strdup("Out of memory creating a Lua interpreter");
        lib_free(lib);
        return NULL;
    }
    int rc = fn_vm_load(L, lib, shebang_len, err);
    luavm_close(L);
    if (rc < 0) {
        lib_free(lib);
        return NULL;
    }
    return lib;
}

/* ---- Registry changes -------------------------------------------------------------- */

static int save_file(void);

/* Adds libs[0..n) (replace: existing libraries of the same name go);
 * all or nothing. Under reg.lock. 0, or -1 with *err. */
static int reg_join(fn_lib **libs, int n, int replace, int quote, char **err) {
    char buf[300];
    for (int i = 0; i < n; i++) {
        int at = reg_find_lib(libs[i]->name);
        if (at >= 0 && !replace) {
            snprintf(buf, sizeof(buf), quote ? "Library '%s' already exists"
                                             : "Library %s already exists", libs[i]->name);
            *err = fn_strdup(buf);
            return -1;
        }
        for (int j = 0; j < libs[i]->nfns; j++) {
            fn_info *f;
            fn_lib *owner = reg_find_fn(libs[i]->fns[j].name, strlen(libs[i]->fns[j].name), &f);
            int replaced = 0;
            for (int k = 0; k < n && owner; k++)
                if (replace && !strcmp(owner->name, libs[k]->name)) replaced = 1;
            if (owner && !replaced) {
                snprintf(buf, sizeof(buf), "Function %s already exists", libs[i]->fns[j].name);
                *err = fn_strdup(buf);
                return -1;
            }
        }
        for (int k = 0; k < i; k++)
            for (int j = 0; j < libs[i]->nfns; j++)
                for (int m = 0; m < libs[k]->nfns; m++)
                    if (!strcasecmp(libs[i]->fns[j].name, libs[k]->fns[m].name)) {
                        snprintf(buf, sizeof(buf), "Function %s already exists",
                                 libs[i]->fns[j].name);
                        *err = fn_strdup(buf);
                        return -1;
                    }
    }
    for (int i = 0; i < n; i++) {
        int at = reg_find_lib(libs[i]->name);
        if (at >= 0) {
            lib_free(reg.libs[at]);
            reg.libs[at] = libs[i];
            continue;
        }
        if (reg.nlibs == reg.cap) {
            reg.cap = reg.cap ? reg.cap * 2 : 8;
            reg.libs = lt_xrealloc(reg.libs, sizeof(fn_lib *) * (size_t)reg.cap);
        }
        reg.libs[reg.nlibs++] = libs[i];
    }
    __atomic_add_fetch(&reg.gen, 1, __ATOMIC_RELEASE);
    return 0;
}

static void reg_flush(void) {
    for (int i = 0; i < reg.nlibs; i++) lib_free(reg.libs[i]);
    reg.nlibs = 0;
    __atomic_add_fetch(&reg.gen, 1, __ATOMIC_RELEASE);
}

/* ---- The DUMP payload ------------------------------------------------------------------ */

static uint64_t crc64_jones(uint64_t crc, const unsigned char *p, size_t n) {
    static uint64_t table[256];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < 256; i++) {
            uint64_t c = (uint64_t)i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x95ac9329ac4bc9b5ULL : c >> 1;
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

typedef struct dbuf {
    unsigned char *p;
    size_t len, cap;
} dbuf;

static void db_add(dbuf *b, const void *s, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = lt_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void db_add_len(dbuf *b, uint64_t len) {
    unsigned char h[9];
    if (len < 64) {
        h[0] = (unsigned char)len;
        db_add(b, h, 1);
    } else if (len < 16384) {
        h[0] = (unsigned char)(0x40 | (len >> 8));
        h[1] = (unsigned char)len;
        db_add(b, h, 2);
    } else if (len <= 0xffffffffULL) {
        h[0] = 0x80;
        for (int i = 0; i < 4; i++) h[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        db_add(b, h, 5);
    } else {
        h[0] = 0x81;
        for (int i = 0; i < 8; i++) h[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        db_add(b, h, 9);
    }
}

/* Under reg.lock: the payload of every library. */
static void dump_payload(dbuf *b) {
    for (int i = 0; i < reg.nlibs; i++) {
        unsigned char op = RDB_OPCODE_FUNCTION2;
        db_add(b, &op, 1);
        db_add_len(b, reg.libs[i]->code_len);
        db_add(b, reg.libs[i]->code, reg.libs[i]->code_len);
    }
    unsigned char ver[2] = {FUNCTION_RDB_VERSION & 0xff, FUNCTION_RDB_VERSION >> 8};
    db_add(b, ver, 2);
    uint64_t crc = crc64_jones(0, b->p, b->len);
    unsigned char c8[8];
    for (int i = 0; i < 8; i++) c8[i] = (unsigned char)(crc >> (8 * i));
    db_add(b, c8, 8);
}

/* A reader over p[0..n). */
typedef struct rd {
    const unsigned char *p;
    size_t n, pos;
} rd;

static int rd_len(rd *r, uint64_t *len, int *enc) {
    *enc = -1;
    if (r->pos >= r->n) return -1;
    unsigned char b = r->p[r->pos++];
    int type = b >> 6;
    if (type == 0) {
        *len = b & 0x3f;
    } else if (type == 1) {
        if (r->pos >= r->n) return -1;
        *len = ((uint64_t)(b & 0x3f) << 8) | r->p[r->pos++];
    } else if (type == 3) {
        *enc = b & 0x3f;
        *len = 0;
    } else if (b == 0x80) {
        if (r->n - r->pos < 4) return -1;
        *len = 0;
        for (int i = 0; i < 4; i++) *len = (*len << 8) | r->p[r->pos++];
    } else if (b == 0x81) {
        if (r->n - r->pos < 8) return -1;
        *len = 0;
        for (int i = 0; i < 8; i++) *len = (*len << 8) | r->p[r->pos++];
    } else {
        return -1;
    }
    return 0;
}

/* LZF decompression (the format Redis's lzf_c writes). Returns the output
 * length, or 0 on malformed input. */
static size_t lzf_decompress(const unsigned char *in, size_t in_len, unsigned char *out,
                             size_t out_len) {
    const unsigned char *ip = in, *in_end = in + in_len;
    unsigned char *op = out, *out_end = out + out_len;
    while (ip < in_end) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            ctrl++;
            if (op + ctrl > out_end || ip + ctrl > in_end) return 0;
            memcpy(op, ip, ctrl);
            op += ctrl;
            ip += ctrl;
        } else {
            unsigned len = ctrl >> 5;
            unsigned char *ref = op - ((ctrl & 0x1f) << 8) - 1;
            if (ip >= in_end) return 0;
            if (len == 7) {
                len += *ip++;
                if (ip >= in_end) return 0;
            }
            ref -= *ip++;
            len += 2;
            if (op + len > out_end || ref < out) return 0;
            for (unsigned i = 0; i < len; i++) *op++ = *ref++;
        }
    }
    return (size_t)(op - out);
}

/* An RDB string: malloc'd bytes in *s (*len), or -1. */
static int rd_string(rd *r, char **s, size_t *len) {
    uint64_t l;
    int enc;
    if (rd_len(r, &l, &enc) < 0) return -1;
    if (enc == -1) {
        if (l > r->n - r->pos) return -1;
        *s = lt_xmalloc(l + 1);
        memcpy(*s, r->p + r->pos, l);
        (*s)[l] = '\0';
        *len = l;
        r->pos += l;
        return 0;
    }
    if (enc <= 2) { /* integers of 1, 2, 4 bytes, little-endian */
        int nb = 1 << enc;
        if (r->n - r->pos < (size_t)nb) return -1;
        int64_t v = 0;
        for (int i = nb - 1; i >= 0; i--) v = (v << 8) | r->p[r->pos + (size_t)i];
        if (nb == 1) v = (int8_t)v;
        else if (nb == 2) v = (int16_t)v;
        else v = (int32_t)v;
        r->pos += (size_t)nb;
        *s = lt_xmalloc(24);
        *len = (size_t)snprintf(*s, 24, "%lld", (long long)v);
        return 0;
    }
    if (enc == 3) {
        uint64_t clen, ulen;
        int e1, e2;
        if (rd_len(r, &clen, &e1) < 0 || rd_len(r, &ulen, &e2) < 0 || e1 != -1 || e2 != -1)
            return -1;
        if (clen > r->n - r->pos || ulen > (512ull << 20)) return -1;
        *s = lt_xmalloc(ulen + 1);
        if (lzf_decompress(r->p + r->pos, clen, (unsigned char *)*s, ulen) != ulen) {
            free(*s);
            return -1;
        }
        (*s)[ulen] = '\0';
        *len = ulen;
        r->pos += clen;
        return 0;
    }
    return -1;
}

/* Parses a payload into verified libraries. 0 with *libs and *nlibs, or -1 with
 * *err. */
static int parse_payload(const unsigned char *p, size_t n, fn_lib ***libs, int *nlibs,
                         char **err) {
    *libs = NULL;
    *nlibs = 0;
    if (n < 10) goto bad;
    const unsigned char *footer = p + n - 10;
    unsigned ver = (unsigned)footer[0] | ((unsigned)footer[1] << 8);
    if (ver > FUNCTION_RDB_VERSION) goto bad;
    uint64_t crc = crc64_jones(0, p, n - 8), want = 0;
    for (int i = 7; i >= 0; i--) want = (want << 8) | footer[2 + i];
    if (crc != want) goto bad;
    rd r = {.p = p, .n = n - 10, .pos = 0};
    while (r.pos < r.n) {
        unsigned char type = r.p[r.pos++];
        if (type == RDB_OPCODE_FUNCTION_PRE_GA) {
            *err = fn_strdup("Pre-GA function format not supported");
            goto fail;
        }
        if (type != RDB_OPCODE_FUNCTION2) {
            *err = fn_strdup("given type is not a function");
            goto fail;
        }
        char *code;
        size_t clen;
        if (rd_string(&r, &code, &clen) < 0) {
            *err = fn_strdup("Failed loading library payload");
            goto fail;
        }
        fn_lib *lib = lib_create(code, clen, err);
        free(code);
        if (!lib) goto fail;
        for (int i = 0; i < *nlibs; i++)
            if (!strcmp((*libs)[i]->name, lib->name)) {
                char buf[300];
                snprintf(buf, sizeof(buf), "Library %s already exists", lib->name);
                *err = fn_strdup(buf);
                lib_free(lib);
                goto fail;
            }
        *libs = lt_xrealloc(*libs, sizeof(fn_lib *) * (size_t)(*nlibs + 1));
        (*libs)[(*nlibs)++] = lib;
    }
    return 0;
bad:
    *err = fn_strdup("DUMP payload version or checksum are wrong");
fail:
    for (int i = 0; i < *nlibs; i++) lib_free((*libs)[i]);
    free(*libs);
    *libs = NULL;
    *nlibs = 0;
    return -1;
}

/* Under reg.lock: writes functions.lib (temp, fsync, rename, fsync dir).
 * 0, or -1 (logged). */
static int save_file(void) {
    dbuf b = {0};
    dump_payload(&b);
    int fd = open(FUNCTIONS_FILE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    size_t off = 0;
    while (ok && off < b.len) {
        ssize_t w = write(fd, b.p + off, b.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = 0;
        else off += (size_t)w;
    }
    if (ok && fsync(fd) != 0) ok = 0;
    if (fd >= 0) close(fd);
    if (ok && rename(FUNCTIONS_FILE_TMP, FUNCTIONS_FILE) != 0) ok = 0;
    if (ok) {
        int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            if (fsync(dfd) != 0) ok = 0;
            close(dfd);
        }
    }
    free(b.p);
    if (!ok) {
        serverLog(LL_WARNING, "Writing %s failed: %s", FUNCTIONS_FILE, strerror(errno));
        unlink(FUNCTIONS_FILE_TMP);
        return -1;
    }
    return 0;
}

int function_load_at_start(void) {
    FILE *f = fopen(FUNCTIONS_FILE, "rb");
    if (!f) return 0;
    dbuf b = {0};
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) db_add(&b, buf, n);
    fclose(f);
    fn_lib **libs;
    int nlibs;
    char *err = NULL;
    if (parse_payload(b.p, b.len, &libs, &nlibs, &err) < 0) {
        serverLog(LL_WARNING, "Loading %s failed: %s", FUNCTIONS_FILE, err);
        free(err);
        free(b.p);
        return -1;
    }
    free(b.p);
    pthread_mutex_lock(&reg.lock);
    reg_flush();
    int rc = reg_join(libs, nlibs, 1, 1, &err);
    pthread_mutex_unlock(&reg.lock);
    if (rc < 0) {
        serverLog(LL_WARNING, "Loading %s failed: %s", FUNCTIONS_FILE, err);
        free(err);
        for (int i = 0; i < nlibs; i++) lib_free(libs[i]);
        free(libs);
        return -1;
    }
    free(libs);
    serverLog(LL_NOTICE, "Loaded %d function librar%s from %s", nlibs, nlibs == 1 ? "y" : "ies",
              FUNCTIONS_FILE);
    return 0;
}

/* After a change (under reg.lock): the file, then the WAL record. */
static void persist_change(client *c) {
    if (!persist_replaying()) save_file();
    persist_log_command(c);
}

/* ---- INFO ---------------------------------------------------------------------------- */

size_t function_count(void) {
    pthread_mutex_lock(&reg.lock);
    size_t n = 0;
    for (int i = 0; i < reg.nlibs; i++) n += (size_t)reg.libs[i]->nfns;
    pthread_mutex_unlock(&reg.lock);
    return n;
}

size_t function_library_count(void) {
    pthread_mutex_lock(&reg.lock);
    size_t n = (size_t)reg.nlibs;
    pthread_mutex_unlock(&reg.lock);
    return n;
}

size_t function_bytes(void) {
    pthread_mutex_lock(&reg.lock);
    size_t n = 0;
    for (int i = 0; i < reg.nlibs; i++) {
        n += sizeof(fn_lib) + reg.libs[i]->code_len + strlen(reg.libs[i]->name);
        for (int j = 0; j < reg.libs[i]->nfns; j++)
            n += sizeof(fn_info) + strlen(reg.libs[i]->fns[j].name) +
                 (reg.libs[i]->fns[j].desc ? strlen(reg.libs[i]->fns[j].desc) : 0);
    }
    pthread_mutex_unlock(&reg.lock);
    return n;
}

/* ---- FUNCTION ------------------------------------------------------------------------- */

static void reply_err_owned(client *c, char *err) {
    addReplyErrorFormat(c, "ERR %s", err);
    free(err);
}

static void functionLoadCommand(client *c) {
    int replace = 0;
    if (c->argc > 3) {
        if (c->argc == 4 && c->argv[2].len == 7 && !strncasecmp(c->argv[2].ptr, "replace", 7)) {
            replace = 1;
        } else {
            addReplyErrorFormat(c, "ERR Unknown option given: %.*s",
                                (int)(c->argv[2].len < 128 ? c->argv[2].len : 128),
                                c->argv[2].ptr);
            return;
        }
    }
    const resp_arg *code = &c->argv[c->argc - 1];
    char *err = NULL;
    /* Redis checks the name before it runs the code. */
    char *name;
    size_t shebang_len;
    if (parse_metadata(code->ptr, code->len, &name, &shebang_len, &err) < 0) {
        reply_err_owned(c, err);
        return;
    }
    if (!replace && !persist_replaying()) {
        pthread_mutex_lock(&reg.lock);
        int exists = reg_find_lib(name) >= 0;
        pthread_mutex_unlock(&reg.lock);
        if (exists) {
            addReplyErrorFormat(c, "ERR Library '%s' already exists", name);
            free(name);
            return;
        }
    }
    free(name);
    fn_lib *lib = lib_create(code->ptr, code->len, &err);
    if (!lib) {
        reply_err_owned(c, err);
        return;
    }
    pthread_mutex_lock(&reg.lock);
    /* A replayed LOAD converges on the saved state: it replaces. */
    int rc = reg_join(&lib, 1, replace || persist_replaying(), 1, &err);
    if (rc == 0) persist_change(c);
    pthread_mutex_unlock(&reg.lock);
    if (rc < 0) {
        lib_free(lib);
        reply_err_owned(c, err);
        return;
    }
    addReplyBulkCString(c, lib->name);
}

static void functionDeleteCommand(client *c) {
    char name[512];
    size_t n = c->argv[2].len < sizeof(name) - 1 ? c->argv[2].len : sizeof(name) - 1;
    memcpy(name, c->argv[2].ptr, n);
    name[n] = '\0';
    pthread_mutex_lock(&reg.lock);
    int at = n == c->argv[2].len ? reg_find_lib(name) : -1;
    if (at >= 0) {
        lib_free(reg.libs[at]);
        reg.libs[at] = reg.libs[--reg.nlibs];
        __atomic_add_fetch(&reg.gen, 1, __ATOMIC_RELEASE);
        persist_change(c);
    }
    pthread_mutex_unlock(&reg.lock);
    if (at < 0) addReplyError(c, "ERR Library not found");
    else addReplyOK(c);
}

/* Redis's addReplySubcommandSyntaxError. */
static void reply_subcommand_syntax(client *c) {
    addReplyErrorFormat(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                        "FUNCTION HELP.",
                        (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
}

static void functionFlushCommand(client *c) {
    if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    if (c->argc == 3) {
        const resp_arg *a = &c->argv[2];
        if (!((a->len == 4 && !strncasecmp(a->ptr, "sync", 4)) ||
              (a->len == 5 && !strncasecmp(a->ptr, "async", 5)))) {
            addReplyError(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            return;
        }
    }
    pthread_mutex_lock(&reg.lock);
    reg_flush();
    persist_change(c);
    pthread_mutex_unlock(&reg.lock);
    addReplyOK(c);
}

static void reply_lib(client *c, const fn_lib *l, int with_code) {
    addReplyMapLen(c, with_code ? 4 : 3);
    addReplyBulkCString(c, "library_name");
    addReplyBulkCString(c, l->name);
    addReplyBulkCString(c, "engine");
    addReplyBulkCString(c, "LUA");
    addReplyBulkCString(c, "functions");
    addReplyArrayLen(c, l->nfns);
    for (int j = 0; j < l->nfns; j++) {
        const fn_info *f = &l->fns[j];
        addReplyMapLen(c, 3);
        addReplyBulkCString(c, "name");
        addReplyBulkCString(c, f->name);
        addReplyBulkCString(c, "description");
        if (f->desc) addReplyBulkCString(c, f->desc);
        else addReplyNull(c);
        addReplyBulkCString(c, "flags");
        int nf = 0;
        for (int k = 0; fn_flags[k].name; k++)
            if (f->flags & fn_flags[k].flag) nf++;
        addReplySetLen(c, nf);
        for (int k = 0; fn_flags[k].name; k++)
            if (f->flags & fn_flags[k].flag) addReplyStatus(c, fn_flags[k].name);
    }
    if (with_code) {
        addReplyBulkCString(c, "library_code");
        addReplyBulk(c, l->code, l->code_len);
    }
}

static void functionListCommand(client *c) {
    int with_code = 0;
    const resp_arg *pattern = NULL;
    for (int i = 2; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        if (!with_code && a->len == 8 && !strncasecmp(a->ptr, "withcode", 8)) {
            with_code = 1;
            continue;
        }
        if (!pattern && a->len == 11 && !strncasecmp(a->ptr, "libraryname", 11)) {
            if (i >= c->argc - 1) {
                addReplyError(c, "ERR library name argument was not given");
                return;
            }
            pattern = &c->argv[++i];
            continue;
        }
        addReplyErrorFormat(c, "ERR Unknown argument %.*s", (int)(a->len < 128 ? a->len : 128),
                            a->ptr);
        return;
    }
    pthread_mutex_lock(&reg.lock);
    void *d = addReplyDeferredLen(c);
    long long n = 0;
    for (int i = 0; i < reg.nlibs; i++) {
        const fn_lib *l = reg.libs[i];
        if (pattern &&
            !lt_stringmatchlen(pattern->ptr, pattern->len, l->name, strlen(l->name), 0))
            continue;
        reply_lib(c, l, with_code);
        n++;
    }
    setDeferredArrayLen(c, d, n);
    pthread_mutex_unlock(&reg.lock);
}

static void functionDumpCommand(client *c) {
    dbuf b = {0};
    pthread_mutex_lock(&reg.lock);
    dump_payload(&b);
    pthread_mutex_unlock(&reg.lock);
    addReplyBulk(c, (const char *)b.p, b.len);
    free(b.p);
}

static void functionRestoreCommand(client *c) {
    enum { POLICY_APPEND, POLICY_REPLACE, POLICY_FLUSH } policy = POLICY_APPEND;
    if (c->argc > 4) {
        reply_subcommand_syntax(c);
        return;
    }
    if (c->argc == 4) {
        const resp_arg *a = &c->argv[3];
        if (a->len == 6 && !strncasecmp(a->ptr, "append", 6)) policy = POLICY_APPEND;
        else if (a->len == 7 && !strncasecmp(a->ptr, "replace", 7)) policy = POLICY_REPLACE;
        else if (a->len == 5 && !strncasecmp(a->ptr, "flush", 5)) policy = POLICY_FLUSH;
        else {
            addReplyError(c, "ERR Wrong restore policy given, value should be either FLUSH, "
                             "APPEND or REPLACE.");
            return;
        }
    }
    fn_lib **libs;
    int n;
    char *err = NULL;
    if (parse_payload((const unsigned char *)c->argv[2].ptr, c->argv[2].len, &libs, &n, &err) <
        0) {
        reply_err_owned(c, err);
        return;
    }
    pthread_mutex_lock(&reg.lock);
    int rc;
    if (policy == POLICY_FLUSH) {
        reg_flush();
        rc = reg_join(libs, n, 0, 0, &err);
    } else {
        rc = reg_join(libs, n, policy == POLICY_REPLACE || persist_replaying(), 0, &err);
    }
    if (rc == 0) persist_change(c);
    pthread_mutex_unlock(&reg.lock);
    if (rc < 0) {
        for (int i = 0; i < n; i++) lib_free(libs[i]);
        free(libs);
        reply_err_owned(c, err);
        return;
    }
    free(libs);
    addReplyOK(c);
}

static void functionStatsCommand(client *c) {
    pthread_mutex_lock(&reg.lock);
    long long nlibs = reg.nlibs, nfns = 0;
    for (int i = 0; i < reg.nlibs; i++) nfns += reg.libs[i]->nfns;
    pthread_mutex_unlock(&reg.lock);
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "running_script");
    script_reply_running_function(c);
    addReplyBulkCString(c, "engines");
    addReplyMapLen(c, 1);
    addReplyBulkCString(c, "LUA");
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "libraries_count");
    addReplyLongLong(c, nlibs);
    addReplyBulkCString(c, "functions_count");
    addReplyLongLong(c, nfns);
}

static void functionKillCommand(client *c) { script_kill(c, 1); }

static void functionHelpCommand(client *c) {
    static const char *help[] = {
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On "
        "collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        NULL,
    };
    addReplyHelp(c, help);
}

/* ---- FCALL ------------------------------------------------------------------------------ */

/* This thread's function interpreter, rebuilt from the registry when it
 * changed. Under reg.lock. NULL when out of memory. */
static lua_State *thread_fn_vm(void) {
    uint64_t gen = __atomic_load_n(&reg.gen, __ATOMIC_ACQUIRE);
    lua_State *L = script_thread_vm(1);
    if (L && tls_gen == gen) return L;
    script_thread_vm_reset(1);
    L = script_thread_vm(1);
    if (!L) return NULL;
    for (int i = 0; i < reg.nlibs; i++) {
        fn_lib tmp = {0};
        tmp.name = reg.libs[i]->name;
        tmp.code = reg.libs[i]->code;
        tmp.code_len = reg.libs[i]->code_len;
        const char *nl = memchr(tmp.code, '\n', tmp.code_len);
        size_t shebang_len = nl ? (size_t)(nl - tmp.code) : 0;
        char *err = NULL;
        if (fn_vm_load(L, &tmp, shebang_len, &err) < 0) {
            serverLog(LL_WARNING, "Library %s failed to load on a thread: %s", tmp.name, err);
            free(err);
        }
        for (int j = 0; j < tmp.nfns; j++) {
            free(tmp.fns[j].name);
            free(tmp.fns[j].desc);
        }
        free(tmp.fns);
    }
    tls_gen = gen;
    return L;
}

uint64_t function_declared_flags(const char *name, size_t len) {
    pthread_mutex_lock(&reg.lock);
    fn_info *fi = NULL;
    uint64_t flags = reg_find_fn(name, len, &fi) ? fi->flags : SCRIPT_FLAG_EVAL_COMPAT;
    pthread_mutex_unlock(&reg.lock);
    return flags;
}

static void fcallGeneric(client *c, int ro) {
    if (monitor_active()) monitor_feed_always(c, c->lastcmd, c->argv, c->argc);
    char fname[256];
    uint64_t flags = 0;
    pthread_mutex_lock(&reg.lock);
    fn_info *fi = NULL;
    fn_lib *lib = reg_find_fn(c->argv[1].ptr, c->argv[1].len, &fi);
    if (lib) {
        snprintf(fname, sizeof(fname), "%s", fi->name);
        flags = fi->flags;
    }
    pthread_mutex_unlock(&reg.lock);
    if (!lib) {
        addReplyError(c, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &numkeys)) {
        addReplyError(c, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > c->argc - 3) {
        addReplyError(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        addReplyError(c, "ERR Number of keys can't be negative");
        return;
    }
    if (script_check_flags(c, flags, ro) < 0) return;
    pthread_mutex_lock(&reg.lock);
    lua_State *L = thread_fn_vm();
    pthread_mutex_unlock(&reg.lock);
    if (!L) {
        addReplyError(c, "ERR out of memory creating the Lua interpreter");
        return;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_fns");
    lua_getfield(L, -1, fname);
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        addReplyError(c, "ERR Function not found");
        return;
    }
    /* Functions declare their keys: which ones touch others is learned
     * per thread interpreter generation (kept in its registry). */
    lua_getfield(L, LUA_REGISTRYINDEX, "lightning_fn_exclusive");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "lightning_fn_exclusive");
    }
    lua_getfield(L, -1, fname);
    int exclusive = lua_toboolean(L, -1), learned = exclusive;
    lua_pop(L, 2);
    script_run(c, L, fname, 1, flags, ro, c->argv + 3, (int)numkeys, c->argv + 3 + numkeys,
               c->argc - 3 - (int)numkeys, &learned);
    if (learned != exclusive) {
        lua_getfield(L, LUA_REGISTRYINDEX, "lightning_fn_exclusive");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, fname);
        lua_pop(L, 1);
    }
}

static void fcallCommand(client *c) { fcallGeneric(c, 0); }
static void fcallRoCommand(client *c) { fcallGeneric(c, 1); }

#define FCALL_FLAGS \
    (CMD_NOSCRIPT | CMD_STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)

static command function_subcommands[] = {
    {.name = "flush", .proc = functionFlushCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_NOSCRIPT, .acl = ACL_WRITE | ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0",
     .complexity = "O(N) where N is the number of functions deleted",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Deletes every library."},
    {.name = "kill", .proc = functionKillCommand, .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY, .acl = ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0", .complexity = "O(1)",
     .tips = "request_policy:all_shards response_policy:one_succeeded",
     .summary = "Stops a busy function that has not written."},
    {.name = "help", .proc = functionHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "7.0.0",
     .complexity = "O(1)", .summary = "Lists the FUNCTION subcommands."},
    {.name = "dump", .proc = functionDumpCommand, .arity = 2, .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "7.0.0",
     .complexity = "O(N) where N is the number of functions",
     .summary = "Returns every library as a payload FUNCTION RESTORE takes."},
    {.name = "list", .proc = functionListCommand, .arity = -2, .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_SCRIPTING, .group = "scripting", .since = "7.0.0",
     .complexity = "O(N) where N is the number of functions",
     .tips = "nondeterministic_output_order",
     .summary = "Describes the libraries and their functions."},
    {.name = "delete", .proc = functionDeleteCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_NOSCRIPT, .acl = ACL_WRITE | ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0", .complexity = "O(1)",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Deletes a library and its functions."},
    {.name = "load", .proc = functionLoadCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, .acl = ACL_WRITE | ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0",
     .complexity = "O(1) (considering compilation time is redundant)",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Creates (or replaces) a library of functions."},
    {.name = "restore", .proc = functionRestoreCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, .acl = ACL_WRITE | ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0",
     .complexity = "O(N) where N is the number of functions on the payload",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Restores libraries from a FUNCTION DUMP payload."},
    {.name = "stats", .proc = functionStatsCommand, .arity = 2,
     .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY, .acl = ACL_SLOW | ACL_SCRIPTING,
     .group = "scripting", .since = "7.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output request_policy:all_shards response_policy:special",
     .summary = "Describes the running function and the engines."},
    {0},
};

command function_commands[] = {
    {.name = "fcall", .proc = fcallCommand, .arity = -3, .flags = FCALL_FLAGS | CMD_MAY_REPLICATE,
     .acl = ACL_SLOW | ACL_SCRIPTING, .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all,
     .key_flags = "RW access update", .group = "scripting", .since = "7.0.0",
     .complexity = "Depends on the function that is executed.",
     .summary = "Runs a function atomically."},
    {.name = "fcall_ro", .proc = fcallRoCommand, .arity = -3, .flags = CMD_READONLY | FCALL_FLAGS,
     .acl = ACL_SLOW | ACL_SCRIPTING, .getkeys = script_getkeys_numkeys, .keyset = script_keyset_all,
     .key_flags = "RO access", .group = "scripting", .since = "7.0.0",
     .complexity = "Depends on the function that is executed.",
     .summary = "Runs a read-only function."},
    {.name = "function", .arity = -2, .flags = 0, .acl = ACL_SLOW, .group = "scripting",
     .since = "7.0.0", .complexity = "Depends on subcommand.",
     .subcommands = function_subcommands, .summary = "Manages function libraries."},
    {0},
};
