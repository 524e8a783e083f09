/**
 * What the core knows of an upload. Protocol adapters turn a client's requests into these
 * protocol-neutral values; the state store keeps them; the worker merges from them.
 */
import type { Layout } from './layout.js';

export type UploadState = 'receiving' | 'queued' | 'merging' | 'complete' | 'failed' | 'cancelled';

/** States in which an upload still holds stored data that a merge will need. */
export const LIVE_STATES: ReadonlySet<UploadState> = new Set(['receiving', 'queued', 'merging']);

/**
 * Who an upload belongs to and what the client calls it. The scope is the operator's
 * namespace or an upload token's subject: two scopes never share an upload. The id is the
 * client's identifier (resumable.js, Dropzone's uuid...) or one the server assigned (tus).
 */
export interface UploadRef {
  scope: string;
  id: string;
}

/** Metadata fixed by an upload's first request; every later request must agree with it. */
export interface UploadDeclaration {
  /** Total bytes, or undefined until the client says (tus `Upload-Defer-Length`, Plupload). */
  size: number | undefined;
  layout: Layout;
  /**
   * The client's file name (never used as a path as given: see sanitize-filename.ts). ''
   * for an upload created before its client names it (FilePond names its chunked uploads
   * on their appends: AppendRequest.name).
   */
  name: string;
  /** The file's path inside a dropped folder, where the client sends one; else the name. */
  relativePath: string;
  /** The MIME type the client gave; may be empty. */
  type: string;
  /** Which adapter speaks for this upload (e.g. `resumable`, `tus`): shown in its status. */
  protocol: string;
  /** Protocol metadata to give back as it came (tus `Upload-Metadata`); small. */
  metadata?: Record<string, string>;
  /** tus concatenation: a partial upload (merged only as part of a final one). */
  partial?: boolean;
  /**
   * The id of a finished (complete or failed) upload under the same identifier that this one
   * starts anew: a client that names files by their name alone (Plupload) sending another
   * file of that name. Part of the fingerprint, so the two never share stored bytes.
   */
  succeeds?: string;
}

/** An upload as the state store holds it. */
export interface UploadRecord {
  uploadId: string;
  state: UploadState;
  scope: string;
  /** The client's id for it (identifier, uuid, or the server-assigned id). */
  identifier: string;
  protocol: string;
  size: number | undefined;
  layout: Layout;
  /** For a `pieces` layout: the roundings its pieces still fit (layout.ts). */
  roundings: number;
  name: string;
  relativePath: string;
  type: string;
  metadata: Record<string, string>;
  partial: boolean;
  /** For a final tus upload: the ids of its partial uploads, in order. */
  concatOf: string[] | undefined;
  /** The finished upload under the same identifier this one started anew (UploadDeclaration). */
  succeeds?: string | undefined;
  /** Bytes stored, and ranges (pieces, appends) stored. */
  storedBytes: number;
  storedRanges: number;
  /** Bytes stored contiguously from the start: where an append continues. */
  prefix: number;
  /** Where the storage driver keeps this upload's bytes (storage-driver.ts). */
  storageKey: string;
  /** Whose quota it counts against: a token subject, or a client address. */
  quotaSubject: string;
  /** An S3 multipart upload (or the like) a merge attempt started, for cleanup. */
  assembly: string | undefined;
  createdAt: number;
  /** When it expires unless more data comes (ms since the epoch). */
  expiresAt: number;
  earlyMerge: 'started' | 'parked' | undefined;
  result: PublishedFile | undefined;
  error: string | undefined;
}

/** Where a merged upload was published. */
export interface PublishedFile {
  /** fs: the path relative to DATA_DIR. s3: the object key. */
  location: string;
  /** s3: the bucket; absent for the filesystem. */
  bucket?: string;
  size: number;
  sha256: string;
}

/** One stored range, as the merge reads it back. */
export interface StoredRange {
  offset: number;
  length: number;
  /** Where the driver put these bytes; '' for the upload's own object (storage-driver.ts). */
  location: string;
}
