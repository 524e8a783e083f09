/**
 * Stores one piece of an upload whose every request describes it (resumable.js and the
 * other piece-based clients): the one write path for both body kinds. Checked against the
 * limits and the geometry before a byte is stored; stored durably at its offset; only then
 * recorded, in the one atomic step that also decides completion.
 */
import type { Readable } from 'node:stream';
import { afterRecord, type PublicOutcome } from './after-record.js';
import { limitsFor, type Access, type CoreDependencies } from './core-dependencies.js';
import { UploadError, asPassingFault } from './errors.js';
import { uploadFingerprint, storageKeyOf, uploadKeyHash } from './keys.js';
import { checkDeclaration, placePiece } from './layout.js';
import type { UploadDeclaration } from './upload.js';

export interface PieceWrite {
  access: Access;
  /** The client's identifier for the upload. */
  id: string;
  declaration: UploadDeclaration & { layout: { kind: 'pieces' } };
  /** The piece's index, from 0. */
  index: number;
  /** The piece's length as the client declared it; undefined: learnt from the body. */
  length: number | undefined;
  /** An upload of a size declared later (Plupload): the size, sent with its last piece. */
  finalSize?: number;
  /**
   * What an upload of a size declared later learns from this piece's body, its length not
   * declared (Plupload sends neither a size nor a piece size): `pieceSize`, its first piece
   * (index 0) is a whole piece, so its length is the piece size (the declaration's is a
   * placeholder); `size`, its last piece ends the upload, so the size is where it ends.
   */
  learns?: 'pieceSize' | 'size';
  body: Readable;
  /** Settles once the whole request body was read and found well-formed (multipart's closing boundary). */
  bodyComplete?: Promise<void>;
}

export interface WriteOutcome {
  outcome: PublicOutcome;
  uploadId: string;
  storedRanges: number;
  totalPieces: number | undefined;
  storedBytes: number;
  size: number | undefined;
}

/** Checks a piece against the limits, the layout and the type allowlist: nothing stored yet. */
export function checkPiece(deps: CoreDependencies, write: Omit<PieceWrite, 'body'>) {
  const { declaration, access } = write;
  const limits = limitsFor(deps, access);
  const size = declaration.size ?? write.finalSize;
  checkDeclaration(size, declaration.layout, limits);
  deps.allowedTypes.check(declaration.name, declaration.type);
  return write.length === undefined ? undefined : placePiece(size, declaration.layout, write.index, write.length, limits);
}

export async function writePiece(deps: CoreDependencies, write: PieceWrite): Promise<WriteOutcome> {
  const { declaration, access, index } = write;
  const limits = limitsFor(deps, access);
  const placed = checkPiece(deps, write);
  const offset = index * declaration.layout.pieceSize;
  const keyHash = uploadKeyHash(access.scope, write.id);
  const fingerprint = uploadFingerprint(declaration);
  const storageKey = storageKeyOf(keyHash, fingerprint);

  let pieces;
  try {
    pieces = await deps.storage.write(
      { storageKey, offset, length: write.length, maxLength: limits.maxRangeLength, keepPartial: false, durable: deps.durable },
      write.body,
    );
    await write.bodyComplete;
  } catch (err) {
    throw asPassingFault(err);
  }
  // A piece whose length was not declared (Plupload) is checked now, before it counts.
  const stored = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const learnt = learnFromBody(write, offset, stored);
  const fits = placed?.fits ?? placePiece(declaration.size ?? learnt.finalSize, learnt.declaration.layout, index, stored, limits).fits;

  const result = await deps.state.record({
    keyHash,
    declare: {
      uploadId: deps.newId(),
      declaration: learnt.declaration,
      fingerprint,
      identifier: write.id,
      scope: access.scope,
      storageKey,
      quotaSubject: access.quotaSubject,
      maxSize: declaration.size === undefined ? limits.maxFileSize : undefined,
    },
    expectedUploadId: deps.ids.get(keyHash),
    ranges: pieces.map((piece) => ({ ...piece, fits })),
    size: declaration.size === undefined ? learnt.finalSize : undefined,
  });
  const uncounted = pieces.filter((_, i) => !result.accepted[i]);
  if (uncounted.length > 0) await deps.storage.discard(storageKey, uncounted);
  const outcome = await afterRecord(deps, access, keyHash, result);
  return {
    outcome,
    uploadId: result.uploadId,
    storedRanges: result.storedRanges,
    totalPieces: result.totalPieces,
    storedBytes: result.storedBytes,
    size: result.size,
  };
}

/** The piece size or the size a piece's body told (`learns`), checked before it counts. */
function learnFromBody(write: PieceWrite, offset: number, stored: number) {
  const { declaration } = write;
  if (write.learns === 'pieceSize') {
    if (write.index !== 0 || stored === 0) {
      throw new UploadError('range_size_mismatch', 'The first piece of an upload sets its piece size: it must hold at least one byte');
    }
    return { declaration: { ...declaration, layout: { ...declaration.layout, pieceSize: stored } }, finalSize: write.finalSize };
  }
  return { declaration, finalSize: write.learns === 'size' ? offset + stored : write.finalSize };
}
