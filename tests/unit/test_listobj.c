/*
 * Unit tests of engine/listobj.c: element framing (integers at every width
 * boundary, strings at every length class), node splitting and merging,
 * index access from both ends, iterators, moves, and the snapshot
 * encoding (round trips; truncated, extended and bit-flipped input must be
 * refused or decode to a well-formed list). A randomized sequence checks
 * every operation against a plain array model; TEST_SEED=N changes it.
 */
#include "../testlib.h"

#include <stdlib.h>

#include "common/util.h"
#include "engine/listobj.h"
#include "engine/objlimits.h"

/* ---- A plain model: an array of byte strings ---------------------------------- */

typedef struct model {
    char **s;
    size_t *len;
    size_t n, cap;
} model;

static void m_insert(model *m, size_t at, const char *s, size_t len) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->s = realloc(m->s, m->cap * sizeof(*m->s));
        m->len = realloc(m->len, m->cap * sizeof(*m->len));
    }
    memmove(m->s + at + 1, m->s + at, (m->n - at) * sizeof(*m->s));
    memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof(*m->len));
    m->s[at] = malloc(len + 1);
    memcpy(m->s[at], s, len);
    m->len[at] = len;
    m->n++;
}

static void m_delete(model *m, size_t at) {
    free(m->s[at]);
    memmove(m->s + at, m->s + at + 1, (m->n - at - 1) * sizeof(*m->s));
    memmove(m->len + at, m->len + at + 1, (m->n - at - 1) * sizeof(*m->len));
    m->n--;
}

static void m_free(model *m) {
    for (size_t i = 0; i < m->n; i++) free(m->s[i]);
    free(m->s);
    free(m->len);
}

/* Text of a value (integers in decimal) in a static buffer. */
static const char *val_text(const list_value *v, size_t *len) {
    static char buf[LT_LLSTR_SIZE];
    if (v->str) {
        *len = v->len;
        return v->str;
    }
    *len = lt_ll2string(buf, sizeof buf, v->ll);
    return buf;
}

/* Whether l equals m, read by index, forward and backward iteration. */
static int same(listobj *l, const model *m) {
    if (listobj_check(l) != 0 || listobj_len(l) != m->n) return 0;
    list_value v;
    size_t len;
    for (size_t i = 0; i < m->n; i++) {
        listobj_index(l, i, &v);
        const char *t = val_text(&v, &len);
        if (len != m->len[i] || memcmp(t, m->s[i], len) != 0) return 0;
    }
    list_iter it;
    size_t i = 0;
    for (listobj_iter_init(&it, l, 0, 1); listobj_iter_get(&it, &v); listobj_iter_next(&it), i++)
        if (!listobj_value_eq(&v, m->s[i], m->len[i])) return 0;
    if (i != m->n) return 0;
    if (m->n == 0) return 1;
    i = m->n;
    for (listobj_iter_init(&it, l, m->n - 1, -1); listobj_iter_get(&it, &v); listobj_iter_next(&it)) {
        if (i == 0) return 0;
        i--;
        if (!listobj_value_eq(&v, m->s[i], m->len[i])) return 0;
    }
    return i == 0;
}

static void push(listobj *l, model *m, int where, const char *s) {
    size_t len = strlen(s);
    listobj_push(l, where, s, len);
    m_insert(m, where == LIST_HEAD ? 0 : m->n, s, len);
}

/* ---- Encoding helpers ---------------------------------------------------------------- */

typedef struct sink {
    unsigned char *p;
    size_t n, cap;
} sink;

static int sink_emit(void *ctx, const void *p, size_t n) {
    sink *s = ctx;
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2;
        s->p = realloc(s->p, s->cap);
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
    return 0;
}

static sink encode(const listobj *l) {
    sink s = {0};
    CHECK_EQ_INT(list_type_ops.encode(l, sink_emit, &s), 0);
    return s;
}

/* ---- Tests ---------------------------------------------------------------------------- */

