/*
 * cmd_conn: connection commands — PING ECHO QUIT RESET HELLO AUTH SELECT
 * and the CLIENT family. Replies and errors are Redis 7.0's.
 *
 * Cross-thread effects (CLIENT KILL, PAUSE/UNPAUSE) only set flags under
 * server.clients_lock or in atomics and wake the owning workers; a client's
 * buffers are never touched from another thread.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "server/acl.h"
#include "repl/repl.h"
#include "server/cmd/args.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "engine/keyspace.h"
#include "server/cmd/dispatch.h"
#include "server/cmd/keyset.h"
#include "server/cmd/multi.h"
#include "server/cmd/pubsub.h"
#include "server/net/reply.h"
#include "server/server.h"
#include "server/net/worker.h"

void pingCommand(client *c) {
    if (c->argc > 2) {
        addReplyErrorArity(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        /* Subscribed RESP2 clients read pushes: PING answers in their shape. */
        addReplyArrayLen(c, 2);
        addReplyBulkCString(c, "pong");
        if (c->argc == 1) addReplyBulkCString(c, "");
        else addReplyBulk(c, c->argv[1].ptr, c->argv[1].len);
        return;
    }
    if (c->argc == 1) addReplyStatus(c, "PONG");
    else addReplyBulk(c, c->argv[1].ptr, c->argv[1].len);
}

void echoCommand(client *c) { addReplyBulk(c, c->argv[1].ptr, c->argv[1].len); }

