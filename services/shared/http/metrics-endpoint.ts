import type { Middleware } from 'koa';
import type { Registry } from 'prom-client';
import { requireAdmin } from './admin-auth.js';

/** `GET /metrics` for Prometheus, behind the admin credential (never public by default). */
export function metricsEndpoint(registry: Registry, user: string, password: string): Middleware {
  const auth = requireAdmin(user, password);
  return async function serveMetrics(ctx, next) {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    await auth(ctx, async () => {
      ctx.set('Content-Type', registry.contentType);
      ctx.body = await registry.metrics();
    });
  };
}
