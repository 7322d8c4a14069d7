/*
 * Connection-level commands (issue #2): HELLO 2/3 and RESP3 replies over a
 * raw socket, AUTH with requirepass, SELECT, QUIT, RESET, the CLIENT
 * subcommands, maxclients and idle timeout. Everything Redis does is
 * compared with a real redis-server; key values are asserted too.
 */
#include "../difftest.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>

#define READ_MS 5000

/* Copy of s with the value after each `"<key>",int:` / `"<key>"=>int:` or
 * `"<key>",bulk:"` replaced by `*`: fields that differ between any two
 * servers (client ids, versions). Valid until the next call. */
static const char *mask(const char *s, const char *const *keys) {
    static char *out;
    free(out);
    out = strdup(s);
    for (const char *const *k = keys; *k; k++) {
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\"", *k);
        for (char *p = strstr(out, pat); p; p = strstr(p + 1, pat)) {
            char *v = p + strlen(pat);
            if (!strncmp(v, ",", 1)) v += 1;
            else if (!strncmp(v, "=>", 2)) v += 2;
            else continue;
            char *end = v;
            if (!strncmp(v, "int:", 4)) {
                v += 4;
                end = v;
                while (*end == '-' || isdigit((unsigned char)*end)) end++;
            } else if (!strncmp(v, "bulk:\"", 6)) {
                v += 6;
                end = strchr(v, '"');
                if (!end) continue;
            } else continue;
            memmove(v + 1, end, strlen(end) + 1);
            *v = '*';
        }
    }
    return out;
}
static const char *const ID_KEYS[] = {"id", "version", NULL};

/* Field names of a CLIENT INFO / CLIENT LIST line ("k=v k=v ..."), joined
 * by ','. Valid until the next call. */
static const char *field_names(const char *line) {
    static char out[2048];
    out[0] = '\0';
    const char *p = line;
    while (*p && *p != '\n' && *p != '\r') {
        const char *eq = strchr(p, '=');
        if (!eq) break;
        strncat(out, p, (size_t)(eq - p) < 100 ? (size_t)(eq - p) : 100);
        strcat(out, ",");
        const char *sp = eq;
        while (*sp && *sp != ' ' && *sp != '\n' && *sp != '\r') sp++;
        while (*sp == ' ') sp++;
        p = sp;
    }
    return out;
}

/* The `key=` value in a client line, copied to out. */
static int client_field(const char *line, const char *key, char *out,
                        size_t n) {
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = line;
    size_t kl = strlen(pat);
    while (p && *p) {
        if (!strncmp(p, pat, kl)) {
            p += kl;
            size_t l = strcspn(p, " \r\n");
            if (l >= n) l = n - 1;
            memcpy(out, p, l);
            out[l] = '\0';
            return 1;
        }
        p = strchr(p, ' ');
        if (p) p++;
    }
    return 0;
}

static redisReply *rcmd(redisContext *c, const char *fmt, ...) {
    if (!c) return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return r;
}

/* Text of a bulk/status reply (malloc'd) or NULL. */
static char *cmd_text(redisContext *c, const char *command) {
    redisReply *r = rcmd(c, command);
    char *s = NULL;
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        s = strdup(r->str);
    if (r) freeReplyObject(r);
    return s;
}

