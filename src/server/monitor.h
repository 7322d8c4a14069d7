/*
 * monitor: MONITOR — every command any I/O thread runs, as Redis's line
 * (+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"), streamed to the
 * clients that asked for it, whichever thread owns them.
 *
 * Owns: the list of monitors, each with a byte queue, under one mutex.
 * The thread that ran a command formats its line once and appends it to
 * every monitor's queue, then wakes the monitors' workers; a worker moves
 * its monitors' queued bytes into their reply buffers on its own thread
 * (monitor_worker_drain). With no monitor the cost on the command path is
 * one relaxed load (monitor_active).
 *
 * Bound: a monitor whose queued plus unsent output passes
 * monitor_output_limit() is disconnected (as Redis does to a client over
 * its output buffer limit): nothing more is queued for it and its worker
 * closes it. monitor_output_limit() is the one place a
 * client-output-buffer-limit setting plugs in.
 */
#ifndef LIGHTNING_MONITOR_H
#define LIGHTNING_MONITOR_H

#include <stddef.h>

#include "server/net/client.h"

struct worker;
struct command;

/* Queued + unsent bytes past which a monitor is disconnected. */
#define MONITOR_OUTPUT_LIMIT_DEFAULT (64ull * 1024 * 1024)
size_t monitor_output_limit(void);

extern int monitor_count; /* atomic: registered monitors */
static inline int monitor_active(void) {
    return __atomic_load_n(&monitor_count, __ATOMIC_RELAXED) != 0;
}

/* Feeds one executed command to every monitor (any thread). db is the
 * client's database after the command, as Redis shows it. */
void monitor_feed(client *c, const struct command *cmd, const resp_arg *argv, int argc);
/* The same for a command flagged skip-monitor that shows itself before it
 * runs (EVAL*, FCALL*: their script's commands follow it, as in Redis). A
 * script's commands show "lua" as their address. */
void monitor_feed_now(client *c, const struct command *cmd, const resp_arg *argv, int argc);
/* Owner thread: moves queued lines into its monitors' reply buffers. */
void monitor_worker_drain(struct worker *w);
/* client_close: unregisters c if it is a monitor (owner thread). */
void monitor_client_closed(client *c);

#endif