TEST(integers_and_strings) {
    static const char *vals[] = {
        "0", "127", "128", "-1", "-4096", "4095", "-4097", "4096", "32767", "-32768",
        "32768", "8388607", "-8388608", "8388608", "2147483647", "-2147483648",
        "2147483648", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-0", "007", "+1", " 1", "1 ", "", "a", "12345678901234567890",
    };
    listobj *l = listobj_new();
    model m = {0};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) push(l, &m, LIST_TAIL, vals[i]);
    /* Strings at the length-class boundaries of the framing. */
    static const size_t lens[] = {63, 64, 127, 128, 4095, 4096, 16383, 16384, 20000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        char *s = malloc(lens[i] + 1);
        for (size_t j = 0; j < lens[i]; j++) s[j] = (char)('a' + j % 26);
        s[lens[i]] = '\0';
        push(l, &m, i % 2 ? LIST_HEAD : LIST_TAIL, s);
        free(s);
    }
    CHECK(same(l, &m));
    list_value v;
    listobj_index(l, (size_t)(sizeof lens / sizeof *lens) / 2 + 1, &v);
    CHECK(v.str == NULL && v.ll == 127); /* stored as an integer */
    CHECK_EQ_STR(list_type_ops.encoding(l), "quicklist");
    listobj_free(l);
    m_free(&m);
}

TEST(nodes_split_and_merge) {
    listobj *l = listobj_new();
    model m = {0};
    char buf[32];
    /* 2000 strings of 20 bytes fill several 8 KiB nodes. */
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "element-%011d", i);
        push(l, &m, LIST_TAIL, buf);
    }
    size_t nodes = listobj_nodes(l);
    CHECK(nodes >= 5 && nodes <= 8);
    CHECK(listobj_mem_usage(l) < 2000 * 24 + nodes * 200);
    /* Inserting into the middle of full nodes splits them. */
    list_iter it;
    for (int i = 0; i < 50; i++) {
        size_t at = 100 + (size_t)i * 37;
        listobj_iter_init(&it, l, at, 1);
        snprintf(buf, sizeof buf, "ins%d", i);
        listobj_iter_insert(&it, i % 2, buf, strlen(buf));
        m_insert(&m, at + (size_t)(i % 2), buf, strlen(buf));
        REQUIRE(listobj_check(l) == 0);
    }
    CHECK(same(l, &m));
    CHECK(listobj_nodes(l) > nodes);
    /* Deleting most elements through an iterator merges the nodes left. */
    listobj_iter_init(&it, l, 0, 1);
    size_t i = 0, kept = 0;
    list_value v;
    while (listobj_iter_get(&it, &v)) {
        if (i++ % 10 != 0) {
            listobj_iter_delete(&it);
            m_delete(&m, kept);
        } else {
            listobj_iter_next(&it);
            kept++;
        }
    }
    CHECK(same(l, &m));
    CHECK(listobj_nodes(l) <= 2);
    /* And backwards. */
    listobj_iter_init(&it, l, listobj_len(l) - 1, -1);
    i = m.n;
    while (listobj_iter_get(&it, &v)) {
        i--;
        if (i % 3 == 0) {
            listobj_iter_delete(&it);
            m_delete(&m, i);
        } else {
            listobj_iter_next(&it);
        }
    }
    CHECK(same(l, &m));
    listobj_free(l);
    m_free(&m);
}

TEST(index_from_both_ends) {
    listobj *l = listobj_new();
    char buf[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        listobj_push(l, LIST_TAIL, buf, strlen(buf));
    }
    list_value v;
    for (size_t i = 0; i < 10000; i += 7) {
        listobj_index(l, i, &v);
        CHECK(v.str == NULL && v.ll == (long long)i);
    }
    listobj_index(l, 9999, &v);
    CHECK_EQ_INT(v.ll, 9999);
    listobj_index(l, 0, &v);
    CHECK_EQ_INT(v.ll, 0);
    /* Replace with bigger values near both ends and in the middle. */
    char big[300];
    memset(big, 'x', sizeof big);
    listobj_replace(l, 0, big, sizeof big);
    listobj_replace(l, 5000, big, sizeof big);
    listobj_replace(l, 9999, "tail", 4);
    CHECK_EQ_INT(listobj_check(l), 0);
    listobj_index(l, 5000, &v);
    CHECK(v.str && v.len == sizeof big);
    listobj_index(l, 5001, &v);
    CHECK_EQ_INT(v.ll, 5001);
    listobj_index(l, 9999, &v);
    CHECK(v.str && v.len == 4 && memcmp(v.str, "tail", 4) == 0);
    listobj_del_range(l, 10, 9980);
    CHECK_EQ_INT(listobj_len(l), 20);
    CHECK_EQ_INT(listobj_check(l), 0);
    listobj_index(l, 10, &v);
    CHECK_EQ_INT(v.ll, 9990);
    listobj_free(l);
}

