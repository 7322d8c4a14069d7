/* harness: see harness.h for what it owns and its invariants. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Small utilities                                                     */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_addlen(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) abort();
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void sb_add(sbuf *b, const char *s) { sb_addlen(b, s, strlen(s)); }
static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_addlen(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_addlen(b, big, (size_t)n);
    free(big);
}
static char *sb_take(sbuf *b) {
    if (!b->p) sb_addlen(b, "", 0);
    return b->p;
}

static void sb_escape(sbuf *b, const char *s, size_t n) {
    sb_add(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            sb_addlen(b, e, 2);
        } else if (ch == '\r') sb_add(b, "\\r");
        else if (ch == '\n') sb_add(b, "\\n");
        else if (ch < 32 || ch > 126) sb_printf(b, "\\x%02x", ch);
        else sb_addlen(b, (const char *)&ch, 1);
    }
    sb_add(b, "\"");
}

/* Ring of returned strings: valid until 32 more are handed out. */
#define RING_SIZE 32
static char *ring[RING_SIZE];
static int ring_pos;
static const char *ring_put(char *s) {
    free(ring[ring_pos]);
    ring[ring_pos] = s;
    ring_pos = (ring_pos + 1) % RING_SIZE;
    return s;
}

const char *harness_escape(const char *buf, size_t len) {
    sbuf b = {0};
    sb_escape(&b, buf, len);
    return ring_put(sb_take(&b));
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static void fail_here(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_here(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    testlib_fail("harness", 0, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Per-test registry: servers, contexts and fds cleaned up after each test */

static harness_server *servers;
#define MAX_TRACKED 1024
static redisContext *contexts[MAX_TRACKED];
static int fds[MAX_TRACKED];
static int nfds;

static void harness_after_each(void);

/* Bytes raw_read_reply() read past one reply, kept per fd for the next
 * call; dropped when the fd is closed. */
static struct {
    int fd;
    raw_buf pending;
} carry[16];

static void carry_drop(int fd) {
    for (int i = 0; i < 16; i++)
        if (carry[i].pending.data && (fd < 0 || carry[i].fd == fd)) {
            free(carry[i].pending.data);
            carry[i].pending.data = NULL;
            carry[i].pending.len = 0;
        }
}

static void harness_init(void) {
    static int done;
    if (done) return;
    done = 1;
    signal(SIGPIPE, SIG_IGN);
    testlib_after_each = harness_after_each;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Tests connect from several threads (concurrency tests). */
static pthread_mutex_t contexts_lock = PTHREAD_MUTEX_INITIALIZER;

static void track_context(redisContext *c) {
    pthread_mutex_lock(&contexts_lock);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!contexts[i]) {
            contexts[i] = c;
            break;
        }
    pthread_mutex_unlock(&contexts_lock);
}

void harness_disconnect(redisContext *c) {
    if (!c) return;
    pthread_mutex_lock(&contexts_lock);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (contexts[i] == c) contexts[i] = NULL;
    pthread_mutex_unlock(&contexts_lock);
    redisFree(c);
}

void raw_close(int fd) {
    if (fd < 0) return;
    carry_drop(fd);
    for (int i = 0; i < nfds; i++)
        if (fds[i] == fd) {
            fds[i] = fds[--nfds];
            break;
        }
    close(fd);
}

static void harness_after_each(void) {
    pthread_mutex_lock(&contexts_lock);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (contexts[i]) {
            redisFree(contexts[i]);
            contexts[i] = NULL;
        }
    pthread_mutex_unlock(&contexts_lock);
    while (nfds > 0) close(fds[--nfds]);
    carry_drop(-1);
    while (servers) harness_stop(servers);
    /* Bounded memory: drop the rendered strings of this test. */
    for (int i = 0; i < RING_SIZE; i++) {
        free(ring[i]);
        ring[i] = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Binaries                                                            */

static int is_executable(const char *p) { return access(p, X_OK) == 0; }

const char *harness_bin(harness_kind kind) {
    static char lbin[512], rbin[512];
    if (kind == HARNESS_LIGHTNING) {
        const char *e = getenv("LIGHTNING_BIN");
        if (e && *e) snprintf(lbin, sizeof lbin, "%s", e);
        else {
            const char *b = getenv("BUILD");
            snprintf(lbin, sizeof lbin, "%s/lightning-server",
                     b && *b ? b : "build");
        }
        return lbin;
    }
    const char *e = getenv("REDIS_SERVER_BIN");
    if (e && *e) {
        snprintf(rbin, sizeof rbin, "%s", e);
        return rbin;
    }
    const char *path = getenv("PATH");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s:/usr/bin:/usr/local/bin:/usr/sbin",
             path ? path : "");
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(rbin, sizeof rbin, "%s/redis-server", d);
        if (is_executable(rbin)) return rbin;
    }
    rbin[0] = '\0';
    return rbin;
}

int harness_have_redis(void) {
    const char *b = harness_bin(HARNESS_REDIS);
    return b[0] && is_executable(b);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

int harness_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char sub[1024];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void print_file_tail(const char *label, const char *path, int lines) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (size <= 0) {
        fclose(f);
        return;
    }
    long start = size > 65536 ? size - 65536 : 0;
    fseek(f, start, SEEK_SET);
    char *buf = malloc((size_t)(size - start) + 1);
    size_t n = fread(buf, 1, (size_t)(size - start), f);
    buf[n] = '\0';
    fclose(f);
    int seen = 0;
    size_t i = n;
    while (i > 0) {
        if (buf[i - 1] == '\n' && i != n && ++seen >= lines) break;
        i--;
    }
    fprintf(stderr, "# --- %s (%s), last lines ---\n", label, path);
    char *p = buf + i;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        fprintf(stderr, "#   %s\n", p);
        if (!nl) break;
        p = nl + 1;
    }
    free(buf);
}

void harness_print_log_tail(harness_server *s, int lines) {
    if (!s) return;
    print_file_tail(s->kind == HARNESS_REDIS ? "redis log" : "lightning log",
                    s->logfile, lines);
    print_file_tail("console", s->console, lines);
}

/* Reaps without blocking; returns 1 if the process has exited. */
static int reap(harness_server *s, int block) {
    if (s->pid <= 0) return 1;
    int st;
    pid_t r;
    do r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->pid) {
        s->exit_status = st;
        s->pid = 0;
        return 1;
    }
    if (r < 0) { /* not our child anymore */
        s->pid = 0;
        return 1;
    }
    return 0;
}

int harness_alive(harness_server *s) { return s && !reap(s, 0); }

static int wait_exit_ms(harness_server *s, int timeout_ms) {
    long long end = now_ms() + timeout_ms;
    while (!reap(s, 0)) {
        if (now_ms() > end) return 0;
        harness_sleep_ms(10);
    }
    return 1;
}

static void describe_status(int st, char *out, size_t n) {
    if (st == -1) snprintf(out, n, "unknown");
    else if (WIFEXITED(st)) snprintf(out, n, "exit code %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else snprintf(out, n, "status 0x%x", st);
}

/* Sends PING on a raw connection; 1 when the server answered something other
 * than -LOADING. */
static int ping_ready(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, "PING\r\n", 6) == 6) {
        struct pollfd p = {fd, POLLIN, 0};
        char buf[256];
        if (poll(&p, 1, 1000) == 1) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            if (n > 0) {
                buf[n] = '\0';
                ok = strncmp(buf, "-LOADING", 8) != 0;
            }
        }
    }
    close(fd);
    return ok;
}

