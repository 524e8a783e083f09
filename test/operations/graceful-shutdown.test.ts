/**
 * SIGTERM in the middle of an upload (to an ingest) and of a merge (to a worker): the
 * processes exit cleanly, nothing is lost or corrupted, and the upload completes once
 * the processes are back.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/redis-server.js';
import { killAll, startService, type ServiceProcess } from '../helpers/processes.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ ingestInstances: 0 });
});
after(async () => {
  killAll();
  await sys.stop();
});

const env = () => ({ REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, MERGE_LOCK_MS: '2000' });

async function startIngest(extraEnv: Record<string, string> = {}): Promise<{ service: ServiceProcess; url: string }> {
  const port = await freePort();
  const service = startService('ingest', { ...env(), PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '5000', ...extraEnv });
  await service.waitForLog('ingest listening');
  return { service, url: `http://127.0.0.1:${port}` };
}

async function assertMerged(identifier: string, source: Buffer) {
  const upload = await sys.waitForState(identifier, ['complete', 'failed'], 60_000);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(source));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(source));
  const leftovers = (await readdir(sys.layout.uploadFilesDir(upload.uploadId))).filter((n) => n !== path.basename(upload.path!));
  assert.deepEqual(leftovers, [], 'nothing beside the file');
}

test('SIGTERM to an ingest mid-upload: it finishes what it took, exits 0, and the client finishes on the other', async () => {
  const [a, b] = [await startIngest(), await startIngest()];
  const source = randomFile(48 * 1024 * 1024 + 7);
  const options: UploadOptions = {
    urls: [a.url, b.url], identifier: 'sigterm-ingest', chunkSize: 512 * 1024, filename: 'big.bin',
    order: 'shuffled', concurrency: 8, retries: 30, body: 'octet',
  };
  const uploading = uploadFile(source, options);
  await eventually(async () => ((await sys.readUpload(options.identifier))?.storedRanges ?? 0) >= 8, { what: 'the upload under way' });
  assert.equal((await sys.readUpload(options.identifier))?.state, 'receiving', 'mid-upload');
  const exitCode = await a.service.kill('SIGTERM');
  assert.equal(exitCode, 0, 'the ingest exits 0');
  assert.ok(a.service.logs.some((line) => line.msg === 'shut down'));
  const responses = await uploading;
  assert.ok(responses.every((r) => r.status === 200));
  assert.equal(responses.filter((r) => r.body?.outcome === 'completed').length, 1);

  const worker = startService('worker', env());
  await assertMerged(options.identifier, source);
  await worker.kill('SIGTERM');
  await b.service.kill('SIGTERM');
});

test('SIGTERM to a worker mid-merge: it hands the job back, exits 0, and a new worker merges correctly', async () => {
  const { url, service: ingest } = await startIngest();
  const source = randomFile(256 * 1024 * 1024 + 3);
  const options: UploadOptions = { urls: [url], identifier: 'sigterm-worker', chunkSize: 1024 * 1024, filename: 'big.bin', concurrency: 8, body: 'octet' };
  const responses = await uploadFile(source, options);
  const uploadId = String(responses.find((r) => r.body?.outcome === 'completed')!.body!.uploadId);

  // A deadline of 2 s leaves no grace: an active merge is handed back at once. The worker is
  // frozen the moment its merge begins and told to stop while frozen, so the signal finds
  // the merge under way.
  const first = startService('worker', { ...env(), SHUTDOWN_TIMEOUT_MS: '2000' });
  await eventually(async () => (await sys.readUpload(options.identifier))?.state === 'merging', { what: 'the merge under way' });
  first.child.kill('SIGSTOP');
  const exited = first.kill('SIGTERM');
  first.child.kill('SIGCONT');
  assert.equal(await exited, 0, 'the worker exits 0');
  assert.ok(first.logs.some((line) => line.msg === 'merge interrupted by shutdown; job handed back to the queue'));
  const job = await sys.queue.getJob(mergeJobId(uploadId));
  assert.ok(['waiting', 'prioritized', 'delayed'].includes(await job!.getState()), 'the job is back in the queue, not stuck active');
  assert.equal(job!.attemptsMade, 0, 'handing back does not use up an attempt');

  const second = startService('worker', env());
  await assertMerged(options.identifier, source);
  await second.kill('SIGTERM');
  await ingest.kill('SIGTERM');
});

test('SIGTERM to a worker during an early merge: it hands the job back at once, and the upload still merges', async () => {
  const early = { EARLY_MERGE_MIN_SIZE: '1MB', EARLY_MERGES_PER_WORKER: '1' };
  const { url, service: ingest } = await startIngest(early);
  const source = randomFile(24 * 1024 * 1024 + 9);
  const chunkSize = 1024 * 1024;
  const options: UploadOptions = { urls: [url], identifier: 'sigterm-early', chunkSize, filename: 'early.bin', body: 'octet' };
  const chunks = cutChunks(source.length, chunkSize);
  // A deadline of 20 s: an early merge must not hold the worker for it.
  const first = startService('worker', { ...env(), ...early, SHUTDOWN_TIMEOUT_MS: '20000' });
  await first.waitForLog('worker ready');
  let uploadId = '';
  for (const chunk of chunks.slice(0, 10)) uploadId = String((await sendChunk(url, source, chunk, options)).body!.uploadId);
  await eventually(async () => ((await sys.queue.getJob(mergeJobId(uploadId)))?.progress as { early?: boolean } | undefined)?.early, { what: 'the early merge under way' });

  const stopped = Date.now();
  assert.equal(await first.kill('SIGTERM'), 0, 'the worker exits 0');
  // Its deadline is 20 s: an early merge must not hold the worker for its grace (18 s).
  assert.ok(Date.now() - stopped < 15_000, `handed back at once (${Date.now() - stopped} ms), not at the 18 s grace`);
  assert.ok(first.logs.some((line) => line.msg === 'merge interrupted by shutdown; job handed back to the queue'));

  const second = startService('worker', { ...env(), ...early });
  for (const chunk of chunks.slice(10)) assert.equal((await sendChunk(url, source, chunk, options)).status, 200);
  await assertMerged(options.identifier, source);
  await second.kill('SIGTERM');
  await ingest.kill('SIGTERM');
});
