/*
 * harness: start, talk to and stop servers from black-box tests.
 *
 * Owns the lifecycle of server processes (Lightning and, for differential
 * tests, a real redis-server), the connections tests open to them, and the
 * canonical text form replies are compared in.
 *
 * Invariants:
 *  - every server listens on 127.0.0.1 only, on a port found free by binding
 *    port 0, with its own temp `dir` (mkdtemp under /tmp) holding the config
 *    file, `server.log` (the `logfile` directive) and `console.log` (the
 *    process's stdout+stderr);
 *  - every server started during a test is stopped by PID (SIGTERM, bounded
 *    wait, then SIGKILL) and its dir removed when the test function returns,
 *    even if a REQUIRE returned early: harness installs testlib's after-each
 *    hook. Calling harness_stop() yourself is fine and lets you check the
 *    exit status;
 *  - a Lightning server that died on its own (crash, unexpected exit) fails
 *    the current test; the tail of its logs is printed whenever the test
 *    failed or the server died;
 *  - every connection made with harness_connect()/raw_connect() is closed at
 *    the end of the test; never redisFree()/close() them yourself, use
 *    harness_disconnect()/raw_close();
 *  - every socket read has a timeout: a broken server makes a test fail,
 *    never hang.
 *
 * HARNESS_KEEP_DIRS=1 keeps the dirs (logs, config, data) of servers of
 * failed tests for inspection.
 *
 * Binaries: Lightning is $LIGHTNING_BIN if set (e.g. /usr/bin/redis-server to
 * check the tests themselves against Redis), else $BUILD/lightning-server with
 * BUILD defaulting to "build". Redis is $REDIS_SERVER_BIN or redis-server from
 * PATH; when it is missing, harness_start_redis() calls
 * testlib_skip("redis-server not found") (the test is reported skipped,
 * never passed) and returns NULL, and the compare
 * helpers then only run the command on the first server.
 *
 * Typical test:
 *
 *   TEST(echo) {
 *       harness_server *l = harness_start(NULL), *r = harness_start_redis(NULL);
 *       REQUIRE(l);
 *       redisContext *cl = harness_connect(l), *cr = harness_connect(r);
 *       REQUIRE(cl);
 *       CHECK_EQ_STR(COMPARE(cl, cr, "ECHO", "hi"), "bulk:\"hi\"");
 *   }   // both servers stopped and connections closed here
 *
 * Most differential tests use the pair and the helpers of difftest.h on top
 * of this.
 */
#ifndef LIGHTNING_HARNESS_H
#define LIGHTNING_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>

#include "testlib.h"

#define HARNESS_READY_TIMEOUT_MS 10000
#define HARNESS_STOP_TIMEOUT_MS 10000
#define HARNESS_CMD_TIMEOUT_MS 10000

typedef enum { HARNESS_LIGHTNING = 0, HARNESS_REDIS = 1 } harness_kind;

typedef struct harness_server {
    harness_kind kind;
    pid_t pid;           /* 0 once reaped */
    int port;
    char dir[256];       /* temp dir, removed when the server is stopped */
    char logfile[300];   /* dir/server.log */
    char console[300];   /* dir/console.log: stdout + stderr of the process */
    char config[300];    /* dir/server.conf, "" if started without one */
    int exit_status;     /* waitpid() status once reaped, else -1 */
    int expect_exit;     /* set by SHUTDOWN-style tests: exiting is not a crash */
    /* Private: argv the process was started with (kept for restart). */
    char **argv;
    int argc;
    struct harness_server *next;
} harness_server;

typedef struct harness_opts {
    harness_kind kind;
    /* NULL-terminated list of directive, value, directive, value, ... passed
     * as --directive value after the harness's own (port, bind, dir,
     * logfile, and for Redis save "" appendonly no). May be NULL. */
    const char *const *directives;
    /* If non-NULL, written to dir/server.conf which is passed as the first
     * argument (for CONFIG REWRITE tests). */
    const char *config_text;
    /* 0: wait until the server answers PING with anything but -LOADING and
     * has logged "Ready to accept connections" (the default: Lightning,
     * like Redis, accepts clients while it loads its data). 1: return right
     * after fork/exec (tests of failing start-ups, or of the load). */
    int no_wait;
} harness_opts;

/* Starts a server. Returns NULL (after printing why, and the log tail) if it
 * did not answer PING within HARNESS_READY_TIMEOUT_MS; for Redis also when
 * redis-server is not installed (the test marked skipped). The handle is owned
 * by the harness: valid until harness_stop() or the end of the test. */