static int spawn(harness_server *s) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(s->console, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2) close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            if (nul > 0) close(nul);
        }
        setpgid(0, 0);
        execv(s->argv[0], s->argv);
        fprintf(stderr, "exec %s: %s\n", s->argv[0], strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    s->exit_status = -1;
    return 0;
}

/* 1 if process pid owns a socket listening on 127.0.0.1:port (from
 * /proc/net/tcp and /proc/PID/fd): guards against another test's server
 * that happens to hold the port we picked answering our PING. */
static int pid_listens_on(pid_t pid, int port) {
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f) return 1; /* cannot tell: trust the PING */
    char line[512];
    unsigned long inodes[16];
    int ninodes = 0;
    if (!fgets(line, sizeof line, f)) line[0] = '\0'; /* header */
    while (fgets(line, sizeof line, f) && ninodes < 16) {
        unsigned lport, st;
        unsigned long inode;
        char laddr[64];
        if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x "
                         "%*x:%*x %*x:%*x %*x %*d %*d %lu",
                   laddr, &lport, &st, &inode) != 4)
            continue;
        if ((int)lport == port && st == 0x0A) inodes[ninodes++] = inode;
    }
    fclose(f);
    if (ninodes == 0) return 0;
    char dpath[64];
    snprintf(dpath, sizeof dpath, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dpath);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char fpath[600], target[128];
        snprintf(fpath, sizeof fpath, "%s/%s", dpath, e->d_name);
        ssize_t n = readlink(fpath, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        unsigned long ino;
        if (sscanf(target, "socket:[%lu]", &ino) == 1)
            for (int i = 0; i < ninodes; i++)
                if (inodes[i] == ino) found = 1;
    }
    closedir(d);
    return found;
}

/* Whether s's process logged "Ready to accept connections" (as Redis and
 * Lightning do once the dataset is loaded): 1 yes, 0 not yet, -1 cannot
 * tell (no line of this process in its log or console file). Lightning
 * answers while it loads: a PING refused for another reason than -LOADING
 * (NOAUTH) does not mean the load is over. */
static int log_says_ready(const harness_server *s) {
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%d:", (int)s->pid);
    int seen = 0;
    const char *files[2] = {s->logfile, s->console};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) continue;
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, prefix, (size_t)plen) != 0) continue;
            seen = 1;
            if (strstr(line, "Ready to accept connections")) {
                fclose(f);
                return 1;
            }
        }
        fclose(f);
    }
    return seen ? 0 : -1;
}

