/**
 * The merge is idempotent: run twice, or killed with SIGKILL in the middle and run
 * again by a restarted worker process, it leaves exactly one correct file and no temp files.
 * These are merges of complete uploads; early merges are off here (worker-kill.test.ts
 * kills one of those).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { mergeJobId } from '../../services/shared/merge-job.js';
import { createMergeProcessor, type MergeJob } from '../../services/worker/merge-processor.js';
import { killAll, startService } from '../helpers/processes.js';
import { startSystem, waitForPartialMerge, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;

const NO_EARLY_MERGE = { EARLY_MERGES_PER_WORKER: '0' };

before(async () => {
  sys = await startSystem({ env: NO_EARLY_MERGE });
});
after(async () => {
  killAll();
  await sys.stop();
});

async function filesIn(dir: string): Promise<string[]> {
  return readdir(dir, { recursive: true }).catch(() => []);
}

async function assertOneCorrectFile(uploadId: string, source: Buffer) {
  const upload = await sys.store.readUpload(sys.keyHashOf(`${source.length}-x`));
  assert.equal(upload?.state, 'complete', upload?.error);
  assert.deepEqual(await filesIn(sys.layout.uploadFilesDir(uploadId)), ['data.bin'], 'one file, no temp files');
  assert.ok((await readFile(path.join(sys.config.dataDir, upload!.path!))).equals(source));
  assert.equal(upload!.sha256, sha256(source));
}

test('a merge job run twice, and enqueued again after it finished, leaves one correct file', async () => {
  const source = randomFile(300_000);
  const responses = await uploadFile(source, { urls: sys.urls, identifier: `${source.length}-x`, filename: 'data.bin', chunkSize: 65_536 });
  const uploadId = String(responses.at(-1)!.body!.uploadId);
  const job = (await sys.queue.getJob(mergeJobId(uploadId))) as MergeJob;
  const merge = createMergeProcessor({ store: sys.store, layout: sys.layout, logger: pino({ level: 'silent' }) });

  const first = await merge(job);
  const second = await merge(job);
  assert.deepEqual(second, first, 'the second run reports the same result');
  await assertOneCorrectFile(uploadId, source);
  assert.deepEqual(await filesIn(sys.layout.chunkDir(sys.keyHashOf(`${source.length}-x`))), [], 'chunks deleted');

  // A late retry of a chunk re-adding the job changes nothing either.
  const again = await sendChunk(sys.urls[0]!, source, cutChunks(source.length, 65_536)[0]!, {
    urls: sys.urls, identifier: `${source.length}-x`, filename: 'data.bin', chunkSize: 65_536,
  });
  assert.equal(again.status, 200);
  assert.equal(again.body?.outcome, 'already_complete');
  await merge(job);
  await assertOneCorrectFile(uploadId, source);
});

test('a worker process killed with SIGKILL mid-merge, then restarted, produces the correct file', async () => {
  const source = randomFile(160 * 1024 * 1024 + 321);
  const options: UploadOptions = { urls: sys.urls, identifier: `${source.length}-x`, filename: 'data.bin', chunkSize: 1024 * 1024, body: 'octet', concurrency: 8 };
  const env = { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, MERGE_LOCK_MS: '2000', ...NO_EARLY_MERGE };
  const firstWorker = startService('worker', env);
  await firstWorker.waitForLog('worker ready');

  const responses = await uploadFile(source, options);
  const uploadId = String(responses.find((r) => r.body?.outcome === 'completed')!.body!.uploadId);
  const dir = sys.layout.uploadFilesDir(uploadId);

  // Kill as soon as the merge has written part of its temp file.
  const tempBytes = await waitForPartialMerge(dir);
  await firstWorker.kill('SIGKILL');
  assert.ok(tempBytes > 0 && tempBytes < source.length, `killed mid-merge (temp file had ${tempBytes} bytes)`);
  assert.equal((await sys.store.readUpload(sys.keyHashOf(options.identifier)))?.state, 'merging');

  const secondWorker = startService('worker', env);
  const upload = await sys.waitForState(options.identifier, ['complete', 'failed'], 60_000);
  assert.equal(upload.state, 'complete', upload.error);
  await assertOneCorrectFile(uploadId, source);
  assert.deepEqual(await filesIn(sys.layout.chunkDir(sys.keyHashOf(options.identifier))), [], 'chunks deleted');
  console.log(`SIGKILL mid-merge: killed with ${tempBytes} of ${source.length} bytes merged; restarted worker produced the file`);
  await secondWorker.kill('SIGTERM');
});
