/*
 * compat_pair: the two servers, one raw connection to each, and how their
 * replies are compared.
 *
 * Owns compat_rules, the single table of commands whose replies Redis
 * leaves open (ordering, randomness, time, server identity) or that the
 * random generator must not send, each with its reason. Everything not in
 * the table is compared exactly.
 *
 * Invariants: a compat_pair's connections are in the protocol its `resp3`
 * says until a command (HELLO, RESET) changes it on both alike; every
 * command is sent and its one reply read before the next is sent (no
 * pipelining), each read bounded by HARNESS_CMD_TIMEOUT_MS.
 */
#include "compat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* argv                                                                */

void compat_argv_push(compat_argv *a, const char *s, size_t len) {
    if (a->argc >= COMPAT_MAX_ARGS) return;
    char *p = malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    a->argv[a->argc] = p;
    a->len[a->argc] = len;
    a->argc++;
}

void compat_argv_pushstr(compat_argv *a, const char *s) {
    compat_argv_push(a, s, strlen(s));
}

void compat_argv_free(compat_argv *a) {
    for (int i = 0; i < a->argc; i++) free(a->argv[i]);
    a->argc = 0;
}

void compat_argv_copy(compat_argv *dst, const compat_argv *src) {
    dst->argc = 0;
    for (int i = 0; i < src->argc; i++)
        compat_argv_push(dst, src->argv[i], src->len[i]);
}

