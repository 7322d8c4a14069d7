/*
 * link.c — the replica side: this node's link to its master.
 *
 * A thread of its own (the link thread) does what blocks: connect, the
 * handshake (PING, AUTH masterauth/masteruser, REPLCONF listening-port /
 * ip-address / capa eof psync2, PSYNC), and on +FULLRESYNC the payload
 * (`$<len>` or `$EOF:<mark>`) into a temporary file in `dir`, checked
 * completely (rdb_verify_buf: every record and the CRC64) before anything
 * is touched — a truncated or garbage payload is logged, the old data
 * stays, and the link retries a second later. A good payload replaces the
 * data set (flush, then the parallel loader), and with appendonly yes a
 * snapshot is written at once so the replica's own files hold it.
 *
 * With tls-replication yes the link speaks TLS (net/tls.h's tls_conn over
 * this thread's socket; the master's certificate must verify against
 * tls-ca-cert-file|dir) and hands the established session over with the
 * socket, so the worker's master client keeps encrypting and decrypting.
 *
 * Then the socket goes to worker 0 (worker_adopt_master) as the master
 * client (CLIENT_MASTER, replies off), with the stream bytes already read:
 * the stream runs through the command table like any client's commands,
 * logged to this node's WAL like any write. Each command's bytes advance
 * R.reploff and go into the backlog for this node's own replicas, under
 * repl_apply_lock (master.c explains why). After each read and every
 * second the replica sends REPLCONF ACK <offset>; REPLCONF GETACK is
 * answered at once. When the master client closes (the master went away,
 * CLIENT KILL TYPE master, repl-timeout without data) the thread reconnects
 * and asks PSYNC <replid> <offset+1>: a partial resync when the master
 * still has those bytes.
 *
 * Keys expire on the master: a replica runs no active expiry cycle
 * (cron.c), its reads hide logically expired keys (the engine's lookups
 * compare the expiry with the clock, and delete what they meet); the DEL
 * the master streams then removes the rest.
 *
 * Locking: L.lock guards the link's fields; the thread waits on L.cond.
 * Never held together with R.lock.
 */
#include "repl/repl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/rdb.h"
#include "engine/txn.h"
#include "server/cmd/tracking.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/tls.h"
#include "server/net/worker.h"
#include "server/persist/save.h"
#include "server/server.h"

extern pthread_mutex_t repl_apply_lock;

enum { LS_NONE = 0, LS_CONNECT, LS_CONNECTING, LS_HANDSHAKE, LS_TRANSFER, LS_CONNECTED };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t th;
    int running, stop;
    uint64_t gen;           /* bumped on every REPLICAOF */
    char host[256];
    int port;
    int state;              /* LS_* */
    int fd;                 /* the thread's socket while it has one */
    client *mc;             /* the master client (its worker's) */
    worker *mw;
    int64_t down_since_ms;
    int64_t last_io_ms;
    uint64_t sync_total, sync_read;
    int64_t sync_last_io_ms;
    uint64_t last_ack_sent;
    int64_t last_ack_ms;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1};

int repl_link_up(void) {
    pthread_mutex_lock(&L.lock);
    int up = L.state == LS_CONNECTED;
    pthread_mutex_unlock(&L.lock);
    return up;
}

/* Cluster failover (cluster-replica-validity-factor): ms since the master
 * was last heard, or since the link went down; 0 when not a replica. */
int64_t repl_link_data_age_ms(void) {
    pthread_mutex_lock(&L.lock);
    int64_t now = mstime(), age = 0;
    if (L.state == LS_CONNECTED) age = now - L.last_io_ms;
    else if (L.state != LS_NONE && L.down_since_ms) age = now - L.down_since_ms;
    pthread_mutex_unlock(&L.lock);
    return age < 0 ? 0 : age;
}

int repl_link_configured(void) {
    pthread_mutex_lock(&L.lock);
    int on = L.state != LS_NONE;
    pthread_mutex_unlock(&L.lock);
    return on;
}

/* ---- Blocking socket helpers (the link thread) ------------------------------- */

typedef struct conn {
    int fd;
    tls_conn *tls;     /* tls-replication: the session over fd (net/tls.h), else NULL */
    char buf[16 * 1024];
    size_t pos, len;   /* unread bytes (plaintext): buf[pos..len) */
    int timeout_ms;
} conn;

static int wait_fd(int fd, short ev, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = ev};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        return r < 0 ? -1 : 0;
    }
}

static int link_stopping(uint64_t gen) {
    pthread_mutex_lock(&L.lock);
    int s = L.stop || L.gen != gen;
    pthread_mutex_unlock(&L.lock);
    return s;
}

