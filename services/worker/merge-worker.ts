import { Worker } from 'bullmq';
import type { MergeJobData } from '../core/merge-scheduler.js';
import type { PublishedFile } from '../core/upload.js';
import { MERGE_QUEUE } from '../shared/merge-queue.js';
import type { RedisConnection } from '../shared/redis-connection.js';
import { queuePrefix } from '../state/redis-keys.js';
import { createMergeProcessor, type MergeOptions } from './merge/merge-processor.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface MergeWorkerOptions extends MergeOptions {
  /** A connection with `maxRetriesPerRequest: null` (BullMQ requires it for workers). */
  connection: RedisConnection;
  prefix: string;
  concurrency: number;
  /** How long a job's lock lasts; a dead worker's merge is taken over after about this long. */
  lockDurationMs: number;
  metrics?: WorkerMetrics;
}

/** The BullMQ worker on the merge queue. */
export function createMergeWorker(options: MergeWorkerOptions): Worker<MergeJobData, PublishedFile | undefined> {
  const { state, logger, notifier, metrics } = options;
  const processor = createMergeProcessor({ ...options, onMerged: metrics?.merged, onEarlyMerge: metrics?.earlyMerge });
  const worker = new Worker<MergeJobData, PublishedFile | undefined>(MERGE_QUEUE, processor, {
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
    const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    logger.warn({ uploadId: job.data.uploadId, jobId: job.id, err: err.message, final }, 'merge attempt failed');
    if (!final) return;
    metrics?.failed();
    // Covers ends the processor cannot see itself: attempts used up, a job stalled too often.
    state
      .markFailed(job.data.keyHash, job.data.uploadId, err.message)
      .then(() => notifier?.uploadFinished(job.data.keyHash))
      .catch((markErr: unknown) => logger.error({ err: markErr, uploadId: job.data.uploadId }, 'could not mark upload failed'));
  });
  worker.on('error', (err) => logger.error({ err }, 'merge worker error'));
  return worker;
}
