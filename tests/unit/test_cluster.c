/* Unit tests of src/cluster without a network: key slots (values from Redis
 * 7.0.15's CLUSTER KEYSLOT), the bus codec (round trips, Redis's layout
 * offsets, every malformed length rejected), nodes.conf text round trips,
 * and the engine's slot mode (per-slot counts and key enumeration). The
 * seeded simulation of the bus logic is test_cluster_sim.c. */
#include "../testlib.h"

#include <stdlib.h>
#include <unistd.h>

#include "cluster/bus.h"
#include "cluster/nodesconf.h"
#include "cluster/slot.h"
#include "cluster/state.h"
#include "common/crc16.h"
#include "engine/keyspace.h"
#include "engine/txn.h"
#include "lightning.h"

TEST(key_slots_match_redis) {
    static const struct {
        const char *k;
        unsigned slot;
    } v[] = {
        {"foo", 12182}, {"123456789", 12739}, {"", 0},       {"{}", 15257},
        {"{}{a}", 13650}, {"a{", 14311},      {"}{a}", 15495}, {"{a}b", 15495},
        {"x{a}y{b}", 15495}, {"{user1000}.following", 3443}, {"{{a}}", 10276},
        {"a{b}}", 3300}, {"{ab", 7174},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        CHECK_EQ_INT(cluster_key_slot(v[i].k, strlen(v[i].k)), v[i].slot);
    CHECK_EQ_INT(crc16("123456789", 9), 0x31c3);
    /* Binary keys: a NUL inside a tag is hashed like any byte. */
    CHECK_EQ_INT(cluster_key_slot("a{\0b}c", 6), crc16("\0b", 2) & 16383);
}

TEST(parse_slot) {
    CHECK_EQ_INT(cluster_parse_slot("0", 1), 0);
    CHECK_EQ_INT(cluster_parse_slot("16383", 5), 16383);
    CHECK_EQ_INT(cluster_parse_slot("16384", 5), -1);
    CHECK_EQ_INT(cluster_parse_slot("-1", 2), -1);
    CHECK_EQ_INT(cluster_parse_slot("abc", 3), -2);
    CHECK_EQ_INT(cluster_parse_slot("", 0), -2);
}

static size_t encode(const cbus_msg *m, unsigned char **out) {
    size_t len = cbus_encoded_len(m);
    *out = malloc(len);
    return cbus_encode(m, *out, len);
}

TEST(bus_layout_and_round_trip) {
    cbus_msg m;
    memset(&m, 0, sizeof(m));
    m.type = CBUS_PING;
    m.port = 7000;
    m.cport = 17000;
    m.flags = CNODE_MASTER | CNODE_MYSELF;
    m.current_epoch = 0x0102030405060708ull;
    m.config_epoch = 9;
    memset(m.sender, 'a', CBUS_NAMELEN);
    slot_bitmap_set(m.myslots, 0);
    slot_bitmap_set(m.myslots, 16383);
    strcpy(m.myip, "10.0.0.1");
    cbus_gossip g[2];
    memset(g, 0, sizeof(g));
    memset(g[0].name, 'b', CBUS_NAMELEN);
    strcpy(g[0].ip, "127.0.0.1");
    g[0].port = 7001;
    g[0].cport = 17001;
    g[0].flags = CNODE_MASTER;
    g[0].pong_received = 123456;
    memset(g[1].name, 'c', CBUS_NAMELEN);
    strcpy(g[1].ip, "::1");
    g[1].flags = CNODE_PFAIL | CNODE_MASTER;
    m.count = 2;
    m.gossip_in = g;
    m.hostname = "host-1";
    cbus_forgotten f = {.ttl_s = 42};
    memset(f.name, 'd', CBUS_NAMELEN);
    m.forgotten = &f;
    m.nforgotten = 1;
    unsigned char *buf;
    size_t len = encode(&m, &buf);
    /* 2256 + 2 * 104 + hostname (8 + 8) + forgotten (8 + 48) */
    CHECK_EQ_INT(len, 2256 + 208 + 16 + 56);
    CHECK(!memcmp(buf, "RCmb", 4));
    CHECK_EQ_INT(buf[7], len & 0xff);
    CHECK_EQ_INT(buf[9], 1);                 /* version */
    CHECK_EQ_INT((buf[10] << 8) | buf[11], 7000);
    CHECK_EQ_INT(buf[16], 1);                /* currentEpoch big-endian */
    CHECK_EQ_INT(buf[23], 8);
    CHECK_EQ_INT(buf[40], 'a');              /* sender */
    CHECK_EQ_INT(buf[80], 1);                /* slot 0 */
    CHECK_EQ_INT(buf[80 + 2047], 0x80);      /* slot 16383 */
    CHECK(!strcmp((char *)buf + 2168, "10.0.0.1"));
    CHECK_EQ_INT((buf[2248] << 8) | buf[2249], 17000);
    CHECK_EQ_INT(buf[2253] & CBUS_MFLAG0_EXT_DATA, CBUS_MFLAG0_EXT_DATA);
    CHECK_EQ_INT(buf[2215], 2);              /* extensions */
    cbus_msg d;
    REQUIRE(cbus_decode(buf, len, &d) == CBUS_DECODE_OK);
    CHECK_EQ_INT(d.type, CBUS_PING);
    CHECK_EQ_INT(d.count, 2);
    CHECK(d.current_epoch == m.current_epoch);
    CHECK_EQ_INT(d.config_epoch, 9);
    CHECK(!memcmp(d.myslots, m.myslots, sizeof(m.myslots)));
    CHECK_EQ_STR(d.myip, "10.0.0.1");
    REQUIRE(d.hostname != NULL);
    CHECK_EQ_STR(d.hostname, "host-1");
    cbus_gossip dg;
    cbus_gossip_at(&d, 1, &dg);
    CHECK_EQ_STR(dg.ip, "::1");
    CHECK_EQ_INT(dg.flags, CNODE_PFAIL | CNODE_MASTER);
    cbus_gossip_at(&d, 0, &dg);
    CHECK_EQ_INT(dg.pong_received, 123456);
    CHECK_EQ_INT(dg.port, 7001);
    size_t off = 0;
    unsigned type;
    const unsigned char *data;
    size_t dl;
    int seen_forgotten = 0;
    while (cbus_ext_next(&d, &off, &type, &data, &dl))
        if (type == CBUS_EXT_FORGOTTEN) {
            seen_forgotten = 1;
            CHECK_EQ_INT(dl, 48);
            CHECK_EQ_INT(data[47], 42);
        }
    CHECK(seen_forgotten);
    /* Every truncation and every extension is rejected, never read past. */
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, buf, cut);
        CHECK(cbus_decode(t, cut, &d) == CBUS_DECODE_BAD);
        free(t);
    }
    /* A wrong extension length (not a multiple of 8). */
    buf[2256 + 208 + 3] = 13;
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_BAD);
    free(buf);
}

