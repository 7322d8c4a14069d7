/*
 * t_hll: the HyperLogLog commands — PFADD, PFCOUNT, PFMERGE, PFDEBUG,
 * PFSELFTEST — over string values holding Redis's HLL representation
 * (common/hll.h owns the bytes and the estimator). Replies, errors and
 * their order are Redis 7.0.15's (hyperloglog.c is the reference).
 *
 * An HLL is an ordinary string value, so snapshots, the WAL, GET/SET and
 * TTLs need nothing special: a value copied from Redis counts the same
 * here and the other way round. Writes keep the key's TTL (values are
 * rewritten through ks_str_resize, which leaves the value "raw" as
 * Redis's dbUnshareStringValue does).
 *
 * Writes happen only when something changed, as Redis dirties the key
 * only then: PFADD that updates no register, or PFCOUNT served from the
 * cached cardinality, leave the key (its version, WATCH, the WAL)
 * untouched. PFCOUNT of one key that recomputes the cardinality stores it
 * in the header (a write, logged as the PFCOUNT itself, which replays to
 * the same bytes). Every handler is one engine transaction over its keys.
 *
 * Dense values (12304 bytes) are updated in place; sparse ones (at most
 * hll-sparse-max-bytes, plus one split) are copied, updated and stored
 * back, because a sparse update moves bytes and may change the length.
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hll.h"
#include "common/random.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "server/engine_glue.h"
#include "server/net/reply.h"
#include "server/server.h"

#define HLL_INVALID_ERR "INVALIDOBJ Corrupted HLL object detected"
#define HLL_WRONGTYPE_ERR "WRONGTYPE Key is not a valid HyperLogLog string value."

static size_t hll_sparse_max(void) {
    return server.hll_sparse_max_bytes < 0 ? 0 : (size_t)server.hll_sparse_max_bytes;
}

/* Redis's isHLLObjectOrReply on a looked-up key: *p and *len the value bytes
 * when it is an HLL; e NULL (absent) is fine and leaves *p NULL. Returns -1
 * after a WRONGTYPE reply (another type, or a string that is no HLL). */
static int hllLookupOrReply(client *c, ks_txn *txn, const resp_arg *key, const uint8_t **p,
                            size_t *len) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    *p = NULL;
    *len = 0;
    if (!e) return 0;
    if (ks_entry_type(e) != KS_TYPE_STRING) {
        addReplyErrorWrongType(c);
        return -1;
    }
    /* An int-encoded string is no HLL (not "sds encoded" in Redis). */
    if (ks_entry_encoding(e) == KS_ENC_INT) goto invalid;
    char buf[LT_LLSTR_SIZE];
    const uint8_t *s = (const uint8_t *)ks_entry_str(e, buf, len);
    if (!hll_header_ok(s, *len)) goto invalid;
    *p = s;
    return 0;
invalid:
    addReplyError(c, HLL_WRONGTYPE_ERR);
    return -1;
}

/* Stores b as key's value: created (as a raw string) when absent, else
 * rewritten keeping the TTL. */
static void hllStore(client *c, ks_txn *txn, const resp_arg *key, int exists, const hll_buf *b) {
    unsigned db = (unsigned)c->db;
    if (!exists) ks_set_str(txn, db, key->ptr, key->len, "", 0, KS_EXPIRE_NONE, KS_SET_NOINT);
    memcpy(ks_str_resize(txn, db, key->ptr, key->len, b->len), b->p, b->len);
}

