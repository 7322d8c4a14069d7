/*
 * nodesconf.c — CLUSTER NODES text and nodes.conf (format in nodesconf.h).
 */
#include "cluster/nodesconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "common/xalloc.h"

static const struct {
    int flag;
    const char *name;
} flag_names[] = {
    {CNODE_MYSELF, "myself"},   {CNODE_MASTER, "master"},
    {CNODE_SLAVE, "slave"},     {CNODE_PFAIL, "fail?"},
    {CNODE_FAIL, "fail"},       {CNODE_HANDSHAKE, "handshake"},
    {CNODE_NOADDR, "noaddr"},   {CNODE_NOFAILOVER, "nofailover"},
};

void cl_flags_string(int flags, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (flags & flag_names[i].flag)
            len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s",
                                    len ? "," : "", flag_names[i].name);
    if (len == 0) snprintf(out, cap, "noflags");
}

void cl_describe_node(cl_state *st, cl_node *n, lt_strbuf *t) {
    char flags[128];
    cl_flags_string(n->flags, flags, sizeof(flags));
    static const char zero[CBUS_NAMELEN];
    lt_strbuf_printf(t, "%.40s %s:%d@%d", n->name, n->ip, n->port, n->cport);
    if (n->hostname[0]) lt_strbuf_printf(t, ",%s", n->hostname);
    lt_strbuf_printf(t, " %s ", flags);
    if (memcmp(n->slaveof, zero, CBUS_NAMELEN)) lt_strbuf_printf(t, "%.40s", n->slaveof);
    else lt_strbuf_printf(t, "-");
    lt_strbuf_printf(t, " %lld %lld %llu %s", (long long)n->ping_sent,
                     (long long)n->pong_received, (unsigned long long)n->config_epoch,
                     (n->link || (n->flags & CNODE_MYSELF)) ? "connected" : "disconnected");
    if (n->numslots) {
        int start = -1;
        for (int s = 0; s <= CLUSTER_SLOTS; s++) {
            /* 64 slots at a time where they neither start nor end a range. */
            if (s < CLUSTER_SLOTS && (s & 63) == 0) {
                uint64_t word;
                memcpy(&word, n->slots + s / 8, sizeof(word));
                if ((word == 0 && start < 0) || (word == UINT64_MAX && start >= 0)) {
                    s += 63;
                    continue;
                }
            }
            int has = s < CLUSTER_SLOTS && slot_bitmap_test(n->slots, (unsigned)s);
            if (has && start < 0) start = s;
            if (!has && start >= 0) {
                if (start == s - 1) lt_strbuf_printf(t, " %d", start);
                else lt_strbuf_printf(t, " %d-%d", start, s - 1);
                start = -1;
            }
        }
    }
    if (n->flags & CNODE_MYSELF) {
        for (int s = 0; s < CLUSTER_SLOTS; s++) {
            if (st->migrating_to[s])
                lt_strbuf_printf(t, " [%d->-%.40s]", s, st->migrating_to[s]->name);
            else if (st->importing_from[s])
                lt_strbuf_printf(t, " [%d-<-%.40s]", s, st->importing_from[s]->name);
        }
    }
    lt_strbuf_printf(t, "\n");
}

void cl_describe_all(cl_state *st, lt_strbuf *t, int for_conf) {
    for (int i = 0; i < st->nnodes; i++) {
        cl_node *n = st->nodes[i];
        if (for_conf && (n->flags & CNODE_HANDSHAKE)) continue;
        cl_describe_node(st, n, t);
    }
    if (for_conf)
        lt_strbuf_printf(t, "vars currentEpoch %llu lastVoteEpoch %llu\n",
                         (unsigned long long)st->current_epoch,
                         (unsigned long long)st->last_vote_epoch);
}

/* ---- Loading ------------------------------------------------------------------ */

