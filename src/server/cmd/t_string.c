/*
 * t_string: the string commands — GET, SET and its options, the counters
 * (INCR ... INCRBYFLOAT), ranges (GETRANGE, SETRANGE, APPEND), multi-key
 * MGET / MSET / MSETNX and LCS — with Redis 7.0.15's replies, errors and
 * their order (t_string.c of Redis is the reference for every branch).
 *
 * Each handler runs as one engine transaction over its keys
 * (engine_begin_cmd) and replies from inside it: entry pointers are only
 * read before the next write of the same command. The one exception is LCS,
 * whose O(N*M) work runs on copies after the transaction committed, so no
 * shard stays locked during it.
 *
 * Encodings follow Redis: SET/APPEND of a new key/INCR store int-encodable
 * values as "int"; INCRBYFLOAT stores its text (never "int"); SETRANGE and
 * APPEND on an existing key leave a raw string (the engine's in-place path).
 *
 * Also defines the two pure helpers of Redis's long double handling,
 * string_ld2str() and string_str2ld() (t_string.h, unit-tested).
 */
#include "server/cmd/notify.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/t_string.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"

/* Redis's MAX_LONG_DOUBLE_CHARS: longest text of a long double parsed or
 * produced ("%.17Lf" of LDBL_MAX is ~4950 bytes). */
#define LD_STR_MAX (5 * 1024)

/* ---- Pure helpers ---------------------------------------------------------- */

/* Redis's ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros after the point
 * and then the point itself removed, "-0" turned into "0"; infinities as
 * "inf" / "-inf". Writes at most len bytes (NUL included); returns the
 * length, 0 (and buf "") if it does not fit. */
