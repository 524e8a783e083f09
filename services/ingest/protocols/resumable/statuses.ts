/**
 * How resumable.js 1.1.0 and flow.js 2.14.1 react to statuses (docs/protocols/resumable-flow.md):
 * 400, 404, 415, 500 and 501 stop the file in both (flow.js also stops on 413); any other
 * status, and a network error, makes resumable.js retry the chunk (flow.js gives up at once
 * unless maxChunkRetries is set). So input that can never be valid is a 400 (or 415 for a
 * refused body type), a cancelled or lost upload a 404 (the one status that stops both),
 * and a passing fault a 503 or 507, never a 500. A quota refusal stops the file rather than
 * have resumable.js retry it a hundred times at once.
 */
import { DEFAULT_STATUSES, jsonErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';

export const RESUMABLE_STATUSES: StatusTable = {
  ...DEFAULT_STATUSES,
  range_too_large: 400,
  file_too_large: 400,
  type_not_allowed: 400,
  checksum_mismatch: 400,
  upload_conflict: 400,
  upload_failed: 400,
  upload_cancelled: 404,
  upload_lost: 404,
  quota_exceeded: 400,
  too_many_requests: 503,
  upload_locked: 503,
  unsupported_version: 400,
};

/** The error codes this protocol's clients have always seen, kept for applications that read them. */
export const RESUMABLE_WIRE_CODES = {
  range_out_of_bounds: 'chunk_out_of_range',
  range_size_mismatch: 'chunk_size_mismatch',
  range_too_large: 'chunk_too_large',
  too_many_ranges: 'too_many_chunks',
  storage_full: 'insufficient_storage',
} as const;

export const renderResumableError = jsonErrorRenderer(RESUMABLE_STATUSES, RESUMABLE_WIRE_CODES);
