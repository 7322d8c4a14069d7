/*
 * tls: TLS for client connections with OpenSSL over memory BIOs, so it
 * sits above the event layer and works the same with the io_uring and the
 * epoll backends: the ring (or epoll) moves ciphertext, client.c feeds it
 * here and gets plaintext back, and replies are encrypted into a pending
 * ciphertext buffer that client.c sends like any reply.
 *
 * Owns the server's SSL_CTX (tls-cert-file, tls-key-file,
 * tls-ca-cert-file, tls-auth-clients), built once at start-up, and one
 * tls_conn per TLS client (owner thread only).
 *
 * Invariants: every OpenSSL call on a connection is followed by draining
 * its write BIO into the pending buffer, so records (handshake included)
 * leave in order; the pending buffer holds at most what one flush of the
 * client's replies encrypts plus handshake records.
 */
#ifndef LIGHTNING_TLS_H
#define LIGHTNING_TLS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct tls_conn tls_conn;

/* Builds the context when tls-port is set. Returns 0, or -1 with the
 * reason in err (start-up aborts). */
int tls_init(char *err, size_t errlen);
/* Nonzero once tls_init built a context. */
int tls_enabled(void);

tls_conn *tls_conn_new(void); /* NULL on failure */
void tls_conn_free(tls_conn *t);
/* Ciphertext received from the peer. */
void tls_conn_feed(tls_conn *t, const char *data, size_t len);
/* Plaintext available: > 0 bytes into buf, 0 when nothing more for now
 * (the handshake may still be running), -1 when the connection failed or
 * the peer closed it (a bad handshake, a certificate refused). */
ssize_t tls_conn_read(tls_conn *t, char *buf, size_t cap);
/* Encrypts len bytes of replies into the pending ciphertext. -1 on
 * failure. */
int tls_conn_write(tls_conn *t, const void *p, size_t len);
/* The pending ciphertext (contiguous) and its release once sent. */
size_t tls_conn_pending(const tls_conn *t, const char **p);
void tls_conn_consumed(tls_conn *t, size_t n);

#endif
