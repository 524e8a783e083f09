/**
 * How an upload's bytes arrive, and the checks a range must pass before a byte of it is
 * stored. An upload is a byte range of known size (or of a size declared later) being
 * filled; a layout says which ranges may fill it:
 *
 * - `pieces`: a grid of fixed-size pieces, sent in any order and in parallel (resumable.js,
 *   flow.js, simple-uploader.js, Dropzone, Fine Uploader, Plupload). Piece i (from 0)
 *   starts at i * pieceSize. Clients round the piece count one of two ways:
 *     floor: n = max(floor(size / pieceSize), 1); the last piece takes the remainder, so it
 *            holds pieceSize .. 2 * pieceSize - 1 bytes (resumable.js's default);
 *     ceil:  n = max(ceil(size / pieceSize), 1); the last piece holds 1 .. pieceSize bytes.
 *   A layout allows one rounding or both (a bit mask). A piece may fit one rounding or
 *   both; the upload keeps the roundings all its pieces fit, and a piece that fits none
 *   of the remaining ones is refused: the same file cannot arrive cut two ways.
 * - `append`: contiguous appends at the end of what is stored (tus, FilePond).
 */
import { UploadError } from './errors.js';

export const FLOOR = 1;
export const CEIL = 2;
export const EITHER = FLOOR | CEIL;

/**
 * `count`: the piece count a client declares instead of a size (Plupload's `chunks`). With the
 * size declared later, the piece size is learnt from the first piece, so the count, not the
 * piece size, is what every request of the upload agrees on (keys.ts).
 */
export type Layout = { kind: 'pieces'; pieceSize: number; roundings: number; count?: number } | { kind: 'append' };

export interface UploadLimits {
  /** The largest upload (MAX_FILE_SIZE, or a token's smaller max_size). */
  maxFileSize: number;
  /** The largest range one request may carry (MAX_CHUNK_SIZE). */
  maxRangeLength: number;
  /** The most pieces one upload may be cut into (MAX_CHUNKS). */
  maxPieces: number;
}

export function pieceCount(size: number, pieceSize: number, rounding: number): number {
  const exact = size / pieceSize;
  return Math.max(rounding === FLOOR ? Math.floor(exact) : Math.ceil(exact), 1);
}

/** Bytes piece `index` (from 0) holds with `rounding`, or undefined when there is no such piece. */
export function pieceLength(size: number, pieceSize: number, rounding: number, index: number): number | undefined {
  const count = pieceCount(size, pieceSize, rounding);
  if (index < 0 || index >= count) return undefined;
  return index < count - 1 ? pieceSize : size - (count - 1) * pieceSize;
}

/** The roundings among `allowed` in which piece `index` holds exactly `length` bytes (0: none). */
export function roundingsFitting(size: number, pieceSize: number, allowed: number, index: number, length: number): number {
  let mask = 0;
  for (const rounding of [FLOOR, CEIL]) {
    if ((allowed & rounding) !== 0 && pieceLength(size, pieceSize, rounding, index) === length) mask |= rounding;
  }
  return mask;
}

/** The piece count once the mask names one geometry; undefined while two different counts remain. */
export function settledPieceCount(size: number, pieceSize: number, mask: number): number | undefined {
  const floor = pieceCount(size, pieceSize, FLOOR);
  const ceil = pieceCount(size, pieceSize, CEIL);
  if (mask === FLOOR) return floor;
  if (mask === CEIL) return ceil;
  return floor === ceil ? floor : undefined;
}

/** Checks an upload's declared size and layout against the limits, before anything is stored. */
export function checkDeclaration(size: number | undefined, layout: Layout, limits: UploadLimits): void {
  if (size !== undefined && size > limits.maxFileSize) {
    throw new UploadError('file_too_large', `The upload's size, ${size} bytes, exceeds the limit of ${limits.maxFileSize} bytes`);
  }
  if (layout.kind === 'pieces' && layout.count !== undefined && layout.count > limits.maxPieces) {
    throw new UploadError('too_many_ranges', `${layout.count} pieces exceed the limit of ${limits.maxPieces}; use larger pieces`);
  }
  if (layout.kind === 'pieces' && size !== undefined) {
    const pieces = pieceCount(size, layout.pieceSize, FLOOR);
    if (pieces > limits.maxPieces) {
      throw new UploadError('too_many_ranges', `${pieces} pieces exceed the limit of ${limits.maxPieces}; use larger pieces`);
    }
  }
}

/**
 * Where piece `index` of `length` bytes goes, and the roundings it fits: checked against
 * the upload's size and the limits before a byte of it is stored. With the size not yet
 * known (Plupload sends it with its last piece only), every piece must be whole.
 */
export function placePiece(
  size: number | undefined,
  layout: { pieceSize: number; roundings: number },
  index: number,
  length: number,
  limits: UploadLimits,
): { offset: number; fits: number } {
  if (length > limits.maxRangeLength) {
    throw new UploadError('range_too_large', `A piece of ${length} bytes exceeds the limit of ${limits.maxRangeLength} bytes`);
  }
  const offset = index * layout.pieceSize;
  if (size === undefined) {
    if (offset + length > limits.maxFileSize) throw new UploadError('file_too_large');
    return { offset, fits: layout.roundings };
  }
  const last = pieceCount(size, layout.pieceSize, layout.roundings & CEIL ? CEIL : FLOOR) - 1;
  if (index > last) {
    throw new UploadError('range_out_of_bounds', `Piece ${index + 1} is past the last piece (${last + 1}) of this file`);
  }
  const fits = roundingsFitting(size, layout.pieceSize, layout.roundings, index, length);
  if (fits === 0) {
    const allowed = [FLOOR, CEIL]
      .filter((rounding) => (layout.roundings & rounding) !== 0)
      .map((rounding) => pieceLength(size, layout.pieceSize, rounding, index))
      .filter((expected, i, all) => expected !== undefined && all.indexOf(expected) === i);
    throw new UploadError(
      'range_size_mismatch',
      `Piece ${index + 1} must hold ${allowed.join(' or ')} bytes for a size of ${size} and pieces of ${layout.pieceSize}, not ${length}`,
    );
  }
  return { offset, fits };
}
