/* Unit tests of src/engine/rdb.c (and common/crc64, common/lzf): the
 * encodings Redis 7.0 still loads but no longer writes (ziplists, zipmaps,
 * intsets, quicklist v1, string-double zsets, second-precision expiry),
 * built here byte by byte; file opcodes (AUX, RESIZEDB, IDLE, FREQ,
 * FUNCTION2, SELECTDB); refusals (modules, pre-GA functions, versions,
 * CRC); a payload round trip of every type; LZF and CRC64 vectors. */
#include "../testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc64.h"
#include "common/lzf.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/rdb.h"
#include "engine/setobj.h"
#include "engine/zsetobj.h"
#include "lightning.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static lt_db *db_open(void) {
    lt_db *db;
    if (lt_db_open(NULL, &db) != LT_OK) abort();
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    return db;
}

/* ---- Builders ----------------------------------------------------------------- */

static void le(rdb_buf *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        rdb_buf_append(b, &c, 1);
    }
}
static void u8(rdb_buf *b, unsigned v) { le(b, v, 1); }

/* Ziplist entries: a string, or (s NULL) an integer with the given
 * encoding byte (0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE
 * int8, 0xF1..0xFD immediate). */
typedef struct zle {
    const char *s;
    long long v;
    unsigned enc;
} zle;

static void ziplist(rdb_buf *out, const zle *e, size_t n) {
    rdb_buf body = {0};
    size_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = body.len;
        if (prev < 254) u8(&body, (unsigned)prev);
        else { u8(&body, 0xFE); le(&body, prev, 4); }
        if (e[i].s) {
            size_t l = strlen(e[i].s);
            if (l < 64) u8(&body, (unsigned)l);
            else { u8(&body, 0x40 | (unsigned)(l >> 8)); u8(&body, l & 0xFF); }
            rdb_buf_append(&body, e[i].s, l);
        } else {
            u8(&body, e[i].enc);
            switch (e[i].enc) {
            case 0xC0: le(&body, (uint64_t)e[i].v, 2); break;
            case 0xD0: le(&body, (uint64_t)e[i].v, 4); break;
            case 0xE0: le(&body, (uint64_t)e[i].v, 8); break;
            case 0xF0: le(&body, (uint64_t)e[i].v, 3); break;
            case 0xFE: le(&body, (uint64_t)e[i].v, 1); break;
            default: break; /* immediate */
            }
        }
        prev = body.len - start;
    }
    size_t total = 10 + body.len + 1;
    le(out, total, 4);
    le(out, 10 + body.len - prev, 4);
    le(out, n, 2);
    rdb_buf_append(out, body.p, body.len);
    u8(out, 0xFF);
    free(body.p);
}

/* Listpack of strings (< 64 bytes) and small integers (0..127). */
static void listpack(rdb_buf *out, const zle *e, size_t n) {
    rdb_buf body = {0};
    for (size_t i = 0; i < n; i++) {
        if (e[i].s) {
            size_t l = strlen(e[i].s);
            u8(&body, 0x80 | (unsigned)l);
            rdb_buf_append(&body, e[i].s, l);
            u8(&body, (unsigned)(l + 1));
        } else {
            u8(&body, (unsigned)e[i].v);
            u8(&body, 1);
        }
    }
    le(out, 6 + body.len + 1, 4);
    le(out, n, 2);
    rdb_buf_append(out, body.p, body.len);
    u8(out, 0xFF);
    free(body.p);
}

/* A DUMP payload of type + value bytes, with version ver and the CRC. */
static void payload_finish(rdb_buf *b, unsigned ver) {
    le(b, ver, 2);
    le(b, crc64_jones(0, b->p, b->len), 8);
}

/* Decodes a payload (must succeed), installs it as key "k" of a fresh db,
 * returns the db (caller closes). */
static lt_db *restore(rdb_buf *b) {
    lt_db *db = db_open();
    CHECK(rdb_payload_verify(b->p, b->len));
    rdb_value v;
    rdb_problem pb;
    int rc = rdb_payload_decode(b->p, b->len, &v, &pb);
    if (rc != LT_OK) {
        fprintf(stderr, "# decode failed at %llu: %s\n", (unsigned long long)pb.offset, pb.why);
        abort(); /* the callers cannot go on without the key */
    }
    ks_key k = {0, "k", 1};
    ks_txn t;
    ks_txn_begin(&t, db, &k, 1);
    rdb_value_install(&t, 0, "k", 1, &v, KS_EXPIRE_NONE);
    ks_txn_commit(&t);
    return db;
}

