/*
 * t_set: the set commands — membership (SADD, SREM, SISMEMBER, SMISMEMBER,
 * SMEMBERS, SCARD, SMOVE), random members (SPOP, SRANDMEMBER), algebra
 * (SINTER, SINTERCARD, SUNION, SDIFF and their *STORE forms) and SSCAN.
 *
 * Every handler replies exactly as Redis 7.0.15 does, including the order
 * in which arguments, types and keys are checked. Each command is one
 * engine transaction over its keys (the *STORE commands read the sources
 * and write the destination in the same one); a set that becomes empty is
 * deleted, an empty result deletes the destination. Objects are only
 * changed through ks_obj_mutable, and only when the command does change
 * them (so a no-op SADD/SREM writes nothing).
 *
 * The set value itself (encodings, sampling, scan) is engine/setobj.c.
 * Called by: dispatch (through set_commands[]).
 */
#include "server/cmd/notify.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/setobj.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"


/* Source sets of an algebra command kept on the stack before spilling. */
#define SET_ARGS_STACK 16

/* Looks key up in c's database: *out is its set or NULL if absent. If it
 * holds another type, replies WRONGTYPE and returns -1. The object lives
 * until a write to this key (other keys' writes and expiries do not free
 * it). */
static int lookupSetOrReply(client *c, ks_txn *txn, const resp_arg *key, int flags,
                            setobj **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, flags);
    if (e && ks_entry_type(e) != KS_TYPE_SET) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = e ? ks_entry_obj(e) : NULL;
    return 0;
}

static void reply_member(void *ctx, const char *p, size_t len) { addReplyBulk(ctx, p, len); }

/* Replies every member of s as a RESP3 set (array in RESP2). */
static void addReplySetMembers(client *c, const setobj *s) {
    setobj_iter it;
    setobj_elem e;
    addReplySetLen(c, s ? (long long)setobj_size(s) : 0);
    if (!s) return;
    setobj_iter_init(&it, s);
    while (setobj_iter_next(&it, &e)) addReplyBulk(c, e.ptr, e.len);
}

/* ---- SADD SREM SISMEMBER SMISMEMBER SCARD ------------------------------- */

static void saddCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, key, 0, &s) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    long long added = 0;
    int j = 2;
    if (!s) {
        s = setobj_new();
        for (; j < c->argc; j++) added += setobj_add(s, c->argv[j].ptr, c->argv[j].len);
        ks_set_obj(&txn, db, key->ptr, key->len, KS_TYPE_SET, s, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    } else {
        while (j < c->argc && setobj_contains(s, c->argv[j].ptr, c->argv[j].len)) j++;
        if (j < c->argc) {
            s = ks_obj_mutable(&txn, db, key->ptr, key->len);
            for (; j < c->argc; j++) added += setobj_add(s, c->argv[j].ptr, c->argv[j].len);
        }
    }
    if (added) notify_key(NOTIFY_SET, "sadd", key, c->db);
    ks_txn_commit(&txn);
    addReplyLongLong(c, added);
}

static void sremCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, key, 0, &s) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    long long removed = 0;
    int j = 2;
    if (s) {
        while (j < c->argc && !setobj_contains(s, c->argv[j].ptr, c->argv[j].len)) j++;
        if (j < c->argc) {
            s = ks_obj_mutable(&txn, db, key->ptr, key->len);
            for (; j < c->argc && setobj_size(s) > 0; j++)
                removed += setobj_remove(s, c->argv[j].ptr, c->argv[j].len);
            notify_key(NOTIFY_SET, "srem", key, c->db);
            if (setobj_size(s) == 0) {
                ks_delete(&txn, db, key->ptr, key->len);
                notify_key(NOTIFY_GENERIC, "del", key, c->db);
            }
        }
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, removed);
}

static void sismemberCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, &c->argv[1], 0, &s) == 0)
        addReplyLongLong(c, s && setobj_contains(s, c->argv[2].ptr, c->argv[2].len));
    ks_txn_commit(&txn);
}

