/**
 * The S3 baseline of issue 12: the same files' bytes sent straight to the object store
 * with a plain multipart upload per file (CreateMultipartUpload, UploadPart in parts of
 * `partSize` (5 MiB, S3's smallest but for the last), CompleteMultipartUpload), with
 * @aws-sdk/client-s3 and nothing else (no lib-storage). K parts in flight over the whole
 * queue (files in order, parts in order), as the chunked clients keep K chunks in flight:
 * what an application writing to S3 itself would get, with no server in between.
 */
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ChunkSource } from './chunk-source.js';
import { runLanes } from './http-client.js';

export interface S3MultipartOptions {
  client: S3Client;
  bucket: string;
  /** Object keys are `<prefix><file index>`. */
  prefix: string;
  files: number;
  fileSize: number;
  partSize: number;
  concurrency: number;
  source: ChunkSource;
}

export interface S3MultipartResult {
  bytes: number;
  requests: number;
  startedAt: number;
  /** Every file's CompleteMultipartUpload answered. */
  finishedAt: number;
  /** UploadPart requests. */
  latenciesMs: number[];
  keys: string[];
}

export function runS3Multipart(options: S3MultipartOptions): Promise<S3MultipartResult> {
  // One Buffer per part (the SDK takes one body): a copy of 5 MiB on the client, about a millisecond.
  return runPartLanes(options, { timeParts: true }, async (fileIndex, start, end) => Buffer.concat(options.source.slices(fileIndex, options.fileSize, start, end)));
}

/** Counts a request of a part's own once it is answered, and records its latency when asked. */
export type Counted = <T>(request: () => Promise<T>, timed?: boolean) => Promise<T>;

/**
 * K lanes over every part of every file, in order: each lane gets its part's body from
 * `partBody` (which may send requests of its own through `counted`), uploads it, and
 * completes the file's multipart upload once its last part is in. A file's multipart upload
 * is created when its first part is due, once. `timeParts`: the latencies are the
 * UploadParts' (else only those `partBody` times).
 */
export async function runPartLanes(
  options: S3MultipartOptions,
  { timeParts }: { timeParts: boolean },
  partBody: (fileIndex: number, start: number, end: number, counted: Counted) => Promise<Buffer>,
): Promise<S3MultipartResult> {
  const { client, bucket } = options;
  const partCount = Math.max(Math.ceil(options.fileSize / options.partSize), 1);
  const keys = Array.from({ length: options.files }, (_, i) => `${options.prefix}${i}`);
  const created = new Map<number, Promise<string>>();
  const etags: string[][] = keys.map(() => []);
  const left = keys.map(() => partCount);
  const latenciesMs: number[] = [];
  let bytes = 0;
  let requests = 0;
  const counted: Counted = async (request, timed = false) => {
    const sent = performance.now();
    const out = await request();
    if (timed) latenciesMs.push(performance.now() - sent);
    requests++;
    return out;
  };
  const uploadIdOf = (fileIndex: number) => {
    let id = created.get(fileIndex);
    if (!id) {
      id = counted(() => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keys[fileIndex] }))).then((out) => {
        if (!out.UploadId) throw new Error('CreateMultipartUpload: no UploadId');
        return out.UploadId;
      });
      created.set(fileIndex, id);
    }
    return id;
  };

  const startedAt = performance.now();
  await runLanes(options.files * partCount, options.concurrency, async (index) => {
    const fileIndex = Math.floor(index / partCount);
    const part = index % partCount;
    const start = part * options.partSize;
    const body = await partBody(fileIndex, start, Math.min(start + options.partSize, options.fileSize), counted);
    const uploadId = await uploadIdOf(fileIndex);
    const out = await counted(() => client.send(new UploadPartCommand({ Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId, PartNumber: part + 1, Body: body, ContentLength: body.length })), timeParts);
    bytes += body.length;
    etags[fileIndex]![part] = out.ETag!;
    if (--left[fileIndex]! > 0) return;
    await counted(() => client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId,
      MultipartUpload: { Parts: etags[fileIndex]!.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    })));
  });
  return { bytes, requests, startedAt, finishedAt: performance.now(), latenciesMs, keys };
}
