/** An upload's record as `GET /uploads/:id` shows it, and waiting for its merge. */
import assert from 'node:assert/strict';
import { GiveUp, waitFor } from './commands.js';

export async function uploadStatus(url: string, identifier: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/uploads/${identifier}`);
  assert.equal(response.status, 200, `GET /uploads/${identifier}`);
  return (await response.json()) as Record<string, unknown>;
}

/** The record once its state is `complete`; throws at once if the merge failed. */
export function waitForMerge(url: string, identifier: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return waitFor('the merge', async () => {
    const record = await uploadStatus(url, identifier);
    if (record.state === 'failed') throw new GiveUp(`merge failed: ${String(record.error)}`);
    return record.state === 'complete' ? record : undefined;
  }, timeoutMs, 250);
}
