/*
 * monitor: the MONITOR registry, line formatting and delivery (see
 * monitor.h).
 */
#include "server/monitor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/server.h"
#include "server/slowlog.h"

typedef struct monitor_q {
    struct monitor_q *next;
    client *c;          /* valid while registered: removed by its owner */
    worker *w;
    char *buf;          /* queued lines not yet moved to c's replies */
    size_t len, cap;
    int dropped;        /* over the limit: being closed, nothing queued */
} monitor_q;

int monitor_count;
static pthread_mutex_t mon_lock = PTHREAD_MUTEX_INITIALIZER;
static monitor_q *mons; /* under mon_lock */

/* The lines of the script this thread is running (monitor_script_end). */
static __thread struct {
    char *buf;
    size_t len, cap;
} script_held;

static void deliver(const char *line, size_t n);

/* A monitor is a normal client for client-output-buffer-limit (as in
 * Redis); with no normal hard limit (Redis's default) the queue is still
 * bounded by the default. */
size_t monitor_output_limit(void) {
    long long h =
        __atomic_load_n(&server.client_obuf_limits[CLIENT_CLASS_NORMAL].hard_bytes, __ATOMIC_RELAXED);
    return h > 0 && (unsigned long long)h < MONITOR_OUTPUT_LIMIT_DEFAULT ? (size_t)h
                                                                          : MONITOR_OUTPUT_LIMIT_DEFAULT;
}

/* Appends s quoted as Redis's sdscatrepr does. */
static size_t repr(char *out, const char *s, size_t len) {
    char *p = out;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        case '"': *p++ = '\\'; *p++ = '"'; break;
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        case '\t': *p++ = '\\'; *p++ = 't'; break;
        case '\a': *p++ = '\\'; *p++ = 'a'; break;
        case '\b': *p++ = '\\'; *p++ = 'b'; break;
        default:
            if (ch >= 32 && ch < 127) *p++ = (char)ch;
            else p += sprintf(p, "\\x%02x", ch);
        }
    }
    *p++ = '"';
    return (size_t)(p - out);
}

void monitor_feed(client *c, const command *cmd, const resp_arg *argv, int argc) {
    if (cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN)) return;
    monitor_feed_always(c, cmd, argv, argc);
}

void monitor_feed_always(client *c, const command *cmd, const resp_arg *argv, int argc) {
    /* A script's commands show "lua" where the address goes, as Redis's. */
    const char *addr = (c->flags & CLIENT_SCRIPT) ? "lua" : c->addr;
    size_t need = 96 + strlen(addr);
    for (int i = 0; i < argc; i++) need += 4 * argv[i].len + 3;
    char *line = malloc(need);
    if (!line) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    size_t n = (size_t)sprintf(line, "+%ld.%06ld [%d %s] ", (long)tv.tv_sec, (long)tv.tv_usec,
                               __atomic_load_n(&c->db, __ATOMIC_RELAXED), addr);
    for (int i = 0; i < argc; i++) {
        if (cmdlog_arg_redacted(cmd, argv, argc, i)) n += repr(line + n, "(redacted)", 10);
        else n += repr(line + n, argv[i].ptr, argv[i].len);
        if (i != argc - 1) line[n++] = ' ';
    }
    line[n++] = '\r';
    line[n++] = '\n';
    if (c->flags & CLIENT_SCRIPT) {
        /* Held until the script's run is final (monitor_script_end). */
        if (script_held.len + n <= monitor_output_limit()) {
            if (script_held.len + n > script_held.cap) {
                size_t cap = script_held.cap ? script_held.cap : 4096;
                while (cap < script_held.len + n) cap *= 2;
                char *nb = realloc(script_held.buf, cap);
                if (nb) {
                    script_held.buf = nb;
                    script_held.cap = cap;
                }
            }
            if (script_held.len + n <= script_held.cap) {
                memcpy(script_held.buf + script_held.len, line, n);
                script_held.len += n;
            }
        }
        free(line);
        return;
    }
    deliver(line, n);
    free(line);
}