static long long cmd_int(redisContext *c, const char *command) {
    redisReply *r = rcmd(c, command);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* Fields of CLIENT LIST / CLIENT INFO lines that Lightning takes from Redis
 * releases newer than 7.0 (client libraries set them with CLIENT SETINFO,
 * Redis 7.2): Lightning's lines are Redis 7.0's plus exactly these, last. */
#define NEWER_CLIENT_FIELDS "lib-name,lib-ver,"

/* The field names of Lightning's reply `text` to command (CLIENT INFO or
 * CLIENT LIST) are those of Redis's reply, plus NEWER_CLIENT_FIELDS. */
static void check_fields_like_redis(const char *text, const char *command) {
    if (!R) return;
    char *rtext = cmd_text(R, command);
    char *lf = strdup(field_names(text)), rf[2048];
    snprintf(rf, sizeof rf, "%s%s", field_names(rtext ? rtext : ""),
             NEWER_CLIENT_FIELDS);
    CHECK_EQ_STR(lf, rf);
    free(lf);
    free(rtext);
}

/* 1 if `name` (e.g. "client|tracking") is in the server's COMMAND LIST. */
static int command_listed(redisContext *c, const char *name) {
    redisReply *r = rcmd(c, "COMMAND LIST");
    int found = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        if (r->element[i]->str && !strcmp(r->element[i]->str, name))
            found = 1;
    if (r) freeReplyObject(r);
    return found;
}


/* ------------------------------------------------------------------ */

TEST(hello_resp2) {
    REQUIRE(difftest_start(NULL));
    char *l = strdup(mask(cmd(L, "HELLO 2"), ID_KEYS));
    CHECK_EQ_STR(l, "array[bulk:\"server\",bulk:\"redis\",bulk:\"version\","
                    "bulk:\"*\",bulk:\"proto\",int:2,bulk:\"id\",int:*,"
                    "bulk:\"mode\",bulk:\"standalone\",bulk:\"role\","
                    "bulk:\"master\",bulk:\"modules\",array[]]");
    if (R) CHECK_EQ_STR(l, mask(cmd(R, "HELLO 2"), ID_KEYS));
    free(l);
    /* id in HELLO is CLIENT ID. */
    redisReply *h = rcmd(L, "HELLO");
    long long id = cmd_int(L, "CLIENT ID");
    CHECK(h && h->type == REDIS_REPLY_ARRAY && h->elements == 14 &&
          h->element[7]->integer == id);
    if (h) freeReplyObject(h);
    CHECK_EQ_STR(C("HELLO", "4"),
                 "err:\"NOPROTO unsupported protocol version\"");
    C("HELLO", "1");
    C("HELLO", "0");
    C("HELLO", "abc");
    C("HELLO", "2", "BADOPT");
    C("HELLO", "2", "SETNAME");
    C("HELLO", "2", "AUTH", "default");
    C("HELLO", "2", "SETNAME", "bad name");
    const char *one[] = {"HELLO", "2", "SETNAME", "myname", NULL};
    l = strdup(mask(cmd_argv(L, one), ID_KEYS));
    if (R) CHECK_EQ_STR(l, mask(cmd_argv(R, one), ID_KEYS));
    free(l);
    CHECK_EQ_STR(C("CLIENT", "GETNAME"), "bulk:\"myname\"");
    /* No requirepass: the default user has nopass, any password works. */
    const char *two[] = {"HELLO", "2", "AUTH", "default", "whatever", NULL};
    l = strdup(mask(cmd_argv(L, two), ID_KEYS));
    if (R) CHECK_EQ_STR(l, mask(cmd_argv(R, two), ID_KEYS));
    CHECK(!strncmp(l, "array[", 6));
    free(l);
    C("HELLO", "2", "AUTH", "nosuchuser", "pw");
}

TEST(resp3_replies) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(2, &fl, &fr));
    const char *const h3[] = {"HELLO", "3", NULL};
    char *l = strdup(mask(raw_cmd_argv(fl, h3), ID_KEYS));
    CHECK_EQ_STR(l, "map{bulk:\"server\"=>bulk:\"redis\",bulk:\"version\"=>"
                    "bulk:\"*\",bulk:\"proto\"=>int:3,bulk:\"id\"=>int:*,"
                    "bulk:\"mode\"=>bulk:\"standalone\",bulk:\"role\"=>"
                    "bulk:\"master\",bulk:\"modules\"=>array[]}");
    if (fr >= 0) CHECK_EQ_STR(l, mask(raw_cmd_argv(fr, h3), ID_KEYS));
    free(l);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GET", "nosuchkey"), "null");
    /* The exact bytes of a RESP3 null. */
    raw_sendstr(fl, "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n");
    raw_buf b;
    raw_read_reply(fl, READ_MS, &b);
    CHECK_EQ_STR(b.data, "_\r\n");
    raw_buf_free(&b);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "PING"), "status:\"PONG\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "ECHO", "e"), "bulk:\"e\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "DBSIZE"), "int:0");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "CONFIG", "GET", "databases"),
                 "map{bulk:\"databases\"=>bulk:\"16\"}");
    RAW_COMPARE(fl, fr, "CONFIG", "GET", "maxclients");
    /* COMMAND DOCS as a RESP3 map. */
    const char *const dg[] = {"COMMAND", "DOCS", "get", NULL};
    /* From "since" on (since, group, complexity, the argument specs) the
     * map equals Redis's; the summary before it is Lightning's wording. */
    l = strdup(raw_cmd_argv(fl, dg));
    static const char docs_head[] =
        "map{bulk:\"get\"=>map{bulk:\"summary\"=>bulk:\"";
    CHECK(!strncmp(l, docs_head, strlen(docs_head)));
    const char *ltail = strstr(l, ",bulk:\"since\"");
    CHECK(ltail && strstr(ltail, "bulk:\"arguments\"=>array[map{bulk:\"name\"=>bulk:\"key\""));
    if (fr >= 0) {
        const char *rtail = strstr(raw_cmd_argv(fr, dg), ",bulk:\"since\"");
        CHECK_EQ_STR(ltail, rtail);
    }
    free(l);
    RAW_COMPARE(fl, fr, "COMMAND", "INFO", "ping");
    RAW_COMPARE(fl, fr, "CLIENT", "GETNAME");
    RAW_COMPARE(fl, fr, "NOSUCH");
    const char *const ci[] = {"CLIENT", "INFO", NULL};
    const char *info = raw_cmd_argv(fl, ci);
    CHECK(!strncmp(info, "verbatim:\"txt:id=", 17));
    CHECK(strstr(info, " resp=3") != NULL);
    const char *const is[] = {"INFO", "server", NULL};
    info = raw_cmd_argv(fl, is);
    CHECK(!strncmp(info, "verbatim:\"txt:# Server", 22));
    /* HELLO with no protover: current protocol. */
    const char *const h[] = {"HELLO", NULL};
    l = strdup(mask(raw_cmd_argv(fl, h), ID_KEYS));
    CHECK(!strncmp(l, "map{", 4) && strstr(l, "\"proto\"=>int:3"));
    if (fr >= 0) CHECK_EQ_STR(l, mask(raw_cmd_argv(fr, h), ID_KEYS));
    free(l);
    /* Back to RESP2. */
    const char *const h2[] = {"HELLO", "2", NULL};
    l = strdup(mask(raw_cmd_argv(fl, h2), ID_KEYS));
    CHECK(!strncmp(l, "array[", 6));
    if (fr >= 0) CHECK_EQ_STR(l, mask(raw_cmd_argv(fr, h2), ID_KEYS));
    free(l);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GET", "nosuchkey"), "nil");
    raw_sendstr(fl, "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n");
    raw_read_reply(fl, READ_MS, &b);
    CHECK_EQ_STR(b.data, "$-1\r\n");
    raw_buf_free(&b);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "CONFIG", "GET", "databases"),
                 "array[bulk:\"databases\",bulk:\"16\"]");
}