static const ks_entry *get(lt_db *db, ks_txn *t, const char *key) {
    ks_key k = {0, key, strlen(key)};
    ks_txn_begin(t, db, &k, 1);
    return ks_lookup(t, 0, key, strlen(key), KS_LOOKUP_NOTOUCH);
}

/* "a,b,c" of a list's elements. */
static void list_text(const ks_entry *e, char *out, size_t cap) {
    listobj *l = ks_entry_obj(e);
    list_iter it;
    list_value v;
    size_t n = 0;
    out[0] = 0;
    for (listobj_iter_init(&it, l, 0, 1); listobj_iter_get(&it, &v); listobj_iter_next(&it)) {
        if (v.str) n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)v.len, v.str);
        else n += (size_t)snprintf(out + n, cap - n, "%s%lld", n ? "," : "", v.ll);
    }
}

/* ---- Tests ---------------------------------------------------------------------- */

TEST(crc64_and_lzf) {
    CHECK(crc64_jones(0, "123456789", 9) == UINT64_C(0xe9c6d914c4b8d9ca));
    char in[3000], z[3000], back[3000];
    for (int i = 0; i < 3000; i++) in[i] = "abcabcabd"[i % 9] + (char)(i / 700);
    size_t cl = lzf_compress(in, sizeof(in), z, sizeof(z));
    CHECK(cl > 0 && cl < 600);
    CHECK_EQ_INT(lzf_decompress(z, cl, back, sizeof(back)), sizeof(in));
    CHECK(memcmp(in, back, sizeof(in)) == 0);
    CHECK_EQ_INT(lzf_decompress(z, cl, back, sizeof(back) - 1), 0); /* too small */
    const unsigned char bad[] = {0x20, 0x05}; /* reference before the start */
    CHECK_EQ_INT(lzf_decompress(bad, 2, back, 100), 0);
}

TEST(list_ziplist_and_quicklist_v1) {
    zle e[] = {{"hello", 0, 0}, {NULL, -300, 0xC0}, {NULL, 70000, 0xD0},
               {NULL, 5000000000LL, 0xE0}, {NULL, -8000000, 0xF0}, {NULL, -5, 0xFE},
               {NULL, 11, 0xFC}, {"", 0, 0}};
    rdb_buf b = {0};
    u8(&b, RDB_TYPE_LIST_ZIPLIST);
    rdb_buf zl = {0};
    ziplist(&zl, e, NELEM(e));
    rdb_put_len(&b, zl.len);
    rdb_buf_append(&b, zl.p, zl.len);
    payload_finish(&b, 9);
    lt_db *db = restore(&b);
    ks_txn t;
    char txt[256];
    list_text(get(db, &t, "k"), txt, sizeof(txt));
    ks_txn_commit(&t);
    CHECK_EQ_STR(txt, "hello,-300,70000,5000000000,-8000000,-5,11,");
    lt_db_close(db);
    /* Quicklist v1: two ziplist nodes. */
    b.len = 0;
    u8(&b, RDB_TYPE_LIST_QUICKLIST);
    rdb_put_len(&b, 2);
    rdb_put_len(&b, zl.len);
    rdb_buf_append(&b, zl.p, zl.len);
    zle e2[] = {{"tail", 0, 0}};
    zl.len = 0;
    ziplist(&zl, e2, 1);
    rdb_put_len(&b, zl.len);
    rdb_buf_append(&b, zl.p, zl.len);
    payload_finish(&b, 8);
    db = restore(&b);
    list_text(get(db, &t, "k"), txt, sizeof(txt));
    ks_txn_commit(&t);
    CHECK_EQ_STR(txt, "hello,-300,70000,5000000000,-8000000,-5,11,,tail");
    lt_db_close(db);
    /* Quicklist v2: a plain node and a packed (listpack) node. */
    b.len = 0;
    u8(&b, RDB_TYPE_LIST_QUICKLIST_2);
    rdb_put_len(&b, 2);
    rdb_put_len(&b, 1);
    rdb_put_string(&b, "plain", 5);
    rdb_put_len(&b, 2);
    zle e3[] = {{"x", 0, 0}, {NULL, 100, 0}};
    zl.len = 0;
    listpack(&zl, e3, 2);
    rdb_put_string(&b, zl.p, zl.len);
    payload_finish(&b, 10);
    db = restore(&b);
    list_text(get(db, &t, "k"), txt, sizeof(txt));
    ks_txn_commit(&t);
    CHECK_EQ_STR(txt, "plain,x,100");
    lt_db_close(db);
    free(zl.p);
    free(b.p);
}