size_t string_ld2str(char *buf, size_t len, long double value) {
    size_t l;
    if (isinf(value)) {
        if (len < 5) goto err;
        l = value > 0 ? 3 : 4;
        memcpy(buf, value > 0 ? "inf" : "-inf", l);
    } else {
        int n = snprintf(buf, len, "%.17Lf", value);
        if (n < 0 || (size_t)n + 1 > len) goto err;
        l = (size_t)n;
        if (memchr(buf, '.', l) != NULL) {
            while (buf[l - 1] == '0') l--;
            if (buf[l - 1] == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
    }
    buf[l] = '\0';
    return l;
err:
    if (len > 0) buf[0] = '\0';
    return 0;
}

/* Redis's string2ld: strtold over a NUL-terminated copy of s[0..slen),
 * which must be consumed entirely (an embedded NUL fails); rejects empty or
 * too long input, leading space, trailing garbage, NaN, and overflow or
 * underflow to zero. Returns 1 and *dp on success, 0 otherwise. */
int string_str2ld(const char *s, size_t slen, long double *dp) {
    char buf[LD_STR_MAX];
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    char *eptr;
    errno = 0;
    long double value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != slen ||
        (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL ||
                             fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    *dp = value;
    return 1;
}

/* ---- Argument helpers --------------------------------------------------------- */

/* Longest value the engine stores (keyspace.h: 512 MiB); matters only when
 * proto-max-bulk-len is configured above it. */
#define STRING_MAX_BYTES ((long long)512 * 1024 * 1024)

/* Redis's checkStringLength: size + append must stay within
 * proto-max-bulk-len (and what the engine stores). Replies and returns -1
 * otherwise. */
static int checkStringLengthOrReply(client *c, long long size, long long append) {
    long long total = (long long)((uint64_t)size + (uint64_t)append);
    if (total > server.proto_max_bulk_len || total > STRING_MAX_BYTES || total < size ||
        total < append) {
        addReplyError(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return -1;
    }
    return 0;
}

/* Looks key up in c's database: *out is its entry or NULL if absent. If it
 * holds another type, replies WRONGTYPE and returns -1. */
int lookupStringOrReply(client *c, ks_txn *txn, const resp_arg *key,
                               ks_entry **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    if (e && ks_entry_type(e) != KS_TYPE_STRING) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = e;
    return 0;
}

static void addReplyEntryStr(client *c, const ks_entry *e) {
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const char *s = ks_entry_str(e, buf, &len);
    addReplyBulk(c, s, len);
}

/* Redis's getGenericCommand inside a txn: replies the value of key, nil
 * when absent; WRONGTYPE (and -1) for another type. */
static int getGenericCommand(client *c, ks_txn *txn) {
    ks_entry *e;
    if (lookupStringOrReply(c, txn, &c->argv[1], &e) < 0) return -1;
    if (e) addReplyEntryStr(c, e);
    else addReplyNull(c);
    return 0;
}

/* ---- SET family ------------------------------------------------------------ */

#define OBJ_SET_NX   (1 << 0)
#define OBJ_SET_XX   (1 << 1)
#define OBJ_SET_GET  (1 << 2)
#define OBJ_KEEPTTL  (1 << 3)
#define OBJ_PERSIST  (1 << 4)
#define OBJ_EX       (1 << 5)
#define OBJ_PX       (1 << 6)
#define OBJ_EXAT     (1 << 7)
#define OBJ_PXAT     (1 << 8)

enum { COMMAND_GET, COMMAND_SET };

/* Redis's parseExtendedStringArgumentsOrReply for SET (options from argv[3])
 * and GETEX (from argv[2]): the same combinations accepted and refused.
 * *expire is the argv index of the expire value, 0 when none. */
static int parseExtendedStringArgumentsOrReply(client *c, int *flags,
                                               int *expire, int command_type) {
    int j = command_type == COMMAND_GET ? 2 : 3;
    for (; j < c->argc; j++) {
        const resp_arg *opt = &c->argv[j];
        int next = j < c->argc - 1;
        int f = *flags;
        int is_set = command_type == COMMAND_SET;
        if (arg_is(opt, "nx") && !(f & OBJ_SET_XX) && is_set) {
            *flags |= OBJ_SET_NX;
        } else if (arg_is(opt, "xx") && !(f & OBJ_SET_NX) && is_set) {
            *flags |= OBJ_SET_XX;
        } else if (arg_is(opt, "get") && is_set) {
            *flags |= OBJ_SET_GET;
        } else if (arg_is(opt, "keepttl") && !(f & OBJ_PERSIST) &&
                   !(f & (OBJ_EX | OBJ_EXAT | OBJ_PX | OBJ_PXAT)) && is_set) {
            *flags |= OBJ_KEEPTTL;
        } else if (arg_is(opt, "persist") && !is_set &&
                   !(f & (OBJ_EX | OBJ_EXAT | OBJ_PX | OBJ_PXAT | OBJ_KEEPTTL))) {
            *flags |= OBJ_PERSIST;
        } else if (arg_is(opt, "ex") && next &&
                   !(f & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EXAT | OBJ_PX | OBJ_PXAT))) {
            *flags |= OBJ_EX;
            *expire = ++j;
        } else if (arg_is(opt, "px") && next &&
                   !(f & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PXAT))) {
            *flags |= OBJ_PX;
            *expire = ++j;
        } else if (arg_is(opt, "exat") && next &&
                   !(f & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_PX | OBJ_PXAT))) {
            *flags |= OBJ_EXAT;
            *expire = ++j;
        } else if (arg_is(opt, "pxat") && next &&
                   !(f & (OBJ_KEEPTTL | OBJ_PERSIST | OBJ_EX | OBJ_EXAT | OBJ_PX))) {
            *flags |= OBJ_PXAT;
            *expire = ++j;
        } else {
            addReplyErrorSyntax(c);
            return -1;
        }
    }
    return 0;
}

/* Absolute expiry in ms from argv[expire] (seconds for EX/EXAT and
 * SETEX), relative ones added to now_ms. Replies "invalid expire time" for
 * values <= 0 or overflowing. */
static int getExpireMillisecondsOrReply(client *c, int expire, int flags,
                                        int64_t now_ms, long long *ms) {
    if (arg_ll_or_reply(c, &c->argv[expire], ms, NULL) < 0) return -1;
    int seconds = (flags & (OBJ_EX | OBJ_EXAT)) != 0;
    if (*ms <= 0 || (seconds && *ms > LLONG_MAX / 1000)) goto err;
    if (seconds) *ms *= 1000;
    if (flags & (OBJ_EX | OBJ_PX)) *ms = (long long)((uint64_t)*ms + (uint64_t)now_ms);
    if (*ms <= 0) goto err;
    return 0;
err:
    addReplyErrorFormat(c, "ERR invalid expire time in '%s' command", c->cmd->fullname);
    return -1;
}

/* Logs `SET key value PXAT ms` (or `PEXPIREAT key ms`, val NULL) in place
 * of a command with a relative or absolute expiry, as Redis propagates. */
static void rewrite_with_pxat(client *c, const resp_arg *key, const resp_arg *val,
                              long long ms) {
    char num[LT_LLSTR_SIZE];
    int n = snprintf(num, sizeof(num), "%lld", ms);
    if (val) {
        resp_arg argv[5] = {{(char *)"SET", 3}, *key, *val, {(char *)"PXAT", 4}, {num, (size_t)n}};
        persist_rewrite(c, 5, argv);
    } else {
        resp_arg argv[3] = {{(char *)"PEXPIREAT", 9}, *key, {num, (size_t)n}};
        persist_rewrite(c, 3, argv);
    }
}

/* Redis's setGenericCommand: key argv[1], value argv[val], expiry from
 * argv[expire] when expire > 0. The reply when set is OK (or :1 for
 * SETNX, ok_int), when NX/XX refused nil (or :0); with GET the old value. */
static void setGenericCommand(client *c, int flags, int val, int expire,
                              int ok_int) {
    const resp_arg *key = &c->argv[1], *v = &c->argv[val];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    long long ms = 0;
    if (expire && getExpireMillisecondsOrReply(c, expire, flags, txn.now_ms, &ms) < 0)
        goto done;
    if ((flags & OBJ_SET_GET) && getGenericCommand(c, &txn) < 0) goto done;
    int found = ks_lookup(&txn, db, key->ptr, key->len, KS_LOOKUP_NOTOUCH) != NULL;
    if (((flags & OBJ_SET_NX) && found) || ((flags & OBJ_SET_XX) && !found)) {
        if (!(flags & OBJ_SET_GET)) {
            if (ok_int) addReplyLongLong(c, 0);
            else addReplyNull(c);
        }
        goto done;
    }
    int64_t when = expire ? ms : (flags & OBJ_KEEPTTL) ? KS_EXPIRE_KEEP : KS_EXPIRE_NONE;
    ks_set_str(&txn, db, key->ptr, key->len, v->ptr, v->len, when, 0);
    if (!found) notify_key(NOTIFY_NEW, "new", key, c->db);
    notify_key(NOTIFY_STRING, "set", key, c->db);
    if (expire) notify_key(NOTIFY_GENERIC, "expire", key, c->db);
    if (expire) rewrite_with_pxat(c, key, v, ms);
    if (!(flags & OBJ_SET_GET)) {
        if (ok_int) addReplyLongLong(c, 1);
        else addReplyOK(c);
    }
done:
    ks_txn_commit(&txn);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL] */
static void setCommand(client *c) {
    int flags = 0, expire = 0;
    if (parseExtendedStringArgumentsOrReply(c, &flags, &expire, COMMAND_SET) < 0) return;
    setGenericCommand(c, flags, 2, expire, 0);
}

static void setnxCommand(client *c) { setGenericCommand(c, OBJ_SET_NX, 2, 0, 1); }
static void setexCommand(client *c) { setGenericCommand(c, OBJ_EX, 3, 2, 0); }
static void psetexCommand(client *c) { setGenericCommand(c, OBJ_PX, 3, 2, 0); }

static void getCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    getGenericCommand(c, &txn);
    ks_txn_commit(&txn);
}

