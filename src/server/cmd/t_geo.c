/*
 * t_geo: the geo commands — GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
 * GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms — over
 * sorted sets whose scores are Redis's 52-bit geohashes (common/geohash.h
 * owns the arithmetic). Replies, errors and their order are Redis
 * 7.0.15's (geo.c is the reference): the source key's type is checked
 * before the arguments, then options left to right.
 *
 * A search covers the shape with the center cell and its 8 neighbours
 * (geohash_cover), reads each cell's score range [min, max) from the
 * sorted set in order, keeps the points inside the shape, and sorts by
 * distance when asked (stable sort; COUNT without ANY implies ASC). The
 * unsorted order is Redis's: cells in scan order, scores ascending.
 *
 * Each handler is one engine transaction over its keys (GEORADIUS's STORE
 * key comes from georadiusGetKeys). STORE results replace the destination
 * (no TTL), or delete it when empty. GEOADD logs itself: its scores are
 * computed deterministically from its arguments.
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/cmd/t_string.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/geohash.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/zsetobj.h"
#include "server/engine_glue.h"
#include "server/net/reply.h"

/* ---- Argument helpers ----------------------------------------------------------- */

/* Redis's getDoubleFromObject: all of the argument a finite-or-inf double
 * (strtod), no leading space, no NaN, no out-of-range result. */
static int geoParseDouble(const resp_arg *a, double *d) {
    char sb[128];
    if (a->len == 0) return 0;
    char *s = a->len < sizeof(sb) ? sb : lt_xmalloc(a->len + 1), *eptr;
    memcpy(s, a->ptr, a->len);
    s[a->len] = '\0';
    errno = 0;
    double v = strtod(s, &eptr);
    int ok = !isspace((unsigned char)s[0]) && (size_t)(eptr - s) == a->len &&
             !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) &&
             !isnan(v);
    if (s != sb) free(s);
    if (ok) *d = v;
    return ok;
}

static int geoDoubleOrReply(client *c, const resp_arg *a, double *d, const char *msg) {
    if (geoParseDouble(a, d)) return 0;
    addReplyError(c, msg ? msg : "ERR value is not a valid float");
    return -1;
}

/* Redis's extractLongLatOrReply: argv[0] longitude, argv[1] latitude. */
static int extractLongLatOrReply(client *c, const resp_arg *argv, double xy[2]) {
    for (int i = 0; i < 2; i++)
        if (geoDoubleOrReply(c, &argv[i], &xy[i], NULL) < 0) return -1;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
        xy[1] > GEO_LAT_MAX) {
        addReplyErrorFormat(c, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return -1;
    }
    return 0;
}