harness_server *harness_start_opts(const harness_opts *o);
/* Lightning / Redis with NULL-terminated directive/value pairs, e.g.
 * harness_start("requirepass", "secret", NULL). */
harness_server *harness_start(const char *directive, ...);
harness_server *harness_start_redis(const char *directive, ...);
/* 1 if redis-server can be found (tests that only make sense with it skip
 * when 0). */
int harness_have_redis(void);

/* SIGTERM, wait up to HARNESS_STOP_TIMEOUT_MS, then SIGKILL; removes the dir,
 * frees the handle. Returns the waitpid() status (or -1). NULL is a no-op. */
int harness_stop(harness_server *s);
/* SIGKILL and reap; keeps dir and port so harness_restart() can recover. */
void harness_kill9(harness_server *s);
/* Stops the server if running (SIGTERM) and starts it again with the same
 * argv, dir and port; waits for PING. Returns 0 on success. */
int harness_restart(harness_server *s);
/* Waits up to timeout_ms for the process to exit on its own (SHUTDOWN).
 * Returns the waitpid() status, or -1 on timeout. Marks the exit expected. */
int harness_wait_exit(harness_server *s, int timeout_ms);
/* 1 if the process is still running. */
int harness_alive(harness_server *s);
/* Prints the last `lines` lines of the server's log and console output to
 * stderr, prefixed with "# ". */
void harness_print_log_tail(harness_server *s, int lines);
/* Path of the server binary for a kind (static storage). */
const char *harness_bin(harness_kind kind);

/* hiredis connection with connect + command timeouts. NULL s gives NULL (so
 * a missing Redis flows through compare helpers). Failing to connect to a
 * non-NULL server is a test failure (returns NULL). Owned by the harness. */
redisContext *harness_connect(harness_server *s);
void harness_disconnect(redisContext *c);

/* Canonical text of a reply: status:"OK" bulk:"x" int:3 err:"ERR ..." nil
 * array[a,b] (bytes outside printable ASCII as \xHH, `"` and `\` escaped).
 * Returns malloc'd text, caller frees. NULL reply gives "(null: <reason>)". */
char *reply_to_string(const redisReply *r);

/* The '\n'-separated lines of text (empty ones dropped) sorted by strcmp(),
 * each followed by '\n': for comparing outputs whose order is unspecified.
 * malloc'd, caller frees. */
char *harness_sort_lines(const char *text);

/* Runs a command (printf-like / argv form) and returns its canonical text, or
 * "(io-error: ...)" when the connection failed. The returned pointer is
 * valid until 32 more calls of cmd()/cmd_argv()/COMPARE. */
const char *cmd(redisContext *c, const char *fmt, ...);
const char *cmd_argv(redisContext *c, const char *const *argv);

/* Runs argv (NULL-terminated) on a and b and CHECKs the rendered replies are
 * equal (b NULL: only runs on a). HARNESS_UNORDERED sorts the elements of a
 * top-level array first. Returns a's rendering (valid as for cmd()). */
#define HARNESS_UNORDERED 1
const char *harness_compare(const char *file, int line, redisContext *a,
                            redisContext *b, int flags,
                            const char *const *argv);
/* Excerpts of a and b around their first difference (for messages);
 * returns its offset, *ea and *eb are malloc'd. */
size_t harness_diff_excerpt(const char *a, const char *b, char **ea,
                            char **eb);
#define COMPARE(a, b, ...)                                                    \
    harness_compare(__FILE__, __LINE__, (a), (b), 0,                          \
                    (const char *const[]){__VA_ARGS__, NULL})
#define COMPARE_UNORDERED(a, b, ...)                                          \
    harness_compare(__FILE__, __LINE__, (a), (b), HARNESS_UNORDERED,          \
                    (const char *const[]){__VA_ARGS__, NULL})

/* Raw sockets, for protocol tests and RESP3. All blocking with timeouts;
 * fds are closed at the end of the test. */
typedef struct raw_buf {
    char *data;  /* malloc'd, NUL-terminated for convenience; caller frees
                  * with raw_buf_free() */
    size_t len;
    int closed;  /* the peer closed (EOF or reset) */
    int timed_out;
} raw_buf;

int raw_connect(int port);                      /* fd or -1 (and a failure) */
/* raw_connect() to s's port; -1 without a failure for a NULL s (a missing
 * Redis), so that the raw compare helpers only use the first server. */
int raw_connect_server(harness_server *s);
int raw_send(int fd, const void *buf, size_t len); /* 0, or -1 if the peer
                                                     * is gone */
