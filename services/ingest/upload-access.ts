/**
 * Who is uploading: the scope an upload id lives in, and whose quota a request counts
 * against.
 *
 * Without UPLOAD_TOKEN_SECRET every upload lives in the operator's UPLOAD_NAMESPACE, and
 * quotas count per client address. With it, each request must carry an upload token: an
 * HS256 JWT the application's backend issues, naming a subject (`sub`) and optionally a
 * size limit (`max_size`, bytes) and an expiry (`exp`). Uploads are then scoped per
 * subject, so two users sending the same default identifier never share an upload, and
 * neither can probe, watch or cancel the other's.
 *
 * The token may come as `Authorization: Bearer <token>`, an `X-Upload-Token` header, or a
 * `token` field (query string, or a multipart field sent before the file part): it is
 * always checked before a byte of the body is stored.
 */
import type { Context } from 'koa';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Access } from '../core/core-dependencies.js';
import { UploadError } from '../core/errors.js';
import { FieldSource } from './protocols/shared/field-source.js';

export type AccessResolver = (ctx: Context, fields?: FieldSource) => Promise<Access>;

function presentedToken(ctx: Context, fields: FieldSource): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
  return bearer ?? (ctx.get('x-upload-token') || undefined) ?? (fields.first('token') || undefined);
}

/** The client's address, as Koa reads it (X-Forwarded-For only with TRUST_PROXY). */
export function clientAddress(ctx: Context): string {
  return `addr:${ctx.ip || 'unknown'}`;
}

export function createAccessResolver(options: { namespace: string; tokenSecret: string }): AccessResolver {
  if (options.tokenSecret === '') {
    return async (ctx) => ({ scope: options.namespace, quotaSubject: clientAddress(ctx) });
  }
  const key = new TextEncoder().encode(options.tokenSecret);
  return async function resolveUploadAccess(ctx, fields = new FieldSource([ctx.query])) {
    const token = presentedToken(ctx, fields);
    if (!token) {
      ctx.set('WWW-Authenticate', 'Bearer realm="chunkyard"');
      throw new UploadError('token_required', 'An upload token is required (Authorization: Bearer, X-Upload-Token, or a token field)');
    }
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch (err) {
      ctx.set('WWW-Authenticate', 'Bearer realm="chunkyard", error="invalid_token"');
      const reason = err instanceof joseErrors.JWTExpired ? 'The upload token has expired' : 'The upload token is not valid';
      throw new UploadError('invalid_token', reason, { cause: err });
    }
    const subject = claims.sub;
    const maxSize = claims.max_size;
    if (typeof subject !== 'string' || subject === '' || subject.length > 256) {
      throw new UploadError('invalid_token', 'The upload token names no subject (sub)');
    }
    if (maxSize !== undefined && (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 0)) {
      throw new UploadError('invalid_token', 'The upload token has an invalid max_size');
    }
    const scope = `sub:${subject}`;
    return { scope, quotaSubject: scope, ...(maxSize !== undefined ? { maxFileSize: maxSize } : {}) };
  };
}
