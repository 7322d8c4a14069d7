/*
 * redis-cli against Lightning (issue #2): the real client, run as a child,
 * must print exactly what it prints against redis-server, in raw mode (its
 * default when stdout is not a tty) and --no-raw, with -3 (RESP3), -n, -a;
 * `redis-cli --stat` must run and print its table, `--latency-history` its
 * samples and ranges.
 */
#include "../harness.h"

#include <stdlib.h>
#include <sys/wait.h>

static int have_cli(void) {
    char *out;
    int to;
    const char *argv[] = {"redis-cli", "--version", NULL};
    int st = harness_run_capture(argv, 5000, &out, &to);
    int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
             strstr(out, "redis-cli") != NULL;
    free(out);
    return ok;
}

#define SKIP_WITHOUT_CLI()                                                    \
    do {                                                                      \
        if (!have_cli()) {                                                    \
            testlib_skip("redis-cli not found");                              \
            return;                                                           \
        }                                                                     \
    } while (0)

/* Runs redis-cli -p PORT <args...> against s; returns its output with the
 * exit status appended as "[exit N]" (malloc'd). NULL s gives NULL. */
static char *cli(harness_server *s, const char *const *args) {
    if (!s) return NULL;
    const char *argv[32];
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    int n = 0;
    argv[n++] = "redis-cli";
    argv[n++] = "-h";
    argv[n++] = "127.0.0.1";
    argv[n++] = "-p";
    argv[n++] = port;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    char *out;
    int to;
    int st = harness_run_capture(argv, 10000, &out, &to);
    char *res = malloc(strlen(out) + 64);
    sprintf(res, "%s[exit %d%s]", out, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
            to ? ", timed out" : "");
    free(out);
    return res;
}

/* Masks the client id in HELLO output (in place), in all three forms:
 * raw "id 5", --no-raw ' 7) "id"' + ' 8) (integer) 5', RESP3
 * '"id" => (integer) 5'. */
static void mask_digits_at(char *v) {
    char *e = v;
    while (*e >= '0' && *e <= '9') e++;
    if (e > v) {
        memmove(v + 1, e, strlen(e) + 1);
        *v = '*';
    }
}
static void mask_ids(char *text) {
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, "id ", 3)) mask_digits_at(line + 3);
        char *p = strstr(line, "\"id\" => (integer) ");
        if (p && (!nl || p < nl)) mask_digits_at(p + 18);
        if (nl && nl - line >= 4 && !strncmp(nl - 4, "\"id\"", 4)) {
            char *q = strstr(nl + 1, "(integer) ");
            char *nl2 = strchr(nl + 1, '\n');
            if (q && (!nl2 || q < nl2)) mask_digits_at(q + 10);
        }
        nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
}

/* Runs the same redis-cli arguments on both servers, checks equal output
 * (after masking client ids) and returns Lightning's (valid until next). */
static const char *cli_compare(const char *file, int line, harness_server *l,
                               harness_server *r, const char *const *args) {
    static char *last;
    free(last);
    last = cli(l, args);
    mask_ids(last);
    char *ro = cli(r, args);
    if (ro) {
        mask_ids(ro);
        if (strcmp(last, ro) != 0) {
            char cmdline[256] = "";
            for (int i = 0; args[i]; i++) {
                strncat(cmdline, args[i], 200 - strlen(cmdline));
                strcat(cmdline, " ");
            }
            testlib_fail(file, line, "redis-cli %s output differs:\n"
                         "--- lightning\n%s\n--- redis\n%s", cmdline, last,
                         ro);
        }
        free(ro);
    }
    return last;
}
#define CLI(l, r, ...)                                                        \
    cli_compare(__FILE__, __LINE__, (l), (r),                                 \
                (const char *const[]){__VA_ARGS__, NULL})

TEST(basic_commands) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    CHECK_EQ_STR(CLI(l, r, "PING"), "PONG\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "ECHO", "a b"), "a b\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "SET", "k", "v"), "OK\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "GET", "k"), "v\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "--no-raw", "GET", "k"), "\"v\"\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "--no-raw", "GET", "nokey"), "(nil)\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "--no-raw", "DBSIZE"), "(integer) 1\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "--no-raw", "CONFIG", "GET", "databases"),
                 "1) \"databases\"\n2) \"16\"\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "NOSUCH", "x"),
                 "ERR unknown command 'NOSUCH', with args beginning with: "
                 "'x' \n\n[exit 0]");
    CLI(l, r, "--no-raw", "NOSUCH");
    CLI(l, r, "--no-raw", "GET");
    CHECK_EQ_STR(CLI(l, r, "-n", "3", "SET", "a", "b"), "OK\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "-n", "3", "DBSIZE"), "1\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "-n", "99", "PING"),
                 "SELECT 99 failed: ERR DB index is out of range\nPONG\n"
                 "[exit 0]");
    const char *inf = CLI(l, r, "INFO", "nosuchsection");
    CHECK_EQ_STR(inf, "[exit 0]");
    char *info = cli(l, (const char *const[]){"INFO", "server", NULL});
    CHECK(strstr(info, "redis_version:7.0.") != NULL);
    free(info);
    CLI(l, r, "--no-raw", "COMMAND", "INFO", "get");
    CLI(l, r, "--no-raw", "CLIENT", "GETNAME");
}

