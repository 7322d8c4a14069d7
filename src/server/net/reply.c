/*
 * reply: RESP2/RESP3 encoding into the client's output buffers (reply.h).
 *
 * Layout: c->buf holds the first CLIENT_REPLY_BUF bytes; once anything is in
 * the chunk list, everything goes to the list so order is kept. Chunks are
 * never reallocated (a send may be in flight from them); a deferred length
 * is a small sealed chunk filled in later. The chunk list is bounded by
 * the client's class of client-output-buffer-limit (client.h).
 */
#include "server/net/reply.h"

#include "server/cmd/commands.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/util.h"
#include "server/server.h"
#include "server/net/worker.h"

#define CHUNK_MIN (16 * 1024)
#define DEFERRED_CAP 32 /* "*" + 20 digits + "\r\n" fits */

static reply_chunk *chunk_new(client *c, size_t size) {
    reply_chunk *ch = malloc(sizeof(*ch) + size);
    if (!ch) abort(); /* out of memory: like Redis, we cannot go on */
    c->reply_mem += sizeof(*ch) + size;
    c->reply_nchunks++;
    ch->next = NULL;
    ch->size = size;
    ch->used = 0;
    return ch;
}

static void chunk_append(client *c, reply_chunk *ch) {
    if (c->reply_tail) c->reply_tail->next = ch;
    else c->reply_head = ch;
    c->reply_tail = ch;
}

static int reply_suppressed(client *c) {
    if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_CLOSED))
        return 1;
    return (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) != 0 &&
           !(c->flags & CLIENT_PUSHING);
}

/* Appends to buf, then to the chunk list; every growth of the list is
 * checked against client-output-buffer-limit, and a client over it
 * (CLIENT_CLOSE_ASAP) takes no more bytes: one command's output stops
 * growing at the limit even when it is a single huge reply. */
static void append_bytes(client *c, const char *s, size_t len) {
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    ASSERT(c->bufpos <= CLIENT_REPLY_BUF && c->sentlen <= c->bufpos);
    ASSERT(!c->reply_head == !c->reply_tail);
    if (!c->reply_head) {
        size_t room = CLIENT_REPLY_BUF - c->bufpos;
        size_t n = len < room ? len : room;
        memcpy(c->buf + c->bufpos, s, n);
        c->bufpos += n;
        s += n;
        len -= n;
        if (!len) return;
    }
    reply_chunk *t = c->reply_tail;
    if (t && t != c->deferred && t->size > t->used) {
        size_t room = t->size - t->used;
        size_t n = len < room ? len : room;
        memcpy(t->buf + t->used, s, n);
        t->used += n;
        ASSERT(t->used <= t->size);
        c->reply_bytes += n;
        s += n;
        len -= n;
    }
    if (len) {
        reply_chunk *ch = chunk_new(c, len > CHUNK_MIN ? len : CHUNK_MIN);
        memcpy(ch->buf, s, len);
        ch->used = len;
        c->reply_bytes += len;
        chunk_append(c, ch);
    }
    client_check_output_limits(c);
}

void addReplyProto(client *c, const char *s, size_t len) {
    if (reply_suppressed(c)) return;
    append_bytes(c, s, len);
    client_queue_write(c);
}

static void add_prefixed_len(client *c, char prefix, long long n) {
    char buf[32];
    buf[0] = prefix;
    int l = (int)lt_ll2string(buf + 1, sizeof(buf) - 3, n);
    buf[l + 1] = '\r';
    buf[l + 2] = '\n';
    addReplyProto(c, buf, (size_t)l + 3);
}

void addReplyStatus(client *c, const char *status) {
    size_t len = strlen(status);
    char stack[256];
    if (len + 3 <= sizeof(stack)) {
        stack[0] = '+';
        memcpy(stack + 1, status, len);
        memcpy(stack + 1 + len, "\r\n", 2);
        addReplyProto(c, stack, len + 3);
        return;
    }
    addReplyProto(c, "+", 1);
    addReplyProto(c, status, len);
    addReplyProto(c, "\r\n", 2);
}

void addReplyOK(client *c) { addReplyProto(c, "+OK\r\n", 5); }

