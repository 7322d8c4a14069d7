/*
 * busio.c — the cluster bus thread (see busio.h).
 *
 * tls-cluster yes: every bus connection is TLS (net/tls.h's tls_conn over
 * the socket; outgoing ones present tls-client-cert-file or the server's
 * certificate and verify the peer against the CA, accepted ones apply
 * tls-auth-clients). The bus messages in wbuf are encrypted only once the
 * handshake is done; a handshake that has not finished within the node
 * timeout fails the link like a connect that hangs.
 */
#include "cluster/busio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "cluster/nodesconf.h"
#include "server/log.h"
#include "server/net/tls.h"
#include "server/server.h"

#define BUSIO_MAX_LISTEN 16
#define BUSIO_HARD_SENDBUF (64u << 20)
#define BUSIO_READ_CHUNK 16384

typedef struct bio_conn {
    int fd;
    cl_link *link;     /* NULL once the state let go of it */
    int connecting;
    int dead;          /* to be closed and freed by the bus thread */
    int want_out;      /* EPOLLOUT armed */
    int64_t start_ms;
    unsigned char *rbuf;
    size_t rlen, rcap;
    unsigned char *wbuf;
    size_t wlen, wcap;
    tls_conn *tls;     /* tls-cluster: the session over fd, else NULL */
    struct bio_conn *next;
} bio_conn;

/* Output the socket can take now: messages (under TLS once the handshake
 * is done), or TLS records. */
static int conn_has_output(const bio_conn *c) {
    if (!c->tls) return c->wlen > 0;
    const char *p;
    return (c->wlen > 0 && tls_conn_established(c->tls)) || tls_conn_pending(c->tls, &p) > 0;
}

struct busio {
    pthread_mutex_t *mutex;
    cl_state *st;
    char *save_path;
    int epfd, evfd;
    int lfds[BUSIO_MAX_LISTEN];
    int nlfds;
    bio_conn *conns;
    pthread_t thread;
    int running;
    int stop; /* __atomic_* accessed */
    uint64_t sendbuf_limit;
    uint64_t limit_exceeded;
    int64_t last_save_error_log;
    void (*after_round)(void);
};

void busio_set_after_round(busio *b, void (*fn)(void)) { b->after_round = fn; }

/* Tags for the listening sockets and the eventfd in epoll's data. */
#define TAG_LISTEN ((uintptr_t)1)
#define TAG_WAKE ((uintptr_t)2)

static void conn_arm(busio *b, bio_conn *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

static bio_conn *conn_new(busio *b, int fd, int connecting) {
    bio_conn *c = lt_xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->connecting = connecting;
    c->start_ms = lt_mstime();
    if (server.tls_cluster && tls_enabled()) {
        c->tls = connecting ? tls_conn_new_outgoing() : tls_conn_new();
        if (!c->tls) c->dead = 1; /* reaped at the end of the round */
    }
    struct epoll_event ev = {.events = EPOLLIN | (connecting ? EPOLLOUT : 0), .data.ptr = c};
    c->want_out = connecting;
    epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev);
    c->next = b->conns;
    b->conns = c;
    return c;
}

/* The state is done with the link, or the connection failed: the
 * connection dies (freed after this round's events). */
static void conn_kill(bio_conn *c) {
    c->dead = 1;
    c->link = NULL;
}

/* The connection failed under a live link: tell the state (it frees l). */
static void conn_fail(busio *b, bio_conn *c) {
    cl_link *l = c->link;
    conn_kill(c);
    if (l) cl_link_closed(b->st, l);
}

/* ---- cl_io ------------------------------------------------------------------ */

