/*
 * latency: the latency monitor's event table, the LATENCY command and the
 * per-command histograms (see latency.h for the model and threading).
 */
#include "server/latency.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/strbuf.h"
#include "server/cmd/commands.h"
#include "server/net/reply.h"
#include "server/net/worker.h"
#include "server/persist/persist.h"
#include "server/server.h"

typedef struct lat_sample {
    int64_t time;       /* seconds since the epoch; 0 = empty */
    uint32_t latency;   /* ms */
} lat_sample;

typedef struct lat_series {
    const char *name;   /* NULL: free slot */
    int idx;            /* next slot to write */
    uint32_t max;
    lat_sample samples[LATENCY_TS_LEN];
} lat_series;

static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static lat_series events[LATENCY_EVENTS_MAX]; /* under lat_lock */

/* Parsed latency-tracking-info-percentiles (written under config_lock by
 * CONFIG SET; INFO reads a consistent copy under pct_lock). */
static pthread_mutex_t pct_lock = PTHREAD_MUTEX_INITIALIZER;
static double pct[LATENCY_PERCENTILES_MAX];
static int npct;

void latency_init(void) { latency_apply_config(); }

static lat_series *series_find(const char *name, size_t len) {
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++)
        if (events[i].name && strlen(events[i].name) == len &&
            !strncasecmp(events[i].name, name, len))
            return &events[i];
    return NULL;
}

void latency_add_sample_if_needed(const char *event, int64_t ms) {
    int threshold = __atomic_load_n(&server.latency_monitor_threshold, __ATOMIC_RELAXED);
    if (threshold <= 0 || ms < threshold) return;
    int64_t now = time(NULL);
    uint32_t v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    pthread_mutex_lock(&lat_lock);
    lat_series *ts = series_find(event, strlen(event));
    if (!ts) {
        for (int i = 0; i < LATENCY_EVENTS_MAX && !ts; i++)
            if (!events[i].name) ts = &events[i];
        if (!ts) { /* more distinct events than slots: cannot happen with the fixed names */
            pthread_mutex_unlock(&lat_lock);
            return;
        }
        memset(ts, 0, sizeof(*ts));
        ts->name = event;
    }
    if (v > ts->max) ts->max = v;
    /* One sample per second: the worst latency of that second. */
    lat_sample *prev = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev->time == now) {
        if (v > prev->latency) prev->latency = v;
    } else {
        ts->samples[ts->idx].time = now;
        ts->samples[ts->idx].latency = v;
        ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
    }
    pthread_mutex_unlock(&lat_lock);
}

int latency_event_count(void) {
    int n = 0;
    pthread_mutex_lock(&lat_lock);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) n += events[i].name != NULL;
    pthread_mutex_unlock(&lat_lock);
    return n;
}

/* ---- per-command histograms ---------------------------------------------- */

hist *latency_hist_create(worker *w, int cmd_id) {
    hist *h = calloc(1, sizeof(*h));
    if (!h) return NULL; /* not tracked: better than failing the command */
    __atomic_store_n(&w->lathist[cmd_id], h, __ATOMIC_RELEASE);
    return h;
}

void latency_tracking_reset(void) {
    for (int i = 0; i < server.nworkers; i++) {
        worker *w = server.workers[i];
        for (int id = 0; id < commands_total(); id++) {
            hist *h = __atomic_load_n(&w->lathist[id], __ATOMIC_ACQUIRE);
            if (!h) continue;
            /* Races with the owner's increments like every other statistic
             * reset (server_reset_stats): a concurrent call may survive. */
            for (int b = 0; b < HIST_BUCKETS; b++)
                __atomic_store_n(&h->count[b], 0, __ATOMIC_RELAXED);
        }
    }
}

void latency_command_view(int cmd_id, hist_view *out) {
    hist_view_init(out);
    for (int i = 0; i < server.nworkers; i++)
        hist_view_add(out, __atomic_load_n(&server.workers[i]->lathist[cmd_id], __ATOMIC_ACQUIRE));
}

/* Redis keeps nanoseconds in an HDR histogram of 2 significant figures and
 * reports a bucket by its highest equivalent value; our µs value v is its
 * v * 1000 ns (1 ns for 0), reported the same way. */
