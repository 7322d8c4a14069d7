/*
 * Transactions (MULTI / EXEC / DISCARD / WATCH / UNWATCH), differential
 * against real Redis 7.0 plus explicit expected replies: every error of
 * the family, QUEUED, per-command errors inside EXEC, WATCH aborting or
 * not (written, deleted, absent then created, expiry, FLUSHDB/FLUSHALL,
 * SWAPDB, RENAME/MOVE onto or away from the key, other databases), RESP3
 * replies, CLIENT LIST's multi= and flags=x, and the durability of a
 * transaction (one WAL record: all or nothing after kill -9). No timing
 * assertions: expiry cases wait well past the TTL.
 */
#include "../difftest.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* One side of a differential run: a watcher and an "other" connection. */
typedef struct side {
    redisContext *a, *b;
} side;

/* Runs line (arguments separated by single spaces) on c and returns the
 * reply's text; "" for a NULL c. */
static const char *on(redisContext *c, const char *line) {
    if (!c) return "";
    char buf[256], *argv[16];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *p = strtok(buf, " "); p && argc < 15; p = strtok(NULL, " ")) argv[argc++] = p;
    argv[argc] = NULL;
    return cmd_argv(c, (const char *const *)argv);
}

/* A WATCH scenario: setup on b, WATCH x on a, between on b (each a
 * NULL-terminated list of commands without arguments containing spaces),
 * then MULTI / PING / EXEC on a. Returns Lightning's EXEC reply after
 * checking Redis's is the same. */
static const char *watch_case_at(int line, side *l, side *r, const char *const *setup,
                                 const char *const *between, int sleep_ms) {
    static char lres[256];
    side *sides[2] = {l, r};
    char res[2][256] = {"", ""};
    for (int s = 0; s < 2; s++) {
        side *sd = sides[s];
        if (!sd->a) continue;
        on(sd->b, "FLUSHALL");
        on(sd->b, "SELECT 0");
        on(sd->a, "SELECT 0");
        for (int i = 0; setup && setup[i]; i++) on(sd->b, setup[i]);
        on(sd->a, "WATCH x");
        if (sleep_ms) usleep((useconds_t)sleep_ms * 1000);
        for (int i = 0; between && between[i]; i++) on(sd->b, between[i]);
        on(sd->a, "MULTI");
        on(sd->a, "PING");
        snprintf(res[s], sizeof(res[s]), "%s", on(sd->a, "EXEC"));
    }
    if (r->a && strcmp(res[0], res[1]) != 0)
        testlib_fail(__FILE__, line, "lightning %s != redis %s", res[0], res[1]);
    snprintf(lres, sizeof(lres), "%s", res[0]);
    return lres;
}

#define watch_case(...) watch_case_at(__LINE__, __VA_ARGS__)
#define CMDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ABORTED "nil"
#define RAN "array[status:\"PONG\"]"

/* Starts the pair with two connections to each server (rs's NULL without
 * Redis). Returns 1 when both of Lightning's are open. */
static int start_sides(side *ls, side *rs) {
    if (!difftest_start_servers(NULL)) return 0;
    ls->a = harness_connect(LS);
    ls->b = harness_connect(LS);
    rs->a = harness_connect(RS);
    rs->b = harness_connect(RS);
    return ls->a && ls->b;
}

