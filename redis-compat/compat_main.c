/*
 * lightning-compat: differential compatibility tester, Lightning against a
 * real redis-server 7.0 (see compat.h for the modules).
 *
 *   lightning-compat [--seed N] [--n N] [--scenarios DIR] [--resp3]
 *                    [--verbose] [--max-reports N]
 *                    [--only-scenarios | --only-random] [--matrix FILE]
 *
 * Without arguments (as tests/run.sh runs it): every scenario file of
 * redis-compat/scenarios in RESP2 and again in RESP3, then 2,000 random
 * commands at seed 1 in RESP2; one `ok`/`not ok` line per file and per
 * random run. --resp3 makes the random run use RESP3. --matrix FILE only
 * writes the compatibility matrix (docs/COMMANDS.md).
 *
 * Exit status: 0 when every test passed.
 */
#include "compat.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILES 64

static struct {
    uint64_t seed;
    int n, resp3, verbose, max_reports, only_scenarios, only_random;
    const char *scenarios;
    const char *matrix;
} opt = {1, 2000, 0, 0, 5, 0, 0, NULL, NULL};

static const char *current_file;

static void test_scenario(void) {
    compat_pair p;
    if (compat_pair_start(&p) != 0) {
        testlib_fail(__FILE__, __LINE__, "could not start both servers");
        return;
    }
    for (int resp3 = 0; resp3 <= 1; resp3++) {
        if (compat_pair_reset(&p, resp3) != 0) {
            testlib_fail(__FILE__, __LINE__, "could not connect / FLUSHALL");
            return;
        }
        int m = compat_scenario_run(&p, current_file, opt.verbose);
        if (m < 0) testlib_fail(__FILE__, __LINE__, "cannot read %s", current_file);
    }
}

static void test_random(void) {
    compat_pair p;
    if (compat_pair_start(&p) != 0) {
        testlib_fail(__FILE__, __LINE__, "could not start both servers");
        return;
    }
    compat_random_opts o = {opt.seed, opt.n, opt.resp3, opt.verbose, opt.max_reports};
    compat_random_run(&p, &o);
}

static void test_matrix(void) {
    if (compat_matrix_write(opt.matrix) != 0)
        testlib_fail(__FILE__, __LINE__, "could not write %s", opt.matrix);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* redis-compat/scenarios from the repository root, or relative to the
 * binary (build/redis-compat/lightning-compat). */
static const char *find_scenarios(const char *argv0) {
    static char buf[1024];
    if (is_dir("redis-compat/scenarios")) return "redis-compat/scenarios";
    const char *slash = strrchr(argv0, '/');
    if (slash) {
        snprintf(buf, sizeof(buf), "%.*s/../../redis-compat/scenarios",
                 (int)(slash - argv0), argv0);
        if (is_dir(buf)) return buf;
    }
    return "redis-compat/scenarios";
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void usage(void) {
    fprintf(stderr,
            "usage: lightning-compat [--seed N] [--n N] [--scenarios DIR] [--resp3]\n"
            "                        [--verbose] [--max-reports N]\n"
            "                        [--only-scenarios | --only-random] [--matrix FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--seed") && more) opt.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--n") && more) opt.n = atoi(argv[++i]);
        else if (!strcmp(a, "--scenarios") && more) opt.scenarios = argv[++i];
        else if (!strcmp(a, "--max-reports") && more) opt.max_reports = atoi(argv[++i]);
        else if (!strcmp(a, "--matrix") && more) opt.matrix = argv[++i];
        else if (!strcmp(a, "--resp3")) opt.resp3 = 1;
        else if (!strcmp(a, "--verbose")) opt.verbose = 1;
        else if (!strcmp(a, "--only-scenarios")) opt.only_scenarios = 1;
        else if (!strcmp(a, "--only-random")) opt.only_random = 1;
        else usage();
    }
    if (opt.n < 0 || opt.n > 10000000) usage();
    if (opt.matrix) {
        /* A "test", so the harness stops both servers afterwards. */
        testlib_run("matrix", test_matrix);
        return testlib_finish();
    }
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found, nothing to compare with");
        return testlib_finish();
    }
    if (!opt.only_random) {
        const char *dir = opt.scenarios ? opt.scenarios : find_scenarios(argv[0]);
        DIR *d = opendir(dir);
        if (!d) {
            fprintf(stderr, "cannot open scenario dir %s\n", dir);
            return 2;
        }
        char *files[MAX_FILES];
        int nf = 0;
        struct dirent *e;
        while ((e = readdir(d)) && nf < MAX_FILES) {
            size_t l = strlen(e->d_name);
            if (l > 4 && !strcmp(e->d_name + l - 4, ".txt")) files[nf++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(files, (size_t)nf, sizeof(char *), cmp_str);
        for (int i = 0; i < nf; i++) {
            char path[1200], name[300];
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            snprintf(name, sizeof(name), "scenario_%.*s", (int)strlen(files[i]) - 4,
                     files[i]);
            current_file = path;
            testlib_run(name, test_scenario);
            free(files[i]);
        }
    }
    if (!opt.only_scenarios && opt.n > 0) {
        char name[96];
        snprintf(name, sizeof(name), "random_seed_%llu_n_%d%s",
                 (unsigned long long)opt.seed, opt.n, opt.resp3 ? "_resp3" : "");
        testlib_run(name, test_random);
    }
    return testlib_finish();
}