static uint64_t hdr_highest_equivalent_ns(uint64_t ns) {
    if (ns < 256) return ns;
    int mag = 63 - __builtin_clzll(ns) - 7; /* log2 of the bucket's unit */
    uint64_t unit = 1ull << mag;
    return (ns & ~(unit - 1)) + unit - 1;
}

static uint64_t us_to_reported_ns(uint64_t us) {
    return hdr_highest_equivalent_ns(us ? us * 1000 : 1);
}

/* Redis prints a percentile with %f and trims trailing zeros and the dot. */
static void format_percentile(char *buf, size_t len, double p) {
    snprintf(buf, len, "%f", p);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *end = buf + strlen(buf) - 1;
    while (end > dot && *end == '0') *end-- = '\0';
    if (end == dot) *end = '\0';
}

void latency_info_percentiles(void *ctx, latency_emit *emit) {
    double p[LATENCY_PERCENTILES_MAX];
    pthread_mutex_lock(&pct_lock);
    int n = npct;
    memcpy(p, pct, sizeof(p));
    pthread_mutex_unlock(&pct_lock);
    hist_view *v = malloc(sizeof(*v));
    if (!v) return;
    for (int id = 0; id < commands_total(); id++) {
        latency_command_view(id, v);
        if (!v->total) continue;
        char line[1024];
        size_t off = (size_t)snprintf(line, sizeof(line), "latency_percentiles_usec_%s:",
                                      command_by_id(id)->fullname);
        for (int j = 0; j < n && off < sizeof(line); j++) {
            char name[64];
            format_percentile(name, sizeof(name), p[j]);
            uint64_t ns = us_to_reported_ns(hist_view_percentile(v, p[j]));
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%sp%s=%.3f", j ? "," : "",
                                    name, (double)ns / 1000.0);
        }
        emit(ctx, "%s\r\n", line);
    }
    free(v);
}

char *latency_percentiles_normalize(const char *s, size_t len, const char **err) {
    char *copy = malloc(len + 1);
    if (!copy) abort();
    memcpy(copy, s, len);
    copy[len] = '\0';
    char *out = malloc(LATENCY_PERCENTILES_MAX * 32 + 1);
    if (!out) abort();
    out[0] = '\0';
    size_t olen = 0;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *end;
        double d = strtod(tok, &end);
        if (*end || end == tok || isnan(d) || n == LATENCY_PERCENTILES_MAX) {
            *err = "Invalid latency-tracking-info-percentiles parameters";
            goto fail;
        }
        if (d < 0.0 || d > 100.0) {
            *err = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
            goto fail;
        }
        char num[64];
        format_percentile(num, sizeof(num), d);
        olen += (size_t)snprintf(out + olen, 33, "%s%s", n ? " " : "", num);
        n++;
    }
    free(copy);
    return out;
fail:
    free(copy);
    free(out);
    return NULL;
}

void latency_apply_config(void) {
    const char *s = server.latency_tracking_info_percentiles ? server.latency_tracking_info_percentiles : "";
    double p[LATENCY_PERCENTILES_MAX];
    int n = 0;
    while (*s && n < LATENCY_PERCENTILES_MAX) {
        char *end;
        double d = strtod(s, &end);
        if (end == s) break;
        p[n++] = d;
        s = end;
        while (*s == ' ') s++;
    }
    pthread_mutex_lock(&pct_lock);
    memcpy(pct, p, sizeof(double) * (size_t)n);
    npct = n;
    pthread_mutex_unlock(&pct_lock);
}

/* ---- LATENCY command ------------------------------------------------------ */

int latency_latest(latency_latest_row *out, int max) {
    int n = 0;
    pthread_mutex_lock(&lat_lock);
    for (int i = 0; i < LATENCY_EVENTS_MAX && n < max; i++) {
        lat_series *ts = &events[i];
        if (!ts->name) continue;
        lat_sample *last = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        out[n++] = (latency_latest_row){ts->name, last->time, last->latency, ts->max};
    }
    pthread_mutex_unlock(&lat_lock);
    return n;
}

void latencyLatestCommand(client *c) {
    pthread_mutex_lock(&lat_lock);
    int n = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) n += events[i].name != NULL;
    addReplyArrayLen(c, n);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        lat_series *ts = &events[i];
        if (!ts->name) continue;
        lat_sample *last = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        addReplyArrayLen(c, 4);
        addReplyBulkCString(c, ts->name);
        addReplyLongLong(c, last->time);
        addReplyLongLong(c, last->latency);
        addReplyLongLong(c, ts->max);
    }
    pthread_mutex_unlock(&lat_lock);
}