static int conn_open(conn *cn, const char *host, int port) {
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        serverLog(LL_WARNING, "Unable to connect to MASTER: %s", gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, cn->timeout_ms) == 0) {
            int err = 0;
            socklen_t el = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err == 0) break;
            errno = err;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        serverLog(LL_WARNING, "Error condition on socket for SYNC: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    if (!server.repl_disable_tcp_nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    cn->fd = fd;
    cn->pos = cn->len = 0;
    pthread_mutex_lock(&L.lock);
    L.fd = fd;
    pthread_mutex_unlock(&L.lock);
    return 0;
}

static int raw_write(conn *cn, const char *p, size_t n);
static ssize_t raw_read(conn *cn, char *p, size_t cap);

/* TLS: sends the ciphertext the session has pending. */
static int tls_flush(conn *cn) {
    const char *p;
    size_t n;
    while ((n = tls_conn_pending(cn->tls, &p)) > 0) {
        if (raw_write(cn, p, n) < 0) return -1;
        tls_conn_consumed(cn->tls, n);
    }
    return 0;
}

/* tls-replication: the TLS handshake over the connected socket, bounded
 * by the link's timeout per read. 0, or -1 (logged). */
static int conn_start_tls(conn *cn) {
    cn->tls = tls_conn_new_outgoing();
    if (!cn->tls) {
        serverLog(LL_WARNING, "Unable to connect to MASTER: TLS is not configured");
        return -1;
    }
    char cbuf[16 * 1024];
    errno = 0;
    for (;;) {
        int r = tls_conn_handshake(cn->tls);
        if (tls_flush(cn) < 0) break;
        if (r < 0) break;
        if (r > 0) return 0;
        ssize_t n = raw_read(cn, cbuf, sizeof(cbuf));
        if (n < 0) break;
        tls_conn_feed(cn->tls, cbuf, (size_t)n);
    }
    serverLog(LL_WARNING, "Unable to connect to MASTER: the TLS handshake failed (%s)",
              errno ? strerror(errno) : "refused by the peer or its certificate");
    return -1;
}

static int conn_write(conn *cn, const char *p, size_t n) {
    if (cn->tls) return tls_conn_write(cn->tls, p, n) < 0 ? -1 : tls_flush(cn);
    return raw_write(cn, p, n);
}

