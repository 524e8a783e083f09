/**
 * What the queue should do with a merge that failed:
 * - stored bytes missing: no retry can help, the upload fails with the reason;
 * - shutting down: the job goes back to the queue at once (not an attempt);
 * - storage full: the job waits for space and tries again, a bounded number of times,
 *   then the upload fails (a merge that cannot fit must end, not retry forever);
 * - anything else: the queue's attempts and backoff.
 */
import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { isStorageFull, isUploadError } from '../../core/errors.js';
import { MissingDataError } from '../../core/storage-driver.js';
import type { MergeJob, MergeOptions } from './merge-options.js';

/** Marks the upload failed, queues its webhook, and tells the queue not to retry. */
export async function failUpload(options: MergeOptions, job: MergeJob, reason: string): Promise<never> {
  await options.state.markFailed(job.data.keyHash, job.data.uploadId, reason);
  await options.notifier?.uploadFinished(job.data.keyHash);
  throw new UnrecoverableError(reason);
}

export async function settleFailure(options: MergeOptions, err: unknown, job: MergeJob, token: string | undefined, log: Logger): Promise<never> {
  const { shutdownSignal, drainSignal, diskFullRetryMs = 30_000, diskFullRetries = 20 } = options;
  if (err instanceof MissingDataError) return failUpload(options, job, err.message);
  const drained = drainSignal?.aborted === true && err === drainSignal.reason;
  if ((shutdownSignal?.aborted || drained) && token) {
    // Shutting down: give the job back now rather than when its lock lapses. A
    // DelayedError does not count as an attempt.
    log.info('merge interrupted by shutdown; job handed back to the queue');
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  }
  if ((isStorageFull(err) || isUploadError(err, 'storage_full')) && token) {
    const waits = (job.data.storageFullWaits ?? 0) + 1;
    if (waits > diskFullRetries) return failUpload(options, job, `the storage stayed full through ${diskFullRetries} tries`);
    // Space may be freed: wait for it rather than use up attempts. The queue's delayed
    // count shows merges waiting for space.
    log.warn({ retryInMs: diskFullRetryMs, waits }, 'storage full during merge; will retry');
    await job.updateData({ ...job.data, storageFullWaits: waits });
    await job.moveToDelayed(Date.now() + diskFullRetryMs, token);
    throw new DelayedError();
  }
  throw err;
}
