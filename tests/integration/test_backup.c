/*
 * Online backups (docs/BACKUP.md): the BACKUP command, wal-archive-dir and
 * utils/lightning-backup end to end.
 *
 *   point_in_time_restore   a full base, writes with their client-side
 *                           time window recorded (each write starts in a
 *                           later millisecond than the previous one ended),
 *                           runs of MULTI/EXEC, a checkpoint that deletes
 *                           WAL (so an increment comes from the archive),
 *                           increments; restores to a dozen moments and
 *                           compares every key with the recorded state
 *   kill9_during_create     an interrupted create leaves earlier backups
 *                           usable and is reported INCOMPLETE
 *   verify_finds_damage     a flipped byte in any file, truncation, an
 *                           edited manifest, files mixed from another set
 *   backup_command_errors   bad input to BACKUP, INFO fields, restore into
 *                           a non-empty directory
 *
 * The moments: a write's record carries the server's command clock, which
 * lies within [t_before, t_after] of the client's clock around the call
 * (same machine). A restore to T must hold every write with t_after <= T
 * and none with t_before > T; the test only picks moments no write
 * straddles (it checks that).
 */
#include "../harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS 2000
#define MAX_OPS 512
#define MAX_KEYS 4096

static int64_t wall_ms(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Waits until the wall clock passes t (ms). */
static void after_ms(int64_t t) {
    while (wall_ms() <= t) usleep(200);
}

static const char *tool_path(void) {
    static char p[300];
    const char *b = getenv("BUILD") ? getenv("BUILD") : "build";
    snprintf(p, sizeof(p), "%s/utils/lightning-backup", b);
    return p;
}

/* Runs lightning-backup with args; returns its exit code, output in *out
 * (static buffer copy, may be NULL). */
static int run_tool(char **out, const char *const *args) {
    const char *argv[32];
    int n = 0;
    argv[n++] = tool_path();
    for (; *args && n < 31; args++) argv[n++] = *args;
    argv[n] = NULL;
    char *o = NULL;
    int to = 0;
    int st = harness_run_capture(argv, 60000, &o, &to);
    if (out) *out = o;
    else free(o);
    if (to) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#define TOOL(out, ...) run_tool((out), (const char *const[]){__VA_ARGS__, NULL})

static void fmt_rfc3339(int64_t ms, char *out, size_t cap) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char b[32];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", b, (int)(ms % 1000));
}

/* ---- The recorded history --------------------------------------------------- */

typedef struct op {
    int nkeys;
    int keys[4];          /* indexes into key_names */
    char vals[4][64];     /* "" = deleted */
    int64_t t_before, t_after;
} op;

static op ops[MAX_OPS];
static int nops;
static int64_t t_mark; /* a moment the test restores to: the next op starts after it */

/* Waits until the next op can start in a millisecond of its own. */
static void next_op_ms(void) {
    int64_t t = nops ? ops[nops - 1].t_after : 0;
    after_ms(t > t_mark ? t : t_mark);
}
static char key_names[MAX_KEYS][24];
static int nkey_names;

static int key_index(const char *name) {
    for (int i = 0; i < nkey_names; i++)
        if (!strcmp(key_names[i], name)) return i;
    snprintf(key_names[nkey_names], sizeof(key_names[0]), "%s", name);
    return nkey_names++;
}

/* One SET (or DEL when val is NULL) with its time window. */
static void rec_set(redisContext *c, const char *key, const char *val) {
    REQUIRE(nops < MAX_OPS);
    op *o = &ops[nops];
    next_op_ms();
    o->t_before = wall_ms();
    const char *r = val ? cmd_argv(c, (const char *const[]){"SET", key, val, NULL})
                        : cmd_argv(c, (const char *const[]){"DEL", key, NULL});
    o->t_after = wall_ms();
    CHECK(strncmp(r, "error", 5) != 0);
    o->nkeys = 1;
    o->keys[0] = key_index(key);
    snprintf(o->vals[0], sizeof(o->vals[0]), "%s", val ? val : "");
    nops++;
}

/* MULTI; SET a; SET b; SET c; EXEC as one op. */
static void rec_multi(redisContext *c, const char *prefix, int round) {
    REQUIRE(nops < MAX_OPS);
    op *o = &ops[nops];
    next_op_ms();
    char k[3][24], v[3][64];
    for (int i = 0; i < 3; i++) {
        snprintf(k[i], sizeof(k[i]), "%s%c", prefix, 'a' + i);
        snprintf(v[i], sizeof(v[i]), "round%d-%c", round, 'a' + i);
    }
    o->t_before = wall_ms();
    cmd(c, "MULTI");
    for (int i = 0; i < 3; i++) cmd_argv(c, (const char *const[]){"SET", k[i], v[i], NULL});
    const char *r = cmd(c, "EXEC");
    o->t_after = wall_ms();
    CHECK(strncmp(r, "array", 5) == 0);
    o->nkeys = 3;
    for (int i = 0; i < 3; i++) {
        o->keys[i] = key_index(k[i]);
        memcpy(o->vals[i], v[i], sizeof(o->vals[i]));
    }
    nops++;
}

/* The state at T: values per key index ("" = absent). Fails the test when
 * an op straddles T (its effect at T unknown). */
static void state_at(int64_t T, char (*vals)[64]) {
    for (int i = 0; i < nkey_names; i++) vals[i][0] = 0;
    for (int i = 0; i < nops; i++) {
        const op *o = &ops[i];
        if (o->t_before <= T && T < o->t_after) {
            testlib_fail(__FILE__, __LINE__, "moment %lld straddles op %d", (long long)T, i);
            return;
        }
        if (o->t_after > T) continue;
        for (int k = 0; k < o->nkeys; k++) snprintf(vals[o->keys[k]], 64, "%s", o->vals[k]);
    }
}

static char set_dir[256];
/* Keys present in every restored state that the model does not track. */
static long long extra_keys;

static void make_tmpdir(char *out, size_t cap, const char *tag) {
    snprintf(out, cap, "/tmp/lt-backup-%s-XXXXXX", tag);
    REQUIRE(mkdtemp(out) != NULL);
}

static void rm_tree(const char *path) {
    char c[600];
    snprintf(c, sizeof(c), "rm -rf '%s'", path);
    if (system(c) != 0) { /* best effort */ }
}

/* Restores to T (or latest when T < 0), starts a server on the result and
 * compares every recorded key, and the key count. */
static void check_restore(int64_t T, const char *what) {
    char into[256], ts[64];
    make_tmpdir(into, sizeof(into), "into");
    rm_tree(into); /* restore creates it */
    char *out = NULL;
    int rc;
    if (T < 0) {
        rc = TOOL(&out, "restore", set_dir, "--into", into, "--latest");
    } else {
        fmt_rfc3339(T, ts, sizeof(ts));
        rc = TOOL(&out, "restore", set_dir, "--into", into, "--time", ts);
    }
    if (rc != 0) {
        testlib_fail(__FILE__, __LINE__, "restore (%s) failed: %s", what, out ? out : "");
        free(out);
        return;
    }
    free(out);
    harness_server *s = harness_start("dir", into, "save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    static char want[MAX_KEYS][64];
    state_at(T < 0 ? INT64_MAX - 1 : T, want);
    long long present = 0;
    int bad = 0;
    for (int i = 0; i < nkey_names; i++) {
        redisReply *r = redisCommand(c, "GET %s", key_names[i]);
        REQUIRE(r);
        const char *got = r->type == REDIS_REPLY_STRING ? r->str : "";
        if (want[i][0]) present++;
        if (strcmp(got, want[i]) != 0 && bad++ < 5)
            testlib_fail(__FILE__, __LINE__, "restore %s: key %s is '%s', recorded '%s'", what,
                         key_names[i], got, want[i]);
        freeReplyObject(r);
    }
    char dbsize[32];
    snprintf(dbsize, sizeof(dbsize), "int:%lld", present + extra_keys);
    CHECK_EQ_STR(cmd(c, "DBSIZE"), dbsize);
    harness_disconnect(c);
    harness_stop(s);
    rm_tree(into);
}

static void wait_rewrite(redisContext *c) {
    for (int i = 0; i < 500; i++) {
        char v[32];
        if (harness_info(c, "persistence", "aof_rewrite_in_progress", v, sizeof(v)) &&
            !strcmp(v, "0"))
            return;
        harness_sleep_ms(10);
    }
    testlib_fail(__FILE__, __LINE__, "checkpoint did not finish");
}

static int create_backup(harness_server *s, const char *extra) {
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    char *out = NULL;
    int rc = extra ? TOOL(&out, "create", "--port", port, "--to", set_dir, extra)
                   : TOOL(&out, "create", "--port", port, "--to", set_dir);
    for (char *p = out; p && *p; p++)
        if (*p == '\n') *p = '|';
    if (rc != 0) testlib_fail(__FILE__, __LINE__, "create failed (%d): %s", rc, out ? out : "");
    free(out);
    return rc;
}

static int count_dirs(const char *suffix) {
    DIR *d = opendir(set_dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && !strcmp(de->d_name + l - sl, suffix)) n++;
    }
    closedir(d);
    return n;
}

TEST(point_in_time_restore) {
    if (access(tool_path(), X_OK) != 0) {
        testlib_skip("lightning-backup not built");
        return;
    }
    nops = nkey_names = 0;
    t_mark = 0;
    make_tmpdir(set_dir, sizeof(set_dir), "set");
    harness_server *s = harness_start("save", "", "wal-segment-size", "16384",
                                      "wal-archive-dir", "archive", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    /* The base data set, recorded as ops too (all before the base). */
    char k[32], v[64];
    for (int i = 0; i < NKEYS; i += 100) {
        REQUIRE(nops < MAX_OPS);
        op *o = &ops[nops++];
        o->t_before = wall_ms();
        redisAppendCommand(c, "MULTI");
        for (int j = i; j < i + 100; j++) {
            snprintf(k, sizeof(k), "k%d", j);
            snprintf(v, sizeof(v), "base-%d-%0*d", j, 40, j);
            redisAppendCommand(c, "SET %s %s", k, v);
        }
        redisAppendCommand(c, "EXEC");
        for (int j = 0; j < 102; j++) {
            redisReply *r = NULL;
            REQUIRE(redisGetReply(c, (void **)&r) == REDIS_OK);
            freeReplyObject(r);
        }
        o->t_after = wall_ms();
        o->nkeys = 0; /* values checked through the extra model below */
    }
    /* The model keeps only keys written by recorded ops; the base keys
     * are checked through DBSIZE and a sample. */
    nops = 0;
    for (int j = 0; j < 4; j++) { /* sample base keys as ops at "time 0" */
        op *o = &ops[nops++];
        o->t_before = o->t_after = 0;
        o->nkeys = 1;
        snprintf(k, sizeof(k), "k%d", j * 500);
        o->keys[0] = key_index(k);
        snprintf(o->vals[0], sizeof(o->vals[0]), "base-%d-%0*d", j * 500, 40, j * 500);
    }
    op *o1 = &ops[nops++]; /* k1: deleted after the second base */
    o1->t_before = o1->t_after = 0;
    o1->nkeys = 1;
    o1->keys[0] = key_index("k1");
    snprintf(o1->vals[0], sizeof(o1->vals[0]), "base-1-%0*d", 40, 1);
    int base_ops = nops;
    extra_keys = NKEYS - 5; /* k1 is tracked too: deleted later */
    REQUIRE(create_backup(s, NULL) == 0);
    int64_t t_base_done = wall_ms();
    t_mark = t_base_done;

    /* Phase B: single writes, then a run of MULTI/EXEC. */
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "b%d", i % 7);
        snprintf(v, sizeof(v), "b-write-%d", i);
        rec_set(c, k, v);
    }
    int first_multi = nops;
    for (int i = 0; i < 10; i++) rec_multi(c, "m", i);
    rec_set(c, "k0", "k0-rewritten");
    REQUIRE(create_backup(s, NULL) == 0); /* increment 2 */
    CHECK_EQ_INT(count_dirs("-incr"), 1);

    /* Checkpoints delete the WAL the next increment needs: it must come
     * from wal-archive-dir. */
    for (int i = 0; i < 30; i++) {
        snprintf(k, sizeof(k), "c%d", i % 5);
        snprintf(v, sizeof(v), "c-write-%d", i);
        rec_set(c, k, v);
    }
    rec_set(c, "b3", NULL);
    CHECK_EQ_STR(cmd(c, "BGREWRITEAOF"), "status:\"Background append only file rewriting started\"");
    wait_rewrite(c);
    rec_set(c, "c9", "between-checkpoints");
    CHECK_EQ_STR(cmd(c, "BGREWRITEAOF"), "status:\"Background append only file rewriting started\"");
    wait_rewrite(c);
    CHECK(harness_info_num(c, "persistence", "wal_archived_segments") > 0);
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "d-write-%d", i);
        rec_set(c, "d", v);
    }
    REQUIRE(create_backup(s, NULL) == 0); /* increment 3, from the archive */
    CHECK_EQ_INT(count_dirs("-incr"), 2);
    CHECK_EQ_INT(harness_info_num(c, "persistence", "backups_ok"), 3);
    int last_op = nops - 1;
    /* A new base that also keeps the WAL since increment 3: the moments
     * between them stay restorable (from the first base), and those after
     * it come from the new base, whose WAL starts before its snapshot. */
    for (int j = 0; j < 5; j++) {
        snprintf(v, sizeof(v), "e-write-%d", j);
        rec_set(c, "e", v);
    }
    int gap_op = nops - 2;
    REQUIRE(create_backup(s, "--full") == 0); /* 4 */
    for (int j = 0; j < 5; j++) {
        snprintf(v, sizeof(v), "f-write-%d", j);
        rec_set(c, "f", v);
    }
    rec_set(c, "k1", NULL);
    int after_base2_op = nops - 3;
    REQUIRE(create_backup(s, NULL) == 0); /* 5 */
    CHECK_EQ_INT(count_dirs("-full"), 2);

    char *out = NULL;
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 0);
    free(out);
    CHECK_EQ_INT(TOOL(&out, "list", set_dir), 0);
    CHECK(out && strstr(out, "restorable:"));
    free(out);

    /* A dozen moments. */
    check_restore(t_base_done, "just after the base");
    check_restore(ops[base_ops].t_after, "after the first write");
    check_restore(ops[base_ops + 4].t_after, "after write 5");
    /* One millisecond apart: the write ending at M is in, the next (which
     * started at M+1 or later) is out; then at its start time it is in only
     * if it also ended there. */
    int i = base_ops + 9;
    check_restore(ops[i].t_after, "end of a write (ms neighbourhood)");
    CHECK(ops[i + 1].t_before > ops[i].t_after);
    if (ops[i + 1].t_after == ops[i + 1].t_before)
        check_restore(ops[i + 1].t_after, "the next millisecond");
    check_restore(ops[first_multi].t_after, "after the first EXEC");
    check_restore(ops[first_multi + 2].t_after, "inside the run of EXECs");
    check_restore(ops[first_multi + 6].t_after, "later inside the run of EXECs");
    check_restore(ops[first_multi + 10].t_after, "end of increment 2");
    check_restore(ops[first_multi + 25].t_after, "between increments");
    check_restore(ops[last_op - 12].t_after, "around the checkpoints");
    check_restore(ops[last_op - 3].t_after, "inside increment 3");
    check_restore(ops[gap_op].t_after, "between increment 3 and the second base");
    check_restore(ops[after_base2_op].t_after, "after the second base");
    check_restore(-1, "latest");

    /* Before the base: refused, naming the ranges. */
    char into[256], ts[64];
    make_tmpdir(into, sizeof(into), "early");
    fmt_rfc3339(ops[base_ops].t_before - 600000, ts, sizeof(ts));
    CHECK_EQ_INT(TOOL(&out, "restore", set_dir, "--into", into, "--time", ts), 1);
    CHECK(out && strstr(out, "no backup chain covers"));
    free(out);
    rm_tree(into);
    rm_tree(set_dir);
}

