/*
 * lua_cmsgpack: the `cmsgpack` library Redis gives scripts — MessagePack
 * encoding of Lua values (cmsgpack.pack, unpack, unpack_one,
 * unpack_limit) with the choices of Redis's lua_cmsgpack 0.4.0:
 *
 *   nil -> nil; booleans; a number with an integer value -> the smallest
 *   int encoding, else float32 when it round-trips, else float64; strings
 *   -> fixstr / str8 / str16 / str32; a table whose keys are exactly
 *   1..n -> array, any other table -> map; tables nested deeper than 16
 *   levels -> nil. Decoding reads what it writes plus the other int,
 *   float and container sizes; bin and ext are "Bad data format", as in
 *   Redis.
 *
 * Own implementation. Encoding joins each table's pieces once; decoding reads a
 * Lua string with bounds checked at every step and pushes values, so a
 * Lua error (bad input, out of memory) leaks nothing. Recursion is bounded
 * by the nesting limit (encode) and by lua_checkstack (decode).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "script/luavm.h"

#define MP_MAX_NESTING 16

/* ---- Encoding ----------------------------------------------------------------- */

static void put_be(luaL_Buffer *b, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) luaL_addchar(b, (char)(v >> (8 * i)));
}

static void enc_int(luaL_Buffer *b, int64_t n) {
    if (n >= 0) {
        if (n <= 127) luaL_addchar(b, (char)n);
        else if (n <= 0xff) luaL_addchar(b, (char)0xcc), put_be(b, (uint64_t)n, 1);
        else if (n <= 0xffff) luaL_addchar(b, (char)0xcd), put_be(b, (uint64_t)n, 2);
        else if (n <= 0xffffffffLL) luaL_addchar(b, (char)0xce), put_be(b, (uint64_t)n, 4);
        else luaL_addchar(b, (char)0xcf), put_be(b, (uint64_t)n, 8);
    } else {
        if (n >= -32) luaL_addchar(b, (char)(int8_t)n);
        else if (n >= -128) luaL_addchar(b, (char)0xd0), put_be(b, (uint64_t)n, 1);
        else if (n >= -32768) luaL_addchar(b, (char)0xd1), put_be(b, (uint64_t)n, 2);
        else if (n >= -2147483648LL) luaL_addchar(b, (char)0xd2), put_be(b, (uint64_t)n, 4);
        else luaL_addchar(b, (char)0xd3), put_be(b, (uint64_t)n, 8);
    }
}

static void enc_double(luaL_Buffer *b, double d) {
    float f = (float)d;
    if ((double)f == d) {
        uint32_t u;
        memcpy(&u, &f, 4);
        luaL_addchar(b, (char)0xca);
        put_be(b, u, 4);
    } else {
        uint64_t u;
        memcpy(&u, &d, 8);
        luaL_addchar(b, (char)0xcb);
        put_be(b, u, 8);
    }
}

static void enc_str(luaL_Buffer *b, const char *s, size_t len) {
    if (len < 32) luaL_addchar(b, (char)(0xa0 | len));
    else if (len <= 0xff) luaL_addchar(b, (char)0xd9), put_be(b, len, 1);
    else if (len <= 0xffff) luaL_addchar(b, (char)0xda), put_be(b, len, 2);
    else luaL_addchar(b, (char)0xdb), put_be(b, len, 4);
    luaL_addlstring(b, s, len);
}

/* The array length when t (at idx) has exactly the keys 1..n, else -1. */
static long table_array_len(lua_State *L, int idx) {
    long count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_Number n;
        if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 || n != floor(n)) {
            lua_pop(L, 1);
            return -1;
        }
        if (n > max) max = (long)n;
        count++;
    }
    return max == count ? count : -1;
}

/* Pushes the encoding of the value at idx as a string. A luaL_Buffer may
 * not be interleaved with other stack use, so tables are built by
 * concatenating their elements' encodings on the stack. */
static void enc_value(lua_State *L, int idx, int level);

static void push_header(lua_State *L, int array, long count) {
    char hdr[5];
    int hl = 0;
    if (count < 16) {
        hdr[hl++] = (char)((array ? 0x90 : 0x80) | count);
    } else if (count <= 0xffff) {
        hdr[hl++] = (char)(array ? 0xdc : 0xde);
        hdr[hl++] = (char)(count >> 8);
        hdr[hl++] = (char)count;
    } else {
        hdr[hl++] = (char)(array ? 0xdd : 0xdf);
        for (int i = 3; i >= 0; i--) hdr[hl++] = (char)(count >> (8 * i));
    }
    lua_pushlstring(L, hdr, (size_t)hl);
}

/* Pieces are collected in a table and joined once (no quadratic
 * concatenation; a luaL_Buffer cannot stay open across lua_next). */
static void join_pieces(lua_State *L, int pieces, int n) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int j = 1; j <= n; j++) {
        lua_rawgeti(L, pieces, j);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_remove(L, pieces);
}