TEST(set_intset) {
    rdb_buf b = {0}, is = {0};
    le(&is, 4, 4);
    le(&is, 3, 4);
    le(&is, (uint64_t)-70000, 4);
    le(&is, 5, 4);
    le(&is, 100000, 4);
    u8(&b, RDB_TYPE_SET_INTSET);
    rdb_put_string(&b, is.p, is.len);
    payload_finish(&b, 9);
    lt_db *db = restore(&b);
    ks_txn t;
    const ks_entry *e = get(db, &t, "k");
    CHECK_EQ_STR(ks_entry_encoding_name(e), "intset");
    setobj *s = ks_entry_obj(e);
    CHECK_EQ_INT(setobj_size(s), 3);
    CHECK(setobj_contains(s, "-70000", 6) && setobj_contains(s, "100000", 6));
    ks_txn_commit(&t);
    lt_db_close(db);
    /* Not ascending: rejected. */
    is.p[8] = 9; /* first member 9 > second member 5 */
    is.p[9] = is.p[10] = is.p[11] = 0;
    b.len = 0;
    u8(&b, RDB_TYPE_SET_INTSET);
    rdb_put_string(&b, is.p, 8 + 4 * 3);
    payload_finish(&b, 9);
    rdb_value v;
    rdb_problem pb;
    (void)v;
    CHECK_EQ_INT(rdb_payload_decode(b.p, b.len, &v, &pb), LT_INVAL);
    free(is.p);
    free(b.p);
}

TEST(hash_zipmap_ziplist_listpack) {
    /* zipmap: count, "f1" -> "v1" (1 free byte), "f2" -> "2", end. */
    rdb_buf b = {0}, zm = {0};
    u8(&zm, 2);
    u8(&zm, 2); rdb_buf_append(&zm, "f1", 2);
    u8(&zm, 2); u8(&zm, 1); rdb_buf_append(&zm, "v1", 2); u8(&zm, 0);
    u8(&zm, 2); rdb_buf_append(&zm, "f2", 2);
    u8(&zm, 1); u8(&zm, 0); rdb_buf_append(&zm, "2", 1);
    u8(&zm, 0xFF);
    u8(&b, RDB_TYPE_HASH_ZIPMAP);
    rdb_put_string(&b, zm.p, zm.len);
    payload_finish(&b, 3);
    lt_db *db = restore(&b);
    ks_txn t;
    const ks_entry *e = get(db, &t, "k");
    hashobj_str v;
    CHECK(hashobj_get(ks_entry_obj(e), "f1", 2, &v) && v.ptr && v.len == 2 && !memcmp(v.ptr, "v1", 2));
    CHECK(hashobj_get(ks_entry_obj(e), "f2", 2, &v));
    CHECK_EQ_INT(hashobj_len(ks_entry_obj(e)), 2);
    ks_txn_commit(&t);
    lt_db_close(db);
    /* ziplist of field, value */
    zle z[] = {{"a", 0, 0}, {NULL, 1, 0xF2}, {"b", 0, 0}, {"bee", 0, 0}};
    rdb_buf zl = {0};
    ziplist(&zl, z, 4);
    b.len = 0;
    u8(&b, RDB_TYPE_HASH_ZIPLIST);
    rdb_put_string(&b, zl.p, zl.len);
    payload_finish(&b, 9);
    db = restore(&b);
    e = get(db, &t, "k");
    CHECK(hashobj_get(ks_entry_obj(e), "a", 1, &v) && ((!v.ptr && v.ll == 1) || (v.ptr && v.len == 1 && v.ptr[0] == '1')));
    CHECK_EQ_INT(hashobj_len(ks_entry_obj(e)), 2);
    ks_txn_commit(&t);
    lt_db_close(db);
    /* listpack with a duplicate field: rejected. */
    zle d[] = {{"a", 0, 0}, {"1", 0, 0}, {"a", 0, 0}, {"2", 0, 0}};
    zl.len = 0;
    listpack(&zl, d, 4);
    b.len = 0;
    u8(&b, RDB_TYPE_HASH_LISTPACK);
    rdb_put_string(&b, zl.p, zl.len);
    payload_finish(&b, 10);
    rdb_value rv;
    rdb_problem pb;
    CHECK_EQ_INT(rdb_payload_decode(b.p, b.len, &rv, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "duplicate") != NULL);
    /* An odd number of entries: rejected. */
    zl.len = 0;
    listpack(&zl, d, 3);
    b.len = 0;
    u8(&b, RDB_TYPE_HASH_LISTPACK);
    rdb_put_string(&b, zl.p, zl.len);
    payload_finish(&b, 10);
    CHECK_EQ_INT(rdb_payload_decode(b.p, b.len, &rv, &pb), LT_INVAL);
    free(zm.p);
    free(zl.p);
    free(b.p);
}

