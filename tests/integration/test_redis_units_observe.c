/*
 * Redis 7.0's own `info`, `latency-monitor`, `introspection` and
 * `introspection-2` test units, case by case, as our own checks (issue #22).
 *
 * Each TEST names the Redis test cases it covers. Every check runs on
 * Lightning and, when redis-server is installed, on Redis too with the same
 * expected value (so a check that Redis would fail is a wrong check, not a
 * Lightning bug). docs/OBSERVABILITY.md lists the cases covered here and
 * the ones that are not, with why.
 */
#include "../difftest.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static redisReply *rcmd(redisContext *c, const char *const *argv) {
    int argc = 0;
    while (argv[argc]) argc++;
    return redisCommandArgv(c, argc, (const char **)argv, NULL);
}
#define RCMD(c, ...) rcmd((c), (const char *const[]){__VA_ARGS__, NULL})

/* Runs a command and drops the reply (setup steps). */
#define DO(c, ...) freeReplyObject(RCMD((c), __VA_ARGS__))

/* The value of `prefix<name>:` in INFO <section>, with usec= and
 * usec_per_call= dropped (they are timings): "" when absent. Valid until
 * the next call (4 rotating buffers). */
static const char *stat_line(redisContext *c, const char *section, const char *prefix,
                             const char *name) {
    static char bufs[4][512];
    static int next;
    char *out = bufs[next++ & 3];
    out[0] = '\0';
    redisReply *r = RCMD(c, "INFO", section);
    if (!r || r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return "(no info)";
    }
    char key[200];
    snprintf(key, sizeof key, "\n%s%s:", prefix, name);
    const char *p = strstr(r->str, key);
    if (p) {
        p += strlen(key);
        size_t o = 0;
        while (*p && *p != '\r' && o + 1 < sizeof bufs[0]) {
            if (!strncmp(p, "usec=", 5) || !strncmp(p, "usec_per_call=", 14)) {
                while (*p && *p != ',' && *p != '\r') p++;
                if (*p == ',') p++;
                continue;
            }
            out[o++] = *p++;
        }
        out[o] = '\0';
    }
    freeReplyObject(r);
    return out;
}
static const char *cmdstat(redisContext *c, const char *cmd) {
    return stat_line(c, "commandstats", "cmdstat_", cmd);
}
static const char *errorstat(redisContext *c, const char *err) {
    return stat_line(c, "errorstats", "errorstat_", err);
}
static const char *serverstat(redisContext *c, const char *field) {
    return stat_line(c, "stats", "", field);
}

/* Checks fn(c, arg) == want on Lightning and on Redis when there. */
#define BOTH_EQ(fn, arg, want)                                                \
    do {                                                                      \
        CHECK_EQ_STR(fn(L, arg), want);                                       \
        if (R) CHECK_EQ_STR(fn(R, arg), want);                                \
    } while (0)

/* The reply's canonical text on both, which must match the glob. */
static void check_glob(const char *file, int line, const char *pat, const char *const *argv) {
    const char *l = harness_compare(file, line, L, R, 0, argv);
    if (fnmatch(pat, l, 0) != 0) {
        testlib_fail(file, line, "reply %s does not match %s", l, pat);
    }
}
#define GLOB(pat, ...) check_glob(__FILE__, __LINE__, (pat), (const char *const[]){__VA_ARGS__, NULL})

/* ---- info.tcl ------------------------------------------------------------ */

/* errorstats: failed call authentication error / within MULTI/EXEC / within
 * LUA / NOGROUP error; rejected call unknown command / within MULTI/EXEC /
 * due to wrong arity / by OOM error / by authorization error. */
