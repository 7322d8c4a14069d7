/*
 * Cluster replicas and failover with real processes: `redis-cli --cluster
 * create` of 3 Lightning masters + 3 Lightning replicas
 * (--cluster-replicas 1) and `--cluster check`; the replicas receive the
 * writes, serve reads after READONLY and redirect otherwise; kill -9 of a
 * master makes its replica the master of its slots (the cluster is ok
 * again, the keys are there) and the old master, restarted, a replica of
 * it; CLUSTER FAILOVER gives the slots back; a mixed pair where a real
 * redis-server 7.0 replicates a Lightning master and takes over with
 * CLUSTER FAILOVER, and the Lightning node, now its replica, takes back;
 * automatic failover across implementations (a Redis replica elected with
 * a Lightning master's vote, a Lightning replica with a Redis master's).
 * cluster-node-timeout is 2 s; waits are bounded polls with generous
 * deadlines (the machine is shared): nothing asserts on timing.
 */
#include "../difftest.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#define DEADLINE_MS 90000

static harness_server *start_node(harness_kind kind, int *cport_out) {
    char cport[16];
    int cp = harness_free_port();
    if (cport_out) *cport_out = cp;
    snprintf(cport, sizeof(cport), "%d", cp);
    const char *d[] = {"cluster-enabled", "yes", "cluster-port", cport,
                       "cluster-node-timeout", "2000", NULL};
    harness_opts o = {.kind = kind, .directives = d};
    return harness_start_opts(&o);
}

/* Polls (a fresh connection each time: the node may restart) until the
 * reply of s to the command contains want. */
static int wait_has(harness_server *s, const char *want, const char *command) {
    char last[4096] = "";
    for (int waited = 0; waited < DEADLINE_MS; waited += 200) {
        redisContext *c = harness_connect(s);
        if (c) {
            redisReply *r = redisCommand(c, command);
            char *t = r ? reply_to_string(r) : NULL;
            if (t) snprintf(last, sizeof(last), "%s", t);
            int ok = t && strstr(t, want);
            free(t);
            freeReplyObject(r);
            harness_disconnect(c);
            if (ok) return 1;
        }
        harness_sleep_ms(200);
    }
    fprintf(stderr, "# port %d: waited for \"%s\" in %s, last reply: %s\n", s->port, want, command,
            last);
    return 0;
}

/* Polls until the reply of s to command contains want exactly n times. */
static int wait_count(harness_server *s, const char *want, int n, const char *command) {
    int seen = -1;
    for (int waited = 0; waited < DEADLINE_MS; waited += 200) {
        redisContext *c = harness_connect(s);
        if (c) {
            redisReply *r = redisCommand(c, command);
            char *t = r ? reply_to_string(r) : NULL;
            seen = 0;
            for (const char *p = t; p && (p = strstr(p, want)); p += strlen(want)) seen++;
            free(t);
            freeReplyObject(r);
            harness_disconnect(c);
            if (seen == n) return 1;
        }
        harness_sleep_ms(200);
    }
    fprintf(stderr, "# port %d: waited for %d \"%s\" in %s, saw %d\n", s->port, n, want, command,
            seen);
    return 0;
}

