/*
 * lightning-check: verifies Lightning's WAL segments and snapshot files
 * offline.
 *
 *   lightning-check [--fix] <dir-or-file>...
 *
 * A directory is checked as a whole log (a server `dir` holding
 * appendonlydir/ or an older Lightning's wal/, or that directory itself):
 * every segment in LSN order, each record's
 * header, length, LSN and CRC32C (format: src/engine/wal.c), and that each
 * segment starts where the previous one ended. A server dir also has its
 * snapshot files checked completely (format: src/engine/snapshot.c: every
 * block's CRC32C, decompression, every record, the end record and the
 * whole-file checksum) and its manifest read. A file is checked alone
 * (*.snap as a snapshot, else as a segment). Every problem is printed with
 * its file and byte offset. Exit status: 0
 * when everything checked is valid (or was repaired), 1 when a problem
 * remains, 2 on usage or I/O errors.
 *
 * --fix (directories only) does what recovery at start-up does: truncates
 * the file at the first invalid record (everything before it is kept) and
 * renames any later segment to <name>.broken; a corrupt snapshot is renamed
 * to <name>.broken and the manifest rewritten to name the newest valid
 * snapshots (removed when none is left). Run it with the server stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <unistd.h>

#include "engine/hashobj.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/wal.h"
#include "engine/zsetobj.h"

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void report(const wal_scan_result *r) {
    const wal_problem *p = &r->problem;
    if (p->offset == UINT64_MAX)
        printf("%s: %s\n", p->file, p->why);
    else
        printf("%s: offset %" PRIu64 " (LSN %" PRIu64 "): %s\n", p->file, p->offset, p->lsn,
               p->why);
    if (p->later_segments)
        printf("  %d later segment file(s) cannot be used after it\n", p->later_segments);
}

static int ends_with(const char *s, const char *suffix) {
    size_t l = strlen(s), n = strlen(suffix);
    return l >= n && strcmp(s + l - n, suffix) == 0;
}

/* One snapshot file: 0 valid, 1 corrupt, 2 unreadable. */
static int check_snapshot(const char *path) {
    snap_info info;
    snap_problem pb;
    int err = 0;
    int rc = snap_verify(path, 0, &info, &pb, &err);
    if (rc == LT_IOERR) {
        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(err));
        return 2;
    }
    if (rc != LT_OK) {
        printf("%s: offset %" PRIu64 ": %s\n", path, pb.offset,
               rc == LT_NOMEM ? "out of memory" : pb.why);
        return 1;
    }
    printf("%s: valid snapshot: LSN %" PRIu64 ", commit ts %" PRIu64 ", %" PRIu64
           " key(s) in %" PRIu64 " block(s), %" PRIu64 " bytes (%" PRIu64 " uncompressed)\n",
           path, info.lsn, info.commit_ts, info.keys, info.blocks, info.file_bytes,
           info.raw_bytes);
    return 0;
}

/* Every snapshot of a server dir, newest first, and its manifest. With
 * fix: corrupt ones renamed *.broken, the manifest rewritten. */
static int check_snapshots(const char *dir, int fix) {
    uint64_t *lsns;
    int n, status = 0;
    if (snap_list(dir, &lsns, &n) != LT_OK) return 0;
    snap_manifest m, good = {0};
    int mrc = snap_manifest_read(dir, &m);
    if (mrc == LT_INVAL) {
        printf("%s/%s: malformed (recovery ignores it)\n", dir, SNAP_MANIFEST_NAME);
        status = 1;
    } else if (mrc == LT_OK) {
        printf("%s/%s: current %s, previous %s\n", dir, SNAP_MANIFEST_NAME, m.current,
               m.previous[0] ? m.previous : "-");
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char name[SNAP_NAME_SIZE], path[PATH_MAX];
        snap_file_name(lsns[i], name);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int s = check_snapshot(path);
        if (s > status) status = s;
        if (s == 0) {
            if (!good.current[0]) memcpy(good.current, name, sizeof(name));
            else if (!good.previous[0]) memcpy(good.previous, name, sizeof(name));
            continue;
        }
        if (s != 1 || !fix) continue;
        char broken[PATH_MAX + 8];
        snprintf(broken, sizeof(broken), "%s.broken", path);
        if (rename(path, broken) < 0) {
            fprintf(stderr, "%s: rename failed: %s\n", path, strerror(errno));
            status = 2;
            continue;
        }
        printf("%s: renamed to %s\n", path, broken);
        bad++;
    }
    free(lsns);
    if (fix && (bad || mrc == LT_INVAL)) {
        char mpath[PATH_MAX];
        snprintf(mpath, sizeof(mpath), "%s/%s", dir, SNAP_MANIFEST_NAME);
        if (!good.current[0]) {
            if (unlink(mpath) == 0) printf("%s: removed (no valid snapshot left)\n", mpath);
        } else if (snap_manifest_write(dir, &good) != LT_OK) {
            fprintf(stderr, "%s: rewrite failed: %s\n", mpath, strerror(errno));
            return 2;
        } else {
            printf("%s: now names %s\n", mpath, good.current);
        }
        if (status == 1) status = 0;
    }
    return status;
}

static int check_wal(const char *path, int fix);

static int check_path(const char *path, int fix) {
    if (!is_dir(path) && ends_with(path, ".snap")) return check_snapshot(path);
    int snap_status = is_dir(path) ? check_snapshots(path, fix) : 0;
    int wal_status = check_wal(path, fix);
    return wal_status > snap_status ? wal_status : snap_status;
}

static int check_wal(const char *path, int fix) {
    wal_scan_result r;
    int rc;
    char waldir[PATH_MAX];
    if (is_dir(path)) {
        /* appendonlydir (the default appenddirname), an older
         * Lightning's wal/, or the WAL directory itself. */
        snprintf(waldir, sizeof(waldir), "%s/appendonlydir", path);
        if (!is_dir(waldir)) snprintf(waldir, sizeof(waldir), "%s/wal", path);
        if (!is_dir(waldir)) snprintf(waldir, sizeof(waldir), "%s", path);
        rc = wal_scan(waldir, 0, NULL, NULL, &r);
    } else {
        waldir[0] = '\0';
        rc = wal_scan_file(path, NULL, NULL, &r);
    }
    if (rc != LT_OK) {
        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(r.sys_errno));
        return 2;
    }
    printf("%s: %d segment(s), %" PRIu64 " valid record(s), LSN %" PRIu64 "..%" PRIu64 "\n",
           path, r.segments, r.records, r.start_lsn, r.end_lsn);
    if (!r.problem.found) return 0;
    report(&r);
    if (!fix) return 1;
    if (!waldir[0]) {
        fprintf(stderr, "%s: --fix works on a directory (the whole log)\n", path);
        return 1;
    }
    if (wal_repair(waldir, &r) != LT_OK) {
        fprintf(stderr, "%s: repair failed: %s\n", waldir, strerror(errno));
        return 2;
    }
    printf("%s: fixed: kept %" PRIu64 " record(s), log now ends at LSN %" PRIu64 "\n", path,
           r.records, r.end_lsn);
    return 0;
}

int main(int argc, char **argv) {
    int fix = 0, status = 0, n = 0;
    /* Snapshot records of these types are decoded when checked. */
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fix") == 0) {
            fix = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            n = 0;
            break;
        } else {
            n++;
        }
    }
    if (n == 0) {
        fprintf(stderr, "Usage: %s [--fix] <dir-or-segment-or-snapshot-file>...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fix") == 0) continue;
        int s = check_path(argv[i], fix);
        if (s > status) status = s;
    }
    return status;
}
