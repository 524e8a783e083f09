/**
 * The demo page with simple-uploader.js through nginx over two ingest instances (no sticky
 * sessions): 0 B, 1 B, exactly 2 chunks of 1 MiB and a multi-chunk file at once, then one
 * file alone whose chunks go four at a time (simultaneousUploads). Each is stored byte for
 * byte and shown with its SHA-256, and both instances took part.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startClusterBrowserFixture, type ClusterBrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const MiB = 1024 * 1024;
const INPUT = '#choose-files input[type=file]';
let rig: ClusterBrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startClusterBrowserFixture();
  demo = await openDemo(rig, 'simple-uploader', { simultaneous: 4 });
});
after(() => rig?.stop());

test('simple-uploader.js uploads 0 B, 1 B, 2 MiB and 5 MiB + 7 B at once', async () => {
  const files = await sourceFiles(rig, {
    'su-empty.bin': 0,
    'su-one-byte.bin': 1,
    'su-two-chunks.bin': 2 * MiB,
    'su-five-mib.bin': 5 * MiB + 7,
  });
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
});

test('simple-uploader.js sends one file four chunks at a time, over both instances', async () => {
  const files = await sourceFiles(rig, { 'su-thirty-mib.bin': 30 * MiB + 3 });
  const chunks = trackRequests(demo.page, (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/upload');
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
  assert.ok(chunks.total >= 30, `every chunk was posted (${chunks.total})`);
  assert.ok(chunks.max > 1, `chunks went several at a time (at most ${chunks.max})`);
  const perInstance = await rig.uploadRequestsPerInstance();
  assert.ok(perInstance.every((count) => count > 0), `both instances answered upload requests (${perInstance.join(', ')})`);
  await screenshot(demo, 'simple-uploader');
});
