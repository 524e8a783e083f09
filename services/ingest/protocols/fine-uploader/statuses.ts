/**
 * How Fine Uploader 5.16 reads answers (docs/protocols/fine-uploader.md): a request succeeded
 * only with a 2xx and a JSON body holding `"success": true`; anything else fails the file at
 * once, and the JSON, not the status, says what may follow:
 * - `preventRetry: true` forbids retries, automatic and manual: for input that can never be
 *   valid (a field, the geometry, a conflict with the upload's first request, a type or size
 *   refused) and for uploads that ended (cancelled, failed);
 * - `reset: true` makes the next attempt start again from chunk 0 under the same uuid: for an
 *   upload the server no longer knows (its state lost or expired), so resending only the
 *   missing chunks could never complete it;
 * - neither, for passing faults (a busy or full server, a body cut off, an expired token the
 *   app may renew, a finalising request that came before the last chunk was stored): the
 *   app's retry (or `retry.enableAuto`) resends the failed request.
 * The statuses are the usual ones (no 2xx: that would be success for the finalising
 * request, whatever its body), 503 with Retry-After for the passing ones.
 */
import type { UploadErrorCode } from '../../../core/errors.js';
import { DEFAULT_STATUSES, setRetryHeaders, type ErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';

export const FINE_UPLOADER_STATUSES: StatusTable = {
  ...DEFAULT_STATUSES,
  upload_not_found: 404,
  upload_lost: 410,
  upload_not_complete: 503,
};

const NEVER_VALID = new Set<UploadErrorCode>([
  'missing_field', 'invalid_field', 'unsupported_media_type', 'range_out_of_bounds', 'range_size_mismatch',
  'range_too_large', 'file_too_large', 'too_many_ranges', 'type_not_allowed', 'checksum_mismatch',
  'upload_conflict', 'upload_failed', 'upload_cancelled', 'upload_complete', 'forbidden', 'not_found',
  'method_not_allowed', 'unsupported_version',
]);

/** The server no longer has the upload: only a fresh start from chunk 0 can complete it. */
const START_AGAIN = new Set<UploadErrorCode>(['upload_lost', 'upload_not_found']);

export const renderFineUploaderError: ErrorRenderer = (ctx, err) => {
  ctx.status = FINE_UPLOADER_STATUSES[err.code];
  setRetryHeaders(ctx, err);
  if (err.code === 'upload_not_complete') ctx.set('Retry-After', '1');
  ctx.body = { success: false, error: err.message, code: err.code, preventRetry: NEVER_VALID.has(err.code), reset: START_AGAIN.has(err.code) };
};