/* GETSET key value: the old value; the new one has no TTL. */
static void getsetCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (getGenericCommand(c, &txn) == 0) {
        int found = ks_lookup(&txn, (unsigned)c->db, c->argv[1].ptr, c->argv[1].len,
                              KS_LOOKUP_NOTOUCH) != NULL;
        ks_set_str(&txn, (unsigned)c->db, c->argv[1].ptr, c->argv[1].len,
                   c->argv[2].ptr, c->argv[2].len, KS_EXPIRE_NONE, 0);
        if (!found) notify_key(NOTIFY_NEW, "new", &c->argv[1], c->db);
        notify_key(NOTIFY_STRING, "set", &c->argv[1], c->db);
        /* Propagated as SET, as Redis. */
        resp_arg argv[3] = {{(char *)"SET", 3}, c->argv[1], c->argv[2]};
        persist_rewrite(c, 3, argv);
    }
    ks_txn_commit(&txn);
}

static void getdelCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (getGenericCommand(c, &txn) == 0 &&
        ks_delete(&txn, (unsigned)c->db, c->argv[1].ptr, c->argv[1].len) == LT_OK) {
        notify_key(NOTIFY_GENERIC, "del", &c->argv[1], c->db);
        /* Propagated as DEL (UNLINK under lazyfree-lazy-user-del), as Redis. */
        int lazy = __atomic_load_n(&server.lazyfree_lazy_user_del, __ATOMIC_RELAXED);
        resp_arg argv[2] = {{lazy ? (char *)"UNLINK" : (char *)"DEL", lazy ? 6u : 3u}, c->argv[1]};
        persist_rewrite(c, 2, argv);
    }
    ks_txn_commit(&txn);
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST]: nil for a missing key
 * before the expire is validated (Redis's order). */
static void getexCommand(client *c) {
    int flags = 0, expire = 0;
    if (parseExtendedStringArgumentsOrReply(c, &flags, &expire, COMMAND_GET) < 0) return;
    const resp_arg *key = &c->argv[1];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    long long ms = 0;
    if (lookupStringOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e) {
        addReplyNull(c);
        goto done;
    }
    if (expire && getExpireMillisecondsOrReply(c, expire, flags, txn.now_ms, &ms) < 0)
        goto done;
    addReplyEntryStr(c, e);
    if ((flags & (OBJ_EXAT | OBJ_PXAT)) && ms <= txn.now_ms) {
        ks_delete(&txn, db, key->ptr, key->len);
        notify_key(NOTIFY_GENERIC, "del", key, c->db);
        resp_arg argv[2] = {{(char *)"DEL", 3}, *key};
        persist_rewrite(c, 2, argv);
    } else if (expire) {
        ks_set_expire(&txn, db, key->ptr, key->len, ms);
        notify_key(NOTIFY_GENERIC, "expire", key, c->db);
        rewrite_with_pxat(c, key, NULL, ms);
    } else if (flags & OBJ_PERSIST) {
        if (ks_entry_expire_ms(e) != KS_EXPIRE_NONE) notify_key(NOTIFY_GENERIC, "persist", key, c->db);
        ks_set_expire(&txn, db, key->ptr, key->len, KS_EXPIRE_NONE);
        resp_arg argv[2] = {{(char *)"PERSIST", 7}, *key};
        persist_rewrite(c, 2, argv);
    }
done:
    ks_txn_commit(&txn);
}

/* ---- Multi-key ------------------------------------------------------------------- */

/* MGET: nil for missing keys and keys of other types (never WRONGTYPE). */
static void mgetCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    addReplyArrayLen(c, c->argc - 1);
    /* A window of keys is prefetched, then looked up: their cache misses
     * overlap instead of coming one after the other. */
    for (int j = 1; j < c->argc; j += KS_PREFETCH_MAX) {
        int end = c->argc - j > KS_PREFETCH_MAX ? j + KS_PREFETCH_MAX : c->argc;
        engine_prefetch_args(c, &txn, j, end - j);
        for (int k = j; k < end; k++) {
            ks_entry *e = ks_lookup(&txn, (unsigned)c->db, c->argv[k].ptr, c->argv[k].len, 0);
            if (e && ks_entry_type(e) == KS_TYPE_STRING) addReplyEntryStr(c, e);
            else addReplyNull(c);
        }
    }
    ks_txn_commit(&txn);
}