void addReplyErrorLen(client *c, const char *err, size_t len) {
    /* Count it even when the reply itself is suppressed, as Redis does. */
    size_t codelen = 0;
    while (codelen < len && err[codelen] >= 'A' && err[codelen] <= 'Z') codelen++;
    int has_code = codelen >= 2 && (codelen == len || err[codelen] == ' ');
    if (has_code) server_count_error(err, codelen);
    else server_count_error("ERR", 3);
    c->error_in_reply = 1;
    c->errors_replied++;
    if (reply_suppressed(c)) return;
    append_bytes(c, "-", 1);
    if (!has_code) append_bytes(c, "ERR ", 4);
    /* An error must stay one line: newlines become spaces. */
    const char *p = err;
    size_t left = len;
    while (left) {
        size_t run = 0;
        while (run < left && p[run] != '\r' && p[run] != '\n') run++;
        if (run) append_bytes(c, p, run);
        if (run < left) {
            append_bytes(c, " ", 1);
            run++;
        }
        p += run;
        left -= run;
    }
    append_bytes(c, "\r\n", 2);
    client_queue_write(c);
}

void addReplyError(client *c, const char *err) {
    addReplyErrorLen(c, err, strlen(err));
}

void addReplyErrorFormat(client *c, const char *fmt, ...) {
    char stack[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof(stack), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(stack)) {
        addReplyErrorLen(c, stack, (size_t)n);
        return;
    }
    char *heap = malloc((size_t)n + 1);
    if (!heap) abort();
    va_start(ap, fmt);
    vsnprintf(heap, (size_t)n + 1, fmt, ap);
    va_end(ap);
    addReplyErrorLen(c, heap, (size_t)n);
    free(heap);
}

void addReplyErrorArity(client *c) {
    addReplyErrorFormat(c, "ERR wrong number of arguments for '%s' command",
                        c->cmd ? c->cmd->fullname : "unknown");
}

void addReplyErrorSyntax(client *c) { addReplyError(c, "ERR syntax error"); }

void addReplyErrorNotInteger(client *c) {
    addReplyError(c, "ERR value is not an integer or out of range");
}