TEST(errors_and_queueing) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("EXEC"), "err:\"ERR EXEC without MULTI\"");
    CHECK_EQ_STR(C("DISCARD"), "err:\"ERR DISCARD without MULTI\"");
    CHECK_EQ_STR(C("MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(C("MULTI"), "err:\"ERR MULTI calls can not be nested\"");
    CHECK_EQ_STR(C("WATCH", "x"), "err:\"ERR WATCH inside MULTI is not allowed\"");
    CHECK_EQ_STR(C("SET", "x", "1"), "status:\"QUEUED\"");
    /* Neither error above fails the transaction. */
    CHECK_EQ_STR(C("EXEC"), "array[status:\"OK\"]");

    /* Queueing errors abort EXEC. */
    C("MULTI");
    CHECK_EQ_STR(C("SET", "x"),
                 "err:\"ERR wrong number of arguments for 'set' command\"");
    CHECK_EQ_STR(C("INCR", "x"), "status:\"QUEUED\"");
    CHECK_EQ_STR(C("EXEC"),
                 "err:\"EXECABORT Transaction discarded because of previous errors.\"");
    CHECK_EQ_STR(C("GET", "x"), "bulk:\"1\"");
    C("MULTI");
    CHECK_EQ_STR(C("NOSUCH", "a"),
                 "err:\"ERR unknown command 'NOSUCH', with args beginning with: 'a' \"");
    CHECK(strncmp(C("EXEC"), "err:\"EXECABORT", 14) == 0);
    C("MULTI");
    CHECK_EQ_STR(C("SHUTDOWN"), "err:\"ERR Command not allowed inside a transaction\"");
    CHECK(strncmp(C("EXEC"), "err:\"EXECABORT", 14) == 0);
    CHECK_EQ_STR(C("EXEC"), "err:\"ERR EXEC without MULTI\"");

    /* Runtime errors are per command; the rest runs. */
    C("MULTI");
    C("SET", "s", "abc");
    C("INCR", "s");
    C("LPUSH", "s", "v");
    C("APPEND", "s", "d");
    C("GET", "s");
    CHECK_EQ_STR(C("EXEC"),
                 "array[status:\"OK\",err:\"ERR value is not an integer or out of range\","
                 "err:\"WRONGTYPE Operation against a key holding the wrong kind of value\","
                 "int:4,bulk:\"abcd\"]");

    /* DISCARD drops the queue. */
    C("MULTI");
    C("SET", "d", "1");
    CHECK_EQ_STR(C("DISCARD"), "status:\"OK\"");
    CHECK_EQ_STR(C("EXISTS", "d"), "int:0");

    /* Empty transaction; SELECT inside changes the db of what follows. */
    C("MULTI");
    CHECK_EQ_STR(C("EXEC"), "array[]");
    C("MULTI");
    C("SELECT", "3");
    C("SET", "q", "db3");
    C("SELECT", "99");
    C("GET", "q");
    CHECK_EQ_STR(C("EXEC"),
                 "array[status:\"OK\",status:\"OK\",err:\"ERR DB index is out of range\","
                 "bulk:\"db3\"]");
    CHECK_EQ_STR(C("DBSIZE"), "int:1");
    C("SELECT", "0");
    CHECK_EQ_STR(C("EXISTS", "q"), "int:0");

    /* Whole-database commands inside a transaction. */
    C("FLUSHALL");
    C("SET", "k1", "1");
    C("MULTI");
    C("RANDOMKEY");
    C("KEYS", "k*");
    C("SCAN", "0", "MATCH", "k*", "COUNT", "1000");
    C("SET", "k2", "2");
    C("DBSIZE");
    C("SWAPDB", "0", "3");
    C("MOVE", "q", "0");
    C("FLUSHDB");
    C("SELECT", "3");
    C("DBSIZE");
    C("FLUSHALL");
    C("DBSIZE");
    const char *res = CU("EXEC");
    CHECK(strstr(res, "int:2") != NULL);
    C("SELECT", "0");

    /* RESET and QUIT inside MULTI run at once and end the transaction. */
    C("MULTI");
    C("SET", "r", "1");
    CHECK_EQ_STR(C("RESET"), "status:\"RESET\"");
    CHECK_EQ_STR(C("EXEC"), "err:\"ERR EXEC without MULTI\"");
    CHECK_EQ_STR(C("EXISTS", "r"), "int:0");
    C("MULTI");
    C("SET", "r", "1");
    CHECK_EQ_STR(C("QUIT"), "status:\"OK\"");
    redisContext *c2l = harness_connect(LS), *c2r = harness_connect(RS);
    CHECK_EQ_STR(COMPARE(c2l, c2r, "EXISTS", "r"), "int:0");
}

/* EXEC checks again what its queued commands would be refused for now:
 * NOREPLICAS when a write is queued and min-replicas-to-write can no
 * longer be met, MASTERDOWN on a replica gone stale (Redis's multi unit). */
