/**
 * Delivers webhook jobs: POST the JSON payload, signed so the receiver can trust it.
 *
 *   X-Chunkyard-Event       upload.completed | upload.failed
 *   X-Chunkyard-Delivery    the upload id: the same for every retry, to deduplicate on
 *   X-Chunkyard-Timestamp   Unix seconds when this attempt was sent
 *   X-Chunkyard-Signature   sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with WEBHOOK_SECRET>
 *
 * Any answer but 2xx, or none within 10 s, fails the attempt; BullMQ retries with backoff.
 * Redirects are not followed (a 3xx fails the attempt): the signed delivery goes to the
 * configured URL and nowhere else. The answer's body is never read: a receiver cannot make
 * the worker hold its memory.
 */
import { createHmac } from 'node:crypto';
import type { Job } from 'bullmq';
import type { WebhookPayload } from '../shared/webhook-job.js';

const TIMEOUT_MS = 10_000;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createWebhookDelivery(url: string, secret: string) {
  return async function deliverWebhook(job: Job<WebhookPayload>): Promise<{ status: number }> {
    const body = JSON.stringify(job.data);
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'chunkyard-webhook',
        'X-Chunkyard-Event': job.data.event,
        'X-Chunkyard-Delivery': job.data.uploadId,
        'X-Chunkyard-Timestamp': String(timestamp),
        'X-Chunkyard-Signature': signWebhook(secret, timestamp, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new Error(`webhook receiver answered ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`);
    return { status: response.status };
  };
}
