/*
 * metrics: HTTP recognition and the Prometheus exposition (see metrics.h).
 */
#include "server/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "cluster/cluster.h"
#include "cluster/state.h"
#include "server/cmd/commands.h"
#include "server/latency.h"
#include "server/net/event.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/persist/persist.h"
#include "server/slowlog.h"
#include "server/persist/save.h"
#include "server/server.h"

/* INFO field -> metric. scale multiplies the value (ms -> s ...). */
typedef struct metric_map {
    const char *field;
    const char *name;
    const char *type; /* "gauge" or "counter" */
    double scale;
    const char *help;
} metric_map;

static const metric_map info_metrics[] = {
    {"uptime_in_seconds", "redis_uptime_in_seconds", "gauge", 1, "Seconds since the server started."},
    {"process_id", "redis_process_id", "gauge", 1, "Process id."},
    {"io_threads_active", "redis_io_threads_active", "gauge", 1, "Whether more than one I/O thread runs."},
    {"connected_clients", "redis_connected_clients", "gauge", 1, "Connected clients."},
    {"blocked_clients", "redis_blocked_clients", "gauge", 1, "Clients in a blocking command or held by CLIENT PAUSE."},
    {"tracking_clients", "redis_tracking_clients", "gauge", 1, "Clients with tracking on."},
    {"clients_in_timeout_table", "redis_clients_in_timeout_table", "gauge", 1, "Blocked clients with a timeout."},
    {"maxclients", "redis_max_clients", "gauge", 1, "maxclients setting."},
    {"client_recent_max_input_buffer", "redis_client_recent_max_input_buffer_bytes", "gauge", 1, "Largest client query buffer."},
    {"client_recent_max_output_buffer", "redis_client_recent_max_output_buffer_bytes", "gauge", 1, "Largest client output buffer."},
    {"used_memory", "redis_memory_used_bytes", "gauge", 1, "Bytes allocated."},
    {"used_memory_rss", "redis_memory_used_rss_bytes", "gauge", 1, "Resident set size."},
    {"used_memory_peak", "redis_memory_used_peak_bytes", "gauge", 1, "Peak of used_memory."},
    {"used_memory_overhead", "redis_memory_used_overhead_bytes", "gauge", 1, "Memory not used by the dataset."},
    {"used_memory_startup", "redis_memory_used_startup_bytes", "gauge", 1, "Memory used at start-up."},
    {"used_memory_dataset", "redis_memory_used_dataset_bytes", "gauge", 1, "Memory used by the dataset."},
    {"maxmemory", "redis_memory_max_bytes", "gauge", 1, "maxmemory setting."},
    {"total_system_memory", "redis_total_system_memory_bytes", "gauge", 1, "Memory of the machine."},
    {"allocator_allocated", "redis_allocator_allocated_bytes", "gauge", 1, "jemalloc stats.allocated."},
    {"allocator_active", "redis_allocator_active_bytes", "gauge", 1, "jemalloc stats.active."},
    {"allocator_resident", "redis_allocator_resident_bytes", "gauge", 1, "jemalloc stats.resident."},
    {"allocator_frag_ratio", "redis_allocator_frag_ratio", "gauge", 1, "allocator active / allocated."},
    {"allocator_frag_bytes", "redis_allocator_frag_bytes", "gauge", 1, "allocator active - allocated."},
    {"allocator_rss_ratio", "redis_allocator_rss_ratio", "gauge", 1, "allocator resident / active."},
    {"allocator_rss_bytes", "redis_allocator_rss_bytes", "gauge", 1, "allocator resident - active."},
    {"rss_overhead_ratio", "redis_rss_overhead_ratio", "gauge", 1, "rss / allocator resident."},
    {"rss_overhead_bytes", "redis_rss_overhead_bytes", "gauge", 1, "rss - allocator resident."},
    {"mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", "gauge", 1, "rss / used_memory."},
    {"mem_fragmentation_bytes", "redis_mem_fragmentation_bytes", "gauge", 1, "rss - used_memory."},
    {"loading", "redis_loading_dump_file", "gauge", 1, "Whether data is being loaded."},
    {"rdb_changes_since_last_save", "redis_rdb_changes_since_last_save", "gauge", 1, "Changes since the last snapshot."},
    {"rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", "gauge", 1, "Whether a snapshot is being written."},
    {"rdb_last_save_time", "redis_rdb_last_save_timestamp_seconds", "gauge", 1, "Time of the last snapshot."},
    {"rdb_last_bgsave_time_sec", "redis_rdb_last_bgsave_duration_sec", "gauge", 1, "Duration of the last snapshot."},
    {"rdb_current_bgsave_time_sec", "redis_rdb_current_bgsave_duration_sec", "gauge", 1, "Duration of the running snapshot."},
    {"rdb_saves", "redis_rdb_saves_total", "counter", 1, "Snapshots written."},
    {"aof_enabled", "redis_aof_enabled", "gauge", 1, "Whether the WAL (appendonly) is on."},
    {"aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", "gauge", 1, "Whether a rewrite runs."},
    {"aof_current_size", "redis_aof_current_size_bytes", "gauge", 1, "WAL size."},
    {"total_connections_received", "redis_connections_received_total", "counter", 1, "Connections accepted."},
    {"total_commands_processed", "redis_commands_processed_total", "counter", 1, "Commands run."},
    {"instantaneous_ops_per_sec", "redis_instantaneous_ops_per_sec", "gauge", 1, "Commands per second (recent)."},
    {"total_net_input_bytes", "redis_net_input_bytes_total", "counter", 1, "Bytes read from clients."},
    {"total_net_output_bytes", "redis_net_output_bytes_total", "counter", 1, "Bytes written to clients."},
    {"instantaneous_input_kbps", "redis_instantaneous_input_kbps", "gauge", 1, "Input KiB/s (recent)."},
    {"instantaneous_output_kbps", "redis_instantaneous_output_kbps", "gauge", 1, "Output KiB/s (recent)."},
    {"rejected_connections", "redis_rejected_connections_total", "counter", 1, "Connections refused (maxclients)."},
    {"expired_keys", "redis_expired_keys_total", "counter", 1, "Keys expired."},
    {"expired_stale_perc", "redis_expired_stale_percentage", "gauge", 1, "Estimated share of expired keys not reclaimed yet."},
    {"expired_time_cap_reached_count", "redis_expired_time_cap_reached_total", "counter", 1, "Expire cycles stopped by their time budget."},
    {"expire_cycle_cpu_milliseconds", "redis_expire_cycle_cpu_time_ms_total", "counter", 1, "CPU ms spent in active expiry."},
    {"evicted_keys", "redis_evicted_keys_total", "counter", 1, "Keys evicted."},
    {"keyspace_hits", "redis_keyspace_hits_total", "counter", 1, "Key lookups that found the key."},
    {"keyspace_misses", "redis_keyspace_misses_total", "counter", 1, "Key lookups that did not."},
    {"pubsub_channels", "redis_pubsub_channels", "gauge", 1, "Channels with subscribers."},
    {"pubsub_patterns", "redis_pubsub_patterns", "gauge", 1, "Pattern subscriptions."},
    {"total_error_replies", "redis_total_error_replies", "counter", 1, "Error replies sent."},
    {"total_reads_processed", "redis_total_reads_processed", "counter", 1, "Reads from clients."},
    {"total_writes_processed", "redis_total_writes_processed", "counter", 1, "Writes to clients."},
    {"connected_slaves", "redis_connected_slaves", "gauge", 1, "Connected replicas."},
    {"master_repl_offset", "redis_master_repl_offset", "gauge", 1, "Replication offset."},
    {"repl_backlog_active", "redis_repl_backlog_is_active", "gauge", 1, "Whether a backlog exists."},
    {"used_cpu_sys", "redis_cpu_sys_seconds_total", "counter", 1, "System CPU seconds."},
    {"used_cpu_user", "redis_cpu_user_seconds_total", "counter", 1, "User CPU seconds."},
    {"used_cpu_sys_children", "redis_cpu_sys_children_seconds_total", "counter", 1, "System CPU seconds of children."},
    {"used_cpu_user_children", "redis_cpu_user_children_seconds_total", "counter", 1, "User CPU seconds of children."},
    {"cluster_enabled", "redis_cluster_enabled", "gauge", 1, "Whether cluster mode is on."},
    /* The rest of what redis_exporter reads from INFO, under its names
     * (several are 0 here: no forks, defrag or modules). */
    {"maxclients", "redis_config_maxclients", "gauge", 1, "maxclients."},
    /* The exporter turns INFO lightning's db_shards into this. */
    {"db_shards", "redis_db_shards", "gauge", 1, "Engine shards per database (INFO lightning)."},
    {"maxmemory", "redis_config_maxmemory", "gauge", 1, "maxmemory."},
    {"used_memory_lua", "redis_memory_used_lua_bytes", "gauge", 1, "Memory of the Lua engine."},
    {"used_memory_scripts", "redis_memory_used_scripts_bytes", "gauge", 1, "Memory of cached scripts."},
    {"number_of_cached_scripts", "redis_number_of_cached_scripts", "gauge", 1, "Cached scripts."},
    {"mem_not_counted_for_evict", "redis_mem_not_counted_for_eviction_bytes", "gauge", 1, "Memory left out of maxmemory (WAL buffers)."},
    {"mem_clients_slaves", "redis_mem_clients_slaves", "gauge", 1, "Memory of replica clients."},
    {"mem_clients_normal", "redis_mem_clients_normal", "gauge", 1, "Memory of normal clients."},
    {"active_defrag_running", "redis_active_defrag_running", "gauge", 1, "Active defragmentation running."},
    {"lazyfree_pending_objects", "redis_lazyfree_pending_objects", "gauge", 1, "Objects waiting to be freed."},
    {"rdb_last_cow_size", "redis_rdb_last_cow_size_bytes", "gauge", 1, "Copy-on-write memory of the last snapshot's fork."},
    {"aof_rewrite_scheduled", "redis_aof_rewrite_scheduled", "gauge", 1, "A rewrite waits to start."},
    {"aof_last_rewrite_time_sec", "redis_aof_last_rewrite_duration_sec", "gauge", 1, "Duration of the last rewrite."},
    {"aof_current_rewrite_time_sec", "redis_aof_current_rewrite_duration_sec", "gauge", 1, "Duration of the running rewrite."},
    {"aof_last_cow_size", "redis_aof_last_cow_size_bytes", "gauge", 1, "Copy-on-write memory of the last rewrite's fork."},
    {"module_fork_in_progress", "redis_module_fork_in_progress", "gauge", 1, "A module fork runs."},
    {"module_fork_last_cow_size", "redis_module_fork_last_cow_size", "gauge", 1, "Copy-on-write memory of the last module fork."},
    {"sync_full", "redis_replica_resyncs_full", "gauge", 1, "Full resynchronisations served."},
    {"sync_partial_ok", "redis_replica_partial_resync_accepted", "gauge", 1, "Partial resynchronisations accepted."},
    {"sync_partial_err", "redis_replica_partial_resync_denied", "gauge", 1, "Partial resynchronisations denied."},
    {"latest_fork_usec", "redis_latest_fork_seconds", "gauge", 1e-6, "Duration of the latest fork."},
    {"migrate_cached_sockets", "redis_migrate_cached_sockets_total", "gauge", 1, "Sockets MIGRATE keeps open."},
    {"slave_expires_tracked_keys", "redis_slave_expires_tracked_keys", "gauge", 1, "Keys with a TTL a writable replica tracks."},
    {"active_defrag_hits", "redis_defrag_hits", "gauge", 1, "Values moved by active defragmentation."},
    {"active_defrag_misses", "redis_defrag_misses", "gauge", 1, "Values active defragmentation skipped."},
    {"active_defrag_key_hits", "redis_defrag_key_hits", "gauge", 1, "Keys active defragmentation moved."},
    {"active_defrag_key_misses", "redis_defrag_key_misses", "gauge", 1, "Keys active defragmentation skipped."},
    {"tracking_total_keys", "redis_tracking_total_keys", "gauge", 1, "Keys tracked for client-side caching."},
    {"tracking_total_items", "redis_tracking_total_items", "gauge", 1, "Tracked key-client pairs."},
    {"tracking_total_prefixes", "redis_tracking_total_prefixes", "gauge", 1, "Tracked prefixes (BCAST)."},
    {"unexpected_error_replies", "redis_unexpected_error_replies", "counter", 1, "Errors of an unexpected kind (AOF load, replication)."},
    {"dump_payload_sanitizations", "redis_dump_payload_sanitizations", "counter", 1, "Deep sanitizations of RESTORE payloads."},
    {"io_threaded_reads_processed", "redis_io_threaded_reads_processed", "counter", 1, "Reads done by Redis's I/O threads (0: Lightning's threads are counted in total_reads_processed)."},
    {"io_threaded_writes_processed", "redis_io_threaded_writes_processed", "counter", 1, "Writes done by Redis's I/O threads (0, as above)."},
    {"second_repl_offset", "redis_second_repl_offset", "gauge", 1, "Offset up to which the previous replication ID is valid."},
    {"repl_backlog_size", "redis_replication_backlog_bytes", "gauge", 1, "Replication backlog size."},
    {"repl_backlog_first_byte_offset", "redis_repl_backlog_first_byte_offset", "gauge", 1, "Replication offset of the backlog's first byte."},
    {"repl_backlog_histlen", "redis_repl_backlog_history_bytes", "gauge", 1, "Bytes in the replication backlog."},
    {"used_cpu_sys_main_thread", "redis_cpu_sys_main_thread_seconds_total", "counter", 1, "System CPU of the thread answering the scrape."},
    {"used_cpu_user_main_thread", "redis_cpu_user_main_thread_seconds_total", "counter", 1, "User CPU of the thread answering the scrape."},
    {"master_last_io_seconds_ago", "redis_master_last_io_seconds_ago", "gauge", 1, "Seconds since the master last sent something (replicas)."},
    {"master_sync_in_progress", "redis_master_sync_in_progress", "gauge", 1, "A full sync from the master runs (replicas)."},
    {"slave_repl_offset", "redis_slave_repl_offset", "gauge", 1, "Replication offset processed (replicas)."},
    {"slave_priority", "redis_slave_priority", "gauge", 1, "replica-priority (replicas)."},
    {"cluster_connections", "redis_cluster_connections", "gauge", 1, "Cluster bus links (two per other node)."},
    /* Lightning's own (INFO lightning and persistence). */
    {"wal_durable_offset", "lightning_wal_durable_offset_bytes", "gauge", 1, "WAL bytes known durable."},
    {"wal_written_offset", "lightning_wal_written_offset_bytes", "gauge", 1, "WAL bytes written."},
    {"wal_fsyncs", "lightning_wal_fsyncs_total", "counter", 1, "WAL fsyncs."},
    {"wal_group_commits", "lightning_wal_records_per_fsync", "gauge", 1, "WAL records per fsync."},
    {"snapshot_keys", "lightning_snapshot_keys", "gauge", 1, "Keys in the last snapshot."},
    {"snapshot_bytes", "lightning_snapshot_bytes", "gauge", 1, "Size of the last snapshot file."},
    {"snapshot_duration_ms", "lightning_snapshot_duration_seconds", "gauge", 0.001, "Time the last snapshot took."},
    {"snapshot_extra_memory_peak", "lightning_snapshot_extra_memory_peak_bytes", "gauge", 1, "Extra memory a snapshot used at most."},
    {"io_threads", "lightning_io_threads", "gauge", 1, "I/O threads."},
    {"monitors", "lightning_monitor_clients", "gauge", 1, "Clients in MONITOR."},
    {"slowlog_len", "redis_slowlog_length", "gauge", 1, "Entries in the slow log."},
    {"slowlog_last_id", "redis_slowlog_last_id", "gauge", 1, "Id of the newest slow log entry."},
    {"latency_tracking", "lightning_latency_tracking_enabled", "gauge", 1, "Whether latency-tracking is on."},
    /* Backups and WAL archiving (docs/BACKUP.md). */
    {"backups_ok", "lightning_backups_total", "counter", 1, "Backups completed."},
    {"backups_failed", "lightning_backups_failed_total", "counter", 1, "Backups that failed."},
    {"backup_last_time", "lightning_backup_last_timestamp_seconds", "gauge", 1, "When the last backup ended."},
    {"backup_last_duration_ms", "lightning_backup_last_duration_seconds", "gauge", 0.001, "Time the last backup took."},
    {"backup_last_bytes", "lightning_backup_last_bytes", "gauge", 1, "Bytes the last backup read."},
    {"wal_archived_segments", "lightning_wal_archived_segments_total", "counter", 1, "WAL segments copied to wal-archive-dir."},
    {"wal_archive_errors", "lightning_wal_archive_errors_total", "counter", 1, "Failed WAL archiving attempts."},
};

