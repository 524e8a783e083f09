/**
 * Dropzone with `chunking: true` (docs/protocols/dropzone.md) on `/upload`: one multipart
 * POST (or PUT) per chunk, its `dz*` fields before the file part; chunks one at a time in
 * order, or several at once with `parallelChunkUploads`. No finalising request: the upload
 * is complete once its stored chunks hold `dztotalfilesize` bytes (the core decides, in the
 * one atomic step that records the last of them, on whichever instance).
 *
 * Files of up to one chunk (and 0-byte files) come whole, without any `dz*` field: the
 * plain-form adapter (plain-form/) stores them.
 */
import { UploadError } from '../../../core/errors.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { FieldSource } from '../shared/field-source.js';
import { DROPZONE, DROPZONE_FIELDS, readDropzoneChunk } from './fields.js';
import { renderDropzoneError } from './statuses.js';

export function dropzoneProtocol(deps: ProtocolDependencies): UploadProtocol {
  const { core, accessOf } = deps;

  async function storeChunk({ ctx, multipart }: IncomingUpload & { multipart: NonNullable<IncomingUpload['multipart']> }) {
    const fields = new FieldSource([multipart.fields, ctx.query]);
    const access = await accessOf(ctx, fields);
    const chunk = readDropzoneChunk(new FieldSource([multipart.fields]), multipart.file);
    const write = { access, id: chunk.uuid, declaration: chunk.declaration, index: chunk.index, length: chunk.length };
    core.checkPiece(write);
    const stored = await core.writePiece({ ...write, body: multipart.file!.stream, bodyComplete: multipart.finished });
    deps.metrics.pieceStored(stored.outcome, chunk.length);
    ctx.body = {
      id: chunk.uuid,
      chunkIndex: chunk.index,
      outcome: stored.outcome,
      uploadId: stored.uploadId,
      received: stored.storedRanges,
      total: chunk.count,
      complete: stored.outcome === 'completed' || stored.outcome === 'already_complete',
    };
  }

  return {
    name: DROPZONE,
    renderError: renderDropzoneError,
    // Only multipart bodies: Dropzone's `binaryBody` sends chunks without any field, which cannot be put back together.
    recognises: ({ multipart }) => multipart !== undefined && DROPZONE_FIELDS.some((name) => name in multipart.fields),
    async handle(request) {
      const { ctx, multipart } = request;
      if (ctx.method !== 'POST' && ctx.method !== 'PUT') {
        ctx.set('Allow', 'POST, PUT');
        throw new UploadError('method_not_allowed', 'Dropzone chunks are sent with POST (or PUT)');
      }
      return storeChunk({ ...request, multipart: multipart! });
    },
  };
}
