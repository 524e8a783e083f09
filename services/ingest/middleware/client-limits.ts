/**
 * Requests one client address may have in progress on this instance at once. A client
 * that opens many slow requests (bodies trickling in) would otherwise hold file
 * descriptors and memory that every other client needs; past the limit it gets 503, which
 * upload clients retry once their earlier requests are done.
 */
import type { Middleware } from 'koa';
import { UploadError } from '../../core/errors.js';

export function limitRequestsPerClient(maxInProgress: number): Middleware {
  const inProgress = new Map<string, number>();
  return async function limitClientRequests(ctx, next) {
    const client = ctx.ip;
    const current = inProgress.get(client) ?? 0;
    if (current >= maxInProgress) {
      ctx.set('Connection', 'close');
      throw new UploadError('service_unavailable', `At most ${maxInProgress} requests per client at once; retry`);
    }
    inProgress.set(client, current + 1);
    // Until the response is done: a stream (events) holds its slot as long as it is open.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inProgress.get(client) ?? 1) - 1;
      if (left > 0) inProgress.set(client, left);
      else inProgress.delete(client);
    };
    ctx.res.once('close', release);
    try {
      await next();
    } finally {
      if (ctx.respond !== false && ctx.res.writableFinished) release();
    }
  };
}

/** While shutting down: 503, which clients retry (and a load balancer sends to another instance). */
export function refuseWhileShuttingDown(lifecycle: { shuttingDown: boolean }): Middleware {
  return async function refuseWhenStopping(ctx, next) {
    if (!lifecycle.shuttingDown) return next();
    ctx.set('Connection', 'close');
    throw new UploadError('service_unavailable', 'This instance is shutting down; retry');
  };
}
