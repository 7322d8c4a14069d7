/*
 * test_tls: TLS (tls-port beside the plain port), with CAs, server and
 * client certificates, an encrypted key, a CA directory and DH parameters
 * made at run time by the openssl CLI (no key material in the tree).
 * Clients: redis-cli --tls, redis-benchmark --tls, redis-py (ssl=True with
 * a client certificate), ioredis when installed, and a small OpenSSL client
 * here (tc_*) that checks what was negotiated. Covered: both event
 * backends; tls-auth-clients yes / optional / no; every tls-* directive
 * with an effect; certificate reload by CONFIG SET (old connections stay,
 * new ones use the new certificate, bad files keep the old context with
 * Redis's error); replication over TLS both ways with real Redis; garbage
 * and stalled handshakes closed without affecting others.
 */
#include "../difftest.h"
#include "../harness.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static char dir[64];
static char ca[128], cert[128], key[128], ccert[128], ckey[128];
static char ca2[128], cert2[128], key2[128]; /* a second CA and a server certificate of it */
static char enckey[128], cadir[128], dhfile[128];

/* Runs a shell command line; returns its exit status (or -1) and its
 * output in *out (malloc'd) when out is not NULL. */
static int sh(const char *line, char **out) {
    const char *const argv[] = {"sh", "-c", line, NULL};
    char *o = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 60000, &o, &timed_out);
    if (out) *out = o;
    else free(o);
    if (timed_out || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static int make_certs(void) {
    if (dir[0]) return 1;
    snprintf(dir, sizeof(dir), "/tmp/lt-tls-XXXXXX");
    if (!mkdtemp(dir)) return 0;
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(cert, sizeof(cert), "%s/server.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(ccert, sizeof(ccert), "%s/client.crt", dir);
    snprintf(ckey, sizeof(ckey), "%s/client.key", dir);
    snprintf(ca2, sizeof(ca2), "%s/ca2.crt", dir);
    snprintf(cert2, sizeof(cert2), "%s/server2.crt", dir);
    snprintf(key2, sizeof(key2), "%s/server2.key", dir);
    snprintf(enckey, sizeof(enckey), "%s/server-enc.key", dir);
    snprintf(cadir, sizeof(cadir), "%s/cadir", dir);
    snprintf(dhfile, sizeof(dhfile), "%s/dh.pem", dir);
    char line[4096];
    snprintf(line, sizeof(line),
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
             "-subj /CN=LightningTestCA && "
             "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
             "-subj /CN=localhost && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile ext.cnf && "
             "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
             "-subj /CN=client && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out client.crt -days 2 && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca2.key -out ca2.crt -days 2 "
             "-subj /CN=LightningTestCA2 && "
             "openssl req -newkey rsa:2048 -nodes -keyout server2.key -out server2.csr "
             "-subj /CN=localhost && "
             "openssl x509 -req -in server2.csr -CA ca2.crt -CAkey ca2.key -CAcreateserial "
             "-out server2.crt -days 2 -extfile ext.cnf && "
             "openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key && "
             "mkdir cadir && cp ca.crt cadir/ && openssl rehash cadir && "
             "openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem",
             dir);
    char *out = NULL;
    int rc = sh(line, &out);
    if (rc != 0) fprintf(stderr, "# openssl: %s\n", out ? out : "");
    free(out);
    return rc == 0;
}

/* redis-cli over TLS with the client certificate (with_cert) and args;
 * returns its exit status, output in *out. */
static int tls_cli(int port, int with_cert, const char *args, char **out) {
    char line[2048];
    snprintf(line, sizeof(line), "redis-cli -p %d --tls --cacert %s %s%s%s%s %s", port, ca,
             with_cert ? "--cert " : "", with_cert ? ccert : "", with_cert ? " --key " : "",
             with_cert ? ckey : "", args);
    return sh(line, out);
}

/* ---- A small blocking OpenSSL client (what was negotiated is checked) ---- */

typedef struct tc_opts {
    const char *ca, *cert, *key; /* PEM files; cert/key NULL = none */
    int max_version;             /* 0 or TLS1_2_VERSION ... */
    const char *ciphers;         /* TLS 1.2 cipher list, or NULL */
    SSL_SESSION *session;        /* to resume, or NULL */
} tc_opts;

typedef struct tc {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} tc;

static void tc_close(tc *t) {
    if (!t) return;
    if (t->ssl) SSL_shutdown(t->ssl); /* keeps the session resumable */
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
    free(t);
}

/* One command (inline) and its one-line reply, "" on failure; the reply
 * is valid until the next call. */
static const char *tc_cmd(tc *t, const char *line) {
    static char rep[512];
    rep[0] = '\0';
    char req[256];
    int n = snprintf(req, sizeof(req), "%s\r\n", line);
    if (SSL_write(t->ssl, req, n) != n) return rep;
    size_t len = 0;
    while (len + 1 < sizeof(rep)) {
        int r = SSL_read(t->ssl, rep + len, 1);
        if (r <= 0) {
            rep[0] = '\0';
            return rep;
        }
        if (rep[len++] == '\n') break;
    }
    rep[len] = '\0';
    if (len >= 2) rep[len - 2] = '\0';
    return rep;
}

/* A command whose reply is a bulk string: its content ("" on failure). */
static const char *tc_bulk(tc *t, const char *line) {
    static char body[16384];
    body[0] = '\0';
    const char *head = tc_cmd(t, line);
    if (head[0] != '$') return body;
    long n = atol(head + 1);
    if (n < 0 || (size_t)n + 2 > sizeof(body)) return body;
    long got = 0;
    while (got < n + 2) {
        int r = SSL_read(t->ssl, body + got, (int)(n + 2 - got));
        if (r <= 0) {
            body[0] = '\0';
            return body;
        }
        got += r;
    }
    body[n] = '\0';
    return body;
}

/* Connects, handshakes and checks the connection with a PING; NULL when
 * any of it fails (a refused certificate shows at the first read in
 * TLS 1.3). Reads time out after 10 s so nothing hangs. */
static tc *tc_open(int port, const tc_opts *o) {
    tc *t = calloc(1, sizeof(*t));
    t->fd = raw_connect(port);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->fd < 0 || !t->ctx) goto fail;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL) <= 0) goto fail;
    if (o->cert && (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert) <= 0 ||
                    SSL_CTX_use_PrivateKey_file(t->ctx, o->key, SSL_FILETYPE_PEM) <= 0))
        goto fail;
    if (o->max_version) SSL_CTX_set_max_proto_version(t->ctx, o->max_version);
    if (o->ciphers) SSL_CTX_set_cipher_list(t->ctx, o->ciphers);
    SSL_CTX_set_security_level(t->ctx, 0);
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    if (o->session) SSL_set_session(t->ssl, o->session);
    if (SSL_connect(t->ssl) != 1) goto fail;
    if (strcmp(tc_cmd(t, "PING"), "+PONG") != 0) goto fail;
    return t;
