/*
 * migrate: MIGRATE — moving keys to another server (Lightning or Redis) as
 * RESTORE commands carrying DUMP payloads, as Redis 7.0.15's
 * migrateCommand does: same options (COPY, REPLACE, AUTH, AUTH2, KEYS),
 * same replies (+NOKEY, +OK, "-IOERR error or timeout ...", "ERR Target
 * instance replied with error: ..."), same wire traffic (AUTH, SELECT only
 * when the cached connection's database differs, one RESTORE per key with
 * the remaining TTL in ms, REPLACE when asked), one retry on a stale cached
 * connection.
 *
 * Connections: cached per "host:port" as Redis keeps them (at most
 * MIGRATE_CACHE_ITEMS, a random one dropped when full; closed after
 * MIGRATE_CACHE_TTL_MS unused by migrate_cron). A cached connection is
 * taken out of the cache while a command uses it, so two I/O threads never
 * share one; a second concurrent MIGRATE to the same target opens its own.
 * I/O is blocking with the command's timeout (poll), on the thread that
 * runs the command, as Redis blocks on it.
 *
 * Atomicity: without COPY the keys' shards stay locked from building the
 * payloads until the keys the target acknowledged are deleted, so the move
 * is atomic for the keys as Redis's (which blocks the server) — resharding
 * under load neither loses a write nor leaves a stale copy on the target.
 * Other commands on those shards wait for the round trip (at most the
 * timeout). With COPY, or when the target is this server (its RESTORE
 * would wait for these very locks), the locks are released during the
 * round trip and a key written meanwhile (its version changed) is kept
 * rather than deleted. What is logged is `DEL` of the keys deleted, as
 * Redis propagates it. In cluster mode the keys go as RESTORE-ASKING (the
 * target is importing their slot), as Redis sends them.
 *
 * Called by: dispatch (migrate_commands[]); migrate_cron by worker 0's cron.
 */
#include "server/cmd/args.h"
#include "server/cmd/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/random.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "engine/keyspace.h"
#include "engine/rdb.h"
#include "server/cmd/migrate.h"
#include "server/cmd/t_dump.h"
#include "server/net/reply.h"
#include "server/persist/persist.h"
#include "server/server.h"

#define MIGRATE_CACHE_ITEMS 64
#define MIGRATE_CACHE_TTL_MS 10000
#define MIGRATE_CHUNK (64 * 1024)
#define MIGRATE_LINE_MAX 1024

typedef struct mig_conn {
    char name[300]; /* "host:port"; "" = free slot */
    int fd;
    long last_dbid;
    int64_t last_use_ms;
} mig_conn;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static mig_conn cache[MIGRATE_CACHE_ITEMS];

/* ---- Blocking I/O with a deadline ------------------------------------------------ */

