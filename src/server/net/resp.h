/*
 * resp: the request parser, a pure state machine over bytes (RESP2/RESP3
 * multibulk requests and inline commands). No I/O, no allocation but the
 * argument table, no recursion. Replication and fuzzers drive it directly.
 *
 * The caller owns the bytes. It calls resp_parse(p, buf, len) where buf
 * always starts at the first byte of the command being parsed and len is
 * everything received so far from there. The parser remembers how far it
 * got (p->pos) so a command arriving in many pieces is scanned once; when
 * the caller moves the unconsumed bytes (for example from a receive buffer
 * into the client's query buffer) it must keep them starting at the command
 * start, and the parser state stays valid.
 *
 * Returns:
 *  RESP_INCOMPLETE  more bytes needed; keep buf[0..len) and call again.
 *  RESP_COMMAND     a command is ready: p->argc arguments in p->argv,
 *                   pointing into buf (inline arguments are unescaped in
 *                   place, so buf must be writable); *consumed is its size.
 *                   argc may be 0 (empty line, "*0"): skip it. The next
 *                   call must pass buf + *consumed.
 *  RESP_ERROR       protocol error; p->error holds Redis's message (without
 *                   the "ERR " prefix). Sticky until resp_parser_reset().
 *
 * Limits (Redis's): PROTO_INLINE_MAX_SIZE for inline lines and count
 * lines, max_bulk_len (proto-max-bulk-len), multibulk count <= INT_MAX, and
 * while unauthenticated at most 10 arguments of at most 16384 bytes.
 */
#ifndef LIGHTNING_RESP_H
#define LIGHTNING_RESP_H

#include <stddef.h>

#define PROTO_INLINE_MAX_SIZE (64 * 1024)
#define PROTO_UNAUTH_MAX_ARGS 10
#define PROTO_UNAUTH_MAX_BULK 16384

enum { RESP_INCOMPLETE = 0, RESP_COMMAND = 1, RESP_ERROR = -1 };

typedef struct resp_arg {
    char *ptr;
    size_t len;
} resp_arg;

typedef struct resp_parser {
    /* limits, set by the owner */
    long long max_bulk_len;
    int unauthenticated;
    /* progress within the current command */
    int kind;                /* 0 unknown, '*' multibulk, 'i' inline */
    size_t pos;              /* bytes of the command scanned so far */
    long long multibulk_left;
    long long bulk_len;      /* -1 while waiting for a $ line */
    int argc, argv_cap;
    resp_arg *argv;          /* while incomplete, ptr holds an offset */
    const char *error;
    char errbuf[64];
} resp_parser;

void resp_parser_init(resp_parser *p, long long max_bulk_len);
void resp_parser_free(resp_parser *p);
/* Forgets the current command (after an error or a completed command). */
void resp_parser_reset(resp_parser *p);
int resp_parse(resp_parser *p, char *buf, size_t len, size_t *consumed);
/* How many bytes the current command still needs at least (0 if unknown):
 * lets the caller size its buffer once for a large bulk. */
size_t resp_bytes_wanted(const resp_parser *p);

/* Splits a line into arguments the way Redis's sdssplitargs does ("..."
 * with \n \r \t \b \a \\ \" \xHH escapes, '...' with \'), unescaping in
 * place; *argv (capacity *cap) grows with realloc as needed and stays owned
 * by the caller. Returns the count, -1 for unbalanced quotes, -2 when out
 * of memory. Used for inline commands and config files. */
int resp_split_inline(char *line, size_t len, resp_arg **argv, int *cap);

#endif