fail:
    ERR_clear_error();
    tc_close(t);
    return NULL;
}

static harness_server *start_tls(int *tls_port, const char *backend, const char *auth) {
    if (!make_certs()) {
        testlib_skip("openssl could not make certificates");
        return NULL;
    }
    *tls_port = harness_free_port();
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", *tls_port);
    return harness_start("tls-port", portstr, "tls-cert-file", cert, "tls-key-file", key,
                         "tls-ca-cert-file", ca, "tls-auth-clients", auth, "io-backend",
                         backend, NULL);
}

static void basic(const char *backend) {
    int tp;
    harness_server *s = start_tls(&tp, backend, "yes");
    if (!s) return;
    char *out = NULL;
    CHECK_EQ_INT(tls_cli(tp, 1, "PING", &out), 0);
    CHECK(out && !strcmp(out, "PONG\n"));
    free(out);
    CHECK_EQ_INT(tls_cli(tp, 1, "SET k fromtls", NULL), 0);
    /* The plain port beside it sees the same data. */
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "GET k"), "bulk:\"fromtls\"");
    /* A value larger than any TLS record and receive buffer, both ways. */
    char line[512];
    snprintf(line, sizeof(line), "head -c 1000000 /dev/zero | tr '\\0' x > %s/big", dir);
    CHECK_EQ_INT(sh(line, NULL), 0);
    snprintf(line, sizeof(line), "-x SET big < %s/big", dir);
    CHECK_EQ_INT(tls_cli(tp, 1, line, NULL), 0);
    CHECK_EQ_STR(cmd(c, "STRLEN big"), "int:1000000");
    CHECK_EQ_INT(tls_cli(tp, 1, "GET big | wc -c", &out), 0);
    CHECK(out && atoi(out) == 1000001);
    free(out);
    /* Pipelined load from many connections. */
    snprintf(line, sizeof(line),
             "redis-benchmark -p %d --tls --cacert %s --cert %s --key %s -P 16 -c 8 -n 20000 "
             "-t set,get -q", tp, ca, ccert, ckey);
    CHECK_EQ_INT(sh(line, &out), 0);
    CHECK(out && strstr(out, "GET:"));
    free(out);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

