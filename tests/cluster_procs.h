/*
 * cluster_procs.h — helpers for tests that run clusters of real processes
 * (Lightning and redis-server nodes) and drive them with redis-cli
 * --cluster (through harness_popen; bus ports from harness_free_port):
 * node start-up, bounded polls, and a small cluster client (cc_*) that
 * follows MOVED, ASK (with ASKING), TRYAGAIN and CLUSTERDOWN the way
 * cluster-aware client libraries do, used by writer threads that load a
 * cluster while its slots move.
 *
 * Header-only (static functions), included by one test file each. Waits are
 * bounded polls; nothing here asserts on timing.
 */
#ifndef LT_TESTS_CLUSTER_PROCS_H
#define LT_TESTS_CLUSTER_PROCS_H

#include "difftest.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A cluster node (node timeout 5 s: two busy cores must not make a live
 * node look failed). */
static inline harness_server *cp_start_node(harness_kind kind) {
    char cport[16];
    snprintf(cport, sizeof(cport), "%d", harness_free_port());
    const char *d[] = {"cluster-enabled", "yes", "cluster-port", cport,
                       "cluster-node-timeout", "5000", NULL};
    harness_opts o = {.kind = kind, .directives = d};
    return harness_start_opts(&o);
}

/* Runs a redis-cli --cluster command; on failure prints its last output. */
static inline int cp_cli(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int cp_cli(const char *fmt, ...) {
    char args[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    char *out;
    int st = harness_popen(&out, "redis-cli --cluster %s 2>&1", args);
    if (st != 0) {
        size_t n = strlen(out);
        fprintf(stderr, "# redis-cli --cluster %s -> %d\n# ...%s\n", args, st,
                out + (n > 3000 ? n - 3000 : 0));
    }
    free(out);
    return st;
}

/* Polls (up to 60 s) until `redis-cli --cluster check` through port passes
 * (every node agrees about the slots: what the next --cluster command
 * requires). */
static inline int cp_wait_check(int port) {
    for (int i = 0; i < 240; i++) {
        if (harness_popen(NULL, "redis-cli --cluster check 127.0.0.1:%d >/dev/null 2>&1", port) == 0)
            return 1;
        usleep(250000);
    }
    return cp_cli("check 127.0.0.1:%d", port) == 0;
}

/* Polls (up to 60 s) until the reply of c to argv contains want. */
static inline int cp_wait_has(redisContext *c, const char *want, const char *const *argv) {
    for (int i = 0; i < 1200; i++) {
        if (strstr(cmd_argv(c, argv), want)) return 1;
        usleep(50000);
    }
    fprintf(stderr, "# waited for %s, last reply: %s\n", want, cmd_argv(c, argv));
    return 0;
}
#define CP_WAIT_HAS(c, want, ...) cp_wait_has((c), (want), (const char *const[]){__VA_ARGS__, NULL})

static inline void cp_myid(redisContext *c, char out[64]) {
    redisReply *r = redisCommand(c, "CLUSTER MYID");
    snprintf(out, 64, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
}

/* Redis's keyHashSlot, written out independently of the server's (CRC16
 * XMODEM of the key or of its {hash tag}). */
static inline unsigned cp_key_slot(const char *key, size_t len) {
    size_t s = 0, e = len;
    for (size_t i = 0; i < len; i++)
        if (key[i] == '{') {
            for (size_t j = i + 1; j < len; j++)
                if (key[j] == '}') {
                    if (j > i + 1) {
                        s = i + 1;
                        e = j;
                    }
                    break;
                }
            break;
        }
    uint16_t crc = 0;
    for (size_t i = s; i < e; i++) {
        crc ^= (uint16_t)((unsigned char)key[i] << 8);
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc & 16383;
}

/* ---- A minimal cluster client ------------------------------------------------- */

#define CC_MAX_NODES 16

typedef struct cc_client {
    int ports[CC_MAX_NODES];
    redisContext *conns[CC_MAX_NODES];
    int nconns;
    int slot_port[16384]; /* 0: unknown, ask ports[0] */
    uint64_t moved, ask, tryagain, down;
} cc_client;

static inline redisContext *cc_conn(cc_client *cc, int port) {
    for (int i = 0; i < cc->nconns; i++)
        if (cc->ports[i] == port) {
            if (cc->conns[i] && !cc->conns[i]->err) return cc->conns[i];
            if (cc->conns[i]) redisFree(cc->conns[i]);
            struct timeval tv = {10, 0};
            cc->conns[i] = redisConnectWithTimeout("127.0.0.1", port, tv);
            if (cc->conns[i] && !cc->conns[i]->err) redisSetTimeout(cc->conns[i], tv);
            return cc->conns[i];
        }
    if (cc->nconns == CC_MAX_NODES) return NULL;
    cc->ports[cc->nconns] = port;
    cc->conns[cc->nconns++] = NULL;
    return cc_conn(cc, port);
}

static inline void cc_free(cc_client *cc) {
    for (int i = 0; i < cc->nconns; i++)
        if (cc->conns[i]) redisFree(cc->conns[i]);
    cc->nconns = 0;
}

/* Runs one command whose keys are all in slot, following redirections (up
 * to 200 tries; TRYAGAIN and CLUSTERDOWN wait 20 ms). Returns the final
 * reply (the caller frees it), or NULL when every try failed. */
static inline redisReply *cc_command(cc_client *cc, unsigned slot, int argc, const char **argv) {
    int port = cc->slot_port[slot] ? cc->slot_port[slot] : cc->ports[0];
    int asking = 0;
    for (int tries = 0; tries < 200; tries++) {
        redisContext *c = cc_conn(cc, port);
        if (!c || c->err) {
            usleep(20000);
            port = cc->ports[tries % cc->nconns];
            continue;
        }
        if (asking) redisAppendCommand(c, "ASKING");
        redisAppendCommandArgv(c, argc, argv, NULL);
        redisReply *r = NULL;
        if (asking) {
            void *ar = NULL;
            if (redisGetReply(c, &ar) != REDIS_OK) continue;
            freeReplyObject(ar);
        }
        if (redisGetReply(c, (void **)&r) != REDIS_OK) continue;
        asking = 0;
        if (r->type != REDIS_REPLY_ERROR) return r;
        int p2 = 0;
        unsigned s2;
        if (sscanf(r->str, "MOVED %u 127.0.0.1:%d", &s2, &p2) == 2) {
            cc->moved++;
            cc->slot_port[s2] = p2;
            port = p2;
        } else if (sscanf(r->str, "ASK %u 127.0.0.1:%d", &s2, &p2) == 2) {
            cc->ask++;
            port = p2;
            asking = 1;
        } else if (!strncmp(r->str, "TRYAGAIN", 8)) {
            cc->tryagain++;
            usleep(20000);
        } else if (!strncmp(r->str, "CLUSTERDOWN", 11)) {
            /* A node that left (reset) or is not ready: try the others. */
            cc->down++;
            cc->slot_port[slot] = 0;
            port = cc->ports[(tries + 1) % cc->nconns];
            usleep(20000);
        } else {
            return r; /* a real error: the caller judges */
        }
        freeReplyObject(r);
    }
    return NULL;
}

#endif