/* A create killed half-way: the earlier backups stay usable. */
TEST(kill9_during_create) {
    if (access(tool_path(), X_OK) != 0) {
        testlib_skip("lightning-backup not built");
        return;
    }
    nops = nkey_names = 0;
    extra_keys = 0;
    make_tmpdir(set_dir, sizeof(set_dir), "kill");
    harness_server *s = harness_start("save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    rec_set(c, "before", "1");
    REQUIRE(create_backup(s, NULL) == 0);
    REQUIRE(harness_fill(c, "fill:", 0, 20000) == 0);
    /* A throttled full backup (about 10 s), killed after it started
     * writing. */
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(tool_path(), tool_path(), "create", "--port", port, "--to", set_dir, "--full",
              "--max-rate", "100000", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && count_dirs(".partial") == 0; i++) harness_sleep_ms(10);
    harness_sleep_ms(300);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    CHECK_EQ_INT(count_dirs(".partial"), 1);
    char *out = NULL;
    CHECK_EQ_INT(TOOL(&out, "list", set_dir), 0);
    CHECK(out && strstr(out, "INCOMPLETE"));
    free(out);
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 0);
    CHECK(out && strstr(out, "ok 000001-full") && strstr(out, "INCOMPLETE"));
    free(out);
    /* The server ended the session when the tool's connection closed. */
    for (int i = 0; i < 200 && harness_info_num(c, "persistence", "backup_in_progress"); i++)
        harness_sleep_ms(10);
    CHECK_EQ_INT(harness_info_num(c, "persistence", "backup_in_progress"), 0);
    CHECK_EQ_INT(harness_info_num(c, "persistence", "backups_failed"), 1);
    check_restore(-1, "latest after an interrupted create"); /* = backup 1 */
    /* The next create removes the partial one and succeeds. */
    REQUIRE(create_backup(s, NULL) == 0);
    CHECK_EQ_INT(count_dirs(".partial"), 0);
    rm_tree(set_dir);
}