static int valid_name(const char *s, size_t len) {
    if (len != CBUS_NAMELEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* The node named name, created (a master without address) if unknown. */
static cl_node *node_get(cl_state *st, const char *name) {
    cl_node *n = cl_lookup(st, name, CBUS_NAMELEN);
    if (n) return n;
    n = cl_node_new(st, name, 0);
    cl_node_add(st, n);
    return n;
}

static int parse_u64(const char *s, unsigned long long *v) {
    long long x;
    if (!lt_string2ll(s, strlen(s), &x) || x < 0) return 0;
    *v = (unsigned long long)x;
    return 1;
}

/* Fields of one line: 8 fixed, then at most every slot as its own field,
 * migrating and importing included. */
#define CONF_MAX_FIELDS (8 + 2 * CLUSTER_SLOTS)

#define CONF_ERR(...)                                   \
    do {                                                \
        snprintf(err, errcap, __VA_ARGS__);             \
        free(copy);                                     \
        free(argv);                                     \
        return -1;                                      \
    } while (0)

int cl_conf_parse(cl_state *st, const char *text, size_t len, char *err, size_t errcap) {
    char *copy = lt_xmalloc(len + 1);
    char **argv = lt_xmalloc(CONF_MAX_FIELDS * sizeof(*argv));
    memcpy(copy, text, len);
    copy[len] = '\0';
    int have_myself = 0;
    uint64_t vars_epoch = 0, vars_vote = 0;
    char *save_line = NULL;
    int lineno = 0;
    for (char *line = strtok_r(copy, "\n", &save_line); line;
         line = strtok_r(NULL, "\n", &save_line)) {
        lineno++;
        int argc = 0;
        char *save_tok = NULL;
        for (char *tok = strtok_r(line, " \t\r", &save_tok); tok && argc < CONF_MAX_FIELDS;
             tok = strtok_r(NULL, " \t\r", &save_tok))
            argv[argc++] = tok;
        if (argc == 0) continue;
        if (!strcmp(argv[0], "vars")) {
            for (int j = 1; j + 1 < argc; j += 2) {
                unsigned long long v;
                if (!parse_u64(argv[j + 1], &v)) CONF_ERR("line %d: bad vars value", lineno);
                if (!strcasecmp(argv[j], "currentEpoch")) vars_epoch = v;
                else if (!strcasecmp(argv[j], "lastVoteEpoch")) vars_vote = v;
            }
            continue;
        }
        if (argc < 8) CONF_ERR("line %d: too few fields", lineno);
        if (!valid_name(argv[0], strlen(argv[0]))) CONF_ERR("line %d: bad node name", lineno);
        /* Flags first: myself decides which node the line fills. */
        int flags = 0;
        char *save_f = NULL;
        for (char *f = strtok_r(argv[2], ",", &save_f); f; f = strtok_r(NULL, ",", &save_f)) {
            size_t k;
            for (k = 0; k < sizeof(flag_names) / sizeof(flag_names[0]); k++)
                if (!strcmp(f, flag_names[k].name)) break;
            if (k < sizeof(flag_names) / sizeof(flag_names[0])) flags |= flag_names[k].flag;
            else if (strcmp(f, "noflags")) CONF_ERR("line %d: unknown flag %s", lineno, f);
        }
        cl_node *n;
        if (flags & CNODE_MYSELF) {
            if (have_myself) CONF_ERR("line %d: two myself lines", lineno);
            have_myself = 1;
            n = st->myself;
            cl_node *other = cl_lookup(st, argv[0], CBUS_NAMELEN);
            if (other && other != n) CONF_ERR("line %d: myself named by another line", lineno);
            memcpy(n->name, argv[0], CBUS_NAMELEN);
        } else {
            if (cl_lookup(st, argv[0], CBUS_NAMELEN) == st->myself)
                CONF_ERR("line %d: duplicate of myself", lineno);
            n = node_get(st, argv[0]);
        }
        n->flags = flags & ~(CNODE_PFAIL | CNODE_HANDSHAKE | CNODE_MEET);
        /* Address: ip:port@cport[,hostname] (ip may be IPv6: last ':'). */
        char *addr = argv[1];
        char *comma = strchr(addr, ',');
        if (comma) {
            *comma = '\0';
            snprintf(n->hostname, sizeof(n->hostname), "%s", comma + 1);
        }
        char *at = strchr(addr, '@');
        if (at) *at = '\0';
        char *colon = strrchr(addr, ':');
        if (!colon) CONF_ERR("line %d: bad address", lineno);
        *colon = '\0';
        long long port, cport;
        if (!lt_string2ll(colon + 1, strlen(colon + 1), &port) || port < 0 || port > 65535)
            CONF_ERR("line %d: bad port", lineno);
        if (at) {
            if (!lt_string2ll(at + 1, strlen(at + 1), &cport) || cport < 0 || cport > 65535)
                CONF_ERR("line %d: bad bus port", lineno);
        } else {
            cport = port + 10000;
        }
        if (strlen(addr) > CBUS_IPLEN) CONF_ERR("line %d: bad address", lineno);
        snprintf(n->ip, sizeof(n->ip), "%s", addr);
        n->port = (int)port;
        n->cport = (int)cport;
        if (strcmp(argv[3], "-")) {
            if (!valid_name(argv[3], strlen(argv[3]))) CONF_ERR("line %d: bad master name", lineno);
            memcpy(n->slaveof, argv[3], CBUS_NAMELEN);
            node_get(st, argv[3]);
        }
        unsigned long long ep;
        if (!parse_u64(argv[6], &ep)) CONF_ERR("line %d: bad config epoch", lineno);
        n->config_epoch = ep;
        for (int j = 8; j < argc; j++) {
            char *a = argv[j];
            if (a[0] == '[') {
                /* [slot->-name] or [slot-<-name] */
                char *dash = strchr(a, '-');
                size_t al = strlen(a);
                if (!dash || al < 4 || a[al - 1] != ']' || (dash[1] != '>' && dash[1] != '<') ||
                    dash[2] != '-')
                    CONF_ERR("line %d: bad slot state %s", lineno, a);
                long long s;
                if (!lt_string2ll(a + 1, (size_t)(dash - a - 1), &s) || s < 0 || s >= CLUSTER_SLOTS)
                    CONF_ERR("line %d: bad slot %s", lineno, a);
                char *name = dash + 3;
                if (!valid_name(name, (size_t)(a + al - 1 - name)))
                    CONF_ERR("line %d: bad node in %s", lineno, a);
                char nm[CBUS_NAMELEN];
                memcpy(nm, name, CBUS_NAMELEN);
                cl_node *peer = node_get(st, nm);
                if (dash[1] == '>') st->migrating_to[s] = peer;
                else st->importing_from[s] = peer;
                continue;
            }
            char *dash = strchr(a, '-');
            long long s0, s1;
            if (dash) {
                if (!lt_string2ll(a, (size_t)(dash - a), &s0) ||
                    !lt_string2ll(dash + 1, strlen(dash + 1), &s1))
                    CONF_ERR("line %d: bad slot range %s", lineno, a);
            } else {
                if (!lt_string2ll(a, strlen(a), &s0)) CONF_ERR("line %d: bad slot %s", lineno, a);
                s1 = s0;
            }
            if (s0 < 0 || s1 >= CLUSTER_SLOTS || s0 > s1)
                CONF_ERR("line %d: bad slot range %s", lineno, a);
            for (long long s = s0; s <= s1; s++) {
                if (st->slots[s]) cl_del_slot(st, (unsigned)s);
                cl_add_slot(st, n, (unsigned)s);
            }
        }
    }
    if (!have_myself) CONF_ERR("no line for this node (myself)");
    /* Masters without an explicit role (placeholder nodes) are masters. */
    for (int i = 0; i < st->nnodes; i++)
        if (!(st->nodes[i]->flags & (CNODE_MASTER | CNODE_SLAVE)))
            st->nodes[i]->flags |= CNODE_MASTER;
    uint64_t maxe = vars_epoch;
    for (int i = 0; i < st->nnodes; i++)
        if (st->nodes[i]->config_epoch > maxe) maxe = st->nodes[i]->config_epoch;
    st->current_epoch = maxe;
    st->last_vote_epoch = vars_vote;
    free(copy);
    free(argv);
    return 0;
}

int cl_conf_load(cl_state *st, const char *path, char *err, size_t errcap) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 1;
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    lt_strbuf t = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (t.len + n > (64u << 20)) {
            fclose(f);
            lt_strbuf_free(&t);
            snprintf(err, errcap, "%s is too large", path);
            return -1;
        }
        lt_strbuf_printf(&t, "%.*s", (int)n, buf);
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        lt_strbuf_free(&t);
        snprintf(err, errcap, "cannot read %s", path);
        return -1;
    }
    if (t.len == 0) {
        /* An empty file is a fresh node, as Redis treats it. */
        lt_strbuf_free(&t);
        return 1;
    }
    int rc = cl_conf_parse(st, t.p, t.len, err, errcap);
    lt_strbuf_free(&t);
    return rc;
}

