/*
 * t_dump.h — what the DUMP family shares with MIGRATE (migrate.c).
 */
#ifndef LIGHTNING_T_DUMP_H
#define LIGHTNING_T_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/rdb.h"
#include "engine/txn.h"

/* Appends the DUMP payload of (dbid, key) to out (lookup flags as
 * ks_lookup; the txn locks the key's shard) and its absolute expiry (-1
 * for none) to *expire_ms (may be NULL). LT_OK, LT_NOTFOUND, or LT_INVAL
 * for a value without an RDB form. */
int dump_key_payload(ks_txn *txn, unsigned dbid, const char *key, size_t klen, int flags,
                     rdb_buf *out, int64_t *expire_ms);

#endif
