/*
 * t_hash: the hash commands — HSET HSETNX HMSET HGET HMGET HDEL HEXISTS
 * HLEN HSTRLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN —
 * with Redis 7.0.15's replies, errors and their order (t_hash.c of Redis is
 * the reference for every branch).
 *
 * Each handler runs as one engine transaction over its key
 * (engine_begin_cmd) and replies from inside it. Writers validate on the
 * read-only object first and take ks_obj_mutable() only when they really
 * change the hash, so refused or no-op commands leave the key untouched
 * (WATCH, WAL). A hash left without fields is deleted, as Redis does.
 * Encodings and conversions are the engine object's (engine/hashobj.h):
 * a set with a long field or value converts, as Redis's hashTypeSet and
 * hashTypeTryConversion do.
 *
 * Called by: dispatch, through hash_commands[].
 */
#include "server/cmd/notify.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "server/engine_glue.h"
#include "server/persist/persist.h"
#include "server/net/reply.h"
#include "server/server.h"
#include "server/cmd/t_string.h"


/* ---- Lookup helpers --------------------------------------------------------- */

/* The hash at key for reading: *out is NULL when the key is absent.
 * Replies WRONGTYPE and returns -1 for another type. */
static int lookupHashOrReply(client *c, ks_txn *txn, const resp_arg *key,
                             const hashobj **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    if (e && ks_entry_type(e) != KS_TYPE_HASH) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = e ? ks_entry_obj(e) : NULL;
    return 0;
}

/* Where a writer stores: the key's hash made mutable, or (key absent) a
 * new empty hash with *fresh set, which hashStore() hands to the keyspace. */
static hashobj *hashWriteTarget(client *c, ks_txn *txn, const resp_arg *key,
                                const hashobj *cur, int *fresh) {
    *fresh = cur == NULL;
    if (cur == NULL) return hashobj_new();
    return ks_obj_mutable(txn, (unsigned)c->db, key->ptr, key->len);
}

/* Stores a fresh hash and emits the keyspace events ("new" first when the
 * key was created, then event). */
