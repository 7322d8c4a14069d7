/*
 * test_acl: ACL users and permissions against a real redis-server 7.0.15 —
 * ACL CAT per category, SETUSER/LIST/GETUSER descriptions, malformed rules
 * (Redis's error, nothing changed), a randomized permission matrix
 * (categories, commands, first args, %R~/%W~ key patterns, selectors)
 * compared with ACL DRYRUN and by running the commands as the user,
 * -NOPERM texts, ACL LOG entries, MULTI/EXEC (queue time and EXEC time),
 * AUTH/HELLO/WHOAMI/CLIENT LIST user=/CLIENT KILL USER/DELUSER,
 * requirepass, config-file `user` lines and aclfile LOAD/SAVE.
 *
 * Redis orders single-command rules (and ACL CAT <category>) by its
 * randomly seeded command dict, so those runs are compared sorted.
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sorts each run of single-command rules ("+get", "-client|id") of a rule
 * line; parentheses of selectors stay where they are. malloc'd. */
static char *normalize_rules(const char *line) {
    char *copy = strdup(line);
    char *tok[512];
    int n = 0;
    for (char *s = strtok(copy, " "); s && n < 512; s = strtok(NULL, " ")) tok[n++] = s;
    size_t cap = strlen(line) + 8;
    char *out = calloc(1, cap);
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && (tok[j][0] == '+' || tok[j][0] == '-') && tok[j][1] != '@') j++;
        if (j > i) {
            /* a run [i, j): strip a closing ')' of the last, sort, put it back */
            int close = tok[j - 1][strlen(tok[j - 1]) - 1] == ')';
            char *run[512];
            for (int k = i; k < j; k++) {
                run[k - i] = strdup(tok[k]);
                size_t l = strlen(run[k - i]);
                if (close && k == j - 1) run[k - i][l - 1] = '\0';
            }
            for (int a = 0; a < j - i; a++)
                for (int b = a + 1; b < j - i; b++)
                    if (strcmp(run[a], run[b]) > 0) {
                        char *t = run[a];
                        run[a] = run[b];
                        run[b] = t;
                    }
            for (int k = 0; k < j - i; k++) {
                if (*out) strcat(out, " ");
                strcat(out, run[k]);
                free(run[k]);
            }
            if (close) strcat(out, ")");
            i = j;
        } else {
            if (*out) strcat(out, " ");
            strcat(out, tok[i]);
            i++;
        }
    }
    free(copy);
    return out;
}

/* One rendered reply, with rule lines normalized: array elements of ACL
 * LIST, or the "commands" value of ACL GETUSER. */
static char *norm_reply(redisReply *r) {
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    if (!r) return strcpy(out, "(null)");
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i];
            char *s;
            if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) {
                s = normalize_rules(e->str);
            } else if (e->type == REDIS_REPLY_ARRAY) {
                s = norm_reply(e);
            } else {
                s = reply_to_string(e);
            }
            len += (size_t)snprintf(out + len, cap - len, "[%s]", s);
            free(s);
        }
        return out;
    }
    char *s = reply_to_string(r);
    snprintf(out, cap, "%s", s);
    free(s);
    return out;
}

/* Runs argv on both servers, compares replies after normalize; returns
 * Lightning's normalized text (static, valid until the next call). */
static const char *cmp_norm(const char *file, int line, redisContext *a, redisContext *b,
                            const char *const *argv) {
    static char *last;
    int argc = 0;
    while (argv[argc]) argc++;
    redisReply *ra = redisCommandArgv(a, argc, (const char **)argv, NULL);
    char *sa = norm_reply(ra);
    if (b) {
        redisReply *rb = redisCommandArgv(b, argc, (const char **)argv, NULL);
        char *sb = norm_reply(rb);
        if (strcmp(sa, sb))
            testlib_fail(file, line, "%s %s: lightning %s != redis %s", argv[0],
                         argc > 1 ? argv[1] : "", sa, sb);
        free(sb);
        if (rb) freeReplyObject(rb);
    }
    if (ra) freeReplyObject(ra);
    free(last);
    last = sa;
    return sa;
}
#define CN(...) cmp_norm(__FILE__, __LINE__, L, R, (const char *const[]){__VA_ARGS__, NULL})

/* Whether Lightning has the command ("name" or "container|sub"): COMMAND
 * INFO answers an entry (not nil). */
static int lightning_has(const char *name) {
    /* A container's COMMAND INFO nests deeper than hiredis reads: top-level
     * names are asked with COMMAND LIST's pattern filter. */
    int sub = strchr(name, '|') != NULL;
    redisReply *r = sub ? redisCommand(L, "COMMAND INFO %s", name)
                        : redisCommand(L, "COMMAND LIST FILTERBY PATTERN %s", name);
    int have = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
               (sub ? r->element[0]->type == REDIS_REPLY_ARRAY
                    : r->element[0]->type == REDIS_REPLY_STRING);
    if (r) freeReplyObject(r);
    return have;
}

/* Whether Redis knows the command (or the container of a "name|sub"). */
static int redis_has_command(redisContext *R, const char *name) {
    char top[64];
    snprintf(top, sizeof(top), "%.*s", (int)strcspn(name, "|"), name);
    redisReply *r = redisCommand(R, "COMMAND INFO %s", top);
    int has = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
              r->element[0]->type == REDIS_REPLY_ARRAY;
    freeReplyObject(r);
    return has;
}

/* ACL CAT and each category's commands, restricted to the commands
 * Lightning has (others come with their families). */
