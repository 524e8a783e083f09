/**
 * The local cluster: real nginx (the compose proxy config) round-robins one upload's
 * chunks over two ingest processes; the upload merges exactly once, and its events
 * stream through nginx.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startLocalCluster, type LocalCluster } from '../../scripts/local-cluster.js';
import { eventually } from '../helpers/eventually.js';
import { openSse } from '../helpers/sse.js';
import { randomFile, sha256, uploadFile } from '../helpers/upload-client.js';

const ADMIN_PASSWORD = 'cluster-test-password';
const auth = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` };
let cluster: LocalCluster;

before(async () => {
  cluster = await startLocalCluster({ ingestCount: 2, env: { ADMIN_PASSWORD, LOG_LEVEL: 'warn' } });
});
after(() => cluster?.stop());

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: auth })).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

test('an upload through nginx lands on both ingest instances and merges exactly once', async () => {
  const file = randomFile(24 * 1024 * 1024 + 5);
  const identifier = 'through-nginx';
  const events = await openSse(`${cluster.url}/uploads/${identifier}/events`);
  const responses = await uploadFile(file, { urls: [cluster.url], identifier, chunkSize: 1024 * 1024, concurrency: 4, filename: 'n.bin' });
  assert.ok(responses.every((r) => r.status === 200));
  await events.waitFor((e) => e.data.state === 'complete', 30_000);

  const perInstance = await Promise.all(cluster.ingestOpsUrls.map((url) => counter(url, 'chunkyard_chunks_received_total')));
  console.log(`chunks per ingest instance through nginx: ${perInstance.join(' + ')} = ${responses.length}`);
  assert.ok(perInstance.every((count) => count > 0), `both instances took chunks: ${perInstance.join(', ')}`);
  assert.equal(perInstance.reduce((a, b) => a + b, 0), responses.length);
  // The worker counts the merge just after it records the upload complete.
  const merged = await eventually(() => counter(cluster.workerUrl, 'chunkyard_uploads_completed_total'), { accept: (count) => count > 0, what: 'the merge counted' });
  assert.equal(merged, 1, 'merged exactly once');
  assert.equal(responses.filter((r) => r.body?.outcome === 'completed').length, 1);

  const status = (await (await fetch(`${cluster.url}/uploads/${identifier}`)).json()) as Record<string, string>;
  assert.equal(status.sha256, sha256(file));
  assert.ok((await readFile(path.join(cluster.dataDir, status.path!))).equals(file));
  events.close();
});