TEST(tls_io_uring) { basic("auto"); }
TEST(tls_epoll) { basic("epoll"); }

/* tls-auth-clients yes refuses a client without a certificate; optional
 * lets it in. */
TEST(tls_auth_clients) {
    int tp;
    harness_server *s = start_tls(&tp, "auto", "yes");
    if (!s) return;
    char *out = NULL;
    tls_cli(tp, 0, "PING", &out);
    CHECK(out && !strstr(out, "PONG"));
    free(out);
    harness_stop(s);
    s = start_tls(&tp, "auto", "optional");
    REQUIRE(s);
    CHECK_EQ_INT(tls_cli(tp, 0, "PING", &out), 0);
    CHECK(out && !strcmp(out, "PONG\n"));
    free(out);
}

/* Plain text or garbage on the TLS port closes that connection only. */
TEST(tls_garbage) {
    int tp;
    harness_server *s = start_tls(&tp, "auto", "yes");
    if (!s) return;
    redisContext *c = harness_connect(s);
    int fd = raw_connect(tp);
    REQUIRE(fd >= 0);
    raw_sendstr(fd, "PING\r\nGET x\r\n");
    raw_buf b = raw_read_until(fd, 5000);
    CHECK(b.closed);
    CHECK(!strstr(b.data ? b.data : "", "PONG"));
    raw_buf_free(&b);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
    char *out = NULL;
    CHECK_EQ_INT(tls_cli(tp, 1, "PING", &out), 0);
    CHECK(out && !strcmp(out, "PONG\n"));
    free(out);
}