TEST(acl_cat) {
    REQUIRE(difftest_start(NULL));
    EXPECT("array[bulk:\"keyspace\",bulk:\"read\",bulk:\"write\",bulk:\"set\","
           "bulk:\"sortedset\",bulk:\"list\",bulk:\"hash\",bulk:\"string\",bulk:\"bitmap\","
           "bulk:\"hyperloglog\",bulk:\"geo\",bulk:\"stream\",bulk:\"pubsub\",bulk:\"admin\","
           "bulk:\"fast\",bulk:\"slow\",bulk:\"blocking\",bulk:\"dangerous\","
           "bulk:\"connection\",bulk:\"transaction\",bulk:\"scripting\"]",
           "ACL", "CAT");
    EXPECT("err:\"ERR Unknown category 'nosuch'\"", "ACL", "CAT", "nosuch");
    static const char *cats[] = {"keyspace", "read", "write", "set", "sortedset", "list",
                                 "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
                                 "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
                                 "connection", "transaction", "scripting"};
    for (size_t i = 0; i < NELEM(cats); i++) {
        redisReply *lr = redisCommand(L, "ACL CAT %s", cats[i]);
        if (!lr || lr->type != REDIS_REPLY_ARRAY) fprintf(stderr, "# %s: %s\n", cats[i], lr ? lr->str : L->errstr);
        REQUIRE(lr && lr->type == REDIS_REPLY_ARRAY);
        if (!R) {
            CHECK(lr->elements > 0 || !strcmp(cats[i], "pubsub") || !strcmp(cats[i], "scripting"));
            freeReplyObject(lr);
            continue;
        }
        redisReply *rr = redisCommand(R, "ACL CAT %s", cats[i]);
        REQUIRE(rr && rr->type == REDIS_REPLY_ARRAY);
        /* Every Lightning command of the category is in Redis's list, and
         * every command of Redis's list Lightning has is in ours. */
        for (size_t j = 0; j < rr->elements; j++) {
            const char *name = rr->element[j]->str;
            int have = lightning_has(name);
            if (!have) continue;
            int found = 0;
            for (size_t k = 0; k < lr->elements && !found; k++)
                found = !strcmp(lr->element[k]->str, name);
            if (!found) testlib_fail(__FILE__, __LINE__, "@%s lacks %s", cats[i], name);
        }
        for (size_t k = 0; k < lr->elements; k++) {
            /* client|setinfo (7.2) and commands Redis does not have
             * (BACKUP) are Lightning's own additions. */
            if (!strcmp(lr->element[k]->str, "client|setinfo")) continue;
            if (!redis_has_command(R, lr->element[k]->str)) continue;
            int found = 0;
            for (size_t j = 0; j < rr->elements && !found; j++)
                found = !strcmp(lr->element[k]->str, rr->element[j]->str);
            if (!found)
                testlib_fail(__FILE__, __LINE__, "@%s has %s, Redis does not", cats[i],
                             lr->element[k]->str);
        }
        freeReplyObject(lr);
        freeReplyObject(rr);
    }
}

/* Lightning's ACL LIST line of user, applied to a fresh user "rt", must
 * describe the same permissions again (the description is a faithful
 * rule set: acl.c also asserts the bitmap it rebuilds). */
static void check_round_trip(const char *user) {
    redisReply *r = redisCommand(L, "ACL LIST");
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "user %s ", user);
    char *line = NULL;
    for (size_t i = 0; i < r->elements; i++)
        if (!strncmp(r->element[i]->str, prefix, strlen(prefix)))
            line = strdup(r->element[i]->str + strlen(prefix));
    freeReplyObject(r);
    REQUIRE(line);
    /* Redis's quirk: "%R~*" then "%W~*" is a pattern "*" described as "~*",
     * which read back means allkeys and drops the other patterns. */
    const char *star = strstr(line, "~* ");
    if (star && (strchr(line, '~') != star || strchr(star + 1, '~'))) {
        free(line);
        return;
    }
    redisReply *d0 = redisCommand(L, "ACL DELUSER rt");
    if (d0) freeReplyObject(d0);
    const char *argv[600] = {"ACL", "SETUSER", "rt"};
    int n = 3;
    char *copy = strdup(line);
    for (char *t = strtok(copy, " "); t && n < 599; t = strtok(NULL, " ")) argv[n++] = t;
    redisReply *s = redisCommandArgv(L, n, argv, NULL);
    CHECK(s && s->type == REDIS_REPLY_STATUS);
    if (s) freeReplyObject(s);
    r = redisCommand(L, "ACL LIST");
    char *again = NULL;
    for (size_t i = 0; r && i < r->elements; i++)
        if (!strncmp(r->element[i]->str, "user rt ", 8)) again = strdup(r->element[i]->str + 8);
    if (r) freeReplyObject(r);
    CHECK_EQ_STR(again, line);
    free(again);
    free(copy);
    free(line);
    redisReply *d = redisCommand(L, "ACL DELUSER rt");
    if (d) freeReplyObject(d);
}

/* SETUSER then ACL LIST / GETUSER, for rule combinations whose description
 * Redis derives from the bitmap (categories chosen greedily). */
