/*
 * cmd_module: the MODULE command. Lightning has no module API, so no module
 * is ever loaded: MODULE LIST answers an empty list, MODULE LOAD / LOADEX
 * say so (after dispatch has applied enable-module-command, as Redis does
 * for these subcommands), MODULE UNLOAD finds no module of that name
 * (Redis's own error for an unknown name).
 */
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/server.h"

static void moduleListCommand(client *c) { addReplyArrayLen(c, 0); }

static void moduleLoadCommand(client *c) {
    serverLog(LL_WARNING, "Module %.*s failed to load: Lightning has no module API",
              (int)c->argv[2].len, c->argv[2].ptr);
    addReplyError(c, "ERR Error loading the extension: Lightning does not support modules "
                     "(it has no module API).");
}

static void moduleUnloadCommand(client *c) {
    (void)c;
    addReplyError(c, "ERR Error unloading module: no such module with that name");
}

static void moduleHelpCommand(client *c) {
    static const char *help[] = {
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
        NULL,
    };
    addReplyHelp(c, help);
}

#define MODULE_LOAD_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_PROTECTED)
#define ACL_MODULE (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static command module_subcommands[] = {
    {.name = "list", .proc = moduleListCommand, .arity = 2, .flags = CMD_ADMIN | CMD_NOSCRIPT,
     .acl = ACL_MODULE, .group = "server", .since = "4.0.0",
     .complexity = "O(N) where N is the number of loaded modules.",
     .tips = "nondeterministic_output_order", .summary = "Lists loaded modules (none)."},
    {.name = "load", .proc = moduleLoadCommand, .arity = -3, .flags = MODULE_LOAD_FLAGS,
     .acl = ACL_MODULE, .group = "server", .since = "4.0.0", .complexity = "O(1)",
     .summary = "Loads a module (Lightning has no module API: an error)."},
    {.name = "loadex", .proc = moduleLoadCommand, .arity = -3, .flags = MODULE_LOAD_FLAGS,
     .acl = ACL_MODULE, .group = "server", .since = "7.0.0", .complexity = "O(1)",
     .summary = "Loads a module with configurations (Lightning: an error)."},
    {.name = "unload", .proc = moduleUnloadCommand, .arity = 3, .flags = MODULE_LOAD_FLAGS,
     .acl = ACL_MODULE, .group = "server", .since = "4.0.0", .complexity = "O(1)",
     .summary = "Unloads a module (none is ever loaded)."},
    {.name = "help", .proc = moduleHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "5.0.0", .complexity = "O(1)",
     .summary = "Lists the MODULE subcommands."},
    {0},
};

command module_commands[] = {
    {.name = "module", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "4.0.0",
     .complexity = "Depends on subcommand.", .summary = "Module management.",
     .subcommands = module_subcommands},
    {0},
};
