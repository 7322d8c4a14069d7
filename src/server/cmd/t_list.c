/*
 * t_list: the list commands — LPUSH / RPUSH (and X), LPOP / RPOP (with
 * COUNT), LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE,
 * RPOPLPUSH, LMPOP — with Redis 7.0.15's replies, errors and their order
 * (Redis's t_list.c is the reference for every branch). Values are
 * engine/listobj.h lists.
 *
 * Each handler runs as one engine transaction over its keys
 * (engine_begin_cmd) and replies from inside it. A list that becomes empty
 * is deleted, as Redis does. Mutations always go through ks_obj_mutable
 * (so MVCC views keep the old version).
 *
 * The pop / move logic is in generic functions the blocking variants
 * (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) call once a key has data:
 * listPopGeneric, lmoveGeneric. With no data they block (blocking.h) and
 * are re-run when a key becomes ready; what they log is their
 * non-blocking form.
 */
#include "server/cmd/notify.h"
#include "server/cmd/commands.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "server/cmd/args.h"
#include "server/cmd/blocking.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"

/* ---- Helpers -------------------------------------------------------------------- */

/* *out is key's entry in c's database, NULL when absent. Replies WRONGTYPE
 * and returns -1 when it holds another type. */
static int lookupListOrReply(client *c, ks_txn *txn, const resp_arg *key, ks_entry **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    if (e && ks_entry_type(e) != KS_TYPE_LIST) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = e;
    return 0;
}

static listobj *listMutable(client *c, ks_txn *txn, const resp_arg *key) {
    return ks_obj_mutable(txn, (unsigned)c->db, key->ptr, key->len);
}

/* Deletes key when its list l became empty (Redis never keeps one). */
static void listDeleteIfEmpty(client *c, ks_txn *txn, const resp_arg *key, const listobj *l) {
    if (listobj_len(l) == 0) {
        ks_delete(txn, (unsigned)c->db, key->ptr, key->len);
        notify_key(NOTIFY_GENERIC, "del", key, c->db);
    }
}

static void addReplyListValue(client *c, const list_value *v) {
    if (v->str) addReplyBulk(c, v->str, v->len);
    else addReplyBulkLongLong(c, v->ll);
}


/* Redis's getListPositionFromObjectOrReply: LEFT / RIGHT. */
static int listPositionOrReply(client *c, const resp_arg *a, int *where) {
    if (arg_is(a, "right")) *where = LIST_TAIL;
    else if (arg_is(a, "left")) *where = LIST_HEAD;
    else {
        addReplyErrorSyntax(c);
        return -1;
    }
    return 0;
}

/* Redis's addListRangeReply: elements start..end (negative from the end,
 * clamped), tail first when reverse. */
static void addListRangeReply(client *c, listobj *l, long long start, long long end, int reverse) {
    long long llen = (long long)listobj_len(l);
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) {
        addReplyArrayLen(c, 0);
        return;
    }
    if (end >= llen) end = llen - 1;
    long long n = end - start + 1;
    addReplyArrayLen(c, n);
    list_iter it;
    listobj_iter_init(&it, l, (size_t)(reverse ? end : start), reverse ? -1 : 1);
    list_value v;
    /* Bounded by the range asked for, like Redis's reply. */
    for (long long i = 0; i < n && listobj_iter_get(&it, &v); i++) {
        addReplyListValue(c, &v);
        listobj_iter_next(&it);
    }
}

/* ---- Generic pop / move (also for the blocking variants) --------------------- */

/* Pops from the `where` end of the list at key (which must exist as a list)
 * and replies: count == 0 one bulk element, count > 0 an array of up to
 * count elements (in pop order); with_key wraps either as [key, ...]
 * (BLPOP, LMPOP). Deletes the key once empty. */
