/**
 * What S3's failures mean to a client: a store that is unreachable, slow or overloaded is a
 * passing fault (503, retry), as when Redis is away; a missing object the merge needs is
 * missing data (the upload fails with the reason).
 */
import { UploadError } from '../../core/errors.js';
import { MissingDataError } from '../../core/storage-driver.js';

const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);

export function isMissing(err: unknown): boolean {
  const name = (err as { name?: string; Code?: string } | null)?.name ?? '';
  return MISSING.has(name) || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
}

/** For the ingest: everything S3 does wrong is the store's passing fault. */
export function asStoreUnavailable(err: unknown): unknown {
  if (err instanceof UploadError) return err;
  return new UploadError('service_unavailable', 'The object store is unavailable; retry', { cause: err });
}

/** For the merge: a missing object is missing data; the rest the queue retries. */
export function asMergeFailure(err: unknown, what: string): unknown {
  return isMissing(err) ? new MissingDataError(`${what} is missing from the object store`, { cause: err }) : err;
}