TEST(bus_other_types) {
    cbus_msg m;
    memset(&m, 0, sizeof(m));
    unsigned char *buf;
    m.type = CBUS_FAIL;
    memset(m.about, 'e', CBUS_NAMELEN);
    size_t len = encode(&m, &buf);
    CHECK_EQ_INT(len, CBUS_FAIL_LEN);
    cbus_msg d;
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_OK);
    CHECK(!memcmp(d.about, m.about, CBUS_NAMELEN));
    free(buf);
    m.type = CBUS_UPDATE;
    m.update_epoch = 77;
    slot_bitmap_set(m.update_slots, 100);
    len = encode(&m, &buf);
    CHECK_EQ_INT(len, CBUS_UPDATE_LEN);
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_OK);
    CHECK_EQ_INT(d.update_epoch, 77);
    CHECK(slot_bitmap_test(d.update_slots, 100));
    /* Another version: ignored, not an error. */
    buf[9] = 2;
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_IGNORE);
    free(buf);
    m.type = CBUS_PUBLISH;
    m.channel = (const unsigned char *)"ch";
    m.channel_len = 2;
    m.message = (const unsigned char *)"hello";
    m.message_len = 5;
    len = encode(&m, &buf);
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_OK);
    CHECK(d.message_len == 5 && !memcmp(d.message, "hello", 5));
    /* Lengths that do not add up. */
    buf[2256 + 7] = 200;
    CHECK(cbus_decode(buf, len, &d) == CBUS_DECODE_BAD);
    free(buf);
    unsigned char hdr[8] = {'R', 'C', 'm', 'b', 0, 0, 0x08, 0xd0};
    CHECK_EQ_INT(cbus_frame_len(hdr), 2256);
    hdr[6] = 0;
    CHECK_EQ_INT(cbus_frame_len(hdr), 0); /* shorter than a header */
    hdr[0] = 'X';
    hdr[6] = 0x08;
    CHECK_EQ_INT(cbus_frame_len(hdr), 0);
}

