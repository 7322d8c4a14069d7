/*
 * acl: users, their permissions and the checks against them, as Redis 7.0's
 * ACL — users with SHA-256 hashed passwords, selectors (a root selector
 * plus any "(...)" ones) holding a command bitmap over the command table's
 * ids, key patterns with read/write permissions and channel patterns; the
 * ACL LOG; loading users from the config file's `user` lines or from
 * `aclfile`, and saving them back.
 *
 * Rules, descriptions (ACL LIST / GETUSER) and error texts are Redis
 * 7.0.15's: the command rules of a selector are described from its bitmap
 * (greedy categories, then single commands), as 7.0 does.
 *
 * Threading: the user registry and every user's permissions are under one
 * rwlock. A command of a restricted user takes the read side for its check;
 * ACL SETUSER/DELUSER/LOAD take the write side and replace a user's
 * permission body whole (readers never see half of a SETUSER). A user
 * without any restriction (every command, key and channel: the default
 * user unless changed) carries `unrestricted`, read with one relaxed load,
 * so dispatch checks nothing more for it.
 *
 * Lifetime: users are reference counted. The registry holds one reference,
 * each client authenticated as the user another; a deleted user is freed
 * when its last client lets it go. A client changes its user only on its
 * own thread, under server.clients_lock (CLIENT LIST reads it there).
 */
#ifndef LIGHTNING_ACL_H
#define LIGHTNING_ACL_H

#include <stddef.h>

#include "server/net/client.h"

struct command;
typedef struct acl_user acl_user;

/* Check results, in Redis's order (the worst of all selectors is kept). */
enum { ACL_OK = 0, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_AUTH, ACL_DENIED_CHANNEL };
/* ACL LOG contexts. */
enum { ACL_LOG_CTX_TOPLEVEL = 0, ACL_LOG_CTX_MULTI, ACL_LOG_CTX_LUA, ACL_LOG_CTX_MODULE };

/* Creates the default user (on nopass ~* &* +@all). Idempotent; builds the
 * command table first if needed. Called before the config is parsed. */
void acl_init(void);

/* The default user (never freed: ACL LOAD resets it in place). */
acl_user *acl_default_user(void);
acl_user *acl_user_ref(acl_user *u);
void acl_user_unref(acl_user *u); /* NULL is fine */
/* Valid while the caller holds a reference. */
const char *acl_user_name(const acl_user *u);
/* Nonzero when u may run everything (NULL: an internal client). */
static inline int acl_user_unrestricted(const acl_user *u) {
    extern int acl_user_unrestricted_slow(const acl_user *u);
    return u == NULL || acl_user_unrestricted_slow(u);
}
/* Nonzero when a new connection must authenticate (the default user has
 * a password or is off): Redis's authRequired before AUTH. */
int acl_auth_required(void);
/* Nonzero when the default user has passwords (not nopass): AUTH with
 * one argument is refused otherwise. */
int acl_default_has_password(void);

/* AUTH / HELLO AUTH: checks the pair (user NULL: "default"), constant time
 * over each stored hash. Returns a new reference to the user, or NULL and
 * logs the failure in ACL LOG as Redis does (object = argv[0] of c). */
acl_user *acl_authenticate(client *c, const char *user, size_t ulen, const char *pass,
                           size_t plen);

/* Whether the client's user may run cmd with these arguments (cmd is the
 * resolved subcommand for containers; argv[0] is the command name). On a
 * denial *errpos is the argv index of the key or channel refused. For
 * dispatch, EXEC and scripts. */
int acl_check_command(client *c, const struct command *cmd, const resp_arg *argv, int argc,
                      int *errpos);
/* The same for a user (holds the read lock inside). */
int acl_check_user_command(acl_user *u, const struct command *cmd, const resp_arg *argv,
                           int argc, int *errpos);
/* Whether u may publish to / subscribe to channel (is_pattern: PSUBSCRIBE's
 * pattern, matched literally against the user's patterns), for pub/sub. */
int acl_check_channel(acl_user *u, const char *channel, size_t len, int is_pattern);

/* Adds an ACL LOG entry for c's denied command (reason ACL_DENIED_*,
 * errpos as acl_check_command gave it; username NULL: c's user). */
void acl_log_denied(client *c, int reason, int context, int errpos, const char *username,
                    size_t ulen);
/* A command a script calls (redis.call/pcall) as caller's user: ACL_OK, or
 * the denial (logged in ACL LOG with context "lua", the caller's client
 * info). */
int acl_check_script_call(client *caller, const struct command *cmd, const resp_arg *argv,
                          int argc);
/* Logs and replies Redis's -NOPERM error for a top-level / queued command. */
void acl_reply_denied(client *c, int reason, int errpos);
/* The text after "-NOPERM " Redis 7.0 uses at EXEC when rules changed. */
const char *acl_exec_denied_reason(int reason);

/* Config: requirepass's apply hook (the default user's password). */
void acl_apply_requirepass(void);
/* Config: forgets the `user` lines of an earlier parse (a new config load
 * starts). */
void acl_config_begin(void);
/* Config: one `user <name> <rules...>` line, validated and kept for
 * acl_load_at_startup. Returns 0, or -1 with Redis's message in msg. */
int acl_config_user_line(const resp_arg *argv, int argc, char *msg, size_t msglen);
/* After the config is loaded: creates the config's users, or loads
 * `aclfile`. Returns 0, or -1 with the reason in err (startup aborts). */
int acl_load_at_startup(char *err, size_t errlen);
/* CONFIG REWRITE: appends one "user ..." line per user to *out (malloc'd,
 * grown) when no aclfile is set; returns how many. */
int acl_rewrite_user_lines(char **out, size_t *len, size_t *cap);

/* Kills every client authenticated as u except self (which is closed after
 * its reply), under server.clients_lock. Returns how many. */
int acl_kill_clients_of(acl_user *u, client *self);
/* Looks a user up (NULL: none). Returns a new reference. */
acl_user *acl_user_lookup(const char *name, size_t len);

/* --- what the ACL command (cmd_acl.c) does, each under the lock --- */

/* ACL SETUSER name rules...: all or nothing. Returns 0, or -1 with the
 * error reply's text (without "-") in msg. */
int acl_setuser(const char *name, size_t nlen, const resp_arg *rules, int nrules, char *msg,
                size_t msglen);
/* ACL DELUSER: removes the user and kills its clients (self: after the
 * reply). Returns 1 if it existed; -1 for "default". */
int acl_deluser(const char *name, size_t nlen, client *self);
/* ACL LIST lines ("user <name> <rules>") of every user in name order;
 * *n lines, each and the array malloc'd (acl_free_lines). */
char **acl_list_lines(int *n);
char **acl_user_names(int *n);
void acl_free_lines(char **lines, int n);
/* ACL GETUSER's reply; a null reply for an unknown user. */
void acl_reply_getuser(client *c, const char *name, size_t nlen);
/* ACL DRYRUN: replies OK, the denial text, or the error. */
void acl_reply_dryrun(client *c, const resp_arg *argv, int argc);
/* ACL LOG [count] and ACL LOG RESET. */
void acl_reply_log(client *c, long count);
void acl_log_reset(void);
/* ACL CAT [category]: the names of the categories / its commands. */
void acl_reply_cat(client *c, const resp_arg *category);
/* ACL LOAD / SAVE with `aclfile`: 0, or -1 with the reply's text in msg. */
int acl_load_file(const char *path, char *msg, size_t msglen);
int acl_save_file(const char *path, char *msg, size_t msglen);

#endif