static void listPopGeneric(client *c, ks_txn *txn, const resp_arg *key, int where,
                           long long count, int with_key) {
    listobj *l = listMutable(c, txn, key);
    size_t llen = listobj_len(l);
    if (with_key) {
        addReplyArrayLen(c, 2);
        addReplyBulk(c, key->ptr, key->len);
    }
    if (count == 0) {
        list_value v;
        size_t idx = where == LIST_HEAD ? 0 : llen - 1;
        listobj_index(l, idx, &v);
        addReplyListValue(c, &v);
        listobj_del_range(l, idx, 1);
    } else {
        long long n = count > (long long)llen ? (long long)llen : count;
        if (with_key) {
            /* LMPOP / BLMPOP: logged as LPOP/RPOP key <count popped>, as
             * Redis propagates them. */
            char cnt[24];
            resp_arg log[3] = {{(char *)(where == LIST_HEAD ? "LPOP" : "RPOP"), 4}, *key,
                               {cnt, (size_t)snprintf(cnt, sizeof(cnt), "%lld", n)}};
            persist_rewrite(c, 3, log);
        }
        if (where == LIST_HEAD) addListRangeReply(c, l, 0, n - 1, 0);
        else addListRangeReply(c, l, -n, -1, 1);
        listobj_del_range(l, where == LIST_HEAD ? 0 : llen - (size_t)n, (size_t)n);
    }
    notify_key(NOTIFY_LIST, where == LIST_HEAD ? "lpop" : "rpop", key, c->db);
    listDeleteIfEmpty(c, txn, key, l);
}

/* Redis's mpopGenericCommand: pops up to count elements from the first of
 * keys[0..numkeys) holding a list, replying [key, [elements]]. Returns 1
 * when it popped, 0 when no key holds a list (nothing replied: LMPOP
 * replies null, BLMPOP blocks), -1 after replying WRONGTYPE. */
static int mpopGeneric(client *c, ks_txn *txn, const resp_arg *keys, long long numkeys, int where,
                       long long count) {
    for (long long j = 0; j < numkeys; j++) {
        ks_entry *e;
        if (lookupListOrReply(c, txn, &keys[j], &e) < 0) return -1;
        if (!e) continue;
        listPopGeneric(c, txn, &keys[j], where, count, 1);
        return 1;
    }
    return 0;
}

/* Redis's lmoveGenericCommand: moves the element at src's wherefrom end to
 * dst's whereto end (the same key rotates) and replies it. Returns 1 when
 * moved, 0 when src does not exist (nothing replied: LMOVE replies null,
 * BLMOVE blocks), -1 after replying WRONGTYPE (src checked before dst). */
