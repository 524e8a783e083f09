/**
 * Faults on S3 (a real Ceph RADOS Gateway), ingests and workers each with a DATA_DIR of
 * their own, nothing shared but Redis and the bucket:
 * - a worker SIGKILLed mid-merge of two large uploads (one merged from streamed parts, one
 *   from server-side copies): the next worker publishes each byte for byte, merged once,
 *   and aborts the multipart uploads the killed one left;
 * - an ingest SIGKILLed while chunk bodies stream into S3: the client's retries finish the
 *   upload on the other ingest;
 * - the object store down (radosgw stopped: connections refused) or hanging (radosgw
 *   paused: the kernel accepts connections, nothing answers): a chunk gets a 503 with the
 *   JSON error within S3_TIMEOUT_MS, never a hang or a 500, and /readyz on the ingest's
 *   operations port says the storage is not ready; once it is back, the client's retry
 *   completes the upload, once. A cancel meanwhile is a 503 too, and its retry removes the
 *   objects;
 * - an early merge ended by a cancel aborts its multipart upload at once;
 * - abandoned uploads expire and the scheduled sweep removes their range objects.
 * After each, the sweep leaves no multipart upload and no range object in the bucket.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { listObjects } from '../../services/storage/s3/s3-sweep.js';
import type { S3Driver } from '../../services/storage/s3/s3-driver.js';
import { eventually } from '../helpers/eventually.js';
import { killAll, startService, type ServiceProcess } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';
import { startS3, type S3Target } from '../helpers/s3-system.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, testChunk, uploadFile, type ChunkResponse, type UploadOptions } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
/** The ingests' S3 deadline: short, so a hanging store costs seconds; clients must have their 503 within it (plus slack for a busy machine). */
const S3_TIMEOUT_MS = 5_000;
let s3: S3Target;
let sys: TestSystem;
let driver: S3Driver;

before(async () => {
  s3 = await startS3();
  sys = await startSystem({
    ingestInstances: 2,
    dataDirPerProcess: true,
    env: { ...s3.env, S3_TIMEOUT_MS: String(S3_TIMEOUT_MS), EARLY_MERGE_MIN_SIZE: '16MB', EARLY_MERGES_PER_WORKER: '1' },
  });
  driver = sys.storage as S3Driver;
});
let shared: ServiceProcess | undefined;
after(async () => {
  await shared?.kill('SIGTERM');
  killAll();
  await sys?.stop();
  await s3?.rgw.stop();
});

let processes = 0;
/** The settings of one more process on a host of its own: the bucket, Redis, and a DATA_DIR nobody else has. */
function hostEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...s3.env, REDIS_URL: sys.redisServer.url, DATA_DIR: path.join(sys.sandbox, `host-${++processes}`), HOST: '127.0.0.1',
    // A killed worker's merge is taken over once its lock lapses; not shorter, or a busy
    // machine makes live merges miss their lock renewals and count as stalled too.
    MERGE_LOCK_MS: '4000', EARLY_MERGE_MIN_SIZE: '16MB', ...extra,
  };
}

const READY_LOG = { ingest: 'ingest listening', worker: 'worker ready' } as const;

/** A service process on a host of its own, once ready; stopped when `t` ends, whatever its outcome (else with the file). */
async function startHost(service: 'ingest' | 'worker', extra: Record<string, string> = {}, t?: TestContext): Promise<ServiceProcess> {
  const started = startService(service, hostEnv(extra));
  t?.after(() => started.kill('SIGTERM'));
  await started.waitForLog(READY_LOG[service], 60_000);
  return started;
}

/** The worker of every test that does not kill it: started once, by the first that needs it. */
async function sharedWorker(): Promise<ServiceProcess> {
  if (!shared || shared.child.exitCode !== null || shared.child.signalCode !== null) shared = await startHost('worker');
  return shared;
}

/** The worker processes logged a merge of the upload exactly once (just after its result was recorded). */
async function assertMergedOnce(uploadId: string, ...workers: ServiceProcess[]) {
  const merges = () => workers.flatMap((worker) => worker.logs).filter((line) => line.msg === 'merged' && line.uploadId === uploadId).length;
  await eventually(() => merges() > 0, { what: `the merge of ${uploadId} logged` });
  assert.equal(merges(), 1, `${uploadId}: merged exactly once`);
}

async function multipartUploads(): Promise<{ key: string; uploadId: string }[]> {
  const listed = await driver.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
  return (listed.Uploads ?? []).map((upload) => ({ key: upload.Key!, uploadId: upload.UploadId! }));
}

