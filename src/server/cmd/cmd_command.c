/*
 * cmd_command: the COMMAND family — COMMAND, COUNT, LIST, INFO, DOCS,
 * GETKEYS, GETKEYSANDFLAGS, HELP — all derived from the command table
 * (commands.h); nothing here is stored.
 *
 * Reply shapes are Redis 7.0.15's, checked against a real server:
 *  - an INFO entry is a 10-element array: name, arity, flags (set of status
 *    strings), first key, last key, key step, ACL categories (set of status
 *    "@cat"), tips (set of bulk strings), key specifications (set of maps),
 *    subcommands (array of entries, or an empty *set* when there are none);
 *  - flags and categories come out in Redis's order; may_replicate and the
 *    sentinel flags are hidden, as Redis hides them;
 *  - a DOCS value is a map of the non-NULL summary, since, group, complexity,
 *    "arguments" (from command_args.c, generated from Redis's own
 *    specification of the syntax) and "subcommands" (a map fullname ->
 *    docs) for containers; "history" (prose) is left out.
 * Order of commands and subcommands is table order (Redis's is its dict's
 * hash order, which clients must not rely on).
 *
 * Key specifications are derived from the key range (see reply_key_specs:
 * begin_search index, find_keys range with lastkey relative to the index,
 * keystep, limit 0). Their flags are Redis's, from the table's key_flags;
 * for an entry without them they are derived from the command's flags:
 * write commands RW+access+update, all others RO+access, plus "incomplete"
 * when the keys move with the arguments (CMD_MOVABLE_KEYS).
 *
 * Called by: dispatch (handlers), tests/unit/test_cmd_command.c
 * (command_reply_info / command_reply_docs on hand-made table entries).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/assert.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/cmd/command_args.h"
#include "server/cmd/commands.h"
#include "server/net/reply.h"

typedef struct flag_name {
    uint64_t flag;
    const char *name;
} flag_name;

/* Redis's addReplyCommandFlags order. CMD_MAY_REPLICATE, CMD_SENTINEL and
 * CMD_ONLY_SENTINEL are hidden on purpose, as in Redis. */
static const flag_name command_flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
    {0, NULL},
};

/* Redis's ACLCommandCategories order (= our bit order). The reply form
 * carries the '@'; COMMAND LIST FILTERBY ACLCAT matches the name after it. */
static const flag_name acl_category_names[] = {
    {ACL_KEYSPACE, "@keyspace"},
    {ACL_READ, "@read"},
    {ACL_WRITE, "@write"},
    {ACL_SET, "@set"},
    {ACL_SORTEDSET, "@sortedset"},
    {ACL_LIST, "@list"},
    {ACL_HASH, "@hash"},
    {ACL_STRING, "@string"},
    {ACL_BITMAP, "@bitmap"},
    {ACL_HYPERLOGLOG, "@hyperloglog"},
    {ACL_GEO, "@geo"},
    {ACL_STREAM, "@stream"},
    {ACL_PUBSUB, "@pubsub"},
    {ACL_ADMIN, "@admin"},
    {ACL_FAST, "@fast"},
    {ACL_SLOW, "@slow"},
    {ACL_BLOCKING, "@blocking"},
    {ACL_DANGEROUS, "@dangerous"},
    {ACL_CONNECTION, "@connection"},
    {ACL_TRANSACTION, "@transaction"},
    {ACL_SCRIPTING, "@scripting"},
    {0, NULL},
};

/* Redis's key-spec flags (CMD_KEY_*), in the order Redis prints them. */
#define KEY_RO         (1u << 0)
#define KEY_RW         (1u << 1)
#define KEY_OW         (1u << 2)
#define KEY_RM         (1u << 3)
#define KEY_ACCESS     (1u << 4)
#define KEY_UPDATE     (1u << 5)
#define KEY_INSERT     (1u << 6)
#define KEY_DELETE     (1u << 7)
#define KEY_NOT_KEY    (1u << 8)
#define KEY_INCOMPLETE (1u << 9)
#define KEY_VARIABLE   (1u << 10)

