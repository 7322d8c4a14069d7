/*
 * Unit tests of cmd_command.c without a server: the handlers and the
 * COMMAND INFO / DOCS encoders write into a client struct that is never
 * connected, and the bytes are compared with what Redis 7.0.15 sends.
 * Hand-made table entries (GET, MSET, RENAME ...) pin the flag order,
 * category order and the key-spec derivation independently of which
 * commands the real table holds.
 */
#include "../testlib.h"

#include <stdlib.h>

#include "server/cmd/commands.h"
#include "server/net/reply.h"


static client *fake_client(int resp) {
    client *c = calloc(1, sizeof(*c));
    /* Already "queued for writing": the reply code never touches a worker. */
    c->flags = CLIENT_PENDING_WRITE | CLIENT_AUTHENTICATED;
    c->resp = resp;
    return c;
}

/* Everything replied so far (buf, then chunks); malloc'd, NUL-terminated. */
static char *reply_bytes(client *c) {
    size_t len = c->bufpos;
    for (reply_chunk *ch = c->reply_head; ch; ch = ch->next) len += ch->used;
    char *out = malloc(len + 1);
    memcpy(out, c->buf, c->bufpos);
    size_t off = c->bufpos;
    for (reply_chunk *ch = c->reply_head; ch; ch = ch->next) {
        memcpy(out + off, ch->buf, ch->used);
        off += ch->used;
    }
    out[len] = '\0';
    return out;
}

