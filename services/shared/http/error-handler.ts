/**
 * Renders every error: a core UploadError the way the protocol adapter that took the
 * request says (ctx.state.renderError), or as `{ "error": { "code", "message" } }` with the
 * default statuses. An HTTP error a library raised on purpose (an exposed 4xx) passes
 * through as that status. Anything else is a logged 500 whose details stay in the log.
 */
import type { Context, Middleware } from 'koa';
import { UploadError, asPassingFault } from '../../core/errors.js';
import { renderDefaultError, type ErrorRenderer } from './default-statuses.js';

declare module 'koa' {
  interface DefaultState {
    /** Set by the protocol adapter that recognised the request. */
    renderError?: ErrorRenderer;
  }
}

const CODES_OF_EXPOSED_STATUSES: Record<number, UploadError['code']> = {
  400: 'malformed_body',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'range_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

export function errorHandler(): Middleware {
  return async function renderErrors(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new UploadError('not_found', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const known = toUploadError(err);
      if (known.code === 'internal_error') ctx.log.error({ err }, 'request failed');
      else ctx.log.info({ code: known.code, reason: known.message }, 'request refused');
      (ctx.state.renderError ?? renderDefaultError)(ctx, known);
      const exposed = exposedStatus(err);
      if (exposed !== undefined && !(err instanceof UploadError)) ctx.status = exposed;
    }
  };
}

function exposedStatus(err: unknown): number | undefined {
  const { status, expose } = (err ?? {}) as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true ? status : undefined;
}

export function toUploadError(err: unknown): UploadError {
  const passing = asPassingFault(err);
  if (passing instanceof UploadError) return passing;
  const status = exposedStatus(err);
  if (status !== undefined) {
    return new UploadError(CODES_OF_EXPOSED_STATUSES[status] ?? 'malformed_body', (err as Error).message, { cause: err });
  }
  return new UploadError('internal_error', undefined, { cause: err });
}

export type { Context };
