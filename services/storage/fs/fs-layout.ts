/**
 * Where the filesystem driver keeps things under DATA_DIR. Everything is on one
 * filesystem, so publishing is an atomic rename. Every name here is made by Chunkyard
 * (storage keys are hashes, upload ids random hex); the one exception, a published file's
 * name, passes through `sanitizeFilename` first.
 *
 *   partial/<storage key>      an upload's bytes, each range written at its offset
 *   files/<upload id>/<name>   published files (the data file, renamed when merged)
 *   tmp/                       readiness probes
 */
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDirectory } from './durability.js';

export class FsLayout {
  readonly partialDir: string;
  readonly filesDir: string;
  readonly tmpDir: string;

  constructor(readonly dataDir: string) {
    this.partialDir = path.join(dataDir, 'partial');
    this.filesDir = path.join(dataDir, 'files');
    this.tmpDir = path.join(dataDir, 'tmp');
  }

  /**
   * Creates the folders, durably. A folder that is a symbolic link is refused: writes
   * must never follow a link planted in the data directory to somewhere else.
   */
  async ensure(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    for (const dir of [this.partialDir, this.filesDir, this.tmpDir]) {
      await mkdir(dir, { recursive: true });
      if (!(await lstat(dir)).isDirectory()) throw new Error(`${dir} must be a directory, not a link`);
    }
    await fsyncDirectory(this.dataDir);
  }

  dataFile(storageKey: string): string {
    return path.join(this.partialDir, storageKey);
  }

  uploadFilesDir(uploadId: string): string {
    return path.join(this.filesDir, uploadId);
  }

  /** The location stored in Redis and shown to clients: relative to DATA_DIR. */
  relative(absolutePath: string): string {
    return path.relative(this.dataDir, absolutePath);
  }

  absolute(location: string): string {
    const resolved = path.resolve(this.dataDir, location);
    if (!resolved.startsWith(`${this.filesDir}${path.sep}`)) throw new Error(`${location} is not a published file`);
    return resolved;
  }
}