static int raw_write(conn *cn, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(cn->fd, p, n);
        if (w < 0 && errno == EAGAIN) {
            if (wait_fd(cn->fd, POLLOUT, cn->timeout_ms) < 0) return -1;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Some bytes from the socket into p (waiting up to the timeout): > 0, or
 * -1 with errno (ECONNRESET at EOF). */
static ssize_t raw_read(conn *cn, char *p, size_t cap) {
    for (;;) {
        ssize_t r = read(cn->fd, p, cap);
        if (r > 0) {
            pthread_mutex_lock(&L.lock);
            L.last_io_ms = L.sync_last_io_ms = mstime();
            pthread_mutex_unlock(&L.lock);
            return r;
        }
        if (r == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -1;
        if (wait_fd(cn->fd, POLLIN, cn->timeout_ms) < 0) return -1;
    }
}

static int conn_fill(conn *cn) {
    if (cn->pos == cn->len) cn->pos = cn->len = 0;
    if (cn->len == sizeof(cn->buf)) return 0;
    if (!cn->tls) {
        ssize_t r = raw_read(cn, cn->buf + cn->len, sizeof(cn->buf) - cn->len);
        if (r < 0) return -1;
        cn->len += (size_t)r;
        return 0;
    }
    char cbuf[16 * 1024];
    for (;;) {
        ssize_t r = tls_conn_read(cn->tls, cn->buf + cn->len, sizeof(cn->buf) - cn->len);
        if (tls_flush(cn) < 0) return -1;
        if (r > 0) {
            cn->len += (size_t)r;
            return 0;
        }
        if (r < 0) {
            errno = ECONNRESET;
            return -1;
        }
        ssize_t n = raw_read(cn, cbuf, sizeof(cbuf));
        if (n < 0) return -1;
        tls_conn_feed(cn->tls, cbuf, (size_t)n);
    }
}

/* One line without CRLF into out (at most cap-1 chars). */
static int conn_line(conn *cn, char *out, size_t cap) {
    size_t n = 0;
    for (;;) {
        while (cn->pos < cn->len) {
            char ch = cn->buf[cn->pos++];
            if (ch == '\n') {
                if (n > 0 && out[n - 1] == '\r') n--;
                out[n] = '\0';
                return 0;
            }
            if (n + 1 < cap) out[n++] = ch;
        }
        if (conn_fill(cn) < 0) return -1;
    }
}

/* Sends a command (argv of C strings) and reads its one-line reply. */
static int conn_cmd(conn *cn, char *reply, size_t cap, int argc, const char **argv) {
    char req[1024];
    size_t n = (size_t)snprintf(req, sizeof(req), "*%d\r\n", argc);
    for (int i = 0; i < argc && n < sizeof(req); i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (n >= sizeof(req) || conn_write(cn, req, n) < 0) return -1;
    return conn_line(cn, reply, cap);
}

/* The attempt of generation gen moves on to st, unless a REPLICAOF (or a
 * promotion) has replaced it meanwhile: a stale attempt must never turn
 * LS_NONE back into a state the thread would reconnect from (two nodes
 * could then replicate from each other after FAILOVER). */
static void set_state(uint64_t gen, int st) {
    pthread_mutex_lock(&L.lock);
    if (!L.stop && L.gen == gen) L.state = st;
    pthread_mutex_unlock(&L.lock);
}

/* ---- Full sync payload ------------------------------------------------------- */

/* Reads the payload into path. 0 or -1 (logged). */
static int read_payload(conn *cn, const char *path, uint64_t gen) {
    char line[256];
    do {
        if (conn_line(cn, line, sizeof(line)) < 0) {
            serverLog(LL_WARNING, "I/O error reading bulk count from MASTER: %s", strerror(errno));
            return -1;
        }
    } while (line[0] == '\0'); /* the master's keepalive newlines */
    if (line[0] == '-') {
        serverLog(LL_WARNING, "MASTER aborted replication with an error: %s", line + 1);
        return -1;
    }
    if (line[0] != '$') {
        serverLog(LL_WARNING, "Bad protocol from MASTER, the first byte is not '$' (we received "
                              "'%.64s'), are you sure the host and port are right?", line);
        return -1;
    }
    int eof_form = strncmp(line, "$EOF:", 5) == 0;
    char mark[41] = {0};
    long long total = -1;
    if (eof_form) {
        if (strlen(line + 5) != 40) {
            serverLog(LL_WARNING, "Bad EOF mark from MASTER: '%.64s'", line);
            return -1;
        }
        memcpy(mark, line + 5, 40);
    } else {
        char *end = NULL;
        total = strtoll(line + 1, &end, 10);
        if (!end || *end || total < 0) {
            serverLog(LL_WARNING, "Bad bulk length from MASTER: '%.64s'", line);
            return -1;
        }
    }
    pthread_mutex_lock(&L.lock);
    L.sync_total = total < 0 ? 0 : (uint64_t)total;
    L.sync_read = 0;
    pthread_mutex_unlock(&L.lock);
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: receiving %s", eof_form ? "streamed RDB from master with EOF to disk" : line + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        serverLog(LL_WARNING, "Opening the temp file needed for MASTER <-> REPLICA "
                              "synchronization: %s", strerror(errno));
        return -1;
    }
    uint64_t got = 0;
    char tail[40];
    size_t ntail = 0; /* eof form: the last bytes seen (the mark candidate) */
    int rc = -1;
    for (;;) {
        if (link_stopping(gen)) break;
        if (cn->pos == cn->len && conn_fill(cn) < 0) {
            serverLog(LL_WARNING, "I/O error trying to sync with MASTER: %s",
                      errno == ECONNRESET ? "connection lost" : strerror(errno));
            break;
        }
        size_t avail = cn->len - cn->pos;
        if (!eof_form && (uint64_t)avail > (uint64_t)total - got) avail = (size_t)((uint64_t)total - got);
        if (avail && write(fd, cn->buf + cn->pos, avail) != (ssize_t)avail) {
            serverLog(LL_WARNING, "Write error saving the payload to disk: %s", strerror(errno));
            break;
        }
        if (eof_form) {
            /* Keep the last 40 bytes to compare with the mark. */
            for (size_t i = 0; i < avail; i++) {
                if (ntail == 40) memmove(tail, tail + 1, 39), ntail = 39;
                tail[ntail++] = cn->buf[cn->pos + i];
            }
        }
        cn->pos += avail;
        got += avail;
        pthread_mutex_lock(&L.lock);
        L.sync_read = got;
        pthread_mutex_unlock(&L.lock);
        if (!eof_form && got == (uint64_t)total) {
            rc = 0;
            break;
        }
        if (eof_form && ntail == 40 && memcmp(tail, mark, 40) == 0) {
            if (ftruncate(fd, (off_t)(got - 40)) == 0) rc = 0;
            break;
        }
    }
    if (fsync(fd) < 0 && rc == 0) rc = -1;
    close(fd);
    return rc;
}

/* Checks the whole payload, then replaces the data set with it. 0 or -1
 * (logged; the old data untouched when the payload is bad). */
static int state_write(const char *id, uint64_t off, uint64_t snap_lsn) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s.tmp", REPL_STATE_FILE);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "lightning-replication 1\nreplid %s\noffset %" PRIu64 "\nsnapshot-lsn %" PRIu64 "\n",
            id, off, snap_lsn);
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, REPL_STATE_FILE) < 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        if (fsync(dfd) < 0) { /* best effort: the next full sync rewrites it */ }
        close(dfd);
    }
    return 0;
}

