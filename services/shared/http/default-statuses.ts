/**
 * HTTP statuses of the core's error codes for requests no protocol adapter speaks for
 * (status, events, cancel, operations) and for adapters that answer like most REST APIs.
 * Adapters whose clients react differently keep tables of their own (protocols/).
 */
import type { Context } from 'koa';
import { UploadError, type UploadErrorCode } from '../../core/errors.js';

export type StatusTable = Record<UploadErrorCode, number>;

export const DEFAULT_STATUSES: StatusTable = {
  missing_field: 400,
  invalid_field: 400,
  malformed_body: 400,
  unsupported_media_type: 415,
  range_out_of_bounds: 400,
  range_size_mismatch: 400,
  range_too_large: 413,
  file_too_large: 413,
  too_many_ranges: 400,
  type_not_allowed: 415,
  checksum_mismatch: 400,
  upload_conflict: 409,
  upload_failed: 409,
  upload_cancelled: 410,
  upload_complete: 409,
  upload_not_found: 404,
  upload_lost: 410,
  upload_not_complete: 409,
  offset_mismatch: 409,
  upload_locked: 423,
  quota_exceeded: 429,
  too_many_requests: 429,
  token_required: 401,
  invalid_token: 401,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_version: 412,
  service_unavailable: 503,
  storage_full: 507,
  internal_error: 500,
};

/** Renders `{ "error": { "code", "message" } }` with the status a table gives, and `wireCodes` renamed. */
export type ErrorRenderer = (ctx: Context, err: UploadError) => void;

export function jsonErrorRenderer(table: StatusTable, wireCodes: Partial<Record<UploadErrorCode, string>> = {}): ErrorRenderer {
  return function renderJsonError(ctx, err) {
    ctx.status = table[err.code];
    ctx.body = { error: { code: wireCodes[err.code] ?? err.code, message: err.message } };
    setRetryHeaders(ctx, err);
  };
}

/** Passing faults tell the client when to come back. */
export function setRetryHeaders(ctx: Context, err: UploadError): void {
  if (err.code === 'service_unavailable' || err.code === 'too_many_requests') ctx.set('Retry-After', '1');
  if (err.code === 'storage_full' || err.code === 'quota_exceeded') ctx.set('Retry-After', '30');
}

export const renderDefaultError = jsonErrorRenderer(DEFAULT_STATUSES);
