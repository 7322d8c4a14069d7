/*
 * Server administration commands (issue #2): INFO sections and fields,
 * commandstats/errorstats, CONFIG GET/SET/RESETSTAT/REWRITE, DBSIZE, TIME,
 * COMMAND introspection, SHUTDOWN, SIGTERM, config file errors. Compared with
 * a real redis-server wherever the behaviour is Redis's.
 */
#include "../difftest.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

/* INFO text (malloc'd), "" on error. */
static char *info(redisContext *c, const char *section) {
    if (!c) return strdup("");
    /* "clients keyspace" is two arguments. */
    const char *argv[8] = {"INFO"};
    int argc = 1;
    char *copy = strdup(section ? section : ""), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 8;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    free(copy);
    char *s = strdup(r && r->type == REDIS_REPLY_STRING ? r->str : "");
    if (r) freeReplyObject(r);
    return s;
}

/* "# Section" header names joined by ','. malloc'd. */
static char *section_names(const char *text) {
    char *out = calloc(1, strlen(text) + 1);
    for (const char *p = text; p && *p;) {
        if (*p == '#') {
            size_t n = strcspn(p + 2, "\r\n");
            strncat(out, p + 2, n);
            strcat(out, ",");
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return out;
}

/* Field names of an INFO text (one per line, "section/field"), sorted,
 * joined by '\n'. malloc'd. */
static char *field_list(const char *text) {
    char *copy = strdup(text), *save = NULL, sect[64] = "", *names = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&names, &len);
    for (char *line = strtok_r(copy, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (line[0] == '#') {
            snprintf(sect, sizeof sect, "%s", line + 2);
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        /* Keyspace lines and per-command stats depend on what ran. */
        if (!strcmp(sect, "Keyspace") || !strncmp(line, "cmdstat_", 8) ||
            !strncmp(line, "errorstat_", 10))
            continue;
        fprintf(f, "%s/%s\n", sect, line);
    }
    fclose(f);
    char *out = harness_sort_lines(names);
    free(names);
    free(copy);
    return out;
}

static int has_line(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        if (!strncmp(p, item, n) && p[n] == '\n') return 1;
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

/* commandstats / errorstats reduced to the fields that must be equal:
 * "cmdstat_get:calls=2,rejected_calls=1,failed_calls=0" (usec dropped). */
static char *stats_canonical(const char *text) {
    char *out = calloc(1, strlen(text) + 1);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, "cmdstat_", 8) || !strncmp(p, "errorstat_", 10)) {
            size_t n = strcspn(p, "\r\n");
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            char *colon = strchr(line, ':');
            if (colon) {
                *colon = '\0';
                strcat(out, line);
                strcat(out, ":");
                char *save = NULL;
                for (char *kv = strtok_r(colon + 1, ",", &save); kv;
                     kv = strtok_r(NULL, ",", &save))
                    if (strncmp(kv, "usec", 4)) {
                        strcat(out, kv);
                        strcat(out, ",");
                    }
                strcat(out, "\n");
            }
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    /* Sort the lines: the order of commands follows a hash table. */
    char *sorted = harness_sort_lines(out);
    free(out);
    return sorted;
}


/* Commands Lightning takes from Redis releases newer than 7.0 (client
 * libraries send them), and Lightning's own BACKUP (docs/BACKUP.md): the
 * only names its COMMAND LIST may have that Redis 7.0's lacks. */
static const char *const NEWER_COMMANDS[] = {"client|setinfo", "backup", "backup|begin",
                                             "backup|status", "backup|sync", "backup|read",
                                             "backup|end", "backup|help", NULL};

static int is_newer_command(const char *name) {
    for (int i = 0; NEWER_COMMANDS[i]; i++)
        if (!strcmp(name, NEWER_COMMANDS[i])) return 1;
    return 0;
}

static int reply_has_str(const redisReply *r, const char *s) {
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++)
        if (r->element[i]->str && !strcmp(r->element[i]->str, s)) return 1;
    return 0;
}

static const char *field(const char *text, const char *name) {
    static char buf[8][256];
    static int i;
    i = (i + 1) % 8;
    if (!harness_info_field(text, name, buf[i], sizeof buf[i]))
        return "(missing)";
    return buf[i];
}

TEST(info_sections_and_fields) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("SET", "k", "v"), "status:\"OK\"");
    char *li = info(L, NULL);
    char *ls = section_names(li);
    CHECK_EQ_STR(ls, "Server,Clients,Memory,Persistence,Stats,Replication,"
                     "CPU,Modules,Errorstats,Cluster,Keyspace,");
    if (R) {
        char *ri = info(R, NULL), *rs = section_names(ri);
        CHECK_EQ_STR(ls, rs);
        free(ri);
        free(rs);
    }
    free(ls);
    /* The fields clients and tools read. */
    static const char *const required[] = {
        "redis_version", "redis_mode", "os", "arch_bits", "process_id",
        "run_id", "tcp_port", "uptime_in_seconds", "hz", "executable",
        "config_file", "io_threads_active", "connected_clients",
        "blocked_clients", "maxclients", "used_memory", "used_memory_human",
        "used_memory_rss", "used_memory_peak", "maxmemory",
        "maxmemory_policy", "mem_fragmentation_ratio", "loading",
        /* rdb_changes_since_last_save comes with the durability issue. */
        "aof_enabled",
        "total_connections_received", "total_commands_processed",
        "instantaneous_ops_per_sec", "total_net_input_bytes",
        "rejected_connections", "expired_keys", "evicted_keys",
        "keyspace_hits", "keyspace_misses", "total_error_replies", "role",
        "connected_slaves", "master_replid", "master_repl_offset",
        "used_cpu_sys", "used_cpu_user", "cluster_enabled", NULL};
    for (int i = 0; required[i]; i++)
        if (!strcmp(field(li, required[i]), "(missing)"))
            testlib_fail(__FILE__, __LINE__, "INFO lacks %s", required[i]);
    CHECK(!strncmp(field(li, "redis_version"), "7.0.", 4));
    CHECK(strcmp(field(li, "lightning_version"), "(missing)") != 0);
    char want[32];
    snprintf(want, sizeof want, "%d", LS->port);
    CHECK_EQ_STR(field(li, "tcp_port"), want);
    snprintf(want, sizeof want, "%d", (int)LS->pid);
    CHECK_EQ_STR(field(li, "process_id"), want);
    CHECK_EQ_STR(field(li, "connected_clients"), "1");
    CHECK_EQ_STR(field(li, "role"), "master");
    CHECK_EQ_STR(field(li, "redis_mode"), "standalone");
    CHECK_EQ_STR(field(li, "cluster_enabled"), "0");
    CHECK_EQ_STR(field(li, "db0"), "keys=1,expires=0,avg_ttl=0");
    CHECK(atoll(field(li, "used_memory")) > 0);
    CHECK(strstr(li, "\r\n") != NULL); /* INFO lines end in CRLF */
    free(li);
    /* Section selection. */
    li = info(L, "server");
    ls = section_names(li);
    CHECK_EQ_STR(ls, "Server,");
    free(ls);
    free(li);
    li = info(L, "clients keyspace");
    ls = section_names(li);
    CHECK_EQ_STR(ls, "Clients,Keyspace,");
    free(ls);
    free(li);
    /* everything / all add Commandstats and Latencystats. */
    static const char *const big[] = {"everything", "all", NULL};
    for (int i = 0; big[i]; i++) {
        li = info(L, big[i]);
        ls = section_names(li);
        if (!strstr(ls, "Server,") || !strstr(ls, "Commandstats,") ||
            !strstr(ls, "Errorstats,") || !strstr(ls, "Keyspace,"))
            testlib_fail(__FILE__, __LINE__, "INFO %s sections: %s", big[i],
                         ls);
        CHECK(strstr(li, "cmdstat_info:calls=") != NULL);
        free(ls);
        free(li);
    }
    CHECK_EQ_STR(C("INFO", "nosuchsection"), "bulk:\"\"");
    C("INFO", "KEYSPACE");
    /* redis-cli style: connected_clients counts this connection too. */
    redisContext *c2 = harness_connect(LS);
    li = info(c2, "clients");
    CHECK_EQ_STR(field(li, "connected_clients"), "2");
    free(li);
}

