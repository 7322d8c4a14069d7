/*
 * keyset: the lock set of a command from the table and its arguments (see
 * keyset.h).
 *
 * Owns: a keyset's key array (inline first, doubled on the heap past
 * KEYSET_INLINE) and the escalation rule: keys plus whole databases lock
 * those databases whole (the keys' databases added), more than two whole
 * databases lock everything.
 * Called by: multi.c (EXEC's lock set and its per-command check), the
 * keyset callbacks of the command table (t_keys.c, cmd_conn.c).
 */
#include "server/cmd/keyset.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/cmd/commands.h"
#include "server/server.h"

void keyset_init(cmd_keyset *ks) {
    ks->keys = ks->inl;
    ks->n = 0;
    ks->cap = KEYSET_INLINE;
    ks->ndbs = 0;
    ks->all = 0;
}

void keyset_free(cmd_keyset *ks) {
    if (ks->keys != ks->inl) free(ks->keys);
    keyset_init(ks);
}

void keyset_add_key(cmd_keyset *ks, unsigned db, const char *key, size_t klen) {
    ASSERT(db < (unsigned)server.databases);
    if (ks->n == ks->cap) {
        size_t cap = ks->cap * 2;
        if (ks->keys == ks->inl) {
            ks->keys = lt_xmalloc(cap * sizeof(*ks->keys));
            memcpy(ks->keys, ks->inl, ks->n * sizeof(*ks->keys));
        } else {
            ks->keys = lt_xrealloc(ks->keys, cap * sizeof(*ks->keys));
        }
        ks->cap = cap;
    }
    ks->keys[ks->n++] = (ks_key){.dbid = db, .key = key, .klen = klen};
}

void keyset_add_db(cmd_keyset *ks, unsigned db) {
    ASSERT(db < (unsigned)server.databases);
    if (ks->all) return;
    for (int i = 0; i < ks->ndbs; i++)
        if (ks->dbs[i] == db) return;
    if (ks->ndbs == 2) ks->all = 1;
    else ks->dbs[ks->ndbs++] = db;
}

void keyset_add_all(cmd_keyset *ks) { ks->all = 1; }

int keyset_parse_db(const resp_arg *a, int *db) {
    long long id;
    if (!lt_string2ll(a->ptr, a->len, &id) || id < 0 || id >= server.databases) return 0;
    *db = (int)id;
    return 1;
}

int keyset_add_command(cmd_keyset *ks, const command *cmd, const resp_arg *argv, int argc,
                       int db) {
    if (cmd->keyset) return cmd->keyset(ks, argv, argc, db);
    if (cmd->scope == CMD_SCOPE_ALL) keyset_add_all(ks);
    else if (cmd->scope == CMD_SCOPE_DB) keyset_add_db(ks, (unsigned)db);
    int idx[KEYSET_CMD_KEYS_MAX + 1];
    int n = command_get_keys(cmd, argv, argc, idx, KEYSET_CMD_KEYS_MAX + 1);
    if (n > KEYSET_CMD_KEYS_MAX) {
        keyset_add_db(ks, (unsigned)db);
        return db;
    }
    for (int i = 0; i < n; i++) keyset_add_key(ks, (unsigned)db, argv[idx[i]].ptr, argv[idx[i]].len);
    return db;
}

void keyset_begin(cmd_keyset *ks, ks_txn *txn) {
    if (!ks->all && ks->ndbs > 0)
        for (size_t i = 0; i < ks->n && !ks->all; i++) keyset_add_db(ks, ks->keys[i].dbid);
    if (ks->all) ks_txn_begin_all(txn, server.db);
    else if (ks->ndbs > 0) ks_txn_begin_dbs(txn, server.db, ks->dbs[0], ks->dbs[ks->ndbs - 1]);
    else ks_txn_begin(txn, server.db, ks->keys, ks->n);
}

int keyset_covered(const cmd_keyset *ks, ks_txn *txn) {
    if (ks->all && !ks_txn_holds_all(txn)) return 0;
    for (int i = 0; i < ks->ndbs; i++)
        if (!ks_txn_holds_db(txn, ks->dbs[i])) return 0;
    for (size_t i = 0; i < ks->n; i++) {
        const ks_key *k = &ks->keys[i];
        if (!ks_txn_holds(txn, k->dbid, ks_txn_hash(txn, k->key, k->klen))) return 0;
    }
    return 1;
}
