/*
 * streamobj.c — the stream value (see streamobj.h for the layout, the
 * invariants and the snapshot format).
 *
 * Owns: the node array and the packed entry bytes of each node, consumer
 * groups, consumers and nacks, encode/decode, stream_type_ops. Called by
 * t_stream.c and the keyspace, under the shard lock.
 */
#include "engine/streamobj.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/xalloc.h"

#define ENCODE_VERSION 1
#define FLAG_DELETED 0x01
#define NODE_MAX_SIZE ((uint64_t)1 << 30) /* Redis's STREAM_LISTPACK_MAX_SIZE */
#define STREAM_MAX_STR ((uint64_t)512 * 1024 * 1024)

struct stream_node {
    stream_id master;
    uint32_t count;   /* entries, deleted ones included */
    uint32_t deleted; /* entries marked deleted */
    uint32_t len, cap;
    unsigned char *data;
};

int stream_id_cmp(const stream_id *a, const stream_id *b) {
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

static int id_is_zero(const stream_id *id) { return id->ms == 0 && id->seq == 0; }

/* ---- Varints and entry parsing ----------------------------------------------- */

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *varint_put(unsigned char *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Node bytes are written by this file only: trusted. */
static const unsigned char *varint_get(const unsigned char *p, uint64_t *v) {
    uint64_t r = 0;
    unsigned shift = 0;
    while (*p & 0x80) {
        r |= (uint64_t)(*p++ & 0x7f) << shift;
        shift += 7;
    }
    *v = r | ((uint64_t)*p++ << shift);
    return p;
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Parses the entry at off of n: flags, id, fields; returns its size. */
static uint32_t entry_parse(const stream_node *n, uint32_t off, int *flags, stream_entry *e) {
    const unsigned char *p = n->data + off;
    *flags = p[0];
    uint64_t msd, seq;
    p = varint_get(p + 1, &msd);
    p = varint_get(p, &seq);
    e->id.ms = n->master.ms + msd;
    e->id.seq = seq;
    p = varint_get(p, &e->nfields);
    e->cur = p;
    /* The size: walk to the back field. */
    const unsigned char *q = p;
    for (uint64_t i = 0; i < e->nfields * 2; i++) {
        uint64_t l;
        q = varint_get(q, &l);
        q += l;
    }
    return (uint32_t)(q + 4 - (n->data + off));
}

void stream_entry_field(stream_entry *e, const char **f, size_t *fl, const char **v,
                        size_t *vl) {
    uint64_t l;
    const unsigned char *p = varint_get(e->cur, &l);
    *f = (const char *)p;
    *fl = (size_t)l;
    p = varint_get(p + l, &l);
    *v = (const char *)p;
    *vl = (size_t)l;
    e->cur = p + l;
}

/* ---- Nodes ------------------------------------------------------------------------ */

static stream_node *node_new(const stream_id *master, size_t cap) {
    stream_node *n = lt_xcalloc(1, sizeof(*n));
    n->master = *master;
    n->cap = (uint32_t)cap;
    n->data = lt_xmalloc(cap);
    return n;
}

static void node_free(stream_node *n) {
    free(n->data);
    free(n);
}

static void nodes_insert(stream *s, size_t at, stream_node *n) {
    if (s->nnodes == s->ncap) {
        s->ncap = s->ncap ? s->ncap * 2 : 4;
        s->nodes = lt_xrealloc(s->nodes, s->ncap * sizeof(*s->nodes));
    }
    memmove(s->nodes + at + 1, s->nodes + at, (s->nnodes - at) * sizeof(*s->nodes));
    s->nodes[at] = n;
    s->nnodes++;
}

static void nodes_remove(stream *s, size_t at) {
    node_free(s->nodes[at]);
    memmove(s->nodes + at, s->nodes + at + 1, (s->nnodes - at - 1) * sizeof(*s->nodes));
    s->nnodes--;
}

/* Index of the last node whose master <= id, or 0. */
static size_t node_find(const stream *s, const stream_id *id) {
    size_t lo = 0, hi = s->nnodes;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(&s->nodes[mid]->master, id) <= 0) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* first_id after removals: the first live entry, 0-0 when empty. */
static void update_first_id(stream *s) {
    stream_iter it;
    stream_entry e;
    stream_iter_init(&it, s, NULL, NULL, 0);
    if (stream_iter_next(&it, &e)) s->first_id = e.id;
    else s->first_id = (stream_id){0, 0};
}

/* ---- Life cycle ------------------------------------------------------------------- */

stream *stream_new(void) { return lt_xcalloc(1, sizeof(stream)); }

static void pel_free_vec(stream_pel *p) {
    free(p->v);
    *p = (stream_pel){0};
}

static void consumer_free(stream_consumer *c) {
    pel_free_vec(&c->pel);
    free(c->name);
    free(c);
}

static void cg_free(stream_cg *cg) {
    for (size_t i = 0; i < cg->pel.n; i++) free(cg->pel.v[i]);
    pel_free_vec(&cg->pel);
    for (size_t i = 0; i < cg->nconsumers; i++) consumer_free(cg->consumers[i]);
    free(cg->consumers);
    free(cg->name);
    free(cg);
}

void stream_free(stream *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nnodes; i++) node_free(s->nodes[i]);
    free(s->nodes);
    for (size_t i = 0; i < s->ngroups; i++) cg_free(s->groups[i]);
    free(s->groups);
    free(s);
}

static char *dup_bytes(const char *p, size_t n) {
    char *r = lt_xmalloc(n ? n : 1);
    if (n) memcpy(r, p, n);
    return r;
}

static void pel_insert_at(stream_pel *p, size_t at, stream_nack *nk) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->v = lt_xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    memmove(p->v + at + 1, p->v + at, (p->n - at) * sizeof(*p->v));
    p->v[at] = nk;
    p->n++;
}

static void pel_remove_at(stream_pel *p, size_t at) {
    memmove(p->v + at, p->v + at + 1, (p->n - at - 1) * sizeof(*p->v));
    p->n--;
    if (p->n == 0) pel_free_vec(p);
}

stream *stream_dup(const stream *s) {
    stream *d = lt_xcalloc(1, sizeof(*d));
    *d = *s;
    d->nodes = NULL;
    d->ncap = d->nnodes = 0;
    d->groups = NULL;
    d->gcap = d->ngroups = 0;
    if (s->nnodes) {
        d->nodes = lt_xmalloc(s->nnodes * sizeof(*d->nodes));
        d->ncap = s->nnodes;
        for (size_t i = 0; i < s->nnodes; i++) {
            const stream_node *n = s->nodes[i];
            stream_node *m = node_new(&n->master, n->len ? n->len : 1);
            memcpy(m->data, n->data, n->len);
            m->len = n->len;
            m->count = n->count;
            m->deleted = n->deleted;
            d->nodes[i] = m;
        }
        d->nnodes = s->nnodes;
    }
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        stream_cg *ng = stream_cg_create(d, cg->name, cg->nlen, &cg->last_id, cg->entries_read);
        /* nacks first (owned by the group), then each consumer's view. */
        ng->pel.v = cg->pel.n ? lt_xmalloc(cg->pel.n * sizeof(*ng->pel.v)) : NULL;
        ng->pel.cap = ng->pel.n = cg->pel.n;
        for (size_t i = 0; i < cg->pel.n; i++) {
            ng->pel.v[i] = lt_xmalloc(sizeof(stream_nack));
            *ng->pel.v[i] = *cg->pel.v[i];
        }
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *c = cg->consumers[i];
            stream_consumer *nc = stream_consumer_create(ng, c->name, c->nlen, c->seen_ms);
            nc->pel.v = c->pel.n ? lt_xmalloc(c->pel.n * sizeof(*nc->pel.v)) : NULL;
            nc->pel.cap = nc->pel.n = c->pel.n;
            for (size_t j = 0; j < c->pel.n; j++) {
                int found;
                size_t at = stream_pel_lower_bound(&ng->pel, &c->pel.v[j]->id, &found);
                ASSERT(found);
                ng->pel.v[at]->consumer = nc;
                nc->pel.v[j] = ng->pel.v[at];
            }
        }
    }
    return d;
}

