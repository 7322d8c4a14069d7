/*
 * client: connection lifecycle, input processing and output flushing (see
 * client.h for ownership and threading).
 *
 * Input: bytes from on_recv are parsed in place when nothing is buffered
 * (the common case: no copy); only the tail of an incomplete command is
 * copied into c->qbuf. Commands run in order; a pipeline runs in batches
 * (see "Pipeline batches"): the complete commands already received are
 * parsed ahead, their keys prefetched together, then run one by one.
 * The pipeline stops (leaving the rest in qbuf) when the client must wait:
 * its pending output passed client-output-backpressure, a CLIENT PAUSE
 * holds it, it blocked, or it is closing.
 *
 * Output: client_queue_write() puts the client on its worker's list; at the
 * end of the loop turn client_flush_writes() hands each one's queued bytes
 * to the kernel in one send. on_sent() releases what was written.
 *
 * Nested polls (worker_poll_nested, from a busy script's hook): the other
 * clients of the thread are served as in a normal turn, except the
 * protected ones (see client_nested_protected): their received bytes,
 * end of input and send follow-ups are held in c->held and replayed in
 * order by client_replay_deferred at the next before_wait.
 */
#include "server/net/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/util.h"
#include "engine/prefetch.h"
#include "server/acl.h"
#include "server/net/tls.h"
#include "repl/repl.h"
#include "server/cmd/blocking.h"
#include "server/cmd/commands.h"
#include "server/cmd/dispatch.h"
#include "server/log.h"
#include "server/net/listen.h"
#include "server/cmd/multi.h"
#include "server/cmd/pubsub.h"
#include "server/cmd/tracking.h"
#include "server/metrics.h"
#include "server/monitor.h"
#include "server/persist/backup.h"
#include "server/net/reply.h"
#include "server/server.h"
#include "server/net/worker.h"

#define QBUF_MIN 1024

