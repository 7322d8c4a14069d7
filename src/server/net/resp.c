/*
 * resp: request parser state machine; see resp.h for the contract.
 *
 * Error texts and acceptance rules follow Redis 7.0's networking.c so that a
 * client sees the same bytes from both: count lines are "*<n>\r\n" where the
 * '\r' must be followed by one more byte (assumed '\n', as Redis does), and
 * a bulk's two trailing bytes are skipped without being checked.
 */
#include "server/net/resp.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ARGV_INITIAL 8
#define ARGV_PREALLOC_MAX 1024

void resp_parser_init(resp_parser *p, long long max_bulk_len) {
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = max_bulk_len;
    p->bulk_len = -1;
}

void resp_parser_free(resp_parser *p) {
    free(p->argv);
    p->argv = NULL;
    p->argv_cap = 0;
}

void resp_parser_reset(resp_parser *p) {
    p->kind = 0;
    p->pos = 0;
    p->multibulk_left = 0;
    p->bulk_len = -1;
    p->argc = 0;
    p->error = NULL;
    /* A huge argv from one command is not kept for the client's lifetime. */
    if (p->argv_cap > ARGV_PREALLOC_MAX) resp_parser_free(p);
}

static int fail(resp_parser *p, const char *msg) {
    p->error = msg;
    return RESP_ERROR;
}

static int ensure_argv(resp_parser *p, long long want) {
    if (want <= p->argv_cap) return 0;
    long long cap = p->argv_cap ? p->argv_cap : ARGV_INITIAL;
    while (cap < want) cap *= 2;
    resp_arg *n = realloc(p->argv, sizeof(*n) * (size_t)cap);
    if (!n) return -1;
    p->argv = n;
    p->argv_cap = (int)cap;
    return 0;
}

size_t resp_bytes_wanted(const resp_parser *p) {
    if (p->kind == '*' && p->bulk_len >= 0) return p->pos + (size_t)p->bulk_len + 2;
    return 0;
}

/* Finds the "\r" that ends a count line starting at buf+from. Returns its
 * offset, -1 for "need more", or -2 when the line is already too long. */
static long long find_cr(const char *buf, size_t len, size_t from) {
    const char *nl = memchr(buf + from, '\r', len - from);
    if (!nl) return len - from > PROTO_INLINE_MAX_SIZE ? -2 : -1;
    size_t off = (size_t)(nl - buf);
    if (off + 2 > len) return -1; /* need the byte after '\r' */
    return (long long)off;
}

/* The common count or length line, in one pass: buf[from..) holds 0 or a
 * decimal of at most 18 digits without sign or leading zero, then '\r' and
 * one more byte. Returns the offset of the '\r' and the value in *v, which
 * is what find_cr() and lt_string2ll() give for such a line; -1 for
 * anything else (the general path then decides, errors included). */
static long long scan_count(const char *buf, size_t len, size_t from, long long *v) {
    if (from >= len) return -1;
    size_t i = from, end = len - from > 18 ? from + 18 : len;
    unsigned long long n = (unsigned char)buf[i++] - (unsigned)'0';
    if (n > 9) return -1;
    if (n > 0) {
        for (unsigned d; i < end && (d = (unsigned char)buf[i] - (unsigned)'0') <= 9; i++)
            n = n * 10 + d;
    }
    if (i + 2 > len || buf[i] != '\r') return -1;
    *v = (long long)n;
    return (long long)i;
}

static int parse_inline(resp_parser *p, char *buf, size_t len, size_t *consumed) {
    char *nl = memchr(buf, '\n', len);
    if (!nl) {
        if (len > PROTO_INLINE_MAX_SIZE)
            return fail(p, "Protocol error: too big inline request");
        return RESP_INCOMPLETE;
    }
    size_t linelen = (size_t)(nl - buf);
    size_t eol = 1;
    if (linelen > 0 && buf[linelen - 1] == '\r') {
        linelen--;
        eol++;
    }
    int n = resp_split_inline(buf, linelen, &p->argv, &p->argv_cap);
    if (n == -1) return fail(p, "Protocol error: unbalanced quotes in request");
    if (n < 0) return fail(p, "Protocol error: out of memory");
    p->argc = n;
    *consumed = linelen + eol;
    return RESP_COMMAND;
}