TEST(info_errorstats) {
    REQUIRE(difftest_start(NULL));
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        redisContext *c = both[i];
        if (!c) continue;
        /* failed call authentication error */
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(errorstat(c, "ERR"), "");
        CHECK_EQ_STR(serverstat(c, "total_error_replies"), "0");
        CHECK(fnmatch("err:\"ERR AUTH*", cmd_argv(c, (const char *const[]){"AUTH", "k", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "auth"), "calls=1,rejected_calls=0,failed_calls=1");
        CHECK_EQ_STR(serverstat(c, "total_error_replies"), "1");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(errorstat(c, "ERR"), "");
        /* failed call within MULTI/EXEC */
        DO(c, "MULTI");
        DO(c, "SET", "a", "b");
        DO(c, "AUTH", "a");
        CHECK(fnmatch("array[status:\"OK\",err:\"ERR AUTH*", cmd_argv(c, (const char *const[]){"EXEC", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=1,rejected_calls=0,failed_calls=0");
        CHECK_EQ_STR(cmdstat(c, "auth"), "calls=1,rejected_calls=0,failed_calls=1");
        CHECK_EQ_STR(cmdstat(c, "exec"), "calls=1,rejected_calls=0,failed_calls=0");
        CHECK_EQ_STR(serverstat(c, "total_error_replies"), "1");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"EXEC", NULL}), "err:\"ERR EXEC without MULTI\"");
        CHECK_EQ_STR(cmdstat(c, "exec"), "calls=1,rejected_calls=0,failed_calls=1");
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        /* failed call within LUA */
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "EVAL", "redis.pcall('XGROUP', 'CREATECONSUMER', 's1', 'mygroup', 'consumer') return ", "0");
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "xgroup|createconsumer"), "calls=1,rejected_calls=0,failed_calls=1");
        CHECK_EQ_STR(cmdstat(c, "eval"), "calls=1,rejected_calls=0,failed_calls=0");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK(fnmatch("err:\"ERR wrong*", cmd_argv(c, (const char *const[]){"EVAL", "a", NULL}), 0) == 0);
        CHECK_EQ_STR(cmdstat(c, "eval"), "calls=0,rejected_calls=1,failed_calls=0");
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        /* failed call NOGROUP error */
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "DEL", "mystream");
        DO(c, "XADD", "mystream", "*", "f", "v");
        CHECK(fnmatch("err:\"NOGROUP*", cmd_argv(c, (const char *const[]){"XGROUP", "CREATECONSUMER", "mystream", "mygroup", "consumer", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "NOGROUP"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "xgroup|createconsumer"), "calls=1,rejected_calls=0,failed_calls=1");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(errorstat(c, "NOGROUP"), "");
        /* rejected call unknown command */
        CHECK(fnmatch("err:\"ERR unknown*", cmd_argv(c, (const char *const[]){"asdf", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(serverstat(c, "total_error_replies"), "1");
        /* rejected call within MULTI/EXEC */
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "MULTI");
        CHECK(fnmatch("err:\"ERR wrong number of arguments*", cmd_argv(c, (const char *const[]){"SET", NULL}), 0) == 0);
        CHECK(fnmatch("err:\"EXECABORT*", cmd_argv(c, (const char *const[]){"EXEC", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=0,rejected_calls=1,failed_calls=0");
        CHECK_EQ_STR(cmdstat(c, "multi"), "calls=1,rejected_calls=0,failed_calls=0");
        /* Redis 7.0.15 counts the EXECABORT as EXEC's failure (the unit of
         * later versions expects 0). */
        CHECK_EQ_STR(cmdstat(c, "exec"), "calls=1,rejected_calls=0,failed_calls=1");
        /* rejected call due to wrong arity */
        DO(c, "CONFIG", "RESETSTAT");
        CHECK(fnmatch("err:\"ERR wrong number of arguments*", cmd_argv(c, (const char *const[]){"SET", "k", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "ERR"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=0,rejected_calls=1,failed_calls=0");
        DO(c, "SET", "k1", "v1");
        DO(c, "SET", "k2", "v2");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=2,rejected_calls=1,failed_calls=0");
        /* rejected call by OOM error */
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "CONFIG", "SET", "maxmemory", "1");
        CHECK(fnmatch("err:\"OOM*", cmd_argv(c, (const char *const[]){"SET", "a", "b", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "OOM"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=0,rejected_calls=1,failed_calls=0");
        DO(c, "CONFIG", "SET", "maxmemory", "0");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(errorstat(c, "OOM"), "");
        /* rejected call by authorization error */
        DO(c, "ACL", "SETUSER", "alice", "on", ">p1pp0", "~cached:*", "+get", "+info", "+config");
        DO(c, "AUTH", "alice", "p1pp0");
        CHECK(fnmatch("err:\"NOPERM*", cmd_argv(c, (const char *const[]){"SET", "a", "b", NULL}), 0) == 0);
        CHECK_EQ_STR(errorstat(c, "NOPERM"), "count=1");
        CHECK_EQ_STR(cmdstat(c, "set"), "calls=0,rejected_calls=1,failed_calls=0");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(errorstat(c, "NOPERM"), "");
    }
}

/* ---- latency-monitor.tcl ------------------------------------------------- */

/* The commands of a LATENCY HISTOGRAM reply with their calls, sorted:
 * "client|id:1 client|list:1". */
static const char *histo_calls(redisContext *c, const char *const *names) {
    static char out[1024];
    const char *argv[16] = {"LATENCY", "HISTOGRAM"};
    int n = 2;
    for (; names && names[n - 2] && n < 15; n++) argv[n] = names[n - 2];
    redisReply *r = redisCommandArgv(c, n, argv, NULL);
    out[0] = '\0';
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(out, sizeof out, "(bad reply)");
        freeReplyObject(r);
        return out;
    }
    char items[32][128];
    int ni = 0;
    for (size_t i = 0; i + 1 < r->elements && ni < 32; i += 2) {
        redisReply *m = r->element[i + 1];
        long long calls = -1;
        int has_hist = 0;
        for (size_t j = 0; m->type == REDIS_REPLY_ARRAY && j + 1 < m->elements; j += 2) {
            if (!strcmp(m->element[j]->str, "calls")) calls = m->element[j + 1]->integer;
            if (!strcmp(m->element[j]->str, "histogram_usec"))
                has_hist = m->element[j + 1]->type == REDIS_REPLY_ARRAY;
        }
        snprintf(items[ni++], sizeof items[0], "%s:%lld%s", r->element[i]->str, calls,
                 has_hist ? "" : "(no histogram_usec)");
    }
    qsort(items, (size_t)ni, sizeof items[0], (int (*)(const void *, const void *))strcmp);
    size_t o = 0;
    for (int i = 0; i < ni; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? " " : "", items[i]);
    freeReplyObject(r);
    return out;
}
#define HISTO(...) (const char *const[]){__VA_ARGS__, NULL}

/* LATENCY HISTOGRAM with empty histogram / all commands / sub commands /
 * with a subset of commands / command / with wrong command name skips the
 * invalid one. */
TEST(latency_histogram) {
    REQUIRE(difftest_start("latency-monitor-threshold", "200", NULL));
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        redisContext *c = both[i];
        if (!c) continue;
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(histo_calls(c, NULL), "config|resetstat:1");
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "SET", "a", "b");
        DO(c, "SET", "c", "d");
        CHECK_EQ_STR(histo_calls(c, NULL), "config|resetstat:1 set:2");
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "CLIENT", "ID");
        DO(c, "CLIENT", "LIST");
        CHECK_EQ_STR(histo_calls(c, HISTO("client")), "client|id:1 client|list:1");
        CHECK_EQ_STR(histo_calls(c, HISTO("client|id")), "client|id:1");
        DO(c, "CONFIG", "RESETSTAT");
        DO(c, "SET", "a", "b");
        DO(c, "SET", "c", "d");
        DO(c, "GET", "a");
        DO(c, "HSET", "f", "k", "v");
        DO(c, "HGETALL", "f");
        CHECK_EQ_STR(histo_calls(c, HISTO("set", "hset")), "hset:1 set:2");
        CHECK_EQ_STR(histo_calls(c, HISTO("hgetall", "get", "zadd")), "get:1 hgetall:1");
        DO(c, "CONFIG", "RESETSTAT");
        CHECK_EQ_STR(histo_calls(c, HISTO("blabla")), "");
        CHECK_EQ_STR(histo_calls(c, HISTO("blabla", "blabla2", "set", "get")), "");
        DO(c, "SET", "a", "b");
        DO(c, "GET", "a");
        CHECK_EQ_STR(histo_calls(c, HISTO("blabla", "blabla2", "set", "get")), "get:1 set:1");
    }
}

/* Test latency events logging / LATENCY HISTORY output is ok / LATENCY
 * LATEST output is ok / HISTORY and RESET with wrong event name / DOCTOR
 * produces some output / RESET is able to reset events / HELP should not
 * have unexpected options. One DEBUG SLEEP (not three a second apart): the
 * shapes are what is checked; a sleep of 300 ms is at least 300 ms, the
 * only bound on the value that cannot fail by timing. */
TEST(latency_events) {
    REQUIRE(difftest_start("latency-monitor-threshold", "200", "enable-debug-command", "yes", NULL));
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        redisContext *c = both[i];
        if (!c) continue;
        DO(c, "LATENCY", "RESET");
        DO(c, "DEBUG", "SLEEP", "0.3");
        redisReply *h = RCMD(c, "LATENCY", "HISTORY", "command");
        REQUIRE(h && h->type == REDIS_REPLY_ARRAY && h->elements >= 1);
        redisReply *last = h->element[h->elements - 1];
        REQUIRE(last->type == REDIS_REPLY_ARRAY && last->elements == 2);
        CHECK(last->element[0]->integer > 1000000000);
        CHECK(last->element[1]->integer >= 300);
        redisReply *l = RCMD(c, "LATENCY", "LATEST");
        REQUIRE(l && l->type == REDIS_REPLY_ARRAY && l->elements >= 1);
        redisReply *e = l->element[0];
        REQUIRE(e->type == REDIS_REPLY_ARRAY && e->elements == 4);
        CHECK_EQ_STR(e->element[0]->str, "command");
        CHECK_EQ_INT(e->element[1]->integer, last->element[0]->integer);
        CHECK(e->element[3]->integer >= 300);
        freeReplyObject(l);
        freeReplyObject(h);
        CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"LATENCY", "HISTORY", "blabla", NULL}), "array[]");
        CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"LATENCY", "RESET", "blabla", NULL}), "int:0");
        redisReply *d = RCMD(c, "LATENCY", "DOCTOR");
        CHECK(d && d->type == REDIS_REPLY_STRING && d->len > 0);
        freeReplyObject(d);
        redisReply *rs = RCMD(c, "LATENCY", "RESET");
        CHECK(rs && rs->type == REDIS_REPLY_INTEGER && rs->integer > 0);
        freeReplyObject(rs);
        CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"LATENCY", "LATEST", NULL}), "array[]");
        CHECK(fnmatch("*wrong number of arguments for 'latency|help' command*",
                      cmd_argv(c, (const char *const[]){"LATENCY", "help", "xxx", NULL}), 0) == 0);
    }
}