TEST(zset_ziplist_and_string_doubles) {
    zle z[] = {{"a", 0, 0}, {"1.5", 0, 0}, {"b", 0, 0}, {NULL, 7, 0xF8}};
    rdb_buf b = {0}, zl = {0};
    ziplist(&zl, z, 4);
    u8(&b, RDB_TYPE_ZSET_ZIPLIST);
    rdb_put_string(&b, zl.p, zl.len);
    payload_finish(&b, 9);
    lt_db *db = restore(&b);
    ks_txn t;
    const ks_entry *e = get(db, &t, "k");
    double sc;
    CHECK(zset_score(ks_entry_obj(e), "a", 1, &sc) && sc == 1.5);
    CHECK(zset_score(ks_entry_obj(e), "b", 1, &sc) && sc == 7);
    ks_txn_commit(&t);
    lt_db_close(db);
    /* RDB_TYPE_ZSET: string doubles, with the inf / -inf codes. */
    b.len = 0;
    u8(&b, RDB_TYPE_ZSET);
    rdb_put_len(&b, 3);
    rdb_put_string(&b, "x", 1); u8(&b, 4); rdb_buf_append(&b, "-2.5", 4);
    rdb_put_string(&b, "y", 1); u8(&b, 254);
    rdb_put_string(&b, "z", 1); u8(&b, 255);
    payload_finish(&b, 6);
    db = restore(&b);
    e = get(db, &t, "k");
    CHECK(zset_score(ks_entry_obj(e), "x", 1, &sc) && sc == -2.5);
    CHECK(zset_score(ks_entry_obj(e), "y", 1, &sc) && isinf(sc) && sc > 0);
    CHECK(zset_score(ks_entry_obj(e), "z", 1, &sc) && isinf(sc) && sc < 0);
    ks_txn_commit(&t);
    lt_db_close(db);
    /* NaN score: rejected. */
    b.len = 0;
    u8(&b, RDB_TYPE_ZSET);
    rdb_put_len(&b, 1);
    rdb_put_string(&b, "x", 1); u8(&b, 253);
    payload_finish(&b, 6);
    rdb_value rv;
    rdb_problem pb;
    CHECK_EQ_INT(rdb_payload_decode(b.p, b.len, &rv, &pb), LT_INVAL);
    free(zl.p);
    free(b.p);
}

/* An RDB file of version 9 built by hand: AUX, SELECTDB, RESIZEDB,
 * second-precision expiry (one past, one future), IDLE, FREQ, FUNCTION2. */