#define NMETRICS (sizeof(info_metrics) / sizeof(info_metrics[0]))

static void emit_header(lt_strbuf *b, const char *name, const char *type, const char *help) {
    lt_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: backslash, quote and newline escaped. */
static void emit_label_value(lt_strbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '"') lt_strbuf_printf(b, "\\%c", s[i]);
        else if (s[i] == '\n') lt_strbuf_printf(b, "\\n");
        else lt_strbuf_printf(b, "%c", s[i]);
    }
}

/* Value of "k=v" in a comma list like "calls=3,usec=10". */
static double kv(const char *list, const char *key) {
    size_t kl = strlen(key);
    for (const char *p = list; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=') return strtod(p + kl + 1, NULL);
        p = strchr(p, ',');
        if (p) p++;
    }
    return 0;
}

typedef struct line_ref {
    const char *key, *val;
} line_ref;

static void emit_commands(lt_strbuf *b, line_ref *cmds, int n) {
    static const struct {
        const char *key, *name, *help;
        double scale;
    } parts[] = {
        {"calls", "redis_commands_total", "Calls per command.", 1},
        {"usec", "redis_commands_duration_seconds_total", "Time spent per command.", 1e-6},
        {"rejected_calls", "redis_commands_rejected_calls_total", "Calls rejected before running.", 1},
        {"failed_calls", "redis_commands_failed_calls_total", "Calls that replied an error.", 1},
    };
    for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
        if (n == 0) break;
        emit_header(b, parts[k].name, "counter", parts[k].help);
        for (int i = 0; i < n; i++) {
            lt_strbuf_printf(b, "%s{cmd=\"", parts[k].name);
            emit_label_value(b, cmds[i].key + 8, strlen(cmds[i].key + 8));
            lt_strbuf_printf(b, "\"} %.17g\n", kv(cmds[i].val, parts[k].key) * parts[k].scale);
        }
    }
}