/* PFADD key [element ...] */
static void pfaddCommand(client *c) {
    const resp_arg *key = &c->argv[1];
    const uint8_t *p;
    size_t len;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (hllLookupOrReply(c, &txn, key, &p, &len) < 0) goto done;
    int updated = 0;
    if (p && hll_encoding(p) == HLL_DENSE) {
        /* In place: find whether any register grows before writing. */
        int j = 2;
        for (; j < c->argc; j++) {
            long index;
            unsigned count = (unsigned)hll_pat_len(c->argv[j].ptr, c->argv[j].len, &index);
            if (count > hll_dense_get(p + HLL_HDR_SIZE, index)) break;
        }
        if (j < c->argc) {
            uint8_t *w = (uint8_t *)ks_str_resize(&txn, (unsigned)c->db, key->ptr, key->len, len);
            for (; j < c->argc; j++) {
                long index;
                unsigned count = (unsigned)hll_pat_len(c->argv[j].ptr, c->argv[j].len, &index);
                if (count > hll_dense_get(w + HLL_HDR_SIZE, index)) {
                    hll_dense_set(w + HLL_HDR_SIZE, index, count);
                    updated++;
                }
            }
            hll_cache_invalidate(w);
        }
        addReplyLongLong(c, updated ? 1 : 0);
        goto done;
    }
    hll_buf b;
    if (p) {
        hll_buf_init_copy(&b, p, len);
    } else {
        hll_buf_init_empty(&b);
        updated++;
    }
    int corrupt = 0;
    for (int j = 2; j < c->argc; j++) {
        int r = hll_add(&b, c->argv[j].ptr, c->argv[j].len, hll_sparse_max());
        if (r < 0) {
            corrupt = 1;
            break;
        }
        updated += r;
    }
    /* As in Redis, registers set before a corruption was met stay set. */
    if (updated) {
        hll_cache_invalidate(b.p);
        hllStore(c, &txn, key, p != NULL, &b);
    }
    if (corrupt) addReplyError(c, HLL_INVALID_ERR);
    else addReplyLongLong(c, updated ? 1 : 0);
    hll_buf_free(&b);
done:
    ks_txn_commit(&txn);
}

/* PFCOUNT key [key ...] */
static void pfcountCommand(client *c) {
    const uint8_t *p;
    size_t len;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (c->argc > 2) {
        /* The cardinality of the union, over one byte per register. */
        uint8_t *max = lt_xcalloc(1, HLL_REGISTERS);
        int ok = 1;
        for (int j = 1; j < c->argc && ok; j++) {
            if (hllLookupOrReply(c, &txn, &c->argv[j], &p, &len) < 0) ok = 0;
            else if (p && hll_merge(max, p, len) < 0) {
                addReplyError(c, HLL_INVALID_ERR);
                ok = 0;
            }
        }
        if (ok) addReplyLongLong(c, (long long)hll_count_raw(max));
        free(max);
        goto done;
    }
    const resp_arg *key = &c->argv[1];
    if (hllLookupOrReply(c, &txn, key, &p, &len) < 0) goto done;
    if (!p) {
        addReplyLongLong(c, 0);
        goto done;
    }
    uint64_t card;
    if (!hll_cache_get(p, &card)) {
        int invalid = 0;
        card = hll_count(p, len, &invalid);
        if (invalid) {
            addReplyError(c, HLL_INVALID_ERR);
            goto done;
        }
        /* The cached cardinality is part of the value (Redis too). */
        uint8_t *w = (uint8_t *)ks_str_resize(&txn, (unsigned)c->db, key->ptr, key->len, len);
        hll_cache_set(w, card);
    }
    addReplyLongLong(c, (long long)card);
done:
    ks_txn_commit(&txn);
}

