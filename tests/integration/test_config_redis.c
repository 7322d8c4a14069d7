/*
 * Drop-in configuration (issue #13): every parameter Redis 7.0.15 lists in
 * CONFIG GET * exists in Lightning with Redis's default, aliases, CONFIG
 * SET error texts (compared with a real redis-server) and atomicity;
 * Debian's stock /etc/redis/redis.conf starts Lightning; CONFIG REWRITE
 * keeps comments; and the process directives have their effect
 * (daemonize + pidfile, supervised systemd, proc title, oom-score-adj,
 * disable-thp).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../harness.h"


/* Lightning's own directives (not in Redis). */
static const char *const lightning_own[] = {
    "io-backend", "db-shards", "io-spin-us", "client-output-backpressure", "wal-segment-size",
    "snapshot-compression", "wal-checkpoint-size", "metrics-port", "mvcc-max-pinned-versions",
    "wal-archive-dir", "wal-archive-retention", "handshake-timeout-ms", NULL};

/* Parameters whose value differs on purpose between the two test servers
 * (harness options, Lightning's documented defaults) or whose CONFIG SET
 * Lightning restricts on purpose (see docs/CONFIG.md). */
static const char *const value_differs[] = {"port", "dir", "logfile", "bind", "save",
                                            "appendonly", "io-threads", NULL};
static const char *const set_differs[] = {"port", "bind", "appendonly", "proto-max-bulk-len",
                                          "requirepass", "masterauth", NULL};

#define CA(c, ...) cmd_argv((c), (const char *const[]){__VA_ARGS__, NULL})

static int in_list(const char *const *list, const char *name) {
    for (; *list; list++)
        if (!strcmp(*list, name)) return 1;
    return 0;
}

/* CONFIG GET * as parallel name/value arrays (malloc'd strings). */
typedef struct params {
    char **name, **value;
    size_t n;
} params;

static params get_all(redisContext *c) {
    params p = {0};
    redisReply *r = redisCommand(c, "CONFIG GET *");
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return p;
    }
    p.n = r->elements / 2;
    p.name = calloc(p.n, sizeof(char *));
    p.value = calloc(p.n, sizeof(char *));
    for (size_t i = 0; i < p.n; i++) {
        p.name[i] = strdup(r->element[2 * i]->str);
        p.value[i] = strdup(r->element[2 * i + 1]->str);
    }
    freeReplyObject(r);
    return p;
}

static const char *find(const params *p, const char *name) {
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->name[i], name)) return p->value[i];
    return NULL;
}

static void params_free(params *p) {
    for (size_t i = 0; i < p->n; i++) free(p->name[i]), free(p->value[i]);
    free(p->name);
    free(p->value);
}

TEST(config_get_all_matches_redis) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    if (!r) return;
    redisContext *cl = harness_connect(l), *cr = harness_connect(r);
    REQUIRE(cl && cr);
    params pl = get_all(cl), pr = get_all(cr);
    REQUIRE(pr.n >= 190 && pl.n > 0);
    for (size_t i = 0; i < pr.n; i++) {
        const char *name = pr.name[i], *lv = find(&pl, name);
        if (!lv) {
            fprintf(stderr, "  missing parameter %s\n", name);
            CHECK(0);
        } else if (!in_list(value_differs, name) && strcmp(lv, pr.value[i])) {
            fprintf(stderr, "  default of %s: lightning '%s' redis '%s'\n", name, lv,
                    pr.value[i]);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < pl.n; i++) {
        if (!find(&pr, pl.name[i]) && !in_list(lightning_own, pl.name[i])) {
            fprintf(stderr, "  parameter %s is not Redis's nor listed as Lightning's own\n",
                    pl.name[i]);
            CHECK(0);
        }
    }
    /* Aliases, several patterns, exact names as typed. */
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "slave-read-only", "replica-read-only");
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "slave*", "repl-*", "*-announce-*");
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "LUA-TIME-LIMIT", "busy-reply-threshold");
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "tls-*", "cluster-*", "oom*", "latency*");
    /* Hidden parameters: found by exact name only. */
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "key-load-delay", "rdb-key-save-delay",
                      "loading-process-events-interval-bytes", "watchdog-period");
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "*delay*", "watchdog*");
    static const char *const hidden[] = {"key-load-delay", "rdb-key-save-delay",
                                         "loading-process-events-interval-bytes",
                                         "watchdog-period"};
    for (size_t i = 0; i < 4; i++) {
        COMPARE(cl, cr, "CONFIG", "SET", hidden[i], "abc");
        COMPARE(cl, cr, "CONFIG", "SET", hidden[i], "999999999999");
        COMPARE(cl, cr, "CONFIG", "SET", hidden[i], "-999999999999");
    }
    params_free(&pl);
    params_free(&pr);
}

