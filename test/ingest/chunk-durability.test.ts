/**
 * With CHUNK_FSYNC (the default) a chunk is answered, and counted, only after its bytes
 * were flushed to disk: an fdatasync made slow here must delay the answer, for both body
 * kinds, and the chunk must not be counted before it returns.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, type BodyKind } from '../helpers/upload-client.js';

let sys: TestSystem;
const realFdatasync = fs.fdatasync;
let flushing: (() => void)[] = [];

before(async () => {
  sys = await startSystem();
  // Every flush waits until the test lets it go.
  (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = ((fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    flushing.push(() => realFdatasync(fd, callback));
  }) as typeof fs.fdatasync;
});
after(async () => {
  (fs as { fdatasync: typeof fs.fdatasync }).fdatasync = realFdatasync;
  await sys.stop();
});

for (const body of ['multipart', 'octet'] as BodyKind[]) {
  test(`${body === 'octet' ? 'an octet' : 'a multipart'} chunk is counted and answered only once its bytes are flushed`, async () => {
    const file = randomFile(3 * 1024);
    const identifier = `durable-${body}`;
    const options = { urls: sys.urls, identifier, chunkSize: 1024, body };
    const [first] = cutChunks(file.length, 1024);
    let answered = false;
    const response = sendChunk(sys.urls[0]!, file, first!, options).then((r) => {
      answered = true;
      return r;
    });
    // Wait for the flush to be asked for, then look: nothing is counted or answered yet.
    while (flushing.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false, 'not answered before its flush');
    assert.equal(await sys.readUpload(identifier), undefined, 'not counted before its flush');
    for (const release of flushing.splice(0)) release();
    assert.equal((await response).status, 200);
    assert.equal((await sys.readUpload(identifier))?.storedRanges, 1);
  });
}