/* ---- introspection.tcl --------------------------------------------------- */

#define CLIENT_LINE_PAT(cmdname)                                                          \
    "bulk:\"id=* addr=*:* laddr=*:* fd=* name=* age=* idle=* flags=N db=* sub=0 "  \
    "psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=* argv-mem=* multi-mem=0 rbs=* rbp=* obl=0 " \
    "oll=0 omem=0 tot-mem=* events=r cmd=" cmdname " user=* redir=-1 resp=*"

static int reply_matches(redisContext *c, const char *pat, const char *const *argv) {
    const char *s = cmd_argv(c, argv);
    if (fnmatch(pat, s, 0) == 0) return 1;
    fprintf(stderr, "    reply %s\n    does not match %s\n", s, pat);
    return 0;
}
#define MATCHES(c, pat, ...) reply_matches((c), (pat), (const char *const[]){__VA_ARGS__, NULL})

/* PING / CLIENT LIST / CLIENT LIST with IDs / CLIENT INFO / CLIENT KILL with
 * illegal arguments / CLIENT command unhappy path coverage / CLIENT GETNAME
 * should return NIL / CLIENT LIST shows empty fields for unassigned names /
 * CLIENT SETNAME does not accept spaces / can assign / can change / After
 * CLIENT SETNAME, connection can still be closed. */
TEST(client_introspection) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"PONG\"", "PING");
    EXPECT("bulk:\"redis\"", "PING", "redis");
    EXPECT("err:\"ERR wrong number of arguments for 'ping' command\"", "PING", "hello", "redis");
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        redisContext *c = both[i];
        if (!c) continue;
        CHECK(MATCHES(c, CLIENT_LINE_PAT("client|list") "*", "CLIENT", "LIST"));
        CHECK(MATCHES(c, CLIENT_LINE_PAT("client|info") "*", "CLIENT", "INFO"));
        redisReply *id = RCMD(c, "CLIENT", "ID");
        REQUIRE(id && id->type == REDIS_REPLY_INTEGER);
        char idstr[32], pat[64];
        snprintf(idstr, sizeof idstr, "%lld", id->integer);
        snprintf(pat, sizeof pat, "bulk:\"id=%s *", idstr);
        freeReplyObject(id);
        CHECK(MATCHES(c, pat, "CLIENT", "LIST", "ID", idstr));
    }
    /* CLIENT KILL with illegal arguments (those Redis 7.0 has). */
    C("CLIENT", "KILL");
    C("CLIENT", "KILL", "id", "10", "wrong_arg");
    C("CLIENT", "KILL", "id", "str");
    C("CLIENT", "KILL", "id", "-1");
    C("CLIENT", "KILL", "id", "0");
    GLOB("err:\"ERR Unknown client type*", "CLIENT", "KILL", "type", "wrong_type");
    GLOB("err:\"ERR No such user*", "CLIENT", "KILL", "user", "wrong_user");
    GLOB("err:\"ERR syntax error*", "CLIENT", "KILL", "skipme", "yes_or_no");
    /* CLIENT command unhappy path coverage */
    GLOB("err:\"ERR*wrong number of arguments*", "CLIENT", "CACHING");
    GLOB("err:\"ERR*when the client is in tracking mode*", "CLIENT", "CACHING", "maybe");
    GLOB("err:\"ERR*syntax*", "CLIENT", "NO-EVICT", "wrongInput");
    GLOB("err:\"ERR*syntax*", "CLIENT", "REPLY", "wrongInput");
    GLOB("err:\"ERR*syntax*", "CLIENT", "TRACKING", "wrongInput");
    GLOB("err:\"ERR*syntax*", "CLIENT", "TRACKING", "on", "wrongInput");
    GLOB("err:\"ERR*when the client is in tracking mode*", "CLIENT", "CACHING", "off");
    GLOB("err:\"ERR*when the client is in tracking mode*", "CLIENT", "CACHING", "on");
    EXPECT("status:\"OK\"", "CLIENT", "TRACKING", "ON", "optout");
    GLOB("err:\"ERR*syntax*", "CLIENT", "CACHING", "on");
    EXPECT("status:\"OK\"", "CLIENT", "TRACKING", "off", "optout");
    GLOB("err:\"ERR*when the client is in tracking mode*", "CLIENT", "CACHING", "on");
    GLOB("err:\"ERR*No such*", "CLIENT", "KILL", "000.123.321.567:0000");
    GLOB("err:\"ERR*No such*", "CLIENT", "KILL", "127.0.0.1:");
    GLOB("err:\"ERR*timeout is not an integer*", "CLIENT", "PAUSE", "abc");
    EXPECT("err:\"ERR timeout is negative\"", "CLIENT", "PAUSE", "-1");
    /* Names. */
    EXPECT("nil", "CLIENT", "GETNAME");
    for (int i = 0; i < 2; i++)
        if (both[i]) CHECK(MATCHES(both[i], "*name= *", "CLIENT", "LIST"));
    GLOB("err:\"ERR*", "CLIENT", "SETNAME", "foo bar");
    EXPECT("status:\"OK\"", "CLIENT", "SETNAME", "myname");
    for (int i = 0; i < 2; i++)
        if (both[i]) CHECK(MATCHES(both[i], "*name=myname*", "CLIENT", "LIST"));
    EXPECT("status:\"OK\"", "CLIENT", "SETNAME", "someothername");
    for (int i = 0; i < 2; i++)
        if (both[i]) CHECK(MATCHES(both[i], "*name=someothername*", "CLIENT", "LIST"));
    redisContext *o = harness_connect(LS);
    REQUIRE(o);
    CHECK_EQ_STR(cmd(o, "CLIENT SETNAME foobar"), "status:\"OK\"");
    CHECK(MATCHES(L, "*foobar*", "CLIENT", "LIST"));
    harness_disconnect(o);
    int gone = 0;
    for (int t = 0; t < 100 && !gone; t++) {
        gone = strstr(cmd(L, "CLIENT LIST"), "foobar") == NULL;
        if (!gone) harness_sleep_ms(50);
    }
    CHECK(gone);
}

