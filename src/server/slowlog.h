/*
 * slowlog: Redis's slow log — the latest slowlog-max-len commands that took
 * at least slowlog-log-slower-than microseconds (SLOWLOG GET/LEN/RESET).
 *
 * Owns: one list of entries, newest first, under one mutex, trimmed to
 * slowlog-max-len on every push (and on CONFIG SET). The mutex is taken only
 * for slow commands (and SLOWLOG itself), so I/O threads running fast
 * commands never meet on it. An entry is one allocation holding Redis's
 * six fields: id, unix time, duration µs, the arguments as Redis trims them
 * (at most 32; the 32nd becomes "... (N more arguments)"; an argument over
 * 128 bytes keeps 128 and "... (N more bytes)"; secrets "(redacted)"), the
 * client's address and name at the time. So memory is bounded by
 * max-len x (32 x ~150 bytes + the name).
 */
#ifndef LIGHTNING_SLOWLOG_H
#define LIGHTNING_SLOWLOG_H

#include <stdint.h>

#include "server/net/client.h"

#define SLOWLOG_ENTRY_MAX_ARGC 32
#define SLOWLOG_ENTRY_MAX_STRING 128

struct command;

/* Logs c's command (argv) when it took at least slowlog-log-slower-than µs
 * and cmd is not flagged skip_slowlog. Any thread. */
void slowlog_push_if_needed(client *c, const struct command *cmd, const resp_arg *argv,
                            int argc, int64_t duration_us);
/* Entries and the newest entry's id (-1 when none ever logged). */
void slowlog_stats(long *len, long long *last_id);
/* The newest entry's duration in µs, 0 when the log is empty (/metrics
 * redis_last_slow_execution_duration_seconds, as redis_exporter reads
 * SLOWLOG GET 1). */
int64_t slowlog_last_duration_us(void);
/* CONFIG SET slowlog-max-len: trims to the new length. */
void slowlog_apply_config(void);

/* Is argv[i] of this call a secret that MONITOR and SLOWLOG show as
 * "(redacted)", as Redis does: AUTH's arguments, HELLO's AUTH username and
 * password, CONFIG SET's value for a sensitive directive. */
int cmdlog_arg_redacted(const struct command *cmd, const resp_arg *argv, int argc, int i);

#endif
