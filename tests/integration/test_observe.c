/*
 * Observability (issue #22): SLOWLOG, LATENCY, MONITOR and INFO latencystats
 * compared with a real redis-server (shapes: ids, times and durations differ,
 * the structure, arguments and errors must not); Prometheus /metrics on the
 * main port and on metrics-port; a real Prometheus scraping Lightning
 * (`up` == 1) and prometheus-redis-exporter against Lightning (redis_up 1),
 * each skipped when its Debian package is not installed.
 */
#include "../difftest.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static redisReply *rcmd(redisContext *c, const char *const *argv) {
    int argc = 0;
    while (argv[argc]) argc++;
    return redisCommandArgv(c, argc, (const char **)argv, NULL);
}
#define RCMD(c, ...) rcmd((c), (const char *const[]){__VA_ARGS__, NULL})

/* A SLOWLOG GET reply with id, time and duration blanked and the client
 * port dropped: what must be equal on both servers. malloc'd. */
static char *slowlog_shape(redisContext *c, const char *count) {
    redisReply *r = RCMD(c, "SLOWLOG", "GET", count);
    if (!r) return strdup("(io-error)");
    if (r->type != REDIS_REPLY_ARRAY) {
        char *s = reply_to_string(r);
        freeReplyObject(r);
        return s;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    fprintf(f, "n=%zu\n", r->elements);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 6) {
            fprintf(f, "bad entry\n");
            continue;
        }
        fprintf(f, "[%d %d %d ", e->element[0]->type == REDIS_REPLY_INTEGER,
                e->element[1]->type == REDIS_REPLY_INTEGER && e->element[1]->integer > 1000000000,
                e->element[2]->type == REDIS_REPLY_INTEGER && e->element[2]->integer >= 0);
        char *argv = reply_to_string(e->element[3]);
        const char *addr = e->element[4]->str ? e->element[4]->str : "";
        fprintf(f, "%s %.*s %s]\n", argv, (int)strcspn(addr, ":"), addr,
                e->element[5]->str ? e->element[5]->str : "?");
        free(argv);
    }
    fclose(f);
    freeReplyObject(r);
    return out;
}

static void check_same_shape(char *(*shape)(redisContext *, const char *), const char *arg) {
    char *l = shape(L, arg);
    if (R) {
        char *r = shape(R, arg);
        CHECK_EQ_STR(l, r);
        free(r);
    }
    free(l);
}

TEST(slowlog_entries_like_redis) {
    REQUIRE(difftest_start("slowlog-log-slower-than", "0", NULL));
    EXPECT("status:\"OK\"", "SLOWLOG", "RESET");
    EXPECT("status:\"OK\"", "CLIENT", "SETNAME", "observer");
    C("SET", "k", "v");
    C("GET", "k");
    /* Trimming: 40 arguments (32 kept, the last says how many more) and
     * an argument over 128 bytes. */
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const char *many[44] = {"RPUSH", "list"};
    char nums[40][12];
    for (int i = 0; i < 40; i++) {
        snprintf(nums[i], sizeof nums[i], "%d", i);
        many[2 + i] = nums[i];
    }
    many[42] = NULL;
    COMPARE(L, R, "SET", "big", big);
    harness_compare(__FILE__, __LINE__, L, R, 0, many);
    /* Secrets are redacted. */
    C("AUTH", "nosuchpassword");
    check_same_shape(slowlog_shape, "-1");
    check_same_shape(slowlog_shape, "2");
    check_same_shape(slowlog_shape, "0");
    redisReply *r = RCMD(L, "SLOWLOG", "GET", "1");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    CHECK_EQ_STR(r->element[0]->element[5]->str, "observer");
    freeReplyObject(r);
    /* Errors and arity. */
    EXPECT("err:\"ERR count should be greater than or equal to -1\"", "SLOWLOG", "GET", "-2");
    EXPECT("err:\"ERR count should be greater than or equal to -1\"", "SLOWLOG", "GET", "x");
    C("SLOWLOG", "GET", "1", "2");
    EXPECT("err:\"ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\"", "SLOWLOG", "foo");
    C("SLOWLOG");
    C("SLOWLOG", "LEN", "x");
    C("SLOWLOG", "HELP");
    /* slowlog-max-len bounds the log; -1 turns it off. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "slowlog-max-len", "3");
    for (int i = 0; i < 5; i++) C("PING");
    EXPECT("int:3", "SLOWLOG", "LEN");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "slowlog-log-slower-than", "-1");
    EXPECT("status:\"OK\"", "SLOWLOG", "RESET");
    C("PING");
    EXPECT("int:0", "SLOWLOG", "LEN");
    EXPECT("array[bulk:\"slowlog-log-slower-than\",bulk:\"-1\"]", "CONFIG", "GET",
           "slowlog-log-slower-than");
    C("CONFIG", "SET", "slowlog-log-slower-than", "-2");
    C("CONFIG", "SET", "slowlog-max-len", "-1");
    /* The default threshold (10 ms) keeps fast commands out. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "slowlog-log-slower-than", "10000");
    C("PING");
    EXPECT("int:0", "SLOWLOG", "LEN");
}

/* ACL SETUSER is logged with every argument redacted, even when it fails;
 * a command that blocked is logged when it is answered, not when it
 * blocked (Redis's slowlog unit). */
TEST(slowlog_redaction_and_blocked_like_redis) {
    REQUIRE(difftest_start("slowlog-log-slower-than", "0", NULL));
    EXPECT("status:\"OK\"", "SLOWLOG", "RESET");
    C("ACL", "SETUSER", "slowlog test user", "+get", "+set");
    C("ACL", "SETUSER", "slowlog-test-user", "+get", "+set");
    check_same_shape(slowlog_shape, "-1");
    harness_server *servers[2] = {LS, RS};
    redisContext *ctx[2] = {L, R};
    for (int i = 0; i < 2 && servers[i]; i++) {
        redisContext *blocked = harness_connect(servers[i]);
        REQUIRE(blocked);
        REQUIRE(redisAppendCommand(blocked, "BLPOP l 0") == REDIS_OK);
        int wdone = 0;
        while (!wdone) REQUIRE(redisBufferWrite(blocked, &wdone) == REDIS_OK);
        /* Once it is blocked, the log is emptied: BLPOP's entry must come
         * when LPUSH serves it. */
        int waited = 0;
        for (; waited < 100; waited++) {
            redisReply *r = redisCommand(ctx[i], "INFO clients");
            int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "blocked_clients:1\r\n");
            freeReplyObject(r);
            if (ok) break;
            harness_sleep_ms(50);
        }
        CHECK(waited < 100);
        freeReplyObject(redisCommand(ctx[i], "SLOWLOG RESET"));
        freeReplyObject(redisCommand(ctx[i], "LPUSH l foo"));
        redisReply *r = NULL;
        CHECK(redisGetReply(blocked, (void **)&r) == REDIS_OK);
        freeReplyObject(r);
        harness_disconnect(blocked);
    }
    /* The order of BLPOP's and LPUSH's entries is not compared: on
     * Lightning they may be logged by two I/O threads at once. */
    for (int i = 0; i < 2 && ctx[i]; i++) {
        redisReply *r = RCMD(ctx[i], "SLOWLOG", "GET", "-1");
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
        int found = 0;
        for (size_t k = 0; k < r->elements; k++) {
            char *args = reply_to_string(r->element[k]->element[3]);
            found |= !strcmp(args, "array[bulk:\"BLPOP\",bulk:\"l\",bulk:\"0\"]");
            free(args);
        }
        CHECK(found);
        freeReplyObject(r);
    }
}

