/**
 * Builds the ingest Koa app from its dependencies. It never listens: main.ts does, and
 * tests mount it on a server of their own around a real Redis.
 */
import Koa from 'koa';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { UploadCore } from '../core/upload-core.js';
import type { Config } from '../shared/config.js';
import { corsPolicy } from '../shared/http/cors.js';
import { errorHandler } from '../shared/http/error-handler.js';
import { healthRoutes, type Lifecycle, type ReadinessCheck } from '../shared/http/health.js';
import { requestContext } from '../shared/http/request-context.js';
import type { MergeJobs } from '../shared/merge-queue.js';
import { queueDashboard } from './admin-routes.js';
import { demoPage } from './demo-page.js';
import { EventStreams } from './events/event-streams.js';
import type { UploadEventHub } from './events/upload-event-hub.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { limitRequestsPerClient, refuseWhileShuttingDown } from './middleware/client-limits.js';
import { uploadProtocols } from './protocols/registry.js';
import { tusEndpoint } from './protocols/tus/tus-endpoint.js';
import { uploadEndpoint } from './protocols/upload-endpoint.js';
import { statusRoutes } from './status/status-routes.js';
import { createAccessResolver } from './upload-access.js';

export interface IngestDependencies {
  config: Config;
  core: UploadCore;
  jobs: MergeJobs;
  /** Queues shown in the dashboard: merge, webhook, maintenance. */
  dashboardQueues: Queue[];
  hub: UploadEventHub;
  registry: Registry;
  lifecycle: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  logger: Logger;
}

export interface IngestApp {
  app: Koa;
  streams: EventStreams;
}

export function buildIngestApp(deps: IngestDependencies): IngestApp {
  const { config, core, logger, lifecycle } = deps;
  const app = new Koa({ proxy: config.TRUST_PROXY });
  // Errors are rendered and logged by errorHandler; Koa's default printer would log them again.
  app.silent = true;

  const streams = new EventStreams(deps.hub, {
    perClient: config.EVENT_STREAMS_PER_CLIENT,
    total: config.EVENT_STREAMS_MAX,
    maxBufferedBytes: 256 * 1024,
    heartbeatMs: 15_000,
  });
  const metrics = createIngestMetrics(deps.registry, { eventStreams: () => streams.count });
  const accessOf = createAccessResolver({ namespace: config.UPLOAD_NAMESPACE, tokenSecret: config.UPLOAD_TOKEN_SECRET });
  const protocols = uploadProtocols({ core, accessOf, metrics });
  const statuses = statusRoutes({ core, jobs: deps.jobs, streams, accessOf, tokens: config.UPLOAD_TOKEN_SECRET !== '' });

  app.use(requestContext(logger.child({ module: 'http' })));
  app.use(metrics.middleware);
  app.use(errorHandler());
  app.use(limitRequestsPerClient(config.MAX_REQUESTS_PER_CLIENT));
  const cors = corsPolicy(config.CORS_ORIGINS, config.CORS_CREDENTIALS);
  if (cors) app.use(cors);
  app.use(healthRoutes({ checks: deps.readiness, lifecycle, logger }));
  app.use(queueDashboard({ queues: deps.dashboardQueues, user: config.ADMIN_USER, password: config.ADMIN_PASSWORD }));
  app.use(refuseWhileShuttingDown(lifecycle));
  if (config.DEMO_PAGE) app.use(demoPage());
  app.use(uploadEndpoint({ path: '/upload', protocols, maxPieceSize: config.MAX_CHUNK_SIZE }));
  app.use(tusEndpoint({
    core,
    urls: { path: config.TUS_PATH, relativeLocation: config.TUS_RELATIVE_LOCATION, trustProxy: config.TRUST_PROXY },
    maxSize: config.MAX_FILE_SIZE,
    pieceStored: metrics.pieceStored,
  }, accessOf));
  app.use(statuses.routes());
  app.use(statuses.allowedMethods({ throw: true }));
  return { app, streams };
}
