/*
 * objlimits.c — the process-wide encoding thresholds (see objlimits.h).
 * Each field is stored and loaded on its own with relaxed atomics: a
 * value type deciding an encoding needs a value that was set at some
 * point, not a consistent snapshot of all of them.
 */
#include "engine/objlimits.h"

static objlimits cur = OBJLIMITS_DEFAULTS;

#define LOAD(f) __atomic_load_n(&cur.f, __ATOMIC_RELAXED)
#define STORE(f, v) __atomic_store_n(&cur.f, (v), __ATOMIC_RELAXED)

void objlimits_set(const objlimits *l) {
    STORE(hash_max_listpack_entries, l->hash_max_listpack_entries);
    STORE(hash_max_listpack_value, l->hash_max_listpack_value);
    STORE(set_max_intset_entries, l->set_max_intset_entries);
    STORE(zset_max_listpack_entries, l->zset_max_listpack_entries);
    STORE(zset_max_listpack_value, l->zset_max_listpack_value);
    STORE(list_max_listpack_size, l->list_max_listpack_size);
    STORE(list_compress_depth, l->list_compress_depth);
}

int objlimits_set_packed_threshold(size_t bytes) {
    if (bytes > OBJLIMITS_PACKED_THRESHOLD_MAX) return -1;
    STORE(list_packed_threshold, bytes ? bytes : OBJLIMITS_PACKED_THRESHOLD);
    return 0;
}

void objlimits_get(objlimits *out) {
    out->hash_max_listpack_entries = LOAD(hash_max_listpack_entries);
    out->hash_max_listpack_value = LOAD(hash_max_listpack_value);
    out->set_max_intset_entries = LOAD(set_max_intset_entries);
    out->zset_max_listpack_entries = LOAD(zset_max_listpack_entries);
    out->zset_max_listpack_value = LOAD(zset_max_listpack_value);
    out->list_max_listpack_size = LOAD(list_max_listpack_size);
    out->list_compress_depth = LOAD(list_compress_depth);
    out->list_packed_threshold = LOAD(list_packed_threshold);
}

size_t objlimits_hash_entries(void) { return LOAD(hash_max_listpack_entries); }
size_t objlimits_hash_value(void) { return LOAD(hash_max_listpack_value); }
size_t objlimits_set_intset_entries(void) { return LOAD(set_max_intset_entries); }
size_t objlimits_zset_entries(void) { return LOAD(zset_max_listpack_entries); }
size_t objlimits_zset_value(void) { return LOAD(zset_max_listpack_value); }
int objlimits_list_size(void) { return LOAD(list_max_listpack_size); }
int objlimits_list_compress_depth(void) { return LOAD(list_compress_depth); }
size_t objlimits_list_packed_threshold(void) { return LOAD(list_packed_threshold); }
