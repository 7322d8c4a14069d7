/*
 * proc: the server's own process — daemonize, pid file, supervision,
 * title, OOM score, THP, jemalloc's background thread. See proc.h.
 *
 * Invariants: the argv/environ area is rewritten only after
 * proc_title_init took copies of every string in it; the OOM score is
 * restored to the value found at the first adjustment when oom-score-adj
 * goes back to no (Redis's setOOMScoreAdj); nothing here runs a thread.
 */
#include "server/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/server.h"

extern char **environ;

/* jemalloc's control interface, when the server is linked with it. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

static int started;          /* proc_start ran: apply hooks act */
static int notify_systemd;   /* supervised by systemd */
static char *title_area;     /* the original argv strings (then environ) */
static size_t title_area_len;
static char *title_exec;     /* argv[0] as executed: {title} */

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = lt_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static char executable[4096];

const char *proc_executable(void) { return executable; }

/* Redis's getAbsolutePath(argv[0]). */
static void set_executable(const char *argv0) {
    while (*argv0 == ' ' || *argv0 == '\t' || *argv0 == '\r' || *argv0 == '\n') argv0++;
    size_t rl = strlen(argv0);
    while (rl && strchr(" \t\r\n", argv0[rl - 1])) rl--;
    if (argv0[0] == '/') {
        snprintf(executable, sizeof(executable), "%.*s", (int)rl, argv0);
        return;
    }
    char cwd[1024];
    if (!getcwd(cwd, sizeof(cwd))) return;
    size_t cl = strlen(cwd);
    if (cl && cwd[cl - 1] != '/' && cl + 1 < sizeof(cwd)) cwd[cl++] = '/', cwd[cl] = '\0';
    while (rl >= 3 && argv0[0] == '.' && argv0[1] == '.' && argv0[2] == '/') {
        argv0 += 3;
        rl -= 3;
        if (cl > 1) { /* drop the last element of cwd, keeping its '/' */
            cl--;
            while (cl > 0 && cwd[cl - 1] != '/') cl--;
            cwd[cl] = '\0';
        }
    }
    snprintf(executable, sizeof(executable), "%s%.*s", cwd, (int)rl, argv0);
}

void proc_title_init(int argc, char **argv) {
    if (argc >= 1 && argv[0] && !executable[0]) set_executable(argv[0]);
    if (argc < 1 || !argv[0] || title_area) return;
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] == end) end = argv[i] + strlen(argv[i]) + 1;
    int nenv = 0;
    while (environ && environ[nenv]) nenv++;
    for (int i = 0; i < nenv; i++)
        if (environ[i] == end) end = environ[i] + strlen(environ[i]) + 1;
    /* Move environ and argv's strings out of the area we will overwrite. */
    char **env = lt_xmalloc(sizeof(char *) * (size_t)(nenv + 1));
    for (int i = 0; i < nenv; i++) env[i] = dupstr(environ[i]);
    env[nenv] = NULL;
    environ = env;
    title_area = argv[0];
    title_area_len = (size_t)(end - argv[0]);
    title_exec = dupstr(argv[0]);
    for (int i = 0; i < argc; i++) argv[i] = dupstr(argv[i]);
}

/* One variable of the template, appended to out (grown by realloc);
 * returns 0 for an unknown name. */
static int title_var(const char *name, size_t len, char **out, size_t *olen) {
    char buf[512];
    buf[0] = '\0';
#define IS(s) (len == strlen(s) && !strncmp(name, s, len))
    if (IS("title")) {
        snprintf(buf, sizeof(buf), "%s", title_exec ? title_exec : "");
    } else if (IS("listen-addr")) {
        if (server.port || server.tls_port || !server.unixsocket)
            snprintf(buf, sizeof(buf), "%s:%d", server.bind_count ? server.bind[0] : "*",
                     server.port ? server.port : server.tls_port);
        else
            snprintf(buf, sizeof(buf), "unixsocket:%s", server.unixsocket);
    } else if (IS("server-mode")) {
        snprintf(buf, sizeof(buf), "%s", server.cluster_enabled ? "[cluster]" : "");
    } else if (IS("port")) {
        snprintf(buf, sizeof(buf), "%d", server.port);
    } else if (IS("tls-port")) {
        snprintf(buf, sizeof(buf), "%d", server.tls_port);
    } else if (IS("unixsocket")) {
        snprintf(buf, sizeof(buf), "%s", server.unixsocket ? server.unixsocket : "");
    } else if (IS("config-file")) {
        snprintf(buf, sizeof(buf), "%s", server.configfile ? server.configfile : "");
    } else {
        return 0;
    }
#undef IS
    size_t n = strlen(buf);
    *out = lt_xrealloc(*out, *olen + n + 1);
    memcpy(*out + *olen, buf, n + 1);
    *olen += n;
    return 1;
}

/* Redis's expandProcTitleTemplate: NULL for a bad template; else the
 * expansion with spaces trimmed at both ends (malloc'd). */
static char *title_expand(const char *tmpl) {
    char *out = lt_xmalloc(1);
    size_t olen = 0;
    out[0] = '\0';
    const char *p = tmpl;
    while (*p) {
        const char *sv = strchr(p, '{');
        size_t lit = sv ? (size_t)(sv - p) : strlen(p);
        out = lt_xrealloc(out, olen + lit + 2);
        memcpy(out + olen, p, lit);
        olen += lit;
        out[olen] = '\0';
        if (!sv) break;
        sv++;
        if (!*sv) goto error;
        if (*sv == '{') { /* "{{" is a literal '{' */
            out[olen++] = '{';
            out[olen] = '\0';
            p = sv + 1;
            continue;
        }
        const char *ev = strchr(sv, '}');
        if (!ev || !title_var(sv, (size_t)(ev - sv), &out, &olen)) goto error;
        p = ev + 1;
    }
    size_t start = 0;
    while (start < olen && out[start] == ' ') start++;
    while (olen > start && out[olen - 1] == ' ') olen--;
    memmove(out, out + start, olen - start);
    out[olen - start] = '\0';
    return out;
error:
    free(out);
    return NULL;
}

