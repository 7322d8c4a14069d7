/*
 * t_zset: the sorted-set commands — ZADD and ZINCRBY, removal (ZREM,
 * ZREMRANGEBY*, ZPOPMIN/MAX, ZMPOP), reads (ZSCORE, ZMSCORE, ZCARD, ZCOUNT,
 * ZLEXCOUNT, ZRANK, ZREVRANK, ZRANDMEMBER, ZSCAN), the range family (ZRANGE
 * with BYSCORE/BYLEX/REV/LIMIT, ZRANGESTORE and the legacy ZREVRANGE,
 * Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX) and the set operations (ZUNION,
 * ZINTER, ZDIFF, their STORE forms, ZINTERCARD) — with Redis 7.0.15's
 * replies, errors and error order (Redis's t_zset.c is the reference).
 *
 * Ranges are computed as rank intervals: a score or lex bound becomes "the
 * number of members before it" (zset_count_before, O(log n) on the B+tree),
 * so a range is [lo, hi) of ranks and LIMIT, REV and counting are rank
 * arithmetic. Each handler is one engine transaction over its keys; every
 * mutation goes through ks_obj_mutable() and a set that becomes empty is
 * deleted, as Redis does. Set-operation sources may be plain sets (score 1).
 *
 * Popping is genericZpopCommand; the blocking BZPOPMIN/BZPOPMAX/BZMPOP call
 * it once a key has members, and otherwise block (blocking.h) until one
 * does, logging their non-blocking form.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/random.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/setobj.h"
#include "engine/zsetobj.h"
#include "server/cmd/notify.h"
#include "server/cmd/args.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"


/* Longest argument parsed as a number through a C-string copy on the stack;
 * longer ones use the heap (strtod reads any length). */
#define NUM_STACK_BUF 128

/* ---- Lookups -------------------------------------------------------------------- */

/* *out is key's zset or NULL when absent; WRONGTYPE replied (-1) for
 * another type. */
static int lookupZsetOrReply(client *c, ks_txn *txn, const resp_arg *key, zset **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    *out = NULL;
    if (!e) return 0;
    if (ks_entry_type(e) != KS_TYPE_ZSET) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = ks_entry_obj(e);
    return 0;
}

static zset *zsetMutable(client *c, ks_txn *txn, const resp_arg *key) {
    return ks_obj_mutable(txn, (unsigned)c->db, key->ptr, key->len);
}

/* Deletes key when z became empty (Redis never keeps an empty zset). */
static void deleteIfEmpty(client *c, ks_txn *txn, const resp_arg *key, zset *z) {
    if (zset_len(z) == 0) {
        ks_delete(txn, (unsigned)c->db, key->ptr, key->len);
        notify_key(NOTIFY_GENERIC, "del", key, c->db);
    }
}

/* Stores out at dst (*STORE commands): "new" when dst did not exist, then
 * event. */
static void storeZset(client *c, ks_txn *txn, const resp_arg *dst, zset *out,
                      const char *event) {
    unsigned db = (unsigned)c->db;
    int existed = (notify_flags & NOTIFY_NEW) &&
                  ks_lookup(txn, db, dst->ptr, dst->len, KS_LOOKUP_NOTOUCH) != NULL;
    ks_set_obj(txn, db, dst->ptr, dst->len, KS_TYPE_ZSET, out, KS_EXPIRE_NONE);
    if (!existed) notify_key(NOTIFY_NEW, "new", dst, c->db);
    notify_key(NOTIFY_ZSET, event, dst, c->db);
}

/* An empty *STORE result deletes dst. */
static void storeEmpty(client *c, ks_txn *txn, const resp_arg *dst) {
    if (ks_delete(txn, (unsigned)c->db, dst->ptr, dst->len) == LT_OK)
        notify_key(NOTIFY_GENERIC, "del", dst, c->db);
}

/* ---- Number parsing -------------------------------------------------------------- */

/* Runs fn over a NUL-terminated copy of a (stack when short). */
static char *cstrCopy(const resp_arg *a, char *stackbuf) {
    char *s = a->len < NUM_STACK_BUF ? stackbuf : lt_xmalloc(a->len + 1);
    memcpy(s, a->ptr, a->len);
    s[a->len] = '\0';
    return s;
}

/* Redis's string2d: the whole argument is a double (strtod), no leading
 * space, not NaN, no overflow or underflow to zero. */
static int parseDouble(const resp_arg *a, double *d) {
    char sb[NUM_STACK_BUF];
    if (a->len == 0) return 0;
    char *s = cstrCopy(a, sb), *eptr;
    errno = 0;
    double v = strtod(s, &eptr);
    int ok = !isspace((unsigned char)s[0]) && (size_t)(eptr - s) == a->len &&
             !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) &&
             !isnan(v);
    if (s != sb) free(s);
    if (ok) *d = v;
    return ok;
}

static int parseDoubleOrReply(client *c, const resp_arg *a, double *d, const char *msg) {
    if (parseDouble(a, d)) return 0;
    addReplyError(c, msg ? msg : "ERR value is not a valid float");
    return -1;
}


/* Redis's getPositiveLongFromObjectOrReply. */
static int positiveLongOrReply(client *c, const resp_arg *a, long long *v, const char *msg) {
    return arg_range_ll_or_reply(c, a, 0, LLONG_MAX, v,
                            msg ? msg : "ERR value is out of range, must be positive");
}

/* ---- Ranges ------------------------------------------------------------------------ */

typedef struct score_range {
    double min, max;
    int minex, maxex;
} score_range;

/* One bound of zslParseRange: strtod over the C string (text after an
 * embedded NUL ignored, "" is 0, leading space allowed), "(" exclusive. */
static int parseScoreBound(const resp_arg *a, double *d, int *ex) {
    char sb[NUM_STACK_BUF];
    char *s = cstrCopy(a, sb), *p = s, *eptr;
    *ex = 0;
    if (p[0] == '(') {
        *ex = 1;
        p++;
    }
    *d = strtod(p, &eptr);
    int ok = eptr[0] == '\0' && !isnan(*d);
    if (s != sb) free(s);
    return ok;
}

static int parseScoreRange(const resp_arg *min, const resp_arg *max, score_range *r) {
    return parseScoreBound(min, &r->min, &r->minex) && parseScoreBound(max, &r->max, &r->maxex);
}

/* Lex bound: "-" / "+" the extremes, "[x" inclusive, "(x" exclusive. */
typedef struct lex_bound {
    int kind; /* -1: "-", 1: "+", 0: a value */
    int ex;
    const char *p;
    size_t len;
} lex_bound;

typedef struct lex_range {
    lex_bound min, max;
} lex_range;

static int parseLexBound(const resp_arg *a, lex_bound *b) {
    if (a->len == 0) return 0;
    b->ex = 0;
    b->kind = 0;
    switch (a->ptr[0]) {
    case '+':
    case '-':
        if (a->len > 1 && a->ptr[1] != '\0') return 0;
        b->kind = a->ptr[0] == '+' ? 1 : -1;
        return 1;
    case '(':
    case '[':
        b->ex = a->ptr[0] == '(';
        b->p = a->ptr + 1;
        b->len = a->len - 1;
        return 1;
    default:
        return 0;
    }
}

