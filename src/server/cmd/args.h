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

/* A SCAN cursor as Redis 7.0's parseScanCursorOrReply reads it (strtoul
 * on a C string: "" is 0, one sign allowed, "-1" is the largest cursor).
 * Returns 1 and *cursor, or 0 (the caller replies "ERR invalid cursor"). */
int keys_parse_cursor(const char *s, size_t len, uint64_t *cursor);

#endif
