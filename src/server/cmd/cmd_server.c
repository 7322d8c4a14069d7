/*
 * cmd_server: server commands — INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME,
 * SHUTDOWN. INFO reports Redis's section and field names (clients and
 * tools parse them) with values measured here; fields of features Lightning
 * does not have yet report the state that is true (no persistence running,
 * no replicas) rather than being invented.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/expire.h"
#include "common/strbuf.h"
#include "engine/keyspace.h"
#include "engine/lazyfree.h"
#include "script/function.h"
#include "script/script.h"
#include "cluster/cluster.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "server/cron.h"
#include "server/proc.h"
#include "server/cmd/pubsub.h"
#include "server/cmd/tracking.h"
#include "engine/evict.h"
#include "engine/mvcc.h"
#include "server/evict.h"
#include "server/engine_glue.h"
#include "server/latency.h"
#include "server/loading.h"
#include "server/memory.h"
#include "server/metrics.h"
#include "server/monitor.h"
#include "server/slowlog.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/persist/archive.h"
#include "server/persist/backup.h"
#include "repl/repl.h"
#include "server/persist/save.h"
#include "server/server.h"
#include "server/net/worker.h"

/* jemalloc's control interface, when the server is linked with it (the
 * sanitizer builds use their own allocator). */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
/* The sanitizers' allocator statistics (ASan/TSan builds). */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static void bytes_human(char *out, size_t outlen, double n) {
    const char *units = "BKMGTP";
    int u = 0;
    while (n >= 1024 && u < 5) {
        n /= 1024;
        u++;
    }
    if (u == 0) snprintf(out, outlen, "%.0fB", n);
    else snprintf(out, outlen, "%.2f%c", n, units[u]);
}


static int section_named(const char *name, char **want, int nwant) {
    for (int i = 0; i < nwant; i++)
        if (!strcasecmp(want[i], name)) return 1;
    return 0;
}

static void info_server(lt_strbuf *b) {
    struct utsname un;
    uname(&un);
    int64_t uptime = (monotonic_us() - server.start_mono_us) / 1000000;
    const char *exe = proc_executable();
    lt_strbuf_printf(b,
                     "# Server\r\n"
                     "redis_version:%s\r\n"
                     "lightning_version:%s\r\n"
                     "redis_git_sha1:00000000\r\n"
                     "redis_git_dirty:0\r\n"
                     "redis_build_id:0\r\n"
                     "redis_mode:standalone\r\n"
                     "os:%s %s %s\r\n"
                     "arch_bits:%d\r\n"
                     "monotonic_clock:POSIX clock_gettime\r\n"
                     "multiplexing_api:%s\r\n"
                     "atomicvar_api:c11-builtin\r\n"
                     "gcc_version:%d.%d.%d\r\n"
                     "process_id:%d\r\n"
                     "process_supervised:no\r\n"
                     "run_id:%s\r\n"
                     "tcp_port:%d\r\n"
                     "server_time_usec:%lld\r\n"
                     "uptime_in_seconds:%lld\r\n"
                     "uptime_in_days:%lld\r\n"
                     "hz:%d\r\n"
                     "configured_hz:%d\r\n"
                     "lru_clock:%lld\r\n"
                     "executable:%s\r\n"
                     "config_file:%s\r\n"
                     "io_threads_active:%d\r\n"
                     "io_threads:%d\r\n",
                     REDIS_VERSION, LIGHTNING_VERSION, un.sysname, un.release, un.machine,
                     (int)(sizeof(long) * 8), ev_loop_backend_name(server.workers[0]->loop),
                     __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, (int)getpid(), server.runid,
                     server.port, (long long)ustime(), (long long)uptime, (long long)(uptime / 86400),
                     cron_hz(), server.hz, (long long)((mstime() / 1000) & ((1 << 24) - 1)), exe,
                     server.configfile ? server.configfile : "",
                     server.nworkers > 1, server.nworkers);
}

/* Redis counts clients held by CLIENT PAUSE among the blocked ones
 * (BLOCKED_POSTPONE): test suites wait for them there. */