/* A certificate that cannot be loaded stops start-up with the reason. */
TEST(tls_bad_certificate) {
    if (!make_certs()) {
        testlib_skip("openssl could not make certificates");
        return;
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", harness_free_port());
    harness_opts o = {.kind = HARNESS_LIGHTNING,
                      .directives = (const char *const[]){"tls-port", portstr, "tls-cert-file",
                                                          "/nonexistent.crt", "tls-key-file",
                                                          key, NULL},
                      .no_wait = 1};
    harness_server *s = harness_start_opts(&o);
    REQUIRE(s);
    int st = harness_wait_exit(s, 10000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
}

/* Starts a server (kind) with TLS on a free port and the common files,
 * plus extra directives (NULL-terminated, may be NULL). */
static harness_server *start_tls_kind(harness_kind kind, int *tls_port,
                                      const char *const *extra) {
    if (!make_certs()) {
        testlib_skip("openssl could not make certificates");
        return NULL;
    }
    *tls_port = harness_free_port();
    static char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", *tls_port);
    const char *d[64] = {"tls-port", portstr, "tls-cert-file", cert, "tls-key-file", key,
                         "tls-ca-cert-file", ca};
    int n = 8;
    for (int i = 0; extra && extra[i] && n < 62; i++) d[n++] = extra[i];
    d[n] = NULL;
    harness_opts o = {.kind = kind, .directives = d};
    return harness_start_opts(&o);
}
#define START_TLS(tp, ...) start_tls_kind(HARNESS_LIGHTNING, (tp), (const char *const[]){__VA_ARGS__, NULL})

/* CONFIG SET tls-cert-file/tls-key-file: new connections get the new
 * certificate, existing ones continue; files that do not load keep the
 * old context and give Redis's error. */
TEST(tls_reload) {
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "optional");
    if (!s) return;
    redisContext *c = harness_connect(s);
    tc_opts by_ca1 = {.ca = ca}, by_ca2 = {.ca = ca2};
    tc *old = tc_open(tp, &by_ca1);
    REQUIRE(old);
    CHECK(!tc_open(tp, &by_ca2)); /* the server's certificate is CA1's */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-cert-file %s tls-key-file %s", cert2, key2),
                 "status:\"OK\"");
    tc *neu = tc_open(tp, &by_ca2);
    CHECK(neu != NULL);
    CHECK(!tc_open(tp, &by_ca1)); /* new connections see the new certificate */
    CHECK_EQ_STR(tc_cmd(old, "SET k v"), "+OK"); /* the old one continues */
    CHECK_EQ_STR(tc_cmd(old, "GET k"), "$1");
    /* A file that does not load: Redis's error, nothing changes. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-cert-file /nonexistent.crt"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
                 "Unable to update TLS configuration. Check server logs.\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-key-file %s", key), /* not the certificate's key */
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - "
                 "Unable to update TLS configuration. Check server logs.\"");
    char want[256];
    snprintf(want, sizeof(want), "array[bulk:\"tls-cert-file\",bulk:\"%s\"]", cert2);
    CHECK_EQ_STR(cmd(c, "CONFIG GET tls-cert-file"), want);
    tc *again = tc_open(tp, &by_ca2);
    CHECK(again != NULL);
    CHECK(neu && !strcmp(tc_cmd(neu, "PING"), "+PONG"));
    /* Same path, new content (a rotated file): CONFIG SET reloads it. */
    char line[512];
    snprintf(line, sizeof(line), "cp %s %s/rot.crt && cp %s %s/rot.key", cert, dir, key, dir);
    CHECK_EQ_INT(sh(line, NULL), 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-cert-file %s/rot.crt tls-key-file %s/rot.key", dir, dir),
                 "status:\"OK\"");
    CHECK(!tc_open(tp, &by_ca2));
    snprintf(line, sizeof(line), "cp %s %s/rot.crt && cp %s %s/rot.key", cert2, dir, key2, dir);
    CHECK_EQ_INT(sh(line, NULL), 0);
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-cert-file %s/rot.crt", dir), "status:\"OK\"");
    tc *rot = tc_open(tp, &by_ca2);
    CHECK(rot != NULL);
    tc_close(rot);
    tc_close(again);
    tc_close(neu);
    tc_close(old);
}

/* tls-protocols, tls-ciphers, tls-ciphersuites, tls-dh-params-file,
 * tls-key-file-pass, tls-ca-cert-dir, tls-session-caching: each changes
 * what is negotiated. */