static int lmoveGeneric(client *c, ks_txn *txn, const resp_arg *src, const resp_arg *dst,
                        int wherefrom, int whereto) {
    unsigned db = (unsigned)c->db;
    ks_entry *se, *de;
    if (lookupListOrReply(c, txn, src, &se) < 0) return -1;
    if (!se) return 0;
    if (lookupListOrReply(c, txn, dst, &de) < 0) return -1;
    listobj *sl = listMutable(c, txn, src);
    listobj *dl;
    if (arg_eq(src, dst)) {
        dl = sl;
    } else if (de) {
        dl = listMutable(c, txn, dst);
    } else {
        dl = listobj_new();
    }
    listobj_move(sl, wherefrom, dl, whereto);
    if (!de && dl != sl) {
        ks_set_obj(txn, db, dst->ptr, dst->len, KS_TYPE_LIST, dl, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", dst, c->db);
    }
    list_value v;
    listobj_index(dl, whereto == LIST_HEAD ? 0 : listobj_len(dl) - 1, &v);
    addReplyListValue(c, &v);
    notify_key(NOTIFY_LIST, whereto == LIST_HEAD ? "lpush" : "rpush", dst, c->db);
    notify_key(NOTIFY_LIST, wherefrom == LIST_HEAD ? "lpop" : "rpop", src, c->db);
    listDeleteIfEmpty(c, txn, src, sl);
    return 1;
}

/* ---- Push ------------------------------------------------------------------------ */

/* Redis's pushGenericCommand; xx: only when the key exists (LPUSHX). */
static void pushGenericCommand(client *c, int where, int xx) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = &c->argv[1];
    ks_entry *e;
    if (lookupListOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e && xx) {
        addReplyLongLong(c, 0);
        goto done;
    }
    listobj *l = e ? listMutable(c, &txn, key) : listobj_new();
    for (int j = 2; j < c->argc; j++) listobj_push(l, where, c->argv[j].ptr, c->argv[j].len);
    if (!e) {
        ks_set_obj(&txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_LIST, l, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    notify_key(NOTIFY_LIST, where == LIST_HEAD ? "lpush" : "rpush", key, c->db);
    addReplyLongLong(c, (long long)listobj_len(l));
done:
    ks_txn_commit(&txn);
}

static void lpushCommand(client *c) {
    pushGenericCommand(c, LIST_HEAD, 0);
}

static void rpushCommand(client *c) {
    pushGenericCommand(c, LIST_TAIL, 0);
}

static void lpushxCommand(client *c) {
    pushGenericCommand(c, LIST_HEAD, 1);
}

static void rpushxCommand(client *c) {
    pushGenericCommand(c, LIST_TAIL, 1);
}

/* ---- Pop ---------------------------------------------------------------------------- */

/* Redis's popGenericCommand: [LR]POP key [count]. */
static void popGenericCommand(client *c, int where) {
    int hascount = c->argc == 3;
    long long count = 0;
    if (c->argc > 3) {
        addReplyErrorArity(c);
        return;
    }
    if (hascount && arg_range_ll_or_reply(c, &c->argv[2], 0, LLONG_MAX, &count,
                                    "ERR value is out of range, must be positive") < 0)
        return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupListOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        if (hascount) addReplyNullArray(c);
        else addReplyNull(c);
    } else if (hascount && count == 0) {
        addReplyArrayLen(c, 0);
    } else {
        listPopGeneric(c, &txn, &c->argv[1], where, count, 0);
    }
done:
    ks_txn_commit(&txn);
}

static void lpopCommand(client *c) {
    popGenericCommand(c, LIST_HEAD);
}

static void rpopCommand(client *c) {
    popGenericCommand(c, LIST_TAIL);
}

/* LMPOP's and BLMPOP's arguments from argv[first] on (args.h). */
static int lmpopArgsOrReply(client *c, int first, long long *numkeys, int *where,
                            long long *count) {
    int end;
    if (arg_mpop_or_reply(c, first, "left", "right", &end, numkeys, count) < 0) return -1;
    *where = end == 0 ? LIST_HEAD : LIST_TAIL;
    return 0;
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void lmpopCommand(client *c) {
    long long numkeys, count;
    int where;
    if (lmpopArgsOrReply(c, 1, &numkeys, &where, &count) < 0) return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (mpopGeneric(c, &txn, &c->argv[2], numkeys, where, count) == 0) addReplyNullArray(c);
    ks_txn_commit(&txn);
}

/* Keys of LMPOP as Redis's genericGetKeys(0, 1, 2, 1) finds them: numkeys
 * by atoi's rules; none when it is out of range. */
static int lmpopGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    if (argc < 2) return 0;
    const char *p = argv[1].ptr, *end = p + argv[1].len;
    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) p++;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+')) p++;
    long long num = 0;
    while (p < end && *p >= '0' && *p <= '9' && num <= INT_MAX) num = num * 10 + (*p++ - '0');
    if (neg) num = -num;
    if (num < 1 || num > argc - 2) return 0;
    int n = 0;
    for (int i = 0; i < num && n < max; i++) keys[n++] = 2 + i;
    return n;
}

/* ---- Reads --------------------------------------------------------------------------- */

static void llenCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupListOrReply(c, &txn, &c->argv[1], &e) == 0)
        addReplyLongLong(c, e ? (long long)listobj_len(ks_entry_obj(e)) : 0);
    ks_txn_commit(&txn);
}

static void lrangeCommand(client *c) {
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start, NULL) < 0 ||
        arg_ll_or_reply(c, &c->argv[3], &end, NULL) < 0)
        return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupListOrReply(c, &txn, &c->argv[1], &e) == 0) {
        if (e) addListRangeReply(c, ks_entry_obj(e), start, end, 0);
        else addReplyArrayLen(c, 0);
    }
    ks_txn_commit(&txn);
}

static void lindexCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    long long index;
    if (lookupListOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        addReplyNull(c);
        goto done;
    }
    if (arg_ll_or_reply(c, &c->argv[2], &index, NULL) < 0) goto done;
    listobj *l = ks_entry_obj(e);
    long long llen = (long long)listobj_len(l);
    if (index < 0) index += llen;
    if (index < 0 || index >= llen) {
        addReplyNull(c);
    } else {
        list_value v;
        listobj_index(l, (size_t)index, &v);
        addReplyListValue(c, &v);
    }
