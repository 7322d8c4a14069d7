/*
 * cmd_acl: the ACL command family — SETUSER GETUSER DELUSER USERS LIST
 * WHOAMI CAT GENPASS LOG LOAD SAVE DRYRUN HELP — and its table rows (Redis
 * 7.0.15's arity, flags and categories). The users, rules and checks are
 * acl.c's; these handlers parse arguments and shape replies, with Redis's
 * texts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/random.h"
#include "common/util.h"
#include "server/acl.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/net/reply.h"
#include "server/server.h"

#define ACL_GENPASS_MAX_BITS 4096

static const char acl_no_file[] =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration.";

/* Redis's addReplySubcommandSyntaxError: the subcommand as typed. */
static void reply_subcommand_syntax(client *c) {
    addReplyErrorFormat(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL "
                        "HELP.",
                        (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
}

static void aclSetuserCommand(client *c) {
    char msg[1024];
    if (acl_setuser(c->argv[2].ptr, c->argv[2].len, c->argv + 3, c->argc - 3, msg,
                    sizeof(msg)) < 0) {
        addReplyError(c, msg);
        return;
    }
    addReplyOK(c);
}

static void aclGetuserCommand(client *c) {
    acl_reply_getuser(c, c->argv[2].ptr, c->argv[2].len);
}

static void aclDeluserCommand(client *c) {
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        int r = acl_deluser(c->argv[i].ptr, c->argv[i].len, c);
        if (r < 0) {
            addReplyError(c, "ERR The 'default' user cannot be removed");
            return;
        }
        deleted += r;
    }
    /* Our own user deleted: the connection closes after this reply. */
    addReplyLongLong(c, deleted);
}

static void reply_lines(client *c, char **lines, int n) {
    addReplyArrayLen(c, n);
    for (int i = 0; i < n; i++) addReplyBulkCString(c, lines[i]);
    acl_free_lines(lines, n);
}

static void aclUsersCommand(client *c) {
    int n;
    char **names = acl_user_names(&n);
    reply_lines(c, names, n);
}

static void aclListCommand(client *c) {
    int n;
    char **lines = acl_list_lines(&n);
    reply_lines(c, lines, n);
}

static void aclWhoamiCommand(client *c) { addReplyBulkCString(c, acl_user_name(c->user)); }

static void aclCatCommand(client *c) {
    if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    acl_reply_cat(c, c->argc == 3 ? &c->argv[2] : NULL);
}

static void aclGenpassCommand(client *c) {
    long long bits = 256;
    if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    if (c->argc == 3 && arg_ll_or_reply(c, &c->argv[2], &bits, NULL) < 0) return;
    if (bits <= 0 || bits > ACL_GENPASS_MAX_BITS) {
        addReplyError(c, "ERR ACL GENPASS argument must be the number of bits for the output "
                         "password, a positive number up to 4096");
        return;
    }
    static const char hex[] = "0123456789abcdef";
    int chars = (int)((bits + 3) / 4);
    unsigned char raw[ACL_GENPASS_MAX_BITS / 8];
    lt_random_bytes(raw, (unsigned)((chars + 1) / 2));
    char out[ACL_GENPASS_MAX_BITS / 4 + 1];
    for (int i = 0; i < chars; i++) out[i] = hex[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
    addReplyBulk(c, out, (size_t)chars);
}

static void aclLogCommand(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(&c->argv[2], "reset")) {
            acl_log_reset();
            addReplyOK(c);
            return;
        }
        if (arg_ll_or_reply(c, &c->argv[2], &count, NULL) < 0) return;
        if (count < 0) count = 0;
    }
    acl_reply_log(c, count > 1000000 ? 1000000 : (long)count);
}

