/*
 * compat_random: the seeded random differential run and its shrinker.
 *
 * Commands come from Lightning's own table at run time (COMMAND LIST, then
 * COMMAND INFO per name: arity, flags, first/last key, key step), so a
 * family that lands is exercised without editing this file. Arguments come
 * from a small option grammar per command when `grammars` has one (e.g.
 * SET's EX/PX/NX/XX/GET/KEEPTTL), else from the key positions and pools of
 * generic values; a share of commands is built with a wrong arity or
 * generic arguments even when a grammar exists. Ten keys are shared by
 * every type, so WRONGTYPE comes up by itself.
 *
 * Grammar strings: words separated by blanks. UPPERCASE words and numbers
 * are literal tokens (sometimes sent in lower case); lowercase words name a
 * value pool (see pools[]); `[ a ]` optional, `( a | b )` one of, `{ a }`
 * one to three times; `|` also separates alternatives inside `[ ]`.
 *
 * On a mismatch the commands since the last reset are shrunk with delta
 * debugging (ddmin over the sequence, each candidate replayed on freshly
 * FLUSHALLed servers and new connections) to a shortest sequence whose last
 * command still differs, which is printed with both replies and the seed.
 * Both servers are then reset and the run continues. Every loop is bounded:
 * the run by n, the shrinker by SHRINK_BUDGET commands per mismatch.
 */
#include "compat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_CMDS 512
#define SHRINK_BUDGET 40000 /* commands replayed per shrink, at most */

/* ------------------------------------------------------------------ */
/* Random numbers (splitmix64: tiny, seedable, good enough)            */

static uint64_t rng_state;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int rng_below(int n) { return n <= 0 ? 0 : (int)(rng_next() % (uint64_t)n); }
static int rng_chance(int percent) { return rng_below(100) < percent; }

/* ------------------------------------------------------------------ */
/* Value pools                                                         */

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})
typedef struct pool {
    const char *name;
    const char *const *values;
} pool;

/* Keys: ten shared by all types. Expiry values avoid small positive
 * timeouts, which would expire at slightly different moments on the two
 * servers during the run. SETBIT/SETRANGE offsets stay small or invalid
 * (a valid huge offset allocates 512 MB on both). */
static const pool pools[] = {
    {"key", P("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9")},
    {"val", P("", "v", "hello", "a b", "0", "1", "-1", "7", "10", "3.5", "-2.25",
              "1e2", "inf", "-inf", "nan", "9223372036854775807",
              "-9223372036854775808", "9223372036854775808", "0x10", " 1",
              "1 ", "bin\x01\xff", "k1", "*", "foobar", "abcdefghijklmnop")},
    {"int", P("0", "1", "2", "3", "-1", "-2", "5", "10", "100", "-100",
              "9223372036854775807", "-9223372036854775808", "x", "1.5", "")},
    {"float", P("0", "1.5", "-2.5", "3", "1e3", "inf", "-inf", "+inf", "nan",
                "0.1", "x", "1e400", "-0", "17")},
    {"score", P("0", "1", "2", "1.5", "-3", "10", "inf", "-inf", "nan", "x")},
    {"min", P("-inf", "+inf", "(1", "2", "(3.5", "0", "10", "x", "(x", "[1")},
    {"lex", P("-", "+", "[a", "(b", "[c", "(e", "a", "[", "(")},
    {"mem", P("a", "b", "c", "d", "e", "1", "2", "10", "")},
    {"cnt", P("0", "1", "2", "3", "-1", "-3", "10", "x", "100")},
    {"cur", P("0", "0", "0", "1", "x", "-1")},
    {"off", P("0", "1", "3", "7", "8", "15", "33", "100", "-1", "x",
              "4294967296")},
    {"soff", P("0", "1", "2", "5", "10", "-1", "x", "536870912")},
    {"bit", P("0", "1", "2", "-1", "x")},
    {"sec", P("100", "1000", "0", "-5", "10000000000000", "x", "9223372036854775807")},
    {"ms", P("100000", "1000000", "0", "-1", "x", "9223372036854775807")},
    {"unix", P("1", "4102444800", "0", "-1", "x")},
    {"unixms", P("1", "4102444800000", "0", "-1", "x")},
    {"db", P("0", "1", "2", "15", "16", "-1", "x")},
    {"pat", P("*", "k*", "k[0-4]", "?", "*1", "nomatch", "k\\*", "[")},
    {"type", P("string", "list", "set", "zset", "hash", "stream", "nosuch")},
    {"bftype", P("u8", "i5", "u1", "i64", "u63", "u64", "x8", "i0")},
    {"bfoff", P("0", "1", "8", "#1", "#2", "-1", "x", "100")},
    /* Parameters both servers have (Lightning has only those it honours,
     * so globs and Redis-only names would differ by design). */
    {"cfg", P("maxclients", "hz", "timeout", "appendonly", "appendfsync", "nosuch",
              "databases", "proto-max-bulk-len")},
    {"section", P("server", "keyspace", "memory", "all", "default",
                  "everything", "nosuch", "stats")},
    {"cmdname", NULL}, /* filled from the discovered table */
    {NULL, NULL},
};