int proc_title_valid(const char *tmpl) {
    char *t = title_expand(tmpl);
    int ok = t && t[0];
    free(t);
    return ok;
}

void proc_title_apply(void) {
    if (!started || !server.set_proc_title || !title_area || title_area_len < 2) return;
    char *t = title_expand(server.proc_title_template);
    if (!t) return; /* validated when set: cannot happen */
    size_t n = strlen(t);
    if (n > title_area_len - 1) n = title_area_len - 1;
    memset(title_area, 0, title_area_len);
    memcpy(title_area, t, n);
    free(t);
}

int proc_supervise_early(void) {
    int mode = server.supervised;
    if (mode == SUPERVISED_AUTODETECT) {
        if (getenv("UPSTART_JOB")) mode = SUPERVISED_UPSTART;
        else if (getenv("NOTIFY_SOCKET")) mode = SUPERVISED_SYSTEMD;
        else mode = SUPERVISED_NONE;
    }
    if (mode == SUPERVISED_UPSTART) {
        if (!getenv("UPSTART_JOB")) {
            serverLog(LL_WARNING, "upstart supervision requested, but UPSTART_JOB not found!");
            return 0;
        }
        serverLog(LL_NOTICE, "supervised by upstart, will stop to signal readiness.");
        raise(SIGSTOP);
        unsetenv("UPSTART_JOB");
        return 1;
    }
    if (mode == SUPERVISED_SYSTEMD) {
        if (!getenv("NOTIFY_SOCKET")) {
            serverLog(LL_WARNING, "systemd supervision requested or auto-detected, but "
                                  "NOTIFY_SOCKET environment variable not found!");
            return 0;
        }
        serverLog(LL_NOTICE, "Supervised by systemd. Please make sure you set appropriate values "
                             "for TimeoutStartSec and TimeoutStopSec in your service unit.");
        notify_systemd = 1;
        return 1;
    }
    return 0;
}

int proc_daemonize(int supervised) {
    if (!server.daemonize || supervised) return 0;
    if (!server.pidfile) server.pidfile = dupstr(PROC_DEFAULT_PIDFILE);
    for (int round = 0; round < 2; round++) {
        pid_t pid = fork();
        if (pid < 0) {
            serverLog(LL_WARNING, "Can't daemonize: fork: %s", strerror(errno));
            return -1;
        }
        if (pid > 0) _exit(0);
        /* The first child leads a new session without a terminal; the
         * second can never acquire one. */
        if (round == 0 && setsid() < 0) {
            serverLog(LL_WARNING, "Can't daemonize: setsid: %s", strerror(errno));
            return -1;
        }
    }
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
    return 0;
}

void proc_start(void) {
    started = 1;
    if (server.disable_thp && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
        serverLog(LL_WARNING, "Failed to disable transparent huge pages: %s", strerror(errno));
    proc_title_apply();
    proc_oom_score_apply();
    proc_jemalloc_bg_thread_apply();
}

void proc_pidfile_write(void) {
    if (!server.pidfile || !server.pidfile[0]) return;
    FILE *f = fopen(server.pidfile, "w");
    if (!f) {
        serverLog(LL_WARNING, "Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

void proc_pidfile_remove(void) {
    if (server.pidfile && server.pidfile[0]) unlink(server.pidfile);
}

/* One sd_notify datagram ("@name" is an abstract socket). */
static void notify_send(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!notify_systemd || !path || !path[0]) return;
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(su.sun_path)) {
        serverLog(LL_WARNING, "NOTIFY_SOCKET path too long");
        return;
    }
    memcpy(su.sun_path, path, len);
    if (path[0] == '@') su.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&su,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        serverLog(LL_WARNING, "Can't notify systemd: %s", strerror(errno));
    if (fd >= 0) close(fd);
}

void proc_notify_ready(void) {
    notify_send("STATUS=Ready to accept connections\n");
    notify_send("READY=1\n");
}

void proc_notify_stopping(void) { notify_send("STOPPING=1\n"); }

void proc_oom_score_apply(void) {
    static int adjusted, base;
    if (!started) return;
    int val;
    char buf[64];
    if (server.oom_score_adj != OOM_SCORE_ADJ_NO) {
        if (!adjusted) {
            int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
            ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
            if (fd >= 0) close(fd);
            if (n < 0) {
                serverLog(LL_WARNING, "Unable to read oom_score_adj: %s", strerror(errno));
                return;
            }
            buf[n] = '\0';
            base = atoi(buf);
            adjusted = 1;
        }
        /* This process is always a master; it forks no background child. */
        val = atoi(server.oom_score_adj_values);
        if (server.oom_score_adj == OOM_SCORE_RELATIVE) val += base;
        if (val > 1000) val = 1000;
        if (val < -1000) val = -1000;
    } else if (adjusted) {
        adjusted = 0;
        val = base;
    } else {
        return;
    }
    snprintf(buf, sizeof(buf), "%d\n", val);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
        serverLog(LL_WARNING, "Unable to write oom_score_adj: %s", strerror(errno));
    if (fd >= 0) close(fd);
}

void proc_jemalloc_bg_thread_apply(void) {
    if (!started || !mallctl) return;
    bool on = server.jemalloc_bg_thread != 0;
    if (mallctl("background_thread", NULL, NULL, &on, sizeof(on)) != 0)
        serverLog(LL_VERBOSE, "jemalloc background_thread is not available");
}