static const flag_name key_flag_names[] = {
    {KEY_RO, "RO"},
    {KEY_RW, "RW"},
    {KEY_OW, "OW"},
    {KEY_RM, "RM"},
    {KEY_ACCESS, "access"},
    {KEY_UPDATE, "update"},
    {KEY_INSERT, "insert"},
    {KEY_DELETE, "delete"},
    {KEY_NOT_KEY, "not_key"},
    {KEY_INCOMPLETE, "incomplete"},
    {KEY_VARIABLE, "variable_flags"},
    {0, NULL},
};

/* Replies a set of the status names of the bits of `flags` found in
 * `names`, in table order. */
static void reply_flag_set(client *c, uint64_t flags, const flag_name *names) {
    int n = 0;
    for (const flag_name *f = names; f->name; f++)
        if (flags & f->flag) n++;
    addReplySetLen(c, n);
    for (const flag_name *f = names; f->name; f++)
        if (flags & f->flag) addReplyStatus(c, f->name);
}

/* Bits of a space-separated group of flag names, up to '|' or the end. */
static uint64_t key_flags_parse(const char *p) {
    size_t group = strcspn(p, "|");
    uint64_t f = 0;
    while (group) {
        size_t w = strcspn(p, " |");
        for (const flag_name *n = key_flag_names; n->name; n++)
            if (strlen(n->name) == w && strncmp(n->name, p, w) == 0) f |= n->flag;
        size_t skip = w + (w < group ? 1 : 0);
        p += skip;
        group -= skip;
    }
    return f;
}

/* Flags of cmd's spec-th key spec: from the table's key_flags when it has
 * them, else derived (see the header comment). */
static uint64_t key_flags_of(const command *cmd, int spec) {
    if (!cmd->key_flags) {
        uint64_t f = (cmd->flags & CMD_WRITE) ? KEY_RW | KEY_ACCESS | KEY_UPDATE
                                              : KEY_RO | KEY_ACCESS;
        if (cmd->flags & CMD_MOVABLE_KEYS) f |= KEY_INCOMPLETE;
        return f;
    }
    const char *p = cmd->key_flags;
    for (int i = 0; i < spec; i++) {
        const char *bar = strchr(p, '|');
        if (!bar) break; /* the last group covers the rest */
        p = bar + 1;
    }
    return key_flags_parse(p);
}

/* The key spec of the key at argv index pos: within the table's range,
 * one spec per position (BITOP: its dest, then its sources; a range to
 * the end of argv clamps to the last group); a key getkeys found beyond
 * the range (SORT's STORE, ZUNIONSTORE's sources) is the last spec. */
static int key_spec_at(const command *cmd, int argc, int pos) {
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    int last = cmd->key_last < 0 ? argc + cmd->key_last : cmd->key_last;
    if (cmd->key_first > 0 && pos >= cmd->key_first && pos <= last)
        return (pos - cmd->key_first) / step;
    return 1 << 20; /* key_flags_of: the last group */
}

/* Tips are stored space-separated; the reply is a set of bulk strings. */
static void reply_tips(client *c, const char *tips) {
    int n = 0;
    for (const char *p = tips; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len) n++;
        p += len + strspn(p + len, " ");
    }
    addReplySetLen(c, n);
    for (const char *p = tips; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len) addReplyBulk(c, p, len);
        p += len + strspn(p + len, " ");
    }
}

/* One derived key spec: keys from argv[index] to lastkey (relative to
 * index, or counted from the end when < 0), every keystep-th. */
static void reply_key_spec(client *c, uint64_t flags, int index, int lastkey, int keystep) {
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "flags");
    reply_flag_set(c, flags, key_flag_names);

    addReplyBulkCString(c, "begin_search");
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "type");
    addReplyBulkCString(c, "index");
    addReplyBulkCString(c, "spec");
    addReplyMapLen(c, 1);
    addReplyBulkCString(c, "index");
    addReplyLongLong(c, index);

    addReplyBulkCString(c, "find_keys");
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "type");
    addReplyBulkCString(c, "range");
    addReplyBulkCString(c, "spec");
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "lastkey");
    addReplyLongLong(c, lastkey);
    addReplyBulkCString(c, "keystep");
    addReplyLongLong(c, keystep);
    addReplyBulkCString(c, "limit");
    addReplyLongLong(c, 0);
}

