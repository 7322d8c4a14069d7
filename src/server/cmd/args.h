/*
 * args: parsing command arguments the way Redis does, replying Redis's
 * error when an argument is not acceptable. Shared by every command
 * family. Functions ending in OrReply have already answered the client
 * when they return -1.
 */
#ifndef LIGHTNING_ARGS_H
#define LIGHTNING_ARGS_H

#include <stdint.h>

#include "server/net/client.h"

/* Case-insensitive option match, as Redis's strcasecmp on a C string:
 * bytes after an embedded NUL do not count. */
int arg_is(const resp_arg *a, const char *word);

/* Exact byte equality of two arguments (key names). */
int arg_eq(const resp_arg *a, const resp_arg *b);

/* Redis's getLongLongFromObjectOrReply: a 64-bit integer by lt_string2ll's
 * rules, else msg (or "ERR value is not an integer or out of range"). */
int arg_ll_or_reply(client *c, const resp_arg *a, long long *v, const char *msg);

/* Redis's getIntFromObjectOrReply: as above, within int range. */
int arg_int_or_reply(client *c, const resp_arg *a, int *v, const char *msg);

/* Redis's getRangeLongFromObjectOrReply: a 64-bit integer within
 * [min, max]; msg (a full "ERR ..." text) for both failures, or when NULL
 * Redis's "value is out of range, value must between" text. */
int arg_range_ll_or_reply(client *c, const resp_arg *a, long long min, long long max,
                          long long *v, const char *msg);

/* The arguments LMPOP/BLMPOP/ZMPOP/BZMPOP share, from argv[first] on:
 * numkeys key [key ...] end0|end1 [COUNT count], checked in Redis's order.
 * *end is 0 for end0 ("left", "min"), 1 for end1; *count is 1 when absent. */
int arg_mpop_or_reply(client *c, int first, const char *end0, const char *end1, int *end,
                      long long *numkeys, long long *count);

/* A SCAN cursor as Redis 7.0's parseScanCursorOrReply reads it (strtoul
 * on a C string: "" is 0, one sign allowed, "-1" is the largest cursor).
 * Returns 1 and *cursor, or 0 (the caller replies "ERR invalid cursor"). */
int keys_parse_cursor(const char *s, size_t len, uint64_t *cursor);

#endif
