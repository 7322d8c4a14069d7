/*
 * log: Redis-format log lines (see log.h). One write(2) per line keeps lines
 * whole when threads log at once; the file is opened in append mode. With
 * syslog-enabled every line also goes to syslog(3).
 */
#include "server/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1; /* -1: stdout */

void log_reopen(void) {
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0) close(log_fd);
    log_fd = -1;
    if (server.logfile && server.logfile[0])
        log_fd = open(server.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    /* syslog-enabled: every line also goes to syslog (ident and facility
     * are immutable, so this runs once). */
    if (server.syslog_enabled)
        openlog(server.syslog_ident, LOG_PID | LOG_NDELAY | LOG_NOWAIT, server.syslog_facility);
    pthread_mutex_unlock(&log_lock);
}

void serverLog(int level, const char *fmt, ...) {
    if (level < server.loglevel) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t off = strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(ts + off, sizeof(ts) - off, "%03d", (int)(tv.tv_usec / 1000));
    static const char marks[] = ".-*#";
    char line[1200];
    int n = snprintf(line, sizeof(line), "%d:M %s %c %s\n", (int)getpid(), ts,
                     marks[level < 0 ? 0 : level > 3 ? 3 : level], msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    pthread_mutex_lock(&log_lock);
    int fd = log_fd >= 0 ? log_fd : STDOUT_FILENO;
    if (write(fd, line, (size_t)n) < 0) { /* nowhere to report it */ }
    pthread_mutex_unlock(&log_lock);
    if (server.syslog_enabled) {
        static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING};
        syslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], "%s", msg);
    }
}
