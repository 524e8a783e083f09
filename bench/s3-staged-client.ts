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
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runPartLanes, type S3MultipartOptions, type S3MultipartResult } from './s3-multipart-client.js';

export interface S3StagedOptions extends S3MultipartOptions {
  /** The client's chunk size (1 MiB: resumable.js's default). */
  chunkSize: number;
}

export function runS3Staged(options: S3StagedOptions): Promise<S3MultipartResult> {
  const { client, bucket } = options;
  // Each lane takes one 5 MiB part: stores its chunks, one request at a time (the latencies
  // are these, the client's acknowledgements), then reads them back for the part, as a merge
  // following the upload would, and deletes them.
  return runPartLanes(options, { timeParts: false }, async (fileIndex, start, end, counted) => {
    const chunkKeys: string[] = [];
    for (let offset = start; offset < end; offset += options.chunkSize) {
      const body = Buffer.concat(options.source.slices(fileIndex, options.fileSize, offset, Math.min(offset + options.chunkSize, end)));
      const key = `${options.prefix}${fileIndex}.chunks/${offset}`;
      await counted(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length })), true);
      chunkKeys.push(key);
    }
    const stored: Buffer[] = [];
    for (const key of chunkKeys) {
      const out = await counted(() => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
      stored.push(Buffer.from(await out.Body!.transformToByteArray()));
    }
    await counted(() => client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunkKeys.map((Key) => ({ Key })), Quiet: true } })));
    return Buffer.concat(stored);
  });
}
