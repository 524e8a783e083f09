/**
 * The sweep: removes what abandoned uploads left on disk. Redis expires an upload's state
 * after UPLOAD_TTL without a chunk; this removes
 * - chunk folders no live upload owns (no state, or a finished one) untouched for UPLOAD_TTL,
 * - request bodies in tmp/ and merge temp files untouched for UPLOAD_TTL
 *   (left by a process that was killed mid-write).
 * "Untouched" goes by modification times, so nothing being written is ever removed.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { StorageLayout } from '../shared/storage-layout.js';
import type { UploadStore } from '../shared/upload-store.js';
import { MERGE_TEMP_SUFFIX } from './merge-destination.js';

export interface SweepReport {
  chunkFolders: number;
  tempFiles: number;
  bytes: number;
}

const LIVE_STATES = new Set(['receiving', 'queued', 'merging']);

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Newest modification time and total size of a file, or of a folder and the files in it. */
async function footprint(target: string): Promise<{ newest: number; bytes: number } | undefined> {
  const info = await stat(target).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isDirectory()) return { newest: info.mtimeMs, bytes: info.size };
  let newest = info.mtimeMs;
  let bytes = 0;
  for (const name of await entries(target)) {
    const inner = await stat(path.join(target, name)).catch(() => undefined);
    if (!inner) continue;
    newest = Math.max(newest, inner.mtimeMs);
    bytes += inner.size;
  }
  return { newest, bytes };
}

export function createSweeper(options: { store: UploadStore; layout: StorageLayout; ttlSeconds: number; logger: Logger; now?: () => number }) {
  const { store, layout, logger } = options;
  const now = options.now ?? Date.now;

  return async function sweep(): Promise<SweepReport> {
    const report: SweepReport = { chunkFolders: 0, tempFiles: 0, bytes: 0 };
    const cutoff = now() - options.ttlSeconds * 1000;
    const removeIfStale = async (target: string, kind: 'chunkFolders' | 'tempFiles') => {
      const found = await footprint(target);
      if (!found || found.newest > cutoff) return;
      await rm(target, { recursive: true, force: true });
      report[kind] += 1;
      report.bytes += found.bytes;
    };

    for (const keyHash of await entries(layout.chunksDir)) {
      const upload = await store.readUpload(keyHash);
      if (upload && LIVE_STATES.has(upload.state)) continue;
      await removeIfStale(layout.chunkDir(keyHash), 'chunkFolders');
    }
    for (const name of await entries(layout.tmpDir)) await removeIfStale(path.join(layout.tmpDir, name), 'tempFiles');
    for (const uploadId of await entries(layout.filesDir)) {
      const dir = layout.uploadFilesDir(uploadId);
      for (const name of (await entries(dir)).filter((n) => n.endsWith(MERGE_TEMP_SUFFIX))) {
        await removeIfStale(path.join(dir, name), 'tempFiles');
      }
    }
    if (report.chunkFolders + report.tempFiles > 0) logger.info(report, 'swept abandoned upload files');
    return report;
  };
}