static int wait_fd(int fd, short ev, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - lt_mstime();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static int write_all(int fd, const unsigned char *p, size_t n, long timeout_ms) {
    size_t off = 0;
    while (off < n) {
        size_t chunk = n - off > MIGRATE_CHUNK ? MIGRATE_CHUNK : n - off;
        int64_t deadline = lt_mstime() + timeout_ms;
        size_t done = 0;
        while (done < chunk) {
            ssize_t w = send(fd, p + off + done, chunk - done, MSG_NOSIGNAL);
            if (w > 0) {
                done += (size_t)w;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (wait_fd(fd, POLLOUT, deadline) < 0) return -1;
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else {
                return -1;
            }
        }
        off += chunk;
    }
    return 0;
}

/* One reply line (without CRLF) into buf, as Redis's syncReadLine: byte by
 * byte, so nothing after the line is consumed. Returns its length, or -1. */
static int read_line(int fd, char *buf, size_t cap, long timeout_ms) {
    int64_t deadline = lt_mstime() + timeout_ms;
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = recv(fd, &ch, 1, 0);
        if (r == 1) {
            if (ch == '\n') {
                if (n > 0 && buf[n - 1] == '\r') n--;
                buf[n] = 0;
                return (int)n;
            }
            if (n + 1 < cap) buf[n++] = ch;
        } else if (r == 0) {
            errno = ECONNRESET;
            return -1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(fd, POLLIN, deadline) < 0) return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
}

static int connect_to(const char *host, const char *port, long timeout_ms) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    int64_t deadline = lt_mstime() + timeout_ms;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        /* Like Redis's connBlockingConnect: writable in time counts as
         * connected; a refused connection then fails on the first write
         * ("IOERR ... writing to target instance", Redis's reply). */
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* ---- Connection cache ------------------------------------------------------------- */

/* Takes the cached connection to name out of the cache, or opens one
 * (-1: could not connect). */
static int conn_get(const char *host, const char *port, const char *name, long timeout_ms,
                    long *last_dbid) {
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++) {
        if (cache[i].name[0] && strcmp(cache[i].name, name) == 0) {
            int fd = cache[i].fd;
            *last_dbid = cache[i].last_dbid;
            cache[i].name[0] = 0;
            pthread_mutex_unlock(&cache_lock);
            return fd;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    *last_dbid = -1;
    return connect_to(host, port, timeout_ms);
}

/* Returns a connection to the cache (closing it if the cache already
 * holds one for name, and dropping a random entry when full). */
static void conn_put(const char *name, int fd, long last_dbid) {
    pthread_mutex_lock(&cache_lock);
    int free_slot = -1, used = 0;
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++) {
        if (!cache[i].name[0]) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        used++;
        if (strcmp(cache[i].name, name) == 0) {
            pthread_mutex_unlock(&cache_lock);
            close(fd);
            return;
        }
    }
    if (used == MIGRATE_CACHE_ITEMS) {
        free_slot = (int)lt_random_below(MIGRATE_CACHE_ITEMS);
        close(cache[free_slot].fd);
    }
    snprintf(cache[free_slot].name, sizeof(cache[free_slot].name), "%s", name);
    cache[free_slot].fd = fd;
    cache[free_slot].last_dbid = last_dbid;
    cache[free_slot].last_use_ms = lt_mstime();
    pthread_mutex_unlock(&cache_lock);
}

void migrate_cron(void) {
    int64_t now = lt_mstime();
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++) {
        if (cache[i].name[0] && now - cache[i].last_use_ms > MIGRATE_CACHE_TTL_MS) {
            close(cache[i].fd);
            cache[i].name[0] = 0;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- The command -------------------------------------------------------------------- */

static void bulk(rdb_buf *b, const void *p, size_t n) {
    char h[32];
    int k = snprintf(h, sizeof(h), "$%zu\r\n", n);
    rdb_buf_append(b, h, (size_t)k);
    rdb_buf_append(b, p, n);
    rdb_buf_append(b, "\r\n", 2);
}

static void bulk_ll(rdb_buf *b, long long v) {
    char s[LT_LLSTR_SIZE];
    bulk(b, s, lt_ll2string(s, sizeof(s), v));
}

static void count(rdb_buf *b, int n) {
    char h[16];
    int k = snprintf(h, sizeof(h), "*%d\r\n", n);
    rdb_buf_append(b, h, (size_t)k);
}

/* Whether host:port names this server (a MIGRATE to itself): the port is
 * one of ours and the host resolves to a local address. */
static int migrate_target_is_self(const char *host, const char *port) {
    long p = strtol(port, NULL, 10);
    if (p != server.port && (server.tls_port == 0 || p != server.tls_port)) return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) return 1; /* unsure: do not hold */
    int self = 0;
    for (struct addrinfo *a = res; a && !self; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        /* A local address can be bound; another host's cannot. */
        struct sockaddr_storage ss;
        memcpy(&ss, a->ai_addr, a->ai_addrlen);
        if (a->ai_family == AF_INET) ((struct sockaddr_in *)&ss)->sin_port = 0;
        else if (a->ai_family == AF_INET6) ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
        if (bind(fd, (struct sockaddr *)&ss, a->ai_addrlen) == 0) self = 1;
        close(fd);
    }
    freeaddrinfo(res);
    return self;
}

/* MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
 *         [AUTH password | AUTH2 username password] [KEYS key ...] */
static void migrateCommand(client *c) {
    int copy = 0, replace = 0, first_key = 3, num_keys = 1;
    const resp_arg *password = NULL, *username = NULL;
    for (int j = 6; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "copy")) {
            copy = 1;
        } else if (arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (arg_is(&c->argv[j], "auth")) {
            if (!moreargs) {
                addReplyErrorSyntax(c);
                return;
            }
            password = &c->argv[++j];
        } else if (arg_is(&c->argv[j], "auth2")) {
            if (moreargs < 2) {
                addReplyErrorSyntax(c);
                return;
            }
            username = &c->argv[++j];
            password = &c->argv[++j];
        } else if (arg_is(&c->argv[j], "keys")) {
            if (c->argv[3].len != 0) {
                addReplyError(c, "ERR When using MIGRATE KEYS option, the key argument must be "
                                 "set to the empty string");
                return;
            }
            first_key = j + 1;
            num_keys = c->argc - j - 1;
            break;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    long long timeout, dbid;
    if (arg_ll_or_reply(c, &c->argv[5], &timeout, NULL) < 0 ||
        arg_ll_or_reply(c, &c->argv[4], &dbid, NULL) < 0)
        return;
    if (timeout <= 0) timeout = 1000;

    unsigned db = (unsigned)c->db;
    ks_key *keys = lt_xmalloc(sizeof(ks_key) * (size_t)(num_keys ? num_keys : 1));
    uint64_t *vers = lt_xmalloc(sizeof(uint64_t) * (size_t)(num_keys ? num_keys : 1));
    int *idx = lt_xmalloc(sizeof(int) * (size_t)(num_keys ? num_keys : 1));
    for (int j = 0; j < num_keys; j++)
        keys[j] = (ks_key){db, c->argv[first_key + j].ptr, c->argv[first_key + j].len};

    char host_port[300];
    snprintf(host_port, sizeof(host_port), "%.*s:%.*s", (int)c->argv[1].len, c->argv[1].ptr,
             (int)c->argv[2].len, c->argv[2].ptr);
    char host[256], port[32];
    snprintf(host, sizeof(host), "%.*s", (int)c->argv[1].len, c->argv[1].ptr);
    snprintf(port, sizeof(port), "%.*s", (int)c->argv[2].len, c->argv[2].ptr);

    int may_retry = 1;
    rdb_buf cmd = {0};
    /* Moving keys (no COPY) keeps their shards locked until the target has
     * answered and they are deleted, so no write lands between the payload
     * and the deletion (Redis's MIGRATE is atomic: a write in that window
     * would be lost, or leave a stale copy on the target that redis-cli's
     * next MIGRATE of the key refuses with BUSYKEY). Not when the target is
     * this server: its RESTORE would wait for these very locks. */
    int hold = !copy && !migrate_target_is_self(host, port);
    int txn_open = 0;
    ks_txn txn;
try_again:
    cmd.len = 0;
    /* Payloads, under the keys' locks. */
    ks_txn_begin(&txn, server.db, keys, (size_t)num_keys);
    txn_open = 1;
    int n = 0;
    for (int j = 0; j < num_keys; j++) {
        const ks_entry *e = ks_lookup(&txn, db, keys[j].key, keys[j].klen, 0);
        if (!e) continue;
        int64_t exp = ks_entry_expire_ms(e);
        long long ttl = 0;
        if (exp >= 0) {
            ttl = exp - txn.now_ms;
            if (ttl < 0) continue;
            if (ttl < 1) ttl = 1;
        }
        rdb_buf payload = {0};
        if (rdb_dump_payload(&payload, e) != LT_OK) {
            free(payload.p);
            continue; /* a value without an RDB form yet stays here */
        }
        vers[n] = ks_entry_ts(e);
        idx[n++] = j;
        count(&cmd, replace ? 5 : 4);
        /* In cluster mode the target is importing the slot: RESTORE-ASKING
         * is served there without a preceding ASKING (as Redis sends it). */
        if (server.cluster_enabled) bulk(&cmd, "RESTORE-ASKING", 14);
        else bulk(&cmd, "RESTORE", 7);
        bulk(&cmd, keys[j].key, keys[j].klen);
        bulk_ll(&cmd, ttl);
        bulk(&cmd, payload.p, payload.len);
        if (replace) bulk(&cmd, "REPLACE", 7);
        free(payload.p);
    }
    if (!hold || n == 0) {
        ks_txn_commit(&txn);
        txn_open = 0;
    }
    if (n == 0) {
        addReplyStatus(c, "NOKEY");
        goto done;
    }

    long last_dbid;
    int fd = conn_get(host, port, host_port, (long)timeout, &last_dbid);
    if (fd < 0) {
        addReplyError(c, "IOERR error or timeout connecting to the client");
        goto done;
    }
    rdb_buf pre = {0};
    if (password) {
        count(&pre, username ? 3 : 2);
        bulk(&pre, "AUTH", 4);
        if (username) bulk(&pre, username->ptr, username->len);
        bulk(&pre, password->ptr, password->len);
    }
    int select = last_dbid != dbid;
    if (select) {
        count(&pre, 2);
        bulk(&pre, "SELECT", 6);
        bulk_ll(&pre, dbid);
    }
    int write_error = 0;
    errno = 0;
    if ((pre.len && write_all(fd, pre.p, pre.len, (long)timeout) < 0) ||
        write_all(fd, cmd.p, cmd.len, (long)timeout) < 0) {
        free(pre.p);
        write_error = 1;
        goto socket_err;
    }
    free(pre.p);
    char buf0[MIGRATE_LINE_MAX], buf1[MIGRATE_LINE_MAX], buf2[MIGRATE_LINE_MAX];
    if (password && read_line(fd, buf0, sizeof(buf0), (long)timeout) <= 0) goto socket_err;
    if (select && read_line(fd, buf1, sizeof(buf1), (long)timeout) <= 0) goto socket_err;

    int error_from_target = 0, socket_error = 0, ndel = 0, j;
    resp_arg *delv = copy ? NULL : lt_xmalloc(sizeof(resp_arg) * (size_t)(n + 1));
    for (j = 0; j < n; j++) {
        if (read_line(fd, buf2, sizeof(buf2), (long)timeout) <= 0) {
            socket_error = 1;
            break;
        }
        if ((password && buf0[0] == '-') || (select && buf1[0] == '-') || buf2[0] == '-') {
            if (!error_from_target) {
                last_dbid = -1;
                const char *eb = (password && buf0[0] == '-') ? buf0
                                 : (select && buf1[0] == '-') ? buf1 : buf2;
                error_from_target = 1;
                addReplyErrorFormat(c, "Target instance replied with error: %s", eb + 1);
            }
        } else if (!copy) {
            delv[1 + ndel++] = c->argv[first_key + idx[j]];
        }
    }
    if (!error_from_target && socket_error && j == 0 && may_retry && errno != ETIMEDOUT) {
        free(delv);
        goto socket_err;
    }
    if (ndel > 0) {
        /* Delete what the target acknowledged, unless written meanwhile. */
        ks_key *dk = lt_xmalloc(sizeof(ks_key) * (size_t)ndel);
        for (int k = 0; k < ndel; k++) dk[k] = (ks_key){db, delv[1 + k].ptr, delv[1 + k].len};
        if (!txn_open) ks_txn_begin(&txn, server.db, dk, (size_t)ndel);
        txn_open = 1;
        int logged = 0;
        for (int k = 0, m = 0; k < n && m < ndel; k++) {
            const ks_key *kk = &keys[idx[k]];
            if (kk->key != delv[1 + m].ptr) continue;
            m++;
            if (ks_key_ts(&txn, db, kk->key, kk->klen) == vers[k] &&
                ks_delete(&txn, db, kk->key, kk->klen) == LT_OK)
                delv[1 + logged++] = (resp_arg){(char *)kk->key, kk->klen};
        }
        if (logged) {
            delv[0] = (resp_arg){"DEL", 3};
            persist_rewrite(c, logged + 1, delv);
        }
        free(dk);
    }
    if (txn_open) {
        ks_txn_commit(&txn);
        txn_open = 0;
    }
    free(delv);
    if (socket_error) {
        close(fd);
        if (!error_from_target) {
            may_retry = 0;
            fd = -1;
            goto socket_err;
        }
        goto done;
    }
    if (!error_from_target) {
        last_dbid = (long)dbid;
        addReplyOK(c);
    }
    conn_put(host_port, fd, last_dbid);
    goto done;

socket_err:
    if (txn_open) {
        ks_txn_commit(&txn);
        txn_open = 0;
    }
    if (fd >= 0) close(fd);
    if (errno != ETIMEDOUT && may_retry) {
        may_retry = 0;
        goto try_again;
    }
    addReplyErrorFormat(c, "IOERR error or timeout %s to target instance",
                        write_error ? "writing" : "reading");
done:
    if (txn_open) ks_txn_commit(&txn);
    free(cmd.p);
    free(keys);
    free(vers);
    free(idx);
}

/* Redis's migrateGetKeys: key 3, or the keys after KEYS (skipping the
 * arguments of AUTH / AUTH2 on the way). */
static int migrateGetKeys(const resp_arg *argv, int argc, int *keys, int max) {
    int first = 3, num = 1;
    for (int i = 6; i < argc; i++) {
        if (arg_is(&argv[i], "keys")) {
            if (argv[3].len > 0) return 0;
            first = i + 1;
            num = argc - first;
            break;
        }
        if (arg_is(&argv[i], "auth")) i += 1;
        else if (arg_is(&argv[i], "auth2")) i += 2;
    }
    int n = 0;
    for (int i = 0; i < num && n < max; i++) keys[n++] = first + i;
    return n;
}

command migrate_commands[] = {
    {.name = "migrate", .proc = migrateCommand, .arity = -6, .flags = CMD_WRITE | CMD_MOVABLE_KEYS,
     .acl = ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, .key_first = 3, .key_last = 3,
     .key_step = 1, .getkeys = migrateGetKeys,
     .key_flags = "RW access delete|RW access delete incomplete", .group = "generic",
     .since = "2.6.0",
     .complexity = "This command actually executes a DUMP+DEL in the source instance, and a "
                   "RESTORE in the target instance. See the pages of these commands for time "
                   "complexity. Also an O(N) data transfer between the two instances is "
                   "performed.",
     .tips = "nondeterministic_output",
     .summary = "Atomically transfers keys from one Redis instance to another."},
    {0},
};
