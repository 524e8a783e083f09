/**
 * No client can take the service from the others by volume:
 * - uploads in progress are limited per client (QUOTA_UPLOADS, QUOTA_BYTES: per token
 *   subject, or per client address without tokens); past the limit a new upload is refused
 *   with its first chunk, and nothing of it stays; other clients are not affected, and a
 *   finished upload frees its place;
 * - merges are kept fair between clients: one client's flood of completed uploads does
 *   not make another client's upload wait behind all of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

/** The test client, as seen through a proxy that names the client's address. */
const asClient = (address: string) => ({ 'x-forwarded-for': address });

describe('quotas', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ worker: true, env: { TRUST_PROXY: 'true', QUOTA_UPLOADS: '3', QUOTA_BYTES: '1MB' } });
  });
  after(() => sys?.stop());

  const startUpload = (client: string, identifier: string, size = 8192) => {
    const file = randomFile(size);
    const chunk = cutChunks(file.length, 4096)[0]!;
    return sendChunk(sys.urls[0]!, file, chunk, { urls: sys.urls, identifier, chunkSize: 4096, headers: asClient(client)  } as UploadOptions);
  };

  test('a fourth upload in progress is refused, another client is not, and finishing one frees a place', async () => {
    for (const i of [1, 2, 3]) assert.equal((await startUpload('203.0.113.1', `mine-${i}`)).status, 200);
    const fourth = await startUpload('203.0.113.1', 'mine-4');
    assert.equal(fourth.status, 400, 'stops resumable.js instead of a hundred retries');
    assert.equal((fourth.body as { error: { code: string } }).error.code, 'quota_exceeded');
    assert.equal((await sys.readUpload('mine-4'))?.state ?? 'gone', 'cancelled', 'refused at once, its bytes removed');
    assert.equal((await startUpload('198.51.100.2', 'theirs-1')).status, 200, 'another client is not affected');

    // Finishing an upload gives its place back.
    const file = randomFile(8192);
    await sendChunk(sys.urls[0]!, file, cutChunks(8192, 4096)[1]!, { urls: sys.urls, identifier: 'mine-1', chunkSize: 4096, headers: asClient('203.0.113.1')  } as UploadOptions);
    await sys.waitForState('mine-1', ['complete', 'failed']);
    assert.equal((await startUpload('203.0.113.1', 'mine-5')).status, 200);
  });

  test('bytes in progress are limited too', async () => {
    const big = await startUpload('192.0.2.7', 'big-one', 900 * 1024);
    assert.equal(big.status, 200);
    const over = await startUpload('192.0.2.7', 'one-too-many', 200 * 1024);
    assert.equal(over.status, 400);
    assert.equal((over.body as { error: { code: string } }).error.code, 'quota_exceeded');
  });
});

describe('merge fairness', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await startSystem({ env: { TRUST_PROXY: 'true', MERGE_CONCURRENCY: '1', EARLY_MERGES_PER_WORKER: '0', QUOTA_UPLOADS: '10000' } });
  });
  after(() => sys?.stop());

  test("one client's flood of small uploads does not queue in front of another client's upload", async () => {
    const FLOOD = 150;
    const flood = Array.from({ length: FLOOD }, (_, i) => i);
    await Promise.all(flood.map((i) => uploadFile(randomFile(100), { urls: sys.urls, identifier: `flood-${i}`, chunkSize: 4096, headers: asClient('203.0.113.66')  } as UploadOptions)));
    await uploadFile(randomFile(100), { urls: sys.urls, identifier: 'patient', chunkSize: 4096, headers: asClient('198.51.100.77')  } as UploadOptions);

    // One merge at a time, from now on: in what order do they come out?
    await sys.startWorker();
    await sys.waitForState('patient', ['complete']);
    const floodDone = (await Promise.all(flood.map((i) => sys.readUpload(`flood-${i}`)))).filter((upload) => upload?.state === 'complete').length;
    console.log(`merge fairness: the other client's upload merged after ${floodDone} of ${FLOOD} flood uploads`);
    assert.ok(floodDone < FLOOD / 10, `merged before most of the flood (after ${floodDone} of ${FLOOD})`);
  });
});
