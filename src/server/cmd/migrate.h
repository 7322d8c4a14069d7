/*
 * migrate.h — MIGRATE's connection cache upkeep (migrate.c).
 */
#ifndef LIGHTNING_MIGRATE_H
#define LIGHTNING_MIGRATE_H

/* Worker 0's cron: closes cached MIGRATE connections unused for 10 s. */
void migrate_cron(void);

#endif
