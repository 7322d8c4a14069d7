/*
 * rdb_stream.c — streams in Redis's RDB format (API in rdb_stream.h).
 *
 * FORMAT (Redis 7.0's RDB_TYPE_STREAM_LISTPACKS_2 = 19; type 15, written by
 * Redis 5 and 6, lacks the parts marked [19]). "len" is an RDB length,
 * "string" an RDB string (any encoding, LZF included), both as in rdb.c's
 * FORMAT; "id16" a stream ID as 16 raw bytes, ms then seq, each 8 bytes
 * big-endian; "ms8" a signed 64-bit Unix time in ms, 8 bytes little-endian.
 *
 *   len nodes, nodes x { string key (id16: the node's master ID),
 *                        string listpack (below) }
 *   len length (live entries) | len last_id.ms | len last_id.seq |
 *   [19] len first_id.ms | len first_id.seq | len max_deleted_id.ms |
 *        len max_deleted_id.seq | len entries_added |
 *   len groups, groups x {
 *       string name | len last_id.ms | len last_id.seq |
 *       [19] len entries_read (as uint64: -1 is 2^64-1) |
 *       len npel, npel x { id16 | ms8 delivery time | len delivery count } |
 *       len consumers, consumers x { string name | ms8 seen time |
 *                                   len npel, npel x { id16 } } }
 *
 * A node's listpack (the listpack blob of rdb.c's FORMAT) holds, as listpack
 * elements (integers may also be stored as strings of their decimal form):
 *
 *   master entry: count (live entries) | deleted (deleted entries) |
 *                 nfields | nfields x field name | 0
 *   then count + deleted entries, in ascending ID order:
 *     flags (1 = deleted, 2 = same fields as the master entry) |
 *     ms - master.ms | seq - master.seq (wrapping 64-bit differences) |
 *     flags & 2 ?  nfields x value
 *               :  nfields | nfields x { field | value } |
 *     lp-count (elements of this entry before it: nfields + 3 with
 *               flag 2, else 2 x nfields + 4)
 *
 * Type 15 has no first_id / max_deleted_id / entries_added: as Redis
 * 7.0, max_deleted_id = 0-0, entries_added = length, first_id = the first
 * live entry (2^64-1-2^64-1 when there is none) and each group's
 * entries_read is estimated (stream_estimate_distance).
 *
 * WRITING: one listpack per node of the stream, holding its live entries
 * (deleted ones are not written: the metadata keeps max_deleted_id and
 * entries_added, which is all Redis derives from tombstones), the node key
 * being its first live entry's ID; elements use the smallest listpack
 * encoding, strings that are integers as integers, as Redis's lpAppend.
 * Groups, consumers and PELs are in name / ID order, as Redis's rax.
 *
 * READING rejects, with a reason: a node key not 16 bytes, a listpack whose
 * elements are malformed or overrun it, an empty listpack, a master entry
 * without fields or not ending in 0, an entry without fields, unknown
 * flags, a wrong lp-count, master counts that do not match the entries,
 * entries not strictly ascending across the whole value (or 0-0), a
 * length that is not the number of live entries, an entry above last_id,
 * entries_added below length, entries_read not a valid counter (< -1),
 * duplicate group or consumer names, a duplicate group PEL ID, a consumer
 * PEL ID absent from its group PEL or owned twice, and a group PEL entry
 * owned by no consumer (Redis checks the last ones only with
 * sanitize-dump-payload; Lightning always does, since its stream
 * invariants depend on them). Nodes keep the payload's grouping; deleted
 * entries are dropped.
 *
 * Used by rdb.c through rdb_set_stream_codec (rdb_stream_register).
 */
#include "engine/rdb_stream.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xalloc.h"

#define FLAG_DELETED 1
#define FLAG_SAMEFIELDS 2
#define LP_HDR 6
#define LP_NUMELE_UNKNOWN 65535

/* ---- Listpack writing ------------------------------------------------------------ */

/* Redis's lpEncodeBacklen: l's size in 1..5 reversed 7-bit groups. */
static void lp_backlen(rdb_buf *b, uint64_t l) {
    unsigned char h[5];
    size_t n;
    if (l <= 127) n = 1;
    else if (l < 16383) n = 2;
    else if (l < 2097151) n = 3;
    else if (l < 268435455) n = 4;
    else n = 5;
    /* Most significant group first; every byte but the first has bit 7. */
    for (size_t i = 0; i < n; i++) {
        h[i] = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        if (i) h[i] |= 128;
    }
    rdb_buf_append(b, h, n);
}