static void format_addr(int fd, int local, char *out, size_t outlen) {
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    int r = local ? getsockname(fd, (struct sockaddr *)&sa, &salen)
                  : getpeername(fd, (struct sockaddr *)&sa, &salen);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (r == 0 && sa.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (r == 0 && sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(out, outlen, "%s:%d", ip, port);
}

static void set_keepalive(int fd, int interval) {
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    if (interval <= 0) return;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof(yes));
    int idle = interval, intvl = interval / 3 ? interval / 3 : 1, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* Is the peer on a loopback address? */
static int peer_is_loopback(int fd) {
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    if (getpeername(fd, (struct sockaddr *)&sa, &salen) < 0) return 0;
    if (sa.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

/* Redis's protected mode: while the default user needs no password, only
 * loopback clients are served; others get the explanation and are closed. */
static int local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static int protected_mode_denies(int fd) {
    if (!server.protected_mode || acl_auth_required()) return 0;
    if (peer_is_loopback(fd)) return 0;
    static const char msg[] =
        "-DENIED Lightning is running in protected mode because protected mode is enabled "
        "and no password is set for the default user. In this mode connections are only "
        "accepted from the loopback interface. To accept other clients, set a password "
        "with requirepass, or disable protected mode with 'CONFIG SET protected-mode no' "
        "from a loopback connection, or start the server with '--protected-mode no'.\r\n";
    if (write(fd, msg, sizeof(msg) - 1) < 0) { /* best effort, closing anyway */ }
    return 1;
}

static client *client_create_generic(worker *w, int fd, uint64_t id, int master,
                                      tls_conn *tls);

client *client_create(worker *w, int fd, uint64_t id) {
    return client_create_generic(w, fd, id, 0, NULL);
}

client *client_create_master(worker *w, int fd, uint64_t id, tls_conn *tls) {
    return client_create_generic(w, fd, id, 1, tls);
}

static client *client_create_generic(worker *w, int fd, uint64_t id, int master,
                                      tls_conn *tls) {
    if (!master && protected_mode_denies(fd)) {
        close(fd);
        __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    client *c = calloc(1, sizeof(*c));
    if (!c) {
        tls_conn_free(tls);
        close(fd);
        __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    set_keepalive(fd, server.tcp_keepalive);
    c->id = id;
    c->owner = w;
    c->resp = 2;
    c->ctime_ms = c->last_interaction_ms = w->now_ms;
    /* Every connection starts as the default user, authenticated when it
     * needs no password (Redis's createClient); this node's master is. */
    c->user = acl_user_ref(acl_default_user());
    if (!acl_auth_required() || master) c->flags |= CLIENT_AUTHENTICATED;
    if (master) c->flags |= CLIENT_MASTER | CLIENT_REPLY_OFF;
    resp_parser_init(&c->parser, server.proto_max_bulk_len);
    c->parser.unauthenticated = !(c->flags & CLIENT_AUTHENTICATED);
    format_addr(fd, 0, c->addr, sizeof(c->addr));
    format_addr(fd, 1, c->laddr, sizeof(c->laddr));
    if (server.metrics_port && listen_is_metrics_fd_port(c->laddr)) c->flags |= CLIENT_METRICS_ONLY;
    if (master) {
        c->tls = tls; /* the link's session, or plain */
    } else if (tls_enabled() && local_port(fd) == server.tls_port) {
        c->tls = tls_conn_new();
        if (!c->tls) {
            acl_user_unref(c->user);
            free(c);
            close(fd);
            __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
            return NULL;
        }
    }

    pthread_mutex_lock(&server.clients_lock);
    c->next = server.clients;
    if (server.clients) server.clients->prev = c;
    server.clients = c;
    c->flags |= CLIENT_IN_LIST;
    pthread_mutex_unlock(&server.clients_lock);

    c->wl_next = w->clients;
    if (w->clients) w->clients->wl_prev = c;
    w->clients = c;

    if (ev_conn_add(w->loop, &c->conn, fd, c) < 0) {
        client_close(c);
        return NULL;
    }
    client_publish(c); /* its memory counts from the start */
    return c;
}

static void clients_mem_update(client *c, size_t now);

static void free_reply_chunks(client *c) {
    reply_chunk *ch = c->reply_head;
    while (ch) {
        reply_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    c->reply_head = c->reply_tail = NULL;
    c->reply_bytes = 0;
    c->reply_mem = 0;
    c->reply_nchunks = 0;
}

static void unlink_from_lists(client *c) {
    worker *w = c->owner;
    if (c->flags & CLIENT_IN_LIST) {
        pthread_mutex_lock(&server.clients_lock);
        if (c->prev) c->prev->next = c->next;
        else server.clients = c->next;
        if (c->next) c->next->prev = c->prev;
        c->flags &= ~CLIENT_IN_LIST;
        pthread_mutex_unlock(&server.clients_lock);
    }
    if (c->wl_prev) c->wl_prev->wl_next = c->wl_next;
    else if (w->clients == c) w->clients = c->wl_next;
    if (c->wl_next) c->wl_next->wl_prev = c->wl_prev;
    c->wl_prev = c->wl_next = NULL;
    for (client **pp = &w->pending_writes; *pp; pp = &(*pp)->wnext)
        if (*pp == c) {
            *pp = c->wnext;
            break;
        }
    for (client **pp = &w->paused; *pp; pp = &(*pp)->pnext)
        if (*pp == c) {
            *pp = c->pnext;
            __atomic_sub_fetch(&w->npaused, 1, __ATOMIC_RELAXED);
            break;
        }
    if (c->flags & CLIENT_WAL_HOLD)
        for (client **pp = &w->wal_held; *pp; pp = &(*pp)->hnext)
            if (*pp == c) {
                *pp = c->hnext;
                break;
            }
    if (c->flags & CLIENT_DEFERRED)
        for (client **pp = &w->deferred; *pp; pp = &(*pp)->dnext)
            if (*pp == c) {
                *pp = c->dnext;
                break;
            }
}

static void defer_client(client *c) {
    if (c->flags & CLIENT_DEFERRED) return;
    c->flags |= CLIENT_DEFERRED;
    c->dnext = c->owner->deferred;
    c->owner->deferred = c;
}

void client_close(client *c) {
    if (c->flags & CLIENT_CLOSED) return;
    if (c->owner->nested && multi_watching(c)) {
        /* Unwatching locks the keys' shards, which the script running on
         * this thread may hold: closed on replay (output dropped now). */
        c->flags |= CLIENT_CLOSE_ASAP;
        if (!c->held.end) {
            c->held.end = 1;
            c->held.end_res = 0;
        }
        defer_client(c);
        return;
    }
    c->flags |= CLIENT_CLOSED;
    clients_mem_update(c, 0);
    blocking_client_closed(c);
    multi_client_close(c);
    pubsub_client_closed(c);
    tracking_client_closed(c);
    monitor_client_closed(c);
    backup_client_closed(c);
    unlink_from_lists(c);
    __atomic_sub_fetch(&server.nclients, 1, __ATOMIC_RELAXED);
    ev_conn_close(c->owner->loop, &c->conn);
}

void client_free_at_exit(client *c) {
    blocking_client_closed(c);
    pubsub_client_closed(c);
    tracking_client_closed(c);
    unlink_from_lists(c);
    if (c->conn.fd >= 0) close(c->conn.fd);
    client_on_closed(&c->conn);
}

static void producer_drop(client *c) {
    if (!c->producer) return;
    if (c->producer_free) c->producer_free(c->producer_ctx);
    c->producer = NULL;
    c->producer_ctx = NULL;
    c->producer_free = NULL;
}

/* Runs c's producer while the pending output leaves room (bounded by the
 * backpressure limit); removes it when done. */
static void producer_run(client *c, int resume) {
    size_t room = (size_t)server.client_output_backpressure / 2;
    while (c->producer && !(c->flags & CLIENT_CLOSED) && client_output_bytes(c) <= room) {
        size_t before = client_output_bytes(c);
        if (c->producer(c, c->producer_ctx)) {
            producer_drop(c);
            client_queue_write(c);
            if (resume) client_resume(c);
            return;
        }
        /* Nothing to add yet: client_producer_kick() comes back later. */
        if (client_output_bytes(c) == before) break;
    }
    if (client_output_bytes(c) > 0) client_queue_write(c);
}

void client_producer_kick(client *c) {
    if (c->producer && !(c->flags & CLIENT_CLOSED)) producer_run(c, 1);
}

void client_set_producer(client *c, client_produce_fn *fn, void *ctx, void (*free_fn)(void *)) {
    producer_drop(c);
    c->producer = fn;
    c->producer_ctx = ctx;
    c->producer_free = free_fn;
    producer_run(c, 0); /* inside the command: its pipeline goes on by itself */
}

void client_on_closed(ev_conn *conn) {
    client *c = conn->udata;
    /* Nothing refers to it any more: not blocked, not mid-command. */
    ASSERT(c->bstate == NULL && c->argv == NULL);
    producer_drop(c);
    repl_client_closed(c);
    resp_parser_free(&c->parser);
    free_reply_chunks(c);
    free(c->qbuf);
    free(c->held.buf);
    free(c->waiting_argv);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    acl_user_unref(c->user);
    tls_conn_free(c->tls);
    multi_client_free(c);
    free(c);
}

/* Arguments point into the receive or query buffer (counted there); what
 * is the client's own is the parser's vector and a waiting command's copy. */
static size_t client_argv_mem(const client *c) {
    size_t argv = (size_t)c->parser.argv_cap * sizeof(resp_arg);
    if (c->waiting_argv)
        for (int i = 0; i < c->waiting_argc; i++)
            argv += sizeof(resp_arg) + c->waiting_argv[i].len;
    return argv;
}

size_t client_memory(const client *c) {
    return sizeof(*c) + c->qcap + client_argv_mem(c) + c->reply_mem +
           __atomic_load_n(&c->pub.multi_mem, __ATOMIC_RELAXED);
}

/* Publishes c's memory and moves server.clients_mem by the difference
 * (normal and pub/sub clients only, as Redis counts them). */
static void clients_mem_update(client *c, size_t now) {
    size_t was = c->pub.tot_mem;
    if (now == was) return;
    __atomic_store_n(&c->pub.tot_mem, now, __ATOMIC_RELAXED);
    if (c->cls == CLIENT_CLASS_REPLICA) return;
    if (now > was) __atomic_add_fetch(&server.clients_mem, now - was, __ATOMIC_RELAXED);
    else __atomic_sub_fetch(&server.clients_mem, was - now, __ATOMIC_RELAXED);
}

void client_publish(client *c) {
    if (c->flags & CLIENT_CLOSED) return; /* its memory left clients_mem */
    __atomic_store_n(&c->pub.oll, c->reply_nchunks, __ATOMIC_RELAXED);
    clients_mem_update(c, client_memory(c));
    __atomic_store_n(&c->pub.qbuf, c->qlen > c->qbuf_inflight ? c->qlen : c->qbuf_inflight,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.qbuf_free, c->qcap - c->qlen, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.obl, c->bufpos, __ATOMIC_RELAXED);
    /* rbp: the most of the reply buffer this client has used. */
    if (c->bufpos > c->pub.rbp) __atomic_store_n(&c->pub.rbp, c->bufpos, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.omem, c->reply_mem, __ATOMIC_RELAXED);
    __atomic_store_n(&c->pub.flags, c->flags, __ATOMIC_RELAXED);
}

size_t client_output_bytes(const client *c) {
    size_t tls = 0;
    if (c->tls) {
        const char *p;
        tls = tls_conn_pending(c->tls, &p);
    }
    return c->bufpos - c->sentlen + c->reply_bytes - c->head_off + tls;
}

void client_queue_write(client *c) {
    if (c->flags & (CLIENT_PENDING_WRITE | CLIENT_CLOSED)) return;
    c->flags |= CLIENT_PENDING_WRITE;
    c->wnext = c->owner->pending_writes;
    c->owner->pending_writes = c;
}

void client_set_class(client *c, int cls) {
    ASSERT(cls >= 0 && cls < CLIENT_CLASS_COUNT);
    size_t mem = c->pub.tot_mem;
    clients_mem_update(c, 0); /* counted again under its new class */
    __atomic_store_n(&c->cls, cls, __ATOMIC_RELAXED);
    clients_mem_update(c, mem);
    c->obuf_soft_since_s = 0;
}

int client_check_output_limits(client *c) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSED)) return 1;
    const client_obuf_limit *l = &server.client_obuf_limits[c->cls];
    long long hard = __atomic_load_n(&l->hard_bytes, __ATOMIC_RELAXED);
    long long soft = __atomic_load_n(&l->soft_bytes, __ATOMIC_RELAXED);
    if (!hard && !soft) return 0;
    /* Like Redis, the list of reply blocks counts, not the fixed buffer. */
    unsigned long long used = c->reply_mem;
    int over = hard && used >= (unsigned long long)hard;
    if (soft && used >= (unsigned long long)soft) {
        int64_t now_s = c->owner->now_ms / 1000;
        if (c->obuf_soft_since_s == 0) c->obuf_soft_since_s = now_s;
        else if (now_s - c->obuf_soft_since_s > __atomic_load_n(&l->soft_seconds, __ATOMIC_RELAXED))
            over = 1;
    } else {
        c->obuf_soft_since_s = 0;
    }
    if (!over) return 0;
    client_publish(c);
    char *info = NULL;
    size_t len = 0, cap = 0;
    pthread_mutex_lock(&server.clients_lock);
    client_info_line(c, &info, &len, &cap);
    pthread_mutex_unlock(&server.clients_lock);
    if (len && info[len - 1] == '\n') info[--len] = '\0';
    serverLog(LL_WARNING,
              "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
              info ? info : "");
    free(info);
    /* No more output is queued (reply.c drops it); the owner closes it
     * when it flushes writes, outside any command. */
    c->flags |= CLIENT_CLOSE_ASAP;
    client_queue_write(c);
    return 1;
}

size_t client_eviction_limit(void) {
    long long mc = server_cfg(maxmemory_clients), mm = server_cfg(maxmemory);
    size_t limit;
    if (mc < 0 && mm > 0) limit = (size_t)((double)mm * (double)-mc / 100);
    else if (mc > 0) limit = (size_t)mc;
    else return 0;
    /* Redis's floor: a tiny setting must not lock everybody out. */
    return limit < 128 * 1024 ? 128 * 1024 : limit;
}

#define EVICT_CLIENTS_PER_CALL 16 /* more wait for the next loop turn */

void client_evict_if_needed(void) {
    size_t limit = client_eviction_limit();
    if (!limit || __atomic_load_n(&server.clients_mem, __ATOMIC_RELAXED) < limit) return;
    pthread_mutex_lock(&server.clients_lock);
    /* Clients already told to close still count until their owners close
     * them: leave them out, or one eviction would be repeated. */
    size_t total = __atomic_load_n(&server.clients_mem, __ATOMIC_RELAXED);
    for (client *o = server.clients; o; o = o->next)
        if (__atomic_load_n(&o->user_kill_flag, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&o->cls, __ATOMIC_RELAXED) != CLIENT_CLASS_REPLICA) {
            size_t m = __atomic_load_n(&o->pub.tot_mem, __ATOMIC_RELAXED);
            total = total > m ? total - m : 0;
        }
    for (int n = 0; total >= limit && n < EVICT_CLIENTS_PER_CALL; n++) {
        client *victim = NULL;
        size_t most = 0;
        for (client *o = server.clients; o; o = o->next) {
            size_t m = __atomic_load_n(&o->pub.tot_mem, __ATOMIC_RELAXED);
            if (m > most && !__atomic_load_n(&o->user_kill_flag, __ATOMIC_ACQUIRE) &&
                __atomic_load_n(&o->cls, __ATOMIC_RELAXED) != CLIENT_CLASS_REPLICA &&
                !(__atomic_load_n(&o->pub.flags, __ATOMIC_RELAXED) & CLIENT_NO_EVICT)) {
                victim = o;
                most = m;
            }
        }
        if (!victim) {
            /* Redis says it on every try; once a second is enough. */
            static int64_t said_ms;
            int64_t now = mstime();
            if (now - said_ms >= 1000) {
                said_ms = now;
                serverLog(LL_WARNING,
                          "Over client maxmemory after evicting all evictable clients");
            }
            break;
        }
        char *info = NULL;
        size_t len = 0, cap = 0;
        client_info_line(victim, &info, &len, &cap);
        if (len && info[len - 1] == '\n') info[--len] = '\0';
        serverLog(LL_NOTICE, "Evicting client: %s", info ? info : "");
        free(info);
        __atomic_store_n(&victim->user_kill_flag, 1, __ATOMIC_RELEASE);
        worker_notify(victim->owner);
        __atomic_add_fetch(&server.stat_evicted_clients, 1, __ATOMIC_RELAXED);
        total = total > most ? total - most : 0;
    }
    pthread_mutex_unlock(&server.clients_lock);
}
static void consume_output(client *c, size_t n);

/* Hands everything queued for c to the kernel in one send. */
static void client_send(client *c) {
    if (c->flags & CLIENT_CLOSE_ASAP) {
        client_close(c);
        return;
    }
    if (ev_conn_sending(&c->conn) || (c->flags & (CLIENT_CLOSED | CLIENT_WAL_HOLD))) return;
    struct iovec iov[EV_MAX_IOV];
    int n = 0;
    size_t total = 0;
    if (c->bufpos > c->sentlen) {
        iov[n].iov_base = c->buf + c->sentlen;
        iov[n].iov_len = c->bufpos - c->sentlen;
        total += iov[n++].iov_len;
    }
    for (reply_chunk *ch = c->reply_head; ch && n < EV_MAX_IOV; ch = ch->next) {
        if (ch == c->deferred) break; /* not filled yet: nothing after it */
        size_t off = ch == c->reply_head ? c->head_off : 0;
        if (ch->used > off) {
            iov[n].iov_base = ch->buf + off;
            iov[n].iov_len = ch->used - off;
            total += iov[n++].iov_len;
        }
    }
    if (c->tls) {
        /* Encrypt the replies (released at once: their ciphertext is what
         * goes out), then send the pending records, handshake ones too. */
        for (int i = 0; i < n; i++)
            if (tls_conn_write(c->tls, iov[i].iov_base, iov[i].iov_len) < 0) {
                client_close(c);
                return;
            }
        consume_output(c, total);
        const char *p;
        size_t pending = tls_conn_pending(c->tls, &p);
        if (pending == 0) {
            if (c->flags & CLIENT_CLOSE_AFTER_REPLY) client_close(c);
            return;
        }
        iov[0].iov_base = (void *)p;
        iov[0].iov_len = pending;
        c->inflight_bytes = pending;
        if (ev_conn_send(c->owner->loop, &c->conn, iov, 1) < 0) client_close(c);
        return;
    }
    if (n == 0) {
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) client_close(c);
        return;
    }
    c->inflight_bytes = total;
    if (ev_conn_send(c->owner->loop, &c->conn, iov, n) < 0) client_close(c);
}

void client_flush_writes(worker *w) {
    while (w->pending_writes) {
        client *c = w->pending_writes;
        w->pending_writes = c->wnext;
        c->flags &= ~CLIENT_PENDING_WRITE;
        client_send(c);
    }
}

/* ---- Nested polls ---------------------------------------------------------------
 * While a busy script's hook serves its thread (worker_poll_nested), a
 * client is protected — its events are held, not processed — when
 * processing them could disturb the command in progress or touch the
 * engine, whose locks the script holds: the client running a command (the
 * script's caller: Redis's protectClient), a replication link (its stream
 * writes, its producer reads snapshots), a metrics scrape, and one with
 * events held already (their order). (A client with WATCHed keys is
 * served, but what would unwatch them waits: client_close here, EXEC /
 * DISCARD / UNWATCH in script_reject_busy.) */
static int client_nested_protected(const client *c) {
    return c->argv != NULL || c->producer != NULL ||
           (c->flags & (CLIENT_DEFERRED | CLIENT_REPLICA | CLIENT_MASTER |
                        CLIENT_METRICS_ONLY));
}

void client_flush_writes_nested(worker *w) {
    client *keep = NULL, **tail = &keep;
    while (w->pending_writes) {
        client *c = w->pending_writes;
        w->pending_writes = c->wnext;
        if (client_nested_protected(c)) { /* sent by the normal turn */
            c->wnext = NULL;
            *tail = c;
            tail = &c->wnext;
            continue;
        }
        c->flags &= ~CLIENT_PENDING_WRITE;
        client_send(c);
    }
    w->pending_writes = keep;
}

/* Holds a receive event of c if c is protected or has held events (so
 * later bytes stay behind earlier ones). Returns 1 if held. Reading is
 * paused meanwhile: what is in flight is all that can arrive. */
static int client_hold_recv(client *c, const char *data, ssize_t len) {
    if (!(c->flags & CLIENT_DEFERRED) && !client_nested_protected(c)) return 0;
    defer_client(c);
    ev_conn_pause_recv(c->owner->loop, &c->conn);
    if (len <= 0) {
        if (!c->held.end) {
            c->held.end = 1;
            c->held.end_res = len;
        }
        return 1;
    }
    if (c->held.end || c->held.overflow) return 1;
    size_t n = (size_t)len;
    if (c->held.len + n > (size_t)server.client_query_buffer_limit) {
        c->held.overflow = 1; /* closed on replay, as check_qbuf_limit would */
        free(c->held.buf);
        c->held.buf = NULL;
        c->held.len = c->held.cap = 0;
        return 1;
    }
    if (c->held.len + n > c->held.cap) {
        size_t cap = c->held.cap ? c->held.cap : QBUF_MIN;
        while (cap < c->held.len + n) cap *= 2;
        char *nb = realloc(c->held.buf, cap);
        if (!nb) abort();
        c->held.buf = nb;
        c->held.cap = cap;
    }
    memcpy(c->held.buf + c->held.len, data, n);
    c->held.len += n;
    return 1;
}

static void sent_follow_up(client *c);

void client_replay_deferred(worker *w) {
    ASSERT(!w->nested);
    client *list = w->deferred;
    w->deferred = NULL;
    while (list) {
        client *c = list;
        list = c->dnext;
        c->dnext = NULL;
        c->flags &= ~CLIENT_DEFERRED;
        /* Closed meanwhile: still allocated until the turn ends. */
        if (c->flags & CLIENT_CLOSED) continue;
        char *buf = c->held.buf;
        size_t len = c->held.len;
        int overflow = c->held.overflow, end = c->held.end, sent = c->held.sent;
        ssize_t end_res = c->held.end_res;
        memset(&c->held, 0, sizeof(c->held));
        if (sent) sent_follow_up(c);
        if (len && !(c->flags & CLIENT_CLOSED)) client_on_recv(&c->conn, buf, (ssize_t)len);
        free(buf);
        if (c->flags & CLIENT_CLOSED) continue;
        if (overflow) {
            serverLog(LL_WARNING,
                      "Closing client that reached max query buffer length: id=%llu addr=%s "
                      "qbuf=%lld",
                      (unsigned long long)c->id, c->addr, server.client_query_buffer_limit);
            client_close(c);
        } else if (end) {
            client_on_recv(&c->conn, NULL, end_res <= 0 ? end_res : 0);
        } else if (!(c->flags & (CLIENT_READ_PAUSED | CLIENT_CLOSE_AFTER_REPLY |
                                 CLIENT_CLOSE_ASAP | CLIENT_PROTOCOL_ERROR))) {
            ev_conn_resume_recv(w->loop, &c->conn);
        }
    }
}

/* Releases n written bytes from the head of the output: buf first, then
 * the chunks in order. Called only when no send is in flight. */
static void consume_output(client *c, size_t n) {
    size_t k = c->bufpos - c->sentlen;
    if (k > n) k = n;
    c->sentlen += k;
    n -= k;
    /* While chunks exist new replies go to them, so an emptied buf can
     * start over without reordering anything. */
    if (c->sentlen == c->bufpos) c->bufpos = c->sentlen = 0;
    while (n && c->reply_head) {
        reply_chunk *ch = c->reply_head;
        size_t left = ch->used - c->head_off;
        if (n < left) {
            c->head_off += n;
            return;
        }
        n -= left;
        c->reply_bytes -= ch->used;
        c->reply_mem -= sizeof(*ch) + ch->size;
        c->reply_nchunks--;
        c->reply_head = ch->next;
        if (!c->reply_head) c->reply_tail = NULL;
        free(ch);
        c->head_off = 0;
    }
}

void client_on_sent(ev_conn *conn, ssize_t res) {
    client *c = conn->udata;
    int hold = c->owner->nested && client_nested_protected(c);
    if (res < 0) {
        if (!hold) {
            client_close(c);
        } else if (!c->held.end) { /* closed on replay */
            defer_client(c);
            c->held.end = 1;
            c->held.end_res = res;
        }
        return;
    }
    __atomic_add_fetch(&c->owner->stat_net_output_bytes, (uint64_t)res,
                       __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->owner->stat_writes, 1, __ATOMIC_RELAXED);
    if (c->tls) tls_conn_consumed(c->tls, (size_t)res); /* replies went at encryption */
    else consume_output(c, (size_t)res);
    if (hold) {
        /* Its pipeline, producer or close wait for the replay; the rest
         * of its output goes with the normal turn's writes. */
        defer_client(c);
        c->held.sent = 1;
        if (client_output_bytes(c) > 0) client_queue_write(c);
        return;
    }
    sent_follow_up(c);
}

/* What a completed send lets c do next: produce more, send the rest,
 * close after the last reply, read and run its pipeline again. */
static void sent_follow_up(client *c) {
    if (c->producer) producer_run(c, 1);
    if (client_output_bytes(c) > 0) {
        client_queue_write(c);
    } else if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
        client_close(c);
        return;
    }
    if ((c->flags & CLIENT_READ_PAUSED) &&
        client_output_bytes(c) <= (size_t)server.client_output_backpressure / 2) {
        c->flags &= ~CLIENT_READ_PAUSED;
        client_resume(c);
    }
    if (!(c->flags & CLIENT_CLOSED)) client_publish(c);
}

static void qbuf_reserve(client *c, size_t need) {
    if (c->qcap >= need) return;
    size_t cap = c->qcap ? c->qcap : QBUF_MIN;
    while (cap < need) cap *= 2;
    char *n = realloc(c->qbuf, cap);
    if (!n) abort();
    c->qbuf = n;
    c->qcap = cap;
}

static void protocol_error(client *c) {
    const char *msg = c->parser.error;
    serverLog(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s",
              msg, (unsigned long long)c->id, c->addr);
    char buf[128];
    snprintf(buf, sizeof(buf), "ERR %s", msg);
    addReplyError(c, buf);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY | CLIENT_PROTOCOL_ERROR;
    c->qlen = 0;
    ev_conn_pause_recv(c->owner->loop, &c->conn);
    client_queue_write(c);
}

/* Must c stop executing its pipeline for now? */
static int client_must_wait(client *c) {
    if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_CLOSED |
                    CLIENT_BLOCKED_PAUSE | CLIENT_BLOCKED))
        return 1;
    /* A replica's stream producer never ends: its ACKs run meanwhile. */
    if (c->producer && !(c->flags & CLIENT_REPLICA)) return 1;
    if (client_output_bytes(c) > (size_t)server.client_output_backpressure) {
        if (!(c->flags & CLIENT_READ_PAUSED)) {
            c->flags |= CLIENT_READ_PAUSED;
            ev_conn_pause_recv(c->owner->loop, &c->conn);
        }
        return 1;
    }
    return 0;
}

