/*
 * listobj.c — the list value type (see listobj.h for the layout, the
 * invariants and the snapshot format).
 *
 * Entry framing inside a node (listpack's, so Redis's memory figures are
 * reachable): header byte(s), payload, back-length.
 *   0xxxxxxx                 integer 0..127
 *   10LLLLLL + L bytes       string of length < 64
 *   110xxxxx xxxxxxxx        13-bit signed integer
 *   1110LLLL LLLLLLLL + L    string of length < 4096
 *   11110000 + u32 L + L     longer string
 *   11110001/2/3/4 + 2/3/4/8 bytes: int16/int24/int32/int64
 * Multi-byte fields are little-endian. The back-length holds the size of
 * header + payload in 7-bit groups, low group last, bit 7 set on every byte
 * that has another one before it; it is read backwards from an entry's end.
 *
 * A node is a fixed header allocation plus its data buffer, so compressing
 * or resizing a node never moves it: node pointers held by iterators stay
 * valid. Every data (re)allocation goes through node_alloc / node_resize /
 * node_compress / node_decompress, which keep l->alloc (allocator-reported
 * bytes of headers and buffers) right.
 *
 * Compression (list-compress-depth, Redis's quicklist compress): the
 * `compress` nodes at each end are kept raw; a node beyond them is stored
 * as an LZ4 image of its entries (zlen > 0) once an operation has touched
 * it (settle(), Redis's __quicklistCompress), when it is at least
 * MIN_COMPRESS_BYTES and the image saves MIN_COMPRESS_IMPROVE bytes. Any
 * access to a compressed node decompresses it first (node_decompress); a
 * node a read left raw is settled at the list's next call (l->reading), one
 * an iterator leaves when it moves on. Reads thus change the representation
 * (never the contents) under the key's shard lock, like writes.
 */
#include "engine/listobj.h"

#include <lz4.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/objlimits.h"

struct list_node {
    list_node *prev, *next;
    unsigned char *data; /* the entries, or (zlen > 0) their LZ4 image */
    uint32_t bytes;      /* bytes of entries (uncompressed) */
    uint32_t cap;        /* bytes data can hold (raw nodes) */
    uint32_t count;      /* entries */
    uint32_t zlen;       /* 0: raw; else bytes of the LZ4 image in data */
};

struct listobj {
    list_node *head, *tail;
    size_t count; /* elements */
    size_t nodes;
    size_t alloc;       /* malloc_usable_size of every node header and buffer */
    list_node *reading; /* a node a read left raw: settled at the next call */
    int32_t fill;       /* list-max-listpack-size at creation (clamped), as Redis */
    int32_t compress;   /* list-compress-depth at creation (clamped) */
};

/* A quicklist node's listpack has 7 bytes besides its entries (6-byte
 * header, end byte): Redis's node sizes count them. */
#define LP_OVERHEAD 7
/* Entry bytes a node holds at the default fill, -2 (more only for a node of
 * one element). */
#define NODE_DATA_MAX (LIST_NODE_MAX_ALLOC - LP_OVERHEAD)
/* Largest node any fill allows (-5); listobj_check's bound. */
#define NODE_ALLOC_LIMIT 65536
/* Redis's compression thresholds (quicklist.c). */
#define MIN_COMPRESS_BYTES 48
#define MIN_COMPRESS_IMPROVE 8
#define COMPRESS_MAX (1 << 16)
/* Quicklist's fill bounds (quicklistSetFill clamps to them). */
#define FILL_MAX 32767
#define FILL_MIN (-5)
/* Nodes keep spare capacity below this; above it they shrink once they are
 * less than half full. */
#define NODE_SHRINK_MIN 64
/* Moved element payloads up to this size are copied on the stack. */
#define MOVE_STACK_BYTES 256

_Static_assert(NODE_DATA_MAX >= 8000, "list node capacity");

/* How full a node may get under the list's fill (list-max-listpack-size
 * when the list was created, as Redis's quicklist keeps it):
 *  fill -1..-5: at most 4, 8, 16, 32, 64 KiB per node's listpack;
 *  fill > 0: at most fill entries (0 counts as 1), and at most 8 KiB
 *  (Redis's SIZE_SAFETY_LIMIT). */
typedef struct node_limit {
    size_t bytes;   /* entry bytes of a node */
    uint32_t count; /* entries of a node */
} node_limit;

static node_limit node_limit_of(const listobj *l) {
    int fill = l->fill;
    if (fill < 0) return (node_limit){((size_t)4096 << (-fill - 1)) - LP_OVERHEAD, UINT32_MAX};
    return (node_limit){LIST_NODE_MAX_ALLOC - LP_OVERHEAD, fill ? (uint32_t)fill : 1};
}

