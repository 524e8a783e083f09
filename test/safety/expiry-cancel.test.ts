/**
 * Abandoned uploads are swept: once their state expires (UPLOAD_TTL without new data),
 * 0 bytes of them remain, while a live upload is untouched. DELETE /uploads/:id cancels an
 * upload: its bytes, state and quota go, data still in flight is refused with the status
 * that stops the client, and after a grace period the id is free for a new upload.
 */
import assert from 'node:assert/strict';
import { stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { uploadKeys } from '../../services/state/redis-keys.js';
import { eventually } from '../helpers/eventually.js';
import { namesIn, startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, type UploadOptions } from '../helpers/upload-client.js';

describe('expiry', () => {
  let sys: TestSystem;
  before(async () => {
    // Requests may last 1 s, so bytes nothing owns may go 1 s after they were last touched.
    sys = await startSystem({ worker: true, env: { UPLOAD_TTL: '2', SWEEP_INTERVAL_MS: '250', REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000', SWEEP_GRACE_MS: '0' } });
  });
  after(() => sys?.stop());

  test('once their state expires, 0 bytes of abandoned uploads remain; a live upload is untouched', async () => {
    const abandoned = [0, 1, 2].map((i) => ({ id: `abandoned-${i}`, file: randomFile(300_000) }));
    for (const { id, file } of abandoned) {
      const options = { urls: sys.urls, identifier: id, chunkSize: 50_000 };
      for (const chunk of cutChunks(file.length, options.chunkSize).slice(0, 3)) await sendChunk(sys.urls[0]!, file, chunk, options);
    }
    const abandonedKeys = await Promise.all(abandoned.map(async ({ id }) => (await sys.readUpload(id))!.storageKey));
    // What a killed process leaves: a readiness probe it never removed.
    const staleProbe = path.join(sys.layout.tmpDir, '.ready-killed');
    await writeFile(staleProbe, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(staleProbe, old, old);

    // A live upload keeps sending, as a client does, a chunk well within each TTL.
    const live = randomFile(200_000);
    const liveOptions: UploadOptions = { urls: sys.urls, identifier: 'live', chunkSize: 20_000 };
    const liveChunks = cutChunks(live.length, liveOptions.chunkSize);
    let sent = 0;
    const keepSending = (async () => {
      for (; sent < liveChunks.length - 1; sent++) {
        assert.equal((await sendChunk(sys.urls[0]!, live, liveChunks[sent]!, liveOptions)).status, 200);
        await sleep(400);
      }
    })();

    await eventually(async () => {
      const states = await Promise.all(abandoned.map(({ id }) => sys.readUpload(id)));
      const files = (await namesIn(sys.layout.partialDir)).filter((name) => abandonedKeys.includes(name));
      return states.every((upload) => upload === undefined) && files.length === 0 && !(await namesIn(sys.layout.tmpDir)).includes('.ready-killed');
    }, { what: 'abandoned uploads expired and swept' });
    console.log(`expiry: ${abandoned.length} abandoned uploads expired and swept while the live one sent ${sent} chunks`);
    await keepSending;

    assert.ok(await stat(sys.layout.dataFile((await sys.readUpload('live'))!.storageKey)), 'the live upload kept its bytes');
    await sendChunk(sys.urls[0]!, live, liveChunks.at(-1)!, liveOptions);
    const done = await sys.waitForState('live', ['complete', 'failed']);
    assert.equal(done.sha256, sha256(live), 'the live upload merged intact');
  });
});

describe('cancel', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, ingestInstances: 2, env: { CANCEL_GRACE_MS: '1500' } });
  });
  after(() => sys?.stop());

  test('DELETE removes bytes and state; data in flight gets 404, which stops both libraries; then the id is free again', async () => {
    const [a, b] = sys.urls as [string, string];
    const file = randomFile(400_000);
    const options: UploadOptions = { urls: sys.urls, identifier: 'to-cancel', chunkSize: 50_000 };
    const chunks = cutChunks(file.length, options.chunkSize);
    // Chunks through both instances, so both remember the upload.
    for (const [i, chunk] of chunks.slice(0, 4).entries()) await sendChunk(i % 2 ? a : b, file, chunk, options);
    const { storageKey } = (await sys.readUpload('to-cancel'))!;
    assert.ok(await stat(sys.layout.dataFile(storageKey)));

    const cancel = await fetch(`${a}/uploads/to-cancel`, { method: 'DELETE' });
    assert.equal(cancel.status, 200);
    assert.equal(await stat(sys.layout.dataFile(storageKey)).catch(() => undefined), undefined, 'bytes removed');
    assert.equal(await sys.redis.exists(uploadKeys(sys.config.REDIS_PREFIX, sys.keyHashOf('to-cancel')).ranges), 0, 'range records removed');
    assert.equal((await sys.readUpload('to-cancel'))?.state, 'cancelled');

    const late = await sendChunk(b, file, chunks[5]!, options);
    assert.equal(late.status, 404);
    assert.equal((late.body as { error: { code: string } }).error.code, 'upload_cancelled');
    assert.equal(await testChunk(a, file, chunks[0]!, options), 404);
    assert.equal((await sendChunk(a, file, chunks[0]!, { ...options, prefix: 'flow' })).status, 404);
    assert.equal((await fetch(`${a}/uploads/to-cancel`, { method: 'DELETE' })).status, 200, 'cancel is idempotent');
    assert.equal((await fetch(`${a}/uploads/never-was`, { method: 'DELETE' })).status, 404);

    // After the grace period a new upload may start under the id, on either instance.
    const cancelledId = (await sys.readUpload('to-cancel'))!.uploadId;
    const restarted = await eventually(() => sendChunk(b, file, chunks[0]!, options), { accept: (response) => response.status === 200, what: 'the id free again' });
    assert.notEqual(restarted.body?.uploadId, cancelledId, 'a new upload');
    for (const chunk of chunks.slice(1)) assert.equal((await sendChunk(a, file, chunk, options)).status, 200);
    const done = await sys.waitForState('to-cancel', ['complete', 'failed']);
    assert.equal(done.sha256, sha256(file), 'the new upload under the cancelled id completes');
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
