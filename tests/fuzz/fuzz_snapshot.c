/*
 * libFuzzer target for the snapshot decoder (src/engine/snapshot.c).
 *
 * The first input byte picks a mode:
 *   odd   the rest is a whole snapshot file image (header, blocks, end
 *         record), checked by snap_verify_buf: the structure checks and
 *         CRCs, and whatever passes them;
 *   even  the rest is the uncompressed payload of one block: the fuzzer
 *         wraps it in a valid file (correct CRCs, codec none, nrecords from
 *         the second byte) so that the record parser and every collection
 *         type's decode see arbitrary bytes behind valid checksums.
 * Checks: no crash or sanitizer report; a problem is always reported with
 * an offset inside the image; an accepted file's counts match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/crc32c.h"
#include "engine/hashobj.h"
#include "engine/listobj.h"
#include "engine/setobj.h"
#include "engine/snapshot.h"
#include "engine/streamobj.h"
#include "engine/zsetobj.h"

#define MAX_BLOCK_RAW (1u << 20)
#define NDB 16

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A valid file holding payload as one uncompressed block of nrec records
 * (the layout of snapshot.c's header comment). */
static unsigned char *wrap(const uint8_t *payload, size_t len, uint32_t nrec, size_t *out_len) {
    size_t total = 48 + (len ? 24 + len : 0) + 48;
    unsigned char *p = calloc(1, total);
    memcpy(p, "LTNGSNAP", 8);
    put32(p + 8, 1);
    put64(p + 16, 1234);
    put64(p + 24, 99);
    put32(p + 40, NDB);
    put32(p + 44, crc32c(0, p, 44));
    size_t pos = 48;
    if (len) {
        unsigned char *h = p + pos;
        put32(h, 0x3142534Cu);
        put32(h + 8, (uint32_t)len);
        put32(h + 12, (uint32_t)len);
        put32(h + 16, nrec);
        memcpy(h + 24, payload, len);
        put32(h + 20, crc32c(crc32c(0, payload, len), h, 20));
        pos += 24 + len;
    }
    unsigned char *e = p + pos;
    put32(e, 0x3145534Cu);
    put64(e + 8, len ? 1 : 0);
    put64(e + 16, len ? nrec : 0);
    put64(e + 24, len);
    put64(e + 32, 1234);
    put32(e + 40, crc32c(0, p, pos));
    put32(e + 44, crc32c(0, e, 44));
    *out_len = total;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int registered;
    if (!registered) {
        ks_type_register(KS_TYPE_SET, &set_type_ops);
        ks_type_register(KS_TYPE_HASH, &hash_type_ops);
        ks_type_register(KS_TYPE_LIST, &list_type_ops);
        ks_type_register(KS_TYPE_ZSET, &zset_type_ops);
        ks_type_register(KS_TYPE_STREAM, &stream_type_ops);
        registered = 1;
    }
    if (size < 2) return 0;
    snap_info info;
    snap_problem pb;
    if (data[0] & 1) {
        int rc = snap_verify_buf(data + 1, size - 1, NDB, MAX_BLOCK_RAW, &info, &pb);
        ASSERT(rc == LT_OK || rc == LT_INVAL || rc == LT_NOMEM);
        if (rc == LT_INVAL) ASSERT(pb.found && pb.offset <= size - 1);
        if (rc == LT_OK) ASSERT(info.file_bytes == size - 1);
        return 0;
    }
    size_t len;
    uint32_t nrec = 1u + data[1] % 32;
    unsigned char *img = wrap(data + 2, size - 2, nrec, &len);
    int rc = snap_verify_buf(img, len, NDB, MAX_BLOCK_RAW, &info, &pb);
    ASSERT(rc == LT_OK || rc == LT_INVAL || rc == LT_NOMEM);
    if (rc == LT_INVAL) ASSERT(pb.found && pb.offset < len);
    if (rc == LT_OK) ASSERT(info.keys == (size > 2 ? nrec : 0));
    free(img);
    return 0;
}
