/**
 * Wires a worker process from its configuration: the merge worker, the webhook worker
 * (when a URL is configured), and a small HTTP server for /metrics, /healthz and /readyz.
 */
import http from 'node:http';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../shared/config.js';
import type { Lifecycle } from '../shared/http/health.js';
import { createOpsServer } from '../shared/http/ops-app.js';
import { MAINTENANCE_QUEUE, createMaintenanceQueue, scheduleSweep } from '../shared/maintenance-job.js';
import { createMergeQueue } from '../shared/merge-job.js';
import { createRegistry, registerQueueDepth } from '../shared/metrics.js';
import { createWorkerConnection } from '../shared/redis-connection.js';
import { StorageLayout } from '../shared/storage-layout.js';
import { queuePrefix } from '../shared/upload-key.js';
import { UploadStore } from '../shared/upload-store.js';
import { WEBHOOK_QUEUE, createWebhookQueue } from '../shared/webhook-job.js';
import { createMergeWorker } from './merge-worker.js';
import { UploadNotifier } from './upload-notifier.js';
import { createSweeper } from './sweeper.js';
import { createWebhookDelivery } from './webhook-delivery.js';
import { createWorkerMetrics } from './worker-metrics.js';

export interface WorkerService {
  server: http.Server;
  lifecycle: Lifecycle;
  ready: Promise<void>;
  /** Stops taking jobs; an active merge may finish for `graceMs`, then is handed back to the queue. */
  close(graceMs: number): Promise<void>;
}

export async function createWorkerService(config: Config, logger: Logger): Promise<WorkerService> {
  const layout = new StorageLayout(config.dataDir);
  await layout.ensure();
  // BullMQ workers block on their connections, so each gets its own; queues and the store share one.
  const connections = [0, 1, 2, 3].map(() => createWorkerConnection(config.REDIS_URL));
  for (const connection of connections) connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const [storeConnection, mergeConnection, webhookConnection, maintenanceConnection] = connections as [
    (typeof connections)[0], (typeof connections)[0], (typeof connections)[0], (typeof connections)[0],
  ];

  const store = new UploadStore({
    redis: storeConnection,
    prefix: config.REDIS_PREFIX,
    idleTtlSeconds: config.UPLOAD_TTL,
    resultTtlSeconds: config.RESULT_TTL,
  });
  const webhookQueue = config.WEBHOOK_URL ? createWebhookQueue(storeConnection, config.REDIS_PREFIX) : undefined;
  const registry = createRegistry('worker');
  registerQueueDepth(registry, [createMergeQueue(storeConnection, config.REDIS_PREFIX), ...(webhookQueue ? [webhookQueue] : [])]);
  const shutdown = new AbortController();
  const draining = new AbortController();

  const mergeWorker = createMergeWorker({
    connection: mergeConnection,
    store,
    layout,
    logger: logger.child({ module: 'merge' }),
    notifier: new UploadNotifier(store, webhookQueue, config.WEBHOOK_ATTEMPTS),
    metrics: createWorkerMetrics(registry),
    shutdownSignal: shutdown.signal,
    drainSignal: draining.signal,
    diskFullRetryMs: config.MERGE_DISK_FULL_RETRY_MS,
    earlyMerge: { perWorker: config.EARLY_MERGES_PER_WORKER, idleMs: config.EARLY_MERGE_IDLE_MS },
    prefix: config.REDIS_PREFIX,
    concurrency: config.MERGE_CONCURRENCY,
    lockDurationMs: config.MERGE_LOCK_MS,
  });
  const webhookWorker = config.WEBHOOK_URL
    ? new Worker(WEBHOOK_QUEUE, createWebhookDelivery(config.WEBHOOK_URL, config.WEBHOOK_SECRET), {
        connection: webhookConnection,
        prefix: queuePrefix(config.REDIS_PREFIX),
        concurrency: 4,
      })
    : undefined;
  const maintenanceQueue = createMaintenanceQueue(storeConnection, config.REDIS_PREFIX);
  const sweep = createSweeper({ store, layout, ttlSeconds: config.UPLOAD_TTL, logger: logger.child({ module: 'sweep' }) });
  const maintenanceWorker = new Worker(MAINTENANCE_QUEUE, () => sweep(), {
    connection: maintenanceConnection,
    prefix: queuePrefix(config.REDIS_PREFIX),
    concurrency: 1,
  });
  maintenanceWorker.on('failed', (_job, err) => logger.warn({ err: err.message }, 'sweep failed'));
  webhookWorker?.on('failed', (job, err) => logger.warn({ uploadId: job?.data.uploadId, err: err.message, attempt: job?.attemptsMade }, 'webhook delivery failed'));

  const lifecycle: Lifecycle = { shuttingDown: false };
  const server = createOpsServer({
    redis: storeConnection, tmpDir: layout.tmpDir, lifecycle, registry, adminUser: config.ADMIN_USER, adminPassword: config.ADMIN_PASSWORD, logger,
  });

  return {
    server,
    lifecycle,
    ready: Promise.all([mergeWorker.waitUntilReady(), scheduleSweep(maintenanceQueue, config.SWEEP_INTERVAL_MS)]).then(() => undefined),
    async close(graceMs) {
      lifecycle.shuttingDown = true;
      draining.abort(new Error('shutting down'));
      const handBack = setTimeout(() => shutdown.abort(new Error('shutting down')), graceMs);
      await Promise.all([mergeWorker.close(), webhookWorker?.close(), maintenanceWorker.close()]);
      clearTimeout(handBack);
      await Promise.all([webhookQueue?.close(), maintenanceQueue.close()]);
      await new Promise((resolve) => server.close(resolve));
      for (const connection of connections) connection.disconnect();
    },
  };
}