static int io_connect(void *ctx, cl_link *l, const char *ip, int cport) {
    busio *b = ctx;
    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)cport);
        slen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)cport);
        slen = sizeof(*s6);
    } else {
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    if (connect(fd, (struct sockaddr *)&ss, slen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    bio_conn *c = conn_new(b, fd, 1);
    c->link = l;
    l->io = c;
    snprintf(l->peer_ip, sizeof(l->peer_ip), "%s", ip);
    busio_wake(b);
    return 0;
}

static void io_send(void *ctx, cl_link *l, const unsigned char *buf, size_t len) {
    busio *b = ctx;
    bio_conn *c = l->io;
    if (!c || c->dead) return;
    uint64_t limit = b->sendbuf_limit ? b->sendbuf_limit : BUSIO_HARD_SENDBUF;
    if (c->wlen + len > limit) {
        /* A peer that does not read: drop the link (it reconnects). */
        b->limit_exceeded++;
        c->wlen = 0;
        l->io = NULL;
        conn_kill(c);
        /* The state frees the link when it next looks (no io: closed). */
        return;
    }
    if (c->wlen + len > c->wcap) {
        c->wcap = (c->wlen + len) * 2;
        c->wbuf = lt_xrealloc(c->wbuf, c->wcap);
    }
    memcpy(c->wbuf + c->wlen, buf, len);
    c->wlen += len;
    l->send_buffer_allocated = c->wcap;
    l->send_buffer_used = c->wlen;
}

static void io_close(void *ctx, cl_link *l) {
    busio *b = ctx;
    bio_conn *c = l->io;
    l->io = NULL;
    if (c) conn_kill(c);
    busio_wake(b);
}

static void io_local_ip(void *ctx, cl_link *l, char *out, size_t cap) {
    (void)ctx;
    bio_conn *c = l->io;
    out[0] = '\0';
    if (!c) return;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &slen) < 0) return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    } else if (ss.ss_family == AF_INET6) {
        struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
        else inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    }
}

static int64_t io_now(void *ctx) {
    (void)ctx;
    return lt_mstime();
}

static uint64_t io_random(void *ctx) {
    (void)ctx;
    return lt_random_u64();
}

void busio_fill_io(busio *b, cl_io *io) {
    memset(io, 0, sizeof(*io));
    io->ctx = b;
    io->connect = io_connect;
    io->send = io_send;
    io->close = io_close;
    io->local_ip = io_local_ip;
    io->now_ms = io_now;
    io->random = io_random;
}

/* ---- The thread --------------------------------------------------------------- */

static void handle_accept(busio *b, int lfd) {
    /* Bounded: at most 64 accepts per readiness, the rest next round. */
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t slen = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int yes = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
        char ip[INET6_ADDRSTRLEN] = "";
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
        } else if (ss.ss_family == AF_INET6) {
            struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof(ip));
            else inet_ntop(AF_INET6, a, ip, sizeof(ip));
        }
        bio_conn *c = conn_new(b, fd, 0);
        c->link = cl_link_accepted(b->st, c, ip);
    }
}

static void flush_conn(busio *b, bio_conn *c);

/* Plaintext bytes from the connection: > 0, 0 at EOF, -1 with errno
 * (EAGAIN: nothing for now). TLS: ciphertext is read and fed until the
 * session yields plaintext; handshake records it answers are pending. */
static ssize_t conn_read(bio_conn *c, unsigned char *buf, size_t cap) {
    if (!c->tls) return read(c->fd, buf, cap);
    for (int i = 0; i < 16; i++) {
        ssize_t r = tls_conn_read(c->tls, (char *)buf, cap);
        if (r > 0) return r;
        if (r < 0) {
            errno = ECONNRESET;
            return -1;
        }
        char cbuf[BUSIO_READ_CHUNK];
        ssize_t n = read(c->fd, cbuf, sizeof(cbuf));
        if (n <= 0) return n;
        tls_conn_feed(c->tls, cbuf, (size_t)n);
    }
    errno = EAGAIN; /* more next readiness (bounded work per event) */
    return -1;
}

static void handle_read(busio *b, bio_conn *c) {
    for (int round = 0; round < 16 && !c->dead; round++) {
        if (c->rcap - c->rlen < BUSIO_READ_CHUNK) {
            c->rcap = c->rcap ? c->rcap * 2 : 2 * BUSIO_READ_CHUNK;
            if (c->rcap > CBUS_MAX_MSG + BUSIO_READ_CHUNK) c->rcap = CBUS_MAX_MSG + BUSIO_READ_CHUNK;
            c->rbuf = lt_xrealloc(c->rbuf, c->rcap);
        }
        ssize_t n = conn_read(c, c->rbuf + c->rlen, c->rcap - c->rlen);
        int err = errno; /* OpenSSL clears errno */
        if (c->tls && conn_has_output(c)) flush_conn(b, c); /* handshake records */
        if (c->dead) return;
        if (n == 0 || (n < 0 && err != EAGAIN && err != EINTR)) {
            conn_fail(b, c);
            return;
        }
        if (n < 0) return;
        c->rlen += (size_t)n;
        /* Every complete message in the buffer. */
        size_t off = 0;
        while (!c->dead && c->rlen - off >= 8) {
            uint32_t tl = cbus_frame_len(c->rbuf + off);
            if (tl == 0) {
                serverLog(LL_VERBOSE, "Cluster bus: bad message header, closing the link");
                conn_fail(b, c);
                return;
            }
            if (c->rlen - off < tl) break;
            cl_link *l = c->link;
            if (!l) return;
            if (cl_process(b->st, l, c->rbuf + off, tl) != 0) return; /* link freed */
            off += tl;
        }
        if (c->dead) return;
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
        if ((size_t)n < BUSIO_READ_CHUNK) return;
    }
}