static uint64_t info_blocked_clients(void) {
    return blocking_clients() + workers_sum_u64(offsetof(worker, npaused));
}

static void info_clients(lt_strbuf *b) {
    size_t max_in = 0, max_out = 0;
    pthread_mutex_lock(&server.clients_lock);
    for (client *c = server.clients; c; c = c->next) {
        size_t q = __atomic_load_n(&c->pub.qbuf, __ATOMIC_RELAXED) +
                   __atomic_load_n(&c->pub.qbuf_free, __ATOMIC_RELAXED);
        size_t o = __atomic_load_n(&c->pub.omem, __ATOMIC_RELAXED) +
                   __atomic_load_n(&c->pub.obl, __ATOMIC_RELAXED);
        if (q > max_in) max_in = q;
        if (o > max_out) max_out = o;
    }
    pthread_mutex_unlock(&server.clients_lock);
    lt_strbuf_printf(b,
                     "# Clients\r\n"
                     "connected_clients:%d\r\n"
                     "cluster_connections:%lu\r\n"
                     "maxclients:%d\r\n"
                     "client_recent_max_input_buffer:%zu\r\n"
                     "client_recent_max_output_buffer:%zu\r\n"
                     "blocked_clients:%llu\r\n"
                     "tracking_clients:%d\r\n"
                     "clients_in_timeout_table:%llu\r\n",
                     __atomic_load_n(&server.nclients, __ATOMIC_RELAXED),
                     cluster_connections_count(), server.maxclients, max_in,
                     max_out, (unsigned long long)info_blocked_clients(),
                     __atomic_load_n(&tracking_clients, __ATOMIC_RELAXED),
                     (unsigned long long)blocking_clients_with_timeout());
}

void info_init(void) { mem_record_startup(0); }