TEST(setuser_describe) {
    REQUIRE(difftest_start(NULL));
    static const char *const rules[][12] = {
        {"-@all", "+get"},
        {"+@all", "-get", "+get"},
        {"+@all", "-get"},
        {"-@all", "+get", "-get"},
        {"-@all", "+@string", "-get", "+get"},
        {"-@all", "+@hash", "+hget"},
        {"+@all", "-@admin", "+@admin"},
        {"-@all", "+@read", "-@read"},
        {"-@all", "+client", "+client|id"},
        {"-@all", "+client", "-client|id"},
        {"+@all", "-client|id", "+client"},
        {"-@all", "+get", "+@read"},
        {"-@all", "+get|x", "+get"},
        {"+@all", "-get", "+get|x", "+select|0"},
        {"nocommands", "+get", "allcommands"},
        {"-@all", "+get", "+set", "-get"},
        {"on", ">pw", "~foo*", "%R~bar*", "&ch*", "+get", "+@hash", "-hdel", "+client|id",
         "(+set ~sel*)"},
        {"on", "nopass", "allcommands", "-@admin", "+config|get", "~a", "%W~b", "%RW~c",
         "%R~*", "sanitize-payload"},
        {"-@all", "+@list", "+@blocking", "-blpop"},
        {"+@all", "-@list", "+lpush", "-@geo", "+georadius_ro"},
        {"on", ">a", ">b", "<a", "skip-sanitize-payload", "(~x +get)", "(  )"},
        {"reset", "on", "#3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"},
        {"resetchannels", "&a", "&b", "&a", "resetkeys", "~k", "%R~k", "%W~k"},
    };
    for (size_t i = 0; i < NELEM(rules); i++) {
        const char *argv[20] = {"ACL", "SETUSER", "t"};
        int n = 3;
        for (int j = 0; j < 12 && rules[i][j]; j++) argv[n++] = rules[i][j];
        argv[n] = NULL;
        C("ACL", "DELUSER", "t");
        CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "status:\"OK\"");
        CN("ACL", "LIST");
        CN("ACL", "GETUSER", "t");
        check_round_trip("t");
    }
    /* Categories Lightning has fewer commands of than Redis (no scripting,
     * cluster, replication or pub/sub commands yet) can make the greedy
     * description pick other categories: checked for a faithful round
     * trip and the same permissions only. */
    static const char *const partial[][8] = {
        {"+@read", "+@write", "-@dangerous", "allkeys", "allchannels"},
        {"+@all", "-@write", "+set", "-@keyspace"},
        {"-@all", "+@write", "+@keyspace"},
        {"+@all", "-@admin", "-@slow", "+config|get"},
    };
    for (size_t i = 0; i < NELEM(partial); i++) {
        const char *argv[16] = {"ACL", "SETUSER", "t", "reset", "on", "~k*"};
        int n = 6;
        for (int j = 0; j < 8 && partial[i][j]; j++) argv[n++] = partial[i][j];
        argv[n] = NULL;
        CHECK_EQ_STR(harness_compare(__FILE__, __LINE__, L, R, 0, argv), "status:\"OK\"");
        check_round_trip("t");
        static const char *const probes[][4] = {{"get", "k1"}, {"set", "k1", "v"},
                                                {"del", "k1"}, {"config", "get", "x"},
                                                {"flushall"}, {"keys", "*"}, {"hset", "k", "f", "v"}};
        for (size_t p = 0; p < NELEM(probes); p++) {
            const char *dv[8] = {"ACL", "DRYRUN", "t"};
            int m = 3;
            for (int j = 0; j < 4 && probes[p][j]; j++) dv[m++] = probes[p][j];
            dv[m] = NULL;
            harness_compare(__FILE__, __LINE__, L, R, 0, dv);
        }
    }
    C("ACL", "DELUSER", "t");
    C("ACL", "SETUSER", "t");
    EXPECT("array[bulk:\"default\",bulk:\"t\"]", "ACL", "USERS");
    EXPECT("nil", "ACL", "GETUSER", "nosuch");
    EXPECT("int:1", "ACL", "DELUSER", "t", "nosuch");
    EXPECT("err:\"ERR The 'default' user cannot be removed\"", "ACL", "DELUSER", "default");
    EXPECT("bulk:\"default\"", "ACL", "WHOAMI");
}

/* Malformed rules: Redis's error text, and the user unchanged. */
TEST(malformed_rules) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "m", "on", ">pw", "~k*", "+get");
    static const char *const bad[][4] = {
        {"badrule"},
        {"+nosuch"},
        {"+@nosuch"},
        {"-get|x"},
        {"+client|nosuch"},
        {"+get|"},
        {"+client|id|x"},
        {"(+get"},
        {"(", "+get"},
        {"%X~a"},
        {"%RR~a"},
        {"#abc"},
        {"!0000000000000000000000000000000000000000000000000000000000000000"},
        {"<notthere"},
        {"allkeys", "~foo"},
        {"allchannels", "&foo"},
        {"+set", "(~x +nosuch)"},
        {"on", "off", "+set", "bogus"},
        {"~a b"},
    };
    const char *before = strdup(CN("ACL", "LIST"));
    for (size_t i = 0; i < NELEM(bad); i++) {
        const char *argv[8] = {"ACL", "SETUSER", "m"};
        int n = 3;
        for (int j = 0; j < 4 && bad[i][j]; j++) argv[n++] = bad[i][j];
        argv[n] = NULL;
        const char *got = harness_compare(__FILE__, __LINE__, L, R, 0, argv);
        CHECK(!strncmp(got, "err:\"ERR ", 9));
        CHECK_EQ_STR(CN("ACL", "LIST"), before);
    }
    free((void *)before);
    EXPECT("err:\"ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category "
           "name in ACL\"",
           "ACL", "SETUSER", "m", "+nosuch");
    EXPECT("err:\"ERR Unmatched parenthesis in acl selector starting at '(+get'.\"", "ACL",
           "SETUSER", "m", "(+get");
    EXPECT("err:\"ERR Usernames can't contain spaces or null characters\"", "ACL", "SETUSER",
           "a b", "on");
    /* A failed SETUSER of a new user creates nothing. */
    C("ACL", "SETUSER", "newbie", "on", "+nosuch");
    EXPECT("nil", "ACL", "GETUSER", "newbie");
}

