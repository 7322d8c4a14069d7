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

static int lt3_start(lt3 *m) {
    redisContext *c[3];
    for (int i = 0; i < 3; i++) {
        m->s[i] = cp_start_node(HARNESS_LIGHTNING);
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

int main(void) {
    RUN(redispy_cluster);
    RUN(ioredis_cluster);
    return testlib_finish();
}
