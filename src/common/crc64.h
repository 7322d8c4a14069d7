/*
 * crc64.h — CRC-64 with Jones's coefficients, the checksum Redis puts at the
 * end of RDB files and DUMP payloads.
 *
 * Parameters: polynomial 0xad93d23594c935a9 (0x95ac9329ac4bc9b5 reflected),
 * reflected input and output, initial value 0 (Redis starts from 0), no
 * final xor. crc64_jones(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. Chaining
 * is exact: crc64_jones(crc64_jones(0, a, n), b, m) is the CRC of a|b.
 *
 * Implementation: slicing-by-8 tables built once on first use (idempotent,
 * safe to race: every thread computes the same values).
 * Used by: engine/rdb.c (RDB files, DUMP/RESTORE), tests.
 */
#ifndef LT_COMMON_CRC64_H
#define LT_COMMON_CRC64_H

#include <stddef.h>
#include <stdint.h>

uint64_t crc64_jones(uint64_t crc, const void *buf, size_t len);

#endif