TEST(exec_rechecks_replication_state) {
    REQUIRE(difftest_start(NULL));
    redisContext *other_l = harness_connect(LS), *other_r = RS ? harness_connect(RS) : NULL;
    REQUIRE(other_l);
#define OTHER(...)                                                          \
    do {                                                                    \
        freeReplyObject(redisCommand(other_l, __VA_ARGS__));                \
        if (other_r) freeReplyObject(redisCommand(other_r, __VA_ARGS__));   \
    } while (0)
    EXPECT("status:\"OK\"", "SET", "xx", "1");
    C("MULTI");
    C("INCR", "xx");
    OTHER("CONFIG SET min-replicas-to-write 2");
    EXPECT("err:\"EXECABORT Transaction discarded because of: NOREPLICAS Not enough good "
           "replicas to write.\"",
           "EXEC");
    EXPECT("bulk:\"1\"", "GET", "xx");
    OTHER("CONFIG SET min-replicas-to-write 0");
    C("CONFIG", "SET", "replica-serve-stale-data", "no");
    const char *queued[] = {"GET", "PING"};
    for (int i = 0; i < 2; i++) {
        C("MULTI");
        if (i == 0) C("GET", "xx");
        else C(queued[i]);
        OTHER("REPLICAOF localhsot 0");
        C("EXEC");
        OTHER("REPLICAOF NO ONE");
    }
#undef OTHER
    harness_disconnect(other_l);
    if (other_r) harness_disconnect(other_r);
}

TEST(client_list_shows_multi) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *a = harness_connect(l), *b = harness_connect(l);
    REQUIRE(a && b);
    CHECK_EQ_STR(cmd(a, "CLIENT SETNAME txn"), "status:\"OK\"");
    cmd(a, "MULTI");
    cmd(a, "SET x 1");
    cmd(a, "PING");
    redisReply *rep = redisCommand(b, "CLIENT LIST");
    REQUIRE(rep && rep->type == REDIS_REPLY_STRING);
    const char *line = strstr(rep->str, "name=txn");
    CHECK(line != NULL);
    if (line) {
        CHECK(strstr(line, " flags=x ") != NULL);
        CHECK(strstr(line, " multi=2 ") != NULL);
    }
    freeReplyObject(rep);
    cmd(a, "EXEC");
    rep = redisCommand(b, "CLIENT LIST");
    REQUIRE(rep && rep->type == REDIS_REPLY_STRING);
    line = strstr(rep->str, "name=txn");
    CHECK(line && strstr(line, " flags=N ") && strstr(line, " multi=-1 "));
    freeReplyObject(rep);
}

