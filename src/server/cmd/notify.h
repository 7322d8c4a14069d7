/*
 * notify: keyspace notifications — Redis's `notify-keyspace-events`
 * classes and the events commands emit on `__keyspace@<db>__:<key>` (the
 * event name as message) and `__keyevent@<db>__:<event>` (the key as
 * message), published through pubsub.c.
 *
 * Called by the command families (t_*.c, blocking.c, multi-key commands)
 * at the point Redis calls notifyKeyspaceEvent, inside their engine
 * transaction: a subscriber that reads the key after the event waits for
 * the shard lock, so it sees the write. Also from the engine's expired
 * hook (lazy and active expiry: "expired"). Costs one relaxed load when
 * notifications are off (the default).
 */
#ifndef LIGHTNING_NOTIFY_H
#define LIGHTNING_NOTIFY_H

#include <stddef.h>

#include "server/net/resp.h"

/* Event classes (Redis's NOTIFY_* bits and flag characters). */
#define NOTIFY_KEYSPACE (1 << 0) /* K */
#define NOTIFY_KEYEVENT (1 << 1) /* E */
#define NOTIFY_GENERIC  (1 << 2) /* g */
#define NOTIFY_STRING   (1 << 3) /* $ */
#define NOTIFY_LIST     (1 << 4) /* l */
#define NOTIFY_SET      (1 << 5) /* s */
#define NOTIFY_HASH     (1 << 6) /* h */
#define NOTIFY_ZSET     (1 << 7) /* z */
#define NOTIFY_EXPIRED  (1 << 8) /* x */
#define NOTIFY_EVICTED  (1 << 9) /* e */
#define NOTIFY_STREAM   (1 << 10) /* t */
#define NOTIFY_KEY_MISS (1 << 11) /* m (not in A) */
#define NOTIFY_LOADED   (1 << 12) /* module only, no character */
#define NOTIFY_MODULE   (1 << 13) /* d */
#define NOTIFY_NEW      (1 << 14) /* n (not in A) */
/* A: every class but m and n. */
#define NOTIFY_ALL                                                                          \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | \
     NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* The classes in force (server.notify_keyspace_events parsed). */
extern int notify_flags;
/* Clients with CLIENT TRACKING on (tracking.c): every write event also
 * invalidates the key for them. */
extern int tracking_clients;

/* Publishes event for key in db when its class is enabled. */
void notify_event_slow(int type, const char *event, const char *key, size_t klen, int dbid);
static inline void notify_event(int type, const char *event, const char *key, size_t klen,
                                int dbid) {
    if (__builtin_expect((__atomic_load_n(&notify_flags, __ATOMIC_RELAXED) & type) ||
                             __atomic_load_n(&tracking_clients, __ATOMIC_RELAXED),
                         0))
        notify_event_slow(type, event, key, klen, dbid);
}

/* The same for a key given as an argument. */
static inline void notify_key(int type, const char *event, const resp_arg *key, int dbid) {
    notify_event(type, event, key->ptr, key->len, dbid);
}

/* config.c: the flag string's normal form (Redis's CONFIG GET order: "A"
 * for every class of A, then K, E, m), malloc'd; NULL with *err set when a
 * character is not a class. */
char *notify_normalize(const char *s, size_t len, const char **err);
/* config.c: after notify-keyspace-events changed (server field). */
void notify_apply_config(void);

#endif