char *compat_argv_format(const compat_argv *a) {
    size_t cap = 16;
    for (int i = 0; i < a->argc; i++) cap += a->len[i] * 4 + 3;
    char *out = malloc(cap), *o = out;
    for (int i = 0; i < a->argc; i++) {
        const unsigned char *s = (const unsigned char *)a->argv[i];
        int plain = a->len[i] > 0;
        for (size_t j = 0; j < a->len[i]; j++)
            if (!isgraph(s[j]) || s[j] == '"' || s[j] == '\'' || s[j] == '\\')
                plain = 0;
        if (i) *o++ = ' ';
        if (plain) {
            memcpy(o, s, a->len[i]);
            o += a->len[i];
            continue;
        }
        *o++ = '"';
        for (size_t j = 0; j < a->len[i]; j++) {
            if (s[j] == '"' || s[j] == '\\') {
                *o++ = '\\';
                *o++ = (char)s[j];
            } else if (isprint(s[j])) {
                *o++ = (char)s[j];
            } else {
                o += sprintf(o, "\\x%02x", s[j]);
            }
        }
        *o++ = '"';
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* The rules table                                                     */

#define R_ORDER "Redis leaves the order unspecified"
#define R_RANDOM "random by design"
#define R_HELP "help text lists each server's own subcommands"
#define R_TABLE "Lightning's command table is a subset and derives key specs; " \
                "tests/integration/test_command_info.c compares the fields"

const compat_rule compat_rules[] = {
    /* Order left open by Redis: compared as multisets. */
    {"keys", CMP_UNORDERED, 0, R_ORDER},
    {"smembers", CMP_UNORDERED, 0, R_ORDER},
    {"sinter", CMP_UNORDERED, 0, R_ORDER},
    {"sunion", CMP_UNORDERED, 0, R_ORDER},
    {"sdiff", CMP_UNORDERED, 0, R_ORDER},
    {"hkeys", CMP_UNORDERED, 0, R_ORDER},
    {"hvals", CMP_UNORDERED, 0, R_ORDER},
    {"hgetall", CMP_PAIRS, 0, R_ORDER},
    {"pubsub|channels", CMP_UNORDERED, 0, R_ORDER},
    /* Random or time-dependent: shape only. */
    {"randomkey", CMP_SHAPE, 0, R_RANDOM},
    {"srandmember", CMP_SHAPE, 0, R_RANDOM},
    {"hrandfield", CMP_SHAPE, 0, R_RANDOM},
    {"zrandmember", CMP_SHAPE, 0, R_RANDOM},
    {"spop", CMP_SKIP, 0, "removes a random member: the servers' states would diverge "
                          "(scenarios compare its shape)", CMP_SHAPE},
    {"time", CMP_SHAPE, 0, "the clock"},
    {"lastsave", CMP_SHAPE, 0, "the clock"},
    {"info", CMP_SHAPE, 0, "server identity, counters, memory"},
    {"lolwut", CMP_SHAPE, 0, "version art"},
    {"role", CMP_SHAPE, 0, "a master's offset counts the logical stream from start-up "
                           "(Redis: from its first replica); tests/integration/test_repl.c "
                           "checks ROLE"},
    {"hello", CMP_SHAPE, 0, "server name, version, client id"},
    {"client|list", CMP_SHAPE, 0, "client ids, addresses, ages"},
    {"client|info", CMP_SHAPE, 0, "client id, address, age"},
    {"client|id", CMP_SHAPE, 0, "ids depend on connections made before"},
    {"object|idletime", CMP_SHAPE, 0, "the clock"},
    {"object|freq", CMP_SHAPE, 0, "LFU counters are probabilistic"},
    {"memory|usage", CMP_SKIP, 0, "allocator overheads differ, and Redis still measures a "
                                  "key that expired but was not deleted yet (tests/integration/"
                                  "test_keys.c checks MEMORY USAGE)"},
    {"memory|stats", CMP_SHAPE, 0, "allocator figures"},
    {"memory|doctor", CMP_SHAPE, 0, "allocator figures"},
    {"memory|malloc-stats", CMP_SHAPE, 0, "allocator figures"},
    {"scan", CMP_SHAPE, 0, "cursor values and COUNT are implementation hints"},
    {"sscan", CMP_SHAPE, 0, "cursor values and COUNT are implementation hints"},
    {"hscan", CMP_SHAPE, 0, "cursor values and COUNT are implementation hints"},
    {"zscan", CMP_SHAPE, 0, "cursor values and COUNT are implementation hints"},
    {"config|get", CMP_SKIP, 0, "Lightning has only the parameters it honours, so patterns "
                                "match different sets (scenarios/server.txt compares shared ones)"},
    {"command", CMP_SKIP, 0, R_TABLE},
    {"command|count", CMP_SKIP, 0, R_TABLE},
    {"command|list", CMP_SKIP, 0, R_TABLE},
    {"command|info", CMP_SKIP, 0, R_TABLE},
    {"command|docs", CMP_SKIP, 0, R_TABLE},
    {"client|help", CMP_SKIP, 0, R_HELP},
    {"config|help", CMP_SKIP, 0, R_HELP},
    {"object|help", CMP_SKIP, 0, R_HELP},
    {"command|help", CMP_SKIP, 0, R_HELP},
    {"pubsub|help", CMP_SKIP, 0, R_HELP},
    {"xadd", CMP_SHAPE, 0, "`*` ids come from the clock"},
    {"slowlog|get", CMP_SHAPE, 0, "ids, times, durations and client ports"},
    {"slowlog|len", CMP_SHAPE, 0, "which commands pass the threshold is timing"},
    {"latency|latest", CMP_SHAPE, 0, "the clock"},
    {"latency|history", CMP_SHAPE, 0, "the clock"},
    {"latency|graph", CMP_SHAPE, 0, "the clock"},
    {"latency|doctor", CMP_SHAPE, 0, "the clock"},
    {"latency|histogram", CMP_SKIP, 0, "counts every command the tools sent, and the tools "
                                       "query the two servers differently "
                                       "(tests/integration/test_observe.c compares shapes)"},
    {"acl|genpass", CMP_SHAPE, 0, R_RANDOM},
    {"acl|log", CMP_SHAPE, 0, "client ids, addresses and ages in client-info"},
    {"acl|list", CMP_SHAPE, 0, "single-command rules in Redis's dict order; categories "
                               "Lightning has fewer commands of (docs/ACL.md)"},
    {"acl|getuser", CMP_SHAPE, 0, "single-command rules in Redis's dict order"},
    {"acl|cat", CMP_SKIP, 0, R_TABLE},
    /* Never sent by the random generator: it could lock the run out
     * (ACL SETUSER default off) or make users the servers describe
     * differently; tests/integration/test_acl.c and acl.txt cover it. */
    {"acl|setuser", CMP_SKIP, 0, "changes who may run what"},
    /* Time left: within a tolerance (the two servers see a command a few
     * milliseconds apart). */
    {"ttl", CMP_TOLERANCE, 1, "seconds left"},
    {"pttl", CMP_TOLERANCE, 250, "milliseconds left"},
    {"expiretime", CMP_TOLERANCE, 1, "deadline set a moment apart"},
    {"pexpiretime", CMP_TOLERANCE, 250, "deadline set a moment apart"},
    /* Never sent by the random generator. */
    {"shutdown", CMP_SKIP, 0, "stops the server"},
    {"debug", CMP_SKIP, 0, "crashes, sleeps, internals"},
    {"monitor", CMP_SKIP, 0, "turns the connection into a feed"},
    {"dump", CMP_SHAPE, 0, "payload bytes: Lightning writes collections in RDB's plain forms "
                           "(tests/integration/test_rdb.c compares restored contents)"},
    {"migrate", CMP_SKIP, 0, "connects to another server (tests/integration/test_rdb.c)"},
    {"sync", CMP_SKIP, 0, "replication stream"},
    {"psync", CMP_SKIP, 0, "replication stream"},
    {"replicaof", CMP_SKIP, 0, "replication"},
    {"slaveof", CMP_SKIP, 0, "replication"},
    {"failover", CMP_SKIP, 0, "replication"},
    {"quit", CMP_SKIP, 0, "closes the connection"},
    {"client|kill", CMP_SKIP, 0, "may close the connection"},
    {"client|pause", CMP_SKIP, 0, "stalls the server"},
    {"client|reply", CMP_SKIP, 0, "OFF/SKIP suppress the replies the reader waits for"},
    {"client|setinfo", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup", CMP_SKIP, 0, R_ONLY_LIGHTNING}, /* docs/BACKUP.md */
    {"backup|begin", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup|status", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup|sync", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup|read", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup|end", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"backup|help", CMP_SKIP, 0, R_ONLY_LIGHTNING},
    {"config|set", CMP_SKIP, 0, "changes the configuration"},
    {"config|rewrite", CMP_SKIP, 0, "writes the config file"},
    {"save", CMP_SKIP, 0, "disk I/O"},
    {"bgsave", CMP_SKIP, 0, "disk I/O"},
    {"bgrewriteaof", CMP_SKIP, 0, "disk I/O"},
    {"subscribe", CMP_SKIP, 0, "subscriber mode, push replies"},
    {"psubscribe", CMP_SKIP, 0, "subscriber mode, push replies"},
    {"ssubscribe", CMP_SKIP, 0, "subscriber mode, push replies"},
    {"unsubscribe", CMP_SKIP, 0, "one reply per channel (tests/integration/test_pubsub.c)"},
    {"punsubscribe", CMP_SKIP, 0, "one reply per pattern (tests/integration/test_pubsub.c)"},
    {"sunsubscribe", CMP_SKIP, 0, "one reply per channel (tests/integration/test_pubsub.c)"},
    {"client|tracking", CMP_SKIP, 0, "invalidation pushes between replies "
                                     "(tests/integration/test_tracking.c)"},
    {"blpop", CMP_SKIP, 0, "blocks: the timeout races"},
    {"brpop", CMP_SKIP, 0, "blocks: the timeout races"},
    {"blmove", CMP_SKIP, 0, "blocks: the timeout races"},
    {"blmpop", CMP_SKIP, 0, "blocks: the timeout races"},
    {"brpoplpush", CMP_SKIP, 0, "blocks: the timeout races"},
    {"bzpopmin", CMP_SKIP, 0, "blocks: the timeout races"},
    {"bzpopmax", CMP_SKIP, 0, "blocks: the timeout races"},
    {"bzmpop", CMP_SKIP, 0, "blocks: the timeout races"},
    {"wait", CMP_SKIP, 0, "blocks: the timeout races"},
    {"waitaof", CMP_SKIP, 0, "blocks: the timeout races"},
    {NULL, CMP_EXACT, 0, NULL, CMP_EXACT},
};

const compat_rule *compat_rule_named(const char *name) {
    for (const compat_rule *r = compat_rules; r->name; r++)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

static void lower_into(char *dst, size_t cap, const char *s, size_t len) {
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) dst[i] = (char)tolower((unsigned char)s[i]);
    dst[n] = '\0';
}

const compat_rule *compat_rule_for(const compat_argv *a) {
    if (a->argc < 1) return NULL;
    char name[160], top[64];
    lower_into(top, sizeof(top), a->argv[0], a->len[0]);
    if (a->argc > 1) {
        char sub[64];
        lower_into(sub, sizeof(sub), a->argv[1], a->len[1]);
        snprintf(name, sizeof(name), "%s|%s", top, sub);
        const compat_rule *r = compat_rule_named(name);
        if (r) return r;
    }
    return compat_rule_named(top);
}

/* ------------------------------------------------------------------ */
/* Servers and connections                                             */

int compat_pair_start(compat_pair *p) {
    memset(p, 0, sizeof(*p));
    p->fl = p->fr = -1;
    p->l = harness_start(NULL);
    p->r = harness_start_redis(NULL);
    if (!p->l || !p->r) return -1;
    return 0;
}

/* Sends a as a RESP multibulk and reads one reply into *out. 1 on
 * success. */
static int send_argv(int fd, const compat_argv *a, raw_buf *out) {
    size_t cap = 32;
    for (int i = 0; i < a->argc; i++) cap += a->len[i] + 32;
    char *req = malloc(cap), *o = req;
    o += sprintf(o, "*%d\r\n", a->argc);
    for (int i = 0; i < a->argc; i++) {
        o += sprintf(o, "$%zu\r\n", a->len[i]);
        memcpy(o, a->argv[i], a->len[i]);
        o += a->len[i];
        *o++ = '\r';
        *o++ = '\n';
    }
    int sent = raw_send(fd, req, (size_t)(o - req));
    free(req);
    if (sent != 0) {
        memset(out, 0, sizeof(*out));
        out->closed = 1;
        return 0;
    }
    return raw_read_reply(fd, HARNESS_CMD_TIMEOUT_MS, out);
}

/* One command on one connection, reply ignored except for success. */
static int simple(int fd, const char *a0, const char *a1) {
    compat_argv a = {0};
    compat_argv_pushstr(&a, a0);
    if (a1) compat_argv_pushstr(&a, a1);
    raw_buf b;
    int ok = send_argv(fd, &a, &b) && b.data && b.data[0] != '-';
    raw_buf_free(&b);
    compat_argv_free(&a);
    return ok;
}

int compat_pair_reset(compat_pair *p, int resp3) {
    raw_close(p->fl);
    raw_close(p->fr);
    p->fl = raw_connect(p->l->port);
    p->fr = raw_connect(p->r->port);
    p->resp3 = resp3;
    if (p->fl < 0 || p->fr < 0) return -1;
    int fds[2] = {p->fl, p->fr};
    for (int i = 0; i < 2; i++) {
        if (resp3 && !simple(fds[i], "HELLO", "3")) return -1;
        if (!simple(fds[i], "FLUSHALL", NULL)) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Rendering under a compare mode                                      */

static int cmp_strp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bytes of the header line of the value at buf (type byte .. CRLF). */
static size_t header_len(const char *buf, size_t len) {
    for (size_t i = 1; i + 1 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n') return i + 2;
    return len;
}

static char *render_sorted(const char *buf, size_t len, compat_cmp cmp) {
    char t = buf[0];
    long long n = strtoll(buf + 1, NULL, 10);
    if ((t != '*' && t != '~' && t != '%') || n <= 0 || n > 100000)
        return resp_render(buf, len);
    const char *p = buf + header_len(buf, len), *end = buf + len;
    /* Elements per group: map entries, flat RESP2 pairs. */
    int group = t == '%' ? 2 : 1;
    if (cmp == CMP_PAIRS && t == '*' && *p != '*') group = 2;
    long long items = t == '%' ? n : n / group;
    char **parts = calloc((size_t)items + 1, sizeof(char *));
    size_t total = 0;
    long long k = 0;
    for (; k < items && p < end; k++) {
        size_t cap = 0;
        char *pieces[2] = {NULL, NULL};
        for (int g = 0; g < group; g++) {
            long fl = resp_frame_len(p, (size_t)(end - p));
            if (fl <= 0) break;
            pieces[g] = resp_render(p, (size_t)fl);
            cap += strlen(pieces[g]) + 3;
            p += fl;
        }
        parts[k] = malloc(cap + 1);
        parts[k][0] = '\0';
        for (int g = 0; g < group && pieces[g]; g++) {
            if (g) strcat(parts[k], "=>");
            strcat(parts[k], pieces[g]);
            free(pieces[g]);
        }
        total += strlen(parts[k]) + 1;
    }
    qsort(parts, (size_t)k, sizeof(char *), cmp_strp);
    char *out = malloc(total + 32), *o = out;
    o += sprintf(o, "%s", t == '*' ? "array~[" : t == '~' ? "set~{" : "map~{");
    for (long long i = 0; i < k; i++) {
        if (i) *o++ = ',';
        size_t pl = strlen(parts[i]);
        memcpy(o, parts[i], pl);
        o += pl;
        free(parts[i]);
    }
    sprintf(o, "%s", t == '*' ? "]" : "}");
    free(parts);
    return out;
}

static char *render_shape(const char *buf, size_t len) {
    char t = buf[0];
    long long n = strtoll(buf + 1, NULL, 10);
    char out[64];
    switch (t) {
    case '-': case '!':
        return resp_render(buf, len);
    case '*': case '~': case '%': case '>': case '|':
        if (n < 0) return strdup("nil");
        snprintf(out, sizeof(out), "shape:%c[%lld]", t, n);
        return strdup(out);
    case '$':
        return strdup(n < 0 ? "nil" : "shape:bulk");
    default:
        snprintf(out, sizeof(out), "shape:%c", t);
        return strdup(out);
    }
}

char *compat_render(const char *buf, size_t len, compat_cmp cmp) {
    if (!buf || len == 0) return strdup("(empty)");
    switch (cmp) {
    case CMP_UNORDERED:
    case CMP_PAIRS:
        return render_sorted(buf, len, cmp);
    case CMP_SHAPE:
    case CMP_SKIP:
        return render_shape(buf, len);
    default:
        return resp_render(buf, len);
    }
}

static char *io_error(const raw_buf *b) {
    const char *what = b->closed ? "connection closed" : "timeout";
    char *out = malloc(64);
    snprintf(out, 64, "(io-error: %s)", what);
    return out;
}

compat_result compat_run(compat_pair *p, const compat_argv *a,
                         compat_cmp force) {
    compat_result res = {0};
    const compat_rule *rule = compat_rule_for(a);
    compat_cmp cmp = force != CMP_EXACT ? force : rule ? rule->cmp : CMP_EXACT;
    raw_buf bl, br;
    int okl = send_argv(p->fl, a, &bl);
    int okr = send_argv(p->fr, a, &br);
    res.l = okl ? compat_render(bl.data, bl.len, cmp) : io_error(&bl);
    res.r = okr ? compat_render(br.data, br.len, cmp) : io_error(&br);
    res.io_error = !okl || !okr;
    res.equal = strcmp(res.l, res.r) == 0;
    if (!res.equal && okl && okr && cmp == CMP_TOLERANCE && rule &&
        bl.data[0] == ':' && br.data[0] == ':') {
        long long x = strtoll(bl.data + 1, NULL, 10);
        long long y = strtoll(br.data + 1, NULL, 10);
        /* Negative values are states (-1 no expiry, -2 no key): exact. */
        if (x >= 0 && y >= 0 && llabs(x - y) <= rule->tolerance) res.equal = 1;
    }
    raw_buf_free(&bl);
    raw_buf_free(&br);
    return res;
}

void compat_result_free(compat_result *r) {
    free(r->l);
    free(r->r);
    r->l = r->r = NULL;
}
