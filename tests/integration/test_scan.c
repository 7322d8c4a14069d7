/*
 * SCAN against a real redis-server 7.0: cursor parsing and option errors,
 * full iterations (every key present for the whole iteration is returned,
 * also while another connection keeps adding keys and the tables grow),
 * MATCH / COUNT / TYPE filters, expired keys skipped, and the real
 * `redis-cli --scan --pattern` printing the same set from both servers.
 * Cursor values are the servers' own business and are never compared.
 */
#include "../harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

typedef struct pair {
    harness_server *ls, *rs;
    redisContext *l, *r;
} pair;

static pair start_pair(void) {
    pair p = {0};
    p.ls = harness_start(NULL);
    p.rs = harness_start_redis(NULL);
    if (!p.ls) return p;
    p.l = harness_connect(p.ls);
    p.r = harness_connect(p.rs);
    return p;
}

#define EXPECT(p, want, ...) CHECK_EQ_STR(COMPARE((p).l, (p).r, __VA_ARGS__), want)

/* Sends n commands "SET <prefix><i> v" (i from first), pipelined. */
static int fill(redisContext *c, const char *prefix, int first, int n) {
    for (int i = first; i < first + n; i++) redisAppendCommand(c, "SET %s%d v", prefix, i);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* Which of the keys "<prefix><i>", 0 <= i < n, an iteration returned. */
typedef struct seen_set {
    const char *prefix;
    int n;
    unsigned char *seen;
    long long other;   /* replies that are not one of those keys */
    long long calls;
} seen_set;

static void seen_add(seen_set *s, const char *key, size_t len) {
    size_t plen = strlen(s->prefix);
    char digits[24];
    if (len > plen && len - plen < sizeof digits && !memcmp(key, s->prefix, plen)) {
        memcpy(digits, key + plen, len - plen);
        digits[len - plen] = '\0';
        char *end;
        long i = strtol(digits, &end, 10);
        if (*end == '\0' && i >= 0 && i < s->n) {
            s->seen[i] = 1;
            return;
        }
    }
    s->other++;
}

static int seen_count(const seen_set *s) {
    int k = 0;
    for (int i = 0; i < s->n; i++) k += s->seen[i];
    return k;
}

/* Full SCAN iteration with extra options (NULL-terminated, may be empty);
 * between steps calls between(ctx) if set. Returns 0, or -1 on a bad reply. */
static int scan_all(redisContext *c, const char *const *opts, seen_set *s,
                    void (*between)(void *), void *ctx) {
    char cursor[32] = "0";
    const char *argv[16] = {"SCAN", cursor};
    int argc = 2;
    for (int i = 0; opts[i] && argc < 15; i++) argv[argc++] = opts[i];
    do {
        redisReply *r = redisCommandArgv(c, argc, argv, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r) freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            seen_add(s, r->element[1]->element[i]->str, r->element[1]->element[i]->len);
        freeReplyObject(r);
        s->calls++;
        if (between) between(ctx);
    } while (strcmp(cursor, "0") != 0 && s->calls < 10000000);
    return 0;
}

TEST(errors) {
    pair p = start_pair();
    REQUIRE(p.l);
    const char *bad = "err:\"ERR invalid cursor\"";
    EXPECT(p, bad, "SCAN", "x");
    EXPECT(p, bad, "SCAN", " 1");
    EXPECT(p, bad, "SCAN", "1 ");
    EXPECT(p, bad, "SCAN", "-");
    EXPECT(p, bad, "SCAN", "+");
    EXPECT(p, bad, "SCAN", "0x10");
    EXPECT(p, bad, "SCAN", "1.0");
    EXPECT(p, bad, "SCAN", "99999999999999999999999");
    EXPECT(p, bad, "SCAN", "-99999999999999999999999");
    EXPECT(p, "array[bulk:\"0\",array[]]", "SCAN", "");
    EXPECT(p, "array[bulk:\"0\",array[]]", "SCAN", "+0");
    EXPECT(p, "array[bulk:\"0\",array[]]", "SCAN", "000000000000000000000000000000000");
    EXPECT(p, "array[bulk:\"0\",array[]]", "SCAN", "0");
    EXPECT(p, "err:\"ERR syntax error\"", "SCAN", "0", "COUNT", "0");
    EXPECT(p, "err:\"ERR syntax error\"", "SCAN", "0", "COUNT", "-1");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"", "SCAN", "0", "COUNT", "x");
    EXPECT(p, "err:\"ERR value is not an integer or out of range\"",
           "SCAN", "0", "COUNT", "9223372036854775808");
    EXPECT(p, "err:\"ERR syntax error\"", "SCAN", "0", "MATCH");
    EXPECT(p, "err:\"ERR syntax error\"", "SCAN", "0", "TYPE", "string", "foo");
    EXPECT(p, "err:\"ERR syntax error\"", "SCAN", "0", "foo", "bar");
    /* The cursor is checked before the options. */
    EXPECT(p, bad, "SCAN", "x", "COUNT", "0");
    EXPECT(p, "err:\"ERR wrong number of arguments for 'scan' command\"", "SCAN");
}

