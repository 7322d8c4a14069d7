/*
 * lua_struct: the `struct` library Redis gives scripts — struct.pack(fmt,
 * ...), struct.unpack(fmt, s [, pos]) and struct.size(fmt) — with the
 * format language of Roberto Ierusalimschy's struct 0.2 as Redis bundles
 * it:
 *
 *   >  <  big / little endian (little by default)   !n  max alignment n
 *   b B  char     h H  short    l L  long   T  size_t
 *   i I[n]  int of n bytes (default sizeof(int), at most 32)
 *   f  float  d  double   x  a zero byte   s  zero-terminated string
 *   c[n]  n bytes (c0: the length is the previous value unpacked)
 *   spaces are ignored; lower case is signed, upper case unsigned
 *
 * Own implementation. Integers go through 64 bits (sizes past 8 bytes are
 * zero- or sign-filled). Errors are Lua errors with struct's texts.
 */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#define STRUCT_MAXINTSIZE 32
#define STRUCT_MAXALIGN 8

enum { ST_BIG = 0, ST_LITTLE = 1 };

typedef struct st_header {
    int endian;
    int align;
} st_header;

static int st_getnum(lua_State *L, const char **fmt, int df) {
    if (!isdigit((unsigned char)**fmt)) return df;
    int a = 0;
    do {
        if (a > INT_MAX / 10 || a * 10 > INT_MAX - (**fmt - '0'))
            luaL_error(L, "integral size overflow");
        a = a * 10 + *((*fmt)++) - '0';
    } while (isdigit((unsigned char)**fmt));
    return a;
}

static size_t st_optsize(lua_State *L, char opt, const char **fmt) {
    switch (opt) {
    case 'B': case 'b': return sizeof(char);
    case 'H': case 'h': return sizeof(short);
    case 'L': case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return (size_t)st_getnum(L, fmt, 1);
    case 'i': case 'I': {
        int sz = st_getnum(L, fmt, sizeof(int));
        if (sz > STRUCT_MAXINTSIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, STRUCT_MAXINTSIZE);
        return (size_t)sz;
    }
    default: return 0;
    }
}

static size_t st_toalign(size_t len, const st_header *h, int opt, size_t size) {
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)h->align) size = (size_t)h->align;
    return (size - (len & (size - 1))) & (size - 1);
}

static void st_control(lua_State *L, int opt, const char **fmt, st_header *h) {
    switch (opt) {
    case ' ': return;
    case '>': h->endian = ST_BIG; return;
    case '<': h->endian = ST_LITTLE; return;
    case '!': {
        int a = st_getnum(L, fmt, STRUCT_MAXALIGN);
        if (a <= 0 || (a & (a - 1))) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default: {
        const char *msg = lua_pushfstring(L, "invalid format option '%c'", opt);
        luaL_argerror(L, 1, msg);
    }
    }
}

static void st_init(st_header *h) {
    h->endian = ST_LITTLE;
    h->align = 1;
}

/* Bytes of a float/double in the requested order (the host is little
 * endian on every platform Lightning builds for; swap for big). */
static void st_order(char *p, size_t size, int endian) {
    if (endian == ST_LITTLE) return;
    for (size_t i = 0; i < size / 2; i++) {
        char t = p[i];
        p[i] = p[size - 1 - i];
        p[size - 1 - i] = t;
    }
}

static void st_putint(lua_State *L, luaL_Buffer *b, int arg, int endian, size_t size) {
    lua_Number n = luaL_checknumber(L, arg);
    uint64_t v = n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
    char buf[STRUCT_MAXINTSIZE];
    int neg = n < 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char byte = i < 8 ? (unsigned char)(v >> (8 * i)) : (neg ? 0xff : 0);
        buf[endian == ST_LITTLE ? i : size - 1 - i] = (char)byte;
    }
    luaL_addlstring(b, buf, size);
}

static int st_pack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    st_header h;
    st_init(&h);
    int arg = 2;
    size_t total = 0;
    luaL_Buffer b;
    lua_pushnil(L); /* separates the arguments from the buffer */
    luaL_buffinit(L, &b);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, (char)opt, &fmt);
        size_t pad = st_toalign(total, &h, opt, size);
        total += pad;
        while (pad-- > 0) luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i':
        case 'I':
            st_putint(L, &b, arg++, h.endian, size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            st_order((char *)&f, sizeof(f), h.endian);
            luaL_addlstring(&b, (char *)&f, sizeof(f));
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            st_order((char *)&d, sizeof(d), h.endian);
            luaL_addlstring(&b, (char *)&d, sizeof(d));
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) size = l;
            luaL_argcheck(L, l >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            st_control(L, opt, &fmt, &h);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number st_getint(const char *p, int endian, int issigned, size_t size) {
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) {
        size_t i = endian == ST_BIG ? k : size - 1 - k;
        v = (v << 8) | (unsigned char)p[i];
    }
    if (!issigned) return (lua_Number)v;
    if (size < 8) {
        uint64_t mask = ~(uint64_t)0 << (size * 8 - 1);
        if (v & mask) v |= mask;
    }
    return (lua_Number)(int64_t)v;
}

static int st_unpack(lua_State *L) {
    st_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    size_t pos = (size_t)luaL_optinteger(L, 3, 1) - 1;
    st_init(&h);
    lua_settop(L, 2);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, (char)opt, &fmt);
        pos += st_toalign(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i':
        case 'I':
            lua_pushnumber(L, st_getint(data + pos, h.endian, islower(opt), size));
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + pos, sizeof(f));
            st_order((char *)&f, sizeof(f), h.endian);
            lua_pushnumber(L, f);
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + pos, sizeof(d));
            st_order((char *)&d, sizeof(d), h.endian);
            lua_pushnumber(L, d);
            break;
        }
        case 'c':
            if (size == 0) {
                if (lua_gettop(L) == 2 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                lua_Number n = lua_tonumber(L, -1);
                size = n > 0 ? (size_t)n : 0;
                lua_pop(L, 1);
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            break;
        case 's': {
            const char *e = memchr(data + pos, '\0', ld - pos);
            if (!e) luaL_error(L, "unfinished string in data");
            size = (size_t)(e - (data + pos)) + 1;
            lua_pushlstring(L, data + pos, size - 1);
            break;
        }
        default:
            st_control(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return lua_gettop(L) - 2;
}

static int st_size(lua_State *L) {
    st_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    st_init(&h);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = st_optsize(L, (char)opt, &fmt);
        pos += st_toalign(pos, &h, opt, size);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum(opt)) st_control(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", st_pack},
        {"unpack", st_unpack},
        {"size", st_size},
        {NULL, NULL},
    };
    luaL_register(L, "struct", fns);
    return 1;
}
