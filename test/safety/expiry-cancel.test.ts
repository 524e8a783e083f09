/**
 * Abandoned uploads are swept: after UPLOAD_TTL, 0 bytes of them remain (chunks, state,
 * temp files), while a live upload is untouched. DELETE /uploads/:id cancels an upload,
 * and later chunks of it are refused with the status that stops the client.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

async function bytesUnder(dir: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  let total = 0;
  for (const name of await readdir(dir, { recursive: true }).catch(() => [] as string[])) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (info?.isFile()) total += info.size;
  }
  return total;
}

describe('expiry', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, env: { UPLOAD_TTL: '2', SWEEP_INTERVAL_MS: '250' } });
  });
  after(() => sys.stop());

  test('after UPLOAD_TTL, 0 bytes of abandoned uploads remain; a live upload is untouched', async () => {
    const abandoned = [0, 1, 2].map((i) => ({ id: `abandoned-${i}`, file: randomFile(300_000) }));
    for (const { id, file } of abandoned) {
      const options = { urls: sys.urls, identifier: id, chunkSize: 50_000 };
      for (const chunk of cutChunks(file.length, options.chunkSize).slice(0, 3)) await sendChunk(sys.urls[0]!, file, chunk, options);
    }
    // What killed processes leave: a half-written request body and a half-merged file.
    const staleBody = path.join(sys.layout.tmpDir, 'killed-request.raw');
    const staleMerge = path.join(sys.layout.filesDir, 'f'.repeat(32), '.merge-x.merging');
    await mkdir(path.dirname(staleMerge), { recursive: true });
    await writeFile(staleBody, Buffer.alloc(12_345));
    await writeFile(staleMerge, Buffer.alloc(54_321));
    const old = new Date(Date.now() - 60_000);
    await utimes(staleBody, old, old);
    await utimes(staleMerge, old, old);

    const abandonedBytes = await bytesUnder(sys.layout.chunksDir) + 12_345 + 54_321;
    const live = randomFile(200_000);
    const liveOptions: UploadOptions = { urls: sys.urls, identifier: 'live', chunkSize: 50_000 };
    const liveChunks = cutChunks(live.length, liveOptions.chunkSize);
    // The live upload sends a chunk every 1.5 s, within its 2 s TTL, for more than two TTLs.
    for (const chunk of liveChunks.slice(0, -1)) {
      await sendChunk(sys.urls[0]!, live, chunk, liveOptions);
      await sleep(1_500);
    }

    for (const { id } of abandoned) {
      assert.equal(await sys.store.readUpload(sys.keyHashOf(id)), undefined, `${id}: state expired`);
      assert.deepEqual(await readdir(sys.layout.chunkDir(sys.keyHashOf(id))).catch(() => []), [], `${id}: chunks removed`);
    }
    assert.deepEqual(await readdir(sys.layout.tmpDir), [], 'stale request body removed');
    assert.deepEqual(await readdir(path.dirname(staleMerge)), [], 'stale merge temp removed');
    const remaining = await bytesUnder(sys.layout.chunksDir) - (await bytesUnder(sys.layout.chunkDir(sys.keyHashOf('live'))));
    assert.equal(remaining, 0, '0 bytes of abandoned uploads remain');
    console.log(`expiry: ${abandonedBytes} bytes abandoned, ${remaining} bytes left after the TTL`);

    await sendChunk(sys.urls[0]!, live, liveChunks.at(-1)!, liveOptions);
    const done = await sys.waitForState('live', ['complete', 'failed']);
    assert.equal(done.sha256, sha256(live), 'the live upload merged intact');
  });
});

describe('cancel', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true });
  });
  after(() => sys.stop());

  test('DELETE removes chunks and state; later chunks and tests get 404, which stops both libraries', async () => {
    const file = randomFile(400_000);
    const options: UploadOptions = { urls: sys.urls, identifier: 'to-cancel', chunkSize: 50_000 };
    const chunks = cutChunks(file.length, options.chunkSize);
    for (const chunk of chunks.slice(0, 4)) await sendChunk(sys.urls[0]!, file, chunk, options);
    assert.ok((await readdir(sys.layout.chunkDir(sys.keyHashOf('to-cancel')))).length >= 4);

    const cancel = await fetch(`${sys.urls[0]}/uploads/to-cancel`, { method: 'DELETE' });
    assert.equal(cancel.status, 200);
    assert.deepEqual(await readdir(sys.layout.chunkDir(sys.keyHashOf('to-cancel'))).catch(() => []), [], 'chunks removed');
    assert.equal(await sys.redis.exists(sys.store.keys(sys.keyHashOf('to-cancel')).chunks), 0, 'chunk records removed');
    assert.equal((await sys.store.readUpload(sys.keyHashOf('to-cancel')))?.state, 'cancelled');

    const late = await sendChunk(sys.urls[0]!, file, chunks[5]!, options);
    assert.equal(late.status, 404);
    assert.equal((late.body as { error: { code: string } }).error.code, 'upload_cancelled');
    assert.equal(await testChunk(sys.urls[0]!, file, chunks[0]!, options), 404);
    assert.equal((await sendChunk(sys.urls[0]!, file, chunks[0]!, { ...options, prefix: 'flow' })).status, 404);
    assert.deepEqual(await readdir(sys.layout.chunkDir(sys.keyHashOf('to-cancel'))).catch(() => []), [], 'late chunks not kept');

    assert.equal((await fetch(`${sys.urls[0]}/uploads/to-cancel`, { method: 'DELETE' })).status, 200, 'cancel is idempotent');
    assert.equal((await fetch(`${sys.urls[0]}/uploads/never-was`, { method: 'DELETE' })).status, 404);
  });

  test('a complete upload cannot be cancelled', async () => {
    const file = randomFile(1000);
    await sendChunk(sys.urls[0]!, file, cutChunks(1000, 1000)[0]!, { urls: sys.urls, identifier: 'finished', chunkSize: 1000 });
    await sys.waitForState('finished', ['complete']);
    const response = await fetch(`${sys.urls[0]}/uploads/finished`, { method: 'DELETE' });
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'upload_complete');
  });
});
