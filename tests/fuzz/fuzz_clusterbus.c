/*
 * libFuzzer target for the cluster bus: the message decoder (cbus_decode,
 * src/cluster/bus.c) and the state machine that acts on decoded messages
 * (cl_process, src/cluster/state.c), both fed bytes a peer controls.
 *
 * Each input is tried as given, then with its signature and totlen fixed
 * up (so it passes framing and reaches the type rules), and, when it
 * decodes, processed by one long-lived node (on a fresh inbound link) that
 * knows a few nodes and owns slots, so gossip, epochs, FAIL, UPDATE and
 * the handshake paths all run. Checks: no crash or sanitizer report; a
 * valid message's gossip and extensions lie inside the input, and so do
 * the channel and payload of a PUBLISH / PUBLISHSHARD handed on for
 * delivery (only from a known sender); re-encoding
 * a decoded FAIL/UPDATE gives the same bytes; the state's invariants
 * (slots[] agrees with the bitmaps, myself present with one role, a
 * replica naming its master, the manual failover's replica alive) hold
 * after each input. Votes, MFSTART and the election (failover.c) run from
 * the same messages (myself turns replica when an UPDATE takes its slots).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/bus.h"
#include "cluster/state.h"
#include "common/assert.h"

static int64_t clock_ms = 1700000000000;
static uint64_t rng = 88172645463325252ull;

static int64_t f_now(void *ctx) {
    (void)ctx;
    return clock_ms;
}
static uint64_t f_random(void *ctx) {
    (void)ctx;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int f_connect(void *ctx, cl_link *l, const char *ip, int cport) {
    (void)ctx;
    (void)l;
    (void)ip;
    (void)cport;
    return -1;
}
static void f_send(void *ctx, cl_link *l, const unsigned char *buf, size_t len) {
    (void)ctx;
    (void)l;
    /* What we send must decode. */
    cbus_msg m;
    ASSERT(cbus_decode(buf, len, &m) == CBUS_DECODE_OK);
}
static void f_close(void *ctx, cl_link *l) {
    (void)ctx;
    l->io = NULL;
}
static void f_local_ip(void *ctx, cl_link *l, char *out, size_t cap) {
    (void)ctx;
    (void)l;
    strncpy(out, "127.0.0.1", cap - 1);
    out[cap - 1] = '\0';
}
static uint64_t f_count(void *ctx, unsigned slot) {
    (void)ctx;
    return slot % 3 == 0;
}
static void f_delete(void *ctx, unsigned slot) {
    (void)ctx;
    (void)slot;
}

/* The input being processed: what a delivered PUBLISH points into. */
static const uint8_t *cur_data;
static size_t cur_size;
static uint64_t published;

static void f_publish(void *ctx, int shard, const unsigned char *channel, size_t clen,
                      const unsigned char *msg, size_t mlen) {
    (void)ctx;
    (void)shard;
    ASSERT(channel >= cur_data + CBUS_HDR_LEN + 8 && channel + clen <= cur_data + cur_size);
    ASSERT(msg == channel + clen && msg + mlen == cur_data + cur_size);
    published++;
}

static cl_state *st;

static void setup(void) {
    cl_io io = {.connect = f_connect, .send = f_send, .close = f_close, .local_ip = f_local_ip,
                .now_ms = f_now, .random = f_random, .count_slot_keys = f_count,
                .delete_slot_keys = f_delete, .publish = f_publish};
    cl_settings set = {.node_timeout_ms = 15000, .require_full_coverage = 1, .port = 7000,
                       .cport = 17000};
    st = cl_state_new(&io, &set);
    for (int i = 0; i < 4; i++) {
        char name[CBUS_NAMELEN];
        memset(name, 'a' + i, CBUS_NAMELEN);
        cl_node *n = cl_node_new(st, name, CNODE_MASTER);
        strcpy(n->ip, "127.0.0.1");
        n->port = 7001 + i;
        n->cport = 17001 + i;
        n->config_epoch = (uint64_t)i + 1;
        cl_node_add(st, n);
        for (unsigned s = (unsigned)i * 4096; s < (unsigned)(i + 1) * 4096; s += 2)
            cl_add_slot(st, n, s);
    }
    for (unsigned s = 1; s < CLUSTER_SLOTS; s += 2) cl_add_slot(st, st->myself, s);
}

