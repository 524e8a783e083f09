/**
 * Sends one file's chunks in phases, the way a resumable.js client does: a few in flight,
 * each retried after a network error or a status other than 200, 400 and 415 (resumable.js's
 * permanent errors) until it is stored or its deadline passes. Every attempt is recorded,
 * so a test can say which phase needed retries and why.
 */
import { cutChunks, protocolFields, type ChunkSpec, type UploadOptions } from '../../helpers/upload-client.js';

export interface Attempt {
  chunk: number;
  phase: string;
  /** HTTP status, or the network error's message. */
  outcome: number | string;
  /** The answer's `outcome` field (stored, completed, …) when it was a 200. */
  result?: string;
  ms: number;
}

const PERMANENT = [200, 400, 415];

/**
 * One multipart chunk request, as resumable.js sends it (fields in the body and the query).
 * Unlike the protocol client's sendChunk it keeps the status of an answer that is not JSON,
 * such as nginx's own 502 page.
 */
async function postChunk(url: string, file: Buffer, chunk: ChunkSpec, options: UploadOptions): Promise<{ status: number; outcome?: string }> {
  const fields = protocolFields(file, chunk, options);
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([file.subarray(chunk.start, chunk.end) as Uint8Array<ArrayBuffer>]), 'blob');
  const response = await fetch(`${url}/upload?${new URLSearchParams(fields)}`, { method: 'POST', body: form });
  const text = await response.text();
  if (response.status !== 200) return { status: response.status };
  return { status: 200, outcome: (JSON.parse(text) as { outcome?: string }).outcome };
}

export class ChunkSender {
  readonly attempts: Attempt[] = [];
  private readonly chunks: ChunkSpec[];
  private next = 0;

  constructor(
    private readonly file: Buffer,
    private readonly options: UploadOptions & { retryIntervalMs?: number; chunkDeadlineMs?: number },
  ) {
    this.chunks = cutChunks(file.length, options.chunkSize, options.forceChunkSize);
  }

  get total(): number {
    return this.chunks.length;
  }

  get remaining(): number {
    return this.chunks.length - this.next;
  }

  /** Sends up to `count` further chunks, `concurrency` at a time; resolves when all are answered. */
  send(phase: string, count: number, concurrency = this.options.concurrency ?? 4): Promise<void> {
    const last = Math.min(this.next + count, this.chunks.length);
    return this.lanes(phase, concurrency, () => this.next < last);
  }

  /** Keeps sending further chunks while `more()` says so (checked before each chunk). */
  sendWhile(phase: string, more: () => boolean, concurrency = this.options.concurrency ?? 4): Promise<void> {
    return this.lanes(phase, concurrency, () => this.next < this.chunks.length && more());
  }

  private async lanes(phase: string, concurrency: number, more: () => boolean): Promise<void> {
    const lane = async () => {
      while (more()) await this.deliver(phase, this.chunks[this.next++]!);
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  }

  private async deliver(phase: string, chunk: ChunkSpec): Promise<void> {
    const deadline = Date.now() + (this.options.chunkDeadlineMs ?? 60_000);
    for (;;) {
      const started = Date.now();
      const response = await postChunk(this.options.urls[0]!, this.file, chunk, this.options).catch((err: Error) => String(err.cause ?? err.message));
      const outcome = typeof response === 'string' ? response : response.status;
      const result = typeof response === 'string' ? undefined : response.outcome;
      this.attempts.push({ chunk: chunk.number, phase, outcome, result, ms: Date.now() - started });
      if (typeof outcome === 'number' && PERMANENT.includes(outcome)) {
        if (outcome !== 200) throw new Error(`chunk ${chunk.number} (${phase}) was refused for good: ${outcome}`);
        return;
      }
      if (Date.now() > deadline) throw new Error(`chunk ${chunk.number} (${phase}) was not stored in time; last: ${outcome}`);
      // resumable.js's chunkRetryInterval: the client's own pause before it tries again.
      await new Promise((resolve) => setTimeout(resolve, this.options.retryIntervalMs ?? 100));
    }
  }

  /** The attempts of `phase` that did not store their chunk. */
  failures(phase: string): Attempt[] {
    return this.attempts.filter((a) => a.phase === phase && a.outcome !== 200);
  }
}