TEST(tls_directives) {
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "no");
    if (!s) return;
    redisContext *c = harness_connect(s);
    tc_opts o = {.ca = ca};
    tc *t = tc_open(tp, &o);
    REQUIRE(t);
    CHECK_EQ_STR(SSL_get_version(t->ssl), "TLSv1.3"); /* Redis's default: 1.2 and 1.3 */
    tc_close(t);
    /* tls-protocols TLSv1.2 only; then tls-ciphers picks the 1.2 suite. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-protocols TLSv1.2 tls-ciphers ECDHE-RSA-AES128-GCM-SHA256"),
                 "status:\"OK\"");
    t = tc_open(tp, &o);
    REQUIRE(t);
    CHECK_EQ_STR(SSL_get_version(t->ssl), "TLSv1.2");
    CHECK_EQ_STR(SSL_get_cipher_name(t->ssl), "ECDHE-RSA-AES128-GCM-SHA256");
    tc_close(t);
    /* DHE with the configured parameters (ffdhe2048: 2048 bits). */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-ciphers DHE-RSA-AES256-GCM-SHA384 tls-dh-params-file %s",
                     dhfile), "status:\"OK\"");
    t = tc_open(tp, &o);
    REQUIRE(t);
    CHECK_EQ_STR(SSL_get_cipher_name(t->ssl), "DHE-RSA-AES256-GCM-SHA384");
    EVP_PKEY *tmp = NULL;
    CHECK(SSL_get_peer_tmp_key(t->ssl, &tmp) == 1 && tmp && EVP_PKEY_get_bits(tmp) == 2048);
    EVP_PKEY_free(tmp);
    tc_close(t);
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-dh-params-file %s", cert), /* not DH parameters */
                 "err:\"ERR CONFIG SET failed (possibly related to argument "
                 "'tls-dh-params-file') - Unable to update TLS configuration. Check server "
                 "logs.\"");
    /* tls-protocols TLSv1.3 with one ciphersuite; a 1.2-only client fails. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-protocols TLSv1.3 tls-ciphersuites TLS_AES_128_GCM_SHA256"),
                 "status:\"OK\"");
    t = tc_open(tp, &o);
    REQUIRE(t);
    CHECK_EQ_STR(SSL_get_version(t->ssl), "TLSv1.3");
    CHECK_EQ_STR(SSL_get_cipher_name(t->ssl), "TLS_AES_128_GCM_SHA256");
    tc_close(t);
    tc_opts o12 = {.ca = ca, .max_version = TLS1_2_VERSION};
    CHECK(!tc_open(tp, &o12));
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-protocols bogus"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - "
                 "Unable to update TLS configuration. Check server logs.\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-ciphersuites nonsense"),
                 "err:\"ERR CONFIG SET failed (possibly related to argument "
                 "'tls-ciphersuites') - Unable to update TLS configuration. Check server logs.\"");
    CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"CONFIG", "SET", "tls-protocols", "",
                                                   "tls-ciphersuites", "", "tls-ciphers", "",
                                                   NULL}),
                 "status:\"OK\"");
    /* Session caching: a second connection resumes the first's session;
     * with tls-session-caching no it cannot. */
    for (int caching = 1; caching >= 0; caching--) {
        CHECK_EQ_STR(cmd(c, "CONFIG SET tls-session-caching %s", caching ? "yes" : "no"),
                     "status:\"OK\"");
        t = tc_open(tp, &o);
        REQUIRE(t);
        SSL_SESSION *sess = SSL_get1_session(t->ssl);
        tc_close(t);
        tc_opts ro = {.ca = ca, .session = sess};
        t = tc_open(tp, &ro);
        REQUIRE(t);
        CHECK_EQ_INT(SSL_session_reused(t->ssl), caching);
        tc_close(t);
        SSL_SESSION_free(sess);
    }
    /* tls-key-file-pass: the encrypted key loads with it, not without. */
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-key-file %s", enckey),
                 "err:\"ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - "
                 "Unable to update TLS configuration. Check server logs.\"");
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-key-file %s tls-key-file-pass secret", enckey),
                 "status:\"OK\"");
    t = tc_open(tp, &o);
    CHECK(t != NULL);
    tc_close(t);
    CHECK_EQ_STR(cmd(c, "CONFIG GET tls-key-file-pass"),
                 "array[bulk:\"tls-key-file-pass\",bulk:\"secret\"]");
    /* tls-ca-cert-dir alone verifies client certificates. */
    CHECK_EQ_STR(cmd_argv(c, (const char *const[]){"CONFIG", "SET", "tls-ca-cert-file", "",
                                                   "tls-ca-cert-dir", cadir, "tls-auth-clients",
                                                   "yes", NULL}),
                 "status:\"OK\"");
    tc_opts withcert = {.ca = ca, .cert = ccert, .key = ckey};
    t = tc_open(tp, &withcert);
    CHECK(t != NULL);
    tc_close(t);
    CHECK(!tc_open(tp, &o)); /* no certificate: refused */
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
}

/* An encrypted key without its passphrase, or a bad tls-protocols, stops
 * start-up. */
