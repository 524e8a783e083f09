/**
 * The operations server of a process: `/healthz`, `/readyz` and `/metrics` on a port of
 * its own. Each instance answers for itself here, unlike the upload port, which sits
 * behind a load balancer that picks a random instance per request.
 */
import http from 'node:http';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorHandler } from './error-handler.js';
import { healthRoutes, type HealthOptions } from './health.js';
import { metricsEndpoint } from './metrics-endpoint.js';
import { requestContext } from './request-context.js';

export interface OpsServerOptions extends HealthOptions {
  /** Koa trusts X-Forwarded-For (TRUST_PROXY). */
  proxy: boolean;
  registry: Registry;
  adminUser: string;
  adminPassword: string;
  logger: Logger;
}

export function createOpsServer(options: OpsServerOptions): http.Server {
  const app = new Koa({ proxy: options.proxy });
  app.silent = true;
  app.use(requestContext(options.logger.child({ module: 'ops-http' })));
  app.use(errorHandler());
  app.use(healthRoutes(options));
  app.use(metricsEndpoint(options.registry, options.adminUser, options.adminPassword));
  return http.createServer(app.callback());
}
