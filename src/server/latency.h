/*
 * latency: Redis's latency monitor and per-command latency tracking.
 *
 * Latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR): a fixed table
 * of at most LATENCY_EVENTS_MAX named events, each a ring of the last
 * LATENCY_TS_LEN per-second samples (the worst latency of that second, in
 * ms) and its all-time maximum. A sample is added only when
 * latency-monitor-threshold is set and the latency reaches it, so the
 * table's mutex is taken only for slow events. Event names are Redis's
 * where the meaning is the same: "command", "fast-command", "expire-cycle"
 * (one worker's active expiry pass in a tick), "aof-write" (an I/O
 * thread's write(2) of its turn's WAL records under appendfsync
 * everysec/no, which its clients' replies wait for) and "aof-fsync-always"
 * (a WAL fsync under appendfsync always, from the WAL's thread).
 *
 * Latency tracking (latency-tracking, LATENCY HISTOGRAM, INFO
 * latencystats): every I/O thread owns one histogram (common/histogram.h,
 * 8 KiB) per command it has run, allocated on first use, so recording is a
 * few instructions on the thread's own cache lines. Readers merge the
 * threads' histograms. Memory is bounded by commands x I/O threads.
 * Durations are the whole microseconds dispatch measures; like Redis, which
 * records its microsecond duration x 1000 in a nanosecond histogram, a 0 µs
 * call counts as 1 ns.
 */
#ifndef LIGHTNING_LATENCY_H
#define LIGHTNING_LATENCY_H

#include <stdint.h>

#include "common/histogram.h"
#include "server/net/client.h"

#define LATENCY_TS_LEN 160
#define LATENCY_EVENTS_MAX 32
#define LATENCY_PERCENTILES_MAX 16

struct worker;
struct command;

void latency_init(void);

/* Adds a sample of ms milliseconds to event when the monitor is on and ms
 * reaches latency-monitor-threshold. Any thread. event must be a string
 * constant (its pointer is kept). */
void latency_add_sample_if_needed(const char *event, int64_t ms);

/* Records one call of cmd that took us microseconds in w's histogram
 * (w's own thread only). */
struct hist *latency_hist_create(struct worker *w, int cmd_id);
static inline void latency_track(struct hist **table, struct worker *w, int cmd_id,
                                 uint64_t us) {
    struct hist *h = table[cmd_id];
    if (__builtin_expect(h == 0, 0)) h = latency_hist_create(w, cmd_id);
    if (h) hist_record(h, us);
}
/* Zeroes every histogram (CONFIG RESETSTAT). */
void latency_tracking_reset(void);

/* INFO latencystats body lines ("latency_percentiles_usec_<cmd>:p50=..."),
 * appended with the given printf-like appender. */
typedef void latency_emit(void *ctx, const char *fmt, ...);
void latency_info_percentiles(void *ctx, latency_emit *emit);

/* latency-tracking-info-percentiles: normalises the space-separated list
 * (each 0..100) into a malloc'd string of the numbers as Redis prints them
 * ("50 99 99.9"). NULL with *err set when invalid. */
char *latency_percentiles_normalize(const char *s, size_t len, const char **err);
/* After CONFIG SET or the config file: parses server.latency_percentiles. */
void latency_apply_config(void);

/* Events with samples (INFO lightning). */
int latency_event_count(void);

/* LATENCY LATEST's rows (the /metrics redis_latency_spike_* gauges):
 * copies at most max into out, returns how many. */
typedef struct latency_latest_row {
    const char *event; /* a string constant */
    int64_t time;      /* of the latest sample, seconds since the epoch */
    uint32_t latency_ms, max_ms;
} latency_latest_row;
int latency_latest(latency_latest_row *out, int max);

/* Merged histogram of one command (id) over all threads. */
void latency_command_view(int cmd_id, hist_view *out);

#endif
