/*
 * tls: TLS with OpenSSL over memory BIOs, so it sits above the event layer
 * and works the same with the io_uring and the epoll backends: the ring
 * (or epoll) moves ciphertext, client.c feeds it here and gets plaintext
 * back, and replies are encrypted into a pending ciphertext buffer that
 * client.c sends like any reply. The same tls_conn serves outgoing links
 * (the replica's link to its master, src/repl/link.c), which move the
 * ciphertext over their own sockets.
 *
 * Owns the server's two SSL_CTXs, built from the tls-* directives exactly
 * as Redis 7.0 builds them (tls.c's tlsConfigure): the server context
 * (tls-cert-file, tls-key-file[-pass], tls-ca-cert-file|dir,
 * tls-protocols, tls-ciphers, tls-ciphersuites, tls-prefer-server-ciphers,
 * tls-session-caching|cache-size|cache-timeout, tls-dh-params-file) and,
 * when tls-client-cert-file and tls-client-key-file are set, a client
 * context for outgoing connections (otherwise they present the server's
 * certificate). tls-auth-clients is read per accepted connection.
 *
 * Invariants:
 *  - the contexts are replaced as a pair under ctx_lock; a connection takes
 *    its own reference when it is created, so a reload (CONFIG SET
 *    tls-cert-file ...) never changes or frees a context a live connection
 *    uses; a failed reload leaves the old pair in place;
 *  - every OpenSSL call on a connection is followed by draining its write
 *    BIO into the pending buffer, so records (handshake included) leave in
 *    order; the pending buffer holds at most what one flush of the
 *    client's replies encrypts plus handshake records;
 *  - no call here blocks: a handshake advances only as ciphertext is fed.
 *
 * A tls_conn belongs to one thread at a time (its client's owner, or the
 * replication link thread until it hands the connection over).
 */
#ifndef LIGHTNING_TLS_H
#define LIGHTNING_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tls_conn tls_conn;

/* Start-up: builds the contexts when tls-port, tls-replication or
 * tls-cluster is set (Redis's condition). Returns 0, or -1 with the reason
 * in err (start-up aborts). */
int tls_init(char *err, size_t errlen);
/* CONFIG SET hook of the tls-* directives (config.c's try_apply): builds a
 * new pair of contexts from the current values and swaps them in. Returns
 * 1, or 0 with *err set to Redis's text (the reasons are logged, the old
 * contexts stay). Caller holds the config lock. */
int tls_apply_config(const char **err);
/* Nonzero once a context exists. */
int tls_enabled(void);

/* An accepted connection (server side; tls-auth-clients applies). NULL on
 * failure. */
tls_conn *tls_conn_new(void);
/* An outgoing connection (client side, the client context; the peer's
 * certificate must verify against the CA). NULL on failure. */
tls_conn *tls_conn_new_outgoing(void);
void tls_conn_free(tls_conn *t);
/* Nonzero once the handshake completed. */
int tls_conn_established(const tls_conn *t);
/* Advances the handshake with what was fed: 1 once established, 0 when
 * it needs more from the peer (its records are pending), -1 on failure. */
int tls_conn_handshake(tls_conn *t);
/* Ciphertext received from the peer. */
void tls_conn_feed(tls_conn *t, const char *data, size_t len);
/* Plaintext available: > 0 bytes into buf, 0 when nothing more for now
 * (the handshake may still be running: its records are then pending), -1
 * when the connection failed or the peer closed it (a bad handshake, a
 * certificate refused; logged at verbose level). */
ssize_t tls_conn_read(tls_conn *t, char *buf, size_t cap);
/* Encrypts len bytes into the pending ciphertext. -1 on failure. */
int tls_conn_write(tls_conn *t, const void *p, size_t len);
/* The pending ciphertext (contiguous; valid until the next call on t) and
 * its release once sent. */
size_t tls_conn_pending(const tls_conn *t, const char **p);
void tls_conn_consumed(tls_conn *t, size_t n);

#endif
