/*
 * notify: keyspace notifications (see notify.h). The flag string lives in
 * server.notify_keyspace_events (config.c keeps it in its normal form);
 * notify_flags is its parsed value, read with a relaxed load on every
 * event a command could emit.
 */
#include "server/cmd/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/cmd/pubsub.h"
#include "server/cmd/tracking.h"
#include "server/server.h"

int notify_flags;

static const struct {
    char ch;
    int flag;
} classes[] = {
    {'A', NOTIFY_ALL},     {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING},  {'l', NOTIFY_LIST},
    {'s', NOTIFY_SET},     {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},    {'x', NOTIFY_EXPIRED},
    {'e', NOTIFY_EVICTED}, {'t', NOTIFY_STREAM},  {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},
    {'K', NOTIFY_KEYSPACE}, {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};

/* Redis's keyspaceEventsStringToFlags: -1 on an unknown character. */
static int parse_flags(const char *s, size_t len) {
    int flags = 0;
    for (size_t i = 0; i < len; i++) {
        size_t k = 0;
        while (k < sizeof(classes) / sizeof(classes[0]) && classes[k].ch != s[i]) k++;
        if (k == sizeof(classes) / sizeof(classes[0])) return -1;
        flags |= classes[k].flag;
    }
    return flags;
}

char *notify_normalize(const char *s, size_t len, const char **err) {
    int flags = parse_flags(s, len);
    if (flags < 0) {
        *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        return NULL;
    }
    char out[32];
    size_t n = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        out[n++] = 'A';
    } else {
        /* Redis's keyspaceEventsFlagsToString order. */
        static const char order[] = "g$lshzxetdn";
        for (const char *p = order; *p; p++)
            if (flags & parse_flags(p, 1)) out[n++] = *p;
    }
    if (flags & NOTIFY_KEYSPACE) out[n++] = 'K';
    if (flags & NOTIFY_KEYEVENT) out[n++] = 'E';
    if (flags & NOTIFY_KEY_MISS) out[n++] = 'm';
    out[n] = '\0';
    char *r = malloc(n + 1);
    if (!r) abort();
    memcpy(r, out, n + 1);
    return r;
}

void notify_apply_config(void) {
    const char *s = server.notify_keyspace_events ? server.notify_keyspace_events : "";
    int flags = parse_flags(s, strlen(s));
    __atomic_store_n(&notify_flags, flags < 0 ? 0 : flags, __ATOMIC_RELAXED);
}

void notify_event_slow(int type, const char *event, const char *key, size_t klen, int dbid) {
    /* Every write event is a modification client-side caches must drop. */
    if (__atomic_load_n(&tracking_clients, __ATOMIC_RELAXED)) tracking_invalidate_key(key, klen);
    int flags = __atomic_load_n(&notify_flags, __ATOMIC_RELAXED);
    if (!(flags & type) || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return;
    size_t elen = strlen(event);
    /* "__keyspace@" db "__:" then the key or the event. */
    size_t tail = klen > elen ? klen : elen;
    char stack[256];
    size_t cap = 11 + LT_LLSTR_SIZE + 3 + tail;
    char *chan = cap <= sizeof(stack) ? stack : malloc(cap);
    if (!chan) abort();
    if (flags & NOTIFY_KEYSPACE) {
        int n = snprintf(chan, cap, "__keyspace@%d__:", dbid);
        memcpy(chan + n, key, klen);
        pubsub_publish(0, chan, (size_t)n + klen, event, elen);
    }
    if (flags & NOTIFY_KEYEVENT) {
        int n = snprintf(chan, cap, "__keyevent@%d__:", dbid);
        memcpy(chan + n, event, elen);
        pubsub_publish(0, chan, (size_t)n + elen, key, klen);
    }
    if (chan != stack) free(chan);
}
