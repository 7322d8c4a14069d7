/*
 * Cluster mode with real processes: `redis-cli --cluster create` of three
 * Lightning masters and `--cluster check`; `redis-cli -c` following MOVED;
 * MOVED / ASK / ASKING / TRYAGAIN / CROSSSLOT / CLUSTERDOWN (full coverage,
 * reads when down), MULTI/EXEC routing, and the CLUSTER subcommands' errors
 * compared with real Redis 7.0 nodes set up the same way; a Lightning node
 * joining a cluster of real redis-server nodes with CLUSTER MEET (both sides
 * agree on CLUSTER NODES) and taking an empty slot from them; nodes.conf
 * kept across a restart and a corrupt one refused.
 * Waits are bounded polls (the cluster converges within seconds); nothing
 * asserts on timing.
 */
#include "../difftest.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

static harness_server *start_node(harness_kind kind, const char *extra_name, const char *extra_val) {
    char cport[16];
    snprintf(cport, sizeof(cport), "%d", harness_free_port());
    const char *d[] = {"cluster-enabled", "yes", "cluster-port", cport,
                       "cluster-node-timeout", "3000", extra_name, extra_val, NULL};
    if (!extra_name) d[6] = NULL;
    harness_opts o = {.kind = kind, .directives = d};
    return harness_start_opts(&o);
}

/* Polls until the reply of c to argv contains want (up to 30 s). */
static int wait_reply_has(redisContext *c, const char *want, const char *const *argv) {
    for (int i = 0; i < 600; i++) {
        if (strstr(cmd_argv(c, argv), want)) return 1;
        usleep(50000);
    }
    fprintf(stderr, "# waited for %s, last reply: %s\n", want, cmd_argv(c, argv));
    return 0;
}
#define WAIT_HAS(c, want, ...) wait_reply_has((c), (want), (const char *const[]){__VA_ARGS__, NULL})

static const char *myid(redisContext *c) {
    static char ids[4][64];
    static int k;
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    char *out = ids[k++ % 4];
    snprintf(out, 64, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
    return out;
}

/* CLUSTER NODES reduced to what every node must agree on: one sorted line
 * "<id> <port> master <epoch> <slots>" per node. */
static char *nodes_view(redisContext *c) {
    redisReply *r = redisCommand(c, "CLUSTER NODES");
    char *out = calloc(1, 8192);
    if (!r || r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return out;
    }
    char *text = strdup(r->str);
    freeReplyObject(r);
    char *lines = calloc(1, 8192);
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char id[64], addr[256], flags[128], master[64], link[32], slots[2048] = "";
        long long ps, pr, ep;
        int used = 0;
        if (sscanf(ln, "%63s %255s %127s %63s %lld %lld %lld %31s %n", id, addr, flags, master, &ps,
                   &pr, &ep, link, &used) < 8)
            continue;
        snprintf(slots, sizeof(slots), "%s", ln + used);
        char *at = strchr(addr, '@');
        if (at) *at = '\0';
        char *colon = strrchr(addr, ':');
        char line[2600];
        snprintf(line, sizeof(line), "%s %s %s %lld %s %s\n", id, colon ? colon + 1 : addr,
                 strstr(flags, "master") ? "master" : flags, ep, link, slots);
        strncat(lines, line, 8192 - strlen(lines) - 1);
    }
    free(text);
    char *sorted = harness_sort_lines(lines);
    free(lines);
    free(out);
    return sorted;
}

static int views_agree(redisContext **cs, int n) {
    char *v0 = nodes_view(cs[0]);
    int ok = strlen(v0) > 0;
    for (int i = 1; i < n && ok; i++) {
        char *v = nodes_view(cs[i]);
        ok = !strcmp(v0, v);
        free(v);
    }
    free(v0);
    return ok;
}

static int wait_views_agree(redisContext **cs, int n) {
    for (int i = 0; i < 600; i++) {
        if (views_agree(cs, n)) return 1;
        usleep(50000);
    }
    for (int i = 0; i < n; i++) {
        char *v = nodes_view(cs[i]);
        fprintf(stderr, "# view of node %d:\n%s", i, v);
        free(v);
    }
    return 0;
}

/* ---- redis-cli --cluster create / check, redis-cli -c ----------------------------- */

