/*
 * t_sort: SORT and SORT_RO over lists, sets and sorted sets — BY (a key
 * pattern, a hash field "pattern->field", or a pattern without '*' for no
 * sorting), LIMIT, GET (patterns, hash fields, "#" for the element), ASC
 * and DESC, ALPHA, and STORE into a list — with Redis 7.0.15's replies,
 * errors and their order (sort.c is the reference): options are parsed
 * before the key's type is checked.
 *
 * Semantics kept from Redis: numeric sorting reads a value with strtod up
 * to its first NUL byte ("" is 0; a value that does not parse fails the
 * whole command with "One or more scores can't be converted into
 * double"), equal scores fall back to comparing the elements' bytes;
 * ALPHA compares with strcmp (C locale collation) unless STORE is given
 * (then byte-wise); a missing BY key scores 0 (numeric) or sorts first
 * (ALPHA). Unsorted (BY without '*') lists and sorted sets keep their
 * order (reversed by DESC) and take the LIMIT range directly; an unsorted
 * set is forced to ALPHA order when stored, so the stored list is
 * deterministic. STORE writes a list without TTL, or deletes the
 * destination when the result is empty; it logs its result (DEL, then
 * RPUSH of the stored elements) instead of the SORT, because ALPHA BY ties
 * keep the set's internal order, which a replay need not reproduce.
 *
 * Locking: the sorted key and the STORE key are the command's keys
 * (sortGetKeys); when BY or GET reference other keys, the handler locks
 * the whole database instead, since those keys are only known while
 * sorting. Every element and looked-up value is copied, so no engine
 * pointer outlives a lookup.
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/keyset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/zsetobj.h"
#include "server/engine_glue.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

/* A byte string owned by the sort (malloc'd, NUL-terminated). */
typedef struct sort_str {
    char *p;
    size_t len;
} sort_str;

typedef struct sort_obj {
    sort_str obj;   /* the element */
    double score;   /* numeric sort key */
    sort_str cmp;   /* ALPHA BY key; p NULL when the key is missing */
} sort_obj;

static sort_str sortStrDup(const char *p, size_t len) {
    sort_str s = {lt_xmalloc(len + 1), len};
    memcpy(s.p, p, len);
    s.p[len] = '\0';
    return s;
}

static sort_str sortStrFromLL(long long v) {
    char buf[LT_LLSTR_SIZE];
    size_t n = lt_ll2string(buf, sizeof(buf), v);
    return sortStrDup(buf, n);
}

/* Redis's lookupKeyByPattern: "#" is the element itself; otherwise the
 * first '*' is replaced by the element, and "->field" after it reads a
 * hash field. 1 and *out (caller frees) when the value exists as a string
 * (or hash field), else 0. */
static int sortLookupByPattern(client *c, ks_txn *txn, const resp_arg *pat, const sort_str *elem,
                               sort_str *out) {
    const char *spat = pat->ptr;
    size_t splen = strnlen(spat, pat->len); /* Redis reads the pattern as a C string */
    if (pat->len >= 1 && spat[0] == '#' && splen == 1) {
        *out = sortStrDup(elem->p, elem->len);
        return 1;
    }
    const char *star = memchr(spat, '*', splen);
    if (!star) return 0;
    const char *field = NULL;
    size_t fieldlen = 0;
    for (const char *f = star + 1; f + 1 < spat + splen; f++) {
        if (f[0] == '-' && f[1] == '>') {
            if (f + 2 < spat + splen) {
                field = f + 2;
                fieldlen = pat->len - (size_t)(field - spat);
            }
            break;
        }
    }
    size_t prefixlen = (size_t)(star - spat);
    size_t postfixlen = pat->len - (prefixlen + 1) - (field ? fieldlen + 2 : 0);
    size_t klen = prefixlen + elem->len + postfixlen;
    char *key = lt_xmalloc(klen + 1);
    memcpy(key, spat, prefixlen);
    memcpy(key + prefixlen, elem->p, elem->len);
    memcpy(key + prefixlen + elem->len, star + 1, postfixlen);
    int found = 0;
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key, klen, 0);
    if (e && field) {
        hashobj_str v;
        if (ks_entry_type(e) == KS_TYPE_HASH &&
            hashobj_get(ks_entry_obj(e), field, fieldlen, &v)) {
            *out = v.ptr ? sortStrDup(v.ptr, v.len) : sortStrFromLL(v.ll);
            found = 1;
        }
    } else if (e && ks_entry_type(e) == KS_TYPE_STRING) {
        char buf[LT_LLSTR_SIZE];
        size_t len;
        const char *s = ks_entry_str(e, buf, &len);
        *out = sortStrDup(s, len);
        found = 1;
    }
    free(key);
    return found;
}

