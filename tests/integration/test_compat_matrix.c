/*
 * docs/COMMANDS.md (the Redis 7.0 compatibility matrix) against Lightning's
 * command table (COMMAND LIST of a started server):
 *   - every command Lightning has is listed as supported or partly (or in
 *     the Lightning-only section), and none of its subcommands is named
 *     missing;
 *   - every command listed supported or partly is in Lightning's table.
 * The matrix is generated; on failure regenerate it with
 *     build/redis-compat/lightning-compat --matrix docs/COMMANDS.md
 * (tests run from the repository root).
 */
#include "../harness.h"

#include <ctype.h>
#include <stdlib.h>

#define MATRIX_PATH "docs/COMMANDS.md"
#define MAX_ROWS 1024

typedef struct mrow {
    char name[64];    /* lowercase, "container|sub" */
    char status[32];
    char missing[512];
} mrow;

static mrow rows[MAX_ROWS];
static int nrows;

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t k = 0;
    while (isspace((unsigned char)s[k])) k++;
    memmove(s, s + k, strlen(s + k) + 1);
}

/* Reads the `| NAME | status | missing |` rows. -1 if the file is missing. */
static int parse_matrix(void) {
    FILE *f = fopen(MATRIX_PATH, "r");
    if (!f) return -1;
    char line[1024];
    nrows = 0;
    while (fgets(line, sizeof(line), f) && nrows < MAX_ROWS) {
        if (line[0] != '|') continue;
        char *cols[4] = {0};
        int nc = 0;
        for (char *p = line + 1; nc < 4 && p && *p; nc++) {
            char *bar = strchr(p, '|');
            if (!bar) break;
            *bar = '\0';
            cols[nc] = p;
            p = bar + 1;
        }
        if (nc < 3) continue;
        for (int i = 0; i < nc; i++) trim(cols[i]);
        const char *st = cols[1];
        if (strcmp(st, "supported") && strcmp(st, "partly") && strcmp(st, "not yet") &&
            strcmp(st, "lightning-only"))
            continue; /* headers, group totals */
        mrow *r = &rows[nrows++];
        snprintf(r->name, sizeof(r->name), "%s", cols[0]);
        for (char *c = r->name; *c; c++)
            *c = *c == ' ' ? '|' : (char)tolower((unsigned char)*c);
        snprintf(r->status, sizeof(r->status), "%s", st);
        snprintf(r->missing, sizeof(r->missing), "%s", cols[2]);
    }
    fclose(f);
    return 0;
}

static const mrow *row_for(const char *name) {
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, name)) return &rows[i];
    return NULL;
}

/* Whether a partly row's "subcommands: A, B" names sub (lowercase). */
static int names_missing(const mrow *r, const char *sub) {
    const char *p = strstr(r->missing, "subcommands:");
    if (!p) return 0;
    p += strlen("subcommands:");
    const char *end = strchr(p, ';');
    if (!end) end = p + strlen(p);
    size_t sl = strlen(sub);
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) p++;
        size_t n = 0;
        while (p + n < end && p[n] != ',') n++;
        while (n && p[n - 1] == ' ') n--;
        if (n == sl && !strncasecmp(p, sub, n)) return 1;
        p += n;
        if (p < end) p++;
    }
    return 0;
}

static int in_list(const redisReply *list, const char *name) {
    for (size_t i = 0; i < list->elements; i++)
        if (!strcasecmp(list->element[i]->str, name)) return 1;
    return 0;
}

TEST(matrix_matches_command_table) {
    REQUIRE(parse_matrix() == 0);
    REQUIRE(nrows > 0);
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    redisReply *list = redisCommand(c, "COMMAND LIST");
    REQUIRE(list && list->type == REDIS_REPLY_ARRAY);
    int stale = 0;
    for (size_t i = 0; i < list->elements; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s", list->element[i]->str);
        for (char *s = name; *s; s++) *s = (char)tolower((unsigned char)*s);
        const mrow *r = row_for(name);
        if (r && !strcmp(r->status, "lightning-only")) continue;
        char *bar = strchr(name, '|');
        if (!bar) {
            if (!r || (strcmp(r->status, "supported") && strcmp(r->status, "partly"))) {
                testlib_fail(__FILE__, __LINE__, "Lightning has %s, the matrix says %s",
                             name, r ? r->status : "nothing");
                stale++;
            }
            continue;
        }
        *bar = '\0';
        const mrow *parent = row_for(name);
        if (!parent || (strcmp(parent->status, "supported") && strcmp(parent->status, "partly")) ||
            names_missing(parent, bar + 1)) {
            testlib_fail(__FILE__, __LINE__,
                         "Lightning has %s|%s, the matrix lists %s as %s%s", name,
                         bar + 1, name, parent ? parent->status : "nothing",
                         parent && names_missing(parent, bar + 1) ? " without it" : "");
            stale++;
        }
    }
    for (int i = 0; i < nrows; i++) {
        const mrow *r = &rows[i];
        if (strcmp(r->status, "supported") && strcmp(r->status, "partly")) continue;
        if (!in_list(list, r->name)) {
            testlib_fail(__FILE__, __LINE__,
                         "the matrix lists %s as %s, Lightning's table lacks it", r->name,
                         r->status);
            stale++;
        }
    }
    if (stale)
        fprintf(stderr, "  regenerate: build/redis-compat/lightning-compat --matrix %s\n",
                MATRIX_PATH);
    freeReplyObject(list);
}

/* The parser itself: a partly row names its missing subcommands. */
TEST(matrix_parser) {
    mrow r = {"memory", "partly", "subcommands: DOCTOR, MALLOC-STATS; no X option"};
    CHECK(names_missing(&r, "doctor"));
    CHECK(names_missing(&r, "malloc-stats"));
    CHECK(!names_missing(&r, "usage"));
    CHECK(!names_missing(&r, "no"));
}

int main(void) {
    RUN(matrix_parser);
    RUN(matrix_matches_command_table);
    return testlib_finish();
}
