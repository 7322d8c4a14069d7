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
#include "../harness.h"

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
#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ABORTED "nil"
#define RAN "array[status:\"PONG\"]"

static void start_pair(harness_server **l, harness_server **r, side *ls, side *rs) {
    *l = harness_start(NULL);
    *r = harness_start_redis(NULL);
    ls->a = harness_connect(*l);
    ls->b = harness_connect(*l);
    rs->a = *r ? harness_connect(*r) : NULL;
    rs->b = *r ? harness_connect(*r) : NULL;
}

TEST(errors_and_queueing) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    redisContext *cl = harness_connect(l), *cr = harness_connect(r);
    REQUIRE(cl);
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"), "err:\"ERR EXEC without MULTI\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "DISCARD"), "err:\"ERR DISCARD without MULTI\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "MULTI"), "err:\"ERR MULTI calls can not be nested\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "WATCH", "x"), "err:\"ERR WATCH inside MULTI is not allowed\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "SET", "x", "1"), "status:\"QUEUED\"");
    /* Neither error above fails the transaction. */
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"), "array[status:\"OK\"]");

    /* Queueing errors abort EXEC. */
    COMPARE(cl, cr, "MULTI");
    CHECK_EQ_STR(COMPARE(cl, cr, "SET", "x"),
                 "err:\"ERR wrong number of arguments for 'set' command\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "INCR", "x"), "status:\"QUEUED\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"),
                 "err:\"EXECABORT Transaction discarded because of previous errors.\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "GET", "x"), "bulk:\"1\"");
    COMPARE(cl, cr, "MULTI");
    CHECK_EQ_STR(COMPARE(cl, cr, "NOSUCH", "a"),
                 "err:\"ERR unknown command 'NOSUCH', with args beginning with: 'a' \"");
    CHECK(strncmp(COMPARE(cl, cr, "EXEC"), "err:\"EXECABORT", 14) == 0);
    COMPARE(cl, cr, "MULTI");
    CHECK_EQ_STR(COMPARE(cl, cr, "SHUTDOWN"), "err:\"ERR Command not allowed inside a transaction\"");
    CHECK(strncmp(COMPARE(cl, cr, "EXEC"), "err:\"EXECABORT", 14) == 0);
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"), "err:\"ERR EXEC without MULTI\"");

    /* Runtime errors are per command; the rest runs. */
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "SET", "s", "abc");
    COMPARE(cl, cr, "INCR", "s");
    COMPARE(cl, cr, "LPUSH", "s", "v");
    COMPARE(cl, cr, "APPEND", "s", "d");
    COMPARE(cl, cr, "GET", "s");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"),
                 "array[status:\"OK\",err:\"ERR value is not an integer or out of range\","
                 "err:\"WRONGTYPE Operation against a key holding the wrong kind of value\","
                 "int:4,bulk:\"abcd\"]");

    /* DISCARD drops the queue. */
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "SET", "d", "1");
    CHECK_EQ_STR(COMPARE(cl, cr, "DISCARD"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXISTS", "d"), "int:0");

    /* Empty transaction; SELECT inside changes the db of what follows. */
    COMPARE(cl, cr, "MULTI");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"), "array[]");
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "SELECT", "3");
    COMPARE(cl, cr, "SET", "q", "db3");
    COMPARE(cl, cr, "SELECT", "99");
    COMPARE(cl, cr, "GET", "q");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"),
                 "array[status:\"OK\",status:\"OK\",err:\"ERR DB index is out of range\","
                 "bulk:\"db3\"]");
    CHECK_EQ_STR(COMPARE(cl, cr, "DBSIZE"), "int:1");
    COMPARE(cl, cr, "SELECT", "0");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXISTS", "q"), "int:0");

    /* Whole-database commands inside a transaction. */
    COMPARE(cl, cr, "FLUSHALL");
    COMPARE(cl, cr, "SET", "k1", "1");
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "RANDOMKEY");
    COMPARE(cl, cr, "KEYS", "k*");
    COMPARE(cl, cr, "SCAN", "0", "MATCH", "k*", "COUNT", "1000");
    COMPARE(cl, cr, "SET", "k2", "2");
    COMPARE(cl, cr, "DBSIZE");
    COMPARE(cl, cr, "SWAPDB", "0", "3");
    COMPARE(cl, cr, "MOVE", "q", "0");
    COMPARE(cl, cr, "FLUSHDB");
    COMPARE(cl, cr, "SELECT", "3");
    COMPARE(cl, cr, "DBSIZE");
    COMPARE(cl, cr, "FLUSHALL");
    COMPARE(cl, cr, "DBSIZE");
    const char *res = COMPARE_UNORDERED(cl, cr, "EXEC");
    CHECK(strstr(res, "int:2") != NULL);
    COMPARE(cl, cr, "SELECT", "0");

    /* RESET and QUIT inside MULTI run at once and end the transaction. */
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "SET", "r", "1");
    CHECK_EQ_STR(COMPARE(cl, cr, "RESET"), "status:\"RESET\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXEC"), "err:\"ERR EXEC without MULTI\"");
    CHECK_EQ_STR(COMPARE(cl, cr, "EXISTS", "r"), "int:0");
    COMPARE(cl, cr, "MULTI");
    COMPARE(cl, cr, "SET", "r", "1");
    CHECK_EQ_STR(COMPARE(cl, cr, "QUIT"), "status:\"OK\"");
    redisContext *c2l = harness_connect(l), *c2r = harness_connect(r);
    CHECK_EQ_STR(COMPARE(c2l, c2r, "EXISTS", "r"), "int:0");
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
    harness_server *l, *r;
    side ls, rs;
    start_pair(&l, &r, &ls, &rs);
    REQUIRE(l && ls.a && ls.b);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, NULL, 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SET x 2"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SET x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("GET x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("DEL x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("INCR x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("APPEND x z"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("EXPIRE x 100"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("PERSIST x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SET y 1", "DEL y"), 0), RAN);
    /* Type change. */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("DEL x", "LPUSH x a"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SADD x a"), L("SADD x b"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SADD x a"), L("SADD x a"), 0), RAN);
    /* Absent at WATCH. */
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("SET x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("SET x 1", "DEL x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("DEL x"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("SET y 1", "DEL y", "SET z 1"), 0), RAN);
    /* RENAME / MOVE onto and away from the key. */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET z 1"), L("RENAME z x"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("RENAME x z"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("MOVE x 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SELECT 1", "SET x 1", "SELECT 0"), L("SELECT 1", "MOVE x 0", "SELECT 0"), 0), ABORTED);
    /* Other databases: the same name elsewhere is another key. */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SELECT 1", "SET x 2", "SELECT 0"), 0), RAN);
    /* FLUSHDB / FLUSHALL invalidate keys that existed only. */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("FLUSHDB"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("FLUSHALL"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("SET y 1", "FLUSHDB"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("FLUSHALL"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SELECT 1", "FLUSHDB", "SELECT 0"), 0), RAN);
    /* SWAPDB: a key existing in either database. */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1"), L("SWAPDB 0 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SELECT 1", "SET x 1", "SELECT 0"), L("SWAPDB 0 1"), 0), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SELECT 1", "SET y 1", "SELECT 0"), L("SWAPDB 0 1"), 0), RAN);
    CHECK_EQ_STR(watch_case(&ls, &rs, NULL, L("SWAPDB 0 1"), 0), RAN);
    /* Expiry (Redis 7.0): a key live at WATCH that expires before EXEC
     * aborts it, deleted or not (already expired at WATCH: see below). */
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1 PX 100"), NULL, 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1 PX 100"), L("GET x"), 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1 PX 100"), L("SET x 2"), 250), ABORTED);
    CHECK_EQ_STR(watch_case(&ls, &rs, L("SET x 1 PX 100000"), NULL, 0), RAN);
}

