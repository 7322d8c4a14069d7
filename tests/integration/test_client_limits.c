/*
 * Bounded client memory (issue #14): client-output-buffer-limit with
 * Redis's syntax, errors and semantics (a client over its class's hard
 * limit, or over the soft limit for longer than its seconds, is closed and
 * the warning logged), compared with a real redis-server; maxmemory-clients
 * and the per-client memory figures of CLIENT LIST.
 *
 * No timing assertions: the soft-limit test waits longer than the limit's
 * seconds before it looks, and every read has a timeout that only detects
 * hangs.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELEM_LEN 100

/* RPUSH n elements of ELEM_LEN bytes to key, 500 per command, pipelined. */
static int fill_list(redisContext *c, const char *key, int n) {
    if (!c) return 0;
    enum { PER = 500 };
    static char elems[PER][ELEM_LEN + 1];
    const char *argv[PER + 2];
    size_t lens[PER + 2];
    int cmds = 0;
    for (int done = 0; done < n; done += PER) {
        int k = n - done < PER ? n - done : PER;
        argv[0] = "RPUSH", lens[0] = 5;
        argv[1] = key, lens[1] = strlen(key);
        for (int i = 0; i < k; i++) {
            snprintf(elems[i], sizeof(elems[i]), "%0*d", ELEM_LEN, done + i);
            argv[i + 2] = elems[i];
            lens[i + 2] = ELEM_LEN;
        }
        if (redisAppendCommandArgv(c, k + 2, argv, lens) != REDIS_OK) return -1;
        cmds++;
    }
    for (int i = 0; i < cmds; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (bad) return -1;
    }
    return 0;
}

/* HSET n fields of ELEM_LEN-byte values, 250 per command, pipelined. */
static int fill_hash(redisContext *c, const char *key, int n) {
    if (!c) return 0;
    char buf[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "field-%d", i);
        redisAppendCommand(c, "HSET %s %s %0100d", key, buf, i);
    }
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return -1;
        freeReplyObject(r);
    }
    return 0;
}

static int file_contains(const char *path, const char *needle) {
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof(line), fp)) found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

/* Sends argv on a new raw connection to s and reads its reply. Returns 1
 * if the server closed the connection before the whole reply (of `full`
 * bytes or more) came, 0 if the reply came whole, -1 for no server. */
static int closed_early(harness_server *s, const char *const *argv, size_t full) {
    if (!s) return -1;
    int fd = raw_connect(s->port);
    if (fd < 0) return 0;
    raw_send_argv(fd, argv);
    raw_buf b;
    int whole = raw_read_reply(fd, 20000, &b);
    int closed = !whole && b.closed && b.len < full;
    raw_buf_free(&b);
    raw_close(fd);
    return closed;
}

TEST(obuf_limit_config_is_redis_s) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"client-output-buffer-limit\",bulk:\"normal 0 0 0 slave 268435456 67108864 60 "
           "pubsub 33554432 8388608 60\"]",
           "CONFIG", "GET", "client-output-buffer-limit");
    const char *pre = "err:\"ERR CONFIG SET failed (possibly related to argument "
                      "'client-output-buffer-limit') - ";
    char want[512];
    snprintf(want, sizeof(want), "%sWrong number of arguments in buffer limit configuration.\"",
             pre);
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", " ");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal  1 1 1");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1 1 1 ");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "client-output-buffer-limit", "");
    snprintf(want, sizeof(want),
             "%sInvalid client class specified in buffer limit configuration.\"", pre);
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "foo 1mb 1 1");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "master 1mb 1 1");
    snprintf(want, sizeof(want),
             "%sError in hard, soft or soft_seconds setting in buffer limit configuration.\"",
             pre);
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb x 1");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 1 -1");
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 1 1x");
    /* Nothing changed by a bad group after a good one. */
    EXPECT(want, "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 1 1 pubsub 1 1 y");
    EXPECT("array[bulk:\"client-output-buffer-limit\",bulk:\"normal 0 0 0 slave 268435456 67108864 60 "
           "pubsub 33554432 8388608 60\"]",
           "CONFIG", "GET", "client-output-buffer-limit");
    /* Only the classes named change; replica is slave. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "client-output-buffer-limit",
           "NORMAL 1mb 2mb 5 replica 1k 1 1");
    EXPECT("array[bulk:\"client-output-buffer-limit\",bulk:\"normal 1048576 2097152 5 slave 1000 1 1 "
           "pubsub 33554432 8388608 60\"]",
           "CONFIG", "GET", "client-output-buffer-limit");
}

TEST(obuf_limit_from_the_command_line_and_rewrite) {
    harness_server *l = harness_start_opts(&(harness_opts){
        .directives = (const char *const[]){"client-output-buffer-limit",
                                            "pubsub 1mb 512kb 10", NULL},
        .config_text = "client-output-buffer-limit normal 2mb 1mb 3\n"});
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET client-output-buffer-limit"),
                 "array[bulk:\"client-output-buffer-limit\",bulk:\"normal 2097152 1048576 3 slave "
                 "268435456 67108864 60 pubsub 1048576 524288 10\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG REWRITE"), "status:\"OK\"");
    /* A line per class, as Redis rewrites them. */
    CHECK(file_contains(l->config, "client-output-buffer-limit normal 2mb 1mb 3"));
    CHECK(file_contains(l->config, "client-output-buffer-limit replica 256mb 64mb 60"));
    CHECK(file_contains(l->config, "client-output-buffer-limit pubsub 1mb 512kb 10"));
    CHECK_EQ_INT(harness_restart(l), 0);
    c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET client-output-buffer-limit"),
                 "array[bulk:\"client-output-buffer-limit\",bulk:\"normal 2097152 1048576 3 slave "
                 "268435456 67108864 60 pubsub 1048576 524288 10\"]");
}