int repl_state_read(char id[41], uint64_t *off, uint64_t *snap_lsn) {
    FILE *f = fopen(REPL_STATE_FILE, "r");
    if (!f) return -1;
    char idb[64] = {0};
    unsigned long long o = 0, l = 0;
    int n = fscanf(f, "lightning-replication 1 replid %63s offset %llu snapshot-lsn %llu", idb, &o, &l);
    fclose(f);
    if (n != 3 || strlen(idb) != 40) return -1;
    memcpy(id, idb, 41);
    *off = o;
    *snap_lsn = l;
    return 0;
}

/* full sync: the data set loaded is the master's at (id, off). */
static int load_payload(const char *path, const char *id, uint64_t off) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        serverLog(LL_WARNING, "Cannot open the payload %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = (size_t)st.st_size;
    void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        serverLog(LL_WARNING, "Failed trying to load the MASTER synchronization DB from disk: "
                              "empty or unreadable payload");
        return -1;
    }
    rdb_load_opts o = {.databases = (unsigned)server.databases, .threads = 2};
    rdb_load_info info;
    rdb_problem pb;
    memset(&pb, 0, sizeof(pb));
    if (rdb_verify_buf(map, len, &o, &info, &pb) != LT_OK) {
        serverLog(LL_WARNING, "Failed trying to load the MASTER synchronization DB from disk: "
                              "bad payload at offset %llu: %s. The old data set is kept; "
                              "retrying the sync.",
                  (unsigned long long)pb.offset, pb.why);
        munmap(map, len);
        return -1;
    }
    /* The old state file no longer describes what the files will hold. */
    if (unlink(REPL_STATE_FILE) < 0 && errno != ENOENT)
        serverLog(LL_WARNING, "Cannot remove %s: %s", REPL_STATE_FILE, strerror(errno));
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: Flushing old data");
    persist_set_unlogged(1);
    ks_txn txn;
    ks_txn_begin_all(&txn, server.db);
    if (server.replica_lazy_flush) ks_txn_set_lazyfree(&txn, KS_LAZYFREE_ALWAYS);
    for (int db = 0; db < server.databases; db++) ks_flush_db(&txn, (unsigned)db);
    ks_txn_commit(&txn);
    tracking_invalidate_all();
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: Loading DB in memory");
    int64_t t0 = mstime();
    int rc = rdb_load_buf(server.db, map, len, &o, &info, &pb);
    persist_set_unlogged(0);
    munmap(map, len);
    if (rc != LT_OK) {
        serverLog(LL_WARNING, "Failed trying to load the MASTER synchronization DB: %s at "
                              "offset %llu; the data set is flushed, retrying the sync",
                  pb.why, (unsigned long long)pb.offset);
        return -1;
    }
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: Finished with success (%" PRIu64
                         " keys in %lld ms)", info.keys, (long long)(mstime() - t0));
    if (server.appendonly) {
        /* The loaded keys are not in the WAL: a snapshot covers them. */
        int src;
        for (int i = 0; (src = save_now()) == -2 && i < 600; i++) usleep(100 * 1000);
        if (src != 0) {
            serverLog(LL_WARNING, "MASTER <-> REPLICA sync: the snapshot after the load failed; "
                                  "a restart would need a full resync");
        } else {
            save_info si;
            save_get_info(&si);
            if (state_write(id, off, si.snap_lsn) < 0)
                serverLog(LL_WARNING, "Cannot write %s: %s (a restart will need a full resync)",
                          REPL_STATE_FILE, strerror(errno));
        }
    }
    return 0;
}

/* ---- One synchronization attempt ------------------------------------------------ */

static void my_ids(char id[41], uint64_t *off, int *known) {
    repl_get_replid(id);
    pthread_mutex_lock(&R.lock);
    *off = R.reploff;
    *known = R.has_backlog || R.reploff > 0;
    pthread_mutex_unlock(&R.lock);
}

