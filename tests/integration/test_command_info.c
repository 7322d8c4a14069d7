/*
 * COMMAND introspection against a real redis-server 7.0: for every command
 * and subcommand Lightning's COMMAND LIST names, COMMAND INFO must report
 * the same name, arity, flags, first/last key, key step and ACL categories
 * as Redis (each mismatch is printed; any fails the test). Tips, key specs
 * and subcommand order are not compared: specs are derived (cmd_command.c),
 * and Redis orders subcommands by hash. Plus COUNT / LIST / INFO / DOCS /
 * GETKEYS behaviour and errors, RESP2 and RESP3.
 */
#include "../difftest.h"

#include <stdlib.h>

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The fields compared, by index in a COMMAND INFO entry. */
static const char *const info_fields[] = {
    "name", "arity", "flags", "first key", "last key", "key step", "acl categories",
};
#define INFO_FIELDS (int)(sizeof(info_fields) / sizeof(info_fields[0]))

/* COMMAND INFO of all names at once on c. Caller frees (freeReplyObject). */
static redisReply *info_of(redisContext *c, const redisReply *names) {
    size_t argc = names->elements + 2;
    const char **argv = calloc(argc, sizeof(*argv));
    size_t *lens = calloc(argc, sizeof(*lens));
    argv[0] = "COMMAND";
    lens[0] = 7;
    argv[1] = "INFO";
    lens[1] = 4;
    for (size_t i = 0; i < names->elements; i++) {
        argv[i + 2] = names->element[i]->str;
        lens[i + 2] = names->element[i]->len;
    }
    redisReply *r = redisCommandArgv(c, (int)argc, argv, lens);
    free(argv);
    free(lens);
    return r;
}

/* Commands Lightning takes from Redis releases newer than 7.0 (client
 * libraries send them), and Lightning's own (BACKUP, docs/BACKUP.md):
 * Redis 7.0 must not know them, or this list is stale. */
static const char *from_newer_redis[] = {"client|setinfo", "backup", "backup|begin",
                                         "backup|status", "backup|sync", "backup|read",
                                         "backup|end", "backup|help", NULL};

static int is_from_newer_redis(const char *name) {
    for (int i = 0; from_newer_redis[i]; i++)
        if (!strcmp(from_newer_redis[i], name)) return 1;
    return 0;
}

TEST(info_matches_redis) {
    REQUIRE(difftest_start(NULL));
    if (!RS) return; /* harness marked the test skipped */
    REQUIRE(R);

    redisReply *names = redisCommand(L, "COMMAND LIST");
    REQUIRE(names && names->type == REDIS_REPLY_ARRAY && names->elements > 0);
    redisReply *il = info_of(L, names), *ir = info_of(R, names);
    REQUIRE(il && ir && il->type == REDIS_REPLY_ARRAY && ir->type == REDIS_REPLY_ARRAY);
    REQUIRE(il->elements == names->elements && ir->elements == names->elements);

    int mismatches = 0;
    for (size_t i = 0; i < names->elements; i++) {
        const char *name = names->element[i]->str;
        const redisReply *el = il->element[i], *er = ir->element[i];
        if (el->type != REDIS_REPLY_ARRAY || el->elements != 10) {
            char *t = reply_to_string(el);
            testlib_fail(__FILE__, __LINE__, "%s: Lightning's entry is %s", name, t);
            free(t);
            mismatches++;
            continue;
        }
        if (is_from_newer_redis(name)) {
            if (er->type == REDIS_REPLY_ARRAY)
                testlib_fail(__FILE__, __LINE__, "%s: Redis 7.0 knows it now", name);
            continue;
        }
        if (er->type != REDIS_REPLY_ARRAY) {
            testlib_fail(__FILE__, __LINE__, "%s: Redis does not know it", name);
            mismatches++;
            continue;
        }
        for (int f = 0; f < INFO_FIELDS; f++) {
            char *tl = reply_to_string(el->element[f]), *tr = reply_to_string(er->element[f]);
            if (strcmp(tl, tr) != 0) {
                testlib_fail(__FILE__, __LINE__, "%s %s: lightning %s, redis %s", name,
                             info_fields[f], tl, tr);
                mismatches++;
            }
            free(tl);
            free(tr);
        }
    }
    printf("# %zu commands compared, %d mismatches\n", names->elements, mismatches);
    freeReplyObject(names);
    freeReplyObject(il);
    freeReplyObject(ir);
}

/* COUNT is the number of top-level names of LIST; bare COMMAND and INFO
 * without names describe exactly those. */
TEST(count_list_and_bare_command) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *cl = harness_connect(l);
    REQUIRE(cl);
    redisReply *count = redisCommand(cl, "COMMAND COUNT");
    redisReply *list = redisCommand(cl, "COMMAND LIST");
    REQUIRE(count && count->type == REDIS_REPLY_INTEGER);
    REQUIRE(list && list->type == REDIS_REPLY_ARRAY);
    long long top = 0;
    int has_info = 0;
    for (size_t i = 0; i < list->elements; i++) {
        if (!strchr(list->element[i]->str, '|')) top++;
        if (!strcmp(list->element[i]->str, "command|info")) has_info = 1;
    }
    CHECK_EQ_INT(count->integer, top);
    CHECK(has_info);

    const char *const forms[][3] = {{"COMMAND", NULL, NULL}, {"COMMAND", "INFO", NULL}};
    for (size_t f = 0; f < 2; f++) {
        redisReply *all = redisCommandArgv(cl, forms[f][1] ? 2 : 1, (const char **)forms[f], NULL);
        CHECK(all && all->type == REDIS_REPLY_ARRAY);
        if (all && all->type == REDIS_REPLY_ARRAY) CHECK_EQ_INT(all->elements, count->integer);
        else printf("# %s: %s\n", forms[f][1] ? "COMMAND INFO" : "COMMAND",
                    all && all->str ? all->str : "no reply");
        if (all) freeReplyObject(all);
    }
    freeReplyObject(count);
    freeReplyObject(list);
}

