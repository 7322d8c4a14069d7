/*
 * lightning-check: verifies Lightning's WAL segments offline.
 *
 *   lightning-check [--fix] <dir-or-file>...
 *
 * A directory is checked as a whole log (a server `dir` holding wal/, or
 * the wal/ directory itself): every segment in LSN order, each record's
 * header, length, LSN and CRC32C (format: src/engine/wal.c), and that each
 * segment starts where the previous one ended. A file is checked alone.
 * Every problem is printed with its file and byte offset. Exit status: 0
 * when everything checked is valid (or was repaired), 1 when a problem
 * remains, 2 on usage or I/O errors.
 *
 * --fix (directories only) does what recovery at start-up does: truncates
 * the file at the first invalid record (everything before it is kept) and
 * renames any later segment to <name>.broken. Run it with the server
 * stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/wal.h"

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

static int check_path(const char *path, int fix) {
    wal_scan_result r;
    int rc;
    char waldir[PATH_MAX];
    if (is_dir(path)) {
        snprintf(waldir, sizeof(waldir), "%s/wal", path);
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
        fprintf(stderr, "Usage: %s [--fix] <dir-or-segment-file>...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fix") == 0) continue;
        int s = check_path(argv[i], fix);
        if (s > status) status = s;
    }
    return status;
}