/* CLIENT KILL SKIPME YES/NO will kill all clients. */
TEST(client_kill_skipme) {
    harness_server *servers[2] = {harness_start(NULL), harness_have_redis() ? harness_start_redis(NULL) : NULL};
    REQUIRE(servers[0]);
    for (int i = 0; i < 2; i++) {
        harness_server *s = servers[i];
        if (!s) continue;
        redisContext *me = harness_connect(s);
        REQUIRE(me);
        redisContext *o1 = harness_connect(s), *o2 = harness_connect(s);
        REQUIRE(o1 && o2);
        CHECK_EQ_STR(cmd(o1, "PING"), "status:\"PONG\"");
        CHECK_EQ_STR(cmd(o2, "PING"), "status:\"PONG\"");
        long long n = harness_info_num(me, "clients", "connected_clients");
        CHECK(n >= 3);
        redisReply *r = RCMD(me, "CLIENT", "KILL", "SKIPME", "yes");
        REQUIRE(r && r->type == REDIS_REPLY_INTEGER);
        CHECK_EQ_INT(r->integer, n - 1);
        freeReplyObject(r);
        int ok = 0;
        for (int t = 0; t < 200 && !ok; t++) {
            ok = harness_info_num(me, "clients", "connected_clients") == 1;
            if (!ok) harness_sleep_ms(10);
        }
        CHECK(ok);
        redisContext *o3 = harness_connect(s), *o4 = harness_connect(s);
        REQUIRE(o3 && o4);
        CHECK_EQ_STR(cmd(o3, "PING"), "status:\"PONG\"");
        CHECK_EQ_STR(cmd(o4, "PING"), "status:\"PONG\"");
        CHECK_EQ_INT(harness_info_num(me, "clients", "connected_clients"), 3);
        r = RCMD(me, "CLIENT", "KILL", "SKIPME", "no");
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 3);
        freeReplyObject(r);
        /* The killed connection's next read sees the close. */
        r = RCMD(me, "PING");
        CHECK(r == NULL);
        freeReplyObject(r);
    }
}

/* CLIENT REPLY OFF/ON: disable all commands reply / SKIP: skip the next
 * command reply / ON: unset SKIP flag (raw connections: nothing must come
 * for the silenced commands). */
TEST(client_reply) {
    REQUIRE(difftest_start(NULL));
    int fl, fr;
    REQUIRE(difftest_raw_connect(2, &fl, &fr));
    int fds[2] = {fl, fr};
    for (int i = 0; i < 2; i++) {
        int f = fds[i];
        if (f < 0) continue;
        raw_send_argv(f, (const char *const[]){"CLIENT", "REPLY", "OFF", NULL});
        raw_send_argv(f, (const char *const[]){"PING", "pong", NULL});
        raw_send_argv(f, (const char *const[]){"PING", "pong2", NULL});
        CHECK_EQ_STR(RAW_CMD(f, "CLIENT", "REPLY", "ON"), "status:\"OK\"");
        CHECK_EQ_STR(RAW_CMD(f, "PING", "pong3"), "bulk:\"pong3\"");
        raw_send_argv(f, (const char *const[]){"CLIENT", "REPLY", "SKIP", NULL});
        raw_send_argv(f, (const char *const[]){"PING", "pong", NULL});
        CHECK_EQ_STR(RAW_CMD(f, "PING", "pong2"), "bulk:\"pong2\"");
        raw_send_argv(f, (const char *const[]){"CLIENT", "REPLY", "SKIP", NULL});
        CHECK_EQ_STR(RAW_CMD(f, "CLIENT", "REPLY", "ON"), "status:\"OK\"");
        CHECK_EQ_STR(RAW_CMD(f, "PING"), "status:\"PONG\"");
    }
}

/* MONITOR lines with the time and the client's port dropped:
 * `[0 127.0.0.1] "set" "foo" "bar"`, `[0 lua] "set" ...`. */
__attribute__((noinline)) static char *monitor_read(int fd, int want) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (int i = 0; i < want; i++) {
        raw_buf b;
        if (!raw_read_reply(fd, 5000, &b)) {
            fprintf(f, "(timeout after %d)\n", i);
            raw_buf_free(&b);
            break;
        }
        const char *br = strchr(b.data, '[');
        const char *close = br ? strchr(br, ']') : NULL;
        if (b.data[0] != '+' || !close || atof(b.data + 1) < 1e9) {
            fprintf(f, "(bad line %s)\n", harness_escape(b.data, b.len));
        } else {
            size_t addr = strcspn(br, ":]");
            fprintf(f, "%.*s]%.*s\n", (int)addr, br, (int)(b.len - (size_t)(close + 1 - b.data) - 2),
                    close + 1);
        }
        raw_buf_free(&b);
    }
    fclose(f);
    return out;
}

static void monitor_workload(harness_server *s, redisContext *c) {
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    DO(c, "SET", "foo", "bar");
    DO(c, "GET", "foo");
    DO(c, "EVAL", "redis.call('set',KEYS[1],ARGV[1])", "1", "foo", "bar");
    DO(c, "EVAL", "return 1", "abc"); /* shown although it fails */
    DO(c, "FUNCTION", "LOAD", "REPLACE",
       "#!lua name=test\nredis.register_function('test', function() return redis.call('set', 'foo', 'bar') end)");
    DO(c, "FCALL", "test", "0");
    DO(c, "MIGRATE", "127.0.0.1", port, "key", "9", "5000");
    DO(c, "MIGRATE", "127.0.0.1", port, "key", "9", "5000", "AUTH", "user");
    DO(c, "MIGRATE", "127.0.0.1", port, "key", "9", "5000", "AUTH2", "user", "password");
    DO(c, "AUTH", "not-real");
    DO(c, "AUTH", "not-real", "not-a-password");
    DO(c, "HELLO", "2", "AUTH", "not-real", "not-a-password");
    DO(c, "MULTI");
    DO(c, "SET", "foo", "bar");
    DO(c, "EXEC");
    DO(c, "MULTI");
    DO(c, "syntax", "error");
    DO(c, "EXEC");
    DO(c, "SELECT", "5");
    DO(c, "EVAL", "redis.call('select', 4) redis.call('set','x','y')", "0");
    DO(c, "SELECT", "0");
}

/* MONITOR can log executed commands / commands issued by the scripting
 * engine / commands issued by functions / supports redacting command
 * arguments / correctly handles multi-exec cases; compared line by line. */