/* Slow log entries from clients of every I/O thread, bounded. */
TEST(slowlog_across_io_threads) {
    harness_server *s = harness_start("io-threads", "2", "slowlog-log-slower-than", "0",
                                      "slowlog-max-len", "50", NULL);
    REQUIRE(s);
    redisContext *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = harness_connect(s);
        REQUIRE(c[i]);
        cmd(c[i], "CLIENT SETNAME c%d", i);
    }
    for (int round = 0; round < 30; round++)
        for (int i = 0; i < 4; i++) cmd(c[i], "SET k%d %d", i, round);
    CHECK_EQ_STR(cmd(c[0], "SLOWLOG LEN"), "int:50");
    redisReply *r = redisCommand(c[0], "SLOWLOG GET -1");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 50);
    int names[4] = {0};
    long long prev = -1;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (prev >= 0) CHECK(e->element[0]->integer < prev); /* newest first */
        prev = e->element[0]->integer;
        const char *n = e->element[5]->str;
        if (n[0] == 'c') names[n[1] - '0']++;
    }
    for (int i = 0; i < 4; i++) CHECK(names[i] > 0);
    freeReplyObject(r);
}

/* A command that takes well over a millisecond on either server. */
static void slow_command(redisContext *c) {
    if (!c) return;
    redisReply *r = redisCommand(c, "SORT biglist");
    if (r) freeReplyObject(r);
}

static void fill_biglist(redisContext *c) {
    if (!c) return;
    for (int chunk = 0; chunk < 20; chunk++) {
        const char *argv[1002] = {"RPUSH", "biglist"};
        static char vals[1000][16];
        for (int i = 0; i < 1000; i++) {
            snprintf(vals[i], sizeof vals[i], "%d", (chunk * 7919 + i * 104729) % 1000003);
            argv[2 + i] = vals[i];
        }
        redisReply *r = redisCommandArgv(c, 1002, argv, NULL);
        if (r) freeReplyObject(r);
    }
}

/* LATEST entries: "name:fields" with the times blanked. */
static char *latest_shape(redisContext *c, const char *unused) {
    (void)unused;
    redisReply *r = RCMD(c, "LATENCY", "LATEST");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (r && r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i];
            fprintf(f, "%s:%zu:%d;", e->element[0]->str, e->elements,
                    e->element[2]->integer >= 1 && e->element[3]->integer >= e->element[2]->integer);
        }
    } else {
        fprintf(f, "(bad)");
    }
    fclose(f);
    if (r) freeReplyObject(r);
    return out;
}

TEST(latency_monitor_like_redis) {
    REQUIRE(difftest_start(NULL));
    fill_biglist(L);
    fill_biglist(R);
    /* Off by default: DOCTOR says so, no events. */
    C("LATENCY", "DOCTOR");
    EXPECT("array[]", "LATENCY", "LATEST");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "latency-monitor-threshold", "1");
    slow_command(L);
    slow_command(R);
    check_same_shape(latest_shape, NULL);
    redisReply *r = RCMD(L, "LATENCY", "HISTORY", "command");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
    CHECK(r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2);
    freeReplyObject(r);
    r = RCMD(L, "LATENCY", "GRAPH", "command");
    REQUIRE(r && r->str);
    CHECK(!strncmp(r->str, "command - high ", 15));
    CHECK(strstr(r->str, "\n-----") != NULL && strchr(r->str, '#') != NULL);
    freeReplyObject(r);
    r = RCMD(L, "LATENCY", "DOCTOR");
    REQUIRE(r && r->str);
    CHECK(strstr(r->str, "Dave, I have observed latency spikes") != NULL);
    CHECK(strstr(r->str, "1. command: ") != NULL);
    freeReplyObject(r);
    EXPECT("array[]", "LATENCY", "HISTORY", "nosuchevent");
    EXPECT("err:\"ERR No samples available for event 'nosuchevent'\"", "LATENCY", "GRAPH",
           "nosuchevent");
    EXPECT("int:0", "LATENCY", "RESET", "nosuchevent");
    EXPECT("int:1", "LATENCY", "RESET", "command");
    EXPECT("array[]", "LATENCY", "LATEST");
    EXPECT("int:0", "LATENCY", "RESET");
    C("LATENCY", "HELP");
    EXPECT("err:\"ERR unknown subcommand 'nope'. Try LATENCY HELP.\"", "LATENCY", "nope");
    C("LATENCY", "HISTORY");
    C("LATENCY", "LATEST", "x");
    C("CONFIG", "SET", "latency-monitor-threshold", "-1");
    EXPECT("array[bulk:\"latency-monitor-threshold\",bulk:\"1\"]", "CONFIG", "GET",
           "latency-monitor-threshold");
}

