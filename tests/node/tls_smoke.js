// ioredis over TLS with a client certificate: a smoke test of strings, a
// pipeline, a transaction and pub/sub, then a connection without a
// certificate, which the server (tls-auth-clients yes) must refuse.
// Run by tests/integration/test_tls.c as:
//   node tls_smoke.js PORT CA_FILE CERT_FILE KEY_FILE   (NODE_PATH: ioredis)
'use strict';
const fs = require('fs');
const Redis = require('ioredis');

const [port, ca, cert, key] = process.argv.slice(2);
const fail = (what, got, want) => {
  console.log(`FAIL ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  process.exit(1);
};
const eq = (got, want, what) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(what, got, want);
};

async function main() {
  const tls = { ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key),
                servername: 'localhost' };
  const r = new Redis({ host: '127.0.0.1', port: +port, tls, maxRetriesPerRequest: 1 });
  eq(await r.ping(), 'PONG', 'ping');
  eq(await r.set('js:k', 'x'.repeat(70000)), 'OK', 'set');
  eq((await r.get('js:k')).length, 70000, 'get');
  const p = r.pipeline();
  for (let i = 0; i < 300; i++) p.incr('js:n');
  const res = await p.exec();
  eq(res[299], [null, 300], 'pipeline');
  eq(await r.multi().set('js:t', 'y').get('js:t').exec(), [[null, 'OK'], [null, 'y']], 'multi');
  const sub = r.duplicate();
  await sub.subscribe('js:chan');
  const got = new Promise((resolve) => sub.on('message', (ch, msg) => resolve(msg)));
  eq(await r.publish('js:chan', 'hello'), 1, 'publish');
  eq(await got, 'hello', 'message');
  sub.disconnect();
  r.disconnect();
  console.log('tls smoke ok');

  const bare = new Redis({ host: '127.0.0.1', port: +port, lazyConnect: true,
                           tls: { ca: fs.readFileSync(ca), servername: 'localhost' },
                           maxRetriesPerRequest: 0, retryStrategy: () => null });
  bare.on('error', () => {});
  try {
    await bare.connect();
    await bare.ping();
    console.log('FAIL: a client without a certificate was served');
    process.exit(1);
  } catch (e) {
    console.log(`refused without certificate: ${e.message.split('\n')[0]}`);
  }
  bare.disconnect();
  process.exit(0);
}
main().catch((e) => { console.log('FAIL', e); process.exit(1); });
