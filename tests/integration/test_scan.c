/*
 * SCAN against a real redis-server 7.0: cursor parsing and option errors,
 * full iterations (every key present for the whole iteration is returned,
 * also while another connection keeps adding keys and the tables grow),
 * MATCH / COUNT / TYPE filters, expired keys skipped, and the real
 * `redis-cli --scan --pattern` printing the same set from both servers.
 * Cursor values are the servers' own business and are never compared.
 */
#include "../difftest.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

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
    REQUIRE(difftest_start(NULL));
    const char *bad = "err:\"ERR invalid cursor\"";
    EXPECT(bad, "SCAN", "x");
    EXPECT(bad, "SCAN", " 1");
    EXPECT(bad, "SCAN", "1 ");
    EXPECT(bad, "SCAN", "-");
    EXPECT(bad, "SCAN", "+");
    EXPECT(bad, "SCAN", "0x10");
    EXPECT(bad, "SCAN", "1.0");
    EXPECT(bad, "SCAN", "99999999999999999999999");
    EXPECT(bad, "SCAN", "-99999999999999999999999");
    EXPECT("array[bulk:\"0\",array[]]", "SCAN", "");
    EXPECT("array[bulk:\"0\",array[]]", "SCAN", "+0");
    EXPECT("array[bulk:\"0\",array[]]", "SCAN", "000000000000000000000000000000000");
    EXPECT("array[bulk:\"0\",array[]]", "SCAN", "0");
    EXPECT(SYNTAX, "SCAN", "0", "COUNT", "0");
    EXPECT(SYNTAX, "SCAN", "0", "COUNT", "-1");
    EXPECT(NOTINT, "SCAN", "0", "COUNT", "x");
    EXPECT(NOTINT,
           "SCAN", "0", "COUNT", "9223372036854775808");
    EXPECT(SYNTAX, "SCAN", "0", "MATCH");
    EXPECT(SYNTAX, "SCAN", "0", "TYPE", "string", "foo");
    EXPECT(SYNTAX, "SCAN", "0", "foo", "bar");
    /* The cursor is checked before the options. */
    EXPECT(bad, "SCAN", "x", "COUNT", "0");
    EXPECT("err:\"ERR wrong number of arguments for 'scan' command\"", "SCAN");
}

TEST(small_db_exact) {
    REQUIRE(difftest_start(NULL));
    EXPECT("status:\"OK\"", "SET", "a", "1");
    EXPECT("status:\"OK\"", "SET", "b", "2");
    EXPECT("status:\"OK\"", "SET", "c", "3", "PX", "20");
    harness_sleep_ms(60);
    /* One call with a large COUNT sees the whole small table (in either
     * order). */
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        const char *all = cmd(cs[i], "SCAN 0 COUNT 1000");
        if (strcmp(all, "array[bulk:\"0\",array[bulk:\"a\",bulk:\"b\"]]") != 0 &&
            strcmp(all, "array[bulk:\"0\",array[bulk:\"b\",bulk:\"a\"]]") != 0)
            testlib_fail(__FILE__, __LINE__, "%s: SCAN 0 COUNT 1000 gave %s",
                         i ? "redis" : "lightning", all);
    }
    CHECK_EQ_STR(C("SCAN", "0", "COUNT", "1000", "MATCH", "a"),
                 "array[bulk:\"0\",array[bulk:\"a\"]]");
    CHECK_EQ_STR(C("SCAN", "0", "COUNT", "1000", "MATCH", "z*"),
                 "array[bulk:\"0\",array[]]");
    CHECK_EQ_STR(C("SCAN", "0", "COUNT", "1000", "TYPE", "hash"),
                 "array[bulk:\"0\",array[]]");
    CHECK_EQ_STR(C("SCAN", "0", "COUNT", "1000", "TYPE", "STRING", "MATCH", "b"),
                 "array[bulk:\"0\",array[bulk:\"b\"]]");
    CHECK_EQ_STR(C("SCAN", "0", "COUNT", "9223372036854775807", "MATCH", "a"),
                 "array[bulk:\"0\",array[bulk:\"a\"]]");
    /* Another database. */
    EXPECT("status:\"OK\"", "SELECT", "5");
    EXPECT("array[bulk:\"0\",array[]]", "SCAN", "0", "COUNT", "1000");
}

TEST(full_iteration_5000) {
    REQUIRE(difftest_start(NULL));
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        REQUIRE(harness_fill(cs[i], "k", 0, 5000) == 0);
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
    if (harness_fill(a->c, "new", a->next, 50) != 0)
        testlib_fail(__FILE__, __LINE__, "add failed");
    a->next += 50;
}

TEST(iteration_while_adding) {
    REQUIRE(difftest_start(NULL));
    harness_server *ss[2] = {LS, RS};
    redisContext *cs[2] = {L, R};
    for (int i = 0; i < 2; i++) {
        if (!cs[i]) continue;
        REQUIRE(harness_fill(cs[i], "k", 0, 5000) == 0);
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
    int stop; /* atomic */
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
    for (int next = 0; !__atomic_load_n(&w->stop, __ATOMIC_RELAXED) && next < 200000;
         next += 100)
        if (harness_fill(c, "w", next, 100) != 0) {
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
    REQUIRE(harness_fill(c, "k", 0, 5000) == 0);
    writer w = {.port = l->port};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, writer_main, &w) == 0);
    unsigned char seen[5000] = {0};
    seen_set s = {.prefix = "k", .n = 5000, .seen = seen};
    int rc = scan_all(c, (const char *const[]){"COUNT", "10", NULL}, &s, NULL, NULL);
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELAXED);
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
    char *res = harness_sort_lines(out);
    free(out);
    return res;
}

TEST(redis_cli_scan_pattern) {
    REQUIRE(difftest_start(NULL));
    REQUIRE(harness_fill(L, "k", 0, 3000) == 0);
    if (R) REQUIRE(harness_fill(R, "k", 0, 3000) == 0);
    char *l = cli_scan_sorted(LS, (const char *const[]){"--pattern", "k1*", NULL});
    char *r = cli_scan_sorted(RS, (const char *const[]){"--pattern", "k1*", NULL});
    REQUIRE(l);
    /* k1, k10..k19, k100..k199, k1000..k1999 */
    int lines = 0;
    for (char *q = l; *q; q++) lines += *q == '\n';
    CHECK_EQ_INT(lines, 1111);
    if (r) CHECK(strcmp(l, r) == 0);
    free(l);
    free(r);
    l = cli_scan_sorted(LS, (const char *const[]){"--pattern", "k2?9", NULL});
    r = cli_scan_sorted(RS, (const char *const[]){"--pattern", "k2?9", NULL});
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