static void hashStore(client *c, ks_txn *txn, const resp_arg *key, hashobj *h,
                      int fresh, const char *event) {
    if (fresh) {
        ks_set_obj(txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_HASH, h,
                   KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    notify_key(NOTIFY_HASH, event, key, c->db);
}

static void addReplyHashStr(client *c, const hashobj_str *s) {
    if (s->ptr) addReplyBulk(c, s->ptr, s->len);
    else addReplyBulkLongLong(c, s->ll);
}

/* Text of s: its bytes, or the integer written into buf. */
static const char *hashStrBytes(const hashobj_str *s, char buf[LT_LLSTR_SIZE],
                                size_t *len) {
    if (s->ptr) {
        *len = s->len;
        return s->ptr;
    }
    *len = lt_ll2string(buf, LT_LLSTR_SIZE, s->ll);
    return buf;
}

/* ---- Setting ------------------------------------------------------------------ */

/* HSET / HMSET key field value [field value ...]: HSET replies the number
 * of fields added, HMSET OK. */
static void hsetGenericCommand(client *c, int reply_ok) {
    if ((c->argc % 2) == 1) {
        addReplyErrorArity(c);
        return;
    }
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *cur;
    if (lookupHashOrReply(c, &txn, key, &cur) < 0) goto done;
    int fresh;
    hashobj *h = hashWriteTarget(c, &txn, key, cur, &fresh);
    long long created = 0;
    for (int j = 2; j < c->argc; j += 2)
        created += hashobj_set(h, c->argv[j].ptr, c->argv[j].len, c->argv[j + 1].ptr,
                               c->argv[j + 1].len);
    hashStore(c, &txn, key, h, fresh, "hset");
    if (reply_ok) addReplyOK(c);
    else addReplyLongLong(c, created);
done:
    ks_txn_commit(&txn);
}

static void hsetCommand(client *c) { hsetGenericCommand(c, 0); }
static void hmsetCommand(client *c) { hsetGenericCommand(c, 1); }

/* HSETNX key field value */
static void hsetnxCommand(client *c) {
    const resp_arg *key = &c->argv[1], *f = &c->argv[2], *v = &c->argv[3];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *cur;
    hashobj_str old;
    if (lookupHashOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur && hashobj_get(cur, f->ptr, f->len, &old)) {
        addReplyLongLong(c, 0);
        goto done;
    }
    int fresh;
    hashobj *h = hashWriteTarget(c, &txn, key, cur, &fresh);
    hashobj_set(h, f->ptr, f->len, v->ptr, v->len);
    hashStore(c, &txn, key, h, fresh, "hset");
    addReplyLongLong(c, 1);
done:
    ks_txn_commit(&txn);
}

/* HINCRBY key field increment */
static void hincrbyCommand(client *c) {
    const resp_arg *key = &c->argv[1], *f = &c->argv[2];
    long long incr, value = 0;
    if (arg_ll_or_reply(c, &c->argv[3], &incr, NULL) < 0) return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *cur;
    hashobj_str old;
    if (lookupHashOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur && hashobj_get(cur, f->ptr, f->len, &old)) {
        if (old.ptr == NULL) {
            value = old.ll;
        } else if (old.len >= LT_LLSTR_SIZE || !lt_string2ll(old.ptr, old.len, &value)) {
            addReplyError(c, "ERR hash value is not an integer");
            goto done;
        }
    }
    if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) ||
        (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
        addReplyError(c, "ERR increment or decrement would overflow");
        goto done;
    }
    value += incr;
    char buf[LT_LLSTR_SIZE];
    size_t len = lt_ll2string(buf, sizeof buf, value);
    int fresh;
    hashobj *h = hashWriteTarget(c, &txn, key, cur, &fresh);
    hashobj_set(h, f->ptr, f->len, buf, len);
    hashStore(c, &txn, key, h, fresh, "hincrby");
    addReplyLongLong(c, value);
done:
    ks_txn_commit(&txn);
}

/* Redis's MAX_LONG_DOUBLE_CHARS. */
#define HASH_LD_STR_MAX (5 * 1024)

/* HINCRBYFLOAT key field increment: the sum in Redis's human long double
 * form, stored as that text. */
static void hincrbyfloatCommand(client *c) {
    const resp_arg *key = &c->argv[1], *f = &c->argv[2], *a = &c->argv[3];
    long double incr, value = 0;
    if (!string_str2ld(a->ptr, a->len, &incr)) {
        addReplyError(c, "ERR value is not a valid float");
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        addReplyError(c, "ERR value is NaN or Infinity");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *cur;
    hashobj_str old;
    if (lookupHashOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur && hashobj_get(cur, f->ptr, f->len, &old)) {
        if (old.ptr == NULL) {
            value = (long double)old.ll;
        } else if (!string_str2ld(old.ptr, old.len, &value)) {
            addReplyError(c, "ERR hash value is not a float");
            goto done;
        }
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        addReplyError(c, "ERR increment would produce NaN or Infinity");
        goto done;
    }
    char buf[HASH_LD_STR_MAX];
    size_t len = string_ld2str(buf, sizeof buf, value);
    int fresh;
    hashobj *h = hashWriteTarget(c, &txn, key, cur, &fresh);
    hashobj_set(h, f->ptr, f->len, buf, len);
    hashStore(c, &txn, key, h, fresh, "hincrbyfloat");
    /* Logged as the result, like Redis: replay must not redo float math. */
    persist_rewrite(c, 4, (resp_arg[]){{"HSET", 4}, *key, *f, {buf, len}});
    addReplyBulk(c, buf, len);
done:
    ks_txn_commit(&txn);
}

/* ---- Reading ------------------------------------------------------------------ */

static void hgetCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    hashobj_str v;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0) {
        if (h && hashobj_get(h, c->argv[2].ptr, c->argv[2].len, &v)) addReplyHashStr(c, &v);
        else addReplyNull(c);
    }
    ks_txn_commit(&txn);
}

/* HMGET: nil per missing field, all nils for a missing key. */
static void hmgetCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    hashobj_str v;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0) {
        addReplyArrayLen(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            if (h && hashobj_get(h, c->argv[j].ptr, c->argv[j].len, &v)) addReplyHashStr(c, &v);
            else addReplyNull(c);
        }
    }
    ks_txn_commit(&txn);
}

static void hexistsCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    hashobj_str v;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0)
        addReplyLongLong(c, h && hashobj_get(h, c->argv[2].ptr, c->argv[2].len, &v));
    ks_txn_commit(&txn);
}

static void hlenCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0)
        addReplyLongLong(c, h ? (long long)hashobj_len(h) : 0);
    ks_txn_commit(&txn);
}

static void hstrlenCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    hashobj_str v;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0) {
        size_t len = 0;
        char buf[LT_LLSTR_SIZE];
        if (h && hashobj_get(h, c->argv[2].ptr, c->argv[2].len, &v)) hashStrBytes(&v, buf, &len);
        addReplyLongLong(c, (long long)len);
    }
    ks_txn_commit(&txn);
}

