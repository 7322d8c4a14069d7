/*
 * listen: listening sockets (see listen.h). Non-blocking, close-on-exec,
 * SO_REUSEADDR, IPV6_V6ONLY for IPv6 addresses so "0.0.0.0" and "::" can be
 * bound together, backlog from tcp-backlog.
 */
#include "server/net/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/log.h"
#include "server/server.h"

#define MAX_LISTEN_FDS 32 /* CONFIG_MAX_BIND addresses, plain and TLS */

static int listen_fds[MAX_LISTEN_FDS];
static int nlisten;

#define LISTEN_BUSY_RETRY_MS 1000

static int bind_one(const char *addr, int port) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (strcmp(addr, "*") == 0) addr = "0.0.0.0";
    int rc = getaddrinfo(addr, portstr, &hints, &res);
    if (rc != 0) {
        serverLog(LL_WARNING, "Invalid bind address '%s': %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    int err = 0;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        goto out;
    }
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
    /* A port just released by an exiting process (its io_uring instance
     * is torn down by the kernel after the exit, holding the listening
     * socket meanwhile) can stay busy for a moment: retry for up to
     * LISTEN_BUSY_RETRY_MS before calling it in use. */
    int r = bind(fd, res->ai_addr, res->ai_addrlen);
    for (int waited = 0; r < 0 && errno == EADDRINUSE && waited < LISTEN_BUSY_RETRY_MS;
         waited += 50) {
        usleep(50 * 1000);
        r = bind(fd, res->ai_addr, res->ai_addrlen);
    }
    if (r < 0 || listen(fd, server.tcp_backlog) < 0) {
        err = -errno;
        close(fd);
        goto out;
    }
    if (nlisten == MAX_LISTEN_FDS) {
        close(fd);
        err = -ENOSPC;
        goto out;
    }
    listen_fds[nlisten++] = fd;
out:
    freeaddrinfo(res);
    return err;
}

int listen_open(void) {
    /* The plain port (with metrics-port beside it), then tls-port on the
     * same addresses (client.c tells a TLS connection by its local port). */
    for (int pass = 0; pass < 2; pass++) {
        int port = pass == 0 ? server.port : server.tls_port;
        if (pass == 1 && port <= 0) break;
        for (int i = 0; i < server.bind_count; i++) {
            const char *addr = server.bind[i];
            int optional = addr[0] == '-';
            if (optional) addr++;
            int err = bind_one(addr, port);
            if (err == 0 && pass == 0 && server.metrics_port) {
                err = bind_one(addr, server.metrics_port);
                if (err && !(optional && (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT ||
                                          err == -EPROTONOSUPPORT))) {
                    serverLog(LL_WARNING, "Could not listen on metrics-port %s:%d: %s", addr,
                              server.metrics_port, strerror(-err));
                    listen_close();
                    return -1;
                }
                err = 0;
            }
            if (err == 0) continue;
            if (optional &&
                (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT || err == -EPROTONOSUPPORT))
                continue;
            serverLog(LL_WARNING,
                      "Warning: Could not create server %s listening socket %s:%d: %s",
                      pass ? "TLS" : "TCP", addr, port, strerror(-err));
            listen_close();
            return -1;
        }
    }
    if (nlisten == 0) {
        serverLog(LL_WARNING, "Configured to not listen anywhere, exiting.");
        return -1;
    }
    return 0;
}

int listen_attach(ev_loop *loop) {
    for (int i = 0; i < nlisten; i++) {
        int err = ev_listen_add(loop, listen_fds[i]);
        if (err) return err;
    }
    return 0;
}

void listen_close(void) {
    for (int i = 0; i < nlisten; i++) close(listen_fds[i]);
    nlisten = 0;
}

int listen_is_metrics_fd_port(const char *laddr) {
    const char *colon = strrchr(laddr, ':');
    return colon && atoi(colon + 1) == server.metrics_port;
}
