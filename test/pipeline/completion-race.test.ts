/**
 * Two ingest instances sharing Redis and the data folder receive the last chunks of an
 * upload at the same moment: exactly one request completes it, exactly one merge job
 * is queued, and the merged file is correct.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, type UploadOptions } from '../helpers/upload-client.js';

const ROUNDS = 50;
let sys: TestSystem;

before(async () => {
  sys = await startSystem({ ingestInstances: 2 });
});
after(() => sys?.stop());

test(`${ROUNDS} rounds of last chunks racing on two instances: one completion, one job, one correct file`, async () => {
  const [a, b] = sys.urls as [string, string];
  const files = new Map<string, Buffer>();
  for (let round = 0; round < ROUNDS; round++) {
    const file = randomFile(4096 + round * 37);
    const options: UploadOptions = { urls: sys.urls, identifier: `race-${round}`, chunkSize: 1024, filename: `race-${round}.bin` };
    const chunks = cutChunks(file.length, options.chunkSize);
    const [beforeLast, last] = chunks.slice(-2) as [(typeof chunks)[0], (typeof chunks)[0]];
    for (const chunk of chunks.slice(0, -2)) {
      assert.equal((await sendChunk(round % 2 ? a : b, file, chunk, options)).status, 200);
    }
    // Both last chunks on both instances at once: two completing candidates and two duplicates.
    const raced = await Promise.all([
      sendChunk(a, file, beforeLast, options),
      sendChunk(b, file, last, options),
      sendChunk(b, file, beforeLast, options),
      sendChunk(a, file, last, { ...options, body: 'octet' }),
    ]);
    for (const response of raced) assert.equal(response.status, 200, JSON.stringify(response.body));
    const completions = raced.filter((r) => r.body?.outcome === 'completed');
    assert.equal(completions.length, 1, `round ${round}: exactly one request completes the upload`);
    files.set(String(completions[0]!.body!.uploadId), file);
  }

  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.length, ROUNDS, 'one merge job per upload');
  assert.deepEqual(new Set(jobs.map((job) => job.id)), new Set([...files.keys()].map((uploadId) => mergeJobId(uploadId))));

  await sys.startWorker();
  for (let round = 0; round < ROUNDS; round++) {
    const upload = await sys.waitForState(`race-${round}`, ['complete', 'failed']);
    assert.equal(upload.state, 'complete', upload.error);
    const source = files.get(upload.uploadId)!;
    assert.equal(upload.sha256, sha256(source));
    assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(source));
  }
  const counts = await sys.queue.getJobCounts('completed', 'failed');
  assert.deepEqual(counts, { completed: ROUNDS, failed: 0 });
  console.log(`completion race: ${ROUNDS} rounds, ${ROUNDS} completions, ${jobs.length} merge jobs, ${counts.completed} merged`);
});
