/*
 * tls: OpenSSL over memory BIOs for client connections (see tls.h).
 */
#include "server/net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/server.h"

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    char *out;        /* pending ciphertext: out[off..len) */
    size_t off, len, cap;
};

static SSL_CTX *ctx;

int tls_enabled(void) { return ctx != NULL; }

static void openssl_error(char *err, size_t errlen, const char *what, const char *path) {
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "Failed to configure TLS: %s%s%s: %s", what, path ? " " : "",
             path ? path : "", e ? buf : "unknown error");
}

int tls_init(char *err, size_t errlen) {
    if (server.tls_port <= 0) return 0;
    if (!server.tls_cert_file || !server.tls_key_file) {
        snprintf(err, errlen, "Failed to configure TLS: tls-cert-file and tls-key-file are "
                              "required with tls-port");
        return -1;
    }
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) {
        openssl_error(err, errlen, "creating the context", NULL);
        return -1;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(c, server.tls_cert_file) <= 0) {
        openssl_error(err, errlen, "loading the certificate", server.tls_cert_file);
        SSL_CTX_free(c);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(c, server.tls_key_file, SSL_FILETYPE_PEM) <= 0 ||
        !SSL_CTX_check_private_key(c)) {
        openssl_error(err, errlen, "loading the private key", server.tls_key_file);
        SSL_CTX_free(c);
        return -1;
    }
    if (server.tls_ca_cert_file &&
        SSL_CTX_load_verify_locations(c, server.tls_ca_cert_file, NULL) <= 0) {
        openssl_error(err, errlen, "loading the CA certificate", server.tls_ca_cert_file);
        SSL_CTX_free(c);
        return -1;
    }
    /* tls-auth-clients: no / yes (a certificate the CA signed is
     * required) / optional (verified when given). */
    int mode = SSL_VERIFY_NONE;
    if (server.tls_auth_clients == 1) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (server.tls_auth_clients == 2) mode = SSL_VERIFY_PEER;
    if (mode != SSL_VERIFY_NONE && !server.tls_ca_cert_file) {
        snprintf(err, errlen, "Failed to configure TLS: tls-auth-clients needs "
                              "tls-ca-cert-file to verify client certificates");
        SSL_CTX_free(c);
        return -1;
    }
    SSL_CTX_set_verify(c, mode, NULL);
    ctx = c;
    return 0;
}

tls_conn *tls_conn_new(void) {
    if (!ctx) return NULL;
    tls_conn *t = lt_xcalloc(1, sizeof(*t));
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        if (t->ssl) SSL_free(t->ssl);
        else {
            BIO_free(t->rbio);
            BIO_free(t->wbio);
        }
        free(t);
        return NULL;
    }
    /* A read BIO that is empty asks for more, it does not mean EOF. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_free(tls_conn *t) {
    if (!t) return;
    SSL_free(t->ssl);
    free(t->out);
    free(t);
}

/* Moves what OpenSSL wrote into the pending buffer. */
static void drain(tls_conn *t) {
    char *p;
    long n = BIO_get_mem_data(t->wbio, &p);
    if (n <= 0) return;
    if (t->off == t->len) t->off = t->len = 0;
    if (t->len + (size_t)n > t->cap) {
        if (t->off) { /* compact first */
            memmove(t->out, t->out + t->off, t->len - t->off);
            t->len -= t->off;
            t->off = 0;
        }
        if (t->len + (size_t)n > t->cap) {
            size_t cap = t->cap ? t->cap : 16384;
            while (cap < t->len + (size_t)n) cap *= 2;
            t->out = lt_xrealloc(t->out, cap);
            t->cap = cap;
        }
    }
    memcpy(t->out + t->len, p, (size_t)n);
    t->len += (size_t)n;
    (void)BIO_reset(t->wbio);
}

void tls_conn_feed(tls_conn *t, const char *data, size_t len) {
    while (len) {
        int w = BIO_write(t->rbio, data, len > (size_t)INT32_MAX ? INT32_MAX : (int)len);
        if (w <= 0) return;
        data += w;
        len -= (size_t)w;
    }
}

ssize_t tls_conn_read(tls_conn *t, char *buf, size_t cap) {
    ERR_clear_error();
    int n = SSL_read(t->ssl, buf, cap > (size_t)INT32_MAX ? INT32_MAX : (int)cap);
    drain(t);
    if (n > 0) return n;
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_SSL) {
        char msg[256];
        ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
        serverLog(LL_VERBOSE, "Error accepting a client connection: %s", msg);
    }
    return -1;
}

int tls_conn_write(tls_conn *t, const void *p, size_t len) {
    const char *s = p;
    while (len) {
        ERR_clear_error();
        int n = SSL_write(t->ssl, s, len > (size_t)INT32_MAX ? INT32_MAX : (int)len);
        drain(t);
        if (n <= 0) return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t tls_conn_pending(const tls_conn *t, const char **p) {
    *p = t->out + t->off;
    return t->len - t->off;
}

void tls_conn_consumed(tls_conn *t, size_t n) {
    t->off += n;
    if (t->off >= t->len) t->off = t->len = 0;
}