static void smismemberCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, &c->argv[1], 0, &s) == 0) {
        addReplyArrayLen(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++)
            addReplyLongLong(c, s && setobj_contains(s, c->argv[j].ptr, c->argv[j].len));
    }
    ks_txn_commit(&txn);
}

static void scardCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, &c->argv[1], 0, &s) == 0)
        addReplyLongLong(c, s ? (long long)setobj_size(s) : 0);
    ks_txn_commit(&txn);
}

/* ---- SMOVE ---------------------------------------------------------------- */

/* SMOVE source destination member */
static void smoveCommand(client *c) {
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *se = ks_lookup(&txn, db, src->ptr, src->len, 0);
    ks_entry *de = ks_lookup(&txn, db, dst->ptr, dst->len, 0);
    if (!se) {
        ks_txn_commit(&txn);
        addReplyLongLong(c, 0);
        return;
    }
    if (ks_entry_type(se) != KS_TYPE_SET || (de && ks_entry_type(de) != KS_TYPE_SET)) {
        ks_txn_commit(&txn);
        addReplyErrorWrongType(c);
        return;
    }
    setobj *s = ks_entry_obj(se);
    if (arg_eq(src, dst) || !setobj_contains(s, m->ptr, m->len)) {
        int member = setobj_contains(s, m->ptr, m->len);
        ks_txn_commit(&txn);
        addReplyLongLong(c, arg_eq(src, dst) && member);
        return;
    }
    int dst_exists = de != NULL;
    /* A member dst already holds leaves dst untouched (no new version), so
     * a WATCH on dst still holds, as in Redis. */
    int dst_has = dst_exists && setobj_contains(ks_entry_obj(de), m->ptr, m->len);
    s = ks_obj_mutable(&txn, db, src->ptr, src->len);
    setobj_remove(s, m->ptr, m->len);
    notify_key(NOTIFY_SET, "srem", src, c->db);
    if (setobj_size(s) == 0) {
        ks_delete(&txn, db, src->ptr, src->len);
        notify_key(NOTIFY_GENERIC, "del", src, c->db);
    }
    if (dst_has) {
        /* nothing to add */
    } else if (dst_exists) {
        if (setobj_add(ks_obj_mutable(&txn, db, dst->ptr, dst->len), m->ptr, m->len))
            notify_key(NOTIFY_SET, "sadd", dst, c->db);
    } else {
        setobj *d = setobj_new();
        setobj_add(d, m->ptr, m->len);
        ks_set_obj(&txn, db, dst->ptr, dst->len, KS_TYPE_SET, d, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", dst, c->db);
        notify_key(NOTIFY_SET, "sadd", dst, c->db);
    }
    ks_txn_commit(&txn);
    addReplyLongLong(c, 1);
}

/* ---- SPOP SRANDMEMBER ---------------------------------------------------- */

/* SPOP's random choice is logged as its result (SREM of the popped
 * members) so that recovery and replicas remove the same ones. */
typedef struct spop_log {
    client *c;
    char *bytes;
    size_t len, cap;
    size_t *lens;
    size_t n, ncap;
} spop_log;

static void reply_and_log_member(void *ctx, const char *p, size_t len) {
    spop_log *l = ctx;
    addReplyBulk(l->c, p, len);
    if (l->len + len > l->cap) {
        l->cap = (l->len + len) * 2 + 64;
        l->bytes = lt_xrealloc(l->bytes, l->cap);
    }
    if (l->n == l->ncap) {
        l->ncap = l->ncap * 2 + 8;
        l->lens = lt_xrealloc(l->lens, l->ncap * sizeof(*l->lens));
    }
    memcpy(l->bytes + l->len, p, len);
    l->len += len;
    l->lens[l->n++] = len;
}

/* Logs SREM key <members> and frees the log. */
static void spop_log_rewrite(spop_log *l, const resp_arg *key) {
    resp_arg *argv = lt_xmalloc(sizeof(*argv) * (l->n + 2));
    argv[0] = (resp_arg){"SREM", 4};
    argv[1] = *key;
    size_t off = 0;
    for (size_t i = 0; i < l->n; i++) {
        argv[i + 2] = (resp_arg){l->bytes + off, l->lens[i]};
        off += l->lens[i];
    }
    persist_rewrite(l->c, (int)l->n + 2, argv);
    free(argv);
    free(l->bytes);
    free(l->lens);
}

/* SPOP key [count] */
static void spopCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    unsigned db = (unsigned)c->db;
    long long count = 1;
    int with_count = c->argc == 3;
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    if (with_count && (!lt_string2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0)) {
        addReplyError(c, "ERR value is out of range, must be positive");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, key, 0, &s) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    if (!s || count == 0) {
        if (with_count) addReplySetLen(c, 0);
        else addReplyNull(c);
    } else if (!with_count) {
        spop_log log = {.c = c};
        s = ks_obj_mutable(&txn, db, key->ptr, key->len);
        setobj_pop_one(s, reply_and_log_member, &log);
        notify_key(NOTIFY_SET, "spop", key, c->db);
        if (setobj_size(s) == 0) {
            ks_delete(&txn, db, key->ptr, key->len);
            notify_key(NOTIFY_GENERIC, "del", key, c->db);
        }
        spop_log_rewrite(&log, key);
    } else if ((unsigned long long)count >= setobj_size(s)) {
        addReplySetMembers(c, s);
        notify_key(NOTIFY_SET, "spop", key, c->db);
        ks_delete(&txn, db, key->ptr, key->len);
        notify_key(NOTIFY_GENERIC, "del", key, c->db);
        persist_rewrite(c, 2, (resp_arg[]){{"DEL", 3}, *key});
    } else {
        spop_log log = {.c = c};
        s = ks_obj_mutable(&txn, db, key->ptr, key->len);
        addReplySetLen(c, count);
        setobj_pop(s, (uint64_t)count, reply_and_log_member, &log);
        notify_key(NOTIFY_SET, "spop", key, c->db);
        spop_log_rewrite(&log, key);
    }
    ks_txn_commit(&txn);
}

