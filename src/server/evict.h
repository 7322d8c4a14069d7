/*
 * evict: maxmemory enforcement. Before every command (Redis runs its
 * performEvictions there too) and on every worker's tick, when the used
 * memory (memory.h) is over maxmemory, keys are evicted by maxmemory-policy
 * (engine/evict.h picks and deletes them) until what was freed covers the
 * excess or the time maxmemory-eviction-tenacity allows is spent (then the
 * next command or tick goes on: eviction is incremental and every I/O
 * thread takes its share). A deny-oom command that finds memory over the
 * limit with nothing evictable (noeviction, no candidate) gets Redis's
 * "-OOM command not allowed when used memory > 'maxmemory'."; reads and
 * deletes always run.
 *
 * Threading: any worker; configuration read without locks (int-sized).
 */
#ifndef LIGHTNING_EVICT_H
#define LIGHTNING_EVICT_H

#include <stdint.h>

#include "server/net/client.h"

struct command;

/* Before cmd runs for c: evicts if needed; returns 1 when cmd must be
 * refused (the OOM error was sent, or EXECABORT for EXEC), else 0. */
int evict_reject(client *c, const struct command *cmd);
/* Whether the memory limit could not be met when the running command of
 * this thread started (evict_reject's last verdict; 0 without maxmemory):
 * Redis's pre_command_oom_state, which scripts consult. */
int evict_oom_before_command(void);
/* A worker's tick: evicts while over the limit (CONFIG SET maxmemory lower
 * than the memory in use, no commands arriving) for about budget_us. */
void evict_cron(uint64_t budget_us);
/* The policy names of maxmemory-policy (index = KS_EVICT_*). */
/* CONFIG SET maxmemory: after the new limit is stored, waits (at most
 * 50 ms) until no run that started under the old limit is still evicting,
 * so no key is evicted under a limit the client has already replaced. */
void evict_settle(void);
extern const char *const evict_policy_names[];

#endif
