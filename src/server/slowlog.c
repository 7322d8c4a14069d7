/*
 * slowlog: the slow log list and the SLOWLOG command (see slowlog.h).
 */
#include "server/slowlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/util.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/config.h"
#include "server/net/reply.h"
#include "server/server.h"

typedef struct slowlog_entry {
    struct slowlog_entry *prev, *next; /* next: older */
    uint64_t id;
    int64_t time;
    int64_t duration;
    int argc;
    resp_arg *argv;    /* inside this allocation */
    char *addr, *name; /* inside this allocation */
} slowlog_entry;

static pthread_mutex_t sl_lock = PTHREAD_MUTEX_INITIALIZER;
static slowlog_entry *sl_head, *sl_tail; /* newest, oldest (under sl_lock) */
static long sl_len;
static uint64_t sl_next_id;

int cmdlog_arg_redacted(const command *cmd, const resp_arg *argv, int argc, int i) {
    const command *top = cmd->parent ? cmd->parent : cmd;
    if (!strcmp(top->name, "auth")) return i >= 1;
    /* Redis redacts all of ACL SETUSER's arguments, even when it fails. */
    if (cmd->parent && !strcmp(top->name, "acl") && !strcmp(cmd->name, "setuser")) return i >= 2;
    if (!strcmp(top->name, "hello")) {
        for (int j = 2; j + 2 < argc; j++)
            if (arg_is(&argv[j], "auth")) return i == j + 1 || i == j + 2;
        return 0;
    }
    if (!strcmp(top->name, "migrate")) {
        /* Options follow the five fixed arguments; KEYS ends them. */
        for (int j = 6; j < argc; j++) {
            if (arg_is(&argv[j], "keys")) break;
            if (arg_is(&argv[j], "auth")) {
                if (i == j + 1) return 1;
                j++;
            } else if (arg_is(&argv[j], "auth2")) {
                if (i == j + 1 || i == j + 2) return 1;
                j += 2;
            }
        }
        return 0;
    }
    if (cmd->parent && !strcmp(cmd->parent->name, "config") && !strcmp(cmd->name, "set"))
        return i >= 3 && (i % 2) == 1 && config_is_sensitive(argv[i - 1].ptr, argv[i - 1].len);
    return 0;
}

static void trim_locked(long max) {
    while (sl_len > max && sl_tail) {
        slowlog_entry *e = sl_tail;
        sl_tail = e->prev;
        if (sl_tail) sl_tail->next = NULL;
        else sl_head = NULL;
        free(e);
        sl_len--;
    }
}

static const char redacted[] = "(redacted)";

