/*
 * Cluster-aware client libraries against a cluster of three Lightning
 * masters made by `redis-cli --cluster create`:
 *
 *  - redispy_cluster: redis-py's RedisCluster (Debian python3-redis),
 *    tests/py/cluster_redispy.py — slot map, keys on every node, the
 *    non-atomic MSET/MGET split by slot, a cluster pipeline, a slot moved
 *    under the client (ASK then MOVED), PUBLISH across nodes. Skipped when
 *    /usr/bin/python3 has no redis module.
 *  - ioredis_cluster: ioredis's Cluster (installed with bullmq by
 *    deps/install.sh), tests/ioredis/cluster_test.js — the same ground.
 *    Skipped when ioredis is not installed.
 *  - blocked_client_redirected: a client blocked in BLPOP / BZPOPMIN /
 *    XREAD on a key whose slot moves to another node gets -MOVED (Redis's
 *    clusterRedirectBlockedClientIfNeeded), one blocked on a key whose slot
 *    stays keeps waiting and is served; the same on three redis-server
 *    nodes, replies compared.
 *
 * Each script checks every reply itself and prints "... ok"; the test
 * judges its exit status and that line. Bounded by the scripts' own
 * timeouts and harness_run_capture's.
 */
#include <sys/wait.h>

#include "../cluster_procs.h"

typedef struct lt3 {
    harness_server *s[3];
    char ports[3][16];
} lt3;

static int lt3_start_kind(lt3 *m, harness_kind kind) {
    redisContext *c[3];
    for (int i = 0; i < 3; i++) {
        m->s[i] = cp_start_node(kind);
        if (!m->s[i] || !(c[i] = harness_connect(m->s[i]))) return 0;
        snprintf(m->ports[i], sizeof(m->ports[i]), "%d", m->s[i]->port);
    }
    if (cp_cli("create 127.0.0.1:%s 127.0.0.1:%s 127.0.0.1:%s --cluster-replicas 0 --cluster-yes",
               m->ports[0], m->ports[1], m->ports[2]) != 0)
        return 0;
    for (int i = 0; i < 3; i++)
        if (!CP_WAIT_HAS(c[i], "cluster_state:ok", "CLUSTER", "INFO")) return 0;
    return cp_wait_check(m->s[0]->port);
}

static int lt3_start(lt3 *m) { return lt3_start_kind(m, HARNESS_LIGHTNING); }

/* Runs argv; 77 from the script means "library not installed". */
static void run_client(const char *const *argv, const char *ok_line) {
    char *out = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 90000, &out, &timed_out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        testlib_skip("the client library is not installed");
        free(out);
        return;
    }
    CHECK(!timed_out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fprintf(stderr, "%s\n", out ? out : "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(out && strstr(out, ok_line) != NULL);
    free(out);
}

TEST(redispy_cluster) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        testlib_skip("/usr/bin/python3 not found");
        return;
    }
    lt3 m;
    REQUIRE(lt3_start(&m));
    const char *argv[] = {"/usr/bin/python3", "tests/py/cluster_redispy.py", m.ports[0], NULL};
    run_client(argv, "cluster redispy ok");
}

TEST(ioredis_cluster) {
    const char *cache = getenv("LIGHTNING_DEPS_CACHE");
    const char *home = getenv("HOME");
    char modules[512], probe[600];
    if (cache) snprintf(modules, sizeof(modules), "%s/bullmq/node_modules", cache);
    else snprintf(modules, sizeof(modules), "%s/.cache/lightning-deps/bullmq/node_modules",
                  home ? home : "/root");
    snprintf(probe, sizeof(probe), "%s/ioredis/package.json", modules);
    if (access(probe, R_OK) != 0) {
        testlib_skip("ioredis is not installed (deps/install.sh installs it with bullmq)");
        return;
    }
    lt3 m;
    REQUIRE(lt3_start(&m));
    setenv("NODE_PATH", modules, 1);
    const char *argv[] = {"node", "tests/ioredis/cluster_test.js", m.ports[0], m.ports[1],
                          m.ports[2], NULL};
    run_client(argv, "ioredis cluster ok");
}

/* On a cluster of kind: three clients blocked on keys of one slot owned by
 * node 0 and one on a key of a slot it keeps; the first slot is moved to
 * node 1 (empty: SETSLOT NODE on the new owner, then on the old, as
 * redis-cli does). Fills out[4] with the replies, "MOVED <slot> <node 1>"
 * written as "MOVED <slot> NEW" so both kinds compare. */
#define BAIL()                                                     \
    do {                                                           \
        fprintf(stderr, "# blocked_scenario: line %d\n", __LINE__); \
        return 0;                                                  \
    } while (0)