done:
    ks_txn_commit(&txn);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void lposCommand(client *c) {
    const resp_arg *ele = &c->argv[2];
    int dir = 1;
    long long rank = 1, count = -1, maxlen = 0; /* count -1: no COUNT */
    for (int j = 3; j < c->argc; j++) {
        const resp_arg *opt = &c->argv[j];
        int moreargs = c->argc - 1 - j;
        if (arg_is(opt, "rank") && moreargs) {
            j++;
            if (arg_ll_or_reply(c, &c->argv[j], &rank, NULL) < 0) return;
            if (rank == 0) {
                addReplyError(c, "ERR RANK can't be zero: use 1 to start from the first match, "
                                 "2 from the second ... or use negative to start from the end "
                                 "of the list");
                return;
            }
        } else if (arg_is(opt, "count") && moreargs) {
            j++;
            if (arg_range_ll_or_reply(c, &c->argv[j], 0, LLONG_MAX, &count,
                                "ERR COUNT can't be negative") < 0)
                return;
        } else if (arg_is(opt, "maxlen") && moreargs) {
            j++;
            if (arg_range_ll_or_reply(c, &c->argv[j], 0, LLONG_MAX, &maxlen,
                                "ERR MAXLEN can't be negative") < 0)
                return;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (rank < 0) {
        /* Redis negates in a long: LLONG_MIN stays negative, so every
         * match counts (wrapping arithmetic below keeps its results). */
        rank = (long long)(0ull - (unsigned long long)rank);
        dir = -1;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupListOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        if (count != -1) addReplyArrayLen(c, 0);
        else addReplyNull(c);
        goto done;
    }
    listobj *l = ks_entry_obj(e);
    long long llen = (long long)listobj_len(l);
    void *lenp = count != -1 ? addReplyDeferredLen(c) : NULL;
    list_iter it;
    listobj_iter_init(&it, l, dir > 0 ? 0 : (size_t)llen - 1, dir);
    list_value v;
    long long index = 0, matches = 0, matchindex = -1, arraylen = 0;
    while (listobj_iter_get(&it, &v) && (maxlen == 0 || index < maxlen)) {
        if (listobj_value_eq(&v, ele->ptr, ele->len)) {
            matches++;
            matchindex = dir > 0 ? index : llen - index - 1;
            if (matches >= rank) {
                if (!lenp) break;
                arraylen++;
                addReplyLongLong(c, matchindex);
                if (count && (long long)((unsigned long long)matches - (unsigned long long)rank + 1) >= count)
                    break;
            }
        }
        index++;
        matchindex = -1;
        listobj_iter_next(&it);
    }
    if (lenp) setDeferredArrayLen(c, lenp, arraylen);
    else if (matchindex != -1) addReplyLongLong(c, matchindex);
    else addReplyNull(c);
done:
    ks_txn_commit(&txn);
}

/* ---- Writes in place ------------------------------------------------------------------ */

static void lsetCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = &c->argv[1], *val = &c->argv[3];
    ks_entry *e;
    long long index;
    if (lookupListOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e) {
        addReplyError(c, "ERR no such key");
        goto done;
    }
    if (arg_ll_or_reply(c, &c->argv[2], &index, NULL) < 0) goto done;
    long long llen = (long long)listobj_len(ks_entry_obj(e));
    if (index < 0) index += llen;
    if (index < 0 || index >= llen) {
        addReplyError(c, "ERR index out of range");
        goto done;
    }
    listobj_replace(listMutable(c, &txn, key), (size_t)index, val->ptr, val->len);
    notify_key(NOTIFY_LIST, "lset", key, c->db);
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

/* LINSERT key BEFORE|AFTER pivot element */
static void linsertCommand(client *c) {
    int after;
    if (arg_is(&c->argv[2], "after")) after = 1;
    else if (arg_is(&c->argv[2], "before")) after = 0;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = &c->argv[1], *pivot = &c->argv[3], *val = &c->argv[4];
    ks_entry *e;
    if (lookupListOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e) {
        addReplyLongLong(c, 0);
        goto done;
    }
    /* Find the pivot on the current version before copying it for writing. */
    listobj *l = ks_entry_obj(e);
    list_iter it;
    list_value v;
    size_t pos = 0;
    listobj_iter_init(&it, l, 0, 1);
    while (listobj_iter_get(&it, &v) && !listobj_value_eq(&v, pivot->ptr, pivot->len)) {
        listobj_iter_next(&it);
        pos++;
    }
    if (pos == listobj_len(l)) {
        addReplyLongLong(c, -1);
        goto done;
    }
    l = listMutable(c, &txn, key);
    listobj_iter_init(&it, l, pos, 1);
    listobj_iter_insert(&it, after, val->ptr, val->len);
    notify_key(NOTIFY_LIST, "linsert", key, c->db);
    addReplyLongLong(c, (long long)listobj_len(l));
done:
    ks_txn_commit(&txn);
}

/* LREM key count element */
static void lremCommand(client *c) {
    long long toremove;
    if (arg_ll_or_reply(c, &c->argv[2], &toremove, NULL) < 0) return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = &c->argv[1], *ele = &c->argv[3];
    ks_entry *e;
    if (lookupListOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e) {
        addReplyLongLong(c, 0);
        goto done;
    }
    /* Magnitude as unsigned: -LLONG_MIN removes every match (as in Redis,
     * where the negation overflows and never equals the count). */
    unsigned long long limit = toremove < 0 ? 0ull - (unsigned long long)toremove
                                            : (unsigned long long)toremove;
    /* Find the first match on the current version: without one the key
     * is not written (Redis signals no modification, WATCH holds). */
    listobj *l = ks_entry_obj(e);
    size_t llen = listobj_len(l), pos = 0;
    int dir = toremove < 0 ? -1 : 1;
    list_iter it;
    list_value v;
    listobj_iter_init(&it, l, dir < 0 ? llen - 1 : 0, dir);
    while (listobj_iter_get(&it, &v) && !listobj_value_eq(&v, ele->ptr, ele->len)) {
        listobj_iter_next(&it);
        pos++;
    }
    if (pos == llen) {
        addReplyLongLong(c, 0);
        goto done;
    }
    l = listMutable(c, &txn, key);
    unsigned long long removed = 0;
    listobj_iter_init(&it, l, dir < 0 ? llen - 1 - pos : pos, dir);
    while (listobj_iter_get(&it, &v)) {
        if (!listobj_value_eq(&v, ele->ptr, ele->len)) {
            listobj_iter_next(&it);
            continue;
        }
        listobj_iter_delete(&it);
        removed++;
        if (limit && removed == limit) break;
    }
    notify_key(NOTIFY_LIST, "lrem", key, c->db);
    listDeleteIfEmpty(c, &txn, key, l);
    addReplyLongLong(c, (long long)removed);
done:
    ks_txn_commit(&txn);
}

static void ltrimCommand(client *c) {
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start, NULL) < 0 ||
        arg_ll_or_reply(c, &c->argv[3], &end, NULL) < 0)
        return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = &c->argv[1];
    ks_entry *e;
    if (lookupListOrReply(c, &txn, key, &e) < 0) goto done;
    if (e) {
        long long llen = (long long)listobj_len(ks_entry_obj(e)), ltrim, rtrim;
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen) {
            ltrim = 0;
            rtrim = llen;
        } else {
            if (end >= llen) end = llen - 1;
            ltrim = start;
            rtrim = llen - end - 1;
        }
        /* Nothing to remove: no write (Redis does not propagate it). */
        listobj *l = NULL;
        if (ltrim + rtrim > 0) {
            l = listMutable(c, &txn, key);
            listobj_del_range(l, 0, (size_t)ltrim);
            listobj_del_range(l, listobj_len(l) - (size_t)rtrim, (size_t)rtrim);
        }
        notify_key(NOTIFY_LIST, "ltrim", key, c->db);
        if (l) listDeleteIfEmpty(c, &txn, key, l);
    }
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

