/*
 * luaconv: Redis 7.0's conversions between Lua values and RESP.
 *
 * RESP -> Lua (what redis.call returns), RESP2: integer -> number, bulk ->
 * string, null bulk / null array -> false, array -> table, status ->
 * {ok=s}, error -> {err="CODE msg", ignore_error_stats_update=true}.
 * RESP3 adds: null -> nil, map -> {map={k=v}}, set -> {set={m=true}},
 * boolean -> boolean, double -> {double=n}, big number -> {big_number=s},
 * verbatim -> {verbatim_string={format=f, string=s}}; attributes are
 * skipped.
 *
 * Lua -> reply (a script's return value): string -> bulk, number -> integer
 * (truncated), boolean -> 1 / null under RESP2 scripts and a RESP boolean
 * after redis.setresp(3), table with err (string) -> error reply as given,
 * ok -> status, double -> double, big_number, verbatim_string, map, set,
 * otherwise an array of t[1], t[2], ... up to the first nil; anything else
 * -> null. Nesting is bounded as Redis bounds it: where the Lua stack
 * cannot grow (lua_checkstack fails past LUAI_MAXCSTACK slots) the element
 * becomes the error "reached lua stack limit".
 *
 * Both directions only push/pop on the Lua stack they are given; nothing
 * is allocated outside Lua, so a Lua error (out of memory) unwinding
 * through them leaks nothing.
 */
#ifndef LIGHTNING_LUACONV_H
#define LIGHTNING_LUACONV_H

#include <stddef.h>

#include <lua.h>

#include "server/net/client.h"

/* Pushes the value of the one complete reply in buf[0..len). Returns the
 * bytes it used, or 0 (and pushes nothing) when buf is not a well-formed
 * reply. */
size_t luaconv_push_reply(lua_State *L, const char *buf, size_t len);

/* Replies the value at the top of L's stack to c and pops it. script_resp
 * is the script's redis.setresp level (booleans depend on it). */
void luaconv_reply(client *c, lua_State *L, int script_resp);

/* An error reply of exactly msg (no "ERR " added; CR/LF become spaces),
 * counted in errorstats by its first word unless no_stats. */
void luaconv_reply_error_raw(client *c, const char *msg, size_t len, int no_stats);

#endif