TEST(cli_create_check_and_follow_moved) {
    harness_server *s[3];
    redisContext *c[3];
    for (int i = 0; i < 3; i++) {
        s[i] = start_node(HARNESS_LIGHTNING, NULL, NULL);
        REQUIRE(s[i]);
        c[i] = harness_connect(s[i]);
        REQUIRE(c[i]);
    }
    char *out;
    int st = harness_popen(&out,
                 "redis-cli --cluster create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d "
                 "--cluster-replicas 0 --cluster-yes 2>&1",
                 s[0]->port, s[1]->port, s[2]->port);
    CHECK_EQ_INT(st, 0);
    CHECK(strstr(out, "[OK] All 16384 slots covered.") != NULL);
    if (st != 0) fprintf(stderr, "# %s\n", out);
    free(out);
    for (int i = 0; i < 3; i++) REQUIRE(WAIT_HAS(c[i], "cluster_state:ok", "CLUSTER", "INFO"));
    REQUIRE(wait_views_agree(c, 3));
    st = harness_popen(&out, "redis-cli --cluster check 127.0.0.1:%d 2>&1", s[1]->port);
    CHECK_EQ_INT(st, 0);
    CHECK(strstr(out, "[OK] All nodes agree about slots configuration.") != NULL);
    CHECK(strstr(out, "[OK] All 16384 slots covered.") != NULL);
    free(out);
    /* redis-cli -c follows MOVED: write 30 keys through node 0, read them
     * back through node 2. */
    for (int k = 0; k < 30; k++) {
        st = harness_popen(&out, "redis-cli -c -p %d SET key:%d val:%d", s[0]->port, k, k);
        CHECK_EQ_INT(st, 0);
        CHECK_EQ_STR(out, "OK\n");
        free(out);
    }
    for (int k = 0; k < 30; k += 7) {
        st = harness_popen(&out, "redis-cli -c -p %d GET key:%d", s[2]->port, k);
        char want[32];
        snprintf(want, sizeof(want), "val:%d\n", k);
        CHECK_EQ_STR(out, want);
        free(out);
    }
    long long total = 0;
    for (int i = 0; i < 3; i++) {
        redisReply *r = redisCommand(c[i], "DBSIZE");
        if (r && r->type == REDIS_REPLY_INTEGER) total += r->integer;
        freeReplyObject(r);
    }
    CHECK_EQ_INT(total, 30);
    /* Without -c: MOVED names the slot and its owner's address. */
    redisReply *r = redisCommand(c[0], "CLUSTER KEYSLOT key:1");
    REQUIRE(r && r->type == REDIS_REPLY_INTEGER);
    long long slot = r->integer;
    freeReplyObject(r);
    int owner = -1;
    for (int i = 0; i < 3; i++) {
        r = redisCommand(c[i], "CLUSTER COUNTKEYSINSLOT %lld", slot);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) owner = i;
        freeReplyObject(r);
    }
    REQUIRE(owner >= 0);
    char want[128];
    snprintf(want, sizeof(want), "array[bulk:\"key:1\"]");
    CHECK_EQ_STR(cmd(c[owner], "CLUSTER GETKEYSINSLOT %lld 10", slot), want);
    int other = (owner + 1) % 3;
    snprintf(want, sizeof(want), "err:\"MOVED %lld 127.0.0.1:%d\"", slot, s[owner]->port);
    CHECK_EQ_STR(cmd(c[other], "GET key:1"), want);
    CHECK_EQ_STR(cmd(c[owner], "GET key:1"), "bulk:\"val:1\"");
    /* CLUSTER SLOTS / SHARDS list all three masters. */
    r = redisCommand(c[0], "CLUSTER SLOTS");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
    long long covered = 0;
    for (size_t i = 0; i < r->elements; i++)
        covered += r->element[i]->element[1]->integer - r->element[i]->element[0]->integer + 1;
    CHECK_EQ_INT(covered, 16384);
    freeReplyObject(r);
    r = redisCommand(c[0], "CLUSTER SHARDS");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    freeReplyObject(r);
    CHECK(strstr(cmd(c[0], "INFO clients"), "cluster_connections:4") != NULL);
    r = redisCommand(c[0], "CLUSTER LINKS");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2);
    freeReplyObject(r);
}

/* ---- Redirections and errors, against Redis ------------------------------------------ */

/* A single node (Lightning or Redis) serving slots 0-8191. */
static redisContext *half_node(harness_kind kind, harness_server **out) {
    harness_server *s = start_node(kind, "cluster-require-full-coverage", "no");
    *out = s;
    if (!s) return NULL;
    redisContext *c = harness_connect(s);
    if (!c) return NULL;
    cmd(c, "CLUSTER ADDSLOTSRANGE 0 8191");
    WAIT_HAS(c, "cluster_state:ok", "CLUSTER", "INFO");
    return c;
}

