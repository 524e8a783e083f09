/**
 * How Dropzone 6.3.5 reacts to statuses (docs/protocols/dropzone.md): every non-2xx is a
 * failure, whatever it is. By default the file fails at once and nothing is retried; with
 * `retryChunks` a failed chunk is resent at once, whatever the status, up to
 * `retryChunksLimit` (3) times, then the file fails. No status stops it and none makes it
 * retry, so the statuses say what happened (for the application, which gets the response)
 * and every refusal of a request that can never be valid is the same on every resend: a
 * resend cannot loop, it ends at the client's limit.
 *
 * Dropzone shows a failed file's message from the parsed JSON body's `error` when it is there
 * (its default `error` handler), else the raw body: so the body is
 * `{ "error": "<message>", "code": "<code>" }`, which it displays as the message.
 */
import type { UploadError } from '../../../core/errors.js';
import { DEFAULT_STATUSES, setRetryHeaders, type ErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';

export const DROPZONE_STATUSES: StatusTable = { ...DEFAULT_STATUSES };

/** `{ error: message, code }`: the shape whose `error` Dropzone (and Fine Uploader) display as the file's message. */
export function messageErrorRenderer(table: StatusTable): ErrorRenderer {
  return function renderMessageError(ctx, err: UploadError) {
    ctx.status = table[err.code];
    ctx.body = { error: err.message, code: err.code };
    setRetryHeaders(ctx, err);
  };
}

export const renderDropzoneError = messageErrorRenderer(DROPZONE_STATUSES);