TEST(monitor_like_redis_units) {
    REQUIRE(difftest_start(NULL));
    const char *want =
        "[0 127.0.0.1] \"SET\" \"foo\" \"bar\"\n"
        "[0 127.0.0.1] \"GET\" \"foo\"\n"
        "[0 127.0.0.1] \"EVAL\" \"redis.call('set',KEYS[1],ARGV[1])\" \"1\" \"foo\" \"bar\"\n"
        "[0 lua] \"set\" \"foo\" \"bar\"\n"
        "[0 127.0.0.1] \"EVAL\" \"return 1\" \"abc\"\n"
        "[0 127.0.0.1] \"FUNCTION\" \"LOAD\" \"REPLACE\" \"#!lua name=test\\nredis.register_function('test', function() return redis.call('set', 'foo', 'bar') end)\"\n"
        "[0 127.0.0.1] \"FCALL\" \"test\" \"0\"\n"
        "[0 lua] \"set\" \"foo\" \"bar\"\n"
        "[0 127.0.0.1] \"MIGRATE\" \"127.0.0.1\" \"PORT\" \"key\" \"9\" \"5000\"\n"
        "[0 127.0.0.1] \"MIGRATE\" \"127.0.0.1\" \"PORT\" \"key\" \"9\" \"5000\" \"AUTH\" \"(redacted)\"\n"
        "[0 127.0.0.1] \"MIGRATE\" \"127.0.0.1\" \"PORT\" \"key\" \"9\" \"5000\" \"AUTH2\" \"(redacted)\" \"(redacted)\"\n"
        "[0 127.0.0.1] \"AUTH\" \"(redacted)\"\n"
        "[0 127.0.0.1] \"AUTH\" \"(redacted)\" \"(redacted)\"\n"
        "[0 127.0.0.1] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"\n"
        "[0 127.0.0.1] \"MULTI\"\n"
        "[0 127.0.0.1] \"SET\" \"foo\" \"bar\"\n"
        "[0 127.0.0.1] \"EXEC\"\n"
        "[0 127.0.0.1] \"MULTI\"\n"
        "[0 127.0.0.1] \"EXEC\"\n"
        "[5 127.0.0.1] \"SELECT\" \"5\"\n"
        "[5 127.0.0.1] \"EVAL\" \"redis.call('select', 4) redis.call('set','x','y')\" \"0\"\n"
        "[4 lua] \"select\" \"4\"\n"
        "[4 lua] \"set\" \"x\" \"y\"\n"
        "[0 127.0.0.1] \"SELECT\" \"0\"\n";
    int nlines = 0;
    for (const char *p = want; *p; p++) nlines += *p == '\n';
    harness_server *servers[2] = {LS, RS};
    redisContext *conns[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!servers[i]) continue;
        int m = raw_connect_server(servers[i]);
        REQUIRE(m >= 0);
        CHECK_EQ_STR(RAW_CMD(m, "MONITOR"), "status:\"OK\"");
        monitor_workload(servers[i], conns[i]);
        char *got = monitor_read(m, nlines);
        /* The port MIGRATE names is the server's own. */
        char port[16];
        snprintf(port, sizeof port, "\"%d\"", servers[i]->port);
        size_t plen = strlen(port);
        for (char *p = strstr(got, port); p; p = strstr(p + 6, port)) {
            memmove(p + 6, p + plen, strlen(p + plen) + 1);
            memcpy(p, "\"PORT\"", 6);
        }
        CHECK_EQ_STR(got, want);
        free(got);
    }
}

/* CONFIG save params special case handled properly (the default without a
 * save line; a first save line overrides the default; several append). */
TEST(config_save_params) {
    harness_opts o = {.kind = HARNESS_LIGHTNING, .config_text = "appendonly yes\n"};
    harness_server *s = harness_start_opts(&o);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET save"), "array[bulk:\"save\",bulk:\"3600 1 300 100 60 10000\"]");
    harness_opts o2 = {.kind = HARNESS_LIGHTNING, .config_text = "save 100 100\n"};
    s = harness_start_opts(&o2);
    REQUIRE(s);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG GET save"), "array[bulk:\"save\",bulk:\"100 100\"]");
    harness_opts o3 = {.kind = HARNESS_LIGHTNING, .config_text = "save 900 1\nsave 100 100\n"};
    s = harness_start_opts(&o3);
    REQUIRE(s);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG GET save"), "array[bulk:\"save\",bulk:\"900 1 100 100\"]");
}

/* The parameters CONFIG GET * lists, as name/value pairs. */
static redisReply *config_all(redisContext *c) {
    redisReply *r = RCMD(c, "CONFIG", "GET", "*");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* CONFIG sanity: every parameter set to its own value keeps it. Redis's
 * skip list, plus Lightning's own start-up-only parameters and those of
 * the harness (port, bind, dir). */
TEST(config_sanity) {
    harness_server *s = harness_start("enable-debug-command", "yes", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    static const char *skip[] = {
        "rdbchecksum", "daemonize", "io-threads-do-reads", "tcp-backlog", "always-show-logo",
        "syslog-enabled", "cluster-enabled", "disable-thp", "aclfile", "unixsocket", "pidfile",
        "syslog-ident", "appendfilename", "appenddirname", "supervised", "syslog-facility",
        "databases", "io-threads", "logfile", "unixsocketperm", "replicaof", "slaveof",
        "requirepass", "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist",
        "bgsave_cpulist", "set-proc-title", "cluster-config-file", "cluster-port",
        "oom-score-adj", "oom-score-adj-values", "enable-protected-configs",
        "enable-debug-command", "enable-module-command", "dbfilename", "dir", "port", "bind",
        "tls-port", "socket-mark-id",
        /* Lightning's own, fixed at start-up */
        "io-backend", "db-shards", "metrics-port", NULL};
    redisReply *before = config_all(c);
    REQUIRE(before);
    int n = 0;
    for (size_t i = 0; i + 1 < before->elements; i += 2) {
        const char *k = before->element[i]->str, *v = before->element[i + 1]->str;
        int skipped = !strncmp(k, "tls-", 4);
        for (int j = 0; skip[j] && !skipped; j++) skipped = !strcmp(k, skip[j]);
        if (skipped) continue;
        const char *got = cmd_argv(c, (const char *const[]){"CONFIG", "SET", k, v, NULL});
        if (strcmp(got, "status:\"OK\"")) {
            testlib_fail(__FILE__, __LINE__, "CONFIG SET %s '%s': %s", k, v, got);
        }
        n++;
    }
    CHECK(n > 100);
    redisReply *after = config_all(c);
    REQUIRE(after);
    CHECK_EQ_INT((long long)after->elements, (long long)before->elements);
    for (size_t i = 0; i + 1 < before->elements && i + 1 < after->elements; i += 2) {
        CHECK_EQ_STR(after->element[i]->str, before->element[i]->str);
        CHECK_EQ_STR(after->element[i + 1]->str, before->element[i + 1]->str);
    }
    freeReplyObject(before);
    freeReplyObject(after);
}

/* CONFIG REWRITE sanity (DEBUG CONFIG-REWRITE-FORCE-ALL, restart, same
 * values) and CONFIG REWRITE handles save and shutdown properly. */
TEST(config_rewrite) {
    harness_opts o = {.kind = HARNESS_LIGHTNING, .config_text = "enable-debug-command yes\n"};
    harness_server *s = harness_start_opts(&o);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    redisReply *before = config_all(c);
    REQUIRE(before);
    CHECK_EQ_STR(cmd(c, "DEBUG CONFIG-REWRITE-FORCE-ALL"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    redisReply *after = config_all(c);
    REQUIRE(after);
    CHECK_EQ_INT((long long)after->elements, (long long)before->elements);
    for (size_t i = 0; i + 1 < before->elements && i + 1 < after->elements; i += 2) {
        CHECK_EQ_STR(after->element[i]->str, before->element[i]->str);
        CHECK_EQ_STR(after->element[i + 1]->str, before->element[i + 1]->str);
    }
    freeReplyObject(before);
    freeReplyObject(after);
    CHECK_EQ_STR(cmd(c, "CONFIG SET save %s", "3600 1 300 100 60 10000"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET shutdown-on-sigterm %s", "nosave now"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET shutdown-on-sigint save"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG REWRITE"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET save"), "array[bulk:\"save\",bulk:\"3600 1 300 100 60 10000\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET shutdown-on-sigterm"),
                 "array[bulk:\"shutdown-on-sigterm\",bulk:\"nosave now\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET shutdown-on-sigint"),
                 "array[bulk:\"shutdown-on-sigint\",bulk:\"save\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG SET save %s", ""), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET shutdown-on-sigterm default"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG REWRITE"), "status:\"OK\"");
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET save"), "array[bulk:\"save\",bulk:\"\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET shutdown-on-sigterm"),
                 "array[bulk:\"shutdown-on-sigterm\",bulk:\"default\"]");
}

