/*
 * lt-load: the load tool of the benchmarks (utils/bench.sh) for what
 * redis-benchmark and redis-cli --pipe cannot do. Speaks RESP over a plain
 * blocking TCP socket to 127.0.0.1, so it drives Lightning and Redis with
 * exactly the same bytes.
 *
 *   lt-load gen KIND N [DATASIZE]
 *       Writes N commands in RESP to stdout, for redis-cli --pipe:
 *       KIND set:  SET key:%012d <DATASIZE bytes>        (N keys)
 *       KIND hset: HSET bighash field:%012d <DATASIZE bytes> (N fields)
 *       KIND zadd: ZADD bigzset <i> member:%012d         (N members)
 *       Key names are redis-benchmark's (key:__rand_int__), so keys
 *       loaded here are the ones its GET/MGET tests read.
 *   lt-load latency PORT OP N KEYSPACE DATASIZE
 *       One client, one request at a time: N requests of OP (get, set or
 *       getset: alternating GET and SET) on random keys of the keyspace.
 *       Prints "p50_us=.. p99_us=.. p999_us=.. ops=N".
 *   lt-load ready PORT START_NS TIMEOUT_MS
 *       Connects and sends PING until the reply is +PONG (a server still
 *       loading answers -LOADING or is not listening yet); prints
 *       "ready_ms=.." counted from START_NS (CLOCK_REALTIME nanoseconds,
 *       taken by the caller right before it started the server).
 *   lt-load bgsave PORT IDLE_OPS KEYSPACE DATASIZE TIMEOUT_MS
 *       Measures one client's alternating GET/SET latency while idle
 *       (IDLE_OPS requests), then sends BGSAVE on a second connection and
 *       keeps the same load running until INFO persistence says the save
 *       is over, sampling INFO memory every 64 requests. Prints
 *       "idle_p99_us=.. save_p99_us=.. save_ops=.. save_ms=..
 *        rss_extra_bytes=.. reported_extra_bytes=.." where the reported
 *       figure is Lightning's snapshot_extra_memory_peak or Redis's
 *       rdb_last_cow_size (the fork child's copy-on-write), whichever the
 *       server has.
 *   lt-load during PORT IDLE_OPS KEYSPACE DATASIZE TIMEOUT_MS CMD [ARGS...]
 *       The same load as bgsave, but the second phase runs while CMD (a
 *       program, started with its output to /dev/null) runs, e.g.
 *       lightning-backup create. Prints "idle_p99_us=.. during_p99_us=..
 *       during_ops=.. during_ms=.. rss_extra_bytes=..", exit status 1 when
 *       CMD failed or outlived TIMEOUT_MS (then killed).
 *   lt-load pubsub PORT SUBS MSGS PAYLOAD TIMEOUT_MS
 *       Fan-out: SUBS connections SUBSCRIBE to one channel, then one
 *       publisher sends MSGS PUBLISH commands (PAYLOAD-byte messages) in
 *       pipelined batches of 16, at most 1000 messages ahead of what the
 *       subscribers have read on average (bounding the total backlog).
 *       Subscribers are read by one thread with poll(); a delivery is
 *       counted by bytes (every message frame has the same length). Checks
 *       every PUBLISH reply equals SUBS. Prints "delivered_per_s=..
 *       published_per_s=.. ms=..", exit status 1 past TIMEOUT_MS.
 *   lt-load submem PORT CONNS CHANNELS_PER_CONN
 *       Opens CONNS connections (PING on each), reads INFO used_memory, then
 *       makes each SUBSCRIBE to CHANNELS_PER_CONN distinct channels and
 *       reads it again. Prints "bytes_per_sub=.. subs=..".
 *   lt-load cache PORT KEYS REQS DATASIZE SCAN_KEYS SEED
 *       The cache workload of the hit-ratio rows: REQS GETs of keys drawn
 *       from KEYS keys with Zipf(0.99) popularity (rank r with probability
 *       proportional to 1/r^0.99, the sequence fixed by SEED so every
 *       server sees the same stream); a GET that misses is followed by a
 *       SET of DATASIZE bytes (what an application in front of a database
 *       does). After REQS/2 requests, SCAN_KEYS cold keys (never requested
 *       before or after) are read once each, in one pass, the same way
 *       (GET, miss, SET). GETs go in pipelined batches of 16, then the SETs
 *       of that batch's misses. INFO memory is read every 64 batches.
 *       Prints "hit_ratio=.. zipf_hit_ratio=.. after_scan_hit_ratio=..
 *       gets=.. max_used_ratio=.. ms=..": hit_ratio over every GET,
 *       zipf_hit_ratio over the Zipf GETs only, after_scan_hit_ratio over
 *       the Zipf GETs of the REQS/4 requests that follow the scan (0 without
 *       one), max_used_ratio the largest used_memory / maxmemory seen.
 *   lt-load memwatch PORT STOPFILE TIMEOUT_MS
 *       Reads INFO memory every 2 ms until the file STOPFILE exists (or
 *       TIMEOUT_MS passed); prints "max_used_ratio=.." (largest
 *       used_memory / maxmemory seen; 0 without a maxmemory).
 *   lt-load freeport
 *       Prints a TCP port of 127.0.0.1 that nobody listened on a moment ago
 *       (bound to port 0, then closed), for the servers the bench starts.
 *
 * Exit status: 0 on success, 1 on a server error reply or a broken
 * connection, 2 on usage errors. Every load is bounded: N and IDLE_OPS by
 * the caller, the BGSAVE phase and `ready` by TIMEOUT_MS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOAD_BUF_BYTES (1 << 20) /* largest reply we read (INFO sections) */
