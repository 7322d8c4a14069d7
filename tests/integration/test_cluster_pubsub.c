/*
 * Pub/sub in cluster mode across the bus, in a cluster of two Lightning
 * nodes and one real redis-server 7.0 node made by `redis-cli --cluster
 * create` (so the PUBLISH / PUBLISHSHARD messages cross in Redis's wire
 * format both ways):
 *
 *  - publish_reaches_every_node: a PUBLISH on any node reaches the
 *    SUBSCRIBE and PSUBSCRIBE clients of every node; its reply counts the
 *    local receivers only (as Redis's).
 *  - sharded_pubsub_routing: SSUBSCRIBE / SPUBLISH are routed by the
 *    channel's slot (MOVED, CROSSSLOT with Redis's texts), and an SPUBLISH
 *    on the owner reaches its shard subscribers.
 *
 * Waits are bounded (reply timeouts, polls); nothing asserts on timing.
 */
#include "../cluster_procs.h"

/* Reads one pushed message; returns its canonical text (static). */
static const char *next_push(redisContext *c) {
    static char buf[512];
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r) return "(none)";
    char *s = reply_to_string(r);
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    freeReplyObject(r);
    return buf;
}

typedef struct mixed3 {
    harness_server *s[3]; /* Lightning, Lightning, Redis */
    redisContext *c[3];
    int ports[3];
} mixed3;

static int mixed3_start(mixed3 *m) {
    harness_kind kinds[3] = {HARNESS_LIGHTNING, HARNESS_LIGHTNING, HARNESS_REDIS};
    for (int i = 0; i < 3; i++) {
        m->s[i] = cp_start_node(kinds[i]);
        if (!m->s[i]) return 0;
        m->c[i] = harness_connect(m->s[i]);
        if (!m->c[i]) return 0;
        m->ports[i] = m->s[i]->port;
    }
    if (cp_cli("create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d --cluster-replicas 0 --cluster-yes",
               m->ports[0], m->ports[1], m->ports[2]) != 0)
        return 0;
    for (int i = 0; i < 3; i++)
        if (!CP_WAIT_HAS(m->c[i], "cluster_state:ok", "CLUSTER", "INFO")) return 0;
    return cp_wait_check(m->ports[0]);
}

TEST(publish_reaches_every_node) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    mixed3 m;
    REQUIRE(mixed3_start(&m));
    redisContext *sub[3], *psub[3];
    for (int i = 0; i < 3; i++) {
        sub[i] = harness_connect(m.s[i]);
        psub[i] = harness_connect(m.s[i]);
        REQUIRE(sub[i] && psub[i]);
        CHECK_EQ_STR(cmd(sub[i], "SUBSCRIBE news"), "array[bulk:\"subscribe\",bulk:\"news\",int:1]");
        CHECK_EQ_STR(cmd(psub[i], "PSUBSCRIBE ne*"), "array[bulk:\"psubscribe\",bulk:\"ne*\",int:1]");
    }
    /* From each node in turn: its reply counts its own two receivers;
     * every node's subscribers get the message. */
    for (int from = 0; from < 3; from++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "hello-%d", from);
        CHECK_EQ_STR(cmd(m.c[from], "PUBLISH news %s", msg), "int:2");
        char want[128], pwant[128];
        snprintf(want, sizeof(want), "array[bulk:\"message\",bulk:\"news\",bulk:\"%s\"]", msg);
        snprintf(pwant, sizeof(pwant),
                 "array[bulk:\"pmessage\",bulk:\"ne*\",bulk:\"news\",bulk:\"%s\"]", msg);
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_STR(next_push(sub[i]), want);
            CHECK_EQ_STR(next_push(psub[i]), pwant);
        }
    }
    /* A binary message with a NUL byte and an empty channel name. */
    redisReply *r = redisCommand(m.c[0], "PUBLISH %b %b", "", (size_t)0, "a\0b", (size_t)3);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    r = redisCommand(sub[2], "SUBSCRIBE %b", "", (size_t)0);
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->integer == 2);
    freeReplyObject(r);
    r = redisCommand(m.c[1], "PUBLISH %b %b", "", (size_t)0, "a\0b", (size_t)3);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    CHECK_EQ_STR(next_push(sub[2]), "array[bulk:\"message\",bulk:\"\",bulk:\"a\\x00b\"]");
    /* The bus counted the messages it carried. */
    CHECK(strstr(cmd(m.c[0], "CLUSTER INFO"), "cluster_stats_messages_publish_sent:") != NULL);
    CHECK(strstr(cmd(m.c[0], "CLUSTER INFO"), "cluster_stats_messages_publish_received:") != NULL);
}

