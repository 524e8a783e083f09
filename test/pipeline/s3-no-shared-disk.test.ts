/**
 * Chunkyard across hosts with no shared disk: two ingest instances and a worker, each with
 * a DATA_DIR of its own, nothing shared but Redis and an S3 bucket (a real Ceph RADOS
 * Gateway). Files of awkward sizes, their chunks spread over both ingests out of order,
 * duplicated and with the last chunks raced: every published object is byte for byte the
 * file, each merged exactly once, given as bucket and key; a large upload assembles while it
 * arrives; a cancelled upload's objects go; and no DATA_DIR holds any upload's bytes.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { listObjects } from '../../services/storage/s3/s3-sweep.js';
import { startS3, type S3Target } from '../helpers/s3-system.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile, type UploadOptions } from '../helpers/upload-client.js';

let s3: S3Target;
let sys: TestSystem;
before(async () => {
  s3 = await startS3();
  sys = await startSystem({
    ingestInstances: 2,
    worker: true,
    dataDirPerProcess: true,
    env: { ...s3.env, EARLY_MERGE_MIN_SIZE: '16MB', EARLY_MERGES_PER_WORKER: '1', MERGE_CONCURRENCY: '3' },
  });
});
after(async () => {
  await sys?.stop();
  await s3?.rgw.stop();
});

const MiB = 1024 * 1024;

async function assertPublished(identifier: string, file: Buffer) {
  const upload = await sys.waitForState(identifier, ['complete', 'failed'], 120_000);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await sys.readPublished(upload)).equals(file), `${identifier}: the object holds the file`);
  const status = (await (await fetch(`${sys.urls[1]}/uploads/${identifier}`)).json()) as Record<string, unknown>;
  assert.equal(status.bucket, s3.bucket);
  assert.match(String(status.key), new RegExp(`^uploads/files/${upload.uploadId}/`));
  assert.equal(status.path, null);
  return upload;
}

test('chunks over two hosts, out of order, duplicated and raced: every object exact, one merge each', async () => {
  const shapes: [string, number, boolean][] = [
    ['empty', 0, false], ['one-byte', 1, false], ['exact-multiple', 4 * MiB, false], ['floor-tail', 3 * MiB + 777, false],
    ['ceil-tail', 5 * MiB + 1, true], ['multipart', 2 * MiB + 5, false],
  ];
  const files = new Map<string, Buffer>();
  await Promise.all(shapes.map(async ([identifier, size, forceChunkSize]) => {
    const file = randomFile(size);
    files.set(identifier, file);
    const options: UploadOptions = {
      urls: sys.urls, identifier, chunkSize: MiB, forceChunkSize, order: 'shuffled', duplicates: true, concurrency: 4,
      body: identifier === 'multipart' ? 'multipart' : 'octet', filename: `${identifier}.bin`,
    };
    const responses = await uploadFile(file, options);
    assert.ok(responses.every((r) => r.status === 200), `${identifier}: ${JSON.stringify(responses.find((r) => r.status !== 200))}`);
    assert.equal(responses.filter((r) => r.body?.outcome === 'completed').length, 1, `${identifier}: one completion`);
  }));
  for (const [identifier, file] of files) {
    const upload = await assertPublished(identifier, file);
    assert.ok(await sys.queue.getJob(mergeJobId(upload.uploadId)), `${identifier}: one merge job`);
  }
  const jobs = await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(jobs.length, files.size, 'exactly one merge job per upload');

  // The last chunks of one upload raced on both hosts at once.
  const raced = randomFile(6 * MiB + 99);
  const options: UploadOptions = { urls: sys.urls, identifier: 'raced', chunkSize: MiB, body: 'octet' };
  const chunks = cutChunks(raced.length, MiB);
  for (const chunk of chunks.slice(0, -2)) assert.equal((await sendChunk(sys.urls[0]!, raced, chunk, options)).status, 200);
  const [a, b] = sys.urls as [string, string];
  const answers = await Promise.all([
    sendChunk(a, raced, chunks.at(-2)!, options), sendChunk(b, raced, chunks.at(-1)!, options),
    sendChunk(b, raced, chunks.at(-2)!, options), sendChunk(a, raced, chunks.at(-1)!, options),
  ]);
  assert.equal(answers.filter((r) => r.body?.outcome === 'completed').length, 1, 'one completion');
  await assertPublished('raced', raced);
});

test('a large upload assembles while it arrives: its merge job uploads parts before the last chunk', async () => {
  const file = randomFile(40 * MiB + 3);
  const options: UploadOptions = { urls: sys.urls, identifier: 'assembles-early', chunkSize: MiB, body: 'octet', concurrency: 4 };
  const chunks = cutChunks(file.length, MiB);
  let uploadId = '';
  for (const chunk of chunks.slice(0, 30)) uploadId = String((await sendChunk(sys.urls[0]!, file, chunk, options)).body!.uploadId);
  const progress = async () => ((await sys.queue.getJob(mergeJobId(uploadId)))?.progress as { early?: boolean; bytes?: number } | undefined);
  const { eventually } = await import('../helpers/eventually.js');
  const early = await eventually(progress, { accept: (p) => Boolean(p?.early && (p.bytes ?? 0) >= 16 * MiB), what: 'parts assembled while receiving' });
  console.log(`s3 early assembly: ${early!.bytes} of ${file.length} bytes assembled before the last chunk`);
  for (const chunk of chunks.slice(30)) assert.equal((await sendChunk(sys.urls[1]!, file, chunk, options)).status, 200);
  await assertPublished('assembles-early', file);
});

test('a cancelled upload loses its objects; no host keeps any upload bytes locally', async () => {
  const file = randomFile(3 * MiB);
  const options: UploadOptions = { urls: sys.urls, identifier: 'cancelled-on-s3', chunkSize: MiB, body: 'octet' };
  for (const chunk of cutChunks(file.length, MiB).slice(0, 2)) assert.equal((await sendChunk(sys.urls[0]!, file, chunk, options)).status, 200);
  const { storageKey } = (await sys.readUpload('cancelled-on-s3'))!;
  const driver = sys.storage as import('../../services/storage/s3/s3-driver.js').S3Driver;
  assert.equal((await listObjects(driver.client, s3.bucket, driver.keys.rangesOf(storageKey))).length, 2);
  assert.equal((await fetch(`${sys.urls[1]}/uploads/cancelled-on-s3`, { method: 'DELETE' })).status, 200);
  assert.equal((await listObjects(driver.client, s3.bucket, driver.keys.rangesOf(storageKey))).length, 0, 'objects removed');

  for (const dir of (await readdir(sys.sandbox)).filter((name) => name.startsWith('data-'))) {
    const leftovers = (await readdir(path.join(sys.sandbox, dir), { recursive: true })).filter((name) => !['partial', 'files', 'tmp'].includes(name));
    assert.deepEqual(leftovers, [], `${dir} holds no upload bytes`);
  }
});