/* ---- Moves ------------------------------------------------------------------------------ */

static void lmoveCommandWith(client *c, int wherefrom, int whereto) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (lmoveGeneric(c, &txn, &c->argv[1], &c->argv[2], wherefrom, whereto) == 0) addReplyNull(c);
    ks_txn_commit(&txn);
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT */
static void lmoveCommand(client *c) {
    int wherefrom, whereto;
    if (listPositionOrReply(c, &c->argv[3], &wherefrom) < 0 ||
        listPositionOrReply(c, &c->argv[4], &whereto) < 0)
        return;
    lmoveCommandWith(c, wherefrom, whereto);
}

static void rpoplpushCommand(client *c) {
    lmoveCommandWith(c, LIST_TAIL, LIST_HEAD);
}

/* ---- Blocking variants ---------------------------------------------------------------- */

/* Redis's blocking lookups: the first of keys[0..nkeys) holding a list
 * (*found), 0 when none does (the caller blocks), -1 after replying
 * WRONGTYPE for a key of another type met first. A re-run skips such keys
 * instead (Redis 7.0 serves list waiters from list keys only). */
static int blockingFirstList(client *c, ks_txn *txn, const resp_arg *keys, int nkeys,
                             const resp_arg **found) {
    for (int j = 0; j < nkeys; j++) {
        ks_entry *e = ks_lookup(txn, (unsigned)c->db, keys[j].ptr, keys[j].len, 0);
        if (!e) continue;
        if (ks_entry_type(e) != KS_TYPE_LIST) {
            if (blocking_rerun(c)) continue;
            addReplyErrorWrongType(c);
            return -1;
        }
        *found = &keys[j];
        return 1;
    }
    return 0;
}

