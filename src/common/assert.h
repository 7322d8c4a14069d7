/*
 * assert.h — the project's ASSERT(): invariant checks that stay on in release
 * builds and report file and line before aborting.
 *
 * Owns: ASSERT(), ASSERT_NOT_REACHED() and lt_assert_fail().
 * Invariant: an ASSERT states something the code itself guarantees. Never use
 * it on untrusted input (client data, file contents): reject that with an
 * error code instead.
 * Used by: every layer (engine, server, tools).
 */
#ifndef LT_COMMON_ASSERT_H
#define LT_COMMON_ASSERT_H

/* Prints "ASSERT failed: <expr> at <file>:<line>" to stderr and aborts. */
void lt_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn, cold));

#define ASSERT(cond)                                                         \
    do {                                                                     \
        if (__builtin_expect(!(cond), 0))                                    \
            lt_assert_fail(#cond, __FILE__, __LINE__);                       \
    } while (0)

#define ASSERT_NOT_REACHED() lt_assert_fail("not reached", __FILE__, __LINE__)

#endif
