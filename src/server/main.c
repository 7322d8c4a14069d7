/*
 * main: start-up and shutdown of lightning-server.
 *
 *   lightning-server [config-file] [--directive value ...]
 *
 * Order: configuration, logging, engine, listening sockets (a port in use
 * fails here), I/O threads, then the dataset load (clients are answered
 * meanwhile, -LOADING for most commands: loading.h), replication and the
 * cluster; then the main thread
 * waits for SIGTERM/SIGINT (or SIGUSR1 from SHUTDOWN), stops the workers and
 * exits. Every thread blocks these signals, so only main() handles them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/latency.h"
#include "server/loading.h"
#include "server/memory.h"
#include "server/metrics.h"
#include "script/function.h"
#include "repl/repl.h"
#include "server/cmd/blocking.h"
#include "server/cmd/cmd_sync.h"
#include "server/cmd/commands.h"
#include "server/cmd/pubsub.h"
#include "cluster/cluster.h"
#include "server/config.h"
#include "server/engine_glue.h"
#include "server/net/listen.h"
#include "server/log.h"
#include "server/persist/backup.h"
#include "server/persist/persist.h"
#include "server/persist/save.h"
#include "server/proc.h"
#include "server/acl.h"
#include "server/net/tls.h"
#include "server/server.h"
#include "server/net/worker.h"

static void make_runid(char *out) {
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[20];
    FILE *f = fopen("/dev/urandom", "r");
    if (!f || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
        uint64_t x = (uint64_t)ustime() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof(raw); i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(x >> 56);
        }
    }
    if (f) fclose(f);
    for (int i = 0; i < 20; i++) {
        out[i * 2] = hex[raw[i] >> 4];
        out[i * 2 + 1] = hex[raw[i] & 15];
    }
    out[40] = '\0';
}

/* The listening sockets and the I/O threads. 0, or -1 (logged). */
static int start_serving(void) {
    if (listen_open() < 0) return -1;
    if (workers_start() < 0) {
        serverLog(LL_WARNING, "Failed to start the I/O threads, exiting.");
        return -1;
    }
    proc_pidfile_write();
    return 0;
}

/* Start-up failed (logged) while the I/O threads run: exit without
 * running exit handlers under them. */
static int exit_serving_failed(void) {
    fflush(NULL);
    proc_pidfile_remove();
    _exit(1);
}

/* always-show-logo, or a terminal on stdout: the banner; else one line. */
static void show_banner(void) {
    if (server.always_show_logo ||
        (isatty(STDOUT_FILENO) && !server.syslog_enabled && !server.logfile[0])) {
        serverLog(LL_NOTICE, "\n"
                             "        __    _       __    __        _\n"
                             "       / /   (_)___ _/ /_  / /_____  (_)___  ____ _\n"
                             "      / /   / / __ `/ __ \\/ __/ __ \\/ / __ \\/ __ `/\n"
                             "     / /___/ / /_/ / / / / /_/ / / / / / / / /_/ /\n"
                             "    /_____/_/\\__, /_/ /_/\\__/_/ /_/_/_/ /_/\\__, /\n"
                             "            /____/                        /____/\n"
                             "    Lightning %s (Redis %s compatible), port %d, pid %d\n",
                  LIGHTNING_VERSION, REDIS_VERSION, server.port, (int)getpid());
    } else {
        serverLog(LL_NOTICE, "Running mode=%s, port=%d.",
                  server.cluster_enabled ? "cluster" : "standalone", server.port);
    }
}

/* io-threads 0: one I/O thread per core, except on machines of fewer than
 * four cores, where one core is left to the WAL writer, snapshots and the
 * OS (on 2 cores, 2 I/O threads lost 10-18% to 1 against Redis with
 * clients on the same machine: docs/BENCHMARKS.md). */
static int default_io_threads(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    if (cores < 4 && cores > 1) cores--;
    return (int)cores;
}

