/**
 * Plupload, html5 runtime (docs/protocols/plupload.md), on `/upload`: one POST (or PUT) per
 * chunk or per whole file, strictly one after another for the whole uploader, multipart by
 * default (`multipart: false`: the raw bytes, the fields in the query string).
 *
 * Plupload never sends a size or a piece size, so a chunked upload is learnt as it comes:
 *   chunk 0        is a whole piece: its length is the piece size (the core learns it);
 *   chunk 1..n-2   must be exactly that piece size (read from the upload: `core.read`);
 *   chunk n-1      ends the file: the size is where it ends, declared with it.
 * The core decides completion by stored bytes: once the size is declared and every byte
 * below it is stored. A file sent in one request (no chunking, `chunks=1`, or an allowed
 * empty file, `chunks=0`) is stored whole at once.
 *
 * The upload is named by the `uid` field when the page adds one, else by the file's name
 * within the caller's scope; the chunk count is part of what its requests agree on, so a
 * same-named file cut into another count is refused, never mixed in. Since a chunk 0 starts
 * the file, a chunk 0 for a name whose upload is finished starts a new upload under that name
 * (phones name every photo image.jpg): the finished one stays published, and the new one's
 * bytes are stored apart from it. A chunk 0 for a name whose upload is still receiving, with
 * more than its first chunk stored, may be someone else's file: refused, never mixed in.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { limitsFor, type Access } from '../../../core/core-dependencies.js';
import { UploadError } from '../../../core/errors.js';
import { CEIL } from '../../../core/layout.js';
import type { UploadDeclaration, UploadRecord } from '../../../core/upload.js';
import type { IncomingUpload, ProtocolDependencies, UploadProtocol } from '../protocol.js';
import { checkMimeType } from '../shared/client-text.js';
import { FieldSource } from '../shared/field-source.js';
import { bodyOf, refuseFormBodies } from '../shared/piece-body.js';
import { PLUPLOAD, readPluploadRequest, type PluploadRequest } from './fields.js';
import { renderPluploadError } from './statuses.js';

const CHUNK_FIELDS = ['chunk', 'chunks'];
/** States of an upload whose merge is under way: a file sent again under its name waits for it. */
const MERGING = new Set(['queued', 'merging']);
/** How long a chunk 0 waits for the merge of the previous file of its name (Plupload retries nothing by default). */
const PREVIOUS_MERGE_WAIT_MS = 10_000;

function fieldsOf({ ctx, multipart }: IncomingUpload): FieldSource {
  return new FieldSource(multipart ? [multipart.fields, ctx.query] : [ctx.query]);
}

/** A whole Plupload file in a multipart body has its part named after it; `uid` marks it too. */
function recognises({ ctx, multipart }: IncomingUpload): boolean {
  if (ctx.method !== 'POST' && ctx.method !== 'PUT') return false;
  const fields = fieldsOf({ ctx, multipart });
  if (CHUNK_FIELDS.some((name) => fields.has(name))) return true;
  const name = fields.first('name');
  if (name === undefined) return false;
  // Plupload's other chunk format (`send_chunk_number: false`), refused by name.
  if (fields.has('offset') || fields.has('total')) return true;
  // `multipart: false`: the fields are in the query string, the body is the file.
  if (!multipart) return true;
  return multipart.file !== undefined && (multipart.file.filename === name || fields.has('uid'));
}

