/*
 * luaconv: Lua <-> RESP conversions (see luaconv.h).
 *
 * Owns: a small RESP reply reader (the fake client's output is always
 * well-formed: it was written by reply.c) and the Lua -> reply walk.
 * Invariant: the reader never reads past len and never recurses deeper
 * than the reply nests (replies of commands nest a few levels).
 */
#include "script/luaconv.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "script/luavm.h"
#include "server/net/reply.h"
#include "server/server.h"

/* ---- RESP -> Lua ---------------------------------------------------------------- */

/* The line starting at p (after the type byte): its end (at '\r'). */
static const char *line_end(const char *p, const char *end) {
    const char *q = p;
    while (q + 1 < end && !(q[0] == '\r' && q[1] == '\n')) q++;
    return q + 1 < end ? q : NULL;
}

static int parse_ll(const char *p, const char *e, long long *v) {
    return lt_string2ll(p, (size_t)(e - p), v);
}

static void set_field(lua_State *L, const char *name) {
    /* value at top, table below it */
    lua_pushstring(L, name);
    lua_insert(L, -2);
    lua_rawset(L, -3);
}

static const char *push_one(lua_State *L, const char *p, const char *end, int depth);

/* Aggregates: n elements (pairs for maps) into a new table. */
static const char *push_aggregate(lua_State *L, char type, long long n, const char *p,
                                  const char *end, int depth) {
    if (depth > 64 || !lua_checkstack(L, 6)) return NULL;
    lua_newtable(L);
    for (long long i = 0; i < n; i++) {
        if (type == '%') {
            p = push_one(L, p, end, depth + 1);
            if (!p) return NULL;
            p = push_one(L, p, end, depth + 1);
            if (!p) return NULL;
            lua_rawset(L, -3);
        } else if (type == '~') {
            p = push_one(L, p, end, depth + 1);
            if (!p) return NULL;
            lua_pushboolean(L, 1);
            lua_rawset(L, -3);
        } else {
            p = push_one(L, p, end, depth + 1);
            if (!p) return NULL;
            lua_rawseti(L, -2, (int)i + 1);
        }
    }
    if (type == '%' || type == '~') {
        lua_newtable(L);
        lua_insert(L, -2);
        set_field(L, type == '%' ? "map" : "set");
    }
    return p;
}

static const char *push_one(lua_State *L, const char *p, const char *end, int depth) {
    if (p >= end) return NULL;
    char type = *p++;
    const char *e = line_end(p, end);
    if (!e) return NULL;
    const char *next = e + 2;
    long long n;
    switch (type) {
    case '+':
        lua_newtable(L);
        lua_pushlstring(L, p, (size_t)(e - p));
        set_field(L, "ok");
        return next;
    case '-':
        luavm_push_error(L, p - 1, (size_t)(e - p + 1));
        lua_pushboolean(L, 1);
        set_field(L, "ignore_error_stats_update");
        return next;
    case ':':
        if (!parse_ll(p, e, &n)) return NULL;
        lua_pushnumber(L, (lua_Number)n);
        return next;
    case '$':
    case '=':
        if (!parse_ll(p, e, &n)) return NULL;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        if ((size_t)(end - next) < (size_t)n + 2) return NULL;
        if (type == '=' && n >= 4) {
            lua_newtable(L);
            lua_newtable(L);
            lua_pushlstring(L, next, 3);
            set_field(L, "format");
            lua_pushlstring(L, next + 4, (size_t)n - 4);
            set_field(L, "string");
            set_field(L, "verbatim_string");
        } else {
            lua_pushlstring(L, next, (size_t)n);
        }
        return next + n + 2;
    case '*':
    case '%':
    case '~':
    case '>':
        if (!parse_ll(p, e, &n)) return NULL;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        return push_aggregate(L, type, n, next, end, depth);
    case '_':
        lua_pushnil(L);
        return next;
    case '#':
        lua_pushboolean(L, e > p && *p == 't');
        return next;
    case ',': {
        char num[128];
        size_t l = (size_t)(e - p) < sizeof(num) - 1 ? (size_t)(e - p) : sizeof(num) - 1;
        memcpy(num, p, l);
        num[l] = '\0';
        lua_newtable(L);
        lua_pushnumber(L, strtod(num, NULL));
        set_field(L, "double");
        return next;
    }
    case '(':
        lua_newtable(L);
        lua_pushlstring(L, p, (size_t)(e - p));
        set_field(L, "big_number");
        return next;
    case '|': {
        /* An attribute: skipped, the value follows it. */
        if (!parse_ll(p, e, &n) || n < 0) return NULL;
        if (!lua_checkstack(L, 4)) return NULL;
        const char *q = next;
        for (long long i = 0; i < 2 * n && q; i++) {
            q = push_one(L, q, end, depth + 1);
            if (q) lua_pop(L, 1);
        }
        return q ? push_one(L, q, end, depth + 1) : NULL;
    }
    default:
        return NULL;
    }
}

size_t luaconv_push_reply(lua_State *L, const char *buf, size_t len) {
    int top = lua_gettop(L);
    const char *e = push_one(L, buf, buf + len, 0);
    if (!e) {
        lua_settop(L, top);
        return 0;
    }
    return (size_t)(e - buf);
}

