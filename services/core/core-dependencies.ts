/**
 * What the upload core works with, passed in one object so a test can build it around a
 * real Redis and a real data folder, and an adapter never needs to know which store or
 * driver is behind it.
 */
import type { UploadLimits } from './layout.js';
import type { MergeScheduler } from './merge-scheduler.js';
import type { QuotaLimits, StateStore } from './state-store.js';
import type { StorageDriver } from './storage-driver.js';
import type { TypeAllowlist } from './type-allowlist.js';
import type { UploadIdCache } from './upload-cache.js';

export interface CoreDependencies {
  state: StateStore;
  storage: StorageDriver;
  merges: MergeScheduler;
  /** The server's limits (a token may lower maxFileSize: Access). */
  limits: UploadLimits;
  /** Uploads and bytes in progress per client (quota subject). */
  quota: QuotaLimits;
  allowedTypes: TypeAllowlist;
  /** CHUNK_FSYNC: flush every range to stable storage before it counts. */
  durable: boolean;
  /** UPLOAD_TTL in ms: how long an idle upload lives (and its quota entry). */
  idleTtlMs: number;
  /** Lease of an append's write lock; renewed while the body streams. */
  lockLeaseMs: number;
  /** A long append records what is durable every this many bytes (0: only at its end). */
  appendCheckpointBytes: number;
  ids: UploadIdCache;
  /** Told when the core itself ends an upload (it failed), so the completion webhook goes out. */
  onUploadFinished?: (keyHash: string) => Promise<void>;
  /** New upload ids: unguessable, and usable in paths and job ids. */
  newId: () => string;
}

/** Who is asking, as the adapter's access check established it. */
export interface Access {
  /** Uploads are named within this scope: the operator's namespace, or a token's subject. */
  scope: string;
  /** Whose quota the request counts against: the token subject, or the client's address. */
  quotaSubject: string;
  /** A token's own size limit, when lower than the server's. */
  maxFileSize?: number;
}

export function limitsFor(deps: CoreDependencies, access: Access): UploadLimits {
  return { ...deps.limits, maxFileSize: Math.min(deps.limits.maxFileSize, access.maxFileSize ?? Number.POSITIVE_INFINITY) };
}
