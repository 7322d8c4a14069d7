/*
 * engine_glue: see engine_glue.h.
 */
#include "server/engine_glue.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "engine/hashobj.h"
#include "engine/listobj.h"
#include "engine/rdb_stream.h"
#include "engine/setobj.h"
#include "engine/store.h"
#include "engine/streamobj.h"
#include "engine/zsetobj.h"
#include "cluster/cluster.h"
#include "lightning.h"
#include "server/cmd/commands.h"
#include "server/cmd/keyset.h"
#include "server/log.h"
#include "server/server.h"

/* Keys one command may declare without spilling to the heap; more lock the
 * whole database. The same bound as keyset.h's, so EXEC's lock set (built
 * by keyset_add_command) covers what this begins. */
#define CMD_KEYS_STACK KEYSET_CMD_KEYS_MAX

/* The data directory's lock (engine/store.h), held for the process's
 * life: an embedded lt_db or another server refuses the directory. */
static int dir_lock_fd = -1;

int engine_open(void) {
    int lrc = dir_lock_fd >= 0 ? LT_OK : store_lock_dir(".", &dir_lock_fd);
    if (lrc == LT_LOCKED) {
        serverLog(LL_WARNING, "%s/%s is locked by another process (a lightning-server or a "
                              "program using liblightning on this directory): exiting",
                  server.dir, STORE_LOCK_NAME);
        return -1;
    }
    if (lrc != LT_OK)
        serverLog(LL_WARNING, "Cannot lock %s/%s (%s): continuing without the directory lock",
                  server.dir, STORE_LOCK_NAME, strerror(errno));
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = (unsigned)server.databases;
    cfg.shards_per_db = (unsigned)server.shards;
    cfg.max_pinned_versions = (uint64_t)server.mvcc_max_pinned_versions;
    int err = lt_db_open(&cfg, &server.db);
    if (err != LT_OK) {
        serverLog(LL_WARNING, "Cannot open the engine: %s", lt_strerror(err));
        return -1;
    }
    /* Cluster mode: a key's shard follows its hash slot (before recovery
     * loads any key), so a slot's keys are counted and found in one shard. */
    if (server.cluster_enabled && (err = ks_set_slot_fn(server.db, cluster_engine_slot)) != LT_OK) {
        serverLog(LL_WARNING, "Cannot enter cluster slot mode: %s", lt_strerror(err));
        return -1;
    }
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
    rdb_stream_register(); /* streams in DUMP / RESTORE, dump.rdb, SYNC */
    return 0;
}

void engine_close(void) {
    lt_db_close(server.db);
    server.db = NULL;
    if (dir_lock_fd >= 0) close(dir_lock_fd); /* releases the flock */
    dir_lock_fd = -1;
}

void engine_begin_cmd(client *c, ks_txn *txn) {
    int idx[CMD_KEYS_STACK + 1];
    ks_key keys[CMD_KEYS_STACK];
    int n = command_get_keys(c->cmd, c->argv, c->argc, idx, CMD_KEYS_STACK + 1);
    if (n > CMD_KEYS_STACK) {
        /* Many keys touch most shards anyway: lock the whole database. */
        ks_txn_begin_db(txn, server.db, (unsigned)c->db);
        return;
    }
    for (int i = 0; i < n; i++) {
        keys[i].dbid = (unsigned)c->db;
        keys[i].key = c->argv[idx[i]].ptr;
        keys[i].klen = c->argv[idx[i]].len;
    }
    if (n == 1 && c->prehash_key == keys[0].key) {
        /* Hashed when its pipeline batch was prefetched. */
        ks_txn_begin_hashed(txn, server.db, keys, &c->prehash, 1);
        return;
    }
    ks_txn_begin(txn, server.db, keys, (size_t)n);
}

void engine_prefetch_args(client *c, ks_txn *txn, int first, int n) {
    if (n < 2) return; /* one key has no other miss to overlap with */
    ks_key keys[KS_PREFETCH_MAX];
    for (int i = 0; i < n; i++) {
        keys[i].dbid = (unsigned)c->db;
        keys[i].key = c->argv[first + i].ptr;
        keys[i].klen = c->argv[first + i].len;
    }
    ks_txn_prefetch(txn, keys, (size_t)n);
}