static void check_state(void) {
    ASSERT(st->myself && (st->myself->flags & CNODE_MYSELF));
    int found = 0, assigned = 0, counted = 0;
    for (int i = 0; i < st->nnodes; i++) {
        if (st->nodes[i] == st->myself) found = 1;
        counted += st->nodes[i]->numslots;
    }
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (!st->slots[s]) continue;
        ASSERT(slot_bitmap_test(st->slots[s]->slots, s));
        assigned++;
    }
    ASSERT(found && assigned == counted);
    /* Exactly one role; a replica names its master; a manual failover's
     * replica is a live node. */
    static const char zero[CBUS_NAMELEN];
    int fl = st->myself->flags;
    ASSERT(!(fl & CNODE_MASTER) != !(fl & CNODE_SLAVE));
    if (fl & CNODE_SLAVE) ASSERT(memcmp(st->myself->slaveof, zero, CBUS_NAMELEN) != 0);
    if (st->fo.mf_replica) {
        int live = 0;
        for (int i = 0; i < st->nnodes; i++) live |= st->nodes[i] == st->fo.mf_replica;
        ASSERT(live);
    }
}

static void try_decode(const uint8_t *data, size_t size, int process) {
    cbus_msg m;
    int rc = cbus_decode(data, size, &m);
    ASSERT(rc == CBUS_DECODE_OK || rc == CBUS_DECODE_IGNORE || rc == CBUS_DECODE_BAD);
    if (rc != CBUS_DECODE_OK) return;
    if (m.type == CBUS_PING || m.type == CBUS_PONG || m.type == CBUS_MEET) {
        ASSERT(m.gossip + (size_t)m.count * CBUS_GOSSIP_LEN <= data + size);
        for (unsigned i = 0; i < m.count; i++) {
            cbus_gossip g;
            cbus_gossip_at(&m, i, &g);
            ASSERT(strlen(g.ip) <= CBUS_IPLEN);
        }
        size_t off = 0, dl;
        unsigned type;
        const unsigned char *d;
        while (cbus_ext_next(&m, &off, &type, &d, &dl)) ASSERT(d + dl <= data + size);
        if (m.hostname) ASSERT(strlen(m.hostname) <= CBUS_HOSTNAME_MAX);
    } else if (m.type == CBUS_FAIL || m.type == CBUS_UPDATE) {
        unsigned char *out = malloc(size);
        ASSERT(cbus_encode(&m, out, size) == size);
        /* The header's reserved bytes are not kept: compare the rest. */
        ASSERT(!memcmp(out + CBUS_HDR_LEN, data + CBUS_HDR_LEN, size - CBUS_HDR_LEN));
        free(out);
    }
    if (!process) return;
    cur_data = data;
    cur_size = size;
    cl_link *l = cl_link_accepted(st, (void *)1, "127.0.0.9");
    /* -1: the state closed and freed the link itself. */
    if (cl_process(st, l, data, size) == 0) cl_link_closed(st, l);
    clock_ms += 1000;
    if ((rng & 7) == 0) cl_cron(st);
    check_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!st) setup();
    if (size >= 8) (void)cbus_frame_len(data);
    try_decode(data, size, 0);
    if (size < CBUS_HDR_LEN || size > CBUS_MAX_MSG) return 0;
    uint8_t *fixed = malloc(size);
    memcpy(fixed, data, size);
    memcpy(fixed, "RCmb", 4);
    fixed[4] = (uint8_t)(size >> 24);
    fixed[5] = (uint8_t)(size >> 16);
    fixed[6] = (uint8_t)(size >> 8);
    fixed[7] = (uint8_t)size;
    fixed[8] = 0;
    fixed[9] = 1;
    try_decode(fixed, size, 1);
    free(fixed);
    return 0;
}
