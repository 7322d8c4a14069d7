/*
 * args: see args.h.
 */
#include "server/cmd/args.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "server/net/reply.h"

int arg_is(const resp_arg *a, const char *word) {
    size_t n = strnlen(a->ptr, a->len);
    return n == strlen(word) && strncasecmp(a->ptr, word, n) == 0;
}

int arg_eq(const resp_arg *a, const resp_arg *b) {
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

int arg_ll_or_reply(client *c, const resp_arg *a, long long *v, const char *msg) {
    if (lt_string2ll(a->ptr, a->len, v)) return 0;
    if (msg) addReplyError(c, msg);
    else addReplyErrorNotInteger(c);
    return -1;
}

int arg_range_ll_or_reply(client *c, const resp_arg *a, long long min, long long max,
                          long long *v, const char *msg) {
    if (arg_ll_or_reply(c, a, v, msg) < 0) return -1;
    if (*v < min || *v > max) {
        if (msg) addReplyError(c, msg);
        else addReplyErrorFormat(c, "ERR value is out of range, value must between %lld and %lld",
                                 min, max);
        return -1;
    }
    return 0;
}

int arg_mpop_or_reply(client *c, int first, const char *end0, const char *end1, int *end,
                      long long *numkeys, long long *count) {
    if (arg_range_ll_or_reply(c, &c->argv[first], 1, LLONG_MAX, numkeys,
                              "ERR numkeys should be greater than 0") < 0)
        return -1;
    if (*numkeys >= c->argc - first - 1) {
        addReplyErrorSyntax(c);
        return -1;
    }
    int end_idx = first + 1 + (int)*numkeys;
    if (arg_is(&c->argv[end_idx], end0)) *end = 0;
    else if (arg_is(&c->argv[end_idx], end1)) *end = 1;
    else {
        addReplyErrorSyntax(c);
        return -1;
    }
    *count = -1;
    for (int j = end_idx + 1; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (*count == -1 && arg_is(&c->argv[j], "count") && moreargs) {
            j++;
            if (arg_range_ll_or_reply(c, &c->argv[j], 1, LLONG_MAX, count,
                                      "ERR count should be greater than 0") < 0)
                return -1;
        } else {
            addReplyErrorSyntax(c);
            return -1;
        }
    }
    if (*count == -1) *count = 1;
    return 0;
}

int arg_int_or_reply(client *c, const resp_arg *a, int *v, const char *msg) {
    long long ll;
    if (arg_ll_or_reply(c, a, &ll, msg) < 0) return -1;
    if (ll < INT_MIN || ll > INT_MAX) {
        if (msg) addReplyError(c, msg);
        else addReplyErrorFormat(c, "ERR value is out of range, value must between %d and %d",
                                 INT_MIN, INT_MAX);
        return -1;
    }
    *v = (int)ll;
    return 0;
}

/* Parses a SCAN cursor exactly like Redis 7.0's parseScanCursorOrReply,
 * which calls strtoul(base 10) on the argument as a C string: the text ends
 * at the first NUL byte, a leading space is refused, one '+' or '-' sign is
 * allowed ("-1" is the largest cursor), "" is cursor 0, anything after the
 * digits or an overflow is refused. Returns 1 and *cursor, or 0. */
int keys_parse_cursor(const char *s, size_t len, uint64_t *cursor) {
    const char *nul = memchr(s, '\0', len);
    if (nul) len = (size_t)(nul - s);
    if (len == 0) {
        *cursor = 0;
        return 1;
    }
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) return 0;
    size_t i = 0;
    int negative = 0;
    if (s[0] == '+' || s[0] == '-') {
        negative = s[0] == '-';
        i++;
    }
    if (i == len || s[i] < '0' || s[i] > '9') return 0;
    uint64_t v = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0; /* ERANGE */
        v = v * 10 + d;
    }
    if (i != len) return 0;
    *cursor = negative ? (uint64_t)0 - v : v;
    return 1;
}