TEST(watch_expired_before_watch) {
    harness_server *l, *r;
    side ls, rs;
    start_pair(&l, &r, &ls, &rs);
    REQUIRE(l && ls.a);
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
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    redisContext *al = harness_connect(l), *bl = harness_connect(l);
    redisContext *ar = harness_connect(r), *br = harness_connect(r);
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
    redisContext *tmp = harness_connect(l);
    cmd(tmp, "WATCH x y z");
    harness_disconnect(tmp);
    cmd(al, "WATCH x");
    cmd(al, "MULTI");
    CHECK_EQ_STR(cmd(al, "EXEC"), "array[]");
}

TEST(resp3_replies) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    int fl = raw_connect(l->port), fr = r ? raw_connect(r->port) : -1;
    int gl = raw_connect(l->port), gr = r ? raw_connect(r->port) : -1;
    REQUIRE(fl >= 0 && gl >= 0);
    RAW_CMD(fl, "HELLO", "3");
    if (fr >= 0) RAW_CMD(fr, "HELLO", "3");
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

int main(void) {
    RUN(errors_and_queueing);
    RUN(client_list_shows_multi);
    RUN(watch_abort_cases);
    RUN(watch_expired_before_watch);
    RUN(watch_clearing_and_many_keys);
    RUN(resp3_replies);
    RUN(kill9_transactions_all_or_nothing);
    return testlib_finish();
}