/* ---- Comparison ------------------------------------------------------------- */

typedef struct sort_ctx {
    int desc, alpha, bypattern, store;
} sort_ctx;

static int sortBinaryCmp(const sort_str *a, const sort_str *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int cmp = memcmp(a->p, b->p, n);
    if (cmp) return cmp;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int sortCompare(const sort_obj *a, const sort_obj *b, const sort_ctx *x) {
    int cmp;
    if (!x->alpha) {
        if (a->score > b->score) cmp = 1;
        else if (a->score < b->score) cmp = -1;
        else cmp = sortBinaryCmp(&a->obj, &b->obj); /* deterministic ties */
    } else if (x->bypattern) {
        if (!a->cmp.p || !b->cmp.p) cmp = a->cmp.p == b->cmp.p ? 0 : !a->cmp.p ? -1 : 1;
        else cmp = x->store ? sortBinaryCmp(&a->cmp, &b->cmp) : strcmp(a->cmp.p, b->cmp.p);
    } else {
        cmp = x->store ? sortBinaryCmp(&a->obj, &b->obj) : strcmp(a->obj.p, b->obj.p);
    }
    return x->desc ? -cmp : cmp;
}

/* Stable merge sort (the comparison is total except for ALPHA BY ties,
 * whose order Redis leaves unspecified too). */
static void sortVector(sort_obj *v, size_t n, const sort_ctx *x) {
    if (n < 2) return;
    sort_obj *tmp = lt_xmalloc(n * sizeof(*v));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = sortCompare(&v[i], &v[j], x) <= 0 ? v[i++] : v[j++];
            while (i < mid) tmp[k++] = v[i++];
            while (j < hi) tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    free(tmp);
}

/* ---- The command -------------------------------------------------------------- */

/* Whether a BY/GET pattern names other keys (needs the database locked). */
static int sortPatternReadsKeys(const resp_arg *pat) {
    size_t splen = strnlen(pat->ptr, pat->len);
    if (splen == 1 && pat->ptr[0] == '#') return 0;
    return memchr(pat->ptr, '*', splen) != NULL;
}

static void sortGenericCommand(client *c, int readonly) {
    int desc = 0, alpha = 0, dontsort = 0;
    long long limit_start = 0, limit_count = -1;
    const resp_arg *sortby = NULL, *storekey = NULL;
    int ngets = 0, locks_db = 0;
    const resp_arg **gets = lt_xmalloc(sizeof(*gets) * (size_t)c->argc);
    for (int j = 2; j < c->argc; j++) {
        int leftargs = c->argc - j - 1;
        const resp_arg *a = &c->argv[j];
        if (arg_is(a, "asc")) {
            desc = 0;
        } else if (arg_is(a, "desc")) {
            desc = 1;
        } else if (arg_is(a, "alpha")) {
            alpha = 1;
        } else if (arg_is(a, "limit") && leftargs >= 2) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &limit_start, NULL) < 0 ||
                arg_ll_or_reply(c, &c->argv[j + 2], &limit_count, NULL) < 0) {
                free(gets);
                return;
            }
            j += 2;
        } else if (arg_is(a, "store") && leftargs >= 1 && !readonly) {
            storekey = &c->argv[++j];
        } else if (arg_is(a, "by") && leftargs >= 1) {
            sortby = &c->argv[++j];
            /* A pattern without '*' means "do not sort". */
            if (!memchr(sortby->ptr, '*', strnlen(sortby->ptr, sortby->len))) dontsort = 1;
            else locks_db = 1;
        } else if (arg_is(a, "get") && leftargs >= 1) {
            gets[ngets++] = &c->argv[++j];
            if (sortPatternReadsKeys(gets[ngets - 1])) locks_db = 1;
        } else {
            addReplyErrorSyntax(c);
            free(gets);
            return;
        }
    }

    ks_txn txn;
    if (locks_db) ks_txn_begin_db(&txn, server.db, (unsigned)c->db);
    else engine_begin_cmd(c, &txn);
    unsigned db = (unsigned)c->db;
    sort_obj *vector = NULL;
    size_t vectorlen = 0, nloaded = 0;
    int type = KS_TYPE_LIST;
    void *obj = NULL;
    ks_entry *e = ks_lookup(&txn, db, c->argv[1].ptr, c->argv[1].len, 0);
    if (e) {
        type = ks_entry_type(e);
        if (type != KS_TYPE_LIST && type != KS_TYPE_SET && type != KS_TYPE_ZSET) {
            addReplyErrorWrongType(c);
            goto done;
        }
        obj = ks_entry_obj(e);
    }
    /* An unsorted set is sorted anyway when stored or returned to a
     * script, for a deterministic result (as Redis, for replication). */
    if (dontsort && type == KS_TYPE_SET && (storekey || (c->flags & CLIENT_SCRIPT))) {
        dontsort = 0;
        alpha = 1;
        sortby = NULL;
    }
    if (obj) {
        if (type == KS_TYPE_LIST) vectorlen = listobj_len(obj);
        else if (type == KS_TYPE_SET) vectorlen = setobj_size(obj);
        else vectorlen = zset_len(obj);
    }

    /* LIMIT sanity, as Redis 7.0.15 computes it (signed), the inputs first
     * clamped to the object's size so that start + count cannot overflow. */
    long long vlen = (long long)vectorlen;
    long long start = limit_start < 0 ? 0 : limit_start > vlen ? vlen : limit_start;
    if (limit_count > vlen) limit_count = vlen;
    long long end = limit_count < 0 ? vlen - 1 : start + limit_count - 1;
    if (start >= vlen) {
        start = vlen - 1;
        end = vlen - 2;
    }
    if (end >= vlen) end = vlen - 1;

    /* Unsorted lists and sorted sets load just the range, in order. */
    int direct = (type == KS_TYPE_ZSET || type == KS_TYPE_LIST) && dontsort;
    if (direct && (start != 0 || end != vlen - 1)) vectorlen = end >= start ? (size_t)(end - start + 1) : 0;
    vector = lt_xcalloc(vectorlen ? vectorlen : 1, sizeof(*vector));

    if (obj && type == KS_TYPE_LIST && dontsort) {
        if (end >= start) {
            list_iter it;
            list_value v;
            size_t llen = listobj_len(obj);
            listobj_iter_init(&it, obj, desc ? llen - (size_t)start - 1 : (size_t)start, desc ? -1 : 1);
            while (nloaded < vectorlen && listobj_iter_get(&it, &v)) {
                vector[nloaded++].obj = v.str ? sortStrDup(v.str, v.len) : sortStrFromLL(v.ll);
                listobj_iter_next(&it);
            }
            end -= start;
            start = 0;
        }
    } else if (obj && type == KS_TYPE_LIST) {
        list_iter it;
        list_value v;
        listobj_iter_init(&it, obj, 0, 1);
        while (nloaded < vectorlen && listobj_iter_get(&it, &v)) {
            vector[nloaded++].obj = v.str ? sortStrDup(v.str, v.len) : sortStrFromLL(v.ll);
            listobj_iter_next(&it);
        }
    } else if (obj && type == KS_TYPE_SET) {
        setobj_iter it;
        setobj_elem el;
        setobj_iter_init(&it, obj);
        while (nloaded < vectorlen && setobj_iter_next(&it, &el))
            vector[nloaded++].obj = sortStrDup(el.ptr, el.len);
    } else if (obj && type == KS_TYPE_ZSET && dontsort) {
        if (end >= start) {
            zset_iter it;
            size_t zlen = zset_len(obj);
            uint64_t rank = desc ? zlen - (size_t)start - 1 : (uint64_t)start;
            int ok = zset_iter_seek(&it, obj, rank);
            while (ok && nloaded < vectorlen) {
                const char *m;
                size_t len;
                double score;
                zset_iter_get(&it, &m, &len, &score);
                vector[nloaded++].obj = sortStrDup(m, len);
                ok = desc ? zset_iter_prev(&it) : zset_iter_next(&it);
            }
            end -= start;
            start = 0;
        }
    } else if (obj && type == KS_TYPE_ZSET) {
        zset_iter it;
        int ok = zset_iter_seek(&it, obj, 0);
        while (ok && nloaded < vectorlen) {
            const char *m;
            size_t len;
            double score;
            zset_iter_get(&it, &m, &len, &score);
            vector[nloaded++].obj = sortStrDup(m, len);
            ok = zset_iter_next(&it);
        }
    }

    int conversion_error = 0;
    if (!dontsort) {
        for (size_t j = 0; j < nloaded; j++) {
            sort_str byval;
            if (sortby) {
                if (!sortLookupByPattern(c, &txn, sortby, &vector[j].obj, &byval)) continue;
            } else {
                byval = vector[j].obj;
            }
            if (alpha) {
                if (sortby) vector[j].cmp = byval;
                continue;
            }
            /* strtod up to the first NUL, as Redis reads the value. */
            char *eptr;
            errno = 0;
            vector[j].score = strtod(byval.p, &eptr);
            if (eptr[0] != '\0' || errno == ERANGE || isnan(vector[j].score)) conversion_error = 1;
            if (sortby) free(byval.p);
        }
        sort_ctx x = {desc, alpha, sortby != NULL, storekey != NULL};
        sortVector(vector, nloaded, &x);
    }

    long long outputlen = ngets ? ngets * (end - start + 1) : end - start + 1;
    if (conversion_error) {
        addReplyError(c, "ERR One or more scores can't be converted into double");
    } else if (!storekey) {
        addReplyArrayLen(c, outputlen);
        for (long long j = start; j <= end; j++) {
            if (!ngets) addReplyBulk(c, vector[j].obj.p, vector[j].obj.len);
            for (int g = 0; g < ngets; g++) {
                sort_str val;
                if (!sortLookupByPattern(c, &txn, gets[g], &vector[j].obj, &val)) {
                    addReplyNull(c);
                } else {
                    addReplyBulk(c, val.p, val.len);
                    free(val.p);
                }
            }
        }
    } else {
        /* The WAL gets the result (DEL + RPUSH), not the SORT: ties
         * between equal ALPHA BY keys follow the set's internal order. */
        listobj *l = listobj_new();
        resp_arg *logv = lt_xmalloc(sizeof(*logv) * (size_t)(outputlen + 2));
        sort_str *vals = lt_xcalloc((size_t)(outputlen > 0 ? outputlen : 1), sizeof(*vals));
        long long nv = 0;
        for (long long j = start; j <= end; j++) {
            if (!ngets) vals[nv++] = sortStrDup(vector[j].obj.p, vector[j].obj.len);
            for (int g = 0; g < ngets; g++)
                if (!sortLookupByPattern(c, &txn, gets[g], &vector[j].obj, &vals[nv++]))
                    vals[nv - 1] = sortStrDup("", 0);
        }
        logv[0] = (resp_arg){"DEL", 3};
        logv[1] = *storekey;
        persist_rewrite(c, 2, logv);
        if (outputlen > 0) {
            logv[0] = (resp_arg){"RPUSH", 5};
            for (long long j = 0; j < nv; j++) {
                listobj_push(l, LIST_TAIL, vals[j].p, vals[j].len);
                logv[j + 2] = (resp_arg){vals[j].p, vals[j].len};
            }
            persist_rewrite_add(c, (int)(nv + 2), logv);
            ks_set_obj(&txn, db, storekey->ptr, storekey->len, KS_TYPE_LIST, l, KS_EXPIRE_NONE);
        } else {
            listobj_free(l);
            ks_delete(&txn, db, storekey->ptr, storekey->len);
        }
        for (long long j = 0; j < nv; j++) free(vals[j].p);
        free(vals);
        free(logv);
        addReplyLongLong(c, outputlen);
    }
