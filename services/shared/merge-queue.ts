/**
 * The merge queue (BullMQ): the ingest adds a job when the core says an upload needs
 * merging; the worker runs it. Merges are kept fair between clients: each job's priority
 * is how many merges its client started on this instance in the last minute, so one
 * client's flood of small uploads queues behind everyone else's next upload instead of
 * in front of it (BullMQ serves lower priority numbers first, in order within one).
 */
import { Queue, type JobsOptions } from 'bullmq';
import { mergeJobId, type MergeJobData, type MergeRequest, type MergeScheduler } from '../core/merge-scheduler.js';
import { isMergeProgress } from '../core/events.js';
import type { PublishedFile, UploadRecord } from '../core/upload.js';
import { asUnavailable } from '../state/redis-errors.js';
import { queuePrefix } from '../state/redis-keys.js';
import type { RedisConnection } from '../state/script-loader.js';

export const MERGE_QUEUE = 'merge';
export const MERGE_JOB_NAME = 'merge-upload';

export type MergeJobResult = PublishedFile;

export function createMergeQueue(connection: RedisConnection, prefix: string): Queue<MergeJobData, MergeJobResult | undefined> {
  return new Queue<MergeJobData, MergeJobResult | undefined>(MERGE_QUEUE, { connection, prefix: queuePrefix(prefix) });
}

export function mergeJobOptions(uploadId: string, attempts: number, afterPark: boolean, priority: number): JobsOptions {
  return {
    jobId: mergeJobId(uploadId, afterPark),
    attempts,
    priority,
    backoff: { type: 'exponential', delay: 1_000 },
    // Finished jobs are kept a while for the dashboard; the upload's own state, not the
    // job, records the result and whether a merge is still needed.
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** BullMQ's highest priority number. */
const LOWEST_PRIORITY = 2_097_152;
const FAIRNESS_WINDOW_MS = 60_000;

/** Merges each client started recently, counted on this instance. */
class RecentMerges {
  private readonly started = new Map<string, number[]>();

  count(subject: string, now: number): number {
    const times = (this.started.get(subject) ?? []).filter((time) => now - time < FAIRNESS_WINDOW_MS);
    times.push(now);
    this.started.set(subject, times);
    if (this.started.size > 10_000) this.forgetIdle(now);
    return times.length;
  }

  private forgetIdle(now: number): void {
    for (const [subject, times] of this.started) {
      if (times.every((time) => now - time >= FAIRNESS_WINDOW_MS)) this.started.delete(subject);
    }
  }
}

export class BullMergeScheduler implements MergeScheduler {
  private readonly recent = new RecentMerges();

  constructor(
    private readonly queue: Queue<MergeJobData, MergeJobResult | undefined>,
    private readonly attempts: number,
  ) {}

  async schedule(request: MergeRequest): Promise<void> {
    const priority = Math.min(this.recent.count(request.quotaSubject, Date.now()), LOWEST_PRIORITY);
    const data: MergeJobData = { keyHash: request.keyHash, uploadId: request.uploadId };
    try {
      await this.queue.add(MERGE_JOB_NAME, data, mergeJobOptions(request.uploadId, this.attempts, request.afterPark ?? false, priority));
    } catch (err) {
      throw asUnavailable(err);
    }
  }
}

/** A merge job as `GET /uploads/:id` shows it. */
export interface MergeJobView {
  id: string;
  state: string;
  progress: number;
  attemptsMade: number;
  failedReason: string | null;
}

export class MergeJobs {
  constructor(private readonly queue: Queue<MergeJobData, MergeJobResult | undefined>) {}

  async view(upload: UploadRecord): Promise<MergeJobView | null> {
    const jobId = mergeJobId(upload.uploadId, upload.earlyMerge === 'parked');
    try {
      const job = await this.queue.getJob(jobId);
      if (!job) return null;
      const state = await job.getState();
      return {
        id: job.id ?? jobId,
        // Fairness gives every merge a priority; to a client, a prioritized job is waiting.
        state: state === 'prioritized' ? 'waiting' : state,
        progress: isMergeProgress(job.progress) ? job.progress.percent : 0,
        attemptsMade: job.attemptsMade,
        failedReason: job.failedReason || null,
      };
    } catch (err) {
      throw asUnavailable(err);
    }
  }
}
