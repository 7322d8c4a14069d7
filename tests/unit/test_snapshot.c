/* Unit tests of src/engine/snapshot: every type and expiry round-trips
 * through a file under each compression; truncated, bit-flipped and
 * zero-filled files are rejected with the file and a byte offset; random
 * mutations never crash the decoder; the manifest round-trips and rejects
 * damage; a sequential view stops old-version copies in shards it passed. */
#include "../testlib.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/random.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/mvcc.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/zsetobj.h"

static char tmpdir[256];

static void make_dir(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lt-test-snap-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
}

static void remove_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0) { /* best effort */ }
}

static void register_types(void) {
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
}

static lt_db *new_db(void) {
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.databases = 4;
    cfg.shards_per_db = 8;
    lt_db *db = NULL;
    if (lt_db_open(&cfg, &db) != LT_OK) abort();
    return db;
}

#define FAR_MS ((int64_t)4102444800000) /* 2100-01-01 */

static void put(lt_db *db, unsigned dbid, const char *key, int type, int n, int64_t exp) {
    ks_key k = {.dbid = dbid, .key = key, .klen = strlen(key)};
    ks_txn txn;
    ks_txn_begin(&txn, db, &k, 1);
    char buf[64];
    switch (type) {
    case KS_TYPE_STRING:
        if (n < 0) ks_set_int(&txn, dbid, key, k.klen, n, exp);
        else {
            char *v = malloc((size_t)n + 1);
            for (int i = 0; i < n; i++) v[i] = (char)('a' + i % 26);
            ks_set_str(&txn, dbid, key, k.klen, v, (size_t)n, exp, 0);
            free(v);
        }
        break;
    case KS_TYPE_LIST: {
        listobj *l = listobj_new();
        for (int i = 0; i < n; i++) {
            int len = snprintf(buf, sizeof(buf), "item-%d", i);
            listobj_push(l, LIST_TAIL, buf, (size_t)len);
        }
        ks_set_obj(&txn, dbid, key, k.klen, type, l, exp);
        break;
    }
    case KS_TYPE_SET: {
        setobj *s = setobj_new();
        for (int i = 0; i < n; i++) {
            int len = i % 2 ? snprintf(buf, sizeof(buf), "%d", i) : snprintf(buf, sizeof(buf), "m%d", i);
            setobj_add(s, buf, (size_t)len);
        }
        ks_set_obj(&txn, dbid, key, k.klen, type, s, exp);
        break;
    }
    case KS_TYPE_HASH: {
        hashobj *h = hashobj_new();
        for (int i = 0; i < n; i++) {
            char f[32];
            int fl = snprintf(f, sizeof(f), "f%d", i);
            int len = snprintf(buf, sizeof(buf), "value-%d", i * 7);
            hashobj_set(h, f, (size_t)fl, buf, (size_t)len);
        }
        ks_set_obj(&txn, dbid, key, k.klen, type, h, exp);
        break;
    }
    case KS_TYPE_ZSET: {
        zset *z = zset_create();
        for (int i = 0; i < n; i++) {
            int len = snprintf(buf, sizeof(buf), "z%d", i);
            int out;
            zset_add(z, i * 1.5 - 3, buf, (size_t)len, 0, &out, NULL);
        }
        ks_set_obj(&txn, dbid, key, k.klen, type, z, exp);
        break;
    }
    }
    ks_txn_commit(&txn);
}

/* Every type, small and large encodings, with and without expiry, in
 * several databases. */
static void populate(lt_db *db) {
    put(db, 0, "s-empty", KS_TYPE_STRING, 0, KS_EXPIRE_NONE);
    put(db, 0, "s-small", KS_TYPE_STRING, 10, KS_EXPIRE_NONE);
    put(db, 0, "s-big", KS_TYPE_STRING, 300000, FAR_MS);
    put(db, 1, "s-int", KS_TYPE_STRING, -12345, KS_EXPIRE_NONE);
    put(db, 1, "s-int-exp", KS_TYPE_STRING, -7, FAR_MS + 1);
    put(db, 0, "l-small", KS_TYPE_LIST, 5, KS_EXPIRE_NONE);
    put(db, 2, "l-big", KS_TYPE_LIST, 5000, FAR_MS);
    put(db, 0, "set-small", KS_TYPE_SET, 6, KS_EXPIRE_NONE);
    put(db, 3, "set-big", KS_TYPE_SET, 3000, KS_EXPIRE_NONE);
    put(db, 0, "h-small", KS_TYPE_HASH, 4, FAR_MS + 2);
    put(db, 1, "h-big", KS_TYPE_HASH, 2000, KS_EXPIRE_NONE);
    put(db, 0, "z-small", KS_TYPE_ZSET, 3, KS_EXPIRE_NONE);
    put(db, 2, "z-big", KS_TYPE_ZSET, 1500, KS_EXPIRE_NONE);
    for (int i = 0; i < 3000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key:%d", i);
        put(db, (unsigned)(i % 4), k, KS_TYPE_STRING, i % 50, i % 3 ? KS_EXPIRE_NONE : FAR_MS + i);
    }
}