static void free_client(client *c) {
    for (reply_chunk *ch = c->reply_head, *next; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    free(c->argv);
    free(c);
}

/* Runs proc on a fresh RESP2 client with argv = the NULL-terminated words;
 * returns the reply bytes (malloc'd). */
static char *run(command_proc *proc, const char *const *words) {
    client *c = fake_client(2);
    while (words[c->argc]) c->argc++;
    c->argv = calloc((size_t)c->argc, sizeof(*c->argv));
    for (int i = 0; i < c->argc; i++) {
        c->argv[i].ptr = (char *)words[i];
        c->argv[i].len = strlen(words[i]);
    }
    c->cmd = command_lookup("command", 7);
    proc(c);
    char *out = reply_bytes(c);
    free_client(c);
    return out;
}
#define RUN_CMD(proc, ...) run((proc), (const char *const[]){__VA_ARGS__, NULL})

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static char *info_bytes(const command *cmd, int resp) {
    client *c = fake_client(resp);
    command_reply_info(c, cmd);
    char *out = reply_bytes(c);
    free_client(c);
    return out;
}

static char *docs_bytes(const command *cmd) {
    client *c = fake_client(2);
    command_reply_docs(c, cmd);
    char *out = reply_bytes(c);
    free_client(c);
    return out;
}

#define CHECK_BYTES(got, want)                                                \
    do {                                                                      \
        char *_g = (got);                                                     \
        CHECK_EQ_STR(_g, want);                                               \
        free(_g);                                                             \
    } while (0)

static const command cmd_get = {
    .name = "get", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
    .acl = ACL_READ | ACL_STRING | ACL_FAST, .key_first = 1, .key_last = 1,
    .key_step = 1, .fullname = "get"};

/* One derived key spec, RESP2 (flags given as "*N\r\n+F\r\n..."). */
#define SPEC2(flags, index, lastkey, keystep)                                 \
    "*6\r\n$5\r\nflags\r\n" flags "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n" \
    "$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:" index "\r\n"        \
    "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"    \
    "*6\r\n$7\r\nlastkey\r\n:" lastkey "\r\n$7\r\nkeystep\r\n:" keystep        \
    "\r\n$5\r\nlimit\r\n:0\r\n"

/* Byte for byte what redis-server 7.0.15 sends for COMMAND INFO get
 * (without the outer *1), RESP2 and RESP3. */
TEST(info_get_matches_redis_bytes) {
    CHECK_BYTES(info_bytes(&cmd_get, 2),
                "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n"
                ":1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n"
                "*0\r\n*1\r\n" SPEC2("*2\r\n+RO\r\n+access\r\n", "1", "0", "1")
                "*0\r\n");
    CHECK_BYTES(info_bytes(&cmd_get, 3),
                "*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n"
                ":1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n"
                "~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n"
                "$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
                "$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n"
                "%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n"
                "$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n"
                ":0\r\n~0\r\n");
}

/* MSET: range to the end with step 2 gives one spec, lastkey -1 keystep 2
 * (as Redis); the flags are derived (Redis says OW update). Tips are a set
 * of bulk strings. */
TEST(info_mset_range_spec_and_tips) {
    command mset = {.name = "mset", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
                    .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, .key_first = 1,
                    .key_last = -1, .key_step = 2,
                    .tips = "request_policy:multi_shard response_policy:all_succeeded",
                    .fullname = "mset"};
    CHECK_BYTES(info_bytes(&mset, 2),
                "*10\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n"
                ":1\r\n:-1\r\n:2\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n"
                "*2\r\n$26\r\nrequest_policy:multi_shard\r\n"
                "$29\r\nresponse_policy:all_succeeded\r\n*1\r\n"
                SPEC2("*3\r\n+RW\r\n+access\r\n+update\r\n", "1", "-1", "2") "*0\r\n");
}

/* RENAME 1..2: one single-key spec per position, as Redis has. */
TEST(info_rename_fixed_range_splits_specs) {
    command rename = {.name = "rename", .arity = 3, .flags = CMD_WRITE,
                      .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW, .key_first = 1,
                      .key_last = 2, .key_step = 1, .fullname = "rename"};
    CHECK_BYTES(info_bytes(&rename, 2),
                "*10\r\n$6\r\nrename\r\n:3\r\n*1\r\n+write\r\n:1\r\n:2\r\n:1\r\n"
                "*3\r\n+@keyspace\r\n+@write\r\n+@slow\r\n*0\r\n*2\r\n"
                SPEC2("*3\r\n+RW\r\n+access\r\n+update\r\n", "1", "0", "1")
                SPEC2("*3\r\n+RW\r\n+access\r\n+update\r\n", "2", "0", "1") "*0\r\n");
}

/* Every flag set: Redis's order, may_replicate and sentinel flags hidden.
 * Every category: Redis's ACLCommandCategories order. Movable keys mark the
 * derived spec incomplete; no key range means no spec. */
TEST(info_flag_and_category_order) {
    command all = {.name = "x", .arity = -1, .flags = ~0ull, .acl = (1ull << 21) - 1,
                   .fullname = "x"};
    CHECK_BYTES(info_bytes(&all, 2),
                "*10\r\n$1\r\nx\r\n:-1\r\n*19\r\n+write\r\n+readonly\r\n+denyoom\r\n"
                "+admin\r\n+pubsub\r\n+noscript\r\n+blocking\r\n+loading\r\n"
                "+stale\r\n+skip_monitor\r\n+skip_slowlog\r\n+asking\r\n+fast\r\n"
                "+no_auth\r\n+no_mandatory_keys\r\n+no_async_loading\r\n"
                "+no_multi\r\n+movablekeys\r\n+allow_busy\r\n:0\r\n:0\r\n:0\r\n"
                "*21\r\n+@keyspace\r\n+@read\r\n+@write\r\n+@set\r\n+@sortedset\r\n"
                "+@list\r\n+@hash\r\n+@string\r\n+@bitmap\r\n+@hyperloglog\r\n"
                "+@geo\r\n+@stream\r\n+@pubsub\r\n+@admin\r\n+@fast\r\n+@slow\r\n"
                "+@blocking\r\n+@dangerous\r\n+@connection\r\n+@transaction\r\n"
                "+@scripting\r\n*0\r\n*0\r\n*0\r\n");
    command zstore = {.name = "zunionstore", .arity = -4,
                      .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
                      .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW, .key_first = 1,
                      .key_last = 1, .key_step = 1, .fullname = "zunionstore"};
    char *got = info_bytes(&zstore, 2);
    CHECK(strstr(got, "+write\r\n+denyoom\r\n+movablekeys\r\n") != NULL);
    CHECK(strstr(got, "*4\r\n+RW\r\n+access\r\n+update\r\n+incomplete\r\n") != NULL);
    free(got);
}

TEST(info_unknown_is_null) {
    CHECK_BYTES(info_bytes(NULL, 2), "$-1\r\n");
    CHECK_BYTES(info_bytes(NULL, 3), "_\r\n");
}

/* A container: subcommands are an array of full entries. */
TEST(info_container_lists_subcommands) {
    command subs[] = {
        {.name = "id", .arity = 2, .acl = ACL_SLOW, .fullname = "box|id"},
        {0},
    };
    command box = {.name = "box", .arity = -2, .acl = ACL_SLOW, .subcommands = subs,
                   .fullname = "box"};
    CHECK_BYTES(info_bytes(&box, 3),
                "*10\r\n$3\r\nbox\r\n:-2\r\n~0\r\n:0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n"
                "~0\r\n~0\r\n*1\r\n*10\r\n$6\r\nbox|id\r\n:2\r\n~0\r\n:0\r\n:0\r\n"
                ":0\r\n~1\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n");
}

/* DOCS: NULL fields left out, subcommands as a map by full name. */
TEST(docs_omits_null_fields) {
    /* A command with no docs fields and no argument specs. */
    command bare = cmd_get;
    snprintf(bare.fullname, sizeof(bare.fullname), "nosuchcmd");
    CHECK_BYTES(docs_bytes(&bare), "*0\r\n");
    /* GET has Redis's argument specs: "key", a key at spec 0. */
    CHECK_BYTES(docs_bytes(&cmd_get),
                "*2\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n"
                "$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n");
    command subs[] = {
        {.name = "id", .since = "5.0.0", .group = "connection", .fullname = "box|id"},
        {0},
    };
    command box = {.name = "box", .summary = "A box", .since = "1.0.0",
                   .group = "connection", .complexity = "O(1)", .subcommands = subs,
                   .fullname = "box"};
    CHECK_BYTES(docs_bytes(&box),
                "*10\r\n$7\r\nsummary\r\n$5\r\nA box\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n"
                "$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
                "$11\r\nsubcommands\r\n*2\r\n$6\r\nbox|id\r\n*4\r\n$5\r\nsince\r\n"
                "$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n");
}

/* The handlers against the real table. */
TEST(count_and_list) {
    char want[32];
    snprintf(want, sizeof(want), ":%d\r\n", commands_count());
    CHECK_BYTES(RUN_CMD(commandCountCommand, "COMMAND", "COUNT"), want);
    snprintf(want, sizeof(want), "*%d\r\n", commands_total());
    char *list = RUN_CMD(commandListCommand, "COMMAND", "LIST");
    CHECK(starts_with(list, want));
    CHECK(strstr(list, "$7\r\ncommand\r\n") != NULL);
    CHECK(strstr(list, "$12\r\ncommand|info\r\n") != NULL);
    free(list);
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "pattern",
                        "COMMAND|G*"),
                "*2\r\n$15\r\ncommand|getkeys\r\n$23\r\ncommand|getkeysandflags\r\n");
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "aclcat",
                        "@connection"), "*0\r\n");
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "module",
                        "x"), "*0\r\n");
    char *conn = RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "ACLCAT",
                         "Connection");
    CHECK(strstr(conn, "$12\r\ncommand|list\r\n") != NULL);
    CHECK(strstr(conn, "$4\r\ninfo\r\n") == NULL);
    free(conn);
    const char *syntax = "-ERR syntax error\r\n";
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "foo", "x"),
                syntax);
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "pattern"),
                syntax);
    CHECK_BYTES(RUN_CMD(commandListCommand, "COMMAND", "LIST", "FILTERBY", "pattern",
                        "*", "x"), syntax);
}