/* Returns 0 when the socket was handed to a worker, -1 to retry. */
static int sync_once(const char *host, int port, uint64_t gen) {
    conn *cn = calloc(1, sizeof(*cn));
    if (!cn) return -1;
    cn->timeout_ms = (server.repl_timeout > 0 ? server.repl_timeout : 60) * 1000;
    char path[64] = {0};
    char line[512];
    int ok = -1;
    set_state(gen, LS_CONNECTING);
    serverLog(LL_NOTICE, "Connecting to MASTER %s:%d", host, port);
    if (conn_open(cn, host, port) < 0) goto done;
    if (server.tls_replication && conn_start_tls(cn) < 0) goto done;
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync started");
    set_state(gen, LS_HANDSHAKE);
    const char *ping[] = {"PING"};
    if (conn_cmd(cn, line, sizeof(line), 1, ping) < 0) goto io_error;
    if (line[0] == '-' && strncmp(line, "-NOAUTH", 7) != 0 && strncmp(line, "-NOPERM", 7) != 0 &&
        strncmp(line, "-ERR operation not permitted", 28) != 0) {
        serverLog(LL_WARNING, "Error reply to PING from master: '%s'", line);
        goto done;
    }
    serverLog(LL_NOTICE, "Master replied to PING, replication can continue...");
    if (server.masterauth) {
        const char *auth[] = {"AUTH", server.masteruser ? server.masteruser : server.masterauth,
                              server.masterauth};
        int argc = server.masteruser ? 3 : 2;
        if (!server.masteruser) auth[1] = server.masterauth;
        if (conn_cmd(cn, line, sizeof(line), argc, auth) < 0) goto io_error;
        if (line[0] == '-') {
            serverLog(LL_WARNING, "Unable to AUTH to MASTER: %s", line);
            goto done;
        }
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d",
             server.replica_announce_port ? server.replica_announce_port : server.port);
    const char *lp[] = {"REPLCONF", "listening-port", portstr};
    if (conn_cmd(cn, line, sizeof(line), 3, lp) < 0) goto io_error;
    if (line[0] == '-')
        serverLog(LL_NOTICE, "(Non critical) Master does not understand REPLCONF listening-port: %s", line);
    if (server.replica_announce_ip) {
        const char *ip[] = {"REPLCONF", "ip-address", server.replica_announce_ip};
        if (conn_cmd(cn, line, sizeof(line), 3, ip) < 0) goto io_error;
    }
    const char *capa[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    if (conn_cmd(cn, line, sizeof(line), 5, capa) < 0) goto io_error;
    char id[41];
    uint64_t off;
    int known;
    my_ids(id, &off, &known);
    char offs[24];
    snprintf(offs, sizeof(offs), "%" PRIu64, off + 1);
    const char *ps[] = {"PSYNC", known ? id : "?", known ? offs : "-1", "FAILOVER"};
    int failover = repl_failover_in_progress();
    if (known)
        serverLog(LL_NOTICE, "Trying a partial resynchronization (request %s:%s).", id, offs);
    else
        serverLog(LL_NOTICE, "Partial resynchronization not possible (no cached master)");
    if (conn_cmd(cn, line, sizeof(line), failover ? 4 : 3, ps) < 0) goto io_error;
    while (line[0] == '\0')
        if (conn_line(cn, line, sizeof(line)) < 0) goto io_error;
    if (failover)
        repl_failover_psync_result(!strncmp(line, "+CONTINUE", 9) || !strncmp(line, "+FULLRESYNC", 11));
    /* Promoted or repointed while waiting for the reply: act on nothing. */
    if (link_stopping(gen)) goto done;
    if (!strncmp(line, "+CONTINUE", 9)) {
        const char *nid = line + 9;
        while (*nid == ' ') nid++;
        if (strlen(nid) == 40 && strcmp(nid, id) != 0) {
            /* The master's id changed (it was promoted): our history up to
             * here is shared with its previous id. */
            pthread_mutex_lock(&R.lock);
            memcpy(R.replid2, id, 41);
            R.second_off = (int64_t)R.reploff + 1;
            pthread_mutex_unlock(&R.lock);
            repl_set_replid(nid);
            repl_disconnect_replicas();
            serverLog(LL_NOTICE, "Master replication ID changed to %s", nid);
        }
        repl_backlog_ensure();
        serverLog(LL_NOTICE, "Successful partial resynchronization with master.");
        serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        ok = 0;
        goto handoff;
    }
    if (strncmp(line, "+FULLRESYNC", 11) != 0) {
        serverLog(LL_WARNING, "Unexpected reply to PSYNC from master: %s", line);
        goto done;
    }
    char mid[64];
    unsigned long long moff = 0;
    if (sscanf(line, "+FULLRESYNC %63s %llu", mid, &moff) != 2 || strlen(mid) != 40) {
        serverLog(LL_WARNING, "Master replied with wrong +FULLRESYNC syntax: %s", line);
        goto done;
    }
    serverLog(LL_NOTICE, "Full resync from master: %s:%llu", mid, moff);
    set_state(gen, LS_TRANSFER);
    snprintf(path, sizeof(path), "temp-repl-%d.rdb", (int)getpid());
    if (read_payload(cn, path, gen) < 0) goto done;
    if (link_stopping(gen)) goto done;
    if (load_payload(path, mid, moff) < 0) goto done;
    /* The data set is the master's at moff. */
    pthread_mutex_lock(&R.lock);
    R.reploff = moff;
    R.master_db = 0;
    memset(R.replid2, '0', 40);
    R.second_off = -1;
    if (R.has_backlog) backlog_reset(&R.bl, moff);
    pthread_mutex_unlock(&R.lock);
    repl_set_replid(mid);
    repl_disconnect_replicas();
    repl_backlog_ensure(); /* for our own replicas, and PSYNC after a promotion */
    ok = 0;
    goto handoff;
io_error:
    serverLog(LL_WARNING, "Master did not respond to command during SYNC handshake (%s)",
              strerror(errno));
    goto done;
handoff: {
        size_t rest = cn->len - cn->pos;
        char *pending = rest ? malloc(rest) : NULL;
        if (rest && !pending) {
            ok = -1;
            goto done;
        }
        if (rest) memcpy(pending, cn->buf + cn->pos, rest);
        /* TLS: what the session decrypted already but we did not ask
         * for yet goes with it, or it would wait for the next record. */
        for (ssize_t r; cn->tls && (r = tls_conn_read(cn->tls, cn->buf, sizeof(cn->buf))) > 0;) {
            pending = lt_xrealloc(pending, rest + (size_t)r);
            memcpy(pending + rest, cn->buf, (size_t)r);
            rest += (size_t)r;
        }
        /* Blocking mode off is what the worker expects: it already is. */
        pthread_mutex_lock(&L.lock);
        if (L.stop || L.gen != gen) {
            pthread_mutex_unlock(&L.lock);
            free(pending);
            ok = -1;
            goto done;
        }
        L.fd = -1;
        L.state = LS_CONNECTED; /* until the master client closes */
        L.last_io_ms = mstime();
        L.down_since_ms = 0;
        pthread_mutex_unlock(&L.lock);
        worker_adopt_master(server.workers[0], cn->fd, cn->tls, pending, rest);
        cn->fd = -1;
        cn->tls = NULL;
    }
done:
    if (path[0]) unlink(path);
    pthread_mutex_lock(&L.lock);
    /* Forgotten before it is closed: drop_link_locked must never shut down
     * a number the kernel has given to another socket since. */
    if (L.fd == cn->fd) L.fd = -1;
    if (cn->fd >= 0) close(cn->fd);
    if (ok < 0 && L.gen == gen && L.state != LS_NONE) L.state = LS_CONNECT;
    pthread_mutex_unlock(&L.lock);
    tls_conn_free(cn->tls);
    free(cn);
    return ok;
}

static void *link_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&L.lock);
    while (!L.stop) {
        if (L.state != LS_CONNECT) {
            pthread_cond_wait(&L.cond, &L.lock);
            continue;
        }
        char host[256];
        snprintf(host, sizeof(host), "%s", L.host);
        int port = L.port;
        uint64_t gen = L.gen;
        pthread_mutex_unlock(&L.lock);
        int rc = sync_once(host, port, gen);
        pthread_mutex_lock(&L.lock);
        if (rc < 0 && !L.stop && L.gen == gen) {
            /* Retry in a second (Redis's replicationCron does the same). */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&L.cond, &L.lock, &ts);
        }
    }
    pthread_mutex_unlock(&L.lock);
    return NULL;
}

