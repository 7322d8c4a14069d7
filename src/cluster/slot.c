/*
 * slot.c — key to hash slot (see slot.h).
 */
#include "cluster/slot.h"

#include "common/crc16.h"
#include "common/util.h"

unsigned cluster_key_slot(const char *key, size_t klen) {
    size_t s, e;
    for (s = 0; s < klen; s++)
        if (key[s] == '{') break;
    if (s == klen) return crc16(key, klen) & (CLUSTER_SLOTS - 1);
    for (e = s + 1; e < klen; e++)
        if (key[e] == '}') break;
    /* No '}' or nothing between "{}": the whole key is hashed. */
    if (e == klen || e == s + 1) return crc16(key, klen) & (CLUSTER_SLOTS - 1);
    return crc16(key + s + 1, e - s - 1) & (CLUSTER_SLOTS - 1);
}

int cluster_parse_slot(const char *s, size_t len) {
    long long v;
    if (!lt_string2ll(s, len, &v)) return -2;
    if (v < 0 || v >= CLUSTER_SLOTS) return -1;
    return (int)v;
}