TEST(redirection_errors_match_redis) {
    harness_server *ls, *rs = NULL;
    redisContext *l = half_node(HARNESS_LIGHTNING, &ls);
    REQUIRE(l);
    redisContext *r = harness_have_redis() ? half_node(HARNESS_REDIS, &rs) : NULL;
    if (!r) testlib_skip("redis-server not found");
    /* "a" is slot 15495 (unserved), "b" 3300 and "{b}x" 3300 (served). */
    COMPARE(l, r, "SET", "b", "1");
    COMPARE(l, r, "GET", "a");
    COMPARE(l, r, "MSET", "b", "1", "{b}x", "2");
    COMPARE(l, r, "MSET", "b", "1", "c", "2");
    COMPARE(l, r, "MGET", "b", "{b}x");
    COMPARE(l, r, "EXISTS", "b", "b");
    COMPARE(l, r, "SORT", "b");
    COMPARE(l, r, "PING");
    COMPARE(l, r, "SELECT", "1");
    COMPARE(l, r, "SELECT", "0");
    COMPARE(l, r, "MOVE", "b", "1");
    COMPARE(l, r, "SWAPDB", "0", "1");
    COMPARE(l, r, "COPY", "b", "{b}y", "DB", "1");
    COMPARE(l, r, "COPY", "b", "{b}y", "DB", "x");
    COMPARE(l, r, "COPY", "b", "{b}y", "DB", "99");
    COMPARE(l, r, "COPY", "b", "b", "DB", "0");
    COMPARE(l, r, "COPY", "b", "{b}y", "DB", "0");
    COMPARE(l, r, "DEL", "{b}y");
    COMPARE(l, r, "CLUSTER", "COUNTKEYSINSLOT", "3300");
    COMPARE_UNORDERED(l, r, "CLUSTER", "GETKEYSINSLOT", "3300", "10");
    /* MULTI: a refused command fails EXEC; EXEC checks every queued key. */
    COMPARE(l, r, "MULTI");
    COMPARE(l, r, "SET", "a", "1");
    COMPARE(l, r, "EXEC");
    COMPARE(l, r, "MULTI");
    COMPARE(l, r, "SET", "b", "2");
    COMPARE(l, r, "GET", "{b}x");
    COMPARE(l, r, "EXEC");
    COMPARE(l, r, "SET", "b", "4");
    COMPARE(l, r, "READONLY");
    COMPARE(l, r, "READWRITE");
    COMPARE(l, r, "ASKING");
    COMPARE(l, r, "CLUSTER", "KEYSLOT", "{user1000}.following");
}

/* A node serving half the slots with cluster-require-full-coverage yes: the
 * cluster is down; cluster-allow-reads-when-down lets reads through. */
