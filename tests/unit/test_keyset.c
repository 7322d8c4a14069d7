/*
 * keyset (server/cmd/keyset.h): a command's lock set comes from the table
 * and its arguments — keys in the right database, whole databases for
 * FLUSHDB/KEYS/SCAN..., everything for FLUSHALL, the database named by
 * MOVE / COPY ... DB / SWAPDB, SELECT changing the database of what
 * follows — and keyset_covered() tells a transaction that lacks a key or
 * database from one that holds them (EXEC's check before each command).
 */
#include "../testlib.h"

#include <stdlib.h>

#include "engine/keyspace.h"
#include "server/cmd/commands.h"
#include "server/cmd/keyset.h"
#include "server/engine_glue.h"
#include "server/server.h"

#if defined(__SANITIZE_THREAD__)
const char *__tsan_default_options(void) { return "detect_deadlocks=0"; }
#endif

static resp_arg args[80];
static char bufs[80][16];

/* Splits a command line into args[]; returns argc. */
static int parse(const char *line) {
    int n = 0;
    const char *p = line;
    while (*p && n < 80) {
        while (*p == ' ') p++;
        size_t len = 0;
        while (p[len] && p[len] != ' ') len++;
        memcpy(bufs[n], p, len);
        args[n].ptr = bufs[n];
        args[n].len = len;
        n++;
        p += len;
    }
    return n;
}

static const command *lookup(int argc) {
    const command *cmd = command_lookup(args[0].ptr, args[0].len);
    if (cmd && cmd->subcommands && argc > 1) cmd = command_lookup_sub(cmd, args[1].ptr, args[1].len);
    return cmd;
}

/* Renders the keyset of line run in db: "all", "db:N ..." then "N/key ...". */
static const char *render(const char *line, int db, int *next_db) {
    static char out[512];
    int argc = parse(line);
    const command *cmd = lookup(argc);
    if (!cmd) return "(unknown)";
    cmd_keyset ks;
    keyset_init(&ks);
    int nd = keyset_add_command(&ks, cmd, args, argc, db);
    if (next_db) *next_db = nd;
    size_t o = 0;
    out[0] = '\0';
    if (ks.all) o += (size_t)snprintf(out + o, sizeof out - o, "all ");
    for (int i = 0; i < ks.ndbs; i++) o += (size_t)snprintf(out + o, sizeof out - o, "db:%u ", ks.dbs[i]);
    for (size_t i = 0; i < ks.n && o < sizeof out; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%u/%.*s ", ks.keys[i].dbid,
                              (int)ks.keys[i].klen, ks.keys[i].key);
    if (o > 0) out[o - 1] = '\0';
    keyset_free(&ks);
    return out;
}

