/*
 * util.c — see util.h. Redis-compatible integer parsing/formatting and glob
 * matching. These are on hot paths (every SET tries integer encoding), so
 * they avoid libc locale-aware calls.
 */
#include "common/util.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

int lt_string2ll(const char *s, size_t slen, long long *value) {
    const char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long v;

    if (slen == 0 || slen >= LT_LLSTR_SIZE) return 0;
    if (slen == 1 && p[0] == '0') {
        *value = 0;
        return 1;
    }
    if (p[0] == '-') {
        negative = 1;
        p++;
        plen++;
        if (plen == slen) return 0;
    }
    if (p[0] >= '1' && p[0] <= '9') {
        v = (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    } else {
        return 0;
    }
    while (plen < slen && p[0] >= '0' && p[0] <= '9') {
        if (v > ULLONG_MAX / 10) return 0;
        v *= 10;
        if (v > ULLONG_MAX - (unsigned long long)(p[0] - '0')) return 0;
        v += (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    }
    if (plen < slen) return 0;
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *value = (long long)(0ULL - v);
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *value = (long long)v;
    }
    return 1;
}

size_t lt_ll2string(char *dst, size_t cap, long long v) {
    char tmp[LT_LLSTR_SIZE];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[n++] = '-';
    if (n + 1 > cap) {
        if (cap) dst[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    dst[n] = '\0';
    return n;
}

static inline unsigned char fold(unsigned char c, int nocase) {
    return nocase ? (unsigned char)tolower(c) : c;
}

/* Matches one non-'*' pattern token at pattern[0..plen) against byte c.
 * Stores the token's length in *used. Returns 1 on match. */
static int match_token(const char *pattern, size_t plen, unsigned char c,
                       int nocase, size_t *used) {
    const char *p = pattern;
    size_t left = plen;

    if (p[0] == '?') {
        *used = 1;
        return 1;
    }
    if (p[0] == '\\' && left >= 2) {
        *used = 2;
        return fold((unsigned char)p[1], nocase) == fold(c, nocase);
    }
    if (p[0] != '[') {
        *used = 1;
        return fold((unsigned char)p[0], nocase) == fold(c, nocase);
    }
    /* A set: '[' ['^'] items ']' ; an unterminated set ends at the pattern
     * end, as in Redis. */
    p++;
    left--;
    int not = 0, match = 0;
    if (left && p[0] == '^') {
        not = 1;
        p++;
        left--;
    }
    while (left) {
        if (p[0] == '\\' && left >= 2) {
            if (fold((unsigned char)p[1], nocase) == fold(c, nocase)) match = 1;
            p += 2;
            left -= 2;
        } else if (p[0] == ']') {
            p++;
            left--;
            break;
        } else if (left >= 3 && p[1] == '-') {
            unsigned char start = fold((unsigned char)p[0], nocase);
            unsigned char end = fold((unsigned char)p[2], nocase);
            unsigned char cc = fold(c, nocase);
            if (start > end) {
                unsigned char t = start;
                start = end;
                end = t;
            }
            if (cc >= start && cc <= end) match = 1;
            p += 3;
            left -= 3;
        } else {
            if (fold((unsigned char)p[0], nocase) == fold(c, nocase)) match = 1;
            p++;
            left--;
        }
    }
    *used = plen - left;
    return not ? !match : match;
}

int lt_stringmatchlen(const char *pattern, size_t plen, const char *string,
                      size_t slen, int nocase) {
    size_t pi = 0, si = 0;
    size_t star_pi = (size_t)-1, star_si = 0; /* last '*' seen, for backtrack */

    /* Each iteration consumes a pattern token or a string byte, or
     * backtracks by advancing star_si, which only grows: bounded by
     * (plen + 1) * (slen + 1) iterations. */
    while (si < slen || pi < plen) {
        if (pi < plen && pattern[pi] == '*') {
            while (pi < plen && pattern[pi] == '*') pi++;
            if (pi == plen) return 1; /* trailing '*' eats the rest */
            star_pi = pi;
            star_si = si;
            continue;
        }
        if (pi < plen && si < slen) {
            size_t used;
            if (match_token(pattern + pi, plen - pi, (unsigned char)string[si],
                            nocase, &used)) {
                pi += used;
                si++;
                continue;
            }
        }
        if (star_pi != (size_t)-1 && star_si < slen) {
            star_si++;
            pi = star_pi;
            si = star_si;
            continue;
        }
        return 0;
    }
    return 1;
}
