/**
 * A minimal tus 1.0 client (creation + PATCH, and concatenation) on the same keep-alive
 * HTTP client and the same file bytes as the resumable.js load client.
 *
 * - parallelUploads 1 (plain tus): a file is sent strictly in order, one PATCH at a time,
 *   so K in flight means K files in parallel: the one-file shape has one request in flight.
 * - parallelUploads n > 1: as tus-js-client's `parallelUploads: n` does, each file is cut
 *   into n equal parts (the last takes the remainder), each sent as a partial upload
 *   (`Upload-Concat: partial`), then one POST creates the final upload
 *   (`Upload-Concat: final;<the partials' URLs>`). K lanes take the partial uploads in
 *   file order, so one file has up to n requests in flight.
 * Each upload's PATCHes are `chunkSize` long (the client's chunkSize option).
 */
import type { ChunkSource } from './chunk-source.js';
import { createAgent, runLanes, send } from './http-client.js';

export interface TusOptions {
  url: string;
  files: number;
  fileSize: number;
  chunkSize: number;
  concurrency: number;
  source: ChunkSource;
  /** tus-js-client's parallelUploads (default 1: no concatenation). */
  parallelUploads?: number;
  /** The creation URL's path (default `/files`: @tus/server as set up here; Chunkyard's TUS_PATH is `/files/`). */
  path?: string;
}

export interface TusResult {
  bytes: number;
  requests: number;
  startedAt: number;
  finishedAt: number;
  latenciesMs: number[];
  /** The id (last path segment of its URL) of each file's upload, per file index: the final upload with concatenation. */
  ids: string[];
}

const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** tus-js-client's splitSizeIntoParts. */
function splitParts(size: number, count: number): { start: number; end: number }[] {
  const partSize = Math.floor(size / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * partSize, end: i === count - 1 ? size : (i + 1) * partSize }));
}

export async function runTus(options: TusOptions): Promise<TusResult> {
  const parallel = options.parallelUploads ?? 1;
  const collection = new URL(options.path ?? '/files', options.url);
  const agent = createAgent(options.concurrency);
  const latenciesMs: number[] = [];
  const ids: string[] = [];
  let bytes = 0;
  let requests = 0;

  const create = async (headers: Record<string, string | number>): Promise<URL> => {
    const created = await send(agent, collection, 'POST', { ...TUS, 'content-length': 0, ...headers }, [Buffer.alloc(0)]);
    requests++;
    const location = created.headers.location;
    if (created.status !== 201 || !location) throw new Error(`tus create: HTTP ${created.status} ${created.body}`);
    return new URL(location, options.url);
  };
  /** One upload of the file's bytes [start, end): created, then PATCHed in order. */
  const upload = async (fileIndex: number, start: number, end: number, headers: Record<string, string>): Promise<URL> => {
    const url = await create({ 'upload-length': end - start, ...headers });
    for (let offset = start; offset < end; offset += options.chunkSize) {
      const stop = Math.min(offset + options.chunkSize, end);
      const data = options.source.slices(fileIndex, options.fileSize, offset, stop);
      const result = await send(agent, url, 'PATCH', {
        ...TUS,
        'upload-offset': offset - start,
        'content-type': 'application/offset+octet-stream',
        'content-length': stop - offset,
      }, data);
      requests++;
      if (result.status !== 204) throw new Error(`tus PATCH: HTTP ${result.status} ${result.body}`);
      latenciesMs.push(result.ms);
      bytes += stop - offset;
    }
    return url;
  };
  const metadata = (fileIndex: number) => `filename ${b64(`file-${fileIndex}.bin`)}`;
  const idOf = (url: URL) => url.pathname.split('/').filter(Boolean).pop()!;

  const parts = splitParts(options.fileSize, parallel);
  const tasks = Array.from({ length: options.files }, (_, fileIndex) => parts.map((part, i) => ({ fileIndex, i, ...part }))).flat();
  const partUrls: URL[][] = Array.from({ length: options.files }, () => []);
  const left = Array.from({ length: options.files }, () => parallel);
  const startedAt = performance.now();
  try {
    await runLanes(tasks.length, options.concurrency, async (index) => {
      const task = tasks[index]!;
      if (parallel === 1) {
        ids[task.fileIndex] = idOf(await upload(task.fileIndex, task.start, task.end, { 'upload-metadata': metadata(task.fileIndex) }));
        return;
      }
      partUrls[task.fileIndex]![task.i] = await upload(task.fileIndex, task.start, task.end, { 'upload-concat': 'partial' });
      if (--left[task.fileIndex]! > 0) return;
      // The last partial of this file is done: the final upload, as tus-js-client sends it.
      const final = await create({
        'upload-concat': `final;${partUrls[task.fileIndex]!.map((url) => url.href).join(' ')}`,
        'upload-metadata': metadata(task.fileIndex),
      });
      ids[task.fileIndex] = idOf(final);
    });
  } finally {
    agent.destroy();
  }
  return { bytes, requests, startedAt, finishedAt: performance.now(), latenciesMs, ids };
}
