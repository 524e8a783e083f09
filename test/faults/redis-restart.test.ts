/**
 * Redis restarted mid-upload, with an append-only file as compose runs it: while it is
 * down the ingest answers 503 at once (resumable.js retries), and afterwards the upload
 * resumes where it was (test GETs report the stored chunks) and merges exactly once.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ redisAppendOnly: true });
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
  assert.ok(post.ms < 1000, `POST answered in ${post.ms} ms`);
  assert.equal(get.value, 503);
  assert.ok(get.ms < 1000, `GET answered in ${get.ms} ms`);
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 503, 'not ready while Redis is down');

  await sys.redisServer.start();
  for (let i = 0; i < 200 && (await fetch(`${url}/readyz`)).status !== 200; i++) await sleep(50);

  for (const chunk of chunks) {
    assert.equal(await testChunk(url, file, chunk, options), chunk.number % 2 === 1 ? 200 : 204, `chunk ${chunk.number} after the restart`);
  }
  const rest = await Promise.all(chunks.filter((c) => c.number % 2 === 0).map((c) => sendChunk(url, file, c, options)));
  assert.ok(rest.every((r) => r.status === 200));
  assert.equal(rest.filter((r) => r.body?.outcome === 'completed').length, 1);

  await sys.startWorker();
  const upload = await sys.waitForState(options.identifier, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(file));
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.length, 1, 'exactly one merge job');
});
