/**
 * The S3 bound of issue 12 for small chunks: what any server that keeps no shared disk
 * must at least send through the object store to acknowledge every 1 MiB chunk durably and
 * then publish one object. S3 parts are at least 5 MiB (but for the last), and a copied part
 * is a range of one object, so chunks smaller than that cannot become parts where they lie:
 * each is stored as an object of its own (PutObject), read back (GetObject) and sent again
 * in a 5 MiB part (UploadPart), every byte three times. The bench does exactly that and
 * nothing else, with @aws-sdk/client-s3 and K requests in flight: no HTTP server, no Redis,
 * no hashing. Chunkyard on S3 can approach this figure, not the direct multipart upload's.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { runLanes } from './http-client.js';
import type { S3MultipartOptions, S3MultipartResult } from './s3-multipart-client.js';

export interface S3StagedOptions extends S3MultipartOptions {
  /** The client's chunk size (1 MiB: resumable.js's default). */
  chunkSize: number;
}

export async function runS3Staged(options: S3StagedOptions): Promise<S3MultipartResult> {
  const { client, bucket } = options;
  const partCount = Math.max(Math.ceil(options.fileSize / options.partSize), 1);
  const keys = Array.from({ length: options.files }, (_, i) => `${options.prefix}${i}`);
  const created = new Map<number, Promise<string>>();
  const etags: string[][] = keys.map(() => []);
  const left = keys.map(() => partCount);
  const latenciesMs: number[] = [];
  let bytes = 0;
  let requests = 0;
  /** Counts a request once answered. */
  const counted = <T>(answer: Promise<T>) => answer.then((out) => (requests++, out));
  const uploadIdOf = (fileIndex: number) => {
    let id = created.get(fileIndex);
    if (!id) {
      id = counted(client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keys[fileIndex] }))).then((out) => out.UploadId!);
      created.set(fileIndex, id);
    }
    return id;
  };

  const startedAt = performance.now();
  // Each lane takes one 5 MiB part: stores its chunks, one request at a time, then reads
  // them back and sends the part, as a merge following the upload would.
  await runLanes(options.files * partCount, options.concurrency, async (index) => {
    const fileIndex = Math.floor(index / partCount);
    const part = index % partCount;
    const start = part * options.partSize;
    const end = Math.min(start + options.partSize, options.fileSize);
    const chunkKeys: string[] = [];
    for (let offset = start; offset < end; offset += options.chunkSize) {
      const body = Buffer.concat(options.source.slices(fileIndex, options.fileSize, offset, Math.min(offset + options.chunkSize, end)));
      const key = `${keys[fileIndex]}.chunks/${offset}`;
      const sent = performance.now();
      await counted(client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length })));
      latenciesMs.push(performance.now() - sent);
      bytes += body.length;
      chunkKeys.push(key);
    }
    const stored: Buffer[] = [];
    for (const key of chunkKeys) {
      const out = await counted(client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
      stored.push(Buffer.from(await out.Body!.transformToByteArray()));
    }
    const uploadId = await uploadIdOf(fileIndex);
    const partBody = Buffer.concat(stored);
    const out = await counted(client.send(new UploadPartCommand({ Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId, PartNumber: part + 1, Body: partBody, ContentLength: partBody.length })));
    etags[fileIndex]![part] = out.ETag!;
    await counted(client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunkKeys.map((Key) => ({ Key })), Quiet: true } })));
    if (--left[fileIndex]! > 0) return;
    await counted(client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: keys[fileIndex], UploadId: uploadId,
      MultipartUpload: { Parts: etags[fileIndex]!.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    })));
  });
  return { bytes, requests, startedAt, finishedAt: performance.now(), latenciesMs, keys };
}
