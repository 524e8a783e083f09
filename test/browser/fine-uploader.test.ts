/**
 * The demo page with Fine Uploader core (chunks of 2,000,000 bytes, several of one file at
 * once: concurrent chunking, then the finalising POST): 1 B (sent whole; it refuses 0 B
 * files), exactly 2 chunks and a multi-chunk file at once, then one file alone whose chunks
 * go in parallel. Each is stored byte for byte and shown with its SHA-256.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const CHUNK = 2_000_000;
const INPUT = '#choose-files input[type=file]';
let rig: BrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startBrowserFixture();
  demo = await openDemo(rig, 'fine-uploader', { simultaneous: 4 });
});
after(() => rig?.stop());

test('Fine Uploader uploads 1 B, 4,000,000 B and 5,000,007 B at once', async () => {
  const files = await sourceFiles(rig, {
    'fu-one-byte.bin': 1,
    'fu-two-chunks.bin': 2 * CHUNK,
    'fu-three-chunks.bin': 2 * CHUNK + 1_000_007,
  });
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
});

test('Fine Uploader sends the chunks of one file concurrently, then finalises it', async () => {
  const files = await sourceFiles(rig, { 'fu-thirty-mb.bin': 15 * CHUNK + 3 });
  const posts = trackRequests(demo.page, (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/upload');
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
  assert.equal(posts.total, 16 + 1, 'one POST per chunk and the finalising one');
  assert.ok(posts.max > 1, `chunks went several at a time (at most ${posts.max})`);
  await screenshot(demo, 'fine-uploader');
});
