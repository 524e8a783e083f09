/**
 * With CHUNK_FSYNC (the default) a chunk is answered, and counted, only after its bytes
 * were flushed to disk: an fsync made slow here must delay the answer, for both body
 * kinds. (formidable reports a multipart file done before its stream's fsync.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, type BodyKind } from '../helpers/upload-client.js';

const FSYNC_DELAY_MS = 400;
let sys: TestSystem;
const realFsync = fs.fsync;

before(async () => {
  sys = await startSystem();
  // fs.WriteStream's `flush` calls fs.fsync of this module before it closes the file.
  (fs as { fsync: typeof fs.fsync }).fsync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    setTimeout(() => realFsync(fd, callback), FSYNC_DELAY_MS);
  }) as typeof fs.fsync;
});
after(async () => {
  (fs as { fsync: typeof fs.fsync }).fsync = realFsync;
  await sys.stop();
});

for (const body of ['multipart', 'octet'] as BodyKind[]) {
  test(`${body === 'octet' ? 'an octet' : 'a multipart'} chunk is answered only once its bytes are flushed`, async () => {
    const file = randomFile(3 * 1024);
    const options = { urls: sys.urls, identifier: `durable-${body}`, chunkSize: 1024, body };
    const [first] = cutChunks(file.length, 1024);
    const started = performance.now();
    const response = await sendChunk(sys.urls[0]!, file, first!, options);
    const elapsed = performance.now() - started;
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok(elapsed >= FSYNC_DELAY_MS, `answered after ${elapsed.toFixed(0)} ms, before the ${FSYNC_DELAY_MS} ms fsync finished`);
  });
}