static void msetGenericCommand(client *c, int nx) {
    if ((c->argc % 2) == 0) {
        addReplyErrorArity(c);
        return;
    }
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (ks_lookup(&txn, db, c->argv[j].ptr, c->argv[j].len, KS_LOOKUP_NOTOUCH)) {
                addReplyLongLong(c, 0);
                goto done;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        int found = notify_flags & NOTIFY_NEW
                        ? ks_lookup(&txn, db, c->argv[j].ptr, c->argv[j].len,
                                    KS_LOOKUP_NOTOUCH) != NULL
                        : 1;
        ks_set_str(&txn, db, c->argv[j].ptr, c->argv[j].len, c->argv[j + 1].ptr,
                   c->argv[j + 1].len, KS_EXPIRE_NONE, 0);
        if (!found) notify_key(NOTIFY_NEW, "new", &c->argv[j], c->db);
        notify_key(NOTIFY_STRING, "set", &c->argv[j], c->db);
    }
    if (nx) addReplyLongLong(c, 1);
    else addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

static void msetCommand(client *c) { msetGenericCommand(c, 0); }
static void msetnxCommand(client *c) { msetGenericCommand(c, 1); }

/* ---- Length and ranges -------------------------------------------------------------- */

static void appendCommand(client *c) {
    const resp_arg *key = &c->argv[1], *app = &c->argv[2];
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, key, &e) < 0) goto done;
    if (!e) {
        ks_set_str(&txn, db, key->ptr, key->len, app->ptr, app->len, KS_EXPIRE_NONE, 0);
        notify_key(NOTIFY_NEW, "new", key, c->db);
        notify_key(NOTIFY_STRING, "append", key, c->db);
        addReplyLongLong(c, (long long)app->len);
        goto done;
    }
    size_t olen = ks_entry_strlen(e);
    if (checkStringLengthOrReply(c, (long long)olen, (long long)app->len) < 0) goto done;
    char *p = ks_str_resize(&txn, db, key->ptr, key->len, olen + app->len);
    memcpy(p + olen, app->ptr, app->len);
    notify_key(NOTIFY_STRING, "append", key, c->db);
    addReplyLongLong(c, (long long)(olen + app->len));
