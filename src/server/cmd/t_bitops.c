/*
 * t_bitops: the bitmap commands over string values — SETBIT, GETBIT,
 * BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO — with Redis 7.0.15's
 * replies, errors and their order (Redis's bitops.c is the reference).
 *
 * Bit numbering is Redis's: bit 0 is the most significant bit of byte 0.
 * A string is treated as zero-padded on the right for reads. Writes grow
 * the value in place through ks_str_resize (so it ends "raw", as Redis's
 * dbUnshareStringValue leaves it). Bit offsets are limited to
 * proto-max-bulk-len bytes, as Redis does.
 *
 * Every handler is one engine transaction over its keys; BITOP computes
 * into a temporary buffer because its destination may be one of its
 * sources (entry pointers die at the first write).
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/t_string.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "server/cmd/notify.h"
#include "server/engine_glue.h"
#include "server/net/reply.h"
#include "server/server.h"

#define BIT_OFFSET_ERR "ERR bit offset is not an integer or out of range"
/* Longest value the engine stores (keyspace.h: 512 MiB). Redis lets a
 * BITFIELD write end up to 8 bytes past proto-max-bulk-len; past this limit
 * we refuse instead. */
#define STRING_MAX_BYTES ((size_t)512 * 1024 * 1024)

/* ---- Argument helpers --------------------------------------------------------- */

/* Redis's getBitOffsetFromArgument: a non-negative bit offset below
 * proto-max-bulk-len bytes; with hash (BITFIELD) "#N" means N * bits. */
static int getBitOffsetOrReply(client *c, const resp_arg *a, uint64_t *offset,
                               int hash, int bits) {
    long long loffset;
    int usehash = a->len > 0 && a->ptr[0] == '#' && hash && bits > 0;
    if (!lt_string2ll(a->ptr + usehash, a->len - (size_t)usehash, &loffset)) {
        addReplyError(c, BIT_OFFSET_ERR);
        return -1;
    }
    /* Wraps like Redis's signed multiply does on its platforms. */
    if (usehash) loffset = (long long)((uint64_t)loffset * (uint64_t)bits);
    if (loffset < 0 || (loffset >> 3) >= server.proto_max_bulk_len) {
        addReplyError(c, BIT_OFFSET_ERR);
        return -1;
    }
    *offset = (uint64_t)loffset;
    return 0;
}

/* Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63. */
static int getBitfieldTypeOrReply(client *c, const resp_arg *a, int *sign, int *bits) {
    const char *err = "ERR Invalid bitfield type. Use something like i16 u8. "
                      "Note that u64 is not supported but i64 is.";
    long long llbits;
    char t = a->len > 0 ? a->ptr[0] : '\0';
    if (t == 'i') { /* lower case only, as in Redis 7.0 */
        *sign = 1;
    } else if (t == 'u') {
        *sign = 0;
    } else {
        addReplyError(c, err);
        return -1;
    }
    /* Redis parses strlen(p + 1): the digits up to a NUL. */
    if (!lt_string2ll(a->ptr + 1, strnlen(a->ptr + 1, a->len - 1), &llbits) ||
        llbits < 1 || (*sign == 1 && llbits > 64) || (*sign == 0 && llbits > 63)) {
        addReplyError(c, err);
        return -1;
    }
    *bits = (int)llbits;
    return 0;
}

/* Redis's lookupStringForBitCommand: the value of key made writable and at
 * least maxbit / 8 + 1 bytes long (zero-padded), created when absent; *len
 * its length; *dirty (when not NULL) set when it was created or grown.
 * NULL after a WRONGTYPE reply, or a size error when the engine
 * cannot hold the value. */