static const char *const *pool_values(const char *name) {
    for (const pool *p = pools; p->name; p++)
        if (strcmp(p->name, name) == 0) return p->values;
    return NULL;
}

static int pool_size(const char *const *v) {
    int n = 0;
    while (v && v[n]) n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Grammars                                                            */

typedef struct grammar {
    const char *name;
    const char *g;
} grammar;

#define EXPIRE_OPT "[ NX | XX | GT | LT ]"
#define ZSTORE_SRC "( 1 key | 2 key key | 0 key | 3 key key key )"
static const grammar grammars[] = {
    /* strings */
    {"get", "key"},
    {"set", "key val [ EX sec | PX ms | EXAT unix | PXAT unixms | KEEPTTL ] "
            "[ NX | XX ] [ GET ] [ EX sec | NX ]"},
    {"setnx", "key val"},
    {"setex", "key sec val"},
    {"psetex", "key ms val"},
    {"getset", "key val"},
    {"getdel", "key"},
    {"getex", "key [ EX sec | PX ms | EXAT unix | PXAT unixms | PERSIST ] [ PERSIST ]"},
    {"mget", "{ key }"},
    {"mset", "{ key val }"},
    {"msetnx", "{ key val }"},
    {"append", "key val"},
    {"strlen", "key"},
    {"incr", "key"},
    {"decr", "key"},
    {"incrby", "key int"},
    {"decrby", "key int"},
    {"incrbyfloat", "key float"},
    {"getrange", "key int int"},
    {"substr", "key int int"},
    {"setrange", "key soff val"},
    {"lcs", "key key [ LEN ] [ IDX ] [ MINMATCHLEN int ] [ WITHMATCHLEN ]"},
    /* bitmaps */
    {"setbit", "key off bit"},
    {"getbit", "key off"},
    {"bitcount", "key [ int int [ BYTE | BIT ] ]"},
    {"bitpos", "key bit [ int [ int [ BYTE | BIT ] ] ]"},
    {"bitop", "( AND | OR | XOR | NOT | NAND ) key { key }"},
    {"bitfield", "key { GET bftype bfoff | SET bftype bfoff int | "
                 "INCRBY bftype bfoff int | OVERFLOW ( WRAP | SAT | FAIL | NO ) }"},
    {"bitfield_ro", "key { GET bftype bfoff }"},
    /* keys */
    {"del", "{ key }"},
    {"unlink", "{ key }"},
    {"exists", "{ key }"},
    {"touch", "{ key }"},
    {"type", "key"},
    {"rename", "key key"},
    {"renamenx", "key key"},
    {"copy", "key key [ DB db ] [ REPLACE ]"},
    {"move", "key db"},
    {"swapdb", "db db"},
    {"select", "db"},
    {"keys", "pat"},
    {"scan", "cur [ MATCH pat ] [ COUNT cnt ] [ TYPE type ]"},
    {"expire", "key sec " EXPIRE_OPT},
    {"pexpire", "key ms " EXPIRE_OPT},
    {"expireat", "key unix " EXPIRE_OPT},
    {"pexpireat", "key unixms " EXPIRE_OPT},
    {"object|encoding", "key"},
    {"object|refcount", "key"},
    {"memory|usage", "key [ SAMPLES cnt ]"},
    {"flushall", "[ ASYNC | SYNC | NOW ]"},
    {"flushdb", "[ ASYNC | SYNC ]"},
    /* connection, server */
    {"ping", "[ val ]"},
    {"echo", "val"},
    {"hello", "[ ( 2 | 3 | 4 | x ) [ SETNAME val ] [ AUTH val val ] ]"},
    {"auth", "val [ val ]"},
    {"client|setname", "( val | mem | name )"},
    {"client|no-evict", "( ON | OFF | x )"},
    {"config|get", "{ cfg }"},
    {"info", "[ section [ section ] ]"},
    {"command|info", "{ cmdname }"},
    {"command|docs", "{ cmdname }"},
    {"command|getkeys", "( SET key val | GET key | MSET key val key val | cmdname key )"},
    {"command|getkeysandflags", "( SET key val | GET key | cmdname key )"},
    /* hashes */
    {"hset", "key { mem val }"},
    {"hmset", "key { mem val }"},
    {"hsetnx", "key mem val"},
    {"hget", "key mem"},
    {"hmget", "key { mem }"},
    {"hdel", "key { mem }"},
    {"hexists", "key mem"},
    {"hstrlen", "key mem"},
    {"hincrby", "key mem int"},
    {"hincrbyfloat", "key mem float"},
    {"hrandfield", "key [ cnt [ WITHVALUES ] ]"},
    {"hscan", "key cur [ MATCH pat ] [ COUNT cnt ]"},
    /* lists */
    {"lpush", "key { mem }"},
    {"rpush", "key { mem }"},
    {"lpushx", "key { mem }"},
    {"rpushx", "key { mem }"},
    {"lpop", "key [ cnt ]"},
    {"rpop", "key [ cnt ]"},
    {"lrange", "key int int"},
    {"lindex", "key int"},
    {"lset", "key int mem"},
    {"linsert", "key ( BEFORE | AFTER | x ) mem mem"},
    {"lrem", "key int mem"},
    {"ltrim", "key int int"},
    {"lpos", "key mem [ RANK int ] [ COUNT cnt ] [ MAXLEN cnt ]"},
    {"lmove", "key key ( LEFT | RIGHT ) ( LEFT | RIGHT | UP )"},
    {"rpoplpush", "key key"},
    {"lmpop", ZSTORE_SRC " ( LEFT | RIGHT ) [ COUNT cnt ]"},
    /* sets */
    {"sadd", "key { mem }"},
    {"srem", "key { mem }"},
    {"sismember", "key mem"},
    {"smismember", "key { mem }"},
    {"srandmember", "key [ cnt ]"},
    {"smove", "key key mem"},
    {"sinterstore", "key { key }"},
    {"sunionstore", "key { key }"},
    {"sdiffstore", "key { key }"},
    {"sintercard", ZSTORE_SRC " [ LIMIT cnt ]"},
    {"sscan", "key cur [ MATCH pat ] [ COUNT cnt ]"},
    /* sorted sets */
    {"zadd", "key [ NX | XX ] [ GT | LT ] [ CH ] [ INCR ] { score mem }"},
    {"zincrby", "key float mem"},
    {"zscore", "key mem"},
    {"zmscore", "key { mem }"},
    {"zcount", "key min min"},
    {"zlexcount", "key lex lex"},
    {"zrank", "key mem"},
    {"zrevrank", "key mem"},
    {"zrem", "key { mem }"},
    {"zrange", "key ( int int | min min BYSCORE | lex lex BYLEX ) [ REV ] "
               "[ LIMIT int cnt ] [ WITHSCORES ]"},
    {"zrangestore", "key key ( int int | min min BYSCORE | lex lex BYLEX ) "
                    "[ REV ] [ LIMIT int cnt ]"},
    {"zrangebyscore", "key min min [ WITHSCORES ] [ LIMIT int cnt ]"},
    {"zrevrangebyscore", "key min min [ WITHSCORES ] [ LIMIT int cnt ]"},
    {"zrangebylex", "key lex lex [ LIMIT int cnt ]"},
    {"zrevrangebylex", "key lex lex [ LIMIT int cnt ]"},
    {"zrevrange", "key int int [ WITHSCORES ]"},
    {"zremrangebyrank", "key int int"},
    {"zremrangebyscore", "key min min"},
    {"zremrangebylex", "key lex lex"},
    {"zpopmin", "key [ cnt ]"},
    {"zpopmax", "key [ cnt ]"},
    {"zmpop", ZSTORE_SRC " ( MIN | MAX ) [ COUNT cnt ]"},
    {"zunion", ZSTORE_SRC " [ WEIGHTS float float ] [ AGGREGATE ( SUM | MIN | MAX ) ] "
               "[ WITHSCORES ]"},
    {"zinter", ZSTORE_SRC " [ WEIGHTS float float ] [ AGGREGATE ( SUM | MIN | MAX ) ] "
               "[ WITHSCORES ]"},
    {"zdiff", ZSTORE_SRC " [ WITHSCORES ]"},
    {"zunionstore", "key " ZSTORE_SRC " [ WEIGHTS float float ] "
                    "[ AGGREGATE ( SUM | MIN | MAX ) ]"},
    {"zinterstore", "key " ZSTORE_SRC " [ WEIGHTS float float ] "
                    "[ AGGREGATE ( SUM | MIN | MAX ) ]"},
    {"zdiffstore", "key " ZSTORE_SRC},
    {"zintercard", ZSTORE_SRC " [ LIMIT cnt ]"},
    {"zrandmember", "key [ cnt [ WITHSCORES ] ]"},
    {"zscan", "key cur [ MATCH pat ] [ COUNT cnt ]"},
    {NULL, NULL},
};

static const char *grammar_for(const char *name) {
    for (const grammar *g = grammars; g->name; g++)
        if (strcmp(g->name, name) == 0) return g->g;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Discovered commands                                                 */

typedef struct cmd_desc {
    char name[64];   /* lowercase, "container|sub" */
    char top[48], sub[48];
    int arity, first, last, step;
    int weight;      /* relative frequency, 0 = never */
    const char *grammar;
} cmd_desc;

static cmd_desc cmds[MAX_CMDS];
static int ncmds, total_weight;
static const char *cmdnames[MAX_CMDS + 1];
static int ncmdnames;

/* Fills cmds from Lightning's COMMAND LIST / COMMAND INFO. Returns the
 * number of commands, -1 on error. */
static int discover(compat_pair *p) {
    redisContext *c = harness_connect(p->l);
    if (!c) return -1;
    redisReply *list = redisCommand(c, "COMMAND LIST");
    if (!list || list->type != REDIS_REPLY_ARRAY) {
        if (list) freeReplyObject(list);
        return -1;
    }
    ncmds = ncmdnames = 0;
    total_weight = 0;
    for (size_t i = 0; i < list->elements && ncmds < MAX_CMDS; i++) {
        const char *name = list->element[i]->str;
        redisReply *info = redisCommand(c, "COMMAND INFO %s", name);
        if (!info || info->type != REDIS_REPLY_ARRAY || info->elements != 1 ||
            info->element[0]->type != REDIS_REPLY_ARRAY ||
            info->element[0]->elements < 6) {
            if (info) freeReplyObject(info);
            continue;
        }
        redisReply *e = info->element[0];
        cmd_desc *d = &cmds[ncmds];
        memset(d, 0, sizeof(*d));
        snprintf(d->name, sizeof(d->name), "%s", name);
        for (char *s = d->name; *s; s++) *s = (char)tolower((unsigned char)*s);
        size_t toplen = strcspn(d->name, "|");
        if (toplen >= sizeof(d->top)) toplen = sizeof(d->top) - 1;
        memcpy(d->top, d->name, toplen);
        d->top[toplen] = '\0';
        if (d->name[toplen] == '|')
            snprintf(d->sub, sizeof(d->sub), "%s", name + toplen + 1);
        for (char *s = d->sub; *s; s++) *s = (char)tolower((unsigned char)*s);
        d->arity = (int)e->element[1]->integer;
        d->first = (int)e->element[3]->integer;
        d->last = (int)e->element[4]->integer;
        d->step = (int)e->element[5]->integer;
        int container = e->elements > 9 && e->element[9]->type == REDIS_REPLY_ARRAY &&
                        e->element[9]->elements > 0;
        const compat_rule *rule = compat_rule_named(d->name);
        d->weight = 10;
        if (container) d->weight = 2; /* unknown subcommands, wrong arity */
        if (rule && rule->cmp == CMP_SKIP) d->weight = 0;
        if (!strcmp(d->name, "flushall") || !strcmp(d->name, "flushdb") ||
            !strcmp(d->name, "swapdb") || !strcmp(d->name, "select"))
            d->weight = 2; /* they empty or hide the key space */
        d->grammar = grammar_for(d->name);
        total_weight += d->weight;
        /* COMMAND INFO/GETKEYS arguments: commands both servers know. */
        if (!rule || rule->cmp != CMP_SKIP || strcmp(rule->reason, R_ONLY_LIGHTNING))
            cmdnames[ncmdnames++] = d->name;
        ncmds++;
        freeReplyObject(info);
    }
    cmdnames[ncmdnames] = NULL;
    freeReplyObject(list);
    harness_disconnect(c);
    return ncmds;
}

/* ------------------------------------------------------------------ */
/* Generation                                                          */

#define MAX_TOK 128
typedef struct toks {
    int n;
    char t[MAX_TOK][24];
} toks;

static void tokenize(const char *g, toks *t) {
    t->n = 0;
    while (*g && t->n < MAX_TOK) {
        while (*g == ' ') g++;
        if (!*g) break;
        size_t n = 0;
        while (g[n] && g[n] != ' ') n++;
        snprintf(t->t[t->n++], sizeof(t->t[0]), "%.*s", (int)n, g);
        g += n;
    }
}

static int is_open(const char *s) { return !strcmp(s, "[") || !strcmp(s, "(") || !strcmp(s, "{"); }
static int is_close(const char *s) { return !strcmp(s, "]") || !strcmp(s, ")") || !strcmp(s, "}"); }

/* Index of the token closing the group opened at i. */
static int match_close(const toks *t, int i) {
    int depth = 0;
    for (int j = i; j < t->n; j++) {
        if (is_open(t->t[j])) depth++;
        else if (is_close(t->t[j]) && --depth == 0) return j;
    }
    return t->n;
}

static void push_value(compat_argv *a, const char *word) {
    const char *const *v = !strcmp(word, "cmdname") ? cmdnames : pool_values(word);
    if (v) {
        int n = pool_size(v);
        if (n) compat_argv_pushstr(a, v[rng_below(n)]);
        return;
    }
    if (!strcmp(word, "name")) { /* a client name, sometimes invalid */
        compat_argv_pushstr(a, rng_chance(80) ? "conn-a" : "bad name");
        return;
    }
    /* A literal: sometimes in lower case (commands are case-insensitive). */
    char buf[32];
    snprintf(buf, sizeof(buf), "%s", word);
    if (rng_chance(15))
        for (char *s = buf; *s; s++) *s = (char)tolower((unsigned char)*s);
    compat_argv_pushstr(a, buf);
}

/* Generates tokens [from, to) of t: picks one top-level alternative. */
static void gen_range(const toks *t, int from, int to, compat_argv *a, int depth) {
    if (depth > 8) return;
    int alts[32], nalts = 0;
    alts[nalts++] = from;
    for (int j = from; j < to; j++) {
        if (is_open(t->t[j])) j = match_close(t, j);
        else if (!strcmp(t->t[j], "|") && nalts < 31) alts[nalts++] = j + 1;
    }
    alts[nalts] = to + 1;
    int k = rng_below(nalts);
    int s = alts[k], e = alts[k + 1] - 1;
    for (int j = s; j < e; j++) {
        const char *w = t->t[j];
        if (is_open(w)) {
            int c = match_close(t, j);
            if (!strcmp(w, "[")) {
                if (rng_chance(50)) gen_range(t, j + 1, c, a, depth + 1);
            } else if (!strcmp(w, "(")) {
                gen_range(t, j + 1, c, a, depth + 1);
            } else {
                int reps = 1 + rng_below(3);
                for (int r = 0; r < reps; r++) gen_range(t, j + 1, c, a, depth + 1);
            }
            j = c;
        } else {
            push_value(a, w);
        }
    }
}

static const char *any_pools[] = {"key", "val", "int", "float", "mem", "cnt"};

/* Arguments from arity and key positions only. */
static void gen_generic(const cmd_desc *d, compat_argv *a) {
    int argc = d->arity > 0 ? d->arity : -d->arity + rng_below(4);
    if (rng_chance(20)) argc += rng_below(3) - 1; /* wrong arity */
    if (argc < 1) argc = 1;
    int base = a->argc; /* argv[0] (and the subcommand) already pushed */
    for (int i = base; i < argc && a->argc < COMPAT_MAX_ARGS; i++) {
        int iskey = d->first > 0 && i >= d->first &&
                    (d->last < 0 ? 1 : i <= d->last) && d->step > 0 &&
                    (i - d->first) % d->step == 0;
        push_value(a, iskey ? "key" : any_pools[rng_below(6)]);
    }
}

static void gen_command(compat_argv *a) {
    int w = rng_below(total_weight);
    const cmd_desc *d = &cmds[0];
    for (int i = 0; i < ncmds; i++) {
        if (w < cmds[i].weight) {
            d = &cmds[i];
            break;
        }
        w -= cmds[i].weight;
    }
    a->argc = 0;
    compat_argv_pushstr(a, d->top[0] ? d->top : d->name);
    /* Uppercase top-level names now and then. */
    if (rng_chance(30))
        for (char *s = a->argv[0]; *s; s++) *s = (char)toupper((unsigned char)*s);
    if (d->sub[0]) compat_argv_pushstr(a, d->sub);
    /* Commands that set a time to live always follow their grammar: generic
     * small integers would be TTLs of milliseconds, expiring at different
     * moments on the two servers. */
    int sets_ttl = strstr(d->name, "expire") || !strcmp(d->name, "set") ||
                   !strcmp(d->name, "getex") || !strcmp(d->name, "setex") ||
                   !strcmp(d->name, "psetex");
    if (d->grammar && (sets_ttl || rng_chance(85))) {
        toks t;
        tokenize(d->grammar, &t);
        gen_range(&t, 0, t.n, a, 0);
        /* Occasionally drop or add one argument: wrong arity paths. */
        if (rng_chance(5) && a->argc > 1) {
            a->argc--;
            free(a->argv[a->argc]);
        } else if (rng_chance(3)) {
            push_value(a, "val");
        }
    } else {
        gen_generic(d, a);
    }
}

/* ------------------------------------------------------------------ */
/* Replay and shrink                                                   */

typedef struct seq {
    compat_argv *cmds;
    int n;
} seq;

static long long shrink_sent;

/* Replays the commands idx[0..n-1] of s on reset servers; 1 if the last one
 * differs. *out (optional) receives the last result. */
static int replay_fails(compat_pair *p, const seq *s, const int *idx, int n,
                        int resp3, compat_result *out) {
    if (compat_pair_reset(p, resp3) != 0) return 0;
    for (int i = 0; i < n; i++) {
        compat_result r = compat_run(p, &s->cmds[idx[i]], CMP_EXACT);
        shrink_sent++;
        if (i == n - 1) {
            int fails = !r.equal && !r.io_error;
            if (out) *out = r;
            else compat_result_free(&r);
            return fails;
        }
        int io = r.io_error;
        compat_result_free(&r);
        if (io) return 0;
    }
    return 0;
}

/* ddmin over idx[0..n-2] keeping idx[n-1] (the differing command). Returns
 * the new length; idx is rewritten in place. */
static int shrink(compat_pair *p, const seq *s, int *idx, int n, int resp3) {
    shrink_sent = 0;
    int *cand = malloc(sizeof(int) * (size_t)n);
    int last = idx[n - 1];
    int m = n - 1; /* prefix length */
    /* The command alone, first: often it is enough. */
    cand[0] = last;
    if (replay_fails(p, s, cand, 1, resp3, NULL)) {
        idx[0] = last;
        free(cand);
        return 1;
    }
    int gran = 2;
    while (m >= 1 && shrink_sent < SHRINK_BUDGET) {
        if (gran > m) gran = m;
        int chunk = (m + gran - 1) / gran, reduced = 0;
        for (int start = 0; start < m && shrink_sent < SHRINK_BUDGET; start += chunk) {
            int k = 0;
            for (int i = 0; i < m; i++)
                if (i < start || i >= start + chunk) cand[k++] = idx[i];
            cand[k] = last;
            if (replay_fails(p, s, cand, k + 1, resp3, NULL)) {
                memcpy(idx, cand, sizeof(int) * (size_t)k);
                m = k;
                gran = gran > 2 ? gran - 1 : 2;
                reduced = 1;
                break;
            }
        }
        if (!reduced) {
            if (gran >= m) break;
            gran = gran * 2 > m ? m : gran * 2;
        }
    }
    idx[m] = last;
    free(cand);
    return m + 1;
}

/* Prints a shrunk sequence with each command's replies (from one more
 * replay). */
static void print_sequence(compat_pair *p, const seq *s, const int *idx, int n,
                           int resp3) {
    if (compat_pair_reset(p, resp3) != 0) return;
    for (int i = 0; i < n; i++) {
        compat_result r = compat_run(p, &s->cmds[idx[i]], CMP_EXACT);
        char *c = compat_argv_format(&s->cmds[idx[i]]);
        if (r.equal)
            printf("#   %d. %s\n#        -> %.300s\n", i + 1, c, r.l);
        else
            printf("#   %d. %s\n#        lightning: %.600s\n#        redis:     %.600s\n",
                   i + 1, c, r.l, r.r);
        free(c);
        compat_result_free(&r);
    }
}

int compat_random_run(compat_pair *p, const compat_random_opts *o) {
    if (discover(p) <= 0) {
        testlib_fail(__FILE__, __LINE__, "could not read Lightning's command table");
        return 1;
    }
    if (o->verbose) {
        printf("# random run: %d commands discovered, seed %llu, n %d\n", ncmds,
               (unsigned long long)o->seed, o->n);
        for (const compat_rule *r = compat_rules; r->name; r++)
            printf("#   rule %-22s %d %s\n", r->name, (int)r->cmp, r->reason);
    }
    rng_state = o->seed;
    seq s = {calloc((size_t)o->n + 1, sizeof(compat_argv)), 0};
    int seg_start = 0, distinct = 0, total = 0, reported = 0;
    char seen[64][64];
    int nseen = 0;
    if (compat_pair_reset(p, o->resp3) != 0) {
        testlib_fail(__FILE__, __LINE__, "could not connect");
        free(s.cmds);
        return 1;
    }
    int in_multi = 0;
    for (int i = 0; i < o->n; i++) {
        /* Inside MULTI, EXEC replies every queued command at once and is
         * compared exactly: queue only commands that compare exactly. */
        for (int tries = 0;; tries++) {
            gen_command(&s.cmds[s.n]);
            const compat_rule *qr = compat_rule_for(&s.cmds[s.n]);
            if (!in_multi || !qr || qr->cmp == CMP_EXACT || tries >= 50) break;
            compat_argv_free(&s.cmds[s.n]);
        }
        compat_argv *a = &s.cmds[s.n++];
        if (a->len[0] == 5 && !strncasecmp(a->argv[0], "multi", 5)) in_multi = 1;
        else if ((a->len[0] == 4 && !strncasecmp(a->argv[0], "exec", 4)) ||
                 (a->len[0] == 7 && !strncasecmp(a->argv[0], "discard", 7)) ||
                 (a->len[0] == 5 && !strncasecmp(a->argv[0], "reset", 5)))
            in_multi = 0;
        compat_result r = compat_run(p, a, CMP_EXACT);
        if (o->verbose) {
            char *c = compat_argv_format(a);
            printf("# %d: %s -> %.200s\n", i + 1, c, r.l);
            free(c);
        }
        if (r.equal) {
            compat_result_free(&r);
            continue;
        }
        total++;
        /* One report per command name. */
        const compat_rule *rule = compat_rule_for(a);
        char name[64];
        snprintf(name, sizeof(name), "%s", rule ? rule->name : a->argv[0]);
        for (char *c = name; *c; c++) *c = (char)tolower((unsigned char)*c);
        int dup = 0;
        for (int k = 0; k < nseen; k++)
            if (!strcmp(seen[k], name)) dup = 1;
        if (!dup && nseen < 64) snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
        if (!dup) distinct++;
        char *c = compat_argv_format(a);
        if (dup || reported >= o->max_reports) {
            printf("# mismatch (again / not shrunk) at command %d (seed %llu): %s\n"
                   "#   lightning: %.300s\n#   redis:     %.300s\n",
                   i + 1, (unsigned long long)o->seed, c, r.l, r.r);
        } else {
            reported++;
            testlib_fail(__FILE__, __LINE__,
                         "mismatch at command %d of seed %llu (%s): `%s`\n"
                         "    lightning: %.600s\n    redis:     %.600s",
                         i + 1, (unsigned long long)o->seed,
                         o->resp3 ? "RESP3" : "RESP2", c, r.l, r.r);
            int n = s.n - seg_start;
            int *idx = malloc(sizeof(int) * (size_t)n);
            for (int k = 0; k < n; k++) idx[k] = seg_start + k;
            int m = shrink(p, &s, idx, n, o->resp3);
            printf("# shrunk from %d to %d command(s) (%lld replayed); reproduce with "
                   "lightning-compat --seed %llu --n %d%s:\n",
                   n, m, shrink_sent, (unsigned long long)o->seed, i + 1,
                   o->resp3 ? " --resp3" : "");
            print_sequence(p, &s, idx, m, o->resp3);
            free(idx);
        }
        if (!dup) testlib_current_failed = 1;
        free(c);
        compat_result_free(&r);
        /* States may have diverged: start over from empty servers. */
        if (compat_pair_reset(p, o->resp3) != 0) {
            testlib_fail(__FILE__, __LINE__, "could not reconnect");
            break;
        }
        seg_start = s.n;
    }
    for (int i = 0; i < s.n; i++) compat_argv_free(&s.cmds[i]);
    free(s.cmds);
    if (total)
        printf("# seed %llu: %d mismatching replies, %d distinct commands\n",
               (unsigned long long)o->seed, total, distinct);
    return distinct;
}
