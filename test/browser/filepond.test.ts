/**
 * The demo page with FilePond (chunkUploads, chunks of 5,000,000 bytes): 0 B and 1 B (sent
 * whole), exactly 2 chunks (its transfer ends with an empty PATCH) and a multi-chunk file,
 * picked at once, several transfers at a time (maxParallelUploads). FilePond has no parallel
 * chunks within one file. Each is stored byte for byte and shown with its SHA-256.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const CHUNK = 5_000_000;
let rig: BrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startBrowserFixture();
  demo = await openDemo(rig, 'filepond');
});
after(() => rig?.stop());

test('FilePond uploads 0 B, 1 B, 10,000,000 B and 32,000,007 B at once', async () => {
  const files = await sourceFiles(rig, {
    'fp-empty.bin': 0,
    'fp-one-byte.bin': 1,
    'fp-two-chunks.bin': 2 * CHUNK,
    'fp-thirty-mb.bin': 6 * CHUNK + 2_000_007,
  });
  const patches = trackRequests(demo.page, (request) => request.method() === 'PATCH');
  await uploadAndCheck(rig, demo, 'input.filepond--browser', Object.values(files));
  // 2 + 1 (the empty one) for the exact multiple, 7 for the other.
  assert.equal(patches.total, 10, 'one PATCH per chunk, and the empty last one');
  await screenshot(demo, 'filepond');
});