TEST(auth_requirepass) {
    REQUIRE(difftest_start("requirepass", "s3cret", NULL));
    CHECK_EQ_STR(C("GET", "x"),
                 "err:\"NOAUTH Authentication required.\"");
    CHECK_EQ_STR(C("PING"),
                 "err:\"NOAUTH Authentication required.\"");
    CHECK_EQ_STR(C("AUTH", "wrong"),
                 "err:\"WRONGPASS invalid username-password pair or user is "
                 "disabled.\"");
    C("AUTH", "default", "wrong");
    C("AUTH", "nouser", "s3cret");
    C("AUTH", "a", "b", "c");
    C("HELLO", "2");
    C("HELLO", "3", "AUTH", "default", "wrong");
    C("CLIENT", "ID");
    CHECK_EQ_STR(C("AUTH", "s3cret"), "status:\"OK\"");
    CHECK_EQ_STR(C("GET", "x"), "nil");
    CHECK_EQ_STR(C("AUTH", "default", "s3cret"),
                 "status:\"OK\"");
    /* A failed AUTH after success keeps the connection authenticated. */
    C("AUTH", "bad");
    CHECK_EQ_STR(C("GET", "x"), "nil");
    /* HELLO AUTH authenticates and switches protocol at once. */
    redisContext *c2 = harness_connect(LS), *c2r = harness_connect(RS);
    const char *ha[] = {"HELLO", "2", "AUTH", "default", "s3cret", NULL};
    char *l = strdup(mask(cmd_argv(c2, ha), ID_KEYS));
    CHECK(!strncmp(l, "array[bulk:\"server\"", 19));
    if (c2r) CHECK_EQ_STR(l, mask(cmd_argv(c2r, ha), ID_KEYS));
    free(l);
    CHECK_EQ_STR(COMPARE(c2, c2r, "GET", "x"), "nil");
    /* QUIT works unauthenticated. */
    int fd = raw_connect(LS->port);
    raw_sendstr(fd, "QUIT\r\n");
    raw_buf b = raw_read_until(fd, READ_MS);
    CHECK_EQ_STR(b.data, "+OK\r\n");
    CHECK(b.closed);
    raw_buf_free(&b);
}

TEST(auth_without_password) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("AUTH", "foo"),
                 "err:\"ERR AUTH <password> called without any password "
                 "configured for the default user. Are you sure your "
                 "configuration is correct?\"");
    CHECK_EQ_STR(C("AUTH", "default", "foo"), "status:\"OK\"");
    C("AUTH", "other", "foo");
}

TEST(select_db) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("SELECT", "16"),
                 "err:\"ERR DB index is out of range\"");
    C("SELECT", "-1");
    CHECK_EQ_STR(C("SELECT", "abc"),
                 "err:\"ERR value is not an integer or out of range\"");
    C("SELECT", "1.5");
    C("SELECT", "99999999999999999999");
    C("SELECT", "");
    CHECK_EQ_STR(C("SELECT", "15"), "status:\"OK\"");
    CHECK_EQ_STR(C("SET", "k", "fifteen"), "status:\"OK\"");
    CHECK_EQ_STR(C("DBSIZE"), "int:1");
    CHECK_EQ_STR(C("SELECT", "0"), "status:\"OK\"");
    CHECK_EQ_STR(C("GET", "k"), "nil");
    CHECK_EQ_STR(C("DBSIZE"), "int:0");
    CHECK_EQ_STR(C("SELECT", "15"), "status:\"OK\"");
    CHECK_EQ_STR(C("GET", "k"), "bulk:\"fifteen\"");
    /* CLIENT INFO reports the db. */
    char *info = cmd_text(L, "CLIENT INFO");
    CHECK(info && strstr(info, " db=15 "));
    free(info);
    harness_stop(LS);
    harness_stop(RS);
    REQUIRE(difftest_start("databases", "4", NULL));
    CHECK_EQ_STR(C("SELECT", "3"), "status:\"OK\"");
    CHECK_EQ_STR(C("SELECT", "4"),
                 "err:\"ERR DB index is out of range\"");
}

TEST(quit) {
    REQUIRE(difftest_start_servers(NULL));
    harness_server *s[2] = {LS, RS};
    char *got[2] = {NULL, NULL};
    for (int i = 0; i < 2 && s[i]; i++) {
        int fd = raw_connect(s[i]->port);
        raw_sendstr(fd, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n"
                        "*1\r\n$4\r\nPING\r\n");
        raw_buf b = raw_read_until(fd, READ_MS);
        CHECK(b.closed);
        got[i] = b.data;
    }
    CHECK_EQ_STR(got[0], "+PONG\r\n+OK\r\n");
    if (got[1]) CHECK_EQ_STR(got[0], got[1]);
    free(got[0]);
    free(got[1]);
}

TEST(reset) {
    int fl, fr;
    REQUIRE(difftest_start_servers("requirepass", "pw", NULL) &&
            difftest_raw_connect(2, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "AUTH", "pw"), "status:\"OK\"");
    RAW_COMPARE(fl, fr, "SELECT", "3");
    RAW_COMPARE(fl, fr, "CLIENT", "SETNAME", "before");
    const char *const h3[] = {"HELLO", "3", NULL};
    raw_cmd_argv(fl, h3);
    if (fr >= 0) raw_cmd_argv(fr, h3);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "RESET"), "status:\"RESET\"");
    /* Unauthenticated again, RESP2, name cleared, db 0. */
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GET", "x"),
                 "err:\"NOAUTH Authentication required.\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "AUTH", "pw"), "status:\"OK\"");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "CLIENT", "GETNAME"), "nil");
    const char *const ci[] = {"CLIENT", "INFO", NULL};
    const char *info = raw_cmd_argv(fl, ci);
    CHECK(strstr(info, " db=0 ") && strstr(info, " resp=2"));
    /* CLIENT REPLY OFF is undone by RESET. */
    raw_sendstr(fl, "CLIENT REPLY OFF\r\nRESET\r\nPING\r\n");
    raw_buf b;
    raw_read_reply(fl, READ_MS, &b);
    CHECK_EQ_STR(b.data, "+RESET\r\n");
    raw_buf_free(&b);
    raw_read_reply(fl, READ_MS, &b);
    CHECK_EQ_STR(b.data, "-NOAUTH Authentication required.\r\n");
    raw_buf_free(&b);
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "RESET", "extra"),
                 "err:\"ERR wrong number of arguments for 'reset' command\"");
}

