#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_clusterbus.c: one cluster bus
message of each type in Redis 7.0's layout (src/cluster/bus.h), plus a few
malformed ones. usage: tests/fuzz/gen_clusterbus_corpus.py OUTDIR"""
import os
import struct
import sys

HDR = 2256

def header(typ, count=0, sender=b"e" * 40, slots=b"", cur=5, cfg=3, ext=0, mflags=0, ip=b""):
    myslots = bytearray(2048)
    for s in slots:
        myslots[s // 8] |= 1 << (s % 8)
    h = bytearray(HDR)
    h[0:4] = b"RCmb"
    struct.pack_into(">HHHH", h, 8, 1, 7005, typ, count)
    struct.pack_into(">QQQ", h, 16, cur, cfg, 0)
    h[40:80] = sender
    h[80:2128] = myslots
    h[2168:2168 + len(ip)] = ip
    struct.pack_into(">H", h, 2214, ext)
    struct.pack_into(">HHH", h, 2246, 0, 17005, 1)
    h[2252] = 0
    h[2253] = mflags
    return h

def gossip(name, ip=b"127.0.0.1", port=7001, flags=1, pong=1700000000):
    g = bytearray(104)
    g[0:40] = name
    struct.pack_into(">II", g, 40, 0, pong)
    g[48:48 + len(ip)] = ip
    struct.pack_into(">HHHH", g, 94, port, port + 10000, flags, 0)
    return g

def ext(typ, payload):
    n = 8 + len(payload)
    pad = (8 - n % 8) % 8
    return struct.pack(">IHH", n + pad, typ, 0) + payload + b"\0" * pad

def finish(m):
    struct.pack_into(">I", m, 4, len(m))
    return bytes(m)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
msgs = {}
g = gossip(b"a" * 40) + gossip(b"b" * 40, flags=1 | 4) + gossip(b"f" * 40, ip=b"::1")
e = ext(0, b"host-e\0") + ext(2, b"d" * 40 + struct.pack(">Q", 30)) + ext(9, b"future")
msgs["ping"] = finish(header(0, 3, slots=range(100, 200), ext=3, mflags=4) + g + e)
msgs["pong"] = finish(header(1, 1, sender=b"a" * 40, slots=range(0, 4096, 2), cfg=9) + gossip(b"c" * 40))
msgs["meet"] = finish(header(2, 0, sender=b"9" * 40, ip=b"10.0.0.9"))
msgs["fail"] = finish(header(3) + b"b" * 40)
msgs["publish"] = finish(header(4) + struct.pack(">II", 2, 5) + b"chhello")
msgs["publish-known"] = finish(header(4, sender=b"a" * 40) + struct.pack(">II", 4, 3) + b"newsabc")
msgs["publishshard"] = finish(header(10, sender=b"b" * 40) + struct.pack(">II", 1, 0) + b"x")
msgs["publish-overflow"] = finish(header(4, sender=b"a" * 40) + struct.pack(">II", 0xffffffff, 2) + b"ab")
msgs["authreq"] = finish(header(5))
msgs["update"] = finish(header(7) + struct.pack(">Q", 50) + b"c" * 40 + b"\xff" * 2048)
msgs["module"] = finish(header(9) + struct.pack(">QIB", 1, 3, 1) + b"abc")
msgs["badext"] = finish(header(0, 0, ext=1, mflags=4) + struct.pack(">IHH", 12, 0, 0) + b"abcd")
msgs["short"] = bytes(header(0)[:100])
for name, data in msgs.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