/* For every parameter both servers know, bad values get the same reply
 * and change nothing. */
TEST(config_set_errors_match_redis) {
    harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
    REQUIRE(l);
    if (!r) return;
    redisContext *cl = harness_connect(l), *cr = harness_connect(r);
    REQUIRE(cl && cr);
    params pl = get_all(cl), pr = get_all(cr);
    static const char *const bad[] = {"abc", "999999999999", "-999999999999", "-1", "",
                                      "1 2", "yes no"};
    int compared = 0;
    for (size_t i = 0; i < pr.n; i++) {
        const char *name = pr.name[i];
        const char *lv = find(&pl, name);
        if (!lv || in_list(set_differs, name)) continue;
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
            COMPARE(cl, cr, "CONFIG", "SET", name, bad[b]);
            /* Whatever was accepted is put back on both. */
            cmd_argv(cl, (const char *const[]){"CONFIG", "SET", name, lv, NULL});
            cmd_argv(cr, (const char *const[]){"CONFIG", "SET", name, pr.value[i], NULL});
            compared++;
        }
    }
    CHECK(compared > 150 * 7);
    /* Several at once: atomic, the first bad one is reported. */
    COMPARE(cl, cr, "CONFIG", "SET", "maxclients", "100", "repl-timeout", "0", "hz", "20");
    COMPARE(cl, cr, "CONFIG", "GET", "maxclients");
    COMPARE(cl, cr, "CONFIG", "SET", "SLAVE-READ-ONLY", "abc");
    COMPARE(cl, cr, "CONFIG", "SET", "slave-read-only", "no", "replica-read-only", "yes");
    COMPARE_UNORDERED(cl, cr, "CONFIG", "GET", "*read-only");
    COMPARE(cl, cr, "CONFIG", "SET", "Daemonize", "yes");
    /* port / bind / appendonly (immutable here, settable in Redis) set to
     * the value they have: a no-op that succeeds on both (Redis's CONFIG
     * sanity test sets every parameter to its own value). */
    static const char *const same[] = {"port", "bind", "appendonly"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        CHECK_EQ_STR(cmd_argv(cl, (const char *const[]){"CONFIG", "SET", same[i],
                                                        find(&pl, same[i]), NULL}),
                     "status:\"OK\"");
        CHECK_EQ_STR(cmd_argv(cr, (const char *const[]){"CONFIG", "SET", same[i],
                                                        find(&pr, same[i]), NULL}),
                     "status:\"OK\"");
    }
    /* Lightning's own start-up directive, likewise. */
    CHECK_EQ_STR(cmd_argv(cl, (const char *const[]){"CONFIG", "SET", "io-backend",
                                                    find(&pl, "io-backend"), NULL}),
                 "status:\"OK\"");
    COMPARE(cl, cr, "CONFIG", "SET", "appendonly", find(&pl, "appendonly"), "hz", "abc");
    COMPARE(cl, cr, "CONFIG", "GET", "hz");
    COMPARE(cl, cr, "CONFIG", "SET", "hz", "5", "HZ", "6");
    COMPARE(cl, cr, "CONFIG", "SET", "oom-score-adj-values", "1 2 3 4");
    COMPARE(cl, cr, "CONFIG", "SET", "oom-score-adj-values", "0  200 800");
    COMPARE(cl, cr, "CONFIG", "SET", "shutdown-on-sigterm", "save  now");
    COMPARE(cl, cr, "CONFIG", "SET", "shutdown-on-sigterm", "");
    COMPARE(cl, cr, "CONFIG", "SET", "shutdown-on-sigint", "save now");
    COMPARE(cl, cr, "CONFIG", "GET", "shutdown-on-sigint");
    COMPARE(cl, cr, "CONFIG", "SET", "latency-tracking-info-percentiles", "50.5000 99 100");
    COMPARE(cl, cr, "CONFIG", "GET", "latency-tracking-info-percentiles");
    COMPARE(cl, cr, "CONFIG", "SET", "oom-score-adj", "relative");
    COMPARE(cl, cr, "CONFIG", "GET", "oom-score-adj");
    COMPARE(cl, cr, "CONFIG", "SET", "oom-score-adj", "no");
    COMPARE(cl, cr, "CONFIG", "SET", "proc-title-template", "{title} {nope}");
    COMPARE(cl, cr, "CONFIG", "SET", "appendfsync", "sometimes");
    COMPARE(cl, cr, "CONFIG", "SET", "dbfilename", "x.rdb");
    COMPARE(cl, cr, "CONFIG", "SET", "repl-backlog-size", "1gb", "slowlog-max-len", "1k");
    COMPARE(cl, cr, "CONFIG", "GET", "repl-backlog-size");
    params_free(&pl);
    params_free(&pr);
}

