/**
 * Chunk geometry of resumable.js and flow.js (../shared/PROTOCOL.md, "Chunk geometry").
 *
 * Chunk k (from 1) starts at (k - 1) * chunkSize. Clients round the chunk count one of
 * two ways, and the count they send (TotalChunks) can be wrong, so the server works out
 * both from TotalSize and ChunkSize:
 * - floor (the default): n = max(floor(total / size), 1); the last chunk takes the
 *   remainder, so it holds size .. 2 * size - 1 bytes.
 * - ceil (`forceChunkSize`): n = max(ceil(total / size), 1); the last chunk holds 1 .. size.
 *
 * A chunk may fit one mode or both; an upload keeps the modes all its chunks fit
 * (a bit mask), and is complete when it has every chunk of a single remaining mode.
 */
export const FLOOR_MODE = 1;
export const CEIL_MODE = 2;
export const BOTH_MODES = FLOOR_MODE | CEIL_MODE;

export interface Geometry {
  readonly totalSize: number;
  readonly chunkSize: number;
}

export function chunkCount({ totalSize, chunkSize }: Geometry, mode: number): number {
  const exact = totalSize / chunkSize;
  return Math.max(mode === FLOOR_MODE ? Math.floor(exact) : Math.ceil(exact), 1);
}

/** Bytes chunk `chunkNumber` holds in `mode`, or undefined when the mode has no such chunk. */
export function expectedChunkLength(geometry: Geometry, mode: number, chunkNumber: number): number | undefined {
  const count = chunkCount(geometry, mode);
  if (chunkNumber < 1 || chunkNumber > count) return undefined;
  if (chunkNumber < count) return geometry.chunkSize;
  return geometry.totalSize - (count - 1) * geometry.chunkSize;
}

/** The mask of modes in which chunk `chunkNumber` holds exactly `length` bytes (0: none). */
export function modesFitting(geometry: Geometry, chunkNumber: number, length: number): number {
  let mask = 0;
  for (const mode of [FLOOR_MODE, CEIL_MODE]) {
    if (expectedChunkLength(geometry, mode, chunkNumber) === length) mask |= mode;
  }
  return mask;
}

/** The chunk count once the mask names one geometry; undefined while two different counts remain. */
export function settledChunkCount(geometry: Geometry, mask: number): number | undefined {
  const floor = chunkCount(geometry, FLOOR_MODE);
  const ceil = chunkCount(geometry, CEIL_MODE);
  if (mask === FLOOR_MODE) return floor;
  if (mask === CEIL_MODE) return ceil;
  return floor === ceil ? floor : undefined;
}

/** The single mode a settled mask stands for (either, when both give the same geometry). */
export function settledMode(mask: number): number {
  return mask === CEIL_MODE ? CEIL_MODE : FLOOR_MODE;
}