TEST(resp3_hello) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    const char *o = CLI(l, r, "-3", "--no-raw", "HELLO");
    CHECK(strstr(o, "1# \"server\" => \"redis\"\n") != NULL);
    CHECK(strstr(o, "3# \"proto\" => (integer) 3\n") != NULL);
    CHECK(strstr(o, "4# \"id\" => (integer) *\n") != NULL);
    CLI(l, r, "-3", "HELLO");
    CHECK_EQ_STR(CLI(l, r, "-3", "--no-raw", "GET", "nokey"),
                 "(nil)\n[exit 0]");
    CHECK_EQ_STR(CLI(l, r, "-3", "--no-raw", "CONFIG", "GET", "databases"),
                 "1# \"databases\" => \"16\"\n[exit 0]");
    CLI(l, r, "-2", "--no-raw", "HELLO", "2");
    CLI(l, r, "-3", "--no-raw", "HELLO", "4");
}

TEST(auth_option) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start("requirepass", "pw", NULL),
                   *r = harness_start_redis("requirepass", "pw", NULL);
    REQUIRE(l);
    const char *o = CLI(l, r, "-a", "pw", "PING");
    CHECK(strstr(o, "PONG\n[exit 0]") != NULL);
    o = CLI(l, r, "--no-auth-warning", "-a", "wrong", "PING");
    CHECK(strstr(o, "AUTH failed: WRONGPASS") != NULL);
    CHECK_EQ_STR(CLI(l, r, "PING"), "NOAUTH Authentication required.\n\n"
                                    "[exit 0]");
    CLI(l, r, "--no-auth-warning", "--user", "default", "--pass", "pw",
        "PING");
    CLI(l, r, "--no-auth-warning", "-3", "-a", "pw", "--no-raw", "HELLO");
}

TEST(stat_mode) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    char port[16];
    snprintf(port, sizeof port, "%d", l->port);
    /* stdbuf: redis-cli does not flush a pipe before SIGINT ends it. */
    const char *argv[] = {"stdbuf", "-oL", "redis-cli", "-h", "127.0.0.1",
                          "-p", port, "--stat", "-i", "0.2", NULL};
    char *out;
    int to;
    /* Runs until killed: stop it after a few samples. */
    harness_run_capture(argv, 2000, &out, &to);
    CHECK(to);
    CHECK(strstr(out, "------- data ------") != NULL);
    CHECK(strstr(out, "keys") && strstr(out, "mem") && strstr(out, "clients") &&
          strstr(out, "requests") && strstr(out, "connections"));
    int rows = 0;
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1
                                                           : NULL)
        if (*p >= '0' && *p <= '9') rows++;
    CHECK(rows >= 2);
    CHECK(strstr(out, "ERR") == NULL && strstr(out, "Error") == NULL &&
          strstr(out, "Could not connect") == NULL);
    if (testlib_current_failed) fprintf(stderr, "# output:\n%s\n", out);
    free(out);
}

/* `redis-cli --latency-history -i 1`: PINGs the server every 10 ms and
 * prints min/max/avg/samples per sample (raw mode: "min max avg n"),
 * starting a new range each second (" -- 1.00 seconds range"). */
TEST(latency_history_mode) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    char port[16];
    snprintf(port, sizeof port, "%d", l->port);
    const char *argv[] = {"stdbuf", "-oL", "redis-cli", "-h", "127.0.0.1", "-p", port,
                          "--latency-history", "-i", "1", NULL};
    char *out;
    int to;
    harness_run_capture(argv, 2600, &out, &to);
    CHECK(to);
    CHECK(strstr(out, "seconds range") != NULL);
    int samples = 0, bad = 0;
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        long mn, mx, n;
        double avg;
        if (sscanf(p, "%ld %ld %lf %ld", &mn, &mx, &avg, &n) == 4) {
            if (mn < 0 || mx < mn || avg < 0 || n < 1) bad++;
            samples++;
        } else if (strncmp(p, " -- ", 4) != 0 && *p != '\n') {
            bad++;
        }
    }
    CHECK(samples >= 10);
    CHECK(bad == 0);
    CHECK(strstr(out, "ERR") == NULL && strstr(out, "Could not connect") == NULL);
    if (testlib_current_failed) fprintf(stderr, "# output:\n%s\n", out);
    free(out);
}

