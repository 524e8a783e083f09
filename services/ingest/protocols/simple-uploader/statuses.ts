/**
 * How simple-uploader.js 0.6.0 reacts to statuses (docs/protocols/simple-uploader.md): a test
 * GET answered 200, 201 or 202 counts the chunk as stored; 404, 415, 500 and 501 fail the
 * whole file; anything else uploads the chunk. A chunk POST answered with anything but
 * 200-202 fails the file at once by default; with `maxChunkRetries` set, every status but
 * those four is retried at once (or after `chunkRetryInterval`).
 *
 * So a request that can never be valid (a bad field, a body or a geometry that does not fit,
 * a conflict with the upload's first request, a refused type or size) is a 415, one of the
 * two 4xx the client treats as permanent: it stops the file at its test GET, before a chunk
 * body is sent, and stops a chunk POST whatever `maxChunkRetries` says (the JSON body names
 * the real reason). An upload that is gone (cancelled, failed, lost) is a 404, the other one.
 * Passing faults keep their statuses (503, 507, 429 with Retry-After): they stop the file by
 * default and are retried only as the application configured. Never a 500 for a refusal:
 * 500 and 501 are for faults of the server itself.
 */
import { DEFAULT_STATUSES, jsonErrorRenderer, type StatusTable } from '../../../shared/http/default-statuses.js';
import { RESUMABLE_WIRE_CODES } from '../resumable/statuses.js';

const NEVER_VALID = 415;
const GONE = 404;

export const SIMPLE_UPLOADER_STATUSES: StatusTable = {
  ...DEFAULT_STATUSES,
  missing_field: NEVER_VALID,
  invalid_field: NEVER_VALID,
  malformed_body: NEVER_VALID,
  unsupported_media_type: NEVER_VALID,
  range_out_of_bounds: NEVER_VALID,
  range_size_mismatch: NEVER_VALID,
  range_too_large: NEVER_VALID,
  file_too_large: NEVER_VALID,
  too_many_ranges: NEVER_VALID,
  type_not_allowed: NEVER_VALID,
  checksum_mismatch: NEVER_VALID,
  upload_conflict: NEVER_VALID,
  unsupported_version: NEVER_VALID,
  upload_failed: GONE,
  upload_cancelled: GONE,
  upload_lost: GONE,
  upload_not_found: GONE,
  upload_locked: 503,
};

/** With the error codes resumable.js clients have always seen: simple-uploader.js speaks the same protocol. */
export const renderSimpleUploaderError = jsonErrorRenderer(SIMPLE_UPLOADER_STATUSES, RESUMABLE_WIRE_CODES);