/* HDEL key field [field ...]: the key goes when its last field does. */
static void hdelCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *cur;
    long long deleted = 0;
    int emptied = 0;
    if (lookupHashOrReply(c, &txn, key, &cur) < 0) goto done;
    hashobj *h = NULL;
    hashobj_str v;
    for (int j = 2; cur && j < c->argc; j++) {
        if (!h) {
            if (!hashobj_get(cur, c->argv[j].ptr, c->argv[j].len, &v)) continue;
            h = ks_obj_mutable(&txn, (unsigned)c->db, key->ptr, key->len);
        }
        deleted += hashobj_delete(h, c->argv[j].ptr, c->argv[j].len);
        if (hashobj_len(h) == 0) {
            ks_delete(&txn, (unsigned)c->db, key->ptr, key->len);
            emptied = 1;
            break;
        }
    }
    if (deleted) notify_key(NOTIFY_HASH, "hdel", key, c->db);
    if (emptied) notify_key(NOTIFY_GENERIC, "del", key, c->db);
    addReplyLongLong(c, deleted);
done:
    ks_txn_commit(&txn);
}

#define HASH_KEYS 1
#define HASH_VALUES 2

/* HKEYS / HVALS (arrays) and HGETALL (a map). */
static void hgetallGenericCommand(client *c, int what) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0) {
        long long n = h ? (long long)hashobj_len(h) : 0;
        if (what == (HASH_KEYS | HASH_VALUES)) addReplyMapLen(c, n);
        else addReplyArrayLen(c, n);
        hashobj_iter it;
        hashobj_str f, v;
        if (h) hashobj_iter_init(&it, h);
        while (h && hashobj_iter_next(&it, &f, &v)) {
            if (what & HASH_KEYS) addReplyHashStr(c, &f);
            if (what & HASH_VALUES) addReplyHashStr(c, &v);
        }
    }
    ks_txn_commit(&txn);
}

static void hkeysCommand(client *c) { hgetallGenericCommand(c, HASH_KEYS); }
static void hvalsCommand(client *c) { hgetallGenericCommand(c, HASH_VALUES); }
static void hgetallCommand(client *c) { hgetallGenericCommand(c, HASH_KEYS | HASH_VALUES); }

/* ---- HRANDFIELD ---------------------------------------------------------------- */

typedef struct randfield_ctx {
    client *c;
    int withvalues;
} randfield_ctx;

static void randfield_reply(void *ctx, const hashobj_str *f, const hashobj_str *v) {
    randfield_ctx *r = ctx;
    if (r->withvalues && r->c->resp > 2) addReplyArrayLen(r->c, 2);
    addReplyHashStr(r->c, f);
    if (r->withvalues) addReplyHashStr(r->c, v);
}

/* HRANDFIELD key count [WITHVALUES]: negative count samples with repeats,
 * positive returns distinct fields (all of them when count >= size).
 * WITHVALUES replies pairs: flat in RESP2, two-element arrays in RESP3. */
static void hrandfieldWithCountCommand(client *c, long long l, int withvalues) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) < 0) goto done;
    unsigned long long count = l >= 0 ? (unsigned long long)l : (unsigned long long)-l;
    if (!h || count == 0) {
        addReplyArrayLen(c, 0);
        goto done;
    }
    randfield_ctx r = {c, withvalues};
    int flat_pairs = withvalues && c->resp == 2;
    size_t size = hashobj_len(h);
    if (l < 0 || count == 1) {
        addReplyArrayLen(c, flat_pairs ? (long long)count * 2 : (long long)count);
        hashobj_random_pairs(h, (size_t)count, randfield_reply, &r);
        goto done;
    }
    size_t n = count < size ? (size_t)count : size;
    addReplyArrayLen(c, flat_pairs ? (long long)n * 2 : (long long)n);
    if (n == size) {
        hashobj_iter it;
        hashobj_str f, v;
        hashobj_iter_init(&it, h);
        while (hashobj_iter_next(&it, &f, &v)) randfield_reply(&r, &f, &v);
    } else {
        hashobj_random_unique(h, n, randfield_reply, &r);
    }
done:
    ks_txn_commit(&txn);
}

