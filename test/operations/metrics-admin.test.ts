/**
 * Metrics move by the right amounts after an upload; operator endpoints (metrics, queue
 * dashboard) need the admin credential and are refused when none is configured; health
 * and readiness answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { randomFile, sendChunk, cutChunks, uploadFile } from '../helpers/upload-client.js';

const ADMIN = { user: 'ops', password: 'correct horse battery staple' };
const auth = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };
let sys: TestSystem;
let workerUrl: string;

before(async () => {
  sys = await startSystem({ env: { ADMIN_USER: ADMIN.user, ADMIN_PASSWORD: ADMIN.password } });
  workerUrl = (await sys.startWorker()).url;
});
after(() => sys?.stop());

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: auth });
  assert.equal(response.status, 200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    const name = line.slice(0, space).replace(/service="[^"]*",?/, '').replace(',}', '}').replace('{}', '');
    samples.set(name, Number(line.slice(space + 1)));
  }
  return samples;
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

describe('metrics', () => {
  test('counters move by the right amounts after an upload with duplicates', async () => {
    const ingestBefore = await scrape(sys.opsUrls[0]!);
    const workerBefore = await scrape(workerUrl);
    const file = randomFile(10 * 65_536 + 100);
    const options = { urls: sys.urls, identifier: 'metered', chunkSize: 65_536, filename: 'metered.bin' };
    const chunks = cutChunks(file.length, options.chunkSize);
    await sendChunk(sys.urls[0]!, file, chunks[0]!, options);
    await sendChunk(sys.urls[0]!, file, chunks[0]!, options);
    await uploadFile(file, options);
    await sys.waitForState('metered', ['complete']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ingestAfter = await scrape(sys.opsUrls[0]!);
    const workerAfter = await scrape(workerUrl);

    const n = chunks.length;
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_chunks_received_total{outcome="stored"}'), n - 1);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_chunks_received_total{outcome="completed"}'), 1);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_chunks_received_total{outcome="duplicate"}'), 2);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_chunk_bytes_received_total'), file.length + 2 * 65_536);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_chunk_responses_total{method="POST",status="200"}'), n + 2);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_uploads_received_total'), 1);
    assert.equal(delta(ingestBefore, ingestAfter, 'chunkyard_http_request_duration_seconds_count{method="POST",route="/upload",status="200"}'), n + 2);
    assert.equal(delta(workerBefore, workerAfter, 'chunkyard_uploads_completed_total'), 1);
    assert.equal(delta(workerBefore, workerAfter, 'chunkyard_merge_bytes_total'), file.length);
    assert.equal(delta(workerBefore, workerAfter, 'chunkyard_merge_duration_seconds_count'), 1);
    assert.equal(ingestAfter.get('chunkyard_queue_jobs{queue="merge",state="completed"}'), 1);
  });

  test('a refused chunk counts its status', async () => {
    const before = await scrape(sys.opsUrls[0]!);
    await fetch(`${sys.urls[0]}/upload?resumableChunkNumber=x`, { method: 'POST', body: 'x' });
    const after = await scrape(sys.opsUrls[0]!);
    assert.equal(delta(before, after, 'chunkyard_chunk_responses_total{method="POST",status="400"}'), 1);
  });
});

describe('operator endpoints', () => {
  test('metrics and the dashboard need the credential', async () => {
    for (const url of [`${sys.opsUrls[0]}/metrics`, `${workerUrl}/metrics`, `${sys.urls[0]}/admin/queues`]) {
      const anonymous = await fetch(url);
      assert.equal(anonymous.status, 401, url);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);
      const wrong = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } });
      assert.equal(wrong.status, 401, url);
    }
    const dashboard = await fetch(`${sys.urls[0]}/admin/queues`, { headers: auth });
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /<html/i);
    const api = await fetch(`${sys.urls[0]}/admin/queues/api/queues`, { headers: auth });
    assert.equal(api.status, 200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    assert.deepEqual(names, ['maintenance', 'merge', 'webhook']);
  });

  test('without a configured password they are refused outright', async () => {
    const open = await startSystem();
    try {
      for (const url of [`${open.opsUrls[0]}/metrics`, `${open.urls[0]}/admin/queues`]) {
        const response = await fetch(url, { headers: auth });
        assert.equal(response.status, 403, url);
        assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'forbidden');
      }
    } finally {
      await open.stop();
    }
  });

  test('metrics are per instance, on the operations port only: the upload port behind the load balancer has none', async () => {
    assert.equal((await fetch(`${sys.urls[0]}/metrics`, { headers: auth })).status, 404);
  });

  test('healthz and readyz answer on ingest (both ports) and worker', async () => {
    for (const url of [sys.urls[0]!, sys.opsUrls[0]!, workerUrl]) {
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { redis: 'ok', storage: 'ok', shuttingDown: false });
    }
  });
});
