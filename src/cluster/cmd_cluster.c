/*
 * cmd_cluster.c — CLUSTER and its subcommands, ASKING, READONLY, READWRITE
 * (Redis 7.0.15's replies and error texts), and their command-table rows
 * (cluster_commands[]).
 *
 * Every subcommand that reads or changes the cluster state runs with the
 * cluster mutex held (cluster_lock); one that changed it ends with
 * cluster_commit_change, which rebuilds the routing table and writes
 * nodes.conf before the reply, as Redis saves before it replies.
 * REPLICATE and FAILOVER change the role in the state (failover.c) and
 * make replication follow it (replica.c) after releasing the mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "cluster/failover.h"
#include "cluster/nodesconf.h"
#include "cluster/replica.h"
#include "common/util.h"
#include "engine/keyspace.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/tracking.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

static int cluster_enabled_or_reply(client *c) {
    if (server.cluster_enabled) return 1;
    addReplyError(c, "ERR This instance has cluster support disabled");
    return 0;
}

/* Redis's addReplySubcommandSyntaxError. */
static void reply_subcommand_syntax(client *c) {
    addReplyErrorFormat(c,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                        "CLUSTER HELP.",
                        (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
}

/* getSlotOrReply: -1 after replying. */
static int slot_or_reply(client *c, const resp_arg *a) {
    int s = cluster_parse_slot(a->ptr, a->len);
    if (s < 0) {
        addReplyError(c, "ERR Invalid or out of range slot");
        return -1;
    }
    return s;
}

static cl_node *lookup_arg(cl_state *st, const resp_arg *a) {
    return cl_lookup(st, a->ptr, a->len);
}

/* ---- Read-only views ------------------------------------------------------- */

static void clusterHelpCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    static const char *help[] = {
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        NULL,
    };
    addReplyHelp(c, help);
}

static const char *const msg_type_names[CBUS_TYPE_COUNT] = {
    "ping", "pong", "meet", "fail", "publish", "auth-req",
    "auth-ack", "update", "mfstart", "module", "publishshard",
};

static void clusterInfoCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    int assigned = 0, ok = 0, pfail = 0, fail = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        cl_node *n = st->slots[s];
        if (!n) continue;
        assigned++;
        if (n->flags & CNODE_FAIL) fail++;
        else if (n->flags & CNODE_PFAIL) pfail++;
        else ok++;
    }
    lt_strbuf t = {0};
    lt_strbuf_printf(&t,
                     "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
                     "cluster_slots_pfail:%d\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%d\r\n"
                     "cluster_size:%d\r\ncluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
                     st->state == CL_OK ? "ok" : "fail", assigned, ok, pfail, fail, st->nnodes,
                     st->size, (unsigned long long)st->current_epoch,
                     (unsigned long long)st->myself->config_epoch);
    uint64_t tot = 0;
    for (int i = 0; i < CBUS_TYPE_COUNT; i++) {
        if (!st->stats_sent[i]) continue;
        tot += st->stats_sent[i];
        lt_strbuf_printf(&t, "cluster_stats_messages_%s_sent:%llu\r\n", msg_type_names[i],
                         (unsigned long long)st->stats_sent[i]);
    }
    lt_strbuf_printf(&t, "cluster_stats_messages_sent:%llu\r\n", (unsigned long long)tot);
    tot = 0;
    for (int i = 0; i < CBUS_TYPE_COUNT; i++) {
        if (!st->stats_received[i]) continue;
        tot += st->stats_received[i];
        lt_strbuf_printf(&t, "cluster_stats_messages_%s_received:%llu\r\n", msg_type_names[i],
                         (unsigned long long)st->stats_received[i]);
    }
    lt_strbuf_printf(&t, "cluster_stats_messages_received:%llu\r\n", (unsigned long long)tot);
    lt_strbuf_printf(&t, "total_cluster_links_buffer_limit_exceeded:%llu\r\n",
                     (unsigned long long)cluster_links_limit_exceeded());
    cluster_unlock();
    addReplyVerbatim(c, t.p, t.len, "txt");
    lt_strbuf_free(&t);
}

static void clusterNodesCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    lt_strbuf t = {0};
    cl_describe_all(st, &t, 0);
    cluster_unlock();
    addReplyVerbatim(c, t.p ? t.p : "", t.len, "txt");
    lt_strbuf_free(&t);
}

static void clusterMyidCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    char name[CBUS_NAMELEN];
    memcpy(name, st->myself->name, CBUS_NAMELEN);
    cluster_unlock();
    addReplyBulk(c, name, CBUS_NAMELEN);
}

