/**
 * The merge job: chunks 1..n of an upload into `files/<upload id>/<name>`. A large
 * upload's job starts with its first chunk and appends chunks while the rest arrive
 * (merge-ahead.ts), so its file is ready soon after the last chunk; any other upload's
 * starts once it is complete.
 *
 * Idempotent, because BullMQ may run a job again (a stalled lock, a retry, a crash):
 * - the upload's state in Redis says whether a merge is still needed (begin-merge.lua);
 * - the file is built under a temp name of each attempt's own and renamed into place, so
 *   the published name only ever holds a whole, verified file, and a rerun replaces it
 *   with the same bytes;
 * - the result is recorded before the chunks are deleted, and a rerun of a finished
 *   job only completes that deletion.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { chunkCount, expectedChunkLength, settledMode } from '../shared/chunk-geometry.js';
import { isStorageFull } from '../shared/errors.js';
import type { MergeJobData, MergeJobResult } from '../shared/merge-job.js';
import type { MergeProgress } from '../shared/upload-events.js';
import { CHUNK_FILE_PATTERN, type StorageLayout } from '../shared/storage-layout.js';
import type { BeginMergeOutcome, UploadRecord, UploadStore } from '../shared/upload-store.js';
import { BufferPool } from './buffer-pool.js';
import { mergeAhead } from './merge-ahead.js';
import { createMergeOutput, publishMergedFile } from './merge-destination.js';
import { BrokenChunkError, MergeOutput, type ChunkSource } from './merge-output.js';
import type { UploadNotifier } from './upload-notifier.js';

export interface EarlyMergeOptions {
  /** Early merges one worker process runs at once; more park straight away (0: none run). */
  perWorker: number;
  /** An early merge that appends no chunk for this long parks, giving its slot back. */
  idleMs: number;
}

export interface MergeProcessorOptions {
  store: UploadStore;
  layout: StorageLayout;
  logger: Logger;
  /** Queues the completion webhook once an upload is complete or failed. */
  notifier?: UploadNotifier;
  /** Told of every merge actually performed: its bytes, and seconds from the upload's completion to publication. */
  onMerged?: (bytes: number, seconds: number) => void;
  /** Told when an early merge ends: it merged the upload, or parked. */
  onEarlyMerge?: (end: 'merged' | 'parked') => void;
  /** Aborted at shutdown's deadline: an active merge stops and hands its job straight back to the queue. */
  shutdownSignal?: AbortSignal;
  /**
   * Aborted when shutdown starts: an early merge, which cannot finish before its upload
   * does, hands its job back at once instead of holding shutdown until the deadline.
   */
  drainSignal?: AbortSignal;
  /** How long a merge that found the disk full waits before it tries again. */
  diskFullRetryMs?: number;
  earlyMerge?: EarlyMergeOptions;
}

export type MergeJob = Job<MergeJobData, MergeJobResult | undefined>;

const COPY_BUFFER_SIZE = 1024 * 1024;
const PROGRESS_EVERY = 16 * COPY_BUFFER_SIZE;
const FLUSH_EVERY = 32 * COPY_BUFFER_SIZE;

