/**
 * Live upload events. State changes are published by the state store's atomic steps
 * themselves; merge progress travels with the merge job. Each ingest instance turns both
 * into server-sent events for the clients allowed to see them.
 */
import type { UploadState } from './upload.js';

export interface UploadEvent {
  type: 'chunk' | 'state' | 'progress';
  /** Routing, never shown: which upload, and whose. */
  keyHash: string;
  scope: string;
  identifier: string;
  uploadId: string;
  state?: UploadState;
  /** Ranges (pieces) stored so far, and the piece count once the geometry is settled. */
  received?: number;
  total?: number;
  storedBytes?: number;
  size?: number;
  /** Merge progress, 0-100. */
  percent?: number;
  path?: string;
  bucket?: string;
  sha256?: string;
  error?: string;
}

/** The merge job's progress: enough for any ingest to route it to the upload's listeners. */
export interface MergeProgress {
  /** Progress of an early merge while its upload still receives: not shown to clients. */
  early?: boolean;
  percent: number;
  bytes: number;
  uploadId: string;
  keyHash: string;
  scope: string;
  identifier: string;
}

export function isMergeProgress(value: unknown): value is MergeProgress {
  const progress = value as Partial<MergeProgress> | null;
  return typeof progress === 'object' && progress !== null && typeof progress.percent === 'number' && typeof progress.keyHash === 'string';
}

/** What a client sees of an event: nothing internal, no unknown values. */
export function publicEvent({ keyHash: _keyHash, scope: _scope, ...visible }: UploadEvent): Omit<UploadEvent, 'keyHash' | 'scope'> {
  if (visible.total !== undefined && visible.total < 0) delete visible.total;
  if (visible.size !== undefined && visible.size < 0) delete visible.size;
  return visible;
}