static void lp_int(rdb_buf *b, long long v) {
    unsigned char h[9];
    size_t n;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        h[0] = (unsigned char)v;
        n = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t t = v < 0 ? (uint64_t)(8192 + v) : u;
        h[0] = (unsigned char)(0xC0 | (t >> 8));
        h[1] = (unsigned char)(t & 0xFF);
        n = 2;
    } else {
        int bytes = v >= INT16_MIN && v <= INT16_MAX   ? 2
                    : v >= -8388608 && v <= 8388607    ? 3
                    : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                       : 8;
        h[0] = bytes == 2 ? 0xF1 : bytes == 3 ? 0xF2 : bytes == 4 ? 0xF3 : 0xF4;
        for (int i = 0; i < bytes; i++) h[1 + i] = (unsigned char)(u >> (8 * i));
        n = 1 + (size_t)bytes;
    }
    rdb_buf_append(b, h, n);
    lp_backlen(b, n);
}

static void lp_str(rdb_buf *b, const char *p, size_t len) {
    long long v;
    if (len > 0 && len <= 20 && lt_string2ll(p, len, &v)) {
        lp_int(b, v);
        return;
    }
    unsigned char h[5];
    size_t hl;
    if (len < 64) {
        h[0] = (unsigned char)(0x80 | len);
        hl = 1;
    } else if (len < 4096) {
        h[0] = (unsigned char)(0xE0 | (len >> 8));
        h[1] = (unsigned char)(len & 0xFF);
        hl = 2;
    } else {
        h[0] = 0xF0;
        for (int i = 0; i < 4; i++) h[1 + i] = (unsigned char)((uint64_t)len >> (8 * i));
        hl = 5;
    }
    rdb_buf_append(b, h, hl);
    rdb_buf_append(b, p, len);
    lp_backlen(b, hl + len);
}

/* ---- Encoding ---------------------------------------------------------------------- */

