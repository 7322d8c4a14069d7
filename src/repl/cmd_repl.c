/*
 * cmd_repl.c — the replication commands' table rows and the handlers that
 * switch roles: REPLICAOF / SLAVEOF, ROLE. REPLCONF and WAIT are in
 * master.c, FAILOVER in failover.c, SYNC / PSYNC rows in server/cmd/cmd_sync.c (handlers in
 * master.c). Rows follow Redis 7.0.15 (utils/gen-command-entry.py).
 */
#include "repl/repl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/server.h"

void repl_link_unset(void);
int repl_link_same(const char *host, int port);
void repl_replconf_command(client *c);
void repl_wait_command(client *c);
void failoverCommand(client *c);

/* Keeps `replicaof` (CONFIG GET / REWRITE) in step with the role. */
void repl_set_replicaof_config(const char *host, int port) {
    char *v = NULL;
    if (host) {
        size_t n = strlen(host) + 16;
        v = malloc(n);
        if (v) snprintf(v, n, "%s %d", host, port);
    }
    pthread_mutex_lock(&server.config_lock);
    char *old = server.replicaof;
    server.replicaof = v;
    pthread_mutex_unlock(&server.config_lock);
    free(old);
}

static void replicaofCommand(client *c) {
    if (server.cluster_enabled) {
        /* The cluster decides the role (CLUSTER REPLICATE, failover). */
        addReplyError(c, "ERR REPLICAOF not allowed in cluster mode.");
        return;
    }
    if (arg_is(&c->argv[1], "no") && arg_is(&c->argv[2], "one")) {
        if (repl_is_replica() || repl_link_configured()) {
            repl_link_unset();
            repl_set_replicaof_config(NULL, 0);
        }
        addReplyOK(c);
        return;
    }
    if (c->flags & CLIENT_REPLICA) {
        addReplyError(c, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &port) || port < 0 || port > 65535) {
        addReplyError(c, "ERR Invalid master port");
        return;
    }
    char host[256];
    size_t n = c->argv[1].len < sizeof(host) - 1 ? c->argv[1].len : sizeof(host) - 1;
    memcpy(host, c->argv[1].ptr, n);
    host[n] = '\0';
    if (repl_link_same(host, (int)port)) {
        serverLog(LL_NOTICE, "REPLICAOF would result into synchronization with the master we are "
                             "already connected with. No operation performed.");
        addReplyStatus(c, "OK Already connected to specified master");
        return;
    }
    if (repl_link_start(host, (int)port) < 0) {
        addReplyError(c, "ERR could not start the replication link (see the server log)");
        return;
    }
    repl_set_replicaof_config(host, (int)port);
    serverLog(LL_NOTICE, "REPLICAOF %s:%d enabled (user request from '%s')", host, (int)port,
              c->addr);
    addReplyOK(c);
}

static void roleCommand(client *c) {
    if (repl_is_replica()) {
        repl_link_role(c);
        return;
    }
    char ip[64];
    pthread_mutex_lock(&R.lock);
    int n = R.nreplicas;
    addReplyArrayLen(c, 3);
    addReplyBulkCString(c, "master");
    addReplyLongLong(c, (long long)repl_offset_locked());
    int online = 0;
    for (int i = 0; i < n; i++) online += R.replicas[i]->state == RS_ONLINE;
    addReplyArrayLen(c, online);
    for (int i = 0; i < n; i++) {
        repl_replica *r = R.replicas[i];
        if (r->state != RS_ONLINE) continue;
        if (r->announced_ip[0]) {
            snprintf(ip, sizeof(ip), "%s", r->announced_ip);
        } else {
            const char *colon = strrchr(r->c->addr, ':');
            size_t k = colon ? (size_t)(colon - r->c->addr) : strlen(r->c->addr);
            if (k >= sizeof(ip)) k = sizeof(ip) - 1;
            memcpy(ip, r->c->addr, k);
            ip[k] = '\0';
        }
        char port[16], off[24];
        snprintf(port, sizeof(port), "%d", r->listening_port);
        snprintf(off, sizeof(off), "%llu", (unsigned long long)r->ack_off);
        addReplyArrayLen(c, 3);
        addReplyBulkCString(c, ip);
        addReplyBulkCString(c, port);
        addReplyBulkCString(c, off);
    }
    pthread_mutex_unlock(&R.lock);
}

command repl_commands[] = {
    {.name = "replicaof", .proc = replicaofCommand, .arity = 3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Make the server a replica of another instance, or promote it as master."},
    {.name = "slaveof", .proc = replicaofCommand, .arity = 3,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE | CMD_NO_ASYNC_LOADING,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server", .since = "1.0.0",
     .complexity = "O(1)",
     .summary = "Make the server a replica of another instance, or promote it as master."},
    {.name = "replconf", .proc = repl_replconf_command, .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server", .since = "3.0.0",
     .complexity = "O(1)",
     .summary = "An internal command for configuring the replication stream"},
    {.name = "wait", .proc = repl_wait_command, .arity = 3,
     .flags = CMD_NOSCRIPT,
     .acl = ACL_SLOW | ACL_CONNECTION,
     .group = "generic", .since = "3.0.0",
     .complexity = "O(1)",
     .tips = "request_policy:all_shards response_policy:agg_min",
     .summary = "Wait for the synchronous replication of all the write commands sent in the "
                "context of the current connection"},
    {.name = "failover", .proc = failoverCommand, .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE,
     .acl = ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS,
     .group = "server", .since = "6.2.0",
     .complexity = "O(1)",
     .summary = "Start a coordinated failover between this server and one of its replicas."},
    {.name = "role", .proc = roleCommand, .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST,
     .acl = ACL_ADMIN | ACL_FAST | ACL_DANGEROUS,
     .group = "server", .since = "2.8.12",
     .complexity = "O(1)",
     .summary = "Return the role of the instance in the context of replication"},
    {0},
};
