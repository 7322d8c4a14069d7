/*
 * loading: progress, INFO fields and shutdown of the start-up load (see
 * loading.h).
 */
#include "server/loading.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "server/log.h"
#include "server/proc.h"
#include "server/server.h"

int loading_flag;

static struct {
    int64_t start_ms;    /* wall clock */
    int64_t start_us;    /* monotonic */
    uint64_t total;      /* bytes */
    uint64_t loaded;     /* bytes */
    uint64_t keys;
    uint64_t rdb_used_mem;
    int64_t next_log_us; /* monotonic time of the next progress line */
} L;

#define LOADING_LOG_INTERVAL_US 1000000

void loading_begin(uint64_t total_bytes) {
    L.start_ms = mstime();
    L.start_us = monotonic_us();
    __atomic_store_n(&L.total, total_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&L.loaded, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L.keys, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L.rdb_used_mem, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&L.next_log_us, L.start_us + LOADING_LOG_INTERVAL_US, __ATOMIC_RELAXED);
    __atomic_store_n(&loading_flag, 1, __ATOMIC_RELEASE);
}

void loading_end(void) {
    __atomic_store_n(&loading_flag, 0, __ATOMIC_RELEASE);
    int64_t us = monotonic_us() - L.start_us;
    uint64_t keys = __atomic_load_n(&L.keys, __ATOMIC_RELAXED);
    if (keys)
        serverLog(LL_NOTICE, "Done loading the dataset: %llu keys/records, %llu bytes in %.3f seconds",
                  (unsigned long long)keys,
                  (unsigned long long)__atomic_load_n(&L.loaded, __ATOMIC_RELAXED), (double)us / 1e6);
}

void loading_add_total(uint64_t bytes) { __atomic_add_fetch(&L.total, bytes, __ATOMIC_RELAXED); }

void loading_set_rdb_used_mem(uint64_t bytes) {
    __atomic_store_n(&L.rdb_used_mem, bytes, __ATOMIC_RELAXED);
}

/* Redis's ETA: the time so far per byte times the bytes left. */
static int64_t eta_seconds(uint64_t loaded, uint64_t total, int64_t elapsed_us) {
    if (loaded == 0) return 1;
    if (loaded >= total) return 0;
    return (int64_t)((double)elapsed_us / 1e6 / (double)loaded * (double)(total - loaded));
}

static double percent(uint64_t loaded, uint64_t total) {
    if (total == 0) return 0;
    double p = (double)loaded * 100 / (double)total;
    return p > 100 ? 100 : p;
}

/* A shutdown was asked (signal pending: every thread blocks them, main()
 * waits for them only after the load; or SHUTDOWN's flag). */
static void exit_if_shutdown_requested(void) {
    sigset_t pend;
    int sig = 0;
    if (__atomic_load_n(&server.shutdown_requested, __ATOMIC_ACQUIRE)) sig = SIGUSR1;
    else if (sigpending(&pend) == 0)
        sig = sigismember(&pend, SIGTERM) ? SIGTERM : sigismember(&pend, SIGINT) ? SIGINT : 0;
    if (!sig) return;
    serverLog(LL_WARNING, "%s during loading, exiting now without saving.",
              sig == SIGUSR1 ? "SHUTDOWN" : sig == SIGTERM ? "Received SIGTERM" : "Received SIGINT");
    proc_pidfile_remove();
    _exit(0);
}

void loading_progress(uint64_t bytes, uint64_t keys) {
    uint64_t loaded = __atomic_add_fetch(&L.loaded, bytes, __ATOMIC_RELAXED);
    uint64_t nkeys = __atomic_add_fetch(&L.keys, keys, __ATOMIC_RELAXED);
    /* key-load-delay: µs per key (negative: ns), Redis's test hook. */
    int delay = __atomic_load_n(&server.key_load_delay, __ATOMIC_RELAXED);
    if (delay && keys) {
        uint64_t ns = delay > 0 ? (uint64_t)delay * 1000 * keys : (uint64_t)(-(int64_t)delay) * keys;
        struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
        nanosleep(&ts, NULL);
    }
    exit_if_shutdown_requested();
    int64_t now = monotonic_us();
    int64_t next = __atomic_load_n(&L.next_log_us, __ATOMIC_RELAXED);
    if (now < next ||
        !__atomic_compare_exchange_n(&L.next_log_us, &next, now + LOADING_LOG_INTERVAL_US, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    uint64_t total = __atomic_load_n(&L.total, __ATOMIC_RELAXED);
    int64_t elapsed = now - L.start_us;
    serverLog(LL_NOTICE,
              "Loading: %.2f%% (%llu of %llu bytes), %llu keys/records, %.0f keys/s, ETA %lld s",
              percent(loaded, total), (unsigned long long)loaded, (unsigned long long)total,
              (unsigned long long)nkeys, elapsed > 0 ? (double)nkeys * 1e6 / (double)elapsed : 0.0,
              (long long)eta_seconds(loaded, total, elapsed));
}

void loading_info(char *out, size_t cap) {
    if (cap) out[0] = '\0';
    if (!loading_active()) return;
    uint64_t total = __atomic_load_n(&L.total, __ATOMIC_RELAXED);
    uint64_t loaded = __atomic_load_n(&L.loaded, __ATOMIC_RELAXED);
    snprintf(out, cap,
             "loading_start_time:%lld\r\n"
             "loading_total_bytes:%llu\r\n"
             "loading_rdb_used_mem:%llu\r\n"
             "loading_loaded_bytes:%llu\r\n"
             "loading_loaded_perc:%.2f\r\n"
             "loading_eta_seconds:%lld\r\n",
             (long long)(L.start_ms / 1000), (unsigned long long)total,
             (unsigned long long)__atomic_load_n(&L.rdb_used_mem, __ATOMIC_RELAXED),
             (unsigned long long)loaded, percent(loaded, total),
             (long long)eta_seconds(loaded, total, monotonic_us() - L.start_us));
}