/* Flips one byte of path at off; returns the old byte. */
static int flip(const char *path, long off) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    unsigned char b;
    if (pread(fd, &b, 1, off) != 1) {
        close(fd);
        return -1;
    }
    unsigned char nb = b ^ 0x10;
    int rc = pwrite(fd, &nb, 1, off) == 1 ? b : -1;
    close(fd);
    return rc;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(verify_finds_damage) {
    if (access(tool_path(), X_OK) != 0) {
        testlib_skip("lightning-backup not built");
        return;
    }
    nops = nkey_names = 0;
    make_tmpdir(set_dir, sizeof(set_dir), "damage");
    harness_server *s = harness_start("save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    REQUIRE(harness_fill(c, "x:", 0, 3000) == 0);
    REQUIRE(create_backup(s, NULL) == 0);
    for (int i = 0; i < 20; i++) rec_set(c, "y", i % 2 ? "odd" : "even");
    REQUIRE(create_backup(s, "--full") == 0);
    for (int i = 0; i < 20; i++) rec_set(c, "z", i % 2 ? "odd" : "even");
    REQUIRE(create_backup(s, NULL) == 0);
    char *out = NULL;
    REQUIRE(TOOL(&out, "verify", set_dir) == 0);
    free(out);
    const char *files[] = {"000001-full/MANIFEST", "000001-full/snapshot.lbz",
                           "000001-full/wal.lbz", "000002-full/snapshot.lbz",
                           "000002-full/wal.lbz", "000003-incr/MANIFEST", "000003-incr/wal.lbz",
                           NULL};
    /* A flipped byte at several places of every file: verify exits 1 and
     * names the file. */
    for (int f = 0; files[f]; f++) {
        char path[400];
        snprintf(path, sizeof(path), "%s/%s", set_dir, files[f]);
        long size = file_size(path);
        REQUIRE(size > 0);
        long offs[] = {0, 10, 47, size / 2, size - 20, size - 1};
        for (int j = 0; j < 6; j++) {
            long off = offs[j] < size ? offs[j] : size - 1;
            int old = flip(path, off);
            REQUIRE(old >= 0);
            int rc = TOOL(&out, "verify", set_dir);
            if (rc != 1 || !out || !strstr(out, files[f]))
                testlib_fail(__FILE__, __LINE__, "flip of %s at %ld: rc %d, output %s", files[f],
                             off, rc, out ? out : "");
            free(out);
            REQUIRE(flip(path, off) == (old ^ 0x10)); /* flip it back */
        }
    }
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 0);
    free(out);

    /* A truncated segment container. */
    char path[1024], save[1100], cmdline[8192];
    snprintf(path, sizeof(path), "%s/000003-incr/wal.lbz", set_dir);
    snprintf(save, sizeof(save), "%s.saved", path);
    snprintf(cmdline, sizeof(cmdline), "cp '%s' '%s' && truncate -s -10 '%s'", path, save, path);
    REQUIRE(system(cmdline) == 0);
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 1);
    CHECK(out && strstr(out, "000003-incr/wal.lbz") && strstr(out, "truncated"));
    free(out);
    char into[256];
    make_tmpdir(into, sizeof(into), "bad");
    CHECK_EQ_INT(TOOL(&out, "restore", set_dir, "--into", into, "--latest", "--force"), 1);
    CHECK(out && strstr(out, "000003-incr/wal.lbz"));
    free(out);
    REQUIRE(rename(save, path) == 0);

    /* An edited manifest (consistent CRC is not forgeable by accident). */
    snprintf(path, sizeof(path), "%s/000003-incr/MANIFEST", set_dir);
    snprintf(cmdline, sizeof(cmdline), "cp '%s' '%s.saved' && sed -i 's/^wal_to \\([0-9]*\\)/wal_to 9\\1/' '%s'",
             path, path, path);
    REQUIRE(system(cmdline) == 0);
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 1);
    CHECK(out && strstr(out, "000003-incr/MANIFEST") && strstr(out, "checksum mismatch"));
    free(out);
    CHECK_EQ_INT(TOOL(&out, "restore", set_dir, "--into", into, "--latest", "--force"), 1);
    CHECK(out && strstr(out, "000003-incr/MANIFEST"));
    free(out);
    snprintf(cmdline, sizeof(cmdline), "mv '%s.saved' '%s'", path, path);
    REQUIRE(system(cmdline) == 0);

    /* Files mixed from another backup: backup 2's WAL in backup 3. */
    char other[1024];
    snprintf(path, sizeof(path), "%s/000003-incr/wal.lbz", set_dir);
    snprintf(other, sizeof(other), "%s/000002-full/wal.lbz", set_dir);
    snprintf(cmdline, sizeof(cmdline), "cp '%s' '%s.saved' && cp '%s' '%s'", path, path, other,
             path);
    REQUIRE(system(cmdline) == 0);
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 1);
    CHECK(out && strstr(out, "000003-incr/wal.lbz") && strstr(out, "mixed"));
    free(out);
    snprintf(cmdline, sizeof(cmdline), "mv '%s.saved' '%s'", path, path);
    REQUIRE(system(cmdline) == 0);

    /* A backup directory from another set. */
    char set2[256];
    memcpy(set2, set_dir, sizeof(set2));
    make_tmpdir(set_dir, sizeof(set_dir), "other");
    REQUIRE(create_backup(s, NULL) == 0);
    snprintf(cmdline, sizeof(cmdline), "cp -r '%s/000001-full' '%s/000004-full' && "
             "sed -i 's/^seq 1$/seq 4/; s/^base 1$/base 4/' '%s/000004-full/MANIFEST'",
             set_dir, set2, set2);
    REQUIRE(system(cmdline) == 0);
    rm_tree(set_dir);
    memcpy(set_dir, set2, sizeof(set2));
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 1);
    CHECK(out && strstr(out, "000004-full"));
    free(out);
    rm_tree(into);
    rm_tree(set_dir);
}