/* LATENCY HISTOGRAM for one command: its name, calls, and the buckets. */
static char *histogram_shape(redisContext *c, const char *name) {
    redisReply *r = RCMD(c, "LATENCY", "HISTOGRAM", name);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(f, "(bad)");
    } else if (r->elements == 0) {
        fprintf(f, "empty");
    } else if (r->elements == 2 && r->element[1]->type == REDIS_REPLY_ARRAY &&
               r->element[1]->elements == 4) {
        redisReply *m = r->element[1];
        redisReply *h = m->element[3];
        long long last = -1, prevkey = 0;
        int increasing = 1;
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            if (h->element[i]->integer <= prevkey) increasing = 0;
            prevkey = h->element[i]->integer;
            if (h->element[i + 1]->integer <= last) increasing = 0;
            last = h->element[i + 1]->integer;
        }
        fprintf(f, "%s %s=%lld %s cum=%lld increasing=%d", r->element[0]->str, m->element[0]->str,
                m->element[1]->integer, m->element[2]->str, last, increasing);
    } else {
        fprintf(f, "(shape %zu)", r->elements);
    }
    fclose(f);
    if (r) freeReplyObject(r);
    return out;
}

static int is_percentile_line(const char *info, const char *cmdname) {
    char want[128];
    snprintf(want, sizeof want, "latency_percentiles_usec_%s:p50=", cmdname);
    const char *p = strstr(info, want);
    if (!p) return 0;
    double a, b, c;
    return sscanf(p + strlen(want), "%lf,p99=%lf,p99.9=%lf", &a, &b, &c) == 3 && a <= b && b <= c;
}

TEST(latency_tracking_like_redis) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "CONFIG", "RESETSTAT");
    for (int i = 0; i < 7; i++) C("SET", "k", "v");
    check_same_shape(histogram_shape, "set");
    check_same_shape(histogram_shape, "nosuchcommand");
    check_same_shape(histogram_shape, "get");
    C("GET", "k");
    check_same_shape(histogram_shape, "get");
    /* Containers list their subcommands. */
    C("CONFIG", "GET", "maxclients");
    check_same_shape(histogram_shape, "config|get");
    char *li = NULL, *ri = NULL;
    redisReply *r = RCMD(L, "INFO", "latencystats");
    REQUIRE(r && r->str);
    li = strdup(r->str);
    freeReplyObject(r);
    CHECK(!strncmp(li, "# Latencystats\r\n", 16));
    CHECK(is_percentile_line(li, "set"));
    CHECK(is_percentile_line(li, "get"));
    if (R) {
        r = RCMD(R, "INFO", "latencystats");
        ri = strdup(r && r->str ? r->str : "");
        if (r) freeReplyObject(r);
        CHECK(is_percentile_line(ri, "set"));
    }
    free(li);
    free(ri);
    /* Percentiles setting: Redis's validation and normal form. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "latency-tracking-info-percentiles", "50.0 99 100");
    EXPECT("array[bulk:\"latency-tracking-info-percentiles\",bulk:\"50 99 100\"]", "CONFIG",
           "GET", "latency-tracking-info-percentiles");
    C("CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc");
    C("CONFIG", "SET", "latency-tracking-info-percentiles", "101");
    EXPECT("status:\"OK\"", "CONFIG", "SET", "latency-tracking-info-percentiles", "");
    r = RCMD(L, "INFO", "latencystats");
    REQUIRE(r && r->str);
    CHECK(strstr(r->str, "latency_percentiles_usec_set:\r\n") != NULL);
    freeReplyObject(r);
    /* Off: nothing recorded. */
    EXPECT("status:\"OK\"", "CONFIG", "SET", "latency-tracking", "no");
    EXPECT("status:\"OK\"", "CONFIG", "RESETSTAT");
    C("SET", "k", "v");
    check_same_shape(histogram_shape, "set");
}

/* MONITOR lines on a raw connection, with the timestamp and client port
 * removed: "[db ip] args". */
static char *monitor_lines(int fd, int want) {
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
        /* "[db ip:port]" loses the port; "[db lua]" (a script's) stays. */
        const char *colon = close ? memchr(br, ':', (size_t)(close - br)) : NULL;
        if (close && !colon) colon = close;
        if (b.data[0] != '+' || !close) {
            fprintf(f, "(bad line %s)\n", harness_escape(b.data, b.len));
        } else {
            double ts = atof(b.data + 1);
            fprintf(f, "%s[%.*s]%.*s\n", ts > 1e9 ? "" : "(bad time)", (int)(colon - br - 1),
                    br + 1, (int)(b.len - (size_t)(close + 1 - b.data) - 2), close + 1);
        }
        raw_buf_free(&b);
    }
    fclose(f);
    return out;
}

static void monitor_workload(redisContext *c) {
    if (!c) return;
    freeReplyObject(RCMD(c, "SET", "k y", "v\"a\nl\x01"));
    freeReplyObject(RCMD(c, "AUTH", "secret"));
    freeReplyObject(RCMD(c, "HELLO", "2", "AUTH", "default", "secret"));
    freeReplyObject(RCMD(c, "SELECT", "3"));
    freeReplyObject(RCMD(c, "MULTI"));
    freeReplyObject(RCMD(c, "INCR", "n"));
    freeReplyObject(RCMD(c, "EXEC"));
    freeReplyObject(RCMD(c, "CONFIG", "SET", "maxclients", "10000")); /* admin: not shown */
    freeReplyObject(RCMD(c, "GET", "n"));
    /* MIGRATE's credentials are redacted (no such key: nothing is sent). */
    freeReplyObject(RCMD(c, "MIGRATE", "127.0.0.1", "1", "nokey", "0", "10", "AUTH", "pw"));
    freeReplyObject(
        RCMD(c, "MIGRATE", "127.0.0.1", "1", "nokey", "0", "10", "COPY", "AUTH2", "u", "pw"));
}

