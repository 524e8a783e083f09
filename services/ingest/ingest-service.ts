/**
 * Wires an ingest instance from its configuration: Redis connections, the upload store,
 * the merge queue, the live event hub, metrics, and the Koa app. main.ts runs it; tests
 * run several in one process around one Redis.
 */
import http from 'node:http';
import { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../shared/config.js';
import type { Lifecycle } from '../shared/http/health.js';
import { createOpsServer } from '../shared/http/ops-app.js';
import { createMaintenanceQueue } from '../shared/maintenance-job.js';
import { MERGE_QUEUE, createMergeQueue } from '../shared/merge-job.js';
import { createRegistry, registerQueueDepth } from '../shared/metrics.js';
import { createRequestConnection, createWorkerConnection } from '../shared/redis-connection.js';
import { StorageLayout } from '../shared/storage-layout.js';
import { queuePrefix } from '../shared/upload-key.js';
import { UploadStore } from '../shared/upload-store.js';
import { createWebhookQueue } from '../shared/webhook-job.js';
import { buildIngestApp } from './app.js';
import { UploadEventHub } from './events/upload-event-hub.js';

export interface IngestService {
  /** The upload port (behind the load balancer). */
  server: http.Server;
  /** This instance's own /metrics, /healthz and /readyz (OPS_PORT). */
  opsServer: http.Server;
  lifecycle: Lifecycle;
  /** Stops taking requests, lets in-flight ones finish for up to `graceMs`, then closes everything. */
  close(graceMs: number): Promise<void>;
}

export async function createIngestService(config: Config, logger: Logger): Promise<IngestService> {
  const layout = new StorageLayout(config.dataDir);
  await layout.ensure();

  const redis = createRequestConnection(config.REDIS_URL);
  // Pub/sub and QueueEvents block on their connections, which must wait for Redis rather than fail.
  const subscriber = createWorkerConnection(config.REDIS_URL);
  const queueEventsConnection = createWorkerConnection(config.REDIS_URL);
  for (const connection of [redis, subscriber, queueEventsConnection]) {
    connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  }
  const store = new UploadStore({
    redis,
    prefix: config.REDIS_PREFIX,
    idleTtlSeconds: config.UPLOAD_TTL,
    resultTtlSeconds: config.RESULT_TTL,
    earlyMergeMinSize: config.EARLY_MERGES_PER_WORKER > 0 ? config.EARLY_MERGE_MIN_SIZE : 0,
  });
  const mergeQueue = createMergeQueue(redis, config.REDIS_PREFIX);
  const webhookQueue = createWebhookQueue(redis, config.REDIS_PREFIX);
  const maintenanceQueue = createMaintenanceQueue(redis, config.REDIS_PREFIX);
  const queueEvents = new QueueEvents(MERGE_QUEUE, { connection: queueEventsConnection, prefix: queuePrefix(config.REDIS_PREFIX) });
  const hub = new UploadEventHub(subscriber, queueEvents, store.eventsChannel, logger.child({ module: 'events' }));
  hub.start().catch((err: unknown) => logger.error({ err }, 'upload events unavailable'));

  const registry = createRegistry('ingest');
  registerQueueDepth(registry, [mergeQueue]);
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = buildIngestApp({ config, redis, store, mergeQueue, dashboardQueues: [mergeQueue, webhookQueue, maintenanceQueue], hub, layout, registry, lifecycle, logger });

  // Slow or stalled clients (slowloris) must not pin connections: headers, the whole
  // request, and any silence mid-request each have a limit. Node checks the first two
  // every connectionsCheckingInterval, so that follows the smaller limit.
  const server = http.createServer(
    {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(config.HEADERS_TIMEOUT_MS, 30_000) / 2,
      keepAliveTimeout: 65_000,
    },
    app.callback(),
  );
  server.timeout = config.IDLE_TIMEOUT_MS;
  const opsServer = createOpsServer({
    redis, tmpDir: layout.tmpDir, lifecycle, registry, adminUser: config.ADMIN_USER, adminPassword: config.ADMIN_PASSWORD, logger,
  });

  return {
    server,
    opsServer,
    lifecycle,
    async close(graceMs) {
      lifecycle.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await hub.close();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(deadline);
      opsServer.closeAllConnections();
      await new Promise((resolve) => opsServer.close(resolve));
      await Promise.all([mergeQueue.close(), webhookQueue.close(), maintenanceQueue.close()]);
      redis.disconnect();
      queueEventsConnection.disconnect();
    },
  };
}