void latencyHistoryCommand(client *c) {
    pthread_mutex_lock(&lat_lock);
    lat_series *ts = series_find(c->argv[2].ptr, c->argv[2].len);
    if (!ts) {
        pthread_mutex_unlock(&lat_lock);
        addReplyArrayLen(c, 0);
        return;
    }
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) n += ts->samples[j].time != 0;
    addReplyArrayLen(c, n);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        lat_sample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!s->time) continue;
        addReplyArrayLen(c, 2);
        addReplyLongLong(c, s->time);
        addReplyLongLong(c, s->latency);
    }
    pthread_mutex_unlock(&lat_lock);
}

void latencyResetCommand(client *c) {
    int resets = 0;
    pthread_mutex_lock(&lat_lock);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        if (!events[i].name) continue;
        int hit = c->argc == 2;
        for (int j = 2; j < c->argc && !hit; j++)
            hit = strlen(events[i].name) == c->argv[j].len &&
                  !strncasecmp(events[i].name, c->argv[j].ptr, c->argv[j].len);
        if (hit) {
            events[i].name = NULL;
            resets++;
        }
    }
    pthread_mutex_unlock(&lat_lock);
    addReplyLongLong(c, resets);
}

/* LATENCY GRAPH: Redis's layout — a title line, a rule of 80 dashes, then
 * the samples oldest first as columns of '#' 4 rows high (scaled between
 * the lowest and highest sample), each labelled below with how long ago it
 * was (s/m/h/d), the label written downwards. */
#define GRAPH_COLS 80
#define GRAPH_ROWS 4
void latencyGraphCommand(client *c) {
    pthread_mutex_lock(&lat_lock);
    lat_series *ts = series_find(c->argv[2].ptr, c->argv[2].len);
    if (!ts) {
        pthread_mutex_unlock(&lat_lock);
        addReplyErrorFormat(c, "ERR No samples available for event '%.*s'",
                            (int)(c->argv[2].len > 128 ? 128 : c->argv[2].len), c->argv[2].ptr);
        return;
    }
    lat_sample s[LATENCY_TS_LEN];
    int n = 0;
    uint32_t lo = 0, hi = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        lat_sample *x = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!x->time) continue;
        if (!n || x->latency < lo) lo = x->latency;
        if (!n || x->latency > hi) hi = x->latency;
        s[n++] = *x;
    }
    lt_strbuf b = {0};
    lt_strbuf_printf(&b, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", ts->name,
                     (unsigned long)hi, (unsigned long)lo, (unsigned long)ts->max);
    pthread_mutex_unlock(&lat_lock);
    for (int i = 0; i < GRAPH_COLS; i++) lt_strbuf_printf(&b, "-");
    lt_strbuf_printf(&b, "\n");
    int64_t now = time(NULL);
    for (int start = 0; start < n; start += GRAPH_COLS) {
        int cols = n - start < GRAPH_COLS ? n - start : GRAPH_COLS;
        for (int row = GRAPH_ROWS; row >= 1; row--) {
            for (int k = 0; k < cols; k++) {
                uint32_t v = s[start + k].latency;
                int h = hi == lo ? GRAPH_ROWS : 1 + (int)((v - lo) * (GRAPH_ROWS - 1) / (hi - lo));
                lt_strbuf_printf(&b, "%c", h >= row ? '#' : (h == row - 1 ? '_' : ' '));
            }
            lt_strbuf_printf(&b, "\n");
        }
        char labels[GRAPH_COLS][24];
        int maxl = 0;
        for (int k = 0; k < cols; k++) {
            int64_t el = now - s[start + k].time;
            if (el < 60) snprintf(labels[k], 24, "%llds", (long long)el);
            else if (el < 3600) snprintf(labels[k], 24, "%lldm", (long long)(el / 60));
            else if (el < 86400) snprintf(labels[k], 24, "%lldh", (long long)(el / 3600));
            else snprintf(labels[k], 24, "%lldd", (long long)(el / 86400));
            int l = (int)strlen(labels[k]);
            if (l > maxl) maxl = l;
        }
        for (int r = 0; r < maxl; r++) {
            for (int k = 0; k < cols; k++)
                lt_strbuf_printf(&b, "%c", r < (int)strlen(labels[k]) ? labels[k][r] : ' ');
            lt_strbuf_printf(&b, "\n");
        }
    }
    addReplyVerbatim(c, b.p, b.len, "txt");
    free(b.p);
}

