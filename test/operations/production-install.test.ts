/**
 * The Docker image's install, without Docker: `npm run build`, then `npm ci --omit=dev` of
 * package.json, package-lock.json and dist/ alone in a fresh folder, and the compiled ingest
 * and worker started from there against a private redis-server. A package that dist/ loads
 * at run time but that is only a devDependency (the demo page's resumable.js once was) is
 * missing from such an install, so the image would not start: both the import scan and the
 * running services catch it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { randomFile, sha256, uploadFile, type BodyKind } from '../helpers/upload-client.js';
import { waitFor } from './lib/commands.js';
import { startCompiledService, type CompiledService } from './lib/compiled-service.js';
import { buildAndInstallForProduction, type ProductionInstall } from './lib/production-install.js';
import { runtimePackages } from './lib/runtime-imports.js';

let install: ProductionInstall | undefined;
let redis: RedisServer | undefined;
let dataDir: string | undefined;
const services: CompiledService[] = [];

before(async () => {
  install = await buildAndInstallForProduction();
});

after(async () => {
  for (const service of services) await service.stop();
  await redis?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await install?.remove();
});

/** Starts the compiled ingest and worker once, for the tests that need them; resolves with the upload URL. */
let started: Promise<string> | undefined;
function startServices(): Promise<string> {
  started ??= (async () => {
    redis = await startRedisServer();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-production-data-'));
    const [port, opsPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    const env = { REDIS_URL: redis.url, DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    services.push(await startCompiledService(install!.dir, 'ingest', { ...env, PORT: String(port), OPS_PORT: String(opsPort) }, `http://127.0.0.1:${opsPort}/readyz`));
    services.push(await startCompiledService(install!.dir, 'worker', { ...env, WORKER_PORT: String(workerPort) }, `http://127.0.0.1:${workerPort}/readyz`));
    return `http://127.0.0.1:${port}`;
  })();
  return started;
}

test('every package dist/ loads at run time is a production dependency', async () => {
  assert.ok(install, 'built and installed');
  const manifest = JSON.parse(await readFile(path.join(install.dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const packages = await runtimePackages(path.join(install.dir, 'dist'));
  assert.ok(packages.has('koa') && packages.has('resumablejs'), `the scan finds imports and require.resolve: ${[...packages.keys()].join(', ')}`);
  const missing = [...packages].filter(([name]) => !(name in (manifest.dependencies ?? {})));
  assert.deepEqual(missing.map(([name, files]) => `${name} (${files.join(', ')})`), [], 'loaded at run time but not in dependencies');
});

test('the compiled ingest serves the demo page and every asset it references', async () => {
  const uploadUrl = await startServices();
  const page = await fetch(`${uploadUrl}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.includes('/assets/resumable.js'), `the page loads resumable.js: ${assets.join(', ')}`);
  for (const asset of assets) {
    const response = await fetch(`${uploadUrl}${asset}`);
    const body = await response.arrayBuffer();
    assert.equal(response.status, 200, asset);
    assert.ok(body.byteLength > 0, `${asset} is not empty`);
  }
});

for (const body of ['multipart', 'octet'] as BodyKind[]) {
  test(`an upload of ${body} chunks through the compiled ingest is merged by the compiled worker`, async () => {
    const uploadUrl = await startServices();
    const file = randomFile(300_000);
    const identifier = `production-install-${body}`;
    const responses = await uploadFile(file, { urls: [uploadUrl], identifier, chunkSize: 64 * 1024, body, order: 'shuffled', concurrency: 3 });
    assert.equal(responses.length, 4, 'several chunks');
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200]);
    const status = await waitFor('the merge', async () => {
      const record = (await (await fetch(`${uploadUrl}/uploads/${identifier}`)).json()) as Record<string, unknown>;
      if (record.state === 'failed') throw new Error(`merge failed: ${String(record.error)}`);
      return record.state === 'complete' ? record : undefined;
    }, 30_000, 50);
    assert.equal(status.size, file.length);
    assert.equal(status.sha256, sha256(file));
    assert.ok((await readFile(path.join(dataDir!, String(status.path)))).equals(file), 'the merged file holds the uploaded bytes');
  });
}
