/**
 * Checks shared by the raw-HTTP tests of the piece-based adapters (simple-uploader.js,
 * Dropzone, Plupload, the plain form): the published bytes and their one merge, the upload's
 * status, and what a refused request may leave behind (nothing but what the sweep removes).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { mergeJobId } from '../../services/core/merge-scheduler.js';
import { eventually } from '../helpers/eventually.js';
import type { TestSystem, UploadView } from '../helpers/system.js';
import { sha256 } from '../helpers/upload-client.js';

export interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  text: string;
  headers: Headers;
}

export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}

/**
 * The upload is merged once and published with exactly these bytes: one request saw it
 * complete (`completions`), its one merge job ran once, and nothing else was merged for it.
 */
export async function assertPublished(sys: TestSystem, id: string, bytes: Buffer, completions: number): Promise<UploadView> {
  assert.equal(completions, 1, `exactly one request completed ${id} (saw ${completions})`);
  const upload = await sys.waitForState(id, ['complete', 'failed']);
  assert.equal(upload.state, 'complete', upload.error);
  assert.equal(upload.size, bytes.length, 'the published size');
  assert.equal(upload.sha256, sha256(bytes), 'the published digest');
  assert.ok((await sys.readPublished(upload)).equals(bytes), 'the published bytes');
  // The upload reads complete a moment before its job is marked done: wait for that too.
  await eventually(async () => (await sys.queue.getJobState(mergeJobId(upload.uploadId))) === 'completed', { what: `the merge job of ${id} completed` });
  const job = await sys.queue.getJob(mergeJobId(upload.uploadId));
  assert.equal(job!.attemptsMade, 1, 'merged once');
  const jobs = (await sys.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']))
    .filter((other) => other.data.uploadId === upload.uploadId);
  assert.deepEqual(jobs.map((other) => other.id), [mergeJobId(upload.uploadId)], 'one merge job');
  return upload;
}

/** `GET /uploads/:id` as the client's scope sees it. */
export async function statusOf(base: string, id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/uploads/${encodeURIComponent(id)}`);
  assert.equal(response.status, 200, `GET /uploads/${id}`);
  return (await response.json()) as Record<string, unknown>;
}

/** Upload records in Redis (not their range hashes). */
export async function uploadRecords(sys: TestSystem): Promise<number> {
  return (await sys.redis.keys(`${sys.config.REDIS_PREFIX}:upload:*`)).filter((key) => !key.includes(':ranges')).length;
}

/** What is in the test's sandbox besides DATA_DIR: must stay empty. */
export async function outsideDataDir(sys: TestSystem): Promise<string[]> {
  return (await readdir(sys.sandbox)).filter((name) => name !== 'data');
}

/**
 * A refused request: the status and code its client's table gives, a message, no upload
 * created, nothing outside DATA_DIR, and whatever it wrote gone with the next sweep.
 */
export async function assertRefused(sys: TestSystem, send: () => Promise<Answer>, status: number, code: string | undefined, codeOf: (answer: Answer) => unknown): Promise<Answer> {
  const before = await uploadRecords(sys);
  const answer = await send();
  assert.ok(answer.status < 500, `never a 5xx (got ${answer.status} ${answer.text})`);
  assert.equal(answer.status, status, answer.text);
  if (code !== undefined) assert.equal(codeOf(answer), code, answer.text);
  assert.equal(await uploadRecords(sys), before, 'a refused request creates no upload');
  await sys.sweep();
  assert.deepEqual(await sys.unownedDataFiles(), [], 'what a refused request wrote goes with the sweep');
  assert.deepEqual(await outsideDataDir(sys), [], 'nothing written outside DATA_DIR');
  return answer;
}

/** Runs `work` over `items`, `lanes` at a time; resolves with the results in the order given. */
export async function inLanes<T, R>(items: T[], lanes: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  }));
  return results;
}