done:
    ks_txn_commit(&txn);
    for (size_t j = 0; j < nloaded; j++) {
        free(vector[j].obj.p);
        free(vector[j].cmp.p);
    }
    free(vector);
    free(gets);
}

static void sortCommand(client *c) { sortGenericCommand(c, 0); }
static void sortroCommand(client *c) { sortGenericCommand(c, 1); }

/* Redis's sortGetKeys: the sorted key, and the last STORE key, skipping
 * the arguments of LIMIT, GET and BY. BY/GET patterns are not keys. */
static int sortGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    int n = 0, store = -1;
    if (n < max) keys[n++] = 1;
    for (int i = 2; i < argc; i++) {
        if (arg_is(&argv[i], "limit")) i += 2;
        else if (arg_is(&argv[i], "get") || arg_is(&argv[i], "by")) i += 1;
        else if (arg_is(&argv[i], "store") && i + 1 < argc) store = i + 1;
    }
    if (store > 0 && n < max) keys[n++] = store;
    return n;
}

/* Whether argv's BY or GET patterns read other keys: then the handler locks
 * the whole database, and so must a transaction that queues it. Scans the
 * options the way sortGenericCommand parses them. */
static int sortArgsReadOtherKeys(const resp_arg *argv, int argc) {
    for (int j = 2; j < argc; j++) {
        int leftargs = argc - j - 1;
        if (arg_is(&argv[j], "limit") && leftargs >= 2) {
            j += 2;
        } else if (arg_is(&argv[j], "store") && leftargs >= 1) {
            j++;
        } else if ((arg_is(&argv[j], "by") || arg_is(&argv[j], "get")) && leftargs >= 1) {
            j++;
            int is_by = arg_is(&argv[j - 1], "by");
            if (is_by ? memchr(argv[j].ptr, '*', strnlen(argv[j].ptr, argv[j].len)) != NULL
                      : sortPatternReadsKeys(&argv[j]))
                return 1;
        }
    }
    return 0;
}