/* The INFO fields Lightning must report, as "Section/field": the ones
 * clients and tools read. Lightning does not report every Redis field;
 * persistence fields such as rdb_changes_since_last_save come with the
 * durability issue. Every one is also a Redis 7.0 field, in that section. */
static const char *const INFO_REQUIRED[] = {
    "Server/redis_version", "Server/redis_git_sha1", "Server/redis_git_dirty",
    "Server/redis_build_id", "Server/redis_mode", "Server/os",
    "Server/arch_bits", "Server/monotonic_clock", "Server/multiplexing_api",
    "Server/atomicvar_api", "Server/gcc_version", "Server/process_id",
    "Server/process_supervised", "Server/run_id", "Server/tcp_port",
    "Server/server_time_usec", "Server/uptime_in_seconds",
    "Server/uptime_in_days", "Server/hz", "Server/configured_hz",
    "Server/executable", "Server/config_file", "Server/io_threads_active",
    "Clients/connected_clients", "Clients/cluster_connections",
    "Clients/maxclients", "Clients/client_recent_max_input_buffer",
    "Clients/client_recent_max_output_buffer", "Clients/blocked_clients",
    "Clients/tracking_clients", "Clients/clients_in_timeout_table",
    "Memory/used_memory", "Memory/used_memory_human", "Memory/used_memory_rss",
    "Memory/used_memory_rss_human", "Memory/used_memory_peak",
    "Memory/used_memory_peak_human", "Memory/used_memory_peak_perc",
    "Memory/allocator_allocated", "Memory/allocator_active",
    "Memory/allocator_resident", "Memory/total_system_memory",
    "Memory/total_system_memory_human", "Memory/maxmemory",
    "Memory/maxmemory_human", "Memory/maxmemory_policy",
    "Memory/allocator_frag_ratio", "Memory/mem_fragmentation_ratio",
    "Memory/mem_allocator", "Persistence/loading", "Persistence/async_loading",
    "Persistence/rdb_bgsave_in_progress", "Persistence/rdb_last_bgsave_status",
    "Persistence/aof_enabled", "Persistence/aof_rewrite_in_progress",
    "Persistence/aof_rewrite_scheduled",
    "Persistence/aof_last_bgrewrite_status",
    "Persistence/aof_last_write_status", "Persistence/module_fork_in_progress",
    "Stats/total_connections_received", "Stats/total_commands_processed",
    "Stats/instantaneous_ops_per_sec", "Stats/total_net_input_bytes",
    "Stats/total_net_output_bytes", "Stats/instantaneous_input_kbps",
    "Stats/instantaneous_output_kbps", "Stats/rejected_connections",
    "Stats/expired_keys", "Stats/expired_stale_perc",
    "Stats/expire_cycle_cpu_milliseconds", "Stats/evicted_keys",
    "Stats/keyspace_hits", "Stats/keyspace_misses", "Stats/total_error_replies",
    "Replication/role", "Replication/connected_slaves",
    "Replication/master_failover_state", "Replication/master_replid",
    "Replication/master_replid2", "Replication/master_repl_offset",
    "Replication/second_repl_offset", "Replication/repl_backlog_active",
    "CPU/used_cpu_sys", "CPU/used_cpu_user", "CPU/used_cpu_sys_children",
    "CPU/used_cpu_user_children", "Cluster/cluster_enabled", NULL};

