/*
 * Resharding with real processes and real redis-cli, under client load:
 *
 *  - reshard_under_load: three Lightning masters made by `redis-cli
 *    --cluster create`, a fourth joined with `--cluster add-node`, then
 *    `reshard` (slots with keys onto it), `rebalance`, and a master emptied
 *    by `reshard` and removed by `del-node` — while a writer thread writes
 *    and reads keys through MOVED / ASK / TRYAGAIN like a cluster client.
 *    Every write acknowledged is read back at once and again at the end:
 *    no key lost, no stale value.
 *  - mixed_cluster_migration: the migration path — a running Redis Cluster
 *    of three real redis-server 7.0 nodes holding keys of every type, three
 *    Lightning nodes joined with `--cluster add-node`, every slot resharded
 *    onto them (MIGRATE from Redis to Lightning over the bus's slot
 *    protocol), the Redis nodes removed with `del-node`, the same writer
 *    running throughout; every key is then readable through the Lightning
 *    nodes with the value it had.
 *
 * Waits are bounded polls; nothing asserts on timing.
 */
#include "../cluster_procs.h"

#include <pthread.h>

#define NKEYS 1500

typedef struct writer {
    int ports[CC_MAX_NODES];
    int nports;
    pthread_t thread;
    volatile int stop;
    long long ops, failures;
    int last[NKEYS];  /* last value acknowledged for key:<i> */
    int tlast[NKEYS]; /* last value of {t<i>}a and {t<i>}b (MSET) */
    char first_failure[512];
    uint64_t moved, ask, tryagain, down;
} writer;

static void w_fail(writer *w, const char *what, redisReply *r) {
    w->failures++;
    if (!w->first_failure[0])
        snprintf(w->first_failure, sizeof(w->first_failure), "%s: %s", what,
                 r ? reply_to_string(r) : "(no reply)");
}

static unsigned slot_of(const char *k) { return cp_key_slot(k, strlen(k)); }

/* SET key, GET it back; every eighth round MSET two keys of one slot and
 * MGET them (TRYAGAIN while their slot is half moved). */
static void *writer_main(void *arg) {
    writer *w = arg;
    cc_client cc = {0};
    for (int i = 0; i < w->nports; i++) cc_conn(&cc, w->ports[i]);
    for (int i = 1; !w->stop; i++) {
        int k = (int)((unsigned)i * 7919u % NKEYS);
        char key[32], val[32];
        snprintf(key, sizeof(key), "key:%d", k);
        snprintf(val, sizeof(val), "val:%d", i);
        const char *set[] = {"SET", key, val};
        redisReply *r = cc_command(&cc, slot_of(key), 3, set);
        if (!r || r->type != REDIS_REPLY_STATUS) {
            w_fail(w, "SET", r);
        } else {
            w->last[k] = i;
            const char *get[] = {"GET", key};
            redisReply *g = cc_command(&cc, slot_of(key), 2, get);
            if (!g || g->type != REDIS_REPLY_STRING || strcmp(g->str, val)) w_fail(w, key, g);
            if (g) freeReplyObject(g);
        }
        if (r) freeReplyObject(r);
        if (i % 8 == 0) {
            char a[32], b[32];
            snprintf(a, sizeof(a), "{t%d}a", k);
            snprintf(b, sizeof(b), "{t%d}b", k);
            const char *mset[] = {"MSET", a, val, b, val};
            r = cc_command(&cc, slot_of(a), 5, mset);
            if (!r || r->type != REDIS_REPLY_STATUS) {
                w_fail(w, "MSET", r);
            } else {
                w->tlast[k] = i;
                const char *mget[] = {"MGET", a, b};
                redisReply *g = cc_command(&cc, slot_of(a), 3, mget);
                if (!g || g->type != REDIS_REPLY_ARRAY || g->elements != 2 ||
                    !g->element[0]->str || strcmp(g->element[0]->str, val) ||
                    !g->element[1]->str || strcmp(g->element[1]->str, val))
                    w_fail(w, "MGET", g);
                if (g) freeReplyObject(g);
            }
            if (r) freeReplyObject(r);
        }
        w->ops++;
        usleep(200); /* a steady load, leaving CPU to the nodes and redis-cli */
    }
    w->moved = cc.moved;
    w->ask = cc.ask;
    w->tryagain = cc.tryagain;
    w->down = cc.down;
    cc_free(&cc);
    return NULL;
}