/* Debian's stock redis.conf, with only what a second instance must change
 * overridden (daemonize, pidfile, logfile; dir and port come from the
 * harness's command-line options). */
/* Debian's stock redis.conf as the tests use it (malloc'd), or NULL when
 * it is not installed. pidfile goes into piddir. */
static char *debian_conf_copy(const char *piddir) {
    FILE *f = fopen("/etc/redis/redis.conf", "r");
    if (!f) {
        printf("# skip: /etc/redis/redis.conf not readable (%s)\n", strerror(errno));
        return NULL;
    }
    char *text = malloc(1 << 20);
    size_t len = 0;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char name[128] = "";
        sscanf(line, " %127[^ \t\r\n]", name);
        /* What a second instance must change: set below (daemonize,
         * pidfile, logfile) or by the harness's options (dir, port). */
        static const char *const overridden[] = {"daemonize", "pidfile", "logfile", "dir",
                                                 "port", NULL};
        if (in_list(overridden, name)) {
            const char *mark = "# overridden by the test: ";
            memcpy(text + len, mark, strlen(mark));
            len += strlen(mark);
        }
        size_t n = strlen(line);
        if (len + n + 1 < (1 << 20) - 512) memcpy(text + len, line, n), len += n;
    }
    fclose(f);
    snprintf(text + len, 512, "\ndaemonize no\npidfile %s/redis.pid\nlogfile \"\"\n", piddir);
    return text;
}

/* Debian's stock redis.conf, with only what a second instance must change
 * overridden (daemonize, pidfile, logfile; dir and port come from the
 * harness's command-line options). */
TEST(debian_stock_redis_conf) {
    char piddir[] = "/tmp/lt-debconf-XXXXXX";
    REQUIRE(mkdtemp(piddir));
    char *text = debian_conf_copy(piddir);
    if (!text) {
        rmdir(piddir);
        return;
    }
    harness_opts o = {.kind = HARNESS_LIGHTNING, .config_text = text};
    harness_server *l = harness_start_opts(&o);
    free(text);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET k v"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "GET k"), "bulk:\"v\"");
    CHECK_EQ_STR(cmd(c, "CONFIG GET dbfilename"), "array[bulk:\"dbfilename\",bulk:\"dump.rdb\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET replica-priority"),
                 "array[bulk:\"replica-priority\",bulk:\"100\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET auto-aof-rewrite-min-size"),
                 "array[bulk:\"auto-aof-rewrite-min-size\",bulk:\"67108864\"]");
    char pidpath[600], want[32];
    snprintf(pidpath, sizeof(pidpath), "%s/redis.pid", piddir);
    FILE *pf = fopen(pidpath, "r");
    CHECK(pf != NULL);
    if (pf) {
        char got[32] = "";
        CHECK(fgets(got, sizeof(got), pf) != NULL);
        fclose(pf);
        snprintf(want, sizeof(want), "%d\n", (int)l->pid);
        CHECK_EQ_STR(got, want);
    }
    CHECK_EQ_INT(harness_stop(l), 0);
    CHECK(access(pidpath, F_OK) == -1); /* removed at exit */
    rmdir(piddir);
}