/* Increments refuse a server whose log is not the set's; --full then
 * starts an unrelated base. An increment with no new record keeps the
 * previous anchor. */
TEST(other_server_refused) {
    if (access(tool_path(), X_OK) != 0) {
        testlib_skip("lightning-backup not built");
        return;
    }
    make_tmpdir(set_dir, sizeof(set_dir), "other");
    harness_server *a = harness_start("save", "", NULL), *b = harness_start("save", "", NULL);
    REQUIRE(a && b);
    redisContext *ca = harness_connect(a), *cb = harness_connect(b);
    REQUIRE(ca && cb);
    REQUIRE(harness_fill(ca, "a:", 0, 100) == 0);
    REQUIRE(create_backup(a, NULL) == 0);
    REQUIRE(harness_fill(ca, "a:", 0, 10) == 0);
    REQUIRE(create_backup(a, NULL) == 0); /* 2: increment with records */
    REQUIRE(create_backup(a, NULL) == 0); /* 3: nothing new */
    CHECK_EQ_INT(count_dirs("-incr"), 2);
    REQUIRE(harness_fill(cb, "b:", 0, 300) == 0); /* a longer, different log */
    char port[16], *out = NULL;
    snprintf(port, sizeof(port), "%d", b->port);
    CHECK_EQ_INT(TOOL(&out, "create", "--port", port, "--to", set_dir), 1);
    CHECK(out && strstr(out, "another server"));
    free(out);
    CHECK_EQ_INT(count_dirs("-incr"), 2);
    REQUIRE(create_backup(b, "--full") == 0); /* 4: an unrelated base */
    CHECK_EQ_INT(TOOL(&out, "verify", set_dir), 0);
    free(out);
    extra_keys = 300;
    nops = nkey_names = 0;
    check_restore(-1, "latest: server b");
    rm_tree(set_dir);
}