#define LOAD_MAX_OPS 100000000L  /* bound on any N given on the command line */
#define LOAD_MAX_DATASIZE (1 << 20)

typedef struct conn {
    int fd;
    char *buf; /* received bytes: [pos, len) not yet consumed */
    size_t pos, len;
} conn;

static uint64_t now_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) { /* xorshift64*: fast, good enough for keys */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void die_usage(void) {
    fprintf(stderr, "usage: lt-load gen set|hset|zadd N [DATASIZE]\n"
                    "       lt-load latency PORT get|set|getset N KEYSPACE DATASIZE\n"
                    "       lt-load ready PORT START_NS TIMEOUT_MS\n"
                    "       lt-load bgsave PORT IDLE_OPS KEYSPACE DATASIZE TIMEOUT_MS\n"
                    "       lt-load during PORT IDLE_OPS KEYSPACE DATASIZE TIMEOUT_MS CMD [ARGS...]\n"
                    "       lt-load pubsub PORT SUBS MSGS PAYLOAD TIMEOUT_MS\n"
                    "       lt-load submem PORT CONNS CHANNELS_PER_CONN\n"
                    "       lt-load cache PORT KEYS REQS DATASIZE SCAN_KEYS SEED\n"
                    "       lt-load memwatch PORT STOPFILE TIMEOUT_MS\n"
                    "       lt-load freeport\n");
    exit(2);
}

static long parse_count(const char *s, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) die_usage();
    return v;
}

/* Returns a connected socket, or -1 (errno set) if nobody listens yet. */
static int conn_open(conn *c, int port) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return -1;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->buf = malloc(LOAD_BUF_BYTES); /* freed by conn_close */
    if (!c->buf) {
        fprintf(stderr, "lt-load: out of memory\n");
        exit(1);
    }
    c->pos = c->len = 0;
    return 0;
}

static void conn_close(conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

static void conn_fail(const char *what) {
    fprintf(stderr, "lt-load: %s: %s\n", what, errno ? strerror(errno) : "connection closed");
    exit(1);
}

static void conn_write(conn *c, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(c->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) conn_fail("write");
        p += w;
        n -= (size_t)w;
    }
}

/* Makes at least one more byte available; returns -1 on EOF or error. */
static int conn_fill(conn *c) {
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == LOAD_BUF_BYTES) {
        errno = EMSGSIZE;
        return -1;
    }
    ssize_t r;
    do r = read(c->fd, c->buf + c->len, LOAD_BUF_BYTES - c->len);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        if (r == 0) errno = 0;
        return -1;
    }
    c->len += (size_t)r;
    return 0;
}

/* Returns the length of the line at pos (without CRLF), reading as needed. */
static int conn_line(conn *c, size_t *line_len) {
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl && nl > c->buf + c->pos && nl[-1] == '\r') {
            *line_len = (size_t)(nl - 1 - (c->buf + c->pos));
            return 0;
        }
        if (conn_fill(c) < 0) return -1;
    }
}

/* Reads one whole reply. A bulk string's payload is copied (NUL-terminated,
 * truncated to outcap-1) into out when out is not NULL. Returns the reply's
 * type byte ('+', '-', ':', '$', '*'), or -1 on a broken connection.
 * Aggregates are read iteratively: `pending` counts elements still due. */
static int conn_reply(conn *c, char *out, size_t outcap) {
    long pending = 1;
    int first = 0;
    if (out && outcap) out[0] = '\0';
    while (pending > 0) {
        size_t ll;
        if (conn_line(c, &ll) < 0) return -1;
        char *line = c->buf + c->pos;
        char type = line[0];
        long n = strtol(line + 1, NULL, 10);
        if (!first) first = type;
        if ((type == '+' || type == '-' || type == ':') && out && outcap) {
            size_t k = ll - 1 < outcap - 1 ? ll - 1 : outcap - 1;
            memcpy(out, line + 1, k);
            out[k] = '\0';
        }
        c->pos += ll + 2;
        pending--;
        if (type == '*' && n > 0) {
            pending += n;
        } else if (type == '$' && n >= 0) {
            while (c->len - c->pos < (size_t)n + 2)
                if (conn_fill(c) < 0) return -1;
            if (out && outcap && first == '$') {
                size_t k = (size_t)n < outcap - 1 ? (size_t)n : outcap - 1;
                memcpy(out, c->buf + c->pos, k);
                out[k] = '\0';
            }
            c->pos += (size_t)n + 2;
        }
    }
    return first;
}