/* SRANDMEMBER key [count]: a negative count may repeat members. */
static void srandmemberCommand(client *c) {
    long long count = 1;
    int with_count = c->argc == 3;
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    if (with_count) {
        if (arg_ll_or_reply(c, &c->argv[2], &count, NULL) < 0) return;
        if (count == LLONG_MIN) {
            addReplyErrorFormat(c, "ERR value is out of range, value must between %lld and %lld",
                                -LLONG_MAX, LLONG_MAX);
            return;
        }
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, &c->argv[1], 0, &s) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    setobj_elem e;
    if (!with_count) {
        if (!s) {
            addReplyNull(c);
        } else {
            setobj_random(s, &e);
            addReplyBulk(c, e.ptr, e.len);
        }
    } else if (!s || count == 0) {
        addReplyArrayLen(c, 0);
    } else if (count < 0 || count == 1) {
        /* Unbounded by design: Redis replies |count| members. */
        unsigned long long n = count < 0 ? (unsigned long long)-count : 1;
        addReplyArrayLen(c, (long long)n);
        for (unsigned long long i = 0; i < n; i++) {
            setobj_random(s, &e);
            addReplyBulk(c, e.ptr, e.len);
        }
    } else if ((unsigned long long)count >= setobj_size(s)) {
        setobj_iter it;
        addReplyArrayLen(c, (long long)setobj_size(s));
        setobj_iter_init(&it, s);
        while (setobj_iter_next(&it, &e)) addReplyBulk(c, e.ptr, e.len);
    } else {
        addReplyArrayLen(c, count);
        setobj_random_distinct(s, (uint64_t)count, reply_member, c);
    }
    ks_txn_commit(&txn);
}

/* ---- Algebra ------------------------------------------------------------- */

/* Looks up the n set keys at keys[0..n) into sets[] (NULL when absent).
 * Replies WRONGTYPE and returns -1 at the first key of another type;
 * otherwise returns how many were absent. */