/* One node of CLUSTER SLOTS: endpoint, port, id, map of the other
 * endpoints. */
static void reply_slots_node(client *c, cl_node *n) {
    int type = server.cluster_preferred_endpoint_type;
    addReplyArrayLen(c, 4);
    addReplyBulkCString(c, cluster_endpoint(n));
    addReplyLongLong(c, n->port);
    addReplyBulk(c, n->name, CBUS_NAMELEN);
    int len = (type != 0) + (type != 1 && n->hostname[0]);
    addReplyMapLen(c, len);
    if (type != 0) {
        addReplyBulkCString(c, "ip");
        addReplyBulkCString(c, n->ip);
    }
    if (type != 1 && n->hostname[0]) {
        addReplyBulkCString(c, "hostname");
        addReplyBulkCString(c, n->hostname);
    }
}

static int is_replica_of(const cl_node *r, const cl_node *m) {
    return (r->flags & CNODE_SLAVE) && !memcmp(r->slaveof, m->name, CBUS_NAMELEN);
}

static void clusterSlotsCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    void *len = addReplyDeferredLen(c);
    long ranges = 0;
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (!cl_node_is_master(n) || n->numslots == 0) continue;
        int start = -1;
        for (int s = 0; s <= CLUSTER_SLOTS; s++) {
            int has = s < CLUSTER_SLOTS && st->slots[s] == n;
            if (has && start < 0) start = s;
            if (has || start < 0) continue;
            int nrep = 0;
            for (int j = 0; j < st->nnodes; j++)
                if (is_replica_of(st->nodes[j], n) && !(st->nodes[j]->flags & CNODE_FAIL)) nrep++;
            addReplyArrayLen(c, 3 + nrep);
            addReplyLongLong(c, start);
            addReplyLongLong(c, s - 1);
            reply_slots_node(c, n);
            for (int j = 0; j < st->nnodes; j++)
                if (is_replica_of(st->nodes[j], n) && !(st->nodes[j]->flags & CNODE_FAIL))
                    reply_slots_node(c, st->nodes[j]);
            ranges++;
            start = -1;
        }
    }
    cluster_unlock();
    setDeferredArrayLen(c, len, ranges);
}

static void reply_shard_node(client *c, cl_state *st, cl_node *n) {
    addReplyMapLen(c, 7 + (n->hostname[0] != 0));
    addReplyBulkCString(c, "id");
    addReplyBulk(c, n->name, CBUS_NAMELEN);
    addReplyBulkCString(c, "port");
    addReplyLongLong(c, n->port);
    addReplyBulkCString(c, "ip");
    addReplyBulkCString(c, n->ip);
    addReplyBulkCString(c, "endpoint");
    addReplyBulkCString(c, cluster_endpoint(n));
    if (n->hostname[0]) {
        addReplyBulkCString(c, "hostname");
        addReplyBulkCString(c, n->hostname);
    }
    addReplyBulkCString(c, "role");
    addReplyBulkCString(c, cl_node_is_master(n) ? "master" : "replica");
    addReplyBulkCString(c, "replication-offset");
    addReplyLongLong(c, (long long)n->repl_offset);
    addReplyBulkCString(c, "health");
    const char *health = "online";
    if (n->flags & CNODE_FAIL) health = "fail";
    else if ((n->flags & CNODE_SLAVE) && n->repl_offset == 0) health = "loading";
    (void)st;
    addReplyBulkCString(c, health);
}

static void clusterShardsCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    int masters = 0;
    for (int i = 0; i < st->nnodes; i++)
        if (cl_node_is_master(st->nodes[i])) masters++;
    addReplyArrayLen(c, masters);
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (!cl_node_is_master(n)) continue;
        addReplyMapLen(c, 2);
        addReplyBulkCString(c, "slots");
        void *len = addReplyDeferredLen(c);
        long items = 0;
        int start = -1;
        for (int s = 0; s <= CLUSTER_SLOTS; s++) {
            int has = s < CLUSTER_SLOTS && st->slots[s] == n;
            if (has && start < 0) start = s;
            if (has || start < 0) continue;
            addReplyLongLong(c, start);
            addReplyLongLong(c, s - 1);
            items += 2;
            start = -1;
        }
        setDeferredArrayLen(c, len, items);
        addReplyBulkCString(c, "nodes");
        int nrep = 0;
        for (int j = 0; j < st->nnodes; j++)
            if (is_replica_of(st->nodes[j], n)) nrep++;
        addReplyArrayLen(c, 1 + nrep);
        reply_shard_node(c, st, n);
        for (int j = 0; j < st->nnodes; j++)
            if (is_replica_of(st->nodes[j], n)) reply_shard_node(c, st, st->nodes[j]);
    }
    cluster_unlock();
}