static unsigned char *lookupStringForBitCommand(client *c, ks_txn *txn,
                                                uint64_t maxbit, size_t *len, int *dirty) {
    const resp_arg *key = &c->argv[1];
    unsigned db = (unsigned)c->db;
    size_t byte = (size_t)(maxbit >> 3);
    ks_entry *e;
    if (lookupStringOrReply(c, txn, key, &e) < 0) return NULL;
    if (byte >= STRING_MAX_BYTES) {
        addReplyError(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return NULL;
    }
    size_t olen = 0;
    if (!e) {
        ks_set_str(txn, db, key->ptr, key->len, "", 0, KS_EXPIRE_NONE, KS_SET_NOINT);
        notify_key(NOTIFY_NEW, "new", key, c->db);
    } else {
        olen = ks_entry_strlen(e);
    }
    size_t newlen = byte + 1 > olen ? byte + 1 : olen;
    unsigned char *p = (unsigned char *)ks_str_resize(txn, db, key->ptr, key->len, newlen);
    if (newlen > olen) memset(p + olen, 0, newlen - olen);
    *len = newlen;
    if (dirty) *dirty = !e || newlen > olen; /* created or grown */
    return p;
}

/* ---- SETBIT / GETBIT ------------------------------------------------------------- */

static void setbitCommand(client *c) {
    const char *err = "ERR bit is not an integer or out of range";
    uint64_t bitoffset;
    long long on;
    if (getBitOffsetOrReply(c, &c->argv[2], &bitoffset, 0, 0) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[3], &on, err) < 0) return;
    if (on & ~1LL) {
        addReplyError(c, err);
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    /* A bit already set as asked, inside a raw value: nothing is written
     * (Redis neither propagates it nor touches WATCH then; an int or
     * embstr value still becomes raw, as Redis makes it writable first). */
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) < 0) {
        ks_txn_commit(&txn);
        return;
    }
    if (e && !strcmp(ks_entry_encoding_name(e), "raw")) {
        char buf[LT_LLSTR_SIZE];
        size_t slen;
        const unsigned char *s = (const unsigned char *)ks_entry_str(e, buf, &slen);
        size_t byte = (size_t)(bitoffset >> 3);
        if (byte < slen && ((s[byte] >> (7 - (bitoffset & 7))) & 1) == on) {
            addReplyLongLong(c, on);
            ks_txn_commit(&txn);
            return;
        }
    }
    size_t len;
    int dirty = 0;
    unsigned char *p = lookupStringForBitCommand(c, &txn, bitoffset, &len, &dirty);
    if (p) {
        size_t byte = (size_t)(bitoffset >> 3);
        int bit = 7 - (int)(bitoffset & 7);
        int bitval = (p[byte] >> bit) & 1;
        p[byte] = (unsigned char)((p[byte] & ~(1 << bit)) | ((int)on << bit));
        /* Redis: only when created, grown, or the bit changed. */
        if (dirty || bitval != on) notify_key(NOTIFY_STRING, "setbit", &c->argv[1], c->db);
        addReplyLongLong(c, bitval);
    }
    ks_txn_commit(&txn);
}

static void getbitCommand(client *c) {
    uint64_t bitoffset;
    if (getBitOffsetOrReply(c, &c->argv[2], &bitoffset, 0, 0) < 0) return;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) == 0) {
        int bitval = 0;
        if (e) {
            char buf[LT_LLSTR_SIZE];
            size_t len;
            const unsigned char *s = (const unsigned char *)ks_entry_str(e, buf, &len);
            size_t byte = (size_t)(bitoffset >> 3);
            if (byte < len) bitval = (s[byte] >> (7 - (bitoffset & 7))) & 1;
        }
        addReplyLongLong(c, bitval);
    }
    ks_txn_commit(&txn);
}

/* ---- BITCOUNT / BITPOS ------------------------------------------------------------- */

static long long popcount(const unsigned char *p, size_t n) {
    long long bits = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        bits += __builtin_popcountll(w);
    }
    for (; i < n; i++) bits += __builtin_popcount(p[i]);
    return bits;
}

/* Redis's redisBitpos: first bit equal to bit in p[0..count), the string
 * being zero-padded on the right: -1 when looking for 1 and there is none,
 * count * 8 when looking for 0 and there is none. */
static long long bitpos(const unsigned char *p, size_t count, int bit) {
    unsigned char skip = bit ? 0 : 0xff;
    for (size_t i = 0; i < count; i++) {
        if (p[i] == skip) continue;
        for (int b = 7; b >= 0; b--)
            if (((p[i] >> b) & 1) == bit) return (long long)i * 8 + (7 - b);
    }
    return bit ? -1 : (long long)count * 8;
}

/* Converts a [start, end] range (bytes, or bits when isbit) over a string of
 * strlen bytes to bytes plus masks of the bits of the first and last byte
 * outside the range, exactly as Redis's BITCOUNT and BITPOS do. */