/* The derived key specification set. No key range: empty. A range running
 * to the end of argv (key_last < 0, MSET, DEL, BLPOP): one spec, as Redis
 * has. A fixed range (RENAME 1..2, LMOVE, COPY): one single-key spec per
 * position, as Redis has for its source/destination pairs. */
static void reply_key_specs(client *c, const command *cmd) {
    if (cmd->key_first <= 0) {
        addReplySetLen(c, 0);
        return;
    }
    if (cmd->key_last < 0) {
        addReplySetLen(c, 1);
        reply_key_spec(c, key_flags_of(cmd, 0), cmd->key_first, cmd->key_last, cmd->key_step);
        return;
    }
    /* Same tolerance of a missing step as command_get_keys(). */
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    int n = cmd->key_last >= cmd->key_first ? (cmd->key_last - cmd->key_first) / step + 1 : 1;
    addReplySetLen(c, n);
    for (int i = 0; i < n; i++)
        reply_key_spec(c, key_flags_of(cmd, i), cmd->key_first + i * step, 0, 1);
}

static int subcommands_count(const command *cmd) {
    int n = 0;
    for (const command *s = cmd->subcommands; s && s->name; s++) n++;
    return n;
}

/* One COMMAND INFO entry for cmd; NULL (unknown name) replies a null. */
void command_reply_info(client *c, const command *cmd) {
    if (!cmd) {
        addReplyNull(c);
        return;
    }
    addReplyArrayLen(c, 10);
    addReplyBulkCString(c, cmd->fullname);
    addReplyLongLong(c, cmd->arity);
    reply_flag_set(c, cmd->flags, command_flag_names);
    addReplyLongLong(c, cmd->key_first);
    addReplyLongLong(c, cmd->key_last);
    addReplyLongLong(c, cmd->key_step);
    reply_flag_set(c, cmd->acl, acl_category_names);
    reply_tips(c, cmd->tips);
    reply_key_specs(c, cmd);
    if (!cmd->subcommands) {
        addReplySetLen(c, 0); /* Redis: an empty set, but an array if any */
        return;
    }
    addReplyArrayLen(c, subcommands_count(cmd));
    for (const command *s = cmd->subcommands; s->name; s++) {
        ASSERT(!s->subcommands); /* one level, as in Redis: bounds the recursion */
        command_reply_info(c, s);
    }
}

/* The COMMAND DOCS value (a map) of cmd. */
/* The "arguments" list of COMMAND DOCS, in Redis's field order. */
static void reply_args(client *c, const command_arg *args, int nargs) {
    addReplyArrayLen(c, nargs);
    for (int i = 0; i < nargs; i++) {
        const command_arg *a = &args[i];
        int n = 2 + (a->key_spec_index >= 0) + (a->token != NULL) + (a->since != NULL) +
                (a->deprecated_since != NULL) + (a->flags != 0) + (a->args != NULL);
        addReplyMapLen(c, n);
        addReplyBulkCString(c, "name");
        addReplyBulkCString(c, a->name);
        addReplyBulkCString(c, "type");
        addReplyBulkCString(c, a->type);
        if (a->key_spec_index >= 0) {
            addReplyBulkCString(c, "key_spec_index");
            addReplyLongLong(c, a->key_spec_index);
        }
        if (a->token) {
            addReplyBulkCString(c, "token");
            addReplyBulkCString(c, a->token);
        }
        if (a->since) {
            addReplyBulkCString(c, "since");
            addReplyBulkCString(c, a->since);
        }
        if (a->deprecated_since) {
            addReplyBulkCString(c, "deprecated_since");
            addReplyBulkCString(c, a->deprecated_since);
        }
        if (a->flags) {
            static const char *const names[] = {"optional", "multiple", "multiple_token"};
            addReplyBulkCString(c, "flags");
            addReplySetLen(c, __builtin_popcount(a->flags));
            for (int b = 0; b < 3; b++)
                if (a->flags & (1u << b)) addReplyStatus(c, names[b]);
        }
        if (a->args) {
            addReplyBulkCString(c, "arguments");
            reply_args(c, a->args, a->nargs);
        }
    }
}