/* Appends one RESP command of argc arguments to buf; returns its length. */
static size_t resp_format(char *buf, int argc, const char **argv, const size_t *lens) {
    size_t off = (size_t)sprintf(buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        off += (size_t)sprintf(buf + off, "$%zu\r\n", lens[i]);
        memcpy(buf + off, argv[i], lens[i]);
        off += lens[i];
        memcpy(buf + off, "\r\n", 2);
        off += 2;
    }
    return off;
}

/* Sends one command and waits for its reply; exits on an error reply. */
static int conn_call(conn *c, int argc, const char **argv, const size_t *lens, char *out,
                     size_t outcap) {
    static char cmd[LOAD_MAX_DATASIZE + 256];
    size_t n = resp_format(cmd, argc, argv, lens);
    conn_write(c, cmd, n);
    int t = conn_reply(c, out, outcap);
    if (t < 0) conn_fail("read");
    return t;
}

/* Finds "field:<number>" in an INFO reply; -1 if absent. */
static long long info_field(const char *info, const char *field) {
    size_t fl = strlen(field);
    for (const char *p = info; (p = strstr(p, field)) != NULL; p += fl) {
        if ((p == info || p[-1] == '\n') && p[fl] == ':') return strtoll(p + fl + 1, NULL, 10);
    }
    return -1;
}

static long long info_get(conn *c, const char *section, const char *field) {
    static char info[LOAD_BUF_BYTES];
    const char *argv[2] = {"INFO", section};
    size_t lens[2] = {4, strlen(section)};
    if (conn_call(c, 2, argv, lens, info, sizeof(info)) != '$') return -1;
    return info_field(info, field);
}

/* ---- gen ------------------------------------------------------------------ */

static int cmd_gen(int argc, char **argv) {
    if (argc < 2) die_usage();
    const char *kind = argv[0];
    long n = parse_count(argv[1], 1, LOAD_MAX_OPS);
    long dsize = argc > 2 ? parse_count(argv[2], 1, LOAD_MAX_DATASIZE) : 64;
    char *val = malloc((size_t)dsize);
    char *cmd = malloc((size_t)dsize + 256);
    if (!val || !cmd) return 1;
    memset(val, 'x', (size_t)dsize);
    FILE *out = stdout;
    for (long i = 0; i < n; i++) {
        char name[32], num[32];
        const char *av[4];
        size_t lens[4];
        int ac;
        if (!strcmp(kind, "set")) {
            lens[1] = (size_t)sprintf(name, "key:%012ld", i);
            av[0] = "SET", lens[0] = 3, av[1] = name, av[2] = val, lens[2] = (size_t)dsize;
            ac = 3;
        } else if (!strcmp(kind, "hset")) {
            lens[2] = (size_t)sprintf(name, "field:%012ld", i);
            av[0] = "HSET", lens[0] = 4, av[1] = "bighash", lens[1] = 7;
            av[2] = name, av[3] = val, lens[3] = (size_t)dsize;
            ac = 4;
        } else if (!strcmp(kind, "zadd")) {
            lens[2] = (size_t)sprintf(num, "%ld", i);
            lens[3] = (size_t)sprintf(name, "member:%012ld", i);
            av[0] = "ZADD", lens[0] = 4, av[1] = "bigzset", lens[1] = 7;
            av[2] = num, av[3] = name;
            ac = 4;
        } else {
            die_usage();
        }
        size_t len = resp_format(cmd, ac, av, lens);
        if (fwrite(cmd, 1, len, out) != len) return 1;
    }
    free(val);
    free(cmd);
    return fflush(out) == 0 ? 0 : 1;
}

/* ---- latency -------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *lat, long n, double p) {
    long i = (long)(p * (double)(n - 1) + 0.5);
    return (double)lat[i] / 1000.0;
}

/* Runs ops requests (op: 'g' GET, 's' SET, 'a' alternating) on c and
 * stores each round trip in lat[]. Every `sample_every` requests (0:
 * never) calls sample(ctx); stops early when it returns nonzero and
 * returns how many requests ran. */