/* One LRANGE 0 -1, HGETALL or KEYS * on a huge key is stopped at the hard
 * limit of the normal class: the client is closed, the server and the
 * other clients are not. */
TEST(obuf_hard_limit_closes_one_huge_reply) {
    REQUIRE(difftest_start(NULL));
    enum { N = 100000 }; /* ~10.5 MB of LRANGE reply */
    CHECK_EQ_INT(fill_list(L, "big", N), 0);
    CHECK_EQ_INT(fill_list(R, "big", N), 0);
    CHECK_EQ_INT(fill_hash(L, "h", N / 2), 0);
    CHECK_EQ_INT(fill_hash(R, "h", N / 2), 0);
    /* No limit by default: the whole reply comes. */
    const char *lrange[] = {"LRANGE", "big", "0", "-1", NULL};
    size_t full = (size_t)N * (ELEM_LEN + 7);
    CHECK_EQ_INT(closed_early(LS, lrange, full), 0);
    EXPECT("status:\"OK\"", "CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0");
    CHECK_EQ_INT(closed_early(LS, lrange, full), 1);
    if (RS) CHECK_EQ_INT(closed_early(RS, lrange, full), 1);
    const char *hgetall[] = {"HGETALL", "h", NULL};
    CHECK_EQ_INT(closed_early(LS, hgetall, full / 2), 1);
    if (RS) CHECK_EQ_INT(closed_early(RS, hgetall, full / 2), 1);
    CHECK(file_contains(LS->logfile,
                        "scheduled to be closed ASAP for overcoming of output buffer limits."));
    /* A reply under the limit is untouched; the other client still works. */
    const char *small[] = {"LRANGE", "big", "0", "999", NULL};
    CHECK_EQ_INT(closed_early(LS, small, 1000 * (ELEM_LEN + 7)), 0);
    EXPECT("int:100000", "LLEN", "big");
    /* KEYS * over many keys. */
    CHECK_EQ_INT(harness_fill(L, "key-with-a-longish-name-", 0, 80000), 0);
    if (R) CHECK_EQ_INT(harness_fill(R, "key-with-a-longish-name-", 0, 80000), 0);
    const char *keys[] = {"KEYS", "*", NULL};
    CHECK_EQ_INT(closed_early(LS, keys, 80000 * 36), 1);
    if (RS) CHECK_EQ_INT(closed_early(RS, keys, 80000 * 36), 1);
    EXPECT("int:80002", "DBSIZE");
}

/* Over the soft limit for longer than its seconds: closed. The client does
 * not read its 20 MB reply, waits 2.5 s (more than the 1 s allowed), then
 * sends a PING (Redis looks again when output is added; Lightning also
 * looks on its tick, as this client's pipeline is stopped). */
