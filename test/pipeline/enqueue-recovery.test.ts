/**
 * An ingest that recorded the last chunk (so Redis says "queued") but died before adding
 * the merge job: the next retry of any chunk of that upload adds it, and the file merges.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { storageKeyOf, uploadFingerprint } from '../../services/core/keys.js';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { readChunkRequest } from '../../services/ingest/protocols/resumable/fields.js';
import { FieldSource } from '../../services/ingest/protocols/shared/field-source.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, protocolFields, randomFile, sendChunk, sha256, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem();
});
after(() => sys?.stop());

test('a crash between completion and enqueue is repaired by the next chunk retry', async () => {
  const file = randomFile(5 * 65_536 + 3);
  const options: UploadOptions = { urls: sys.urls, identifier: 'crashed-before-enqueue', chunkSize: 65_536, filename: 'c.bin' };
  const chunks = cutChunks(file.length, options.chunkSize);
  for (const chunk of chunks.slice(0, -1)) assert.equal((await sendChunk(sys.urls[0]!, file, chunk, options)).status, 200);

  // What the dying ingest got done: the last chunk stored and recorded, the job never added.
  const last = chunks.at(-1)!;
  const { declaration } = readChunkRequest(new FieldSource([protocolFields(file, last, options)]), 'resumable', 'resumable');
  const keyHash = sys.keyHashOf(options.identifier);
  const fingerprint = uploadFingerprint(declaration);
  const storageKey = storageKeyOf(keyHash, fingerprint);
  const pieces = await sys.storage.write(
    { storageKey, offset: last.start, length: last.end - last.start, maxLength: 1e8, keepPartial: false, durable: true },
    Readable.from([file.subarray(last.start, last.end)]),
  );
  const recorded = await sys.state.record({
    keyHash,
    declare: { uploadId: 'unused', declaration, fingerprint, identifier: options.identifier, scope: sys.config.UPLOAD_NAMESPACE, storageKey, quotaSubject: 'test' },
    ranges: pieces.map((piece) => ({ ...piece, fits: 3 })),
  });
  assert.equal(recorded.outcome, 'completed');
  assert.equal(await sys.queue.getJob(mergeJobId(recorded.uploadId)), undefined, 'no merge job yet');

  // The client never got its answer, so it sends that chunk again (to any instance).
  const retry = await sendChunk(sys.urls[0]!, file, last, options);
  assert.equal(retry.status, 200);
  assert.equal(retry.body?.outcome, 'already_complete');
  assert.ok(await sys.queue.getJob(mergeJobId(recorded.uploadId)), 'the retry added the merge job');
  await sendChunk(sys.urls[0]!, file, chunks[0]!, options);
  assert.equal((await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).length, 1, 'still one job');

  await sys.startWorker();
  const upload = await sys.waitForState(options.identifier, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(file));
});