size_t stream_mem_usage(const stream *s) {
    size_t b = sizeof(*s) + s->ncap * sizeof(*s->nodes);
    for (size_t i = 0; i < s->nnodes; i++) b += sizeof(stream_node) + s->nodes[i]->cap;
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        b += sizeof(*cg) + cg->nlen + cg->pel.cap * sizeof(void *) +
             cg->pel.n * sizeof(stream_nack) + cg->ccap * sizeof(void *);
        for (size_t i = 0; i < cg->nconsumers; i++)
            b += sizeof(stream_consumer) + cg->consumers[i]->nlen +
                 cg->consumers[i]->pel.cap * sizeof(void *);
    }
    return b;
}

/* ---- Entries ---------------------------------------------------------------------- */

void stream_append(stream *s, const stream_id *id, size_t nfields, const char *const *f,
                   const size_t *fl, const char *const *v, const size_t *vl,
                   uint64_t node_max_bytes, uint64_t node_max_entries) {
    ASSERT(nfields >= 1 && stream_id_cmp(id, &s->last_id) > 0);
    if (node_max_bytes == 0 || node_max_bytes > NODE_MAX_SIZE) node_max_bytes = NODE_MAX_SIZE;
    stream_node *n = s->nnodes ? s->nodes[s->nnodes - 1] : NULL;
    /* Size with deltas against the tail node's master (a new node's
     * master is id itself: smaller or equal). */
    uint64_t msd = n ? id->ms - n->master.ms : 0;
    size_t size = 1 + varint_len(msd) + varint_len(id->seq) + varint_len(nfields) + 4;
    for (size_t i = 0; i < nfields; i++)
        size += varint_len(fl[i]) + fl[i] + varint_len(vl[i]) + vl[i];
    if (n && (n->len + size >= node_max_bytes ||
              (node_max_entries && n->count >= node_max_entries))) {
        /* The tail node closes: no entry is appended to it again, so its
         * buffer shrinks to what it holds (growth doubled it). */
        if (n->cap > n->len) {
            n->data = lt_xrealloc(n->data, n->len);
            n->cap = n->len;
        }
        n = NULL;
    }
    if (!n) {
        msd = 0;
        size = 1 + varint_len(0) + varint_len(id->seq) + varint_len(nfields) + 4;
        for (size_t i = 0; i < nfields; i++)
            size += varint_len(fl[i]) + fl[i] + varint_len(vl[i]) + vl[i];
        size_t cap = size < 256 ? 256 : size;
        n = node_new(id, cap);
        nodes_insert(s, s->nnodes, n);
    }
    ASSERT(size <= UINT32_MAX - n->len);
    if (n->len + size > n->cap) {
        size_t cap = (size_t)n->cap * 2;
        if (cap < n->len + size) cap = n->len + size;
        n->data = lt_xrealloc(n->data, cap);
        n->cap = (uint32_t)cap;
    }
    unsigned char *p = n->data + n->len;
    *p++ = 0;
    p = varint_put(p, msd);
    p = varint_put(p, id->seq);
    p = varint_put(p, nfields);
    for (size_t i = 0; i < nfields; i++) {
        p = varint_put(p, fl[i]);
        memcpy(p, f[i], fl[i]);
        p += fl[i];
        p = varint_put(p, vl[i]);
        memcpy(p, v[i], vl[i]);
        p += vl[i];
    }
    put32(p, (uint32_t)size);
    p += 4;
    ASSERT((size_t)(p - (n->data + n->len)) == size);
    n->len += (uint32_t)size;
    n->count++;
    if (s->length == 0) s->first_id = *id;
    s->length++;
    s->entries_added++;
    s->last_id = *id;
}