int resp_parse(resp_parser *p, char *buf, size_t len, size_t *consumed) {
    if (p->error) return RESP_ERROR;
    if (len == 0) return RESP_INCOMPLETE;
    if (p->kind == 0) p->kind = buf[0] == '*' ? '*' : 'i';
    if (p->kind == 'i') {
        int r = parse_inline(p, buf, len, consumed);
        if (r == RESP_COMMAND) p->kind = 0;
        return r;
    }

    if (p->pos == 0) {
        long long n;
        long long cr = scan_count(buf, len, 1, &n);
        if (cr < 0) {
            cr = find_cr(buf, len, 0);
            if (cr == -2) return fail(p, "Protocol error: too big mbulk count string");
            if (cr == -1) return RESP_INCOMPLETE;
            if (!lt_string2ll(buf + 1, (size_t)cr - 1, &n))
                return fail(p, "Protocol error: invalid multibulk length");
        }
        if (n > INT_MAX) return fail(p, "Protocol error: invalid multibulk length");
        if (n > PROTO_UNAUTH_MAX_ARGS && p->unauthenticated)
            return fail(p, "Protocol error: unauthenticated multibulk length");
        p->pos = (size_t)cr + 2;
        if (n <= 0) {
            *consumed = p->pos;
            p->argc = 0;
            p->kind = 0;
            p->pos = 0;
            return RESP_COMMAND;
        }
        p->multibulk_left = n;
        p->argc = 0;
        p->bulk_len = -1;
        if (ensure_argv(p, n < ARGV_PREALLOC_MAX ? n : ARGV_PREALLOC_MAX) < 0)
            return fail(p, "Protocol error: out of memory");
    }

    while (p->multibulk_left > 0) {
        if (p->bulk_len == -1) {
            long long n;
            long long cr = p->pos < len && buf[p->pos] == '$'
                               ? scan_count(buf, len, p->pos + 1, &n) : -1;
            if (cr < 0) {
                cr = find_cr(buf, len, p->pos);
                if (cr == -2) return fail(p, "Protocol error: too big bulk count string");
                if (cr == -1) return RESP_INCOMPLETE;
                if (buf[p->pos] != '$') {
                    char c = buf[p->pos];
                    if (c == '\r' || c == '\n') c = ' ';
                    snprintf(p->errbuf, sizeof(p->errbuf),
                             "Protocol error: expected '$', got '%c'", c);
                    return fail(p, p->errbuf);
                }
                if (!lt_string2ll(buf + p->pos + 1, (size_t)cr - p->pos - 1, &n))
                    return fail(p, "Protocol error: invalid bulk length");
            }
            if (n < 0 || n > p->max_bulk_len)
                return fail(p, "Protocol error: invalid bulk length");
            if (n > PROTO_UNAUTH_MAX_BULK && p->unauthenticated)
                return fail(p, "Protocol error: unauthenticated bulk length");
            p->pos = (size_t)cr + 2;
            p->bulk_len = n;
        }
        if (len - p->pos < (size_t)p->bulk_len + 2) return RESP_INCOMPLETE;
        if (p->argc == p->argv_cap && ensure_argv(p, (long long)p->argc + 1) < 0)
            return fail(p, "Protocol error: out of memory");
        p->argv[p->argc].ptr = (char *)(uintptr_t)p->pos; /* offset for now */
        p->argv[p->argc].len = (size_t)p->bulk_len;
        p->argc++;
        p->pos += (size_t)p->bulk_len + 2;
        p->bulk_len = -1;
        p->multibulk_left--;
    }
    for (int i = 0; i < p->argc; i++)
        p->argv[i].ptr = buf + (uintptr_t)p->argv[i].ptr;
    *consumed = p->pos;
    p->kind = 0;
    p->pos = 0;
    return RESP_COMMAND;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int resp_split_inline(char *line, size_t len, resp_arg **argv, int *cap) {
    /* Redis splits a C string: a NUL byte ends the line. */
    len = strnlen(line, len);
    size_t i = 0;
    int count = 0;
    for (;;) {
        while (i < len && isspace((unsigned char)line[i])) i++;
        if (i >= len) break;
        /* The unescaped argument is written at w, never past the read head. */
        char *start = line + i;
        char *w = start;
        int inq = 0, insq = 0;
        for (;;) {
            if (inq) {
                if (i >= len) return -1;
                char ch = line[i];
                if (ch == '\\' && i + 3 < len && line[i + 1] == 'x' &&
                    hexval((unsigned char)line[i + 2]) >= 0 &&
                    hexval((unsigned char)line[i + 3]) >= 0) {
                    *w++ = (char)(hexval((unsigned char)line[i + 2]) * 16 +
                                  hexval((unsigned char)line[i + 3]));
                    i += 4;
                } else if (ch == '\\' && i + 1 < len) {
                    char e = line[i + 1];
                    switch (e) {
                    case 'n': e = '\n'; break;
                    case 'r': e = '\r'; break;
                    case 't': e = '\t'; break;
                    case 'b': e = '\b'; break;
                    case 'a': e = '\a'; break;
                    default: break;
                    }
                    *w++ = e;
                    i += 2;
                } else if (ch == '"') {
                    /* A closing quote must be followed by a space or end. */
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1])) return -1;
                    i++;
                    break;
                } else {
                    *w++ = ch;
                    i++;
                }
            } else if (insq) {
                if (i >= len) return -1;
                char ch = line[i];
                if (ch == '\\' && i + 1 < len && line[i + 1] == '\'') {
                    *w++ = '\'';
                    i += 2;
                } else if (ch == '\'') {
                    if (i + 1 < len && !isspace((unsigned char)line[i + 1])) return -1;
                    i++;
                    break;
                } else {
                    *w++ = ch;
                    i++;
                }
            } else {
                if (i >= len) break;
                char ch = line[i];
                if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') break;
                if (ch == '"') inq = 1;
                else if (ch == '\'') insq = 1;
                else *w++ = ch;
                i++;
            }
        }
        if (count == *cap) {
            int ncap = *cap ? *cap * 2 : ARGV_INITIAL;
            resp_arg *n = realloc(*argv, sizeof(*n) * (size_t)ncap);
            if (!n) return -2;
            *argv = n;
            *cap = ncap;
        }
        (*argv)[count].ptr = start;
        (*argv)[count].len = (size_t)(w - start);
        count++;
    }
    return count;
}
