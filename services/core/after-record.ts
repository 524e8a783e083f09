/**
 * What follows a recorded range: the refusals the state store decided, the quota of a new
 * upload, and the merge job of an upload that is now complete (added by exactly the one
 * request whose record completed it), or that starts merging early.
 */
import type { Access, CoreDependencies } from './core-dependencies.js';
import { UploadError } from './errors.js';
import type { RecordResult } from './state-store.js';

export type PublicOutcome = 'stored' | 'duplicate' | 'completed' | 'already_complete';

const REFUSALS: Partial<Record<RecordResult['outcome'], () => UploadError>> = {
  conflict: () => new UploadError('upload_conflict', 'The size, piece size, file name or path differs from the first request of this upload'),
  geometry: () => new UploadError('range_size_mismatch', 'The range contradicts the ranges already stored for this upload'),
  failed: () => new UploadError('upload_failed'),
  cancelled: () => new UploadError('upload_cancelled'),
  missing: () => new UploadError('upload_not_found'),
  lost: () => new UploadError('upload_lost'),
  offset: () => new UploadError('offset_mismatch'),
  fence: () => new UploadError('upload_locked', 'This request lost its write lock to another; retry'),
  busy: () => new UploadError('service_unavailable', 'Old data under this upload id is being removed; retry'),
  replaced: () => new UploadError('upload_failed', "The upload's stored bytes were lost; start it again"),
};

export async function afterRecord(deps: CoreDependencies, access: Access, keyHash: string, result: RecordResult): Promise<PublicOutcome> {
  const refuse = REFUSALS[result.outcome];
  if (refuse) {
    if (result.outcome === 'lost') deps.ids.delete(keyHash);
    if (result.outcome === 'replaced') await deps.onUploadFinished?.(keyHash);
    throw refuse();
  }
  deps.ids.set(keyHash, result.uploadId);
  if (result.created && result.outcome !== 'completed') await reserveQuota(deps, access, keyHash, result);

  const merge = { keyHash, uploadId: result.uploadId, quotaSubject: access.quotaSubject };
  if (result.outcome === 'completed' && result.partial) {
    await completeFinals(deps, access, result);
  } else if (result.outcome === 'completed' || result.outcome === 'enqueue') {
    await deps.merges.schedule({ ...merge, afterPark: result.earlyMerge === 'parked' });
  } else if (result.startsEarlyMerge) {
    await deps.merges.schedule(merge);
  }
  switch (result.outcome) {
    case 'stored':
    case 'duplicate':
    case 'completed':
      return result.outcome;
    default:
      return 'already_complete';
  }
}

/**
 * A new upload counts against its client's quota from its first range. Over the quota it
 * is cancelled at once (its bytes removed), so it can neither grow nor block its id.
 */
async function reserveQuota(deps: CoreDependencies, access: Access, keyHash: string, result: RecordResult): Promise<void> {
  const verdict = await deps.state.reserveQuota(access.quotaSubject, keyHash, result.size ?? 0, Date.now() + deps.idleTtlMs, deps.quota);
  if (verdict === 'ok') return;
  const cancelled = await deps.state.cancel(keyHash);
  if (cancelled.storageKey) await deps.storage.remove(cancelled.storageKey);
  deps.ids.delete(keyHash);
  throw new UploadError(
    'quota_exceeded',
    verdict === 'uploads'
      ? `This client has ${deps.quota.maxUploads} uploads in progress already; finish or cancel some first`
      : `This client's uploads in progress would exceed ${deps.quota.maxBytes} bytes`,
  );
}

/** A tus partial upload completed: count it towards every final upload that waits for it. */
async function completeFinals(deps: CoreDependencies, access: Access, result: RecordResult): Promise<void> {
  for (const finalKeyHash of result.finals) {
    const final = await deps.state.partialDone(finalKeyHash, result.uploadId, result.size ?? result.storedBytes);
    if (final === 'completed') {
      const upload = await deps.state.read(finalKeyHash);
      if (upload) await deps.merges.schedule({ keyHash: finalKeyHash, uploadId: upload.uploadId, quotaSubject: access.quotaSubject });
    }
  }
}