/* CONFIG SET with multiple args / rollback on set error / duplicate
 * configs / set immutable; CONFIG GET hidden configs / multiple args. */
TEST(config_set_get_edge_cases) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "10000001", "repl-backlog-size",
           "10000002", "save", "3000 5");
    EXPECT("array[bulk:\"maxmemory\",bulk:\"10000001\"]", "CONFIG", "GET", "maxmemory");
    EXPECT("array[bulk:\"repl-backlog-size\",bulk:\"10000002\"]", "CONFIG", "GET",
           "repl-backlog-size");
    EXPECT("array[bulk:\"save\",bulk:\"3000 5\"]", "CONFIG", "GET", "save");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "10000002");
    EXPECT("err:\"ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
           "percentage argument must be less or equal to 100\"",
           "CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%",
           "client-query-buffer-limit", "invalid");
    EXPECT("array[bulk:\"maxmemory\",bulk:\"10000002\"]", "CONFIG", "GET", "maxmemory");
    C("CONFIG", "GET", "maxmemory-clients");
    C("CONFIG", "GET", "client-query-buffer-limit");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "maxmemory", "0");
    GLOB("err:\"ERR *duplicate*", "CONFIG", "SET", "maxmemory", "10000001", "maxmemory", "10000002");
    GLOB("err:\"ERR *immutable*", "CONFIG", "SET", "daemonize", "yes");
    /* hidden: by exact name only */
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        redisContext *c = both[i];
        if (!c) continue;
        CHECK(strstr(cmd(c, "CONFIG GET *"), "\"key-load-delay\"") == NULL);
        CHECK(strstr(cmd(c, "CONFIG GET key-load-delay"), "\"key-load-delay\"") != NULL);
        redisReply *r = RCMD(c, "CONFIG", "GET", "maxmemory", "maxmemory*", "bind", "*of");
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
        int have[6] = {0};
        const char *names[6] = {"maxmemory", "maxmemory-samples", "maxmemory-clients", "bind",
                                "slaveof", "replicaof"};
        for (size_t j = 0; j + 1 < r->elements; j += 2) {
            for (size_t k = j + 2; k < r->elements; k += 2)
                CHECK(strcmp(r->element[j]->str, r->element[k]->str) != 0); /* no duplicates */
            for (int k = 0; k < 6; k++) have[k] |= !strcmp(r->element[j]->str, names[k]);
        }
        for (int k = 0; k < 6; k++) CHECK(have[k]);
        freeReplyObject(r);
    }
}

/* cannot modify protected configuration - no. */
TEST(protected_configs) {
    REQUIRE(difftest_start("enable-protected-configs", "no", "enable-debug-command", "no", NULL));
    GLOB("err:\"ERR *protected*", "CONFIG", "SET", "dir", "somedir");
    GLOB("err:\"ERR *DEBUG command not allowed*", "DEBUG", "HELP");
}

/* redis-server command line arguments - error cases (the message lines
 * Redis prints; Lightning's first line names "(command line)"). */
TEST(command_line_errors) {
    static const struct {
        const char *args[6];
        const char *want;
    } cases[] = {
        {{"--invalid"}, "*Bad directive or wrong number of arguments*"},
        {{"--port"}, "*'port'*wrong number of arguments*"},
        {{"--port", "6380", "--loglevel"}, "*'loglevel'*wrong number of arguments*"},
        {{"--port", "6379", "6380"}, "*'port \"6379\" \"6380\"'*wrong number of arguments*"},
        {{"--port", "--loglevel", "verbose"}, "*'port \"--loglevel\" \"verbose\"'*wrong number of arguments*"},
        {{"--port", "--bla", "--loglevel", "verbose"}, "*'port \"--bla\"'*argument couldn't be parsed into an integer*"},
        {{"--logfile", "--my--log--file", "--loglevel", "--bla"}, "*'loglevel \"--bla\"'*argument(s) must be one of the following*"},
        {{"--shutdown-on-sigint"}, "*'shutdown-on-sigint'*argument(s) must be one of the following*"},
        {{"--replicaof", "127.0.0.1", "abc"}, "*'replicaof \"127.0.0.1\" \"abc\"'*Invalid master port*"},
        {{"--replicaof", "--127.0.0.1", "abc"}, "*'replicaof \"--127.0.0.1\" \"abc\"'*Invalid master port*"},
        {{"--replicaof", "--127.0.0.1", "--abc"}, "*'replicaof \"--127.0.0.1\"'*wrong number of arguments*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[8] = {harness_bin(HARNESS_LIGHTNING)};
        for (int j = 0; j < 6 && cases[i].args[j]; j++) argv[j + 1] = cases[i].args[j];
        char *out = NULL;
        int timed_out = 0;
        int st = harness_run_capture(argv, 5000, &out, &timed_out);
        CHECK(!timed_out && st != 0);
        if (fnmatch(cases[i].want, out ? out : "", 0) != 0)
            testlib_fail(__FILE__, __LINE__, "%s %s: %s", cases[i].args[0],
                         cases[i].args[1] ? cases[i].args[1] : "", out ? out : "(none)");
        free(out);
    }
}

/* ---- introspection-2.tcl ------------------------------------------------- */

/* TTL, TYPE and EXISTS do not alter the last access time of a key / TOUCH
 * alters the last access time of a key / TOUCH returns the number of
 * existing keys specified. (3 s of idle time, as Redis's test.) */
TEST(touch_and_idle_time) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "foo", "bar");
    EXPECT("status:\"OK\"", "SET", "foo2", "bar");
    harness_sleep_ms(3000);
    C("TTL", "foo");
    C("TYPE", "foo");
    C("EXISTS", "foo");
    redisContext *both[2] = {L, R};
    for (int i = 0; i < 2; i++)
        if (both[i]) {
            redisReply *r = RCMD(both[i], "OBJECT", "IDLETIME", "foo");
            CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 2);
            freeReplyObject(r);
        }
    EXPECT("int:1", "TOUCH", "foo2");
    for (int i = 0; i < 2; i++)
        if (both[i]) {
            redisReply *r = RCMD(both[i], "OBJECT", "IDLETIME", "foo2");
            CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer < 2);
            freeReplyObject(r);
        }
    C("FLUSHDB");
    C("SET", "key1{t}", "1");
    C("SET", "key2{t}", "2");
    EXPECT("int:2", "TOUCH", "key0{t}", "key1{t}", "key2{t}", "key3{t}");
}