void slowlog_push_if_needed(client *c, const command *cmd, const resp_arg *argv, int argc,
                            int64_t duration_us) {
    int threshold = __atomic_load_n(&server.slowlog_log_slower_than, __ATOMIC_RELAXED);
    if (threshold < 0 || duration_us < threshold || (cmd->flags & CMD_SKIP_SLOWLOG)) return;
    int n = argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC : argc;
    /* Size: each argument trimmed, plus room for the notes. */
    size_t bytes = sizeof(slowlog_entry) + sizeof(resp_arg) * (size_t)n;
    for (int i = 0; i < n; i++) bytes += (argv[i].len > SLOWLOG_ENTRY_MAX_STRING
                                              ? SLOWLOG_ENTRY_MAX_STRING : argv[i].len) + 48;
    pthread_mutex_lock(&server.clients_lock); /* c->name is written under it */
    const char *name = c->name ? c->name : "";
    size_t nlen = strlen(name), alen = strlen(c->addr);
    bytes += nlen + alen + 2;
    slowlog_entry *e = malloc(bytes);
    if (!e) {
        pthread_mutex_unlock(&server.clients_lock);
        return;
    }
    char *p = (char *)(e + 1) + sizeof(resp_arg) * (size_t)n;
    e->addr = p;
    memcpy(p, c->addr, alen + 1);
    p += alen + 1;
    e->name = p;
    memcpy(p, name, nlen + 1);
    p += nlen + 1;
    pthread_mutex_unlock(&server.clients_lock);
    e->argv = (resp_arg *)(e + 1);
    e->argc = n;
    for (int i = 0; i < n; i++) {
        char *start = p;
        if (n != argc && i == n - 1) {
            p += sprintf(p, "... (%d more arguments)", argc - n + 1);
        } else if (cmdlog_arg_redacted(cmd, argv, argc, i)) {
            memcpy(p, redacted, sizeof(redacted) - 1);
            p += sizeof(redacted) - 1;
        } else if (argv[i].len > SLOWLOG_ENTRY_MAX_STRING) {
            memcpy(p, argv[i].ptr, SLOWLOG_ENTRY_MAX_STRING);
            p += SLOWLOG_ENTRY_MAX_STRING;
            p += sprintf(p, "... (%lu more bytes)",
                         (unsigned long)(argv[i].len - SLOWLOG_ENTRY_MAX_STRING));
        } else {
            memcpy(p, argv[i].ptr, argv[i].len);
            p += argv[i].len;
        }
        e->argv[i].ptr = start;
        e->argv[i].len = (size_t)(p - start);
    }
    e->time = time(NULL);
    e->duration = duration_us;
    pthread_mutex_lock(&sl_lock);
    e->id = sl_next_id++;
    e->prev = NULL;
    e->next = sl_head;
    if (sl_head) sl_head->prev = e;
    else sl_tail = e;
    sl_head = e;
    sl_len++;
    trim_locked(__atomic_load_n(&server.slowlog_max_len, __ATOMIC_RELAXED));
    pthread_mutex_unlock(&sl_lock);
}

void slowlog_stats(long *len, long long *last_id) {
    pthread_mutex_lock(&sl_lock);
    *len = sl_len;
    *last_id = (long long)sl_next_id - 1;
    pthread_mutex_unlock(&sl_lock);
}

int64_t slowlog_last_duration_us(void) {
    pthread_mutex_lock(&sl_lock);
    int64_t d = sl_head ? sl_head->duration : 0;
    pthread_mutex_unlock(&sl_lock);
    return d;
}

void slowlog_apply_config(void) {
    pthread_mutex_lock(&sl_lock);
    trim_locked(server.slowlog_max_len);
    pthread_mutex_unlock(&sl_lock);
}

/* SLOWLOG GET [count]: newest first; count -1 = all. */
void slowlogGetCommand(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        addReplyErrorFormat(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                               "Try SLOWLOG HELP.",
                            (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr);
        return;
    }
    if (c->argc == 3 && (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1)) {
        addReplyError(c, "ERR count should be greater than or equal to -1");
        return;
    }
    if (count == -1) count = (long long)1 << 62;
    pthread_mutex_lock(&sl_lock);
    long long n = count < sl_len ? count : sl_len;
    addReplyArrayLen(c, n);
    slowlog_entry *e = sl_head;
    for (long long i = 0; i < n && e; i++, e = e->next) {
        addReplyArrayLen(c, 6);
        addReplyLongLong(c, (long long)e->id);
        addReplyLongLong(c, e->time);
        addReplyLongLong(c, e->duration);
        addReplyArrayLen(c, e->argc);
        for (int j = 0; j < e->argc; j++) addReplyBulk(c, e->argv[j].ptr, e->argv[j].len);
        addReplyBulkCString(c, e->addr);
        addReplyBulkCString(c, e->name);
    }
    pthread_mutex_unlock(&sl_lock);
}

void slowlogLenCommand(client *c) {
    pthread_mutex_lock(&sl_lock);
    long n = sl_len;
    pthread_mutex_unlock(&sl_lock);
    addReplyLongLong(c, n);
}

void slowlogResetCommand(client *c) {
    pthread_mutex_lock(&sl_lock);
    trim_locked(0);
    pthread_mutex_unlock(&sl_lock);
    addReplyOK(c);
}

void slowlogHelpCommand(client *c) {
    static const char *help[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        NULL,
    };
    addReplyHelp(c, help);
}
