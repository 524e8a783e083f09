import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MERGE_QUEUE, type MergeJobData, type MergeJobResult } from '../shared/merge-job.js';
import type { StorageLayout } from '../shared/storage-layout.js';
import { queuePrefix } from '../shared/upload-key.js';
import type { UploadStore } from '../shared/upload-store.js';
import { createMergeProcessor } from './merge-processor.js';

export interface MergeWorkerOptions {
  /** A connection with `maxRetriesPerRequest: null` (BullMQ requires it for workers). */
  connection: Redis;
  store: UploadStore;
  layout: StorageLayout;
  logger: Logger;
  prefix: string;
  concurrency: number;
  /** How long a job's lock lasts; a dead worker's merge is taken over after about this long. */
  lockDurationMs: number;
}

/** The BullMQ worker on the merge queue. */
export function createMergeWorker(options: MergeWorkerOptions): Worker<MergeJobData, MergeJobResult | undefined> {
  const { store, logger } = options;
  const worker = new Worker<MergeJobData, MergeJobResult | undefined>(MERGE_QUEUE, createMergeProcessor(options), {
    connection: options.connection,
    prefix: queuePrefix(options.prefix),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.lockDurationMs,
    // A merge killed twice in a row is more likely a crash it causes than bad luck.
    maxStalledCount: 2,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const exhausted = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ uploadId: job.data.uploadId, jobId: job.id, err: err.message, final: exhausted }, 'merge attempt failed');
    // Covers ends the processor cannot see itself: attempts used up, a job stalled too often.
    if (exhausted) {
      store.markFailed(job.data.keyHash, job.data.uploadId, err.message).catch((markErr: unknown) => {
        logger.error({ err: markErr, uploadId: job.data.uploadId }, 'could not mark upload failed');
      });
    }
  });
  worker.on('error', (err) => logger.error({ err }, 'merge worker error'));
  return worker;
}
