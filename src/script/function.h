/*
 * function: Redis 7.0 functions (FUNCTION, FCALL, FCALL_RO) and their
 * persistence in <dir>/functions.lib; see function.c for the rules.
 */
#ifndef LIGHTNING_FUNCTION_H
#define LIGHTNING_FUNCTION_H

#include <stddef.h>

/* Start-up, after the working directory is set and before the WAL is
 * replayed: loads functions.lib if present. 0, or -1 (logged) when the
 * file is unreadable or invalid. */
int function_load_at_start(void);

/* INFO: functions registered, and the bytes of their libraries. */
size_t function_count(void);
/* Libraries loaded (INFO number_of_libraries). */
size_t function_library_count(void);
size_t function_bytes(void);

/* The SCRIPT_FLAG_* flags of the function named name (len bytes);
 * SCRIPT_FLAG_EVAL_COMPAT (nothing declared) when there is none. */
uint64_t function_declared_flags(const char *name, size_t len);

#endif
