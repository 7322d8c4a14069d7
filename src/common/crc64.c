/*
 * crc64.c — Redis's CRC-64 (Jones), see crc64.h. Table-driven, reflected:
 * crc = T[(crc ^ byte) & 0xff] ^ (crc >> 8), eight bytes per step with
 * slicing-by-8 tables T[k][b] = CRC of byte b followed by k zero bytes.
 */
#include "common/crc64.h"

#include <pthread.h>

#define CRC64_POLY_REFLECTED UINT64_C(0x95ac9329ac4bc9b5)

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    for (unsigned b = 0; b < 256; b++) {
        uint64_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc64_table[0][b] = c;
    }
    for (unsigned b = 0; b < 256; b++) {
        uint64_t c = crc64_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = crc64_table[0][c & 0xff] ^ (c >> 8);
            crc64_table[k][b] = c;
        }
    }
}

uint64_t crc64_jones(uint64_t crc, const void *buf, size_t len) {
    pthread_once(&crc64_once, crc64_init);
    const unsigned char *p = buf;
    while (len >= 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        crc ^= w;
        crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
