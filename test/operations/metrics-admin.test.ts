/**
 * Metrics move by the right amounts after an upload; operator endpoints (metrics, queue
 * dashboard) need the admin credential and are refused when none is configured; health
 * and readiness answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../services/shared/config.js';
import { eventually } from '../helpers/eventually.js';
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
    // The worker counts the merge just after it records the upload complete; the job completes after that.
    const workerAfter = await eventually(() => scrape(workerUrl), { accept: (m) => delta(workerBefore, m, 'chunkyard_uploads_completed_total') === 1, what: 'the merge counted' });
    const ingestAfter = await eventually(() => scrape(sys.opsUrls[0]!), { accept: (m) => m.get('chunkyard_queue_jobs{queue="merge",state="completed"}') === 1, what: 'the job completed' });

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

describe('readiness and the operator credential', () => {
  test('a Redis nearly out of memory makes the processes not ready (every write would be refused)', async () => {
    const used = Number(/^used_memory:(\d+)/m.exec(await sys.redis.info('memory'))![1]);
    await sys.redis.config('SET', 'maxmemory', String(Math.ceil(used * 1.02)));
    try {
      for (const url of [sys.opsUrls[0]!, workerUrl]) {
        const ready = await fetch(`${url}/readyz`);
        assert.equal(ready.status, 503, url);
        assert.match(((await ready.json()) as { checks: { redis: string } }).checks.redis, /^memory nearly full/);
      }
    } finally {
      await sys.redis.config('SET', 'maxmemory', '0');
    }
    assert.equal((await fetch(`${sys.opsUrls[0]}/readyz`)).status, 200);
  });

  test('a weak ADMIN_PASSWORD is refused at start-up', () => {
    for (const weak of ['x', 'short-password', 'aaaaaaaaaaaaaaaaaaaa']) {
      assert.throws(() => loadConfig({ ADMIN_PASSWORD: weak }), /ADMIN_PASSWORD/);
    }
    assert.doesNotThrow(() => loadConfig({ ADMIN_PASSWORD: 'correct horse battery staple' }));
  });

  test('repeated wrong credentials are slowed down, per client address', async () => {
    const wrong = { authorization: `Basic ${Buffer.from('ops:guess').toString('base64')}` };
    // A few free guesses (an earlier test used some), then every further one must wait.
    const statuses: number[] = [];
    let slowed: Response | undefined;
    for (let i = 0; i < 6 && !slowed; i++) {
      const response = await fetch(`${sys.opsUrls[0]}/metrics`, { headers: wrong });
      statuses.push(response.status);
      if (response.status === 429) slowed = response;
    }
    assert.ok(slowed, `told to wait after a few guesses (${statuses.join(', ')})`);
    assert.ok(statuses.slice(0, -1).every((status) => status === 401));
    assert.ok(Number(slowed.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${sys.opsUrls[0]}/metrics`, { headers: wrong })).status, 429, 'and the next one');
    // The right credential from the same address must wait too: guessing is not free.
    assert.equal((await fetch(`${sys.opsUrls[0]}/metrics`, { headers: auth })).status, 429);
  });
});