const rangeObjects = async (storageKey = '') => (await listObjects(driver.client, s3.bucket, `${driver.keys.rangesRoot}${storageKey}`)).map((o) => o.key);
const publishedObjects = async (uploadId: string) => (await listObjects(driver.client, s3.bucket, `${driver.keys.filesRoot}${uploadId}/`)).map((o) => o.key);

async function assertPublished(identifier: string, file: Buffer, name: string) {
  const upload = await sys.waitForState(identifier, ['complete', 'failed'], 120_000);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(file));
  assert.ok((await sys.readPublished(upload)).equals(file), `${identifier}: the object holds the file, byte for byte`);
  assert.deepEqual(await publishedObjects(upload.uploadId), [`${driver.keys.filesRoot}${upload.uploadId}/${name}`], `${identifier}: one published object`);
  return upload;
}

/** What every failure path must leave once the sweep has run: no multipart upload, no range object. */
async function assertNothingLeftAfterSweep() {
  await sys.sweep();
  assert.deepEqual(await multipartUploads(), [], 'no incomplete multipart upload');
  assert.deepEqual(await rangeObjects(), [], 'no range object');
}

const chunksCompleted = (responses: ChunkResponse[]) => responses.filter((r) => r.body?.outcome === 'completed').length;

test('a worker SIGKILLed mid-merge of two large uploads (streamed parts, server-side copies): the next one publishes each once, byte for byte, and aborts the multipart uploads the killed one left', async (t) => {
  // 1 MiB chunks are streamed into 5 MiB parts; 6 MiB ones are copied into parts by S3 itself.
  const uploads = [{ identifier: 'killed-streamed', chunkSize: MiB }, { identifier: 'killed-copied', chunkSize: 6 * MiB }].map((upload) => ({ ...upload, file: randomFile(24 * MiB + 11) }));
  await Promise.all(uploads.map(async ({ identifier, chunkSize, file }) => {
    const responses = await uploadFile(file, { urls: sys.urls, identifier, chunkSize, body: 'octet', concurrency: 4, filename: 'big.bin' });
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(chunksCompleted(responses), 1);
  }));
  const uploadIds = await Promise.all(uploads.map(async ({ identifier }) => (await sys.readUpload(identifier))!.uploadId));
  const theirs = async () => (await multipartUploads()).filter((u) => uploadIds.some((id) => u.key.includes(id)));

  const victim = await startHost('worker', {}, t);
  // Noted too: a multipart upload created but not yet noted when the worker dies is the sweep's to abort, not the rerun's.
  const noted = async () => (await Promise.all(uploads.map(async ({ identifier }) => (await sys.readUpload(identifier))?.assembly))).every(Boolean);
  const left = await eventually(async () => ((await noted()) ? theirs() : []), { accept: (listed) => listed.length === 2, what: 'both merges under way, each with its multipart upload noted' });
  // radosgw paused, the merges hold still where they are: the kill lands mid-merge on any machine.
  await s3.rgw.pauseGateway();
  try {
    await victim.kill('SIGKILL');
  } finally {
    await s3.rgw.resumeGateway();
  }
  for (const { identifier } of uploads) assert.equal((await sys.readUpload(identifier))?.state, 'merging', `${identifier}: killed mid-merge`);
  assert.deepEqual(await theirs(), left, "the killed merges' multipart uploads are left");

  const rescuer = await sharedWorker();
  for (const [i, { identifier, file }] of uploads.entries()) {
    await assertPublished(identifier, file, 'big.bin');
    await eventually(async () => (await (await sys.queue.getJob(mergeJobId(uploadIds[i]!)))?.getState()) === 'completed', { what: `${identifier}: the merge job completed` });
    await assertMergedOnce(uploadIds[i]!, victim, rescuer);
  }
  // The reruns aborted what the killed attempts left, without waiting for the sweep.
  assert.deepEqual(await multipartUploads(), [], "the killed merges' multipart uploads aborted by the reruns");
  assert.deepEqual(await rangeObjects(), [], 'the merged uploads keep no range objects');
  await assertNothingLeftAfterSweep();
});