static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && !strcmp(de->d_name + l - sl, suffix)) n++;
    }
    closedir(d);
    return n;
}

/* BGREWRITEAOF, waiting until it is over. */
static void checkpoint(redisContext *c) {
    CHECK_EQ_STR(cmd(c, "BGREWRITEAOF"),
                 "status:\"Background append only file rewriting started\"");
    wait_rewrite(c);
}

/* wal-archive-dir: completed segments are copied as the log rotates,
 * retention prunes old ones (never the newest), and a checkpoint whose
 * copy fails deletes nothing. */
TEST(wal_archive) {
    harness_server *s = harness_start("save", "", "wal-segment-size", "4096",
                                      "wal-archive-dir", "archive",
                                      "wal-archive-retention", "3600", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    REQUIRE(harness_fill(c, "k:", 0, 400) == 0);
    char arch[400], wal[400];
    snprintf(arch, sizeof(arch), "%s/archive", s->dir);
    snprintf(wal, sizeof(wal), "%s/appendonlydir", s->dir);
    int live = count_files(wal, ".log");
    REQUIRE(live >= 4);
    for (int i = 0; i < 500 && harness_info_num(c, "persistence", "wal_archived_segments") <
                                   live - 1; i++)
        harness_sleep_ms(10);
    CHECK_EQ_INT(count_files(arch, ".log"), live - 1); /* all but the one appended to */
    CHECK_EQ_INT(harness_info_num(c, "persistence", "wal_archived_segments"), live - 1);
    /* Every archived file is the segment, byte for byte. */
    DIR *d = opendir(arch);
    REQUIRE(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".log")) continue;
        char cmdline[2048];
        snprintf(cmdline, sizeof(cmdline), "cmp -s '%s/%s' '%s/%s'", arch, de->d_name, wal,
                 de->d_name);
        CHECK(system(cmdline) == 0);
    }
    closedir(d);
    /* Retention: files older than an hour go, except the newest. */
    char cmdline[1200];
    snprintf(cmdline, sizeof(cmdline), "touch -d '2 hours ago' '%s'/*.log", arch);
    REQUIRE(system(cmdline) == 0);
    for (int i = 0; i < 500 && harness_info_num(c, "persistence", "wal_archive_pruned_segments") <
                                   live - 2; i++)
        harness_sleep_ms(10);
    CHECK_EQ_INT(harness_info_num(c, "persistence", "wal_archive_pruned_segments"), live - 2);
    CHECK_EQ_INT(count_files(arch, ".log"), 1);
    /* An archive that cannot be written: the checkpoint keeps the WAL. */
    char bad[400];
    snprintf(bad, sizeof(bad), "%s/server.log/archive", s->dir);
    CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"CONFIG", "SET", "wal-archive-dir", bad, NULL}),
                 "status:\"OK\"");
    /* Two checkpoints with writes between: the second would delete the
     * segments before the first's snapshot. */
    checkpoint(c);
    REQUIRE(harness_fill(c, "k:", 0, 200) == 0);
    int before = count_files(wal, ".log");
    checkpoint(c);
    CHECK_EQ_INT(count_files(wal, ".log"), before);
    char v[16];
    CHECK(harness_info(c, "persistence", "wal_archive_last_status", v, sizeof(v)) &&
          !strcmp(v, "err"));
    CHECK(harness_info_num(c, "persistence", "wal_archive_errors") > 0);
    /* Off again: the next checkpoint deletes as before. */
    CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"CONFIG", "SET", "wal-archive-dir", "", NULL}),
                 "status:\"OK\"");
    REQUIRE(harness_fill(c, "k:", 0, 200) == 0);
    int more = count_files(wal, ".log");
    checkpoint(c);
    int after = count_files(wal, ".log");
    if (after >= more)
        testlib_fail(__FILE__, __LINE__, "the checkpoint kept %d of %d segments", after, more);
}