/* TLS: encrypts the messages once the handshake is done (advancing it
 * otherwise), then writes the records. */
static void flush_tls(busio *b, bio_conn *c) {
    if (!tls_conn_established(c->tls) && tls_conn_handshake(c->tls) < 0) {
        conn_fail(b, c);
        return;
    }
    if (tls_conn_established(c->tls) && c->wlen) {
        if (tls_conn_write(c->tls, c->wbuf, c->wlen) < 0) {
            conn_fail(b, c);
            return;
        }
        c->wlen = 0;
    }
    const char *p;
    size_t len;
    while ((len = tls_conn_pending(c->tls, &p)) > 0) {
        ssize_t n = write(c->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            conn_fail(b, c);
            return;
        }
        tls_conn_consumed(c->tls, (size_t)n);
    }
    if (c->link) c->link->send_buffer_used = c->wlen;
    if (conn_has_output(c) != (c->want_out != 0)) conn_arm(b, c, conn_has_output(c));
}

static void flush_conn(busio *b, bio_conn *c) {
    if (c->tls) {
        flush_tls(b, c);
        return;
    }
    size_t off = 0;
    while (off < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + off, c->wlen - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            memmove(c->wbuf, c->wbuf + off, c->wlen - off);
            c->wlen -= off;
            conn_fail(b, c);
            return;
        }
        off += (size_t)n;
    }
    memmove(c->wbuf, c->wbuf + off, c->wlen - off);
    c->wlen -= off;
    if (c->link) c->link->send_buffer_used = c->wlen;
    if ((c->wlen > 0) != (c->want_out != 0)) conn_arm(b, c, c->wlen > 0);
}

static void handle_connected(busio *b, bio_conn *c) {
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
        conn_fail(b, c);
        return;
    }
    c->connecting = 0;
    conn_arm(b, c, 0);
    if (c->link) cl_link_connected(b->st, c->link);
    if (c->tls && !c->dead) flush_conn(b, c); /* the ClientHello */
}

static void reap(busio *b) {
    int64_t now = lt_mstime();
    int64_t timeout = b->st->set.node_timeout_ms;
    if (timeout < 1000) timeout = 1000;
    for (bio_conn **p = &b->conns; *p;) {
        bio_conn *c = *p;
        /* A connect that hangs is given up after node_timeout. */
        if (!c->dead && c->connecting && now - c->start_ms > timeout) conn_fail(b, c);
        /* So is a TLS handshake. */
        if (!c->dead && c->tls && !tls_conn_established(c->tls) && now - c->start_ms > timeout)
            conn_fail(b, c);
        /* A link the state forgot (output limit, say) without being told. */
        if (!c->dead && c->link && c->link->io != c) conn_kill(c);
        if (c->dead) {
            *p = c->next;
            close(c->fd); /* removes it from epoll */
            tls_conn_free(c->tls);
            free(c->rbuf);
            free(c->wbuf);
            free(c);
            continue;
        }
        p = &c->next;
    }
    /* Links whose connection the output limit dropped: closed for the
     * state too (between rounds every live link has its connection). */
    for (cl_link *l = b->st->links, *next; l; l = next) {
        next = l->next_all;
        if (!l->io) cl_link_closed(b->st, l);
    }
}

