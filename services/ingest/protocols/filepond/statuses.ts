/**
 * How FilePond 4.32 reacts (docs/protocols/filepond.md): the status never decides between
 * retrying and stopping. A PATCH that fails in any way is sent again after 0.5, 1 and 3 s,
 * then the file errors; a failed POST (creation or whole file) or HEAD errors the file at
 * once; a failed revert is ignored. So what the statuses can do is be true and keep the
 * requests that cannot be retried from failing without need:
 * - HEAD never waits for a lock and answers 200 for any upload still known, complete ones
 *   included (their whole length), so a resume after an error always finds where to go on;
 * - an offset the client got wrong is a 409, and a chunk the server already has (a PATCH
 *   repeated because its answer was lost, or every chunk again after a HEAD that said
 *   nothing) is acknowledged instead: the retries FilePond makes of its own accord then
 *   succeed, and a gap is mended by the HEAD of the next attempt (filepond-protocol.ts);
 * - a PATCH that raced another on the upload (423) or met a passing fault (429, 503, 507) is
 *   worth the retries FilePond makes anyway;
 * - a reverted transfer is 410 and an unknown one 404 (its PATCHes stop after the retries).
 * Errors are plain text: FilePond hands the body to `server.*.onerror`, which shows it
 * as it is.
 */
import { DEFAULT_STATUSES, setRetryHeaders, type ErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';

export const FILEPOND_STATUSES: StatusTable = {
  ...DEFAULT_STATUSES,
  upload_conflict: 409,
  offset_mismatch: 409,
  upload_complete: 409,
  upload_locked: 423,
  upload_not_found: 404,
  upload_cancelled: 410,
  upload_failed: 410,
  upload_lost: 410,
  quota_exceeded: 429,
  too_many_requests: 429,
  service_unavailable: 503,
  storage_full: 507,
};

export const renderFilePondError: ErrorRenderer = (ctx, err) => {
  ctx.status = FILEPOND_STATUSES[err.code];
  setRetryHeaders(ctx, err);
  // (Koa sends no body for a HEAD, but an empty body would turn the status into 204.)
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${err.code}: ${err.message}\n`;
};
