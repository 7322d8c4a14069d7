/*
 * stream.c — the logical log as one RESP stream: what every commit
 * propagates, in commit order, as the bytes a Redis replica would receive,
 * with its byte offset (Redis's replication offset, INFO's
 * master_repl_offset), and the consumers that read it.
 *
 * THE STREAM. Record by record, in WAL (LSN) order: the record's RESP
 * commands, preceded by a SELECT of its database only when that differs
 * from the database the stream left selected (as Redis's slaveseldb: a
 * replica sees `SELECT 9` once, then the commands of database 9). WAL
 * records start in database 0 and carry a leading SELECT for any other
 * database, so the record's database is known from its first bytes: the
 * leading SELECT is dropped, or `SELECT 0` added, as the stream's current
 * database requires. A record that selects another database inside (an
 * EXEC or a script that ran SELECT) names the database it ends in to
 * persist_stream_record_end_db() before it is appended, on the appending
 * thread (the tap runs there, under the WAL's lock). The current database is forgotten (the next
 * record names its database whatever it is) when a consumer joins and
 * when a replica's full sync starts (persist_stream_reselect), as Redis
 * does when a replica attaches: whoever starts reading at such a point
 * gets an explicit SELECT first. A consumer continuing from any other
 * point must know the database the stream had selected there (a replica
 * keeps it across a partial resync, as Redis's cached master does).
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

#include <limits.h>
#include <string.h>

#include "server/server.h"

static const char select0[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
static const char select_prefix[] = "*2\r\n$6\r\nSELECT\r\n";

static struct {
    pthread_mutex_t lock; /* without a WAL: orders emits and (un)subscribes */
    persist_consumer *consumers[PERSIST_STREAM_MAX_CONSUMERS];
    int nconsumers;       /* atomic reads (stream_active) */
    uint64_t offset;      /* atomic reads; written in stream order */
    int curdb;            /* selected by the stream so far; -1: none (atomic) */
} ST = {.lock = PTHREAD_MUTEX_INITIALIZER, .curdb = -1};

int persist_stream_active(void) {
    return __atomic_load_n(&ST.nconsumers, __ATOMIC_ACQUIRE) > 0;
}

uint64_t persist_stream_offset(void) { return __atomic_load_n(&ST.offset, __ATOMIC_ACQUIRE); }

/* The database the record being appended by this thread ends in, when it
 * is not the one it starts in; INT_MIN: the one it starts in. */
static __thread int record_end_db = INT_MIN;

void persist_stream_record_end_db(int db) { record_end_db = db; }

/* The database of the SELECT a record starts with ("*2\r\n$6\r\nSELECT\r\n
 * $<n>\r\n<db>\r\n" at the start of its first piece, as propagate.c
 * builds it), its length in *sellen; -1 when the piece does not start so. */
static int leading_select_db(const struct iovec *v, size_t *sellen) {
    const char *p = v->iov_base;
    size_t len = v->iov_len, pre = sizeof(select_prefix) - 1;
    if (len < pre + 7 || memcmp(p, select_prefix, pre) != 0 || p[pre] != '$') return -1;
    size_t i = pre + 1, nl = 0;
    while (i < len && i < pre + 4 && p[i] >= '0' && p[i] <= '9')
        nl = nl * 10 + (size_t)(p[i++] - '0');
    if (nl == 0 || nl > 9 || i + 2 + nl + 2 > len || p[i] != '\r' || p[i + 1] != '\n') return -1;
    int db = 0;
    for (size_t k = i + 2; k < i + 2 + nl; k++) {
        if (p[k] < '0' || p[k] > '9') return -1;
        db = db * 10 + (p[k] - '0');
    }
    i += 2 + nl;
    if (p[i] != '\r' || p[i + 1] != '\n') return -1;
    *sellen = i + 2;
    return db;
}

/* Emits one record (its payload pieces) into the stream; caller holds the
 * order lock (the WAL's, or ST.lock). */
static void emit(const struct iovec *iov, int iovcnt) {
    struct iovec out[8];
    int n = 0;
    size_t len = 0;
    int has_select = iovcnt > 0 && iov[0].iov_len >= sizeof(select_prefix) - 1 &&
                     memcmp(iov[0].iov_base, select_prefix, sizeof(select_prefix) - 1) == 0;
    size_t sellen = 0;
    int db = has_select ? leading_select_db(&iov[0], &sellen) : 0;
    int curdb = __atomic_load_n(&ST.curdb, __ATOMIC_RELAXED);
    size_t skip = 0;
    if (!has_select && curdb != 0) {
        out[n].iov_base = (void *)select0;
        out[n++].iov_len = sizeof(select0) - 1;
        len += sizeof(select0) - 1;
    } else if (has_select && db >= 0 && db == curdb) {
        skip = sellen; /* already selected: drop the record's SELECT */
    }
    for (int i = 0; i < iovcnt && n < 8; i++) {
        out[n].iov_base = (char *)iov[i].iov_base + (i == 0 ? skip : 0);
        out[n].iov_len = iov[i].iov_len - (i == 0 ? skip : 0);
        len += out[n].iov_len;
        if (out[n].iov_len) n++;
    }
    /* db < 0 (a leading SELECT of another shape): unknown from here on. */
    if (db >= 0 && record_end_db != INT_MIN) db = record_end_db;
    __atomic_store_n(&ST.curdb, db, __ATOMIC_RELAXED);
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
        __atomic_store_n(&ST.curdb, -1, __ATOMIC_RELAXED);
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

static void reselect_apply(void *p) {
    (void)p;
    __atomic_store_n(&ST.curdb, -1, __ATOMIC_RELAXED);
}

void persist_stream_reselect(void) {
    if (P.wal) {
        wal_locked(P.wal, reselect_apply, NULL);
    } else {
        pthread_mutex_lock(&ST.lock);
        reselect_apply(NULL);
        pthread_mutex_unlock(&ST.lock);
    }
}