static int write_all(int fd, const char *p, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Whole-file replacement: a temp file, fsync'd, renamed over path, and the
 * directory fsync'd. Survives a power loss at any point. */
static int save_replacing(const char *path, const char *p, size_t len) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int ok = write_all(fd, p, len) == 0 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    else snprintf(dir, sizeof(dir), ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Rewrite in place, not synced: a shorter text is padded with newlines
 * (blank lines, which loading skips) up to the old size and truncated
 * after, so a process dying at any point leaves a file that loads. No
 * inode is created or freed: a temp file and rename per save cost ~0.5 ms
 * of file-system work on every SETSLOT of a reshard. */
static int save_in_place(const char *path, const char *p, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    struct stat sb;
    size_t padded = len;
    if (fstat(fd, &sb) == 0 && sb.st_size > (off_t)len) padded = (size_t)sb.st_size;
    char *buf = NULL;
    if (padded > len) {
        buf = lt_xmalloc(padded);
        memcpy(buf, p, len);
        memset(buf + len, '\n', padded - len);
        p = buf;
    }
    int ok = write_all(fd, p, padded) == 0 && (padded == len || ftruncate(fd, (off_t)len) == 0);
    int saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return ok ? 0 : -1;
}

int cl_conf_save(cl_state *st, const char *path) {
    /* Epochs must survive a power loss (a node that forgot its vote or
     * its config epoch could break the safety of elections and slot
     * claims): a synced replacement when they changed. Anything else (slot
     * moves, node addresses) is rewritten in place without fsync, as Redis
     * saves it, and re-learnt from the cluster after a crash; resharding
     * makes several SETSLOTs per slot, and an fsync each made it ~50x
     * slower. */
    int do_sync = !st->synced_once || st->synced_current_epoch != st->current_epoch ||
                  st->synced_last_vote_epoch != st->last_vote_epoch ||
                  st->synced_config_epoch != st->myself->config_epoch;
    lt_strbuf t = {0};
    cl_describe_all(st, &t, 1);
    int rc = do_sync ? save_replacing(path, t.p, t.len) : save_in_place(path, t.p, t.len);
    lt_strbuf_free(&t);
    if (rc != 0 || !do_sync) return rc;
    st->synced_once = 1;
    st->synced_current_epoch = st->current_epoch;
    st->synced_last_vote_epoch = st->last_vote_epoch;
    st->synced_config_epoch = st->myself->config_epoch;
    return 0;
}