/* Loads the same keys into both servers through redis-cli --pipe. */
static void load_keys(harness_server *s, int n) {
    char path[512];
    snprintf(path, sizeof path, "%s/load.resp", s->dir);
    FILE *f = fopen(path, "w");
    if (!f) return;
    for (int i = 1; i <= n; i++) {
        char key[32], val[1024];
        int kl = snprintf(key, sizeof key, "key:%d", i);
        int vl = i * 3 < (int)sizeof(val) ? i * 3 : (int)sizeof(val) - 1;
        memset(val, 'x', (size_t)vl);
        fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%.*s\r\n", kl, key, vl, vl, val);
    }
    fclose(f);
    char port[16], cmdline[1024];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(cmdline, sizeof cmdline, "redis-cli -h 127.0.0.1 -p %s --pipe < %s", port, path);
    const char *argv[] = {"sh", "-c", cmdline, NULL};
    char *out;
    int to;
    harness_run_capture(argv, 10000, &out, &to);
    char want[64];
    snprintf(want, sizeof want, "errors: 0, replies: %d", n);
    CHECK(strstr(out, want) != NULL);
    if (testlib_current_failed) fprintf(stderr, "# --pipe output:\n%s\n", out);
    free(out);
}

/* The line of a redis-cli summary that starts with prefix (or ""). */
static const char *line_with(const char *text, const char *needle, char *buf, size_t len) {
    const char *p = text ? strstr(text, needle) : NULL;
    buf[0] = '\0';
    if (!p) return buf;
    while (p > text && p[-1] != '\n') p--;
    size_t n = strcspn(p, "\n");
    if (n >= len) n = len - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

TEST(pipe_bigkeys_memkeys) {
    SKIP_WITHOUT_CLI();
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    load_keys(l, 200);
    if (r) load_keys(r, 200);
    char *lb = cli(l, (const char *const[]){"--bigkeys", NULL});
    char a[256], b[256];
    CHECK_EQ_STR(line_with(lb, "Biggest string found '", a, sizeof a),
                 "Biggest string found '\"key:200\"' has 600 bytes");
    CHECK_EQ_STR(line_with(lb, " strings with ", a, sizeof a),
                 "200 strings with 60300 bytes (100.00% of keys, avg size 301.50)");
    if (r) {
        char *rb = cli(r, (const char *const[]){"--bigkeys", NULL});
        CHECK_EQ_STR(line_with(lb, " strings with ", a, sizeof a),
                     line_with(rb, " strings with ", b, sizeof b));
        free(rb);
    }
    char *lm = cli(l, (const char *const[]){"--memkeys", NULL});
    /* Byte counts are the engine's own (not Redis's), and values of one
     * allocation size class tie: check the shape. */
    CHECK(strstr(lm, "Biggest string found '\"key:") != NULL);
    CHECK(strstr(lm, "200 strings with ") != NULL);
    CHECK(strstr(lm, "[exit 0]") != NULL);
    if (testlib_current_failed) fprintf(stderr, "# bigkeys:\n%s\n# memkeys:\n%s\n", lb, lm);
    free(lb);
    free(lm);
}

/* What interactive redis-cli shows after typing `typed` (no Enter): the
 * prompt line with its grey hint, read from a tmux pane. malloc'd, or NULL
 * without tmux. */
static char *interactive_hint(harness_server *s, const char *typed) {
    char cmdline[1024], session[64], out_path[300];
    snprintf(session, sizeof session, "lt-hint-%d-%d", (int)getpid(), s->port);
    snprintf(out_path, sizeof out_path, "%s/pane.txt", s->dir);
    snprintf(cmdline, sizeof cmdline,
             "tmux new-session -d -s %s -x 200 -y 10 'redis-cli -h 127.0.0.1 -p %d' && "
             "sleep 0.5 && tmux send-keys -t %s '%s' && sleep 0.5 && "
             "tmux capture-pane -t %s -p > %s; tmux kill-session -t %s",
             session, s->port, session, typed, session, out_path, session);
    const char *argv[] = {"sh", "-c", cmdline, NULL};
    char *out;
    int to;
    harness_run_capture(argv, 10000, &out, &to);
    free(out);
    FILE *f = fopen(out_path, "r");
    if (!f) return NULL;
    char *line = calloc(1, 512);
    if (!fgets(line, 512, f)) line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    /* The port in the prompt differs between the servers. */
    char *gt = strchr(line, '>');
    if (gt) memmove(line, gt, strlen(gt) + 1);
    return line;
}

/* redis-cli's interactive hints come from COMMAND DOCS: the same as with
 * Redis for the commands Lightning has. */
TEST(interactive_hints) {
    SKIP_WITHOUT_CLI();
    if (system("command -v tmux >/dev/null 2>&1") != 0) {
        testlib_skip("tmux not installed");
        return;
    }
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    const char *typed[] = {"SET ", "ZADD key ", "CLIENT KILL "};
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
        char *lh = interactive_hint(l, typed[i]);
        REQUIRE(lh);
        /* More than the typed text: a hint is shown. */
        CHECK(strlen(lh) > strlen(typed[i]) + 4);
        if (r) {
            char *rh = interactive_hint(r, typed[i]);
            if (rh) CHECK_EQ_STR(lh, rh);
            free(rh);
        }
        free(lh);
    }
}

int main(void) {
    RUN(basic_commands);
    RUN(interactive_hints);
    RUN(pipe_bigkeys_memkeys);
    RUN(resp3_hello);
    RUN(auth_option);
    RUN(stat_mode);
    RUN(latency_history_mode);
    return testlib_finish();
}
