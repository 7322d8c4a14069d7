/*
 * memory: used-memory figure with a short cache, the peak, and Redis's
 * memory overhead breakdown (see memory.h).
 *
 * Invariants: peak >= every allocated figure read through this file;
 * startup is written once, before the workers start.
 */
#include "server/memory.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "repl/repl.h"
#include "script/function.h"
#include "script/script.h"
#include "server/net/client.h"
#include "server/persist/persist.h"
#include "server/server.h"

/* jemalloc when linked (the server build); the sanitizers' own figure in
 * sanitizer builds; neither: no figure (0). */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t cached, peak, startup;
static int64_t cached_at_us;

int mem_have_stats(void) { return mallctl || __sanitizer_get_current_allocated_bytes; }

static void peak_raise(size_t v) {
    size_t p = __atomic_load_n(&peak, __ATOMIC_RELAXED);
    while (v > p && !__atomic_compare_exchange_n(&peak, &p, v, 1, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED)) {
    }
}

size_t mem_peak(void) { return __atomic_load_n(&peak, __ATOMIC_RELAXED); }

size_t mem_used_now(void) {
    size_t v = 0;
    if (mallctl) {
        uint64_t epoch = 1;
        size_t sz = sizeof(epoch);
        mallctl("epoch", &epoch, &sz, &epoch, sz);
        sz = sizeof(v);
        mallctl("stats.allocated", &v, &sz, NULL, 0);
    } else if (__sanitizer_get_current_allocated_bytes) {
        v = __sanitizer_get_current_allocated_bytes();
    }
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    peak_raise(v);
    return v;
}

