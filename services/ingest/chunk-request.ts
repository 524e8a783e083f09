/**
 * A chunk request checked against the server's limits and the upload's geometry,
 * before a single body byte is stored.
 */
import { CEIL_MODE, FLOOR_MODE, chunkCount, expectedChunkLength, modesFitting, type Geometry } from '../shared/chunk-geometry.js';
import { ChunkyardError } from '../shared/errors.js';
import { uploadKeyHash } from '../shared/upload-key.js';
import { readChunkFields, type ChunkFields, type RawFields } from './chunk-fields.js';

export interface ChunkLimits {
  maxFileSize: number;
  maxChunkSize: number;
  maxChunks: number;
}

export interface ChunkRequest {
  fields: ChunkFields;
  scope: string;
  keyHash: string;
  geometry: Geometry;
  /** The rounding modes (chunk-geometry.ts) in which this chunk has exactly its declared size. */
  modeMask: number;
  floorCount: number;
  ceilCount: number;
  /** The metadata every chunk of an upload must agree on, as one comparable string. */
  fingerprint: string;
}

export function parseChunkRequest(sources: RawFields[], limits: ChunkLimits, scope: string): ChunkRequest {
  const fields = readChunkFields(sources);
  const geometry = { totalSize: fields.totalSize, chunkSize: fields.chunkSize };

  if (fields.totalSize > limits.maxFileSize) {
    throw new ChunkyardError('file_too_large', `TotalSize ${fields.totalSize} exceeds the limit of ${limits.maxFileSize} bytes`);
  }
  if (fields.currentChunkSize > limits.maxChunkSize) {
    throw new ChunkyardError('chunk_too_large', `CurrentChunkSize ${fields.currentChunkSize} exceeds the limit of ${limits.maxChunkSize} bytes`);
  }
  const floorCount = chunkCount(geometry, FLOOR_MODE);
  const ceilCount = chunkCount(geometry, CEIL_MODE);
  if (floorCount > limits.maxChunks) {
    throw new ChunkyardError('too_many_chunks', `${floorCount} chunks exceed the limit of ${limits.maxChunks}; use larger chunks`);
  }
  if (fields.chunkNumber > ceilCount) {
    throw new ChunkyardError('chunk_out_of_range', `ChunkNumber ${fields.chunkNumber} is past the last chunk (${ceilCount}) of this file`);
  }
  const modeMask = modesFitting(geometry, fields.chunkNumber, fields.currentChunkSize);
  if (modeMask === 0) {
    const allowed = [FLOOR_MODE, CEIL_MODE]
      .map((mode) => expectedChunkLength(geometry, mode, fields.chunkNumber))
      .filter((length, i, all) => length !== undefined && all.indexOf(length) === i);
    throw new ChunkyardError(
      'chunk_size_mismatch',
      `CurrentChunkSize of chunk ${fields.chunkNumber} must be ${allowed.join(' or ')} for TotalSize ${fields.totalSize} and ChunkSize ${fields.chunkSize}, not ${fields.currentChunkSize}`,
    );
  }
  return {
    fields,
    scope,
    keyHash: uploadKeyHash(scope, fields.identifier),
    geometry,
    modeMask,
    floorCount,
    ceilCount,
    fingerprint: JSON.stringify([fields.totalSize, fields.chunkSize, fields.filename, fields.relativePath]),
  };
}
