/*
 * acl: users, selectors, rules, checks, ACL LOG, aclfile (see acl.h).
 *
 * Representation. A user is a name, a reference count and a pointer to its
 * body: flags (on/off, nopass, sanitize-payload), password hashes (64 hex
 * characters each) and selectors, the first one the root. A selector has a
 * bitmap with one bit per command id of the table (commands_total(): a
 * container and each of its subcommands have their own), a "future" flag
 * (set only by +@all/allcommands: Redis's reserved bit, which decides
 * whether the description starts with +@all), the ALLCOMMANDS / ALLKEYS /
 * ALLCHANNELS shortcuts, allowed first arguments per command id (+get|x),
 * key patterns with R/W permissions and channel patterns.
 *
 * Invariants: a body reachable from a user is never modified — SETUSER
 * builds a new one from a copy and swaps the pointer under the write lock;
 * `unrestricted` is recomputed after every swap; the root selector is
 * sel[0] and never removed; the default user is always in the registry.
 */
#include "server/acl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/random.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "common/xalloc.h"
#include "server/cmd/commands.h"
#include "server/log.h"
#include "server/net/reply.h"
#include "server/net/resp.h"
#include "server/server.h"
#include "server/net/worker.h"

#define ACL_PERM_READ 1
#define ACL_PERM_WRITE 2
#define ACL_PERM_ALL 3

#define SEL_ROOT        (1 << 0)
#define SEL_ALLKEYS     (1 << 1)
#define SEL_ALLCHANNELS (1 << 2)
#define SEL_ALLCOMMANDS (1 << 3)
#define SEL_FUTURE      (1 << 4) /* Redis's reserved "future commands" bit */

#define USER_ON        (1 << 0)
#define USER_OFF       (1 << 1)
#define USER_NOPASS    (1 << 2)
#define USER_SKIP_SANITIZE (1 << 3)
#define USER_SANITIZE  (1 << 4)

#define ACL_HASH_LEN 64
#define ACL_LOG_GROUP_MS 60000  /* similar denials within this merge */
#define ACL_LOG_SCAN 10         /* entries looked at for a merge */
#define ACL_KEYS_STACK 64

/* Rule errors (Redis maps errno values to these texts). */
enum {
    RERR_NOENT = 1, /* Unknown command or category name in ACL */
    RERR_SYNTAX,
    RERR_ALLKEYS,
    RERR_ALLCHANNELS,
    RERR_NOPASS_DEL,
    RERR_HASH,
    RERR_DUP_USER,
    RERR_SUBCMD_FIRSTARG,
};

typedef struct acl_str {
    char *p;
    size_t len;
} acl_str;

typedef struct acl_keypat {
    acl_str pat;
    int perm; /* ACL_PERM_* */
} acl_keypat;

typedef struct acl_selector {
    int flags;
    uint64_t *bits;     /* nwords */
    char ***firstargs;  /* NULL, or per command id a NULL-terminated list */
    acl_keypat *keys;
    int nkeys;
    acl_str *chans;
    int nchans;
} acl_selector;

typedef struct acl_body {
    int flags;
    char (*pass)[ACL_HASH_LEN + 1];
    int npass;
    acl_selector *sel; /* sel[0]: root */
    int nsel;
} acl_body;

struct acl_user {
    char *name;
    size_t namelen;
    acl_body *b;
    int refs;         /* atomic */
    int unrestricted; /* atomic; see acl.h */
};

typedef struct acl_log_entry {
    long long count;
    int reason, context;
    char *object, *username, *cinfo;
    int64_t ctime_ms;
} acl_log_entry;

static pthread_rwlock_t acl_lock = PTHREAD_RWLOCK_INITIALIZER;
static acl_user **users; /* sorted by name; under acl_lock */
static int nusers, capusers;
static acl_user *default_user;
static int ncmds, nwords; /* command ids, bitmap words */
static int default_open = 1; /* atomic: default user nopass and on */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static acl_log_entry *acl_log; /* ring of up to acllog-max-len, newest first */
static int log_len, log_cap;

/* Users from the config file's `user` lines, applied at startup. */
static char **pending_lines;
static int npending;

static const char *const category_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting", NULL};

static uint64_t category_flag(const char *name, size_t len) {
    for (int i = 0; category_names[i]; i++)
        if (strlen(category_names[i]) == len && !strncasecmp(category_names[i], name, len))
            return 1ull << i;
    return 0;
}

static const char *rule_error_text(int e) {
    switch (e) {
    case RERR_NOENT: return "Unknown command or category name in ACL";
    case RERR_SYNTAX: return "Syntax error";
    case RERR_ALLKEYS:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of "
               "patterns";
    case RERR_ALLCHANNELS:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list "
               "of channels";
    case RERR_NOPASS_DEL:
        return "The password you are trying to remove from the user does not exist";
    case RERR_HASH:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case RERR_DUP_USER:
        return "Duplicate user found. A user can only be defined once in config files";
    case RERR_SUBCMD_FIRSTARG: return "Allowing first-arg of a subcommand is not supported";
    default: return "Wrong format";
    }
}

/* --- growable text ------------------------------------------------------ */

/* Drops a trailing space. */
static void ab_trim(lt_strbuf *b) {
    if (b->len && b->p[b->len - 1] == ' ') b->p[--b->len] = '\0';
}
static char *ab_take(lt_strbuf *b) {
    if (!b->p) lt_strbuf_append(b, "", 0);
    return b->p;
}

static acl_str str_dup(const char *p, size_t len) {
    acl_str s = {lt_xmalloc(len + 1), len};
    memcpy(s.p, p, len);
    s.p[len] = '\0';
    return s;
}

/* --- selectors and bodies ---------------------------------------------- */

static int bit_get(const acl_selector *s, int id) {
    return (s->bits[id >> 6] >> (id & 63)) & 1;
}

static void firstargs_reset(acl_selector *s, int id) {
    if (!s->firstargs || !s->firstargs[id]) return;
    for (char **a = s->firstargs[id]; *a; a++) free(*a);
    free(s->firstargs[id]);
    s->firstargs[id] = NULL;
}

static void firstargs_reset_all(acl_selector *s) {
    if (!s->firstargs) return;
    for (int i = 0; i < ncmds; i++) firstargs_reset(s, i);
    free(s->firstargs);
    s->firstargs = NULL;
}

