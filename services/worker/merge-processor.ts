/**
 * The merge job: chunks 1..n of a completed upload into `files/<upload id>/<name>`.
 *
 * Idempotent, because BullMQ may run a job again (a stalled lock, a retry, a crash):
 * - the upload's state in Redis says whether a merge is still needed (begin-merge.lua);
 * - the file is built under a temp name and renamed into place, so the published name
 *   only ever holds a whole, verified file, and a rerun replaces it with the same bytes;
 * - the result is recorded before the chunks are deleted, and a rerun of a finished
 *   job only completes that deletion.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { chunkCount, expectedChunkLength, settledMode } from '../shared/chunk-geometry.js';
import { isStorageFull } from '../shared/errors.js';
import { fsyncDirectory } from '../shared/fs-durability.js';
import type { MergeJobData, MergeJobResult } from '../shared/merge-job.js';
import type { MergeProgress } from '../shared/upload-events.js';
import { CHUNK_FILE_PATTERN, type StorageLayout } from '../shared/storage-layout.js';
import type { UploadRecord, UploadStore } from '../shared/upload-store.js';
import { BrokenChunkError, mergeChunks, type ChunkSource } from './merge-chunks.js';
import { sanitizeFilename } from './sanitize-filename.js';
import type { UploadNotifier } from './upload-notifier.js';

export interface MergeProcessorOptions {
  store: UploadStore;
  layout: StorageLayout;
  logger: Logger;
  /** Queues the completion webhook once an upload is complete or failed. */
  notifier?: UploadNotifier;
  /** Told of every merge actually performed (not of reruns that find it done). */
  onMerged?: (bytes: number, seconds: number) => void;
  /** Aborted at shutdown: an active merge stops and hands its job straight back to the queue. */
  shutdownSignal?: AbortSignal;
  /** How long a merge that found the disk full waits before it tries again. */
  diskFullRetryMs?: number;
}

export type MergeJob = Job<MergeJobData, MergeJobResult | undefined>;

const TEMP_SUFFIX = '.merging';