TEST(tls_bad_start) {
    if (!make_certs()) {
        testlib_skip("openssl could not make certificates");
        return;
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", harness_free_port());
    const char *const *cases[] = {
        (const char *const[]){"tls-port", portstr, "tls-cert-file", cert, "tls-key-file", enckey,
                              "tls-auth-clients", "no", NULL},
        (const char *const[]){"tls-port", portstr, "tls-cert-file", cert, "tls-key-file", enckey,
                              "tls-key-file-pass", "wrong", "tls-auth-clients", "no", NULL},
        (const char *const[]){"tls-port", portstr, "tls-cert-file", cert, "tls-key-file", key,
                              "tls-auth-clients", "no", "tls-protocols", "SSLv2", NULL},
        (const char *const[]){"tls-port", portstr, "tls-cert-file", cert, "tls-key-file", key,
                              NULL}, /* auth-clients yes needs a CA */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        harness_opts o = {.kind = HARNESS_LIGHTNING, .directives = cases[i], .no_wait = 1};
        harness_server *s = harness_start_opts(&o);
        REQUIRE(s);
        int st = harness_wait_exit(s, 10000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
    }
}

/* tls-auth-clients no lets a client without a certificate in; CONFIG SET
 * tls-auth-clients yes applies to the next connection. */
TEST(tls_auth_clients_set) {
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "no");
    if (!s) return;
    tc_opts nocert = {.ca = ca};
    tc *t = tc_open(tp, &nocert);
    REQUIRE(t);
    redisContext *c = harness_connect(s);
    CHECK_EQ_STR(cmd(c, "CONFIG SET tls-auth-clients yes"), "status:\"OK\"");
    CHECK(!tc_open(tp, &nocert));
    CHECK_EQ_STR(tc_cmd(t, "PING"), "+PONG");
    tc_opts other = {.ca = ca, .cert = cert2, .key = key2}; /* signed by another CA */
    CHECK(!tc_open(tp, &other));
    tc_close(t);
}

/* A client that stalls mid-handshake is closed after handshake-timeout-ms;
 * meanwhile the same (only) I/O thread serves others, TLS ones included. */
TEST(tls_handshake_stall) {
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "no", "io-threads", "1",
                                  "handshake-timeout-ms", "500");
    if (!s) return;
    redisContext *c = harness_connect(s);
    int stall = raw_connect(tp);
    REQUIRE(stall >= 0);
    /* A record header announcing a 512-byte handshake, then 10 bytes. */
    static const unsigned char part[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
                                         0xfc, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00};
    REQUIRE(raw_send(stall, part, sizeof(part)) == 0);
    int idle = raw_connect(tp); /* connects and says nothing */
    REQUIRE(idle >= 0);
    tc_opts o = {.ca = ca};
    tc *t = tc_open(tp, &o);
    CHECK(t != NULL);
    CHECK_EQ_STR(cmd(c, "PING"), "status:\"PONG\"");
    raw_buf b = raw_read_until(stall, 10000);
    CHECK(b.closed);
    raw_buf_free(&b);
    b = raw_read_until(idle, 10000);
    CHECK(b.closed);
    raw_buf_free(&b);
    raw_close(stall);
    raw_close(idle);
    /* An established connection is not subject to it. */
    harness_sleep_ms(800);
    CHECK(t && !strcmp(tc_cmd(t, "PING"), "+PONG"));
    tc_close(t);
    CHECK_EQ_STR(cmd(c, "CONFIG GET handshake-timeout-ms"),
                 "array[bulk:\"handshake-timeout-ms\",bulk:\"500\"]");
}

static int wait_key(redisContext *r, const char *k, const char *want) {
    for (int i = 0; i < 200; i++) {
        if (!strcmp(cmd(r, "GET %s", k), want)) return 1;
        harness_sleep_ms(50);
    }
    return 0;
}

/* tls-replication yes: the replica reaches the master's tls-port with its
 * client certificate (tls-client-cert-file), the master requiring one;
 * Lightning with Lightning and with real Redis on either side. */