static void reply_link(client *c, cl_link *l, const char *dir) {
    addReplyMapLen(c, 6);
    addReplyBulkCString(c, "direction");
    addReplyBulkCString(c, dir);
    addReplyBulkCString(c, "node");
    addReplyBulk(c, l->node->name, CBUS_NAMELEN);
    addReplyBulkCString(c, "create-time");
    addReplyLongLong(c, l->ctime);
    addReplyBulkCString(c, "events");
    addReplyBulkCString(c, l->send_buffer_used ? "rw" : "r");
    addReplyBulkCString(c, "send-buffer-allocated");
    addReplyLongLong(c, (long long)l->send_buffer_allocated);
    addReplyBulkCString(c, "send-buffer-used");
    addReplyLongLong(c, (long long)l->send_buffer_used);
}

static void clusterLinksCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    int n = 0;
    for (int i = 0; i < st->nnodes; i++)
        n += (st->nodes[i]->link != NULL) + (st->nodes[i]->inbound_link != NULL);
    addReplyArrayLen(c, n);
    for (int i = 0; i < st->nnodes; i++) {
        if (st->nodes[i]->link) reply_link(c, st->nodes[i]->link, "to");
        if (st->nodes[i]->inbound_link) reply_link(c, st->nodes[i]->inbound_link, "from");
    }
    cluster_unlock();
}

static void clusterKeyslotCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    addReplyLongLong(c, cluster_key_slot(c->argv[2].ptr, c->argv[2].len));
}

static void clusterCountkeysinslotCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    long long slot;
    if (arg_ll_or_reply(c, &c->argv[2], &slot, NULL) < 0) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS) {
        addReplyError(c, "ERR Invalid slot");
        return;
    }
    addReplyLongLong(c, (long long)ks_slot_count(server.db, 0, (unsigned)slot));
}

typedef struct keys_reply {
    char **keys;
    size_t *lens;
    size_t n, cap;
} keys_reply;

static void keys_reply_add(void *ctx, const ks_entry *e) {
    keys_reply *r = ctx;
    if (r->n == r->cap) return;
    size_t klen;
    const char *k = ks_entry_key(e, &klen);
    r->keys[r->n] = malloc(klen ? klen : 1);
    if (!r->keys[r->n]) return;
    memcpy(r->keys[r->n], k, klen);
    r->lens[r->n++] = klen;
}

static void clusterGetkeysinslotCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    long long slot, maxkeys;
    if (arg_ll_or_reply(c, &c->argv[2], &slot, NULL) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[3], &maxkeys, NULL) < 0) return;
    if (slot < 0 || slot >= CLUSTER_SLOTS || maxkeys < 0) {
        addReplyError(c, "ERR Invalid slot or number of keys");
        return;
    }
    uint64_t have = ks_slot_count(server.db, 0, (unsigned)slot);
    size_t want = (uint64_t)maxkeys < have ? (size_t)maxkeys : (size_t)have;
    /* Bounded by the slot's key count: the keys are copied under the
     * shard lock, replied after it. */
    keys_reply r = {.cap = want};
    if (want) {
        r.keys = malloc(want * sizeof(*r.keys));
        r.lens = malloc(want * sizeof(*r.lens));
        if (!r.keys || !r.lens) r.cap = 0;
        else ks_slot_keys(server.db, 0, (unsigned)slot, want, keys_reply_add, &r);
    }
    addReplyArrayLen(c, (long long)r.n);
    for (size_t i = 0; i < r.n; i++) {
        addReplyBulk(c, r.keys[i], r.lens[i]);
        free(r.keys[i]);
    }
    free(r.keys);
    free(r.lens);
}

