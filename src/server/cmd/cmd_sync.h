/*
 * cmd_sync.h — SYNC/PSYNC's background payload writers (cmd_sync.c).
 */
#ifndef LIGHTNING_CMD_SYNC_H
#define LIGHTNING_CMD_SYNC_H

/* Main thread, after the workers joined and before the engine closes:
 * stops every payload writer still running and waits for them. */
void sync_shutdown(void);

#endif
