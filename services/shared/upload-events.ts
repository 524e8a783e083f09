/**
 * Live upload events. State changes are published by the Lua scripts themselves
 * (lua/publish-event.lua) on a Redis channel; merge progress travels as BullMQ job
 * progress (MergeProgress). Each ingest instance turns both into server-sent events.
 */
import type { UploadState } from './upload-store.js';

export interface UploadEvent {
  type: 'chunk' | 'state' | 'progress';
  /** Internal routing: which upload, and whose (the scope it was uploaded in). */
  keyHash: string;
  scope: string;
  identifier: string;
  uploadId: string;
  state?: UploadState;
  chunkNumber?: number;
  received?: number;
  /** Chunk count, once the upload's geometry is settled. */
  total?: number;
  /** Merge progress, 0-100. */
  percent?: number;
  path?: string;
  size?: number;
  sha256?: string;
  error?: string;
}

/** The job progress the worker reports: enough for any ingest to route it to listeners. */
export interface MergeProgress {
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

/** What a client sees of an event: nothing internal. */
export function publicEvent({ keyHash: _keyHash, scope: _scope, ...visible }: UploadEvent): Omit<UploadEvent, 'keyHash' | 'scope'> {
  if (visible.total !== undefined && visible.total < 0) delete visible.total;
  return visible;
}