done:
    ks_txn_commit(&txn);
}

static void strlenCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) == 0)
        addReplyLongLong(c, e ? (long long)ks_entry_strlen(e) : 0);
    ks_txn_commit(&txn);
}

/* GETRANGE / SUBSTR key start end: inclusive, negative from the end. */
static void getrangeCommand(client *c) {
    long long start, end;
    if (arg_ll_or_reply(c, &c->argv[2], &start, NULL) < 0 ||
        arg_ll_or_reply(c, &c->argv[3], &end, NULL) < 0)
        return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        addReplyBulk(c, "", 0);
        goto done;
    }
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const char *s = ks_entry_str(e, buf, &len);
    long long slen = (long long)len;
    if (start < 0 && end < 0 && start > end) {
        addReplyBulk(c, "", 0);
        goto done;
    }
    if (start < 0) start += slen;
    if (end < 0) end += slen;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= slen) end = slen - 1;
    if (start > end || slen == 0) addReplyBulk(c, "", 0);
    else addReplyBulk(c, s + start, (size_t)(end - start + 1));
done:
    ks_txn_commit(&txn);
}

/* SETRANGE key offset value: zero-pads up to offset; the new length. */
static void setrangeCommand(client *c) {
    const resp_arg *key = &c->argv[1], *v = &c->argv[3];
    long long offset;
    if (arg_ll_or_reply(c, &c->argv[2], &offset, NULL) < 0) return;
    if (offset < 0) {
        addReplyError(c, "ERR offset is out of range");
        return;
    }
    unsigned db = (unsigned)c->db;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, key, &e) < 0) goto done;
    size_t olen = e ? ks_entry_strlen(e) : 0;
    if (v->len == 0) {
        addReplyLongLong(c, (long long)olen);
        goto done;
    }
    if (checkStringLengthOrReply(c, offset, (long long)v->len) < 0) goto done;
    if (!e) {
        ks_set_str(&txn, db, key->ptr, key->len, "", 0, KS_EXPIRE_NONE, KS_SET_NOINT);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    size_t need = (size_t)offset + v->len;
    size_t newlen = need > olen ? need : olen;
    char *p = ks_str_resize(&txn, db, key->ptr, key->len, newlen);
    if (newlen > olen) memset(p + olen, 0, newlen - olen);
    memcpy(p + offset, v->ptr, v->len);
    notify_key(NOTIFY_STRING, "setrange", key, c->db);
    addReplyLongLong(c, (long long)newlen);
done:
    ks_txn_commit(&txn);
}

/* ---- Counters ----------------------------------------------------------------------- */

/* Adds incr to the integer at key (0 when absent), keeping its TTL. */
static void incrDecrCommand(client *c, long long incr) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    long long value = 0;
    if (lookupStringOrReply(c, &txn, key, &e) < 0) goto done;
    if (e && !ks_entry_get_int(e, &value)) {
        addReplyErrorNotInteger(c);
        goto done;
    }
    if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) ||
        (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
        addReplyError(c, "ERR increment or decrement would overflow");
        goto done;
    }
    value += incr;
    ks_set_int(&txn, (unsigned)c->db, key->ptr, key->len, value, KS_EXPIRE_KEEP);
    if (!e) notify_key(NOTIFY_NEW, "new", key, c->db);
    notify_key(NOTIFY_STRING, "incrby", key, c->db);
    addReplyLongLong(c, value);
done:
    ks_txn_commit(&txn);
}

static void incrCommand(client *c) { incrDecrCommand(c, 1); }
static void decrCommand(client *c) { incrDecrCommand(c, -1); }

static void incrbyCommand(client *c) {
    long long incr;
    if (arg_ll_or_reply(c, &c->argv[2], &incr, NULL) < 0) return;
    incrDecrCommand(c, incr);
}

static void decrbyCommand(client *c) {
    long long incr;
    if (arg_ll_or_reply(c, &c->argv[2], &incr, NULL) < 0) return;
    if (incr == LLONG_MIN) {
        addReplyError(c, "ERR decrement would overflow");
        return;
    }
    incrDecrCommand(c, -incr);
}

