/*
 * lazyfree.c — the background free thread and its bounded queue (see
 * lazyfree.h). The queue is a ring of LAZYFREE_QUEUE_MAX jobs under one
 * mutex; the thread sleeps on a condition variable while it is empty, and
 * signals `drained` each time it empties it.
 */
#include "engine/lazyfree.h"

#include <pthread.h>

#include "common/assert.h"
#include "engine/entry_int.h"
#include "engine/keyspace_int.h"

typedef struct lazyfree_job {
    ks_entry *entry;         /* one value, or */
    struct ks_garbage *garbage; /* a detached table */
    uint64_t objects;        /* what it counts in pending/freed */
} lazyfree_job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work, drained;
    lazyfree_job ring[LAZYFREE_QUEUE_MAX];
    unsigned head, count;
    int started, busy;
} Q = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .drained = PTHREAD_COND_INITIALIZER};

static int policy_expire, policy_server_del, policy_evict;
static uint64_t pending, freed; /* atomics */

void lazyfree_set_policy(int expire, int server_del) {
    __atomic_store_n(&policy_expire, expire, __ATOMIC_RELAXED);
    __atomic_store_n(&policy_server_del, server_del, __ATOMIC_RELAXED);
}

void lazyfree_set_policy_evict(int evict) {
    __atomic_store_n(&policy_evict, evict, __ATOMIC_RELAXED);
}

int lazyfree_policy_evict(void) { return __atomic_load_n(&policy_evict, __ATOMIC_RELAXED); }

int lazyfree_policy_expire(void) { return __atomic_load_n(&policy_expire, __ATOMIC_RELAXED); }
int lazyfree_policy_server_del(void) {
    return __atomic_load_n(&policy_server_del, __ATOMIC_RELAXED);
}

size_t lazyfree_effort(const ks_entry *e) {
    if (e->enc != KS_ENC_OBJ) return 1;
    const ks_type_ops *ops = ks_type_get(e->type);
    return ops && ops->free_effort ? ops->free_effort(*entry_objp((ks_entry *)e)) : 1;
}

static void *lazyfree_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&Q.lock);
    for (;;) {
        while (Q.count == 0) {
            Q.busy = 0;
            pthread_cond_broadcast(&Q.drained);
            pthread_cond_wait(&Q.work, &Q.lock);
        }
        Q.busy = 1;
        lazyfree_job job = Q.ring[Q.head];
        Q.head = (Q.head + 1) % LAZYFREE_QUEUE_MAX;
        Q.count--;
        pthread_mutex_unlock(&Q.lock);
        if (job.entry) entry_free(job.entry);
        else ks_garbage_free(job.garbage);
        __atomic_sub_fetch(&pending, job.objects, __ATOMIC_RELAXED);
        __atomic_add_fetch(&freed, job.objects, __ATOMIC_RELAXED);
        pthread_mutex_lock(&Q.lock);
    }
    return NULL;
}

/* Queues job unless the queue is full (or the thread cannot start). */
static int submit(lazyfree_job job) {
    pthread_mutex_lock(&Q.lock);
    if (!Q.started) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        Q.started = pthread_create(&t, &attr, lazyfree_main, NULL) == 0 ? 1 : -1;
        pthread_attr_destroy(&attr);
    }
    if (Q.started < 0 || Q.count == LAZYFREE_QUEUE_MAX) {
        pthread_mutex_unlock(&Q.lock);
        return 0;
    }
    Q.ring[(Q.head + Q.count) % LAZYFREE_QUEUE_MAX] = job;
    Q.count++;
    Q.busy = 1;
    __atomic_add_fetch(&pending, job.objects, __ATOMIC_RELAXED);
    pthread_cond_signal(&Q.work);
    pthread_mutex_unlock(&Q.lock);
    return 1;
}

int lazyfree_entry(ks_entry *e) {
    if (lazyfree_effort(e) <= LAZYFREE_THRESHOLD) return 0;
    return submit((lazyfree_job){.entry = e, .objects = 1});
}

int lazyfree_garbage(struct ks_garbage *g, uint64_t keys) {
    return submit((lazyfree_job){.garbage = g, .objects = keys});
}

uint64_t lazyfree_pending(void) { return __atomic_load_n(&pending, __ATOMIC_RELAXED); }
uint64_t lazyfree_freed(void) { return __atomic_load_n(&freed, __ATOMIC_RELAXED); }
void lazyfree_reset_stats(void) { __atomic_store_n(&freed, 0, __ATOMIC_RELAXED); }

void lazyfree_drain(void) {
    pthread_mutex_lock(&Q.lock);
    while (Q.started > 0 && (Q.count > 0 || Q.busy)) pthread_cond_wait(&Q.drained, &Q.lock);
    pthread_mutex_unlock(&Q.lock);
}