static void clampBitRange(long long strlen, int isbit, long long *start, long long *end,
                          unsigned char *first_mask, unsigned char *last_mask) {
    long long totlen = isbit ? strlen << 3 : strlen;
    if (*start < 0) *start = totlen + *start;
    if (*end < 0) *end = totlen + *end;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= totlen) *end = totlen - 1;
    if (isbit && *start <= *end) {
        *first_mask = (unsigned char)(~((1 << (8 - (*start & 7))) - 1) & 0xFF);
        *last_mask = (unsigned char)((1 << (7 - (*end & 7))) - 1);
        *start >>= 3;
        *end >>= 3;
    }
}

/* BITCOUNT key [start end [BYTE|BIT]]: the key is looked up before the
 * range is parsed (a missing key answers 0 whatever follows). */
static void bitcountCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        addReplyLongLong(c, 0);
        goto done;
    }
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const unsigned char *p = (const unsigned char *)ks_entry_str(e, buf, &len);
    long long strlen = (long long)len, start, end;
    unsigned char first_mask = 0, last_mask = 0;
    if (c->argc == 4 || c->argc == 5) {
        int isbit = 0;
        if (arg_ll_or_reply(c, &c->argv[2], &start, NULL) < 0 ||
            arg_ll_or_reply(c, &c->argv[3], &end, NULL) < 0)
            goto done;
        if (c->argc == 5) {
            if (arg_is(&c->argv[4], "bit")) isbit = 1;
            else if (!arg_is(&c->argv[4], "byte")) {
                addReplyErrorSyntax(c);
                goto done;
            }
        }
        if (start < 0 && end < 0 && start > end) {
            addReplyLongLong(c, 0);
            goto done;
        }
        clampBitRange(strlen, isbit, &start, &end, &first_mask, &last_mask);
    } else if (c->argc == 2) {
        start = 0;
        end = strlen - 1;
    } else {
        addReplyErrorSyntax(c);
        goto done;
    }
    if (start > end) {
        addReplyLongLong(c, 0);
        goto done;
    }
    long long count = popcount(p + start, (size_t)(end - start + 1));
    if (first_mask) count -= __builtin_popcount(p[start] & first_mask);
    if (last_mask) count -= __builtin_popcount(p[end] & last_mask);
    addReplyLongLong(c, count);
