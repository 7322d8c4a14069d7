/*
 * cmd_sync: SYNC and the full-sync part of PSYNC — the whole keyspace as an
 * RDB payload (what `redis-cli --rdb FILE` saves and a Redis replica loads).
 *
 * Reply: PSYNC answers `+FULLRESYNC <replid> <offset>` first (replid is
 * INFO's master_replid, offset the WAL position the payload covers, 0
 * without a WAL); both then send `$<length>\r\n` and the RDB bytes (RDB
 * version 10, engine/rdb.h), with no trailing CRLF, as Redis does for a
 * disk-backed full sync.
 *
 * How: the payload is written from an MVCC view (no fork: writers on other
 * threads go on, and the view costs at most one old version per key they
 * change ahead of it) into a temporary file in `dir`, which is unlinked at
 * once and streamed from its descriptor through the client's output
 * producer (client_set_producer) 64 KiB at a time, so the memory used is
 * bounded by client-output-backpressure however big the dataset. The file
 * is written on the worker thread that received the command: that thread's
 * other clients wait meanwhile (the other I/O threads do not).
 *
 * After the payload the connection stays open but no command stream
 * follows: replication proper (PSYNC continuation, the command stream,
 * REPLCONF ACK) is not built yet.
 *
 * Called by: dispatch (through sync_commands[]).
 */
#include "server/cmd/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/mvcc.h"
#include "engine/rdb.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/persist/rdb_import.h"
#include "server/server.h"

#define SYNC_CHUNK (64 * 1024)

typedef struct sync_stream {
    int fd;
    uint64_t off, size;
} sync_stream;

static void sync_stream_free(void *ctx) {
    sync_stream *s = ctx;
    if (s->fd >= 0) close(s->fd);
    free(s);
}

static int sync_stream_fill(client *c, void *ctx) {
    sync_stream *s = ctx;
    char buf[SYNC_CHUNK];
    size_t want = s->size - s->off < SYNC_CHUNK ? (size_t)(s->size - s->off) : SYNC_CHUNK;
    if (want == 0) return 1;
    ssize_t n = pread(s->fd, buf, want, (off_t)s->off);
    if (n <= 0) {
        serverLog(LL_WARNING, "SYNC: reading the payload file failed: %s; closing the client",
                  n < 0 ? strerror(errno) : "short file");
        c->flags |= CLIENT_CLOSE_ASAP;
        client_close(c);
        return 1;
    }
    addReplyProto(c, buf, (size_t)n);
    s->off += (uint64_t)n;
    return s->off == s->size;
}

typedef struct file_sink {
    FILE *f;
} file_sink;

static int sink_emit(void *ctx, const void *p, size_t n) {
    file_sink *s = ctx;
    return fwrite(p, 1, n, s->f) == n ? 0 : -1;
}

/* Writes the RDB of the whole keyspace into an unlinked temporary file:
 * its descriptor and size, or -1 (logged). */
static int sync_write_payload(uint64_t *size, uint64_t offset, uint64_t *keys) {
    char path[64];
    static unsigned seq;
    snprintf(path, sizeof(path), "temp-sync-%d-%u.rdb", (int)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    FILE *f = fopen(path, "w+");
    if (!f) {
        serverLog(LL_WARNING, "SYNC: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    unlink(path);
    char ctime_s[24], off_s[24], bits[8];
    snprintf(ctime_s, sizeof(ctime_s), "%lld", (long long)(time(NULL)));
    snprintf(off_s, sizeof(off_s), "%" PRIu64, offset);
    snprintf(bits, sizeof(bits), "%d", (int)(sizeof(void *) * 8));
    rdb_aux aux[] = {
        {"redis-ver", "7.0.15"}, {"redis-bits", bits},      {"ctime", ctime_s},
        {"used-mem", "0"},       {"repl-stream-db", "0"},   {"repl-id", server.runid},
        {"repl-offset", off_s},  {"aof-base", "0"},
    };
    file_sink sink = {f};
    rdb_write_opts o = {.emit = sink_emit,
                        .ctx = &sink,
                        .aux = aux,
                        .naux = sizeof(aux) / sizeof(aux[0]),
                        .functions = rdb_functions_code(),
                        .function_lens = rdb_functions_lens(),
                        .nfunctions = rdb_functions_count()};
    ks_view v;
    ks_view_open(server.db, &v);
    v.sequential = 1;
    int rc = rdb_write_view(server.db, &v, &o, keys);
    ks_view_close(&v);
    if (rc != LT_OK || fflush(f) != 0) {
        serverLog(LL_WARNING, "SYNC: writing the payload failed: %s",
                  rc == LT_INVAL ? "a value has no RDB form yet" : strerror(errno));
        fclose(f);
        return -1;
    }
    long end = ftell(f);
    int fd = dup(fileno(f));
    fclose(f);
    if (end < 0 || fd < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *size = (uint64_t)end;
    return fd;
}

static void syncGenericCommand(client *c, int psync) {
    /* Redis's check: the payload must be the first thing the client
     * reads after its command. */
    if (client_output_bytes(c) > 0) {
        addReplyError(c, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    uint64_t offset = persist_snapshot_point();
    uint64_t size = 0, keys = 0;
    int fd = sync_write_payload(&size, offset, &keys);
    if (fd < 0) {
        addReplyError(c, "ERR could not produce the RDB payload (see the server log)");
        return;
    }
    serverLog(LL_NOTICE, "%s from %s: sending %" PRIu64 " keys as an RDB payload of %" PRIu64
                         " bytes", psync ? "Full resync (PSYNC)" : "SYNC", c->addr, keys, size);
    if (psync) {
        char line[96];
        int n = snprintf(line, sizeof(line), "+FULLRESYNC %s %" PRIu64 "\r\n", server.runid,
                         offset);
        addReplyProto(c, line, (size_t)n);
    }
    char hdr[32];
    int n = snprintf(hdr, sizeof(hdr), "$%" PRIu64 "\r\n", size);
    addReplyProto(c, hdr, (size_t)n);
    sync_stream *s = malloc(sizeof(*s));
    if (!s) {
        close(fd);
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return;
    }
    *s = (sync_stream){.fd = fd, .off = 0, .size = size};
    client_set_producer(c, sync_stream_fill, s, sync_stream_free);
}

static void syncCommand(client *c) { syncGenericCommand(c, 0); }
/* PSYNC replicationid offset: no backlog exists yet, so every PSYNC is a
 * full resynchronization. */
static void psyncCommand(client *c) { syncGenericCommand(c, 1); }

command sync_commands[] = {
    {.name = "sync", .proc = syncCommand, .arity = 1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "1.0.0",
     .summary = "Sends the whole dataset as an RDB payload (replica full sync)."},
    {.name = "psync", .proc = psyncCommand, .arity = -3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "server", .since = "2.8.0",
     .summary = "Replica synchronization; answers a full resync with an RDB payload."},
    {0},
};