TEST(small_db_exact) {
    pair p = start_pair();
    REQUIRE(p.l);
    EXPECT(p, "status:\"OK\"", "SET", "a", "1");
    EXPECT(p, "status:\"OK\"", "SET", "b", "2");
    EXPECT(p, "status:\"OK\"", "SET", "c", "3", "PX", "20");
    harness_sleep_ms(60);
    /* One call with a large COUNT sees the whole small table (in either
     * order). */
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        const char *all = cmd(cs[i], "SCAN 0 COUNT 1000");
        if (strcmp(all, "array[bulk:\"0\",array[bulk:\"a\",bulk:\"b\"]]") != 0 &&
            strcmp(all, "array[bulk:\"0\",array[bulk:\"b\",bulk:\"a\"]]") != 0)
            testlib_fail(__FILE__, __LINE__, "%s: SCAN 0 COUNT 1000 gave %s",
                         i ? "redis" : "lightning", all);
    }
    CHECK_EQ_STR(COMPARE(p.l, p.r, "SCAN", "0", "COUNT", "1000", "MATCH", "a"),
                 "array[bulk:\"0\",array[bulk:\"a\"]]");
    CHECK_EQ_STR(COMPARE(p.l, p.r, "SCAN", "0", "COUNT", "1000", "MATCH", "z*"),
                 "array[bulk:\"0\",array[]]");
    CHECK_EQ_STR(COMPARE(p.l, p.r, "SCAN", "0", "COUNT", "1000", "TYPE", "hash"),
                 "array[bulk:\"0\",array[]]");
    CHECK_EQ_STR(COMPARE(p.l, p.r, "SCAN", "0", "COUNT", "1000", "TYPE", "STRING", "MATCH", "b"),
                 "array[bulk:\"0\",array[bulk:\"b\"]]");
    CHECK_EQ_STR(COMPARE(p.l, p.r, "SCAN", "0", "COUNT", "9223372036854775807", "MATCH", "a"),
                 "array[bulk:\"0\",array[bulk:\"a\"]]");
    /* Another database. */
    EXPECT(p, "status:\"OK\"", "SELECT", "5");
    EXPECT(p, "array[bulk:\"0\",array[]]", "SCAN", "0", "COUNT", "1000");
}

TEST(full_iteration_5000) {
    pair p = start_pair();
    REQUIRE(p.l);
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        REQUIRE(fill(cs[i], "k", 0, 5000) == 0);
        unsigned char seen[5000] = {0};
        seen_set s = {.prefix = "k", .n = 5000, .seen = seen};
        REQUIRE(scan_all(cs[i], (const char *const[]){NULL}, &s, NULL, NULL) == 0);
        CHECK_EQ_INT(seen_count(&s), 5000);
        CHECK_EQ_INT(s.other, 0);
        /* Default COUNT 10: many calls, not one. */
        CHECK(s.calls > 100);

        /* MATCH k1*: k1, k10-k19, k100-k199, k1000-k1999. */
        memset(seen, 0, sizeof seen);
        seen_set m = {.prefix = "k", .n = 5000, .seen = seen};
        REQUIRE(scan_all(cs[i], (const char *const[]){"MATCH", "k1*", "COUNT", "100", NULL},
                         &m, NULL, NULL) == 0);
        CHECK_EQ_INT(seen_count(&m), 1 + 10 + 100 + 1000);
        for (int k = 0; k < 5000; k++) {
            char name[16];
            snprintf(name, sizeof name, "%d", k);
            if (seen[k] != (name[0] == '1')) {
                testlib_fail(__FILE__, __LINE__, "k%d returned: %d", k, seen[k]);
                break;
            }
        }
        /* TYPE string returns all, another type none. */
        memset(seen, 0, sizeof seen);
        seen_set t = {.prefix = "k", .n = 5000, .seen = seen};
        REQUIRE(scan_all(cs[i], (const char *const[]){"TYPE", "string", "COUNT", "500", NULL},
                         &t, NULL, NULL) == 0);
        CHECK_EQ_INT(seen_count(&t), 5000);
        memset(seen, 0, sizeof seen);
        seen_set z = {.prefix = "k", .n = 5000, .seen = seen};
        REQUIRE(scan_all(cs[i], (const char *const[]){"TYPE", "list", NULL}, &z, NULL, NULL) == 0);
        CHECK_EQ_INT(seen_count(&z) + z.other, 0);
    }
}

/* Adds keys from a second connection between SCAN steps (same thread:
 * deterministic interleaving), making the tables grow mid-iteration. */
typedef struct adder {
    redisContext *c;
    int next;
} adder;

static void add_some(void *ctx) {
    adder *a = ctx;
    if (a->next >= 30000) return;
    if (fill(a->c, "new", a->next, 50) != 0) testlib_fail(__FILE__, __LINE__, "add failed");
    a->next += 50;
}

