/**
 * Soak: many uploads with shuffled and duplicated chunks over two ingest instances and
 * two workers: 0 corrupted, 0 lost, exactly one merge each.
 * CI size: SOAK_UPLOADS=1000 by default; raise it for a longer run (README, "Testing").
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startSystem, type TestSystem } from '../helpers/system.js';
import { eventually } from '../helpers/eventually.js';
import { randomFile, sha256, uploadFile } from '../helpers/upload-client.js';

const UPLOADS = Number(process.env.SOAK_UPLOADS ?? 1000);
const PARALLEL_UPLOADS = 24;
const ADMIN_PASSWORD = 'soak-test-password';
let sys: TestSystem;
let workerUrls: string[];

before(async () => {
  // fsync per 4 KiB chunk would only make this slower: the soak is about races, not power cuts.
  sys = await startSystem({ ingestInstances: 2, env: { ADMIN_PASSWORD, CHUNK_FSYNC: 'false' } });
  workerUrls = [(await sys.startWorker()).url, (await sys.startWorker()).url];
});
after(() => sys?.stop());

async function mergesCounted(): Promise<number> {
  let total = 0;
  for (const url of workerUrls) {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` } })).text();
    total += Number(/^chunkyard_uploads_completed_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }
  return total;
}

test(`soak: ${UPLOADS} uploads, shuffled and duplicated chunks, 2 ingest instances, 2 workers`, async () => {
  const started = Date.now();
  const sources = new Map<string, Buffer>();
  let next = 0;
  let completions = 0;
  async function lane() {
    while (next < UPLOADS) {
      const index = next++;
      const identifier = `soak-${index}`;
      const file = randomFile(Math.floor(Math.random() * 24 * 1024));
      sources.set(identifier, file);
      const responses = await uploadFile(file, {
        urls: sys.urls, identifier, chunkSize: 4096, forceChunkSize: index % 2 === 0,
        order: 'shuffled', duplicates: true, concurrency: 3, filename: `soak-${index}.bin`,
      });
      assert.ok(responses.every((r) => r.status === 200), `${identifier}: every chunk acknowledged`);
      completions += responses.filter((r) => r.body?.outcome === 'completed').length;
    }
  }
  await Promise.all(Array.from({ length: PARALLEL_UPLOADS }, lane));

  let corrupted = 0;
  let lost = 0;
  for (const [identifier, file] of sources) {
    const upload = await sys.waitForState(identifier, ['complete', 'failed'], 60_000).catch(() => undefined);
    if (upload?.state !== 'complete') {
      lost += 1;
      continue;
    }
    const merged = await readFile(path.join(sys.config.dataDir, upload.path!));
    if (!merged.equals(file) || upload.sha256 !== sha256(file)) corrupted += 1;
  }
  // Each worker counts its merge just after the upload is recorded complete.
  const merges = await eventually(mergesCounted, { accept: (count) => count >= UPLOADS, what: 'every merge counted' }).catch(() => mergesCounted());
  console.log(`soak: ${UPLOADS} uploads in ${((Date.now() - started) / 1000).toFixed(1)} s: ${corrupted} corrupted, ${lost} lost, ${completions} completions, ${merges} merges`);
  assert.equal(corrupted, 0);
  assert.equal(lost, 0);
  assert.equal(completions, UPLOADS, 'exactly one completing request per upload');
  assert.equal(merges, UPLOADS, 'exactly one merge per upload');
});
