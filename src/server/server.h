/*
 * server: the process-wide state every server module shares — configuration
 * values (set by config.c), the worker threads, the client registry, global
 * statistics and the engine handle — and the version constants.
 *
 * Threading: configuration fields are written only at start-up or by
 * CONFIG SET under server.config_lock and read without a lock by the
 * workers (int-sized fields, so a reader sees the old or the new value);
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
/* enable-protected-configs, enable-debug-command, enable-module-command
 * (Redis's enum order). */
enum { PROTECTED_ACTION_NO = 0, PROTECTED_ACTION_YES, PROTECTED_ACTION_LOCAL };

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
    char *aclfile;                 /* ACL users file, NULL = none (acl.c) */
    int acl_pubsub_default;        /* 1: new users get allchannels */
    long long acllog_max_len;      /* ACL LOG entries kept */
    int tls_port;                  /* 0: no TLS listener (net/tls.c) */
    char *tls_cert_file, *tls_key_file, *tls_ca_cert_file;
    int tls_auth_clients;          /* 0 no, 1 yes, 2 optional */
    int maxclients;
    int timeout;                   /* idle seconds, 0 = never */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long client_output_backpressure;
    int databases;
    int hz;
    int io_spin_us;                /* busy-poll after a busy turn (event.h) */
    int shards;                    /* engine shards per database */
    int appendonly;                /* WAL on (persist.c) */
    int appendfsync;               /* WAL_FSYNC_* (always, everysec, no) */
    long long wal_segment_size;
    int debug_wal_fail;            /* tests only: WAL_FAULT_* (DEBUG WAL-FAIL) */
    char *save_params;             /* `save` rules, normalised ("" = none; save.c) */
    int snapshot_compression;      /* SNAP_CODEC_* */
    long long wal_checkpoint_size; /* checkpoint when the WAL passes the last
                                      snapshot by this much; 0 = never */
    long long hll_sparse_max_bytes; /* sparse HLL promotes to dense past this */
    long long stream_node_max_bytes; /* stream node limits (t_stream.c): */
    int stream_node_max_entries;     /* 0 = no limit */
    /* encoding thresholds, copied into the engine (engine/objlimits.h) */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    int list_max_listpack_size;
    int list_compress_depth;
    int lazyfree_lazy_eviction;    /* stored until eviction exists */
    int lazyfree_lazy_expire;      /* copied into the engine (lazyfree.h) */
    int lazyfree_lazy_server_del;  /* copied into the engine (lazyfree.h) */
    int lazyfree_lazy_user_del;    /* DEL frees like UNLINK (t_keys.c) */
    int lazyfree_lazy_user_flush;  /* FLUSHALL/FLUSHDB default to ASYNC */
    int enable_debug_cmd;          /* PROTECTED_ACTION_*: DEBUG allowed? */
    int enable_module_cmd;         /* PROTECTED_ACTION_*: MODULE LOAD/UNLOAD allowed? */

    /* --- runtime --- */
    pthread_mutex_t config_lock;
    char runid[41];
    char replid[41];               /* INFO master_replid; DEBUG CHANGE-REPL-ID
                                      rewrites it under config_lock */
    int active_expire_enabled;     /* DEBUG SET-ACTIVE-EXPIRE (atomic) */
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
};

typedef struct error_stat {
    struct error_stat *next;
    uint64_t count;
    char name[32];
} error_stat;

extern struct server server;

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
