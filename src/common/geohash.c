/*
 * geohash: Redis's geohash arithmetic (contract in geohash.h). Every
 * formula keeps Redis's order of floating-point operations: coordinates
 * and distances are printed to 17 and 4 digits, so a different but
 * equivalent expression would show.
 */
#include "common/geohash.h"

#include <math.h>
#include <string.h>

#define GEO_DEG_TO_RAD (M_PI / 180.0)
#define GEO_EARTH_RADIUS_M 6372797.560856 /* Redis's quadratic mean radius */
#define GEO_MERCATOR_MAX 20037726.37

static double deg_rad(double ang) { return ang * GEO_DEG_TO_RAD; }
static double rad_deg(double ang) { return ang / GEO_DEG_TO_RAD; }

/* Bits of x at the even positions, bits of y at the odd ones. */
static uint64_t interleave64(uint32_t xlo, uint32_t ylo) {
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL};
    uint64_t x = xlo, y = ylo;
    for (int i = 4; i >= 0; i--) {
        unsigned s = 1u << i;
        x = (x | (x << s)) & B[i];
        y = (y | (y << s)) & B[i];
    }
    return x | (y << 1);
}

/* Inverse of interleave64: even bits in the low 32, odd in the high 32. */
static uint64_t deinterleave64(uint64_t v) {
    static const uint64_t B[] = {0x5555555555555555ULL, 0x3333333333333333ULL,
                                 0x0F0F0F0F0F0F0F0FULL, 0x00FF00FF00FF00FFULL,
                                 0x0000FFFF0000FFFFULL, 0x00000000FFFFFFFFULL};
    static const unsigned S[] = {0, 1, 2, 4, 8, 16};
    uint64_t x = v, y = v >> 1;
    for (int i = 0; i < 6; i++) {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    return x | (y << 32);
}

static void wgs84_ranges(geohash_range *lon, geohash_range *lat) {
    lon->min = GEO_LONG_MIN;
    lon->max = GEO_LONG_MAX;
    lat->min = GEO_LAT_MIN;
    lat->max = GEO_LAT_MAX;
}

int geohash_encode(const geohash_range *lon_range, const geohash_range *lat_range, double lon,
                   double lat, uint8_t step, geohash_bits *hash) {
    if (step > 32 || step == 0) return 0;
    if (lon > GEO_LONG_MAX || lon < GEO_LONG_MIN || lat > GEO_LAT_MAX || lat < GEO_LAT_MIN)
        return 0;
    hash->bits = 0;
    hash->step = step;
    if (lat < lat_range->min || lat > lat_range->max || lon < lon_range->min ||
        lon > lon_range->max)
        return 0;
    double lat_offset = (lat - lat_range->min) / (lat_range->max - lat_range->min);
    double lon_offset = (lon - lon_range->min) / (lon_range->max - lon_range->min);
    lat_offset *= (double)(1ULL << step);
    lon_offset *= (double)(1ULL << step);
    hash->bits = interleave64((uint32_t)lat_offset, (uint32_t)lon_offset);
    return 1;
}

int geohash_encode_wgs84(double lon, double lat, uint8_t step, geohash_bits *hash) {
    geohash_range r[2];
    wgs84_ranges(&r[0], &r[1]);
    return geohash_encode(&r[0], &r[1], lon, lat, step, hash);
}

uint64_t geohash_align52(geohash_bits hash) { return hash.bits << (52 - hash.step * 2); }

static int geohash_decode(geohash_range lon_range, geohash_range lat_range, geohash_bits hash,
                          geohash_area *area) {
    if (!hash.bits && !hash.step) return 0;
    area->hash = hash;
    uint8_t step = hash.step;
    uint64_t sep = deinterleave64(hash.bits);
    double lat_scale = lat_range.max - lat_range.min;
    double lon_scale = lon_range.max - lon_range.min;
    uint32_t ilato = (uint32_t)sep, ilono = (uint32_t)(sep >> 32);
    area->latitude.min = lat_range.min + (ilato * 1.0 / (double)(1ull << step)) * lat_scale;
    area->latitude.max = lat_range.min + ((ilato + 1) * 1.0 / (double)(1ull << step)) * lat_scale;
    area->longitude.min = lon_range.min + (ilono * 1.0 / (double)(1ull << step)) * lon_scale;
    area->longitude.max =
        lon_range.min + ((ilono + 1) * 1.0 / (double)(1ull << step)) * lon_scale;
    return 1;
}

static int geohash_decode_wgs84(geohash_bits hash, geohash_area *area) {
    geohash_range r[2];
    wgs84_ranges(&r[0], &r[1]);
    return geohash_decode(r[0], r[1], hash, area);
}

int geohash_decode_score(double score, double xy[2]) {
    geohash_bits hash = {.bits = (uint64_t)score, .step = GEO_STEP_MAX};
    geohash_area area;
    if (!geohash_decode_wgs84(hash, &area)) return 0;
    xy[0] = (area.longitude.min + area.longitude.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (area.latitude.min + area.latitude.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
    return 1;
}

static void move_x(geohash_bits *hash, int d) {
    if (d == 0) return;
    uint64_t x = hash->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t y = hash->bits & 0x5555555555555555ULL;
    uint64_t zz = 0x5555555555555555ULL >> (64 - hash->step * 2);
    if (d > 0) {
        x = x + (zz + 1);
    } else {
        x = x | zz;
        x = x - (zz + 1);
    }
    x &= (0xaaaaaaaaaaaaaaaaULL >> (64 - hash->step * 2));
    hash->bits = x | y;
}

static void move_y(geohash_bits *hash, int d) {
    if (d == 0) return;
    uint64_t x = hash->bits & 0xaaaaaaaaaaaaaaaaULL;
    uint64_t y = hash->bits & 0x5555555555555555ULL;
    uint64_t zz = 0xaaaaaaaaaaaaaaaaULL >> (64 - hash->step * 2);
    if (d > 0) {
        y = y + (zz + 1);
    } else {
        y = y | zz;
        y = y - (zz + 1);
    }
    y &= (0x5555555555555555ULL >> (64 - hash->step * 2));
    hash->bits = x | y;
}

static void geohash_neighbors(geohash_bits hash, geohash_bits n[GEO_N_COUNT]) {
    static const int dx[GEO_N_COUNT] = {0, 0, 0, 1, -1, 1, -1, 1, -1};
    static const int dy[GEO_N_COUNT] = {0, 1, -1, 0, 0, 1, 1, -1, -1};
    for (int i = 0; i < GEO_N_COUNT; i++) {
        n[i] = hash;
        move_x(&n[i], dx[i]);
        move_y(&n[i], dy[i]);
    }
}

/* The step whose cells are about the search radius. */
static uint8_t estimate_steps(double range_m, double lat) {
    if (range_m == 0) return 26;
    int step = 1;
    while (range_m < GEO_MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2; /* make sure the range is included in most base cases */
    if (lat > 66 || lat < -66) { /* wider cells towards the poles */
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > 26) step = 26;
    return (uint8_t)step;
}

static void bounding_box(geo_shape *shape) {
    double lon = shape->xy[0], lat = shape->xy[1];
    double height = shape->conversion *
                    (shape->type == GEO_SHAPE_CIRCLE ? shape->radius : shape->height / 2);
    double width = shape->conversion *
                   (shape->type == GEO_SHAPE_CIRCLE ? shape->radius : shape->width / 2);
    const double lat_delta = rad_deg(height / GEO_EARTH_RADIUS_M);
    const double lon_delta_top = rad_deg(width / GEO_EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
    const double lon_delta_bottom =
        rad_deg(width / GEO_EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
    int south = lat < 0;
    shape->bounds[0] = south ? lon - lon_delta_bottom : lon - lon_delta_top;
    shape->bounds[2] = south ? lon + lon_delta_bottom : lon + lon_delta_top;
    shape->bounds[1] = lat - lat_delta;
    shape->bounds[3] = lat + lat_delta;
}

void geohash_cover(geo_shape *shape, geohash_bits cells[GEO_N_COUNT]) {
    geohash_range lon_range, lat_range;
    geohash_bits hash;
    geohash_area area;
    bounding_box(shape);
    double min_lon = shape->bounds[0], min_lat = shape->bounds[1];
    double max_lon = shape->bounds[2], max_lat = shape->bounds[3];
    double lon = shape->xy[0], lat = shape->xy[1];
    double radius_m = shape->type == GEO_SHAPE_CIRCLE
                          ? shape->radius
                          : sqrt((shape->width / 2) * (shape->width / 2) +
                                 (shape->height / 2) * (shape->height / 2));
    radius_m *= shape->conversion;
    uint8_t steps = estimate_steps(radius_m, lat);
    wgs84_ranges(&lon_range, &lat_range);
    geohash_encode(&lon_range, &lat_range, lon, lat, steps, &hash);
    geohash_neighbors(hash, cells);
    geohash_decode(lon_range, lat_range, hash, &area);
    /* Near a cell's edge the estimated step may be too fine for the 8
     * neighbours to cover the shape: then one step coarser. */
    int decrease = 0;
    {
        geohash_area north, south, east, west;
        geohash_decode(lon_range, lat_range, cells[GEO_N_NORTH], &north);
        geohash_decode(lon_range, lat_range, cells[GEO_N_SOUTH], &south);
        geohash_decode(lon_range, lat_range, cells[GEO_N_EAST], &east);
        geohash_decode(lon_range, lat_range, cells[GEO_N_WEST], &west);
        if (north.latitude.max < max_lat) decrease = 1;
        if (south.latitude.min > min_lat) decrease = 1;
        if (east.longitude.max < max_lon) decrease = 1;
        if (west.longitude.min > min_lon) decrease = 1;
    }
    if (steps > 1 && decrease) {
        steps--;
        geohash_encode(&lon_range, &lat_range, lon, lat, steps, &hash);
        geohash_neighbors(hash, cells);
        geohash_decode(lon_range, lat_range, hash, &area);
    }
    /* Drop the neighbours the shape cannot reach. */
    if (steps >= 2) {
        static const geohash_bits zero = {0, 0};
        if (area.latitude.min < min_lat)
            cells[GEO_N_SOUTH] = cells[GEO_N_SOUTH_WEST] = cells[GEO_N_SOUTH_EAST] = zero;
        if (area.latitude.max > max_lat)
            cells[GEO_N_NORTH] = cells[GEO_N_NORTH_EAST] = cells[GEO_N_NORTH_WEST] = zero;
        if (area.longitude.min < min_lon)
            cells[GEO_N_WEST] = cells[GEO_N_SOUTH_WEST] = cells[GEO_N_NORTH_WEST] = zero;
        if (area.longitude.max > max_lon)
            cells[GEO_N_EAST] = cells[GEO_N_SOUTH_EAST] = cells[GEO_N_NORTH_EAST] = zero;
    }
    cells[GEO_N_CENTER] = hash;
}

double geohash_distance(double lon1d, double lat1d, double lon2d, double lat2d) {
    double lat1r = deg_rad(lat1d), lon1r = deg_rad(lon1d);
    double lat2r = deg_rad(lat2d), lon2r = deg_rad(lon2d);
    double u = sin((lat2r - lat1r) / 2);
    double v = sin((lon2r - lon1r) / 2);
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v));
}

int geohash_in_shape(const geo_shape *shape, double x2, double y2, double *dist) {
    double x1 = shape->xy[0], y1 = shape->xy[1];
    if (shape->type == GEO_SHAPE_CIRCLE) {
        *dist = geohash_distance(x1, y1, x2, y2);
        return *dist <= shape->radius * shape->conversion;
    }
    double width_m = shape->width * shape->conversion, height_m = shape->height * shape->conversion;
    double lon_distance = geohash_distance(x2, y2, x1, y2);
    double lat_distance = geohash_distance(x2, y2, x2, y1);
    if (lon_distance > width_m / 2 || lat_distance > height_m / 2) return 0;
    *dist = geohash_distance(x1, y1, x2, y2);
    return 1;
}

int geohash_string(double score, char buf[12]) {
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    double xy[2];
    if (!geohash_decode_score(score, xy)) return 0;
    geohash_range r[2] = {{-180, 180}, {-90, 90}};
    geohash_bits hash;
    geohash_encode(&r[0], &r[1], xy[0], xy[1], 26, &hash);
    for (int i = 0; i < 11; i++) {
        int idx = i == 10 ? 0 : (int)((hash.bits >> (52 - ((i + 1) * 5))) & 0x1f);
        buf[i] = alphabet[idx];
    }
    buf[11] = '\0';
    return 1;
}
