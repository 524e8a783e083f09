/**
 * The merge is idempotent: run twice, interrupted between publishing and recording, or
 * killed with SIGKILL in the middle and run again by a restarted worker process, it
 * leaves exactly one correct file and nothing else. These are merges of complete uploads;
 * early merges are off here (worker-kill.test.ts kills one of those).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import type { StateStore } from '../../services/core/state-store.js';
import { createMergeProcessor, type MergeJob } from '../../services/worker/merge/merge-processor.js';
import { eventually } from '../helpers/eventually.js';
import { killAll, startService } from '../helpers/processes.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
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

async function assertOneCorrectFile(identifier: string, uploadId: string, source: Buffer) {
  const upload = await sys.readUpload(identifier);
  assert.equal(upload?.state, 'complete', upload?.error);
  assert.deepEqual(await filesIn(sys.layout.uploadFilesDir(uploadId)), ['data.bin'], 'one file, nothing else');
  assert.ok((await readFile(path.join(sys.config.dataDir, upload!.path!))).equals(source));
  assert.equal(upload!.sha256, sha256(source));
  assert.deepEqual((await filesIn(sys.layout.partialDir)).filter((name) => name === upload!.storageKey), [], 'no data file left');
}

const processorWith = (state: StateStore) => createMergeProcessor({ state, storage: sys.storage, logger: pino({ level: 'silent' }) });

test('a merge job run twice, and enqueued again after it finished, leaves one correct file', async () => {
  const source = randomFile(300_000);
  const identifier = 'run-twice';
  const responses = await uploadFile(source, { urls: sys.urls, identifier, filename: 'data.bin', chunkSize: 65_536 });
  const uploadId = String(responses.at(-1)!.body!.uploadId);
  const job = (await sys.queue.getJob(mergeJobId(uploadId))) as MergeJob;
  const merge = processorWith(sys.state);

  const first = await merge(job);
  const second = await merge(job);
  assert.deepEqual(second, first, 'the second run reports the same result');
  await assertOneCorrectFile(identifier, uploadId, source);

  // A late retry of a chunk re-adding the job changes nothing either.
  const again = await sendChunk(sys.urls[0]!, source, cutChunks(source.length, 65_536)[0]!, { urls: sys.urls, identifier, filename: 'data.bin', chunkSize: 65_536 });
  assert.equal(again.status, 200);
  assert.equal(again.body?.outcome, 'already_complete');
  await merge(job);
  await assertOneCorrectFile(identifier, uploadId, source);
});

test('a merge that published its file but died before recording it: the rerun finds the file and records it', async () => {
  const source = randomFile(500_000);
  const identifier = 'published-unrecorded';
  const responses = await uploadFile(source, { urls: sys.urls, identifier, filename: 'data.bin', chunkSize: 65_536 });
  const uploadId = String(responses.at(-1)!.body!.uploadId);
  const job = (await sys.queue.getJob(mergeJobId(uploadId))) as MergeJob;
  // The first run dies right after the rename that publishes the file.
  const dying = new Proxy(sys.state, {
    get: (target, name) => (name === 'finishMerge' ? async () => { throw new Error('killed after publishing'); } : Reflect.get(target, name, target)),
  });
  await assert.rejects(processorWith(dying)(job), /killed after publishing/);
  assert.equal((await sys.readUpload(identifier))?.state, 'merging');
  assert.deepEqual(await filesIn(sys.layout.uploadFilesDir(uploadId)), ['data.bin'], 'published, not recorded');

  const result = await processorWith(sys.state)(job);
  assert.equal(result?.sha256, sha256(source));
  await assertOneCorrectFile(identifier, uploadId, source);
});

test('a worker process killed with SIGKILL mid-merge, then restarted, produces the correct file', async () => {
  const source = randomFile(256 * 1024 * 1024 + 321);
  const options: UploadOptions = { urls: sys.urls, identifier: 'sigkill-mid-merge', filename: 'data.bin', chunkSize: 1024 * 1024, body: 'octet', concurrency: 8 };
  const env = { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, MERGE_LOCK_MS: '2000', MIN_FREE_DISK: '1MB', ...NO_EARLY_MERGE };
  const responses = await uploadFile(source, options);
  const uploadId = String(responses.find((r) => r.body?.outcome === 'completed')!.body!.uploadId);

  // Freeze the worker the moment its merge begins, then kill it: it dies mid-merge.
  const firstWorker = startService('worker', env);
  await eventually(async () => (await sys.readUpload(options.identifier))?.state === 'merging', { what: 'the merge under way' });
  firstWorker.child.kill('SIGSTOP');
  const stateAtKill = (await sys.readUpload(options.identifier))?.state;
  await firstWorker.kill('SIGKILL');
  assert.equal(stateAtKill, 'merging', 'killed before the merge was recorded');

  const secondWorker = startService('worker', env);
  const upload = await sys.waitForState(options.identifier, ['complete', 'failed'], 120_000);
  assert.equal(upload.state, 'complete', upload.error);
  await assertOneCorrectFile(options.identifier, uploadId, source);
  console.log('SIGKILL mid-merge: the restarted worker produced the file');
  await secondWorker.kill('SIGTERM');
});
