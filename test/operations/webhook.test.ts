/**
 * The completion webhook is sent by a queue job with retries: a receiver that fails the
 * first attempts still gets exactly one accepted delivery, signed, per finished upload.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { WEBHOOK_QUEUE } from '../../services/shared/webhook-job.js';
import { queuePrefix } from '../../services/state/redis-keys.js';
import { eventually } from '../helpers/eventually.js';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { signWebhook } from '../../services/worker/webhook-delivery.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { cutChunks, randomFile, sendChunk, sha256, uploadFile } from '../helpers/upload-client.js';

const SECRET = 'test-webhook-secret-0123456789';
const FAILURES_BEFORE_SUCCESS = 2;
let sys: TestSystem;
let receiver: http.Server;
const attempts: { headers: http.IncomingHttpHeaders; body: string; answered: number }[] = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (piece: Buffer) => (body += piece.toString()));
    req.on('end', () => {
      const delivery = String(req.headers['x-chunkyard-delivery']);
      const earlier = attempts.filter((a) => a.headers['x-chunkyard-delivery'] === delivery).length;
      const answered = earlier < FAILURES_BEFORE_SUCCESS ? 503 : 200;
      attempts.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hook`;
  sys = await startSystem({ worker: true, env: { WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET } });
});
after(async () => {
  await sys.stop();
  await new Promise((resolve) => receiver.close(resolve));
});

function acceptedFor(uploadId: string): Promise<(typeof attempts)[number][]> {
  return eventually(() => {
    const accepted = attempts.filter((a) => a.answered === 200 && a.headers['x-chunkyard-delivery'] === uploadId);
    return accepted.length > 0 ? accepted : undefined;
  }, { what: `an accepted delivery for ${uploadId}` }) as Promise<(typeof attempts)[number][]>;
}

test('a completed upload: one accepted, signed delivery after failed attempts, even when its merge runs again', async () => {
  const file = randomFile(200_000);
  const responses = await uploadFile(file, { urls: sys.urls, identifier: 'hooked', chunkSize: 65_536, filename: 'hooked.bin' });
  const uploadId = String(responses.find((r) => r.body?.outcome === 'completed')!.body!.uploadId);
  await acceptedFor(uploadId);

  // The same merge job run again (a rerun after a crash) must not deliver twice.
  const job = (await sys.queue.getJob(mergeJobId(uploadId)))!;
  const firstRun = job.finishedOn;
  await job.retry('completed');
  await eventually(async () => {
    const rerun = await sys.queue.getJob(mergeJobId(uploadId));
    return (await rerun?.getState()) === 'completed' && rerun!.finishedOn !== firstRun;
  }, { what: 'the merge job run again' });
  const webhooks = new Queue(WEBHOOK_QUEUE, { connection: sys.redis, prefix: queuePrefix(sys.config.REDIS_PREFIX) });
  assert.deepEqual(await webhooks.getJobCounts('waiting', 'active', 'delayed'), { waiting: 0, active: 0, delayed: 0 }, 'no second delivery queued');
  await webhooks.close();

  const forUpload = attempts.filter((a) => a.headers['x-chunkyard-delivery'] === uploadId);
  assert.equal(forUpload.filter((a) => a.answered === 200).length, 1, 'exactly one accepted delivery');
  assert.equal(forUpload.length, FAILURES_BEFORE_SUCCESS + 1, 'failed attempts were retried, then it stopped');
  const accepted = forUpload.at(-1)!;
  const payload = JSON.parse(accepted.body) as Record<string, unknown>;
  assert.equal(payload.event, 'upload.completed');
  assert.equal(payload.uploadId, uploadId);
  assert.equal(payload.identifier, 'hooked');
  assert.equal(payload.filename, 'hooked.bin');
  assert.equal(payload.size, file.length);
  assert.equal(payload.sha256, sha256(file));
  assert.match(String(payload.path), /^files\/[0-9a-f]{32}\/hooked\.bin$/);
  const timestamp = Number(accepted.headers['x-chunkyard-timestamp']);
  assert.equal(accepted.headers['x-chunkyard-signature'], signWebhook(SECRET, timestamp, accepted.body), 'signature verifies');
  assert.notEqual(accepted.headers['x-chunkyard-signature'], signWebhook('wrong-secret-0123456789', timestamp, accepted.body));
});

test('a failed upload is delivered as upload.failed with its reason', async () => {
  const file = randomFile(100_000);
  const options = { urls: sys.urls, identifier: 'doomed', chunkSize: 25_000, filename: 'doomed.bin' };
  const chunks = cutChunks(file.length, options.chunkSize);
  for (const chunk of chunks.slice(0, -1)) await sendChunk(sys.urls[0]!, file, chunk, options);
  // The stored bytes disappear from disk (an operator, a failing disk) before the merge.
  const upload = await sys.readUpload('doomed');
  await rm(sys.layout.dataFile(upload!.storageKey));
  // The next chunk finds a new data file, not the one the earlier chunks are in: the upload fails.
  const last = await sendChunk(sys.urls[0]!, file, chunks.at(-1)!, options);
  assert.equal(last.status, 400);
  assert.equal((last.body as { error: { code: string } }).error.code, 'upload_failed');
  const uploadId = upload!.uploadId;

  const [delivery] = await acceptedFor(uploadId);
  const payload = JSON.parse(delivery!.body) as Record<string, unknown>;
  assert.equal(payload.event, 'upload.failed');
  assert.match(String(payload.error), /stored bytes were lost/);
  assert.equal(payload.sha256, null);
  assert.equal((await sys.readUpload('doomed'))?.state, 'failed');
});

test('redirects are not followed, and the body of an answer is never read', async () => {
  const hits: string[] = [];
  let bodyBytesSent = 0;
  const tricky = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    req.resume();
    if (req.url === '/elsewhere') return void res.writeHead(200).end();
    if (hits.filter((h) => h === '/hook').length === 1) {
      // First attempt: send it elsewhere.
      return void res.writeHead(307, { location: '/elsewhere' }).end();
    }
    // Then: accept, with a body far larger than anyone should read (300 MiB).
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const piece = Buffer.alloc(1024 * 1024);
    const pump = () => {
      while (bodyBytesSent < 300 * 1024 * 1024) {
        bodyBytesSent += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => tricky.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(tricky.address() as net.AddressInfo).port}/hook`;
  const other = await startSystem({ worker: true, env: { WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET } });
  try {
    const file = randomFile(1000);
    await uploadFile(file, { urls: other.urls, identifier: 'redirected', chunkSize: 4096, filename: 'r.bin' });
    const webhooks = new Queue(WEBHOOK_QUEUE, { connection: other.redis, prefix: queuePrefix(other.config.REDIS_PREFIX) });
    const upload = await other.waitForState('redirected', ['complete']);
    const delivered = await eventually(async () => {
      const job = await webhooks.getJob(`webhook-${upload.uploadId}`);
      // Read again once completed: the first read may predate the completion (and its counts).
      return (await job?.getState()) === 'completed' ? webhooks.getJob(`webhook-${upload.uploadId}`) : undefined;
    }, { what: 'the webhook delivered' });
    await webhooks.close();
    assert.ok(!hits.includes('/elsewhere'), `the redirect was not followed: ${hits.join(' ')}`);
    assert.equal(delivered!.attemptsMade, 2, 'the redirect failed the first attempt');
    assert.equal(hits.filter((hit) => hit === '/hook').length, 2, `the receiver saw both attempts: ${hits.join(' ')}`);
    assert.equal(delivered!.returnvalue?.status, 200, 'the second attempt was accepted');
    assert.ok(bodyBytesSent < 300 * 1024 * 1024, `the answer's body was not read to its end (${bodyBytesSent} bytes sent)`);
  } finally {
    await other.stop();
    tricky.closeAllConnections();
    await new Promise((resolve) => tricky.close(resolve));
  }
});
