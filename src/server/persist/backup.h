/*
 * backup: the BACKUP command family that lightning-backup drives (design and
 * protocol in docs/BACKUP.md), and INFO persistence's backup_* fields.
 *
 *   BACKUP BEGIN FULL|INCR [MAXRATE bytes/s]  open a backup session; FULL
 *                        also starts a background snapshot (forkless, as
 *                        BGSAVE) that is pinned for the session
 *   BACKUP STATUS        the session and its snapshot (a map)
 *   BACKUP SYNC          makes the WAL durable up to everything appended and
 *                        returns [end LSN, server time ms]
 *   BACKUP READ SNAPSHOT offset count   bytes of the pinned snapshot file
 *   BACKUP READ WAL lsn count           whole WAL records from lsn, up to
 *                        count bytes (at least one record), below the
 *                        durable LSN, from the live log or wal-archive-dir
 *   BACKUP END OK|FAILED close the session (unpins; INFO's last backup)
 *
 * One session at a time, owned by the client that began it: it ends
 * (failed) when that client disconnects, and a session unused for
 * BACKUP_SESSION_IDLE_S is taken over by the next BEGIN, so a tool killed
 * half-way never blocks backups. The pinned snapshot is a hard link <dir>/backup-pin/<name>,
 * so snapshot retention cannot delete it under a reader.
 *
 * Threads: commands on any I/O thread; state under one mutex; a READ does
 * one bounded pread (at most BACKUP_MAX_READ bytes) on the calling thread.
 */
#ifndef LIGHTNING_BACKUP_H
#define LIGHTNING_BACKUP_H

#include <stddef.h>

#include "server/net/client.h"

#define BACKUP_MAX_READ (8u << 20)
#define BACKUP_SESSION_IDLE_S 60
#define BACKUP_PIN_DIR "backup-pin"

/* Start-up, after persist_open: registers the snapshot hook, applies the
 * archive configuration, removes a stale pin. 0 or -1 (logged). */
int backup_init(void);

/* client_close: a session whose client disconnects ends as failed (a
 * tool killed half-way frees the session at once). Cheap. */
void backup_client_closed(client *c);

/* INFO persistence lines ("backup_...:v\r\n"); bytes written (< cap). */
size_t backup_info(char *out, size_t cap);

void backupBeginCommand(client *c);
void backupStatusCommand(client *c);
void backupSyncCommand(client *c);
void backupReadCommand(client *c);
void backupEndCommand(client *c);
void backupHelpCommand(client *c);

#endif