void addReplyErrorWrongType(client *c) {
    addReplyError(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void addReplyLongLong(client *c, long long v) {
    if (v == 0) addReplyProto(c, ":0\r\n", 4);
    else if (v == 1) addReplyProto(c, ":1\r\n", 4);
    else add_prefixed_len(c, ':', v);
}

void addReplyBulk(client *c, const char *p, size_t len) {
    if (reply_suppressed(c)) return;
    if (!c->reply_head && CLIENT_REPLY_BUF - c->bufpos >= len + LT_LLSTR_SIZE + 5) {
        /* Fits the buffer (GET's usual case): written in place at once. */
        char *w = c->buf + c->bufpos;
        w[0] = '$';
        size_t l = lt_ll2string(w + 1, LT_LLSTR_SIZE, (long long)len) + 1;
        w[l] = '\r';
        w[l + 1] = '\n';
        memcpy(w + l + 2, p, len);
        w[l + 2 + len] = '\r';
        w[l + 3 + len] = '\n';
        c->bufpos += l + 4 + len;
        client_queue_write(c);
        return;
    }
    char hdr[32];
    hdr[0] = '$';
    int l = (int)lt_ll2string(hdr + 1, sizeof(hdr) - 3, (long long)len);
    hdr[l + 1] = '\r';
    hdr[l + 2] = '\n';
    append_bytes(c, hdr, (size_t)l + 3);
    append_bytes(c, p, len);
    append_bytes(c, "\r\n", 2);
    client_queue_write(c);
}

void addReplyBulkCString(client *c, const char *s) {
    if (!s) addReplyNull(c);
    else addReplyBulk(c, s, strlen(s));
}

void addReplyBulkLongLong(client *c, long long v) {
    char buf[32];
    int l = (int)lt_ll2string(buf, sizeof(buf), v);
    addReplyBulk(c, buf, (size_t)l);
}

void addReplyNull(client *c) {
    if (c->resp >= 3) addReplyProto(c, "_\r\n", 3);
    else addReplyProto(c, "$-1\r\n", 5);
}

void addReplyNullArray(client *c) {
    if (c->resp >= 3) addReplyProto(c, "_\r\n", 3);
    else addReplyProto(c, "*-1\r\n", 5);
}

void addReplyArrayLen(client *c, long long n) { add_prefixed_len(c, '*', n); }

void addReplyMapLen(client *c, long long n) {
    if (c->resp >= 3) add_prefixed_len(c, '%', n);
    else add_prefixed_len(c, '*', n * 2);
}

void addReplySetLen(client *c, long long n) {
    add_prefixed_len(c, c->resp >= 3 ? '~' : '*', n);
}

void addReplyPushLen(client *c, long long n) {
    add_prefixed_len(c, c->resp >= 3 ? '>' : '*', n);
}

void addReplyDouble(client *c, double d) {
    char buf[64];
    int len;
    /* Redis formats with %.17g, and spells infinities itself. */
    if (isinf(d)) len = snprintf(buf, sizeof(buf), "%s", d > 0 ? "inf" : "-inf");
    else len = snprintf(buf, sizeof(buf), "%.17g", d);
    if (c->resp >= 3) {
        char out[72];
        int l = snprintf(out, sizeof(out), ",%s\r\n", buf);
        addReplyProto(c, out, (size_t)l);
    } else {
        addReplyBulk(c, buf, (size_t)len);
    }
}

void addReplyBool(client *c, int b) {
    if (c->resp >= 3) addReplyProto(c, b ? "#t\r\n" : "#f\r\n", 4);
    else addReplyProto(c, b ? ":1\r\n" : ":0\r\n", 4);
}

void addReplyVerbatim(client *c, const char *s, size_t len, const char *ext) {
    if (c->resp < 3) {
        addReplyBulk(c, s, len);
        return;
    }
    if (reply_suppressed(c)) return;
    char hdr[48];
    int l = snprintf(hdr, sizeof(hdr), "=%zu\r\n%.3s:", len + 4, ext);
    append_bytes(c, hdr, (size_t)l);
    append_bytes(c, s, len);
    append_bytes(c, "\r\n", 2);
    client_queue_write(c);
}

void addReplyHelp(client *c, const char **lines) {
    char head[96];
    const char *name = c->cmd ? (c->cmd->parent ? c->cmd->parent->name : c->cmd->name) : "";
    int n = 0;
    while (lines[n]) n++;
    snprintf(head, sizeof(head), "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", name);
    for (char *p = head; *p && *p != ' '; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    addReplyArrayLen(c, n + 3);
    addReplyStatus(c, head);
    for (int i = 0; i < n; i++) addReplyStatus(c, lines[i]);
    addReplyStatus(c, "HELP");
    addReplyStatus(c, "    Prints this help.");
}

void *addReplyDeferredLen(client *c) {
    if (reply_suppressed(c)) return NULL;
    reply_chunk *ch = chunk_new(c, DEFERRED_CAP);
    chunk_append(c, ch);
    c->deferred = ch;
    return ch;
}

static void set_deferred(client *c, void *node, char prefix, long long n) {
    reply_chunk *ch = node;
    if (!ch) return;
    ASSERT(ch->used == 0 && ch->size >= DEFERRED_CAP); /* filled once */
    ch->buf[0] = prefix;
    int l = (int)lt_ll2string(ch->buf + 1, DEFERRED_CAP - 3, n);
    ch->buf[l + 1] = '\r';
    ch->buf[l + 2] = '\n';
    ch->used = (size_t)l + 3;
    c->reply_bytes += ch->used;
    if (c->deferred == ch) c->deferred = NULL;
    client_queue_write(c);
}

void setDeferredArrayLen(client *c, void *node, long long n) {
    set_deferred(c, node, '*', n);
}

void setDeferredMapLen(client *c, void *node, long long n) {
    if (c->resp >= 3) set_deferred(c, node, '%', n);
    else set_deferred(c, node, '*', n * 2);
}

void setDeferredSetLen(client *c, void *node, long long n) {
    set_deferred(c, node, c->resp >= 3 ? '~' : '*', n);
}
