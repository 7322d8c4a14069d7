"""redis-py's RedisCluster against a running cluster (tests/integration/
test_cluster_clients.c starts three Lightning masters and passes a port).

Steps, each checked against what the library returned:
  1. topology: the client's slot map covers 16384 slots on three nodes,
     CLUSTER KEYSLOT agrees with redis-py's own key_slot().
  2. keys spread over every node: SET/GET/INCR/HSET/expiry, the
     non-atomic MSET/MGET that redis-py splits by slot, multi-key
     commands on one {hash tag}, and the CROSSSLOT refusal.
  3. a cluster pipeline over many slots.
  4. a slot moved under the client, Redis's way (SETSLOT IMPORTING /
     MIGRATING, MIGRATE of half its keys, then SETSLOT NODE): reads of
     moved keys follow -ASK while the slot is open and -MOVED after.
  5. PUBLISH on one node reaches a subscriber connected to another.

Prints "cluster redispy ok" and exits 0 when every step holds, exits 1 with
the reason otherwise, 77 when redis-py (Debian python3-redis, 4.1 or later
for redis.cluster) is not installed. Every wait is bounded.
"""
import logging
import sys
import time

logging.disable(logging.CRITICAL)  # redis-py logs each followed ASK/MOVED with a traceback

try:
    import redis
    from redis.cluster import RedisCluster, ClusterNode
    from redis.crc import key_slot
except ImportError:
    sys.exit(77)


def fail(why):
    print("cluster redispy FAILED: " + why)
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)


port = int(sys.argv[1])
rc = RedisCluster(host="127.0.0.1", port=port, decode_responses=True,
                  socket_timeout=10, cluster_error_retry_attempts=5)

# 1. topology
nodes = rc.get_primaries()
check(len(nodes) == 3, "primaries: %r" % nodes)
owners = {}
for slot in range(16384):
    n = rc.nodes_manager.get_node_from_slot(slot)
    check(n is not None, "slot %d has no node" % slot)
    owners.setdefault(n.name, 0)
    owners[n.name] += 1
check(len(owners) == 3, "slot owners: %r" % owners)
for k in ("foo", "user:{42}:name", "{}", "a{b}c", "key:12345"):
    check(rc.cluster_keyslot(k) == key_slot(k.encode()), "keyslot of %s" % k)

# 2. keys over every node (from an empty keyspace: FLUSHALL goes to every primary)
check(all(rc.flushall().values()) and rc.dbsize(target_nodes=RedisCluster.PRIMARIES) == 0,
      "FLUSHALL")
keys = ["k:%d" % i for i in range(300)]
for k in keys:
    check(rc.set(k, "v-" + k) is True, "SET " + k)
for k in keys:
    check(rc.get(k) == "v-" + k, "GET " + k)
by_node = {rc.nodes_manager.get_node_from_slot(key_slot(k.encode())).name for k in keys}
check(len(by_node) == 3, "keys did not reach every node")
check(rc.incr("counter:x", 5) == 5 and rc.incr("counter:x") == 6, "INCR")
check(rc.hset("h:1", mapping={"a": "1", "b": "2"}) == 2, "HSET")
check(rc.hgetall("h:1") == {"a": "1", "b": "2"}, "HGETALL")
check(rc.set("ttl:1", "x", ex=100) is True and 0 < rc.ttl("ttl:1") <= 100, "TTL")
pairs = {"m:%d" % i: str(i) for i in range(100)}
check(all(r is True for r in rc.mset_nonatomic(pairs)), "mset_nonatomic")
check(rc.mget_nonatomic(list(pairs)) == list(pairs.values()), "mget_nonatomic")
check(rc.mset({"{t}a": "1", "{t}b": "2"}) is True, "MSET on one hash tag")
check(rc.mget("{t}a", "{t}b") == ["1", "2"], "MGET on one hash tag")
check(rc.rpush("{t}l", "x", "y") == 2 and rc.lmove("{t}l", "{t}l2", "LEFT", "RIGHT") == "x",
      "LMOVE on one hash tag")
