/*
 * Geo commands (t_geo.c, common/geohash.c), differential against a real
 * redis-server 7.0: scores (ZSCORE), positions, geohash strings,
 * distances and search results compared byte for byte, every error text
 * and its precedence, RESP3 coordinates as doubles, STORE/STOREDIST, and
 * a randomized run of points and searches (TEST_SEED=N for another).
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BADPAIR(lon, lat) "err:\"ERR invalid longitude,latitude pair " lon "," lat "\""
#define BADUNIT "err:\"ERR unsupported unit provided. please use M, KM, FT, MI\""

static void add_sicily(void) {
    EXPECT("int:2", "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269",
           "37.502669", "Catania");
}

TEST(geoadd) {
    REQUIRE(difftest_start(NULL));
    add_sicily();
    EXPECT("bulk:\"3479099956230698\"", "ZSCORE", "Sicily", "Palermo");
    EXPECT("int:0", "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo");
    EXPECT("int:1", "GEOADD", "Sicily", "CH", "13.5", "38.1", "Palermo");
    EXPECT("int:0", "GEOADD", "Sicily", "NX", "1", "1", "Palermo");
    EXPECT("int:1", "GEOADD", "Sicily", "NX", "1", "1", "Agrigento");
    EXPECT("int:0", "GEOADD", "Sicily", "XX", "1", "1", "Enna");
    EXPECT("int:1", "GEOADD", "Sicily", "XX", "CH", "1", "1", "Palermo");
    EXPECT("int:0", "GEOADD", "Sicily", "XX", "CH", "1", "1", "Palermo");
    EXPECT("int:1", "GEOADD", "Sicily", "XX", "CH", "1", "2", "Palermo");
    EXPECT("int:0", "GEOADD", "new", "XX", "1", "1", "a");
    EXPECT("int:0", "EXISTS", "new");
    C("ZRANGE", "Sicily", "0", "-1", "WITHSCORES");
    EXPECT(SYNTAX, "GEOADD", "Sicily", "NX", "XX", "1", "1", "a");
    EXPECT(SYNTAX, "GEOADD", "Sicily", "1", "1", "a", "2");
    EXPECT(SYNTAX, "GEOADD", "Sicily", "CH", "NX", "CH");
    EXPECT(SYNTAX, "GEOADD", "Sicily", "GT", "1", "1", "a");
    EXPECT("err:\"ERR value is not a valid float\"", "GEOADD", "Sicily", "x", "1", "a");
    EXPECT("err:\"ERR value is not a valid float\"", "GEOADD", "Sicily", "1", "nan", "a");
    EXPECT(BADPAIR("200.000000", "10.000000"), "GEOADD", "Sicily", "200", "10", "a");
    EXPECT(BADPAIR("10.000000", "85.051129"), "GEOADD", "Sicily", "10", "85.05112879", "a");
    EXPECT(BADPAIR("-180.000001", "0.000000"), "GEOADD", "Sicily", "-180.000001", "0", "a");
    EXPECT("int:4", "GEOADD", "edge", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw",
           "0", "0", "zero", "-0.0000001", "-0.0000001", "tiny");
    C("ZRANGE", "edge", "0", "-1", "WITHSCORES");
    C("GEOPOS", "edge", "ne", "sw", "zero", "tiny");
    C("GEOHASH", "edge", "ne", "sw", "zero", "tiny");
    EXPECT("err:\"ERR wrong number of arguments for 'geoadd' command\"", "GEOADD", "k", "1", "2");
    if (difftest_make_wrongtype()) {
        EXPECT(WRONGTYPE, "GEOADD", "wt", "1", "1", "a");
        EXPECT(BADPAIR("500.000000", "1.000000"), "GEOADD", "wt", "500", "1", "a");
        EXPECT(WRONGTYPE, "GEOPOS", "wt", "a");
        EXPECT(WRONGTYPE, "GEOHASH", "wt", "a");
        EXPECT(WRONGTYPE, "GEODIST", "wt", "a", "b");
        EXPECT(WRONGTYPE, "GEOSEARCH", "wt", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m");
        EXPECT(WRONGTYPE, "GEORADIUS", "wt", "1", "1", "1", "xx");
        EXPECT(WRONGTYPE, "GEORADIUSBYMEMBER", "wt", "a", "1", "m");
        EXPECT(WRONGTYPE, "GEOSEARCHSTORE", "d", "wt", "FROMLONLAT", "1", "1", "BYRADIUS", "1",
               "m");
    }
}

TEST(pos_hash_dist) {
    REQUIRE(difftest_start(NULL));
    add_sicily();
    EXPECT("array[array[bulk:\"13.36138933897018433\",bulk:\"38.11555639549629859\"],"
           "array[bulk:\"15.08726745843887329\",bulk:\"37.50266842333162032\"],nil]",
           "GEOPOS", "Sicily", "Palermo", "Catania", "nope");
    EXPECT("array[]", "GEOPOS", "Sicily");
    EXPECT("array[nil]", "GEOPOS", "nokey", "a");
    EXPECT("array[bulk:\"sqc8b49rny0\",bulk:\"sqdtr74hyu0\",nil]", "GEOHASH", "Sicily",
           "Palermo", "Catania", "nope");
    EXPECT("array[nil]", "GEOHASH", "nokey", "a");
    EXPECT("bulk:\"166274.1516\"", "GEODIST", "Sicily", "Palermo", "Catania");
    EXPECT("bulk:\"166.2742\"", "GEODIST", "Sicily", "Palermo", "Catania", "km");
    EXPECT("bulk:\"166.2742\"", "GEODIST", "Sicily", "Palermo", "Catania", "KM");
    C("GEODIST", "Sicily", "Palermo", "Catania", "mi");
    C("GEODIST", "Sicily", "Palermo", "Catania", "ft");
    EXPECT("bulk:\"0.0000\"", "GEODIST", "Sicily", "Palermo", "Palermo");
    EXPECT("nil", "GEODIST", "Sicily", "Palermo", "nope");
    EXPECT("nil", "GEODIST", "nokey", "a", "b");
    EXPECT(BADUNIT, "GEODIST", "Sicily", "Palermo", "Catania", "yd");
    EXPECT(BADUNIT, "GEODIST", "nokey", "a", "b", "yd");
    EXPECT(SYNTAX, "GEODIST", "Sicily", "Palermo", "Catania", "km", "x");
}

TEST(search_options) {
    REQUIRE(difftest_start(NULL));
    add_sicily();
    EXPECT("int:3", "GEOADD", "Sicily", "12.758489", "38.788135", "edge1", "17.241510",
           "38.788135", "edge2", "13.583333", "37.316667", "Agrigento");
    /* GEORADIUS family */
    C("GEORADIUS", "Sicily", "15", "37", "200", "km");
    C("GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH");
    C("GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "WITHDIST");
    C("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1");
    C("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "2", "DESC");
    C("GEORADIUS", "Sicily", "15", "37", "400", "km", "COUNT", "1", "ANY");
    C("GEORADIUS", "Sicily", "15", "37", "200", "mi", "ASC");
    C("GEORADIUS", "Sicily", "15", "37", "0", "m");
    C("GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST");
    C("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "ASC");
    C("GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100", "km");
    EXPECT("int:3", "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst");
    C("ZRANGE", "dst", "0", "-1", "WITHSCORES");
    EXPECT("int:3", "GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst");
    C("ZRANGE", "dst", "0", "-1", "WITHSCORES");
    EXPECT("int:1", "GEORADIUSBYMEMBER", "Sicily", "Palermo", "10", "km", "STORE", "dst",
           "STOREDIST", "dst2");
    C("ZRANGE", "dst2", "0", "-1", "WITHSCORES");
    EXPECT("int:0", "GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst");
    EXPECT("int:0", "EXISTS", "dst");
    EXPECT("int:0", "GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "dst2");
    EXPECT("int:0", "EXISTS", "dst2");
    EXPECT("array[]", "GEORADIUS", "nokey", "0", "0", "1", "km");
    EXPECT("array[]", "GEORADIUSBYMEMBER", "nokey", "a", "1", "km");
    EXPECT("int:0", "GEORADIUSBYMEMBER", "nokey", "a", "1", "km", "STORE", "x");
    EXPECT("array[]", "GEORADIUS", "Sicily", "0", "0", "1", "km");
    /* GEOSEARCH family */
    C("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC",
      "WITHCOORD", "WITHDIST", "WITHHASH");
    C("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC",
      "WITHCOORD", "WITHDIST");
    C("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "200", "200", "km", "DESC");
    C("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "2000", "km", "COUNT", "3");
    C("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1000", "1000", "km", "COUNT",
      "2", "ANY");
    EXPECT("int:3", "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400",
           "400", "km", "ASC", "COUNT", "3");
    C("ZRANGE", "dst", "0", "-1", "WITHSCORES");
    EXPECT("int:3", "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400",
           "400", "km", "ASC", "COUNT", "3", "STOREDIST");
    C("ZRANGE", "dst", "0", "-1", "WITHSCORES");
    EXPECT("int:5", "GEOSEARCHSTORE", "Sicily", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS",
           "5000", "km");
    C("ZRANGE", "Sicily", "0", "-1", "WITHSCORES");
    EXPECT("int:0", "GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "1",
           "km");
    EXPECT("int:0", "EXISTS", "dst");
    /* errors, in Redis's order */
    const char *nofrom =
        "err:\"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch\"";
    const char *noby =
        "err:\"ERR exactly one of BYRADIUS and BYBOX can be specified for GeoSearch\"";
    EXPECT(nofrom, "geosearch", "Sicily", "BYRADIUS", "1", "km", "ASC", "WITHDIST");
    EXPECT(noby, "GeoSearch", "Sicily", "FROMLONLAT", "1", "1", "ASC", "COUNT", "1");
    EXPECT(SYNTAX, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo",
           "BYRADIUS", "1", "km");
    EXPECT(SYNTAX, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "BYBOX",
           "1", "1", "km");
    EXPECT(SYNTAX, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE",
           "x");
    EXPECT(SYNTAX, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km",
           "STOREDIST");
    EXPECT(SYNTAX, "GEORADIUS_RO", "Sicily", "1", "1", "1", "km", "STORE", "x");
    EXPECT(SYNTAX, "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT");
    EXPECT("err:\"ERR could not decode requested zset member\"", "GEOSEARCH", "Sicily",
           "FROMMEMBER", "nope", "BYRADIUS", "1", "km");
    EXPECT("err:\"ERR could not decode requested zset member\"", "GEORADIUSBYMEMBER", "Sicily",
           "nope", "1", "km");
    EXPECT("array[]", "GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "1", "km");
    EXPECT(BADPAIR("1.000000", "100.000000"), "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "100",
           "BYRADIUS", "1", "km");
    EXPECT("err:\"ERR need numeric radius\"", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1",
           "BYRADIUS", "x", "km");
    EXPECT("err:\"ERR radius cannot be negative\"", "GEORADIUS", "Sicily", "1", "1", "-1", "km");
    EXPECT(BADUNIT, "GEORADIUS", "Sicily", "1", "1", "1", "parsec");
    EXPECT("err:\"ERR need numeric width\"", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1",
           "BYBOX", "x", "1", "km");
    EXPECT("err:\"ERR need numeric height\"", "GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1",
           "BYBOX", "1", "x", "km");
    EXPECT("err:\"ERR height or width cannot be negative\"", "GEOSEARCH", "Sicily", "FROMLONLAT",
           "1", "1", "BYBOX", "1", "-1", "km");
    EXPECT("err:\"ERR COUNT must be > 0\"", "GEORADIUS", "Sicily", "1", "1", "1", "km", "COUNT",
           "0");
    EXPECT(NOTINT, "GEORADIUS", "Sicily", "1", "1", "1", "km", "COUNT", "x");
    EXPECT("err:\"ERR the ANY argument requires COUNT argument\"", "GEORADIUS", "Sicily", "1",
           "1", "1", "km", "ANY");
    EXPECT("err:\"ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and "
           "WITHCOORD options\"",
           "GEORADIUS", "Sicily", "1", "1", "1", "km", "STORE", "x", "WITHDIST");
    EXPECT("err:\"ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD "
           "options\"",
           "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km",
           "WITHCOORD");
    EXPECT(SYNTAX, "GEOSEARCH", "k", "FROMLONLAT", "1", "1", "BYRADIUS", "1");
    EXPECT("err:\"ERR wrong number of arguments for 'geosearch' command\"", "GEOSEARCH", "k",
           "FROMLONLAT", "1", "1", "BYRADIUS");
    C("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km", "STORE", "a", "STOREDIST", "b");
    C("COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "1", "km", "STOREDIST", "b");
    C("COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km");
    C("COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "1", "1", "BYRADIUS", "1",
      "km");
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo",
                             "15.087269", "37.502669", "Catania"),
                 "int:2");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "GEOPOS", "Sicily", "Palermo", "x"),
                 "array[array[double:13.36138933897018433,double:38.11555639549629859],null]");
    RAW_COMPARE(fl, fr, "GEODIST", "Sicily", "Palermo", "Catania");
    RAW_COMPARE(fl, fr, "GEODIST", "Sicily", "Palermo", "x");
    RAW_COMPARE(fl, fr, "GEOHASH", "Sicily", "Palermo", "x");
    RAW_COMPARE(fl, fr, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
                "WITHCOORD", "WITHDIST", "WITHHASH", "ASC");
    RAW_COMPARE(fl, fr, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD");
}

/* Random points (spread and clustered, near the poles and the date line
 * too) and random searches; every reply and the stored results compared. */
TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20261208);
    char lon[32], lat[32], name[32], a1[32], a2[32], a3[32];
    for (int i = 0; i < 400; i++) {
        double x, y;
        switch (rand() % 4) {
        case 0: /* anywhere */
            x = (rand() / (double)RAND_MAX) * 360 - 180;
            y = (rand() / (double)RAND_MAX) * 170 - 85;
            break;
        case 1: /* a city-sized cluster */
            x = 2.35 + (rand() / (double)RAND_MAX - 0.5) * 0.2;
            y = 48.85 + (rand() / (double)RAND_MAX - 0.5) * 0.2;
            break;
        case 2: /* near the date line */
            x = 179.5 + (rand() / (double)RAND_MAX) * 0.5;
            y = (rand() / (double)RAND_MAX) * 10;
            break;
        default: /* high latitudes */
            x = (rand() / (double)RAND_MAX) * 40;
            y = 70 + (rand() / (double)RAND_MAX) * 15;
        }
        snprintf(lon, sizeof(lon), "%.6f", x);
        snprintf(lat, sizeof(lat), "%.6f", y);
        snprintf(name, sizeof(name), "p%d", i);
        C("GEOADD", "pts", lon, lat, name);
    }
    const char *units[] = {"m", "km", "mi", "ft"};
    const char *radii[] = {"0", "1", "50", "500", "5000", "20000", "0.5", "100000"};
    const char *sorts[] = {"ASC", "DESC", "WITHHASH"};
    const char *centers[][2] = {{"2.35", "48.85"}, {"179.9", "5"}, {"-179.9", "5"},
                                {"20", "80"}, {"0", "0"}, {"2.4", "48.9"}};
    for (int i = 0; i < 400; i++) {
        const char **cen = centers[rand() % (int)NELEM(centers)];
        snprintf(name, sizeof(name), "p%d", rand() % 400);
        snprintf(a1, sizeof(a1), "%d", 1 + rand() % 20);
        const char *u = PICK(units), *r = PICK(radii), *s = PICK(sorts);
        snprintf(a2, sizeof(a2), "%d", rand() % 3000);
        snprintf(a3, sizeof(a3), "%d", rand() % 3000);
        switch (rand() % 7) {
        case 0: C("GEOSEARCH", "pts", "FROMLONLAT", cen[0], cen[1], "BYRADIUS", r, u, s, "WITHDIST"); break;
        case 1: C("GEOSEARCH", "pts", "FROMMEMBER", name, "BYBOX", a2, a3, "km", "WITHCOORD", s); break;
        case 2: C("GEOSEARCH", "pts", "FROMLONLAT", cen[0], cen[1], "BYBOX", a2, a3, "km", "COUNT", a1, s); break;
        case 3: C("GEORADIUSBYMEMBER", "pts", name, r, u, "WITHDIST", "COUNT", a1, s); break;
        case 4:
            C("GEOSEARCHSTORE", "out", "pts", "FROMMEMBER", name, "BYRADIUS", r, u, "STOREDIST");
            C("ZRANGE", "out", "0", "-1", "WITHSCORES");
            break;
        case 5: C("GEORADIUS", "pts", cen[0], cen[1], r, u, "WITHHASH", "WITHDIST", "WITHCOORD"); break;
        default: C("GEODIST", "pts", name, "p1", u); C("GEOPOS", "pts", name); C("GEOHASH", "pts", name);
        }
        if (difftest_failed_at(i, seed, NULL, NULL, 0)) return;
    }
}

int main(void) {
    RUN(geoadd);
    RUN(pos_hash_dist);
    RUN(search_options);
    RUN(resp3);
    RUN(random_differential);
    return testlib_finish();
}
