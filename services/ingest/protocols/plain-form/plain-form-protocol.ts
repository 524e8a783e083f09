/**
 * A whole file in a plain multipart form (`POST /upload`, a file part and nothing a chunk
 * protocol sends): what Dropzone sends for files of up to one chunk and for every file
 * without `chunking`, and what an HTML form or any library's non-chunked upload looks like.
 * Stored at once under a new server-chosen id (the answer's `id`, for `/uploads/:id`),
 * named by the part's filename, typed by the part's Content-Type.
 *
 * Asked last (registry.ts): a body with a field that only chunk protocols send is a chunk
 * whose protocol did not recognise it (a field missing), never a whole file: it is left to
 * the upload URL's refusal. Fields of the page's own (a CSRF token, Dropzone's `params`) are
 * ignored; an upload token may come as a `token` field.
 */
import { UploadError } from '../../../core/errors.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { renderDropzoneError } from '../dropzone/statuses.js';
import { checkFilename, checkMimeType } from '../shared/client-text.js';
import { FieldSource } from '../shared/field-source.js';

export const PLAIN_FORM = 'form';

/** Fields that describe a chunk (docs/protocols/): resumable.js, flow.js, Dropzone, Fine Uploader by prefix… */
const CHUNK_FIELD_PREFIX = /^(resumable|flow|dz|qq)[A-Za-z]/;
/** …simple-uploader.js's unprefixed fields and Plupload's chunk fields by name. */
const CHUNK_FIELDS = new Set([
  'chunkNumber', 'chunkSize', 'currentChunkSize', 'totalSize', 'identifier', 'totalChunks',
  'chunk', 'chunks', 'offset', 'total',
]);

export function isChunkField(name: string): boolean {
  return CHUNK_FIELD_PREFIX.test(name) || CHUNK_FIELDS.has(name);
}

function recognises({ ctx, multipart }: IncomingUpload): boolean {
  return (ctx.method === 'POST' || ctx.method === 'PUT')
    && multipart?.file !== undefined
    && !Object.keys(multipart.fields).some(isChunkField)
    && !Object.keys(ctx.query).some(isChunkField);
}

export function plainFormProtocol(deps: ProtocolDependencies): UploadProtocol {
  const { core, accessOf } = deps;
  return {
    name: PLAIN_FORM,
    // Dropzone's whole files are most of what comes here: it shows `error` as the file's message.
    renderError: renderDropzoneError,
    recognises,
    async handle({ ctx, multipart }) {
      const file = multipart!.file!;
      const access = await accessOf(ctx, new FieldSource([multipart!.fields, ctx.query]));
      if (file.filename === '') throw new UploadError('missing_field', 'The file part has no filename (was a file chosen?)');
      const name = checkFilename('the file part\'s filename', file.filename);
      const type = checkMimeType('the file part\'s type', file.mimeType);
      const stored = await core.writeWhole({
        access,
        declaration: { name, relativePath: name, type, protocol: PLAIN_FORM },
        body: file.stream,
        bodyComplete: multipart!.finished,
      });
      deps.metrics.pieceStored('completed', stored.size);
      ctx.body = { id: stored.id, uploadId: stored.uploadId, name, size: stored.size, complete: true };
    },
  };
}
