import type { Queue } from 'bullmq';
import { MERGE_JOB_NAME, mergeJobOptions, type MergeJobData, type MergeJobResult } from '../shared/merge-job.js';
import { asUnavailable } from '../shared/upload-store.js';

/**
 * Adds the merge job of an upload: when it completed (record-chunk.lua already marked it
 * queued), or with its first chunk when it is large enough to merge early. Safe to call
 * more than once for one upload: the job id is deterministic, so BullMQ keeps one job.
 * One Redis round trip, so a completing (or early-merge starting) chunk POST costs two in all.
 */
export class MergeEnqueuer {
  constructor(
    private readonly queue: Queue<MergeJobData, MergeJobResult>,
    private readonly attempts: number,
  ) {}

  async enqueue(data: MergeJobData, afterPark = false): Promise<void> {
    try {
      await this.queue.add(MERGE_JOB_NAME, data, mergeJobOptions(data.uploadId, this.attempts, afterPark));
    } catch (err) {
      throw asUnavailable(err);
    }
  }
}
