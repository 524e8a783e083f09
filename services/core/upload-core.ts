/**
 * The upload core: protocol-free operations on uploads, for every adapter. An upload is a
 * byte range of known size (or of a size declared later) being filled; adapters turn their
 * client's requests into these calls and the core's outcomes and error codes back into
 * what their client understands. No HTTP here, and no filesystem: the state store and the
 * storage driver are behind interfaces.
 */
import { append, type AppendRequest, type AppendResult } from './append.js';
import type { Access, CoreDependencies } from './core-dependencies.js';
import { createUpload, type CreatedUpload } from './create-upload.js';
import { UploadError } from './errors.js';
import { storageKeyOf, uploadFingerprint, uploadKeyHash } from './keys.js';
import type { RangeStatus } from './state-store.js';
import type { UploadDeclaration, UploadRecord } from './upload.js';
import { checkPiece, writePiece, type PieceWrite, type WriteOutcome } from './write-piece.js';
import { writeWhole, type WholeWrite } from './write-whole.js';

export type { Access, CoreDependencies } from './core-dependencies.js';

export class UploadCore {
  constructor(readonly deps: CoreDependencies) {}

  /** Stores one piece of a piece-based upload (creating the upload with its first). */
  writePiece(write: PieceWrite): Promise<WriteOutcome> {
    return writePiece(this.deps, write);
  }

  /** Stores a whole file sent in one request (its size known once read), complete at once. */
  writeWhole(write: WholeWrite): Promise<{ id: string; uploadId: string; size: number }> {
    return writeWhole(this.deps, write);
  }

  /** Checks a piece before its body is read: limits, geometry, type. */
  checkPiece(write: Omit<PieceWrite, 'body'>): void {
    checkPiece(this.deps, write);
  }

  /** Creates an upload under a new server-chosen id (or a tus final upload of partials). */
  create(access: Access, declaration: UploadDeclaration, concatOf?: string[]): Promise<CreatedUpload> {
    return createUpload(this.deps, access, declaration, concatOf);
  }

  /** Appends a body at the end of an upload's stored bytes, under its write lock. */
  append(request: AppendRequest): Promise<AppendResult> {
    return append(this.deps, request);
  }

  /** Is the piece at `offset` of this upload (as the client describes it) stored? One round trip. */
  rangeStatus(access: Access, id: string, declaration: UploadDeclaration, offset: number): Promise<RangeStatus> {
    return this.deps.state.rangeStatus(uploadKeyHash(access.scope, id), uploadFingerprint(declaration), offset);
  }

  /** The offsets of every stored range (simple-uploader.js asks for them all at once). */
  storedOffsets(access: Access, id: string): Promise<number[]> {
    return this.deps.state.storedOffsets(uploadKeyHash(access.scope, id));
  }

  read(access: Access, id: string): Promise<UploadRecord | undefined> {
    return this.deps.state.read(uploadKeyHash(access.scope, id));
  }

  /**
   * Cancels an upload in progress: its state, its stored bytes and its quota go; requests
   * still in flight are refused for a grace period, then the id is free again.
   */
  async cancel(access: Access, id: string): Promise<void> {
    const keyHash = uploadKeyHash(access.scope, id);
    const upload = await this.deps.state.read(keyHash);
    const cancelled = await this.deps.state.cancel(keyHash);
    if (cancelled.outcome === 'missing') throw new UploadError('upload_not_found');
    if (cancelled.outcome === 'complete') throw new UploadError('upload_complete', 'The upload is complete; there is nothing to cancel');
    this.deps.ids.delete(keyHash);
    if (cancelled.storageKey) await this.deps.storage.remove(cancelled.storageKey);
    if (upload?.quotaSubject) await this.deps.state.releaseQuota(upload.quotaSubject, keyHash);
  }

  /** Where an implicit upload's bytes go (for tests and tools). */
  static storageKeyFor(access: Access, id: string, declaration: UploadDeclaration): string {
    return storageKeyOf(uploadKeyHash(access.scope, id), uploadFingerprint(declaration));
  }
}
