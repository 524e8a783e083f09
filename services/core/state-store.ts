/**
 * The contract of the upload state store: where uploads, their stored ranges, their
 * locks and the per-client quotas live, shared by every ingest and worker. Each method is
 * one atomic step. The Redis implementation (services/state/) keeps its keys and Lua
 * scripts behind this interface; nothing else knows them.
 */
import type { PublishedFile, StoredRange, UploadDeclaration, UploadRecord, UploadState } from './upload.js';

/** Metadata that creates an upload; every request of an implicit upload carries it. */
export interface NewUpload {
  uploadId: string;
  declaration: UploadDeclaration;
  fingerprint: string;
  identifier: string;
  scope: string;
  storageKey: string;
  /** For a deferred size: the most it may become. */
  maxSize?: number;
  /** For a tus final upload: the ids of its partials, in order. */
  concatOf?: string[];
  /** Whose quota it counts against (released when it is merged, failed or cancelled). */
  quotaSubject: string;
}

export interface RangeToRecord {
  offset: number;
  length: number;
  /** The roundings (layout.ts) this range fits; EITHER for appends. */
  fits: number;
  /** Where the driver stored it; '' for the upload's own object. */
  location: string;
  /** The identity of the object written in place (storage-driver.ts, WrittenPiece.object). */
  object?: string;
}

export interface RecordRequest {
  keyHash: string;
  /** Creates the upload when absent (implicit uploads); checked against it otherwise. */
  declare?: NewUpload;
  /** The upload the caller believes it writes to; a record gone missing is then "lost". */
  expectedUploadId?: string;
  ranges: RangeToRecord[];
  /** Appends: the offset must be where the contiguous stored bytes end. */
  appendAt?: number;
  /** Declares the size now (tus deferred length, Plupload's last piece). */
  size?: number;
  /** Names an upload created unnamed (FilePond's appends); another name than the recorded one is a conflict. */
  name?: string;
  /** The write lock's fencing token; `release` drops the lock in the same step. */
  fence?: number;
  release?: boolean;
}

export type RecordOutcome =
  | 'stored' | 'duplicate' | 'completed' | 'enqueue' | 'done'
  | 'conflict' | 'geometry' | 'failed' | 'cancelled' | 'lost' | 'missing' | 'offset' | 'fence' | 'busy' | 'replaced';

export interface RecordResult {
  outcome: RecordOutcome;
  uploadId: string;
  state: UploadState | '';
  storedBytes: number;
  storedRanges: number;
  prefix: number;
  size: number | undefined;
  /** The piece count once the layout's geometry is settled. */
  totalPieces: number | undefined;
  earlyMerge: 'started' | 'parked' | undefined;
  /** This call started the upload's early merge: its job is to be added now. */
  startsEarlyMerge: boolean;
  /** This call created the upload. */
  created: boolean;
  partial: boolean;
  /** Per range asked: whether it is the range recorded (stored now, or before by this very write); false: its bytes are not the upload's. */
  accepted: boolean[];
  /** A tus partial upload just completed: the finals (key hashes) waiting for it. */
  finals: string[];
  /** When the record expires now (ms since the epoch), set by this write; undefined when it recorded nothing. */
  expiresAt: number | undefined;
}

export type RangeStatus = 'present' | 'absent' | 'conflict' | 'failed' | 'cancelled';
export type BeginMergeOutcome = 'merge' | 'complete' | 'failed' | 'stale' | 'missing' | 'early' | 'receiving';

export interface RangePeek {
  state: UploadState | 'missing' | 'stale';
  prefix: number;
  size: number | undefined;
  ranges: StoredRange[];
}

export interface LockGrant {
  outcome: 'acquired' | 'held' | 'missing';
  /** The fencing token of an acquired lock. */
  fence: number;
  state: UploadState | undefined;
  uploadId: string | undefined;
  prefix: number;
  size: number | undefined;
  maxSize: number;
  /** A tus final upload: made of its partials, never appended to. */
  final: boolean;
}

export interface QuotaLimits {
  maxUploads: number;
  maxBytes: number;
}

export interface StateStore {
  /** The channel upload events are published on (subscribe to it through `subscribeEvents`). */
  readonly eventsChannel: string;

  record(request: RecordRequest): Promise<RecordResult>;
  create(keyHash: string, upload: NewUpload): Promise<'created' | 'completed' | 'exists'>;
  rangeStatus(keyHash: string, fingerprint: string, offset: number): Promise<RangeStatus>;
  /** Offsets of every stored range, ascending. */
  storedOffsets(keyHash: string): Promise<number[]>;
  read(keyHash: string): Promise<UploadRecord | undefined>;
  /** Every stored range, in order of offset. */
  ranges(keyHash: string): Promise<StoredRange[]>;
  cancel(keyHash: string): Promise<{ outcome: 'cancelled' | 'missing' | 'complete'; storageKey?: string; uploadId?: string }>;

  /** Takes the upload's write lock, and says where it stands. */
  acquireLock(keyHash: string, leaseMs: number): Promise<LockGrant>;
  renewLock(keyHash: string, fence: number, leaseMs: number): Promise<boolean>;
  releaseLock(keyHash: string, fence: number): Promise<boolean>;

  beginMerge(keyHash: string, uploadId: string): Promise<BeginMergeOutcome>;
  peekRanges(keyHash: string, uploadId: string, from: number, max: number): Promise<RangePeek>;
  parkEarlyMerge(keyHash: string, uploadId: string): Promise<boolean>;
  finishMerge(keyHash: string, uploadId: string, result: PublishedFile): Promise<boolean>;
  markFailed(keyHash: string, uploadId: string, reason: string): Promise<boolean>;
  /** Drops the stored-range records once the merge removed the bytes they name. */
  dropRanges(keyHash: string): Promise<void>;
  /** Notes what a merge keeps outside the upload's bytes (an S3 multipart upload), for cleanup. */
  noteAssembly(keyHash: string, uploadId: string, assembly: string): Promise<void>;

  attachFinal(partialKeyHash: string, finalKeyHash: string): Promise<{ outcome: 'missing' | 'not_partial' | 'failed' | 'complete' | 'waiting'; size?: number }>;
  partialDone(finalKeyHash: string, partialId: string, size: number): Promise<'completed' | 'waiting' | 'done' | 'missing'>;

  /**
   * Whether the sweep may remove the bytes stored under `storageKey`: no live upload owns
   * them, and no new upload may start under the key for `holdMs` while they go.
   */
  claimForSweep(keyHash: string, storageKey: string, holdMs: number): Promise<boolean>;

  reserveQuota(subject: string, member: string, size: number, lapsesAt: number, limits: QuotaLimits): Promise<'ok' | 'uploads' | 'bytes'>;
  releaseQuota(subject: string, member: string): Promise<void>;

  /** Checks the store answers; rejects with the reason otherwise. */
  ping(): Promise<void>;
}
