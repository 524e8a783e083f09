/**
 * simple-uploader.js (docs/protocols/simple-uploader.md) on `/upload`: resumable.js's
 * protocol with its field names unprefixed (`chunkNumber`, `chunkSize`, ..., `identifier`),
 * served by the same handlers (resumable/), with a status table of its own (statuses.ts).
 *
 * Its `checkChunkUploadedByResponse` mode asks once per file instead of once per chunk: the
 * answer to chunk 1's test GET (or, when that was not a 200, to chunk 1's POST) must say which
 * chunks are stored. Both answers carry `uploaded_chunks`, the stored chunks' numbers (from 1,
 * ascending): every chunk once the upload is complete.
 */
import type { Access } from '../../../core/core-dependencies.js';
import { CEIL, FLOOR, pieceCount, settledPieceCount } from '../../../core/layout.js';
import type { UploadCore } from '../../../core/upload-core.js';
import type { ProtocolDependencies, UploadProtocol } from '../protocol.js';
import type { ChunkRequest } from '../resumable/fields.js';
import { chunkProtocol } from '../resumable/resumable-protocol.js';
import { renderSimpleUploaderError } from './statuses.js';

export const SIMPLE_UPLOADER = 'simple-uploader';

/** The numbers (from 1) of the chunks stored for this chunk's upload. */
export async function uploadedChunks(core: UploadCore, access: Access, chunk: ChunkRequest): Promise<number[]> {
  const upload = await core.read(access, chunk.identifier);
  if (!upload || upload.protocol !== SIMPLE_UPLOADER || upload.layout.kind !== 'pieces' || upload.size === undefined) return [];
  const { pieceSize } = upload.layout;
  if (upload.state === 'queued' || upload.state === 'merging' || upload.state === 'complete') {
    const count = settledPieceCount(upload.size, pieceSize, upload.roundings)
      ?? Math.max(pieceCount(upload.size, pieceSize, FLOOR), pieceCount(upload.size, pieceSize, CEIL));
    return Array.from({ length: count }, (_, i) => i + 1);
  }
  if (upload.state !== 'receiving') return [];
  const offsets = await core.storedOffsets(access, chunk.identifier);
  return offsets.filter((offset) => offset % pieceSize === 0).map((offset) => offset / pieceSize + 1);
}

export function simpleUploaderProtocol(deps: ProtocolDependencies): UploadProtocol {
  const listed = async (chunk: ChunkRequest, access: Access, answer: Record<string, unknown>) =>
    chunk.chunkNumber === 1 ? { ...answer, uploaded_chunks: await uploadedChunks(deps.core, access, chunk) } : answer;
  return chunkProtocol(deps, {
    name: SIMPLE_UPLOADER,
    prefixes: [''],
    renderError: renderSimpleUploaderError,
    storedAnswer: (_deps, _ctx, chunk, access) => listed(chunk, access, { stored: true, chunkNumber: chunk.chunkNumber }),
    uploadAnswer: (_deps, chunk, access, answer) => listed(chunk, access, answer),
  });
}
