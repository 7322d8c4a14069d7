/*
 * dict.c — per-shard hash table with incremental rehash (see dict.h).
 *
 * Owns: the bucket arrays of one shard. Invariants: table[0] exists when
 * table[1] does; while rehashing (rehashidx != -1) buckets of table[0] below
 * rehashidx are empty and new entries go to table[1]; used[t] counts the
 * entries chained in table[t]. Resize: grow to 2x when entries >= buckets
 * (load factor 1), shrink when entries < buckets / 8; never both at once.
 * Called with the shard lock held, by keyspace.c / mvcc.c / expire.c.
 */
#include "engine/dict.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/siphash.h"
#include "common/xalloc.h"

uint64_t dict_hash(const uint8_t *hash_key, const void *key, size_t len) {
    return lt_siphash13(key, len, hash_key);
}

static inline uint64_t mask_of(const dict *d, int t) {
    return dict_buckets(d, t) - 1;
}

static inline uint64_t entry_hash(const dict *d, const ks_entry *e) {
    return dict_hash(d->hash_key, entry_keyp(e), e->klen);
}

void dict_init(dict *d, const uint8_t *hash_key) {
    memset(d, 0, sizeof(*d));
    d->exp[0] = d->exp[1] = -1;
    d->rehashidx = -1;
    d->hash_key = hash_key;
}

void dict_clear(dict *d, void (*free_fn)(void *ctx, ks_entry *e), void *ctx) {
    for (int t = 0; t < 2; t++) {
        uint64_t n = dict_buckets(d, t);
        /* Unbounded by design: the caller frees a whole table, outside the
         * shard lock where it matters (flush). */
        for (uint64_t i = 0; i < n && d->used[t]; i++) {
            ks_entry *e = d->table[t][i];
            while (e) {
                ks_entry *next = e->next;
                d->used[t]--;
                free_fn(ctx, e);
                e = next;
            }
        }
        ASSERT(d->used[t] == 0);
        free(d->table[t]);
    }
    const uint8_t *k = d->hash_key;
    uint32_t pause = d->pause;
    dict_init(d, k);
    d->pause = pause;
}

static int exp_for(uint64_t n) {
    int e = DICT_MIN_EXP;
    while (((uint64_t)1 << e) < n && e < 62) e++;
    return e;
}

static void resize_to(dict *d, uint64_t n) {
    ASSERT(!dict_is_rehashing(d));
    int e = exp_for(n);
    if (d->table[0] == NULL) {
        d->table[0] = lt_xcalloc((size_t)1 << e, sizeof(ks_entry *));
        d->exp[0] = (int8_t)e;
        return;
    }
    if (e == d->exp[0]) return;
    d->table[1] = lt_xcalloc((size_t)1 << e, sizeof(ks_entry *));
    d->exp[1] = (int8_t)e;
    d->used[1] = 0;
    d->rehashidx = 0;
}

static void rehash_finish_if_done(dict *d) {
    if (d->used[0] != 0) return;
    free(d->table[0]);
    d->table[0] = d->table[1];
    d->exp[0] = d->exp[1];
    d->used[0] = d->used[1];
    d->table[1] = NULL;
    d->exp[1] = -1;
    d->used[1] = 0;
    d->rehashidx = -1;
}

