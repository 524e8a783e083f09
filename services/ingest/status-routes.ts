/**
 * Watching uploads:
 *   GET /uploads/:id          the upload's state (the id as the client sent it, in the caller's scope)
 *   GET /uploads/:id/events   server-sent events of that upload, starting with its status
 *   GET /events               server-sent events of every upload in the caller's scope
 *   DELETE /uploads/:id       cancel an upload in progress: its chunks and state go, later chunks get 404
 */
import Router from '@koa/router';
import type { Queue } from 'bullmq';
import type { Context } from 'koa';
import { ChunkyardError } from '../shared/errors.js';
import type { MergeJobData, MergeJobResult } from '../shared/merge-job.js';
import { uploadKeyHash } from '../shared/upload-key.js';
import type { UploadStore } from '../shared/upload-store.js';
import type { ChunkFiles } from './chunk-files.js';
import { openEventStream } from './events/event-stream.js';
import type { UploadEventHub } from './events/upload-event-hub.js';
import type { AccessResolver } from './upload-access.js';
import { readUploadStatus } from './upload-status.js';

export interface StatusRoutesOptions {
  store: UploadStore;
  queue: Queue<MergeJobData, MergeJobResult>;
  hub: UploadEventHub;
  files: ChunkFiles;
  accessOf: AccessResolver;
}

export function statusRoutes({ store, queue, hub, files, accessOf }: StatusRoutesOptions): Router {
  const router = new Router();

  async function keyOf(ctx: Context) {
    const { scope } = await accessOf(ctx);
    return { scope, keyHash: uploadKeyHash(scope, String(ctx.params.id)) };
  }

  async function statusOf(ctx: Context) {
    const { scope, keyHash } = await keyOf(ctx);
    const status = await readUploadStatus(store, queue, keyHash);
    return { scope, keyHash, status };
  }

  router.get('/uploads/:id', async function uploadStatus(ctx) {
    const { status } = await statusOf(ctx);
    if (!status) throw new ChunkyardError('not_found', 'No upload with this identifier');
    ctx.body = status;
  });

  router.get('/uploads/:id/events', async function uploadEvents(ctx) {
    const { scope, keyHash, status } = await statusOf(ctx);
    // An upload not started yet can be watched too: its first chunk will be the first event.
    openEventStream(ctx, hub, { scope, keyHash }, status ? { event: 'status', data: status } : undefined);
  });

  router.get('/events', async function allUploadEvents(ctx) {
    openEventStream(ctx, hub, { scope: (await accessOf(ctx)).scope });
  });

  router.delete('/uploads/:id', async function cancelUpload(ctx) {
    const { keyHash } = await keyOf(ctx);
    const outcome = await store.cancel(keyHash);
    if (outcome === 'missing') throw new ChunkyardError('not_found', 'No upload with this identifier');
    if (outcome === 'complete') throw new ChunkyardError('upload_complete', 'The upload is complete; there is nothing to cancel');
    await files.removeAll(keyHash);
    ctx.body = { identifier: String(ctx.params.id), state: 'cancelled' };
  });

  return router;
}