/* The only INFO fields Lightning may have that Redis 7.0 lacks. */
static const char *const INFO_LIGHTNING_ONLY[] = {
    "Server/lightning_version", "Server/io_threads",
    /* WAL figures; aof_current_size is Redis's too, shown only with AOF on
     * (the reference Redis runs with appendonly no). */
    "Persistence/aof_current_size", "Persistence/wal_durable_offset",
    "Persistence/wal_written_offset", "Persistence/wal_fsyncs",
    "Persistence/wal_group_commits",
    /* Snapshot figures (save.c). */
    "Persistence/snapshot_keys", "Persistence/snapshot_bytes",
    "Persistence/snapshot_raw_bytes", "Persistence/snapshot_compression",
    "Persistence/snapshot_duration_ms", "Persistence/snapshot_extra_memory_peak",
    "Persistence/snapshot_lsn", "Persistence/snapshot_load_keys",
    "Persistence/snapshot_load_ms",
    /* WAL archiving and backups (archive.c, backup.c). */
    "Persistence/wal_archive_enabled", "Persistence/wal_archived_segments",
    "Persistence/wal_archived_bytes", "Persistence/wal_archive_pruned_segments",
    "Persistence/wal_archive_errors", "Persistence/wal_archive_last_status",
    "Persistence/backup_in_progress", "Persistence/backups_ok", "Persistence/backups_failed",
    "Persistence/backup_last_status", "Persistence/backup_last_kind",
    "Persistence/backup_last_time", "Persistence/backup_last_duration_ms",
    "Persistence/backup_last_bytes", "Persistence/backup_last_max_rate",
    /* INFO lightning (in everything/all). */
    "Lightning/lightning_version", "Lightning/io_threads", "Lightning/io_backend",
    "Lightning/db_shards", "Lightning/monitors", "Lightning/slowlog_len",
    "Lightning/slowlog_last_id", "Lightning/latency_tracking", "Lightning/latency_events",
    "Lightning/metrics_port",
    /* Big collections snapshots wrote first, bytes copied for views
     * (engine/mvcc.h). */
    "Persistence/snapshot_keys_written_first", "Persistence/snapshot_cow_bytes", NULL};

/* Default INFO and INFO everything: every INFO_REQUIRED field is there (and
 * is a Redis field), and every field Redis does not have is in
 * INFO_LIGHTNING_ONLY. */
TEST(info_fields_match_redis) {
    REQUIRE(difftest_start(NULL));
    const char *sections[] = {NULL, "everything"};
    for (int s = 0; s < 2; s++) {
        const char *sname = sections[s] ? sections[s] : "(default)";
        char *li = info(L, sections[s]), *lf = field_list(li);
        char missing[4096] = "", extra[4096] = "";
        for (int i = 0; INFO_REQUIRED[i]; i++)
            if (!has_line(lf, INFO_REQUIRED[i]) && strlen(missing) < 3900) {
                strcat(missing, INFO_REQUIRED[i]);
                strcat(missing, " ");
            }
        if (missing[0])
            testlib_fail(__FILE__, __LINE__, "INFO %s lacks required fields: "
                         "%s", sname, missing);
        if (R) {
            char *ri = info(R, sections[s]), *rf = field_list(ri);
            /* The required list names real Redis fields. */
            for (int i = 0; INFO_REQUIRED[i]; i++)
                if (!has_line(rf, INFO_REQUIRED[i]))
                    testlib_fail(__FILE__, __LINE__, "INFO %s: required %s "
                                 "is not a Redis field", sname,
                                 INFO_REQUIRED[i]);
            for (char *q = lf; *q;) {
                char *nl = strchr(q, '\n');
                *nl = '\0';
                int allowed = 0;
                for (int i = 0; INFO_LIGHTNING_ONLY[i] && !allowed; i++)
                    allowed = !strcmp(q, INFO_LIGHTNING_ONLY[i]);
                if (!has_line(rf, q) && !allowed && strlen(extra) < 3900) {
                    strcat(extra, q);
                    strcat(extra, " ");
                }
                *nl = '\n';
                q = nl + 1;
            }
            if (extra[0])
                testlib_fail(__FILE__, __LINE__, "INFO %s: fields Redis does "
                             "not have: %s", sname, extra);
            free(ri);
            free(rf);
        }
        free(li);
        free(lf);
    }
    /* The allowed extras are really Lightning's. */
    char *li = info(L, "server");
    CHECK(strcmp(field(li, "lightning_version"), "(missing)") != 0);
    CHECK(atoi(field(li, "io_threads")) >= 1);
    free(li);
}

/* The same commands on one server; returns the canonical commandstats +
 * errorstats + a few counters (malloc'd). */
