/*
 * Durability (the WAL): data survives restarts and kill -9 as each
 * appendfsync mode promises, expiries come back as the same absolute
 * times, a torn or corrupt tail is reported and cut with everything before
 * it kept, disk errors refuse writes with MISCONF until the disk recovers
 * without losing an acknowledged write, and lightning-check finds and
 * fixes a bad tail. No timing assertions: waits are bounded polls.
 */
#include "../harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "engine/wal.h"

#define NCLIENTS 8
#define NOPS 2000
#define BATCH 100

static long long int_of(const char *r) {
    long long v;
    return sscanf(r, "int:%lld", &v) == 1 ? v : -999999;
}

/* Path of the newest WAL segment of s; "" if none. */
static void last_segment(harness_server *s, char *out, size_t outlen) {
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", s->dir);
    DIR *d = opendir(dir);
    char best[256] = "";
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".log") == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    if (d) closedir(d);
    if (best[0]) snprintf(out, outlen, "%s/%s", dir, best);
    else out[0] = '\0';
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    size_t got = fread(p, 1, (size_t)n, f);
    p[got] = '\0';
    fclose(f);
    return p;
}

/* A field of INFO persistence. */
static int persist_field(redisContext *c, const char *field, char *out, size_t outlen) {
    return harness_info(c, "persistence", field, out, outlen);
}