int raw_sendstr(int fd, const char *s);
/* Sends argv (NULL-terminated) as a RESP multibulk without reading the reply
 * (blocking commands, pipelines): 0, or -1 if the peer is gone. */
int raw_send_argv(int fd, const char *const *argv);
void raw_close(int fd);
/* Reads until the peer closes or timeout_ms elapsed (hang detection). */
raw_buf raw_read_until(int fd, int timeout_ms);
/* Reads exactly one complete RESP2/RESP3 reply (within timeout_ms). On
 * success out->data holds exactly its bytes and 1 is returned; 0 on timeout
 * or close (out->closed / out->timed_out say which, out holds what came). */
int raw_read_reply(int fd, int timeout_ms, raw_buf *out);
void raw_buf_free(raw_buf *b);
/* Length of the first complete RESP2/RESP3 value in buf: >0 complete, 0
 * incomplete, -1 malformed. */
long resp_frame_len(const char *buf, size_t len);
/* Canonical text of one raw RESP2/RESP3 value, same forms as
 * reply_to_string() plus map{k=>v,...} set{...} push[...] null double:x
 * bool:true|false bignum:x verbatim:"txt:..." attr{...}. malloc'd. */
char *resp_render(const char *buf, size_t len);
/* Escaped text of arbitrary bytes (for messages). Valid as for cmd(). */
const char *harness_escape(const char *buf, size_t len);

/* Sends argv as a RESP multibulk on a raw connection and returns the
 * resp_render() text of the one reply (or "(io-error: ...)"). Valid as for
 * cmd(). Works in RESP2 and RESP3. */
const char *raw_cmd_argv(int fd, const char *const *argv);
#define RAW_CMD(fd, ...) raw_cmd_argv((fd), (const char *const[]){__VA_ARGS__, NULL})
/* The same on two raw connections, CHECKing equal text (fb < 0: only fa). */
const char *raw_compare(const char *file, int line, int fa, int fb,
                        const char *const *argv);
#define RAW_COMPARE(fa, fb, ...)                                              \
    raw_compare(__FILE__, __LINE__, (fa), (fb),                               \
                (const char *const[]){__VA_ARGS__, NULL})

/* Runs argv as a child with stdout+stderr captured, killing it (SIGINT then
 * SIGKILL) after timeout_ms. Returns the waitpid() status; *timed_out set
 * when it had to be killed. *out is malloc'd (caller frees). */
int harness_run_capture(const char *const *argv, int timeout_ms, char **out,
                        int *timed_out);

/* Runs a printf-formatted shell command line (popen: stdout only, no
 * timeout). Returns the pclose() status (-1 if it could not start); its
 * output in *out (malloc'd, caller frees) unless out is NULL. */
int harness_popen(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A loopback TCP port free right now (bind to port 0), or -1. */
int harness_free_port(void);

/* Checks a `<NAME> HELP` reply on Lightning: an array of status lines with
 * Redis's header and HELP trailer, naming every subcommand COMMAND LIST
 * shows for the container, and only those. The wording is Lightning's own,
 * so it is not compared with Redis. */
void harness_check_help(const char *file, int line, redisContext *c, const char *name);
#define CHECK_HELP(c, name) harness_check_help(__FILE__, __LINE__, (c), (name))

/* VmRSS of a process in KiB from /proc/PID/status, -1 if unknown. */
long harness_rss_kb(pid_t pid);
/* CPU time (user + system) of a process in clock ticks (sysconf(_SC_CLK_TCK)
 * a second) from /proc/PID/stat, -1 if unknown. */
long long harness_cpu_ticks(pid_t pid);
/* Value of `field:` in an INFO text, copied into out; 1 if found. */
int harness_info_field(const char *info, const char *field, char *out,
                       size_t outlen);
/* Runs INFO <section> on c and copies the value of `field:` into out (""
 * when missing, or when c is NULL). Returns 1 if found. */
int harness_info(redisContext *c, const char *section, const char *field,
                 char *out, size_t outlen);
/* The same as a number; -1 when missing. */
long long harness_info_num(redisContext *c, const char *section,
                           const char *field);
/* Pipelines "SET <prefix><i> value-<i>" for first <= i < first + n and reads
 * every reply. Returns 0, or -1 if the connection failed or a reply was an
 * error. Uses only c: safe from a test's own threads on their own
 * connections. */
int harness_fill(redisContext *c, const char *prefix, int first, int n);
/* Sleeps ms milliseconds. */
void harness_sleep_ms(int ms);

#endif