static void *bus_thread(void *arg) {
    busio *b = arg;
    struct epoll_event evs[64];
    int64_t next_cron = lt_mstime();
    while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
        int64_t now = lt_mstime();
        int wait = next_cron > now ? (int)(next_cron - now) : 0;
        if (wait > 100) wait = 100;
        int n = epoll_wait(b->epfd, evs, 64, wait);
        pthread_mutex_lock(b->mutex);
        for (int i = 0; i < n; i++) {
            uintptr_t tag = (uintptr_t)evs[i].data.ptr;
            if (tag == TAG_WAKE) {
                uint64_t v;
                if (read(b->evfd, &v, sizeof(v)) < 0) { /* drained */ }
                continue;
            }
            if ((tag & 3) == TAG_LISTEN) {
                handle_accept(b, b->lfds[tag >> 2]);
                continue;
            }
            bio_conn *c = evs[i].data.ptr;
            if (c->dead) continue;
            if (c->connecting) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) handle_connected(b, c);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) handle_read(b, c);
            if (!c->dead && (evs[i].events & EPOLLOUT)) flush_conn(b, c);
        }
        now = lt_mstime();
        if (now >= next_cron) {
            cl_cron(b->st);
            next_cron = now + 100;
        }
        /* nodes.conf first, then the queued messages: a vote (lastVoteEpoch)
         * is on disk before its FAILOVER_AUTH_ACK leaves, as in Redis. */
        if (b->st->todo_save && b->save_path) {
            if (cl_conf_save(b->st, b->save_path) == 0) {
                b->st->todo_save = 0;
            } else if (now - b->last_save_error_log > 10000) {
                b->last_save_error_log = now;
                serverLog(LL_WARNING, "Could not save the cluster configuration to %s: %s",
                          b->save_path, strerror(errno));
            }
        }
        for (bio_conn *c = b->conns; c; c = c->next)
            if (!c->dead && !c->connecting && conn_has_output(c)) flush_conn(b, c);
        reap(b);
        pthread_mutex_unlock(b->mutex);
        if (b->after_round) b->after_round();
    }
    return NULL;
}

/* ---- Lifecycle -------------------------------------------------------------------- */

static int listen_one(busio *b, const char *addr, int port) {
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (!strcmp(addr, "*")) addr = "0.0.0.0";
    if (getaddrinfo(addr, portstr, &hints, &res) != 0) return -EINVAL;
    int err = 0;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
    } else {
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof(yes));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 511) < 0) {
            err = -errno;
            close(fd);
        } else if (b->nlfds == BUSIO_MAX_LISTEN) {
            close(fd);
            err = -ENOSPC;
        } else {
            b->lfds[b->nlfds++] = fd;
        }
    }
    freeaddrinfo(res);
    return err;
}

busio *busio_open(char **addrs, int naddrs, int cport, pthread_mutex_t *mutex) {
    busio *b = lt_xcalloc(1, sizeof(*b));
    b->mutex = mutex;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    b->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (int i = 0; i < naddrs; i++) {
        const char *a = addrs[i];
        int optional = a[0] == '-';
        if (optional) a++;
        int err = listen_one(b, a, cport);
        if (err == 0) continue;
        if (optional && (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)) continue;
        serverLog(LL_WARNING, "Could not bind the cluster bus on %s:%d: %s", a, cport,
                  strerror(-err));
        busio_stop(b);
        return NULL;
    }
    if (b->epfd < 0 || b->evfd < 0 || b->nlfds == 0) {
        serverLog(LL_WARNING, "Could not open the cluster bus on port %d", cport);
        busio_stop(b);
        return NULL;
    }
    for (int i = 0; i < b->nlfds; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(((uintptr_t)i << 2) | TAG_LISTEN)};
        epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->lfds[i], &ev);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)TAG_WAKE};
    epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->evfd, &ev);
    return b;
}

int busio_start(busio *b, cl_state *st, const char *save_path) {
    b->st = st;
    b->save_path = save_path ? strdup(save_path) : NULL;
    if (pthread_create(&b->thread, NULL, bus_thread, b) != 0) return -1;
    pthread_setname_np(b->thread, "cluster-bus");
    b->running = 1;
    return 0;
}

void busio_wake(busio *b) {
    uint64_t one = 1;
    if (b && b->evfd >= 0 && write(b->evfd, &one, sizeof(one)) < 0) { /* already pending */ }
}

void busio_stop(busio *b) {
    if (!b) return;
    if (b->running) {
        __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
        busio_wake(b);
        pthread_join(b->thread, NULL);
    }
    for (bio_conn *c = b->conns, *next; c; c = next) {
        next = c->next;
        if (c->link) c->link->io = NULL;
        close(c->fd);
        tls_conn_free(c->tls);
        free(c->rbuf);
        free(c->wbuf);
        free(c);
    }
    for (int i = 0; i < b->nlfds; i++) close(b->lfds[i]);
    if (b->epfd >= 0) close(b->epfd);
    if (b->evfd >= 0) close(b->evfd);
    free(b->save_path);
    free(b);
}

uint64_t busio_buffer_limit_exceeded(busio *b) { return b ? b->limit_exceeded : 0; }
void busio_set_sendbuf_limit(busio *b, uint64_t bytes) {
    if (b) b->sendbuf_limit = bytes;
}