/* PFMERGE destkey [sourcekey ...]: the destination is merged too. */
static void pfmergeCommand(client *c) {
    const uint8_t *p;
    size_t len;
    int use_dense = 0, dest_exists = 0;
    uint8_t *max = lt_xcalloc(1, HLL_REGISTERS);
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    for (int j = 1; j < c->argc; j++) {
        if (hllLookupOrReply(c, &txn, &c->argv[j], &p, &len) < 0) goto done;
        if (!p) continue;
        if (j == 1) dest_exists = 1;
        if (hll_encoding(p) == HLL_DENSE) use_dense = 1;
        if (hll_merge(max, p, len) < 0) {
            addReplyError(c, HLL_INVALID_ERR);
            goto done;
        }
    }
    const resp_arg *dest = &c->argv[1];
    hll_buf b;
    if (dest_exists) {
        hllLookupOrReply(c, &txn, dest, &p, &len); /* checked above */
        hll_buf_init_copy(&b, p, len);
    } else {
        hll_buf_init_empty(&b);
    }
    if (use_dense && hll_sparse_to_dense(&b) < 0) {
        addReplyError(c, HLL_INVALID_ERR);
        hll_buf_free(&b);
        goto done;
    }
    for (long j = 0; j < HLL_REGISTERS; j++)
        if (max[j]) hll_set(&b, j, max[j], hll_sparse_max());
    hll_cache_invalidate(b.p);
    hllStore(c, &txn, dest, dest_exists, &b);
    hll_buf_free(&b);
    addReplyOK(c);
done:
    ks_txn_commit(&txn);
    free(max);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key */
static void pfdebugCommand(client *c) {
    const resp_arg *sub = &c->argv[1], *key = &c->argv[2];
    const uint8_t *p;
    size_t len;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    if (!ks_lookup(&txn, (unsigned)c->db, key->ptr, key->len, 0)) {
        addReplyError(c, "ERR The specified key does not exist");
        goto done;
    }
    if (hllLookupOrReply(c, &txn, key, &p, &len) < 0) goto done;
    if (arg_is(sub, "getreg") || arg_is(sub, "todense")) {
        int getreg = arg_is(sub, "getreg"), conv = 0;
        hll_buf b;
        hll_buf_init_copy(&b, p, len);
        if (hll_encoding(b.p) == HLL_SPARSE) {
            if (hll_sparse_to_dense(&b) < 0) {
                addReplyError(c, HLL_INVALID_ERR);
                hll_buf_free(&b);
                goto done;
            }
            hllStore(c, &txn, key, 1, &b);
            conv = 1;
        }
        if (getreg) {
            addReplyArrayLen(c, HLL_REGISTERS);
            for (long j = 0; j < HLL_REGISTERS; j++)
                addReplyLongLong(c, hll_dense_get(b.p + HLL_HDR_SIZE, j));
        } else {
            addReplyLongLong(c, conv);
        }
        hll_buf_free(&b);
    } else if (arg_is(sub, "decode")) {
        if (hll_encoding(p) != HLL_SPARSE) {
            addReplyError(c, "ERR HLL encoding is not sparse");
            goto done;
        }
        char *s = hll_sparse_decode(p, len);
        addReplyBulk(c, s, strlen(s));
        free(s);
    } else if (arg_is(sub, "encoding")) {
        addReplyStatus(c, hll_encoding(p) == HLL_DENSE ? "dense" : "sparse");
    } else {
        addReplyErrorFormat(c, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)sub->len, sub->ptr);
    }
done:
    ks_txn_commit(&txn);
}

/* PFSELFTEST: Redis's self-test of the register access and of the
 * estimator's error, with dense and sparse values side by side. */