/* redis_latency_percentiles_usec: INFO latencystats as redis_exporter
 * exports it, a summary per command (quantile = the configured percentile
 * as INFO prints it, "50", "99.9"), _sum and _count from commandstats
 * (usec, calls). */
static void emit_latency_percentiles(lt_strbuf *b, line_ref *lines, int n) {
    static const char prefix[] = "latency_percentiles_usec_";
    const size_t pl = sizeof(prefix) - 1;
    int hdr = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(lines[i].key, prefix, pl)) continue;
        const char *name = lines[i].key + pl;
        if (!hdr++)
            emit_header(b, "redis_latency_percentiles_usec", "summary",
                        "Latency percentiles per command (latency-tracking), microseconds.");
        for (const char *p = lines[i].val; p && *p == 'p';) {
            const char *eq = strchr(p, '=');
            if (!eq) break;
            lt_strbuf_printf(b, "redis_latency_percentiles_usec{cmd=\"");
            emit_label_value(b, name, strlen(name));
            const char *comma = strchr(eq, ',');
            int vlen = comma ? (int)(comma - eq - 1) : (int)strlen(eq + 1);
            /* The value as INFO prints it (Redis's %.3f). */
            lt_strbuf_printf(b, "\",quantile=\"%.*s\"} %.*s\n", (int)(eq - p - 1), p + 1, vlen, eq + 1);
            p = comma ? comma + 1 : NULL;
        }
        for (int j = 0; j < n; j++) {
            if (strncmp(lines[j].key, "cmdstat_", 8) || strcmp(lines[j].key + 8, name)) continue;
            lt_strbuf_printf(b, "redis_latency_percentiles_usec_sum{cmd=\"");
            emit_label_value(b, name, strlen(name));
            lt_strbuf_printf(b, "\"} %.17g\n", kv(lines[j].val, "usec"));
            lt_strbuf_printf(b, "redis_latency_percentiles_usec_count{cmd=\"");
            emit_label_value(b, name, strlen(name));
            lt_strbuf_printf(b, "\"} %.17g\n", kv(lines[j].val, "calls"));
            break;
        }
    }
}