/* ---- Entry encoding --------------------------------------------------------- */

typedef struct entry_enc {
    unsigned char hdr[9]; /* tag and, for integers, the value */
    uint8_t hlen;
    uint8_t blen;
    unsigned char back[5];
    const char *payload; /* string bytes, NULL for integers */
    size_t plen;
    size_t total; /* hlen + plen + blen */
} entry_enc;

static unsigned backlen_len(size_t body) {
    if (body < (1u << 7)) return 1;
    if (body < (1u << 14)) return 2;
    if (body < (1u << 21)) return 3;
    if (body < (1u << 28)) return 4;
    return 5;
}

static void backlen_write(unsigned char *p, size_t body) {
    unsigned n = backlen_len(body);
    for (unsigned k = 0; k < n; k++)
        p[n - 1 - k] = (unsigned char)(((body >> (7 * k)) & 127) | (k + 1 < n ? 128 : 0));
}

/* Reads the back-length ending just before end; *nb its size in bytes. */
static size_t backlen_read(const unsigned char *end, unsigned *nb) {
    size_t v = 0;
    unsigned k = 0;
    unsigned char b;
    do {
        b = end[-1 - (int)k];
        v |= (size_t)(b & 127) << (7 * k);
        k++;
    } while (b & 128);
    *nb = k;
    return v;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Sign-extends the low bits of v. */
static long long sext(uint64_t v, unsigned bits) {
    uint64_t m = 1ull << (bits - 1);
    v &= (bits == 64) ? ~0ull : (1ull << bits) - 1;
    return (long long)((v ^ m) - m);
}

static void enc_finish(entry_enc *e) {
    size_t body = e->hlen + e->plen;
    e->blen = (uint8_t)backlen_len(body);
    backlen_write(e->back, body);
    e->total = body + e->blen;
}

static void enc_int(entry_enc *e, long long v) {
    uint64_t u = (uint64_t)v;
    e->payload = NULL;
    e->plen = 0;
    if (v >= 0 && v <= 127) {
        e->hdr[0] = (unsigned char)v;
        e->hlen = 1;
    } else if (v >= -4096 && v <= 4095) {
        e->hdr[0] = (unsigned char)(0xC0 | ((u >> 8) & 0x1F));
        e->hdr[1] = (unsigned char)(u & 0xFF);
        e->hlen = 2;
    } else {
        unsigned n = v >= INT16_MIN && v <= INT16_MAX   ? 2
                     : v >= -8388608 && v <= 8388607     ? 3
                     : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                         : 8;
        e->hdr[0] = (unsigned char)(n == 2 ? 0xF1 : n == 3 ? 0xF2 : n == 4 ? 0xF3 : 0xF4);
        put_le(e->hdr + 1, u, n);
        e->hlen = (uint8_t)(1 + n);
    }
    enc_finish(e);
}

static void enc_str(entry_enc *e, const char *s, size_t len) {
    if (len < 64) {
        e->hdr[0] = (unsigned char)(0x80 | len);
        e->hlen = 1;
    } else if (len < 4096) {
        e->hdr[0] = (unsigned char)(0xE0 | (len >> 8));
        e->hdr[1] = (unsigned char)(len & 0xFF);
        e->hlen = 2;
    } else {
        ASSERT(len <= UINT32_MAX);
        e->hdr[0] = 0xF0;
        put_le(e->hdr + 1, len, 4);
        e->hlen = 5;
    }
    e->payload = s;
    e->plen = len;
    enc_finish(e);
}

/* Integers where Redis's listpack would store one (lpStringToInt64). */
static void enc_value(entry_enc *e, const char *s, size_t len) {
    long long v;
    if (len > 0 && len < LT_LLSTR_SIZE && lt_string2ll(s, len, &v)) enc_int(e, v);
    else enc_str(e, s, len);
}

static void enc_write(unsigned char *p, const entry_enc *e) {
    memcpy(p, e->hdr, e->hlen);
    if (e->plen) memcpy(p + e->hlen, e->payload, e->plen);
    memcpy(p + e->hlen + e->plen, e->back, e->blen);
}

/* Decodes the entry at p into *v; returns the size of header + payload. */
static size_t entry_read(const unsigned char *p, list_value *v) {
    unsigned char b = p[0];
    v->str = NULL;
    v->len = 0;
    if (b < 0x80) {
        v->ll = b;
        return 1;
    }
    if ((b & 0xC0) == 0x80) {
        v->len = b & 0x3F;
        v->str = (const char *)p + 1;
        return 1 + v->len;
    }
    if ((b & 0xE0) == 0xC0) {
        v->ll = sext(((uint64_t)(b & 0x1F) << 8) | p[1], 13);
        return 2;
    }
    if ((b & 0xF0) == 0xE0) {
        v->len = ((size_t)(b & 0x0F) << 8) | p[1];
        v->str = (const char *)p + 2;
        return 2 + v->len;
    }
    switch (b) {
    case 0xF0:
        v->len = (size_t)get_le(p + 1, 4);
        v->str = (const char *)p + 5;
        return 5 + v->len;
    case 0xF1: v->ll = sext(get_le(p + 1, 2), 16); return 3;
    case 0xF2: v->ll = sext(get_le(p + 1, 3), 24); return 4;
    case 0xF3: v->ll = sext(get_le(p + 1, 4), 32); return 5;
    case 0xF4: v->ll = (long long)get_le(p + 1, 8); return 9;
    }
    ASSERT_NOT_REACHED();
}

/* Whole size (with back-length) of the entry at p. */
static size_t entry_size(const unsigned char *p) {
    list_value v;
    size_t body = entry_read(p, &v);
    return body + backlen_len(body);
}

/* Offset of the entry that ends at off (off > 0). */
static uint32_t entry_before(const list_node *n, uint32_t off) {
    unsigned nb;
    size_t body = backlen_read(n->data + off, &nb);
    ASSERT(body + nb <= off);
    return (uint32_t)(off - nb - body);
}

static void enc_from_value(entry_enc *e, const list_value *v) {
    if (v->str) enc_str(e, v->str, v->len);
    else enc_int(e, v->ll);
}

/* ---- Nodes ------------------------------------------------------------------- */

static void node_relink(listobj *l, list_node *n) {
    if (n->prev) n->prev->next = n;
    else l->head = n;
    if (n->next) n->next->prev = n;
    else l->tail = n;
}

static void node_set_cap(list_node *n) {
    size_t cap = malloc_usable_size(n->data);
    n->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

/* A new unlinked empty raw node able to hold cap bytes. */
static list_node *node_alloc(listobj *l, size_t cap) {
    list_node *n = lt_xmalloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->data = lt_xmalloc(cap ? cap : 1);
    n->bytes = n->count = n->zlen = 0;
    node_set_cap(n);
    l->alloc += malloc_usable_size(n) + malloc_usable_size(n->data);
    l->nodes++;
    return n;
}

/* Reallocates raw node n's buffer to hold cap bytes (n does not move). */
static list_node *node_resize(listobj *l, list_node *n, size_t cap) {
    ASSERT(cap >= n->bytes && n->zlen == 0);
    l->alloc -= malloc_usable_size(n->data);
    n->data = lt_xrealloc(n->data, cap ? cap : 1);
    l->alloc += malloc_usable_size(n->data);
    node_set_cap(n);
    return n;
}

/* Replaces n's buffer by buf (len bytes used; zlen as given). */
static void node_swap_data(listobj *l, list_node *n, unsigned char *buf, uint32_t zlen) {
    l->alloc -= malloc_usable_size(n->data);
    free(n->data);
    n->data = buf;
    n->zlen = zlen;
    l->alloc += malloc_usable_size(buf);
    node_set_cap(n);
}

/* Makes n raw (a no-op when it is). */
static void node_decompress(listobj *l, list_node *n) {
    if (!n || n->zlen == 0) return;
    unsigned char *raw = lt_xmalloc(n->bytes ? n->bytes : 1);
    int got = LZ4_decompress_safe((const char *)n->data, (char *)raw, (int)n->zlen, (int)n->bytes);
    ASSERT(got == (int)n->bytes);
    node_swap_data(l, n, raw, 0);
}

/* Stores n as an LZ4 image when that is worth it (Redis's thresholds). */
static void node_compress(listobj *l, list_node *n) {
    if (!n || n->zlen || n->bytes < MIN_COMPRESS_BYTES) return;
    int bound = LZ4_compressBound((int)n->bytes);
    unsigned char *z = lt_xmalloc((size_t)bound);
    int zl = LZ4_compress_default((const char *)n->data, (char *)z, (int)n->bytes, bound);
    if (zl <= 0 || (uint32_t)zl + MIN_COMPRESS_IMPROVE > n->bytes) {
        free(z);
        return;
    }
    node_swap_data(l, n, lt_xrealloc(z, (size_t)zl), (uint32_t)zl);
}

/* Redis's __quicklistCompress: the `compress` nodes at each end are made
 * raw; n (when not one of them, and not keep) and the first node beyond
 * them at each end are compressed. keep: a node an iterator still reads. */
static void settle(listobj *l, list_node *n, list_node *keep) {
    int depth = l->compress;
    if (depth <= 0 || !l->head || l->nodes < (size_t)depth * 2) return;
    list_node *fwd = l->head, *rev = l->tail;
    int in_depth = 0;
    for (int d = 0; d < depth; d++) {
        node_decompress(l, fwd);
        node_decompress(l, rev);
        if (fwd == n || rev == n) in_depth = 1;
        if (fwd == rev || fwd->next == rev) return;
        fwd = fwd->next;
        rev = rev->prev;
    }
    if (!in_depth && n != keep) node_compress(l, n);
    if (fwd != keep) node_compress(l, fwd);
    if (rev != keep) node_compress(l, rev);
}

/* Settles the node a previous read left raw (unless it is keep). */
static void settle_reading(listobj *l, list_node *keep) {
    list_node *r = l->reading;
    l->reading = NULL;
    if (r && r != keep) settle(l, r, keep);
}

static list_node *node_reserve(listobj *l, list_node *n, size_t bytes) {
    return bytes <= n->cap ? n : node_resize(l, n, bytes);
}

static list_node *node_shrink(listobj *l, list_node *n) {
    if (n->cap > NODE_SHRINK_MIN && n->bytes < n->cap / 2) return node_resize(l, n, n->bytes);
    return n;
}

/* Links unlinked node x after a (a NULL: at the head). */
static void node_link_after(listobj *l, list_node *a, list_node *x) {
    x->prev = a;
    x->next = a ? a->next : l->head;
    node_relink(l, x);
}

/* Unlinks and frees n; element counts are the caller's business. */
static void node_free(listobj *l, list_node *n) {
    if (n->prev) n->prev->next = n->next;
    else l->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else l->tail = n->prev;
    if (l->reading == n) l->reading = NULL;
    l->alloc -= malloc_usable_size(n) + malloc_usable_size(n->data);
    l->nodes--;
    free(n->data);
    free(n);
}

static list_node *node_insert(listobj *l, list_node *n, uint32_t off, const entry_enc *e) {
    node_decompress(l, n);
    ASSERT(off <= n->bytes);
    n = node_reserve(l, n, n->bytes + e->total);
    memmove(n->data + off + e->total, n->data + off, n->bytes - off);
    enc_write(n->data + off, e);
    n->bytes += (uint32_t)e->total;
    n->count++;
    l->count++;
    return n;
}

/* Removes bytes [off, off+size) holding k entries from n. Returns the node
 * (maybe moved), or NULL when it became empty and was freed. */
static list_node *node_delete(listobj *l, list_node *n, uint32_t off, uint32_t size, uint32_t k) {
    node_decompress(l, n);
    ASSERT(off + size <= n->bytes && k <= n->count);
    l->count -= k;
    if (k == n->count) {
        node_free(l, n);
        return NULL;
    }
    memmove(n->data + off, n->data + off + size, n->bytes - off - size);
    n->bytes -= size;
    n->count -= k;
    return node_shrink(l, n);
}

/* 1 if n can take add_count more entries of add bytes in all. */
static int node_fits(const listobj *l, const list_node *n, size_t add, uint32_t add_count) {
    if (!n) return 0;
    /* An element above the packed threshold lives alone (a "plain" node). */
    size_t plain = objlimits_list_packed_threshold();
    if ((add_count == 1 && add > plain) || (n->count == 1 && n->bytes > plain)) return 0;
    node_limit lim = node_limit_of(l);
    return n->bytes + add <= lim.bytes && (size_t)n->count + add_count <= lim.count;
}

/* Appends b's entries to a (a->next == b) and frees b. Returns a's new
 * address; an iterator on either node is moved along. */
static list_node *node_merge(listobj *l, list_node *a, list_node *b, list_iter *it) {
    ASSERT(a->next == b);
    node_decompress(l, a);
    node_decompress(l, b);
    uint32_t abytes = a->bytes;
    int on_a = it && it->node == a;
    a = node_reserve(l, a, (size_t)a->bytes + b->bytes);
    if (on_a) it->node = a;
    memcpy(a->data + a->bytes, b->data, b->bytes);
    a->bytes += b->bytes;
    a->count += b->count;
    if (it && it->node == b) {
        it->node = a;
        it->off += abytes;
    }
    node_free(l, b);
    return a;
}

/* Merges a small node n into a neighbour with room for it (the iterator
 * follows its entry). */
static void node_try_merge(listobj *l, list_node *n, list_iter *it) {
    /* A node left with less than a quarter of the fill by a deletion in the
     * middle of the list is merged into a neighbour that has room. */
    node_limit lim = node_limit_of(l);
    if (n->bytes >= lim.bytes / 4 && (lim.count == UINT32_MAX || n->count >= lim.count / 4 + 1))
        return;
    if (node_fits(l, n->prev, n->bytes, n->count)) node_merge(l, n->prev, n, it);
    else if (n->next && node_fits(l, n, n->next->bytes, n->next->count))
        node_merge(l, n, n->next, it);
}

/* Offset of the last entry of n. */
static uint32_t node_last(const list_node *n) {
    return entry_before(n, n->bytes);
}

/* Inserts e at byte offset off of n (an entry boundary), splitting n when
 * it has no room. */
static void insert_at(listobj *l, list_node *n, uint32_t off, const entry_enc *e) {
    if (node_fits(l, n, e->total, 1)) {
        node_insert(l, n, off, e);
        return;
    }
    if (off == 0 || off == n->bytes) {
        list_node *nb = off == 0 ? n->prev : n->next;
        if (node_fits(l, nb, e->total, 1)) {
            node_insert(l, nb, off == 0 ? nb->bytes : 0, e);
        } else {
            list_node *x = node_alloc(l, e->total);
            node_link_after(l, off == 0 ? n->prev : n, x);
            node_insert(l, x, 0, e);
        }
        return;
    }
    /* Split: the entries from off on move to a new node b after n. */
    node_decompress(l, n);
    uint32_t before = 0;
    for (uint32_t p = 0; p < off; p += (uint32_t)entry_size(n->data + p)) before++;
    list_node *b = node_alloc(l, n->bytes - off);
    memcpy(b->data, n->data + off, n->bytes - off);
    b->bytes = n->bytes - off;
    b->count = n->count - before;
    node_link_after(l, n, b);
    n->bytes = off;
    n->count = before;
    n = node_shrink(l, n);
    if (node_fits(l, n, e->total, 1)) {
        n = node_insert(l, n, n->bytes, e);
    } else if (node_fits(l, b, e->total, 1)) {
        b = node_insert(l, b, 0, e);
    } else {
        list_node *x = node_alloc(l, e->total);
        node_link_after(l, n, x);
        node_insert(l, x, 0, e);
    }
    /* Redis's _quicklistMergeNodes: rejoin the halves with their outer
     * neighbours when they fit together. */
    if (n->prev && node_fits(l, n->prev, n->bytes, n->count)) node_merge(l, n->prev, n, NULL);
    if (b->next && node_fits(l, b, b->next->bytes, b->next->count)) node_merge(l, b, b->next, NULL);
}

/* Finds element idx: its node (made raw) and byte offset, walking from the
 * nearer end. */
static void locate(listobj *l, size_t idx, list_node **np, uint32_t *offp) {
    ASSERT(idx < l->count);
    list_node *n;
    if (idx < l->count / 2) {
        n = l->head;
        while (idx >= n->count) {
            idx -= n->count;
            n = n->next;
        }
    } else {
        size_t r = l->count - 1 - idx;
        n = l->tail;
        while (r >= n->count) {
            r -= n->count;
            n = n->prev;
        }
        idx = n->count - 1 - r;
    }
    node_decompress(l, n);
    uint32_t off;
    if (idx <= n->count / 2) {
        off = 0;
        for (size_t i = 0; i < idx; i++) off += (uint32_t)entry_size(n->data + off);
    } else {
        off = n->bytes;
        for (size_t i = n->count; i > idx; i--) off = entry_before(n, off);
    }
    *np = n;
    *offp = off;
}

/* ---- Public API --------------------------------------------------------------- */

listobj *listobj_new(void) {
    listobj *l = lt_xcalloc(1, sizeof(listobj));
    int fill = objlimits_list_size(), depth = objlimits_list_compress_depth();
    l->fill = fill > FILL_MAX ? FILL_MAX : fill < FILL_MIN ? FILL_MIN : fill;
    l->compress = depth > COMPRESS_MAX ? COMPRESS_MAX : depth < 0 ? 0 : depth;
    return l;
}

void listobj_free(listobj *l) {
    list_node *n = l->head;
    while (n) {
        list_node *next = n->next;
        free(n->data);
        free(n);
        n = next;
    }
    free(l);
}

/* Copies nodes as they are (compressed ones stay compressed). Reads l
 * without changing it. */
listobj *listobj_dup(const listobj *l) {
    listobj *d = lt_xcalloc(1, sizeof(listobj));
    d->fill = l->fill;
    d->compress = l->compress;
    for (const list_node *n = l->head; n; n = n->next) {
        size_t used = n->zlen ? n->zlen : n->bytes;
        list_node *x = node_alloc(d, used);
        memcpy(x->data, n->data, used);
        x->bytes = n->bytes;
        x->count = n->count;
        x->zlen = n->zlen;
        node_link_after(d, d->tail, x);
    }
    d->count = l->count;
    return d;
}

size_t listobj_len(const listobj *l) {
    return l->count;
}

size_t listobj_mem_usage(const listobj *l) {
    return malloc_usable_size((void *)l) + l->alloc;
}

size_t listobj_nodes(const listobj *l) {
    return l->nodes;
}

int listobj_fill(const listobj *l) { return l->fill; }
int listobj_compress_depth(const listobj *l) { return l->compress; }

void listobj_visit_nodes(const listobj *l, listobj_node_fn *fn, void *ctx) {
    for (const list_node *n = l->head; n; n = n->next) fn(ctx, n->count, n->bytes, n->zlen);
}

static void push_enc(listobj *l, int where, const entry_enc *e) {
    list_node *n = where == LIST_HEAD ? l->head : l->tail;
    if (!node_fits(l, n, e->total, 1)) {
        list_node *x = node_alloc(l, e->total);
        node_link_after(l, where == LIST_HEAD ? NULL : l->tail, x);
        n = x;
    }
    node_insert(l, n, where == LIST_HEAD ? 0 : n->bytes, e);
    settle(l, n, NULL);
}

void listobj_push(listobj *l, int where, const char *s, size_t len) {
    settle_reading(l, NULL);
    entry_enc e;
    enc_value(&e, s, len);
    push_enc(l, where, &e);
}

void listobj_index(const listobj *cl, size_t idx, list_value *v) {
    listobj *l = (listobj *)cl; /* may decompress a node: contents unchanged */
    settle_reading(l, NULL);
    list_node *n;
    uint32_t off;
    locate(l, idx, &n, &off);
    entry_read(n->data + off, v);
    l->reading = n;
}

void listobj_replace(listobj *l, size_t idx, const char *s, size_t len) {
    settle_reading(l, NULL);
    list_node *n;
    uint32_t off;
    locate(l, idx, &n, &off);
    entry_enc e;
    enc_value(&e, s, len);
    uint32_t old = (uint32_t)entry_size(n->data + off);
    if (n->count == 1 || n->bytes - old + e.total <= node_limit_of(l).bytes) {
        size_t nbytes = n->bytes - old + e.total;
        n = node_reserve(l, n, nbytes);
        memmove(n->data + off + e.total, n->data + off + old, n->bytes - off - old);
        enc_write(n->data + off, &e);
        n->bytes = (uint32_t)nbytes;
        node_shrink(l, n);
        settle(l, n, NULL);
        return;
    }
    n = node_delete(l, n, off, old, 1);
    insert_at(l, n, off, &e);
    settle(l, NULL, NULL);
}

void listobj_del_range(listobj *l, size_t start, size_t cnt) {
    ASSERT(start + cnt <= l->count);
    settle_reading(l, NULL);
    if (cnt == 0) return;
    list_node *n, *last = NULL;
    uint32_t off;
    locate(l, start, &n, &off);
    while (cnt > 0) {
        node_decompress(l, n);
        list_node *next = n->next;
        uint32_t end = off, k = 0;
        while (k < cnt && end < n->bytes) {
            end += (uint32_t)entry_size(n->data + end);
            k++;
        }
        last = node_delete(l, n, off, end - off, k);
        cnt -= k;
        n = next;
        off = 0;
    }
    settle(l, last, NULL);
}

void listobj_move(listobj *src, int from, listobj *dst, int to) {
    ASSERT(src->count > 0);
    settle_reading(src, NULL);
    if (dst != src) settle_reading(dst, NULL);
    list_node *n = from == LIST_HEAD ? src->head : src->tail;
    node_decompress(src, n);
    uint32_t off = from == LIST_HEAD ? 0 : node_last(n);
    list_value v;
    size_t body = entry_read(n->data + off, &v);
    uint32_t size = (uint32_t)(body + backlen_len(body));
    entry_enc e;
    if (src != dst) {
        enc_from_value(&e, &v); /* payload read from src, still intact */
        push_enc(dst, to, &e);
        node_delete(src, n, off, size, 1);
        settle(src, NULL, NULL);
        return;
    }
    char stack[MOVE_STACK_BYTES], *copy = NULL;
    if (v.str) {
        copy = v.len <= sizeof(stack) ? stack : lt_xmalloc(v.len);
        memcpy(copy, v.str, v.len);
        v.str = copy;
    }
    enc_from_value(&e, &v);
    node_delete(src, n, off, size, 1);
    push_enc(dst, to, &e);
    if (copy != stack) free(copy);
}

int listobj_value_eq(const list_value *v, const char *s, size_t len) {
    if (v->str) return v->len == len && memcmp(v->str, s, len) == 0;
    long long x;
    return lt_string2ll(s, len, &x) && x == v->ll;
}

/* ---- Iteration ------------------------------------------------------------------ */

/* The iterator's node is the list's `reading` node: kept raw while the
 * iterator is on it, settled when it moves on or at the list's next call
 * from elsewhere. */
void listobj_iter_init(list_iter *it, listobj *l, size_t idx, int dir) {
    settle_reading(l, NULL);
    it->l = l;
    it->dir = dir;
    it->node = NULL;
    it->off = 0;
    if (l->count > 0) {
        locate(l, idx, &it->node, &it->off);
        l->reading = it->node;
    }
}

int listobj_iter_get(const list_iter *it, list_value *v) {
    if (!it->node) return 0;
    node_decompress(it->l, it->node);
    entry_read(it->node->data + it->off, v);
    return 1;
}

/* Moves the iterator onto node m (NULL: the end), settling the node it
 * leaves. */
static void iter_enter(list_iter *it, list_node *m) {
    listobj *l = it->l;
    list_node *left = it->node;
    it->node = m;
    if (left && left != m) settle(l, left, m);
    node_decompress(l, m);
    l->reading = m;
}

/* Moves from the entry at (node, off) to the previous one (dir -1). */
static void iter_back(list_iter *it) {
    if (it->off > 0) {
        it->off = entry_before(it->node, it->off);
        return;
    }
    iter_enter(it, it->node->prev);
    it->off = it->node ? node_last(it->node) : 0;
}

void listobj_iter_next(list_iter *it) {
    ASSERT(it->node);
    node_decompress(it->l, it->node);
    if (it->dir < 0) {
        iter_back(it);
        return;
    }
    it->off += (uint32_t)entry_size(it->node->data + it->off);
    if (it->off >= it->node->bytes) {
        iter_enter(it, it->node->next);
        it->off = 0;
    }
}

void listobj_iter_delete(list_iter *it) {
    ASSERT(it->node);
    listobj *l = it->l;
    node_decompress(l, it->node);
    list_node *prev = it->node->prev, *next = it->node->next;
    uint32_t size = (uint32_t)entry_size(it->node->data + it->off);
    list_node *n = node_delete(l, it->node, it->off, size, 1);
    if (!n) {
        it->node = NULL; /* freed: nothing to settle */
        iter_enter(it, it->dir > 0 ? next : prev);
        it->off = (it->node && it->dir < 0) ? node_last(it->node) : 0;
        settle(l, NULL, it->node);
        return;
    }
    it->node = n;
    if (it->dir > 0) {
        if (it->off >= n->bytes) {
            iter_enter(it, n->next);
            it->off = 0;
        }
    } else {
        iter_back(it);
    }
    node_try_merge(l, n, it);
    if (it->node) node_decompress(l, it->node);
    l->reading = it->node;
    settle(l, NULL, it->node);
}

void listobj_iter_insert(list_iter *it, int after, const char *s, size_t len) {
    ASSERT(it->node);
    entry_enc e;
    enc_value(&e, s, len);
    node_decompress(it->l, it->node);
    uint32_t off = it->off;
    if (after) off += (uint32_t)entry_size(it->node->data + off);
    it->l->reading = NULL;
    insert_at(it->l, it->node, off, &e);
    settle(it->l, NULL, NULL);
    it->node = NULL;
}

int listobj_check(const listobj *l) {
    size_t count = 0, nodes = 0, alloc = 0;
    const list_node *prev = NULL;
    for (const list_node *n = l->head; n; prev = n, n = n->next) {
        if (n->prev != prev) return -1;
        if (n->count == 0 || (!n->zlen && n->bytes > n->cap)) return -2;
        if (n->bytes > NODE_ALLOC_LIMIT - LP_OVERHEAD && n->count != 1) return -3;
        unsigned char *raw = n->data;
        if (n->zlen) {
            raw = lt_xmalloc(n->bytes);
            if (LZ4_decompress_safe((const char *)n->data, (char *)raw, (int)n->zlen,
                                    (int)n->bytes) != (int)n->bytes) {
                free(raw);
                return -9;
            }
        }
        uint32_t off = 0, k = 0;
        int bad = 0;
        while (off < n->bytes && !bad) {
            list_value v;
            size_t body = entry_read(raw + off, &v);
            size_t size = body + backlen_len(body);
            unsigned nb;
            if (off + size > n->bytes) bad = -4;
            else if (backlen_read(raw + off + size, &nb) != body || body + nb != size) bad = -5;
            off += (uint32_t)size;
            k++;
        }
        if (raw != n->data) free(raw);
        if (bad) return bad;
        if (k != n->count) return -6;
        count += k;
        nodes++;
        alloc += malloc_usable_size((void *)n) + malloc_usable_size(n->data);
    }
    if (prev != l->tail) return -7;
    if (count != l->count || nodes != l->nodes || alloc != l->alloc) return -8;
    return 0;
}

/* ---- Type ops: snapshot encoding ------------------------------------------------ */

#define LIST_ENC_VERSION 1
enum { LIST_ENC_STR = 0, LIST_ENC_INT = 1 };
/* Smallest encoded element: kind + u32 length of an empty string. */
#define LIST_ENC_MIN_ELEM 5

typedef struct enc_buf {
    unsigned char buf[4096];
    size_t used;
    ks_emit_fn *emit;
    void *ctx;
} enc_buf;

static int eb_flush(enc_buf *b) {
    int r = b->used ? b->emit(b->ctx, b->buf, b->used) : 0;
    b->used = 0;
    return r;
}

static int eb_put(enc_buf *b, const void *p, size_t n) {
    if (b->used + n > sizeof(b->buf)) {
        if (eb_flush(b) < 0) return -1;
        if (n > sizeof(b->buf)) return b->emit(b->ctx, p, n);
    }
    memcpy(b->buf + b->used, p, n);
    b->used += n;
    return 0;
}

static int list_encode(const void *obj, ks_emit_fn *emit, void *ctx) {
    const listobj *l = obj;
    enc_buf b = {.used = 0, .emit = emit, .ctx = ctx};
    unsigned char h[9];
    h[0] = LIST_ENC_VERSION;
    put_le(h + 1, l->count, 8);
    if (eb_put(&b, h, 9) < 0) return -1;
    unsigned char *tmp = NULL; /* a compressed node's entries (l is not changed) */
    size_t tmpcap = 0;
    int rc = 0;
    for (const list_node *n = l->head; n && rc == 0; n = n->next) {
        const unsigned char *data = n->data;
        if (n->zlen) {
            if (tmpcap < n->bytes) {
                tmp = lt_xrealloc(tmp, n->bytes);
                tmpcap = n->bytes;
            }
            int got = LZ4_decompress_safe((const char *)n->data, (char *)tmp, (int)n->zlen,
                                          (int)n->bytes);
            ASSERT(got == (int)n->bytes);
            data = tmp;
        }
        for (uint32_t off = 0; off < n->bytes && rc == 0;) {
            list_value v;
            size_t body = entry_read(data + off, &v);
            off += (uint32_t)(body + backlen_len(body));
            if (v.str) {
                h[0] = LIST_ENC_STR;
                put_le(h + 1, v.len, 4);
                if (eb_put(&b, h, 5) < 0 || eb_put(&b, v.str, v.len) < 0) rc = -1;
            } else {
                h[0] = LIST_ENC_INT;
                put_le(h + 1, (uint64_t)v.ll, 8);
                if (eb_put(&b, h, 9) < 0) rc = -1;
            }
        }
    }
    free(tmp);
    return rc < 0 ? -1 : eb_flush(&b);
}

static void *list_decode(const void *buf, size_t len) {
    const unsigned char *p = buf, *end = p + len;
    if (len < 9 || p[0] != LIST_ENC_VERSION) return NULL;
    uint64_t count = get_le(p + 1, 8);
    p += 9;
    if (count == 0 || count > (uint64_t)(end - p) / LIST_ENC_MIN_ELEM) return NULL;
    listobj *l = listobj_new();
    for (uint64_t i = 0; i < count; i++) {
        entry_enc e;
        if (end - p < 1) goto bad;
        if (p[0] == LIST_ENC_STR) {
            if (end - p < 5) goto bad;
            uint64_t slen = get_le(p + 1, 4);
            p += 5;
            if (slen > (uint64_t)(end - p)) goto bad;
            enc_value(&e, (const char *)p, (size_t)slen);
            p += slen;
        } else if (p[0] == LIST_ENC_INT) {
            if (end - p < 9) goto bad;
            enc_int(&e, (long long)get_le(p + 1, 8));
            p += 9;
        } else {
            goto bad;
        }
        push_enc(l, LIST_TAIL, &e);
    }
    if (p != end) goto bad;
    return l;
bad:
    listobj_free(l);
    return NULL;
}

static void list_free_op(void *obj) {
    listobj_free(obj);
}

static void *list_dup_op(const void *obj) {
    return listobj_dup(obj);
}

static size_t list_mem_usage_op(const void *obj) {
    return listobj_mem_usage(obj);
}

static const char *list_encoding_op(const void *obj) {
    (void)obj;
    return "quicklist";
}

/* Redis's free effort: one per node. */
static size_t list_free_effort(const void *obj) { return ((const listobj *)obj)->nodes; }

const ks_type_ops list_type_ops = {
    .free_effort = list_free_effort,
    .name = "list",
    .free = list_free_op,
    .dup = list_dup_op,
    .mem_usage = list_mem_usage_op,
    .encoding = list_encoding_op,
    .encode = list_encode,
    .decode = list_decode,
};
