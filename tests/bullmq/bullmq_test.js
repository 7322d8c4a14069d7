// BullMQ against a server on the port given as argv[2]: a queue, workers,
// a delayed job, a job that fails once and is retried, and the events
// stream. Prints "bullmq ok" and exits 0 when every expectation holds;
// exits 1 with the reason otherwise (bounded: 60 s at most).
const { Queue, Worker, QueueEvents } = require('bullmq');

const port = parseInt(process.argv[2], 10);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const fail = (why) => { console.log('bullmq FAILED: ' + why); process.exit(1); };
setTimeout(() => fail('timed out'), 60000).unref();

async function main() {
  const queue = new Queue('lt', { connection });
  const events = new QueueEvents('lt', { connection });
  await events.waitUntilReady();
  const done = new Map();
  let failedOnce = false;
  const worker = new Worker('lt', async (job) => {
    if (job.name === 'flaky' && !failedOnce) {
      failedOnce = true;
      throw new Error('first attempt fails');
    }
    return { doubled: job.data.n * 2, attempt: job.attemptsMade };
  }, { connection, concurrency: 4 });
  const completed = new Promise((resolve) => {
    worker.on('completed', (job, result) => {
      done.set(job.id, { name: job.name, result, delayMs: Date.now() - job.timestamp });
      if (done.size === 22) resolve();
    });
  });
  const seenByEvents = new Set();
  events.on('completed', ({ jobId }) => seenByEvents.add(jobId));

  const jobs = [];
  for (let i = 0; i < 20; i++) jobs.push(await queue.add('plain', { n: i }));
  const delayed = await queue.add('delayed', { n: 100 }, { delay: 700 });
  const flaky = await queue.add('flaky', { n: 7 }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  await completed;

  for (let i = 0; i < 20; i++) {
    const r = done.get(jobs[i].id);
    if (!r || r.result.doubled !== 2 * i) fail('plain job ' + i + ' result ' + JSON.stringify(r));
  }
  const d = done.get(delayed.id);
  if (!d || d.result.doubled !== 200) fail('delayed job result');
  if (d.delayMs < 650) fail('delayed job ran after ' + d.delayMs + ' ms');
  const f = done.get(flaky.id);
  if (!f || f.result.doubled !== 14 || f.result.attempt !== 1) fail('flaky job ' + JSON.stringify(f));
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
  if (counts.completed !== 22 || counts.failed || counts.waiting || counts.delayed || counts.active)
    fail('counts ' + JSON.stringify(counts));
  const fj = await queue.getJob(flaky.id);
  if (fj.attemptsMade !== 2 || !(await fj.isCompleted())) fail('flaky state attemptsMade=' + fj.attemptsMade);
  for (let t = 0; t < 100 && seenByEvents.size < 22; t++) await new Promise((r) => setTimeout(r, 50));
  if (seenByEvents.size < 22) fail('events stream saw ' + seenByEvents.size + ' completions');
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  console.log('bullmq ok');
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
