/*
 * command_args: the argument specifications of commands ("arguments" in
 * COMMAND DOCS), as Redis 7.0 describes its command syntax — data generated
 * by utils/gen-command-args.py into command_args.c. redis-cli builds its
 * interactive hints from them.
 */
#ifndef LIGHTNING_COMMAND_ARGS_H
#define LIGHTNING_COMMAND_ARGS_H

#define ARG_OPTIONAL (1u << 0)
#define ARG_MULTIPLE (1u << 1)
#define ARG_MULTIPLE_TOKEN (1u << 2)

typedef struct command_arg {
    const char *name;
    const char *type;              /* "key", "string", "integer", "oneof", ... */
    int key_spec_index;            /* -1 when not a key */
    const char *token;             /* NULL when none */
    const char *since;             /* NULL when as old as the command */
    const char *deprecated_since;
    unsigned flags;                /* ARG_* */
    const struct command_arg *args; /* for "oneof" and "block" */
    int nargs;
} command_arg;

/* The arguments of "name" or "container|sub" (lower case), or NULL with
 * *nargs 0 when the command takes none. Static data. */
const command_arg *command_args_of(const char *fullname, int *nargs);

#endif
