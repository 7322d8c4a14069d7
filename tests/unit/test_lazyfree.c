/*
 * Unit tests of engine/lazyfree.c: the effort rule (only values of more
 * than LAZYFREE_THRESHOLD allocations go to the thread), the counters, and
 * that the thread frees everything it took (ASan checks the frees).
 */
#include "../testlib.h"

#include <stdio.h>

#include "engine/entry_int.h"
#include "engine/hashobj.h"
#include "engine/lazyfree.h"
#include "engine/listobj.h"

static ks_entry *hash_entry(int fields) {
    hashobj *h = hashobj_new();
    char f[32];
    for (int i = 0; i < fields; i++) {
        int n = snprintf(f, sizeof f, "field-%d", i);
        hashobj_set(h, f, (size_t)n, f, (size_t)n);
    }
    return entry_new_obj("k", 1, KS_TYPE_HASH, h, -1);
}

TEST(effort_and_counters) {
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    uint64_t freed0 = lazyfree_freed();
    ks_entry *small = hash_entry(10);      /* listpack: effort 1 */
    ks_entry *mid = hash_entry(600);       /* hashtable of 600 */
    CHECK_EQ_INT(lazyfree_effort(small), 1);
    CHECK_EQ_INT(lazyfree_effort(mid), 600);
    CHECK_EQ_INT(lazyfree_entry(small), 0);
    entry_free(small);
    CHECK_EQ_INT(lazyfree_entry(mid), 1);
    /* Many at once: each is either queued or refused (queue full). */
    int queued = 1;
    for (int i = 0; i < 200; i++) {
        ks_entry *e = hash_entry(100);
        if (lazyfree_entry(e)) queued++;
        else entry_free(e);
    }
    lazyfree_drain();
    CHECK_EQ_INT(lazyfree_pending(), 0);
    CHECK_EQ_INT(lazyfree_freed() - freed0, (uint64_t)queued);
    listobj *l = listobj_new();
    static char big[5000];
    for (int i = 0; i < 200; i++) listobj_push(l, LIST_TAIL, big, sizeof big); /* 200 nodes */
    ks_entry *le = entry_new_obj("l", 1, KS_TYPE_LIST, l, -1);
    CHECK_EQ_INT(lazyfree_effort(le), 200);
    CHECK_EQ_INT(lazyfree_entry(le), 1);
    lazyfree_drain();
    CHECK_EQ_INT(lazyfree_freed() - freed0, (uint64_t)queued + 1);
}

int main(void) {
    RUN(effort_and_counters);
    return testlib_finish();
}
