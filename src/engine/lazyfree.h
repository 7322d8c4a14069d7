/*
 * lazyfree.h — freeing large values on a background thread (Redis's
 * lazyfree: UNLINK, FLUSHALL/FLUSHDB ASYNC and the lazyfree-lazy-*
 * directives), so dropping a value of millions of elements costs the
 * command, and the shard lock it holds, O(1).
 *
 * What goes to the thread: a detached entry whose value needs more than
 * LAZYFREE_THRESHOLD allocations to free (Redis's rule and number: list
 * nodes, hashtable members, skiplist members; ks_type_ops.free_effort), and
 * whole databases detached by a flush. Everything else, and everything
 * while the queue is full, is freed inline by the caller as before: the
 * queue is bounded (LAZYFREE_QUEUE_MAX jobs), so memory waiting to be
 * freed is bounded by the queue and never grows without limit.
 *
 * When: a transaction frees lazily what it drops when its lazyfree mode
 * says so (ks_txn_set_lazyfree: the server's UNLINK, DEL under
 * lazyfree-lazy-user-del, FLUSH* ASYNC or under lazyfree-lazy-user-flush);
 * otherwise expired keys follow lazyfree-lazy-expire, evicted keys
 * lazyfree-lazy-eviction (Redis's meaning: the memory of an evicted big
 * value is given back by the thread, so eviction counts it as freed when
 * it is queued, and the next check sees the memory once the thread freed
 * it), and values replaced
 * or deleted implicitly (SET over a key, a list popped empty, RENAME's
 * destination) follow lazyfree-lazy-server-del (lazyfree_set_policy).
 *
 * Threading: submitters are any threads (under shard locks: submitting
 * never blocks, it fails when the queue is full); one detached background
 * thread, started at the first submit, frees in submission order. The
 * objects it frees are unreachable from the keyspace.
 */
#ifndef LT_ENGINE_LAZYFREE_H
#define LT_ENGINE_LAZYFREE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/entry.h"

#define LAZYFREE_THRESHOLD 64   /* Redis's LAZYFREE_THRESHOLD */
#define LAZYFREE_QUEUE_MAX 4096 /* jobs waiting for the thread */

struct ks_garbage;

/* lazyfree-lazy-expire and lazyfree-lazy-server-del (0 or 1). */
void lazyfree_set_policy(int expire, int server_del);
/* lazyfree-lazy-eviction (0 or 1): values of evicted keys. */
void lazyfree_set_policy_evict(int evict);
int lazyfree_policy_evict(void);
int lazyfree_policy_expire(void);
int lazyfree_policy_server_del(void);

/* Redis's lazyfreeGetFreeEffort for e's value. */
size_t lazyfree_effort(const ks_entry *e);

/* Takes e (detached, unreachable) when its effort is above the threshold
 * and the queue has room: 1, and the thread frees it; else 0 and the
 * caller frees it. */
int lazyfree_entry(ks_entry *e);
/* Takes detached shard data (a flush) when the queue has room: 1; else 0
 * and the caller frees it. keys: live keys it holds (for the counters). */
int lazyfree_garbage(struct ks_garbage *g, uint64_t keys);

/* INFO lazyfree_pending_objects / lazyfreed_objects: objects (keys of a
 * flushed database count one each) queued and not yet freed, and freed by
 * the thread since start. */
uint64_t lazyfree_pending(void);
uint64_t lazyfree_freed(void);
/* CONFIG RESETSTAT: lazyfreed_objects starts again from 0. */
void lazyfree_reset_stats(void);
/* Waits until everything queued so far is freed (tests, shutdown). */
void lazyfree_drain(void);

#endif