static int wait_ready(harness_server *s) {
    long long end = now_ms() + HARNESS_READY_TIMEOUT_MS, first_ok = 0;
    for (;;) {
        if (reap(s, 0)) return -1; /* died */
        if (ping_ready(s->port) && log_says_ready(s) != 0) {
            if (pid_listens_on(s->pid, s->port)) return 0;
            /* Answered but the socket is not visibly ours (io_uring fixed
             * files hide it): if ours cannot bind it will die meanwhile. */
            if (!first_ok) first_ok = now_ms();
            else if (now_ms() - first_ok > 2000) return 0;
        }
        if (now_ms() > end) return -2;
        harness_sleep_ms(20);
    }
}

static void build_argv(harness_server *s, const harness_opts *o) {
    const char *bin = harness_bin(o->kind);
    int cap = 32;
    if (o->directives)
        for (const char *const *d = o->directives; *d; d++) cap++;
    s->argv = calloc((size_t)cap, sizeof(char *));
    int n = 0;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", s->port);
    s->argv[n++] = strdup(bin);
    if (s->config[0]) s->argv[n++] = strdup(s->config);
    const char *base[] = {"--port", portbuf, "--bind", "127.0.0.1", "--dir",
                          s->dir, "--logfile", s->logfile};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        s->argv[n++] = strdup(base[i]);
    if (o->kind == HARNESS_REDIS) {
        const char *r[] = {"--save", "", "--appendonly", "no"};
        for (size_t i = 0; i < 4; i++) s->argv[n++] = strdup(r[i]);
    } else if (!s->config[0]) {
        /* Two I/O threads whatever the machine (the default is one on 2
         * cores), so the suite always runs the cross-thread paths. A test's
         * own io-threads comes later and wins. */
        s->argv[n++] = strdup("--io-threads");
        s->argv[n++] = strdup("2");
    }
    if (o->directives) {
        int i = 0;
        for (const char *const *d = o->directives; *d; d++, i++) {
            if (i % 2 == 0) {
                char opt[256];
                snprintf(opt, sizeof opt, "--%s", *d);
                s->argv[n++] = strdup(opt);
            } else {
                s->argv[n++] = strdup(*d);
            }
        }
    }
    s->argv[n] = NULL;
    s->argc = n;
}

static void free_server(harness_server *s) {
    for (int i = 0; i < s->argc; i++) free(s->argv[i]);
    free(s->argv);
    free(s);
}

