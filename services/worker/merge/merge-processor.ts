/**
 * The merge job: an upload's stored ranges into one published file, through the storage
 * driver's assembly. A large upload's job starts while it still receives and follows its
 * contiguous bytes (follow-early.ts), so its file is ready soon after the last range; any
 * other upload's starts once it is complete.
 *
 * Idempotent, because BullMQ may run a job again (a stalled lock, a retry, a crash):
 * - the upload's state says whether a merge is still needed (begin-merge.lua);
 * - only a whole, verified file is ever published, atomically, and a rerun publishes the
 *   same bytes again;
 * - the result is recorded before stored bytes are removed, and a rerun of a finished job
 *   only completes that removal.
 */
import type { Logger } from 'pino';
import type { BeginMergeOutcome } from '../../core/state-store.js';
import { MissingDataError, type Assembly } from '../../core/storage-driver.js';
import type { PublishedFile, UploadRecord } from '../../core/upload.js';
import { failUpload, settleFailure } from './failure-policy.js';
import { followWhileReceiving } from './follow-early.js';
import type { MergeJob, MergeOptions } from './merge-options.js';
import { rangesToMerge } from './merge-sources.js';
import { cleanUp, progressOf, publishMerge } from './publish.js';

export type { MergeJob, MergeOptions } from './merge-options.js';

/** Bytes added between two progress reports (each is a Redis write). */
const PROGRESS_EVERY = 16 * 1024 * 1024;

export function createMergeProcessor(options: MergeOptions) {
  const { state, storage, logger } = options;
  const earlyMerge = options.earlyMerge ?? { perWorker: 0, idleMs: 0 };
  let earlyMergesRunning = 0;

  /** What a job does when begin-merge.lua says there is no merge for it to do. */
  async function endWithout(begin: BeginMergeOutcome, job: MergeJob, log: Logger): Promise<PublishedFile | undefined> {
    if (begin === 'complete') {
      log.info('upload already merged; finishing clean-up only');
      const upload = await state.read(job.data.keyHash);
      if (!upload) return undefined;
      await cleanUp(options, job.data.keyHash, upload);
      await options.notifier?.uploadFinished(job.data.keyHash);
      return upload.result;
    }
    if (begin === 'missing') return failUpload(options, job, 'the upload state expired before it was merged');
    if (begin === 'receiving') return failUpload(options, job, 'merge job for an upload that is still receiving');
    log.info({ begin }, 'nothing to merge for this job');
    return undefined;
  }

  /** Adds ranges in batches, reporting progress between them. */
  async function addAll(job: MergeJob, upload: UploadRecord, assembly: Assembly): Promise<void> {
    const ranges = await rangesToMerge(state, job.data.keyHash, upload, assembly.size);
    let batch: typeof ranges = [];
    let batchBytes = 0;
    for (const range of ranges) {
      batch.push(range);
      batchBytes += range.length;
      if (batchBytes < PROGRESS_EVERY) continue;
      await assembly.add(batch);
      await job.updateProgress(progressOf(job, upload, assembly.size));
      batch = [];
      batchBytes = 0;
    }
    if (batch.length > 0) await assembly.add(batch);
  }

  async function merge(begin: 'merge' | 'early', job: MergeJob, token: string | undefined, log: Logger): Promise<PublishedFile | undefined> {
    const { keyHash, uploadId } = job.data;
    const started = Date.now();
    let upload = (await state.read(keyHash))!;
    const assembly = await storage.openAssembly({
      uploadId, storageKey: upload.storageKey, name: upload.name, type: upload.type, size: upload.size,
      previousAssembly: upload.assembly, signal: options.shutdownSignal,
      // S3 creates its multipart upload with the first part, not here: noted once it exists.
      onReference: (reference) => state.noteAssembly(keyHash, uploadId, reference),
    });
    try {
      let completedAt = started;
      if (begin === 'early') {
        let reported = 0;
        // Progress while receiving goes to the job (the dashboard, and tests) but not to
        // clients, whose events say the upload is still receiving.
        const onAdded = async () => {
          if (assembly.size - reported < PROGRESS_EVERY && reported > 0) return;
          reported = assembly.size;
          await job.updateProgress({ ...progressOf(job, upload, assembly.size), early: true });
        };
        const end = await followWhileReceiving({ state, keyHash, upload, assembly, idleMs: earlyMerge.idleMs, signal: options.drainSignal ?? options.shutdownSignal, onAdded });
        if (end !== 'completed') {
          await assembly.abort();
          log.info({ end, merged: assembly.size }, end === 'parked' ? 'early merge parked: no data for a while' : 'early merge ended: upload gone');
          if (end === 'parked') options.onEarlyMerge?.('parked');
          return undefined;
        }
        const next = await state.beginMerge(keyHash, uploadId);
        if (next !== 'merge') {
          await assembly.abort();
          return endWithout(next, job, log);
        }
        upload = (await state.read(keyHash))!; // the size is settled now
        completedAt = Date.now();
      }
      await addAll(job, upload, assembly);
      const result = await publishMerge(options, job, upload, assembly, log);
      if (!result) return undefined;
      const tailMs = Date.now() - completedAt;
      options.onMerged?.(result.size, tailMs / 1000);
      if (begin === 'early') options.onEarlyMerge?.('merged');
      log.info({ ...result, ms: Date.now() - started, early: begin === 'early', tailMs }, 'merged');
      return result;
    } catch (err) {
      await assembly.abort().catch(() => undefined);
      // Stored bytes vanish when an upload is cancelled (DELETE /uploads/:id) mid-merge.
      if (err instanceof MissingDataError && (await isCancelled(job))) {
        log.info('upload cancelled during its merge');
        return undefined;
      }
      return settleFailure(options, err, job, token, log);
    }
  }

  async function isCancelled(job: MergeJob): Promise<boolean> {
    const now = await state.read(job.data.keyHash);
    return now?.uploadId === job.data.uploadId && now.state === 'cancelled';
  }

  async function mergeOrEnd(begin: BeginMergeOutcome, job: MergeJob, token: string | undefined): Promise<PublishedFile | undefined> {
    const log = logger.child({ uploadId: job.data.uploadId, jobId: job.id, attempt: job.attemptsMade + 1 });
    if (begin !== 'merge' && begin !== 'early') return endWithout(begin, job, log);
    return merge(begin, job, token, log);
  }

  return async function processMerge(job: MergeJob, token?: string): Promise<PublishedFile | undefined> {
    const begin = await state.beginMerge(job.data.keyHash, job.data.uploadId);
    if (begin !== 'early') return mergeOrEnd(begin, job, token);
    // The slot is taken before anything is awaited, so two jobs starting at once cannot both
    // take the last one; it is held until the job ends.
    if (earlyMergesRunning >= earlyMerge.perWorker) {
      if (!(await state.parkEarlyMerge(job.data.keyHash, job.data.uploadId))) {
        return mergeOrEnd(await state.beginMerge(job.data.keyHash, job.data.uploadId), job, token);
      }
      logger.info({ uploadId: job.data.uploadId, jobId: job.id, running: earlyMergesRunning }, 'early merge parked: as many as this worker runs at once');
      options.onEarlyMerge?.('parked');
      return undefined;
    }
    earlyMergesRunning++;
    try {
      return await mergeOrEnd(begin, job, token);
    } finally {
      earlyMergesRunning--;
    }
  };
}