static void bit_set(acl_selector *s, int id, int on) {
    if (on) {
        s->bits[id >> 6] |= 1ull << (id & 63);
    } else {
        s->bits[id >> 6] &= ~(1ull << (id & 63));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

/* A command and, for a container, each subcommand (Redis's
 * ACLChangeSelectorPerm). */
static void change_perm(acl_selector *s, const command *cmd, int on) {
    bit_set(s, cmd->id, on);
    firstargs_reset(s, cmd->id);
    for (const command *sub = cmd->subcommands; sub && sub->name; sub++) bit_set(s, sub->id, on);
}

static void set_category(acl_selector *s, uint64_t cflag, int on) {
    for (int i = 0; i < ncmds; i++) {
        const command *cmd = command_by_id(i);
        if (cmd->acl & cflag) {
            bit_set(s, i, on);
            firstargs_reset(s, i);
        }
    }
}

static void count_category(const acl_selector *s, uint64_t cflag, unsigned long *on,
                           unsigned long *off) {
    /* As Redis 7.0 (ACLCountCategoryBitsForSelector): top-level commands
     * only, a container by its own bit. */
    *on = *off = 0;
    for (int i = 0; i < commands_count(); i++) {
        const command *cmd = command_top(i);
        if (cmd->acl & cflag) {
            if (bit_get(s, cmd->id)) (*on)++;
            else (*off)++;
        }
    }
}

static void add_firstarg(acl_selector *s, int id, const char *arg, size_t len) {
    if (!s->firstargs) s->firstargs = lt_xcalloc((size_t)ncmds, sizeof(char **));
    int n = 0;
    if (s->firstargs[id])
        for (; s->firstargs[id][n]; n++)
            if (strlen(s->firstargs[id][n]) == len && !strncasecmp(s->firstargs[id][n], arg, len))
                return;
    s->firstargs[id] = lt_xrealloc(s->firstargs[id], sizeof(char *) * (size_t)(n + 2));
    s->firstargs[id][n] = str_dup(arg, len).p;
    s->firstargs[id][n + 1] = NULL;
}

static void selector_init(acl_selector *s, int flags) {
    memset(s, 0, sizeof(*s));
    s->flags = flags | (server.acl_pubsub_default ? SEL_ALLCHANNELS : 0);
    s->bits = lt_xcalloc((size_t)nwords, sizeof(uint64_t));
}

static void selector_free(acl_selector *s) {
    firstargs_reset_all(s);
    free(s->bits);
    for (int i = 0; i < s->nkeys; i++) free(s->keys[i].pat.p);
    free(s->keys);
    for (int i = 0; i < s->nchans; i++) free(s->chans[i].p);
    free(s->chans);
}

static void selector_copy(acl_selector *d, const acl_selector *s) {
    d->flags = s->flags;
    d->bits = lt_xmalloc(sizeof(uint64_t) * (size_t)nwords);
    memcpy(d->bits, s->bits, sizeof(uint64_t) * (size_t)nwords);
    d->firstargs = NULL;
    if (s->firstargs)
        for (int i = 0; i < ncmds; i++)
            for (char **a = s->firstargs[i]; a && *a; a++) add_firstarg(d, i, *a, strlen(*a));
    d->nkeys = s->nkeys;
    d->keys = s->nkeys ? lt_xmalloc(sizeof(acl_keypat) * (size_t)s->nkeys) : NULL;
    for (int i = 0; i < s->nkeys; i++) {
        d->keys[i].pat = str_dup(s->keys[i].pat.p, s->keys[i].pat.len);
        d->keys[i].perm = s->keys[i].perm;
    }
    d->nchans = s->nchans;
    d->chans = s->nchans ? lt_xmalloc(sizeof(acl_str) * (size_t)s->nchans) : NULL;
    for (int i = 0; i < s->nchans; i++) d->chans[i] = str_dup(s->chans[i].p, s->chans[i].len);
}

static void keys_clear(acl_selector *s) {
    for (int i = 0; i < s->nkeys; i++) free(s->keys[i].pat.p);
    free(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
}

static void chans_clear(acl_selector *s) {
    for (int i = 0; i < s->nchans; i++) free(s->chans[i].p);
    free(s->chans);
    s->chans = NULL;
    s->nchans = 0;
}

static acl_body *body_new(void) {
    acl_body *b = lt_xcalloc(1, sizeof(*b));
    b->flags = USER_OFF;
    b->sel = lt_xmalloc(sizeof(acl_selector));
    b->nsel = 1;
    selector_init(&b->sel[0], SEL_ROOT);
    return b;
}

static void body_free(acl_body *b) {
    if (!b) return;
    for (int i = 0; i < b->nsel; i++) selector_free(&b->sel[i]);
    free(b->sel);
    free(b->pass);
    free(b);
}

static acl_body *body_copy(const acl_body *s) {
    acl_body *b = lt_xcalloc(1, sizeof(*b));
    b->flags = s->flags;
    b->npass = s->npass;
    if (s->npass) {
        b->pass = lt_xmalloc(sizeof(*b->pass) * (size_t)s->npass);
        memcpy(b->pass, s->pass, sizeof(*b->pass) * (size_t)s->npass);
    }
    b->nsel = s->nsel;
    b->sel = lt_xmalloc(sizeof(acl_selector) * (size_t)s->nsel);
    for (int i = 0; i < s->nsel; i++) selector_copy(&b->sel[i], &s->sel[i]);
    return b;
}

static int has_space(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)p[i]) || p[i] == '\0') return 1;
    return 0;
}

/* Resolves "name" or "container|sub" against the table (no first args). */
static const command *lookup_rule_command(const char *p, size_t len) {
    const char *bar = memchr(p, '|', len);
    if (!bar) return command_lookup(p, len);
    const command *parent = command_lookup(p, (size_t)(bar - p));
    if (!parent || !parent->subcommands) return NULL;
    return command_lookup_sub(parent, bar + 1, len - (size_t)(bar - p) - 1);
}

/* One selector rule (Redis's ACLSetSelector). 0 or RERR_*. */
static int selector_rule(acl_selector *s, const char *op, size_t len) {
    if ((len == 7 && !strncasecmp(op, "allkeys", 7)) || (len == 2 && !memcmp(op, "~*", 2))) {
        s->flags |= SEL_ALLKEYS;
        keys_clear(s);
    } else if (len == 9 && !strncasecmp(op, "resetkeys", 9)) {
        s->flags &= ~SEL_ALLKEYS;
        keys_clear(s);
    } else if ((len == 11 && !strncasecmp(op, "allchannels", 11)) ||
               (len == 2 && !memcmp(op, "&*", 2))) {
        s->flags |= SEL_ALLCHANNELS;
        chans_clear(s);
    } else if (len == 13 && !strncasecmp(op, "resetchannels", 13)) {
        s->flags &= ~SEL_ALLCHANNELS;
        chans_clear(s);
    } else if ((len == 11 && !strncasecmp(op, "allcommands", 11)) ||
               (len == 5 && !strncasecmp(op, "+@all", 5))) {
        memset(s->bits, 0xff, sizeof(uint64_t) * (size_t)nwords);
        s->flags |= SEL_ALLCOMMANDS | SEL_FUTURE;
        firstargs_reset_all(s);
    } else if ((len == 10 && !strncasecmp(op, "nocommands", 10)) ||
               (len == 5 && !strncasecmp(op, "-@all", 5))) {
        memset(s->bits, 0, sizeof(uint64_t) * (size_t)nwords);
        s->flags &= ~(SEL_ALLCOMMANDS | SEL_FUTURE);
        firstargs_reset_all(s);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS) return RERR_ALLKEYS;
        int perm = 0;
        size_t off = 1;
        if (op[0] == '%') {
            for (; off < len; off++) {
                char ch = (char)toupper((unsigned char)op[off]);
                if (ch == 'R' && !(perm & ACL_PERM_READ)) perm |= ACL_PERM_READ;
                else if (ch == 'W' && !(perm & ACL_PERM_WRITE)) perm |= ACL_PERM_WRITE;
                else if (op[off] == '~') {
                    off++;
                    break;
                } else return RERR_SYNTAX;
            }
            if (!perm) return RERR_SYNTAX; /* "%~x": no permission named */
        } else {
            perm = ACL_PERM_ALL;
        }
        if (has_space(op + off, len - off)) return RERR_SYNTAX;
        /* Redis 7.0 accepts "%R" without '~' as a pattern "" (off past the
         * end): keep its behaviour. */
        if (off > len) off = len;
        for (int i = 0; i < s->nkeys; i++)
            if (s->keys[i].pat.len == len - off && !memcmp(s->keys[i].pat.p, op + off, len - off)) {
                s->keys[i].perm |= perm;
                return 0;
            }
        s->keys = lt_xrealloc(s->keys, sizeof(acl_keypat) * (size_t)(s->nkeys + 1));
        s->keys[s->nkeys].pat = str_dup(op + off, len - off);
        s->keys[s->nkeys].perm = perm;
        s->nkeys++;
        s->flags &= ~SEL_ALLKEYS;
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) return RERR_ALLCHANNELS;
        if (has_space(op + 1, len - 1)) return RERR_SYNTAX;
        for (int i = 0; i < s->nchans; i++)
            if (s->chans[i].len == len - 1 && !memcmp(s->chans[i].p, op + 1, len - 1)) return 0;
        s->chans = lt_xrealloc(s->chans, sizeof(acl_str) * (size_t)(s->nchans + 1));
        s->chans[s->nchans++] = str_dup(op + 1, len - 1);
        s->flags &= ~SEL_ALLCHANNELS;
    } else if (op[0] == '+' && (len < 2 || op[1] != '@')) {
        const char *bar = NULL;
        for (size_t i = len; i > 1; i--)
            if (op[i - 1] == '|') {
                bar = op + i - 1;
                break;
            }
        if (!bar) {
            const command *cmd = command_lookup(op + 1, len - 1);
            if (!cmd) return RERR_NOENT;
            change_perm(s, cmd, 1);
            return 0;
        }
        const command *cmd = lookup_rule_command(op + 1, (size_t)(bar - op - 1));
        if (!cmd) return RERR_NOENT;
        if (cmd->parent) return RERR_SUBCMD_FIRSTARG;
        size_t sublen = len - (size_t)(bar - op) - 1;
        if (sublen == 0) return RERR_SYNTAX;
        if (cmd->subcommands) {
            const command *sub = command_lookup_sub(cmd, bar + 1, sublen);
            if (!sub) return RERR_NOENT;
            change_perm(s, sub, 1);
        } else {
            serverLog(LL_WARNING,
                      "Deprecation warning: Allowing a first arg of an otherwise blocked "
                      "command is a misuse of ACL and may get disabled in the future "
                      "(offender: +%.*s)", (int)(len - 1), op + 1);
            add_firstarg(s, cmd->id, bar + 1, sublen);
        }
    } else if (op[0] == '-' && (len < 2 || op[1] != '@')) {
        const command *cmd = lookup_rule_command(op + 1, len - 1);
        if (!cmd) return RERR_NOENT;
        change_perm(s, cmd, 0);
    } else if ((op[0] == '+' || op[0] == '-') && len >= 2 && op[1] == '@') {
        uint64_t cflag = category_flag(op + 2, len - 2);
        if (!cflag) return RERR_NOENT;
        set_category(s, cflag, op[0] == '+');
    } else {
        return RERR_SYNTAX;
    }
    return 0;
}