static int lookupSetsOrReply(client *c, ks_txn *txn, const resp_arg *keys, int n,
                             setobj **sets) {
    int absent = 0;
    for (int j = 0; j < n; j++) {
        if (lookupSetOrReply(c, txn, &keys[j], 0, &sets[j]) < 0) return -1;
        absent += sets[j] == NULL;
    }
    return absent;
}

/* Replaces dst with s (taking it), or deletes dst when s is empty; replies
 * the new cardinality (*STORE). */
static void storeSetResult(client *c, ks_txn *txn, const resp_arg *dst, setobj *s,
                           const char *event) {
    unsigned db = (unsigned)c->db;
    long long n = (long long)setobj_size(s);
    if (n > 0) {
        int existed = (notify_flags & NOTIFY_NEW) &&
                      ks_lookup(txn, db, dst->ptr, dst->len, KS_LOOKUP_NOTOUCH) != NULL;
        ks_set_obj(txn, db, dst->ptr, dst->len, KS_TYPE_SET, s, KS_EXPIRE_NONE);
        if (!existed) notify_key(NOTIFY_NEW, "new", dst, c->db);
        notify_key(NOTIFY_SET, event, dst, c->db);
    } else {
        setobj_free(s);
        if (ks_delete(txn, db, dst->ptr, dst->len) == LT_OK)
            notify_key(NOTIFY_GENERIC, "del", dst, c->db);
    }
    addReplyLongLong(c, n);
}

static int cmp_set_size(const void *a, const void *b) {
    uint64_t x = setobj_size(*(setobj *const *)a), y = setobj_size(*(setobj *const *)b);
    return x < y ? -1 : x > y;
}

/* Whether e is in every set of sets[1..n) (sets[0] is the one iterated). */
static int in_all_others(setobj **sets, int n, const setobj_elem *e) {
    for (int j = 1; j < n; j++)
        if (sets[j] != sets[0] && !setobj_contains(sets[j], e->ptr, e->len)) return 0;
    return 1;
}

/* SINTER, SMEMBERS, SINTERSTORE (dst != NULL), SINTERCARD (card_only,
 * limit 0 = none) over keys[0..n). */
static void sinterGenericCommand(client *c, const resp_arg *keys, int n, const resp_arg *dst,
                                 long long limit, int card_only) {
    setobj *stack[SET_ARGS_STACK];
    setobj **sets = n <= SET_ARGS_STACK ? stack : lt_xmalloc(sizeof(*sets) * (size_t)n);
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    int absent = lookupSetsOrReply(c, &txn, keys, n, sets);
    if (absent < 0) goto done;
    if (absent > 0) {
        if (dst) {
            if (ks_delete(&txn, (unsigned)c->db, dst->ptr, dst->len) == LT_OK)
                notify_key(NOTIFY_GENERIC, "del", dst, c->db);
            addReplyLongLong(c, 0);
        } else if (card_only) {
            addReplyLongLong(c, 0);
        } else {
            addReplySetLen(c, 0);
        }
        goto done;
    }
    /* Iterate the smallest set, probe the others. */
    qsort(sets, (size_t)n, sizeof(*sets), cmp_set_size);
    setobj_iter it;
    setobj_elem e;
    setobj_iter_init(&it, sets[0]);
    if (card_only) {
        long long card = 0;
        while ((limit == 0 || card < limit) && setobj_iter_next(&it, &e))
            card += in_all_others(sets, n, &e);
        addReplyLongLong(c, card);
    } else if (dst) {
        setobj *r = setobj_new();
        while (setobj_iter_next(&it, &e))
            if (in_all_others(sets, n, &e)) setobj_add(r, e.ptr, e.len);
        storeSetResult(c, &txn, dst, r, "sinterstore");
    } else {
        void *len = addReplyDeferredLen(c);
        long long card = 0;
        while (setobj_iter_next(&it, &e)) {
            if (!in_all_others(sets, n, &e)) continue;
            addReplyBulk(c, e.ptr, e.len);
            card++;
        }
        setDeferredSetLen(c, len, card);
    }
done:
    ks_txn_commit(&txn);
    if (sets != stack) free(sets);
}

