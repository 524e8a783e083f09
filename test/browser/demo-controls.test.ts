/**
 * The demo page under a slowed network: a reload in the middle of an upload resumes it
 * (the chunks already stored answer the test GET with 200 and are not sent again), and
 * the page's pause, resume and cancel buttons do what they say.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { startBrowserFixture, type BrowserFixture } from '../helpers/browser.js';
import { eventually } from '../helpers/eventually.js';
import type { TestSystem } from '../helpers/system.js';
import { randomFile, sha256 } from '../helpers/upload-client.js';

const MiB = 1024 * 1024;
let fixture: BrowserFixture;
let sys: TestSystem;
before(async () => {
  fixture = await startBrowserFixture();
  sys = fixture.sys;
});
after(() => fixture?.stop());

/** A page whose chunk POSTs each take `delayMs` longer, like a slow uplink. */
async function slowPage(delayMs: number): Promise<Page> {
  const page = await fixture.browser.newPage();
  await page.route('**/upload?*', async (route) => {
    if (route.request().method() === 'POST') await sleep(delayMs);
    await route.continue().catch(() => undefined); // aborted by the page meanwhile
  });
  await page.route('**/upload', async (route) => {
    if (route.request().method() === 'POST') await sleep(delayMs);
    await route.continue().catch(() => undefined);
  });
  return page;
}

const writeSource = (name: string, bytes: Buffer) => fixture.writeSource(name, bytes);

/** Waits for `condition`, failing with `what` instead of hanging. */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  await eventually(condition, { what });
}

async function serverState(identifier: string) {
  const response = await fetch(`${sys.urls[0]}/uploads/${identifier}`);
  return response.status === 200 ? ((await response.json()) as { state: string; received: number; path: string; sha256: string }) : undefined;
}

async function identifierOf(page: Page, name: string): Promise<string> {
  const row = page.locator('li.file', { hasText: name });
  await row.waitFor();
  return (await row.getAttribute('data-identifier'))!;
}

test('a reload mid-upload, then the same file again: stored chunks are skipped, the file is correct', async () => {
  const bytes = randomFile(24 * MiB + 99);
  const file = await writeSource('resumed.bin', bytes);
  const first = await slowPage(150);
  await first.goto(sys.urls[0]!);
  await first.setInputFiles('#choose-files input[type=file]', file);
  const identifier = await identifierOf(first, 'resumed.bin');
  await until('8 chunks are stored', async () => ((await serverState(identifier))?.received ?? 0) >= 8);
  await first.reload();
  const storedBeforeReload = (await serverState(identifier))!.received;

  const testAnswers: number[] = [];
  let posts = 0;
  first.on('response', (response) => {
    if (!response.url().includes('/upload?')) return;
    if (response.request().method() === 'GET') testAnswers.push(response.status());
  });
  first.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes('/upload')) posts += 1;
  });
  await first.setInputFiles('#choose-files input[type=file]', file);
  assert.equal(await identifierOf(first, 'resumed.bin'), identifier, 'the same file gets the same identifier after a reload');
  await first.locator('li.file[data-phase="done"]').waitFor({ timeout: 60_000 });

  const skipped = testAnswers.filter((status) => status === 200).length;
  console.log(`resume: ${storedBeforeReload} of 24 chunks stored before the reload; after it, ${skipped} test GETs answered 200 and ${posts} chunks were posted`);
  assert.ok(skipped >= storedBeforeReload, `stored chunks were skipped (${skipped} GET 200s)`);
  assert.ok(posts <= 24 - storedBeforeReload, `only missing chunks were sent (${posts})`);
  const state = (await serverState(identifier))!;
  assert.equal(state.sha256, sha256(bytes));
  assert.ok((await readFile(path.join(sys.config.dataDir, state.path))).equals(bytes));
  assert.equal(await first.locator('li.file .result-sha256').textContent(), sha256(bytes));
  await first.close();
});

test('pause stops sending, resume finishes the file, cancel removes it on the server', async () => {
  const kept = randomFile(16 * MiB + 5);
  const dropped = randomFile(16 * MiB + 7);
  const page = await slowPage(200);
  await page.goto(`${sys.urls[0]}/?simultaneous=2`);
  await page.setInputFiles('#choose-files input[type=file]', [await writeSource('kept.bin', kept), await writeSource('dropped.bin', dropped)]);
  const keptId = await identifierOf(page, 'kept.bin');
  const droppedId = await identifierOf(page, 'dropped.bin');
  const keptRow = page.locator('li.file', { hasText: 'kept.bin' });
  const droppedRow = page.locator('li.file', { hasText: 'dropped.bin' });

  await until('kept.bin has 2 chunks', async () => ((await serverState(keptId))?.received ?? 0) >= 2);
  await keptRow.getByRole('button', { name: 'Pause kept.bin' }).click();
  assert.match((await keptRow.locator('.status').textContent()) ?? '', /^Paused at \d+ %$/);

  // resumable.js works through files in turn: dropped.bin starts once kept.bin is paused.
  await until('dropped.bin has 2 chunks', async () => ((await serverState(droppedId))?.received ?? 0) >= 2);
  await droppedRow.getByRole('button', { name: 'Cancel dropped.bin' }).click();
  assert.equal(await droppedRow.locator('.status').textContent(), 'Cancelled');
  await until('the server has cancelled dropped.bin', async () => (await serverState(droppedId))?.state === 'cancelled');
  // Chunks already on their way when the button was pressed are refused (not counted), and
  // whatever they wrote goes with the sweep.
  const { storageKey } = (await sys.readUpload(droppedId))!;
  await sys.sweep();
  assert.ok(!(await readdir(sys.layout.partialDir)).includes(storageKey), 'no bytes of the cancelled upload left');

  const whilePaused = (await serverState(keptId))!.received;
  await sleep(1_000);
  assert.equal((await serverState(keptId))!.received, whilePaused, 'nothing is sent while paused');

  await keptRow.getByRole('button', { name: 'Resume kept.bin' }).click();
  await page.locator('li.file[data-phase="done"]', { hasText: 'kept.bin' }).waitFor({ timeout: 60_000 });
  const state = (await serverState(keptId))!;
  assert.equal(state.sha256, sha256(kept));
  assert.ok((await readFile(path.join(sys.config.dataDir, state.path))).equals(kept));
  assert.equal(await droppedRow.getAttribute('data-phase'), 'cancelled');
  await page.close();
});
