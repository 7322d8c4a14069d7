/*
 * lzf.h — LZF compression, byte-compatible with liblzf (what Redis uses for
 * RDB strings when rdbcompression is on).
 *
 * Format: a sequence of chunks, each starting with a control byte c:
 *   c < 32:  a literal run: c + 1 bytes follow and are copied as is.
 *   c >= 32: a back reference: L = c >> 5 (if L == 7, L += next byte);
 *            off = ((c & 31) << 8) + next byte; copy L + 2 bytes from
 *            (output position - off - 1), bytes may overlap the output.
 * So a reference covers 3..264 bytes at most 8192 bytes back.
 *
 * Both functions are pure, bounded by their out_len and never read or write
 * outside the given buffers; they return the bytes produced, or 0 when the
 * output does not fit (compress) or the input is malformed / does not
 * produce exactly... see each function.
 * Used by: engine/rdb.c.
 */
#ifndef LT_COMMON_LZF_H
#define LT_COMMON_LZF_H

#include <stddef.h>

/* Compresses in[0..in_len) into out[0..out_len). Returns the compressed
 * size, or 0 when it would not fit in out_len (callers pass in_len - 4 or
 * so and store the data raw on 0, as Redis does) or in_len is 0. */
size_t lzf_compress(const void *in, size_t in_len, void *out, size_t out_len);

/* Decompresses in[0..in_len) into out[0..out_len). Returns the bytes
 * written, or 0 on malformed input (a reference before the start of the
 * output) or when the output would exceed out_len. */
size_t lzf_decompress(const void *in, size_t in_len, void *out, size_t out_len);

#endif