/* ---- Role changes (REPLICAOF) --------------------------------------------------- */

/* Kills the master client and any socket the thread is using. L.lock held. */
static void drop_link_locked(void) {
    if (L.mc) {
        __atomic_store_n(&L.mc->user_kill_flag, 1, __ATOMIC_RELEASE);
        worker_notify(L.mw);
    }
    if (L.fd >= 0) shutdown(L.fd, SHUT_RDWR);
}

int repl_link_start(const char *host, int port) {
    /* This node's offset and id become the "cached master": PSYNC asks
     * the new master to continue from them. */
    if (!repl_is_replica()) {
        /* Under R.lock the stream's records are either in the backlog
         * already or will be ignored: its end is this node's offset. (It
         * may run inside EXEC, so no engine lock is taken here.) */
        pthread_mutex_lock(&R.lock);
        R.reploff = repl_offset_locked();
        R.delta_pending = 0;
        __atomic_store_n(&R.is_replica, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&R.lock);
    }
    repl_disconnect_replicas();
    pthread_mutex_lock(&L.lock);
    drop_link_locked();
    snprintf(L.host, sizeof(L.host), "%s", host);
    L.port = port;
    L.gen++;
    L.state = LS_CONNECT;
    if (!L.down_since_ms) L.down_since_ms = mstime();
    int rc = 0;
    if (!L.running) {
        L.stop = 0;
        if (pthread_create(&L.th, NULL, link_main, NULL) == 0) L.running = 1;
        else rc = -1;
    }
    pthread_cond_broadcast(&L.cond);
    pthread_mutex_unlock(&L.lock);
    serverLog(LL_NOTICE, "Connecting to MASTER %s:%d", host, port);
    return rc;
}

