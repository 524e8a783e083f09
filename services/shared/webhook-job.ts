/**
 * The completion webhook: one delivery per finished (completed or failed) upload, sent
 * by a queue job with retries and backoff, never from a request path.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuePrefix } from './upload-key.js';

export const WEBHOOK_QUEUE = 'webhook';
export const WEBHOOK_JOB_NAME = 'upload-finished';

export interface WebhookPayload {
  event: 'upload.completed' | 'upload.failed';
  /** Unique per upload: receivers deduplicate deliveries on it. */
  uploadId: string;
  identifier: string;
  filename: string;
  relativePath: string;
  totalSize: number;
  size: number | null;
  sha256: string | null;
  path: string | null;
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

export function createWebhookQueue(connection: Redis, prefix: string): Queue<WebhookPayload> {
  return new Queue<WebhookPayload>(WEBHOOK_QUEUE, { connection, prefix: queuePrefix(prefix) });
}