TEST(watch_abort_cases) {
    side ls, rs;
    REQUIRE(start_sides(&ls, &rs));
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, NULL, 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SET x 2"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SET x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("GET x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("DEL x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("INCR x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("APPEND x z"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("EXPIRE x 100"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("PERSIST x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SET y 1", "DEL y"), 0), RAN);
    /* Type change. */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("DEL x", "LPUSH x a"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SADD x a"), CMDS("SADD x b"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SADD x a"), CMDS("SADD x a"), 0), RAN);
    /* Absent at WATCH. */
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("SET x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("SET x 1", "DEL x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("DEL x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("SET y 1", "DEL y", "SET z 1"), 0), RAN);
    /* RENAME / MOVE onto and away from the key. */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET z 1"), CMDS("RENAME z x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("RENAME x z"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("MOVE x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SELECT 1", "SET x 1", "SELECT 0"),
                            CMDS("SELECT 1", "MOVE x 0", "SELECT 0"), 0),
                 ABORTED);
    /* Other databases: the same name elsewhere is another key. */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SELECT 1", "SET x 2", "SELECT 0"), 0), RAN);
    /* FLUSHDB / FLUSHALL invalidate keys that existed only. */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("FLUSHDB"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("FLUSHALL"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("SET y 1", "FLUSHDB"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("FLUSHALL"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SELECT 1", "FLUSHDB", "SELECT 0"), 0), RAN);
    /* SWAPDB: a key existing in either database. */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1"), CMDS("SWAPDB 0 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SELECT 1", "SET x 1", "SELECT 0"), CMDS("SWAPDB 0 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SELECT 1", "SET y 1", "SELECT 0"), CMDS("SWAPDB 0 1"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, CMDS("SWAPDB 0 1"), 0), RAN);
    /* Expiry (Redis 7.0): a key live at WATCH that expires before EXEC
     * aborts it, deleted or not (already expired at WATCH: see below). */
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1 PX 100"), NULL, 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1 PX 100"), CMDS("GET x"), 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1 PX 100"), CMDS("SET x 2"), 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, CMDS("SET x 1 PX 100000"), NULL, 0), RAN);
}

TEST(watch_expired_before_watch) {
    side ls, rs;
    REQUIRE(start_sides(&ls, &rs));
    side *sides[2] = {&ls, &rs};
    char res[2][4][128];
    for (int s = 0; s < 2; s++) {
        side *sd = sides[s];
        if (!sd->a) continue;
        on(sd->b, "FLUSHALL");
        on(sd->b, "SET x 1 PX 30");
        usleep(100 * 1000);
        on(sd->a, "WATCH x");
        on(sd->a, "MULTI");
        on(sd->a, "PING");
        snprintf(res[s][0], sizeof(res[s][0]), "%s", on(sd->a, "EXEC"));
        on(sd->b, "SET x 1 PX 30");
        usleep(100 * 1000);
        on(sd->a, "WATCH x");
        on(sd->b, "GET x"); /* deletes it: no change, it was expired */
        on(sd->a, "MULTI");
        on(sd->a, "PING");
        snprintf(res[s][1], sizeof(res[s][1]), "%s", on(sd->a, "EXEC"));
        on(sd->b, "SET x 1 PX 30");
        usleep(100 * 1000);
        on(sd->a, "WATCH x");
        on(sd->b, "FLUSHDB");
        on(sd->a, "MULTI");
        on(sd->a, "PING");
        snprintf(res[s][2], sizeof(res[s][2]), "%s", on(sd->a, "EXEC"));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_STR(res[0][i], RAN);
        if (rs.a) CHECK_EQ_STR(res[0][i], res[1][i]);
    }
}

TEST(watch_clearing_and_many_keys) {
    REQUIRE(difftest_start_servers(NULL));
    redisContext *al = harness_connect(LS), *bl = harness_connect(LS);
    redisContext *ar = harness_connect(RS), *br = harness_connect(RS);
    /* UNWATCH forgets. */
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(bl, br, "SET", "x", "1");
    CHECK_EQ_STR(COMPARE(al, ar, "UNWATCH"), "status:\"OK\"");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "array[]");
    /* EXEC forgets (aborted or not). */
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(bl, br, "SET", "x", "2");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "nil");
    COMPARE(bl, br, "SET", "x", "3");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "array[]");
    /* DISCARD forgets. */
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(bl, br, "SET", "x", "4");
    COMPARE(al, ar, "MULTI");
    COMPARE(al, ar, "DISCARD");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "array[]");
    /* EXECABORT forgets. */
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(al, ar, "MULTI");
    COMPARE(al, ar, "NOSUCH");
    COMPARE(al, ar, "EXEC");
    COMPARE(bl, br, "SET", "x", "5");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "array[]");
    /* WATCH twice keeps the first version; own writes count too. */
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(bl, br, "SET", "x", "6");
    COMPARE(al, ar, "WATCH", "x", "x");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "nil");
    COMPARE(al, ar, "WATCH", "x");
    COMPARE(al, ar, "SET", "x", "7");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "nil");
    /* Many keys in two databases; only one changes. */
    char *argv[202];
    char names[200][16];
    argv[0] = "WATCH";
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "w%d", i);
        argv[i + 1] = names[i];
    }
    argv[201] = NULL;
    cmd_argv(al, (const char *const *)argv);
    cmd_argv(ar, (const char *const *)argv);
    COMPARE(al, ar, "SELECT", "2");
    COMPARE(al, ar, "WATCH", "w7");
    COMPARE(al, ar, "SELECT", "0");
    COMPARE(bl, br, "SELECT", "3");
    COMPARE(bl, br, "SET", "w7", "1");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "array[]");
    cmd_argv(al, (const char *const *)argv);
    cmd_argv(ar, (const char *const *)argv);
    COMPARE(al, ar, "SELECT", "2");
    COMPARE(al, ar, "WATCH", "w7");
    COMPARE(al, ar, "SELECT", "0");
    COMPARE(bl, br, "SELECT", "2");
    COMPARE(bl, br, "SET", "w7", "1");
    COMPARE(al, ar, "MULTI");
    CHECK_EQ_STR(COMPARE(al, ar, "EXEC"), "nil");
    /* A closed watcher leaves nothing behind (the engine registry is
     * reference-counted): watch, disconnect, and watch again. */
    redisContext *tmp = harness_connect(LS);
    cmd(tmp, "WATCH x y z");
    harness_disconnect(tmp);
    cmd(al, "WATCH x");
    cmd(al, "MULTI");
    CHECK_EQ_STR(cmd(al, "EXEC"), "array[]");
}