static void unlink_server(harness_server *s) {
    for (harness_server **pp = &servers; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

harness_server *harness_start_opts(const harness_opts *o) {
    harness_init();
    if (o->kind == HARNESS_REDIS && !harness_have_redis()) {
        /* The test cannot compare: reported skipped, never passed. */
        testlib_skip("redis-server not found");
        return NULL;
    }
    const char *bin = harness_bin(o->kind);
    if (!is_executable(bin)) {
        fail_here("server binary %s not found or not executable", bin);
        return NULL;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        harness_server *s = calloc(1, sizeof *s);
        s->kind = o->kind;
        s->exit_status = -1;
        snprintf(s->dir, sizeof s->dir, "/tmp/lightning-test-XXXXXX");
        if (!mkdtemp(s->dir)) {
            fail_here("mkdtemp: %s", strerror(errno));
            free(s);
            return NULL;
        }
        snprintf(s->logfile, sizeof s->logfile, "%s/server.log", s->dir);
        snprintf(s->console, sizeof s->console, "%s/console.log", s->dir);
        if (o->config_text) {
            snprintf(s->config, sizeof s->config, "%s/server.conf", s->dir);
            FILE *f = fopen(s->config, "w");
            if (f) {
                fputs(o->config_text, f);
                fclose(f);
            }
        }
        s->port = harness_free_port();
        build_argv(s, o);
        if (spawn(s) != 0) {
            fail_here("fork: %s", strerror(errno));
            rm_rf(s->dir);
            free_server(s);
            return NULL;
        }
        s->next = servers;
        servers = s;
        if (o->no_wait) return s;
        int r = wait_ready(s);
        if (r == 0) return s;
        /* Died: maybe the port was taken in the meantime; retry on a new
         * port if the log says so, else fail. */
        char logs[4096] = "";
        FILE *f = fopen(s->console, "r");
        if (f) {
            size_t n = fread(logs, 1, sizeof logs - 1, f);
            logs[n] = '\0';
            fclose(f);
        }
        f = fopen(s->logfile, "r");
        if (f) {
            size_t l = strlen(logs);
            size_t n = fread(logs + l, 1, sizeof logs - 1 - l, f);
            logs[l + n] = '\0';
            fclose(f);
        }
        if (r == -1 && strstr(logs, "in use") && attempt < 4) {
            s->expect_exit = 1;
            harness_stop(s);
            continue;
        }
        char st[128];
        describe_status(s->exit_status, st, sizeof st);
        fail_here("%s on port %d %s (%s)", bin, s->port,
                  r == -1 ? "exited during startup"
                          : "did not answer PING within the startup timeout",
                  r == -1 ? st : "still running, killed");
        s->expect_exit = 1; /* harness_stop prints the log tail */
        harness_stop(s);
        return NULL;
    }
    return NULL;
}

static harness_server *start_va(harness_kind kind, const char *first,
                                va_list ap) {
    const char *list[128];
    int n = 0;
    for (const char *d = first; d && n < 127; d = va_arg(ap, const char *))
        list[n++] = d;
    list[n] = NULL;
    harness_opts o = {.kind = kind, .directives = list};
    return harness_start_opts(&o);
}

harness_server *harness_start(const char *directive, ...) {
    va_list ap;
    va_start(ap, directive);
    harness_server *s = start_va(HARNESS_LIGHTNING, directive, ap);
    va_end(ap);
    return s;
}

harness_server *harness_start_redis(const char *directive, ...) {
    va_list ap;
    va_start(ap, directive);
    harness_server *s = start_va(HARNESS_REDIS, directive, ap);
    va_end(ap);
    return s;
}

/* Stops the process (not the handle). Returns 1 if it had died before we
 * asked it to. */
static int stop_process(harness_server *s) {
    if (reap(s, 0)) return 1;
    kill(s->pid, SIGTERM);
    if (!wait_exit_ms(s, HARNESS_STOP_TIMEOUT_MS)) {
        fprintf(stderr, "# harness: pid %d ignored SIGTERM for %d ms, "
                        "sending SIGKILL\n", (int)s->pid,
                HARNESS_STOP_TIMEOUT_MS);
        kill(s->pid, SIGKILL);
        reap(s, 1);
    }
    return 0;
}

int harness_stop(harness_server *s) {
    if (!s) return -1;
    int died = stop_process(s);
    int st = s->exit_status;
    int crashed = died && !s->expect_exit;
    if (crashed && s->kind == HARNESS_LIGHTNING) {
        char d[128];
        describe_status(st, d, sizeof d);
        fail_here("lightning-server (port %d) died during the test: %s",
                  s->port, d);
    } else if (!died && s->kind == HARNESS_LIGHTNING && st != -1 &&
               !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        /* SIGTERM must end Lightning cleanly; a sanitizer that found
         * something at exit (leaks, races) makes the status non-zero. */
        char d[128];
        describe_status(st, d, sizeof d);
        fail_here("lightning-server (port %d) did not exit cleanly: %s", s->port, d);
        crashed = 1;
    }
    /* Redis's log only matters when Redis itself misbehaved. */
    if (crashed || (testlib_current_failed && s->kind == HARNESS_LIGHTNING))
        harness_print_log_tail(s, 30);
    unlink_server(s);
    const char *keep = getenv("HARNESS_KEEP_DIRS");
    if (keep && *keep && (testlib_current_failed || crashed))
        fprintf(stderr, "# kept %s\n", s->dir);
    else
        rm_rf(s->dir);
    free_server(s);
    return st;
}

void harness_kill9(harness_server *s) {
    if (!s || reap(s, 0)) return;
    kill(s->pid, SIGKILL);
    reap(s, 1);
}

int harness_wait_exit(harness_server *s, int timeout_ms) {
    if (!s) return -1;
    s->expect_exit = 1;
    if (!wait_exit_ms(s, timeout_ms)) return -1;
    return s->exit_status;
}

int harness_restart(harness_server *s) {
    if (!s) return -1;
    int died = stop_process(s);
    if (died && !s->expect_exit && s->kind == HARNESS_LIGHTNING &&
        s->exit_status != -1 && !(WIFSIGNALED(s->exit_status) &&
                                  WTERMSIG(s->exit_status) == SIGKILL)) {
        char d[128];
        describe_status(s->exit_status, d, sizeof d);
        fail_here("lightning-server died before restart: %s", d);
        harness_print_log_tail(s, 30);
    }
    s->expect_exit = 0;
    for (int attempt = 0; attempt < 50; attempt++) {
        if (spawn(s) != 0) return -1;
        int r = wait_ready(s);
        if (r == 0) return 0;
        /* The old socket may linger briefly; retry a few times. */
        if (r == -1 && attempt < 49) {
            harness_sleep_ms(100);
            continue;
        }
        fail_here("restart of %s on port %d failed", s->argv[0], s->port);
        harness_print_log_tail(s, 30);
        s->expect_exit = 1;
        stop_process(s);
        return -1;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* hiredis connections and rendering                                   */

redisContext *harness_connect(harness_server *s) {
    if (!s) return NULL;
    harness_init();
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!c || c->err) {
        fail_here("connect to port %d: %s", s->port,
                  c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    struct timeval ct = {HARNESS_CMD_TIMEOUT_MS / 1000, 0};
    redisSetTimeout(c, ct);
    track_context(c);
    return c;
}

static void render(sbuf *b, const redisReply *r) {
    switch (r->type) {
    case REDIS_REPLY_STRING:
        sb_add(b, "bulk:");
        sb_escape(b, r->str, r->len);
        break;
    case REDIS_REPLY_STATUS:
        sb_add(b, "status:");
        sb_escape(b, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        sb_add(b, "err:");
        sb_escape(b, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        sb_printf(b, "int:%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        sb_add(b, "nil");
        break;
    case REDIS_REPLY_ARRAY:
        sb_add(b, "array[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i) sb_add(b, ",");
            render(b, r->element[i]);
        }
        sb_add(b, "]");
        break;
    default:
        sb_printf(b, "unknown-type:%d", r->type);
    }
}

char *reply_to_string(const redisReply *r) {
    sbuf b = {0};
    if (!r) sb_add(&b, "(null)");
    else render(&b, r);
    return sb_take(&b);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *harness_sort_lines(const char *text) {
    char *copy = strdup(text), *save = NULL;
    size_t n = 0, cap = 16;
    char **lines = malloc(cap * sizeof *lines);
    for (char *l = strtok_r(copy, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = l;
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, lines[i]);
        sb_add(&b, "\n");
    }
    free(lines);
    free(copy);
    return sb_take(&b);
}

static char *render_sorted(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_ARRAY) return reply_to_string(r);
    char **parts = calloc(r->elements + 1, sizeof(char *));
    for (size_t i = 0; i < r->elements; i++)
        parts[i] = reply_to_string(r->element[i]);
    qsort(parts, r->elements, sizeof(char *), cmp_str);
    sbuf b = {0};
    sb_add(&b, "array[");
    for (size_t i = 0; i < r->elements; i++) {
        if (i) sb_add(&b, ",");
        sb_add(&b, parts[i]);
        free(parts[i]);
    }
    sb_add(&b, "]");
    free(parts);
    return sb_take(&b);
}

static char *run_argv(redisContext *c, const char *const *argv, int flags) {
    if (!c) return strdup("(no connection)");
    int argc = 0;
    while (argv[argc]) argc++;
    size_t *lens = calloc((size_t)argc + 1, sizeof(size_t));
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, argc, (const char **)argv, lens);
    free(lens);
    char *out;
    if (!r) {
        sbuf b = {0};
        sb_printf(&b, "(io-error: %s)", c->errstr[0] ? c->errstr : "?");
        out = sb_take(&b);
    } else {
        out = flags & HARNESS_UNORDERED ? render_sorted(r)
                                        : reply_to_string(r);
        freeReplyObject(r);
    }
    return out;
}

const char *cmd_argv(redisContext *c, const char *const *argv) {
    return ring_put(run_argv(c, argv, 0));
}

const char *cmd(redisContext *c, const char *fmt, ...) {
    if (!c) return "(no connection)";
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        sbuf b = {0};
        sb_printf(&b, "(io-error: %s)", c->errstr[0] ? c->errstr : "?");
        return ring_put(sb_take(&b));
    }
    char *s = reply_to_string(r);
    freeReplyObject(r);
    return ring_put(s);
}

/* Excerpts of two long strings around their first difference, for
 * messages. Returns the offset of the difference; the excerpts are malloc'd. */
size_t harness_diff_excerpt(const char *a, const char *b, char **ea,
                            char **eb) {
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    const char *src[2] = {a, b};
    char **dst[2] = {ea, eb};
    size_t from = i > 200 ? i - 200 : 0;
    for (int k = 0; k < 2; k++) {
        sbuf o = {0};
        size_t len = strlen(src[k]);
        if (from) sb_add(&o, "...");
        size_t n = len - from < 600 ? len - from : 600;
        sb_addlen(&o, src[k] + from, n);
        if (from + n < len) sb_printf(&o, "... (%zu bytes)", len);
        *dst[k] = sb_take(&o);
    }
    return i;
}

const char *harness_compare(const char *file, int line, redisContext *a,
                            redisContext *b, int flags,
                            const char *const *argv) {
    char *ra = run_argv(a, argv, flags);
    if (b) {
        char *rb = run_argv(b, argv, flags);
        if (strcmp(ra, rb) != 0) {
            sbuf cmdline = {0};
            for (int i = 0; argv[i]; i++) {
                if (i) sb_add(&cmdline, " ");
                sb_add(&cmdline, argv[i]);
            }
            char *ea, *eb;
            size_t at = harness_diff_excerpt(ra, rb, &ea, &eb);
            testlib_fail(file, line,
                         "reply differs from redis for `%.200s` (at byte "
                         "%zu):\n    lightning: %s\n    redis:     %s",
                         cmdline.p, at, ea, eb);
            free(ea);
            free(eb);
            free(cmdline.p);
        }
        free(rb);
    }
    return ring_put(ra);
}

/* ------------------------------------------------------------------ */
/* Raw sockets and RESP framing                                        */

int raw_connect(int port) {
    harness_init();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        fail_here("socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fail_here("raw connect to port %d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nfds < MAX_TRACKED) fds[nfds++] = fd;
    return fd;
}

int raw_connect_server(harness_server *s) {
    return s ? raw_connect(s->port) : -1;
}

int raw_send(int fd, const void *buf, size_t len) {
    const char *p = buf;
    long long end = now_ms() + HARNESS_CMD_TIMEOUT_MS;
    while (len > 0) {
        struct pollfd pf = {fd, POLLOUT, 0};
        int left = (int)(end - now_ms());
        if (left <= 0 || poll(&pf, 1, left) <= 0) return -1;
        ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int raw_sendstr(int fd, const char *s) { return raw_send(fd, s, strlen(s)); }

int raw_send_argv(int fd, const char *const *argv) {
    sbuf req = {0};
    int argc = 0;
    while (argv[argc]) argc++;
    sb_printf(&req, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        sb_printf(&req, "$%zu\r\n", strlen(argv[i]));
        sb_add(&req, argv[i]);
        sb_add(&req, "\r\n");
    }
    int sent = raw_send(fd, req.p, req.len);
    free(req.p);
    return sent;
}

void raw_buf_free(raw_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static void rb_append(raw_buf *b, const char *p, size_t n) {
    b->data = realloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Reads what is available within `left` ms into b; returns bytes read, 0 on
 * EOF (sets closed), -1 on timeout (sets timed_out). */
static long read_some(int fd, raw_buf *b, int left) {
    struct pollfd pf = {fd, POLLIN, 0};
    int r = poll(&pf, 1, left > 0 ? left : 0);
    if (r <= 0) {
        b->timed_out = 1;
        return -1;
    }
    char tmp[65536];
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) {
        b->closed = 1;
        return 0;
    }
    rb_append(b, tmp, (size_t)n);
    return n;
}

raw_buf raw_read_until(int fd, int timeout_ms) {
    raw_buf b = {0};
    rb_append(&b, "", 0);
    long long end = now_ms() + timeout_ms;
    for (;;) {
        long r = read_some(fd, &b, (int)(end - now_ms()));
        if (r <= 0) break;
    }
    return b;
}

int raw_read_reply(int fd, int timeout_ms, raw_buf *out) {
    raw_buf b = {0};
    rb_append(&b, "", 0);
    for (int i = 0; i < 16; i++)
        if (carry[i].pending.data && carry[i].fd == fd) {
            rb_append(&b, carry[i].pending.data, carry[i].pending.len);
            raw_buf_free(&carry[i].pending);
        }
    long long end = now_ms() + timeout_ms;
    for (;;) {
        long fl = resp_frame_len(b.data, b.len);
        if (fl > 0) {
            if ((size_t)fl < b.len) {
                for (int i = 0; i < 16; i++)
                    if (!carry[i].pending.data) {
                        carry[i].fd = fd;
                        rb_append(&carry[i].pending, b.data + fl,
                                  b.len - (size_t)fl);
                        break;
                    }
                b.len = (size_t)fl;
                b.data[fl] = '\0';
            }
            *out = b;
            return 1;
        }
        if (fl < 0) {
            *out = b;
            return 0;
        }
        if (read_some(fd, &b, (int)(end - now_ms())) <= 0) {
            *out = b;
            return 0;
        }
    }
}

/* Parses a line starting at p (after the type byte); returns pointer past
 * CRLF or NULL if incomplete. */
static const char *line_end(const char *p, const char *end) {
    for (const char *q = p; q + 1 < end; q++)
        if (q[0] == '\r' && q[1] == '\n') return q + 2;
    return NULL;
}

long resp_frame_len(const char *buf, size_t len) {
    const char *p = buf, *end = buf + len;
    long long pending = 1;
    while (pending > 0) {
        if (p >= end) return 0;
        char t = *p;
        const char *le = line_end(p + 1, end);
        if (!le) return 0;
        long long n = strtoll(p + 1, NULL, 10);
        switch (t) {
        case '+': case '-': case ':': case '_': case ',': case '#': case '(':
            p = le;
            pending--;
            break;
        case '$': case '=': case '!':
            if (n < 0) {
                p = le;
            } else {
                if (end - le < n + 2) return 0;
                p = le + n + 2;
            }
            pending--;
            break;
        case '*': case '~': case '>':
            p = le;
            pending--;
            if (n > 0) pending += n;
            break;
        case '%':
            p = le;
            pending--;
            if (n > 0) pending += 2 * n;
            break;
        case '|': /* attribute: n pairs, then the value it annotates */
            p = le;
            if (n > 0) pending += 2 * n;
            break;
        default:
            return -1;
        }
    }
    return (long)(p - buf);
}

/* Renders one value at *pp, advancing it. The frame is known complete. */
static void render_raw(sbuf *b, const char **pp, const char *end) {
    const char *p = *pp;
    char t = *p;
    const char *le = line_end(p + 1, end);
    if (!le) {
        sb_add(b, "(truncated)");
        *pp = end;
        return;
    }
    const char *s = p + 1;
    size_t sl = (size_t)(le - 2 - s);
    long long n = strtoll(s, NULL, 10);
    *pp = le;
    switch (t) {
    case '+': sb_add(b, "status:"); sb_escape(b, s, sl); return;
    case '-': sb_add(b, "err:"); sb_escape(b, s, sl); return;
    case ':': sb_add(b, "int:"); sb_addlen(b, s, sl); return;
    case '_': sb_add(b, "null"); return;
    case ',': sb_add(b, "double:"); sb_addlen(b, s, sl); return;
    case '(': sb_add(b, "bignum:"); sb_addlen(b, s, sl); return;
    case '#': sb_add(b, sl == 1 && *s == 't' ? "bool:true" : "bool:false");
        return;
    case '$': case '=': case '!':
        if (n < 0) {
            sb_add(b, "nil");
            return;
        }
        sb_add(b, t == '$' ? "bulk:" : t == '=' ? "verbatim:" : "blob-err:");
        sb_escape(b, le, (size_t)n);
        *pp = le + n + 2;
        return;
    case '*': case '~': case '>': case '%': case '|': {
        if (n < 0) {
            sb_add(b, "nil");
            return;
        }
        int ismap = t == '%' || t == '|';
        sb_add(b, t == '*' ? "array[" : t == '~' ? "set{" : t == '>' ? "push["
                  : t == '%' ? "map{" : "attr{");
        for (long long i = 0; i < n; i++) {
            if (i) sb_add(b, ",");
            render_raw(b, pp, end);
            if (ismap) {
                sb_add(b, "=>");
                render_raw(b, pp, end);
            }
        }
        sb_add(b, t == '*' || t == '>' ? "]" : "}");
        if (t == '|') {
            sb_add(b, " ");
            render_raw(b, pp, end);
        }
        return;
    }
    default:
        sb_add(b, "(bad-type)");
        *pp = end;
    }
}

char *resp_render(const char *buf, size_t len) {
    sbuf b = {0};
    long fl = resp_frame_len(buf, len);
    if (fl <= 0) {
        sb_add(&b, fl == 0 ? "(incomplete) " : "(malformed) ");
        sb_escape(&b, buf, len);
        return sb_take(&b);
    }
    const char *p = buf;
    render_raw(&b, &p, buf + fl);
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* Child processes, /proc, INFO                                        */

int harness_run_capture(const char *const *argv, int timeout_ms, char **out,
                        int *timed_out) {
    harness_init();
    int pfd[2];
    *out = NULL;
    if (timed_out) *timed_out = 0;
    if (pipe(pfd) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    sbuf b = {0};
    sb_add(&b, "");
    long long end = now_ms() + timeout_ms;
    int killed = 0;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0) {
            if (killed == 0) {
                kill(pid, SIGINT);
                killed = 1;
                end = now_ms() + 3000;
                if (timed_out) *timed_out = 1;
                continue;
            } else if (killed == 1) {
                kill(pid, SIGKILL);
                killed = 2;
                end = now_ms() + 3000;
                continue;
            }
            break;
        }
        struct pollfd pf = {pfd[0], POLLIN, 0};
        if (poll(&pf, 1, left) <= 0) continue;
        char tmp[4096];
        ssize_t n = read(pfd[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sb_addlen(&b, tmp, (size_t)n);
    }
    close(pfd[0]);
    int st = -1;
    long long wend = now_ms() + 5000;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > wend) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        harness_sleep_ms(5);
    }
    *out = sb_take(&b);
    return st;
}

long harness_rss_kb(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

long long harness_cpu_ticks(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The fields after the command name (which ends at the last ')'):
     * state is the 3rd, utime and stime the 14th and 15th. */
    const char *p = strrchr(buf, ')');
    long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%lld %lld", &utime, &stime) != 2)
        return -1;
    return utime + stime;
}

int harness_info_field(const char *info, const char *field, char *out,
                       size_t outlen) {
    size_t fl = strlen(field);
    for (const char *p = info; p && *p;) {
        if (!strncmp(p, field, fl) && p[fl] == ':') {
            const char *v = p + fl + 1;
            size_t n = strcspn(v, "\r\n");
            if (n >= outlen) n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

int harness_info(redisContext *c, const char *section, const char *field,
                 char *out, size_t outlen) {
    out[0] = '\0';
    redisReply *r = c ? redisCommand(c, "INFO %s", section) : NULL;
    int found = r && r->type == REDIS_REPLY_STRING &&
                harness_info_field(r->str, field, out, outlen);
    if (r) freeReplyObject(r);
    return found;
}

long long harness_info_num(redisContext *c, const char *section,
                           const char *field) {
    char v[64];
    return harness_info(c, section, field, v, sizeof v) ? atoll(v) : -1;
}

int harness_fill(redisContext *c, const char *prefix, int first, int n) {
    for (int i = first; i < first + n; i++)
        redisAppendCommand(c, "SET %s%d value-%d", prefix, i, i);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) return -1;
        if (r->type == REDIS_REPLY_ERROR) rc = -1;
        freeReplyObject(r);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Raw commands (RESP3-capable)                                        */

const char *raw_cmd_argv(int fd, const char *const *argv) {
    if (fd < 0) return "(no connection)";
    if (raw_send_argv(fd, argv) != 0) return "(io-error: send failed)";
    raw_buf b;
    if (!raw_read_reply(fd, HARNESS_CMD_TIMEOUT_MS, &b)) {
        sbuf o = {0};
        sb_printf(&o, "(io-error: %s, got ",
                  b.closed ? "connection closed" : "timeout");
        sb_escape(&o, b.data ? b.data : "", b.len);
        sb_add(&o, ")");
        raw_buf_free(&b);
        return ring_put(sb_take(&o));
    }
    char *r = resp_render(b.data, b.len);
    raw_buf_free(&b);
    return ring_put(r);
}

const char *raw_compare(const char *file, int line, int fa, int fb,
                        const char *const *argv) {
    const char *ra = raw_cmd_argv(fa, argv);
    if (fb >= 0) {
        const char *rb = raw_cmd_argv(fb, argv);
        if (strcmp(ra, rb) != 0) {
            char *ea, *eb;
            size_t at = harness_diff_excerpt(ra, rb, &ea, &eb);
            testlib_fail(file, line,
                         "raw reply differs from redis for `%.200s%s` (at "
                         "byte %zu):\n    lightning: %s\n    redis:     %s",
                         argv[0], argv[1] ? " ..." : "", at, ea, eb);
            free(ea);
            free(eb);
        }
    }
    return ra;
}

/* Checks a `<NAME> HELP` reply on Lightning. The text is Lightning's own
 * wording, so it is not compared with Redis; checked instead: an array of
 * status lines with Redis's header and HELP trailer, naming every
 * subcommand COMMAND LIST shows for the container, and only those (item
 * lines start in column 0 with the subcommand name; descriptions are
 * indented). */
void harness_check_help(const char *file, int line, redisContext *c,
                       const char *name) {
    char lower[32], header[128], prefix[40];
    size_t n = strlen(name);
    if (n >= sizeof lower) n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[n] = '\0';
    snprintf(header, sizeof header,
             "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             name);
    snprintf(prefix, sizeof prefix, "%s|", lower);
    redisReply *h = redisCommand(c, "%s HELP", name);
    redisReply *list = redisCommand(c, "COMMAND LIST");
    if (!h || h->type != REDIS_REPLY_ARRAY || h->elements < 3 || !list ||
        list->type != REDIS_REPLY_ARRAY) {
        testlib_fail(file, line, "%s HELP: not an array of lines (type %d)",
                     name, h ? h->type : -1);
        goto out;
    }
    for (size_t i = 0; i < h->elements; i++)
        if (h->element[i]->type != REDIS_REPLY_STATUS) {
            testlib_fail(file, line, "%s HELP: line %zu is not a status",
                         name, i);
            goto out;
        }
    if (strcmp(h->element[0]->str, header) != 0)
        testlib_fail(file, line, "%s HELP header: \"%s\"", name,
                     h->element[0]->str);
    if (strcmp(h->element[h->elements - 2]->str, "HELP") != 0 ||
        strcmp(h->element[h->elements - 1]->str, "    Prints this help.") != 0)
        testlib_fail(file, line, "%s HELP does not end with HELP / "
                     "\"    Prints this help.\"", name);
    /* Every subcommand Lightning has is named. */
    for (size_t j = 0; j < list->elements; j++) {
        const char *full = list->element[j]->str;
        if (!full || strncmp(full, prefix, strlen(prefix)) != 0) continue;
        const char *sub = full + strlen(prefix);
        size_t sl = strlen(sub);
        int named = 0;
        for (size_t i = 1; i < h->elements && !named; i++) {
            const char *t = h->element[i]->str;
            named = !strncasecmp(t, sub, sl) && (t[sl] == '\0' || t[sl] == ' ');
        }
        if (!named)
            testlib_fail(file, line, "%s HELP does not name %s", name, full);
    }
    /* And nothing Lightning does not have. */
    for (size_t i = 1; i < h->elements; i++) {
        const char *t = h->element[i]->str;
        /* Descriptions, and COMMAND's "(no subcommand)". */
        if (t[0] == ' ' || t[0] == '(') continue;
        char full[96];
        size_t tl = strcspn(t, " ");
        snprintf(full, sizeof full, "%s%.*s", prefix, (int)tl, t);
        for (char *q = full; *q; q++) *q = (char)tolower((unsigned char)*q);
        int listed = 0;
        for (size_t j = 0; j < list->elements && !listed; j++)
            listed = list->element[j]->str &&
                     !strcmp(list->element[j]->str, full);
        if (!listed)
            testlib_fail(file, line, "%s HELP names %s, not in COMMAND LIST",
                         name, full);
    }
out:
    if (h) freeReplyObject(h);
    if (list) freeReplyObject(list);
}

int harness_popen(char **out, const char *fmt, ...) {
    char cmdline[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmdline, sizeof(cmdline), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmdline, "r");
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    buf[0] = '\0';
    if (p) {
        size_t n;
        while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
            len += n;
            if (cap - len < 4096) buf = realloc(buf, cap *= 2);
        }
        buf[len] = '\0';
    }
    int st = p ? pclose(p) : -1;
    if (out) *out = buf;
    else free(buf);
    return st;
}
