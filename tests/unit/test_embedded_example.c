/* The embedded library as a user gets it: `make install` into a staging
 * DESTDIR, the durable example of docs/EMBEDDED.md
 * (docs/examples/embedded_durable.c) compiled with pkg-config against the
 * installed shared library, run three times on one directory (each run
 * continues from the previous one's data), and the soname checked. */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_tmp[128];

/* Runs sh -c cmdline; stdout into out (cap bytes). Exit status or -1. */
static int run(const char *cmdline, char *out, size_t cap) {
    FILE *p = popen(cmdline, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(install_build_and_run_durable_example) {
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    if (strcmp(build, "build") != 0) {
        /* Sanitizer builds: their library needs the sanitizer runtime. */
        testlib_skip("installs the normal build only (BUILD=%s)", build);
        return;
    }
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/lt-install-XXXXXX");
    REQUIRE(mkdtemp(g_tmp));
    static char out[8192], c[2048];
    snprintf(c, sizeof(c), "make -s install BUILD=%s DESTDIR=%s PREFIX=/opt/lt 2>&1", build, g_tmp);
    int rc = run(c, out, sizeof(out));
    if (rc != 0) fprintf(stderr, "# %s\n", out);
    REQUIRE(rc == 0);
    /* Installed files and the soname. */
    snprintf(c, sizeof(c),
             "cd %s/opt/lt && ls include/lightning.h lib/liblightning.a lib/liblightning.so.1 "
             "lib/pkgconfig/lightning.pc >/dev/null && objdump -p lib/liblightning.so | grep SONAME",
             g_tmp);
    CHECK_EQ_INT(run(c, out, sizeof(out)), 0);
    CHECK(strstr(out, "liblightning.so.1") != NULL);
    /* Compile the example with what pkg-config says. */
    snprintf(c, sizeof(c),
             "PKG_CONFIG_PATH=%s/opt/lt/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "cc -Wall -Werror docs/examples/embedded_durable.c "
             "$(PKG_CONFIG_PATH=%s/opt/lt/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
             "pkg-config --cflags --libs lightning) -pthread -o %s/example 2>&1",
             g_tmp, g_tmp, g_tmp, g_tmp, g_tmp);
    rc = run(c, out, sizeof(out));
    if (rc != 0) fprintf(stderr, "# %s\n", out);
    REQUIRE(rc == 0);
    /* Three runs on one directory: each sees the previous ones. */
    for (int i = 1; i <= 3; i++) {
        snprintf(c, sizeof(c), "LD_LIBRARY_PATH=%s/opt/lt/lib %s/example %s/data 2>&1", g_tmp,
                 g_tmp, g_tmp);
        rc = run(c, out, sizeof(out));
        fprintf(stderr, "# %s", out);
        CHECK_EQ_INT(rc, 0);
        char want[64];
        snprintf(want, sizeof(want), "run %d: %d events (event:%04d:0:00 .. event:%04d:3:24)", i,
                 100 * i, 1, i);
        CHECK(strstr(out, want) != NULL);
    }
    /* The example linked the shared library it was given. */
    snprintf(c, sizeof(c), "LD_LIBRARY_PATH=%s/opt/lt/lib ldd %s/example | grep liblightning",
             g_tmp, g_tmp);
    CHECK_EQ_INT(run(c, out, sizeof(out)), 0);
    CHECK(strstr(out, g_tmp) != NULL);
    snprintf(c, sizeof(c), "rm -rf '%s'", g_tmp);
    CHECK(system(c) == 0);
}

int main(void) {
    RUN(install_build_and_run_durable_example);
    return testlib_finish();
}