/* Redis's fields and order, from Redis's overhead breakdown (memory.h). */
static void info_memory(lt_strbuf *b) {
    mem_report m;
    mem_report_get(&m);
    size_t rss = m.process_rss;
    char h1[32], h2[32], h3[32], h4[32];
    char hmax[32];
    bytes_human(hmax, sizeof(hmax), (double)server_cfg(maxmemory));
    bytes_human(h1, sizeof(h1), (double)m.total_allocated);
    bytes_human(h2, sizeof(h2), (double)rss);
    bytes_human(h3, sizeof(h3), (double)m.peak_allocated);
    long pages = sysconf(_SC_PHYS_PAGES);
    size_t total = pages > 0 ? (size_t)pages * (size_t)sysconf(_SC_PAGESIZE) : 0;
    bytes_human(h4, sizeof(h4), (double)total);
    const char *alloc = mem_allocator_name();
    /* Scripting (src/script/): the Lua heaps of every thread's
     * interpreters, the script cache and the function libraries. */
    size_t vm_eval = script_vm_bytes(0), vm_fn = script_vm_bytes(1);
    size_t scripts_eval = script_cache_bytes(), fns = function_bytes();
    char h5[32], h6[32], h7[32];
    bytes_human(h5, sizeof(h5), (double)vm_eval);
    bytes_human(h6, sizeof(h6), (double)(vm_eval + vm_fn));
    bytes_human(h7, sizeof(h7), (double)(scripts_eval + fns));
    lt_strbuf_printf(b,
                     "# Memory\r\n"
                     "used_memory:%zu\r\n"
                     "used_memory_human:%s\r\n"
                     "used_memory_rss:%zu\r\n"
                     "used_memory_rss_human:%s\r\n"
                     "used_memory_peak:%zu\r\n"
                     "used_memory_peak_human:%s\r\n"
                     "used_memory_peak_perc:%.2f%%\r\n"
                     "used_memory_overhead:%zu\r\n"
                     "used_memory_startup:%zu\r\n"
                     "used_memory_dataset:%zu\r\n"
                     "used_memory_dataset_perc:%.2f%%\r\n"
                     "allocator_allocated:%zu\r\n"
                     "allocator_active:%zu\r\n"
                     "allocator_resident:%zu\r\n"
                     "total_system_memory:%zu\r\n"
                     "total_system_memory_human:%s\r\n"
                     "used_memory_lua:%zu\r\n"
                     "used_memory_vm_eval:%zu\r\n"
                     "used_memory_lua_human:%s\r\n"
                     "used_memory_scripts_eval:%zu\r\n"
                     "number_of_cached_scripts:%zu\r\n"
                     "number_of_functions:%zu\r\n"
                     "number_of_libraries:%zu\r\n"
                     "used_memory_vm_functions:%zu\r\n"
                     "used_memory_vm_total:%zu\r\n"
                     "used_memory_vm_total_human:%s\r\n"
                     "used_memory_functions:%zu\r\n"
                     "used_memory_scripts:%zu\r\n"
                     "used_memory_scripts_human:%s\r\n"
                     "maxmemory:%lld\r\n"
                     "maxmemory_human:%s\r\n"
                     "maxmemory_policy:%s\r\n"
                     "allocator_frag_ratio:%.2f\r\n"
                     "allocator_frag_bytes:%lld\r\n"
                     "allocator_rss_ratio:%.2f\r\n"
                     "allocator_rss_bytes:%lld\r\n"
                     "rss_overhead_ratio:%.2f\r\n"
                     "rss_overhead_bytes:%lld\r\n"
                     "mem_fragmentation_ratio:%.2f\r\n"
                     "mem_fragmentation_bytes:%lld\r\n"
                     "mem_not_counted_for_evict:%zu\r\n"
                     "mem_replication_backlog:%zu\r\n"
                     "mem_total_replication_buffers:0\r\n"
                     "mem_clients_slaves:%zu\r\n"
                     "mem_clients_normal:%zu\r\n"
                     "mem_cluster_links:%zu\r\n"
                     "mem_aof_buffer:%zu\r\n"
                     "mem_allocator:%s\r\n"
                     "active_defrag_running:0\r\n"
                     "lazyfree_pending_objects:%llu\r\n"
                     "lazyfreed_objects:%llu\r\n",
                     m.total_allocated, h1, rss, h2, m.peak_allocated, h3, (double)m.peak_perc,
                     m.overhead_total, m.startup_allocated, m.dataset, (double)m.dataset_perc,
                     m.allocator_allocated, m.allocator_active, m.allocator_resident, total, h4, vm_eval, vm_eval, h5, scripts_eval,
                     script_cache_count(), function_count(), function_library_count(), vm_fn,
                     vm_eval + vm_fn, h6, fns, scripts_eval + fns, h7, (long long)server_cfg(maxmemory), hmax,
                     evict_policy_names[server_cfg(maxmemory_policy)], (double)m.allocator_frag,
                     m.allocator_frag_bytes, (double)m.allocator_rss, m.allocator_rss_bytes,
                     (double)m.rss_extra, m.rss_extra_bytes, (double)m.total_frag, m.total_frag_bytes,
                     persist_buffer_bytes(), m.repl_backlog, m.clients_slaves, m.clients_normal,
                     m.cluster_links, m.aof_buffer, alloc, (unsigned long long)lazyfree_pending(),
                     (unsigned long long)lazyfree_freed());
    mem_report_free(&m);
}