static int parseLexRange(const resp_arg *min, const resp_arg *max, lex_range *r) {
    return parseLexBound(min, &r->min) && parseLexBound(max, &r->max);
}

/* Before-predicates for zset_count_before. A bound with "after" set counts
 * the members <= the value, otherwise those < it. */
typedef struct score_cut {
    double v;
    int after;
} score_cut;

static int beforeScore(double score, const char *m, size_t len, void *ctx) {
    const score_cut *cut = ctx;
    return cut->after ? score <= cut->v : score < cut->v;
}

typedef struct lex_cut {
    const lex_bound *b;
    int after;
} lex_cut;

static int lexcmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t min = al < bl ? al : bl;
    int c = min ? memcmp(a, b, min) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

static int beforeLex(double score, const char *m, size_t len, void *ctx) {
    const lex_cut *cut = ctx;
    if (cut->b->kind == -1) return 0;
    if (cut->b->kind == 1) return 1;
    int c = lexcmp(m, len, cut->b->p, cut->b->len);
    return cut->after ? c <= 0 : c < 0;
}

/* The ranks [*lo, *hi) of members within a score range. */
static void scoreRangeRanks(const zset *z, const score_range *r, uint64_t *lo, uint64_t *hi) {
    score_cut a = {r->min, r->minex}, b = {r->max, !r->maxex};
    *lo = zset_count_before(z, beforeScore, &a);
    *hi = zset_count_before(z, beforeScore, &b);
    if (*hi < *lo) *hi = *lo;
}

static void lexRangeRanks(const zset *z, const lex_range *r, uint64_t *lo, uint64_t *hi) {
    lex_cut a = {&r->min, r->min.ex}, b = {&r->max, !r->max.ex};
    *lo = zset_count_before(z, beforeLex, &a);
    *hi = zset_count_before(z, beforeLex, &b);
    if (*hi < *lo) *hi = *lo;
}

/* ---- Replies ------------------------------------------------------------------------- */

/* Replies ranks [start, start+n) ascending, or descending from start when
 * rev, with scores when withscores (RESP2 flat, RESP3 pairs). */
static void replyRankRun(client *c, const zset *z, uint64_t start, uint64_t n, int rev,
                         int withscores) {
    addReplyArrayLen(c, (long long)(withscores && c->resp == 2 ? n * 2 : n));
    zset_iter it;
    if (n == 0 || !zset_iter_seek(&it, z, start)) return;
    for (uint64_t i = 0; i < n; i++) {
        const char *m;
        size_t len;
        double sc;
        zset_iter_get(&it, &m, &len, &sc);
        if (withscores && c->resp > 2) addReplyArrayLen(c, 2);
        addReplyBulk(c, m, len);
        if (withscores) addReplyDouble(c, sc);
        if (i + 1 < n) {
            int ok = rev ? zset_iter_prev(&it) : zset_iter_next(&it);
            (void)ok;
        }
    }
}

/* ---- ZADD / ZINCRBY --------------------------------------------------------------- */

/* Redis's zaddGenericCommand: options, then score-member pairs from
 * argv[2]; ZINCRBY is the same parser with INCR preset. */
static void zaddGenericCommand(client *c, int flags) {
    const resp_arg *key = &c->argv[1];
    int scoreidx = 2, ch = 0;
    while (scoreidx < c->argc) {
        const resp_arg *o = &c->argv[scoreidx];
        if (arg_is(o, "nx")) flags |= ZADD_IN_NX;
        else if (arg_is(o, "xx")) flags |= ZADD_IN_XX;
        else if (arg_is(o, "ch")) ch = 1;
        else if (arg_is(o, "incr")) flags |= ZADD_IN_INCR;
        else if (arg_is(o, "gt")) flags |= ZADD_IN_GT;
        else if (arg_is(o, "lt")) flags |= ZADD_IN_LT;
        else break;
        scoreidx++;
    }
    int incr = (flags & ZADD_IN_INCR) != 0, nx = (flags & ZADD_IN_NX) != 0,
        xx = (flags & ZADD_IN_XX) != 0, gt = (flags & ZADD_IN_GT) != 0,
        lt = (flags & ZADD_IN_LT) != 0;
    int elements = c->argc - scoreidx;
    if (elements % 2 || !elements) {
        addReplyErrorSyntax(c);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        addReplyError(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        addReplyError(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        addReplyError(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double score = 0;
    for (int j = 0; j < elements; j++)
        if (parseDoubleOrReply(c, &c->argv[scoreidx + j * 2], &score, NULL) < 0) return;

    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    long long added = 0, updated = 0, processed = 0;
    if (lookupZsetOrReply(c, &txn, key, &z) < 0) goto done;
    if (!z) {
        if (xx) goto reply;
        ks_set_obj(&txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_ZSET, zset_create(),
                   KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    z = zsetMutable(c, &txn, key);
    for (int j = 0; j < elements; j++) {
        const resp_arg *m = &c->argv[scoreidx + j * 2 + 1];
        double s, newscore = 0;
        parseDouble(&c->argv[scoreidx + j * 2], &s);
        int out;
        if (!zset_add(z, s, m->ptr, m->len, flags, &out, &newscore)) {
            addReplyError(c, "ERR resulting score is not a number (NaN)");
            deleteIfEmpty(c, &txn, key, z);
            goto done;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = newscore;
    }
    if (added || updated) notify_key(NOTIFY_ZSET, incr ? "zincr" : "zadd", key, c->db);
    deleteIfEmpty(c, &txn, key, z); /* XX/NX on a new key added nothing */
reply:
    if (incr) {
        if (processed) addReplyDouble(c, score);
        else addReplyNull(c);
    } else {
        addReplyLongLong(c, ch ? added + updated : added);
    }
done:
    ks_txn_commit(&txn);
}

static void zaddCommand(client *c) { zaddGenericCommand(c, 0); }
static void zincrbyCommand(client *c) { zaddGenericCommand(c, ZADD_IN_INCR); }

/* ---- Simple reads and removal ------------------------------------------------------ */

static void zremCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    long long deleted = 0;
    if (lookupZsetOrReply(c, &txn, key, &z) < 0) goto done;
    if (z) {
        z = zsetMutable(c, &txn, key);
        for (int j = 2; j < c->argc; j++) {
            deleted += zset_del(z, c->argv[j].ptr, c->argv[j].len);
            if (zset_len(z) == 0) break;
        }
        if (deleted) notify_key(NOTIFY_ZSET, "zrem", key, c->db);
        deleteIfEmpty(c, &txn, key, z);
    }
    addReplyLongLong(c, deleted);
done:
    ks_txn_commit(&txn);
}

static void zscoreCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    double sc;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        if (z && zset_score(z, c->argv[2].ptr, c->argv[2].len, &sc)) addReplyDouble(c, sc);
        else addReplyNull(c);
    }
    ks_txn_commit(&txn);
}

static void zmscoreCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        addReplyArrayLen(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            double sc;
            if (z && zset_score(z, c->argv[j].ptr, c->argv[j].len, &sc)) addReplyDouble(c, sc);
            else addReplyNull(c);
        }
    }
    ks_txn_commit(&txn);
}

static void zcardCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0)
        addReplyLongLong(c, z ? (long long)zset_len(z) : 0);
    ks_txn_commit(&txn);
}

