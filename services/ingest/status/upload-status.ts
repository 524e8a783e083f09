/**
 * What `GET /uploads/:id` reports: the upload's own state from the state store, and its
 * merge job's state as the queue sees it. Protocol-neutral: bytes stored and the size,
 * plus the piece counts where the upload is cut into pieces.
 */
import { settledPieceCount } from '../../core/layout.js';
import type { UploadRecord, UploadState } from '../../core/upload.js';
import type { MergeJobView } from '../../shared/merge-queue.js';

export interface UploadStatus {
  identifier: string;
  uploadId: string;
  protocol: string;
  state: UploadState;
  filename: string;
  relativePath: string;
  type: string;
  totalSize: number | null;
  /** Bytes stored so far. */
  storedBytes: number;
  /** Pieces (chunks) stored so far, and the piece count once the geometry is settled. */
  received: number;
  total: number | null;
  /** Merge progress, 0-100. */
  progress: number;
  /** The published file: a path relative to DATA_DIR (filesystem), or a bucket and key (S3). */
  path: string | null;
  bucket: string | null;
  key: string | null;
  size: number | null;
  sha256: string | null;
  error: string | null;
  expiresAt: string | null;
  job: MergeJobView | null;
}

export function uploadStatus(upload: UploadRecord, job: MergeJobView | null): UploadStatus {
  const result = upload.result;
  const total = upload.layout.kind === 'pieces' && upload.size !== undefined ? settledPieceCount(upload.size, upload.layout.pieceSize, upload.roundings) : undefined;
  return {
    identifier: upload.identifier,
    uploadId: upload.uploadId,
    protocol: upload.protocol,
    state: upload.state,
    filename: upload.name,
    relativePath: upload.relativePath,
    type: upload.type,
    totalSize: upload.size ?? null,
    storedBytes: upload.storedBytes,
    received: upload.storedRanges,
    total: total ?? null,
    progress: upload.state === 'complete' ? 100 : (job?.progress ?? 0),
    path: result && !result.bucket ? result.location : null,
    bucket: result?.bucket ?? null,
    key: result?.bucket ? result.location : null,
    size: result?.size ?? null,
    sha256: result?.sha256 ?? null,
    error: upload.error ?? null,
    expiresAt: upload.state === 'receiving' && upload.expiresAt ? new Date(upload.expiresAt).toISOString() : null,
    job,
  };
}
