/**
 * Debian's Chromium, headless, driven by playwright-core (never a downloaded browser).
 * The flags keep it off the network this machine does not have.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startLocalCluster, type LocalCluster } from '../../scripts/local-cluster.js';
import { scrape, sumOf } from '../operations/lib/prometheus-text.js';
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
export interface BrowserRig {
  /** Where pages are opened: the one ingest, or nginx in front of several. */
  url: string;
  browser: Browser;
  /** Writes `bytes` to a file the page can be given; returns its path. */
  writeSource(name: string, bytes: Buffer): Promise<string>;
  /** A published file's bytes, read from storage (not over HTTP); `location` is its path in GET /uploads/:id. */
  readStored(identifier: string, location: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/** One ingest instance in this process, with its TestSystem at hand. */
export interface BrowserFixture extends BrowserRig {
  sys: TestSystem;
}

/** nginx over two ingest processes (scripts/local-cluster.ts): any request may land on either. */
export interface ClusterBrowserFixture extends BrowserRig {
  cluster: LocalCluster;
  /** Requests each ingest instance answered on the upload endpoints (/upload, /files/). */
  uploadRequestsPerInstance(): Promise<number[]>;
}

async function sourceFolder() {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'chunkyard-browser-'));
  return {
    async writeSource(name: string, bytes: Buffer) {
      const file = path.join(folder, name);
      await writeFile(file, bytes);
      return file;
    },
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}

export async function startBrowserFixture(): Promise<BrowserFixture> {
  const sys = await startSystem({ worker: true });
  const browser = await launchChromium();
  const sources = await sourceFolder();
  return {
    sys,
    browser,
    url: sys.urls[0]!,
    writeSource: sources.writeSource,
    async readStored(identifier, location) {
      const upload = await sys.readUpload(identifier);
      if (upload?.path !== location) throw new Error(`${identifier}: the state store says ${upload?.path}, GET /uploads/:id ${location}`);
      return sys.readPublished(upload);
    },
    async stop() {
      await browser.close();
      await sys.stop();
      await sources.remove();
    },
  };
}

const ADMIN_PASSWORD = 'browser-cluster-metrics';

export async function startClusterBrowserFixture(): Promise<ClusterBrowserFixture> {
  const cluster = await startLocalCluster({ ingestCount: 2, env: { LOG_LEVEL: 'warn', TRUST_PROXY: 'true', ADMIN_PASSWORD } });
  const browser = await launchChromium().catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  const sources = await sourceFolder();
  return {
    cluster,
    browser,
    url: cluster.url,
    writeSource: sources.writeSource,
    readStored: (_identifier, location) => readFile(path.join(cluster.dataDir, location)),
    async uploadRequestsPerInstance() {
      const texts = await Promise.all(cluster.ingestOpsUrls.map((url) => scrape(`${url}/metrics`, 'admin', ADMIN_PASSWORD)));
      return texts.map((text) => sumOf(text, 'chunkyard_chunk_responses_total'));
    },
    async stop() {
      await browser.close();
      await cluster.stop();
      await sources.remove();
    },
  };
}
