/*
 * rdb_stream.h — the stream value (streamobj.h) in Redis's RDB format: the
 * codec rdb.c calls for RDB_TYPE_STREAM_LISTPACKS (15, Redis 5 / 6) and
 * RDB_TYPE_STREAM_LISTPACKS_2 (19, what Redis 7.0 writes, and what this
 * writes). The byte layout is specified in rdb_stream.c's header comment.
 *
 * rdb.c knows streams only through the plug-in point rdb_set_stream_codec;
 * whoever initialises the engine for RDB work (the server's engine_open,
 * lt-rdb, the tests and the fuzzer) calls rdb_stream_register() once, after
 * registering KS_TYPE_STREAM with stream_type_ops. Without it, stream values
 * in RDB input are refused and DUMP / SYNC of a stream fail.
 *
 * Threads: encode runs under the key's shard lock and only reads the
 * stream; decode builds a new stream from a buffer. Both are reentrant.
 */
#ifndef LT_ENGINE_RDB_STREAM_H
#define LT_ENGINE_RDB_STREAM_H

#include <stddef.h>

#include "engine/rdb.h"
#include "engine/streamobj.h"

/* Appends s in RDB_TYPE_STREAM_LISTPACKS_2 form (without the type byte).
 * Returns RDB_TYPE_STREAM_LISTPACKS_2, or -1 when a node would not fit a
 * listpack (over 4 GiB: not reachable with Lightning's 1 GiB node limit). */
int rdb_stream_encode(rdb_buf *out, const stream *s);

/* Reads a stream of rdbtype (15 or 19) at p[*pos..len), advancing *pos
 * past it. Returns a new stream (the caller owns it), or NULL with why
 * (NUL-terminated, at most whylen bytes) saying what is malformed; *pos is
 * then unspecified. Never reads outside p[0..len) and allocates at most in
 * proportion to len. */
stream *rdb_stream_decode(const unsigned char *p, size_t len, size_t *pos, int rdbtype, char *why,
                          size_t whylen);

/* Registers the two functions above with rdb_set_stream_codec. */
void rdb_stream_register(void);

#endif