int dict_rehash(dict *d, unsigned n) {
    if (!dict_is_rehashing(d)) return 0;
    if (d->pause) return 1;
    unsigned empty_visits = n * 10;
    uint64_t size0 = dict_buckets(d, 0), mask1 = mask_of(d, 1);
    while (n-- && d->used[0] != 0) {
        ASSERT((uint64_t)d->rehashidx < size0);
        while (d->table[0][d->rehashidx] == NULL) {
            d->rehashidx++;
            if (--empty_visits == 0) return 1;
        }
        ks_entry *e = d->table[0][d->rehashidx];
        while (e) {
            ks_entry *next = e->next;
            uint64_t idx = entry_hash(d, e) & mask1;
            e->next = d->table[1][idx];
            d->table[1][idx] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->table[0][d->rehashidx] = NULL;
        d->rehashidx++;
    }
    /* The next step (this op's next one, or the next op's) hashes the
     * keys of the next bucket: start fetching its first entry now, so
     * growing a big table does not pay a cache miss per key moved. */
    if (d->used[0] != 0 && (uint64_t)d->rehashidx < size0 && d->table[0][d->rehashidx])
        __builtin_prefetch(d->table[0][d->rehashidx]);
    rehash_finish_if_done(d);
    return dict_is_rehashing(d);
}

ks_entry **dict_find(dict *d, uint64_t hash, const char *key, size_t klen,
                     int *table) {
    if (dict_size(d) == 0) return NULL;
    if (dict_is_rehashing(d)) dict_rehash(d, DICT_REHASH_STEPS_PER_OP);
    for (int t = 0; t <= 1; t++) {
        if (d->exp[t] < 0) break;
        uint64_t idx = hash & mask_of(d, t);
        if (t == 0 && dict_is_rehashing(d) && (int64_t)idx < d->rehashidx)
            continue; /* already moved */
        ks_entry **link = &d->table[t][idx];
        while (*link) {
            if (entry_key_eq(*link, key, klen)) {
                *table = t;
                return link;
            }
            link = &(*link)->next;
        }
        if (!dict_is_rehashing(d)) break;
    }
    return NULL;
}

void dict_add(dict *d, uint64_t hash, ks_entry *e) {
    if (dict_is_rehashing(d)) {
        dict_rehash(d, DICT_REHASH_STEPS_PER_OP);
    } else if (d->table[0] == NULL || dict_size(d) >= dict_buckets(d, 0)) {
        resize_to(d, dict_size(d) + 1);
    }
    int t = dict_is_rehashing(d) ? 1 : 0;
    uint64_t idx = hash & mask_of(d, t);
    e->next = d->table[t][idx];
    d->table[t][idx] = e;
    d->used[t]++;
}

void dict_unlink(dict *d, int table, ks_entry **link) {
    ASSERT(*link && d->used[table] > 0);
    ks_entry *e = *link;
    *link = e->next;
    e->next = NULL;
    d->used[table]--;
}

int dict_reserve(dict *d, uint64_t n) {
    if (dict_is_rehashing(d)) return 0;
    int e = exp_for(n);
    if (d->table[0] && e <= d->exp[0]) return 0;
    ks_entry **t = calloc((size_t)1 << e, sizeof(ks_entry *));
    if (!t) return -1;
    if (dict_size(d) == 0) { /* nothing to move */
        free(d->table[0]);
        d->table[0] = t;
        d->exp[0] = (int8_t)e;
        return 0;
    }
    d->table[1] = t;
    d->exp[1] = (int8_t)e;
    d->used[1] = 0;
    d->rehashidx = 0;
    return 0;
}

void dict_shrink_if_needed(dict *d) {
    if (dict_is_rehashing(d) || d->table[0] == NULL) return;
    uint64_t size = dict_buckets(d, 0);
    if (size > ((uint64_t)1 << DICT_MIN_EXP) && dict_size(d) * 8 < size)
        resize_to(d, dict_size(d));
}

static inline uint64_t rev(uint64_t v) {
    /* Bit reversal via byte swap + nibble/pair/bit swaps. */
    v = __builtin_bswap64(v);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    return v;
}

uint64_t dict_scan(dict *d, uint64_t v, dict_bucket_fn *fn, void *ctx) {
    if (dict_size(d) == 0) return 0;
    if (!dict_is_rehashing(d)) {
        uint64_t m0 = mask_of(d, 0);
        fn(ctx, d, 0, &d->table[0][v & m0]);
        v |= ~m0;
        v = rev(rev(v) + 1);
        return v;
    }
    /* Rehashing: visit the small table's bucket, then every bucket of the
     * large table that expands from it. Buckets already moved are empty. */
    int ts = 0, tl = 1;
    if (dict_buckets(d, 0) > dict_buckets(d, 1)) {
        ts = 1;
        tl = 0;
    }
    uint64_t m0 = mask_of(d, ts), m1 = mask_of(d, tl);
    fn(ctx, d, ts, &d->table[ts][v & m0]);
    do {
        fn(ctx, d, tl, &d->table[tl][v & m1]);
        v |= ~m1;
        v = rev(rev(v) + 1);
    } while (v & (m0 ^ m1));
    return v;
}

static ks_entry **random_in_chain(ks_entry **head) {
    uint64_t len = 0;
    for (ks_entry *e = *head; e; e = e->next) len++;
    uint64_t k = lt_random_below(len);
    ks_entry **link = head;
    while (k--) link = &(*link)->next;
    return link;
}

ks_entry **dict_random(dict *d, int *table) {
    if (dict_size(d) == 0) return NULL;
    uint64_t s0 = dict_buckets(d, 0), s1 = dict_buckets(d, 1);
    uint64_t lo = dict_is_rehashing(d) ? (uint64_t)d->rehashidx : 0;
    uint64_t span = s0 - lo + s1;
    for (int probe = 0; probe < 64; probe++) {
        uint64_t i = lo + lt_random_below(span);
        int t = i < s0 ? 0 : 1;
        ks_entry **head = t == 0 ? &d->table[0][i] : &d->table[1][i - s0];
        if (*head) {
            *table = t;
            return random_in_chain(head);
        }
    }
    /* Sparse table: walk from a random start; bounded by the table size. */
    uint64_t start = lt_random_below(span);
    for (uint64_t k = 0; k < span; k++) {
        uint64_t i = lo + (start + k) % span;
        int t = i < s0 ? 0 : 1;
        ks_entry **head = t == 0 ? &d->table[0][i] : &d->table[1][i - s0];
        if (*head) {
            *table = t;
            return random_in_chain(head);
        }
    }
    ASSERT_NOT_REACHED();
}

void dict_foreach_bucket(dict *d, dict_bucket_fn *fn, void *ctx) {
    for (int t = 0; t < 2; t++) {
        uint64_t n = dict_buckets(d, t);
        for (uint64_t i = 0; i < n; i++)
            if (d->table[t][i]) fn(ctx, d, t, &d->table[t][i]);
    }
}