static long run_ops(conn *c, char op, long ops, long keyspace, const char *val, size_t dsize,
                    uint64_t *lat, long sample_every, int (*sample)(void *), void *ctx) {
    for (long i = 0; i < ops; i++) {
        char key[32];
        const char *av[3];
        size_t lens[3];
        int is_set = op == 's' || (op == 'a' && (i & 1));
        lens[1] = (size_t)sprintf(key, "key:%012ld", (long)(rng_next() % (uint64_t)keyspace));
        av[1] = key;
        if (is_set) av[0] = "SET", lens[0] = 3, av[2] = val, lens[2] = dsize;
        else av[0] = "GET", lens[0] = 3;
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        int t = conn_call(c, is_set ? 3 : 2, av, lens, NULL, 0);
        lat[i] = now_ns(CLOCK_MONOTONIC) - t0;
        if (t == '-') {
            fprintf(stderr, "lt-load: error reply to %s\n", av[0]);
            exit(1);
        }
        if (sample_every && (i + 1) % sample_every == 0 && sample(ctx)) return i + 1;
    }
    return ops;
}

static char *make_value(long dsize) {
    char *v = malloc((size_t)dsize);
    if (!v) exit(1);
    memset(v, 'x', (size_t)dsize);
    return v;
}

static int cmd_latency(int argc, char **argv) {
    if (argc < 5) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    char op = !strcmp(argv[1], "get") ? 'g' : !strcmp(argv[1], "set") ? 's'
              : !strcmp(argv[1], "getset") ? 'a' : 0;
    long n = parse_count(argv[2], 1, LOAD_MAX_OPS);
    long keyspace = parse_count(argv[3], 1, LOAD_MAX_OPS);
    long dsize = parse_count(argv[4], 1, LOAD_MAX_DATASIZE);
    if (!op) die_usage();
    conn c = {.fd = -1};
    if (conn_open(&c, port) < 0) conn_fail("connect");
    uint64_t *lat = malloc(sizeof(*lat) * (size_t)n);
    char *val = make_value(dsize);
    if (!lat) return 1;
    run_ops(&c, op, n, keyspace, val, (size_t)dsize, lat, 0, NULL, NULL);
    qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
    printf("p50_us=%.1f p99_us=%.1f p999_us=%.1f ops=%ld\n", pct_us(lat, n, 0.50),
           pct_us(lat, n, 0.99), pct_us(lat, n, 0.999), n);
    conn_close(&c);
    free(lat);
    free(val);
    return 0;
}

/* ---- ready ---------------------------------------------------------------- */

static int cmd_ready(int argc, char **argv) {
    if (argc < 3) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    uint64_t start = strtoull(argv[1], NULL, 10);
    long timeout_ms = parse_count(argv[2], 1, 3600 * 1000L);
    conn c = {.fd = -1};
    uint64_t deadline = now_ns(CLOCK_REALTIME) + (uint64_t)timeout_ms * 1000000ull;
    while (now_ns(CLOCK_REALTIME) < deadline) {
        if (c.fd < 0 && conn_open(&c, port) < 0) {
            usleep(1000);
            continue;
        }
        char reply[64];
        const char *av[1] = {"PING"};
        size_t lens[1] = {4};
        char cmd[32];
        size_t len = resp_format(cmd, 1, av, lens);
        if (write(c.fd, cmd, len) != (ssize_t)len || conn_reply(&c, reply, sizeof(reply)) < 0) {
            conn_close(&c); /* a server may accept before it serves */
            usleep(1000);
            continue;
        }
        if (!strcmp(reply, "PONG")) {
            printf("ready_ms=%.1f\n", (double)(now_ns(CLOCK_REALTIME) - start) / 1e6);
            conn_close(&c);
            return 0;
        }
        usleep(1000); /* -LOADING: ask again */
    }
    fprintf(stderr, "lt-load: no PONG on port %d within %ld ms\n", port, timeout_ms);
    return 1;
}

/* ---- bgsave --------------------------------------------------------------- */

typedef struct save_watch {
    conn *ctl;
    long long rss_base, rss_peak;
    uint64_t deadline;
    int timed_out;
} save_watch;

/* Sampled every 64 requests during the save: returns 1 once it is over. */
static int save_sample(void *ctx) {
    save_watch *w = ctx;
    long long rss = info_get(w->ctl, "memory", "used_memory_rss");
    if (rss > w->rss_peak) w->rss_peak = rss;
    if (now_ns(CLOCK_MONOTONIC) > w->deadline) {
        w->timed_out = 1;
        return 1;
    }
    return info_get(w->ctl, "persistence", "rdb_bgsave_in_progress") == 0;
}