/* redis_latency_spike_last / redis_latency_spike_duration_seconds per
 * latency-monitor event: LATENCY LATEST, named as redis_exporter names it. */
static void emit_latency_spikes(lt_strbuf *b) {
    latency_latest_row rows[LATENCY_EVENTS_MAX];
    int n = latency_latest(rows, LATENCY_EVENTS_MAX);
    if (!n) return;
    emit_header(b, "redis_latency_spike_last", "gauge",
                "When the latest latency spike of the event happened (unix time).");
    for (int i = 0; i < n; i++)
        lt_strbuf_printf(b, "redis_latency_spike_last{event_name=\"%s\"} %lld\n", rows[i].event,
                         (long long)rows[i].time);
    emit_header(b, "redis_latency_spike_duration_seconds", "gauge",
                "Length of the event's latest latency spike.");
    for (int i = 0; i < n; i++)
        lt_strbuf_printf(b, "redis_latency_spike_duration_seconds{event_name=\"%s\"} %.6g\n",
                         rows[i].event, rows[i].latency_ms / 1e3);
}

/* CLUSTER INFO's figures under redis_exporter's names (it exports them when
 * INFO says cluster_enabled:1), read from the cluster state under its lock:
 * the same counts clusterInfoCommand makes. */
static void emit_cluster(lt_strbuf *b) {
    if (!server.cluster_enabled) return;
    cl_state *st = cluster_lock();
    long long assigned = 0, ok = 0, pfail = 0, fail = 0, sent = 0, received = 0;
    for (int s = 0; s < CLUSTER_SLOTS; s++) {
        cl_node *n = st->slots[s];
        if (!n) continue;
        assigned++;
        if (n->flags & CNODE_FAIL) fail++;
        else if (n->flags & CNODE_PFAIL) pfail++;
        else ok++;
    }
    for (int i = 0; i < CBUS_TYPE_COUNT; i++) {
        sent += (long long)st->stats_sent[i];
        received += (long long)st->stats_received[i];
    }
    const struct {
        const char *name, *type, *help;
        long long v;
    } m[] = {
        {"redis_cluster_state", "gauge", "1 when CLUSTER INFO says cluster_state:ok.", st->state == CL_OK},
        {"redis_cluster_slots_assigned", "gauge", "Slots served by some node.", assigned},
        {"redis_cluster_slots_ok", "gauge", "Slots served by a node not failing.", ok},
        {"redis_cluster_slots_pfail", "gauge", "Slots served by a node in PFAIL.", pfail},
        {"redis_cluster_slots_fail", "gauge", "Slots served by a node in FAIL.", fail},
        {"redis_cluster_known_nodes", "gauge", "Nodes this node knows.", st->nnodes},
        {"redis_cluster_size", "gauge", "Masters serving at least one slot.", st->size},
        {"redis_cluster_current_epoch", "gauge", "The cluster's current epoch.", (long long)st->current_epoch},
        {"redis_cluster_my_epoch", "gauge", "This node's config epoch.", (long long)st->myself->config_epoch},
        {"redis_cluster_messages_sent_total", "counter", "Cluster bus messages sent.", sent},
        {"redis_cluster_messages_received_total", "counter", "Cluster bus messages received.", received},
    };
    cluster_unlock();
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        emit_header(b, m[i].name, m[i].type, m[i].help);
        lt_strbuf_printf(b, "%s %lld\n", m[i].name, m[i].v);
    }
}