static void zcountCommand(client *c) {
    score_range r;
    if (!parseScoreRange(&c->argv[2], &c->argv[3], &r)) {
        addReplyError(c, "ERR min or max is not a float");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        uint64_t lo = 0, hi = 0;
        if (z) scoreRangeRanks(z, &r, &lo, &hi);
        addReplyLongLong(c, (long long)(hi - lo));
    }
    ks_txn_commit(&txn);
}

static void zlexcountCommand(client *c) {
    lex_range r;
    if (!parseLexRange(&c->argv[2], &c->argv[3], &r)) {
        addReplyError(c, "ERR min or max not valid string range item");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        uint64_t lo = 0, hi = 0;
        if (z) lexRangeRanks(z, &r, &lo, &hi);
        addReplyLongLong(c, (long long)(hi - lo));
    }
    ks_txn_commit(&txn);
}

static void zrankGenericCommand(client *c, int reverse) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    uint64_t rank;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        if (z && zset_rank(z, c->argv[2].ptr, c->argv[2].len, reverse, &rank, NULL))
            addReplyLongLong(c, (long long)rank);
        else
            addReplyNull(c);
    }
    ks_txn_commit(&txn);
}

static void zrankCommand(client *c) { zrankGenericCommand(c, 0); }
static void zrevrankCommand(client *c) { zrankGenericCommand(c, 1); }

/* ---- ZREMRANGEBY* ------------------------------------------------------------------------ */

enum { ZRANGE_AUTO = 0, ZRANGE_RANK, ZRANGE_SCORE, ZRANGE_LEX };

static void zremrangeGenericCommand(client *c, int type) {
    const resp_arg *key = &c->argv[1];
    long long start = 0, end = 0;
    score_range sr;
    lex_range lr;
    if (type == ZRANGE_RANK) {
        if (arg_ll_or_reply(c, &c->argv[2], &start, NULL) < 0 ||
            arg_ll_or_reply(c, &c->argv[3], &end, NULL) < 0)
            return;
    } else if (type == ZRANGE_SCORE) {
        if (!parseScoreRange(&c->argv[2], &c->argv[3], &sr)) {
            addReplyError(c, "ERR min or max is not a float");
            return;
        }
    } else if (!parseLexRange(&c->argv[2], &c->argv[3], &lr)) {
        addReplyError(c, "ERR min or max not valid string range item");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, key, &z) < 0) goto done;
    if (!z) {
        addReplyLongLong(c, 0);
        goto done;
    }
    uint64_t lo, hi;
    if (type == ZRANGE_RANK) {
        long long llen = (long long)zset_len(z);
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen) {
            addReplyLongLong(c, 0);
            goto done;
        }
        if (end >= llen) end = llen - 1;
        lo = (uint64_t)start;
        hi = (uint64_t)end + 1;
    } else if (type == ZRANGE_SCORE) {
        scoreRangeRanks(z, &sr, &lo, &hi);
    } else {
        lexRangeRanks(z, &lr, &lo, &hi);
    }
    if (hi > lo) {
        z = zsetMutable(c, &txn, key);
        zset_delete_range(z, lo, hi - 1);
        notify_key(NOTIFY_ZSET,
                   type == ZRANGE_RANK    ? "zremrangebyrank"
                   : type == ZRANGE_SCORE ? "zremrangebyscore"
                                          : "zremrangebylex",
                   key, c->db);
        deleteIfEmpty(c, &txn, key, z);
    }
    addReplyLongLong(c, (long long)(hi - lo));
done:
    ks_txn_commit(&txn);
}

static void zremrangebyrankCommand(client *c) { zremrangeGenericCommand(c, ZRANGE_RANK); }
static void zremrangebyscoreCommand(client *c) { zremrangeGenericCommand(c, ZRANGE_SCORE); }
static void zremrangebylexCommand(client *c) { zremrangeGenericCommand(c, ZRANGE_LEX); }

/* ---- ZRANGE family ---------------------------------------------------------------------- */

enum { ZRANGE_DIR_AUTO = 0, ZRANGE_DIR_FORWARD, ZRANGE_DIR_REVERSE };

/* Stores ranks [start, start+n) of src (descending when rev) into dst as a
 * new zset (dst deleted when n is 0) and replies the count. */
static void storeRankRun(client *c, ks_txn *txn, const resp_arg *dst, const zset *src,
                         uint64_t start, uint64_t n, int rev) {
    if (n == 0) {
        storeEmpty(c, txn, dst);
        addReplyLongLong(c, 0);
        return;
    }
    zset *out = zset_create();
    zset_iter it;
    int ok = zset_iter_seek(&it, src, start);
    for (uint64_t i = 0; ok && i < n; i++) {
        const char *m;
        size_t len;
        double sc;
        int flags;
        zset_iter_get(&it, &m, &len, &sc);
        zset_add(out, sc, m, len, 0, &flags, NULL);
        ok = rev ? zset_iter_prev(&it) : zset_iter_next(&it);
    }
    storeZset(c, txn, dst, out, "zrangestore");
    addReplyLongLong(c, (long long)n);
}

/* Redis's zrangeGenericCommand: key at argv[argc_start], range bounds
 * after it, options after those; store: ZRANGESTORE (dst argv[1]). */