static int cmd_bgsave(int argc, char **argv) {
    if (argc < 5) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    long idle_ops = parse_count(argv[1], 100, LOAD_MAX_OPS);
    long keyspace = parse_count(argv[2], 1, LOAD_MAX_OPS);
    long dsize = parse_count(argv[3], 1, LOAD_MAX_DATASIZE);
    long timeout_ms = parse_count(argv[4], 1, 3600 * 1000L);
    conn c = {.fd = -1}, ctl = {.fd = -1};
    if (conn_open(&c, port) < 0 || conn_open(&ctl, port) < 0) conn_fail("connect");
    /* At most one request per 10 µs can run before the deadline. */
    long save_cap = timeout_ms * 100 + 1000;
    uint64_t *lat = malloc(sizeof(*lat) * (size_t)(idle_ops > save_cap ? idle_ops : save_cap));
    char *val = make_value(dsize);
    if (!lat) return 1;

    run_ops(&c, 'a', idle_ops, keyspace, val, (size_t)dsize, lat, 0, NULL, NULL);
    qsort(lat, (size_t)idle_ops, sizeof(*lat), cmp_u64);
    double idle_p99 = pct_us(lat, idle_ops, 0.99);

    save_watch w = {.ctl = &ctl};
    w.rss_base = w.rss_peak = info_get(&ctl, "memory", "used_memory_rss");
    char reply[256];
    const char *av[1] = {"BGSAVE"};
    size_t lens[1] = {6};
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    w.deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    if (conn_call(&ctl, 1, av, lens, reply, sizeof(reply)) != '+') {
        fprintf(stderr, "lt-load: BGSAVE: %s\n", reply);
        return 1;
    }
    long ops = run_ops(&c, 'a', save_cap, keyspace, val, (size_t)dsize, lat, 64, save_sample, &w);
    /* The save may outlast the cap on requests: wait for it, unmeasured. */
    while (!w.timed_out && !save_sample(&w)) usleep(1000);
    double save_ms = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
    if (w.timed_out) {
        fprintf(stderr, "lt-load: BGSAVE still running after %ld ms\n", timeout_ms);
        return 1;
    }
    long long reported = info_get(&ctl, "persistence", "snapshot_extra_memory_peak");
    if (reported < 0) reported = info_get(&ctl, "persistence", "rdb_last_cow_size");
    qsort(lat, (size_t)ops, sizeof(*lat), cmp_u64);
    printf("idle_p99_us=%.1f save_p99_us=%.1f save_ops=%ld save_ms=%.1f rss_extra_bytes=%lld "
           "reported_extra_bytes=%lld\n",
           idle_p99, pct_us(lat, ops, 0.99), ops, save_ms, w.rss_peak - w.rss_base, reported);
    conn_close(&c);
    conn_close(&ctl);
    free(lat);
    free(val);
    return 0;
}

/* ---- during ---------------------------------------------------------------- */

typedef struct child_watch {
    conn *ctl;
    pid_t pid;
    int status, done;
    long long rss_base, rss_peak;
    uint64_t deadline;
    int timed_out;
} child_watch;

static int child_sample(void *ctx) {
    child_watch *w = ctx;
    long long rss = info_get(w->ctl, "memory", "used_memory_rss");
    if (rss > w->rss_peak) w->rss_peak = rss;
    if (!w->done && waitpid(w->pid, &w->status, WNOHANG) == w->pid) w->done = 1;
    if (!w->done && now_ns(CLOCK_MONOTONIC) > w->deadline) {
        kill(w->pid, SIGKILL);
        waitpid(w->pid, &w->status, 0);
        w->done = w->timed_out = 1;
    }
    return w->done;
}

static int cmd_during(int argc, char **argv) {
    if (argc < 6) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    long idle_ops = parse_count(argv[1], 100, LOAD_MAX_OPS);
    long keyspace = parse_count(argv[2], 1, LOAD_MAX_OPS);
    long dsize = parse_count(argv[3], 1, LOAD_MAX_DATASIZE);
    long timeout_ms = parse_count(argv[4], 1, 3600 * 1000L);
    conn c = {.fd = -1}, ctl = {.fd = -1};
    if (conn_open(&c, port) < 0 || conn_open(&ctl, port) < 0) conn_fail("connect");
    long cap = timeout_ms * 100 + 1000; /* at most one request per 10 µs */
    uint64_t *lat = malloc(sizeof(*lat) * (size_t)(idle_ops > cap ? idle_ops : cap));
    char *val = make_value(dsize);
    if (!lat) return 1;
    run_ops(&c, 'a', idle_ops, keyspace, val, (size_t)dsize, lat, 0, NULL, NULL);
    qsort(lat, (size_t)idle_ops, sizeof(*lat), cmp_u64);
    double idle_p99 = pct_us(lat, idle_ops, 0.99);
    child_watch w = {.ctl = &ctl};
    w.rss_base = w.rss_peak = info_get(&ctl, "memory", "used_memory_rss");
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    w.deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    w.pid = fork();
    if (w.pid < 0) return 1;
    if (w.pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[5], argv + 5);
        _exit(127);
    }
    long ops = run_ops(&c, 'a', cap, keyspace, val, (size_t)dsize, lat, 64, child_sample, &w);
    while (!child_sample(&w)) usleep(1000); /* outlived the cap: wait, unmeasured */
    double ms = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
    if (w.timed_out || !WIFEXITED(w.status) || WEXITSTATUS(w.status) != 0) {
        fprintf(stderr, "lt-load: %s %s\n", argv[5], w.timed_out ? "timed out" : "failed");
        return 1;
    }
    qsort(lat, (size_t)ops, sizeof(*lat), cmp_u64);
    printf("idle_p99_us=%.1f during_p99_us=%.1f during_ops=%ld during_ms=%.1f "
           "rss_extra_bytes=%lld\n",
           idle_p99, pct_us(lat, ops, 0.99), ops, ms, w.rss_peak - w.rss_base);
    conn_close(&c);
    conn_close(&ctl);
    free(lat);
    free(val);
    return 0;
}