export function pluploadProtocol(deps: ProtocolDependencies): UploadProtocol {
  const { core, accessOf } = deps;

  async function storeWhole(request: IncomingUpload, upload: PluploadRequest, access: Access) {
    const { ctx, multipart } = request;
    const { body, complete } = bodyOf(request, undefined);
    // The whole file's part carries its type; a raw body's Content-Type is Plupload's own octet-stream.
    const type = multipart?.file && multipart.file.mimeType !== 'application/octet-stream' ? checkMimeType('the file part\'s type', multipart.file.mimeType) : '';
    const empty = upload.chunk?.count === 0;
    const stored = await core.writeWhole({
      access,
      ...(upload.uid !== undefined ? { id: upload.uid } : {}),
      declaration: { name: upload.name, relativePath: upload.name, type, protocol: PLUPLOAD },
      ...(empty ? { declaredSize: 0 } : {}),
      body,
      ...(complete ? { bodyComplete: complete } : {}),
    });
    deps.metrics.pieceStored('completed', stored.size);
    ctx.body = { id: stored.id, uploadId: stored.uploadId, name: upload.name, size: stored.size, outcome: 'completed', complete: true };
  }

  /** The upload under this name once the merge of a finished file of that name is done (or the wait is over). */
  async function settledUpload(access: Access, id: string): Promise<UploadRecord | undefined> {
    const deadline = Date.now() + PREVIOUS_MERGE_WAIT_MS;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      const existing = await core.read(access, id);
      if (!existing || !MERGING.has(existing.state)) return existing;
      if (Date.now() + wait > deadline) {
        throw new UploadError('service_unavailable', `The previous file named "${id}" is still being merged; send this one again in a moment`);
      }
      await sleep(wait);
    }
  }

  /**
   * Where a chunked upload stands before its chunk is read: the piece size once learnt, and
   * the finished upload a chunk 0 starts anew; refused here when the chunk cannot be part of it.
   */
  function checkAgainst(upload: PluploadRequest, existing: UploadRecord | undefined): { pieceSize?: number; succeeds?: string } {
    const { index } = upload.chunk!;
    if (existing && (existing.protocol !== PLUPLOAD || existing.layout.kind !== 'pieces')) {
      throw new UploadError('upload_conflict', `"${upload.id}" names an upload of another kind`);
    }
    const generation = existing?.succeeds !== undefined ? { succeeds: existing.succeeds } : {};
    if (index > 0) {
      if (!existing) {
        throw new UploadError('upload_not_found', `Chunk ${index} of "${upload.id}" came before its chunk 0 was stored (or the upload expired); Plupload sends chunk 0 first`);
      }
      return { ...generation, ...(existing.layout.kind === 'pieces' ? { pieceSize: existing.layout.pieceSize } : {}) };
    }
    if (existing && (existing.state === 'complete' || existing.state === 'failed')) return { succeeds: existing.uploadId };
    if (existing?.state === 'receiving' && existing.storedRanges > 1) {
      throw new UploadError('upload_conflict', `An upload of "${upload.id}" is in progress with ${existing.storedRanges} chunks stored; a file started again from chunk 0 cannot be told from another file of the same name: give each file a unique uid field (docs/protocols/plupload.md)`);
    }
    return generation;
  }

  /** The bytes a chunk held: declared, or learnt (the piece size from chunk 0, the size from the last). */
  async function chunkBytes(upload: PluploadRequest, access: Access, declared: number | undefined, size: number | undefined): Promise<number> {
    if (declared !== undefined) return declared;
    const record = await core.read(access, upload.id);
    const pieceSize = record?.layout.kind === 'pieces' ? record.layout.pieceSize : 0;
    return upload.chunk!.index === 0 ? pieceSize : (size ?? 0) - upload.chunk!.index * pieceSize;
  }

  async function storeChunk(request: IncomingUpload, upload: PluploadRequest, access: Access) {
    const { ctx } = request;
    const { index, count } = upload.chunk!;
    const existing = index === 0 ? await settledUpload(access, upload.id) : await core.read(access, upload.id);
    const { pieceSize, succeeds } = checkAgainst(upload, existing);
    const last = index === count - 1;
    const declaration: UploadDeclaration & { layout: { kind: 'pieces' } } = {
      size: undefined,
      // Chunk 0's piece size is a placeholder: the core learns it from the chunk.
      layout: { kind: 'pieces', pieceSize: pieceSize ?? 1, roundings: CEIL, count },
      name: upload.name,
      relativePath: upload.name,
      // A chunk's part is a slice of the file, without its type.
      type: '',
      protocol: PLUPLOAD,
      ...(succeeds !== undefined ? { succeeds } : {}),
    };
    if (pieceSize !== undefined && (count - 1) * pieceSize + 1 > limitsFor(core.deps, access).maxFileSize) {
      throw new UploadError('file_too_large', `${count} chunks of ${pieceSize} bytes exceed the limit of ${limitsFor(core.deps, access).maxFileSize} bytes`);
    }
    const write = {
      access,
      id: upload.id,
      declaration,
      index,
      // Chunks between the first and the last are whole pieces; those two are learnt from their bodies.
      length: index > 0 && !last ? pieceSize : undefined,
      ...(index === 0 ? { learns: 'pieceSize' as const } : last ? { learns: 'size' as const } : {}),
    };
    core.checkPiece(write);
    const { body, complete } = bodyOf(request, write.length);
    const stored = await core.writePiece({ ...write, body, ...(complete ? { bodyComplete: complete } : {}) });
    deps.metrics.pieceStored(stored.outcome, await chunkBytes(upload, access, write.length, stored.size));
    ctx.body = {
      id: upload.id,
      uploadId: stored.uploadId,
      chunk: index,
      chunks: count,
      outcome: stored.outcome,
      received: stored.storedRanges,
      complete: stored.outcome === 'completed' || stored.outcome === 'already_complete',
    };
  }

  return {
    name: PLUPLOAD,
    renderError: renderPluploadError,
    recognises,
    async handle(request) {
      refuseFormBodies(request.ctx);
      const fields = fieldsOf(request);
      const access = await accessOf(request.ctx, fields);
      const upload = readPluploadRequest(fields);
      if (!upload.chunk || upload.chunk.count <= 1) return storeWhole(request, upload, access);
      return storeChunk(request, upload, access);
    },
  };
}
