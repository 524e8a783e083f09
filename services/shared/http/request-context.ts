import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';

declare module 'koa' {
  interface DefaultContext {
    /** The request's logger: every line carries its request id. */
    log: Logger;
  }
}

// A request id from a proxy or client is used only when it is short and plain.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives each request an id (echoed in `X-Request-Id`) and a child logger, and logs its outcome. */
export function requestContext(logger: Logger): Middleware {
  return async function attachRequestContext(ctx, next) {
    const offered = ctx.get('x-request-id');
    const requestId = ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
    ctx.set('X-Request-Id', requestId);
    ctx.log = logger.child({ requestId });
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
    }
  };
}
