/*
 * cmd_sync.h — full-sync RDB payloads (cmd_sync.c): written by a background
 * thread from an MVCC view into an unlinked temporary file, then streamed
 * into a client's output a chunk at a time. Replication (src/repl) drives
 * them for SYNC and PSYNC.
 */
#ifndef LIGHTNING_CMD_SYNC_H
#define LIGHTNING_CMD_SYNC_H

#include <stdint.h>

#include "engine/mvcc.h"
#include "server/net/client.h"

typedef struct sync_job sync_job;

/* A payload job for client c (its worker is kicked when the file is
 * ready). NULL when the temporary file cannot be made (logged). */
sync_job *sync_job_new(client *c, int psync);
/* The view the payload is written from: the caller opens it
 * (ks_view_open) between sync_job_new and sync_job_start. */
ks_view *sync_job_view(sync_job *j);
/* Starts the writer thread; aux repl-id/repl-offset are replid/offset;
 * eof_form: `$EOF:<40 chars>` ... `<40 chars>` instead of `$<length>`.
 * 0, or -1 (logged; the view is closed and j freed). */
int sync_job_start(sync_job *j, uint64_t offset, const char *replid, int eof_form);
/* Owner thread: appends the next piece of the payload to c's output.
 * Returns 1 when all of it was appended (or it failed: sync_job_failed),
 * 0 when more follows or the file is not ready yet. */
int sync_job_fill(client *c, sync_job *j);
int sync_job_failed(sync_job *j);
/* The client is done with j (stops a writer still running). */
void sync_job_release(sync_job *j);

/* Main thread, after the workers joined and before the engine closes:
 * stops every payload writer still running and waits for them. */
void sync_shutdown(void);

#endif
