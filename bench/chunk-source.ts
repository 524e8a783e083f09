/**
 * The bytes every client in the benchmark sends: deterministic, different for every
 * file and chunk, and cheap to produce (a view into one random pool, never a copy), so
 * the client's CPU stays small and identical for Chunkyard and every baseline.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface ChunkSpec {
  /** 1-based, like resumable.js */
  number: number;
  start: number;
  end: number;
}

/** resumable.js's default cut (floor rounding: the last chunk takes the remainder). */
export function cutChunks(totalSize: number, chunkSize: number): ChunkSpec[] {
  const count = Math.max(Math.floor(totalSize / chunkSize), 1);
  return Array.from({ length: count }, (_, i) => ({
    number: i + 1,
    start: i * chunkSize,
    end: i === count - 1 ? totalSize : (i + 1) * chunkSize,
  }));
}

const OFFSET_SPAN = 64 * 1024;

export class ChunkSource {
  private readonly pool: Buffer;
  private readonly hashes = new Map<string, string>();

  constructor(readonly chunkSize: number) {
    this.pool = randomBytes(2 * chunkSize + OFFSET_SPAN);
  }

  /** The bytes of one chunk of file `fileIndex`. */
  bytes(fileIndex: number, chunk: ChunkSpec): Buffer {
    const offset = (fileIndex * 7919 + chunk.number * 104_729) % OFFSET_SPAN;
    return this.pool.subarray(offset, offset + (chunk.end - chunk.start));
  }

  /**
   * The bytes [start, end) of file `fileIndex` of `totalSize` bytes, as views of the chunks
   * that hold them (no copies): for clients that cut a file otherwise than in chunks (tus
   * partial uploads, S3 parts of 5 MiB), the same file bytes as the chunked clients send.
   */
  slices(fileIndex: number, totalSize: number, start: number, end: number): Buffer[] {
    const views: Buffer[] = [];
    for (const chunk of cutChunks(totalSize, this.chunkSize)) {
      if (chunk.end <= start || chunk.start >= end) continue;
      const from = Math.max(start, chunk.start) - chunk.start;
      const to = Math.min(end, chunk.end) - chunk.start;
      views.push(this.bytes(fileIndex, chunk).subarray(from, to));
    }
    return views;
  }

  /** SHA-256 of the whole file `fileIndex` of `totalSize` bytes (cached: computed outside timings). */
  sha256(fileIndex: number, totalSize: number): string {
    const key = `${fileIndex}:${totalSize}`;
    let hex = this.hashes.get(key);
    if (hex === undefined) {
      const hash = createHash('sha256');
      for (const chunk of cutChunks(totalSize, this.chunkSize)) hash.update(this.bytes(fileIndex, chunk));
      hex = hash.digest('hex');
      this.hashes.set(key, hex);
    }
    return hex;
  }
}