static void info_persistence(lt_strbuf *b) {
    persist_info pi;
    persist_get_info(&pi);
    save_info si;
    save_get_info(&si);
    lt_strbuf_printf(b,
                     "# Persistence\r\n"
                     "loading:%d\r\n"
                     "async_loading:0\r\n"
                     "current_cow_peak:0\r\n"
                     "current_cow_size:0\r\n"
                     "current_cow_size_age:0\r\n"
                     "current_fork_perc:0.00\r\n"
                     "current_save_keys_processed:0\r\n"
                     "current_save_keys_total:0\r\n"
                     "rdb_changes_since_last_save:%llu\r\n"
                     "rdb_bgsave_in_progress:%d\r\n"
                     "rdb_last_save_time:%lld\r\n"
                     "rdb_last_bgsave_status:%s\r\n"
                     "rdb_last_bgsave_time_sec:%lld\r\n"
                     "rdb_current_bgsave_time_sec:%lld\r\n"
                     "rdb_saves:%llu\r\n"
                     "rdb_last_cow_size:0\r\n"
                     "rdb_last_load_keys_expired:0\r\n"
                     "rdb_last_load_keys_loaded:%llu\r\n"
                     "aof_enabled:%d\r\n"
                     "aof_rewrite_in_progress:%d\r\n"
                     "aof_rewrite_scheduled:%d\r\n"
                     "aof_last_rewrite_time_sec:%lld\r\n"
                     "aof_current_rewrite_time_sec:%lld\r\n"
                     "aof_last_bgrewrite_status:%s\r\n"
                     "aof_rewrites:%llu\r\n"
                     "aof_rewrites_consecutive_failures:0\r\n"
                     "aof_last_write_status:%s\r\n"
                     "aof_last_cow_size:0\r\n"
                     "module_fork_in_progress:0\r\n"
                     "module_fork_last_cow_size:0\r\n"
                     "snapshot_keys:%llu\r\n"
                     "snapshot_bytes:%llu\r\n"
                     "snapshot_raw_bytes:%llu\r\n"
                     "snapshot_compression:%s\r\n"
                     "snapshot_duration_ms:%lld\r\n"
                     "snapshot_extra_memory_peak:%zu\r\n"
                     "snapshot_lsn:%llu\r\n"
                     "snapshot_keys_written_first:%llu\r\n"
                     "snapshot_cow_bytes:%llu\r\n"
                     "snapshot_load_keys:%llu\r\n"
                     "snapshot_load_ms:%lld\r\n",
                     loading_active(), (unsigned long long)si.changes_since_save, si.bgsave_in_progress,
                     (long long)si.lastsave_s, si.last_bgsave_ok ? "ok" : "err",
                     (long long)si.last_bgsave_time_sec, (long long)si.current_bgsave_time_sec,
                     (unsigned long long)si.saves, (unsigned long long)si.load_keys, pi.enabled,
                     si.rewrite_in_progress, si.rewrite_scheduled, (long long)si.last_rewrite_time_sec,
                     (long long)si.current_rewrite_time_sec, si.last_rewrite_ok ? "ok" : "err",
                     (unsigned long long)si.rewrites, pi.last_write_ok ? "ok" : "err",
                     (unsigned long long)si.snap_keys, (unsigned long long)si.snap_file_bytes,
                     (unsigned long long)si.snap_raw_bytes, si.snap_codec,
                     (long long)si.snap_duration_ms, si.snap_extra_memory_peak,
                     (unsigned long long)si.snap_lsn,
                     (unsigned long long)ks_early_writes(server.db),
                     (unsigned long long)ks_cow_bytes(server.db), (unsigned long long)si.load_keys,
                     (long long)si.load_ms);
    if (pi.enabled)
        lt_strbuf_printf(b,
                         "aof_current_size:%llu\r\n"
                         "wal_durable_offset:%llu\r\n"
                         "wal_written_offset:%llu\r\n"
                         "wal_fsyncs:%llu\r\n"
                         "wal_group_commits:%.2f\r\n",
                         (unsigned long long)pi.current_size, (unsigned long long)pi.durable,
                         (unsigned long long)pi.written, (unsigned long long)pi.fsyncs,
                         pi.records_per_fsync);
    char extra[1024];
    loading_info(extra, sizeof(extra)); /* Redis's loading_* while loading */
    lt_strbuf_printf(b, "%s", extra);
    archive_info(extra, sizeof(extra));
    lt_strbuf_printf(b, "%s", extra);
    backup_info(extra, sizeof(extra));
    lt_strbuf_printf(b, "%s", extra);
}

