/**
 * Creates an upload a client asks for explicitly (tus POST, FilePond's first POST) under
 * an id the server chooses, and tus concatenation's final uploads: recorded once, counted
 * complete when all their partials are, and merged through the queue like any other.
 */
import { limitsFor, type Access, type CoreDependencies } from './core-dependencies.js';
import { UploadError } from './errors.js';
import { uploadFingerprint, uploadKeyHash } from './keys.js';
import { checkDeclaration } from './layout.js';
import type { UploadDeclaration } from './upload.js';

export interface CreatedUpload {
  /** The id the client will name it by (in a URL, or as FilePond's transfer id). */
  id: string;
  keyHash: string;
  /** Empty uploads are complete at once. */
  completed: boolean;
}

export async function createUpload(deps: CoreDependencies, access: Access, declaration: UploadDeclaration, concatOf?: string[]): Promise<CreatedUpload> {
  const limits = limitsFor(deps, access);
  checkDeclaration(declaration.size, declaration.layout, limits);
  // An upload created unnamed is checked when its appends name it (append.ts); an empty
  // one is complete at once, so it is checked now.
  if (declaration.name !== '' || declaration.size === 0) deps.allowedTypes.check(declaration.name, declaration.type);
  const id = deps.newId();
  const keyHash = uploadKeyHash(access.scope, id);

  // An explicit upload counts against its client's quota before it exists at all.
  const verdict = await deps.state.reserveQuota(access.quotaSubject, keyHash, declaration.size ?? 0, Date.now() + deps.idleTtlMs, deps.quota);
  if (verdict !== 'ok') throw new UploadError('quota_exceeded');

  const outcome = await deps.state.create(keyHash, {
    uploadId: id,
    declaration,
    fingerprint: uploadFingerprint(declaration),
    identifier: id,
    scope: access.scope,
    storageKey: keyHash,
    quotaSubject: access.quotaSubject,
    maxSize: declaration.size === undefined ? limits.maxFileSize : undefined,
    ...(concatOf ? { concatOf } : {}),
  });
  if (outcome === 'exists') throw new UploadError('service_unavailable', 'Upload id collision; retry');
  deps.ids.set(keyHash, id);
  if (outcome === 'completed') await deps.merges.schedule({ keyHash, uploadId: id, quotaSubject: access.quotaSubject });
  if (concatOf) await attachPartials(deps, access, keyHash, id, concatOf);
  return { id, keyHash, completed: outcome === 'completed' };
}

/**
 * A final upload names its partials (in the client's scope). Each is counted now if it is
 * complete, else when it completes (after-record.ts); a partial that is unknown, not
 * partial, or failed makes the final fail at once.
 */
async function attachPartials(deps: CoreDependencies, access: Access, finalKeyHash: string, finalId: string, partialIds: string[]): Promise<void> {
  for (const partialId of partialIds) {
    const attached = await deps.state.attachFinal(uploadKeyHash(access.scope, partialId), finalKeyHash);
    if (attached.outcome === 'complete') {
      if ((await deps.state.partialDone(finalKeyHash, partialId, attached.size ?? 0)) === 'completed') {
        await deps.merges.schedule({ keyHash: finalKeyHash, uploadId: finalId, quotaSubject: access.quotaSubject });
      }
    } else if (attached.outcome !== 'waiting') {
      await deps.state.cancel(finalKeyHash);
      await deps.state.releaseQuota(access.quotaSubject, finalKeyHash);
      throw new UploadError('invalid_field', `Upload ${partialId} cannot be concatenated: it is ${attached.outcome.replace('_', ' ')}`);
    }
  }
}