/* INCRBYFLOAT key incr: long double arithmetic, the result stored as its
 * text (Redis's human form), the TTL kept. */
static void incrbyfloatCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    long double value = 0, incr;
    if (lookupStringOrReply(c, &txn, key, &e) < 0) goto done;
    if (e) {
        char buf[LT_LLSTR_SIZE];
        size_t len;
        const char *s = ks_entry_str(e, buf, &len);
        if (!string_str2ld(s, len, &value)) goto notfloat;
    }
    if (!string_str2ld(c->argv[2].ptr, c->argv[2].len, &incr)) goto notfloat;
    value += incr;
    if (isnan(value) || isinf(value)) {
        addReplyError(c, "ERR increment would produce NaN or Infinity");
        goto done;
    }
    char out[LD_STR_MAX];
    size_t n = string_ld2str(out, sizeof(out), value);
    ks_set_str(&txn, (unsigned)c->db, key->ptr, key->len, out, n, KS_EXPIRE_KEEP,
               KS_SET_NOINT);
    if (!e) notify_key(NOTIFY_NEW, "new", key, c->db);
    notify_key(NOTIFY_STRING, "incrbyfloat", key, c->db);
    /* Logged as its result: float arithmetic may differ where replayed. */
    resp_arg argv[4] = {{(char *)"SET", 3}, *key, {out, n}, {(char *)"KEEPTTL", 7}};
    persist_rewrite(c, 4, argv);
    addReplyBulk(c, out, n);
    goto done;
notfloat:
    addReplyError(c, "ERR value is not a valid float");
done:
    ks_txn_commit(&txn);
}

/* ---- LCS ------------------------------------------------------------------------------ */

/* Copies the string value of key into a malloc'd buffer ("" when absent).
 * Returns -1 if the key holds another type. */
static int copyStringValue(ks_txn *txn, unsigned db, const resp_arg *key,
                           char **out, size_t *len) {
    ks_entry *e = ks_lookup(txn, db, key->ptr, key->len, 0);
    *out = NULL;
    *len = 0;
    if (!e) return 0;
    if (ks_entry_type(e) != KS_TYPE_STRING) return -1;
    char buf[LT_LLSTR_SIZE];
    const char *s = ks_entry_str(e, buf, len);
    *out = lt_xmalloc(*len ? *len : 1);
    memcpy(*out, s, *len);
    return 0;
}

/* The range pair of one IDX match: [[a_start, a_end], [b_start, b_end]]
 * with the length appended for WITHMATCHLEN. */
static void addReplyLcsMatch(client *c, uint32_t as, uint32_t ae, uint32_t bs,
                             uint32_t be, int withmatchlen) {
    addReplyArrayLen(c, 2 + withmatchlen);
    addReplyArrayLen(c, 2);
    addReplyLongLong(c, as);
    addReplyLongLong(c, ae);
    addReplyArrayLen(c, 2);
    addReplyLongLong(c, bs);
    addReplyLongLong(c, be);
    if (withmatchlen) addReplyLongLong(c, (long long)(ae - as + 1));
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: Redis's
 * dynamic programming table and backtrack, the same ranges in the same
 * order. The table is bounded by proto-max-bulk-len, as in Redis. */
static void lcsCommand(client *c) {
    unsigned db = (unsigned)c->db;
    char *a = NULL, *b = NULL;
    size_t alen_sz, blen_sz;
    uint32_t *lcs = NULL;
    char *result = NULL;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    int bad = copyStringValue(&txn, db, &c->argv[1], &a, &alen_sz) < 0;
    if (!bad) bad = copyStringValue(&txn, db, &c->argv[2], &b, &blen_sz) < 0;
    ks_txn_commit(&txn);
    if (bad) {
        addReplyError(c, "ERR The specified keys must contain string values");
        goto cleanup;
    }

    long long minmatchlen = 0;
    int getlen = 0, getidx = 0, withmatchlen = 0;
    for (int j = 3; j < c->argc; j++) {
        int moreargs = (c->argc - 1) - j;
        if (arg_is(&c->argv[j], "idx")) {
            getidx = 1;
        } else if (arg_is(&c->argv[j], "len")) {
            getlen = 1;
        } else if (arg_is(&c->argv[j], "withmatchlen")) {
            withmatchlen = 1;
        } else if (arg_is(&c->argv[j], "minmatchlen") && moreargs) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &minmatchlen, NULL) < 0) goto cleanup;
            if (minmatchlen < 0) minmatchlen = 0;
            j++;
        } else {
            addReplyErrorSyntax(c);
            goto cleanup;
        }
    }
    if (getidx && getlen) {
        addReplyError(c, "ERR If you want both the length and indexes, please just use IDX.");
        goto cleanup;
    }
    if (alen_sz >= UINT32_MAX - 1 || blen_sz >= UINT32_MAX - 1) {
        addReplyError(c, "ERR String too long for LCS");
        goto cleanup;
    }
    uint32_t alen = (uint32_t)alen_sz, blen = (uint32_t)blen_sz;