/* Redis's fields and order. Fixed at 0, true for what Lightning does not
 * have: replication traffic and syncs, forks, defragmentation, eviction,
 * client tracking, pub/sub (until those exist), reply buffer resizing (the
 * 16 KiB buffer is fixed). Every read and write is done by an I/O thread, so
 * io_threaded_* equal the totals when there is more than one. */
static void info_stats(lt_strbuf *b) {
    ks_expire_stats es;
    ks_expire_get_stats(server.db, &es);
    long long ps_ch, ps_pat, ps_shard, trk_keys, trk_items, trk_prefixes;
    pubsub_counts(&ps_ch, &ps_pat, &ps_shard);
    tracking_stats(&trk_keys, &trk_items, &trk_prefixes);
    unsigned long long reads = WORKERS_SUM(stat_reads), writes = WORKERS_SUM(stat_writes);
    int threaded = server.nworkers > 1;
    uint64_t sync_full, sync_pok, sync_perr;
    repl_info_stats(&sync_full, &sync_pok, &sync_perr);
    lt_strbuf_printf(b,
                     "# Stats\r\n"
                     "total_connections_received:%llu\r\n"
                     "total_commands_processed:%llu\r\n"
                     "instantaneous_ops_per_sec:%.0f\r\n"
                     "total_net_input_bytes:%llu\r\n"
                     "total_net_output_bytes:%llu\r\n"
                     "total_net_repl_input_bytes:0\r\n"
                     "total_net_repl_output_bytes:0\r\n"
                     "instantaneous_input_kbps:%.2f\r\n"
                     "instantaneous_output_kbps:%.2f\r\n"
                     "instantaneous_input_repl_kbps:0.00\r\n"
                     "instantaneous_output_repl_kbps:0.00\r\n"
                     "rejected_connections:%llu\r\n"
                     "sync_full:%llu\r\n"
                     "sync_partial_ok:%llu\r\n"
                     "sync_partial_err:%llu\r\n"
                     "expired_keys:%llu\r\n"
                     "expired_stale_perc:%.2f\r\n"
                     "expired_time_cap_reached_count:0\r\n"
                     "expire_cycle_cpu_milliseconds:%llu\r\n"
                     "evicted_keys:%llu\r\n"
                     "evicted_clients:%llu\r\n"
                     "total_eviction_exceeded_time:0\r\n"
                     "current_eviction_exceeded_time:0\r\n"
                     "keyspace_hits:%llu\r\n"
                     "keyspace_misses:%llu\r\n"
                     "pubsub_channels:%lld\r\n"
                     "pubsub_patterns:%lld\r\n"
                     "pubsubshard_channels:%lld\r\n"
                     "latest_fork_usec:0\r\n"
                     "total_forks:0\r\n"
                     "migrate_cached_sockets:0\r\n"
                     "slave_expires_tracked_keys:0\r\n"
                     "active_defrag_hits:0\r\n"
                     "active_defrag_misses:0\r\n"
                     "active_defrag_key_hits:0\r\n"
                     "active_defrag_key_misses:0\r\n"
                     "total_active_defrag_time:0\r\n"
                     "current_active_defrag_time:0\r\n"
                     "tracking_total_keys:%lld\r\n"
                     "tracking_total_items:%lld\r\n"
                     "tracking_total_prefixes:%lld\r\n"
                     "unexpected_error_replies:0\r\n"
                     "total_error_replies:%llu\r\n"
                     "dump_payload_sanitizations:0\r\n"
                     "total_reads_processed:%llu\r\n"
                     "total_writes_processed:%llu\r\n"
                     "io_threaded_reads_processed:%llu\r\n"
                     "io_threaded_writes_processed:%llu\r\n"
                     "reply_buffer_shrinks:0\r\n"
                     "reply_buffer_expands:0\r\n",
                     (unsigned long long)__atomic_load_n(&server.stat_numconnections, __ATOMIC_RELAXED),
                     (unsigned long long)WORKERS_SUM(stat_commands), stats_ops_per_sec(),
                     (unsigned long long)WORKERS_SUM(stat_net_input_bytes),
                     (unsigned long long)WORKERS_SUM(stat_net_output_bytes), stats_input_kbps(),
                     stats_output_kbps(),
                     (unsigned long long)__atomic_load_n(&server.stat_rejected_conn, __ATOMIC_RELAXED),
                     (unsigned long long)sync_full, (unsigned long long)sync_pok,
                     (unsigned long long)sync_perr, (unsigned long long)es.expired_keys, es.expired_stale_perc,
                     (unsigned long long)(es.expire_cycle_time_us / 1000),
                     (unsigned long long)ks_evicted_keys(server.db),
                     (unsigned long long)__atomic_load_n(&server.stat_evicted_clients, __ATOMIC_RELAXED),
                     (unsigned long long)WORKERS_SUM(stat_keyspace_hits),
                     (unsigned long long)WORKERS_SUM(stat_keyspace_misses), ps_ch, ps_pat, ps_shard,
                     trk_keys, trk_items, trk_prefixes,
                     (unsigned long long)__atomic_load_n(&server.stat_total_error_replies,
                                                         __ATOMIC_RELAXED),
                     reads, writes, threaded ? reads : 0, threaded ? writes : 0);
}