/* Meters per unit, or -1 after an error reply. */
static double extractUnitOrReply(client *c, const resp_arg *unit) {
    if (arg_is(unit, "m")) return 1;
    if (arg_is(unit, "km")) return 1000;
    if (arg_is(unit, "ft")) return 0.3048;
    if (arg_is(unit, "mi")) return 1609.34;
    addReplyError(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* <radius> <unit> */
static int extractDistanceOrReply(client *c, const resp_arg *argv, double *conversion,
                                  double *radius) {
    double distance;
    if (geoDoubleOrReply(c, &argv[0], &distance, "ERR need numeric radius") < 0) return -1;
    if (distance < 0) {
        addReplyError(c, "ERR radius cannot be negative");
        return -1;
    }
    *radius = distance;
    double to_meters = extractUnitOrReply(c, &argv[1]);
    if (to_meters < 0) return -1;
    *conversion = to_meters;
    return 0;
}

/* <width> <height> <unit> */
static int extractBoxOrReply(client *c, const resp_arg *argv, double *conversion, double *width,
                             double *height) {
    double h, w;
    if (geoDoubleOrReply(c, &argv[0], &w, "ERR need numeric width") < 0 ||
        geoDoubleOrReply(c, &argv[1], &h, "ERR need numeric height") < 0)
        return -1;
    if (h < 0 || w < 0) {
        addReplyError(c, "ERR height or width cannot be negative");
        return -1;
    }
    *height = h;
    *width = w;
    double to_meters = extractUnitOrReply(c, &argv[2]);
    if (to_meters < 0) return -1;
    *conversion = to_meters;
    return 0;
}

/* ---- Replies ------------------------------------------------------------------ */

/* Distances: 4 decimals, a bulk string in both protocols (as Redis). */
static void addReplyDoubleDistance(client *c, double d) {
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%.4f", d);
    addReplyBulk(c, buf, (size_t)n);
}

/* Redis's addReplyHumanLongDouble: "%.17Lf" without trailing zeros; a bulk
 * string in RESP2, a double in RESP3. */
static void addReplyHumanLongDouble(client *c, long double d) {
    char buf[5 * 1024];
    size_t n = string_ld2str(buf, sizeof(buf), d);
    if (c->resp == 2) {
        addReplyBulk(c, buf, n);
    } else {
        addReplyProto(c, ",", 1);
        addReplyProto(c, buf, n);
        addReplyProto(c, "\r\n", 2);
    }
}

/* ---- Lookups -------------------------------------------------------------------- */

static int lookupGeoOrReply(client *c, ks_txn *txn, const resp_arg *key, zset **out) {
    ks_entry *e = ks_lookup(txn, (unsigned)c->db, key->ptr, key->len, 0);
    *out = NULL;
    if (!e) return 0;
    if (ks_entry_type(e) != KS_TYPE_ZSET) {
        addReplyErrorWrongType(c);
        return -1;
    }
    *out = ks_entry_obj(e);
    return 0;
}

static int longLatFromMember(const zset *z, const resp_arg *m, double xy[2]) {
    double score;
    if (!zset_score(z, m->ptr, m->len, &score)) return -1;
    return geohash_decode_score(score, xy) ? 0 : -1;
}

/* ---- GEOADD / GEOPOS / GEOHASH / GEODIST --------------------------------------------- */

/* GEOADD key [NX|XX] [CH] longitude latitude member [...] */
static void geoaddCommand(client *c) {
    int xx = 0, nx = 0, ch = 0, longidx = 2;
    while (longidx < c->argc) {
        const resp_arg *o = &c->argv[longidx];
        if (arg_is(o, "nx")) nx = 1;
        else if (arg_is(o, "xx")) xx = 1;
        else if (arg_is(o, "ch")) ch = 1;
        else break;
        longidx++;
    }
    int elements = (c->argc - longidx) / 3;
    if ((c->argc - longidx) % 3 || (xx && nx) || elements == 0) {
        addReplyErrorSyntax(c);
        return;
    }
    double *scores = lt_xmalloc(sizeof(double) * (size_t)elements);
    for (int i = 0; i < elements; i++) {
        double xy[2];
        if (extractLongLatOrReply(c, &c->argv[longidx + i * 3], xy) < 0) {
            free(scores);
            return;
        }
        geohash_bits hash;
        geohash_encode_wgs84(xy[0], xy[1], GEO_STEP_MAX, &hash);
        scores[i] = (double)geohash_align52(hash);
    }
    const resp_arg *key = &c->argv[1];
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    long long added = 0, updated = 0;
    if (lookupGeoOrReply(c, &txn, key, &z) < 0) goto done;
    if (!z) {
        if (xx) goto reply;
        ks_set_obj(&txn, (unsigned)c->db, key->ptr, key->len, KS_TYPE_ZSET, zset_create(),
                   KS_EXPIRE_NONE);
    }
    z = ks_obj_mutable(&txn, (unsigned)c->db, key->ptr, key->len);
    int in = (nx ? ZADD_IN_NX : 0) | (xx ? ZADD_IN_XX : 0);
    for (int i = 0; i < elements; i++) {
        const resp_arg *m = &c->argv[longidx + i * 3 + 2];
        int out;
        zset_add(z, scores[i], m->ptr, m->len, in, &out, NULL);
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
    }
    if (zset_len(z) == 0) ks_delete(&txn, (unsigned)c->db, key->ptr, key->len);
reply:
    addReplyLongLong(c, ch ? added + updated : added);
done:
    ks_txn_commit(&txn);
    free(scores);
}

/* GEOPOS key [member ...] */
static void geoposCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupGeoOrReply(c, &txn, &c->argv[1], &z) == 0) {
        addReplyArrayLen(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            double xy[2];
            if (!z || longLatFromMember(z, &c->argv[j], xy) < 0) {
                addReplyNullArray(c);
                continue;
            }
            addReplyArrayLen(c, 2);
            addReplyHumanLongDouble(c, xy[0]);
            addReplyHumanLongDouble(c, xy[1]);
        }
    }
    ks_txn_commit(&txn);
}