static int blocked_scenario(harness_kind kind, char out[4][256]) {
    lt3 m;
    if (!lt3_start_kind(&m, kind)) BAIL();
    redisContext *c0 = harness_connect(m.s[0]), *c1 = harness_connect(m.s[1]);
    if (!c0 || !c1) BAIL();
    char id1[64];
    cp_myid(c1, id1);
    /* Keys on node 0: find a tag whose slot node 0 owns (it owns 0..5460). */
    char tag[32] = "", stay[32] = "";
    for (int i = 0; i < 100000 && (!tag[0] || !stay[0]); i++) {
        char t[32];
        snprintf(t, sizeof(t), "t%d", i);
        unsigned s = cp_key_slot(t, strlen(t));
        if (s > 5460) continue;
        if (!tag[0]) snprintf(tag, sizeof(tag), "%s", t);
        else if (cp_key_slot(tag, strlen(tag)) != s) snprintf(stay, sizeof(stay), "%s", t);
    }
    unsigned slot = cp_key_slot(tag, strlen(tag));
    const char *cmds[4][8] = {
        {"BLPOP", NULL, "0"},
        {"BZPOPMIN", NULL, "0"},
        {"XREAD", "BLOCK", "0", "STREAMS", NULL, "$"},
        {"BLPOP", NULL, "0"},
    };
    int argcs[4] = {3, 3, 6, 3};
    char keys[4][64];
    snprintf(keys[0], 64, "{%s}l", tag);
    snprintf(keys[1], 64, "{%s}z", tag);
    snprintf(keys[2], 64, "{%s}s", tag);
    snprintf(keys[3], 64, "{%s}l", stay);
    redisContext *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = harness_connect(m.s[0]);
        if (!b[i]) BAIL();
        const char *argv[8];
        for (int j = 0; j < argcs[i]; j++) argv[j] = cmds[i][j] ? cmds[i][j] : keys[i];
        redisAppendCommandArgv(b[i], argcs[i], argv, NULL);
        int done = 0;
        while (!done)
            if (redisBufferWrite(b[i], &done) != REDIS_OK) BAIL();
    }
    /* Every client is blocked before the slot moves. */
    for (int t = 0; t < 400; t++) {
        if (strstr(cmd(c0, "INFO clients"), "blocked_clients:4")) break;
        usleep(25000);
    }
    if (!strstr(cmd(c0, "INFO clients"), "blocked_clients:4")) BAIL();
    if (strcmp(cmd(c1, "CLUSTER SETSLOT %u NODE %s", slot, id1), "status:\"OK\"") ||
        strcmp(cmd(c0, "CLUSTER SETSLOT %u NODE %s", slot, id1), "status:\"OK\""))
        BAIL();
    char moved[64];
    snprintf(moved, sizeof(moved), "MOVED %u 127.0.0.1:%d", slot, m.s[1]->port);
    for (int i = 0; i < 3; i++) {
        void *r = NULL;
        snprintf(out[i], 256, "%s", "(no reply)");
        if (redisGetReply(b[i], &r) == REDIS_OK && r) {
            char *txt = reply_to_string(r);
            char *at = strstr(txt, moved);
            if (at) snprintf(out[i], 256, "%.*sMOVED %u NEW%s", (int)(at - txt), txt, slot,
                             at + strlen(moved));
            else snprintf(out[i], 256, "%s", txt);
            free(txt);
            freeReplyObject(r);
        }
    }
    /* The client on the slot that stayed still waits: a push serves it. */
    cmd(c0, "RPUSH %s x", keys[3]);
    void *r = NULL;
    snprintf(out[3], 256, "%s", "(no reply)");
    if (redisGetReply(b[3], &r) == REDIS_OK && r) {
        char *txt = reply_to_string(r);
        snprintf(out[3], 256, "%s", strstr(txt, "x") ? "served" : txt);
        free(txt);
        freeReplyObject(r);
    }
    return 1;
}

TEST(blocked_client_redirected) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    char lt[4][256], rd[4][256];
    REQUIRE(blocked_scenario(HARNESS_LIGHTNING, lt));
    REQUIRE(blocked_scenario(HARNESS_REDIS, rd));
    for (int i = 0; i < 4; i++) CHECK_EQ_STR(lt[i], rd[i]);
    CHECK(strstr(lt[0], "MOVED") != NULL);
    CHECK_EQ_STR(lt[3], "served");
}

int main(void) {
    RUN(redispy_cluster);
    RUN(ioredis_cluster);
    RUN(blocked_client_redirected);
    return testlib_finish();
}
