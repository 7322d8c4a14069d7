/*
 * compat_matrix: writes docs/COMMANDS.md, the Redis 7.0 compatibility
 * matrix, from the command tables of a started Lightning and a started
 * redis-server (so it never drifts from the code):
 *
 *   - every top-level Redis command (COMMAND LIST without `|`), grouped by
 *     its COMMAND DOCS group, is "supported" (Lightning has it and every
 *     Redis subcommand), "partly" (missing subcommands, or a note in
 *     redis-compat/matrix-notes.txt naming a missing option), or "not yet";
 *   - commands and subcommands Lightning has and Redis 7.0 does not are
 *     listed separately ("Lightning-only");
 *   - totals at the top.
 *
 * Row format, parsed by tests/integration/test_compat_matrix.c:
 *   | NAME | status | missing |
 * with status one of supported, partly, not yet, lightning-only, and for
 * partly rows with missing subcommands the text "subcommands: A, B".
 *
 * Regenerate: build/redis-compat/lightning-compat --matrix docs/COMMANDS.md
 */
#include "compat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 1024
#define NOTES_PATH "redis-compat/matrix-notes.txt"

typedef struct names {
    int n;
    char *v[MAX_NAMES];
} names;

static int has(const names *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcasecmp(s->v[i], name)) return 1;
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_commands(redisContext *c, names *out) {
    redisReply *r = redisCommand(c, "COMMAND LIST");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return -1;
    }
    out->n = 0;
    for (size_t i = 0; i < r->elements && out->n < MAX_NAMES; i++) {
        char *s = strdup(r->element[i]->str);
        for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
        out->v[out->n++] = s;
    }
    freeReplyObject(r);
    qsort(out->v, (size_t)out->n, sizeof(char *), cmp_name);
    return 0;
}

static void free_names(names *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    s->n = 0;
}

/* The COMMAND DOCS group of a top-level command; malloc'd. Read from the
 * raw reply: hiredis 0.14 refuses replies nested deeper than 7 levels, and
 * argument specs nest deeper. The first "group" key of the reply is the
 * command's own (it precedes arguments and subcommands). */
static char *group_of(int fd, const char *name) {
    char req[256];
    snprintf(req, sizeof(req), "*3\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n$%zu\r\n%s\r\n",
             strlen(name), name);
    raw_buf b = {0};
    char *g = NULL;
    if (raw_sendstr(fd, req) == 0 && raw_read_reply(fd, HARNESS_CMD_TIMEOUT_MS, &b)) {
        const char *k = strstr(b.data, "\r\n$5\r\ngroup\r\n$");
        if (k) {
            k += strlen("\r\n$5\r\ngroup\r\n$");
            int n = atoi(k);
            const char *v = strstr(k, "\r\n");
            if (v && n > 0 && n < 64) g = strndup(v + 2, (size_t)n);
        }
    }
    raw_buf_free(&b);
    return g ? g : strdup("other");
}

/* A note for name from matrix-notes.txt ("name: text" lines), or NULL. */
static char *note_for(const char *name) {
    FILE *f = fopen(NOTES_PATH, "r");
    if (!f) return NULL;
    char line[512], *out = NULL;
    size_t nl = strlen(name);
    while (!out && fgets(line, sizeof(line), f)) {
        if (line[0] == '#' || strncasecmp(line, name, nl) || line[nl] != ':') continue;
        char *t = line + nl + 1;
        while (*t == ' ') t++;
        t[strcspn(t, "\r\n")] = '\0';
        if (*t) out = strdup(t);
    }
    fclose(f);
    return out;
}

static void upper_into(char *dst, size_t cap, const char *s) {
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        dst[i] = s[i] == '|' ? ' ' : (char)toupper((unsigned char)s[i]);
    dst[i] = '\0';
}

typedef struct row {
    char name[64];
    char group[32];
    const char *status;
    char missing[512];
} row;

static int cmp_row(const void *a, const void *b) {
    const row *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : strcmp(x->name, y->name);
}

