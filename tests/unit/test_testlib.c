/*
 * testlib and tests/run.sh: a test that cannot run (a tool it needs is
 * missing) is reported "skip", never "ok"; a failed check wins over a skip;
 * run.sh counts skips and ends with exactly "N passed, M failed" followed by
 * ", K skipped" when K > 0.
 */
#include "../testlib.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void t_pass(void) { CHECK(1); }
static void t_skip(void) { testlib_skip("tool %s not found", "x"); }
static void t_skip_then_fail(void) {
    testlib_skip("no tool");
    if (getenv("TESTLIB_SELFTEST")) testlib_fail(__FILE__, __LINE__, "expected failure");
}

/* Runs fn-s in a child with stdout captured into buf. */
static void run_child(char *buf, size_t cap) {
    int p[2];
    REQUIRE(pipe(p) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        setenv("TESTLIB_SELFTEST", "1", 1);
        unsetenv("TEST_ONLY");
        testlib_run("pass", t_pass);
        testlib_run("skip", t_skip);
        testlib_run("skip_then_fail", t_skip_then_fail);
        testlib_skip("whole binary");
        int rc = testlib_finish();
        fflush(stdout);
        _exit(rc);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(p[0], buf + n, cap - 1 - n)) > 0) n += (size_t)r;
    buf[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

TEST(skip_is_not_pass) {
    char out[4096];
    run_child(out, sizeof out);
    CHECK(strstr(out, "\nok pass (") != NULL || strncmp(out, "ok pass (", 9) == 0);
    CHECK(strstr(out, "skip skip: tool x not found (") != NULL);
    CHECK(strstr(out, "\nok skip (") == NULL);
    CHECK(strstr(out, "not ok skip_then_fail (") != NULL);
    CHECK(strstr(out, "skip whole binary\n") != NULL);
    CHECK(strstr(out, "# 1 passed, 1 failed, 2 skipped\n") != NULL);
    if (testlib_current_failed) fprintf(stderr, "child output:\n%s", out);
}

/* tests/run.sh over a fake build dir holding two fake test binaries. */
static char *run_runner(const char *dir) {
    char cmdline[512];
    snprintf(cmdline, sizeof cmdline,
             "env -u TEST_ONLY -u TESTS_FILTER BUILD=%s sh tests/run.sh 2>&1", dir);
    FILE *f = popen(cmdline, "r");
    if (!f) return NULL;
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    pclose(f);
    return out;
}

static void write_script(const char *path, const char *body) {
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path, 0755);
}

static const char *last_line(const char *out) {
    static char line[256];
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n') n--;
    size_t b = n;
    while (b > 0 && out[b - 1] != '\n') b--;
    snprintf(line, sizeof line, "%.*s", (int)(n - b), out + b);
    return line;
}

TEST(runner_counts_skips) {
    REQUIRE(access("tests/run.sh", R_OK) == 0); /* run from the source root */
    char dir[] = "/tmp/lightning-testlib.XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/tests", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tests/unit", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tests/unit/test_a", dir);
    write_script(path, "echo 'ok one (1 ms)'\necho 'skip two: no redis-server (0 ms)'\n");
    const char *out = run_runner(dir);
    REQUIRE(out);
    CHECK_EQ_STR(last_line(out), "1 passed, 0 failed, 1 skipped");
    CHECK(strstr(out, "test_a: two: no redis-server") != NULL);
    /* Without skips the last line is exactly "N passed, M failed". */
    write_script(path, "echo 'ok one (1 ms)'\n");
    out = run_runner(dir);
    REQUIRE(out);
    CHECK_EQ_STR(last_line(out), "1 passed, 0 failed");
    unlink(path);
    snprintf(path, sizeof path, "%s/tests/unit", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/tests", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void) {
    RUN(skip_is_not_pass);
    RUN(runner_counts_skips);
    return testlib_finish();
}
