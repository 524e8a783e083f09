/**
 * Receives a chunk's bytes into a temp file under DATA_DIR/tmp, with the size limit
 * enforced while the body streams in. Two body kinds (../shared/PROTOCOL.md):
 * - multipart/form-data with a file part named `file`, parsed by koa-body (formidable);
 * - anything else is the raw chunk (`method: 'octet'`): resumable.js labels it
 *   application/octet-stream, flow.js with the file's own type, or with none.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { ChunkyardError, isStorageFull } from '../shared/errors.js';

export interface ReceivedChunk {
  tempPath: string;
  size: number;
}

/** Room for the multipart boundaries and protocol fields around the file part. */
const MULTIPART_OVERHEAD = 64 * 1024;

export function isMultipart(ctx: Context): boolean {
  return Boolean(ctx.is('multipart/form-data'));
}

/** Content types that are certainly not a raw chunk: refusing them stops the client (415). */
export function isRefusedContentType(ctx: Context): boolean {
  return !isMultipart(ctx) && Boolean(ctx.is('multipart/*', 'application/x-www-form-urlencoded'));
}

interface StagedFile {
  path: string;
  stream: Writable;
}

/**
 * The koa-body middleware for multipart chunks; it leaves every other body unread.
 * formidable writes each file part through a stream we open (in DATA_DIR/tmp), so every
 * file it starts is known to us and removed if the request fails: formidable itself
 * leaves some behind on errors (a second file part, for one).
 */
export function multipartChunkParser(tmpDir: string, maxChunkSize: number, fsync: boolean): Middleware {
  const parserFor = (staged: StagedFile[]) =>
    koaBody({
      multipart: true,
      json: false,
      urlencoded: false,
      text: false,
      formidable: {
        uploadDir: tmpDir,
        // formidable checks maxFileSize only when a part ends, maxTotalFileSize as bytes
        // arrive: the second is what cuts an oversized chunk off mid-stream.
        maxFileSize: maxChunkSize,
        maxTotalFileSize: maxChunkSize,
        maxFiles: 1,
        maxFields: 32,
        maxFieldsSize: MULTIPART_OVERHEAD,
        allowEmptyFiles: true,
        minFileSize: 0,
        keepExtensions: false,
        filter: (part) => part.name === 'file',
        fileWriteStreamHandler: (file) => {
          const { filepath } = file as unknown as { filepath: string };
          // `flush`: fsync before close (CHUNK_FSYNC), so a counted chunk survives a power cut.
          const stream = createWriteStream(filepath, { flags: 'wx', flush: fsync });
          staged.push({ path: filepath, stream });
          return stream;
        },
      },
      onError: (err) => {
        throw toBodyError(err);
      },
    });
  return async function parseMultipartChunk(ctx, next) {
    if (!isMultipart(ctx)) return next();
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > maxChunkSize + MULTIPART_OVERHEAD) {
      throw new ChunkyardError('chunk_too_large', `The request body of ${declared} bytes exceeds the chunk limit`);
    }
    const staged: StagedFile[] = [];
    ctx.state.stagedFiles = staged;
    return parserFor(staged)(ctx, next);
  };
}

interface FormidableFile {
  filepath: string;
  size: number;
}

/** The one file part koa-body stored, or a 400 naming what is wrong. */
export function takeMultipartFile(ctx: Context): ReceivedChunk {
  const files = (ctx.request as { files?: Record<string, FormidableFile | FormidableFile[]> }).files ?? {};
  const file = files.file;
  if (file === undefined) throw new ChunkyardError('missing_field', 'The multipart body has no file part named "file"');
  if (Array.isArray(file)) throw new ChunkyardError('malformed_body', 'The multipart body has more than one file part');
  return { tempPath: file.filepath, size: file.size };
}

/**
 * Waits until a staged file is flushed (CHUNK_FSYNC) and closed. formidable reports a
 * part done at the stream's 'finish', before the fsync that `flush` runs on close: a
 * chunk counted then could be lost to a power cut.
 */
export async function stagedFileFlushed(ctx: Context, tempPath: string): Promise<void> {
  const staged = (ctx.state.stagedFiles as StagedFile[] | undefined)?.find((file) => file.path === tempPath);
  if (staged) await finished(staged.stream);
}

/** Marks a staged file as moved into place, so removeStagedFiles leaves its old name alone. */
export function markPlaced(ctx: Context, tempPath: string): void {
  ctx.state.placedFile = tempPath;
}

/**
 * Removes whatever the multipart parser staged for this request and was not moved into
 * place. Waits for each stream to close first, so a file still being opened is not
 * recreated after its removal.
 */