void command_reply_docs(client *c, const command *cmd) {
    const char *const fields[][2] = {
        {"summary", cmd->summary},
        {"since", cmd->since},
        {"group", cmd->group},
        {"complexity", cmd->complexity},
    };
    int nargs;
    const command_arg *args = command_args_of(cmd->fullname, &nargs);
    int n = (cmd->subcommands ? 1 : 0) + (args ? 1 : 0);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i][1]) n++;
    addReplyMapLen(c, n);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!fields[i][1]) continue;
        addReplyBulkCString(c, fields[i][0]);
        addReplyBulkCString(c, fields[i][1]);
    }
    if (args) {
        addReplyBulkCString(c, "arguments");
        reply_args(c, args, nargs);
    }
    if (!cmd->subcommands) return;
    addReplyBulkCString(c, "subcommands");
    addReplyMapLen(c, subcommands_count(cmd));
    for (const command *s = cmd->subcommands; s->name; s++) {
        ASSERT(!s->subcommands); /* one level, as in Redis */
        addReplyBulkCString(c, s->fullname);
        command_reply_docs(c, s);
    }
}

/* COMMAND (no subcommand): the INFO entry of every top-level command. */
void commandCommand(client *c) {
    int n = commands_count();
    addReplyArrayLen(c, n);
    for (int i = 0; i < n; i++) command_reply_info(c, command_top(i));
}

void commandCountCommand(client *c) {
    addReplyLongLong(c, commands_count());
}

