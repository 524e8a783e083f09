/**
 * The contract every storage driver keeps (filesystem, S3-compatible object storage).
 * The core decides what is stored and when an upload is complete; a driver only stores
 * bytes durably, reads them back for the merge, publishes the merged file and removes
 * what is no longer needed. Every driver passes the same conformance suite
 * (test/storage/driver-conformance.ts).
 */
import type { Readable } from 'node:stream';
import type { PublishedFile } from './upload.js';

export interface StorageCapabilities {
  /**
   * Every range of an upload is written into one object at its offset, so the merge only
   * hashes and publishes it (the filesystem): each byte is written once. Without it each
   * write is an object of its own (S3), and the merge joins them.
   */
  writesInPlace: boolean;
  /** The merged file can be built while ranges still arrive, following the contiguous bytes. */
  assemblesWhileReceiving: boolean;
  /** Stored objects can be joined without their bytes passing through this process. */
  serverSideConcat: boolean;
  /** The smallest part such a join accepts, but for the last (S3: 5 MiB); 0 when none. */
  minPartSize: number;
}

/** Bytes made durable by a write: one piece, or several when the driver cut the body. */
export interface WrittenPiece {
  offset: number;
  length: number;
  /** Where the driver put them: '' for the upload's own object (writesInPlace). */
  location: string;
  /**
   * For writes in place: the identity of the object written into (the data file's inode
   * and birth time). If it changes under an upload, the bytes stored before are gone (the
   * file was removed and a later write created a new one), and the upload fails instead of
   * publishing a file with a hole in it.
   */
  object?: string;
}

export interface RangeWrite {
  /** Where the upload's bytes live (keys.ts); never derived from client text. */
  storageKey: string;
  offset: number;
  /** The exact length when the client declared one; undefined: whatever the body holds. */
  length?: number;
  /** More than this many bytes in the body is refused as it arrives. */
  maxLength: number;
  /**
   * Keep what arrived and was made durable when the body breaks off (tus: the client
   * resumes from there). Otherwise a write is all or nothing.
   */
  keepPartial: boolean;
  /** Flush to stable storage before resolving (CHUNK_FSYNC; object stores always are). */
  durable: boolean;
  /**
   * For long appends: told of bytes made durable every `checkpointBytes`, while the body
   * still streams, so they count (and a merge can follow them) before the request ends.
   */
  checkpointBytes?: number;
  onCheckpoint?: (pieces: WrittenPiece[]) => Promise<void>;
}

/** A write that failed part-way; `durable` holds what it kept (keepPartial). */
export class PartialWriteError extends Error {
  constructor(
    readonly durable: WrittenPiece[],
    options: ErrorOptions,
  ) {
    super('the body ended before it was complete', options);
    this.name = 'PartialWriteError';
  }
}

/**
 * Stored bytes a merge needs are missing or short (a lost file, a removed object): no
 * retry can bring them back, so the upload fails with the reason.
 */
export class MissingDataError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingDataError';
  }
}

/** A stored range to add to a merged file, in order. */
export interface SourceRange {
  /** The upload whose bytes these are (a tus final's partials are other uploads). */
  storageKey: string;
  /** Offset in that upload, length, and where the driver put them. */
  offset: number;
  length: number;
  location: string;
}

export interface AssemblySpec {
  uploadId: string;
  /** The upload being merged: with writesInPlace, its own object is the merged file. */
  storageKey: string;
  /** The client's file name; the driver publishes it sanitised (sanitize-filename.ts). */
  name: string;
  /** The content type to publish with, where the store keeps one. */
  type: string;
  /** The total size, when known (always at completion). */
  size: number | undefined;
  /** What an earlier attempt of this merge noted (noteAssembly): cleaned up first. */
  previousAssembly?: string;
  /**
   * Told the assembly's `reference` as soon as it has one (S3: once its multipart upload
   * exists, before any part goes into it), to be noted: an attempt that crashes from there
   * on is cleaned up by the next one, not left for the sweep.
   */
  onReference?: (reference: string) => Promise<void>;
  signal?: AbortSignal;
}

/**
 * A merged file being built: ranges are added in order, their bytes hashed (SHA-256) on
 * the way; `finish` publishes it atomically under `files/<upload id>/<name>`.
 */
export interface Assembly {
  /** What to note in the state store so a crashed attempt can be cleaned up (S3 multipart id). */
  readonly reference: string | undefined;
  /** Bytes added so far. */
  readonly size: number;
  add(ranges: SourceRange[]): Promise<void>;
  finish(): Promise<PublishedFile>;
  /** Drops what was built; the upload's stored ranges stay. */
  abort(): Promise<void>;
}

export interface SweepReport {
  uploads: number;
  assemblies: number;
  bytes: number;
}

export interface StorageDriver {
  readonly name: string;
  readonly capabilities: StorageCapabilities;
  /** Stores a body at an offset durably; resolves with what is stored once it is durable. */
  write(request: RangeWrite, body: Readable): Promise<WrittenPiece[]>;
  /** Removes written pieces that were not counted (a duplicate, a refused range). */
  discard(storageKey: string, pieces: WrittenPiece[]): Promise<void>;
  /** Removes every stored byte of an upload (cancelled, or merged and published). */
  remove(storageKey: string): Promise<void>;
  /** Removes a published file (an upload cancelled while its merge published it). */
  unpublish(file: PublishedFile): Promise<void>;
  openAssembly(spec: AssemblySpec): Promise<Assembly>;
  /**
   * Removes what abandoned uploads and crashed merges left behind, untouched for
   * `olderThanMs`. `claim` says whether a storage key's bytes may go (no live upload owns
   * them; the state store then holds new uploads off the key while they are removed).
   */
  sweep(claim: (storageKey: string) => Promise<boolean>, olderThanMs: number): Promise<SweepReport>;
  /** Rejects when the store cannot take writes, with a short reason safe to show (`disk nearly full`). */
  ready(): Promise<void>;
  close(): Promise<void>;
}