static void info_replication(lt_strbuf *b) {
    char *text = repl_info_string();
    if (text) lt_strbuf_printf(b, "%s", text);
    free(text);
}

/* used_cpu_*_main_thread: the I/O thread running INFO (Lightning has no
 * single main thread that runs commands). */
static void info_cpu(lt_strbuf *b) {
    struct rusage self, children, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);
    lt_strbuf_printf(b,
                     "# CPU\r\n"
                     "used_cpu_sys:%ld.%06ld\r\n"
                     "used_cpu_user:%ld.%06ld\r\n"
                     "used_cpu_sys_children:%ld.%06ld\r\n"
                     "used_cpu_user_children:%ld.%06ld\r\n"
                     "used_cpu_sys_main_thread:%ld.%06ld\r\n"
                     "used_cpu_user_main_thread:%ld.%06ld\r\n",
                     (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                     (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                     (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
                     (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec,
                     (long)thread.ru_stime.tv_sec, (long)thread.ru_stime.tv_usec,
                     (long)thread.ru_utime.tv_sec, (long)thread.ru_utime.tv_usec);
}

static void info_commandstats(lt_strbuf *b) {
    lt_strbuf_printf(b, "# Commandstats\r\n");
    for (int id = 0; id < commands_total(); id++) {
        const command *cmd = command_by_id(id);
        cmd_stat st;
        workers_sum_cmdstat(id, &st);
        if (!st.calls && !st.rejected && !st.failed) continue;
        lt_strbuf_printf(b,
                         "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                         "failed_calls=%llu\r\n",
                         cmd->fullname, (unsigned long long)st.calls, (unsigned long long)st.usec,
                         st.calls ? (double)st.usec / (double)st.calls : 0.0,
                         (unsigned long long)st.rejected, (unsigned long long)st.failed);
    }
}

static void info_errorstats(lt_strbuf *b) {
    lt_strbuf_printf(b, "# Errorstats\r\n");
    pthread_mutex_lock(&server.errors_lock);
    for (error_stat *e = server.errors; e; e = e->next)
        lt_strbuf_printf(b, "errorstat_%s:count=%llu\r\n", e->name, (unsigned long long)e->count);
    pthread_mutex_unlock(&server.errors_lock);
}

static void latency_emit_sb(void *ctx, const char *fmt, ...) {
    lt_strbuf *b = ctx;
    char line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    lt_strbuf_printf(b, "%s", line);
}

static void info_latencystats(lt_strbuf *b) {
    lt_strbuf_printf(b, "# Latencystats\r\n");
    latency_info_percentiles(b, latency_emit_sb);
}

static void info_keyspace(lt_strbuf *b) {
    lt_strbuf_printf(b, "# Keyspace\r\n");
    for (int db = 0; db < server.databases; db++) {
        uint64_t keys = ks_db_size(server.db, (unsigned)db);
        if (!keys) continue;
        lt_strbuf_printf(b, "db%d:keys=%llu,expires=%llu,avg_ttl=%lld\r\n", db,
                         (unsigned long long)keys,
                         (unsigned long long)ks_db_expires(server.db, (unsigned)db),
                         (long long)ks_db_avg_ttl(server.db, (unsigned)db));
    }
}

/* Lightning's own figures (not a Redis section: in all/everything or when
 * named). */
static void info_lightning(lt_strbuf *b) {
    long sl_len;
    long long sl_last;
    slowlog_stats(&sl_len, &sl_last);
    lt_strbuf_printf(b,
                     "# Lightning\r\n"
                     "lightning_version:%s\r\n"
                     "io_threads:%d\r\n"
                     "io_backend:%s\r\n"
                     "db_shards:%d\r\n"
                     "monitors:%d\r\n"
                     "slowlog_len:%ld\r\n"
                     "slowlog_last_id:%lld\r\n"
                     "latency_tracking:%d\r\n"
                     "latency_events:%d\r\n"
                     "metrics_port:%d\r\n",
                     LIGHTNING_VERSION, server.nworkers, ev_loop_backend_name(server.workers[0]->loop),
                     server.shards, __atomic_load_n(&monitor_count, __ATOMIC_RELAXED), sl_len, sl_last,
                     __atomic_load_n(&server.latency_tracking, __ATOMIC_RELAXED), latency_event_count(),
                     server.metrics_port);
}

typedef struct info_section {
    const char *name;
    void (*fn)(lt_strbuf *b);
    int in_default;
} info_section;

static const info_section sections[] = {
    {"server", info_server, 1},
    {"clients", info_clients, 1},
    {"memory", info_memory, 1},
    {"persistence", info_persistence, 1},
    {"stats", info_stats, 1},
    {"replication", info_replication, 1},
    {"cpu", info_cpu, 1},
    {"modules", NULL, 1},
    {"commandstats", info_commandstats, 0},
    {"errorstats", info_errorstats, 1},
    {"latencystats", info_latencystats, 0},
    {"cluster", NULL, 1},
    {"keyspace", info_keyspace, 1},
    {"lightning", info_lightning, 0},
};

char *info_render(const resp_arg *args, int nargs, size_t *len) {
    char *want[64];
    int nwant = 0, all = 0, everything = 0, def = 0;
    for (int i = 0; i < nargs && nwant < 64; i++) {
        char name[64];
        size_t n = args[i].len < sizeof(name) - 1 ? args[i].len : sizeof(name) - 1;
        memcpy(name, args[i].ptr, n);
        name[n] = '\0';
        if (!strcasecmp(name, "all")) all = 1;
        else if (!strcasecmp(name, "everything")) everything = 1;
        else if (!strcasecmp(name, "default")) def = 1;
        else {
            want[nwant] = strdup(name);
            if (!want[nwant]) abort();
            nwant++;
        }
    }
    if (nargs == 0) def = 1;
    lt_strbuf b = {0};
    int first = 1;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const info_section *s = &sections[i];
        /* "all" and "everything" differ only by module sections in Redis,
         * and Lightning has no modules. */
        int on = all || everything || (def && s->in_default) ||
                 section_named(s->name, want, nwant);
        if (!on) continue;
        if (!first) lt_strbuf_printf(&b, "\r\n");
        first = 0;
        if (s->fn) s->fn(&b);
        else if (!strcmp(s->name, "modules")) lt_strbuf_printf(&b, "# Modules\r\n");
        else lt_strbuf_printf(&b, "# Cluster\r\ncluster_enabled:%d\r\n", server.cluster_enabled ? 1 : 0);
    }
    for (int i = 0; i < nwant; i++) free(want[i]);
    if (!b.p) lt_strbuf_printf(&b, "%s", "");
    *len = b.len;
    return b.p;
}

void infoCommand(client *c) {
    size_t len;
    char *text = info_render(c->argv + 1, c->argc - 1, &len);
    addReplyVerbatim(c, text, len, "txt");
    free(text);
}

void dbsizeCommand(client *c) {
    addReplyLongLong(c, (long long)ks_db_size(server.db, (unsigned)c->db));
}

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: both free in the calling thread for now;
 * ASYNC is accepted as Redis accepts it (the keys are gone either way). */
/* Redis's getFlushCommandFlags: ASYNC, SYNC, or lazyfree-lazy-user-flush. */
static int flush_is_async(const client *c) {
    if (c->argc == 2) return c->argv[1].len == 5;
    return __atomic_load_n(&server.lazyfree_lazy_user_flush, __ATOMIC_RELAXED);
}

static int flush_args_ok(client *c) {
    if (c->argc > 2) {
        addReplyErrorSyntax(c);
        return 0;
    }
    if (c->argc == 2 && strncasecmp(c->argv[1].ptr, "sync", c->argv[1].len) != 0 &&
        strncasecmp(c->argv[1].ptr, "async", c->argv[1].len) != 0) {
        addReplyErrorSyntax(c);
        return 0;
    }
    if (c->argc == 2 && c->argv[1].len != 4 && c->argv[1].len != 5) {
        addReplyErrorSyntax(c);
        return 0;
    }
    return 1;
}

void flushdbCommand(client *c) {
    if (!flush_args_ok(c)) return;
    ks_txn txn;
    ks_txn_begin_db(&txn, server.db, (unsigned)c->db);
    if (flush_is_async(c)) ks_txn_set_lazyfree(&txn, KS_LAZYFREE_ALWAYS);
    ks_flush_db(&txn, (unsigned)c->db);
    ks_txn_commit(&txn);
    tracking_invalidate_all();
    addReplyOK(c);
}

void flushallCommand(client *c) {
    if (!flush_args_ok(c)) return;
    ks_txn txn;
    ks_txn_begin_all(&txn, server.db);
    if (flush_is_async(c)) ks_txn_set_lazyfree(&txn, KS_LAZYFREE_ALWAYS);
    for (int db = 0; db < server.databases; db++) ks_flush_db(&txn, (unsigned)db);
    ks_txn_commit(&txn);
    tracking_invalidate_all();
    addReplyOK(c);
}

void timeCommand(client *c) {
    int64_t us = ustime();
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, us / 1000000);
    addReplyBulkLongLong(c, us % 1000000);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. SAVE writes a snapshot
 * first, the default does when save rules exist (as Redis), NOSAVE never;
 * a failed save keeps the server running unless FORCE. */
void shutdownCommand(client *c) {
    int save = 0, nosave = 0, abort_req = 0, force = 0;
    for (int i = 1; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        if (a->len == 6 && !strncasecmp(a->ptr, "nosave", 6)) nosave = 1;
        else if (a->len == 4 && !strncasecmp(a->ptr, "save", 4)) save = 1;
        else if (a->len == 3 && !strncasecmp(a->ptr, "now", 3)) continue;
        else if (a->len == 5 && !strncasecmp(a->ptr, "force", 5)) force = 1;
        else if (a->len == 5 && !strncasecmp(a->ptr, "abort", 5)) abort_req = 1;
        else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if ((save && nosave) || (abort_req && c->argc > 2)) {
        addReplyErrorSyntax(c);
        return;
    }
    if (abort_req) {
        addReplyError(c, "ERR No shutdown in progress.");
        return;
    }
    /* As Redis: never a save of a partly loaded dataset. */
    if (loading_active()) nosave = 1, save = 0;
    if (!nosave && script_reply_if_busy(c)) return;
    /* Redis 7 refuses to exit when it cannot persist; so does a failing
     * WAL (disk full...), unless NOSAVE or FORCE. */
    if (!nosave && !force && persist_shutdown_check() < 0) {
        addReplyError(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    if (!nosave && save_for_shutdown(save) < 0 && !force) {
        addReplyError(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    server_request_shutdown(0);
    /* Like Redis, a successful SHUTDOWN closes the connection unanswered. */
    c->flags |= CLIENT_CLOSE_ASAP;
    client_close(c);
}