#define HLL_TEST_CYCLES 1000
static void pfselftestCommand(client *c) {
    uint8_t *dense = lt_xcalloc(1, HLL_DENSE_SIZE);
    uint8_t *bytes = lt_xmalloc(HLL_REGISTERS);
    hll_buf sparse = {0};
    memcpy(dense, "HYLL", 4);
    /* Test 1: each register keeps its value and leaves its neighbours. */
    for (int cycle = 0; cycle < HLL_TEST_CYCLES; cycle++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned r = (unsigned)lt_random_u64() & HLL_REGISTER_MAX;
            bytes[i] = (uint8_t)r;
            hll_dense_set(dense + HLL_HDR_SIZE, i, r);
        }
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(dense + HLL_HDR_SIZE, i);
            if (v != bytes[i]) {
                addReplyErrorFormat(c, "ERR TESTFAILED Register %ld should be %d but is %u", i,
                                    (int)bytes[i], v);
                goto cleanup;
            }
        }
    }
    /* Test 2: the estimate stays within 6 standard errors, and dense and
     * sparse agree. */
    memset(dense + HLL_HDR_SIZE, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    hll_buf_init_empty(&sparse);
    double relerr = 1.04 / sqrt(HLL_REGISTERS);
    int64_t checkpoint = 1;
    uint64_t seed = lt_random_u64();
    for (uint64_t j = 1; j <= 10000000; j++) {
        uint64_t ele = j ^ seed;
        long index;
        unsigned count = (unsigned)hll_pat_len(&ele, sizeof(ele), &index);
        if (count > hll_dense_get(dense + HLL_HDR_SIZE, index))
            hll_dense_set(dense + HLL_HDR_SIZE, index, count);
        hll_add(&sparse, &ele, sizeof(ele), hll_sparse_max());
        if ((int64_t)j != checkpoint) continue;
        if (j < (uint64_t)hll_sparse_max() / 2 && hll_encoding(sparse.p) != HLL_SPARSE) {
            addReplyError(c, "ERR TESTFAILED sparse encoding not used");
            goto cleanup;
        }
        uint64_t dcount = hll_count(dense, HLL_DENSE_SIZE, NULL);
        if (dcount != hll_count(sparse.p, sparse.len, NULL)) {
            addReplyError(c, "ERR TESTFAILED dense/sparse disagree");
            goto cleanup;
        }
        int64_t abserr = checkpoint - (int64_t)dcount;
        uint64_t maxerr = (uint64_t)ceil(relerr * 6 * (double)checkpoint);
        if (j == 10) maxerr = 1; /* collisions are likely enough at 10 */
        if (abserr < 0) abserr = -abserr;
        if (abserr > (int64_t)maxerr) {
            addReplyErrorFormat(c, "ERR TESTFAILED Too big error. card:%llu abserr:%llu",
                                (unsigned long long)checkpoint, (unsigned long long)abserr);
            goto cleanup;
        }
        checkpoint *= 10;
    }
    addReplyOK(c);
cleanup:
    free(dense);
    free(bytes);
    hll_buf_free(&sparse);
}

#define HLL_KEYS_ALL .key_first = 1, .key_last = -1, .key_step = 1

command hll_commands[] = {
    {.name = "pfadd", .proc = pfaddCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, .acl = ACL_WRITE | ACL_HYPERLOGLOG | ACL_FAST,
     .key_first = 1, .key_last = 1, .key_step = 1, .key_flags = "RW insert",
     .group = "hyperloglog", .since = "2.8.9", .complexity = "O(1) to add every element.",
     .summary = "Adds elements to a HyperLogLog, creating it when absent."},
    {.name = "pfcount", .proc = pfcountCommand, .arity = -2, .flags = CMD_READONLY | CMD_MAY_REPLICATE,
     .acl = ACL_READ | ACL_HYPERLOGLOG | ACL_SLOW, HLL_KEYS_ALL, .key_flags = "RW access",
     .group = "hyperloglog", .since = "2.8.9",
     .complexity = "O(1) with a very small average constant time when called with a single "
                   "key. O(N) with N being the number of keys, and much bigger constant times, "
                   "when called with multiple keys.",
     .summary = "Returns the approximate cardinality of one HyperLogLog or of the union of several."},
    {.name = "pfmerge", .proc = pfmergeCommand, .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_HYPERLOGLOG | ACL_SLOW, HLL_KEYS_ALL,
     .key_flags = "RW access insert|RO access", .group = "hyperloglog", .since = "2.8.9",
     .complexity = "O(N) to merge N HyperLogLogs, but with high constant times.",
     .summary = "Merges HyperLogLogs into the destination one."},
    {.name = "pfdebug", .proc = pfdebugCommand, .arity = 3,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_ADMIN,
     .acl = ACL_WRITE | ACL_HYPERLOGLOG | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .key_first = 2,
     .key_last = 2, .key_step = 1, .key_flags = "RW access", .group = "hyperloglog",
     .since = "2.8.9", .complexity = "N/A",
     .summary = "Internal commands for debugging HyperLogLog values."},
    {.name = "pfselftest", .proc = pfselftestCommand, .arity = 1, .flags = CMD_ADMIN,
     .acl = ACL_HYPERLOGLOG | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, .group = "hyperloglog",
     .since = "2.8.9", .complexity = "N/A",
     .summary = "Runs the HyperLogLog implementation's self-test."},
    {0},
};