/* Canonical text of one entry: type, expiry and the type's encoding. */
static int emit_text(void *ctx, const void *p, size_t n) {
    char **s = ctx;
    size_t old = *s ? strlen(*s) : 0;
    *s = realloc(*s, old + n * 2 + 1);
    for (size_t i = 0; i < n; i++) sprintf(*s + old + 2 * i, "%02x", ((const unsigned char *)p)[i]);
    return 0;
}

/* Sets and hashes have no member order: their text is the sorted
 * members (pairs). */
typedef struct strs {
    char **v;
    size_t n;
} strs;

static int cmp_str(const void *a, const void *b);

static void strs_add(strs *l, const char *a, size_t alen, const char *b, size_t blen) {
    char *x = malloc(alen + blen + 2);
    memcpy(x, a, alen);
    x[alen] = '=';
    memcpy(x + alen + 1, b, blen);
    x[alen + blen + 1] = '\0';
    l->v = realloc(l->v, (l->n + 1) * sizeof(char *));
    l->v[l->n++] = x;
}

static void strs_emit(strs *l, char **s) {
    qsort(l->v, l->n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < l->n; i++) {
        emit_text(s, l->v[i], strlen(l->v[i]) + 1);
        free(l->v[i]);
    }
    free(l->v);
}

static void hash_str(const hashobj_str *h, char *buf, const char **p, size_t *len) {
    if (h->ptr) {
        *p = h->ptr;
        *len = h->len;
    } else {
        *len = (size_t)snprintf(buf, LT_LLSTR_SIZE, "%lld", h->ll);
        *p = buf;
    }
}

static char *entry_text(const ks_entry *e) {
    char *s = NULL;
    char head[128], ib[LT_LLSTR_SIZE];
    snprintf(head, sizeof(head), "%d/%lld/", ks_entry_type(e), (long long)ks_entry_expire_ms(e));
    emit_text(&s, head, strlen(head));
    if (ks_entry_type(e) == KS_TYPE_STRING) {
        size_t n;
        const char *v = ks_entry_str(e, ib, &n);
        emit_text(&s, v, n);
    } else if (ks_entry_type(e) == KS_TYPE_SET) {
        strs l = {0};
        setobj_iter it;
        setobj_elem el;
        setobj_iter_init(&it, ks_entry_obj(e));
        while (setobj_iter_next(&it, &el)) strs_add(&l, el.ptr, el.len, "", 0);
        strs_emit(&l, &s);
    } else if (ks_entry_type(e) == KS_TYPE_HASH) {
        strs l = {0};
        hashobj_iter it;
        hashobj_str f, v;
        hashobj_iter_init(&it, ks_entry_obj(e));
        while (hashobj_iter_next(&it, &f, &v)) {
            char fb[LT_LLSTR_SIZE], vb[LT_LLSTR_SIZE];
            const char *fp, *vp;
            size_t fl, vl;
            hash_str(&f, fb, &fp, &fl);
            hash_str(&v, vb, &vp, &vl);
            strs_add(&l, fp, fl, vp, vl);
        }
        strs_emit(&l, &s);
    } else {
        ks_type_get(ks_entry_type(e))->encode(ks_entry_obj(e), emit_text, &s);
    }
    return s;
}

typedef struct dump_ctx {
    char **lines;
    size_t n;
    unsigned db;
} dump_ctx;

