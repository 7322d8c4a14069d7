/*
 * slot.h — Redis Cluster hash slots: which of the 16384 slots a key belongs
 * to (CRC16 of the key, or of its hash tag), and the slot-range arguments
 * the CLUSTER commands take. Pure functions, no state: used by the command
 * layer (redirections, CLUSTER KEYSLOT), the engine's slot mode (through
 * ks_set_slot_fn) and the bus.
 */
#ifndef LT_CLUSTER_SLOT_H
#define LT_CLUSTER_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_SLOTS 16384

/* Redis's keyHashSlot: if the key holds a '{' followed later by a '}' with
 * at least one byte between them, only the bytes between the first '{' and
 * the first '}' after it are hashed; otherwise the whole key. Result <
 * CLUSTER_SLOTS. */
unsigned cluster_key_slot(const char *key, size_t klen);

/* Parses a slot number as CLUSTER ADDSLOTS & co. do (getSlotOrReply): a
 * Redis integer in [0, 16383]. Returns the slot, -2 when not an integer
 * ("value is not an integer or out of range"), -1 when out of range
 * ("Invalid or out of range slot"). */
int cluster_parse_slot(const char *s, size_t len);

/* Slot bitmaps as the bus and nodes carry them: bit (slot & 7) of byte
 * slot / 8. */
static inline int slot_bitmap_test(const unsigned char *bm, unsigned slot) {
    return (bm[slot >> 3] >> (slot & 7)) & 1;
}
static inline void slot_bitmap_set(unsigned char *bm, unsigned slot) {
    bm[slot >> 3] |= (unsigned char)(1u << (slot & 7));
}
static inline void slot_bitmap_clear(unsigned char *bm, unsigned slot) {
    bm[slot >> 3] &= (unsigned char)~(1u << (slot & 7));
}

#endif