static char *stats_scenario(redisContext *c) {
    cmd(c, "CONFIG RESETSTAT");
    cmd(c, "PING");
    cmd(c, "PING");
    cmd(c, "PING x");
    cmd(c, "SET a 1");
    cmd(c, "GET a");
    cmd(c, "GET missing");
    cmd(c, "GET");
    cmd(c, "NOSUCHCMD");
    cmd(c, "SELECT 99");
    cmd(c, "CONFIG SET nosuch 1");
    char *cs = info(c, "commandstats"), *es = info(c, "errorstats");
    char *st = info(c, "stats");
    char *all = malloc(strlen(cs) + strlen(es) + 1);
    strcpy(all, cs);
    strcat(all, es);
    char *canon = stats_canonical(all);
    char *out = malloc(strlen(canon) + 512);
    sprintf(out, "%stotal_commands_processed=%s\ntotal_error_replies=%s\n"
                 "keyspace_hits=%s\nkeyspace_misses=%s\n",
            canon, field(st, "total_commands_processed"),
            field(st, "total_error_replies"), field(st, "keyspace_hits"),
            field(st, "keyspace_misses"));
    free(cs);
    free(es);
    free(st);
    free(all);
    free(canon);
    return out;
}

TEST(info_commandstats_errorstats) {
    REQUIRE(difftest_start(NULL));
    char *l = stats_scenario(L);
    CHECK(strstr(l, "cmdstat_ping:calls=3,rejected_calls=0,failed_calls=0,\n"));
    CHECK(strstr(l, "cmdstat_get:calls=2,rejected_calls=1,failed_calls=0,\n"));
    CHECK(strstr(l, "cmdstat_select:calls=1,rejected_calls=0,failed_calls=1,"
                    "\n"));
    CHECK(strstr(l, "errorstat_ERR:count=4,\n"));
    CHECK(strstr(l, "keyspace_hits=1\nkeyspace_misses=1\n"));
    if (R) {
        char *r = stats_scenario(R);
        if (strcmp(l, r) != 0)
            testlib_fail(__FILE__, __LINE__, "stats differ:\n--- lightning\n"
                         "%s--- redis\n%s", l, r);
        free(r);
    }
    free(l);
}