TEST(move_and_dup) {
    listobj *a = listobj_new(), *b = listobj_new();
    listobj_push(a, LIST_TAIL, "1", 1);
    listobj_push(a, LIST_TAIL, "two", 3);
    char big[9000];
    memset(big, 'b', sizeof big);
    listobj_push(a, LIST_TAIL, big, sizeof big);
    listobj_move(a, LIST_TAIL, a, LIST_HEAD); /* rotation of a big element */
    listobj_move(a, LIST_TAIL, b, LIST_HEAD);
    listobj_move(a, LIST_HEAD, b, LIST_TAIL);
    CHECK_EQ_INT(listobj_len(a), 1);
    CHECK_EQ_INT(listobj_len(b), 2);
    CHECK_EQ_INT(listobj_check(a), 0);
    CHECK_EQ_INT(listobj_check(b), 0);
    list_value v;
    listobj_index(b, 0, &v);
    CHECK(v.str && v.len == 3);
    listobj_index(b, 1, &v);
    CHECK(v.str && v.len == sizeof big);
    listobj *d = listobj_dup(b);
    CHECK_EQ_INT(listobj_check(d), 0);
    CHECK_EQ_INT(listobj_len(d), 2);
    CHECK_EQ_INT(listobj_mem_usage(d) <= listobj_mem_usage(b), 1);
    listobj_move(a, LIST_HEAD, a, LIST_TAIL); /* single element onto itself */
    CHECK_EQ_INT(listobj_len(a), 1);
    listobj_free(a);
    listobj_free(b);
    listobj_free(d);
}

TEST(encode_round_trip) {
    listobj *l = listobj_new();
    model m = {0};
    char buf[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(buf, sizeof buf, i % 3 ? "v%d" : "%d", i * (i % 2 ? -977 : 1));
        push(l, &m, i % 4 ? LIST_TAIL : LIST_HEAD, buf);
    }
    push(l, &m, LIST_TAIL, "");
    sink s = encode(l);
    listobj *d = list_type_ops.decode(s.p, s.n);
    REQUIRE(d);
    CHECK(same(d, &m));
    sink s2 = encode(d);
    CHECK(s2.n == s.n && memcmp(s.p, s2.p, s.n) == 0);
    listobj_free(d);
    listobj_free(l);
    m_free(&m);
    free(s.p);
    free(s2.p);
}

TEST(decode_corrupt) {
    listobj *l = listobj_new();
    listobj_push(l, LIST_TAIL, "hello", 5);
    listobj_push(l, LIST_TAIL, "-42", 3);
    listobj_push(l, LIST_TAIL, "", 0);
    sink s = encode(l);
    listobj_free(l);
    /* Every truncation is refused. */
    for (size_t n = 0; n < s.n; n++) CHECK(list_type_ops.decode(s.p, n) == NULL);
    /* Trailing bytes are refused. */
    unsigned char *x = malloc(s.n + 1);
    memcpy(x, s.p, s.n);
    x[s.n] = 0;
    CHECK(list_type_ops.decode(x, s.n + 1) == NULL);
    /* Every single-byte change either is refused or decodes to a
     * well-formed list (string bytes may change freely). */
    for (size_t i = 0; i < s.n; i++) {
        for (int b = 0; b < 256; b += 7) {
            memcpy(x, s.p, s.n);
            x[i] = (unsigned char)b;
            listobj *d = list_type_ops.decode(x, s.n);
            if (d) {
                CHECK_EQ_INT(listobj_check(d), 0);
                listobj_free(d);
            }
        }
    }
    /* Specific shapes: bad version, zero count, huge count, bad kind. */
    static const unsigned char zero[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(list_type_ops.decode(zero, sizeof zero) == NULL);
    static const unsigned char huge[14] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0};
    CHECK(list_type_ops.decode(huge, sizeof huge) == NULL);
    static const unsigned char ver[14] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(list_type_ops.decode(ver, sizeof ver) == NULL);
    static const unsigned char kind[14] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0};
    CHECK(list_type_ops.decode(kind, sizeof kind) == NULL);
    static const unsigned char slen[14] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0};
    CHECK(list_type_ops.decode(slen, sizeof slen) == NULL);
    static const unsigned char ok[14] = {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    listobj *d = list_type_ops.decode(ok, sizeof ok);
    CHECK(d && listobj_len(d) == 1);
    if (d) listobj_free(d);
    free(x);
    free(s.p);
}