/* GEOHASH key [member ...] */
static void geohashCommand(client *c) {
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupGeoOrReply(c, &txn, &c->argv[1], &z) == 0) {
        addReplyArrayLen(c, c->argc - 2);
        for (int j = 2; j < c->argc; j++) {
            double score;
            char buf[12];
            const resp_arg *m = &c->argv[j];
            if (!z || !zset_score(z, m->ptr, m->len, &score) || !geohash_string(score, buf))
                addReplyNull(c);
            else
                addReplyBulk(c, buf, 11);
        }
    }
    ks_txn_commit(&txn);
}

/* GEODIST key member1 member2 [unit] */
static void geodistCommand(client *c) {
    double to_meter = 1;
    if (c->argc == 5) {
        to_meter = extractUnitOrReply(c, &c->argv[4]);
        if (to_meter < 0) return;
    } else if (c->argc > 5) {
        addReplyErrorSyntax(c);
        return;
    }
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupGeoOrReply(c, &txn, &c->argv[1], &z) == 0) {
        double a[2], b[2];
        if (!z || longLatFromMember(z, &c->argv[2], a) < 0 ||
            longLatFromMember(z, &c->argv[3], b) < 0)
            addReplyNull(c);
        else
            addReplyDoubleDistance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_meter);
    }
    ks_txn_commit(&txn);
}

/* ---- Searches ------------------------------------------------------------------ */

typedef struct geo_point {
    double lon, lat, dist, score;
    char *member; /* malloc'd */
    size_t mlen;
} geo_point;

typedef struct geo_points {
    geo_point *p;
    size_t used, cap;
} geo_points;

static void geoPointsFree(geo_points *ga) {
    for (size_t i = 0; i < ga->used; i++) free(ga->p[i].member);
    free(ga->p);
}

typedef struct score_bound {
    double min;
} score_bound;

static int scoreBelow(double score, const char *m, size_t len, void *ctx) {
    (void)m;
    (void)len;
    return score < ((score_bound *)ctx)->min;
}

/* Appends the points of z with min <= score < max inside shape; stops
 * once limit points are collected (0: no limit). */
static void geoPointsInRange(const zset *z, double min, double max, const geo_shape *shape,
                             geo_points *ga, size_t limit) {
    score_bound b = {min};
    uint64_t rank = zset_count_before(z, scoreBelow, &b);
    zset_iter it;
    if (!zset_iter_seek(&it, z, rank)) return;
    do {
        const char *m;
        size_t len;
        double score, xy[2], dist = 0;
        zset_iter_get(&it, &m, &len, &score);
        if (score >= max) break;
        if (!geohash_decode_score(score, xy) || !geohash_in_shape(shape, xy[0], xy[1], &dist))
            continue;
        if (ga->used == ga->cap) {
            ga->cap = ga->cap ? ga->cap * 2 : 8;
            ga->p = lt_xrealloc(ga->p, ga->cap * sizeof(*ga->p));
        }
        geo_point *gp = &ga->p[ga->used++];
        gp->lon = xy[0];
        gp->lat = xy[1];
        gp->dist = dist;
        gp->score = score;
        gp->mlen = len;
        gp->member = lt_xmalloc(len + 1);
        memcpy(gp->member, m, len);
        if (limit && ga->used >= limit) break;
    } while (zset_iter_next(&it));
}