/* A channel name whose slot node `owner` serves (by CLUSTER KEYSLOT). */
static void channel_of(redisContext *any, redisContext *owner, const char *prefix, char *out,
                       size_t cap) {
    redisReply *r = redisCommand(owner, "CLUSTER MYID");
    char id[64];
    snprintf(id, sizeof(id), "%s", r && r->str ? r->str : "?");
    freeReplyObject(r);
    (void)any;
    for (int i = 0; i < 100000; i++) {
        snprintf(out, cap, "%s%d", prefix, i);
        unsigned slot = cp_key_slot(out, strlen(out));
        /* Ownership from CLUSTER SLOTS of the owner itself. */
        r = redisCommand(owner, "CLUSTER SLOTS");
        int mine = 0;
        for (size_t j = 0; r && j < r->elements; j++) {
            redisReply *e = r->element[j];
            if ((unsigned)e->element[0]->integer <= slot && slot <= (unsigned)e->element[1]->integer &&
                !strcmp(e->element[2]->element[2]->str, id))
                mine = 1;
        }
        freeReplyObject(r);
        if (mine) return;
    }
}

TEST(sharded_pubsub_routing) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    mixed3 m;
    REQUIRE(mixed3_start(&m));
    /* For the Lightning node 0 and the Redis node 2 alike: a shard channel
     * each owns, refused with MOVED elsewhere, served by the owner. */
    int owners[2] = {0, 2};
    for (int k = 0; k < 2; k++) {
        int o = owners[k], other = (o + 1) % 3;
        char ch[64];
        channel_of(m.c[0], m.c[o], "orders", ch, sizeof(ch));
        unsigned slot = cp_key_slot(ch, strlen(ch));
        redisContext *bad = harness_connect(m.s[other]);
        char want[128];
        snprintf(want, sizeof(want), "err:\"MOVED %u 127.0.0.1:%d\"", slot, m.ports[o]);
        CHECK_EQ_STR(cmd(bad, "SSUBSCRIBE %s", ch), want);
        CHECK_EQ_STR(cmd(m.c[other], "SPUBLISH %s x", ch), want);
        redisContext *sub = harness_connect(m.s[o]);
        snprintf(want, sizeof(want), "array[bulk:\"ssubscribe\",bulk:\"%s\",int:1]", ch);
        CHECK_EQ_STR(cmd(sub, "SSUBSCRIBE %s", ch), want);
        CHECK_EQ_STR(cmd(m.c[o], "SPUBLISH %s payload", ch), "int:1");
        snprintf(want, sizeof(want), "array[bulk:\"smessage\",bulk:\"%s\",bulk:\"payload\"]", ch);
        CHECK_EQ_STR(next_push(sub), want);
        /* Channels of two slots in one command. */
        char ch2[96];
        for (int i = 0;; i++) {
            snprintf(ch2, sizeof(ch2), "%s-%d", ch, i);
            if (cp_key_slot(ch2, strlen(ch2)) != slot) break;
        }
        CHECK_EQ_STR(cmd(m.c[o], "SSUBSCRIBE %s %s", ch, ch2),
                     "err:\"CROSSSLOT Keys in request don't hash to the same slot\"");
        /* A shard channel is not a plain channel: a SUBSCRIBE client of the
         * channel's name (on another node and on the owner) gets only the
         * PUBLISH that follows the SPUBLISH. */
        for (int p = 0; p < 2; p++) {
            redisContext *plain = harness_connect(m.s[p ? o : other]);
            snprintf(want, sizeof(want), "array[bulk:\"subscribe\",bulk:\"%s\",int:1]", ch);
            CHECK_EQ_STR(cmd(plain, "SUBSCRIBE %s", ch), want);
            CHECK_EQ_STR(cmd(m.c[o], "SPUBLISH %s sharded", ch), "int:1");
            snprintf(want, sizeof(want), "array[bulk:\"smessage\",bulk:\"%s\",bulk:\"sharded\"]", ch);
            CHECK_EQ_STR(next_push(sub), want);
            cmd(m.c[o], "PUBLISH %s plain", ch);
            snprintf(want, sizeof(want), "array[bulk:\"message\",bulk:\"%s\",bulk:\"plain\"]", ch);
            CHECK_EQ_STR(next_push(plain), want);
        }
    }
}

int main(void) {
    RUN(publish_reaches_every_node);
    RUN(sharded_pubsub_routing);
    return testlib_finish();
}
