/**
 * Concatenates chunk files, in order, into a new file: streaming with a fixed buffer
 * size (memory does not grow with the file), checking every chunk's length, hashing
 * with SHA-256 on the way, and flushing to disk before it reports success.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { errorCodeOf } from '../shared/errors.js';

export interface ChunkSource {
  path: string;
  expectedLength: number;
}

export interface MergeOutput {
  size: number;
  sha256: string;
}

/** A chunk is missing or has the wrong length: retrying the merge cannot fix it. */
export class BrokenChunkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokenChunkError';
  }
}

const READ_SIZE = 1024 * 1024;

export interface MergeChunksOptions {
  onProgress: (bytesWritten: number) => Promise<void> | void;
  /** Bytes between two progress reports: each one is a Redis write (../shared/LESSONS.md). */
  progressEvery?: number;
  /** Stops the merge (and removes the target) when aborted. */
  signal?: AbortSignal;
}

export async function mergeChunks(
  chunks: ChunkSource[],
  targetPath: string,
  { onProgress, progressEvery = 16 * READ_SIZE, signal }: MergeChunksOptions,
): Promise<MergeOutput> {
  const hash = createHash('sha256');
  // 'wx': never write into a file that exists; each attempt has its own temp name.
  const target = await open(targetPath, 'wx');
  // Two buffers for the whole merge: one is read into while the other is hashed and
  // written. No per-read allocation, so no garbage for the GC to chase.
  const buffers = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)];
  let turn = 0;
  let written = 0;
  let nextProgress = progressEvery;
  try {
    for (const [index, chunk] of chunks.entries()) {
      let chunkBytes = 0;
      let source;
      try {
        source = await open(chunk.path, 'r');
      } catch (err) {
        if (errorCodeOf(err) === 'ENOENT') throw new BrokenChunkError(`chunk ${index + 1} is missing on disk`, { cause: err });
        throw err;
      }
      try {
        let pending = source.read(buffers[turn]!, 0, READ_SIZE, null);
        for (;;) {
          const { bytesRead, buffer } = await pending;
          if (bytesRead === 0) break;
          signal?.throwIfAborted();
          chunkBytes += bytesRead;
          if (chunkBytes > chunk.expectedLength) break;
          turn ^= 1;
          pending = source.read(buffers[turn]!, 0, READ_SIZE, null);
          const view = buffer.subarray(0, bytesRead);
          const writing = writeAll(target, view, written); // in the thread pool...
          hash.update(view); // ...while the hash runs here; both only read `view`
          await writing;
          written += bytesRead;
          if (written >= nextProgress) {
            nextProgress += progressEvery;
            await onProgress(written);
          }
        }
        await pending.catch(() => undefined); // the read-ahead must finish before its buffer is reused
      } finally {
        await source.close();
      }
      if (chunkBytes !== chunk.expectedLength) {
        throw new BrokenChunkError(`chunk ${index + 1} holds ${chunkBytes} bytes, expected ${chunk.expectedLength}`);
      }
    }
    await target.sync();
  } catch (err) {
    await target.close().catch(() => undefined);
    await rm(targetPath, { force: true });
    throw err;
  }
  // A failed close is a failed merge (tusd learned this): let it throw.
  await target.close();
  return { size: written, sha256: hash.digest('hex') };
}

async function writeAll(target: Awaited<ReturnType<typeof open>>, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await target.write(buffer, offset, buffer.length - offset, position + offset);
    offset += bytesWritten;
  }
}
