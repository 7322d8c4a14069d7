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
 * freed. With lazyfree-lazy-eviction a big value is freed by the
 * lazy-free thread: a run that finds nothing more to evict waits for it a
 * little (Redis's bounded wait) before answering -OOM. An eviction whose
 * DEL the WAL cannot take (buffer full) does not happen: the run stops
 * there. A run stops when CONFIG SET changes maxmemory under it
 * (evict_settle).
 */
#include "server/evict.h"

#include <math.h>
#include <unistd.h>

#include "engine/evict.h"
#include "engine/lazyfree.h"
#include "script/script.h"
#include "server/cmd/commands.h"
#include "server/cmd/multi.h"
#include "server/loading.h"
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

/* Evicting runs in progress on any thread (evict_settle waits for them). */
static int evictions_running;

/* Redis's getMaxmemoryState + performEvictions loop. The WAL's buffers
 * are left out of the used memory, as Redis leaves out its AOF buffer. */
static int perform_evictions_once(void);

static int perform_evictions(void) {
    __atomic_add_fetch(&evictions_running, 1, __ATOMIC_SEQ_CST);
    int r = perform_evictions_once();
    __atomic_sub_fetch(&evictions_running, 1, __ATOMIC_RELEASE);
    return r;
}

static int perform_evictions_once(void) {
    size_t limit = (size_t)server_cfg(maxmemory);
    if (!limit) return EVICT_OK;
    /* Redis's isSafeToPerformEvictions: nothing is evicted while the data
     * set loads (the WAL replay's own writes would evict what it loaded). */
    if (loading_active()) return EVICT_OK;
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
        if ((size_t)__atomic_load_n(&server.maxmemory, __ATOMIC_SEQ_CST) != limit) {
            result = EVICT_RUNNING; /* CONFIG SET maxmemory: the next run */
            break;                  /* starts from the new limit */
        }
        size_t f;
        int rc = ks_evict_one(server.db, policy, server_cfg(maxmemory_samples), &f);
        if (rc < 0) {
            /* The WAL cannot take the DEL now (its buffer is full): a key
             * evicted without it would come back on replay, so none is
             * until the log has room; deny-oom commands get -OOM meanwhile. */
            result = EVICT_FAIL;
            break;
        }
        if (rc == 0) {
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
    if (result == EVICT_FAIL && lazyfree_pending()) {
        /* Redis's wait for the lazy-free thread (lazyfree-lazy-eviction):
         * what it is freeing may be enough; bounded by the tenacity's time,
         * in steps of at most 1 ms. */
        uint64_t wait_start = (uint64_t)monotonic_us();
        while (lazyfree_pending() && (uint64_t)monotonic_us() - wait_start < max_us) {
            size_t u = mem_used_now(), nc = persist_buffer_bytes();
            if ((u > nc ? u - nc : 0) <= limit) return EVICT_OK;
            usleep(max_us < 1000 ? (useconds_t)max_us : 1000);
        }
    }
    return result;
}

static __thread int oom_before_command;

int evict_oom_before_command(void) { return server_cfg(maxmemory) && oom_before_command; }

int evict_reject(client *c, const command *cmd) {
    if (!server_cfg(maxmemory)) return 0;
    oom_before_command = perform_evictions() == EVICT_FAIL;
    if (!oom_before_command) return 0;
    /* A script declaring neither no-writes nor allow-oom is deny-oom. */
    int denyoom = (script_command_flags(cmd, c->argv, c->argc) & CMD_DENYOOM) ||
                  multi_exec_denyoom(c, cmd);
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

void evict_settle(void) {
    /* Bounded (a run stops within a key of seeing the new limit): an EXEC
     * running CONFIG SET may hold a shard lock an evicting run waits for. */
    for (int i = 0; i < 2000 && __atomic_load_n(&evictions_running, __ATOMIC_SEQ_CST); i++)
        usleep(25);
}