/* Marks the entry at off of node ni deleted; frees the node when all are. */
static void mark_deleted(stream *s, size_t ni, uint32_t off) {
    stream_node *n = s->nodes[ni];
    n->data[off] |= FLAG_DELETED;
    n->deleted++;
    s->length--;
    if (n->deleted == n->count) nodes_remove(s, ni);
}

/* Finds live entry id: node index and offset. */
static int find_entry(const stream *s, const stream_id *id, size_t *ni, uint32_t *off,
                      stream_entry *e) {
    if (!s->nnodes) return 0;
    size_t i = node_find(s, id);
    const stream_node *n = s->nodes[i];
    uint32_t o = 0;
    while (o < n->len) {
        int flags;
        uint32_t sz = entry_parse(n, o, &flags, e);
        int c = stream_id_cmp(&e->id, id);
        if (c > 0) return 0;
        if (c == 0) {
            if (flags & FLAG_DELETED) return 0;
            *ni = i;
            *off = o;
            return 1;
        }
        o += sz;
    }
    return 0;
}

int stream_lookup(const stream *s, const stream_id *id, stream_entry *e) {
    size_t ni;
    uint32_t off;
    return find_entry(s, id, &ni, &off, e);
}

int stream_delete(stream *s, const stream_id *id) {
    size_t ni;
    uint32_t off;
    stream_entry e;
    if (!find_entry(s, id, &ni, &off, &e)) return 0;
    mark_deleted(s, ni, off);
    if (stream_id_cmp(id, &s->max_deleted_id) > 0) s->max_deleted_id = *id;
    if (s->length == 0) s->first_id = (stream_id){0, 0};
    else if (stream_id_cmp(id, &s->first_id) == 0) update_first_id(s);
    return 1;
}

uint64_t stream_trim(stream *s, int strategy, uint64_t maxlen, const stream_id *minid,
                     int approx, uint64_t limit) {
    uint64_t removed = 0;
    while (s->nnodes) {
        if (strategy == STREAM_TRIM_MAXLEN && s->length <= maxlen) break;
        stream_node *n = s->nodes[0];
        uint64_t live = n->count - n->deleted;
        if (limit && removed + live > limit) break;
        int whole;
        if (strategy == STREAM_TRIM_MAXLEN) {
            whole = s->length - live >= maxlen;
        } else {
            /* The node's last entry (live or not) below minid. */
            stream_entry e;
            int flags;
            entry_parse(n, n->len - get32(n->data + n->len - 4), &flags, &e);
            whole = stream_id_cmp(&e.id, minid) < 0;
        }
        if (whole) {
            s->length -= live;
            removed += live;
            nodes_remove(s, 0);
            continue;
        }
        if (approx) break;
        /* Exact: mark entries of this node until the condition holds. */
        uint32_t off = 0;
        while (off < n->len) {
            int flags;
            stream_entry e;
            uint32_t sz = entry_parse(n, off, &flags, &e);
            if (strategy == STREAM_TRIM_MAXLEN ? s->length <= maxlen
                                               : stream_id_cmp(&e.id, minid) >= 0)
                break;
            if (!(flags & FLAG_DELETED)) {
                n->data[off] |= FLAG_DELETED;
                n->deleted++;
                s->length--;
                removed++;
            }
            off += sz;
        }
        /* It cannot have deleted the whole node (that case was above). */
        ASSERT(n->deleted < n->count);
        break;
    }
    if (s->length == 0) s->first_id = (stream_id){0, 0};
    else update_first_id(s);
    return removed;
}