/* LATENCY DOCTOR: Redis's report shape — the same opening sentences, one
 * line per event with its spike count, average, mean deviation, period and
 * worst time, then advice for the kinds of events seen. */
void latencyDoctorCommand(client *c) {
    lt_strbuf b = {0};
    int threshold = __atomic_load_n(&server.latency_monitor_threshold, __ATOMIC_RELAXED);
    pthread_mutex_lock(&lat_lock);
    int nev = 0;
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) nev += events[i].name != NULL;
    if (nev == 0 && threshold == 0) {
        pthread_mutex_unlock(&lat_lock);
        lt_strbuf_printf(&b, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
                             "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                             "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
                             "mission I'd suggest to take a look at "
                             "https://redis.io/topics/latency-monitor.\n");
        addReplyVerbatim(c, b.p, b.len, "txt");
        free(b.p);
        return;
    }
    int num = 0, adv_cmd = 0, adv_fast = 0, adv_disk = 0, adv_always = 0, adv_expire = 0;
    int64_t now = time(NULL);
    for (int i = 0; i < LATENCY_EVENTS_MAX; i++) {
        lat_series *ts = &events[i];
        if (!ts->name) continue;
        if (++num == 1)
            lt_strbuf_printf(&b, "Dave, I have observed latency spikes in this Redis instance. You "
                                 "don't mind talking about it, do you Dave?\n\n");
        uint64_t sum = 0;
        int samples = 0;
        int64_t oldest = 0;
        for (int j = 0; j < LATENCY_TS_LEN; j++) {
            if (!ts->samples[j].time) continue;
            samples++;
            sum += ts->samples[j].latency;
            if (!oldest || ts->samples[j].time < oldest) oldest = ts->samples[j].time;
        }
        uint64_t avg = samples ? sum / (uint64_t)samples : 0, mad = 0;
        for (int j = 0; j < LATENCY_TS_LEN; j++) {
            if (!ts->samples[j].time) continue;
            int64_t d = (int64_t)avg - ts->samples[j].latency;
            mad += (uint64_t)(d < 0 ? -d : d);
        }
        if (samples) mad /= (uint64_t)samples;
        int64_t period = samples ? now - oldest : 0;
        if (samples && period == 0) period = 1;
        lt_strbuf_printf(&b,
                         "%d. %s: %d latency spikes (average %lums, mean deviation %lums, period "
                         "%.2f sec). Worst all time event %lums.\n",
                         num, ts->name, samples, (unsigned long)avg, (unsigned long)mad,
                         samples ? (double)period / samples : 0.0, (unsigned long)ts->max);
        if (!strcmp(ts->name, "command")) adv_cmd = 1;
        if (!strcmp(ts->name, "fast-command")) adv_fast = 1;
        if (!strcmp(ts->name, "aof-write") || !strcmp(ts->name, "snapshot")) adv_disk = 1;
        if (!strcmp(ts->name, "aof-fsync-always")) adv_always = 1;
        if (!strcmp(ts->name, "expire-cycle")) adv_expire = 1;
    }
    pthread_mutex_unlock(&lat_lock);
    if (num == 0) {
        lt_strbuf_printf(&b, "Dave, no latency spike was observed during the lifetime of this Redis "
                             "instance, not in the slightest bit. I honestly think you ought to sit "
                             "down calmly, take a stress pill, and think things over.\n");
    } else if (!(adv_cmd || adv_fast || adv_disk || adv_always || adv_expire)) {
        lt_strbuf_printf(&b, "\nWhile there are latency events logged, I'm not able to suggest any "
                             "easy fix. Please use the Redis community to get some help, providing "
                             "this report in your help request.\n");
    } else {
        lt_strbuf_printf(&b, "\nI have a few advices for you:\n\n");
        int slower = __atomic_load_n(&server.slowlog_log_slower_than, __ATOMIC_RELAXED);
        if (adv_cmd && slower < 0)
            lt_strbuf_printf(&b, "- There are latency issues with potentially slow commands you are "
                                 "using. Try to enable the Slow Log Redis feature using the command "
                                 "'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is "
                                 "disabled Redis is not able to log slow commands execution for you.\n",
                             (unsigned long long)threshold * 1000);
        else if (adv_cmd && slower / 1000 > threshold)
            lt_strbuf_printf(&b, "- Your current Slow Log configuration only logs events that are "
                                 "slower than your configured latency monitor threshold. Please use "
                                 "'CONFIG SET slowlog-log-slower-than %llu'.\n",
                             (unsigned long long)threshold * 1000);
        if (adv_cmd)
            lt_strbuf_printf(&b, "- Check your Slow Log to understand what are the commands you are "
                                 "running which are too slow to execute. Please check "
                                 "https://redis.io/commands/slowlog for more information.\n");
        if (adv_fast)
            lt_strbuf_printf(&b, "- The system is slow to execute code paths not containing system "
                                 "calls: the machine may not give the server CPU time for long "
                                 "periods. Lower the system load, check for noisy neighbours, and "
                                 "measure with 'redis-cli --intrinsic-latency 100'.\n");
        if (adv_disk)
            lt_strbuf_printf(&b, "- Writing the WAL or a snapshot was slow: use local disks (SSDs "
                                 "if the write load is high) and lower the disk contention of other "
                                 "processes.\n");
        if (adv_always && server.appendfsync == 0)
            lt_strbuf_printf(&b, "- Your fsync policy is set to 'always'. It is very hard to get good "
                                 "performances with such a setup, if possible try to relax the fsync "
                                 "policy to 'onesec'.\n");
        if (adv_expire && server.hz < 100)
            lt_strbuf_printf(&b, "- In order to make the Redis keys expiring process more "
                                 "incremental, try to set the 'hz' configuration parameter to 100 "
                                 "using 'CONFIG SET hz 100'.\n");
        if (adv_cmd || adv_expire)
            lt_strbuf_printf(&b, "- Deleting, expiring or evicting (because of maxmemory policy) "
                                 "large objects is a blocking operation. If you have very large "
                                 "objects that are often deleted, expired, or evicted, try to "
                                 "fragment those objects into multiple smaller objects.\n");
    }
    addReplyVerbatim(c, b.p, b.len, "txt");
    free(b.p);
}