/* HRANDFIELD key [count [WITHVALUES]] */
static void hrandfieldCommand(client *c) {
    if (c->argc >= 3) {
        long long l;
        if (arg_ll_or_reply(c, &c->argv[2], &l, NULL) < 0) return;
        if (l < -LONG_MAX) {
            addReplyErrorFormat(c, "ERR value is out of range, value must between %ld and %ld",
                                -LONG_MAX, LONG_MAX);
            return;
        }
        int withvalues = 0;
        if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3], "withvalues"))) {
            addReplyErrorSyntax(c);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                addReplyError(c, "ERR value is out of range");
                return;
            }
        }
        hrandfieldWithCountCommand(c, l, withvalues);
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) == 0) {
        if (h) hashobj_random_pairs(h, 1, randfield_reply, &(randfield_ctx){c, 0});
        else addReplyNull(c);
    }
    ks_txn_commit(&txn);
}

/* ---- HSCAN ------------------------------------------------------------------------ */

/* Fields and values of one HSCAN call, packed as [size_t len][bytes]: a
 * stack buffer first, the heap only for large replies. */
#define HSCAN_STACK_BYTES 4096

typedef struct hscan_ctx {
    const char *pat;
    size_t patlen;
    int use_pattern;
    size_t visited; /* fields + values handed over, matching or not (what
                     * Redis compares with COUNT) */
    long long n;    /* strings kept (fields + values) */
    char *buf;
    size_t used, cap;
    char stack[HSCAN_STACK_BYTES];
} hscan_ctx;

static void hscan_keep(hscan_ctx *s, const char *p, size_t len) {
    size_t need = s->used + sizeof(size_t) + len;
    if (need > s->cap) {
        size_t cap = need > s->cap * 2 ? need : s->cap * 2;
        if (s->buf == s->stack) {
            s->buf = lt_xmalloc(cap);
            memcpy(s->buf, s->stack, s->used);
        } else {
            s->buf = lt_xrealloc(s->buf, cap);
        }
        s->cap = cap;
    }
    memcpy(s->buf + s->used, &len, sizeof(size_t));
    memcpy(s->buf + s->used + sizeof(size_t), p, len);
    s->used = need;
    s->n++;
}

static void hscan_on_pair(void *ctx, const hashobj_str *f, const hashobj_str *v) {
    hscan_ctx *s = ctx;
    char fb[LT_LLSTR_SIZE], vb[LT_LLSTR_SIZE];
    size_t flen, vlen;
    const char *fp = hashStrBytes(f, fb, &flen), *vp = hashStrBytes(v, vb, &vlen);
    s->visited += 2;
    if (s->use_pattern && !lt_stringmatchlen(s->pat, s->patlen, fp, flen, 0)) return;
    hscan_keep(s, fp, flen);
    hscan_keep(s, vp, vlen);
}

/* HSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked
 * first, then the key (a missing key answers an empty scan whatever the
 * options), then the options (Redis's order). */
static void hscanCommand(client *c) {
    uint64_t cursor;
    if (!keys_parse_cursor(c->argv[2].ptr, c->argv[2].len, &cursor)) {
        addReplyError(c, "ERR invalid cursor");
        return;
    }
    hscan_ctx sc;
    hscan_ctx *s = &sc;
    s->pat = NULL;
    s->patlen = 0;
    s->use_pattern = 0;
    s->visited = 0;
    s->n = 0;
    s->buf = s->stack;
    s->used = 0;
    s->cap = sizeof s->stack;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const hashobj *h;
    if (lookupHashOrReply(c, &txn, &c->argv[1], &h) < 0) goto done;
    if (!h) {
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
            s->pat = c->argv[i + 1].ptr;
            s->patlen = c->argv[i + 1].len;
            s->use_pattern = !(s->patlen == 1 && s->pat[0] == '*');
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    /* Like Redis: stop at count pairs, at the end, or after 10 * count
     * buckets (the bound on the work of one call). */
    unsigned long long steps = (unsigned long long)count > ULLONG_MAX / 10
                                   ? ULLONG_MAX
                                   : (unsigned long long)count * 10;
    do {
        cursor = hashobj_scan(h, cursor, hscan_on_pair, s);
    } while (cursor && steps-- && s->visited < (unsigned long long)count);
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, (long long)cursor);
    addReplyArrayLen(c, s->n);
    for (size_t off = 0; off < s->used;) {
        size_t len;
        memcpy(&len, s->buf + off, sizeof(size_t));
        addReplyBulk(c, s->buf + off + sizeof(size_t), len);
        off += sizeof(size_t) + len;
    }
done:
    ks_txn_commit(&txn);
    if (s->buf != s->stack) free(s->buf);
}