TEST(client_id_name_list_info) {
    REQUIRE(difftest_start(NULL));
    redisContext *cl2 = harness_connect(LS), *cr2 = harness_connect(RS);
    REQUIRE(cl2);
    long long id = cmd_int(L, "CLIENT ID"), id2 = cmd_int(cl2, "CLIENT ID");
    if (!(id > 0 && id2 > id))
        testlib_fail(__FILE__, __LINE__, "client ids not increasing: first "
                     "connection %lld, second %lld", id, id2);
    char *info = cmd_text(L, "CLIENT INFO");
    REQUIRE(info);
    char want[64];
    snprintf(want, sizeof want, "id=%lld ", id);
    CHECK(!strncmp(info, want, strlen(want)));
    char v[128];
    snprintf(want, sizeof want, "127.0.0.1:%d", LS->port);
    CHECK(client_field(info, "laddr", v, sizeof v) && !strcmp(v, want));
    CHECK(client_field(info, "cmd", v, sizeof v) && !strcmp(v, "client|info"));
    CHECK(client_field(info, "user", v, sizeof v) && !strcmp(v, "default"));
    CHECK(client_field(info, "flags", v, sizeof v) && !strcmp(v, "N"));
    CHECK(client_field(info, "resp", v, sizeof v) && !strcmp(v, "2"));
    /* Set by CLIENT SETINFO; empty until then. */
    CHECK(client_field(info, "lib-name", v, sizeof v) && !strcmp(v, ""));
    CHECK(client_field(info, "lib-ver", v, sizeof v) && !strcmp(v, ""));
    check_fields_like_redis(info, "CLIENT INFO");
    CHECK(info[strlen(info) - 1] == '\n');
    free(info);
    CHECK_EQ_STR(C("CLIENT", "GETNAME"), "nil");
    CHECK_EQ_STR(C("CLIENT", "SETNAME", "conn-1"),
                 "status:\"OK\"");
    CHECK_EQ_STR(C("CLIENT", "GETNAME"), "bulk:\"conn-1\"");
    CHECK_EQ_STR(C("CLIENT", "SETNAME", "a b"),
                 "err:\"ERR Client names cannot contain spaces, newlines or "
                 "special characters.\"");
    C("CLIENT", "SETNAME", "a\nb");
    CHECK_EQ_STR(C("CLIENT", "GETNAME"), "bulk:\"conn-1\"");
    CHECK_EQ_STR(C("CLIENT", "SETNAME", ""), "status:\"OK\"");
    CHECK_EQ_STR(C("CLIENT", "GETNAME"), "nil");
    C("CLIENT", "SETNAME", "conn-1");
    /* CLIENT LIST: one line per client, same fields as redis (plus
     * NEWER_CLIENT_FIELDS). */
    char *list = cmd_text(L, "CLIENT LIST");
    REQUIRE(list);
    int lines = 0;
    for (char *q = list; (q = strchr(q, '\n')); q++) lines++;
    CHECK_EQ_INT(lines, 2);
    CHECK(strstr(list, " name=conn-1 ") != NULL);
    snprintf(want, sizeof want, "id=%lld ", id2);
    CHECK(strstr(list, want) != NULL);
    check_fields_like_redis(list, "CLIENT LIST");
    free(list);
    char idarg[32];
    snprintf(idarg, sizeof idarg, "%lld", id2);
    const char *byid[] = {"CLIENT", "LIST", "ID", idarg, NULL};
    const char *one = cmd_argv(L, byid);
    snprintf(want, sizeof want, "bulk:\"id=%lld ", id2);
    CHECK(!strncmp(one, want, strlen(want)) && !strstr(one, "\\nid="));
    list = cmd_text(L, "CLIENT LIST TYPE normal");
    CHECK(list && strstr(list, "name=conn-1"));
    free(list);
    CHECK_EQ_STR(C("CLIENT", "LIST", "TYPE", "pubsub"),
                 "bulk:\"\"");
    C("CLIENT", "LIST", "TYPE", "bogus");
    C("CLIENT", "LIST", "ID", "abc");
    C("CLIENT", "LIST", "ID", "99999");
    C("CLIENT", "LIST", "BOGUS");
    C("CLIENT", "INFO", "x");
    (void)cr2;
}

/* Runs the CLIENT KILL scenario on one server; returns the replies as text
 * (malloc'd) with ids/addresses replaced by placeholders. */
