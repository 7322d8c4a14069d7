/*
 * cmd_memory: the MEMORY command family as Redis 7.0.15 replies it.
 *
 *  USAGE key [SAMPLES n]  the key's bytes (ks_entry_memory_usage; the
 *                         engine measures collections fully, so SAMPLES is
 *                         validated as Redis does and otherwise ignored)
 *  STATS                  Redis's map, same fields in the same order, from
 *                         server/memory.h's breakdown (real figures:
 *                         jemalloc's stats, client buffers, WAL buffers as
 *                         aof.buffer, the keyspace's tables per database)
 *  DOCTOR                 Redis's report texts for what it diagnoses
 *  MALLOC-STATS           jemalloc's malloc_stats_print text
 *  PURGE                  jemalloc's arena purge of all arenas
 *
 * Without jemalloc (sanitizer builds) MALLOC-STATS and PURGE answer as
 * Redis built with another allocator does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/txn.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/engine_glue.h"
#include "server/memory.h"
#include "server/net/reply.h"
#include "server/server.h"

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                        const char *opts) __attribute__((weak));

/* MEMORY USAGE key [SAMPLES count] */
static void memoryUsageCommand(client *c) {
    for (int j = 3; j < c->argc; j++) {
        long long samples;
        if (arg_is(&c->argv[j], "samples") && j + 1 < c->argc) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &samples, NULL) < 0) return;
            if (samples < 0) {
                addReplyErrorSyntax(c);
                return;
            }
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[2].ptr, c->argv[2].len,
                            KS_LOOKUP_NOTOUCH);
    if (e) addReplyLongLong(c, (long long)ks_entry_memory_usage(e));
    else addReplyNull(c);
    ks_txn_commit(&txn);
}

static void reply_field(client *c, const char *name, long long v) {
    addReplyBulkCString(c, name);
    addReplyLongLong(c, v);
}

static void reply_dfield(client *c, const char *name, float v) {
    addReplyBulkCString(c, name);
    addReplyDouble(c, (double)v);
}

static void memoryStatsCommand(client *c) {
    mem_report m;
    mem_report_get(&m);
    addReplyMapLen(c, 27 + (long long)m.ndb);
    reply_field(c, "peak.allocated", (long long)m.peak_allocated);
    reply_field(c, "total.allocated", (long long)m.total_allocated);
    reply_field(c, "startup.allocated", (long long)m.startup_allocated);
    reply_field(c, "replication.backlog", (long long)m.repl_backlog);
    reply_field(c, "clients.slaves", (long long)m.clients_slaves);
    reply_field(c, "clients.normal", (long long)m.clients_normal);
    reply_field(c, "cluster.links", (long long)m.cluster_links);
    reply_field(c, "aof.buffer", (long long)m.aof_buffer);
    reply_field(c, "lua.caches", (long long)m.lua_caches);
    reply_field(c, "functions.caches", (long long)m.functions_caches);
    for (unsigned j = 0; j < m.ndb; j++) {
        char name[32];
        snprintf(name, sizeof(name), "db.%u", m.db[j].dbid);
        addReplyBulkCString(c, name);
        addReplyMapLen(c, 3);
        reply_field(c, "overhead.hashtable.main", (long long)m.db[j].ht_main);
        reply_field(c, "overhead.hashtable.expires", (long long)m.db[j].ht_expires);
        /* Slot-to-keys: a slot's keys live together in one shard and are
         * counted in place (keyspace_int.h), no separate index. */
        reply_field(c, "overhead.hashtable.slot-to-keys", 0);
    }
    reply_field(c, "overhead.total", (long long)m.overhead_total);
    reply_field(c, "keys.count", (long long)m.total_keys);
    reply_field(c, "keys.bytes-per-key", (long long)m.bytes_per_key);
    reply_field(c, "dataset.bytes", (long long)m.dataset);
    reply_dfield(c, "dataset.percentage", m.dataset_perc);
    reply_dfield(c, "peak.percentage", m.peak_perc);
    reply_field(c, "allocator.allocated", (long long)m.allocator_allocated);
    reply_field(c, "allocator.active", (long long)m.allocator_active);
    reply_field(c, "allocator.resident", (long long)m.allocator_resident);
    reply_dfield(c, "allocator-fragmentation.ratio", m.allocator_frag);
    reply_field(c, "allocator-fragmentation.bytes", m.allocator_frag_bytes);
    reply_dfield(c, "allocator-rss.ratio", m.allocator_rss);
    reply_field(c, "allocator-rss.bytes", m.allocator_rss_bytes);
    reply_dfield(c, "rss-overhead.ratio", m.rss_extra);
    reply_field(c, "rss-overhead.bytes", m.rss_extra_bytes);
    /* The total RSS overhead, fragmentation included (Redis keeps the
     * name for backwards compatibility). */
    reply_dfield(c, "fragmentation", m.total_frag);
    reply_field(c, "fragmentation.bytes", m.total_frag_bytes);
    mem_report_free(&m);
}

