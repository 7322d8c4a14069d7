/*
 * cron: periodic work each worker does on its tick (hz times a second): idle
 * client timeouts, the end of a CLIENT PAUSE, the engine's active expiry
 * and old-version reclamation for the shards this worker is responsible for. Work per tick is bounded.
 */
#ifndef LIGHTNING_CRON_H
#define LIGHTNING_CRON_H

struct worker;

void cron_worker_tick(struct worker *w);

/* The tick rate now: hz, doubled (at most to 500) while dynamic-hz is on
 * and there are more than CRON_CLIENTS_PER_TICK clients per tick (Redis's
 * rule). Workers re-read it at every tick. */
#define CRON_CLIENTS_PER_TICK 200
int cron_hz(void);

#endif