/* ---- Iteration --------------------------------------------------------------------- */

void stream_iter_init(stream_iter *it, const stream *s, const stream_id *start,
                      const stream_id *end, int rev) {
    it->s = s;
    it->start = start ? *start : (stream_id){0, 0};
    it->end = end ? *end : (stream_id){UINT64_MAX, UINT64_MAX};
    it->rev = rev;
    it->done = s->nnodes == 0 || stream_id_cmp(&it->start, &it->end) > 0;
    if (it->done) return;
    if (!rev) {
        it->node = node_find(s, &it->start);
        it->off = 0;
    } else {
        it->node = node_find(s, &it->end);
        it->off = s->nodes[it->node]->len;
    }
}

int stream_iter_next(stream_iter *it, stream_entry *e) {
    const stream *s = it->s;
    while (!it->done) {
        const stream_node *n = s->nodes[it->node];
        int flags;
        if (!it->rev) {
            if (it->off >= n->len) {
                if (++it->node >= s->nnodes) it->done = 1;
                it->off = 0;
                continue;
            }
            it->off += entry_parse(n, it->off, &flags, e);
            if (flags & FLAG_DELETED) continue;
            if (stream_id_cmp(&e->id, &it->start) < 0) continue;
            if (stream_id_cmp(&e->id, &it->end) > 0) {
                it->done = 1;
                return 0;
            }
            return 1;
        }
        if (it->off == 0) {
            if (it->node == 0) it->done = 1;
            else it->off = s->nodes[--it->node]->len;
            continue;
        }
        it->off -= get32(n->data + it->off - 4);
        entry_parse(n, it->off, &flags, e);
        if (flags & FLAG_DELETED) continue;
        if (stream_id_cmp(&e->id, &it->end) > 0) continue;
        if (stream_id_cmp(&e->id, &it->start) < 0) {
            it->done = 1;
            return 0;
        }
        return 1;
    }
    return 0;
}

/* ---- Logical read counters (Redis 7.0) ---------------------------------------------- */

int stream_range_has_tombstones(const stream *s, const stream_id *start, const stream_id *end) {
    if (!s->length || id_is_zero(&s->max_deleted_id)) return 0;
    if (stream_id_cmp(&s->first_id, &s->max_deleted_id) > 0) return 0;
    stream_id a = start ? *start : (stream_id){0, 0};
    stream_id b = end ? *end : (stream_id){UINT64_MAX, UINT64_MAX};
    return stream_id_cmp(&a, &s->max_deleted_id) <= 0 &&
           stream_id_cmp(&s->max_deleted_id, &b) <= 0;
}

