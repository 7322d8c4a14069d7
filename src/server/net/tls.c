/*
 * tls: OpenSSL over memory BIOs, the server's contexts and their reload
 * (see tls.h for the contract and invariants).
 */
#include "server/net/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/server.h"

/* tls-auth-clients values (config.c's tls_auth_names order). */
enum { TLS_AUTH_NO = 0, TLS_AUTH_YES = 1, TLS_AUTH_OPTIONAL = 2 };

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    char *out;        /* pending ciphertext: out[off..len) */
    size_t off, len, cap;
    int failed;       /* an OpenSSL call failed: its session is not reused */
};

/* The pair in use (see the invariants in tls.h). ctx_server is read
 * without the lock only to test whether TLS is on. */
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx_server, *ctx_client;

int tls_enabled(void) { return __atomic_load_n(&ctx_server, __ATOMIC_ACQUIRE) != NULL; }

/* The first queued OpenSSL error as text (the queue is cleared). */
static const char *ssl_errstr(char *buf, size_t cap) {
    unsigned long e = ERR_get_error();
    if (!e) snprintf(buf, cap, "unknown error");
    else ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* tls-key-file-pass / tls-client-key-file-pass (Redis's
 * tlsPasswordCallback). */
static int password_cb(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    const char *pass = u;
    if (!pass) return -1;
    size_t n = strlen(pass);
    if (n > (size_t)size) return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

#define PROTO_TLSv1 (1 << 0)
#define PROTO_TLSv1_1 (1 << 1)
#define PROTO_TLSv1_2 (1 << 2)
#define PROTO_TLSv1_3 (1 << 3)
#define PROTO_DEFAULT (PROTO_TLSv1_2 | PROTO_TLSv1_3) /* Redis's default */

/* tls-protocols: space-separated names, any case (Redis's
 * parseProtocolsConfig). -1 (logged) on an unknown name. */
static int parse_protocols(const char *str) {
    if (!str) return PROTO_DEFAULT;
    int protocols = 0;
    const char *p = str;
    for (;;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        if (n == 5 && !strncasecmp(p, "tlsv1", 5)) protocols |= PROTO_TLSv1;
        else if (n == 7 && !strncasecmp(p, "tlsv1.1", 7)) protocols |= PROTO_TLSv1_1;
        else if (n == 7 && !strncasecmp(p, "tlsv1.2", 7)) protocols |= PROTO_TLSv1_2;
        else if (n == 7 && !strncasecmp(p, "tlsv1.3", 7)) protocols |= PROTO_TLSv1_3;
        else {
            serverLog(LL_WARNING, "Invalid tls-protocols specified. Use a combination of "
                                  "'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
            return -1;
        }
        if (!sp) break;
        p = sp + 1;
    }
    return protocols;
}

/* One context (Redis's createSSLContext): the server's (client = 0) or
 * the one outgoing connections use. NULL when a file or setting is
 * refused (logged with Redis's texts; *why set for start-up errors). */
static SSL_CTX *ctx_create(int protocols, int client, char *why, size_t whylen) {
    const char *cert = client ? server.tls_client_cert_file : server.tls_cert_file;
    const char *key = client ? server.tls_client_key_file : server.tls_key_file;
    const char *pass = client ? server.tls_client_key_file_pass : server.tls_key_file_pass;
    char eb[256];
    SSL_CTX *c = SSL_CTX_new(TLS_method());
    if (!c) {
        snprintf(why, whylen, "Failed to create the SSL context: %s", ssl_errstr(eb, sizeof(eb)));
        serverLog(LL_WARNING, "%s", why);
        return NULL;
    }
    SSL_CTX_set_options(c, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_SINGLE_DH_USE |
                               SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!(protocols & PROTO_TLSv1)) SSL_CTX_set_options(c, SSL_OP_NO_TLSv1);
    if (!(protocols & PROTO_TLSv1_1)) SSL_CTX_set_options(c, SSL_OP_NO_TLSv1_1);
    if (!(protocols & PROTO_TLSv1_2)) SSL_CTX_set_options(c, SSL_OP_NO_TLSv1_2);
    if (!(protocols & PROTO_TLSv1_3)) SSL_CTX_set_options(c, SSL_OP_NO_TLSv1_3);
    /* TLSv1 and 1.1 need the legacy security level in OpenSSL 3. */
    if (protocols & (PROTO_TLSv1 | PROTO_TLSv1_1)) SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_default_passwd_cb(c, password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(c, (void *)pass);
    int ok = 0;
    if (SSL_CTX_use_certificate_chain_file(c, cert) <= 0) {
        snprintf(why, whylen, "Failed to load certificate: %s: %s", cert,
                 ssl_errstr(eb, sizeof(eb)));
    } else if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) <= 0) {
        snprintf(why, whylen, "Failed to load private key: %s: %s", key,
                 ssl_errstr(eb, sizeof(eb)));
    } else if (!SSL_CTX_check_private_key(c)) {
        snprintf(why, whylen, "Failed to load private key: %s: %s", key,
                 ssl_errstr(eb, sizeof(eb)));
    } else if ((server.tls_ca_cert_file || server.tls_ca_cert_dir) &&
               SSL_CTX_load_verify_locations(c, server.tls_ca_cert_file,
                                             server.tls_ca_cert_dir) <= 0) {
        snprintf(why, whylen, "Failed to configure CA certificate(s) file/directory: %s",
                 ssl_errstr(eb, sizeof(eb)));
    } else if (server.tls_ciphers && !SSL_CTX_set_cipher_list(c, server.tls_ciphers)) {
        snprintf(why, whylen, "Failed to configure ciphers: %s", server.tls_ciphers);
    } else if (server.tls_ciphersuites &&
               !SSL_CTX_set_ciphersuites(c, server.tls_ciphersuites)) {
        snprintf(why, whylen, "Failed to configure ciphersuites: %s", server.tls_ciphersuites);
    } else {
        ok = 1;
    }
    /* The password is read only while loading; its string may be freed
     * by a later CONFIG SET. */
    SSL_CTX_set_default_passwd_cb_userdata(c, NULL);
    if (!ok) {
        serverLog(LL_WARNING, "%s", why);
        SSL_CTX_free(c);
        ERR_clear_error();
        return NULL;
    }
    return c;
}

/* Builds both contexts from the current values and swaps them in (Redis's
 * tlsConfigure). -1 with the reason in why; the old pair is kept. */
static int tls_configure(char *why, size_t whylen) {
    if (!server.tls_cert_file) {
        snprintf(why, whylen, "No tls-cert-file configured!");
        serverLog(LL_WARNING, "%s", why);
        return -1;
    }
    if (!server.tls_key_file) {
        snprintf(why, whylen, "No tls-key-file configured!");
        serverLog(LL_WARNING, "%s", why);
        return -1;
    }
    if ((server.tls_auth_clients != TLS_AUTH_NO || server.tls_cluster ||
         server.tls_replication) &&
        !server.tls_ca_cert_file && !server.tls_ca_cert_dir) {
        snprintf(why, whylen, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                              "tls-cluster, tls-replication or tls-auth-clients are enabled!");
        serverLog(LL_WARNING, "%s", why);
        return -1;
    }
    int protocols = parse_protocols(server.tls_protocols);
    if (protocols == -1) {
        snprintf(why, whylen, "Invalid tls-protocols configuration string");
        return -1;
    }
    SSL_CTX *s = ctx_create(protocols, 0, why, whylen);
    if (!s) return -1;
    if (server.tls_session_caching) {
        SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(s, server.tls_session_cache_size);
        SSL_CTX_set_timeout(s, server.tls_session_cache_timeout);
        SSL_CTX_set_session_id_context(s, (const unsigned char *)"redis", 5);
    } else {
        SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
    }
    if (server.tls_prefer_server_ciphers) SSL_CTX_set_options(s, SSL_OP_CIPHER_SERVER_PREFERENCE);
    char eb[256];
    if (server.tls_dh_params_file) {
        BIO *f = BIO_new_file(server.tls_dh_params_file, "r");
        if (!f) {
            ERR_clear_error();
            snprintf(why, whylen, "Failed to load %s: %s", server.tls_dh_params_file,
                     strerror(errno));
            serverLog(LL_WARNING, "%s", why);
            SSL_CTX_free(s);
            return -1;
        }
        EVP_PKEY *dh = PEM_read_bio_Parameters(f, NULL);
        BIO_free(f);
        if (!dh) {
            snprintf(why, whylen, "%s: failed to read DH params.", server.tls_dh_params_file);
            serverLog(LL_WARNING, "%s", why);
            SSL_CTX_free(s);
            ERR_clear_error();
            return -1;
        }
        if (SSL_CTX_set0_tmp_dh_pkey(s, dh) <= 0) {
            snprintf(why, whylen, "Failed to load DH params file: %s: %s",
                     server.tls_dh_params_file, ssl_errstr(eb, sizeof(eb)));
            serverLog(LL_WARNING, "%s", why);
            EVP_PKEY_free(dh);
            SSL_CTX_free(s);
            return -1;
        }
    } else {
        SSL_CTX_set_dh_auto(s, 1);
    }
    SSL_CTX *cl = NULL;
    if (server.tls_client_cert_file && server.tls_client_key_file) {
        cl = ctx_create(protocols, 1, why, whylen);
        if (!cl) {
            SSL_CTX_free(s);
            return -1;
        }
    }
    pthread_mutex_lock(&ctx_lock);
    SSL_CTX *old_s = ctx_server, *old_c = ctx_client;
    __atomic_store_n(&ctx_server, s, __ATOMIC_RELEASE);
    ctx_client = cl;
    pthread_mutex_unlock(&ctx_lock);
    /* Live connections hold their own references. */
    SSL_CTX_free(old_s);
    SSL_CTX_free(old_c);
    return 0;
}

static int tls_wanted(void) {
    return server.tls_port > 0 || server.tls_replication || server.tls_cluster;
}

int tls_init(char *err, size_t errlen) {
    if (!tls_wanted()) return 0;
    char why[512];
    if (tls_configure(why, sizeof(why)) < 0) {
        snprintf(err, errlen, "Failed to configure TLS: %s", why);
        return -1;
    }
    return 0;
}

int tls_apply_config(const char **err) {
    if (!tls_wanted()) return 1;
    char why[512];
    if (tls_configure(why, sizeof(why)) < 0) {
        *err = "Unable to update TLS configuration. Check server logs.";
        return 0;
    }
    return 1;
}

/* A new SSL on the current server (client = 0) or outgoing context. */
static tls_conn *conn_new(int client) {
    pthread_mutex_lock(&ctx_lock);
    SSL_CTX *c = client && ctx_client ? ctx_client : ctx_server;
    if (c) SSL_CTX_up_ref(c);
    pthread_mutex_unlock(&ctx_lock);
    if (!c) return NULL;
    tls_conn *t = lt_xcalloc(1, sizeof(*t));
    t->ssl = SSL_new(c);
    SSL_CTX_free(c); /* the SSL holds its own reference */
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        if (t->ssl) SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        return NULL;
    }
    /* A read BIO that is empty asks for more, it does not mean EOF. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    return t;
}

tls_conn *tls_conn_new(void) {
    tls_conn *t = conn_new(0);
    if (!t) return NULL;
    /* tls-auth-clients, read per connection as Redis does: the context
     * requires a certificate; optional verifies one when sent. */
    int auth = __atomic_load_n(&server.tls_auth_clients, __ATOMIC_RELAXED);
    if (auth == TLS_AUTH_NO) SSL_set_verify(t->ssl, SSL_VERIFY_NONE, NULL);
    else if (auth == TLS_AUTH_OPTIONAL) SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
    SSL_set_accept_state(t->ssl);
    return t;
}

tls_conn *tls_conn_new_outgoing(void) {
    tls_conn *t = conn_new(1);
    if (!t) return NULL;
    SSL_set_connect_state(t->ssl);
    return t;
}

static void drain(tls_conn *t);

int tls_conn_established(const tls_conn *t) { return SSL_is_init_finished(t->ssl); }

static void log_failure(tls_conn *t) {
    char msg[256];
    ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
    ERR_clear_error();
    serverLog(LL_VERBOSE, "%s: %s",
              SSL_is_server(t->ssl) ? "Error accepting a client connection"
                                    : "TLS handshake with the peer failed",
              msg);
}

int tls_conn_handshake(tls_conn *t) {
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    drain(t);
    if (r == 1) return 1;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_SSL) log_failure(t);
    t->failed = 1;
    return -1;
}

void tls_conn_free(tls_conn *t) {
    if (!t) return;
    /* A connection closed cleanly keeps its session in the server's
     * cache (SSL_free drops sessions of connections not shut down); no
     * close_notify is sent, the socket is going away. */
    if (!t->failed && SSL_is_init_finished(t->ssl))
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
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
    if (e == SSL_ERROR_SSL) log_failure(t);
    if (e != SSL_ERROR_ZERO_RETURN) t->failed = 1; /* not the peer's close_notify */
    return -1;
}

int tls_conn_write(tls_conn *t, const void *p, size_t len) {
    const char *s = p;
    while (len) {
        ERR_clear_error();
        int n = SSL_write(t->ssl, s, len > (size_t)INT32_MAX ? INT32_MAX : (int)len);
        drain(t);
        if (n <= 0) {
            t->failed = 1;
            return -1;
        }
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