/* One randomized run on a list created under fill / depth. */
static void random_run(unsigned seed, int fill, int depth, int steps) {
    srand(seed);
    objlimits saved, lim;
    objlimits_get(&saved);
    lim = saved;
    lim.list_max_listpack_size = fill;
    lim.list_compress_depth = depth;
    objlimits_set(&lim);
    listobj *l = listobj_new(), *o = listobj_new();
    objlimits_set(&saved);
    model m = {0};
    char buf[600];
    for (int step = 0; step < steps; step++) {
        int op = rand() % 10;
        size_t len;
        if (rand() % 3 == 0) len = (size_t)snprintf(buf, sizeof buf, "%d", rand() % 100000 - 50000);
        else {
            len = (size_t)(rand() % 4 == 0 ? rand() % 500 : rand() % 12);
            for (size_t j = 0; j < len; j++) buf[j] = (char)('a' + rand() % 3);
        }
        if (op <= 2 || m.n == 0) {
            int where = rand() % 2;
            listobj_push(l, where, buf, len);
            m_insert(&m, where == LIST_HEAD ? 0 : m.n, buf, len);
        } else if (op == 3) {
            size_t at = (size_t)rand() % m.n;
            listobj_replace(l, at, buf, len);
            m_delete(&m, at);
            m_insert(&m, at, buf, len);
        } else if (op == 4) {
            size_t at = (size_t)rand() % m.n;
            int after = rand() % 2;
            list_iter it;
            listobj_iter_init(&it, l, at, rand() % 2 ? 1 : -1);
            listobj_iter_insert(&it, after, buf, len);
            m_insert(&m, at + (size_t)after, buf, len);
        } else if (op == 5) {
            size_t at = (size_t)rand() % m.n, cnt = (size_t)rand() % (m.n - at + 1);
            if (rand() % 4) cnt = cnt % 4;
            listobj_del_range(l, at, cnt);
            for (size_t j = 0; j < cnt; j++) m_delete(&m, at);
        } else if (op == 6) {
            /* LREM-like: delete every element equal to a short string. */
            char t = (char)('a' + rand() % 3);
            int dir = rand() % 2 ? 1 : -1;
            list_iter it;
            list_value v;
            listobj_iter_init(&it, l, dir > 0 ? 0 : m.n - 1, dir);
            while (listobj_iter_get(&it, &v)) {
                if (listobj_value_eq(&v, &t, 1)) listobj_iter_delete(&it);
                else listobj_iter_next(&it);
            }
            for (size_t j = m.n; j-- > 0;)
                if (m.len[j] == 1 && m.s[j][0] == t) m_delete(&m, j);
        } else if (op == 7) {
            int from = rand() % 2, to = rand() % 2;
            listobj_move(l, from, l, to);
            size_t at = from == LIST_HEAD ? 0 : m.n - 1;
            char *s = m.s[at];
            size_t sl = m.len[at];
            m.s[at] = NULL;
            m_delete(&m, at);
            m_insert(&m, to == LIST_HEAD ? 0 : m.n, s, sl);
            free(s);
        } else {
            /* Through another list and back. */
            listobj_move(l, LIST_HEAD, o, LIST_TAIL);
            listobj_move(o, LIST_HEAD, l, LIST_HEAD);
        }
        if (step % 500 == 0 || op == 4 || op == 6) {
            if (!same(l, &m)) {
                testlib_fail(__FILE__, __LINE__,
                             "seed %u fill %d depth %d step %d op %d: list != model", seed, fill,
                             depth, step, op);
                break;
            }
        }
    }
    CHECK(same(l, &m));
    CHECK_EQ_INT(listobj_len(o), 0);
    listobj_free(l);
    listobj_free(o);
    m_free(&m);
}

/* Every operation against the model, under fills and compress depths
 * (a list keeps the ones it was created with). */