TEST(monitor_like_redis) {
    REQUIRE(difftest_start(NULL));
    int ml = raw_connect_server(LS), mr = raw_connect_server(RS);
    REQUIRE(ml >= 0);
    CHECK_EQ_STR(RAW_COMPARE(ml, mr, "MONITOR"), "status:\"OK\"");
    monitor_workload(L);
    monitor_workload(R);
    char *l = monitor_lines(ml, 10);
    CHECK(strstr(l, "[0 127.0.0.1] \"SET\" \"k y\" \"v\\\"a\\nl\\x01\"\n") != NULL);
    CHECK(strstr(l, "\"10\" \"COPY\" \"AUTH2\" \"(redacted)\" \"(redacted)\"\n") != NULL);
    CHECK(strstr(l, "\"AUTH\" \"(redacted)\"\n") != NULL);
    CHECK(strstr(l, "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"\n") != NULL);
    CHECK(strstr(l, "[3 127.0.0.1] \"INCR\" \"n\"\n") != NULL);
    CHECK(strstr(l, "CONFIG") == NULL); /* admin commands are not shown */
    if (mr >= 0) {
        char *r = monitor_lines(mr, 10);
        CHECK_EQ_STR(l, r);
        free(r);
    }
    free(l);
}

/* EVAL and FCALL show before their script's commands, which show "lua". */
TEST(monitor_scripts) {
    REQUIRE(difftest_start(NULL));
    int ml = raw_connect_server(LS), mr = raw_connect_server(RS);
    REQUIRE(ml >= 0);
    C("FUNCTION", "LOAD", "#!lua name=mlib\nredis.register_function('mf', function() "
                          "return redis.call('set', 'foo', 'bar') end)");
    CHECK_EQ_STR(RAW_COMPARE(ml, mr, "MONITOR"), "status:\"OK\"");
    C("EVAL", "redis.call('set',KEYS[1],ARGV[1])", "1", "foo", "bar");
    C("FCALL", "mf", "0");
    C("GET", "foo");
    char *l = monitor_lines(ml, 5);
    CHECK_EQ_STR(l, "[0 127.0.0.1] \"EVAL\" \"redis.call('set',KEYS[1],ARGV[1])\" \"1\" "
                    "\"foo\" \"bar\"\n[0 lua] \"set\" \"foo\" \"bar\"\n"
                    "[0 127.0.0.1] \"FCALL\" \"mf\" \"0\"\n[0 lua] \"set\" \"foo\" \"bar\"\n"
                    "[0 127.0.0.1] \"GET\" \"foo\"\n");
    if (mr >= 0) {
        char *r = monitor_lines(mr, 5);
        CHECK_EQ_STR(l, r);
        free(r);
    }
    free(l);
}

/* Commands from every I/O thread reach a monitor on any thread; a second
 * monitor sees the same; a closed monitor is forgotten. */
TEST(monitor_across_io_threads) {
    harness_server *s = harness_start("io-threads", "3", NULL);
    REQUIRE(s);
    int m1 = raw_connect_server(s), m2 = raw_connect_server(s);
    REQUIRE(m1 >= 0 && m2 >= 0);
    CHECK_EQ_STR(RAW_CMD(m1, "MONITOR"), "status:\"OK\"");
    CHECK_EQ_STR(RAW_CMD(m2, "MONITOR"), "status:\"OK\"");
    redisContext *c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = harness_connect(s);
        REQUIRE(c[i]);
    }
    for (int i = 0; i < 6; i++) cmd(c[i], "SET from%d x", i);
    char *a = monitor_lines(m1, 6), *b = monitor_lines(m2, 6);
    for (int i = 0; i < 6; i++) {
        char want[32];
        snprintf(want, sizeof want, "\"from%d\"", i);
        CHECK(strstr(a, want) != NULL);
    }
    CHECK_EQ_STR(a, b);
    free(a);
    free(b);
    char info[64];
    CHECK(harness_info(c[0], "lightning", "monitors", info, sizeof info));
    CHECK_EQ_STR(info, "2");
    raw_close(m2);
    usleep(100000);
    cmd(c[0], "SET after close");
    char *x = monitor_lines(m1, 2); /* INFO lightning, then the SET */
    CHECK(strstr(x, "\"after\"") != NULL);
    free(x);
}

/* A monitor that does not read is disconnected once its pending output
 * passes the limit (monitor_output_limit, 64 MiB); the server and the
 * writing client go on. */
/* client-output-buffer-limit's normal class bounds a monitor (Redis counts
 * monitors as normal clients there). */
TEST(monitor_bounded_by_client_output_buffer_limit) {
    harness_server *s = harness_start("client-output-buffer-limit", "normal 1mb 0 0", NULL);
    REQUIRE(s);
    int m = raw_connect_server(s);
    REQUIRE(m >= 0);
    CHECK_EQ_STR(RAW_CMD(m, "MONITOR"), "status:\"OK\"");
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    size_t n = 512 << 10;
    char *val = malloc(n + 1);
    REQUIRE(val);
    memset(val, 'v', n);
    val[n] = '\0';
    long long monitors = 1;
    /* Up to 64 MiB of lines: far past 1 MiB plus what the sockets hold,
     * far below the 64 MiB default bound. */
    for (int i = 0; i < 128 && monitors != 0; i++) {
        const char *argv[] = {"SET", "big", val};
        redisReply *r = redisCommandArgv(c, 3, argv, NULL);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        if (r) freeReplyObject(r);
        monitors = harness_info_num(c, "lightning", "monitors");
    }
    free(val);
    for (int i = 0; i < 100 && monitors != 0; i++) {
        usleep(50000);
        monitors = harness_info_num(c, "lightning", "monitors");
    }
    CHECK_EQ_INT(monitors, 0);
    raw_buf b = raw_read_until(m, 10000);
    CHECK(b.closed);
    raw_buf_free(&b);
}

TEST(monitor_that_does_not_read_is_dropped) {
    harness_server *s = harness_start("io-threads", "2", NULL);
    REQUIRE(s);
    int m = raw_connect_server(s);
    REQUIRE(m >= 0);
    CHECK_EQ_STR(RAW_CMD(m, "MONITOR"), "status:\"OK\"");
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    size_t n = 4 << 20;
    char *val = malloc(n + 1);
    memset(val, 'v', n);
    val[n] = '\0';
    for (int i = 0; i < 24; i++) {
        const char *argv[] = {"SET", "big", val};
        redisReply *r = redisCommandArgv(c, 3, argv, NULL);
        CHECK(r && r->type == REDIS_REPLY_STATUS);
        if (r) freeReplyObject(r);
    }
    free(val);
    /* Dropped: its connection ends (after what was already sent). */
    long long monitors = -1;
    for (int i = 0; i < 100 && monitors != 0; i++) {
        monitors = harness_info_num(c, "lightning", "monitors");
        if (monitors) usleep(50000);
    }
    CHECK_EQ_INT(monitors, 0);
    raw_buf b = raw_read_until(m, 10000);
    CHECK(b.closed);
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

/* ---- HTTP /metrics ---------------------------------------------------------- */

static raw_buf http_get(int port, const char *request) {
    int fd = raw_connect(port);
    raw_buf b = {0};
    if (fd < 0) return b;
    raw_sendstr(fd, request);
    b = raw_read_until(fd, 5000);
    raw_close(fd);
    return b;
}

/* http_get for a child (prometheus, the exporter) that may not listen
 * yet: a refused connection is an empty result, not a test failure. */
static raw_buf http_get_child(int port, const char *request) {
    raw_buf b = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0) return b;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
        close(fd);
        return b;
    }
    b = raw_read_until(fd, 5000);
    close(fd);
    return b;
}