/* Randomized: users built from random rules, each command of a fixed set
 * asked with ACL DRYRUN on both servers. */
TEST(permission_matrix) {
    REQUIRE(difftest_start(NULL));
    unsigned seed = difftest_seed(23);
    static const char *const pieces[] = {
        "+@read", "+@write", "-@write", "+@string", "+@hash", "+@list", "-@dangerous",
        "+@keyspace", "-@keyspace", "+@admin", "+@fast", "-@slow", "+@sortedset", "+@bitmap",
        "+get", "-get", "+set", "+hset", "-hdel", "+client|id", "+config|get", "+client",
        "-client|list", "+del", "+mset", "+lmove", "+rename", "+copy", "+sort", "+select|0",
        "+get|k1", "allcommands", "nocommands", "~k*", "%R~r*", "%W~w*", "%RW~b*", "~*",
        "resetkeys", "%R~*", "%W~*", "(+set ~s*)", "(%R~* +@read)", "(+@all ~w*)",
        "clearselectors", "+zunionstore", "+bitop", "+getdel", "+append", "+keys",
    };
    static const char *const cmds[][8] = {
        {"get", "k1"}, {"get", "r1"}, {"get", "w1"}, {"get", "s1"}, {"set", "w1", "v"},
        {"set", "r1", "v"}, {"set", "k1", "v"}, {"set", "s1", "v"}, {"set", "b1", "v"},
        {"hset", "k1", "f", "v"}, {"hdel", "r1", "f"}, {"hget", "b2", "f"},
        {"mset", "k1", "v", "w2", "v"}, {"lmove", "k1", "w1", "left", "right"},
        {"lmove", "r1", "w1", "left", "right"}, {"rename", "r1", "w1"}, {"rename", "b1", "b2"},
        {"copy", "r1", "w1"}, {"del", "w1"}, {"del", "r1"}, {"client", "id"},
        {"client", "list"}, {"config", "get", "x"}, {"config", "set", "x", "y"},
        {"select", "0"}, {"select", "1"}, {"keys", "*"}, {"flushall"},
        {"sort", "k1", "by", "r*", "store", "w1"}, {"sort", "r1"},
        {"zunionstore", "w1", "2", "r1", "k1"}, {"getdel", "r1"}, {"getdel", "b1"},
        {"append", "b1", "x"}, {"bitop", "and", "w1", "r1", "r2"}, {"ping"}, {"auth", "a", "b"},
    };
    for (int iter = 0; iter < 120; iter++) {
        const char *argv[16] = {"ACL", "SETUSER", "p", "reset", "on", "nopass"};
        int n = 6;
        int k = 1 + rand() % 6;
        for (int j = 0; j < k; j++) argv[n++] = PICK(pieces);
        argv[n] = NULL;
        harness_compare(__FILE__, __LINE__, L, R, 0, argv);
        check_round_trip("p");
        for (size_t c = 0; c < NELEM(cmds); c++) {
            const char *dv[12] = {"ACL", "DRYRUN", "p"};
            int m = 3;
            for (int j = 0; j < 8 && cmds[c][j]; j++) dv[m++] = cmds[c][j];
            dv[m] = NULL;
            harness_compare(__FILE__, __LINE__, L, R, 0, dv);
        }
        if (difftest_failed_at(iter, seed, NULL, NULL, 0)) break;
    }
}

/* Commands run as a restricted user: -NOPERM texts, and what ACL LOG
 * records for them (client-info checked for the user and command only:
 * ids and addresses differ). */
static char *log_summary(redisContext *c) {
    redisReply *r = redisCommand(c, "ACL LOG");
    size_t cap = 1 << 14, len = 0;
    char *out = calloc(1, cap);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return strcpy(out, "(bad)");
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        len += (size_t)snprintf(out + len, cap - len, "{");
        for (size_t j = 0; j + 1 < e->elements; j += 2) {
            const char *k = e->element[j]->str;
            redisReply *v = e->element[j + 1];
            if (!strcmp(k, "age-seconds")) {
                len += (size_t)snprintf(out + len, cap - len, "age ");
            } else if (!strcmp(k, "client-info")) {
                const char *u = strstr(v->str, " user=");
                const char *cm = strstr(v->str, " cmd=");
                len += (size_t)snprintf(out + len, cap - len, "info(%.*s|%.*s) ",
                                        u ? (int)strcspn(u + 1, " ") : 0, u ? u + 1 : "",
                                        cm ? (int)strcspn(cm + 1, " ") : 0, cm ? cm + 1 : "");
            } else if (v->type == REDIS_REPLY_INTEGER) {
                len += (size_t)snprintf(out + len, cap - len, "%s=%lld ", k, v->integer);
            } else {
                len += (size_t)snprintf(out + len, cap - len, "%s=%s ", k, v->str);
            }
        }
        len += (size_t)snprintf(out + len, cap - len, "}");
    }
    freeReplyObject(r);
    return out;
}