static int valid_hash(const char *p, size_t len) {
    if (len != ACL_HASH_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

static int find_pass(const acl_body *b, const char *hash) {
    for (int i = 0; i < b->npass; i++)
        if (!memcmp(b->pass[i], hash, ACL_HASH_LEN)) return i;
    return -1;
}

static int body_rule(acl_body *b, const char *op, size_t len);

/* "(rule rule ...)": a new selector, all its rules valid or none kept. */
static int body_add_selector(acl_body *b, const char *op, size_t len) {
    char *inner = str_dup(op + 1, len - 2).p;
    resp_arg *argv = NULL;
    int cap = 0;
    int argc = resp_split_inline(inner, len - 2, &argv, &cap);
    ASSERT(argc != -2);
    acl_selector s;
    selector_init(&s, 0);
    int err = argc < 0 ? RERR_SYNTAX : 0;
    for (int i = 0; !err && i < argc; i++)
        if (argv[i].len) err = selector_rule(&s, argv[i].ptr, argv[i].len);
    free(argv);
    free(inner);
    if (err) {
        selector_free(&s);
        return err;
    }
    b->sel = lt_xrealloc(b->sel, sizeof(acl_selector) * (size_t)(b->nsel + 1));
    b->sel[b->nsel++] = s;
    return 0;
}

/* One user rule (Redis's ACLSetUser). 0 or RERR_*. */
static int body_rule(acl_body *b, const char *op, size_t len) {
    if (len == 0) return 0;
#define IS(w) (len == strlen(w) && !strncasecmp(op, w, len))
    if (IS("on")) {
        b->flags = (b->flags | USER_ON) & ~USER_OFF;
    } else if (IS("off")) {
        b->flags = (b->flags | USER_OFF) & ~USER_ON;
    } else if (IS("skip-sanitize-payload")) {
        b->flags = (b->flags | USER_SKIP_SANITIZE) & ~USER_SANITIZE;
    } else if (IS("sanitize-payload")) {
        b->flags = (b->flags | USER_SANITIZE) & ~USER_SKIP_SANITIZE;
    } else if (IS("nopass")) {
        b->flags |= USER_NOPASS;
        b->npass = 0;
    } else if (IS("resetpass")) {
        b->flags &= ~USER_NOPASS;
        b->npass = 0;
    } else if (op[0] == '>' || op[0] == '#') {
        char hash[ACL_HASH_LEN + 1];
        if (op[0] == '>') {
            lt_sha256_hex(op + 1, len - 1, hash);
        } else {
            if (!valid_hash(op + 1, len - 1)) return RERR_HASH;
            memcpy(hash, op + 1, ACL_HASH_LEN);
            hash[ACL_HASH_LEN] = '\0';
        }
        if (find_pass(b, hash) < 0) {
            b->pass = lt_xrealloc(b->pass, sizeof(*b->pass) * (size_t)(b->npass + 1));
            memcpy(b->pass[b->npass++], hash, ACL_HASH_LEN + 1);
        }
        b->flags &= ~USER_NOPASS;
    } else if (op[0] == '<' || op[0] == '!') {
        char hash[ACL_HASH_LEN + 1];
        if (op[0] == '<') {
            lt_sha256_hex(op + 1, len - 1, hash);
        } else {
            if (!valid_hash(op + 1, len - 1)) return RERR_HASH;
            memcpy(hash, op + 1, ACL_HASH_LEN);
            hash[ACL_HASH_LEN] = '\0';
        }
        int i = find_pass(b, hash);
        if (i < 0) return RERR_NOPASS_DEL;
        memmove(b->pass[i], b->pass[i + 1], sizeof(*b->pass) * (size_t)(b->npass - i - 1));
        b->npass--;
    } else if (op[0] == '(' && op[len - 1] == ')' && len >= 2) {
        return body_add_selector(b, op, len);
    } else if (IS("clearselectors")) {
        for (int i = 1; i < b->nsel; i++) selector_free(&b->sel[i]);
        b->nsel = 1;
    } else if (IS("reset")) {
        body_rule(b, "resetpass", 9);
        body_rule(b, "resetkeys", 9);
        body_rule(b, "resetchannels", 13);
        if (server.acl_pubsub_default) body_rule(b, "allchannels", 11);
        body_rule(b, "off", 3);
        body_rule(b, "sanitize-payload", 16);
        body_rule(b, "clearselectors", 14);
        body_rule(b, "-@all", 5);
    } else {
        return selector_rule(&b->sel[0], op, len);
    }
#undef IS
    return 0;
}

/* Redis's ACLMergeSelectorArguments: "(a" "b)" -> "(a b)". Returns the
 * merged rules (malloc'd strings) or NULL with *bad the index of the
 * unclosed one. */
static acl_str *merge_selector_args(const resp_arg *argv, int argc, int *n, int *bad) {
    acl_str *out = lt_xcalloc((size_t)(argc ? argc : 1), sizeof(acl_str));
    lt_strbuf sel = {0};
    int open = -1;
    *n = 0;
    for (int j = 0; j < argc; j++) {
        const char *op = argv[j].ptr;
        size_t len = argv[j].len;
        if (len && op[0] == '(' && op[len - 1] != ')') {
            /* A second "(" restarts the selector, as in Redis. */
            sel.len = 0;
            lt_strbuf_append(&sel, op, len);
            open = j;
            continue;
        }
        if (open >= 0) {
            lt_strbuf_append(&sel, " ", 1);
            lt_strbuf_append(&sel, op, len);
            if (len && op[len - 1] == ')') {
                out[(*n)++] = str_dup(sel.p, sel.len);
                open = -1;
            }
            continue;
        }
        out[(*n)++] = str_dup(op, len);
    }
    free(sel.p);
    if (open >= 0) {
        for (int i = 0; i < *n; i++) free(out[i].p);
        free(out);
        *bad = open;
        return NULL;
    }
    return out;
}

static void free_strs(acl_str *s, int n) {
    for (int i = 0; i < n; i++) free(s[i].p);
    free(s);
}

/* --- registry ------------------------------------------------------------ */

static int user_cmp(const char *a, size_t alen, const acl_user *u) {
    size_t m = alen < u->namelen ? alen : u->namelen;
    int c = memcmp(a, u->name, m);
    if (c) return c;
    return alen < u->namelen ? -1 : alen > u->namelen;
}

/* Index of name, or -(insertion point) - 1. Under acl_lock. */
static int user_find(const char *name, size_t len) {
    int lo = 0, hi = nusers - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = user_cmp(name, len, users[mid]);
        if (c == 0) return mid;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -lo - 1;
}

static int body_unrestricted(const acl_body *b) {
    int f = b->sel[0].flags;
    return (f & SEL_ALLCOMMANDS) && (f & SEL_ALLKEYS) && (f & SEL_ALLCHANNELS);
}

/* After u->b changed (write lock held). */
static void user_updated(acl_user *u) {
    __atomic_store_n(&u->unrestricted, body_unrestricted(u->b), __ATOMIC_RELEASE);
    if (u == default_user) {
        int open = (u->b->flags & USER_NOPASS) && !(u->b->flags & USER_OFF);
        __atomic_store_n(&default_open, open, __ATOMIC_RELEASE);
    }
}

static acl_user *user_new(const char *name, size_t len) {
    acl_user *u = lt_xcalloc(1, sizeof(*u));
    u->name = str_dup(name, len).p;
    u->namelen = len;
    u->b = body_new();
    u->refs = 1; /* the registry's */
    user_updated(u);
    return u;
}

static void user_insert(acl_user *u) {
    int i = user_find(u->name, u->namelen);
    ASSERT(i < 0);
    i = -i - 1;
    if (nusers == capusers) {
        capusers = capusers ? capusers * 2 : 8;
        users = lt_xrealloc(users, sizeof(*users) * (size_t)capusers);
    }
    memmove(users + i + 1, users + i, sizeof(*users) * (size_t)(nusers - i));
    users[i] = u;
    nusers++;
}

static void user_remove_at(int i) {
    memmove(users + i, users + i + 1, sizeof(*users) * (size_t)(nusers - i - 1));
    nusers--;
}

acl_user *acl_user_ref(acl_user *u) {
    if (u) __atomic_add_fetch(&u->refs, 1, __ATOMIC_RELAXED);
    return u;
}

void acl_user_unref(acl_user *u) {
    if (!u) return;
    if (__atomic_sub_fetch(&u->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        /* Out of the registry (it held a reference) and no client left. */
        body_free(u->b);
        free(u->name);
        free(u);
    }
}

const char *acl_user_name(const acl_user *u) { return u ? u->name : "default"; }

int acl_user_unrestricted_slow(const acl_user *u) {
    return __atomic_load_n(&u->unrestricted, __ATOMIC_ACQUIRE);
}

int acl_auth_required(void) { return !__atomic_load_n(&default_open, __ATOMIC_ACQUIRE); }

int acl_default_has_password(void) {
    acl_init();
    pthread_rwlock_rdlock(&acl_lock);
    int has = !(default_user->b->flags & USER_NOPASS);
    pthread_rwlock_unlock(&acl_lock);
    return has;
}

acl_user *acl_default_user(void) {
    acl_init();
    return default_user;
}

static void default_user_defaults(acl_body *b) {
    body_rule(b, "+@all", 5);
    body_rule(b, "~*", 2);
    body_rule(b, "&*", 2);
    body_rule(b, "on", 2);
    body_rule(b, "nopass", 6);
}

void acl_init(void) {
    if (default_user) return;
    commands_init();
    ncmds = commands_total();
    nwords = (ncmds + 63) / 64;
    default_user = user_new("default", 7);
    default_user_defaults(default_user->b);
    user_updated(default_user);
    user_insert(default_user);
}

acl_user *acl_user_lookup(const char *name, size_t len) {
    acl_init();
    pthread_rwlock_rdlock(&acl_lock);
    int i = user_find(name, len);
    acl_user *u = i >= 0 ? acl_user_ref(users[i]) : NULL;
    pthread_rwlock_unlock(&acl_lock);
    return u;
}

/* Redis's ACLKillPubsubClientsIfNeeded: u's subscribers check their
 * subscriptions against the new rules on their own threads. */
static void recheck_subscribers_of(acl_user *u) {
    pthread_mutex_lock(&server.clients_lock);
    for (client *o = server.clients; o; o = o->next) {
        if (o->user != u) continue;
        if (!__atomic_load_n(&o->pub.sub, __ATOMIC_RELAXED) &&
            !__atomic_load_n(&o->pub.psub, __ATOMIC_RELAXED) &&
            !__atomic_load_n(&o->pub.ssub, __ATOMIC_RELAXED))
            continue;
        __atomic_store_n(&o->acl_recheck_flag, 1, __ATOMIC_RELEASE);
        worker_notify(o->owner);
    }
    pthread_mutex_unlock(&server.clients_lock);
}

int acl_kill_clients_of(acl_user *u, client *self) {
    int killed = 0;
    pthread_mutex_lock(&server.clients_lock);
    for (client *o = server.clients; o; o = o->next) {
        if (o->user != u) continue;
        killed++;
        if (o == self) {
            self->flags |= CLIENT_CLOSE_AFTER_REPLY;
            continue;
        }
        __atomic_store_n(&o->user_kill_flag, 1, __ATOMIC_RELEASE);
        worker_notify(o->owner);
    }
    pthread_mutex_unlock(&server.clients_lock);
    return killed;
}

/* --- authentication ------------------------------------------------------ */

/* Compares two 64-character hashes without an early exit. */
static int hash_equal(const char *a, const char *b) {
    unsigned char diff = 0;
    for (int i = 0; i < ACL_HASH_LEN; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

acl_user *acl_authenticate(client *c, const char *user, size_t ulen, const char *pass,
                           size_t plen) {
    acl_init();
    if (!user) {
        user = "default";
        ulen = 7;
    }
    char hash[ACL_HASH_LEN + 1];
    lt_sha256_hex(pass, plen, hash);
    acl_user *found = NULL;
    pthread_rwlock_rdlock(&acl_lock);
    int i = user_find(user, ulen);
    if (i >= 0 && !(users[i]->b->flags & USER_OFF)) {
        const acl_body *b = users[i]->b;
        int ok = (b->flags & USER_NOPASS) != 0;
        for (int j = 0; j < b->npass; j++) ok |= hash_equal(b->pass[j], hash);
        if (ok) found = acl_user_ref(users[i]);
    }
    pthread_rwlock_unlock(&acl_lock);
    if (!found && c)
        acl_log_denied(c, ACL_DENIED_AUTH,
                       (c->flags & CLIENT_MULTI) ? ACL_LOG_CTX_MULTI : ACL_LOG_CTX_TOPLEVEL, 0,
                       user, ulen);
    return found;
}

void acl_apply_requirepass(void) {
    acl_init();
    pthread_rwlock_wrlock(&acl_lock);
    acl_body *b = body_copy(default_user->b);
    body_rule(b, "resetpass", 9);
    if (server.requirepass && server.requirepass[0]) {
        lt_strbuf op = {0};
        lt_strbuf_append(&op, ">", 1);
        lt_strbuf_appends(&op, server.requirepass);
        body_rule(b, op.p, op.len);
        free(op.p);
    } else {
        body_rule(b, "nopass", 6);
    }
    acl_body *old = default_user->b;
    default_user->b = b;
    user_updated(default_user);
    pthread_rwlock_unlock(&acl_lock);
    body_free(old);
}

/* --- checks -------------------------------------------------------------- */

/* Channel arguments of the pub/sub commands (Redis's getChannelsFromCommand;
 * the unsubscribe commands are not checked). */
typedef struct chan_spec {
    const char *name;
    int first, last; /* last -1: to the end */
    int pattern;
} chan_spec;

static const chan_spec chan_specs[] = {
    {"publish", 1, 1, 0},     {"spublish", 1, 1, 0},    {"subscribe", 1, -1, 0},
    {"ssubscribe", 1, -1, 0}, {"psubscribe", 1, -1, 1}, {NULL, 0, 0, 0},
};

static const chan_spec *channels_of(const command *cmd) {
    if (cmd->parent || !(cmd->acl & ACL_PUBSUB)) return NULL;
    for (const chan_spec *s = chan_specs; s->name; s++)
        if (!strcmp(s->name, cmd->name)) return s;
    return NULL;
}

static int channel_allowed(const acl_selector *s, const char *ch, size_t len, int is_pattern) {
    if (s->flags & SEL_ALLCHANNELS) return 1;
    for (int i = 0; i < s->nchans; i++) {
        const acl_str *p = &s->chans[i];
        if (is_pattern ? (p->len == len && !memcmp(p->p, ch, len))
                       : lt_stringmatchlen(p->p, p->len, ch, len, 0))
            return 1;
    }
    return 0;
}

static int key_allowed(const acl_selector *s, const char *key, size_t len, int perm) {
    for (int i = 0; i < s->nkeys; i++) {
        const acl_keypat *k = &s->keys[i];
        if ((k->perm & perm) != perm) continue;
        if (lt_stringmatchlen(k->pat.p, k->pat.len, key, len, 0)) return 1;
    }
    return 0;
}

/* Redis's ACLSelectorCheckCmd. */
static int selector_check(const acl_selector *s, const command *cmd, const resp_arg *argv,
                          int argc, int *errpos) {
    if (!(s->flags & SEL_ALLCOMMANDS) && !(cmd->flags & CMD_NO_AUTH) && !bit_get(s, cmd->id)) {
        /* Allowed only with a given first argument? */
        int idx = cmd->parent ? 2 : 1;
        if (argc <= idx || !s->firstargs || !s->firstargs[cmd->id]) return ACL_DENIED_CMD;
        char **a = s->firstargs[cmd->id];
        for (; *a; a++)
            if (strlen(*a) == argv[idx].len && !strncasecmp(*a, argv[idx].ptr, argv[idx].len))
                break;
        if (!*a) return ACL_DENIED_CMD;
    }
    if (!(s->flags & SEL_ALLKEYS) && (cmd->getkeys || cmd->key_first > 0)) {
        int stack[ACL_KEYS_STACK];
        int *keys = argc > ACL_KEYS_STACK ? lt_xmalloc(sizeof(int) * (size_t)argc) : stack;
        int n = command_get_keys(cmd, argv, argc, keys, argc > ACL_KEYS_STACK ? argc : ACL_KEYS_STACK);
        int ret = ACL_OK;
        for (int i = 0; i < n; i++) {
            int perm = command_key_acl_perm(cmd, argv, argc, keys[i]);
            if (perm >= 0 && !key_allowed(s, argv[keys[i]].ptr, argv[keys[i]].len, perm)) {
                *errpos = keys[i];
                ret = ACL_DENIED_KEY;
                break;
            }
        }
        if (keys != stack) free(keys);
        if (ret != ACL_OK) return ret;
    }
    const chan_spec *cs;
    if (!(s->flags & SEL_ALLCHANNELS) && (cs = channels_of(cmd))) {
        int last = cs->last < 0 ? argc - 1 : cs->last;
        for (int i = cs->first; i <= last && i < argc; i++)
            if (!channel_allowed(s, argv[i].ptr, argv[i].len, cs->pattern)) {
                *errpos = i;
                return ACL_DENIED_CHANNEL;
            }
    }
    return ACL_OK;
}

/* Under the read lock. The worst denial of all selectors, at the highest
 * position, as Redis reports it. */
static int body_check(const acl_body *b, const command *cmd, const resp_arg *argv, int argc,
                      int *errpos) {
    int worst = ACL_OK, worst_pos = 0;
    for (int i = 0; i < b->nsel; i++) {
        int pos = 0;
        int r = selector_check(&b->sel[i], cmd, argv, argc, &pos);
        if (r == ACL_OK) return ACL_OK;
        if (r > worst || (r == worst && pos > worst_pos)) {
            worst = r;
            worst_pos = pos;
        }
    }
    *errpos = worst_pos;
    return worst;
}

int acl_check_user_command(acl_user *u, const command *cmd, const resp_arg *argv, int argc,
                           int *errpos) {
    *errpos = 0;
    if (acl_user_unrestricted(u)) return ACL_OK;
    pthread_rwlock_rdlock(&acl_lock);
    int r = body_check(u->b, cmd, argv, argc, errpos);
    pthread_rwlock_unlock(&acl_lock);
    return r;
}

int acl_check_command(client *c, const command *cmd, const resp_arg *argv, int argc,
                      int *errpos) {
    return acl_check_user_command(c->user, cmd, argv, argc, errpos);
}

int acl_check_channel(acl_user *u, const char *channel, size_t len, int is_pattern) {
    if (acl_user_unrestricted(u)) return ACL_OK;
    pthread_rwlock_rdlock(&acl_lock);
    int ok = 0;
    for (int i = 0; i < u->b->nsel && !ok; i++)
        ok = channel_allowed(&u->b->sel[i], channel, len, is_pattern);
    pthread_rwlock_unlock(&acl_lock);
    return ok ? ACL_OK : ACL_DENIED_CHANNEL;
}

/* --- ACL LOG ------------------------------------------------------------- */

static const char *reason_name(int r) {
    switch (r) {
    case ACL_DENIED_CMD: return "command";
    case ACL_DENIED_KEY: return "key";
    case ACL_DENIED_CHANNEL: return "channel";
    case ACL_DENIED_AUTH: return "auth";
    default: return "unknown";
    }
}

static const char *context_name(int ctx) {
    switch (ctx) {
    case ACL_LOG_CTX_TOPLEVEL: return "toplevel";
    case ACL_LOG_CTX_MULTI: return "multi";
    case ACL_LOG_CTX_LUA: return "lua";
    case ACL_LOG_CTX_MODULE: return "module";
    default: return "unknown";
    }
}

static void log_entry_free(acl_log_entry *e) {
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

static void log_trim(long long max) {
    while (log_len > 0 && log_len > max) log_entry_free(&acl_log[--log_len]);
}

/* The object of a denial: the key or channel at errpos, AUTH's argv[0],
 * or the command's full name. */
static void denied_object(int reason, const command *cmd, const resp_arg *argv, int errpos,
                          const char **obj, size_t *olen) {
    if (reason == ACL_DENIED_KEY || reason == ACL_DENIED_CHANNEL) {
        *obj = argv[errpos].ptr;
        *olen = argv[errpos].len;
    } else if (reason == ACL_DENIED_AUTH) {
        *obj = argv[0].ptr;
        *olen = argv[0].len;
    } else {
        *obj = cmd ? cmd->fullname : "";
        *olen = strlen(*obj);
    }
}

/* Adds (or merges into a similar recent one) an entry for c's user (or
 * username) and c's client info. */
static void log_add(client *c, int reason, int context, const char *obj, size_t olen,
                    const char *username, size_t ulen) {
    acl_log_entry e = {.count = 1, .reason = reason, .context = context};
    e.object = str_dup(obj, olen).p;
    if (username) {
        e.username = str_dup(username, ulen).p;
    } else {
        e.username = str_dup(acl_user_name(c->user), strlen(acl_user_name(c->user))).p;
    }
    char *info = NULL;
    size_t ilen = 0, icap = 0;
    client_publish(c);
    pthread_mutex_lock(&server.clients_lock);
    client_info_line(c, &info, &ilen, &icap);
    pthread_mutex_unlock(&server.clients_lock);
    if (ilen && info[ilen - 1] == '\n') info[--ilen] = '\0';
    e.cinfo = info ? info : str_dup("", 0).p;
    e.ctime_ms = mstime();

    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < log_len && i < ACL_LOG_SCAN; i++) {
        acl_log_entry *x = &acl_log[i];
        if (x->reason == e.reason && x->context == e.context &&
            e.ctime_ms - x->ctime_ms <= ACL_LOG_GROUP_MS && !strcmp(x->object, e.object) &&
            !strcmp(x->username, e.username)) {
            /* Similar: count it, refresh it and move it to the head. */
            acl_log_entry m = *x;
            free(m.cinfo);
            m.cinfo = e.cinfo;
            e.cinfo = NULL;
            m.count++;
            m.ctime_ms = e.ctime_ms;
            memmove(acl_log + 1, acl_log, sizeof(*acl_log) * (size_t)i);
            acl_log[0] = m;
            pthread_mutex_unlock(&log_lock);
            log_entry_free(&e);
            return;
        }
    }
    long long max = server.acllog_max_len;
    if (max <= 0) {
        pthread_mutex_unlock(&log_lock);
        log_entry_free(&e);
        return;
    }
    if (log_len == log_cap) {
        log_cap = log_cap ? log_cap * 2 : 16;
        acl_log = lt_xrealloc(acl_log, sizeof(*acl_log) * (size_t)log_cap);
    }
    memmove(acl_log + 1, acl_log, sizeof(*acl_log) * (size_t)log_len);
    acl_log[0] = e;
    log_len++;
    log_trim(max);
    pthread_mutex_unlock(&log_lock);
}

void acl_log_denied(client *c, int reason, int context, int errpos, const char *username,
                    size_t ulen) {
    const char *obj;
    size_t olen;
    denied_object(reason, c->cmd, c->argv, errpos, &obj, &olen);
    log_add(c, reason, context, obj, olen, username, ulen);
}

int acl_check_script_call(client *caller, const command *cmd, const resp_arg *argv, int argc) {
    if (acl_user_unrestricted(caller->user)) return ACL_OK;
    int pos = 0, r = acl_check_user_command(caller->user, cmd, argv, argc, &pos);
    if (r != ACL_OK) {
        const char *obj;
        size_t olen;
        denied_object(r, cmd, argv, pos, &obj, &olen);
        log_add(caller, r, ACL_LOG_CTX_LUA, obj, olen, NULL, 0);
    }
    return r;
}

void acl_log_reset(void) {
    pthread_mutex_lock(&log_lock);
    log_trim(0);
    pthread_mutex_unlock(&log_lock);
}

void acl_reply_log(client *c, long count) {
    pthread_mutex_lock(&log_lock);
    log_trim(server.acllog_max_len); /* CONFIG SET acllog-max-len shrinks it */
    int n = log_len < count ? log_len : (int)count;
    int64_t now = mstime();
    addReplyArrayLen(c, n);
    for (int i = 0; i < n; i++) {
        const acl_log_entry *e = &acl_log[i];
        addReplyMapLen(c, 7);
        addReplyBulkCString(c, "count");
        addReplyLongLong(c, e->count);
        addReplyBulkCString(c, "reason");
        addReplyBulkCString(c, reason_name(e->reason));
        addReplyBulkCString(c, "context");
        addReplyBulkCString(c, context_name(e->context));
        addReplyBulkCString(c, "object");
        addReplyBulkCString(c, e->object);
        addReplyBulkCString(c, "username");
        addReplyBulkCString(c, e->username);
        addReplyBulkCString(c, "age-seconds");
        addReplyDouble(c, (double)(now - e->ctime_ms) / 1000.0);
        addReplyBulkCString(c, "client-info");
        addReplyBulkCString(c, e->cinfo);
    }
    pthread_mutex_unlock(&log_lock);
}

void acl_reply_denied(client *c, int reason, int errpos) {
    acl_log_denied(c, reason, (c->flags & CLIENT_MULTI) ? ACL_LOG_CTX_MULTI : ACL_LOG_CTX_TOPLEVEL,
                   errpos, NULL, 0);
    switch (reason) {
    case ACL_DENIED_CMD:
        addReplyErrorFormat(c, "NOPERM this user has no permissions to run the '%s' command",
                            c->cmd->fullname);
        break;
    case ACL_DENIED_KEY:
        addReplyError(c, "NOPERM this user has no permissions to access one of the keys used "
                         "as arguments");
        break;
    case ACL_DENIED_CHANNEL:
        addReplyError(c, "NOPERM this user has no permissions to access one of the channels "
                         "used as arguments");
        break;
    default:
        addReplyError(c, "NOPERM no permission");
        break;
    }
}

const char *acl_exec_denied_reason(int reason) {
    switch (reason) {
    case ACL_DENIED_CMD: return "no permission to execute the command or subcommand";
    case ACL_DENIED_KEY: return "no permission to touch the specified keys";
    case ACL_DENIED_CHANNEL: return "no permission to access one of the channels used as arguments";
    default: return "no permission";
    }
}

/* --- descriptions -------------------------------------------------------- */

static void describe_keys(lt_strbuf *o, const acl_selector *s) {
    if (s->flags & SEL_ALLKEYS) {
        lt_strbuf_appends(o, "~* ");
        return;
    }
    for (int i = 0; i < s->nkeys; i++) {
        const acl_keypat *k = &s->keys[i];
        if (k->perm == ACL_PERM_ALL) lt_strbuf_appends(o, "~");
        else if (k->perm == ACL_PERM_READ) lt_strbuf_appends(o, "%R~");
        else if (k->perm == ACL_PERM_WRITE) lt_strbuf_appends(o, "%W~");
        else lt_strbuf_appends(o, "%~"); /* none: refused by selector_rule */
        lt_strbuf_append(o, k->pat.p, k->pat.len);
        lt_strbuf_appends(o, " ");
    }
}

static void describe_channels(lt_strbuf *o, const acl_selector *s, int with_reset) {
    if (s->flags & SEL_ALLCHANNELS) {
        lt_strbuf_appends(o, "&* ");
        return;
    }
    if (with_reset) lt_strbuf_appends(o, "resetchannels ");
    for (int i = 0; i < s->nchans; i++) {
        lt_strbuf_appends(o, "&");
        lt_strbuf_append(o, s->chans[i].p, s->chans[i].len);
        lt_strbuf_appends(o, " ");
    }
}

/* Single-command rules for what the categories left different: each
 * command in table order, then its subcommands, then its first args. */
static void describe_singles(lt_strbuf *o, const acl_selector *s, acl_selector *fake,
                             const command *cmd) {
    int ub = bit_get(s, cmd->id), fb = bit_get(fake, cmd->id);
    if (ub != fb) {
        lt_strbuf_appends(o, ub ? "+" : "-");
        lt_strbuf_appends(o, cmd->fullname);
        lt_strbuf_appends(o, " ");
        change_perm(fake, cmd, ub);
    }
    for (const command *sub = cmd->subcommands; sub && sub->name; sub++)
        describe_singles(o, s, fake, sub);
    if (!ub && s->firstargs && s->firstargs[cmd->id])
        for (char **a = s->firstargs[cmd->id]; *a; a++) {
            lt_strbuf_appends(o, "+");
            lt_strbuf_appends(o, cmd->fullname);
            lt_strbuf_appends(o, "|");
            lt_strbuf_appends(o, *a);
            lt_strbuf_appends(o, " ");
        }
}

/* The command rules of s as Redis 7.0 derives them from the bitmap: +@all
 * or -@all, then greedily the category that brings most commands closer
 * with fewest wrong, then single commands. */
static void describe_commands(lt_strbuf *o, const acl_selector *s) {
    int additive = !(s->flags & SEL_FUTURE);
    acl_selector fake, temp;
    selector_init(&fake, 0);
    selector_init(&temp, 0);
    lt_strbuf_appends(o, additive ? "-@all " : "+@all ");
    selector_rule(&fake, additive ? "-@all" : "+@all", 5);
    memcpy(temp.bits, s->bits, sizeof(uint64_t) * (size_t)nwords);
    char applied[32] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1, maxsame = 0;
        for (int j = 0; category_names[j]; j++) {
            if (applied[j]) continue;
            unsigned long on, off;
            count_category(&temp, 1ull << j, &on, &off);
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        set_category(&fake, 1ull << best, additive);
        set_category(&temp, 1ull << best, !additive);
        lt_strbuf_appends(o, additive ? "+@" : "-@");
        lt_strbuf_appends(o, category_names[best]);
        lt_strbuf_appends(o, " ");
        applied[best] = 1;
    }
    for (int i = 0; i < commands_count(); i++) describe_singles(o, s, &fake, command_top(i));
    ASSERT(memcmp(fake.bits, s->bits, sizeof(uint64_t) * (size_t)nwords) == 0);
    selector_free(&fake);
    selector_free(&temp);
}

static void describe_selector(lt_strbuf *o, const acl_selector *s) {
    describe_keys(o, s);
    describe_channels(o, s, 1);
    describe_commands(o, s);
    ab_trim(o);
}

/* "on #hash ~* &* +@all (...)", as ACL LIST shows after the name. */
static void describe_body(lt_strbuf *o, const acl_body *b) {
    static const struct {
        int flag;
        const char *name;
    } names[] = {{USER_ON, "on"},
                 {USER_OFF, "off"},
                 {USER_NOPASS, "nopass"},
                 {USER_SKIP_SANITIZE, "skip-sanitize-payload"},
                 {USER_SANITIZE, "sanitize-payload"},
                 {0, NULL}};
    for (int i = 0; names[i].name; i++)
        if (b->flags & names[i].flag) {
            lt_strbuf_appends(o, names[i].name);
            lt_strbuf_appends(o, " ");
        }
    for (int i = 0; i < b->npass; i++) {
        lt_strbuf_appends(o, "#");
        lt_strbuf_appends(o, b->pass[i]);
        lt_strbuf_appends(o, " ");
    }
    describe_selector(o, &b->sel[0]);
    for (int i = 1; i < b->nsel; i++) {
        lt_strbuf_appends(o, " (");
        describe_selector(o, &b->sel[i]);
        lt_strbuf_appends(o, ")");
    }
}

static char *user_line(const acl_user *u) {
    lt_strbuf o = {0};
    lt_strbuf_appends(&o, "user ");
    lt_strbuf_append(&o, u->name, u->namelen);
    lt_strbuf_appends(&o, " ");
    describe_body(&o, u->b);
    return ab_take(&o);
}

char **acl_list_lines(int *n) {
    acl_init();
    pthread_rwlock_rdlock(&acl_lock);
    char **lines = lt_xmalloc(sizeof(char *) * (size_t)(nusers ? nusers : 1));
    for (int i = 0; i < nusers; i++) lines[i] = user_line(users[i]);
    *n = nusers;
    pthread_rwlock_unlock(&acl_lock);
    return lines;
}

char **acl_user_names(int *n) {
    acl_init();
    pthread_rwlock_rdlock(&acl_lock);
    char **names = lt_xmalloc(sizeof(char *) * (size_t)(nusers ? nusers : 1));
    for (int i = 0; i < nusers; i++) names[i] = str_dup(users[i]->name, users[i]->namelen).p;
    *n = nusers;
    pthread_rwlock_unlock(&acl_lock);
    return names;
}

void acl_free_lines(char **lines, int n) {
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

static void reply_abuf(client *c, lt_strbuf *b) {
    ab_trim(b);
    addReplyBulk(c, b->p ? b->p : "", b->len);
    b->len = 0;
}

static void reply_selector_fields(client *c, const acl_selector *s, lt_strbuf *tmp) {
    addReplyBulkCString(c, "commands");
    describe_commands(tmp, s);
    reply_abuf(c, tmp);
    addReplyBulkCString(c, "keys");
    describe_keys(tmp, s);
    reply_abuf(c, tmp);
    addReplyBulkCString(c, "channels");
    describe_channels(tmp, s, 0);
    reply_abuf(c, tmp);
}

void acl_reply_getuser(client *c, const char *name, size_t nlen) {
    acl_init();
    pthread_rwlock_rdlock(&acl_lock);
    int i = user_find(name, nlen);
    if (i < 0) {
        pthread_rwlock_unlock(&acl_lock);
        addReplyNull(c);
        return;
    }
    const acl_body *b = users[i]->b;
    lt_strbuf tmp = {0};
    addReplyMapLen(c, 6);
    addReplyBulkCString(c, "flags");
    static const struct {
        int flag;
        const char *name;
    } names[] = {{USER_ON, "on"},
                 {USER_OFF, "off"},
                 {USER_NOPASS, "nopass"},
                 {USER_SKIP_SANITIZE, "skip-sanitize-payload"},
                 {USER_SANITIZE, "sanitize-payload"},
                 {0, NULL}};
    int nf = 0;
    for (int j = 0; names[j].name; j++) nf += (b->flags & names[j].flag) != 0;
    addReplySetLen(c, nf);
    for (int j = 0; names[j].name; j++)
        if (b->flags & names[j].flag) addReplyBulkCString(c, names[j].name);
    addReplyBulkCString(c, "passwords");
    addReplyArrayLen(c, b->npass);
    for (int j = 0; j < b->npass; j++) addReplyBulkCString(c, b->pass[j]);
    reply_selector_fields(c, &b->sel[0], &tmp);
    addReplyBulkCString(c, "selectors");
    addReplyArrayLen(c, b->nsel - 1);
    for (int j = 1; j < b->nsel; j++) {
        addReplyMapLen(c, 3);
        reply_selector_fields(c, &b->sel[j], &tmp);
    }
    pthread_rwlock_unlock(&acl_lock);
    free(tmp.p);
}

void acl_reply_cat(client *c, const resp_arg *category) {
    acl_init();
    if (!category) {
        int n = 0;
        while (category_names[n]) n++;
        addReplyArrayLen(c, n);
        for (int i = 0; i < n; i++) addReplyBulkCString(c, category_names[i]);
        return;
    }
    uint64_t cflag = category_flag(category->ptr, category->len);
    if (!cflag) {
        addReplyErrorFormat(c, "ERR Unknown category '%.*s'", (int)category->len, category->ptr);
        return;
    }
    int n = 0;
    for (int i = 0; i < ncmds; i++) n += (command_by_id(i)->acl & cflag) != 0;
    addReplyArrayLen(c, n);
    for (int i = 0; i < ncmds; i++)
        if (command_by_id(i)->acl & cflag) addReplyBulkCString(c, command_by_id(i)->fullname);
}

void acl_reply_dryrun(client *c, const resp_arg *argv, int argc) {
    /* argv: username command [arg ...] */
    acl_user *u = acl_user_lookup(argv[0].ptr, argv[0].len);
    if (!u) {
        addReplyErrorFormat(c, "ERR User '%.*s' not found", (int)argv[0].len, argv[0].ptr);
        return;
    }
    const resp_arg *cargv = argv + 1;
    int cargc = argc - 1;
    const command *cmd = command_lookup(cargv[0].ptr, cargv[0].len);
    if (cmd && cmd->subcommands && cargc > 1)
        cmd = command_lookup_sub(cmd, cargv[1].ptr, cargv[1].len);
    if (!cmd) {
        addReplyErrorFormat(c, "ERR Command '%.*s' not found", (int)cargv[0].len, cargv[0].ptr);
        acl_user_unref(u);
        return;
    }
    if (!command_arity_ok(cmd, cargc)) {
        addReplyErrorFormat(c, "ERR wrong number of arguments for '%s' command", cmd->fullname);
        acl_user_unref(u);
        return;
    }
    int pos = 0;
    int r = acl_check_user_command(u, cmd, cargv, cargc, &pos);
    acl_user_unref(u);
    char msg[512];
    switch (r) {
    case ACL_OK: addReplyOK(c); return;
    case ACL_DENIED_CMD:
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
                 cmd->fullname);
        break;
    case ACL_DENIED_KEY:
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' key",
                 (int)(cargv[pos].len < 256 ? cargv[pos].len : 256), cargv[pos].ptr);
        break;
    default:
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' channel",
                 (int)(cargv[pos].len < 256 ? cargv[pos].len : 256), cargv[pos].ptr);
        break;
    }
    addReplyBulkCString(c, msg);
}

/* --- SETUSER / DELUSER --------------------------------------------------- */

static int valid_username(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] == ' ' || p[i] == '\0') return 0;
    return 1;
}

/* Applies rules to a copy of base (NULL: a new user's body). Returns the
 * new body, or NULL with the message in msg. ignore_noent: unknown
 * commands are skipped (config-file validation, as Redis). */
static acl_body *body_apply(const acl_body *base, const resp_arg *rules, int nrules,
                            const char *prefix, char *msg, size_t msglen, int ignore_noent) {
    int n, bad;
    acl_str *args = merge_selector_args(rules, nrules, &n, &bad);
    if (!args) {
        snprintf(msg, msglen, "ERR Unmatched parenthesis in acl selector starting at '%.*s'.",
                 (int)rules[bad].len, rules[bad].ptr);
        return NULL;
    }
    acl_body *b = base ? body_copy(base) : body_new();
    for (int i = 0; i < n; i++) {
        int e = body_rule(b, args[i].p, args[i].len);
        if (e && !(ignore_noent && e == RERR_NOENT)) {
            snprintf(msg, msglen, "%s'%.*s': %s", prefix, (int)args[i].len, args[i].p,
                     rule_error_text(e));
            body_free(b);
            free_strs(args, n);
            return NULL;
        }
    }
    free_strs(args, n);
    return b;
}

int acl_setuser(const char *name, size_t nlen, const resp_arg *rules, int nrules, char *msg,
                size_t msglen) {
    acl_init();
    if (!valid_username(name, nlen)) {
        snprintf(msg, msglen, "ERR Usernames can't contain spaces or null characters");
        return -1;
    }
    pthread_rwlock_wrlock(&acl_lock);
    int i = user_find(name, nlen);
    acl_body *b = body_apply(i >= 0 ? users[i]->b : NULL, rules, nrules,
                             "ERR Error in ACL SETUSER modifier ", msg, msglen, 0);
    if (!b) {
        pthread_rwlock_unlock(&acl_lock);
        return -1;
    }
    acl_body *old = NULL;
    acl_user *changed = NULL;
    if (i >= 0) {
        old = users[i]->b;
        users[i]->b = b;
        user_updated(users[i]);
        changed = acl_user_ref(users[i]);
    } else {
        acl_user *u = user_new(name, nlen);
        body_free(u->b);
        u->b = b;
        user_updated(u);
        user_insert(u);
    }
    pthread_rwlock_unlock(&acl_lock);
    body_free(old);
    if (changed) {
        recheck_subscribers_of(changed);
        acl_user_unref(changed);
    }
    return 0;
}

int acl_deluser(const char *name, size_t nlen, client *self) {
    acl_init();
    if (nlen == 7 && !memcmp(name, "default", 7)) return -1;
    pthread_rwlock_wrlock(&acl_lock);
    int i = user_find(name, nlen);
    acl_user *u = NULL;
    if (i >= 0) {
        u = users[i];
        user_remove_at(i);
    }
    pthread_rwlock_unlock(&acl_lock);
    if (!u) return 0;
    acl_kill_clients_of(u, self);
    acl_user_unref(u); /* the registry's reference */
    return 1;
}

/* --- config users, aclfile ----------------------------------------------- */

void acl_config_begin(void) {
    for (int i = 0; i < npending; i++) free(pending_lines[i]);
    free(pending_lines);
    pending_lines = NULL;
    npending = 0;
}

/* Config `user` lines are validated as Redis's ACLAppendUserForLoading
 * does (unknown commands are let through: they fail at startup) and kept
 * as "name\nrule\nrule..." with the selector arguments already merged. */
int acl_config_user_line(const resp_arg *argv, int argc, char *msg, size_t msglen) {
    acl_init();
    /* argv[0] is "user". */
    if (argc < 2) {
        snprintf(msg, msglen, "Bad directive or wrong number of arguments");
        return -1;
    }
    for (int i = 0; i < npending; i++) {
        size_t l = strcspn(pending_lines[i], "\n");
        if (l == argv[1].len && !memcmp(pending_lines[i], argv[1].ptr, l)) {
            snprintf(msg, msglen, "Error in user declaration '%.*s': %s", (int)argv[1].len,
                     argv[1].ptr, rule_error_text(RERR_DUP_USER));
            return -1;
        }
    }
    int n, bad;
    acl_str *args = merge_selector_args(argv + 2, argc - 2, &n, &bad);
    /* Redis names argv[i] with i the index among the rules (its quirk):
     * "user a on badrule" blames 'a'. */
    if (!args) {
        snprintf(msg, msglen, "Error in user declaration '%.*s': %s", (int)argv[bad].len,
                 argv[bad].ptr, rule_error_text(RERR_NOENT));
        return -1;
    }
    acl_body *b = body_new();
    for (int j = 0; j < n; j++) {
        int e = body_rule(b, args[j].p, args[j].len);
        if (e && e != RERR_NOENT) {
            int at = j < argc ? j : argc - 1;
            snprintf(msg, msglen, "Error in user declaration '%.*s': %s", (int)argv[at].len,
                     argv[at].ptr, rule_error_text(e));
            body_free(b);
            free_strs(args, n);
            return -1;
        }
    }
    body_free(b);
    lt_strbuf line = {0};
    lt_strbuf_append(&line, argv[1].ptr, argv[1].len);
    for (int j = 0; j < n; j++) {
        lt_strbuf_append(&line, "\n", 1);
        lt_strbuf_append(&line, args[j].p, args[j].len);
    }
    free_strs(args, n);
    pending_lines = lt_xrealloc(pending_lines, sizeof(char *) * (size_t)(npending + 1));
    pending_lines[npending++] = ab_take(&line);
    return 0;
}

/* Users parsed from a file, not yet installed. */
typedef struct user_set {
    acl_user **u;
    int n;
} user_set;

static void user_set_free(user_set *s) {
    for (int i = 0; i < s->n; i++) acl_user_unref(s->u[i]);
    free(s->u);
}

static int user_set_find(const user_set *s, const char *name, size_t len) {
    for (int i = 0; i < s->n; i++)
        if (s->u[i]->namelen == len && !memcmp(s->u[i]->name, name, len)) return i;
    return -1;
}

/* Installs set as the registry (write lock held by the caller). The
 * default user object stays (its body is replaced); every other old user
 * leaves the registry and its clients are killed after the lock is
 * released: returned in *gone. */
static void install_users(user_set *set, user_set *gone) {
    gone->u = lt_xmalloc(sizeof(acl_user *) * (size_t)(nusers ? nusers : 1));
    gone->n = 0;
    for (int i = 0; i < nusers; i++)
        if (users[i] != default_user) gone->u[gone->n++] = users[i];
    nusers = 0;
    int d = user_set_find(set, "default", 7);
    acl_body *nb;
    if (d >= 0) {
        nb = set->u[d]->b;
        set->u[d]->b = NULL;
        set->u[d]->b = body_new();
    } else {
        nb = body_new();
        default_user_defaults(nb);
    }
    body_free(default_user->b);
    default_user->b = nb;
    user_updated(default_user);
    user_insert(default_user);
    for (int i = 0; i < set->n; i++) {
        if (i == d) continue;
        user_insert(acl_user_ref(set->u[i]));
    }
}

static void kill_gone(user_set *gone) {
    for (int i = 0; i < gone->n; i++) acl_kill_clients_of(gone->u[i], NULL);
    user_set_free(gone);
}

/* Parses an ACL file's text (Redis 7.0's ACLLoadFromFile rules and
 * messages). Returns 0 with the users in *set, or -1 with msg. */
static int parse_acl_text(const char *path, char *text, size_t len, user_set *set, lt_strbuf *errors) {
    set->u = NULL;
    set->n = 0;
    int linenum = 0;
    size_t pos = 0;
    while (pos < len) {
        char *line = text + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + 1;
        linenum++;
        /* Trim spaces, tabs and CRs at both ends. */
        while (ll && (line[0] == ' ' || line[0] == '\t' || line[0] == '\r')) line++, ll--;
        while (ll && (line[ll - 1] == ' ' || line[ll - 1] == '\t' || line[ll - 1] == '\r' ||
                      line[ll - 1] == '\n'))
            ll--;
        if (ll == 0) continue;
        /* Split on single spaces, as Redis does (sdssplitlen). */
        int argc = 0, cap = 8;
        resp_arg *argv = lt_xmalloc(sizeof(resp_arg) * (size_t)cap);
        size_t s = 0;
        for (size_t i = 0; i <= ll; i++) {
            if (i == ll || line[i] == ' ') {
                if (argc == cap) {
                    cap *= 2;
                    argv = lt_xrealloc(argv, sizeof(resp_arg) * (size_t)cap);
                }
                argv[argc].ptr = line + s;
                argv[argc].len = i - s;
                argc++;
                s = i + 1;
            }
        }
        char buf[700];
        if (argc < 2 || argv[0].len != 4 || strncmp(argv[0].ptr, "user", 4)) {
            snprintf(buf, sizeof(buf),
                     "%s:%d should start with user keyword followed by the username. ", path,
                     linenum);
            lt_strbuf_appends(errors, buf);
            free(argv);
            continue;
        }
        if (!valid_username(argv[1].ptr, argv[1].len)) {
            snprintf(buf, sizeof(buf), "%s:%d: username '%.*s' contains invalid characters. ",
                     path, linenum, (int)argv[1].len, argv[1].ptr);
            lt_strbuf_appends(errors, buf);
            free(argv);
            continue;
        }
        if (user_set_find(set, argv[1].ptr, argv[1].len) >= 0) {
            snprintf(buf, sizeof(buf), "WARNING: Duplicate user '%.*s' found on line %d. ",
                     (int)argv[1].len, argv[1].ptr, linenum);
            lt_strbuf_appends(errors, buf);
            free(argv);
            continue;
        }
        int n, bad;
        acl_str *args = merge_selector_args(argv + 2, argc - 2, &n, &bad);
        if (!args) {
            snprintf(buf, sizeof(buf), "%s:%d: Unmatched parenthesis in selector definition.",
                     path, linenum);
            lt_strbuf_appends(errors, buf);
            free(argv);
            continue;
        }
        acl_user *u = user_new(argv[1].ptr, argv[1].len);
        int syntax_error = 0;
        for (int j = 0; j < n; j++) {
            int e = body_rule(u->b, args[j].p, args[j].len);
            if (!e) continue;
            if (e == RERR_NOENT) {
                snprintf(buf, sizeof(buf), "%s:%d: Error in applying operation '%.*s': %s. ",
                         path, linenum, (int)(args[j].len < 200 ? args[j].len : 200), args[j].p,
                         rule_error_text(e));
                lt_strbuf_appends(errors, buf);
            } else if (!syntax_error) {
                snprintf(buf, sizeof(buf), "%s:%d: %s. ", path, linenum, rule_error_text(e));
                lt_strbuf_appends(errors, buf);
                syntax_error = 1;
            }
        }
        free_strs(args, n);
        free(argv);
        user_updated(u);
        set->u = lt_xrealloc(set->u, sizeof(acl_user *) * (size_t)(set->n + 1));
        set->u[set->n++] = u;
    }
    if (errors->len) {
        lt_strbuf_appends(errors, "WARNING: ACL errors detected, no change to the previously active ACL "
                                  "rules was performed");
        user_set_free(set);
        return -1;
    }
    return 0;
}

int acl_load_file(const char *path, char *msg, size_t msglen) {
    acl_init();
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(msg, msglen, "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        return -1;
    }
    lt_strbuf text = {0};
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), fp)) > 0) lt_strbuf_append(&text, chunk, r);
    fclose(fp);
    user_set set;
    lt_strbuf errors = {0};
    int rc = parse_acl_text(path, text.p ? text.p : "", text.len, &set, &errors);
    free(text.p);
    if (rc < 0) {
        snprintf(msg, msglen, "%s", errors.p);
        free(errors.p);
        return -1;
    }
    free(errors.p);
    user_set gone;
    pthread_rwlock_wrlock(&acl_lock);
    install_users(&set, &gone);
    pthread_rwlock_unlock(&acl_lock);
    user_set_free(&set);
    kill_gone(&gone);
    return 0;
}