static void aclLoadCommand(client *c) {
    if (!server.aclfile || !server.aclfile[0]) {
        addReplyError(c, acl_no_file);
        return;
    }
    char msg[8192];
    if (acl_load_file(server.aclfile, msg, sizeof(msg)) < 0) {
        addReplyErrorFormat(c, "ERR %s", msg);
        return;
    }
    addReplyOK(c);
}

static void aclSaveCommand(client *c) {
    if (!server.aclfile || !server.aclfile[0]) {
        addReplyError(c, acl_no_file);
        return;
    }
    char msg[512];
    if (acl_save_file(server.aclfile, msg, sizeof(msg)) < 0) {
        addReplyError(c, msg);
        return;
    }
    addReplyOK(c);
}

static void aclDryrunCommand(client *c) { acl_reply_dryrun(c, c->argv + 2, c->argc - 2); }

static void aclHelpCommand(client *c) {
    static const char *help[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        NULL,
    };
    addReplyHelp(c, help);
}

#define ACL_SUB (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_ADMIN_SUB (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ACL_DANGER (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static command acl_subcommands[] = {
    {.name = "cat", .proc = aclCatCommand, .arity = -2, .flags = ACL_SUB, .acl = ACL_SLOW,
     .group = "server", .since = "6.0.0",
     .complexity = "O(1) since the categories and commands are a fixed set.",
     .summary = "Lists the ACL categories, or the commands of one."},
    {.name = "deluser", .proc = aclDeluserCommand, .arity = -3, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(1) amortized time considering the typical user.",
     .summary = "Deletes users and closes their connections."},
    {.name = "dryrun", .proc = aclDryrunCommand, .arity = -4, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "7.0.0", .complexity = "O(1).",
     .summary = "Tells whether a user could run a command, without running it."},
    {.name = "genpass", .proc = aclGenpassCommand, .arity = -2, .flags = ACL_SUB,
     .acl = ACL_SLOW, .group = "server", .since = "6.0.0", .complexity = "O(1)",
     .summary = "Returns a random password of the given number of bits."},
    {.name = "getuser", .proc = aclGetuserCommand, .arity = 3, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of password, command and pattern rules that "
                   "the user has.",
     .summary = "Describes one user's flags, passwords and permissions."},
    {.name = "help", .proc = aclHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "6.0.0", .complexity = "O(1)",
     .summary = "Lists the ACL subcommands."},
    {.name = "list", .proc = aclListCommand, .arity = 2, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of configured users.",
     .summary = "Lists every user as an ACL file line."},
    {.name = "load", .proc = aclLoadCommand, .arity = 2, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of configured users.",
     .summary = "Replaces the users with those of the ACL file, all or none."},
    {.name = "log", .proc = aclLogCommand, .arity = -2, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N) with N being the number of entries shown.",
     .summary = "Lists recent denied commands and failed authentications, or clears them."},
    {.name = "save", .proc = aclSaveCommand, .arity = 2, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of configured users.",
     .summary = "Writes the users to the ACL file."},
    {.name = "setuser", .proc = aclSetuserCommand, .arity = -3, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of rules provided.",
     .summary = "Creates or changes a user, applying all rules or none."},
    {.name = "users", .proc = aclUsersCommand, .arity = 2, .flags = ACL_ADMIN_SUB,
     .acl = ACL_DANGER, .group = "server", .since = "6.0.0",
     .complexity = "O(N). Where N is the number of configured users.",
     .summary = "Lists the user names."},
    {.name = "whoami", .proc = aclWhoamiCommand, .arity = 2, .flags = ACL_SUB,
     .acl = ACL_SLOW, .group = "server", .since = "6.0.0", .complexity = "O(1)",
     .summary = "Returns the user of this connection."},
    {0},
};

command acl_commands[] = {
    {.name = "acl", .arity = -2, .flags = 0, .acl = ACL_SLOW, .group = "server",
     .since = "6.0.0", .complexity = "Depends on subcommand.",
     .summary = "A container for the Access Control List commands.",
     .subcommands = acl_subcommands},
    {0},
};