TEST(config_get_set) {
    REQUIRE(difftest_start(NULL));
    char want[512];
    snprintf(want, sizeof want, "array[bulk:\"port\",bulk:\"%d\"]", LS->port);
    CHECK_EQ_STR(cmd(L, "CONFIG GET port"), want);
    snprintf(want, sizeof want, "array[bulk:\"dir\",bulk:\"%s\"]", LS->dir);
    CHECK_EQ_STR(cmd(L, "CONFIG GET dir"), want);
    CHECK_EQ_STR(cmd(L, "CONFIG GET bind"),
                 "array[bulk:\"bind\",bulk:\"127.0.0.1\"]");
    static const char *const same[] = {
        "maxclients", "timeout", "databases", "hz", "proto-max-bulk-len",
        "client-query-buffer-limit", "tcp-keepalive", "protected-mode",
        "requirepass", "loglevel", NULL};
    for (int i = 0; same[i]; i++) C("CONFIG", "GET", same[i]);
    /* The harness runs Lightning with two I/O threads (the default, 0,
     * means per core: tests/unit/test_config.c checks it). */
    CHECK_EQ_STR(cmd(L, "CONFIG GET io-threads"),
                 "array[bulk:\"io-threads\",bulk:\"2\"]");
    /* Lightning's default is appendonly yes; not settable at run time yet. */
    CHECK_EQ_STR(cmd(L, "CONFIG GET appendonly"), "array[bulk:\"appendonly\",bulk:\"yes\"]");
    CHECK_EQ_STR(C("CONFIG", "GET", "maxmemory"), "array[bulk:\"maxmemory\",bulk:\"0\"]");
    /* Not a directive. */
    CHECK_EQ_STR(C("CONFIG", "GET", "no-such-directive"), "array[]");
    CHECK_EQ_STR(C("CONFIG", "GET", "databases"),
                 "array[bulk:\"databases\",bulk:\"16\"]");
    CHECK_EQ_STR(C("CONFIG", "GET", "maxclients"),
                 "array[bulk:\"maxclients\",bulk:\"10000\"]");
    /* Globs and several parameters at once (order is unspecified). */
    CHECK_EQ_STR(CU("CONFIG", "GET", "*max-bulk*"),
                 "array[bulk:\"536870912\",bulk:\"proto-max-bulk-len\"]");
    CU("CONFIG", "GET", "maxclient?");
    CU("CONFIG", "GET", "tcp-*");
    /* A character set ("[hz]*" would also match Redis's many hash-/zset-/hll-
     * directives, which Lightning grows one by one). */
    CHECK_EQ_STR(CU("CONFIG", "GET", "[h]z"), "array[bulk:\"10\",bulk:\"hz\"]");
    CHECK_EQ_STR(CU("CONFIG", "GET", "timeout", "hz", "databases"),
                 "array[bulk:\"0\",bulk:\"10\",bulk:\"16\",bulk:\"databases\","
                 "bulk:\"hz\",bulk:\"timeout\"]");
    CU("CONFIG", "GET", "timeout", "time*");
    CHECK_EQ_STR(C("CONFIG", "GET", "nosuchparam"), "array[]");
    /* Redis 7.0 echoes a non-glob name as given. */
    CHECK_EQ_STR(C("CONFIG", "GET", "TIMEOUT"),
                 "array[bulk:\"TIMEOUT\",bulk:\"0\"]");
    /* SET, several pairs at once. */
    CHECK_EQ_STR(C("CONFIG", "SET", "timeout", "100", "hz", "20"),
                 "status:\"OK\"");
    CHECK_EQ_STR(CU("CONFIG", "GET", "timeout", "hz"),
                 "array[bulk:\"100\",bulk:\"20\",bulk:\"hz\",bulk:\"timeout\"]");
    CHECK_EQ_STR(C("CONFIG", "SET", "maxclients", "1000"),
                 "status:\"OK\"");
    CHECK_EQ_STR(C("CONFIG", "GET", "maxclients"),
                 "array[bulk:\"maxclients\",bulk:\"1000\"]");
    /* Memory units. */
    CHECK_EQ_STR(C("CONFIG", "SET", "client-query-buffer-limit", "512mb"),
                 "status:\"OK\"");
    CHECK_EQ_STR(C("CONFIG", "GET", "client-query-buffer-limit"),
                 "array[bulk:\"client-query-buffer-limit\","
                 "bulk:\"536870912\"]");
    CHECK_EQ_STR(C("CONFIG", "SET", "no-such-directive", "1gb"),
                 "err:\"ERR Unknown option or number of arguments for CONFIG "
                 "SET - 'no-such-directive'\"");
    /* Errors, with Redis's exact text. */
    CHECK_EQ_STR(C("CONFIG", "SET", "nosuchparam", "1"),
                 "err:\"ERR Unknown option or number of arguments for CONFIG "
                 "SET - 'nosuchparam'\"");
    C("CONFIG", "SET", "hz", "abc");
    C("CONFIG", "SET", "timeout", "-5");
    C("CONFIG", "SET", "maxclients", "0");
    C("CONFIG", "SET", "timeout", "1", "timeout", "2");
    C("CONFIG", "SET", "timeout", "1", "hz");
    C("CONFIG", "SET", "hz");
    C("CONFIG", "SET", "databases", "32");
    C("CONFIG", "SET", "protected-mode", "maybe");
    /* appendonly cannot change at run time (set to the value it has, it is
     * a no-op that succeeds, as in Redis). */
    const char *aof = strcmp(cmd(L, "CONFIG GET appendonly"),
                             "array[bulk:\"appendonly\",bulk:\"yes\"]") == 0 ? "no" : "yes";
    CHECK_EQ_STR(cmd(L, "CONFIG SET appendonly %s", aof),
                 "err:\"ERR CONFIG SET failed (possibly related to argument "
                 "'appendonly') - can't set immutable config\"");
    /* Lightning's range is 1mb..512mb (Redis: up to LLONG_MAX); the rest of
     * the message is Redis's. */
    static const char pmbl[] =
        "err:\"ERR CONFIG SET failed (possibly related to argument "
        "'proto-max-bulk-len') - argument must be between 1048576 and ";
    char pwant[256];
    snprintf(pwant, sizeof pwant, "%s536870912 inclusive\"", pmbl);
    CHECK_EQ_STR(cmd(L, "CONFIG SET proto-max-bulk-len 1"), pwant);
    if (R)
        CHECK(!strncmp(cmd(R, "CONFIG SET proto-max-bulk-len 1"), pmbl,
                       strlen(pmbl)));
    C("CONFIG", "SET", "loglevel", "loud");
    /* A failing multi-set changes nothing. */
    C("CONFIG", "SET", "hz", "30", "timeout", "abc");
    CHECK_EQ_STR(CU("CONFIG", "GET", "timeout", "hz"),
                 "array[bulk:\"100\",bulk:\"20\",bulk:\"hz\",bulk:\"timeout\"]");
    C("CONFIG", "BOGUS");
    CHECK_HELP(L, "CONFIG");
    C("CONFIG", "RESETSTAT", "x");
}

TEST(config_resetstat) {
    REQUIRE(difftest_start(NULL));
    for (int i = 0; i < 5; i++) {
        C("PING");
        C("NOSUCH");
    }
    CHECK_EQ_STR(C("CONFIG", "RESETSTAT"), "status:\"OK\"");
    char *li = info(L, "stats"), *le = info(L, "errorstats"),
         *lc = info(L, "commandstats");
    CHECK_EQ_STR(field(li, "total_error_replies"), "0");
    CHECK_EQ_STR(field(li, "keyspace_misses"), "0");
    CHECK_EQ_STR(field(le, "errorstat_ERR"), "(missing)");
    CHECK_EQ_STR(field(lc, "cmdstat_ping"), "(missing)");
    if (R) {
        C("CONFIG", "RESETSTAT");
        free(li);
        li = info(L, "stats");
        char *ri = info(R, "stats");
        CHECK_EQ_STR(field(li, "total_commands_processed"),
                     field(ri, "total_commands_processed"));
        free(ri);
    }
    free(li);
    free(le);
    free(lc);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void rewrite_on(harness_kind kind) {
    harness_opts o = {.kind = kind,
                      .config_text = "# my settings\nhz 10\nmaxclients 500\n"
                                     "timeout 0\n"};
    harness_server *s = harness_start_opts(&o);
    if (!s) return;
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG GET hz"), "array[bulk:\"hz\",bulk:\"10\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET maxclients"),
                 "array[bulk:\"maxclients\",bulk:\"500\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG SET hz 25 timeout 300"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "CONFIG REWRITE"), "status:\"OK\"");
    char *text = read_file(s->config);
    CHECK(strstr(text, "# my settings\n") != NULL);
    CHECK(strstr(text, "\nhz 25\n") != NULL);
    CHECK(strstr(text, "\ntimeout 300\n") != NULL);
    CHECK(strstr(text, "\nmaxclients 500\n") != NULL);
    CHECK(strstr(text, "\nhz 10\n") == NULL);
    if (testlib_current_failed)
        fprintf(stderr, "# rewritten config:\n%s\n", text);
    free(text);
    harness_disconnect(c);
    REQUIRE(harness_restart(s) == 0);
    c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG GET hz"), "array[bulk:\"hz\",bulk:\"25\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET timeout"),
                 "array[bulk:\"timeout\",bulk:\"300\"]");
    CHECK_EQ_STR(cmd(c, "CONFIG GET maxclients"),
                 "array[bulk:\"maxclients\",bulk:\"500\"]");
}

