/**
 * Moves a received chunk into the upload's chunk folder. Each request stores its chunk
 * under a name of its own (`<chunk number>.<random>`) and Redis records which name counts
 * (record-chunk.lua, first stored wins). So a duplicate, a retry, or a late chunk never
 * overwrites or deletes a file another request or a running merge relies on: each
 * request removes only its own file when Redis did not take it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { errorCodeOf } from '../shared/errors.js';
import type { StorageLayout } from '../shared/storage-layout.js';

export class ChunkFiles {
  constructor(private readonly layout: StorageLayout) {}

  /**
   * Renames a received chunk (already flushed to disk by its writer, with CHUNK_FSYNC)
   * into place; returns its chunk file name. The folder is made only when missing: one
   * system call fewer for every chunk but an upload's first.
   */
  async place(keyHash: string, chunkNumber: number, tempPath: string): Promise<string> {
    const chunkFile = `${chunkNumber}.${randomBytes(6).toString('hex')}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(tempPath, this.layout.chunkPath(keyHash, chunkFile));
        return chunkFile;
      } catch (err) {
        // No folder yet, or `discard` of another request removed it a moment ago.
        if (errorCodeOf(err) !== 'ENOENT' || attempt === 3) throw err;
        await mkdir(this.layout.chunkDir(keyHash), { recursive: true });
      }
    }
  }

  /** Removes every chunk file of an upload (after it was cancelled). */
  async removeAll(keyHash: string): Promise<void> {
    await rm(this.layout.chunkDir(keyHash), { recursive: true, force: true, maxRetries: 3 });
  }

  /** Removes a placed chunk Redis did not count, and its folder when that leaves it empty. */
  async discard(keyHash: string, chunkFile: string): Promise<void> {
    await rm(this.layout.chunkPath(keyHash, chunkFile), { force: true });
    await rmdir(this.layout.chunkDir(keyHash)).catch(() => undefined);
  }
}
