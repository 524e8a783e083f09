/**
 * A large upload's merge starts with its second stored chunk and follows the contiguous
 * bytes while the rest arrive; it gives its slot back when the upload stalls or when the
 * worker already runs as many early merges as it may, and the upload is then merged once
 * complete. Every way, the file comes out byte for byte.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { eventually } from '../helpers/eventually.js';
import { startSystem, type TestSystem, type UploadView } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, type ChunkSpec, type UploadOptions } from '../helpers/upload-client.js';

const CHUNK = 256 * 1024;
const EARLY_ENV = { EARLY_MERGE_MIN_SIZE: '1MB', EARLY_MERGES_PER_WORKER: '1', MERGE_CONCURRENCY: '2' };

/** Sends `chunks` with `concurrency` in flight; every answer must be a 200. Returns the upload id. */
async function send(file: Buffer, chunks: ChunkSpec[], options: UploadOptions, concurrency = 4): Promise<string> {
  let next = 0;
  let uploadId = '';
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < chunks.length) {
        const response = await sendChunk(options.urls[next % options.urls.length]!, file, chunks[next++]!, options);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        uploadId = String(response.body!.uploadId);
      }
    }),
  );
  return uploadId;
}

async function assertMerged(sys: TestSystem, identifier: string, file: Buffer): Promise<UploadView> {
  const upload = await sys.waitForState(identifier, ['complete', 'failed']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(file), 'merged bytes equal the source');
  const left = await readdir(sys.layout.uploadFilesDir(upload.uploadId));
  assert.deepEqual(left, [path.basename(upload.path!)], 'nothing beside the merged file');
  assert.equal(await stat(sys.layout.dataFile(upload.storageKey)).catch(() => undefined), undefined, 'the data file became the merged file');
  return upload;
}

/** Waits until the merge job `jobId` is completed (an early merge that parked or ended completes its job). */
async function jobCompleted(sys: TestSystem, jobId: string): Promise<void> {
  await eventually(async () => (await (await sys.queue.getJob(jobId))?.getState()) === 'completed', { what: `job ${jobId} completed` });
}

/** Bytes an early merge has hashed while its upload still receives (its job's progress). */
async function earlyBytes(sys: TestSystem, uploadId: string): Promise<number> {
  return eventually(async () => {
    const progress = (await sys.queue.getJob(mergeJobId(uploadId)))?.progress as { bytes?: number; early?: boolean } | undefined;
    return progress?.early && (progress.bytes ?? 0) > 0 ? progress.bytes : undefined;
  }, { what: `early merge progress of ${uploadId}` }) as Promise<number>;
}

