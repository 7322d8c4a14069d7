/*
 * expire.h — active expiry and expiry statistics (lazy expiry happens in
 * ks_lookup, keyspace.h).
 *
 * Keys with a TTL are indexed per shard (an array of entries, O(1) add,
 * remove and uniform random sampling). The active cycle samples keys from
 * that index, deletes the expired ones and repeats on a shard while more
 * than 25% of its sample had expired, like Redis's activeExpireCycle,
 * within a time budget.
 */
#ifndef LT_ENGINE_EXPIRE_H
#define LT_ENGINE_EXPIRE_H

#include <stdint.h>

#include "lightning.h"

/* Keys sampled per shard per round, and the stale share that repeats. */
#define KS_EXPIRE_SAMPLE 20
#define KS_EXPIRE_REPEAT_PERCENT 25
/* Rounds per shard per call, whatever the stale share (bounds the work). */
#define KS_EXPIRE_MAX_ROUNDS 16

/* Runs active expiry on the shards owned by this thread (global shard id %
 * nthreads == thread_index; every thread of the server calls it from its
 * timer with its own index), starting at a random owned shard, for at most
 * about budget_us. Returns the number of keys expired. */
uint64_t ks_expire_cycle(lt_db *db, unsigned thread_index, unsigned nthreads,
                         uint64_t budget_us);

typedef struct ks_expire_stats {
    uint64_t expired_keys;        /* keys deleted by expiry, lazy + active */
    double expired_stale_perc;    /* estimated % of TTL keys already stale */
    uint64_t expire_cycle_time_us; /* total time spent in active expiry */
} ks_expire_stats;

void ks_expire_get_stats(lt_db *db, ks_expire_stats *st);
/* INFO keyspace's avg_ttl (ms) of dbid: running estimate, 0 if unknown. */
int64_t ks_db_avg_ttl(lt_db *db, unsigned dbid);

#endif
