/**
 * Load client for the resumable.js protocol: F files of S bytes cut into chunks of C,
 * K requests in flight, chunk i of the whole queue sent to urls[i % urls.length] (a
 * round-robin load balancer). Files are queued one after the other and chunks in order,
 * as resumable.js does with `simultaneousUploads: K`.
 *
 * The same requests go to Chunkyard and to the plain and busboy baselines, which ignore
 * the fields, so every system pays the same client cost.
 */
import { randomBytes } from 'node:crypto';
import { cutChunks, type ChunkSource, type ChunkSpec } from './chunk-source.js';
import { createAgent, runLanes, send } from './http-client.js';

export type BodyKind = 'multipart' | 'octet';

export interface LoadOptions {
  urls: string[];
  files: number;
  fileSize: number;
  chunkSize: number;
  concurrency: number;
  body: BodyKind;
  source: ChunkSource;
  /** Makes identifiers unique per run: `<runId>-<file index>`. */
  runId: string;
  /** Only these chunks of each file (default all); for the Redis round-trip phase. */
  select?: (chunk: ChunkSpec, count: number) => boolean;
}

export interface CompletedFile {
  fileIndex: number;
  uploadId: string;
  /** performance.now() when the completing chunk was acknowledged */
  at: number;
}

/** When a file's first request was sent and its last answer came (performance.now()). */
export interface FileTiming {
  firstSentAt: number;
  lastAckAt: number;
}

export interface LoadResult {
  bytes: number;
  requests: number;
  startedAt: number;
  /** performance.now() when the last chunk was acknowledged */
  finishedAt: number;
  latenciesMs: number[];
  /** For Chunkyard: the answer whose outcome was "completed", per file. */
  completed: CompletedFile[];
  /** Per file index. */
  files: FileTiming[];
}

export function identifierOf(runId: string, fileIndex: number): string {
  return `${runId}-${fileIndex}`;
}

export function protocolFields(options: LoadOptions, fileIndex: number, chunk: ChunkSpec, count: number): Record<string, string> {
  const filename = `file-${fileIndex}.bin`;
  return {
    resumableChunkNumber: String(chunk.number),
    resumableChunkSize: String(options.chunkSize),
    resumableCurrentChunkSize: String(chunk.end - chunk.start),
    resumableTotalSize: String(options.fileSize),
    resumableType: 'application/octet-stream',
    resumableIdentifier: identifierOf(options.runId, fileIndex),
    resumableFilename: filename,
    resumableRelativePath: filename,
    resumableTotalChunks: String(count),
  };
}

function multipartParts(fields: Record<string, string>, data: Buffer): { parts: Buffer[]; type: string } {
  const boundary = `----chunkyardbench${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return {
    parts: [Buffer.from(head), data, Buffer.from(`\r\n--${boundary}--\r\n`)],
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Sends one chunk; resolves with the response (throws on anything but 200). */
export async function sendChunk(
  agent: ReturnType<typeof createAgent>,
  baseUrl: string,
  options: LoadOptions,
  fileIndex: number,
  chunk: ChunkSpec,
  count: number,
) {
  const fields = protocolFields(options, fileIndex, chunk, count);
  const data = options.source.bytes(fileIndex, chunk);
  // resumable.js puts the fields in the query for both body kinds (multipart also in the body).
  const url = new URL(`/upload?${new URLSearchParams(fields)}`, baseUrl);
  let parts: Buffer[];
  let type: string;
  if (options.body === 'octet') {
    parts = [data];
    type = 'application/octet-stream';
  } else {
    ({ parts, type } = multipartParts(fields, data));
  }
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const result = await send(agent, url, 'POST', { 'content-type': type, 'content-length': length }, parts);
  if (result.status !== 200) throw new Error(`chunk ${chunk.number} of file ${fileIndex}: HTTP ${result.status} ${result.body.slice(0, 300)}`);
  return result;
}

/** A test GET (resumable.js `testChunks`); resolves with the status (200 or 204). */
export async function testChunk(
  agent: ReturnType<typeof createAgent>,
  baseUrl: string,
  options: LoadOptions,
  fileIndex: number,
  chunk: ChunkSpec,
  count: number,
): Promise<number> {
  const url = new URL(`/upload?${new URLSearchParams(protocolFields(options, fileIndex, chunk, count))}`, baseUrl);
  const result = await send(agent, url, 'GET', {}, [Buffer.alloc(0)]);
  if (result.status !== 200 && result.status !== 204) throw new Error(`test GET: HTTP ${result.status} ${result.body}`);
  return result.status;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const cut = cutChunks(options.fileSize, options.chunkSize);
  const queue: { fileIndex: number; chunk: ChunkSpec }[] = [];
  for (let fileIndex = 0; fileIndex < options.files; fileIndex++) {
    for (const chunk of cut) if (!options.select || options.select(chunk, cut.length)) queue.push({ fileIndex, chunk });
  }
  const agent = createAgent(options.concurrency);
  const latenciesMs: number[] = [];
  const completed: CompletedFile[] = [];
  const files: FileTiming[] = Array.from({ length: options.files }, () => ({ firstSentAt: Number.POSITIVE_INFINITY, lastAckAt: 0 }));
  let bytes = 0;
  const startedAt = performance.now();
  try {
    await runLanes(queue.length, options.concurrency, async (index) => {
      const { fileIndex, chunk } = queue[index]!;
      const timing = files[fileIndex]!;
      timing.firstSentAt = Math.min(timing.firstSentAt, performance.now());
      const result = await sendChunk(agent, options.urls[index % options.urls.length]!, options, fileIndex, chunk, cut.length);
      timing.lastAckAt = Math.max(timing.lastAckAt, performance.now());
      latenciesMs.push(result.ms);
      bytes += chunk.end - chunk.start;
      if (result.body.includes('"completed"')) {
        const answer = JSON.parse(result.body) as { outcome?: string; uploadId?: string };
        if (answer.outcome === 'completed' && answer.uploadId) completed.push({ fileIndex, uploadId: answer.uploadId, at: performance.now() });
      }
    });
  } finally {
    agent.destroy();
  }
  return { bytes, requests: queue.length, startedAt, finishedAt: performance.now(), latenciesMs, completed, files };
}
