/*
 * rdb_import: start-up import of a Redis dump.rdb (migration by copying one
 * file), and the function libraries an RDB carried, kept aside until
 * Lightning has scripting.
 *
 * Rule: when `dir` holds the RDB file (rdb_import_filename()) and no
 * Lightning data exists there (no snapshot file, no WAL segment), the
 * server loads it before it accepts clients: the CRC64 is checked first
 * (nothing is loaded from a damaged file), keys already expired are
 * skipped, and a file that is not valid RDB stops the start-up with its
 * byte offset and the reason in the log. Once anything Lightning writes
 * exists, the RDB file is ignored (Lightning's own files are the truth).
 * With appendonly yes a snapshot is written right after the import, so the
 * imported keys are covered by Lightning's own files from then on.
 *
 * Threads: main thread at start-up; rdb_functions_* may be read by any
 * thread afterwards (the list never changes after start-up).
 */
#ifndef LIGHTNING_RDB_IMPORT_H
#define LIGHTNING_RDB_IMPORT_H

#include <stddef.h>

/* The RDB file name looked for in `dir`. LEAD: wire this to the
 * `dbfilename` directive when the config branch merges; until then it is
 * Redis's default "dump.rdb". */
const char *rdb_import_filename(void);

/* Called by persist_open after the snapshot recovery, before the WAL is
 * opened. lightning_data: whether a snapshot or WAL segment exists.
 * Returns 1 when a file was imported, 0 when there was none to import,
 * -1 after logging why the server must not start. */
int rdb_import_at_startup(int lightning_data);

/* Function libraries (their code) read from imported RDB files. Valid for
 * the process lifetime. */
size_t rdb_functions_count(void);
const char *const *rdb_functions_code(void);
const size_t *rdb_functions_lens(void);

#endif
