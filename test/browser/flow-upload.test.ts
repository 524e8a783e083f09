/**
 * The same server with the real flow.js (fields in the multipart body only, its own
 * identifiers) in headless Chromium: files uploaded with chunk tests, merged byte for byte.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
const flowScript = createRequire(import.meta.url).resolve('@flowjs/flow.js/dist/flow.js');
let fixture: BrowserFixture;
before(async () => {
  fixture = await startBrowserFixture();
});
after(() => fixture?.stop());

test('flow.js uploads 1 B, 1 MiB + 1 B and 12 MiB, four chunks at a time, and they merge correctly', async () => {
  const files = new Map<string, Buffer>([
    ['flow-one-byte.bin', randomFile(1)],
    ['flow-mib-and-a-byte.bin', randomFile(MiB + 1)],
    ['flow-twelve.bin', randomFile(12 * MiB + 12)],
  ]);
  const { sys, browser } = fixture;
  const paths = await Promise.all([...files].map(([name, bytes]) => fixture.writeSource(name, bytes)));
  // flow.js is not part of the demo page: load it into the page's origin for this test.
  const page = await browser.newPage({ bypassCSP: true });
  const testAnswers: number[] = [];
  page.on('response', (response) => {
    if (response.url().includes('/upload') && response.request().method() === 'GET') testAnswers.push(response.status());
  });
  await page.goto(sys.urls[0]!);
  await page.addScriptTag({ path: flowScript });
  await page.evaluate((chunkSize) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.id = 'flow-input';
    document.body.append(input);
    const w = window as unknown as { Flow: new (options: object) => any; flowDone: Record<string, string> };
    w.flowDone = {};
    const flow = new w.Flow({ target: '/upload', chunkSize, simultaneousUploads: 4, testChunks: true });
    flow.assignBrowse(input);
    flow.on('filesSubmitted', () => flow.upload());
    flow.on('fileSuccess', (file: { name: string; uniqueIdentifier: string }) => (w.flowDone[file.name] = file.uniqueIdentifier));
    flow.on('fileError', (file: { name: string }, message: string) => (w.flowDone[file.name] = `error: ${message}`));
  }, MiB);
  await page.setInputFiles('#flow-input', paths);
  await page.waitForFunction((count) => Object.keys((window as unknown as { flowDone: object }).flowDone).length === count, files.size, { timeout: 60_000 });
  const identifiers = (await page.evaluate(() => (window as unknown as { flowDone: Record<string, string> }).flowDone)) as Record<string, string>;

  for (const [name, bytes] of files) {
    const identifier = identifiers[name]!;
    assert.ok(!identifier.startsWith('error'), `${name}: ${identifier}`);
    const status = await eventually(async () => (await (await fetch(`${sys.urls[0]}/uploads/${identifier}`)).json()) as { state: string; path: string; sha256: string }, {
      accept: (s) => s.state === 'complete' || s.state === 'failed',
      what: `${name} merged`,
    });
    assert.equal(status?.sha256, sha256(bytes), `${name}: merged`);
    assert.ok((await readFile(path.join(sys.config.dataDir, status!.path))).equals(bytes), `${name}: bytes equal`);
  }
  assert.ok(testAnswers.length >= 1 + 1 + 12 && testAnswers.every((s) => s === 204), 'flow.js tested each chunk first (204: not stored yet)');
  await page.close();
});