static void id16_to(unsigned char h[16], const stream_id *id) {
    for (int i = 0; i < 8; i++) {
        h[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        h[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
}

static void put_id16(rdb_buf *b, const stream_id *id) {
    unsigned char h[16];
    id16_to(h, id);
    rdb_buf_append(b, h, 16);
}

static void put_ms8(rdb_buf *b, int64_t t) {
    unsigned char h[8];
    for (int i = 0; i < 8; i++) h[i] = (unsigned char)((uint64_t)t >> (8 * i));
    rdb_buf_append(b, h, 8);
}

/* One node being turned into a listpack. */
typedef struct node_writer {
    stream_id master;
    const char **mf; /* master field names (pointers into the stream) */
    size_t *mfl, nmf, mcap;
    rdb_buf ent;     /* the entries' elements */
    uint64_t nent, nelem;
    rdb_buf lp;
} node_writer;

static void nw_start(node_writer *w, const stream_entry *first) {
    stream_entry e = *first;
    w->master = e.id;
    if (e.nfields > w->mcap) {
        w->mcap = e.nfields;
        w->mf = lt_xrealloc(w->mf, w->mcap * sizeof(*w->mf));
        w->mfl = lt_xrealloc(w->mfl, w->mcap * sizeof(*w->mfl));
    }
    w->nmf = e.nfields;
    for (size_t i = 0; i < w->nmf; i++) {
        const char *v;
        size_t vl;
        stream_entry_field(&e, &w->mf[i], &w->mfl[i], &v, &vl);
    }
    w->ent.len = 0;
    w->nent = w->nelem = 0;
}

static void nw_add(node_writer *w, const stream_entry *entry) {
    stream_entry e = *entry;
    int same = e.nfields == w->nmf;
    for (size_t i = 0; same && i < w->nmf; i++) {
        const char *f, *v;
        size_t fl, vl;
        stream_entry_field(&e, &f, &fl, &v, &vl);
        same = fl == w->mfl[i] && memcmp(f, w->mf[i], fl) == 0;
    }
    e = *entry;
    lp_int(&w->ent, same ? FLAG_SAMEFIELDS : 0);
    lp_int(&w->ent, (long long)(e.id.ms - w->master.ms));
    lp_int(&w->ent, (long long)(e.id.seq - w->master.seq));
    if (!same) lp_int(&w->ent, (long long)e.nfields);
    for (uint64_t i = 0; i < e.nfields; i++) {
        const char *f, *v;
        size_t fl, vl;
        stream_entry_field(&e, &f, &fl, &v, &vl);
        if (!same) lp_str(&w->ent, f, fl);
        lp_str(&w->ent, v, vl);
    }
    uint64_t lpcount = same ? e.nfields + 3 : 2 * e.nfields + 4;
    lp_int(&w->ent, (long long)lpcount);
    w->nelem += lpcount + 1;
    w->nent++;
}

/* Appends the node's key and listpack to out: 0, or -1 when the listpack
 * would exceed the 32-bit size of its header. */
static int nw_flush(node_writer *w, rdb_buf *out) {
    rdb_buf *lp = &w->lp;
    lp->len = 0;
    unsigned char hdr[LP_HDR] = {0};
    rdb_buf_append(lp, hdr, LP_HDR);
    lp_int(lp, (long long)w->nent);
    lp_int(lp, 0);
    lp_int(lp, (long long)w->nmf);
    for (size_t i = 0; i < w->nmf; i++) lp_str(lp, w->mf[i], w->mfl[i]);
    lp_int(lp, 0);
    rdb_buf_append(lp, w->ent.p, w->ent.len);
    unsigned char eof = 0xFF;
    rdb_buf_append(lp, &eof, 1);
    if (lp->len > UINT32_MAX) return -1;
    uint64_t nelem = 4 + w->nmf + w->nelem;
    if (nelem > LP_NUMELE_UNKNOWN) nelem = LP_NUMELE_UNKNOWN;
    for (int i = 0; i < 4; i++) lp->p[i] = (unsigned char)(lp->len >> (8 * i));
    lp->p[4] = (unsigned char)nelem;
    lp->p[5] = (unsigned char)(nelem >> 8);
    unsigned char key[16];
    id16_to(key, &w->master);
    rdb_put_string(out, key, 16);
    rdb_put_string(out, lp->p, lp->len);
    return 0;
}

static void put_pel_ids(rdb_buf *b, const stream_pel *pel, int nacks) {
    rdb_put_len(b, pel->n);
    for (size_t i = 0; i < pel->n; i++) {
        const stream_nack *nk = pel->v[i];
        put_id16(b, &nk->id);
        if (nacks) {
            put_ms8(b, nk->delivery_ms);
            rdb_put_len(b, nk->delivery_count);
        }
    }
}

int rdb_stream_encode(rdb_buf *out, const stream *s) {
    rdb_buf nodes = {0};
    node_writer w = {0};
    uint64_t nnodes = 0;
    size_t cur = SIZE_MAX;
    int rc = RDB_TYPE_STREAM_LISTPACKS_2;
    stream_iter it;
    stream_entry e;
    /* it.node is the index of the node the returned entry lives in. */
    stream_iter_init(&it, s, NULL, NULL, 0);
    while (stream_iter_next(&it, &e)) {
        if (it.node != cur) {
            if (cur != SIZE_MAX && nw_flush(&w, &nodes) < 0) {
                rc = -1;
                goto done;
            }
            nnodes++;
            cur = it.node;
            nw_start(&w, &e);
        }
        nw_add(&w, &e);
    }
    if (cur != SIZE_MAX && nw_flush(&w, &nodes) < 0) {
        rc = -1;
        goto done;
    }
    rdb_put_len(out, nnodes);
    rdb_buf_append(out, nodes.p, nodes.len);
    rdb_put_len(out, s->length);
    rdb_put_len(out, s->last_id.ms);
    rdb_put_len(out, s->last_id.seq);
    rdb_put_len(out, s->first_id.ms);
    rdb_put_len(out, s->first_id.seq);
    rdb_put_len(out, s->max_deleted_id.ms);
    rdb_put_len(out, s->max_deleted_id.seq);
    rdb_put_len(out, s->entries_added);
    rdb_put_len(out, s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        rdb_put_string(out, cg->name, cg->nlen);
        rdb_put_len(out, cg->last_id.ms);
        rdb_put_len(out, cg->last_id.seq);
        rdb_put_len(out, (uint64_t)cg->entries_read);
        put_pel_ids(out, &cg->pel, 1);
        rdb_put_len(out, cg->nconsumers);
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *c = cg->consumers[i];
            rdb_put_string(out, c->name, c->nlen);
            put_ms8(out, c->seen_ms);
            put_pel_ids(out, &c->pel, 0);
        }
    }
done:
    free(nodes.p);
    free(w.ent.p);
    free(w.lp.p);
    free(w.mf);
    free(w.mfl);
    return rc;
}

/* ---- Decoding ---------------------------------------------------------------------- */

typedef struct sd {
    const unsigned char *p;
    size_t len, pos;
    char *why;
    size_t whylen;
} sd;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int sd_fail(sd *d, const char *fmt, ...) {
    if (d->why && d->whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, d->whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int sd_len(sd *d, uint64_t *v, const char *what) {
    if (rdb_get_len(d->p, d->len, &d->pos, v) < 0)
        return sd_fail(d, "stream: bad or truncated %s", what);
    return 0;
}

static int sd_id16(sd *d, stream_id *id, const char *what) {
    if (d->len - d->pos < 16) return sd_fail(d, "stream: truncated %s", what);
    const unsigned char *q = d->p + d->pos;
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = id->ms << 8 | q[i];
        id->seq = id->seq << 8 | q[8 + i];
    }
    d->pos += 16;
    return 0;
}

static int sd_ms8(sd *d, int64_t *t, const char *what) {
    if (d->len - d->pos < 8) return sd_fail(d, "stream: truncated %s", what);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u |= (uint64_t)d->p[d->pos + i] << (8 * i);
    *t = (int64_t)u;
    d->pos += 8;
    return 0;
}

/* Field / value arrays of one entry; integer elements are rendered into
 * ib. Pointers are set after reserving, so growth never leaves them
 * dangling. */
typedef struct fvec {
    const char **p;
    size_t *l;
    char (*ib)[LT_LLSTR_SIZE];
    size_t cap;
} fvec;

static void fvec_reserve(fvec *v, size_t n) {
    if (n <= v->cap) return;
    v->p = lt_xrealloc(v->p, n * sizeof(*v->p));
    v->l = lt_xrealloc(v->l, n * sizeof(*v->l));
    v->ib = lt_xrealloc(v->ib, n * sizeof(*v->ib));
    v->cap = n;
}

static void fvec_set(fvec *v, size_t i, const rdb_lp_elem *e) {
    if (e->s) {
        v->p[i] = e->s;
        v->l[i] = e->len;
    } else {
        v->l[i] = lt_ll2string(v->ib[i], LT_LLSTR_SIZE, e->ll);
        v->p[i] = v->ib[i];
    }
}

static void fvec_free(fvec *v) {
    free(v->p);
    free(v->l);
    free(v->ib);
}

/* Redis's lpGetIntegerIfValid: an integer element, or a string element
 * holding one. 0, or -1 (also at the end of the listpack). */
static int lp_next_int(rdb_lp_iter *it, long long *v) {
    rdb_lp_elem e;
    if (rdb_lp_next(it, &e) != 1) return -1;
    if (e.s) return lt_string2ll(e.s, e.len, v) ? 0 : -1;
    *v = e.ll;
    return 0;
}

static int lp_next_elem(rdb_lp_iter *it, rdb_lp_elem *e) {
    return rdb_lp_next(it, e) == 1 ? 0 : -1;
}

typedef struct decode_state {
    stream *s;
    stream_id prev; /* the last entry read, deleted ones included */
    int have_prev;
    fvec mf, f, v;
} decode_state;

/* Decodes one node's listpack, appending its live entries to st->s as one
 * node (the first forces a new node, the others fill it: the payload's
 * grouping is kept). */
static int decode_listpack(sd *d, decode_state *st, const stream_id *master,
                           const unsigned char *lp, size_t lplen) {
    rdb_lp_iter it;
    rdb_lp_elem e;
    long long count, deleted, nmf, zero;
    if (rdb_lp_open(&it, lp, lplen) < 0) return sd_fail(d, "stream listpack integrity check failed");
    size_t first = it.pos;
    if (lp[first] == 0xFF) return sd_fail(d, "empty listpack inside stream");
    size_t max_elems = lplen / 2; /* an element takes at least 2 bytes */
    if (lp_next_int(&it, &count) < 0 || lp_next_int(&it, &deleted) < 0 ||
        lp_next_int(&it, &nmf) < 0 || count < 0 || deleted < 0 || nmf < 1 ||
        (uint64_t)nmf > max_elems)
        return sd_fail(d, "stream listpack: bad master entry");
    fvec_reserve(&st->mf, (size_t)nmf);
    for (long long i = 0; i < nmf; i++) {
        if (lp_next_elem(&it, &e) < 0) return sd_fail(d, "stream listpack: bad master field");
        fvec_set(&st->mf, (size_t)i, &e);
    }
    if (lp_next_int(&it, &zero) < 0 || zero != 0)
        return sd_fail(d, "stream listpack: master entry not terminated by 0");
    uint64_t live = 0, dead = 0;
    int rc;
    while ((rc = rdb_lp_next(&it, &e)) == 1) {
        long long flags, msd, seqd, nf, lpcount;
        if (!e.s) flags = e.ll;
        else if (!lt_string2ll(e.s, e.len, &flags))
            return sd_fail(d, "stream listpack: bad entry flags");
        if (flags < 0 || flags > (FLAG_DELETED | FLAG_SAMEFIELDS))
            return sd_fail(d, "stream listpack: unknown entry flags %lld", flags);
        if (lp_next_int(&it, &msd) < 0 || lp_next_int(&it, &seqd) < 0)
            return sd_fail(d, "stream listpack: bad entry ID");
        stream_id id = {master->ms + (uint64_t)msd, master->seq + (uint64_t)seqd};
        const char **fp;
        size_t *fl;
        if (flags & FLAG_SAMEFIELDS) {
            nf = nmf;
            fp = st->mf.p;
            fl = st->mf.l;
            fvec_reserve(&st->v, (size_t)nf);
            for (long long i = 0; i < nf; i++) {
                if (lp_next_elem(&it, &e) < 0) return sd_fail(d, "stream listpack: bad value");
                fvec_set(&st->v, (size_t)i, &e);
            }
        } else {
            if (lp_next_int(&it, &nf) < 0 || nf < 1 || (uint64_t)nf > max_elems)
                return sd_fail(d, "stream listpack: bad entry field count");
            fvec_reserve(&st->f, (size_t)nf);
            fvec_reserve(&st->v, (size_t)nf);
            for (long long i = 0; i < nf; i++) {
                if (lp_next_elem(&it, &e) < 0) return sd_fail(d, "stream listpack: bad field");
                fvec_set(&st->f, (size_t)i, &e);
                if (lp_next_elem(&it, &e) < 0) return sd_fail(d, "stream listpack: bad value");
                fvec_set(&st->v, (size_t)i, &e);
            }
            fp = st->f.p;
            fl = st->f.l;
        }
        long long want = flags & FLAG_SAMEFIELDS ? nf + 3 : 2 * nf + 4;
        if (lp_next_int(&it, &lpcount) < 0 || lpcount != want)
            return sd_fail(d, "stream listpack: bad entry lp-count");
        if ((id.ms == 0 && id.seq == 0) ||
            (st->have_prev && stream_id_cmp(&id, &st->prev) <= 0))
            return sd_fail(d, "stream entries not in ascending ID order");
        st->prev = id;
        st->have_prev = 1;
        if (flags & FLAG_DELETED) {
            dead++;
            continue;
        }
        /* max_entries 1 closes the previous node; then no limit (0) until
         * this listpack ends. */
        stream_append(st->s, &id, (size_t)nf, fp, fl, st->v.p, st->v.l, 0, live == 0 ? 1 : 0);
        live++;
    }
    if (rc < 0) return sd_fail(d, "stream listpack integrity check failed");
    if (live != (uint64_t)count || dead != (uint64_t)deleted)
        return sd_fail(d, "stream listpack: master entry counts do not match its entries");
    return 0;
}

typedef struct pel_ent {
    stream_id id;
    int64_t delivery_ms;
    uint64_t delivery_count;
    stream_consumer *owner;
} pel_ent;

static int pel_ent_cmp(const void *a, const void *b) {
    return stream_id_cmp(&((const pel_ent *)a)->id, &((const pel_ent *)b)->id);
}

/* The group PEL entries, consumers and their PELs of cg. */
static int decode_group_pels(sd *d, stream_cg *cg) {
    uint64_t npel, nc;
    if (sd_len(d, &npel, "group PEL size") < 0) return -1;
    /* An entry takes at least 16 + 8 + 1 bytes. */
    if (npel > (d->len - d->pos) / 25) return sd_fail(d, "stream: group PEL size past the input");
    pel_ent *pel = npel ? lt_xmalloc((size_t)npel * sizeof(*pel)) : NULL;
    int rc = -1;
    for (uint64_t i = 0; i < npel; i++) {
        pel_ent *pe = &pel[i];
        pe->owner = NULL;
        if (sd_id16(d, &pe->id, "group PEL ID") < 0 ||
            sd_ms8(d, &pe->delivery_ms, "PEL delivery time") < 0 ||
            sd_len(d, &pe->delivery_count, "PEL delivery count") < 0)
            goto out;
    }
    if (npel) qsort(pel, (size_t)npel, sizeof(*pel), pel_ent_cmp);
    for (uint64_t i = 1; i < npel; i++)
        if (stream_id_cmp(&pel[i - 1].id, &pel[i].id) == 0) {
            sd_fail(d, "duplicated global PEL entry loading stream consumer group");
            goto out;
        }
    if (sd_len(d, &nc, "consumer count") < 0) goto out;
    for (uint64_t i = 0; i < nc; i++) {
        size_t nlen;
        char *name = rdb_get_string(d->p, d->len, &d->pos, &nlen);
        if (!name) {
            sd_fail(d, "stream: bad consumer name");
            goto out;
        }
        stream_consumer *c = stream_consumer_create(cg, name, nlen, 0);
        free(name);
        if (!c) {
            sd_fail(d, "duplicate stream consumer detected");
            goto out;
        }
        int64_t seen;
        uint64_t cpel;
        if (sd_ms8(d, &seen, "consumer seen time") < 0 || sd_len(d, &cpel, "consumer PEL size") < 0)
            goto out;
        c->seen_ms = seen;
        for (uint64_t j = 0; j < cpel; j++) {
            pel_ent key;
            if (sd_id16(d, &key.id, "consumer PEL ID") < 0) goto out;
            pel_ent *pe = npel ? bsearch(&key, pel, (size_t)npel, sizeof(*pel), pel_ent_cmp) : NULL;
            if (!pe) {
                sd_fail(d, "consumer entry not found in group global PEL");
                goto out;
            }
            if (pe->owner) {
                sd_fail(d, "consumer PEL entry owned twice");
                goto out;
            }
            pe->owner = c;
        }
    }
    for (uint64_t i = 0; i < npel; i++)
        if (!pel[i].owner) {
            sd_fail(d, "stream CG PEL entry without consumer");
            goto out;
        }
    /* In ID order: every insertion appends to both PELs. */
    for (uint64_t i = 0; i < npel; i++)
        stream_cg_add_nack(cg, pel[i].owner, &pel[i].id, pel[i].delivery_ms,
                           pel[i].delivery_count);
    rc = 0;
out:
    free(pel);
    return rc;
}

static int decode_body(sd *d, decode_state *st, int rdbtype) {
    stream *s = st->s;
    uint64_t nnodes;
    if (sd_len(d, &nnodes, "node count") < 0) return -1;
    for (uint64_t i = 0; i < nnodes; i++) {
        size_t klen, lplen;
        char *key = rdb_get_string(d->p, d->len, &d->pos, &klen);
        if (!key) return sd_fail(d, "stream master ID loading failed");
        if (klen != 16) {
            free(key);
            return sd_fail(d, "stream node key entry is not the size of a stream ID");
        }
        sd kd = {.p = (const unsigned char *)key, .len = 16};
        stream_id master;
        sd_id16(&kd, &master, "node key");
        free(key);
        unsigned char *lp = (unsigned char *)rdb_get_string(d->p, d->len, &d->pos, &lplen);
        if (!lp) return sd_fail(d, "stream listpacks loading failed");
        int rc = decode_listpack(d, st, &master, lp, lplen);
        free(lp);
        if (rc < 0) return -1;
    }
    uint64_t length;
    stream_id last, first = {0, 0}, maxdel = {0, 0};
    uint64_t added;
    if (sd_len(d, &length, "stream length") < 0 || sd_len(d, &last.ms, "last ID") < 0 ||
        sd_len(d, &last.seq, "last ID") < 0)
        return -1;
    if (rdbtype == RDB_TYPE_STREAM_LISTPACKS_2) {
        if (sd_len(d, &first.ms, "first ID") < 0 || sd_len(d, &first.seq, "first ID") < 0 ||
            sd_len(d, &maxdel.ms, "max deleted ID") < 0 ||
            sd_len(d, &maxdel.seq, "max deleted ID") < 0 ||
            sd_len(d, &added, "entries added") < 0)
            return -1;
    } else {
        added = length;
        /* Redis 7.0's streamGetEdgeID: the first live entry, else the
         * greatest ID. */
        if (s->length) first = s->first_id;
        else first = (stream_id){UINT64_MAX, UINT64_MAX};
    }
    if (length != s->length) return sd_fail(d, "stream length does not match its entries");
    if (st->have_prev && stream_id_cmp(&st->prev, &last) > 0)
        return sd_fail(d, "stream entry above the stream's last ID");
    if (added < length) return sd_fail(d, "stream entries-added below its length");
    s->last_id = last;
    s->first_id = first;
    s->max_deleted_id = maxdel;
    s->entries_added = added;
    uint64_t ngroups;
    if (sd_len(d, &ngroups, "consumer group count") < 0) return -1;
    for (uint64_t g = 0; g < ngroups; g++) {
        size_t nlen;
        char *name = rdb_get_string(d->p, d->len, &d->pos, &nlen);
        if (!name) return sd_fail(d, "error reading the consumer group name from stream");
        stream_id gl;
        uint64_t er;
        long long entries_read;
        if (sd_len(d, &gl.ms, "group last ID") < 0 || sd_len(d, &gl.seq, "group last ID") < 0) {
            free(name);
            return -1;
        }
        if (rdbtype == RDB_TYPE_STREAM_LISTPACKS_2) {
            if (sd_len(d, &er, "group entries-read") < 0) {
                free(name);
                return -1;
            }
            if (er > (uint64_t)INT64_MAX && er != UINT64_MAX) {
                free(name);
                return sd_fail(d, "stream group entries-read out of range");
            }
            entries_read = (long long)er;
        } else {
            entries_read = stream_estimate_distance(s, &gl);
        }
        stream_cg *cg = stream_cg_create(s, name, nlen, &gl, entries_read);
        if (!cg) {
            sd_fail(d, "duplicated consumer group name %.*s", nlen > 64 ? 64 : (int)nlen, name);
            free(name);
            return -1;
        }
        free(name);
        if (decode_group_pels(d, cg) < 0) return -1;
    }
    const char *bad = stream_check(s);
    if (bad) return sd_fail(d, "stream: %s", bad);
    return 0;
}

stream *rdb_stream_decode(const unsigned char *p, size_t len, size_t *pos, int rdbtype, char *why,
                          size_t whylen) {
    if (rdbtype != RDB_TYPE_STREAM_LISTPACKS && rdbtype != RDB_TYPE_STREAM_LISTPACKS_2) {
        if (why && whylen) snprintf(why, whylen, "not a stream RDB type: %d", rdbtype);
        return NULL;
    }
    sd d = {.p = p, .len = len, .pos = *pos, .why = why, .whylen = whylen};
    if (d.pos > len) {
        sd_fail(&d, "stream: offset past the input");
        return NULL;
    }
    decode_state st = {.s = stream_new()};
    int rc = decode_body(&d, &st, rdbtype);
    fvec_free(&st.mf);
    fvec_free(&st.f);
    fvec_free(&st.v);
    if (rc < 0) {
        stream_free(st.s);
        return NULL;
    }
    *pos = d.pos;
    return st.s;
}

/* ---- Registration ------------------------------------------------------------------- */

static int codec_encode(rdb_buf *out, const void *obj) { return rdb_stream_encode(out, obj); }

static void *codec_decode(const unsigned char *p, size_t len, size_t *pos, int rdbtype, char *why,
                          size_t whylen) {
    return rdb_stream_decode(p, len, pos, rdbtype, why, whylen);
}

static const rdb_stream_codec redis_stream_codec = {
    .encode = codec_encode,
    .decode = codec_decode,
};

void rdb_stream_register(void) { rdb_set_stream_codec(&redis_stream_codec); }