/* ---- Lua -> reply ------------------------------------------------------------------- */

void luaconv_reply_error_raw(client *c, const char *msg, size_t len, int no_stats) {
    size_t codelen = 0;
    while (codelen < len && msg[codelen] != ' ') codelen++;
    int upper = codelen >= 2;
    for (size_t i = 0; i < codelen && upper; i++) upper = msg[i] >= 'A' && msg[i] <= 'Z';
    if (upper && !no_stats) {
        addReplyErrorLen(c, msg, len); /* same bytes: it has a code */
        return;
    }
    if (!no_stats) server_count_error(msg, codelen);
    c->error_in_reply = 1;
    addReplyProto(c, "-", 1);
    const char *p = msg;
    size_t left = len;
    while (left) {
        size_t run = 0;
        while (run < left && p[run] != '\r' && p[run] != '\n') run++;
        if (run) addReplyProto(c, p, run);
        if (run < left) {
            addReplyProto(c, " ", 1);
            run++;
        }
        p += run;
        left -= run;
    }
    addReplyProto(c, "\r\n", 2);
}

/* A copy of s with CR/LF mapped to spaces, as a status line must be. */
static void reply_status_mapped(client *c, const char *s, size_t len) {
    addReplyProto(c, "+", 1);
    size_t i = 0;
    while (i < len) {
        size_t run = 0;
        while (i + run < len && s[i + run] != '\r' && s[i + run] != '\n') run++;
        if (run) addReplyProto(c, s + i, run);
        i += run;
        if (i < len) {
            addReplyProto(c, " ", 1);
            i++;
        }
    }
    addReplyProto(c, "\r\n", 2);
}

/* t[field] (raw) pushed; returns its type. */
static int raw_field(lua_State *L, const char *field) {
    lua_pushstring(L, field);
    lua_rawget(L, -2);
    return lua_type(L, -1);
}

void luaconv_reply(client *c, lua_State *L, int script_resp) {
    if (!lua_checkstack(L, 4)) {
        addReplyError(c, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    int t = lua_type(L, -1);
    switch (t) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        addReplyBulk(c, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        if (script_resp == 2) {
            if (lua_toboolean(L, -1)) addReplyLongLong(c, 1);
            else addReplyNull(c);
        } else {
            addReplyBool(c, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER:
        addReplyLongLong(c, (long long)lua_tonumber(L, -1));
        break;
    case LUA_TTABLE: {
        if (raw_field(L, "err") == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            lua_pop(L, 1);
            int no_stats = raw_field(L, "ignore_error_stats_update") == LUA_TBOOLEAN &&
                           lua_toboolean(L, -1);
            lua_pop(L, 1);
            luaconv_reply_error_raw(c, s, len, no_stats);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "ok") == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            reply_status_mapped(c, s, len);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "double") == LUA_TNUMBER) {
            addReplyDouble(c, lua_tonumber(L, -1));
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "big_number") == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            /* Redis maps CR and LF to spaces in both protocols. */
            char *m = lt_xmalloc(len ? len : 1);
            for (size_t i = 0; i < len; i++) m[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
            if (c->resp == 2) {
                addReplyBulk(c, m, len);
            } else {
                addReplyProto(c, "(", 1);
                addReplyProto(c, m, len);
                addReplyProto(c, "\r\n", 2);
            }
            free(m);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "verbatim_string") == LUA_TTABLE) {
            int ft = raw_field(L, "format");
            lua_insert(L, -2);
            int st = raw_field(L, "string");
            if (ft == LUA_TSTRING && st == LUA_TSTRING) {
                size_t flen, slen;
                const char *f = lua_tolstring(L, -3, &flen);
                const char *s = lua_tolstring(L, -1, &slen);
                char ext[4] = {0};
                memcpy(ext, f, flen < 3 ? flen : 3);
                addReplyVerbatim(c, s, slen, ext);
                lua_pop(L, 4);
                break;
            }
            lua_pop(L, 3);
        } else {
            lua_pop(L, 1);
        }
        if (raw_field(L, "map") == LUA_TTABLE) {
            long long n = 0;
            void *d = addReplyDeferredLen(c);
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pushvalue(L, -2);
                luaconv_reply(c, L, script_resp); /* key */
                luaconv_reply(c, L, script_resp); /* value */
                n++;
            }
            setDeferredMapLen(c, d, n);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        if (raw_field(L, "set") == LUA_TTABLE) {
            long long n = 0;
            void *d = addReplyDeferredLen(c);
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                luaconv_reply(c, L, script_resp);
                n++;
            }
            setDeferredSetLen(c, d, n);
            lua_pop(L, 1);
            break;
        }
        lua_pop(L, 1);
        void *d = addReplyDeferredLen(c);
        long long n = 0;
        for (int j = 1;; j++) {
            lua_pushnumber(L, j);
            lua_rawget(L, -2);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            luaconv_reply(c, L, script_resp);
            n++;
        }
        setDeferredArrayLen(c, d, n);
        break;
    }
    default:
        addReplyNull(c);
    }
    lua_pop(L, 1);
}