static const char *read_small(const char *path);

/* The part of a rewritten config before "# Generated by CONFIG REWRITE"
 * (the appended tail holds each server's own forced lines), with the
 * server's dir and port replaced by DIR and PORT, without blank lines and
 * without the bind line (Lightning's default bind is the harness's, which
 * Redis, like Lightning for its own default, leaves out). malloc'd. */
static char *rewritten_head(const harness_server *s) {
    const char *all = read_small(s->config);
    const char *end = strstr(all, "# Generated by CONFIG REWRITE");
    size_t n = end ? (size_t)(end - all) : strlen(all);
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if ((i == 0 || all[i - 1] == '\n') &&
            (all[i] == '\n' || !strncmp(all + i, "bind ", 5))) {
            while (i < n && all[i] != '\n') i++;
            i++;
        } else if (!strncmp(all + i, s->dir, strlen(s->dir))) {
            memcpy(out + o, "DIR", 3), o += 3, i += strlen(s->dir);
        } else if (!strncmp(all + i, port, strlen(port))) {
            memcpy(out + o, "PORT", 4), o += 4, i += strlen(port);
        } else {
            out[o++] = all[i++];
        }
    }
    out[o] = '\0';
    return out;
}

/* CONFIG REWRITE of Debian's redis.conf: the same file as Redis writes
 * (comments, order, each line's new form). */
TEST(debian_conf_rewrite_matches_redis) {
    char piddir[] = "/tmp/lt-debconf-XXXXXX";
    REQUIRE(mkdtemp(piddir));
    char *text = debian_conf_copy(piddir);
    if (!text || !harness_have_redis()) {
        free(text);
        rmdir(piddir);
        return;
    }
    harness_opts ol = {.kind = HARNESS_LIGHTNING, .config_text = text};
    harness_opts orr = {.kind = HARNESS_REDIS, .config_text = text};
    harness_server *l = harness_start_opts(&ol), *r = harness_start_opts(&orr);
    free(text);
    REQUIRE(l && r);
    redisContext *cl = harness_connect(l), *cr = harness_connect(r);
    REQUIRE(cl && cr);
    COMPARE(cl, cr, "CONFIG", "SET", "repl-backlog-size", "3mb", "slave-priority", "5",
            "oom-score-adj-values", "1 2 3", "rdbcompression", "no");
    COMPARE(cl, cr, "CONFIG", "REWRITE");
    char *hl = rewritten_head(l), *hr = rewritten_head(r);
    if (strcmp(hl, hr)) {
        char *el, *er;
        size_t at = harness_diff_excerpt(hl, hr, &el, &er);
        fprintf(stderr, "  rewritten files differ at byte %zu:\n  lightning: %s\n  redis:     %s\n",
                at, el, er);
        free(el);
        free(er);
        CHECK(0);
    }
    free(hl);
    free(hr);
    harness_stop(l);
    harness_stop(r);
    rmdir(piddir);
}