static void build_file(rdb_buf *f, int crc_ok) {
    rdb_buf_append(f, "REDIS0009", 9);
    u8(f, RDB_OPCODE_AUX);
    rdb_put_string(f, "redis-ver", 9);
    rdb_put_string(f, "5.0.7", 5);
    u8(f, RDB_OPCODE_FUNCTION2);
    rdb_put_string(f, "#!lua name=x\n", 13);
    u8(f, RDB_OPCODE_SELECTDB);
    rdb_put_len(f, 2);
    u8(f, RDB_OPCODE_RESIZEDB);
    rdb_put_len(f, 3);
    rdb_put_len(f, 2);
    u8(f, RDB_OPCODE_EXPIRETIME);
    le(f, 1000, 4); /* 1970: already expired */
    u8(f, RDB_TYPE_STRING);
    rdb_put_string(f, "old", 3);
    rdb_put_string(f, "v", 1);
    u8(f, RDB_OPCODE_EXPIRETIME);
    le(f, 2000000000u, 4); /* 2033 (a signed 32-bit field, as Redis reads it) */
    u8(f, RDB_OPCODE_IDLE);
    rdb_put_len(f, 500);
    u8(f, RDB_TYPE_STRING);
    rdb_put_string(f, "future", 6);
    rdb_put_string(f, "12", 2);
    u8(f, RDB_OPCODE_FREQ);
    u8(f, 77);
    u8(f, RDB_TYPE_SET);
    rdb_put_string(f, "s", 1); /* key */
    rdb_put_len(f, 2);
    rdb_put_string(f, "m1", 2);
    rdb_put_string(f, "m2", 2);
    u8(f, RDB_OPCODE_EOF);
    uint64_t crc = crc64_jones(0, f->p, f->len);
    le(f, crc_ok ? crc : crc ^ 1, 8);
}

static int fn_seen;
static int on_fn(void *ctx, const char *code, size_t len) {
    (void)ctx;
    fn_seen = len == 13 && memcmp(code, "#!lua", 5) == 0;
    return 0;
}

TEST(file_opcodes) {
    rdb_buf f = {0};
    build_file(&f, 1);
    lt_db *db = db_open();
    rdb_load_opts o = {.databases = 16, .on_function = on_fn};
    rdb_load_info info;
    rdb_problem pb;
    int lrc = rdb_load_buf(db, f.p, f.len, &o, &info, &pb);
    if (lrc != LT_OK) fprintf(stderr, "# %llu: %s\n", (unsigned long long)pb.offset, pb.why);
    CHECK_EQ_INT(lrc, LT_OK);
    CHECK_EQ_INT(info.version, 9);
    CHECK_EQ_INT(info.keys, 2);
    CHECK_EQ_INT(info.expired, 1);
    CHECK_EQ_INT(info.functions, 1);
    CHECK(info.checksum_checked);
    CHECK(fn_seen);
    ks_key k = {2, "future", 6};
    ks_txn t;
    ks_txn_begin(&t, db, &k, 1);
    const ks_entry *e = ks_lookup(&t, 2, "future", 6, KS_LOOKUP_NOTOUCH);
    CHECK(e && ks_entry_expire_ms(e) == 2000000000LL * 1000);
    CHECK(e && ks_entry_idle_s(e, t.now_ms) >= 500 && ks_entry_idle_s(e, t.now_ms) < 600);
    ks_txn_commit(&t);
    k.key = "s";
    k.klen = 1;
    ks_txn_begin(&t, db, &k, 1);
    e = ks_lookup(&t, 2, "s", 1, KS_LOOKUP_NOTOUCH);
    CHECK(e && ks_entry_lfu(e, t.now_ms) == 77);
    ks_txn_commit(&t);
    lt_db_close(db);

    /* Wrong CRC: nothing inserted. */
    f.len = 0;
    build_file(&f, 0);
    db = db_open();
    CHECK_EQ_INT(rdb_load_buf(db, f.p, f.len, &o, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "checksum") != NULL);
    CHECK_EQ_INT(ks_db_size(db, 2), 0);
    lt_db_close(db);

    /* Too few databases. */
    f.len = 0;
    build_file(&f, 1);
    db = db_open();
    o.databases = 2;
    CHECK_EQ_INT(rdb_load_buf(db, f.p, f.len, &o, &info, &pb), LT_INVAL);
    CHECK_EQ_INT(pb.offset, 9 + 1 + 10 + 6 + 1 + 14); /* the SELECTDB */
    lt_db_close(db);
    free(f.p);
}