static void dump_one(void *ctx, const ks_entry *e) {
    dump_ctx *d = ctx;
    size_t klen;
    const char *k = ks_entry_key(e, &klen);
    char *t = entry_text(e);
    char *line = malloc(klen + strlen(t) + 16);
    sprintf(line, "%u:%.*s=%s", d->db, (int)klen, k, t);
    free(t);
    d->lines = realloc(d->lines, (d->n + 1) * sizeof(char *));
    d->lines[d->n++] = line;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whole-database text (sorted lines), to compare two databases. */
static char *dump(lt_db *db) {
    ks_view v;
    ks_view_open(db, &v);
    dump_ctx d = {0};
    for (unsigned i = 0; i < ks_databases(db); i++) {
        ks_view_iter it;
        ks_view_iter_init(&it, &v, i);
        d.db = i;
        while (ks_view_iter_next(&it, 100, dump_one, &d)) {
        }
        ks_view_iter_close(&it);
    }
    ks_view_close(&v);
    qsort(d.lines, d.n, sizeof(char *), cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < d.n; i++) total += strlen(d.lines[i]) + 1;
    char *out = malloc(total);
    out[0] = '\0';
    char *p = out;
    for (size_t i = 0; i < d.n; i++) {
        size_t l = strlen(d.lines[i]);
        memcpy(p, d.lines[i], l);
        p[l] = '\n';
        p += l + 1;
        *p = '\0';
        free(d.lines[i]);
    }
    free(d.lines);
    return out;
}

static int write_snap(lt_db *db, int codec, uint64_t lsn, snap_write_result *res) {
    ks_view v;
    ks_view_open(db, &v);
    v.sequential = 1;
    snap_write_opts o = {.dir = tmpdir, .lsn = lsn, .codec = codec, .block_bytes = 16384};
    int rc = snap_write(db, &v, &o, res);
    ks_view_close(&v);
    return rc;
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static void write_all_file(const char *path, const unsigned char *p, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (len && fwrite(p, 1, len, f) != len) abort();
    fclose(f);
}

TEST(round_trip_every_type_and_codec) {
    make_dir();
    lt_db *db = new_db();
    populate(db);
    char *want = dump(db);
    for (int codec = SNAP_CODEC_NONE; codec <= SNAP_CODEC_ZSTD; codec++) {
        snap_write_result res;
        CHECK_EQ_INT(write_snap(db, codec, 1000 + (uint64_t)codec, &res), LT_OK);
        CHECK(res.info.keys == 3013);
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", tmpdir, res.name);
        snap_info info;
        snap_problem pb;
        int err = 0;
        CHECK_EQ_INT(snap_verify(path, 4, &info, &pb, &err), LT_OK);
        CHECK(info.lsn == 1000 + (uint64_t)codec && info.keys == 3013 && info.blocks > 1);
        if (codec != SNAP_CODEC_NONE) CHECK(info.file_bytes < info.raw_bytes);
        for (int threads = 1; threads <= 3; threads += 2) {
            lt_db *db2 = new_db();
            CHECK_EQ_INT(snap_load(db2, path, threads, &info, &pb, &err), LT_OK);
            char *got = dump(db2);
            CHECK(strcmp(got, want) == 0);
            free(got);
            lt_db_close(db2);
        }
    }
    free(want);
    lt_db_close(db);
    remove_dir();
}

TEST(empty_database_round_trips) {
    make_dir();
    lt_db *db = new_db();
    snap_write_result res;
    CHECK_EQ_INT(write_snap(db, SNAP_CODEC_LZ4, 0, &res), LT_OK);
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, res.name);
    CHECK_EQ_STR(res.name, "snapshot-00000000000000000000.snap");
    lt_db *db2 = new_db();
    snap_info info;
    snap_problem pb;
    int err;
    CHECK_EQ_INT(snap_load(db2, path, 2, &info, &pb, &err), LT_OK);
    CHECK(info.keys == 0 && info.blocks == 0);
    lt_db_close(db2);
    lt_db_close(db);
    remove_dir();
}

/* Writes a damaged copy and checks the loader rejects it with the file
 * and an offset, inserting nothing when the damage is in a checksum. */
static void expect_bad(const char *path, const unsigned char *img, size_t len,
                       const char *what) {
    write_all_file(path, img, len);
    snap_info info;
    snap_problem pb;
    int err = 0;
    lt_db *db = new_db();
    int rc = snap_load(db, path, 2, &info, &pb, &err);
    if (rc != LT_INVAL || !pb.found || strcmp(pb.file, path) != 0 || pb.offset > len) {
        printf("# %s: rc %d found %d offset %llu why %s\n", what, rc, pb.found,
               (unsigned long long)pb.offset, pb.why);
        CHECK(0);
    }
    CHECK(ks_db_size(db, 0) + ks_db_size(db, 1) + ks_db_size(db, 2) + ks_db_size(db, 3) == 0);
    lt_db_close(db);
    CHECK_EQ_INT(snap_verify(path, 4, &info, &pb, &err), LT_INVAL);
}

TEST(damage_detected_with_file_and_offset) {
    make_dir();
    lt_db *db = new_db();
    populate(db);
    snap_write_result res;
    CHECK_EQ_INT(write_snap(db, SNAP_CODEC_LZ4, 77, &res), LT_OK);
    char path[600], bad[640];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, res.name);
    snprintf(bad, sizeof(bad), "%s/bad.snap", tmpdir);
    size_t len;
    unsigned char *img = read_all(path, &len);
    REQUIRE(img);
    /* Truncated at many points (every byte near both ends). */
    for (size_t cut = 0; cut < len; cut += (cut < 200 || cut > len - 200) ? 1 : 997)
        expect_bad(bad, img, cut, "truncated");
    /* Bit flips across the file. */
    unsigned char *copy = malloc(len);
    for (size_t pos = 0; pos < len; pos += (pos < 100 || pos > len - 100) ? 1 : 641) {
        memcpy(copy, img, len);
        copy[pos] ^= (unsigned char)(1u << (pos % 8));
        expect_bad(bad, copy, len, "bit flip");
    }
    /* Zero-filled ranges (a lost page), and a zero-filled tail. */
    for (size_t pos = 0; pos + 4096 <= len; pos += 8192) {
        memcpy(copy, img, len);
        memset(copy + pos, 0, 4096);
        expect_bad(bad, copy, len, "zero page");
    }
    memcpy(copy, img, len);
    memset(copy + len / 2, 0, len - len / 2);
    expect_bad(bad, copy, len, "zero tail");
    /* The reported offset of a flip in a block is that block's start. */
    memcpy(copy, img, len);
    copy[len / 2] ^= 0x40;
    write_all_file(bad, copy, len);
    snap_info info;
    snap_problem pb;
    int err;
    CHECK_EQ_INT(snap_verify(bad, 4, &info, &pb, &err), LT_INVAL);
    CHECK(pb.offset <= len / 2 && pb.offset >= 48 && strstr(pb.why, "checksum"));
    /* Bytes appended after the end record. */
    unsigned char *longer = malloc(len + 3);
    memcpy(longer, img, len);
    memcpy(longer + len, "xyz", 3);
    expect_bad(bad, longer, len + 3, "trailing bytes");
    free(longer);
    free(copy);
    free(img);
    lt_db_close(db);
    remove_dir();
}

