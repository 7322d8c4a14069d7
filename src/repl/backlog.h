/*
 * backlog.h — the replication backlog: the last bytes of the replication
 * stream, kept in fixed-size chunks, with the read cursors of the replicas
 * that stream from it; and the PSYNC decision made against it.
 *
 * Offsets are stream byte counts ("index" of a byte = bytes before it);
 * Redis's offsets are the same numbers (master_repl_offset = bytes
 * produced; PSYNC asks for the Redis offset R + 1 of its next byte, which is
 * index R here).
 *
 * Invariants: the chunks hold exactly the bytes [start, end) in order;
 * every cursor is in [start, end] unless it was dropped (lagging); the
 * bytes held stay >= the configured size when that much was produced
 * (trimming drops a whole head chunk only when what remains still covers
 * `size`), and at most `size + hard_limit` (beyond it, the cursors that keep
 * the head alive are dropped: their replicas are disconnected).
 *
 * Pure data structure: no locks, no I/O (the caller serialises), so the
 * unit test and the seeded simulation drive it directly.
 */
#ifndef LIGHTNING_REPL_BACKLOG_H
#define LIGHTNING_REPL_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#define BACKLOG_CHUNK (64 * 1024)
#define BACKLOG_MAX_CURSORS 64

typedef struct backlog_chunk {
    struct backlog_chunk *next;
    uint64_t start; /* stream index of data[0] */
    size_t used;
    char data[BACKLOG_CHUNK];
} backlog_chunk;

typedef struct backlog {
    backlog_chunk *head, *tail;
    uint64_t start, end;   /* bytes held: [start, end) */
    uint64_t size;         /* history to keep (repl-backlog-size) */
    uint64_t hard_limit;   /* extra bytes kept for lagging cursors */
    /* Cursors (replicas reading): index of the next byte each wants;
     * UINT64_MAX = free slot; BACKLOG_DROPPED = fell out. */
    uint64_t cursor[BACKLOG_MAX_CURSORS];
} backlog;

#define BACKLOG_DROPPED (UINT64_MAX - 1)

/* An empty backlog whose next byte is index `end`. */
void backlog_init(backlog *b, uint64_t end, uint64_t size, uint64_t hard_limit);
void backlog_free(backlog *b);
/* Empties it; the next byte is index end. Cursors are kept only when they
 * equal end, others are dropped. */
void backlog_reset(backlog *b, uint64_t end);
/* Appends n bytes (the next of the stream), then trims. 0, or -1 when out of
 * memory (nothing appended: the caller must drop every reader). */
int backlog_append(backlog *b, const void *p, size_t n);
/* Copies up to max bytes starting at index from (start <= from <= end)
 * into out; returns how many. */
size_t backlog_read(const backlog *b, uint64_t from, void *out, size_t max);
/* Cursor slots: a free slot at index at (start <= at <= end), or -1 when
 * all are taken. */
int backlog_cursor_add(backlog *b, uint64_t at);
void backlog_cursor_del(backlog *b, int slot);
/* Changes the held history (CONFIG SET repl-backlog-size); trims. */
void backlog_resize(backlog *b, uint64_t size, uint64_t hard_limit);

/* PSYNC: may a replica asking for replid `req_id` at Redis offset req_off
 * continue (+CONTINUE) from this backlog? ids: the server's current replid
 * and replid2 (previous master's id) with second_off (Redis offset up to
 * which replid2's history is shared, 0/-1 when none); has_backlog: a
 * backlog exists. Returns 1 to continue (the first byte to send is index
 * req_off - 1), 0 for a full resync, with *why set to the reason (for the
 * log). */
int backlog_psync_may_continue(const backlog *b, int has_backlog, const char *replid,
                               const char *replid2, int64_t second_off, const char *req_id,
                               int64_t req_off, const char **why);

#endif
