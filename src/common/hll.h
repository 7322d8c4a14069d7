/*
 * hll.h — Redis's HyperLogLog string representation: the codec and the
 * estimator, on plain byte buffers (no keyspace, no server).
 *
 * Owns the exact bytes Redis 7.0 stores in an HLL string value, so values
 * move between Redis and Lightning with GET/SET (or a snapshot) and count
 * the same, and the same sequence of additions produces the same bytes:
 *
 *   offset 0   "HYLL" magic
 *   offset 4   encoding: 0 dense, 1 sparse (HLL_RAW = 255 is in-memory only)
 *   offset 5   3 unused bytes (0)
 *   offset 8   cached cardinality, 8 bytes little endian; the most
 *              significant bit of byte 15 set means "cache invalid"
 *   offset 16  registers: 16384 (2^14) registers of 6 bits
 *     dense:  12288 bytes, register i at bit i*6, LSB first across bytes
 *             (total value length exactly HLL_DENSE_SIZE = 12304)
 *     sparse: a run-length sequence of opcodes covering all 16384 registers
 *             ZERO   00xxxxxx           xxxxxx+1 (1..64) zero registers
 *             XZERO  01xxxxxx yyyyyyyy  14-bit len+1 (1..16384) zeros
 *             VAL    1vvvvvxx           xx+1 (1..4) registers of vvvvv+1
 *                                       (1..32)
 *
 * Elements are hashed with MurmurHash64A (seed 0xadc83b19, 8-byte words
 * read little endian); the low 14 bits pick the register, the position of
 * the first 1 bit among the remaining 50 (plus a sentinel) is the value.
 * Cardinality: Ertl's improved estimator over the register histogram.
 *
 * Sparse updates follow Redis's algorithm step for step (split the opcode
 * covering the register into at most 3 opcodes, then merge equal adjacent
 * VAL opcodes in a window of 5 from the previous opcode), because the
 * resulting bytes are visible to GET. A sparse value promotes to dense
 * when a register needs a value > 32 or the value would exceed the
 * caller's sparse limit (hll-sparse-max-bytes).
 *
 * Invariants: functions never read past the lengths given (a corrupt value
 * is reported, never trusted); an hll_buf always has at least 3 bytes of
 * slack past len while a sparse set runs. Thread-safe (no global state).
 */
#ifndef LT_COMMON_HLL_H
#define LT_COMMON_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define HLL_MAX_ENCODING 1
#define HLL_SPARSE_VAL_MAX_VALUE 32

/* A growable HLL value; p is malloc'd and owned by the buffer. */
typedef struct hll_buf {
    uint8_t *p;
    size_t len, cap;
} hll_buf;

/* Redis's MurmurHash64A, endian neutral. */
uint64_t hll_murmur64a(const void *key, size_t len, uint32_t seed);

/* The register index (*index) and value an element hashes to. */
int hll_pat_len(const void *ele, size_t len, long *index);

/* Whether bytes look like an HLL (Redis's isHLLObjectOrReply minus the type
 * check): long enough for the header, "HYLL", a known encoding, and for
 * dense the exact size. A sparse body is only checked when used. */
int hll_header_ok(const uint8_t *p, size_t len);
int hll_encoding(const uint8_t *p); /* HLL_DENSE or HLL_SPARSE */

/* Cached cardinality: 1 and *card when valid, else 0. */
int hll_cache_get(const uint8_t *p, uint64_t *card);
void hll_cache_set(uint8_t *p, uint64_t card);
void hll_cache_invalidate(uint8_t *p);

/* Initialises b to a new empty (sparse, XZERO-only) HLL of 18 bytes. */
void hll_buf_init_empty(hll_buf *b);
/* Initialises b with a copy of len bytes of p. */
void hll_buf_init_copy(hll_buf *b, const void *p, size_t len);
void hll_buf_free(hll_buf *b);

/* Dense register access; regs is the register area (p + HLL_HDR_SIZE). */
unsigned hll_dense_get(const uint8_t *regs, long index);
void hll_dense_set(uint8_t *regs, long index, unsigned val);

/* Sets register index to count when count is larger (sparse or dense).
 * Returns 1 if the register changed, 0 if not, -1 on a corrupt sparse
 * value. May promote b to dense (sparse_max_bytes is the sparse limit). */
int hll_set(hll_buf *b, long index, unsigned count, size_t sparse_max_bytes);
/* Adds one element: hll_pat_len + hll_set. */
int hll_add(hll_buf *b, const void *ele, size_t len, size_t sparse_max_bytes);
/* Converts a sparse b to dense (dense: no-op). 0, or -1 if corrupt (b is
 * then unchanged). The cached cardinality is kept. */
int hll_sparse_to_dense(hll_buf *b);

/* Cardinality estimate of a value that passed hll_header_ok; *invalid set
 * to 1 when a sparse body is corrupt. */
uint64_t hll_count(const uint8_t *p, size_t len, int *invalid);
/* Estimate over raw one-byte-per-register values (multi-key PFCOUNT). */
uint64_t hll_count_raw(const uint8_t regs[HLL_REGISTERS]);
/* max[i] = MAX(max[i], register i of the value). 0, or -1 if corrupt. */
int hll_merge(uint8_t max[HLL_REGISTERS], const uint8_t *p, size_t len);

/* Redis's PFDEBUG DECODE text of a sparse body ("z:N Z:N v:V,N" items);
 * returns malloc'd NUL-terminated text, caller frees. */
char *hll_sparse_decode(const uint8_t *p, size_t len);

#endif
