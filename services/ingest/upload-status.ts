/**
 * What `GET /uploads/:id` reports: the upload's own state from Redis, and its merge
 * job's state as the queue sees it.
 */
import type { Queue } from 'bullmq';
import { settledChunkCount } from '../shared/chunk-geometry.js';
import { isMergeProgress } from '../shared/upload-events.js';
import { mergeJobId, type MergeJobData, type MergeJobResult } from '../shared/merge-job.js';
import { asUnavailable, type UploadState, type UploadStore } from '../shared/upload-store.js';

export interface UploadStatus {
  identifier: string;
  uploadId: string;
  state: UploadState;
  filename: string;
  relativePath: string;
  totalSize: number;
  /** Chunks stored so far, and the chunk count once the geometry is settled. */
  received: number;
  total: number | null;
  /** Merge progress, 0-100. */
  progress: number;
  path: string | null;
  size: number | null;
  sha256: string | null;
  error: string | null;
  job: { id: string; state: string; progress: number; attemptsMade: number; failedReason: string | null } | null;
}

export async function readUploadStatus(
  store: UploadStore,
  queue: Queue<MergeJobData, MergeJobResult>,
  keyHash: string,
): Promise<UploadStatus | undefined> {
  const upload = await store.readUpload(keyHash);
  if (!upload) return undefined;
  let job: UploadStatus['job'] = null;
  const jobId = mergeJobId(upload.uploadId, upload.earlyMerge === 'parked');
  try {
    const found = await queue.getJob(jobId);
    if (found) {
      job = {
        id: found.id ?? jobId,
        state: await found.getState(),
        progress: isMergeProgress(found.progress) ? found.progress.percent : 0,
        attemptsMade: found.attemptsMade,
        failedReason: found.failedReason || null,
      };
    }
  } catch (err) {
    throw asUnavailable(err);
  }
  const geometry = { totalSize: upload.totalSize, chunkSize: upload.chunkSize };
  return {
    identifier: upload.identifier,
    uploadId: upload.uploadId,
    state: upload.state,
    filename: upload.filename,
    relativePath: upload.relativePath,
    totalSize: upload.totalSize,
    received: upload.received,
    total: settledChunkCount(geometry, upload.modeMask) ?? null,
    progress: upload.state === 'complete' ? 100 : (job?.progress ?? 0),
    path: upload.path ?? null,
    size: upload.size ?? null,
    sha256: upload.sha256 ?? null,
    error: upload.error ?? null,
    job,
  };
}
