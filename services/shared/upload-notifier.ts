import type { Queue } from 'bullmq';
import type { StateStore } from '../core/state-store.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions, type WebhookPayload } from './webhook-job.js';

/**
 * Queues the webhook of an upload that reached an end state. Safe to call more than once:
 * the job id is the upload's, so one delivery is made. A no-op without a webhook URL.
 */
export class UploadNotifier {
  constructor(
    private readonly state: StateStore,
    private readonly queue: Queue<WebhookPayload> | undefined,
    private readonly attempts: number,
  ) {}

  async uploadFinished(keyHash: string): Promise<void> {
    if (!this.queue) return;
    const upload = await this.state.read(keyHash);
    if (!upload || (upload.state !== 'complete' && upload.state !== 'failed')) return;
    const payload: WebhookPayload = {
      event: upload.state === 'complete' ? 'upload.completed' : 'upload.failed',
      uploadId: upload.uploadId,
      identifier: upload.identifier,
      protocol: upload.protocol,
      filename: upload.name,
      relativePath: upload.relativePath,
      totalSize: upload.size ?? null,
      size: upload.result?.size ?? null,
      sha256: upload.result?.sha256 ?? null,
      path: upload.result && !upload.result.bucket ? upload.result.location : null,
      bucket: upload.result?.bucket ?? null,
      key: upload.result?.bucket ? upload.result.location : null,
      error: upload.error ?? null,
      finishedAt: new Date().toISOString(),
    };
    await this.queue.add(WEBHOOK_JOB_NAME, payload, webhookJobOptions(upload.uploadId, this.attempts));
  }
}
