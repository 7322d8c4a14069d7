/*
 * proc: what the server does to its own process, driven by configuration —
 * daemonizing (daemonize), the pid file (pidfile), telling a supervisor it
 * is ready or stopping (supervised: systemd's sd_notify protocol spoken
 * directly on $NOTIFY_SOCKET, upstart's SIGSTOP), the process title
 * (set-proc-title, proc-title-template: argv rewritten in place, as ps
 * shows it, plus the thread name), the OOM killer's score (oom-score-adj,
 * oom-score-adj-values), transparent huge pages (disable-thp) and jemalloc's
 * background purge thread (jemalloc-bg-thread).
 *
 * Threading: proc_title_init, proc_supervise_early, proc_daemonize and
 * proc_start run in main() before any other thread exists (a fork must not
 * lose threads). The apply hooks (proc_title_apply, proc_oom_score_apply,
 * proc_jemalloc_bg_thread_apply) run from config loading or CONFIG SET under
 * server.config_lock; before proc_start they only record nothing and return
 * (proc_start applies everything once).
 */
#ifndef LIGHTNING_PROC_H
#define LIGHTNING_PROC_H

/* Where a daemon with no pidfile configured writes it (Redis's default). */
#define PROC_DEFAULT_PIDFILE "/var/run/redis.pid"

/* Takes over the argv/environ area so the title can be rewritten later.
 * Call first in main(); argv[] then points at copies (same strings). */
void proc_title_init(int argc, char **argv);

/* INFO executable: argv[0] made absolute against the working directory at
 * proc_title_init (Redis's getAbsolutePath: leading "../" folded into the
 * directory, nothing resolved), "" before. */
const char *proc_executable(void);

/* 1 if template expands (Redis's sdstemplate rules: {var}, "{{" for '{')
 * with only known variables ({title} {listen-addr} {server-mode} {port}
 * {tls-port} {unixsocket} {config-file}) to a non-blank title. */
int proc_title_valid(const char *tmpl);

/* Resolves `supervised` (auto: $UPSTART_JOB, then $NOTIFY_SOCKET); upstart
 * stops the process (SIGSTOP) as Redis does. Returns 1 if supervised. */
int proc_supervise_early(void);

/* daemonize yes and not supervised: forks twice (the caller's process and
 * the intermediate one exit 0), new session, stdio on /dev/null. A pidfile
 * defaults to PROC_DEFAULT_PIDFILE. Returns 0, or -1 (logged). */
int proc_daemonize(int supervised);

/* After the configuration and daemonize, before the threads: disable-thp,
 * the title, the OOM score, jemalloc's background thread. */
void proc_start(void);

/* The pid file: written once the server listens, removed at exit. */
void proc_pidfile_write(void);
void proc_pidfile_remove(void);

/* systemd: "STATUS=Ready to accept connections" then "READY=1" / at
 * shutdown "STOPPING=1". No-ops unless supervised by systemd. */
void proc_notify_ready(void);
void proc_notify_stopping(void);

/* Apply hooks of config.c rows. */
void proc_title_apply(void);
void proc_oom_score_apply(void);
void proc_jemalloc_bg_thread_apply(void);

#endif
