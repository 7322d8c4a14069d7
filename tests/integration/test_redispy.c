/*
 * redis-py (the Debian python3-redis package) against Lightning and a real
 * redis-server: tests/py/pubsub_redispy.py runs the same pub/sub, keyspace
 * notification and client-side-caching script on both and compares what
 * redis-py returned. Skipped when /usr/bin/python3 has no redis module or
 * redis-server is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../difftest.h"
#include "../harness.h"
#include "../testlib.h"

#define PYTHON "/usr/bin/python3"

TEST(redispy_pubsub_like_redis) {
    REQUIRE(difftest_start_servers("io-threads", "2", NULL));
    if (!RS) return; /* "# skip" printed by the harness */
    char lp[16], rp[16];
    snprintf(lp, sizeof(lp), "%d", LS->port);
    snprintf(rp, sizeof(rp), "%d", RS->port);
    const char *argv[] = {PYTHON, "tests/py/pubsub_redispy.py", lp, rp, NULL};
    char *out = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 60000, &out, &timed_out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        printf("# skip: %s has no redis module (Debian python3-redis)\n", PYTHON);
        free(out);
        return;
    }
    CHECK(!timed_out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("%s", out ? out : "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(out && strstr(out, "steps equal") != NULL);
    free(out);
}

int main(void) {
    RUN(redispy_pubsub_like_redis);
    return testlib_finish();
}