try:
    rc.execute_command("MSET", "a", "1", "b", "2")
    fail("MSET across slots did not fail")
except redis.exceptions.ResponseError as e:
    check("CROSSSLOT" in str(e), "CROSSSLOT text: %s" % e)
except redis.exceptions.RedisClusterException as e:
    check("slot" in str(e).lower(), "cross-slot refusal: %s" % e)
check(rc.delete(*["{t}a", "{t}b"]) == 2, "DEL on one hash tag")
check(rc.dbsize(target_nodes=RedisCluster.PRIMARIES) >= len(keys) + len(pairs),
      "DBSIZE summed over the primaries")

# 3. cluster pipeline
pipe = rc.pipeline()
for i in range(200):
    pipe.set("p:%d" % i, i)
    pipe.incr("pc:%d" % i)
res = pipe.execute()
check(res == [True, 1] * 200, "pipeline SET/INCR replies")
pipe = rc.pipeline()
for i in range(200):
    pipe.get("p:%d" % i)
check(pipe.execute() == [str(i) for i in range(200)], "pipeline GET replies")

# 4. a slot moved under the client
slot = key_slot(b"mv:{s}:0")
moved = ["mv:{s}:%d" % i for i in range(20)]
for k in moved:
    rc.set(k, "m-" + k)
src = rc.nodes_manager.get_node_from_slot(slot)
dst = [n for n in rc.get_primaries() if n.name != src.name][0]
s = redis.Redis(host=src.host, port=src.port, decode_responses=True, socket_timeout=10)
d = redis.Redis(host=dst.host, port=dst.port, decode_responses=True, socket_timeout=10)
src_id, dst_id = s.execute_command("CLUSTER", "MYID"), d.execute_command("CLUSTER", "MYID")
check(d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id), "SETSLOT IMPORTING")
check(s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id), "SETSLOT MIGRATING")
half = moved[:10]
check(s.execute_command("MIGRATE", dst.host, dst.port, "", 0, 5000, "KEYS", *half) == "OK",
      "MIGRATE")
for k in moved:
    check(rc.get(k) == "m-" + k, "GET %s while the slot is open (ASK)" % k)
check(rc.set(moved[0], "new-0") is True and rc.get(moved[0]) == "new-0",
      "write of a migrated key while the slot is open")
rest = moved[10:]
check(s.execute_command("MIGRATE", dst.host, dst.port, "", 0, 5000, "KEYS", *rest) == "OK",
      "MIGRATE of the rest")
for r in (d, s):
    r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
for n in rc.get_primaries():
    if n.name not in (src.name, dst.name):
        redis.Redis(host=n.host, port=n.port).execute_command("CLUSTER", "SETSLOT", slot, "NODE",
                                                              dst_id)
for k in moved[1:]:
    check(rc.get(k) == "m-" + k, "GET %s after the move (MOVED)" % k)
check(rc.get(moved[0]) == "new-0", "the write made during the move")
check(rc.nodes_manager.get_node_from_slot(slot).name == dst.name,
      "the client's slot map did not learn the new owner")
check(s.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0 and
      d.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 20, "keys per node after the move")

# 5. pub/sub across nodes
other = [n for n in rc.get_primaries() if n.name != src.name][0]
sub = redis.Redis(host=other.host, port=other.port, decode_responses=True,
                  socket_timeout=10).pubsub()
sub.subscribe("cl-news")
deadline = time.time() + 10
m = None
while time.time() < deadline and (m is None or m["type"] != "subscribe"):
    m = sub.get_message(timeout=1)
check(m is not None and m["type"] == "subscribe", "subscribe confirmation: %r" % m)
s.publish("cl-news", "hello")
m = None
while time.time() < deadline and (m is None or m["type"] != "message"):
    m = sub.get_message(timeout=1)
check(m is not None and m["data"] == "hello", "message across the bus: %r" % m)

print("cluster redispy ok")