#define LCS(A, B) lcs[(B) + ((size_t)(A) * (blen + 1))]
    unsigned long long lcssize = (unsigned long long)(alen + 1) * (blen + 1);
    unsigned long long lcsalloc = lcssize * sizeof(uint32_t);
    if (lcsalloc < SIZE_MAX && lcsalloc / lcssize == sizeof(uint32_t)) {
        if (lcsalloc > (unsigned long long)server.proto_max_bulk_len) {
            addReplyError(c, "ERR Insufficient memory, transient memory for LCS "
                             "exceeds proto-max-bulk-len");
            goto cleanup;
        }
        lcs = malloc(lcsalloc);
    }
    if (!lcs) {
        addReplyError(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        goto cleanup;
    }
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                LCS(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            } else {
                uint32_t lcs1 = LCS(i - 1, j), lcs2 = LCS(i, j - 1);
                LCS(i, j) = lcs1 > lcs2 ? lcs1 : lcs2;
            }
        }
    }

    uint32_t idx = LCS(alen, blen);
    void *arraylenptr = NULL;
    /* arange_start == alen: no range being tracked. */
    uint32_t arange_start = alen, arange_end = 0, brange_start = 0, brange_end = 0;
    int computelcs = getidx || !getlen;
    if (computelcs) result = lt_xmalloc(idx ? idx : 1);
    uint32_t arraylen = 0;
    if (getidx) {
        addReplyMapLen(c, 2);
        addReplyBulkCString(c, "matches");
        arraylenptr = addReplyDeferredLen(c);
    }
    uint32_t i = alen, j = blen;
    /* Walks back at most alen + blen steps. */
    while (computelcs && i > 0 && j > 0) {
        int emit_range = 0;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (arange_start == alen) {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if (arange_start == i && brange_start == j) {
                arange_start--;
                brange_start--;
            } else {
                emit_range = 1;
            }
            if (arange_start == 0 || brange_start == 0) emit_range = 1;
            idx--;
            i--;
            j--;
        } else {
            uint32_t lcs1 = LCS(i - 1, j), lcs2 = LCS(i, j - 1);
            if (lcs1 > lcs2) i--;
            else j--;
            if (arange_start != alen) emit_range = 1;
        }
        uint32_t match_len = arange_end - arange_start + 1;
        if (emit_range) {
            if ((minmatchlen == 0 || match_len >= minmatchlen) && arraylenptr) {
                addReplyLcsMatch(c, arange_start, arange_end, brange_start, brange_end,
                                 withmatchlen);
                arraylen++;
            }
            arange_start = alen;
        }
    }
    if (arraylenptr) {
        setDeferredArrayLen(c, arraylenptr, arraylen);
        addReplyBulkCString(c, "len");
        addReplyLongLong(c, LCS(alen, blen));
    } else if (getlen) {
        addReplyLongLong(c, idx);
    } else {
        addReplyBulk(c, result, LCS(alen, blen));
    }
#undef LCS
cleanup:
    free(result);
    free(lcs);
    free(a);
    free(b);
}

/* ---- Table ---------------------------------------------------------------------------- */

#define STR_KEY1 .key_first = 1, .key_last = 1, .key_step = 1

/* Redis's setGetKeys: SET ... GET reads the old value. */
static const char *setKeyFlags(const resp_arg *argv, int argc) {
    for (int i = 3; i < argc; i++)
        if (arg_is(&argv[i], "get")) return "RW access update";
    return "OW update";
}