/* Redis's blockingPopGenericCommand: count -1 pops one element as
 * [key, element] (BLPOP, BRPOP, logged as LPOP/RPOP key), count > 0 up to
 * count as [key, [elements]] (BLMPOP, logged by listPopGeneric as
 * LPOP/RPOP key <count popped>).
 * Inside EXEC an empty wait replies a null array, as a timeout would. */
static void blockingPopGeneric(client *c, const resp_arg *keys, int nkeys, int where,
                               long long count, int64_t deadline_ms) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *key = NULL;
    int r = blockingFirstList(c, &txn, keys, nkeys, &key);
    if (r > 0) {
        if (count == -1) {
            resp_arg log[2] = {{(char *)(where == LIST_HEAD ? "LPOP" : "RPOP"), 4}, *key};
            persist_rewrite(c, 2, log);
        }
        listPopGeneric(c, &txn, key, where, count == -1 ? 0 : count, 1);
    } else if (r == 0) {
        if (blocking_allowed(c)) blocking_block(c, keys, nkeys, deadline_ms);
        else addReplyNullArray(c);
    }
    ks_txn_commit(&txn);
}

/* B[LR]POP key [key ...] timeout */
static void blpopGenericCommand(client *c, int where) {
    int64_t deadline;
    if (blocking_timeout_or_reply(c, &c->argv[c->argc - 1], &deadline) < 0) return;
    blockingPopGeneric(c, &c->argv[1], c->argc - 2, where, -1, deadline);
}

static void blpopCommand(client *c) {
    blpopGenericCommand(c, LIST_HEAD);
}

static void brpopCommand(client *c) {
    blpopGenericCommand(c, LIST_TAIL);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the
 * arguments checked as LMPOP's, the timeout last (Redis's order). */
static void blmpopCommand(client *c) {
    long long numkeys, count;
    int where;
    if (lmpopArgsOrReply(c, 2, &numkeys, &where, &count) < 0) return;
    int64_t deadline;
    if (blocking_timeout_or_reply(c, &c->argv[1], &deadline) < 0) return;
    blockingPopGeneric(c, &c->argv[3], (int)numkeys, where, count, deadline);
}

/* Keys of BLMPOP: LMPOP's, one argument later. */
static int blmpopGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    if (argc < 2) return 0;
    int n = lmpopGetKeys(argv + 1, argc - 1, keys, max);
    for (int i = 0; i < n; i++) keys[i]++;
    return n;
}

/* Redis's blmoveGenericCommand: LMOVE once the source has elements (logged
 * as LMOVE / RPOPLPUSH); inside EXEC an empty source replies null. */
