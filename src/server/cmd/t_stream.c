/*
 * t_stream: the stream commands — XADD XRANGE XREVRANGE XLEN XDEL XTRIM
 * XREAD XSETID, and the consumer groups: XGROUP (CREATE CREATECONSUMER
 * DELCONSUMER DESTROY SETID HELP) XREADGROUP XACK XPENDING XCLAIM
 * XAUTOCLAIM XINFO (STREAM [FULL] GROUPS CONSUMERS HELP) — with Redis
 * 7.0.15's replies, errors and their order (t_stream.c of Redis is the
 * reference for every branch). Storage is engine/streamobj.h.
 *
 * Each handler runs as one engine transaction over its keys and replies
 * from inside it; "now" (generated IDs, delivery and seen times) is the
 * transaction's clock, so a replayed record decides as its original did.
 *
 * What the WAL gets (persist.h), always a deterministic form:
 *  - XADD: `XADD key [MAXLEN|MINID = <exact>] <id> field value ...` when
 *    the ID was generated (`*`, `<ms>-*`) or trimming was approximate (the
 *    trim argument becomes what it actually removed down to, LIMIT gone);
 *    otherwise the command as given. XTRIM ~ likewise `XTRIM key MAXLEN|
 *    MINID = <exact>`.
 *  - XREADGROUP / XCLAIM / XAUTOCLAIM log their effects as Redis
 *    propagates them: `XGROUP CREATECONSUMER` for a consumer they create,
 *    `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID
 *    LASTID <group last id>` per entry delivered, claimed or (entry gone)
 *    dropped from the PEL, then `XGROUP SETID key group <id> ENTRIESREAD
 *    <n>` when the group's last ID moved. History reads (XREADGROUP with an
 *    ID) log the XCLAIM of each redelivered entry too, so delivery counts
 *    survive a restart exactly.
 *  - A consumer's seen-time is refreshed in place without a new version
 *    (like Redis, it is not propagated): a read that changes nothing else
 *    writes nothing.
 *
 * Blocking XREAD / XREADGROUP use blocking.c's re-execution model in
 * broadcast mode (every reader of a key sees a new entry, not just the
 * first): `$` is replaced by the stream's last ID in the argv kept for the
 * re-run, and a re-run without COUNT reads at most 1000 entries per key
 * (Redis's XREAD_BLOCKED_DEFAULT_COUNT). XADD signals the key.
 *
 * Known deviations: XINFO STREAM's radix-tree-keys counts our nodes and
 * radix-tree-nodes is derived from it (Redis's rax has no equivalent
 * here).
 *
 * Called by: dispatch, through stream_commands[].
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/notify.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/streamobj.h"
#include "server/cmd/blocking.h"
#include "server/engine_glue.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

#define STREAM_ID_STR_SIZE 42
#define XREAD_BLOCKED_DEFAULT_COUNT 1000
#define STREAM_MAX_ELE_BYTES ((size_t)1 << 30) /* Redis's STREAM_LISTPACK_MAX_SIZE */

static const stream_id ID_MAX = {UINT64_MAX, UINT64_MAX};

/* ---- IDs ------------------------------------------------------------------------ */

static size_t idFormat(char *buf, const stream_id *id) {
    return (size_t)snprintf(buf, STREAM_ID_STR_SIZE, "%llu-%llu", (unsigned long long)id->ms,
                            (unsigned long long)id->seq);
}

static void addReplyStreamID(client *c, const stream_id *id) {
    char buf[STREAM_ID_STR_SIZE];
    addReplyBulk(c, buf, idFormat(buf, id));
}

/* Redis's string2ull on a C string. */
static int str2ull(const char *s, unsigned long long *v) {
    long long ll;
    if (lt_string2ll(s, strlen(s), &ll)) {
        if (ll < 0) return 0;
        *v = (unsigned long long)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    *v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0')) return 0;
    return 1;
}

static int idIncr(stream_id *id) {
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) return -1;
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return 0;
}