void monitor_script_end(int keep) {
    if (keep && script_held.len) deliver(script_held.buf, script_held.len);
    /* Given back every time: the buffer exists only while a monitor
     * watches a script, and a thread-local one kept would be lost when its
     * I/O thread exits. */
    script_held.len = 0;
    free(script_held.buf);
    script_held.buf = NULL;
    script_held.cap = 0;
}

/* Appends n bytes of whole lines to every monitor's queue and wakes their
 * workers. */
static void deliver(const char *line, size_t n) {
    worker *wake[64];
    int nwake = 0;
    size_t limit = monitor_output_limit();
    pthread_mutex_lock(&mon_lock);
    for (monitor_q *q = mons; q; q = q->next) {
        if (q->dropped) continue;
        size_t unsent = __atomic_load_n(&q->c->pub.omem, __ATOMIC_RELAXED) +
                        __atomic_load_n(&q->c->pub.obl, __ATOMIC_RELAXED);
        if (q->len + n + unsent > limit) {
            q->dropped = 1;
            free(q->buf);
            q->buf = NULL;
            q->len = q->cap = 0;
            serverLog(LL_WARNING,
                      "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of "
                      "output buffer limits.",
                      (unsigned long long)q->c->id, q->c->addr);
            __atomic_store_n(&q->c->user_kill_flag, 1, __ATOMIC_RELEASE);
            worker_notify(q->w);
            continue;
        }
        if (q->len + n > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n) cap *= 2;
            char *nb = realloc(q->buf, cap);
            if (!nb) continue; /* this line is lost for this monitor */
            q->buf = nb;
            q->cap = cap;
        }
        int was_empty = q->len == 0;
        memcpy(q->buf + q->len, line, n);
        q->len += n;
        if (was_empty && nwake < 64) {
            int seen = 0;
            for (int i = 0; i < nwake; i++) seen |= wake[i] == q->w;
            if (!seen) wake[nwake++] = q->w;
        }
    }
    pthread_mutex_unlock(&mon_lock);
    for (int i = 0; i < nwake; i++) ev_loop_wakeup(wake[i]->loop);
}

void monitor_worker_drain(worker *w) {
    if (!monitor_active()) return;
    for (;;) {
        client *c = NULL;
        char *buf = NULL;
        size_t len = 0;
        pthread_mutex_lock(&mon_lock);
        for (monitor_q *q = mons; q; q = q->next) {
            if (q->w != w || q->len == 0) continue;
            c = q->c;
            buf = q->buf;
            len = q->len;
            q->buf = NULL;
            q->len = q->cap = 0;
            break;
        }
        pthread_mutex_unlock(&mon_lock);
        if (!c) return;
        if (!(c->flags & CLIENT_CLOSED)) {
            addReplyProto(c, buf, len);
            client_queue_write(c);
            client_publish(c); /* its unsent bytes count toward the limit */
        }
        free(buf);
    }
}

void monitor_client_closed(client *c) {
    if (!(c->flags & CLIENT_MONITOR)) return;
    pthread_mutex_lock(&mon_lock);
    for (monitor_q **pp = &mons; *pp; pp = &(*pp)->next) {
        if ((*pp)->c != c) continue;
        monitor_q *q = *pp;
        *pp = q->next;
        free(q->buf);
        free(q);
        __atomic_sub_fetch(&monitor_count, 1, __ATOMIC_RELAXED);
        break;
    }
    pthread_mutex_unlock(&mon_lock);
    c->flags &= ~CLIENT_MONITOR;
}

/* MONITOR: the client streams every command from now on. Like Redis, a
 * second MONITOR is ignored (no reply), and inside MULTI it is refused. */
void monitorCommand(client *c) {
    if (c->flags & CLIENT_IN_EXEC) {
        addReplyError(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->flags & CLIENT_MONITOR) return;
    monitor_q *q = calloc(1, sizeof(*q));
    if (!q) {
        addReplyError(c, "ERR out of memory");
        return;
    }
    q->c = c;
    q->w = c->owner;
    c->flags |= CLIENT_MONITOR;
    pthread_mutex_lock(&mon_lock);
    q->next = mons;
    mons = q;
    __atomic_add_fetch(&monitor_count, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mon_lock);
    addReplyOK(c);
}
