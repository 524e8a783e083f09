/**
 * The body of a request that carries one piece: the file part of a multipart body, or
 * the raw bytes. Both go to the storage driver as a stream, the same way.
 */
import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { UploadError } from '../../../core/errors.js';
import type { IncomingUpload } from '../protocol.js';

/** Body types that are certainly not a piece: refusing them stops the client. */
export function refuseFormBodies(ctx: Context): void {
  if (!ctx.is('multipart/form-data') && ctx.is('multipart/*', 'application/x-www-form-urlencoded')) {
    throw new UploadError('unsupported_media_type', `Content-Type ${ctx.get('content-type')} is not a chunk body; send multipart/form-data or the raw bytes`);
  }
}

export function bodyOf({ ctx, multipart }: IncomingUpload, declaredLength: number | undefined): { body: Readable; complete?: Promise<void> } {
  if (multipart) {
    if (!multipart.file) throw new UploadError('missing_field', 'The multipart body has no file part');
    return { body: multipart.file.stream, complete: multipart.finished };
  }
  const declared = ctx.get('content-length');
  if (declared !== '' && declaredLength !== undefined && Number(declared) !== declaredLength) {
    throw new UploadError('range_size_mismatch', `The body has ${declared} bytes, but ${declaredLength} were declared`);
  }
  return { body: ctx.req };
}