enum { SET_OP_UNION, SET_OP_DIFF };

/* SUNION, SDIFF and their *STORE forms (dst != NULL) over keys[0..n). */
static void sunionDiffGenericCommand(client *c, const resp_arg *keys, int n,
                                     const resp_arg *dst, int op) {
    setobj *stack[SET_ARGS_STACK];
    setobj **sets = n <= SET_ARGS_STACK ? stack : lt_xmalloc(sizeof(*sets) * (size_t)n);
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (lookupSetsOrReply(c, &txn, keys, n, sets) < 0) goto done;
    setobj *r = setobj_new();
    setobj_iter it;
    setobj_elem e;
    if (op == SET_OP_UNION) {
        for (int j = 0; j < n; j++) {
            if (!sets[j]) continue;
            setobj_iter_init(&it, sets[j]);
            while (setobj_iter_next(&it, &e)) setobj_add(r, e.ptr, e.len);
        }
    } else if (sets[0]) {
        setobj_iter_init(&it, sets[0]);
        while (setobj_iter_next(&it, &e)) {
            int keep = 1;
            for (int j = 1; j < n && keep; j++)
                keep = !sets[j] || !setobj_contains(sets[j], e.ptr, e.len);
            if (keep) setobj_add(r, e.ptr, e.len);
        }
    }
    if (dst) {
        storeSetResult(c, &txn, dst, r, op == SET_OP_UNION ? "sunionstore" : "sdiffstore");
    } else {
        addReplySetMembers(c, r);
        setobj_free(r);
    }
done:
    ks_txn_commit(&txn);
    if (sets != stack) free(sets);
}