TEST(restart_keeps_data) {
    harness_server *s = harness_start("appendfsync", "everysec", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET plain hello"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET withex v EX 1000"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SETEX setex 2000 v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET counter 10"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCRBY counter 5"), "int:15");
    CHECK_EQ_STR(cmd(c, "SET f 1.5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCRBYFLOAT f 0.25"), "bulk:\"1.75\"");
    CHECK_EQ_STR(cmd(c, "SET e1 v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "EXPIRE e1 3000"), "int:1");
    CHECK_EQ_STR(cmd(c, "SET gone v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "EXPIRE gone -1"), "int:1");
    CHECK_EQ_STR(cmd(c, "SET gx v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GETEX gx PX 4000000"), "bulk:\"v\"");
    CHECK_EQ_STR(cmd(c, "SET short v PX 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "APPEND plain %s", " world"), "int:11");
    CHECK_EQ_STR(cmd(c, "SET r1 x"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "RENAME r1 r2"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET d1 x"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "DEL d1"), "int:1");
    CHECK_EQ_STR(cmd(c, "SELECT 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET indb5 five"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "MOVE indb5 6"), "int:1");
    CHECK_EQ_STR(cmd(c, "SET other5 x"), "status:\"OK\""); /* stays in db 5 */
    CHECK_EQ_STR(cmd(c, "SELECT 0"), "status:\"OK\"");
    long long t_ex = int_of(cmd(c, "PEXPIRETIME withex"));
    long long t_setex = int_of(cmd(c, "PEXPIRETIME setex"));
    long long t_e1 = int_of(cmd(c, "PEXPIRETIME e1"));
    long long t_gx = int_of(cmd(c, "PEXPIRETIME gx"));
    CHECK(t_ex > 0 && t_setex > 0 && t_e1 > 0 && t_gx > 0);
    char v[64];
    CHECK(persist_field(c, "aof_enabled", v, sizeof(v)) && strcmp(v, "1") == 0);
    harness_sleep_ms(5); /* "short" expires */

    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET plain"), "bulk:\"hello world\"");
    CHECK_EQ_STR(cmd(c, "GET counter"), "bulk:\"15\"");
    CHECK_EQ_STR(cmd(c, "GET f"), "bulk:\"1.75\"");
    CHECK_EQ_STR(cmd(c, "EXISTS gone short r1 d1"), "int:0");
    CHECK_EQ_STR(cmd(c, "GET r2"), "bulk:\"x\"");
    /* Expiries are the same absolute times, not restarted countdowns. */
    CHECK_EQ_INT(int_of(cmd(c, "PEXPIRETIME withex")), t_ex);
    CHECK_EQ_INT(int_of(cmd(c, "PEXPIRETIME setex")), t_setex);
    CHECK_EQ_INT(int_of(cmd(c, "PEXPIRETIME e1")), t_e1);
    CHECK_EQ_INT(int_of(cmd(c, "PEXPIRETIME gx")), t_gx);
    CHECK_EQ_STR(cmd(c, "SELECT 6"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET indb5"), "bulk:\"five\"");
    CHECK_EQ_STR(cmd(c, "SELECT 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET other5"), "bulk:\"x\"");
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:1");
    CHECK(persist_field(c, "loading", v, sizeof(v)) && strcmp(v, "0") == 0);
    char *log = read_file(s->logfile);
    CHECK(strstr(log, "WAL loaded:") != NULL);
    free(log);
    /* A second restart replays the new records on top (appends resumed). */
    CHECK_EQ_STR(cmd(c, "SET after restart"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SELECT 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET after"), "bulk:\"restart\"");
    CHECK_EQ_STR(cmd(c, "SELECT 0"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET plain"), "bulk:\"hello world\"");
}

/* Sends one batch on each client, reads the replies of the first `read`
 * clients; counts acknowledged INCRs and SETs. */
typedef struct ack_state {
    long long incr_acked[NCLIENTS];
    int set_acked[NCLIENTS]; /* SETs 0..set_acked-1 were acknowledged */
    int sent[NCLIENTS];
} ack_state;

static int run_batch(redisContext **cs, ack_state *st, int nread) {
    for (int i = 0; i < NCLIENTS; i++)
        for (int j = 0; j < BATCH; j += 2) {
            int op = st->sent[i] + j;
            redisAppendCommand(cs[i], "INCR cnt:%d", i);
            redisAppendCommand(cs[i], "SET k:%d:%d val-%d-%d", i, op, i, op);
        }
    for (int i = 0; i < nread; i++) {
        for (int j = 0; j < BATCH; j += 2) {
            redisReply *r = NULL;
            if (redisGetReply(cs[i], (void **)&r) != REDIS_OK || !r) return -1;
            if (r->type == REDIS_REPLY_INTEGER) st->incr_acked[i] = r->integer;
            freeReplyObject(r);
            r = NULL;
            if (redisGetReply(cs[i], (void **)&r) != REDIS_OK || !r) return -1;
            if (r->type == REDIS_REPLY_STATUS) st->set_acked[i] = st->sent[i] + j + 1;
            freeReplyObject(r);
        }
    }
    for (int i = 0; i < NCLIENTS; i++) st->sent[i] += BATCH;
    return 0;
}

static void check_acked(redisContext *c, const ack_state *st) {
    for (int i = 0; i < NCLIENTS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "cnt:%d", i);
        long long got = int_of(cmd(c, "EXISTS %s", key)) ? atoll(cmd(c, "GET %s", key) + 6) : 0;
        if (got < st->incr_acked[i])
            testlib_fail(__FILE__, __LINE__, "client %d: counter %lld < acknowledged %lld", i, got,
                         st->incr_acked[i]);
        for (int op = 0; op < st->set_acked[i]; op += 2) {
            char want[64];
            snprintf(want, sizeof(want), "bulk:\"val-%d-%d\"", i, op);
            const char *r = cmd(c, "GET k:%d:%d", i, op);
            if (strcmp(r, want) != 0) {
                testlib_fail(__FILE__, __LINE__, "client %d: acknowledged SET %d lost: %s", i, op,
                             r);
                return;
            }
        }
    }
}

/* Collections survive a restart exactly, including writes whose choice is
 * random (SPOP: logged as SREM of what was popped) or floating point
 * (HINCRBYFLOAT: logged as HSET of the result). */
TEST(restart_keeps_collections) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "HSET h a 1 b 2 c 3.5"), "int:3");
    CHECK_EQ_STR(cmd(c, "HINCRBYFLOAT h c 0.1"), "bulk:\"3.6\"");
    CHECK_EQ_STR(cmd(c, "HDEL h a"), "int:1");
    CHECK_EQ_STR(cmd(c, "RPUSH l a b c d e"), "int:5");
    CHECK_EQ_STR(cmd(c, "LPOP l 2"), "array[bulk:\"a\",bulk:\"b\"]");
    CHECK_EQ_STR(cmd(c, "LINSERT l BEFORE d x"), "int:4");
    CHECK_EQ_STR(cmd(c, "SADD s m1 m2 m3 m4 m5 m6 m7 m8"), "int:8");
    cmd(c, "SPOP s");
    cmd(c, "SPOP s 3");
    CHECK_EQ_STR(cmd(c, "SADD gone x"), "int:1");
    cmd(c, "SPOP gone 5");
    CHECK_EQ_STR(cmd(c, "ZADD z 1 a 2 b 3 c"), "int:3");
    CHECK_EQ_STR(cmd(c, "ZINCRBY z 2.5 a"), "bulk:\"3.5\"");
    CHECK_EQ_STR(cmd(c, "ZPOPMAX z"), "array[bulk:\"a\",bulk:\"3.5\"]");
    char before[3][4096];
    const char *q[3] = {"HGETALL h", "LRANGE l 0 -1", "ZRANGE z 0 -1 WITHSCORES"};
    for (int i = 0; i < 3; i++) snprintf(before[i], sizeof before[i], "%s", cmd(c, q[i]));
    CHECK_EQ_STR(cmd(c, "SCARD s"), "int:4");
    redisReply *members = redisCommand(c, "SMEMBERS s");
    REQUIRE(members && members->type == REDIS_REPLY_ARRAY && members->elements == 4);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 3; i++) CHECK_EQ_STR(cmd(c, q[i]), before[i]);
    /* The same four members survived SPOP (order is the table's own). */
    CHECK_EQ_STR(cmd(c, "SCARD s"), "int:4");
    for (size_t i = 0; i < members->elements; i++)
        CHECK_EQ_STR(cmd(c, "SISMEMBER s %s", members->element[i]->str), "int:1");
    freeReplyObject(members);
    CHECK_EQ_STR(cmd(c, "EXISTS gone"), "int:0");
    CHECK_EQ_STR(cmd(c, "TYPE h"), "status:\"hash\"");
}

/* kill -9 while clients have pipelines in flight: every write whose reply
 * a client read is there after the restart. Under always the reply waits
 * for the fsync; under everysec and no the worker write(2)s its records
 * before it sends the replies, so a process crash (the page cache
 * survives) loses nothing acknowledged either — as in Redis. */
static void kill9_keeps_acknowledged(const char *policy) {
    harness_server *s = harness_start("appendfsync", policy, NULL);
    REQUIRE(s);
    redisContext *cs[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) {
        cs[i] = harness_connect(s);
        REQUIRE(cs[i]);
    }
    ack_state st = {0};
    int rounds = NOPS / BATCH;
    for (int r = 0; r < rounds - 1; r++) REQUIRE(run_batch(cs, &st, NCLIENTS) == 0);
    /* Last round: half the clients' replies are read, the rest are in
     * flight when the server dies. */
    REQUIRE(run_batch(cs, &st, NCLIENTS / 2) == 0);
    if (!strcmp(policy, "always")) {
        char v[64];
        redisContext *probe = harness_connect(s);
        CHECK(persist_field(probe, "wal_group_commits", v, sizeof(v)));
        printf("# always: records per fsync %s\n", v);
    }
    harness_kill9(s);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    check_acked(c, &st);
}

TEST(always_kill9_keeps_acknowledged) { kill9_keeps_acknowledged("always"); }
TEST(everysec_kill9_keeps_acknowledged) { kill9_keeps_acknowledged("everysec"); }
TEST(no_kill9_keeps_acknowledged) { kill9_keeps_acknowledged("no"); }

/* Under everysec a second after the last write its bytes are fsynced: the
 * durable offset catches up with the written one without further writes. */
TEST(everysec_fsyncs_within_a_second) {
    harness_server *s = harness_start("appendfsync", "everysec", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 500; i++) redisAppendCommand(c, "SET early:%d %d", i, i);
    for (int i = 0; i < 500; i++) {
        redisReply *r = NULL;
        REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK);
        freeReplyObject(r);
    }
    char v[64], w[64];
    int caught_up = 0;
    for (int i = 0; i < 50 && !caught_up; i++) {
        harness_sleep_ms(100);
        caught_up = persist_field(c, "wal_durable_offset", v, sizeof(v)) &&
                    persist_field(c, "wal_written_offset", w, sizeof(w)) && strcmp(v, w) == 0;
    }
    CHECK(caught_up);
    CHECK(strcmp(v, "0") != 0);
}

/* Every key and value of databases 0 and 3, sorted: "db key value" lines. */
static char *dump_dbs(redisContext *c) {
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (int db = 0; db <= 3; db += 3) {
        cmd(c, "SELECT %d", db);
        redisReply *keys = redisCommand(c, "KEYS *");
        for (size_t i = 0; keys && i < keys->elements; i++) {
            const char *k = keys->element[i]->str;
            const char *t = cmd(c, "TYPE %s", k);
            char line[512];
            int n = snprintf(line, sizeof(line), "%d %s %s\n", db, k,
                             strstr(t, "hash") ? cmd(c, "HGETALL %s", k) : cmd(c, "GET %s", k));
            if (len + (size_t)n + 1 > cap) break;
            memcpy(out + len, line, (size_t)n + 1);
            len += (size_t)n;
        }
        if (keys) freeReplyObject(keys);
    }
    cmd(c, "SELECT 0");
    char *sorted = harness_sort_lines(out);
    free(out);
    return sorted;
}

/* Replay runs records in prefetched batches: a long mixed log (two
 * databases, EXECs, expiries, deletes, overwrites, several record kinds
 * per batch) comes back exactly. */
TEST(mixed_log_replays_exactly) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 600; i++) {
        int k = i % 97;
        switch (i % 8) {
        case 0: redisAppendCommand(c, "SET s:%d v%d", k, i); break;
        case 1: redisAppendCommand(c, "INCRBY n:%d %d", k % 13, i); break;
        case 2: redisAppendCommand(c, "HSET h:%d f%d %d", k % 7, i % 5, i); break;
        case 3: redisAppendCommand(c, "SET gone:%d x PX 1", k); break;
        case 4: redisAppendCommand(c, "DEL s:%d", (k + 3) % 97); break;
        case 5: redisAppendCommand(c, "SELECT 3"); break;
        case 6: redisAppendCommand(c, "MSET a:%d %d b:%d %d", k, i, k, -i); break;
        default: redisAppendCommand(c, "SELECT 0"); break;
        }
    }
    for (int i = 0; i < 600; i++) {
        redisReply *r = NULL;
        REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK && r);
        freeReplyObject(r);
    }
    cmd(c, "SELECT 0");
    CHECK_EQ_STR(cmd(c, "MULTI"), "status:\"OK\"");
    cmd(c, "SET in:exec 1");
    cmd(c, "SELECT 3");
    cmd(c, "INCR n:0");
    CHECK(strncmp(cmd(c, "EXEC"), "array[", 6) == 0);
    cmd(c, "SELECT 0");
    harness_sleep_ms(5); /* the PX 1 keys are expired */
    char *before = dump_dbs(c);
    CHECK(strstr(before, "0 s:") && strstr(before, "3 a:") && strstr(before, "0 in:exec"));
    CHECK(!strstr(before, "gone:"));
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    char *after = dump_dbs(c);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
}