int compat_matrix_write(const char *path) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    if (!l || !r) return -1;
    redisContext *cl = harness_connect(l), *cr = harness_connect(r);
    int fr = raw_connect(r->port);
    if (!cl || !cr || fr < 0) return -1;
    names ln = {0}, rn = {0};
    if (list_commands(cl, &ln) || list_commands(cr, &rn)) return -1;
    char version[64] = "7.0";
    redisReply *info = redisCommand(cr, "INFO server");
    if (info && info->str) harness_info_field(info->str, "redis_version", version, sizeof(version));
    if (info) freeReplyObject(info);

    row *rows = calloc(MAX_NAMES, sizeof(row));
    int nrows = 0, nsup = 0, npart = 0, nnot = 0;
    for (int i = 0; i < rn.n && nrows < MAX_NAMES; i++) {
        const char *name = rn.v[i];
        if (strchr(name, '|')) continue;
        row *w = &rows[nrows++];
        upper_into(w->name, sizeof(w->name), name);
        char *g = group_of(fr, name);
        snprintf(w->group, sizeof(w->group), "%s", g);
        free(g);
        if (!has(&ln, name)) {
            w->status = "not yet";
            nnot++;
            continue;
        }
        size_t nl = strlen(name), used = 0;
        int missing = 0;
        for (int j = 0; j < rn.n; j++) {
            const char *sub = rn.v[j];
            if (strncmp(sub, name, nl) || sub[nl] != '|' || has(&ln, sub)) continue;
            char up[64];
            upper_into(up, sizeof(up), sub + nl + 1);
            used += (size_t)snprintf(w->missing + used, sizeof(w->missing) - used,
                                     "%s%s", missing ? ", " : "subcommands: ", up);
            if (used >= sizeof(w->missing)) used = sizeof(w->missing) - 1;
            missing++;
        }
        char *note = note_for(name);
        if (note) {
            snprintf(w->missing + used, sizeof(w->missing) - used, "%s%s",
                     missing ? "; " : "", note);
            free(note);
            missing++;
        }
        w->status = missing ? "partly" : "supported";
        if (missing) npart++;
        else nsup++;
    }
    qsort(rows, (size_t)nrows, sizeof(row), cmp_row);

    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "# Redis %s command compatibility\n\n"
            "Generated from the command tables of a started Lightning (COMMAND LIST)\n"
            "and redis-server %s (COMMAND LIST; groups from COMMAND DOCS). Do not\n"
            "edit by hand; regenerate after adding commands:\n\n"
            "    make tests && build/redis-compat/lightning-compat --matrix docs/COMMANDS.md\n\n"
            "A command is *supported* when Lightning has it and all its Redis\n"
            "subcommands, *partly* when subcommands are missing or\n"
            "`redis-compat/matrix-notes.txt` names a missing option (`name: what`\n"
            "lines, kept by hand), *not yet* otherwise. Behaviour is checked by\n"
            "`build/redis-compat/lightning-compat` (scenarios and random runs against\n"
            "Redis); `tests/integration/test_compat_matrix.c` fails when this file and\n"
            "Lightning's table disagree.\n\n",
            version, version);
    fprintf(f, "**Totals** (%d Redis %s commands): %d supported, %d partly, %d not yet.\n\n",
            nrows, version, nsup, npart, nnot);
    fprintf(f, "| Group | Supported | Partly | Not yet |\n|---|---|---|---|\n");
    for (int i = 0; i < nrows;) {
        int j = i, s = 0, pa = 0, no = 0;
        for (; j < nrows && !strcmp(rows[j].group, rows[i].group); j++) {
            if (!strcmp(rows[j].status, "supported")) s++;
            else if (!strcmp(rows[j].status, "partly")) pa++;
            else no++;
        }
        fprintf(f, "| %s | %d | %d | %d |\n", rows[i].group, s, pa, no);
        i = j;
    }
    for (int i = 0; i < nrows; i++) {
        if (i == 0 || strcmp(rows[i].group, rows[i - 1].group))
            fprintf(f, "\n## %s\n\n| Command | Status | Missing |\n|---|---|---|\n",
                    rows[i].group);
        fprintf(f, "| %s | %s | %s |\n", rows[i].name, rows[i].status, rows[i].missing);
    }
    fprintf(f, "\n## Lightning-only\n\nCommands and subcommands Lightning has that "
               "Redis %s does not (from newer Redis versions, and Lightning's own: BACKUP, docs/BACKUP.md).\n\n"
               "| Command | Status | Note |\n|---|---|---|\n", version);
    for (int i = 0; i < ln.n; i++) {
        if (has(&rn, ln.v[i])) continue;
        char up[64];
        upper_into(up, sizeof(up), ln.v[i]);
        fprintf(f, "| %s | lightning-only | not in Redis %s |\n", up, version);
    }
    fclose(f);
    free(rows);
    free_names(&ln);
    free_names(&rn);
    return 0;
}
