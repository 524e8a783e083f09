import type { Queue } from 'bullmq';
import type { UploadStore } from '../shared/upload-store.js';
import { WEBHOOK_JOB_NAME, webhookJobOptions, type WebhookPayload } from '../shared/webhook-job.js';

/**
 * Queues the webhook of an upload that reached an end state. Safe to call more than once:
 * the job id is the upload's, so one delivery is made. A no-op without a webhook URL.
 */
export class UploadNotifier {
  constructor(
    private readonly store: UploadStore,
    private readonly queue: Queue<WebhookPayload> | undefined,
    private readonly attempts: number,
  ) {}

  async uploadFinished(keyHash: string): Promise<void> {
    if (!this.queue) return;
    const upload = await this.store.readUpload(keyHash);
    if (!upload || (upload.state !== 'complete' && upload.state !== 'failed')) return;
    const payload: WebhookPayload = {
      event: upload.state === 'complete' ? 'upload.completed' : 'upload.failed',
      uploadId: upload.uploadId,
      identifier: upload.identifier,
      filename: upload.filename,
      relativePath: upload.relativePath,
      totalSize: upload.totalSize,
      size: upload.size ?? null,
      sha256: upload.sha256 ?? null,
      path: upload.path ?? null,
      error: upload.error ?? null,
      finishedAt: new Date().toISOString(),
    };
    await this.queue.add(WEBHOOK_JOB_NAME, payload, webhookJobOptions(upload.uploadId, this.attempts));
  }
}
