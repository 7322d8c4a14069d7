/*
 * compat: the differential compatibility tester's shared declarations.
 *
 * lightning-compat runs the same commands on Lightning and on a real
 * redis-server 7.0 and compares every reply exactly (type, value, error
 * text), except where Redis itself leaves the answer open: those commands
 * are listed, with the reason, in one table (compat_pair.c, compat_rules)
 * that says how they are compared (as a multiset, by shape, with a
 * tolerance) or that the random generator must not send them.
 *
 * Modules:
 *   compat_pair.c      the two raw connections, sending argv, rendering and
 *                      comparing replies under a compare mode, the rules
 *                      table;
 *   compat_scenario.c  scenario files (redis-compat/scenarios/<family>.txt):
 *                      redis-cli quoting, directives, file:line reports;
 *   compat_random.c    command discovery (COMMAND INFO of Lightning), the
 *                      per-command option grammar, the seeded generator and
 *                      the delta-debugging shrinker;
 *   compat_matrix.c    docs/COMMANDS.md from both servers' command tables;
 *   compat_main.c      options and the tests tests/run.sh counts.
 *
 * Every reply is read through the harness's raw RESP2/RESP3 reader
 * (tests/harness.h), so one code path serves both protocols.
 */
#ifndef LIGHTNING_COMPAT_H
#define LIGHTNING_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include "../tests/harness.h"

/* Limits: a command has at most COMPAT_MAX_ARGS arguments of at most
 * COMPAT_MAX_ARG bytes each (scenario lines and generated commands). */
#define COMPAT_MAX_ARGS 64
#define COMPAT_MAX_ARG 512

/* One command: binary-safe arguments, owned by the struct (compat_argv_free). */
typedef struct compat_argv {
    int argc;
    char *argv[COMPAT_MAX_ARGS];
    size_t len[COMPAT_MAX_ARGS];
} compat_argv;

void compat_argv_push(compat_argv *a, const char *s, size_t len);
void compat_argv_pushstr(compat_argv *a, const char *s);
void compat_argv_free(compat_argv *a);
void compat_argv_copy(compat_argv *dst, const compat_argv *src);
/* Human-readable command line in redis-cli quoting; malloc'd. */
char *compat_argv_format(const compat_argv *a);

/* How two replies are compared. */
typedef enum {
    CMP_EXACT = 0,   /* the rendered replies must be identical */
    CMP_UNORDERED,   /* top-level elements as a multiset */
    CMP_PAIRS,       /* top-level (field, value) pairs as a multiset */
    CMP_SHAPE,       /* type and element count only; errors exactly */
    CMP_TOLERANCE,   /* integers within `tolerance`, else exactly */
    CMP_SKIP,        /* not generated at random (reason in the table) */
} compat_cmp;

typedef struct compat_rule {
    const char *name;  /* lowercase, "container|sub" for subcommands */
    compat_cmp cmp;
    long long tolerance;
    const char *reason;
    /* For CMP_SKIP rules: how scenario files (which may use the command
     * deliberately) compare it; exactly unless set. */
    compat_cmp in_scenarios;
} compat_rule;

/* Reason text of rules for commands only Lightning has (not in 7.0). */
#define R_ONLY_LIGHTNING "Lightning-only (newer Redis, or its own): Redis 7.0 has no such command"

/* The rule for a command (argv[0], and argv[1] when argv[0] has
 * subcommands); NULL means compare exactly. */
const compat_rule *compat_rule_for(const compat_argv *a);
const compat_rule *compat_rule_named(const char *name);
/* The whole table, NULL-name terminated (for --verbose listings). */
extern const compat_rule compat_rules[];

/* The pair of servers and one raw connection to each. */
typedef struct compat_pair {
    harness_server *l, *r;
    int fl, fr;   /* raw connections, -1 if closed */
    int resp3;    /* the connections said HELLO 3 */
} compat_pair;

/* Starts both servers (within the current test). 0 on success. */
int compat_pair_start(compat_pair *p);
/* (Re)opens both connections in the given protocol and FLUSHALLs both
 * servers. 0 on success. */
int compat_pair_reset(compat_pair *p, int resp3);

/* Result of running one command on both servers. */
typedef struct compat_result {
    char *l, *r;   /* canonical renderings as compared (malloc'd) */
    int equal;
    int io_error;  /* a connection failed: later results are meaningless */
} compat_result;

/* Sends a on both connections, renders both replies under the mode the
 * rules table (or `force` when not CMP_EXACT) gives, compares. */
compat_result compat_run(compat_pair *p, const compat_argv *a,
                         compat_cmp force);
void compat_result_free(compat_result *r);
/* Renders one raw reply under a compare mode; malloc'd. */
char *compat_render(const char *buf, size_t len, compat_cmp cmp);

/* Scenario files. Returns the number of mismatches (each printed with
 * file:line); -1 if the file could not be read. */
int compat_scenario_run(compat_pair *p, const char *path, int verbose);
/* Splits a line in redis-cli quoting into a. Returns 0, or -1 on
 * unbalanced quotes. */
int compat_split_line(const char *line, compat_argv *a);

/* Random run: n commands from seed on p (already reset). Mismatches are
 * shrunk and printed; returns their number (distinct commands). */
typedef struct compat_random_opts {
    uint64_t seed;
    int n;
    int resp3;
    int verbose;
    int max_reports;  /* shrink and print at most this many */
} compat_random_opts;
int compat_random_run(compat_pair *p, const compat_random_opts *o);

/* Writes the compatibility matrix (markdown) to path. 0 on success. */
int compat_matrix_write(const char *path);

#endif
