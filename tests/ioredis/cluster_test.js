// ioredis's Cluster client against a running cluster whose node ports are
// argv[2..] (tests/integration/test_cluster_clients.c starts three Lightning
// masters): the slot map learnt from CLUSTER SLOTS, keys on every node, a
// pipeline (ioredis sends a pipeline to one node: its keys share a {hash
// tag}), multi-key commands on one tag and the CROSSSLOT refusal, a slot
// moved under the client (-ASK while the slot is open, -MOVED after), and
// PUBLISH reaching a subscriber of another node.
// Prints "ioredis cluster ok" and exits 0 when every expectation holds;
// exits 1 with the reason otherwise (bounded: 60 s at most).
const Redis = require('ioredis');

const ports = process.argv.slice(2).map((p) => parseInt(p, 10));
const fail = (why) => { console.log('ioredis cluster FAILED: ' + why); process.exit(1); };
const check = (cond, why) => { if (!cond) fail(why); };
setTimeout(() => fail('timed out'), 60000).unref();

async function main() {
  const cluster = new Redis.Cluster(ports.map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions: { connectTimeout: 10000 }, scaleReads: 'master' });
  await new Promise((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('error', reject);
  });
  check(cluster.nodes('master').length === 3, 'three masters in the slot map');

  await Promise.all(cluster.nodes('master').map((n) => n.flushall()));
  const keys = Array.from({ length: 300 }, (_, i) => `k:${i}`);
  for (const k of keys) check(await cluster.set(k, `v-${k}`) === 'OK', `SET ${k}`);
  for (const k of keys) check(await cluster.get(k) === `v-${k}`, `GET ${k}`);
  const sizes = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
  check(sizes.every((s) => s > 0) && sizes.reduce((a, b) => a + b) === 300,
    `keys per node: ${sizes}`);

  const pipe = cluster.pipeline();
  for (let i = 0; i < 100; i++) pipe.set(`p:{pipe}:${i}`, i).incr(`p:{pipe}:${i}`);
  const res = await pipe.exec();
  check(res.every(([err]) => err === null), 'pipeline errors');
  for (let i = 0; i < 100; i++) check(res[2 * i + 1][1] === i + 1, `pipeline INCR ${i}`);

  check(await cluster.mset('{t}a', '1', '{t}b', '2') === 'OK', 'MSET on one hash tag');
  check(JSON.stringify(await cluster.mget('{t}a', '{t}b')) === '["1","2"]', 'MGET on one hash tag');
  let crossErr = null;
  try { await cluster.mset('a', '1', 'b', '2'); } catch (e) { crossErr = String(e); }
  check(crossErr && crossErr.includes('CROSSSLOT'), `cross-slot MSET: ${crossErr}`);
  check(await cluster.hset('h:1', 'a', '1', 'b', '2') === 2, 'HSET');
  check(JSON.stringify(await cluster.hgetall('h:1')) === '{"a":"1","b":"2"}', 'HGETALL');

  // A slot moved under the client, the way redis-cli --cluster reshard moves it.
  const moved = Array.from({ length: 20 }, (_, i) => `mv:{s}:${i}`);
  for (const k of moved) await cluster.set(k, `m-${k}`);
  const slot = parseInt(await cluster.cluster('KEYSLOT', moved[0]), 10);
  const direct = ports.map((port) => new Redis({ host: '127.0.0.1', port, lazyConnect: false }));
  const ids = await Promise.all(direct.map((r) => r.cluster('MYID')));
  const counts = await Promise.all(direct.map((r) => r.cluster('COUNTKEYSINSLOT', slot)));
  const si = counts.findIndex((c) => c === 20);
  check(si >= 0, `owner of slot ${slot}: counts ${counts}`);
  const di = (si + 1) % direct.length;
  const [src, dst] = [direct[si], direct[di]];
  check(await dst.cluster('SETSLOT', slot, 'IMPORTING', ids[si]) === 'OK', 'SETSLOT IMPORTING');
  check(await src.cluster('SETSLOT', slot, 'MIGRATING', ids[di]) === 'OK', 'SETSLOT MIGRATING');
  check(await src.migrate('127.0.0.1', ports[di], '', 0, 5000, 'KEYS', ...moved.slice(0, 10)) === 'OK',
    'MIGRATE');
  for (const k of moved) check(await cluster.get(k) === `m-${k}`, `GET ${k} while the slot is open (ASK)`);
  check(await src.migrate('127.0.0.1', ports[di], '', 0, 5000, 'KEYS', ...moved.slice(10)) === 'OK',
    'MIGRATE of the rest');
  for (const r of [dst, src, ...direct.filter((_, i) => i !== si && i !== di)])
    check(await r.cluster('SETSLOT', slot, 'NODE', ids[di]) === 'OK', 'SETSLOT NODE');
  for (const k of moved) check(await cluster.get(k) === `m-${k}`, `GET ${k} after the move (MOVED)`);
  check(await dst.cluster('COUNTKEYSINSLOT', slot) === 20 && await src.cluster('COUNTKEYSINSLOT', slot) === 0,
    'keys per node after the move');

  // PUBLISH on one node reaches a subscriber on another (the bus).
  const sub = new Redis({ host: '127.0.0.1', port: ports[di] });
  const got = new Promise((resolve) => sub.on('message', (ch, msg) => resolve(`${ch}:${msg}`)));
  await sub.subscribe('cl-news');
  await src.publish('cl-news', 'hello');
  check(await got === 'cl-news:hello', 'message across the bus');

  sub.disconnect();
  direct.forEach((r) => r.disconnect());
  cluster.disconnect();
  console.log('ioredis cluster ok');
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