void quitCommand(client *c) {
    addReplyOK(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Switches the client to user u (a reference it takes over), under
 * clients_lock so CLIENT LIST on other threads reads a live user. */
static void set_user(client *c, acl_user *u, int authenticated) {
    pthread_mutex_lock(&server.clients_lock);
    acl_user *old = c->user;
    c->user = u;
    pthread_mutex_unlock(&server.clients_lock);
    acl_user_unref(old);
    if (authenticated) c->flags |= CLIENT_AUTHENTICATED;
    else c->flags &= ~CLIENT_AUTHENTICATED;
    c->parser.unauthenticated = !authenticated;
}

/* Checks the pair against the ACL users (acl.c: hashed, constant time).
 * Replies the error and returns -1 on failure (logged in ACL LOG). */
static int authenticate(client *c, const resp_arg *user, const resp_arg *pass) {
    acl_user *u = acl_authenticate(c, user ? user->ptr : NULL, user ? user->len : 0, pass->ptr,
                                   pass->len);
    if (!u) {
        addReplyError(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return -1;
    }
    set_user(c, u, 1);
    return 0;
}

void authCommand(client *c) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    if (c->argc == 2 && !acl_default_has_password()) {
        addReplyError(c, "ERR AUTH <password> called without any password configured "
                         "for the default user. Are you sure your configuration is correct?");
        return;
    }
    const resp_arg *user = c->argc == 3 ? &c->argv[1] : NULL;
    const resp_arg *pass = &c->argv[c->argc - 1];
    if (authenticate(c, user, pass) == 0) addReplyOK(c);
}

/* Redis allows names of printable ASCII without spaces. */
static int valid_name(const resp_arg *a) {
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') return 0;
    return 1;
}

static void set_string_field(char **field, const resp_arg *a) {
    char *v = NULL;
    if (a && a->len) {
        v = malloc(a->len + 1);
        if (!v) abort();
        memcpy(v, a->ptr, a->len);
        v[a->len] = '\0';
    }
    pthread_mutex_lock(&server.clients_lock);
    char *old = *field;
    *field = v;
    pthread_mutex_unlock(&server.clients_lock);
    free(old);
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]]. As in
 * Redis 7.0, AUTH and SETNAME take effect as they are parsed: a later bad
 * option fails the command after they did. */
void helloCommand(client *c) {
    long long ver = 0;
    if (c->argc >= 2) {
        if (arg_ll_or_reply(c, &c->argv[1], &ver,
                            "ERR Protocol version is not an integer or out of range") < 0)
            return;
        if (ver < 2 || ver > 3) {
            addReplyError(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (int j = 2; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "AUTH") && more >= 2) {
            if (authenticate(c, &c->argv[j + 1], &c->argv[j + 2]) < 0) return;
            j += 2;
        } else if (arg_is(&c->argv[j], "SETNAME") && more) {
            if (!valid_name(&c->argv[j + 1])) {
                addReplyError(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            set_string_field(&c->name, &c->argv[j + 1]);
            j++;
        } else {
            addReplyErrorFormat(c, "ERR Syntax error in HELLO option '%.*s'",
                                (int)c->argv[j].len, c->argv[j].ptr);
            return;
        }
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && acl_auth_required()) {
        addReplyError(c, "NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time");
        return;
    }
    if (ver) __atomic_store_n(&c->resp, (int)ver, __ATOMIC_RELAXED);
    addReplyMapLen(c, 7);
    addReplyBulkCString(c, "server");
    addReplyBulkCString(c, "redis");
    addReplyBulkCString(c, "version");
    addReplyBulkCString(c, REDIS_VERSION);
    addReplyBulkCString(c, "proto");
    addReplyLongLong(c, c->resp);
    addReplyBulkCString(c, "id");
    addReplyLongLong(c, (long long)c->id);
    addReplyBulkCString(c, "mode");
    addReplyBulkCString(c, "standalone");
    addReplyBulkCString(c, "role");
    addReplyBulkCString(c, repl_is_replica() ? "replica" : "master");
    addReplyBulkCString(c, "modules");
    addReplyArrayLen(c, 0);
}

/* SELECT's lock set (keyset.h): nothing; the next command of a transaction
 * runs in the new database when the index is one selectCommand accepts. */
int selectKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    (void)ks;
    (void)argc;
    int id;
    return keyset_parse_db(&argv[1], &id) ? id : db;
}

void selectCommand(client *c) {
    int id;
    if (arg_int_or_reply(c, &c->argv[1], &id, NULL) < 0) return;
    if (server.cluster_enabled && id != 0) {
        addReplyError(c, "ERR SELECT is not allowed in cluster mode");
        return;
    }
    if (id < 0 || id >= server.databases) {
        addReplyError(c, "ERR DB index is out of range");
        return;
    }
    __atomic_store_n(&c->db, id, __ATOMIC_RELAXED);
    addReplyOK(c);
}

void resetCommand(client *c) {
    multi_reset(c);
    pubsub_client_reset(c);
    __atomic_store_n(&c->resp, 2, __ATOMIC_RELAXED);
    __atomic_store_n(&c->db, 0, __ATOMIC_RELAXED);
    c->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT | CLIENT_NO_EVICT | CLIENT_NO_TOUCH);
    set_string_field(&c->name, NULL);
    set_user(c, acl_user_ref(acl_default_user()), !acl_auth_required());
    addReplyStatus(c, "RESET");
}

/* --- CLIENT ------------------------------------------------------------- */

void clientIdCommand(client *c) { addReplyLongLong(c, (long long)c->id); }

void clientSetnameCommand(client *c) {
    if (!valid_name(&c->argv[2])) {
        addReplyError(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_string_field(&c->name, &c->argv[2]);
    addReplyOK(c);
}

void clientGetnameCommand(client *c) {
    if (c->name) addReplyBulkCString(c, c->name);
    else addReplyNull(c);
}

void clientSetinfoCommand(client *c) {
    char **field;
    const char *what;
    if (arg_is(&c->argv[2], "LIB-NAME")) {
        field = &c->lib_name;
        what = "lib-name";
    } else if (arg_is(&c->argv[2], "LIB-VER")) {
        field = &c->lib_ver;
        what = "lib-ver";
    } else {
        addReplyErrorFormat(c, "ERR Unrecognized option '%.*s'", (int)c->argv[2].len,
                            c->argv[2].ptr);
        return;
    }
    if (!valid_name(&c->argv[3])) {
        addReplyErrorFormat(c, "ERR %s cannot contain spaces, newlines or special characters.",
                            what);
        return;
    }
    set_string_field(field, &c->argv[3]);
    addReplyOK(c);
}

enum { TYPE_ANY = -1, TYPE_NORMAL = 0, TYPE_REPLICA, TYPE_PUBSUB, TYPE_MASTER };

static int parse_client_type(const resp_arg *a) {
    if (arg_is(a, "normal")) return TYPE_NORMAL;
    if (arg_is(a, "slave") || arg_is(a, "replica")) return TYPE_REPLICA;
    if (arg_is(a, "pubsub")) return TYPE_PUBSUB;
    if (arg_is(a, "master")) return TYPE_MASTER;
    return -2;
}

_Static_assert((int)TYPE_NORMAL == (int)CLIENT_CLASS_NORMAL && (int)TYPE_REPLICA == (int)CLIENT_CLASS_REPLICA &&
                   (int)TYPE_PUBSUB == (int)CLIENT_CLASS_PUBSUB,
               "CLIENT LIST TYPE names the client classes");

/* Redis's getClientType: this node's master, a replica, a pub/sub
 * subscriber, or the class the client is in (client_set_class). */
static int client_type(const client *c) {
    uint32_t f = __atomic_load_n(&c->pub.flags, __ATOMIC_RELAXED);
    if (f & CLIENT_MASTER) return TYPE_MASTER;
    if (f & CLIENT_REPLICA) return TYPE_REPLICA;
    if (f & CLIENT_PUBSUB) return TYPE_PUBSUB;
    return __atomic_load_n(&c->cls, __ATOMIC_RELAXED);
}

void clientListCommand(client *c) {
    int type = TYPE_ANY;
    uint64_t *ids = NULL;
    int nids = 0;
    if (c->argc == 4 && arg_is(&c->argv[2], "TYPE")) {
        type = parse_client_type(&c->argv[3]);
        if (type == -2) {
            addReplyErrorFormat(c, "ERR Unknown client type '%.*s'", (int)c->argv[3].len,
                                c->argv[3].ptr);
            return;
        }
    } else if (c->argc > 3 && arg_is(&c->argv[2], "ID")) {
        ids = malloc(sizeof(*ids) * (size_t)(c->argc - 3));
        if (!ids) abort();
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (!lt_string2ll(c->argv[j].ptr, c->argv[j].len, &id) || id <= 0) {
                addReplyError(c, "ERR Invalid client ID");
                free(ids);
                return;
            }
            ids[nids++] = (uint64_t)id;
        }
    } else if (c->argc != 2) {
        addReplyErrorSyntax(c);
        return;
    }
    char *out = NULL;
    size_t len = 0, cap = 0;
    client_publish(c);
    pthread_mutex_lock(&server.clients_lock);
    for (client *o = server.clients; o; o = o->next) {
        if (type != TYPE_ANY && client_type(o) != type) continue;
        if (ids) {
            int found = 0;
            for (int i = 0; i < nids && !found; i++) found = ids[i] == o->id;
            if (!found) continue;
        }
        client_info_line(o, &out, &len, &cap);
    }
    pthread_mutex_unlock(&server.clients_lock);
    free(ids);
    addReplyVerbatim(c, out ? out : "", len, "txt");
    free(out);
}

void clientInfoCommand(client *c) {
    char *out = NULL;
    size_t len = 0, cap = 0;
    client_publish(c);
    pthread_mutex_lock(&server.clients_lock);
    client_info_line(c, &out, &len, &cap);
    pthread_mutex_unlock(&server.clients_lock);
    addReplyVerbatim(c, out, len, "txt");
    free(out);
}

typedef struct kill_filter {
    const resp_arg *addr, *laddr;
    uint64_t id;
    int type;
    int skipme;
    acl_user *user; /* a reference, released by clientKillCommand */
} kill_filter;

static int kill_matches(const kill_filter *f, client *o, client *self) {
    if (f->addr && !(strlen(o->addr) == f->addr->len &&
                     memcmp(o->addr, f->addr->ptr, f->addr->len) == 0))
        return 0;
    if (f->laddr && !(strlen(o->laddr) == f->laddr->len &&
                      memcmp(o->laddr, f->laddr->ptr, f->laddr->len) == 0))
        return 0;
    if (f->id && o->id != f->id) return 0;
    if (f->type != TYPE_ANY && client_type(o) != f->type) return 0;
    if (f->skipme && o == self) return 0;
    if (f->user && o->user != f->user) return 0;
    return 1;
}

/* Marks matching clients for their owners to close; returns how many. */
static int kill_clients(client *c, const kill_filter *f) {
    int killed = 0;
    pthread_mutex_lock(&server.clients_lock);
    for (client *o = server.clients; o; o = o->next) {
        if (!kill_matches(f, o, c)) continue;
        killed++;
        if (o == c) {
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            continue;
        }
        __atomic_store_n(&o->user_kill_flag, 1, __ATOMIC_RELEASE);
        worker_notify(o->owner);
    }
    pthread_mutex_unlock(&server.clients_lock);
    return killed;
}

void clientKillCommand(client *c) {
    kill_filter f = {.type = TYPE_ANY, .skipme = 1};
    if (c->argc == 3) {
        /* Old form: CLIENT KILL addr:port */
        f.addr = &c->argv[2];
        f.skipme = 0;
        if (kill_clients(c, &f) == 0) {
            addReplyError(c, "ERR No such client");
            return;
        }
        /* Our own connection closes after the +OK, as in Redis. */
        c->flags &= ~CLIENT_CLOSE_AFTER_REPLY;
        int self = strlen(c->addr) == f.addr->len && memcmp(c->addr, f.addr->ptr, f.addr->len) == 0;
        addReplyOK(c);
        if (self) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        return;
    }
    if ((c->argc - 2) % 2 != 0) {
        addReplyErrorSyntax(c);
        return;
    }
    for (int i = 2; i < c->argc; i += 2) {
        const resp_arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        if (arg_is(opt, "id")) {
            long long id;
            if (!lt_string2ll(val->ptr, val->len, &id) || id <= 0) {
                addReplyError(c, "ERR client-id should be greater than 0");
                acl_user_unref(f.user);
                return;
            }
            f.id = (uint64_t)id;
        } else if (arg_is(opt, "type")) {
            f.type = parse_client_type(val);
            if (f.type == -2) {
                addReplyErrorFormat(c, "ERR Unknown client type '%.*s'", (int)val->len, val->ptr);
                acl_user_unref(f.user);
                return;
            }
        } else if (arg_is(opt, "addr")) {
            f.addr = val;
        } else if (arg_is(opt, "laddr")) {
            f.laddr = val;
        } else if (arg_is(opt, "user")) {
            acl_user *u = acl_user_lookup(val->ptr, val->len);
            if (!u) {
                addReplyErrorFormat(c, "ERR No such user '%.*s'", (int)val->len, val->ptr);
                acl_user_unref(f.user);
                return;
            }
            acl_user_unref(f.user); /* USER given twice: the last counts */
            f.user = u;
        } else if (arg_is(opt, "skipme")) {
            if (arg_is(val, "yes")) f.skipme = 1;
            else if (arg_is(val, "no")) f.skipme = 0;
            else {
                addReplyErrorSyntax(c);
                acl_user_unref(f.user);
                return;
            }
        } else {
            addReplyErrorSyntax(c);
            acl_user_unref(f.user);
            return;
        }
    }
    int killed = kill_clients(c, &f);
    acl_user_unref(f.user);
    int self = c->flags & CLIENT_CLOSE_AFTER_REPLY;
    c->flags &= ~CLIENT_CLOSE_AFTER_REPLY;
    addReplyLongLong(c, killed);
    if (self) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void clientReplyCommand(client *c) {
    if (arg_is(&c->argv[2], "on")) {
        c->flags &= ~(CLIENT_REPLY_SKIP | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT);
        addReplyOK(c);
    } else if (arg_is(&c->argv[2], "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (arg_is(&c->argv[2], "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        addReplyErrorSyntax(c);
    }
}

void clientNoEvictCommand(client *c) {
    if (arg_is(&c->argv[2], "on")) c->flags |= CLIENT_NO_EVICT;
    else if (arg_is(&c->argv[2], "off")) c->flags &= ~CLIENT_NO_EVICT;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    addReplyOK(c);
}

void clientPauseCommand(client *c) {
    long long ms;
    if (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &ms)) {
        addReplyError(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        addReplyError(c, "ERR timeout is negative");
        return;
    }
    int type = PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_is(&c->argv[3], "write")) type = PAUSE_WRITE;
        else if (!arg_is(&c->argv[3], "all")) {
            addReplyError(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (c->argc > 4) {
        addReplyErrorSyntax(c);
        return;
    }
    int64_t end = mstime() + ms;
    /* A longer or stricter pause wins over one already in force, as in
     * Redis. */
    pthread_mutex_lock(&server.config_lock);
    int cur = __atomic_load_n(&server.pause_type, __ATOMIC_ACQUIRE);
    int64_t cur_end = __atomic_load_n(&server.pause_end_ms, __ATOMIC_ACQUIRE);
    if (cur == PAUSE_OFF || cur_end < mstime()) {
        cur = PAUSE_OFF;
        cur_end = 0;
    }
    if (type > cur) cur = type;
    if (end > cur_end) cur_end = end;
    __atomic_store_n(&server.pause_end_ms, cur_end, __ATOMIC_RELEASE);
    __atomic_store_n(&server.pause_type, cur, __ATOMIC_RELEASE);
    /* No key expires (lazily or actively) while clients are paused. */
    ks_hold_expiry(server.db, cur_end);
    pthread_mutex_unlock(&server.config_lock);
    addReplyOK(c);
}

void clientUnpauseCommand(client *c) {
    __atomic_store_n(&server.pause_type, PAUSE_OFF, __ATOMIC_RELEASE);
    __atomic_store_n(&server.pause_end_ms, 0, __ATOMIC_RELEASE);
    ks_hold_expiry(server.db, 0);
    worker_notify_all();
    addReplyOK(c);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: the target (on any worker) gets its
 * timeout reply or the UNBLOCKED error from its own thread. */
void clientUnblockCommand(client *c) {
    int error = 0;
    if (c->argc == 4) {
        if (arg_is(&c->argv[3], "error")) error = 1;
        else if (!arg_is(&c->argv[3], "timeout")) {
            addReplyError(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (c->argc > 4) {
        addReplyErrorFormat(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                               "Try CLIENT HELP.", (int)c->argv[1].len, c->argv[1].ptr);
        return;
    }
    long long id;
    if (arg_ll_or_reply(c, &c->argv[2], &id, NULL) < 0) return;
    int done = 0;
    pthread_mutex_lock(&server.clients_lock);
    for (client *o = server.clients; o && !done; o = o->next)
        if (o->id == (uint64_t)id) done = blocking_request_unblock(o, error);
    pthread_mutex_unlock(&server.clients_lock);
    addReplyLongLong(c, done);
}

void clientHelpCommand(client *c) {
    static const char *help[] = {
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "GETNAME",
        "    Return the name of the current connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients with the given ids.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Record the client library's name or version.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        NULL,
    };
    addReplyHelp(c, help);
}