/* The points of the 9 cells, skipping excluded cells and a cell equal to
 * the previous one searched (huge radii make neighbours coincide). */
static void geoPointsOfCells(const zset *z, const geohash_bits cells[GEO_N_COUNT],
                             const geo_shape *shape, geo_points *ga, size_t limit) {
    int last = 0;
    for (int i = 0; i < GEO_N_COUNT; i++) {
        if (!cells[i].bits && !cells[i].step) continue;
        if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step)
            continue;
        if (ga->used && limit && ga->used >= limit) break;
        geohash_bits hi = cells[i];
        uint64_t min = geohash_align52(hi);
        hi.bits++;
        uint64_t max = geohash_align52(hi);
        geoPointsInRange(z, (double)min, (double)max, shape, ga, limit);
        last = i;
    }
}

static int cmpDistAsc(const geo_point *a, const geo_point *b) {
    return a->dist > b->dist ? 1 : a->dist == b->dist ? 0 : -1;
}

/* Stable merge sort by distance (desc: reversed comparison). */
static void geoSort(geo_point *p, size_t n, int desc) {
    if (n < 2) return;
    geo_point *tmp = lt_xmalloc(n * sizeof(*p));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c = cmpDistAsc(&p[i], &p[j]);
                if (desc) c = -c;
                tmp[k++] = c <= 0 ? p[i++] : p[j++];
            }
            while (i < mid) tmp[k++] = p[i++];
            while (j < hi) tmp[k++] = p[j++];
        }
        memcpy(p, tmp, n * sizeof(*p));
    }
    free(tmp);
}

#define SORT_NONE 0
#define SORT_ASC 1
#define SORT_DESC 2

#define RADIUS_COORDS (1 << 0)  /* search around coordinates */
#define RADIUS_MEMBER (1 << 1)  /* search around a member */
#define RADIUS_NOSTORE (1 << 2) /* STORE/STOREDIST refused */
#define GEOSEARCH (1 << 3)      /* GEOSEARCH arguments */
#define GEOSEARCHSTORE (1 << 4) /* GEOSEARCHSTORE: STOREDIST as a flag */

