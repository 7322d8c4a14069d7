/*
 * loading: the dataset load at start-up (snapshot, imported dump.rdb, WAL
 * replay) as Redis reports one: INFO persistence `loading` and the
 * `loading_*` fields, a progress line in the log (percent, keys/s, ETA)
 * at most once a second, the -LOADING reply for commands without the
 * `loading` flag (dispatch), and key-load-delay.
 *
 * Owns: one load's figures, all atomics (the snapshot loader's threads
 * report concurrently; INFO reads them from any I/O thread).
 *
 * Invariants: loading_active() is 1 only between loading_begin() and
 * loading_end(), both called by main() around persist_open(); the I/O
 * threads run meanwhile (clients are accepted and answered, as Redis's
 * listener is open while it loads) but their keyspace jobs wait
 * (cron.c). A shutdown asked during the load (SIGTERM, SIGINT, SHUTDOWN)
 * exits at the next progress report without saving: nothing a partial
 * dataset could overwrite is written, as Redis exits while loading.
 */
#ifndef LIGHTNING_LOADING_H
#define LIGHTNING_LOADING_H

#include <stddef.h>
#include <stdint.h>

/* Redis's reply to a command that cannot run while loading. */
#define LOADING_ERR "LOADING Redis is loading the dataset in memory"

extern int loading_flag; /* atomic */
static inline int loading_active(void) { return __atomic_load_n(&loading_flag, __ATOMIC_ACQUIRE); }

/* main(): a load of about total_bytes starts / ended (keys: all loaded). */
void loading_begin(uint64_t total_bytes);
void loading_end(void);
/* A phase found more input than loading_begin() was told. */
void loading_add_total(uint64_t bytes);
/* The used-mem AUX field of an imported RDB (loading_rdb_used_mem). */
void loading_set_rdb_used_mem(uint64_t bytes);
/* Any thread: bytes and keys loaded since the last call. Sleeps
 * key-load-delay per key, logs progress once a second, exits on a
 * requested shutdown. */
void loading_progress(uint64_t bytes, uint64_t keys);
/* INFO persistence's loading_* lines (only while loading; "" otherwise)
 * appended to out (NUL-terminated, truncated at cap). */
void loading_info(char *out, size_t cap);

#endif
