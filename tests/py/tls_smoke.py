#!/usr/bin/python3
"""redis-py over TLS (ssl=True with a client certificate): a smoke test of
strings, a pipeline, a hash, a transaction and pub/sub, then a connection
without a certificate, which the server (tls-auth-clients yes) must refuse.
Run by tests/integration/test_tls.c as:
tls_smoke.py PORT CA_FILE CERT_FILE KEY_FILE (exit 0: ok; 1: failed;
77: redis-py missing)."""
import sys

try:
    import redis
except ImportError:
    sys.exit(77)

port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def check(got, want, what):
    if got != want:
        print("FAIL %s: got %r, want %r" % (what, got, want))
        sys.exit(1)


r = redis.Redis(host="localhost", port=port, ssl=True, ssl_ca_certs=ca,
                ssl_certfile=cert, ssl_keyfile=key, ssl_cert_reqs="required")
check(r.ping(), True, "ping")
check(r.set("py:k", "v" * 100000), True, "set")
check(len(r.get("py:k")), 100000, "get")
p = r.pipeline(transaction=False)
for i in range(500):
    p.incr("py:n")
check(p.execute()[-1], 500, "pipeline")
check(r.hset("py:h", mapping={"a": "1", "b": "2"}), 2, "hset")
check(r.hgetall("py:h"), {b"a": b"1", b"b": b"2"}, "hgetall")
t = r.pipeline(transaction=True)
t.set("py:t", "x").get("py:t")
check(t.execute(), [True, b"x"], "multi")
ps = r.pubsub()
ps.subscribe("py:chan")
check(ps.get_message(timeout=5)["type"], "subscribe", "subscribe")
check(r.publish("py:chan", "hello"), 1, "publish")
check(ps.get_message(timeout=5)["data"], b"hello", "message")
ps.close()
print("tls smoke ok")

bare = redis.Redis(host="localhost", port=port, ssl=True, ssl_ca_certs=ca,
                   ssl_cert_reqs="required", socket_timeout=10)
try:
    bare.ping()
    print("FAIL: a client without a certificate was served")
    sys.exit(1)
except (redis.exceptions.ConnectionError, OSError) as e:
    print("refused without certificate: %s" % type(e).__name__)