describe('early merge', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ ingestInstances: 2, worker: true, env: EARLY_ENV });
  });
  after(() => sys?.stop());

  test('appends chunks while the upload is still receiving, then merges the tail', async () => {
    const file = randomFile(24 * CHUNK + 1234);
    const options: UploadOptions = { urls: sys.urls, identifier: 'early-in-flight', chunkSize: CHUNK, filename: 'early.bin' };
    const chunks = cutChunks(file.length, CHUNK);
    const uploadId = await send(file, chunks.slice(0, 16), options);

    const job = await sys.queue.getJob(mergeJobId(uploadId));
    assert.ok(job, 'an early chunk queued the merge job');
    assert.ok((await earlyBytes(sys, uploadId)) > 0, 'the merge followed the chunks before the upload was complete');
    assert.equal((await sys.readUpload('early-in-flight'))!.state, 'receiving');
    assert.equal(await job.getState(), 'active', 'the early merge waits for the next chunks');

    await send(file, chunks.slice(16), options);
    const upload = await assertMerged(sys, 'early-in-flight', file);
    await jobCompleted(sys, mergeJobId(uploadId));
    assert.equal((await sys.queue.getJob(mergeJobId(uploadId)))!.returnvalue?.location, upload.path, 'the early job merged it');
    assert.equal(await sys.queue.getJob(mergeJobId(uploadId, true)), undefined, 'no second job');
  });

  for (const forceChunkSize of [false, true]) {
    test(`chunks in reverse, shuffled halves and duplicates (${forceChunkSize ? 'forceChunkSize' : 'default'} rounding)`, async () => {
      // A size whose floor and ceil geometries differ: the last chunk decides which one the client used.
      const file = randomFile(20 * CHUNK + Math.floor(CHUNK / 3));
      const identifier = `early-order-${forceChunkSize}`;
      const options: UploadOptions = { urls: sys.urls, identifier, chunkSize: CHUNK, forceChunkSize, body: 'octet' };
      const chunks = cutChunks(file.length, CHUNK, forceChunkSize);
      // The middle first, then the start in reverse (the merge waits for chunk 1), then the rest twice.
      await send(file, chunks.slice(8, 14), options, 3);
      await send(file, chunks.slice(0, 8).reverse(), options, 2);
      await send(file, [...chunks.slice(14), ...chunks.slice(14)], options, 6);
      await assertMerged(sys, identifier, file);
    });
  }

  // Here, not beside the stall test: with its 300 ms idle limit a loaded machine could park the one merge the limit lets run.
  test('a worker runs no more early merges at once than it may: the others park and merge once complete', async () => {
    const files = [randomFile(10 * CHUNK + 1), randomFile(10 * CHUNK + 2), randomFile(10 * CHUNK + 3)];
    const optionsOf = (i: number): UploadOptions => ({ urls: sys.urls, identifier: `early-limit-${i}`, chunkSize: CHUNK });
    // Every upload gets its first two chunks (so its early merge starts) before any completes.
    for (const [i, file] of files.entries()) await send(file, cutChunks(file.length, CHUNK).slice(0, 2), optionsOf(i), 1);
    await Promise.all(files.map((file, i) => send(file, cutChunks(file.length, CHUNK).slice(2), optionsOf(i), 2)));
    for (const [i, file] of files.entries()) await assertMerged(sys, `early-limit-${i}`, file);

    const ends = await Promise.all(files.map(async (_, i) => (await sys.readUpload(`early-limit-${i}`))!.earlyMerge));
    assert.ok(ends.includes('started'), `one upload kept its early merge (${ends.join(', ')})`);
    assert.ok(ends.filter((end) => end === 'parked').length >= 1, `the limit parked the others (${ends.join(', ')})`);
  });
});

describe('early merge giving its slot back', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, env: { ...EARLY_ENV, EARLY_MERGE_IDLE_MS: '300' } });
  });
  after(() => sys?.stop());

  test('an upload that stalls parks its early merge; once complete, a job of its own merges it', async () => {
    const file = randomFile(12 * CHUNK + 7);
    const options: UploadOptions = { urls: sys.urls, identifier: 'early-stall', chunkSize: CHUNK };
    const chunks = cutChunks(file.length, CHUNK);
    const uploadId = await send(file, chunks.slice(0, 5), options);

    await jobCompleted(sys, mergeJobId(uploadId));
    const parked = (await sys.readUpload('early-stall'))!;
    assert.equal(parked.earlyMerge, 'parked');
    assert.deepEqual(await readdir(sys.layout.uploadFilesDir(uploadId)).catch(() => []), [], 'the parked merge published nothing');
    assert.ok(await stat(sys.layout.dataFile(parked.storageKey)), "the upload's bytes stay for the merge at completion");

    await send(file, chunks.slice(5), options);
    await assertMerged(sys, 'early-stall', file);
    assert.ok(await sys.queue.getJob(mergeJobId(uploadId, true)), 'the completing chunk queued a job of its own');
  });

  test('cancelling an upload ends its early merge and leaves no file', async () => {
    const file = randomFile(12 * CHUNK);
    const options: UploadOptions = { urls: sys.urls, identifier: 'early-cancel', chunkSize: CHUNK };
    const chunks = cutChunks(file.length, CHUNK);
    const uploadId = await send(file, chunks.slice(0, 6), options);
    assert.ok((await earlyBytes(sys, uploadId)) > 0, 'the early merge started');
    const { storageKey } = (await sys.readUpload('early-cancel'))!;

    const cancelled = await fetch(`${sys.urls[0]}/uploads/early-cancel`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200);
    await jobCompleted(sys, mergeJobId(uploadId));
    assert.deepEqual(await readdir(sys.layout.uploadFilesDir(uploadId)).catch(() => []), [], 'no merged file');
    assert.equal(await stat(sys.layout.dataFile(storageKey)).catch(() => undefined), undefined, 'no data file');
    assert.equal((await sendChunk(sys.urls[0]!, file, chunks[6]!, options)).status, 404, 'later chunks are refused');
  });
});