static void myid(redisContext *c, char out[64]) {
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    snprintf(out, 64, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
}

static const char *role(redisContext *c) {
    static char buf[16];
    redisReply *r = redisCommand(c, "ROLE");
    snprintf(buf, sizeof(buf), "%s",
             r && r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->str : "?");
    freeReplyObject(r);
    return buf;
}

/* `redis-cli --cluster check` until it reports everything OK. */
static int wait_check_ok(int port) {
    char *out = NULL;
    for (int waited = 0; waited < DEADLINE_MS; waited += 500) {
        free(out);
        int st = harness_popen(&out, "redis-cli --cluster check 127.0.0.1:%d 2>&1", port);
        if (st == 0 && strstr(out, "[OK] All nodes agree about slots configuration.") &&
            strstr(out, "[OK] All 16384 slots covered.")) {
            free(out);
            return 1;
        }
        harness_sleep_ms(500);
    }
    fprintf(stderr, "# --cluster check: %s\n", out);
    free(out);
    return 0;
}

TEST(replicas_failover_and_manual_failover) {
    harness_server *s[6];
    char id[6][64];
    for (int i = 0; i < 6; i++) {
        s[i] = start_node(HARNESS_LIGHTNING, NULL);
        REQUIRE(s[i]);
        redisContext *c = harness_connect(s[i]);
        REQUIRE(c);
        myid(c, id[i]);
        harness_disconnect(c);
    }
    char *out;
    int st = harness_popen(&out,
                 "redis-cli --cluster create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d "
                 "127.0.0.1:%d 127.0.0.1:%d --cluster-replicas 1 --cluster-yes 2>&1",
                 s[0]->port, s[1]->port, s[2]->port, s[3]->port, s[4]->port, s[5]->port);
    CHECK_EQ_INT(st, 0);
    if (st != 0) fprintf(stderr, "# %s\n", out);
    free(out);
    for (int i = 0; i < 6; i++) REQUIRE(wait_has(s[i], "cluster_state:ok", "CLUSTER INFO"));
    REQUIRE(wait_check_ok(s[0]->port));

    /* Who replicates whom (redis-cli chose), once every node knows. */
    for (int i = 0; i < 6; i++) REQUIRE(wait_count(s[i], "slave", 3, "CLUSTER NODES"));
    redisContext *c0 = harness_connect(s[0]);
    REQUIRE(c0);
    int master_of[6];
    for (int i = 0; i < 6; i++) master_of[i] = -1;
    redisReply *r = redisCommand(c0, "CLUSTER NODES");
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    for (const char *ln = r->str; ln && *ln; ln = strchr(ln, '\n'), ln = ln ? ln + 1 : NULL) {
        char nid[64], addr[128], flags[128], mid[64];
        if (sscanf(ln, "%63s %127s %127s %63s", nid, addr, flags, mid) != 4) continue;
        if (!strstr(flags, "slave")) continue;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                if (!strcmp(nid, id[i]) && !strcmp(mid, id[j])) master_of[i] = j;
    }
    freeReplyObject(r);
    int replicas = 0, m = -1, rep = -1;
    for (int i = 0; i < 6; i++)
        if (master_of[i] >= 0) {
            replicas++;
            if (m < 0) {
                rep = i;
                m = master_of[i];
            }
        }
    CHECK_EQ_INT(replicas, 3);
    REQUIRE(m >= 0);
    harness_disconnect(c0);

    redisContext *cm = harness_connect(s[m]), *cr = harness_connect(s[rep]);
    REQUIRE(cm && cr);
    CHECK_EQ_STR(role(cr), "slave");
    r = redisCommand(cm, "CLUSTER REPLICAS %s", id[m]);
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
          strstr(r->element[0]->str, id[rep]) && strstr(r->element[0]->str, "slave"));
    freeReplyObject(r);
    r = redisCommand(cm, "CLUSTER SLOTS");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    for (size_t i = 0; i < r->elements; i++) CHECK_EQ_INT(r->element[i]->elements, 4);
    freeReplyObject(r);
    r = redisCommand(cm, "CLUSTER SHARDS");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    for (size_t i = 0; i < r->elements; i++) CHECK_EQ_INT(r->element[i]->element[3]->elements, 2);
    freeReplyObject(r);

    /* Writes through redis-cli -c; the replica gets those of its master. */
    for (int k = 0; k < 100; k++) {
        st = harness_popen(NULL, "redis-cli -c -p %d SET key:%d val:%d >/dev/null", s[k % 6]->port, k, k);
        CHECK_EQ_INT(st, 0);
    }
    r = redisCommand(cm, "DBSIZE");
    REQUIRE(r && r->type == REDIS_REPLY_INTEGER && r->integer > 0);
    long long mkeys = r->integer;
    freeReplyObject(r);
    char want[128];
    snprintf(want, sizeof(want), "int:%lld", mkeys);
    REQUIRE(wait_has(s[rep], want, "DBSIZE"));
    /* A key of the master's: MOVED from the replica unless READONLY;
     * writes are MOVED even then. */
    char key[32] = "";
    for (int k = 0; k < 100 && !key[0]; k++) {
        r = redisCommand(cm, "EXISTS key:%d", k);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) snprintf(key, sizeof(key), "key:%d", k);
        freeReplyObject(r);
    }
    REQUIRE(key[0]);
    CHECK(!strncmp(cmd(cr, "GET %s", key), "err:\"MOVED ", 11));
    CHECK_EQ_STR(cmd(cr, "READONLY"), "status:\"OK\"");
    snprintf(want, sizeof(want), "bulk:\"val:%s\"", key + 4);
    CHECK_EQ_STR(cmd(cr, "GET %s", key), want);
    CHECK(!strncmp(cmd(cr, "SET %s x", key), "err:\"MOVED ", 11));
    CHECK_EQ_STR(cmd(cr, "READWRITE"), "status:\"OK\"");
    CHECK(!strncmp(cmd(cr, "GET %s", key), "err:\"MOVED ", 11));
    CHECK_EQ_STR(cmd(cr, "CLUSTER FORGET %s", id[m]), "err:\"ERR Can't forget my master!\"");
    CHECK_EQ_STR(cmd(cr, "CLUSTER REPLICATE %s", id[rep]), "err:\"ERR Can't replicate myself\"");
    CHECK_EQ_STR(cmd(cm, "CLUSTER FAILOVER"),
                 "err:\"ERR You should send CLUSTER FAILOVER to a replica\"");
    snprintf(want, sizeof(want), "err:\"ERR To set a master the node must be empty and without "
                                 "assigned slots.\"");
    int other = -1;
    for (int i = 0; i < 6; i++)
        if (i != m && master_of[i] < 0) other = i;
    REQUIRE(other >= 0);
    CHECK_EQ_STR(cmd(cm, "CLUSTER REPLICATE %s", id[other]), want);
    CHECK_EQ_STR(cmd(cm, "CLUSTER REPLICATE %s", id[rep]),
                 "err:\"ERR I can only replicate a master, not a replica.\"");
    harness_disconnect(cm);
    harness_disconnect(cr);

    /* kill -9 of the master: its replica takes its slots. */
    harness_kill9(s[m]);
    REQUIRE(wait_has(s[rep], "role:master", "INFO replication"));
    for (int i = 0; i < 6; i++)
        if (i != m) CHECK(wait_has(s[i], "cluster_state:ok", "CLUSTER INFO"));
    st = harness_popen(&out, "redis-cli -c -p %d GET %s", s[(m + 1) % 6]->port, key);
    snprintf(want, sizeof(want), "val:%s\n", key + 4);
    CHECK_EQ_STR(out, want);
    free(out);
    st = harness_popen(&out, "redis-cli -c -p %d SET %s after-failover", s[(m + 1) % 6]->port, key);
    CHECK_EQ_STR(out, "OK\n");
    free(out);

    /* The old master comes back as a replica of the new one. */
    REQUIRE(harness_restart(s[m]) == 0);
    snprintf(want, sizeof(want), "slave %s", id[rep]);
    char nodes_cmd[] = "CLUSTER NODES";
    REQUIRE(wait_has(s[m], "role:slave", "INFO replication"));
    CHECK(wait_has(s[rep], want, nodes_cmd));
    CHECK(wait_has(s[m], "master_link_status:up", "INFO replication"));
    CHECK(wait_check_ok(s[rep]->port));

    /* CLUSTER FAILOVER on the old master: it gets its slots back, with
     * the write made while it was down. */
    cm = harness_connect(s[m]);
    REQUIRE(cm);
    CHECK_EQ_STR(cmd(cm, "CLUSTER FAILOVER"), "status:\"OK\"");
    harness_disconnect(cm);
    REQUIRE(wait_has(s[m], "role:master", "INFO replication"));
    CHECK(wait_has(s[rep], "role:slave", "INFO replication"));
    for (int i = 0; i < 6; i++) CHECK(wait_has(s[i], "cluster_state:ok", "CLUSTER INFO"));
    cm = harness_connect(s[m]);
    REQUIRE(cm);
    CHECK_EQ_STR(cmd(cm, "GET %s", key), "bulk:\"after-failover\"");
    CHECK_EQ_STR(cmd(cm, "SET %s again", key), "status:\"OK\"");
    harness_disconnect(cm);
    CHECK(wait_check_ok(s[0]->port));
    /* Every key is still there, on the masters. */
    long long total = 0;
    for (int i = 0; i < 6; i++) {
        redisContext *c = harness_connect(s[i]);
        if (!c) continue;
        if (!strcmp(role(c), "master")) {
            r = redisCommand(c, "DBSIZE");
            if (r && r->type == REDIS_REPLY_INTEGER) total += r->integer;
            freeReplyObject(r);
        }
        harness_disconnect(c);
    }
    CHECK_EQ_INT(total, 100);
    /* CLUSTER RESET of a replica: an empty master alone, replication
     * stopped, its keys gone (Redis's emptyData). */
    cr = harness_connect(s[rep]);
    REQUIRE(cr);
    CHECK_EQ_STR(role(cr), "slave");
    CHECK_EQ_STR(cmd(cr, "CLUSTER RESET"), "status:\"OK\"");
    CHECK_EQ_STR(role(cr), "master");
    CHECK_EQ_STR(cmd(cr, "DBSIZE"), "int:0");
    CHECK(wait_count(s[rep], "connected", 1, "CLUSTER NODES")); /* itself only */
    harness_disconnect(cr);
}