TEST(obuf_soft_limit_closes_after_its_seconds) {
    REQUIRE(difftest_start(NULL));
    enum { N = 200000 };
    CHECK_EQ_INT(fill_list(L, "big", N), 0);
    CHECK_EQ_INT(fill_list(R, "big", N), 0);
    EXPECT("status:\"OK\"", "CONFIG", "SET", "client-output-buffer-limit", "normal 0 1mb 1");
    harness_server *servers[2] = {LS, RS};
    for (int i = 0; i < 2; i++) {
        if (!servers[i]) continue;
        int fd = raw_connect(servers[i]->port);
        REQUIRE(fd >= 0);
        raw_send_argv(fd, (const char *const[]){"LRANGE", "big", "0", "-1", NULL});
        harness_sleep_ms(2500);
        raw_send_argv(fd, (const char *const[]){"PING", NULL});
        raw_buf b = raw_read_until(fd, 20000);
        CHECK(b.closed);
        CHECK(b.len < (size_t)N * (ELEM_LEN + 7));
        raw_buf_free(&b);
    }
    CHECK(file_contains(LS->logfile,
                        "scheduled to be closed ASAP for overcoming of output buffer limits."));
    EXPECT("status:\"PONG\"", "PING");
}

TEST(maxmemory_clients_config_is_redis_s) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"maxmemory-clients\",bulk:\"0\"]", "CONFIG", "GET", "maxmemory-clients");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-clients", "10%");
    EXPECT("array[bulk:\"maxmemory-clients\",bulk:\"10%\"]", "CONFIG", "GET", "maxmemory-clients");
    const char *pre = "err:\"ERR CONFIG SET failed (possibly related to argument "
                      "'maxmemory-clients') - ";
    char want[256];
    snprintf(want, sizeof(want), "%spercentage argument must be less or equal to 100\"", pre);
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "101%");
    snprintf(want, sizeof(want), "%sargument must be a memory or percent value\"", pre);
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "-5%");
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "5.5%");
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "%");
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "10%x");
    EXPECT(want, "CONFIG", "SET", "maxmemory-clients", "-1");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-clients", "1gb");
    EXPECT("array[bulk:\"maxmemory-clients\",bulk:\"1073741824\"]", "CONFIG", "GET",
           "maxmemory-clients");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory-clients", "0%");
    EXPECT("array[bulk:\"maxmemory-clients\",bulk:\"0\"]", "CONFIG", "GET", "maxmemory-clients");
}

/* The values of fields (e.g. "omem=") on one CLIENT LIST line, of the
 * client named name; -1 where there is none. */
static void client_fields(redisContext *c, const char *name, int n, const char *const *fields,
                          long long *out) {
    redisReply *r = redisCommand(c, "CLIENT LIST");
    for (int i = 0; i < n; i++) out[i] = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        char tag[64];
        snprintf(tag, sizeof(tag), " name=%s ", name);
        char *line = strstr(r->str, tag);
        char *eol = line ? strchr(line, '\n') : NULL;
        for (int i = 0; line && i < n; i++) {
            char *f = strstr(line, fields[i]);
            if (f && (!eol || f < eol)) out[i] = atoll(f + strlen(fields[i]));
        }
    }
    if (r) freeReplyObject(r);
}

static long long client_field(redisContext *c, const char *name, const char *field) {
    long long v;
    client_fields(c, name, 1, &field, &v);
    return v;
}

/* A raw client named name that sent LRANGE big 0 -1 and does not read;
 * returns its fd once the server shows its output pending (or -1). */
static int pending_reader(harness_server *s, redisContext *observer, const char *name,
                          int no_evict) {
    int fd = raw_connect(s->port);
    if (fd < 0) return -1;
    raw_buf b;
    raw_send_argv(fd, (const char *const[]){"CLIENT", "SETNAME", name, NULL});
    raw_read_reply(fd, 5000, &b);
    raw_buf_free(&b);
    if (no_evict) {
        raw_send_argv(fd, (const char *const[]){"CLIENT", "NO-EVICT", "on", NULL});
        raw_read_reply(fd, 5000, &b);
        raw_buf_free(&b);
    }
    raw_send_argv(fd, (const char *const[]){"LRANGE", "big", "0", "-1", NULL});
    for (int i = 0; i < 1000; i++) { /* hang detection only */
        long long omem = client_field(observer, name, "omem=");
        if (omem != 0) return fd; /* pending, or evicted (-1) already */
        harness_sleep_ms(10);
    }
    return fd;
}

/* The client using the most memory is evicted when the clients' memory
 * passes maxmemory-clients; never one with CLIENT NO-EVICT on. CLIENT LIST
 * shows each client's output and total memory. */
