/**
 * The demo page with Uppy: its Dashboard, and its Tus plugin on /files/ (PATCHes of 1 MiB):
 * 0 B, 1 B, exactly 4 chunks and a 30 MiB file, picked at once and sent at once. Each
 * is stored byte for byte and shown with its SHA-256.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const MiB = 1024 * 1024;
let rig: BrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startBrowserFixture();
  demo = await openDemo(rig, 'uppy', { chunkSize: MiB });
});
after(() => rig?.stop());

test('Uppy uploads 0 B, 1 B, 4 MiB and 30 MiB + 7 B at once through its Tus plugin', async () => {
  const files = await sourceFiles(rig, {
    'uppy-empty.bin': 0,
    'uppy-one-byte.bin': 1,
    'uppy-four-chunks.bin': 4 * MiB,
    'uppy-thirty-mib.bin': 30 * MiB + 7,
  });
  const creates = trackRequests(demo.page, (request) => request.method() === 'POST' && new URL(request.url()).pathname.startsWith('/files'));
  // The Dashboard's file input (the other one picks folders).
  await uploadAndCheck(rig, demo, 'input.uppy-Dashboard-input:not([webkitdirectory])', Object.values(files));
  assert.equal(creates.total, 4, 'one tus upload per file');
  assert.ok(creates.max > 1, `the files went at once (at most ${creates.max} creations in flight)`);
  await screenshot(demo, 'uppy');
});
