/*
 * pubsub: Redis's publish/subscribe — who is subscribed to which channel,
 * pattern and shard channel (one registry for the whole server), the
 * SUBSCRIBE / PUBLISH / PUBSUB ... commands, and how a message published on
 * one I/O thread reaches subscribers living on every thread.
 *
 * Delivery model:
 *  - The registry (channel -> subscribers, pattern -> subscribers, shard
 *    channel -> subscribers) is under one rwlock: PUBLISH takes it shared,
 *    (P|S)(UN)SUBSCRIBE and a closing subscriber take it exclusive.
 *  - A subscriber owned by the publishing thread gets the message written
 *    straight into its reply buffers (as Redis: in RESP3 a client that
 *    publishes to itself sees the push before the PUBLISH reply).
 *  - A subscriber owned by another thread gets the message appended, already
 *    encoded in its protocol, to its pending queue (ps_sub.q, under the
 *    subscriber's own mutex); a queue that was empty puts the subscriber on
 *    its worker's ready list, and a ready list that was empty wakes that
 *    worker (eventfd). The owner moves the queue into the client's replies
 *    in before_wait. No thread ever touches another thread's client.
 *  - Order: one publisher's messages to one subscriber always take the same
 *    path (direct or that subscriber's FIFO queue), so they arrive in
 *    publish order. Each matching subscription gets the message once: a
 *    client subscribed to the channel and to two matching patterns gets it
 *    three times, as in Redis.
 *
 * Bounds: a subscriber's pending bytes (its queue plus its unsent replies)
 * are checked against pubsub_output_limits() — the `pubsub` class of
 * client-output-buffer-limit (hard limit: at once; soft limit: when
 * exceeded continuously for its seconds). A subscriber over the limit gets
 * no more messages queued and is closed by its owner thread; the others are
 * not affected. So the memory a non-reading subscriber costs is bounded by
 * about the hard limit plus one message.
 *
 * Lock order: engine shard locks, server.clients_lock, the registry lock,
 * a subscriber's mutex, a worker's ready-list mutex. Nothing else is locked
 * while holding the last two.
 */
#ifndef LIGHTNING_PUBSUB_H
#define LIGHTNING_PUBSUB_H

#include <stddef.h>

#include "server/net/client.h"

struct worker;
struct command;

/* Start-up after the server's settings are known and before the workers;
 * returns 0 or -1 (out of memory). pubsub_close after the workers joined. */
int pubsub_init(void);
void pubsub_close(void);

/* Publishes msg on channel (shard: a shard channel, SPUBLISH) from any
 * thread. Returns the number of subscriptions it was delivered to (channel
 * subscribers plus matching pattern subscriptions). */
long pubsub_publish(int shard, const char *channel, size_t clen, const char *msg,
                    size_t mlen);

/* Sends already encoded bytes (a tracking invalidation) to client c, which
 * may live on another thread: the caller holds server.clients_lock (so c
 * is alive). Same path, order and limit as a published message. */
void pubsub_send_raw(client *c, const char *p, size_t len);

/* The pubsub class of client-output-buffer-limit (bytes; 0 = no limit) and
 * the soft limit's seconds. The one place the configured class plugs in. */
void pubsub_output_limits(size_t *hard, size_t *soft, int *soft_seconds);

/* INFO: channels, patterns and shard channels with subscribers. */
void pubsub_counts(long long *channels, long long *patterns, long long *shard);

/* dispatch: in RESP2 a subscribed client may only run (P|S)(UN)SUBSCRIBE,
 * PING, QUIT and RESET. Returns 1 (after replying Redis's error) when cmd
 * must not run, else 0. */
int pubsub_reject_command(client *c, const struct command *cmd);

/* RESET: leaves every subscription without replies. */
void pubsub_client_reset(client *c);
/* Owner thread: c is closing (or freed at exit): leaves the registry. */
void pubsub_client_closed(client *c);
/* Whether every channel, pattern and shard channel c is subscribed to is
 * still permitted to c's user (owner thread; after ACL SETUSER). */
int pubsub_client_permitted(client *c);
/* Owner thread, before_wait: moves every ready subscriber's queued messages
 * into its replies and closes subscribers over the limit. */
void pubsub_worker_process(struct worker *w);

#endif
