/*
 * dispatch: runs one parsed command for a client — lookup, arity and
 * authentication checks, CLIENT PAUSE gating, the call itself, and the
 * statistics around it (INFO commandstats / errorstats, slow calls).
 */
#ifndef LIGHTNING_DISPATCH_H
#define LIGHTNING_DISPATCH_H

#include "server/client.h"

/* Runs c->argv. Returns 1 when the command was not run because the client
 * must wait (CLIENT PAUSE): the caller keeps its bytes and re-runs it on
 * resume. Returns 0 otherwise (ran, or was rejected with an error). */
int dispatch_command(client *c);

/* Runs cmd's handler on c->argv with the statistics around it (the part of
 * dispatch_command after the checks). EXEC calls it for each queued
 * command, with CLIENT_IN_EXEC set. */
void dispatch_call(client *c, const struct command *cmd);

/* Is a CLIENT PAUSE in force for this command right now? */
int dispatch_pause_applies(const struct command *cmd);

#endif
