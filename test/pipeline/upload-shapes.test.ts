/**
 * Files of awkward sizes, sent in every order the browser libraries produce, come out
 * of the merge byte for byte: merged once complete, and merged early (every upload here
 * large enough to start merging with its first chunk, appending chunks as they arrive).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

const CHUNK = 64 * 1024;
let counter = 0;

async function uploadAndVerify(sys: TestSystem, size: number, options: Partial<UploadOptions> & { chunkSize?: number }) {
  const file = randomFile(size);
  const identifier = `${size}-shape-${counter++}`;
  const responses = await uploadFile(file, { urls: sys.urls, chunkSize: CHUNK, identifier, filename: 'data.bin', ...options });
  for (const response of responses) assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.equal(responses.filter((r) => r.body?.outcome === 'completed').length, 1, 'exactly one response completes the upload');

  const upload = await sys.waitForState(identifier, ['complete', 'failed']);
  assert.equal(upload.state, 'complete', upload.error);
  const merged = await readFile(path.join(sys.config.dataDir, upload.path!));
  assert.equal(merged.length, size);
  assert.equal(upload.sha256, sha256(file));
  assert.ok(merged.equals(file), 'merged bytes equal the source');
}

const sizes: [string, number][] = [
  ['0 B', 0],
  ['1 B', 1],
  ['exactly one chunk', CHUNK],
  ['one chunk + 1 B', CHUNK + 1],
  ['a last chunk just under twice the chunk size', 3 * CHUNK + CHUNK - 1],
  ['an exact multiple of the chunk size', 4 * CHUNK],
];

const modes: { name: string; env: Record<string, string> }[] = [
  { name: 'merged once complete', env: {} },
  { name: 'merged early', env: { EARLY_MERGE_MIN_SIZE: '1', EARLY_MERGES_PER_WORKER: '1' } },
];

for (const mode of modes) {
  describe(mode.name, () => {
    let sys: TestSystem;
    before(async () => {
      sys = await startSystem({ worker: true, env: mode.env });
    });
    after(() => sys?.stop());

    for (const order of ['in-order', 'reversed', 'shuffled'] as const) {
      describe(`chunks ${order}`, () => {
        for (const [label, size] of sizes) {
          test(`${label}, default rounding`, () => uploadAndVerify(sys, size, { order }));
          test(`${label}, forceChunkSize rounding`, () => uploadAndVerify(sys, size, { order, forceChunkSize: true }));
        }
      });
    }

    describe('duplicates and parallel requests', () => {
      for (const [label, size] of sizes) {
        test(`${label}, shuffled, every chunk twice, 16 in flight`, () =>
          uploadAndVerify(sys, size, { order: 'shuffled', duplicates: true, concurrency: 16 }));
      }
      test('about 50 MiB in 1 MiB chunks, shuffled with duplicates, 16 in flight', () =>
        uploadAndVerify(sys, 50 * 1024 * 1024 + 12_345, { chunkSize: 1024 * 1024, order: 'shuffled', duplicates: true, concurrency: 16 }));
    });

    describe('body kinds, verbs and field names', () => {
      test('octet-stream bodies', () => uploadAndVerify(sys, 5 * CHUNK + 17, { body: 'octet', order: 'shuffled', concurrency: 4 }));
      test('PUT with multipart bodies', () => uploadAndVerify(sys, 3 * CHUNK + 5, { method: 'PUT', concurrency: 3 }));
      test('PUT with octet bodies', () => uploadAndVerify(sys, 3 * CHUNK + 5, { method: 'PUT', body: 'octet' }));
      test('flow.js field names, fields in the body only', () => uploadAndVerify(sys, 4 * CHUNK + 9, { prefix: 'flow', concurrency: 3 }));
      test('flow.js field names, octet', () => uploadAndVerify(sys, 2 * CHUNK, { prefix: 'flow', body: 'octet' }));
    });
  });
}