/* Loads key:0..NKEYS-1 = val:0 through a cluster client. */
static int load_keys(const int *ports, int nports) {
    cc_client cc = {0};
    for (int i = 0; i < nports; i++) cc_conn(&cc, ports[i]);
    int ok = 1;
    for (int k = 0; k < NKEYS && ok; k++) {
        char key[32];
        snprintf(key, sizeof(key), "key:%d", k);
        const char *set[] = {"SET", key, "val:0"};
        redisReply *r = cc_command(&cc, slot_of(key), 3, set);
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
    }
    cc_free(&cc);
    return ok;
}

/* Every key holds the last value the writer had acknowledged (through a
 * fresh client that knows only ports). Returns the number of mismatches. */
static int verify_keys(const writer *w, const int *ports, int nports) {
    cc_client cc = {0};
    for (int i = 0; i < nports; i++) cc_conn(&cc, ports[i]);
    int bad = 0;
    for (int k = 0; k < NKEYS; k++) {
        char key[32], want[32];
        snprintf(key, sizeof(key), "key:%d", k);
        snprintf(want, sizeof(want), "val:%d", w->last[k]);
        const char *get[] = {"GET", key};
        redisReply *r = cc_command(&cc, slot_of(key), 2, get);
        if (!r || r->type != REDIS_REPLY_STRING || strcmp(r->str, want)) {
            if (bad++ < 5)
                fprintf(stderr, "# %s: want %s, got %s\n", key, want, r ? reply_to_string(r) : "-");
        }
        if (r) freeReplyObject(r);
        if (w->tlast[k]) {
            char a[32];
            snprintf(a, sizeof(a), "{t%d}b", k);
            snprintf(want, sizeof(want), "val:%d", w->tlast[k]);
            const char *g2[] = {"GET", a};
            r = cc_command(&cc, slot_of(a), 2, g2);
            if (!r || r->type != REDIS_REPLY_STRING || strcmp(r->str, want)) {
                if (bad++ < 5)
                    fprintf(stderr, "# %s: want %s, got %s\n", a, want, r ? reply_to_string(r) : "-");
            }
            if (r) freeReplyObject(r);
        }
    }
    cc_free(&cc);
    return bad;
}