TEST(config_rewrite) {
    rewrite_on(HARNESS_LIGHTNING);
    if (harness_have_redis()) rewrite_on(HARNESS_REDIS); /* test sanity */
    /* Without a config file it is an error. */
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("CONFIG", "REWRITE"),
                 "err:\"ERR The server is running without a config file\"");
}

TEST(dbsize_time) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(C("DBSIZE"), "int:0");
    C("SET", "a", "1");
    C("SET", "b", "1");
    C("SET", "a", "2");
    CHECK_EQ_STR(C("DBSIZE"), "int:2");
    C("SELECT", "1");
    CHECK_EQ_STR(C("DBSIZE"), "int:0");
    C("DBSIZE", "x");
    redisReply *r = redisCommand(L, "TIME");
    REQUIRE(r);
    CHECK(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        CHECK(r->element[0]->type == REDIS_REPLY_STRING &&
              r->element[1]->type == REDIS_REPLY_STRING);
        long long sec = atoll(r->element[0]->str);
        long long usec = atoll(r->element[1]->str);
        long long now = (long long)time(NULL);
        CHECK(sec > now - 60 && sec < now + 60); /* same clock, sanity only */
        CHECK(usec >= 0 && usec < 1000000);
    }
    freeReplyObject(r);
    C("TIME", "x");
}

/* COMMAND DOCS <name> on Lightning: [name, [summary, s, since, v, group, g,
 * complexity, c, arguments, [...]]]. The summary is Lightning's own wording
 * (non-empty); since/group/complexity and the argument specs (redis-cli's
 * hints come from them) equal Redis's; any other field is one Redis has. */
static void check_docs(const char *file, int line, redisContext *cl,
                       redisContext *cr, const char *name) {
    redisReply *l = redisCommand(cl, "COMMAND DOCS %s", name);
    redisReply *r = cr ? redisCommand(cr, "COMMAND DOCS %s", name) : NULL;
    static const char *const keys[] = {"summary", "since", "group",
                                       "complexity"};
    const redisReply *ld = NULL, *rd = NULL;
    if (l && l->type == REDIS_REPLY_ARRAY && l->elements == 2 &&
        l->element[0]->str && !strcmp(l->element[0]->str, name) &&
        l->element[1]->type == REDIS_REPLY_ARRAY &&
        l->element[1]->elements % 2 == 0)
        ld = l->element[1];
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_ARRAY)
        rd = r->element[1];
    if (!ld) {
        testlib_fail(file, line, "COMMAND DOCS %s: not [name, [k, v, ...]]",
                     name);
        goto out;
    }
    for (int k = 0; k < 4; k++) {
        const char *lv = NULL, *rv = NULL;
        for (size_t i = 0; i + 1 < ld->elements; i += 2)
            if (ld->element[i]->str && !strcmp(ld->element[i]->str, keys[k]))
                lv = ld->element[i + 1]->str;
        for (size_t i = 0; rd && i + 1 < rd->elements; i += 2)
            if (rd->element[i]->str && !strcmp(rd->element[i]->str, keys[k]))
                rv = rd->element[i + 1]->str;
        if (!lv || !lv[0])
            testlib_fail(file, line, "COMMAND DOCS %s lacks %s", name,
                         keys[k]);
        else if (k > 0 && rd && (!rv || strcmp(lv, rv) != 0))
            testlib_fail(file, line, "COMMAND DOCS %s %s: \"%s\", Redis "
                         "\"%s\"", name, keys[k], lv, rv ? rv : "(none)");
    }
    for (size_t i = 0; i + 1 < ld->elements; i += 2) {
        const char *k = ld->element[i]->str ? ld->element[i]->str : "";
        if (!strcmp(k, "arguments") && rd) {
            const redisReply *ra = NULL;
            for (size_t j = 0; j + 1 < rd->elements; j += 2)
                if (rd->element[j]->str && !strcmp(rd->element[j]->str, "arguments"))
                    ra = rd->element[j + 1];
            char *la = reply_to_string(ld->element[i + 1]);
            char *rs = ra ? reply_to_string(ra) : strdup("(none)");
            if (strcmp(la, rs) != 0)
                testlib_fail(file, line, "COMMAND DOCS %s arguments: %s, Redis %s", name, la,
                             rs);
            free(la);
            free(rs);
        } else if (rd && !reply_has_str(rd, k))
            testlib_fail(file, line, "COMMAND DOCS %s has %s, Redis does not",
                         name, k);
    }
out:
    if (l) freeReplyObject(l);
    if (r) freeReplyObject(r);
}
#define CHECK_DOCS(cl, cr, name) check_docs(__FILE__, __LINE__, cl, cr, name)

