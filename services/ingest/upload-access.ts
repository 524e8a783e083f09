/**
 * Who is uploading, and so which scope an upload identifier lives in.
 *
 * Without UPLOAD_TOKEN_SECRET every request uses the operator's UPLOAD_NAMESPACE. With
 * it, each request must carry an upload token: an HS256 JWT the application's backend
 * issues, naming a subject (`sub`) and optionally a size limit (`max_size`, bytes) and an
 * expiry (`exp`). Uploads are scoped per subject, so two users sending the same default
 * identifier never share an upload, and neither can probe, watch or cancel the other's.
 *
 * The token may come as `Authorization: Bearer <token>`, an `X-Upload-Token` header, or
 * a `token` field (query string, or multipart body), since resumable.js and flow.js can
 * add headers or query fields to every request.
 */
import type { Context } from 'koa';
import { errors as joseErrors, jwtVerify } from 'jose';
import { ChunkyardError } from '../shared/errors.js';
import type { RawFields } from './chunk-fields.js';

export interface UploadAccess {
  scope: string;
  /** The token's size limit, when it has one. */
  maxFileSize?: number;
}

export type AccessResolver = (ctx: Context, bodyFields?: RawFields) => Promise<UploadAccess>;

function firstString(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

function presentedToken(ctx: Context, bodyFields: RawFields | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
  return bearer ?? (ctx.get('x-upload-token') || undefined) ?? firstString(bodyFields?.token) ?? firstString(ctx.query.token);
}

export function createAccessResolver(options: { namespace: string; tokenSecret: string }): AccessResolver {
  if (options.tokenSecret === '') {
    const access: UploadAccess = { scope: options.namespace };
    return async () => access;
  }
  const key = new TextEncoder().encode(options.tokenSecret);
  return async function resolveUploadAccess(ctx, bodyFields) {
    const token = presentedToken(ctx, bodyFields);
    if (!token) {
      ctx.set('WWW-Authenticate', 'Bearer realm="chunkyard"');
      throw new ChunkyardError('token_required', 'An upload token is required (Authorization: Bearer, X-Upload-Token, or a token field)');
    }
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch (err) {
      ctx.set('WWW-Authenticate', 'Bearer realm="chunkyard", error="invalid_token"');
      const reason = err instanceof joseErrors.JWTExpired ? 'The upload token has expired' : 'The upload token is not valid';
      throw new ChunkyardError('invalid_token', reason, { cause: err });
    }
    const subject = claims.sub;
    const maxSize = claims.max_size;
    if (typeof subject !== 'string' || subject === '' || subject.length > 256) {
      throw new ChunkyardError('invalid_token', 'The upload token names no subject (sub)');
    }
    if (maxSize !== undefined && (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 0)) {
      throw new ChunkyardError('invalid_token', 'The upload token has an invalid max_size');
    }
    return { scope: `sub:${subject}`, maxFileSize: maxSize };
  };
}
