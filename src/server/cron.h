/*
 * cron: periodic work each worker does on its tick (hz times a second): idle
 * client timeouts, the end of a CLIENT PAUSE, the engine's active expiry
 * and old-version reclamation for the shards this worker is responsible for. Work per tick is bounded.
 */
#ifndef LIGHTNING_CRON_H
#define LIGHTNING_CRON_H

struct worker;

void cron_worker_tick(struct worker *w);

#endif
