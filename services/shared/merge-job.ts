/**
 * The contract between ingest (which enqueues) and worker (which merges).
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuePrefix } from './upload-key.js';

export const MERGE_QUEUE = 'merge';
export const MERGE_JOB_NAME = 'merge-upload';

export interface MergeJobData {
  /** Names the upload's Redis keys and chunk folder. */
  keyHash: string;
  /** The upload the job was enqueued for; a later upload under the same key is a different one. */
  uploadId: string;
}

export interface MergeJobResult {
  path: string;
  size: number;
  sha256: string;
}

/**
 * One upload, one job id: BullMQ ignores an add whose id exists, so every ingest that
 * enqueues the same upload produces one job, and the completing chunk of an upload whose
 * merge started early finds that job running. An early merge that was parked has ended,
 * so the upload's merge at completion is a job of its own (`afterPark`). Ids may contain
 * neither `:` nor only digits (../shared/LESSONS.md).
 */
export function mergeJobId(uploadId: string, afterPark = false): string {
  return afterPark ? `merge-${uploadId}-after-park` : `merge-${uploadId}`;
}

export function mergeJobOptions(uploadId: string, attempts: number, afterPark = false): JobsOptions {
  return {
    jobId: mergeJobId(uploadId, afterPark),
    attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    // Finished jobs are kept a while for the dashboard; the upload's own state in Redis,
    // not the job, records the result and whether a merge is still needed.
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export function createMergeQueue(connection: Redis, prefix: string): Queue<MergeJobData, MergeJobResult> {
  return new Queue<MergeJobData, MergeJobResult>(MERGE_QUEUE, { connection, prefix: queuePrefix(prefix) });
}
