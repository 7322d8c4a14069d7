/*
 * config: the server's configuration — one table of directives (data: name,
 * alias, type, field of `server`, default, bounds, flags, apply hook, and
 * its status in Lightning) from which everything else is derived: the
 * defaults, the config file and command-line parser, CONFIG GET / SET /
 * REWRITE / RESETSTAT / HELP, and docs/CONFIG.md.
 *
 * Behaviour matches Redis 7.0's config.c: every parameter Redis 7.0.15
 * lists in CONFIG GET * (plus its hidden test-only ones), the same names
 * and aliases (slave-* = replica-*, slaveof = replicaof, lua-time-limit =
 * busy-reply-threshold), value syntax (yes/no, memory units, enums, flag
 * sets, octal, multi-argument values), defaults, immutable and protected
 * sets, error texts (the FATAL CONFIG FILE ERROR block at start-up, "ERR
 * CONFIG SET failed (possibly related to argument ...)" at run time) and
 * CONFIG REWRITE's way of keeping comments and line positions. Directives
 * of features Lightning does not have yet are accepted, validated and
 * stored; docs/CONFIG.md says which.
 *
 * Threading: config_init_defaults() and config_load_args() run once at
 * start-up, before any worker exists. The CONFIG handlers run on any worker;
 * they hold server.config_lock while they read or write configuration
 * fields. String fields (requirepass, logfile, dir ...) are replaced (the old
 * string freed) under that lock, so other threads must hold it too while
 * they use one; int and long long fields may be read without it.
 */
#ifndef LIGHTNING_CONFIG_H
#define LIGHTNING_CONFIG_H

#include <stddef.h>

#include "server/net/client.h"

/* Sets every configuration field of `server` to its default (port 6379,
 * bind 127.0.0.1, ...). Call once, first thing in main(). Fields holding
 * strings are malloc'd and owned by config.c from then on. */
void config_init_defaults(void);

/* Applies redis-server's command line: argv[1] may be a config file path
 * (made absolute and kept in server.configfile for CONFIG REWRITE) or "-"
 * for stdin (also allowed as the last argument); "--name value..." options
 * follow and are appended to the file's content as lines, so they override
 * it. Directives run in order with their side effects (dir does a chdir).
 * Returns 0 on success; on failure err (errlen bytes, NUL-terminated) holds
 * the text and the caller must exit(1):
 *   -1  a bad config: err is Redis's "\n*** FATAL CONFIG FILE ERROR ..."
 *       block without its final newline: fprintf(stderr, "%s\n", err);
 *   -2  a config file could not be opened: err is Redis's "Fatal error,
 *       can't open config file '...': ..." line, to log with
 *       serverLog(LL_WARNING, "%s", err). */
int config_load_args(int argc, char **argv, char *err, size_t errlen);

/* Applies the directives of a config text (as a file's content; text is
 * modified). Same results and errors as config_load_args; source names the
 * text in error messages. Used by config_load_args and the fuzzer. */
int config_load_text(const char *source, char *text, size_t len, char *err, size_t errlen);

/* Parses s[0..len) as a memory amount with Redis's units: digits followed
 * by nothing or b, k (1000), kb (1024), m, mb, g, gb, case-insensitive.
 * Returns 0 and sets *out, or -1 (negative, malformed, above LLONG_MAX). */
int config_parse_memory(const char *s, size_t len, long long *out);

/* 1 if name[0..len) is a directive whose value must never be shown (logs,
 * MONITOR, SLOWLOG redact CONFIG SET's value for it): requirepass. */
int config_is_sensitive(const char *name, size_t len);

/* Redis's allowProtectedAction: setting is a PROTECTED_ACTION_* value
 * (enable-debug-command, enable-module-command, enable-protected-configs);
 * "local" allows loopback clients only. */
int config_protected_action_allowed(int setting, const client *c);

/* Rewrites the config file at path the way CONFIG REWRITE does (comments
 * and unknown lines kept in place, changed directives replaced on their
 * line, non-default ones appended; written to a temporary file, fsync'd and
 * renamed over path). Caller holds server.config_lock (or runs before the
 * workers start). Returns 0, or -1 with errno set. */
int config_rewrite(const char *path);
/* The same; force_all also writes directives at their default (DEBUG
 * CONFIG-REWRITE-FORCE-ALL, as Redis's rewriteConfig(path, 1)). */
int config_rewrite_opts(const char *path, int force_all);

/* docs/CONFIG.md: every directive of the table with its alias, default,
 * whether CONFIG SET may change it and its status in Lightning. Returns a
 * malloc'd NUL-terminated text the caller frees. `make config-doc` writes
 * it; a unit test fails when the file differs. */
char *config_doc_markdown(void);

/* CONFIG subcommand handlers (registered in the command table). */
void configGetCommand(client *c);
void configSetCommand(client *c);
void configResetStatCommand(client *c);
void configRewriteCommand(client *c);
void configHelpCommand(client *c);

#endif
