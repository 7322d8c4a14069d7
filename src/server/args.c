/*
 * args: see args.h.
 */
#include "server/args.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "server/reply.h"

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