static char *kill_scenario(harness_server *s) {
    char *out = calloc(1, 8192);
    redisContext *a = harness_connect(s), *b = harness_connect(s),
                 *c = harness_connect(s), *d = harness_connect(s);
    if (!a || !b || !c || !d) return out;
    /* A command on each makes sure the server has accepted them all. */
    cmd(d, "PING");
    long long bid = cmd_int(b, "CLIENT ID");
    char *cinfo = cmd_text(c, "CLIENT INFO");
    char caddr[64] = "", buf[256];
    if (cinfo) client_field(cinfo, "addr", caddr, sizeof caddr);
    free(cinfo);
    char laddr[64];
    snprintf(laddr, sizeof laddr, "127.0.0.1:%d", s->port);
#define STEP(label, text)                                                     \
    do {                                                                      \
        snprintf(buf, sizeof buf, "%s => %s\n", label, text);                 \
        strncat(out, buf, 8191 - strlen(out));                                \
    } while (0)
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", bid);
    STEP("kill id b", cmd_argv(a, (const char *const[]){"CLIENT", "KILL", "ID",
                                                        ids, NULL}));
    STEP("b after kill", cmd(b, "PING")[0] == '(' ? "closed" : "alive");
    STEP("kill id b again", cmd_argv(a, (const char *const[]){
                                            "CLIENT", "KILL", "ID", ids, NULL}));
    STEP("kill id 999999", cmd(a, "CLIENT KILL ID 999999"));
    STEP("kill id abc", cmd(a, "CLIENT KILL ID abc"));
    STEP("kill old-style unknown", cmd(a, "CLIENT KILL 1.2.3.4:5"));
    STEP("kill old-style c", cmd(a, "CLIENT KILL %s", caddr));
    STEP("c after kill", cmd(c, "PING")[0] == '(' ? "closed" : "alive");
    STEP("kill addr unknown", cmd(a, "CLIENT KILL ADDR 1.2.3.4:5"));
    STEP("kill bogus filter", cmd(a, "CLIENT KILL BOGUS x"));
    STEP("kill skipme bad", cmd(a, "CLIENT KILL USER default SKIPME maybe"));
    STEP("kill user nosuch", cmd(a, "CLIENT KILL USER nosuchuser"));
    redisContext *e = harness_connect(s);
    cmd(e, "PING");
    STEP("kill laddr", cmd(a, "CLIENT KILL LADDR %s", laddr));
    STEP("a after laddr", cmd(a, "PING"));
    STEP("d after laddr", cmd(d, "PING")[0] == '(' ? "closed" : "alive");
    STEP("e after laddr", cmd(e, "PING")[0] == '(' ? "closed" : "alive");
    redisContext *f = harness_connect(s), *g = harness_connect(s);
    cmd(f, "PING");
    cmd(g, "PING");
    STEP("kill user default", cmd(a, "CLIENT KILL USER default"));
    STEP("f after user", cmd(f, "PING")[0] == '(' ? "closed" : "alive");
    STEP("g after user", cmd(g, "PING")[0] == '(' ? "closed" : "alive");
    STEP("kill self skipme no",
         cmd(a, "CLIENT KILL LADDR %s SKIPME no", laddr));
    STEP("a after self kill", cmd(a, "PING")[0] == '(' ? "closed" : "alive");
#undef STEP
    return out;
}

TEST(client_kill) {
    REQUIRE(difftest_start_servers(NULL));
    char *l = kill_scenario(LS);
    CHECK(strstr(l, "kill id b => int:1\nb after kill => closed\n"
                    "kill id b again => int:0\n") != NULL);
    CHECK(strstr(l, "kill old-style c => status:\"OK\"\n"
                    "c after kill => closed\n") != NULL);
    CHECK(strstr(l, "kill laddr => int:2\na after laddr => status:\"PONG\"\n"
                    "d after laddr => closed\ne after laddr => closed\n"));
    CHECK(strstr(l, "kill user default => int:2\nf after user => closed\n"
                    "g after user => closed\n"));
    CHECK(strstr(l, "kill self skipme no => int:1\n"
                    "a after self kill => closed\n"));
    if (RS) {
        char *r = kill_scenario(RS);
        if (strcmp(l, r) != 0)
            testlib_fail(__FILE__, __LINE__,
                         "CLIENT KILL scenario differs:\n--- lightning\n%s"
                         "--- redis\n%s", l, r);
        free(r);
    }
    free(l);
}

TEST(client_reply) {
    REQUIRE(difftest_start_servers(NULL));
    harness_server *s[2] = {LS, RS};
    char *got[2] = {NULL, NULL};
    for (int i = 0; i < 2 && s[i]; i++) {
        int fd = raw_connect(s[i]->port);
        raw_sendstr(fd, "CLIENT REPLY OFF\r\nPING\r\nECHO a\r\nGET\r\n"
                        "CLIENT REPLY ON\r\nECHO b\r\nCLIENT REPLY SKIP\r\n"
                        "ECHO c\r\nECHO d\r\nCLIENT REPLY SKIP\r\n"
                        "CLIENT REPLY SKIP\r\nECHO e\r\nCLIENT REPLY bogus\r\n"
                        "QUIT\r\n");
        raw_buf b = raw_read_until(fd, READ_MS);
        CHECK(b.closed);
        got[i] = b.data;
    }
    /* SKIP twice: the second SKIP is skipped and skips ECHO e. */
    CHECK_EQ_STR(got[0], "+OK\r\n$1\r\nb\r\n$1\r\nd\r\n"
                         "-ERR syntax error\r\n+OK\r\n");
    if (got[1]) CHECK_EQ_STR(got[0], got[1]);
    free(got[0]);
    free(got[1]);
}

