/*
 * The replication backlog and the PSYNC decision (src/repl/backlog.c),
 * first by hand, then as a deterministic seeded simulation of the state
 * machine: a master producing a stream of records, replicas reading at
 * their own pace, links dropping, replicas reconnecting with PSYNC
 * (continue or full resync), promotions that shift the replication id
 * (PSYNC2: replid2 valid up to second_off). Invariants checked at every
 * step:
 *   - every byte a replica reads is the byte of the master's stream at that
 *     offset (offsets are byte counts, Redis's offset arithmetic: PSYNC asks
 *     for offset + 1);
 *   - PSYNC continues exactly when the id matches (or is replid2 with an
 *     offset not past second_off) and the offset is within [start, end] of
 *     what the backlog holds;
 *   - the backlog holds [start, end) contiguously, keeps at least `size`
 *     bytes of history once that much was produced, never more than
 *     size + hard_limit + one chunk, and a cursor is either in range or
 *     dropped.
 * REPL_SIM_SEED=n replays one seed; the seed is printed on failure.
 */
#include "../testlib.h"

#include <stdlib.h>

#include "repl/backlog.h"

/* Byte i of the master's stream. */
static unsigned char stream_byte(uint64_t i) {
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (unsigned char)(x * 0xBF58476D1CE4E5B9ull >> 56);
}

static void append_stream(backlog *b, uint64_t n) {
    static unsigned char buf[70000];
    while (n > 0) {
        size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
        for (size_t i = 0; i < k; i++) buf[i] = stream_byte(b->end + i);
        if (backlog_append(b, buf, k) != 0) abort();
        n -= k;
    }
}

TEST(append_read_trim) {
    backlog b;
    backlog_init(&b, 1000, 100000, 50000);
    CHECK(b.start == 1000 && b.end == 1000);
    append_stream(&b, 10);
    char out[16];
    CHECK(backlog_read(&b, 1000, out, sizeof(out)) == 10);
    CHECK((unsigned char)out[3] == stream_byte(1003));
    CHECK(backlog_read(&b, 1010, out, sizeof(out)) == 0);
    CHECK(backlog_read(&b, 999, out, sizeof(out)) == 0);
    /* Grows to many chunks: history kept >= size, bounded above. */
    append_stream(&b, 1000000);
    CHECK(b.end == 1000 + 10 + 1000000);
    CHECK(b.end - b.start >= 100000);
    CHECK(b.end - b.start <= 100000 + BACKLOG_CHUNK);
    /* A read across chunk boundaries. */
    static char big[200000];
    uint64_t from = b.start + 7;
    size_t n = backlog_read(&b, from, big, sizeof(big));
    CHECK(n == b.end - from);
    int same = 1;
    for (size_t i = 0; i < n; i++) same &= (unsigned char)big[i] == stream_byte(from + i);
    CHECK(same);
    backlog_free(&b);
}

TEST(cursor_pins_until_hard_limit) {
    backlog b;
    backlog_init(&b, 0, 65536, 3 * 65536);
    int s = backlog_cursor_add(&b, 0);
    CHECK(s >= 0);
    append_stream(&b, 4 * 65536);
    CHECK(b.start == 0); /* pinned: the replica has read nothing */
    CHECK(b.cursor[s] == 0);
    append_stream(&b, 4 * 65536);
    CHECK(b.cursor[s] == BACKLOG_DROPPED); /* over size + hard limit */
    CHECK(b.end - b.start <= 65536 + 3 * 65536 + BACKLOG_CHUNK);
    CHECK(backlog_cursor_add(&b, b.start - 1) == -1);
    CHECK(backlog_cursor_add(&b, b.end + 1) == -1);
    int t = backlog_cursor_add(&b, b.end);
    CHECK(t >= 0);
    backlog_cursor_del(&b, t);
    backlog_cursor_del(&b, s);
    backlog_reset(&b, 5);
    CHECK(b.start == 5 && b.end == 5 && b.head == NULL);
    backlog_free(&b);
}

TEST(psync_decisions) {
    backlog b;
    backlog_init(&b, 100, 1000, 0);
    append_stream(&b, 50); /* holds [100, 150): Redis offsets 101..150 */
    const char *A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const char *Z = "0000000000000000000000000000000000000000";
    const char *why;
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, A, 101, &why) == 1);
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, A, 151, &why) == 1); /* nothing missing */
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, A, 152, &why) == 0);
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, A, 100, &why) == 0);
    CHECK(backlog_psync_may_continue(&b, 0, A, Z, -1, A, 120, &why) == 0);
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, B, 120, &why) == 0);
    CHECK(backlog_psync_may_continue(&b, 1, A, Z, -1, "?", -1, &why) == 0);
    /* After a promotion: B is the new id, A valid up to offset 131. */
    CHECK(backlog_psync_may_continue(&b, 1, B, A, 131, A, 131, &why) == 1);
    CHECK(backlog_psync_may_continue(&b, 1, B, A, 131, A, 132, &why) == 0);
    CHECK(backlog_psync_may_continue(&b, 1, B, A, 131, B, 140, &why) == 1);
    backlog_free(&b);
}

/* ---- Seeded simulation ---------------------------------------------------------- */

#define SIM_REPLICAS 4

typedef struct sim_replica {
    int connected;
    int slot;
    char id[41];      /* the master id it follows */
    uint64_t off;     /* stream bytes it has (Redis: its offset) */
    int fulls, partials;
} sim_replica;

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void new_id(char out[41]) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; i++) out[i] = hex[rnd() % 16];
    out[40] = '\0';
}