static void clusterCountFailureReportsCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    cl_node *n = lookup_arg(st, &c->argv[2]);
    if (!n) {
        cluster_unlock();
        addReplyErrorFormat(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    int r = cl_fail_reports(st, n);
    cluster_unlock();
    addReplyLongLong(c, r);
}

static void clusterReplicasCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    cl_node *n = lookup_arg(st, &c->argv[2]);
    if (!n) {
        cluster_unlock();
        addReplyErrorFormat(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    if (!cl_node_is_master(n)) {
        cluster_unlock();
        addReplyError(c, "ERR The specified node is not a master");
        return;
    }
    int cnt = 0;
    for (int i = 0; i < st->nnodes; i++)
        if (is_replica_of(st->nodes[i], n)) cnt++;
    addReplyArrayLen(c, cnt);
    for (int i = 0; i < st->nnodes; i++) {
        if (!is_replica_of(st->nodes[i], n)) continue;
        lt_strbuf t = {0};
        cl_describe_node(st, st->nodes[i], &t);
        addReplyBulk(c, t.p, t.len - 1); /* without the newline */
        lt_strbuf_free(&t);
    }
    cluster_unlock();
}

/* ---- Changes ------------------------------------------------------------------- */

/* Replies OK, or the nodes.conf write error. With the lock held; unlocks. */
static void commit_and_reply(client *c) {
    int rc = cluster_commit_change();
    int err = errno;
    cluster_unlock();
    if (rc != 0) {
        serverLog(LL_WARNING, "Could not save the cluster configuration: %s", strerror(err));
        addReplyErrorFormat(c, "ERR error saving the cluster node config: %s", strerror(err));
        return;
    }
    addReplyOK(c);
}

static void clusterMeetCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    if (c->argc != 4 && c->argc != 5) {
        reply_subcommand_syntax(c);
        return;
    }
    long long port, cport;
    if (!lt_string2ll(c->argv[3].ptr, c->argv[3].len, &port)) {
        addReplyErrorFormat(c, "ERR Invalid TCP base port specified: %.*s", (int)c->argv[3].len,
                            c->argv[3].ptr);
        return;
    }
    if (c->argc == 5) {
        if (!lt_string2ll(c->argv[4].ptr, c->argv[4].len, &cport)) {
            addReplyErrorFormat(c, "ERR Invalid TCP bus port specified: %.*s",
                                (int)c->argv[4].len, c->argv[4].ptr);
            return;
        }
    } else {
        cport = port + 10000;
    }
    char ip[CBUS_IPLEN + 1];
    snprintf(ip, sizeof(ip), "%.*s", (int)(c->argv[2].len < CBUS_IPLEN ? c->argv[2].len : CBUS_IPLEN),
             c->argv[2].ptr);
    int ok_port = port > 0 && port <= 65535 && cport > 0 && cport <= 65535;
    cl_state *st = cluster_lock();
    int rc = ok_port && c->argv[2].len <= CBUS_IPLEN ? cl_start_handshake(st, ip, (int)port, (int)cport) : -1;
    int err = ok_port && c->argv[2].len <= CBUS_IPLEN ? errno : EINVAL;
    if (rc != 0 && err == EINVAL) {
        cluster_unlock();
        addReplyErrorFormat(c, "ERR Invalid node address specified: %.*s:%.*s",
                            (int)c->argv[2].len, c->argv[2].ptr, (int)c->argv[3].len,
                            c->argv[3].ptr);
        return;
    }
    if (rc != 0 && err == ENOSPC) {
        cluster_unlock();
        addReplyError(c, "ERR Too many nodes known to this node");
        return;
    }
    /* Already in handshake with that address (EAGAIN) is fine: Redis says OK. */
    commit_and_reply(c);
}

/* ADDSLOTS / DELSLOTS / ...RANGE: every argument checked before anything
 * changes (Redis's checkSlotAssignmentsOrReply). */
static int check_slots(client *c, cl_state *st, unsigned char *seen, int del, int a, int b) {
    for (int s = a; s <= b; s++) {
        if (del && st->slots[s] == NULL) {
            addReplyErrorFormat(c, "ERR Slot %d is already unassigned", s);
            return -1;
        }
        if (!del && st->slots[s]) {
            addReplyErrorFormat(c, "ERR Slot %d is already busy", s);
            return -1;
        }
        if (seen[s]++ == 1) {
            addReplyErrorFormat(c, "ERR Slot %d specified multiple times", s);
            return -1;
        }
    }
    return 0;
}

static void apply_slots(cl_state *st, const unsigned char *seen, int del) {
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++) {
        if (!seen[s]) continue;
        if (del) {
            cl_del_slot(st, s);
        } else {
            st->importing_from[s] = NULL;
            cl_add_slot(st, st->myself, s);
        }
    }
}