/* A whole file (up to 1 MiB) in a static buffer; "" if unreadable. */
static const char *read_small(const char *path) {
    static char buf[1 << 20];
    FILE *f = fopen(path, "r");
    if (!f) return "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

TEST(rewrite_keeps_comments_and_aliases) {
    harness_opts o = {.kind = HARNESS_LIGHTNING,
                      .config_text = "# My server\n"
                                     "slave-serve-stale-data no\n"
                                     "# replication block\n"
                                     "repl-backlog-size 2mb\n"
                                     "lua-time-limit 1000\n"
                                     "oom-score-adj-values 0 100 200\n"};
    harness_server *l = harness_start_opts(&o);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG SET repl-backlog-size 4mb slowlog-max-len 77 "
                        "shutdown-on-sigterm nosave"),
                 "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG REWRITE"), "status:\"OK\"");
    const char *got = read_small(l->config);
    CHECK(!strncmp(got,
                   "# My server\n"
                   "replica-serve-stale-data no\n"
                   "# replication block\n"
                   "repl-backlog-size 4mb\n"
                   "busy-reply-threshold 1000\n"
                   "oom-score-adj-values 0 100 200\n",
                   strlen("# My server\nreplica-serve-stale-data no\n# replication block\n"
                          "repl-backlog-size 4mb\nbusy-reply-threshold 1000\n"
                          "oom-score-adj-values 0 100 200\n")));
    CHECK(strstr(got, "\nslowlog-max-len 77\n"));
    CHECK(strstr(got, "\nshutdown-on-sigterm nosave\n"));
    /* The rewritten file starts the server with the same values. */
    REQUIRE(harness_restart(l) == 0);
    c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "CONFIG GET slowlog-max-len"),
                 "array[bulk:\"slowlog-max-len\",bulk:\"77\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET repl-backlog-size"),
                 "array[bulk:\"repl-backlog-size\",bulk:\"4194304\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET slave-serve-stale-data"),
                 "array[bulk:\"slave-serve-stale-data\",bulk:\"no\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET oom-score-adj-values"),
                 "array[bulk:\"oom-score-adj-values\",bulk:\"0 100 200\"]");
}

