#!/usr/bin/python3
"""redis-py's pub/sub and client-side-caching behaviour on Lightning and on a
real Redis: the same script runs against both ports and the transcripts of
what redis-py returned must be equal. Run by tests/integration/test_redispy.c
as: pubsub_redispy.py LIGHTNING_PORT REDIS_PORT (exit 0: equal; 1: differs,
with both transcripts printed; 77: redis-py missing)."""
import sys
import time

try:
    import redis
except ImportError:
    sys.exit(77)


def get(ps, n, out, timeout=5.0):
    """n messages from ps (get_message skips nothing but None polls)."""
    end = time.time() + timeout
    got = 0
    while got < n and time.time() < end:
        m = ps.get_message(timeout=0.2)
        if m is not None:
            out.append(("msg", m["type"], m.get("pattern"), m["channel"], m["data"]))
            got += 1
    if got < n:
        out.append(("missing", n - got))


def run(port):
    out = []
    r = redis.Redis(port=port)
    r.flushall()
    ps = r.pubsub()
    ps.subscribe("news", "sport")
    ps.psubscribe("n*")
    get(ps, 3, out)
    out.append(("publish", r.publish("news", "hello")))
    out.append(("publish", r.publish("nothing", "x")))
    out.append(("publish", r.publish("sport", b"\x00bin\xff")))
    get(ps, 4, out)
    out.append(("numsub", r.pubsub_numsub("news", "sport", "none")))
    out.append(("numpat", r.pubsub_numpat()))
    out.append(("channels", sorted(r.pubsub_channels())))
    ps.unsubscribe("sport")
    get(ps, 1, out)
    out.append(("publish", r.publish("sport", "gone")))
    ps.punsubscribe()
    ps.unsubscribe()
    get(ps, 2, out)
    out.append(("channels", sorted(r.pubsub_channels())))
    # A handler thread, as applications use it.
    seen = []
    ps2 = r.pubsub()
    ps2.subscribe(**{"jobs": lambda m: seen.append(m["data"])})
    t = ps2.run_in_thread(sleep_time=0.01)
    for i in range(100):
        r.publish("jobs", str(i))
    end = time.time() + 5
    while len(seen) < 100 and time.time() < end:
        time.sleep(0.01)
    t.stop()
    t.join(timeout=5)
    out.append(("thread", seen == [str(i).encode() for i in range(100)]))
    # Client-side caching, RESP2 style: invalidations on a subscribed
    # connection, tracking redirected to it.
    inv = redis.Connection(port=port)
    inv.connect()
    inv.send_command("CLIENT", "ID")
    inv_id = inv.read_response()
    inv.send_command("SUBSCRIBE", "__redis__:invalidate")
    out.append(("subscribed", inv.read_response()))
    tracked = redis.Redis(port=port, single_connection_client=True)
    out.append(("tracking", tracked.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", inv_id)))
    out.append(("getredir", tracked.execute_command("CLIENT", "GETREDIR") == inv_id))
    tracked.get("cached")
    r.set("cached", "1")
    out.append(("invalidate", inv.read_response()))
    r.set("cached", "2")
    tracked.get("cached")
    r.flushall()
    out.append(("invalidate", inv.read_response()))
    inv.disconnect()
    # Keyspace notifications through redis-py.
    r.config_set("notify-keyspace-events", "KEA")
    out.append(("config", r.config_get("notify-keyspace-events")))
    kn = r.pubsub()
    kn.psubscribe("__keyevent@0__:*")
    get(kn, 1, out)
    r.set("k", "v")
    r.lpush("l", "a")
    r.delete("k", "l")
    get(kn, 4, out)
    r.config_set("notify-keyspace-events", "")
    for p in (ps, ps2, kn):
        p.close()
    return out


def main():
    lp, rp = int(sys.argv[1]), int(sys.argv[2])
    a, b = run(lp), run(rp)
    if a != b:
        for x, y in zip(a, b):
            mark = "  " if x == y else "!!"
            print(f"{mark} lightning {x!r}\n{mark} redis     {y!r}")
        if len(a) != len(b):
            print(f"lengths differ: {len(a)} vs {len(b)}")
        return 1
    print(f"{len(a)} steps equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
