/*
 * test_tls: clients over TLS (tls-port beside the plain port), with a CA,
 * a server and a client certificate made at run time by the openssl CLI
 * (no key material in the tree). redis-cli --tls and redis-benchmark --tls
 * are the clients; both event backends; tls-auth-clients yes / optional;
 * a client that speaks plain text to the TLS port is closed without
 * affecting others; a bad certificate path stops start-up.
 */
#include "../harness.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[64];
static char ca[128], cert[128], key[128], ccert[128], ckey[128];

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
    char line[2048];
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
             "-out client.crt -days 2",
             dir);
    char *out = NULL;
    int rc = sh(line, &out);
    if (rc != 0) fprintf(stderr, "# openssl: %s\n", out ? out : "");
    free(out);
    return rc == 0;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
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

static harness_server *start_tls(int *tls_port, const char *backend, const char *auth) {
    if (!make_certs()) {
        testlib_skip("openssl could not make certificates");
        return NULL;
    }
    *tls_port = free_port();
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
    snprintf(portstr, sizeof(portstr), "%d", free_port());
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

int main(void) {
    RUN(tls_io_uring);
    RUN(tls_epoll);
    RUN(tls_auth_clients);
    RUN(tls_garbage);
    RUN(tls_bad_certificate);
    int rc = testlib_finish();
    if (dir[0]) {
        char line[128];
        snprintf(line, sizeof(line), "rm -rf %s", dir);
        sh(line, NULL);
    }
    return rc;
}