TEST(cluster_down_matches_redis) {
    harness_server *ls = start_node(HARNESS_LIGHTNING, NULL, NULL);
    REQUIRE(ls);
    harness_server *rs = harness_have_redis() ? start_node(HARNESS_REDIS, NULL, NULL) : NULL;
    if (!rs) testlib_skip("redis-server not found");
    redisContext *l = harness_connect(ls), *r = harness_connect(rs);
    COMPARE(l, r, "CLUSTER", "ADDSLOTSRANGE", "0", "8191");
    REQUIRE(WAIT_HAS(l, "cluster_slots_assigned:8192", "CLUSTER", "INFO"));
    COMPARE(l, r, "GET", "b");
    COMPARE(l, r, "GET", "a");
    COMPARE(l, r, "SET", "b", "1");
    COMPARE(l, r, "PING");
    COMPARE(l, r, "CONFIG", "SET", "cluster-allow-reads-when-down", "yes");
    COMPARE(l, r, "GET", "b");
    COMPARE(l, r, "MGET", "b", "{b}x");
    COMPARE(l, r, "SET", "b", "3");
    COMPARE(l, r, "GET", "a");
    COMPARE(l, r, "MULTI");
    COMPARE(l, r, "GET", "b");
    COMPARE(l, r, "SET", "b", "4");
    COMPARE(l, r, "EXEC");
    COMPARE(l, r, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383");
    REQUIRE(WAIT_HAS(l, "cluster_state:ok", "CLUSTER", "INFO"));
    if (r) REQUIRE(WAIT_HAS(r, "cluster_state:ok", "CLUSTER", "INFO"));
    COMPARE(l, r, "SET", "b", "5");
    COMPARE(l, r, "GET", "b");
}

TEST(cluster_subcommand_errors_match_redis) {
    harness_server *ls = start_node(HARNESS_LIGHTNING, NULL, NULL);
    REQUIRE(ls);
    harness_server *rs = harness_have_redis() ? start_node(HARNESS_REDIS, NULL, NULL) : NULL;
    if (!rs) testlib_skip("redis-server not found");
    redisContext *l = harness_connect(ls), *r = harness_connect(rs);
    REQUIRE(l);
    static const char *const cases[][8] = {
        {"CLUSTER", "ADDSLOTS", "abc"},
        {"CLUSTER", "ADDSLOTS", "16384"},
        {"CLUSTER", "ADDSLOTS", "-1"},
        {"CLUSTER", "ADDSLOTS", "5", "5"},
        {"CLUSTER", "ADDSLOTS", "5", "abc"},
        {"CLUSTER", "DELSLOTS", "6"},
        {"CLUSTER", "ADDSLOTSRANGE", "5", "2"},
        {"CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"},
        {"CLUSTER", "ADDSLOTSRANGE", "1", "3", "2", "4"},
        {"CLUSTER", "DELSLOTSRANGE", "100", "200"},
        {"CLUSTER", "ADDSLOTS", "7"},
        {"CLUSTER", "ADDSLOTS", "7"},
        {"CLUSTER", "ADDSLOTSRANGE", "10", "20"},
        {"CLUSTER", "DELSLOTSRANGE", "10", "12"},
        {"CLUSTER", "DELSLOTS", "7"},
        {"CLUSTER", "SETSLOT", "abc", "STABLE"},
        {"CLUSTER", "SETSLOT", "15", "STABLE"},
        {"CLUSTER", "SETSLOT", "15", "BOGUS"},
        {"CLUSTER", "SETSLOT", "15", "NODE"},
        {"CLUSTER", "SETSLOT", "15", "NODE", "nosuchnode"},
        {"CLUSTER", "SETSLOT", "15", "MIGRATING", "nosuchnode"},
        {"CLUSTER", "SETSLOT", "99", "MIGRATING", "nosuchnode"},
        {"CLUSTER", "SETSLOT", "15", "IMPORTING", "nosuchnode"},
        {"CLUSTER", "SETSLOT", "99", "IMPORTING", "nosuchnode"},
        {"CLUSTER", "MEET", "1.2.3", "5"},
        {"CLUSTER", "MEET", "127.0.0.1", "abc"},
        {"CLUSTER", "MEET", "127.0.0.1", "0"},
        {"CLUSTER", "MEET", "127.0.0.1", "70000"},
        {"CLUSTER", "MEET", "127.0.0.1", "5", "x"},
        {"CLUSTER", "MEET", "127.0.0.1", "5", "6", "7"},
        {"CLUSTER", "FORGET", "nosuchnode"},
        {"CLUSTER", "COUNT-FAILURE-REPORTS", "nosuchnode"},
        {"CLUSTER", "REPLICAS", "nosuchnode"},
        {"CLUSTER", "SLAVES", "nosuchnode"},
        {"CLUSTER", "REPLICATE", "nosuchnode"},
        {"CLUSTER", "REPLICATE"},
        {"CLUSTER", "FAILOVER"},
        {"CLUSTER", "FAILOVER", "FORCE"},
        {"CLUSTER", "FAILOVER", "TAKEOVER"},
        {"CLUSTER", "FAILOVER", "bogus"},
        {"CLUSTER", "FAILOVER", "FORCE", "x"},
        {"FAILOVER"},
        {"REPLICAOF", "NO", "ONE"},
        {"REPLICAOF", "127.0.0.1", "1"},
        {"CLUSTER", "COUNTKEYSINSLOT", "16384"},
        {"CLUSTER", "COUNTKEYSINSLOT", "x"},
        {"CLUSTER", "GETKEYSINSLOT", "1", "-1"},
        {"CLUSTER", "GETKEYSINSLOT", "x", "1"},
        {"CLUSTER", "GETKEYSINSLOT", "20000", "1"},
        {"CLUSTER", "SET-CONFIG-EPOCH", "-1"},
        {"CLUSTER", "SET-CONFIG-EPOCH", "x"},
        {"CLUSTER", "RESET", "bogus"},
        {"CLUSTER", "RESET", "soft", "x"},
        {"CLUSTER", "KEYSLOT"},
        {"CLUSTER", "NOSUCH"},
        {"CLUSTER"},
        {"CLUSTER", "HELP"},
        {"CLUSTER", "SET-CONFIG-EPOCH", "5"},
        {"CLUSTER", "SET-CONFIG-EPOCH", "6"},
        {"CLUSTER", "BUMPEPOCH"},
        {"CLUSTER", "FLUSHSLOTS"},
        {"SET", "k", "v"},
        {"CLUSTER", "ADDSLOTS", "12539"},
        {"SET", "k", "v"},
        {"CLUSTER", "FLUSHSLOTS"},
        {"CLUSTER", "RESET"},
        {"CLUSTER", "SETSLOT", "12539", "NODE", "x"},
        {NULL},
    };
    for (int i = 0; cases[i][0]; i++) harness_compare(__FILE__, __LINE__, l, r, 0, cases[i]);
    /* Node-id errors name the argument; ids differ between the servers. */
    char lid[64];
    snprintf(lid, sizeof(lid), "%s", myid(l));
    CHECK_EQ_STR(cmd(l, "CLUSTER FORGET %s", lid), "err:\"ERR I tried hard but I can't forget myself...\"");
    CHECK_EQ_STR(cmd(l, "CLUSTER REPLICATE %s", lid), "err:\"ERR Can't replicate myself\"");
    CHECK_EQ_STR(cmd(l, "CLUSTER REPLICAS %s", lid), "array[]");
    CHECK_EQ_STR(cmd(l, "CLUSTER COUNT-FAILURE-REPORTS %s", lid), "int:0");
}

TEST(cluster_commands_need_cluster_mode) {
    harness_server *ls = harness_start(NULL), *rs = harness_start_redis(NULL);
    REQUIRE(ls);
    redisContext *l = harness_connect(ls), *r = harness_connect(rs);
    COMPARE(l, r, "CLUSTER", "INFO");
    COMPARE(l, r, "CLUSTER", "KEYSLOT", "a");
    COMPARE(l, r, "ASKING");
    COMPARE(l, r, "READONLY");
    COMPARE(l, r, "READWRITE");
    COMPARE(l, r, "SELECT", "1");
}

/* ---- ASK / ASKING / TRYAGAIN between two nodes ------------------------------------------- */

/* reply with ":<port a>" written ":A" and ":<port b>" ":B". */
static void norm_ports(char *out, const char *reply, int pa, int pb) {
    char ta[16], tb[16];
    snprintf(ta, sizeof(ta), ":%d", pa);
    snprintf(tb, sizeof(tb), ":%d", pb);
    size_t o = 0;
    for (const char *p = reply; *p && o < 150;) {
        if (!strncmp(p, ta, strlen(ta)) && !isdigit((unsigned char)p[strlen(ta)])) {
            o += (size_t)snprintf(out + o, 160 - o, ":A");
            p += strlen(ta);
        } else if (!strncmp(p, tb, strlen(tb)) && !isdigit((unsigned char)p[strlen(tb)])) {
            o += (size_t)snprintf(out + o, 160 - o, ":B");
            p += strlen(tb);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static void ask_case(harness_kind kind, char out[][160], int *nout) {
    harness_server *a = start_node(kind, NULL, NULL), *b = start_node(kind, NULL, NULL);
    if (!a || !b) return;
    redisContext *ca = harness_connect(a), *cb = harness_connect(b);
    cmd(ca, "CLUSTER ADDSLOTSRANGE 0 16383");
    char bcport[32];
    redisReply *rr = redisCommand(cb, "CONFIG GET cluster-port");
    snprintf(bcport, sizeof(bcport), "%s", rr && rr->elements == 2 ? rr->element[1]->str : "0");
    freeReplyObject(rr);
    cmd(ca, "CLUSTER MEET 127.0.0.1 %d %s", b->port, bcport);
    WAIT_HAS(cb, "cluster_known_nodes:2", "CLUSTER", "INFO");
    WAIT_HAS(ca, "cluster_state:ok", "CLUSTER", "INFO");
    WAIT_HAS(cb, "cluster_state:ok", "CLUSTER", "INFO");
    char ida[64], idb[64];
    snprintf(ida, sizeof(ida), "%s", myid(ca));
    snprintf(idb, sizeof(idb), "%s", myid(cb));
    /* Slot 3300 ("b", "{b}x") moves from a to b. Replies name the
     * nodes' ports: they read "A" and "B" here. */
    cmd(ca, "SET b 1");
    int n = 0;
#define STEP(c, ...) norm_ports(out[n++], cmd((c), __VA_ARGS__), a->port, b->port)
    STEP(cb, "CLUSTER SETSLOT 3300 IMPORTING %s", ida);
    STEP(ca, "CLUSTER SETSLOT 3300 MIGRATING %s", idb);
    STEP(ca, "GET b");          /* present: served */
    STEP(ca, "GET {b}x");                   /* missing: ASK */
    STEP(ca, "MGET b {b}x");    /* some present: TRYAGAIN */
    STEP(cb, "GET {b}x");                   /* b without ASKING: MOVED */
    STEP(cb, "ASKING");
    STEP(cb, "GET {b}x");       /* with ASKING: served */
    STEP(cb, "GET {b}x");       /* ASKING lasted one command */
    STEP(cb, "ASKING");
    STEP(cb, "MGET {b}x {b}y"); /* several missing: TRYAGAIN */
    STEP(ca, "DEL b");
    STEP(ca, "CLUSTER SETSLOT 3300 NODE %s", idb);
    STEP(cb, "CLUSTER SETSLOT 3300 NODE %s", idb);
    STEP(cb, "SET {b}x 5");
    *nout = n;
#undef STEP
}

TEST(ask_asking_tryagain_match_redis) {
    char l[32][160], r[32][160];
    int nl = 0, nr = 0;
    ask_case(HARNESS_LIGHTNING, l, &nl);
    REQUIRE(nl > 0);
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    ask_case(HARNESS_REDIS, r, &nr);
    CHECK_EQ_INT(nl, nr);
    for (int i = 0; i < nl && i < nr; i++) {
        if (strcmp(l[i], r[i])) fprintf(stderr, "# step %d\n", i);
        CHECK_EQ_STR(l[i], r[i]);
    }
}

/* ---- A Lightning node joins a Redis cluster ---------------------------------------------- */

TEST(join_redis_cluster) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    harness_server *r1 = start_node(HARNESS_REDIS, NULL, NULL);
    harness_server *r2 = start_node(HARNESS_REDIS, NULL, NULL);
    harness_server *ln = start_node(HARNESS_LIGHTNING, "cluster-announce-hostname", "lightning-1");
    REQUIRE(r1 && r2 && ln);
    redisContext *c[3] = {harness_connect(r1), harness_connect(r2), harness_connect(ln)};
    REQUIRE(c[0] && c[1] && c[2]);
    cmd(c[0], "CLUSTER ADDSLOTSRANGE 0 8191");
    cmd(c[1], "CLUSTER ADDSLOTSRANGE 8192 16383");
    cmd(c[0], "CLUSTER SET-CONFIG-EPOCH 1");
    cmd(c[1], "CLUSTER SET-CONFIG-EPOCH 2");
    char r1cport[32], r2cport[32];
    redisReply *rr = redisCommand(c[0], "CONFIG GET cluster-port");
    snprintf(r1cport, sizeof(r1cport), "%s", rr->element[1]->str);
    freeReplyObject(rr);
    rr = redisCommand(c[1], "CONFIG GET cluster-port");
    snprintf(r2cport, sizeof(r2cport), "%s", rr->element[1]->str);
    freeReplyObject(rr);
    CHECK_EQ_STR(cmd(c[0], "CLUSTER MEET 127.0.0.1 %d %s", r2->port, r2cport), "status:\"OK\"");
    REQUIRE(wait_views_agree(c, 2));
    /* The Lightning node meets one Redis node; gossip does the rest. */
    CHECK_EQ_STR(cmd(c[2], "CLUSTER MEET 127.0.0.1 %d %s", r1->port, r1cport), "status:\"OK\"");
    for (int i = 0; i < 3; i++) REQUIRE(WAIT_HAS(c[i], "cluster_known_nodes:3", "CLUSTER", "INFO"));
    REQUIRE(wait_views_agree(c, 3));
    REQUIRE(WAIT_HAS(c[2], "cluster_state:ok", "CLUSTER", "INFO"));
    /* The Redis nodes learn the Lightning node's hostname extension (with
     * its next ping). */
    CHECK(WAIT_HAS(c[0], ",lightning-1 master", "CLUSTER", "NODES"));
    CHECK(WAIT_HAS(c[1], ",lightning-1 master", "CLUSTER", "NODES"));
    /* An empty slot moves onto the Lightning node the way redis-cli's
     * reshard moves it (IMPORTING, MIGRATING, NODE everywhere). */
    char lid[64], r1id[64];
    snprintf(lid, sizeof(lid), "%s", myid(c[2]));
    snprintf(r1id, sizeof(r1id), "%s", myid(c[0]));
    CHECK_EQ_STR(cmd(c[2], "CLUSTER SETSLOT 100 IMPORTING %s", r1id), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c[0], "CLUSTER SETSLOT 100 MIGRATING %s", lid), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c[2], "CLUSTER SETSLOT 100 NODE %s", lid), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c[0], "CLUSTER SETSLOT 100 NODE %s", lid), "status:\"OK\"");
    REQUIRE(wait_views_agree(c, 3));
    CHECK(strstr(cmd(c[1], "CLUSTER NODES"), "lightning-1 master - ") != NULL);
    /* A client of a Redis node is sent to the Lightning node for slot 100. */
    char k[32]; /* a key of slot 100 */
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        rr = redisCommand(c[2], "CLUSTER KEYSLOT %s", k);
        long long sl = rr && rr->type == REDIS_REPLY_INTEGER ? rr->integer : -1;
        freeReplyObject(rr);
        if (sl == 100) break;
    }
    char want[96];
    snprintf(want, sizeof(want), "err:\"MOVED 100 127.0.0.1:%d\"", ln->port);
    CHECK_EQ_STR(cmd(c[1], "SET %s v", k), want);
    char *out;
    int st = harness_popen(&out, "redis-cli -c -p %d SET %s v", r1->port, k);
    CHECK_EQ_INT(st, 0);
    CHECK_EQ_STR(out, "OK\n");
    free(out);
    CHECK_EQ_STR(cmd(c[2], "GET %s", k), "bulk:\"v\"");
    st = harness_popen(&out, "redis-cli --cluster check 127.0.0.1:%d 2>&1", ln->port);
    CHECK_EQ_INT(st, 0);
    CHECK(strstr(out, "[OK] All nodes agree about slots configuration.") != NULL);
    free(out);
    /* kill -9 of a Redis master: the Lightning node and the other Redis
     * node agree it failed (PFAIL, then FAIL by the majority of masters),
     * and the cluster is down (its slots are not served). */
    char r2id[64], want_fail[128];
    snprintf(r2id, sizeof(r2id), "%s", myid(c[1]));
    harness_kill9(r2);
    r2->expect_exit = 1;
    snprintf(want_fail, sizeof(want_fail), "%s 127.0.0.1:%d@%s master,fail ", r2id, r2->port,
             r2cport);
    CHECK(WAIT_HAS(c[2], want_fail, "CLUSTER", "NODES"));
    CHECK(WAIT_HAS(c[0], want_fail, "CLUSTER", "NODES"));
    CHECK(WAIT_HAS(c[2], "cluster_state:fail", "CLUSTER", "INFO"));
}

