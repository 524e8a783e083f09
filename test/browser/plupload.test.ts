/**
 * The demo page with Plupload (html5 runtime, 1 MiB chunks, one file at a time; it has no
 * parallel mode): 0 B (the page lets empty files through), 1 B, exactly 2 chunks and a
 * multi-chunk file, picked at once; each stored byte for byte and shown with its SHA-256.
 */
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { openDemo, screenshot, sourceFiles, uploadAndCheck, type DemoPage } from './lib/demo-page.js';

const MiB = 1024 * 1024;
let rig: BrowserFixture;
let demo: DemoPage;
before(async () => {
  rig = await startBrowserFixture();
  demo = await openDemo(rig, 'plupload');
});
after(() => rig?.stop());

test('Plupload uploads 0 B, 1 B, 2 MiB and 30 MiB + 5 B at once; the page shows each stored', async () => {
  const files = await sourceFiles(rig, {
    'pl-empty.bin': 0,
    'pl-one-byte.bin': 1,
    'pl-two-chunks.bin': 2 * MiB,
    'pl-thirty-mib.bin': 30 * MiB + 5,
  });
  await uploadAndCheck(rig, demo, '#choose-files input[type=file]', Object.values(files));
  await screenshot(demo, 'plupload');
});