/* Value of a sample line "name value" or "name{labels} value"; -1 if absent. */
static double metric(const char *text, const char *name_labels) {
    size_t n = strlen(name_labels);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name_labels, n) && p[n] == ' ') return atof(p + n + 1);
    return -1;
}

TEST(metrics_on_main_port) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    cmd(c, "SET a 1");
    cmd(c, "SET b 2");
    cmd(c, "GET a");
    cmd(c, "SELECT 2");
    cmd(c, "SET c 3");
    raw_buf b = http_get(s->port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    REQUIRE(b.data);
    CHECK(!strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17));
    CHECK(strstr(b.data, "Content-Type: text/plain; version=0.0.4") != NULL);
    CHECK(b.closed);
    const char *body = strstr(b.data, "\r\n\r\n");
    REQUIRE(body);
    body += 4;
    const char *cl = strstr(b.data, "Content-Length: ");
    REQUIRE(cl);
    CHECK_EQ_INT(atol(cl + 16), (long)strlen(body));
    CHECK_EQ_INT((long)metric(body, "redis_up"), 1);
    CHECK_EQ_INT((long)metric(body, "redis_commands_total{cmd=\"set\"}"), 3);
    CHECK_EQ_INT((long)metric(body, "redis_commands_total{cmd=\"get\"}"), 1);
    CHECK(metric(body, "redis_commands_duration_seconds_total{cmd=\"set\"}") >= 0);
    CHECK_EQ_INT((long)metric(body, "redis_db_keys{db=\"db0\"}"), 2);
    CHECK_EQ_INT((long)metric(body, "redis_db_keys{db=\"db2\"}"), 1);
    CHECK(metric(body, "redis_connected_clients") >= 1);
    CHECK(metric(body, "redis_memory_used_bytes") > 0);
    CHECK(metric(body, "redis_commands_latencies_usec_count{cmd=\"set\"}") == 3);
    /* INFO latencystats as redis_exporter's summary. */
    CHECK(strstr(body, "# TYPE redis_latency_percentiles_usec summary\n") != NULL);
    double p50 = metric(body, "redis_latency_percentiles_usec{cmd=\"set\",quantile=\"50\"}");
    double p999 = metric(body, "redis_latency_percentiles_usec{cmd=\"set\",quantile=\"99.9\"}");
    CHECK(p50 > 0 && p999 >= p50);
    CHECK_EQ_INT((long)metric(body, "redis_latency_percentiles_usec_count{cmd=\"set\"}"), 3);
    CHECK(metric(body, "redis_latency_percentiles_usec_sum{cmd=\"set\"}") >= 0);
    /* No latency-monitor event yet: no spike series. */
    CHECK(strstr(body, "redis_latency_spike_") == NULL);
    CHECK(strstr(body, "# TYPE redis_commands_total counter\n") != NULL);
    CHECK(strstr(body, "# TYPE redis_commands_latencies_usec histogram\n") != NULL);
    /* Every sample line is "name[{labels}] number". */
    int bad = 0;
    for (const char *p = body; *p; p = strchr(p, '\n') + 1) {
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        if (*p != '#') {
            const char *sp = memrchr(p, ' ', (size_t)(nl - p));
            char *end;
            if (!sp || (strtod(sp + 1, &end), end != nl)) bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    raw_buf_free(&b);
    /* With a query string, HTTP/1.0. */
    b = http_get(s->port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
    CHECK(b.data && !strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17));
    raw_buf_free(&b);
    /* Another path: Redis's behaviour (its Host: line closes the
     * connection before anything it pipelined is answered). */
    b = http_get(s->port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(b.closed && b.len == 0);
    raw_buf_free(&b);
    /* POST is still Redis's cross-protocol guard: closed, no reply. */
    b = http_get(s->port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(b.closed && b.len == 0);
    raw_buf_free(&b);
    /* Inline GET of a key named /metrics is still a Redis command. */
    int fd = raw_connect(s->port);
    raw_sendstr(fd, "GET /metrics\r\n");
    raw_buf r;
    CHECK(raw_read_reply(fd, 5000, &r) && !strcmp(r.data, "$-1\r\n"));
    raw_buf_free(&r);
    raw_close(fd);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

static int free_tcp_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}


/* The duration histograms: lightning_wal_fsync_duration_seconds (every
 * fsync of the WAL) and lightning_snapshot_write_duration_seconds (every
 * snapshot), Prometheus-shaped: cumulative buckets, +Inf == _count. */
static void check_histogram(const char *body, const char *name, double min_count) {
    char key[200], type[200];
    snprintf(type, sizeof type, "# TYPE %s histogram\n", name);
    CHECK(strstr(body, type) != NULL);
    snprintf(key, sizeof key, "%s_count", name);
    double count = metric(body, key);
    CHECK(count >= min_count);
    snprintf(key, sizeof key, "%s_bucket{le=\"+Inf\"}", name);
    CHECK(metric(body, key) == count);
    snprintf(key, sizeof key, "%s_sum", name);
    CHECK(metric(body, key) >= 0);
    /* Buckets never decrease. */
    snprintf(key, sizeof key, "%s_bucket{le=\"", name);
    double prev = 0;
    int nb = 0;
    for (const char *p = strstr(body, key); p; p = strstr(p + 1, key)) {
        const char *sp = strchr(p, ' ');
        double v = atof(sp + 1);
        CHECK(v >= prev);
        prev = v;
        nb++;
    }
    CHECK(nb >= 5);
}

TEST(metrics_duration_histograms) {
    harness_server *s = harness_start("appendfsync", "always", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    for (int i = 0; i < 5; i++) CHECK_EQ_STR(cmd(c, "SET k%d v", i), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SAVE"), "status:\"OK\"");
    raw_buf b = http_get(s->port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    REQUIRE(b.data);
    const char *body = strstr(b.data, "\r\n\r\n");
    REQUIRE(body);
    check_histogram(body, "lightning_wal_fsync_duration_seconds", 1);
    check_histogram(body, "lightning_snapshot_write_duration_seconds", 1);
    raw_buf_free(&b);
}

/* INFO executable as Redis: argv[0] made absolute against the working
 * directory, not resolved: started through a symbolic link, the link's
 * path (not /proc/self/exe, which is the target, and says "(deleted)"
 * once the binary is rebuilt). */
TEST(info_executable_like_redis) {
    char real[PATH_MAX], dir[] = "/tmp/lt-exe-XXXXXX", link[PATH_MAX];
    REQUIRE(realpath(harness_bin(HARNESS_LIGHTNING), real));
    REQUIRE(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/lt-link-server", dir);
    REQUIRE(symlink(real, link) == 0);
    const char *old = getenv("LIGHTNING_BIN");
    char *saved = old ? strdup(old) : NULL;
    setenv("LIGHTNING_BIN", link, 1);
    harness_server *s = harness_start(NULL);
    if (saved) setenv("LIGHTNING_BIN", saved, 1);
    else unsetenv("LIGHTNING_BIN");
    free(saved);
    if (s) {
        redisContext *c = harness_connect(s);
        redisReply *r = c ? redisCommand(c, "INFO server") : NULL;
        const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "\r\nexecutable:") : NULL;
        CHECK(p != NULL);
        if (p) {
            p += 13;
            char exe[PATH_MAX];
            snprintf(exe, sizeof exe, "%.*s", (int)strcspn(p, "\r"), p);
            CHECK_EQ_STR(exe, link);
        }
        if (r) freeReplyObject(r);
        harness_stop(s);
    }
    CHECK(s != NULL);
    unlink(link);
    rmdir(dir);
}

/* aof-fsync-always: under appendfsync always a client's reply waits for
 * the WAL's fsync, which the latency monitor reports as Redis does for its
 * main thread's fsync. A slow disk is simulated (every fsync 20 ms). */
TEST(latency_aof_fsync_always) {
    harness_server *s = harness_start("appendfsync", "always", "latency-monitor-threshold", "5",
                                      "enable-debug-command", "yes", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET a 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "DEBUG WAL-FAIL slow-fsync"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET a 2"), "status:\"OK\"");
    redisReply *r = redisCommand(c, "LATENCY LATEST");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
    int found = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 4 &&
            !strcmp(e->element[0]->str, "aof-fsync-always")) {
            found = 1;
            CHECK(e->element[2]->integer >= 20); /* latest, ms */
            CHECK(e->element[3]->integer >= 20); /* max */
        }
    }
    freeReplyObject(r);
    CHECK(found);
    r = redisCommand(c, "LATENCY HISTORY aof-fsync-always");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
    if (r) freeReplyObject(r);
    /* In /metrics as redis_exporter shows LATENCY LATEST. */
    raw_buf b = http_get(s->port, "GET /metrics HTTP/1.1\r\n\r\n");
    REQUIRE(b.data);
    CHECK(metric(b.data, "redis_latency_spike_duration_seconds{event_name=\"aof-fsync-always\"}") >=
          0.02);
    CHECK(metric(b.data, "redis_latency_spike_last{event_name=\"aof-fsync-always\"}") > 1.6e9);
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(c, "DEBUG WAL-FAIL none"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "DEBUG WAL-FAIL slow"),
                 "err:\"ERR DEBUG WAL-FAIL mode must be none, write, fsync or slow-fsync\"");
}

TEST(metrics_port) {
    int mport = free_tcp_port();
    REQUIRE(mport > 0);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", mport);
    harness_server *s = harness_start("metrics-port", ps, NULL);
    REQUIRE(s);
    raw_buf b = http_get(mport, "GET /metrics HTTP/1.1\r\n\r\n");
    CHECK(b.data && !strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17) && strstr(b.data, "\nredis_up 1\n"));
    raw_buf_free(&b);
    /* Another path: 404; RESP is not served there. */
    b = http_get(mport, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(b.data && !strncmp(b.data, "HTTP/1.1 404 Not Found\r\n", 24) && b.closed);
    raw_buf_free(&b);
    b = http_get(mport, "*1\r\n$4\r\nPING\r\n");
    CHECK(b.closed && b.len == 0);
    raw_buf_free(&b);
    redisContext *c = harness_connect(s);
    char want[64];
    snprintf(want, sizeof want, "array[bulk:\"metrics-port\",bulk:\"%d\"]", mport);
    CHECK_EQ_STR(cmd(c, "CONFIG GET metrics-port"), want);
}

/* Oversized and slow HTTP requests are bounded like any client: on the
 * main port a request line without its newline past 64 KiB gets Redis's
 * inline-size error and the close (redis-server 7.0.15 answers the same),
 * on metrics-port past METRICS_MAX_LINE a close; a half-sent request is
 * closed by `timeout` on both ports; metrics-port connections count
 * against maxclients. */
TEST(http_requests_are_bounded) {
    int mport = free_tcp_port();
    REQUIRE(mport > 0);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", mport);
    harness_server *s = harness_start("metrics-port", ps, "timeout", "1", "maxclients", "4", NULL);
    REQUIRE(s);
    size_t big = 70000;
    char *req = malloc(big + 1);
    REQUIRE(req);
    memcpy(req, "GET /metrics", 12);
    memset(req + 12, 'a', big - 12);
    req[big] = '\0';
    raw_buf b = http_get(s->port, req);
    CHECK(b.closed && b.data && !strcmp(b.data, "-ERR Protocol error: too big inline request\r\n"));
    raw_buf_free(&b);
    /* A request line longer than METRICS_MAX_LINE on metrics-port. */
    req[9000] = '\0';
    b = http_get(mport, req);
    CHECK(b.closed && b.len == 0);
    raw_buf_free(&b);
    free(req);
    /* Half a request line, then nothing: `timeout` closes both. */
    int ports[2] = {s->port, mport};
    for (int i = 0; i < 2; i++) {
        int fd = raw_connect(ports[i]);
        REQUIRE(fd >= 0);
        raw_sendstr(fd, "GET /metr");
        raw_buf r = raw_read_until(fd, 15000);
        CHECK(r.closed && !r.timed_out && r.len == 0);
        raw_buf_free(&r);
        raw_close(fd);
    }
    /* maxclients 4: the fifth connection, on either port, is refused. */
    int fds[4];
    for (int i = 0; i < 4; i++) fds[i] = raw_connect(i % 2 ? mport : s->port);
    for (int i = 0; i < 4; i++) CHECK(fds[i] >= 0);
    raw_sendstr(fds[0], "PING\r\n");
    raw_buf r;
    CHECK(raw_read_reply(fds[0], 5000, &r) && !strcmp(r.data, "+PONG\r\n"));
    raw_buf_free(&r);
    b = http_get(mport, "GET /metrics HTTP/1.1\r\n\r\n");
    CHECK(b.closed && b.data && !strcmp(b.data, "-ERR max number of clients reached\r\n"));
    raw_buf_free(&b);
    for (int i = 0; i < 4; i++) raw_close(fds[i]);
}

/* ---- real Prometheus and redis_exporter ---------------------------------- */

static pid_t spawn(const char *const *argv, const char *logpath) {
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(logpath, "w", stdout);
        (void)f;
        dup2(1, 2);
        setpgid(0, 0);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static void reap(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static pid_t child_pid;
static char child_dir[256];

static void child_cleanup(void) {
    reap(child_pid);
    child_pid = 0;
    if (child_dir[0]) {
        char rm[300];
        snprintf(rm, sizeof rm, "rm -rf '%s'", child_dir);
        if (system(rm) != 0) { /* best effort */ }
        child_dir[0] = '\0';
    }
}

static void prometheus_scrapes_body(void) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    int pport = free_tcp_port();
    REQUIRE(pport > 0);
    snprintf(child_dir, sizeof child_dir, "/tmp/lt-prom-XXXXXX");
    REQUIRE(mkdtemp(child_dir));
    char cfg[300], log[300], data[300], listen[64];
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", child_dir);
    snprintf(log, sizeof log, "%s/prometheus.log", child_dir);
    snprintf(data, sizeof data, "--storage.tsdb.path=%s/data", child_dir);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", pport);
    FILE *f = fopen(cfg, "w");
    REQUIRE(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: lightning\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            s->port);
    fclose(f);
    char cfgarg[320];
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
    const char *argv[] = {"/usr/bin/prometheus", cfgarg, data, listen, NULL};
    child_pid = spawn(argv, log);
    REQUIRE(child_pid > 0);
    /* Poll the query API (bounded): up{job="lightning"} and a Lightning series. */
    int up = 0, series = 0, hist = 0;
    for (int i = 0; i < 120 && !(up && series && hist); i++) {
        usleep(250000);
        char req[256];
        if (!up) {
            snprintf(req, sizeof req, "GET /api/v1/query?query=up HTTP/1.0\r\n\r\n");
            raw_buf b = http_get_child(pport, req);
            if (b.data && strstr(b.data, "\"job\":\"lightning\"") && strstr(b.data, ",\"1\"]"))
                up = 1;
            raw_buf_free(&b);
        } else if (!series) {
            snprintf(req, sizeof req,
                     "GET /api/v1/query?query=redis_commands_total HTTP/1.0\r\n\r\n");
            raw_buf b = http_get_child(pport, req);
            if (b.data && strstr(b.data, "\"cmd\":\"ping\"")) series = 1;
            raw_buf_free(&b);
        } else {
            /* The duration histogram parsed as one: its +Inf bucket. */
            snprintf(req, sizeof req,
                     "GET /api/v1/query?query=lightning_snapshot_write_duration_seconds_bucket "
                     "HTTP/1.0\r\n\r\n");
            raw_buf b = http_get_child(pport, req);
            if (b.data && strstr(b.data, "\"le\":\"+Inf\"")) hist = 1;
            raw_buf_free(&b);
        }
    }
    if (!up || !series || !hist) {
        char tail[400];
        snprintf(tail, sizeof tail, "tail -5 '%s' >&2", log);
        if (system(tail) != 0) { /* best effort */ }
    }
    CHECK(up);
    CHECK(series);
    CHECK(hist);
}

TEST(prometheus_scrapes_lightning) {
    if (access("/usr/bin/prometheus", X_OK) != 0) {
        testlib_skip("prometheus not installed (deps/install.sh installs it)");
        return;
    }
    prometheus_scrapes_body();
    child_cleanup();
}

/* Starts prometheus-redis-exporter against port and returns its /metrics
 * (malloc'd) once it has scraped, or NULL (a failure). */
static char *exporter_scrape(int port) {
    int eport = free_tcp_port();
    if (eport <= 0) return NULL;
    snprintf(child_dir, sizeof child_dir, "/tmp/lt-exporter-XXXXXX");
    if (!mkdtemp(child_dir)) return NULL;
    char log[300], addr[64], listen[64];
    snprintf(log, sizeof log, "%s/exporter.log", child_dir);
    snprintf(addr, sizeof addr, "--redis.addr=redis://127.0.0.1:%d", port);
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", eport);
    const char *argv[] = {"/usr/bin/prometheus-redis-exporter", addr, listen, NULL};
    child_pid = spawn(argv, log);
    if (child_pid <= 0) return NULL;
    char *body = NULL;
    for (int i = 0; i < 80 && !body; i++) {
        usleep(250000);
        raw_buf b = http_get_child(eport, "GET /metrics HTTP/1.0\r\n\r\n");
        if (b.data && strstr(b.data, "\nredis_up ")) body = strdup(b.data);
        raw_buf_free(&b);
    }
    return body;
}

/* In cluster mode /metrics has CLUSTER INFO's figures under the names
 * redis_exporter gives them (it adds them when INFO says cluster_enabled:1),
 * with the values CLUSTER INFO reports. */
TEST(cluster_metrics) {
    char cport[16];
    snprintf(cport, sizeof cport, "%d", free_tcp_port());
    harness_server *s = harness_start("cluster-enabled", "yes", "cluster-port", cport, NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CLUSTER ADDSLOTSRANGE 0 99"), "status:\"OK\"");
    redisReply *r = redisCommand(c, "CLUSTER INFO");
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    char *info = strdup(r->str);
    freeReplyObject(r);
    raw_buf b = http_get(s->port, "GET /metrics HTTP/1.1\r\n\r\n");
    REQUIRE(b.data);
    static const char *const fields[] = {"slots_assigned", "slots_ok", "slots_pfail", "slots_fail",
                                         "known_nodes", "size", "current_epoch", "my_epoch"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char key[64], name[80];
        snprintf(key, sizeof key, "\ncluster_%s:", fields[i]);
        snprintf(name, sizeof name, "redis_cluster_%s", fields[i]);
        const char *p = strstr(info, key);
        CHECK(p != NULL);
        if (p) CHECK_EQ_INT((long)metric(b.data, name), atol(p + strlen(key)));
    }
    CHECK_EQ_INT((long)metric(b.data, "redis_cluster_slots_assigned"), 100);
    CHECK_EQ_INT((long)metric(b.data, "redis_cluster_state"), strstr(info, "cluster_state:ok") != NULL);
    CHECK(metric(b.data, "redis_cluster_messages_sent_total") >= 0);
    CHECK_EQ_INT((long)metric(b.data, "redis_cluster_enabled"), 1);
    if (access("/usr/bin/prometheus-redis-exporter", X_OK) == 0) {
        char *body = exporter_scrape(s->port);
        CHECK(body != NULL);
        /* Every redis_cluster_* series the exporter shows, /metrics shows. */
        for (const char *p = body; p && (p = strstr(p, "\nredis_cluster_")); p++) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 1, " {\n"), p + 1);
            if (metric(b.data, name) < 0) fprintf(stderr, "# missing: %s\n", name);
            CHECK(metric(b.data, name) >= 0);
        }
        free(body);
        child_cleanup();
    }
    raw_buf_free(&b);
    free(info);
}