static void slots_generic(client *c, int del, int range) {
    if (!cluster_enabled_or_reply(c)) return;
    if (range && c->argc % 2 == 1) {
        addReplyErrorArity(c);
        return;
    }
    int step = range ? 2 : 1;
    /* Parse everything first (the replies for a bad argument come before
     * any check of the state). */
    if (!range) {
        for (int j = 2; j < c->argc; j++)
            if (slot_or_reply(c, &c->argv[j]) < 0) return;
    }
    unsigned char *seen = calloc(CLUSTER_SLOTS, 1);
    if (!seen) {
        addReplyError(c, "ERR out of memory");
        return;
    }
    cl_state *st = cluster_lock();
    for (int j = 2; j < c->argc; j += step) {
        int a = slot_or_reply(c, &c->argv[j]), b = a;
        if (a < 0) goto fail;
        if (range) {
            b = slot_or_reply(c, &c->argv[j + 1]);
            if (b < 0) goto fail;
            if (a > b) {
                addReplyErrorFormat(c, "ERR start slot number %d is greater than end slot number %d",
                                    a, b);
                goto fail;
            }
        }
        if (check_slots(c, st, seen, del, a, b) < 0) goto fail;
    }
    apply_slots(st, seen, del);
    free(seen);
    commit_and_reply(c);
    return;
fail:
    cluster_unlock();
    free(seen);
}

static void clusterAddslotsCommand(client *c) { slots_generic(c, 0, 0); }
static void clusterDelslotsCommand(client *c) { slots_generic(c, 1, 0); }
static void clusterAddslotsrangeCommand(client *c) { slots_generic(c, 0, 1); }
static void clusterDelslotsrangeCommand(client *c) { slots_generic(c, 1, 1); }

static void clusterFlushslotsCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    if (ks_db_size(server.db, 0) != 0) {
        addReplyError(c, "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    cl_state *st = cluster_lock();
    for (unsigned s = 0; s < CLUSTER_SLOTS; s++)
        if (st->slots[s] == st->myself) cl_del_slot(st, s);
    commit_and_reply(c);
}

static void clusterSetslotCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    int slot = slot_or_reply(c, &c->argv[2]);
    if (slot < 0) return;
    const resp_arg *action = &c->argv[3];
    cl_state *st = cluster_lock();
    cl_node *n = NULL;
    if (arg_is(action, "migrating") && c->argc == 5) {
        if (st->slots[slot] != st->myself) {
            cluster_unlock();
            addReplyErrorFormat(c, "ERR I'm not the owner of hash slot %u", slot);
            return;
        }
        n = lookup_arg(st, &c->argv[4]);
        if (!n) {
            cluster_unlock();
            addReplyErrorFormat(c, "ERR I don't know about node %.*s", (int)c->argv[4].len,
                                c->argv[4].ptr);
            return;
        }
        if (!cl_node_is_master(n)) {
            cluster_unlock();
            addReplyError(c, "ERR Target node is not a master");
            return;
        }
        st->migrating_to[slot] = n;
        st->todo_save = 1;
    } else if (arg_is(action, "importing") && c->argc == 5) {
        if (st->slots[slot] == st->myself) {
            cluster_unlock();
            addReplyErrorFormat(c, "ERR I'm already the owner of hash slot %u", slot);
            return;
        }
        n = lookup_arg(st, &c->argv[4]);
        if (!n) {
            cluster_unlock();
            addReplyErrorFormat(c, "ERR I don't know about node %.*s", (int)c->argv[4].len,
                                c->argv[4].ptr);
            return;
        }
        if (!cl_node_is_master(n)) {
            cluster_unlock();
            addReplyError(c, "ERR Target node is not a master");
            return;
        }
        st->importing_from[slot] = n;
        st->todo_save = 1;
    } else if (arg_is(action, "stable") && c->argc == 4) {
        st->importing_from[slot] = NULL;
        st->migrating_to[slot] = NULL;
        st->todo_save = 1;
    } else if (arg_is(action, "node") && c->argc == 5) {
        n = lookup_arg(st, &c->argv[4]);
        if (!n) {
            cluster_unlock();
            addReplyErrorFormat(c, "ERR Unknown node %.*s", (int)c->argv[4].len, c->argv[4].ptr);
            return;
        }
        if (!cl_node_is_master(n)) {
            cluster_unlock();
            addReplyError(c, "ERR Target node is not a master");
            return;
        }
        uint64_t keys = ks_slot_count(server.db, 0, (unsigned)slot);
        if (st->slots[slot] == st->myself && n != st->myself && keys != 0) {
            cluster_unlock();
            addReplyErrorFormat(c,
                                "ERR Can't assign hashslot %d to a different node while I still "
                                "hold keys for this hash slot.",
                                slot);
            return;
        }
        if (keys == 0 && st->migrating_to[slot]) st->migrating_to[slot] = NULL;
        cl_del_slot(st, (unsigned)slot);
        cl_add_slot(st, n, (unsigned)slot);
        /* Redis turns a master left without slots into a replica of the
         * new owner here (cluster-allow-replica-migration); without
         * replication this node stays an empty master (docs/CLUSTER.md). */
        if (n == st->myself && st->importing_from[slot]) {
            if (cl_bump_epoch(st))
                serverLog(LL_WARNING, "configEpoch updated after importing slot %d", slot);
            st->importing_from[slot] = NULL;
            cl_broadcast_pong(st);
        }
    } else {
        cluster_unlock();
        addReplyError(c, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
        return;
    }
    st->state_dirty = 1;
    commit_and_reply(c);
}

static void clusterBumpepochCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    int bumped = cl_bump_epoch(st);
    unsigned long long e = st->myself->config_epoch;
    cluster_commit_change();
    cluster_unlock();
    char buf[64];
    snprintf(buf, sizeof(buf), "%s %llu", bumped ? "BUMPED" : "STILL", e);
    addReplyStatus(c, buf);
}

