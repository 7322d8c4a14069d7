/*
 * objlimits.h — the run-time encoding thresholds of the value types
 * (Redis's hash-max-listpack-*, set-max-intset-entries,
 * zset-max-listpack-*, list-max-listpack-size, list-compress-depth).
 *
 * Owns: one process-wide set of limits. The value types (hashobj, setobj,
 * zsetobj, listobj) read them whenever they decide an encoding: a write
 * that breaks a compact encoding's limit converts the value (as Redis
 * does), and decoding a snapshot or a restored value picks the encoding
 * from the content under the limits current at that moment (as Redis's RDB
 * loading does). A changed limit therefore acts on the next write to a key,
 * never on keys nobody touches, exactly like Redis.
 *
 * Threading: objlimits_set may run at any time on any thread (the server
 * calls it after loading its configuration and on CONFIG SET); readers on
 * other threads see each field's old or new value (relaxed atomics per
 * field). A reader that needs two fields to agree reads each once.
 * The engine never includes server headers: the server copies its
 * configuration in through objlimits_set.
 */
#ifndef LT_ENGINE_OBJLIMITS_H
#define LT_ENGINE_OBJLIMITS_H

#include <stddef.h>

typedef struct objlimits {
    size_t hash_max_listpack_entries; /* Redis default 512 */
    size_t hash_max_listpack_value;   /* bytes, default 64 */
    size_t set_max_intset_entries;    /* default 512 */
    size_t zset_max_listpack_entries; /* default 128 */
    size_t zset_max_listpack_value;   /* bytes, default 64 */
    int list_max_listpack_size;       /* > 0: entries per node; -1..-5: 4..64 KiB; default -2 */
    int list_compress_depth;          /* nodes left raw at each end; 0 = off */
    size_t list_packed_threshold;     /* larger elements get a node of their own
                                         (DEBUG QUICKLIST-PACKED-THRESHOLD) */
} objlimits;

/* Redis 7.0.15's built-in defaults (what the limits are until set). */
#define OBJLIMITS_DEFAULTS                                                             \
    {                                                                                  \
        .hash_max_listpack_entries = 512, .hash_max_listpack_value = 64,               \
        .set_max_intset_entries = 512, .zset_max_listpack_entries = 128,               \
        .zset_max_listpack_value = 64, .list_max_listpack_size = -2,                   \
        .list_compress_depth = 0, .list_packed_threshold = OBJLIMITS_PACKED_THRESHOLD  \
    }

/* Quicklist's default packed_threshold (1 GiB) and its largest (4 GiB -
 * 1 MiB). */
#define OBJLIMITS_PACKED_THRESHOLD ((size_t)1 << 30)
#define OBJLIMITS_PACKED_THRESHOLD_MAX (((size_t)1 << 32) - ((size_t)1 << 20))

/* A compact (listpack) value never grows past this many bytes: Redis's
 * LISTPACK_MAX_SAFETY_SIZE; a write that would pass it converts. */
#define OBJLIMITS_LISTPACK_MAX_BYTES ((size_t)1 << 30)

/* Replaces every limit but list_packed_threshold (kept as it is). */
void objlimits_set(const objlimits *l);
/* Copies the current limits into *out. */
void objlimits_get(objlimits *out);

/* One field each (relaxed atomic loads). */
size_t objlimits_hash_entries(void);
size_t objlimits_hash_value(void);
size_t objlimits_set_intset_entries(void);
size_t objlimits_zset_entries(void);
size_t objlimits_zset_value(void);
int objlimits_list_size(void);
int objlimits_list_compress_depth(void);
size_t objlimits_list_packed_threshold(void);
/* Sets only list_packed_threshold (DEBUG QUICKLIST-PACKED-THRESHOLD, which
 * no config directive owns): 0 restores the default. Returns 0, or -1 when
 * bytes is above OBJLIMITS_PACKED_THRESHOLD_MAX (nothing changed). */
int objlimits_set_packed_threshold(size_t bytes);

#endif
