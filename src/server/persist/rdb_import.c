/*
 * rdb_import: see rdb_import.h.
 */
#include "server/persist/rdb_import.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "engine/rdb.h"
#include "server/loading.h"
#include "server/log.h"
#include "server/server.h"

/* Function libraries kept aside (bounded by what the file held). */
static char **fn_code;
static size_t *fn_lens;
static size_t fn_count, fn_cap;

/* dbfilename names the Redis RDB file imported at start-up. */
const char *rdb_import_filename(void) {
    return server.dbfilename && server.dbfilename[0] ? server.dbfilename : "dump.rdb";
}

size_t rdb_functions_count(void) { return fn_count; }
const char *const *rdb_functions_code(void) { return (const char *const *)fn_code; }
const size_t *rdb_functions_lens(void) { return fn_lens; }

static int keep_function(void *ctx, const char *code, size_t len) {
    (void)ctx;
    if (fn_count == fn_cap) {
        fn_cap = fn_cap ? fn_cap * 2 : 8;
        fn_code = lt_xrealloc(fn_code, fn_cap * sizeof(*fn_code));
        fn_lens = lt_xrealloc(fn_lens, fn_cap * sizeof(*fn_lens));
    }
    fn_code[fn_count] = lt_xmalloc(len + 1);
    memcpy(fn_code[fn_count], code, len);
    fn_code[fn_count][len] = 0;
    fn_lens[fn_count++] = len;
    return 0;
}

static void on_aux(void *ctx, const char *k, size_t klen, const char *v, size_t vlen) {
    (void)ctx;
    if (klen == 9 && memcmp(k, "redis-ver", 9) == 0)
        serverLog(LL_NOTICE, "RDB file was written by Redis version %.*s", (int)vlen, v);
    if (klen == 8 && memcmp(k, "used-mem", 8) == 0 && vlen < 32) {
        char num[32];
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        loading_set_rdb_used_mem(strtoull(num, NULL, 10));
    }
}

/* Cumulative keys and input offset, as loading.h's deltas (INFO loading_*,
 * the progress log, key-load-delay). */
static void on_progress(void *ctx, uint64_t keys, uint64_t offset) {
    uint64_t *last = ctx; /* [keys, offset] reported so far */
    loading_progress(offset > last[1] ? offset - last[1] : 0, keys > last[0] ? keys - last[0] : 0);
    if (keys > last[0]) last[0] = keys;
    if (offset > last[1]) last[1] = offset;
}

int rdb_import_at_startup(int lightning_data) {
    const char *name = rdb_import_filename();
    if (access(name, F_OK) != 0) return 0;
    if (lightning_data) {
        serverLog(LL_NOTICE, "%s/%s ignored: Lightning's own data files exist in %s", server.dir,
                  name, server.dir);
        return 0;
    }
    uint64_t total = 0;
    FILE *f = fopen(name, "rb");
    if (f) {
        if (fseek(f, 0, SEEK_END) == 0) total = (uint64_t)ftell(f);
        fclose(f);
    }
    loading_add_total(total);
    uint64_t last[2] = {0, 0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    rdb_load_opts o = {.databases = (unsigned)server.databases,
                       .threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu,
                       .on_function = keep_function,
                       .on_aux = on_aux,
                       .progress = on_progress,
                       .ctx = last};
    rdb_load_info info;
    rdb_problem pb;
    int err = 0;
    uint64_t t0 = lt_monotonic_us();
    int rc = rdb_load_file(server.db, name, &o, &info, &pb, &err);
    double secs = (double)(lt_monotonic_us() - t0) / 1e6;
    if (rc == LT_OK) loading_progress(total > last[1] ? total - last[1] : 0, info.keys - last[0]);
    if (rc == LT_IOERR) {
        serverLog(LL_WARNING, "Cannot read %s/%s: %s. Not starting.", server.dir, name,
                  strerror(err));
        return -1;
    }
    if (rc != LT_OK) {
        serverLog(LL_WARNING,
                  "%s/%s is not a valid RDB file: offset %" PRIu64 ": %s. Not starting: move "
                  "the file away (or repair it) to start without it.",
                  server.dir, name, pb.offset, pb.why);
        return -1;
    }
    serverLog(LL_NOTICE,
              "DB loaded from %s (RDB version %d): %" PRIu64 " keys (%" PRIu64
              " already expired, skipped) in %.3f seconds (%d threads)",
              name, info.version, info.keys, info.expired, secs, o.threads);
    if (info.functions)
        serverLog(LL_WARNING,
                  "%s held %" PRIu64 " function librar%s: kept aside (Lightning has no "
                  "scripting yet); they are written back into RDB payloads (SYNC, redis-cli "
                  "--rdb)", name, info.functions, info.functions == 1 ? "y" : "ies");
    return 1;
}
