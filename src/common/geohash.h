/*
 * geohash.h — Redis's geohash arithmetic: the 52-bit interleaved scores
 * GEOADD stores in a sorted set, their decoding to coordinates, the
 * 9-box cover of a search shape, and the haversine distances, all with
 * the exact floating-point steps of Redis 7.0 (geohash.c and
 * geohash_helper.c), so scores, coordinates and distances print the same.
 *
 * Score layout: latitude in [-85.05112878, 85.05112878] and longitude in
 * [-180, 180] each scaled to 26 bits (floor of offset * 2^26), then
 * interleaved, latitude bits at the even positions (bit 0 = the lowest
 * latitude bit), longitude bits at the odd ones; the 52-bit integer is
 * the sorted-set score. A cell of step s (< 26) covers the scores
 * [bits << (52 - 2s), (bits + 1) << (52 - 2s)).
 *
 * Pure functions, no allocation, thread-safe.
 */
#ifndef LT_COMMON_GEOHASH_H
#define LT_COMMON_GEOHASH_H

#include <stdint.h>

#define GEO_STEP_MAX 26
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN -180
#define GEO_LONG_MAX 180

typedef struct geohash_bits {
    uint64_t bits;
    uint8_t step;
} geohash_bits;

typedef struct geohash_range {
    double min, max;
} geohash_range;

typedef struct geohash_area {
    geohash_bits hash;
    geohash_range longitude, latitude;
} geohash_area;

/* A search shape: center xy (lon, lat), a radius or a width x height box
 * in the unit whose size in meters is conversion. bounds is filled by
 * geohash_cover(): min lon, min lat, max lon, max lat. */
enum { GEO_SHAPE_CIRCLE = 1, GEO_SHAPE_BOX = 2 };
typedef struct geo_shape {
    int type;
    double xy[2];
    double conversion;
    double radius;
    double width, height;
    double bounds[4];
} geo_shape;

/* The center cell and its 8 neighbours; a zeroed entry (bits and step 0)
 * is a neighbour excluded from the search. Order: Redis's scan order. */
enum { GEO_N_CENTER, GEO_N_NORTH, GEO_N_SOUTH, GEO_N_EAST, GEO_N_WEST,
       GEO_N_NORTH_EAST, GEO_N_NORTH_WEST, GEO_N_SOUTH_EAST, GEO_N_SOUTH_WEST, GEO_N_COUNT };

/* Encodes (lon, lat) at step in the given ranges. 0 if out of range. */
int geohash_encode(const geohash_range *lon_range, const geohash_range *lat_range, double lon,
                   double lat, uint8_t step, geohash_bits *hash);
/* Encodes in Redis's ranges (lat +-85.05112878). */
int geohash_encode_wgs84(double lon, double lat, uint8_t step, geohash_bits *hash);
/* The 52-bit score of a hash (shifted left to 52 bits). */
uint64_t geohash_align52(geohash_bits hash);
/* Decodes a score (step 26) to the center of its cell, clamped to the
 * ranges: xy[0] longitude, xy[1] latitude. 0 if the score is 0 with step 0
 * (never for scores: step is 26). */
int geohash_decode_score(double score, double xy[2]);
/* The cells (center + 8) covering shape; fills shape->bounds. */
void geohash_cover(geo_shape *shape, geohash_bits cells[GEO_N_COUNT]);
/* Haversine distance in meters on Redis's earth radius. */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* Whether (x2, y2) is inside the shape centered at shape->xy; *dist the
 * distance from the center in meters when it is. */
int geohash_in_shape(const geo_shape *shape, double x2, double y2, double *dist);
/* The 11-character standard geohash string of a score (buf[12], NUL
 * terminated): the position re-encoded in the standard +-90 latitude
 * range, the 11th character always '0' (52 bits give 10). 0 if the score
 * does not decode. */
int geohash_string(double score, char buf[12]);

#endif
