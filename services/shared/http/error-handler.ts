import type { Middleware } from 'koa';
import { ChunkyardError, errorTable, isStorageFull } from '../errors.js';

/**
 * Renders every error as `{ "error": { "code", "message" } }` with the status from the
 * error table. A full disk is a 507 (clients retry it); anything unexpected is a logged
 * 500 whose details stay in the log.
 */
export function errorHandler(): Middleware {
  return async function renderErrors(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new ChunkyardError('not_found', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const known = toChunkyardError(err);
      if (known.status >= 500) ctx.log.error({ err }, 'request failed');
      else ctx.log.info({ code: known.code, reason: known.message }, 'request refused');
      ctx.status = known.status;
      ctx.body = { error: { code: known.code, message: known.message } };
      if (known.status === 503) ctx.set('Retry-After', '1');
    }
  };
}

function toChunkyardError(err: unknown): ChunkyardError {
  if (err instanceof ChunkyardError) return err;
  if (isStorageFull(err)) return new ChunkyardError('insufficient_storage', undefined, { cause: err });
  const status = (err as { status?: number; expose?: boolean }).status;
  if (status === 405) return new ChunkyardError('method_not_allowed');
  return new ChunkyardError('internal_error', errorTable.internal_error.message, { cause: err });
}