TEST(resp3_replies) {
    int fl, fr, gl, gr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr) &&
            difftest_raw_connect(2, &gl, &gr));
    RAW_COMPARE(fl, fr, "SET", "x", "1");
    RAW_COMPARE(fl, fr, "WATCH", "x");
    RAW_CMD(gl, "SET", "x", "2");
    if (gr >= 0) RAW_CMD(gr, "SET", "x", "2");
    RAW_COMPARE(fl, fr, "MULTI");
    RAW_COMPARE(fl, fr, "GET", "x");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "EXEC"), "null");
    RAW_COMPARE(fl, fr, "MULTI");
    RAW_COMPARE(fl, fr, "HSET", "h", "f", "v");
    RAW_COMPARE(fl, fr, "HGETALL", "h");
    RAW_COMPARE(fl, fr, "GET", "nokey");
    RAW_COMPARE(fl, fr, "INCR", "h");
    const char *res = RAW_COMPARE(fl, fr, "EXEC");
    CHECK(strstr(res, "map{") != NULL);
}

/* ---- Durability ------------------------------------------------------------ */

#define DUR_CLIENTS 4
#define DUR_TXNS 3000
#define DUR_KEYS 5

typedef struct dur_client {
    harness_server *s;
    int id;
    int acked; /* transactions whose EXEC reply arrived */
} dur_client;

/* Pipelines transactions: each sets DUR_KEYS keys t<id>:<k> to its
 * sequence number n, and counts EXEC replies until the server dies. */
static void *dur_run(void *arg) {
    dur_client *d = arg;
    redisContext *c = redisConnect("127.0.0.1", d->s->port);
    if (!c || c->err) return NULL;
    struct timeval tv = {5, 0};
    redisSetTimeout(c, tv);
    int sent = 0;
    for (int n = 1; n <= DUR_TXNS; n++) {
        redisAppendCommand(c, "MULTI");
        for (int k = 0; k < DUR_KEYS; k++) redisAppendCommand(c, "SET t%d:%d %d", d->id, k, n);
        redisAppendCommand(c, "EXEC");
        sent++;
        if (sent % 10 == 0 || n == DUR_TXNS) {
            /* Read the replies of the batch; stop at the first failure. */
            for (; d->acked < sent;) {
                redisReply *rep = NULL;
                int ok = 1;
                for (int i = 0; i < DUR_KEYS + 2 && ok; i++) {
                    if (redisGetReply(c, (void **)&rep) != REDIS_OK || !rep) ok = 0;
                    else if (i == DUR_KEYS + 1 && rep->type != REDIS_REPLY_ARRAY) ok = 0;
                    if (rep) freeReplyObject(rep);
                    rep = NULL;
                }
                if (!ok) {
                    redisFree(c);
                    return NULL;
                }
                d->acked++;
            }
        }
    }
    redisFree(c);
    return NULL;
}

TEST(kill9_transactions_all_or_nothing) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    dur_client d[DUR_CLIENTS];
    pthread_t th[DUR_CLIENTS];
    for (int i = 0; i < DUR_CLIENTS; i++) {
        d[i] = (dur_client){.s = s, .id = i, .acked = 0};
        pthread_create(&th[i], NULL, dur_run, &d[i]);
    }
    /* Kill once some transactions are acknowledged (bounded wait). */
    redisContext *probe = harness_connect(s);
    for (int tries = 0; tries < 2000; tries++) {
        const char *v = cmd(probe, "GET t0:0");
        long long n = 0;
        if (sscanf(v, "bulk:\"%lld\"", &n) == 1 && n >= DUR_TXNS / 6) break;
        usleep(1000);
    }
    harness_kill9(s);
    for (int i = 0; i < DUR_CLIENTS; i++) pthread_join(th[i], NULL);
    REQUIRE(harness_restart(s) == 0);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < DUR_CLIENTS; i++) {
        long long first = -1;
        for (int k = 0; k < DUR_KEYS; k++) {
            const char *v = cmd(c, "GET t%d:%d", i, k);
            long long n = 0;
            if (strcmp(v, "nil") != 0 && sscanf(v, "bulk:\"%lld\"", &n) != 1) n = -2;
            if (k == 0) first = n;
            /* All keys of a client come from the same transaction. */
            CHECK_EQ_INT(n, first);
        }
        /* Every acknowledged transaction is there. */
        CHECK(first >= d[i].acked);
    }
}