static void zrangeGenericCommand(client *c, int argc_start, int store, int type, int dir) {
    const resp_arg *key = &c->argv[argc_start];
    int minidx = argc_start + 1, maxidx = argc_start + 2;
    long long opt_start = 0, opt_end = 0, opt_offset = 0, opt_limit = -1;
    int withscores = 0;
    for (int j = argc_start + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const resp_arg *o = &c->argv[j];
        if (!store && arg_is(o, "withscores")) {
            withscores = 1;
        } else if (arg_is(o, "limit") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &opt_offset, NULL) < 0 ||
                arg_ll_or_reply(c, &c->argv[j + 2], &opt_limit, NULL) < 0)
                return;
            j += 2;
        } else if (dir == ZRANGE_DIR_AUTO && arg_is(o, "rev")) {
            dir = ZRANGE_DIR_REVERSE;
        } else if (type == ZRANGE_AUTO && arg_is(o, "bylex")) {
            type = ZRANGE_LEX;
        } else if (type == ZRANGE_AUTO && arg_is(o, "byscore")) {
            type = ZRANGE_SCORE;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (dir == ZRANGE_DIR_AUTO) dir = ZRANGE_DIR_FORWARD;
    if (type == ZRANGE_AUTO) type = ZRANGE_RANK;
    if (opt_limit != -1 && type == ZRANGE_RANK) {
        addReplyError(c, "ERR syntax error, LIMIT is only supported in combination with "
                         "either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == ZRANGE_LEX) {
        addReplyError(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    int rev = dir == ZRANGE_DIR_REVERSE;
    if (rev && type != ZRANGE_RANK) { /* the range is given as max, min */
        int t = maxidx;
        maxidx = minidx;
        minidx = t;
    }
    score_range sr;
    lex_range lr;
    if (type == ZRANGE_RANK) {
        if (arg_ll_or_reply(c, &c->argv[minidx], &opt_start, NULL) < 0 ||
            arg_ll_or_reply(c, &c->argv[maxidx], &opt_end, NULL) < 0)
            return;
    } else if (type == ZRANGE_SCORE) {
        if (!parseScoreRange(&c->argv[minidx], &c->argv[maxidx], &sr)) {
            addReplyError(c, "ERR min or max is not a float");
            return;
        }
    } else if (!parseLexRange(&c->argv[minidx], &c->argv[maxidx], &lr)) {
        addReplyError(c, "ERR min or max not valid string range item");
        return;
    }

    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, key, &z) < 0) goto done;
    uint64_t first = 0, n = 0; /* first rank emitted, count */
    if (z) {
        uint64_t len = zset_len(z);
        if (type == ZRANGE_RANK) {
            long long s = opt_start, e = opt_end, llen = (long long)len;
            if (s < 0) s = llen + s;
            if (e < 0) e = llen + e;
            if (s < 0) s = 0;
            if (!(s > e || s >= llen)) {
                if (e >= llen) e = llen - 1;
                n = (uint64_t)(e - s + 1);
                first = rev ? len - 1 - (uint64_t)s : (uint64_t)s;
            }
        } else {
            uint64_t lo, hi;
            if (type == ZRANGE_SCORE) scoreRangeRanks(z, &sr, &lo, &hi);
            else lexRangeRanks(z, &lr, &lo, &hi);
            /* A negative offset skips everything, a negative limit is none. */
            if (opt_offset >= 0 && (uint64_t)opt_offset < hi - lo) {
                uint64_t avail = hi - lo - (uint64_t)opt_offset;
                n = opt_limit < 0 || (uint64_t)opt_limit > avail ? avail : (uint64_t)opt_limit;
                first = rev ? hi - 1 - (uint64_t)opt_offset : lo + (uint64_t)opt_offset;
            }
        }
    }
    if (store) storeRankRun(c, &txn, &c->argv[1], z, first, n, rev);
    else replyRankRun(c, z, first, n, rev, withscores);
done:
    ks_txn_commit(&txn);
}

static void zrangeCommand(client *c) { zrangeGenericCommand(c, 1, 0, ZRANGE_AUTO, ZRANGE_DIR_AUTO); }
static void zrangestoreCommand(client *c) {
    zrangeGenericCommand(c, 2, 1, ZRANGE_AUTO, ZRANGE_DIR_AUTO);
}
static void zrevrangeCommand(client *c) {
    zrangeGenericCommand(c, 1, 0, ZRANGE_RANK, ZRANGE_DIR_REVERSE);
}
static void zrangebyscoreCommand(client *c) {
    zrangeGenericCommand(c, 1, 0, ZRANGE_SCORE, ZRANGE_DIR_FORWARD);
}
static void zrevrangebyscoreCommand(client *c) {
    zrangeGenericCommand(c, 1, 0, ZRANGE_SCORE, ZRANGE_DIR_REVERSE);
}
static void zrangebylexCommand(client *c) {
    zrangeGenericCommand(c, 1, 0, ZRANGE_LEX, ZRANGE_DIR_FORWARD);
}
static void zrevrangebylexCommand(client *c) {
    zrangeGenericCommand(c, 1, 0, ZRANGE_LEX, ZRANGE_DIR_REVERSE);
}

/* ---- Popping --------------------------------------------------------------------------- */

enum { ZSET_MIN = 0, ZSET_MAX = 1 };

/* Redis's genericZpopCommand, inside txn (which locks keys[0..nkeys)):
 * pops up to count (-1: one, flat reply) members from the first existing
 * key's min or max end. Reply shapes: emitkey adds the key (BZPOP*,
 * ZMPOP); use_nested_array gives [member, score] pairs (RESP3 ZPOP with
 * COUNT, ZMPOP). With no non-empty key: a null array when
 * reply_nil_when_empty, else an empty array. *deleted (may be NULL) tells
 * whether the key was deleted. The blocking variants call this once a key
 * has members. */
static void genericZpopCommand(client *c, ks_txn *txn, const resp_arg *keys, int nkeys, int where,
                               int emitkey, long long count, int use_nested_array,
                               int reply_nil_when_empty, int *deleted) {
    if (deleted) *deleted = 0;
    zset *z = NULL;
    const resp_arg *key = NULL;
    for (int i = 0; i < nkeys; i++) {
        key = &keys[i];
        if (lookupZsetOrReply(c, txn, key, &z) < 0) return;
        if (z) break;
    }
    if (!z) {
        if (reply_nil_when_empty) addReplyNullArray(c);
        else addReplyArrayLen(c, 0);
        return;
    }
    if (count == 0) {
        addReplyArrayLen(c, 0);
        return;
    }
    if (count == -1) count = 1;
    long long llen = (long long)zset_len(z);
    long long n = count > llen ? llen : count;
    if (!use_nested_array && !emitkey) {
        addReplyArrayLen(c, n * 2);
    } else if (use_nested_array && !emitkey) {
        addReplyArrayLen(c, n);
    } else if (!use_nested_array && emitkey) {
        addReplyArrayLen(c, n * 2 + 1);
        addReplyBulk(c, key->ptr, key->len);
    } else {
        /* ZMPOP / BZMPOP: logged as ZPOPMIN/ZPOPMAX key <count popped>, as
         * Redis propagates them. */
        char cnt[24];
        resp_arg log[3] = {{(char *)(where == ZSET_MIN ? "ZPOPMIN" : "ZPOPMAX"), 7}, *key,
                           {cnt, (size_t)snprintf(cnt, sizeof(cnt), "%lld", n)}};
        persist_rewrite(c, 3, log);
        addReplyArrayLen(c, 2);
        addReplyBulk(c, key->ptr, key->len);
        addReplyArrayLen(c, n);
    }
    z = zsetMutable(c, txn, key);
    for (long long i = 0; i < n; i++) {
        uint64_t rank = where == ZSET_MIN ? 0 : zset_len(z) - 1;
        zset_iter it;
        zset_iter_seek(&it, z, rank);
        const char *m;
        size_t len;
        double sc;
        zset_iter_get(&it, &m, &len, &sc);
        if (use_nested_array) addReplyArrayLen(c, 2);
        addReplyBulk(c, m, len);
        addReplyDouble(c, sc);
        zset_delete_range(z, rank, rank);
    }
    notify_key(NOTIFY_ZSET, where == ZSET_MIN ? "zpopmin" : "zpopmax", key, c->db);
    if (zset_len(z) == 0) {
        ks_delete(txn, (unsigned)c->db, key->ptr, key->len);
        notify_key(NOTIFY_GENERIC, "del", key, c->db);
        if (deleted) *deleted = 1;
    }
}

static void zpopMinMaxCommand(client *c, int where) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    long long count = -1;
    if (c->argc == 3 && positiveLongOrReply(c, &c->argv[2], &count, NULL) < 0) return;
    int nested = c->resp > 2 && count != -1;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    genericZpopCommand(c, &txn, &c->argv[1], 1, where, 0, count, nested, 0, NULL);
    ks_txn_commit(&txn);
}

static void zpopminCommand(client *c) { zpopMinMaxCommand(c, ZSET_MIN); }
static void zpopmaxCommand(client *c) { zpopMinMaxCommand(c, ZSET_MAX); }

/* numkeys as Redis's getkeys procs read it (atoi rules); 0 when out of
 * range. */
