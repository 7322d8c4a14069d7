/*
 * log: the server's log lines, Redis's format ("pid:role dd Mon yyyy
 * hh:mm:ss.mmm * message"), filtered by server.loglevel and written to
 * server.logfile (stdout when empty). Thread-safe: each line is one write.
 */
#ifndef LIGHTNING_LOG_H
#define LIGHTNING_LOG_H

void serverLog(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Re-opens server.logfile (after CONFIG SET logfile). */
void log_reopen(void);

#endif
