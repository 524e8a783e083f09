/**
 * The one upload URL every piece-based library is pointed at (`/upload`): it reads just
 * enough of a request to tell which protocol it speaks (the query, and a multipart body's
 * fields up to its file part: the libraries' field names do not overlap), hands it to that
 * protocol's adapter, and makes sure a refused request's body is drained and nothing it
 * started is left behind.
 */
import type { Context, Middleware } from 'koa';
import { UploadError } from '../../core/errors.js';
import { discardUnreadBody, refuseDeclaredLength } from '../body/body-limits.js';
import { readMultipart, type MultipartStart } from '../body/multipart-reader.js';
import { isSmallBodyType, readSmallBody } from '../body/small-body.js';
import type { IncomingUpload, UploadProtocol } from './protocol.js';

export interface UploadEndpointOptions {
  path: string;
  protocols: UploadProtocol[];
  /** The largest piece a request may carry (MAX_CHUNK_SIZE). */
  maxPieceSize: number;
}

/** Room for the multipart boundaries and protocol fields around the file part. */
const FORM_OVERHEAD = 64 * 1024;
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
/** Methods some protocol takes on the upload URL; any other gets 405 with this list. */
const UPLOAD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export function uploadEndpoint(options: UploadEndpointOptions): Middleware {
  const limits = { fileSize: options.maxPieceSize, fieldSize: 16 * 1024, fields: 32, bodyBytes: options.maxPieceSize + FORM_OVERHEAD };

  const find = (request: IncomingUpload) => options.protocols.find((candidate) => candidate.recognises(request));

  /**
   * The query and headers first; then a multipart body's fields up to its file part; then a
   * small form or text body. A raw chunk body (octet) is never read here: its protocol is
   * known from the query before.
   */
  async function recognise(ctx: Context): Promise<IncomingUpload & { protocol: UploadProtocol }> {
    const hasBody = !BODYLESS.has(ctx.method) || ctx.get('content-length') !== '' && ctx.get('content-length') !== '0';
    if (hasBody && ctx.is('multipart/form-data')) {
      const multipart = await readMultipart(ctx.req, limits);
      const protocol = find({ ctx, multipart });
      if (protocol) return { ctx, multipart, protocol };
      multipart.file?.stream.resume();
    } else {
      const protocol = find({ ctx, multipart: undefined });
      if (protocol) return { ctx, multipart: undefined, protocol };
      if (hasBody && isSmallBodyType(ctx)) {
        const small = await readSmallBody(ctx);
        const withBody = find({ ctx, multipart: undefined, small });
        if (withBody) return { ctx, multipart: undefined, small, protocol: withBody };
      }
    }
    throw new UploadError('missing_field', 'The request carries none of the fields of the upload protocols served here (docs/protocols/)');
  }

  return async function serveUploads(ctx, next) {
    if (ctx.path !== options.path) return next();
    if (!UPLOAD_METHODS.includes(ctx.method)) {
      ctx.set('Allow', UPLOAD_METHODS.join(', '));
      throw new UploadError('method_not_allowed', `${ctx.method} is not a method of the upload protocols served here`);
    }
    let multipart: MultipartStart | undefined;
    try {
      const { protocol, ...request } = await recognise(ctx);
      multipart = request.multipart;
      ctx.state.renderError = protocol.renderError;
      // Refused in the protocol's own terms, before the body (or its file part) is read.
      if (!BODYLESS.has(ctx.method)) refuseDeclaredLength(ctx.req, options.maxPieceSize + FORM_OVERHEAD);
      await protocol.handle(request);
    } catch (err) {
      // The client reads our answer only once it has sent its body.
      multipart?.file?.stream.destroy();
      discardUnreadBody(ctx.req, 2 * options.maxPieceSize);
      throw err;
    }
  };
}
