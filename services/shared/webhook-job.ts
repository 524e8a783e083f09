/**
 * The completion webhook: one delivery per finished (completed or failed) upload, sent
 * by a queue job with retries and backoff, never from a request path.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisConnection } from './redis-connection.js';
import { queuePrefix } from '../state/redis-keys.js';

export const WEBHOOK_QUEUE = 'webhook';
export const WEBHOOK_JOB_NAME = 'upload-finished';

export interface WebhookPayload {
  event: 'upload.completed' | 'upload.failed';
  /** Unique per upload: receivers deduplicate deliveries on it. */
  uploadId: string;
  identifier: string;
  /** Which client protocol the upload came by (resumable, tus...). */
  protocol: string;
  filename: string;
  relativePath: string;
  totalSize: number | null;
  size: number | null;
  sha256: string | null;
  /** The published file: a path relative to DATA_DIR, or an S3 bucket and key. */
  path: string | null;
  bucket: string | null;
  key: string | null;
  error: string | null;
  finishedAt: string;
}

/** One job id per upload: enqueuing twice (a rerun merge, a repeated failure) delivers once. */
export function webhookJobId(uploadId: string): string {
  return `webhook-${uploadId}`;
}

export function webhookJobOptions(uploadId: string, attempts: number): JobsOptions {
  return {
    jobId: webhookJobId(uploadId),
    attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    // Kept long enough that a late re-enqueue finds the id and is ignored.
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

export function createWebhookQueue(connection: RedisConnection, prefix: string): Queue<WebhookPayload> {
  return new Queue<WebhookPayload>(WEBHOOK_QUEUE, { connection, prefix: queuePrefix(prefix) });
}