TEST(refusals) {
    rdb_problem pb;
    rdb_load_info info;
    rdb_load_opts o = {.databases = 16};
    const char *v11 = "REDIS0011\xff";
    CHECK_EQ_INT(rdb_verify_buf(v11, 10, &o, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "version 11") != NULL);
    CHECK_EQ_INT(rdb_verify_buf("RADIS0009\xff", 10, &o, &info, &pb), LT_INVAL);
    /* A module value names its module. */
    rdb_buf f = {0};
    rdb_buf_append(&f, "REDIS0010", 9);
    u8(&f, RDB_TYPE_MODULE_2);
    rdb_put_string(&f, "k", 1);
    /* id of "ReJSON-RL" version 3: 9 chars of 6 bits then 10 bits */
    const char *cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *name = "ReJSON-RL";
    uint64_t id = 0;
    for (int i = 0; i < 9; i++) id = id << 6 | (uint64_t)(strchr(cs, name[i]) - cs);
    id = id << 10 | 3;
    rdb_put_len(&f, id);
    CHECK_EQ_INT(rdb_verify_buf(f.p, f.len, &o, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "ReJSON-RL") != NULL);
    f.len = 9;
    u8(&f, RDB_OPCODE_FUNCTION_PRE_GA);
    CHECK_EQ_INT(rdb_verify_buf(f.p, f.len, &o, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "pre-release") != NULL);
    f.len = 9;
    u8(&f, RDB_OPCODE_MODULE_AUX);
    CHECK_EQ_INT(rdb_verify_buf(f.p, f.len, &o, &info, &pb), LT_INVAL);
    f.len = 9;
    u8(&f, RDB_TYPE_STREAM_LISTPACKS_2);
    rdb_put_string(&f, "k", 1);
    CHECK_EQ_INT(rdb_verify_buf(f.p, f.len, &o, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "stream") != NULL);
    /* Truncated everywhere: never accepted, never a crash. */
    rdb_buf g = {0};
    build_file(&g, 1);
    for (size_t n = 0; n < g.len; n++)
        CHECK_EQ_INT(rdb_verify_buf(g.p, n, &o, &info, &pb), LT_INVAL);
    free(g.p);
    free(f.p);
}

/* Every type through DUMP payloads and back, including sizes that force
 * LZF and long lengths. */
TEST(payload_round_trip) {
    lt_db *db = db_open();
    ks_key k[2] = {{0, "x", 1}, {0, "y", 1}};
    ks_txn t;
    char big[20000];
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (char)('a' + i % 7);
    listobj *l = listobj_new();
    for (int i = 0; i < 3000; i++) listobj_push(l, LIST_TAIL, big, (size_t)(i % 50));
    listobj_push(l, LIST_TAIL, big, sizeof(big));
    setobj *s = setobj_new();
    for (int i = 0; i < 1000; i++) {
        char m[16];
        setobj_add(s, m, (size_t)snprintf(m, sizeof(m), "%d", i * 13));
    }
    const int types[] = {KS_TYPE_LIST, KS_TYPE_SET, KS_TYPE_STRING};
    void *objs[] = {l, s, NULL};
    for (int i = 0; i < 3; i++) {
        ks_txn_begin(&t, db, k, 2);
        const ks_entry *e;
        if (types[i] == KS_TYPE_STRING) e = ks_set_str(&t, 0, "x", 1, big, sizeof(big), KS_EXPIRE_NONE, 0);
        else e = ks_set_obj(&t, 0, "x", 1, types[i], objs[i], KS_EXPIRE_NONE);
        rdb_buf b = {0};
        CHECK_EQ_INT(rdb_dump_payload(&b, e), LT_OK);
        if (types[i] == KS_TYPE_STRING) CHECK(b.len < sizeof(big) / 2); /* LZF */
        rdb_value v;
        rdb_problem pb;
        CHECK(rdb_payload_verify(b.p, b.len));
        CHECK_EQ_INT(rdb_payload_decode(b.p, b.len, &v, &pb), LT_OK);
        const ks_entry *e2 = rdb_value_install(&t, 0, "y", 1, &v, KS_EXPIRE_NONE);
        rdb_buf b2 = {0};
        CHECK_EQ_INT(rdb_dump_payload(&b2, e2), LT_OK);
        if (types[i] == KS_TYPE_SET) /* a hashtable's order may differ */
            CHECK(b.len == b2.len && setobj_size(ks_entry_obj(e2)) == 1000);
        else
            CHECK(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0);
        ks_txn_commit(&t);
        free(b.p);
        free(b2.p);
    }
    lt_db_close(db);
}

