/**
 * tus across instances: a PATCH may land on any ingest, and one upload's bytes are written
 * by one request at a time (a lock in Redis with a fencing token and a lease):
 * - two PATCHes raced on two instances: one writes, the other gets 423 (tus-js-client
 *   retries it), and the upload comes out exact;
 * - an instance SIGKILLed while it holds the lock: the lease lapses, the client resumes on
 *   the other instance from the bytes that were made durable, and nothing is stuck.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { uploadKeys } from '../../services/state/redis-keys.js';
import { eventually } from '../helpers/eventually.js';
import { killAll, startService } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

const V = { 'tus-resumable': '1.0.0' };
let sys: TestSystem;
before(async () => {
  sys = await startSystem({ ingestInstances: 2, worker: true, env: { LOCK_LEASE_MS: '2000', APPEND_CHECKPOINT: '1MB' } });
});
after(async () => {
  killAll();
  await sys?.stop();
});

async function create(url: string, size: number): Promise<string> {
  const response = await fetch(`${url}/files/`, { method: 'POST', headers: { ...V, 'upload-length': String(size) } });
  assert.equal(response.status, 201);
  return response.headers.get('location')!.split('/').pop()!;
}

/** A PATCH whose body arrives in pieces, each sent when the test says. */
function slowPatch(url: string, id: string, offset: number, length: number) {
  const target = new URL(`${url}/files/${id}`);
  let settle!: (status: number) => void;
  const answered = new Promise<number>((resolve) => (settle = resolve));
  const request = http.request({
    host: target.hostname, port: target.port, path: target.pathname, method: 'PATCH',
    headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), 'content-length': String(length) },
  }, (response) => {
    response.resume();
    settle(response.statusCode ?? 0);
  });
  request.on('error', () => settle(0));
  return { answered, send: (bytes: Buffer) => new Promise<void>((resolve) => request.write(bytes, () => resolve())), end: () => request.end(), destroy: () => request.destroy() };
}

const head = async (url: string, id: string) => fetch(`${url}/files/${id}`, { method: 'HEAD', headers: V });

test('two PATCHes at once on two instances: one writes, the other gets 423; the upload comes out exact', async () => {
  const [a, b] = sys.urls as [string, string];
  const file = randomFile(2 * 1024 * 1024);
  const id = await create(a, file.length);
  const first = slowPatch(a, id, 0, file.length);
  await first.send(file.subarray(0, 64 * 1024));
  // The first holds the upload's write lock now.
  await eventually(async () => (await sys.redis.exists(uploadKeys(sys.config.REDIS_PREFIX, sys.keyHashOf(id)).lock)) === 1, { what: 'the lock taken' });
  const second = await fetch(`${b}/files/${id}`, { method: 'PATCH', headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: file });
  assert.equal(second.status, 423, 'the second writer is told to retry');
  await first.send(file.subarray(64 * 1024));
  first.end();
  assert.equal(await first.answered, 204);
  const upload = await sys.waitForState(id, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file));
});

test('an instance SIGKILLed while holding the lock: the lease lapses and the client finishes on the other', async () => {
  const port = await freePort();
  const victim = startService('ingest', { REDIS_URL: sys.redisServer.url, DATA_DIR: sys.config.dataDir, PORT: String(port), HOST: '127.0.0.1', LOCK_LEASE_MS: '2000', APPEND_CHECKPOINT: '1MB' });
  await victim.waitForLog('ingest listening');
  const victimUrl = `http://127.0.0.1:${port}`;
  const survivor = sys.urls[0]!;
  const file = randomFile(6 * 1024 * 1024);
  const id = await create(survivor, file.length);

  const patch = slowPatch(victimUrl, id, 0, file.length);
  await patch.send(file.subarray(0, 3 * 1024 * 1024));
  // Wait until some of it was made durable and counted (a checkpoint every 1 MiB).
  const kept = await eventually(async () => Number((await head(survivor, id)).headers.get('upload-offset')), { accept: (offset) => offset > 0, what: 'a checkpoint counted' });
  await victim.kill('SIGKILL');
  patch.destroy();

  // The dead instance's lock lapses with its lease; until then the client is told to retry.
  const resumed = await eventually(async () => {
    const offset = Number((await head(survivor, id)).headers.get('upload-offset'));
    const response = await fetch(`${survivor}/files/${id}`, { method: 'PATCH', headers: { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) }, body: file.subarray(offset) });
    return { status: response.status, offset };
  }, { accept: (r) => r.status === 204, what: 'the upload resumed on the survivor' });
  console.log(`tus lock: instance killed with ${kept} bytes counted; resumed from ${resumed.offset} once its lease lapsed`);
  assert.ok(resumed.offset >= kept);
  const upload = await sys.waitForState(id, ['complete', 'failed']);
  assert.equal(upload.sha256, sha256(file), 'nothing lost, nothing doubled');
});
