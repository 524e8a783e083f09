/**
 * Redis restarted mid-upload:
 * - with an append-only file, as compose runs it: while it is down the ingest answers 503
 *   at once (resumable.js retries), readiness says so without leaking Redis's error text,
 *   and afterwards the upload resumes where it was and merges exactly once;
 * - empty (its data lost): the next chunk of an upload it forgot is told the upload was
 *   lost (404: the page starts it again) instead of being stored into an upload that can
 *   never complete; the sweep's schedule is declared again; the restarted upload completes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { MAINTENANCE_QUEUE } from '../../services/shared/maintenance-job.js';
import { queuePrefix } from '../../services/state/redis-keys.js';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
let workerUrl: string;
before(async () => {
  sys = await startSystem({ redisAppendOnly: true });
  workerUrl = (await sys.startWorker()).url;
});
after(() => sys?.stop());

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

test('Redis down: 503 within a second; Redis back: the upload resumes and merges once', async () => {
  const url = sys.urls[0]!;
  const file = randomFile(10 * 100_000 + 77);
  const options: UploadOptions = { urls: [url], identifier: 'survives-redis', chunkSize: 100_000 };
  const chunks = cutChunks(file.length, options.chunkSize);
  const stored = chunks.filter((c) => c.number % 2 === 1);
  for (const chunk of stored) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);

  await sys.redisServer.kill();
  const post = await timed(() => sendChunk(url, file, chunks[1]!, options));
  const get = await timed(() => testChunk(url, file, chunks[0]!, options));
  console.log(`redis down: POST ${post.value.status} in ${post.ms.toFixed(0)} ms, GET ${get.value} in ${get.ms.toFixed(0)} ms`);
  assert.equal(post.value.status, 503);
  assert.equal((post.value.body as { error: { code: string } }).error.code, 'service_unavailable');
  // At once, not after a command timeout (5 s) or never.
  assert.ok(post.ms < 3000, `POST answered in ${post.ms} ms`);
  assert.equal(get.value, 503);
  assert.ok(get.ms < 3000, `GET answered in ${get.ms} ms`);
  for (const readyz of [`${url}/readyz`, `${sys.opsUrls[0]}/readyz`, `${workerUrl}/readyz`]) {
    const ready = await fetch(readyz);
    assert.equal(ready.status, 503, `${readyz}: not ready while Redis is down`);
    const { checks } = (await ready.json()) as { checks: { redis: string } };
    assert.ok(['unavailable', 'no answer'].includes(checks.redis), `${readyz}: a short reason, not Redis's own error text (${checks.redis})`);
  }

  await sys.redisServer.start();
  await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'ready again' });

  for (const chunk of chunks) {
    assert.equal(await testChunk(url, file, chunk, options), chunk.number % 2 === 1 ? 200 : 204, `chunk ${chunk.number} after the restart`);
  }
  const rest = await Promise.all(chunks.filter((c) => c.number % 2 === 0).map((c) => sendChunk(url, file, c, options)));
  assert.ok(rest.every((r) => r.status === 200));
  assert.equal(rest.filter((r) => r.body?.outcome === 'completed').length, 1);

  const upload = await sys.waitForState(options.identifier, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(file));
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.length, 1, 'exactly one merge job');
});

test('Redis restarted empty: a forgotten upload is told to start again, and the sweep is scheduled again', async () => {
  const empty = await startSystem({ redisAppendOnly: false });
  try {
    await empty.startWorker();
    const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: empty.redis, prefix: queuePrefix(empty.config.REDIS_PREFIX) });
    assert.equal((await maintenance.getJobSchedulers()).length, 1, 'the sweep is scheduled');
    const url = empty.urls[0]!;
    const file = randomFile(8 * 50_000 + 5);
    const options: UploadOptions = { urls: [url], identifier: 'forgotten', chunkSize: 50_000 };
    const chunks = cutChunks(file.length, options.chunkSize);
    for (const chunk of chunks.slice(0, 4)) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);

    await empty.redisServer.kill();
    await empty.redisServer.start();
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'ready again' });

    const next = await sendChunk(url, file, chunks[4]!, options);
    assert.equal(next.status, 404, 'stops resumable.js and flow.js, so the page can start the file again');
    assert.equal((next.body as { error: { code: string } }).error.code, 'upload_lost');
    await eventually(async () => (await maintenance.getJobSchedulers()).length === 1, { what: 'the sweep scheduled again' });
    await maintenance.close();

    // Started again, as the page does: every chunk is tested, and the missing ones sent.
    for (const chunk of chunks) {
      if ((await testChunk(url, file, chunk, options)) !== 200) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
    }
    const upload = await empty.waitForState('forgotten', ['complete', 'failed']);
    assert.equal(upload.sha256, sha256(file));
  } finally {
    await empty.stop();
  }
});