TEST(from_the_table) {
    CHECK_EQ_STR(render("GET a", 0, NULL), "0/a");
    CHECK_EQ_STR(render("MSET a 1 b 2", 2, NULL), "2/a 2/b");
    CHECK_EQ_STR(render("ZUNIONSTORE d 2 a b WEIGHTS 1 2", 1, NULL), "1/d 1/a 1/b");
    CHECK_EQ_STR(render("LMPOP 2 x y LEFT", 0, NULL), "0/x 0/y");
    CHECK_EQ_STR(render("OBJECT ENCODING k", 3, NULL), "3/k");
    CHECK_EQ_STR(render("PING", 0, NULL), "");
    /* Scope from the table. */
    CHECK_EQ_STR(render("FLUSHDB", 4, NULL), "db:4");
    CHECK_EQ_STR(render("KEYS *", 1, NULL), "db:1");
    CHECK_EQ_STR(render("SCAN 0", 1, NULL), "db:1");
    CHECK_EQ_STR(render("RANDOMKEY", 1, NULL), "db:1");
    CHECK_EQ_STR(render("DBSIZE", 1, NULL), "db:1");
    CHECK_EQ_STR(render("FLUSHALL", 0, NULL), "all");
    /* Databases named by the arguments. */
    CHECK_EQ_STR(render("MOVE k 5", 0, NULL), "0/k 5/k");
    CHECK_EQ_STR(render("MOVE k 99", 0, NULL), "0/k");       /* out of range: the handler refuses */
    CHECK_EQ_STR(render("COPY a b", 2, NULL), "2/a 2/b");
    CHECK_EQ_STR(render("COPY a b REPLACE DB 7", 2, NULL), "2/a 7/b");
    CHECK_EQ_STR(render("COPY a b DB 1 DB 3", 2, NULL), "2/a 3/b"); /* the last wins, as the handler */
    CHECK_EQ_STR(render("SWAPDB 1 2", 0, NULL), "db:1 db:2");
    CHECK_EQ_STR(render("SWAPDB 1 1", 0, NULL), "");
    CHECK_EQ_STR(render("SWAPDB 1 x", 0, NULL), "");
    /* SELECT changes the database of what follows, when valid. */
    int next = -1;
    CHECK_EQ_STR(render("SELECT 9", 0, &next), "");
    CHECK_EQ_INT(next, 9);
    render("SELECT 16", 3, &next);
    CHECK_EQ_INT(next, 3);
    render("SELECT -1", 3, &next);
    CHECK_EQ_INT(next, 3);
    /* More keys than KEYSET_CMD_KEYS_MAX: the whole database. */
    char line[1024] = "DEL";
    for (int i = 0; i < KEYSET_CMD_KEYS_MAX + 1; i++) {
        size_t l = strlen(line);
        snprintf(line + l, sizeof line - l, " k%d", i);
    }
    CHECK_EQ_STR(render(line, 6, NULL), "db:6");
}

TEST(three_databases_are_all) {
    cmd_keyset ks;
    keyset_init(&ks);
    keyset_add_db(&ks, 1);
    keyset_add_db(&ks, 2);
    keyset_add_db(&ks, 1);
    CHECK_EQ_INT(ks.all, 0);
    keyset_add_db(&ks, 3);
    CHECK_EQ_INT(ks.all, 1);
    keyset_free(&ks);
    /* Many keys spill to the heap and stay in order. */
    keyset_init(&ks);
    for (int i = 0; i < 100; i++) keyset_add_key(&ks, (unsigned)(i % 16), "k", 1);
    CHECK_EQ_INT(ks.n, 100);
    CHECK_EQ_INT(ks.keys[99].dbid, 99 % 16);
    keyset_free(&ks);
}

/* keyset_begin locks what keyset_covered then finds held; a transaction
 * over other keys or databases does not cover. */
TEST(covered) {
    cmd_keyset a, b;
    keyset_init(&a);
    keyset_init(&b);
    keyset_add_key(&a, 0, "x", 1);
    keyset_add_key(&a, 1, "y", 1);
    ks_txn t;
    keyset_begin(&a, &t);
    CHECK_EQ_INT(keyset_covered(&a, &t), 1);
    /* Some key of many lands in a shard t did not lock. */
    char names[64][16];
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "z%d", i);
        keyset_add_key(&b, 0, names[i], strlen(names[i]));
    }
    CHECK_EQ_INT(keyset_covered(&b, &t), 0);
    keyset_free(&b);
    keyset_init(&b);
    keyset_add_db(&b, 0);
    CHECK_EQ_INT(keyset_covered(&b, &t), 0);
    ks_txn_commit(&t);
    /* Whole databases: the keys' databases join them. */
    keyset_add_key(&b, 2, "k", 1);
    keyset_begin(&b, &t);
    CHECK_EQ_INT(keyset_covered(&b, &t), 1);
    CHECK_EQ_INT(keyset_covered(&a, &t), 0); /* db 1 is not held */
    ks_txn_commit(&t);
    keyset_add_all(&b);
    keyset_begin(&b, &t);
    CHECK_EQ_INT(keyset_covered(&a, &t), 1);
    CHECK_EQ_INT(keyset_covered(&b, &t), 1);
    ks_txn_commit(&t);
    keyset_free(&a);
    keyset_free(&b);
}

int main(void) {
    server.databases = 16;
    server.shards = 16;
    commands_init();
    if (engine_open() != 0) return 1;
    RUN(from_the_table);
    RUN(three_databases_are_all);
    RUN(covered);
    engine_close();
    return testlib_finish();
}