static void sinterCommand(client *c) { sinterGenericCommand(c, c->argv + 1, c->argc - 1, NULL, 0, 0); }
static void smembersCommand(client *c) { sinterGenericCommand(c, c->argv + 1, 1, NULL, 0, 0); }
static void sinterstoreCommand(client *c) {
    sinterGenericCommand(c, c->argv + 2, c->argc - 2, &c->argv[1], 0, 0);
}
static void sunionCommand(client *c) {
    sunionDiffGenericCommand(c, c->argv + 1, c->argc - 1, NULL, SET_OP_UNION);
}
static void sunionstoreCommand(client *c) {
    sunionDiffGenericCommand(c, c->argv + 2, c->argc - 2, &c->argv[1], SET_OP_UNION);
}
static void sdiffCommand(client *c) {
    sunionDiffGenericCommand(c, c->argv + 1, c->argc - 1, NULL, SET_OP_DIFF);
}
static void sdiffstoreCommand(client *c) {
    sunionDiffGenericCommand(c, c->argv + 2, c->argc - 2, &c->argv[1], SET_OP_DIFF);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void sintercardCommand(client *c) {
    long long numkeys, limit = 0;
    if (!lt_string2ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys < 1) {
        addReplyError(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        addReplyError(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "limit") && moreargs) {
            j++;
            if (!lt_string2ll(c->argv[j].ptr, c->argv[j].len, &limit) || limit < 0) {
                addReplyError(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    sinterGenericCommand(c, c->argv + 2, (int)numkeys, NULL, limit, 1);
}

/* Keys of SINTERCARD as Redis's genericGetKeys finds them: numkeys read
 * with atoi(), none when it is out of range (the call will fail). */
static int sintercardGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    char buf[32];
    size_t n = argv[1].len < sizeof buf - 1 ? argv[1].len : sizeof buf - 1;
    memcpy(buf, argv[1].ptr, n);
    buf[n] = '\0';
    int num = atoi(buf);
    if (num < 1 || num > argc - 2) return 0;
    int k = 0;
    for (int i = 0; i < num && k < max; i++) keys[k++] = 2 + i;
    return k;
}

/* ---- SSCAN --------------------------------------------------------------- */

/* Members of one SSCAN call, packed as [size_t len][bytes]. */
typedef struct sscan_buf {
    char *buf;
    size_t used, cap;
    long long n;
} sscan_buf;

static void sscan_keep(void *ctx, const char *p, size_t len) {
    sscan_buf *b = ctx;
    size_t need = b->used + sizeof(size_t) + len;
    if (need > b->cap) {
        b->cap = need > b->cap * 2 ? need : b->cap * 2;
        b->buf = lt_xrealloc(b->buf, b->cap);
    }
    memcpy(b->buf + b->used, &len, sizeof(size_t));
    memcpy(b->buf + b->used + sizeof(size_t), p, len);
    b->used = need;
    b->n++;
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
static void sscanCommand(client *c) {
    uint64_t cursor;
    if (!keys_parse_cursor(c->argv[2].ptr, c->argv[2].len, &cursor)) {
        addReplyError(c, "ERR invalid cursor");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    setobj *s;
    if (lookupSetOrReply(c, &txn, &c->argv[1], 0, &s) < 0) goto done;
    if (!s) {
        addReplyArrayLen(c, 2);
        addReplyBulk(c, "0", 1);
        addReplyArrayLen(c, 0);
        goto done;
    }
    long long count = 10;
    const char *pat = NULL;
    size_t patlen = 0;
    for (int i = 3; i < c->argc; i += 2) {
        int left = c->argc - i;
        if (arg_is(&c->argv[i], "count") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &count, NULL) < 0) goto done;
            if (count < 1) {
                addReplyErrorSyntax(c);
                goto done;
            }
        } else if (arg_is(&c->argv[i], "match") && left >= 2) {
            pat = c->argv[i + 1].ptr;
            patlen = c->argv[i + 1].len;
            if (patlen == 1 && pat[0] == '*') pat = NULL;
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    /* As Redis: buckets until count members, the end, or 10 * count
     * buckets (bounded work per call). */
    sscan_buf b = {0};
    unsigned long long steps = count > LLONG_MAX / 10 ? ULLONG_MAX : (unsigned long long)count * 10;
    do {
        cursor = setobj_scan(s, cursor, sscan_keep, &b);
    } while (cursor && steps-- && (unsigned long long)b.n < (unsigned long long)count);
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, (long long)cursor);
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    for (size_t off = 0; off < b.used;) {
        size_t mlen;
        memcpy(&mlen, b.buf + off, sizeof(size_t));
        const char *m = b.buf + off + sizeof(size_t);
        off += sizeof(size_t) + mlen;
        if (pat && !lt_stringmatchlen(pat, patlen, m, mlen, 0)) continue;
        addReplyBulk(c, m, mlen);
        n++;
    }
    setDeferredArrayLen(c, len, n);
    free(b.buf);
done:
    ks_txn_commit(&txn);
}

/* ---- Command table ------------------------------------------------------- */

#define ACL_SET_WRITE_FAST (ACL_WRITE | ACL_SET | ACL_FAST)
#define ACL_SET_READ_FAST (ACL_READ | ACL_SET | ACL_FAST)
#define ACL_SET_READ_SLOW (ACL_READ | ACL_SET | ACL_SLOW)
#define ACL_SET_WRITE_SLOW (ACL_WRITE | ACL_SET | ACL_SLOW)
#define INTER_COMPLEXITY "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
#define UNION_COMPLEXITY "O(N) where N is the total number of elements in all given sets."

command set_commands[] = {
    {.name = "sadd", .proc = saddCommand, .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .acl = ACL_SET_WRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RW insert", .group = "set", .since = "1.0.0", .complexity = "O(1) per member",
     .summary = "Adds members to a set, creating it when needed."},
    {.name = "srem", .proc = sremCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_SET_WRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RW delete", .group = "set", .since = "1.0.0", .complexity = "O(N)",
     .summary = "Removes members from a set; deletes the set when it becomes empty."},
    {.name = "sismember", .proc = sismemberCommand, .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_SET_READ_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO",
     .group = "set", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Tells whether a member belongs to a set."},
    {.name = "smismember", .proc = smismemberCommand, .arity = -3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_SET_READ_FAST, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "6.2.0", .complexity = "O(N)",
     .summary = "Tells for each of several members whether it belongs to a set."},
    {.name = "smembers", .proc = smembersCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "1.0.0", .complexity = "O(N)",
     .tips = "nondeterministic_output_order", .summary = "Returns every member of a set."},
    {.name = "scard", .proc = scardCommand, .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_SET_READ_FAST, .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO",
     .group = "set", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Returns the number of members of a set."},
    {.name = "spop", .proc = spopCommand, .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_SET_WRITE_FAST, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RW access delete", .group = "set", .since = "1.0.0",
     .complexity = "O(1), or O(N) for a count of N", .tips = "nondeterministic_output",
     .summary = "Removes and returns random members of a set."},
    {.name = "srandmember", .proc = srandmemberCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "1.0.0",
     .complexity = "O(1), or O(N) for a count of N", .tips = "nondeterministic_output",
     .summary = "Returns random members of a set, distinct unless the count is negative."},
    {.name = "smove", .proc = smoveCommand, .arity = 4, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_SET_WRITE_FAST, .key_first = 1, .key_last = 2, .key_step = 1,
     .key_flags = "RW access delete|RW insert", .group = "set", .since = "1.0.0",
     .complexity = "O(1)", .summary = "Moves a member from one set to another."},
    {.name = "sinter", .proc = sinterCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = -1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "1.0.0", .complexity = INTER_COMPLEXITY,
     .tips = "nondeterministic_output_order", .summary = "Returns the intersection of sets."},
    {.name = "sintercard", .proc = sintercardCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS, .acl = ACL_SET_READ_SLOW,
     .getkeys = sintercardGetKeys, .key_flags = "RO access", .group = "set", .since = "7.0.0",
     .complexity = INTER_COMPLEXITY,
     .summary = "Returns the size of the intersection of sets, counting up to a limit."},
    {.name = "sinterstore", .proc = sinterstoreCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_SET_WRITE_SLOW, .key_first = 1,
     .key_last = -1, .key_step = 1, .key_flags = "RW update|RO access", .group = "set",
     .since = "1.0.0", .complexity = INTER_COMPLEXITY,
     .summary = "Stores the intersection of sets in a key."},
    {.name = "sunion", .proc = sunionCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = -1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "1.0.0", .complexity = UNION_COMPLEXITY,
     .tips = "nondeterministic_output_order", .summary = "Returns the union of sets."},
    {.name = "sunionstore", .proc = sunionstoreCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_SET_WRITE_SLOW, .key_first = 1,
     .key_last = -1, .key_step = 1, .key_flags = "OW update|RO access", .group = "set",
     .since = "1.0.0", .complexity = UNION_COMPLEXITY,
     .summary = "Stores the union of sets in a key."},
    {.name = "sdiff", .proc = sdiffCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = -1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "1.0.0", .complexity = UNION_COMPLEXITY,
     .tips = "nondeterministic_output_order",
     .summary = "Returns the members of the first set absent from the others."},
    {.name = "sdiffstore", .proc = sdiffstoreCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_SET_WRITE_SLOW, .key_first = 1,
     .key_last = -1, .key_step = 1, .key_flags = "OW update|RO access", .group = "set",
     .since = "1.0.0", .complexity = UNION_COMPLEXITY,
     .summary = "Stores the difference of sets in a key."},
    {.name = "sscan", .proc = sscanCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_SET_READ_SLOW, .key_first = 1, .key_last = 1, .key_step = 1,
     .key_flags = "RO access", .group = "set", .since = "2.8.0",
     .complexity = "O(1) per call, O(N) per iteration", .tips = "nondeterministic_output",
     .summary = "Iterates over the members of a set with a cursor."},
    {0},
};
