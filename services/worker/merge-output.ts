/**
 * The merged file while it is being built: chunk files are appended in order, streaming
 * through two pooled buffers (memory does not grow with the file), every chunk's length
 * checked, SHA-256 computed on the way, and the file flushed to disk before it counts.
 */
import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { BufferPool } from './buffer-pool.js';
import { ChunkReader, type ChunkSource } from './chunk-reader.js';

export { BrokenChunkError, type ChunkSource } from './chunk-reader.js';

export interface MergedFile {
  size: number;
  sha256: string;
}

export interface MergeOutputOptions {
  /** Buffers of the copy, shared by every merge of the process. */
  buffers: BufferPool;
  /** Told how many bytes are in, every `progressEvery` bytes. */
  onProgress?: (bytesWritten: number) => Promise<void> | void;
  /** Each report is a Redis write (../shared/LESSONS.md): every few megabytes, not every buffer. */
  progressEvery?: number;
  /**
   * Starts writing back what is in the page cache every this many bytes, without waiting
   * for it, so the disk works while the copy goes on and the final fsync has little left.
   */
  flushEvery?: number;
  /** Stops the copy (the caller then discards the file). */
  signal?: AbortSignal;
}

export class MergeOutput {
  private readonly hash = createHash('sha256');
  private written = 0;
  private nextProgress: number;
  private nextFlush: number;
  private flushing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    private readonly options: MergeOutputOptions,
  ) {
    this.nextProgress = options.progressEvery ?? Number.POSITIVE_INFINITY;
    this.nextFlush = options.flushEvery ?? Number.POSITIVE_INFINITY;
  }

  /** Creates the file; 'wx': never one that exists, each attempt has its own temp name. */
  static async create(path: string, options: MergeOutputOptions): Promise<MergeOutput> {
    return new MergeOutput(await open(path, 'wx'), path, options);
  }

  get size(): number {
    return this.written;
  }

  /**
   * Appends chunk files in order; `chunks[i]` is chunk number `firstNumber + i` (for
   * errors). Each piece is written (in the thread pool) while it is hashed (here) and the
   * next one is read.
   */
  async append(chunks: ChunkSource[], firstNumber: number): Promise<void> {
    const reader = new ChunkReader(chunks, firstNumber, this.options.buffers);
    try {
      for (let piece = await reader.next(); piece !== undefined; piece = await reader.next()) {
        this.options.signal?.throwIfAborted();
        const writing = writeAll(this.file, piece, this.written);
        this.hash.update(piece); // both only read `piece`
        await writing;
        this.written += piece.length;
        await this.reportProgress();
        this.startFlushWhenDue();
      }
    } finally {
      await reader.close();
    }
  }

  /** Flushes and closes the file; a failed flush or close is a failed merge (tusd learned this). */
  async finish(): Promise<MergedFile> {
    await this.flushing;
    await this.file.sync();
    await this.file.close();
    return { size: this.written, sha256: this.hash.digest('hex') };
  }

  /** Closes and removes the file, after a failure or when the merge is given up. */
  async discard(): Promise<void> {
    await this.flushing.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private async reportProgress(): Promise<void> {
    if (this.written < this.nextProgress) return;
    this.nextProgress = this.written + (this.options.progressEvery ?? Number.POSITIVE_INFINITY);
    await this.options.onProgress?.(this.written);
  }

  private startFlushWhenDue(): void {
    if (this.written < this.nextFlush) return;
    this.nextFlush = this.written + (this.options.flushEvery ?? Number.POSITIVE_INFINITY);
    // One flush at a time; its error surfaces in finish().
    this.flushing = this.flushing.then(() => this.file.datasync());
    this.flushing.catch(() => undefined);
  }
}

async function writeAll(target: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await target.write(buffer, offset, buffer.length - offset, position + offset);
    offset += bytesWritten;
  }
}