static void exporter_body(void) {
    harness_server *s = harness_start(NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    cmd(c, "SET k v");
    char *body = exporter_scrape(s->port);
    if (!body && child_dir[0]) {
        char tail[400];
        snprintf(tail, sizeof tail, "tail -5 '%s/exporter.log' >&2", child_dir);
        if (system(tail) != 0) { /* best effort */ }
    }
    REQUIRE(body);
    CHECK_EQ_INT((long)metric(body, "redis_up"), 1);
    CHECK(metric(body, "redis_connected_clients") >= 1);
    CHECK(metric(body, "redis_commands_total{cmd=\"set\"}") >= 1);
    CHECK(metric(body, "redis_db_keys{db=\"db0\"}") == 1);
    CHECK(metric(body, "redis_memory_used_bytes") > 0);
    CHECK(metric(body, "redis_uptime_in_seconds") >= 0);
    /* Lightning's own /metrics has these series under the exporter's names
     * (so one dashboard fits both). */
    static const char *const same[] = {
        "redis_commands_total{cmd=\"set\"}", "redis_db_keys{db=\"db0\"}",
        "redis_latency_percentiles_usec_count{cmd=\"set\"}",
        "redis_latency_percentiles_usec{cmd=\"set\",quantile=\"99.9\"}",
        "redis_connected_clients", "redis_memory_used_bytes", "redis_keyspace_misses_total",
        "redis_mem_fragmentation_ratio", "redis_slowlog_length"};
    raw_buf own = http_get(s->port, "GET /metrics HTTP/1.0\r\n\r\n");
    REQUIRE(own.data);
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (metric(body, same[i]) < 0 || metric(own.data, same[i]) < 0)
            fprintf(stderr, "# not in both: %s\n", same[i]);
        CHECK(metric(body, same[i]) >= 0 && metric(own.data, same[i]) >= 0);
    }
    /* Every metric name the exporter derives from Lightning's replies is in
     * /metrics too (not its own redis_exporter_* / scrape bookkeeping). */
    for (const char *p = body; p && (p = strstr(p, "\nredis_")); p++) {
        char name[160], line[176];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 1, " {\n"), p + 1);
        if (!strncmp(name, "redis_exporter_", 15) || !strncmp(name, "redis_target_scrape", 19) ||
            !strncmp(name, "redis_last_key_groups", 21))
            continue;
        snprintf(line, sizeof line, "\n%s", name);
        const char *q = strstr(own.data, line);
        int found = 0;
        for (; q && !found; q = strstr(q + 1, line)) {
            char after = q[strlen(line)];
            found = after == ' ' || after == '{';
        }
        if (!found) fprintf(stderr, "# not in /metrics: %s\n", name);
        CHECK(found);
    }
    raw_buf_free(&own);
    if (metric(body, "redis_up") != 1) {
        char tail[400];
        snprintf(tail, sizeof tail, "tail -5 '%s/exporter.log' >&2", child_dir);
        if (system(tail) != 0) { /* best effort */ }
    }
    free(body);
}

TEST(redis_exporter_against_lightning) {
    if (access("/usr/bin/prometheus-redis-exporter", X_OK) != 0) {
        testlib_skip("prometheus-redis-exporter not installed (deps/install.sh installs it)");
        return;
    }
    exporter_body();
    child_cleanup();
}

int main(void) {
    RUN(slowlog_entries_like_redis);
    RUN(slowlog_redaction_and_blocked_like_redis);
    RUN(slowlog_across_io_threads);
    RUN(latency_monitor_like_redis);
    RUN(latency_tracking_like_redis);
    RUN(monitor_like_redis);
    RUN(monitor_scripts);
    RUN(monitor_across_io_threads);
    RUN(monitor_that_does_not_read_is_dropped);
    RUN(monitor_bounded_by_client_output_buffer_limit);
    RUN(metrics_on_main_port);
    RUN(metrics_duration_histograms);
    RUN(info_executable_like_redis);
    RUN(latency_aof_fsync_always);
    RUN(metrics_port);
    RUN(http_requests_are_bounded);
    RUN(prometheus_scrapes_lightning);
    RUN(redis_exporter_against_lightning);
    RUN(cluster_metrics);
    return testlib_finish();
}
