/**
 * The filesystem's part of the sweep: data files of uploads that were abandoned (their
 * state expired) or replaced, and stale probes in tmp/. "Untouched" goes by modification
 * times, so nothing being written is removed; the state store's claim holds off a new
 * upload under the same key while its old bytes go. Published files are never touched.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { STORAGE_KEY_PATTERN } from '../../core/keys.js';
import type { SweepReport } from '../../core/storage-driver.js';
import type { FsLayout } from './fs-layout.js';

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export async function sweepFs(
  layout: FsLayout,
  claim: (storageKey: string) => Promise<boolean>,
  olderThanMs: number,
  now = Date.now(),
): Promise<SweepReport> {
  const report: SweepReport = { uploads: 0, assemblies: 0, bytes: 0 };
  const cutoff = now - olderThanMs;
  for (const name of await entries(layout.partialDir)) {
    if (!STORAGE_KEY_PATTERN.test(name)) continue;
    const file = layout.dataFile(name);
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs > cutoff || !(await claim(name))) continue;
    await rm(file, { force: true });
    report.uploads += 1;
    report.bytes += info.size;
  }
  for (const name of await entries(layout.tmpDir)) {
    const file = path.join(layout.tmpDir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs > cutoff) continue;
    await rm(file, { recursive: true, force: true });
    report.bytes += info.size;
  }
  return report;
}
