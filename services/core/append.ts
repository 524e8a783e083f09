/**
 * Appends a body to an upload at the end of its stored bytes (tus PATCH, FilePond PATCH).
 * One request writes to an upload at a time: it holds the upload's write lock, renewed
 * while the body streams, and records with the lock's fencing token, so a request that
 * stalled past its lease can never count its bytes over a newer one's. What arrived
 * before a body broke off is kept once durable, and the client resumes after it.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterRecord } from './after-record.js';
import { limitsFor, type Access, type CoreDependencies } from './core-dependencies.js';
import { UploadError, asPassingFault } from './errors.js';
import { uploadKeyHash } from './keys.js';
import { EITHER } from './layout.js';
import { PartialWriteError, type WrittenPiece } from './storage-driver.js';

export interface AppendRequest {
  access: Access;
  id: string;
  offset: number;
  /** The body's length when the client declared it. */
  length?: number;
  /** Declares the upload's size now (tus `Upload-Length` after `Upload-Defer-Length`). */
  size?: number;
  /** The body must have this digest, or nothing of it counts (tus checksum extension). */
  checksum?: { algorithm: 'sha1' | 'sha256' | 'md5'; digest: Buffer };
  /**
   * Keep what arrived before the body broke off (default: yes, tus resumes after it). No for
   * clients that resume at their own chunk boundaries (FilePond): for them a chunk counts
   * whole or not at all.
   */
  keepPartial?: boolean;
  /**
   * Names an upload created unnamed (FilePond sends the name with its chunks only, as
   * Upload-Name): checked against the type allowlist (by its extension: such a client
   * declares no type) before a byte is stored, recorded with the first bytes; an append
   * giving another name than the one recorded is refused (upload_conflict).
   */
  name?: string;
  body: Readable;
}

export interface AppendResult {
  /** Where the stored bytes end now. */
  offset: number;
  size: number | undefined;
  completed: boolean;
  /** When the upload expires if nothing more arrives (tus Upload-Expires); undefined once complete. */
  expiresAt: number | undefined;
}

export async function append(deps: CoreDependencies, request: AppendRequest): Promise<AppendResult> {
  const { access } = request;
  const keyHash = uploadKeyHash(access.scope, request.id);
  if (request.name !== undefined) deps.allowedTypes.check(request.name, '');
  const grant = await deps.state.acquireLock(keyHash, deps.lockLeaseMs);
  if (grant.outcome === 'missing') throw new UploadError('upload_not_found');
  if (grant.outcome === 'held') throw new UploadError('upload_locked');
  let released = false;
  const renewal = setInterval(() => {
    deps.state.renewLock(keyHash, grant.fence, deps.lockLeaseMs).then(
      (held) => held || request.body.destroy(new UploadError('upload_locked', 'The write lock was lost; retry')),
      () => undefined,
    );
  }, Math.max(deps.lockLeaseMs / 3, 100));
  try {
    if (grant.final) throw new UploadError('forbidden', 'A final upload is made of its partial uploads; it takes no data of its own');
    if (grant.state === 'cancelled') throw new UploadError('upload_cancelled');
    if (grant.state === 'failed') throw new UploadError('upload_failed');
    if (grant.state !== 'receiving' && request.offset === grant.prefix && (request.length ?? 0) === 0) {
      return { offset: grant.prefix, size: grant.size, completed: true, expiresAt: undefined };
    }
    if (grant.state !== 'receiving') throw new UploadError('upload_complete');
    if (request.offset !== grant.prefix) throw new UploadError('offset_mismatch', `The upload continues at ${grant.prefix}, not ${request.offset}`);
    const size = grant.size ?? request.size;
    if (request.size !== undefined && grant.size !== undefined && request.size !== grant.size) {
      throw new UploadError('upload_conflict', `The upload's size is ${grant.size}, not ${request.size}`);
    }
    const limit = (size ?? Math.min(grant.maxSize || Number.POSITIVE_INFINITY, limitsFor(deps, access).maxFileSize)) - request.offset;
    if (request.length !== undefined && request.length > limit) {
      throw new UploadError('range_too_large', `The body of ${request.length} bytes goes past the upload's end (${limit} bytes left)`);
    }

    const recordPieces = async (pieces: WrittenPiece[], last: boolean) => {
      const result = await deps.state.record({
        keyHash,
        expectedUploadId: request.id,
        ranges: pieces.map((piece) => ({ ...piece, fits: EITHER })),
        appendAt: pieces[0]?.offset ?? request.offset,
        ...(last && request.size !== undefined ? { size: request.size } : {}),
        ...(request.name !== undefined ? { name: request.name } : {}),
        fence: grant.fence,
        release: last,
      });
      // The script lets go of the lock once it records; a refusal before that (a conflict, a geometry) keeps it.
      if (last && (result.outcome === 'stored' || result.outcome === 'duplicate' || result.outcome === 'completed')) released = true;
      await afterRecord(deps, access, keyHash, result);
      return result;
    };

    const hash = request.checksum ? createHash(request.checksum.algorithm) : undefined;
    const pieces = await writeBody(deps, request, keyHash, limit, hash, (checkpoint) => recordPieces(checkpoint, false).then(() => undefined));
    if (hash && !hash.digest().equals(request.checksum!.digest)) {
      throw new UploadError('checksum_mismatch', `The body's ${request.checksum!.algorithm} digest differs from Upload-Checksum`);
    }
    const result = await recordPieces(pieces, true);
    const completed = result.outcome === 'completed' || result.state !== 'receiving';
    return { offset: result.prefix, size: result.size, completed, expiresAt: completed ? undefined : result.expiresAt };
  } finally {
    clearInterval(renewal);
    if (!released) await deps.state.releaseLock(keyHash, grant.fence).catch(() => undefined);
  }
}

function hashing(source: Readable, hash: Hash): Readable {
  const through = new Transform({
    transform(piece: Buffer, _encoding, callback) {
      hash.update(piece);
      callback(null, piece);
    },
  });
  pipeline(source, through).catch(() => undefined); // a broken body ends `through` with its error
  return through;
}

/**
 * Streams the body into storage. Long bodies record checkpoints as they go (unless a
 * checksum must be verified first: nothing may count before the digest is known).
 */
async function writeBody(
  deps: CoreDependencies,
  request: AppendRequest,
  storageKey: string,
  limit: number,
  hash: Hash | undefined,
  onCheckpoint: (pieces: WrittenPiece[]) => Promise<void>,
): Promise<WrittenPiece[]> {
  // Hashed on the way to storage: a 'data' listener on the request itself would start the
  // flow before the driver is ready to take it.
  const body = hash ? hashing(request.body, hash) : request.body;
  try {
    return await deps.storage.write(
      {
        storageKey,
        offset: request.offset,
        length: request.length,
        maxLength: limit,
        keepPartial: !hash && request.keepPartial !== false,
        durable: deps.durable,
        ...(hash || request.keepPartial === false || deps.appendCheckpointBytes <= 0 ? {} : { checkpointBytes: deps.appendCheckpointBytes, onCheckpoint }),
      },
      body,
    );
  } catch (err) {
    if (err instanceof PartialWriteError && err.durable.length > 0) {
      // Count what arrived before the body broke off, then report the break.
      await onCheckpoint(err.durable);
      throw new UploadError('malformed_body', 'The body ended before it was complete; resume from the new offset', { cause: err });
    }
    throw asPassingFault(err);
  }
}