int acl_save_file(const char *path, char *msg, size_t msglen) {
    int n;
    char **lines = acl_list_lines(&n);
    lt_strbuf out = {0};
    for (int i = 0; i < n; i++) {
        lt_strbuf_appends(&out, lines[i]);
        lt_strbuf_append(&out, "\n", 1);
    }
    acl_free_lines(lines, n);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d-%lld", path, (int)getpid(), (long long)mstime());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int ok = fd >= 0;
    size_t off = 0;
    while (ok && off < out.len) {
        ssize_t w = write(fd, out.p + off, out.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = 0;
        else off += (size_t)w;
    }
    if (ok && fsync(fd) < 0) ok = 0;
    if (fd >= 0) close(fd);
    if (ok && rename(tmp, path) < 0) ok = 0;
    if (!ok) {
        serverLog(LL_WARNING, "Saving ACL file %s failed: %s", path, strerror(errno));
        if (fd >= 0) unlink(tmp);
        snprintf(msg, msglen, "ERR There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
    }
    free(out.p);
    return ok ? 0 : -1;
}

int acl_load_at_startup(char *err, size_t errlen) {
    acl_init();
    int has_file = server.aclfile && server.aclfile[0];
    if (has_file && npending) {
        snprintf(err, errlen,
                 "Configuring Redis with users defined in redis.conf and at the same setting an "
                 "ACL file path is invalid. This setup is very likely to lead to configuration "
                 "errors and security holes, please define either an ACL file or declare users "
                 "directly in your redis.conf, but not both.");
        return -1;
    }
    if (has_file) {
        char msg[4096];
        if (acl_load_file(server.aclfile, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "Aborting Redis startup because of ACL errors: %s", msg);
            return -1;
        }
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < npending && rc == 0; i++) {
        /* "name\nrule\nrule..." */
        char *line = pending_lines[i];
        size_t nl = strcspn(line, "\n");
        char msg[512];
        /* A config user starts from scratch, the default user too. */
        resp_arg reset = {.ptr = "reset", .len = 5};
        if (nl == 7 && !memcmp(line, "default", 7)) acl_setuser("default", 7, &reset, 1, msg, sizeof(msg));
        else acl_deluser(line, nl, NULL);
        acl_setuser(line, nl, NULL, 0, msg, sizeof(msg));
        for (char *r = line[nl] ? line + nl + 1 : NULL; r && rc == 0;) {
            char *end = strchr(r, '\n');
            size_t rl = end ? (size_t)(end - r) : strlen(r);
            resp_arg rule = {.ptr = r, .len = rl};
            if (acl_setuser(line, nl, &rule, 1, msg, sizeof(msg)) < 0) {
                const char *colon = strstr(msg, "': ");
                snprintf(err, errlen, "Error loading ACL rule '%.*s' for the user named '%.*s': %s",
                         (int)rl, r, (int)nl, line, colon ? colon + 3 : msg);
                rc = -1;
            }
            r = end ? end + 1 : NULL;
        }
    }
    for (int i = 0; i < npending; i++) free(pending_lines[i]);
    free(pending_lines);
    pending_lines = NULL;
    npending = 0;
    return rc;
}

int acl_rewrite_user_lines(char **out, size_t *len, size_t *cap) {
    if (server.aclfile && server.aclfile[0]) return 0;
    int n;
    char **lines = acl_list_lines(&n);
    lt_strbuf b = {*out, *len, *cap};
    for (int i = 0; i < n; i++) {
        lt_strbuf_appends(&b, lines[i]);
        lt_strbuf_append(&b, "\n", 1);
    }
    acl_free_lines(lines, n);
    *out = b.p;
    *len = b.len;
    *cap = b.cap;
    return n;
}