/* REPLICAOF NO ONE. */
void repl_link_unset(void) {
    pthread_mutex_lock(&L.lock);
    drop_link_locked();
    L.state = LS_NONE;
    L.gen++;
    pthread_cond_broadcast(&L.cond);
    pthread_mutex_unlock(&L.lock);
    if (!repl_is_replica()) return;
    char old[41], nid[41];
    repl_get_replid(old);
    repl_random_id(nid);
    /* The next local record continues at R.reploff: the stream consumer
     * fixes delta from that record's offset (delta_pending), so no engine
     * lock is needed (this may run inside EXEC, as Sentinel sends it). */
    pthread_mutex_lock(&R.lock);
    memcpy(R.replid2, old, 41);
    R.second_off = (int64_t)R.reploff + 1;
    R.delta_pending = 1;
    if (R.has_backlog && R.bl.end != R.reploff) backlog_reset(&R.bl, R.reploff);
    __atomic_store_n(&R.is_replica, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&R.lock);
    repl_set_replid(nid);
    repl_backlog_ensure();
    repl_disconnect_replicas();
    serverLog(LL_NOTICE, "Setting secondary replication ID to %s, valid up to offset: %lld. New "
                         "replication ID is %s", old, (long long)R.second_off, nid);
    serverLog(LL_NOTICE, "MASTER MODE enabled (user request from 'id=?')");
}

void repl_link_stop(void) {
    pthread_mutex_lock(&L.lock);
    L.stop = 1;
    drop_link_locked();
    int running = L.running;
    L.running = 0;
    pthread_cond_broadcast(&L.cond);
    pthread_mutex_unlock(&L.lock);
    if (running) pthread_join(L.th, NULL);
}

/* ---- The master client (worker thread) ------------------------------------------ */