TEST(client_misc_subcommands) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("CLIENT", "NO-EVICT", "on"), "status:\"OK\"");
    CHECK_EQ_STR(C("CLIENT", "NO-EVICT", "off"),
                 "status:\"OK\"");
    CHECK_EQ_STR(C("CLIENT", "NO-EVICT", "maybe"),
                 "err:\"ERR syntax error\"");
    /* CLIENT SETINFO arrived in Redis 7.2 (7.0 answers unknown
     * subcommand); Lightning has it because client libraries send it on
     * connect. Replies and errors are Redis 7.2's. */
    CHECK_EQ_STR(cmd(L, "CLIENT SETINFO LIB-NAME mylib"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(L, "CLIENT SETINFO lib-ver 1.2.3"), "status:\"OK\"");
    char *ci = cmd_text(L, "CLIENT INFO");
    static const char lib_end[] = " lib-name=mylib lib-ver=1.2.3\n";
    CHECK(ci && strlen(ci) > strlen(lib_end) &&
          !strcmp(ci + strlen(ci) - strlen(lib_end), lib_end));
    free(ci);
    CHECK_EQ_STR(cmd(L, "CLIENT SETINFO x y"),
                 "err:\"ERR Unrecognized option 'x'\"");
    CHECK_EQ_STR(cmd_argv(L, (const char *const[]){"CLIENT", "SETINFO",
                                                   "lib-name", "a b", NULL}),
                 "err:\"ERR lib-name cannot contain spaces, newlines or "
                 "special characters.\"");
    CHECK_EQ_STR(cmd(L, "CLIENT SETINFO lib-name"),
                 "err:\"ERR wrong number of arguments for 'client|setinfo' "
                 "command\"");
    /* Failed SETINFOs changed nothing; CLIENT LIST shows the values too. */
    char *cli = cmd_text(L, "CLIENT LIST");
    CHECK(cli && strstr(cli, " lib-name=mylib lib-ver=1.2.3\n"));
    free(cli);
    CHECK_HELP(L, "CLIENT");
    const char *help = cmd(L, "CLIENT HELP");
    CHECK(strstr(help, "status:\"KILL <ip:port>\"") != NULL);
    CHECK_EQ_STR(C("CLIENT"),
                 "err:\"ERR wrong number of arguments for 'client' command\"");
    CHECK_EQ_STR(C("CLIENT", "BOGUS"),
                 "err:\"ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\"");
    C("CLIENT", "HELP", "extra");
    C("CLIENT", "PAUSE", "abc");
    C("CLIENT", "PAUSE", "-1");
    C("CLIENT", "PAUSE", "100", "BOGUS");
    C("CLIENT", "UNPAUSE", "x");
    C("CLIENT", "REPLY");
    C("CLIENT", "NO-EVICT");
    /* Not in this milestone (later issues add them): until Lightning's
     * COMMAND LIST has one, it is refused like any unknown subcommand; once
     * it is listed, it must answer like Redis. */
    static const char *const later[][4] = {
        {"client|tracking", "CLIENT", "tracking", "bogus"},
        {"client|getredir", "CLIENT", "getredir", NULL},
        {"client|caching", "CLIENT", "caching", "maybe"},
        {"client|trackinginfo", "CLIENT", "trackinginfo", NULL},
        {"client|unblock", "CLIENT", "unblock", "abc"}};
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        const char *argv[] = {later[i][1], later[i][2], later[i][3], NULL};
        if (command_listed(L, later[i][0])) {
            harness_compare(__FILE__, __LINE__, L, R, 0, argv);
            continue;
        }
        char want[128];
        snprintf(want, sizeof want,
                 "err:\"ERR unknown subcommand '%s'. Try CLIENT HELP.\"",
                 later[i][2]);
        CHECK_EQ_STR(cmd_argv(L, argv), want);
    }
}

