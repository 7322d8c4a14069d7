/*
 * bus.c — cluster bus message codec (layout and validity rules in bus.h).
 */
#include "cluster/bus.h"

#include <string.h>

static uint16_t rd16(const unsigned char *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t rd32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t rd64(const unsigned char *p) {
    return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}
static void wr16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}
static void wr32(unsigned char *p, uint32_t v) {
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}
static void wr64(unsigned char *p, uint64_t v) {
    wr32(p, (uint32_t)(v >> 32));
    wr32(p + 4, (uint32_t)v);
}

/* Copies a fixed-size, maybe unterminated, IP field into a C string. */
static void copy_ip(char *dst, const unsigned char *src) {
    memcpy(dst, src, CBUS_IPLEN);
    dst[CBUS_IPLEN] = '\0';
    dst[strnlen(dst, CBUS_IPLEN)] = '\0';
}

uint32_t cbus_frame_len(const unsigned char hdr[8]) {
    if (memcmp(hdr, "RCmb", 4) != 0) return 0;
    uint32_t len = rd32(hdr + 4);
    if (len < CBUS_HDR_LEN || len > CBUS_MAX_MSG) return 0;
    return len;
}

int cbus_decode(const unsigned char *buf, size_t len, cbus_msg *m) {
    if (len < CBUS_HDR_LEN || len > CBUS_MAX_MSG) return CBUS_DECODE_BAD;
    if (memcmp(buf, "RCmb", 4) != 0) return CBUS_DECODE_BAD;
    uint32_t totlen = rd32(buf + 4);
    if (totlen != len) return CBUS_DECODE_BAD;
    if (rd16(buf + 8) != CBUS_PROTO_VER) return CBUS_DECODE_IGNORE;
    memset(m, 0, sizeof(*m));
    m->port = rd16(buf + 10);
    m->type = rd16(buf + 12);
    m->count = rd16(buf + 14);
    m->current_epoch = rd64(buf + 16);
    m->config_epoch = rd64(buf + 24);
    m->offset = rd64(buf + 32);
    memcpy(m->sender, buf + 40, CBUS_NAMELEN);
    memcpy(m->myslots, buf + 80, 2048);
    memcpy(m->slaveof, buf + 2128, CBUS_NAMELEN);
    copy_ip(m->myip, buf + 2168);
    m->extensions = rd16(buf + 2214);
    m->pport = rd16(buf + 2246);
    m->cport = rd16(buf + 2248);
    m->flags = rd16(buf + 2250);
    m->state = buf[2252];
    memcpy(m->mflags, buf + 2253, 3);
    const unsigned char *d = buf + CBUS_HDR_LEN;
    size_t rest = len - CBUS_HDR_LEN;
    uint64_t explen;
    switch (m->type) {
    case CBUS_PING:
    case CBUS_PONG:
    case CBUS_MEET: {
        explen = (uint64_t)m->count * CBUS_GOSSIP_LEN;
        if (explen > rest) return CBUS_DECODE_BAD;
        m->gossip = d;
        if (m->mflags[0] & CBUS_MFLAG0_EXT_DATA) {
            size_t off = explen;
            for (unsigned i = 0; i < m->extensions; i++) {
                if (rest - off < 8) return CBUS_DECODE_BAD;
                uint32_t elen = rd32(d + off);
                if (elen < 8 || elen % 8 != 0 || elen > rest - off) return CBUS_DECODE_BAD;
                unsigned type = rd16(d + off + 4);
                if (type == CBUS_EXT_HOSTNAME && !m->hostname) {
                    const unsigned char *h = d + off + 8;
                    size_t hl = strnlen((const char *)h, elen - 8);
                    if (hl < elen - 8 && hl <= CBUS_HOSTNAME_MAX) m->hostname = (const char *)h;
                }
                off += elen;
            }
            m->ext = d + explen;
            m->ext_len = off - explen;
            explen = off;
        } else {
            m->extensions = 0;
        }
        break;
    }
    case CBUS_FAIL:
        explen = CBUS_NAMELEN;
        if (rest >= explen) memcpy(m->about, d, CBUS_NAMELEN);
        break;
    case CBUS_PUBLISH:
    case CBUS_PUBLISHSHARD:
        if (rest < 8) return CBUS_DECODE_BAD;
        m->channel_len = rd32(d);
        m->message_len = rd32(d + 4);
        explen = 8 + (uint64_t)m->channel_len + m->message_len;
        if (explen == rest) {
            m->channel = d + 8;
            m->message = d + 8 + m->channel_len;
        }
        break;
    case CBUS_AUTH_REQUEST:
    case CBUS_AUTH_ACK:
    case CBUS_MFSTART:
        explen = 0;
        break;
    case CBUS_UPDATE:
        explen = 8 + CBUS_NAMELEN + 2048;
        if (rest >= explen) {
            m->update_epoch = rd64(d);
            memcpy(m->update_name, d + 8, CBUS_NAMELEN);
            memcpy(m->update_slots, d + 8 + CBUS_NAMELEN, 2048);
        }
        break;
    case CBUS_MODULE:
        if (rest < 13) return CBUS_DECODE_BAD;
        explen = 13 + (uint64_t)rd32(d + 8);
        if (explen == rest) {
            m->message = d + 13;
            m->message_len = rd32(d + 8);
        }
        break;
    default:
        return CBUS_DECODE_IGNORE;
    }
    if (explen != rest) return CBUS_DECODE_BAD;
    return CBUS_DECODE_OK;
}

