/*
 * libFuzzer target for the RDB decoder (src/engine/rdb.c, with the stream
 * codec of src/engine/rdb_stream.c registered).
 *
 * The first input byte picks a mode:
 *   0 mod 4  the rest is the body of a DUMP payload (type byte + value);
 *            the fuzzer appends a valid footer (version 10, CRC64) so the
 *            value decoders see arbitrary bytes behind a valid checksum.
 *            A value that decodes is installed, DUMPed again and the new
 *            payload must decode too (the writer's output is valid RDB).
 *   1 mod 4  the rest is a whole RDB file image, loaded by rdb_load_buf
 *            into a fresh engine (the CRC usually fails: the full
 *            verification pass runs).
 *   3 mod 4  the same, with a correct CRC64 appended, so the opcode
 *            parser and the insertion path see arbitrary files; bit 2 of
 *            the first byte selects the parallel loader (2 threads).
 *   2 mod 4  the rest through rdb_payload_verify as is.
 * Checks: no crash or sanitizer report; a problem is always reported with
 * an offset inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/crc64.h"
#include "engine/hashobj.h"
#include "engine/keyspace.h"
#include "engine/listobj.h"
#include "engine/rdb.h"
#include "engine/rdb_stream.h"
#include "engine/setobj.h"
#include "engine/streamobj.h"
#include "engine/zsetobj.h"
#include "lightning.h"

/* The value types and the stream codec, as the server registers them:
 * every mode decodes (and frees) values of every type. */
static void register_types(void) {
    static int registered;
    if (registered) return;
    ks_type_register(KS_TYPE_SET, &set_type_ops);
    ks_type_register(KS_TYPE_HASH, &hash_type_ops);
    ks_type_register(KS_TYPE_LIST, &list_type_ops);
    ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
    ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
    rdb_stream_register();
    registered = 1;
}

static lt_db *fresh_db(void) {
    register_types();
    lt_config cfg;
    lt_config_init(&cfg);
    cfg.shards_per_db = 1;
    lt_db *db;
    ASSERT(lt_db_open(&cfg, &db) == LT_OK);
    return db;
}

static void payload_mode(const uint8_t *data, size_t size) {
    register_types();
    unsigned char *p = malloc(size + 10);
    memcpy(p, data, size);
    p[size] = 10;
    p[size + 1] = 0;
    uint64_t crc = crc64_jones(0, p, size + 2);
    for (int i = 0; i < 8; i++) p[size + 2 + i] = (unsigned char)(crc >> (8 * i));
    size_t len = size + 10;
    ASSERT(rdb_payload_verify(p, len));
    rdb_value v;
    rdb_problem pb;
    int rc = rdb_payload_decode(p, len, &v, &pb);
    if (rc != LT_OK) {
        ASSERT(pb.offset <= len);
        free(p);
        return;
    }
    lt_db *db = fresh_db();
    ks_key k = {0, "k", 1};
    ks_txn t;
    ks_txn_begin(&t, db, &k, 1);
    ks_entry *e = rdb_value_install(&t, 0, "k", 1, &v, KS_EXPIRE_NONE);
    rdb_buf b = {0};
    ASSERT(rdb_dump_payload(&b, e) == LT_OK);
    ASSERT(rdb_payload_verify(b.p, b.len));
    rdb_value v2;
    ASSERT(rdb_payload_decode(b.p, b.len, &v2, &pb) == LT_OK);
    rdb_value_free(&v2);
    ks_txn_commit(&t);
    free(b.p);
    lt_db_close(db);
    free(p);
}

static void file_mode(const uint8_t *data, size_t size, int fix_crc, int threads) {
    unsigned char *p = malloc(size + 8);
    memcpy(p, data, size);
    size_t len = size;
    if (fix_crc) {
        uint64_t crc = crc64_jones(0, p, size);
        for (int i = 0; i < 8; i++) p[size + i] = (unsigned char)(crc >> (8 * i));
        len += 8;
    }
    lt_db *db = fresh_db();
    rdb_load_opts o = {.databases = 16, .now_ms = 1700000000000LL, .threads = threads};
    rdb_load_info info;
    rdb_problem pb;
    if (rdb_load_buf(db, p, len, &o, &info, &pb) != LT_OK) ASSERT(pb.offset <= len);
    lt_db_close(db);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    switch (data[0] & 3) {
    case 0: payload_mode(data + 1, size - 1); break;
    case 1: file_mode(data + 1, size - 1, 0, 1); break;
    case 3: file_mode(data + 1, size - 1, 1, (data[0] & 4) ? 2 : 1); break;
    default: (void)rdb_payload_verify(data + 1, size - 1); break;
    }
    return 0;
}