static void memoryDoctorCommand(client *c) {
    char *report = mem_doctor_report();
    addReplyVerbatim(c, report, strlen(report), "txt");
    free(report);
}

/* malloc_stats_print's output, gathered in a growing buffer (the text is
 * a few tens of KiB; it is bounded by the allocator's arenas and bins). */
static void stats_append(void *opaque, const char *s) { lt_strbuf_appends(opaque, s); }

static void memoryMallocStatsCommand(client *c) {
    if (!malloc_stats_print) {
        static const char msg[] = "Stats not supported for the current allocator";
        addReplyVerbatim(c, msg, sizeof(msg) - 1, "txt");
        return;
    }
    lt_strbuf t = {0};
    malloc_stats_print(stats_append, &t, NULL);
    addReplyVerbatim(c, t.p ? t.p : "", t.len, "txt");
    free(t.p);
}

/* Redis's MEMORY PURGE: "arena.<narenas>.purge" is jemalloc's name for
 * every arena at once (MALLCTL_ARENAS_ALL). */
static void memoryPurgeCommand(client *c) {
    if (!mallctl) {
        addReplyOK(c); /* nothing to do for other allocators */
        return;
    }
    unsigned narenas = 0;
    size_t sz = sizeof(narenas);
    if (!mallctl("arenas.narenas", &narenas, &sz, NULL, 0)) {
        char name[32];
        snprintf(name, sizeof(name), "arena.%u.purge", narenas);
        if (!mallctl(name, NULL, 0, NULL, 0)) {
            mem_used_now();
            addReplyOK(c);
            return;
        }
    }
    addReplyError(c, "ERR Error purging dirty pages");
}

static void memoryHelpCommand(client *c) {
    static const char *help[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        NULL,
    };
    addReplyHelp(c, help);
}

#define ALL_SHARDS_SPECIAL "nondeterministic_output request_policy:all_shards response_policy:special"

static command memory_subcommands[] = {
    {.name = "doctor", .proc = memoryDoctorCommand, .arity = 2, .acl = ACL_SLOW,
     .group = "server", .since = "4.0.0", .complexity = "O(1)", .tips = ALL_SHARDS_SPECIAL,
     .summary = "Reports memory problems and how to address them."},
    {.name = "help", .proc = memoryHelpCommand, .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_SLOW, .group = "server", .since = "4.0.0", .complexity = "O(1)",
     .summary = "Lists the MEMORY subcommands."},
    {.name = "malloc-stats", .proc = memoryMallocStatsCommand, .arity = 2, .acl = ACL_SLOW,
     .group = "server", .since = "4.0.0",
     .complexity = "Depends on how much memory is allocated, could be slow",
     .tips = ALL_SHARDS_SPECIAL, .summary = "Returns the allocator's internal statistics."},
    {.name = "purge", .proc = memoryPurgeCommand, .arity = 2, .acl = ACL_SLOW, .group = "server",
     .since = "4.0.0", .complexity = "Depends on how much memory is allocated, could be slow",
     .tips = "request_policy:all_shards response_policy:all_succeeded",
     .summary = "Asks the allocator to return unused memory to the system."},
    {.name = "stats", .proc = memoryStatsCommand, .arity = 2, .acl = ACL_SLOW, .group = "server",
     .since = "4.0.0", .complexity = "O(1)", .tips = ALL_SHARDS_SPECIAL,
     .summary = "Returns details of the server's memory usage."},
    {.name = "usage", .proc = memoryUsageCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SLOW, .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO",
     .group = "server", .since = "4.0.0", .complexity = "O(N)",
     .summary = "Estimates the bytes a key and its value use."},
    {0},
};

command memory_commands[] = {
    {.name = "memory", .arity = -2, .acl = ACL_SLOW, .group = "server", .since = "4.0.0",
     .complexity = "Depends on subcommand.", .summary = "Memory introspection.",
     .subcommands = memory_subcommands},
    {0},
};