static int numkeysArg(const resp_arg *a, int avail) {
    const char *p = a->ptr, *end = p + a->len;
    while (p < end && isspace((unsigned char)*p)) p++;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+')) p++;
    long long num = 0;
    while (p < end && *p >= '0' && *p <= '9' && num <= INT_MAX) num = num * 10 + (*p++ - '0');
    if (neg) num = -num;
    return num < 1 || num > avail ? 0 : (int)num;
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
static int zmpopGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    if (argc < 2) return 0;
    int num = numkeysArg(&argv[1], argc - 2), n = 0;
    for (int i = 0; i < num && n < max; i++) keys[n++] = 2 + i;
    return n;
}

/* ZMPOP's and BZMPOP's arguments from argv[first] on (args.h). */
static int zmpopArgsOrReply(client *c, int first, long long *numkeys, int *where,
                            long long *count) {
    int end;
    if (arg_mpop_or_reply(c, first, "min", "max", &end, numkeys, count) < 0) return -1;
    *where = end == 0 ? ZSET_MIN : ZSET_MAX;
    return 0;
}

static void zmpopCommand(client *c) {
    long long numkeys, count;
    int where;
    if (zmpopArgsOrReply(c, 1, &numkeys, &where, &count) < 0) return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    genericZpopCommand(c, &txn, &c->argv[2], (int)numkeys, where, 1, count, 1, 1, NULL);
    ks_txn_commit(&txn);
}

/* ---- Blocking pops ----------------------------------------------------------------------- */

/* Redis's blockingGenericZpopCommand: pops from the first of keys holding
 * members — count -1 as [key, member, score] (BZPOPMIN/MAX, logged as
 * ZPOPMIN/MAX key), else up to count as [key, [[member, score] ...]]
 * (BZMPOP, logged by genericZpopCommand as ZPOPMIN/MAX key <count
 * popped>) — or blocks. A key of another
 * type replies WRONGTYPE, except in a re-run (skipped: Redis 7.0 serves
 * zset waiters from zset keys only). Inside EXEC an empty wait replies a
 * null array. */
static void blockingZpopGeneric(client *c, const resp_arg *keys, int nkeys, int where,
                                long long count, int64_t deadline_ms) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    int j;
    for (j = 0; j < nkeys; j++) {
        ks_entry *e = ks_lookup(&txn, (unsigned)c->db, keys[j].ptr, keys[j].len, 0);
        if (!e) continue;
        if (ks_entry_type(e) == KS_TYPE_ZSET) break;
        if (blocking_rerun(c)) continue;
        addReplyErrorWrongType(c);
        goto done;
    }
    if (j < nkeys) {
        if (count == -1) {
            resp_arg log[2] = {{(char *)(where == ZSET_MIN ? "ZPOPMIN" : "ZPOPMAX"), 7}, keys[j]};
            persist_rewrite(c, 2, log);
        }
        genericZpopCommand(c, &txn, &keys[j], 1, where, 1, count, count != -1, 0, NULL);
    } else if (blocking_allowed(c)) {
        blocking_block(c, keys, nkeys, deadline_ms);
    } else {
        addReplyNullArray(c);
    }
done:
    ks_txn_commit(&txn);
}

/* BZPOPMIN|BZPOPMAX key [key ...] timeout */
static void bzpopGenericCommand(client *c, int where) {
    int64_t deadline;
    if (blocking_timeout_or_reply(c, &c->argv[c->argc - 1], &deadline) < 0) return;
    blockingZpopGeneric(c, &c->argv[1], c->argc - 2, where, -1, deadline);
}

static void bzpopminCommand(client *c) { bzpopGenericCommand(c, ZSET_MIN); }
static void bzpopmaxCommand(client *c) { bzpopGenericCommand(c, ZSET_MAX); }

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP's
 * checks, the timeout last (Redis's order). */
static void bzmpopCommand(client *c) {
    long long numkeys, count;
    int where;
    if (zmpopArgsOrReply(c, 2, &numkeys, &where, &count) < 0) return;
    int64_t deadline;
    if (blocking_timeout_or_reply(c, &c->argv[1], &deadline) < 0) return;
    blockingZpopGeneric(c, &c->argv[3], (int)numkeys, where, count, deadline);
}

/* Keys of BZMPOP: ZMPOP's, one argument later. */
static int bzmpopGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    if (argc < 2) return 0;
    int n = zmpopGetKeys(argv + 1, argc - 1, keys, max);
    for (int i = 0; i < n; i++) keys[i]++;
    return n;
}

/* ---- ZRANDMEMBER ------------------------------------------------------------------------- */

static void replyMemberAt(client *c, const zset *z, uint64_t rank, int withscores) {
    zset_iter it;
    const char *m;
    size_t len;
    double sc;
    zset_iter_seek(&it, z, rank);
    zset_iter_get(&it, &m, &len, &sc);
    if (withscores && c->resp > 2) addReplyArrayLen(c, 2);
    addReplyBulk(c, m, len);
    if (withscores) addReplyDouble(c, sc);
}

/* Set of distinct ranks (open addressing, capacity a power of two > 2n). */
typedef struct rank_set {
    uint64_t *slot; /* rank + 1; 0 empty */
    uint64_t mask;
} rank_set;

static int rankSetAdd(rank_set *s, uint64_t r) {
    uint64_t i = (r * 0x9E3779B97F4A7C15ULL) & s->mask;
    while (s->slot[i]) {
        if (s->slot[i] == r + 1) return 0;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = r + 1;
    return 1;
}

static void zrandmemberWithCount(client *c, long long l, int withscores) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) < 0) goto done;
    if (!z || l == 0) {
        addReplyArrayLen(c, 0);
        goto done;
    }
    uint64_t size = zset_len(z), count = l < 0 ? (uint64_t)-l : (uint64_t)l;
    int pairs = withscores && c->resp == 2;
    if (l < 0 || count == 1) { /* repeats allowed */
        addReplyArrayLen(c, (long long)(pairs ? count * 2 : count));
        for (uint64_t i = 0; i < count; i++) replyMemberAt(c, z, lt_random_below(size), withscores);
        goto done;
    }
    if (count >= size) { /* the whole set, highest first (as Redis 7.0) */
        replyRankRun(c, z, size - 1, size, 1, withscores);
        goto done;
    }
    /* count distinct ranks (Floyd's sampling), replied in pick order. */
    rank_set s;
    uint64_t cap = 4;
    while (cap < count * 2) cap <<= 1;
    s.slot = lt_xcalloc(cap, sizeof(uint64_t));
    s.mask = cap - 1;
    addReplyArrayLen(c, (long long)(pairs ? count * 2 : count));
    for (uint64_t j = size - count; j < size; j++) {
        uint64_t t = lt_random_below(j + 1);
        if (!rankSetAdd(&s, t)) {
            rankSetAdd(&s, j);
            t = j;
        }
        replyMemberAt(c, z, t, withscores);
    }
    free(s.slot);
done:
    ks_txn_commit(&txn);
}

static void zrandmemberCommand(client *c) {
    if (c->argc >= 3) {
        long long l;
        int withscores = 0;
        if (arg_range_ll_or_reply(c, &c->argv[2], -LLONG_MAX, LLONG_MAX, &l, NULL) < 0) return;
        if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3], "withscores"))) {
            addReplyErrorSyntax(c);
            return;
        } else if (c->argc == 4) {
            withscores = 1;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                addReplyError(c, "ERR value is out of range");
                return;
            }
        }
        zrandmemberWithCount(c, l, withscores);
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) == 0) {
        if (!z) addReplyNull(c);
        else replyMemberAt(c, z, lt_random_below(zset_len(z)), 0);
    }
    ks_txn_commit(&txn);
}