TEST(bad_config_stops_startup) {
    harness_opts o = {.kind = HARNESS_LIGHTNING,
                      .config_text = "port 7000\n\nnot-a-directive 1\n",
                      .no_wait = 1};
    harness_server *l = harness_start_opts(&o);
    REQUIRE(l);
    int st = harness_wait_exit(l, 10000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    const char *out = read_small(l->console);
    CHECK(strstr(out, "Reading the configuration file ") && strstr(out, "at line 3\n"));
    CHECK(strstr(out, ">>> 'not-a-directive 1'\nBad directive or wrong number of arguments"));

    harness_opts o2 = {.kind = HARNESS_LIGHTNING, .config_text = "repl-timeout 0\n",
                       .no_wait = 1};
    l = harness_start_opts(&o2);
    REQUIRE(l);
    st = harness_wait_exit(l, 10000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    CHECK(strstr(read_small(l->console),
                 ">>> 'repl-timeout 0'\nargument must be between 1 and 2147483647 inclusive"));
}

static int pid_alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

TEST(daemonize_and_pidfile) {
    char dir[] = "/tmp/lt-daemon-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char pidfile[600];
    snprintf(pidfile, sizeof(pidfile), "%s/lightning.pid", dir);
    const char *d[] = {"daemonize", "yes", "pidfile", pidfile, NULL};
    harness_opts o = {.kind = HARNESS_LIGHTNING, .directives = d, .no_wait = 1};
    harness_server *l = harness_start_opts(&o);
    REQUIRE(l);
    /* The process the harness started returns at once, with status 0. */
    int st = harness_wait_exit(l, 10000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t daemon = 0;
    for (int i = 0; i < 1000 && !daemon; i++) { /* bounded: 10 s */
        FILE *f = fopen(pidfile, "r");
        int v = 0;
        if (f && fscanf(f, "%d", &v) == 1) daemon = v;
        if (f) fclose(f);
        if (!daemon) sleep_ms(10);
    }
    REQUIRE(daemon > 0);
    CHECK(daemon != l->pid);
    CHECK(getsid(daemon) != getsid(0)); /* its own session */
    redisContext *c = redisConnect("127.0.0.1", l->port);
    CHECK(c && !c->err);
    if (c && !c->err) {
        /* The pid file is written before the data set is loaded (as
         * Redis does): PING answers -LOADING meanwhile, as Redis's. */
        redisReply *r = redisCommand(c, "PING");
        for (int i = 0; i < 1000 && r && r->type == REDIS_REPLY_ERROR &&
                        !strncmp(r->str, "LOADING", 7);
             i++) {
            freeReplyObject(r);
            sleep_ms(10);
            r = redisCommand(c, "PING");
        }
        if (!(r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG"))) {
            char *t = r ? reply_to_string(r) : NULL;
            fprintf(stderr, "# PING: %s (%s)\n", t ? t : "no reply", c->errstr);
            free(t);
        }
        CHECK(r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG"));
        if (r) freeReplyObject(r);
        r = redisCommand(c, "SHUTDOWN NOSAVE");
        if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
    for (int i = 0; i < 1000 && pid_alive(daemon); i++) sleep_ms(10);
    if (pid_alive(daemon)) {
        kill(daemon, SIGKILL);
        CHECK(0);
    }
    CHECK(access(pidfile, F_OK) == -1);
    rmdir(dir);
}

TEST(supervised_systemd_notify) {
    char dir[] = "/tmp/lt-notify-XXXXXX";
    REQUIRE(mkdtemp(dir));
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    snprintf(su.sun_path, sizeof(su.sun_path), "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(bind(fd, (struct sockaddr *)&su, sizeof(su)) == 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setenv("NOTIFY_SOCKET", su.sun_path, 1);
    harness_server *l = harness_start("supervised", "systemd", "daemonize", "yes", NULL);
    unsetenv("NOTIFY_SOCKET");
    REQUIRE(l); /* supervised: daemonize is ignored, the harness's pid serves */
    char msg[256];
    ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
    CHECK(n > 0);
    msg[n > 0 ? n : 0] = '\0';
    CHECK_EQ_STR(msg, "STATUS=Ready to accept connections\n");
    n = recv(fd, msg, sizeof(msg) - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    CHECK_EQ_STR(msg, "READY=1\n");
    CHECK_EQ_INT(harness_stop(l), 0);
    n = recv(fd, msg, sizeof(msg) - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    CHECK_EQ_STR(msg, "STOPPING=1\n");
    close(fd);
    unlink(su.sun_path);
    rmdir(dir);
}

static const char *proc_file(pid_t pid, const char *name) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    return read_small(path);
}

TEST(proc_title) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    char want[512];
    snprintf(want, sizeof(want), "%s 127.0.0.1:%d", harness_bin(HARNESS_LIGHTNING), l->port);
    CHECK_EQ_STR(proc_file(l->pid, "cmdline"), want); /* NUL-padded: compares to the NUL */
    CHECK_EQ_STR(CA(c, "CONFIG", "SET", "proc-title-template", "{title} custom-{port} {{x}"),
                 "status:\"OK\"");
    snprintf(want, sizeof(want), "%s custom-%d {x}", harness_bin(HARNESS_LIGHTNING), l->port);
    CHECK_EQ_STR(proc_file(l->pid, "cmdline"), want);
    harness_stop(l);

    l = harness_start("set-proc-title", "no", NULL);
    REQUIRE(l);
    CHECK_EQ_STR(proc_file(l->pid, "cmdline"), harness_bin(HARNESS_LIGHTNING)); /* argv[0] */
}

TEST(oom_score_adj) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    int base = atoi(proc_file(l->pid, "oom_score_adj"));
    CHECK_EQ_STR(CA(c, "CONFIG", "SET", "oom-score-adj-values", "77 200 800", "oom-score-adj", "absolute"),
                 "status:\"OK\"");
    CHECK_EQ_INT(atoi(proc_file(l->pid, "oom_score_adj")), 77);
    CHECK_EQ_STR(CA(c, "CONFIG", "SET", "oom-score-adj-values", "5 200 800", "oom-score-adj", "yes"),
                 "status:\"OK\"");
    CHECK_EQ_INT(atoi(proc_file(l->pid, "oom_score_adj")), base + 5);
    CHECK_EQ_STR(cmd(c, "CONFIG SET oom-score-adj no"), "status:\"OK\"");
    CHECK_EQ_INT(atoi(proc_file(l->pid, "oom_score_adj")), base);
}

TEST(disable_thp) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    const char *st = strstr(proc_file(l->pid, "status"), "THP_enabled:");
    if (!st) {
        printf("# skip: kernel does not report THP_enabled\n");
        return;
    }
    CHECK(!strncmp(st, "THP_enabled:\t0", 14));
    harness_stop(l);
    l = harness_start("disable-thp", "no", NULL);
    REQUIRE(l);
    st = strstr(proc_file(l->pid, "status"), "THP_enabled:");
    CHECK(st && !strncmp(st, "THP_enabled:\t1", 14));
}

/* Threads of pid named name (from /proc/<pid>/task/<tid>/comm). */
static int count_threads(pid_t pid, const char *name) {
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char comm[600];
        snprintf(comm, sizeof(comm), "%s/%s/comm", path, e->d_name);
        const char *c = read_small(comm);
        n += !strncmp(c, name, strlen(name)) && c[strlen(name)] == '\n';
    }
    closedir(d);
    return n;
}

TEST(jemalloc_bg_thread) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    if (count_threads(l->pid, "jemalloc_bg_thd") <= 0) {
        printf("# skip: no jemalloc background thread (not linked with jemalloc)\n");
        return;
    }
    CHECK_EQ_STR(cmd(c, "CONFIG SET jemalloc-bg-thread no"), "status:\"OK\"");
    /* jemalloc joins its threads before mallctl returns. */
    CHECK_EQ_INT(count_threads(l->pid, "jemalloc_bg_thd"), 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET jemalloc-bg-thread yes"), "status:\"OK\"");
    /* A new thread names itself once it runs: wait for that (bounded). */
    int n = 0;
    for (int i = 0; i < 500 && (n = count_threads(l->pid, "jemalloc_bg_thd")) <= 0; i++)
        sleep_ms(10);
    CHECK(n > 0);
}

static int dir_has_log(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        n += len > 4 && !strcmp(e->d_name + len - 4, ".log");
    }
    closedir(d);
    return n > 0;
}

/* appenddirname names the WAL directory; an older Lightning's wal/ is
 * adopted (renamed) at start-up with its records. */
TEST(appenddirname_names_the_wal) {
    harness_server *l = harness_start("save", "", "appenddirname", "mylog", NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET k1 v1"), "status:\"OK\"");
    char path[600], legacy[600];
    snprintf(path, sizeof(path), "%s/mylog", l->dir);
    CHECK(dir_has_log(path));
    harness_stop(l);

    l = harness_start("save", "", NULL);
    REQUIRE(l);
    c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "SET k2 v2"), "status:\"OK\"");
    /* The write reached the file before its reply (appendfsync everysec
     * writes each turn's records first), so SIGKILL loses nothing. */
    harness_kill9(l);
    snprintf(path, sizeof(path), "%s/appendonlydir", l->dir);
    snprintf(legacy, sizeof(legacy), "%s/wal", l->dir);
    REQUIRE(dir_has_log(path));
    REQUIRE(rename(path, legacy) == 0);
    REQUIRE(harness_restart(l) == 0);
    c = harness_connect(l);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "GET k2"), "bulk:\"v2\"");
    CHECK(dir_has_log(path));
    CHECK(access(legacy, F_OK) == -1);
}

TEST(always_show_logo) {
    harness_server *l = harness_start("always-show-logo", "yes", NULL);
    REQUIRE(l);
    CHECK(strstr(read_small(l->logfile), "(Redis 7.0.15 compatible), port "));
    harness_stop(l);
    l = harness_start(NULL); /* logging to a file: one line instead */
    REQUIRE(l);
    CHECK(!strstr(read_small(l->logfile), "(Redis 7.0.15 compatible), port "));
    CHECK(strstr(read_small(l->logfile), "Running mode=standalone, port="));
}

int main(void) {
    RUN(config_get_all_matches_redis);
    RUN(config_set_errors_match_redis);
    RUN(debian_stock_redis_conf);
    RUN(debian_conf_rewrite_matches_redis);
    RUN(rewrite_keeps_comments_and_aliases);
    RUN(bad_config_stops_startup);
    RUN(daemonize_and_pidfile);
    RUN(supervised_systemd_notify);
    RUN(proc_title);
    RUN(oom_score_adj);
    RUN(disable_thp);
    RUN(jemalloc_bg_thread);
    RUN(appenddirname_names_the_wal);
    RUN(always_show_logo);
    return testlib_finish();
}
