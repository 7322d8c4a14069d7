/*
 * wal_archive.c — archiving completed WAL segments, pruning the archive,
 * and reading ranges of whole records from the live log or the archive
 * (contract in wal_archive.h; the segment and record format in wal.c).
 *
 * Invariant: a file named like a segment in the archive is a whole copy of
 * a completed segment (temp, fsync, rename, fsync dir). Reading checks
 * every record it returns (wal_record_check), so a damaged archive is
 * reported, never served.
 */
#include "engine/wal_archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/wal.h"

#define COPY_CHUNK (1u << 20)

static int parse_name(const char *name, uint64_t *lsn) {
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *lsn = v;
    return 1;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wal_archive_list(const char *dir, uint64_t **lsns, int *n) {
    *lsns = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? LT_OK : LT_IOERR;
    size_t cap = 0;
    uint64_t *v = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t lsn;
        if (!parse_name(de->d_name, &lsn)) continue;
        if ((size_t)*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                free(v);
                closedir(d);
                errno = ENOMEM;
                return LT_IOERR;
            }
            v = nv;
        }
        v[(*n)++] = lsn;
    }
    closedir(d);
    if (*n) qsort(v, (size_t)*n, sizeof(*v), cmp_u64);
    *lsns = v;
    return LT_OK;
}

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int mkdir_p(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    return -1;
}

/* Copies src to dst via dst.tmp: write, fsync, rename. 0 or -1 (errno). */
static int copy_file(const char *src, const char *dst, uint64_t *bytes) {
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    char *buf = malloc(COPY_CHUNK);
    int rc = buf ? 0 : -1;
    if (!buf) errno = ENOMEM;
    while (rc == 0) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        if (r == 0) break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                rc = -1;
                break;
            }
            off += w;
        }
        *bytes += (uint64_t)r;
    }
    free(buf);
    int e = errno;
    if (rc == 0 && fsync(out) < 0) rc = -1, e = errno;
    close(in);
    if (close(out) < 0 && rc == 0) rc = -1, e = errno;
    if (rc == 0 && rename(tmp, dst) < 0) rc = -1, e = errno;
    if (rc < 0) unlink(tmp);
    errno = e;
    return rc;
}

int wal_archive_copy(const char *waldir, const char *archdir, uint64_t upto_lsn, int *copied,
                     uint64_t *bytes) {
    *copied = 0;
    *bytes = 0;
    uint64_t *seg;
    int n;
    if (wal_archive_list(waldir, &seg, &n) != LT_OK) return LT_IOERR;
    if (mkdir_p(archdir) < 0) {
        free(seg);
        return LT_IOERR;
    }
    int rc = LT_OK;
    for (int i = 0; i + 1 < n && seg[i + 1] <= upto_lsn; i++) {
        char name[25], src[PATH_MAX], dst[PATH_MAX];
        wal_segment_name(seg[i], name);
        snprintf(src, sizeof(src), "%s/%s", waldir, name);
        snprintf(dst, sizeof(dst), "%s/%s", archdir, name);
        struct stat s1, s2;
        if (stat(src, &s1) < 0) {
            if (errno == ENOENT) continue; /* dropped meanwhile */
            rc = LT_IOERR;
            break;
        }
        if (stat(dst, &s2) == 0 && s2.st_size == s1.st_size) continue;
        if (copy_file(src, dst, bytes) < 0) {
            rc = LT_IOERR;
            break;
        }
        (*copied)++;
    }
    free(seg);
    if (*copied && fsync_path(archdir) < 0 && rc == LT_OK) rc = LT_IOERR;
    return rc;
}