TEST(decoder_survives_random_mutations) {
    make_dir();
    lt_db *db = new_db();
    populate(db);
    snap_write_result res;
    CHECK_EQ_INT(write_snap(db, SNAP_CODEC_NONE, 5, &res), LT_OK);
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, res.name);
    size_t len;
    unsigned char *img = read_all(path, &len);
    REQUIRE(img);
    unsigned char *copy = malloc(len);
    snap_info info;
    snap_problem pb;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, img, len);
        int flips = 1 + (int)lt_random_below(8);
        for (int i = 0; i < flips; i++) copy[lt_random_below(len)] = (unsigned char)lt_random_below(256);
        size_t l = round % 3 ? len : (size_t)lt_random_below(len + 1);
        /* Mostly rejected; when a mutation keeps every checksum valid
         * (cannot happen with CRCs in practice) it must still not crash. */
        int rc = snap_verify_buf(copy, l, 4, 1 << 20, &info, &pb);
        CHECK(rc == LT_INVAL || rc == LT_OK);
    }
    CHECK_EQ_INT(snap_verify_buf(img, len, 4, 0, &info, &pb), LT_OK);
    /* Database index beyond the loader's databases. */
    CHECK_EQ_INT(snap_verify_buf(img, len, 1, 0, &info, &pb), LT_INVAL);
    CHECK(strstr(pb.why, "database index") != NULL);
    free(copy);
    free(img);
    lt_db_close(db);
    remove_dir();
}

