/*
 * stream.c — the logical log as one RESP stream: what every commit
 * propagates, in commit order, as the bytes a Redis replica would receive,
 * with its byte offset (Redis's replication offset, INFO's
 * master_repl_offset), and the consumers that read it.
 *
 * THE STREAM. Record by record, in WAL (LSN) order: the record's RESP
 * commands, preceded by `SELECT 0` when the record does not start with a
 * SELECT itself (WAL records start in database 0 and carry a leading
 * SELECT for any other database: propagate.c). So every record of the
 * stream names its database explicitly and any concatenation of whole
 * records — from any record on — applies correctly. The stream of a WAL is
 * therefore a function of its records (a tool can derive it from disk).
 *
 * OFFSETS. persist_stream_offset() is the number of stream bytes produced
 * since start-up (as Redis's master_repl_offset, which starts at 0 when
 * the server starts with no replication state). It advances only while the
 * stream is produced: always with appendonly yes (the WAL consumes it), and
 * with appendonly no while at least one consumer is registered — as Redis
 * only advances its offset once a replication backlog exists.
 *
 * ORDER. With a WAL, records are emitted by the WAL's tap under the WAL's
 * lock (so stream order = LSN order) and consumers join or leave under the
 * same lock (wal_locked). Without a WAL a mutex of this file orders them.
 *
 * CONSUMERS. At most PERSIST_STREAM_MAX_CONSUMERS. A consumer's on_data
 * runs under that lock on whatever thread commits — possibly with shard
 * locks held — so it must copy the bytes into its own bounded buffer and
 * return; it must not block or call back into persist. It receives every
 * record appended after persist_stream_subscribe() returned the offset of
 * its first byte, whole records only.
 */
#include "server/persist/persist_int.h"

#include <string.h>

#include "server/server.h"

static const char select0[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
static const char select_prefix[] = "*2\r\n$6\r\nSELECT\r\n";

static struct {
    pthread_mutex_t lock; /* without a WAL: orders emits and (un)subscribes */
    persist_consumer *consumers[PERSIST_STREAM_MAX_CONSUMERS];
    int nconsumers;       /* atomic reads (stream_active) */
    uint64_t offset;      /* atomic reads; written in stream order */
} ST = {.lock = PTHREAD_MUTEX_INITIALIZER};

int persist_stream_active(void) {
    return __atomic_load_n(&ST.nconsumers, __ATOMIC_ACQUIRE) > 0;
}

uint64_t persist_stream_offset(void) { return __atomic_load_n(&ST.offset, __ATOMIC_ACQUIRE); }

/* Emits one record (its payload pieces) into the stream; caller holds the
 * order lock (the WAL's, or ST.lock). */
static void emit(const struct iovec *iov, int iovcnt) {
    struct iovec out[8];
    int n = 0;
    size_t len = 0;
    int has_select = iovcnt > 0 && iov[0].iov_len >= sizeof(select_prefix) - 1 &&
                     memcmp(iov[0].iov_base, select_prefix, sizeof(select_prefix) - 1) == 0;
    if (!has_select) {
        out[n].iov_base = (void *)select0;
        out[n++].iov_len = sizeof(select0) - 1;
        len += sizeof(select0) - 1;
    }
    for (int i = 0; i < iovcnt && n < 8; i++) {
        out[n++] = iov[i];
        len += iov[i].iov_len;
    }
    uint64_t off = ST.offset;
    for (int i = 0; i < ST.nconsumers; i++)
        ST.consumers[i]->on_data(ST.consumers[i]->ctx, off, out, n);
    __atomic_store_n(&ST.offset, off + len, __ATOMIC_RELEASE);
}

void persist_stream_tap(void *ctx, uint64_t lsn, uint32_t type, const struct iovec *iov,
                        int iovcnt) {
    (void)ctx;
    (void)lsn;
    if (type != WAL_REC_COMMANDS_DB0) return; /* only this form is appended now */
    emit(iov, iovcnt);
}

void persist_stream_emit_nowal(const struct iovec *iov, int iovcnt) {
    pthread_mutex_lock(&ST.lock);
    if (ST.nconsumers > 0) emit(iov, iovcnt);
    pthread_mutex_unlock(&ST.lock);
}

typedef struct sub_op {
    persist_consumer *c;
    int add;
    int rc;
    uint64_t offset;
} sub_op;

static void sub_apply(void *p) {
    sub_op *op = p;
    op->offset = ST.offset;
    if (op->add) {
        if (ST.nconsumers == PERSIST_STREAM_MAX_CONSUMERS) {
            op->rc = -1;
            return;
        }
        ST.consumers[ST.nconsumers] = op->c;
        __atomic_store_n(&ST.nconsumers, ST.nconsumers + 1, __ATOMIC_RELEASE);
        op->rc = 0;
        return;
    }
    op->rc = -1;
    for (int i = 0; i < ST.nconsumers; i++) {
        if (ST.consumers[i] != op->c) continue;
        memmove(&ST.consumers[i], &ST.consumers[i + 1],
                sizeof(ST.consumers[0]) * (size_t)(ST.nconsumers - i - 1));
        __atomic_store_n(&ST.nconsumers, ST.nconsumers - 1, __ATOMIC_RELEASE);
        op->rc = 0;
        break;
    }
}

static void sub_run(sub_op *op) {
    if (P.wal) {
        wal_locked(P.wal, sub_apply, op);
    } else {
        pthread_mutex_lock(&ST.lock);
        sub_apply(op);
        pthread_mutex_unlock(&ST.lock);
    }
}

int persist_stream_subscribe(persist_consumer *c, uint64_t *start_offset) {
    sub_op op = {.c = c, .add = 1};
    sub_run(&op);
    if (start_offset) *start_offset = op.offset;
    return op.rc;
}

int persist_stream_unsubscribe(persist_consumer *c) {
    sub_op op = {.c = c, .add = 0};
    sub_run(&op);
    return op.rc;
}
