/**
 * An ingest SIGKILLed while chunk bodies stream in: no partial chunk is ever counted
 * (a chunk counts only once all its bytes are stored and flushed), the client's retries
 * finish the upload on the other instance, and the file is correct.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/redis-server.js';
import { killAll, startService } from '../helpers/processes.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256, uploadFile } from '../helpers/upload-client.js';

let sys: TestSystem;
before(async () => {
  sys = await startSystem({ ingestInstances: 0, worker: true });
});
after(async () => {
  killAll();
  await sys.stop();
});

test('SIGKILL mid-stream: retries finish the upload and the file is correct', async () => {
  const env = { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, HOST: '127.0.0.1', OPS_PORT: '0', MIN_FREE_DISK: '1MB' };
  const ports = [await freePort(), await freePort()];
  const [victim, survivor] = ports.map((port) => startService('ingest', { ...env, PORT: String(port) }));
  await Promise.all([victim!.waitForLog('ingest listening'), survivor!.waitForLog('ingest listening')]);

  const source = randomFile(32 * 1024 * 1024 + 11);
  const uploading = uploadFile(source, {
    urls: ports.map((port) => `http://127.0.0.1:${port}`), identifier: 'ingest-killed', chunkSize: 256 * 1024,
    body: 'octet', trickle: true, order: 'shuffled', concurrency: 8, retries: 20, filename: 'i.bin',
  });
  let finished = false;
  void uploading.then(() => (finished = true), () => (finished = true));
  // Kill once the upload is well under way, its chunks streaming in on both instances.
  const storedAtKill = await eventually(async () => {
    const stored = (await sys.readUpload('ingest-killed'))?.storedRanges ?? 0;
    return stored >= 16 ? stored : undefined;
  }, { what: 'the upload under way' });
  await victim!.kill('SIGKILL');
  assert.equal(finished, false, 'killed mid-upload');
  const responses = await uploading;
  assert.ok(responses.every((r) => r.status === 200), 'every chunk acknowledged in the end');

  const upload = await sys.waitForState('ingest-killed', ['complete', 'failed']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.sha256, sha256(source));
  assert.ok((await readFile(path.join(sys.config.dataDir, upload.path!))).equals(source));
  console.log(`ingest SIGKILL: killed with ${storedAtKill} of 128 chunks stored; the retries completed the upload correctly`);
  await survivor!.kill('SIGTERM');
});