long long stream_estimate_distance(const stream *s, const stream_id *id) {
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, &s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = stream_id_cmp(id, &s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return STREAM_ENTRIES_READ_INVALID;
    int cmp_first = stream_id_cmp(id, &s->first_id);
    if (id_is_zero(&s->max_deleted_id) || stream_id_cmp(&s->max_deleted_id, &s->first_id) < 0) {
        if (cmp_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_INVALID;
}

/* ---- Consumer groups ---------------------------------------------------------------- */

/* Redis's rax order: memcmp, a prefix first. */
static int name_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static size_t cg_lower_bound(const stream *s, const char *name, size_t nlen, int *found) {
    size_t lo = 0, hi = s->ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(s->groups[mid]->name, s->groups[mid]->nlen, name, nlen) < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < s->ngroups && name_cmp(s->groups[lo]->name, s->groups[lo]->nlen, name, nlen) == 0;
    return lo;
}

stream_cg *stream_cg_find(const stream *s, const char *name, size_t nlen) {
    int found;
    size_t at = cg_lower_bound(s, name, nlen, &found);
    return found ? s->groups[at] : NULL;
}

stream_cg *stream_cg_create(stream *s, const char *name, size_t nlen, const stream_id *last_id,
                            long long entries_read) {
    int found;
    size_t at = cg_lower_bound(s, name, nlen, &found);
    if (found) return NULL;
    stream_cg *cg = lt_xcalloc(1, sizeof(*cg));
    cg->name = dup_bytes(name, nlen);
    cg->nlen = nlen;
    cg->last_id = *last_id;
    cg->entries_read = entries_read;
    if (s->ngroups == s->gcap) {
        s->gcap = s->gcap ? s->gcap * 2 : 4;
        s->groups = lt_xrealloc(s->groups, s->gcap * sizeof(*s->groups));
    }
    memmove(s->groups + at + 1, s->groups + at, (s->ngroups - at) * sizeof(*s->groups));
    s->groups[at] = cg;
    s->ngroups++;
    return cg;
}

int stream_cg_destroy(stream *s, const char *name, size_t nlen) {
    int found;
    size_t at = cg_lower_bound(s, name, nlen, &found);
    if (!found) return 0;
    cg_free(s->groups[at]);
    memmove(s->groups + at, s->groups + at + 1, (s->ngroups - at - 1) * sizeof(*s->groups));
    s->ngroups--;
    if (!s->ngroups) {
        free(s->groups);
        s->groups = NULL;
        s->gcap = 0;
    }
    return 1;
}

static size_t consumer_lower_bound(const stream_cg *cg, const char *name, size_t nlen,
                                   int *found) {
    size_t lo = 0, hi = cg->nconsumers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (name_cmp(cg->consumers[mid]->name, cg->consumers[mid]->nlen, name, nlen) < 0)
            lo = mid + 1;
        else hi = mid;
    }
    *found = lo < cg->nconsumers &&
             name_cmp(cg->consumers[lo]->name, cg->consumers[lo]->nlen, name, nlen) == 0;
    return lo;
}

stream_consumer *stream_consumer_find(const stream_cg *cg, const char *name, size_t nlen) {
    int found;
    size_t at = consumer_lower_bound(cg, name, nlen, &found);
    return found ? cg->consumers[at] : NULL;
}

stream_consumer *stream_consumer_create(stream_cg *cg, const char *name, size_t nlen,
                                        int64_t seen_ms) {
    int found;
    size_t at = consumer_lower_bound(cg, name, nlen, &found);
    if (found) return NULL;
    stream_consumer *c = lt_xcalloc(1, sizeof(*c));
    c->name = dup_bytes(name, nlen);
    c->nlen = nlen;
    c->seen_ms = seen_ms;
    if (cg->nconsumers == cg->ccap) {
        cg->ccap = cg->ccap ? cg->ccap * 2 : 4;
        cg->consumers = lt_xrealloc(cg->consumers, cg->ccap * sizeof(*cg->consumers));
    }
    memmove(cg->consumers + at + 1, cg->consumers + at,
            (cg->nconsumers - at) * sizeof(*cg->consumers));
    cg->consumers[at] = c;
    cg->nconsumers++;
    return c;
}

uint64_t stream_consumer_delete(stream_cg *cg, stream_consumer *c) {
    uint64_t pending = c->pel.n;
    /* Its nacks leave the group PEL too. */
    while (c->pel.n) stream_cg_ack(cg, &c->pel.v[c->pel.n - 1]->id);
    int found;
    size_t at = consumer_lower_bound(cg, c->name, c->nlen, &found);
    ASSERT(found && cg->consumers[at] == c);
    consumer_free(c);
    memmove(cg->consumers + at, cg->consumers + at + 1,
            (cg->nconsumers - at - 1) * sizeof(*cg->consumers));
    cg->nconsumers--;
    if (!cg->nconsumers) {
        free(cg->consumers);
        cg->consumers = NULL;
        cg->ccap = 0;
    }
    return pending;
}

size_t stream_pel_lower_bound(const stream_pel *pel, const stream_id *id, int *found) {
    size_t lo = 0, hi = pel->n;
    /* New deliveries are usually above every pending ID. */
    if (hi && stream_id_cmp(&pel->v[hi - 1]->id, id) < 0) lo = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(&pel->v[mid]->id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (found) *found = lo < pel->n && stream_id_cmp(&pel->v[lo]->id, id) == 0;
    return lo;
}

stream_nack *stream_cg_nack(const stream_cg *cg, const stream_id *id) {
    int found;
    size_t at = stream_pel_lower_bound(&cg->pel, id, &found);
    return found ? cg->pel.v[at] : NULL;
}

stream_nack *stream_cg_add_nack(stream_cg *cg, stream_consumer *c, const stream_id *id,
                                int64_t delivery_ms, uint64_t delivery_count) {
    int found;
    size_t at = stream_pel_lower_bound(&cg->pel, id, &found);
    ASSERT(!found);
    stream_nack *nk = lt_xmalloc(sizeof(*nk));
    nk->id = *id;
    nk->delivery_ms = delivery_ms;
    nk->delivery_count = delivery_count;
    nk->consumer = c;
    pel_insert_at(&cg->pel, at, nk);
    at = stream_pel_lower_bound(&c->pel, id, &found);
    ASSERT(!found);
    pel_insert_at(&c->pel, at, nk);
    return nk;
}

void stream_nack_move(stream_nack *nk, stream_consumer *to) {
    if (nk->consumer == to) return;
    int found;
    size_t at = stream_pel_lower_bound(&nk->consumer->pel, &nk->id, &found);
    ASSERT(found);
    pel_remove_at(&nk->consumer->pel, at);
    at = stream_pel_lower_bound(&to->pel, &nk->id, &found);
    ASSERT(!found);
    pel_insert_at(&to->pel, at, nk);
    nk->consumer = to;
}

int stream_cg_ack(stream_cg *cg, const stream_id *id) {
    int found;
    size_t at = stream_pel_lower_bound(&cg->pel, id, &found);
    if (!found) return 0;
    stream_nack *nk = cg->pel.v[at];
    pel_remove_at(&cg->pel, at);
    size_t cat = stream_pel_lower_bound(&nk->consumer->pel, id, &found);
    ASSERT(found);
    pel_remove_at(&nk->consumer->pel, cat);
    free(nk);
    return 1;
}

/* ---- Snapshot encoding -------------------------------------------------------------- */

typedef struct ebuf {
    unsigned char b[4096];
    size_t n;
    ks_emit_fn *emit;
    void *ctx;
    int failed;
} ebuf;

static void eb_flush(ebuf *e) {
    if (e->n && !e->failed && e->emit(e->ctx, e->b, e->n) < 0) e->failed = 1;
    e->n = 0;
}
static void eb_put(ebuf *e, const void *p, size_t n) {
    if (n > sizeof(e->b) - e->n) {
        eb_flush(e);
        if (n > sizeof(e->b)) {
            if (!e->failed && e->emit(e->ctx, p, n) < 0) e->failed = 1;
            return;
        }
    }
    memcpy(e->b + e->n, p, n);
    e->n += n;
}
static void eb_u64(ebuf *e, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    eb_put(e, b, 8);
}
static void eb_u32(ebuf *e, uint32_t v) {
    unsigned char b[4];
    put32(b, v);
    eb_put(e, b, 4);
}
static void eb_id(ebuf *e, const stream_id *id) {
    eb_u64(e, id->ms);
    eb_u64(e, id->seq);
}
static void eb_str(ebuf *e, const char *p, size_t n) {
    eb_u32(e, (uint32_t)n);
    eb_put(e, p, n);
}

int stream_encode(const stream *s, ks_emit_fn *emit, void *ctx) {
    ebuf e = {.n = 0, .emit = emit, .ctx = ctx, .failed = 0};
    unsigned char ver = ENCODE_VERSION;
    eb_put(&e, &ver, 1);
    eb_id(&e, &s->last_id);
    eb_id(&e, &s->max_deleted_id);
    eb_u64(&e, s->entries_added);
    eb_u64(&e, s->length);
    stream_iter it;
    stream_entry en;
    stream_iter_init(&it, s, NULL, NULL, 0);
    while (stream_iter_next(&it, &en)) {
        eb_id(&e, &en.id);
        eb_u32(&e, (uint32_t)en.nfields);
        for (uint64_t i = 0; i < en.nfields; i++) {
            const char *f, *v;
            size_t fl, vl;
            stream_entry_field(&en, &f, &fl, &v, &vl);
            eb_str(&e, f, fl);
            eb_str(&e, v, vl);
        }
    }
    eb_u32(&e, (uint32_t)s->ngroups);
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        eb_str(&e, cg->name, cg->nlen);
        eb_id(&e, &cg->last_id);
        eb_u64(&e, (uint64_t)cg->entries_read);
        eb_u64(&e, cg->pel.n);
        for (size_t i = 0; i < cg->pel.n; i++) {
            eb_id(&e, &cg->pel.v[i]->id);
            eb_u64(&e, (uint64_t)cg->pel.v[i]->delivery_ms);
            eb_u64(&e, cg->pel.v[i]->delivery_count);
        }
        eb_u32(&e, (uint32_t)cg->nconsumers);
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *c = cg->consumers[i];
            eb_str(&e, c->name, c->nlen);
            eb_u64(&e, (uint64_t)c->seen_ms);
            eb_u64(&e, c->pel.n);
            for (size_t j = 0; j < c->pel.n; j++) eb_id(&e, &c->pel.v[j]->id);
        }
    }
    eb_flush(&e);
    return e.failed ? -1 : 0;
}

typedef struct dbuf {
    const unsigned char *p, *end;
    int bad;
} dbuf;

static int db_need(dbuf *d, size_t n) {
    if (d->bad || (size_t)(d->end - d->p) < n) {
        d->bad = 1;
        return 0;
    }
    return 1;
}
static uint64_t db_u64(dbuf *d) {
    if (!db_need(d, 8)) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | d->p[i];
    d->p += 8;
    return v;
}
static uint32_t db_u32(dbuf *d) {
    if (!db_need(d, 4)) return 0;
    uint32_t v = get32(d->p);
    d->p += 4;
    return v;
}
static stream_id db_id(dbuf *d) {
    stream_id id;
    id.ms = db_u64(d);
    id.seq = db_u64(d);
    return id;
}
static const char *db_str(dbuf *d, size_t *n) {
    uint32_t l = db_u32(d);
    if (l > STREAM_MAX_STR || !db_need(d, l)) {
        d->bad = 1;
        return NULL;
    }
    const char *r = (const char *)d->p;
    d->p += l;
    *n = l;
    return r;
}

/* Field pointers of one entry being decoded (small entries on the stack). */
#define DEC_STACK_FIELDS 32

stream *stream_decode(const void *buf, size_t len) {
    dbuf d = {.p = buf, .end = (const unsigned char *)buf + len, .bad = 0};
    if (!db_need(&d, 1) || *d.p != ENCODE_VERSION) return NULL;
    d.p++;
    stream *s = stream_new();
    stream_id last_id = db_id(&d);
    stream_id max_del = db_id(&d);
    uint64_t added = db_u64(&d);
    uint64_t count = db_u64(&d);
    /* Each entry takes at least 16 + 4 + 8 bytes. */
    if (d.bad || count > (size_t)(d.end - d.p) / 28 || added < count) goto bad;
    const char *sf[DEC_STACK_FIELDS], *sv[DEC_STACK_FIELDS];
    size_t sfl[DEC_STACK_FIELDS], svl[DEC_STACK_FIELDS];
    for (uint64_t i = 0; i < count; i++) {
        stream_id id = db_id(&d);
        uint32_t nf = db_u32(&d);
        if (d.bad || nf == 0 || nf > (size_t)(d.end - d.p) / 8) goto bad;
        if (stream_id_cmp(&id, &s->last_id) <= 0 || stream_id_cmp(&id, &last_id) > 0) goto bad;
        const char **f = sf, **v = sv;
        size_t *fl = sfl, *vl = svl;
        if (nf > DEC_STACK_FIELDS) {
            f = lt_xmalloc(nf * sizeof(*f));
            v = lt_xmalloc(nf * sizeof(*v));
            fl = lt_xmalloc(nf * sizeof(*fl));
            vl = lt_xmalloc(nf * sizeof(*vl));
        }
        for (uint32_t j = 0; j < nf && !d.bad; j++) {
            f[j] = db_str(&d, &fl[j]);
            if (!d.bad) v[j] = db_str(&d, &vl[j]);
        }
        if (!d.bad)
            stream_append(s, &id, nf, f, fl, v, vl, STREAM_NODE_MAX_BYTES_DEFAULT,
                          STREAM_NODE_MAX_ENTRIES_DEFAULT);
        if (f != sf) {
            free(f);
            free(v);
            free(fl);
            free(vl);
        }
        if (d.bad) goto bad;
    }
    s->last_id = last_id;
    s->max_deleted_id = max_del;
    s->entries_added = added;
    uint32_t ngroups = db_u32(&d);
    if (d.bad || ngroups > (size_t)(d.end - d.p) / 40) goto bad; /* name length, last id, entries-read, PEL and consumer counts */
    for (uint32_t g = 0; g < ngroups; g++) {
        size_t nlen;
        const char *name = db_str(&d, &nlen);
        stream_id gl = db_id(&d);
        long long er = (long long)db_u64(&d);
        uint64_t npel = db_u64(&d);
        if (d.bad || er < -1 || npel > (size_t)(d.end - d.p) / 32) goto bad;
        if (s->ngroups &&
            name_cmp(s->groups[s->ngroups - 1]->name, s->groups[s->ngroups - 1]->nlen, name,
                     nlen) >= 0)
            goto bad;
        stream_cg *cg = stream_cg_create(s, name, nlen, &gl, er);
        ASSERT(cg);
        if (npel) {
            cg->pel.v = lt_xmalloc(npel * sizeof(*cg->pel.v));
            cg->pel.cap = npel;
        }
        for (uint64_t i = 0; i < npel; i++) {
            stream_id id = db_id(&d);
            int64_t dms = (int64_t)db_u64(&d);
            uint64_t dc = db_u64(&d);
            if (d.bad || (cg->pel.n && stream_id_cmp(&cg->pel.v[cg->pel.n - 1]->id, &id) >= 0))
                goto bad;
            stream_nack *nk = lt_xmalloc(sizeof(*nk));
            *nk = (stream_nack){id, dms, dc, NULL};
            cg->pel.v[cg->pel.n++] = nk;
        }
        uint32_t nc = db_u32(&d);
        if (d.bad || nc > (size_t)(d.end - d.p) / 20) goto bad;
        uint64_t owned = 0;
        for (uint32_t i = 0; i < nc; i++) {
            size_t cl;
            const char *cname = db_str(&d, &cl);
            int64_t seen = (int64_t)db_u64(&d);
            uint64_t cpel = db_u64(&d);
            if (d.bad || cpel > cg->pel.n - owned) goto bad;
            if (cg->nconsumers &&
                name_cmp(cg->consumers[cg->nconsumers - 1]->name,
                         cg->consumers[cg->nconsumers - 1]->nlen, cname, cl) >= 0)
                goto bad;
            stream_consumer *c = stream_consumer_create(cg, cname, cl, seen);
            ASSERT(c);
            for (uint64_t j = 0; j < cpel; j++) {
                stream_id id = db_id(&d);
                int found;
                size_t at = d.bad ? 0 : stream_pel_lower_bound(&cg->pel, &id, &found);
                if (d.bad || !found || cg->pel.v[at]->consumer) goto bad;
                if (c->pel.n && stream_id_cmp(&c->pel.v[c->pel.n - 1]->id, &id) >= 0) goto bad;
                cg->pel.v[at]->consumer = c;
                pel_insert_at(&c->pel, c->pel.n, cg->pel.v[at]);
                owned++;
            }
        }
        if (owned != cg->pel.n) goto bad;
    }
    if (d.bad || d.p != d.end) goto bad;
    return s;
bad:
    /* Nacks not yet owned are freed with the group PEL; consumers only
     * reference them. */
    stream_free(s);
    return NULL;
}

/* ---- Checks ---------------------------------------------------------------------------- */

const char *stream_check(const stream *s) {
    uint64_t live = 0;
    stream_id prev = {0, 0};
    int any = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        const stream_node *n = s->nodes[i];
        if (i && stream_id_cmp(&s->nodes[i - 1]->master, &n->master) >= 0)
            return "node masters not ascending";
        uint32_t off = 0, cnt = 0, del = 0;
        while (off < n->len) {
            int flags;
            stream_entry e;
            uint32_t sz = entry_parse(n, off, &flags, &e);
            if (get32(n->data + off + sz - 4) != sz) return "bad back length";
            if (stream_id_cmp(&e.id, &n->master) < 0) return "entry below its master";
            if (any && stream_id_cmp(&e.id, &prev) <= 0) return "entries not ascending";
            prev = e.id;
            any = 1;
            cnt++;
            if (flags & FLAG_DELETED) del++;
            off += sz;
        }
        if (off != n->len || cnt != n->count || del != n->deleted) return "node counts";
        if (del == cnt) return "node with only deleted entries";
        live += cnt - del;
    }
    if (live != s->length) return "length";
    if (any && stream_id_cmp(&prev, &s->last_id) > 0) return "entry above last_id";
    if (s->entries_added < s->length) return "entries_added below length";
    for (size_t g = 0; g < s->ngroups; g++) {
        const stream_cg *cg = s->groups[g];
        if (g && name_cmp(s->groups[g - 1]->name, s->groups[g - 1]->nlen, cg->name, cg->nlen) >= 0)
            return "groups not sorted";
        size_t owned = 0;
        for (size_t i = 0; i < cg->nconsumers; i++) {
            const stream_consumer *c = cg->consumers[i];
            for (size_t j = 0; j < c->pel.n; j++) {
                if (c->pel.v[j]->consumer != c) return "nack owner";
                if (stream_cg_nack(cg, &c->pel.v[j]->id) != c->pel.v[j]) return "consumer nack";
            }
            owned += c->pel.n;
        }
        if (owned != cg->pel.n) return "group PEL ownership";
        for (size_t i = 1; i < cg->pel.n; i++)
            if (stream_id_cmp(&cg->pel.v[i - 1]->id, &cg->pel.v[i]->id) >= 0)
                return "group PEL order";
    }
    return NULL;
}

/* ---- Keyspace type ops ------------------------------------------------------------------ */

static void ops_free(void *obj) { stream_free(obj); }
static void *ops_dup(const void *obj) { return stream_dup(obj); }
static size_t ops_mem_usage(const void *obj) { return stream_mem_usage(obj); }
static const char *ops_encoding(const void *obj) {
    (void)obj;
    return "stream";
}
/* Redis's free effort of a stream: its nodes, plus per group one and the
 * size of the first group's PEL (an estimate for all of them). */
static size_t ops_free_effort(const void *obj) {
    const stream *s = obj;
    size_t effort = s->nnodes;
    if (s->ngroups) effort += s->ngroups * (1 + s->groups[0]->pel.n);
    return effort;
}
static int ops_encode(const void *obj, ks_emit_fn *emit, void *ctx) {
    return stream_encode(obj, emit, ctx);
}
static void *ops_decode(const void *buf, size_t len) { return stream_decode(buf, len); }

const ks_type_ops stream_type_ops = {
    .name = "stream",
    .free = ops_free,
    .dup = ops_dup,
    .mem_usage = ops_mem_usage,
    .encoding = ops_encoding,
    .encode = ops_encode,
    .decode = ops_decode,
    .free_effort = ops_free_effort,
};
