/**
 * The contract between the core, which decides that an upload needs merging, and the
 * queue that runs merges (BullMQ: services/shared/merge-queue.ts; the worker consumes it).
 */
export interface MergeJobData {
  /** Names the upload in the state store. */
  keyHash: string;
  /** The upload the job was enqueued for; a later upload under the same key is a different one. */
  uploadId: string;
}

export interface MergeRequest extends MergeJobData {
  /** Whose upload it is: merges are kept fair between clients. */
  quotaSubject: string;
  /** Its early merge was parked: the merge at completion is a job of its own. */
  afterPark?: boolean;
}

export interface MergeScheduler {
  /** Adds the upload's merge job; adding it again while it exists is a no-op. */
  schedule(request: MergeRequest): Promise<void>;
}

/**
 * One upload, one job id: the queue ignores an add whose id exists, so every instance that
 * enqueues the same upload produces one job, and the completing request of an upload whose
 * merge started early finds that job running. A parked early merge has ended, so the merge
 * at completion is a job of its own. (BullMQ ids may contain neither `:` nor only digits.)
 */
export function mergeJobId(uploadId: string, afterPark = false): string {
  return afterPark ? `merge-${uploadId}-after-park` : `merge-${uploadId}`;
}