TEST(command_introspection) {
    REQUIRE(difftest_start(NULL));
    redisReply *cnt = redisCommand(L, "COMMAND COUNT");
    redisReply *all = redisCommand(L, "COMMAND");
    redisReply *list = redisCommand(L, "COMMAND LIST");
    REQUIRE(cnt && all && list);
    CHECK(cnt->type == REDIS_REPLY_INTEGER && cnt->integer > 10);
    CHECK(all->type == REDIS_REPLY_ARRAY &&
          (long long)all->elements == cnt->integer);
    /* COMMAND LIST names subcommands too (config|get). */
    CHECK(list->type == REDIS_REPLY_ARRAY &&
          (long long)list->elements > cnt->integer);
    int seen = 0;
    for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements;
         i++) {
        const char *n = list->element[i]->str;
        if (!n) continue;
        seen += !strcmp(n, "get") + !strcmp(n, "ping") +
                !strcmp(n, "command") + !strcmp(n, "config|get");
        /* Every command Lightning lists is a real Redis 7.0 command, or one
         * of NEWER_COMMANDS. */
        if (R && !is_newer_command(n)) {
            redisReply *ri = redisCommand(R, "COMMAND INFO %s", n);
            if (ri && ri->type == REDIS_REPLY_ARRAY && ri->elements == 1 &&
                ri->element[0]->type == REDIS_REPLY_NIL)
                testlib_fail(__FILE__, __LINE__,
                             "COMMAND LIST has '%s', unknown to Redis", n);
            if (ri) freeReplyObject(ri);
        }
    }
    CHECK_EQ_INT(seen, 4);
    for (int i = 0; NEWER_COMMANDS[i]; i++)
        if (!reply_has_str(list, NEWER_COMMANDS[i]))
            testlib_fail(__FILE__, __LINE__, "COMMAND LIST lacks %s",
                         NEWER_COMMANDS[i]);
    freeReplyObject(cnt);
    freeReplyObject(all);
    freeReplyObject(list);
    const char *gi = C("COMMAND", "INFO", "get");
    CHECK(!strncmp(gi, "array[array[bulk:\"get\",int:2,array[status:\"readonly"
                       "\",status:\"fast\"],int:1,int:1,int:1,", 69));
    C("COMMAND", "INFO", "GET", "ping", "nosuch");
    C("COMMAND", "INFO", "config|get");
    CHECK_DOCS(L, R, "get");
    CHECK_DOCS(L, R, "ping");
    CHECK_DOCS(L, R, "echo");
    redisReply *two = redisCommand(L, "COMMAND DOCS ping echo");
    CHECK(two && two->type == REDIS_REPLY_ARRAY && two->elements == 4 &&
          two->element[0]->str && !strcmp(two->element[0]->str, "ping") &&
          two->element[2]->str && !strcmp(two->element[2]->str, "echo"));
    if (two) freeReplyObject(two);
    C("COMMAND", "DOCS", "nosuch");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "SET", "a", "b"),
                 "array[bulk:\"a\"]");
    CHECK_EQ_STR(C("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
                 "array[bulk:\"a\",bulk:\"b\"]");
    C("COMMAND", "GETKEYS", "PING");
    C("COMMAND", "GETKEYS", "GET");
    C("COMMAND", "GETKEYS", "NOSUCH", "a");
    C("COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b");
    CHECK_EQ_STR(C("COMMAND", "LIST", "FILTERBY", "PATTERN", "pin?"),
                 "array[bulk:\"ping\"]");
    C("COMMAND", "LIST", "FILTERBY", "BOGUS", "x");
    C("COMMAND", "BOGUS");
}

/* HELP texts are Lightning's own wording, listing what it implements: shape
 * and subcommand coverage are checked, not the text. */
TEST(help_replies) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    REQUIRE(c);
    CHECK_HELP(c, "COMMAND");
    CHECK_HELP(c, "CONFIG");
    CHECK_HELP(c, "MEMORY");
    CHECK(strstr(cmd(c, "MEMORY HELP"), "status:\"USAGE <key> [SAMPLES "
                                        "<count>]\"") != NULL);
}

/* Lightning implements a subset of Redis 7.0's commands: every name in its
 * COMMAND LIST is in Redis's (except NEWER_COMMANDS), COMMAND COUNT counts
 * its top-level names, and ACL categories agree with Redis's for the
 * commands it has. */
