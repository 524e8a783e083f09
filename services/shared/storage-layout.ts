import path from 'node:path';
import { mkdir } from 'node:fs/promises';

/**
 * Where things live under DATA_DIR. All three folders are on one filesystem, so a
 * rename from one to another is atomic. Every name below is made by Chunkyard
 * (hashes, chunk numbers, random suffixes), never taken from a client; the one
 * exception, a published file's name, passes through `sanitizeFilename` first.
 *
 *   tmp/                       request bodies being received
 *   chunks/<key hash>/<n>.<r>  stored chunks, counted once recorded in Redis
 *   files/<upload id>/<name>   merged files; `.<...>.merging` temp files beside them
 */
export class StorageLayout {
  readonly tmpDir: string;
  readonly chunksDir: string;
  readonly filesDir: string;

  constructor(readonly dataDir: string) {
    this.tmpDir = path.join(dataDir, 'tmp');
    this.chunksDir = path.join(dataDir, 'chunks');
    this.filesDir = path.join(dataDir, 'files');
  }

  async ensure(): Promise<void> {
    await Promise.all([this.tmpDir, this.chunksDir, this.filesDir].map((dir) => mkdir(dir, { recursive: true })));
  }

  chunkDir(keyHash: string): string {
    return path.join(this.chunksDir, keyHash);
  }

  chunkPath(keyHash: string, chunkFile: string): string {
    return path.join(this.chunksDir, keyHash, chunkFile);
  }

  uploadFilesDir(uploadId: string): string {
    return path.join(this.filesDir, uploadId);
  }

  /** The path stored in Redis and shown to clients: relative to DATA_DIR. */
  relative(absolutePath: string): string {
    return path.relative(this.dataDir, absolutePath);
  }
}

/** Chunk file names are `<chunk number>.<hex>`; the worker refuses anything else it reads from Redis. */
export const CHUNK_FILE_PATTERN = /^[1-9]\d{0,8}\.[0-9a-f]{12}$/;