/* command stats for GEOADD / errors stats for GEOADD / EXPIRE / BRPOP /
 * MULTI / scripts: the command the client ran is counted, not what it
 * became. */
TEST(command_stats) {
    REQUIRE(difftest_start(NULL));
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("GEOADD", "foo", "0", "0", "bar");
    BOTH_EQ(cmdstat, "geoadd", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "zadd", "");
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("SET", "foo", "1");
    EXPECT(WRONGTYPE, "GEOADD", "foo", "0", "0", "bar");
    BOTH_EQ(cmdstat, "geoadd", "calls=1,rejected_calls=0,failed_calls=1");
    BOTH_EQ(cmdstat, "zadd", "");
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("SET", "foo", "bar");
    C("EXPIRE", "foo", "0");
    BOTH_EQ(cmdstat, "expire", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "del", "");
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("LPUSH", "list", "foo");
    C("BRPOP", "list", "0");
    BOTH_EQ(cmdstat, "brpop", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "rpop", "");
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("MULTI");
    C("SET", "foo{t}", "bar");
    C("GEOADD", "foo2{t}", "0", "0", "bar");
    C("EXPIRE", "foo2{t}", "0");
    C("EXEC");
    BOTH_EQ(cmdstat, "multi", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "exec", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "set", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "expire", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "geoadd", "calls=1,rejected_calls=0,failed_calls=0");
    DO(L, "CONFIG", "RESETSTAT");
    if (R) DO(R, "CONFIG", "RESETSTAT");
    C("SET", "mykey", "myval");
    C("EVAL",
      "redis.call('set', KEYS[1], 0) redis.call('expire', KEYS[1], 0) "
      "redis.call('geoadd', KEYS[1], 0, 0, 'bar')",
      "1", "mykey");
    BOTH_EQ(cmdstat, "eval", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "set", "calls=2,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "expire", "calls=1,rejected_calls=0,failed_calls=0");
    BOTH_EQ(cmdstat, "geoadd", "calls=1,rejected_calls=0,failed_calls=0");
}

/* COMMAND GETKEYS GET / GETKEYSANDFLAGS / MEMORY USAGE / XGROUP / EVAL with
 * and without keys / LCS; COMMAND LIST syntax error / WITHOUT FILTERBY /
 * FILTERBY ACLCAT (non existing, all) / PATTERN / MODULE; COMMAND INFO of
 * invalid subcommands; movablekeys marks. */
TEST(command_introspection) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"key\"]", "COMMAND", "GETKEYS", "GET", "key");
    C("COMMAND", "GETKEYSANDFLAGS", "SET", "k1", "v1");
    C("COMMAND", "GETKEYSANDFLAGS", "MSET", "k1", "v1", "k2", "v2");
    C("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right");
    C("COMMAND", "GETKEYSANDFLAGS", "SORT", "k1", "store", "k2");
    EXPECT("array[bulk:\"key\"]", "COMMAND", "GETKEYS", "MEMORY", "USAGE", "key");
    EXPECT("array[bulk:\"key\"]", "COMMAND", "GETKEYS", "XGROUP", "CREATE", "key", "groupname", "$");
    EXPECT("array[bulk:\"key\"]", "COMMAND", "GETKEYS", "EVAL", "return 1", "1", "key");
    C("COMMAND", "GETKEYS", "EVAL", "return 1", "0");
    EXPECT("array[bulk:\"key1\",bulk:\"key2\"]", "COMMAND", "GETKEYS", "LCS", "key1", "key2");
    EXPECT(SYNTAX, "COMMAND", "LIST", "bad_arg");
    EXPECT(SYNTAX, "COMMAND", "LIST", "FILTERBY", "bad_arg");
    EXPECT(SYNTAX, "COMMAND", "LIST", "FILTERBY", "bad_arg", "bad_arg2");
    /* (Not compared as a whole: Lightning has commands Redis 7.0 lacks,
     * e.g. CLIENT SETINFO.) */
    const char *all = cmd(L, "COMMAND LIST");
    CHECK(strstr(all, "bulk:\"set\"") && strstr(all, "bulk:\"client|list\""));
    EXPECT("array[]", "COMMAND", "LIST", "FILTERBY", "ACLCAT", "non_existing_category");
    const char *scripting = cmd(L, "COMMAND LIST FILTERBY ACLCAT scripting");
    CHECK(strstr(scripting, "bulk:\"eval\"") && strstr(scripting, "bulk:\"script|kill\""));
    CHECK(!strstr(scripting, "bulk:\"set\""));
    EXPECT("array[bulk:\"set\"]", "COMMAND", "LIST", "FILTERBY", "PATTERN", "set");
    EXPECT("array[bulk:\"get\"]", "COMMAND", "LIST", "FILTERBY", "PATTERN", "get");
    const char *cfg = cmd(L, "COMMAND LIST FILTERBY PATTERN config*");
    CHECK(strstr(cfg, "bulk:\"config\"") && strstr(cfg, "bulk:\"config|get\""));
    const char *re = cmd(L, "COMMAND LIST FILTERBY PATTERN config|*re*");
    CHECK(strstr(re, "bulk:\"config|resetstat\"") && strstr(re, "bulk:\"config|rewrite\""));
    const char *help = cmd(L, "COMMAND LIST FILTERBY PATTERN cl*help");
    CHECK(strstr(help, "bulk:\"client|help\"") && strstr(help, "bulk:\"cluster|help\""));
    EXPECT("array[]", "COMMAND", "LIST", "FILTERBY", "PATTERN", "non_exists");
    EXPECT("array[]", "COMMAND", "LIST", "FILTERBY", "PATTERN", "non_exists*");
    EXPECT("array[]", "COMMAND", "LIST", "FILTERBY", "MODULE", "non_existing_module");
    EXPECT("array[nil]", "COMMAND", "INFO", "get|key");
    EXPECT("array[nil]", "COMMAND", "INFO", "config|get|key");
    static const char *notmov[] = {"SET", "GET", "MSET", "BITFIELD", "LMOVE", "LPOP", "BLPOP",
                                   "PING", "MEMORY", "MEMORY|USAGE", "RENAME", "GEORADIUS_RO"};
    static const char *mov[] = {"ZUNIONSTORE", "XREAD", "EVAL", "SORT", "SORT_RO", "MIGRATE",
                                "GEORADIUS"};
    for (size_t i = 0; i < sizeof notmov / sizeof notmov[0]; i++) {
        redisReply *r = RCMD(L, "COMMAND", "INFO", notmov[i]);
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements > 2);
        char *flags = reply_to_string(r->element[0]->element[2]);
        CHECK(strstr(flags, "movablekeys") == NULL);
        free(flags);
        freeReplyObject(r);
    }
    for (size_t i = 0; i < sizeof mov / sizeof mov[0]; i++) {
        redisReply *r = RCMD(L, "COMMAND", "INFO", mov[i]);
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements > 2);
        char *flags = reply_to_string(r->element[0]->element[2]);
        CHECK(strstr(flags, "movablekeys") != NULL);
        free(flags);
        freeReplyObject(r);
    }
}


/* ---- loading (introspection.tcl "config during loading"; INFO loading_*) */