TEST(noperm_and_log) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "lu", "on", ">p", "~k*", "&c*", "+get", "+set", "+multi", "+exec",
      "+acl|whoami", "+client|list");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    REQUIRE(lu);
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "lu", "p"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "GET", "a"),
                 "err:\"NOPERM this user has no permissions to access one of the keys used as "
                 "arguments\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "SET", "k1", "v"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "HSET", "k1", "a", "b"),
                 "err:\"NOPERM this user has no permissions to run the 'hset' command\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "CLIENT", "INFO"),
                 "err:\"NOPERM this user has no permissions to run the 'client|info' command\"");
    /* The same denial twice is one entry counted twice. */
    COMPARE(lu, ru, "GET", "a");
    CHECK_EQ_STR(COMPARE(lu, ru, "ACL", "WHOAMI"), "bulk:\"lu\"");
    /* Failed authentications are logged under the name tried. */
    COMPARE(lu, ru, "AUTH", "lu", "wrong");
    COMPARE(lu, ru, "AUTH", "nouser", "x");
    char *ls = log_summary(L), *rs = R ? log_summary(R) : NULL;
    if (rs) CHECK_EQ_STR(ls, rs);
    CHECK(strstr(ls, "{count=2 reason=key context=toplevel object=a username=lu age "
                     "info(user=lu|cmd=get) }"));
    CHECK(strstr(ls, "reason=auth context=toplevel object=AUTH username=nouser"));
    free(ls);
    free(rs);
    EXPECT("status:\"OK\"", "ACL", "LOG", "RESET");
    EXPECT("array[]", "ACL", "LOG");
    EXPECT(NOTINT, "ACL", "LOG", "x");
    EXPECT("err:\"ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL "
           "HELP.\"",
           "ACL", "LOG", "1", "2");
    /* acllog-max-len bounds the log. */
    C("CONFIG", "SET", "acllog-max-len", "2");
    COMPARE(lu, ru, "GET", "x1");
    COMPARE(lu, ru, "GET", "x2");
    COMPARE(lu, ru, "GET", "x3");
    redisReply *r = redisCommand(L, "ACL LOG");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    if (r) freeReplyObject(r);
    EXPECT("array[]", "ACL", "LOG", "-1");
}

/* MULTI: a denied command is refused at queue time (EXEC aborts); rules
 * changed before EXEC refuse it then, with Redis's text. */
TEST(multi_exec) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "mu", "on", ">p", "~k*", "+get", "+set", "+multi", "+exec");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    REQUIRE(lu);
    COMPARE(lu, ru, "AUTH", "mu", "p");
    COMPARE(lu, ru, "MULTI");
    CHECK_EQ_STR(COMPARE(lu, ru, "GET", "a"),
                 "err:\"NOPERM this user has no permissions to access one of the keys used as "
                 "arguments\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "EXEC"),
                 "err:\"EXECABORT Transaction discarded because of previous errors.\"");
    COMPARE(lu, ru, "MULTI");
    COMPARE(lu, ru, "GET", "k1");
    COMPARE(lu, ru, "GET", "k2");
    COMPARE(lu, ru, "SET", "k1", "x");
    C("ACL", "SETUSER", "mu", "resetkeys", "~k2", "-set");
    CHECK_EQ_STR(COMPARE(lu, ru, "EXEC"),
                 "array[err:\"NOPERM ACLs rules changed between the moment the transaction was "
                 "accumulated and the EXEC call. This command is no longer allowed for the "
                 "following reason: no permission to touch the specified keys\",nil,"
                 "err:\"NOPERM ACLs rules changed between the moment the transaction was "
                 "accumulated and the EXEC call. This command is no longer allowed for the "
                 "following reason: no permission to execute the command or subcommand\"]");
    char *ls = log_summary(L), *rs = R ? log_summary(R) : NULL;
    if (rs) CHECK_EQ_STR(ls, rs);
    CHECK(strstr(ls, "context=multi object=set"));
    free(ls);
    free(rs);
    /* EXEC itself denied: the transaction is discarded. */
    C("ACL", "SETUSER", "mu", "+@all", "-exec", "~*");
    COMPARE(lu, ru, "MULTI");
    COMPARE(lu, ru, "GET", "k1");
    CHECK_EQ_STR(COMPARE(lu, ru, "EXEC"),
                 "err:\"EXECABORT Transaction discarded because of: NOPERM this user has no "
                 "permissions to run the 'exec' command\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "GET", "k1"), "nil");
}

/* Scripts run their commands as the caller's user: a denied command, key
 * or channel fails the call with Redis's text and is logged with context
 * "lua"; redis.acl_check_cmd answers for the caller. */
TEST(scripts_as_caller) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "su", "on", ">p", "~a*", "&foo", "+@all", "-set");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    REQUIRE(lu);
    COMPARE(lu, ru, "AUTH", "su", "p");
    CHECK(strstr(COMPARE(lu, ru, "EVAL", "return redis.call('set','a','1')", "0"),
                 "err:\"ERR The user executing the script can't run this command or "
                 "subcommand script: "));
    CHECK(strstr(COMPARE(lu, ru, "EVAL", "return redis.call('get','b')", "0"),
                 "err:\"ERR The user executing the script can't access at least one of the "
                 "keys mentioned in the command arguments script: "));
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL", "return redis.pcall('publish','bar','x')", "0"),
                 "err:\"ERR The user executing the script can't publish to the channel "
                 "mentioned in the command\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL", "return redis.call('get','a')", "0"), "nil");
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL",
                         "return {redis.acl_check_cmd('set','a','1') and 1 or 0,"
                         "redis.acl_check_cmd('get','a') and 1 or 0,"
                         "redis.acl_check_cmd('get','b') and 1 or 0,"
                         "redis.acl_check_cmd('publish','foo',1) and 1 or 0}",
                         "0"),
                 "array[int:0,int:1,int:0,int:1]");
    char *ls = log_summary(L), *rs = R ? log_summary(R) : NULL;
    if (rs) CHECK_EQ_STR(ls, rs);
    CHECK(strstr(ls, "reason=command context=lua object=set username=su"));
    CHECK(strstr(ls, "reason=key context=lua object=b username=su"));
    CHECK(strstr(ls, "reason=channel context=lua object=bar username=su"));
    free(ls);
    free(rs);
}

