/**
 * Builds the ingest Koa app from its dependencies. It never listens: main.ts does, and
 * tests mount it on a server of their own around a real Redis.
 */
import Koa from 'koa';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import { ChunkyardError } from '../shared/errors.js';
import { healthRoutes, type Lifecycle } from '../shared/http/health.js';
import type { MergeJobData, MergeJobResult } from '../shared/merge-job.js';
import type { StorageLayout } from '../shared/storage-layout.js';
import type { UploadStore } from '../shared/upload-store.js';
import { queueDashboard } from './admin-routes.js';
import { ChunkFiles } from './chunk-files.js';
import { ChunkIntake } from './chunk-intake.js';
import type { UploadEventHub } from './events/upload-event-hub.js';
import { demoPage } from './demo-page.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { MergeEnqueuer } from './merge-enqueuer.js';
import { corsPolicy } from '../shared/http/cors.js';
import { errorHandler } from '../shared/http/error-handler.js';
import { requestContext } from '../shared/http/request-context.js';
import { statusRoutes } from './status-routes.js';
import { createAccessResolver } from './upload-access.js';
import { uploadRoutes } from './upload-routes.js';

export interface IngestDependencies {
  config: Config;
  /** The fail-fast request connection (createRequestConnection), also used for readiness. */
  redis: Redis;
  store: UploadStore;
  mergeQueue: Queue<MergeJobData, MergeJobResult>;
  /** Queues shown in the dashboard: the merge queue and the webhook queue. */
  dashboardQueues: Queue[];
  hub: UploadEventHub;
  layout: StorageLayout;
  registry: Registry;
  lifecycle: Lifecycle;
  logger: Logger;
}

export function buildIngestApp(deps: IngestDependencies): Koa {
  const { config, store, mergeQueue, hub, layout, logger, lifecycle } = deps;
  const app = new Koa();
  // Errors are rendered and logged by errorHandler; Koa's default printer would log them again.
  app.silent = true;

  const metrics = createIngestMetrics(deps.registry);
  const accessOf = createAccessResolver({ namespace: config.UPLOAD_NAMESPACE, tokenSecret: config.UPLOAD_TOKEN_SECRET });
  const files = new ChunkFiles(layout);
  const intake = new ChunkIntake(
    files,
    store,
    new MergeEnqueuer(mergeQueue, config.MERGE_ATTEMPTS),
  );
  const uploads = uploadRoutes({
    intake,
    store,
    metrics,
    limits: { maxFileSize: config.MAX_FILE_SIZE, maxChunkSize: config.MAX_CHUNK_SIZE, maxChunks: config.MAX_CHUNKS },
    accessOf,
    tmpDir: layout.tmpDir,
    fsync: config.CHUNK_FSYNC,
  });
  const statuses = statusRoutes({ store, queue: mergeQueue, hub, files, accessOf });

  app.use(requestContext(logger.child({ module: 'http' })));
  app.use(metrics.middleware);
  app.use(errorHandler());
  const cors = corsPolicy(config.CORS_ORIGINS, config.CORS_CREDENTIALS);
  if (cors) app.use(cors);
  app.use(healthRoutes({ redis: deps.redis, tmpDir: layout.tmpDir, lifecycle }));
  app.use(queueDashboard({ queues: deps.dashboardQueues, user: config.ADMIN_USER, password: config.ADMIN_PASSWORD }));
  app.use(async function refuseWhileShuttingDown(ctx, next) {
    if (!lifecycle.shuttingDown) return next();
    // A 503 makes resumable.js retry; the load balancer sends the retry to another instance.
    ctx.set('Connection', 'close');
    throw new ChunkyardError('service_unavailable', 'This instance is shutting down; retry');
  });
  if (config.DEMO_PAGE) app.use(demoPage());
  app.use(uploads.routes());
  app.use(uploads.allowedMethods({ throw: true }));
  app.use(statuses.routes());
  app.use(statuses.allowedMethods({ throw: true }));
  return app;
}