static void enc_table(lua_State *L, int idx, int level) {
    long n = table_array_len(L, idx);
    lua_newtable(L);
    int pieces = lua_gettop(L), np = 0;
    if (n >= 0) {
        push_header(L, 1, n);
        lua_rawseti(L, pieces, ++np);
        for (long i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            enc_value(L, lua_gettop(L), level + 1);
            lua_remove(L, -2);
            lua_rawseti(L, pieces, ++np);
        }
    } else {
        long count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            count++;
        }
        push_header(L, 0, count);
        lua_rawseti(L, pieces, ++np);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            int v = lua_gettop(L); /* key value */
            enc_value(L, v - 1, level + 1);
            lua_rawseti(L, pieces, ++np);
            enc_value(L, v, level + 1);
            lua_rawseti(L, pieces, ++np);
            lua_pop(L, 1); /* key */
        }
    }
    join_pieces(L, pieces, np);
}

static void enc_value(lua_State *L, int idx, int level) {
    if (!lua_checkstack(L, 8)) luaL_error(L, "stack overflow in cmsgpack.pack");
    int t = lua_type(L, idx);
    if (t == LUA_TTABLE) {
        if (level >= MP_MAX_NESTING) lua_pushlstring(L, "\xc0", 1);
        else enc_table(L, idx, level);
        return;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    switch (t) {
    case LUA_TBOOLEAN:
        luaL_addchar(&b, lua_toboolean(L, idx) ? (char)0xc3 : (char)0xc2);
        break;
    case LUA_TNUMBER: {
        lua_Number n = lua_tonumber(L, idx);
        if (n == floor(n) && n >= -9.2233720368547758e18 && n < 9.2233720368547758e18)
            enc_int(&b, (int64_t)n);
        else enc_double(&b, n);
        break;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        enc_str(&b, s, len);
        break;
    }
    default:
        luaL_addchar(&b, (char)0xc0);
    }
    luaL_pushresult(&b);
}

static int mp_pack(lua_State *L) {
    int n = lua_gettop(L);
    if (n == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    lua_newtable(L);
    int pieces = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        enc_value(L, i, 0);
        lua_rawseti(L, pieces, i);
    }
    join_pieces(L, pieces, n);
    return 1;
}

/* ---- Decoding ------------------------------------------------------------------- */

typedef struct mp_cur {
    const unsigned char *p;
    size_t left;
    int err; /* 1 missing bytes, 2 bad format */
} mp_cur;

static uint64_t get_be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
    return v;
}

#define NEED(c, n)                 \
    do {                           \
        if ((c)->left < (size_t)(n)) { \
            (c)->err = 1;          \
            return;                \
        }                          \
    } while (0)

static void dec_value(lua_State *L, mp_cur *c, int depth);

static void dec_str(lua_State *L, mp_cur *c, size_t len) {
    NEED(c, len);
    lua_pushlstring(L, (const char *)c->p, len);
    c->p += len;
    c->left -= len;
}