/* A real redis-server 7.0 replica of a Lightning master takes over with
 * CLUSTER FAILOVER (MFSTART, the paused master's offset, the vote), then
 * the Lightning node, now its replica, takes back. */
TEST(mixed_failover_with_redis) {
    if (!harness_have_redis()) testlib_skip("redis-server not found");
    int lcp, rcp;
    harness_server *ls = start_node(HARNESS_LIGHTNING, &lcp);
    harness_server *rs = start_node(HARNESS_REDIS, &rcp);
    REQUIRE(ls && rs);
    redisContext *l = harness_connect(ls), *r = harness_connect(rs);
    REQUIRE(l && r);
    char lid[64], rid[64], want[128];
    myid(l, lid);
    myid(r, rid);
    CHECK_EQ_STR(cmd(l, "CLUSTER ADDSLOTSRANGE 0 16383"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(l, "CLUSTER MEET 127.0.0.1 %d %d", rs->port, rcp), "status:\"OK\"");
    REQUIRE(wait_has(rs, lid, "CLUSTER NODES"));
    REQUIRE(wait_has(ls, "cluster_state:ok", "CLUSTER INFO"));
    /* Redis replicates the Lightning master. */
    CHECK_EQ_STR(cmd(r, "CLUSTER REPLICATE %s", lid), "status:\"OK\"");
    snprintf(want, sizeof(want), "slave %s", lid);
    REQUIRE(wait_has(ls, want, "CLUSTER NODES"));
    for (int k = 0; k < 50; k++) CHECK_EQ_STR(cmd(l, "SET {t}k%d v%d", k, k), "status:\"OK\"");
    REQUIRE(wait_has(rs, "master_link_status:up", "INFO replication"));
    REQUIRE(wait_has(rs, "int:50", "DBSIZE"));
    CHECK(!strncmp(cmd(r, "GET {t}k1"), "err:\"MOVED ", 11));
    CHECK_EQ_STR(cmd(r, "READONLY"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(r, "GET {t}k1"), "bulk:\"v1\"");

    /* Redis takes over with a manual failover; Lightning follows it. */
    CHECK_EQ_STR(cmd(r, "CLUSTER FAILOVER"), "status:\"OK\"");
    REQUIRE(wait_has(rs, "role:master", "INFO replication"));
    REQUIRE(wait_has(ls, "role:slave", "INFO replication"));
    snprintf(want, sizeof(want), "slave %s", rid);
    CHECK(wait_has(rs, want, "CLUSTER NODES"));
    CHECK(wait_has(ls, "cluster_state:ok", "CLUSTER INFO"));
    CHECK(wait_has(rs, "cluster_state:ok", "CLUSTER INFO"));
    harness_disconnect(l);
    harness_disconnect(r);
    l = harness_connect(ls);
    r = harness_connect(rs);
    REQUIRE(l && r);
    snprintf(want, sizeof(want), "err:\"MOVED 15891 127.0.0.1:%d\"", rs->port); /* {t} */
    CHECK_EQ_STR(cmd(l, "GET {t}k1"), want);
    CHECK_EQ_STR(cmd(r, "SET {t}new after"), "status:\"OK\"");
    CHECK(wait_has(ls, "int:51", "DBSIZE"));

    /* And back: the Lightning replica of the Redis master takes over. */
    CHECK_EQ_STR(cmd(l, "CLUSTER FAILOVER"), "status:\"OK\"");
    REQUIRE(wait_has(ls, "role:master", "INFO replication"));
    REQUIRE(wait_has(rs, "role:slave", "INFO replication"));
    CHECK(wait_has(ls, "cluster_state:ok", "CLUSTER INFO"));
    harness_disconnect(l);
    l = harness_connect(ls);
    REQUIRE(l);
    CHECK_EQ_STR(cmd(l, "GET {t}new"), "bulk:\"after\"");
    CHECK_EQ_STR(cmd(l, "SET {t}new back"), "status:\"OK\"");
    harness_disconnect(l);
    harness_disconnect(r);
}

/* Automatic failover across implementations: masters L1, L3 (Lightning)
 * and R1 (Redis); Rr (Redis) replicates L1, Lr (Lightning) replicates R1.
 * kill -9 of L1: Rr is elected with the votes of L3 and R1; kill -9 of
 * R1: Lr is elected with the votes of L3 and Rr. */
TEST(mixed_automatic_failover) {
    if (!harness_have_redis()) testlib_skip("redis-server not found");
    enum { L1, L3, R1, RR, LR, N };
    harness_server *s[N];
    int cp[N];
    char id[N][64];
    for (int i = 0; i < N; i++) {
        s[i] = start_node(i == R1 || i == RR ? HARNESS_REDIS : HARNESS_LIGHTNING, &cp[i]);
        REQUIRE(s[i]);
        redisContext *c = harness_connect(s[i]);
        REQUIRE(c);
        myid(c, id[i]);
        if (i == L1) CHECK_EQ_STR(cmd(c, "CLUSTER ADDSLOTSRANGE 0 5460"), "status:\"OK\"");
        if (i == L3) CHECK_EQ_STR(cmd(c, "CLUSTER ADDSLOTSRANGE 5461 10922"), "status:\"OK\"");
        if (i == R1) CHECK_EQ_STR(cmd(c, "CLUSTER ADDSLOTSRANGE 10923 16383"), "status:\"OK\"");
        if (i != L1)
            CHECK_EQ_STR(cmd(c, "CLUSTER MEET 127.0.0.1 %d %d", s[L1]->port, cp[L1]), "status:\"OK\"");
        harness_disconnect(c);
    }
    /* Every node knows every other by its real name (a node met through
     * gossip is first listed under a random handshake name) and links to it
     * (" connected": not "disconnected"). */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) REQUIRE(wait_has(s[i], id[j], "CLUSTER NODES"));
        REQUIRE(wait_count(s[i], " connected", N, "CLUSTER NODES"));
    }
    redisContext *c = harness_connect(s[RR]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CLUSTER REPLICATE %s", id[L1]), "status:\"OK\"");
    harness_disconnect(c);
    c = harness_connect(s[LR]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CLUSTER REPLICATE %s", id[R1]), "status:\"OK\"");
    harness_disconnect(c);
    for (int i = 0; i < N; i++) {
        REQUIRE(wait_count(s[i], "slave", 2, "CLUSTER NODES"));
        REQUIRE(wait_has(s[i], "cluster_state:ok", "CLUSTER INFO"));
    }
    REQUIRE(wait_has(s[RR], "master_link_status:up", "INFO replication"));
    REQUIRE(wait_has(s[LR], "master_link_status:up", "INFO replication"));
    /* Keys on both masters that will fail; replicated before the kill. */
    c = harness_connect(s[L1]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET {b}x 1"), "status:\"OK\""); /* slot 3300: L1's */
    CHECK(!strncmp(cmd(c, "SET a 1"), "err:\"MOVED 15495 ", 17)); /* R1's */
    harness_disconnect(c);
    c = harness_connect(s[R1]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET a 1"), "status:\"OK\"");
    harness_disconnect(c);
    REQUIRE(wait_has(s[RR], "int:1", "DBSIZE"));
    REQUIRE(wait_has(s[LR], "int:1", "DBSIZE"));

    s[L1]->expect_exit = 1; /* left down: a kill, not a crash */
    harness_kill9(s[L1]);
    REQUIRE(wait_has(s[RR], "role:master", "INFO replication"));
    for (int i = 0; i < N; i++)
        if (i != L1) CHECK(wait_has(s[i], "cluster_state:ok", "CLUSTER INFO"));
    char want[128];
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d", id[RR], s[RR]->port);
    CHECK(wait_has(s[L3], want, "CLUSTER NODES"));

    harness_kill9(s[R1]);
    REQUIRE(wait_has(s[LR], "role:master", "INFO replication"));
    CHECK(wait_has(s[L3], "cluster_state:ok", "CLUSTER INFO"));
    CHECK(wait_has(s[RR], "cluster_state:ok", "CLUSTER INFO"));
    CHECK(wait_has(s[LR], "cluster_state:ok", "CLUSTER INFO"));
    c = harness_connect(s[LR]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET a"), "bulk:\"1\"");
    CHECK_EQ_STR(cmd(c, "SET a 2"), "status:\"OK\"");
    harness_disconnect(c);
    c = harness_connect(s[RR]);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET {b}x"), "bulk:\"1\"");
    harness_disconnect(c);
}

int main(void) {
    RUN(replicas_failover_and_manual_failover);
    RUN(mixed_failover_with_redis);
    RUN(mixed_automatic_failover);
    return testlib_finish();
}
