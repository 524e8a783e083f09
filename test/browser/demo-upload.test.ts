/**
 * The demo page with the real resumable.js in headless Chromium: several files, four
 * uploads at once, each merged byte for byte and shown complete with its SHA-256.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { repoRoot } from '../helpers/processes.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
let fixture: BrowserFixture;
before(async () => {
  fixture = await startBrowserFixture();
});
after(() => fixture?.stop());

test('resumable.js uploads 1 B, 1 MiB, 1 MiB + 1 B and 30 MiB, four at a time; the page shows each stored', async () => {
  const files = new Map<string, Buffer>([
    ['one-byte.bin', randomFile(1)],
    ['exactly-one-mib.bin', randomFile(MiB)],
    ['one-mib-and-a-byte.bin', randomFile(MiB + 1)],
    ['thirty-mib.bin', randomFile(30 * MiB + 4321)],
  ]);
  const { sys, browser } = fixture;
  const paths = await Promise.all([...files].map(([name, bytes]) => fixture.writeSource(name, bytes)));

  const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  let posts = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes('/upload')) posts += 1;
  });
  await page.goto(sys.urls[0]!);
  await page.setInputFiles('#choose-files input[type=file]', paths);
  await page
    .waitForFunction(() => document.querySelectorAll('li.file[data-phase="done"]').length === 4, undefined, { timeout: 60_000 })
    .catch(async (err: Error) => {
      throw new Error(`${err.message}; the page shows:\n${await page.locator('#files').innerText()}`);
    });

  for (const [name, bytes] of files) {
    const row = page.locator('li.file', { hasText: name });
    assert.equal(await row.locator('.status').textContent(), 'Stored');
    assert.equal(await row.locator('.result-sha256').textContent(), sha256(bytes), `${name}: the page shows the right SHA-256`);
    const identifier = await row.getAttribute('data-identifier');
    const status = (await (await fetch(`${sys.urls[0]}/uploads/${identifier}`)).json()) as { path: string; sha256: string };
    assert.equal(await row.locator('.result-path').textContent(), status.path);
    assert.ok((await readFile(path.join(sys.config.dataDir, status.path))).equals(bytes), `${name}: merged bytes equal the source`);
  }
  assert.ok(posts >= 1 + 1 + 1 + 30, `every chunk was posted (${posts})`);
  assert.deepEqual(errors, [], 'no script errors on the page');

  const screenshots = path.join(repoRoot, 'test-output', 'browser');
  await mkdir(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, 'finished.png'), fullPage: true });
  await page.close();
});