/* Scripts: redis.call runs as the caller's user (Redis's error texts, ACL
 * LOG context lua); redis.acl_check_cmd answers for that user. */
TEST(scripts) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "bob", "on", ">123", "+@scripting", "+set", "~x*", "&ch*",
      "+acl|whoami", "+publish");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    REQUIRE(lu);
    COMPARE(lu, ru, "AUTH", "bob", "123");
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL", "return redis.acl_check_cmd('set','xx',1)", "1", "xx"),
                 "int:1");
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL", "return redis.acl_check_cmd('hset','xx','f',1)", "1",
                         "xx"),
                 "nil");
    CHECK_EQ_STR(COMPARE(lu, ru, "EVAL", "return redis.acl_check_cmd('set','yy',1)", "0"), "nil");
    COMPARE(lu, ru, "EVAL", "return redis.acl_check_cmd('invalid-cmd','arg')", "0");
    COMPARE(lu, ru, "EVAL", "return redis.call('set','xa','1')", "1", "xa");
    COMPARE(lu, ru, "EVAL", "return redis.call('hset','xb','f','1')", "1", "xb");
    COMPARE(lu, ru, "EVAL", "return redis.pcall('set','yy','1')", "0");
    COMPARE(lu, ru, "EVAL", "return redis.pcall('publish','other','m')", "0");
    COMPARE(lu, ru, "EVAL", "return redis.call('acl','whoami')", "0");
    char *ls = log_summary(L), *rs = R ? log_summary(R) : NULL;
    if (rs) CHECK_EQ_STR(ls, rs);
    CHECK(strstr(ls, "context=lua object=hset"));
    free(ls);
    free(rs);
}

/* ACL SETUSER that takes a channel away closes the user's connections
 * subscribed to it (channels, patterns, shard channels); the others stay. */
TEST(revoked_channels_close_subscribers) {
    REQUIRE(difftest_start(NULL));
    C("ACL", "SETUSER", "ps", "on", ">p", "&foo", "&ba*", "+@all");
    harness_server *srv[2] = {LS, RS};
    for (int i = 0; i < 2 && srv[i]; i++) {
        redisContext *sub = harness_connect(srv[i]), *psub = harness_connect(srv[i]),
                     *ssub = harness_connect(srv[i]), *c = harness_connect(srv[i]);
        REQUIRE(sub && psub && ssub && c);
        CHECK_EQ_STR(cmd(sub, "AUTH ps p"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(psub, "AUTH ps p"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(ssub, "AUTH ps p"), "status:\"OK\"");
        CHECK_EQ_STR(cmd(sub, "SUBSCRIBE foo"), "array[bulk:\"subscribe\",bulk:\"foo\",int:1]");
        CHECK_EQ_STR(cmd(psub, "PSUBSCRIBE ba*"),
                     "array[bulk:\"psubscribe\",bulk:\"ba*\",int:1]");
        CHECK_EQ_STR(cmd(ssub, "SSUBSCRIBE bar"),
                     "array[bulk:\"ssubscribe\",bulk:\"bar\",int:1]");
        /* Still permitted: nobody is closed. */
        CHECK_EQ_STR(cmd(c, "ACL SETUSER ps resetchannels &foo &ba*"), "status:\"OK\"");
        /* ba* no longer: the pattern and the shard subscriber go. */
        CHECK_EQ_STR(cmd(c, "ACL SETUSER ps resetchannels &foo"), "status:\"OK\"");
        int users = -1;
        for (int t = 0; t < 500 && users != 1; t++) { /* hang detection only */
            const char *list = cmd(c, "CLIENT LIST");
            users = 0;
            for (const char *p = list; (p = strstr(p, "user=ps ")); p++) users++;
            if (users != 1) harness_sleep_ms(10);
        }
        CHECK_EQ_INT(users, 1);
        CHECK_EQ_STR(cmd(c, "PUBLISH foo m"), "int:1");
        redisReply *r = NULL;
        CHECK(redisGetReply(sub, (void **)&r) == REDIS_OK && r && r->type == REDIS_REPLY_ARRAY);
        if (r) freeReplyObject(r);
        harness_disconnect(sub);
        harness_disconnect(psub);
        harness_disconnect(ssub);
        harness_disconnect(c);
    }
}

/* Authentication: users, passwords, disabled users, HELLO AUTH, CLIENT
 * LIST's user=, CLIENT KILL USER, DELUSER closing connections. */
TEST(auth_and_clients) {
    REQUIRE(difftest_start(NULL));
    EXPECT("err:\"ERR AUTH <password> called without any password configured for the default "
           "user. Are you sure your configuration is correct?\"",
           "AUTH", "foo");
    C("ACL", "SETUSER", "al", "on", ">one", ">two", "+@all", "~*");
    C("ACL", "SETUSER", "off1", "off", ">pw", "+@all");
    C("ACL", "SETUSER", "np", "on", "nopass", "+acl|whoami");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    REQUIRE(lu);
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "al", "two"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "ACL", "WHOAMI"), "bulk:\"al\"");
    const char *info = cmd(lu, "CLIENT INFO");
    CHECK(strstr(info, " user=al "));
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "off1", "pw"),
                 "err:\"WRONGPASS invalid username-password pair or user is disabled.\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "np", "anything"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "ACL", "WHOAMI"), "bulk:\"np\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "HELLO", "2", "AUTH", "al", "bad"),
                 "err:\"WRONGPASS invalid username-password pair or user is disabled.\"");
    /* (ids differ between the servers: not compared) */
    CHECK(strstr(cmd(lu, "HELLO 2 AUTH al one"), "bulk:\"proto\",int:2"));
    if (ru) cmd(ru, "HELLO 2 AUTH al one");
    CHECK_EQ_STR(COMPARE(lu, ru, "ACL", "WHOAMI"), "bulk:\"al\"");
    /* CLIENT KILL USER */
    EXPECT("err:\"ERR No such user 'ghost'\"", "CLIENT", "KILL", "USER", "ghost");
    EXPECT("int:1", "CLIENT", "KILL", "USER", "al");
    CHECK(!strncmp(cmd(lu, "PING"), "(io-error", 9));
    /* DELUSER closes the user's connections. */
    redisContext *l2 = harness_connect(LS), *r2 = RS ? harness_connect(RS) : NULL;
    COMPARE(l2, r2, "AUTH", "al", "one");
    EXPECT("int:1", "ACL", "DELUSER", "al");
    CHECK(!strncmp(cmd(l2, "PING"), "(io-error", 9));
    EXPECT("err:\"WRONGPASS invalid username-password pair or user is disabled.\"", "AUTH",
           "al", "one");
}

