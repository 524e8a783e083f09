/**
 * Every error a client can see, in one table. The status of each is chosen for how
 * the browser libraries react to it (../shared/PROTOCOL.md, "Statuses"):
 * - 400 and 415 stop resumable.js and flow.js: for input that will never be valid.
 * - 503 and 507 make resumable.js retry: for faults that pass (Redis away, disk full,
 *   shutting down). A 500 would stop the client, so no client input may cause one.
 */
export const errorTable = {
  missing_field: { status: 400, message: 'A required protocol field is missing' },
  invalid_field: { status: 400, message: 'A protocol field has an invalid value' },
  chunk_out_of_range: { status: 400, message: 'The chunk number is outside this upload' },
  chunk_size_mismatch: { status: 400, message: 'The chunk does not have the size its upload requires' },
  chunk_too_large: { status: 400, message: 'The chunk is larger than the server accepts' },
  file_too_large: { status: 400, message: 'The file is larger than the server accepts' },
  too_many_chunks: { status: 400, message: 'The upload has more chunks than the server accepts' },
  upload_conflict: { status: 400, message: 'The chunk disagrees with the upload its first chunk started' },
  upload_failed: { status: 400, message: 'The upload failed and takes no more chunks' },
  malformed_body: { status: 400, message: 'The request body could not be read' },
  unsupported_media_type: { status: 415, message: 'The request body type is not accepted' },
  unauthorized: { status: 401, message: 'Credentials are required' },
  token_required: { status: 401, message: 'An upload token is required' },
  invalid_token: { status: 401, message: 'The upload token is invalid or expired' },
  forbidden: { status: 403, message: 'Not allowed' },
  not_found: { status: 404, message: 'Not found' },
  // 404 is the one status that stops both libraries' chunk POSTs (../shared/PROTOCOL.md).
  upload_cancelled: { status: 404, message: 'The upload was cancelled' },
  upload_complete: { status: 409, message: 'The upload is already complete' },
  method_not_allowed: { status: 405, message: 'Method not allowed' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable; retry' },
  insufficient_storage: { status: 507, message: 'The server is out of storage; retry later' },
  internal_error: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorTable;

/** An error with a code from `errorTable`; its message is safe to show to the client. */
export class ChunkyardError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = errorTable[code].message,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ChunkyardError';
    this.status = errorTable[code].status;
  }
}

/** Error codes of the filesystem that mean "no space left", which clients should retry later. */
const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

export function isStorageFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && STORAGE_FULL_CODES.has((err as NodeJS.ErrnoException).code ?? '');
}

export function errorCodeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
}