void cbus_gossip_at(const cbus_msg *m, unsigned i, cbus_gossip *g) {
    const unsigned char *p = m->gossip + (size_t)i * CBUS_GOSSIP_LEN;
    memcpy(g->name, p, CBUS_NAMELEN);
    g->ping_sent = rd32(p + 40);
    g->pong_received = rd32(p + 44);
    copy_ip(g->ip, p + 48);
    g->port = rd16(p + 94);
    g->cport = rd16(p + 96);
    g->flags = rd16(p + 98);
    g->pport = rd16(p + 100);
}

int cbus_ext_next(const cbus_msg *m, size_t *off, unsigned *type,
                  const unsigned char **data, size_t *dlen) {
    /* cbus_decode checked every length: each header fits and is >= 8. */
    if (!m->ext || *off >= m->ext_len) return 0;
    const unsigned char *p = m->ext + *off;
    uint32_t elen = rd32(p);
    *type = rd16(p + 4);
    *data = p + 8;
    *dlen = elen - 8;
    *off += elen;
    return 1;
}

static size_t hostname_ext_len(const cbus_msg *m) {
    return m->hostname && m->hostname[0] ? 8 + ((strlen(m->hostname) + 1 + 7) / 8) * 8 : 0;
}

size_t cbus_encoded_len(const cbus_msg *m) {
    switch (m->type) {
    case CBUS_PING:
    case CBUS_PONG:
    case CBUS_MEET:
        return CBUS_HDR_LEN + (size_t)m->count * CBUS_GOSSIP_LEN + hostname_ext_len(m) +
               (size_t)m->nforgotten * (8 + CBUS_NAMELEN + 8);
    case CBUS_FAIL: return CBUS_FAIL_LEN;
    case CBUS_UPDATE: return CBUS_UPDATE_LEN;
    case CBUS_PUBLISH:
    case CBUS_PUBLISHSHARD: return CBUS_HDR_LEN + 8 + (size_t)m->channel_len + m->message_len;
    case CBUS_MODULE: return CBUS_HDR_LEN + 13 + (size_t)m->message_len;
    default: return CBUS_HDR_LEN;
    }
}

size_t cbus_encode(const cbus_msg *m, unsigned char *out, size_t cap) {
    size_t len = cbus_encoded_len(m);
    if (cap < len) return 0;
    memset(out, 0, len);
    memcpy(out, "RCmb", 4);
    wr32(out + 4, (uint32_t)len);
    wr16(out + 8, CBUS_PROTO_VER);
    wr16(out + 10, m->port);
    wr16(out + 12, m->type);
    wr16(out + 14, m->count);
    wr64(out + 16, m->current_epoch);
    wr64(out + 24, m->config_epoch);
    wr64(out + 32, m->offset);
    memcpy(out + 40, m->sender, CBUS_NAMELEN);
    memcpy(out + 80, m->myslots, 2048);
    memcpy(out + 2128, m->slaveof, CBUS_NAMELEN);
    memcpy(out + 2168, m->myip, strnlen(m->myip, CBUS_IPLEN - 1));
    wr16(out + 2246, m->pport);
    wr16(out + 2248, m->cport);
    wr16(out + 2250, m->flags);
    out[2252] = m->state;
    memcpy(out + 2253, m->mflags, 3);
    unsigned char *d = out + CBUS_HDR_LEN;
    switch (m->type) {
    case CBUS_PING:
    case CBUS_PONG:
    case CBUS_MEET: {
        for (unsigned i = 0; i < m->count; i++) {
            const cbus_gossip *g = &m->gossip_in[i];
            unsigned char *p = d + (size_t)i * CBUS_GOSSIP_LEN;
            memcpy(p, g->name, CBUS_NAMELEN);
            wr32(p + 40, g->ping_sent);
            wr32(p + 44, g->pong_received);
            memcpy(p + 48, g->ip, strnlen(g->ip, CBUS_IPLEN - 1));
            wr16(p + 94, g->port);
            wr16(p + 96, g->cport);
            wr16(p + 98, g->flags);
            wr16(p + 100, g->pport);
        }
        unsigned char *e = d + (size_t)m->count * CBUS_GOSSIP_LEN;
        uint16_t next = 0;
        size_t hl = hostname_ext_len(m);
        if (hl) {
            wr32(e, (uint32_t)hl);
            wr16(e + 4, CBUS_EXT_HOSTNAME);
            memcpy(e + 8, m->hostname, strlen(m->hostname));
            e += hl;
            next++;
        }
        for (int i = 0; i < m->nforgotten; i++) {
            wr32(e, 8 + CBUS_NAMELEN + 8);
            wr16(e + 4, CBUS_EXT_FORGOTTEN);
            memcpy(e + 8, m->forgotten[i].name, CBUS_NAMELEN);
            wr64(e + 8 + CBUS_NAMELEN, m->forgotten[i].ttl_s);
            e += 8 + CBUS_NAMELEN + 8;
            next++;
        }
        if (next) {
            wr16(out + 2214, next);
            out[2253] |= CBUS_MFLAG0_EXT_DATA;
        }
        break;
    }
    case CBUS_FAIL: memcpy(d, m->about, CBUS_NAMELEN); break;
    case CBUS_UPDATE:
        wr64(d, m->update_epoch);
        memcpy(d + 8, m->update_name, CBUS_NAMELEN);
        memcpy(d + 8 + CBUS_NAMELEN, m->update_slots, 2048);
        break;
    case CBUS_PUBLISH:
    case CBUS_PUBLISHSHARD:
        wr32(d, m->channel_len);
        wr32(d + 4, m->message_len);
        if (m->channel_len) memcpy(d + 8, m->channel, m->channel_len);
        if (m->message_len) memcpy(d + 8 + m->channel_len, m->message, m->message_len);
        break;
    default: break;
    }
    return len;
}