/* requirepass is the default user's password, as in Redis. */
TEST(requirepass_default_user) {
    REQUIRE(difftest_start(NULL));
    C("CONFIG", "SET", "requirepass", "secret");
    CN("ACL", "LIST");
    redisContext *lu = harness_connect(LS), *ru = RS ? harness_connect(RS) : NULL;
    CHECK_EQ_STR(COMPARE(lu, ru, "GET", "x"), "err:\"NOAUTH Authentication required.\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "secret"), "status:\"OK\"");
    CHECK_EQ_STR(COMPARE(lu, ru, "AUTH", "default", "secret"), "status:\"OK\"");
    C("CONFIG", "SET", "requirepass", "");
    CN("ACL", "LIST");
    C("ACL", "SETUSER", "default", ">other");
    redisContext *l2 = harness_connect(LS), *r2 = RS ? harness_connect(RS) : NULL;
    CHECK_EQ_STR(COMPARE(l2, r2, "GET", "x"), "err:\"NOAUTH Authentication required.\"");
    CHECK_EQ_STR(COMPARE(l2, r2, "AUTH", "other"), "status:\"OK\"");
    /* An unauthenticated client may run commands once the default user
     * needs no password again. */
    redisContext *l3 = harness_connect(LS), *r3 = RS ? harness_connect(RS) : NULL;
    C("ACL", "SETUSER", "default", "nopass");
    CHECK_EQ_STR(COMPARE(l3, r3, "GET", "x"), "nil");
}

/* The `user` lines of a config file, rules normalized. malloc'd. */
static char *user_lines(const char *path) {
    FILE *f = fopen(path, "r");
    char *out = calloc(1, 1 << 16);
    if (!f) return out;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "user ", 5)) continue;
        line[strcspn(line, "\n")] = '\0';
        char *n = normalize_rules(line);
        strcat(out, n);
        strcat(out, "\n");
        free(n);
    }
    fclose(f);
    return out;
}

