/**
 * Liveness and readiness, the same on ingest and worker:
 *   /healthz   the process is alive
 *   /readyz    every dependency answers within a deadline (Redis, with memory to spare;
 *              the storage, with space to spare) and the process is not shutting down
 * A failing check says which and why in a few words; details (a driver's raw error text)
 * go to the log, not to whoever asks.
 */
import type { Logger } from 'pino';
import type { Middleware } from 'koa';

export interface Lifecycle {
  shuttingDown: boolean;
}

/** A readiness check: resolves when fine, rejects with a short reason otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthOptions {
  checks: Record<string, ReadinessCheck>;
  lifecycle: Lifecycle;
  logger: Logger;
  /** A check that has not answered after this long has failed (a Redis that is away may never answer). */
  timeoutMs?: number;
}

/** A reason meant for whoever asks /readyz (set as the error's `publicReason`). */
export class NotReady extends Error {
  constructor(readonly publicReason: string) {
    super(publicReason);
    this.name = 'NotReady';
  }
}

async function run(name: string, check: ReadinessCheck, timeoutMs: number, logger: Logger): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new NotReady('no answer')), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    logger.warn({ check: name, err }, 'readiness check failed');
    return err instanceof NotReady ? err.publicReason : 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(options: HealthOptions): Middleware {
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async function health(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path !== '/readyz') return next();
    const names = Object.keys(options.checks);
    const results = await Promise.all(names.map((name) => run(name, options.checks[name]!, timeoutMs, options.logger)));
    const checks: Record<string, string | boolean> = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    checks.shuttingDown = options.lifecycle.shuttingDown;
    const ready = results.every((result) => result === 'ok') && !options.lifecycle.shuttingDown;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', checks };
  };
}