/* A promhist as a Prometheus histogram in seconds: cumulative _bucket
 * lines per bound and +Inf, _sum, _count (always, also when empty, so a
 * dashboard's rate() has a series from the first scrape). */
static void emit_promhist(lt_strbuf *b, const char *name, const char *help, const promhist *h) {
    emit_header(b, name, "histogram", help);
    uint64_t cum = 0;
    for (int i = 0; i < h->nbounds; i++) {
        cum += h->count[i];
        lt_strbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)h->bounds_us[i] / 1e6,
                         (unsigned long long)cum);
    }
    cum += h->count[h->nbounds];
    lt_strbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    lt_strbuf_printf(b, "%s_sum %.6f\n", name, (double)h->sum_us / 1e6);
    lt_strbuf_printf(b, "%s_count %llu\n", name, (unsigned long long)cum);
}

/* redis_commands_latencies_usec: LATENCY HISTOGRAM's data as a Prometheus
 * histogram, buckets at powers of two microseconds. */
static void emit_latency_histograms(lt_strbuf *b) {
    hist_view *v = malloc(sizeof(*v));
    if (!v) return;
    int header = 0;
    for (int id = 0; id < commands_total(); id++) {
        latency_command_view(id, v);
        if (!v->total) continue;
        if (!header) {
            emit_header(b, "redis_commands_latencies_usec", "histogram",
                        "Command latency distribution (latency-tracking), microseconds.");
            header = 1;
        }
        const char *name = command_by_id(id)->fullname;
        double sum = 0;
        for (int k = 0; k < HIST_BUCKETS; k++)
            sum += (double)v->count[k] * (double)(hist_bucket_low(k) + hist_bucket_high(k)) / 2;
        for (int e = 0; e <= 25; e++) {
            uint64_t le = 1ull << e;
            lt_strbuf_printf(b, "redis_commands_latencies_usec_bucket{cmd=\"%s\",le=\"%llu\"} %llu\n",
                             name, (unsigned long long)le,
                             (unsigned long long)hist_view_count_le(v, le));
        }
        lt_strbuf_printf(b, "redis_commands_latencies_usec_bucket{cmd=\"%s\",le=\"+Inf\"} %llu\n", name,
                         (unsigned long long)v->total);
        lt_strbuf_printf(b, "redis_commands_latencies_usec_sum{cmd=\"%s\"} %.17g\n", name, sum);
        lt_strbuf_printf(b, "redis_commands_latencies_usec_count{cmd=\"%s\"} %llu\n", name,
                         (unsigned long long)v->total);
    }
    free(v);
}

