/**
 * The resumable.js and flow.js protocol (docs/protocols/resumable-flow.md), on `/upload`:
 *   GET            is this chunk stored? 200 yes (or the upload is complete), 204 no
 *   POST|PUT|PATCH store a chunk: multipart (fields, then a file part) or the raw bytes
 *                  with the fields in the query (`method: 'octet'`); 200 once stored
 * The same handlers serve simple-uploader.js (its fields have no prefix) with a status
 * table of its own.
 */
import type { Context } from 'koa';
import type { Access } from '../../../core/core-dependencies.js';
import { UploadError } from '../../../core/errors.js';
import type { WriteOutcome } from '../../../core/write-piece.js';
import type { ErrorRenderer } from '../../../shared/http/default-statuses.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { FieldSource } from '../shared/field-source.js';
import { bodyOf, refuseFormBodies } from '../shared/piece-body.js';
import { chunkFieldPrefix, readChunkRequest, type ChunkRequest } from './fields.js';
import { renderResumableError } from './statuses.js';

export interface ChunkProtocolOptions {
  name: string;
  prefixes: readonly string[];
  renderError: ErrorRenderer;
  /** The test GET's answer when the chunk is stored: its body (simple-uploader.js can list every stored chunk). */
  storedAnswer?: (deps: ProtocolDependencies, ctx: Context, chunk: ChunkRequest, access: Access) => Promise<unknown>;
  /** The answer to a stored chunk, from the default one (simple-uploader.js: chunk 1's lists every stored chunk). */
  uploadAnswer?: (deps: ProtocolDependencies, chunk: ChunkRequest, access: Access, answer: Record<string, unknown>) => Promise<unknown>;
}

function fieldsOf({ ctx, multipart }: IncomingUpload): FieldSource {
  return new FieldSource(multipart ? [multipart.fields, ctx.query] : [ctx.query]);
}

export function chunkProtocol(deps: ProtocolDependencies, options: ChunkProtocolOptions): UploadProtocol {
  const { core, accessOf } = deps;

  async function testChunk(ctx: Context, fields: FieldSource, prefix: string) {
    const access = await accessOf(ctx, fields);
    const chunk = readChunkRequest(fields, prefix, options.name);
    core.checkPiece({ access, id: chunk.identifier, declaration: chunk.declaration, index: chunk.chunkNumber - 1, length: chunk.currentChunkSize });
    const offset = (chunk.chunkNumber - 1) * chunk.declaration.layout.pieceSize;
    const status = await core.rangeStatus(access, chunk.identifier, chunk.declaration, offset);
    if (status === 'conflict') throw new UploadError('upload_conflict');
    if (status === 'failed') throw new UploadError('upload_failed');
    if (status === 'cancelled') throw new UploadError('upload_cancelled');
    if (status !== 'present') {
      ctx.status = 204;
      return;
    }
    ctx.body = options.storedAnswer ? await options.storedAnswer(deps, ctx, chunk, access) : { stored: true, chunkNumber: chunk.chunkNumber };
  }

  async function storeChunk(request: IncomingUpload, fields: FieldSource, prefix: string) {
    const { ctx } = request;
    refuseFormBodies(ctx);
    const access = await accessOf(ctx, fields);
    const chunk = readChunkRequest(fields, prefix, options.name);
    const write = { access, id: chunk.identifier, declaration: chunk.declaration, index: chunk.chunkNumber - 1, length: chunk.currentChunkSize };
    core.checkPiece(write);
    const { body, complete } = bodyOf(request, chunk.currentChunkSize);
    const stored: WriteOutcome = await core.writePiece({ ...write, body, bodyComplete: complete });
    deps.metrics.pieceStored(stored.outcome, chunk.currentChunkSize);
    const answer = {
      chunkNumber: chunk.chunkNumber,
      outcome: stored.outcome,
      uploadId: stored.uploadId,
      received: stored.storedRanges,
      total: stored.totalPieces,
    };
    ctx.body = options.uploadAnswer ? await options.uploadAnswer(deps, chunk, access, answer) : answer;
  }

  return {
    name: options.name,
    renderError: options.renderError,
    recognises: (request) => chunkFieldPrefix(fieldsOf(request), options.prefixes) !== undefined,
    async handle(request) {
      const fields = fieldsOf(request);
      const prefix = chunkFieldPrefix(fields, options.prefixes)!;
      switch (request.ctx.method) {
        case 'GET':
        case 'HEAD':
          return testChunk(request.ctx, fields, prefix);
        // resumable.js and flow.js send chunks with POST by default; `uploadMethod` may make it PUT or PATCH.
        case 'POST':
        case 'PUT':
        case 'PATCH':
          return storeChunk(request, fields, prefix);
        default:
          request.ctx.set('Allow', 'GET, HEAD, POST, PUT, PATCH');
          throw new UploadError('method_not_allowed');
      }
    },
  };
}

export function resumableProtocol(deps: ProtocolDependencies): UploadProtocol {
  return chunkProtocol(deps, { name: 'resumable', prefixes: ['resumable', 'flow'], renderError: renderResumableError });
}
