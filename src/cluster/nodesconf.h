/*
 * nodesconf.h — the text forms of a cluster state: CLUSTER NODES lines and
 * the nodes.conf file (cluster-config-file), in Redis 7.0's format.
 *
 * One line per node:
 *   <name> <ip>:<port>@<cport>[,<hostname>] <flags> <master-name|-> <ping_sent>
 *   <pong_received> <config_epoch> <connected|disconnected> [<slot>|<a>-<b>]...
 *   [[<slot>->-<name>] (migrating, myself)] [[<slot>-<-<name>] (importing)]
 * flags: comma-separated myself, master, slave, fail?, fail, handshake,
 * noaddr, nofailover, or "noflags". nodes.conf has every node but those in
 * handshake, then "vars currentEpoch <n> lastVoteEpoch <n>".
 *
 * nodes.conf is written to "<file>.tmp-<pid>" and renamed over the file: a
 * crash of the process leaves the old or the new file, whole. When the
 * epochs (currentEpoch, lastVoteEpoch, myself's config epoch) changed since
 * the last fsync'd save, the temp file and then the directory are fsync'd
 * too, so those survive a power loss; other changes (slot moves, addresses)
 * are not fsync'd, as Redis saves them, and are re-learnt from the cluster. Loading rejects a file that does not parse (the server then refuses
 * to start, as Redis does), and a file without a "myself" line.
 */
#ifndef LT_CLUSTER_NODESCONF_H
#define LT_CLUSTER_NODESCONF_H

#include <stddef.h>

#include "cluster/state.h"
#include "common/strbuf.h"

/* Appends n's line (with '\n'). for_conf: the nodes.conf form (same line). */
void cl_describe_node(cl_state *st, cl_node *n, lt_strbuf *t);
/* CLUSTER NODES (every node), or nodes.conf (handshake nodes left out,
 * vars line added). */
void cl_describe_all(cl_state *st, lt_strbuf *t, int for_conf);

/* Replaces st's nodes and slots with the ones text describes (st must be
 * fresh: only myself). 0, or -1 with a message in err. */
int cl_conf_parse(cl_state *st, const char *text, size_t len, char *err, size_t errcap);
/* Loads path into st: 0 loaded, 1 no such file (st unchanged), -1 error. */
int cl_conf_load(cl_state *st, const char *path, char *err, size_t errcap);
/* Writes st to path: when the epochs changed since the last synced save,
 * a temp file fsync'd and renamed over it (then the directory fsync'd);
 * otherwise rewritten in place without fsync, padded so that it loads at
 * every point. 0 or -1 (errno). */
int cl_conf_save(cl_state *st, const char *path);

/* "myself,master" ... for n's flags, into out. */
void cl_flags_string(int flags, char *out, size_t cap);

#endif