command string_commands[] = {
    {.name = "get", .proc = getCommand, .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_STRING | ACL_FAST, STR_KEY1, .key_flags = "RO access", .group = "string",
     .since = "1.0.0", .complexity = "O(1)", .summary = "Returns the string value of a key."},
    {.name = "set", .proc = setCommand, .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "RW access update variable_flags",
     .key_flags_for = setKeyFlags, .group = "string",
     .since = "1.0.0", .complexity = "O(1)",
     .summary = "Sets the string value of a key, with conditions and an expiry."},
    {.name = "setnx", .proc = setnxCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "OW insert", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Sets a key's value only if the key does not exist."},
    {.name = "setex", .proc = setexCommand, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "OW update", .group = "string",
     .since = "2.0.0", .complexity = "O(1)",
     .summary = "Sets a key's value and its expiry in seconds."},
    {.name = "psetex", .proc = psetexCommand, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "OW update", .group = "string",
     .since = "2.6.0", .complexity = "O(1)",
     .summary = "Sets a key's value and its expiry in milliseconds."},
    {.name = "getset", .proc = getsetCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Sets a key's value and returns the previous one."},
    {.name = "getdel", .proc = getdelCommand, .arity = 2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STRING | ACL_FAST, STR_KEY1, .key_flags = "RW access delete", .group = "string",
     .since = "6.2.0", .complexity = "O(1)",
     .summary = "Returns a key's value and deletes the key."},
    {.name = "getex", .proc = getexCommand, .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STRING | ACL_FAST, STR_KEY1, .key_flags = "RW access update", .group = "string",
     .since = "6.2.0", .complexity = "O(1)",
     .summary = "Returns a key's value and changes or removes its expiry."},
    {.name = "mget", .proc = mgetCommand, .arity = -2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_STRING | ACL_FAST, .key_first = 1, .key_last = -1,
     .key_step = 1, .key_flags = "RO access", .group = "string", .since = "1.0.0", .complexity = "O(N)",
     .tips = "request_policy:multi_shard", .summary = "Returns the values of several keys."},
    {.name = "mset", .proc = msetCommand, .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, .key_first = 1, .key_last = -1,
     .key_step = 2, .key_flags = "OW update", .group = "string", .since = "1.0.1", .complexity = "O(N)",
     .tips = "request_policy:multi_shard response_policy:all_succeeded",
     .summary = "Sets the values of several keys."},
    {.name = "msetnx", .proc = msetnxCommand, .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, .key_first = 1, .key_last = -1,
     .key_step = 2, .key_flags = "OW insert", .group = "string", .since = "1.0.1", .complexity = "O(N)",
     .tips = "request_policy:multi_shard response_policy:agg_min",
     .summary = "Sets several keys only if none of them exists."},
    {.name = "append", .proc = appendCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW insert", .group = "string", .since = "2.0.0", .complexity = "O(1)",
     .summary = "Appends a string to a key's value, creating the key if needed."},
    {.name = "strlen", .proc = strlenCommand, .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_STRING | ACL_FAST, STR_KEY1, .key_flags = "RO", .group = "string",
     .since = "2.2.0", .complexity = "O(1)", .summary = "Returns the length of a key's value."},
    {.name = "incr", .proc = incrCommand, .arity = 2,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Adds one to the integer value of a key."},
    {.name = "decr", .proc = decrCommand, .arity = 2,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Subtracts one from the integer value of a key."},
    {.name = "incrby", .proc = incrbyCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Adds an integer to the integer value of a key."},
    {.name = "decrby", .proc = decrbyCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "1.0.0", .complexity = "O(1)",
     .summary = "Subtracts an integer from the integer value of a key."},
    {.name = "incrbyfloat", .proc = incrbyfloatCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_STRING | ACL_FAST,
     STR_KEY1, .key_flags = "RW access update", .group = "string", .since = "2.6.0", .complexity = "O(1)",
     .summary = "Adds a floating point number to the value of a key."},
    {.name = "getrange", .proc = getrangeCommand, .arity = 4, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "RO access", .group = "string",
     .since = "2.4.0", .complexity = "O(N)",
     .summary = "Returns a substring of a key's value."},
    {.name = "substr", .proc = getrangeCommand, .arity = 4, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "RO access", .group = "string",
     .since = "1.0.0", .complexity = "O(N)",
     .summary = "Returns a substring of a key's value (old name of GETRANGE)."},
    {.name = "setrange", .proc = setrangeCommand, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STRING | ACL_SLOW, STR_KEY1, .key_flags = "RW update", .group = "string",
     .since = "2.2.0", .complexity = "O(1)",
     .summary = "Overwrites part of a key's value from an offset, zero-padding."},
    {.name = "lcs", .proc = lcsCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STRING | ACL_SLOW, .key_first = 1, .key_last = 2,
     .key_step = 1, .key_flags = "RO access", .group = "string", .since = "7.0.0", .complexity = "O(N*M)",
     .summary = "Finds the longest common subsequence of two keys' values."},
    {0},
};