/* ---- pubsub ------------------------------------------------------------- */

#define PS_BATCH 16
#define PS_WINDOW 1000 /* messages the publisher may run ahead of the readers */
#define PS_MAX_SUBS 10000

static atomic_ullong ps_read_bytes; /* summed over every subscriber */

typedef struct ps_args {
    conn *subs;
    long nsubs;
    unsigned long long want; /* bytes every subscriber must read in total */
    uint64_t deadline;
    int ok;
} ps_args;

static void *ps_reader(void *arg) {
    ps_args *a = arg;
    struct pollfd *pf = calloc((size_t)a->nsubs, sizeof(*pf));
    static char buf[1 << 16];
    if (!pf) return NULL;
    for (long i = 0; i < a->nsubs; i++) pf[i] = (struct pollfd){.fd = a->subs[i].fd, .events = POLLIN};
    unsigned long long got = 0;
    while (got < a->want) {
        if (now_ns(CLOCK_MONOTONIC) > a->deadline) break;
        int n = poll(pf, (nfds_t)a->nsubs, 100);
        if (n < 0 && errno != EINTR) break;
        for (long i = 0; i < a->nsubs && n > 0; i++) {
            if (!pf[i].revents) continue;
            n--;
            ssize_t r = read(pf[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                free(pf);
                return NULL; /* a subscriber was disconnected */
            }
            got += (unsigned long long)r;
            atomic_fetch_add(&ps_read_bytes, (unsigned long long)r);
        }
    }
    a->ok = got == a->want;
    free(pf);
    return NULL;
}

static int cmd_pubsub(int argc, char **argv) {
    if (argc != 5) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    long nsubs = parse_count(argv[1], 1, PS_MAX_SUBS);
    long msgs = parse_count(argv[2], 1, LOAD_MAX_OPS);
    long psize = parse_count(argv[3], 1, 4096);
    long timeout_ms = parse_count(argv[4], 1, 3600000);
    conn *subs = calloc((size_t)nsubs, sizeof(*subs));
    if (!subs) conn_fail("calloc");
    const char *sa[2] = {"SUBSCRIBE", "bench:ch"};
    size_t sl[2] = {9, 8};
    for (long i = 0; i < nsubs; i++) {
        if (conn_open(&subs[i], port) < 0) conn_fail("connect");
        if (conn_call(&subs[i], 2, sa, sl, NULL, 0) != '*') conn_fail("SUBSCRIBE");
        free(subs[i].buf); /* the reader thread reads the socket directly */
        subs[i].buf = NULL;
    }
    char *payload = make_value(psize);
    char frame[128];
    size_t flen = (size_t)snprintf(frame, sizeof(frame), "*3\r\n$7\r\nmessage\r\n$8\r\nbench:ch\r\n$%ld\r\n",
                                   psize) + (size_t)psize + 2;
    conn pub;
    if (conn_open(&pub, port) < 0) conn_fail("connect");
    const char *pa[3] = {"PUBLISH", "bench:ch", payload};
    size_t pl[3] = {7, 8, (size_t)psize};
    char *batch = malloc((size_t)(psize + 64) * PS_BATCH);
    if (!batch) conn_fail("malloc");
    size_t one = resp_format(batch, 3, pa, pl);
    for (int i = 1; i < PS_BATCH; i++) memcpy(batch + one * (size_t)i, batch, one);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    ps_args a = {subs, nsubs, (unsigned long long)flen * (unsigned long long)msgs * (unsigned long long)nsubs,
                 t0 + (uint64_t)timeout_ms * 1000000ull, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, ps_reader, &a) != 0) conn_fail("pthread_create");
    char out[64];
    int bad = 0;
    for (long sent = 0; sent < msgs && !bad;) {
        long k = msgs - sent < PS_BATCH ? msgs - sent : PS_BATCH;
        /* Stay within PS_WINDOW messages of what the readers have taken. */
        while (sent > PS_WINDOW &&
               atomic_load(&ps_read_bytes) < (unsigned long long)(sent - PS_WINDOW) * flen * (unsigned long long)nsubs) {
            if (now_ns(CLOCK_MONOTONIC) > a.deadline) { bad = 1; break; }
            sched_yield();
        }
        conn_write(&pub, batch, one * (size_t)k);
        for (long i = 0; i < k; i++) {
            if (conn_reply(&pub, out, sizeof(out)) != ':') conn_fail("PUBLISH reply");
            if (strtol(out, NULL, 10) != nsubs) {
                fprintf(stderr, "lt-load: PUBLISH reached %s of %ld subscribers\n", out, nsubs);
                bad = 1;
            }
        }
        sent += k;
    }
    uint64_t tpub = now_ns(CLOCK_MONOTONIC);
    pthread_join(th, NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (bad || !a.ok) {
        fprintf(stderr, "lt-load: pubsub: %llu of %llu bytes delivered\n",
                (unsigned long long)atomic_load(&ps_read_bytes), a.want);
        return 1;
    }
    printf("delivered_per_s=%.0f published_per_s=%.0f ms=%.0f\n",
           (double)msgs * (double)nsubs / ((double)(t1 - t0) / 1e9),
           (double)msgs / ((double)(tpub - t0) / 1e9), (double)(t1 - t0) / 1e6);
    for (long i = 0; i < nsubs; i++) conn_close(&subs[i]);
    conn_close(&pub);
    free(subs);
    free(batch);
    free(payload);
    return 0;
}

static int cmd_submem(int argc, char **argv) {
    if (argc != 3) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    long nconn = parse_count(argv[1], 1, PS_MAX_SUBS);
    long per = parse_count(argv[2], 1, 100000);
    conn *cs = calloc((size_t)nconn, sizeof(*cs));
    conn ctl;
    if (!cs || conn_open(&ctl, port) < 0) conn_fail("connect");
    const char *ping[1] = {"PING"};
    size_t pingl[1] = {4};
    for (long i = 0; i < nconn; i++) {
        if (conn_open(&cs[i], port) < 0) conn_fail("connect");
        conn_call(&cs[i], 1, ping, pingl, NULL, 0);
    }
    long long m0 = info_get(&ctl, "memory", "used_memory");
    char name[64];
    for (long i = 0; i < nconn; i++) {
        for (long j = 0; j < per; j++) {
            const char *sa[2] = {"SUBSCRIBE", name};
            size_t sl[2] = {9, (size_t)snprintf(name, sizeof(name), "chan:%06ld:%06ld", i, j)};
            conn_call(&cs[i], 2, sa, sl, NULL, 0);
        }
    }
    long long m1 = info_get(&ctl, "memory", "used_memory");
    if (m0 < 0 || m1 < 0) conn_fail("INFO used_memory");
    printf("bytes_per_sub=%.1f subs=%ld\n", (double)(m1 - m0) / (double)(nconn * per), nconn * per);
    for (long i = 0; i < nconn; i++) conn_close(&cs[i]);
    conn_close(&ctl);
    free(cs);
    return 0;
}

/* ---- freeport ------------------------------------------------------------ */

static int cmd_freeport(void) {
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        conn_fail("freeport");
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

/* ---- cache ---------------------------------------------------------------- */

#define CACHE_BATCH 16

/* used_memory / maxmemory from one INFO memory reply (0 without a limit). */
static double used_ratio(conn *c) {
    static char info[LOAD_BUF_BYTES];
    const char *argv[2] = {"INFO", "memory"};
    size_t lens[2] = {4, 6};
    if (conn_call(c, 2, argv, lens, info, sizeof(info)) != '$') return 0;
    long long used = info_field(info, "used_memory"), max = info_field(info, "maxmemory");
    return max > 0 && used > 0 ? (double)used / (double)max : 0;
}

/* Rank 0..n-1 of a Zipf(0.99) draw: binary search of the cumulative
 * distribution cdf[] (n entries, last 1.0). */
static long zipf_draw(const double *cdf, long n) {
    double u = (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int cmd_cache(int argc, char **argv) {
    if (argc < 6) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    long nkeys = parse_count(argv[1], 1, LOAD_MAX_OPS);
    long reqs = parse_count(argv[2], 1, LOAD_MAX_OPS);
    long dsize = parse_count(argv[3], 1, LOAD_MAX_DATASIZE);
    long nscan = parse_count(argv[4], 0, LOAD_MAX_OPS);
    rng_state = (uint64_t)parse_count(argv[5], 1, LOAD_MAX_OPS) * 0x9e3779b97f4a7c15ull;
    double *cdf = malloc(sizeof(double) * (size_t)nkeys);
    char *val = make_value(dsize);
    char *out = malloc((size_t)CACHE_BATCH * ((size_t)dsize + 128));
    if (!cdf || !out) return 1;
    double sum = 0;
    for (long i = 0; i < nkeys; i++) cdf[i] = (sum += 1.0 / pow((double)(i + 1), 0.99));
    for (long i = 0; i < nkeys; i++) cdf[i] /= sum;
    conn c;
    if (conn_open(&c, port) < 0) conn_fail("connect");
    long done = 0, scanned = 0, gets = 0, hits = 0, zgets = 0, zhits = 0, wgets = 0, whits = 0;
    long scan_at = reqs / 2, window_end = -1, batches = 0;
    double max_ratio = used_ratio(&c);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (done < reqs) {
        char keys[CACHE_BATCH][40];
        size_t klens[CACHE_BATCH], off = 0;
        int is_scan[CACHE_BATCH], n = 0;
        for (; n < CACHE_BATCH && done < reqs; n++) {
            if (done >= scan_at && scanned < nscan) {
                klens[n] = (size_t)sprintf(keys[n], "scan:%ld", scanned++);
                is_scan[n] = 1;
                if (scanned == nscan) window_end = done + reqs / 4;
            } else {
                klens[n] = (size_t)sprintf(keys[n], "ck:%ld", zipf_draw(cdf, nkeys));
                is_scan[n] = 0;
                done++;
            }
            const char *av[2] = {"GET", keys[n]};
            size_t lens[2] = {3, klens[n]};
            off += resp_format(out + off, 2, av, lens);
        }
        conn_write(&c, out, off);
        int miss[CACHE_BATCH], nmiss = 0;
        for (int i = 0; i < n; i++) {
            /* A hit's payload lands in first[] (values are never empty);
             * a miss ("$-1") leaves it empty. */
            char first[2];
            int t = conn_reply(&c, first, sizeof(first));
            if (t < 0) conn_fail("read");
            if (t == '-') {
                fprintf(stderr, "lt-load: error reply to GET\n");
                return 1;
            }
            int hit = first[0] != '\0';
            gets++;
            hits += hit;
            if (!is_scan[i]) {
                zgets++;
                zhits += hit;
                if (window_end >= 0 && done <= window_end) wgets++, whits += hit;
            }
            if (!hit) miss[nmiss++] = i;
        }
        off = 0;
        for (int m = 0; m < nmiss; m++) {
            const char *av[3] = {"SET", keys[miss[m]], val};
            size_t lens[3] = {3, klens[miss[m]], (size_t)dsize};
            off += resp_format(out + off, 3, av, lens);
        }
        if (off) conn_write(&c, out, off);
        for (int m = 0; m < nmiss; m++) {
            int t = conn_reply(&c, NULL, 0);
            if (t < 0) conn_fail("read");
            if (t == '-') {
                fprintf(stderr, "lt-load: error reply to SET (a full cache without eviction?)\n");
                return 1;
            }
        }
        if (++batches % 64 == 0) {
            double r = used_ratio(&c);
            if (r > max_ratio) max_ratio = r;
        }
    }
    double r = used_ratio(&c);
    if (r > max_ratio) max_ratio = r;
    uint64_t ms = (now_ns(CLOCK_MONOTONIC) - t0) / 1000000;
    printf("hit_ratio=%.4f zipf_hit_ratio=%.4f after_scan_hit_ratio=%.4f gets=%ld "
           "max_used_ratio=%.4f ms=%llu\n",
           gets ? (double)hits / (double)gets : 0, zgets ? (double)zhits / (double)zgets : 0,
           wgets ? (double)whits / (double)wgets : 0, gets, max_ratio, (unsigned long long)ms);
    conn_close(&c);
    free(cdf);
    free(val);
    free(out);
    return 0;
}

static int cmd_memwatch(int argc, char **argv) {
    if (argc < 3) die_usage();
    int port = (int)parse_count(argv[0], 1, 65535);
    const char *stopfile = argv[1];
    long timeout_ms = parse_count(argv[2], 1, 3600 * 1000L);
    conn c;
    if (conn_open(&c, port) < 0) conn_fail("connect");
    double max_ratio = 0;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    while (access(stopfile, F_OK) != 0 &&
           now_ns(CLOCK_MONOTONIC) - t0 < (uint64_t)timeout_ms * 1000000ull) {
        double r = used_ratio(&c);
        if (r > max_ratio) max_ratio = r;
        usleep(2000);
    }
    printf("max_used_ratio=%.4f\n", max_ratio);
    conn_close(&c);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die_usage();
    rng_state ^= (uint64_t)getpid() << 17; /* distinct key sequences per run */
    if (!strcmp(argv[1], "gen")) return cmd_gen(argc - 2, argv + 2);
    if (!strcmp(argv[1], "latency")) return cmd_latency(argc - 2, argv + 2);
    if (!strcmp(argv[1], "ready")) return cmd_ready(argc - 2, argv + 2);
    if (!strcmp(argv[1], "bgsave")) return cmd_bgsave(argc - 2, argv + 2);
    if (!strcmp(argv[1], "during")) return cmd_during(argc - 2, argv + 2);
    if (!strcmp(argv[1], "pubsub")) return cmd_pubsub(argc - 2, argv + 2);
    if (!strcmp(argv[1], "submem")) return cmd_submem(argc - 2, argv + 2);
    if (!strcmp(argv[1], "cache")) return cmd_cache(argc - 2, argv + 2);
    if (!strcmp(argv[1], "memwatch")) return cmd_memwatch(argc - 2, argv + 2);
    if (!strcmp(argv[1], "freeport")) return cmd_freeport();
    die_usage();
}