done:
    ks_txn_commit(&txn);
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static void bitposCommand(client *c) {
    long long bit;
    if (arg_ll_or_reply(c, &c->argv[2], &bit, NULL) < 0) return;
    if (bit != 0 && bit != 1) {
        addReplyError(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    ks_entry *e;
    if (lookupStringOrReply(c, &txn, &c->argv[1], &e) < 0) goto done;
    if (!e) {
        addReplyLongLong(c, bit ? -1 : 0);
        goto done;
    }
    char buf[LT_LLSTR_SIZE];
    size_t len;
    const unsigned char *p = (const unsigned char *)ks_entry_str(e, buf, &len);
    long long strlen = (long long)len, start, end;
    int end_given = 0;
    unsigned char first_mask = 0, last_mask = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        int isbit = 0;
        if (arg_ll_or_reply(c, &c->argv[3], &start, NULL) < 0) goto done;
        if (c->argc == 6) {
            if (arg_is(&c->argv[5], "bit")) isbit = 1;
            else if (!arg_is(&c->argv[5], "byte")) {
                addReplyErrorSyntax(c);
                goto done;
            }
        }
        if (c->argc >= 5) {
            if (arg_ll_or_reply(c, &c->argv[4], &end, NULL) < 0) goto done;
            end_given = 1;
        } else {
            end = isbit ? (strlen << 3) + 7 : strlen - 1;
        }
        clampBitRange(strlen, isbit, &start, &end, &first_mask, &last_mask);
    } else if (c->argc == 3) {
        start = 0;
        end = strlen - 1;
    } else {
        addReplyErrorSyntax(c);
        goto done;
    }
    if (start > end) {
        addReplyLongLong(c, -1);
        goto done;
    }
    long long bytes = end - start + 1, pos;
    unsigned char tmp;
    if (first_mask) {
        tmp = bit ? p[start] & ~first_mask : p[start] | first_mask;
        if (last_mask && bytes == 1) tmp = bit ? tmp & ~last_mask : tmp | last_mask;
        pos = bitpos(&tmp, 1, (int)bit);
        if (bytes == 1 || (pos != -1 && pos != 8)) goto result;
        start++;
        bytes--;
    }
    long long curbytes = bytes - (last_mask ? 1 : 0);
    if (curbytes > 0) {
        pos = bitpos(p + start, (size_t)curbytes, (int)bit);
        if (bytes == curbytes || (pos != -1 && pos != curbytes << 3)) goto result;
        start += curbytes;
        bytes -= curbytes;
    }
    tmp = bit ? p[end] & ~last_mask : p[end] | last_mask;
    pos = bitpos(&tmp, 1, (int)bit);
result:
    /* Looking for 0 in an explicit range: the padding right of it does not
     * count. */
    if (end_given && bit == 0 && pos == bytes << 3) {
        addReplyLongLong(c, -1);
        goto done;
    }
    if (pos != -1) pos += start << 3;
    addReplyLongLong(c, pos);
done:
    ks_txn_commit(&txn);
}

/* ---- BITOP ----------------------------------------------------------------------- */

enum { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* BITOP op destkey key [key ...]: missing sources are empty strings; an
 * empty result deletes destkey. Replies the result length. */
static void bitopCommand(client *c) {
    int op;
    if (arg_is(&c->argv[1], "and")) op = BITOP_AND;
    else if (arg_is(&c->argv[1], "or")) op = BITOP_OR;
    else if (arg_is(&c->argv[1], "xor")) op = BITOP_XOR;
    else if (arg_is(&c->argv[1], "not")) op = BITOP_NOT;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        addReplyError(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    unsigned db = (unsigned)c->db;
    const resp_arg *dest = &c->argv[2];
    int numkeys = c->argc - 3;
    unsigned char *res = NULL;
    size_t maxlen = 0;
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    /* First pass: types and the result length (no writes yet). */
    for (int j = 0; j < numkeys; j++) {
        ks_entry *e;
        if (lookupStringOrReply(c, &txn, &c->argv[j + 3], &e) < 0) goto done;
        if (e && ks_entry_strlen(e) > maxlen) maxlen = ks_entry_strlen(e);
    }
    if (maxlen) {
        res = lt_xmalloc(maxlen);
        for (int j = 0; j < numkeys; j++) {
            const resp_arg *k = &c->argv[j + 3];
            ks_entry *e = ks_lookup(&txn, db, k->ptr, k->len, KS_LOOKUP_NOTOUCH);
            char buf[LT_LLSTR_SIZE];
            size_t len = 0;
            const unsigned char *s =
                e ? (const unsigned char *)ks_entry_str(e, buf, &len) : NULL;
            for (size_t i = 0; i < maxlen; i++) {
                unsigned char byte = i < len ? s[i] : 0;
                if (j == 0) res[i] = op == BITOP_NOT ? (unsigned char)~byte : byte;
                else if (op == BITOP_AND) res[i] &= byte;
                else if (op == BITOP_OR) res[i] |= byte;
                else res[i] ^= byte;
            }
        }
        int existed = (notify_flags & NOTIFY_NEW) &&
                      ks_lookup(&txn, db, dest->ptr, dest->len, KS_LOOKUP_NOTOUCH) != NULL;
        ks_set_str(&txn, db, dest->ptr, dest->len, "", 0, KS_EXPIRE_NONE, KS_SET_NOINT);
        memcpy(ks_str_resize(&txn, db, dest->ptr, dest->len, maxlen), res, maxlen);
        if (!existed) notify_key(NOTIFY_NEW, "new", dest, c->db);
        notify_key(NOTIFY_STRING, "set", dest, c->db);
    } else if (ks_delete(&txn, db, dest->ptr, dest->len) == LT_OK) {
        notify_key(NOTIFY_GENERIC, "del", dest, c->db);
    }
    addReplyLongLong(c, (long long)maxlen);
done:
    ks_txn_commit(&txn);
    free(res);
}

/* ---- BITFIELD ------------------------------------------------------------------- */

enum { BFOVERFLOW_WRAP, BFOVERFLOW_SAT, BFOVERFLOW_FAIL };
enum { BITFIELDOP_GET, BITFIELDOP_SET, BITFIELDOP_INCRBY };

typedef struct bitfield_op {
    uint64_t offset;
    int64_t i64;
    int opcode, owtype, bits, sign;
} bitfield_op;

/* Ops decoded before any is run; more than this many take one heap array. */
#define BITFIELD_OPS_STACK 16

static uint64_t getUnsignedBitfield(const unsigned char *p, uint64_t offset, int bits) {
    uint64_t value = 0;
    for (int j = 0; j < bits; j++, offset++) {
        uint64_t bitval = (p[offset >> 3] >> (7 - (offset & 7))) & 1;
        value = (value << 1) | bitval;
    }
    return value;
}

static int64_t getSignedBitfield(const unsigned char *p, uint64_t offset, int bits) {
    uint64_t u = getUnsignedBitfield(p, offset, bits);
    if (bits < 64 && (u & ((uint64_t)1 << (bits - 1)))) u |= UINT64_MAX << bits;
    return (int64_t)u;
}

static void setUnsignedBitfield(unsigned char *p, uint64_t offset, int bits, uint64_t value) {
    for (int j = 0; j < bits; j++, offset++) {
        unsigned bitval = (value & ((uint64_t)1 << (bits - 1 - j))) != 0;
        unsigned bit = 7 - (unsigned)(offset & 7);
        p[offset >> 3] = (unsigned char)((p[offset >> 3] & ~(1u << bit)) | (bitval << bit));
    }
}

/* Redis's checkUnsignedBitfieldOverflow: nonzero when value + incr leaves
 * [0, 2^bits - 1]; *limit gets the wrapped or saturated result. */
static int checkUnsignedBitfieldOverflow(uint64_t value, int64_t incr, int bits,
                                         int owtype, uint64_t *limit) {
    uint64_t max = (bits == 64) ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int ret;
    if (value > max || (incr > 0 && incr > maxincr)) {
        ret = 1;
        if (owtype == BFOVERFLOW_SAT) *limit = max;
    } else if (incr < 0 && incr < minincr) {
        ret = -1;
        if (owtype == BFOVERFLOW_SAT) *limit = 0;
    } else {
        return 0;
    }
    if (owtype == BFOVERFLOW_WRAP) {
        uint64_t mask = UINT64_MAX << bits;
        *limit = (value + (uint64_t)incr) & ~mask;
        ret = 1;
    }
    return ret;
}

/* Redis's checkSignedBitfieldOverflow, same contract for
 * [-2^(bits-1), 2^(bits-1) - 1]. */
static int checkSignedBitfieldOverflow(int64_t value, int64_t incr, int bits, int owtype,
                                       int64_t *limit) {
    int64_t max = (bits == 64) ? INT64_MAX : (((int64_t)1 << (bits - 1)) - 1);
    int64_t min = (-max) - 1;
    /* May wrap; only used once value is known in range (as in Redis). */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int ret;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr)) {
        ret = 1;
        if (owtype == BFOVERFLOW_SAT) *limit = max;
    } else if (value < min || (bits != 64 && incr < minincr) ||
               (value < 0 && incr < 0 && incr < minincr)) {
        ret = -1;
        if (owtype == BFOVERFLOW_SAT) *limit = min;
    } else {
        return 0;
    }
    if (owtype == BFOVERFLOW_WRAP) {
        uint64_t msb = (uint64_t)1 << (bits - 1);
        uint64_t r = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            r = (r & msb) ? (r | mask) : (r & ~mask);
        }
        *limit = (int64_t)r;
        ret = 1;
    }
    return ret;
}

