/*
 * backlog.c — the replication backlog (see backlog.h): a list of 64 KiB
 * chunks, oldest first, and the replicas' read cursors into it.
 *
 * Trimming (after every append): the head chunk is freed when the bytes
 * after it still cover `size` and no cursor points into it; a cursor that
 * points into it keeps it (a replica in full sync or lagging behind) until
 * the bytes held exceed size + hard_limit, then that cursor is dropped
 * (BACKLOG_DROPPED) and the chunk freed. So memory is bounded by
 * size + hard_limit + one chunk.
 */
#include "repl/backlog.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void backlog_init(backlog *b, uint64_t end, uint64_t size, uint64_t hard_limit) {
    memset(b, 0, sizeof(*b));
    b->start = b->end = end;
    b->size = size;
    b->hard_limit = hard_limit;
    for (int i = 0; i < BACKLOG_MAX_CURSORS; i++) b->cursor[i] = UINT64_MAX;
}

static void free_chunks(backlog *b) {
    for (backlog_chunk *c = b->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    b->head = b->tail = NULL;
}

void backlog_free(backlog *b) { free_chunks(b); }

void backlog_reset(backlog *b, uint64_t end) {
    free_chunks(b);
    for (int i = 0; i < BACKLOG_MAX_CURSORS; i++)
        if (b->cursor[i] != UINT64_MAX && b->cursor[i] != end) b->cursor[i] = BACKLOG_DROPPED;
    b->start = b->end = end;
}

static void trim(backlog *b) {
    while (b->head && b->head->next) {
        backlog_chunk *h = b->head;
        uint64_t h_end = h->start + h->used;
        if (b->end - h_end < b->size) return;
        int pinned = 0;
        for (int i = 0; i < BACKLOG_MAX_CURSORS; i++)
            if (b->cursor[i] < h_end) pinned = 1; /* free/dropped slots are larger */
        if (pinned) {
            if (b->end - b->start <= b->size + b->hard_limit) return;
            for (int i = 0; i < BACKLOG_MAX_CURSORS; i++)
                if (b->cursor[i] < h_end) b->cursor[i] = BACKLOG_DROPPED;
        }
        b->head = h->next;
        b->start = h_end;
        free(h);
    }
}

int backlog_append(backlog *b, const void *p, size_t n) {
    const char *s = p;
    /* Allocate first so a failure leaves the backlog as it was. */
    size_t room = b->tail ? BACKLOG_CHUNK - b->tail->used : 0;
    size_t need = n > room ? (n - room + BACKLOG_CHUNK - 1) / BACKLOG_CHUNK : 0;
    backlog_chunk *first = NULL, *last = NULL;
    for (size_t i = 0; i < need; i++) {
        backlog_chunk *c = malloc(sizeof(*c));
        if (!c) {
            while (first) {
                backlog_chunk *x = first->next;
                free(first);
                first = x;
            }
            return -1;
        }
        c->next = NULL;
        c->used = 0;
        if (last) last->next = c;
        else first = c;
        last = c;
    }
    while (n > 0) {
        if (!b->tail || b->tail->used == BACKLOG_CHUNK) {
            backlog_chunk *c = first;
            first = c->next;
            c->next = NULL;
            c->start = b->end;
            if (b->tail) b->tail->next = c;
            else b->head = c;
            b->tail = c;
        }
        size_t k = BACKLOG_CHUNK - b->tail->used;
        if (k > n) k = n;
        memcpy(b->tail->data + b->tail->used, s, k);
        b->tail->used += k;
        b->end += k;
        s += k;
        n -= k;
    }
    trim(b);
    return 0;
}

size_t backlog_read(const backlog *b, uint64_t from, void *out, size_t max) {
    if (from < b->start || from >= b->end) return 0;
    char *o = out;
    size_t got = 0;
    for (const backlog_chunk *c = b->head; c && got < max; c = c->next) {
        uint64_t c_end = c->start + c->used;
        if (from >= c_end) continue;
        size_t off = (size_t)(from - c->start);
        size_t k = c->used - off;
        if (k > max - got) k = max - got;
        memcpy(o + got, c->data + off, k);
        got += k;
        from += k;
    }
    return got;
}

int backlog_cursor_add(backlog *b, uint64_t at) {
    if (at < b->start || at > b->end) return -1;
    for (int i = 0; i < BACKLOG_MAX_CURSORS; i++) {
        if (b->cursor[i] == UINT64_MAX) {
            b->cursor[i] = at;
            return i;
        }
    }
    return -1;
}

void backlog_cursor_del(backlog *b, int slot) {
    if (slot >= 0 && slot < BACKLOG_MAX_CURSORS) b->cursor[slot] = UINT64_MAX;
    trim(b);
}

void backlog_resize(backlog *b, uint64_t size, uint64_t hard_limit) {
    b->size = size;
    b->hard_limit = hard_limit;
    trim(b);
}

int backlog_psync_may_continue(const backlog *b, int has_backlog, const char *replid,
                               const char *replid2, int64_t second_off, const char *req_id,
                               int64_t req_off, const char **why) {
    if (strcasecmp(req_id, replid) != 0) {
        if (strcasecmp(req_id, replid2) != 0) {
            *why = "replication ID mismatch";
            return 0;
        }
        if (req_off > second_off) {
            *why = "requested offset is after the point where the previous history ends";
            return 0;
        }
    }
    if (!has_backlog) {
        *why = "no backlog";
        return 0;
    }
    if (req_off < 1 || (uint64_t)(req_off - 1) < b->start || (uint64_t)(req_off - 1) > b->end) {
        *why = "requested offset is out of the backlog's range";
        return 0;
    }
    *why = NULL;
    return 1;
}
