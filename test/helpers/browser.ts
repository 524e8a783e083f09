/**
 * Debian's Chromium, headless, driven by playwright-core (never a downloaded browser).
 * The flags keep it off the network this machine does not have.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startSystem, type TestSystem } from './system.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A Chunkyard with a worker, a Chromium, and a temp folder for the files a page picks. */
export interface BrowserFixture {
  sys: TestSystem;
  browser: Browser;
  /** Writes `bytes` to a file the page can be given; returns its path. */
  writeSource(name: string, bytes: Buffer): Promise<string>;
  stop(): Promise<void>;
}

export async function startBrowserFixture(): Promise<BrowserFixture> {
  const sys = await startSystem({ worker: true });
  const browser = await launchChromium();
  const folder = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-browser-'));
  return {
    sys,
    browser,
    async writeSource(name, bytes) {
      const file = path.join(folder, name);
      await writeFile(file, bytes);
      return file;
    },
    async stop() {
      await browser.close();
      await sys.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
