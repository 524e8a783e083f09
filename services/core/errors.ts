/**
 * The upload core's errors: a code and a message safe to show, never an HTTP status.
 * Each protocol adapter maps codes to what its client library understands (a status,
 * a JSON field, a header), because the libraries react to the same status in opposite
 * ways: a 404 stops resumable.js, makes tus-js-client start over, and is retried by
 * Dropzone. The non-protocol endpoints (status, events, operations) use
 * `services/shared/http/default-statuses.ts`.
 */
export const uploadErrorMessages = {
  // The request can never be valid: clients should stop, not retry.
  missing_field: 'A required protocol field is missing',
  invalid_field: 'A protocol field has an invalid value',
  malformed_body: 'The request body could not be read',
  unsupported_media_type: 'The request body type is not accepted',
  range_out_of_bounds: 'The range is outside this upload',
  range_size_mismatch: 'The range does not have the size its upload requires',
  range_too_large: 'The request body is larger than the server accepts',
  file_too_large: 'The file is larger than the server accepts',
  too_many_ranges: 'The upload is cut into more pieces than the server accepts',
  type_not_allowed: 'This type of file is not accepted',
  checksum_mismatch: 'The body does not match its checksum',
  upload_conflict: 'The request disagrees with the upload its first request started',
  upload_failed: 'The upload failed and takes no more data',
  // The upload is gone or done.
  upload_cancelled: 'The upload was cancelled',
  upload_complete: 'The upload is already complete',
  upload_not_found: 'No such upload',
  upload_lost: 'The server no longer knows this upload; start it again',
  upload_not_complete: 'The upload is not complete yet',
  // Concurrency: retrying later succeeds.
  offset_mismatch: 'The offset is not where the upload continues',
  upload_locked: 'Another request is writing to this upload; retry',
  // Limits on who asks, and how often.
  quota_exceeded: 'Too many uploads or bytes in progress for this client',
  too_many_requests: 'Too many requests; retry later',
  token_required: 'An upload token is required',
  invalid_token: 'The upload token is invalid or expired',
  unauthorized: 'Credentials are required',
  forbidden: 'Not allowed',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  unsupported_version: 'This protocol version is not supported',
  // The server cannot serve now: clients should retry.
  service_unavailable: 'The service is temporarily unavailable; retry',
  storage_full: 'The server is out of storage; retry later',
  internal_error: 'Internal server error',
} as const;

export type UploadErrorCode = keyof typeof uploadErrorMessages;

/** A core error. Its message is safe to show to the client. */
export class UploadError extends Error {
  constructor(
    readonly code: UploadErrorCode,
    message: string = uploadErrorMessages[code],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UploadError';
  }
}

export function isUploadError(err: unknown, ...codes: UploadErrorCode[]): err is UploadError {
  return err instanceof UploadError && (codes.length === 0 || codes.includes(err.code));
}

/** Error codes of the filesystem that mean "no space left", which clients should retry later. */
const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
/** Out of file descriptors or memory for them: a passing overload, not a bug. */
const OVERLOADED_CODES = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN']);

export function errorCodeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
}

export function isStorageFull(err: unknown): boolean {
  return STORAGE_FULL_CODES.has(errorCodeOf(err) ?? '');
}

/**
 * A request body that broke off (the client went away, a multipart body ended early) is
 * the client's problem, not a server fault: `malformed_body`. Filesystem faults pass through.
 */
export function asBodyError(err: unknown): Error {
  const code = errorCodeOf(err) ?? '';
  const systemFault = /^E[A-Z]+$/.test(code) && !CLIENT_GONE.has(code);
  if (err instanceof UploadError || (systemFault && err instanceof Error)) return err as Error;
  return new UploadError('malformed_body', 'The request body ended before it was complete', { cause: err });
}

const CLIENT_GONE = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE']);

/**
 * The error a client should see for a fault below the core (filesystem, Redis, S3): a
 * full disk and an exhausted process are passing faults (retry), the rest stay as they are.
 */
export function asPassingFault(err: unknown): unknown {
  if (err instanceof UploadError) return err;
  const code = errorCodeOf(err) ?? '';
  if (STORAGE_FULL_CODES.has(code)) return new UploadError('storage_full', undefined, { cause: err });
  if (OVERLOADED_CODES.has(code)) return new UploadError('service_unavailable', 'The server is overloaded; retry', { cause: err });
  return err;
}