/* Redis reports cumulative counts at 1024 ns x 2^k, each bucket named by
 * the highest value (in µs) its HDR histogram lumps with that boundary. */
static void reply_histogram(client *c, const command *cmd, hist_view *v) {
    addReplyBulkCString(c, cmd->fullname);
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "calls");
    addReplyLongLong(c, (long long)v->total);
    addReplyBulkCString(c, "histogram_usec");
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    uint64_t prev = 0;
    for (int k = 0; k < 40 && prev < v->total; k++) {
        uint64_t key = hdr_highest_equivalent_ns(1024ull << k) / 1000;
        uint64_t cum = hist_view_count_le(v, key);
        if (cum > prev) {
            addReplyLongLong(c, (long long)key);
            addReplyLongLong(c, (long long)cum);
            prev = cum;
            n++;
        }
    }
    setDeferredMapLen(c, len, n);
}

void latencyHistogramCommand(client *c) {
    hist_view *v = malloc(sizeof(*v));
    if (!v) abort();
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    if (c->argc == 2) {
        for (int id = 0; id < commands_total(); id++) {
            latency_command_view(id, v);
            if (!v->total) continue;
            reply_histogram(c, command_by_id(id), v);
            n++;
        }
    } else {
        for (int i = 2; i < c->argc; i++) {
            const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
            if (!cmd) continue;
            if (cmd->subcommands) {
                for (const command *sub = cmd->subcommands; sub->name; sub++) {
                    latency_command_view(sub->id, v);
                    if (!v->total) continue;
                    reply_histogram(c, sub, v);
                    n++;
                }
            }
            latency_command_view(cmd->id, v);
            if (!v->total) continue;
            reply_histogram(c, cmd, v);
            n++;
        }
    }
    setDeferredMapLen(c, len, n);
    free(v);
}

void latencyHelpCommand(client *c) {
    static const char *help[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for "
        "the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        NULL,
    };
    addReplyHelp(c, help);
}