/* Logs written before 0.2 (WAL_REC_COMMANDS) continue in the database the
 * previous record selected; today's records (WAL_REC_COMMANDS_DB0) start
 * in database 0. A log holding both replays each by its own rule. */
static uint64_t append_raw(wal *w, uint32_t type, uint64_t ts, const char *resp) {
    struct iovec iov = {(void *)resp, strlen(resp)};
    uint64_t end = 0;
    if (wal_append(w, ts, lt_mstime(), type, &iov, 1, &end) != LT_OK) return 0;
    return end;
}

TEST(old_format_records_replay) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    harness_kill9(s);
    char wdir[400], rm[450];
    snprintf(wdir, sizeof(wdir), "%s/appendonlydir", s->dir);
    snprintf(rm, sizeof(rm), "rm -rf %s", wdir);
    REQUIRE(system(rm) == 0);
    wal_config cfg = {.dir = wdir, .fsync_policy = WAL_FSYNC_ALWAYS};
    wal_scan_result res;
    wal *w = NULL;
    REQUIRE(wal_open(&cfg, NULL, NULL, &res, &w) == LT_OK);
    CHECK(append_raw(w, WAL_REC_COMMANDS, 10,
                     "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"));
    CHECK(append_raw(w, WAL_REC_COMMANDS, 11, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"));
    CHECK(append_raw(w, WAL_REC_COMMANDS_DB0, 12, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n"));
    CHECK(append_raw(w, WAL_REC_COMMANDS_DB0, 13,
                     "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n"));
    CHECK_EQ_INT(wal_close(w), LT_OK);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET c"), "bulk:\"3\"");
    CHECK_EQ_STR(cmd(c, "EXISTS a b d"), "int:0");
    CHECK_EQ_STR(cmd(c, "SELECT 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "MGET a b c d"), "array[bulk:\"1\",bulk:\"2\",nil,bulk:\"4\"]");
    /* New writes in database 3 after the restart come back in database 3. */
    CHECK_EQ_STR(cmd(c, "SET e 5"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET e"), "nil");
    CHECK_EQ_STR(cmd(c, "SELECT 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET e"), "bulk:\"5\"");
}

/* Writes keys a0..a99 under always, kills the server, returns the last
 * segment's path. */
static harness_server *prepare_stopped(char *seg, size_t seglen) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    if (!s) return NULL;
    redisContext *c = harness_connect(s);
    for (int i = 0; i < 100; i++) cmd(c, "SET a%d value-%d", i, i);
    CHECK_EQ_STR(cmd(c, "SET last tail-record"), "status:\"OK\"");
    harness_kill9(s);
    last_segment(s, seg, seglen);
    return s;
}

TEST(torn_tail_recovered) {
    char seg[600];
    harness_server *s = prepare_stopped(seg, sizeof(seg));
    REQUIRE(s && seg[0]);
    struct stat st;
    REQUIRE(stat(seg, &st) == 0);
    REQUIRE(truncate(seg, st.st_size - 3) == 0);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET a99"), "bulk:\"value-99\"");
    CHECK_EQ_STR(cmd(c, "EXISTS last"), "int:0");
    char *log = read_file(s->logfile);
    const char *base = strrchr(seg, '/') + 1;
    CHECK(strstr(log, base) != NULL);
    CHECK(strstr(log, "offset") != NULL);
    CHECK(strstr(log, "torn") != NULL);
    free(log);
    /* Writes go on after the cut and survive another restart. */
    CHECK_EQ_STR(cmd(c, "SET new v"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "GET new"), "bulk:\"v\"");
    CHECK_EQ_STR(cmd(c, "GET a0"), "bulk:\"value-0\"");
}

TEST(flipped_byte_recovered) {
    char seg[600];
    harness_server *s = prepare_stopped(seg, sizeof(seg));
    REQUIRE(s && seg[0]);
    struct stat st;
    REQUIRE(stat(seg, &st) == 0);
    int fd = open(seg, O_RDWR);
    REQUIRE(fd >= 0);
    unsigned char b;
    off_t pos = st.st_size - 5; /* inside the last record's payload */
    REQUIRE(pread(fd, &b, 1, pos) == 1);
    b ^= 0x20;
    REQUIRE(pwrite(fd, &b, 1, pos) == 1);
    close(fd);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET a50"), "bulk:\"value-50\"");
    CHECK_EQ_STR(cmd(c, "EXISTS last"), "int:0");
    char *log = read_file(s->logfile);
    CHECK(strstr(log, "checksum mismatch") != NULL);
    CHECK(strstr(log, strrchr(seg, '/') + 1) != NULL);
    free(log);
}

/* Runs lightning-server on s's dir (s stopped) with one more directive
 * pair (or none) and expects start-up to fail: returns the exit status
 * (-1 if it had to be killed) and its log output in *out. */
static int start_fails(harness_server *s, const char *k, const char *v, char **out) {
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    const char *argv[] = {harness_bin(HARNESS_LIGHTNING), "--port", port, "--bind", "127.0.0.1",
                          "--dir", s->dir, "--save", "", k, v, NULL};
    if (!k) argv[9] = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 10000, out, &timed_out);
    if (timed_out) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Offset of the payload of record `index` (0-based) in a segment. */
static long record_payload_offset(const char *seg, int index) {
    FILE *f = fopen(seg, "rb");
    if (!f) return -1;
    long off = 0;
    for (int i = 0; i < index; i++) {
        unsigned char h[WAL_HEADER_SIZE];
        if (fseek(f, off, SEEK_SET) != 0 || fread(h, 1, sizeof(h), f) != sizeof(h)) {
            fclose(f);
            return -1;
        }
        uint32_t len = (uint32_t)h[32] | (uint32_t)h[33] << 8 | (uint32_t)h[34] << 16 |
                       (uint32_t)h[35] << 24;
        off += WAL_HEADER_SIZE + (long)len;
    }
    fclose(f);
    return off + WAL_HEADER_SIZE;
}

/* Strict replay: a bad record that is not a torn tail stops start-up with
 * the file, the offset and why; nothing is cut or skipped. */
TEST(corrupt_record_refuses_start) {
    char seg[600];
    harness_server *s = prepare_stopped(seg, sizeof(seg));
    REQUIRE(s && seg[0]);
    long pos = record_payload_offset(seg, 50);
    REQUIRE(pos > 0);
    struct stat st0;
    REQUIRE(stat(seg, &st0) == 0);
    int fd = open(seg, O_RDWR);
    REQUIRE(fd >= 0);
    unsigned char b;
    REQUIRE(pread(fd, &b, 1, pos + 3) == 1);
    b ^= 0x01;
    REQUIRE(pwrite(fd, &b, 1, pos + 3) == 1);
    close(fd);
    char *out = NULL;
    CHECK_EQ_INT(start_fails(s, NULL, NULL, &out), 1);
    CHECK(strstr(out, strrchr(seg, '/') + 1) != NULL);
    char where[64];
    snprintf(where, sizeof(where), "at offset %ld ", pos - WAL_HEADER_SIZE);
    CHECK(strstr(out, where) != NULL);
    CHECK(strstr(out, "checksum mismatch") != NULL);
    CHECK(strstr(out, "Start-up refused") != NULL);
    CHECK(strstr(out, "aof-load-truncated") == NULL); /* not a tail: no way around it */
    free(out);
    struct stat st1;
    REQUIRE(stat(seg, &st1) == 0);
    CHECK_EQ_INT(st1.st_size, st0.st_size); /* nothing cut */
    /* Put the byte back: everything is there. */
    fd = open(seg, O_RDWR);
    b ^= 0x01;
    REQUIRE(pwrite(fd, &b, 1, pos + 3) == 1);
    close(fd);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET last"), "bulk:\"tail-record\"");
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:101");
}

/* aof-load-truncated no: even a torn tail refuses; yes (the default) cuts it. */
TEST(torn_tail_needs_aof_load_truncated) {
    char seg[600];
    harness_server *s = prepare_stopped(seg, sizeof(seg));
    REQUIRE(s && seg[0]);
    struct stat st;
    REQUIRE(stat(seg, &st) == 0);
    REQUIRE(truncate(seg, st.st_size - 3) == 0);
    char *out = NULL;
    CHECK_EQ_INT(start_fails(s, "--aof-load-truncated", "no", &out), 1);
    CHECK(strstr(out, "torn record") != NULL);
    CHECK(strstr(out, "aof-load-truncated yes") != NULL);
    free(out);
    REQUIRE(stat(seg, &st) == 0);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET aof-load-truncated"),
                 "array[bulk:\"aof-load-truncated\",bulk:\"yes\"]");
    CHECK_EQ_STR(cmd(c, "EXISTS last a99"), "int:1");
}

/* Appends one raw record to the WAL of a stopped server. */
static void append_raw_record(harness_server *s, const char *payload) {
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", s->dir);
    wal_config cfg = {.dir = dir, .load_truncated = 1};
    wal_scan_result res;
    wal *w = NULL;
    REQUIRE(wal_open(&cfg, NULL, NULL, &res, &w) == LT_OK);
    struct iovec iov = {(void *)payload, strlen(payload)};
    uint64_t end = 0;
    REQUIRE(wal_append(w, UINT64_MAX / 2, lt_mstime(), WAL_REC_COMMANDS_DB0, &iov, 1, &end) ==
            LT_OK);
    REQUIRE(wal_sync(w, end) == LT_OK);
    REQUIRE(wal_close(w) == LT_OK);
}

/* A valid record whose command fails, or whose payload is not RESP, stops
 * start-up too (never skipped). */
TEST(record_that_fails_to_apply_refuses_start) {
    const char *payloads[] = {"*2\r\n$4\r\nINCR\r\n$2\r\na0\r\n", "not resp at all",
                              "*1\r\n$7\r\nNOSUCHC\r\n"};
    const char *why[] = {"command 'INCR' replied an error", "not a sequence of RESP commands",
                         "command 'NOSUCHC' replied an error"};
    for (int i = 0; i < 3; i++) {
        char seg[600];
        harness_server *s = prepare_stopped(seg, sizeof(seg));
        REQUIRE(s && seg[0]);
        append_raw_record(s, payloads[i]);
        char *out = NULL;
        CHECK_EQ_INT(start_fails(s, NULL, NULL, &out), 1);
        CHECK(strstr(out, why[i]) != NULL);
        CHECK(strstr(out, strrchr(seg, '/') + 1) != NULL);
        CHECK(strstr(out, "Start-up refused") != NULL);
        free(out);
        s->expect_exit = 1;
        harness_stop(s);
    }
}

TEST(disk_errors_refuse_writes_until_recovered) {
    const char *policies[] = {"always", "everysec"};
    for (int p = 0; p < 2; p++) {
        harness_server *s = harness_start("appendfsync", policies[p], "enable-debug-command", "yes", NULL);
        REQUIRE(s);
        redisContext *a = harness_connect(s), *b = harness_connect(s);
        REQUIRE(a && b);
        /* b's keys live in another database than a's write: with a random
         * hash seed they could share its shard, and a read of that shard
         * waits (under always) for the write that cannot be made durable. */
        CHECK_EQ_STR(cmd(b, "SELECT 1"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(b, "SET before 1"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL write"), "status:\"OK\"");
        /* This write meets the failing disk: under always its reply waits. */
        redisAppendCommand(a, "SET during 1");
        REQUIRE(redisBufferWrite(a, &(int){0}) == REDIS_OK);
        char v[64] = "";
        for (int i = 0; i < 100; i++) {
            if (persist_field(b, "aof_last_write_status", v, sizeof(v)) && strcmp(v, "err") == 0)
                break;
            harness_sleep_ms(20);
        }
        CHECK_EQ_STR(v, "err");
        CHECK_EQ_STR(cmd(b, "SET x 1"),
                     "err:\"MISCONF Errors writing to the AOF file: No space left on device\"");
        CHECK_EQ_STR(cmd(b, "GET before"), "bulk:\"1\"");
        CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL none"), "status:\"OK\"");
        redisReply *r = NULL;
        REQUIRE(redisGetReply(a, (void **)&r) == REDIS_OK && r);
        CHECK_EQ_INT(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
        for (int i = 0; i < 100; i++) {
            if (persist_field(b, "aof_last_write_status", v, sizeof(v)) && strcmp(v, "ok") == 0)
                break;
            harness_sleep_ms(20);
        }
        CHECK_EQ_STR(v, "ok");
        CHECK_EQ_STR(cmd(b, "SET after 1"), "status:\"OK\"");
        /* fsync failures are handled the same way. */
        CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL fsync"), "status:\"OK\"");
        if (p == 0) {
            redisAppendCommand(a, "SET during2 1");
            REQUIRE(redisBufferWrite(a, &(int){0}) == REDIS_OK);
            for (int i = 0; i < 100; i++) {
                if (persist_field(b, "aof_last_write_status", v, sizeof(v)) &&
                    strcmp(v, "err") == 0)
                    break;
                harness_sleep_ms(20);
            }
            CHECK_EQ_STR(v, "err");
            CHECK(strncmp(cmd(b, "SET y 1"), "err:\"MISCONF", 12) == 0);
            /* The fsync failed: the reply must not have been released. */
            struct pollfd pfd = {.fd = a->fd, .events = POLLIN};
            CHECK_EQ_INT(poll(&pfd, 1, 100), 0);
        }
        CHECK_EQ_STR(cmd(b, "DEBUG WAL-FAIL none"), "status:\"OK\"");
        if (p == 0) {
            r = NULL;
            REQUIRE(redisGetReply(a, (void **)&r) == REDIS_OK && r);
            CHECK_EQ_INT(r->type, REDIS_REPLY_STATUS);
            freeReplyObject(r);
        }
        if (p == 0) {
            harness_kill9(s);
        } else {
            /* everysec: let the next fsync happen before the crash. */
            for (int i = 0; i < 50; i++) {
                char d[64], w[64];
                if (persist_field(b, "wal_durable_offset", d, sizeof(d)) &&
                    persist_field(b, "wal_written_offset", w, sizeof(w)) && strcmp(d, w) == 0)
                    break;
                harness_sleep_ms(100);
            }
            harness_kill9(s);
        }
        REQUIRE(harness_restart(s) == 0);
        redisContext *c = harness_connect(s);
        REQUIRE(c);
        CHECK_EQ_STR(cmd(c, "GET during"), "bulk:\"1\"");
        if (p == 0) CHECK_EQ_STR(cmd(c, "GET during2"), "bulk:\"1\"");
        CHECK_EQ_STR(cmd(c, "SELECT 1"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(c, "MGET before after"), "array[bulk:\"1\",bulk:\"1\"]");
        CHECK_EQ_STR(cmd(c, "EXISTS x y"), "int:0");
        harness_stop(s);
    }
}

/* Waits (bounded) until the server's log contains text. */
static int log_has(harness_server *s, const char *text) {
    for (int i = 0; i < 250; i++) {
        char *log = read_file(s->logfile);
        int found = strstr(log, text) != NULL;
        free(log);
        if (found) return 1;
        harness_sleep_ms(20);
    }
    return 0;
}

/* A real full disk (a 4 MiB tmpfs): writes are refused with MISCONF once
 * the WAL cannot write, reads go on, TTL keys keep expiring (their DELs
 * never block on the full log), SHUTDOWN and SIGTERM refuse to exit while
 * acknowledged writes are only in memory, and once space is freed every
 * acknowledged write is there after a restart. */
TEST(disk_full_keeps_every_acknowledged_write) {
    char mnt[64] = "/tmp/lt-tmpfs-XXXXXX";
    REQUIRE(mkdtemp(mnt));
    char mcmd[200];
    snprintf(mcmd, sizeof(mcmd), "mount -t tmpfs -o size=4m tmpfs %s 2>/dev/null", mnt);
    if (system(mcmd) != 0) {
        printf("# skip: cannot mount a tmpfs (needs root)\n");
        rmdir(mnt);
        return;
    }
    char filler[128];
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    FILE *f = fopen(filler, "w");
    REQUIRE(f);
    static char blk[1 << 20];
    memset(blk, 'f', sizeof(blk));
    REQUIRE(fwrite(blk, 1, sizeof(blk), f) == sizeof(blk));
    fclose(f);
    harness_server *s =
        harness_start("dir", mnt, "save", "3600 100000000", "appendfsync", "everysec", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    static char val[8192];
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    enum { MAXK = 4000 };
    static char acked[MAXK];
    memset(acked, 0, sizeof(acked));
    int misconf = 0, nacked = 0, i;
    for (i = 0; i < MAXK && misconf < 20; i++) {
        redisReply *r = redisCommand(c, "SET big%d %s", i, val);
        REQUIRE(r);
        if (r->type == REDIS_REPLY_STATUS) {
            acked[i] = 1;
            nacked++;
        } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "MISCONF", 7) == 0) {
            misconf++;
        }
        freeReplyObject(r);
        r = redisCommand(c, "SET ttl%d x PX 5", i); /* expire while the disk is full */
        if (r) freeReplyObject(r);
        if (misconf) {
            r = redisCommand(c, "GET ttl%d", i - 3); /* a lazy expiry: logs a DEL */
            if (r) freeReplyObject(r);
        }
    }
    CHECK(misconf >= 20);
    CHECK(nacked > 100);
    char v[64] = "";
    persist_field(c, "aof_last_write_status", v, sizeof(v));
    CHECK_EQ_STR(v, "err");
    /* Reads go on. */
    for (int k = 0; k < i; k++) {
        if (!acked[k]) continue;
        redisReply *r = redisCommand(c, "STRLEN big%d", k);
        REQUIRE(r);
        CHECK_EQ_INT(r->integer, (long long)sizeof(val) - 1);
        freeReplyObject(r);
        break;
    }
    /* SHUTDOWN and SIGTERM refuse while the WAL cannot be made durable. */
    CHECK_EQ_STR(cmd(c, "SHUTDOWN"), "err:\"ERR Errors trying to SHUTDOWN. Check logs.\"");
    CHECK(log_has(s, "can't exit"));
    REQUIRE(kill(s->pid, SIGTERM) == 0);
    CHECK(log_has(s, "SIGTERM received but errors trying to shut down the server"));
    CHECK_EQ_STR(cmd(c, "PING"), "err:\"MISCONF Errors writing to the AOF file: No space left on device\"");
    CHECK_EQ_STR(cmd(c, "GET nosuchkey"), "nil");
    /* A background save fails too: stop-writes-on-bgsave-error (Redis's
     * text, checked first), and without it the WAL's MISCONF. */
    CHECK_EQ_STR(cmd(c, "BGSAVE"), "status:\"Background saving started\"");
    for (int k = 0; k < 300; k++) {
        if (persist_field(c, "rdb_last_bgsave_status", v, sizeof(v)) && strcmp(v, "err") == 0)
            break;
        harness_sleep_ms(20);
    }
    CHECK_EQ_STR(v, "err");
    CHECK_EQ_STR(cmd(c, "SET x 1"),
                 "err:\"MISCONF Redis is configured to save RDB snapshots, but it's currently "
                 "unable to persist to disk. Commands that may modify the data set are disabled, "
                 "because this instance is configured to report errors during writes if RDB "
                 "snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
                 "Redis logs for details about the RDB error.\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET stop-writes-on-bgsave-error no"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET x 1"),
                 "err:\"MISCONF Errors writing to the AOF file: No space left on device\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET stop-writes-on-bgsave-error yes"), "status:\"OK\"");
    /* Free space: the writer's retry succeeds and writes are accepted. */
    REQUIRE(unlink(filler) == 0);
    for (int k = 0; k < 300; k++) {
        if (persist_field(c, "aof_last_write_status", v, sizeof(v)) && strcmp(v, "ok") == 0)
            break;
        harness_sleep_ms(20);
    }
    CHECK_EQ_STR(v, "ok");
    CHECK(strncmp(cmd(c, "SET x 1"), "err:\"MISCONF Redis is configured", 30) == 0);
    CHECK_EQ_STR(cmd(c, "BGSAVE"), "status:\"Background saving started\"");
    for (int k = 0; k < 300; k++) {
        if (persist_field(c, "rdb_last_bgsave_status", v, sizeof(v)) && strcmp(v, "ok") == 0)
            break;
        harness_sleep_ms(20);
    }
    CHECK_EQ_STR(v, "ok");
    CHECK_EQ_STR(cmd(c, "SET after-full 1"), "status:\"OK\"");
    /* Now SIGTERM exits cleanly; every acknowledged write comes back. */
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    int missing = 0;
    for (int k = 0; k < i; k++) {
        if (!acked[k]) continue;
        redisReply *r = redisCommand(c, "STRLEN big%d", k);
        REQUIRE(r);
        if (r->integer != (long long)sizeof(val) - 1) missing++;
        freeReplyObject(r);
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_STR(cmd(c, "GET after-full"), "bulk:\"1\"");
    harness_stop(s);
    snprintf(mcmd, sizeof(mcmd), "umount %s", mnt);
    if (system(mcmd) != 0) printf("# could not unmount %s\n", mnt);
    rmdir(mnt);
}

/* Sends one command without reading its reply. */
static void send_only(redisContext *c, const char *command) {
    redisAppendCommand(c, command);
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) break;
}

/* 1 if a reply byte arrives within ms (the reply was released). */
static int reply_ready(redisContext *c, int ms) {
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    return poll(&pfd, 1, ms) > 0;
}

static const char *reply_of(redisContext *c) {
    static char buf[256];
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return "(no reply)";
    char *s = reply_to_string(r);
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    freeReplyObject(r);
    return buf;
}

/* Under always no client gets a reply that depends on a write not yet
 * durable: a reader of the value (on any thread), a WATCH that saw it
 * change, an EXISTS that found the key, a KEYS that lists it. With the
 * fsync failing the writer's record stays not durable; every such reply
 * is held until it is, while replies that depend on nothing unsynced
 * (another key's GET, INFO) go out. */
TEST(always_holds_readers_of_unsynced_writes) {
    harness_server *s = harness_start("appendfsync", "always", "io-threads", "2",
                                      "enable-debug-command", "yes", NULL);
    REQUIRE(s);
    redisContext *a = harness_connect(s), *b = harness_connect(s), *w = harness_connect(s),
                 *n = harness_connect(s), *k = harness_connect(s), *o = harness_connect(s);
    REQUIRE(a && b && w && n && k && o);
    /* "other" lives in another database: with a random hash seed it could
     * share key's shard (and its stamp) in database 0. */
    CHECK_EQ_STR(cmd(o, "SELECT 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(o, "SET other 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(w, "WATCH key"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(w, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(w, "GET key"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(o, "DEBUG WAL-FAIL fsync"), "status:\"OK\"");
    send_only(a, "SET key fresh");
    char v[64] = "";
    for (int i = 0; i < 100; i++) {
        if (persist_field(o, "aof_last_write_status", v, sizeof(v)) && strcmp(v, "err") == 0)
            break;
        harness_sleep_ms(20);
    }
    REQUIRE(strcmp(v, "err") == 0);
    send_only(b, "GET key");
    send_only(w, "EXEC");
    send_only(n, "EXISTS key");
    send_only(k, "KEYS k*");
    CHECK_EQ_STR(cmd(o, "GET other"), "bulk:\"1\""); /* depends on nothing unsynced */
    CHECK(!reply_ready(a, 100));
    CHECK(!reply_ready(b, 0));
    CHECK(!reply_ready(w, 0));
    CHECK(!reply_ready(n, 0));
    CHECK(!reply_ready(k, 0));
    CHECK_EQ_STR(cmd(o, "DEBUG WAL-FAIL none"), "status:\"OK\"");
    CHECK_EQ_STR(reply_of(a), "status:\"OK\"");
    CHECK_EQ_STR(reply_of(b), "bulk:\"fresh\"");
    CHECK_EQ_STR(reply_of(w), "nil");
    CHECK_EQ_STR(reply_of(n), "int:1");
    CHECK_EQ_STR(reply_of(k), "array[bulk:\"key\"]");
}

typedef struct stream_buf {
    char *p;
    size_t len;
    int curdb; /* selected by the stream so far, -1: none */
} stream_buf;

/* The logical stream derived from the WAL's records (stream.c's rule: a
 * record's database is its leading SELECT's, else 0; the SELECT is emitted
 * only when that differs from the database the stream left selected, which
 * is the last one the record selects). */
static int select_db_at(const char *p, size_t len) {
    static const char pre[] = "*2\r\n$6\r\nSELECT\r\n$";
    if (len < sizeof(pre) - 1 || memcmp(p, pre, sizeof(pre) - 1) != 0) return -1;
    const char *nl = memchr(p + sizeof(pre) - 1, '\n', len - (sizeof(pre) - 1));
    return nl && (size_t)(nl + 1 - p) < len ? atoi(nl + 1) : -1;
}

static int stream_collect(void *ctx, const wal_record *r) {
    stream_buf *b = ctx;
    static const char sel0[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    const char *pl = (const char *)r->payload;
    int lead = select_db_at(pl, r->len);
    int db = lead >= 0 ? lead : 0;
    size_t skip = 0;
    if (lead >= 0) { /* the leading SELECT's length: up to its second "\r\n" after '$' */
        const char *q = memchr(pl + 16, '\n', r->len - 16);
        q = q ? memchr(q + 1, '\n', r->len - (size_t)(q + 1 - pl)) : NULL;
        skip = q ? (size_t)(q + 1 - pl) : 0;
    }
    b->p = realloc(b->p, b->len + r->len + sizeof(sel0));
    if (db != b->curdb && lead < 0) {
        memcpy(b->p + b->len, sel0, sizeof(sel0) - 1);
        b->len += sizeof(sel0) - 1;
    }
    size_t from = db == b->curdb ? skip : 0;
    memcpy(b->p + b->len, pl + from, r->len - from);
    b->len += r->len - from;
    b->curdb = db;
    for (size_t i = 1; i + 16 < r->len; i++) { /* inner SELECTs: where it ends */
        int d = select_db_at(pl + i, r->len - i);
        if (d >= 0) b->curdb = d;
    }
    return 0;
}

static long long repl_offset(redisContext *c) {
    return harness_info_num(c, "replication", "master_repl_offset");
}

/* The logical log is one RESP stream: master_repl_offset counts its bytes
 * (SELECT <db> where the database changes, so a first SET k v in db 0 is
 * 23 + 27 bytes), it equals the stream derived from the WAL on disk, and that
 * concatenated stream, sent to a real Redis, builds the same data —
 * databases included. */
TEST(logical_stream_offsets_and_databases) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_INT(repl_offset(c), 0);
    CHECK_EQ_STR(cmd(c, "SET k v"), "status:\"OK\"");
    CHECK_EQ_INT(repl_offset(c), 23 + 27);
    CHECK_EQ_STR(cmd(c, "SELECT 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET k w"), "status:\"OK\"");
    CHECK_EQ_INT(repl_offset(c), 2 * (23 + 27));
    CHECK_EQ_STR(cmd(c, "SELECT 0"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "MULTI"), "status:\"OK\"");
    cmd(c, "SET a 1");
    cmd(c, "SET b 2");
    CHECK_EQ_STR(cmd(c, "EXEC"), "array[status:\"OK\",status:\"OK\"]");
    CHECK_EQ_INT(repl_offset(c), 2 * (23 + 27) + 23 + 15 + 2 * 27 + 14);
    CHECK_EQ_STR(cmd(c, "SET x 1"), "status:\"OK\""); /* db 0 right after db 3 */
    CHECK_EQ_STR(cmd(c, "SELECT 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "RPUSH l a b c"), "int:3");
    CHECK_EQ_STR(cmd(c, "SELECT 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCR n"), "int:1");
    long long off = repl_offset(c);
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/appendonlydir", s->dir);
    stream_buf b = {.curdb = -1};
    wal_scan_result res;
    REQUIRE(wal_scan(dir, 0, stream_collect, &b, &res) == LT_OK);
    CHECK_EQ_INT((long long)b.len, off);
    if (!harness_have_redis()) {
        printf("# skip: redis-server not found (stream not applied to Redis)\n");
        free(b.p);
        return;
    }
    harness_server *r = harness_start_redis(NULL);
    REQUIRE(r);
    int fd = raw_connect_server(r);
    REQUIRE(fd >= 0);
    REQUIRE(raw_send(fd, b.p, b.len) == 0);
    raw_sendstr(fd, "*1\r\n$4\r\nPING\r\n");
    raw_buf rb = raw_read_until(fd, 2000); /* the replies, up to PONG */
    raw_buf_free(&rb);
    raw_close(fd);
    free(b.p);
    redisContext *rc = harness_connect(r);
    REQUIRE(rc);
    const char *checks[][2] = {{"0", "GET k"}, {"0", "MGET a b x"}, {"3", "GET k"},
                               {"3", "GET n"}, {"5", "LRANGE l 0 -1"}, {"0", "DBSIZE"},
                               {"3", "DBSIZE"}, {"5", "DBSIZE"}};
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "SELECT %s", checks[i][0]);
        cmd(c, sel);
        cmd(rc, sel);
        char want[256];
        snprintf(want, sizeof(want), "%s", cmd(c, checks[i][1]));
        CHECK_EQ_STR(cmd(rc, checks[i][1]), want);
    }
}

static int run_check(const char *a1, const char *a2, char **out) {
    char bin[300];
    const char *build = getenv("BUILD");
    snprintf(bin, sizeof(bin), "%s/utils/lightning-check", build ? build : "build");
    const char *argv[] = {bin, a1, a2, NULL};
    int timed_out = 0;
    int st = harness_run_capture(argv, 10000, out, &timed_out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(lightning_check_reports_and_fixes) {
    char seg[600];
    harness_server *s = prepare_stopped(seg, sizeof(seg));
    REQUIRE(s && seg[0]);
    char *out = NULL;
    CHECK_EQ_INT(run_check(s->dir, NULL, &out), 0);
    free(out);
    /* Garbage appended after the last record, as a torn write leaves. */
    int fd = open(seg, O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "LWL1garbage", 11) == 11);
    close(fd);
    struct stat st;
    REQUIRE(stat(seg, &st) == 0);
    char want[64];
    snprintf(want, sizeof(want), "offset %lld", (long long)st.st_size - 11);
    out = NULL;
    CHECK_EQ_INT(run_check(s->dir, NULL, &out), 1);
    CHECK(out && strstr(out, strrchr(seg, '/') + 1) && strstr(out, want));
    free(out);
    out = NULL;
    CHECK_EQ_INT(run_check(seg, NULL, &out), 1); /* one file */
    free(out);
    out = NULL;
    CHECK_EQ_INT(run_check("--fix", s->dir, &out), 0);
    free(out);
    out = NULL;
    CHECK_EQ_INT(run_check(s->dir, NULL, &out), 0);
    free(out);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "GET last"), "bulk:\"tail-record\"");
}

TEST(info_and_config) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG GET appendonly"), "array[bulk:\"appendonly\",bulk:\"yes\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET appendfsync"), "array[bulk:\"appendfsync\",bulk:\"everysec\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG SET appendfsync always"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET appendfsync sometimes"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'appendfsync') - "
                 "argument(s) must be one of the following: everysec, always, no\"");
    CHECK_EQ_STR(cmd(c, "SET k v"), "status:\"OK\"");
    char v[64];
    CHECK(persist_field(c, "aof_last_write_status", v, sizeof(v)) && !strcmp(v, "ok"));
    CHECK(persist_field(c, "rdb_changes_since_last_save", v, sizeof(v)) && atoll(v) >= 1);
    CHECK(persist_field(c, "aof_current_size", v, sizeof(v)) && atoll(v) > 0);
    CHECK(persist_field(c, "wal_durable_offset", v, sizeof(v)) && atoll(v) > 0);
    CHECK(persist_field(c, "wal_fsyncs", v, sizeof(v)) && atoll(v) >= 1);
    CHECK(persist_field(c, "aof_rewrite_in_progress", v, sizeof(v)) && !strcmp(v, "0"));
    CHECK(persist_field(c, "aof_last_cow_size", v, sizeof(v)) && !strcmp(v, "0"));
}

int main(void) {
    RUN(restart_keeps_data);
    RUN(restart_keeps_collections);
    RUN(always_kill9_keeps_acknowledged);
    RUN(everysec_kill9_keeps_acknowledged);
    RUN(no_kill9_keeps_acknowledged);
    RUN(everysec_fsyncs_within_a_second);
    RUN(old_format_records_replay);
    RUN(mixed_log_replays_exactly);
    RUN(torn_tail_recovered);
    RUN(flipped_byte_recovered);
    RUN(corrupt_record_refuses_start);
    RUN(torn_tail_needs_aof_load_truncated);
    RUN(record_that_fails_to_apply_refuses_start);
    RUN(disk_errors_refuse_writes_until_recovered);
    RUN(disk_full_keeps_every_acknowledged_write);
    RUN(always_holds_readers_of_unsynced_writes);
    RUN(logical_stream_offsets_and_databases);
    RUN(lightning_check_reports_and_fixes);
    RUN(info_and_config);
    return testlib_finish();
}