/* Runs one SET or INCRBY on the writable value p, replying its result
 * (nil when OVERFLOW FAIL refused it). */
/* Returns 1 when it wrote (not failed by OVERFLOW FAIL). */
static int bitfieldWrite(client *c, unsigned char *p, const bitfield_op *op) {
    int overflow;
    if (op->sign) {
        int64_t oldval = getSignedBitfield(p, op->offset, op->bits), newval, wrapped = 0,
                retval;
        if (op->opcode == BITFIELDOP_INCRBY) {
            overflow = checkSignedBitfieldOverflow(oldval, op->i64, op->bits, op->owtype,
                                                   &wrapped);
            newval = overflow ? wrapped : (int64_t)((uint64_t)oldval + (uint64_t)op->i64);
            retval = newval;
        } else {
            newval = op->i64;
            overflow = checkSignedBitfieldOverflow(newval, 0, op->bits, op->owtype, &wrapped);
            if (overflow) newval = wrapped;
            retval = oldval;
        }
        if (overflow && op->owtype == BFOVERFLOW_FAIL) {
            addReplyNull(c);
            return 0;
        }
        addReplyLongLong(c, retval);
        setUnsignedBitfield(p, op->offset, op->bits, (uint64_t)newval);
    } else {
        uint64_t oldval = getUnsignedBitfield(p, op->offset, op->bits), newval,
                 wrapped = 0, retval;
        if (op->opcode == BITFIELDOP_INCRBY) {
            newval = oldval + (uint64_t)op->i64;
            overflow = checkUnsignedBitfieldOverflow(oldval, op->i64, op->bits,
                                                     op->owtype, &wrapped);
            if (overflow) newval = wrapped;
            retval = newval;
        } else {
            newval = (uint64_t)op->i64;
            overflow = checkUnsignedBitfieldOverflow(newval, 0, op->bits, op->owtype,
                                                     &wrapped);
            if (overflow) newval = wrapped;
            retval = oldval;
        }
        if (overflow && op->owtype == BFOVERFLOW_FAIL) {
            addReplyNull(c);
            return 0;
        }
        addReplyLongLong(c, (long long)retval);
        setUnsignedBitfield(p, op->offset, op->bits, newval);
    }
    return 1;
}

