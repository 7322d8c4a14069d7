/*
 * persist_int.h — what the persist files share (not for other modules):
 * the WAL handle and counters (persist_state P), the growable byte buffer
 * every record is built in, and the calls between propagation (propagate.c),
 * held replies (hold.c) and recovery (replay.c).
 */
#ifndef LIGHTNING_PERSIST_INT_H
#define LIGHTNING_PERSIST_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/keyspace.h"
#include "engine/wal.h"
#include "server/persist/persist.h"

/* The WAL directory under dir: appenddirname (Redis's name for its AOF
 * directory; default appendonlydir). Lightning before that directive used
 * "wal", which persist_open renames once. */
#define PERSIST_WAL_DIR (server.appenddirname)
#define PERSIST_LEGACY_WAL_DIR "wal"

/* Growable byte buffer (thread-local scratch; grows to the largest
 * command seen on the thread, shrunk back when over 1 MiB). */
typedef struct bytes {
    char *p;
    size_t len, cap;
} bytes;

void bytes_reserve(bytes *b, size_t more);
void bytes_add(bytes *b, const void *p, size_t n);
void bytes_trim(bytes *b);
/* Appends "*argc\r\n" then "$len\r\narg\r\n" for each argument. */
void bytes_add_multibulk(bytes *b, int argc, const resp_arg *argv);

struct persist_state {
    wal *wal;
    int replaying;
    uint64_t durable;     /* atomic mirror of the WAL's durable LSN */
    uint64_t changes;     /* atomic */
    pthread_mutex_t wake_lock;
    int wakeups;          /* workers may be woken (under wake_lock) */
    uint64_t snap_ts;     /* replay: records with ts <= this are in the snapshot */
    uint64_t max_ts;      /* replay: highest commit ts seen */
    uint64_t expiry_dels_unlogged; /* atomic: DELs of expired keys dropped
                                    * for want of WAL buffer space */
    uint64_t eviction_dels_refused; /* atomic: evictions refused for want of
                                     * WAL buffer space in this episode */
};
extern struct persist_state P;

/* propagate.c: the engine hooks that log each commit. */
extern const ks_hooks persist_hooks;
/* stream.c: the WAL's tap (emits each appended record into the stream);
 * without a WAL, propagate.c emits through persist_stream_emit_nowal
 * while persist_stream_active(). */
void persist_stream_tap(void *ctx, uint64_t lsn, uint32_t type, const struct iovec *iov,
                        int iovcnt);
void persist_stream_emit_nowal(const struct iovec *iov, int iovcnt);
/* The record this thread appends next ends in database db (INT_MIN: in
 * the one it starts in); see stream.c. */
void persist_stream_record_end_db(int db);
int persist_stream_active(void);
/* hold.c: holds c's output until its WAL LSN is durable. */
void persist_hold(client *c);
/* hold.c: the WAL writer's callback when the durable LSN advances. */
void persist_on_durable(void *ctx, uint64_t durable);
/* WAL fsync done (any WAL thread): the latency monitor's aof-fsync-always
 * under appendfsync always, whose clients' replies wait for that fsync. */
void persist_on_fsync(void *ctx, uint64_t us);

#endif