/* -a / --user as redis-cli. */
TEST(create_authenticates) {
    if (access(tool_path(), X_OK) != 0) {
        testlib_skip("lightning-backup not built");
        return;
    }
    make_tmpdir(set_dir, sizeof(set_dir), "auth");
    harness_server *s = harness_start("save", "", "requirepass", "s3cret", NULL);
    REQUIRE(s);
    char port[16], *out = NULL;
    snprintf(port, sizeof(port), "%d", s->port);
    CHECK_EQ_INT(TOOL(&out, "create", "--port", port, "--to", set_dir), 2);
    CHECK(out && strstr(out, "NOAUTH"));
    free(out);
    CHECK_EQ_INT(TOOL(&out, "create", "--port", port, "--to", set_dir, "-a", "wrong"), 2);
    CHECK(out && strstr(out, "WRONGPASS"));
    free(out);
    CHECK_EQ_INT(TOOL(&out, "create", "--port", port, "--to", set_dir, "-a", "s3cret"), 0);
    free(out);
    CHECK_EQ_INT(TOOL(&out, "create", "--port", port, "--to", set_dir, "--user", "default",
                      "-a", "s3cret"), 0);
    free(out);
    CHECK_EQ_INT(count_dirs("-full") + count_dirs("-incr"), 2);
    rm_tree(set_dir);
}