/* The command in c->argv must wait: copy it, since its bytes are about to
 * be consumed (and inline arguments were unescaped in place). */
static void keep_waiting_command(client *c) {
    size_t bytes = 0;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    resp_arg *argv = malloc(sizeof(*argv) * (size_t)c->argc + bytes);
    if (!argv) abort();
    char *p = (char *)(argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        argv[i].ptr = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    c->waiting_argv = argv;
    c->waiting_argc = c->argc;
}

/* Runs the waiting command, if any. Returns 1 if it must wait again. */
static int run_waiting_command(client *c) {
    if (!c->waiting_argv) return 0;
    resp_arg *argv = c->waiting_argv;
    c->waiting_argv = NULL;
    c->argc = c->waiting_argc;
    c->argv = argv;
    int again = dispatch_command(c);
    c->argc = 0;
    c->argv = NULL;
    if (again) {
        c->waiting_argv = argv;
    } else {
        free(argv);
        __atomic_store_n(&c->pub.argv_mem, 0, __ATOMIC_RELAXED);
    }
    return again;
}

/* Runs one parsed command (argv may be the parser's or a batch's). */
static void run_command(client *c, int argc, resp_arg *argv, const command *cmd) {
    ASSERT(c->argv == NULL && argc > 0); /* commands of a client do not nest */
    c->argc = argc;
    c->argv = argv;
    /* CLIENT LIST's argv-mem (Redis's argv_len_sum): the running command's
     * argument bytes, kept while it waits (blocked or paused). */
    size_t argv_mem = 0;
    for (int i = 0; i < argc; i++) argv_mem += argv[i].len;
    __atomic_store_n(&c->pub.argv_mem, argv_mem, __ATOMIC_RELAXED);
    if (dispatch_command_resolved(c, cmd)) keep_waiting_command(c);
    else if (!(c->flags & CLIENT_BLOCKED)) /* blocking.c clears it on unblock */
        __atomic_store_n(&c->pub.argv_mem, 0, __ATOMIC_RELAXED);
    c->argc = 0;
    c->argv = NULL;
}

/* ---- Pipeline batches ----------------------------------------------------------
 * A command followed in the buffer by more commands starts a batch: the
 * complete multibulk commands after it are parsed ahead (up to
 * PIPE_BATCH_MAX), the keys of those with a fixed key position are
 * prefetched together (engine/prefetch.h), then the batch runs one command
 * at a time exactly as unbatched commands do, checking client_must_wait
 * before each. Where it stops, the commands not run are not consumed: they
 * are parsed again later, from the same bytes with the then parser state.
 * So a batch never runs a command that would not have run unbatched.
 *
 * Parsing ahead must not parse differently from parsing later: the parser's
 * state depends on the client (authenticated or not) and on nothing a
 * command with keys can change. So a batch is only started by an
 * authenticated client outside MULTI, and it extends only past commands
 * with keys (data commands: no SELECT, AUTH, HELLO, RESET, MULTI, EXEC,
 * CLIENT ...). Those also keep the database the keys are prefetched in.
 * Inline commands are unescaped in place, which a second parse would see:
 * only multibulk commands are parsed ahead. Anything the parser does not
 * turn into one command (incomplete, error, empty, too many arguments for
 * the batch's storage) ends the batch before it, with the parser reset. */
#define PIPE_BATCH_MAX KS_PREFETCH_MAX
#define PIPE_BATCH_ARGS 128

typedef struct pipe_cmd {
    const command *cmd;
    size_t end;   /* offset in buf just past the command */
    int argc;
    int arg0;     /* its arguments: args[arg0 .. arg0 + argc) */
    int key;      /* argv index of its prefetched key, 0 for none */
    int hash;     /* index of the key in the prefetch arrays */
} pipe_cmd;

typedef struct pipe_batch {
    int n, nargs, nkeys;
    pipe_cmd cmd[PIPE_BATCH_MAX];
    resp_arg args[PIPE_BATCH_ARGS];
    ks_key keys[PIPE_BATCH_MAX];
    uint64_t hashes[PIPE_BATCH_MAX];
} pipe_batch;

/* May a batch go on past a command cmd of c? */
static int batch_extends(const client *c, const command *cmd) {
    return cmd && (cmd->key_first > 0 || cmd->getkeys) && !(cmd->flags & CMD_BLOCKING) &&
           (c->flags & (CLIENT_AUTHENTICATED | CLIENT_MULTI)) == CLIENT_AUTHENTICATED;
}

/* The command named like the batch's last one (pipelines repeat the same
 * few commands): its table entry without a lookup. NULL when unsure. */
static const command *batch_same_command(const pipe_batch *b, const resp_arg *name) {
    const pipe_cmd *last = &b->cmd[b->n - 1];
    const resp_arg *prev = &b->args[last->arg0];
    if (prev->len != name->len || name->len > 16) return NULL;
    for (size_t i = 0; i < name->len; i++)
        if (prev->ptr[i] != name->ptr[i]) return NULL;
    return last->cmd;
}

/* Appends the command in c->parser, ending at buf offset end. */
static void batch_add(client *c, pipe_batch *b, const command *cmd, size_t end) {
    pipe_cmd *pc = &b->cmd[b->n++];
    pc->cmd = cmd;
    pc->end = end;
    pc->argc = c->parser.argc;
    pc->arg0 = b->nargs;
    for (int i = 0; i < pc->argc; i++) b->args[b->nargs + i] = c->parser.argv[i];
    b->nargs += pc->argc;
    /* The first key, when the table says where it is without looking at
     * the arguments (GET, SET, MGET's first ...). */
    pc->key = command_first_key(cmd, pc->argc);
    if (pc->key) {
        const resp_arg *k = &b->args[pc->arg0 + pc->key];
        pc->hash = b->nkeys;
        b->keys[b->nkeys++] = (ks_key){.dbid = (unsigned)c->db, .key = k->ptr, .klen = k->len};
    }
}

/* Parses ahead after the command in c->parser (cmd, ending at pos), runs
 * the batch, and returns where the consumed input ends. */
static size_t run_batch(client *c, const command *cmd, char *buf, size_t pos, size_t len) {
    pipe_batch b;
    b.n = b.nargs = b.nkeys = 0;
    batch_add(c, &b, cmd, pos);
    resp_parser_reset(&c->parser);
    while (b.n < PIPE_BATCH_MAX && pos < len && buf[pos] == '*') {
        size_t used = 0;
        int r = resp_parse(&c->parser, buf + pos, len - pos, &used);
        if (r != RESP_COMMAND || c->parser.argc == 0 ||
            c->parser.argc > PIPE_BATCH_ARGS - b.nargs) {
            resp_parser_reset(&c->parser);
            break;
        }
        pos += used;
        cmd = batch_same_command(&b, &c->parser.argv[0]);
        if (!cmd) cmd = command_lookup(c->parser.argv[0].ptr, c->parser.argv[0].len);
        batch_add(c, &b, cmd, pos);
        resp_parser_reset(&c->parser);
        if (!batch_extends(c, cmd)) break;
    }
    if (b.nkeys > 1) ks_prefetch(server.db, b.keys, (size_t)b.nkeys, b.hashes);
    dispatch_batch_begin();
    for (int i = 0; i < b.n; i++) {
        if (i > 0 && client_must_wait(c)) {
            pos = b.cmd[i - 1].end; /* the rest is parsed again later */
            break;
        }
        pipe_cmd *pc = &b.cmd[i];
        if (pc->key && b.nkeys > 1) {
            c->prehash_key = b.args[pc->arg0 + pc->key].ptr;
            c->prehash = b.hashes[pc->hash];
        }
        run_command(c, pc->argc, &b.args[pc->arg0], pc->cmd);
        c->prehash_key = NULL;
    }
    dispatch_batch_end();
    return pos;
}

/* Parses and runs commands from buf[0..len). Returns how many bytes were
 * consumed; the rest starts at an unfinished (or not yet run) command. */
static size_t process_input(client *c, char *buf, size_t len) {
    size_t pos = 0;
    while (pos < len && !client_must_wait(c)) {
        /* Prometheus's scrape (metrics.h): an HTTP request line (not
         * rendered from a busy script's nested poll: it reads the engine). */
        if ((buf[pos] == 'G' || (c->flags & CLIENT_METRICS_ONLY)) && !c->owner->nested) {
            int h = metrics_http_input(c, buf + pos, len - pos);
            if (h > 0) return len;
            if (h < 0) break;
        }
        size_t used = 0;
        int r = resp_parse(&c->parser, buf + pos, len - pos, &used);
        if (r == RESP_INCOMPLETE) break;
        if (r == RESP_ERROR) {
            protocol_error(c);
            return len;
        }
        pos += used;
        if (c->parser.argc == 0) {
            resp_parser_reset(&c->parser);
            continue;
        }
        const command *cmd = command_lookup(c->parser.argv[0].ptr, c->parser.argv[0].len);
        if (c->flags & CLIENT_REPLICA) {
            /* As Redis: nothing is replied to a replica (its ACKs, a PING);
             * its output is the replication stream. */
            c->flags |= CLIENT_REPLY_SKIP;
            run_command(c, c->parser.argc, c->parser.argv, cmd);
            c->flags &= ~CLIENT_REPLY_SKIP;
            resp_parser_reset(&c->parser);
            continue;
        }
        if (c->flags & CLIENT_MASTER) {
            /* The master's stream: each command's bytes count in the
             * replication offset and go to this node's replicas. */
            repl_master_cmd_begin(c, used);
            run_command(c, c->parser.argc, c->parser.argv, cmd);
            resp_parser_reset(&c->parser);
            repl_master_cmd_end(c, buf + pos - used, used);
            continue;
        }
        /* No batch from a busy script's nested poll: prefetching locks
         * shards the script may hold (and the commands get -BUSY). */
        if (pos < len && buf[pos] == '*' && batch_extends(c, cmd) &&
            c->parser.argc <= PIPE_BATCH_ARGS && !c->owner->nested) {
            pos = run_batch(c, cmd, buf, pos, len);
            continue;
        }
        run_command(c, c->parser.argc, c->parser.argv, cmd);
        resp_parser_reset(&c->parser);
    }
    return pos;
}

static void check_qbuf_limit(client *c) {
    if (c->qlen > (size_t)server.client_query_buffer_limit) {
        serverLog(LL_WARNING,
                  "Closing client that reached max query buffer length: id=%llu addr=%s qbuf=%zu",
                  (unsigned long long)c->id, c->addr, c->qlen);
        client_close(c);
    }
}

/* Runs what qbuf holds and compacts it. */
static void process_qbuf(client *c) {
    size_t done = process_input(c, c->qbuf, c->qlen);
    if (c->flags & CLIENT_CLOSED) return;
    if (done >= c->qlen) {
        c->qlen = 0;
        if (c->qcap > 64 * 1024) {
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
    } else if (done) {
        memmove(c->qbuf, c->qbuf + done, c->qlen - done);
        c->qlen -= done;
    }
}

static void client_on_recv_plain(client *c, char *data, ssize_t len);

/* TLS: the bytes are ciphertext; the plaintext OpenSSL makes of them goes
 * through the same path as a plain read, 16 KiB at a time. Handshake
 * records it answers with are queued like replies. */
static void client_on_recv_tls(client *c, char *data, ssize_t len) {
    if (len <= 0) {
        client_close(c);
        return;
    }
    __atomic_add_fetch(&c->owner->stat_net_input_bytes, (uint64_t)len, __ATOMIC_RELAXED);
    tls_conn_feed(c->tls, data, (size_t)len);
    char buf[16 * 1024];
    for (;;) {
        if (c->flags & (CLIENT_CLOSED | CLIENT_CLOSE_AFTER_REPLY)) break;
        ssize_t n = tls_conn_read(c->tls, buf, sizeof(buf));
        if (n < 0) {
            client_close(c);
            return;
        }
        if (n == 0) break;
        /* Input bytes were counted as ciphertext above. */
        __atomic_sub_fetch(&c->owner->stat_net_input_bytes, (uint64_t)n, __ATOMIC_RELAXED);
        client_on_recv_plain(c, buf, n);
    }
    const char *p;
    if (!(c->flags & CLIENT_CLOSED) && tls_conn_pending(c->tls, &p)) client_queue_write(c);
}

void client_on_recv(ev_conn *conn, char *data, ssize_t len) {
    client *c = conn->udata;
    if (__builtin_expect((c->flags & CLIENT_DEFERRED) || c->owner->nested, 0) &&
        client_hold_recv(c, data, len))
        return;
    if (c->tls) client_on_recv_tls(c, data, len);
    else client_on_recv_plain(c, data, len);
}

void client_feed_plain(client *c, char *data, size_t len) {
    ASSERT(len > 0);
    client_on_recv_plain(c, data, (ssize_t)len);
}

static void client_on_recv_plain(client *c, char *data, ssize_t len) {
    if (len <= 0) {
        client_close(c);
        return;
    }
    worker *w = c->owner;
    __atomic_add_fetch(&w->stat_net_input_bytes, (uint64_t)len, __ATOMIC_RELAXED);
    __atomic_add_fetch(&w->stat_reads, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->last_interaction_ms, w->now_ms, __ATOMIC_RELAXED);
    if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_CLOSED)) return;
    /* CONFIG SET proto-max-bulk-len applies from the next read on. */
    c->parser.max_bulk_len = server.proto_max_bulk_len;

    size_t n = (size_t)len;
    if (c->qlen == 0 && !client_must_wait(c)) {
        /* Fast path: parse straight from the receive buffer. While it
         * runs, qbuf shows the bytes being processed, as Redis's query
         * buffer holds the command it runs (CLIENT INFO shows qbuf=26). */
        c->qbuf_inflight = n;
        size_t done = process_input(c, data, n);
        c->qbuf_inflight = 0;
        if (c->flags & CLIENT_CLOSED) return;
        if (done < n && !(c->flags & CLIENT_PROTOCOL_ERROR)) {
            size_t rest = n - done;
            size_t want = resp_bytes_wanted(&c->parser);
            qbuf_reserve(c, want > rest ? want : rest);
            memcpy(c->qbuf, data + done, rest);
            c->qlen = rest;
        }
    } else {
        size_t want = resp_bytes_wanted(&c->parser);
        size_t need = c->qlen + n;
        qbuf_reserve(c, want > need ? want : need);
        memcpy(c->qbuf + c->qlen, data, n);
        c->qlen += n;
        if (!client_must_wait(c)) process_qbuf(c);
    }
    if (!(c->flags & CLIENT_CLOSED) && (c->flags & CLIENT_MASTER)) repl_master_read_done(c);
    if (!(c->flags & CLIENT_CLOSED)) {
        check_qbuf_limit(c);
        client_publish(c);
    }
}