/* ---- nodes.conf ------------------------------------------------------------------ */

static int64_t fake_now(void *ctx) {
    (void)ctx;
    return 1000000;
}
static uint64_t fake_rand_state = 1;
static uint64_t fake_random(void *ctx) {
    (void)ctx;
    fake_rand_state = fake_rand_state * 6364136223846793005ull + 1442695040888963407ull;
    return fake_rand_state >> 11;
}

static cl_state *bare_state(void) {
    cl_io io = {.now_ms = fake_now, .random = fake_random};
    cl_settings set = {.node_timeout_ms = 15000, .require_full_coverage = 1, .port = 7000,
                       .cport = 17000};
    return cl_state_new(&io, &set);
}

TEST(nodes_conf_round_trip) {
    const char *conf =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:7000@17000 myself,master - 0 0 3 "
        "connected 0-100 200 [300->-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb] "
        "[400-<-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]\n"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb ::1:7001@17001,host-b master - 0 0 5 "
        "connected 101-199 300\n"
        "cccccccccccccccccccccccccccccccccccccccc 10.1.1.1:7002@17002 slave "
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0 0 5 disconnected\n"
        "vars currentEpoch 6 lastVoteEpoch 2\n";
    cl_state *st = bare_state();
    char err[256] = "";
    REQUIRE(cl_conf_parse(st, conf, strlen(conf), err, sizeof(err)) == 0);
    CHECK_EQ_INT(st->nnodes, 3);
    CHECK_EQ_INT(st->myself->numslots, 102);
    CHECK(!memcmp(st->myself->name, "aaaa", 4));
    CHECK_EQ_INT((int)st->current_epoch, 6);
    CHECK_EQ_INT((int)st->last_vote_epoch, 2);
    cl_node *b = cl_lookup(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 40);
    REQUIRE(b);
    CHECK_EQ_STR(b->ip, "::1");
    CHECK_EQ_STR(b->hostname, "host-b");
    CHECK(st->slots[300] == b && st->migrating_to[300] == b && st->importing_from[400] == b);
    lt_strbuf t = {0};
    cl_describe_all(st, &t, 1);
    /* Parsing our own output gives the same text back. */
    cl_state *st2 = bare_state();
    REQUIRE(cl_conf_parse(st2, t.p, t.len, err, sizeof(err)) == 0);
    lt_strbuf t2 = {0};
    cl_describe_all(st2, &t2, 1);
    CHECK_EQ_STR(t.p, t2.p);
    lt_strbuf_free(&t);
    lt_strbuf_free(&t2);
    cl_state_free(st);
    cl_state_free(st2);
    /* Bad files are refused with a reason. */
    const char *bad[] = {
        "zz 127.0.0.1:1@2 myself,master - 0 0 0 connected\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 master - 0 0 0 connected\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 myself,master - 0 0 0 connected 5-2\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 myself,master - 0 0 0 connected 16384\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 myself,bogus - 0 0 0 connected\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa nocolon myself,master - 0 0 0 connected\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 myself,master - 0 0 x connected\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:1@2 myself,master - 0 0 0 connected [5->-zz]\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cl_state *s = bare_state();
        err[0] = '\0';
        CHECK(cl_conf_parse(s, bad[i], strlen(bad[i]), err, sizeof(err)) == -1);
        CHECK(err[0] != '\0');
        cl_state_free(s);
    }
}

TEST(nodes_conf_file) {
    char dir[] = "/tmp/lt_cluster_conf_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof(path), "%s/nodes.conf", dir);
    cl_state *st = bare_state();
    char err[256];
    CHECK_EQ_INT(cl_conf_load(st, path, err, sizeof(err)), 1); /* no file yet */
    cl_add_slot(st, st->myself, 5);
    st->current_epoch = 4;
    REQUIRE(cl_conf_save(st, path) == 0);
    cl_state *st2 = bare_state();
    REQUIRE(cl_conf_load(st2, path, err, sizeof(err)) == 0);
    CHECK(!memcmp(st2->myself->name, st->myself->name, CBUS_NAMELEN));
    CHECK(st2->slots[5] == st2->myself);
    CHECK_EQ_INT((int)st2->current_epoch, 4);
    cl_state_free(st);
    cl_state_free(st2);
    unlink(path);
    rmdir(dir);
}