static void replication_case(harness_kind mk, harness_kind rk) {
    if ((mk == HARNESS_REDIS || rk == HARNESS_REDIS) && !harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    int mtp, rtp;
    harness_server *m = start_tls_kind(mk, &mtp, (const char *const[]){"tls-auth-clients", "yes",
                                                                       NULL});
    if (!m) return;
    harness_server *r = start_tls_kind(
        rk, &rtp, (const char *const[]){"tls-replication", "yes", "tls-client-cert-file", ccert,
                                        "tls-client-key-file", ckey, NULL});
    REQUIRE(r);
    redisContext *mc = harness_connect(m), *rc = harness_connect(r);
    CHECK_EQ_STR(cmd(mc, "SET before sync"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(rc, "REPLICAOF 127.0.0.1 %d", mtp), "status:\"OK\"");
    CHECK(wait_key(rc, "before", "bulk:\"sync\""));
    CHECK_EQ_STR(cmd(mc, "SET after stream"), "status:\"OK\"");
    CHECK(wait_key(rc, "after", "bulk:\"stream\""));
    CHECK_EQ_STR(cmd(mc, "INCRBY n 5"), "int:5");
    CHECK(wait_key(rc, "n", "bulk:\"5\""));
    harness_stop(r);
    harness_stop(m);
}

TEST(tls_replication_lightning) { replication_case(HARNESS_LIGHTNING, HARNESS_LIGHTNING); }
TEST(tls_replication_redis_master) { replication_case(HARNESS_REDIS, HARNESS_LIGHTNING); }
TEST(tls_replication_redis_replica) { replication_case(HARNESS_LIGHTNING, HARNESS_REDIS); }

/* A replica whose certificate the master refuses never syncs (and keeps
 * serving its own data). */
TEST(tls_replication_refused) {
    int mtp, rtp;
    harness_server *m = START_TLS(&mtp, "tls-auth-clients", "yes");
    if (!m) return;
    harness_server *r = START_TLS(&rtp, "tls-replication", "yes", "tls-client-cert-file", cert2,
                                  "tls-client-key-file", key2, "tls-auth-clients", "no");
    REQUIRE(r);
    redisContext *mc = harness_connect(m), *rc = harness_connect(r);
    CHECK_EQ_STR(cmd(mc, "SET k master"), "status:\"OK\"");
    CHECK_EQ_STR(cmd(rc, "REPLICAOF 127.0.0.1 %d", mtp), "status:\"OK\"");
    harness_sleep_ms(1500);
    CHECK_EQ_STR(cmd(rc, "GET k"), "nil");
    char st[64];
    CHECK(harness_info(rc, "replication", "master_link_status", st, sizeof(st)) == 1 &&
          !strcmp(st, "down"));
}

/* tls-cluster yes: the cluster bus runs over TLS between Lightning nodes
 * and a real Redis node (all three meet and keep their links up); a plain
 * node cannot join them. */
static int wait_has(redisContext *c, const char *want, const char *sub) {
    const char *const argv[] = {"CLUSTER", sub, NULL};
    for (int i = 0; i < 300; i++) {
        if (strstr(cmd_argv(c, argv), want)) return 1;
        harness_sleep_ms(50);
    }
    fprintf(stderr, "# waited for %s, last reply: %s\n", want, cmd_argv(c, argv));
    return 0;
}

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

TEST(tls_cluster_bus) {
    if (!harness_have_redis()) {
        testlib_skip("redis-server not found");
        return;
    }
    int tp[3], cp[3];
    harness_server *n[3];
    char cps[3][16];
    for (int i = 0; i < 3; i++) {
        cp[i] = harness_free_port();
        snprintf(cps[i], sizeof(cps[i]), "%d", cp[i]);
        n[i] = start_tls_kind(i == 0 ? HARNESS_REDIS : HARNESS_LIGHTNING, &tp[i],
                              (const char *const[]){"cluster-enabled", "yes", "cluster-port",
                                                    cps[i], "cluster-node-timeout", "3000",
                                                    "tls-cluster", "yes", NULL});
        REQUIRE(n[i]);
    }
    redisContext *c[3];
    for (int i = 0; i < 3; i++) c[i] = harness_connect(n[i]);
    CHECK_EQ_STR(cmd(c[1], "CLUSTER MEET 127.0.0.1 %d %d", n[0]->port, cp[0]), "status:\"OK\"");
    CHECK_EQ_STR(cmd(c[2], "CLUSTER MEET 127.0.0.1 %d %d", n[1]->port, cp[1]), "status:\"OK\"");
    for (int i = 0; i < 3; i++) CHECK(wait_has(c[i], "cluster_known_nodes:3", "INFO"));
    /* Every node sees the other two with their links connected. */
    for (int i = 0; i < 3; i++) {
        int ok = 0;
        for (int k = 0; k < 300 && !ok; k++) {
            ok = count_of(cmd(c[i], "CLUSTER NODES"), " connected") == 3 &&
                 !strstr(cmd(c[i], "CLUSTER NODES"), "handshake");
            if (!ok) harness_sleep_ms(50);
        }
        CHECK(ok);
    }
    /* As Redis, a node announces its TLS port and (pport) its plain one:
     * Redis shows the one matching its client's connection. */
    tc_opts withcert = {.ca = ca, .cert = ccert, .key = ckey};
    tc *rt = tc_open(tp[0], &withcert);
    REQUIRE(rt);
    for (int i = 1; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof(want), "127.0.0.1:%d@%d ", n[i]->port, cp[i]);
        CHECK(wait_has(c[0], want, "NODES"));
        snprintf(want, sizeof(want), "127.0.0.1:%d@%d ", tp[i], cp[i]);
        CHECK(strstr(tc_bulk(rt, "CLUSTER NODES"), want) != NULL);
    }
    tc_close(rt);
    /* A node without tls-cluster speaks plain text to the TLS bus: it
     * never joins. */
    char pcp[16];
    snprintf(pcp, sizeof(pcp), "%d", harness_free_port());
    harness_server *plain = harness_start("cluster-enabled", "yes", "cluster-port", pcp,
                                          "cluster-node-timeout", "3000", NULL);
    REQUIRE(plain);
    redisContext *pc = harness_connect(plain);
    CHECK_EQ_STR(cmd(pc, "CLUSTER MEET 127.0.0.1 %d %d", n[1]->port, cp[1]), "status:\"OK\"");
    harness_sleep_ms(1500);
    CHECK(strstr(cmd(c[1], "CLUSTER INFO"), "cluster_known_nodes:3") != NULL);
    CHECK(strstr(cmd(pc, "CLUSTER INFO"), "cluster_known_nodes:3") == NULL);
}

/* redis-py (ssl=True, a client certificate) and ioredis run a smoke test
 * over TLS; without a certificate they are refused. */
TEST(tls_redispy) {
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "yes");
    if (!s) return;
    char port[16];
    snprintf(port, sizeof(port), "%d", tp);
    const char *argv[] = {"/usr/bin/python3", "tests/py/tls_smoke.py", port, ca, ccert, ckey, NULL};
    char *out = NULL;
    int timed_out = 0;
    int st = harness_run_capture(argv, 60000, &out, &timed_out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        free(out);
        testlib_skip("/usr/bin/python3 has no redis module (Debian python3-redis)");
        return;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("%s", out ? out : "");
    CHECK(!timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(out && strstr(out, "tls smoke ok") && strstr(out, "refused without certificate"));
    free(out);
}

TEST(tls_ioredis) {
    const char *cache = getenv("LIGHTNING_DEPS_CACHE");
    const char *home = getenv("HOME");
    char modules[512], probe[600];
    if (cache) snprintf(modules, sizeof(modules), "%s/bullmq/node_modules", cache);
    else snprintf(modules, sizeof(modules), "%s/.cache/lightning-deps/bullmq/node_modules",
                  home ? home : "/root");
    snprintf(probe, sizeof(probe), "%s/ioredis/package.json", modules);
    if (access(probe, R_OK) != 0) {
        testlib_skip("ioredis is not installed (deps/install.sh installs it with bullmq)");
        return;
    }
    int tp;
    harness_server *s = START_TLS(&tp, "tls-auth-clients", "yes");
    if (!s) return;
    char port[16];
    snprintf(port, sizeof(port), "%d", tp);
    setenv("NODE_PATH", modules, 1);
    const char *argv[] = {"node", "tests/node/tls_smoke.js", port, ca, ccert, ckey, NULL};
    char *out = NULL;
    int st = harness_run_capture(argv, 60000, &out, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("%s", out ? out : "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(out && strstr(out, "tls smoke ok") && strstr(out, "refused without certificate"));
    free(out);
}

int main(void) {
    RUN(tls_io_uring);
    RUN(tls_epoll);
    RUN(tls_auth_clients);
    RUN(tls_garbage);
    RUN(tls_bad_certificate);
    RUN(tls_reload);
    RUN(tls_directives);
    RUN(tls_bad_start);
    RUN(tls_auth_clients_set);
    RUN(tls_handshake_stall);
    RUN(tls_replication_lightning);
    RUN(tls_replication_redis_master);
    RUN(tls_replication_redis_replica);
    RUN(tls_replication_refused);
    RUN(tls_cluster_bus);
    RUN(tls_redispy);
    RUN(tls_ioredis);
    int rc = testlib_finish();
    if (dir[0]) {
        char line[128];
        snprintf(line, sizeof(line), "rm -rf %s", dir);
        sh(line, NULL);
    }
    return rc;
}
