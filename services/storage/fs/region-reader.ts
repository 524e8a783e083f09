/**
 * Reads regions of files one after another, always one read ahead of its consumer: while
 * the consumer hashes (or copies) one buffer, the next is being filled, across region
 * boundaries too. Two buffers from the pool; a piece never spans two regions.
 */
import type { FileHandle } from 'node:fs/promises';
import { MissingDataError } from '../../core/storage-driver.js';
import type { BufferPool } from '../buffer-pool.js';

export interface FileRegion {
  file: FileHandle;
  position: number;
  length: number;
  /** Named in errors. */
  label: string;
}


export class RegionReader {
  private readonly buffers: [Buffer, Buffer];
  private turn: 0 | 1 = 0;
  private index = 0;
  private done = 0;
  private ahead: Promise<Buffer | undefined>;

  constructor(
    private readonly regions: FileRegion[],
    private readonly pool: BufferPool,
  ) {
    this.buffers = [pool.take(), pool.take()];
    this.ahead = this.readPiece();
    this.ahead.catch(() => undefined); // surfaced by next()
  }

  /** The next piece, or undefined after the last region; valid until the following call. */
  async next(): Promise<Buffer | undefined> {
    const piece = await this.ahead;
    if (piece !== undefined) {
      this.ahead = this.readPiece();
      this.ahead.catch(() => undefined);
    }
    return piece;
  }

  /** Waits for the read in flight and gives the buffers back. */
  async close(): Promise<void> {
    await this.ahead.catch(() => undefined);
    this.pool.give(this.buffers[0]);
    this.pool.give(this.buffers[1]);
  }

  private async readPiece(): Promise<Buffer | undefined> {
    while (this.index < this.regions.length && this.done === this.regions[this.index]!.length) {
      this.index++;
      this.done = 0;
    }
    const region = this.regions[this.index];
    if (region === undefined) return undefined;
    const buffer = this.buffers[this.turn];
    this.turn = this.turn === 0 ? 1 : 0;
    const wanted = Math.min(buffer.length, region.length - this.done);
    const { bytesRead } = await region.file.read(buffer, 0, wanted, region.position + this.done);
    if (bytesRead === 0) {
      throw new MissingDataError(`${region.label} ended after ${this.done} of its ${region.length} bytes`);
    }
    this.done += bytesRead;
    return buffer.subarray(0, bytesRead);
  }
}
