/**
 * The end of a merge: the assembled file is published (atomically, by the driver), then
 * recorded, which tells every listener; then the upload's stored bytes, its ranges and its
 * quota entry go. Recorded before anything is removed, so a crash from there on leaves
 * only the clean-up to a rerun of the job.
 */
import type { Logger } from 'pino';
import type { MergeProgress } from '../../core/events.js';
import { uploadKeyHash } from '../../core/keys.js';
import type { Assembly } from '../../core/storage-driver.js';
import type { PublishedFile, UploadRecord } from '../../core/upload.js';
import type { MergeJob, MergeOptions } from './merge-options.js';

/** Job progress carries what any ingest needs to route it to the upload's listeners. */
export function progressOf(job: MergeJob, upload: UploadRecord, bytes: number): MergeProgress {
  return {
    percent: Math.floor((bytes / Math.max(upload.size ?? 0, 1)) * 100),
    bytes,
    uploadId: upload.uploadId,
    keyHash: job.data.keyHash,
    scope: upload.scope,
    identifier: upload.identifier,
  };
}

export async function publishMerge(
  options: MergeOptions,
  job: MergeJob,
  upload: UploadRecord,
  assembly: Assembly,
  log: Logger,
): Promise<PublishedFile | undefined> {
  const { state, storage } = options;
  const { keyHash, uploadId } = job.data;
  const result = await assembly.finish();
  await job.updateProgress(progressOf(job, upload, result.size));
  // No longer in progress: its client may start another upload as soon as it sees this one complete.
  if (upload.quotaSubject) await state.releaseQuota(upload.quotaSubject, keyHash);
  if (!(await state.finishMerge(keyHash, uploadId, result))) {
    // Cancelled while merging (DELETE /uploads/:id): what was published must go too.
    const now = await state.read(keyHash);
    if (now?.uploadId === uploadId && now.state === 'cancelled') await storage.unpublish(result);
    log.warn({ state: now?.state }, 'upload changed state during the merge; result discarded');
    return undefined;
  }
  await options.notifier?.uploadFinished(keyHash);
  // The quota entry went above; releasing it again could release a reservation the same
  // identifier has made since for a new upload (the entry is keyed by the upload's key hash).
  await cleanUp(options, keyHash, upload, { quotaReleased: true });
  return result;
}

/** Removes what a merged upload no longer needs: its stored bytes (and its partials'), ranges and quota entry. */
export async function cleanUp(options: MergeOptions, keyHash: string, upload: UploadRecord, { quotaReleased = false } = {}): Promise<void> {
  const { state, storage } = options;
  for (const partialId of upload.concatOf ?? []) {
    const partialKey = uploadKeyHash(upload.scope, partialId);
    const partial = await state.read(partialKey);
    if (partial?.storageKey) await storage.remove(partial.storageKey);
    if (partial?.quotaSubject) await state.releaseQuota(partial.quotaSubject, partialKey);
    await state.dropRanges(partialKey);
  }
  await storage.remove(upload.storageKey);
  await state.dropRanges(keyHash);
  if (upload.quotaSubject && !quotaReleased) await state.releaseQuota(upload.quotaSubject, keyHash);
}
