/**
 * How tus-js-client and Uppy react (docs/protocols/tus.md): network errors, 5xx, 409 and
 * 423 are retried; any other 4xx fails a POST or PATCH; and any non-2xx to a HEAD but 423
 * makes the client drop the upload and start again from zero (a 4xx also deletes its
 * stored URL). So:
 * - an offset the client got wrong is a 409 (it asks for the offset again);
 * - an upload another request is writing to is a 423;
 * - an upload that is gone is 404 (or 410 once terminated): starting over is right then;
 * - a missing or expired upload token on a HEAD or PATCH is a 423, not a 401: the client
 *   retries (and its onBeforeRequest can fetch a fresh token) instead of throwing away the
 *   upload and the user's progress;
 * - passing faults are 503 (never a 5xx to a HEAD otherwise).
 * Errors are answered as plain text, with `Tus-Resumable` as on every response.
 */
import { DEFAULT_STATUSES, setRetryHeaders, type ErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';
import { TUS_VERSION } from './tus-headers.js';

export const TUS_STATUSES: StatusTable = {
  ...DEFAULT_STATUSES,
  range_too_large: 413,
  file_too_large: 413,
  checksum_mismatch: 460,
  upload_cancelled: 410,
  upload_lost: 404,
  upload_failed: 410,
  upload_complete: 400,
  upload_conflict: 400,
  quota_exceeded: 429,
  offset_mismatch: 409,
  upload_locked: 423,
  forbidden: 403,
  unsupported_version: 412,
};

const RESUMING = new Set(['HEAD', 'PATCH']);

export const renderTusError: ErrorRenderer = (ctx, err) => {
  const tokenProblem = err.code === 'token_required' || err.code === 'invalid_token';
  ctx.status = tokenProblem && RESUMING.has(ctx.method) ? 423 : TUS_STATUSES[err.code];
  ctx.set('Tus-Resumable', TUS_VERSION);
  if (err.code === 'unsupported_version') ctx.set('Tus-Version', TUS_VERSION);
  setRetryHeaders(ctx, err);
  // (Koa sends no body for a HEAD, but an empty body would turn the status into 204.)
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${err.code}: ${err.message}\n`;
};
