/**
 * The demo page with tus-js-client on /files/ (PATCHes of 1 MiB; each file in four partial
 * uploads at once, joined by a final concatenation: parallelUploads): 0 B, 1 B, exactly
 * 4 chunks and a multi-chunk file at once; a file's four parts and its final POST; and a
 * reload in the middle of an upload: picked again, the file carries on from the URLs kept in
 * localStorage instead of starting over.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Route } from 'playwright-core';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { openDemo, screenshot, sourceFiles, trackRequests, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const MiB = 1024 * 1024;
const INPUT = '#choose-files input[type=file]';
const isTus = (method: string) => (request: { method(): string; url(): string }) => request.method() === method && new URL(request.url()).pathname.startsWith('/files');
let rig: BrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startBrowserFixture();
  demo = await openDemo(rig, 'tus-js-client', { chunkSize: MiB, simultaneous: 4 });
});
after(() => rig?.stop());

test('tus-js-client uploads 0 B, 1 B, 4 MiB and 6 MiB + 7 B at once', async () => {
  const files = await sourceFiles(rig, {
    'tus-empty.bin': 0,
    'tus-one-byte.bin': 1,
    'tus-four-chunks.bin': 4 * MiB,
    'tus-six-mib.bin': 6 * MiB + 7,
  });
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
});

test('tus-js-client sends a file as four partial uploads at once and joins them', async () => {
  const files = await sourceFiles(rig, { 'tus-parallel.bin': 30 * MiB + 3 });
  const concat: string[] = [];
  const record = (request: { method(): string; url(): string; headers(): Record<string, string> }) => {
    if (isTus('POST')(request)) concat.push(request.headers()['upload-concat'] ?? 'none');
  };
  demo.page.on('request', record);
  const patches = trackRequests(demo.page, isTus('PATCH'));
  await uploadAndCheck(rig, demo, INPUT, Object.values(files));
  demo.page.off('request', record);
  assert.deepEqual(concat.slice(0, 4), ['partial', 'partial', 'partial', 'partial']);
  assert.equal(concat.length, 5);
  assert.match(concat[4]!, /^final;/);
  assert.ok(patches.max > 1, `the parts went at once (at most ${patches.max} PATCHes in flight)`);
  await screenshot(demo, 'tus-js-client');
});

test('a reload mid-upload, then the same file again: it resumes rather than restarting', async () => {
  const size = 16 * MiB; // four parts of 4 MiB, four PATCHes each
  const files = await sourceFiles(rig, { 'tus-resumed.bin': size });
  const page = await openDemo(rig, 'tus-js-client', { chunkSize: MiB, simultaneous: 4 });
  // Six PATCHes go through; the rest are held (a stalled network) until the reload.
  const held: Route[] = [];
  let passed = 0;
  await page.page.route('**/files/**', async (route) => {
    if (route.request().method() !== 'PATCH' || passed < 6) {
      if (route.request().method() === 'PATCH') passed += 1;
      return route.continue();
    }
    held.push(route);
  });
  const patchesBefore = trackRequests(page.page, isTus('PATCH'));
  await page.page.setInputFiles(INPUT, files['tus-resumed.bin']!.path);
  // Stored by tus-js-client once all four parts have their URLs.
  await page.page.waitForFunction(() => Object.keys(localStorage).some((key) => key.startsWith('tus::')), undefined, { polling: 50 });
  await eventually(() => held.length >= 4, { what: 'a stalled PATCH for each part' });
  assert.equal(patchesBefore.total - held.length, 6);

  await page.page.reload();
  await page.page.unrouteAll({ behavior: 'ignoreErrors' });
  for (const route of held) await route.abort().catch(() => undefined);
  const posts = trackRequests(page.page, isTus('POST'));
  const heads = trackRequests(page.page, isTus('HEAD'));
  const patches = trackRequests(page.page, isTus('PATCH'));
  await uploadAndCheck(rig, page, INPUT, [files['tus-resumed.bin']!]);
  assert.equal(heads.total, 4, 'each part was asked where it stood');
  assert.equal(posts.total, 1, 'no new parts were created: only the final concatenation');
  assert.ok(patches.total * MiB < size, `fewer bytes went after the reload (at most ${patches.total} MiB) than the file has`);
  assert.equal(patches.total, 16 - 6, 'only the chunks not stored before the reload');
  await page.page.close();
});
