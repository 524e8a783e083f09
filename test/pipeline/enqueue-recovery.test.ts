/**
 * An ingest that recorded the last chunk (so Redis says "queued") but died before adding
 * the merge job: the next retry of any chunk of that upload adds it, and the file merges.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseChunkRequest } from '../../services/ingest/chunk-request.js';
import { mergeJobId } from '../../services/shared/merge-job.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, protocolFields, randomFile, sendChunk, sha256, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem();
});
after(() => sys.stop());

test('a crash between completion and enqueue is repaired by the next chunk retry', async () => {
  const file = randomFile(5 * 65_536 + 3);
  const options: UploadOptions = { urls: sys.urls, identifier: 'crashed-before-enqueue', chunkSize: 65_536, filename: 'c.bin' };
  const chunks = cutChunks(file.length, options.chunkSize);
  for (const chunk of chunks.slice(0, -1)) assert.equal((await sendChunk(sys.urls[0]!, file, chunk, options)).status, 200);

  // What the dying ingest got done: the last chunk on disk and recorded, the job never added.
  const last = chunks.at(-1)!;
  const request = parseChunkRequest([protocolFields(file, last, options)], { maxFileSize: 1e9, maxChunkSize: 1e8, maxChunks: 1e5 }, sys.config.UPLOAD_NAMESPACE);
  const chunkFile = `${last.number}.${'a'.repeat(12)}`;
  await mkdir(sys.layout.chunkDir(request.keyHash), { recursive: true });
  await writeFile(sys.layout.chunkPath(request.keyHash, chunkFile), file.subarray(last.start, last.end));
  const recorded = await sys.store.recordChunk({
    keyHash: request.keyHash, chunkNumber: last.number, chunkFile, modeMask: request.modeMask, fingerprint: request.fingerprint,
    candidateUploadId: 'unused', floorCount: request.floorCount, ceilCount: request.ceilCount,
    metadata: { totalSize: file.length, chunkSize: options.chunkSize, filename: 'c.bin', relativePath: 'c.bin', type: 'application/octet-stream', identifier: options.identifier, scope: request.scope },
  });
  assert.equal(recorded.outcome, 'completed');
  assert.equal(await sys.queue.getJob(mergeJobId(recorded.uploadId)), undefined, 'no merge job yet');

  // The client never got its answer, so it sends that chunk again (to any instance).
  const retry = await sendChunk(sys.urls[0]!, file, last, options);
  assert.equal(retry.status, 200);
  assert.equal(retry.body?.outcome, 'already_complete');
  assert.ok(await sys.queue.getJob(mergeJobId(recorded.uploadId)), 'the retry added the merge job');
  await sendChunk(sys.urls[0]!, file, chunks[0]!, options);
  assert.equal((await sys.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).length, 1, 'still one job');

  await sys.startWorker();
  const upload = await sys.waitForState(options.identifier, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(file));
});
