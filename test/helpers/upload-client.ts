/**
 * A protocol client for tests: sends a file's chunks the way resumable.js and flow.js
 * do (docs/protocols/resumable-flow.md), with the order, duplicates and parallelism a test asks for.
 */
import { createHash, randomBytes } from 'node:crypto';

export type BodyKind = 'multipart' | 'octet';
export type Order = 'in-order' | 'reversed' | 'shuffled';

export interface UploadOptions {
  identifier: string;
  filename?: string;
  chunkSize: number;
  /** resumable.js `forceChunkSize`: the last chunk is the remainder (ceil rounding). */
  forceChunkSize?: boolean;
  order?: Order;
  /** Send every chunk twice. */
  duplicates?: boolean;
  /** Requests in flight at once. */
  concurrency?: number;
  body?: BodyKind;
  method?: 'POST' | 'PUT';
  prefix?: 'resumable' | 'flow';
  /** Chunk i goes to urls[i % urls.length], like a round-robin load balancer. */
  urls: string[];
  /**
   * Retry like resumable.js: after a network error or a status other than 200, 400 and
   * 415, send the chunk again (to the next URL, as a load balancer would), this many times.
   */
  retries?: number;
  /** Octet bodies only: stream each body in a few pieces with pauses, like a slow network. */
  trickle?: boolean;
  /** Sent with every request (a token, or the address a proxy says the client has). */
  headers?: Record<string, string>;
}

export interface ChunkSpec {
  number: number;
  start: number;
  end: number;
}

/** The chunks resumable.js cuts a file into. */
export function cutChunks(totalSize: number, chunkSize: number, forceChunkSize = false): ChunkSpec[] {
  const exact = totalSize / chunkSize;
  const count = Math.max(forceChunkSize ? Math.ceil(exact) : Math.floor(exact), 1);
  return Array.from({ length: count }, (_, i) => ({
    number: i + 1,
    start: i * chunkSize,
    end: i === count - 1 ? totalSize : (i + 1) * chunkSize,
  }));
}

export function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomFile(size: number): Buffer {
  return randomBytes(size);
}

export interface ChunkResponse {
  chunk: number;
  status: number;
  body: Record<string, unknown> | undefined;
}

export function protocolFields(file: Buffer, chunk: ChunkSpec, options: UploadOptions): Record<string, string> {
  const prefix = options.prefix ?? 'resumable';
  const filename = options.filename ?? 'file.bin';
  const fields: Record<string, string> = {
    ChunkNumber: String(chunk.number),
    ChunkSize: String(options.chunkSize),
    CurrentChunkSize: String(chunk.end - chunk.start),
    TotalSize: String(file.length),
    Identifier: options.identifier,
    Filename: filename,
    RelativePath: filename,
    TotalChunks: String(cutChunks(file.length, options.chunkSize, options.forceChunkSize).length),
  };
  if (prefix === 'resumable') fields.Type = 'application/octet-stream';
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** Sends one chunk; multipart bodies carry the fields in the body (and the query, like resumable.js). */
export async function sendChunk(url: string, file: Buffer, chunk: ChunkSpec, options: UploadOptions): Promise<ChunkResponse> {
  const fields = protocolFields(file, chunk, options);
  const bytes = file.subarray(chunk.start, chunk.end);
  const method = options.method ?? 'POST';
  let response: Response;
  if ((options.body ?? 'multipart') === 'octet') {
    response = await fetch(`${url}/upload?${new URLSearchParams(fields)}`, {
      method,
      headers: { 'content-type': 'application/octet-stream', ...options.headers },
      body: options.trickle ? trickle(bytes) : bytes,
      ...(options.trickle ? { duplex: 'half' } : {}),
    } as RequestInit);
  } else {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), 'blob');
    const query = options.prefix === 'flow' ? '' : `?${new URLSearchParams(fields)}`;
    response = await fetch(`${url}/upload${query}`, { method, body: form, headers: options.headers });
  }
  const text = await response.text();
  return { chunk: chunk.number, status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

function trickle(bytes: Uint8Array, pieces = 4, pauseMs = 15): ReadableStream<Uint8Array> {
  const size = Math.ceil(bytes.length / pieces);
  let offset = 0;
  return new ReadableStream({
    async pull(controller) {
      if (offset >= bytes.length) return controller.close();
      if (offset > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

export async function testChunk(url: string, file: Buffer, chunk: ChunkSpec, options: UploadOptions): Promise<number> {
  const response = await fetch(`${url}/upload?${new URLSearchParams(protocolFields(file, chunk, options))}`, { headers: options.headers });
  await response.arrayBuffer();
  return response.status;
}

/** Uploads every chunk of `file`; resolves with each response, in the order they came back. */
export async function uploadFile(file: Buffer, options: UploadOptions): Promise<ChunkResponse[]> {
  let chunks = cutChunks(file.length, options.chunkSize, options.forceChunkSize);
  if (options.order === 'reversed') chunks.reverse();
  if (options.order === 'shuffled') chunks = shuffle(chunks);
  if (options.duplicates) chunks = options.order === 'shuffled' ? shuffle([...chunks, ...chunks]) : chunks.flatMap((c) => [c, c]);

  const responses: ChunkResponse[] = [];
  let next = 0;
  async function send(index: number, chunk: ChunkSpec): Promise<ChunkResponse> {
    for (let attempt = 0; ; attempt++) {
      const url = options.urls[(index + attempt) % options.urls.length]!;
      const outcome = await sendChunk(url, file, chunk, options).catch((err: Error) => err);
      const permanent = !(outcome instanceof Error) && [200, 400, 415].includes(outcome.status);
      if (permanent || attempt >= (options.retries ?? 0)) {
        if (outcome instanceof Error) throw outcome;
        return outcome;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  async function lane() {
    while (next < chunks.length) {
      const index = next++;
      responses.push(await send(index, chunks[index]!));
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, lane));
  return responses;
}