TEST(client_pause) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *admin = harness_connect(l), *reader = harness_connect(l);
    int writer = raw_connect(l->port);
    REQUIRE(admin && reader && writer >= 0);
    CHECK_EQ_STR(cmd(admin, "SET k old"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(admin, "CLIENT PAUSE 30000 WRITE"), "status:\"OK\"");
    raw_sendstr(writer, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nnew\r\n");
    /* The write must wait: nothing comes back while paused. */
    raw_buf b = raw_read_until(writer, 300);
    CHECK_EQ_INT(b.len, 0);
    CHECK(!b.closed);
    raw_buf_free(&b);
    /* Reads go on (a hang here is caught by the 10 s command timeout). */
    CHECK_EQ_STR(cmd(reader, "GET k"), "bulk:\"old\"");
    CHECK_EQ_STR(cmd(reader, "PING"), "status:\"PONG\"");
    CHECK_EQ_STR(cmd(reader, "DBSIZE"), "int:1");
    CHECK_EQ_STR(cmd(admin, "CLIENT UNPAUSE"), "status:\"OK\"");
    raw_read_reply(writer, READ_MS, &b);
    CHECK_EQ_STR(b.data, "+OK\r\n");
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(reader, "GET k"), "bulk:\"new\"");
    /* ALL mode: every command waits, CLIENT UNPAUSE included, until the
     * pause times out. */
    CHECK_EQ_STR(cmd(admin, "CLIENT PAUSE 3000 ALL"), "status:\"OK\"");
    raw_sendstr(writer, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    b = raw_read_until(writer, 300);
    CHECK_EQ_INT(b.len, 0);
    raw_buf_free(&b);
    raw_read_reply(writer, 15000, &b);
    CHECK_EQ_STR(b.data, "$3\r\nnew\r\n");
    raw_buf_free(&b);
    /* A pause ends by itself after its timeout. */
    CHECK_EQ_STR(cmd(admin, "CLIENT PAUSE 200 WRITE"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(reader, "SET k after"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(reader, "GET k"), "bulk:\"after\"");
}

/* An INFO field as a number (-1 when absent). */
static long long info_num(redisContext *c, const char *field) {
    redisReply *r = redisCommand(c, "INFO");
    long long v = -1;
    char want[128];
    snprintf(want, sizeof(want), "\r\n%s:", field);
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, want) : NULL;
    if (p) v = atoll(p + strlen(want));
    freeReplyObject(r);
    return v;
}

static int wait_info_num(redisContext *c, const char *field, long long want) {
    for (int i = 0; i < 100; i++) {
        if (info_num(c, field) == want) return 1;
        harness_sleep_ms(50);
    }
    return 0;
}

/* What CLIENT PAUSE WRITE holds, on one server: may-replicate commands
 * (PFCOUNT, PUBLISH, a script without a no-writes shebang), a transaction
 * with a write; not a no-writes script nor a read-only transaction. Held
 * clients count in blocked_clients; no key expires meanwhile. */
static void pause_scenario(harness_server *s) {
    redisContext *admin = harness_connect(s);
    REQUIRE(admin);
    CHECK_EQ_STR(cmd(admin, "PFADD h a"), "int:1");
    int held[4], free_ro = raw_connect(s->port), ro_multi = raw_connect(s->port);
    for (int i = 0; i < 4; i++) held[i] = raw_connect(s->port);
    REQUIRE(free_ro >= 0 && ro_multi >= 0 && held[3] >= 0);
    raw_buf b;
    raw_sendstr(held[3], "MULTI\r\nSET x 1\r\n");
    b = raw_read_until(held[3], 300); /* +OK +QUEUED */
    raw_buf_free(&b);
    long long expired = info_num(admin, "expired_keys");
    CHECK_EQ_STR(cmd(admin, "SET e v PX 100"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(admin, "CLIENT PAUSE 30000 WRITE"), "status:\"OK\"");
    raw_sendstr(held[0], "PFCOUNT h\r\n");
    raw_sendstr(held[1], "PUBLISH ch m\r\n");
    raw_sendstr(held[2], "*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 2\r\n$1\r\n0\r\n");
    raw_sendstr(held[3], "EXEC\r\n");
    CHECK(wait_info_num(admin, "blocked_clients", 4));
    const char *ro = "#!lua flags=no-writes\nreturn 1";
    char req[256];
    snprintf(req, sizeof(req), "*3\r\n$4\r\nEVAL\r\n$%zu\r\n%s\r\n$1\r\n0\r\n", strlen(ro), ro);
    raw_sendstr(free_ro, req);
    raw_read_reply(free_ro, READ_MS, &b);
    CHECK_EQ_STR(b.data, ":1\r\n");
    raw_buf_free(&b);
    raw_sendstr(ro_multi, "MULTI\r\nGET e\r\nEXEC\r\n");
    b = raw_read_until(ro_multi, 500);
    CHECK(b.data && strstr(b.data, "*1\r\n"));
    raw_buf_free(&b);
    /* e's 100 ms are over: it reads as gone but is not deleted. */
    harness_sleep_ms(200);
    CHECK_EQ_STR(cmd(admin, "GET e"), "nil");
    CHECK_EQ_INT(info_num(admin, "expired_keys"), expired);
    CHECK_EQ_STR(cmd(admin, "CLIENT UNPAUSE"), "status:\"OK\"");
    const char *want[4] = {":1\r\n", ":0\r\n", ":2\r\n", "*1\r\n+OK\r\n"};
    for (int i = 0; i < 4; i++) {
        raw_read_reply(held[i], READ_MS, &b);
        CHECK_EQ_STR(b.data, want[i]);
        raw_buf_free(&b);
        raw_close(held[i]);
    }
    CHECK_EQ_STR(cmd(admin, "GET e"), "nil");
    CHECK_EQ_INT(info_num(admin, "expired_keys"), expired + 1);
    CHECK_EQ_INT(info_num(admin, "blocked_clients"), 0);
    raw_close(free_ro);
    raw_close(ro_multi);
    harness_disconnect(admin);
}

TEST(client_pause_holds_like_redis) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    pause_scenario(l);
    if (!harness_have_redis()) return;
    harness_opts o = {.kind = HARNESS_REDIS};
    harness_server *r = harness_start_opts(&o);
    REQUIRE(r);
    pause_scenario(r);
}

/* The maxclients scenario on one server; returns the bytes the extra client
 * got (malloc'd). */
static char *maxclients_scenario(harness_server *s) {
    int a = raw_connect(s->port), b = raw_connect(s->port);
    raw_buf r;
    raw_sendstr(a, "PING\r\n");
    raw_read_reply(a, READ_MS, &r);
    CHECK_EQ_STR(r.data, "+PONG\r\n");
    raw_buf_free(&r);
    raw_sendstr(b, "PING\r\n");
    raw_read_reply(b, READ_MS, &r);
    CHECK_EQ_STR(r.data, "+PONG\r\n");
    raw_buf_free(&r);
    int c = raw_connect(s->port);
    r = raw_read_until(c, READ_MS);
    CHECK(r.closed);
    raw_close(c);
    /* The existing clients still work. */
    raw_buf t;
    raw_sendstr(a, "PING\r\n");
    raw_read_reply(a, READ_MS, &t);
    CHECK_EQ_STR(t.data, "+PONG\r\n");
    raw_buf_free(&t);
    /* After one leaves, a new client gets in (the server may need a moment
     * to notice the close: retry, bounded). */
    raw_close(b);
    int in = 0;
    for (int i = 0; i < 50 && !in; i++) {
        int d = raw_connect(s->port);
        raw_sendstr(d, "PING\r\n");
        raw_read_reply(d, READ_MS, &t);
        in = t.data && !strcmp(t.data, "+PONG\r\n");
        raw_buf_free(&t);
        raw_close(d);
        if (!in) harness_sleep_ms(100);
    }
    CHECK(in);
    raw_close(a);
    return r.data;
}

TEST(maxclients) {
    REQUIRE(difftest_start_servers("maxclients", "2", NULL));
    char *l = maxclients_scenario(LS);
    CHECK_EQ_STR(l, "-ERR max number of clients reached\r\n");
    if (RS) {
        char *r = maxclients_scenario(RS);
        CHECK_EQ_STR(l, r);
        free(r);
    }
    free(l);
}

TEST(idle_timeout) {
    REQUIRE(difftest_start_servers("timeout", "1", NULL));
    harness_server *s[2] = {LS, RS};
    for (int i = 0; i < 2 && s[i]; i++) {
        redisContext *c = harness_connect(s[i]);
        CHECK_EQ_STR(cmd(c, "CONFIG GET timeout"),
                     "array[bulk:\"timeout\",bulk:\"1\"]");
        int fd = raw_connect(s[i]->port);
        raw_sendstr(fd, "PING\r\n");
        raw_buf b;
        raw_read_reply(fd, READ_MS, &b);
        CHECK_EQ_STR(b.data, "+PONG\r\n");
        raw_buf_free(&b);
        /* Idle: closed after about a second, with no reply. Generous hang
         * detection only. */
        b = raw_read_until(fd, 15000);
        CHECK(b.closed);
        CHECK_EQ_INT(b.len, 0);
        raw_buf_free(&b);
    }
}

/* The value of field (e.g. "argv-mem") in a CLIENT INFO / LIST line, or -1. */
static long long client_num_field(const char *line, const char *field) {
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", field);
    const char *p = strstr(line, pat);
    return p ? atoll(p + strlen(pat)) : -1;
}

/* The CLIENT LIST line of the client named name on c (copied). */
static char *client_line(redisContext *c, const char *name) {
    redisReply *r = redisCommand(c, "CLIENT LIST");
    char *out = NULL;
    if (r && r->type == REDIS_REPLY_STRING) {
        char pat[64];
        snprintf(pat, sizeof pat, " name=%s ", name);
        const char *p = strstr(r->str, pat);
        if (p) {
            while (p > r->str && p[-1] != '\n') p--;
            const char *e = strchr(p, '\n');
            out = strndup(p, e ? (size_t)(e - p) : strlen(p));
        }
    }
    if (r) freeReplyObject(r);
    return out;
}

/* CLIENT LIST / INFO fields that were constants report the truth, as Redis:
 * argv-mem is the bytes of the arguments of the command running (CLIENT
 * INFO's own, EXEC's inside a transaction, a blocked command's kept
 * arguments; 0 for an idle client); INFO's clients_in_timeout_table counts
 * blocked clients with a timeout. */
TEST(client_fields_truthful) {
    REQUIRE(difftest_start(NULL));
    redisContext *sides[2] = {L, R};
    harness_server *srvs[2] = {LS, RS};
    for (int s = 0; s < 2; s++) {
        redisContext *c = sides[s];
        if (!c) continue;
        CHECK_EQ_INT(client_num_field(cmd(c, "CLIENT INFO"), "argv-mem"), 10);
        cmd(c, "MULTI");
        cmd(c, "CLIENT INFO");
        redisReply *r = redisCommand(c, "EXEC");
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
        CHECK_EQ_INT(client_num_field(r->element[0]->str, "argv-mem"), 4);
        freeReplyObject(r);
        /* An idle client and two blocked ones (with and without timeout). */
        redisContext *idle = harness_connect(srvs[s]);
        redisContext *b1 = harness_connect(srvs[s]);
        redisContext *b2 = harness_connect(srvs[s]);
        REQUIRE(idle && b1 && b2);
        cmd(idle, "CLIENT SETNAME idle");
        cmd(b1, "CLIENT SETNAME forever");
        cmd(b2, "CLIENT SETNAME timed");
        redisAppendCommand(b1, "BLPOP nolist 0");
        redisAppendCommand(b2, "BLPOP nolist2 100");
        redisBufferWrite(b1, &(int){0});
        redisBufferWrite(b2, &(int){0});
        for (int tries = 0; tries < 500; tries++) {
            char v[32];
            harness_info(c, "clients", "blocked_clients", v, sizeof v);
            if (atoi(v) == 2) break;
            harness_sleep_ms(10);
        }
        char v[32];
        harness_info(c, "clients", "clients_in_timeout_table", v, sizeof v);
        CHECK_EQ_STR(v, "1");
        char *l = client_line(c, "idle");
        CHECK(l && client_num_field(l, "argv-mem") == 0);
        free(l);
        l = client_line(c, "forever");
        CHECK(l && client_num_field(l, "argv-mem") == 12); /* BLPOP nolist 0 */
        free(l);
        l = client_line(c, "timed");
        CHECK(l && client_num_field(l, "argv-mem") == 15);
        free(l);
        cmd(c, "LPUSH nolist2 x");
        harness_info(c, "clients", "clients_in_timeout_table", v, sizeof v);
        for (int tries = 0; tries < 500 && strcmp(v, "0") != 0; tries++) {
            harness_sleep_ms(10);
            harness_info(c, "clients", "clients_in_timeout_table", v, sizeof v);
        }
        CHECK_EQ_STR(v, "0");
        if (testlib_current_failed) fprintf(stderr, "  on %s\n", s ? "redis" : "lightning");
    }
}

int main(void) {
    RUN(hello_resp2);
    RUN(resp3_replies);
    RUN(auth_requirepass);
    RUN(auth_without_password);
    RUN(select_db);
    RUN(quit);
    RUN(reset);
    RUN(client_id_name_list_info);
    RUN(client_kill);
    RUN(client_reply);
    RUN(client_misc_subcommands);
    RUN(client_pause);
    RUN(client_pause_holds_like_redis);
    RUN(maxclients);
    RUN(idle_timeout);
    RUN(client_fields_truthful);
    return testlib_finish();
}
