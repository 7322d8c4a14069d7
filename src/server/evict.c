/*
 * evict: maxmemory enforcement (see evict.h).
 *
 * Redis's performEvictions: the bytes to free are the used memory minus
 * maxmemory; keys are deleted one at a time (engine ks_evict_one) and
 * their MEMORY USAGE added up until that is covered; every 16 keys the
 * time spent is compared with the tenacity's limit (50 µs per step up to
 * 10, then 15% more per step, none at 100). After a run that evicted,
 * the used-memory figure is brought up to date (mem_used_freed: re-read at
 * most every MEM_FREED_REFRESH_US, the freed bytes taken off it in
 * between), so the next command does not evict again for memory already
 * freed.
 */
#include "server/evict.h"

#include <math.h>

#include "engine/evict.h"
#include "server/cmd/commands.h"
#include "server/cmd/multi.h"
#include "server/log.h"
#include "server/memory.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

const char *const evict_policy_names[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
    "allkeys-lfu",  "allkeys-random", "noeviction",  "volatile-adaptive", "allkeys-adaptive",
    NULL};

_Static_assert(KS_EVICT_NOEVICTION == 7 && KS_EVICT_ALLKEYS_ADAPTIVE == 9,
               "policy names follow KS_EVICT_*");

static uint64_t time_limit_us(void) {
    int t = server_cfg(maxmemory_eviction_tenacity);
    if (t <= 10) return 50u * (uint64_t)t;
    if (t < 100) return (uint64_t)(500.0 * pow(1.15, t - 10.0));
    return UINT64_MAX;
}

enum { EVICT_OK = 0, EVICT_RUNNING, EVICT_FAIL };

/* Redis's getMaxmemoryState + performEvictions loop. The WAL's buffers
 * are left out of the used memory, as Redis leaves out its AOF buffer. */
static int perform_evictions(void) {
    size_t limit = (size_t)server_cfg(maxmemory);
    if (!limit) return EVICT_OK;
    size_t used = mem_used(), not_counted = persist_buffer_bytes();
    used = used > not_counted ? used - not_counted : 0;
    if (used <= limit) return EVICT_OK;
    int policy = server_cfg(maxmemory_policy);
    if (policy == KS_EVICT_NOEVICTION) return EVICT_FAIL;
    size_t tofree = used - limit, freed = 0;
    uint64_t start = (uint64_t)monotonic_us(), max_us = time_limit_us();
    int result = EVICT_OK;
    unsigned keys = 0;
    while (freed < tofree) {
        size_t f;
        if (!ks_evict_one(server.db, policy, server_cfg(maxmemory_samples), &f)) {
            result = EVICT_FAIL; /* nothing left to evict */
            break;
        }
        freed += f;
        if (++keys % 16 == 0 && (uint64_t)monotonic_us() - start > max_us) {
            result = EVICT_RUNNING; /* the next command or tick goes on */
            break;
        }
    }
    if (keys) mem_used_freed(freed);
    return result;
}

int evict_reject(client *c, const command *cmd) {
    if (!server_cfg(maxmemory)) return 0;
    if (perform_evictions() != EVICT_FAIL) return 0;
    int denyoom = (cmd->flags & CMD_DENYOOM) || multi_exec_denyoom(c, cmd);
    if (!denyoom) return 0;
    static const char oom[] = "OOM command not allowed when used memory > 'maxmemory'.";
    if (!multi_exec_rejected(c, cmd, oom)) addReplyError(c, oom);
    return 1;
}

void evict_cron(uint64_t budget_us) {
    if (!server_cfg(maxmemory)) return;
    /* Redis's eviction timer runs again and again while eviction is
     * unfinished; here a tick gives it a share of the tick's time. */
    uint64_t start = (uint64_t)monotonic_us();
    while (perform_evictions() == EVICT_RUNNING && (uint64_t)monotonic_us() - start < budget_us) {
    }
}
