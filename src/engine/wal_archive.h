/*
 * wal_archive.h — copies of the write-ahead log outside its directory:
 * archiving completed segments into an archive directory (continuous log
 * archiving for point-in-time recovery), pruning the archive by age, and
 * reading a range of whole records from the log wherever it lies (the live
 * directory or the archive), as BACKUP READ WAL does.
 *
 * Archive directory: the same file names as the WAL directory
 * (NNNNNNNNNNNNNNNNNNNN.log, the 20-digit LSN of the first byte, wal.c), each
 * a byte-for-byte copy of a *completed* segment (one the log has rotated
 * away from: it never changes again). A copy is written to
 * <name>.tmp, fsynced, renamed, and the directory fsynced, so a file with a
 * segment's name in the archive is always whole. A segment already archived
 * with the same size is not copied again.
 *
 * Threads: no shared state; the functions may run on any thread while the
 * WAL writer appends (they read only completed segments, and of the last
 * segment only bytes below a limit the caller got from wal_durable_lsn).
 *
 * Errors: LT_OK, LT_IOERR (errno set), LT_NOTFOUND, LT_INVAL as documented
 * on each function.
 */
#ifndef LT_ENGINE_WAL_ARCHIVE_H
#define LT_ENGINE_WAL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "lightning.h"

/* Start LSNs of the segment files of dir, ascending: *lsns malloc'd (the
 * caller frees; NULL when none), *n entries. A missing dir is empty.
 * LT_OK or LT_IOERR. */
int wal_archive_list(const char *dir, uint64_t **lsns, int *n);

/* Copies into archdir (created if missing) every segment of waldir that is
 * completed and lies entirely before upto_lsn (segment i is copied when
 * segment i+1 exists and starts at or before upto_lsn; the last segment is
 * never copied). Already archived segments of the same size are skipped.
 * *copied = files copied, *bytes = their size. LT_OK, or LT_IOERR (errno
 * set; the segments copied before the failure stay archived). */
int wal_archive_copy(const char *waldir, const char *archdir, uint64_t upto_lsn, int *copied,
                     uint64_t *bytes);

/* Deletes archived segments whose file time is older than now_s - max_age_s
 * (never the newest archived segment, so a later archive still continues
 * it). max_age_s <= 0: nothing. *removed = files deleted. LT_OK, LT_IOERR. */
int wal_archive_prune(const char *archdir, int64_t max_age_s, int64_t now_s, int *removed);

/* Reads whole records starting at LSN lsn (which must be a record's start)
 * from the segment that holds it, looked up in dirs[0..ndirs) in order
 * (the live WAL directory first, then the archive), stopping before
 * limit_lsn, at the segment's end, or once max_bytes are gathered (at
 * least one whole record is returned whatever its size, when it ends
 * before limit_lsn). Each record is checked (wal_record_check) before it
 * is returned. On LT_OK *buf is malloc'd (the caller frees) with *len
 * bytes (0 when lsn == limit_lsn). LT_NOTFOUND: no directory holds a
 * segment with lsn (checkpointed and not archived, or past the end).
 * LT_INVAL: the bytes at lsn are not a valid record (*why says why: not a
 * record boundary, or damage). LT_IOERR (errno). */
int wal_archive_read(const char *const *dirs, int ndirs, uint64_t lsn, uint64_t limit_lsn,
                     size_t max_bytes, char **buf, size_t *len, const char **why);

#endif