export function createMergeProcessor(options: MergeProcessorOptions) {
  const { store, layout, logger, notifier, onMerged, onEarlyMerge, shutdownSignal, drainSignal, diskFullRetryMs = 30_000 } = options;
  const earlyMerge = options.earlyMerge ?? { perWorker: 0, idleMs: 0 };
  const buffers = new BufferPool(COPY_BUFFER_SIZE);
  let earlyMergesRunning = 0;

  async function failUpload(data: MergeJobData, reason: string): Promise<never> {
    await store.markFailed(data.keyHash, data.uploadId, reason);
    await notifier?.uploadFinished(data.keyHash);
    throw new UnrecoverableError(reason);
  }

  async function deleteChunks(keyHash: string): Promise<void> {
    await rm(layout.chunkDir(keyHash), { recursive: true, force: true, maxRetries: 3 });
    await store.dropChunkMap(keyHash);
  }

  /** Chunks `from`..n of a complete upload, in the geometry its chunks settled on. */
  async function chunkSources(data: MergeJobData, upload: UploadRecord, from: number): Promise<ChunkSource[]> {
    const geometry = { totalSize: upload.totalSize, chunkSize: upload.chunkSize };
    const mode = settledMode(upload.modeMask);
    const files = await store.readChunkMap(data.keyHash);
    const sources: ChunkSource[] = [];
    for (let number = from; number <= chunkCount(geometry, mode); number++) {
      const file = files.get(number);
      if (file === undefined || !CHUNK_FILE_PATTERN.test(file)) await failUpload(data, `chunk ${number} was never recorded`);
      sources.push({ path: layout.chunkPath(data.keyHash, file!), expectedLength: expectedChunkLength(geometry, mode, number)! });
    }
    return sources;
  }

  /**
   * The temp file beside the destination. Progress is reported once the upload is
   * complete: before, events say the upload is receiving, and a merge percentage would
   * contradict them.
   */
  async function createOutput(job: MergeJob, upload: UploadRecord, reporting: () => boolean): Promise<MergeOutput> {
    return createMergeOutput(layout, upload.uploadId, String(job.id), {
      buffers,
      signal: shutdownSignal,
      progressEvery: PROGRESS_EVERY,
      flushEvery: FLUSH_EVERY,
      onProgress: (written) => (reporting() ? job.updateProgress(progressOf(job.data.keyHash, upload, written)) : undefined),
    });
  }


  /** Turns a failed merge into what the queue should do with the job. */
  async function settleFailure(err: unknown, job: MergeJob, token: string | undefined, log: Logger): Promise<never> {
    if (err instanceof BrokenChunkError) return failUpload(job.data, err.message);
    const drained = drainSignal?.aborted === true && err === drainSignal.reason;
    if ((shutdownSignal?.aborted || drained) && token) {
      // Shutting down: give the job back now rather than when its lock lapses. A
      // DelayedError does not count as an attempt.
      log.info('merge interrupted by shutdown; job handed back to the queue');
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    if (isStorageFull(err) && token) {
      // A full disk passes when space is freed: wait for it rather than use up attempts
      // and fail the upload. The queue's delayed count shows merges waiting for space.
      log.warn({ retryInMs: diskFullRetryMs }, 'disk full during merge; will retry');
      await job.moveToDelayed(Date.now() + diskFullRetryMs, token);
      throw new DelayedError();
    }
    throw err;
  }

  /** What a job does when begin-merge.lua says there is no merge for it to do. */
  async function endWithout(begin: BeginMergeOutcome, job: MergeJob, log: Logger): Promise<MergeJobResult | undefined> {
    const { data } = job;
    if (begin === 'complete') {
      log.info('upload already merged; finishing cleanup only');
      await deleteChunks(data.keyHash);
      await notifier?.uploadFinished(data.keyHash);
      const upload = await store.readUpload(data.keyHash);
      return upload?.path ? { path: upload.path, size: upload.size ?? 0, sha256: upload.sha256 ?? '' } : undefined;
    }
    if (begin === 'missing') return failUpload(data, 'the upload state expired before it was merged');
    if (begin === 'receiving') return failUpload(data, 'merge job for an upload that is still receiving');
    log.info({ begin }, 'nothing to merge for this job');
    return undefined;
  }

  /** An early merge over the limit parks at once; returns what begin-merge says once the upload moved on instead. */
  async function parkOrBeginAgain(data: MergeJobData): Promise<BeginMergeOutcome | 'parked'> {
    if (await store.parkEarlyMerge(data.keyHash, data.uploadId)) return 'parked';
    return store.beginMerge(data.keyHash, data.uploadId);
  }

  /**
   * Publishes a verified merge: renamed into place, then recorded (which tells every
   * listener). False when the upload was cancelled meanwhile; what was published is gone.
   */
  async function publish(job: MergeJob, upload: UploadRecord, output: MergeOutput, built: { size: number; sha256: string }, log: Logger) {
    const { data } = job;
    const destination = await publishMergedFile(output.path, upload.filename);
    const result = { path: layout.relative(destination), size: built.size, sha256: built.sha256 };
    if (await store.finishMerge(data.keyHash, data.uploadId, result)) return result;
    // Cancelled while merging (DELETE /uploads/:id): what was published must go too.
    const now = await store.readUpload(data.keyHash);
    if (now?.uploadId === data.uploadId && now.state === 'cancelled') {
      await rm(path.dirname(destination), { recursive: true, force: true });
      await deleteChunks(data.keyHash);
    }
    log.warn({ state: now?.state }, 'upload changed state during the merge; result discarded');
    return undefined;
  }

  /**
   * The early part of a merge, while its upload is receiving. Ends in `merge` (the upload is
   * complete and now merging: go on from `nextChunk`, with its settled record), or with the
   * job's result (parked, or the upload gone); the output is discarded then.
   */
  async function mergeEarly(job: MergeJob, upload: UploadRecord, output: MergeOutput, log: Logger) {
    const { data } = job;
    const ahead = await mergeAhead({ store, layout, keyHash: data.keyHash, upload, output, idleMs: earlyMerge.idleMs, signal: drainSignal ?? shutdownSignal });
    if (ahead.end !== 'completed') {
      await output.discard();
      log.info({ end: ahead.end, appended: output.size }, ahead.end === 'parked' ? 'early merge parked: no chunk for a while' : 'early merge ended: upload gone');
      if (ahead.end === 'parked') onEarlyMerge?.('parked');
      return { end: 'done' as const, result: undefined };
    }
    const begin = await store.beginMerge(data.keyHash, data.uploadId);
    if (begin !== 'merge') {
      await output.discard();
      return { end: 'done' as const, result: await endWithout(begin, job, log) };
    }
    // The geometry is settled now that the upload is complete.
    return { end: 'merge' as const, nextChunk: ahead.nextChunk, upload: (await store.readUpload(data.keyHash))! };
  }

  async function mergeOrEnd(begin: BeginMergeOutcome, job: MergeJob, token: string | undefined): Promise<MergeJobResult | undefined> {
    const { data } = job;
    const log = logger.child({ uploadId: data.uploadId, jobId: job.id, attempt: job.attemptsMade + 1 });
    if (begin !== 'merge' && begin !== 'early') return endWithout(begin, job, log);

    const started = Date.now();
    const early = begin === 'early';
    let upload = (await store.readUpload(data.keyHash))!;
    let reportProgress = !early;
    let output: MergeOutput | undefined;
    try {
      output = await createOutput(job, upload, () => reportProgress);
      let nextChunk = 1;
      if (early) {
        const ahead = await mergeEarly(job, upload, output, log);
        if (ahead.end !== 'merge') return ahead.result;
        ({ nextChunk, upload } = ahead);
      }
      reportProgress = true;
      const completedAt = early ? Date.now() : started;
      await output.append(await chunkSources(data, upload, nextChunk), nextChunk);
      const built = await output.finish();
      if (built.size !== upload.totalSize) {
        await rm(output.path, { force: true });
        return failUpload(data, `merged ${built.size} bytes, expected ${upload.totalSize}`);
      }
      await job.updateProgress(progressOf(data.keyHash, upload, built.size));
      const result = await publish(job, upload, output, built, log);
      if (!result) return undefined;
      const tailMs = Date.now() - completedAt;
      onMerged?.(built.size, tailMs / 1000);
      if (early) onEarlyMerge?.('merged');
      log.info({ ...result, ms: Date.now() - started, early, tailMs }, 'merged');
      await notifier?.uploadFinished(data.keyHash);
      // Recorded first, so a crash from here on leaves only the cleanup to a rerun.
      await deleteChunks(data.keyHash);
      return result;
    } catch (err) {
      await output?.discard();
      // Chunk files vanish when an upload is cancelled (DELETE /uploads/:id) mid-merge.
      if (err instanceof BrokenChunkError && (await isCancelled(data))) {
        log.info('upload cancelled during its merge');
        return undefined;
      }
      return settleFailure(err, job, token, log);
    }
  }

  async function isCancelled(data: MergeJobData): Promise<boolean> {
    const now = await store.readUpload(data.keyHash);
    return now?.uploadId === data.uploadId && now.state === 'cancelled';
  }

  return async function processMerge(job: MergeJob, token?: string): Promise<MergeJobResult | undefined> {
    const begin = await store.beginMerge(job.data.keyHash, job.data.uploadId);
    if (begin !== 'early') return mergeOrEnd(begin, job, token);
    // The slot is taken before anything is awaited, so two jobs starting at once cannot both
    // take the last one; it is held until the job ends.
    if (earlyMergesRunning >= earlyMerge.perWorker) {
      const next = await parkOrBeginAgain(job.data);
      if (next !== 'parked') return mergeOrEnd(next, job, token);
      logger.info({ uploadId: job.data.uploadId, jobId: job.id, running: earlyMergesRunning }, 'early merge parked: as many as this worker runs at once');
      onEarlyMerge?.('parked');
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

/** Job progress carries what any ingest needs to route it to the upload's listeners. */
function progressOf(keyHash: string, upload: UploadRecord, bytes: number): MergeProgress {
  return {
    percent: Math.floor((bytes / Math.max(upload.totalSize, 1)) * 100),
    bytes,
    uploadId: upload.uploadId,
    keyHash,
    scope: upload.scope,
    identifier: upload.identifier,
  };
}
