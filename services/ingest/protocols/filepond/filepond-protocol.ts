/**
 * FilePond 4.32 with `server: '/upload'` and `chunkUploads: true`
 * (docs/protocols/filepond.md), on `/upload`:
 *   POST   multipart, `filepond` metadata + file part      a whole file (≤ chunkSize): the id as text
 *   POST   multipart, `filepond` metadata + Upload-Length  creates a chunked transfer: its id as text
 *   PATCH  ?patch=<id>, Upload-Offset/-Length/-Name         appends one chunk, all or nothing
 *   HEAD   ?patch=<id>                                      Upload-Offset: where to go on (a chunk boundary)
 *   DELETE the id as a text body                            revert: cancels the upload
 * A chunked transfer is an `append` upload under the server's id, named by its PATCHes
 * (FilePond sends the name with its chunks only). Ids are bare hex tokens: FilePond puts
 * the answer's body, unchanged, in its URLs and its form field.
 */
import type { Context } from 'koa';
import type { Access } from '../../../core/core-dependencies.js';
import { UploadError, isUploadError } from '../../../core/errors.js';
import type { UploadRecord } from '../../../core/upload.js';
import { discardUnreadBody } from '../../body/body-limits.js';
import type { MultipartStart } from '../../body/multipart-reader.js';
import type { SmallBody } from '../../body/small-body.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { checkFilename, checkMimeType } from '../shared/client-text.js';
import { FieldSource } from '../shared/field-source.js';
import { checkChunkType, checkMetadata, contentLength, filepondField, numericHeader, transferId, uploadName } from './fields.js';
import { renderFilePondError } from './statuses.js';

const PROTOCOL = 'filepond';

function answerId(ctx: Context, id: string): void {
  ctx.status = 200;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = id;
}

/** Where an upload's contiguous bytes end: the whole length once it is complete. */
function storedEnd(upload: UploadRecord): number {
  return upload.state === 'receiving' ? upload.prefix : (upload.size ?? upload.prefix);
}

export function filepondProtocol(deps: ProtocolDependencies): UploadProtocol {
  const { core, accessOf } = deps;

  /** A transfer of this protocol in the caller's scope: 404 when there is none (or it is another protocol's). */
  async function transferOf(access: Access, id: string): Promise<UploadRecord> {
    const upload = await core.read(access, id);
    if (!upload || upload.protocol !== PROTOCOL) throw new UploadError('upload_not_found', 'No FilePond transfer with this id');
    return upload;
  }

  async function createTransfer(ctx: Context, multipart: MultipartStart, field: string | undefined) {
    const access = await accessOf(ctx, new FieldSource([multipart.fields, ctx.query]));
    checkMetadata(field ?? 'filepond', field ? multipart.fields[field] : undefined);
    const size = numericHeader(ctx, 'Upload-Length');
    await multipart.finished;
    const created = await core.create(access, { size, layout: { kind: 'append' }, name: '', relativePath: '', type: '', protocol: PROTOCOL });
    answerId(ctx, created.id);
  }

  async function storeWhole(ctx: Context, multipart: MultipartStart, field: string) {
    const file = multipart.file!;
    const access = await accessOf(ctx, new FieldSource([multipart.fields, ctx.query]));
    checkMetadata(field, multipart.fields[field]);
    const name = checkFilename(`The ${field} file name`, file.filename);
    const type = checkMimeType(`The ${field} file type`, file.mimeType);
    const declaredSize = ctx.get('upload-length') === '' ? undefined : numericHeader(ctx, 'Upload-Length');
    const stored = await core.writeWhole({
      access,
      declaration: { name, relativePath: name, type, protocol: PROTOCOL },
      ...(declaredSize !== undefined ? { declaredSize } : {}),
      body: file.stream,
      bodyComplete: multipart.finished,
    });
    deps.metrics.pieceStored('completed', stored.size);
    answerId(ctx, stored.id);
  }

  async function appendChunk(ctx: Context) {
    const id = transferId('patch', ctx.query.patch);
    const access = await accessOf(ctx);
    checkChunkType(ctx);
    const offset = numericHeader(ctx, 'Upload-Offset');
    const size = numericHeader(ctx, 'Upload-Length');
    const name = uploadName(ctx.get('upload-name'));
    const length = contentLength(ctx);
    await transferOf(access, id);
    try {
      const result = await core.append({ access, id, offset, ...(length !== undefined ? { length } : {}), size, name, keepPartial: false, body: ctx.req });
      deps.metrics.pieceStored(result.completed ? 'completed' : 'stored', result.offset - offset);
      ctx.set('Upload-Offset', String(result.offset));
    } catch (err) {
      if (!isUploadError(err, 'offset_mismatch', 'upload_complete') || length === undefined) throw err;
      // A chunk the upload holds already: FilePond repeats a PATCH whose answer it did not
      // get, and sends every chunk again after a HEAD that named no offset.
      const upload = await transferOf(access, id);
      const live = upload.state !== 'failed' && upload.state !== 'cancelled';
      if (!live || offset + length > storedEnd(upload) || upload.size !== size || (upload.name !== '' && upload.name !== name)) throw err;
      discardUnreadBody(ctx.req, length);
      deps.metrics.pieceStored('duplicate', 0);
      ctx.set('Upload-Offset', String(storedEnd(upload)));
    }
    ctx.status = 204;
  }

  async function reportOffset(ctx: Context) {
    const id = transferId('patch', ctx.query.patch);
    const upload = await transferOf(await accessOf(ctx), id);
    if (upload.state === 'cancelled') throw new UploadError('upload_cancelled', 'The transfer was reverted');
    if (upload.state === 'failed') throw new UploadError('upload_failed', upload.error ?? 'The upload failed');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Upload-Offset', String(storedEnd(upload)));
    if (upload.size !== undefined) ctx.set('Upload-Length', String(upload.size));
    ctx.status = 200;
  }

  async function revert(ctx: Context, small: SmallBody) {
    const id = transferId('The revert body', 'text' in small ? small.text : undefined);
    const access = await accessOf(ctx);
    await transferOf(access, id);
    await core.cancel(access, id);
    ctx.status = 204;
  }

  return {
    name: PROTOCOL,
    renderError: renderFilePondError,
    recognises({ ctx, multipart, small }: IncomingUpload) {
      switch (ctx.method) {
        case 'PATCH':
        case 'HEAD':
          return ctx.query.patch !== undefined;
        case 'POST':
          // No other client sends Upload-Length to /upload; a whole file comes with its metadata part.
          return multipart !== undefined && (multipart.file ? filepondField(multipart) !== undefined : ctx.get('upload-length') !== '');
        case 'DELETE':
          return small !== undefined && 'text' in small;
        default:
          return false;
      }
    },
    async handle({ ctx, multipart, small }: IncomingUpload) {
      switch (ctx.method) {
        case 'POST':
          return multipart!.file ? storeWhole(ctx, multipart!, filepondField(multipart!)!) : createTransfer(ctx, multipart!, filepondField(multipart!));
        case 'PATCH':
          return appendChunk(ctx);
        case 'HEAD':
          return reportOffset(ctx);
        case 'DELETE':
          return revert(ctx, small!);
        default:
          throw new UploadError('method_not_allowed');
      }
    },
  };
}
