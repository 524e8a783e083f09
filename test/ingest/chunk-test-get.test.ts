/**
 * The test GET answers from Redis: 200 when the chunk is stored, 204 when not, 200 for
 * every chunk once the upload is complete, and 400 when the metadata contradicts it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, testChunk, type UploadOptions } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem();
});
after(() => sys?.stop());

test('GET reports stored chunks with 200 and missing ones with 204, then 200 after completion', async () => {
  const file = randomFile(10_000);
  const options: UploadOptions = { urls: sys.urls, identifier: 'get-test', chunkSize: 1000 };
  const chunks = cutChunks(file.length, options.chunkSize);
  const url = sys.urls[0]!;

  for (const chunk of chunks) assert.equal(await testChunk(url, file, chunk, options), 204);
  for (const chunk of chunks.filter((c) => c.number % 2 === 0)) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
  for (const chunk of chunks) {
    assert.equal(await testChunk(url, file, chunk, options), chunk.number % 2 === 0 ? 200 : 204, `chunk ${chunk.number}`);
  }
  assert.equal(await testChunk(url, file, chunks[1]!, { ...options, prefix: 'flow' }), 200, 'flow.js names too');
  assert.equal(await testChunk(url, file, chunks[1]!, { ...options, filename: 'other.bin' }), 400, 'metadata conflict');

  for (const chunk of chunks.filter((c) => c.number % 2 === 1)) await sendChunk(url, file, chunk, options);
  await sys.startWorker();
  await sys.waitForState('get-test', ['complete']);
  for (const chunk of chunks) assert.equal(await testChunk(url, file, chunk, options), 200, `chunk ${chunk.number} after merge`);
});