/* The parallel loader (threads > 1) gives what the serial one gives, and
 * refuses a duplicated key as Redis does. */
TEST(parallel_load) {
    rdb_buf f = {0};
    rdb_buf_append(&f, "REDIS0010", 9);
    char k[32], v[64];
    for (int d = 0; d < 3; d++) {
        u8(&f, RDB_OPCODE_SELECTDB);
        rdb_put_len(&f, (uint64_t)d);
        for (int i = 0; i < 5000; i++) {
            if (i % 7 == 0) {
                u8(&f, RDB_OPCODE_EXPIRETIME_MS);
                le(&f, i % 14 == 0 ? 1000 : UINT64_C(4000000000000), 8);
            }
            int n = snprintf(k, sizeof(k), "k%d", i);
            if (i % 3 == 0) {
                u8(&f, RDB_TYPE_LIST);
                rdb_put_string(&f, k, (size_t)n);
                rdb_put_len(&f, 2);
                rdb_put_string(&f, "a", 1);
                int m = snprintf(v, sizeof(v), "%d-%s", i, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
                rdb_put_string(&f, v, (size_t)m);
            } else {
                u8(&f, RDB_TYPE_STRING);
                rdb_put_string(&f, k, (size_t)n);
                int m = snprintf(v, sizeof(v), "%d", i * 31);
                rdb_put_string(&f, v, (size_t)m);
            }
        }
    }
    size_t body = f.len;
    u8(&f, RDB_OPCODE_EOF);
    le(&f, crc64_jones(0, f.p, f.len), 8);
    rdb_load_info a, b;
    rdb_problem pb;
    rdb_load_opts o = {.databases = 16, .threads = 1};
    lt_db *db1 = db_open(), *db2 = db_open();
    CHECK_EQ_INT(rdb_load_buf(db1, f.p, f.len, &o, &a, &pb), LT_OK);
    o.threads = 4;
    CHECK_EQ_INT(rdb_load_buf(db2, f.p, f.len, &o, &b, &pb), LT_OK);
    CHECK_EQ_INT(a.keys, b.keys);
    CHECK_EQ_INT(a.expired, b.expired);
    CHECK_EQ_INT(a.expired, 3 * 358); /* i % 14 == 0 for i < 5000 */
    CHECK_EQ_INT(a.keys + a.expired, 15000);
    for (unsigned d = 0; d < 3; d++) CHECK_EQ_INT(ks_db_size(db1, d), ks_db_size(db2, d));
    lt_db_close(db1);
    lt_db_close(db2);
    /* A key twice in one database. */
    f.len = body;
    u8(&f, RDB_TYPE_STRING);
    rdb_put_string(&f, "k1", 2);
    rdb_put_string(&f, "again", 5);
    u8(&f, RDB_OPCODE_EOF);
    le(&f, crc64_jones(0, f.p, f.len), 8);
    for (int t = 1; t <= 4; t += 3) {
        o.threads = t;
        lt_db *db = db_open();
        CHECK_EQ_INT(rdb_load_buf(db, f.p, f.len, &o, &a, &pb), LT_INVAL);
        CHECK(strstr(pb.why, "duplicated key") != NULL);
        lt_db_close(db);
    }
    free(f.p);
}

int main(void) {
    RUN(crc64_and_lzf);
    RUN(list_ziplist_and_quicklist_v1);
    RUN(set_intset);
    RUN(hash_zipmap_ziplist_listpack);
    RUN(zset_ziplist_and_string_doubles);
    RUN(file_opcodes);
    RUN(refusals);
    RUN(payload_round_trip);
    RUN(parallel_load);
    return testlib_finish();
}