static void send_ack(client *c) {
    char line[96], num[24];
    uint64_t off = repl_offset();
    int nl = snprintf(num, sizeof(num), "%" PRIu64, off);
    int n = snprintf(line, sizeof(line), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", nl, num);
    uint32_t saved = c->flags & CLIENT_REPLY_OFF;
    c->flags &= ~CLIENT_REPLY_OFF;
    addReplyProto(c, line, (size_t)n);
    c->flags |= saved;
    client_queue_write(c);
    L.last_ack_sent = off;
    L.last_ack_ms = c->owner->now_ms;
}

void repl_master_client_created(client *c, const char *pending, size_t n) {
    pthread_mutex_lock(&L.lock);
    int stale = L.state != LS_CONNECTED || L.mc != NULL;
    if (!stale) {
        L.mc = c;
        L.mw = c->owner;
    }
    pthread_mutex_unlock(&L.lock);
    if (stale) {
        client_close(c);
        return;
    }
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: the stream from the master is applied now");
    pthread_mutex_lock(&R.lock);
    c->db = R.master_db;
    pthread_mutex_unlock(&R.lock);
    if (n) client_feed_plain(c, (char *)pending, n);
    if (!(c->flags & CLIENT_CLOSED)) send_ack(c);
}

/* The offset mark the WAL record of a master command ends with. */
static __thread char mark_buf[160];

void repl_master_cmd_begin(client *c, size_t n) {
    pthread_mutex_lock(&repl_apply_lock);
    if (!server.appendonly) return;
    char id[41], off[24], db[16];
    repl_get_replid(id);
    pthread_mutex_lock(&R.lock);
    snprintf(off, sizeof(off), "%" PRIu64, R.reploff + n);
    pthread_mutex_unlock(&R.lock);
    snprintf(db, sizeof(db), "%d", c->db);
    int k = snprintf(mark_buf, sizeof(mark_buf),
                     "*5\r\n$8\r\nREPLCONF\r\n$9\r\nLT-OFFSET\r\n$40\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
                     id, strlen(off), off, strlen(db), db);
    persist_set_record_suffix(mark_buf, (size_t)k);
}

void repl_master_cmd_end(client *c, const char *raw, size_t n) {
    persist_set_record_suffix(NULL, 0);
    pthread_mutex_lock(&R.lock);
    R.master_db = c->db;
    R.reploff += n;
    if (R.has_backlog) {
        if (backlog_append(&R.bl, raw, n) < 0) backlog_reset(&R.bl, R.reploff);
        repl_kick_replicas_locked();
    }
    pthread_mutex_unlock(&R.lock);
    pthread_mutex_unlock(&repl_apply_lock);
}

void repl_master_read_done(client *c) {
    pthread_mutex_lock(&L.lock);
    L.last_io_ms = mstime();
    pthread_mutex_unlock(&L.lock);
    if (repl_offset() != L.last_ack_sent) send_ack(c);
}

void repl_link_master_closed(client *c) {
    pthread_mutex_lock(&L.lock);
    if (L.mc == c) {
        L.mc = NULL;
        L.mw = NULL;
        if (L.state == LS_CONNECTED) L.state = LS_CONNECT;
        L.down_since_ms = mstime();
        pthread_cond_broadcast(&L.cond);
        serverLog(LL_NOTICE, "Connection with master lost.");
    }
    pthread_mutex_unlock(&L.lock);
}

void repl_link_cron(worker *w) {
    pthread_mutex_lock(&L.lock);
    client *mc = L.mw == w ? L.mc : NULL;
    int64_t last = L.last_io_ms;
    pthread_mutex_unlock(&L.lock);
    if (!mc || (mc->flags & CLIENT_CLOSED)) return;
    if (w->now_ms - last > (int64_t)server.repl_timeout * 1000) {
        serverLog(LL_WARNING, "MASTER timeout: no data nor PING received...");
        client_close(mc);
        return;
    }
    if (w->now_ms - L.last_ack_ms >= 1000) send_ack(mc);
}

/* ---- INFO / ROLE ---------------------------------------------------------------- */

static const char *role_state_name(int st) {
    switch (st) {
    case LS_CONNECT: return "connect";
    case LS_CONNECTING: return "connecting";
    case LS_HANDSHAKE: return "handshake";
    case LS_TRANSFER: return "sync";
    case LS_CONNECTED: return "connected";
    default: return "none";
    }
}

char *repl_link_info(void) {
    char *out = malloc(1024);
    if (!out) return NULL;
    pthread_mutex_lock(&L.lock);
    int64_t now = mstime();
    uint64_t off = repl_offset();
    int up = L.state == LS_CONNECTED;
    int n = snprintf(out, 1024,
                     "master_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
                     "master_last_io_seconds_ago:%d\r\nmaster_sync_in_progress:%d\r\n"
                     "slave_read_repl_offset:%" PRIu64 "\r\nslave_repl_offset:%" PRIu64 "\r\n",
                     L.host, L.port, up ? "up" : "down",
                     up ? (int)((now - L.last_io_ms) / 1000) : -1, L.state == LS_TRANSFER, off, off);
    if (L.state == LS_TRANSFER && n < 1024) {
        uint64_t left = L.sync_total > L.sync_read ? L.sync_total - L.sync_read : 0;
        n += snprintf(out + n, 1024 - (size_t)n,
                      "master_sync_total_bytes:%lld\r\nmaster_sync_read_bytes:%" PRIu64
                      "\r\nmaster_sync_left_bytes:%lld\r\nmaster_sync_perc:%.2f\r\n"
                      "master_sync_last_io_seconds_ago:%d\r\n",
                      L.sync_total ? (long long)L.sync_total : -1LL, L.sync_read,
                      L.sync_total ? (long long)left : -1LL,
                      L.sync_total ? (double)L.sync_read * 100.0 / (double)L.sync_total : 0.0,
                      (int)((now - L.sync_last_io_ms) / 1000));
    }
    if (!up && n < 1024)
        snprintf(out + n, 1024 - (size_t)n, "master_link_down_since_seconds:%lld\r\n",
                 L.down_since_ms ? (long long)((now - L.down_since_ms) / 1000) : -1LL);
    pthread_mutex_unlock(&L.lock);
    return out;
}

void repl_link_role(client *c) {
    pthread_mutex_lock(&L.lock);
    char host[256];
    snprintf(host, sizeof(host), "%s", L.host);
    int port = L.port, st = L.state;
    pthread_mutex_unlock(&L.lock);
    addReplyArrayLen(c, 5);
    addReplyBulkCString(c, "slave");
    addReplyBulkCString(c, host);
    addReplyLongLong(c, port);
    addReplyBulkCString(c, role_state_name(st));
    addReplyLongLong(c, st == LS_CONNECTED ? (long long)repl_offset() : -1);
}

int repl_link_same(const char *host, int port) {
    pthread_mutex_lock(&L.lock);
    int same = L.state != LS_NONE && L.port == port && strcasecmp(L.host, host) == 0;
    pthread_mutex_unlock(&L.lock);
    return same;
}