TEST(backup_command_errors) {
    harness_server *s = harness_start("save", "", NULL);
    REQUIRE(s);
    redisContext *c = harness_connect(s);
    REQUIRE(c);
    CHECK_EQ_STR(cmd(c, "BACKUP BEGIN SOMETIMES"), "err:\"ERR syntax error\"");
    CHECK_EQ_STR(cmd(c, "BACKUP BEGIN FULL MAXRATE -5"),
                 "err:\"ERR value is not an integer or out of range\"");
    CHECK_EQ_STR(cmd(c, "BACKUP READ SNAPSHOT 0 10"),
                 "err:\"ERR no backup snapshot is ready (BACKUP BEGIN FULL, then wait for "
                 "BACKUP STATUS to say ready)\"");
    CHECK_EQ_STR(cmd(c, "BACKUP END OK"), "err:\"ERR no backup in progress\"");
    CHECK_EQ_STR(cmd(c, "BACKUP READ WAL 0 0"),
                 "err:\"ERR value is not an integer or out of range\"");
    CHECK_EQ_STR(cmd(c, "BACKUP READ DISK 0 10"), "err:\"ERR syntax error\"");
    cmd(c, "SET a 1");
    const char *r = cmd(c, "BACKUP READ WAL 3 100");
    CHECK(strstr(r, "past the durable end") || strstr(r, "not a valid record"));
    CHECK_HELP(c, "BACKUP");
    /* A session, a second BEGIN refused, the snapshot served, INFO. */
    CHECK_EQ_STR(cmd(c, "BACKUP BEGIN FULL MAXRATE 12345"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c, "BACKUP BEGIN INCR"), "err:\"ERR a backup is already in progress\"");
    for (int i = 0; i < 300; i++) {
        redisReply *st = redisCommand(c, "BACKUP STATUS");
        REQUIRE(st && st->type == REDIS_REPLY_ARRAY && st->elements == 24);
        int ready = !strcmp(st->element[5]->str, "ready");
        freeReplyObject(st);
        if (ready) break;
        harness_sleep_ms(10);
    }
    redisReply *rr = redisCommand(c, "BACKUP READ SNAPSHOT 0 8");
    REQUIRE(rr && rr->type == REDIS_REPLY_STRING);
    CHECK(rr->len == 8 && !memcmp(rr->str, "LTNGSNAP", 8));
    freeReplyObject(rr);
    rr = redisCommand(c, "BACKUP SYNC");
    REQUIRE(rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2);
    long long end = rr->element[0]->integer;
    freeReplyObject(rr);
    CHECK(end > 0);
    rr = redisCommand(c, "BACKUP READ WAL 0 1");
    REQUIRE(rr && rr->type == REDIS_REPLY_STRING);
    CHECK(rr->len > 40 && !memcmp(rr->str, "LWL1", 4)); /* one whole record */
    freeReplyObject(rr);
    CHECK_EQ_STR(cmd(c, "BACKUP END OK"), "status:\"OK\"");
    CHECK_EQ_INT(harness_info_num(c, "persistence", "backups_ok"), 1);
    CHECK_EQ_INT(harness_info_num(c, "persistence", "backup_last_max_rate"), 12345);
    CHECK(harness_info_num(c, "persistence", "backup_last_bytes") > 48);
    char v[32];
    CHECK(harness_info(c, "persistence", "backup_last_kind", v, sizeof(v)) &&
          !strcmp(v, "full"));
    CHECK_EQ_STR(cmd(c, "CONFIG GET wal-archive-retention"),
                 "array[bulk:\"wal-archive-retention\",bulk:\"0\"]");
    /* Restore refuses a non-empty directory. */
    if (access(tool_path(), X_OK) == 0) {
        make_tmpdir(set_dir, sizeof(set_dir), "nonempty");
        REQUIRE(create_backup(s, NULL) == 0);
        char *out = NULL;
        CHECK_EQ_INT(TOOL(&out, "restore", set_dir, "--into", s->dir, "--latest"), 1);
        CHECK(out && strstr(out, "not empty"));
        free(out);
        CHECK_EQ_INT(TOOL(&out, "restore", set_dir, "--into", "/tmp/x", "--time", "yesterday"), 2);
        free(out);
        rm_tree(set_dir);
    }
    /* Without the WAL. */
    harness_server *t = harness_start("appendonly", "no", "save", "", NULL);
    REQUIRE(t);
    redisContext *tc = harness_connect(t);
    REQUIRE(tc);
    CHECK_EQ_STR(cmd(tc, "BACKUP BEGIN FULL"),
                 "err:\"ERR BACKUP needs the WAL (appendonly yes)\"");
}

int main(void) {
    RUN(backup_command_errors);
    RUN(point_in_time_restore);
    RUN(kill9_during_create);
    RUN(verify_finds_damage);
    RUN(other_server_refused);
    RUN(wal_archive);
    RUN(create_authenticates);
    return testlib_finish();
}
