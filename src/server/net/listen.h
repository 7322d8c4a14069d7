/*
 * listen: the server's listening sockets, made from the `bind` and `port`
 * directives before any thread starts (so a port in use fails start-up with
 * a clear message) and handed to worker 0's loop.
 */
#ifndef LIGHTNING_LISTEN_H
#define LIGHTNING_LISTEN_H

#include "server/net/event.h"

/* Binds every address of server.bind on server.port. A "-" prefix marks an
 * address as optional (skipped when unavailable, as in Redis). With
 * metrics-port set, also binds every address on that port. Returns 0,
 * or -1 after logging why. */
int listen_open(void);
/* Starts accepting on all listening sockets in this loop. 0 or -errno. */
int listen_attach(ev_loop *loop);
void listen_close(void);
/* Is laddr ("ip:port", a client's local address) on metrics-port? Those
 * connections are served only Prometheus's /metrics (metrics.h). */
int listen_is_metrics_fd_port(const char *laddr);

#endif