static int usage(const char *prog) {
    fprintf(stderr,
            "Usage: %s [/path/to/lightning.conf] [options]\n"
            "       %s -v or --version\n"
            "       %s -h or --help\n\n"
            "Examples:\n"
            "       %s (run the server with default config)\n"
            "       %s /etc/lightning/6379.conf\n"
            "       %s --port 7777\n"
            "       %s /etc/mylightning.conf --loglevel verbose\n",
            prog, prog, prog, prog, prog, prog, prog);
    return 1;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("Lightning server v=%s (Redis compatible %s)\n", LIGHTNING_VERSION, REDIS_VERSION);
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(argv[0]) - 1;

    proc_title_init(argc, argv);
    config_init_defaults();
    char err[4096];
    int rc = config_load_args(argc, argv, err, sizeof(err));
    if (rc == -1) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    log_reopen();
    if (rc < 0) {
        serverLog(LL_WARNING, "%s", err);
        return 1;
    }
    /* Before any thread exists: supervision, the fork, the process. */
    if (proc_daemonize(proc_supervise_early()) < 0) return 1;
    proc_start();
    show_banner();
    /* ACL users from the config's `user` lines or from aclfile. */
    if (acl_load_at_startup(err, sizeof(err)) < 0) {
        serverLog(LL_WARNING, "%s", err);
        return 1;
    }

    /* Threads inherit this mask: only this thread takes the signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    make_runid(server.runid);
    make_runid(server.replid);
    server.active_expire_enabled = 1;
    server.start_time_ms = mstime();
    server.start_mono_us = monotonic_us();
    server.stat_reset_time_ms = server.start_time_ms;
    server.nworkers = server.io_threads > 0 ? server.io_threads : default_io_threads();
    commands_init();
    latency_init();

    if (engine_open() < 0) return 1;
    info_init(); /* the empty engine counts as start-up memory */
    if (function_load_at_start() < 0) return 1;
    if (blocking_init() < 0) return 1;
    if (pubsub_init() < 0) return 1;
    if (tls_init(err, sizeof(err)) < 0) {
        serverLog(LL_WARNING, "%s", err);
        return 1;
    }
    /* As Redis, clients are accepted while the dataset loads: commands
     * without the `loading` flag get -LOADING (loading.h). A cluster node
     * listens after the load: its routing (cluster_init) needs the data. */
    int listen_early = !server.cluster_enabled;
    loading_begin(persist_load_bytes());
    if (listen_early && start_serving() < 0) return 1;
    /* The WAL's buffers (reported as aof.buffer) and the data replayed are
     * not start-up memory; the I/O threads' buffers are. */
    size_t mem_before_load = mem_used_now();
    if (persist_open() < 0) return listen_early ? exit_serving_failed() : 1;
    size_t mem_loaded = mem_used_now() - mem_before_load;
    if (backup_init() < 0 || repl_init() < 0 || (server.cluster_enabled && cluster_init() < 0))
        return listen_early ? exit_serving_failed() : 1;
    if (!listen_early && start_serving() < 0) return 1;
    loading_end();
    persist_workers_started();
    repl_workers_started();
    mem_record_startup(mem_loaded);
    serverLog(LL_NOTICE,
              "Lightning %s (Redis %s compatible) started: pid=%d port=%d io-threads=%d backend=%s",
              LIGHTNING_VERSION, REDIS_VERSION, (int)getpid(), server.port, server.nworkers,
              ev_loop_backend_name(server.workers[0]->loop));
    serverLog(LL_NOTICE, "Ready to accept connections tcp");
    proc_notify_ready();

    int sig = 0;
    for (;;) {
        if (sigwait(&sigs, &sig) != 0) continue;
        if (sig == SIGUSR1 && !__atomic_load_n(&server.shutdown_requested, __ATOMIC_ACQUIRE))
            continue;
        if (sig == SIGTERM || sig == SIGINT) {
            const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            serverLog(LL_WARNING, "Received %s scheduling shutdown...", name);
            /* As Redis 7: a server that cannot persist keeps running. */
            if (persist_shutdown_check() < 0) {
                serverLog(LL_WARNING,
                          "%s received but errors trying to shut down the server, check the "
                          "logs for more information",
                          name);
                continue;
            }
        }
        break;
    }
    serverLog(LL_WARNING, "User requested shutdown...");
    proc_notify_stopping();
    repl_shutdown(); /* the link thread loads into the engine */
    persist_workers_stopping();
    workers_stop_and_join();
    sync_shutdown(); /* SYNC payload writers read the engine */
    cluster_shutdown();
    blocking_close();
    pubsub_close();
    /* SIGTERM/SIGINT save when save rules exist, as Redis; SHUTDOWN
     * (SIGUSR1) has saved already as it asked. */
    save_shutdown(sig != SIGUSR1);
    persist_close();
    listen_close();
    engine_close();
    proc_pidfile_remove();
    serverLog(LL_WARNING, "Lightning is now ready to exit, bye bye...");
    return server.shutdown_exit_code;
}