static void clusterSetConfigEpochCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    long long epoch;
    if (arg_ll_or_reply(c, &c->argv[2], &epoch, NULL) < 0) return;
    if (epoch < 0) {
        addReplyErrorFormat(c, "ERR Invalid config epoch specified: %lld", epoch);
        return;
    }
    cl_state *st = cluster_lock();
    if (st->nnodes > 1) {
        cluster_unlock();
        addReplyError(c, "ERR The user can assign a config epoch only when the node does not know "
                         "any other node.");
        return;
    }
    if (st->myself->config_epoch != 0) {
        cluster_unlock();
        addReplyError(c, "ERR Node config epoch is already non-zero");
        return;
    }
    st->myself->config_epoch = (uint64_t)epoch;
    serverLog(LL_WARNING, "configEpoch set to %llu via CLUSTER SET-CONFIG-EPOCH",
              (unsigned long long)epoch);
    if (st->current_epoch < (uint64_t)epoch) st->current_epoch = (uint64_t)epoch;
    st->todo_save = 1;
    st->state_dirty = 1;
    commit_and_reply(c);
}

static void clusterForgetCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    cl_node *n = lookup_arg(st, &c->argv[2]);
    if (!n) {
        cluster_unlock();
        addReplyErrorFormat(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    if (n == st->myself) {
        cluster_unlock();
        addReplyError(c, "ERR I tried hard but I can't forget myself...");
        return;
    }
    if (cl_master_of(st, st->myself) == n) {
        cluster_unlock();
        addReplyError(c, "ERR Can't forget my master!");
        return;
    }
    cl_forget(st, n);
    commit_and_reply(c);
}

static void clusterResetCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    int hard = 0;
    if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(&c->argv[2], "hard")) hard = 1;
        else if (!arg_is(&c->argv[2], "soft")) {
            addReplyErrorSyntax(c);
            return;
        }
    }
    cl_state *st = cluster_lock();
    int replica = (st->myself->flags & CNODE_SLAVE) != 0;
    cluster_unlock();
    if (!replica && ks_db_size(server.db, (unsigned)c->db) != 0) {
        addReplyError(c, "ERR CLUSTER RESET can't be called with master nodes containing keys");
        return;
    }
    st = cluster_lock();
    cl_reset(st, hard);
    int rc = cluster_commit_change();
    int e = errno;
    cluster_unlock();
    cluster_replica_follow(); /* a replica stops replicating */
    if (replica) {
        /* A replica's data was its master's: gone, as Redis's emptyData
         * (logged as FLUSHALL). */
        static const char *const flushall[] = {"FLUSHALL"};
        ks_txn txn;
        ks_txn_begin_all(&txn, server.db);
        for (int db = 0; db < server.databases; db++) ks_flush_db(&txn, (unsigned)db);
        persist_rewrite_strs(c, 1, flushall);
        ks_txn_commit(&txn);
        tracking_invalidate_all();
    }
    if (rc != 0) {
        serverLog(LL_WARNING, "Could not save the cluster configuration: %s", strerror(e));
        addReplyErrorFormat(c, "ERR error saving the cluster node config: %s", strerror(e));
        return;
    }
    addReplyOK(c);
}

static void clusterSaveconfigCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    cl_state *st = cluster_lock();
    st->todo_save = 1;
    commit_and_reply(c);
}

