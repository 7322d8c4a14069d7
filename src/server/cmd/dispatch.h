/*
 * dispatch: runs one parsed command for a client — lookup, arity and
 * authentication checks, CLIENT PAUSE gating, the call itself, and the
 * statistics around it (INFO commandstats / errorstats, slow calls).
 */
#ifndef LIGHTNING_DISPATCH_H
#define LIGHTNING_DISPATCH_H

#include "server/net/client.h"

/* Runs c->argv. Returns 1 when the command was not run because the client
 * must wait (CLIENT PAUSE): the caller keeps its bytes and re-runs it on
 * resume. Returns 0 otherwise (ran, or was rejected with an error). */
int dispatch_command(client *c);
/* dispatch_command with cmd = command_lookup(argv[0]) already done (NULL
 * for an unknown command): the pipeline runner looks commands up when it
 * parses them ahead. */
int dispatch_command_resolved(client *c, const struct command *cmd);

/* Runs cmd's handler on c->argv with the statistics around it (the part of
 * dispatch_command after the checks). EXEC calls it for each queued
 * command, with CLIENT_IN_EXEC set. */
void dispatch_call(client *c, const struct command *cmd);

/* Between these two calls on a thread, the commands dispatched are one
 * batch, run back to back with only their own dispatch between them (a
 * pipeline batch, client.c): each command's start time is the previous
 * one's end time (one clock read per command instead of two; INFO
 * commandstats still adds up to the time they took), and the statistics
 * of consecutive calls of one command are added to the shared counters
 * together (before any command without keys, such as INFO, and at the
 * end at the latest). */
void dispatch_batch_begin(void);
void dispatch_batch_end(void);

/* Is a CLIENT PAUSE (WRITE or ALL) in force right now? */
int dispatch_pause_in_force(void);
/* Is a CLIENT PAUSE in force for this command of c right now? */
int dispatch_pause_applies(client *c, const struct command *cmd, const resp_arg *argv, int argc);

#endif
