/* difftest: see difftest.h for what it owns. */
#include "difftest.h"

#include <stdarg.h>
#include <string.h>

harness_server *LS, *RS;
redisContext *L, *R;

int difftest_start_servers(const char *directive, ...) {
    const char *dirs[64];
    int n = 0;
    va_list ap;
    va_start(ap, directive);
    for (const char *d = directive; d && n < 63; d = va_arg(ap, const char *)) dirs[n++] = d;
    va_end(ap);
    dirs[n] = NULL;
    harness_opts lo = {.kind = HARNESS_LIGHTNING, .directives = dirs};
    harness_opts ro = {.kind = HARNESS_REDIS, .directives = dirs};
    L = R = NULL;
    LS = harness_start_opts(&lo);
    RS = harness_start_opts(&ro);
    return LS != NULL;
}

int difftest_connect(void) {
    L = harness_connect(LS);
    R = harness_connect(RS);
    return L != NULL;
}

int difftest_raw_connect(int resp, int *fl, int *fr) {
    *fl = raw_connect_server(LS);
    *fr = raw_connect_server(RS);
    if (*fl < 0) return 0;
    if (resp == 3) {
        const char *const hello[] = {"HELLO", "3", NULL};
        CHECK(strncmp(raw_cmd_argv(*fl, hello), "map{", 4) == 0);
        if (*fr >= 0) CHECK(strncmp(raw_cmd_argv(*fr, hello), "map{", 4) == 0);
    }
    return 1;
}

int difftest_have(const char *name) {
    const char *rep = cmd(L, "COMMAND INFO %s", name);
    return strncmp(rep, "array[nil]", 10) != 0 && strncmp(rep, "err:", 4) != 0;
}

int difftest_make_wrongtype(void) {
    if (!difftest_have("lpush")) {
        testlib_skip("WRONGTYPE checks need LPUSH");
        return 0;
    }
    EXPECT("int:1", "LPUSH", "wt", "x");
    return 1;
}

unsigned difftest_seed(unsigned def) {
    const char *env = getenv("TEST_SEED");
    unsigned seed = env ? (unsigned)atoi(env) : def;
    printf("# %s seed %u\n", testlib_current_name(), seed);
    srand(seed);
    return seed;
}

int difftest_failed_at(int step, unsigned seed, const char *dump, const char *const *keys,
                       size_t nkeys) {
    if (!testlib_current_failed) return 0;
    printf("# failed at step %d (seed %u)%s\n", step, seed, dump && R ? "; on Redis now:" : "");
    for (size_t i = 0; dump && R && i < nkeys; i++)
        printf("#   %s = %s\n", keys[i], cmd(R, dump, keys[i]));
    return 1;
}