export function createMergeProcessor(options: MergeProcessorOptions) {
  const { store, layout, logger, notifier, onMerged, shutdownSignal, diskFullRetryMs = 30_000 } = options;
  async function failUpload(data: MergeJobData, reason: string): Promise<never> {
    await store.markFailed(data.keyHash, data.uploadId, reason);
    await notifier?.uploadFinished(data.keyHash);
    throw new UnrecoverableError(reason);
  }

  async function deleteChunks(keyHash: string): Promise<void> {
    await rm(layout.chunkDir(keyHash), { recursive: true, force: true, maxRetries: 3 });
    await store.dropChunkMap(keyHash);
  }

  async function chunkSources(data: MergeJobData, upload: UploadRecord): Promise<ChunkSource[]> {
    const geometry = { totalSize: upload.totalSize, chunkSize: upload.chunkSize };
    const mode = settledMode(upload.modeMask);
    const files = await store.readChunkMap(data.keyHash);
    const sources: ChunkSource[] = [];
    for (let number = 1; number <= chunkCount(geometry, mode); number++) {
      const file = files.get(number);
      if (file === undefined || !CHUNK_FILE_PATTERN.test(file)) await failUpload(data, `chunk ${number} was never recorded`);
      sources.push({ path: layout.chunkPath(data.keyHash, file!), expectedLength: expectedChunkLength(geometry, mode, number)! });
    }
    return sources;
  }

  /** Removes temp files an interrupted attempt left beside the destination. */
  async function removeStaleTemps(dir: string): Promise<void> {
    const names = await readdir(dir);
    await Promise.all(names.filter((n) => n.endsWith(TEMP_SUFFIX)).map((n) => rm(path.join(dir, n), { force: true })));
  }

  /** Builds the merged file under a temp name beside its destination; returns it verified. */
  async function buildMergedFile(job: MergeJob, upload: UploadRecord, sources: ChunkSource[]) {
    const dir = layout.uploadFilesDir(upload.uploadId);
    await mkdir(dir, { recursive: true });
    await removeStaleTemps(dir);
    const tempPath = path.join(dir, `.${job.id}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
    const output = await mergeChunks(sources, tempPath, {
      onProgress: (written) => job.updateProgress(progressOf(job.data.keyHash, upload, written)),
      signal: shutdownSignal,
    });
    await job.updateProgress(progressOf(job.data.keyHash, upload, output.size));
    return { ...output, dir, tempPath };
  }

  /** Turns a failed merge into what the queue should do with the job. */
  async function settleFailure(err: unknown, job: MergeJob, token: string | undefined, log: Logger): Promise<never> {
    if (err instanceof BrokenChunkError) return failUpload(job.data, err.message);
    if (shutdownSignal?.aborted && token) {
      // Shutting down: give the job back now rather than when its lock lapses. A
      // DelayedError does not count as an attempt.
      log.info('merge interrupted by shutdown; job handed back to the queue');
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    if (isStorageFull(err) && token) {
      // A full disk passes when space is freed: wait for it rather than use up attempts
      // and fail the upload. The queue's delayed count shows merges waiting for space.
      log.warn({ retryInMs: diskFullRetryMs }, 'disk full during merge; will retry');
      await job.moveToDelayed(Date.now() + diskFullRetryMs, token);
      throw new DelayedError();
    }
    throw err;
  }

  return async function processMerge(job: MergeJob, token?: string): Promise<MergeJobResult | undefined> {
    const { data } = job;
    const log = logger.child({ uploadId: data.uploadId, jobId: job.id, attempt: job.attemptsMade + 1 });
    const begin = await store.beginMerge(data.keyHash, data.uploadId);
    if (begin === 'complete') {
      log.info('upload already merged; finishing cleanup only');
      await deleteChunks(data.keyHash);
      await notifier?.uploadFinished(data.keyHash);
      const upload = await store.readUpload(data.keyHash);
      return upload?.path ? { path: upload.path, size: upload.size ?? 0, sha256: upload.sha256 ?? '' } : undefined;
    }
    if (begin === 'stale' || begin === 'failed') {
      log.info({ begin }, 'nothing to merge for this job');
      return undefined;
    }
    if (begin === 'missing') return failUpload(data, 'the upload state expired before it was merged');
    if (begin === 'receiving') return failUpload(data, 'merge job for an upload that is still receiving');

    const upload = (await store.readUpload(data.keyHash))!;
    const sources = await chunkSources(data, upload);
    const started = Date.now();
    const built = await buildMergedFile(job, upload, sources).catch((err: unknown) => settleFailure(err, job, token, log));
    if (built.size !== upload.totalSize) {
      await rm(built.tempPath, { force: true });
      return failUpload(data, `merged ${built.size} bytes, expected ${upload.totalSize}`);
    }

    const destination = path.join(built.dir, sanitizeFilename(upload.filename));
    await rename(built.tempPath, destination);
    await fsyncDirectory(built.dir);
    const result = { path: layout.relative(destination), size: built.size, sha256: built.sha256 };
    if (!(await store.finishMerge(data.keyHash, data.uploadId, result))) {
      // Cancelled while merging (DELETE /uploads/:id): what was published must go too.
      const now = await store.readUpload(data.keyHash);
      if (now?.uploadId === data.uploadId && now.state === 'cancelled') {
        await rm(built.dir, { recursive: true, force: true });
        await deleteChunks(data.keyHash);
      }
      log.warn({ state: now?.state }, 'upload changed state during the merge; result discarded');
      return undefined;
    }
    await deleteChunks(data.keyHash);
    const ms = Date.now() - started;
    onMerged?.(built.size, ms / 1000);
    await notifier?.uploadFinished(data.keyHash);
    log.info({ ...result, ms }, 'merged');
    return result;
  };
}

/** Job progress carries what any ingest needs to route it to the upload's listeners. */
function progressOf(keyHash: string, upload: UploadRecord, bytes: number): MergeProgress {
  return {
    percent: Math.floor((bytes / Math.max(upload.totalSize, 1)) * 100),
    bytes,
    uploadId: upload.uploadId,
    keyHash,
    scope: upload.scope,
    identifier: upload.identifier,
  };
}