/* The registry is a hash index: with 1000 keys watched by one client (and
 * half of them by a second), each way of touching ONE of them — a write by
 * another client, EXPIRE, RENAME away and onto, expiry, FLUSHDB, SWAPDB —
 * aborts exactly the EXECs that watch it, and touching an unwatched key
 * aborts nothing; the same as Redis. */
TEST(watch_many_keys_each_touch) {
    side ls, rs;
    REQUIRE(start_sides(&ls, &rs));
    enum { N = 1000 };
    static char names[N][16];
    const char *argv[N + 2];
    argv[0] = "WATCH";
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        argv[i + 1] = names[i];
    }
    argv[N + 1] = NULL;
    /* [touch], the key it touches (-1: none watched), needs the key live. */
    struct {
        const char *cmds[3];
        int key;
        int sleep_ms;
    } cases[] = {
        {{"SET k500 x"}, 500, 0},
        {{"SET k999 x"}, 999, 0},
        {{"SET other x"}, -1, 0},
        {{"EXPIRE k2 100"}, 2, 0},
        {{"RENAME k4 zz"}, 4, 0},
        {{"RENAME k6 k600"}, 600, 0},
        {{"PEXPIRE k8 50"}, 8, 100},
        {{"FLUSHDB"}, 0, 0},
        {{"SWAPDB 0 1"}, 0, 0},
        {{"SELECT 1", "SET k10 x", "SELECT 0"}, -1, 0},
    };
    side *sides[2] = {&ls, &rs};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char res[2][2][64];
        for (int s = 0; s < 2; s++) {
            side *sd = sides[s];
            res[s][0][0] = res[s][1][0] = '\0';
            if (!sd->a) continue;
            on(sd->b, "FLUSHALL");
            for (int i = 0; i < N; i += 2) { /* even keys exist */
                char line[64];
                snprintf(line, sizeof line, "SET %.15s v", names[i]);
                on(sd->b, line);
            }
            /* a watches all N; b watches the odd half, then touches. */
            cmd_argv(sd->a, argv);
            const char *half[N / 2 + 2];
            half[0] = "WATCH";
            for (int i = 0; i < N / 2; i++) half[i + 1] = names[2 * i + 1];
            half[N / 2 + 1] = NULL;
            redisContext *w2 = harness_connect(s ? RS : LS);
            REQUIRE(w2);
            cmd_argv(w2, half);
            if (cases[c].sleep_ms) on(sd->b, cases[c].cmds[0]), usleep(cases[c].sleep_ms * 1000);
            else
                for (int i = 0; i < 3 && cases[c].cmds[i]; i++) on(sd->b, cases[c].cmds[i]);
            on(sd->a, "MULTI");
            on(sd->a, "PING");
            snprintf(res[s][0], sizeof res[s][0], "%.60s", on(sd->a, "EXEC"));
            on(w2, "MULTI");
            on(w2, "PING");
            snprintf(res[s][1], sizeof res[s][1], "%.60s", on(w2, "EXEC"));
            harness_disconnect(w2);
        }
        int k = cases[c].key;
        /* FLUSHDB/SWAPDB touch every live (even) key; the second watcher
         * has only odd (absent) keys, which they leave alone. */
        int all = !strcmp(cases[c].cmds[0], "FLUSHDB") || !strcmp(cases[c].cmds[0], "SWAPDB 0 1");
        const char *want_a = k >= 0 ? ABORTED : RAN;
        const char *want_b = (k >= 0 && k % 2 && !all) ? ABORTED : RAN;
        CHECK_EQ_STR(res[0][0], want_a);
        CHECK_EQ_STR(res[0][1], want_b);
        if (rs.a) {
            CHECK_EQ_STR(res[0][0], res[1][0]);
            CHECK_EQ_STR(res[0][1], res[1][1]);
        }
        if (testlib_current_failed) {
            fprintf(stderr, "  case %zu: %s\n", c, cases[c].cmds[0]);
            break;
        }
    }
}