/* Runs one GET on src[0..len) (NULL: missing key), zero-padded. */
static void bitfieldRead(client *c, const unsigned char *src, size_t len,
                         const bitfield_op *op) {
    unsigned char buf[9] = {0};
    uint64_t byte = op->offset >> 3;
    for (int i = 0; i < 9 && src && byte + (uint64_t)i < len; i++) buf[i] = src[byte + i];
    uint64_t off = op->offset - byte * 8;
    if (op->sign) addReplyLongLong(c, getSignedBitfield(buf, off, op->bits));
    else addReplyLongLong(c, (long long)getUnsignedBitfield(buf, off, op->bits));
}

/* Redis's bitfieldGeneric: all subcommands parsed (and errors replied)
 * before the key is touched; readonly forbids SET and INCRBY. */
static void bitfieldGeneric(client *c, int readonly_cmd) {
    bitfield_op stack_ops[BITFIELD_OPS_STACK], *ops = stack_ops;
    int numops = 0, cap = BITFIELD_OPS_STACK;
    int owtype = BFOVERFLOW_WRAP, readonly = 1;
    uint64_t highest_write_offset = 0;

    for (int j = 2; j < c->argc; j++) {
        int remargs = c->argc - j - 1;
        const resp_arg *sub = &c->argv[j];
        int opcode, sign = 0, bits = 0;
        long long i64 = 0;
        uint64_t bitoffset;
        if (arg_is(sub, "get") && remargs >= 2) {
            opcode = BITFIELDOP_GET;
        } else if (arg_is(sub, "set") && remargs >= 3) {
            opcode = BITFIELDOP_SET;
        } else if (arg_is(sub, "incrby") && remargs >= 3) {
            opcode = BITFIELDOP_INCRBY;
        } else if (arg_is(sub, "overflow") && remargs >= 1) {
            const resp_arg *t = &c->argv[++j];
            if (arg_is(t, "wrap")) owtype = BFOVERFLOW_WRAP;
            else if (arg_is(t, "sat")) owtype = BFOVERFLOW_SAT;
            else if (arg_is(t, "fail")) owtype = BFOVERFLOW_FAIL;
            else {
                addReplyError(c, "ERR Invalid OVERFLOW type specified");
                goto out;
            }
            continue;
        } else {
            addReplyErrorSyntax(c);
            goto out;
        }
        if (getBitfieldTypeOrReply(c, &c->argv[j + 1], &sign, &bits) < 0) goto out;
        if (getBitOffsetOrReply(c, &c->argv[j + 2], &bitoffset, 1, bits) < 0) goto out;
        if (opcode != BITFIELDOP_GET) {
            readonly = 0;
            if (highest_write_offset < bitoffset + (uint64_t)bits - 1)
                highest_write_offset = bitoffset + (uint64_t)bits - 1;
            if (arg_ll_or_reply(c, &c->argv[j + 3], &i64, NULL) < 0) goto out;
        }
        if (numops == cap) {
            cap *= 2;
            bitfield_op *n = lt_xmalloc(sizeof(*n) * (size_t)cap);
            memcpy(n, ops, sizeof(*n) * (size_t)numops);
            if (ops != stack_ops) free(ops);
            ops = n;
        }
        ops[numops++] = (bitfield_op){.offset = bitoffset, .i64 = i64, .opcode = opcode,
                                      .owtype = owtype, .bits = bits, .sign = sign};
        j += 3 - (opcode == BITFIELDOP_GET);
    }
    if (!readonly && readonly_cmd) {
        addReplyError(c, "ERR BITFIELD_RO only supports the GET subcommand");
        goto out;
    }

    ks_txn txn;
    engine_begin_cmd(c, &txn);
    const unsigned char *src = NULL;
    unsigned char *wp = NULL;
    char buf[LT_LLSTR_SIZE];
    size_t len = 0;
    if (readonly) {
        ks_entry *e;
        if (lookupStringOrReply(c, &txn, &c->argv[1], &e) < 0) goto commit;
        if (e) src = (const unsigned char *)ks_entry_str(e, buf, &len);
    } else {
        wp = lookupStringForBitCommand(c, &txn, highest_write_offset, &len, NULL);
        if (!wp) goto commit;
        src = wp;
    }
    addReplyArrayLen(c, numops);
    int changes = 0;
    for (int j = 0; j < numops; j++) {
        if (ops[j].opcode == BITFIELDOP_GET) bitfieldRead(c, src, len, &ops[j]);
        else changes += bitfieldWrite(c, wp, &ops[j]);
    }
    if (changes) notify_key(NOTIFY_STRING, "setbit", &c->argv[1], c->db);
commit:
    ks_txn_commit(&txn);
out:
    if (ops != stack_ops) free(ops);
}