/* Redis's georadiusGeneric. */
static void georadiusGeneric(client *c, int srckey, int flags) {
    const resp_arg *storekey = NULL;
    int storedist = 0;
    geo_points ga = {0};
    ks_txn txn;
    engine_begin_cmd(c, &txn);
    zset *z;
    if (lookupGeoOrReply(c, &txn, &c->argv[srckey], &z) < 0) goto done;

    int base_args;
    geo_shape shape;
    memset(&shape, 0, sizeof(shape));
    if (flags & RADIUS_COORDS) {
        base_args = 6;
        shape.type = GEO_SHAPE_CIRCLE;
        if (extractLongLatOrReply(c, &c->argv[2], shape.xy) < 0) goto done;
        if (extractDistanceOrReply(c, &c->argv[base_args - 2], &shape.conversion, &shape.radius) < 0)
            goto done;
    } else if ((flags & RADIUS_MEMBER) && !z) {
        base_args = 5; /* parse on, to know which reply an absent key gets */
    } else if (flags & RADIUS_MEMBER) {
        base_args = 5;
        shape.type = GEO_SHAPE_CIRCLE;
        if (longLatFromMember(z, &c->argv[2], shape.xy) < 0) {
            addReplyError(c, "ERR could not decode requested zset member");
            goto done;
        }
        if (extractDistanceOrReply(c, &c->argv[base_args - 2], &shape.conversion, &shape.radius) < 0)
            goto done;
    } else {
        base_args = 2;
        if (flags & GEOSEARCHSTORE) {
            base_args = 3;
            storekey = &c->argv[1];
        }
    }

    int withdist = 0, withhash = 0, withcoords = 0;
    int frommember = 0, fromloc = 0, byradius = 0, bybox = 0;
    int sort = SORT_NONE, any = 0;
    long long count = 0;
    int remaining = c->argc - base_args;
    for (int i = 0; i < remaining; i++) {
        const resp_arg *arg = &c->argv[base_args + i];
        const resp_arg *next = &c->argv[base_args + i + 1];
        if (arg_is(arg, "withdist")) {
            withdist = 1;
        } else if (arg_is(arg, "withhash")) {
            withhash = 1;
        } else if (arg_is(arg, "withcoord")) {
            withcoords = 1;
        } else if (arg_is(arg, "any")) {
            any = 1;
        } else if (arg_is(arg, "asc")) {
            sort = SORT_ASC;
        } else if (arg_is(arg, "desc")) {
            sort = SORT_DESC;
        } else if (arg_is(arg, "count") && i + 1 < remaining) {
            if (arg_ll_or_reply(c, next, &count, NULL) < 0) goto done;
            if (count <= 0) {
                addReplyError(c, "ERR COUNT must be > 0");
                goto done;
            }
            i++;
        } else if ((arg_is(arg, "store") || arg_is(arg, "storedist")) && i + 1 < remaining &&
                   !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
            storekey = next;
            storedist = arg_is(arg, "storedist");
            i++;
        } else if (arg_is(arg, "storedist") && (flags & GEOSEARCH) && (flags & GEOSEARCHSTORE)) {
            storedist = 1;
        } else if (arg_is(arg, "frommember") && i + 1 < remaining && (flags & GEOSEARCH) &&
                   !fromloc) {
            if (z && longLatFromMember(z, next, shape.xy) < 0) {
                addReplyError(c, "ERR could not decode requested zset member");
                goto done;
            }
            frommember = 1;
            i++;
        } else if (arg_is(arg, "fromlonlat") && i + 2 < remaining && (flags & GEOSEARCH) &&
                   !frommember) {
            if (extractLongLatOrReply(c, next, shape.xy) < 0) goto done;
            fromloc = 1;
            i += 2;
        } else if (arg_is(arg, "byradius") && i + 2 < remaining && (flags & GEOSEARCH) && !bybox) {
            if (extractDistanceOrReply(c, next, &shape.conversion, &shape.radius) < 0) goto done;
            shape.type = GEO_SHAPE_CIRCLE;
            byradius = 1;
            i += 2;
        } else if (arg_is(arg, "bybox") && i + 3 < remaining && (flags & GEOSEARCH) && !byradius) {
            if (extractBoxOrReply(c, next, &shape.conversion, &shape.width, &shape.height) < 0)
                goto done;
            shape.type = GEO_SHAPE_BOX;
            bybox = 1;
            i += 3;
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }

    if (storekey && (withdist || withhash || withcoords)) {
        addReplyErrorFormat(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                            flags & GEOSEARCHSTORE ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        goto done;
    }
    const resp_arg *name = &c->argv[0];
    if ((flags & GEOSEARCH) && !(frommember || fromloc)) {
        addReplyErrorFormat(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                            (int)name->len, name->ptr);
        goto done;
    }
    if ((flags & GEOSEARCH) && !(byradius || bybox)) {
        addReplyErrorFormat(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                            (int)name->len, name->ptr);
        goto done;
    }
    if (any && !count) {
        addReplyError(c, "ERR the ANY argument requires COUNT argument");
        goto done;
    }

    unsigned db = (unsigned)c->db;
    if (!z) {
        if (storekey) {
            ks_delete(&txn, db, storekey->ptr, storekey->len);
            addReplyLongLong(c, 0);
        } else {
            addReplyArrayLen(c, 0);
        }
        goto done;
    }
    /* COUNT returns the closest ones unless ANY: it implies ASC. */
    if (count != 0 && sort == SORT_NONE && !any) sort = SORT_ASC;

    geohash_bits cells[GEO_N_COUNT];
    geohash_cover(&shape, cells);
    geoPointsOfCells(z, cells, &shape, &ga, any ? (size_t)count : 0);

    if (ga.used == 0 && !storekey) {
        addReplyArrayLen(c, 0);
        goto done;
    }
    size_t returned = count == 0 || ga.used < (size_t)count ? ga.used : (size_t)count;
    if (sort != SORT_NONE) geoSort(ga.p, ga.used, sort == SORT_DESC);

    if (!storekey) {
        int option_length = withdist + withcoords + withhash;
        addReplyArrayLen(c, (long long)returned);
        for (size_t i = 0; i < returned; i++) {
            geo_point *gp = &ga.p[i];
            gp->dist /= shape.conversion;
            if (option_length) addReplyArrayLen(c, option_length + 1);
            addReplyBulk(c, gp->member, gp->mlen);
            if (withdist) addReplyDoubleDistance(c, gp->dist);
            if (withhash) addReplyLongLong(c, (long long)gp->score);
            if (withcoords) {
                addReplyArrayLen(c, 2);
                addReplyHumanLongDouble(c, gp->lon);
                addReplyHumanLongDouble(c, gp->lat);
            }
        }
    } else if (returned) {
        /* Built whole before it replaces the destination, which may be
         * the source. */
        zset *dst = zset_create_skiplist(returned);
        for (size_t i = 0; i < returned; i++) {
            geo_point *gp = &ga.p[i];
            gp->dist /= shape.conversion;
            int out;
            zset_add(dst, storedist ? gp->dist : gp->score, gp->member, gp->mlen, 0, &out, NULL);
        }
        zset_shrink_if_small(dst);
        ks_set_obj(&txn, db, storekey->ptr, storekey->len, KS_TYPE_ZSET, dst, KS_EXPIRE_NONE);
        addReplyLongLong(c, (long long)returned);
    } else {
        ks_delete(&txn, db, storekey->ptr, storekey->len);
        addReplyLongLong(c, 0);
    }
done:
    ks_txn_commit(&txn);
    geoPointsFree(&ga);
}

static void georadiusCommand(client *c) { georadiusGeneric(c, 1, RADIUS_COORDS); }
static void georadiusbymemberCommand(client *c) { georadiusGeneric(c, 1, RADIUS_MEMBER); }
static void georadiusroCommand(client *c) { georadiusGeneric(c, 1, RADIUS_COORDS | RADIUS_NOSTORE); }
static void georadiusbymemberroCommand(client *c) {
    georadiusGeneric(c, 1, RADIUS_MEMBER | RADIUS_NOSTORE);
}
static void geosearchCommand(client *c) { georadiusGeneric(c, 1, GEOSEARCH); }
static void geosearchstoreCommand(client *c) {
    georadiusGeneric(c, 2, GEOSEARCH | GEOSEARCHSTORE);
}

/* The source, the first STORE and the first STOREDIST key after the fixed
 * arguments (Redis 7.0's keyword key specs, what COMMAND GETKEYS shows),
 * and the key the command will really write (the last STORE/STOREDIST,
 * as georadiusGeneric parses) when it is none of those, so every key the
 * handler touches is locked. */
static int georadiusKeys(const resp_arg *argv, int argc, int *keys, int max, int from) {
    int store = -1, storedist = -1, last = -1, n = 0;
    for (int i = from; i + 1 < argc; i++) {
        int is_store = arg_is(&argv[i], "store"), is_dist = arg_is(&argv[i], "storedist");
        if (is_store && store < 0) store = i + 1;
        if (is_dist && storedist < 0) storedist = i + 1;
    }
    for (int i = from; i < argc; i++) {
        if ((arg_is(&argv[i], "store") || arg_is(&argv[i], "storedist")) && i + 1 < argc) {
            last = i + 1;
            i++;
        }
    }
    if (n < max) keys[n++] = 1;
    if (store > 0 && n < max) keys[n++] = store;
    if (storedist > 0 && n < max) keys[n++] = storedist;
    if (last > 0 && last != store && last != storedist && n < max) keys[n++] = last;
    return n;
}
static int georadiusGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    return georadiusKeys(argv, argc, keys, max, 6);
}
static int georadiusbymemberGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    return georadiusKeys(argv, argc, keys, max, 5);
}