/* Every command of the table, with argument shapes that name keys, numbers
 * and databases, queued between MULTI and EXEC: EXEC's lock set comes from
 * the table (keyset.h) and each command is checked against it before it
 * runs, so none can touch an unlocked shard — the server answers every
 * EXEC and stays up. (Commands that stop, pause or reconfigure the server
 * are left out.) */
TEST(every_command_inside_exec) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    redisReply *list = redisCommand(c, "COMMAND LIST");
    REQUIRE(list && list->type == REDIS_REPLY_ARRAY);
    static const char *skip[] = {"shutdown", "client", "config", "debug", "monitor",
                                 "quit", "reset", "save", "bgsave", "bgrewriteaof",
                                 "subscribe", "psubscribe", "ssubscribe", "hello", "auth",
                                 /* one reply per channel inside EXEC's array,
                                  * as Redis: the framing is not EXEC's */
                                 "unsubscribe", "punsubscribe", "sunsubscribe",
                                 "sync", "psync", "replicaof", "slaveof", "failover",
                                 /* replies nest deeper than hiredis reads */
                                 "command", "exec", "discard", "multi", NULL};
    static const char *shapes[][6] = {
        {NULL},
        {"k", NULL},
        {"k", "v", NULL},
        {"k", "1", NULL},
        {"k", "k2", NULL},
        {"k", "k2", "DB", "3", NULL},
        {"k", "1", "v", NULL},
        {"1", "k", NULL},
        {"2", "k", "k2", NULL},
        {"2", "k", "k2", "LEFT", NULL},
        {"0", "1", NULL},
        {"k", "0", "-1", NULL},
        {"0", "MATCH", "*", NULL},
    };
    int tried = 0;
    for (size_t i = 0; i < list->elements; i++) {
        const char *name = list->element[i]->str;
        int skipped = 0;
        for (int k = 0; skip[k]; k++) skipped |= !strcasecmp(name, skip[k]);
        if (skipped) continue;
        for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
            const char *argv[12];
            int argc = 0;
            argv[argc++] = name;
            for (int a = 0; shapes[sh][a]; a++) argv[argc++] = shapes[sh][a];
            argv[argc] = NULL;
            /* Some data first, in two databases, so commands find keys. */
            cmd(c, "SELECT 0");
            cmd(c, "MSET k 1 k2 2");
            cmd(c, "SELECT 3");
            cmd(c, "SET k 3");
            cmd(c, "SELECT 0");
            cmd(c, "MULTI");
            cmd(c, "SELECT 3");
            cmd_argv(c, argv);
            cmd(c, "SELECT 0");
            cmd_argv(c, argv);
            const char *r = cmd(c, "EXEC");
            tried++;
            if (strncmp(r, "array[", 6) != 0 && strncmp(r, "err:\"EXECABORT", 14) != 0) {
                testlib_fail(__FILE__, __LINE__, "%s shape %zu: EXEC => %s", name, sh, r);
                cmd(c, "DISCARD");
            }
            if (!harness_alive(s)) {
                testlib_fail(__FILE__, __LINE__, "server died on MULTI %s shape %zu", name, sh);
                freeReplyObject(list);
                return;
            }
        }
    }
    freeReplyObject(list);
    CHECK(tried > 500);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

int main(void) {
    RUN(errors_and_queueing);
    RUN(exec_rechecks_replication_state);
    RUN(client_list_shows_multi);
    RUN(watch_abort_cases);
    RUN(watch_expired_before_watch);
    RUN(watch_clearing_and_many_keys);
    RUN(watch_many_keys_each_touch);
    RUN(every_command_inside_exec);
    RUN(resp3_replies);
    RUN(kill9_transactions_all_or_nothing);
    return testlib_finish();
}