static void bitfieldCommand(client *c) { bitfieldGeneric(c, 0); }
static void bitfieldroCommand(client *c) { bitfieldGeneric(c, 1); }

/* ---- Table ------------------------------------------------------------------------- */

/* Redis's bitfieldGetKeys: read-only unless a SET or INCRBY (or anything
 * it cannot parse) is in the call. */
static const char *bitfieldKeyFlags(const resp_arg *argv, int argc) {
    for (int i = 2; i < argc; i++) {
        int rem = argc - i - 1;
        if (arg_is(&argv[i], "get") && rem >= 2) i += 2;
        else if (arg_is(&argv[i], "overflow") && rem >= 1) i += 1;
        else return "RW access update";
    }
    return "RO access";
}

#define BIT_KEY1 .key_first = 1, .key_last = 1, .key_step = 1

command bitops_commands[] = {
    {.name = "setbit", .proc = setbitCommand, .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_BITMAP | ACL_SLOW, BIT_KEY1, .key_flags = "RW access update", .group = "bitmap",
     .since = "2.2.0", .complexity = "O(1)",
     .summary = "Sets or clears one bit of a key's value, returning the old bit."},
    {.name = "getbit", .proc = getbitCommand, .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_BITMAP | ACL_FAST, BIT_KEY1, .key_flags = "RO access", .group = "bitmap",
     .since = "2.2.0", .complexity = "O(1)", .summary = "Returns one bit of a key's value."},
    {.name = "bitcount", .proc = bitcountCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_BITMAP | ACL_SLOW, BIT_KEY1, .key_flags = "RO access", .group = "bitmap",
     .since = "2.6.0", .complexity = "O(N)",
     .summary = "Counts the set bits of a key's value, optionally in a range."},
    {.name = "bitpos", .proc = bitposCommand, .arity = -3, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_BITMAP | ACL_SLOW, BIT_KEY1, .key_flags = "RO access", .group = "bitmap",
     .since = "2.8.7", .complexity = "O(N)",
     .summary = "Finds the first set or clear bit of a key's value."},
    {.name = "bitop", .proc = bitopCommand, .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_BITMAP | ACL_SLOW, .key_first = 2, .key_last = -1,
     .key_step = 1, .key_flags = "OW update|RO access", .group = "bitmap", .since = "2.6.0", .complexity = "O(N)",
     .summary = "Stores the AND, OR, XOR or NOT of strings in a key."},
    {.name = "bitfield", .proc = bitfieldCommand, .arity = -2,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_WRITE | ACL_BITMAP | ACL_SLOW, BIT_KEY1, .key_flags = "RW access update variable_flags",
     .key_flags_for = bitfieldKeyFlags,
     .group = "bitmap", .since = "3.2.0", .complexity = "O(1) per subcommand",
     .summary = "Reads, writes and increments integer fields of a key's value."},
    {.name = "bitfield_ro", .proc = bitfieldroCommand, .arity = -2,
     .flags = CMD_READONLY | CMD_FAST, .acl = ACL_READ | ACL_BITMAP | ACL_FAST, BIT_KEY1, .key_flags = "RO access",
     .group = "bitmap", .since = "6.0.0", .complexity = "O(1) per subcommand",
     .summary = "Reads integer fields of a key's value."},
    {0},
};
