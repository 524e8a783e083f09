/**
 * Stores one received chunk: into place on disk first, then counted in Redis, so a
 * chunk is never counted before all its bytes are on disk. The request that completes
 * the upload enqueues its merge before answering.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ChunkyardError } from '../shared/errors.js';
import type { RecordResult, UploadStore } from '../shared/upload-store.js';
import type { ChunkFiles } from './chunk-files.js';
import type { ChunkRequest } from './chunk-request.js';
import type { MergeEnqueuer } from './merge-enqueuer.js';

export type ChunkOutcome = 'stored' | 'duplicate' | 'completed' | 'already_complete';

export interface StoredChunk {
  outcome: ChunkOutcome;
  uploadId: string;
  received: number;
  total: number | undefined;
}

export class ChunkIntake {
  constructor(
    private readonly files: ChunkFiles,
    private readonly uploads: UploadStore,
    private readonly enqueuer: MergeEnqueuer,
  ) {}

  /** `log` is the request's logger, so these lines carry its request id. */
  async accept(request: ChunkRequest, tempPath: string, log: Logger): Promise<StoredChunk> {
    const { keyHash, fields } = request;
    let chunkFile: string;
    try {
      chunkFile = await this.files.place(keyHash, fields.chunkNumber, tempPath);
    } catch (err) {
      await rm(tempPath, { force: true });
      throw err;
    }

    // If Redis fails here the chunk file stays: a timed-out script may still have recorded
    // it, and deleting a recorded chunk would lose data. An uncounted file is only garbage,
    // removed with the upload's chunk folder.
    const result = await this.uploads.recordChunk({
      keyHash,
      chunkNumber: fields.chunkNumber,
      chunkFile,
      modeMask: request.modeMask,
      fingerprint: request.fingerprint,
      candidateUploadId: randomBytes(16).toString('hex'),
      floorCount: request.floorCount,
      ceilCount: request.ceilCount,
      metadata: {
        totalSize: fields.totalSize,
        chunkSize: fields.chunkSize,
        filename: fields.filename,
        relativePath: fields.relativePath,
        type: fields.type,
        identifier: fields.identifier,
        scope: request.scope,
      },
    });

    if (result.outcome !== 'stored' && result.outcome !== 'completed') {
      await this.files.discard(keyHash, chunkFile);
    }
    this.refuseInvalid(result, fields.chunkNumber);

    if (result.outcome === 'completed' || result.outcome === 'enqueue') {
      await this.enqueuer.enqueue({ keyHash, uploadId: result.uploadId }, result.earlyMerge === 'parked');
      log.info({ uploadId: result.uploadId, recovered: result.outcome === 'enqueue', earlyMerge: result.earlyMerge }, 'upload complete, merge queued');
    } else if (result.startsEarlyMerge) {
      await this.enqueuer.enqueue({ keyHash, uploadId: result.uploadId });
      log.info({ uploadId: result.uploadId }, 'early merge queued');
    }
    return {
      outcome: publicOutcome(result),
      uploadId: result.uploadId,
      received: result.received,
      total: result.total,
    };
  }

  private refuseInvalid(result: RecordResult, chunkNumber: number): void {
    switch (result.outcome) {
      case 'conflict':
        throw new ChunkyardError('upload_conflict', 'The size, chunk size, file name or path differs from the first chunk of this upload');
      case 'geometry':
        throw new ChunkyardError('chunk_size_mismatch', `Chunk ${chunkNumber} has a size that contradicts the earlier chunks of this upload`);
      case 'failed':
        throw new ChunkyardError('upload_failed');
      case 'cancelled':
        throw new ChunkyardError('upload_cancelled');
      default:
    }
  }
}

function publicOutcome(result: RecordResult): ChunkOutcome {
  switch (result.outcome) {
    case 'stored':
    case 'duplicate':
    case 'completed':
      return result.outcome;
    default:
      return 'already_complete';
  }
}