static int arg_is(const resp_arg *a, const char *s) {
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

typedef enum { LIST_MODULE, LIST_ACLCAT, LIST_PATTERN } list_filter_kind;

typedef struct list_filter {
    list_filter_kind kind;
    const resp_arg *arg;
    uint64_t aclcat; /* LIST_ACLCAT: the category's bit, 0 if unknown */
} list_filter;

static int list_filter_match(const list_filter *f, const command *cmd) {
    switch (f->kind) {
    case LIST_MODULE:
        return 0; /* we have no modules: no command belongs to one */
    case LIST_ACLCAT:
        return (cmd->acl & f->aclcat) != 0;
    case LIST_PATTERN:
        return lt_stringmatchlen(f->arg->ptr, f->arg->len, cmd->fullname,
                                 strlen(cmd->fullname), 1);
    }
    ASSERT_NOT_REACHED();
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN glob]: full
 * names of commands and subcommands. */
void commandListCommand(client *c) {
    if (c->argc == 2) {
        addReplyArrayLen(c, commands_total());
        for (int i = 0; i < commands_count(); i++) {
            const command *cmd = command_top(i);
            addReplyBulkCString(c, cmd->fullname);
            for (const command *s = cmd->subcommands; s && s->name; s++)
                addReplyBulkCString(c, s->fullname);
        }
        return;
    }
    /* Redis accepts exactly one FILTERBY <type> <arg> and nothing else. */
    if (c->argc != 5 || !arg_is(&c->argv[2], "filterby")) {
        addReplyErrorSyntax(c);
        return;
    }
    list_filter f = {.arg = &c->argv[4]};
    if (arg_is(&c->argv[3], "module")) {
        f.kind = LIST_MODULE;
    } else if (arg_is(&c->argv[3], "aclcat")) {
        f.kind = LIST_ACLCAT;
        for (const flag_name *cat = acl_category_names; cat->name; cat++)
            if (arg_is(f.arg, cat->name + 1)) f.aclcat = cat->flag;
    } else if (arg_is(&c->argv[3], "pattern")) {
        f.kind = LIST_PATTERN;
    } else {
        addReplyErrorSyntax(c);
        return;
    }
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    for (int i = 0; i < commands_count(); i++) {
        const command *cmd = command_top(i);
        if (list_filter_match(&f, cmd)) {
            addReplyBulkCString(c, cmd->fullname);
            n++;
        }
        for (const command *s = cmd->subcommands; s && s->name; s++) {
            if (!list_filter_match(&f, s)) continue;
            addReplyBulkCString(c, s->fullname);
            n++;
        }
    }
    setDeferredArrayLen(c, len, n);
}

/* COMMAND INFO [name ...]: all top-level commands, or one entry per name
 * ("container|sub" allowed), null for unknown names. */
void commandInfoCommand(client *c) {
    if (c->argc == 2) {
        commandCommand(c);
        return;
    }
    addReplyArrayLen(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        command_reply_info(c, command_lookup_fullname(c->argv[i].ptr, c->argv[i].len));
}

/* COMMAND DOCS [name ...]: map of full name -> docs; unknown names are
 * skipped, as in Redis. */
void commandDocsCommand(client *c) {
    if (c->argc == 2) {
        int n = commands_count();
        addReplyMapLen(c, n);
        for (int i = 0; i < n; i++) {
            const command *cmd = command_top(i);
            addReplyBulkCString(c, cmd->fullname);
            command_reply_docs(c, cmd);
        }
        return;
    }
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (!cmd) continue;
        addReplyBulkCString(c, cmd->fullname);
        command_reply_docs(c, cmd);
        n++;
    }
    setDeferredMapLen(c, len, n);
}

/* GETKEYS / GETKEYSANDFLAGS: resolves argv[2..] like a call would (the
 * subcommand when the command is a container and one is given), checks it
 * the way Redis's getKeysSubcommandImpl does, then lists its keys. */
static void getkeysGenericCommand(client *c, int with_flags) {
    const resp_arg *argv = c->argv + 2;
    int argc = c->argc - 2;
    const command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands && argc > 1)
        cmd = command_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    if (!cmd) {
        addReplyError(c, "ERR Invalid command specified");
        return;
    }
    if (!cmd->getkeys && cmd->key_first <= 0) {
        addReplyError(c, "ERR The command has no key arguments");
        return;
    }
    if (!command_arity_ok(cmd, argc)) {
        addReplyError(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    /* Each key is a distinct argv index, so argc slots always suffice. */
    int *keys = lt_xmalloc(sizeof(*keys) * (size_t)argc);
    int n = command_get_keys(cmd, argv, argc, keys, argc);
    if (n == 0) {
        if (cmd->flags & CMD_NO_MANDATORY_KEYS) addReplyArrayLen(c, 0);
        else addReplyError(c, "ERR Invalid arguments specified for command");
        free(keys);
        return;
    }
    addReplyArrayLen(c, n);
    for (int i = 0; i < n; i++) {
        ASSERT(keys[i] > 0 && keys[i] < argc);
        if (with_flags) addReplyArrayLen(c, 2);
        addReplyBulk(c, argv[keys[i]].ptr, argv[keys[i]].len);
        uint64_t f = cmd->key_flags_for ? key_flags_parse(cmd->key_flags_for(argv, argc))
                                        : key_flags_of(cmd, key_spec_at(cmd, argc, keys[i]));
        if (with_flags) reply_flag_set(c, f, key_flag_names);
    }
    free(keys);
}

int command_key_acl_perm(const command *cmd, const resp_arg *argv, int argc, int pos) {
    uint64_t f = cmd->key_flags_for ? key_flags_parse(cmd->key_flags_for(argv, argc))
                                    : key_flags_of(cmd, key_spec_at(cmd, argc, pos));
    if (f & KEY_NOT_KEY) return -1;
    int perm = 0;
    if (f & KEY_ACCESS) perm |= 1;
    if (f & (KEY_INSERT | KEY_DELETE | KEY_UPDATE)) perm |= 2;
    return perm;
}

void commandGetKeysCommand(client *c) {
    getkeysGenericCommand(c, 0);
}

void commandGetKeysAndFlagsCommand(client *c) {
    getkeysGenericCommand(c, 1);
}

void commandHelpCommand(client *c) {
    static const char *help[] = {
        "(no subcommand)",
        "    Describe every command of this server.",
        "COUNT",
        "    Reply how many commands this server has.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    List the names of every command, or only those matching the filter.",
        "INFO [<command-name> ...]",
        "    Describe the given commands.",
        "    Without names, describe every command.",
        "DOCS [<command-name> ...]",
        "    Return the documentation of the given commands.",
        "    Without names, return the documentation of every command.",
        "GETKEYS <full-command>",
        "    Extract the key names from a complete command line.",
        "GETKEYSANDFLAGS <full-command>",
        "    Extract the key names and their access flags from a complete command line.",
        NULL,
    };
    addReplyHelp(c, help);
}