/* A node whose slot is claimed by a master with a newer config epoch gives
 * it up and deletes its keys there, logged in the WAL: they stay deleted
 * after kill -9 and recovery. */
TEST(lost_slot_keys_deleted) {
    harness_server *a = start_node(HARNESS_LIGHTNING, "appendonly", "yes");
    harness_server *b = start_node(HARNESS_LIGHTNING, NULL, NULL);
    REQUIRE(a && b);
    redisContext *ca = harness_connect(a), *cb = harness_connect(b);
    REQUIRE(ca && cb);
    CHECK_EQ_STR(cmd(ca, "CLUSTER ADDSLOTSRANGE 0 16383"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(ca, "CLUSTER SET-CONFIG-EPOCH 1"), "status:\"OK\"");
    redisReply *rr = redisCommand(cb, "CONFIG GET cluster-port");
    REQUIRE(rr && rr->elements == 2);
    CHECK_EQ_STR(cmd(ca, "CLUSTER MEET 127.0.0.1 %d %s", b->port, rr->element[1]->str),
                 "status:\"OK\"");
    freeReplyObject(rr);
    REQUIRE(WAIT_HAS(ca, "cluster_state:ok", "CLUSTER", "INFO"));
    REQUIRE(WAIT_HAS(cb, "cluster_known_nodes:2", "CLUSTER", "INFO"));
    /* "b" and "{b}x" are in slot 3300, "a" in 15495. */
    CHECK_EQ_STR(cmd(ca, "MSET b 1 {b}x 2"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(ca, "SET a 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(ca, "CLUSTER COUNTKEYSINSLOT 3300"), "int:2");
    char idb[64];
    snprintf(idb, sizeof(idb), "%s", myid(cb));
    REQUIRE(WAIT_HAS(cb, "cluster_state:ok", "CLUSTER", "INFO"));
    CHECK_EQ_STR(cmd(cb, "CLUSTER SETSLOT 3300 NODE %s", idb), "status:\"OK\"");
    CHECK(strstr(cmd(cb, "CLUSTER BUMPEPOCH"), "BUMPED") != NULL);
    REQUIRE(WAIT_HAS(ca, "int:0", "CLUSTER", "COUNTKEYSINSLOT", "3300"));
    CHECK_EQ_STR(cmd(ca, "DBSIZE"), "int:1");
    char want[96];
    snprintf(want, sizeof(want), "err:\"MOVED 3300 127.0.0.1:%d\"", b->port);
    CHECK_EQ_STR(cmd(ca, "GET b"), want);
    /* kill -9: only the WAL has the deletions. */
    harness_kill9(a);
    REQUIRE(harness_restart(a) == 0);
    ca = harness_connect(a);
    REQUIRE(ca);
    CHECK_EQ_STR(cmd(ca, "DBSIZE"), "int:1");
    CHECK_EQ_STR(cmd(ca, "CLUSTER COUNTKEYSINSLOT 3300"), "int:0");
}

/* ---- nodes.conf ---------------------------------------------------------------------- */

TEST(nodes_conf_survives_restart) {
    harness_server *s = start_node(HARNESS_LIGHTNING, "cluster-require-full-coverage", "no");
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    /* "{x}1" is in slot 16287. */
    CHECK_EQ_STR(cmd(c, "CLUSTER ADDSLOTSRANGE 0 99 200 299 16287 16287"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CLUSTER SET-CONFIG-EPOCH 7"), "status:\"OK\"");
    /* A master starts in the fail state for 2 s (Redis's writable delay). */
    REQUIRE(WAIT_HAS(c, "cluster_state:ok", "CLUSTER", "INFO"));
    CHECK_EQ_STR(cmd(c, "SET {x}1 a"), "status:\"OK\"");
    char id[64];
    snprintf(id, sizeof(id), "%s", myid(c));
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(myid(c), id);
    CHECK(strstr(cmd(c, "CLUSTER NODES"), " 7 connected 0-99 200-299 16287") != NULL);
    CHECK(strstr(cmd(c, "CLUSTER INFO"), "cluster_my_epoch:7") != NULL);
    /* Keys come back counted per slot (the slot mode is on before
     * recovery). */
    CHECK_EQ_STR(cmd(c, "CLUSTER COUNTKEYSINSLOT 16286"), "int:0");
    redisReply *r = redisCommand(c, "CLUSTER KEYSLOT {x}1");
    REQUIRE(r && r->type == REDIS_REPLY_INTEGER);
    long long slot = r->integer;
    freeReplyObject(r);
    CHECK_EQ_STR(cmd(c, "CLUSTER COUNTKEYSINSLOT %lld", slot), "int:1");
}

TEST(corrupt_nodes_conf_refused) {
    char dir[] = "/tmp/lt_cluster_bad_XXXXXX";
    REQUIRE(mkdtemp(dir));
    char *out;
    harness_popen(&out, "printf 'this is not a nodes.conf\\n' > %s/nodes.conf", dir);
    free(out);
    /* timeout: a server that does not refuse is stopped (and fails). */
    char bin[PATH_MAX];
    REQUIRE(realpath(harness_bin(HARNESS_LIGHTNING), bin));
    int st = harness_popen(&out,
                 "cd %s && timeout 10 %s --port %d --cluster-enabled yes --cluster-port %d "
                 "--save '' 2>&1; echo exit=$?",
                 dir, bin, harness_free_port(), harness_free_port());
    (void)st;
    CHECK(strstr(out, "corrupted cluster config file") != NULL);
    CHECK(strstr(out, "exit=1") != NULL);
    if (testlib_current_failed) fprintf(stderr, "# %s\n", out);
    free(out);
    harness_popen(NULL, "rm -rf %s", dir);
}

int main(void) {
    RUN(cli_create_check_and_follow_moved);
    RUN(redirection_errors_match_redis);
    RUN(cluster_down_matches_redis);
    RUN(cluster_subcommand_errors_match_redis);
    RUN(cluster_commands_need_cluster_mode);
    RUN(ask_asking_tryagain_match_redis);
    RUN(join_redis_cluster);
    RUN(lost_slot_keys_deleted);
    RUN(nodes_conf_survives_restart);
    RUN(corrupt_nodes_conf_refused);
    return testlib_finish();
}
