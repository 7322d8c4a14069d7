/*
 * server: the process-wide state every server module shares — configuration
 * values (set by config.c), the worker threads, the client registry, global
 * statistics and the engine handle — and the version constants.
 *
 * Threading: configuration fields are written only at start-up or by
 * CONFIG SET under server.config_lock (numbers with atomic stores) and
 * read without a lock by the workers (server_cfg(): the old or the new
 * value);
 * statistics are atomics; the client registry is under clients_lock.
 */
#ifndef LIGHTNING_SERVER_H
#define LIGHTNING_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "server/net/client.h"

#define REDIS_VERSION "7.0.15"      /* the Redis release whose behaviour we match */
#define LIGHTNING_VERSION "0.1.0"

#define CONFIG_MAX_BIND 16

enum { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING, LL_NOTHING };
enum { PAUSE_OFF = 0, PAUSE_WRITE, PAUSE_ALL };

struct worker;
struct lt_db;

struct server {
    /* --- configuration (config.c owns parsing, CONFIG GET/SET/REWRITE) --- */
    char *configfile;              /* absolute path, NULL when none */
    int port;
    char *bind[CONFIG_MAX_BIND];
    int bind_count;
    int protected_mode;
    int tcp_backlog;
    int tcp_keepalive;
    int io_threads;                /* 0 = number of cores */
    char *io_backend;              /* "auto", "io_uring", "epoll" */
    char *dir;
    char *pidfile;
    int loglevel;
    char *logfile;                 /* "" = stdout */
    char *requirepass;             /* NULL = no password */
    int maxclients;
    int timeout;                   /* idle seconds, 0 = never */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long client_output_backpressure;
    /* client-output-buffer-limit, per CLIENT_CLASS_* (read without the
     * lock by the owners of clients: each number is read whole). */
    client_obuf_limit client_obuf_limits[CLIENT_CLASS_COUNT];
    long long maxmemory;           /* bytes, 0 = none */
    long long maxmemory_clients;   /* bytes; negative: percent of maxmemory */
    int mvcc_max_pinned_versions;  /* engine bound on versions views pin */
    int rdb_key_save_delay;        /* µs slept per key a snapshot writes (tests) */
    int maxmemory_policy;          /* KS_EVICT_* (engine/evict.h) */
    int maxmemory_samples;
    int maxmemory_eviction_tenacity;
    int lfu_log_factor;
    int lfu_decay_time;            /* minutes */
    int databases;
    int hz;
    int io_spin_us;                /* busy-poll after a busy turn (event.h) */
    int shards;                    /* engine shards per database */
    int appendonly;                /* WAL on (persist.c) */
    int appendfsync;               /* WAL_FSYNC_* (always, everysec, no) */
    long long wal_segment_size;
    int debug_wal_fail;            /* tests only: WAL_FAULT_* */
    char *save_params;             /* `save` rules, normalised ("" = none; save.c) */
    int snapshot_compression;      /* SNAP_CODEC_* */
    long long wal_checkpoint_size; /* checkpoint when the WAL passes the last
                                      snapshot by this much; 0 = never */

    /* --- runtime --- */
    pthread_mutex_t config_lock;
    char runid[41];
    int64_t start_time_ms;
    int64_t start_mono_us;
    struct lt_db *db;
    struct worker **workers;
    int nworkers;
    int shutdown_requested;        /* atomic: 1 nosave, 2 save */
    int shutdown_exit_code;

    pthread_mutex_t clients_lock;
    client *clients;               /* every connected client */
    int nclients;                  /* atomic */
    size_t clients_mem;            /* atomic: client_memory() of normal and
                                      pub/sub clients (maxmemory-clients) */
    uint64_t next_client_id;       /* atomic */

    int pause_type;                /* atomic: PAUSE_* */
    int64_t pause_end_ms;          /* atomic */

    /* statistics (atomics; per-command counters live in the workers) */
    uint64_t stat_numconnections;
    uint64_t stat_rejected_conn;
    int64_t stat_reset_time_ms;
    pthread_mutex_t errors_lock;
    struct error_stat *errors;     /* INFO errorstats, under errors_lock */
    uint64_t stat_total_error_replies;
    uint64_t stat_evicted_clients; /* maxmemory-clients (atomic) */
};

typedef struct error_stat {
    struct error_stat *next;
    uint64_t count;
    char name[32];
} error_stat;

extern struct server server;

/* A number of the configuration read without server.config_lock (CONFIG
 * SET stores them atomically). */
#define server_cfg(field) __atomic_load_n(&server.field, __ATOMIC_RELAXED)

/* Milliseconds / microseconds since the epoch (CLOCK_REALTIME). */
int64_t mstime(void);
int64_t ustime(void);
/* Monotonic microseconds. */
int64_t monotonic_us(void);

/* Counts an error reply by its code ("ERR", "WRONGTYPE", ...). */
void server_count_error(const char *code, size_t len);
/* Zeroes the statistics CONFIG RESETSTAT resets (command and error
 * stats, counters in INFO stats). */
void server_reset_stats(void);
/* Instantaneous rates for INFO: worker 0 calls the tick every 100 ms. */
void stats_sampler_tick(void);
void stats_sampler_reset(void);
double stats_ops_per_sec(void);
double stats_input_kbps(void);
double stats_output_kbps(void);
/* Asks every worker to stop; main() then exits with the given code. */
void server_request_shutdown(int exit_code);

#endif