TEST(random_against_model) {
    unsigned seed = getenv("TEST_SEED") ? (unsigned)atoi(getenv("TEST_SEED")) : 12345;
    static const struct { int fill, depth; } cfg[] = {
        {-2, 0}, {4, 1}, {1, 2}, {-1, 1}, {-5, 3}, {0, 1}, {3, 0}, {100, 2}, {-2, 1}, {2, 5}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
        random_run(seed + (unsigned)i, cfg[i].fill, cfg[i].depth, 6000);
}

static void count_compressed(void *ctx, uint32_t count, uint32_t bytes, uint32_t zlen) {
    (void)count;
    (void)bytes;
    if (zlen) ++*(int *)ctx;
}

/* list-compress-depth: interior nodes are stored compressed, the depth
 * nodes at each end never; contents, copies and encodings are unchanged. */
TEST(compress_depth) {
    objlimits saved, lim;
    objlimits_get(&saved);
    lim = saved;
    lim.list_compress_depth = 2;
    lim.list_max_listpack_size = 16;
    objlimits_set(&lim);
    listobj *l = listobj_new(), *u;
    lim.list_compress_depth = 0;
    objlimits_set(&lim);
    u = listobj_new();
    objlimits_set(&saved);
    char buf[64];
    for (int i = 0; i < 1600; i++) {
        int n = snprintf(buf, sizeof buf, "element-%d-aaaaaaaaaaaaaaaaaaaa", i % 37);
        listobj_push(l, i % 2 ? LIST_TAIL : LIST_HEAD, buf, (size_t)n);
        listobj_push(u, i % 2 ? LIST_TAIL : LIST_HEAD, buf, (size_t)n);
    }
    CHECK_EQ_INT(listobj_nodes(l), 101); /* 1600 / 16, the first node shared by both ends */
    CHECK_EQ_INT(listobj_compress_depth(l), 2);
    int z = 0;
    listobj_visit_nodes(l, count_compressed, &z);
    CHECK_EQ_INT(z, 97); /* all but 2 at each end */
    CHECK(listobj_mem_usage(l) < listobj_mem_usage(u) / 2);
    CHECK_EQ_INT(listobj_check(l), 0);
    /* Reads anywhere see the same elements; the node a read opened is
     * compressed again by the next call. */
    list_value a, b;
    for (size_t i = 0; i < 1600; i += 97) {
        listobj_index(l, i, &a);
        char copy[64];
        size_t alen = a.len;
        memcpy(copy, a.str, a.len);
        listobj_index(u, i, &b);
        CHECK(alen == b.len && memcmp(copy, b.str, alen) == 0);
    }
    listobj_index(l, 800, &a);
    listobj_replace(l, 5, "x", 1);
    z = 0;
    listobj_visit_nodes(l, count_compressed, &z);
    CHECK_EQ_INT(z, 97); /* all but 2 at each end */
    /* A copy keeps the compressed nodes and reads the same. */
    listobj *d = listobj_dup(l);
    CHECK_EQ_INT(listobj_check(d), 0);
    listobj_index(d, 777, &a);
    listobj_index(l, 777, &b);
    CHECK(a.len == b.len);
    listobj_free(d);
    /* Deleting down to a few nodes leaves raw ends. */
    listobj_del_range(l, 40, 1500);
    CHECK_EQ_INT(listobj_check(l), 0);
    CHECK_EQ_INT(listobj_len(l), 100);
    listobj_free(l);
    listobj_free(u);
}

/* list-max-listpack-size decides how many entries or bytes a node holds. */
TEST(fill_limits) {
    objlimits saved, lim;
    objlimits_get(&saved);
    lim = saved;
    struct { int fill; size_t n, elen, nodes; } cases[] = {
        {4, 10, 1, 3}, {1, 5, 1, 5}, {0, 5, 1, 5}, {-2, 1000, 1, 1},
        /* 100-byte strings take 102 bytes: 4 KiB holds 39, 64 KiB 642 */
        {-1, 100, 100, 3}, {-5, 1000, 100, 2}, {-9, 1000, 100, 2}, {100000, 300, 1, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lim.list_max_listpack_size = cases[c].fill;
        objlimits_set(&lim);
        listobj *l = listobj_new();
        char e[100];
        memset(e, 'x', sizeof e);
        for (size_t i = 0; i < cases[c].n; i++) listobj_push(l, LIST_TAIL, e, cases[c].elen);
        CHECK_EQ_INT(listobj_nodes(l), cases[c].nodes);
        CHECK_EQ_INT(listobj_check(l), 0);
        listobj_free(l);
    }
    objlimits_set(&saved);
}

int main(void) {
    RUN(integers_and_strings);
    RUN(nodes_split_and_merge);
    RUN(index_from_both_ends);
    RUN(move_and_dup);
    RUN(fill_limits);
    RUN(compress_depth);
    RUN(encode_round_trip);
    RUN(decode_corrupt);
    RUN(random_against_model);
    return testlib_finish();
}
