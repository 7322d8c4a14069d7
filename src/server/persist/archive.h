/*
 * archive: continuous WAL archiving (wal-archive-dir, wal-archive-retention).
 * Every completed WAL segment (one the log rotated away from) is copied to
 * the archive directory by the archiver thread, woken by worker 0's cron
 * when the log starts a new segment; a checkpoint (BGREWRITEAOF, the
 * wal-checkpoint-size trigger) copies the segments it is about to delete
 * first, on its own thread, and deletes none when that copy fails. Archived
 * segments older than the retention (file time) are pruned. The copy
 * itself (temp, fsync, rename) is src/engine/wal_archive.c. Backups read
 * the log from the live directory and then the archive (backup.c).
 *
 * Threads: config applied under the config lock; one mutex serialises the
 * archiver thread and checkpoint copies; INFO reads counters under it.
 */
#ifndef LIGHTNING_ARCHIVE_H
#define LIGHTNING_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

/* CONFIG SET / start-up: re-reads wal-archive-dir and -retention, starts
 * the archiver thread the first time a directory is set. */
void archive_apply_config(void);
/* Worker 0's cron: wakes the archiver when a segment was completed, and
 * once a second to prune. Cheap. */
void archive_cron(void);
/* Before a checkpoint deletes the WAL segments lying before lsn: copies
 * them to the archive. 0 (archived, or archiving off), -1 (logged; the
 * caller must not delete them). */
int archive_before_drop(uint64_t lsn);
/* The archive directory now ("" when off) into out (cap bytes). */
void archive_dir(char *out, size_t cap);
/* INFO persistence lines ("wal_archive_...:v\r\n"); returns bytes written
 * (at most cap - 1, NUL-terminated). */
size_t archive_info(char *out, size_t cap);

#endif
