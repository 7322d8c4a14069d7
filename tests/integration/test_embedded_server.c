/* A data directory moves between the embedded library and the server:
 * written by lt_db_open(dir) (log and snapshot), served by
 * `lightning-server --dir`; written by the server (string commands, log
 * and snapshot), opened by the library. */
#include "../harness.h"
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lightning.h"

static char g_dir[128];

static void make_dir(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/lt-interop-XXXXXX");
    if (!mkdtemp(g_dir)) abort();
}

static void remove_dir(void) {
    char c[200];
    snprintf(c, sizeof(c), "rm -rf '%s'", g_dir);
    if (system(c) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
}

static int put1(lt_db *db, unsigned dbid, const char *k, const char *v) {
    lt_txn *t;
    if (lt_txn_begin(db, 0, &t) != LT_OK) return -1;
    lt_put(t, dbid, k, strlen(k), v, strlen(v));
    return lt_txn_commit(t);
}

static int get1(lt_db *db, unsigned dbid, const char *k, char *out, size_t cap) {
    lt_txn *t;
    out[0] = 0;
    if (lt_txn_begin(db, LT_TXN_RDONLY, &t) != LT_OK) return -1;
    const void *v;
    size_t n;
    int rc = lt_get(t, dbid, k, strlen(k), &v, &n);
    if (rc == LT_OK) {
        if (n >= cap) n = cap - 1;
        memcpy(out, v, n);
        out[n] = 0;
    }
    lt_txn_abort(t);
    return rc;
}

static harness_server *start_on(const char *dir) {
    return harness_start("dir", dir, "appendfsync", "always", NULL);
}

TEST(library_dir_served_by_server) {
    make_dir();
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = g_dir;
    lt_db *db;
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    REQUIRE(put1(db, 0, "snapkey", "in the snapshot") == LT_OK);
    REQUIRE(put1(db, 2, "other", "db two") == LT_OK);
    REQUIRE(lt_db_checkpoint(db) == LT_OK);
    REQUIRE(put1(db, 0, "logkey", "in the log") == LT_OK);
    lt_txn *t;
    REQUIRE(lt_txn_begin(db, 0, &t) == LT_OK);
    lt_put(t, 0, "multi1", 6, "a\r\nb", 4);
    lt_put(t, 3, "multi3", 6, "three", 5);
    lt_del(t, 2, "other", 5);
    REQUIRE(lt_txn_commit(t) == LT_OK);
    lt_db_close(db);

    harness_server *s = start_on(g_dir);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET snapkey"), "bulk:\"in the snapshot\"");
    CHECK_EQ_STR(cmd(c, "GET logkey"), "bulk:\"in the log\"");
    CHECK_EQ_STR(cmd(c, "STRLEN multi1"), "int:4");
    CHECK_EQ_STR(cmd(c, "SELECT 3"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET multi3"), "bulk:\"three\"");
    CHECK_EQ_STR(cmd(c, "SELECT 2"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "EXISTS other"), "int:0");
    /* The server appends to the same log; the library reads it back. */
    CHECK_EQ_STR(cmd(c, "SET fromserver yes"), "status:\"OK\"");
    harness_disconnect(c);
    harness_stop(s);

    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    char out[64];
    CHECK_EQ_INT(get1(db, 2, "fromserver", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "yes");
    CHECK_EQ_INT(get1(db, 0, "multi1", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "a\r\nb");
    lt_db_close(db);
    remove_dir();
}

TEST(server_dir_opened_by_library) {
    make_dir();
    harness_server *s = start_on(g_dir);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET a 1"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCRBY a 41"), "int:42");
    CHECK_EQ_STR(cmd(c, "MSET m1 x m2 y"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "BGSAVE"), "status:\"Background saving started\"");
    /* Wait for the snapshot to be published (no timing assertion: the
     * test fails only if it never is). */
    for (int i = 0; i < 500; i++) {
        const char *r = cmd(c, "INFO persistence");
        if (strstr(r, "rdb_bgsave_in_progress:0")) break;
        usleep(10000);
    }
    CHECK_EQ_STR(cmd(c, "APPEND m1 zz"), "int:3");
    CHECK_EQ_STR(cmd(c, "SET ttl v EX 1000"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET nx v NX"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET nx w NX"), "nil");
    CHECK_EQ_STR(cmd(c, "DEL m2"), "int:1");
    CHECK_EQ_STR(cmd(c, "SELECT 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "SET five 5"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "MULTI"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "INCR five"), "status:\"QUEUED\"");
    CHECK_EQ_STR(cmd(c, "SET six 6"), "status:\"QUEUED\"");
    cmd(c, "EXEC");
    harness_disconnect(c);
    harness_stop(s);

    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = g_dir;
    char err[256] = "";
    cfg.errbuf = err;
    cfg.errbuf_size = sizeof(err);
    lt_db *db;
    int rc = lt_db_open(&cfg, &db);
    if (rc != LT_OK) fprintf(stderr, "# open: %s\n", err);
    REQUIRE(rc == LT_OK);
    char out[64];
    CHECK_EQ_INT(get1(db, 0, "a", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "42");
    CHECK_EQ_INT(get1(db, 0, "m1", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "xzz");
    CHECK_EQ_INT(get1(db, 0, "m2", out, sizeof(out)), LT_NOTFOUND);
    CHECK_EQ_INT(get1(db, 0, "ttl", out, sizeof(out)), LT_OK);
    CHECK_EQ_INT(get1(db, 0, "nx", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "v");
    CHECK_EQ_INT(get1(db, 5, "five", out, sizeof(out)), LT_OK);
    CHECK_EQ_STR(out, "6");
    CHECK_EQ_INT(get1(db, 5, "six", out, sizeof(out)), LT_OK);
    lt_db_close(db);

    /* A hash in the final snapshot loads (and reads as LT_WRONGTYPE); a
     * hash in the log (killed: no final snapshot) cannot be replayed. */
    s = start_on(g_dir);
    REQUIRE(s);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "HSET h f v"), "int:1");
    harness_disconnect(c);
    harness_stop(s);
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    CHECK_EQ_INT(get1(db, 0, "h", out, sizeof(out)), LT_WRONGTYPE);
    lt_db_close(db);
    s = start_on(g_dir);
    REQUIRE(s);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "HSET h2 f v"), "int:1");
    harness_disconnect(c);
    s->expect_exit = 1;
    harness_kill9(s);
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_UNSUPPORTED);
    CHECK(strstr(err, "HSET") != NULL);
    remove_dir();
}

/* The server and the library take the same directory lock. */
TEST(one_directory_one_owner) {
    make_dir();
    harness_server *s = start_on(g_dir);
    REQUIRE(s);
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.dir = g_dir;
    lt_db *db;
    CHECK_EQ_INT(lt_db_open(&cfg, &db), LT_LOCKED);
    harness_stop(s);
    REQUIRE(lt_db_open(&cfg, &db) == LT_OK);
    const char *dirs[] = {"dir", g_dir, NULL};
    harness_opts o = {.directives = dirs, .no_wait = 1};
    s = harness_start_opts(&o);
    REQUIRE(s);
    int st = harness_wait_exit(s, 10000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
    lt_db_close(db);
    harness_stop(s);
    remove_dir();
}

int main(void) {
    RUN(library_dir_served_by_server);
    RUN(server_dir_opened_by_library);
    RUN(one_directory_one_owner);
    return testlib_finish();
}