test('an ingest SIGKILLed while chunks stream into S3: the retries finish the upload on the other one, byte for byte', async (t) => {
  const port = await freePort();
  const [victim, worker] = await Promise.all([startHost('ingest', { PORT: String(port), OPS_PORT: '0' }, t), sharedWorker()]);

  const identifier = 'ingest-killed-s3';
  const file = randomFile(12 * MiB + 7);
  const chunks = cutChunks(file.length, 256 * 1024).length;
  const uploading = uploadFile(file, {
    // The killed ingest and one in this process, as a load balancer would spread them.
    urls: [`http://127.0.0.1:${port}`, sys.urls[0]!], identifier, chunkSize: 256 * 1024,
    body: 'octet', trickle: true, order: 'shuffled', concurrency: 8, retries: 20, filename: 'i.bin',
  });
  let finished = false;
  void uploading.then(() => (finished = true), () => (finished = true));
  const storedAtKill = await eventually(async () => {
    const stored = (await sys.readUpload(identifier))?.storedRanges ?? 0;
    return stored >= 12 ? stored : undefined;
  }, { what: 'the upload under way' });
  await victim.kill('SIGKILL');
  assert.equal(finished, false, 'killed mid-upload');
  const responses = await uploading;
  assert.ok(responses.every((r) => r.status === 200), 'every chunk acknowledged in the end');
  assert.equal(chunksCompleted(responses), 1);

  const upload = await assertPublished(identifier, file, 'i.bin');
  await assertMergedOnce(upload.uploadId, worker);
  console.log(`s3 ingest SIGKILL: killed with ${storedAtKill} of ${chunks} chunks stored; the retries completed the upload`);
  await assertNothingLeftAfterSweep();
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

interface ReadyAnswer {
  status: number;
  body: { status: string; checks: Record<string, string | boolean> };
}

async function readyz(url: string): Promise<ReadyAnswer> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyAnswer['body'] };
}

const outages = [
  { fault: 'down (radosgw stopped)', begin: () => s3.rgw.stopGateway(), end: () => s3.rgw.startGateway(), reasons: ['object store unreachable'] },
  // The health check gives up on a check after 2 s (no answer), before HeadBucket's own 3 s.
  { fault: 'hanging (radosgw paused)', begin: () => s3.rgw.pauseGateway(), end: () => s3.rgw.resumeGateway(), reasons: ['no answer', 'object store unreachable'] },
];

for (const outage of outages) {
  test(`the object store ${outage.fault}: 503 within S3_TIMEOUT_MS and not ready; back: the retry completes the upload once`, async () => {
    const worker = await sharedWorker();
    const [url, other] = sys.urls as [string, string];
    const identifier = `outage-${outages.indexOf(outage)}`;
    const file = randomFile(4 * MiB + 5);
    const options: UploadOptions = { urls: sys.urls, identifier, chunkSize: MiB, body: 'octet', filename: 'o.bin' };
    const chunks = cutChunks(file.length, options.chunkSize);
    const stored = chunks.filter((c) => c.number % 2 === 1);
    for (const chunk of stored) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
    assert.equal((await readyz(sys.opsUrls[0]!)).body.checks.storage, 'ok');

    await outage.begin();
    try {
      const post = await timed(() => sendChunk(url, file, chunks[1]!, options));
      console.log(`object store ${outage.fault}: chunk POST ${post.value.status} in ${post.ms.toFixed(0)} ms`);
      assert.equal(post.value.status, 503, JSON.stringify(post.value.body));
      const { error } = post.value.body as { error: { code: string; message: string } };
      assert.equal(error.code, 'service_unavailable');
      assert.match(error.message, /retry/);
      assert.ok(post.ms < S3_TIMEOUT_MS + 2_000, `answered within S3_TIMEOUT_MS (${post.ms.toFixed(0)} ms)`);

      // The instance's own operations port (what an orchestrator probes), and the upload port.
      for (const ready of await Promise.all([sys.opsUrls[0]!, url].map((base) => timed(() => readyz(base))))) {
        assert.equal(ready.value.status, 503);
        assert.equal(ready.value.body.status, 'not ready');
        assert.equal(ready.value.body.checks.redis, 'ok');
        assert.ok(outage.reasons.includes(String(ready.value.body.checks.storage)), `a short reason, not the SDK's words: ${ready.value.body.checks.storage}`);
        assert.ok(ready.ms < 5_000, `/readyz answered in ${ready.ms.toFixed(0)} ms`);
      }
      // What the client asks of Redis alone still gets answers: the page resumes from them afterwards.
      assert.equal(await testChunk(other, file, chunks[0]!, options), 200, 'a stored chunk');
      assert.equal(await testChunk(other, file, chunks[1]!, options), 204, 'the refused chunk is not counted');
    } finally {
      await outage.end();
    }

    await eventually(async () => (await readyz(sys.opsUrls[0]!)).status === 200, { what: 'ready again' });
    const rest = await Promise.all(chunks.filter((c) => c.number % 2 === 0).map((chunk, i) => sendChunk(sys.urls[i % 2]!, file, chunk, options)));
    assert.ok(rest.every((r) => r.status === 200), JSON.stringify(rest.find((r) => r.status !== 200)));
    assert.equal(chunksCompleted(rest), 1, 'one completion');
    const upload = await assertPublished(identifier, file, 'o.bin');
    await assertMergedOnce(upload.uploadId, worker);
    await assertNothingLeftAfterSweep();
  });
}

