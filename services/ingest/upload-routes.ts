/**
 * The resumable.js / flow.js endpoint (../shared/PROTOCOL.md):
 *   GET  /upload        is this chunk stored? 200 yes, 204 no
 *   POST|PUT|PATCH /upload   store a chunk (multipart or raw body); 200 once stored
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { ChunkyardError } from '../shared/errors.js';
import type { UploadStore } from '../shared/upload-store.js';
import {
  discardUnreadBody,
  isMultipart,
  isRefusedContentType,
  markPlaced,
  multipartChunkParser,
  receiveRawChunk,
  removeStagedFiles,
  stagedFileFlushed,
  takeMultipartFile,
  type ReceivedChunk,
} from './chunk-body.js';
import type { RawFields } from './chunk-fields.js';
import type { ChunkIntake } from './chunk-intake.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { AccessResolver } from './upload-access.js';
import { parseChunkRequest, type ChunkLimits } from './chunk-request.js';

export interface UploadRoutesOptions {
  intake: ChunkIntake;
  store: UploadStore;
  metrics: IngestMetrics;
  limits: ChunkLimits;
  accessOf: AccessResolver;
  tmpDir: string;
  /** CHUNK_FSYNC: flush each chunk to disk before it is counted. */
  fsync: boolean;
}

export function uploadRoutes({ intake, store, metrics, limits, accessOf, tmpDir, fsync }: UploadRoutesOptions): Router {
  const router = new Router();
  /** Reads the chunk fields within the caller's scope and size allowance. */
  async function parse(ctx: Context, sources: RawFields[], bodyFields?: RawFields) {
    const access = await accessOf(ctx, bodyFields);
    const maxFileSize = Math.min(limits.maxFileSize, access.maxFileSize ?? Number.POSITIVE_INFINITY);
    return parseChunkRequest(sources, { ...limits, maxFileSize }, access.scope);
  }

  router.get('/upload', async function testChunk(ctx) {
    const request = await parse(ctx, [ctx.query]);
    const status = await store.chunkStatus(request.keyHash, request.fields.chunkNumber, request.fingerprint);
    if (status === 'conflict') throw new ChunkyardError('upload_conflict');
    if (status === 'failed') throw new ChunkyardError('upload_failed');
    if (status === 'cancelled') throw new ChunkyardError('upload_cancelled');
    if (status === 'present') ctx.body = { stored: true, chunkNumber: request.fields.chunkNumber };
    else ctx.status = 204;
  });

  async function storeChunk(ctx: Context) {
    if (isRefusedContentType(ctx)) {
      throw new ChunkyardError('unsupported_media_type', `Content-Type ${ctx.get('content-type')} is not a chunk body; send multipart/form-data or the raw bytes`);
    }
    let received: ReceivedChunk;
    let request;
    if (isMultipart(ctx)) {
      const body = (ctx.request.body as RawFields | undefined) ?? {};
      request = await parse(ctx, [body, ctx.query], body);
      received = takeMultipartFile(ctx);
      if (received.size !== request.fields.currentChunkSize) {
        throw new ChunkyardError('chunk_size_mismatch', `The file part has ${received.size} bytes but CurrentChunkSize says ${request.fields.currentChunkSize}`);
      }
      await stagedFileFlushed(ctx, received.tempPath);
    } else {
      request = await parse(ctx, [ctx.query]);
      received = await receiveRawChunk(ctx, tmpDir, request.fields.currentChunkSize, fsync);
    }
    const stored = await intake.accept(request, received.tempPath, ctx.log);
    markPlaced(ctx, received.tempPath);
    metrics.chunksReceived.inc({ outcome: stored.outcome });
    metrics.chunkBytesReceived.inc(received.size);
    if (stored.outcome === 'completed') metrics.uploadsReceived.inc();
    ctx.body = { chunkNumber: request.fields.chunkNumber, ...stored };
  }

  /** Around parsing and storing: whatever fails, the client gets to read our answer and nothing is left in tmp/. */
  async function cleanUpAfterChunk(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      discardUnreadBody(ctx.req, 2 * limits.maxChunkSize);
      throw err;
    } finally {
      await removeStagedFiles(ctx);
    }
  }

  const multipart = multipartChunkParser(tmpDir, limits.maxChunkSize, fsync);
  // resumable.js and flow.js send chunks with POST by default; `uploadMethod` may make it PUT or PATCH.
  router.post('/upload', cleanUpAfterChunk, multipart, storeChunk);
  router.put('/upload', cleanUpAfterChunk, multipart, storeChunk);
  router.patch('/upload', cleanUpAfterChunk, multipart, storeChunk);
  return router;
}