/* CLUSTER REPLICATE <node-id>: this (empty) node replicates that master. */
static void clusterReplicateCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    int empty = ks_db_size(server.db, 0) == 0;
    cl_state *st = cluster_lock();
    cl_node *n = lookup_arg(st, &c->argv[2]);
    const char *err = NULL;
    if (!n) {
        cluster_unlock();
        addReplyErrorFormat(c, "ERR Unknown node %.*s", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    if (n == st->myself) err = "ERR Can't replicate myself";
    else if (n->flags & CNODE_SLAVE) err = "ERR I can only replicate a master, not a replica.";
    else if (cl_node_is_master(st->myself) && (st->myself->numslots != 0 || !empty))
        err = "ERR To set a master the node must be empty and without assigned slots.";
    if (err) {
        cluster_unlock();
        addReplyError(c, err);
        return;
    }
    cl_set_master(st, n);
    int rc = cluster_commit_change();
    int e = errno;
    cluster_unlock();
    cluster_replica_follow();
    if (rc != 0) {
        addReplyErrorFormat(c, "ERR error saving the cluster node config: %s", strerror(e));
        return;
    }
    addReplyOK(c);
}

/* CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica. */
static void clusterFailoverCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    int force = 0, takeover = 0;
    if (c->argc == 3) {
        if (arg_is(&c->argv[2], "force")) {
            force = 1;
        } else if (arg_is(&c->argv[2], "takeover")) {
            takeover = 1;
            force = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    } else if (c->argc > 3) {
        reply_subcommand_syntax(c);
        return;
    }
    cl_state *st = cluster_lock();
    cl_node *master = cl_master_of(st, st->myself);
    const char *err = NULL;
    if (cl_node_is_master(st->myself)) err = "ERR You should send CLUSTER FAILOVER to a replica";
    else if (!master) err = "ERR I'm a replica but my master is unknown to me";
    else if (!force && ((master->flags & CNODE_FAIL) || !master->link))
        err = "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE";
    if (err) {
        cluster_unlock();
        addReplyError(c, err);
        return;
    }
    cl_manual_failover_start(st, force, takeover);
    int rc = cluster_commit_change();
    int e = errno;
    cluster_unlock();
    cluster_replica_follow();
    if (rc != 0) {
        addReplyErrorFormat(c, "ERR error saving the cluster node config: %s", strerror(e));
        return;
    }
    addReplyOK(c);
}

/* ---- Connection commands ------------------------------------------------------------ */

static void askingCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    c->flags |= CLIENT_ASKING;
    addReplyOK(c);
}

static void readonlyCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    c->flags |= CLIENT_READONLY;
    addReplyOK(c);
}

static void readwriteCommand(client *c) {
    if (!cluster_enabled_or_reply(c)) return;
    c->flags &= ~CLIENT_READONLY;
    addReplyOK(c);
}

int cluster_is_asking_command(const command *cmd) { return cmd->proc == askingCommand; }

/* ---- Table -------------------------------------------------------------------------- */

#define CL_ADMIN (CMD_ADMIN | CMD_STALE | CMD_NO_ASYNC_LOADING)
#define CL_ACL_ADMIN (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)

