/*
 * libFuzzer target for the request parser (src/server/net/resp.c).
 *
 * The input is fed in pieces whose sizes come from the input itself, the
 * way a socket delivers it: the unconsumed tail is kept and grown exactly
 * as client.c does. Checks: no crash or sanitizer report, every parsed
 * argument lies inside the buffer, consumed bytes never exceed what was
 * given, and parsing the whole input at once yields the same commands.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "server/net/resp.h"

#define MAX_BULK (1024 * 1024)

/* Parses data as a stream split at the given step; returns a digest of
 * the commands (count and argument bytes) so two splittings compare. */
static uint64_t parse_stream(const uint8_t *data, size_t size, size_t step) {
    resp_parser p;
    resp_parser_init(&p, MAX_BULK);
    char *buf = malloc(size + 1);
    size_t have = 0, fed = 0;
    uint64_t digest = 0;
    while (fed < size) {
        size_t n = size - fed < step ? size - fed : step;
        memcpy(buf + have, data + fed, n);
        have += n;
        fed += n;
        for (;;) {
            size_t used = 0;
            int r = resp_parse(&p, buf, have, &used);
            if (r == RESP_INCOMPLETE) break;
            if (r == RESP_ERROR) {
                ASSERT(p.error != NULL);
                digest = digest * 31 + 7;
                goto done;
            }
            ASSERT(used > 0 && used <= have);
            for (int i = 0; i < p.argc; i++) {
                ASSERT(p.argv[i].ptr >= buf && p.argv[i].ptr + p.argv[i].len <= buf + used);
                for (size_t k = 0; k < p.argv[i].len; k++)
                    digest = digest * 131 + (unsigned char)p.argv[i].ptr[k];
                digest = digest * 31 + p.argv[i].len;
            }
            digest = digest * 31 + (uint64_t)p.argc;
            memmove(buf, buf + used, have - used);
            have -= used;
            resp_parser_reset(&p);
        }
    }
done:
    resp_parser_free(&p);
    free(buf);
    return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    uint64_t whole = parse_stream(data + 1, size - 1, size);
    uint64_t split = parse_stream(data + 1, size - 1, step);
    ASSERT(whole == split);
    return 0;
}