/* One run; returns 0, or the step that broke an invariant. */
static int simulate(uint64_t seed, int steps, int *fulls, int *partials) {
    rng_state = seed * 2654435761u + 1;
    backlog b;
    uint64_t size = 20000 + rnd() % 200000, hard = rnd() % 300000;
    backlog_init(&b, 0, size, hard);
    char id[41], id2[41];
    new_id(id);
    memset(id2, '0', 40);
    id2[40] = '\0';
    int64_t second_off = -1;
    sim_replica r[SIM_REPLICAS];
    memset(r, 0, sizeof(r));
    static char buf[100000];
    for (int step = 1; step <= steps; step++) {
        int ev = (int)(rnd() % 100);
        if (ev < 45) {
            append_stream(&b, 1 + rnd() % 30000);
        } else if (ev < 80) {
            int i = (int)(rnd() % SIM_REPLICAS);
            if (!r[i].connected) continue;
            if (b.cursor[r[i].slot] == BACKLOG_DROPPED) {
                /* Fell behind: disconnected, as the master's producer does. */
                backlog_cursor_del(&b, r[i].slot);
                r[i].connected = 0;
                continue;
            }
            uint64_t at = b.cursor[r[i].slot];
            if (at != r[i].off) return step; /* cursor and replica disagree */
            size_t want = (size_t)(1 + rnd() % sizeof(buf));
            size_t n = backlog_read(&b, at, buf, want);
            for (size_t k = 0; k < n; k++)
                if ((unsigned char)buf[k] != stream_byte(at + k)) return step;
            b.cursor[r[i].slot] = at + n;
            r[i].off = at + n;
        } else if (ev < 90) {
            int i = (int)(rnd() % SIM_REPLICAS);
            if (r[i].connected) { /* link drop */
                backlog_cursor_del(&b, r[i].slot);
                r[i].connected = 0;
            }
        } else if (ev < 98) {
            int i = (int)(rnd() % SIM_REPLICAS);
            if (r[i].connected) continue;
            /* PSYNC <id> <off + 1> (or ? -1 the first time). */
            int first = r[i].id[0] == '\0';
            const char *why;
            int64_t req = first ? -1 : (int64_t)r[i].off + 1;
            int cont = backlog_psync_may_continue(&b, 1, id, id2, second_off,
                                                  first ? "?" : r[i].id, req, &why);
            /* The model: same history and bytes still held. */
            int same_history = !first && (strcmp(r[i].id, id) == 0 ||
                                          (strcmp(r[i].id, id2) == 0 && req <= second_off));
            int in_range = !first && r[i].off >= b.start && r[i].off <= b.end;
            if (cont != (same_history && in_range)) return step;
            if (cont) {
                r[i].slot = backlog_cursor_add(&b, r[i].off);
                if (r[i].slot < 0) return step;
                memcpy(r[i].id, id, 41);
                r[i].partials++;
            } else {
                r[i].slot = backlog_cursor_add(&b, b.end);
                if (r[i].slot < 0) return step;
                r[i].off = b.end; /* the payload covers everything before */
                memcpy(r[i].id, id, 41);
                r[i].fulls++;
            }
            r[i].connected = 1;
        } else {
            /* Failover: the master gets a new id; the old one stays valid up
             * to here (replid2, second_off = offset + 1). */
            memcpy(id2, id, 41);
            second_off = (int64_t)b.end + 1;
            new_id(id);
        }
        /* Invariants of the backlog. */
        uint64_t held = 0;
        uint64_t expect = b.start;
        for (backlog_chunk *c = b.head; c; c = c->next) {
            if (c->start != expect) return step;
            expect += c->used;
            held += c->used;
        }
        if (expect != b.end || held != b.end - b.start) return step;
        if (b.end >= size && b.end - b.start < size) return step;
        if (b.end - b.start > size + hard + BACKLOG_CHUNK) return step;
        for (int i = 0; i < SIM_REPLICAS; i++) {
            if (!r[i].connected) continue;
            uint64_t cur = b.cursor[r[i].slot];
            if (cur != BACKLOG_DROPPED && (cur < b.start || cur > b.end)) return step;
        }
    }
    for (int i = 0; i < SIM_REPLICAS; i++) {
        *fulls += r[i].fulls;
        *partials += r[i].partials;
    }
    backlog_free(&b);
    return 0;
}

TEST(seeded_simulation) {
    const char *env = getenv("REPL_SIM_SEED");
    uint64_t first = env ? strtoull(env, NULL, 10) : 1;
    int seeds = env ? 1 : 60;
    int fulls = 0, partials = 0;
    for (int s = 0; s < seeds; s++) {
        uint64_t seed = first + (uint64_t)s;
        int bad = simulate(seed, 2000, &fulls, &partials);
        if (bad) {
            testlib_fail(__FILE__, __LINE__, "invariant broken at step %d (REPL_SIM_SEED=%llu)",
                         bad, (unsigned long long)seed);
            return;
        }
    }
    /* Both kinds of resync happened (the run explored the state space). */
    CHECK(fulls > 0 && partials > 0);
}

int main(void) {
    RUN(append_read_trim);
    RUN(cursor_pins_until_hard_limit);
    RUN(psync_decisions);
    RUN(seeded_simulation);
    return testlib_finish();
}