void mem_used_freed(size_t bytes) {
    int64_t now = monotonic_us();
    int64_t at = __atomic_load_n(&cached_at_us, __ATOMIC_RELAXED);
    if (now - at >= MEM_FREED_REFRESH_US &&
        __atomic_compare_exchange_n(&cached_at_us, &at, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
        mem_used_now();
        return;
    }
    size_t cur = __atomic_load_n(&cached, __ATOMIC_RELAXED), next;
    do next = cur > bytes ? cur - bytes : 0;
    while (!__atomic_compare_exchange_n(&cached, &cur, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static size_t used_within(int64_t max_age_us) {
    int64_t now = monotonic_us();
    int64_t at = __atomic_load_n(&cached_at_us, __ATOMIC_RELAXED);
    /* One thread refreshes; the others use the cached value meanwhile. */
    if (now - at >= max_age_us &&
        __atomic_compare_exchange_n(&cached_at_us, &at, now, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
        return mem_used_now();
    return __atomic_load_n(&cached, __ATOMIC_RELAXED);
}

size_t mem_used(void) { return used_within(MEM_REFRESH_US); }

void mem_peak_sample(void) { (void)used_within(MEM_PEAK_REFRESH_US); }

/* The allocator's allocated / active / resident bytes (one epoch). */
static void allocator_figures(size_t *allocated, size_t *active, size_t *resident) {
    *allocated = *active = *resident = 0;
    if (mallctl) {
        uint64_t epoch = 1;
        size_t sz = sizeof(epoch);
        mallctl("epoch", &epoch, &sz, &epoch, sz);
        sz = sizeof(size_t);
        mallctl("stats.allocated", allocated, &sz, NULL, 0);
        mallctl("stats.active", active, &sz, NULL, 0);
        mallctl("stats.resident", resident, &sz, NULL, 0);
    } else if (__sanitizer_get_current_allocated_bytes) {
        *allocated = *active = *resident = __sanitizer_get_current_allocated_bytes();
    } else {
        struct mallinfo2 mi = mallinfo2();
        *allocated = mi.uordblks + mi.hblkhd;
        *active = *resident = *allocated;
    }
    peak_raise(*allocated);
}

static size_t process_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

void mem_record_startup(size_t exclude) {
    size_t a, b, c;
    allocator_figures(&a, &b, &c);
    startup = a > exclude ? a - exclude : 0;
}

const char *mem_allocator_name(void) {
    static char name[64];
    if (mallctl) {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v) {
            const char *dash = strchr(v, '-');
            snprintf(name, sizeof(name), "jemalloc-%.*s",
                     dash ? (int)(dash - v) : (int)strlen(v), v);
            return name;
        }
        return "jemalloc";
    }
    return __sanitizer_get_current_allocated_bytes ? "sanitizer" : "libc";
}

static float fratio(size_t a, size_t b) { return b ? (float)a / (float)b : 0; }

void mem_report_get(mem_report *r) {
    memset(r, 0, sizeof(*r));
    allocator_figures(&r->allocator_allocated, &r->allocator_active, &r->allocator_resident);
    r->process_rss = process_rss();
    r->total_allocated = r->allocator_allocated;
    r->peak_allocated = mem_peak();
    r->startup_allocated = startup;
    size_t total = startup;

    r->repl_backlog = repl_backlog_memory();
    pthread_mutex_lock(&server.clients_lock);
    for (client *c = server.clients; c; c = c->next) {
        size_t m = __atomic_load_n(&c->pub.tot_mem, __ATOMIC_RELAXED);
        if (__atomic_load_n(&c->pub.flags, __ATOMIC_RELAXED) & CLIENT_REPLICA) {
            r->clients_slaves += m;
            r->nreplicas++;
        } else {
            r->clients_normal += m;
        }
        r->nclients++;
    }
    pthread_mutex_unlock(&server.clients_lock);
    r->cluster_links = cluster_links_memory();
    /* The WAL's record buffers play the AOF buffer's part. */
    r->aof_buffer = persist_buffer_bytes();
    r->lua_caches = script_cache_bytes();
    r->functions_caches = function_bytes();
    total += r->repl_backlog + r->clients_slaves + r->clients_normal + r->cluster_links +
             r->aof_buffer + r->lua_caches + r->functions_caches;

    r->db = lt_xcalloc((size_t)server.databases, sizeof(*r->db));
    for (int j = 0; j < server.databases; j++) {
        uint64_t keys = ks_db_size(server.db, (unsigned)j);
        if (!keys) continue;
        mem_db_overhead *d = &r->db[r->ndb++];
        d->dbid = (unsigned)j;
        ks_db_overhead(server.db, (unsigned)j, &d->ht_main, &d->ht_expires);
        total += d->ht_main + d->ht_expires;
        r->total_keys += keys;
    }
    r->overhead_total = total;
    r->dataset = r->total_allocated > total ? r->total_allocated - total : 0;
    r->peak_perc = r->peak_allocated ? (float)r->total_allocated * 100 / (float)r->peak_allocated
                                     : 0;
    size_t net = r->total_allocated > startup ? r->total_allocated - startup : 0;
    r->dataset_perc = net ? (float)r->dataset * 100 / (float)net : 0;
    r->bytes_per_key = r->total_keys ? net / r->total_keys : 0;

    r->allocator_frag = fratio(r->allocator_active, r->allocator_allocated);
    r->allocator_frag_bytes = (long long)r->allocator_active - (long long)r->allocator_allocated;
    r->allocator_rss = fratio(r->allocator_resident, r->allocator_active);
    r->allocator_rss_bytes = (long long)r->allocator_resident - (long long)r->allocator_active;
    r->rss_extra = fratio(r->process_rss, r->allocator_resident);
    r->rss_extra_bytes = (long long)r->process_rss - (long long)r->allocator_resident;
    r->total_frag = fratio(r->process_rss, r->total_allocated);
    r->total_frag_bytes = (long long)r->process_rss - (long long)r->total_allocated;
}

void mem_report_free(mem_report *r) {
    free(r->db);
    r->db = NULL;
}

static char *dup_text(const char *t) {
    size_t n = strlen(t) + 1;
    return memcpy(lt_xmalloc(n), t, n);
}

/* Redis's getMemoryDoctorReport: the same conditions, thresholds and
 * texts (the allocator named is ours). */
char *mem_doctor_report(void) {
    mem_report m;
    mem_report_get(&m);
    int empty = 0, big_peak = 0, high_frag = 0, high_alloc_frag = 0, high_proc_rss = 0,
        high_alloc_rss = 0, big_slave_buf = 0, big_client_buf = 0, many_scripts = 0;
    int num_reports = 0;
    /* "Empty": Redis compares its whole allocation with 5 MB, which an
     * empty Redis is far below; Lightning allocates its WAL buffers and
     * the I/O threads' receive buffers up front, so the memory compared
     * is what came after start-up, less the WAL buffers. */
    size_t fixed = m.startup_allocated + m.aof_buffer;
    size_t grown = m.total_allocated > fixed ? m.total_allocated - fixed : 0;
    if (grown < 1024 * 1024 * 5) {
        empty = 1;
        num_reports++;
    } else {
        if ((float)m.peak_allocated / (float)m.total_allocated > 1.5) big_peak = 1, num_reports++;
        if (m.total_frag > 1.4 && m.total_frag_bytes > 10 << 20) high_frag = 1, num_reports++;
        if (m.allocator_frag > 1.1 && m.allocator_frag_bytes > 10 << 20)
            high_alloc_frag = 1, num_reports++;
        if (m.allocator_rss > 1.1 && m.allocator_rss_bytes > 10 << 20)
            high_alloc_rss = 1, num_reports++;
        if (m.rss_extra > 1.1 && m.rss_extra_bytes > 10 << 20) high_proc_rss = 1, num_reports++;
        long normal = m.nclients - m.nreplicas;
        if (normal > 0 && m.clients_normal / (size_t)normal > 1024 * 200)
            big_client_buf = 1, num_reports++;
        if (m.nreplicas > 0 && m.clients_slaves / (size_t)m.nreplicas > 1024 * 1024 * 10)
            big_slave_buf = 1, num_reports++;
        if (script_cache_count() > 1000) many_scripts = 1, num_reports++;
    }
    mem_report_free(&m);
    if (num_reports == 0)
        return dup_text("Hi Sam, I can't find any memory issue in your instance. "
                          "I can only account for what occurs on this base.\n");
    if (empty)
        return dup_text("Hi Sam, this instance is empty or is using very little memory, "
                          "my issues detector can't be used in these conditions. "
                          "Please, leave for your mission on Earth and fill it with some data. "
                          "The new Sam and I will be back to our programming as soon as I "
                          "finished rebooting.\n");
    const char *parts[10];
    int n = 0;
    char rss_text[1024];
    parts[n++] = "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
    if (big_peak)
        parts[n++] =
            " * Peak memory: In the past this instance used more than 150% the memory that is "
            "currently using. The allocator is normally not able to release memory after a peak, "
            "so you can expect to see a big fragmentation ratio, however this is actually "
            "harmless and is only due to the memory peak, and if the Redis instance Resident Set "
            "Size (RSS) is currently bigger than expected, the memory will be used as soon as you "
            "fill the Redis instance with more data. If the memory peak was only occasional and "
            "you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise "
            "the only other option is to shutdown and restart the instance.\n\n";
    if (high_frag) {
        snprintf(rss_text, sizeof(rss_text),
                 " * High total RSS: This instance has a memory fragmentation and RSS overhead "
                 "greater than 1.4 (this means that the Resident Set Size of the Redis process is "
                 "much larger than the sum of the logical allocations Redis performed). This "
                 "problem is usually due either to a large peak memory (check if there is a peak "
                 "memory entry above in the report) or may result from a workload that causes "
                 "the allocator to fragment memory a lot. If the problem is a large peak memory, "
                 "then there is no issue. Otherwise, make sure you are using the Jemalloc "
                 "allocator and not the default libc malloc. Note: The currently used allocator "
                 "is \"%s\".\n\n",
                 mem_allocator_name());
        parts[n++] = rss_text;
    }
    if (high_alloc_frag)
        parts[n++] =
            " * High allocator fragmentation: This instance has an allocator external "
            "fragmentation greater than 1.1. This problem is usually due either to a large peak "
            "memory (check if there is a peak memory entry above in the report) or may result "
            "from a workload that causes the allocator to fragment memory a lot. You can try "
            "enabling 'activedefrag' config option.\n\n";
    if (high_alloc_rss)
        parts[n++] =
            " * High allocator RSS overhead: This instance has an RSS memory overhead is greater "
            "than 1.1 (this means that the Resident Set Size of the allocator is much larger than "
            "the sum what the allocator actually holds). This problem is usually due to a large "
            "peak memory (check if there is a peak memory entry above in the report), you can "
            "try the MEMORY PURGE command to reclaim it.\n\n";
    if (high_proc_rss)
        parts[n++] =
            " * High process RSS overhead: This instance has non-allocator RSS memory overhead "
            "is greater than 1.1 (this means that the Resident Set Size of the Redis process is "
            "much larger than the RSS the allocator holds). This problem may be due to Lua "
            "scripts or Modules.\n\n";
    if (big_slave_buf)
        parts[n++] =
            " * Big replica buffers: The replica output buffers in this instance are greater "
            "than 10MB for each replica (on average). This likely means that there is some "
            "replica instance that is struggling receiving data, either because it is too slow "
            "or because of networking issues. As a result, data piles on the master output "
            "buffers. Please try to identify what replica is not receiving data correctly and "
            "why. You can use the INFO output in order to check the replicas delays and the "
            "CLIENT LIST command to check the output buffers of each replica.\n\n";
    if (big_client_buf)
        parts[n++] =
            " * Big client buffers: The clients output buffers in this instance are greater "
            "than 200K per client (on average). This may result from different causes, like "
            "Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that "
            "data piles on the Redis instance output buffer, or clients sending commands with "
            "large replies or very large sequences of commands in the same pipeline. Please use "
            "the CLIENT LIST command in order to investigate the issue if it causes problems in "
            "your instance, or to understand better why certain clients are using a big amount "
            "of memory.\n\n";
    if (many_scripts)
        parts[n++] =
            " * Many scripts: There seem to be many cached scripts in this instance (more than "
            "1000). This may be because scripts are generated and `EVAL`ed, instead of being "
            "parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless "
            "`SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming "
            "most of your memory.\n\n";
    const char *tail = "I'm here to keep you safe, Sam. I want to help you.\n";
    size_t len = strlen(tail) + 1;
    for (int i = 0; i < n; i++) len += strlen(parts[i]);
    char *s = lt_xmalloc(len), *p = s;
    for (int i = 0; i < n; i++) p = stpcpy(p, parts[i]);
    strcpy(p, tail);
    return s;
}
