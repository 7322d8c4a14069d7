/*
 * bus.h — the Redis Cluster bus wire format (Redis 7.0's clusterMsg): decode
 * with validation, and encode. Pure functions over byte buffers, no state and
 * no I/O: state.c decides what to send, busio.c moves the bytes, the fuzzer
 * (tests/fuzz/fuzz_clusterbus.c) drives cbus_decode directly.
 *
 * Wire format (all integers big-endian; offsets in bytes):
 *
 *   0    sig[4]        "RCmb"
 *   4    totlen u32    whole message, header included
 *   8    ver u16       1 (CBUS_PROTO_VER); other versions are ignored
 *   10   port u16      sender's client port
 *   12   type u16      CBUS_PING .. CBUS_PUBLISHSHARD
 *   14   count u16     gossip entries (PING/PONG/MEET)
 *   16   currentEpoch u64
 *   24   configEpoch u64  sender's (its master's if a replica)
 *   32   offset u64    replication offset
 *   40   sender[40]    node name (40 lower-case hex chars)
 *   80   myslots[2048] bitmap: slot s is bit (s & 7) of byte s / 8
 *   2128 slaveof[40]   master's name, all zero bytes for a master
 *   2168 myip[46]      announced IP, NUL-terminated, all zero: use the peer's
 *   2214 extensions u16  number of ping extensions
 *   2216 (30 reserved bytes)
 *   2246 pport u16     plaintext port (TLS only)
 *   2248 cport u16     sender's bus port
 *   2250 flags u16     sender's CLUSTER_NODE_* flags
 *   2252 state u8      0 ok, 1 fail (as the sender sees the cluster)
 *   2253 mflags[3]     mflags[0]: 1 PAUSED, 2 FORCEACK, 4 EXT_DATA
 *   2256 data          by type:
 *     PING/PONG/MEET: count gossip entries of 104 bytes —
 *          name[40] ping_sent u32 (s) pong_received u32 (s) ip[46] port u16
 *          cport u16 flags u16 pport u16 (2 unused) —
 *        then, when mflags[0] & EXT_DATA, `extensions` extensions: length
 *        u32 (header included, a multiple of 8, >= 8) type u16 (2 unused),
 *        payload padded with zeros to 8 bytes: 0 hostname (NUL-terminated),
 *        2 forgotten node (name[40] ttl u64 seconds), 3 shard id (name[40]);
 *        unknown types are skipped.
 *     FAIL: name[40].   UPDATE: configEpoch u64, name[40], slots[2048].
 *     PUBLISH/PUBLISHSHARD: channel_len u32, message_len u32, channel bytes,
 *        message bytes.   MODULE: module_id u64, len u32, type u8, len bytes.
 *     FAILOVER_AUTH_REQUEST/ACK, MFSTART: nothing.
 *
 * Validity (what cbus_decode accepts, Redis's clusterIsValidPacket):
 * totlen equal to the bytes given and >= 2256, signature "RCmb", and totlen
 * exactly what the type's fields say (every extension's length checked
 * before it is read). A message of another version, or of an unknown type,
 * decodes as CBUS_DECODE_IGNORE. Nothing is read outside buf[0..len).
 */
#ifndef LT_CLUSTER_BUS_H
#define LT_CLUSTER_BUS_H

#include <stddef.h>
#include <stdint.h>

#define CBUS_NAMELEN 40
#define CBUS_IPLEN 46 /* NET_IP_STR_LEN */
#define CBUS_HDR_LEN 2256
#define CBUS_GOSSIP_LEN 104
#define CBUS_FAIL_LEN (CBUS_HDR_LEN + CBUS_NAMELEN)
#define CBUS_UPDATE_LEN (CBUS_HDR_LEN + 8 + CBUS_NAMELEN + 2048)
#define CBUS_PROTO_VER 1
/* Largest message busio.c accepts; a bigger totlen closes the link. */
#define CBUS_MAX_MSG (8u << 20)
#define CBUS_HOSTNAME_MAX 255

enum {
    CBUS_PING = 0,
    CBUS_PONG = 1,
    CBUS_MEET = 2,
    CBUS_FAIL = 3,
    CBUS_PUBLISH = 4,
    CBUS_AUTH_REQUEST = 5,
    CBUS_AUTH_ACK = 6,
    CBUS_UPDATE = 7,
    CBUS_MFSTART = 8,
    CBUS_MODULE = 9,
    CBUS_PUBLISHSHARD = 10,
    CBUS_TYPE_COUNT = 11,
};

