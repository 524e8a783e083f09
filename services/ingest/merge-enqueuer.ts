import type { Queue } from 'bullmq';
import { MERGE_JOB_NAME, mergeJobOptions, type MergeJobData, type MergeJobResult } from '../shared/merge-job.js';
import { asUnavailable, type UploadStore } from '../shared/upload-store.js';

/**
 * Adds the merge job of a completed upload, then marks the upload queued. Safe to call
 * more than once for one upload: the job id is deterministic, so BullMQ keeps one job.
 */
export class MergeEnqueuer {
  constructor(
    private readonly queue: Queue<MergeJobData, MergeJobResult>,
    private readonly store: UploadStore,
    private readonly attempts: number,
  ) {}

  async enqueue(data: MergeJobData): Promise<void> {
    try {
      await this.queue.add(MERGE_JOB_NAME, data, mergeJobOptions(data.uploadId, this.attempts));
    } catch (err) {
      throw asUnavailable(err);
    }
    await this.store.confirmQueued(data.keyHash, data.uploadId);
  }
}
