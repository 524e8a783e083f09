import { timingSafeEqual, createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { ChunkyardError } from '../errors.js';

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * HTTP basic auth for operator endpoints (queue dashboard, metrics). Without a configured
 * password they are refused outright: never public by default.
 */
export function requireAdmin(user: string, password: string): Middleware {
  return async function checkAdminCredentials(ctx, next) {
    if (password === '') throw new ChunkyardError('forbidden', 'Operator endpoints are disabled; set ADMIN_PASSWORD to enable them');
    const header = ctx.get('authorization');
    const encoded = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header)?.[1];
    const decoded = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const ok = separator > 0 && sameSecret(decoded.slice(0, separator), user) && sameSecret(decoded.slice(separator + 1), password);
    if (!ok) {
      ctx.set('WWW-Authenticate', 'Basic realm="chunkyard", charset="UTF-8"');
      throw new ChunkyardError('unauthorized');
    }
    await next();
  };
}
