/** What a merge works with (merge-processor.ts), passed in one object. */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { MergeJobData } from '../../core/merge-scheduler.js';
import type { StateStore } from '../../core/state-store.js';
import type { StorageDriver } from '../../core/storage-driver.js';
import type { PublishedFile } from '../../core/upload.js';
import type { UploadNotifier } from '../../shared/upload-notifier.js';

export interface EarlyMergeOptions {
  /** Early merges one worker process runs at once; more park straight away (0: none run). */
  perWorker: number;
  /** An early merge that gets no new bytes for this long parks, giving its slot back. */
  idleMs: number;
}

export interface MergeOptions {
  state: StateStore;
  storage: StorageDriver;
  logger: Logger;
  /** Queues the completion webhook once an upload is complete or failed. */
  notifier?: UploadNotifier;
  /** Told of every merge published: its bytes, and seconds from the upload's completion to publication. */
  onMerged?: (bytes: number, seconds: number) => void;
  /** Told when an early merge ends: it merged the upload, or parked. */
  onEarlyMerge?: (end: 'merged' | 'parked') => void;
  /** Aborted at shutdown's deadline: an active merge stops and hands its job straight back to the queue. */
  shutdownSignal?: AbortSignal;
  /**
   * Aborted when shutdown starts: an early merge, which cannot finish before its upload
   * does, hands its job back at once instead of holding shutdown until the deadline.
   */
  drainSignal?: AbortSignal;
  /** How long a merge that found the storage full waits before it tries again, and how often it may. */
  diskFullRetryMs?: number;
  diskFullRetries?: number;
  earlyMerge?: EarlyMergeOptions;
}

export type MergeJob = Job<MergeJobData & { storageFullWaits?: number }, PublishedFile | undefined>;