TEST(manifest_round_trip_and_damage) {
    make_dir();
    snap_manifest m = {0}, r;
    CHECK_EQ_INT(snap_manifest_read(tmpdir, &r), LT_NOTFOUND);
    snap_file_name(42, m.current);
    CHECK_EQ_INT(snap_manifest_write(tmpdir, &m), LT_OK);
    CHECK_EQ_INT(snap_manifest_read(tmpdir, &r), LT_OK);
    CHECK_EQ_STR(r.current, "snapshot-00000000000000000042.snap");
    CHECK_EQ_STR(r.previous, "");
    snap_file_name(7, m.previous);
    CHECK_EQ_INT(snap_manifest_write(tmpdir, &m), LT_OK);
    CHECK_EQ_INT(snap_manifest_read(tmpdir, &r), LT_OK);
    CHECK_EQ_STR(r.previous, "snapshot-00000000000000000007.snap");
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, SNAP_MANIFEST_NAME);
    size_t len;
    unsigned char *img = read_all(path, &len);
    img[40] ^= 1;
    write_all_file(path, img, len);
    CHECK_EQ_INT(snap_manifest_read(tmpdir, &r), LT_INVAL);
    free(img);
    /* Another format version's head: LT_VERSION, not "malformed". */
    const char *v2 = "lightning-snapshot-manifest 2\ncurrent x\n";
    write_all_file(path, (const unsigned char *)v2, strlen(v2));
    CHECK_EQ_INT(snap_manifest_read(tmpdir, &r), LT_VERSION);
    uint64_t lsn;
    CHECK(snap_parse_name("snapshot-00000000000000000042.snap", &lsn) && lsn == 42);
    CHECK(!snap_parse_name("snapshot-0000000000000000004x.snap", &lsn));
    CHECK(!snap_parse_name("snapshot-42.snap", &lsn));
    remove_dir();
}

/* Writers keep old versions for a sequential view only in shards it has
 * not passed yet: at most one copy per key not yet written. */
static void count_fn(void *ctx, const ks_entry *e) {
    (void)e;
    (*(int *)ctx)++;
}

TEST(sequential_view_stops_copies_behind_it) {
    lt_db *db = new_db();
    for (int i = 0; i < 2000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%d", i);
        put(db, 0, k, KS_TYPE_STRING, 20, KS_EXPIRE_NONE);
    }
    ks_view v;
    ks_view_open(db, &v);
    v.sequential = 1;
    ks_view_iter it;
    ks_view_iter_init(&it, &v, 0);
    int seen = 0;
    /* Pass database 0 completely. */
    while (ks_view_iter_next(&it, 50, count_fn, &seen)) {
    }
    ks_view_iter_close(&it);
    CHECK_EQ_INT(seen, 2000);
    ks_mvcc_stats st;
    for (int i = 0; i < 2000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "k%d", i);
        put(db, 0, k, KS_TYPE_STRING, 30, KS_EXPIRE_NONE);
    }
    ks_mvcc_get_stats(db, &st);
    CHECK(st.versions == 0); /* db 0 passed: nothing kept */
    put(db, 1, "late", KS_TYPE_STRING, 5, KS_EXPIRE_NONE);
    put(db, 1, "late", KS_TYPE_STRING, 6, KS_EXPIRE_NONE);
    ks_mvcc_get_stats(db, &st);
    CHECK(st.versions == 0); /* created after the view: not visible to it */
    /* A second, ordinary view makes writers keep versions again. */
    ks_view v2;
    ks_view_open(db, &v2);
    put(db, 0, "k1", KS_TYPE_STRING, 40, KS_EXPIRE_NONE);
    ks_mvcc_get_stats(db, &st);
    CHECK(st.versions == 1);
    ks_view_close(&v2);
    ks_view_close(&v);
    ks_gc_cycle(db, 0, 1, 1000000);
    ks_mvcc_get_stats(db, &st);
    CHECK(st.versions == 0);
    lt_db_close(db);
}

int main(void) {
    register_types();
    RUN(round_trip_every_type_and_codec);
    RUN(empty_database_round_trips);
    RUN(damage_detected_with_file_and_offset);
    RUN(decoder_survives_random_mutations);
    RUN(manifest_round_trip_and_damage);
    RUN(sequential_view_stops_copies_behind_it);
    return testlib_finish();
}