TEST(info_and_docs_lookup_by_fullname) {
    char *got = RUN_CMD(commandInfoCommand, "COMMAND", "INFO", "nosuch", "COMMAND|Info",
                        "command|nosuch", "get|x");
    CHECK(starts_with(got, "*4\r\n$-1\r\n*10\r\n$12\r\ncommand|info\r\n"));
    CHECK(strcmp(got + strlen(got) - 10, "$-1\r\n$-1\r\n") == 0);
    free(got);
    CHECK_BYTES(RUN_CMD(commandDocsCommand, "COMMAND", "DOCS", "nosuch"), "*0\r\n");
    got = RUN_CMD(commandDocsCommand, "COMMAND", "DOCS", "nosuch", "command|count");
    CHECK(starts_with(got, "*2\r\n$13\r\ncommand|count\r\n"));
    free(got);
}

TEST(getkeys_errors) {
    CHECK_BYTES(RUN_CMD(commandGetKeysCommand, "COMMAND", "GETKEYS", "nosuch"),
                "-ERR Invalid command specified\r\n");
    CHECK_BYTES(RUN_CMD(commandGetKeysCommand, "COMMAND", "GETKEYS", "command", "nosuch"),
                "-ERR Invalid command specified\r\n");
    CHECK_BYTES(RUN_CMD(commandGetKeysCommand, "COMMAND", "GETKEYS", "command"),
                "-ERR The command has no key arguments\r\n");
    CHECK_BYTES(RUN_CMD(commandGetKeysAndFlagsCommand, "COMMAND", "GETKEYSANDFLAGS",
                        "command", "count"),
                "-ERR The command has no key arguments\r\n");
}

TEST(help_lists_every_subcommand) {
    char *got = RUN_CMD(commandHelpCommand, "COMMAND", "HELP");
    CHECK(starts_with(got, "*19\r\n+COMMAND <subcommand> "));
    const char *subs[] = {"+COUNT\r\n", "+LIST ", "+INFO ", "+DOCS ", "+GETKEYS ",
                          "+GETKEYSANDFLAGS ", "+HELP\r\n"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        CHECK(strstr(got, subs[i]) != NULL);
    free(got);
}

int main(void) {
    commands_init();
    RUN(info_get_matches_redis_bytes);
    RUN(info_mset_range_spec_and_tips);
    RUN(info_rename_fixed_range_splits_specs);
    RUN(info_flag_and_category_order);
    RUN(info_unknown_is_null);
    RUN(info_container_lists_subcommands);
    RUN(docs_omits_null_fields);
    RUN(count_and_list);
    RUN(info_and_docs_lookup_by_fullname);
    RUN(getkeys_errors);
    RUN(help_lists_every_subcommand);
    return testlib_finish();
}
