/*
 * libFuzzer target for the WAL record check (wal_record_check in
 * src/engine/wal.c, which recovery and lightning-check trust with any
 * bytes read from disk).
 *
 * Input: 8 bytes of expected LSN (little-endian), then the bytes at that
 * position. The check runs on every prefix length that matters (the
 * whole input and a few cuts), and once more with the CRC field fixed up,
 * so inputs get past the checksum to the length and LSN rules. Checks: no
 * crash or sanitizer report; a valid record lies inside the buffer, its
 * payload included; "need more" asks for more than it was given; a record
 * valid on a prefix is valid, identically, on the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/crc32c.h"
#include "engine/wal.h"

static void check_one(const uint8_t *buf, size_t len, uint64_t lsn, const uint8_t *whole,
                      size_t whole_len) {
    wal_record r;
    size_t need = 0;
    const char *why = NULL;
    int rc = wal_record_check(buf, len, lsn, &r, &need, &why);
    ASSERT(rc == 1 || rc == 0 || rc == -1);
    if (rc == 1) {
        ASSERT((const uint8_t *)r.payload >= buf && r.len <= len &&
               (const uint8_t *)r.payload + r.len <= buf + len);
        ASSERT(r.lsn == lsn && r.end_lsn == lsn + WAL_HEADER_SIZE + r.len);
        wal_record r2;
        size_t need2;
        const char *why2;
        ASSERT(wal_record_check(whole, whole_len, lsn, &r2, &need2, &why2) == 1);
        ASSERT(r2.len == r.len && r2.commit_ts == r.commit_ts);
    } else if (rc == 0) {
        ASSERT(need > len);
    } else {
        ASSERT(why != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8) return 0;
    uint64_t lsn = 0;
    for (int i = 0; i < 8; i++) lsn |= (uint64_t)data[i] << (8 * i);
    const uint8_t *buf = data + 8;
    size_t len = size - 8;
    check_one(buf, len, lsn, buf, len);
    for (size_t cut = 0; cut < len && cut <= 48; cut += 7) check_one(buf, cut, lsn, buf, len);
    if (len >= WAL_HEADER_SIZE) {
        /* Fix the CRC: crc32c(crc32c(0, payload, plen), hdr + 8, 32). */
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        uint32_t plen = (uint32_t)copy[32] | (uint32_t)copy[33] << 8 |
                        (uint32_t)copy[34] << 16 | (uint32_t)copy[35] << 24;
        if (plen <= len - WAL_HEADER_SIZE) {
            uint32_t crc = crc32c(crc32c(0, copy + WAL_HEADER_SIZE, plen), copy + 8, 32);
            for (int i = 0; i < 4; i++) copy[4 + i] = (uint8_t)(crc >> (8 * i));
            check_one(copy, len, lsn, copy, len);
        }
        free(copy);
    }
    return 0;
}
