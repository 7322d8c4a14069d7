/*
 * t_string: what other command families share with the string commands.
 */
#ifndef LIGHTNING_T_STRING_H
#define LIGHTNING_T_STRING_H

#include "engine/keyspace.h"
#include "server/net/client.h"

/* Looks key up in c's database: *out is its entry or NULL when absent.
 * Replies WRONGTYPE and returns -1 when it holds another type. The entry
 * lives as long as keyspace.h says (until the txn's next write there). */
int lookupStringOrReply(client *c, ks_txn *txn, const resp_arg *key, ks_entry **out);

/* Redis's ld2string(LD_STR_HUMAN) for INCRBYFLOAT: "%.17Lf" with trailing
 * zeros (and then the point) removed; "inf"/"-inf". At most len bytes with
 * the NUL; returns the length, or 0 (buf "") if it does not fit. */
size_t string_ld2str(char *buf, size_t len, long double value);
/* Redis's string2ld: all of s[0..slen) must be a finite long double. */
int string_str2ld(const char *s, size_t slen, long double *dp);

#endif
