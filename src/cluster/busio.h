/*
 * busio.h — the cluster bus transport: one thread ("cluster-bus") with its
 * own epoll loop that listens on the bus port, connects to peers, frames
 * messages (cbus_frame_len) and hands them to the state machine
 * (state.h), and runs cl_cron ten times a second.
 *
 * Why its own thread and not the I/O threads' rings: bus traffic is small
 * (about a ping per node per second) and every step of it needs the cluster
 * mutex; on its own thread that mutex never sits in a client's path except
 * for CLUSTER commands and the rare slow-path redirection (cluster.h).
 *
 * Threading: every call into the state happens with the cluster mutex held.
 * The cl_io callbacks (connect/send/close) may be called by other threads
 * too (CLUSTER FORGET or RESET from an I/O thread, holding the mutex): they
 * only change buffers and flags under that mutex and wake the bus thread by
 * an eventfd; sockets are written, and closed connections freed, by the bus
 * thread alone, after its events are handled (so no event refers to a
 * freed connection).
 *
 * Limits: a message larger than CBUS_MAX_MSG, or a malformed one, closes
 * its link; a link's pending output beyond cluster-link-sendbuf-limit (or
 * 64 MiB when that is 0) closes it, counted in
 * total_cluster_links_buffer_limit_exceeded.
 */
#ifndef LT_CLUSTER_BUSIO_H
#define LT_CLUSTER_BUSIO_H

#include <pthread.h>
#include <stdint.h>

#include "cluster/state.h"

typedef struct busio busio;

/* Opens the listening sockets on addrs:cport (addrs as `bind` gives them,
 * "-" prefix optional). NULL with a message logged on failure. mutex
 * guards st and is shared with the server's CLUSTER commands. */
busio *busio_open(char **addrs, int naddrs, int cport, pthread_mutex_t *mutex);
/* The cl_io to give cl_state_new (its ctx is b); keyspace callbacks are
 * left to the caller. */
void busio_fill_io(busio *b, cl_io *io);
/* Starts the thread over st (created with busio_fill_io's io). save_path:
 * nodes.conf, written when st->todo_save after each round. */
int busio_start(busio *b, cl_state *st, const char *save_path);
/* Called by the bus thread after each round, with the mutex released
 * (work that takes shard locks, which must not nest inside the mutex). */
void busio_set_after_round(busio *b, void (*fn)(void));
/* Stops and joins the thread, closes every socket. */
void busio_stop(busio *b);
/* Wakes the thread (after a CLUSTER command changed something). */
void busio_wake(busio *b);
/* Links closed because their output passed the limit. */
uint64_t busio_buffer_limit_exceeded(busio *b);
/* Sets the output limit (bytes, 0: the 64 MiB hard cap). */
void busio_set_sendbuf_limit(busio *b, uint64_t bytes);

#endif
