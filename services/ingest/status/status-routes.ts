/**
 * Watching and cancelling uploads, for any protocol:
 *   GET /uploads/:id          the upload's state (the id as the client knows it, in the caller's scope)
 *   GET /uploads/:id/events   server-sent events of that upload, starting with its status
 *   GET /events               server-sent events of several uploads: every upload of the
 *                             caller's scope with upload tokens; without them only the
 *                             uploads the caller names (`?id=a&id=b`), so no one can watch
 *                             uploads they do not know
 *   DELETE /uploads/:id       cancels an upload in progress
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { UploadError } from '../../core/errors.js';
import { uploadKeyHash } from '../../core/keys.js';
import type { UploadCore } from '../../core/upload-core.js';
import type { MergeJobs } from '../../shared/merge-queue.js';
import type { EventStreams } from '../events/event-streams.js';
import type { AccessResolver } from '../upload-access.js';
import { uploadStatus } from './upload-status.js';

export interface StatusRoutesOptions {
  core: UploadCore;
  jobs: MergeJobs;
  streams: EventStreams;
  accessOf: AccessResolver;
  /** Whether upload tokens are on: then a caller may watch its whole scope. */
  tokens: boolean;
}

/** At most this many uploads named on one `/events` stream. */
const MAX_NAMED_UPLOADS = 100;

export function statusRoutes({ core, jobs, streams, accessOf, tokens }: StatusRoutesOptions): Router {
  const router = new Router();

  async function statusOf(ctx: Context, id: string) {
    const access = await accessOf(ctx);
    const upload = await core.read(access, id);
    return { access, status: upload ? uploadStatus(upload, await jobs.view(upload)) : undefined };
  }

  router.get('/uploads/:id', async function readUploadStatus(ctx) {
    const { status } = await statusOf(ctx, String(ctx.params.id));
    if (!status) throw new UploadError('not_found', 'No upload with this identifier');
    ctx.body = status;
  });

  router.get('/uploads/:id/events', async function watchUpload(ctx) {
    const stream = streams.reserve(ctx, ctx.ip);
    try {
      const id = String(ctx.params.id);
      const { access, status } = await statusOf(ctx, id);
      // An upload not started yet can be watched too: its first range will be the first event.
      stream.start({ scope: access.scope, keyHashes: new Set([uploadKeyHash(access.scope, id)]) }, status ? { event: 'status', data: status } : undefined);
    } catch (err) {
      stream.release();
      throw err;
    }
  });

  router.get('/events', async function watchUploads(ctx) {
    const named = ([] as string[]).concat(ctx.query.id ?? []).filter((id) => id !== '');
    if (named.length > MAX_NAMED_UPLOADS) throw new UploadError('invalid_field', `Name at most ${MAX_NAMED_UPLOADS} uploads per stream`);
    if (!tokens && named.length === 0) {
      throw new UploadError('missing_field', 'Without upload tokens, name the uploads to watch: /events?id=<identifier>&id=...');
    }
    const stream = streams.reserve(ctx, ctx.ip);
    try {
      const access = await accessOf(ctx);
      const keyHashes = named.length > 0 ? new Set(named.map((id) => uploadKeyHash(access.scope, id))) : undefined;
      stream.start({ scope: access.scope, ...(keyHashes ? { keyHashes } : {}) });
    } catch (err) {
      stream.release();
      throw err;
    }
  });

  router.delete('/uploads/:id', async function cancelUpload(ctx) {
    const access = await accessOf(ctx);
    await core.cancel(access, String(ctx.params.id));
    ctx.body = { identifier: String(ctx.params.id), state: 'cancelled' };
  });

  return router;
}
