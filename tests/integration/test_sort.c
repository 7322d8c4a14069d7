/*
 * SORT and SORT_RO (t_sort.c), differential against a real redis-server
 * 7.0: numeric and ALPHA order, BY key and hash-field patterns, BY
 * without '*' (no sorting), LIMIT edge cases, GET (# and patterns), STORE
 * (and the WAL replay of a stored result), every error text and its
 * precedence, RESP3, key extraction, and a randomized run (TEST_SEED=N).
 */
#include "../difftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BADSCORE "err:\"ERR One or more scores can't be converted into double\""

static void load(void) {
    C("RPUSH", "l", "3", "1", "10", "2", "-5", "1.5");
    C("SADD", "s", "3", "1", "10", "2");
    C("ZADD", "z", "1", "c", "2", "a", "3", "b");
    C("RPUSH", "w", "b", "a", "c", "B", "aa");
    C("MSET", "w_a", "3", "w_b", "1", "w_c", "2", "w_aa", "2", "w_B", "x");
    C("HSET", "h_a", "f", "30", "n", "Ann");
    C("HSET", "h_b", "f", "10", "n", "Bob");
    C("HSET", "h_c", "f", "20");
}

TEST(numeric_and_alpha) {
    REQUIRE(difftest_start(NULL));
    load();
    EXPECT("array[bulk:\"-5\",bulk:\"1\",bulk:\"1.5\",bulk:\"2\",bulk:\"3\",bulk:\"10\"]",
           "SORT", "l");
    C("SORT", "l", "DESC");
    C("SORT", "l", "ALPHA");
    C("SORT", "l", "ALPHA", "DESC");
    C("SORT", "s");
    C("SORT", "s", "DESC", "ALPHA");
    C("SORT", "z", "ALPHA");
    C("SORT", "z", "BY", "nosort");
    C("SORT", "z", "BY", "nosort", "DESC");
    C("SORT", "z", "BY", "nosort", "LIMIT", "1", "5");
    C("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1");
    C("SORT", "l", "BY", "nosort");
    C("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "2");
    EXPECT(BADSCORE, "SORT", "w");
    C("SORT", "w", "ALPHA");
    C("SORT_RO", "w", "ALPHA", "DESC");
    EXPECT("array[]", "SORT", "nokey");
    EXPECT("array[]", "SORT", "nokey", "BY", "x_*", "GET", "#");
    C("RPUSH", "ws", "1", "", " 2", "3 ", "inf", "-inf");
    C("SORT", "ws", "LIMIT", "0", "2");
    C("RPUSH", "nan", "nan");
    EXPECT(BADSCORE, "SORT", "nan");
    C("RPUSH", "ties", "b", "a", "c");
    C("SORT", "ties", "BY", "missing_*");
    C("SORT", "ties", "BY", "missing_*", "DESC");
}

TEST(by_get_limit) {
    REQUIRE(difftest_start(NULL));
    load();
    C("SORT", "w", "BY", "w_*", "ALPHA");
    EXPECT(BADSCORE, "SORT", "w", "BY", "w_*");
    C("DEL", "w_B");
    C("SORT", "w", "BY", "w_*");
    C("SORT", "w", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*", "GET", "nope_*");
    C("SORT", "w", "BY", "h_*->f", "GET", "h_*->n", "GET", "#");
    C("SORT", "w", "BY", "h_*->f", "DESC", "LIMIT", "1", "2", "GET", "h_*->n");
    C("SORT", "w", "BY", "h_*->", "ALPHA");
    C("SORT", "w", "GET", "h_*->nope", "ALPHA");
    C("SORT", "w", "GET", "fixed", "ALPHA");
    C("SORT", "w", "GET", "w_*->f", "ALPHA");
    C("SORT", "z", "BY", "w_*", "GET", "#");
    C("SORT", "s", "BY", "nosort", "GET", "#", "STORE", "dst");
    C("LRANGE", "dst", "0", "-1");
    const char *limits[][2] = {{"0", "0"}, {"0", "-1"}, {"-5", "2"}, {"2", "100"}, {"5", "1"},
                               {"6", "1"}, {"100", "5"}, {"1", "-3"},
                               /* start + count would overflow unless clamped */
                               {"2", "9223372036854775807"}, {"-5", "9223372036854775807"},
                               {"9223372036854775807", "9223372036854775807"}};
    for (size_t i = 0; i < NELEM(limits); i++) {
        C("SORT", "l", "LIMIT", limits[i][0], limits[i][1]);
        C("SORT", "l", "BY", "nosort", "LIMIT", limits[i][0], limits[i][1]);
        C("SORT", "l", "BY", "nosort", "DESC", "LIMIT", limits[i][0], limits[i][1]);
        C("SORT", "z", "BY", "nosort", "DESC", "LIMIT", limits[i][0], limits[i][1]);
        C("SORT", "w", "BY", "w_*", "LIMIT", limits[i][0], limits[i][1], "GET", "#", "GET", "w_*");
    }
}

TEST(store) {
    REQUIRE(difftest_start(NULL));
    load();
    EXPECT("int:6", "SORT", "l", "STORE", "dst");
    EXPECT("array[bulk:\"-5\",bulk:\"1\",bulk:\"1.5\",bulk:\"2\",bulk:\"3\",bulk:\"10\"]",
           "LRANGE", "dst", "0", "-1");
    EXPECT("int:1", "EXPIRE", "dst", "100");
    EXPECT("int:4", "SORT", "s", "DESC", "STORE", "dst");
    EXPECT("int:-1", "TTL", "dst");
    C("LRANGE", "dst", "0", "-1");
    C("SORT", "w", "BY", "h_*->f", "GET", "h_*->n", "GET", "#", "STORE", "dst");
    C("LRANGE", "dst", "0", "-1");
    EXPECT("int:0", "SORT", "nokey", "STORE", "dst");
    EXPECT("int:0", "EXISTS", "dst");
    C("SET", "str", "x");
    EXPECT("int:3", "SORT", "z", "ALPHA", "STORE", "str");
    C("TYPE", "str");
    EXPECT("int:3", "SORT", "z", "ALPHA", "STORE", "a", "STORE", "b");
    EXPECT("int:0", "EXISTS", "a");
    C("LRANGE", "b", "0", "-1");
    EXPECT("int:0", "SORT", "l", "LIMIT", "0", "0", "STORE", "b");
    EXPECT("int:0", "EXISTS", "b");
    EXPECT("int:6", "SORT", "l", "STORE", "l");
    C("LRANGE", "l", "0", "-1");
    /* A set sorted "by nothing" is stored in ALPHA order. */
    C("SADD", "big", "b", "c", "a", "10", "9");
    C("SORT", "big", "BY", "nosort", "STORE", "dst");
    EXPECT("array[bulk:\"10\",bulk:\"9\",bulk:\"a\",bulk:\"b\",bulk:\"c\"]", "LRANGE", "dst", "0",
           "-1");
    EXPECT(BADSCORE, "SORT", "w", "STORE", "dst");
    C("LRANGE", "dst", "0", "-1");
}

/* SORT whose BY/GET patterns read other keys locks its whole database: a
 * transaction queueing it must lock that database too (it aborted the
 * server when EXEC's lock set came from the keys alone). */
TEST(patterns_inside_multi) {
    REQUIRE(difftest_start(NULL));
    load();
    C("MULTI");
    C("SORT", "w", "BY", "w_*", "ALPHA");
    C("SORT", "l", "BY", "nosort", "GET", "#", "GET", "w_*");
    C("SORT", "w", "BY", "h_*->f", "GET", "h_*->n", "STORE", "dst");
    C("SORT_RO", "s", "GET", "h_*->f");
    C("SORT", "z", "ALPHA", "STORE", "dst2");
    C("EXEC");
    C("LRANGE", "dst", "0", "-1");
    C("LRANGE", "dst2", "0", "-1");
}

TEST(errors) {
    REQUIRE(difftest_start(NULL));
    load();
    EXPECT(SYNTAX, "SORT", "l", "FOO");
    EXPECT(SYNTAX, "SORT", "l", "LIMIT", "1");
    EXPECT(SYNTAX, "SORT", "l", "BY");
    EXPECT(SYNTAX, "SORT", "l", "GET");
    EXPECT(SYNTAX, "SORT", "l", "STORE");
    EXPECT(SYNTAX, "SORT_RO", "l", "STORE", "x");
    EXPECT(NOTINT, "SORT", "l", "LIMIT", "x", "1");
    EXPECT(NOTINT, "SORT", "l", "LIMIT", "1", "1.5");
    C("SET", "str", "x");
    C("HSET", "hash", "a", "1");
    EXPECT(WRONGTYPE, "SORT", "str");
    EXPECT(WRONGTYPE, "SORT_RO", "hash");
    EXPECT(SYNTAX, "SORT", "str", "FOO");
    EXPECT(WRONGTYPE, "SORT", "str", "STORE", "dst");
    EXPECT("err:\"ERR wrong number of arguments for 'sort' command\"", "SORT");
    C("COMMAND", "GETKEYS", "SORT", "l", "BY", "w_*", "GET", "store", "STORE", "d", "LIMIT", "0",
      "1");
    C("COMMAND", "GETKEYS", "SORT", "l", "STORE", "a", "STORE", "b");
    C("COMMAND", "GETKEYS", "SORT_RO", "l", "BY", "x");
}

TEST(resp3) {
    int fl, fr;
    REQUIRE(difftest_start_servers(NULL) && difftest_raw_connect(3, &fl, &fr));
    RAW_COMPARE(fl, fr, "RPUSH", "l", "2", "1", "3");
    CHECK_EQ_STR(RAW_COMPARE(fl, fr, "SORT", "l", "GET", "#", "GET", "x_*"),
                 "array[bulk:\"1\",null,bulk:\"2\",null,bulk:\"3\",null]");
    RAW_COMPARE(fl, fr, "SORT_RO", "l", "DESC");
}

/* The stored result survives a kill -9 through the WAL (logged as DEL +
 * RPUSH of the result). */
TEST(store_replay) {
    REQUIRE(difftest_start(NULL));
    CHECK_EQ_STR(cmd(L, "CONFIG SET appendfsync always"), "status:\"OK\"");
    C("SADD", "s", "c", "a", "b");
    C("MSET", "k_a", "1", "k_b", "1", "k_c", "1");
    C("SORT", "s", "BY", "k_*", "ALPHA", "STORE", "d");
    char *before = strdup(cmd(L, "LRANGE d 0 -1"));
    harness_kill9(LS);
    REQUIRE(harness_restart(LS) == 0);
    harness_disconnect(L);
    L = harness_connect(LS);
    REQUIRE(L != NULL);
    CHECK_EQ_STR(cmd(L, "LRANGE d 0 -1"), before);
    free(before);
}

TEST(random_differential) {
    REQUIRE(difftest_start(NULL));
    if (!R) return;
    unsigned seed = difftest_seed(20261209);
    const char *vals[] = {"1", "2", "10", "-3", "2.5", "a", "b", "B", "", "0", "1e3", "x1"};
    const char *pats[] = {"k_*", "h_*->f", "nosort", "#", "none_*", "k_*->f"};
    const char *keys[] = {"l", "s", "z"};
    char a[16], b[16];
    for (int i = 0; i < 600; i++) {
        const char *v = PICK(vals);
        snprintf(a, sizeof(a), "%d", rand() % 8 - 2);
        snprintf(b, sizeof(b), "%d", rand() % 8 - 2);
        switch (rand() % 9) {
        case 0: C("RPUSH", "l", v); break;
        case 1: C("SADD", "s", v); break;
        case 2: C("ZADD", "z", a, v); break;
        case 3: {
            char k[32];
            snprintf(k, sizeof(k), "k_%s", v);
            C("SET", k, PICK(vals));
            break;
        }
        case 4: {
            char k[32];
            snprintf(k, sizeof(k), "h_%s", v);
            C("HSET", k, "f", PICK(vals));
            break;
        }
        case 5: {
            /* An unsorted set comes out in the set's internal order, which
             * Redis leaves unspecified: only lists and sorted sets here. */
            const char *k = PICK(keys), *by = PICK(pats);
            if (!strcmp(k, "s") && !strchr(by, '*')) by = "k_*";
            C("SORT", k, "BY", by, "LIMIT", a, b, "GET", "#", "GET", PICK(pats));
            break;
        }
        case 6: C("SORT", PICK(keys), "ALPHA", rand() % 2 ? "DESC" : "ASC", "GET", PICK(pats)); break;
        case 7:
            /* Equal ALPHA BY keys keep the load order, which for sets and
             * sorted sets is Redis's hash order: lists only. */
            C("SORT", "l", "BY", PICK(pats), "ALPHA", "STORE", "out");
            C("LRANGE", "out", "0", "-1");
            break;
        default: C("SORT_RO", PICK(keys), rand() % 2 ? "DESC" : "ASC", "LIMIT", a, b);
        }
        if (difftest_failed_at(i, seed, NULL, NULL, 0)) return;
    }
}

int main(void) {
    RUN(numeric_and_alpha);
    RUN(by_get_limit);
    RUN(store);
    RUN(patterns_inside_multi);
    RUN(errors);
    RUN(resp3);
    RUN(store_replay);
    RUN(random_differential);
    return testlib_finish();
}