char *metrics_render(size_t *len) {
    static const resp_arg everything = {.ptr = "everything", .len = 10};
    size_t ilen;
    char *info = info_render(&everything, 1, &ilen);
    lt_strbuf b = {0};
    emit_header(&b, "redis_up", "gauge", "Whether the server answers (always 1 when scraped).");
    lt_strbuf_printf(&b, "redis_up 1\n");
    /* Split INFO into key/value lines. */
    int cap = 256, n = 0;
    line_ref *lines = malloc(sizeof(*lines) * (size_t)cap);
    if (!lines) abort();
    char version[64] = "", mode[32] = "", os[128] = "", role[32] = "";
    for (char *save = NULL, *l = strtok_r(info, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (l[0] == '#') continue;
        char *colon = strchr(l, ':');
        if (!colon) continue;
        *colon = '\0';
        if (!strcmp(l, "redis_version")) snprintf(version, sizeof(version), "%s", colon + 1);
        if (!strcmp(l, "redis_mode")) snprintf(mode, sizeof(mode), "%s", colon + 1);
        if (!strcmp(l, "os")) snprintf(os, sizeof(os), "%s", colon + 1);
        if (!strcmp(l, "role")) snprintf(role, sizeof(role), "%s", colon + 1);
        if (n == cap) {
            cap *= 2;
            line_ref *nl = realloc(lines, sizeof(*lines) * (size_t)cap);
            if (!nl) abort();
            lines = nl;
        }
        lines[n++] = (line_ref){l, colon + 1};
    }
    emit_header(&b, "redis_instance_info", "gauge", "Server facts as labels.");
    lt_strbuf_printf(&b,
                     "redis_instance_info{redis_version=\"%s\",lightning_version=\"%s\","
                     "redis_mode=\"%s\",os=\"",
                     version, LIGHTNING_VERSION, mode);
    emit_label_value(&b, os, strlen(os));
    lt_strbuf_printf(&b, "\",role=\"%s\",run_id=\"%s\",tcp_port=\"%d\"} 1\n", role, server.runid,
                     server.port);
    emit_header(&b, "redis_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
    lt_strbuf_printf(&b, "redis_start_time_seconds %lld\n", (long long)(server.start_time_ms / 1000));
    for (size_t m = 0; m < NMETRICS; m++) {
        for (int i = 0; i < n; i++) {
            if (strcmp(lines[i].key, info_metrics[m].field)) continue;
            char *end;
            double v = strtod(lines[i].val, &end);
            if (end == lines[i].val) break;
            emit_header(&b, info_metrics[m].name, info_metrics[m].type, info_metrics[m].help);
            lt_strbuf_printf(&b, "%s %.17g\n", info_metrics[m].name, v * info_metrics[m].scale);
            break;
        }
    }
    /* rdb_last_bgsave_status / aof_last_write_status: ok = 1. */
    for (int i = 0; i < n; i++) {
        if (!strcmp(lines[i].key, "rdb_last_bgsave_status")) {
            emit_header(&b, "redis_rdb_last_bgsave_status", "gauge", "1 when the last snapshot succeeded.");
            lt_strbuf_printf(&b, "redis_rdb_last_bgsave_status %d\n", !strcmp(lines[i].val, "ok"));
        } else if (!strcmp(lines[i].key, "aof_last_bgrewrite_status")) {
            emit_header(&b, "redis_aof_last_bgrewrite_status", "gauge", "1 when the last rewrite succeeded.");
            lt_strbuf_printf(&b, "redis_aof_last_bgrewrite_status %d\n", !strcmp(lines[i].val, "ok"));
        } else if (!strcmp(lines[i].key, "master_link_status")) {
            emit_header(&b, "redis_master_link_up", "gauge", "1 when the link to the master is up (replicas).");
            lt_strbuf_printf(&b, "redis_master_link_up %d\n", !strcmp(lines[i].val, "up"));
        } else if (!strcmp(lines[i].key, "aof_last_write_status")) {
            emit_header(&b, "redis_aof_last_write_status", "gauge", "1 when the last WAL write succeeded.");
            lt_strbuf_printf(&b, "redis_aof_last_write_status %d\n", !strcmp(lines[i].val, "ok"));
        }
    }
    /* Per command, per error, per database. */
    line_ref *cmds = malloc(sizeof(*cmds) * (size_t)(n + 1));
    if (!cmds) abort();
    int ncmds = 0;
    for (int i = 0; i < n; i++)
        if (!strncmp(lines[i].key, "cmdstat_", 8)) cmds[ncmds++] = lines[i];
    emit_commands(&b, cmds, ncmds);
    free(cmds);
    int hdr = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(lines[i].key, "errorstat_", 10)) continue;
        if (!hdr++) emit_header(&b, "redis_errors_total", "counter", "Error replies by error code.");
        lt_strbuf_printf(&b, "redis_errors_total{err=\"");
        emit_label_value(&b, lines[i].key + 10, strlen(lines[i].key + 10));
        lt_strbuf_printf(&b, "\"} %.17g\n", kv(lines[i].val, "count"));
    }
    static const struct {
        const char *key, *name, *help;
        double scale;
    } dbparts[] = {
        {"keys", "redis_db_keys", "Keys per database.", 1},
        {"expires", "redis_db_keys_expiring", "Keys with a TTL per database.", 1},
        {"avg_ttl", "redis_db_avg_ttl_seconds", "Average TTL per database.", 0.001},
    };
    for (size_t k = 0; k < 3; k++) {
        hdr = 0;
        for (int i = 0; i < n; i++) {
            if (strncmp(lines[i].key, "db", 2) || !strchr(lines[i].val, '=')) continue;
            if (!hdr++) emit_header(&b, dbparts[k].name, "gauge", dbparts[k].help);
            lt_strbuf_printf(&b, "%s{db=\"%s\"} %.17g\n", dbparts[k].name, lines[i].key,
                             kv(lines[i].val, dbparts[k].key) * dbparts[k].scale);
        }
    }
    emit_latency_percentiles(&b, lines, n);
    free(lines);
    free(info);
    emit_latency_histograms(&b);
    emit_latency_spikes(&b);
    emit_cluster(&b);
    /* What redis_exporter reads with SLOWLOG GET 1 and CONFIG GET. */
    emit_header(&b, "redis_last_slow_execution_duration_seconds", "gauge",
                "Duration of the newest slow log entry (0 when the log is empty).");
    lt_strbuf_printf(&b, "redis_last_slow_execution_duration_seconds %.6f\n",
                     (double)slowlog_last_duration_us() / 1e6);
    emit_header(&b, "redis_config_io_threads", "gauge", "io-threads as configured (0 = automatic).");
    lt_strbuf_printf(&b, "redis_config_io_threads %d\n", server_cfg(io_threads));
    promhist h;
    if (persist_wal_fsync_hist(&h) == 0)
        emit_promhist(&b, "lightning_wal_fsync_duration_seconds",
                      "Latency of the WAL's fsyncs (appendfsync always and everysec, segment "
                      "rotation).", &h);
    save_duration_hist(&h);
    emit_promhist(&b, "lightning_snapshot_write_duration_seconds",
                  "Time each snapshot (SAVE, BGSAVE, automatic) took to write.", &h);
    *len = b.len;
    return b.p;
}

