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

export async function runS3Multipart(options: S3MultipartOptions): Promise<S3MultipartResult> {
  const { client, bucket } = options;
  const partCount = Math.max(Math.ceil(options.fileSize / options.partSize), 1);
  const keys = Array.from({ length: options.files }, (_, i) => `${options.prefix}${i}`);
  // Each file's multipart upload is created when its first part is due, once.
  const created = new Map<number, Promise<string>>();
  const etags: string[][] = keys.map(() => []);
  const left = keys.map(() => partCount);
  const latenciesMs: number[] = [];
  let bytes = 0;
  let requests = 0;
  const uploadIdOf = (fileIndex: number) => {
    let id = created.get(fileIndex);
    if (!id) {
      id = client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keys[fileIndex] })).then((out) => {
        requests++;
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
    const uploadId = await uploadIdOf(fileIndex);
    const start = part * options.partSize;
    const end = Math.min(start + options.partSize, options.fileSize);
    // One Buffer per part (the SDK takes one body): a copy of 5 MiB on the client, about a millisecond.
    const body = Buffer.concat(options.source.slices(fileIndex, options.fileSize, start, end));
    const sent = performance.now();
    const out = await client.send(new UploadPartCommand({ Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId, PartNumber: part + 1, Body: body, ContentLength: body.length }));
    latenciesMs.push(performance.now() - sent);
    requests++;
    bytes += body.length;
    etags[fileIndex]![part] = out.ETag!;
    if (--left[fileIndex]! > 0) return;
    await client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId,
      MultipartUpload: { Parts: etags[fileIndex]!.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    requests++;
  });
  return { bytes, requests, startedAt, finishedAt: performance.now(), latenciesMs, keys };
}
