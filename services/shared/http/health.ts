/**
 * Liveness and readiness, the same on ingest and worker:
 *   /healthz   the process is alive
 *   /readyz    Redis answers, the data folder is writable, and the process is not shutting down
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Middleware } from 'koa';

export interface Lifecycle {
  shuttingDown: boolean;
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export interface HealthOptions {
  redis: Redis;
  tmpDir: string;
  lifecycle: Lifecycle;
}

export function healthRoutes(options: HealthOptions): Middleware {
  return async function health(ctx, next) {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path !== '/readyz') return next();
    const probeFile = path.join(options.tmpDir, `.ready-${randomBytes(6).toString('hex')}`);
    const checks = {
      redis: await check(() => options.redis.ping()),
      dataDir: await check(async () => {
        await writeFile(probeFile, '');
        await rm(probeFile);
      }),
      shuttingDown: options.lifecycle.shuttingDown,
    };
    const ready = checks.redis === 'ok' && checks.dataDir === 'ok' && !checks.shuttingDown;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', checks };
  };
}
