/**
 * Reads chunk files one after another, always one read ahead of its consumer: while the
 * consumer writes and hashes one buffer, the next is being filled, across chunk
 * boundaries too (the next file is opened while the last piece of the current one is
 * written). Two buffers from the pool; a piece never spans two chunks.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { errorCodeOf } from '../shared/errors.js';
import type { BufferPool } from './buffer-pool.js';

export interface ChunkSource {
  path: string;
  expectedLength: number;
}

/** A chunk is missing or has the wrong length: retrying the merge cannot fix it. */
export class BrokenChunkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokenChunkError';
  }
}

interface OpenChunk {
  file: FileHandle;
  number: number;
  length: number;
  position: number;
}

export class ChunkReader {
  private readonly buffers: [Buffer, Buffer];
  private turn: 0 | 1 = 0;
  private index = 0;
  private current: OpenChunk | undefined;
  private ahead: Promise<Buffer | undefined>;

  /** `chunks[i]` is chunk number `firstNumber + i` (in error messages). */
  constructor(
    private readonly chunks: ChunkSource[],
    private readonly firstNumber: number,
    private readonly pool: BufferPool,
  ) {
    this.buffers = [pool.take(), pool.take()];
    this.ahead = this.readPiece();
    this.ahead.catch(() => undefined); // surfaced by next()
  }

  /**
   * The next piece, or undefined after the last chunk. The piece is valid until the
   * following call, which reuses its buffer.
   */
  async next(): Promise<Buffer | undefined> {
    const piece = await this.ahead;
    if (piece !== undefined) {
      this.ahead = this.readPiece();
      this.ahead.catch(() => undefined);
    }
    return piece;
  }

  /** Waits for the read in flight, closes the open chunk and gives the buffers back. */
  async close(): Promise<void> {
    await this.ahead.catch(() => undefined);
    await this.current?.file.close().catch(() => undefined);
    this.current = undefined;
    this.pool.give(this.buffers[0]);
    this.pool.give(this.buffers[1]);
  }

  private async readPiece(): Promise<Buffer | undefined> {
    while (this.current === undefined || this.current.position === this.current.length) {
      if (this.current) await this.closeCurrent();
      if (this.index === this.chunks.length) return undefined;
      this.current = await this.openChunk(this.chunks[this.index]!, this.firstNumber + this.index);
      this.index++;
    }
    const chunk = this.current;
    const buffer = this.buffers[this.turn];
    this.turn = this.turn === 0 ? 1 : 0;
    const wanted = Math.min(buffer.length, chunk.length - chunk.position);
    const { bytesRead } = await chunk.file.read(buffer, 0, wanted, chunk.position);
    if (bytesRead === 0) throw new BrokenChunkError(`chunk ${chunk.number} ended after ${chunk.position} bytes, expected ${chunk.length}`);
    chunk.position += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  /** Opens a chunk file and checks its length before a byte of it is used. */
  private async openChunk(source: ChunkSource, number: number): Promise<OpenChunk> {
    let file: FileHandle;
    try {
      file = await open(source.path, 'r');
    } catch (err) {
      if (errorCodeOf(err) === 'ENOENT') throw new BrokenChunkError(`chunk ${number} is missing on disk`, { cause: err });
      throw err;
    }
    const { size } = await file.stat();
    if (size !== source.expectedLength) {
      await file.close();
      throw new BrokenChunkError(`chunk ${number} holds ${size} bytes, expected ${source.expectedLength}`);
    }
    return { file, number, length: size, position: 0 };
  }

  private async closeCurrent(): Promise<void> {
    const done = this.current!;
    this.current = undefined;
    await done.file.close();
  }
}