/* ---- HTTP ------------------------------------------------------------------- */

static void http_respond(client *c, int status, const char *reason, const char *ctype,
                         const char *body, size_t blen) {
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, ctype, blen);
    addReplyProto(c, head, (size_t)n);
    if (blen) addReplyProto(c, body, blen);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    ev_conn_pause_recv(c->owner->loop, &c->conn);
    client_queue_write(c);
}

int metrics_http_input(client *c, const char *buf, size_t len) {
    int only = (c->flags & CLIENT_METRICS_ONLY) != 0;
    if (!only && (len < 4 || memcmp(buf, "GET ", 4))) return 0;
    const char *nl = memchr(buf, '\n', len < METRICS_MAX_LINE ? len : METRICS_MAX_LINE);
    if (!nl) {
        if (len < METRICS_MAX_LINE) return -1;
        if (!only) return 0;
        client_close(c);
        return 1;
    }
    size_t ll = (size_t)(nl - buf);
    if (ll && buf[ll - 1] == '\r') ll--;
    /* "GET " path " HTTP/1." digit */
    int is_req = ll >= 4 + 1 + 9 && !memcmp(buf, "GET ", 4) &&
                 !memcmp(buf + ll - 9, " HTTP/1.", 8) && buf[ll - 1] >= '0' && buf[ll - 1] <= '9';
    if (!is_req) {
        if (!only) return 0;
        client_close(c);
        return 1;
    }
    const char *path = buf + 4;
    size_t plen = ll - 4 - 9;
    if (memchr(path, ' ', plen)) {
        if (!only) return 0;
        client_close(c);
        return 1;
    }
    if ((plen == 8 && !memcmp(path, "/metrics", 8)) ||
        (plen > 8 && !memcmp(path, "/metrics?", 9))) {
        size_t blen;
        char *body = metrics_render(&blen);
        http_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, blen);
        free(body);
    } else if (!only) {
        return 0; /* Redis's path: an arity error, then Host: closes */
    } else {
        static const char msg[] = "Not Found: Lightning serves only /metrics over HTTP\n";
        http_respond(c, 404, "Not Found", "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    }
    return 1;
}