int wal_archive_prune(const char *archdir, int64_t max_age_s, int64_t now_s, int *removed) {
    *removed = 0;
    if (max_age_s <= 0) return LT_OK;
    uint64_t *seg;
    int n;
    if (wal_archive_list(archdir, &seg, &n) != LT_OK) return LT_IOERR;
    int rc = LT_OK;
    for (int i = 0; i + 1 < n; i++) {
        char name[25], path[PATH_MAX];
        wal_segment_name(seg[i], name);
        snprintf(path, sizeof(path), "%s/%s", archdir, name);
        struct stat st;
        if (stat(path, &st) < 0) continue;
        if ((int64_t)st.st_mtime >= now_s - max_age_s) break; /* newer ones follow */
        if (unlink(path) < 0 && errno != ENOENT) {
            rc = LT_IOERR;
            break;
        }
        (*removed)++;
    }
    free(seg);
    if (*removed && fsync_path(archdir) < 0 && rc == LT_OK) rc = LT_IOERR;
    return rc;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got) {
    *got = 0;
    while (*got < len) {
        ssize_t r = pread(fd, (char *)buf + *got, len - *got, (off_t)(off + *got));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

/* The segment holding lsn in one directory: 1 and its path and start, 0. */
static int find_segment(const char *dir, uint64_t lsn, char *path, size_t pathlen,
                        uint64_t *start, int *err) {
    uint64_t *seg;
    int n;
    *err = 0;
    if (wal_archive_list(dir, &seg, &n) != LT_OK) {
        *err = errno;
        return 0;
    }
    int found = -1;
    for (int i = 0; i < n && seg[i] <= lsn; i++) found = i;
    int ok = 0;
    if (found >= 0) {
        char name[25];
        wal_segment_name(seg[found], name);
        snprintf(path, pathlen, "%s/%s", dir, name);
        struct stat st;
        /* The position must lie inside the file (or be its end when the
         * next segment starts there: then the next one holds it). */
        if (stat(path, &st) == 0 && lsn - seg[found] < (uint64_t)st.st_size) {
            *start = seg[found];
            ok = 1;
        }
    }
    free(seg);
    return ok;
}

int wal_archive_read(const char *const *dirs, int ndirs, uint64_t lsn, uint64_t limit_lsn,
                     size_t max_bytes, char **buf, size_t *len, const char **why) {
    *buf = NULL;
    *len = 0;
    *why = NULL;
    if (lsn >= limit_lsn) {
        *buf = malloc(1);
        return *buf ? LT_OK : LT_NOMEM;
    }
    char path[PATH_MAX];
    uint64_t start = 0;
    int found = 0, err = 0;
    for (int i = 0; i < ndirs && !found; i++) {
        if (!dirs[i] || !dirs[i][0]) continue;
        found = find_segment(dirs[i], lsn, path, sizeof(path), &start, &err);
        if (err) {
            errno = err;
            return LT_IOERR;
        }
    }
    if (!found) return LT_NOTFOUND;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LT_IOERR;
    size_t cap = 0, used = 0;
    char *out = NULL;
    int rc = LT_OK;
    uint64_t pos = lsn;
    while (pos < limit_lsn) {
        unsigned char hdr[WAL_HEADER_SIZE];
        size_t got;
        if (pread_full(fd, hdr, sizeof(hdr), pos - start, &got) < 0) {
            rc = LT_IOERR;
            break;
        }
        if (got == 0) break; /* end of this segment */
        wal_record rec;
        size_t need = 0;
        const char *w = NULL;
        int c = wal_record_check(hdr, got, pos, &rec, &need, &w);
        if (c < 0 || (c == 0 && got < WAL_HEADER_SIZE)) {
            *why = c < 0 ? w : "record cut short";
            rc = used ? LT_OK : LT_INVAL;
            break;
        }
        uint64_t plen = (uint64_t)hdr[32] | (uint64_t)hdr[33] << 8 | (uint64_t)hdr[34] << 16 |
                        (uint64_t)hdr[35] << 24;
        size_t total = WAL_HEADER_SIZE + (size_t)plen;
        if (pos + total > limit_lsn) break;
        if (used && used + total > max_bytes) break;
        if (used + total > cap) {
            size_t ncap = cap ? cap : 65536;
            while (ncap < used + total) ncap *= 2;
            char *nb = realloc(out, ncap);
            if (!nb) {
                rc = LT_NOMEM;
                break;
            }
            out = nb;
            cap = ncap;
        }
        if (pread_full(fd, out + used, total, pos - start, &got) < 0) {
            rc = LT_IOERR;
            break;
        }
        if (wal_record_check(out + used, got, pos, &rec, &need, &w) != 1) {
            *why = w ? w : "record cut short";
            rc = used ? LT_OK : LT_INVAL;
            break;
        }
        used += total;
        pos += total;
    }
    int e = errno;
    close(fd);
    if (rc != LT_OK) {
        free(out);
        errno = e;
        return rc;
    }
    if (!out) out = malloc(1);
    if (!out) return LT_NOMEM;
    *buf = out;
    *len = used;
    return LT_OK;
}