TEST(list_filters_and_errors) {
    REQUIRE(difftest_start(NULL));
    CU("COMMAND", "LIST", "FILTERBY", "PATTERN", "command|*");
    CU("COMMAND", "LIST", "FILTERBY", "pattern", "COMMAND|G?TKEYS*");
    C("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch");
    C("COMMAND", "LIST", "FILTERBY", "ACLCAT", "@connection");
    C("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat");
    C("COMMAND", "LIST", "FILTERBY", "foo", "x");
    C("COMMAND", "LIST", "FILTERBY", "PATTERN");
    C("COMMAND", "LIST", "FILTERBY", "PATTERN", "*", "extra");
    C("COMMAND", "LIST", "foo");
    /* Every name ACLCAT connection lists has @connection. */
    redisReply *conn = redisCommand(L, "COMMAND LIST FILTERBY ACLCAT CONNECTION");
    REQUIRE(conn && conn->type == REDIS_REPLY_ARRAY);
    CHECK(conn->elements > 0);
    for (size_t i = 0; i < conn->elements; i++) {
        const char *info = cmd(L, "COMMAND INFO %s", conn->element[i]->str);
        if (!strstr(info, "status:\"@connection\""))
            testlib_fail(__FILE__, __LINE__, "%s: %s", conn->element[i]->str, info);
    }
    freeReplyObject(conn);
}

TEST(info_and_docs_lookup) {
    REQUIRE(difftest_start(NULL));
    C("COMMAND", "INFO", "nosuch");
    C("COMMAND", "INFO", "command|count", "nosuch", "COMMAND|nosuch",
      "command|count|x");
    C("COMMAND", "INFO", "Command|Count");
    C("COMMAND", "DOCS", "nosuch");
    const char *docs = COMPARE(L, NULL, "COMMAND", "DOCS", "nosuch", "command|count");
    CHECK(starts_with(docs, "array[bulk:\"command|count\",array[bulk:\"summary\","));
    CHECK(strstr(docs, "bulk:\"group\",bulk:\"server\"") != NULL);
    CHECK(strstr(docs, "arguments") == NULL);
    docs = COMPARE(L, NULL, "COMMAND", "DOCS", "command");
    CHECK(strstr(docs, "bulk:\"subcommands\",array[bulk:\"command|") != NULL);
}

/* RESP3 shapes: sets for flags/categories/tips/specs, maps for key specs
 * and DOCS, null for unknown names. Byte-compared on a subcommand whose
 * every field we report like Redis. */
TEST(resp3_shapes) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    RAW_COMPARE(fl, fr, "COMMAND", "INFO", "command|count", "nosuch");
    RAW_COMPARE(fl, fr, "COMMAND", "DOCS", "nosuch");
    const char *docs = RAW_COMPARE(fl, -1, "COMMAND", "DOCS", "command|count");
    CHECK(starts_with(docs, "map{bulk:\"command|count\"=>map{bulk:\"summary\"=>"));
}

TEST(getkeys) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
                 "array[bulk:\"a\",bulk:\"b\"]");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "set", "k", "v"), "array[bulk:\"k\"]");
    C("COMMAND", "GETKEYSANDFLAGS", "get", "k");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "nosuch", "k"),
                 "err:\"ERR Invalid command specified\"");
    C("COMMAND", "GETKEYS", "client", "nosuch");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "ping", "x"),
                 "err:\"ERR The command has no key arguments\"");
    C("COMMAND", "GETKEYS", "config", "get");
    C("COMMAND", "GETKEYSANDFLAGS", "command", "count");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "get", "a", "b"),
                 "err:\"ERR Invalid number of arguments specified for command\"");
    C("COMMAND", "GETKEYS", "mset", "a", "1", "b");
    C("COMMAND", "GETKEYS", "get");
}

TEST(help) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *cl = harness_connect(l);
    REQUIRE(cl);
    const char *help = cmd(cl, "COMMAND HELP");
    CHECK(starts_with(help, "array[status:\"COMMAND <subcommand> [<arg> [value] [opt] ...]. "
                        "Subcommands are:\""));
    CHECK(strstr(help, "status:\"GETKEYSANDFLAGS <full-command>\"") != NULL);
    CHECK(strstr(help, "status:\"HELP\"") != NULL);
}

int main(void) {
    RUN(info_matches_redis);
    RUN(count_list_and_bare_command);
    RUN(list_filters_and_errors);
    RUN(info_and_docs_lookup);
    RUN(resp3_shapes);
    RUN(getkeys);
    RUN(help);
    return testlib_finish();
}