#define GEO_KEY1 .key_first = 1, .key_last = 1, .key_step = 1
#define GEO_RADIUS_COMPLEXITY                                                                    \
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular "   \
    "area delimited by center and radius and M is the number of items inside the index."
#define GEO_SEARCH_COMPLEXITY                                                                    \
    "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area "     \
    "around the shape provided as the filter and M is the number of items inside the shape"

command geo_commands[] = {
    {.name = "geoadd", .proc = geoaddCommand, .arity = -5, .flags = CMD_WRITE | CMD_DENYOOM,
     .acl = ACL_WRITE | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RW update", .group = "geo",
     .since = "3.2.0",
     .complexity = "O(log(N)) for each item added, where N is the number of elements in the "
                   "sorted set.",
     .summary = "Adds members with their coordinates to a geospatial index (a sorted set)."},
    {.name = "geodist", .proc = geodistCommand, .arity = -4, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RO access", .group = "geo",
     .since = "3.2.0", .complexity = "O(log(N))",
     .summary = "Returns the distance between two members of a geospatial index."},
    {.name = "geohash", .proc = geohashCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RO access", .group = "geo",
     .since = "3.2.0",
     .complexity = "O(log(N)) for each member requested, where N is the number of elements in "
                   "the sorted set.",
     .summary = "Returns members' positions as standard geohash strings."},
    {.name = "geopos", .proc = geoposCommand, .arity = -2, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RO access", .group = "geo",
     .since = "3.2.0", .complexity = "O(N) where N is the number of members requested.",
     .summary = "Returns members' longitude and latitude."},
    {.name = "georadius", .proc = georadiusCommand, .arity = -6,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, .acl = ACL_WRITE | ACL_GEO | ACL_SLOW,
     GEO_KEY1, .getkeys = georadiusGetKeys, .key_flags = "RO access|OW update|OW update",
     .group = "geo", .since = "3.2.0", .complexity = GEO_RADIUS_COMPLEXITY,
     .summary = "Queries members within a radius of a point, optionally storing the result."},
    {.name = "georadiusbymember", .proc = georadiusbymemberCommand, .arity = -5,
     .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS, .acl = ACL_WRITE | ACL_GEO | ACL_SLOW,
     GEO_KEY1, .getkeys = georadiusbymemberGetKeys, .key_flags = "RO access|OW update|OW update",
     .group = "geo", .since = "3.2.0", .complexity = GEO_RADIUS_COMPLEXITY,
     .summary = "Queries members within a radius of a member, optionally storing the result."},
    {.name = "georadius_ro", .proc = georadiusroCommand, .arity = -6, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RO access", .group = "geo",
     .since = "3.2.10", .complexity = GEO_RADIUS_COMPLEXITY,
     .summary = "Queries members within a radius of a point."},
    {.name = "georadiusbymember_ro", .proc = georadiusbymemberroCommand, .arity = -5,
     .flags = CMD_READONLY, .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1,
     .key_flags = "RO access", .group = "geo", .since = "3.2.10",
     .complexity = GEO_RADIUS_COMPLEXITY,
     .summary = "Queries members within a radius of a member."},
    {.name = "geosearch", .proc = geosearchCommand, .arity = -7, .flags = CMD_READONLY,
     .acl = ACL_READ | ACL_GEO | ACL_SLOW, GEO_KEY1, .key_flags = "RO access", .group = "geo",
     .since = "6.2.0", .complexity = GEO_SEARCH_COMPLEXITY,
     .summary = "Queries members inside a circle or box around a point or member."},
    {.name = "geosearchstore", .proc = geosearchstoreCommand, .arity = -8,
     .flags = CMD_WRITE | CMD_DENYOOM, .acl = ACL_WRITE | ACL_GEO | ACL_SLOW, .key_first = 1,
     .key_last = 2, .key_step = 1, .key_flags = "OW update|RO access", .group = "geo",
     .since = "6.2.0", .complexity = GEO_SEARCH_COMPLEXITY,
     .summary = "Stores the members inside a circle or box around a point or member."},
    {0},
};
