/**
 * The demo page with Dropzone (chunks of 2 MiB, several of one file at once:
 * parallelChunkUploads) through nginx over two ingest instances (no sticky sessions): 0 B and
 * 1 B (sent whole), exactly 2 chunks and a multi-chunk file at once, then one file alone whose
 * chunks go in parallel. Each is stored byte for byte and shown with its SHA-256, and both
 * instances took part.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startClusterBrowserFixture, type ClusterBrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const MiB = 1024 * 1024;
// Dropzone keeps its input outside the drop area, and makes a new one after each pick.
const INPUT = 'input.dz-hidden-input';
let rig: ClusterBrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startClusterBrowserFixture();
  demo = await openDemo(rig, 'dropzone');
});
after(() => rig?.stop());

test('Dropzone uploads 0 B, 1 B, 4 MiB and 5 MiB + 7 B at once', async () => {
  const files = await sourceFiles(rig, {
    'dz-empty.bin': 0,
    'dz-one-byte.bin': 1,
    'dz-two-chunks.bin': 4 * MiB,
    'dz-five-mib.bin': 5 * MiB + 7,
  });
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
});

test('Dropzone sends the chunks of one file in parallel, over both instances', async () => {
  const files = await sourceFiles(rig, { 'dz-thirty-mib.bin': 30 * MiB + 3 });
  const chunks = trackRequests(demo.page, (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/upload');
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
  assert.equal(chunks.total, 16, 'one request per chunk (15 of 2 MiB and the last 3 B)');
  assert.ok(chunks.max > 1, `chunks went several at a time (at most ${chunks.max})`);
  const perInstance = await rig.uploadRequestsPerInstance();
  assert.ok(perInstance.every((count) => count > 0), `both instances answered upload requests (${perInstance.join(', ')})`);
  await screenshot(demo, 'dropzone');
});