test('a cancel while the object store is down is a 503; its retry once it is back removes the objects', async () => {
  const url = sys.urls[0]!;
  const identifier = 'cancel-in-outage';
  const file = randomFile(3 * MiB);
  const options: UploadOptions = { urls: sys.urls, identifier, chunkSize: MiB, body: 'octet' };
  for (const chunk of cutChunks(file.length, MiB).slice(0, 2)) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
  const { storageKey } = (await sys.readUpload(identifier))!;
  assert.equal((await rangeObjects(storageKey)).length, 2);

  await s3.rgw.stopGateway();
  let cancel: Response;
  try {
    cancel = await fetch(`${url}/uploads/${identifier}`, { method: 'DELETE' });
  } finally {
    await s3.rgw.startGateway();
  }
  assert.equal(cancel.status, 503);
  assert.equal(((await cancel.json()) as { error: { code: string } }).error.code, 'service_unavailable');

  const retried = await fetch(`${sys.urls[1]}/uploads/${identifier}`, { method: 'DELETE' });
  assert.equal(retried.status, 200);
  assert.equal((await sys.readUpload(identifier))?.state, 'cancelled');
  assert.deepEqual(await rangeObjects(storageKey), [], 'the objects removed by the retry');
  await assertNothingLeftAfterSweep();
});

test('an early merge ended by a cancel aborts its multipart upload at once; the objects go', async () => {
  const worker = await sharedWorker();
  const identifier = 'cancelled-early';
  const file = randomFile(20 * MiB);
  const options: UploadOptions = { urls: sys.urls, identifier, chunkSize: MiB, body: 'octet' };
  const chunks = cutChunks(file.length, MiB);
  for (const [i, chunk] of chunks.slice(0, 8).entries()) assert.equal((await sendChunk(sys.urls[i % 2]!, file, chunk, options)).status, 200);
  const { uploadId, storageKey } = (await sys.readUpload(identifier))!;
  await eventually(async () => (await multipartUploads()).some((u) => u.key.includes(uploadId)), { what: 'the early merge holds a multipart upload' });

  assert.equal((await fetch(`${sys.urls[1]}/uploads/${identifier}`, { method: 'DELETE' })).status, 200);
  await eventually(async () => !(await multipartUploads()).some((u) => u.key.includes(uploadId)), { what: 'the early merge aborted its multipart upload' });
  assert.deepEqual(await rangeObjects(storageKey), [], 'range objects removed');
  assert.deepEqual(await publishedObjects(uploadId), [], 'nothing published');
  assert.ok(!worker.logs.some((line) => line.msg === 'merged' && line.uploadId === uploadId), 'never merged');
  await assertNothingLeftAfterSweep();
});

test('abandoned uploads expire and the scheduled sweep removes their range objects; a published file stays', async () => {
  // A system of its own (its own Redis, its own key prefix in the bucket): uploads expire after
  // 2 s, and bytes nothing owns may go 1 s after they were last written.
  const expiry = await startSystem({
    worker: true,
    dataDirPerProcess: true,
    env: { ...s3.env, S3_PREFIX: 'expiry/', UPLOAD_TTL: '2', SWEEP_INTERVAL_MS: '250', REQUEST_TIMEOUT_MS: '1000', HEADERS_TIMEOUT_MS: '1000', SWEEP_GRACE_MS: '0' },
  });
  try {
    const url = expiry.urls[0]!;
    const kept = randomFile(100_000);
    await sendChunk(url, kept, cutChunks(kept.length, kept.length)[0]!, { urls: [url], identifier: 'kept', chunkSize: kept.length });
    const published = await expiry.waitForState('kept', ['complete', 'failed']);
    assert.equal(published.state, 'complete', published.error);

    const abandoned = [0, 1].map((i) => ({ identifier: `abandoned-${i}`, file: randomFile(400_000) }));
    for (const { identifier, file } of abandoned) {
      const options: UploadOptions = { urls: [url], identifier, chunkSize: 100_000 };
      for (const chunk of cutChunks(file.length, options.chunkSize).slice(0, 3)) assert.equal((await sendChunk(url, file, chunk, options)).status, 200);
    }
    const expiryRanges = async () => (await listObjects(driver.client, s3.bucket, 'expiry/ranges/')).length;
    assert.equal(await expiryRanges(), 6, 'three range objects each');

    await eventually(async () => {
      const states = await Promise.all(abandoned.map(({ identifier }) => expiry.readUpload(identifier)));
      return states.every((upload) => upload === undefined) && (await expiryRanges()) === 0;
    }, { what: 'abandoned uploads expired and their range objects swept' });
    assert.ok((await expiry.readPublished(published)).equals(kept), 'the published file stays');
  } finally {
    await expiry.stop();
  }
  await assertNothingLeftAfterSweep();
});