static void blmoveGeneric(client *c, int wherefrom, int whereto, int64_t deadline_ms) {
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const resp_arg *found = NULL;
    int r = blockingFirstList(c, &txn, src, 1, &found);
    if (r > 0) {
        if (c->argc == 6) {
            resp_arg log[5] = {{(char *)"LMOVE", 5}, *src, *dst, c->argv[3], c->argv[4]};
            persist_rewrite(c, 5, log);
        } else {
            resp_arg log[3] = {{(char *)"RPOPLPUSH", 9}, *src, *dst};
            persist_rewrite(c, 3, log);
        }
        lmoveGeneric(c, &txn, src, dst, wherefrom, whereto);
    } else if (r == 0) {
        if (blocking_allowed(c)) blocking_block(c, src, 1, deadline_ms);
        else addReplyNull(c);
    }
    ks_txn_commit(&txn);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void blmoveCommand(client *c) {
    int wherefrom, whereto;
    int64_t deadline;
    if (listPositionOrReply(c, &c->argv[3], &wherefrom) < 0 ||
        listPositionOrReply(c, &c->argv[4], &whereto) < 0 ||
        blocking_timeout_or_reply(c, &c->argv[5], &deadline) < 0)
        return;
    blmoveGeneric(c, wherefrom, whereto, deadline);
}

/* BRPOPLPUSH source destination timeout */
static void brpoplpushCommand(client *c) {
    int64_t deadline;
    if (blocking_timeout_or_reply(c, &c->argv[3], &deadline) < 0) return;
    blmoveGeneric(c, LIST_TAIL, LIST_HEAD, deadline);
}

/* ---- Table ---------------------------------------------------------------------------------- */

#define LIST_KEY1 .key_first = 1, .key_last = 1, .key_step = 1
#define LIST_KEY2 .key_first = 1, .key_last = 2, .key_step = 1
#define PUSH_COMPLEXITY "O(1) for each element added, so O(N) to add N elements."

command list_commands[] = {
    {.name = "lpush", .proc = lpushCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_LIST | ACL_FAST,
     LIST_KEY1, .key_flags = "RW insert", .group = "list", .since = "1.0.0",
     .complexity = PUSH_COMPLEXITY,
     .summary = "Prepends elements to a list, creating the key if needed."},
    {.name = "rpush", .proc = rpushCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_LIST | ACL_FAST,
     LIST_KEY1, .key_flags = "RW insert", .group = "list", .since = "1.0.0",
     .complexity = PUSH_COMPLEXITY,
     .summary = "Appends elements to a list, creating the key if needed."},
    {.name = "lpushx", .proc = lpushxCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_LIST | ACL_FAST,
     LIST_KEY1, .key_flags = "RW insert", .group = "list", .since = "2.2.0",
     .complexity = PUSH_COMPLEXITY,
     .summary = "Prepends elements to a list only when the list exists."},
    {.name = "rpushx", .proc = rpushxCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_LIST | ACL_FAST,
     LIST_KEY1, .key_flags = "RW insert", .group = "list", .since = "2.2.0",
     .complexity = PUSH_COMPLEXITY,
     .summary = "Appends elements to a list only when the list exists."},
    {.name = "lpop", .proc = lpopCommand, .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_LIST | ACL_FAST, LIST_KEY1, .key_flags = "RW access delete",
     .group = "list", .since = "1.0.0", .complexity = "O(N) for N elements returned",
     .summary = "Removes and returns the first elements of a list."},
    {.name = "rpop", .proc = rpopCommand, .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_LIST | ACL_FAST, LIST_KEY1, .key_flags = "RW access delete",
     .group = "list", .since = "1.0.0", .complexity = "O(N) for N elements returned",
     .summary = "Removes and returns the last elements of a list."},
    {.name = "llen", .proc = llenCommand, .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_LIST | ACL_FAST, LIST_KEY1, .key_flags = "RO", .group = "list",
     .since = "1.0.0", .complexity = "O(1)", .summary = "Returns the length of a list."},
    {.name = "lrange", .proc = lrangeCommand, .arity = 4, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RO access",
     .group = "list", .since = "1.0.0",
     .complexity = "O(S+N): S the distance of start from the nearer end, N the range",
     .summary = "Returns a range of elements of a list."},
    {.name = "lindex", .proc = lindexCommand, .arity = 3, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RO access",
     .group = "list", .since = "1.0.0", .complexity = "O(N) to reach the index; O(1) at the ends",
     .summary = "Returns an element of a list by its index."},
    {.name = "lset", .proc = lsetCommand, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RW update",
     .group = "list", .since = "1.0.0", .complexity = "O(N) to reach the index; O(1) at the ends",
     .summary = "Sets the value of an element of a list by its index."},
    {.name = "linsert", .proc = linsertCommand, .arity = 5, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RW insert",
     .group = "list", .since = "2.2.0", .complexity = "O(N) to find the pivot",
     .summary = "Inserts an element before or after another element of a list."},
    {.name = "lrem", .proc = lremCommand, .arity = 4, .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RW delete",
     .group = "list", .since = "1.0.0", .complexity = "O(N+M): N the length, M removed",
     .summary = "Removes elements equal to a value from a list."},
    {.name = "ltrim", .proc = ltrimCommand, .arity = 4, .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RW delete",
     .group = "list", .since = "1.0.0", .complexity = "O(N) for N elements removed",
     .summary = "Keeps only a range of elements of a list."},
    {.name = "lpos", .proc = lposCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_LIST | ACL_SLOW, LIST_KEY1, .key_flags = "RO access",
     .group = "list", .since = "6.0.6", .complexity = "O(N); less with MAXLEN or near the ends",
     .summary = "Returns the indexes of matching elements of a list."},
    {.name = "lmove", .proc = lmoveCommand, .arity = 5, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY2,
     .key_flags = "RW access delete|RW insert", .group = "list", .since = "6.2.0",
     .complexity = "O(1)",
     .summary = "Pops an element from one end of a list and pushes it to another list."},
    {.name = "rpoplpush", .proc = rpoplpushCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, LIST_KEY2,
     .key_flags = "RW access delete|RW insert", .group = "list", .since = "1.2.0",
     .complexity = "O(1)",
     .summary = "Pops the last element of a list and pushes it to the head of another."},
    {.name = "lmpop", .proc = lmpopCommand, .arity = -4, .flags = CMD_WRITE | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW, .getkeys = lmpopGetKeys,
     .key_flags = "RW access delete", .group = "list", .since = "7.0.0",
     .complexity = "O(N+M): N keys, M elements returned",
     .summary = "Pops elements from the first non-empty list of several."},
    {.name = "blpop", .proc = blpopCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING,
     .key_first = 1, .key_last = -2, .key_step = 1, .key_flags = "RW access delete",
     .group = "list", .since = "2.0.0",
     .complexity = "O(N) where N is the number of provided keys.",
     .summary = "Pops the first element of the first non-empty list, or blocks until one is."},
    {.name = "brpop", .proc = brpopCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING,
     .key_first = 1, .key_last = -2, .key_step = 1, .key_flags = "RW access delete",
     .group = "list", .since = "2.0.0",
     .complexity = "O(N) where N is the number of provided keys.",
     .summary = "Pops the last element of the first non-empty list, or blocks until one is."},
    {.name = "blmove", .proc = blmoveCommand, .arity = 6,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING, LIST_KEY2,
     .key_flags = "RW access delete|RW insert", .group = "list", .since = "6.2.0",
     .complexity = "O(1)",
     .summary = "Moves an element between lists like LMOVE, blocking until the source has one."},
    {.name = "brpoplpush", .proc = brpoplpushCommand, .arity = 4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT | CMD_BLOCKING,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING, LIST_KEY2,
     .key_flags = "RW access delete|RW insert", .group = "list", .since = "2.2.0",
     .complexity = "O(1)",
     .summary = "RPOPLPUSH that blocks until the source list has an element."},
    {.name = "blmpop", .proc = blmpopCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING, .getkeys = blmpopGetKeys,
     .key_flags = "RW access delete", .group = "list", .since = "7.0.0",
     .complexity = "O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
     .summary = "LMPOP that blocks until one of the lists has elements."},
    {0},
};
