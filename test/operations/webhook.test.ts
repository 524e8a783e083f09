/**
 * The completion webhook is sent by a queue job with retries: a receiver that fails the
 * first attempts still gets exactly one accepted delivery, signed, per finished upload.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeJobId } from '../../services/shared/merge-job.js';
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

async function acceptedFor(uploadId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const accepted = attempts.filter((a) => a.answered === 200 && a.headers['x-chunkyard-delivery'] === uploadId);
    if (accepted.length > 0) return accepted;
    await sleep(50);
  }
  throw new Error(`no accepted delivery for ${uploadId}`);
}

test('a completed upload: one accepted, signed delivery after failed attempts, even when its merge runs again', async () => {
  const file = randomFile(200_000);
  const responses = await uploadFile(file, { urls: sys.urls, identifier: 'hooked', chunkSize: 65_536, filename: 'hooked.bin' });
  const uploadId = String(responses.find((r) => r.body?.outcome === 'completed')!.body!.uploadId);
  await acceptedFor(uploadId);

  // The same merge job run again (a rerun after a crash) must not deliver twice.
  const job = await sys.queue.getJob(mergeJobId(uploadId));
  await job!.retry('completed').catch(() => undefined);
  await sleep(3_000);

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
  // A stored chunk disappears from disk (an operator, a failing disk) before the merge.
  const chunkDir = sys.layout.chunkDir(sys.keyHashOf('doomed'));
  const [first] = (await readdir(chunkDir)).filter((name) => name.startsWith('1.'));
  await rm(path.join(chunkDir, first!));
  const last = await sendChunk(sys.urls[0]!, file, chunks.at(-1)!, options);
  const uploadId = String(last.body!.uploadId);

  const [delivery] = await acceptedFor(uploadId);
  const payload = JSON.parse(delivery!.body) as Record<string, unknown>;
  assert.equal(payload.event, 'upload.failed');
  assert.match(String(payload.error), /chunk 1 is missing on disk/);
  assert.equal(payload.sha256, null);
  assert.equal((await sys.store.readUpload(sys.keyHashOf('doomed')))?.state, 'failed');
});