/* ---- ZUNION / ZINTER / ZDIFF --------------------------------------------------------------- */

enum { SET_OP_UNION, SET_OP_INTER, SET_OP_DIFF };
enum { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* One input: a zset, a plain set (scores 1), or absent (empty). */
typedef struct zsrc {
    const zset *z;
    const setobj *s;
    double weight;
    uint64_t len;
} zsrc;

static int srcFind(const zsrc *src, const char *m, size_t len, double *score) {
    if (src->z) return zset_score(src->z, m, len, score);
    if (src->s && setobj_contains(src->s, m, len)) {
        *score = 1.0;
        return 1;
    }
    return 0;
}

/* Calls fn for every member of src with its score. */
typedef void src_member_fn(void *ctx, const char *m, size_t len, double score);
static void srcForEach(const zsrc *src, src_member_fn *fn, void *ctx) {
    if (src->z) {
        zset_iter it;
        if (!zset_iter_seek(&it, src->z, 0)) return;
        do {
            const char *m;
            size_t len;
            double sc;
            zset_iter_get(&it, &m, &len, &sc);
            fn(ctx, m, len, sc);
        } while (zset_iter_next(&it));
    } else if (src->s) {
        setobj_iter it;
        setobj_elem e;
        setobj_iter_init(&it, src->s);
        while (setobj_iter_next(&it, &e)) fn(ctx, e.ptr, e.len, 1.0);
    }
}

static void aggregate(double *target, double val, int aggr) {
    if (aggr == AGGR_SUM) {
        *target = *target + val;
        if (isnan(*target)) *target = 0.0;
    } else if (aggr == AGGR_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

typedef struct setop_ctx {
    zsrc *src;
    int nsrc, op, aggr;
    double weight; /* union: weight of the input being added */
    zset *out;
    uint64_t card, limit;
    int stop;
} setop_ctx;

static void unionMember(void *ctx, const char *m, size_t len, double sc) {
    setop_ctx *x = ctx;
    double score = x->weight * sc, cur;
    if (isnan(score)) score = 0;
    int flags;
    if (zset_score(x->out, m, len, &cur)) {
        aggregate(&cur, score, x->aggr);
        score = cur;
    }
    zset_add(x->out, score, m, len, 0, &flags, NULL);
}

static void interMember(void *ctx, const char *m, size_t len, double sc) {
    setop_ctx *x = ctx;
    if (x->stop) return;
    double score = x->src[0].weight * sc, value;
    if (isnan(score)) score = 0;
    for (int j = 1; j < x->nsrc; j++) {
        if (!srcFind(&x->src[j], m, len, &value)) return;
        value *= x->src[j].weight;
        aggregate(&score, value, x->aggr);
    }
    if (!x->out) {
        x->card++;
        if (x->limit && x->card >= x->limit) x->stop = 1;
        return;
    }
    int flags;
    zset_add(x->out, score, m, len, 0, &flags, NULL);
}

static void diffMember(void *ctx, const char *m, size_t len, double sc) {
    setop_ctx *x = ctx;
    double value;
    for (int j = 1; j < x->nsrc; j++)
        if (srcFind(&x->src[j], m, len, &value)) return;
    int flags;
    zset_add(x->out, sc, m, len, 0, &flags, NULL);
}

/* Keys of ZUNION/ZINTER/ZDIFF/ZINTERCARD (numkeys at argv[1]) and the
 * STORE forms (destination argv[1], numkeys at argv[2]). */
static int setopKeys(const resp_arg *argv, int argc, int *keys, int max, int first) {
    if (argc <= first) return 0;
    int num = numkeysArg(&argv[first], argc - first - 1), n = 0;
    if (first == 2 && num > 0 && n < max) keys[n++] = 1;
    for (int i = 0; i < num && n < max; i++) keys[n++] = first + 1 + i;
    return n;
}
static int zsetopGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    return setopKeys(argv, argc, keys, max, 1);
}
static int zsetopStoreGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    return setopKeys(argv, argc, keys, max, 2);
}

/* Redis's zunionInterDiffGenericCommand: dstkey NULL for the reply forms,
 * numkeys at argv[numkeys_idx]; cardinality_only for ZINTERCARD. */
static void zsetopGenericCommand(client *c, const resp_arg *dstkey, int numkeys_idx, int op,
                                 int cardinality_only) {
    long long setnum;
    if (arg_ll_or_reply(c, &c->argv[numkeys_idx], &setnum, NULL) < 0) return;
    if (setnum < 1) {
        addReplyErrorFormat(c, "ERR at least 1 input key is needed for '%s' command",
                            c->cmd->fullname);
        return;
    }
    if (setnum > c->argc - (numkeys_idx + 1)) {
        addReplyErrorSyntax(c);
        return;
    }
    int nsrc = (int)setnum, aggr = AGGR_SUM, withscores = 0;
    long long limit = 0;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zsrc *src = lt_xcalloc((size_t)nsrc, sizeof(zsrc));
    zset *out = NULL;
    int j = numkeys_idx + 1;
    for (int i = 0; i < nsrc; i++, j++) {
        ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[j].ptr, c->argv[j].len, 0);
        src[i].weight = 1.0;
        if (!e) continue;
        if (ks_entry_type(e) == KS_TYPE_ZSET) {
            src[i].z = ks_entry_obj(e);
            src[i].len = zset_len(src[i].z);
        } else if (ks_entry_type(e) == KS_TYPE_SET) {
            src[i].s = ks_entry_obj(e);
            src[i].len = setobj_size(src[i].s);
        } else {
            addReplyErrorWrongType(c);
            goto done;
        }
    }
    while (j < c->argc) {
        int remaining = c->argc - j;
        const resp_arg *o = &c->argv[j];
        if (op != SET_OP_DIFF && !cardinality_only && remaining >= nsrc + 1 &&
            arg_is(o, "weights")) {
            j++;
            for (int i = 0; i < nsrc; i++, j++)
                if (parseDoubleOrReply(c, &c->argv[j], &src[i].weight,
                                       "ERR weight value is not a float") < 0)
                    goto done;
        } else if (op != SET_OP_DIFF && !cardinality_only && remaining >= 2 &&
                   arg_is(o, "aggregate")) {
            const resp_arg *a = &c->argv[j + 1];
            if (arg_is(a, "sum")) aggr = AGGR_SUM;
            else if (arg_is(a, "min")) aggr = AGGR_MIN;
            else if (arg_is(a, "max")) aggr = AGGR_MAX;
            else {
                addReplyErrorSyntax(c);
                goto done;
            }
            j += 2;
        } else if (!dstkey && !cardinality_only && arg_is(o, "withscores")) {
            j++;
            withscores = 1;
        } else if (cardinality_only && remaining >= 2 && arg_is(o, "limit")) {
            if (positiveLongOrReply(c, &c->argv[j + 1], &limit, "ERR LIMIT can't be negative") < 0)
                goto done;
            j += 2;
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    /* Inputs by ascending size (stable, as Redis's qsort on glibc), the
     * first input of a difference staying first. */
    for (int a = op == SET_OP_DIFF ? 2 : 1; a < nsrc; a++) {
        zsrc t = src[a];
        int b = a;
        while (b > (op == SET_OP_DIFF ? 1 : 0) &&
               (op == SET_OP_DIFF ? src[b - 1].len < t.len : src[b - 1].len > t.len)) {
            src[b] = src[b - 1];
            b--;
        }
        src[b] = t;
    }
    setop_ctx x = {src, nsrc, op, aggr, 1.0, NULL, 0, (uint64_t)limit, 0};
    if (!cardinality_only) out = x.out = zset_create_skiplist(nsrc ? src[nsrc - 1].len : 0);
    if (op == SET_OP_UNION) {
        for (int i = 0; i < nsrc; i++) {
            x.weight = src[i].weight;
            srcForEach(&src[i], unionMember, &x);
        }
    } else if (op == SET_OP_INTER) {
        if (src[0].len > 0) srcForEach(&src[0], interMember, &x);
    } else {
        if (src[0].len > 0) srcForEach(&src[0], diffMember, &x);
    }
    if (dstkey) {
        if (zset_len(out)) {
            zset_shrink_if_small(out);
            addReplyLongLong(c, (long long)zset_len(out));
            storeZset(c, &txn, dstkey, out,
                      op == SET_OP_UNION   ? "zunionstore"
                      : op == SET_OP_INTER ? "zinterstore"
                                           : "zdiffstore");
            out = NULL;
        } else {
            addReplyLongLong(c, 0);
            storeEmpty(c, &txn, dstkey);
        }
    } else if (cardinality_only) {
        addReplyLongLong(c, (long long)x.card);
    } else {
        replyRankRun(c, out, 0, zset_len(out), 0, withscores);
    }
done:
    zset_free(out);
    free(src);
    ks_txn_commit(&txn);
}

static void zunionCommand(client *c) { zsetopGenericCommand(c, NULL, 1, SET_OP_UNION, 0); }
static void zinterCommand(client *c) { zsetopGenericCommand(c, NULL, 1, SET_OP_INTER, 0); }
static void zdiffCommand(client *c) { zsetopGenericCommand(c, NULL, 1, SET_OP_DIFF, 0); }
static void zintercardCommand(client *c) { zsetopGenericCommand(c, NULL, 1, SET_OP_INTER, 1); }
static void zunionstoreCommand(client *c) {
    zsetopGenericCommand(c, &c->argv[1], 2, SET_OP_UNION, 0);
}
static void zinterstoreCommand(client *c) {
    zsetopGenericCommand(c, &c->argv[1], 2, SET_OP_INTER, 0);
}
static void zdiffstoreCommand(client *c) {
    zsetopGenericCommand(c, &c->argv[1], 2, SET_OP_DIFF, 0);
}

/* ---- ZSCAN ------------------------------------------------------------------------------------ */

/* Redis's d2string: integral values within +-LLONG_MAX/2 as integers
 * (double2ll), else %.17g; "inf"/"-inf"; zero as "0" or "-0". */
static size_t d2string(char *buf, size_t len, double v) {
    if (isinf(v)) return (size_t)snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
    if (v == 0) return (size_t)snprintf(buf, len, "%s", signbit(v) ? "-0" : "0");
    if (v >= (double)(-LLONG_MAX / 2) && v <= (double)(LLONG_MAX / 2) &&
        v == (double)(long long)v)
        return lt_ll2string(buf, len, (long long)v);
    return (size_t)snprintf(buf, len, "%.17g", v);
}

/* Pairs collected by one ZSCAN call: [size_t len][bytes] records. */
typedef struct zscan_ctx {
    const char *pat;
    size_t patlen;
    int use_pattern;
    char *buf;
    size_t used, cap;
    long long n; /* members kept */
    long long seen;
} zscan_ctx;

static void zscanKeep(zscan_ctx *s, const char *p, size_t len) {
    size_t need = s->used + sizeof(size_t) + len;
    if (need > s->cap) {
        s->cap = need > s->cap * 2 ? need : s->cap * 2;
        s->buf = lt_xrealloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->used, &len, sizeof(size_t));
    memcpy(s->buf + s->used + sizeof(size_t), p, len);
    s->used = need;
}

static void zscanOnMember(void *ctx, const char *m, size_t len, double score) {
    zscan_ctx *s = ctx;
    s->seen++;
    if (s->use_pattern && !lt_stringmatchlen(s->pat, s->patlen, m, len, 0)) return;
    char buf[64];
    size_t sl = d2string(buf, sizeof buf, score);
    zscanKeep(s, m, len);
    zscanKeep(s, buf, sl);
    s->n++;
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor first, then
 * the key (a missing key answers an empty scan whatever the options), then
 * the options. Listpack sets answer everything at once with cursor 0. */
static void zscanCommand(client *c) {
    uint64_t cursor;
    if (!keys_parse_cursor(c->argv[2].ptr, c->argv[2].len, &cursor)) {
        addReplyError(c, "ERR invalid cursor");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zscan_ctx s = {0};
    zset *z;
    if (lookupZsetOrReply(c, &txn, &c->argv[1], &z) < 0) goto done;
    if (!z) {
        addReplyArrayLen(c, 2);
        addReplyBulk(c, "0", 1);
        addReplyArrayLen(c, 0);
        goto done;
    }
    long long count = 10;
    for (int i = 3; i < c->argc; i += 2) {
        int left = c->argc - i;
        if (arg_is(&c->argv[i], "count") && left >= 2) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &count, NULL) < 0) goto done;
            if (count < 1) {
                addReplyErrorSyntax(c);
                goto done;
            }
        } else if (arg_is(&c->argv[i], "match") && left >= 2) {
            s.pat = c->argv[i + 1].ptr;
            s.patlen = c->argv[i + 1].len;
            s.use_pattern = !(s.patlen == 1 && s.pat[0] == '*');
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    if (zset_encoding(z) == ZSET_ENC_LISTPACK) {
        zset_iter it;
        if (zset_iter_seek(&it, z, 0)) {
            do {
                const char *m;
                size_t len;
                double sc;
                zset_iter_get(&it, &m, &len, &sc);
                zscanOnMember(&s, m, len, sc);
            } while (zset_iter_next(&it));
        }
        cursor = 0;
    } else {
        /* Redis's bound: stop after count members or 10*count buckets. */
        long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = zset_scan(z, cursor, zscanOnMember, &s);
        } while (cursor && maxiter-- && s.seen < count);
    }
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, (long long)cursor);
    addReplyArrayLen(c, s.n * 2);
    for (size_t off = 0; off < s.used;) {
        size_t len;
        memcpy(&len, s.buf + off, sizeof(size_t));
        addReplyBulk(c, s.buf + off + sizeof(size_t), len);
        off += sizeof(size_t) + len;
    }
done:
    free(s.buf);
    ks_txn_commit(&txn);
}

/* ---- Command table ------------------------------------------------------------------------------ */

command zset_commands[] = {
    {.name = "zadd", .proc = zaddCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(log N) per member",
     .summary = "Adds members to a sorted set, or updates their scores."},
    {.name = "zincrby", .proc = zincrbyCommand, .arity = 4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW access update",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(log N)",
     .summary = "Increments the score of a member of a sorted set."},
    {.name = "zrem", .proc = zremCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(M log N): M members removed",
     .summary = "Removes members from a sorted set."},
    {.name = "zscore", .proc = zscoreCommand, .arity = 3,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(1)",
     .summary = "Returns the score of a member of a sorted set."},
    {.name = "zmscore", .proc = zmscoreCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(N): N members asked",
     .summary = "Returns the scores of several members of a sorted set."},
    {.name = "zcard", .proc = zcardCommand, .arity = 2,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(1)",
     .summary = "Returns the number of members of a sorted set."},
    {.name = "zcount", .proc = zcountCommand, .arity = 4,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(log N)",
     .summary = "Counts the members of a sorted set within a score range."},
    {.name = "zlexcount", .proc = zlexcountCommand, .arity = 4,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.8.9",
     .complexity = "O(log N)",
     .summary = "Counts the members of a sorted set within a lexicographical range."},
    {.name = "zrange", .proc = zrangeCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a range of ranks, scores or members."},
    {.name = "zrangestore", .proc = zrangestoreCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 2, .key_step = 1, .key_flags = "OW update|RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(log N + M): M members stored",
     .summary = "Stores a range of members of a sorted set in another key."},
    {.name = "zrevrange", .proc = zrevrangeCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a range of ranks, highest first."},
    {.name = "zrangebyscore", .proc = zrangebyscoreCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "1.0.5",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a score range."},
    {.name = "zrevrangebyscore", .proc = zrevrangebyscoreCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.2.0",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a score range, highest first."},
    {.name = "zrangebylex", .proc = zrangebylexCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.8.9",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a lexicographical range."},
    {.name = "zrevrangebylex", .proc = zrevrangebylexCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.8.9",
     .complexity = "O(log N + M): M members returned",
     .summary = "Returns members of a sorted set within a lexicographical range, in reverse."},
    {.name = "zrank", .proc = zrankCommand, .arity = 3,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(log N)",
     .summary = "Returns the rank of a member of a sorted set, lowest score first."},
    {.name = "zrevrank", .proc = zrevrankCommand, .arity = 3,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(log N)",
     .summary = "Returns the rank of a member of a sorted set, highest score first."},
    {.name = "zremrangebyrank", .proc = zremrangebyrankCommand, .arity = 4,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(log N + M): M members removed",
     .summary = "Removes the members of a sorted set within a range of ranks."},
    {.name = "zremrangebyscore", .proc = zremrangebyscoreCommand, .arity = 4,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "sorted-set", .since = "1.2.0",
     .complexity = "O(log N + M): M members removed",
     .summary = "Removes the members of a sorted set within a score range."},
    {.name = "zremrangebylex", .proc = zremrangebylexCommand, .arity = 4,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "sorted-set", .since = "2.8.9",
     .complexity = "O(log N + M): M members removed",
     .summary = "Removes the members of a sorted set within a lexicographical range."},
    {.name = "zpopmin", .proc = zpopminCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW access delete",
     .group = "sorted-set", .since = "5.0.0",
     .complexity = "O(M log N): M members popped",
     .summary = "Removes and returns the members with the lowest scores."},
    {.name = "zpopmax", .proc = zpopmaxCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW access delete",
     .group = "sorted-set", .since = "5.0.0",
     .complexity = "O(M log N): M members popped",
     .summary = "Removes and returns the members with the highest scores."},
    {.name = "zmpop", .proc = zmpopCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW, .getkeys = zmpopGetKeys,
     .key_flags = "RW access delete",
     .group = "sorted-set", .since = "7.0.0",
     .complexity = "O(K + M log N): K keys, M members popped",
     .summary = "Pops members from the first non-empty sorted set of several."},
    {.name = "bzpopmin", .proc = bzpopminCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST | ACL_BLOCKING,
     .key_first = 1, .key_last = -2, .key_step = 1, .key_flags = "RW access delete",
     .group = "sorted-set", .since = "5.0.0",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .summary = "Pops the lowest-scored member of the first non-empty sorted set, or blocks."},
    {.name = "bzpopmax", .proc = bzpopmaxCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_NOSCRIPT | CMD_BLOCKING | CMD_FAST,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_FAST | ACL_BLOCKING,
     .key_first = 1, .key_last = -2, .key_step = 1, .key_flags = "RW access delete",
     .group = "sorted-set", .since = "5.0.0",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .summary = "Pops the highest-scored member of the first non-empty sorted set, or blocks."},
    {.name = "bzmpop", .proc = bzmpopCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW | ACL_BLOCKING, .getkeys = bzmpopGetKeys,
     .key_flags = "RW access delete", .group = "sorted-set", .since = "7.0.0",
     .complexity = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                   "number of elements in the sorted set, and M being the number of elements "
                   "popped.",
     .summary = "ZMPOP that blocks until one of the sorted sets has members."},
    {.name = "zrandmember", .proc = zrandmemberCommand, .arity = -2,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(M log N): M members returned",
     .tips = "nondeterministic_output",
     .summary = "Returns random members of a sorted set."},
    {.name = "zunion", .proc = zunionCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopGetKeys,
     .key_flags = "RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(N + M log M): N input members, M in the result",
     .summary = "Returns the union of sorted sets."},
    {.name = "zunionstore", .proc = zunionstoreCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopStoreGetKeys,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "OW update|RO access",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(N + M log M): N input members, M in the result",
     .summary = "Stores the union of sorted sets in a key."},
    {.name = "zinter", .proc = zinterCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopGetKeys,
     .key_flags = "RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(N*K + M log M): N smallest input, K inputs, M in the result",
     .summary = "Returns the intersection of sorted sets."},
    {.name = "zinterstore", .proc = zinterstoreCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopStoreGetKeys,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "OW update|RO access",
     .group = "sorted-set", .since = "2.0.0",
     .complexity = "O(N*K + M log M): N smallest input, K inputs, M in the result",
     .summary = "Stores the intersection of sorted sets in a key."},
    {.name = "zintercard", .proc = zintercardCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopGetKeys,
     .key_flags = "RO access",
     .group = "sorted-set", .since = "7.0.0",
     .complexity = "O(N*K): N smallest input, K inputs",
     .summary = "Returns the number of members in the intersection of sorted sets."},
    {.name = "zdiff", .proc = zdiffCommand, .arity = -3,
     .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopGetKeys,
     .key_flags = "RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(L + M log M): L input members, M in the result",
     .summary = "Returns the difference between the first sorted set and the others."},
    {.name = "zdiffstore", .proc = zdiffstoreCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_SORTEDSET | ACL_SLOW, .getkeys = zsetopStoreGetKeys,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "OW update|RO access",
     .group = "sorted-set", .since = "6.2.0",
     .complexity = "O(L + M log M): L input members, M in the result",
     .summary = "Stores the difference between the first sorted set and the others in a key."},
    {.name = "zscan", .proc = zscanCommand, .arity = -3,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_SORTEDSET | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "sorted-set", .since = "2.8.0",
     .complexity = "O(1) per call, O(N) for a full iteration",
     .tips = "nondeterministic_output",
     .summary = "Iterates over the members and scores of a sorted set."},
    {0},
};
