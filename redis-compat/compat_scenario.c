/*
 * compat_scenario: runs a scenario file line by line on both servers.
 *
 * File format (redis-compat/scenarios/<family>.txt):
 *   - one command per line in redis-cli quoting: words split on blanks,
 *     "double quotes" with \" \\ \n \r \t \b \a \xHH escapes, 'single
 *     quotes' with \' only (sdssplitargs rules);
 *   - `#` starts a comment line; blank lines are ignored;
 *   - a leading `~ ` compares the reply as a multiset of its top-level
 *     elements, `% ` as a multiset of (field, value) pairs, `? ` by shape
 *     (type and length); without one, the rules table decides (exact for
 *     most commands);
 *   - `!sleep MS` sleeps (for expiry), at most 5000 ms.
 * Both servers are FLUSHALLed before a file runs (compat_pair_reset). Every
 * reply is compared; a mismatch prints file:line, the command and both
 * replies, and fails the current test.
 */
#include "compat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int compat_split_line(const char *line, compat_argv *a) {
    const char *p = line;
    char buf[COMPAT_MAX_ARG];
    a->argc = 0;
    for (int words = 0; words < COMPAT_MAX_ARGS; words++) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return 0;
        size_t n = 0;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            if (n >= sizeof(buf) - 1) return -1;
            if (inq) {
                if (!*p) return -1;
                if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 &&
                    hexval(p[3]) >= 0) {
                    buf[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (p[0] == '\\' && p[1]) {
                    p++;
                    char c = *p;
                    buf[n++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t'
                             : c == 'b' ? '\b' : c == 'a' ? '\a' : c;
                } else if (*p == '"') {
                    /* The closing quote must end the word. */
                    if (p[1] && !isspace((unsigned char)p[1])) return -1;
                    done = 1;
                } else {
                    buf[n++] = *p;
                }
            } else if (insq) {
                if (!*p) return -1;
                if (p[0] == '\\' && p[1] == '\'') {
                    p++;
                    buf[n++] = '\'';
                } else if (*p == '\'') {
                    if (p[1] && !isspace((unsigned char)p[1])) return -1;
                    done = 1;
                } else {
                    buf[n++] = *p;
                }
            } else {
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = 1;
                    break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: buf[n++] = *p; break;
                }
            }
            if (*p) p++;
        }
        compat_argv_push(a, buf, n);
    }
    return 0;
}

/* 0 if Redis has the top-level command arg0 and Lightning (c) does not
 * (COMMAND INFO on hiredis connections c, cr), else 1; cached per file. */
#define MAX_CACHED 128
typedef struct name_cache {
    int n;
    char name[MAX_CACHED][48];
    int has[MAX_CACHED];
} name_cache;

static int known(redisContext *c, const char *name) {
    redisReply *r = redisCommand(c, "COMMAND INFO %s", name);
    int has = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
              r->element[0]->type == REDIS_REPLY_ARRAY;
    if (r) freeReplyObject(r);
    return has;
}

static int lightning_has(redisContext *c, redisContext *cr, name_cache *nc,
                         const char *arg0) {
    char name[48];
    size_t i = 0;
    for (; arg0[i] && i + 1 < sizeof(name); i++)
        name[i] = (char)tolower((unsigned char)arg0[i]);
    name[i] = '\0';
    for (int k = 0; k < nc->n; k++)
        if (!strcmp(nc->name[k], name)) return nc->has[k];
    int has = known(c, name) || !known(cr, name);
    if (nc->n < MAX_CACHED) {
        snprintf(nc->name[nc->n], sizeof(nc->name[0]), "%s", name);
        nc->has[nc->n++] = has;
    }
    return has;
}

int compat_scenario_run(compat_pair *p, const char *path, int verbose) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    /* Lines of commands Lightning does not have yet are skipped (on both
     * servers, so the states stay equal) and listed: the matrix tracks
     * them, and the lines run by themselves once the command lands. */
    redisContext *meta = harness_connect(p->l), *meta_r = harness_connect(p->r);
    name_cache *nc = calloc(1, sizeof(*nc));
    int skipped = 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char line[4096];
    int lineno = 0, mismatches = 0;
    /* Bounded by the file: one iteration per line. */
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        if (strncmp(s, "!sleep", 6) == 0) {
            int ms = atoi(s + 6);
            harness_sleep_ms(ms < 0 ? 0 : ms > 5000 ? 5000 : ms);
            continue;
        }
        compat_cmp force = CMP_EXACT;
        if ((*s == '~' || *s == '?' || *s == '%') && isspace((unsigned char)s[1])) {
            force = *s == '~' ? CMP_UNORDERED : *s == '?' ? CMP_SHAPE : CMP_PAIRS;
            s += 2;
        }
        compat_argv a = {0};
        if (compat_split_line(s, &a) != 0 || a.argc == 0) {
            testlib_fail(base, lineno, "%s:%d: unbalanced quotes or line too long",
                         path, lineno);
            compat_argv_free(&a);
            mismatches++;
            continue;
        }
        if (meta && meta_r && !lightning_has(meta, meta_r, nc, a.argv[0])) {
            skipped++;
            compat_argv_free(&a);
            continue;
        }
        /* Commands the random run must not send are fine here, compared
         * as their rule's in_scenarios says (SPOP: by shape). */
        const compat_rule *rule = compat_rule_for(&a);
        if (force == CMP_EXACT && rule && rule->cmp == CMP_SKIP)
            force = rule->in_scenarios;
        compat_result r = compat_run(p, &a, force);
        if (verbose) {
            char *c = compat_argv_format(&a);
            printf("# %s:%d %s -> %s\n", base, lineno, c, r.l);
            free(c);
        }
        if (!r.equal) {
            char *c = compat_argv_format(&a);
            testlib_fail(base, lineno,
                         "%s:%d (%s): `%s`\n    lightning: %.600s\n    redis:     %.600s",
                         path, lineno, p->resp3 ? "RESP3" : "RESP2", c, r.l, r.r);
            free(c);
            mismatches++;
        }
        int io = r.io_error;
        compat_result_free(&r);
        compat_argv_free(&a);
        if (io) {
            testlib_fail(base, lineno, "%s:%d: connection lost, rest of file skipped",
                         path, lineno);
            break;
        }
    }
    fclose(f);
    if (skipped) {
        printf("# %s (%s): %d line(s) skipped, Lightning lacks:", base,
               p->resp3 ? "RESP3" : "RESP2", skipped);
        for (int k = 0; k < nc->n; k++)
            if (!nc->has[k]) printf(" %s", nc->name[k]);
        printf("\n");
    }
    free(nc);
    harness_disconnect(meta);
    harness_disconnect(meta_r);
    return mismatches;
}
