/*
 * Unit tests for config.c: defaults, config file and command-line parsing
 * (values, units, errors with Redis's texts and line numbers, include),
 * and CONFIG REWRITE keeping comments and line positions. Expected texts
 * were taken from redis-server 7.0.15.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/objlimits.h"
#include "server/config.h"
#include "server/cron.h"
#include "server/proc.h"
#include "server/server.h"
#include "../testlib.h"

static char tmpdir[] = "/tmp/lt-config-XXXXXX";
static char origcwd[4096];
static char err[4096];

/* Writes content to tmpdir/name; returns the path (static buffer). */
static const char *write_file(const char *name, const char *content) {
    static char path[4200];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(content, f);
    fclose(f);
    return path;
}

/* Reads a whole file into a static buffer. */
static const char *read_file(const char *path) {
    static char buf[8192];
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* config_load_args on a NULL-terminated list, after resetting to defaults. */
static int load(const char *first, ...) {
    char *argv[32] = {"lightning-server"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    config_init_defaults();
    return config_load_args(argc, argv, err, sizeof(err));
}

TEST(defaults) {
    REQUIRE(load(NULL) == 0);
    CHECK_EQ_INT(server.port, 6379);
    CHECK_EQ_INT(server.bind_count, 1);
    CHECK_EQ_STR(server.bind[0], "127.0.0.1");
    CHECK_EQ_INT(server.protected_mode, 1);
    CHECK_EQ_INT(server.io_threads, 0);
    CHECK_EQ_STR(server.io_backend, "auto");
    CHECK_EQ_STR(server.dir, ".");
    CHECK_EQ_INT(server.loglevel, LL_NOTICE);
    CHECK_EQ_STR(server.logfile, "");
    CHECK_EQ_INT(server.maxclients, 10000);
    CHECK_EQ_INT(server.timeout, 0);
    CHECK_EQ_INT(server.proto_max_bulk_len, 512LL * 1024 * 1024);
    CHECK_EQ_INT(server.client_query_buffer_limit, 1024LL * 1024 * 1024);
    CHECK_EQ_INT(server.client_output_backpressure, 1024 * 1024);
    CHECK_EQ_INT(server.databases, 16);
    CHECK_EQ_INT(server.hz, 10);
    CHECK_EQ_INT(server.shards, 64);
    CHECK_EQ_INT(server.tcp_backlog, 511);
    CHECK_EQ_INT(server.tcp_keepalive, 300);
    CHECK(server.pidfile == NULL);
    CHECK(server.requirepass == NULL);
    CHECK(server.configfile == NULL);
}

TEST(memory_units) {
    long long v;
    CHECK(config_parse_memory("100", 3, &v) == 0 && v == 100);
    CHECK(config_parse_memory("1k", 2, &v) == 0 && v == 1000);
    CHECK(config_parse_memory("1KB", 3, &v) == 0 && v == 1024);
    CHECK(config_parse_memory("2m", 2, &v) == 0 && v == 2000000);
    CHECK(config_parse_memory("2Mb", 3, &v) == 0 && v == 2 * 1024 * 1024);
    CHECK(config_parse_memory("3g", 2, &v) == 0 && v == 3000000000LL);
    CHECK(config_parse_memory("3gB", 3, &v) == 0 && v == 3LL << 30);
    CHECK(config_parse_memory("7b", 2, &v) == 0 && v == 7);
    CHECK(config_parse_memory("-1", 2, &v) == -1);
    CHECK(config_parse_memory("1.5mb", 5, &v) == -1);
    CHECK(config_parse_memory("1x", 2, &v) == -1);
    CHECK(config_parse_memory("1kbb", 4, &v) == -1);
    CHECK(config_parse_memory("99999999999999999999", 20, &v) == -1);
    CHECK(config_parse_memory("9223372036854775808", 19, &v) == -1);
}

TEST(file_values) {
    const char *path = write_file("values.conf",
                                  "# comment\n"
                                  "   \n"
                                  "PORT 7000\n"
                                  "bind 10.0.0.1 ::1\n"
                                  "protected-mode NO\n"
                                  "loglevel Warning\n"
                                  "proto-max-bulk-len 2mb\n"
                                  "client-query-buffer-limit 3gb\n"
                                  "requirepass \"a b\\\"c\"\n"
                                  "io-backend epoll\n"
                                  "db-shards 16\n"
                                  "  timeout 30  \r\n");
    REQUIRE(path);
    REQUIRE(load(path, NULL) == 0);
    CHECK_EQ_INT(server.port, 7000);
    CHECK_EQ_INT(server.bind_count, 2);
    CHECK_EQ_STR(server.bind[1], "::1");
    CHECK_EQ_INT(server.protected_mode, 0);
    CHECK_EQ_INT(server.loglevel, LL_WARNING);
    CHECK_EQ_INT(server.proto_max_bulk_len, 2 * 1024 * 1024);
    CHECK_EQ_INT(server.client_query_buffer_limit, 3LL << 30);
    CHECK_EQ_STR(server.requirepass, "a b\"c");
    CHECK_EQ_STR(server.io_backend, "epoll");
    CHECK_EQ_INT(server.shards, 16);
    CHECK_EQ_INT(server.timeout, 30);
    CHECK_EQ_STR(server.configfile, path);
}

TEST(hz_is_clamped) {
    REQUIRE(load("--hz", "1000", NULL) == 0);
    CHECK_EQ_INT(server.hz, 500);
    REQUIRE(load("--hz", "0", NULL) == 0);
    CHECK_EQ_INT(server.hz, 1);
}

TEST(file_errors_with_line_numbers) {
    const char *path = write_file("bad.conf", "port 7000\nfoo bar\n");
    REQUIRE(path);
    CHECK_EQ_INT(load(path, NULL), -1);
    /* Redis's text, plus the file's name (Redis leaves it out). */
    char want[5000];
    snprintf(want, sizeof(want),
             "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
             "Reading the configuration file %s, at line 2\n"
             ">>> 'foo bar'\n"
             "Bad directive or wrong number of arguments", path);
    CHECK_EQ_STR(err, want);

    path = write_file("bad2.conf", "# c\n\nport \"abc\n");
    CHECK_EQ_INT(load(path, NULL), -1);
    CHECK(strstr(err, "at line 3\n>>> 'port \"abc'\nUnbalanced quotes in configuration line"));

    path = write_file("bad3.conf", "maxclients 0\n");
    CHECK_EQ_INT(load(path, NULL), -1);
    CHECK(strstr(err, "\nargument must be between 1 and 4294967295 inclusive"));

    path = write_file("bad4.conf", "rename-command get fetch\n");
    CHECK_EQ_INT(load(path, NULL), -1);
    CHECK(strstr(err, ">>> 'rename-command get fetch'\n"));

    path = write_file("bad5.conf", "db-shards 12\n");
    CHECK_EQ_INT(load(path, NULL), -1);
    CHECK(strstr(err, "\nargument must be a power of two"));
}

TEST(value_errors) {
    CHECK_EQ_INT(load("--port", "abc", NULL), -1);
    CHECK_EQ_STR(err, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                      "Reading the configuration file (command line), at line 2\n"
                      ">>> 'port \"abc\"'\n"
                      "argument couldn't be parsed into an integer");
    CHECK_EQ_INT(load("--port", "70000", NULL), -1);
    CHECK(strstr(err, "\nargument must be between 0 and 65535 inclusive"));
    CHECK_EQ_INT(load("--protected-mode", "maybe", NULL), -1);
    CHECK(strstr(err, "\nargument must be 'yes' or 'no'"));
    CHECK_EQ_INT(load("--loglevel", "foo", NULL), -1);
    CHECK(strstr(err, "\nargument(s) must be one of the following: debug, verbose, notice, "
                      "warning"));
    CHECK_EQ_INT(load("--proto-max-bulk-len", "1x", NULL), -1);
    CHECK(strstr(err, "\nargument must be a memory value"));
    CHECK_EQ_INT(load("--proto-max-bulk-len", "1", NULL), -1);
    CHECK(strstr(err, "\nargument must be between 1048576 and 536870912 inclusive"));
    CHECK_EQ_INT(load("--port", NULL), -1);
    CHECK(strstr(err, ">>> 'port'\nwrong number of arguments"));
    CHECK_EQ_INT(load("--port", "1", "2", NULL), -1);
    CHECK(strstr(err, ">>> 'port \"1\" \"2\"'\nwrong number of arguments"));
    CHECK_EQ_INT(load("--port", "1", "--foo", NULL), -1);
    CHECK(strstr(err, "at line 3\n>>> 'foo'\nBad directive"));
    CHECK_EQ_INT(load("--logfile", "/nonexistent-dir/x.log", NULL), -1);
    CHECK_EQ_STR(err, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                      "Can't open the log file: No such file or directory");
}

TEST(command_line_overrides_file) {
    const char *path = write_file("base.conf", "# c\nport 7000\ntimeout 5\n");
    REQUIRE(path);
    REQUIRE(load(path, "--port", "7001", "--bind", "127.0.0.1", "::1", NULL) == 0);
    CHECK_EQ_INT(server.port, 7001);
    CHECK_EQ_INT(server.timeout, 5);
    CHECK_EQ_INT(server.bind_count, 2);
    /* One quoted argument to a multi-argument directive is split. */
    REQUIRE(load("--bind", "10.0.0.1 10.0.0.2", "--port 7002", NULL) == 0);
    CHECK_EQ_INT(server.bind_count, 2);
    CHECK_EQ_STR(server.bind[1], "10.0.0.2");
    CHECK_EQ_INT(server.port, 7002);
    /* A file that ends with a newline: options start two lines later. */
    CHECK_EQ_INT(load(path, "--port", "abc", NULL), -1);
    CHECK(strstr(err, "at line 5\n>>> 'port \"abc\"'"));
    /* A value that needs quoting survives the round trip. */
    REQUIRE(load("--requirepass", "p \"q\"\n", NULL) == 0);
    CHECK_EQ_STR(server.requirepass, "p \"q\"\n");
    REQUIRE(load("--requirepass", "", NULL) == 0);
    CHECK(server.requirepass == NULL);
}

TEST(include_and_missing_file) {
    const char *inc = write_file("inc.conf", "tcp-keepalive 100\nport 7100\n");
    REQUIRE(inc);
    char main_conf[4400];
    snprintf(main_conf, sizeof(main_conf), "port 7000\ninclude %s\ntimeout 9\n", inc);
    const char *path = write_file("main.conf", main_conf);
    REQUIRE(load(path, NULL) == 0);
    CHECK_EQ_INT(server.tcp_keepalive, 100);
    CHECK_EQ_INT(server.port, 7100);
    CHECK_EQ_INT(server.timeout, 9);

    /* An error inside an include reports the included file's line. */
    write_file("inc.conf", "\nbogus\n");
    CHECK_EQ_INT(load(path, NULL), -1);
    CHECK(strstr(err, "at line 2\n>>> 'bogus'"));

    CHECK_EQ_INT(load("/nonexistent-dir/x.conf", NULL), -2);
    CHECK_EQ_STR(err, "Fatal error, can't open config file '/nonexistent-dir/x.conf': "
                      "No such file or directory");
}

TEST(relative_path_made_absolute) {
    REQUIRE(chdir(tmpdir) == 0);
    write_file("rel.conf", "port 7200\n");
    REQUIRE(load("rel.conf", NULL) == 0);
    char want[4200];
    snprintf(want, sizeof(want), "%s/rel.conf", tmpdir);
    CHECK_EQ_STR(server.configfile, want);
    CHECK_EQ_INT(server.port, 7200);
    REQUIRE(chdir(origcwd) == 0);
}

TEST(dir_changes_directory) {
    char conf[4400];
    snprintf(conf, sizeof(conf), "dir %s\n", tmpdir);
    const char *path = write_file("dir.conf", conf);
    REQUIRE(load(path, NULL) == 0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, tmpdir));
    CHECK_EQ_STR(server.dir, tmpdir);
    REQUIRE(chdir(origcwd) == 0);
    CHECK_EQ_INT(load("--dir", "/nonexistent-dir", NULL), -1);
    CHECK(strstr(err, "\nNo such file or directory"));
}

TEST(rewrite_keeps_comments) {
    const char *path = write_file("rw.conf",
                                  "# top comment\n"
                                  "port 7777\n"
                                  "   # indented comment\n"
                                  "bind 127.0.0.1\n"
                                  "\n"
                                  "loglevel warning\n"
                                  "timeout 5\n"
                                  "timeout 6\n"
                                  "protected-mode yes\n"
                                  "pidfile \"\"\n"
                                  "logfile \"\"\n");
    REQUIRE(path);
    char conf_path[4200];
    snprintf(conf_path, sizeof(conf_path), "%s", path);
    REQUIRE(load(conf_path, "--hz", "1000", "--requirepass", "a b\"c",
                 "--client-query-buffer-limit", "2000000", NULL) == 0);
    REQUIRE(config_rewrite(conf_path) == 0);
    char want[8192];
    snprintf(want, sizeof(want),
             "# top comment\n"
             "port 7777\n"
             "# indented comment\n"
             "\n"
             "loglevel warning\n"
             "timeout 6\n"
             "\n"
             "protected-mode yes\n"
             "\n"
             "logfile \"\"\n"
             "\n"
             "# Generated by CONFIG REWRITE\n"
             "hz 500\n"
             "dir \"%s\"\n"
             "requirepass \"a b\\\"c\"\n"
             "client-query-buffer-limit 2000000\n"
             /* the users (acl.c), as Redis writes them: requirepass is the
              * default user's password */
             "user default on #0c13a69ba69e1b7cc515a470879bf69f0d5d2d14b6802a3c0ac678076353fd18 "
             "~* &* +@all\n",
             origcwd);
    CHECK_EQ_STR(read_file(conf_path), want);

    /* Rewriting again adds no second signature; like Redis, the file's
     * final newline becomes one blank line, and then it is stable. */
    REQUIRE(load(conf_path, NULL) == 0);
    REQUIRE(config_rewrite(conf_path) == 0);
    strcat(want, "\n");
    CHECK_EQ_STR(read_file(conf_path), want);
    REQUIRE(config_rewrite(conf_path) == 0);
    CHECK_EQ_STR(read_file(conf_path), want);
}

/* Redis 7's *-ziplist-* aliases: accepted in the file and on the command
 * line, and CONFIG REWRITE writes the line under the name (as Redis does);
 * the engine's limits follow the loaded values. */
TEST(encoding_aliases) {
    const char *path = write_file("alias.conf",
                                  "hash-max-ziplist-entries 5\n"
                                  "zset-max-ziplist-value 100\n"
                                  "list-max-ziplist-size 3\n");
    REQUIRE(path);
    char conf_path[4200];
    snprintf(conf_path, sizeof(conf_path), "%s", path);
    REQUIRE(load(conf_path, "--set-max-intset-entries", "7", "--hash-max-listpack-value", "1kb",
                 NULL) == 0);
    CHECK_EQ_INT(server.hash_max_listpack_entries, 5);
    CHECK_EQ_INT(server.zset_max_listpack_value, 100);
    CHECK_EQ_INT(server.list_max_listpack_size, 3);
    CHECK_EQ_INT(server.hash_max_listpack_value, 1024);
    CHECK_EQ_INT(objlimits_hash_entries(), 5);
    CHECK_EQ_INT(objlimits_hash_value(), 1024);
    CHECK_EQ_INT(objlimits_zset_value(), 100);
    CHECK_EQ_INT(objlimits_set_intset_entries(), 7);
    CHECK_EQ_INT(objlimits_list_size(), 3);
    REQUIRE(config_rewrite(conf_path) == 0);
    char want[8192];
    snprintf(want, sizeof(want),
             "hash-max-listpack-entries 5\n"
             "zset-max-listpack-value 100\n"
             "list-max-listpack-size 3\n"
             "\n"
             "# Generated by CONFIG REWRITE\n"
             "dir \"%s\"\n"
             "hash-max-listpack-value 1kb\n"
             "set-max-intset-entries 7\n"
             "user default on nopass ~* &* +@all\n",
             origcwd);
    CHECK_EQ_STR(read_file(conf_path), want);
    /* Bad values: Redis's texts. */
    CHECK(load("--hash-max-ziplist-entries", "-1", NULL) != 0);
    CHECK(strstr(err, "argument must be between 0 and 9223372036854775807 inclusive"));
    CHECK(load("--zset-max-ziplist-value", "x", NULL) != 0);
    CHECK(strstr(err, "argument must be a memory value"));
    CHECK(load("--hash-max-zipmap-entries", "5", NULL) != 0);
    REQUIRE(load(NULL) == 0);
    CHECK_EQ_INT(objlimits_hash_entries(), 512);
}

TEST(rewrite_edge_cases) {
    /* Unknown lines become comments; memory values use units; a missing
     * file is written from scratch. */
    const char *path = write_file("rw2.conf", "bogus line\ninclude /nowhere\n");
    char conf_path[4200];
    snprintf(conf_path, sizeof(conf_path), "%s", path);
    REQUIRE(load("--proto-max-bulk-len", "64mb", "--bind", "", NULL) == 0);
    REQUIRE(config_rewrite(conf_path) == 0);
    const char *got = read_file(conf_path);
    REQUIRE(got);
    CHECK(!strncmp(got, "# ??? bogus line\ninclude /nowhere\n\n# Generated by CONFIG REWRITE\n",
                   60));
    CHECK(strstr(got, "\nbind \"\"\n"));
    CHECK(strstr(got, "\nproto-max-bulk-len 64mb\n"));

    unlink(conf_path);
    REQUIRE(config_rewrite(conf_path) == 0);
    got = read_file(conf_path);
    CHECK(got && !strncmp(got, "# Generated by CONFIG REWRITE\n", 30));
}

TEST(sensitive) {
    CHECK(config_is_sensitive("REQUIREPASS", 11));
    CHECK(!config_is_sensitive("port", 4));
    CHECK(!config_is_sensitive("nope", 4));
}


TEST(redis_directives_defaults) {
    REQUIRE(load(NULL) == 0);
    CHECK_EQ_INT(server.daemonize, 0);
    CHECK_EQ_INT(server.supervised, SUPERVISED_NONE);
    CHECK_EQ_STR(server.syslog_ident, "redis");
    CHECK_EQ_STR(server.dbfilename, "dump.rdb");
    CHECK_EQ_STR(server.appenddirname, "appendonlydir");
    CHECK_EQ_STR(server.oom_score_adj_values, "0 200 800");
    CHECK_EQ_STR(server.latency_tracking_info_percentiles, "50 99 99.9");
    CHECK_EQ_INT(server.repl_backlog_size, 1024 * 1024);
    CHECK_EQ_INT(server.slowlog_log_slower_than, 10000);
    CHECK_EQ_INT(server.busy_reply_threshold, 5000);
    CHECK_EQ_INT(server.active_defrag_ignore_bytes, 100LL * 1024 * 1024);
    CHECK(server.replicaof == NULL);
    CHECK(server.masterauth == NULL);
}

TEST(aliases_and_multi_arg) {
    const char *path = write_file("alias.conf",
                                  "slave-read-only no\n"
                                  "lua-time-limit 100\n"
                                  "slaveof 10.0.0.1 6380\n"
                                  "oom-score-adj-values -100 300 900\n"
                                  "shutdown-on-sigterm save now\n"
                                  "latency-tracking-info-percentiles 50.5000 99\n"
                                  "oom-score-adj relative\n"
                                  "appendfsync always\n"
                                  "unixsocketperm 700\n"
                                  "list-max-ziplist-entries 5\n"
                                  "lua-replicate-commands yes\n");
    REQUIRE(path);
    REQUIRE(load(path, NULL) == 0);
    CHECK_EQ_INT(server.repl_slave_ro, 0);
    CHECK_EQ_INT(server.busy_reply_threshold, 100);
    CHECK_EQ_STR(server.replicaof, "10.0.0.1 6380");
    CHECK_EQ_STR(server.oom_score_adj_values, "-100 300 900");
    CHECK_EQ_INT(server.shutdown_on_sigterm, SHUTDOWN_SAVE | SHUTDOWN_NOW);
    CHECK_EQ_STR(server.latency_tracking_info_percentiles, "50.5 99");
    CHECK_EQ_INT(server.oom_score_adj, OOM_SCORE_RELATIVE);
    CHECK_EQ_INT(server.appendfsync, 0 /* WAL_FSYNC_ALWAYS */);
    CHECK_EQ_INT(server.unixsocketperm, 0700);
    /* One "" means no percentiles (how CONFIG REWRITE writes none). */
    REQUIRE(load(path, "--latency-tracking-info-percentiles", "", NULL) == 0);
    CHECK_EQ_STR(server.latency_tracking_info_percentiles, "");
    /* "replicaof no one" unsets it. */
    REQUIRE(load(path, "--replicaof", "no", "one", NULL) == 0);
    CHECK(server.replicaof == NULL);

    /* REWRITE writes an alias's line under the directive's own name. */
    char conf_path[4200];
    snprintf(conf_path, sizeof(conf_path), "%s", write_file("alias2.conf",
                                                              "# keep me\n"
                                                              "slave-priority 7\n"));
    REQUIRE(load(conf_path, NULL) == 0);
    CHECK_EQ_INT(server.replica_priority, 7);
    REQUIRE(config_rewrite(conf_path) == 0);
    const char *got = read_file(conf_path);
    CHECK(got && !strncmp(got, "# keep me\nreplica-priority 7\n", 29));
}

TEST(redis_directive_errors) {
    /* Texts of redis-server 7.0.15 for the same lines. */
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"replicaof 1.2.3.4 99999", "Invalid master port"},
        {"unixsocketperm 999", "argument couldn't be parsed as an octal number"},
        {"dbfilename a/b", "dbfilename can't be a path, just a filename"},
        {"appendfilename a/b", "appendfilename can't be a path, just a filename"},
        {"appenddirname a/b", "appenddirname can't be a path, just a dirname"},
        {"syslog-facility foo", "argument(s) must be one of the following: user, local0, "
                                "local1, local2, local3, local4, local5, local6, local7"},
        {"supervised x", "argument(s) must be one of the following: upstart, systemd, auto, no"},
        {"shutdown-on-sigint save bogus",
         "argument(s) must be one of the following: default, save, nosave, now, force"},
        {"oom-score-adj-values 1 2", "wrong number of arguments"},
        {"oom-score-adj-values 0 2001 0",
         "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
        {"latency-tracking-info-percentiles 50 x",
         "Invalid latency-tracking-info-percentiles parameters"},
        {"latency-tracking-info-percentiles 101",
         "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"},
        {"cluster-announce-hostname a_b",
         "Hostnames may only contain alphanumeric characters, hyphens or dots"},
        {"proc-title-template \"{title} {foo}\"",
         "template format is invalid or contains unknown variables"},
        {"active-defrag-cycle-max 100", "argument must be between 1 and 99 inclusive"},
        {"slowlog-log-slower-than -2",
         "argument must be between -1 and 9223372036854775807 inclusive"},
        {"repl-backlog-size 0", "argument must be between 1 and 9223372036854775807 inclusive"},
        {"hash-max-zipmap-entries 5", "Bad directive or wrong number of arguments"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "%s\n", cases[i].line);
        const char *path = write_file("bad.conf", text);
        REQUIRE(path);
        CHECK_EQ_INT(load(path, NULL), -1);
        char want[1024];
        snprintf(want, sizeof(want), "at line 1\n>>> '%s'\n%s", cases[i].line, cases[i].msg);
        if (!strstr(err, want)) {
            fprintf(stderr, "  line %s: got %s\n", cases[i].line, err);
            CHECK(0);
        }
    }
}

