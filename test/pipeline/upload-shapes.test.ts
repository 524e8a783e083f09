/**
 * Files of awkward sizes, sent in every order the browser libraries produce, come out
 * of the merge byte for byte.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

const CHUNK = 64 * 1024;
let sys: TestSystem;
let counter = 0;

before(async () => {
  sys = await startSystem({ worker: true });
});
after(() => sys.stop());

async function uploadAndVerify(size: number, options: Partial<UploadOptions> & { chunkSize?: number }) {
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

for (const order of ['in-order', 'reversed', 'shuffled'] as const) {
  describe(`chunks ${order}`, () => {
    for (const [label, size] of sizes) {
      test(`${label}, default rounding`, () => uploadAndVerify(size, { order }));
      test(`${label}, forceChunkSize rounding`, () => uploadAndVerify(size, { order, forceChunkSize: true }));
    }
  });
}

describe('duplicates and parallel requests', () => {
  for (const [label, size] of sizes) {
    test(`${label}, shuffled, every chunk twice, 16 in flight`, () =>
      uploadAndVerify(size, { order: 'shuffled', duplicates: true, concurrency: 16 }));
  }
  test('about 50 MiB in 1 MiB chunks, shuffled with duplicates, 16 in flight', () =>
    uploadAndVerify(50 * 1024 * 1024 + 12_345, { chunkSize: 1024 * 1024, order: 'shuffled', duplicates: true, concurrency: 16 }));
});

describe('body kinds, verbs and field names', () => {
  test('octet-stream bodies', () => uploadAndVerify(5 * CHUNK + 17, { body: 'octet', order: 'shuffled', concurrency: 4 }));
  test('PUT with multipart bodies', () => uploadAndVerify(3 * CHUNK + 5, { method: 'PUT', concurrency: 3 }));
  test('PUT with octet bodies', () => uploadAndVerify(3 * CHUNK + 5, { method: 'PUT', body: 'octet' }));
  test('flow.js field names, fields in the body only', () => uploadAndVerify(4 * CHUNK + 9, { prefix: 'flow', concurrency: 3 }));
  test('flow.js field names, octet', () => uploadAndVerify(2 * CHUNK, { prefix: 'flow', body: 'octet' }));
});
