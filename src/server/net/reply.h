/*
 * reply: encodes replies into a client's output buffers, in RESP2 or RESP3
 * according to c->resp. Command handlers only ever call these; they never
 * write protocol bytes themselves. All functions copy their arguments.
 *
 * Errors: addReplyError takes the full message ("ERR syntax error",
 * "WRONGTYPE ..."). A message that does not start with an upper-case code
 * word (two or more of A-Z, then a space) gets "ERR " in front. Each error
 * reply is counted in INFO errorstats by its first word, as Redis does.
 * Deferred lengths: addReplyDeferredLen() returns a handle for an aggregate
 * whose count is known only after its elements were added; exactly one
 * setDeferred*Len() must follow before the command returns.
 */
#ifndef LIGHTNING_REPLY_H
#define LIGHTNING_REPLY_H

#include <stddef.h>

#include "server/net/client.h"

void addReplyProto(client *c, const char *s, size_t len);
void addReplyStatus(client *c, const char *status);
void addReplyOK(client *c);
void addReplyError(client *c, const char *err);
void addReplyErrorLen(client *c, const char *err, size_t len);
void addReplyErrorFormat(client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void addReplyErrorArity(client *c);
void addReplyErrorSyntax(client *c);            /* ERR syntax error */
void addReplyErrorNotInteger(client *c);        /* value is not an integer ... */
void addReplyErrorWrongType(client *c);
void addReplyLongLong(client *c, long long v);
void addReplyBulk(client *c, const char *p, size_t len);
void addReplyBulkCString(client *c, const char *s);
void addReplyBulkLongLong(client *c, long long v);
void addReplyNull(client *c);                   /* $-1 / _ */
void addReplyNullArray(client *c);              /* *-1 / _ */
void addReplyArrayLen(client *c, long long n);
void addReplyMapLen(client *c, long long n);    /* RESP2: array of 2n */
void addReplySetLen(client *c, long long n);    /* RESP2: array */
void addReplyPushLen(client *c, long long n);   /* RESP2: array */
void addReplyDouble(client *c, double d);       /* RESP2: bulk string */
void addReplyBool(client *c, int b);            /* RESP2: integer */
void addReplyVerbatim(client *c, const char *s, size_t len, const char *ext);
void addReplyHelp(client *c, const char **lines); /* NULL-terminated */

void *addReplyDeferredLen(client *c);
void setDeferredArrayLen(client *c, void *node, long long n);
void setDeferredMapLen(client *c, void *node, long long n);
void setDeferredSetLen(client *c, void *node, long long n);

#endif
