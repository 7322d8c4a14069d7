/*
 * memory: the server's figures of the memory it uses.
 *
 * 1. used memory (INFO used_memory, maxmemory), cheap enough to read on
 *    every write command: the allocator's allocated bytes (jemalloc
 *    stats.allocated, or the sanitizer's figure in sanitizer builds) read
 *    at most once per MEM_REFRESH_US by whichever thread finds the cached
 *    value stale, and a cached atomic in between. Each read also raises
 *    the peak (INFO used_memory_peak, MEMORY STATS peak.allocated).
 * 2. the breakdown Redis's getMemoryOverheadData computes (mem_report):
 *    what INFO memory, MEMORY STATS and MEMORY DOCTOR print — start-up
 *    memory, client buffers by class, replication backlog, WAL buffers
 *    (Redis's AOF buffer), script caches, the keyspace's hash tables per
 *    database, the allocator's allocated/active/resident and the RSS.
 *    Versions kept for an MVCC view (a running BGSAVE) are allocations
 *    like any other: they are in total.allocated and the dataset.
 *
 * Threading: any thread; mem_used/mem_used_now lock-free; mem_report_get
 * takes the clients lock and, without waiting, each shard's lock briefly
 * (callable inside EXEC and scripts, which hold shard locks).
 */
#ifndef LIGHTNING_MEMORY_H
#define LIGHTNING_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define MEM_REFRESH_US 1000
/* How old the figure may be when only the peak wants it (after each write
 * command): the allocator's stats refresh costs microseconds. */
#define MEM_PEAK_REFRESH_US 10000

/* Allocated bytes, at most MEM_REFRESH_US old. */
size_t mem_used(void);
/* Raises the peak from a figure at most MEM_PEAK_REFRESH_US old. */
void mem_peak_sample(void);
/* Allocated bytes read now (and cached). */
size_t mem_used_now(void);
/* After bytes were freed (eviction): re-reads the figure if the cached one
 * is MEM_FREED_REFRESH_US old or more, else takes the bytes off it — a
 * jemalloc epoch after every evicting write is a measurable share of its
 * cost, while a figure left stale for a whole MEM_REFRESH_US lets a
 * pipelined burst overshoot the limit (hundreds of writes fit in 1 ms). */
#define MEM_FREED_REFRESH_US 100
void mem_used_freed(size_t bytes);
/* 1 if the allocator reports its figures (jemalloc or a sanitizer). */
int mem_have_stats(void);
/* Records the memory in use now, less `exclude` bytes (what loading the
 * data and the WAL's buffers took), as the start-up memory. */
void mem_record_startup(size_t exclude);
/* Highest allocated bytes seen so far. */
size_t mem_peak(void);

typedef struct mem_db_overhead {
    unsigned dbid;
    uint64_t ht_main;    /* hash table buckets and entry headers */
    uint64_t ht_expires; /* the expiry index */
} mem_db_overhead;

/* Redis's struct redisMemOverhead, same meanings. */
typedef struct mem_report {
    size_t peak_allocated, total_allocated, startup_allocated;
    size_t repl_backlog, clients_slaves, clients_normal, cluster_links, aof_buffer;
    size_t lua_caches, functions_caches, overhead_total, dataset;
    uint64_t total_keys, bytes_per_key;
    long nclients, nreplicas;
    float dataset_perc, peak_perc;
    size_t allocator_allocated, allocator_active, allocator_resident, process_rss;
    float allocator_frag, allocator_rss, rss_extra, total_frag;
    long long allocator_frag_bytes, allocator_rss_bytes, rss_extra_bytes, total_frag_bytes;
    unsigned ndb;          /* non-empty databases in db[] */
    mem_db_overhead *db;   /* owned: mem_report_free */
} mem_report;

/* Fills r with figures read now. Free with mem_report_free. */
void mem_report_get(mem_report *r);
void mem_report_free(mem_report *r);
/* MEMORY DOCTOR's report (Redis's conditions and texts; "empty" is
 * judged on the memory grown since start-up, less the WAL buffers, see
 * memory.c); malloc'd, caller frees. */
char *mem_doctor_report(void);
/* The allocator's name as INFO mem_allocator prints it. */
const char *mem_allocator_name(void);

#endif
