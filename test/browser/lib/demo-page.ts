/**
 * Driving the demo page (services/ingest/demo/) with one library in headless Chromium: open
 * it with ?client=, pick files, wait until the page shows each one stored, and check each
 * against its source three ways: what GET /uploads/:id reports (state, size, SHA-256), the
 * bytes in storage, and what the page shows. Every browser test of a library goes through here.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import type { BrowserRig } from '../../helpers/browser.js';
import { repoRoot } from '../../helpers/processes.js';
import { randomFile, sha256 } from '../../helpers/upload-client.js';

export interface SourceFile {
  name: string;
  bytes: Buffer;
  /** Where it is on disk, for the page's file input. */
  path: string;
}

/** Random files of these sizes, written once for the whole test file. */
export async function sourceFiles(rig: BrowserRig, sizes: Record<string, number>): Promise<Record<string, SourceFile>> {
  const files: Record<string, SourceFile> = {};
  for (const [name, size] of Object.entries(sizes)) {
    const bytes = randomFile(size);
    files[name] = { name, bytes, path: await rig.writeSource(name, bytes) };
  }
  return files;
}

export interface DemoPage {
  page: Page;
  /** Script errors and Content-Security-Policy violations on the page so far. */
  problems: string[];
}

/** Opens the demo page with `client` (and other page options), recording what goes wrong in it. */
export async function openDemo(rig: BrowserRig, client: string, options: Record<string, string | number> = {}): Promise<DemoPage> {
  const page = await rig.browser.newPage({ viewport: { width: 1100, height: 820 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  // The page's policy is strict (no inline styles or scripts): whatever a library needs that it forbids shows here.
  await page.exposeFunction('reportViolation', (text: string) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { reportViolation: (text: string) => void }).reportViolation;
      report(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}: ${event.sample}`);
    });
  });
  const query = new URLSearchParams({ client, ...Object.fromEntries(Object.entries(options).map(([key, value]) => [key, String(value)])) });
  await page.goto(`${rig.url}/?${query}`);
  return { page, problems };
}

/** The newest row of the page's file list showing `name` (a file picked again gets a row of its own or its old one back). */
export function rowOf(page: Page, name: string) {
  return page.locator('li.file').filter({ has: page.locator('.name', { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).first();
}

/**
 * Gives the page's file input `input` these files and waits until the page shows each one
 * finished (stored, failed or cancelled); fails, with what the page shows, unless all are stored.
 */
export async function pickAndWait(demo: DemoPage, input: string, files: SourceFile[], timeoutMs = 120_000): Promise<void> {
  const names = files.map((file) => file.name);
  await demo.page.setInputFiles(input, files.map((file) => file.path));
  await demo.page
    .waitForFunction((wanted) => {
      const finished = ['done', 'failed', 'cancelled'];
      const rows = [...document.querySelectorAll<HTMLElement>('li.file')];
      return wanted.every((name) => {
        const row = rows.find((li) => li.querySelector('.name')?.textContent === name);
        return row !== undefined && finished.includes(row.dataset.phase ?? '');
      });
    }, names, { timeout: timeoutMs, polling: 100 })
    .catch(async (err: Error) => {
      throw new Error(`${err.message}; the page shows:\n${await demo.page.locator('#files').innerText()}\n${demo.problems.join('\n')}`);
    });
  for (const name of names) {
    const row = rowOf(demo.page, name);
    assert.equal(await row.getAttribute('data-phase'), 'done', `${name}: ${await row.locator('.status').textContent()}`);
  }
}

interface UploadStatus {
  identifier: string;
  state: string;
  filename: string;
  size: number;
  sha256: string;
  path: string;
}

/**
 * Each file is stored whole and shown so: GET /uploads/:id (the id the page shows for the
 * row) says complete with the source's size and SHA-256, the stored bytes equal the source,
 * and the page shows that SHA-256, that place and that size. Resolves with each file's status.
 */
export async function assertStored(rig: BrowserRig, demo: DemoPage, files: SourceFile[]): Promise<Map<string, UploadStatus>> {
  const statuses = new Map<string, UploadStatus>();
  for (const { name, bytes } of files) {
    const row = rowOf(demo.page, name);
    const identifier = await row.getAttribute('data-identifier');
    assert.ok(identifier, `${name}: the page knows the upload's id`);
    const response = await fetch(`${rig.url}/uploads/${encodeURIComponent(identifier)}`);
    assert.equal(response.status, 200, `${name}: GET /uploads/${identifier}`);
    const status = (await response.json()) as UploadStatus;
    assert.equal(status.state, 'complete', `${name}: state`);
    assert.equal(status.filename, name, `${name}: the stored name`);
    assert.equal(status.size, bytes.length, `${name}: the stored size`);
    assert.equal(status.sha256, sha256(bytes), `${name}: the SHA-256 the server reports`);
    assert.ok((await rig.readStored(identifier, status.path)).equals(bytes), `${name}: the stored bytes equal the source`);
    assert.equal(await row.locator('.status').textContent(), 'Stored');
    assert.equal(await row.locator('.result-sha256').textContent(), status.sha256, `${name}: the page shows the SHA-256`);
    assert.equal(await row.locator('.result-path').textContent(), status.path, `${name}: the page shows where it is stored`);
    assert.match((await row.locator('.result-size').textContent()) ?? '', new RegExp(`\\b${bytes.length === 1 ? '1 byte' : `${bytes.length.toLocaleString('en')} bytes`}`));
    statuses.set(name, status);
  }
  return statuses;
}

/** Counts the page's requests that `matches` while they are in flight: the most at once, and how many in all. */
export function trackRequests(page: Page, matches: (request: Request) => boolean) {
  let now = 0;
  const counts = { max: 0, total: 0 };
  page.on('request', (request) => {
    if (!matches(request)) return;
    now += 1;
    counts.total += 1;
    counts.max = Math.max(counts.max, now);
  });
  const finished = (request: Request) => {
    if (matches(request)) now -= 1;
  };
  page.on('requestfinished', finished);
  page.on('requestfailed', finished);
  return {
    get max() {
      return counts.max;
    },
    get total() {
      return counts.total;
    },
    /** Starts counting afresh (requests already in flight still count as in flight). */
    reset() {
      counts.max = now;
      counts.total = 0;
    },
  };
}

/** The page as it is now, in test-output/browser/<library>.png, to look at. */
export async function screenshot(demo: DemoPage, library: string): Promise<void> {
  const folder = path.join(repoRoot, 'test-output', 'browser');
  await mkdir(folder, { recursive: true });
  await demo.page.screenshot({ path: path.join(folder, `${library}.png`), fullPage: true });
}

/**
 * Picks `files` at once through `input` and checks each stored (assertStored), and that the
 * page saw no script error or policy violation meanwhile.
 */
export async function uploadAndCheck(rig: BrowserRig, demo: DemoPage, input: string, files: SourceFile[]): Promise<Map<string, UploadStatus>> {
  await pickAndWait(demo, input, files);
  const statuses = await assertStored(rig, demo, files);
  assert.deepEqual(demo.problems, [], 'no script errors or policy violations on the page');
  return statuses;
}
