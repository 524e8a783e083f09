/**
 * The S3 runs of issue 12, on one Ceph RGW (s3-store.ts):
 * - Chunkyard with STORAGE=s3, driven by the resumable.js load client (octet, 1 MiB chunks:
 *   the default client case) exactly as on the filesystem, end to end until every file is
 *   merged into its published object and verified (the worker's size and SHA-256 against
 *   the bytes sent, the object's size by HEAD);
 * - the same bytes sent straight to the same RGW as plain multipart uploads
 *   (s3-multipart-client.ts), with the same K;
 * - the same bytes through the least any server storing each chunk durably must send
 *   (s3-staged-client.ts: every chunk stored, read back, sent again in a part), same K.
 * Both count the requests radosgw served during the run, by kind (its ops log), and include
 * Ceph's daemons in the CPU figures (`ceph`).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ChunkSource } from './chunk-source.js';
import type { BodyKind } from './load-client.js';
import { chunkyardRun, nextRunId, usageOf, type PublishedFiles, type RunSample, type Shape } from './phases.js';
import { ProcessMonitor } from './process-stats.js';
import type { S3Store } from './s3-store.js';
import { runS3Multipart, type S3MultipartResult } from './s3-multipart-client.js';
import { runS3Staged } from './s3-staged-client.js';
import { loadFigures, MiB } from './stats.js';
import type { Chunkyard } from './systems.js';

/** The baseline's part size: S3's smallest (but for a file's last part). */
export const S3_PART_SIZE = 5 * MiB;

/**
 * The published objects: HEAD for the size, and deleted right away (as the direct run's
 * are, inside the timed run on both sides); the bench's own requests are not counted.
 */
function publishedObjects(store: S3Store): PublishedFiles {
  return { size: (line) => store.sizeAndDelete(line.path), remove: async () => {} };
}

export async function chunkyardS3Run(cy: Chunkyard, store: S3Store, redisPid: number, shape: Shape, concurrency: number, body: BodyKind, source: ChunkSource): Promise<RunSample> {
  const count = await store.countRequests();
  const sample = await chunkyardRun(cy, redisPid, shape, concurrency, body, source, publishedObjects(store), store.pids());
  // Requests made after the last `merged` line (the ranges' deletion) still count: `end` waits for the log to settle.
  return { ...sample, s3Requests: await count.end(), files: shape.files };
}

export function s3DirectRun(store: S3Store, shape: Shape, concurrency: number, source: ChunkSource): Promise<RunSample> {
  return s3BenchRun(store, shape, concurrency, (client, prefix) => runS3Multipart({
    client, bucket: store.bucket, prefix, files: shape.files, fileSize: shape.fileSize, partSize: S3_PART_SIZE, concurrency, source,
  }));
}

/** The bound for chunks under 5 MiB (s3-staged-client.ts): each chunk stored, read back and sent again in a part. */
export function s3StagedRun(store: S3Store, shape: Shape, concurrency: number, source: ChunkSource): Promise<RunSample> {
  return s3BenchRun(store, shape, concurrency, (client, prefix) => runS3Staged({
    client, bucket: store.bucket, prefix, files: shape.files, fileSize: shape.fileSize, partSize: S3_PART_SIZE, chunkSize: shape.chunkSize, concurrency, source,
  }));
}

/** One of the bench's own S3 clients over the shape, its requests counted and its objects checked and deleted. */
async function s3BenchRun(store: S3Store, shape: Shape, concurrency: number, upload: (client: S3Client, prefix: string) => Promise<S3MultipartResult>): Promise<RunSample> {
  const client = store.client(concurrency);
  try {
    const count = await store.countRequests();
    const monitor = new ProcessMonitor(store.pids());
    const result = await upload(client, `direct/${nextRunId('s3')}/`);
    for (const key of result.keys) {
      const size = await store.sizeAndDelete(key);
      if (size !== shape.fileSize) throw new Error(`${key}: ${size} bytes`);
    }
    const end = performance.now();
    const usage = monitor.stop();
    return {
      ...loadFigures(result, end),
      ...usageOf(usage),
      s3Requests: await count.end(),
      files: shape.files,
    };
  } finally {
    client.destroy();
  }
}
