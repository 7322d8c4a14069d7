/*
 * expire_int.h — the per-shard expiry index (expire.c), maintained by the
 * keyspace write paths: an entry is in its shard's index iff it is the
 * current live version of its key and has an expiry block.
 */
#ifndef LT_ENGINE_EXPIRE_INT_H
#define LT_ENGINE_EXPIRE_INT_H

#include "engine/keyspace_int.h"

void expire_index_add(ks_shard *sh, ks_entry *e);
void expire_index_remove(ks_shard *sh, ks_entry *e);
/* Frees the index array of detached shard data. */
void expire_index_free(ks_shard_data *sd);

#endif