static long long dbsize(redisContext *c) {
    redisReply *r = redisCommand(c, "DBSIZE");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static void writer_start(writer *w, const int *ports, int nports) {
    memset(w, 0, sizeof(*w));
    memcpy(w->ports, ports, sizeof(int) * (size_t)nports);
    w->nports = nports;
    pthread_create(&w->thread, NULL, writer_main, w);
}

static void writer_stop(writer *w) {
    w->stop = 1;
    pthread_join(w->thread, NULL);
    fprintf(stderr, "# writer: %lld rounds, %llu MOVED, %llu ASK, %llu TRYAGAIN, %llu CLUSTERDOWN\n",
            w->ops, (unsigned long long)w->moved, (unsigned long long)w->ask,
            (unsigned long long)w->tryagain, (unsigned long long)w->down);
    if (w->failures) fprintf(stderr, "# writer failures: %lld, first: %s\n", w->failures, w->first_failure);
}

/* Waits until every context reports cluster_state:ok. */
static int wait_ok(redisContext **c, int n) {
    for (int i = 0; i < n; i++)
        if (!CP_WAIT_HAS(c[i], "cluster_state:ok", "CLUSTER", "INFO")) return 0;
    return 1;
}

TEST(reshard_under_load) {
    harness_server *s[4];
    redisContext *c[4];
    int ports[4];
    char id[4][64];
    for (int i = 0; i < 4; i++) {
        s[i] = cp_start_node(HARNESS_LIGHTNING);
        REQUIRE(s[i]);
        c[i] = harness_connect(s[i]);
        REQUIRE(c[i]);
        ports[i] = s[i]->port;
        cp_myid(c[i], id[i]);
    }
    REQUIRE(cp_cli("create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d --cluster-replicas 0 "
                   "--cluster-yes",
                   ports[0], ports[1], ports[2]) == 0);
    REQUIRE(wait_ok(c, 3));
    REQUIRE(cp_wait_check(ports[0]));
    REQUIRE(load_keys(ports, 3));
    CHECK_EQ_INT(dbsize(c[0]) + dbsize(c[1]) + dbsize(c[2]), NKEYS);
    REQUIRE(cp_cli("add-node 127.0.0.1:%d 127.0.0.1:%d", ports[3], ports[0]) == 0);
    for (int i = 0; i < 4; i++) REQUIRE(CP_WAIT_HAS(c[i], "cluster_known_nodes:4", "CLUSTER", "INFO"));
    REQUIRE(wait_ok(c, 4));
    REQUIRE(cp_wait_check(ports[0]));

    writer w;
    writer_start(&w, ports, 3);
    /* Slots with keys onto the new node, then an even spread. */
    CHECK_EQ_INT(cp_cli("reshard 127.0.0.1:%d --cluster-from all --cluster-to %s "
                        "--cluster-slots 1500 --cluster-yes",
                        ports[0], id[3]),
                 0);
    CHECK(dbsize(c[3]) > 0);
    CHECK(cp_wait_check(ports[1]));
    CHECK_EQ_INT(cp_cli("rebalance 127.0.0.1:%d --cluster-threshold 1", ports[1]), 0);
    CHECK(cp_wait_check(ports[1]));
    /* Node 0 hands every slot to node 1 and leaves. */
    CHECK_EQ_INT(cp_cli("reshard 127.0.0.1:%d --cluster-from %s --cluster-to %s "
                        "--cluster-slots 16384 --cluster-yes",
                        ports[1], id[0], id[1]),
                 0);
    CHECK_EQ_INT(dbsize(c[0]), 0);
    CHECK(cp_wait_check(ports[1]));
    CHECK_EQ_INT(cp_cli("del-node 127.0.0.1:%d %s", ports[1], id[0]), 0);
    writer_stop(&w);

    CHECK_EQ_INT(w.failures, 0);
    CHECK(w.ops > 0);
    CHECK(w.moved > 0);
    int live[3] = {ports[1], ports[2], ports[3]};
    CHECK_EQ_INT(verify_keys(&w, live, 3), 0);
    CHECK(CP_WAIT_HAS(c[1], "cluster_known_nodes:3", "CLUSTER", "INFO"));
    CHECK_EQ_INT(cp_cli("check 127.0.0.1:%d", ports[2]), 0);
}

/* Typed keys the Redis cluster holds before the migration, and a read that
 * shows each one whole. */
static const char *const typed_load[][8] = {
    {"RPUSH", "list:1", "a", "b", "c", "d", NULL},
    {"HSET", "hash:1", "f1", "v1", "f2", "v2", NULL},
    {"SADD", "set:1", "x", "y", "z", NULL},
    {"ZADD", "zset:1", "1.5", "a", "2", "b", NULL},
    {"XADD", "stream:1", "1-1", "f", "v", NULL},
    {"SET", "ttl:1", "v", "PX", "86400000", NULL},
    {"PFADD", "hll:1", "a", "b", "c", NULL},
    {"SET", "int:1", "12345", NULL},
};
static const char *const typed_read[][6] = {
    {"LRANGE", "list:1", "0", "-1", NULL},
    {"HGETALL", "hash:1", NULL},
    {"SMEMBERS", "set:1", NULL},
    {"ZRANGE", "zset:1", "0", "-1", "WITHSCORES", NULL},
    {"XRANGE", "stream:1", "-", "+", NULL},
    {"GET", "ttl:1", NULL},
    {"PFCOUNT", "hll:1", NULL},
    {"GET", "int:1", NULL},
};
#define NTYPED (sizeof(typed_load) / sizeof(typed_load[0]))

static int argv_len(const char *const *a) {
    int n = 0;
    while (a[n]) n++;
    return n;
}

static char *typed_read_all(const int *ports, int nports) {
    cc_client cc = {0};
    for (int i = 0; i < nports; i++) cc_conn(&cc, ports[i]);
    char *out = calloc(1, 8192);
    for (size_t i = 0; i < NTYPED; i++) {
        redisReply *r = cc_command(&cc, slot_of(typed_read[i][1]), argv_len(typed_read[i]),
                                   (const char **)typed_read[i]);
        char *s = r ? reply_to_string(r) : strdup("-");
        /* SMEMBERS: order is the server's; compare sorted members. */
        if (r && r->type == REDIS_REPLY_ARRAY && !strcmp(typed_read[i][0], "SMEMBERS")) {
            free(s);
            s = calloc(1, 256);
            for (const char *m = "xyz"; *m; m++)
                for (size_t j = 0; j < r->elements; j++)
                    if (r->element[j]->str && r->element[j]->str[0] == *m) s[strlen(s)] = *m;
        }
        strncat(out, s, 8192 - strlen(out) - 2);
        strcat(out, "\n");
        free(s);
        if (r) freeReplyObject(r);
    }
    cc_free(&cc);
    return out;
}

TEST(mixed_cluster_migration) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    harness_server *r[3], *l[3];
    redisContext *rc[3], *lc[3];
    int rports[3], lports[3];
    char rid[3][64], lid[3][64];
    for (int i = 0; i < 3; i++) {
        r[i] = cp_start_node(HARNESS_REDIS);
        l[i] = cp_start_node(HARNESS_LIGHTNING);
        REQUIRE(r[i] && l[i]);
        rc[i] = harness_connect(r[i]);
        lc[i] = harness_connect(l[i]);
        REQUIRE(rc[i] && lc[i]);
        rports[i] = r[i]->port;
        lports[i] = l[i]->port;
        cp_myid(rc[i], rid[i]);
        cp_myid(lc[i], lid[i]);
    }
    REQUIRE(cp_cli("create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d --cluster-replicas 0 "
                   "--cluster-yes",
                   rports[0], rports[1], rports[2]) == 0);
    REQUIRE(wait_ok(rc, 3));
    REQUIRE(cp_wait_check(rports[0]));
    REQUIRE(load_keys(rports, 3));
    {
        cc_client cc = {0};
        cc_conn(&cc, rports[0]);
        for (size_t i = 0; i < NTYPED; i++) {
            redisReply *x = cc_command(&cc, slot_of(typed_load[i][1]), argv_len(typed_load[i]),
                                       (const char **)typed_load[i]);
            CHECK(x && x->type != REDIS_REPLY_ERROR);
            if (x) freeReplyObject(x);
        }
        cc_free(&cc);
    }
    char *before = typed_read_all(rports, 3);

    /* The Lightning nodes join the running Redis cluster. */
    for (int i = 0; i < 3; i++) {
        REQUIRE(cp_cli("add-node 127.0.0.1:%d 127.0.0.1:%d", lports[i], rports[0]) == 0);
        /* Everyone knows everyone before the next --cluster command. */
        char known[64];
        snprintf(known, sizeof(known), "cluster_known_nodes:%d", 4 + i);
        for (int j = 0; j <= i; j++) REQUIRE(CP_WAIT_HAS(lc[j], known, "CLUSTER", "INFO"));
        for (int j = 0; j < 3; j++) REQUIRE(CP_WAIT_HAS(rc[j], known, "CLUSTER", "INFO"));
        REQUIRE(cp_wait_check(rports[0]));
    }
    REQUIRE(wait_ok(lc, 3));
    REQUIRE(wait_ok(rc, 3));

    writer w;
    writer_start(&w, rports, 3);
    /* Every slot of Redis node i moves onto Lightning node i. */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(cp_cli("reshard 127.0.0.1:%d --cluster-from %s --cluster-to %s "
                            "--cluster-slots 16384 --cluster-yes",
                            lports[0], rid[i], lid[i]),
                     0);
        CHECK(cp_wait_check(lports[0]));
    }
    /* The Redis nodes leave. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(cp_cli("del-node 127.0.0.1:%d %s", lports[0], rid[i]), 0);
    writer_stop(&w);

    CHECK_EQ_INT(w.failures, 0);
    CHECK(w.ops > 0);
    long long total = 0;
    for (int i = 0; i < 3; i++) total += dbsize(lc[i]);
    CHECK(total >= NKEYS + (long long)NTYPED);
    for (int i = 0; i < 3; i++) CHECK(CP_WAIT_HAS(lc[i], "cluster_known_nodes:3", "CLUSTER", "INFO"));
    CHECK_EQ_INT(verify_keys(&w, lports, 3), 0);
    char *after = typed_read_all(lports, 3);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
    /* The TTL came along. */
    cc_client cc = {0};
    cc_conn(&cc, lports[0]);
    const char *pttl[] = {"PTTL", "ttl:1"};
    redisReply *x = cc_command(&cc, slot_of("ttl:1"), 2, pttl);
    CHECK(x && x->type == REDIS_REPLY_INTEGER && x->integer > 0 && x->integer <= 86400000);
    if (x) freeReplyObject(x);
    cc_free(&cc);
    CHECK_EQ_INT(cp_cli("check 127.0.0.1:%d", lports[1]), 0);
}

int main(void) {
    RUN(reshard_under_load);
    RUN(mixed_cluster_migration);
    return testlib_finish();
}