TEST(dynamic_hz) {
    REQUIRE(load(NULL) == 0);
    server.nclients = 5000;
    CHECK_EQ_INT(cron_hz(), 40); /* 5000 clients: 10 -> 20 -> 40 (125 per tick) */
    server.dynamic_hz = 0;
    CHECK_EQ_INT(cron_hz(), 10);
    server.dynamic_hz = 1;
    server.nclients = 1000000;
    CHECK_EQ_INT(cron_hz(), 500);
    server.nclients = 0;
}

TEST(proc_title_templates) {
    REQUIRE(load(NULL) == 0);
    CHECK(proc_title_valid("{title} {listen-addr} {server-mode}"));
    CHECK(proc_title_valid("abc"));
    CHECK(proc_title_valid("{{literal}} {port} {config-file}"));
    CHECK(!proc_title_valid("{title} {foo}"));
    CHECK(!proc_title_valid("{title"));
    CHECK(!proc_title_valid(""));
    CHECK(!proc_title_valid("   "));
}

/* docs/CONFIG.md is generated from the table: regenerate with
 * `make config-doc` when this fails. Tests run from the repository root. */
TEST(config_doc_matches_table) {
    REQUIRE(load(NULL) == 0);
    char *doc = config_doc_markdown();
    CHECK(!strstr(doc, "**undocumented**")); /* every row has a status */
    FILE *f = fopen("docs/CONFIG.md", "r");
    REQUIRE(f);
    size_t cap = strlen(doc) + 2, n;
    char *file = malloc(cap + 1);
    n = fread(file, 1, cap, f);
    fclose(f);
    file[n] = '\0';
    if (strcmp(doc, file) != 0) {
        fprintf(stderr, "  docs/CONFIG.md differs from the directive table: run make config-doc\n");
        CHECK(0);
    }
    free(file);
    free(doc);
}

int main(void) {
    if (!mkdtemp(tmpdir) || !getcwd(origcwd, sizeof(origcwd))) return 1;
    RUN(defaults);
    RUN(memory_units);
    RUN(file_values);
    RUN(hz_is_clamped);
    RUN(file_errors_with_line_numbers);
    RUN(value_errors);
    RUN(command_line_overrides_file);
    RUN(include_and_missing_file);
    RUN(relative_path_made_absolute);
    RUN(dir_changes_directory);
    RUN(rewrite_keeps_comments);
    RUN(encoding_aliases);
    RUN(rewrite_edge_cases);
    RUN(sensitive);
    RUN(redis_directives_defaults);
    RUN(aliases_and_multi_arg);
    RUN(redis_directive_errors);
    RUN(dynamic_hz);
    RUN(proc_title_templates);
    RUN(config_doc_matches_table);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return testlib_finish();
}
