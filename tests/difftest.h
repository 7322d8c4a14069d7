/*
 * difftest: a Lightning server beside a real redis-server, and what the
 * differential tests built on that pair share.
 *
 * A differential test starts the pair, runs every command on both servers
 * (C / EXPECT: the rendered replies must be equal) and asserts the expected
 * text as well, so a behaviour both servers get wrong, or a missing Redis,
 * still fails.
 *
 * Owns the pair of the running test: LS / RS (the servers) and L / R (one
 * hiredis connection to each), set by difftest_start*(). The harness stops
 * the servers and closes the connections when the test function returns;
 * the four are stale from then on until the next difftest_start*(). When
 * redis-server is not installed, RS and R are NULL (the harness printed
 * testlib_skip: the test is reported skipped) and the compare helpers run on
 * Lightning only.
 *
 * Typical test:
 *
 *   TEST(get) {
 *       REQUIRE(difftest_start(NULL));
 *       EXPECT("nil", "GET", "k");
 *       EXPECT(WRONGTYPE, "GET", "list");
 *   }
 *
 * Randomized tests draw from rand() seeded by difftest_seed() (a fixed seed
 * per test, TEST_SEED=N for another sequence) and stop at the first
 * difference with difftest_failed_at(), which prints what reproduces it.
 */
#ifndef LIGHTNING_DIFFTEST_H
#define LIGHTNING_DIFFTEST_H

#include <stddef.h>
#include <stdlib.h>

#include "harness.h"

/* The pair of the running test (see above). */
extern harness_server *LS, *RS;
extern redisContext *L, *R;

/* Starts Lightning and Redis with the same NULL-terminated directive/value
 * pairs (as harness_start()), without connecting: L and R are NULL, for
 * tests that count, kill or limit connections themselves. Returns 1 when
 * Lightning answered; 0 otherwise (the failure is reported). */
int difftest_start_servers(const char *directive, ...);
/* Opens L and R, one connection to each server of the pair. Returns 1 when
 * L is open. */
int difftest_connect(void);
/* Both: the usual start of a differential test, e.g.
 * REQUIRE(difftest_start("requirepass", "pw", NULL)). */
#define difftest_start(...) (difftest_start_servers(__VA_ARGS__) && difftest_connect())

/* Opens a raw connection to LS (*fl) and to RS (*fr, -1 without Redis) and,
 * when resp is 3, switches both to RESP3 with HELLO 3 (its reply CHECKed to
 * be a map). Returns 1 when *fl is open. The harness closes both at the end
 * of the test. */
int difftest_raw_connect(int resp, int *fl, int *fr);

/* A command on both servers, replies compared (CU: as multisets of the
 * top-level elements, for replies whose order Redis leaves unspecified).
 * Both return Lightning's rendering, valid as for cmd(). */
#define C(...) COMPARE(L, R, __VA_ARGS__)
#define CU(...) COMPARE_UNORDERED(L, R, __VA_ARGS__)
/* The same, and Lightning's reply must be `want`. */
#define EXPECT(want, ...) CHECK_EQ_STR(C(__VA_ARGS__), want)
#define EXPECT_UNORDERED(want, ...) CHECK_EQ_STR(CU(__VA_ARGS__), want)

/* Redis's error replies the type families share, rendered. */
#define WRONGTYPE "err:\"WRONGTYPE Operation against a key holding the wrong kind of value\""
#define NOTINT "err:\"ERR value is not an integer or out of range\""
#define SYNTAX "err:\"ERR syntax error\""

/* 1 if Lightning knows the command (COMMAND INFO name), for checks that
 * need a command another family provides. */
int difftest_have(const char *name);
/* Creates the list "wt" on both servers, the key WRONGTYPE checks use.
 * Returns 0 (after testlib_skip) when Lightning has no LPUSH. */
int difftest_make_wrongtype(void);

/* Randomized sequences. */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A random element of the array a (rand()). */
#define PICK(a) ((a)[rand() % (int)NELEM(a)])
/* The seed of the running randomized test: $TEST_SEED when set, else def.
 * Prints "# <test> seed N" and passes it to srand(). */
unsigned difftest_seed(unsigned def);
/* Called after each step of a randomized sequence: 0 while the running test
 * has not failed. Once it has, prints the step and the seed and, when dump is
 * set (a cmd() format with one %s, e.g. "GET %s"), its reply on Redis for
 * each of the nkeys keys, and returns 1: stop there. */
int difftest_failed_at(int step, unsigned seed, const char *dump, const char *const *keys,
                       size_t nkeys);

#endif