TEST(maxmemory_clients_evicts_the_biggest_client) {
    REQUIRE(difftest_start(NULL));
    enum { N = 100000 }; /* ~10.5 MB of LRANGE reply */
    CHECK_EQ_INT(fill_list(L, "big", N), 0);
    CHECK_EQ_INT(fill_list(R, "big", N), 0);
    harness_server *servers[2] = {LS, RS};
    redisContext *conns[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!servers[i]) continue;
        redisContext *c = conns[i];
        /* No limit: the pending reply shows in CLIENT LIST. */
        int fd = pending_reader(servers[i], c, "reader", 0);
        REQUIRE(fd >= 0);
        long long v[3];
        client_fields(c, "reader", 3, (const char *const[]){"omem=", "tot-mem=", "oll="}, v);
        CHECK(v[0] > 1000000);
        CHECK(v[1] > v[0]);
        CHECK(v[2] > 1);
        raw_close(fd);
        for (int t = 0; t < 1000 && client_field(c, "reader", "age=") != -1; t++)
            harness_sleep_ms(10); /* until the server has seen it go */
        /* With a limit the reader is evicted, the others stay. */
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-clients 1mb"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "CLIENT SETNAME observer"), "status:\"OK\"");
        fd = pending_reader(servers[i], c, "reader", 0);
        REQUIRE(fd >= 0);
        raw_buf b = raw_read_until(fd, 20000);
        CHECK(b.closed && b.len < (size_t)N * (ELEM_LEN + 7));
        raw_buf_free(&b);
        raw_close(fd);
        CHECK_EQ_INT(harness_info_num(c, "stats", "evicted_clients"), 1);
        CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
        /* A NO-EVICT reader keeps its reply; the others go instead. */
        int other = raw_connect(servers[i]->port);
        REQUIRE(other >= 0);
        CHECK_EQ_STR(cmd(c, "CLIENT NO-EVICT on"), "status:\"OK\"");
        fd = pending_reader(servers[i], c, "keeper", 1);
        REQUIRE(fd >= 0);
        b = raw_read_until(other, 20000); /* closed: evicted */
        CHECK(b.closed);
        raw_buf_free(&b);
        CHECK(raw_read_reply(fd, 20000, &b)); /* the whole reply */
        CHECK_EQ_INT((long long)b.len, (long long)N * (ELEM_LEN + 8) + 9);
        raw_buf_free(&b);
        CHECK(harness_info_num(c, "stats", "evicted_clients") >= 2);
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-clients 0"), "status:\"OK\"");
    }
    CHECK(file_contains(LS->logfile, "Evicting client: id="));
    CHECK(file_contains(LS->logfile, "name=reader"));
}

/* A percentage of maxmemory: 1% of 100mb is 1 MB of client memory. With
 * maxmemory 0 the percentage sets no limit. */
TEST(maxmemory_clients_percent_of_maxmemory) {
    REQUIRE(difftest_start(NULL));
    enum { N = 100000 };
    CHECK_EQ_INT(fill_list(L, "big", N), 0);
    CHECK_EQ_INT(fill_list(R, "big", N), 0);
    harness_server *servers[2] = {LS, RS};
    redisContext *conns[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!servers[i]) continue;
        redisContext *c = conns[i];
        CHECK_EQ_STR(cmd(c, "CLIENT NO-EVICT on"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory-clients 1%"), "status:\"OK\"");
        int fd = pending_reader(servers[i], c, "p1", 0);
        REQUIRE(fd >= 0);
        raw_buf b;
        CHECK(raw_read_reply(fd, 20000, &b)); /* no maxmemory: no limit */
        raw_buf_free(&b);
        raw_close(fd);
        CHECK_EQ_INT(harness_info_num(c, "stats", "evicted_clients"), 0);
        CHECK_EQ_STR(cmd(c, "CONFIG SET maxmemory 100mb"), "status:\"OK\"");
        fd = pending_reader(servers[i], c, "p2", 0);
        REQUIRE(fd >= 0);
        b = raw_read_until(fd, 20000);
        CHECK(b.closed && b.len < (size_t)N * (ELEM_LEN + 8));
        raw_buf_free(&b);
        raw_close(fd);
        CHECK_EQ_INT(harness_info_num(c, "stats", "evicted_clients"), 1);
    }
}

int main(void) {
    RUN(obuf_limit_config_is_redis_s);
    RUN(obuf_limit_from_the_command_line_and_rewrite);
    RUN(obuf_hard_limit_closes_one_huge_reply);
    RUN(obuf_soft_limit_closes_after_its_seconds);
    RUN(maxmemory_clients_config_is_redis_s);
    RUN(maxmemory_clients_evicts_the_biggest_client);
    RUN(maxmemory_clients_percent_of_maxmemory);
    return testlib_finish();
}