/* Lock set (keyset.h): the keys sortGetKeys names, or the whole database
 * when a pattern reads other keys. */
static int sortKeysetGeneric(cmd_keyset *ks, const resp_arg *argv, int argc, int db,
                             command_getkeys *getkeys) {
    if (sortArgsReadOtherKeys(argv, argc)) {
        keyset_add_db(ks, (unsigned)db);
        return db;
    }
    int idx[2];
    int n = getkeys(argv, argc, idx, 2);
    for (int i = 0; i < n; i++) keyset_add_key(ks, (unsigned)db, argv[idx[i]].ptr, argv[idx[i]].len);
    return db;
}

static int sortroGetKeys(const resp_arg *argv, int argc, int *keys, int max);
static int sortKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    return sortKeysetGeneric(ks, argv, argc, db, sortGetKeys);
}
static int sortroKeyset(cmd_keyset *ks, const resp_arg *argv, int argc, int db) {
    return sortKeysetGeneric(ks, argv, argc, db, sortroGetKeys);
}

static int sortroGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    (void)argv;
    (void)argc;
    if (max < 1) return 0;
    keys[0] = 1;
    return 1;
}

#define SORT_COMPLEXITY                                                                           \
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "    \
    "number of returned elements. When the elements are not sorted, complexity is O(N)."

command sort_commands[] = {
    {.name = "sort", .proc = sortCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS,
     .key_first = 1, .key_last = 1, .key_step = 1, .getkeys = sortGetKeys, .keyset = sortKeyset,
     .key_flags = "RO access|RO access|OW update", .group = "generic", .since = "1.0.0",
     .complexity = SORT_COMPLEXITY,
     .summary = "Sorts a list, set or sorted set, optionally storing the result."},
    {.name = "sort_ro", .proc = sortroCommand, .arity = -2,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS,
     .key_first = 1, .key_last = 1, .key_step = 1, .getkeys = sortroGetKeys, .keyset = sortroKeyset,
     .key_flags = "RO access|RO access", .group = "generic", .since = "7.0.0",
     .complexity = SORT_COMPLEXITY, .summary = "Sorts a list, set or sorted set."},
    {0},
};