enum { CBUS_EXT_HOSTNAME = 0, CBUS_EXT_HUMAN_NODENAME = 1, CBUS_EXT_FORGOTTEN = 2,
       CBUS_EXT_SHARDID = 3 };

#define CBUS_MFLAG0_PAUSED 1
#define CBUS_MFLAG0_FORCEACK 2
#define CBUS_MFLAG0_EXT_DATA 4

/* Node flags as the bus carries them (Redis's CLUSTER_NODE_*). */
#define CNODE_MASTER 1
#define CNODE_SLAVE 2
#define CNODE_PFAIL 4
#define CNODE_FAIL 8
#define CNODE_MYSELF 16
#define CNODE_HANDSHAKE 32
#define CNODE_NOADDR 64
#define CNODE_MEET 128
#define CNODE_MIGRATE_TO 256
#define CNODE_NOFAILOVER 512

typedef struct cbus_gossip {
    char name[CBUS_NAMELEN];
    uint32_t ping_sent, pong_received; /* seconds */
    char ip[CBUS_IPLEN + 1];           /* NUL-terminated */
    uint16_t port, cport, flags, pport;
} cbus_gossip;

typedef struct cbus_forgotten {
    char name[CBUS_NAMELEN];
    uint64_t ttl_s;
} cbus_forgotten;

/* A decoded (or to be encoded) message. Pointers point into the decoded
 * buffer and are valid as long as it is. */
typedef struct cbus_msg {
    uint16_t type, port, pport, cport, flags;
    uint8_t state;
    uint8_t mflags[3];
    uint64_t current_epoch, config_epoch, offset;
    char sender[CBUS_NAMELEN];
    unsigned char myslots[2048];
    char slaveof[CBUS_NAMELEN]; /* all zero: a master */
    char myip[CBUS_IPLEN + 1];  /* "" when not announced */
    /* PING/PONG/MEET */
    uint16_t count;             /* gossip entries */
    const unsigned char *gossip; /* decode: count raw entries (cbus_gossip_at) */
    const cbus_gossip *gossip_in; /* encode: count entries */
    uint16_t extensions;        /* decode: how many extensions were given */
    const unsigned char *ext;   /* decode: the extensions' bytes */
    size_t ext_len;
    const char *hostname;       /* hostname extension (NUL-terminated), or NULL */
    const cbus_forgotten *forgotten; /* encode only */
    int nforgotten;
    /* FAIL */
    char about[CBUS_NAMELEN];
    /* UPDATE */
    uint64_t update_epoch;
    char update_name[CBUS_NAMELEN];
    unsigned char update_slots[2048];
    /* PUBLISH / PUBLISHSHARD / MODULE payloads */
    const unsigned char *channel, *message;
    uint32_t channel_len, message_len;
} cbus_msg;

/* Results of cbus_decode. */
#define CBUS_DECODE_OK 0
#define CBUS_DECODE_IGNORE 1 /* valid frame of another version/unknown type */
#define CBUS_DECODE_BAD (-1) /* malformed: the link should be closed */

/* Checks the 8-byte frame prefix: returns the message's totlen, or 0 when the
 * signature is wrong or totlen is < CBUS_HDR_LEN or > CBUS_MAX_MSG. */
uint32_t cbus_frame_len(const unsigned char hdr[8]);

/* Decodes and validates one whole message buf[0..len). On CBUS_DECODE_OK,
 * *m is filled (pointers into buf). */
int cbus_decode(const unsigned char *buf, size_t len, cbus_msg *m);

/* The i-th gossip entry of a decoded PING/PONG/MEET (i < m->count). */
void cbus_gossip_at(const cbus_msg *m, unsigned i, cbus_gossip *g);

/* Iterates the decoded extensions: *off starts at 0. Returns 1 with
 * type, data and dlen set (payload without the 8-byte extension header), 0 when
 * done. */
int cbus_ext_next(const cbus_msg *m, size_t *off, unsigned *type,
                  const unsigned char **data, size_t *dlen);

/* Bytes cbus_encode writes for m (type, count, hostname, forgotten,
 * channel/message lengths are what matter). */
size_t cbus_encoded_len(const cbus_msg *m);

/* Encodes m into out (cap bytes, at least cbus_encoded_len(m)); returns the
 * length written, 0 if cap is too small. Sets EXT_DATA in mflags[0] when
 * extensions are written. */
size_t cbus_encode(const cbus_msg *m, unsigned char *out, size_t cap);

#endif