void client_resume(client *c) {
    if (c->flags & CLIENT_CLOSED) return;
    if (run_waiting_command(c)) return;
    if (!(c->flags & CLIENT_READ_PAUSED) && !(c->flags & CLIENT_CLOSE_AFTER_REPLY))
        ev_conn_resume_recv(c->owner->loop, &c->conn);
    if (c->qlen && !client_must_wait(c)) process_qbuf(c);
}

static void cat_printf(char **out, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void cat_printf(char **out, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = *cap - *len;
        int n = vsnprintf(*out ? *out + *len : NULL, *out ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (*out && (size_t)n < room) {
            *len += (size_t)n;
            return;
        }
        size_t ncap = *cap ? *cap * 2 : 256;
        while (ncap < *len + (size_t)n + 1) ncap *= 2;
        char *p = realloc(*out, ncap);
        if (!p) abort();
        *out = p;
        *cap = ncap;
    }
}

/* One CLIENT LIST / CLIENT INFO line, Redis 7.0's fields in its order.
 * Measured: age, idle, flags, db, multi, qbuf (while a read's commands
 * run: the bytes of that read still being processed, the running command
 * included, as Redis; between reads: the bytes of an incomplete command
 * kept in Lightning's query buffer), qbuf-free (that buffer's free bytes;
 * complete commands are parsed from the receive buffer, so it is 0 where
 * no command was split across reads), argv-mem (the running or blocked
 * command's argument bytes, as Redis's argv_len_sum), multi-mem, rbp, obl,
 * omem, oll, tot-mem, cmd, user, resp, lib-name/lib-ver, sub/psub/ssub,
 * redir. Fixed, documented in docs/ARCHITECTURE.md "Introspection":
 * events=r, rbs (the reply buffer never shrinks). */
void client_info_line(client *c, char **out, size_t *len, size_t *cap) {
    int64_t now = mstime();
    char flags[16];
    int f = 0;
    uint32_t cf = __atomic_load_n(&c->pub.flags, __ATOMIC_RELAXED);
    if (cf & CLIENT_REPLICA) flags[f++] = 'S'; /* Redis lists these first */
    if (cf & CLIENT_MASTER) flags[f++] = 'M';
    if (cf & CLIENT_MULTI) flags[f++] = 'x';
    if (cf & (CLIENT_BLOCKED_PAUSE | CLIENT_BLOCKED)) flags[f++] = 'b';
    if (cf & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (cf & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (cf & CLIENT_NO_TOUCH) flags[f++] = 'T';
    if (cf & CLIENT_PUBSUB) flags[f++] = 'P';
    uint32_t tf = __atomic_load_n(&c->tracking.flags, __ATOMIC_RELAXED);
    if (tf & TRK_ON) flags[f++] = 't';
    if (tf & TRK_BROKEN) flags[f++] = 'R';
    if (tf & TRK_BCAST) flags[f++] = 'B';
    if (f == 0) flags[f++] = 'N';
    flags[f] = '\0';
    const command *last = __atomic_load_n(&c->lastcmd, __ATOMIC_RELAXED);
    size_t obl = __atomic_load_n(&c->pub.obl, __ATOMIC_RELAXED);
    size_t omem = __atomic_load_n(&c->pub.omem, __ATOMIC_RELAXED);
    size_t qlen = __atomic_load_n(&c->pub.qbuf, __ATOMIC_RELAXED);
    size_t qfree = __atomic_load_n(&c->pub.qbuf_free, __ATOMIC_RELAXED);
    size_t multi_mem = __atomic_load_n(&c->pub.multi_mem, __ATOMIC_RELAXED);
    cat_printf(out, len, cap,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
               "flags=%s db=%d sub=%d psub=%d ssub=%d multi=%d qbuf=%zu qbuf-free=%zu "
               "argv-mem=%zu multi-mem=%zu rbs=%zu rbp=%zu obl=%zu oll=%zu omem=%zu "
               "tot-mem=%zu events=r cmd=%s user=%s redir=%lld resp=%d "
               "lib-name=%s lib-ver=%s\n",
               (unsigned long long)c->id, c->addr, c->laddr,
               __atomic_load_n(&c->conn.fd, __ATOMIC_RELAXED),
               c->name ? c->name : "",
               (long long)((now - c->ctime_ms) / 1000),
               (long long)((now - __atomic_load_n(&c->last_interaction_ms, __ATOMIC_RELAXED)) / 1000),
               flags, __atomic_load_n(&c->db, __ATOMIC_RELAXED),
               __atomic_load_n(&c->pub.sub, __ATOMIC_RELAXED),
               __atomic_load_n(&c->pub.psub, __ATOMIC_RELAXED),
               __atomic_load_n(&c->pub.ssub, __ATOMIC_RELAXED),
               (cf & CLIENT_MULTI) ? __atomic_load_n(&c->pub.multi, __ATOMIC_RELAXED) : -1,
               qlen, qfree, __atomic_load_n(&c->pub.argv_mem, __ATOMIC_RELAXED), multi_mem,
               (size_t)CLIENT_REPLY_BUF, __atomic_load_n(&c->pub.rbp, __ATOMIC_RELAXED),
               obl,
               __atomic_load_n(&c->pub.oll, __ATOMIC_RELAXED), omem,
               __atomic_load_n(&c->pub.tot_mem, __ATOMIC_RELAXED),
               last ? last->fullname : "NULL", acl_user_name(c->user), tracking_redirect_of(c),
               __atomic_load_n(&c->resp, __ATOMIC_RELAXED),
               c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}