/* ---- Table --------------------------------------------------------------------- */

#define HASH_WRITE_FAST (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define ACL_HWRITE_FAST (ACL_WRITE | ACL_HASH | ACL_FAST)
#define ACL_HREAD_FAST (ACL_READ | ACL_HASH | ACL_FAST)
#define ACL_HREAD_SLOW (ACL_READ | ACL_HASH | ACL_SLOW)
#define KEY1 .key_first = 1, .key_last = 1, .key_step = 1

command hash_commands[] = {
    {.name = "hset", .proc = hsetCommand, .arity = -4, .flags = HASH_WRITE_FAST,
     .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW update", .group = "hash",
     .since = "2.0.0", .complexity = "O(1) for each field/value pair added",
     .summary = "Sets fields of a hash; replies how many were new."},
    {.name = "hsetnx", .proc = hsetnxCommand, .arity = 4, .flags = HASH_WRITE_FAST,
     .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW insert", .group = "hash",
     .since = "2.0.0", .complexity = "O(1)",
     .summary = "Sets a field of a hash only if it does not exist."},
    {.name = "hget", .proc = hgetCommand, .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_HREAD_FAST, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.0.0", .complexity = "O(1)", .summary = "Returns the value of a field."},
    {.name = "hmget", .proc = hmgetCommand, .arity = -3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_HREAD_FAST, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the number of fields requested",
     .summary = "Returns the values of several fields."},
    {.name = "hmset", .proc = hmsetCommand, .arity = -4, .flags = HASH_WRITE_FAST,
     .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW update", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the number of fields set",
     .summary = "Sets fields of a hash; replies OK."},
    {.name = "hdel", .proc = hdelCommand, .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW delete", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the number of fields removed",
     .summary = "Deletes fields; the key goes with its last field."},
    {.name = "hexists", .proc = hexistsCommand, .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_HREAD_FAST, KEY1, .key_flags = "RO", .group = "hash", .since = "2.0.0",
     .complexity = "O(1)", .summary = "Tells whether a field exists."},
    {.name = "hlen", .proc = hlenCommand, .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_HREAD_FAST, KEY1, .key_flags = "RO", .group = "hash", .since = "2.0.0",
     .complexity = "O(1)", .summary = "Returns the number of fields of a hash."},
    {.name = "hstrlen", .proc = hstrlenCommand, .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_HREAD_FAST, KEY1, .key_flags = "RO", .group = "hash", .since = "3.2.0",
     .complexity = "O(1)", .summary = "Returns the length of a field's value."},
    {.name = "hkeys", .proc = hkeysCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_HREAD_SLOW, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the size of the hash",
     .tips = "nondeterministic_output_order", .summary = "Returns every field of a hash."},
    {.name = "hvals", .proc = hvalsCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_HREAD_SLOW, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the size of the hash",
     .tips = "nondeterministic_output_order", .summary = "Returns every value of a hash."},
    {.name = "hgetall", .proc = hgetallCommand, .arity = 2, .flags = CMD_READONLY,
     .acl = ACL_HREAD_SLOW, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.0.0", .complexity = "O(N) where N is the size of the hash",
     .tips = "nondeterministic_output_order",
     .summary = "Returns every field and value of a hash."},
    {.name = "hincrby", .proc = hincrbyCommand, .arity = 4, .flags = HASH_WRITE_FAST,
     .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW access update", .group = "hash",
     .since = "2.0.0", .complexity = "O(1)",
     .summary = "Adds an integer to a field's value."},
    {.name = "hincrbyfloat", .proc = hincrbyfloatCommand, .arity = 4,
     .flags = HASH_WRITE_FAST, .acl = ACL_HWRITE_FAST, KEY1, .key_flags = "RW access update",
     .group = "hash", .since = "2.6.0", .complexity = "O(1)",
     .summary = "Adds a floating point number to a field's value."},
    {.name = "hrandfield", .proc = hrandfieldCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_HREAD_SLOW, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "6.2.0", .complexity = "O(N) where N is the number of fields returned",
     .tips = "nondeterministic_output", .summary = "Returns random fields of a hash."},
    {.name = "hscan", .proc = hscanCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_HREAD_SLOW, KEY1, .key_flags = "RO access", .group = "hash",
     .since = "2.8.0", .complexity = "O(1) per call, O(N) per iteration",
     .tips = "nondeterministic_output", .summary = "Iterates over the fields of a hash."},
    {0},
};