static int idDecr(stream_id *id) {
    if (id->seq == 0) {
        if (id->ms == 0) return -1;
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return 0;
}

static void replyInvalidId(client *c) {
    if (c) addReplyError(c, "ERR Invalid stream ID specified as stream command argument");
}

/* Redis's streamGenericParseIDOrReply (c NULL: no reply). strict rejects
 * "-" and "+"; seq_given (XADD) allows <ms>-* and reports it. */
static int parseIdGeneric(client *c, const resp_arg *a, stream_id *id, uint64_t missing_seq,
                          int strict, int *seq_given) {
    char buf[128];
    if (a->len > sizeof(buf) - 1) {
        replyInvalidId(c);
        return -1;
    }
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') {
        replyInvalidId(c);
        return -1;
    }
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        *id = (stream_id){0, 0};
        return 0;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        *id = ID_MAX;
        return 0;
    }
    unsigned long long ms, seq;
    char *dot = strchr(buf, '-');
    if (dot) *dot = '\0';
    if (!str2ull(buf, &ms)) {
        replyInvalidId(c);
        return -1;
    }
    if (dot) {
        if (seq_given && dot[1] == '*' && dot[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!str2ull(dot + 1, &seq)) {
            replyInvalidId(c);
            return -1;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return 0;
}

static int parseStrictId(client *c, const resp_arg *a, stream_id *id, uint64_t missing_seq) {
    return parseIdGeneric(c, a, id, missing_seq, 1, NULL);
}

/* Redis's streamParseIntervalIDOrReply: "(" makes the bound exclusive. */
static int parseIntervalId(client *c, const resp_arg *a, stream_id *id, int *exclude,
                           uint64_t missing_seq) {
    *exclude = a->len > 1 && a->ptr[0] == '(';
    if (*exclude) {
        resp_arg t = {a->ptr + 1, a->len - 1};
        return parseStrictId(c, &t, id, missing_seq);
    }
    return parseIdGeneric(c, a, id, missing_seq, 0, NULL);
}

/* ---- Lookup and logging helpers -------------------------------------------------- */

/* The stream at key for reading: *out NULL when absent. WRONGTYPE -> -1. */
static int lookupStreamOrReply(client *c, ks_txn *txn, const resp_arg *key, stream **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    if (e && ks_entry_type(e) != KS_TYPE_STREAM) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = e ? ks_entry_obj(e) : NULL;
    return 0;
}

static stream *streamMutable(client *c, ks_txn *txn, const resp_arg *key) {
    return ks_obj_mutable(txn, (unsigned)c->db, key->ptr, key->len);
}

/* Collects what a command logs: the first command replaces argv, the
 * next ones follow it in the same record. */
typedef struct logctx {
    client *c;
    int n;
} logctx;

static void logAdd(logctx *l, int argc, const resp_arg *argv) {
    if (l->n++ == 0) persist_rewrite(l->c, argc, argv);
    else persist_rewrite_add(l->c, argc, argv);
}

static resp_arg lit(const char *s) { return (resp_arg){(char *)s, strlen(s)}; }

static void logCreateConsumer(logctx *l, const resp_arg *key, const stream_cg *cg,
                              const stream_consumer *cons) {
    resp_arg a[5] = {lit("XGROUP"), lit("CREATECONSUMER"), *key, {cg->name, cg->nlen},
                     {cons->name, cons->nlen}};
    logAdd(l, 5, a);
}

/* Redis's streamPropagateXCLAIM. */
static void logXclaim(logctx *l, const resp_arg *key, const stream_cg *cg, const stream_id *id,
                      const stream_nack *nk) {
    char ids[STREAM_ID_STR_SIZE], last[STREAM_ID_STR_SIZE], tm[24], cnt[24];
    resp_arg a[14] = {lit("XCLAIM"),
                      *key,
                      {cg->name, cg->nlen},
                      {nk->consumer->name, nk->consumer->nlen},
                      lit("0"),
                      {ids, idFormat(ids, id)},
                      lit("TIME"),
                      {tm, (size_t)snprintf(tm, sizeof(tm), "%lld", (long long)nk->delivery_ms)},
                      lit("RETRYCOUNT"),
                      {cnt, (size_t)snprintf(cnt, sizeof(cnt), "%llu",
                                             (unsigned long long)nk->delivery_count)},
                      lit("FORCE"),
                      lit("JUSTID"),
                      lit("LASTID"),
                      {last, idFormat(last, &cg->last_id)}};
    logAdd(l, 14, a);
}

/* Redis's streamPropagateGroupID. */
static void logSetId(logctx *l, const resp_arg *key, const stream_cg *cg) {
    char ids[STREAM_ID_STR_SIZE], er[24];
    resp_arg a[7] = {lit("XGROUP"),
                     lit("SETID"),
                     *key,
                     {cg->name, cg->nlen},
                     {ids, idFormat(ids, &cg->last_id)},
                     lit("ENTRIESREAD"),
                     {er, (size_t)snprintf(er, sizeof(er), "%lld", cg->entries_read)}};
    logAdd(l, 7, a);
}

/* ---- Replies of entries ------------------------------------------------------------ */

static void addReplyEntry(client *c, stream_entry *e) {
    addReplyArrayLen(c, 2);
    addReplyStreamID(c, &e->id);
    addReplyArrayLen(c, (long long)e->nfields * 2);
    for (uint64_t i = 0; i < e->nfields; i++) {
        const char *f, *v;
        size_t fl, vl;
        stream_entry_field(e, &f, &fl, &v, &vl);
        addReplyBulk(c, f, fl);
        addReplyBulk(c, v, vl);
    }
}

/* Entries start..end (NULL: unbounded), at most count (0: all), as an
 * array. Returns how many. */
static size_t replyRange(client *c, const stream *s, const stream_id *start,
                         const stream_id *end, size_t count, int rev) {
    void *len = addReplyDeferredLen(c);
    size_t n = 0;
    stream_iter it;
    stream_entry e;
    stream_iter_init(&it, s, start, end, rev);
    while ((!count || n < count) && stream_iter_next(&it, &e)) {
        addReplyEntry(c, &e);
        n++;
    }
    setDeferredArrayLen(c, len, (long long)n);
    return n;
}

/* One entry (no array around it): 1, or 0 if it is gone. */
static int replyOneEntry(client *c, const stream *s, const stream_id *id) {
    stream_entry e;
    if (!stream_lookup(s, id, &e)) return 0;
    addReplyEntry(c, &e);
    return 1;
}

/* ---- XADD / XTRIM ---------------------------------------------------------------- */

enum { TRIM_NONE = 0 };

typedef struct trim_args {
    int strategy; /* TRIM_NONE, STREAM_TRIM_MAXLEN, STREAM_TRIM_MINID */
    int approx;
    long long maxlen;
    stream_id minid;
    long long limit;
    int id_given, seq_given, no_mkstream;
    stream_id id;
} trim_args;

/* Redis's streamParseAddOrTrimArgsOrReply: the index of the ID (XADD) or
 * argc, or -1 after replying. */
static int parseAddOrTrimArgs(client *c, trim_args *a, int xadd) {
    memset(a, 0, sizeof(*a));
    int i = xadd ? 2 : 2;
    int limit_given = 0;
    for (i = xadd ? 2 : 2; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const resp_arg *opt = &c->argv[i];
        if (xadd && opt->len == 1 && opt->ptr[0] == '*') {
            break;
        } else if (arg_is(opt, "maxlen") && more) {
            if (a->strategy != TRIM_NONE) {
                addReplyError(c, "ERR syntax error, MAXLEN and MINID options at the same time "
                                 "are not compatible");
                return -1;
            }
            a->approx = 0;
            const resp_arg *next = &c->argv[i + 1];
            if (more >= 2 && next->len == 1 && next->ptr[0] == '~') {
                a->approx = 1;
                i++;
            } else if (more >= 2 && next->len == 1 && next->ptr[0] == '=') {
                i++;
            }
            if (arg_ll_or_reply(c, &c->argv[i + 1], &a->maxlen, NULL) < 0) return -1;
            if (a->maxlen < 0) {
                addReplyError(c, "ERR The MAXLEN argument must be >= 0.");
                return -1;
            }
            i++;
            a->strategy = STREAM_TRIM_MAXLEN;
        } else if (arg_is(opt, "minid") && more) {
            if (a->strategy != TRIM_NONE) {
                addReplyError(c, "ERR syntax error, MAXLEN and MINID options at the same time "
                                 "are not compatible");
                return -1;
            }
            a->approx = 0;
            const resp_arg *next = &c->argv[i + 1];
            if (more >= 2 && next->len == 1 && next->ptr[0] == '~') {
                a->approx = 1;
                i++;
            } else if (more >= 2 && next->len == 1 && next->ptr[0] == '=') {
                i++;
            }
            if (parseStrictId(c, &c->argv[i + 1], &a->minid, 0) < 0) return -1;
            i++;
            a->strategy = STREAM_TRIM_MINID;
        } else if (arg_is(opt, "limit") && more) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &a->limit, NULL) < 0) return -1;
            if (a->limit < 0) {
                addReplyError(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && arg_is(opt, "nomkstream")) {
            a->no_mkstream = 1;
        } else if (xadd) {
            if (parseIdGeneric(c, opt, &a->id, 0, 1, &a->seq_given) < 0) return -1;
            a->id_given = 1;
            break;
        } else {
            addReplyErrorSyntax(c);
            return -1;
        }
    }
    if (a->limit && a->strategy == TRIM_NONE) {
        addReplyError(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming "
                         "strategy");
        return -1;
    }
    if (!xadd && a->strategy == TRIM_NONE) {
        addReplyError(c, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!a->approx) {
            addReplyError(c, "ERR syntax error, LIMIT cannot be used without the special ~ "
                             "option");
            return -1;
        }
    } else if (a->approx) {
        a->limit = 100LL * server.stream_node_max_entries;
        if (a->limit <= 0) a->limit = 10000;
    } else {
        a->limit = 0;
    }
    return i;
}

static uint64_t doTrim(stream *s, const trim_args *a) {
    return stream_trim(s, a->strategy, (uint64_t)a->maxlen, &a->minid, a->approx,
                       (uint64_t)a->limit);
}

/* The exact trim argument after an approximate trim: "MAXLEN = <length>"
 * or "MINID = <first id>" (a stream left empty: MAXLEN = 0). */
static void exactTrimArgs(const stream *s, const trim_args *a, resp_arg out[3],
                          char buf[STREAM_ID_STR_SIZE]) {
    out[1] = lit("=");
    if (a->strategy == STREAM_TRIM_MINID && s->length) {
        out[0] = lit("MINID");
        out[2] = (resp_arg){buf, idFormat(buf, &s->first_id)};
    } else {
        out[0] = lit("MAXLEN");
        out[2] = (resp_arg){buf, (size_t)snprintf(buf, STREAM_ID_STR_SIZE, "%llu",
                                                  (unsigned long long)s->length)};
    }
}

static void xaddCommand(client *c) {
    trim_args a;
    int idpos = parseAddOrTrimArgs(c, &a, 1);
    if (idpos < 0) return;
    int fpos = idpos + 1;
    if (c->argc - fpos < 2 || (c->argc - fpos) % 2 == 1) {
        addReplyErrorArity(c);
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        addReplyError(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (!cur && a.no_mkstream) {
        addReplyNull(c);
        goto done;
    }
    stream_id last = cur ? cur->last_id : (stream_id){0, 0};
    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        addReplyError(c, "ERR The stream has exhausted the last possible ID, unable to add "
                         "more items");
        goto done;
    }
    stream_id id;
    if (a.id_given) {
        if (a.seq_given) {
            id = a.id;
        } else if (last.ms == a.id.ms) {
            if (last.seq == UINT64_MAX) {
                addReplyError(c, "ERR The ID specified in XADD is equal or smaller than the "
                                 "target stream top item");
                goto done;
            }
            id = last;
            id.seq++;
        } else {
            id = a.id;
        }
    } else {
        uint64_t now = (uint64_t)txn.now_ms;
        if (now > last.ms) {
            id = (stream_id){now, 0};
        } else {
            id = last;
            idIncr(&id);
        }
    }
    if (stream_id_cmp(&id, &last) <= 0) {
        addReplyError(c, "ERR The ID specified in XADD is equal or smaller than the target "
                         "stream top item");
        goto done;
    }
    size_t nf = (size_t)(c->argc - fpos) / 2, tot = 0;
    for (int j = fpos; j < c->argc; j++) tot += c->argv[j].len;
    if (tot > STREAM_MAX_ELE_BYTES) {
        addReplyError(c, "ERR Elements are too large to be stored");
        goto done;
    }
    stream *s = cur ? streamMutable(c, &txn, key) : stream_new();
    const char **f = lt_xmalloc(nf * 2 * sizeof(char *));
    size_t *l = lt_xmalloc(nf * 2 * sizeof(size_t));
    for (size_t i = 0; i < nf; i++) {
        f[i] = c->argv[fpos + 2 * i].ptr;
        l[i] = c->argv[fpos + 2 * i].len;
        f[nf + i] = c->argv[fpos + 2 * i + 1].ptr;
        l[nf + i] = c->argv[fpos + 2 * i + 1].len;
    }
    stream_append(s, &id, nf, f, l, f + nf, l + nf, (uint64_t)server.stream_node_max_bytes,
                  (uint64_t)server.stream_node_max_entries);
    free(f);
    free(l);
    if (!cur) {
        ks_set_obj(&txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_STREAM, s, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    addReplyStreamID(c, &id);
    notify_key(NOTIFY_STREAM, "xadd", key, c->db);
    if (a.strategy != TRIM_NONE && doTrim(s, &a)) notify_key(NOTIFY_STREAM, "xtrim", key, c->db);
    if (!a.id_given || !a.seq_given || a.approx) {
        /* XADD key [trim = exact] id fields... */
        resp_arg *argv = lt_xmalloc((size_t)(c->argc + 6) * sizeof(*argv));
        char idb[STREAM_ID_STR_SIZE], tb[STREAM_ID_STR_SIZE];
        int n = 0;
        argv[n++] = c->argv[0];
        argv[n++] = *key;
        if (a.strategy != TRIM_NONE) {
            if (a.approx) {
                exactTrimArgs(s, &a, argv + n, tb);
                n += 3;
            } else {
                /* Exact trimming replays as given. */
                char *mb = tb;
                if (a.strategy == STREAM_TRIM_MAXLEN) {
                    argv[n++] = lit("MAXLEN");
                    argv[n++] = lit("=");
                    argv[n++] = (resp_arg){mb, (size_t)snprintf(mb, STREAM_ID_STR_SIZE, "%lld",
                                                                a.maxlen)};
                } else {
                    argv[n++] = lit("MINID");
                    argv[n++] = lit("=");
                    argv[n++] = (resp_arg){mb, idFormat(mb, &a.minid)};
                }
            }
        }
        argv[n++] = (resp_arg){idb, idFormat(idb, &id)};
        for (int j = fpos; j < c->argc; j++) argv[n++] = c->argv[j];
        persist_rewrite(c, n, argv);
        free(argv);
    }
    blocking_signal_key((unsigned)c->db, key->ptr, key->len);
done:
    ks_txn_commit(&txn);
}

static void xtrimCommand(client *c) {
    trim_args a;
    if (parseAddOrTrimArgs(c, &a, 0) < 0) return;
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (!cur) {
        addReplyLongLong(c, 0);
        goto done;
    }
    /* Nothing to remove: no write (Redis does not propagate either). */
    if (!cur->length || (a.strategy == STREAM_TRIM_MAXLEN && cur->length <= (uint64_t)a.maxlen) ||
        (a.strategy == STREAM_TRIM_MINID && stream_id_cmp(&cur->first_id, &a.minid) >= 0)) {
        addReplyLongLong(c, 0);
        goto done;
    }
    stream *s = streamMutable(c, &txn, key);
    uint64_t removed = doTrim(s, &a);
    if (removed) notify_key(NOTIFY_STREAM, "xtrim", key, c->db);
    if (a.approx) {
        resp_arg argv[5];
        char tb[STREAM_ID_STR_SIZE];
        argv[0] = c->argv[0];
        argv[1] = *key;
        exactTrimArgs(s, &a, argv + 2, tb);
        persist_rewrite(c, 5, argv);
    }
    addReplyLongLong(c, (long long)removed);
done:
    ks_txn_commit(&txn);
}

/* ---- XRANGE / XREVRANGE / XLEN / XDEL / XSETID ------------------------------------- */

static void xrangeGeneric(client *c, int rev) {
    const resp_arg *sa = rev ? &c->argv[3] : &c->argv[2];
    const resp_arg *ea = rev ? &c->argv[2] : &c->argv[3];
    stream_id start, end;
    int sex, eex;
    long long count = -1;
    if (parseIntervalId(c, sa, &start, &sex, 0) < 0) return;
    if (sex && idIncr(&start) < 0) {
        addReplyError(c, "ERR invalid start ID for the interval");
        return;
    }
    if (parseIntervalId(c, ea, &end, &eex, UINT64_MAX) < 0) return;
    if (eex && idDecr(&end) < 0) {
        addReplyError(c, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(&c->argv[j], "count") && more >= 1) {
            if (arg_ll_or_reply(c, &c->argv[j + 1], &count, NULL) < 0) return;
            if (count < 0) count = 0;
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    if (lookupStreamOrReply(c, &txn, &c->argv[1], &s) < 0) goto done;
    if (!s) {
        addReplyArrayLen(c, 0);
    } else if (count == 0) {
        addReplyNullArray(c);
    } else {
        replyRange(c, s, &start, &end, count == -1 ? 0 : (size_t)count, rev);
    }
done:
    ks_txn_commit(&txn);
}

static void xrangeCommand(client *c) { xrangeGeneric(c, 0); }
static void xrevrangeCommand(client *c) { xrangeGeneric(c, 1); }

static void xlenCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    if (lookupStreamOrReply(c, &txn, &c->argv[1], &s) == 0)
        addReplyLongLong(c, s ? (long long)s->length : 0);
    ks_txn_commit(&txn);
}

static void xdelCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    int n = c->argc - 2;
    stream_id *ids = NULL;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (!cur) {
        addReplyLongLong(c, 0);
        goto done;
    }
    ids = lt_xmalloc((size_t)n * sizeof(*ids));
    for (int j = 0; j < n; j++)
        if (parseStrictId(c, &c->argv[j + 2], &ids[j], 0) < 0) goto done;
    int any = 0;
    stream_entry e;
    for (int j = 0; j < n && !any; j++) any = stream_lookup(cur, &ids[j], &e);
    long long deleted = 0;
    if (any) {
        stream *s = streamMutable(c, &txn, key);
        for (int j = 0; j < n; j++) deleted += stream_delete(s, &ids[j]);
        if (deleted) notify_key(NOTIFY_STREAM, "xdel", key, c->db);
    }
    addReplyLongLong(c, deleted);
done:
    free(ids);
    ks_txn_commit(&txn);
}

static void xsetidCommand(client *c) {
    stream_id id, maxdel = {0, 0};
    long long added = -1;
    if (parseStrictId(c, &c->argv[2], &id, 0) < 0) return;
    for (int i = 3; i < c->argc;) {
        int more = c->argc - 1 - i;
        if (arg_is(&c->argv[i], "entriesadded") && more) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], &added, NULL) < 0) return;
            if (added < 0) {
                addReplyError(c, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (arg_is(&c->argv[i], "maxdeletedid") && more) {
            if (parseStrictId(c, &c->argv[i + 1], &maxdel, 0) < 0) return;
            if (stream_id_cmp(&id, &maxdel) < 0) {
                addReplyError(c, "ERR The ID specified in XSETID is smaller than the provided "
                                 "max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (!cur) {
        addReplyError(c, "ERR no such key");
        goto done;
    }
    if (cur->length) {
        stream_iter it;
        stream_entry e;
        stream_iter_init(&it, cur, NULL, NULL, 1);
        stream_iter_next(&it, &e);
        if (stream_id_cmp(&id, &e.id) < 0) {
            addReplyError(c, "ERR The ID specified in XSETID is smaller than the target stream "
                             "top item");
            goto done;
        }
        if (added != -1 && cur->length > (uint64_t)added) {
            addReplyError(c, "ERR The entries_added specified in XSETID is smaller than the "
                             "target stream length");
            goto done;
        }
    }
    if (stream_id_cmp(&id, &cur->max_deleted_id) < 0) {
        addReplyError(c, "ERR The ID specified in XSETID is smaller than current "
                         "max_deleted_entry_id");
        goto done;
    }
    stream *s = streamMutable(c, &txn, key);
    s->last_id = id;
    if (added != -1) s->entries_added = (uint64_t)added;
    if (maxdel.ms || maxdel.seq) s->max_deleted_id = maxdel;
    notify_key(NOTIFY_STREAM, "xsetid", key, c->db);
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

/* ---- XREAD / XREADGROUP ---------------------------------------------------------- */

/* Redis's xreadGetKeys: the first half of the arguments after STREAMS. */
static int xreadStreamsPos(const resp_arg *argv, int argc) {
    for (int i = 1; i < argc; i++) {
        if (arg_is(&argv[i], "block") || arg_is(&argv[i], "count")) i++;
        else if (arg_is(&argv[i], "group")) i += 2;
        else if (arg_is(&argv[i], "noack")) continue;
        else if (arg_is(&argv[i], "streams")) return i;
        else break;
    }
    return -1;
}

static int xreadGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    int pos = xreadStreamsPos(argv, argc);
    int nk = argc - pos - 1;
    if (pos < 0 || nk == 0 || nk % 2) return 0;
    nk /= 2;
    int n = 0;
    for (int i = 0; i < nk && n < max; i++) keys[n++] = pos + 1 + i;
    return n;
}

/* Delivers entries of s after *start to a group (Redis's
 * streamReplyWithRange with a group): moves the group's last ID and read
 * counter, creates or reassigns PEL entries unless noack, logs XCLAIMs and
 * the SETID. Replies the array; returns how many. */
static size_t deliverNew(client *c, const resp_arg *key, stream *s, stream_cg *cg,
                         stream_consumer *cons, const stream_id *start, size_t count, int noack,
                         int64_t now, logctx *l) {
    void *len = addReplyDeferredLen(c);
    size_t n = 0;
    int moved = 0;
    stream_iter it;
    stream_entry e;
    stream_iter_init(&it, s, start, NULL, 0);
    /* The iterator stays valid: PEL changes do not touch entries. */
    while ((!count || n < count) && stream_iter_next(&it, &e)) {
        if (stream_id_cmp(&e.id, &cg->last_id) > 0) {
            if (cg->entries_read != STREAM_ENTRIES_READ_INVALID &&
                !stream_range_has_tombstones(s, &e.id, NULL))
                cg->entries_read++;
            else if (s->entries_added)
                cg->entries_read = stream_estimate_distance(s, &e.id);
            cg->last_id = e.id;
            moved = 1;
        }
        stream_id id = e.id;
        addReplyEntry(c, &e);
        if (!noack) {
            stream_nack *nk = stream_cg_nack(cg, &id);
            if (nk) {
                stream_nack_move(nk, cons);
                nk->delivery_ms = now;
                nk->delivery_count = 1;
            } else {
                nk = stream_cg_add_nack(cg, cons, &id, now, 1);
            }
            logXclaim(l, key, cg, &id, nk);
        }
        n++;
    }
    if (moved) logSetId(l, key, cg);
    setDeferredArrayLen(c, len, (long long)n);
    return n;
}

/* History of a consumer (Redis's streamReplyWithRangeFromConsumerPEL):
 * its pending entries from start, redelivered (count and time updated),
 * a deleted one as [id, nil]. */
static void deliverHistory(client *c, const resp_arg *key, stream *s, stream_cg *cg,
                           stream_consumer *cons, const stream_id *start, size_t count,
                           int64_t now, logctx *l) {
    void *len = addReplyDeferredLen(c);
    size_t n = 0;
    size_t at = stream_pel_lower_bound(&cons->pel, start, NULL);
    for (; at < cons->pel.n && (!count || n < count); at++) {
        stream_nack *nk = cons->pel.v[at];
        if (!replyOneEntry(c, s, &nk->id)) {
            addReplyArrayLen(c, 2);
            addReplyStreamID(c, &nk->id);
            addReplyNullArray(c);
        } else {
            nk->delivery_ms = now;
            nk->delivery_count++;
            logXclaim(l, key, cg, &nk->id, nk);
        }
        n++;
    }
    setDeferredArrayLen(c, len, (long long)n);
}

/* Whether a history read of cons from start would redeliver an entry
 * that exists (and so write). */
static int historyWrites(const stream *s, const stream_consumer *cons, const stream_id *start,
                         size_t count) {
    size_t at = stream_pel_lower_bound(&cons->pel, start, NULL);
    stream_entry e;
    for (size_t n = 0; at < cons->pel.n && (!count || n < count); at++, n++)
        if (stream_lookup(s, &cons->pel.v[at]->id, &e)) return 1;
    return 0;
}

/* Last live entry ID of s (Redis's streamLastValidID); 0-0 when empty. */
static stream_id lastValidId(const stream *s) {
    stream_iter it;
    stream_entry e;
    stream_iter_init(&it, s, NULL, NULL, 1);
    if (stream_iter_next(&it, &e)) return e.id;
    return (stream_id){0, 0};
}

static void xreadGeneric(client *c, int group_mode) {
    long long timeout = -1, count = 0;
    int streams_arg = 0, nstreams = 0, noack = 0;
    const resp_arg *gname = NULL, *cname = NULL;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        const resp_arg *o = &c->argv[i];
        if (arg_is(o, "block") && more) {
            if (c->flags & CLIENT_SCRIPT) {
                /* Redis refuses BLOCK in scripts outright (not a non-blocking read). */
                addReplyErrorFormat(c, "ERR %.*s command is not allowed with BLOCK option from scripts",
                                    (int)c->argv[0].len, c->argv[0].ptr);
                return;
            }
            i++;
            if (arg_ll_or_reply(c, &c->argv[i], &timeout,
                                "ERR timeout is not an integer or out of range") < 0)
                return;
            if (timeout < 0) {
                addReplyError(c, "ERR timeout is negative");
                return;
            }
        } else if (arg_is(o, "count") && more) {
            i++;
            if (arg_ll_or_reply(c, &c->argv[i], &count, NULL) < 0) return;
            if (count < 0) count = 0;
        } else if (arg_is(o, "streams") && more) {
            streams_arg = i + 1;
            nstreams = c->argc - streams_arg;
            if (nstreams % 2) {
                /* 7.0's text, XREADGROUP included. */
                addReplyError(c, "ERR Unbalanced XREAD list of streams: for each stream key an "
                                 "ID or '$' must be specified.");
                return;
            }
            nstreams /= 2;
            break;
        } else if (arg_is(o, "group") && more >= 2) {
            if (!group_mode) {
                addReplyError(c, "ERR The GROUP option is only supported by XREADGROUP. You "
                                 "called XREAD instead.");
                return;
            }
            gname = &c->argv[i + 1];
            cname = &c->argv[i + 2];
            i += 2;
        } else if (arg_is(o, "noack")) {
            if (!group_mode) {
                addReplyError(c, "ERR The NOACK option is only supported by XREADGROUP. You "
                                 "called XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (streams_arg == 0) {
        addReplyErrorSyntax(c);
        return;
    }
    if (group_mode && !gname) {
        addReplyError(c, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    /* Keys locked by engine_begin_cmd are xreadGetKeys': the same ones. */
    if (xreadStreamsPos(c->argv, c->argc) != streams_arg - 1) {
        addReplyErrorSyntax(c);
        return;
    }
    int rerun = blocking_rerun(c);
    if (rerun && !count) count = XREAD_BLOCKED_DEFAULT_COUNT;
    int64_t deadline = 0;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (timeout > 0) deadline = txn.now_ms + timeout;
    int64_t now = txn.now_ms;
    stream_id *ids = lt_xmalloc((size_t)nstreams * sizeof(*ids));
    stream_cg **groups = group_mode ? lt_xcalloc((size_t)nstreams, sizeof(*groups)) : NULL;
    int *dollar = lt_xcalloc((size_t)nstreams, sizeof(int));
    logctx l = {c, 0};
    for (int i = 0; i < nstreams; i++) {
        const resp_arg *key = &c->argv[streams_arg + i];
        const resp_arg *ida = &c->argv[streams_arg + nstreams + i];
        stream *s;
        ks_entry *e = ks_lookup(&txn, (unsigned)c->db, key->ptr, key->len, 0);
        if (rerun && group_mode && (!e || ks_entry_type(e) != KS_TYPE_STREAM)) {
            /* The stream was deleted or overwritten while we waited:
             * its group is gone with it (Redis unblocks at once). */
            addReplyError(c, "UNBLOCKED the stream key no longer exists");
            goto cleanup;
        }
        if (e && ks_entry_type(e) != KS_TYPE_STREAM) {
            if (rerun) {
                /* Not a stream now: XREAD keeps waiting (Redis serves
                 * stream waiters from streams only). */
                if (blocking_allowed(c)) {
                    blocking_block_broadcast(c, &c->argv[streams_arg], nstreams, deadline);
                    goto cleanup;
                }
            }
            addReplyErrorWrongType(c);
            goto cleanup;
        }
        s = e ? ks_entry_obj(e) : NULL;
        if (group_mode) {
            stream_cg *cg = s ? stream_cg_find(s, gname->ptr, gname->len) : NULL;
            if (!cg) {
                if (rerun)
                    addReplyError(c, "NOGROUP the consumer group this client was blocked on "
                                     "no longer exists");
                else
                    addReplyErrorFormat(c,
                                        "NOGROUP No such key '%.*s' or consumer group '%.*s' in "
                                        "XREADGROUP with GROUP option",
                                        (int)key->len, key->ptr, (int)gname->len, gname->ptr);
                goto cleanup;
            }
            groups[i] = cg;
        }
        if (ida->len == 1 && ida->ptr[0] == '$') {
            if (group_mode) {
                addReplyError(c, "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                                 "want to read the history of this consumer by specifying a "
                                 "proper ID, or use the > ID to get new messages. The $ ID "
                                 "would just return an empty result set.");
                goto cleanup;
            }
            ids[i] = s ? s->last_id : (stream_id){0, 0};
            dollar[i] = 1;
            continue;
        }
        if (ida->len == 1 && ida->ptr[0] == '>') {
            if (!group_mode) {
                addReplyError(c, "ERR The > ID can be specified only when calling XREADGROUP "
                                 "using the GROUP <group> <consumer> option.");
                goto cleanup;
            }
            ids[i] = ID_MAX;
            continue;
        }
        if (parseStrictId(c, ida, &ids[i], 0) < 0) goto cleanup;
    }

    size_t served = 0;
    void *maplen = NULL;
    for (int i = 0; i < nstreams; i++) {
        const resp_arg *key = &c->argv[streams_arg + i];
        stream *s;
        ks_entry *e = ks_lookup(&txn, (unsigned)c->db, key->ptr, key->len, 0);
        if (!e) continue;
        s = ks_entry_obj(e);
        stream_id gt = ids[i];
        int serve = 0, history = 0;
        if (group_mode) {
            stream_cg *cg = stream_cg_find(s, gname->ptr, gname->len);
            if (gt.ms != UINT64_MAX || gt.seq != UINT64_MAX) {
                serve = history = 1;
            } else if (s->length) {
                stream_id maxid = lastValidId(s);
                if (stream_id_cmp(&maxid, &cg->last_id) > 0) {
                    serve = 1;
                    gt = cg->last_id;
                }
            }
            /* Redis 7.0 looks the consumer up (and creates it) only when
             * it serves this stream. */
            if (!serve) continue;
            stream_consumer *cons = stream_consumer_find(cg, cname->ptr, cname->len);
            stream_id start = gt;
            idIncr(&start);
            int writes = !cons || !history || historyWrites(s, cons, &start, (size_t)count);
            if (writes) {
                /* A new version: group and consumer pointers re-found. */
                s = streamMutable(c, &txn, key);
                cg = stream_cg_find(s, gname->ptr, gname->len);
                groups[i] = cg;
                cons = stream_consumer_find(cg, cname->ptr, cname->len);
                if (!cons) {
                    cons = stream_consumer_create(cg, cname->ptr, cname->len, now);
                    logCreateConsumer(&l, key, cg, cons);
                    notify_key(NOTIFY_STREAM, "xgroup-createconsumer", key, c->db);
                }
            }
            cons->seen_ms = now;
            if (++served == 1) maplen = addReplyDeferredLen(c);
            if (c->resp == 2) addReplyArrayLen(c, 2);
            addReplyBulk(c, key->ptr, key->len);
            if (history) deliverHistory(c, key, s, cg, cons, &start, (size_t)count, now, &l);
            else deliverNew(c, key, s, cg, cons, &start, (size_t)count, noack, now, &l);
        } else if (s->length) {
            stream_id maxid = lastValidId(s);
            if (stream_id_cmp(&maxid, &gt) > 0) {
                stream_id start = gt;
                idIncr(&start);
                if (++served == 1) maplen = addReplyDeferredLen(c);
                if (c->resp == 2) addReplyArrayLen(c, 2);
                addReplyBulk(c, key->ptr, key->len);
                replyRange(c, s, &start, NULL, (size_t)count, 0);
            }
        }
    }
    if (served) {
        if (c->resp == 2) setDeferredArrayLen(c, maplen, (long long)served);
        else setDeferredMapLen(c, maplen, (long long)served);
        goto cleanup;
    }
    if (timeout != -1 && blocking_allowed(c)) {
        /* The re-run reads after the IDs seen now: `$` becomes them. */
        resp_arg *saved = c->argv;
        resp_arg *argv = lt_xmalloc((size_t)c->argc * sizeof(*argv));
        char *idbuf = lt_xmalloc((size_t)nstreams * STREAM_ID_STR_SIZE);
        memcpy(argv, c->argv, (size_t)c->argc * sizeof(*argv));
        for (int i = 0; i < nstreams; i++) {
            if (!dollar[i]) continue;
            char *b = idbuf + (size_t)i * STREAM_ID_STR_SIZE;
            argv[streams_arg + nstreams + i] = (resp_arg){b, idFormat(b, &ids[i])};
        }
        c->argv = argv;
        blocking_block_broadcast(c, &argv[streams_arg], nstreams, deadline);
        c->argv = saved;
        free(argv);
        free(idbuf);
        goto cleanup;
    }
    addReplyNullArray(c);
cleanup:
    free(ids);
    free(groups);
    free(dollar);
    ks_txn_commit(&txn);
}

static void xreadCommand(client *c) { xreadGeneric(c, 0); }
static void xreadgroupCommand(client *c) { xreadGeneric(c, 1); }

/* Redis's addReplySubcommandSyntaxError. */
static void replySubcommandSyntax(client *c, const char *container) {
    addReplyErrorFormat(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s "
                           "HELP.",
                        (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr,
                        container);
}

/* ---- XGROUP ------------------------------------------------------------------------ */

static void replyNoGroupForKey(client *c, const resp_arg *g, const resp_arg *key) {
    addReplyErrorFormat(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                        (int)g->len, g->ptr, (int)key->len, key->ptr);
}

/* Parses XGROUP CREATE/SETID trailing options from argv[5]. */
static int xgroupOptions(client *c, int create, int *mkstream, long long *entries_read) {
    for (int i = 5; i < c->argc;) {
        if (create && arg_is(&c->argv[i], "mkstream")) {
            *mkstream = 1;
            i++;
        } else if (arg_is(&c->argv[i], "entriesread") && i + 1 < c->argc) {
            if (arg_ll_or_reply(c, &c->argv[i + 1], entries_read, NULL) < 0) return -1;
            if (*entries_read < 0 && *entries_read != STREAM_ENTRIES_READ_INVALID) {
                addReplyError(c, "ERR value for ENTRIESREAD must be positive or -1");
                return -1;
            }
            i += 2;
        } else {
            replySubcommandSyntax(c, "XGROUP");
            return -1;
        }
    }
    return 0;
}

static const char *const XGROUP_NOKEY =
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically.";

/* The stream of an XGROUP subcommand: replies WRONGTYPE or (absent)
 * Redis's "requires the key to exist" and returns NULL. */
static stream *xgroupStreamOrReply(client *c, ks_txn *txn) {
    stream *cur;
    if (lookupStreamOrReply(c, txn, &c->argv[2], &cur) < 0) return NULL;
    if (!cur) addReplyError(c, XGROUP_NOKEY);
    return cur;
}

static void xgroupCreateCommand(client *c) {
    int mkstream = 0;
    long long er = STREAM_ENTRIES_READ_INVALID;
    if (c->argc > 8) {
        replySubcommandSyntax(c, "XGROUP");
        return;
    }
    if (xgroupOptions(c, 1, &mkstream, &er) < 0) return;
    const resp_arg *key = &c->argv[2], *g = &c->argv[3];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (!cur && !mkstream) {
        addReplyError(c, XGROUP_NOKEY);
        goto done;
    }
    stream_id id;
    if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') {
        id = cur ? cur->last_id : (stream_id){0, 0};
    } else if (parseStrictId(c, &c->argv[4], &id, 0) < 0) {
        goto done;
    }
    if (cur && stream_cg_find(cur, g->ptr, g->len)) {
        addReplyError(c, "BUSYGROUP Consumer Group name already exists");
        goto done;
    }
    stream *s = cur ? streamMutable(c, &txn, key) : stream_new();
    stream_cg_create(s, g->ptr, g->len, &id, er);
    if (!cur) {
        ks_set_obj(&txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_STREAM, s, KS_EXPIRE_NONE);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    }
    notify_key(NOTIFY_STREAM, "xgroup-create", key, c->db);
    /* `$` resolved: the log names the ID. */
    char idb[STREAM_ID_STR_SIZE];
    resp_arg argv[9];
    memcpy(argv, c->argv, (size_t)c->argc * sizeof(*argv));
    argv[4] = (resp_arg){idb, idFormat(idb, &id)};
    persist_rewrite(c, c->argc, argv);
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

static void xgroupSetidCommand(client *c) {
    int mk = 0;
    long long er = STREAM_ENTRIES_READ_INVALID;
    if (c->argc != 5 && c->argc != 7) {
        replySubcommandSyntax(c, "XGROUP");
        return;
    }
    if (xgroupOptions(c, 0, &mk, &er) < 0) return;
    const resp_arg *key = &c->argv[2], *g = &c->argv[3];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur = xgroupStreamOrReply(c, &txn);
    if (!cur) goto done;
    if (!stream_cg_find(cur, g->ptr, g->len)) {
        replyNoGroupForKey(c, g, key);
        goto done;
    }
    stream_id id;
    if (c->argv[4].len == 1 && c->argv[4].ptr[0] == '$') id = cur->last_id;
    else if (parseIdGeneric(c, &c->argv[4], &id, 0, 0, NULL) < 0) goto done;
    stream *s = streamMutable(c, &txn, key);
    stream_cg *cg = stream_cg_find(s, g->ptr, g->len);
    cg->last_id = id;
    cg->entries_read = er;
    logctx l = {c, 0};
    logSetId(&l, key, cg);
    notify_key(NOTIFY_STREAM, "xgroup-setid", key, c->db);
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
}

static void xgroupDestroyCommand(client *c) {
    const resp_arg *key = &c->argv[2], *g = &c->argv[3];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur = xgroupStreamOrReply(c, &txn);
    if (!cur) goto done;
    if (!stream_cg_find(cur, g->ptr, g->len)) {
        addReplyLongLong(c, 0);
        goto done;
    }
    stream *s = streamMutable(c, &txn, key);
    stream_cg_destroy(s, g->ptr, g->len);
    notify_key(NOTIFY_STREAM, "xgroup-destroy", key, c->db);
    /* Blocked XREADGROUP readers of the group get NOGROUP. */
    blocking_signal_key((unsigned)c->db, key->ptr, key->len);
    addReplyLongLong(c, 1);
done:
    ks_txn_commit(&txn);
}

static void xgroupConsumerGeneric(client *c, int create) {
    const resp_arg *key = &c->argv[2], *g = &c->argv[3], *cn = &c->argv[4];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream_cg *cg;
    stream *cur = xgroupStreamOrReply(c, &txn);
    if (!cur) goto done;
    if (!(cg = stream_cg_find(cur, g->ptr, g->len))) {
        replyNoGroupForKey(c, g, key);
        goto done;
    }
    stream_consumer *cons = stream_consumer_find(cg, cn->ptr, cn->len);
    if (create ? cons != NULL : cons == NULL) {
        addReplyLongLong(c, 0);
        goto done;
    }
    stream *s = streamMutable(c, &txn, key);
    cg = stream_cg_find(s, g->ptr, g->len);
    if (create) {
        stream_consumer_create(cg, cn->ptr, cn->len, txn.now_ms);
        notify_key(NOTIFY_STREAM, "xgroup-createconsumer", key, c->db);
        addReplyLongLong(c, 1);
    } else {
        cons = stream_consumer_find(cg, cn->ptr, cn->len);
        addReplyLongLong(c, (long long)stream_consumer_delete(cg, cons));
        notify_key(NOTIFY_STREAM, "xgroup-delconsumer", key, c->db);
    }
done:
    ks_txn_commit(&txn);
}

static void xgroupCreateconsumerCommand(client *c) { xgroupConsumerGeneric(c, 1); }
static void xgroupDelconsumerCommand(client *c) { xgroupConsumerGeneric(c, 0); }

static void xgroupHelpCommand(client *c) {
    static const char *help[] = {
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        NULL};
    addReplyHelp(c, help);
}

/* ---- XACK / XPENDING ------------------------------------------------------------- */

static void xackCommand(client *c) {
    const resp_arg *key = &c->argv[1], *g = &c->argv[2];
    int n = c->argc - 3;
    stream_id *ids = NULL;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    stream_cg *cg = NULL;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur) cg = stream_cg_find(cur, g->ptr, g->len);
    if (!cg) {
        addReplyLongLong(c, 0);
        goto done;
    }
    ids = lt_xmalloc((size_t)n * sizeof(*ids));
    for (int j = 0; j < n; j++)
        if (parseStrictId(c, &c->argv[j + 3], &ids[j], 0) < 0) goto done;
    int any = 0;
    for (int j = 0; j < n && !any; j++) any = stream_cg_nack(cg, &ids[j]) != NULL;
    long long acked = 0;
    if (any) {
        stream *s = streamMutable(c, &txn, key);
        cg = stream_cg_find(s, g->ptr, g->len);
        for (int j = 0; j < n; j++) acked += stream_cg_ack(cg, &ids[j]);
    }
    addReplyLongLong(c, acked);
done:
    free(ids);
    ks_txn_commit(&txn);
}

static void replyNoGroup(client *c, const resp_arg *key, const resp_arg *g) {
    addReplyErrorFormat(c, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len,
                        key->ptr, (int)g->len, g->ptr);
}

static void xpendingCommand(client *c) {
    int justinfo = c->argc == 3;
    const resp_arg *key = &c->argv[1], *g = &c->argv[2], *cname = NULL;
    stream_id start = {0, 0}, end = ID_MAX;
    long long count = 0, minidle = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        addReplyErrorSyntax(c);
        return;
    }
    if (c->argc >= 6) {
        int si = 3, sex, eex;
        if (arg_is(&c->argv[3], "idle")) {
            if (arg_ll_or_reply(c, &c->argv[4], &minidle, NULL) < 0) return;
            if (c->argc < 8) {
                addReplyErrorSyntax(c);
                return;
            }
            si += 2;
        }
        if (arg_ll_or_reply(c, &c->argv[si + 2], &count, NULL) < 0) return;
        if (count < 0) count = 0;
        if (parseIntervalId(c, &c->argv[si], &start, &sex, 0) < 0) return;
        if (sex && idIncr(&start) < 0) {
            addReplyError(c, "ERR invalid start ID for the interval");
            return;
        }
        if (parseIntervalId(c, &c->argv[si + 1], &end, &eex, UINT64_MAX) < 0) return;
        if (eex && idDecr(&end) < 0) {
            addReplyError(c, "ERR invalid end ID for the interval");
            return;
        }
        if (si + 3 < c->argc) cname = &c->argv[si + 3];
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    stream_cg *cg = NULL;
    if (lookupStreamOrReply(c, &txn, key, &s) < 0) goto done;
    if (s) cg = stream_cg_find(s, g->ptr, g->len);
    if (!cg) {
        replyNoGroup(c, key, g);
        goto done;
    }
    if (justinfo) {
        addReplyArrayLen(c, 4);
        addReplyLongLong(c, (long long)cg->pel.n);
        if (!cg->pel.n) {
            addReplyNull(c);
            addReplyNull(c);
            addReplyNullArray(c);
            goto done;
        }
        addReplyStreamID(c, &cg->pel.v[0]->id);
        addReplyStreamID(c, &cg->pel.v[cg->pel.n - 1]->id);
        size_t nc = 0;
        for (size_t i = 0; i < cg->nconsumers; i++) nc += cg->consumers[i]->pel.n > 0;
        addReplyArrayLen(c, (long long)nc);
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *cons = cg->consumers[i];
            if (!cons->pel.n) continue;
            addReplyArrayLen(c, 2);
            addReplyBulk(c, cons->name, cons->nlen);
            addReplyBulkLongLong(c, (long long)cons->pel.n);
        }
        goto done;
    }
    const stream_pel *pel = &cg->pel;
    if (cname) {
        const stream_consumer *cons = stream_consumer_find(cg, cname->ptr, cname->len);
        if (!cons) {
            addReplyArrayLen(c, 0);
            goto done;
        }
        pel = &cons->pel;
    }
    int64_t now = txn.now_ms;
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    for (size_t at = stream_pel_lower_bound(pel, &start, NULL);
         count && at < pel->n && stream_id_cmp(&pel->v[at]->id, &end) <= 0; at++) {
        const stream_nack *nk = pel->v[at];
        if (minidle && now - nk->delivery_ms < minidle) continue;
        n++;
        count--;
        addReplyArrayLen(c, 4);
        addReplyStreamID(c, &nk->id);
        addReplyBulk(c, nk->consumer->name, nk->consumer->nlen);
        int64_t el = now - nk->delivery_ms;
        addReplyLongLong(c, el < 0 ? 0 : el);
        addReplyLongLong(c, (long long)nk->delivery_count);
    }
    setDeferredArrayLen(c, len, n);
done:
    ks_txn_commit(&txn);
}

/* ---- XCLAIM / XAUTOCLAIM --------------------------------------------------------- */

static void xclaimCommand(client *c) {
    const resp_arg *key = &c->argv[1], *g = &c->argv[2], *cn = &c->argv[3];
    long long minidle, retrycount = -1, deliverytime = -1;
    int force = 0, justid = 0;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    stream_cg *cg = NULL;
    stream_id *ids = NULL;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur) cg = stream_cg_find(cur, g->ptr, g->len);
    if (!cg) {
        replyNoGroup(c, key, g);
        goto done;
    }
    if (arg_ll_or_reply(c, &c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM") <
        0)
        goto done;
    if (minidle < 0) minidle = 0;
    int j, nids = 0;
    ids = lt_xmalloc((size_t)c->argc * sizeof(*ids));
    for (j = 5; j < c->argc; j++) {
        if (parseStrictId(NULL, &c->argv[j], &ids[nids], 0) < 0) break;
        nids++;
    }
    int64_t now = txn.now_ms;
    stream_id last_id = {0, 0};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const resp_arg *o = &c->argv[j];
        if (arg_is(o, "force")) {
            force = 1;
        } else if (arg_is(o, "justid")) {
            justid = 1;
        } else if (arg_is(o, "idle") && more) {
            j++;
            if (arg_ll_or_reply(c, &c->argv[j], &deliverytime,
                                "ERR Invalid IDLE option argument for XCLAIM") < 0)
                goto done;
            deliverytime = now - deliverytime;
        } else if (arg_is(o, "time") && more) {
            j++;
            if (arg_ll_or_reply(c, &c->argv[j], &deliverytime,
                                "ERR Invalid TIME option argument for XCLAIM") < 0)
                goto done;
        } else if (arg_is(o, "retrycount") && more) {
            j++;
            if (arg_ll_or_reply(c, &c->argv[j], &retrycount,
                                "ERR Invalid RETRYCOUNT option argument for XCLAIM") < 0)
                goto done;
        } else if (arg_is(o, "lastid") && more) {
            j++;
            if (parseStrictId(c, &c->argv[j], &last_id, 0) < 0) goto done;
        } else {
            addReplyErrorFormat(c, "ERR Unrecognized XCLAIM option '%.*s'", (int)o->len, o->ptr);
            goto done;
        }
    }
    if (deliverytime != -1) {
        if (deliverytime < 0 || deliverytime > now) deliverytime = now;
    } else {
        deliverytime = now;
    }
    /* Will anything change? Only then a new version is made. */
    int writes = stream_id_cmp(&last_id, &cg->last_id) > 0;
    for (int i = 0; i < nids && !writes; i++) {
        stream_nack *nk = stream_cg_nack(cg, &ids[i]);
        stream_entry e;
        int exists = stream_lookup(cur, &ids[i], &e);
        if (!exists) writes = nk != NULL;
        else if (nk) writes = !minidle || now - nk->delivery_ms >= minidle;
        else writes = force;
    }
    if (!writes) {
        addReplyArrayLen(c, 0);
        goto done;
    }
    stream *s = streamMutable(c, &txn, key);
    cg = stream_cg_find(s, g->ptr, g->len);
    logctx l = {c, 0};
    int propagate_last_id = 0;
    if (stream_id_cmp(&last_id, &cg->last_id) > 0) {
        cg->last_id = last_id;
        propagate_last_id = 1;
    }
    stream_consumer *cons = NULL;
    void *len = addReplyDeferredLen(c);
    long long n = 0;
    for (int i = 0; i < nids; i++) {
        stream_id id = ids[i];
        stream_nack *nk = stream_cg_nack(cg, &id);
        stream_entry e;
        if (!stream_lookup(s, &id, &e)) {
            if (nk) {
                logXclaim(&l, key, cg, &id, nk);
                propagate_last_id = 0;
                stream_cg_ack(cg, &id);
            }
            continue;
        }
        int created = 0;
        if (force && !nk) created = 1;
        if (!nk && !created) continue;
        if (!created && minidle && now - nk->delivery_ms < minidle) continue;
        if (!cons) {
            cons = stream_consumer_find(cg, cn->ptr, cn->len);
            if (!cons) {
                cons = stream_consumer_create(cg, cn->ptr, cn->len, now);
                notify_key(NOTIFY_STREAM, "xgroup-createconsumer", key, c->db);
            }
            cons->seen_ms = now;
        }
        if (created) nk = stream_cg_add_nack(cg, cons, &id, deliverytime, 1);
        else stream_nack_move(nk, cons);
        nk->delivery_ms = deliverytime;
        if (retrycount >= 0) nk->delivery_count = (uint64_t)retrycount;
        else if (!justid) nk->delivery_count++;
        if (justid) addReplyStreamID(c, &id);
        else if (!replyOneEntry(c, s, &id)) addReplyNull(c);
        n++;
        logXclaim(&l, key, cg, &id, nk);
        propagate_last_id = 0;
    }
    if (propagate_last_id) logSetId(&l, key, cg);
    setDeferredArrayLen(c, len, n);
done:
    free(ids);
    ks_txn_commit(&txn);
}

static void xautoclaimCommand(client *c) {
    const resp_arg *key = &c->argv[1], *g = &c->argv[2], *cn = &c->argv[3];
    long long minidle, count = 100;
    const long long attempts_factor = 10;
    stream_id start;
    int sex, justid = 0;
    if (arg_ll_or_reply(c, &c->argv[4], &minidle,
                        "ERR Invalid min-idle-time argument for XAUTOCLAIM") < 0)
        return;
    if (minidle < 0) minidle = 0;
    if (parseIntervalId(c, &c->argv[5], &start, &sex, 0) < 0) return;
    if (sex && idIncr(&start) < 0) {
        addReplyError(c, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "count") && more) {
            long long max_count = LONG_MAX / 16;
            if (arg_ll_or_reply(c, &c->argv[j + 1], &count, "ERR COUNT must be > 0") < 0) return;
            if (count < 1 || count > max_count) {
                addReplyError(c, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (arg_is(&c->argv[j], "justid")) {
            justid = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *cur;
    stream_cg *cg = NULL;
    stream_id *deleted = NULL, *claimed = NULL;
    if (lookupStreamOrReply(c, &txn, key, &cur) < 0) goto done;
    if (cur) cg = stream_cg_find(cur, g->ptr, g->len);
    if (!cg) {
        replyNoGroup(c, key, g);
        goto done;
    }
    int64_t now = txn.now_ms;
    long long attempts = count * attempts_factor;
    /* A dry run decides whether anything changes (only then a version). */
    int writes = 0;
    {
        long long a = attempts, cnt = count;
        for (size_t at = stream_pel_lower_bound(&cg->pel, &start, NULL);
             a-- && cnt && at < cg->pel.n && !writes; at++) {
            stream_entry e;
            if (!stream_lookup(cur, &cg->pel.v[at]->id, &e)) writes = 1;
            else if (!minidle || now - cg->pel.v[at]->delivery_ms >= minidle) writes = 1;
        }
    }
    stream *s = cur;
    if (writes) {
        s = streamMutable(c, &txn, key);
        cg = stream_cg_find(s, g->ptr, g->len);
    }
    logctx l = {c, 0};
    stream_consumer *cons = NULL;
    /* Claimed and deleted IDs are collected first (at most count of
     * them), then the reply: [cursor, entries, deleted]. */
    size_t cap = (size_t)(count < 1024 ? count : 1024), ndel = 0, nclaimed = 0, ccap = cap;
    deleted = lt_xmalloc(cap * sizeof(*deleted));
    claimed = lt_xmalloc(ccap * sizeof(*claimed));
    size_t at = stream_pel_lower_bound(&cg->pel, &start, NULL);
    while (attempts-- && count && at < cg->pel.n) {
        stream_nack *nk = cg->pel.v[at];
        stream_id id = nk->id;
        stream_entry e;
        if (!stream_lookup(s, &id, &e)) {
            logXclaim(&l, key, cg, &id, nk);
            stream_cg_ack(cg, &id);
            if (ndel == cap) {
                cap *= 2;
                deleted = lt_xrealloc(deleted, cap * sizeof(*deleted));
            }
            deleted[ndel++] = id;
            count--;
            continue; /* the next one moved to at */
        }
        at++;
        if (minidle && now - nk->delivery_ms < minidle) continue;
        if (!cons) {
            cons = stream_consumer_find(cg, cn->ptr, cn->len);
            if (!cons) {
                cons = stream_consumer_create(cg, cn->ptr, cn->len, now);
                notify_key(NOTIFY_STREAM, "xgroup-createconsumer", key, c->db);
            }
            cons->seen_ms = now;
        }
        stream_nack_move(nk, cons);
        nk->delivery_ms = now;
        if (!justid) nk->delivery_count++;
        if (nclaimed == ccap) {
            ccap *= 2;
            claimed = lt_xrealloc(claimed, ccap * sizeof(*claimed));
        }
        claimed[nclaimed++] = id;
        count--;
        logXclaim(&l, key, cg, &id, nk);
    }
    /* The cursor: the next pending entry ("at" is past everything
     * visited), 0-0 at the end. */
    stream_id endid = at < cg->pel.n ? cg->pel.v[at]->id : (stream_id){0, 0};
    addReplyArrayLen(c, 3);
    addReplyStreamID(c, &endid);
    addReplyArrayLen(c, (long long)nclaimed);
    for (size_t i = 0; i < nclaimed; i++) {
        if (justid) addReplyStreamID(c, &claimed[i]);
        else replyOneEntry(c, s, &claimed[i]);
    }
    addReplyArrayLen(c, (long long)ndel);
    for (size_t i = 0; i < ndel; i++) addReplyStreamID(c, &deleted[i]);
done:
    free(deleted);
    free(claimed);
    ks_txn_commit(&txn);
}

/* ---- XINFO ------------------------------------------------------------------------- */

static void replyGroupLag(client *c, const stream *s, const stream_cg *cg) {
    long long lag = 0;
    int valid = 0;
    if (!s->entries_added) {
        valid = 1;
    } else if (cg->entries_read != STREAM_ENTRIES_READ_INVALID &&
               !stream_range_has_tombstones(s, &cg->last_id, NULL)) {
        lag = (long long)s->entries_added - cg->entries_read;
        valid = 1;
    } else {
        long long er = stream_estimate_distance(s, &cg->last_id);
        if (er != STREAM_ENTRIES_READ_INVALID) {
            lag = (long long)s->entries_added - er;
            valid = 1;
        }
    }
    if (valid) addReplyLongLong(c, lag);
    else addReplyNull(c);
}

/* Number of nodes of s (XINFO's radix-tree-keys). */
static long long streamNodes(const stream *s) { return (long long)s->nnodes; }

static int xinfoLookup(client *c, ks_txn *txn, stream **s) {
    if (lookupStreamOrReply(c, txn, &c->argv[2], s) < 0) return -1;
    if (!*s) {
        addReplyError(c, "ERR no such key");
        return -1;
    }
    return 0;
}

static void xinfoStreamCommand(client *c) {
    int full = 0;
    long long count = 10;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    if (xinfoLookup(c, &txn, &s) < 0) goto done;
    if (c->argc > 3) {
        if (!arg_is(&c->argv[3], "full") || (c->argc != 4 && c->argc != 6) ||
            (c->argc == 6 && !arg_is(&c->argv[4], "count"))) {
            replySubcommandSyntax(c, "XINFO");
            goto done;
        }
        full = 1;
        if (c->argc == 6) {
            if (arg_ll_or_reply(c, &c->argv[5], &count, NULL) < 0) goto done;
            if (count < 0) count = 10;
        }
    }
    addReplyMapLen(c, full ? 9 : 10);
    addReplyBulkCString(c, "length");
    addReplyLongLong(c, (long long)s->length);
    addReplyBulkCString(c, "radix-tree-keys");
    addReplyLongLong(c, streamNodes(s));
    addReplyBulkCString(c, "radix-tree-nodes");
    addReplyLongLong(c, streamNodes(s) ? streamNodes(s) + 1 : 1);
    addReplyBulkCString(c, "last-generated-id");
    addReplyStreamID(c, &s->last_id);
    addReplyBulkCString(c, "max-deleted-entry-id");
    addReplyStreamID(c, &s->max_deleted_id);
    addReplyBulkCString(c, "entries-added");
    addReplyLongLong(c, (long long)s->entries_added);
    addReplyBulkCString(c, "recorded-first-entry-id");
    addReplyStreamID(c, &s->first_id);
    if (!full) {
        addReplyBulkCString(c, "groups");
        addReplyLongLong(c, (long long)s->ngroups);
        stream_iter it;
        stream_entry e;
        addReplyBulkCString(c, "first-entry");
        stream_iter_init(&it, s, NULL, NULL, 0);
        if (stream_iter_next(&it, &e)) addReplyEntry(c, &e);
        else addReplyNull(c);
        addReplyBulkCString(c, "last-entry");
        stream_iter_init(&it, s, NULL, NULL, 1);
        if (stream_iter_next(&it, &e)) addReplyEntry(c, &e);
        else addReplyNull(c);
        goto done;
    }
    addReplyBulkCString(c, "entries");
    replyRange(c, s, NULL, NULL, (size_t)count, 0);
    addReplyBulkCString(c, "groups");
    addReplyArrayLen(c, (long long)s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        addReplyMapLen(c, 7);
        addReplyBulkCString(c, "name");
        addReplyBulk(c, cg->name, cg->nlen);
        addReplyBulkCString(c, "last-delivered-id");
        addReplyStreamID(c, &cg->last_id);
        addReplyBulkCString(c, "entries-read");
        if (cg->entries_read != STREAM_ENTRIES_READ_INVALID) addReplyLongLong(c, cg->entries_read);
        else addReplyNull(c);
        addReplyBulkCString(c, "lag");
        replyGroupLag(c, s, cg);
        addReplyBulkCString(c, "pel-count");
        addReplyLongLong(c, (long long)cg->pel.n);
        addReplyBulkCString(c, "pending");
        size_t np = cg->pel.n;
        if (count && (size_t)count < np) np = (size_t)count;
        addReplyArrayLen(c, (long long)np);
        for (size_t i = 0; i < np; i++) {
            const stream_nack *nk = cg->pel.v[i];
            addReplyArrayLen(c, 4);
            addReplyStreamID(c, &nk->id);
            addReplyBulk(c, nk->consumer->name, nk->consumer->nlen);
            addReplyLongLong(c, nk->delivery_ms);
            addReplyLongLong(c, (long long)nk->delivery_count);
        }
        addReplyBulkCString(c, "consumers");
        addReplyArrayLen(c, (long long)cg->nconsumers);
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *cons = cg->consumers[i];
            addReplyMapLen(c, 4);
            addReplyBulkCString(c, "name");
            addReplyBulk(c, cons->name, cons->nlen);
            addReplyBulkCString(c, "seen-time");
            addReplyLongLong(c, cons->seen_ms);
            addReplyBulkCString(c, "pel-count");
            addReplyLongLong(c, (long long)cons->pel.n);
            addReplyBulkCString(c, "pending");
            size_t cp = cons->pel.n;
            if (count && (size_t)count < cp) cp = (size_t)count;
            addReplyArrayLen(c, (long long)cp);
            for (size_t k = 0; k < cp; k++) {
                const stream_nack *nk = cons->pel.v[k];
                addReplyArrayLen(c, 3);
                addReplyStreamID(c, &nk->id);
                addReplyLongLong(c, nk->delivery_ms);
                addReplyLongLong(c, (long long)nk->delivery_count);
            }
        }
    }
done:
    ks_txn_commit(&txn);
}

static void xinfoGroupsCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    if (xinfoLookup(c, &txn, &s) < 0) goto done;
    addReplyArrayLen(c, (long long)s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        addReplyMapLen(c, 6);
        addReplyBulkCString(c, "name");
        addReplyBulk(c, cg->name, cg->nlen);
        addReplyBulkCString(c, "consumers");
        addReplyLongLong(c, (long long)cg->nconsumers);
        addReplyBulkCString(c, "pending");
        addReplyLongLong(c, (long long)cg->pel.n);
        addReplyBulkCString(c, "last-delivered-id");
        addReplyStreamID(c, &cg->last_id);
        addReplyBulkCString(c, "entries-read");
        if (cg->entries_read != STREAM_ENTRIES_READ_INVALID) addReplyLongLong(c, cg->entries_read);
        else addReplyNull(c);
        addReplyBulkCString(c, "lag");
        replyGroupLag(c, s, cg);
    }
done:
    ks_txn_commit(&txn);
}

static void xinfoConsumersCommand(client *c) {
    const resp_arg *g = &c->argv[3];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    stream *s;
    const stream_cg *cg;
    if (xinfoLookup(c, &txn, &s) < 0) goto done;
    if (!(cg = stream_cg_find(s, g->ptr, g->len))) {
        addReplyErrorFormat(c, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                            (int)g->len, g->ptr, (int)c->argv[2].len, c->argv[2].ptr);
        goto done;
    }
    addReplyArrayLen(c, (long long)cg->nconsumers);
    for (size_t i = 0; i < cg->nconsumers; i++) {
        const stream_consumer *cons = cg->consumers[i];
        addReplyMapLen(c, 3);
        addReplyBulkCString(c, "name");
        addReplyBulk(c, cons->name, cons->nlen);
        addReplyBulkCString(c, "pending");
        addReplyLongLong(c, (long long)cons->pel.n);
        addReplyBulkCString(c, "idle");
        int64_t idle = txn.now_ms - cons->seen_ms;
        addReplyLongLong(c, idle < 0 ? 0 : idle);
    }
done:
    ks_txn_commit(&txn);
}

static void xinfoHelpCommand(client *c) {
    static const char *help[] = {
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        NULL};
    addReplyHelp(c, help);
}

/* ---- Table --------------------------------------------------------------------------- */

static command xgroup_subcommands[] = {
    {.name = "create", .proc = xgroupCreateCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RW insert",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Creates a consumer group."},
    {.name = "createconsumer", .proc = xgroupCreateconsumerCommand, .arity = 5,
     .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RW insert",
     .group = "stream", .since = "6.2.0",
     .complexity = "O(1)",
     .summary = "Creates a consumer in a consumer group."},
    {.name = "delconsumer", .proc = xgroupDelconsumerCommand, .arity = 5,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RW delete",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Deletes a consumer from a consumer group."},
    {.name = "destroy", .proc = xgroupDestroyCommand, .arity = 4,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RW delete",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(N) where N is the number of entries in the group's pending entries list (PEL).",
     .summary = "Destroys a consumer group."},
    {.name = "help", .proc = xgroupHelpCommand, .arity = 2,
     .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_STREAM | ACL_SLOW,
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Shows the XGROUP subcommands."},
    {.name = "setid", .proc = xgroupSetidCommand, .arity = -5,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Sets the last-delivered ID of a consumer group."},
    {0},
};

static command xinfo_subcommands[] = {
    {.name = "consumers", .proc = xinfoConsumersCommand, .arity = 4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .tips = "nondeterministic_output",
     .summary = "Lists the consumers of a consumer group."},
    {.name = "groups", .proc = xinfoGroupsCommand, .arity = 3,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Lists the consumer groups of a stream."},
    {.name = "help", .proc = xinfoHelpCommand, .arity = 2,
     .flags = CMD_LOADING | CMD_STALE,
     .acl = ACL_STREAM | ACL_SLOW,
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Shows the XINFO subcommands."},
    {.name = "stream", .proc = xinfoStreamCommand, .arity = -3,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 2, .key_last = 2, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Describes a stream, optionally in full."},
    {0},
};

command stream_commands[] = {
    {.name = "xadd", .proc = xaddCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
     .tips = "nondeterministic_output",
     .summary = "Appends an entry to a stream, creating it if needed."},
    {.name = "xrange", .proc = xrangeCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
     .summary = "Returns the entries of a stream within an ID range."},
    {.name = "xrevrange", .proc = xrevrangeCommand, .arity = -4,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
     .summary = "Returns the entries of a stream within an ID range, newest first."},
    {.name = "xlen", .proc = xlenCommand, .arity = 2,
     .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Returns the number of entries of a stream."},
    {.name = "xdel", .proc = xdelCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1) for each single item to delete in the stream, regardless of the stream size.",
     .summary = "Deletes entries of a stream by ID."},
    {.name = "xtrim", .proc = xtrimCommand, .arity = -4,
     .flags = CMD_WRITE,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
     .tips = "nondeterministic_output",
     .summary = "Removes the oldest entries of a stream."},
    {.name = "xread", .proc = xreadCommand, .arity = -4,
     .flags = CMD_READONLY | CMD_BLOCKING | CMD_MOVABLE_KEYS,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW | ACL_BLOCKING, .getkeys = xreadGetKeys,
     .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
     .summary = "Reads entries of streams after given IDs, optionally blocking."},
    {.name = "xsetid", .proc = xsetidCommand, .arity = -3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1)",
     .summary = "Sets the last ID (and counters) of a stream."},
    {.name = "xreadgroup", .proc = xreadgroupCommand, .arity = -7,
     .flags = CMD_WRITE | CMD_BLOCKING | CMD_MOVABLE_KEYS,
     .acl = ACL_WRITE | ACL_STREAM | ACL_SLOW | ACL_BLOCKING, .getkeys = xreadGetKeys,
     .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
     .summary = "Reads entries of streams for a consumer group, optionally blocking."},
    {.name = "xack", .proc = xackCommand, .arity = -4,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(1) for each message ID processed.",
     .summary = "Acknowledges entries of a consumer group's pending list."},
    {.name = "xpending", .proc = xpendingCommand, .arity = -3,
     .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_STREAM | ACL_SLOW,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RO access",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
     .tips = "nondeterministic_output",
     .summary = "Describes the pending entries of a consumer group."},
    {.name = "xclaim", .proc = xclaimCommand, .arity = -6,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW update",
     .group = "stream", .since = "5.0.0",
     .complexity = "O(log N) with N being the number of messages in the PEL of the consumer group.",
     .tips = "nondeterministic_output",
     .summary = "Transfers pending entries to another consumer."},
    {.name = "xautoclaim", .proc = xautoclaimCommand, .arity = -6,
     .flags = CMD_WRITE | CMD_FAST,
     .acl = ACL_WRITE | ACL_STREAM | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW delete",
     .group = "stream", .since = "6.2.0",
     .complexity = "O(1) if COUNT is small.",
     .tips = "nondeterministic_output",
     .summary = "Transfers idle pending entries to another consumer, scanning like a cursor."},
    {.name = "xgroup", .arity = -2, .acl = ACL_SLOW, .group = "stream", .since = "5.0.0",
     .complexity = "Depends on subcommand.", .summary = "Manages consumer groups.",
     .subcommands = xgroup_subcommands},
    {.name = "xinfo", .arity = -2, .acl = ACL_SLOW, .group = "stream", .since = "5.0.0",
     .complexity = "Depends on subcommand.", .summary = "Describes streams, groups and consumers.",
     .subcommands = xinfo_subcommands},
    {0},
};