static void dec_array(lua_State *L, mp_cur *c, uint64_t n, int depth) {
    lua_newtable(L);
    for (uint64_t i = 0; i < n && !c->err; i++) {
        dec_value(L, c, depth + 1);
        if (c->err) return;
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

static void dec_map(lua_State *L, mp_cur *c, uint64_t n, int depth) {
    lua_newtable(L);
    for (uint64_t i = 0; i < n && !c->err; i++) {
        dec_value(L, c, depth + 1);
        if (c->err) return;
        dec_value(L, c, depth + 1);
        if (c->err) return;
        if (lua_isnil(L, -2)) lua_pop(L, 2); /* a nil key cannot be stored */
        else lua_rawset(L, -3);
    }
}

static void dec_value(lua_State *L, mp_cur *c, int depth) {
    if (depth > 200 || !lua_checkstack(L, 4)) {
        c->err = 2;
        return;
    }
    NEED(c, 1);
    unsigned t = c->p[0];
    c->p++;
    c->left--;
    if (t <= 0x7f) {
        lua_pushnumber(L, t);
    } else if (t >= 0xe0) {
        lua_pushnumber(L, (int8_t)t);
    } else if ((t & 0xe0) == 0xa0) {
        dec_str(L, c, t & 0x1f);
    } else if ((t & 0xf0) == 0x90) {
        dec_array(L, c, t & 0x0f, depth);
    } else if ((t & 0xf0) == 0x80) {
        dec_map(L, c, t & 0x0f, depth);
    } else {
        switch (t) {
        case 0xc0: lua_pushnil(L); break;
        case 0xc2: lua_pushboolean(L, 0); break;
        case 0xc3: lua_pushboolean(L, 1); break;
        case 0xcc: NEED(c, 1); lua_pushnumber(L, c->p[0]); c->p += 1; c->left -= 1; break;
        case 0xcd: NEED(c, 2); lua_pushnumber(L, (double)get_be(c->p, 2)); c->p += 2; c->left -= 2; break;
        case 0xce: NEED(c, 4); lua_pushnumber(L, (double)get_be(c->p, 4)); c->p += 4; c->left -= 4; break;
        case 0xcf: NEED(c, 8); lua_pushnumber(L, (double)get_be(c->p, 8)); c->p += 8; c->left -= 8; break;
        case 0xd0: NEED(c, 1); lua_pushnumber(L, (int8_t)c->p[0]); c->p += 1; c->left -= 1; break;
        case 0xd1: NEED(c, 2); lua_pushnumber(L, (int16_t)get_be(c->p, 2)); c->p += 2; c->left -= 2; break;
        case 0xd2: NEED(c, 4); lua_pushnumber(L, (int32_t)get_be(c->p, 4)); c->p += 4; c->left -= 4; break;
        case 0xd3: NEED(c, 8); lua_pushnumber(L, (double)(int64_t)get_be(c->p, 8)); c->p += 8; c->left -= 8; break;
        case 0xca: {
            NEED(c, 4);
            uint32_t u = (uint32_t)get_be(c->p, 4);
            float f;
            memcpy(&f, &u, 4);
            lua_pushnumber(L, f);
            c->p += 4;
            c->left -= 4;
            break;
        }
        case 0xcb: {
            NEED(c, 8);
            uint64_t u = get_be(c->p, 8);
            double d;
            memcpy(&d, &u, 8);
            lua_pushnumber(L, d);
            c->p += 8;
            c->left -= 8;
            break;
        }
        case 0xd9: {
            NEED(c, 1);
            size_t l = c->p[0];
            c->p += 1;
            c->left -= 1;
            dec_str(L, c, l);
            break;
        }
        case 0xda: {
            NEED(c, 2);
            size_t l = (size_t)get_be(c->p, 2);
            c->p += 2;
            c->left -= 2;
            dec_str(L, c, l);
            break;
        }
        case 0xdb: {
            NEED(c, 4);
            size_t l = (size_t)get_be(c->p, 4);
            c->p += 4;
            c->left -= 4;
            dec_str(L, c, l);
            break;
        }
        case 0xdc: case 0xde: {
            NEED(c, 2);
            uint64_t n = get_be(c->p, 2);
            c->p += 2;
            c->left -= 2;
            if (t == 0xdc) dec_array(L, c, n, depth);
            else dec_map(L, c, n, depth);
            break;
        }
        case 0xdd: case 0xdf: {
            NEED(c, 4);
            uint64_t n = get_be(c->p, 4);
            c->p += 4;
            c->left -= 4;
            if (t == 0xdd) dec_array(L, c, n, depth);
            else dec_map(L, c, n, depth);
            break;
        }
        default:
            c->err = 2;
        }
    }
}

/* Decodes up to limit objects (0: all) starting at offset; with
 * with_offset, first pushes the offset of the next object (-1 when the
 * input is consumed), as unpack_one / unpack_limit return it. */
static int unpack_full(lua_State *L, int limit, long offset, int with_offset) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, limit);
    if ((size_t)offset > len) return luaL_error(L, "Start offset %d greater than input length %d.",
                                                (int)offset, (int)len);
    mp_cur c = {.p = (const unsigned char *)s + offset, .left = len - (size_t)offset};
    int top = lua_gettop(L), count = 0;
    /* Redis: limit 0 and offset 0 decode everything, without an offset. */
    if (limit == 0 && offset == 0) with_offset = 0;
    if (with_offset) lua_pushnil(L); /* placeholder */
    while (c.left > 0 && (limit == 0 || count < limit)) {
        dec_value(L, &c, 0);
        if (c.err) {
            lua_settop(L, top);
            return luaL_error(L, c.err == 1 ? "Missing bytes in input."
                                            : "Bad data format in input.");
        }
        count++;
    }
    if (with_offset) {
        lua_pushnumber(L, c.left ? (lua_Number)(len - c.left) : -1);
        lua_replace(L, top + 1);
        return count + 1;
    }
    return count;
}

static int mp_unpack(lua_State *L) { return unpack_full(L, 0, 0, 0); }

static int mp_unpack_one(lua_State *L) {
    long offset = luaL_optinteger(L, 2, 0);
    lua_settop(L, 1);
    return unpack_full(L, 1, offset, 1);
}

static int mp_unpack_limit(lua_State *L) {
    int limit = luaL_checkint(L, 2);
    long offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return unpack_full(L, limit, offset, 1);
}

int luaopen_cmsgpack(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", mp_pack},
        {"unpack", mp_unpack},
        {"unpack_one", mp_unpack_one},
        {"unpack_limit", mp_unpack_limit},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    lua_pushliteral(L, "lua-cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