static command cluster_subcommands[] = {
    {.name = "addslots", .proc = clusterAddslotsCommand, .arity = -3, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the total number of hash slot arguments",
     .summary = "Assigns new hash slots to this node."},
    {.name = "addslotsrange", .proc = clusterAddslotsrangeCommand, .arity = -4, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "7.0.0",
     .complexity = "O(N) where N is the total number of the slots between the start slot and end slot arguments.",
     .summary = "Assigns ranges of hash slots to this node."},
    {.name = "bumpepoch", .proc = clusterBumpepochCommand, .arity = 2, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Gives this node a new, greatest config epoch."},
    {.name = "count-failure-reports", .proc = clusterCountFailureReportsCommand, .arity = 3,
     .flags = CMD_ADMIN | CMD_STALE, .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the number of failure reports",
     .tips = "nondeterministic_output",
     .summary = "Counts the live failure reports about a node."},
    {.name = "countkeysinslot", .proc = clusterCountkeysinslotCommand, .arity = 3,
     .flags = CMD_STALE, .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "O(1)", .summary = "Counts the keys of a hash slot."},
    {.name = "delslots", .proc = clusterDelslotsCommand, .arity = -3, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the total number of hash slot arguments",
     .summary = "Unassigns hash slots."},
    {.name = "delslotsrange", .proc = clusterDelslotsrangeCommand, .arity = -4, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "7.0.0",
     .complexity = "O(N) where N is the total number of the slots between the start slot and end slot arguments.",
     .summary = "Unassigns ranges of hash slots."},
    {.name = "failover", .proc = clusterFailoverCommand, .arity = -2, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Forces a replica to perform a manual failover of its master."},
    {.name = "flushslots", .proc = clusterFlushslotsCommand, .arity = 2, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Unassigns every hash slot of this node (its database must be empty)."},
    {.name = "forget", .proc = clusterForgetCommand, .arity = 3, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Removes a node from this node's view, for a minute."},
    {.name = "getkeysinslot", .proc = clusterGetkeysinslotCommand, .arity = 4,
     .flags = CMD_STALE, .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "O(log(N)) where N is the number of requested keys",
     .tips = "nondeterministic_output", .scope = CMD_SCOPE_DB,
     .summary = "Returns key names of a hash slot."},
    {.name = "help", .proc = clusterHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "5.0.0", .complexity = "O(1)",
     .summary = "Lists the CLUSTER subcommands."},
    {.name = "info", .proc = clusterInfoCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Describes the cluster's state as this node sees it."},
    {.name = "keyslot", .proc = clusterKeyslotCommand, .arity = 3, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the number of bytes in the key",
     .summary = "Returns the hash slot of a key."},
    {.name = "links", .proc = clusterLinksCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "7.0.0",
     .complexity = "O(N) where N is the total number of Cluster nodes",
     .tips = "nondeterministic_output",
     .summary = "Lists this node's cluster bus links."},
    {.name = "meet", .proc = clusterMeetCommand, .arity = -4, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Makes this node meet another one (joins clusters)."},
    {.name = "myid", .proc = clusterMyidCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Returns this node's id."},
    {.name = "nodes", .proc = clusterNodesCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the total number of Cluster nodes",
     .tips = "nondeterministic_output",
     .summary = "Returns the cluster configuration as this node sees it."},
    {.name = "replicas", .proc = clusterReplicasCommand, .arity = 3,
     .flags = CMD_ADMIN | CMD_STALE, .acl = CL_ACL_ADMIN, .group = "cluster", .since = "5.0.0",
     .complexity = "O(1)", .tips = "nondeterministic_output",
     .summary = "Lists the replicas of a master."},
    {.name = "replicate", .proc = clusterReplicateCommand, .arity = 3, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Reconfigure a node as a replica of the specified master node"},
    {.name = "reset", .proc = clusterResetCommand, .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE, .acl = CL_ACL_ADMIN, .group = "cluster",
     .since = "3.0.0",
     .complexity = "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.",
     .summary = "Forgets every other node and slot (HARD: a new id and epochs too)."},
    {.name = "saveconfig", .proc = clusterSaveconfigCommand, .arity = 2, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Writes nodes.conf now."},
    {.name = "set-config-epoch", .proc = clusterSetConfigEpochCommand, .arity = 3,
     .flags = CL_ADMIN, .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0",
     .complexity = "O(1)", .summary = "Sets the config epoch of a new node."},
    {.name = "setslot", .proc = clusterSetslotCommand, .arity = -4, .flags = CL_ADMIN,
     .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Marks a hash slot importing, migrating, stable, or owned by a node."},
    {.name = "shards", .proc = clusterShardsCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "7.0.0",
     .complexity = "O(N) where N is the total number of cluster nodes",
     .tips = "nondeterministic_output",
     .summary = "Returns the shards: slot ranges and their nodes."},
    {.name = "slaves", .proc = clusterReplicasCommand, .arity = 3,
     .flags = CMD_ADMIN | CMD_STALE, .acl = CL_ACL_ADMIN, .group = "cluster", .since = "3.0.0",
     .complexity = "O(1)", .tips = "nondeterministic_output",
     .summary = "Lists the replicas of a master (old name of REPLICAS)."},
    {.name = "slots", .proc = clusterSlotsCommand, .arity = 2, .flags = CMD_STALE,
     .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "O(N) where N is the total number of Cluster nodes",
     .tips = "nondeterministic_output",
     .summary = "Returns the slot ranges and the nodes serving them."},
    {0},
};

command cluster_commands[] = {
    {.name = "cluster", .arity = -2, .acl = ACL_SLOW, .group = "cluster", .since = "3.0.0",
     .complexity = "Depends on subcommand.", .subcommands = cluster_subcommands,
     .summary = "A container for Redis Cluster commands."},
    {.name = "asking", .proc = askingCommand, .arity = 1, .flags = CMD_FAST,
     .acl = ACL_FAST | ACL_CONNECTION, .group = "cluster", .since = "3.0.0",
     .complexity = "O(1)",
     .summary = "Lets the next command touch a slot being imported (after -ASK)."},
    {.name = "readonly", .proc = readonlyCommand, .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST, .acl = ACL_FAST | ACL_CONNECTION,
     .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Allows reads from a replica on this connection."},
    {.name = "readwrite", .proc = readwriteCommand, .arity = 1,
     .flags = CMD_LOADING | CMD_STALE | CMD_FAST, .acl = ACL_FAST | ACL_CONNECTION,
     .group = "cluster", .since = "3.0.0", .complexity = "O(1)",
     .summary = "Ends READONLY on this connection."},
    {0},
};