TEST(iteration_while_adding) {
    pair p = start_pair();
    REQUIRE(p.l);
    harness_server *ss[2] = {p.ls, p.rs};
    redisContext *cs[2] = {p.l, p.r};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        REQUIRE(fill(cs[i], "k", 0, 5000) == 0);
        adder a = {.c = harness_connect(ss[i])};
        REQUIRE(a.c);
        unsigned char seen[5000] = {0};
        seen_set s = {.prefix = "k", .n = 5000, .seen = seen};
        REQUIRE(scan_all(cs[i], (const char *const[]){"COUNT", "20", NULL}, &s, add_some, &a) == 0);
        CHECK_EQ_INT(seen_count(&s), 5000);
        CHECK(a.next > 5000); /* the db really grew during the iteration */
    }
}

/* The same from a thread writing as fast as it can (real concurrency). */
typedef struct writer {
    int port;
    volatile int stop;
    int failed;
} writer;

static void *writer_main(void *arg) {
    writer *w = arg;
    redisContext *c = redisConnect("127.0.0.1", w->port);
    if (!c || c->err) {
        w->failed = 1;
        if (c) redisFree(c);
        return NULL;
    }
    for (int next = 0; !w->stop && next < 200000; next += 100)
        if (fill(c, "w", next, 100) != 0) {
            w->failed = 1;
            break;
        }
    redisFree(c);
    return NULL;
}

TEST(iteration_with_concurrent_writer) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    REQUIRE(fill(c, "k", 0, 5000) == 0);
    writer w = {.port = l->port};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, writer_main, &w) == 0);
    unsigned char seen[5000] = {0};
    seen_set s = {.prefix = "k", .n = 5000, .seen = seen};
    int rc = scan_all(c, (const char *const[]){"COUNT", "10", NULL}, &s, NULL, NULL);
    w.stop = 1;
    pthread_join(th, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(w.failed, 0);
    CHECK_EQ_INT(seen_count(&s), 5000);
    long long size = 0;
    sscanf(cmd(c, "DBSIZE"), "int:%lld", &size);
    CHECK(size > 5000); /* the writer did write during the iteration */
}

/* Output lines of `redis-cli --scan <args>` against s, sorted, joined by
 * '\n' (malloc'd), or NULL when s is NULL. */
static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}
static char *cli_scan_sorted(harness_server *s, const char *const *args) {
    if (!s) return NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char *argv[16] = {"redis-cli", "-h", "127.0.0.1", "-p", port, "--scan"};
    int n = 6;
    for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 20000, &out, &timed_out);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || timed_out) {
        testlib_fail(__FILE__, __LINE__, "redis-cli --scan failed: %s", out ? out : "");
        free(out);
        return strdup("");
    }
    size_t cap = 16, cnt = 0;
    char **lines = malloc(cap * sizeof(*lines));
    char *save = NULL;
    for (char *t = strtok_r(out, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        if (cnt == cap) lines = realloc(lines, (cap *= 2) * sizeof(*lines));
        lines[cnt++] = t;
    }
    qsort(lines, cnt, sizeof(*lines), cmp_line);
    size_t total = 1;
    for (size_t i = 0; i < cnt; i++) total += strlen(lines[i]) + 1;
    char *res = calloc(1, total);
    for (size_t i = 0; i < cnt; i++) {
        strcat(res, lines[i]);
        strcat(res, "\n");
    }
    free(lines);
    free(out);
    return res;
}

TEST(redis_cli_scan_pattern) {
    pair p = start_pair();
    REQUIRE(p.l);
    REQUIRE(fill(p.l, "k", 0, 3000) == 0);
    if (p.r) REQUIRE(fill(p.r, "k", 0, 3000) == 0);
    char *l = cli_scan_sorted(p.ls, (const char *const[]){"--pattern", "k1*", NULL});
    char *r = cli_scan_sorted(p.rs, (const char *const[]){"--pattern", "k1*", NULL});
    REQUIRE(l);
    /* k1, k10..k19, k100..k199, k1000..k1999 */
    int lines = 0;
    for (char *q = l; *q; q++) lines += *q == '\n';
    CHECK_EQ_INT(lines, 1111);
    if (r) CHECK(strcmp(l, r) == 0);
    free(l);
    free(r);
    l = cli_scan_sorted(p.ls, (const char *const[]){"--pattern", "k2?9", NULL});
    r = cli_scan_sorted(p.rs, (const char *const[]){"--pattern", "k2?9", NULL});
    CHECK_EQ_STR(l, "k209\nk219\nk229\nk239\nk249\nk259\nk269\nk279\nk289\nk299\n");
    if (r) CHECK_EQ_STR(l, r);
    free(l);
    free(r);
}

int main(void) {
    RUN(errors);
    RUN(small_db_exact);
    RUN(full_iteration_5000);
    RUN(iteration_while_adding);
    RUN(iteration_with_concurrent_writer);
    RUN(redis_cli_scan_pattern);
    return testlib_finish();
}