/* Starts a server on dir's data with key-load-delay us per key, without
 * waiting for the load, and connects once its listener is open (it opens
 * before the load, as Redis's). */
static harness_server *start_loading(const char *dir, const char *delay, redisContext **c) {
    const char *const d[] = {"dir", dir, "key-load-delay", delay, "enable-debug-command", "yes",
                             "enable-protected-configs", "yes", NULL};
    harness_opts o = {.kind = HARNESS_LIGHTNING, .directives = d, .no_wait = 1};
    harness_server *s = harness_start_opts(&o);
    *c = NULL;
    for (int i = 0; s && i < 200 && !*c; i++) {
        redisContext *x = redisConnect("127.0.0.1", s->port);
        if (x && !x->err) *c = x;
        else {
            if (x) redisFree(x);
            harness_sleep_ms(25);
        }
    }
    if (*c) {
        struct timeval tv = {10, 0};
        redisSetTimeout(*c, tv);
    }
    return s;
}

static int file_contains(const char *path, const char *what) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

/* Clients answered -LOADING while the WAL replays do not make the replay
 * think its own command failed (it counted the server's error total; a
 * restart under load refused to start on a "Bad WAL record"). */
TEST(loading_with_error_replies_to_others) {
    harness_server *a = harness_start(NULL);
    REQUIRE(a);
    redisContext *ca = harness_connect(a);
    REQUIRE(ca);
    REQUIRE(harness_fill(ca, "key:", 0, 20000) == 0);
    a->expect_exit = 1;
    harness_kill9(a);
    redisContext *c;
    harness_server *b = start_loading(a->dir, "20", &c);
    REQUIRE(b && c);
    /* Errors as fast as they come, for the whole load (at most 60 s). */
    long errors = 0;
    int done = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (t1 = t0; !done && t1.tv_sec - t0.tv_sec < 60; clock_gettime(CLOCK_MONOTONIC, &t1)) {
        for (int j = 0; j < 64; j++) redisAppendCommand(c, "GET key:1");
        for (int j = 0; j < 64; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                done = -1;
                break;
            }
            if (r->type == REDIS_REPLY_ERROR) errors++;
            else done = 1; /* loaded: GET answers */
            freeReplyObject(r);
        }
    }
    if (done != 1) fprintf(stderr, "# done=%d errors=%ld err=%s\n", done, errors, c->errstr);
    CHECK(done == 1);
    CHECK(errors > 0);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:20000");
    redisFree(c);
    b->expect_exit = 1;
    harness_kill9(b);
}

/* A load of 20000 WAL records at 100 us each lasts 2 s at least: while it
 * runs, INFO shows loading:1 with Redis's loading_* fields, commands
 * without the loading flag get -LOADING, CONFIG SET of loglevel works and
 * of dir is refused (-LOADING), the log shows progress (percent, keys/s,
 * ETA); then every key is there. SIGTERM during a load exits at once
 * without saving, and the data is intact. */
TEST(loading_progress_and_refusals) {
    harness_server *a = harness_start(NULL);
    REQUIRE(a);
    redisContext *ca = harness_connect(a);
    REQUIRE(ca);
    REQUIRE(harness_fill(ca, "key:", 0, 20000) == 0);
    a->expect_exit = 1;
    harness_kill9(a); /* the WAL holds every write (written, not fsync'd: kill -9 keeps it) */

    redisContext *c;
    harness_server *b = start_loading(a->dir, "100", &c);
    REQUIRE(b && c);
    char v[64];
    REQUIRE(harness_info(c, "persistence", "loading", v, sizeof v));
    CHECK_EQ_STR(v, "1");
    CHECK(harness_info(c, "persistence", "async_loading", v, sizeof v) && !strcmp(v, "0"));
    CHECK(harness_info_num(c, "persistence", "loading_start_time") > 1000000000);
    CHECK(harness_info_num(c, "persistence", "loading_total_bytes") > 20000 * 20);
    CHECK(harness_info_num(c, "persistence", "loading_loaded_bytes") >= 0);
    CHECK(harness_info(c, "persistence", "loading_loaded_perc", v, sizeof v) && strchr(v, '.'));
    CHECK(harness_info_num(c, "persistence", "loading_eta_seconds") >= 0);
    CHECK(harness_info(c, "persistence", "loading_rdb_used_mem", v, sizeof v));
    CHECK_EQ_STR(cmd(c, "PING"), "err:\"LOADING Redis is loading the dataset in memory\"");
    CHECK_EQ_STR(cmd(c, "GET key:1"), "err:\"LOADING Redis is loading the dataset in memory\"");
    CHECK_EQ_STR(cmd(c, "DEBUG RELOAD"), "err:\"LOADING Redis is loading the dataset in memory\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET loglevel debug"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG GET loglevel"), "array[bulk:\"loglevel\",bulk:\"debug\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG SET dir asdf"), "err:\"LOADING Redis is loading the dataset in memory\"");
    CHECK(harness_info(c, "stats", "total_error_replies", v, sizeof v) && atoi(v) >= 4);
    CHECK(strstr(cmd(c, "INFO errorstats"), "errorstat_LOADING:count=") != NULL);
    int done = 0;
    for (int i = 0; i < 1200 && !done; i++) {
        done = harness_info_num(c, "persistence", "loading") == 0;
        if (!done) harness_sleep_ms(50);
    }
    REQUIRE(done);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:20000");
    CHECK_EQ_STR(cmd(c, "GET key:19999"), "bulk:\"value-19999\"");
    CHECK(harness_info(c, "persistence", "loading_total_bytes", v, sizeof v) == 0);
    CHECK(file_contains(b->logfile, "Loading: "));
    CHECK(file_contains(b->logfile, "keys/s, ETA"));
    CHECK(file_contains(b->logfile, "Done loading the dataset: 20000 keys/records"));
    redisFree(c);
    b->expect_exit = 1;
    harness_kill9(b);

    /* SIGTERM while loading: exits now, saves nothing. */
    harness_server *d = start_loading(a->dir, "500", &c);
    REQUIRE(d && c);
    CHECK(harness_info_num(c, "persistence", "loading") == 1);
    redisFree(c);
    d->expect_exit = 1;
    int st = harness_stop(d);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    harness_server *e = start_loading(a->dir, "0", &c);
    REQUIRE(e && c);
    for (int i = 0; i < 1200 && harness_info_num(c, "persistence", "loading") != 0; i++)
        harness_sleep_ms(50);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), "int:20000");
    redisFree(c);
}

int main(void) {
    RUN(info_errorstats);
    RUN(latency_histogram);
    RUN(latency_events);
    RUN(client_introspection);
    RUN(client_kill_skipme);
    RUN(client_reply);
    RUN(monitor_like_redis_units);
    RUN(config_save_params);
    RUN(config_sanity);
    RUN(config_rewrite);
    RUN(config_set_get_edge_cases);
    RUN(protected_configs);
    RUN(command_line_errors);
    RUN(touch_and_idle_time);
    RUN(command_stats);
    RUN(command_introspection);
    RUN(loading_progress_and_refusals);
    RUN(loading_with_error_replies_to_others);
    return testlib_finish();
}
