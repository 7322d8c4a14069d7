/*
 * crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every WAL record.
 *
 * Owns: crc32c() and the choice of implementation, made once on first use:
 * the SSE4.2 crc32 instruction when the CPU has it, else a slicing-by-8
 * table. Both give identical results (tests/unit/test_crc32c.c checks the
 * RFC 3720 vectors and compares them on random buffers).
 * Thread-safety: pure functions; the one-time selection is idempotent.
 * Used by: the WAL (engine), lightning-check (tools).
 */
#ifndef LT_COMMON_CRC32C_H
#define LT_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over buf[0..len). crc32c(0, "123456789", 9) ==
 * 0xE3069283. Chaining is exact: crc32c(crc32c(0,a,n),b,m) == crc of a|b. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable table implementation and the hardware one (the latter only
 * callable when crc32c_hw_available()); exposed for tests. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
int crc32c_hw_available(void);

#endif
