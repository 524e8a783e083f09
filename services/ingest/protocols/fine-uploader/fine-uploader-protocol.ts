/**
 * Fine Uploader 5.16 (core build, traditional endpoint; docs/protocols/fine-uploader.md),
 * with `request.endpoint` and `chunking.success.endpoint` both `/upload`:
 *   POST|PUT multipart `qquuid`… + `qqfile`, no part fields   a whole file (≤ partSize), stored under its uuid
 *   POST|PUT multipart `qqpartindex`… + `qqfile` (`blob`)     one chunk: 0-based, ceil geometry, any order
 *   POST     form `qquuid`, `qqfilename`, `qqtotalfilesize`, `qqtotalparts`
 *                                                             the finalising request: success once the
 *                                                             upload is complete and its merge queued
 * With `request.paramsInBody: false` the fields come in the query string and the body may be
 * the raw bytes; both are read the same way. Every success is `{"success": true}` (Fine
 * Uploader wants nothing else); errors are JSON too (statuses.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'koa';
import type { Access } from '../../../core/core-dependencies.js';
import { UploadError } from '../../../core/errors.js';
import { settledPieceCount } from '../../../core/layout.js';
import type { UploadRecord } from '../../../core/upload.js';
import { isSmallBodyType } from '../../body/small-body.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { checkMimeType } from '../shared/client-text.js';
import { FieldSource, type RawFields } from '../shared/field-source.js';
import { bodyOf, refuseFormBodies } from '../shared/piece-body.js';
import { PROTOCOL, chunkFields, fileFields, finaliseFields, hasPartFields, optionalSize } from './fields.js';
import { renderFineUploaderError } from './statuses.js';

/**
 * How long the finalising request waits for the upload to complete. The client sends it
 * once every chunk was answered, so the upload is complete by then; only a hand-written
 * client sends it while a chunk is still on its way.
 */
const FINALISE_WAIT_MS = 5_000;

const CHUNK_METHODS = new Set(['POST', 'PUT']);

function succeed(ctx: Context): void {
  ctx.status = 200;
  ctx.body = { success: true };
}

export function fineUploaderProtocol(deps: ProtocolDependencies): UploadProtocol {
  const { core, accessOf } = deps;

  async function storeChunk(request: IncomingUpload, fields: FieldSource) {
    const { ctx } = request;
    refuseFormBodies(ctx);
    const access = await accessOf(ctx, fields);
    const chunk = chunkFields(fields);
    const write = { access, id: chunk.uuid, declaration: chunk.declaration, index: chunk.index, length: chunk.length };
    core.checkPiece(write);
    // After a resume from local storage the client sends only the chunks it had not sent: if
    // the server no longer has the others (they expired), the file can complete only from chunk 0.
    if (chunk.resumed && !(await core.read(access, chunk.uuid))) {
      throw new UploadError('upload_lost', 'The chunks sent before this resume are no longer stored; the file starts again from its first chunk');
    }
    const { body, complete } = bodyOf(request, chunk.length);
    const stored = await core.writePiece({ ...write, body, bodyComplete: complete });
    deps.metrics.pieceStored(stored.outcome, chunk.length);
    succeed(ctx);
  }

  async function storeWhole(request: IncomingUpload, fields: FieldSource) {
    const { ctx, multipart } = request;
    refuseFormBodies(ctx);
    const access = await accessOf(ctx, fields);
    const { uuid, name } = fileFields(fields);
    const declaredSize = optionalSize(fields);
    const type = checkMimeType('The file type', multipart ? (multipart.file?.mimeType ?? '') : ctx.get('x-mime-type'));
    const { body, complete } = bodyOf(request, declaredSize);
    const stored = await core.writeWhole({
      access,
      id: uuid,
      declaration: { name, relativePath: name, type, protocol: PROTOCOL },
      ...(declaredSize !== undefined ? { declaredSize } : {}),
      body,
      bodyComplete: complete,
    });
    deps.metrics.pieceStored('completed', stored.size);
    succeed(ctx);
  }

  /** The upload once it is no longer receiving, or as it is when the wait ends (deadline, or the client went away). */
  async function settled(ctx: Context, access: Access, uuid: string): Promise<UploadRecord | undefined> {
    const deadline = Date.now() + FINALISE_WAIT_MS;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ctx.res.once('close', onClose);
    let pause = 20;
    try {
      for (;;) {
        const upload = await core.read(access, uuid);
        if (upload?.state !== 'receiving' || gone.signal.aborted || Date.now() + pause > deadline) return upload;
        await sleep(pause, undefined, { signal: gone.signal }).catch(() => undefined);
        pause = Math.min(pause * 2, 250);
      }
    } finally {
      ctx.res.off('close', onClose);
    }
  }

  async function finalise(ctx: Context, fields: FieldSource) {
    const access = await accessOf(ctx, fields);
    const request = finaliseFields(fields);
    const upload = await settled(ctx, access, request.uuid);
    if (!upload) throw new UploadError('upload_not_found', 'No chunk of this file is stored (expired, or never sent); send it again from its first chunk');
    const parts = upload.layout.kind === 'pieces' && upload.size !== undefined ? settledPieceCount(upload.size, upload.layout.pieceSize, upload.roundings) : undefined;
    if (upload.protocol !== PROTOCOL || upload.name !== request.name || upload.size !== request.size || parts !== request.parts) {
      throw new UploadError('upload_conflict', 'qqfilename, qqtotalfilesize or qqtotalparts differs from the chunks of this upload');
    }
    if (upload.state === 'cancelled') throw new UploadError('upload_cancelled');
    if (upload.state === 'failed') throw new UploadError('upload_failed', upload.error ?? undefined);
    if (upload.state === 'receiving') {
      throw new UploadError('upload_not_complete', `${upload.storedRanges} of ${request.parts} chunks are stored; retry once every chunk has been answered`);
    }
    succeed(ctx);
  }

  const fieldsOf = ({ ctx, multipart, small }: IncomingUpload): FieldSource => {
    const sources: RawFields[] = [ctx.query];
    if (multipart) sources.unshift(multipart.fields);
    if (small && 'form' in small) sources.unshift(small.form);
    return new FieldSource(sources);
  };

  return {
    name: PROTOCOL,
    renderError: renderFineUploaderError,
    recognises(request) {
      const { ctx, multipart, small } = request;
      if (!CHUNK_METHODS.has(ctx.method)) return false;
      // The finalising request's fields are in its body: it is read before it is recognised.
      if (!multipart && !small && isSmallBodyType(ctx)) return false;
      return fieldsOf(request).has('qquuid');
    },
    async handle(request) {
      const fields = fieldsOf(request);
      if (request.small) return finalise(request.ctx, fields);
      return hasPartFields(fields) ? storeChunk(request, fields) : storeWhole(request, fields);
    },
  };
}
