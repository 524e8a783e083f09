/**
 * The soak, for each storage (soak.test.ts on the filesystem, soak-s3.test.ts on S3): many
 * small uploads with shuffled and duplicated chunks over two ingest instances and two
 * workers: 0 corrupted, 0 lost, exactly one completing request and one merge each.
 * SOAK_UPLOADS sets how many for a longer run (README, "Testing").
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/eventually.js';
import { startSystem, type SystemOptions, type TestSystem } from '../../helpers/system.js';
import { randomFile, sha256, uploadFile } from '../../helpers/upload-client.js';

const PARALLEL_UPLOADS = 24;
const ADMIN_PASSWORD = 'soak-test-password';

export interface SoakStorage {
  /** The storage's name, in the test's title. */
  name: string;
  /** Uploads when SOAK_UPLOADS is not set: the CI size. */
  defaultUploads: number;
  /** Starts what the storage needs (a server); resolves with the system's settings for it. */
  start?(): Promise<Pick<SystemOptions, 'env' | 'dataDirPerProcess'>>;
  /** What the storage must show once every upload is merged (nothing left behind). */
  check?(sys: TestSystem, uploads: number): Promise<void>;
  stop?(): Promise<void>;
}

export function soak(storage: SoakStorage): void {
  const uploads = Number(process.env.SOAK_UPLOADS ?? storage.defaultUploads);
  let sys: TestSystem;
  let workerUrls: string[];

  before(async () => {
    const options = (await storage.start?.()) ?? {};
    // fsync per 4 KiB chunk would only make this slower: the soak is about races, not power cuts.
    sys = await startSystem({ ...options, ingestInstances: 2, env: { ADMIN_PASSWORD, CHUNK_FSYNC: 'false', ...options.env } });
    workerUrls = [(await sys.startWorker()).url, (await sys.startWorker()).url];
  });
  after(async () => {
    await sys?.stop();
    await storage.stop?.();
  });

  async function mergesCounted(): Promise<number> {
    let total = 0;
    for (const url of workerUrls) {
      const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` } })).text();
      total += Number(/^chunkyard_uploads_completed_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    return total;
  }

  test(`soak on ${storage.name}: ${uploads} uploads, shuffled and duplicated chunks, 2 ingest instances, 2 workers`, async () => {
    const started = Date.now();
    const sources = new Map<string, Buffer>();
    let next = 0;
    let completions = 0;
    async function lane() {
      while (next < uploads) {
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
      const merged = await sys.readPublished(upload);
      if (!merged.equals(file) || upload.sha256 !== sha256(file)) corrupted += 1;
    }
    // Each worker counts its merge just after the upload is recorded complete.
    const merges = await eventually(mergesCounted, { accept: (count) => count >= uploads, what: 'every merge counted' }).catch(() => mergesCounted());
    console.log(`soak on ${storage.name}: ${uploads} uploads in ${((Date.now() - started) / 1000).toFixed(1)} s: ${corrupted} corrupted, ${lost} lost, ${completions} completions, ${merges} merges`);
    assert.equal(corrupted, 0);
    assert.equal(lost, 0);
    assert.equal(completions, uploads, 'exactly one completing request per upload');
    assert.equal(merges, uploads, 'exactly one merge per upload');
    await storage.check?.(sys, uploads);
  });
}