export async function removeStagedFiles(ctx: Context): Promise<void> {
  const staged = ((ctx.state.stagedFiles as StagedFile[] | undefined) ?? []).filter((file) => file.path !== ctx.state.placedFile);
  await Promise.all(
    staged.map(async ({ path: stagedPath, stream }) => {
      if (!stream.writableFinished) stream.destroy();
      await finished(stream).catch(() => undefined);
      await rm(stagedPath, { force: true });
    }),
  );
}

/** Streams a raw body to a temp file, refusing it the moment it passes `expectedSize`. */
export async function receiveRawChunk(ctx: Context, tmpDir: string, expectedSize: number, fsync: boolean): Promise<ReceivedChunk> {
  const declared = ctx.get('content-length');
  if (declared !== '' && Number(declared) !== expectedSize) {
    throw new ChunkyardError('chunk_size_mismatch', `The body has ${declared} bytes but CurrentChunkSize says ${expectedSize}`);
  }
  const tempPath = path.join(tmpDir, `${randomBytes(12).toString('hex')}.raw`);
  let bytes: number;
  try {
    bytes = await writeBodyToFile(ctx.req, tempPath, expectedSize, fsync);
  } catch (err) {
    await rm(tempPath, { force: true });
    throw toBodyError(err);
  }
  if (bytes !== expectedSize) {
    await rm(tempPath, { force: true });
    throw new ChunkyardError('chunk_size_mismatch', `The body has ${bytes} bytes but CurrentChunkSize says ${expectedSize}`);
  }
  return { tempPath, size: bytes };
}

/**
 * Pipes a request body into a new file and resolves with its length once the file is
 * written, flushed (with `fsync`) and closed. A body longer than `limit` is refused as it
 * arrives.
 *
 * Not stream.pipeline: on a failure it destroys the request, which resets the connection,
 * and the client never reads the 400 or 507 that tells it what to do; here the request is
 * only unpiped, and discardUnreadBody reads the rest. Plain `pipe` also keeps the hot path
 * lean: no async iterator or transform stage allocating per 64 KiB read.
 */
async function writeBodyToFile(req: IncomingMessage, filePath: string, limit: number, fsync: boolean): Promise<number> {
  const file = createWriteStream(filePath, { flags: 'wx', flush: fsync });
  let bytes = 0;
  const countBytes = (piece: Buffer) => {
    bytes += piece.length;
    if (bytes > limit) file.destroy(new ChunkyardError('chunk_size_mismatch', `The body is longer than CurrentChunkSize (${limit} bytes)`));
  };
  req.on('data', countBytes);
  // A client that goes away mid-body ends the request without 'end': the file must not wait for it.
  const requestEnded = finished(req, { writable: false }).catch((err: unknown) => {
    file.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  req.pipe(file);
  try {
    await finished(file);
  } finally {
    req.unpipe(file);
    req.off('data', countBytes);
  }
  await requestEnded;
  return bytes;
}

/**
 * After a refused chunk, reads and throws away what the client is still sending, so it
 * finishes sending and reads our answer (browsers read the response only after the body
 * is sent). Node does not do this for a request that was partly read. A body that goes
 * on past `capBytes` is cut off.
 */
export function discardUnreadBody(req: IncomingMessage, capBytes: number): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  req.on('data', (piece: Buffer) => {
    discarded += piece.length;
    if (discarded > capBytes) req.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

// formidable's error codes (formidable/src/FormidableError.js)
const FORMIDABLE_FILE_TOO_LARGE = new Set([1009, 1016]);
const FORMIDABLE_ABORTED = 1002;
const FORMIDABLE_CANNOT_CREATE_DIR = 1018;
const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED']);

/** Turns a body-reading failure into the error the client should see. */
function toBodyError(err: unknown): unknown {
  if (err instanceof ChunkyardError || isStorageFull(err)) return err;
  const { code } = err as { code?: unknown };
  const message = err instanceof Error ? err.message : String(err);
  if (CLIENT_GONE.has(String(code)) || code === FORMIDABLE_ABORTED || message === 'aborted') {
    return new ChunkyardError('malformed_body', 'The request body ended before it was complete', { cause: err });
  }
  // formidable's own errors carry a numeric code; all but a missing upload dir are about the body.
  if (typeof code === 'number' && code !== FORMIDABLE_CANNOT_CREATE_DIR) {
    const kind = FORMIDABLE_FILE_TOO_LARGE.has(code) ? 'chunk_too_large' : 'malformed_body';
    return new ChunkyardError(kind, message, { cause: err });
  }
  return err;
}
