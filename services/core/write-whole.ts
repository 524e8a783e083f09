/**
 * Stores a whole file sent in one request, its size known only once its body has been read
 * (Dropzone's and Fine Uploader's small files, Plupload without chunking, FilePond's small
 * files, a plain form upload). The upload gets a new id; it is created, recorded and found
 * complete in one atomic step, then queued for its merge like any other.
 */
import type { Readable } from 'node:stream';
import { afterRecord } from './after-record.js';
import { limitsFor, type Access, type CoreDependencies } from './core-dependencies.js';
import { UploadError, asPassingFault } from './errors.js';
import { uploadFingerprint, uploadKeyHash } from './keys.js';
import { EITHER } from './layout.js';
import type { UploadDeclaration } from './upload.js';

export interface WholeWrite {
  access: Access;
  /** The id the client knows the upload by (its uuid), or undefined for a new server-chosen one. */
  id?: string;
  declaration: Omit<UploadDeclaration, 'size' | 'layout'>;
  /** The size the client declared, when it did: the body must have exactly that many bytes. */
  declaredSize?: number;
  body: Readable;
  bodyComplete?: Promise<void>;
}

export async function writeWhole(deps: CoreDependencies, write: WholeWrite): Promise<{ id: string; uploadId: string; size: number }> {
  const { access } = write;
  const limits = limitsFor(deps, access);
  deps.allowedTypes.check(write.declaration.name, write.declaration.type);
  if (write.declaredSize !== undefined && write.declaredSize > limits.maxFileSize) throw new UploadError('file_too_large');
  const id = write.id ?? deps.newId();
  const keyHash = uploadKeyHash(access.scope, id);
  let pieces;
  try {
    pieces = await deps.storage.write(
      {
        storageKey: keyHash, offset: 0, length: write.declaredSize,
        maxLength: Math.min(limits.maxRangeLength, limits.maxFileSize), keepPartial: false, durable: deps.durable,
      },
      write.body,
    );
    await write.bodyComplete;
  } catch (err) {
    throw asPassingFault(err);
  }
  const size = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const declaration: UploadDeclaration = { ...write.declaration, size, layout: { kind: 'pieces', pieceSize: Math.max(size, 1), roundings: EITHER } };
  const uploadId = deps.newId();
  const result = await deps.state.record({
    keyHash,
    declare: { uploadId, declaration, fingerprint: uploadFingerprint(declaration), identifier: id, scope: access.scope, storageKey: keyHash, quotaSubject: access.quotaSubject },
    ranges: pieces.map((piece) => ({ ...piece, fits: EITHER })),
  });
  const uncounted = pieces.filter((_, i) => !result.accepted[i]);
  if (uncounted.length > 0) await deps.storage.discard(keyHash, uncounted);
  await afterRecord(deps, access, keyHash, result);
  return { id, uploadId: result.uploadId, size };
}