/* ---- Engine slot mode --------------------------------------------------------------- */

typedef struct seen_keys {
    int n;
    int bad;
    unsigned slot;
} seen_keys;

static void count_key(void *ctx, const ks_entry *e) {
    seen_keys *s = ctx;
    size_t kl;
    const char *k = ks_entry_key(e, &kl);
    if (cluster_key_slot(k, kl) != s->slot) s->bad++;
    s->n++;
}

TEST(engine_slot_mode) {
    lt_config cfg;
    lt_config_init(&cfg);
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    REQUIRE(ks_set_slot_fn(db, cluster_key_slot) == LT_OK);
    CHECK(ks_set_slot_fn(db, cluster_key_slot) == LT_INVAL);
    char key[64];
    /* 3000 keys over a few tags, and 3000 plain ones. */
    for (int i = 0; i < 6000; i++) {
        int n = i < 3000 ? snprintf(key, sizeof(key), "{tag%d}:%d", i % 7, i)
                         : snprintf(key, sizeof(key), "plain:%d", i);
        ks_key k = {0, key, (size_t)n};
        ks_txn txn;
        ks_txn_begin(&txn, db, &k, 1);
        ks_set_str(&txn, 0, key, (size_t)n, "v", 1, KS_EXPIRE_NONE, 0);
        ks_txn_commit(&txn);
    }
    uint64_t total = 0;
    for (unsigned s = 0; s < KS_SLOTS; s++) total += ks_slot_count(db, 0, s);
    CHECK_EQ_INT(total, 6000);
    unsigned t0 = cluster_key_slot("{tag0}", 6);
    CHECK(ks_slot_count(db, 0, t0) >= 3000 / 7);
    seen_keys sk = {.slot = t0};
    size_t got = ks_slot_keys(db, 0, t0, 1000000, count_key, &sk);
    CHECK_EQ_INT(got, ks_slot_count(db, 0, t0));
    CHECK_EQ_INT(sk.bad, 0);
    seen_keys lim = {.slot = t0};
    CHECK_EQ_INT(ks_slot_keys(db, 0, t0, 10, count_key, &lim), 10);
    /* Deletion and overwrite keep the counts exact. */
    ks_key k = {0, "{tag0}:0", 8};
    ks_txn txn;
    uint64_t before = ks_slot_count(db, 0, t0);
    ks_txn_begin(&txn, db, &k, 1);
    ks_set_str(&txn, 0, "{tag0}:0", 8, "w", 1, KS_EXPIRE_NONE, 0);
    ks_txn_commit(&txn);
    CHECK_EQ_INT(ks_slot_count(db, 0, t0), before);
    ks_txn_begin(&txn, db, &k, 1);
    CHECK(ks_delete(&txn, 0, "{tag0}:0", 8) == LT_OK);
    ks_txn_commit(&txn);
    CHECK_EQ_INT(ks_slot_count(db, 0, t0), before - 1);
    /* SWAPDB moves the counts; FLUSHDB zeroes them. */
    ks_txn_begin_dbs(&txn, db, 0, 1);
    ks_swap_db(&txn, 0, 1);
    ks_txn_commit(&txn);
    CHECK_EQ_INT(ks_slot_count(db, 0, t0), 0);
    CHECK_EQ_INT(ks_slot_count(db, 1, t0), before - 1);
    ks_txn_begin_db(&txn, db, 1);
    ks_flush_db(&txn, 1);
    ks_txn_commit(&txn);
    total = 0;
    for (unsigned s = 0; s < KS_SLOTS; s++) total += ks_slot_count(db, 1, s);
    CHECK_EQ_INT(total, 0);
    lt_db_close(db);
}

int main(void) {
    RUN(key_slots_match_redis);
    RUN(parse_slot);
    RUN(bus_layout_and_round_trip);
    RUN(bus_other_types);
    RUN(nodes_conf_round_trip);
    RUN(nodes_conf_file);
    RUN(engine_slot_mode);
    return testlib_finish();
}