TEST(command_table_matches_redis) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    REQUIRE(difftest_start(NULL) && R);
    redisReply *ll = redisCommand(L, "COMMAND LIST");
    redisReply *rl = redisCommand(R, "COMMAND LIST");
    redisReply *cnt = redisCommand(L, "COMMAND COUNT");
    static const char bycat[] = "COMMAND LIST FILTERBY ACLCAT connection";
    redisReply *lc = redisCommand(L, bycat), *rc = redisCommand(R, bycat);
    if (!ll || ll->type != REDIS_REPLY_ARRAY || !rl ||
        rl->type != REDIS_REPLY_ARRAY || !cnt || !lc ||
        lc->type != REDIS_REPLY_ARRAY || !rc || rc->type != REDIS_REPLY_ARRAY) {
        testlib_fail(__FILE__, __LINE__, "COMMAND LIST/COUNT failed");
        goto out;
    }
    long long top = 0;
    for (size_t i = 0; i < ll->elements; i++) {
        const char *n = ll->element[i]->str ? ll->element[i]->str : "";
        if (!strchr(n, '|')) top++;
        if (!is_newer_command(n) && !reply_has_str(rl, n))
            testlib_fail(__FILE__, __LINE__, "COMMAND LIST has '%s', not in "
                         "Redis's", n);
        /* In @connection exactly when Redis puts it there. */
        if (!is_newer_command(n) &&
            reply_has_str(lc, n) != reply_has_str(rc, n))
            testlib_fail(__FILE__, __LINE__, "'%s' is %sin @connection, "
                         "Redis: %sin", n, reply_has_str(lc, n) ? "" : "not ",
                         reply_has_str(rc, n) ? "" : "not ");
    }
    CHECK_EQ_INT(cnt->type == REDIS_REPLY_INTEGER ? cnt->integer : -1, top);
    for (size_t i = 0; i < lc->elements; i++)
        if (!reply_has_str(ll, lc->element[i]->str ? lc->element[i]->str : ""))
            testlib_fail(__FILE__, __LINE__, "ACLCAT connection lists '%s', "
                         "COMMAND LIST does not", lc->element[i]->str);
out:
    if (ll) freeReplyObject(ll);
    if (rl) freeReplyObject(rl);
    if (cnt) freeReplyObject(cnt);
    if (lc) freeReplyObject(lc);
    if (rc) freeReplyObject(rc);
}

TEST(shutdown_nosave) {
    REQUIRE(difftest_start_servers(NULL));
    harness_server *s[2] = {LS, RS};
    for (int i = 0; i < 2 && s[i]; i++) {
        redisContext *c = harness_connect(s[i]);
        CHECK_EQ_STR(cmd(c, "SHUTDOWN BOGUS"), SYNTAX);
        CHECK(harness_alive(s[i]));
        const char *r = cmd(c, "SHUTDOWN NOSAVE");
        CHECK(r[0] == '('); /* no reply: the connection just closes */
        int st = harness_wait_exit(s[i], 10000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "# %s exit status 0x%x\n",
                    i ? "redis" : "lightning", st);
    }
}

TEST(sigterm_clean_exit) {
    harness_server *l = harness_start(NULL);
    REQUIRE(l);
    redisContext *c = harness_connect(l);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
    int st = harness_stop(l);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (st != -1 && WIFSIGNALED(st))
        fprintf(stderr, "# killed by signal %d\n", WTERMSIG(st));
}

/* Runs the binary on a config file with a bad line 3; returns output. The
 * file's path (as given on the command line) is copied to path. */
static char *bad_config(harness_kind kind, const char *line3, int *status,
                        char path[128]) {
    char dir[] = "/tmp/lightning-conf-XXXXXX";
    path[0] = '\0';
    if (!mkdtemp(dir)) return strdup("");
    snprintf(path, 128, "%s/broken.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "# test config\nloglevel notice\n%s\n", line3);
    fclose(f);
    char *out;
    int to;
    const char *argv[] = {harness_bin(kind), path, "--port", "0", NULL};
    *status = harness_run_capture(argv, 10000, &out, &to);
    CHECK(!to);
    unlink(path);
    rmdir(dir);
    return out;
}

/* Lightning's report of a bad config line is Redis's block with the file
 * name added: "Reading the configuration file <path>, at line N". */
static void check_bad_line(const char *line3) {
    int st;
    char lpath[128], rpath[128];
    char *out = bad_config(HARNESS_LIGHTNING, line3, &st, lpath);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
    char want[1024];
    snprintf(want, sizeof want,
             "Reading the configuration file %s, at line 3\n>>> '%s'\n", lpath,
             line3);
    CHECK(strstr(out, want) != NULL);
    if (harness_have_redis()) {
        char *rout = bad_config(HARNESS_REDIS, line3, &st, rpath);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
        /* Redis's block from the banner on, with the path inserted. */
        const char *banner = strstr(rout, "*** FATAL CONFIG FILE ERROR");
        const char *at = strstr(rout, "Reading the configuration file, at");
        CHECK(banner && at);
        if (banner && at) {
            snprintf(want, sizeof want, "%.*s %s%s", (int)(at - banner + 30),
                     banner, lpath, at + 30);
            if (!strstr(out, want))
                testlib_fail(__FILE__, __LINE__, "expected Redis's block with "
                             "the path:\n%s", want);
        }
        free(rout);
    }
    if (testlib_current_failed) fprintf(stderr, "# output:\n%s\n", out);
    free(out);
}

TEST(config_file_errors) {
    int st;
    char *out;
    check_bad_line("bogus-directive yes");
    check_bad_line("maxclients notanumber");
    /* Unknown command-line directive too. */
    const char *argv[] = {harness_bin(HARNESS_LIGHTNING), "--port", "0",
                          "--no-such-directive", "1", NULL};
    int to;
    st = harness_run_capture(argv, 10000, &out, &to);
    CHECK(!to && st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
    CHECK(strstr(out, "no-such-directive") != NULL);
    free(out);
}

int main(void) {
    RUN(info_sections_and_fields);
    RUN(info_fields_match_redis);
    RUN(info_commandstats_errorstats);
    RUN(config_get_set);
    RUN(config_resetstat);
    RUN(config_rewrite);
    RUN(dbsize_time);
    RUN(command_introspection);
    RUN(command_table_matches_redis);
    RUN(help_replies);
    RUN(shutdown_nosave);
    RUN(sigterm_clean_exit);
    RUN(config_file_errors);
    return testlib_finish();
}
