/*
 * lt-rdb: offline conversion between Redis RDB files and Lightning
 * snapshots, and RDB checking.
 *
 *   lt-rdb check FILE.rdb            decode every key of an RDB file
 *   lt-rdb to-snapshot FILE.rdb DIR  load the RDB, write DIR/snapshot-
 *                                    00000000000000000000.snap and the
 *                                    manifest naming it (a server started on
 *                                    DIR with no WAL loads it)
 *   lt-rdb to-rdb SNAP OUT.rdb       SNAP: a .snap file, or a server dir
 *                                    (its manifest's current snapshot);
 *                                    writes OUT.rdb (RDB 10, Redis 7.0)
 *
 * Options (before the command): --databases N (default 16), --quiet (no
 * progress lines). Progress goes to stderr every 64K keys. Keys already
 * expired are skipped when reading an RDB, as Redis does. Function
 * libraries in an RDB are counted and reported but not converted (a
 * Lightning snapshot has no place for them yet). Exit status: 0 success,
 * 1 invalid input (offset printed), 2 usage or I/O error.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/mvcc.h"
#include "engine/rdb.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/zsetobj.h"
#include "lightning.h"

static int quiet;

static void on_progress(void *ctx, uint64_t keys, uint64_t off) {
    (void)ctx;
    if (!quiet) fprintf(stderr, "\r%" PRIu64 " keys, %" PRIu64 " bytes read", keys, off);
}

static void snap_progress(void *ctx, uint64_t keys, uint64_t bytes) {
    (void)ctx;
    if (!quiet) fprintf(stderr, "\r%" PRIu64 " keys, %" PRIu64 " bytes written", keys, bytes);
}

static lt_db *open_db(unsigned databases) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = databases;
    lt_db *db;
    if (lt_db_open(&cfg, &db) != LT_OK) {
        fprintf(stderr, "cannot open the engine\n");
        exit(2);
    }
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    return db;
}

static int load_rdb(lt_db *db, const char *path, unsigned databases) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    rdb_load_opts o = {.databases = databases,
                       .threads = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu,
                       .progress = on_progress};
    rdb_load_info info;
    rdb_problem pb;
    int err = 0;
    uint64_t t0 = lt_monotonic_us();
    int rc = rdb_load_file(db, path, &o, &info, &pb, &err);
    if (!quiet) fprintf(stderr, "\n");
    if (rc == LT_IOERR) {
        fprintf(stderr, "%s: %s\n", path, strerror(err));
        return 2;
    }
    if (rc != LT_OK) {
        fprintf(stderr, "%s: offset %" PRIu64 ": %s\n", path, pb.offset, pb.why);
        return 1;
    }
    printf("%s: RDB version %d, %" PRIu64 " keys (%" PRIu64 " expired skipped), %" PRIu64
           " function libraries%s, %.3f s\n",
           path, info.version, info.keys, info.expired, info.functions,
           info.functions ? " (not converted)" : "", (double)(lt_monotonic_us() - t0) / 1e6);
    return 0;
}

typedef struct file_out {
    FILE *f;
    uint64_t bytes;
} file_out;

static int emit_file(void *ctx, const void *p, size_t n) {
    file_out *o = ctx;
    if (fwrite(p, 1, n, o->f) != n) return -1;
    o->bytes += n;
    return 0;
}

static int cmd_to_rdb(const char *src, const char *out, unsigned databases) {
    char path[PATH_MAX];
    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        snap_manifest m;
        if (snap_manifest_read(src, &m) != LT_OK) {
            fprintf(stderr, "%s: no readable %s\n", src, SNAP_MANIFEST_NAME);
            return 2;
        }
        snprintf(path, sizeof(path), "%s/%s", src, m.current);
    } else {
        snprintf(path, sizeof(path), "%s", src);
    }
    lt_db *db = open_db(databases);
    snap_info info;
    snap_problem pb;
    int err = 0;
    int rc = snap_load(db, path, 2, &info, &pb, &err);
    if (rc != LT_OK) {
        if (rc == LT_IOERR) fprintf(stderr, "%s: %s\n", path, strerror(err));
        else fprintf(stderr, "%s: offset %" PRIu64 ": %s\n", path, pb.offset, pb.why);
        lt_db_close(db);
        return rc == LT_IOERR ? 2 : 1;
    }
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", out, (int)getpid());
    file_out fo = {.f = fopen(tmp, "wb")};
    if (!fo.f) {
        fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
        lt_db_close(db);
        return 2;
    }
    static const rdb_aux aux[] = {{"redis-ver", "7.0.15"}, {"redis-bits", "64"}};
    rdb_write_opts wo = {.emit = emit_file, .ctx = &fo, .aux = aux, .naux = 2};
    ks_view v;
    ks_view_open(db, &v);
    v.sequential = 1;
    uint64_t keys = 0;
    rc = rdb_write_view(db, &v, &wo, &keys);
    ks_view_close(&v);
    int ok = rc == LT_OK && fflush(fo.f) == 0 && fsync(fileno(fo.f)) == 0;
    ok = (fclose(fo.f) == 0) && ok;
    if (!ok || rename(tmp, out) != 0) {
        fprintf(stderr, "%s: %s\n", out, rc == LT_INVAL ? "a value has no RDB form" : strerror(errno));
        unlink(tmp);
        lt_db_close(db);
        return 2;
    }
    printf("%s: %" PRIu64 " keys, %" PRIu64 " bytes (RDB version %d)\n", out, keys, fo.bytes,
           RDB_VERSION);
    lt_db_close(db);
    return 0;
}

static int cmd_to_snapshot(const char *src, const char *dir, unsigned databases) {
    lt_db *db = open_db(databases);
    int rc = load_rdb(db, src, databases);
    if (rc != 0) {
        lt_db_close(db);
        return rc;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        lt_db_close(db);
        return 2;
    }
    ks_view v;
    ks_view_open(db, &v);
    v.sequential = 1;
    snap_write_opts o = {.dir = dir, .lsn = 0, .codec = SNAP_CODEC_LZ4, .progress = snap_progress};
    snap_write_result res;
    rc = snap_write(db, &v, &o, &res);
    ks_view_close(&v);
    if (!quiet) fprintf(stderr, "\n");
    if (rc != LT_OK) {
        fprintf(stderr, "%s: cannot write the snapshot: %s\n", dir,
                rc == LT_IOERR ? strerror(res.sys_errno) : lt_strerror(rc));
        lt_db_close(db);
        return 2;
    }
    snap_manifest m = {0};
    memcpy(m.current, res.name, sizeof(m.current));
    if (snap_manifest_write(dir, &m) != LT_OK) {
        fprintf(stderr, "%s: cannot write the manifest: %s\n", dir, strerror(errno));
        lt_db_close(db);
        return 2;
    }
    printf("%s/%s: %" PRIu64 " keys, %" PRIu64 " bytes\n", dir, res.name, res.info.keys,
           res.info.file_bytes);
    lt_db_close(db);
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: lt-rdb [--databases N] [--quiet] check FILE.rdb\n"
                    "       lt-rdb [--databases N] [--quiet] to-snapshot FILE.rdb DIR\n"
                    "       lt-rdb [--databases N] [--quiet] to-rdb SNAPFILE|DIR OUT.rdb\n");
    return 2;
}

int main(int argc, char **argv) {
    unsigned databases = 16;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--databases") && i + 1 < argc) {
            long n = strtol(argv[++i], NULL, 10);
            if (n < 1 || n > 1 << 20) return usage();
            databases = (unsigned)n;
        } else {
            return usage();
        }
    }
    if (i >= argc) return usage();
    const char *c = argv[i];
    if (!strcmp(c, "check") && argc - i == 2) {
        lt_db *db = open_db(databases);
        int rc = load_rdb(db, argv[i + 1], databases);
        lt_db_close(db);
        return rc;
    }
    if (!strcmp(c, "to-snapshot") && argc - i == 3) return cmd_to_snapshot(argv[i + 1], argv[i + 2], databases);
    if (!strcmp(c, "to-rdb") && argc - i == 3) return cmd_to_rdb(argv[i + 1], argv[i + 2], databases);
    return usage();
}