/* Users from `user` lines of the config file. */
TEST(config_user_lines) {
    const char *conf = "user alice on >pw ~a* +get +set\n"
                       "user default on nopass ~* &* +@all -flushall\n"
                       "user bob off (~b* +get) +@read\n";
    harness_opts lo = {.kind = HARNESS_LIGHTNING, .config_text = conf};
    harness_opts ro = {.kind = HARNESS_REDIS, .config_text = conf};
    harness_server *ls = harness_start_opts(&lo);
    REQUIRE(ls);
    harness_server *rs = harness_have_redis() ? harness_start_opts(&ro) : NULL;
    redisContext *l = harness_connect(ls), *r = harness_connect(rs);
    cmp_norm(__FILE__, __LINE__, l, r, (const char *const[]){"ACL", "LIST", NULL});
    CHECK(strstr(cmp_norm(__FILE__, __LINE__, l, r, (const char *const[]){"ACL", "LIST", NULL}),
                 "user alice on #"));
    CHECK_EQ_STR(COMPARE(l, r, "FLUSHALL"),
                 "err:\"NOPERM this user has no permissions to run the 'flushall' command\"");
    redisContext *la = harness_connect(ls), *ra = harness_connect(rs);
    CHECK_EQ_STR(COMPARE(la, ra, "AUTH", "alice", "pw"), "status:\"OK\"");
    /* CONFIG REWRITE writes every user back as a `user` line. */
    COMPARE(l, r, "ACL", "SETUSER", "carol", "on", ">c", "+@hash", "~h*");
    COMPARE(l, r, "ACL", "DELUSER", "bob");
    CHECK_EQ_STR(COMPARE(l, r, "CONFIG", "REWRITE"), "status:\"OK\"");
    char *lf = user_lines(ls->config), *rf = rs ? user_lines(rs->config) : NULL;
    if (rf) CHECK_EQ_STR(lf, rf);
    CHECK(strstr(lf, "user carol on #"));
    CHECK(!strstr(lf, "user bob"));
    free(lf);
    free(rf);
    harness_stop(ls);
    harness_stop(rs);
    /* Bad lines: Redis's messages. */
    static const char *const bad[] = {"user a on badrule\n", "user a on\nuser a off\n",
                                      "user a on >x badrule\n"};
    for (size_t i = 0; i < NELEM(bad); i++) {
        harness_opts o = {.kind = HARNESS_LIGHTNING, .config_text = bad[i], .no_wait = 1};
        harness_server *s = harness_start_opts(&o);
        REQUIRE(s);
        int st = harness_wait_exit(s, 5000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
        char *out = NULL;
        FILE *f = fopen(s->console, "r");
        if (f) {
            out = calloc(1, 8192);
            size_t n = fread(out, 1, 8191, f);
            (void)n;
            fclose(f);
        }
        const char *want = i == 0   ? "Error in user declaration 'a': Syntax error"
                           : i == 1 ? "Error in user declaration 'a': Duplicate user found. A "
                                      "user can only be defined once in config files"
                                    : "Error in user declaration 'on': Syntax error";
        CHECK(out && strstr(out, want));
        free(out);
        harness_stop(s);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* aclfile: loaded at start, ACL SAVE writes ACL LIST, ACL LOAD reads it
 * back all or nothing with Redis's error text. Both servers use the same
 * file in turn. */
TEST(aclfile_round_trip) {
    char dir[] = "/tmp/lt-acl-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/users.acl", dir);
    write_file(path, "user default on nopass ~* &* +@all\nuser a on >x +get ~k*\n");
    REQUIRE(difftest_start("aclfile", path, NULL));
    CN("ACL", "LIST");
    C("ACL", "SETUSER", "z", "on", "(+set ~q)", "+@hash", "-hdel");
    /* SAVE on each server, and the files are the same modulo rule order. */
    C("ACL", "SAVE");
    char *saved_r = read_file(path);
    redisReply *lr = redisCommand(L, "ACL SAVE");
    CHECK(lr && lr->type == REDIS_REPLY_STATUS);
    if (lr) freeReplyObject(lr);
    char *saved_l = read_file(path);
    char *nl = normalize_rules(saved_l), *nr = normalize_rules(saved_r);
    if (R) CHECK_EQ_STR(nl, nr);
    CHECK(strstr(saved_l, "user z on resetchannels -@all +@hash"));
    free(nl);
    free(nr);
    free(saved_l);
    free(saved_r);
    /* LOAD of what was saved changes nothing. */
    const char *before = strdup(CN("ACL", "LIST"));
    EXPECT("status:\"OK\"", "ACL", "LOAD");
    CHECK_EQ_STR(CN("ACL", "LIST"), before);
    /* A broken file: every error listed, nothing applied. */
    char bad[1024];
    snprintf(bad, sizeof(bad),
             "user default on nopass ~* &* +@all\nuser a on >x +get ~k*\nuser b on +nosuch\n"
             "foo bar\nuser c (~x\nuser a off\nuser   d   off \n");
    write_file(path, bad);
    char want[2048];
    snprintf(want, sizeof(want),
             "err:\"ERR %s:3: Error in applying operation '+nosuch': Unknown command or "
             "category name in ACL. %s:4 should start with user keyword followed by the "
             "username. %s:5: Unmatched parenthesis in selector definition.WARNING: Duplicate "
             "user 'a' found on line 6. %s:7: Syntax error. WARNING: ACL errors detected, no "
             "change to the previously active ACL rules was performed\"",
             path, path, path, path);
    EXPECT(want, "ACL", "LOAD");
    CHECK_EQ_STR(CN("ACL", "LIST"), before);
    /* A good new file replaces every user; clients of removed users go. */
    redisContext *zl = harness_connect(LS), *zr = RS ? harness_connect(RS) : NULL;
    C("ACL", "SETUSER", "z", ">zz");
    COMPARE(zl, zr, "AUTH", "z", "zz");
    write_file(path, "user b on nopass +@read ~*\n");
    EXPECT("status:\"OK\"", "ACL", "LOAD");
    CN("ACL", "LIST");
    CHECK(!strncmp(cmd(zl, "PING"), "(io-error", 9));
    free((void *)before);
    unlink(path);
    rmdir(dir);
    /* Without aclfile: Redis's message. */
    harness_server *s = harness_start(NULL);
    redisContext *c = harness_connect(s);
    CHECK(strstr(cmd(c, "ACL SAVE"), "not configured to use an ACL file"));
    CHECK(strstr(cmd(c, "ACL LOAD"), "not configured to use an ACL file"));
}

TEST(genpass_help) {
    REQUIRE(difftest_start(NULL));
    const char *p = cmd(L, "ACL GENPASS");
    CHECK(strlen(p) == strlen("bulk:\"\"") + 64);
    p = cmd(L, "ACL GENPASS 5");
    CHECK(strlen(p) == strlen("bulk:\"\"") + 2);
    EXPECT("err:\"ERR ACL GENPASS argument must be the number of bits for the output password, "
           "a positive number up to 4096\"",
           "ACL", "GENPASS", "0");
    C("ACL", "GENPASS", "5000");
    EXPECT(NOTINT, "ACL", "GENPASS", "abc");
    C("ACL", "HELP");
    C("ACL", "NOSUCH");
    C("ACL");
}

int main(void) {
    RUN(acl_cat);
    RUN(setuser_describe);
    RUN(malformed_rules);
    RUN(permission_matrix);
    RUN(noperm_and_log);
    RUN(multi_exec);
    RUN(scripts_as_caller);
    RUN(revoked_channels_close_subscribers);
    RUN(scripts);
    RUN(auth_and_clients);
    RUN(requirepass_default_user);
    RUN(config_user_lines);
    RUN(aclfile_round_trip);
    RUN(genpass_help);
    return testlib_finish();
}
