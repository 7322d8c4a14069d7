/*
 * server: the process-wide state (server.h) and the small services around
 * it — clocks, error statistics, the instantaneous-rate sampler, and the
 * shutdown request that main() waits for.
 */
#include "server/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/evict.h"
#include "engine/lazyfree.h"
#include "server/cmd/commands.h"
#include "server/latency.h"
#include "server/net/worker.h"

struct server server = {
    .config_lock = PTHREAD_MUTEX_INITIALIZER,
    .clients_lock = PTHREAD_MUTEX_INITIALIZER,
    .errors_lock = PTHREAD_MUTEX_INITIALIZER,
};

int64_t ustime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mstime(void) { return ustime() / 1000; }

int64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Redis caps the distinct error codes it tracks at 128; so do we. */
#define ERRORSTATS_MAX 128

void server_count_error(const char *code, size_t len) {
    __atomic_add_fetch(&server.stat_total_error_replies, 1, __ATOMIC_RELAXED);
    if (len >= sizeof(((error_stat *)0)->name)) len = sizeof(((error_stat *)0)->name) - 1;
    pthread_mutex_lock(&server.errors_lock);
    int n = 0;
    error_stat *e;
    for (e = server.errors; e; e = e->next, n++)
        if (strlen(e->name) == len && memcmp(e->name, code, len) == 0) break;
    if (!e && n < ERRORSTATS_MAX && (e = calloc(1, sizeof(*e)))) {
        memcpy(e->name, code, len);
        e->next = server.errors;
        server.errors = e;
    }
    if (e) e->count++;
    pthread_mutex_unlock(&server.errors_lock);
}

void server_reset_stats(void) {
    latency_tracking_reset();
    lazyfree_reset_stats();
    pthread_mutex_lock(&server.errors_lock);
    while (server.errors) {
        error_stat *e = server.errors;
        server.errors = e->next;
        free(e);
    }
    pthread_mutex_unlock(&server.errors_lock);
    __atomic_store_n(&server.stat_total_error_replies, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&server.stat_numconnections, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&server.stat_rejected_conn, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&server.stat_evicted_clients, 0, __ATOMIC_RELAXED);
    if (server.db) ks_evicted_keys_reset(server.db);
    for (int i = 0; i < server.nworkers; i++) {
        worker *w = server.workers[i];
        for (int id = 0; id < commands_total(); id++) {
            cmd_stat *s = &w->cmdstats[id];
            __atomic_store_n(&s->calls, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->usec, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->rejected, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&s->failed, 0, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&w->stat_commands, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_net_input_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_net_output_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_reads, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_writes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_keyspace_hits, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->stat_keyspace_misses, 0, __ATOMIC_RELAXED);
    }
    stats_sampler_reset();
    server.stat_reset_time_ms = mstime();
}

void server_request_shutdown(int exit_code) {
    server.shutdown_exit_code = exit_code;
    __atomic_store_n(&server.shutdown_requested, 1, __ATOMIC_RELEASE);
    /* main() waits for signals; this one wakes it. */
    kill(getpid(), SIGUSR1);
}

/* --- instantaneous rates (INFO instantaneous_*) ---------------------------
 * Worker 0 samples the counters every tick; a rate is the mean over the
 * last STATS_SAMPLES samples, as Redis computes it. */

#define STATS_SAMPLES 16

enum { METRIC_COMMANDS, METRIC_NET_IN, METRIC_NET_OUT, METRIC_COUNT };

static struct {
    pthread_mutex_t lock;
    int64_t last_us;
    uint64_t last[METRIC_COUNT];
    double samples[METRIC_COUNT][STATS_SAMPLES];
    int idx;
} sampler = {.lock = PTHREAD_MUTEX_INITIALIZER};

void stats_sampler_reset(void) {
    pthread_mutex_lock(&sampler.lock);
    memset(sampler.samples, 0, sizeof(sampler.samples));
    sampler.last_us = 0;
    pthread_mutex_unlock(&sampler.lock);
}

void stats_sampler_tick(void) {
    uint64_t now[METRIC_COUNT] = {
        WORKERS_SUM(stat_commands),
        WORKERS_SUM(stat_net_input_bytes),
        WORKERS_SUM(stat_net_output_bytes),
    };
    int64_t t = monotonic_us();
    pthread_mutex_lock(&sampler.lock);
    if (sampler.last_us) {
        double dt = (double)(t - sampler.last_us) / 1e6;
        if (dt > 0) {
            for (int m = 0; m < METRIC_COUNT; m++) {
                uint64_t d = now[m] >= sampler.last[m] ? now[m] - sampler.last[m] : 0;
                sampler.samples[m][sampler.idx] = (double)d / dt;
            }
            sampler.idx = (sampler.idx + 1) % STATS_SAMPLES;
        }
    }
    sampler.last_us = t;
    memcpy(sampler.last, now, sizeof(now));
    pthread_mutex_unlock(&sampler.lock);
}

static double sampler_mean(int m) {
    double sum = 0;
    pthread_mutex_lock(&sampler.lock);
    for (int i = 0; i < STATS_SAMPLES; i++) sum += sampler.samples[m][i];
    pthread_mutex_unlock(&sampler.lock);
    return sum / STATS_SAMPLES;
}

double stats_ops_per_sec(void) { return sampler_mean(METRIC_COMMANDS); }
double stats_input_kbps(void) { return sampler_mean(METRIC_NET_IN) / 1024; }
double stats_output_kbps(void) { return sampler_mean(METRIC_NET_OUT) / 1024; }
